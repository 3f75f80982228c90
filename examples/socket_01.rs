//! # socket_01: create a TCP socket
//!
//! A socket is the operating system's handle for one end of a conversation over the network.
//! It is made with three choices: a *domain* (the address family: IPv4), a *type* (a
//! reliable byte stream) and a *protocol* (TCP). This lesson makes one, then asks the kernel
//! what it made.
//!
//! Mirrors `socket-01.py` of the Python course, which calls
//! `socket.socket(socket.AF_INET, socket.SOCK_STREAM)` and prints "Socket created", or the
//! error code and message. Rust's standard library has no "socket, not connected yet":
//! `TcpStream::connect` and `TcpListener::bind` create the socket inside and hand it back
//! already connected or bound (lesson socket_03 relies on that):
//!
//! ```text
//! // The std way: socket(2) and connect(2) in one call; domain, type and protocol are implied
//! // by the address (IPv4 or IPv6) and by the type (TcpStream: a TCP byte stream).
//! let stream = std::net::TcpStream::connect(("127.0.0.1", 8000))?;
//! ```
//!
//! To hold a socket on its own we use the `socket2` crate, whose `Socket::new` is the
//! `socket(2)` system call with its three arguments spelled out. On failure the OS error prints with its code, as in Python,
//! and the program exits with code 1 instead of carrying on.
//!
//! ## How to run
//!
//! In one terminal, run the lesson (it needs no network and no server):
//!
//! ```text
//! cargo run --example socket_01
//! ```
//!
//! In another terminal, list the TCP sockets of the system for comparison:
//!
//! ```text
//! ss -tan            # Linux; macOS and Windows: netstat -an
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
//!
//! macOS does not report the protocol, and Windows shows a socket handle instead of a file
//! descriptor. The socket is neither bound nor connected, so `ss` never lists it; the program
//! closes it when `socket` goes out of scope at the end of `run`.

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
