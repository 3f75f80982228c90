//! # server_07: async, a task per client (going further)
//!
//! `server_06` writes a readiness loop by hand: tokens, a per-client inbox and outbox, "read
//! until WouldBlock", deadlines in a sorted set. This lesson is the same server written with
//! tokio, whose runtime *is* that loop (built on `mio`, like `server_06`). Each client gets a
//! task: code that reads like `server_05`'s thread (read a line, write the reply), where
//! every `.await` is a point at which the task may give way to others, as the loop did
//! between events. A task costs about a kilobyte, not a thread's stack and a trip through the
//! scheduler. The runtime here runs every task on one thread, like `server_06`.
//!
//! What tokio writes for you, and what is left here:
//!
//! - `listener.accept().await`, `read_until(...).await`, `write_all(...).await`: the loop
//!   registers the socket, waits for readiness, retries after `WouldBlock`, keeps the unsent
//!   part of a reply, and wakes the task when it can go on;
//! - `tokio::time::timeout`: the deadlines (tokio keeps them in a timer wheel);
//! - `tokio::select!`: wait for whichever comes first, a client or the shutdown signal;
//! - a `Semaphore` with `--max-clients` permits is the cap: a client holds one while its
//!   task runs;
//! - a `JoinSet` holds the tasks, so the shutdown can wait for them and count the rest.
//!
//! The protocol, the flags, the limits and the log lines are those of `server_05` and
//! `server_06`.
//!
//! ## How to run
//!
//! tokio is an optional dependency, so the other lessons build without it; name the feature:
//!
//! ```text
//! cargo run --features many-clients --example server_07
//! ```
//!
//! In other terminals:
//!
//! ```text
//! nc 127.0.0.1 8888
//! printf 'hello\nworld\n' | socat -t 2 - TCP:127.0.0.1:8888
//! ```
//!
//! ## What you should see
//!
//! The client, exactly as with `server_05`:
//!
//! ```text
//! Welcome to the server. Type something and hit enter
//! hello
//! OK...hello
//! ```
//!
//! The server:
//!
//! ```text
//! listening on 127.0.0.1:8888 (at most 256 clients, idle timeout 60s, line timeout 30s, lines up to 4096 bytes)
//! 127.0.0.1:41332 connected (1 live)
//! 127.0.0.1:41336 connected (2 live)
//! 127.0.0.1:41336 left after 2 lines
//! ^Cstopping: no new clients; waiting up to 5s for 1 live client(s)
//! server stopped: 2 clients served, 0 turned away, 1 cut off after the grace period
//! ```

use std::error::Error;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::server::{self, AcceptBackoff, BindOptions, hang_up};
use netutil::{elog, log};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;

const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
const BUSY: &[u8] = b"Server busy: too many clients, try again later\n";
/// How long a closing connection waits for the client to read our last line (see `hang_up`).
const LINGER: Duration = Duration::from_secs(1);

/// Serve each client with a tokio task: greet it, then answer every line with "OK..." and
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
    /// Seconds a client may stay silent (before the first byte of a line) before it is
    /// disconnected.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Seconds a line may take from its first byte to its "\n" before the client is
    /// disconnected: a client that sends one byte a minute cannot keep its place forever.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    line_timeout: u64,
    /// The longest line accepted, in bytes, not counting its "\n"; a longer line gets an
    /// error reply and the client is disconnected.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    max_line: u32,
    /// After Ctrl-C, seconds live clients may stay before the server exits anyway.
    #[arg(long, default_value_t = 5)]
    grace: u64,
}

/// What each client task needs to know; copied into every task.
#[derive(Clone, Copy)]
struct Limits {
    idle_timeout: Duration,
    line_timeout: Duration,
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
    // tokio's sockets are non-blocking: the runtime waits for readiness, not the kernel.
    listener
        .set_nonblocking(true)
        .step("make the listener non-blocking")?;
    // The runtime: the readiness loop of server_06, running the tasks on this one thread, as
    // server_06 serves every client on one. (`Runtime::new()`, what `#[tokio::main]` builds,
    // adds a worker thread per core that share the tasks.)
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .step("start the tokio runtime")?;
    runtime.block_on(serve(listener, bound, args))
}

async fn serve(
    listener: std::net::TcpListener,
    bound: SocketAddr,
    args: &Args,
) -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::from_std(listener).step("register the listener")?;

    // Ctrl-C arrives on the handler's own thread: it sends `true` on a watch channel, which
    // the accept loop waits on. A second Ctrl-C quits at once.
    let (stop_sender, mut stop) = watch::channel(false);
    let presses = AtomicUsize::new(0);
    ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(130);
        }
        let _ = stop_sender.send(true);
    })
    .step("install the Ctrl-C handler")?;

    let max_clients = args.max_clients as usize;
    let limits = Limits {
        idle_timeout: Duration::from_secs(args.idle_timeout),
        line_timeout: Duration::from_secs(args.line_timeout),
        max_line: args.max_line as usize,
    };
    log!(
        "listening on {bound} (at most {max_clients} clients, idle timeout {:?}, line timeout {:?}, lines up to {} bytes)",
        limits.idle_timeout,
        limits.line_timeout,
        limits.max_line
    );

    // The cap: one permit per seat. A task holds its permit until it ends, however it ends.
    let seats = Arc::new(Semaphore::new(max_clients));
    let live = |seats: &Semaphore| max_clients - seats.available_permits();
    let mut clients = JoinSet::new();
    let (mut served, mut turned_away) = (0u64, 0u64);
    let mut backoff = AcceptBackoff::new();
    loop {
        // Whichever comes first: a client, a finished task to tidy away, or the stop.
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = clients.join_next() => continue,
            _ = stop.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            // Out of file descriptors (EMFILE) fails every accept until a client leaves:
            // pause (only this loop: the tasks go on), or it would spin printing errors.
            Err(error) => {
                let pause = backoff.after_error(&error);
                elog!("could not accept a client: {error}; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let Ok(seat) = seats.clone().try_acquire_owned() else {
            turned_away += 1;
            log!("{peer} turned away: {max_clients} clients already connected");
            // A few bytes into a new socket never wait: the blocking helper is fine here.
            match stream.into_std() {
                Ok(stream) => hang_up(&stream, BUSY, Duration::ZERO),
                Err(error) => elog!("could not turn {peer} away politely: {error}"),
            }
            continue;
        };
        served += 1;
        log!("{peer} connected ({} live)", live(&seats));
        // The task per client. `spawn` only queues it: the runtime runs it when it can.
        clients.spawn(async move {
            let _seat = seat;
            match talk(stream, limits).await {
                Ok(farewell) => log!("{peer} {farewell}"),
                Err(error) => log!("{peer} dropped: {error}"),
            }
        });
    }

    // Stop accepting first: dropping the listener closes it, so new clients see "connection
    // refused" at once. Then give live clients the grace period to finish on their own.
    drop(listener);
    let grace = Duration::from_secs(args.grace);
    log!(
        "stopping: no new clients; waiting up to {grace:?} for {} live client(s)",
        live(&seats)
    );
    let _ = timeout(grace, async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    let cut_off = live(&seats);
    // Dropping the JoinSet cancels the tasks still running: their sockets close.
    drop(clients);
    log!(
        "server stopped: {served} clients served, {turned_away} turned away, {cut_off} cut off after the grace period"
    );
    Ok(())
}

/// The conversation with one client, in its own task. Returns how it ended.
async fn talk(mut stream: TcpStream, limits: Limits) -> io::Result<String> {
    send(&mut stream, WELCOME, limits).await?;
    // A client costs no read buffer until its first byte arrives: 10,000 silent clients
    // would otherwise hold 10,000 buffers of 8 KiB. `peek` waits for that byte and leaves
    // it in the socket (`readable()` may wake up before any byte is there).
    match timeout(limits.idle_timeout, stream.peek(&mut [0u8; 1])).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => return Err(error),
        Err(_) => return Ok(idle(&mut stream, limits).await),
    }
    // The BufReader asks the kernel for up to 8 KiB at a time and cuts lines out of that.
    let mut stream = BufReader::new(stream);
    let mut line = Vec::new();
    let mut reply = Vec::new();
    let mut lines = 0u64;
    loop {
        line.clear();
        // Idle: wait for the first byte of the next line, at most idle_timeout.
        match timeout(limits.idle_timeout, stream.fill_buf()).await {
            Err(_) => return Ok(idle(&mut stream, limits).await),
            Ok(Ok([])) => return Ok(format!("left after {lines} lines")),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
        }
        // The line: from its first byte, line_timeout to reach its "\n". `take` caps what
        // read_until may collect: a client that sends gigabytes without a "\n" costs us
        // max_line + 1 bytes of memory, not gigabytes.
        let limit = limits.max_line as u64 + 1;
        let mut capped = (&mut stream).take(limit);
        match timeout(limits.line_timeout, capped.read_until(b'\n', &mut line)).await {
            Err(_) => {
                let goodbye = format!(
                    "Too slow: a line must arrive whole within {:?}. Bye\n",
                    limits.line_timeout
                );
                say_goodbye(&mut stream, goodbye.as_bytes()).await;
                return Ok(format!(
                    "too slow: no whole line within {:?}: disconnected",
                    limits.line_timeout
                ));
            }
            Ok(Ok(_)) if !line.ends_with(b"\n") && line.len() > limits.max_line => {
                let goodbye = format!(
                    "Line too long: the limit is {} bytes. Bye\n",
                    limits.max_line
                );
                say_goodbye(&mut stream, goodbye.as_bytes()).await;
                return Ok(format!(
                    "sent a line over {} bytes: disconnected",
                    limits.max_line
                ));
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
        }
        // One write per reply; `write_all` may take several writes to the socket, each
        // after the runtime saw it writable again: what server_06 did with its outbox.
        reply.clear();
        reply.extend_from_slice(b"OK...");
        reply.extend_from_slice(&line);
        send(&mut stream, &reply, limits).await?;
        lines += 1;
    }
}

/// Says goodbye to a client that stayed silent for the idle timeout.
async fn idle(stream: &mut (impl AsyncRead + AsyncWrite + Unpin), limits: Limits) -> String {
    let goodbye = format!("Idle for {:?}: disconnecting. Bye\n", limits.idle_timeout);
    say_goodbye(stream, goodbye.as_bytes()).await;
    format!("idle for {:?}: disconnected", limits.idle_timeout)
}

/// Writes `bytes`, giving up if they are not all taken within the idle timeout: the client
/// stopped reading our replies.
async fn send(
    stream: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
    limits: Limits,
) -> io::Result<()> {
    match timeout(limits.idle_timeout, stream.write_all(bytes)).await {
        Ok(written) => written,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("timed out after {:?}", limits.idle_timeout),
        )),
    }
}

/// `netutil::server::hang_up`, awaited instead of blocking: send the last words, half-close,
/// and read and discard what the client still sends for up to LINGER, so that closing does
/// not reset the connection before the client reads them.
async fn say_goodbye(stream: &mut (impl AsyncRead + AsyncWrite + Unpin), last_words: &[u8]) {
    let _ = timeout(LINGER, async {
        stream.write_all(last_words).await?;
        stream.shutdown().await?;
        // On the heap, not in the task: every task would carry it, idle or not.
        let mut sink = vec![0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), io::Error>(())
    })
    .await;
}
