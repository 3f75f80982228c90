//! Listening sockets and a bounded thread-per-connection server, with graceful shutdown.
//!
//! The server lessons write these steps out one at a time (`server_01` … `server_05`); this
//! module is the same code, tested, for homework and for the kit's own `echo_server`:
//!
//! - [`bind`] opens a listener with `socket2`: `SO_REUSEADDR`, the backlog, IPv4 or IPv6 and,
//!   on request, one IPv6 socket that also takes IPv4 clients.
//! - [`Server`] accepts connections and runs a handler on a thread per connection. It keeps
//!   the limits a server on a real network needs: at most N live connections (client N+1 gets
//!   a one-line "busy" reply and is closed), an idle timeout per connection, a minimum
//!   transfer rate (a client trickling a byte now and then cannot hold a seat forever), a
//!   pause after `accept` fails for lack of resources (too many open files must not spin the
//!   CPU), and a graceful shutdown that stops accepting and lets live clients finish, up to a
//!   grace period.
//! - [`Connection`] is what a handler reads and writes: the client's stream with those limits.
//! - [`ShutdownHandle`] stops it from another thread: a Ctrl-C handler or a test.
//! - Small pieces the lessons share: [`AcceptBackoff`] (the pause after a failed `accept`),
//!   [`hang_up`] (a last line that survives the close), [`is_timeout`] and
//!   [`explain_timeout`] (timeouts that read as timeouts).
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//! use netutil::server::{bind, BindOptions, Server};
//!
//! let listener = bind("127.0.0.1:0".parse()?, &BindOptions::default())?;
//! let server = Server::new(listener)?
//!     .max_connections(16)
//!     .idle_timeout(Some(Duration::from_secs(5)));
//! let addr = server.local_addr()?;
//! let shutdown = server.shutdown_handle();
//! // Serve in the background: a handler that answers one line with its length.
//! let serving = std::thread::spawn(move || {
//!     server.serve(|stream, _peer| {
//!         let mut line = String::new();
//!         BufReader::new(stream).read_line(&mut line)?;
//!         let mut writer = stream;
//!         writer.write_all(format!("{}\n", line.len()).as_bytes())
//!     })
//! });
//!
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"hello\n")?;
//! let mut reply = String::new();
//! BufReader::new(&client).read_line(&mut reply)?;
//! assert_eq!(reply, "6\n");
//!
//! shutdown.request();
//! let summary = serving.join().expect("the server thread does not panic");
//! assert_eq!(summary.accepted, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bind;
mod shutdown;

pub use bind::{BindError, BindOptions, bind};
pub use shutdown::ShutdownHandle;

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Whether `error` is a read or write timeout set with `set_read_timeout` /
/// `set_write_timeout`. Unix reports those as `WouldBlock`, Windows as `TimedOut`.
pub fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The same error, reworded when it is a timeout: `WouldBlock` ("Resource temporarily
/// unavailable" on Unix) tells a student nothing, "timed out after 10s" does.
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use netutil::server::explain_timeout;
///
/// let error = explain_timeout(io::ErrorKind::WouldBlock.into(), Duration::from_secs(10));
/// assert_eq!(error.kind(), io::ErrorKind::TimedOut);
/// assert_eq!(error.to_string(), "timed out after 10s");
/// let reset = explain_timeout(io::ErrorKind::ConnectionReset.into(), Duration::from_secs(10));
/// assert_eq!(reset.kind(), io::ErrorKind::ConnectionReset);
/// ```
pub fn explain_timeout(error: io::Error, waited: Duration) -> io::Error {
    if is_timeout(&error) {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("timed out after {waited:?}"),
        )
    } else {
        error
    }
}

/// How long an accept loop pauses after `accept` fails, so an error that repeats (no file
/// descriptors left: `EMFILE`, `ENFILE`; no memory: `ENOBUFS`, `ENOMEM`) does not turn the
/// loop into a busy spin that prints errors at full speed.
///
/// Errors that belong to one connection (the client reset it before we accepted it) need no
/// pause. Any other error doubles the pause, from 5 ms up to one second; a success resets it.
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use netutil::server::AcceptBackoff;
///
/// let mut backoff = AcceptBackoff::new();
/// let too_many_files = io::Error::from_raw_os_error(24); // EMFILE on Linux
/// assert_eq!(backoff.after_error(&too_many_files), Duration::from_millis(5));
/// assert_eq!(backoff.after_error(&too_many_files), Duration::from_millis(10));
/// let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
/// assert_eq!(backoff.after_error(&aborted), Duration::ZERO);
/// backoff.reset();
/// assert_eq!(backoff.after_error(&too_many_files), Duration::from_millis(5));
/// ```
#[derive(Debug, Clone, Default)]
pub struct AcceptBackoff {
    delay: Duration,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    /// No pause yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pause to take (sleep) before calling `accept` again after `error`.
    pub fn after_error(&mut self, error: &io::Error) -> Duration {
        use io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
        if matches!(
            error.kind(),
            ConnectionAborted | ConnectionReset | Interrupted
        ) {
            return Duration::ZERO;
        }
        self.delay = (self.delay * 2).clamp(Self::FIRST, Self::MAX);
        self.delay
    }

    /// `accept` worked: the next failure starts from the shortest pause again.
    pub fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }
}

/// Sends `last_words` and closes the connection so that the client reads them.
///
/// Closing a socket whose receive buffer still holds unread bytes makes the kernel send a
/// reset (RST) instead of a normal close, and a reset can destroy the last reply before the
/// client reads it. So this sends the words, half-closes (the client sees end of stream after
/// them), and reads and discards what the client still sends for up to `linger` (or, with
/// `Duration::ZERO`, only what has arrived already) before the socket is closed. Errors are
/// ignored: the connection is ending either way.
pub fn hang_up(stream: &TcpStream, last_words: &[u8], linger: Duration) {
    let mut writer = stream;
    if writer.write_all(last_words).is_err() || stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + linger;
    let mut sink = [0u8; 16 * 1024];
    let mut reader = stream;
    if linger.is_zero() && stream.set_nonblocking(true).is_err() {
        return;
    }
    loop {
        if !linger.is_zero() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                return;
            }
        }
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Something a [`Server`] wants its owner to know about (see [`Server::on_event`]).
/// `Display` writes it as one line.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A client connected while the server was full: it got the busy message and was closed.
    Rejected {
        /// The client.
        peer: SocketAddr,
    },
    /// `accept` failed; the server pauses for `retry_in` and tries again.
    AcceptFailed {
        /// What the operating system said.
        error: &'a io::Error,
        /// The pause before the next `accept` (see [`AcceptBackoff`]).
        retry_in: Duration,
    },
    /// A connection ended with an error: the handler returned it, or its thread could not start.
    ConnectionFailed {
        /// The client.
        peer: SocketAddr,
        /// The error.
        error: &'a io::Error,
    },
    /// A shutdown was requested: the server stopped accepting and waits for live connections.
    Draining {
        /// Connections still open.
        live: usize,
        /// How long they may take before they are cut off.
        grace: Duration,
    },
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Rejected { peer } => write!(f, "{peer} turned away: too many clients"),
            Event::AcceptFailed { error, retry_in } => {
                write!(f, "accept failed ({error}); retrying in {retry_in:?}")
            }
            Event::ConnectionFailed { peer, error } if TooSlow::find(error).is_some() => {
                write!(f, "{peer} dropped: {error}")
            }
            Event::ConnectionFailed { peer, error } if StoppedReading::find(error).is_some() => {
                write!(f, "{peer} dropped: {error}")
            }
            Event::ConnectionFailed { peer, error } if is_timeout(error) => {
                write!(f, "{peer} dropped: idle for too long")
            }
            Event::ConnectionFailed { peer, error } => write!(f, "{peer} failed: {error}"),
            Event::Draining { live, grace } => write!(
                f,
                "stopped accepting; waiting up to {grace:?} for {live} live connection(s)"
            ),
        }
    }
}

/// What [`Server::serve`] did, once it has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Connections handed to the handler.
    pub accepted: u64,
    /// Connections turned away because the server was full.
    pub rejected: u64,
    /// Connections still open when the grace period ended, which the server then closed.
    pub cut_off: usize,
}

type EventSink = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// A thread-per-connection TCP server with a connection cap, an idle timeout and a graceful
/// shutdown. Build it with [`Server::new`] and the setters, then call [`Server::serve`].
pub struct Server {
    listener: TcpListener,
    shutdown: ShutdownHandle,
    max_connections: usize,
    limits: Limits,
    grace_period: Duration,
    busy_message: Vec<u8>,
    events: EventSink,
    /// The stack size of connection threads; only tests set it, to make spawning fail.
    #[cfg(test)]
    thread_stack: Option<usize>,
}

impl Server {
    /// A server for `listener` with the defaults: 256 connections, 60 s idle timeout, a
    /// minimum rate of 64 bytes a minute ([`MinRate::default`]), 5 s grace period, and the
    /// busy message `Server busy: too many clients, try again later`.
    pub fn new(listener: TcpListener) -> io::Result<Self> {
        Ok(Server {
            shutdown: ShutdownHandle::new(&listener)?,
            listener,
            max_connections: 256,
            limits: Limits {
                idle_timeout: Some(Duration::from_secs(60)),
                min_rate: Some(MinRate::default()),
            },
            grace_period: Duration::from_secs(5),
            busy_message: b"Server busy: too many clients, try again later\n".to_vec(),
            events: Arc::new(|_: &Event<'_>| {}),
            #[cfg(test)]
            thread_stack: None,
        })
    }

    /// At most `max` connections at once; client `max + 1` gets the busy message.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// How long a connection may stay silent (or not read what it is sent) before its reads
    /// and writes fail with a timeout (see [`is_timeout`]). `None` or zero: no limit.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.idle_timeout = timeout.filter(|timeout| !timeout.is_zero());
        self
    }

    /// The least a connection must move (bytes received plus bytes sent) in each window of
    /// time, or it is cut off as too slow: see [`MinRate`]. `None`: no minimum.
    pub fn min_rate(mut self, rate: Option<MinRate>) -> Self {
        self.limits.min_rate = rate.filter(|rate| rate.bytes > 0 && !rate.window.is_zero());
        self
    }

    /// How long live connections may take to finish after a shutdown request.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }

    /// The bytes a client gets when the server is full, just before it is closed.
    pub fn busy_message(mut self, message: impl Into<Vec<u8>>) -> Self {
        self.busy_message = message.into();
        self
    }

    /// Calls `sink` for each [`Event`], from the accepting thread or a connection's thread.
    pub fn on_event(mut self, sink: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.events = Arc::new(sink);
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops [`Server::serve`] from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Accepts connections and runs `handler(stream, peer)` for each on its own thread, until
    /// a shutdown is requested; then stops accepting, waits for live connections up to the
    /// grace period, closes the ones left, and returns what it did.
    ///
    /// The handler reads and writes through a [`Connection`] (`&Connection` implements
    /// `Read` and `Write`), which applies the idle timeout and the minimum rate. The server
    /// keeps the stream so that it can close it when a shutdown's grace period ends; the
    /// connection closes when the handler returns. An error the handler returns is reported
    /// as [`Event::ConnectionFailed`]; it never stops the server. A client cut off as too
    /// slow is told so in one line first.
    pub fn serve<H>(self, handler: H) -> Summary
    where
        H: Fn(&Connection, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        let live = Arc::new(Connections::default());
        let mut summary = Summary::default();
        let mut backoff = AcceptBackoff::new();
        loop {
            let accepted = self.listener.accept();
            if self.shutdown.is_requested() {
                break;
            }
            let (stream, peer) = match accepted {
                Ok(pair) => {
                    backoff.reset();
                    pair
                }
                Err(error) => {
                    let retry_in = backoff.after_error(&error);
                    (self.events)(&Event::AcceptFailed {
                        error: &error,
                        retry_in,
                    });
                    thread::sleep(retry_in);
                    continue;
                }
            };
            let slot = match Connections::enter(&live, stream, self.max_connections) {
                Ok(slot) => slot,
                Err(stream) => {
                    summary.rejected += 1;
                    (self.events)(&Event::Rejected { peer });
                    hang_up(&stream, &self.busy_message, Duration::ZERO);
                    continue;
                }
            };
            summary.accepted += 1;
            let stream = slot.stream.clone();
            // The idle timeout is on the socket from the start, so that it holds even for
            // reads and writes made on `Connection::stream` directly.
            let idle = self.limits.idle_timeout;
            let setup = stream
                .set_read_timeout(idle)
                .and_then(|()| stream.set_write_timeout(idle));
            let connection = Connection::new(slot.stream.clone(), self.limits);
            let (handler, events) = (handler.clone(), self.events.clone());
            let builder = thread::Builder::new().name(format!("client {peer}"));
            #[cfg(test)]
            let builder = match self.thread_stack {
                Some(size) => builder.stack_size(size),
                None => builder,
            };
            let spawned = builder.spawn(move || {
                // Owned by the thread: the seat is given back when the thread ends.
                let _slot = slot;
                if let Err(error) = setup.and_then(|()| handler(&connection, peer)) {
                    if let Some(too_slow) = TooSlow::find(&error) {
                        let words = format!(
                            "Too slow: {} bytes in {:?}, fewer than the {} required. Bye\n",
                            too_slow.moved, too_slow.min_rate.window, too_slow.min_rate.bytes
                        );
                        hang_up(connection.stream(), words.as_bytes(), Duration::ZERO);
                    }
                    events(&Event::ConnectionFailed {
                        peer,
                        error: &error,
                    });
                }
            });
            if let Err(error) = spawned {
                // No thread (a limit on processes, or no memory): for the client this is the
                // same as a full server, so it gets the same line instead of a silent close.
                hang_up(&stream, &self.busy_message, Duration::ZERO);
                (self.events)(&Event::ConnectionFailed {
                    peer,
                    error: &error,
                });
            }
        }
        // Closing the listener makes new clients see "connection refused" at once, instead of
        // waiting in the backlog of a server that will never accept them.
        drop(self.listener);
        let left = live.count();
        if left > 0 {
            (self.events)(&Event::Draining {
                live: left,
                grace: self.grace_period,
            });
        }
        summary.cut_off = live.wait_until_empty(self.grace_period);
        if summary.cut_off > 0 {
            // Shutting a socket down wakes its handler's blocked read with end of stream.
            live.close_all();
            live.wait_until_empty(Duration::from_secs(1));
        }
        summary
    }
}

/// The limits a [`Server`] puts on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    idle_timeout: Option<Duration>,
    min_rate: Option<MinRate>,
}

/// The least a connection must move to keep its seat: `bytes` (received plus sent) in every
/// `window` of time, counted from when it connected.
///
/// Why a rate: an idle timeout is a limit per read, so a client that sends one byte every few
/// seconds is never idle, and a few hundred of them hold every seat of a server forever (the
/// "slowloris" attack). With a minimum rate such a client is cut off after one window, and
/// its seat is free again.
///
/// The default, 64 bytes per 60 s window, is low on purpose: a person typing into `nc` sends
/// a whole line at a time, and a couple of short lines a minute (with their echo, for an echo
/// server) already make 64 bytes. Someone who stops typing altogether is the idle timeout's
/// business, not this one's. The byte trickled every 4 s of a slowloris client makes 15.
/// A transfer that is merely slow (a phone on a bad network) moves far more than 64 bytes a
/// minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRate {
    /// Bytes that must be moved in each window.
    pub bytes: u64,
    /// The length of a window.
    pub window: Duration,
}

impl Default for MinRate {
    fn default() -> Self {
        MinRate {
            bytes: 64,
            window: Duration::from_secs(60),
        }
    }
}

/// Why a [`Connection`] was cut off: it moved fewer bytes in a window than [`MinRate`] asks.
/// It travels inside an `io::Error` (kind `TimedOut`); [`TooSlow::find`] gets it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSlow {
    /// The rate the connection did not keep.
    pub min_rate: MinRate,
    /// The bytes it moved in the window.
    pub moved: u64,
}

impl TooSlow {
    /// The `TooSlow` inside `error`, if that is what it is.
    pub fn find(error: &io::Error) -> Option<&TooSlow> {
        error.get_ref()?.downcast_ref()
    }
}

impl fmt::Display for TooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "too slow: {} bytes in {:?}, fewer than the {} required",
            self.moved, self.min_rate.window, self.min_rate.bytes
        )
    }
}

impl Error for TooSlow {}

/// Why a write of a [`Connection`] failed: the client did not read what it was sent for the
/// whole idle timeout. It travels inside an `io::Error` (kind `TimedOut`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoppedReading {
    /// The idle timeout that ran out.
    pub after: Duration,
}

impl StoppedReading {
    /// The `StoppedReading` inside `error`, if that is what it is.
    pub fn find(error: &io::Error) -> Option<&StoppedReading> {
        error.get_ref()?.downcast_ref()
    }
}

impl fmt::Display for StoppedReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopped reading for {:?}", self.after)
    }
}

impl Error for StoppedReading {}

/// A client's connection as a [`Server`] hands it to the handler. Read and write through
/// it (`&Connection` implements [`Read`] and [`Write`]): each read or write fails with a
/// timeout (see [`is_timeout`]) after the idle timeout of silence, and with [`TooSlow`] when a
/// window ends with fewer bytes moved than the minimum rate.
///
/// [`Connection::stream`] gives the socket itself, for its addresses or a `shutdown`; bytes
/// read or written through it directly are not counted (the idle timeout still applies).
#[derive(Debug)]
pub struct Connection {
    stream: Arc<TcpStream>,
    limits: Limits,
    state: Mutex<RateState>,
}

#[derive(Debug)]
struct RateState {
    window_start: Instant,
    moved: u64,
    /// The timeouts the socket has now: setting one is a system call, made only on a change.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Read,
    Write,
}

impl Connection {
    fn new(stream: Arc<TcpStream>, limits: Limits) -> Self {
        Connection {
            stream,
            limits,
            state: Mutex::new(RateState {
                window_start: Instant::now(),
                moved: 0,
                // What `Server::serve` set before handing the connection over.
                read_timeout: limits.idle_timeout,
                write_timeout: limits.idle_timeout,
            }),
        }
    }

    /// The socket, for its addresses or a `shutdown`.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    fn state(&self) -> MutexGuard<'_, RateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the socket's timeout for the next `direction` call, after checking the rate: the
    /// idle timeout still left for this call, or the end of the current window if sooner
    /// (the rate is checked again when it ends).
    fn prepare(&self, direction: Direction, idle_end: Option<Instant>) -> io::Result<()> {
        let now = Instant::now();
        let mut state = self.state();
        let mut timeout = idle_end.map(|end| end.saturating_duration_since(now));
        if let Some(rate) = self.limits.min_rate {
            let window_end = state.window_start + rate.window;
            if now >= window_end {
                if state.moved < rate.bytes {
                    let too_slow = TooSlow {
                        min_rate: rate,
                        moved: state.moved,
                    };
                    return Err(io::Error::new(io::ErrorKind::TimedOut, too_slow));
                }
                state.window_start = now;
                state.moved = 0;
            }
            let window_left = (state.window_start + rate.window) - now;
            timeout = Some(timeout.map_or(window_left, |idle| idle.min(window_left)));
        }
        // A zero timeout means "none" to the socket calls: the smallest real one instead.
        let timeout = timeout.map(|timeout| timeout.max(Duration::from_millis(1)));
        match direction {
            Direction::Read if state.read_timeout != timeout => {
                self.stream.set_read_timeout(timeout)?;
                state.read_timeout = timeout;
            }
            Direction::Write if state.write_timeout != timeout => {
                self.stream.set_write_timeout(timeout)?;
                state.write_timeout = timeout;
            }
            _ => {}
        }
        Ok(())
    }

    /// Runs one read or write under the limits, counting the bytes it moved.
    fn transfer(
        &self,
        direction: Direction,
        mut call: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let idle_end = self.limits.idle_timeout.map(|idle| Instant::now() + idle);
        loop {
            self.prepare(direction, idle_end)?;
            match call(&self.stream) {
                Ok(moved) => {
                    self.state().moved += moved as u64;
                    return Ok(moved);
                }
                Err(error) if is_timeout(&error) => {
                    let idle_over = idle_end.is_some_and(|end| Instant::now() >= end);
                    match (idle_over, direction, self.limits.idle_timeout) {
                        (true, Direction::Write, Some(after)) => {
                            let stopped = StoppedReading { after };
                            return Err(io::Error::new(io::ErrorKind::TimedOut, stopped));
                        }
                        (true, _, _) => return Err(error),
                        // The window ended first: check the rate, and go on waiting.
                        (false, _, _) => {}
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }
}

impl Read for &Connection {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.transfer(Direction::Read, |mut stream| stream.read(buffer))
    }
}

impl Write for &Connection {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.transfer(Direction::Write, |mut stream| stream.write(bytes))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The live connections of a [`Server`]: each stream (shared with its thread, so a shutdown
/// can close it without another file descriptor), and a condition variable that tells when
/// one leaves.
#[derive(Default)]
struct Connections {
    streams: Mutex<Registry>,
    left: Condvar,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Arc<TcpStream>>,
}

/// A place among the live connections, given back when the connection's thread ends.
struct Slot {
    live: Arc<Connections>,
    id: u64,
    stream: Arc<TcpStream>,
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A handler that panicked cannot leave the registry half-updated: every change is one
        // insert or remove. So a poisoned lock is still good to use.
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for `stream`, or the stream back when `max` connections are live already.
    fn enter(live: &Arc<Self>, stream: TcpStream, max: usize) -> Result<Slot, TcpStream> {
        let mut registry = live.lock();
        if registry.open.len() >= max {
            return Err(stream);
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let stream = Arc::new(stream);
        registry.open.insert(id, stream.clone());
        Ok(Slot {
            live: live.clone(),
            id,
            stream,
        })
    }

    fn count(&self) -> usize {
        self.lock().open.len()
    }

    /// Waits up to `timeout` for every connection to end; returns how many are still open.
    fn wait_until_empty(&self, timeout: Duration) -> usize {
        let registry = self.lock();
        let (registry, _) = self
            .left
            .wait_timeout_while(registry, timeout, |registry| !registry.open.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        registry.open.len()
    }

    fn close_all(&self) {
        for stream in self.lock().open.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.live.lock().open.remove(&self.id);
        self.live.left.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;

    /// A server on 127.0.0.1 that echoes lines, running on a thread.
    fn start(server: impl FnOnce(Server) -> Server) -> (SocketAddr, ShutdownHandle, Running) {
        let listener = bind("127.0.0.1:0".parse().unwrap(), &BindOptions::default()).unwrap();
        let server = server(Server::new(listener).unwrap());
        let addr = server.local_addr().unwrap();
        let handle = server.shutdown_handle();
        let running = thread::spawn(move || {
            server.serve(|stream, _| {
                let mut reader = BufReader::new(stream);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line)? > 0 {
                    let mut writer = stream;
                    writer.write_all(&line)?;
                    line.clear();
                }
                Ok(())
            })
        });
        (addr, handle, running)
    }

    type Running = thread::JoinHandle<Summary>;

    fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        (stream, reader)
    }

    fn exchange(stream: &mut TcpStream, reader: &mut BufReader<TcpStream>, line: &str) -> String {
        stream.write_all(line.as_bytes()).unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        reply
    }

    fn read_all(reader: &mut BufReader<TcpStream>) -> Vec<u8> {
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        rest
    }

    #[test]
    fn client_over_the_cap_gets_the_busy_line_and_the_rest_keep_working() {
        let (addr, shutdown, running) = start(|server| server.max_connections(2));
        let (mut a, mut a_reader) = connect(addr);
        let (mut b, mut b_reader) = connect(addr);
        // A round trip each proves both were accepted (and counted) before the third comes.
        assert_eq!(exchange(&mut a, &mut a_reader, "a\n"), "a\n");
        assert_eq!(exchange(&mut b, &mut b_reader, "b\n"), "b\n");
        let (_c, mut c_reader) = connect(addr);
        assert_eq!(
            read_all(&mut c_reader),
            b"Server busy: too many clients, try again later\n"
        );
        assert_eq!(
            exchange(&mut a, &mut a_reader, "still here\n"),
            "still here\n"
        );
        drop((a, a_reader, b, b_reader));
        shutdown.request();
        let summary = running.join().unwrap();
        assert_eq!((summary.accepted, summary.rejected), (2, 1));
    }

    #[test]
    fn a_silent_client_is_dropped_after_the_idle_timeout() {
        let (failed_tx, failed) = mpsc::channel();
        let failed_tx = Mutex::new(failed_tx);
        let (addr, shutdown, running) = start(|server| {
            server
                .idle_timeout(Some(Duration::from_millis(300)))
                .on_event(move |event| {
                    if let Event::ConnectionFailed { error, .. } = event {
                        let _ = failed_tx.lock().unwrap().send(is_timeout(error));
                    }
                })
        });
        let started = Instant::now();
        let (_silent, mut reader) = connect(addr);
        assert_eq!(
            read_all(&mut reader),
            b"",
            "the server closes the connection"
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(failed.recv_timeout(Duration::from_secs(5)), Ok(true));
        shutdown.request();
        running.join().unwrap();
    }

    #[test]
    fn a_trickling_client_is_cut_off_after_one_window_and_told_why() {
        let (failed_tx, failed) = mpsc::channel();
        let failed_tx = Mutex::new(failed_tx);
        let rate = MinRate {
            bytes: 64,
            window: Duration::from_millis(1500),
        };
        let (addr, shutdown, running) = start(|server| {
            server
                .max_connections(1)
                .min_rate(Some(rate))
                .on_event(move |event| {
                    let _ = failed_tx.lock().unwrap().send(event.to_string());
                })
        });
        let started = Instant::now();
        let (trickler, mut reader) = connect(addr);
        // One byte every 200 ms: never idle, but 8 bytes a window, far below 64.
        let sender = thread::spawn(move || {
            let mut trickler = trickler;
            while trickler.write_all(b"x").is_ok() && started.elapsed() < Duration::from_secs(10) {
                thread::sleep(Duration::from_millis(200));
            }
        });
        let said = String::from_utf8(read_all(&mut reader)).unwrap();
        let cut_after = started.elapsed();
        assert!(
            said.starts_with("Too slow: ") && said.ends_with(" fewer than the 64 required. Bye\n"),
            "{said:?}"
        );
        assert!(
            cut_after >= rate.window && cut_after < rate.window + Duration::from_secs(3),
            "cut off after {cut_after:?}"
        );
        let event = failed.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(event.contains("dropped: too slow: "), "{event}");
        // The seat comes free (the event may be reported a moment before the seat is given
        // back): a client that talks at a normal pace gets it within 2 s.
        let seated = Instant::now();
        loop {
            let (mut next, mut next_reader) = connect(addr);
            // A busy server speaks first; a seated echo client hears nothing until it sends.
            next.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut first = String::new();
            match next_reader.read_line(&mut first) {
                Err(error) if is_timeout(&error) => {
                    next.set_read_timeout(None).unwrap();
                    assert_eq!(exchange(&mut next, &mut next_reader, "hello\n"), "hello\n");
                    break;
                }
                _ => assert!(
                    seated.elapsed() < Duration::from_secs(2),
                    "no seat {:?} after the cut: {first:?}",
                    seated.elapsed()
                ),
            }
            thread::sleep(Duration::from_millis(50));
        }
        shutdown.request();
        running.join().unwrap();
        sender.join().unwrap();
    }

    #[test]
    fn a_client_that_keeps_the_rate_keeps_its_seat() {
        let rate = MinRate {
            bytes: 12,
            window: Duration::from_millis(500),
        };
        let (addr, shutdown, running) = start(|server| server.min_rate(Some(rate)));
        let (mut client, mut reader) = connect(addr);
        // 6 bytes out and 6 back every 100 ms: 60 bytes a window.
        for _ in 0..20 {
            assert_eq!(exchange(&mut client, &mut reader, "hello\n"), "hello\n");
            thread::sleep(Duration::from_millis(100));
        }
        drop((client, reader));
        shutdown.request();
        running.join().unwrap();
    }

    #[test]
    fn a_client_that_stops_reading_is_reported_as_such() {
        let (failed_tx, failed) = mpsc::channel();
        let failed_tx = Mutex::new(failed_tx);
        let (addr, shutdown, running) = start(|server| {
            server
                .idle_timeout(Some(Duration::from_millis(500)))
                .min_rate(None)
                .on_event(move |event| {
                    let _ = failed_tx.lock().unwrap().send(event.to_string());
                })
        });
        let (mut client, _reader) = connect(addr);
        // Lines the server echoes, never read back: its writes fill the buffers and stop.
        let line = [b'x'; 1023]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>();
        client
            .set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        while client.write_all(&line).is_ok() {}
        let event = failed.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(
            event.ends_with("dropped: stopped reading for 500ms"),
            "{event}"
        );
        shutdown.request();
        running.join().unwrap();
    }

    // A 64 TiB stack fits no 64-bit machine's memory; on 32 bits the number does not exist.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_client_whose_thread_cannot_start_gets_the_busy_line() {
        let (addr, shutdown, running) = start(|mut server| {
            server.thread_stack = Some(1 << 46);
            server
        });
        let (_client, mut reader) = connect(addr);
        assert_eq!(
            read_all(&mut reader),
            b"Server busy: too many clients, try again later\n"
        );
        shutdown.request();
        running.join().unwrap();
    }

    #[test]
    fn shutdown_stops_accepting_but_lets_live_clients_finish() {
        let (addr, shutdown, running) =
            start(|server| server.grace_period(Duration::from_secs(10)));
        let (mut live, mut reader) = connect(addr);
        assert_eq!(exchange(&mut live, &mut reader, "before\n"), "before\n");
        shutdown.request();
        // New clients are refused once the listener is closed.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(addr).is_ok() {
            assert!(Instant::now() < deadline, "the server kept accepting");
            thread::sleep(Duration::from_millis(10));
        }
        assert!(!running.is_finished(), "serve waits for the live client");
        assert_eq!(exchange(&mut live, &mut reader, "after\n"), "after\n");
        drop((live, reader));
        let summary = running.join().unwrap();
        assert_eq!(
            summary,
            Summary {
                accepted: 1,
                rejected: 0,
                cut_off: 0
            }
        );
    }

    #[test]
    fn clients_still_open_after_the_grace_period_are_cut_off() {
        let (addr, shutdown, running) = start(|server| {
            server
                .grace_period(Duration::from_millis(200))
                .idle_timeout(None)
        });
        let (mut live, mut reader) = connect(addr);
        assert_eq!(exchange(&mut live, &mut reader, "hi\n"), "hi\n");
        shutdown.request();
        assert_eq!(running.join().unwrap().cut_off, 1);
        assert_eq!(
            read_all(&mut reader),
            b"",
            "the cut-off client sees end of stream"
        );
    }

    #[test]
    fn hang_up_delivers_the_last_words_even_with_unread_input() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        // Unread bytes at close would make the kernel send a reset instead of the words.
        client.write_all(&[b'x'; 100_000]).unwrap();
        let writer = thread::spawn(move || {
            hang_up(&server_side, b"bye\n", Duration::from_secs(2));
        });
        let mut reader = BufReader::new(client);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "bye\n");
        drop(reader);
        writer.join().unwrap();
    }
}
