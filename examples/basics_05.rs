//! # basics_05: the SNTP exchange by hand, 48 bytes over UDP
//!
//! Does by hand what `basics_04`'s library call does: builds the 48-byte request, sends it in
//! one UDP datagram, and reads the time out of the reply's big-endian words.
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
//! cargo run --example basics_05 -- 127.0.0.1 --port 12300
//! cargo run --example basics_05                       # 0.uk.pool.ntp.org: needs internet
//! ```
//!
//! ## What you should see
//!
//! ```text
//! reply from 127.0.0.1:12300 (48 bytes)
//! time: Fri Nov 27 02:55:43 2026
//! ```

use std::error::Error;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use byteorder::{BigEndian, ByteOrder, WriteBytesExt};
use clap::Parser;
use netutil::cli::{Deadline, Hint, StepExt};
use netutil::lookup;

/// Seconds from NTP's epoch (1900-01-01) to Unix's (1970-01-01): 70 years, 17 of them leap.
const NTP_TO_UNIX: u64 = 2_208_988_800;

/// The first byte of the request, three fields in bits `LL VVV MMM`: leap indicator 00 (no
/// warning), version 011 (3), mode 011 (3, client). It is the 0x1b of the Python original.
const LI_VN_MODE: u8 = 0b00_011_011;

const OFFLINE_HINT: &str = "offline? start the kit's server with `ntp_server` (it listens on \
     port 12300), then ask it with `basics_05 127.0.0.1 --port 12300`";

/// Ask an NTP server for the time by hand: 48 bytes out, 48 bytes back, over UDP.
#[derive(Parser)]
struct Args {
    /// The NTP server: a name or an IP address.
    #[arg(default_value = "0.uk.pool.ntp.org")]
    server: String,
    /// The server's UDP port (the kit's ntp_server listens on 12300).
    #[arg(long, default_value_t = 123)]
    port: u16,
    /// Seconds the whole query may take, whatever the server does.
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
    // --timeout is for the whole query, the name lookup included.
    let deadline = Deadline::after(Duration::from_secs(args.timeout));
    let ips = lookup::resolve(&args.server)
        .step("look up the NTP server")
        .hint(OFFLINE_HINT)?;
    let ip = ips
        .first()
        .ok_or(format!("{} has no address", args.server))?;
    let server = SocketAddr::new(*ip, args.port);

    // Port 0: any free port will do for the reply to come back to.
    let any = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(any).step("open a UDP socket")?;
    // UDP never reports a lost datagram: without a timeout recv_from could wait forever.
    socket
        .set_read_timeout(Some(deadline.left()?))
        .step("set the read timeout")?;
    // connect() on UDP sends nothing: it fixes the peer, so the kernel drops datagrams from
    // anyone else and reports "port unreachable" as an error instead of letting us time out.
    socket
        .connect(server)
        .step(format!("reach {server}"))
        .hint(OFFLINE_HINT)?;

    // Our clock in NTP format, for the request's transmit timestamp (words 10 and 11): the
    // server copies it into the reply's origin timestamp, which proves the reply answers us.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    // `as u32` keeps the low 32 bits: the era number (0 until 2036) is not sent.
    let sent_seconds = (now.as_secs() + NTP_TO_UNIX) as u32;
    // The fraction counts in units of 2⁻³² s.
    let sent_fraction = ((u64::from(now.subsec_nanos()) << 32) / 1_000_000_000) as u32;

    let mut request = Vec::with_capacity(48);
    request.write_u8(LI_VN_MODE)?;
    // Stratum through the receive timestamp (bytes 1 to 39) mean nothing in a request.
    request.extend_from_slice(&[0; 39]);
    request.write_u32::<BigEndian>(sent_seconds)?;
    request.write_u32::<BigEndian>(sent_fraction)?;
    socket
        .send(&request)
        .step(format!("send the request to {server}"))
        .hint(OFFLINE_HINT)?;

    let mut reply = [0; 1024];
    let received = loop {
        match socket.recv_from(&mut reply) {
            // On Windows, an ICMP "port unreachable" comes back as a reset: no answer yet, wait on.
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                socket.set_read_timeout(Some(deadline.left()?))?;
            }
            received => break received,
        }
    };
    let (len, from) = received
        .map_err(|error| match error.kind() {
            // How an expired read timeout shows up (EAGAIN on Linux, a time-out on Windows).
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no reply within {} s", args.timeout),
            ),
            _ => error,
        })
        .step(format!("receive a reply from {server}"))
        .hint(OFFLINE_HINT)?;
    if len < 48 {
        return Err(
            format!("the reply is {len} bytes, shorter than the 48-byte NTP header").into(),
        );
    }
    // Twelve big-endian 32-bit words, as Python's struct.unpack("!12I", ...).
    let mut words = [0u32; 12];
    BigEndian::read_u32_into(&reply[..48], &mut words);
    let mode = (words[0] >> 24) & 0b111;
    let stratum = (words[0] >> 16) & 0xff;
    if mode != 4 {
        return Err(format!("the reply is in mode {mode}, not 4 (server)").into());
    }
    // Words 6 and 7: the origin timestamp.
    if (words[6], words[7]) != (sent_seconds, sent_fraction) {
        return Err(
            "the reply does not answer our request: its origin is not our timestamp".into(),
        );
    }
    if stratum == 0 {
        return Err("the server refused to serve us (a Kiss-o'-Death packet)".into());
    }

    // Words 10 and 11: the transmit timestamp, when the reply left the server. Python printed
    // word 8, the receive timestamp: when our request arrived, not the time the server tells.
    let (seconds, fraction) = (words[10], words[11]);
    // 32 bits of seconds since 1900 run out on 2036-02-07. RFC 4330: a timestamp with the top
    // bit clear is in the next era, counted from then; this holds from 1968 to 2104.
    let since_1900 = if seconds & 0x8000_0000 != 0 {
        u64::from(seconds)
    } else {
        u64::from(seconds) + (1 << 32)
    };
    let since_1970 = since_1900
        .checked_sub(NTP_TO_UNIX)
        .ok_or("the server's time is before 1970")?;
    let nanos = (u64::from(fraction) * 1_000_000_000) >> 32;
    let time = UNIX_EPOCH + Duration::from_secs(since_1970) + Duration::from_nanos(nanos);

    println!("reply from {from} ({len} bytes)");
    println!("time: {}", netutil::cli::ctime(time));
    Ok(())
}
