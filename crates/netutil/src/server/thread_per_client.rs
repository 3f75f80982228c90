//! The thread per client of `server_05`, packaged for echo-style servers (`echo_server`) and
//! homework: a cap on clients, an idle timeout and a minimum rate per connection, and a
//! graceful stop.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use super::rate::{ConnectionLimits, StoppedReading, TooSlow};
use super::{AcceptBackoff, BUSY, Connection, MinRate, Stop, hang_up, is_timeout};

/// Something a [`ThreadPerClient`] wants its owner to know about (see [`ThreadPerClient::on_event`]).
/// `Display` writes it as one line.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A client connected while the server was full: it got the busy message and was closed.
    TurnedAway {
        /// The client.
        peer: SocketAddr,
    },
    /// `accept` failed; the server pauses for `retry_in` and tries again.
    AcceptFailed {
        /// What the operating system said.
        error: &'a io::Error,
        /// The pause before the next `accept` (see [`AcceptBackoff`]).
        retry_in: Duration,
    },
    /// A connection ended with an error: the handler returned it, or its thread could not start.
    ConnectionFailed {
        /// The client.
        peer: SocketAddr,
        /// The error.
        error: &'a io::Error,
    },
    /// A shutdown was requested: the server stopped accepting and waits for live connections.
    Draining {
        /// Clients still connected.
        live: usize,
        /// How long they may take before they are cut off.
        grace: Duration,
    },
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::TurnedAway { peer } => write!(f, "{peer} turned away: too many clients"),
            Event::AcceptFailed { error, retry_in } => {
                write!(f, "accept failed ({error}); retrying in {retry_in:?}")
            }
            Event::ConnectionFailed { peer, error } if TooSlow::find(error).is_some() => {
                write!(f, "{peer} dropped: {error}")
            }
            Event::ConnectionFailed { peer, error } if StoppedReading::find(error).is_some() => {
                write!(f, "{peer} dropped: {error}")
            }
            Event::ConnectionFailed { peer, error } if is_timeout(error) => {
                write!(f, "{peer} dropped: idle for too long")
            }
            Event::ConnectionFailed { peer, error } => write!(f, "{peer} failed: {error}"),
            Event::Draining { live, grace } => write!(
                f,
                "stopped accepting; waiting up to {grace:?} for {live} live connection(s)"
            ),
        }
    }
}

/// What [`ThreadPerClient::serve`] did, once it has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Clients that got a seat and were handed to the handler.
    pub served: u64,
    /// Clients turned away because the server was full.
    pub turned_away: u64,
    /// Clients still connected when the grace period ended, which the server then closed.
    pub cut_off: usize,
}

type EventSink = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// A thread-per-connection TCP server with a connection cap, an idle timeout and a graceful
/// shutdown. Build it with [`ThreadPerClient::new`] and the setters, then call [`ThreadPerClient::serve`].
pub struct ThreadPerClient {
    listener: TcpListener,
    stop: Stop,
    max_clients: usize,
    limits: ConnectionLimits,
    grace_period: Duration,
    busy_message: Vec<u8>,
    events: EventSink,
    /// The stack size of connection threads; only tests set it, to make spawning fail.
    #[cfg(test)]
    thread_stack: Option<usize>,
}

impl ThreadPerClient {
    /// A server for `listener` with the defaults: 256 connections, 60 s idle timeout, a
    /// minimum rate of 64 bytes a minute ([`MinRate::default`]), 5 s grace period, and the
    /// busy message `Server busy: too many clients, try again later`.
    pub fn new(listener: TcpListener) -> io::Result<Self> {
        Ok(ThreadPerClient {
            stop: Stop::for_listener(&listener)?,
            listener,
            max_clients: 256,
            limits: ConnectionLimits {
                idle_timeout: Some(Duration::from_secs(60)),
                min_rate: Some(MinRate::default()),
            },
            grace_period: Duration::from_secs(5),
            busy_message: BUSY.to_vec(),
            events: Arc::new(|_: &Event<'_>| {}),
            #[cfg(test)]
            thread_stack: None,
        })
    }

    /// At most `max` connections at once; client `max + 1` gets the busy message.
    pub fn max_clients(mut self, max: usize) -> Self {
        self.max_clients = max;
        self
    }

    /// How long a connection may stay silent (or not read what it is sent) before its reads
    /// and writes fail with a timeout (see [`is_timeout`]). `None` or zero: no limit.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.idle_timeout = timeout.filter(|timeout| !timeout.is_zero());
        self
    }

    /// The least a connection must move (bytes received plus bytes sent) in each window of
    /// time, or it is cut off as too slow: see [`MinRate`]. `None`: no minimum.
    pub fn min_rate(mut self, rate: Option<MinRate>) -> Self {
        self.limits.min_rate = rate.filter(|rate| rate.bytes > 0 && !rate.window.is_zero());
        self
    }

    /// How long live connections may take to finish after a shutdown request.
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }

    /// The bytes a client gets when the server is full, just before it is closed.
    pub fn busy_message(mut self, message: impl Into<Vec<u8>>) -> Self {
        self.busy_message = message.into();
        self
    }

    /// Calls `sink` for each [`Event`], from the accepting thread or a connection's thread.
    pub fn on_event(mut self, sink: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.events = Arc::new(sink);
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops [`ThreadPerClient::serve`] from another thread.
    pub fn stop_handle(&self) -> Stop {
        self.stop.clone()
    }

    /// Accepts connections and runs `handler(stream, peer)` for each on its own thread, until
    /// a shutdown is requested; then stops accepting, waits for live connections up to the
    /// grace period, closes the ones left, and returns what it did.
    ///
    /// The handler reads and writes through a [`Connection`] (`&Connection` implements
    /// `Read` and `Write`), which applies the idle timeout and the minimum rate. The server
    /// keeps the stream so that it can close it when a shutdown's grace period ends; the
    /// connection closes when the handler returns. An error the handler returns is reported
    /// as [`Event::ConnectionFailed`]; it never stops the server. A client cut off as too
    /// slow is told so in one line first.
    pub fn serve<H>(self, handler: H) -> Summary
    where
        H: Fn(&Connection, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        let live = Arc::new(LiveClients::default());
        let mut summary = Summary::default();
        let mut backoff = AcceptBackoff::new();
        loop {
            let accepted = self.listener.accept();
            if self.stop.is_requested() {
                break;
            }
            let (stream, peer) = match accepted {
                Ok(pair) => {
                    backoff.reset();
                    pair
                }
                Err(error) => {
                    let retry_in = backoff.after_error(&error);
                    (self.events)(&Event::AcceptFailed {
                        error: &error,
                        retry_in,
                    });
                    thread::sleep(retry_in);
                    continue;
                }
            };
            let seat = match LiveClients::enter(&live, stream, self.max_clients) {
                Ok(seat) => seat,
                Err(stream) => {
                    summary.turned_away += 1;
                    (self.events)(&Event::TurnedAway { peer });
                    hang_up(&stream, &self.busy_message, Duration::ZERO);
                    continue;
                }
            };
            summary.served += 1;
            let stream = seat.stream.clone();
            // The idle timeout is on the socket from the start, so that it holds even for
            // reads and writes made on `Connection::stream` directly.
            let idle = self.limits.idle_timeout;
            let setup = stream
                .set_read_timeout(idle)
                .and_then(|()| stream.set_write_timeout(idle));
            let connection = Connection::new(seat.stream.clone(), self.limits);
            let (handler, events) = (handler.clone(), self.events.clone());
            let builder = thread::Builder::new().name(format!("client {peer}"));
            #[cfg(test)]
            let builder = match self.thread_stack {
                Some(size) => builder.stack_size(size),
                None => builder,
            };
            let spawned = builder.spawn(move || {
                // Owned by the thread: the seat is given back when the thread ends.
                let _seat = seat;
                if let Err(error) = setup.and_then(|()| handler(&connection, peer)) {
                    if let Some(too_slow) = TooSlow::find(&error) {
                        let words = format!(
                            "Too slow: {} bytes in {:?}, fewer than the {} required. Bye\n",
                            too_slow.moved, too_slow.min_rate.window, too_slow.min_rate.bytes
                        );
                        hang_up(connection.stream(), words.as_bytes(), Duration::ZERO);
                    }
                    events(&Event::ConnectionFailed {
                        peer,
                        error: &error,
                    });
                }
            });
            if let Err(error) = spawned {
                // No thread (a limit on processes, or no memory): for the client this is the
                // same as a full server, so it gets the same line instead of a silent close.
                hang_up(&stream, &self.busy_message, Duration::ZERO);
                (self.events)(&Event::ConnectionFailed {
                    peer,
                    error: &error,
                });
            }
        }
        // Closing the listener makes new clients see "connection refused" at once, instead of
        // waiting in the backlog of a server that will never accept them.
        drop(self.listener);
        let left = live.count();
        if left > 0 {
            (self.events)(&Event::Draining {
                live: left,
                grace: self.grace_period,
            });
        }
        summary.cut_off = live.wait_until_empty(self.grace_period);
        if summary.cut_off > 0 {
            // Shutting a socket down wakes its handler's blocked read with end of stream.
            live.close_all();
            live.wait_until_empty(Duration::from_secs(1));
        }
        summary
    }
}

/// The live connections of a [`ThreadPerClient`]: each stream (shared with its thread, so a shutdown
/// can close it without another file descriptor), and a condition variable that tells when
/// one leaves.
#[derive(Default)]
struct LiveClients {
    streams: Mutex<Registry>,
    left: Condvar,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Arc<TcpStream>>,
}

/// A place among the live connections, given back when the connection's thread ends.
struct ClientSeat {
    live: Arc<LiveClients>,
    id: u64,
    stream: Arc<TcpStream>,
}

impl LiveClients {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A handler that panicked cannot leave the registry half-updated: every change is one
        // insert or remove. So a poisoned lock is still good to use.
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A seat for `stream`, or the stream back when `max` connections are live already.
    fn enter(live: &Arc<Self>, stream: TcpStream, max: usize) -> Result<ClientSeat, TcpStream> {
        let mut registry = live.lock();
        if registry.open.len() >= max {
            return Err(stream);
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let stream = Arc::new(stream);
        registry.open.insert(id, stream.clone());
        Ok(ClientSeat {
            live: live.clone(),
            id,
            stream,
        })
    }

    fn count(&self) -> usize {
        self.lock().open.len()
    }

    /// Waits up to `timeout` for every connection to end; returns how many are still open.
    fn wait_until_empty(&self, timeout: Duration) -> usize {
        let registry = self.lock();
        let (registry, _) = self
            .left
            .wait_timeout_while(registry, timeout, |registry| !registry.open.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        registry.open.len()
    }

    fn close_all(&self) {
        for stream in self.lock().open.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for ClientSeat {
    fn drop(&mut self) {
        self.live.lock().open.remove(&self.id);
        self.live.left.notify_all();
    }
}

#[cfg(test)]
mod tests;
