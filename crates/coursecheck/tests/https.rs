//! The HTTPS checks judge correctly. `coursecheck socket_06`: the kit's socket_06 and a Python
//! answer pass, and each classic way of "making the certificate error go away" fails exactly
//! the check named for it. `coursecheck https_server`: the kit's https_server and a Python
//! answer pass, and a server that dies on a failed handshake or sends an unframed page fails
//! exactly its check.

// The kit's test harness: these tests run the kit's lessons, built by Cargo in the kit's root.
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use coursecheck::{Lang, Lesson, Options, Report};
use support::{lesson_path, require_program};

fn options() -> Options {
    Options {
        timeout: Duration::from_secs(20),
        ..Options::default()
    }
}

fn check(command: Vec<String>) -> Report {
    coursecheck::check(Lesson::Socket06, &command, &options())
}

/// `program` with the arguments the notes give: `localhost {port} / --ca {ca}`.
fn command(program: &[&str]) -> Vec<String> {
    program
        .iter()
        .chain(&["localhost", "{port}", "/", "--ca", "{ca}"])
        .map(|word| (*word).to_owned())
        .collect()
}

fn python(name: &str) -> Report {
    require_program("python3");
    let fixture = support::kit_root()
        .join("tests/fixtures/coursecheck")
        .join(name);
    check(command(&[
        "python3",
        fixture.to_str().expect("a UTF-8 path"),
    ]))
}

fn assert_fails_exactly(report: &Report, expected: &[&str]) {
    assert_eq!(report.failed(), expected, "{}", report.to_table(Lang::En));
}

#[test]
fn socket_06_passes_its_own_check() {
    let program = lesson_path("socket_06").display().to_string();
    let report = check(command(&[&program, "--body"]));
    assert!(report.passed, "{}", report.to_table(Lang::En));
    assert_eq!(
        report
            .checks
            .iter()
            .map(|check| check.id)
            .collect::<Vec<_>>(),
        ["request", "verified", "unknown_authority", "wrong_name"]
    );
    let request = &report.check("request").expect("the request check").detail;
    assert!(
        request.contains("It named the server \"localhost\" (SNI)"),
        "{request}"
    );
}

#[test]
fn a_client_without_tls_fails_every_check_but_says_why() {
    // socket_05 speaks plain HTTP to the checker's TLS server: no handshake, no request.
    let program = lesson_path("socket_05").display().to_string();
    let report = check(vec![
        program,
        "localhost".into(),
        "{port}".into(),
        "/".into(),
    ]);
    let verified = &report.check("verified").expect("the verified check").detail;
    assert!(!report.passed, "{}", report.to_table(Lang::En));
    assert!(
        verified.starts_with("The handshake did not complete"),
        "{verified}"
    );
}

#[test]
#[ignore = "needs python3"]
fn python_reference_https_client_passes() {
    let report = python("good_socket_06.py");
    assert!(report.passed, "{}", report.to_table(Lang::En));
}

#[test]
#[ignore = "needs python3"]
fn a_client_that_turns_verification_off_fails_both_refusals() {
    let report = python("bad_socket_06_no_verification.py");
    assert_fails_exactly(&report, &["unknown_authority", "wrong_name"]);
    let detail = &report.check("wrong_name").expect("the check").detail;
    assert!(detail.contains("it does not verify the server"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn a_client_that_skips_the_name_check_fails_wrong_name() {
    let report = python("bad_socket_06_no_hostname_check.py");
    assert_fails_exactly(&report, &["wrong_name"]);
}

/// An https_server command: `program` with the certificate files the checker makes.
fn server_command(program: &[&str]) -> Vec<String> {
    program
        .iter()
        .chain(&["--port", "{port}", "--cert", "{cert}", "--key", "{key}"])
        .map(|word| (*word).to_owned())
        .collect()
}

fn check_server(command: Vec<String>) -> Report {
    coursecheck::check(Lesson::HttpsServer, &command, &options())
}

fn python_server(name: &str) -> Report {
    require_program("python3");
    let fixture = support::kit_root()
        .join("tests/fixtures/coursecheck")
        .join(name);
    check_server(server_command(&[
        "python3",
        fixture.to_str().expect("a UTF-8 path"),
    ]))
}

#[test]
fn https_server_passes_its_own_check() {
    let program = lesson_path("https_server").display().to_string();
    let report = check_server(server_command(&[&program]));
    assert!(report.passed, "{}", report.to_table(Lang::En));
    assert_eq!(
        report
            .checks
            .iter()
            .map(|check| check.id)
            .collect::<Vec<_>>(),
        ["handshake", "page", "bad_clients"]
    );
}

#[test]
fn a_server_without_tls_fails_every_check_but_says_why() {
    // echo_server answers the ClientHello with the ClientHello.
    let program = lesson_path("echo_server").display().to_string();
    let report = check_server(vec![program, "--port".into(), "{port}".into()]);
    assert_eq!(
        report.failed(),
        ["handshake", "page", "bad_clients"],
        "{}",
        report.to_table(Lang::En)
    );
    let detail = &report.check("handshake").expect("the check").detail;
    assert!(
        detail.starts_with("The TLS handshake with 127.0.0.1:"),
        "{detail}"
    );
}

#[test]
#[ignore = "needs python3"]
fn python_reference_https_server_passes() {
    let report = python_server("good_https_server.py");
    assert!(report.passed, "{}", report.to_table(Lang::En));
}

#[test]
#[ignore = "needs python3"]
fn a_server_that_dies_on_a_failed_handshake_fails_bad_clients() {
    let report = python_server("bad_https_server_dies_on_a_bad_handshake.py");
    assert_fails_exactly(&report, &["bad_clients"]);
}

#[test]
#[ignore = "needs python3"]
fn a_server_whose_page_has_no_end_fails_page() {
    let report = python_server("bad_https_server_no_length_stays_open.py");
    assert_fails_exactly(&report, &["page"]);
    let detail = &report.check("page").expect("the check").detail;
    assert!(detail.contains("Content-Length"), "{detail}");
}
