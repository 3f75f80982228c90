//! # server_06: one thread, many clients (going further)
//!
//! One thread serves every client: the sockets are non-blocking, and a readiness loop (`mio`:
//! epoll, kqueue or IOCP) asks which of them are ready and does only the work that will not
//! wait. `run` is the loop, in the steps of the notes: 1 register, 2 poll, 3 match each
//! event's token, 4 read until `WouldBlock` and answer, 5 write what is pending, 6 deal with
//! the deadlines that passed. The limits, their flags and what a client over one is told are
//! server_05's, from `netutil::server` (`--help` lists them).
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
//! listening on 127.0.0.1:8888 (at most 256 clients, idle timeout 60s, line timeout 30s, lines up to 4096 bytes)
//! 127.0.0.1:52814 connected (1 live)
//! 127.0.0.1:52820 connected (2 live)
//! 127.0.0.1:52814 left after 2 lines
//! ^Cstopping: no new clients; waiting up to 5s for 1 live client(s)
//! server stopped: 2 clients served, 0 turned away, 1 cut off after the grace period
//! ```

use std::collections::HashMap;
use std::error::Error;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use netutil::cli::StepExt;
use netutil::os::SHORT_READ_EMPTIES;
use netutil::server::{
    self, AcceptBackoff, BindOptions, Deadlines, LINGER, Limit, LimitArgs, ListenArgs,
};
use netutil::server::{Limits, LineBuffer, Outbox, Received, Seat, Seats, Stop, explain_timeout};
use netutil::{elog, log};

/// server_05's greeting.
const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
/// The listener's token, the Ctrl-C waker's; clients get 2, 3, 4... and a number is never reused.
const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// A client whose unsent replies pass this is not read from until they are sent: a client
/// that sends lines and never reads the replies must not make the server buffer them forever.
const MAX_UNSENT: usize = 64 * 1024;

/// Serve every client from one thread with a readiness loop: greet it, then answer every
/// line with "OK..." and the line, within the limits below.
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
    listener.set_nonblocking(true)?; // accept returns WouldBlock instead of waiting
    let mut listener = Some(TcpListener::from_std(listener));

    // 1. Register: `poll` reports the listener under LISTENER, and Ctrl-C (whose handler runs
    // on another thread) wakes it up under WAKER.
    let mut poll = Poll::new().step("create the readiness poll")?;
    listen(&poll, &mut listener).step("register the listener")?;
    let waker = Waker::new(poll.registry(), WAKER).step("create the Ctrl-C waker")?;
    let wake = move || drop(waker.wake());
    Stop::with_wake(wake).on_ctrl_c().step("catch Ctrl-C")?;

    let mut clients = Clients::new(limits);
    let mut events = Events::with_capacity(1024);
    let mut grace_ends = None; // set when a stop was requested
    while grace_ends.is_none_or(|end| !clients.by_token.is_empty() && Instant::now() < end) {
        // 2. Poll: sleep until a socket is ready, or until the nearest deadline.
        let timeout = clients.deadlines.timeout(Instant::now());
        match poll.poll(&mut events, timeout) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue, // a signal
            waited => waited.step("wait for events")?,
        }
        let now = Instant::now();
        // 3. Each event names a token: the listener, the waker, or a client.
        for event in events.iter() {
            match event.token() {
                LISTENER => clients.accept_all(&mut listener, poll.registry(), now)?,
                // Ctrl-C: close the listener, so that new clients are refused at once, and
                // give the live ones the grace period (a deadline too).
                WAKER => {
                    listener = None;
                    clients.seats.announce_stop(limits.grace);
                    grace_ends = Some(now + limits.grace);
                    clients.deadlines.set(WAKER, now + limits.grace);
                }
                // 4 and 5. A client is ready: read and answer, write what is pending.
                token => {
                    if let Some(client) = clients.by_token.get_mut(&token) {
                        let closing = event.is_read_closed() || event.is_error();
                        let turn = client.take_turn(closing, now);
                        clients.settle(token, turn);
                    }
                }
            }
        }
        // 6. Deadlines that passed: a client over a limit, the end of an accept pause.
        while let Some(token) = clients.deadlines.pop_expired(now) {
            match (token, clients.by_token.get_mut(&token)) {
                (LISTENER, _) => listen(&poll, &mut listener)?,
                (_, Some(client)) => {
                    let turn = client.deadline_passed(now);
                    clients.settle(token, turn);
                }
                _ => {} // the grace period's end: the `while` above sees it
            }
        }
    }
    clients.seats.report_stopped();
    Ok(())
}

/// One client: what server_05's thread kept on its stack, kept here between its turns.
struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    /// What the client sent, cut into lines within the limits.
    lines: LineBuffer,
    /// Replies the kernel has not taken yet.
    outbox: Outbox,
    /// The client sent its last byte (end of stream).
    read_closed: bool,
    /// We said goodbye (a limit): send it, half-close, read and throw away what the client
    /// still sends, and close at this time at the latest. server_05's `hang_up`, in steps.
    goodbye_until: Option<Instant>,
    _seat: Seat,
}

impl Client {
    /// Steps 4 and 5: read until the kernel has nothing more and answer every whole line, then
    /// write. `closing`: the event says the end of the stream (or an error) came too.
    fn take_turn(&mut self, closing: bool, now: Instant) -> io::Result<()> {
        let was_paused = self.outbox.is_full();
        self.write_pending(now)?;
        if was_paused && !self.outbox.is_full() {
            // The rest of the line waited in the kernel because we stopped reading: that time
            // was ours, not the client's.
            self.lines.restart_line_clock(now);
        }
        loop {
            self.answer_lines(now);
            // Too many replies unsent: send them, and stop reading until the kernel takes
            // them (a "writable" event brings us back here).
            if self.outbox.is_full() {
                self.write_pending(now)?;
                if self.outbox.is_full() {
                    return Ok(());
                }
            }
            if self.read_closed {
                break;
            }
            if self.goodbye_until.is_some() {
                self.lines.discard(); // after the goodbye, what the client sends is thrown away
            }
            match self.lines.read_from(&mut self.stream, now) {
                Ok(Received { bytes: 0, .. }) => self.end_of_stream(now),
                // A read that got less than it asked for took all the kernel had: the next
                // bytes come with an event of their own (not on Windows: see netutil::os), and
                // so does the end of the stream, unless it came with this event.
                Ok(Received { bytes, room }) if bytes < room && !closing && SHORT_READ_EMPTIES => {
                    self.answer_lines(now);
                    break;
                }
                Ok(_) => {}
                // "Nothing more for now". Never wait here: other clients are waiting for us.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.write_pending(now)
    }

    /// Queues an "OK..." reply for every whole line read, while the outbox has room.
    fn answer_lines(&mut self, now: Instant) {
        while self.goodbye_until.is_none() && !self.outbox.is_full() {
            match self.lines.next_line() {
                Some(Ok(line)) => self.outbox.push(&[b"OK...", line], now),
                Some(Err(limit)) => self.over(limit, now),
                None => return,
            }
        }
    }

    /// The client closed its side: a last line without "\n" is answered too.
    fn end_of_stream(&mut self, now: Instant) {
        self.read_closed = true;
        if self.goodbye_until.is_none() {
            if let Some(last) = self.lines.last_line() {
                self.outbox.push(&[b"OK...", last], now);
            }
            log!("{} left after {} lines", self.peer, self.lines.lines());
        }
    }

    /// The client went over a limit: say why in one line, and close so that the line arrives.
    fn over(&mut self, limit: Limit, now: Instant) {
        let (goodbye, ending) = limit.words(self.limits);
        log!("{} {ending}", self.peer);
        self.outbox.push(&[goodbye.as_bytes()], now);
        self.goodbye_until = Some(now + LINGER);
    }

    /// Step 6 for one client: its deadline passed.
    fn deadline_passed(&mut self, now: Instant) -> io::Result<()> {
        if self.goodbye_until.is_some() {
            return Err(io::ErrorKind::TimedOut.into()); // the goodbye had its time to be read
        }
        if !self.outbox.is_empty() {
            // Replies wait and the client reads none: it cannot even read a goodbye.
            let timeout = io::ErrorKind::TimedOut.into();
            return Err(explain_timeout(timeout, self.limits.idle_timeout));
        }
        self.over(self.lines.deadline(now).1, now);
        self.write_pending(now)
    }

    /// Step 5: writes what is pending; once the goodbye is out, the client sees the end of
    /// the stream after it.
    fn write_pending(&mut self, now: Instant) -> io::Result<()> {
        let sent = self.outbox.write_to(&mut self.stream, now)?;
        if sent > 0 && self.outbox.is_empty() && self.goodbye_until.is_some() {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        Ok(())
    }

    /// When the loop must look at this client again if nothing happens before.
    fn deadline(&self) -> Instant {
        match self.goodbye_until {
            Some(until) => until,
            // Replies wait and the client reads none: as long a wait as for silence.
            None if !self.outbox.is_empty() => {
                self.outbox.waiting_since() + self.limits.idle_timeout
            }
            None => self.lines.deadline(Instant::now()).0,
        }
    }
}

/// Every client by its token, and every token's next deadline. One thread owns it all, so
/// nothing here needs a lock or an atomic: what server_05's threads had to pay for.
struct Clients {
    by_token: HashMap<Token, Client>,
    deadlines: Deadlines<Token>,
    /// Clients get 2, 3, 4... (0 and 1 are the listener's and the waker's), never reused.
    next_token: usize,
    seats: Seats,
    backoff: AcceptBackoff,
    limits: Limits,
}

impl Clients {
    fn new(limits: Limits) -> Clients {
        let (by_token, deadlines) = (HashMap::new(), Deadlines::new());
        let (seats, backoff) = (Seats::new(limits.max_clients), AcceptBackoff::new());
        Clients {
            by_token,
            deadlines,
            next_token: 2,
            seats,
            backoff,
            limits,
        }
    }

    /// Accepts every queued client: one event may stand for many, and none is reported twice.
    fn accept_all(
        &mut self,
        listener: &mut Option<TcpListener>,
        registry: &Registry,
        now: Instant,
    ) -> io::Result<()> {
        while let Some(accepting) = listener {
            let (mut stream, peer) = match accepting.accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // Out of file descriptors: stop listening for a pause (a deadline, so the
                // other clients are served meanwhile), or the loop would spin printing errors.
                Err(error) => {
                    let pause = self.backoff.after_error(&error);
                    elog!("could not accept a client: {error}; retrying in {pause:?}");
                    self.deadlines.set(LISTENER, now + pause);
                    return registry.deregister(accepting);
                }
            };
            self.backoff.reset();
            let Some(seat) = self.seats.take_or_turn_away(&stream, peer) else {
                continue;
            };
            // Readable and writable from the start: events are edges (new bytes, new room to
            // write), so a socket that stays writable does not wake the loop again.
            let token = Token(self.next_token);
            self.next_token += 1;
            let interest = Interest::READABLE | Interest::WRITABLE;
            if let Err(error) = registry.register(&mut stream, token, interest) {
                elog!("could not register {peer}: {error}");
                continue;
            }
            log!("{peer} connected ({} live)", self.seats.live());
            let mut outbox = Outbox::new(MAX_UNSENT, now);
            outbox.push(&[WELCOME], now);
            let lines = LineBuffer::new(self.limits, now);
            let (limits, read_closed, goodbye_until, _seat) = (self.limits, false, None, seat);
            let mut client = Client {
                stream,
                peer,
                limits,
                lines,
                outbox,
                read_closed,
                goodbye_until,
                _seat,
            };
            let greeted = client.write_pending(now);
            self.by_token.insert(token, client);
            self.settle(token, greeted);
        }
        Ok(())
    }

    /// After a client's turn: forget it if it is done (dropping its stream closes the socket,
    /// and the kernel takes a closed socket out of the poll by itself), otherwise file its
    /// next deadline.
    fn settle(&mut self, token: Token, turn: io::Result<()>) {
        let Some(client) = self.by_token.get_mut(&token) else {
            return;
        };
        match turn {
            // Once we said goodbye, an error is just the end arriving early.
            Err(error) if client.goodbye_until.is_none() => {
                log!("{} dropped: {error}", client.peer)
            }
            Ok(()) if !(client.read_closed && client.outbox.is_empty()) => {
                return self.deadlines.set(token, client.deadline());
            }
            _ => {} // done: the client left, and every reply went out
        }
        self.by_token.remove(&token);
        self.deadlines.remove(token);
    }
}

/// Registers the listener: `poll` reports it readable when clients wait in its backlog,
/// including those that queued up while it was not registered.
fn listen(poll: &Poll, listener: &mut Option<TcpListener>) -> io::Result<()> {
    match listener {
        Some(listener) => poll
            .registry()
            .register(listener, LISTENER, Interest::READABLE),
        None => Ok(()),
    }
}
