//! # socket_05: receive the whole response
//!
//! Reads the response in a loop until its framing says it is complete: TCP delivers bytes,
//! not messages, so one `read` may return any part of it.
//!
//! Explained, with the Python original, in `docs/03-http-client.md`.
//!
//! ## How to run
//!
//! In one terminal, start a local web server:
//!
//! ```text
//! python3 -m http.server -b 127.0.0.1 8000
//! ```
//!
//! In another terminal, run the lesson:
//!
//! ```text
//! cargo run --example socket_05 -- 127.0.0.1 8000 /
//! cargo run --example socket_05                       # www.google.com: needs internet
//! ```
//!
//! ## What you should see
//!
//! ```text
//! IP addresses of 127.0.0.1:
//!   127.0.0.1
//! Connected to 127.0.0.1 port 8000
//!   local address: 127.0.0.1:51432
//!   peer address:  127.0.0.1:8000
//! Sent 59 bytes:
//!   GET / HTTP/1.1\r\n
//!   Host: 127.0.0.1:8000\r\n
//!   Connection: close\r\n
//!   \r\n
//! Received 898 bytes in 1 read(s):
//! HTTP/1.0 200 OK
//! Server: SimpleHTTP/0.6 Python/3.11.7
//! Date: Fri, 27 Nov 2026 02:55:35 GMT
//! Content-type: text/html; charset=utf-8
//! Content-Length: 743
//!
//! Body: 743 bytes (Content-Length: 743)
//! ```

use std::error::Error;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use netutil::cli::{Deadline, Hint, StepExt, printable};
use netutil::http::{self, Limits, Method, ResponseParser};

const OFFLINE: &str = "offline? start `python3 -m http.server -b 127.0.0.1 8000` in another \
                       terminal and run with `-- 127.0.0.1 8000 /`";

/// Send an HTTP/1.1 GET request and receive the whole response.
#[derive(Parser)]
struct Args {
    /// The host name (or IP address) of the server.
    #[arg(default_value = "www.google.com")]
    host: String,
    /// The TCP port of the server.
    #[arg(default_value_t = 80)]
    port: u16,
    /// The path to ask for.
    #[arg(default_value = "/", value_parser = |path: &str| http::check_path(path).map(|()| path.to_owned()))]
    path: String,
    /// Seconds the whole run may take, however the server answers.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Print the body too, after the headers.
    #[arg(long)]
    body: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    // A control character (a NUL byte, an escape) is in no host name: say which, up front.
    netutil::cli::check_host_name(&args.host)?;
    // The resolver reads /etc/hosts first, then asks DNS. It builds socket addresses, so it
    // wants the port too.
    let addresses: Vec<SocketAddr> = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .step(format!("resolve {}", args.host))
        .hint(OFFLINE)?
        .collect();
    println!("IP addresses of {}:", args.host);
    for address in &addresses {
        println!("  {}", address.ip());
    }

    // --timeout bounds the whole run: every wait below gets what is left of it.
    let deadline = Deadline::after(Duration::from_secs(args.timeout));
    let mut stream = connect_any(&addresses, &deadline)
        .step(format!("connect to {} port {}", args.host, args.port))
        .hint(OFFLINE)?;
    println!("Connected to {} port {}", args.host, args.port);
    // The kernel picked our side's address and a free port during the handshake.
    let local = stream.local_addr().step("read the local address")?;
    let peer = stream.peer_addr().step("read the peer address")?;
    println!("  local address: {local}");
    println!("  peer address:  {peer}");

    // A write only blocks when the peer stops reading, but then it could block forever.
    stream
        .set_write_timeout(Some(deadline.left()?))
        .step("set the write timeout")?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        args.path,
        http::host_header(&args.host, args.port)
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|error| deadline.explain(error))
        .step("send the request")
        .hint(OFFLINE)?;
    println!("Sent {} bytes:", request.len());
    // escape_debug shows the \r\n that end each line, which a plain print would hide.
    for line in request.split_inclusive("\r\n") {
        println!("  {}", line.escape_debug());
    }

    let mut parser = ResponseParser::new(Method::Get, Limits::default());
    let mut buffer = [0; 4096];
    let (mut received, mut reads) = (0, 0);
    let response = loop {
        // Without a read timeout, a server that accepts and never answers hangs the client;
        // with the time left as the timeout, one that answers a byte a second cannot either.
        stream
            .set_read_timeout(Some(deadline.left()?))
            .step("set the read timeout")?;
        // A read waits until at least one byte is there, then returns what has arrived.
        let count = stream
            .read(&mut buffer)
            .map_err(|error| deadline.explain(error))
            .step("receive the response")?;
        reads += 1;
        received += count;
        // An empty read means the server closed: the end of a body that has no length, and
        // a response cut short otherwise (the parser tells which).
        if count == 0 {
            break parser.closed()?;
        }
        // The framing, not the close, says when the response is complete.
        if let Some(response) = parser.feed(&buffer[..count])? {
            break response;
        }
    };
    println!("Received {received} bytes in {reads} read(s):");
    // The server chose these bytes: control characters in them are escaped, so that they
    // cannot take over the terminal.
    println!("{}", printable(&response.status_line()));
    for (name, value) in &response.headers {
        println!("{name}: {}", printable(value));
    }
    println!();
    println!("Body: {} bytes ({})", response.body.len(), response.framing);
    if args.body {
        // The body is bytes (an image, say), not necessarily text: write them as they are.
        let mut stdout = io::stdout().lock();
        stdout.write_all(&response.body).step("print the body")?;
        stdout.flush().step("print the body")?;
    }
    Ok(())
}

/// Tries each address in turn, each for the time left before the deadline, and returns the
/// first connection; if none answers, the last address's error.
fn connect_any(addresses: &[SocketAddr], deadline: &Deadline) -> io::Result<TcpStream> {
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the name has no addresses");
    for address in addresses {
        // Creates a socket of the address's family (IPv4 or IPv6), then connects it.
        match TcpStream::connect_timeout(address, deadline.left()?) {
            Ok(stream) => return Ok(stream),
            Err(error) => {
                let error = deadline.explain(error);
                println!("  {address}: {error}");
                last_error = error;
            }
        }
    }
    Err(last_error)
}
