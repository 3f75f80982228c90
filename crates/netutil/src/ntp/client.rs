//! An SNTP client: send one request, take the first reply that answers *it*, and work out the
//! clock offset and the round-trip delay.
//!
//! A UDP reply can be late (an answer to an earlier request), duplicated, forged, or from a
//! server that refuses to serve. [`query`] takes a packet as the reply only when it comes from
//! the address asked, is at least 48 bytes, is in server mode and carries our transmit time as
//! its origin; anything else is ignored and the wait goes on until the deadline. Then the reply
//! must not be a Kiss-o'-Death (stratum 0), must not say the server is unsynchronized (leap 3),
//! and must carry a transmit time.
//!
//! The four timestamps of an exchange (RFC 4330 §5):
//!
//! ```text
//!   client                     server
//!   T1 (request leaves)  ──────▶  T2 (request arrives)
//!   T4 (reply arrives)   ◀──────  T3 (reply leaves)
//!
//!   offset = ((T2 - T1) + (T3 - T4)) / 2     how far the server's clock is ahead of ours
//!   delay  = (T4 - T1) - (T3 - T2)           the round trip, minus the server's own time
//! ```
//!
//! The offset formula assumes both legs take as long; it is off by at most half the delay.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use super::Error;
use super::wire::{self, Header, Leap, Mode, Timestamp};
use crate::lookup;

/// How [`query`] asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOptions {
    /// How long to wait for a valid reply to each request (default 5 s, as `ntplib`).
    pub timeout: Duration,
    /// How many more requests to send when one gets no valid reply in time (default 1). With
    /// several addresses for the name, each try goes to the next address.
    pub retries: u32,
    /// The protocol version to put in the request, 1 to 4 (default 4).
    pub version: u8,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            timeout: Duration::from_secs(5),
            retries: 1,
            version: 4,
        }
    }
}

/// What a server answered: the fields Python's `ntplib` gives, with the offset and delay
/// already worked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The address that answered.
    pub server: SocketAddr,
    /// How far the server's clock is ahead of ours, in seconds (negative: behind).
    pub offset: f64,
    /// The round trip through the network, in seconds, without the server's own time.
    pub delay: f64,
    /// The leap indicator (never [`Leap::Unsynchronized`]: such a reply is an error).
    pub leap: Leap,
    /// The version the server answered with.
    pub version: u8,
    /// Always [`Mode::Server`] (other modes are ignored).
    pub mode: Mode,
    /// The server's distance from a reference clock, 1 to 15 (16 means unsynchronized).
    pub stratum: u8,
    /// The server's suggested poll interval, log₂ seconds.
    pub poll: i8,
    /// The server clock's precision, log₂ seconds.
    pub precision: i8,
    /// The round trip from the server to its reference clock.
    pub root_delay: Duration,
    /// The server's error bound relative to its reference clock.
    pub root_dispersion: Duration,
    /// Who the server takes its time from, as text (see [`wire::reference_id_text`]).
    pub reference_id: String,
    /// When the server's clock was last set (`ntplib`'s `ref_time`).
    pub reference_time: SystemTime,
    /// Our clock when the request left (T1, `orig_time`).
    pub origin_time: SystemTime,
    /// The server's clock when the request arrived (T2, `recv_time`).
    pub receive_time: SystemTime,
    /// The server's clock when the reply left (T3, `tx_time`): *the* time the server tells.
    pub transmit_time: SystemTime,
    /// Our clock when the reply arrived (T4, `dest_time`).
    pub destination_time: SystemTime,
}

/// Why a packet that arrived was not taken as the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ignored {
    /// It came from another address than the one asked.
    WrongSource(SocketAddr),
    /// It was shorter than the 48-byte header.
    TooShort(usize),
    /// It was not in server mode (4).
    NotServerMode(Mode),
    /// Its origin timestamp is not our request's transmit timestamp: a reply to another
    /// request, late or forged.
    WrongOrigin,
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ignored::WrongSource(from) => write!(f, "it came from {from}"),
            Ignored::TooShort(len) => write!(f, "it was only {len} bytes long"),
            Ignored::NotServerMode(mode) => write!(f, "it was in mode {mode}, not 4 (server)"),
            Ignored::WrongOrigin => write!(
                f,
                "its origin timestamp was not our transmit time (a stale or forged reply)"
            ),
        }
    }
}

/// Asks the NTP server `host` (a name or an IPv4/IPv6 address) on `port` for the time.
///
/// The name is resolved first; each try goes to the next of its addresses. A try that gets no
/// valid reply within `options.timeout` (or cannot send at all) is followed by another, up to
/// `options.retries` more; a Kiss-o'-Death, an unsynchronized server or a reply with no time
/// ends the query at once, since asking again would not change the answer.
///
/// ```no_run
/// // Needs the internet; the module's example runs the same against a server on loopback.
/// let reply = netutil::ntp::query("pool.ntp.org", 123, &Default::default())?;
/// println!("{:?} (offset {:+.6} s)", reply.transmit_time, reply.offset);
/// # Ok::<(), netutil::ntp::Error>(())
/// ```
pub fn query(host: &str, port: u16, options: &QueryOptions) -> Result<Reply, Error> {
    let addresses: Vec<SocketAddr> = lookup::resolve(host)
        .map_err(Error::Resolve)?
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    if addresses.is_empty() {
        return Err(Error::NoAddress {
            host: host.to_owned(),
        });
    }
    query_each(&addresses, options)
}

/// [`query`] for an address already known, such as `127.0.0.1:12300` or `[::1]:123`.
pub fn query_addr(server: SocketAddr, options: &QueryOptions) -> Result<Reply, Error> {
    query_each(&[server], options)
}

/// Tries `addresses` (not empty) in turn until one gives a reply or the tries run out.
fn query_each(addresses: &[SocketAddr], options: &QueryOptions) -> Result<Reply, Error> {
    let mut tries: u32 = 0;
    loop {
        let server = addresses[tries as usize % addresses.len()];
        tries += 1;
        let error = match exchange(server, options) {
            Ok(reply) => return Ok(reply),
            Err(error) => error,
        };
        // Silence or a network error may pass; an answer from the server would not change.
        let worth_another_try = matches!(
            error,
            Error::Timeout { .. } | Error::Socket(_) | Error::Refused { .. }
        );
        if !worth_another_try || tries > options.retries {
            return Err(match error {
                Error::Timeout {
                    server,
                    waited,
                    ignored,
                    ..
                } => Error::Timeout {
                    server,
                    waited,
                    tries,
                    ignored,
                },
                other => other,
            });
        }
    }
}

/// One request and the wait for its reply.
fn exchange(server: SocketAddr, options: &QueryOptions) -> Result<Reply, Error> {
    let local = match server {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let socket = UdpSocket::bind(local).map_err(Error::Socket)?;
    // A connected UDP socket hears "port unreachable" as an error instead of waiting out the
    // timeout, and the kernel drops datagrams from other addresses (we check anyway).
    socket.connect(server).map_err(Error::Socket)?;

    let sent_at = SystemTime::now();
    let transmit = Timestamp::from(sent_at);
    let request = Header::client_request(options.version, transmit).to_bytes();
    socket
        .send(&request)
        .map_err(|error| io_error(server, error))?;

    // A timeout too long for the clock to add is as good as none.
    let deadline = Instant::now().checked_add(options.timeout);
    let timeout = |ignored| Error::Timeout {
        server,
        waited: options.timeout,
        tries: 1,
        ignored,
    };
    let mut ignored = None;
    // Room for extension fields, so a long packet is read whole rather than cut.
    let mut buffer = [0; 1024];
    loop {
        let left = deadline.map_or(options.timeout, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return Err(timeout(ignored));
        }
        socket.set_read_timeout(Some(left)).map_err(Error::Socket)?;
        let (len, from) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_no_answer_yet(&error) => continue,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timeout(ignored));
            }
            Err(error) => return Err(io_error(server, error)),
        };
        let arrived_at = SystemTime::now();
        match accept(server, transmit, &buffer[..len.min(buffer.len())], from) {
            Ok(header) => return check(server, sent_at, &header, arrived_at),
            Err(why) => ignored = Some(why),
        }
    }
}

/// Whether a receive error only means the reply has not come: Windows reports a connection
/// reset after an ICMP "port unreachable", also one caused by an earlier datagram, so the
/// client keeps waiting until its deadline. (Linux and macOS say "connection refused", which
/// [`io_error`] turns into [`Error::Refused`].)
fn is_no_answer_yet(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::ConnectionReset
}

fn io_error(server: SocketAddr, error: io::Error) -> Error {
    if error.kind() == io::ErrorKind::ConnectionRefused {
        Error::Refused { server }
    } else {
        Error::Socket(error)
    }
}

/// Whether a packet is the reply to our request at all.
fn accept(
    server: SocketAddr,
    transmit: Timestamp,
    packet: &[u8],
    from: SocketAddr,
) -> Result<Header, Ignored> {
    if from != server {
        return Err(Ignored::WrongSource(from));
    }
    let header = Header::parse(packet).map_err(|_| Ignored::TooShort(packet.len()))?;
    if header.mode != Mode::Server {
        return Err(Ignored::NotServerMode(header.mode));
    }
    if header.origin_time != transmit {
        return Err(Ignored::WrongOrigin);
    }
    Ok(header)
}

/// Whether the reply to our request carries a time we may use; if so, the [`Reply`].
fn check(
    server: SocketAddr,
    sent_at: SystemTime,
    header: &Header,
    arrived_at: SystemTime,
) -> Result<Reply, Error> {
    if header.stratum == 0 {
        return Err(Error::KissOfDeath {
            server,
            code: wire::reference_id_text(0, header.reference_id),
        });
    }
    if header.leap == Leap::Unsynchronized {
        return Err(Error::Unsynchronized { server });
    }
    if header.transmit_time.is_zero() {
        return Err(Error::NoTransmitTime { server });
    }
    let (t1, t2, t3, t4) = (
        sent_at,
        header.receive_time.to_system_time(),
        header.transmit_time.to_system_time(),
        arrived_at,
    );
    Ok(Reply {
        server,
        offset: (seconds(t1, t2) + seconds(t4, t3)) / 2.0,
        delay: seconds(t1, t4) - seconds(t2, t3),
        leap: header.leap,
        version: header.version,
        mode: header.mode,
        stratum: header.stratum,
        poll: header.poll,
        precision: header.precision,
        root_delay: header.root_delay,
        root_dispersion: header.root_dispersion,
        reference_id: wire::reference_id_text(header.stratum, header.reference_id),
        reference_time: header.reference_time.to_system_time(),
        origin_time: t1,
        receive_time: t2,
        transmit_time: t3,
        destination_time: t4,
    })
}

/// `to - from` in seconds, negative when `to` is earlier.
fn seconds(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(later) => later.as_secs_f64(),
        Err(earlier) => -earlier.duration().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 123);
    const SERVER_ANY_PORT: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

    fn reply_to(transmit: Timestamp) -> Header {
        let mut header = Header::client_request(4, Timestamp::ZERO);
        header.mode = Mode::Server;
        header.stratum = 2;
        header.origin_time = transmit;
        header.receive_time = Timestamp::new(0xE000_0000, 0);
        header.transmit_time = Timestamp::new(0xE000_0001, 0);
        header
    }

    #[test]
    fn accepts_only_our_reply() {
        let ours = Timestamp::new(0xE000_0000, 42);
        let good = reply_to(ours).to_bytes();
        assert!(accept(SERVER, ours, &good, SERVER).is_ok());
        let elsewhere: SocketAddr = "127.0.0.2:123".parse().unwrap();
        assert_eq!(
            accept(SERVER, ours, &good, elsewhere),
            Err(Ignored::WrongSource(elsewhere))
        );
        assert_eq!(
            accept(SERVER, ours, &good[..47], SERVER),
            Err(Ignored::TooShort(47))
        );
        let stale = reply_to(Timestamp::new(0xE000_0000, 41)).to_bytes();
        assert_eq!(
            accept(SERVER, ours, &stale, SERVER),
            Err(Ignored::WrongOrigin)
        );
        let mut echo = reply_to(ours);
        echo.mode = Mode::Client;
        assert_eq!(
            accept(SERVER, ours, &echo.to_bytes(), SERVER),
            Err(Ignored::NotServerMode(Mode::Client))
        );
    }

    #[test]
    fn offset_and_delay_follow_rfc_4330() {
        // T1 = 0 s, T2 = 10.5 s, T3 = 10.75 s, T4 = 1 s (our clock): the server is ten
        // seconds ahead, the network took 0.75 s of the 1 s round trip.
        let base = Timestamp::new(0xE000_0000, 0).to_system_time();
        let at = |seconds: f64| base + Duration::from_secs_f64(seconds);
        let mut header = reply_to(Timestamp::from(at(0.0)));
        header.receive_time = Timestamp::from(at(10.5));
        header.transmit_time = Timestamp::from(at(10.75));
        let reply = check(SERVER, at(0.0), &header, at(1.0)).unwrap();
        assert!((reply.offset - 10.125).abs() < 1e-9, "{}", reply.offset);
        assert!((reply.delay - 0.75).abs() < 1e-9, "{}", reply.delay);
        assert_eq!(reply.transmit_time, at(10.75));
        assert_eq!(reply.reference_id, "0.0.0.0");
    }

    #[test]
    fn a_server_behind_us_has_a_negative_offset() {
        let base = Timestamp::new(0xE000_0000, 0).to_system_time();
        let mut header = reply_to(Timestamp::from(base));
        header.receive_time = Timestamp::from(base - Duration::from_secs(3));
        header.transmit_time = header.receive_time;
        let reply = check(SERVER, base, &header, base).unwrap();
        assert!((reply.offset + 3.0).abs() < 1e-9, "{}", reply.offset);
    }

    #[test]
    fn each_try_goes_to_the_next_address() {
        let server = crate::ntp::Server::bind(SERVER_ANY_PORT, Default::default())
            .and_then(crate::ntp::Server::spawn)
            .unwrap();
        // A port that was free a moment ago: nothing listens there.
        let closed = UdpSocket::bind(SERVER_ANY_PORT)
            .and_then(|socket| socket.local_addr())
            .unwrap();
        let addresses = [closed, server.addr()];
        let options = QueryOptions {
            timeout: Duration::from_secs(5),
            retries: 1,
            version: 4,
        };
        let reply = query_each(&addresses, &options).unwrap();
        assert_eq!(reply.server, server.addr());
        let no_retry = QueryOptions {
            retries: 0,
            ..options
        };
        let error = query_each(&addresses, &no_retry).unwrap_err();
        assert!(
            matches!(error, Error::Refused { server } if server == closed),
            "{error:?}"
        );
    }

    #[test]
    fn unusable_replies_are_errors() {
        let mut kod = reply_to(Timestamp::ZERO);
        kod.stratum = 0;
        kod.reference_id = *b"RATE";
        let error = check(SERVER, SystemTime::now(), &kod, SystemTime::now()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "127.0.0.1:123 sent a Kiss-o'-Death with code RATE: it asks us to query less often"
        );
        let mut unsynchronized = reply_to(Timestamp::ZERO);
        unsynchronized.leap = Leap::Unsynchronized;
        assert!(matches!(
            check(
                SERVER,
                SystemTime::now(),
                &unsynchronized,
                SystemTime::now()
            ),
            Err(Error::Unsynchronized { .. })
        ));
        let mut no_time = reply_to(Timestamp::ZERO);
        no_time.transmit_time = Timestamp::ZERO;
        assert!(matches!(
            check(SERVER, SystemTime::now(), &no_time, SystemTime::now()),
            Err(Error::NoTransmitTime { .. })
        ));
    }

    #[test]
    fn a_reset_means_keep_waiting_but_a_refusal_does_not() {
        // What Windows says after an ICMP "port unreachable": no reply yet, not a failure.
        assert!(is_no_answer_yet(&io::ErrorKind::ConnectionReset.into()));
        // Linux and macOS say "refused": a result of its own (Error::Refused), retried by query.
        assert!(!is_no_answer_yet(&io::ErrorKind::ConnectionRefused.into()));
        assert!(matches!(
            io_error(SERVER, io::ErrorKind::ConnectionRefused.into()),
            Error::Refused { .. }
        ));
        assert!(!is_no_answer_yet(&io::ErrorKind::PermissionDenied.into()));
    }
}
