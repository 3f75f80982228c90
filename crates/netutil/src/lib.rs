//! # netutil: the helpers behind the socket lessons
//!
//! Each lesson in `examples/` writes out the one idea it teaches with `std::net` or `socket2`
//! calls. Everything around that idea (reporting errors, name lookups, the NTP packet codec,
//! HTTP framing, a bounded server loop) lives here, so the lessons stay short and homework can
//! reuse code that has been tested against real peers.
//!
//! ## Layout
//!
//! | module | what it is for |
//! |---|---|
//! | [`cli`] | the conventions every lesson program shares: one-sentence errors with a hint, exit codes, local time as `ctime` prints it |
//! | [`log`](mod@log) | a server's log lines: [`log!`](macro@log) and [`elog!`] never block serving and never panic |
//! | [`lookup`] | this host's name, a host's addresses, service names ⇄ port numbers |
//! | [`ntp`] | the 48-byte NTP header codec, an SNTP client (`query`) and an SNTP server |
//! | [`http`] | a small blocking HTTP/1.1 client with correct body framing and timeouts |
//! | [`os`] | the few places where Windows, macOS and Linux differ: what a socket is, `SO_REUSEADDR`, UDP errors about earlier datagrams |
//! | [`server`] | binding listeners and a bounded thread-per-connection server with graceful shutdown |
//! | `tls` | (feature `tls`) TLS for socket_06: the crypto provider, `--ca` files, a local certificate authority, handshake hints |
//! | [`udp`] | what `UdpSocket` does not tell: a datagram cut by a small buffer, the kernel's count of datagrams dropped for a full one |
//!
//! ## Rules this crate keeps
//!
//! - Every blocking network call has a timeout.
//! - Everything read from the network is validated; malformed input is an error, never a panic.
//! - Errors are typed and their messages say what went wrong in one sentence.
#![deny(missing_docs)]

pub mod cli;
pub mod http;
pub mod log;
pub mod lookup;
pub mod ntp;
pub mod os;
pub mod server;
#[cfg(feature = "tls")]
pub mod tls;
pub mod udp;
