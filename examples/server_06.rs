//! # server_06: one thread, many clients (going further)
//!
//! One thread serves every client: non-blocking sockets and a readiness loop (`mio`: epoll,
//! kqueue or IOCP) that asks which sockets are ready and does only the work that will not
//! wait. `run` is the loop, numbered as in the notes: 1 register, 2 poll, 3 match the token,
//! 4 read until `WouldBlock` and answer, 5 write what is pending, 6 the deadlines. The limits
//! and their flags are server_05's, from `netutil::server` (`--help` lists them).
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
use netutil::server::{self, AcceptBackoff, BindOptions, Deadlines, LINGER, Limit, LimitArgs};
use netutil::server::{Limits, LineBuffer, ListenArgs, Outbox, Received, Seat, Seats, Stop};
use netutil::{elog, log};

const WELCOME: &[u8] = b"Welcome to the server. Type something and hit enter\n";
/// The listener's token, the Ctrl-C waker's; clients get 2, 3, 4... and a number is never reused.
const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Past this many unsent reply bytes a client is not read from: it cannot make us buffer forever.
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
    let mut listener = TcpListener::from_std(listener);

    // 1. Register: `poll` reports the listener under LISTENER, and Ctrl-C (whose handler runs
    // on another thread) wakes it up under WAKER.
    let mut poll = Poll::new().step("create the readiness poll")?;
    let interest = Interest::READABLE;
    poll.registry()
        .register(&mut listener, LISTENER, interest)?;
    let mut listener = Some(listener); // None once a stop was requested
    let waker = Waker::new(poll.registry(), WAKER).step("create the Ctrl-C waker")?;
    let wake = move || drop(waker.wake());
    Stop::with_wake(wake).on_ctrl_c().step("catch Ctrl-C")?;

    let mut clients = Clients::new(limits, poll.registry().try_clone()?);
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
                LISTENER => clients.accept_all(&mut listener, now),
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
                (LISTENER, _) => clients.accept_all(&mut listener, now),
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

/// One client: what server_05's thread kept on its stack, kept between its turns.
struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    lines: LineBuffer,
    outbox: Outbox,
    read_closed: bool, // the client sent its last byte (end of stream)
    /// After a goodbye (a limit): when to close at the latest. server_05's `hang_up`, in steps.
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
            // Back from a pause: the time the line waited in the kernel was ours, not the client's.
            self.lines.restart_line_clock(now);
        }
        loop {
            self.answer_lines(now);
            // Too many replies unsent: stop reading until a "writable" event (backpressure).
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
                // The client closed its side: the lines still here (a last one without "\n"
                // too) are answered at the top of the loop, as the outbox has room.
                Ok(Received { bytes: 0, .. }) => self.read_closed = true,
                // A short read took all the kernel had: the next bytes, or the end of the stream
                // if it did not come with this event, come with a new event (see netutil::os).
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
            let idle = self.limits.idle_timeout;
            return Err(io::Error::other(format!("timed out after {idle:?}")));
        }
        self.over(self.lines.deadline(now).1, now);
        self.write_pending(now)
    }

    /// Step 5: writes what is pending; after the goodbye, the end of the stream.
    fn write_pending(&mut self, now: Instant) -> io::Result<()> {
        let sent = self.outbox.write_to(&mut self.stream, now)?;
        if sent > 0 && self.outbox.is_empty() && self.goodbye_until.is_some() {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        Ok(())
    }

    /// Whether the client left and every line it sent got its reply out.
    fn is_done(&self) -> bool {
        self.read_closed && self.lines.is_empty() && self.outbox.is_empty()
    }

    /// When the loop must look at this client again if nothing happens before.
    fn deadline(&self) -> Instant {
        let idle = self.limits.idle_timeout;
        match self.goodbye_until {
            Some(until) => until,
            // Replies wait and the client reads none: as long a wait as for silence.
            None if !self.outbox.is_empty() => self.outbox.waiting_since() + idle,
            None => self.lines.deadline(Instant::now()).0,
        }
    }
}

/// Every client by its token, and every token's next deadline. One thread owns it all, so
/// nothing here needs a lock or an atomic: what server_05's threads had to pay for.
struct Clients {
    by_token: HashMap<Token, Client>,
    deadlines: Deadlines<Token>,
    next_token: usize,
    seats: Seats,
    backoff: AcceptBackoff,
    limits: Limits,
    registry: Registry,
}

impl Clients {
    fn new(limits: Limits, registry: Registry) -> Clients {
        Clients {
            by_token: HashMap::new(),
            deadlines: Deadlines::new(),
            next_token: 2,
            seats: Seats::new(limits.max_clients),
            backoff: AcceptBackoff::new(),
            limits,
            registry,
        }
    }

    /// Accepts every queued client: one event may stand for many, and none is reported twice.
    fn accept_all(&mut self, listener: &mut Option<TcpListener>, now: Instant) {
        while let Some(accepting) = listener {
            if self
                .deadlines
                .get(LISTENER)
                .is_some_and(|until| now < until)
            {
                return; // accepting is paused
            }
            let (mut stream, peer) = match accepting.accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                // Out of file descriptors: pause accepting (a deadline, so the other clients
                // are served meanwhile), or the loop would spin printing errors.
                Err(error) => {
                    let pause = self.backoff.after_error(&error);
                    elog!("could not accept a client: {error}; retrying in {pause:?}");
                    return self.deadlines.set(LISTENER, now + pause);
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
            if let Err(error) = self.registry.register(&mut stream, token, interest) {
                elog!("could not register {peer}: {error}");
                continue;
            }
            log!("{peer} connected ({} live)", self.seats.live());
            let mut outbox = Outbox::new(MAX_UNSENT, now);
            outbox.push(&[WELCOME], now);
            let mut client = Client {
                stream,
                peer,
                limits: self.limits,
                lines: LineBuffer::new(self.limits, now),
                outbox,
                read_closed: false,
                goodbye_until: None,
                _seat: seat,
            };
            let greeted = client.write_pending(now);
            self.by_token.insert(token, client);
            self.settle(token, greeted);
        }
    }

    /// After a client's turn: forget it if it is done (closing a socket takes it out of the
    /// poll), otherwise file its next deadline.
    fn settle(&mut self, token: Token, turn: io::Result<()>) {
        let Some(client) = self.by_token.get_mut(&token) else {
            return;
        };
        match turn {
            // Once we said goodbye, an error is just the end arriving early.
            Err(error) if client.goodbye_until.is_none() => {
                log!("{} dropped: {error}", client.peer)
            }
            Ok(()) if !client.is_done() => return self.deadlines.set(token, client.deadline()),
            Ok(()) if client.goodbye_until.is_none() => {
                log!("{} left after {} lines", client.peer, client.lines.lines());
            }
            _ => {}
        }
        self.by_token.remove(&token);
        self.deadlines.remove(token);
    }
}
