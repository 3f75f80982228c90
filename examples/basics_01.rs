//! # basics_01: this machine's host name
//!
//! Asks the system for this machine's name (`gethostname`), then the resolver for its addresses.
//!
//! Explained, with the Python original, in `docs/01-socket-utils.md`.
//!
//! ## How to run
//!
//! In one terminal, ask the system, for comparison (macOS and Windows: see the notes):
//!
//! ```text
//! hostname
//! getent ahosts "$(hostname)"
//! ```
//!
//! In another terminal, run the lesson:
//!
//! ```text
//! cargo run --example basics_01
//! ```
//!
//! ## What you should see
//!
//! ```text
//! Host name: lab-pc-07
//! IP address: 127.0.1.1
//! ```

use std::error::Error;
use std::process::ExitCode;

use clap::Parser;
use netutil::cli::{Hint, StepExt};
use netutil::lookup;

/// Print this machine's host name and the IP addresses it resolves to.
#[derive(Parser)]
struct Args {}

fn main() -> ExitCode {
    let _args = Args::parse();
    netutil::cli::finish(run())
}

fn run() -> Result<(), Box<dyn Error>> {
    let name = lookup::host_name().step("read this machine's host name")?;
    println!("Host name: {name}");

    // The name is only a label; the resolver (usually /etc/hosts) says which addresses it has.
    let addresses = lookup::resolve(&name)
        .step("find the addresses of this machine's name")
        .hint(format!(
            "add a line for {name} to /etc/hosts, e.g. `127.0.1.1 {name}`"
        ))?;
    for ip in addresses {
        println!("IP address: {ip}");
    }
    Ok(())
}
