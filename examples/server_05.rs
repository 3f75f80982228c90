//! # server_05: a thread per client, bounded
//!
//! `server_04` serves one client at a time: while one types, everybody else waits. Here the
//! accept loop hands each client to a thread of its own (`thread::spawn`) and goes straight
//! back to `accept`, so any number of clients talk to the server at once.
//!
//! "Any number" is the danger: each thread costs memory and each connection a file
//! descriptor, so a server on a network needs limits. The ones here are the lesson too, and
//! each is a flag:
//!
//! | flag | default | what happens at the limit |
//! |---|---|---|
//! | `--max-clients` | 256 | client 257 gets `Server busy: too many clients, try again later` and is closed |
//! | `--idle-timeout` | 60 s | a client silent for that long gets a goodbye line and is closed |
//! | `--max-line` | 4096 bytes | a longer line gets an error line and the client is closed |
//! | `--grace` | 5 s | after Ctrl-C, how long live clients may stay before the server exits |
//!
//! Mirrors `server-05.py`: a thread per client that sends "Welcome to the server. Type
//! something and hit enter", then answers each message with "OK..." and the message. The
//! original starts unbounded threads, has no timeouts, answers whatever one `recv(1024)`
//! returned (part of a line, or two lines at once), lets an error escape the thread, and
//! binds every interface. Here: the limits above; whole lines, read with a buffered reader;
//! bytes answered as bytes (invalid UTF-8 is fine, this is a byte protocol); every error ends
//! only its own client; 127.0.0.1 unless `--host 0.0.0.0` (then anyone on your network can
//! connect); and Ctrl-C stops the server gracefully (a second Ctrl-C quits at once).
//!
//! The socket setup of `server_01`..`server_04` (socket, `SO_REUSEADDR`, bind, listen) comes
//! from `netutil::server::bind` now: same calls, one line. The thread per client and the cap
//! are written out below, because they are this lesson. For homework, `netutil::server::Server`
//! is the same design packaged (the kit's `echo_server` uses it).
//!
//! ## How to run
//!
//! In one terminal:
//!
//! ```text
//! cargo run --example server_05
//! ```
//!
//! In two or three other terminals at the same time, type lines:
//!
//! ```text
//! nc 127.0.0.1 8888
//! telnet 127.0.0.1 8888
//! ```
//!
//! or send some without typing:
//!
//! ```text
//! printf 'hello\nworld\n' | socat -t 2 - TCP:127.0.0.1:8888
//! ```
//!
//! ## What you should see
//!
//! The client:
//!
//! ```text
//! Welcome to the server. Type something and hit enter
//! hello
//! OK...hello
//! world
//! OK...world
//! ```
//!
//! The server (one line per event, never per message):
//!
//! ```text
//! listening on 127.0.0.1:8888 (at most 256 clients, idle timeout 60s, lines up to 4096 bytes)
//! 127.0.0.1:52814 connected (1 live)
//! 127.0.0.1:52820 connected (2 live)
//! 127.0.0.1:52814 left after 2 lines
//! ^Cstopping: no new clients; waiting up to 5s for 1 live client(s)
//! server stopped: 2 clients served, 0 turned away, 1 cut off after the grace period
//! ```

use std::error::Error;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use netutil::cli::StepExt;
use netutil::server::{
    self, AcceptBackoff, BindOptions, ShutdownHandle, explain_timeout, hang_up, is_timeout,
};

const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
const BUSY: &[u8] = b"Server busy: too many clients, try again later\n";
/// How long a closing connection waits for the client to read our last line (see `hang_up`).
const LINGER: Duration = Duration::from_secs(1);

/// Serve each client on its own thread: greet it, then answer every line with "OK..." and
/// the line, within the limits below.
#[derive(Parser)]
struct Args {
    /// The IP address to bind. 127.0.0.1: only this machine can connect. 0.0.0.0 (or ::):
    /// every network interface, so anyone on your network can connect.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port to bind (0: the system picks a free one).
    #[arg(long, default_value_t = 8888)]
    port: u16,
    /// At most this many clients at once; the next one is told the server is busy.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_clients: u32,
    /// Seconds a client may stay silent before it is disconnected.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// The longest line accepted, in bytes, not counting its "\n"; a longer line gets an
    /// error reply and the client is disconnected.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    max_line: u32,
    /// After Ctrl-C, seconds live clients may stay before the server exits anyway.
    #[arg(long, default_value_t = 5)]
    grace: u64,
}

/// What each client thread needs to know; copied into every thread.
#[derive(Clone, Copy)]
struct Limits {
    idle_timeout: Duration,
    max_line: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let addr = SocketAddr::new(args.host, args.port);
    let listener = server::bind(addr, &BindOptions::default())?;
    let bound = listener.local_addr().step("read the bound address")?;

    // Ctrl-C (SIGINT) would kill the process mid-sentence for every client. Instead, the
    // first Ctrl-C asks the accept loop to stop; a second one quits at once.
    let shutdown = ShutdownHandle::new(&listener).step("prepare the shutdown")?;
    let on_ctrl_c = shutdown.clone();
    ctrlc::set_handler(move || {
        if !on_ctrl_c.request() {
            std::process::exit(130);
        }
    })
    .step("install the Ctrl-C handler")?;

    let max_clients = args.max_clients as usize;
    let limits = Limits {
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_line: args.max_line as usize,
    };
    println!(
        "listening on {bound} (at most {max_clients} clients, idle timeout {:?}, lines up to {} bytes)",
        limits.idle_timeout, limits.max_line
    );

    // How many clients are connected right now, shared by the accept loop and every thread.
    let live = Arc::new(AtomicUsize::new(0));
    let (mut served, mut turned_away) = (0u64, 0u64);
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted = listener.accept();
        // After a Ctrl-C the connection that woke accept up is the shutdown's own: stop here.
        if shutdown.is_requested() {
            break;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            // Out of file descriptors (EMFILE) fails every accept until a client leaves:
            // without a pause this loop would spin at full speed printing errors.
            Err(error) => {
                let pause = backoff.after_error(&error);
                eprintln!("could not accept a client: {error}; retrying in {pause:?}");
                thread::sleep(pause);
                continue;
            }
        };

        // The cap: take a seat before the thread exists. A full house means one short line
        // and a close, done right here: a rejected client costs no thread at all.
        let Some(seat) = Seat::take(&live, max_clients) else {
            turned_away += 1;
            println!("{peer} turned away: {max_clients} clients already connected");
            hang_up(&stream, BUSY, Duration::ZERO);
            continue;
        };
        served += 1;
        println!("{peer} connected ({} live)", live.load(Ordering::SeqCst));

        // The thread per client. `move` gives it the stream, the seat and a copy of the
        // limits; the seat is given back when the thread ends, however it ends (even a panic).
        let spawned = thread::Builder::new()
            .name(format!("client {peer}"))
            .spawn(move || {
                let _seat = seat;
                match talk(&stream, limits) {
                    Ok(farewell) => println!("{peer} {farewell}"),
                    // A timeout here is a write: the client stopped reading our replies.
                    Err(error) => println!(
                        "{peer} dropped: {}",
                        explain_timeout(error, limits.idle_timeout)
                    ),
                }
            });
        // The system can refuse a new thread (memory, ulimit -u): the closure and the
        // connection in it are dropped, and the loop goes on.
        if let Err(error) = spawned {
            eprintln!("could not start a thread for {peer}: {error}");
        }
    }

    // Stop accepting first: closing the listener makes new clients see "connection refused"
    // at once. Then give live clients the grace period to finish on their own.
    drop(listener);
    let grace = Duration::from_secs(args.grace);
    println!(
        "stopping: no new clients; waiting up to {grace:?} for {} live client(s)",
        live.load(Ordering::SeqCst)
    );
    let deadline = Instant::now() + grace;
    while live.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    // Returning from main closes the connections still open: the kernel sends them a FIN.
    println!(
        "server stopped: {served} clients served, {turned_away} turned away, {} cut off after the grace period",
        live.load(Ordering::SeqCst)
    );
    Ok(())
}

/// One client's place among the live ones. Taking it counts the client in; dropping it
/// (when the client's thread ends) counts the client out.
struct Seat(Arc<AtomicUsize>);

impl Seat {
    /// A seat, or `None` when `max` clients are connected already.
    fn take(live: &Arc<AtomicUsize>, max: usize) -> Option<Seat> {
        // Check and increment in one atomic step, so the count never passes `max`.
        live.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()?;
        Some(Seat(live.clone()))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The conversation with one client, on its own thread. Returns how it ended.
fn talk(stream: &TcpStream, limits: Limits) -> io::Result<String> {
    // A read that waits longer than the idle timeout fails with a timeout error, so a silent
    // client cannot keep its thread and its seat forever; the write timeout does the same for
    // a client that sends lines but never reads the replies.
    stream.set_read_timeout(Some(limits.idle_timeout))?;
    stream.set_write_timeout(Some(limits.idle_timeout))?;
    let mut writer = stream;
    writer.write_all(WELCOME)?;

    // The BufReader asks the kernel for up to 8 KiB at a time and cuts lines out of that, so
    // a client that sends 100 lines at once costs a few reads, not 100.
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut reply = Vec::new();
    let mut lines = 0u64;
    loop {
        line.clear();
        // `take` caps what read_until may collect: a client that sends gigabytes without a
        // "\n" costs us max_line + 1 bytes of memory, not gigabytes.
        let limit = limits.max_line as u64 + 1;
        match reader.by_ref().take(limit).read_until(b'\n', &mut line) {
            Ok(0) => return Ok(format!("left after {lines} lines")),
            Ok(_) if !line.ends_with(b"\n") && line.len() > limits.max_line => {
                let error = format!(
                    "Line too long: the limit is {} bytes. Bye\n",
                    limits.max_line
                );
                hang_up(stream, error.as_bytes(), LINGER);
                return Ok(format!(
                    "sent a line over {} bytes: disconnected",
                    limits.max_line
                ));
            }
            Ok(_) => {}
            Err(error) if is_timeout(&error) => {
                let goodbye = format!("Idle for {:?}: disconnecting. Bye\n", limits.idle_timeout);
                hang_up(stream, goodbye.as_bytes(), LINGER);
                return Ok(format!("idle for {:?}: disconnected", limits.idle_timeout));
            }
            Err(error) => return Err(error),
        }
        // The line goes back as received, bytes and all, "\n" included (a last line without
        // one, just before the client closes, is answered too). One write per reply: one
        // system call, and the prefix and the line leave together.
        reply.clear();
        reply.extend_from_slice(b"OK...");
        reply.extend_from_slice(&line);
        writer.write_all(&reply)?;
        lines += 1;
    }
}
