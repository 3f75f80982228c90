//! Names and numbers: this host's name, a host's addresses, and service names ⇄ ports.
//!
//! These are thin, typed wrappers over the C library's resolver (`gethostname`,
//! `getaddrinfo`, `getnameinfo`, through the `dns-lookup` crate). The resolver reads
//! `/etc/hosts` and the services database (`/etc/services`) before it asks DNS, which is why
//! `localhost` resolves and `80/tcp` has a name on a machine with no network at all.
//!
//! ```
//! use netutil::lookup::{self, Protocol};
//!
//! let addresses = lookup::resolve("localhost")?;
//! assert!(addresses.iter().all(|ip| ip.is_loopback()));
//! assert_eq!(lookup::service_name(80, Protocol::Tcp)?, "http");
//! assert_eq!(lookup::service_port("ntp", Protocol::Udp)?, 123);
//! # Ok::<(), netutil::lookup::LookupError>(())
//! ```

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use dns_lookup::{AddrFamily, AddrInfoHints, LookupErrorKind, SockType};

// getnameinfo's flags, which dns-lookup does not name: from libc on Unix, from Winsock on Windows.
#[cfg(unix)]
const NUMERIC_HOST: i32 = libc::NI_NUMERICHOST;
#[cfg(unix)]
const DATAGRAM_SERVICE: i32 = libc::NI_DGRAM;
#[cfg(windows)]
const NUMERIC_HOST: i32 = windows_sys::Win32::Networking::WinSock::NI_NUMERICHOST as i32;
#[cfg(windows)]
const DATAGRAM_SERVICE: i32 = windows_sys::Win32::Networking::WinSock::NI_DGRAM as i32;

/// A transport protocol, as the services database names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP: streams, `SOCK_STREAM`.
    Tcp,
    /// UDP: datagrams, `SOCK_DGRAM`.
    Udp,
}

impl Protocol {
    /// The name the services database uses: `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = LookupError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            _ => Err(LookupError::UnknownProtocol(text.to_owned())),
        }
    }
}

/// Why a lookup failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum LookupError {
    /// The operating system would not tell this host's name.
    HostName(io::Error),
    /// The resolver could not turn `host` into addresses.
    Resolve {
        /// The name that was looked up.
        host: String,
        /// Whether the resolver said the name does not exist (rather than failing to ask).
        unknown_name: bool,
        /// The resolver's own message.
        source: io::Error,
    },
    /// The services database has no name for this port and protocol.
    NoServiceName {
        /// The port that was looked up.
        port: u16,
        /// The protocol that was looked up.
        protocol: Protocol,
    },
    /// The services database has no port for this service name and protocol.
    UnknownService {
        /// The service name that was looked up.
        name: String,
        /// The protocol that was looked up.
        protocol: Protocol,
    },
    /// A protocol other than `tcp` or `udp` was asked for.
    UnknownProtocol(String),
}

impl LookupError {
    /// What a student can try next, for this kind of failure.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            LookupError::Resolve {
                unknown_name: true, ..
            } => Some(
                "check the spelling; with no internet only names in /etc/hosts resolve (try localhost)",
            ),
            LookupError::Resolve { .. } => Some(
                "the resolver could not be reached: are you offline? try localhost or 127.0.0.1",
            ),
            LookupError::NoServiceName { .. } | LookupError::UnknownService { .. } => Some(
                "the names this machine knows are in /etc/services (Windows: C:\\Windows\\System32\\drivers\\etc\\services)",
            ),
            LookupError::UnknownProtocol(_) => Some("use tcp or udp"),
            LookupError::HostName(_) => None,
        }
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::HostName(_) => write!(f, "this machine's host name is unavailable"),
            LookupError::Resolve {
                host,
                unknown_name: true,
                ..
            } => {
                write!(f, "could not resolve {host}: no such name")
            }
            LookupError::Resolve { host, source, .. } => {
                write!(f, "could not resolve {host}: {source}")
            }
            LookupError::NoServiceName { port, protocol } => {
                write!(
                    f,
                    "port {port}/{protocol} has no name in the services database"
                )
            }
            LookupError::UnknownService { name, protocol } => {
                write!(
                    f,
                    "service {name}/{protocol} is not in the services database"
                )
            }
            LookupError::UnknownProtocol(text) => {
                write!(f, "unknown protocol {text:?}: expected tcp or udp")
            }
        }
    }
}

impl std::error::Error for LookupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LookupError::HostName(source) | LookupError::Resolve { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// This machine's host name, as the `hostname` command prints it.
pub fn host_name() -> Result<String, LookupError> {
    dns_lookup::get_hostname().map_err(LookupError::HostName)
}

/// The IP addresses of `host` (IPv4 and IPv6), in the order the resolver prefers them and
/// without repeats. An address literal such as `127.0.0.1` or `::1` resolves to itself.
///
/// A name under the special-use top-level domain `.invalid` (`no-such-host.invalid`) is "no
/// such name" at once, without asking DNS, as RFC 6761 §6.4 asks of resolvers: a test that
/// needs a name that cannot exist then never depends on this machine's DNS.
pub fn resolve(host: &str) -> Result<Vec<IpAddr>, LookupError> {
    if is_under_invalid(host) {
        return Err(LookupError::Resolve {
            host: host.to_owned(),
            unknown_name: true,
            source: io::Error::new(
                io::ErrorKind::NotFound,
                "names under .invalid never exist (RFC 6761)",
            ),
        });
    }
    let found = dns_lookup::lookup_host(host).map_err(|error| {
        let unknown_name = matches!(
            error.kind(),
            LookupErrorKind::NoName | LookupErrorKind::NoData
        );
        LookupError::Resolve {
            host: host.to_owned(),
            unknown_name,
            source: error.into(),
        }
    })?;
    let mut unique = Vec::new();
    for ip in found {
        if !unique.contains(&ip) {
            unique.push(ip);
        }
    }
    Ok(unique)
}

/// Whether `host` is `invalid` or ends in `.invalid`, in any case, with or without the root's
/// final dot.
fn is_under_invalid(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).as_bytes();
    let tld = b"invalid";
    name.len() >= tld.len()
        && name[name.len() - tld.len()..].eq_ignore_ascii_case(tld)
        && (name.len() == tld.len() || name[name.len() - tld.len() - 1] == b'.')
}

/// The service name of `port` for `protocol` (25/tcp → `smtp`), from the services database.
///
/// A port with no entry is [`LookupError::NoServiceName`]: the C call would quietly return the
/// number as text instead, which is easy to mistake for a name.
pub fn service_name(port: u16, protocol: Protocol) -> Result<String, LookupError> {
    let no_name = || LookupError::NoServiceName { port, protocol };
    // NI_NUMERICHOST keeps the resolver away from DNS: only the service part is wanted here.
    let mut flags = NUMERIC_HOST;
    if protocol == Protocol::Udp {
        flags |= DATAGRAM_SERVICE;
    }
    let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let (_, service) = dns_lookup::getnameinfo(&address, flags).map_err(|_| no_name())?;
    if service.parse::<u16>().is_ok() {
        return Err(no_name());
    }
    Ok(service)
}

/// The port of the service `name` for `protocol` (`ntp`/udp → 123), from the services database.
pub fn service_port(name: &str, protocol: Protocol) -> Result<u16, LookupError> {
    let unknown = || LookupError::UnknownService {
        name: name.to_owned(),
        protocol,
    };
    // A number is not a service name, though getaddrinfo would accept one.
    if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unknown());
    }
    let (socktype, ipproto) = match protocol {
        Protocol::Tcp => (SockType::Stream, dns_lookup::Protocol::TCP),
        Protocol::Udp => (SockType::DGram, dns_lookup::Protocol::UDP),
    };
    // No AI_NUMERICHOST flag (it differs by OS): the host is an address literal, never a name,
    // so getaddrinfo has nothing to ask DNS about anyway.
    let hints = AddrInfoHints {
        flags: 0,
        address: AddrFamily::Inet.into(),
        socktype: socktype.into(),
        protocol: ipproto.into(),
    };
    let mut found = dns_lookup::getaddrinfo(Some("127.0.0.1"), Some(name), Some(hints))
        .map_err(|_| unknown())?;
    match found.next() {
        Some(Ok(info)) => Ok(info.sockaddr.port()),
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_literals_resolve_to_themselves() {
        assert_eq!(
            resolve("127.0.0.1").unwrap(),
            vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
        );
        assert_eq!(
            resolve("::1").unwrap(),
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn reserved_invalid_names_never_resolve() {
        // RFC 6761 reserves .invalid, and a first label over 63 bytes is no DNS name at all:
        // the resolver refuses it without asking a DNS server, online or offline.
        let name = "this-name-is-longer-than-the-sixty-three-bytes-a-dns-label-may-hold.invalid";
        let error = resolve(name).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("could not resolve {name}: no such name")
        );
        assert!(error.hint().is_some());
    }

    #[test]
    fn names_under_invalid_are_answered_without_asking_dns() {
        for host in [
            "no-such-host.invalid",
            "INVALID",
            "a.b.Invalid.",
            "invalid.",
        ] {
            let error = resolve(host).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("could not resolve {host}: no such name")
            );
            assert!(matches!(
                error,
                LookupError::Resolve {
                    unknown_name: true,
                    ..
                }
            ));
        }
        // Only the top-level domain counts: these are ordinary names.
        for host in ["invalid.example", "notinvalid", "my-invalid", "invalid..x"] {
            assert!(!is_under_invalid(host), "{host}");
        }
        assert!(is_under_invalid("x.invalid"));
    }

    #[test]
    fn service_lookups_depend_on_the_protocol() {
        assert_eq!(service_name(53, Protocol::Udp).unwrap(), "domain");
        assert_eq!(service_port("http", Protocol::Tcp).unwrap(), 80);
        assert_eq!(service_port("ntp", Protocol::Udp).unwrap(), 123);
    }

    #[test]
    fn numbers_are_not_service_names() {
        assert!(matches!(
            service_port("80", Protocol::Tcp),
            Err(LookupError::UnknownService { .. })
        ));
        // IANA leaves 65000 unassigned, so no services database names it.
        assert!(matches!(
            service_name(65000, Protocol::Tcp),
            Err(LookupError::NoServiceName { port: 65000, .. })
        ));
    }

    #[test]
    fn protocols_parse_case_insensitively() {
        assert_eq!("UDP".parse::<Protocol>().unwrap(), Protocol::Udp);
        assert!("sctp".parse::<Protocol>().is_err());
    }
}
