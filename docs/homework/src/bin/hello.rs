//! # hello: a starting point for your homework
//!
//! Connects to a TCP server and prints both ends of the connection, the way the lessons do:
//! `clap` for the arguments, `netutil::cli` for one-sentence errors with a hint. Change it,
//! or copy lessons next to it (`src/bin/server_05.rs`) and run them by name.
//!
//! ```text
//! cargo run --bin server_05
//! cargo run --bin hello -- 127.0.0.1 8888
//! ```

use std::error::Error;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use netutil::cli::{Hint, StepExt};

/// Connect to a TCP server and print the local and peer addresses.
#[derive(Parser)]
struct Args {
    /// The host name (or IP address) of the server.
    #[arg(default_value = "127.0.0.1")]
    host: String,
    /// The TCP port of the server.
    #[arg(default_value_t = 8888)]
    port: u16,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let address: SocketAddr = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .step(format!("resolve {}", args.host))?
        .next()
        .ok_or("the name has no addresses")?;
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .step(format!("connect to {address}"))
        .hint("start a server first: cargo run --bin server_05")?;
    let local = stream.local_addr().step("read the local address")?;
    let peer = stream.peer_addr().step("read the peer address")?;
    println!("connected from {local} to {peer}");
    Ok(())
}
