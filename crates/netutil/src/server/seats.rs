//! The cap on clients: a seat for each live client, the busy line for the one past the cap,
//! and the counts a server reports when it stops.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use socket2::SockRef;

use super::hang_up;

/// What a client past the cap is told, just before the server closes the connection.
pub const BUSY: &[u8] = b"Server busy: too many clients, try again later\n";

/// At most `max_clients` live clients. Clone it freely: every clone counts the same seats.
///
/// Every model of server uses it the same way: a thread, a task or a loop's client holds its
/// [`Seat`] and gives it back by dropping it, however it ends (even in a panic).
///
/// ```
/// use std::net::{TcpListener, TcpStream};
/// use netutil::server::Seats;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let seats = Seats::new(1);
/// let _first = TcpStream::connect(listener.local_addr()?)?;
/// let (client, peer) = listener.accept()?;
/// let seat = seats.take_or_turn_away(&client, peer).expect("a free seat");
/// assert_eq!(seats.live(), 1);
///
/// // The cap is reached: the next client gets the busy line, and no seat.
/// let _second = TcpStream::connect(listener.local_addr()?)?;
/// let (client, peer) = listener.accept()?;
/// assert!(seats.take_or_turn_away(&client, peer).is_none());
///
/// drop(seat);
/// assert_eq!((seats.live(), seats.served(), seats.turned_away()), (0, 1, 1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Seats {
    counts: Arc<Counts>,
}

#[derive(Debug)]
struct Counts {
    max: usize,
    live: AtomicUsize,
    served: AtomicU64,
    turned_away: AtomicU64,
}

/// One client's place among the live ones: taking it counts the client in, dropping it
/// counts the client out.
#[derive(Debug)]
pub struct Seat {
    counts: Arc<Counts>,
}

impl Seats {
    /// Room for `max_clients` live clients.
    pub fn new(max_clients: usize) -> Seats {
        Seats {
            counts: Arc::new(Counts {
                max: max_clients,
                live: AtomicUsize::new(0),
                served: AtomicU64::new(0),
                turned_away: AtomicU64::new(0),
            }),
        }
    }

    /// A seat for the client that just connected from `peer`, or, when every seat is taken,
    /// `None`: the client was told [`BUSY`] and closed, and the log says so. A client we
    /// cannot serve costs no thread, no task and no buffer.
    pub fn take_or_turn_away<'s>(
        &self,
        client: impl Into<SockRef<'s>>,
        peer: SocketAddr,
    ) -> Option<Seat> {
        let counts = &self.counts;
        // Check and increment in one atomic step, so the count never passes the cap.
        let taken = counts
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |live| {
                (live < counts.max).then_some(live + 1)
            });
        if taken.is_err() {
            let why = format_args!("{} clients already connected", counts.max);
            self.turn_away(client, peer, why);
            return None;
        }
        counts.served.fetch_add(1, Ordering::SeqCst);
        Some(Seat {
            counts: counts.clone(),
        })
    }

    /// A client got a seat but cannot be served after all (no thread could start for it):
    /// it is told [`BUSY`] as if the server were full, and counted as turned away.
    pub fn could_not_serve<'s>(
        &self,
        client: impl Into<SockRef<'s>>,
        peer: SocketAddr,
        why: impl fmt::Display,
    ) {
        self.counts.served.fetch_sub(1, Ordering::SeqCst);
        self.turn_away(client, peer, why);
    }

    fn turn_away<'s>(
        &self,
        client: impl Into<SockRef<'s>>,
        peer: SocketAddr,
        why: impl fmt::Display,
    ) {
        self.counts.turned_away.fetch_add(1, Ordering::SeqCst);
        crate::log!("{peer} turned away: {why}");
        // A few bytes into a new socket never wait, so this is fine in a loop that must not.
        hang_up(client, BUSY, Duration::ZERO);
    }

    /// Clients connected right now.
    pub fn live(&self) -> usize {
        self.counts.live.load(Ordering::SeqCst)
    }

    /// Clients that got a seat since the start.
    pub fn served(&self) -> u64 {
        self.counts.served.load(Ordering::SeqCst)
    }

    /// Clients told the server was busy since the start.
    pub fn turned_away(&self) -> u64 {
        self.counts.turned_away.load(Ordering::SeqCst)
    }

    /// The first line of a graceful stop, once the listener is closed.
    pub fn announce_stop(&self, grace: Duration) {
        crate::log!(
            "stopping: no new clients; waiting up to {grace:?} for {} live client(s)",
            self.live()
        );
    }

    /// The last line a server prints: what it did, and how many clients were still there.
    pub fn report_stopped(&self) {
        crate::log!(
            "server stopped: {} clients served, {} turned away, {} cut off after the grace period",
            self.served(),
            self.turned_away(),
            self.live()
        );
    }

    /// The graceful stop of a thread per client: announce it, give live clients up to `grace`
    /// to leave on their own, then report. Close the listener first, so that new clients are
    /// refused at once instead of waiting in the backlog. The threads still running when the
    /// program returns are ended by the system, and their sockets closed (a FIN each).
    pub fn stop_gracefully(&self, grace: Duration) {
        self.announce_stop(grace);
        let deadline = Instant::now() + grace;
        while self.live() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        self.report_stopped();
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.counts.live.fetch_sub(1, Ordering::SeqCst);
    }
}
