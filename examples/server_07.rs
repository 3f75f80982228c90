//! # server_07: async, a task per client (going further)
//!
//! The loop of server_06, written for you: tokio's runtime registers the sockets, waits for
//! readiness and wakes a task per client, whose code reads like server_05's thread (`talk`).
//! `serve_clients` shows the accept loop and the spawn; the limits are server_05's:
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
//! cargo run --features many-clients --example server_07     # in one terminal
//! cargo run --example line_client   # in another (or: nc 127.0.0.1 8888, telnet 127.0.0.1 8888)
//! ```
//!
//! ## What you should see
//!
//! ```text
//! Socket created
//! SO_REUSEADDR set
//! Socket bind complete: bound to 127.0.0.1:8888
//! listening on 127.0.0.1:8888 (at most 256 clients, idle timeout 60s, line timeout 30s, lines up to 4096 bytes)
//! 127.0.0.1:52814 connected (1 live)
//! 127.0.0.1:52820 connected (2 live)
//! 127.0.0.1:52814 left after 2 lines
//! ^Cstopping: no new clients; waiting up to 5s for 1 live client(s)
//! server stopped: 2 clients served, 0 turned away, 1 cut off after the grace period
//! ```

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::server::{AcceptBackoff, hang_up};
use netutil::{elog, log};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;

/// How many finished handshakes the kernel may queue before we accept them. Clients come in
/// bursts, and the loop accepts every queued one each time it wakes: 128, as in server_05.
const BACKLOG: i32 = 128;

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
    /// The limits every client is held to.
    #[command(flatten)]
    limits: LimitArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let addr = SocketAddr::new(args.host, args.port);
    // The address family (IPv4 or IPv6) must match the address we will bind.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .step("create a TCP socket")?;
    log!("Socket created");

    // Restarting the server must not fail while old connections sit in TIME_WAIT: see server_01.
    // Not on Windows: there SO_REUSEADDR would let another program take over the port.
    #[cfg(not(windows))]
    {
        socket.set_reuse_address(true).step("set SO_REUSEADDR")?;
        log!("SO_REUSEADDR set");
    }

    socket.bind(&addr.into()).step(format!("bind {addr}"))?;
    // With --port 0 the kernel chose the port: ask the socket which one it got.
    let bound = socket
        .local_addr()
        .step("read the bound address")?
        .as_socket()
        .unwrap_or(addr);
    log!("Socket bind complete: bound to {bound}");

    // From here on clients can connect: the kernel answers their handshakes and queues them.
    socket.listen(BACKLOG).step(format!("listen on {bound}"))?;
    let limits = Limits::from(&args.limits);
    log!("listening on {bound} ({limits})");

    // Non-blocking: `accept` returns WouldBlock instead of waiting when nobody is queued.
    socket
        .set_nonblocking(true)
        .step("make the listener non-blocking")?;
    // The runtime: the readiness loop of server_06, running the tasks on this one thread, as
    // server_06 serves every client on one. (`Runtime::new()`, what `#[tokio::main]` builds,
    // adds a worker thread per core that share the tasks.)
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .step("start the tokio runtime")?;
    runtime.block_on(serve_clients(socket.into(), limits, args))
}

/// The accept loop, as in server_05, with a task where server_05 has a thread.
async fn serve_clients(
    listener: std::net::TcpListener,
    limits: Limits,
    args: &Args,
) -> Result<(), Box<dyn Error>> {
    // Register: from now on the runtime's loop wakes this task when a client is queued.
    let listener = TcpListener::from_std(listener).step("register the listener")?;
    let mut stop = stop_on_ctrl_c()?;
    // The cap: one permit per seat. A task holds its permit until it ends, however it ends.
    let seats = Arc::new(Semaphore::new(limits.max_clients));
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
        let (client, peer) = match accepted {
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
        // The cap: a seat for this client, or the busy line and no task at all.
        let Ok(seat) = seats.clone().try_acquire_owned() else {
            turned_away += 1;
            log!(
                "{peer} turned away: {} clients already connected",
                limits.max_clients
            );
            say_busy(client);
            continue;
        };
        served += 1;
        log!("{peer} connected ({} live)", live(&seats, limits));
        // The task per client. `spawn` only queues it: the runtime runs it when it can. The
        // seat is given back when the task ends.
        clients.spawn(async move {
            let _seat = seat;
            serve(client, peer, limits).await;
        });
    }
    let grace = Duration::from_secs(args.limits.grace);
    stop_gracefully(
        listener,
        clients,
        &seats,
        limits,
        grace,
        served,
        turned_away,
    )
    .await;
    Ok(())
}

/// One client's task, like one turn of server_04's loop: the conversation, then one log
/// line saying how it ended. Whatever happens here ends this client only.
async fn serve(client: TcpStream, peer: SocketAddr, limits: Limits) {
    match talk(client, limits).await {
        Ok(ending) => log!("{peer} {ending}"),
        Err(error) => log!("{peer} dropped: {error}"),
    }
}

/// The conversation: greet, then answer each line with "OK..." and the line, until the client
/// leaves or a limit ends it. Returns how it ended, for the log.
async fn talk(mut stream: TcpStream, limits: Limits) -> io::Result<String> {
    send(&mut stream, WELCOME, limits).await?;
    // A client costs no read buffer until its first byte arrives: 10,000 silent clients
    // would otherwise hold 10,000 buffers of 8 KiB. `peek` waits for that byte and leaves
    // it in the socket (`readable()` may wake up before any byte is there).
    match timeout(limits.idle_timeout, stream.peek(&mut [0u8; 1])).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => return Err(error),
        Err(_) => return Ok(over(&mut stream, Limit::Idle, limits).await),
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
            Err(_) => return Ok(over(&mut stream, Limit::Idle, limits).await),
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
            Err(_) => return Ok(over(&mut stream, Limit::TooSlow, limits).await),
            Ok(Ok(_)) if !line.ends_with(b"\n") && line.len() > limits.max_line => {
                return Ok(over(&mut stream, Limit::TooLong, limits).await);
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

/// The client went over a limit: say why in one line, and close so that the line arrives.
async fn over(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    limit: Limit,
    limits: Limits,
) -> String {
    let (goodbye, ending) = limit.words(limits);
    say_goodbye(stream, goodbye.as_bytes()).await;
    ending
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

/// The limits a client can go over while we wait for a line.
enum Limit {
    /// Nothing arrived for the idle timeout.
    Idle,
    /// A line started but did not end within the line timeout.
    TooSlow,
    /// A line longer than the limit.
    TooLong,
}

impl Limit {
    /// What the client is told, and what the log says.
    fn words(self, limits: Limits) -> (String, String) {
        let Limits {
            idle_timeout: idle,
            line_timeout: line,
            max_line: max,
            ..
        } = limits;
        match self {
            Limit::Idle => (
                format!("Idle for {idle:?}: disconnecting. Bye\n"),
                format!("idle for {idle:?}: disconnected"),
            ),
            Limit::TooSlow => (
                format!("Too slow: a line must arrive whole within {line:?}. Bye\n"),
                format!("too slow: no whole line within {line:?}: disconnected"),
            ),
            Limit::TooLong => (
                format!("Line too long: the limit is {max} bytes. Bye\n"),
                format!("sent a line over {max} bytes: disconnected"),
            ),
        }
    }
}

const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
const BUSY: &[u8] = b"Server busy: too many clients, try again later\n";
/// How long a closing connection waits for the client to read our last line (see `hang_up`).
const LINGER: Duration = Duration::from_secs(1);

/// The limits every client is held to; each client's task gets a copy.
#[derive(Clone, Copy)]
struct Limits {
    max_clients: usize,
    idle_timeout: Duration,
    line_timeout: Duration,
    max_line: usize,
}

impl From<&LimitArgs> for Limits {
    fn from(args: &LimitArgs) -> Limits {
        Limits {
            max_clients: args.max_clients as usize,
            idle_timeout: Duration::from_secs(args.idle_timeout),
            line_timeout: Duration::from_secs(args.line_timeout),
            max_line: args.max_line as usize,
        }
    }
}

/// The flags that set the limits, with their defaults (`--help` lists them).
#[derive(clap::Args)]
struct LimitArgs {
    /// At most this many clients at once; the next one is told the server is busy.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_clients: u32,
    /// Seconds a client may stay silent before a line starts; then it is disconnected.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Seconds from a line's first byte to its "\n"; a slower client is disconnected.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    line_timeout: u64,
    /// The longest line accepted, in bytes, not counting its "\n"; a longer line gets an
    /// error reply and the client is disconnected.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    max_line: u32,
    /// After Ctrl-C or SIGTERM, seconds live clients may stay before the server exits anyway.
    #[arg(long, default_value_t = 5)]
    grace: u64,
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at most {} clients, idle timeout {:?}, line timeout {:?}, lines up to {} bytes",
            self.max_clients, self.idle_timeout, self.line_timeout, self.max_line
        )
    }
}

/// How many clients are connected right now: the seats taken.
fn live(seats: &Semaphore, limits: Limits) -> usize {
    limits.max_clients - seats.available_permits()
}

/// The busy line, sent from the accept loop itself. A few bytes into a new socket never
/// wait, so the blocking helper is fine even in a loop that must never wait.
fn say_busy(client: TcpStream) {
    match client.into_std() {
        Ok(client) => hang_up(&client, BUSY, Duration::ZERO),
        Err(error) => elog!("could not turn a client away politely: {error}"),
    }
}

/// Ctrl-C (SIGINT) or SIGTERM (`kill`, `docker stop`) would end the process mid-sentence for
/// every client. Instead the first one wakes the loop up to stop; a second quits at once.
fn stop_on_ctrl_c() -> Result<watch::Receiver<bool>, Box<dyn Error>> {
    // The handler runs on another thread, while the loop may sleep in `select!`. A watch
    // channel is a way in: `send(true)` wakes the task that waits on `changed()`.
    let (waker, stop) = watch::channel(false);
    let requested = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if requested.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        let _ = waker.send(true);
    })
    .step("install the Ctrl-C handler")?;
    Ok(stop)
}

/// The graceful stop: close the listener first (new clients are refused at once instead of
/// waiting in the backlog), then give live clients up to `grace` to leave on their own.
/// The tasks still running then are cancelled, and their sockets closed (a FIN each).
async fn stop_gracefully(
    listener: TcpListener,
    mut clients: JoinSet<()>,
    seats: &Semaphore,
    limits: Limits,
    grace: Duration,
    served: u64,
    turned_away: u64,
) {
    drop(listener);
    log!(
        "stopping: no new clients; waiting up to {grace:?} for {} live client(s)",
        live(seats, limits)
    );
    let _ = timeout(grace, async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    // Returning drops the JoinSet, which cancels the tasks still running: their sockets close.
    log!(
        "server stopped: {served} clients served, {turned_away} turned away, {} cut off after the grace period",
        live(seats, limits)
    );
}
