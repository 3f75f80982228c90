//! Closing a connection so that the client reads our last line.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use socket2::{SockRef, Socket};

/// How long a closing connection waits for the client to read our last line (see [`hang_up`]).
pub const LINGER: Duration = Duration::from_secs(1);

/// Sends `last_words` and closes the connection so that the client reads them.
///
/// Closing a socket whose receive buffer still holds unread bytes makes the kernel send a
/// reset (RST) instead of a normal close, and a reset can destroy the last reply before the
/// client reads it. So this sends the words, half-closes (the client sees end of stream after
/// them), and reads and discards what the client still sends for up to `linger` (or, with
/// `Duration::ZERO`, only what has arrived already) before the socket is closed. Errors are
/// ignored: the connection is ending either way.
///
/// `stream` is any TCP socket: a `std`, `mio` or `tokio` stream (`&stream`).
pub fn hang_up<'s>(stream: impl Into<SockRef<'s>>, last_words: &[u8], linger: Duration) {
    let socket = stream.into();
    let socket: &Socket = &socket;
    let (mut reader, mut writer) = (socket, socket);
    if writer.write_all(last_words).is_err() || socket.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + linger;
    let mut sink = [0u8; 16 * 1024];
    if linger.is_zero() && socket.set_nonblocking(true).is_err() {
        return;
    }
    loop {
        if !linger.is_zero() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
                return;
            }
        }
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
