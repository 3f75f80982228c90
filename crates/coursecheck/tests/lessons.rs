//! The homework checker judges correctly: every kit lesson passes its own check, the Python
//! reference answers pass, and each Python answer with one of the original course's bugs
//! fails exactly the check named for that bug.

// The kit's test harness: these tests run the kit's lessons, built by Cargo in the kit's root.
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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
    let ids: Vec<&str> = report.checks.iter().map(|check| check.id).collect();
    assert_eq!(
        ids,
        report.lesson.check_ids(),
        "checks out of the lesson's order"
    );
}

/// Asserts that the report failed exactly `expected` checks.
fn assert_fails_exactly(report: &Report, expected: &[&str]) {
    assert_eq!(report.failed(), expected, "{}", report.to_table(Lang::En));
}

#[test]
fn the_lookup_lessons_pass_their_own_checks() {
    for (lesson, name, args) in [
        (Lesson::Basics01, "basics_01", &[][..]),
        (Lesson::Basics02, "basics_02", &["{name}"][..]),
        (Lesson::Basics03, "basics_03", &["{query}"][..]),
        (Lesson::Socket01, "socket_01", &[][..]),
        (Lesson::Socket02, "socket_02", &["{name}"][..]),
    ] {
        assert_passes(&coursecheck::check(lesson, &kit(name, args), &options()));
    }
}

#[test]
fn a_lookup_command_without_its_placeholder_fails_every_check_with_a_sentence() {
    // Without {name}, basics_02 would resolve its default, www.google.com: a DNS query. The
    // checker must refuse to run it at all.
    let report = coursecheck::check(Lesson::Basics02, &kit("basics_02", &[]), &options());
    assert_fails_exactly(&report, &["resolves", "every_address", "unknown"]);
    for check in &report.checks {
        assert!(check.detail.contains("has no {name}"), "{check:?}");
        assert!(check.seconds < 1.0, "it ran the program: {check:?}");
    }
    let report = coursecheck::check(Lesson::Basics03, &kit("basics_03", &[]), &options());
    assert_eq!(report.failed(), Lesson::Basics03.check_ids());
}

#[test]
fn server_01_passes_its_own_check() {
    let command = kit("server_01", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::Server01, &command, &options()));
}

#[test]
fn server_02_passes_its_own_check() {
    let command = kit("server_02", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::Server02, &command, &options()));
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
fn server_06_and_07_pass_their_own_checks() {
    for (lesson, name) in [
        (Lesson::Server06, "server_06"),
        (Lesson::Server07, "server_07"),
    ] {
        // Their default --max-clients (256) is below the 1,000 clients the check holds.
        let command = kit(name, &["--port", "{port}", "--max-clients", "2000"]);
        assert_passes(&coursecheck::check(lesson, &command, &options()));
    }
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
fn ntp_server_passes_its_own_check() {
    let command = kit("ntp_server", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::NtpServer, &command, &options()));
}

#[test]
fn udp_echo_server_passes_its_own_check() {
    let command = kit("udp_echo_server", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(
        Lesson::UdpEchoServer,
        &command,
        &options(),
    ));
}

#[test]
fn udp_echo_client_passes_its_own_check_with_the_notes_burst() {
    let command = kit(
        "udp_echo_client",
        &["burst", "--host", "{host}", "--port", "{port}"],
    );
    assert_passes(&coursecheck::check(
        Lesson::UdpEchoClient,
        &command,
        &options(),
    ));
}

#[test]
fn a_udp_server_that_never_answers_fails_every_check_with_one_sentence_in_time() {
    // `sleep` binds nothing: every probe is lost, as to a server on the wrong port.
    let options = Options {
        timeout: Duration::from_secs(2),
        ..Options::default()
    };
    let command = vec!["sleep".to_owned(), "30".to_owned()];
    let report = coursecheck::check(Lesson::UdpEchoServer, &command, &options);
    assert_eq!(report.failed(), Lesson::UdpEchoServer.check_ids());
    for check in &report.checks {
        assert!(
            check
                .detail
                .starts_with("No echo came back from udp 127.0.0.1:"),
            "{check:?}"
        );
        assert!(check.seconds < 3.0, "{check:?}");
    }
}

#[test]
fn socket_03_passes_its_own_check() {
    let command = kit("socket_03", &["{host}", "{port}"]);
    assert_passes(&coursecheck::check(Lesson::Socket03, &command, &options()));
}

#[test]
fn socket_04_passes_its_own_check() {
    let command = kit("socket_04", &["{host}", "{port}", "/"]);
    assert_passes(&coursecheck::check(Lesson::Socket04, &command, &options()));
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
fn line_client_passes_its_own_check() {
    let command = kit("line_client", &["--port", "{port}"]);
    assert_passes(&coursecheck::check(
        Lesson::LineClient,
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
        .args(["grade", "server_04", "--no-sandbox"])
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    assert!(output.status.success(), "{output:?}");
    let written = std::fs::read_to_string(class.path().join("coursecheck-server_04.csv"))
        .expect("the CSV summary");
    assert_eq!(written.lines().count(), 4, "{written}");
    assert!(class.path().join("coursecheck-server_04.md").exists());
}

/// A class folder: each `(name, check.cmd line)` becomes a submission; `None` leaves the
/// folder without a check.cmd.
fn class(label: &str, submissions: &[(&str, Option<String>)]) -> TempDir {
    let class = TempDir::new(label);
    for (name, command) in submissions {
        let folder = class.path().join(name);
        std::fs::create_dir(&folder).expect("a submission folder");
        if let Some(command) = command {
            std::fs::write(folder.join("check.cmd"), format!("{command}\n")).expect("check.cmd");
        }
    }
    class
}

/// The check.cmd line that runs kit lesson `name` as a server on `{port}`.
fn kit_server_line(name: &str) -> String {
    format!("\"{}\" --port {{port}}", lesson_path(name).display())
}

fn coursecheck_binary() -> Command {
    let mut command = Command::new(workspace_binary("coursecheck", "coursecheck"));
    command
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn grade_json_prints_the_class_as_json() {
    let class = class(
        "coursecheck-grade-json",
        &[("ana", Some(kit_server_line("server_03"))), ("beto", None)],
    );
    let output = coursecheck_binary()
        .args(["grade", "server_03", "--json", "--no-sandbox"])
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: coursecheck::serde_json::Value =
        coursecheck::serde_json::from_slice(&output.stdout).expect("stdout is JSON, not Markdown");
    assert_eq!(json["lesson"], "server_03");
    assert!(json["seconds"].as_f64().is_some(), "{json:#}");
    let submissions = json["submissions"].as_array().expect("a list");
    assert_eq!(submissions.len(), 2, "{json:#}");
    // Each submission's own time, which the class's wall time contains.
    for submission in submissions {
        let seconds = submission["seconds"]
            .as_f64()
            .expect("seconds per submission");
        assert!(seconds <= json["seconds"].as_f64().unwrap(), "{json:#}");
    }
    assert!(
        submissions[0]["seconds"].as_f64().unwrap() > 0.0,
        "{json:#}"
    );
    assert_eq!(submissions[0]["name"], "ana");
    assert_eq!(submissions[0]["passed"], 2);
    assert_eq!(submissions[0]["report"]["passed"], true);
    assert_eq!(submissions[1]["name"], "beto");
    assert_eq!(submissions[1]["passed"], 0);
    assert!(
        submissions[1]["error"]
            .as_str()
            .is_some_and(|error| error.contains("check.cmd")),
        "{json:#}"
    );
}

#[test]
fn grade_creates_the_output_folder_and_writes_every_format() {
    let class = class(
        "coursecheck-grade-out",
        &[
            ("ana", Some(kit_server_line("server_03"))),
            ("beto", Some(kit_server_line("server_04"))),
        ],
    );
    let results = TempDir::new("coursecheck-grade-results");
    let out = results.path().join("server_03/today");
    let output = coursecheck_binary()
        .args([
            "grade",
            "server_03",
            "--no-sandbox",
            "--points",
            "5",
            "--out",
        ])
        .arg(&out)
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let read = |name: &str| {
        std::fs::read_to_string(out.join(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
    };
    assert_eq!(
        read("coursecheck-server_03.csv"),
        "submission,reply,binary,passed,total\nana,pass,pass,2,2\nbeto,fail,fail,0,2\n"
    );
    // Moodle: one row per student, the grade out of --points, the first problem as feedback.
    let moodle = read("coursecheck-server_03-moodle.csv");
    let rows: Vec<&str> = moodle.lines().collect();
    assert_eq!(
        rows[0],
        "student,coursecheck server_03,coursecheck server_03 feedback"
    );
    assert_eq!(rows[1], "ana,5,2/2 checks passed.");
    assert!(
        rows[2].starts_with("beto,0,\"0/2 checks passed. First problem: reply: "),
        "{moodle}"
    );
    let junit = read("coursecheck-server_03.junit.xml");
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert_eq!(junit.matches("<testcase ").count(), 4, "{junit}");
    assert_eq!(junit.matches("<failure ").count(), 2, "{junit}");
    assert!(junit.contains("<testsuite name=\"ana\""), "{junit}");
    let json: coursecheck::serde_json::Value =
        coursecheck::serde_json::from_str(&read("coursecheck-server_03.json")).expect("JSON");
    assert_eq!(json["submissions"][1]["name"], "beto");
    assert!(read("coursecheck-server_03.md").contains("| ana | ✅ | ✅ | 2/2 |"));
    // The summary says how long grading took.
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Graded 2 submission(s) in "), "{stdout}");
}

#[test]
fn grade_reports_an_output_folder_it_cannot_create_before_running_anything() {
    let class = class(
        "coursecheck-grade-no-out",
        &[("ana", Some("sh -c 'touch ran; sleep 1'".to_owned()))],
    );
    let blocker = class.file("not-a-folder", b"a file where a folder should go");
    let started = Instant::now();
    let output = coursecheck_binary()
        .args(["grade", "server_03", "--no-sandbox", "--out"])
        .arg(blocker.join("results"))
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot create the output folder") && stderr.contains("Nothing was graded"),
        "{stderr}"
    );
    assert!(
        !class.path().join("ana/ran").exists(),
        "a submission ran although its results could not be written"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{output:?}");
}

#[test]
fn grade_prints_the_table_even_when_a_file_cannot_be_written() {
    let class = class(
        "coursecheck-grade-write-fails",
        &[("ana", Some(kit_server_line("server_03")))],
    );
    // A folder where the Markdown file must go: that one write fails, the others must not.
    std::fs::create_dir(class.path().join("coursecheck-server_03.md")).expect("a folder");
    let output = coursecheck_binary()
        .args(["grade", "server_03", "--no-sandbox"])
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = text(&output.stdout);
    assert!(stdout.contains("| ana | ✅ | ✅ | 2/2 |"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("could not write") && stderr.contains("coursecheck-server_03.md"),
        "{stderr}"
    );
    assert!(class.path().join("coursecheck-server_03.csv").is_file());
}

#[test]
fn grade_with_a_missing_submissions_folder_fails_with_a_sentence() {
    let class = TempDir::new("coursecheck-grade-missing");
    let output = coursecheck_binary()
        .args(["grade", "server_03", "--no-sandbox", "--out"])
        .arg(class.path())
        .arg(class.path().join("no-such-folder"))
        .output()
        .expect("run coursecheck grade");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        text(&output.stderr).contains("cannot read the submissions folder"),
        "{output:?}"
    );
}

#[test]
fn a_relative_program_path_works_from_the_folder_coursecheck_runs_in() {
    // A student's own folder, far from the kit, with their program in it.
    let student = TempDir::new("coursecheck-student");
    let program = format!("my_server{}", std::env::consts::EXE_SUFFIX);
    std::fs::copy(lesson_path("server_03"), student.path().join(&program)).expect("copy");
    let output = coursecheck_binary()
        .current_dir(student.path())
        .args(["server_03", "--"])
        .arg(format!("./{program}"))
        .args(["--port", "{port}"])
        .output()
        .expect("run coursecheck");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        text(&output.stdout).contains("2/2 checks passed"),
        "{output:?}"
    );
}

/// Grades `class` with `jobs` at a time; the summary and how long it took.
fn graded(class: &Path, jobs: usize, options: &Options) -> coursecheck::grade::Summary {
    let jobs = NonZeroUsize::new(jobs).expect("at least one job");
    coursecheck::grade::grade_in_parallel(Lesson::Server04, class, options, jobs, None, |_| {})
        .expect("grade")
}

/// One check's id, whether it passed, and its sentence.
type Verdict = (String, bool, String);

/// `text` with every loopback port written as PORT: each run picks its own free ports.
fn without_ports(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(before);
        out.push_str("PORT");
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// What a summary says about each submission, without how long each check took or which
/// free port it happened to get.
fn verdicts(summary: &coursecheck::grade::Summary) -> Vec<(String, Vec<Verdict>)> {
    summary
        .submissions
        .iter()
        .map(|submission| {
            let checks = match &submission.report {
                Ok(report) => report
                    .checks
                    .iter()
                    .map(|check| {
                        let detail = without_ports(&check.detail);
                        (check.id.to_owned(), check.passed, detail)
                    })
                    .collect(),
                Err(error) => vec![("error".to_owned(), false, error.clone())],
            };
            (submission.name.clone(), checks)
        })
        .collect()
}

#[test]
fn jobs_4_and_jobs_1_give_identical_reports() {
    let never_listens = "sleep 60".to_owned();
    let class = class(
        "coursecheck-grade-jobs",
        &[
            ("ana", Some(kit_server_line("server_04"))),
            ("beto", Some(kit_server_line("server_03"))),
            ("carla", None),
            ("dario", Some(never_listens.clone())),
            ("elena", Some(kit_server_line("server_04"))),
            ("fabio", Some(never_listens)),
            ("gina", Some(kit_server_line("server_05"))),
        ],
    );
    let options = Options {
        timeout: Duration::from_secs(3),
        ..Options::default()
    };
    let one = graded(class.path(), 1, &options);
    let four = graded(class.path(), 4, &options);
    eprintln!(
        "wall time: --jobs 1 took {:.1} s, --jobs 4 took {:.1} s",
        one.elapsed.as_secs_f64(),
        four.elapsed.as_secs_f64()
    );
    assert_eq!(verdicts(&one), verdicts(&four));
    assert_eq!(one.to_csv(), four.to_csv());
    assert_eq!(
        one.to_csv().lines().nth(1),
        Some("ana,pass,pass,pass,pass,pass,5,5")
    );
    assert!(
        one.to_csv()
            .contains("\ndario,fail,fail,fail,fail,fail,0,5\n")
    );
    // Whether submissions ran at the same time, not how fast (speed is bench/compare's, at 60
    // submissions): one after another, the class takes at least the sum of its submissions'
    // times; side by side, the two that never listen wait out their checks together, so the
    // class takes less than that sum.
    let sum = |summary: &coursecheck::grade::Summary| -> Duration {
        summary.submissions.iter().map(|s| s.elapsed).sum()
    };
    assert!(one.elapsed >= sum(&one), "--jobs 1 overlapped submissions");
    assert!(
        four.elapsed < sum(&four),
        "--jobs 4 ran one submission at a time: {:?} for submissions that took {:?} in all",
        four.elapsed,
        sum(&four)
    );
}

fn check_with(args: &[&str], lesson_name: &str) -> Output {
    coursecheck_binary()
        .args(args)
        .arg("--")
        .arg(lesson_path(lesson_name))
        .args(["--port", "{port}"])
        .output()
        .expect("run coursecheck")
}

#[test]
fn gradescope_results_have_a_test_per_check_and_the_score() {
    let output = check_with(
        &["server_04", "--format", "gradescope", "--points", "10"],
        "server_03",
    );
    // server_03 answers without "OK..." and serves one client: server_04's checks fail.
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let results: coursecheck::serde_json::Value =
        coursecheck::serde_json::from_slice(&output.stdout).expect("results.json");
    let tests = results["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 5, "{results:#}");
    let mut sum = 0.0;
    for test in tests {
        assert!(
            test["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{test}"
        );
        assert_eq!(test["max_score"], 2.0, "{test}");
        let score = test["score"].as_f64().expect("a score");
        assert!(score == 0.0 || score == 2.0, "{test}");
        assert!(
            test["output"].as_str().is_some_and(|o| !o.is_empty()),
            "{test}"
        );
        sum += score;
    }
    assert_eq!(results["score"].as_f64(), Some(sum), "{results:#}");
    assert!(sum < 10.0, "{results:#}");

    let passing = check_with(&["server_03", "--format", "gradescope"], "server_03");
    let results: coursecheck::serde_json::Value =
        coursecheck::serde_json::from_slice(&passing.stdout).expect("results.json");
    assert_eq!(results["score"], 2.0, "{results:#}");
}

#[test]
fn junit_report_has_a_failure_per_failed_check() {
    let output = check_with(&["server_04", "--format", "junit"], "server_03");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let xml = text(&output.stdout);
    assert_eq!(xml.matches("<testcase ").count(), 5, "{xml}");
    let failures = xml.matches("<failure ").count();
    assert!((1..=5).contains(&failures), "{xml}");
    assert!(xml.contains("name=\"one_after_another\""), "{xml}");
}

#[test]
fn only_runs_the_named_checks_and_an_unknown_id_is_a_usage_error() {
    let output = check_with(&["server_04", "--json", "--only", "binary"], "server_04");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: coursecheck::serde_json::Value =
        coursecheck::serde_json::from_slice(&output.stdout).expect("JSON");
    let ids: Vec<&str> = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|check| check["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["binary"]);

    let unknown = check_with(&["server_04", "--only", "binray"], "server_04");
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    let stderr = text(&unknown.stderr);
    assert!(
        stderr.contains("server_04 has no check binray") && stderr.contains("binary"),
        "{stderr}"
    );
}

#[test]
fn the_spanish_report_says_exit_codes_in_spanish() {
    let command = kit("socket_05", &["{host}", "{port}"]);
    let options = Options {
        timeout: Duration::from_secs(5),
        lang: Lang::Es,
        ..Options::default()
    };
    let report = coursecheck::check(Lesson::Server03, &command, &options);
    let detail = &report.check("reply").expect("the reply check").detail;
    assert!(detail.contains("(código de salida "), "{detail}");
    assert!(!detail.contains("exit status"), "{detail}");
}

#[test]
fn the_github_classroom_template_has_a_step_for_every_check() {
    let path = support::kit_root().join("docs/homework/.github/workflows/classroom.yml");
    let workflow = std::fs::read_to_string(&path).expect("the workflow template");
    let ids = Lesson::Server05.check_ids();
    for id in &ids {
        assert!(
            workflow.contains(&format!("command: coursecheck server_05 --only {id} -- ")),
            "no step runs {id} in {}",
            path.display()
        );
        let results = format!(
            "{}_RESULTS: \"${{{{ steps.{id}.outputs.result }}}}\"",
            id.to_uppercase()
        );
        assert!(workflow.contains(&results), "{id}'s result is not reported");
    }
    assert!(
        workflow.contains(&format!("runners: {}\n", ids.join(","))),
        "the reporter's runners are not the lesson's checks"
    );
    assert!(workflow.contains("cargo install --locked --path .course/crates/coursecheck"));
}

#[test]
fn grade_refuses_without_a_sandbox_and_says_how_to_proceed() {
    let class = class(
        "coursecheck-grade-no-bwrap",
        &[("ana", Some("sh -c 'touch ran'".to_owned()))],
    );
    // No bwrap on this PATH: grade must refuse before running anything.
    let empty = TempDir::new("coursecheck-empty-path");
    let output = coursecheck_binary()
        .env("PATH", empty.path())
        .args(["grade", "server_03"])
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    assert!(
        stderr.contains("sandbox") && stderr.contains("--no-sandbox"),
        "{stderr}"
    );
    assert!(!class.path().join("ana/ran").exists());
}

/// A submission folder holding a copy of fixture `name`, started with `args`.
#[cfg(unix)]
fn fixture_submission(class: &Path, folder: &str, name: &str, args: &str) {
    let folder = class.join(folder);
    std::fs::create_dir(&folder).expect("a submission folder");
    let source = support::kit_root().join("tests/fixtures/coursecheck");
    std::fs::copy(source.join(name), folder.join(name)).expect("copy the fixture");
    std::fs::write(folder.join("check.cmd"), format!("python3 {name} {args}\n"))
        .expect("check.cmd");
}

/// The highest memory this process has used, in KiB (VmHWM).
#[cfg(unix)]
fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
#[cfg(unix)]
#[ignore = "needs bubblewrap (apt-get install bubblewrap), root and python3"]
fn hostile_submissions_in_the_sandbox_affect_nothing_but_their_own_grade() {
    require_program("bwrap");
    require_program("python3");
    let class = TempDir::new("coursecheck-hostile");
    let results = TempDir::new("coursecheck-hostile-results");
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let marker = format!("coursecheck-escaped-{}", std::process::id());
    let escapes = [
        home.join(&marker),
        class.path().join(&marker),
        class.path().join("ana").join(&marker),
        results.path().join(&marker),
    ];
    let tries: Vec<String> = escapes
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    fixture_submission(class.path(), "ana", "good_server_03.py", "--port {port}");
    fixture_submission(
        class.path(),
        "h1_writes",
        "hostile_writes_outside.py",
        &format!(
            "--port {{port}} --class-folder {} {}",
            class.path().display(),
            tries.join(" ")
        ),
    );
    fixture_submission(
        class.path(),
        "h2_interfaces",
        "hostile_lists_interfaces.py",
        "",
    );
    fixture_submission(class.path(), "h3_fork_bomb", "hostile_fork_bomb.py", "");
    fixture_submission(class.path(), "h4_allocates", "hostile_allocates.py", "");
    fixture_submission(class.path(), "h5_prints", "hostile_prints.py", "");
    fixture_submission(
        class.path(),
        "h6_detached",
        "hostile_detached.py",
        "--port {port}",
    );
    fixture_submission(
        class.path(),
        "h7_never_listens",
        "hostile_never_listens.py",
        "",
    );

    let started = Instant::now();
    let output = coursecheck_binary()
        .args([
            "grade",
            "server_03",
            "--json",
            "--jobs",
            "4",
            "--timeout",
            "4",
            "--out",
        ])
        .arg(results.path())
        .arg(class.path())
        .output()
        .expect("run coursecheck grade");
    eprintln!(
        "graded 8 submissions in the sandbox in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: coursecheck::serde_json::Value =
        coursecheck::serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["sandboxed"], true, "{json:#}");
    let submission = |name: &str| {
        json["submissions"]
            .as_array()
            .expect("submissions")
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {json:#}"))
            .clone()
    };
    let said = |name: &str| -> String {
        let submission = submission(name);
        let checks = submission["report"]["checks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        checks
            .iter()
            .map(|check| {
                let tail: Vec<&str> = check["output_tail"]
                    .as_array()
                    .map(|lines| lines.iter().filter_map(|l| l.as_str()).collect())
                    .unwrap_or_default();
                format!(
                    "{} {}",
                    check["detail"].as_str().unwrap_or(""),
                    tail.join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    // The correct answer, graded next to them, passes as it would alone.
    assert_eq!(submission("ana")["passed"], 2, "{json:#}");

    // Writes outside its folder failed, and it saw none of the other submissions.
    let writes = said("h1_writes");
    assert!(!writes.contains("wrote "), "{writes}");
    assert!(writes.contains("refused ../escaped"), "{writes}");
    assert!(
        !writes.contains("'ana'"),
        "it saw another submission: {writes}"
    );
    for path in &escapes {
        assert!(
            !path.exists(),
            "{} was written from the sandbox",
            path.display()
        );
    }
    assert!(!class.path().join("escaped").exists());
    assert!(
        !class
            .path()
            .parent()
            .expect("a parent")
            .join("escaped")
            .exists()
    );

    // Only loopback in its network namespace.
    let interfaces = said("h2_interfaces");
    assert!(
        interfaces.contains("interfaces: lo\n") || interfaces.ends_with("interfaces: lo"),
        "{interfaces}"
    );

    // The whole sandbox is in a control group with a memory and a task limit, where the
    // system lets root make one (this machine's cgroup v1 or v2 file system).
    let cgroups = Path::new("/sys/fs/cgroup");
    if cgroups.join("cgroup.controllers").exists() || cgroups.join("memory").is_dir() {
        assert!(
            interfaces.contains("groups: ") && interfaces.contains("coursecheck-"),
            "{interfaces}"
        );
    } else {
        eprintln!("not checking the sandbox's control group: no cgroup file system here");
    }

    // Each of the others got a sentence and no pass.
    for name in [
        "h3_fork_bomb",
        "h4_allocates",
        "h5_prints",
        "h6_detached",
        "h7_never_listens",
    ] {
        let submission = submission(name);
        assert_eq!(submission["passed"], 0, "{name}: {submission:#}");
        assert!(!said(name).trim().is_empty(), "{name}: {submission:#}");
    }
    assert!(
        said("h4_allocates").contains("MemoryError"),
        "{}",
        said("h4_allocates")
    );
    assert!(
        said("h5_prints").contains("file limit: File too large"),
        "{}",
        said("h5_prints")
    );
    assert!(
        said("h7_never_listens").contains("Nothing accepted connections")
            || said("h7_never_listens").contains("did not finish within"),
        "{}",
        said("h7_never_listens")
    );

    // Nothing the submissions started is still running, and the grader's memory stayed low.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = coursecheck::sandbox::leftover_processes();
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = coursecheck::sandbox::leftover_processes();
    }
    assert!(left.is_empty(), "processes left after grading: {left:?}");
    assert!(peak_memory_kib() < 512 * 1024, "{} KiB", peak_memory_kib());
}

// ------------------------------------------------------------- Python answers (fixtures)

fn fixture(name: &str) -> Vec<String> {
    let path = support::kit_root()
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
fn python_reference_lookup_programs_pass() {
    assert_passes(&python(Lesson::Basics01, "good_basics_01.py", &[]));
    assert_passes(&python(Lesson::Basics02, "good_basics_02.py", &["{name}"]));
    assert_passes(&python(Lesson::Basics03, "good_basics_03.py", &["{query}"]));
    assert_passes(&python(Lesson::Socket01, "good_socket_01.py", &[]));
    assert_passes(&python(Lesson::Socket02, "good_socket_02.py", &["{name}"]));
}

#[test]
#[ignore = "needs python3"]
fn a_basics_01_with_a_hard_coded_address_fails_addresses() {
    let report = python(Lesson::Basics01, "bad_basics_01_hard_coded_address.py", &[]);
    assert_fails_exactly(&report, &["addresses"]);
    let detail = &report.check("addresses").expect("the check").detail;
    assert!(detail.contains("printed 127.0.1.1, which"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn a_basics_01_with_a_hard_coded_name_fails_host_name() {
    let report = python(Lesson::Basics01, "bad_basics_01_hard_coded_name.py", &[]);
    assert_fails_exactly(&report, &["host_name"]);
}

#[test]
#[ignore = "needs python3"]
fn a_basics_02_with_gethostbyname_fails_every_address() {
    let report = python(Lesson::Basics02, "bad_basics_02_ipv4_only.py", &["{name}"]);
    assert_fails_exactly(&report, &["every_address"]);
}

#[test]
#[ignore = "needs python3"]
fn a_lookup_that_exits_with_0_on_an_unknown_name_fails_unknown() {
    for (lesson, name) in [
        (Lesson::Basics02, "bad_basics_02_exit_0_on_unknown.py"),
        (Lesson::Socket02, "bad_socket_02_exit_0_on_unknown.py"),
    ] {
        let report = python(lesson, name, &["{name}"]);
        assert_fails_exactly(&report, &["unknown"]);
        let detail = &report.check("unknown").expect("the check").detail;
        assert!(detail.contains("ended with exit code 0"), "{detail}");
    }
}

#[test]
#[ignore = "needs python3"]
fn a_lookup_that_ends_in_a_traceback_fails_its_error_check() {
    for (lesson, name, args, check) in [
        (
            Lesson::Socket02,
            "bad_socket_02_traceback.py",
            "{name}",
            "unknown",
        ),
        (
            Lesson::Basics03,
            "bad_basics_03_traceback.py",
            "{query}",
            "no_name",
        ),
    ] {
        let report = python(lesson, name, &[args]);
        assert_fails_exactly(&report, &[check]);
        let detail = &report.check(check).expect("the check").detail;
        assert!(detail.contains("stack trace"), "{detail}");
    }
}

#[test]
#[ignore = "needs python3"]
fn a_basics_03_that_ignores_the_protocol_fails_protocol() {
    let report = python(
        Lesson::Basics03,
        "bad_basics_03_always_tcp.py",
        &["{query}"],
    );
    assert_fails_exactly(&report, &["protocol"]);
    let detail = &report.check("protocol").expect("the check").detail;
    assert!(detail.contains("the name of 513/tcp"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn a_basics_03_that_prints_the_number_for_a_port_with_no_name_fails_no_name() {
    let report = python(
        Lesson::Basics03,
        "bad_basics_03_number_for_unknown.py",
        &["{query}"],
    );
    assert_fails_exactly(&report, &["no_name"]);
    let detail = &report.check("no_name").expect("the check").detail;
    assert!(detail.contains("65000/tcp => 65000"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn a_socket_01_that_says_nothing_or_is_python_2_fails_created() {
    for (name, said) in [
        ("bad_socket_01_says_nothing.py", "never said"),
        ("bad_socket_01_python2.py", "exit code 1"),
    ] {
        let report = python(Lesson::Socket01, name, &[]);
        assert_fails_exactly(&report, &["created"]);
        let detail = &report.check("created").expect("the check").detail;
        assert!(detail.contains(said), "{detail}");
    }
}

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
fn python_reference_one_step_servers_pass() {
    assert_passes(&python(Lesson::Server01, "good_server_01.py", SERVER));
    assert_passes(&python(Lesson::Server02, "good_server_02.py", SERVER));
}

#[test]
#[ignore = "needs python3"]
fn a_server_01_bound_to_every_interface_fails_loopback() {
    let report = python(Lesson::Server01, "bad_server_01_every_interface.py", SERVER);
    assert_fails_exactly(&report, &["loopback"]);
    let detail = &report.check("loopback").expect("the loopback check").detail;
    assert!(detail.contains("It bound 0.0.0.0:"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn a_server_that_exits_with_0_after_a_bind_error_fails_taken() {
    for (lesson, name) in [
        (Lesson::Server01, "bad_server_01_exit_0_on_error.py"),
        (Lesson::Server02, "bad_server_02_exit_0_on_error.py"),
    ] {
        let report = python(lesson, name, SERVER);
        assert_fails_exactly(&report, &["taken"]);
        let detail = &report.check("taken").expect("the taken check").detail;
        assert!(detail.contains("ended with exit code 0"), "{detail}");
    }
}

#[test]
#[ignore = "needs python3"]
fn a_server_02_that_prints_its_own_address_fails_accepts() {
    let report = python(Lesson::Server02, "bad_server_02_own_address.py", SERVER);
    assert_fails_exactly(&report, &["accepts"]);
}

#[test]
#[ignore = "needs python3"]
fn python_reference_many_clients_server_passes() {
    assert_passes(&python(Lesson::Server06, "good_server_06.py", SERVER));
}

#[test]
#[ignore = "needs python3"]
fn a_one_thread_server_with_blocking_sends_fails_unread_replies() {
    let report = python(Lesson::Server06, "bad_server_06_blocking_send.py", SERVER);
    assert_fails_exactly(&report, &["unread_replies"]);
}

#[test]
#[ignore = "needs python3"]
fn a_server_with_a_pool_of_64_threads_fails_many_clients() {
    let report = python(Lesson::Server06, "bad_server_06_thread_pool.py", SERVER);
    assert_fails_exactly(&report, &["many_clients"]);
    let detail = &report.check("many_clients").expect("the check").detail;
    assert!(detail.contains("client 65 was not greeted"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn python_reference_line_client_passes() {
    assert_passes(&python(Lesson::LineClient, "good_line_client.py", CLIENT));
}

#[test]
#[ignore = "needs python3"]
fn a_line_client_that_takes_turns_fails_greeting() {
    let report = python(
        Lesson::LineClient,
        "bad_line_client_one_after_another.py",
        CLIENT,
    );
    assert_fails_exactly(&report, &["greeting"]);
}

#[test]
#[ignore = "needs python3"]
fn a_line_client_that_ignores_the_end_of_its_input_fails_end_of_input() {
    let report = python(
        Lesson::LineClient,
        "bad_line_client_ignores_end_of_input.py",
        CLIENT,
    );
    assert_fails_exactly(&report, &["end_of_input"]);
}

#[test]
#[ignore = "needs python3"]
fn python_reference_ntp_server_passes() {
    assert_passes(&python(Lesson::NtpServer, "good_ntp_server.py", SERVER));
}

#[test]
#[ignore = "needs python3"]
fn an_ntp_server_that_leaves_the_origin_zero_fails_origin() {
    let report = python(Lesson::NtpServer, "bad_ntp_server_no_origin.py", SERVER);
    assert_fails_exactly(&report, &["origin"]);
}

#[test]
#[ignore = "needs python3"]
fn an_ntp_server_that_answers_every_datagram_fails_ignores() {
    let report = python(
        Lesson::NtpServer,
        "bad_ntp_server_answers_everything.py",
        SERVER,
    );
    assert_fails_exactly(&report, &["ignores"]);
}

#[test]
#[ignore = "needs python3"]
fn an_ntp_server_that_sends_unix_seconds_fails_time() {
    let report = python(Lesson::NtpServer, "bad_ntp_server_unix_epoch.py", SERVER);
    assert_fails_exactly(&report, &["time"]);
    let detail = &report.check("time").expect("the time check").detail;
    assert!(detail.contains("add 2208988800"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn python_reference_udp_echo_server_and_client_pass() {
    assert_passes(&python(
        Lesson::UdpEchoServer,
        "good_udp_echo_server.py",
        SERVER,
    ));
    assert_passes(&python(
        Lesson::UdpEchoClient,
        "good_udp_echo_client.py",
        CLIENT,
    ));
}

#[test]
#[ignore = "needs python3"]
fn a_udp_echo_server_with_a_1024_byte_buffer_fails_whole() {
    let report = python(Lesson::UdpEchoServer, "bad_udp_echo_server_1024.py", SERVER);
    assert_fails_exactly(&report, &["whole"]);
    let detail = &report.check("whole").expect("the whole check").detail;
    assert!(detail.contains("only its first 1024 bytes"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn a_udp_echo_server_that_goes_through_text_fails_binary() {
    let report = python(Lesson::UdpEchoServer, "bad_udp_echo_server_text.py", SERVER);
    assert_fails_exactly(&report, &["binary"]);
}

#[test]
#[ignore = "needs python3"]
fn a_udp_echo_server_that_sends_to_every_client_fails_sender_only() {
    let report = python(
        Lesson::UdpEchoServer,
        "bad_udp_echo_server_to_everyone.py",
        SERVER,
    );
    assert_fails_exactly(&report, &["sender_only"]);
}

#[test]
#[ignore = "needs python3"]
fn a_udp_echo_server_that_answers_from_a_new_socket_fails_sender_only() {
    let report = python(
        Lesson::UdpEchoServer,
        "bad_udp_echo_server_new_socket.py",
        SERVER,
    );
    assert_fails_exactly(&report, &["sender_only"]);
    let detail = &report.check("sender_only").expect("the check").detail;
    assert!(
        detail.contains("reply with the socket that received"),
        "{detail}"
    );
}

#[test]
#[ignore = "needs python3"]
fn a_udp_echo_client_that_counts_its_sends_as_echoes_fails_counts() {
    let report = python(
        Lesson::UdpEchoClient,
        "bad_udp_echo_client_counts_sent.py",
        CLIENT,
    );
    assert_fails_exactly(&report, &["counts"]);
}

#[test]
#[ignore = "needs python3"]
fn a_udp_echo_client_that_waits_forever_for_a_lost_echo_fails_gives_up() {
    let report = python(
        Lesson::UdpEchoClient,
        "bad_udp_echo_client_waits_forever.py",
        CLIENT,
    );
    assert_fails_exactly(&report, &["gives_up"]);
    let detail = &report.check("gives_up").expect("the gives_up check").detail;
    assert!(detail.contains("was still running after 20 s"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn python_reference_connect_and_request_clients_pass() {
    assert_passes(&python(Lesson::Socket03, "good_socket_03.py", CLIENT));
    assert_passes(&python(
        Lesson::Socket04,
        "good_socket_04.py",
        &["{host}", "{port}", "/"],
    ));
}

#[test]
#[ignore = "needs python3"]
fn a_client_that_exits_with_0_after_a_refused_connect_fails_refused() {
    let report = python(Lesson::Socket03, "bad_socket_03_exit_0_on_error.py", CLIENT);
    assert_fails_exactly(&report, &["refused"]);
    let detail = &report.check("refused").expect("the refused check").detail;
    assert!(detail.contains("ended with exit code 0"), "{detail}");
}

#[test]
#[ignore = "needs python3"]
fn a_client_that_reports_its_own_side_fails_reports() {
    let report = python(
        Lesson::Socket03,
        "bad_socket_03_reports_own_side.py",
        CLIENT,
    );
    assert_fails_exactly(&report, &["reports"]);
}

#[test]
#[ignore = "needs python3"]
fn a_request_without_host_fails_host() {
    let report = python(
        Lesson::Socket04,
        "bad_socket_04_no_host.py",
        &["{host}", "{port}", "/"],
    );
    assert_fails_exactly(&report, &["host"]);
}

#[test]
#[ignore = "needs python3"]
fn a_request_with_bare_newlines_fails_request() {
    let report = python(
        Lesson::Socket04,
        "bad_socket_04_bare_newlines.py",
        &["{host}", "{port}", "/"],
    );
    assert_fails_exactly(&report, &["request"]);
    let detail = &report.check("request").expect("the request check").detail;
    assert!(detail.contains("CR LF"), "{detail}");
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
    let notes = std::fs::read_to_string(support::kit_root().join(path)).expect("the notes");
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

// ------------------------------------------------------------------------------ watch mode

/// A running `coursecheck watch`, killed and reaped when dropped; its stdout gathered as it comes.
#[cfg(unix)]
struct Watching {
    child: std::process::Child,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

#[cfg(unix)]
impl Watching {
    /// Waits up to `limit` until the output from byte `from` on holds `expected`; the output.
    fn wait_for(&self, expected: &str, from: usize, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let output = self.stdout.lock().expect("the output").clone();
            if output.get(from..).is_some_and(|new| new.contains(expected)) {
                return output;
            }
            assert!(
                Instant::now() < deadline,
                "no {expected:?} within {limit:?}; the output:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(unix)]
impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[cfg(unix)]
fn watch_reruns_the_checks_when_a_file_changes_and_says_what_flipped() {
    use std::io::Read;
    let folder = TempDir::new("coursecheck-watch");
    // socket_01's one check, with a shell script as the student's program: it says nothing yet.
    let program = folder.file("prog.sh", b"exit 0\n");
    let mut child = coursecheck_binary()
        .args(["watch", "socket_01", "--", "sh", "prog.sh"])
        .current_dir(folder.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start coursecheck watch");
    let mut pipe = child.stdout.take().expect("stdout is piped");
    let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stdout.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(count) = pipe.read(&mut buffer) {
            if count == 0 {
                break;
            }
            sink.lock()
                .expect("the output")
                .push_str(&String::from_utf8_lossy(&buffer[..count]));
        }
    });
    let watching = Watching { child, stdout };
    let first = watching.wait_for("Watching ", 0, Duration::from_secs(20));
    assert!(
        first.starts_with("\x1b[2J\x1b[H"),
        "no clear screen: {first:?}"
    );
    assert!(first.contains("0/1 checks passed"), "{first}");

    std::fs::write(&program, "echo 'Socket created'\n").expect("change the program");
    let all = watching.wait_for("❌→✅ created", first.len(), Duration::from_secs(20));
    let second = &all[first.len()..];
    assert!(
        second.starts_with("\x1b[2J\x1b[H"),
        "no clear screen: {second:?}"
    );
    assert!(second.contains("Changed: prog.sh"), "{second}");
    assert!(second.contains("1/1 checks passed"), "{second}");
}
