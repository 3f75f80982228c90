//! The pause an accept loop takes after `accept` fails.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

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

    /// The next client of a blocking `listener`. When `accept` fails, says so on stderr,
    /// pauses as [`after_error`](AcceptBackoff::after_error) says, and returns `None`: call
    /// it again. Out of file descriptors (`EMFILE`), every `accept` fails until a client
    /// leaves; without the pause the loop would spin at full speed printing errors.
    pub fn accept(&mut self, listener: &TcpListener) -> Option<(TcpStream, SocketAddr)> {
        match listener.accept() {
            Ok(accepted) => {
                self.reset();
                Some(accepted)
            }
            Err(error) => {
                let pause = self.after_error(&error);
                crate::elog!("could not accept a client: {error}; retrying in {pause:?}");
                thread::sleep(pause);
                None
            }
        }
    }
}
