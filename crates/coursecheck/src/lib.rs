//! # coursecheck: check a homework program against what the lesson's program does
//!
//! The kit knows exactly how each lesson must behave on the wire. This crate turns that into
//! a checker that students and instructors run on their own programs, in any language:
//!
//! ```text
//! cargo run -p coursecheck -- server_05 -- python3 my_server.py --port {port}
//! cargo run -p coursecheck -- basics_05 -- ./my_sntp {host} {port}
//! ```
//!
//! For a server lesson the checker starts the program on a free loopback port and plays the
//! clients; for a client lesson it is the peer (an SNTP, HTTP or echo server on 127.0.0.1) and
//! reads what the program printed. Each check starts the program afresh, so one failure does
//! not hide the next, and every run is bounded in time: the program is killed and reaped at
//! the end of each check, whatever happened.
//!
//! The library is what the binary and the kit's own tests call: [`check`] runs every check of
//! one lesson and returns a [`Report`]; [`grade()`] runs a whole class.

#![deny(missing_docs)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

mod clients;
pub mod grade;
mod program;
mod servers;
mod timeparse;
mod wire;

pub use grade::grade;
pub use program::stop_all_programs;
/// The JSON library [`Report::to_json`] writes with, for programs that read the report back.
pub use serde_json;
pub use timeparse::times_in;

/// The language of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// Spanish (Colombia).
    Es,
}

impl Lang {
    /// `explicit` if given; otherwise Spanish when `LC_ALL`, `LC_MESSAGES` or `LANG` (the first
    /// one set, as the C library reads them) starts with `es`; otherwise English.
    pub fn detect(explicit: Option<Lang>) -> Lang {
        if let Some(lang) = explicit {
            return lang;
        }
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty())
            .unwrap_or_default();
        if locale.to_ascii_lowercase().starts_with("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }

    /// `en` or `es`, whichever is this language.
    pub fn pick<'a>(self, en: &'a str, es: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Es => es,
        }
    }
}

/// One sentence in the report's language: `tr!(lang, "english {}", "español {}", args…)`.
macro_rules! tr {
    ($lang:expr, $en:literal, $es:literal $(, $arg:expr)* $(,)?) => {
        match $lang {
            $crate::Lang::En => format!($en $(, $arg)*),
            $crate::Lang::Es => format!($es $(, $arg)*),
        }
    };
}
pub(crate) use tr;

/// A lesson the checker knows: what the program under test must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
pub enum Lesson {
    /// A server that accepts one client, sends back what one read received, and closes.
    #[value(name = "server_03")]
    #[serde(rename = "server_03")]
    Server03,
    /// A server that serves clients one after another, forever, replying "OK..." + what one read received.
    #[value(name = "server_04")]
    #[serde(rename = "server_04")]
    Server04,
    /// A server with a thread per client: a welcome line, then "OK..." + each line.
    #[value(name = "server_05")]
    #[serde(rename = "server_05")]
    Server05,
    /// An echo server: every byte back, unchanged, until the client closes.
    #[value(name = "echo_server")]
    #[serde(rename = "echo_server")]
    EchoServer,
    /// An NTP client (a library call is fine) that prints the server's time.
    #[value(name = "basics_04")]
    #[serde(rename = "basics_04")]
    Basics04,
    /// An SNTP client by hand (48 bytes over UDP) that prints the server's transmit time.
    #[value(name = "basics_05")]
    #[serde(rename = "basics_05")]
    Basics05,
    /// An HTTP client that receives the whole response and prints its body.
    #[value(name = "socket_05")]
    #[serde(rename = "socket_05")]
    Socket05,
    /// An echo client: sends a message, reads the whole echo back, prints it.
    #[value(name = "echo_client")]
    #[serde(rename = "echo_client")]
    EchoClient,
}

impl Lesson {
    /// Every lesson, in course order.
    pub const ALL: [Lesson; 8] = [
        Lesson::Basics04,
        Lesson::Basics05,
        Lesson::Socket05,
        Lesson::Server03,
        Lesson::Server04,
        Lesson::Server05,
        Lesson::EchoServer,
        Lesson::EchoClient,
    ];

    /// The lesson's name, as on the command line: `server_05`.
    pub fn name(self) -> &'static str {
        match self {
            Lesson::Server03 => "server_03",
            Lesson::Server04 => "server_04",
            Lesson::Server05 => "server_05",
            Lesson::EchoServer => "echo_server",
            Lesson::Basics04 => "basics_04",
            Lesson::Basics05 => "basics_05",
            Lesson::Socket05 => "socket_05",
            Lesson::EchoClient => "echo_client",
        }
    }

    /// The lesson named `name`, if the checker knows it.
    pub fn from_name(name: &str) -> Option<Lesson> {
        Lesson::ALL.into_iter().find(|lesson| lesson.name() == name)
    }

    /// Whether the program under test is a server (the checker plays the clients).
    pub fn is_server(self) -> bool {
        matches!(
            self,
            Lesson::Server03 | Lesson::Server04 | Lesson::Server05 | Lesson::EchoServer
        )
    }

    /// The course notes that explain the lesson, relative to the repository root.
    pub fn notes(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Lesson::Basics04 | Lesson::Basics05, Lang::En) => "docs/02-time.md",
            (Lesson::Basics04 | Lesson::Basics05, Lang::Es) => "docs/es/02-time.md",
            (Lesson::Socket05, Lang::En) => "docs/03-http-client.md",
            (Lesson::Socket05, Lang::Es) => "docs/es/03-http-client.md",
            (_, Lang::En) => "docs/04-tcp-server.md",
            (_, Lang::Es) => "docs/es/04-tcp-server.md",
        }
    }

    /// The ids of the checks run for this lesson, in order: the columns of a grading summary.
    pub fn check_ids(self) -> &'static [&'static str] {
        match self {
            Lesson::Server03 => servers::SERVER_03,
            Lesson::Server04 => servers::SERVER_04,
            Lesson::Server05 => servers::SERVER_05,
            Lesson::EchoServer => servers::ECHO_SERVER,
            Lesson::Basics04 | Lesson::Basics05 => clients::SNTP,
            Lesson::Socket05 => clients::HTTP,
            Lesson::EchoClient => clients::ECHO_CLIENT,
        }
    }
}

/// How to run the checks.
#[derive(Debug, Clone)]
pub struct Options {
    /// The most one check may take, the program's start included.
    pub timeout: Duration,
    /// The language of the sentences in the report.
    pub lang: Lang,
    /// The directory the program runs in (the checker's own when `None`).
    pub workdir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(10),
            lang: Lang::En,
            workdir: None,
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// A stable identifier, the same in every language: `split_line`.
    pub id: &'static str,
    /// What the check tries, in a few words, in the report's language.
    pub title: String,
    /// Whether the program did what the lesson does.
    pub passed: bool,
    /// One sentence: what was expected and what came back.
    pub detail: String,
    /// The last lines the program printed (`out| …` for stdout, `err| …` for stderr), kept
    /// when the check failed.
    pub output_tail: Vec<String>,
    /// How long the check took, in seconds.
    pub seconds: f64,
}

/// Everything the checker found about one program.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The lesson checked against.
    pub lesson: Lesson,
    /// The command line, with `{port}` and `{host}` still in it.
    pub command: Vec<String>,
    /// Whether every check passed.
    pub passed: bool,
    /// Each check, in order.
    pub checks: Vec<CheckResult>,
    /// The notes to read when a check fails.
    pub notes: &'static str,
}

impl Report {
    /// The check with this id, if the lesson has it.
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|check| check.id == id)
    }

    /// The ids of the checks that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|check| !check.passed)
            .map(|check| check.id)
            .collect()
    }

    /// The report as a table for a terminal, with the program's last lines under each failure
    /// and a pointer to the notes.
    pub fn to_table(&self, lang: Lang) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {} — {}",
            lang.pick("Checking", "Revisando"),
            self.lesson.name(),
            self.command.join(" ")
        );
        out.push('\n');
        for check in &self.checks {
            let mark = if check.passed { "✅" } else { "❌" };
            let _ = writeln!(out, "{mark} {:<17} {}", check.id, check.title);
            let _ = writeln!(out, "   {}", check.detail);
            if !check.output_tail.is_empty() {
                let _ = writeln!(
                    out,
                    "   {}",
                    lang.pick(
                        "the program's last lines:",
                        "las últimas líneas del programa:"
                    )
                );
                for line in &check.output_tail {
                    let _ = writeln!(out, "     {line}");
                }
            }
        }
        out.push('\n');
        let passed = self.checks.iter().filter(|check| check.passed).count();
        let total = self.checks.len();
        if self.passed {
            let _ = writeln!(
                out,
                "{}",
                tr!(
                    lang,
                    "{}/{} checks passed: the program does what {} does.",
                    "{}/{} pruebas pasaron: el programa hace lo mismo que {}.",
                    passed,
                    total,
                    self.lesson.name()
                )
            );
        } else {
            let _ = writeln!(
                out,
                "{}",
                tr!(
                    lang,
                    "{}/{} checks passed. Hint: read the notes for {} in {} and compare with the sentence under each ❌.",
                    "{}/{} pruebas pasaron. Pista: lee las notas de {} en {} y compara con la frase debajo de cada ❌.",
                    passed,
                    total,
                    self.lesson.name(),
                    self.notes
                )
            );
        }
        out
    }

    /// The report as pretty-printed JSON (see docs/checking-homework.md for the fields).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report is always valid JSON")
    }
}

/// Runs every check of `lesson` on the program started by `command` (its first word is the
/// program, the rest its arguments; `{port}` and `{host}` are replaced in each).
pub fn check(lesson: Lesson, command: &[String], options: &Options) -> Report {
    let checks = match lesson {
        Lesson::Server03 | Lesson::Server04 | Lesson::Server05 | Lesson::EchoServer => {
            servers::run(lesson, command, options)
        }
        Lesson::Basics04 | Lesson::Basics05 => clients::run_sntp(command, options),
        Lesson::Socket05 => clients::run_http(command, options),
        Lesson::EchoClient => clients::run_echo_client(command, options),
    };
    Report {
        lesson,
        command: command.to_vec(),
        passed: checks.iter().all(|check| check.passed),
        checks,
        notes: lesson.notes(options.lang),
    }
}

/// What a check found: `Ok(sentence)` when it passed, `Err(sentence)` when it did not.
pub(crate) type Outcome = Result<String, String>;

/// Builds a [`CheckResult`] from a check's outcome and the program's output.
pub(crate) fn result(
    id: &'static str,
    title: String,
    started: Instant,
    outcome: Outcome,
    output_tail: Vec<String>,
) -> CheckResult {
    let passed = outcome.is_ok();
    CheckResult {
        id,
        title,
        passed,
        detail: outcome.unwrap_or_else(|error| error),
        output_tail: if passed { Vec::new() } else { output_tail },
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Bytes as readable text for a sentence: printable ASCII as is, the rest escaped (`\n`,
/// `\xff`), cut after `limit` characters.
pub(crate) fn show(bytes: &[u8], limit: usize) -> String {
    let escaped: String = bytes.escape_ascii().to_string();
    if escaped.chars().count() <= limit {
        format!("\"{escaped}\"")
    } else {
        let cut: String = escaped.chars().take(limit).collect();
        format!("\"{cut}…\" ({} bytes)", bytes.len())
    }
}
