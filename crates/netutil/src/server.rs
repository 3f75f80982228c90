//! Everything a lesson's server needs around its one idea: the listening socket, the limits
//! on clients, the cap, the graceful stop, and the thread per client packaged for reuse.
//!
//! The server lessons write their idea out with std, mio or tokio calls; this module is the
//! rest, with the same names the lessons and their notes use. What each lesson takes from it:
//!
//! | concept | items | file | used by |
//! |---|---|---|---|
//! | the listening socket: `socket` → `SO_REUSEADDR` → `bind` → `listen` | [`bind`], [`BindOptions`], [`BindError`], [`ListenArgs`] (`--host`, `--port`) | `server/bind.rs` | server_05, server_06, server_07, echo_server |
//! | the limits a client is held to, their flags, what a client over one is told | [`Limits`], [`LimitArgs`], [`Limit`] | `server/limits.rs` | server_05, server_06, server_07 |
//! | cutting bytes into lines within those limits | [`LineBuffer`] (filled by any reader), [`LineReader`] (a blocking client), [`Next`] | `server/lines.rs` | server_05 (`LineReader`), server_06 (`read_from`), server_07 (`spare`/`filled`) |
//! | the cap: a seat per live client, the busy line, the counts | [`Seats`], [`Seat`], [`BUSY`] | `server/seats.rs` | server_05, server_06, server_07 |
//! | the graceful stop on Ctrl-C and SIGTERM | [`Stop`] | `server/stop.rs` | server_05, server_06, server_07, echo_server |
//! | a last line that survives the close | [`hang_up`], [`LINGER`] | `server/hang_up.rs` | server_05, server_06, server_07 (through [`Seats`] too) |
//! | the pause after `accept` fails (no file descriptors left) | [`AcceptBackoff`] | `server/accept.rs` | server_04, server_05, server_06, server_07 |
//! | timeouts that read as timeouts on every system | [`is_timeout`], [`explain_timeout`] | `server/timeouts.rs` | server_04, server_05, [`http`](crate::http) |
//! | the deadlines of a readiness loop | [`Deadlines`] | `server/deadlines.rs` | server_06 |
//! | replies waiting for a non-blocking socket, capped (backpressure) | [`Outbox`] | `server/outbox.rs` | server_06 |
//! | the thread per client, packaged, with a minimum rate instead of lines | [`ThreadPerClient`], [`Connection`], [`MinRate`] | `server/thread_per_client.rs`, `server/rate.rs` | echo_server, homework |
//!
//! server_01..04 use none of it but the last few rows: their socket calls are their lesson.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//! use netutil::server::{bind, BindOptions, ThreadPerClient};
//!
//! let listener = bind("127.0.0.1:0".parse()?, &BindOptions::default())?;
//! let server = ThreadPerClient::new(listener)?
//!     .max_clients(16)
//!     .idle_timeout(Some(Duration::from_secs(5)));
//! let addr = server.local_addr()?;
//! let stop = server.stop_handle();
//! // Serve in the background: a handler that answers one line with its length.
//! let serving = std::thread::spawn(move || {
//!     server.serve(|stream, _peer| {
//!         let mut line = String::new();
//!         BufReader::new(stream).read_line(&mut line)?;
//!         let mut writer = stream;
//!         writer.write_all(format!("{}\n", line.len()).as_bytes())
//!     })
//! });
//!
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"hello\n")?;
//! let mut reply = String::new();
//! BufReader::new(&client).read_line(&mut reply)?;
//! assert_eq!(reply, "6\n");
//!
//! stop.request();
//! let summary = serving.join().expect("the server thread does not panic");
//! assert_eq!(summary.served, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod accept;
mod bind;
mod deadlines;
mod hang_up;
mod limits;
mod lines;
mod outbox;
mod rate;
mod seats;
mod stop;
mod thread_per_client;
mod timeouts;

pub use accept::AcceptBackoff;
pub use bind::{BindError, BindOptions, ListenArgs, bind};
pub use deadlines::Deadlines;
pub use hang_up::{LINGER, hang_up};
pub use limits::{Limit, LimitArgs, Limits};
pub use lines::{LineBuffer, LineReader, Next, Received};
pub use outbox::Outbox;
pub use rate::{Connection, MinRate, StoppedReading, TooSlow};
pub use seats::{BUSY, Seat, Seats};
pub use stop::Stop;
pub use thread_per_client::{Event, Summary, ThreadPerClient};
pub use timeouts::{explain_timeout, is_timeout};
