//! # server_05: a thread per client, bounded
//!
//! The accept loop hands each client to a thread of its own (`thread::spawn`) and goes
//! straight back to `accept`, so many clients are served at once: a greeting, then `OK...`
//! plus each line. `run` shows the loop and the spawn; below it, one small helper per limit:
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
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use netutil::cli::StepExt;
use netutil::server::{AcceptBackoff, ShutdownHandle, explain_timeout, hang_up, is_timeout};
use netutil::{elog, log};
use socket2::{Domain, Protocol, Socket, Type};

/// How many finished handshakes the kernel may queue before we accept them. Clients come in
/// bursts, and a thread per client empties the queue fast: 128, where server_04 has 10.
const BACKLOG: i32 = 128;

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

    // A listening socket is all std::net needs; accept blocks until a client has connected.
    let listener = TcpListener::from(socket);
    let stop = stop_on_ctrl_c(&listener)?;
    // How many clients are connected right now, shared by the accept loop and every thread.
    let live = Arc::new(AtomicUsize::new(0));
    let (mut served, mut turned_away) = (0u64, 0u64);
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted = listener.accept();
        // After Ctrl-C, the connection that woke accept up is the stop request's own.
        if stop.is_requested() {
            break;
        }
        let (client, peer) = match accepted {
            Ok(accepted) => {
                backoff.reset();
                accepted
            }
            // Out of file descriptors (EMFILE) fails every accept until a client leaves:
            // without a pause this loop would spin at full speed printing errors.
            Err(error) => {
                let pause = backoff.after_error(&error);
                elog!("could not accept a client: {error}; retrying in {pause:?}");
                thread::sleep(pause);
                continue;
            }
        };
        // The cap: a seat for this client, or the busy line and no thread at all.
        let Some(seat) = Seat::take(&live, limits.max_clients) else {
            turned_away += 1;
            log!(
                "{peer} turned away: {} clients already connected",
                limits.max_clients
            );
            say_busy(&client);
            continue;
        };
        log!("{peer} connected ({} live)", live.load(Ordering::SeqCst));
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
        match spawned {
            Ok(_) => served += 1,
            // No thread (out of memory, ulimit -u): the client hears "busy", as over the cap.
            Err(error) => {
                turned_away += 1;
                elog!("could not start a thread for {peer}: {error}");
                say_busy(&client);
            }
        }
    }
    let grace = Duration::from_secs(args.limits.grace);
    stop_gracefully(listener, &live, grace, served, turned_away);
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

    // The BufReader asks the kernel for up to 8 KiB at a time and cuts lines out of that, so
    // a client that sends 100 lines at once costs a few reads, not 100.
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut reply = Vec::new();
    let mut lines = 0u64;
    loop {
        match read_line(&mut reader, &mut line, limits)? {
            NextLine::Line => {}
            NextLine::Closed => return Ok(format!("left after {lines} lines")),
            // A limit was hit: say why in one line, and close so that the line arrives.
            NextLine::Over(limit) => {
                let (goodbye, ending) = limit.words(limits);
                hang_up(stream, goodbye.as_bytes(), LINGER);
                return Ok(ending);
            }
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

/// What [`read_line`] found.
enum NextLine {
    /// A line is in the buffer: up to its "\n", or the last bytes before the client closed.
    Line,
    /// The client closed between lines.
    Closed,
    /// The client went over a limit.
    Over(Limit),
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

/// Reads the next line into `line`, within three limits:
/// - the idle timeout: how long to wait for a line's first byte;
/// - the line deadline: from that first byte to the "\n". A read timeout alone would let a
///   client that trickles a byte every few seconds keep its seat forever ("slowloris");
/// - the longest line: a client that sends gigabytes without "\n" costs max_line + 1 bytes.
fn read_line(
    reader: &mut BufReader<&TcpStream>,
    line: &mut Vec<u8>,
    limits: Limits,
) -> io::Result<NextLine> {
    line.clear();
    let mut deadline: Option<Instant> = None; // set when the line's first byte arrives
    loop {
        // Before waiting for the kernel, the read timeout becomes what is left of the limit.
        if reader.buffer().is_empty() {
            let wait = match deadline {
                None => limits.idle_timeout,
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            };
            if wait.is_zero() {
                return Ok(NextLine::Over(Limit::TooSlow));
            }
            reader.get_ref().set_read_timeout(Some(wait))?;
        }
        let received = match reader.fill_buf() {
            Ok(received) => received,
            Err(error) if is_timeout(&error) && deadline.is_none() => {
                return Ok(NextLine::Over(Limit::Idle));
            }
            Err(error) if is_timeout(&error) => return Ok(NextLine::Over(Limit::TooSlow)),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if received.is_empty() {
            return Ok(if line.is_empty() {
                NextLine::Closed
            } else {
                NextLine::Line
            });
        }
        deadline.get_or_insert_with(|| Instant::now() + limits.line_timeout);
        // Take bytes up to the "\n", but never more than the limit allows (its "\n" included).
        let room = received.len().min(limits.max_line + 1 - line.len());
        let (taken, whole) = match received[..room].iter().position(|&byte| byte == b'\n') {
            Some(end) => (end + 1, true),
            None => (room, false),
        };
        line.extend_from_slice(&received[..taken]);
        reader.consume(taken);
        if whole {
            return Ok(NextLine::Line);
        }
        if line.len() > limits.max_line {
            return Ok(NextLine::Over(Limit::TooLong));
        }
    }
}

const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
const BUSY: &[u8] = b"Server busy: too many clients, try again later\n";
/// How long a closing connection waits for the client to read our last line (see `hang_up`).
const LINGER: Duration = Duration::from_secs(1);

/// The limits every client thread works within; each thread gets a copy.
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

/// One client's place among the live ones. Taking it counts the client in; dropping it
/// (when the client's thread ends, however it ends, even in a panic) counts it out.
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

/// The busy line, sent from the accept loop itself: a client we cannot serve costs no thread.
fn say_busy(client: &TcpStream) {
    hang_up(client, BUSY, Duration::ZERO);
}

/// Ctrl-C (SIGINT) or SIGTERM (`kill`, `docker stop`) would end the process mid-sentence for
/// every client. Instead the first one asks the accept loop to stop; a second quits at once.
fn stop_on_ctrl_c(listener: &TcpListener) -> Result<ShutdownHandle, Box<dyn Error>> {
    let stop = ShutdownHandle::new(listener).step("prepare the shutdown")?;
    let on_signal = stop.clone();
    ctrlc::set_handler(move || {
        if !on_signal.request() {
            std::process::exit(130);
        }
    })
    .step("install the Ctrl-C handler")?;
    Ok(stop)
}

/// The graceful stop: close the listener first (new clients are refused at once instead of
/// waiting in the backlog), then give live clients up to `grace` to leave on their own.
/// Those still there when the program returns are closed by the system (a FIN each).
fn stop_gracefully(
    listener: TcpListener,
    live: &AtomicUsize,
    grace: Duration,
    served: u64,
    turned_away: u64,
) {
    drop(listener);
    log!(
        "stopping: no new clients; waiting up to {grace:?} for {} live client(s)",
        live.load(Ordering::SeqCst)
    );
    let deadline = Instant::now() + grace;
    while live.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    log!(
        "server stopped: {served} clients served, {turned_away} turned away, {} cut off after the grace period",
        live.load(Ordering::SeqCst)
    );
}
