//! The socket-utils lessons (basics_01..03) as a student runs them, checked against the
//! system's own tools (`hostname`, `getent`).

mod support;

use std::process::Command;

use support::run_lesson;

fn system_output(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{program} could not run: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {output:?}"
    );
    String::from_utf8(output.stdout).expect("system tools print UTF-8 here")
}

#[test]
fn basics_01_prints_the_same_name_as_hostname() {
    let expected = system_output("hostname", &[]);
    let run = run_lesson("basics_01", &[]);
    run.assert_code(0);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, format!("Host name: {}", expected.trim()));
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

#[test]
fn basics_02_agrees_with_getent_for_a_name_from_etc_hosts() {
    // The first name of the first line of /etc/hosts, whatever it is on this machine.
    let hosts = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts is readable");
    let name = hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .find_map(|line| line.split_whitespace().nth(1))
        .expect("/etc/hosts names at least one host");
    let mut expected: Vec<String> = system_output("getent", &["ahostsv4", name])
        .lines()
        .chain(system_output("getent", &["ahostsv6", name]).lines())
        .filter_map(|line| line.split_whitespace().next())
        // getent maps IPv4 answers into IPv6 for ahostsv6; the resolver proper does not.
        .filter(|address| !address.starts_with("::ffff:"))
        .map(str::to_owned)
        .collect();
    expected.sort();
    expected.dedup();

    let run = run_lesson("basics_02", &[name]);
    run.assert_code(0);
    let mut printed = resolved_addresses(&run.stdout);
    printed.sort();
    assert_eq!(
        printed, expected,
        "basics_02 and getent disagree about {name}"
    );
}

#[test]
fn basics_02_reports_an_unknown_name_in_one_sentence() {
    let run = run_lesson("basics_02", &["no-such-host.invalid"]);
    run.assert_clean_failure();
    let mut lines = run.stderr.lines();
    assert_eq!(
        lines.next(),
        Some("error: could not resolve no-such-host.invalid: no such name")
    );
    assert!(lines.next().unwrap_or_default().starts_with("hint: "));
    assert_eq!(lines.next(), None);
    assert!(run.stdout.is_empty());
}

/// The service name `getent services` gives for `query` (`80/tcp`, or `ntp/udp` for a port).
fn getent_service(query: &str) -> (String, String) {
    let line = system_output("getent", &["services", query]);
    let mut fields = line.split_whitespace();
    let name = fields.next().expect("a service name").to_owned();
    let port = fields.next().expect("a port/protocol").to_owned();
    (name, port)
}

#[test]
fn basics_03_defaults_are_the_course_queries() {
    let run = run_lesson("basics_03", &[]);
    run.assert_code(0);
    let expected: Vec<String> = ["25/tcp", "53/udp", "80/tcp"]
        .iter()
        .map(|query| format!("{query} => {}", getent_service(query).0))
        .collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn basics_03_agrees_with_getent_both_ways() {
    let run = run_lesson(
        "basics_03",
        &[
            "80/tcp", "25/tcp", "53/udp", "123/udp", "ntp/udp", "http/tcp",
        ],
    );
    run.assert_code(0);
    let mut expected = Vec::new();
    for query in ["80/tcp", "25/tcp", "53/udp", "123/udp"] {
        expected.push(format!("{query} => {}", getent_service(query).0));
    }
    for (name, protocol) in [("ntp", "udp"), ("http", "tcp")] {
        let (_, port_protocol) = getent_service(&format!("{name}/{protocol}"));
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
