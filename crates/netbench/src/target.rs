//! The one address a run may talk to, checked before any socket exists.
//!
//! A load generator pointed at the wrong host is a denial-of-service tool, so netbench talks to
//! this machine only: every address the target resolves to must be in 127.0.0.0/8 or be `::1`.
//! The check runs on the *resolved* addresses, so a name such as `localhost` works while a name
//! that resolves elsewhere is refused, and nothing is sent before it passes.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Why a target was refused.
#[derive(Debug)]
pub enum TargetError {
    /// The text is not `HOST:PORT` or the host did not resolve.
    Unresolved(String, String),
    /// The host resolved to an address outside 127.0.0.0/8 and ::1.
    NotLoopback(String, IpAddr),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Unresolved(target, why) => {
                write!(f, "the target {target} is not a usable HOST:PORT ({why})")
            }
            TargetError::NotLoopback(target, ip) => write!(
                f,
                "netbench refuses the target {target}: {ip} is not a loopback address \
                 (only 127.0.0.0/8 and ::1 are allowed)"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

/// Whether netbench may send to `ip`: 127.0.0.0/8 or ::1 only (not even ::ffff:127.0.0.1,
/// which some stacks route differently).
pub fn is_allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// Resolves `target` (`HOST:PORT`, `[::1]:PORT`) and returns its first address, refusing it
/// when *any* resolved address is outside loopback.
///
/// ```
/// use netbench::target::resolve_loopback;
/// assert_eq!(resolve_loopback("127.0.0.1:9").unwrap().port(), 9);
/// assert!(resolve_loopback("[::1]:9").is_ok());
/// assert!(resolve_loopback("192.0.2.1:7").is_err());
/// assert!(resolve_loopback("no-port").is_err());
/// ```
pub fn resolve_loopback(target: &str) -> Result<SocketAddr, TargetError> {
    let addresses: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|error| TargetError::Unresolved(target.to_owned(), error.to_string()))?
        .collect();
    if let Some(outside) = addresses.iter().find(|addr| !is_allowed(addr.ip())) {
        return Err(TargetError::NotLoopback(target.to_owned(), outside.ip()));
    }
    addresses
        .first()
        .copied()
        .ok_or_else(|| TargetError::Unresolved(target.to_owned(), "no address".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_pass() {
        assert!(resolve_loopback("127.0.0.1:80").is_ok());
        assert!(resolve_loopback("127.255.0.9:80").is_ok());
        assert!(resolve_loopback("[::1]:80").is_ok());
        assert!(resolve_loopback("localhost:80").is_ok());
    }

    #[test]
    fn anything_else_is_refused() {
        for target in [
            "192.0.2.1:7",
            "0.0.0.0:7",
            "10.0.0.1:7",
            "[::]:7",
            "[::ffff:127.0.0.1]:7",
            "[2001:db8::1]:7",
        ] {
            let error = resolve_loopback(target).unwrap_err();
            assert!(
                matches!(error, TargetError::NotLoopback(..)),
                "{target}: {error}"
            );
            assert!(error.to_string().contains("refuses"));
        }
    }

    #[test]
    fn malformed_targets_are_errors_not_panics() {
        assert!(matches!(
            resolve_loopback("127.0.0.1"),
            Err(TargetError::Unresolved(..))
        ));
        assert!(matches!(
            resolve_loopback("127.0.0.1:99999"),
            Err(TargetError::Unresolved(..))
        ));
    }
}
