//! A small blocking HTTP/1.1 client: GET and HEAD, with correct body framing and timeouts.
//!
//! [`get`] and [`head`] resolve a host, connect to the first address that answers, send one
//! request with `Connection: close`, and read one [`Response`]: status, reason, headers and
//! body. Homework that needs "fetch this page" can use them as they are. For a large
//! download, [`get_to`] (and [`request_to`], [`read_response_to`]) writes the body to any
//! [`Write`] as it arrives, a file or [`std::io::sink`], instead of holding it in memory.
//!
//! The part worth studying is how the client knows the response is over. One `read` returns
//! whatever bytes happen to have arrived: part of a response, or a response and a half. The
//! length of the body comes from the response itself, in the order RFC 9112 §6.3 gives:
//!
//! 1. no body at all for an answer to HEAD and for status 1xx, 204 and 304;
//! 2. `Transfer-Encoding` ending in `chunked`: chunks, each led by its size in hex, up to a
//!    zero-size chunk and optional trailer fields (this wins over `Content-Length`); any
//!    other `Transfer-Encoding`: the body lasts until the server closes;
//! 3. `Content-Length: N`: exactly N bytes (a value that is not a number, or two different
//!    values, is an error);
//! 4. otherwise: the body lasts until the server closes the connection.
//!
//! So the client stops as soon as the framing says so, even when a keep-alive server leaves
//! the connection open. [`ResponseParser`] holds these rules with no I/O of its own; a lesson
//! can write its own receive loop around it, and [`read_response`] is that loop for any
//! [`Read`]. The head is parsed by [`httparse`], a small, widely used parser.
//!
//! Every wait is bounded ([`Options`]): the connect timeout, a timeout for each read and
//! write, and a total for the whole exchange. Heads and bodies have size [`Limits`]. Every
//! malformed input is an [`Error`] naming the step that failed, never a panic.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpListener;
//! use netutil::http::{self, Framing, Options};
//!
//! // A tiny server on a free loopback port. It keeps the connection open after answering,
//! // as a keep-alive server does: only Content-Length tells the client where the body ends.
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let port = listener.local_addr()?.port();
//! std::thread::spawn(move || -> std::io::Result<()> {
//!     let (peer, _) = listener.accept()?;
//!     let mut request = BufReader::new(&peer);
//!     let mut line = String::new();
//!     while request.read_line(&mut line)? > 2 {
//!         line.clear();
//!     }
//!     (&peer).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")?;
//!     // Wait for the client to close first.
//!     request.read_line(&mut line)?;
//!     Ok(())
//! });
//!
//! let response = http::get("127.0.0.1", port, "/", &Options::default())?;
//! assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
//! assert_eq!(response.header("content-length"), Some("5"));
//! assert_eq!(response.body, b"hello");
//! assert_eq!(response.framing, Framing::ContentLength(5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod parser;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::lookup::{self, LookupError};
use crate::server::is_timeout;

pub use parser::{Cut, Framing, Limits, Response, ResponseParser};

/// The request methods this client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Ask for the resource: the response carries a body.
    Get,
    /// Ask for the head only: the response has no body, whatever its headers say.
    Head,
}

impl Method {
    /// The method as it is written on the wire: `GET` or `HEAD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

/// Timeouts and limits for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How long to wait for each address to accept the connection. Default 5 s. None of the
    /// timeouts may be zero (the socket calls refuse a zero timeout).
    pub connect_timeout: Duration,
    /// How long any single write or read may wait for progress. Default 10 s.
    pub io_timeout: Duration,
    /// How long the whole exchange may take, however the server trickles bytes. Default 60 s.
    /// (Resolving the name is left to the system resolver and its own timeouts.)
    pub total_timeout: Duration,
    /// Size limits for the response.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            limits: Limits::default(),
        }
    }
}

/// A step of an HTTP exchange, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Opening the TCP connection.
    Connect,
    /// Writing the request.
    Send,
    /// Reading the response.
    Receive,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Connect => "connect",
            Step::Send => "send the request",
            Step::Receive => "receive the response",
        })
    }
}

/// Why an HTTP exchange failed. Each message is one sentence that names the step.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The host or path cannot be put in a request line.
    InvalidRequest(&'static str),
    /// The host name did not resolve.
    Resolve(LookupError),
    /// No address of the host accepted a connection; `source` is the last address's error.
    Connect {
        /// The host as given.
        host: String,
        /// The port.
        port: u16,
        /// How many addresses were tried.
        tried: usize,
        /// Why the last address failed.
        source: io::Error,
    },
    /// Writing the request failed.
    Send(io::Error),
    /// Reading the response failed.
    Receive(io::Error),
    /// A read or write made no progress within [`Options::io_timeout`].
    Timeout {
        /// The step that waited.
        step: Step,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The whole exchange took longer than [`Options::total_timeout`].
    Deadline {
        /// The step that was running.
        step: Step,
        /// The total timeout.
        total: Duration,
    },
    /// The server closed the connection before the response was complete.
    Closed(Cut),
    /// The response head is longer than [`Limits::max_head`].
    HeadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The response body is longer than [`Limits::max_body`].
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The response is not valid HTTP/1.x.
    Parse(ParseError),
    /// Writing the body to the caller's writer failed (a streaming call such as [`get_to`]).
    Sink(io::Error),
}

impl Error {
    /// What a student can try next, for this kind of failure.
    pub fn hint(&self) -> Option<&'static str> {
        const TIMED_OUT: &str =
            "the server is slow, or is not an HTTP server: try a longer timeout, or `curl -v`";
        Some(match self {
            Error::InvalidRequest(_) => {
                "paths look like /index.html; percent-encode spaces and other characters (%20)"
            }
            Error::Resolve(error) => return error.hint(),
            Error::Connect { .. } => {
                "nothing answered there: start a local server with \
                 `python3 -m http.server -b 127.0.0.1 8000`, or check the host and port"
            }
            Error::Send(error) | Error::Receive(error) if is_timeout(error) => TIMED_OUT,
            Error::Timeout { .. } | Error::Deadline { .. } => TIMED_OUT,
            Error::Send(_) | Error::Receive(_) | Error::Closed(_) => {
                "the server dropped the connection: look at its own output, or try `curl -v`"
            }
            Error::HeadTooLarge { .. } | Error::BodyTooLarge { .. } => {
                "raise the limit in netutil::http::Limits if the response is really that large"
            }
            Error::Parse(_) => {
                "is that port an HTTP server? compare with `curl -v http://HOST:PORT/`"
            }
            Error::Sink(_) => {
                "the fault is on this side: check the disk space and permissions of the file, \
                 or that whatever reads the output is still running"
            }
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let receive = "could not receive the response";
        match self {
            Error::InvalidRequest(why) => write!(f, "could not build the request: {why}"),
            Error::Resolve(error) => write!(f, "{error}"),
            Error::Connect {
                host,
                port,
                tried,
                source,
            } => {
                write!(f, "could not connect to {host} port {port}")?;
                if *tried > 1 {
                    write!(f, " (tried {tried} addresses)")?;
                }
                write!(f, ": {source}")
            }
            Error::Send(error) => write!(f, "could not send the request: {error}"),
            Error::Receive(error) if is_timeout(error) => {
                write!(f, "{receive}: no data arrived within the read timeout")
            }
            Error::Receive(error) => write!(f, "{receive}: {error}"),
            Error::Timeout { step, after } => {
                write!(f, "could not {step}: no progress for {after:?} (timed out)")
            }
            Error::Deadline { step, total } => write!(
                f,
                "could not {step}: the whole exchange took longer than {total:?}"
            ),
            Error::Closed(cut) => write!(f, "{receive}: the server closed the connection {cut}"),
            Error::HeadTooLarge { limit } => {
                write!(
                    f,
                    "{receive}: its head is larger than the {limit}-byte limit"
                )
            }
            Error::BodyTooLarge { limit } => {
                write!(
                    f,
                    "{receive}: its body is larger than the {limit}-byte limit"
                )
            }
            Error::Parse(error) => write!(f, "could not parse the response: {error}"),
            Error::Sink(error) => write!(f, "could not write the body: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve(error) => Some(error),
            Error::Connect { source, .. }
            | Error::Send(source)
            | Error::Receive(source)
            | Error::Sink(source) => Some(source),
            Error::Parse(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ParseError> for Error {
    fn from(error: ParseError) -> Self {
        Error::Parse(error)
    }
}

/// What is wrong with a response that is not valid HTTP/1.x.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The status line or a header line is malformed; httparse says which byte class.
    Head(httparse::Error),
    /// The status code is outside 100–599.
    Status(u16),
    /// The server answered 101 Switching Protocols, which this client never asks for.
    SwitchingProtocols,
    /// More header fields than the parser keeps.
    TooManyHeaders {
        /// The most fields accepted.
        limit: usize,
    },
    /// A `Content-Length` value that is not a number of bytes.
    ContentLength(String),
    /// Two `Content-Length` values that differ.
    ConflictingContentLength,
    /// A `Transfer-Encoding` with `chunked` twice, not last, or an empty coding.
    TransferEncoding,
    /// An HTTP/1.0 response with `Transfer-Encoding`, which HTTP/1.0 does not have.
    TransferEncodingInHttp10,
    /// A chunk-size line that is not hex digits, optional extensions and CRLF.
    ChunkSize,
    /// Chunk data not followed by CRLF (the size was wrong).
    ChunkEnd,
    /// A malformed trailer field after the last chunk.
    Trailers(httparse::Error),
    /// Bytes were fed to a [`ResponseParser`] that had already finished or failed.
    FedAfterEnd,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Head(error) => {
                write!(f, "the status line or a header is malformed ({error})")
            }
            ParseError::Status(code) => {
                write!(f, "status code {code:03} is not between 100 and 599")
            }
            ParseError::SwitchingProtocols => write!(
                f,
                "the server switched protocols (101) though the request did not ask it to"
            ),
            ParseError::TooManyHeaders { limit } => {
                write!(f, "it has more than {limit} header fields")
            }
            ParseError::ContentLength(value) => {
                write!(f, "Content-Length {value:?} is not a number of bytes")
            }
            ParseError::ConflictingContentLength => {
                write!(f, "its Content-Length values disagree")
            }
            ParseError::TransferEncoding => write!(
                f,
                "its Transfer-Encoding is invalid (chunked must come last, and only once)"
            ),
            ParseError::TransferEncodingInHttp10 => write!(
                f,
                "an HTTP/1.0 response cannot use Transfer-Encoding, so its framing is unreliable"
            ),
            ParseError::ChunkSize => write!(f, "a chunk size line is malformed"),
            ParseError::ChunkEnd => write!(f, "a chunk's data is not followed by CRLF"),
            ParseError::Trailers(error) => {
                write!(f, "the trailer section is malformed ({error})")
            }
            ParseError::FedAfterEnd => {
                write!(f, "bytes were fed to a parser that had already finished")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// GETs `path` from `host`:`port`. See the [module documentation](self) for an example.
pub fn get(host: &str, port: u16, path: &str, options: &Options) -> Result<Response, Error> {
    request(Method::Get, host, port, path, options)
}

/// HEADs `path` on `host`:`port`: the response has headers and an empty body.
pub fn head(host: &str, port: u16, path: &str, options: &Options) -> Result<Response, Error> {
    request(Method::Head, host, port, path, options)
}

/// Sends one `method` request for `path` to `host`:`port` and reads the response, within
/// the timeouts and limits of `options`.
pub fn request(
    method: Method,
    host: &str,
    port: u16,
    path: &str,
    options: &Options,
) -> Result<Response, Error> {
    exchange(method, host, port, path, options, None)
}

/// GETs `path` from `host`:`port` and writes the body to `sink` as it arrives, so a large
/// download is never held in memory: the [`Response`] returned has everything but the body.
///
/// The body is written with any chunked framing removed, one read at a time (up to 64 KiB).
/// [`Limits::max_body`] still caps its total size: raise it for a large file. If an error
/// comes after the body has started, `sink` already holds the part that arrived; a failing
/// `sink` is [`Error::Sink`].
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use std::net::TcpListener;
/// use netutil::http::{self, Framing, Options};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let port = listener.local_addr()?.port();
/// std::thread::spawn(move || -> std::io::Result<()> {
///     let (peer, _) = listener.accept()?;
///     let mut request = BufReader::new(&peer);
///     let mut line = String::new();
///     while request.read_line(&mut line)? > 2 {
///         line.clear();
///     }
///     (&peer).write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
///     (&peer).write_all(b"6\r\nhello \r\n")?;
///     (&peer).write_all(b"5\r\nworld\r\n0\r\n\r\n")
/// });
///
/// // Any writer will do: a file, a hasher, std::io::sink() to throw the bytes away.
/// let mut saved = Vec::new();
/// let response = http::get_to("127.0.0.1", port, "/", &Options::default(), &mut saved)?;
/// assert_eq!((response.status, response.framing), (200, Framing::Chunked));
/// assert!(response.body.is_empty());
/// assert_eq!(saved, b"hello world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn get_to<W: Write + ?Sized>(
    host: &str,
    port: u16,
    path: &str,
    options: &Options,
    sink: &mut W,
) -> Result<Response, Error> {
    request_to(Method::Get, host, port, path, options, sink)
}

/// [`request`], writing the body to `sink` as it arrives instead of collecting it: see
/// [`get_to`].
pub fn request_to<W: Write + ?Sized>(
    method: Method,
    host: &str,
    port: u16,
    path: &str,
    options: &Options,
    sink: &mut W,
) -> Result<Response, Error> {
    let mut sink = sink;
    exchange(method, host, port, path, options, Some(&mut sink))
}

/// One exchange: the body goes to `sink` if there is one, into the response if not.
fn exchange(
    method: Method,
    host: &str,
    port: u16,
    path: &str,
    options: &Options,
    sink: Option<&mut dyn Write>,
) -> Result<Response, Error> {
    let text = request_text(method, host, port, path)?;
    let deadline = Instant::now() + options.total_timeout;
    let total = Some((deadline, options.total_timeout));
    let stream = connect_until(host, port, options.connect_timeout, total)?;
    // A timeout is reported as the limit that ran out, which says more than "os error 11".
    let classify = |step, error: io::Error, other: fn(io::Error) -> Error| {
        if !is_timeout(&error) {
            other(error)
        } else if Instant::now() >= deadline {
            let total = options.total_timeout;
            Error::Deadline { step, total }
        } else {
            let after = options.io_timeout;
            Error::Timeout { step, after }
        }
    };

    let mut stream = Bounded {
        stream: &stream,
        io_timeout: options.io_timeout,
        deadline,
        read_timeout: None,
        write_timeout: None,
    };
    stream
        .write_all(text.as_bytes())
        .map_err(|error| classify(Step::Send, error, Error::Send))?;
    receive(&mut stream, method, options.limits, sink).map_err(|error| match error {
        Error::Receive(error) => classify(Step::Receive, error, Error::Receive),
        other => other,
    })
}

/// The bytes of a request: `GET /path HTTP/1.1`, `Host` and `Connection: close`.
///
/// `Host` is required in HTTP/1.1 (one server address often serves many sites); it carries
/// the port when it is not 80, and brackets around an IPv6 address.
///
/// ```
/// use netutil::http::{request_text, Method};
///
/// assert_eq!(
///     request_text(Method::Get, "::1", 8000, "/a?b=c")?,
///     "GET /a?b=c HTTP/1.1\r\nHost: [::1]:8000\r\nConnection: close\r\n\r\n"
/// );
/// assert!(request_text(Method::Get, "example.com", 80, "no slash").is_err());
/// # Ok::<(), netutil::http::Error>(())
/// ```
pub fn request_text(method: Method, host: &str, port: u16, path: &str) -> Result<String, Error> {
    if host.is_empty() || host.bytes().any(|b| is_unsafe_in_request(b) || b == b'/') {
        return Err(Error::InvalidRequest(
            "the host must be a name or an address, with no spaces or slashes",
        ));
    }
    check_path(path)?;
    Ok(format!(
        "{} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        method.as_str(),
        host_header(host, port)
    ))
}

/// Checks that `path` can go into a request line as it is: it starts with `/` and has no
/// space, control character or non-ASCII byte, any of which would end the line early or
/// need percent-encoding (`%20`).
///
/// ```
/// use netutil::http::check_path;
///
/// assert!(check_path("/search?q=rust").is_ok());
/// assert!(check_path("/a b").is_err());
/// assert!(check_path("index.html").is_err());
/// ```
pub fn check_path(path: &str) -> Result<(), Error> {
    if !path.starts_with('/') {
        return Err(Error::InvalidRequest("the path must start with /"));
    }
    if path.bytes().any(is_unsafe_in_request) {
        return Err(Error::InvalidRequest(
            "the path may not contain spaces, control characters or non-ASCII text (percent-encode them: %20)",
        ));
    }
    Ok(())
}

/// The value of the `Host` header for `host`:`port`: the name as given, in brackets if it is
/// an IPv6 address, with the port unless it is HTTP's default 80.
///
/// ```
/// use netutil::http::host_header;
///
/// assert_eq!(host_header("www.google.com", 80), "www.google.com");
/// assert_eq!(host_header("127.0.0.1", 8000), "127.0.0.1:8000");
/// assert_eq!(host_header("::1", 8000), "[::1]:8000");
/// ```
pub fn host_header(host: &str, port: u16) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    if port == 80 {
        host
    } else {
        format!("{host}:{port}")
    }
}

/// A space or a line break would end the request line or a header early.
fn is_unsafe_in_request(byte: u8) -> bool {
    byte <= b' ' || byte >= 0x7f
}

/// Connects to `host`:`port`, trying each resolved address (IPv6 and IPv4) in the resolver's
/// order, each for up to `timeout`.
pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Error> {
    connect_until(host, port, timeout, None)
}

/// [`connect`], giving up once `total` (a deadline and the timeout it came from) runs out.
fn connect_until(
    host: &str,
    port: u16,
    timeout: Duration,
    total: Option<(Instant, Duration)>,
) -> Result<TcpStream, Error> {
    let addresses = lookup::resolve(host).map_err(Error::Resolve)?;
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the name has no addresses");
    for ip in &addresses {
        let mut attempt = timeout;
        if let Some((deadline, total)) = total {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let step = Step::Connect;
                return Err(Error::Deadline { step, total });
            }
            attempt = attempt.min(left);
        }
        match TcpStream::connect_timeout(&SocketAddr::new(*ip, port), attempt) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = error,
        }
    }
    Err(Error::Connect {
        host: host.to_owned(),
        port,
        tried: addresses.len(),
        source: last_error,
    })
}

/// Reads one response to a `method` request from `reader`, stopping where its framing says
/// it ends (so a keep-alive connection is fine), or at end of stream for a close-delimited
/// body. Timeouts are the reader's own: set them on the socket first.
///
/// ```
/// use netutil::http::{read_response, Limits, Method};
///
/// let wire = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nnope";
/// let response = read_response(&mut &wire[..], Method::Get, Limits::default())?;
/// assert_eq!((response.status, response.reason.as_str()), (404, "Not Found"));
/// assert_eq!(response.header("Content-Type"), Some("text/plain"));
/// assert_eq!(response.body, b"nope");
/// # Ok::<(), netutil::http::Error>(())
/// ```
pub fn read_response<R: Read + ?Sized>(
    reader: &mut R,
    method: Method,
    limits: Limits,
) -> Result<Response, Error> {
    receive(reader, method, limits, None)
}

/// [`read_response`], writing the body to `sink` as it arrives (with any chunked framing
/// removed) instead of collecting it; the response returned has an empty body.
/// [`Limits::max_body`] still caps the total.
///
/// ```
/// use netutil::http::{read_response_to, Limits, Method};
///
/// let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
/// let mut body = Vec::new();
/// let response = read_response_to(&mut &wire[..], Method::Get, Limits::default(), &mut body)?;
/// assert_eq!((response.status, response.body.len()), (200, 0));
/// assert_eq!(body, b"hi");
/// # Ok::<(), netutil::http::Error>(())
/// ```
pub fn read_response_to<R: Read + ?Sized, W: Write + ?Sized>(
    reader: &mut R,
    method: Method,
    limits: Limits,
    sink: &mut W,
) -> Result<Response, Error> {
    let mut sink = sink;
    receive(reader, method, limits, Some(&mut sink))
}

/// The receive loop of every call: reads into one reusable buffer and feeds the parser. With
/// a `sink`, the parser streams and its body is drained into the sink after every read.
fn receive<R: Read + ?Sized>(
    reader: &mut R,
    method: Method,
    limits: Limits,
    mut sink: Option<&mut dyn Write>,
) -> Result<Response, Error> {
    let mut parser = match sink {
        Some(_) => ResponseParser::streaming(method, limits),
        None => ResponseParser::new(method, limits),
    };
    let mut buffer = vec![0; 64 * 1024];
    let mut response = loop {
        let received = match reader.read(&mut buffer) {
            Ok(received) => received,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(Error::Receive(error)),
        };
        if received == 0 {
            break parser.closed()?;
        }
        if let Some(response) = parser.feed(&buffer[..received])? {
            break response;
        }
        if let Some(sink) = sink.as_mut() {
            parser.drain_body_to(sink).map_err(Error::Sink)?;
        }
    };
    if let Some(sink) = sink {
        sink.write_all(&response.body).map_err(Error::Sink)?;
        sink.flush().map_err(Error::Sink)?;
        response.body = Vec::new();
    }
    Ok(response)
}

/// A stream whose every read and write waits at most the I/O timeout, and never past the
/// deadline of the whole exchange.
struct Bounded<'a> {
    stream: &'a TcpStream,
    io_timeout: Duration,
    deadline: Instant,
    /// The timeouts the socket has now: setting one is a system call, so it is made only when
    /// the value changes (while the deadline is far, the I/O timeout stays the same).
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl Bounded<'_> {
    fn timeout(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the total timeout ran out",
            ));
        }
        Ok(self.io_timeout.min(left))
    }
}

impl Read for Bounded<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let timeout = Some(self.timeout()?);
        if self.read_timeout != timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        (&mut &*self.stream).read(buffer)
    }
}

impl Write for Bounded<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let timeout = Some(self.timeout()?);
        if self.write_timeout != timeout {
            self.stream.set_write_timeout(timeout)?;
            self.write_timeout = timeout;
        }
        (&mut &*self.stream).write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
