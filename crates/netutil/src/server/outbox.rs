//! Replies waiting for the kernel to take them: the write side of a readiness loop.

use std::io::{self, Write};
use std::time::Instant;

/// Bytes a non-blocking server owes one client, up to a cap.
///
/// A write to a non-blocking socket takes what fits in the kernel's send buffer and says how
/// much; the rest must wait for a "writable" event. And a client that sends lines but never
/// reads the replies must not make the server buffer them without end: past `max_unsent`
/// bytes the outbox [`is_full`](Outbox::is_full), and the server stops reading from that
/// client until the kernel takes some (backpressure).
///
/// ```
/// use std::io::{self, Write};
/// use std::time::Instant;
/// use netutil::server::Outbox;
///
/// /// A socket whose send buffer has room for 4 bytes, then says WouldBlock.
/// struct Narrow(Vec<u8>);
/// impl Write for Narrow {
///     fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
///         let room = 4 - self.0.len();
///         if room == 0 {
///             return Err(io::ErrorKind::WouldBlock.into());
///         }
///         let taken = bytes.len().min(room);
///         self.0.extend_from_slice(&bytes[..taken]);
///         Ok(taken)
///     }
///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// }
///
/// let now = Instant::now();
/// let mut outbox = Outbox::new(8, now);
/// outbox.push(&[b"OK...", b"hi\n"], now);
/// let mut socket = Narrow(Vec::new());
/// assert_eq!(outbox.write_to(&mut socket, now)?, 4); // what fitted; the rest waits
/// assert_eq!(socket.0, b"OK..");
/// assert_eq!(outbox.unsent(), b".hi\n");
/// # Ok::<(), io::Error>(())
/// ```
#[derive(Debug)]
pub struct Outbox {
    bytes: Vec<u8>,
    max_unsent: usize,
    waiting_since: Instant,
}

impl Outbox {
    /// An empty outbox that is full past `max_unsent` bytes.
    pub fn new(max_unsent: usize, now: Instant) -> Outbox {
        Outbox {
            bytes: Vec::new(),
            max_unsent,
            waiting_since: now,
        }
    }

    /// Adds a reply, made of `parts`, after the others: one write can then send many.
    pub fn push(&mut self, parts: &[&[u8]], now: Instant) {
        if self.bytes.is_empty() {
            self.waiting_since = now;
        }
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
    }

    /// Writes until the outbox is empty or the writer says `WouldBlock` (the kernel's send
    /// buffer is full: a "writable" event will say when there is room). Returns the bytes
    /// sent; one reply may take several writes.
    pub fn write_to(&mut self, mut writer: impl Write, now: Instant) -> io::Result<usize> {
        let mut sent = 0;
        while sent < self.bytes.len() {
            match writer.write(&self.bytes[sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => (sent, self.waiting_since) = (sent + n, now),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        self.bytes.drain(..sent);
        Ok(sent)
    }

    /// The bytes not sent yet.
    pub fn unsent(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether `max_unsent` bytes or more wait: stop reading from this client for now.
    pub fn is_full(&self) -> bool {
        self.bytes.len() >= self.max_unsent
    }

    /// Since when the client has taken none of what waits: when the kernel last took some,
    /// or when the first reply started waiting.
    pub fn waiting_since(&self) -> Instant {
        self.waiting_since
    }
}
