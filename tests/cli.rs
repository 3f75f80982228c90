//! The command-line convention every lesson keeps: `--help` works and shows the defaults,
//! a bad flag is a usage error (exit code 2).

mod support;

use support::run_lesson;

/// Every program in examples/, read from the directory so a new lesson is checked too.
fn all_lessons() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("examples/ exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs")?.to_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 3, "found only {names:?}");
    names
}

#[test]
fn every_lesson_explains_itself_with_help() {
    for name in all_lessons() {
        let run = run_lesson(&name, &["--help"]);
        run.assert_code(0);
        assert!(run.stdout.contains("Usage: "), "{name} --help: {run:#?}");
    }
}

#[test]
fn every_lesson_rejects_an_unknown_flag_with_code_2() {
    for name in all_lessons() {
        let run = run_lesson(&name, &["--no-such-flag"]);
        run.assert_code(2);
        assert!(run.stderr.contains("--no-such-flag"), "{name}: {run:#?}");
    }
}

#[test]
fn help_shows_the_course_defaults() {
    let run = run_lesson("basics_02", &["--help"]);
    assert!(run.stdout.contains("[default: www.google.com]"), "{run:#?}");
    let run = run_lesson("basics_03", &["--help"]);
    assert!(run.stdout.contains("25/tcp"), "{run:#?}");
}
