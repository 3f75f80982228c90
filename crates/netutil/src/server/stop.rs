//! The graceful stop: Ctrl-C (SIGINT) or SIGTERM (`kill`, `docker stop`) asks a server to
//! stop accepting and let its live clients finish, instead of ending the process mid-sentence
//! for every one of them.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A request to stop, and the way to wake up the loop that must see it. Clone it freely;
/// every clone controls the same server.
///
/// A server sleeps in `accept`, `poll` or `select!`, and none of them looks at a flag. So
/// [`Stop::request`] sets the flag and then wakes the server up: a blocking accept loop by a
/// connection to its own listener ([`Stop::for_listener`]: `accept` returns it, the loop sees
/// the flag and stops), a readiness loop by its waker ([`Stop::with_wake`]).
///
/// ```
/// use std::net::TcpListener;
/// use netutil::server::Stop;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let stop = Stop::for_listener(&listener)?;
/// let stopper = stop.clone();
/// std::thread::spawn(move || stopper.request());
///
/// // The accept loop of a server, as the lessons write it:
/// for stream in listener.incoming() {
///     if stop.is_requested() {
///         break; // this connection was the wake-up call, not a client
///     }
///     drop(stream);
/// }
/// assert!(stop.is_requested());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Stop {
    requested: Arc<AtomicBool>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stop")
            .field("requested", &self.is_requested())
            .finish_non_exhaustive()
    }
}

impl Stop {
    /// A stop for the blocking accept loop of `listener`: a request connects to it once.
    pub fn for_listener(listener: &TcpListener) -> io::Result<Stop> {
        let mut wake_addr = listener.local_addr()?;
        // A listener on every interface (0.0.0.0 or ::) is reachable on loopback.
        if wake_addr.ip().is_unspecified() {
            wake_addr.set_ip(match wake_addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        // If the connect fails the listener is gone already, and nothing waits in accept.
        Ok(Stop::with_wake(move || {
            let _ = TcpStream::connect_timeout(&wake_addr, Duration::from_secs(1));
        }))
    }

    /// A stop that calls `wake` once, on the first request (a readiness loop's waker, a
    /// channel's send).
    pub fn with_wake(wake: impl Fn() + Send + Sync + 'static) -> Stop {
        Stop {
            requested: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(wake),
        }
    }

    /// Makes Ctrl-C and SIGTERM request this stop; a second one quits at once (exit code
    /// 130), for a server whose clients take too long. A process has one such handler.
    pub fn on_ctrl_c(self) -> io::Result<Stop> {
        let on_signal = self.clone();
        ctrlc::set_handler(move || {
            if !on_signal.request() {
                std::process::exit(130);
            }
        })
        .map_err(io::Error::other)?;
        Ok(self)
    }

    /// Asks the server to stop and wakes it up. Returns `true` the first time, `false` when a
    /// stop was already requested (a second Ctrl-C, say).
    pub fn request(&self) -> bool {
        if self.requested.swap(true, Ordering::SeqCst) {
            return false;
        }
        (self.wake)();
        true
    }

    /// Whether a stop was requested: check it each time the server wakes up.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}
