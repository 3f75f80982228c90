//! # socket_06: the same request over TLS
//!
//! Sends socket_05's GET through TLS, as a browser does for `https://`: after TCP's handshake,
//! TLS's own one checks the server's certificate (issued by an authority we trust, for the
//! name we asked for) and agrees on keys; then every byte is encrypted. The request and its
//! framing do not change: only the stream they go through does.
//!
//! Explained in `docs/03-http-client.md`, section "HTTPS: the same request over TLS".
//!
//! ## How to run
//!
//! In one terminal, start the local HTTPS server (it writes its authority's certificate to
//! `local-ca.pem`):
//!
//! ```text
//! cargo run --features tls --example https_server
//! ```
//!
//! In another terminal, run the lesson:
//!
//! ```text
//! cargo run --features tls --example socket_06 -- localhost 8443 / --ca local-ca.pem
//! cargo run --features tls --example socket_06                  # www.google.com: needs internet
//! ```
//!
//! ## What you should see
//!
//! ```text
//! IP addresses of localhost:
//!   127.0.0.1
//! Connected to localhost port 8443
//!   local address: 127.0.0.1:42784
//!   peer address:  127.0.0.1:8443
//! TLS handshake done: TLSv1_3, TLS13_AES_256_GCM_SHA384
//!   certificate chain: 2 certificates, valid for localhost
//! Sent 59 bytes:
//!   GET / HTTP/1.1\r\n
//!   Host: localhost:8443\r\n
//!   Connection: close\r\n
//!   \r\n
//! Received 163 bytes in 1 read(s):
//! HTTP/1.1 200 OK
//! Content-Type: text/html; charset=utf-8
//! Content-Length: 65
//! Connection: close
//!
//! Body: 65 bytes (Content-Length: 65)
//! ```

use std::error::Error;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use netutil::cli::{Deadline, Hint, StepExt, printable};
use netutil::http::{self, Limits, Method, ResponseParser};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const OFFLINE: &str = "offline? start https_server in another terminal and run with \
                       `-- localhost 8443 / --ca local-ca.pem`";

/// Send an HTTP/1.1 GET request over TLS (HTTPS) and receive the whole response.
#[derive(Parser)]
struct Args {
    /// The host name (or IP address) of the server.
    #[arg(default_value = "www.google.com")]
    host: String,
    /// The TCP port of the server: 443 is HTTPS's.
    #[arg(default_value_t = 443)]
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
    /// Trust only the authority whose certificate (PEM) is in FILE, instead of the public
    /// ones: https_server writes its own to local-ca.pem.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
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
    let stream = connect_any(&addresses, &deadline)
        .step(format!("connect to {} port {}", args.host, args.port))
        .hint(OFFLINE)?;
    println!("Connected to {} port {}", args.host, args.port);
    // The kernel picked our side's address and a free port during the handshake.
    let local = stream.local_addr().step("read the local address")?;
    let peer = stream.peer_addr().step("read the peer address")?;
    println!("  local address: {local}");
    println!("  peer address:  {peer}");

    // ANCHOR: trust
    // Whom to trust: the authorities whose certificates are roots. By default the public
    // ones browsers trust too (Mozilla's list, compiled in); with --ca, only that one.
    let mut roots = RootCertStore::empty();
    match &args.ca {
        Some(path) => {
            for certificate in netutil::tls::read_certificates(path)? {
                roots
                    .add(certificate)
                    .step(format!("trust {}", path.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = ClientConfig::builder_with_provider(netutil::tls::provider())
        .with_safe_default_protocol_versions()
        .step("set up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The name the certificate must carry: the one we asked for. It also travels, unencrypted,
    // in the first message (SNI), so that one address can serve many sites.
    let name = ServerName::try_from(args.host.clone()).step("use the host as a TLS name")?;
    let tls = ClientConnection::new(Arc::new(config), name).step("set up TLS")?;
    // From here on, bytes go through TLS, which reads and writes the TCP stream below it.
    let mut stream = StreamOwned::new(tls, stream);

    // A write only blocks when the peer stops reading, but then it could block forever.
    stream
        .sock
        .set_write_timeout(Some(deadline.left()?))
        .step("set the write timeout")?;
    stream
        .sock
        .set_read_timeout(Some(deadline.left()?))
        .step("set the read timeout")?;
    // The TLS handshake, before any request: complete_io sends and receives its messages
    // until both sides have checked what they must (here, the server's certificate and name)
    // and agreed on keys.
    stream
        .conn
        .complete_io(&mut stream.sock)
        .map_err(|error| deadline.explain(error))
        .step(format!("complete the TLS handshake with {}", args.host))?;
    // ANCHOR_END: trust
    let version = stream.conn.protocol_version().map(|v| format!("{v:?}"));
    let suite = stream
        .conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    println!(
        "TLS handshake done: {}, {}",
        version.unwrap_or_default(),
        suite.unwrap_or_default()
    );
    let chain = stream.conn.peer_certificates().map_or(0, <[_]>::len);
    println!(
        "  certificate chain: {chain} certificates, valid for {}",
        args.host
    );
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        args.path,
        http::host_header(&args.host, args.port)
    );
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|error| deadline.explain(error))
        .step("send the request")?;
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
            .sock
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
