//! An SNTP server that answers from the local clock (RFC 4330 §5, server side).
//!
//! For each client request (mode 3, version 1–4, at least 48 bytes) it sends back one 48-byte
//! reply: mode 4, the request's version and poll, the request's transmit time copied unchanged
//! as the origin, the local clock when the request arrived (receive) and when the reply left
//! (transmit), and the configured stratum and reference id. Anything else (short packets, other
//! modes, garbage) is dropped without a word: answering it could make the server an amplifier
//! for traffic with forged source addresses, which is also why a reply is never longer than the
//! request.
//!
//! One thread serves every client. UDP has no connections: each datagram carries its sender's
//! address, is answered in a few microseconds from the clock alone, and the server never waits
//! on any client, so requests from many clients simply queue in the socket and are answered
//! one after another, interleaved. A thread per client would only add cost.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use super::wire::{Header, Leap, Mode, Timestamp};

/// How often [`Server::run`] looks whether it was asked to stop.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// What the server says about its clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The stratum to announce, 1 to 15 (default 10, as chrony's `local stratum`: a clock that
    /// follows no reference of its own).
    pub stratum: u8,
    /// The reference id: a clock name such as `*b"LOCL"` for stratum 1, an IPv4 address for
    /// the others (default 127.127.1.1, the traditional id of the local clock).
    pub reference_id: [u8; 4],
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            stratum: 10,
            reference_id: Ipv4Addr::new(127, 127, 1, 1).octets(),
        }
    }
}

/// The reply to `request` (which arrived at `received`, to leave at `transmit`), or `None`
/// when `request` is not an SNTP client request of at least 48 bytes and must be ignored.
///
/// This is the whole protocol of the server, apart from the socket; it never panics, whatever
/// the bytes.
///
/// ```
/// use netutil::ntp::{Header, Mode, ServerConfig, Timestamp, server::reply_to};
/// use std::time::SystemTime;
///
/// let request = Header::client_request(3, Timestamp::new(0xE000_0000, 7)).to_bytes();
/// let now = SystemTime::now();
/// let reply = reply_to(&request, &ServerConfig::default(), now, now).expect("a client request");
/// assert_eq!((reply.mode, reply.version), (Mode::Server, 3));
/// assert_eq!(reply.origin_time, Timestamp::new(0xE000_0000, 7));
/// assert_eq!(reply_to(&request[..47], &ServerConfig::default(), now, now), None);
/// ```
pub fn reply_to(
    request: &[u8],
    config: &ServerConfig,
    received: SystemTime,
    transmit: SystemTime,
) -> Option<Header> {
    let request = Header::parse(request).ok()?;
    if request.mode != Mode::Client || !(1..=4).contains(&request.version) {
        return None;
    }
    let received = Timestamp::from(received);
    Some(Header {
        leap: Leap::NoWarning,
        version: request.version,
        mode: Mode::Server,
        stratum: config.stratum,
        poll: request.poll,
        // 2⁻²⁰ s ≈ 1 µs: what reading the system clock costs, not its nanosecond unit.
        precision: -20,
        root_delay: Duration::ZERO,
        // A small error bound: strict clients (chrony) reject a server claiming a large one.
        root_dispersion: Duration::from_millis(1),
        reference_id: config.reference_id,
        // The local clock is its own reference, "set" at every request.
        reference_time: received,
        origin_time: request.transmit_time,
        receive_time: received,
        transmit_time: Timestamp::from(transmit),
    })
}

/// Asks a running [`Server`] to stop; it does within a tenth of a second. Clone it freely.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<AtomicBool>);

impl ShutdownHandle {
    /// Makes [`Server::run`] return `Ok(())`.
    pub fn shutdown(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// An SNTP server on a bound UDP socket.
#[derive(Debug)]
pub struct Server {
    socket: UdpSocket,
    config: ServerConfig,
    stop: ShutdownHandle,
}

impl Server {
    /// Binds `address` (port 0 lets the system pick one: see [`Server::local_addr`]).
    pub fn bind(address: SocketAddr, config: ServerConfig) -> io::Result<Server> {
        let socket = UdpSocket::bind(address)?;
        // Wakes `run` now and then to look at the shutdown flag.
        socket.set_read_timeout(Some(SHUTDOWN_POLL))?;
        Ok(Server {
            socket,
            config,
            stop: ShutdownHandle(Arc::new(AtomicBool::new(false))),
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// A handle that stops [`Server::run`] from another thread (or a Ctrl-C handler).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }

    /// Answers requests until the shutdown handle is used, calling `answered(client, reply)`
    /// after each reply is sent. Returns an error only when the socket itself fails.
    pub fn run(&self, mut answered: impl FnMut(SocketAddr, &Header)) -> io::Result<()> {
        // Longer than a header, so a request with extension fields is read whole and counts as
        // a request; the reply stays at 48 bytes.
        let mut buffer = [0; 1024];
        while !self.stop.0.load(Ordering::Relaxed) {
            let (len, client) = match self.socket.recv_from(&mut buffer) {
                Ok(received) => received,
                Err(error) if is_transient(&error) => continue,
                // Windows reports an earlier reply's "port unreachable" here: that client is gone.
                Err(error) if crate::os::is_stale_udp_error(&error) => continue,
                Err(error) => return Err(error),
            };
            let received = SystemTime::now();
            let request = &buffer[..len.min(buffer.len())];
            let Some(reply) = reply_to(request, &self.config, received, SystemTime::now()) else {
                continue;
            };
            match self.socket.send_to(&reply.to_bytes(), client) {
                Ok(_) => answered(client, &reply),
                // One client gone or unreachable is no reason to stop serving the others.
                Err(error) if is_transient(&error) || is_about_the_peer(&error) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Runs the server on a thread of its own, for tests and examples: the returned
    /// [`ServerThread`] stops it when dropped.
    pub fn spawn(self) -> io::Result<ServerThread> {
        let addr = self.local_addr()?;
        let stop = self.shutdown_handle();
        let thread = thread::Builder::new()
            .name(format!("sntp {addr}"))
            .spawn(move || self.run(|_, _| {}))?;
        Ok(ServerThread {
            addr,
            stop,
            thread: Some(thread),
        })
    }
}

fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn is_about_the_peer(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::PermissionDenied
    )
}

/// A [`Server`] running on its own thread; dropping it stops the server.
#[derive(Debug)]
pub struct ServerThread {
    addr: SocketAddr,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl ServerThread {
    /// The address the server answers on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits for its thread, returning how its loop ended.
    pub fn stop(mut self) -> io::Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.stop.shutdown();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntp::HEADER_LEN;

    fn request(version: u8, mode: Mode) -> [u8; HEADER_LEN] {
        let mut header = Header::client_request(version, Timestamp::new(0xE000_0000, 1234));
        header.mode = mode;
        header.poll = 6;
        header.to_bytes()
    }

    #[test]
    fn answers_a_client_request_field_by_field() {
        let config = ServerConfig {
            stratum: 1,
            reference_id: *b"GPS\0",
        };
        let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let transmit = received + Duration::from_millis(3);
        let reply = reply_to(&request(3, Mode::Client), &config, received, transmit).unwrap();
        assert_eq!(reply.leap, Leap::NoWarning);
        assert_eq!(
            (reply.version, reply.mode, reply.poll),
            (3, Mode::Server, 6)
        );
        assert_eq!((reply.stratum, reply.reference_id), (1, *b"GPS\0"));
        assert_eq!(reply.origin_time, Timestamp::new(0xE000_0000, 1234));
        assert_eq!(reply.receive_time.to_system_time(), received);
        assert_eq!(reply.transmit_time.to_system_time(), transmit);
        assert!(reply.reference_time.to_system_time() <= transmit);
    }

    #[test]
    fn ignores_other_modes_versions_and_short_packets() {
        let config = ServerConfig::default();
        let now = SystemTime::now();
        for bits in 0..8 {
            let mode = Mode::from_bits(bits);
            let answered = reply_to(&request(4, mode), &config, now, now).is_some();
            assert_eq!(answered, mode == Mode::Client, "{mode}");
        }
        for version in [0, 5, 6, 7] {
            assert_eq!(
                reply_to(&request(version, Mode::Client), &config, now, now),
                None
            );
        }
        let good = request(4, Mode::Client);
        for len in 0..HEADER_LEN {
            assert_eq!(
                reply_to(&good[..len], &config, now, now),
                None,
                "{len} bytes"
            );
        }
    }

    #[test]
    fn never_panics_on_random_bytes() {
        // xorshift64: reproducible noise without a dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let now = SystemTime::now();
        let mut answered = 0;
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Make a fair share look like client requests, to reach every field.
            if len > 0 && next() % 2 == 0 {
                bytes[0] = (bytes[0] & 0xC0) | (((next() % 4 + 1) as u8) << 3) | 3;
            }
            if let Some(reply) = reply_to(&bytes, &ServerConfig::default(), now, now) {
                assert!(len >= HEADER_LEN);
                assert_eq!(reply.to_bytes()[24..32], bytes[40..48]);
                answered += 1;
            }
        }
        assert!(answered > 1000, "only {answered} requests looked valid");
    }
}
