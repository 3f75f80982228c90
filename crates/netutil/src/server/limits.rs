//! The limits a line server holds every client to, the flags that set them, and what a client
//! that goes over one is told.

use std::fmt;
use std::time::Duration;

/// The flags that set [`Limits`], with their defaults: flatten it into a lesson's arguments
/// with `#[command(flatten)]`, and `--help` lists them.
///
/// ```
/// use clap::Parser;
/// use netutil::server::{LimitArgs, Limits};
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     limits: LimitArgs,
/// }
///
/// let args = Args::parse_from(["server", "--max-clients", "3", "--idle-timeout", "2"]);
/// let limits = Limits::from(&args.limits);
/// assert_eq!(limits.max_clients, 3);
/// assert_eq!(
///     limits.to_string(),
///     "at most 3 clients, idle timeout 2s, line timeout 30s, lines up to 4096 bytes"
/// );
/// ```
#[derive(clap::Args, Debug, Clone)]
pub struct LimitArgs {
    /// At most this many clients at once; the next one is told the server is busy.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_clients: u32,
    /// Seconds a client may stay silent before a line starts; then it is disconnected.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Seconds from a line's first byte to its "\n"; a slower client is disconnected.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub line_timeout: u64,
    /// The longest line accepted, in bytes, not counting its "\n"; a longer line gets an
    /// error reply and the client is disconnected.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_line: u32,
    /// After Ctrl-C or SIGTERM, seconds live clients may stay before the server exits anyway.
    #[arg(long, default_value_t = 5)]
    pub grace: u64,
}

/// The limits every client of a line server works within. `Copy`: each client's thread, task
/// or turn of the loop gets its own copy, with nothing shared to lock.
///
/// Why each one (a server on a real network needs them all):
/// - `max_clients`: every client costs a thread, a task or a buffer; past the cap a client is
///   told "busy" instead of making every other client slower (see [`Seats`](super::Seats)).
/// - `idle_timeout`: a client that connects and says nothing would hold its seat forever.
/// - `line_timeout`: from a line's first byte to its "\n". A client that trickles one byte
///   every few seconds is never idle, yet never finishes a line ("slowloris").
/// - `max_line`: a client that sends gigabytes without a "\n" costs `max_line + 1` bytes.
/// - `grace`: after Ctrl-C, how long live clients may finish before the server exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At most this many clients at once.
    pub max_clients: usize,
    /// How long a client may stay silent between lines (or not read our replies).
    pub idle_timeout: Duration,
    /// How long a line may take from its first byte to its "\n".
    pub line_timeout: Duration,
    /// The longest line, in bytes, not counting its "\n".
    pub max_line: usize,
    /// How long live clients may stay after a stop was requested.
    pub grace: Duration,
}

impl From<&LimitArgs> for Limits {
    fn from(args: &LimitArgs) -> Limits {
        Limits {
            max_clients: args.max_clients as usize,
            idle_timeout: Duration::from_secs(args.idle_timeout),
            line_timeout: Duration::from_secs(args.line_timeout),
            max_line: args.max_line as usize,
            grace: Duration::from_secs(args.grace),
        }
    }
}

/// How the lessons print their limits, on the line that says where they listen.
impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at most {} clients, idle timeout {:?}, line timeout {:?}, lines up to {} bytes",
            self.max_clients, self.idle_timeout, self.line_timeout, self.max_line
        )
    }
}

/// A limit a client went over while the server waited for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Nothing arrived for the idle timeout.
    Idle,
    /// A line started but did not end within the line timeout.
    TooSlow,
    /// A line longer than the limit.
    TooLong,
}

impl Limit {
    /// What the client is told (one line, before the server closes), and what the log says.
    ///
    /// ```
    /// use netutil::server::{Limit, LimitArgs, Limits};
    /// # use clap::Parser;
    /// # #[derive(Parser)] struct Args { #[command(flatten)] limits: LimitArgs }
    /// let limits = Limits::from(&Args::parse_from(["server"]).limits);
    /// let (goodbye, ending) = Limit::TooLong.words(limits);
    /// assert_eq!(goodbye, "Line too long: the limit is 4096 bytes. Bye\n");
    /// assert_eq!(ending, "sent a line over 4096 bytes: disconnected");
    /// ```
    pub fn words(self, limits: Limits) -> (String, String) {
        let Limits {
            idle_timeout: idle,
            line_timeout: line,
            max_line: max,
            ..
        } = limits;
        match self {
            Limit::Idle => (
                format!("Idle for {idle:?}: disconnecting. Bye\n"),
                format!("idle for {idle:?}: disconnected"),
            ),
            Limit::TooSlow => (
                format!("Too slow: a line must arrive whole within {line:?}. Bye\n"),
                format!("too slow: no whole line within {line:?}: disconnected"),
            ),
            Limit::TooLong => (
                format!("Line too long: the limit is {max} bytes. Bye\n"),
                format!("sent a line over {max} bytes: disconnected"),
            ),
        }
    }
}
