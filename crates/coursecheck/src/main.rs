//! `coursecheck`: check a homework program against what a socket-lessons lesson does.
//! See docs/checking-homework.md.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use coursecheck::grade::{Summary, grade_in_parallel};
use coursecheck::sandbox::Sandbox;
use coursecheck::{Lang, Lesson, Options, tr};

const EXAMPLES: &str = "\
Examples:
  coursecheck server_05 -- python3 my_server.py --port {port}
  coursecheck echo_server -- ./target/debug/my_echo {port}
  coursecheck socket_05 -- python3 my_client.py {host} {port} /
  coursecheck socket_06 -- python3 my_https_client.py localhost {port} / --ca {ca}
  coursecheck https_server -- python3 my_https_server.py --port {port} --cert {cert} --key {key}
  coursecheck basics_05 -- ./my_sntp {host} {port}
  coursecheck basics_02 -- python3 my_lookup.py {name}
  coursecheck basics_03 -- python3 my_services.py {query}
  coursecheck server_05 --format gradescope -- python3 server.py --port {port}
  coursecheck grade server_05 submissions/      (each folder holds a check.cmd)
  coursecheck watch server_05 -- python3 my_server.py --port {port}
                                   (again each time a file in this folder changes)

{port} becomes the port the program must use, {host} becomes 127.0.0.1; for basics_02 and
socket_02, {name} becomes the host name to resolve (localhost, ::1, a name that does not
exist), for basics_03 {query} becomes one query (25/tcp, ntp/udp, ...), for socket_06 {ca}
becomes a file with the certificate of the authority to trust, and for https_server {cert}
and {key} become the files of the certificate chain to show and its key. The program runs
in the folder coursecheck is run from (grade: in each submission's folder).
Install once from the kit: cargo install --path crates/coursecheck
Exit status: 0 when every check passes, 1 when one fails, 2 on a usage error.
grade runs each submission in a sandbox (Linux, bubblewrap, root; --no-sandbox to run them
unconfined). Its exit status: 0 when every submission was graded and every file written
(whatever the scores), 1 when grading itself could not be done, 2 on a usage error.
Guide: docs/checking-homework.md";

/// Check a homework program against what the lesson's program does: the checker plays the
/// clients of a server, or the server of a client, on 127.0.0.1 only.
#[derive(Parser)]
#[command(
    name = "coursecheck",
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The lesson whose behaviour the program must match.
    #[arg(value_enum, required = true)]
    lesson: Option<Lesson>,
    /// The command that starts the program, after `--`; {port}, {host}, {name}, {query},
    /// {ca}, {cert} and {key} are replaced.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    program: Vec<String>,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Run only this check (repeat for several); its id as in the report.
    #[arg(long, value_name = "ID")]
    only: Vec<String>,
    /// Set by grade for the checker it runs inside a submission's sandbox: the program's
    /// user and limits (see coursecheck::sandbox::Limits).
    #[cfg(unix)]
    #[arg(long, hide = true, value_name = "LIMITS", value_parser = coursecheck::sandbox::Limits::parse)]
    sandboxed: Option<coursecheck::sandbox::Limits>,
    #[command(flatten)]
    common: Common,
}

/// The forms a single program's report can take.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The table for a terminal.
    Table,
    /// The report as JSON, for scripts (the same as --json).
    Json,
    /// Gradescope's results.json (score and one test per check).
    Gradescope,
    /// JUnit XML, for CI systems.
    Junit,
}

#[derive(Args, Clone)]
struct Common {
    /// Print JSON: the report (or, with grade, the whole class) instead of the table.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds one check may take, the program's start included.
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// The language of the report [default: Spanish if LANG or LC_ALL starts with "es"].
    #[arg(long, global = true, value_enum)]
    lang: Option<Lang>,
    /// The points a program that passes every check gets, shared out equally over the
    /// checks (Gradescope, Moodle) [default: one point per check].
    #[arg(long, global = true, value_parser = parse_points)]
    points: Option<f64>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the checks, then again each time a file in the current folder changes (Ctrl-C
    /// stops), clearing the screen and saying which checks flipped since the last run.
    Watch {
        /// The lesson whose behaviour the program must match.
        #[arg(value_enum)]
        lesson: Lesson,
        /// The command that starts the program, after `--`, as for a single check.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        program: Vec<String>,
    },
    /// Check every submission folder in DIR (each with a check.cmd file holding its command),
    /// several at a time, print a Markdown table and write it with CSV, JSON, JUnit and
    /// Moodle summaries.
    Grade {
        /// The lesson whose behaviour the programs must match.
        #[arg(value_enum)]
        lesson: Lesson,
        /// The folder that holds one subfolder per submission.
        dir: PathBuf,
        /// Where to write the coursecheck-LESSON.* files; created if missing [default: DIR].
        #[arg(long)]
        out: Option<PathBuf>,
        /// How many submissions to grade at once [default: the number of cores].
        #[arg(long)]
        jobs: Option<NonZeroUsize>,
        /// Run the submissions unconfined, as you, instead of each in a sandbox (bubblewrap,
        /// Linux, root): only for programs you have read and trust.
        #[arg(long)]
        no_sandbox: bool,
    },
}

fn parse_points(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(points) if points.is_finite() && points > 0.0 => Ok(points),
        _ => Err(format!("{text} is not a positive number of points")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C must not leave the program under test running and holding its port.
    let _ = ctrlc::set_handler(|| {
        coursecheck::stop_all_programs();
        std::process::exit(130);
    });
    let lang = Lang::detect(cli.common.lang);
    let options = Options {
        timeout: Duration::from_secs(cli.common.timeout),
        lang,
        ..Options::default()
    };
    match cli.command {
        Some(Command::Watch { lesson, program }) => {
            let folder = match std::env::current_dir() {
                Ok(folder) => folder,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::FAILURE;
                }
            };
            let why = coursecheck::watch::watch(lesson, &program, &options, &folder);
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
        Some(Command::Grade {
            lesson,
            dir,
            out,
            jobs,
            no_sandbox,
        }) => grade(lesson, &dir, out, jobs, no_sandbox, &cli.common, &options),
        None => {
            let Some(lesson) = cli.lesson else {
                return ExitCode::from(2);
            };
            let known = lesson.check_ids();
            if let Some(unknown) = cli.only.iter().find(|id| !known.contains(&id.as_str())) {
                eprintln!(
                    "{}",
                    tr!(
                        lang,
                        "error: {} has no check {}; its checks are: {}.",
                        "error: {} no tiene la prueba {}; sus pruebas son: {}.",
                        lesson.name(),
                        unknown,
                        known.join(", ")
                    )
                );
                return ExitCode::from(2);
            }
            let options = Options {
                only: cli.only,
                #[cfg(unix)]
                sandboxed: cli.sandboxed,
                ..options
            };
            let report = coursecheck::check(lesson, &cli.program, &options);
            let points = cli.common.points.unwrap_or(known.len() as f64);
            let format = if cli.common.json {
                Format::Json
            } else {
                cli.format
            };
            match format {
                Format::Table => print!("{}", report.to_table(lang)),
                Format::Json => println!("{}", report.to_json()),
                Format::Gradescope => println!("{}", report.to_gradescope(points, lang)),
                Format::Junit => println!("{}", report.to_junit("program")),
            }
            if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Grades a class. Every problem that would lose the results is found before anything runs
/// (the folders), and the table reaches the terminal before the files are written, so a
/// failed write never loses a class's grading.
fn grade(
    lesson: Lesson,
    dir: &Path,
    out: Option<PathBuf>,
    jobs: Option<NonZeroUsize>,
    no_sandbox: bool,
    common: &Common,
    options: &Options,
) -> ExitCode {
    let lang = options.lang;
    let out = out.unwrap_or_else(|| dir.to_path_buf());
    if let Err(error) = std::fs::create_dir_all(&out) {
        eprintln!(
            "{}",
            tr!(
                lang,
                "error: cannot create the output folder {}: {}. Nothing was graded.",
                "error: no se puede crear la carpeta de salida {}: {}. No se calificó nada.",
                out.display(),
                error
            )
        );
        return ExitCode::FAILURE;
    }
    let sandbox = if no_sandbox {
        None
    } else {
        match Sandbox::new(dir, &out, lang) {
            Ok(sandbox) => Some(sandbox),
            Err(why) => {
                eprintln!("error: {why}");
                return ExitCode::FAILURE;
            }
        }
    };
    let jobs = jobs.unwrap_or_else(coursecheck::grade::default_jobs);
    let progress = |submission: &coursecheck::grade::Submission| {
        let (passed, total) = submission.score(lesson);
        eprintln!("{}: {passed}/{total}", submission.name);
    };
    let summary = match grade_in_parallel(lesson, dir, options, jobs, sandbox.as_ref(), progress) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!(
                "{}",
                tr!(
                    lang,
                    "error: cannot read the submissions folder {}: {}.",
                    "error: no se puede leer la carpeta de entregas {}: {}.",
                    dir.display(),
                    error
                )
            );
            return ExitCode::FAILURE;
        }
    };
    let markdown = summary.to_markdown(lang);
    let json = summary.to_json();
    if common.json {
        println!("{json}");
    } else {
        print!("{markdown}");
        println!();
    }
    let points = common.points.unwrap_or(lesson.check_ids().len() as f64);
    let mut failed = false;
    for (path, text) in outputs(&summary, &out, markdown, json, points, lang) {
        match std::fs::write(&path, text) {
            Ok(()) if !common.json => {
                eprintln!("{} {}", lang.pick("wrote", "se escribió"), path.display());
            }
            Ok(()) => {}
            Err(error) => {
                failed = true;
                eprintln!(
                    "{}",
                    tr!(
                        lang,
                        "error: could not write {}: {}.",
                        "error: no se pudo escribir {}: {}.",
                        path.display(),
                        error
                    )
                );
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every file `grade` writes, with its contents.
fn outputs(
    summary: &Summary,
    out: &Path,
    markdown: String,
    json: String,
    points: f64,
    lang: Lang,
) -> Vec<(PathBuf, String)> {
    let name = summary.lesson.name();
    vec![
        (out.join(format!("coursecheck-{name}.md")), markdown),
        (
            out.join(format!("coursecheck-{name}.csv")),
            summary.to_csv(),
        ),
        (out.join(format!("coursecheck-{name}.json")), json),
        (
            out.join(format!("coursecheck-{name}.junit.xml")),
            summary.to_junit(),
        ),
        (
            out.join(format!("coursecheck-{name}-moodle.csv")),
            summary.to_moodle_csv(points, lang),
        ),
    ]
}
