//! A minimum transfer rate per connection, for servers that carry bytes rather than lines.

use std::error::Error;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::is_timeout;

/// The limits a [`ThreadPerClient`](super::ThreadPerClient) puts on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConnectionLimits {
    pub(super) idle_timeout: Option<Duration>,
    pub(super) min_rate: Option<MinRate>,
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

/// A client's connection as a [`ThreadPerClient`](super::ThreadPerClient) hands it to the handler. Read and write through
/// it (`&Connection` implements [`Read`] and [`Write`]): each read or write fails with a
/// timeout (see [`is_timeout`]) after the idle timeout of silence, and with [`TooSlow`] when a
/// window ends with fewer bytes moved than the minimum rate.
///
/// [`Connection::stream`] gives the socket itself, for its addresses or a `shutdown`; bytes
/// read or written through it directly are not counted (the idle timeout still applies).
#[derive(Debug)]
pub struct Connection {
    stream: Arc<TcpStream>,
    limits: ConnectionLimits,
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
    pub(super) fn new(stream: Arc<TcpStream>, limits: ConnectionLimits) -> Self {
        Connection {
            stream,
            limits,
            state: Mutex::new(RateState {
                window_start: Instant::now(),
                moved: 0,
                // What `ThreadPerClient::serve` set before handing the connection over.
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
