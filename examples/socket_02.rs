//! # socket_02: resolve the server's name
//!
//! A socket connects to an address, not to a name. Before a client can talk to
//! `www.google.com` it asks the resolver which IP addresses that name has. This lesson keeps
//! the socket of socket_01 and adds that step.
//!
//! Mirrors `socket-02.py` of the Python course, which creates the socket, then calls
//! `socket.gethostbyname("www.google.com")` and prints "could not be resolved" on failure.
//! `gethostbyname` knows only IPv4 and returns one address. Here the standard library's
//! `to_socket_addrs` asks the system resolver (`getaddrinfo`) for every address, IPv6 and
//! IPv4, in the order a client should try them. Our socket is IPv4, so it can only ever reach
//! the IPv4 ones: the program marks the others, and socket_03 fixes that by letting each
//! connection attempt create a socket of the right family.
//!
//! ## How to run
//!
//! In one terminal, ask the system resolver for comparison:
//!
//! ```text
//! getent ahosts www.google.com    # Linux; macOS: dscacheutil -q host -a name www.google.com
//!                                 # Windows PowerShell: Resolve-DnsName www.google.com
//! ```
//!
//! In another terminal, run the lesson (the first needs internet, the second never does):
//!
//! ```text
//! cargo run --example socket_02
//! cargo run --example socket_02 -- localhost
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
//!
//! Offline, `www.google.com` does not resolve; the program says so in one sentence and
//! exits with code 1:
//!
//! ```text
//! error: could not resolve www.google.com: failed to lookup address information: Name or service not known
//! hint: offline? only names in /etc/hosts resolve: run with `-- localhost`
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
