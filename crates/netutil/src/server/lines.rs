//! Cutting what a client sends into lines, within the [`Limits`]: the longest line, the idle
//! timeout and the line timeout.
//!
//! TCP delivers a stream of bytes, not messages: one read can hold half a line, or ten lines.
//! [`LineBuffer`] keeps the bytes read so far and hands back whole lines. It does no I/O of
//! its own, so every server model fills it its own way:
//! - a blocking thread (`server_05`) reads through a [`LineReader`], which waits for the
//!   next line with the right read timeout;
//! - a readiness loop (`server_06`) calls [`LineBuffer::read_from`] on a non-blocking socket
//!   whenever it is readable;
//! - an async task (`server_07`) reads into [`LineBuffer::spare`] and reports
//!   [`LineBuffer::filled`].

use std::io::{self, Read};
use std::net::TcpStream;
use std::ops::Range;
use std::time::Instant;

use super::{Limit, Limits, is_timeout};

/// The first buffer a client gets; it doubles each time a read fills it, up to
/// [`LARGEST_READ`] (or the longest line, if longer). A client that sends short lines keeps a
/// small buffer, so 10,000 of them cost little; a bulk sender soon reads 64 KiB per call.
const FIRST_SIZE: usize = 1024;
/// The most one read asks the kernel for, unless a longer line must fit.
const LARGEST_READ: usize = 64 * 1024;

/// Bytes a client sent, cut into lines (each with its "\n"), and the clocks of the limits.
///
/// ```
/// use std::time::{Duration, Instant};
/// use netutil::server::{Limit, LineBuffer, Limits};
///
/// let limits = Limits {
///     max_clients: 1,
///     idle_timeout: Duration::from_secs(60),
///     line_timeout: Duration::from_secs(30),
///     max_line: 8,
///     grace: Duration::from_secs(5),
/// };
/// let now = Instant::now();
/// let mut lines = LineBuffer::new(limits, now);
/// // Two lines and the start of a third arrive in one read.
/// let read = b"one\ntwo\nthr";
/// lines.spare()[..read.len()].copy_from_slice(read);
/// lines.filled(read.len(), now);
/// assert_eq!(lines.next_line(), Some(Ok(&b"one\n"[..])));
/// assert_eq!(lines.next_line(), Some(Ok(&b"two\n"[..])));
/// assert_eq!(lines.next_line(), None); // "thr" waits for its "\n"
/// // The unfinished line now has its line timeout running.
/// assert_eq!(lines.deadline(now), (now + Duration::from_secs(30), Limit::TooSlow));
/// // A line over the limit (8 bytes) is refused, however it arrives.
/// lines.read_from(&b"ee, four and more"[..], now)?;
/// assert_eq!(lines.next_line(), Some(Err(Limit::TooLong)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LineBuffer {
    limits: Limits,
    /// The bytes read: `storage[start..end]` are not handed out yet, and
    /// `storage[start..scanned]` are known to hold no "\n".
    storage: Vec<u8>,
    start: usize,
    scanned: usize,
    end: usize,
    /// The last read filled all the room it had: the next one gets more.
    last_read_full: bool,
    /// When the unfinished line began: its line timeout runs from here.
    line_started: Option<Instant>,
    /// The client closed its side: what is left is the last line, "\n" or not.
    ended: bool,
    /// When the last bytes arrived.
    last_filled: Instant,
    lines: u64,
}

/// What a [`LineBuffer::read_from`] got: `bytes` read (0: the client closed its side), out
/// of `room` asked for. A read that got less than it asked for took everything the kernel had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes read.
    pub bytes: usize,
    /// Bytes the read had room for.
    pub room: usize,
}

impl LineBuffer {
    /// An empty buffer for a client that connected at `now`. It allocates nothing until the
    /// first read.
    pub fn new(limits: Limits, now: Instant) -> LineBuffer {
        LineBuffer {
            limits,
            storage: Vec::new(),
            start: 0,
            scanned: 0,
            end: 0,
            last_read_full: false,
            line_started: None,
            ended: false,
            last_filled: now,
            lines: 0,
        }
    }

    /// Room to read into: pass it to a `read`, then say how much arrived with [`filled`].
    ///
    /// [`filled`]: LineBuffer::filled
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            // Everything was handed out: start again at the front, nothing to move.
            (self.start, self.scanned, self.end) = (0, 0, 0);
        }
        let largest = LARGEST_READ.max(self.limits.max_line + 1);
        let full = self.end == self.storage.len();
        if self.storage.len() < largest && (full && self.start == 0 || self.last_read_full) {
            let size = (self.storage.len() * 2).clamp(FIRST_SIZE, largest);
            self.storage.resize(size, 0);
        } else if full {
            // The unfinished line moves to the front. It is at most max_line bytes (a longer
            // one is refused), and the storage holds more, so there is room after it.
            self.storage.copy_within(self.start..self.end, 0);
            (self.scanned, self.end) = (self.scanned - self.start, self.end - self.start);
            self.start = 0;
        }
        self.last_read_full = false;
        &mut self.storage[self.end..]
    }

    /// `bytes` were read into [`spare`](LineBuffer::spare) at `now`. Zero, as for any read,
    /// means the client closed its side: the lines still here are handed out all the same,
    /// the last bytes without a "\n" as a last line.
    pub fn filled(&mut self, bytes: usize, now: Instant) {
        let room = self.storage.len() - self.end;
        let bytes = bytes.min(room);
        if bytes == 0 {
            self.ended = true;
            return;
        }
        if self.start == self.end {
            // The first byte of a line: its line timeout starts.
            self.line_started = Some(now);
        }
        self.end += bytes;
        self.last_read_full = bytes == room;
        self.last_filled = now;
    }

    /// Reads once from `reader` into the buffer (at `now`): a blocking stream waits, a
    /// non-blocking one returns `WouldBlock` when the kernel has nothing.
    pub fn read_from(&mut self, mut reader: impl Read, now: Instant) -> io::Result<Received> {
        let spare = self.spare();
        let room = spare.len();
        let bytes = reader.read(spare)?;
        self.filled(bytes, now);
        Ok(Received { bytes, room })
    }

    /// The next whole line, "\n" included, or `None` until more bytes arrive (or, once the
    /// client closed its side, when every line was handed out); or [`Limit::TooLong`] when
    /// the line is longer than the limit allows. After the end of the stream the last bytes
    /// without a "\n" come out as a last line too.
    pub fn next_line(&mut self) -> Option<Result<&[u8], Limit>> {
        match self.find_line()? {
            Ok(line) => Some(Ok(&self.storage[line])),
            Err(limit) => Some(Err(limit)),
        }
    }

    /// Whether the client closed its side (a read of zero bytes).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Whether every byte read was handed out.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// When the client is over a limit if the server starts waiting for it `now` and nothing
    /// arrives: between lines the idle timeout from now (the time the server spent sending
    /// replies is not the client's silence), once a line has started what is left of its
    /// line timeout.
    pub fn deadline(&self, now: Instant) -> (Instant, Limit) {
        match self.line_started {
            Some(started) => (started + self.limits.line_timeout, Limit::TooSlow),
            None => (now + self.limits.idle_timeout, Limit::Idle),
        }
    }

    /// The server stopped reading for a while (its replies were not being taken): that time
    /// was the server's, not the client's, so an unfinished line's clock starts again.
    pub fn restart_line_clock(&mut self, now: Instant) {
        if self.line_started.is_some() {
            self.line_started = Some(now);
        }
    }

    /// How many lines were handed out.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Throws away every byte not handed out yet: after a server said goodbye, what the
    /// client still sends is read only so that closing does not reset the connection.
    pub fn discard(&mut self) {
        (self.start, self.scanned, self.end) = (0, 0, 0);
        self.line_started = None;
    }

    fn find_line(&mut self) -> Option<Result<Range<usize>, Limit>> {
        let max_line = self.limits.max_line;
        let Some(at) = memchr::memchr(b'\n', &self.storage[self.scanned..self.end]) else {
            self.scanned = self.end;
            if self.end - self.start > max_line {
                return Some(Err(Limit::TooLong));
            }
            return self.take_rest().map(Ok);
        };
        let line = self.start..self.scanned + at + 1;
        if line.len() - 1 > max_line {
            return Some(Err(Limit::TooLong));
        }
        (self.start, self.scanned) = (line.end, line.end);
        // Bytes after the "\n" start the next line; they arrived with the last read.
        self.line_started = (self.start < self.end).then_some(self.last_filled);
        self.lines += 1;
        Some(Ok(line))
    }

    /// After the end of the stream, the bytes after the last "\n" as a last line.
    fn take_rest(&mut self) -> Option<Range<usize>> {
        if !self.ended || self.start == self.end {
            return None;
        }
        let rest = self.start..self.end;
        (self.start, self.scanned) = (self.end, self.end);
        self.line_started = None;
        self.lines += 1;
        Some(rest)
    }
}

/// What [`LineReader::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// A line, "\n" included (a last line without one, just before the client closed, too).
    Line(&'a [u8]),
    /// The client closed its side between lines.
    Closed,
    /// The client went over a limit.
    Over(Limit),
}

/// A blocking client's lines: waits for each within the limits, with the read timeout set to
/// what is left of the idle timeout or of the line timeout. A read timeout alone would let a
/// client that trickles a byte every few seconds keep its seat forever.
///
/// ```
/// use std::io::Write;
/// use std::net::{TcpListener, TcpStream};
/// use std::time::Duration;
/// use netutil::server::{Limit, LineReader, Limits, Next};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let mut client = TcpStream::connect(listener.local_addr()?)?;
/// let (stream, _) = listener.accept()?;
/// let limits = Limits {
///     max_clients: 1,
///     idle_timeout: Duration::from_millis(200),
///     line_timeout: Duration::from_secs(30),
///     max_line: 4096,
///     grace: Duration::ZERO,
/// };
/// let mut lines = LineReader::new(&stream, limits);
/// client.write_all(b"hello\n")?;
/// assert_eq!(lines.next_line()?, Next::Line(b"hello\n"));
/// // Then nothing for the idle timeout.
/// assert_eq!(lines.next_line()?, Next::Over(Limit::Idle));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LineReader<'s> {
    stream: &'s TcpStream,
    buffer: LineBuffer,
}

impl<'s> LineReader<'s> {
    /// Lines from `stream`, a client that just connected.
    pub fn new(stream: &'s TcpStream, limits: Limits) -> LineReader<'s> {
        LineReader {
            stream,
            buffer: LineBuffer::new(limits, Instant::now()),
        }
    }

    /// Waits for the next line; an error is the connection's (a reset, say).
    pub fn next_line(&mut self) -> io::Result<Next<'_>> {
        loop {
            match self.buffer.find_line() {
                Some(Ok(line)) => return Ok(Next::Line(&self.buffer.storage[line])),
                Some(Err(limit)) => return Ok(Next::Over(limit)),
                None if self.buffer.ended => return Ok(Next::Closed),
                None => {}
            }
            // Wait no longer than what is left of the limit that runs now.
            let now = Instant::now();
            let (deadline, limit) = self.buffer.deadline(now);
            let wait = deadline.saturating_duration_since(now);
            if wait.is_zero() {
                return Ok(Next::Over(limit));
            }
            self.stream.set_read_timeout(Some(wait))?;
            match self.buffer.read_from(self.stream, Instant::now()) {
                Ok(_) => {}
                Err(error) if is_timeout(&error) => return Ok(Next::Over(limit)),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// How many lines were handed out.
    pub fn lines(&self) -> u64 {
        self.buffer.lines()
    }
}

#[cfg(test)]
mod tests;
