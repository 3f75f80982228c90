//! # socket_02: resolve the server's name
//!
//! Keeps socket_01's socket and asks the resolver for every address of the server's name,
//! marking the ones an IPv4 socket can never reach.
//!
//! Explained, with the Python original, in `docs/03-http-client.md`.
//!
//! ## How to run
//!
//! In one terminal, ask the system, for comparison (macOS and Windows: see the notes):
//!
//! ```text
//! getent ahosts localhost
//! ```
//!
//! In another terminal, run the lesson:
//!
//! ```text
//! cargo run --example socket_02 -- localhost
//! cargo run --example socket_02                       # www.google.com: needs internet
//! ```
//!
//! ## What you should see
//!
//! ```text
//! Socket created
//!   domain:   AF_INET
//!   type:     SOCK_STREAM
//!   protocol: IPPROTO_TCP
//!   file descriptor: 3
//! IP addresses of localhost:
//!   ::1 (not reachable with this IPv4 socket)
//!   127.0.0.1
//! ```

use std::error::Error;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use clap::Parser;
use netutil::cli::{Hint, StepExt};
use socket2::{Domain, Protocol, Socket, Type};

/// Create an IPv4 TCP socket, then resolve a host name to its IP addresses.
#[derive(Parser)]
struct Args {
    /// The host name to resolve.
    #[arg(default_value = "www.google.com")]
    host: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    // socket(AF_INET, SOCK_STREAM, IPPROTO_TCP): IPv4, a byte stream, over TCP.
    let socket =
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).step("create the socket")?;
    println!("Socket created");

    // Ask the kernel (getsockopt: SO_DOMAIN, SO_TYPE, SO_PROTOCOL on Linux; each OS has its
    // own options, netutil::os knows them) instead of echoing our own arguments.
    let info = netutil::os::describe(&socket).step("read back what the socket is")?;
    println!("  domain:   {:?}", info.domain);
    println!("  type:     {:?}", info.kind);
    match info.protocol {
        Some(protocol) => println!("  protocol: {protocol:?}"),
        None => println!("  protocol: not reported by this OS (macOS)"),
    }
    // To the kernel a socket is a number, like an open file: a file descriptor (Windows: a handle).
    println!("  {}: {}", netutil::os::HANDLE_NAME, info.handle);

    // The resolver reads /etc/hosts first, then asks DNS. It builds socket addresses, so it
    // wants a port too: 80, where socket_03 will connect.
    let addresses: Vec<SocketAddr> = (args.host.as_str(), 80)
        .to_socket_addrs()
        .step(format!("resolve {}", args.host))
        .hint("offline? only names in /etc/hosts resolve: run with `-- localhost`")?
        .collect();
    println!("IP addresses of {}:", args.host);
    for address in &addresses {
        let note = if address.is_ipv4() == (info.domain == Domain::IPV4) {
            ""
        } else {
            " (not reachable with this IPv4 socket)"
        };
        println!("  {}{note}", address.ip());
    }
    Ok(())
}
