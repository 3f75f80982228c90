//! # basics_04: the time from an NTP server, with a library call
//!
//! Asks an NTP server for the time with one library call, `netutil::ntp::query`, and prints
//! it with the offset, delay and stratum the reply gives.
//!
//! Explained, with the Python original, in `docs/02-time.md`.
//!
//! ## How to run
//!
//! In one terminal, start the kit's SNTP server:
//!
//! ```text
//! cargo run --example ntp_server
//! ```
//!
//! In another terminal, run the lesson:
//!
//! ```text
//! cargo run --example basics_04 -- 127.0.0.1 --port 12300
//! cargo run --example basics_04                       # pool.ntp.org: needs internet
//! ```
//!
//! ## What you should see
//!
//! ```text
//! time: Fri Nov 27 02:55:42 2026
//! server: 127.0.0.1:12300 (reference 127.127.1.1)
//! offset: +0.000029 s
//! delay: 0.000252 s
//! stratum: 10
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use netutil::cli::{Hint, StepExt};
use netutil::ntp::{self, QueryOptions};

/// Ask an NTP server for the time with one library call, as Python's ntplib does.
#[derive(Parser)]
struct Args {
    /// The NTP server: a name or an IP address.
    #[arg(default_value = "pool.ntp.org")]
    server: String,
    /// The server's UDP port (the kit's ntp_server listens on 12300).
    #[arg(long, default_value_t = ntp::PORT)]
    port: u16,
    /// Seconds the whole query may take (two tries, half of it each).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    // A control character (a NUL byte, an escape) is in no host name: say which, up front.
    netutil::cli::check_host_name(&args.server)?;
    // --timeout is for the whole query: the library tries twice (a lost datagram is never
    // reported), each try waiting half of it.
    let defaults = QueryOptions::default();
    let tries = defaults.retries + 1;
    let options = QueryOptions {
        timeout: Duration::from_secs(args.timeout) / tries,
        ..defaults
    };
    let reply = ntp::query(&args.server, args.port, &options)
        .step(format!(
            "get the time from {} port {}",
            args.server, args.port
        ))
        .hint(
            "offline? start the kit's server with `ntp_server` (it listens on port 12300), \
             then ask it with `basics_04 127.0.0.1 --port 12300`",
        )?;

    // The transmit time is when the reply left the server: the time it tells us.
    println!("time: {}", netutil::cli::ctime(reply.transmit_time));
    println!(
        "server: {} (reference {})",
        reply.server, reply.reference_id
    );
    println!("offset: {:+.6} s", reply.offset);
    println!("delay: {:.6} s", reply.delay);
    println!("stratum: {}", reply.stratum);
    Ok(())
}
