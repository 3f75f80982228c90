//! Stopping an accept loop from another thread (a Ctrl-C handler, a test).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Asks an accept loop to stop. Clone it freely; every clone controls the same loop.
///
/// A thread blocked in `accept` does not look at flags, so [`ShutdownHandle::request`] sets
/// the flag and then connects to the listener once: `accept` returns that connection, the
/// loop sees the flag, drops the connection and stops accepting. This works on every
/// platform and needs no signals or non-blocking sockets.
///
/// ```
/// use std::net::TcpListener;
/// use netutil::server::ShutdownHandle;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let shutdown = ShutdownHandle::new(&listener)?;
/// let stopper = shutdown.clone();
/// std::thread::spawn(move || stopper.request());
///
/// // The accept loop of a server, as the lessons write it:
/// for stream in listener.incoming() {
///     if shutdown.is_requested() {
///         break; // this connection was the wake-up call, not a client
///     }
///     drop(stream);
/// }
/// assert!(shutdown.is_requested());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    requested: Arc<AtomicBool>,
    wake_addr: SocketAddr,
}

impl ShutdownHandle {
    /// A handle for the accept loop of `listener`.
    pub fn new(listener: &TcpListener) -> io::Result<Self> {
        let mut wake_addr = listener.local_addr()?;
        // A listener on every interface (0.0.0.0 or ::) is reachable on loopback.
        if wake_addr.ip().is_unspecified() {
            wake_addr.set_ip(match wake_addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Ok(ShutdownHandle {
            requested: Arc::new(AtomicBool::new(false)),
            wake_addr,
        })
    }

    /// Asks the loop to stop and wakes it up. Returns `true` the first time, `false` when a
    /// stop was already requested (a second Ctrl-C, say).
    pub fn request(&self) -> bool {
        if self.requested.swap(true, Ordering::SeqCst) {
            return false;
        }
        // If the connect fails the listener is gone already, and nothing waits in accept.
        let _ = TcpStream::connect_timeout(&self.wake_addr, Duration::from_secs(1));
        true
    }

    /// Whether a stop was requested: check it each time `accept` returns.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}
