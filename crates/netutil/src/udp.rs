//! Two things about datagrams that `std::net::UdpSocket` does not tell, the same way on
//! every OS.
//!
//! - [`recv_datagram`]: whether a datagram was larger than the buffer and was cut. On Unix
//!   `recv` cuts it without a word (only `recvmsg` sets `MSG_TRUNC` in its flags); on Windows
//!   `recv` fails with `WSAEMSGSIZE` (10040) after filling the buffer. Either way the rest of
//!   the datagram is gone: a datagram is read whole, in one call, or not at all.
//! - [`receive_buffer_drops`]: how many datagrams the kernel dropped because a socket's
//!   receive buffer was full, the only trace a lost datagram leaves. Linux counts them in
//!   `/proc/net/snmp` (`RcvbufErrors`); [`DROP_COUNTER`] says where to look on each OS.
//!
//! ```
//! use std::net::UdpSocket;
//!
//! let receiver = UdpSocket::bind("127.0.0.1:0")?;
//! let sender = UdpSocket::bind("127.0.0.1:0")?;
//! sender.send_to(&[7; 100], receiver.local_addr()?)?;
//! receiver.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
//! let mut small = [0; 10];
//! let datagram = netutil::udp::recv_datagram(&receiver, &mut small)?;
//! assert_eq!((datagram.len, datagram.truncated), (10, true));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::mem::MaybeUninit;
use std::net::UdpSocket;

use socket2::{MaybeUninitSlice, SockRef};

/// What [`recv_datagram`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// The bytes written into the buffer: at most its length.
    pub len: usize,
    /// Whether the datagram was longer than the buffer: its other bytes are lost.
    pub truncated: bool,
}

/// Receives one datagram into `buffer`, as `socket.recv` does, and says whether it was cut.
///
/// A timeout set with `set_read_timeout` applies, as for `recv`. It reads through `recvmsg`
/// (`WSARecv` on Windows), whose flags carry the news: `MSG_TRUNC` on Unix, `WSAEMSGSIZE` on
/// Windows, which this turns into `truncated` instead of an error.
pub fn recv_datagram(socket: &UdpSocket, buffer: &mut [u8]) -> io::Result<Datagram> {
    // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, and the kernel only writes
    // initialized bytes into the slice, so `buffer` stays initialized.
    let uninit = unsafe { &mut *(std::ptr::from_mut(buffer) as *mut [MaybeUninit<u8>]) };
    let (len, flags) = SockRef::from(socket).recv_vectored(&mut [MaybeUninitSlice::new(uninit)])?;
    let truncated = flags.is_truncated();
    Ok(Datagram {
        // A cut datagram fills the buffer. Unix counts those bytes; Windows reports the error
        // without a count (Wine says 0), though its documentation says the buffer is filled.
        len: if truncated { buffer.len() } else { len },
        truncated,
    })
}

/// Where this OS counts datagrams dropped for a full receive buffer, as the lessons print it.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const DROP_COUNTER: &str =
    "Udp RcvbufErrors in /proc/net/snmp, Udp6RcvbufErrors in /proc/net/snmp6";
/// Where this OS counts datagrams dropped for a full receive buffer, as the lessons print it.
#[cfg(target_vendor = "apple")]
pub const DROP_COUNTER: &str =
    "`netstat -s -p udp`, the line \"dropped due to full socket buffers\"";
/// Where this OS counts datagrams dropped for a full receive buffer, as the lessons print it.
#[cfg(windows)]
pub const DROP_COUNTER: &str = "`netstat -s -p udp`, the line \"Receive Errors\"";
/// Where this OS counts datagrams dropped for a full receive buffer, as the lessons print it.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    windows
)))]
pub const DROP_COUNTER: &str = "`netstat -s -p udp`";

/// The kernel's count of UDP datagrams (IPv4 and IPv6) dropped since boot because the
/// receiving socket's buffer was full, for every socket of this machine (of this network
/// namespace, on Linux). Read it before and after a burst: the difference is what was lost.
///
/// Linux only; elsewhere an `Unsupported` error whose message names [`DROP_COUNTER`], the
/// command that shows it.
pub fn receive_buffer_drops() -> io::Result<u64> {
    read_drop_counter()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_drop_counter() -> io::Result<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp")?;
    let ipv4 = rcvbuf_errors_in_snmp(&snmp).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "/proc/net/snmp has no Udp RcvbufErrors",
        )
    })?;
    // A kernel without IPv6 has no snmp6: then no IPv6 datagram was dropped either.
    let ipv6 = std::fs::read_to_string("/proc/net/snmp6")
        .ok()
        .and_then(|snmp6| rcvbuf_errors_in_snmp6(&snmp6))
        .unwrap_or(0);
    Ok(ipv4 + ipv6)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_drop_counter() -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("this OS shows its count of dropped datagrams in {DROP_COUNTER}"),
    ))
}

/// `RcvbufErrors` from `/proc/net/snmp`, where the `Udp:` lines come in pairs: the names,
/// then the numbers.
#[cfg(any(target_os = "linux", target_os = "android", test))]
fn rcvbuf_errors_in_snmp(snmp: &str) -> Option<u64> {
    let mut udp_lines = snmp.lines().filter_map(|line| line.strip_prefix("Udp: "));
    let names = udp_lines.next()?;
    let values = udp_lines.next()?;
    let column = names
        .split_whitespace()
        .position(|name| name == "RcvbufErrors")?;
    values.split_whitespace().nth(column)?.parse().ok()
}

/// `Udp6RcvbufErrors` from `/proc/net/snmp6`: one `name value` pair per line.
#[cfg(any(target_os = "linux", target_os = "android", test))]
fn rcvbuf_errors_in_snmp6(snmp6: &str) -> Option<u64> {
    snmp6.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == "Udp6RcvbufErrors").then(|| words.next()?.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pair() -> (UdpSocket, UdpSocket) {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.connect(receiver.local_addr().unwrap()).unwrap();
        (receiver, sender)
    }

    #[test]
    fn a_datagram_that_fits_is_whole() {
        let (receiver, sender) = pair();
        sender.send(b"hello").unwrap();
        let mut buffer = [0; 64];
        let datagram = recv_datagram(&receiver, &mut buffer).unwrap();
        assert_eq!(
            datagram,
            Datagram {
                len: 5,
                truncated: false
            }
        );
        assert_eq!(&buffer[..5], b"hello");
    }

    #[test]
    fn a_datagram_that_fills_the_buffer_exactly_is_not_cut() {
        let (receiver, sender) = pair();
        sender.send(&[1; 64]).unwrap();
        let mut buffer = [0; 64];
        assert!(!recv_datagram(&receiver, &mut buffer).unwrap().truncated);
    }

    #[test]
    fn a_larger_datagram_is_cut_and_the_rest_is_gone() {
        let (receiver, sender) = pair();
        let long: Vec<u8> = (0..=255).collect();
        sender.send(&long).unwrap();
        sender.send(b"next").unwrap();
        let mut buffer = [0; 100];
        let datagram = recv_datagram(&receiver, &mut buffer).unwrap();
        assert_eq!((datagram.len, datagram.truncated), (100, true));
        assert_eq!(buffer[..], long[..100]);
        // The next receive is the next datagram, not the rest of the cut one.
        let next = recv_datagram(&receiver, &mut buffer).unwrap();
        assert_eq!(&buffer[..next.len], b"next");
    }

    #[test]
    fn the_timeout_of_the_socket_applies() {
        let (receiver, _sender) = pair();
        receiver
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let error = recv_datagram(&receiver, &mut [0; 8]).unwrap_err();
        assert!(matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
    }

    #[test]
    fn snmp_counters_are_read_by_column_name() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
                    Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
                    Udp: 75 5 1939 81 1938 0\n\
                    UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
                    UdpLite: 0 0 0 0 7 0\n";
        assert_eq!(rcvbuf_errors_in_snmp(snmp), Some(1938));
        assert_eq!(rcvbuf_errors_in_snmp("Udp: InDatagrams\nUdp: 1\n"), None);
        let snmp6 = "Udp6InDatagrams                 \t12\nUdp6RcvbufErrors                \t3\n";
        assert_eq!(rcvbuf_errors_in_snmp6(snmp6), Some(3));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_full_receive_buffer_is_counted_by_the_kernel() {
        let (receiver, sender) = pair();
        SockRef::from(&receiver).set_recv_buffer_size(1).unwrap();
        let before = receive_buffer_drops().unwrap();
        // The smallest buffer Linux allows holds a few datagrams of 1 KiB; nobody reads it.
        for _ in 0..50 {
            sender.send(&[0; 1024]).unwrap();
        }
        let after = receive_buffer_drops().unwrap();
        assert!(after >= before + 40, "before {before}, after {after}");
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    #[test]
    fn elsewhere_the_error_names_the_command() {
        let error = receive_buffer_drops().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Unsupported);
        assert!(error.to_string().contains("netstat -s -p udp"));
    }
}
