//! Timeouts that read as timeouts, on every system.

use std::io;
use std::time::Duration;

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
