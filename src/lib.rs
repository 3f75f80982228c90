//! # socket-lessons
//!
//! This package holds no library code of its own: Cargo needs a target here, and this page
//! says where the course lives.
//!
//! - The lessons are runnable programs in `examples/`: `cargo run --example server_05`.
//! - The course notes are in `docs/` (`docs/README.md` is the lesson index).
//! - The helpers the lessons share are the `netutil` crate in `crates/netutil`.
//! - `tests/` runs every lesson as a real process against peers on loopback.
