//! # server_05: a thread per client
//!
//! The accept loop hands each client to a thread of its own (`thread::spawn`) and goes
//! straight back to `accept`, so many clients are served at once: a greeting, then `OK...`
//! plus each line. A server on a real network also bounds what each client may cost; those
//! limits come from `netutil::server`, one line each:
//!
//! | flag | default | at the limit, the client gets (and is closed) |
//! |---|---|---|
//! | `--max-clients` | 256 | `Server busy: too many clients, try again later` |
//! | `--idle-timeout` | 60 s | `Idle for 60s: disconnecting. Bye` (silent before a line) |
//! | `--line-timeout` | 30 s | `Too slow: a line must arrive whole within 30s. Bye` |
//! | `--max-line` | 4096 bytes | `Line too long: the limit is 4096 bytes. Bye` |
//! | `--grace` | 5 s | after Ctrl-C or SIGTERM, live clients may stay this long |
//!
//! ## How to run
//!
//! ```text
//! cargo run --example server_05     # in one terminal
//! cargo run --example line_client   # in another (or: nc 127.0.0.1 8888, telnet 127.0.0.1 8888)
//! ```
//!
//! ## What you should see
//!
//! ```text
//! listening on 127.0.0.1:8888 (at most 256 clients, idle timeout 60s, line timeout 30s, lines up to 4096 bytes)
//! 127.0.0.1:52814 connected (1 live)
//! 127.0.0.1:52820 connected (2 live)
//! 127.0.0.1:52814 left after 2 lines
//! ^Cstopping: no new clients; waiting up to 5s for 1 live client(s)
//! server stopped: 2 clients served, 0 turned away, 1 cut off after the grace period
//! ```

use std::error::Error;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::log;
use netutil::server::{
    self, AcceptBackoff, BindOptions, LINGER, LimitArgs, Limits, LineReader, ListenArgs,
};
use netutil::server::{Next, Seats, Stop, explain_timeout, hang_up};

/// What every client hears first.
const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";

/// Serve each client on its own thread: greet it, then answer every line with "OK..." and
/// the line, within the limits below.
#[derive(Parser)]
struct Args {
    /// Where to listen: `--host` (127.0.0.1: only this machine can connect) and `--port`.
    #[command(flatten)]
    listen: ListenArgs,
    /// The limits every client is held to.
    #[command(flatten)]
    limits: LimitArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    // server_04's socket, SO_REUSEADDR, bind and listen, in one call. Its backlog is 128,
    // not 10: clients come in bursts, and a thread per client empties the queue fast.
    let listener = server::bind(args.listen.addr(), &BindOptions::default())?;
    let limits = Limits::from(&args.limits);
    log!("listening on {} ({limits})", listener.local_addr()?);
    let stop = Stop::for_listener(&listener)?
        .on_ctrl_c()
        .step("catch Ctrl-C")?;
    let seats = Seats::new(limits.max_clients);
    let mut backoff = AcceptBackoff::new();
    // ANCHOR: accept_loop
    loop {
        // A failed accept (out of file descriptors, say) is reported, and paused after.
        let accepted = backoff.accept(&listener);
        // After Ctrl-C, the connection that woke accept up is the stop request's own.
        if stop.is_requested() {
            break;
        }
        let Some((client, peer)) = accepted else {
            continue;
        };
        // The cap: a seat for this client, or the busy line and no thread at all.
        let Some(seat) = seats.take_or_turn_away(&client, peer) else {
            continue;
        };
        log!("{peer} connected ({} live)", seats.live());
        // The thread per client. `move` hands it the seat and the connection (shared with
        // this loop, which still needs it if the thread cannot start), and the loop goes
        // straight back to accept. The seat is given back when the thread ends.
        let client = Arc::new(client);
        let connection = Arc::clone(&client);
        let spawned = thread::Builder::new()
            .name(format!("client {peer}"))
            .spawn(move || {
                let _seat = seat;
                serve(&connection, peer, limits);
            });
        // No thread (out of memory, ulimit -u): the client hears "busy", as over the cap.
        if let Err(error) = spawned {
            seats.could_not_serve(&*client, peer, format!("no thread could start: {error}"));
        }
    }
    // ANCHOR_END: accept_loop
    // The graceful stop. Closing the listener first refuses new clients at once, instead
    // of leaving them in the backlog; then the live ones get the grace period.
    drop(listener);
    seats.stop_gracefully(limits.grace);
    Ok(())
}

/// One client's thread, like one turn of server_04's loop: the conversation, then one log
/// line saying how it ended. Whatever happens here ends this client only.
fn serve(client: &TcpStream, peer: SocketAddr, limits: Limits) {
    match talk(client, limits) {
        Ok(ending) => log!("{peer} {ending}"),
        // A timeout here is a write: the client stopped reading our replies.
        Err(error) => log!(
            "{peer} dropped: {}",
            explain_timeout(error, limits.idle_timeout)
        ),
    }
}

/// The conversation: greet, then answer each line with "OK..." and the line, until the client
/// leaves or a limit ends it. Returns how it ended, for the log.
fn talk(stream: &TcpStream, limits: Limits) -> io::Result<String> {
    // A client that sends lines but never reads the replies would block our write forever.
    stream.set_write_timeout(Some(limits.idle_timeout))?;
    let mut writer = stream;
    writer.write_all(WELCOME)?;
    // One line at a time, each within the limits: see netutil::server::LineReader.
    let mut lines = LineReader::new(stream, limits);
    let mut reply = Vec::new();
    loop {
        match lines.next_line()? {
            // The line goes back as received, bytes and all, "\n" included. One write per
            // reply: one system call, and the prefix and the line leave together.
            Next::Line(line) => {
                reply.clear();
                reply.extend_from_slice(b"OK...");
                reply.extend_from_slice(line);
                writer.write_all(&reply)?;
            }
            Next::Closed => return Ok(format!("left after {} lines", lines.lines())),
            // Over a limit: say why in one line, and close so that the line arrives.
            Next::Over(limit) => {
                let (goodbye, ending) = limit.words(limits);
                hang_up(stream, goodbye.as_bytes(), LINGER);
                return Ok(ending);
            }
        }
    }
}
