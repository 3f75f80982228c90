//! # socket_04: send an HTTP request
//!
//! Builds an HTTP/1.1 `GET` request, lines ended by CR LF, and sends it with `write_all`,
//! which loops until every byte is out.
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
//! cargo run --example socket_04 -- 127.0.0.1 8000 /
//! cargo run --example socket_04                       # www.google.com: needs internet
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
//! ```

use std::error::Error;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use netutil::cli::{Deadline, Hint, StepExt};
use netutil::http;

const OFFLINE: &str = "offline? start `python3 -m http.server -b 127.0.0.1 8000` in another \
                       terminal and run with `-- 127.0.0.1 8000 /`";

/// Connect to a web server and send it an HTTP/1.1 GET request.
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
