//! # basics_02: the IP addresses of a host
//!
//! Turns a host name into all its IP addresses, IPv4 and IPv6: the first step of every client.
//!
//! Explained, with the Python original, in `docs/01-socket-utils.md`.
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
//! cargo run --example basics_02 -- localhost
//! cargo run --example basics_02                       # www.google.com: needs internet
//! ```
//!
//! ## What you should see
//!
//! ```text
//! IP addresses of localhost:
//!   ::1
//!   127.0.0.1
//! ```

use std::error::Error;
use std::process::ExitCode;

use clap::Parser;
use netutil::lookup;

/// Print the IP addresses (IPv4 and IPv6) of a host.
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
    // A control character (a NUL byte, an escape) is in no host name: say which, up front.
    netutil::cli::check_host_name(&args.host)?;
    // The resolver reads /etc/hosts first, then asks DNS: `localhost` works with no network.
    let addresses = lookup::resolve(&args.host)?;
    println!("IP addresses of {}:", args.host);
    for ip in addresses {
        println!("  {ip}");
    }
    Ok(())
}
