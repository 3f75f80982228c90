//! # server_07: a task per client (going further)
//!
//! server_05 with tasks: the accept loop hands each client to a tokio task (`spawn`) where
//! server_05 starts a thread, and the task's code reads like the thread's, with `.await`
//! where the thread would block. tokio's runtime is server_06's loop, written for you: it
//! registers the sockets, polls, and runs the task whose socket is ready. The limits, their
//! flags and what a client over one is told are server_05's, from `netutil::server`.
//!
//! ## How to run
//!
//! ```text
//! cargo run --features many-clients --example server_07     # in one terminal
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
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::server::{
    self, AcceptBackoff, BindOptions, LINGER, Limit, LimitArgs, Limits, ListenArgs,
};
use netutil::server::{LineBuffer, Seats, Stop, explain_timeout};
use netutil::{elog, log};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{timeout, timeout_at};

const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";

/// Serve each client with a tokio task: greet it, then answer every line with "OK..." and
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
    let listener = server::bind(args.listen.addr(), &BindOptions::default())?;
    let limits = Limits::from(&args.limits);
    log!("listening on {} ({limits})", listener.local_addr()?);
    listener.set_nonblocking(true)?; // tokio's sockets never block the runtime's thread
    // The runtime: server_06's readiness loop, running the tasks on this one thread as
    // server_06 serves every client on one. (`#[tokio::main]` builds a runtime with a
    // worker thread per core that share the tasks.)
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .step("start the tokio runtime")?;
    runtime.block_on(serve_clients(listener, limits))
}

/// server_05's accept loop, with a task where server_05 starts a thread.
async fn serve_clients(
    listener: std::net::TcpListener,
    limits: Limits,
) -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::from_std(listener).step("register the listener")?;
    // Ctrl-C's handler runs on another thread: a watch channel wakes the loop's `select!`.
    let (wake, mut stop) = watch::channel(false);
    Stop::with_wake(move || wake.send_modify(|stop| *stop = true))
        .on_ctrl_c()
        .step("catch Ctrl-C")?;
    let seats = Seats::new(limits.max_clients);
    let mut tasks = JoinSet::new();
    let mut backoff = AcceptBackoff::new();
    loop {
        // Whichever comes first: a client, a finished task to tidy away, or the stop.
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = tasks.join_next() => continue,
            _ = stop.changed() => break,
        };
        let (client, peer) = match accepted {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            // Out of file descriptors: pause this loop (the tasks go on), or it would spin.
            Err(error) => {
                let pause = backoff.after_error(&error);
                elog!("could not accept a client: {error}; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        // The cap: a seat for this client, or the busy line and no task at all.
        let Some(seat) = seats.take_or_turn_away(&client, peer) else {
            continue;
        };
        log!("{peer} connected ({} live)", seats.live());
        // The task per client. `spawn` only queues it: the runtime runs it when it can. The
        // seat is given back when the task ends.
        tasks.spawn(async move {
            let _seat = seat;
            serve(client, peer, limits).await;
        });
    }
    // The graceful stop, as server_05's; the tasks still running after the grace period are
    // cancelled when `tasks` is dropped, and their sockets closed.
    drop(listener);
    seats.announce_stop(limits.grace);
    let _ = timeout(limits.grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    seats.report_stopped();
    Ok(())
}

/// One client's task: the conversation, then one log line saying how it ended.
async fn serve(client: TcpStream, peer: SocketAddr, limits: Limits) {
    match talk(client, limits).await {
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
async fn talk(mut stream: TcpStream, limits: Limits) -> io::Result<String> {
    send(&mut stream, WELCOME, limits).await?;
    // server_05's LineReader waited for each line; a task reads into the same line buffer,
    // with `timeout_at` where the thread had a read timeout.
    let mut lines = LineBuffer::new(limits, Instant::now());
    let mut reply = Vec::new();
    loop {
        while let Some(line) = lines.next_line() {
            let line = match line {
                Ok(line) => line,
                Err(limit) => return Ok(over(&mut stream, limit, limits).await),
            };
            reply.clear();
            reply.extend_from_slice(b"OK...");
            reply.extend_from_slice(line);
            send(&mut stream, &reply, limits).await?;
        }
        // The client closed its side (a read of 0), and a last line without "\n" got its
        // reply above.
        if lines.ended() {
            return Ok(format!("left after {} lines", lines.lines()));
        }
        let (deadline, limit) = lines.deadline(Instant::now());
        match timeout_at(deadline.into(), stream.read(lines.spare())).await {
            Err(_) => return Ok(over(&mut stream, limit, limits).await),
            Ok(Ok(received)) => lines.filled(received, Instant::now()),
            Ok(Err(error)) => return Err(error),
        }
    }
}

/// Writes `bytes`, giving up if they are not all taken within the idle timeout: the client
/// stopped reading our replies.
async fn send(stream: &mut TcpStream, bytes: &[u8], limits: Limits) -> io::Result<()> {
    timeout(limits.idle_timeout, stream.write_all(bytes))
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// Over a limit: server_05's `hang_up`, awaited instead of blocking. Send the goodbye,
/// half-close, and read and throw away what the client still sends for up to LINGER, so
/// that closing does not reset the connection before the client reads the goodbye.
async fn over(stream: &mut TcpStream, limit: Limit, limits: Limits) -> String {
    let (goodbye, ending) = limit.words(limits);
    let _ = timeout(LINGER, async {
        stream.write_all(goodbye.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = vec![0u8; 4096]; // on the heap: an idle task carries none of it
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), io::Error>(())
    })
    .await;
    ending
}
