//! The response parser: bytes in, a [`Response`] out, with no I/O of its own.
//!
//! Keeping the parser free of sockets means the same code frames a response read from a
//! `TcpStream`, from a test's byte array, or from bytes that arrive one at a time, and a
//! lesson can show its own receive loop while the rules of RFC 9112 stay here.

use std::fmt;
use std::io::{self, Write};

use super::{Error, Method, ParseError};

/// The most header lines a head (or a trailer section) may have.
const MAX_HEADERS: usize = 128;

/// The longest chunk-size line (size, extensions and CRLF) the parser waits for.
const MAX_CHUNK_LINE: usize = 4096;

/// Size limits that keep a misbehaving server from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes a response head may take, status line and headers included (interim
    /// `1xx` heads count too). Default 64 KiB.
    pub max_head: usize,
    /// The most bytes a body may have after any chunked framing is removed. Default 64 MiB.
    /// It caps the total received even when the body is streamed to a writer and never held
    /// in memory ([`read_response_to`](super::read_response_to)): raise it for large downloads.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 64 * 1024,
            max_body: 64 * 1024 * 1024,
        }
    }
}

/// How the end of a body was found (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The response has no body by rule: an answer to HEAD, or status 204 or 304.
    NoBody,
    /// `Content-Length` said how many bytes follow the head.
    ContentLength(u64),
    /// `Transfer-Encoding: chunked`: chunks, each with its size, ended by a zero-size chunk.
    Chunked,
    /// No length was given: the body is everything until the server closes the connection.
    UntilClose,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Framing::NoBody => f.write_str("no body by rule"),
            Framing::ContentLength(length) => write!(f, "Content-Length: {length}"),
            Framing::Chunked => f.write_str("Transfer-Encoding: chunked"),
            Framing::UntilClose => f.write_str("read until the server closed"),
        }
    }
}

/// A complete HTTP/1.x response.
///
/// Header names keep the case the server sent; look them up with [`Response::header`], which
/// ignores case as HTTP requires. Values are text: bytes that are not UTF-8 (rare, and
/// obsolete in HTTP) show as U+FFFD. The body is exactly the bytes of the content, with any
/// chunked framing removed; other codings (such as gzip) are left as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The minor version of `HTTP/1.x` in the status line: 0 or 1.
    pub version: u8,
    /// The status code, such as 200 or 404.
    pub status: u16,
    /// The reason phrase after the code, such as `OK`; it may be empty.
    pub reason: String,
    /// The header fields, in the order they arrived.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Trailer fields sent after a chunked body, if any.
    pub trailers: Vec<(String, String)>,
    /// How the end of the body was found.
    pub framing: Framing,
}

impl Response {
    /// The first value of header `name`, ignoring case: `response.header("content-type")`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of header `name`, ignoring case, in the order they arrived.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The status line as it was sent, without CRLF: `HTTP/1.1 200 OK`.
    pub fn status_line(&self) -> String {
        format!("HTTP/1.{} {} {}", self.version, self.status, self.reason)
    }
}

/// Where the parser is in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Length { remaining: u64 },
    ChunkSize,
    ChunkData { remaining: u64 },
    ChunkDataEnd,
    Trailers,
    UntilClose,
    Done,
    Failed,
}

/// Turns the bytes of one response, fed in pieces of any size, into a [`Response`].
///
/// Feed it what each `read` returned; [`feed`](ResponseParser::feed) answers `Some(response)`
/// as soon as the framing says the response is complete, so the reader never waits for a
/// keep-alive server to close. When a read returns 0 (the server closed), call
/// [`closed`](ResponseParser::closed): that ends a close-delimited body, and is an error for
/// any other response that is not complete yet.
///
/// A parser made with [`streaming`](ResponseParser::streaming) keeps only the body bytes
/// that arrived since the last [`drain_body_to`](ResponseParser::drain_body_to), so a body of
/// any size flows through a buffer the size of one read.
///
/// ```
/// use netutil::http::{Framing, Limits, Method, ResponseParser};
///
/// let mut parser = ResponseParser::new(Method::Get, Limits::default());
/// // Chunk boundaries may fall anywhere, even inside the status line.
/// assert_eq!(parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Enc")?, None);
/// assert_eq!(parser.feed(b"oding: chunked\r\n\r\n4\r\nRu")?, None);
/// let response = parser.feed(b"st\r\n0\r\n\r\n")?.expect("the last chunk ends it");
/// assert_eq!(response.body, b"Rust");
/// assert_eq!(response.framing, Framing::Chunked);
/// # Ok::<(), netutil::http::Error>(())
/// ```
#[derive(Debug)]
pub struct ResponseParser {
    method: Method,
    limits: Limits,
    state: State,
    /// Received bytes the parser has not used yet.
    pending: Vec<u8>,
    /// Bytes of all heads so far, interim ones included.
    head_bytes: usize,
    /// Body bytes received so far, drained ones included: the body limit applies to this.
    body_bytes: u64,
    /// Whether the body is drained as it arrives rather than collected.
    streaming: bool,
    response: Response,
}

impl ResponseParser {
    /// A parser for the response to a `method` request, enforcing `limits`.
    pub fn new(method: Method, limits: Limits) -> Self {
        ResponseParser {
            method,
            limits,
            state: State::Head,
            pending: Vec::new(),
            head_bytes: 0,
            body_bytes: 0,
            streaming: false,
            response: Response {
                version: 1,
                status: 0,
                reason: String::new(),
                headers: Vec::new(),
                body: Vec::new(),
                trailers: Vec::new(),
                framing: Framing::UntilClose,
            },
        }
    }

    /// A parser whose caller takes the body as it arrives with
    /// [`drain_body_to`](ResponseParser::drain_body_to), so the body is never held whole:
    /// it does not set memory aside for the announced `Content-Length`. `limits.max_body`
    /// still caps the total.
    ///
    /// ```
    /// use netutil::http::{Limits, Method, ResponseParser};
    ///
    /// let mut parser = ResponseParser::streaming(Method::Get, Limits::default());
    /// let mut saved = Vec::new();
    /// assert_eq!(parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc")?, None);
    /// parser.drain_body_to(&mut saved)?;
    /// let mut response = parser.feed(b"def")?.expect("six bytes end it");
    /// saved.extend_from_slice(&response.body); // the last piece comes with the response
    /// assert_eq!(saved, b"abcdef");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn streaming(method: Method, limits: Limits) -> Self {
        ResponseParser {
            streaming: true,
            ..ResponseParser::new(method, limits)
        }
    }

    /// Writes the body bytes received since the last call (with any chunked framing removed)
    /// to `sink`, and forgets them. The response that [`feed`](ResponseParser::feed) or
    /// [`closed`](ResponseParser::closed) returns then holds only the bytes that came after.
    pub fn drain_body_to<W: Write + ?Sized>(&mut self, sink: &mut W) -> io::Result<()> {
        sink.write_all(&self.response.body)?;
        self.response.body.clear();
        Ok(())
    }

    /// Feeds the next bytes received. Returns the response once it is complete, `None` while
    /// more bytes are needed, and an error for anything malformed or over a limit (after
    /// which the parser stays failed). Bytes after the end of the response are ignored.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Response>, Error> {
        match self.state {
            State::Done | State::Failed => return Err(ParseError::FedAfterEnd.into()),
            // Parsing a head is only worth trying once a line has ended; this keeps a head
            // that arrives one byte at a time from being parsed once per byte. Past the size
            // limit it is parsed anyway, so that the answer (a malformed head, or one too
            // large) is the one the same bytes would get in one piece.
            State::Head
                if !bytes.contains(&b'\n')
                    && self.pending.len() + bytes.len() <= self.head_room() =>
            {
                self.pending.extend_from_slice(bytes);
                return Ok(None);
            }
            _ => {}
        }
        // Body bytes that arrive with nothing pending go straight into the body: through
        // `pending` every byte of a large download would be copied twice.
        let bytes = if self.pending.is_empty() {
            match self.body_step(bytes) {
                Ok(taken) => &bytes[taken..],
                Err(error) => {
                    self.state = State::Failed;
                    return Err(error);
                }
            }
        } else {
            bytes
        };
        self.pending.extend_from_slice(bytes);
        match self.advance() {
            Ok(()) if self.state == State::Done => Ok(Some(self.take())),
            Ok(()) => Ok(None),
            Err(error) => {
                self.state = State::Failed;
                Err(error)
            }
        }
    }

    /// Tells the parser the server closed the connection. A close-delimited body ends here;
    /// any other unfinished response was cut short, which is an error.
    pub fn closed(mut self) -> Result<Response, Error> {
        let received = self.body_bytes;
        match self.state {
            State::UntilClose => Ok(self.take()),
            State::Head if self.head_bytes == 0 && self.pending.is_empty() => {
                Err(Error::Closed(Cut::BeforeResponse))
            }
            // `feed` waits for a line end before it parses a head: the bytes held back may
            // already be malformed, and that is the answer the same bytes get in one piece.
            State::Head => match self.parse_head(0) {
                Err(error) => Err(error),
                Ok(_) => Err(Error::Closed(Cut::InHead)),
            },
            State::Length { remaining } => Err(Error::Closed(Cut::InBody {
                received,
                expected: Some(received + remaining),
            })),
            State::ChunkSize | State::ChunkData { .. } | State::ChunkDataEnd | State::Trailers => {
                Err(Error::Closed(Cut::InBody {
                    received,
                    expected: None,
                }))
            }
            State::Done | State::Failed => Err(ParseError::FedAfterEnd.into()),
        }
    }

    fn take(&mut self) -> Response {
        self.state = State::Done;
        let empty = ResponseParser::new(self.method, self.limits).response;
        std::mem::replace(&mut self.response, empty)
    }

    /// How many more bytes of heads (and trailers) the limit allows.
    fn head_room(&self) -> usize {
        self.limits.max_head.saturating_sub(self.head_bytes)
    }

    /// The error for a head (or trailer section) that would not end within the limit.
    fn head_too_large(&self) -> Error {
        Error::HeadTooLarge {
            limit: self.limits.max_head,
        }
    }

    /// In a body state, moves as many of `bytes` into the body as the framing allows and
    /// returns how many it took (0 in any other state).
    fn body_step(&mut self, bytes: &[u8]) -> Result<usize, Error> {
        let body = &mut self.response.body;
        let take = match self.state {
            State::Length { remaining } | State::ChunkData { remaining } => bytes
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX)),
            State::UntilClose => bytes.len(),
            _ => return Ok(0),
        };
        if self.body_bytes.saturating_add(take as u64) > self.limits.max_body as u64 {
            return Err(Error::BodyTooLarge {
                limit: self.limits.max_body,
            });
        }
        self.body_bytes += take as u64;
        body.extend_from_slice(&bytes[..take]);
        self.state = match self.state {
            State::Length { remaining } if remaining == take as u64 => State::Done,
            State::Length { remaining } => State::Length {
                remaining: remaining - take as u64,
            },
            State::ChunkData { remaining } if remaining == take as u64 => State::ChunkDataEnd,
            State::ChunkData { remaining } => State::ChunkData {
                remaining: remaining - take as u64,
            },
            other => other,
        };
        Ok(take)
    }

    /// Uses as many pending bytes as the current state allows, then keeps the rest.
    fn advance(&mut self) -> Result<(), Error> {
        let mut used = 0;
        let result = self.advance_from(&mut used);
        self.pending.drain(..used);
        result
    }

    fn advance_from(&mut self, used: &mut usize) -> Result<(), Error> {
        loop {
            // Copying the unused bytes out would cost a copy per step; indexes keep the
            // borrow of `pending` short instead.
            match self.state {
                State::Head => match self.parse_head(*used)? {
                    Some(length) => *used += length,
                    None => return Ok(()),
                },
                State::Length { .. } | State::ChunkData { .. } | State::UntilClose => {
                    let pending = std::mem::take(&mut self.pending);
                    let taken = self.body_step(&pending[*used..]);
                    self.pending = pending;
                    *used += taken?;
                    if *used == self.pending.len() {
                        return Ok(());
                    }
                }
                State::ChunkSize => {
                    // Only as much as the longest line allowed is parsed, so that a line too
                    // long is an error however its bytes arrive (see `parse_head`).
                    let rest = &self.pending[*used..];
                    let line = &rest[..rest.len().min(MAX_CHUNK_LINE)];
                    // httparse would read an empty size as 0; RFC 9112 §7.1 needs a digit.
                    if line.first().is_some_and(|b| !b.is_ascii_hexdigit()) {
                        return Err(ParseError::ChunkSize.into());
                    }
                    match httparse::parse_chunk_size(line) {
                        Ok(httparse::Status::Complete((length, size))) => {
                            *used += length;
                            if size == 0 {
                                self.state = State::Trailers;
                            } else if self.body_bytes.saturating_add(size)
                                > self.limits.max_body as u64
                            {
                                return Err(Error::BodyTooLarge {
                                    limit: self.limits.max_body,
                                });
                            } else {
                                self.state = State::ChunkData { remaining: size };
                            }
                        }
                        Ok(httparse::Status::Partial) if rest.len() < MAX_CHUNK_LINE => {
                            return Ok(());
                        }
                        Ok(httparse::Status::Partial) | Err(_) => {
                            return Err(ParseError::ChunkSize.into());
                        }
                    }
                }
                State::ChunkDataEnd => {
                    let rest = &self.pending[*used..];
                    if rest.starts_with(b"\r\n") {
                        *used += 2;
                    } else if rest.is_empty() || rest == b"\r" {
                        return Ok(());
                    } else {
                        return Err(ParseError::ChunkEnd.into());
                    }
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    // Trailers count toward the head limit, cut the way `parse_head` does.
                    let rest = &self.pending[*used..];
                    let room = self.head_room();
                    let section = &rest[..rest.len().min(room)];
                    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
                    match httparse::parse_headers(section, &mut fields) {
                        Ok(httparse::Status::Complete((length, fields))) => {
                            self.response.trailers = text_fields(fields);
                            self.head_bytes += length;
                            *used += length;
                            self.state = State::Done;
                        }
                        Ok(httparse::Status::Partial) if rest.len() < room => return Ok(()),
                        Ok(httparse::Status::Partial) => return Err(self.head_too_large()),
                        Err(httparse::Error::TooManyHeaders) => {
                            return Err(ParseError::TooManyHeaders { limit: MAX_HEADERS }.into());
                        }
                        Err(error) => return Err(ParseError::Trailers(error).into()),
                    }
                }
                State::Done | State::Failed => return Ok(()),
            }
            if self.state == State::Done {
                return Ok(());
            }
        }
    }

    /// Parses a head starting at `start` of the pending bytes: `None` if it is not complete
    /// yet, else its length, after choosing the body framing (or skipping an interim `1xx`).
    ///
    /// Only the bytes the size limit still allows are parsed: a head that has not ended
    /// within them is too large. So the answer never depends on how the bytes were cut: a
    /// head whose end arrives in the same read as its start is held to the same limit, and
    /// a malformed byte inside the limit is reported as such in every case.
    fn parse_head(&mut self, start: usize) -> Result<Option<usize>, Error> {
        let room = self.head_room();
        let rest = &self.pending[start..];
        let bytes = &rest[..rest.len().min(room)];
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Response::new(&mut fields);
        let length = match head.parse(bytes) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) if rest.len() < room => return Ok(None),
            Ok(httparse::Status::Partial) => {
                return Err(Error::HeadTooLarge {
                    limit: self.limits.max_head,
                });
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ParseError::TooManyHeaders { limit: MAX_HEADERS }.into());
            }
            Err(error) => return Err(ParseError::Head(error).into()),
        };
        self.head_bytes += length;
        let (Some(version), Some(status)) = (head.version, head.code) else {
            return Err(ParseError::Head(httparse::Error::Status).into());
        };
        if !(100..=599).contains(&status) {
            return Err(ParseError::Status(status).into());
        }
        if status == 101 {
            return Err(ParseError::SwitchingProtocols.into());
        }
        if status < 200 {
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            return Ok(Some(length));
        }
        let framing = framing(self.method, version, status, head.headers)?;
        if let Framing::ContentLength(declared) = framing {
            let declared = usize::try_from(declared)
                .ok()
                .filter(|&declared| declared <= self.limits.max_body)
                .ok_or(Error::BodyTooLarge {
                    limit: self.limits.max_body,
                })?;
            // One allocation of the announced size instead of a doubling Vec that copies the
            // body again at every step. It is within max_body, and the memory is only touched
            // as bytes arrive, so a server that lies about the length costs nothing extra.
            // A streaming parser keeps one read's worth at a time, and needs none of it.
            if !self.streaming {
                self.response.body.reserve_exact(declared);
            }
        }
        self.response.version = version;
        self.response.status = status;
        self.response.reason = head.reason.unwrap_or_default().to_owned();
        self.response.headers = text_fields(head.headers);
        self.response.framing = framing;
        self.state = match framing {
            Framing::NoBody | Framing::ContentLength(0) => State::Done,
            Framing::ContentLength(remaining) => State::Length { remaining },
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Ok(Some(length))
    }
}

/// Chooses how the body ends, in the order of RFC 9112 §6.3.
fn framing(
    method: Method,
    version: u8,
    status: u16,
    fields: &[httparse::Header<'_>],
) -> Result<Framing, ParseError> {
    if method == Method::Head || status == 204 || status == 304 {
        return Ok(Framing::NoBody);
    }
    let values = |name: &'static str| {
        fields
            .iter()
            .filter(move |field| field.name.eq_ignore_ascii_case(name))
            .flat_map(|field| field.value.split(|&b| b == b','))
            .map(|item| item.trim_ascii())
    };
    if fields
        .iter()
        .any(|field| field.name.eq_ignore_ascii_case("transfer-encoding"))
    {
        // §6.1: an HTTP/1.0 message cannot carry Transfer-Encoding, so its framing is faulty.
        if version == 0 {
            return Err(ParseError::TransferEncodingInHttp10);
        }
        let codings: Vec<&[u8]> = values("transfer-encoding").collect();
        let chunked = |coding: &&[u8]| coding.eq_ignore_ascii_case(b"chunked");
        if codings.iter().any(|coding| coding.is_empty()) {
            return Err(ParseError::TransferEncoding);
        }
        return match codings.iter().position(chunked) {
            // Transfer-Encoding wins over any Content-Length (§6.3 item 3).
            Some(index) if index + 1 == codings.len() => Ok(Framing::Chunked),
            // chunked may be applied once, and only last.
            Some(_) => Err(ParseError::TransferEncoding),
            // Other codings without chunked last: for a response, the close ends the body.
            None => Ok(Framing::UntilClose),
        };
    }
    let mut length = None;
    for value in values("content-length") {
        let parsed = std::str::from_utf8(value)
            .ok()
            .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| ParseError::ContentLength(String::from_utf8_lossy(value).into()))?;
        // Repeats of the same number are allowed (§6.3 item 5); different numbers are not.
        if length.is_some_and(|known| known != parsed) {
            return Err(ParseError::ConflictingContentLength);
        }
        length = Some(parsed);
    }
    Ok(length.map_or(Framing::UntilClose, Framing::ContentLength))
}

fn text_fields(fields: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|field| {
            let value = String::from_utf8_lossy(field.value).into_owned();
            (field.name.to_owned(), value)
        })
        .collect()
}

/// Where a response was cut short by the server closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Nothing at all arrived.
    BeforeResponse,
    /// The head had started but was not complete.
    InHead,
    /// The body had started but was not complete.
    InBody {
        /// Body bytes received.
        received: u64,
        /// The length `Content-Length` announced; unknown for a chunked body.
        expected: Option<u64>,
    },
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cut::BeforeResponse => f.write_str("before sending any response"),
            Cut::InHead => f.write_str("in the middle of the response head"),
            Cut::InBody {
                received,
                expected: Some(expected),
            } => write!(f, "after {received} of {expected} body bytes"),
            Cut::InBody {
                received,
                expected: None,
            } => write!(
                f,
                "in the middle of the chunked body (after {received} bytes)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &[u8], piece: usize, method: Method) -> Result<Response, Error> {
        let mut parser = ResponseParser::new(method, Limits::default());
        for part in input.chunks(piece.max(1)) {
            if let Some(response) = parser.feed(part)? {
                return Ok(response);
            }
        }
        parser.closed()
    }

    fn parse(input: &[u8]) -> Result<Response, Error> {
        parse_in_pieces(input, input.len(), Method::Get)
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value\r\nHello\r\n8 ; last\r\n, world!\r\n0\r\nExpires: never\r\nX-Sum: 42\r\n\r\n";

    #[test]
    fn content_length_frames_the_body_and_ignores_what_follows() {
        let response = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHelloEXTRA").unwrap();
        assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
        assert_eq!(response.body, b"Hello");
        assert_eq!(response.framing, Framing::ContentLength(5));
        assert_eq!(response.header("CONTENT-length"), Some("5"));
    }

    #[test]
    fn chunked_with_extensions_and_trailers_in_any_split() {
        for piece in [1, 2, 3, 7, CHUNKED.len()] {
            let response = parse_in_pieces(CHUNKED, piece, Method::Get).unwrap();
            assert_eq!(response.body, b"Hello, world!", "pieces of {piece}");
            assert_eq!(response.framing, Framing::Chunked);
            assert_eq!(
                response.trailers,
                vec![
                    ("Expires".to_owned(), "never".to_owned()),
                    ("X-Sum".to_owned(), "42".to_owned())
                ]
            );
        }
    }

    #[test]
    fn chunked_wins_over_content_length() {
        let response = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
              2\r\nhi\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(response.body, b"hi");
    }

    #[test]
    fn transfer_encoding_without_final_chunked_reads_until_close() {
        let response =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes").unwrap();
        assert_eq!(response.framing, Framing::UntilClose);
        assert_eq!(response.body, b"raw bytes");
    }

    #[test]
    fn close_delimited_body_needs_the_close() {
        let mut parser = ResponseParser::new(Method::Get, Limits::default());
        assert_eq!(parser.feed(b"HTTP/1.0 200 OK\r\n\r\nsome").unwrap(), None);
        assert_eq!(parser.feed(b" text").unwrap(), None);
        let response = parser.closed().unwrap();
        assert_eq!(
            (response.version, response.body),
            (0, b"some text".to_vec())
        );
    }

    #[test]
    fn no_body_for_head_204_304_even_with_a_length() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let response = parse_in_pieces(head, head.len(), Method::Head).unwrap();
        assert_eq!(
            (response.framing, response.body.len()),
            (Framing::NoBody, 0)
        );
        for status in ["204 No Content", "304 Not Modified"] {
            let text = format!("HTTP/1.1 {status}\r\nContent-Length: 7\r\n\r\n");
            assert_eq!(parse(text.as_bytes()).unwrap().framing, Framing::NoBody);
        }
    }

    #[test]
    fn interim_responses_are_skipped() {
        let response = parse(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
              HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        )
        .unwrap();
        assert_eq!((response.status, &response.body[..]), (201, &b"ok"[..]));
        assert_eq!(response.header("link"), None);
    }

    #[test]
    fn bare_line_feeds_end_head_lines_but_not_chunk_lines() {
        // RFC 9112 §2.2 lets a recipient accept a bare LF in the head; httparse does. Chunk
        // lines are framing, where leniency invites disagreements, so they need CRLF.
        let response = parse(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok").unwrap();
        assert_eq!(response.body, b"ok");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n";
        assert!(parse(chunked).is_err());
    }

    #[test]
    fn cut_responses_say_where() {
        let cut = |input: &[u8]| match parse(input) {
            Err(Error::Closed(cut)) => cut,
            other => panic!("expected a cut, got {other:?}"),
        };
        assert_eq!(cut(b""), Cut::BeforeResponse);
        assert_eq!(cut(b"HTTP/1.1 200 OK\r\nContent-"), Cut::InHead);
        assert_eq!(
            cut(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
            Cut::InBody {
                received: 3,
                expected: Some(10)
            }
        );
        assert_eq!(
            cut(&CHUNKED[..66]),
            Cut::InBody {
                received: 5,
                expected: None
            }
        );
    }

    #[test]
    fn malformed_framing_is_an_error() {
        let cases: &[(&[u8], &str)] = &[
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "\"1x\""),
            (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "\"-1\""),
            (b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "\"\""),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
                "99999999999999999999",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                "disagree",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
                "disagree",
            ),
            (
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                "HTTP/1.0",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n",
                "Transfer-Encoding",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n",
                "Transfer-Encoding",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
                "chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
                "CRLF",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
                "trailer",
            ),
            (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101"),
            (b"HTTP/1.1 099 Odd\r\n\r\n", "099"),
            (b"HTTP/1.1 600 Odd\r\n\r\n", "600"),
            (b"HTTX/1.1 200 OK\r\n\r\n", "status line"),
            (b"HTTP/1.1 2000 OK\r\n\r\n", "status line"),
        ];
        for (input, expected) in cases {
            let error = parse(input).expect_err(&String::from_utf8_lossy(input));
            let message = error.to_string();
            assert!(
                message.starts_with("could not parse the response: ") && message.contains(expected),
                "{message:?} for {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn limits_are_enforced_with_clear_errors() {
        let limits = Limits {
            max_head: 64,
            max_body: 8,
        };
        let feed = |input: &[u8]| {
            let mut parser = ResponseParser::new(Method::Get, limits);
            parser.feed(input).and_then(|done| match done {
                Some(response) => Ok(response),
                None => parser.closed(),
            })
        };
        let long_head = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(100));
        assert!(matches!(
            feed(long_head.as_bytes()),
            Err(Error::HeadTooLarge { limit: 64 })
        ));
        // Without a line end the head is still limited.
        let endless_reason = format!("HTTP/1.1 200 {}", "a".repeat(100));
        assert!(matches!(
            feed(endless_reason.as_bytes()),
            Err(Error::HeadTooLarge { limit: 64 })
        ));
        for body in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n4\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n123456789",
        ] {
            let error = feed(body).unwrap_err();
            assert!(
                matches!(error, Error::BodyTooLarge { limit: 8 }),
                "{error:?}"
            );
            assert!(error.to_string().contains("8-byte"), "{error}");
        }
        assert!(feed(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n12345678").is_ok());
        // The largest size httparse reads (16 hex digits) must not overflow the check.
        let huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n";
        assert!(matches!(parse(huge), Err(Error::BodyTooLarge { .. })));
    }

    #[test]
    fn a_streaming_parser_hands_over_the_body_and_limits_the_total() {
        let limits = Limits {
            max_head: 1024,
            max_body: 10,
        };
        let mut parser = ResponseParser::streaming(Method::Get, limits);
        assert_eq!(parser.feed(b"HTTP/1.1 200 OK\r\n\r\n123456").unwrap(), None);
        let mut sink = Vec::new();
        parser.drain_body_to(&mut sink).unwrap();
        assert_eq!(
            (sink.as_slice(), parser.response.body.len()),
            (&b"123456"[..], 0)
        );
        // Six bytes drained and five more: over the limit, though the parser holds only five.
        assert!(matches!(
            parser.feed(b"78901"),
            Err(Error::BodyTooLarge { limit: 10 })
        ));

        let mut parser = ResponseParser::streaming(Method::Get, Limits::default());
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nab";
        assert_eq!(parser.feed(head).unwrap(), None);
        // Nothing set aside for the announced megabyte: the body is not collected.
        assert!(
            parser.response.body.capacity() < 1000,
            "{}",
            parser.response.body.capacity()
        );
        parser.drain_body_to(&mut Vec::new()).unwrap();
        match parser.closed() {
            Err(Error::Closed(cut)) => assert_eq!(
                cut,
                Cut::InBody {
                    received: 2,
                    expected: Some(1000000)
                }
            ),
            other => panic!("expected a cut, got {other:?}"),
        }
    }

    #[test]
    fn too_many_headers_is_an_error() {
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        for index in 0..=MAX_HEADERS {
            head.push_str(&format!("X-{index}: y\r\n"));
        }
        head.push_str("\r\n");
        assert!(matches!(
            parse(head.as_bytes()),
            Err(Error::Parse(ParseError::TooManyHeaders { .. }))
        ));
    }

    #[test]
    fn a_failed_or_finished_parser_refuses_more_bytes() {
        let mut parser = ResponseParser::new(Method::Get, Limits::default());
        assert!(parser.feed(b"nonsense\r\n").is_err());
        assert!(parser.feed(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    /// A small xorshift generator: the fuzz-like tests below are reproducible.
    fn random_bytes(seed: &mut u64, length: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..length)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                alphabet[(*seed % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn random_and_truncated_input_never_panics() {
        let samples: [&[u8]; 3] = [
            CHUNKED,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d;
        let alphabet = b"HTP/1.0 2\r\n:;=abcdefxzContent-LengthTransfer-Encodingchunked\x00\xff";
        for round in 0..3000 {
            let input = match round % 3 {
                // Pure noise from bytes that matter to an HTTP parser.
                0 => random_bytes(&mut seed, round % 200, alphabet),
                // A valid response with one byte changed.
                1 => {
                    let mut bytes = samples[round % samples.len()].to_vec();
                    let at = (seed as usize) % bytes.len();
                    bytes[at] = random_bytes(&mut seed, 1, alphabet)[0];
                    bytes
                }
                // A valid response cut anywhere.
                _ => {
                    let sample = samples[round % samples.len()];
                    sample[..(seed as usize) % sample.len()].to_vec()
                }
            };
            let piece = 1 + round % 5;
            // Ok or Err are both fine; a panic fails the test.
            let _ = parse_in_pieces(&input, piece, Method::Get);
        }
    }

    #[test]
    fn every_truncation_of_a_valid_response_is_an_error() {
        for cut in 0..CHUNKED.len() {
            assert!(parse(&CHUNKED[..cut]).is_err(), "cut at {cut}");
        }
    }
}
