//! Grading a class: every subfolder of a directory is one submission, with a file
//! [`COMMAND_FILE`] holding the command line that starts it. Submissions are graded several
//! at a time; the results come out in the formats instructors' tools import.

use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::sandbox::Sandbox;
use crate::{Lang, Lesson, Options, Report, check, tr};

/// The file in each submission folder that holds the command to run, one line, with
/// `{port}` and `{host}` as on the checker's command line. Blank lines and lines starting
/// with `#` are skipped. The line is split into words as a POSIX shell does (see
/// [`split_command`]).
pub const COMMAND_FILE: &str = "check.cmd";

/// One submission's result: its report, or why it could not be checked.
#[derive(Debug)]
pub struct Submission {
    /// The folder's name.
    pub name: String,
    /// The report, or one sentence on why there is none (no command file, say).
    pub report: Result<Report, String>,
    /// How long grading it took, the sandbox's setup and cleanup included: what `--jobs`
    /// overlaps.
    pub elapsed: Duration,
}

impl Submission {
    /// How many checks passed, out of how many the lesson has.
    pub fn score(&self, lesson: Lesson) -> (usize, usize) {
        let total = lesson.check_ids().len();
        match &self.report {
            Ok(report) => (report.checks.iter().filter(|c| c.passed).count(), total),
            Err(_) => (0, total),
        }
    }

    /// The first failed check's id and sentence, or why the submission could not be run;
    /// empty when every check passed.
    pub fn first_problem(&self) -> String {
        match &self.report {
            Ok(report) => report
                .checks
                .iter()
                .find(|check| !check.passed)
                .map(|check| format!("{}: {}", check.id, check.detail))
                .unwrap_or_default(),
            Err(error) => error.clone(),
        }
    }
}

/// The results of a whole class.
#[derive(Debug)]
pub struct Summary {
    /// The lesson checked against.
    pub lesson: Lesson,
    /// One entry per submission folder, sorted by name.
    pub submissions: Vec<Submission>,
    /// How many submissions were graded at once.
    pub jobs: usize,
    /// How long grading took, start to end.
    pub elapsed: Duration,
    /// Whether each submission ran in a sandbox.
    pub sandboxed: bool,
}

/// Splits a command line into words as a POSIX shell does: spaces separate words, quotes
/// keep spaces, a backslash escapes the next character. `Err` names what is wrong (an
/// unclosed quote).
///
/// ```
/// let words = coursecheck::grade::split_command(r#"python3 "my server.py" --port {port}"#);
/// assert_eq!(words.unwrap(), ["python3", "my server.py", "--port", "{port}"]);
/// assert!(coursecheck::grade::split_command(r#"python3 "my server.py"#).is_err());
/// ```
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    shell_words::split(line).map_err(|error| error.to_string())
}

/// The command in `folder`'s [`COMMAND_FILE`].
pub fn read_command(folder: &Path, lang: Lang) -> Result<Vec<String>, String> {
    let path = folder.join(COMMAND_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| {
        tr!(
            lang,
            "No command: could not read {}: {}.",
            "Sin comando: no se pudo leer {}: {}.",
            path.display(),
            error
        )
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .ok_or_else(|| {
            tr!(
                lang,
                "No command: {} has no command line.",
                "Sin comando: {} no tiene una línea de comando.",
                path.display()
            )
        })?;
    split_command(line).map_err(|error| {
        tr!(
            lang,
            "No command: the line in {} cannot be split into words ({}): close every quote.",
            "Sin comando: la línea de {} no se puede separar en palabras ({}): cierra todas las comillas.",
            path.display(),
            error
        )
    })
}

/// How many submissions to grade at once by default: one per core.
pub fn default_jobs() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Checks every submission folder in `dir` against `lesson`, [`default_jobs`] at a time,
/// unconfined; each program runs in its own folder.
pub fn grade(lesson: Lesson, dir: &Path, options: &Options) -> std::io::Result<Summary> {
    grade_in_parallel(lesson, dir, options, default_jobs(), None, |_| {})
}

/// Checks every submission folder in `dir` against `lesson`, `jobs` submissions at a time,
/// each in `sandbox` when given (else unconfined, in its own folder), calling `progress` as
/// each one is done (in the order they finish). The summary is in folder order whatever
/// `jobs` is, so it is the same as a one-at-a-time run's.
pub fn grade_in_parallel(
    lesson: Lesson,
    dir: &Path,
    options: &Options,
    jobs: NonZeroUsize,
    sandbox: Option<&Sandbox>,
    progress: impl Fn(&Submission) + Sync,
) -> std::io::Result<Summary> {
    let started = Instant::now();
    // Absolute, so each program's working folder does not depend on where grading started.
    let dir = dir.canonicalize()?;
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(folders.len()));
    let workers = jobs.get().min(folders.len().max(1));
    std::thread::scope(|scope| {
        for slot in 0..workers {
            let (next, done, folders, progress) = (&next, &done, &folders, &progress);
            scope.spawn(move || {
                while let Some(folder) = folders.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let submission = grade_one(lesson, folder, options, sandbox, slot);
                    progress(&submission);
                    if let Ok(mut done) = done.lock() {
                        done.push(submission);
                    }
                }
            });
        }
    });
    let mut submissions = done
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    submissions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Summary {
        lesson,
        submissions,
        jobs: jobs.get(),
        elapsed: started.elapsed(),
        sandboxed: sandbox.is_some(),
    })
}

fn grade_one(
    lesson: Lesson,
    folder: &Path,
    options: &Options,
    sandbox: Option<&Sandbox>,
    slot: usize,
) -> Submission {
    let started = Instant::now();
    let name = folder
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = read_command(folder, options.lang).and_then(|command| match sandbox {
        Some(sandbox) => sandbox.check(lesson, folder, &command, slot, options),
        None => {
            let options = Options {
                workdir: Some(folder.to_path_buf()),
                ..options.clone()
            };
            Ok(check(lesson, &command, &options))
        }
    });
    Submission {
        name,
        report,
        elapsed: started.elapsed(),
    }
}

impl Summary {
    /// One row per submission, one column per check (`pass`/`fail`), then the score, and
    /// `error` in every check column when the submission could not be run.
    pub fn to_csv(&self) -> String {
        let ids = self.lesson.check_ids();
        let mut header = vec!["submission"];
        header.extend(&ids);
        header.extend(["passed", "total"]);
        let mut rows = vec![header.iter().map(|cell| cell.to_string()).collect()];
        for submission in &self.submissions {
            let mut row = vec![submission.name.clone()];
            for id in &ids {
                let cell = match &submission.report {
                    Ok(report) => match report.check(id) {
                        Some(check) if check.passed => "pass",
                        _ => "fail",
                    },
                    Err(_) => "error",
                };
                row.push(cell.to_owned());
            }
            let (passed, total) = submission.score(self.lesson);
            row.extend([passed.to_string(), total.to_string()]);
            rows.push(row);
        }
        write_csv(rows)
    }

    /// A grade CSV Moodle imports (Grades → Import → CSV file): one row per student, the
    /// folder name (map it to the username, email or ID number), the grade out of `points`
    /// (the share of checks passed), and the first problem as feedback.
    pub fn to_moodle_csv(&self, points: f64, lang: Lang) -> String {
        let lesson = self.lesson.name();
        let mut rows = vec![vec![
            "student".to_owned(),
            format!("coursecheck {lesson}"),
            format!("coursecheck {lesson} feedback"),
        ]];
        for submission in &self.submissions {
            let (passed, total) = submission.score(self.lesson);
            let grade = points_for(passed, total, points);
            let feedback = match submission.first_problem() {
                problem if problem.is_empty() => tr!(
                    lang,
                    "{}/{} checks passed.",
                    "{}/{} pruebas pasaron.",
                    passed,
                    total
                ),
                problem => tr!(
                    lang,
                    "{}/{} checks passed. First problem: {}",
                    "{}/{} pruebas pasaron. Primer problema: {}",
                    passed,
                    total,
                    problem
                ),
            };
            rows.push(vec![
                submission.name.clone(),
                format_points(grade),
                feedback,
            ]);
        }
        write_csv(rows)
    }

    /// JUnit XML: one test suite per submission, one test case per check, a failure with
    /// the check's sentence for each ❌, and an error case when the submission could not run.
    pub fn to_junit(&self) -> String {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
        let mut junit = quick_junit::Report::new(format!("coursecheck {}", self.lesson.name()));
        junit.set_time(self.elapsed);
        for submission in &self.submissions {
            let mut suite = TestSuite::new(submission.name.as_str());
            match &submission.report {
                Ok(report) => {
                    for check in &report.checks {
                        let status = if check.passed {
                            TestCaseStatus::success()
                        } else {
                            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                            status.set_message(check.detail.as_str());
                            status.set_description(check.output_tail.join("\n"));
                            status
                        };
                        let mut case = TestCase::new(check.id, status);
                        case.set_classname(format!("{}.{}", self.lesson.name(), submission.name));
                        case.set_time(Duration::from_secs_f64(check.seconds));
                        if check.passed {
                            case.set_system_out(check.detail.as_str());
                        }
                        suite.add_test_case(case);
                    }
                }
                Err(error) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(error.as_str());
                    let mut case = TestCase::new(COMMAND_FILE, status);
                    case.set_classname(format!("{}.{}", self.lesson.name(), submission.name));
                    suite.add_test_case(case);
                }
            }
            junit.add_test_suite(suite);
        }
        junit
            .to_string()
            .expect("JUnit XML is written to memory, which cannot fail")
    }

    /// The whole class as JSON: the lesson, how long grading took, and per submission its
    /// score, how long it took, and its report (or the error that kept it from running).
    pub fn to_json(&self) -> String {
        let submissions: Vec<_> = self
            .submissions
            .iter()
            .map(|submission| {
                let (passed, total) = submission.score(self.lesson);
                match &submission.report {
                    Ok(report) => json!({
                        "name": submission.name,
                        "passed": passed,
                        "total": total,
                        "seconds": submission.elapsed.as_secs_f64(),
                        "report": report,
                    }),
                    Err(error) => json!({
                        "name": submission.name,
                        "passed": passed,
                        "total": total,
                        "seconds": submission.elapsed.as_secs_f64(),
                        "error": error,
                    }),
                }
            })
            .collect();
        let summary = json!({
            "lesson": self.lesson,
            "jobs": self.jobs,
            "sandboxed": self.sandboxed,
            "seconds": self.elapsed.as_secs_f64(),
            "submissions": submissions,
        });
        serde_json::to_string_pretty(&summary).expect("a summary is always valid JSON")
    }

    /// The same table in Markdown, with ✅/❌ and each submission's first problem, then one
    /// line saying how long grading took.
    pub fn to_markdown(&self, lang: Lang) -> String {
        let ids = self.lesson.check_ids();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# {} {}\n",
            lang.pick("coursecheck results:", "Resultados de coursecheck:"),
            self.lesson.name()
        );
        let _ = write!(out, "| {} |", lang.pick("submission", "entrega"));
        for id in &ids {
            let _ = write!(out, " {id} |");
        }
        let _ = writeln!(
            out,
            " {} | {} |",
            lang.pick("score", "puntaje"),
            lang.pick("first problem", "primer problema")
        );
        out.push('|');
        for _ in 0..ids.len() + 3 {
            out.push_str("---|");
        }
        out.push('\n');
        for submission in &self.submissions {
            let _ = write!(out, "| {} |", markdown_cell(&submission.name));
            for id in &ids {
                let cell = match &submission.report {
                    Ok(report) => match report.check(id) {
                        Some(check) if check.passed => "✅",
                        _ => "❌",
                    },
                    Err(_) => "—",
                };
                let _ = write!(out, " {cell} |");
            }
            let (passed, total) = submission.score(self.lesson);
            let _ = writeln!(
                out,
                " {passed}/{total} | {} |",
                markdown_cell(&submission.first_problem())
            );
        }
        out.push('\n');
        let _ = writeln!(out, "{}", self.timing(lang));
        out
    }

    /// "Graded 12 submission(s) in 41.3 s, 2 at a time, each in a sandbox."
    fn timing(&self, lang: Lang) -> String {
        let how = match (self.sandboxed, lang) {
            (true, Lang::En) => "each in a sandbox",
            (false, Lang::En) => "unconfined (--no-sandbox)",
            (true, Lang::Es) => "cada una en un entorno aislado",
            (false, Lang::Es) => "sin aislamiento (--no-sandbox)",
        };
        tr!(
            lang,
            "Graded {} submission(s) in {} s, {} at a time, {}.",
            "Se calificaron {} entrega(s) en {} s, {} a la vez, {}.",
            self.submissions.len(),
            crate::seconds(self.elapsed, lang),
            self.jobs,
            how
        )
    }
}

/// `points` shared out over the checks: what `passed` of `total` checks are worth.
pub(crate) fn points_for(passed: usize, total: usize, points: f64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    points * passed as f64 / total as f64
}

/// Points with at most two decimals and no trailing zeros: `10`, `7.5`, `3.33`.
pub(crate) fn format_points(points: f64) -> String {
    let text = format!("{points:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn write_csv(rows: Vec<Vec<String>>) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(&row)
            .expect("a CSV row is written to memory, which cannot fail");
    }
    let bytes = writer
        .into_inner()
        .expect("a CSV in memory is always flushed");
    String::from_utf8(bytes).expect("the CSV is made of strings, so it is UTF-8")
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_shared_over_the_checks() {
        assert_eq!(format_points(points_for(5, 5, 10.0)), "10");
        assert_eq!(format_points(points_for(3, 4, 10.0)), "7.5");
        assert_eq!(format_points(points_for(1, 3, 10.0)), "3.33");
        assert_eq!(format_points(points_for(0, 7, 100.0)), "0");
    }

    #[test]
    fn command_lines_split_as_a_shell_splits_them() {
        assert_eq!(
            split_command(r"./run\ me 'a b' {port}").unwrap(),
            ["./run me", "a b", "{port}"]
        );
        assert!(split_command("python3 'server.py").is_err());
    }
}
