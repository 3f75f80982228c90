//! # basics_03: service names and port numbers
//!
//! Looks up the service name of a port (25/tcp is `smtp`), and the port of a service name, in
//! the services database.
//!
//! Explained, with the Python original, in `docs/01-socket-utils.md`.
//!
//! ## How to run
//!
//! In one terminal, ask the system, for comparison (macOS and Windows: see the notes):
//!
//! ```text
//! getent services 25/tcp 53/udp 80/tcp
//! ```
//!
//! In another terminal, run the lesson:
//!
//! ```text
//! cargo run --example basics_03
//! cargo run --example basics_03 -- 123/udp ntp/udp http/tcp
//! ```
//!
//! ## What you should see
//!
//! ```text
//! 25/tcp => smtp
//! 53/udp => domain
//! 80/tcp => http
//! ```

use std::error::Error;
use std::process::ExitCode;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::lookup::{self, Protocol};

/// Look up the service name of a port (25/tcp => smtp) or the port of a service (ntp/udp => 123).
#[derive(Parser)]
struct Args {
    /// Queries of the form PORT/PROTOCOL or NAME/PROTOCOL, where PROTOCOL is tcp or udp.
    #[arg(default_values = ["25/tcp", "53/udp", "80/tcp"], value_parser = parse_query)]
    queries: Vec<(String, Protocol)>,
}

fn parse_query(text: &str) -> Result<(String, Protocol), String> {
    let (service, protocol) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not PORT/PROTOCOL or NAME/PROTOCOL"))?;
    let protocol = protocol.parse().map_err(|error| format!("{error}"))?;
    // A number is a port, and ports are 16 bits: 65536 is not a service without a name, it
    // cannot be a port at all.
    let digits = service.strip_prefix('-').unwrap_or(service);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() != service.len() || service.parse::<u16>().is_err())
    {
        return Err(format!("port {service} is out of range (0–65535)"));
    }
    Ok((service.to_owned(), protocol))
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    for (service, protocol) in &args.queries {
        // The same number can name different services over TCP and UDP, so the protocol is
        // part of every question.
        match service.parse::<u16>() {
            Ok(port) => {
                let name = lookup::service_name(port, *protocol)
                    .step(format!("find the name of port {port}/{protocol}"))?;
                println!("{port}/{protocol} => {name}");
            }
            Err(_) => {
                let port = lookup::service_port(service, *protocol)
                    .step(format!("find the port of {service}/{protocol}"))?;
                println!("{service}/{protocol} => {port}");
            }
        }
    }
    Ok(())
}
