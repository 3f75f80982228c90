//! Grading a class: every subfolder of a directory is one submission, with a file
//! [`COMMAND_FILE`] holding the command line that starts it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::{Lang, Lesson, Options, Report, check, tr};

/// The file in each submission folder that holds the command to run, one line, with
/// `{port}` and `{host}` as on the checker's command line. Blank lines and lines starting
/// with `#` are skipped. Words are split at spaces; "double" or 'single' quotes keep spaces.
pub const COMMAND_FILE: &str = "check.cmd";

/// One submission's result: its report, or why it could not be checked.
#[derive(Debug)]
pub struct Submission {
    /// The folder's name.
    pub name: String,
    /// The report, or one sentence on why there is none (no command file, say).
    pub report: Result<Report, String>,
}

/// The results of a whole class.
#[derive(Debug)]
pub struct Summary {
    /// The lesson checked against.
    pub lesson: Lesson,
    /// One entry per submission folder, sorted by name.
    pub submissions: Vec<Submission>,
}

/// Splits a command line into words: spaces separate words, quotes keep spaces.
///
/// ```
/// let words = coursecheck::grade::split_command(r#"python3 "my server.py" --port {port}"#);
/// assert_eq!(words, ["python3", "my server.py", "--port", "{port}"]);
/// ```
pub fn split_command(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
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
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .map(split_command)
        .ok_or_else(|| {
            tr!(
                lang,
                "No command: {} has no command line.",
                "Sin comando: {} no tiene una línea de comando.",
                path.display()
            )
        })
}

/// Checks every submission folder in `dir` against `lesson`, one after another; each program
/// runs in its own folder.
pub fn grade(lesson: Lesson, dir: &Path, options: &Options) -> std::io::Result<Summary> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    let submissions = folders
        .into_iter()
        .map(|folder| {
            let name = folder
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let report = read_command(&folder, options.lang).map(|command| {
                let options = Options {
                    workdir: Some(folder.clone()),
                    ..options.clone()
                };
                check(lesson, &command, &options)
            });
            Submission { name, report }
        })
        .collect();
    Ok(Summary {
        lesson,
        submissions,
    })
}

impl Summary {
    /// One row per submission, one column per check (`pass`/`fail`), then the score, and
    /// `error` in every check column when the submission could not be run.
    pub fn to_csv(&self) -> String {
        let ids = self.lesson.check_ids();
        let mut out = String::from("submission,");
        for id in ids {
            out.push_str(id);
            out.push(',');
        }
        out.push_str("passed,total\n");
        for submission in &self.submissions {
            out.push_str(&csv_field(&submission.name));
            out.push(',');
            for id in ids {
                let cell = match &submission.report {
                    Ok(report) => match report.check(id) {
                        Some(check) if check.passed => "pass",
                        _ => "fail",
                    },
                    Err(_) => "error",
                };
                out.push_str(cell);
                out.push(',');
            }
            let (passed, total) = score(submission, ids.len());
            let _ = writeln!(out, "{passed},{total}");
        }
        out
    }

    /// The same table in Markdown, with ✅/❌ and each submission's first problem.
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
        for id in ids {
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
            for id in ids {
                let cell = match &submission.report {
                    Ok(report) => match report.check(id) {
                        Some(check) if check.passed => "✅",
                        _ => "❌",
                    },
                    Err(_) => "—",
                };
                let _ = write!(out, " {cell} |");
            }
            let (passed, total) = score(submission, ids.len());
            let problem = match &submission.report {
                Ok(report) => report
                    .checks
                    .iter()
                    .find(|check| !check.passed)
                    .map(|check| format!("{}: {}", check.id, check.detail))
                    .unwrap_or_default(),
                Err(error) => error.clone(),
            };
            let _ = writeln!(out, " {passed}/{total} | {} |", markdown_cell(&problem));
        }
        out
    }
}

fn score(submission: &Submission, total: usize) -> (usize, usize) {
    match &submission.report {
        Ok(report) => (
            report.checks.iter().filter(|check| check.passed).count(),
            total,
        ),
        Err(_) => (0, total),
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
