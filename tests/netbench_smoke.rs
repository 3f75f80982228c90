//! A one-second smoke run of the benchmark's load generator against echo_server, and its
//! loopback-only rule. The benchmark itself (`bench/compare`) is not a test: it measures speed,
//! and speed never goes in a test.

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{RunningServer, run_with_input, workspace_binary};

fn netbench(args: &[&str]) -> Command {
    let mut command = Command::new(workspace_binary("netbench", "netbench"));
    command.args(args).env_remove("RUST_BACKTRACE");
    command
}

/// The number after `"name":` in netbench's one-line JSON report.
fn json_number(json: &str, name: &str) -> f64 {
    let key = format!("\"{name}\":");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        + key.len();
    let end = json[start..]
        .find([',', '}'])
        .map_or(json.len(), |i| start + i);
    json[start..end]
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number in {json}"))
}

#[test]
fn one_second_of_echo_against_echo_server_has_no_errors() {
    let server = RunningServer::start("echo_server", &["--port", "0"]);
    let target = server.addr.to_string();
    let run = run_with_input(
        netbench(&["echo", &target, "-c", "4", "-d", "1", "--json"]),
        b"",
        Duration::from_secs(60),
    );
    run.assert_code(0);
    assert_eq!(json_number(&run.stdout, "errors"), 0.0, "{run:#?}");
    assert_eq!(json_number(&run.stdout, "connected"), 4.0, "{run:#?}");
    assert!(json_number(&run.stdout, "messages") > 0.0, "{run:#?}");
    assert!(json_number(&run.stdout, "p50_us") > 0.0, "{run:#?}");
}

#[test]
fn refuses_a_target_outside_loopback() {
    let started = Instant::now();
    let run = run_with_input(
        netbench(&["echo", "192.0.2.1:7", "-d", "1"]),
        b"",
        Duration::from_secs(30),
    );
    run.assert_clean_failure();
    assert!(
        run.stderr.contains("refuses the target 192.0.2.1:7"),
        "{run:#?}"
    );
    // A connect to an unreachable address would take seconds to fail: this one never started.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn refuses_a_disguised_loopback_address_without_connecting() {
    // ::ffff:127.0.0.1 would reach this listener through a dual-stack socket; netbench must
    // refuse the address before it opens any socket, so nothing ever arrives here.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("local address").port();
    for args in [
        vec!["echo".to_owned(), format!("[::ffff:127.0.0.1]:{port}")],
        vec!["connect".to_owned(), format!("[::ffff:127.0.0.1]:{port}")],
        vec!["ntp".to_owned(), format!("0.0.0.0:{port}")],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_with_input(netbench(&args), b"", Duration::from_secs(30));
        run.assert_clean_failure();
        assert!(run.stderr.contains("not a loopback address"), "{run:#?}");
    }
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "netbench connected to a refused target: {accepted:?}"
    );
}
