//! netutil::http and the HTTP client lessons (socket_01..05) against servers written here, on
//! 127.0.0.1 and ::1, each showing one way a real server frames (or mangles) a response.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use netutil::http::{self, Cut, Error, Framing, Limits, Options, Step};
use support::run_lesson;

/// Starts a server on `bind` (port 0) that answers every connection, one after another, by
/// calling `answer` with the stream and the request head it read. The thread lives until the
/// test binary exits.
fn serve_on<F>(bind: &str, answer: F) -> SocketAddr
where
    F: Fn(&mut TcpStream, String) + Send + 'static,
{
    let listener = TcpListener::bind(bind).expect("bind a loopback port");
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let request = read_request_head(&mut stream);
            answer(&mut stream, request);
        }
    });
    address
}

fn serve<F>(answer: F) -> SocketAddr
where
    F: Fn(&mut TcpStream, String) + Send + 'static,
{
    serve_on("127.0.0.1:0", answer)
}

/// Reads up to the blank line that ends a request head (or the end of the stream), a byte at
/// a time so that nothing after the head is consumed.
fn read_request_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Keeps the connection open, as a keep-alive server does, until the client closes it.
fn hold_open(stream: &mut TcpStream) {
    let mut sink = [0; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// A server that writes `response` and then keeps the connection open.
fn keep_alive(response: &'static [u8]) -> SocketAddr {
    serve(move |stream, _| {
        let _ = stream.write_all(response);
        hold_open(stream);
    })
}

/// A server that writes `response` and closes.
fn then_close(response: &'static [u8]) -> SocketAddr {
    serve(move |stream, _| {
        let _ = stream.write_all(response);
    })
}

/// Generous timeouts: a test that needs them to fire sets its own.
fn options() -> Options {
    Options {
        connect_timeout: Duration::from_secs(5),
        io_timeout: Duration::from_secs(20),
        total_timeout: Duration::from_secs(40),
        limits: Limits::default(),
    }
}

fn get(address: SocketAddr, path: &str) -> Result<http::Response, Error> {
    http::get(&address.ip().to_string(), address.port(), path, &options())
}

/// Writes `bytes` one per TCP segment: no Nagle delay, a flush and a pause after each.
fn write_byte_by_byte(stream: &mut TcpStream, bytes: &[u8]) {
    let _ = stream.set_nodelay(true);
    for byte in bytes {
        if stream
            .write_all(&[*byte])
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
    4\r\nWiki\r\n5;note=\"a b\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
const CHUNKED_BODY: &[u8] = b"Wikipedia in\r\n\r\nchunks.";

#[test]
fn sends_get_with_host_and_connection_close() {
    let (sent, requests) = mpsc::channel();
    let address = serve(move |stream, request| {
        let _ = sent.send(request);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    let response = get(address, "/a/b?c=d").unwrap();
    assert_eq!(response.status, 200);
    let request = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        request,
        format!(
            "GET /a/b?c=d HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            address.port()
        )
    );
}

#[test]
fn ipv6_loopback_works_and_gets_a_bracketed_host() {
    if !support::has_ipv6_loopback("ipv6_loopback_works_and_gets_a_bracketed_host") {
        return;
    }
    let (sent, requests) = mpsc::channel();
    let address = serve_on("[::1]:0", move |stream, request| {
        let _ = sent.send(request);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6");
    });
    let response = http::get("::1", address.port(), "/", &options()).unwrap();
    assert_eq!(response.body, b"v6");
    let request = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        request.contains(&format!("\r\nHost: [::1]:{}\r\n", address.port())),
        "{request:?}"
    );
}

#[test]
fn content_length_body_from_a_keep_alive_server() {
    let started = Instant::now();
    let address = keep_alive(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
    let response = get(address, "/").unwrap();
    assert_eq!(response.body, b"hello world");
    assert_eq!(response.framing, Framing::ContentLength(11));
    // The server never closes: only the framing can have ended the read, long before the
    // 20 s read timeout.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn chunked_from_a_keep_alive_server_one_byte_per_write() {
    let address = serve(|stream, _| {
        write_byte_by_byte(stream, CHUNKED);
        hold_open(stream);
    });
    let started = Instant::now();
    let response = get(address, "/").unwrap();
    assert_eq!(response.body, CHUNKED_BODY);
    assert_eq!(response.framing, Framing::Chunked);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn chunked_with_trailers() {
    let address = keep_alive(
        b"HTTP/1.1 200 OK\r\nTrailer: Checksum\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n0\r\nChecksum: 900150983cd24fb0\r\nX-Done: yes\r\n\r\n",
    );
    let response = get(address, "/").unwrap();
    assert_eq!(response.body, b"abc");
    assert_eq!(
        response.trailers,
        vec![
            ("Checksum".to_owned(), "900150983cd24fb0".to_owned()),
            ("X-Done".to_owned(), "yes".to_owned())
        ]
    );
}

#[test]
fn close_delimited_body() {
    let address = serve(|stream, _| {
        let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
        for part in [&b"first part, "[..], b"second part"] {
            let _ = stream.write_all(part);
            thread::sleep(Duration::from_millis(20));
        }
    });
    let response = get(address, "/").unwrap();
    assert_eq!(response.version, 0);
    assert_eq!(response.body, b"first part, second part");
    assert_eq!(response.framing, Framing::UntilClose);
}

#[test]
fn interim_100_continue_is_skipped() {
    let address = keep_alive(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone",
    );
    let response = get(address, "/").unwrap();
    assert_eq!((response.status, response.body), (200, b"done".to_vec()));
}

#[test]
fn head_has_no_body_even_with_a_content_length() {
    let (sent, requests) = mpsc::channel();
    let address = serve(move |stream, request| {
        let _ = sent.send(request);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        hold_open(stream);
    });
    let response = http::head("127.0.0.1", address.port(), "/", &options()).unwrap();
    assert_eq!(response.header("content-length"), Some("1000"));
    assert!(response.body.is_empty());
    assert_eq!(response.framing, Framing::NoBody);
    let request = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(request.starts_with("HEAD / HTTP/1.1\r\n"), "{request:?}");
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    for head in [
        &b"HTTP/1.1 204 No Content\r\n\r\n"[..],
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\nETag: \"x\"\r\n\r\n",
    ] {
        let address = keep_alive(head);
        let response = get(address, "/").unwrap();
        assert!([204, 304].contains(&response.status));
        assert!(response.body.is_empty());
        assert_eq!(response.framing, Framing::NoBody);
    }
}

#[test]
fn redirects_are_returned_as_they_are() {
    let address = keep_alive(
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1/elsewhere\r\n\
          Content-Length: 5\r\n\r\nmoved",
    );
    let response = get(address, "/old").unwrap();
    assert_eq!(response.status, 301);
    assert_eq!(response.reason, "Moved Permanently");
    assert_eq!(
        response.header("LOCATION"),
        Some("http://127.0.0.1/elsewhere")
    );
    assert_eq!(response.body, b"moved");
}

#[test]
fn malformed_status_line_is_a_parse_error() {
    for garbage in [
        &b"HTTP/1.1 OK\r\n\r\n"[..],
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
    ] {
        let error = get(then_close(garbage), "/").unwrap_err();
        assert!(matches!(error, Error::Parse(_)), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("could not parse the response: "),
            "{error}"
        );
    }
}

#[test]
fn oversized_head_is_refused() {
    let address = serve(|stream, _| {
        // 100 lines of 1 KiB: within the count of fields, beyond the 64 KiB of bytes.
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..100 {
            head.extend_from_slice(format!("X-Filler: {}\r\n", "a".repeat(1024)).as_bytes());
        }
        let _ = stream.write_all(&head);
        hold_open(stream);
    });
    let error = get(address, "/").unwrap_err();
    assert!(
        matches!(error, Error::HeadTooLarge { limit: 65536 }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "could not receive the response: its head is larger than the 65536-byte limit"
    );
}

#[test]
fn oversized_body_is_refused() {
    let address = keep_alive(b"HTTP/1.1 200 OK\r\n\r\n0123456789abcdef");
    let mut options = options();
    options.limits.max_body = 10;
    let error = http::get("127.0.0.1", address.port(), "/", &options).unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 10 }),
        "{error:?}"
    );
}

#[test]
fn a_body_cut_short_is_an_error() {
    let address = then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
    let error = get(address, "/").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Closed(Cut::InBody {
                received: 9,
                expected: Some(100)
            })
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "could not receive the response: the server closed the connection after 9 of 100 body bytes"
    );
}

#[test]
fn a_server_that_never_answers_times_out_in_time() {
    let address = serve(|stream, _| hold_open(stream));
    let mut options = options();
    options.io_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let error = http::get("127.0.0.1", address.port(), "/", &options).unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            error,
            Error::Timeout {
                step: Step::Receive,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(
        error
            .to_string()
            .starts_with("could not receive the response: ")
    );
    assert!(error.hint().unwrap().contains("longer timeout"));
}

#[test]
fn a_trickling_server_hits_the_total_timeout() {
    // One byte every 100 ms keeps every read alive; only the total timeout can stop it.
    let address = serve(|stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        while stream.write_all(b".").is_ok() {
            thread::sleep(Duration::from_millis(100));
        }
    });
    let mut options = options();
    options.total_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let error = http::get("127.0.0.1", address.port(), "/", &options).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Deadline {
                step: Step::Receive,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A loopback port where nothing listens: bound, read, then released.
#[test]
fn connection_refused_names_the_connect_step() {
    let port = support::free_tcp_port();
    let error = http::get("127.0.0.1", port, "/", &options()).unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("could not connect to 127.0.0.1 port {port}: ")),
        "{error}"
    );
    assert!(error.hint().unwrap().contains("python3 -m http.server"));
}

#[test]
fn an_unknown_host_is_a_resolve_error() {
    let error = http::get(support::UNKNOWN_HOST, 80, "/", &options()).unwrap_err();
    assert!(matches!(error, Error::Resolve(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("could not resolve {}", support::UNKNOWN_HOST))
    );
}

// The lessons, run as a student runs them.

// Linux's answers: macOS reports no protocol, and Windows a socket handle, not a descriptor.
#[cfg(target_os = "linux")]
#[test]
fn socket_01_creates_an_ipv4_tcp_socket() {
    let run = run_lesson("socket_01", &[]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "Socket created",
            "  domain:   AF_INET",
            "  type:     SOCK_STREAM",
            "  protocol: IPPROTO_TCP"
        ]
    );
    let fd: i32 = lines[4]
        .strip_prefix("  file descriptor: ")
        .and_then(|fd| fd.parse().ok())
        .unwrap_or_else(|| panic!("no descriptor line: {run:#?}"));
    // 0, 1 and 2 are stdin, stdout and stderr.
    assert!(fd > 2);
}

#[test]
fn socket_02_resolves_loopback_names() {
    let run = run_lesson("socket_02", &["localhost"]);
    run.assert_code(0);
    assert!(run.stdout.starts_with("Socket created\n"));
    let (_, listed) = run
        .stdout
        .split_once("IP addresses of localhost:\n")
        .unwrap_or_else(|| panic!("no address list: {run:#?}"));
    // Whether ::1 is listed depends on /etc/hosts; whatever is listed must be loopback.
    let addresses: Vec<std::net::IpAddr> = listed
        .lines()
        .map(|line| line.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert!(!addresses.is_empty());
    assert!(addresses.iter().all(|ip| ip.is_loopback()), "{addresses:?}");

    let run = run_lesson("socket_02", &["::1"]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("  ::1 (not reachable with this IPv4 socket)\n"),
        "{run:#?}"
    );
}

#[test]
fn socket_02_reports_an_unknown_name_in_one_sentence() {
    let run = run_lesson("socket_02", &[support::UNKNOWN_HOST]);
    run.assert_clean_failure();
    let mut lines = run.stderr.lines();
    assert!(lines.next().unwrap().starts_with(&format!(
        "error: could not resolve {}: ",
        support::UNKNOWN_HOST
    )));
    assert!(lines.next().unwrap().contains("-- localhost"));
}

#[test]
fn socket_03_connects_and_prints_both_addresses() {
    let (seen, peers) = mpsc::channel();
    let address = serve(move |stream, _| {
        let _ = seen.send(stream.peer_addr().unwrap());
    });
    let port = address.port().to_string();
    let run = run_lesson("socket_03", &["127.0.0.1", &port]);
    run.assert_code(0);
    let client = peers.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        run.stdout
            .contains(&format!("Connected to 127.0.0.1 port {port}\n")),
        "{run:#?}"
    );
    // What the lesson calls its local address is what the server saw connecting.
    assert!(run.stdout.contains(&format!("  local address: {client}\n")));
    assert!(
        run.stdout
            .contains(&format!("  peer address:  {address}\n"))
    );
}

#[test]
fn socket_03_to_5_say_which_step_failed_offline() {
    let port = support::free_tcp_port().to_string();
    for lesson in ["socket_03", "socket_04", "socket_05"] {
        let run = run_lesson(lesson, &["127.0.0.1", &port]);
        run.assert_clean_failure();
        assert!(
            run.stderr.starts_with(&format!(
                "error: could not connect to 127.0.0.1 port {port}: "
            )),
            "{run:#?}"
        );
        assert!(run.stderr.contains("hint: "), "{run:#?}");
        assert!(
            run.stderr
                .contains("python3 -m http.server -b 127.0.0.1 8000")
        );

        let run = run_lesson(lesson, &[support::UNKNOWN_HOST]);
        run.assert_clean_failure();
        assert!(
            run.stderr.starts_with(&format!(
                "error: could not resolve {}: ",
                support::UNKNOWN_HOST
            )),
            "{run:#?}"
        );
        assert!(run.stderr.contains("-- 127.0.0.1 8000"));
    }
}

#[test]
fn socket_04_sends_exactly_the_request_it_prints() {
    let (sent, requests) = mpsc::channel();
    let address = serve(move |_, request| {
        let _ = sent.send(request);
    });
    let port = address.port().to_string();
    let run = run_lesson("socket_04", &["127.0.0.1", &port, "/docs/index.html"]);
    run.assert_code(0);
    let expected = format!(
        "GET /docs/index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        requests.recv_timeout(Duration::from_secs(5)).unwrap(),
        expected
    );
    let printed = format!(
        "Sent {} bytes:\n  GET /docs/index.html HTTP/1.1\\r\\n\n  Host: 127.0.0.1:{port}\\r\\n\n  \
         Connection: close\\r\\n\n  \\r\\n\n",
        expected.len()
    );
    assert!(run.stdout.ends_with(&printed), "{run:#?}");
}

#[test]
fn socket_04_refuses_a_path_that_would_break_the_request() {
    run_lesson("socket_04", &["127.0.0.1", "8000", "no-slash"]).assert_code(2);
    run_lesson("socket_04", &["127.0.0.1", "8000", "/a b"]).assert_code(2);
}

/// socket_05's report: the status line, the headers, then `Body: N bytes (framing)`.
fn socket_05(address: SocketAddr, extra: &[&str]) -> support::Finished {
    let port = address.port().to_string();
    let mut args = vec!["127.0.0.1", port.as_str(), "/"];
    args.extend_from_slice(extra);
    run_lesson("socket_05", &args)
}

#[test]
fn socket_05_reads_a_content_length_body_from_a_keep_alive_server() {
    let address = keep_alive(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!",
    );
    let run = socket_05(address, &["--body"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 13\n\n\
             Body: 13 bytes (Content-Length: 13)\nHello, world!"
        ),
        "{run:#?}"
    );
    assert!(run.stdout.ends_with("Hello, world!"));
}

#[test]
fn socket_05_reads_a_chunked_body_sent_one_byte_at_a_time() {
    let address = serve(|stream, _| {
        write_byte_by_byte(stream, CHUNKED);
        hold_open(stream);
    });
    let run = socket_05(address, &[]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(&format!(
            "Body: {} bytes (Transfer-Encoding: chunked)\n",
            CHUNKED_BODY.len()
        )),
        "{run:#?}"
    );
    // Every byte came in its own segment, so the loop needed many reads.
    let reads: usize = run
        .stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("Received ")?
                .split(" in ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .expect("a Received line");
    assert!(reads > 1, "{run:#?}");
}

#[test]
fn socket_05_reads_a_close_delimited_body() {
    let address = then_close(b"HTTP/1.0 200 OK\r\n\r\n0123456789");
    let run = socket_05(address, &[]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("HTTP/1.0 200 OK\n\nBody: 10 bytes (read until the server closed)\n"),
        "{run:#?}"
    );
}

#[test]
fn socket_05_times_out_on_a_silent_server() {
    let address = serve(|stream, _| hold_open(stream));
    let started = Instant::now();
    let run = socket_05(address, &["--timeout", "1"]);
    run.assert_clean_failure();
    assert!(
        run.stderr.starts_with(
            "error: could not receive the response: gave up after 1s: the time --timeout allows for the whole run\n"
        ),
        "{run:#?}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn socket_05_reports_a_malformed_response() {
    let address = then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello");
    let run = socket_05(address, &[]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .starts_with("error: could not parse the response: its Content-Length values disagree"),
        "{run:#?}"
    );
}

// --- Streaming: get_to writes the body to a writer as it arrives -------------------------

fn get_to(address: SocketAddr, options: &Options) -> Result<(http::Response, Vec<u8>), Error> {
    let mut body = Vec::new();
    let response = http::get_to("127.0.0.1", address.port(), "/", options, &mut body)?;
    Ok((response, body))
}

/// A close-delimited body of `length` bytes, sent in pieces so the client reads it many times.
fn large_close_delimited(length: usize) -> SocketAddr {
    serve(move |stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        let body: Vec<u8> = (0..length).map(|i| (i % 251) as u8).collect();
        for piece in body.chunks(10_000) {
            if stream.write_all(piece).is_err() {
                return;
            }
        }
    })
}

#[test]
fn streamed_body_equals_collected_body_for_every_framing() {
    let servers = [
        (
            "content-length",
            keep_alive(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"),
        ),
        (
            "chunked, one byte per write",
            serve(|stream, _| {
                write_byte_by_byte(stream, CHUNKED);
                hold_open(stream);
            }),
        ),
        (
            "close-delimited",
            then_close(b"HTTP/1.0 200 OK\r\n\r\nfirst part, second part"),
        ),
        ("close-delimited, 1 MB", large_close_delimited(1_000_000)),
    ];
    for (name, address) in servers {
        let collected = get(address, "/").unwrap();
        let (streamed, body) = get_to(address, &options()).unwrap();
        assert!(!body.is_empty(), "{name}");
        assert_eq!(body, collected.body, "{name}");
        assert!(streamed.body.is_empty(), "{name}");
        let everything_but_the_body = http::Response {
            body: Vec::new(),
            ..collected
        };
        assert_eq!(streamed, everything_but_the_body, "{name}");
    }
}

#[test]
fn streaming_keeps_the_body_limit_on_the_total() {
    let mut options = options();
    options.limits.max_body = 300_000;
    // Each read is drained into the writer, so only the running total can catch this one.
    let address = large_close_delimited(1_000_000);
    let mut written = Vec::new();
    let error = http::get_to("127.0.0.1", address.port(), "/", &options, &mut written).unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 300_000 }),
        "{error:?}"
    );
    assert!(written.len() <= 300_000, "{} bytes written", written.len());
    let address = keep_alive(b"HTTP/1.1 200 OK\r\nContent-Length: 300001\r\n\r\n");
    let error = get_to(address, &options).unwrap_err();
    assert!(matches!(error, Error::BodyTooLarge { .. }), "{error:?}");
}

/// A writer that refuses everything, like a full disk.
struct FullDisk;

impl Write for FullDisk {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("no space left on the test's disk"))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_is_a_sink_error() {
    for address in [
        keep_alive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        large_close_delimited(200_000),
    ] {
        let error =
            http::get_to("127.0.0.1", address.port(), "/", &options(), &mut FullDisk).unwrap_err();
        assert!(matches!(error, Error::Sink(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            "could not write the body: no space left on the test's disk"
        );
        assert!(error.hint().is_some());
    }
}

#[test]
fn streaming_head_204_and_304_write_nothing() {
    let address = keep_alive(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    let mut written = Vec::new();
    let response = http::request_to(
        http::Method::Head,
        "127.0.0.1",
        address.port(),
        "/",
        &options(),
        &mut written,
    )
    .unwrap();
    assert_eq!(
        (response.status, response.framing, written.len()),
        (200, Framing::NoBody, 0)
    );
    for head in [
        &b"HTTP/1.1 204 No Content\r\n\r\n"[..],
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n",
    ] {
        let (response, written) = get_to(keep_alive(head), &options()).unwrap();
        assert_eq!((response.framing, written.len()), (Framing::NoBody, 0));
    }
}

#[test]
fn a_streamed_body_cut_short_is_still_an_error() {
    // The 9 bytes already went to the writer; the count of what arrived must still say 9.
    let address = then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
    let expected = Cut::InBody {
        received: 9,
        expected: Some(100),
    };
    match get_to(address, &options()) {
        Err(Error::Closed(cut)) => assert_eq!(cut, expected),
        other => panic!("expected a cut, got {other:?}"),
    }
}

#[test]
fn socket_05_escapes_control_characters_the_server_sends() {
    // U+009B is one character a terminal reads as "ESC [": `\u{9b}2J` would clear the screen.
    let address = then_close(
        b"HTTP/1.1 200 OK\xc2\x9b2J\r\nX-Evil: a\xc2\x9b31mred\r\nContent-Length: 2\r\n\r\nhi",
    );
    let run = socket_05(address, &[]);
    run.assert_code(0);
    assert!(
        !run.stdout.contains('\u{9b}'),
        "a raw C1 control reached the terminal: {run:#?}"
    );
    // httparse drops a reason phrase with bytes outside ASCII; a header value keeps them.
    assert!(run.stdout.contains("X-Evil: a\\u{9b}31mred\n"), "{run:#?}");
}
