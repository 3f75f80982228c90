//! Opening a listening socket: `socket` → options → `bind` → `listen`, with socket2.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Where a line server listens: the `--host` and `--port` flags of server_05, server_06 and
/// server_07, to flatten into a lesson's arguments with `#[command(flatten)]`.
///
/// ```
/// use clap::Parser;
/// use netutil::server::ListenArgs;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     listen: ListenArgs,
/// }
///
/// assert_eq!(Args::parse_from(["server"]).listen.addr().to_string(), "127.0.0.1:8888");
/// let everywhere = Args::parse_from(["server", "--host", "::", "--port", "0"]);
/// assert_eq!(everywhere.listen.addr().to_string(), "[::]:0");
/// ```
#[derive(clap::Args, Debug, Clone)]
pub struct ListenArgs {
    /// The IP address to bind. 127.0.0.1: only this machine can connect. 0.0.0.0 (or ::):
    /// every network interface, so anyone on your network can connect.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// The port to bind (0: the system picks a free one).
    #[arg(long, default_value_t = 8888)]
    pub port: u16,
}

impl ListenArgs {
    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// How [`bind`] sets up a listening socket. `BindOptions::default()` is what the lessons use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindOptions {
    /// Set `SO_REUSEADDR` before binding, so a restarted server can bind its port while
    /// connections of the previous run still sit in `TIME_WAIT`. On Linux and macOS it never
    /// lets two programs listen on the same port. On Windows, where the same option would let
    /// another program take the port over, `SO_EXCLUSIVEADDRUSE` is set instead: see
    /// [`crate::os::set_reuse_address`].
    pub reuse_address: bool,
    /// How many connections the kernel may hold, fully set up, before the program accepts
    /// them (the `listen` backlog). Further clients wait in their SYN retries.
    pub backlog: i32,
    /// For an IPv6 address: accept IPv4 clients too, as `::ffff:a.b.c.d` (`IPV6_V6ONLY` off).
    /// `false` (the default) makes `[::]` mean IPv6 only, whatever the system default is.
    /// Ignored for IPv4 addresses.
    pub dual_stack: bool,
}

impl Default for BindOptions {
    fn default() -> Self {
        BindOptions {
            reuse_address: true,
            backlog: 128,
            dual_stack: false,
        }
    }
}

/// Why [`bind`] could not open a listening socket at an address.
#[derive(Debug)]
pub struct BindError {
    addr: SocketAddr,
    step: &'static str,
    source: io::Error,
}

impl BindError {
    /// The address that could not be bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the operating system said.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = self.addr;
        match self.source.kind() {
            // The system's own words ("Address already in use", as the lessons that call bind
            // themselves print it); the hint says what to do.
            io::ErrorKind::AddrInUse => write!(f, "could not bind {addr}: {}", self.source),
            io::ErrorKind::AddrNotAvailable => write!(
                f,
                "could not bind {addr}: the address {} does not belong to this machine",
                addr.ip()
            ),
            io::ErrorKind::PermissionDenied => write!(
                f,
                "could not bind {addr}: port {} is reserved for the administrator",
                addr.port()
            ),
            _ => write!(f, "could not {} {addr}: {}", self.step, self.source),
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Opens a TCP socket listening at `addr`: the calls `server_01`..`server_04` write out one
/// by one (`socket`, `setsockopt`, `bind`, `listen`), in one place.
///
/// Port 0 asks the kernel for a free port; read it back with `local_addr()`.
///
/// ```
/// use netutil::server::{bind, BindOptions};
///
/// let listener = bind("127.0.0.1:0".parse()?, &BindOptions::default())?;
/// let addr = listener.local_addr()?;
/// assert_ne!(addr.port(), 0);
///
/// // Someone else listening there already: one sentence, and the io::Error as its source.
/// let taken = bind(addr, &BindOptions::default()).unwrap_err();
/// assert_eq!(taken.io_error().kind(), std::io::ErrorKind::AddrInUse);
/// assert!(taken.to_string().starts_with(&format!("could not bind {addr}: ")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn bind(addr: SocketAddr, options: &BindOptions) -> Result<TcpListener, BindError> {
    let fail = |step| move |source| BindError { addr, step, source };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(fail("create a socket for"))?;
    if options.reuse_address {
        // SO_REUSEADDR; on Windows SO_EXCLUSIVEADDRUSE, as its SO_REUSEADDR lets others take the port.
        crate::os::set_reuse_address(&socket).map_err(fail("set SO_REUSEADDR for"))?;
    }
    if addr.is_ipv6() {
        socket
            .set_only_v6(!options.dual_stack)
            .map_err(fail("set IPV6_V6ONLY for"))?;
    }
    socket.bind(&addr.into()).map_err(fail("bind"))?;
    socket.listen(options.backlog).map_err(fail("listen on"))?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv6Addr, TcpStream};

    /// Whether this machine has IPv6 at all; the IPv6 tests say so when it has not.
    fn has_ipv6(test: &str) -> bool {
        match std::net::TcpListener::bind("[::1]:0") {
            Ok(_) => true,
            Err(error) => {
                println!("skipped {test}: this machine has no IPv6 loopback ({error})");
                false
            }
        }
    }

    #[test]
    fn dual_stack_listener_on_the_ipv6_wildcard_accepts_ipv4_clients() {
        if !has_ipv6("dual_stack_listener_on_the_ipv6_wildcard_accepts_ipv4_clients") {
            return;
        }
        let options = BindOptions {
            dual_stack: true,
            ..BindOptions::default()
        };
        let listener = bind((Ipv6Addr::UNSPECIFIED, 0).into(), &options).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (mut accepted, peer) = listener.accept().unwrap();
        // The IPv4 client shows up as an IPv4-mapped IPv6 address.
        match peer {
            SocketAddr::V6(v6) => assert_eq!(
                v6.ip().to_ipv4_mapped(),
                Some(std::net::Ipv4Addr::LOCALHOST)
            ),
            SocketAddr::V4(_) => panic!("a [::] listener reports IPv6 peers, got {peer}"),
        }
        client.write_all(b"x").unwrap();
        let mut byte = [0; 1];
        accepted.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    #[test]
    fn ipv6_only_listener_refuses_ipv4_clients() {
        if !has_ipv6("ipv6_only_listener_refuses_ipv4_clients") {
            return;
        }
        let listener = bind((Ipv6Addr::UNSPECIFIED, 0).into(), &BindOptions::default()).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(TcpStream::connect(("::1", port)).is_ok());
        let refused = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn an_address_of_another_machine_is_one_sentence() {
        // 192.0.2.1 is TEST-NET-1: documentation only, never assigned to this machine.
        let error = bind("192.0.2.1:0".parse().unwrap(), &BindOptions::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "could not bind 192.0.2.1:0: the address 192.0.2.1 does not belong to this machine"
        );
    }
}
