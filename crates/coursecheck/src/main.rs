//! `coursecheck`: check a homework program against what a socket-lessons lesson does.
//! See docs/checking-homework.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use coursecheck::{Lang, Lesson, Options};

const EXAMPLES: &str = "\
Examples:
  coursecheck server_05 -- python3 my_server.py --port {port}
  coursecheck echo_server -- ./target/debug/my_echo {port}
  coursecheck socket_05 -- python3 my_client.py {host} {port} /
  coursecheck basics_05 -- ./my_sntp {host} {port}
  coursecheck grade server_05 submissions/      (each folder holds a check.cmd)

{port} becomes the port the program must use, {host} becomes 127.0.0.1.
Exit status: 0 when every check passes, 1 when one fails, 2 on a usage error.
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
    /// The command that starts the program, after `--`; {port} and {host} are replaced.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    program: Vec<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Clone)]
struct Common {
    /// Print the report as JSON, for grading scripts.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds one check may take, the program's start included.
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// The language of the report [default: Spanish if LANG or LC_ALL starts with "es"].
    #[arg(long, global = true, value_enum)]
    lang: Option<Lang>,
}

#[derive(Subcommand)]
enum Command {
    /// Check every submission folder in DIR (each with a check.cmd file holding its command)
    /// and write a Markdown and a CSV summary.
    Grade {
        /// The lesson whose behaviour the programs must match.
        #[arg(value_enum)]
        lesson: Lesson,
        /// The folder that holds one subfolder per submission.
        dir: PathBuf,
        /// Where to write coursecheck-LESSON.md and coursecheck-LESSON.csv [default: DIR].
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
        workdir: None,
    };
    match cli.command {
        Some(Command::Grade { lesson, dir, out }) => grade(lesson, &dir, out, &options),
        None => {
            let Some(lesson) = cli.lesson else {
                return ExitCode::from(2);
            };
            let report = coursecheck::check(lesson, &cli.program, &options);
            if cli.common.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_table(lang));
            }
            if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn grade(
    lesson: Lesson,
    dir: &std::path::Path,
    out: Option<PathBuf>,
    options: &Options,
) -> ExitCode {
    let lang = options.lang;
    let summary = match coursecheck::grade(lesson, dir, options) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("error: could not read {}: {error}", dir.display());
            return ExitCode::from(2);
        }
    };
    let out = out.unwrap_or_else(|| dir.to_path_buf());
    let markdown = summary.to_markdown(lang);
    let files = [
        (
            out.join(format!("coursecheck-{}.md", lesson.name())),
            markdown.clone(),
        ),
        (
            out.join(format!("coursecheck-{}.csv", lesson.name())),
            summary.to_csv(),
        ),
    ];
    for (path, text) in &files {
        if let Err(error) = std::fs::write(path, text) {
            eprintln!("error: could not write {}: {error}", path.display());
            return ExitCode::from(2);
        }
    }
    print!("{markdown}");
    println!();
    for (path, _) in &files {
        println!("{} {}", lang.pick("wrote", "se escribió"), path.display());
    }
    ExitCode::SUCCESS
}
