//! Independent programs against the kit's servers and client: socat and ncat as clients of
//! server_04, server_05 and echo_server, and echo_client against socat's own echo server.
//! These need socat and ncat, so they are `#[ignore]`d; `.ci/run` installs both and runs them.
// The peers (nginx, socat, ncat, curl, kill) are installed and driven the Linux way by .ci/run.
#![cfg(target_os = "linux")]

mod support;

use std::fs::File;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{ChildGuard, RunningServer, TempDir, binary_payload, run_lesson, run_with_input};

const WELCOME: &str = "Welcome to the server. Type something and hit enter\n";
const PATIENCE: Duration = Duration::from_secs(30);

/// socat as a client: sends stdin, half-closes, then reads until the server closes.
fn socat(addr: SocketAddr) -> Command {
    let mut command = Command::new("timeout");
    command.args([
        "20",
        "socat",
        "-t",
        "5",
        "-T",
        "10",
        "-",
        &format!("TCP:{addr}"),
    ]);
    command
}

/// ncat as a client: it half-closes when stdin ends and waits for the server to close.
fn ncat(addr: SocketAddr) -> Command {
    let mut command = Command::new("timeout");
    command.args([
        "20",
        "ncat",
        "-w",
        "10",
        &addr.ip().to_string(),
        &addr.port().to_string(),
    ]);
    command
}

/// Runs a client with text on stdin and returns what it printed.
fn talk(client: Command, input: &str) -> String {
    let run = run_with_input(client, input.as_bytes(), PATIENCE);
    run.assert_code(0);
    run.stdout
}

/// Runs a client with a file on stdin and returns its raw output (binary-safe).
fn send_file(mut client: Command, path: &std::path::Path) -> Output {
    client
        .stdin(File::open(path).unwrap())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("could not run {client:?}: {e}"))
}

#[test]
#[ignore = "needs socat: .ci/run installs it"]
fn socat_talks_to_server_05() {
    support::require_program("socat");
    let server = RunningServer::start("server_05", &["--port", "0"]);
    assert_eq!(
        talk(socat(server.addr), "hi\nthere\n"),
        format!("{WELCOME}OK...hi\nOK...there\n")
    );
}

#[test]
#[ignore = "needs ncat: .ci/run installs it"]
fn ncat_talks_to_server_05() {
    support::require_program("ncat");
    let server = RunningServer::start("server_05", &["--port", "0"]);
    assert_eq!(
        talk(ncat(server.addr), "hi\n"),
        format!("{WELCOME}OK...hi\n")
    );
}

#[test]
#[ignore = "needs socat: .ci/run installs it"]
fn socat_and_ncat_one_after_another_get_server_04_replies() {
    support::require_program("socat");
    support::require_program("ncat");
    let server = RunningServer::start("server_04", &["--port", "0"]);
    assert_eq!(talk(socat(server.addr), "hi\n"), "OK...hi\n");
    assert_eq!(talk(ncat(server.addr), "again\n"), "OK...again\n");
    assert_eq!(talk(socat(server.addr), "third\n"), "OK...third\n");
}

#[test]
#[ignore = "needs socat: .ci/run installs it"]
fn socat_gets_server_03_echo() {
    support::require_program("socat");
    let server = RunningServer::start("server_03", &["--port", "0"]);
    assert_eq!(talk(socat(server.addr), "hello\n"), "hello\n");
}

#[test]
#[ignore = "needs socat and ncat: .ci/run installs them"]
fn socat_and_ncat_send_binary_through_echo_server() {
    support::require_program("socat");
    support::require_program("ncat");
    let server = RunningServer::start("echo_server", &["--port", "0"]);
    let bytes = binary_payload(2 * 1024 * 1024, 1);
    let dir = TempDir::new("interop");
    let path = dir.file("2mib.bin", &bytes);
    for client in [socat(server.addr), ncat(server.addr)] {
        let name = format!("{client:?}");
        let output = send_file(client, &path);
        assert!(output.status.success(), "{name}: {:?}", output.status);
        assert_eq!(output.stdout.len(), bytes.len(), "{name}");
        assert!(output.stdout == bytes, "{name}: the echo differs");
    }
}

/// socat's own echo server (`PIPE` sends each connection's input back) on a free port.
/// (Not `ncat -e /bin/cat`: it loses data on bulk transfers with a half-close.)
fn socat_echo_server() -> (ChildGuard, SocketAddr) {
    let (child, port) = support::start_tcp_peer(|port| {
        let mut command = Command::new("socat");
        // -b 4096: PIPE makes socat write into a pipe it drains itself. With its default
        // 8 KiB blocks, a write can find less room than that and block forever on a bulk
        // transfer (seen here with 10 MiB); writes of one page always fit once poll says so.
        command
            .args(["-b", "4096"])
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
            .arg("PIPE")
            .stderr(Stdio::null());
        command
    });
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
#[ignore = "needs socat: .ci/run installs it"]
fn echo_client_agrees_with_socat_as_the_echo_server() {
    support::require_program("socat");
    let (_socat, addr) = socat_echo_server();
    let port = addr.port().to_string();
    let run = run_lesson("echo_client", &["--port", &port]);
    run.assert_code(0);
    assert!(
        run.stdout
            .ends_with("the echo matches: 33 bytes sent, 33 bytes received\n"),
        "{run:#?}"
    );

    let dir = TempDir::new("interop");
    let path = dir.file("10mib.bin", &binary_payload(10 * 1024 * 1024, 2));
    let run = run_lesson(
        "echo_client",
        &[
            "--port",
            &port,
            "--file",
            path.to_str().unwrap(),
            "--chunk",
            "65536",
        ],
    );
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("the echo matches: 10485760 bytes sent, 10485760 bytes received"),
        "{run:#?}"
    );
}
