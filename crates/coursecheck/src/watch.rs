//! `coursecheck watch LESSON -- COMMAND`: run the checks, then again each time a file in the
//! folder changes, as rustlings and cargo-watch do. Each run clears the screen, prints the
//! table and says which checks flipped since the run before.

use std::fmt::Write as _;
use std::path::{Component, Path};
use std::sync::mpsc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use crate::{Lang, Lesson, Options, Report, tr};

/// How long to wait after a change for the rest of a save (editors write several times).
const SETTLE: Duration = Duration::from_millis(300);

/// Folders whose changes never start a run: build output, caches and version control, which
/// the checked program itself (`cargo run`, Python's bytecode cache) writes while it runs.
const IGNORED: &[&str] = &["target", ".git", "__pycache__", "node_modules", ".venv"];

/// Whether a change at `path` (relative to the watched folder or not) should start a run.
fn counts(path: &Path) -> bool {
    !path.components().any(|component| match component {
        Component::Normal(name) => name
            .to_str()
            .is_some_and(|name| IGNORED.contains(&name) || name.ends_with('~')),
        _ => false,
    })
}

/// What changed from `before` to `now`: one line per check whose result flipped, or a line
/// saying none did.
pub fn changes(before: &Report, now: &Report, lang: Lang) -> String {
    let mut out = String::new();
    for check in &now.checks {
        let was = before.check(check.id).map(|old| old.passed);
        match (was, check.passed) {
            (Some(false), true) => {
                let _ = writeln!(
                    out,
                    "❌→✅ {}: {}",
                    check.id,
                    lang.pick("now passes", "ahora pasa")
                );
            }
            (Some(true), false) => {
                let _ = writeln!(
                    out,
                    "✅→❌ {}: {}",
                    check.id,
                    lang.pick("now fails", "ahora falla")
                );
            }
            _ => {}
        }
    }
    if out.is_empty() {
        out = format!(
            "{}\n",
            lang.pick(
                "No check changed since the last run.",
                "Ninguna prueba cambió desde la ejecución anterior."
            )
        );
    }
    out
}

/// Runs the checks of `lesson` on `command` now and after every change in `folder`, until the
/// process is stopped (Ctrl-C). It returns only when the folder cannot be watched, with the
/// sentence saying why.
pub fn watch(lesson: Lesson, command: &[String], options: &Options, folder: &Path) -> String {
    let lang = options.lang;
    let (events, changed) = mpsc::channel();
    let mut watcher = match notify::recommended_watcher(events) {
        Ok(watcher) => watcher,
        Err(error) => return watch_error(folder, &error, lang),
    };
    if let Err(error) = watcher.watch(folder, RecursiveMode::Recursive) {
        return watch_error(folder, &error, lang);
    }
    let mut previous: Option<Report> = None;
    let mut what_changed: Vec<String> = Vec::new();
    loop {
        let report = crate::check(lesson, command, options);
        let mut screen = String::from("\x1b[2J\x1b[H");
        if !what_changed.is_empty() {
            let _ = writeln!(
                screen,
                "{} {}\n",
                lang.pick("Changed:", "Cambió:"),
                what_changed.join(", ")
            );
        }
        screen.push_str(&report.to_table(lang));
        if let Some(before) = &previous {
            screen.push('\n');
            screen.push_str(&changes(before, &report, lang));
        }
        let _ = writeln!(
            screen,
            "\n{}",
            tr!(
                lang,
                "Watching {} for changes; Ctrl-C stops.",
                "Vigilando los cambios en {}; Ctrl-C para salir.",
                folder.display()
            )
        );
        print!("{screen}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        previous = Some(report);

        // Wait for a change that counts, then let the rest of the save arrive.
        what_changed.clear();
        while what_changed.is_empty() {
            let Ok(event) = changed.recv() else {
                return lang
                    .pick(
                        "The folder watcher stopped.",
                        "El vigilante de la carpeta se detuvo.",
                    )
                    .to_owned();
            };
            collect(event, folder, &mut what_changed);
            while let Ok(event) = changed.recv_timeout(SETTLE) {
                collect(event, folder, &mut what_changed);
            }
        }
    }
}

/// Adds the paths of `event` that count to `names`, relative to `folder`.
fn collect(event: notify::Result<notify::Event>, folder: &Path, names: &mut Vec<String>) {
    let Ok(event) = event else { return };
    if !matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    ) {
        return;
    }
    for path in event.paths {
        let relative = path.strip_prefix(folder).unwrap_or(&path);
        if counts(relative) {
            let name = relative.display().to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
}

fn watch_error(folder: &Path, error: &notify::Error, lang: Lang) -> String {
    tr!(
        lang,
        "cannot watch {} for changes: {}.",
        "no se pueden vigilar los cambios en {}: {}.",
        folder.display(),
        error
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_and_caches_never_start_a_run() {
        assert!(counts(Path::new("my_server.py")));
        assert!(counts(Path::new("src/main.rs")));
        assert!(!counts(Path::new("target/debug/my_server")));
        assert!(!counts(Path::new("__pycache__/my_server.cpython-311.pyc")));
        assert!(!counts(Path::new(".git/index")));
        assert!(!counts(Path::new("my_server.py~")));
    }

    fn report(results: &[(&'static str, bool)]) -> Report {
        Report {
            lesson: Lesson::Basics03,
            command: vec!["prog".to_owned()],
            passed: results.iter().all(|(_, passed)| *passed),
            checks: results
                .iter()
                .map(|&(id, passed)| crate::CheckResult {
                    id,
                    title: String::new(),
                    passed,
                    detail: String::new(),
                    output_tail: Vec::new(),
                    seconds: 0.0,
                })
                .collect(),
            notes: "docs/01-socket-utils.md",
        }
    }

    #[test]
    fn changes_name_each_check_that_flipped_and_only_those() {
        let before = report(&[
            ("port_names", false),
            ("protocol", true),
            ("no_name", false),
        ]);
        let now = report(&[
            ("port_names", true),
            ("protocol", false),
            ("no_name", false),
        ]);
        assert_eq!(
            changes(&before, &now, Lang::En),
            "❌→✅ port_names: now passes\n✅→❌ protocol: now fails\n"
        );
        assert_eq!(
            changes(&now, &now, Lang::Es),
            "Ninguna prueba cambió desde la ejecución anterior.\n"
        );
    }
}
