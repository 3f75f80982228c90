//! # ntp_server: an SNTP server on your own machine
//!
//! An SNTP server is a loop around one UDP socket: take a 48-byte request, stamp it with the
//! local clock, send 48 bytes back to whoever asked. This is the kit's peer for the time
//! lessons, so `basics_04` and `basics_05` work in a lab with no internet.
//!
//! The protocol lives in [`netutil::ntp::Server`]; read its source for how a request is checked
//! and answered. One thread serves every client: UDP has no connections, and each request is
//! answered in microseconds from the clock alone.
//!
//! It listens on 127.0.0.1 port 12300 by default: NTP's own port, 123, is below 1024 and needs
//! root, and 127.0.0.1 keeps other machines out (pass `--host 0.0.0.0` to serve a classroom).
//! It says it is at stratum 10 with reference 127.127.1.1, as a local clock does in chrony;
//! `--stratum` and `--reference-id` change that.
//!
//! ## How to run
//!
//! In one terminal, start the server:
//!
//! ```text
//! cargo run --example ntp_server
//! ```
//!
//! In another terminal, ask it for the time, with the lessons or with chrony as a strict client:
//!
//! ```text
//! cargo run --example basics_04 -- 127.0.0.1 --port 12300
//! cargo run --example basics_05 -- 127.0.0.1 --port 12300
//! chronyd -Q -t 3 'server 127.0.0.1 port 12300 iburst maxsamples 1'
//! ```
//!
//! Stop the server with Ctrl-C.
//!
//! ## What you should see
//!
//! ```text
//! listening on udp 127.0.0.1:12300
//! answered 127.0.0.1:45012 (NTP version 4)
//! answered 127.0.0.1:51873 (NTP version 3)
//! ^Cstopped
//! ```

use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use netutil::cli::StepExt;
use netutil::log;
use netutil::ntp::wire::reference_id_from_text;
use netutil::ntp::{Server, ServerConfig};

/// Answer SNTP requests with this machine's clock, so the time lessons run offline.
#[derive(Parser)]
struct Args {
    /// The address to listen on (0.0.0.0 or :: lets other machines ask).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The UDP port (NTP's own, 123, needs root; 0 lets the system pick a free one).
    #[arg(long, default_value_t = 12300)]
    port: u16,
    /// The stratum to announce: 1 for a reference clock, up to 15.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=15))]
    stratum: u8,
    /// The reference id: a clock name of up to four letters (stratum 1) or an IPv4 address.
    #[arg(long, default_value = "127.127.1.1", value_parser = parse_reference_id)]
    reference_id: [u8; 4],
}

fn parse_reference_id(text: &str) -> Result<[u8; 4], String> {
    reference_id_from_text(text)
        .ok_or_else(|| format!("{text:?} is neither an IPv4 address nor 1 to 4 letters"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    netutil::cli::finish(run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let address = SocketAddr::new(args.host, args.port);
    let config = ServerConfig {
        stratum: args.stratum,
        reference_id: args.reference_id,
    };
    let server = Server::bind(address, config).step(format!("bind udp {address}"))?;
    // Ctrl-C only raises a flag; the serving loop sees it within a tenth of a second and
    // returns, so the program ends normally instead of being killed mid-reply.
    let stop = server.shutdown_handle();
    // The handler also catches SIGTERM (kill, systemctl stop, docker stop) on Unix.
    ctrlc::set_handler(move || stop.shutdown()).step("catch Ctrl-C")?;
    let bound = server.local_addr().step("read the bound address")?;
    // log! never blocks or panics: a log nobody reads (or a closed one) must not stop the
    // server answering.
    log!("listening on udp {bound}");

    server
        .run(|client, reply| log!("answered {client} (NTP version {})", reply.version))
        .step(format!("serve on udp {bound}"))?;
    log!("stopped");
    Ok(())
}
