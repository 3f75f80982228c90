//! # netbench: the socket-lessons load generator
//!
//! Drives a server on this machine's loopback interface and reports what it measured:
//!
//! | mode | what it measures |
//! |---|---|
//! | `echo` | round trips per second, MB/s and latency percentiles over C connections (`--line` for server_05) |
//! | `bulk` | verified bytes per second streamed through an echo server |
//! | `pingpong` | the blocking one-connection round trip: the latency floor |
//! | `ntp` | SNTP requests per second and their latency |
//! | `http` | how fast `netutil::http` fetches a large file (compare with `curl`) |
//! | `connect` | connections opened and closed per second, or (`--hold`) C clients held open with the server's memory |
//! | `raw-echo` | not a measurement: the minimal blocking echo server the floor is measured against |
//!
//! Every target is checked to be on loopback ([`target`]) before any socket is created, and
//! every run is bounded in time. `bench/compare` runs the whole comparison and writes
//! `docs/performance.md`.
#![deny(missing_docs)]

pub mod blocking;
pub mod histogram;
pub mod http;
pub mod memory;
pub mod ntp;
pub mod protocol;
pub mod report;
pub mod target;
pub mod tcp;
