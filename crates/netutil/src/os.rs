//! The few places where Windows, macOS and Linux sockets differ, so the lessons need not.
//!
//! - [`describe`] asks the kernel what a socket is (its domain, type and protocol, and the
//!   number the OS knows it by). Linux answers with `SO_DOMAIN`/`SO_PROTOCOL`, macOS has no
//!   such options (its address says the domain), Windows answers with `SO_PROTOCOL_INFOW`.
//! - [`set_reuse_address`] lets a restarted server bind its port at once: `SO_REUSEADDR` on
//!   Unix, `SO_EXCLUSIVEADDRUSE` on Windows, whose own `SO_REUSEADDR` would let another
//!   program bind the same port and take its connections.
//! - [`is_stale_udp_error`]: Windows reports an ICMP "port unreachable" from an earlier
//!   datagram as a connection reset on the next `recv_from`; UDP code carries on after it.
//!
//! ```
//! use socket2::{Domain, Protocol, Socket, Type};
//!
//! let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
//! let info = netutil::os::describe(&socket)?;
//! assert_eq!((info.domain, info.kind), (Domain::IPV4, Type::STREAM));
//! assert_eq!(netutil::os::set_reuse_address(&socket)?, netutil::os::REUSE_ADDRESS_OPTION);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;

use socket2::{Domain, Protocol, Socket, Type};

/// What the kernel says a socket is: the three arguments of `socket()`, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketInfo {
    /// The address family: `AF_INET` (IPv4) or `AF_INET6` (IPv6).
    pub domain: Domain,
    /// The socket type: `SOCK_STREAM` (a byte stream) or `SOCK_DGRAM` (datagrams).
    pub kind: Type,
    /// The protocol, or `None` where the OS does not report it (macOS).
    pub protocol: Option<Protocol>,
    /// The number the OS knows the socket by: a file descriptor on Unix, a `SOCKET` handle on
    /// Windows. [`HANDLE_NAME`] says which.
    pub handle: u64,
}

/// What [`SocketInfo::handle`] is called on this OS.
#[cfg(unix)]
pub const HANDLE_NAME: &str = "file descriptor";
/// What [`SocketInfo::handle`] is called on this OS.
#[cfg(windows)]
pub const HANDLE_NAME: &str = "socket handle";

/// The option [`set_reuse_address`] sets on this OS, as the lessons print it.
#[cfg(unix)]
pub const REUSE_ADDRESS_OPTION: &str = "SO_REUSEADDR";
/// The option [`set_reuse_address`] sets on this OS, as the lessons print it.
#[cfg(windows)]
pub const REUSE_ADDRESS_OPTION: &str = "SO_EXCLUSIVEADDRUSE";

/// Whether a read of a non-blocking socket that returned fewer bytes than it asked for took
/// everything the kernel had, so that a readiness loop may go back to `poll` without a last
/// read that says `WouldBlock`: true with epoll (Linux) and kqueue (macOS), which report the
/// next bytes, and the end of the stream, as new events. False on Windows, where mio emulates
/// readiness and renews it only after a `WouldBlock`. (tokio makes the same distinction.)
pub const SHORT_READ_EMPTIES: bool = !cfg!(windows);

/// Asks the kernel what `socket` is (getsockopt), instead of trusting the arguments it was
/// made with.
pub fn describe(socket: &Socket) -> io::Result<SocketInfo> {
    let (domain, protocol) = domain_and_protocol(socket)?;
    Ok(SocketInfo {
        domain,
        kind: socket.r#type()?,
        protocol,
        handle: handle(socket),
    })
}

// Linux, Android, FreeBSD and Fuchsia have SO_DOMAIN and SO_PROTOCOL.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "fuchsia"
))]
fn domain_and_protocol(socket: &Socket) -> io::Result<(Domain, Option<Protocol>)> {
    Ok((socket.domain()?, socket.protocol()?))
}

// Other Unix systems (macOS): even an unbound socket has an address (0.0.0.0:0 or [::]:0),
// whose family is the domain; there is no option that tells the protocol.
#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "fuchsia"
    ))
))]
fn domain_and_protocol(socket: &Socket) -> io::Result<(Domain, Option<Protocol>)> {
    Ok((socket.local_addr()?.domain(), None))
}

// Windows: SO_PROTOCOL_INFOW fills a WSAPROTOCOL_INFOW, with the family and protocol in it.
#[cfg(windows)]
fn domain_and_protocol(socket: &Socket) -> io::Result<(Domain, Option<Protocol>)> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{
        SO_PROTOCOL_INFOW, SOL_SOCKET, WSAGetLastError, WSAPROTOCOL_INFOW, getsockopt,
    };

    let mut info = WSAPROTOCOL_INFOW::default();
    let mut len = std::mem::size_of::<WSAPROTOCOL_INFOW>() as i32;
    // SAFETY: `info` is a writable WSAPROTOCOL_INFOW of `len` bytes, and the handle is open
    // for as long as `socket` is borrowed.
    let status = unsafe {
        getsockopt(
            socket.as_raw_socket() as usize,
            SOL_SOCKET,
            SO_PROTOCOL_INFOW,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    if status != 0 {
        // SAFETY: no arguments; reads this thread's last Winsock error.
        return Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }));
    }
    let protocol = match info.iProtocol {
        0 => None,
        number => Some(Protocol::from(number)),
    };
    Ok((Domain::from(info.iAddressFamily), protocol))
}

#[cfg(unix)]
fn handle(socket: &Socket) -> u64 {
    use std::os::fd::AsRawFd;
    // A file descriptor is a small non-negative number.
    socket.as_raw_fd().unsigned_abs().into()
}

#[cfg(windows)]
fn handle(socket: &Socket) -> u64 {
    use std::os::windows::io::AsRawSocket;
    socket.as_raw_socket()
}

/// Lets a server that restarts bind its port again at once, while connections of its previous
/// run still sit in `TIME_WAIT`: call it between `Socket::new` and `bind`. Returns the name of
/// the option it set ([`REUSE_ADDRESS_OPTION`]).
///
/// On Unix this is `SO_REUSEADDR`, which never lets two programs listen on one port. On
/// Windows `SO_REUSEADDR` means something else: another program could bind the same port and
/// take connections meant for this one. There this sets `SO_EXCLUSIVEADDRUSE` instead, which
/// Microsoft recommends for servers ("Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE"): nobody
/// else may bind the port while the socket lives. Its price, in Microsoft's words: the port
/// may stay taken after a restart until connections the old socket accepted have ended.
pub fn set_reuse_address(socket: &Socket) -> io::Result<&'static str> {
    set_reuse_option(socket)?;
    Ok(REUSE_ADDRESS_OPTION)
}

#[cfg(unix)]
fn set_reuse_option(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_address(true)
}

#[cfg(windows)]
fn set_reuse_option(socket: &Socket) -> io::Result<()> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{
        SO_EXCLUSIVEADDRUSE, SOL_SOCKET, WSAGetLastError, setsockopt,
    };

    let on: i32 = 1;
    // SAFETY: `on` is a readable i32 of the length given, and the handle is open for as long
    // as `socket` is borrowed.
    let status = unsafe {
        setsockopt(
            socket.as_raw_socket() as usize,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&raw const on).cast(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if status != 0 {
        // SAFETY: no arguments; reads this thread's last Winsock error.
        return Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }));
    }
    Ok(())
}

/// Whether an error from a UDP socket's `recv`/`recv_from` is news about an *earlier*
/// datagram, not about this receive: the socket still works, keep receiving.
///
/// Windows turns an ICMP "port unreachable" (a datagram we sent found nobody listening)
/// into a connection reset (`WSAECONNRESET`, 10054) on the next receive, even on a server
/// socket that talks to many clients. Linux and macOS report it only on a connected socket,
/// as "connection refused". Both say one peer is gone; neither stops the socket.
pub fn is_stale_udp_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_what_the_kernel_made() {
        let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        let info = describe(&socket).unwrap();
        assert_eq!(info.domain, Domain::IPV6);
        assert_eq!(info.kind, Type::DGRAM);
        assert!(matches!(info.protocol, Some(Protocol::UDP) | None));
    }

    // Unix: Windows' SO_EXCLUSIVEADDRUSE may keep the port until the old connection is gone.
    #[cfg(unix)]
    #[test]
    fn a_restarted_server_binds_while_the_old_connection_is_in_time_wait() {
        use std::io::Read;
        use std::net::{SocketAddr, TcpListener, TcpStream};

        let bind_again = |addr: SocketAddr| {
            let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
            set_reuse_address(&socket).unwrap();
            socket.bind(&addr.into())?;
            socket.listen(8)?;
            io::Result::Ok(TcpListener::from(socket))
        };
        let first = bind_again("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).unwrap();
        let (accepted, _) = first.accept().unwrap();
        // The server closes first, so its side of the connection goes to TIME_WAIT.
        drop(accepted);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        drop(first);
        assert!(bind_again(addr).is_ok());
    }

    #[test]
    fn a_reset_on_a_udp_socket_is_about_an_earlier_datagram() {
        assert!(is_stale_udp_error(&io::ErrorKind::ConnectionReset.into()));
        assert!(is_stale_udp_error(&io::ErrorKind::ConnectionRefused.into()));
        assert!(!is_stale_udp_error(&io::ErrorKind::PermissionDenied.into()));
        assert!(!is_stale_udp_error(&io::ErrorKind::TimedOut.into()));
    }

    // WSAECONNRESET, as Windows reports it after an ICMP "port unreachable".
    #[cfg(windows)]
    #[test]
    fn windows_reset_number_is_a_stale_udp_error() {
        assert!(is_stale_udp_error(&io::Error::from_raw_os_error(10054)));
    }
}
