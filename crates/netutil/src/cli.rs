//! The conventions every lesson program shares.
//!
//! A lesson's `main` parses its arguments with `clap` (which already prints `--help` with the
//! defaults and exits with code 2 on a bad argument), runs its body, and hands the result to
//! [`finish`]. A failure then prints as one sentence naming the step that failed and why,
//! followed by a hint, and the program exits with code 1: never a panic or a backtrace.
//!
//! ```
//! use netutil::cli::{Hint, StepExt};
//! use std::error::Error;
//! use std::net::TcpStream;
//!
//! fn run() -> Result<(), Box<dyn Error>> {
//!     // Port 9 (discard) on loopback: nothing listens there on a normal machine.
//!     TcpStream::connect("127.0.0.1:9")
//!         .step("connect to 127.0.0.1:9")
//!         .hint("start the server first")?;
//!     Ok(())
//! }
//!
//! let failure = run().unwrap_err();
//! assert!(failure.to_string().starts_with("could not connect to 127.0.0.1:9: "));
//! assert_eq!(netutil::cli::hint_for(failure.as_ref()).as_deref(), Some("start the server first"));
//! ```

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

/// Any error that can cross threads, as [`Failure`] keeps it.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// A step of a lesson that failed: what the program was trying to do, the error that stopped
/// it, and optionally what the student can try next.
#[derive(Debug)]
pub struct Failure {
    step: String,
    cause: BoxError,
    hint: Option<String>,
}

impl Failure {
    /// A failure of `step` (written as a verb phrase: "connect to 127.0.0.1:80") caused by `cause`.
    pub fn new(step: impl Into<String>, cause: impl Into<BoxError>) -> Self {
        Failure {
            step: step.into(),
            cause: cause.into(),
            hint: None,
        }
    }

    /// Attaches what the student can try next; it replaces any hint the cause would suggest.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The step that failed, as given to [`Failure::new`].
    pub fn step(&self) -> &str {
        &self.step
    }

    /// The hint given with [`Failure::with_hint`], if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not {}: {}", self.step, self.cause)
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.cause.as_ref())
    }
}

/// Names the step a fallible call belongs to: `stream.write_all(req).step("send the request")?`.
pub trait StepExt<T> {
    /// Wraps the error, if any, in a [`Failure`] of `step`.
    fn step(self, step: impl Into<String>) -> Result<T, Failure>;
}

impl<T, E: Into<BoxError>> StepExt<T> for Result<T, E> {
    fn step(self, step: impl Into<String>) -> Result<T, Failure> {
        self.map_err(|cause| Failure::new(step, cause))
    }
}

/// Adds a hint to a failed step: `.step("bind 127.0.0.1:8888").hint("is the port in use?")?`.
pub trait Hint<T> {
    /// Attaches `hint` to the failure, if any.
    fn hint(self, hint: impl Into<String>) -> Result<T, Failure>;
}

impl<T> Hint<T> for Result<T, Failure> {
    fn hint(self, hint: impl Into<String>) -> Result<T, Failure> {
        self.map_err(|failure| failure.with_hint(hint))
    }
}

/// `time` in this machine's time zone, laid out like Python's `time.ctime()` and C's
/// `ctime(3)`: `Thu Nov 26 07:21:06 2026`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let text = netutil::cli::ctime(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
/// assert_eq!(text.len(), "Fri Jan 15 08:00:00 2027".len());
/// assert!(text.ends_with(" 2027"));
/// ```
pub fn ctime(time: SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = time.into();
    local.format("%a %b %e %H:%M:%S %Y").to_string()
}

/// The deadline of a whole run: a client's `--timeout` bounds everything it does, not each
/// call, so a peer that answers one byte at a time cannot keep it running.
///
/// Before each blocking call, ask [`Deadline::left`] for the time that remains and give it to
/// `set_read_timeout`, `set_write_timeout` or `connect_timeout`; once nothing is left it is an
/// error. [`Deadline::explain`] rewords the timeout of a call as the run's.
///
/// ```
/// use std::time::Duration;
/// use netutil::cli::Deadline;
///
/// let deadline = Deadline::after(Duration::from_secs(5));
/// assert!(deadline.left()? <= Duration::from_secs(5));
/// let expired = Deadline::after(Duration::ZERO);
/// assert_eq!(expired.left().unwrap_err().to_string(), "gave up after 0ns: the time --timeout allows for the whole run");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    end: Instant,
    total: Duration,
}

impl Deadline {
    /// The deadline `total` from now.
    pub fn after(total: Duration) -> Self {
        Deadline {
            end: Instant::now() + total,
            total,
        }
    }

    /// The whole time allowed, as given to [`Deadline::after`].
    pub fn total(&self) -> Duration {
        self.total
    }

    /// The time left, never zero (the socket calls refuse a zero timeout); a `TimedOut` error
    /// once the deadline has passed.
    pub fn left(&self) -> io::Result<Duration> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.expired());
        }
        Ok(left)
    }

    /// `error` as the deadline's own when it is a timeout (`WouldBlock` on Unix, `TimedOut` on
    /// Windows) and the deadline has passed; any other error as it is.
    pub fn explain(&self, error: io::Error) -> io::Error {
        let timed_out = matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        );
        if timed_out && Instant::now() >= self.end {
            self.expired()
        } else {
            error
        }
    }

    fn expired(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "gave up after {:?}: the time --timeout allows for the whole run",
                self.total
            ),
        )
    }
}

/// `text` with its control characters escaped (`\u{1b}`), ready to print: C0 such as ESC and
/// NUL, DEL, C1 such as U+009B (a terminal's one-character "escape ["), and the invisible
/// marks that reverse the direction of text. Text from the user or the network (a host name,
/// an HTTP reason phrase or header value) printed raw could move the cursor, recolor the
/// terminal or hide what follows. Borrowed when nothing needs escaping.
///
/// ```
/// use netutil::cli::printable;
///
/// assert_eq!(printable("OK"), "OK");
/// assert_eq!(printable("evil\u{9b}2J"), "evil\\u{9b}2J");
/// assert_eq!(printable("tab\there"), "tab\\there");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

fn needs_escape(c: char) -> bool {
    // Control characters, and the bidirectional overrides and isolates (U+202A..U+202E,
    // U+2066..U+2069), which reorder what a reader sees.
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Checks a host name (or address) given on the command line before it is resolved. A
/// control character, such as a NUL byte or a line break, can be in no host name: it is
/// refused with its position, instead of a resolver error followed by "are you offline?".
/// (Check in the program, not in clap's `value_parser`: clap would print the raw value.)
///
/// ```
/// use netutil::cli::check_host_name;
///
/// assert_eq!(check_host_name("www.google.com"), Ok(()));
/// assert_eq!(
///     check_host_name("local\0host").unwrap_err(),
///     "\"local\\u{0}host\" has the control character U+0000 at character 6: \
///      a host name has letters, digits, dots and dashes, or is an IP address"
/// );
/// assert!(check_host_name("").is_err());
/// ```
pub fn check_host_name(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("the host name is empty".to_owned());
    }
    if let Some((at, c)) = text.chars().enumerate().find(|&(_, c)| needs_escape(c)) {
        return Err(format!(
            "\"{}\" has the control character U+{:04X} at character {}: a host name has \
             letters, digits, dots and dashes, or is an IP address",
            printable(text),
            u32::from(c),
            at + 1
        ));
    }
    Ok(())
}

/// Ends a lesson: on success exit code 0; on failure one line `error: …`, one line `hint: …`
/// when there is something to suggest, and exit code 1.
///
/// It first gives the [`log!`](crate::log!) lines still queued up to a second to be written.
pub fn finish(result: Result<(), Box<dyn Error>>) -> ExitCode {
    crate::log::flush_all(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(hint) = hint_for(error.as_ref()) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// What to suggest for `error`: the hint of the outermost [`Failure`] that has one, otherwise
/// a general hint for the first I/O or lookup error in its chain of causes.
pub fn hint_for(error: &(dyn Error + 'static)) -> Option<String> {
    let chain = || std::iter::successors(Some(error), |&e| e.source());
    chain()
        .filter_map(|e| e.downcast_ref::<Failure>())
        .find_map(|failure| failure.hint.clone())
        .or_else(|| chain().find_map(general_hint).map(str::to_owned))
}

fn general_hint(error: &(dyn Error + 'static)) -> Option<&'static str> {
    if let Some(lookup) = error.downcast_ref::<crate::lookup::LookupError>() {
        return lookup.hint();
    }
    if let Some(http) = error.downcast_ref::<crate::http::Error>() {
        return http.hint();
    }
    #[cfg(feature = "tls")]
    if let Some(hint) = tls_hint(error) {
        return Some(hint);
    }
    let io = error.downcast_ref::<io::Error>()?;
    Some(match io.kind() {
        io::ErrorKind::ConnectionRefused => {
            "nothing is listening there: start the server first, or check the host and port"
        }
        io::ErrorKind::AddrInUse => {
            "another program already uses that port: stop it, or pick another with --port"
        }
        io::ErrorKind::AddrNotAvailable => {
            "that address does not belong to this machine: try 127.0.0.1 or 0.0.0.0"
        }
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need root: use a port above 1024 (e.g. --port 8888)"
        }
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            "no answer in time: is the peer running, and is this machine online?"
        }
        io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof => {
            "the peer closed the connection early: look at the peer's own output"
        }
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            "this machine has no route there: are you offline? try a peer on 127.0.0.1"
        }
        _ => return None,
    })
}

/// A TLS failure's hint: rustls reports a failed handshake as an I/O error that wraps a
/// `rustls::Error`, and `io::Error::source` skips the wrapped error itself, so look inside.
#[cfg(feature = "tls")]
fn tls_hint(error: &(dyn Error + 'static)) -> Option<&'static str> {
    if let Some(certificates) = error.downcast_ref::<crate::tls::CertificateFileError>() {
        return Some(certificates.hint());
    }
    let tls = error.downcast_ref::<rustls::Error>().or_else(|| {
        let io = error.downcast_ref::<io::Error>()?;
        io.get_ref()?.downcast_ref::<rustls::Error>()
    })?;
    crate::tls::hint(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reads_as_one_sentence() {
        let cause = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        let failure = Failure::new("connect to 127.0.0.1:80", cause);
        assert_eq!(
            failure.to_string(),
            "could not connect to 127.0.0.1:80: connection refused"
        );
    }

    #[test]
    fn explicit_hint_wins_over_the_general_one() {
        let cause = io::Error::from(io::ErrorKind::ConnectionRefused);
        let result: Result<(), _> = Err(cause);
        let error: Box<dyn Error> = result
            .step("connect")
            .hint("run the server")
            .unwrap_err()
            .into();
        assert_eq!(hint_for(error.as_ref()).as_deref(), Some("run the server"));
    }

    #[test]
    fn io_kind_gives_a_general_hint() {
        let error: Box<dyn Error> = Failure::new(
            "bind 127.0.0.1:8888",
            io::Error::from(io::ErrorKind::AddrInUse),
        )
        .into();
        assert!(hint_for(error.as_ref()).unwrap().contains("--port"));
    }

    #[test]
    fn unknown_errors_have_no_hint() {
        let error: Box<dyn Error> = "something odd".into();
        assert_eq!(hint_for(error.as_ref()), None);
    }
}
