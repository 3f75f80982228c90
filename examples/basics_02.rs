//! # basics_02: the IP addresses of a host
//!
//! Programs connect to addresses, people remember names. This lesson asks the resolver to
//! turn a host name into its IP addresses, the first step of every client.
//!
//! The Python original and how this differs: `docs/01-socket-utils.md`.
//!
//! ## How to run
//!
//! In one terminal, ask the system resolver for comparison:
//!
//! ```text
//! getent ahosts www.google.com
//! getent ahosts localhost        # Linux; macOS: dscacheutil -q host -a name localhost
//!                                # Windows PowerShell: Resolve-DnsName localhost
//! ```
//!
//! In another terminal, run the lesson (the first needs internet, the second never does):
//!
//! ```text
//! cargo run --example basics_02
//! cargo run --example basics_02 -- localhost
//! ```
//!
//! ## What you should see
//!
//! ```text
//! IP addresses of localhost:
//!   ::1
//!   127.0.0.1
//! ```
//!
//! Offline, `www.google.com` gives one sentence instead, with exit code 1:
//!
//! ```text
//! error: could not resolve www.google.com: no such name
//! hint: check the spelling; with no internet only names in /etc/hosts resolve (try localhost)
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
