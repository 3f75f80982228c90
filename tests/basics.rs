//! The socket-utils lessons (basics_01..03) as a student runs them, checked against the
//! system's own `hostname` where it exists, and otherwise against what the system's files
//! say (the hosts file, the services database, read here in Rust), so `cargo test` needs
//! nothing but Rust, and no DNS server or IPv6.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::run_lesson;

/// What `program args` prints, or `None` (with the reason printed) when it is not installed:
/// A minimal system may lack `hostname`.
fn system_output(program: &str, args: &[&str]) -> Option<String> {
    let output = match Command::new(program).args(args).output() {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            println!("{program} is not installed here: checking without it");
            return None;
        }
        Err(error) => panic!("{program} could not run: {error}"),
    };
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {output:?}"
    );
    Some(String::from_utf8(output.stdout).expect("system tools print UTF-8 here"))
}

/// Where the hosts and services databases live: /etc on Unix, drivers\etc on Windows.
fn system_file(name: &str) -> PathBuf {
    if cfg!(windows) {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| r"C:\Windows".into());
        Path::new(&root).join(r"System32\drivers\etc").join(name)
    } else {
        Path::new("/etc").join(name)
    }
}

/// This machine's name from an independent source: the `hostname` tool, or Linux's
/// /proc/sys/kernel/hostname when the tool is missing; `None` (reason printed) if neither.
fn expected_host_name() -> Option<String> {
    if let Some(name) = system_output("hostname", &[]) {
        return Some(name.trim().to_owned());
    }
    match std::fs::read_to_string("/proc/sys/kernel/hostname") {
        Ok(name) => Some(name.trim().to_owned()),
        Err(error) => {
            println!("skipped: no hostname tool and no /proc/sys/kernel/hostname ({error})");
            None
        }
    }
}

#[test]
fn basics_01_prints_the_same_name_as_hostname() {
    let Some(expected) = expected_host_name() else {
        return;
    };
    let run = run_lesson("basics_01", &[]);
    run.assert_code(0);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, format!("Host name: {expected}"));
    assert!(
        run.stdout
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("IP address: ")
    );
}

fn resolved_addresses(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip(1)
        .map(|line| line.trim().to_owned())
        .collect()
}

#[test]
fn basics_02_resolves_localhost_to_loopback_only() {
    let run = run_lesson("basics_02", &["localhost"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout.lines().next(),
        Some("IP addresses of localhost:")
    );
    let addresses = resolved_addresses(&run.stdout);
    assert!(!addresses.is_empty());
    for address in addresses {
        let ip: std::net::IpAddr = address.parse().expect("each line is an address");
        assert!(ip.is_loopback(), "{ip} is not a loopback address");
    }
}

/// The addresses the hosts file gives `name` (`address name aliases... # comment`).
fn hosts_file_addresses(hosts: &str, name: &str) -> Vec<std::net::IpAddr> {
    hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.next()?.parse().ok()?;
            fields
                .any(|alias| alias.eq_ignore_ascii_case(name))
                .then_some(address)
        })
        .collect()
}

#[test]
fn basics_02_agrees_with_the_hosts_file() {
    // The hosts file is the oracle: the resolver answers a name listed there from the file,
    // with no DNS server and whatever network this machine has. (getent is no oracle on a
    // machine with only loopback: its ahosts queries drop loopback-only families.)
    let path = system_file("hosts");
    let hosts = match std::fs::read_to_string(&path) {
        Ok(hosts) => hosts,
        Err(error) => {
            println!("skipped: {} is not readable ({error})", path.display());
            return;
        }
    };
    let Some(name) = hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .find_map(|line| line.split_whitespace().nth(1))
    else {
        println!("skipped: {} names no host", path.display());
        return;
    };
    let listed = hosts_file_addresses(&hosts, name);

    let run = run_lesson("basics_02", &[name]);
    run.assert_code(0);
    let printed: Vec<std::net::IpAddr> = resolved_addresses(&run.stdout)
        .iter()
        .map(|address| address.parse().expect("each line is an address"))
        .collect();
    assert!(!printed.is_empty(), "{run:#?}");
    for address in &printed {
        assert!(
            listed.contains(address),
            "{address} is not {name}'s in {}",
            path.display()
        );
    }
    for address in &listed {
        // A machine without IPv6 may leave out the IPv6 lines, never the IPv4 ones.
        match printed.contains(address) {
            true => {}
            false if address.is_ipv6() => println!("{address}: this machine has no IPv6"),
            false => panic!(
                "basics_02 left out {address}, which {} gives {name}",
                path.display()
            ),
        }
    }
}

#[test]
fn basics_02_reports_an_unknown_name_in_one_sentence() {
    let run = run_lesson("basics_02", &[support::UNKNOWN_HOST]);
    run.assert_clean_failure();
    let mut lines = run.stderr.lines();
    assert_eq!(
        lines.next(),
        Some(
            format!(
                "error: could not resolve {}: no such name",
                support::UNKNOWN_HOST
            )
            .as_str()
        )
    );
    assert!(lines.next().unwrap_or_default().starts_with("hint: "));
    assert_eq!(lines.next(), None);
    assert!(run.stdout.is_empty());
}

/// The services database, read here line by line: `name port/protocol aliases... # comment`.
/// `None` (reason printed) on a system without one.
fn services_database() -> Option<Vec<(String, String)>> {
    let path = system_file("services");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(
            text.lines()
                .filter_map(|line| {
                    let mut fields = line.split('#').next()?.split_whitespace();
                    Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
                })
                .collect(),
        ),
        Err(error) => {
            println!(
                "skipped: no services database at {} ({error})",
                path.display()
            );
            None
        }
    }
}

/// The entry for `query`, `80/tcp` or `ntp/udp`: the first line that matches, as getservbyport
/// and getservbyname take it, as (name, port/protocol).
fn service(database: &[(String, String)], query: &str) -> (String, String) {
    let (key, protocol) = query.split_once('/').expect("QUERY/PROTOCOL");
    database
        .iter()
        .find(|(name, port_protocol)| {
            port_protocol.split_once('/') == Some((key, protocol))
                || (name == key && port_protocol.ends_with(&format!("/{protocol}")))
        })
        .cloned()
        .unwrap_or_else(|| panic!("the services database has no {query}"))
}

#[test]
fn basics_03_defaults_are_the_course_queries() {
    let Some(database) = services_database() else {
        return;
    };
    let run = run_lesson("basics_03", &[]);
    run.assert_code(0);
    let expected: Vec<String> = ["25/tcp", "53/udp", "80/tcp"]
        .iter()
        .map(|query| format!("{query} => {}", service(&database, query).0))
        .collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn basics_03_agrees_with_the_services_database_both_ways() {
    let Some(database) = services_database() else {
        return;
    };
    let run = run_lesson(
        "basics_03",
        &[
            "80/tcp", "25/tcp", "53/udp", "123/udp", "ntp/udp", "http/tcp",
        ],
    );
    run.assert_code(0);
    let mut expected = Vec::new();
    for query in ["80/tcp", "25/tcp", "53/udp", "123/udp"] {
        expected.push(format!("{query} => {}", service(&database, query).0));
    }
    for (name, protocol) in [("ntp", "udp"), ("http", "tcp")] {
        let (_, port_protocol) = service(&database, &format!("{name}/{protocol}"));
        let port = port_protocol.split('/').next().expect("PORT/PROTOCOL");
        expected.push(format!("{name}/{protocol} => {port}"));
    }
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn basics_03_says_when_a_port_has_no_name() {
    let run = run_lesson("basics_03", &["65000/tcp"]);
    run.assert_clean_failure();
    assert!(
        run.stderr
            .contains("port 65000/tcp has no name in the services database"),
        "{run:#?}"
    );
}

#[test]
fn basics_03_rejects_a_malformed_query_as_a_usage_error() {
    run_lesson("basics_03", &["25"]).assert_code(2);
    run_lesson("basics_03", &["25/sctp"]).assert_code(2);
}

#[test]
fn basics_03_says_a_port_is_out_of_range() {
    for query in ["65536/tcp", "99999999999999999999/udp"] {
        let run = run_lesson("basics_03", &[query]);
        run.assert_code(2);
        let port = query.split('/').next().unwrap();
        assert!(
            run.stderr
                .contains(&format!("port {port} is out of range (0–65535)")),
            "{run:#?}"
        );
    }
}

#[test]
fn basics_03_explains_a_negative_port() {
    // Alone, `-1/tcp` looks like a flag: clap says how to pass it (`-- -1/tcp`)...
    let run = run_lesson("basics_03", &["-1/tcp"]);
    run.assert_code(2);
    assert!(run.stderr.contains("use '-- -1'"), "{run:#?}");
    // ... and passed so, it is refused as a port.
    let run = run_lesson("basics_03", &["--", "-1/tcp"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("port -1 is out of range (0–65535)"),
        "{run:#?}"
    );
}

#[test]
fn basics_02_names_a_control_character_in_a_host_name_and_prints_it_escaped() {
    let run = run_lesson("basics_02", &["local\u{1b}[31mhost"]);
    run.assert_clean_failure();
    assert_eq!(
        run.stderr,
        "error: \"local\\u{1b}[31mhost\" has the control character U+001B at character 6: \
         a host name has letters, digits, dots and dashes, or is an IP address\n",
        "no raw escape, and no offline hint"
    );
}
