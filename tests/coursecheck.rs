//! The homework checker judges correctly: every kit lesson passes its own check, the Python
//! reference answers pass, and each Python answer with one of the original course's bugs
//! fails exactly the check named for that bug.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use coursecheck::{Lang, Lesson, Options, Report};
use support::{TempDir, lesson_path, require_program, workspace_binary};

fn options() -> Options {
    Options {
        timeout: Duration::from_secs(20),
        ..Options::default()
    }
}

/// The command line of kit lesson `name` with `args`, as a student would give it.
fn kit(name: &str, args: &[&str]) -> Vec<String> {
    let mut command = vec![lesson_path(name).display().to_string()];
    command.extend(args.iter().map(|arg| arg.to_string()));
    command
}

fn assert_passes(report: &Report) {
    assert!(report.passed, "{}", report.to_table(Lang::En));
}

/// Asserts that the report failed exactly `expected` checks.
fn assert_fails_exactly(report: &Report, expected: &[&str]) {
    assert_eq!(report.failed(), expected, "{}", report.to_table(Lang::En));
}

#[test]
fn server_03_passes_its_own_check() {
    let report = coursecheck::check(
        Lesson::Server03,
        &kit("server_03", &["--port", "{port}"]),
        &options(),
    );
    assert_passes(&report);
    assert_eq!(report.checks.len(), Lesson::Server03.check_ids().len());
}

#[test]
fn server_04_passes_its_own_check() {
    let command = kit("server_04", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::Server04, &command, &options()));
}

#[test]
fn server_05_passes_its_own_check() {
    let command = kit("server_05", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::Server05, &command, &options()));
}

#[test]
fn echo_server_passes_its_own_check() {
    let command = kit("echo_server", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(
        Lesson::EchoServer,
        &command,
        &options(),
    ));
}

#[test]
fn basics_04_passes_its_own_check() {
    let command = kit("basics_04", &["{host}", "--port", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::Basics04, &command, &options()));
}

#[test]
fn basics_05_passes_its_own_check() {
    let command = kit("basics_05", &["{host}", "--port", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::Basics05, &command, &options()));
}

#[test]
fn socket_05_passes_its_own_check() {
    let command = kit("socket_05", &["{host}", "{port}", "/", "--body"]);
    assert_passes(&coursecheck::check(Lesson::Socket05, &command, &options()));
}

#[test]
fn echo_client_passes_its_own_check() {
    let command = kit("echo_client", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(
        Lesson::EchoClient,
        &command,
        &options(),
    ));
}

#[test]
fn a_server_that_is_not_there_fails_every_check_with_a_sentence() {
    // socket_05 is a client: it connects to {port}, where nothing listens, and exits.
    let command = kit("socket_05", &["{host}", "{port}"]);
    let report = coursecheck::check(
        Lesson::Server03,
        &command,
        &Options {
            timeout: Duration::from_secs(5),
            ..Options::default()
        },
    );
    assert_fails_exactly(&report, &["reply", "binary"]);
    let check = report.check("reply").expect("the reply check");
    assert!(
        check.detail.contains("ended") && !check.output_tail.is_empty(),
        "{check:?}"
    );
}

#[test]
fn spanish_report_from_the_option() {
    let command = kit("server_03", &["--port", "{port}"]);
    let options = Options {
        lang: Lang::Es,
        ..options()
    };
    let report = coursecheck::check(Lesson::Server03, &command, &options);
    assert_passes(&report);
    let table = report.to_table(Lang::Es);
    assert!(
        table.contains("devuelve lo que recibió y cierra"),
        "{table}"
    );
    assert!(table.contains("pruebas pasaron"), "{table}");
    assert_eq!(report.notes, "docs/es/04-tcp-server.md");
}

#[test]
fn spanish_report_from_the_locale() {
    let output = Command::new(workspace_binary("coursecheck", "coursecheck"))
        .args(["server_03", "--"])
        .arg(lesson_path("server_03"))
        .args(["--port", "{port}"])
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "es_CO.UTF-8")
        .output()
        .expect("run coursecheck");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(table.starts_with("Revisando server_03"), "{table}");
    assert!(table.contains("Se envió \"hello\\n\" y volvió"), "{table}");
}

#[test]
fn json_output_names_every_check_and_the_exit_status_follows_the_result() {
    let checker = workspace_binary("coursecheck", "coursecheck");
    let output = Command::new(&checker)
        .args(["server_04", "--json", "--"])
        .arg(lesson_path("server_03"))
        .args(["--port", "{port}"])
        .output()
        .expect("run coursecheck");
    // server_03 serves one client and exits: server_04's loop checks must fail.
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let json: coursecheck::serde_json::Value =
        coursecheck::serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(json["lesson"], "server_04");
    assert_eq!(json["passed"], false);
    let checks = json["checks"].as_array().expect("a list of checks");
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, Lesson::Server04.check_ids());
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // server_03 answers without "OK...", and exits after one client.
    assert!(
        failed.contains(&"reply") && failed.contains(&"one_after_another"),
        "{json:#}"
    );
    for check in checks {
        assert!(
            check["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{check}"
        );
        assert!(check["seconds"].as_f64().is_some(), "{check}");
    }

    let passing = Command::new(&checker)
        .args(["server_03", "--json", "--"])
        .arg(lesson_path("server_03"))
        .args(["--port", "{port}"])
        .output()
        .expect("run coursecheck");
    assert_eq!(passing.status.code(), Some(0), "{passing:?}");
}

#[test]
fn help_lists_every_lesson() {
    let checker = workspace_binary("coursecheck", "coursecheck");
    let output = Command::new(checker)
        .arg("--help")
        .output()
        .expect("run coursecheck");
    let help = String::from_utf8_lossy(&output.stdout);
    for lesson in Lesson::ALL {
        assert!(
            help.lines().any(|line| line
                .trim_start()
                .starts_with(&format!("- {}:", lesson.name()))),
            "{} missing from --help:\n{help}",
            lesson.name()
        );
    }
}

#[test]
fn grade_writes_one_row_per_submission() {
    let class = TempDir::new("coursecheck-grade");
    let good = class.path().join("ana");
    let bad = class.path().join("beto");
    let empty = class.path().join("carla");
    for folder in [&good, &bad, &empty] {
        std::fs::create_dir(folder).expect("a submission folder");
    }
    let quoted = |lesson: &str| format!("\"{}\" --port {{port}}\n", lesson_path(lesson).display());
    std::fs::write(
        good.join("check.cmd"),
        format!("# the kit's own\n{}", quoted("server_04")),
    )
    .expect("write check.cmd");
    std::fs::write(bad.join("check.cmd"), quoted("server_03")).expect("write check.cmd");

    let summary = coursecheck::grade(Lesson::Server04, class.path(), &options()).expect("grade");
    let names: Vec<&str> = summary
        .submissions
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["ana", "beto", "carla"]);

    let csv = summary.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "submission,reply,binary,one_after_another,next_client,reset,passed,total"
    );
    assert_eq!(lines[1], "ana,pass,pass,pass,pass,pass,5,5");
    assert!(lines[2].starts_with("beto,fail,"), "{csv}");
    assert!(
        lines[2].contains(",fail,") && !lines[2].ends_with(",5,5"),
        "{csv}"
    );
    assert_eq!(lines[3], "carla,error,error,error,error,error,0,5");

    let markdown = summary.to_markdown(Lang::En);
    assert!(
        markdown.contains("| ana | ✅ | ✅ | ✅ | ✅ | ✅ | 5/5 |"),
        "{markdown}"
    );
    assert!(markdown.contains("check.cmd"), "{markdown}");

    // The binary writes both files next to the submissions.
    let output = Command::new(workspace_binary("coursecheck", "coursecheck"))
        .args(["grade", "server_04"])
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    assert!(output.status.success(), "{output:?}");
    let written = std::fs::read_to_string(class.path().join("coursecheck-server_04.csv"))
        .expect("the CSV summary");
    assert_eq!(written.lines().count(), 4, "{written}");
    assert!(class.path().join("coursecheck-server_04.md").exists());
}

// ------------------------------------------------------------- Python answers (fixtures)

fn fixture(name: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/coursecheck")
        .join(name);
    vec!["python3".to_owned(), path.display().to_string()]
}

fn python(lesson: Lesson, name: &str, args: &[&str]) -> Report {
    require_program("python3");
    let mut command = fixture(name);
    command.extend(args.iter().map(|arg| arg.to_string()));
    coursecheck::check(lesson, &command, &options())
}

const SERVER: &[&str] = &["--port", "{port}"];
const CLIENT: &[&str] = &["{host}", "{port}"];

#[test]
#[ignore = "needs python3"]
fn python_reference_servers_pass() {
    for (lesson, name) in [
        (Lesson::Server03, "good_server_03.py"),
        (Lesson::Server04, "good_server_04.py"),
        (Lesson::Server05, "good_server_05.py"),
        (Lesson::EchoServer, "good_echo_server.py"),
    ] {
        assert_passes(&python(lesson, name, SERVER));
    }
}

#[test]
#[ignore = "needs python3"]
fn python_reference_clients_pass() {
    assert_passes(&python(Lesson::Basics05, "good_basics_05.py", CLIENT));
    assert_passes(&python(
        Lesson::Socket05,
        "good_socket_05.py",
        &["{host}", "{port}", "/"],
    ));
    assert_passes(&python(Lesson::EchoClient, "good_echo_client.py", CLIENT));
}

#[test]
#[ignore = "needs python3 and ntplib"]
fn python_ntplib_answer_passes_basics_04() {
    assert_passes(&python(Lesson::Basics04, "good_basics_04.py", CLIENT));
}

#[test]
#[ignore = "needs python3"]
fn a_server_that_answers_one_recv_as_a_line_fails_the_line_checks() {
    let report = python(Lesson::Server05, "bad_server_05_recv_as_line.py", SERVER);
    assert_fails_exactly(&report, &["split_line", "two_lines"]);
}

#[test]
#[ignore = "needs python3"]
fn a_server_that_serves_one_client_at_a_time_fails_concurrency() {
    let report = python(Lesson::Server05, "bad_server_05_one_at_a_time.py", SERVER);
    assert_fails_exactly(&report, &["concurrent"]);
}

#[test]
#[ignore = "needs python3"]
fn a_server_stopped_by_an_empty_read_fails_the_next_client() {
    let report = python(
        Lesson::Server04,
        "bad_server_04_empty_read_stops.py",
        SERVER,
    );
    assert_fails_exactly(&report, &["next_client"]);
}

#[test]
#[ignore = "needs python3"]
fn an_echo_server_that_decodes_text_fails_the_binary_echo() {
    let report = python(Lesson::EchoServer, "bad_echo_server_text.py", SERVER);
    assert_fails_exactly(&report, &["binary_1mib"]);
}

#[test]
#[ignore = "needs python3"]
fn an_sntp_client_that_reads_word_8_fails_the_time() {
    let report = python(Lesson::Basics05, "bad_basics_05_word8.py", CLIENT);
    assert_fails_exactly(&report, &["time"]);
    let detail = &report.check("time").expect("the time check").detail;
    assert!(detail.contains("receive time (word 8)"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn an_http_client_with_one_recv_fails_every_body_check() {
    let report = python(
        Lesson::Socket05,
        "bad_socket_05_one_recv.py",
        &["{host}", "{port}", "/"],
    );
    assert_fails_exactly(&report, &["content_length", "chunked", "close_delimited"]);
}

#[test]
#[ignore = "needs python3"]
fn an_echo_client_with_one_recv_fails_the_echo() {
    let report = python(Lesson::EchoClient, "bad_echo_client_one_recv.py", CLIENT);
    assert_fails_exactly(&report, &["echo"]);
}

/// The code block under `heading` in a notes file.
fn shown_in_notes(path: &str, heading: &str) -> Vec<String> {
    let notes = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("the notes");
    let section = notes.split(heading).nth(1).expect("the heading");
    let block = section.split("```text\n").nth(1).expect("a code block");
    let block = block.split("```").next().expect("its end");
    block.lines().map(str::to_owned).collect()
}

#[test]
#[ignore = "needs python3"]
fn the_tables_in_the_notes_come_from_a_real_run() {
    for (lang, path, heading) in [
        (
            Lang::En,
            "docs/checking-homework.md",
            "## Reading the table",
        ),
        (
            Lang::Es,
            "docs/es/checking-homework.md",
            "## Cómo leer la tabla",
        ),
    ] {
        require_program("python3");
        let mut command = fixture("bad_server_05_recv_as_line.py");
        command.extend(SERVER.iter().map(|arg| arg.to_string()));
        let options = Options { lang, ..options() };
        let table = coursecheck::check(Lesson::Server05, &command, &options).to_table(lang);
        for line in shown_in_notes(path, heading) {
            // The first line names the student's file; "…" stands for the rows left out.
            if line.starts_with("Checking") || line.starts_with("Revisando") || line == "…" {
                continue;
            }
            assert!(
                table.lines().any(|real| real == line),
                "{path} shows a line the checker does not print:\n{line}\n\nreal output:\n{table}"
            );
        }
    }
}
