//! # coursecheck: check a homework program against what the lesson's program does
//!
//! The kit knows exactly how each lesson must behave on the wire. This crate turns that into
//! a checker that students and instructors run on their own programs, in any language:
//!
//! ```text
//! cargo install --path crates/coursecheck      # once, from the kit's folder
//! coursecheck server_05 -- python3 my_server.py --port {port}
//! coursecheck basics_05 -- ./my_sntp {host} {port}
//! ```
//!
//! For a server lesson the checker starts the program on a free loopback port and plays the
//! clients; for a client lesson it is the peer (an SNTP, HTTP or echo server on 127.0.0.1) and
//! reads what the program printed. Each check starts the program afresh, so one failure does
//! not hide the next, and every run is bounded in time: the program is killed and reaped at
//! the end of each check, whatever happened.
//!
//! The library is what the binary and the kit's own tests call: [`check`] runs every check of
//! one lesson and returns a [`Report`]; [`grade()`] runs a whole class, and
//! [`grade::grade_in_parallel`] does it several at a time, each submission in a
//! [`sandbox::Sandbox`] if given. Each lesson is one file under `src/lessons/`
//! (crates/coursecheck/README.md says how to add one).

#![deny(missing_docs)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use lessons::{Check, Role};

mod certificates;
mod clients;
pub mod grade;
mod lessons;
mod lookups;
mod program;
#[cfg(unix)]
pub mod sandbox;
/// Outside Unix there is no grading sandbox: `grade` says so and suggests `--no-sandbox`.
#[cfg(not(unix))]
pub mod sandbox {
    use std::path::Path;

    use crate::{Lang, Lesson, Options, Report};

    /// A sandbox, which cannot exist on this system.
    #[derive(Debug)]
    pub enum Sandbox {}

    impl Sandbox {
        /// Always the sentence saying why there is no sandbox here.
        pub fn new(_submissions: &Path, _out: &Path, lang: Lang) -> Result<Sandbox, String> {
            Err(crate::sandbox_needs_linux(lang))
        }

        /// Never called: no sandbox exists.
        pub fn check(
            &self,
            _lesson: Lesson,
            _folder: &Path,
            _command: &[String],
            _slot: usize,
            _options: &Options,
        ) -> Result<Report, String> {
            match *self {}
        }
    }
}

/// Why `grade` cannot sandbox submissions on this system, and what to do instead.
pub(crate) fn sandbox_needs_linux(lang: Lang) -> String {
    tr!(
        lang,
        "grade runs each submission in a sandbox, which needs Linux with bubblewrap: grade on Linux, or grade with --no-sandbox to run the submissions unconfined, on purpose.",
        "grade ejecuta cada entrega en un entorno aislado, que necesita Linux con bubblewrap: califica en Linux, o califica con --no-sandbox para ejecutar las entregas sin aislamiento, a propósito."
    )
}
mod servers;
mod timeparse;
pub mod watch;
mod wire;

pub use grade::grade;
pub use lessons::Lesson;
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
/// Exported for the `coursecheck` binary's own sentences only.
#[doc(hidden)]
#[macro_export]
macro_rules! tr {
    ($lang:expr, $en:literal, $es:literal $(, $arg:expr)* $(,)?) => {
        match $lang {
            $crate::Lang::En => format!($en $(, $arg)*),
            $crate::Lang::Es => format!($es $(, $arg)*),
        }
    };
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
    /// The ids of the checks to run; every check of the lesson when empty. A client lesson
    /// runs the program as usual and reports only these.
    pub only: Vec<String>,
    /// Set only in a checker that runs inside a grading sandbox: the program runs as this
    /// user with these limits, and every process left behind is killed after each check.
    #[cfg(unix)]
    pub sandboxed: Option<sandbox::Limits>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(10),
            lang: Lang::En,
            workdir: None,
            only: Vec::new(),
            #[cfg(unix)]
            sandboxed: None,
        }
    }
}

impl Options {
    /// Whether the check with this id is to run.
    pub(crate) fn selects(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == id)
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

    /// The report as a Gradescope autograder's `results.json`: one test per check, worth
    /// `points` shared out over the checks, its sentence and the program's last lines as
    /// output, and the overall score.
    pub fn to_gradescope(&self, points: f64, lang: Lang) -> String {
        let total = self.lesson.check_ids().len();
        let each = grade::points_for(1, total, points);
        let tests: Vec<_> = self
            .checks
            .iter()
            .map(|check| {
                let mut output = check.detail.clone();
                for line in &check.output_tail {
                    output.push('\n');
                    output.push_str(line);
                }
                serde_json::json!({
                    "name": format!("{}: {}", check.id, check.title),
                    "score": if check.passed { each } else { 0.0 },
                    "max_score": each,
                    "status": if check.passed { "passed" } else { "failed" },
                    "output": output,
                })
            })
            .collect();
        let passed = self.checks.iter().filter(|check| check.passed).count();
        let results = serde_json::json!({
            "score": grade::points_for(passed, total, points),
            "output": tr!(
                lang,
                "{}/{} checks passed. Notes: {}",
                "{}/{} pruebas pasaron. Notas: {}",
                passed,
                self.checks.len(),
                self.notes
            ),
            "tests": tests,
        });
        serde_json::to_string_pretty(&results).expect("a report is always valid JSON")
    }

    /// The report as JUnit XML: one test suite named `name`, one test case per check.
    pub fn to_junit(&self, name: &str) -> String {
        let elapsed = Duration::from_secs_f64(self.checks.iter().map(|check| check.seconds).sum());
        grade::Summary {
            lesson: self.lesson,
            submissions: vec![grade::Submission {
                name: name.to_owned(),
                report: Ok(self.clone()),
                elapsed,
            }],
            jobs: 1,
            sandboxed: false,
            elapsed,
        }
        .to_junit()
    }

    /// Reads back a report of `lesson` that [`Report::to_json`] wrote (a checker inside a
    /// grading sandbox sends it out this way). Check ids are matched to the lesson's, so a
    /// report naming a check the lesson lacks is refused.
    pub fn from_json(lesson: Lesson, json: &[u8], lang: Lang) -> Result<Report, String> {
        #[derive(serde::Deserialize)]
        struct Written {
            command: Vec<String>,
            checks: Vec<WrittenCheck>,
        }
        #[derive(serde::Deserialize)]
        struct WrittenCheck {
            id: String,
            title: String,
            passed: bool,
            detail: String,
            output_tail: Vec<String>,
            seconds: f64,
        }
        let written: Written = serde_json::from_slice(json).map_err(|error| error.to_string())?;
        let ids = lesson.check_ids();
        let checks = written
            .checks
            .into_iter()
            .map(|check| {
                let id = ids
                    .iter()
                    .find(|id| **id == check.id)
                    .ok_or_else(|| format!("{} has no check {}", lesson.name(), check.id))?;
                Ok(CheckResult {
                    id,
                    title: check.title,
                    passed: check.passed,
                    detail: check.detail,
                    output_tail: check.output_tail,
                    seconds: check.seconds,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Report {
            lesson,
            command: written.command,
            passed: checks.iter().all(|check| check.passed),
            checks,
            notes: lesson.notes(lang),
        })
    }

    /// The report as pretty-printed JSON (see docs/checking-homework.md for the fields).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report is always valid JSON")
    }
}

/// Runs every check of `lesson` on the program started by `command` (its first word is the
/// program, the rest its arguments; `{port}` and `{host}` are replaced in each).
pub fn check(lesson: Lesson, command: &[String], options: &Options) -> Report {
    let mut checks = match &lesson.def().role {
        Role::Server(server) => servers::run(server, command, options),
        Role::OneStepServer { run, .. } | Role::Client { run, .. } => run(command, options),
    };
    checks.retain(|check| options.selects(check.id));
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
    check: Check,
    lang: Lang,
    started: Instant,
    outcome: Outcome,
    output_tail: Vec<String>,
) -> CheckResult {
    let passed = outcome.is_ok();
    CheckResult {
        id: check.id,
        title: check.title.pick(lang).to_owned(),
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

/// A duration in seconds with one decimal, written as the report's language writes numbers:
/// `1.5` in English, `1,5` in Spanish.
pub(crate) fn seconds(duration: Duration, lang: Lang) -> String {
    let text = format!("{:.1}", duration.as_secs_f64());
    match lang {
        Lang::En => text,
        Lang::Es => text.replace('.', ","),
    }
}
