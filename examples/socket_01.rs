//! # socket_01: create a TCP socket
//!
//! Creates an IPv4 TCP socket with `socket2`, whose `Socket::new` is the `socket(2)` call with
//! its three choices spelled out, then asks the kernel what it made.
//!
//! Explained, with the Python original, in `docs/03-http-client.md`.
//!
//! ## How to run
//!
//! In one terminal, ask the system, for comparison (macOS and Windows: see the notes):
//!
//! ```text
//! ss -tan
//! ```
//!
//! In another terminal, run the lesson:
//!
//! ```text
//! cargo run --example socket_01
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
//! ```

use std::error::Error;
use std::process::ExitCode;

use clap::Parser;
use netutil::cli::StepExt;
use socket2::{Domain, Protocol, Socket, Type};

/// Create an IPv4 TCP socket and print what the kernel made.
#[derive(Parser)]
struct Args {}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(_args: &Args) -> Result<(), Box<dyn Error>> {
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
    Ok(())
}
