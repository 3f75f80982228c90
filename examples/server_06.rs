//! # server_06: one thread, many clients (going further)
//!
//! One thread serves every client: the sockets are non-blocking, and a readiness loop (`mio`:
//! epoll, kqueue or IOCP) asks which of them are ready and does only the work that will not
//! wait. `run` shows the loop; `Server` and `Client` hold the rest. The limits are server_05's:
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
//! cargo run --features many-clients --example server_06     # in one terminal
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

use std::collections::{BTreeSet, HashMap};
use std::error::Error;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use netutil::cli::StepExt;
use netutil::server::{AcceptBackoff, hang_up};
use netutil::{elog, log};
use socket2::{Domain, Protocol, Socket, Type};

/// How many finished handshakes the kernel may queue before we accept them. Clients come in
/// bursts, and the loop accepts every queued one each time it wakes: 128, as in server_05.
const BACKLOG: i32 = 128;
/// The listener's token; the Ctrl-C waker's; clients get 2, 3, 4... and a number is never reused.
const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Bytes asked of the kernel per `read`, into one buffer the whole loop shares.
const READ_SIZE: usize = 16 * 1024;
/// A client whose unsent replies pass this is not read from until they are sent: a client
/// that sends lines and never reads the replies must not make the server buffer them forever.
const MAX_UNSENT: usize = 64 * 1024;

/// Serve every client from one thread with a readiness loop: greet it, then answer every
/// line with "OK..." and the line, within the limits below.
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
    let mut listener = TcpListener::from_std(socket.into());
    // 1. Register: from now on `poll` reports the listener under LISTENER.
    let poll = Poll::new().step("create the readiness poll")?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .step("register the listener")?;
    stop_on_ctrl_c(&poll)?;
    // Every client, its buffers and its deadline, all owned by this one thread.
    let mut server = Server::new(poll, listener, limits);
    let mut events = Events::with_capacity(1024);
    let mut buffer = vec![0u8; READ_SIZE];
    loop {
        // Steps 2 to 5, once: whatever woke the loop up is served, then it waits again.
        let stop_requested = server.turn(&mut events, &mut buffer, None)?;
        if stop_requested {
            break;
        }
    }
    let grace = Duration::from_secs(args.limits.grace);
    stop_gracefully(server, &mut events, &mut buffer, grace)
}

/// Everything the loop knows. One thread owns it all, so nothing here needs a lock or an
/// atomic: that is what a thread per client (`server_05`) had to pay for and this does not.
struct Server {
    poll: Poll,
    /// `None` once a shutdown has begun.
    listener: Option<TcpListener>,
    clients: HashMap<Token, Client>,
    /// Every client's next deadline, sorted: the first entry is the nearest. Why not look at
    /// every client before each `poll`? With 10,000 idle clients and thousands of wake-ups a
    /// second, that scan would cost more than serving. Why not a timer per client? There are
    /// no timers in a readiness loop: the only way to wake up on time is `poll`'s timeout.
    /// A sorted set keeps the nearest deadline at hand in O(log n) per change (tokio uses
    /// a timer wheel, faster still for millions of timers, and more code).
    deadlines: BTreeSet<(Instant, Token)>,
    next_token: usize,
    limits: Limits,
    served: u64,
    turned_away: u64,
    backoff: AcceptBackoff,
    /// After `accept` failed (no file descriptors left, say), when to try again.
    accept_again_at: Option<Instant>,
}

impl Server {
    fn new(poll: Poll, listener: TcpListener, limits: Limits) -> Server {
        Server {
            poll,
            listener: Some(listener),
            clients: HashMap::new(),
            deadlines: BTreeSet::new(),
            next_token: 2,
            limits,
            served: 0,
            turned_away: 0,
            backoff: AcceptBackoff::new(),
            accept_again_at: None,
        }
    }

    /// Steps 2 to 5, once: wait for events, at most until the nearest deadline (or `until`),
    /// serve them, then deal with the deadlines that passed. True if Ctrl-C woke the loop.
    fn turn(
        &mut self,
        events: &mut Events,
        buffer: &mut [u8],
        until: Option<Instant>,
    ) -> Result<bool, Box<dyn Error>> {
        // 2. Wait for events, at most until the nearest deadline.
        let timeout = [self.next_deadline(), until]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(Instant::now()));
        match self.poll.poll(events, timeout) {
            Ok(()) => {}
            // A signal handler ran while we waited: not an error, wait again.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(error) => Err::<(), _>(error).step("wait for events")?,
        }
        // One clock reading per wake-up serves every event in it.
        let now = Instant::now();
        let mut stop_requested = false;
        for event in events.iter() {
            match event.token() {
                LISTENER => self.accept_clients(now),
                WAKER => stop_requested = true,
                token => self.serve(token, event, buffer, now),
            }
        }
        self.expire_deadlines(now);
        Ok(stop_requested)
    }

    /// The moment the loop must wake up even if no socket is ready.
    fn next_deadline(&self) -> Option<Instant> {
        let nearest_client = self.deadlines.first().map(|&(at, _)| at);
        [nearest_client, self.accept_again_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Accepts every client waiting in the backlog: after one readiness event there may be
    /// many, and the kernel will not report the same ones again.
    fn accept_clients(&mut self, now: Instant) {
        if self.accept_again_at.is_some_and(|at| now < at) {
            return;
        }
        self.accept_again_at = None;
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => {
                    self.backoff.reset();
                    accepted
                }
                // The backlog is empty: back to `poll`.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                // Out of file descriptors (EMFILE) fails every accept until a client leaves:
                // pause, or the loop would spin at full speed printing errors. The pause is
                // a deadline like any other, not a `sleep`: other clients are served meanwhile.
                Err(error) => {
                    let pause = self.backoff.after_error(&error);
                    elog!("could not accept a client: {error}; retrying in {pause:?}");
                    self.accept_again_at = Some(now + pause);
                    return;
                }
            };
            // The cap: a full house means one short line and a close, right here.
            if self.clients.len() >= self.limits.max_clients {
                self.turned_away += 1;
                log!(
                    "{peer} turned away: {} clients already connected",
                    self.limits.max_clients
                );
                say_busy(stream);
                continue;
            }
            let token = Token(self.next_token);
            self.next_token += 1;
            if let Err(error) =
                self.poll
                    .registry()
                    .register(&mut stream, token, Interest::READABLE)
            {
                elog!("could not register {peer}: {error}");
                continue;
            }
            self.served += 1;
            let mut client = Client::new(stream, peer, now);
            client.queue(WELCOME, now);
            // The greeting goes out now: a new socket has room for it.
            let greeted = client.write_unsent(now);
            self.clients.insert(token, client);
            log!("{peer} connected ({} live)", self.clients.len());
            self.settle(token, greeted.err());
        }
    }

    /// Steps 3 and 4: one client's socket is ready: read what came, answer it, write.
    fn serve(&mut self, token: Token, event: &Event, buffer: &mut [u8], now: Instant) {
        let Some(client) = self.clients.get_mut(&token) else {
            return; // an event for a client closed earlier in this round
        };
        let readable = event.is_readable() || event.is_read_closed() || event.is_error();
        let result = client.take_turn(readable, buffer, self.limits, now);
        self.settle(token, result.err());
    }

    /// After a client's turn: close it if it is done, otherwise ask for the events it needs
    /// now and file its new deadline.
    fn settle(&mut self, token: Token, failure: Option<io::Error>) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if let Some(error) = failure {
            // Once we said goodbye, an error is just the end arriving early.
            if !matches!(client.phase, Phase::HangingUp { .. }) {
                log!("{} dropped: {error}", client.peer);
            }
            self.close(token);
            return;
        }
        if client.is_done() {
            self.close(token);
            return;
        }
        // Ask for "writable" only while a reply waits: a socket with room in its send buffer
        // is writable nearly all the time, and asking always would wake us up for nothing.
        let wants_write = client.has_unsent();
        if wants_write != client.asked_for_writable {
            let interest = if wants_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Err(error) = self
                .poll
                .registry()
                .reregister(&mut client.stream, token, interest)
            {
                log!("{} dropped: {error}", client.peer);
                self.close(token);
                return;
            }
            client.asked_for_writable = wants_write;
        }
        let deadline = client.deadline(self.limits);
        if client.filed_deadline != Some(deadline) {
            if let Some(old) = client.filed_deadline {
                self.deadlines.remove(&(old, token));
            }
            self.deadlines.insert((deadline, token));
            client.filed_deadline = Some(deadline);
        }
    }

    /// Deals with every client whose deadline has passed.
    fn expire_deadlines(&mut self, now: Instant) {
        if self.accept_again_at.is_some_and(|at| now >= at) {
            self.accept_clients(now);
        }
        while let Some(&(at, token)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(client) = self.clients.get_mut(&token) else {
                continue;
            };
            client.filed_deadline = None;
            let limits = self.limits;
            match client.phase {
                // The goodbye had its time to be read: close.
                Phase::HangingUp { .. } => {
                    self.close(token);
                    continue;
                }
                // Replies waiting and the client reads none of them: it cannot even read a
                // goodbye, so close without one.
                _ if client.has_unsent() => {
                    log!(
                        "{} dropped: timed out after {:?}",
                        client.peer,
                        limits.idle_timeout
                    );
                    self.close(token);
                    continue;
                }
                _ if client.line_started.is_some() => client.over(Limit::TooSlow, limits, now),
                _ => client.over(Limit::Idle, limits, now),
            }
            let said = client.write_unsent(now);
            self.settle(token, said.err());
        }
    }

    /// Step 5: forgets a client. Dropping its stream closes the socket, and the kernel
    /// removes a closed socket from the poll by itself.
    fn close(&mut self, token: Token) {
        if let Some(at) = self.clients.remove(&token).and_then(|c| c.filed_deadline) {
            self.deadlines.remove(&(at, token));
        }
    }
}

/// Where a client's conversation is.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    /// Lines in, replies out.
    Talking,
    /// The client sent its last byte (end of stream): send what is unsent, then close.
    Finishing,
    /// We said goodbye (idle, too slow, line too long): send it, half-close, and throw away
    /// what the client still sends until it closes too, or until `until`. This is `hang_up`
    /// of `server_05`, in steps, because this thread must never wait.
    HangingUp { until: Instant },
}

/// One client: its socket and the two buffers that a blocking thread kept on its stack.
struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    phase: Phase,
    /// The start of a line whose "\n" has not arrived yet.
    inbox: Vec<u8>,
    /// Replies the kernel has not taken yet; `sent` of them are gone already.
    outbox: Vec<u8>,
    sent: usize,
    lines: u64,
    /// When the client last sent a byte, and when the unfinished line in `inbox` began.
    last_heard: Instant,
    line_started: Option<Instant>,
    /// When a write last made progress (or the first reply started waiting).
    last_written: Instant,
    /// Reading stopped because too many replies were unsent.
    paused: bool,
    asked_for_writable: bool,
    shut_down_writing: bool,
    input_ended: bool,
    filed_deadline: Option<Instant>,
}

impl Client {
    fn new(stream: TcpStream, peer: SocketAddr, now: Instant) -> Client {
        Client {
            stream,
            peer,
            phase: Phase::Talking,
            inbox: Vec::new(),
            outbox: Vec::new(),
            sent: 0,
            lines: 0,
            last_heard: now,
            line_started: None,
            last_written: now,
            paused: false,
            asked_for_writable: false,
            shut_down_writing: false,
            input_ended: false,
            filed_deadline: None,
        }
    }

    fn has_unsent(&self) -> bool {
        self.sent < self.outbox.len()
    }

    /// Adds bytes to the outbox; `write_unsent` sends them.
    fn queue(&mut self, bytes: &[u8], now: Instant) {
        if !self.has_unsent() {
            self.last_written = now;
        }
        self.outbox.extend_from_slice(bytes);
    }

    /// Its socket is ready: send what waits, read and answer what came, send the answers.
    fn take_turn(
        &mut self,
        readable: bool,
        buffer: &mut [u8],
        limits: Limits,
        now: Instant,
    ) -> io::Result<()> {
        self.write_unsent(now)?;
        // After a pause for unsent replies, read even without a new event: the bytes that
        // waited in the kernel meanwhile will not be announced again.
        if readable || self.paused {
            self.read_lines(buffer, limits, now)?;
        }
        self.write_unsent(now)
    }

    /// Reads until the kernel has nothing more (WouldBlock) and answers every whole line.
    fn read_lines(&mut self, buffer: &mut [u8], limits: Limits, now: Instant) -> io::Result<()> {
        if self.paused && self.line_started.is_some() {
            // The rest of the line waited in the kernel because we stopped reading: that
            // time was ours, not the client's, so the line's clock starts again.
            self.line_started = Some(now);
        }
        self.paused = false;
        while !self.input_ended {
            // Too many replies unsent: send them. If the kernel will not take them all,
            // stop reading until it does (a "writable" event brings us back here).
            if self.outbox.len() - self.sent >= MAX_UNSENT {
                self.write_unsent(now)?;
                if self.has_unsent() {
                    self.paused = true;
                    return Ok(());
                }
            }
            let n = match self.stream.read(buffer) {
                Ok(0) => {
                    self.end_of_input(now);
                    return Ok(());
                }
                Ok(n) => n,
                // "Nothing more for now": the kernel will report the socket readable again
                // when new bytes arrive. Never wait here: other clients are waiting for us.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            self.last_heard = now;
            if self.phase == Phase::Talking {
                self.take_lines(&buffer[..n], limits, now);
            }
        }
        Ok(())
    }

    /// Cuts `bytes` into lines: each whole line is answered at once, the rest waits in the
    /// inbox for its "\n". A line can arrive in many reads, and one read can hold many lines.
    fn take_lines(&mut self, mut bytes: &[u8], limits: Limits, now: Instant) {
        while let Some(end) = bytes.iter().position(|&byte| byte == b'\n') {
            let (piece, rest) = bytes.split_at(end + 1);
            bytes = rest;
            if self.inbox.len() + end > limits.max_line {
                return self.over(Limit::TooLong, limits, now);
            }
            // One reply, in one buffer: "OK...", the start of the line, and its end.
            self.queue(b"OK...", now);
            self.outbox.extend_from_slice(&self.inbox);
            self.outbox.extend_from_slice(piece);
            self.inbox.clear();
            self.lines += 1;
        }
        if !bytes.is_empty() && self.inbox.is_empty() {
            self.line_started = Some(now);
        }
        self.inbox.extend_from_slice(bytes);
        if self.inbox.is_empty() {
            self.line_started = None;
        } else if self.inbox.len() > limits.max_line {
            // The inbox holds at most max_line bytes plus one read, however long the line.
            self.over(Limit::TooLong, limits, now);
        }
    }

    /// The client went over a limit: say why in one line, and close so that the line arrives.
    fn over(&mut self, limit: Limit, limits: Limits, now: Instant) {
        let (goodbye, ending) = limit.words(limits);
        log!("{} {ending}", self.peer);
        self.hang_up(goodbye.as_bytes(), now);
    }

    /// The client closed its side: a last line without "\n" is answered too.
    fn end_of_input(&mut self, now: Instant) {
        self.input_ended = true;
        if self.phase != Phase::Talking {
            return;
        }
        if !self.inbox.is_empty() {
            let last = std::mem::take(&mut self.inbox);
            self.queue(b"OK...", now);
            self.outbox.extend_from_slice(&last);
            self.lines += 1;
        }
        self.line_started = None;
        log!("{} left after {} lines", self.peer, self.lines);
        self.phase = Phase::Finishing;
    }

    fn hang_up(&mut self, last_words: &[u8], now: Instant) {
        self.inbox = Vec::new();
        self.line_started = None;
        self.queue(last_words, now);
        self.phase = Phase::HangingUp {
            until: now + LINGER,
        };
    }

    /// Writes the outbox until it is empty or the kernel's send buffer is full (WouldBlock).
    /// One reply may take several writes: the kernel takes what fits, and says how much.
    fn write_unsent(&mut self, now: Instant) -> io::Result<()> {
        while self.has_unsent() {
            match self.stream.write(&self.outbox[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.sent += n;
                    self.last_written = now;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.outbox.clear();
        self.sent = 0;
        if matches!(self.phase, Phase::HangingUp { .. }) && !self.shut_down_writing {
            // The goodbye is out: the client sees the end of the stream after it.
            self.shut_down_writing = true;
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        Ok(())
    }

    /// Whether the conversation is over and the socket can be closed.
    fn is_done(&self) -> bool {
        match self.phase {
            Phase::Talking => false,
            Phase::Finishing => !self.has_unsent(),
            Phase::HangingUp { .. } => !self.has_unsent() && self.input_ended,
        }
    }

    /// When the loop must look at this client again if nothing happens before.
    fn deadline(&self, limits: Limits) -> Instant {
        match (self.phase, self.line_started) {
            (Phase::HangingUp { until }, _) => until,
            // Replies wait and the client reads none: as long a wait as for silence.
            _ if self.has_unsent() => self.last_written + limits.idle_timeout,
            (_, Some(started)) => started + limits.line_timeout,
            (_, None) => self.last_heard + limits.idle_timeout,
        }
    }
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

/// The limits every client is held to; the loop hands a copy to each client's turn.
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

/// The busy line, sent from the accept loop itself. A few bytes into a new socket never
/// wait, so the blocking helper is fine even in a loop that must never wait.
fn say_busy(client: TcpStream) {
    hang_up(&std::net::TcpStream::from(client), BUSY, Duration::ZERO);
}

/// Ctrl-C (SIGINT) or SIGTERM (`kill`, `docker stop`) would end the process mid-sentence for
/// every client. Instead the first one wakes the loop up to stop; a second quits at once.
fn stop_on_ctrl_c(poll: &Poll) -> Result<(), Box<dyn Error>> {
    // The handler runs on another thread, while the loop may sleep in `poll`. A Waker is a
    // way in: `wake()` makes `poll` return an event for WAKER.
    let waker = Waker::new(poll.registry(), WAKER).step("prepare the shutdown")?;
    let requested = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if requested.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        let _ = waker.wake();
    })
    .step("install the Ctrl-C handler")?;
    Ok(())
}

/// The graceful stop: close the listener first (new clients are refused at once instead of
/// waiting in the backlog), then give live clients up to `grace` to leave on their own.
/// Those still there when the program returns are closed by the system (a FIN each).
fn stop_gracefully(
    mut server: Server,
    events: &mut Events,
    buffer: &mut [u8],
    grace: Duration,
) -> Result<(), Box<dyn Error>> {
    server.listener = None;
    log!(
        "stopping: no new clients; waiting up to {grace:?} for {} live client(s)",
        server.clients.len()
    );
    let deadline = Instant::now() + grace;
    // The loop goes on for the live clients, and wakes up at the deadline if nothing else.
    while !server.clients.is_empty() && Instant::now() < deadline {
        server.turn(events, buffer, Some(deadline))?;
    }
    let (served, turned_away) = (server.served, server.turned_away);
    log!(
        "server stopped: {served} clients served, {turned_away} turned away, {} cut off after the grace period",
        server.clients.len()
    );
    Ok(())
}
