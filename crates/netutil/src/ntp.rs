//! NTP, the Network Time Protocol, in its simple form SNTP (RFC 4330): the 48-byte packet,
//! the 2036 era rollover, a client ([`query`]) and a server ([`Server`]).
//!
//! An SNTP exchange is one UDP datagram each way. The client puts its clock's reading in the
//! *transmit* timestamp of a 48-byte request; the server copies it into the *origin*
//! timestamp of its reply and adds its own clock's readings when the request arrived
//! (*receive*) and when the reply left (*transmit*). With the time the reply arrived, the client
//! has four timestamps, enough to tell how far its clock is from the server's (the offset) and
//! how long the round trip took (the delay), without knowing how long each leg was.
//!
//! - [`wire`]: the header codec, field by field ([`Header`], [`Timestamp`]);
//! - [`client`]: [`query`], which validates every reply and returns what Python's `ntplib` gives;
//! - [`server`]: [`Server`], an SNTP server that answers from the local clock.
//!
//! Both ends on loopback, as the tests and the offline lessons use them:
//!
//! ```
//! use netutil::ntp::{self, QueryOptions, Server, ServerConfig};
//!
//! let server = Server::bind("127.0.0.1:0".parse()?, ServerConfig::default())?.spawn()?;
//! let reply = ntp::query("127.0.0.1", server.addr().port(), &QueryOptions::default())?;
//! // Both ends read the same clock, so they agree to well within a second.
//! assert!(reply.offset.abs() < 0.5);
//! assert_eq!(reply.stratum, 10);
//! assert_eq!(reply.reference_id, "127.127.1.1");
//! server.stop()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod client;
pub mod server;
pub mod wire;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::lookup::LookupError;

pub use client::{Ignored, QueryOptions, Reply, query, query_addr};
pub use server::{Server, ServerConfig, ServerThread, ShutdownHandle};
pub use wire::{HEADER_LEN, Header, Leap, Mode, Timestamp};

/// The port NTP servers listen on.
pub const PORT: u16 = 123;

/// Why an NTP packet could not be read or written, or a query got no usable answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A packet or buffer shorter than the 48-byte header.
    TooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// The server's name did not resolve.
    Resolve(LookupError),
    /// The server's name resolved to no address at all.
    NoAddress {
        /// The name that was looked up.
        host: String,
    },
    /// The local UDP socket could not be opened, bound or used.
    Socket(io::Error),
    /// The server's machine said nothing listens on that port (ICMP port unreachable).
    Refused {
        /// The address that was asked.
        server: SocketAddr,
    },
    /// No valid reply came before the deadline.
    Timeout {
        /// The address asked last.
        server: SocketAddr,
        /// How long each try waited.
        waited: Duration,
        /// How many requests were sent in all.
        tries: u32,
        /// Why the last packet that did arrive was not taken as the reply, if one arrived.
        ignored: Option<Ignored>,
    },
    /// The server sent a Kiss-o'-Death packet (stratum 0): it will not serve us.
    KissOfDeath {
        /// The server that sent it.
        server: SocketAddr,
        /// The four-letter code from the reference id, such as `RATE` or `DENY`.
        code: String,
    },
    /// The server says its own clock is not synchronized (leap indicator 3).
    Unsynchronized {
        /// The server that said so.
        server: SocketAddr,
    },
    /// The reply's transmit timestamp is zero, so it carries no time.
    NoTransmitTime {
        /// The server that sent it.
        server: SocketAddr,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooShort { len } => {
                write!(
                    f,
                    "{len} bytes is shorter than the {HEADER_LEN}-byte NTP header"
                )
            }
            Error::Resolve(error) => error.fmt(f),
            Error::NoAddress { host } => write!(f, "{host} has no IP address"),
            Error::Socket(error) => write!(f, "the UDP socket failed: {error}"),
            Error::Refused { server } => {
                write!(
                    f,
                    "nothing answers on {server}: its machine says the port is closed"
                )
            }
            Error::Timeout {
                server,
                waited,
                tries,
                ignored,
            } => {
                let tries = if *tries == 1 {
                    String::new()
                } else {
                    format!(" ({tries} tries)")
                };
                let seconds = waited.as_secs_f64();
                match ignored {
                    None => write!(f, "no reply from {server} within {seconds} s{tries}"),
                    Some(why) => write!(
                        f,
                        "no valid reply from {server} within {seconds} s{tries}: \
                         the last packet was ignored because {why}"
                    ),
                }
            }
            Error::KissOfDeath { server, code } => {
                let meaning = match code.as_str() {
                    "RATE" => "it asks us to query less often",
                    "DENY" | "RSTR" => "it denies us access",
                    _ => "it will not serve us",
                };
                write!(
                    f,
                    "{server} sent a Kiss-o'-Death with code {code}: {meaning}"
                )
            }
            Error::Unsynchronized { server } => write!(
                f,
                "{server} says its own clock is not synchronized (leap indicator 3)"
            ),
            Error::NoTransmitTime { server } => write!(
                f,
                "{server} replied with a zero transmit timestamp, so the reply carries no time"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve(error) => Some(error),
            Error::Socket(error) => Some(error),
            _ => None,
        }
    }
}
