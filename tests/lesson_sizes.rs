//! The server lessons stay short enough to read beside the notes, each step one idea, and the
//! notes' table of their sizes says what the files say. (Sizes, not speed: nothing here is
//! timed.)

use std::collections::BTreeSet;

fn lesson(name: &str) -> String {
    let path = format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn notes(page: &str) -> String {
    let path = format!("{}/docs/{page}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The 1-based number of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.lines().position(|line| line.contains(needle));
    at.unwrap_or_else(|| panic!("no line contains {needle:?}")) + 1
}

/// Lines of code: not blank, not a comment.
fn is_code(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && !line.starts_with("//")
}

/// The lines `diff old new` adds (the longest common subsequence of the two files' lines is
/// kept), counting code lines only.
fn code_lines_added(old: &str, new: &str) -> usize {
    let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut added) = (0, 0, 0);
    while j < new.len() {
        if i < old.len() && old[i] == new[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < old.len() && common[i + 1][j] >= common[i][j + 1] {
            i += 1;
        } else {
            added += usize::from(is_code(new[j]));
            j += 1;
        }
    }
    added
}

/// Distinct code lines, outside the `//!` header, `use` lines and lone braces.
fn distinct_code_lines(text: &str) -> BTreeSet<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| is_code(line) && !line.starts_with("use "))
        .filter(|line| !matches!(*line, "{" | "}" | "};" | "})" | ");" | "},"))
        .collect()
}

#[test]
fn the_server_lessons_meet_their_size_targets_and_the_notes_say_so() {
    let (s04, s05, s06, s07) = (
        lesson("server_04"),
        lesson("server_05"),
        lesson("server_06"),
        lesson("server_07"),
    );
    let lines = |text: &str| text.lines().count();
    let spawn_in_run = line_of(&s05, ".spawn(move") - line_of(&s05, "fn run(");
    let poll_in_run = line_of(&s06, "poll.poll(") - line_of(&s06, "fn run(");
    let first_read = line_of(&s06, ".read_from(");
    let spawn_in_loop = line_of(&s07, "tasks.spawn(") - line_of(&s07, "async fn serve_clients(");
    let added = code_lines_added(&s04, &s05);
    let shared =
        &(&distinct_code_lines(&s05) & &distinct_code_lines(&s06)) & &distinct_code_lines(&s07);
    println!(
        "server_05 {} lines, spawn at line {spawn_in_run} of run; server_06 {} lines, poll at \
         line {poll_in_run} of run, first read at line {first_read}; server_07 {} lines; \
         server_04 -> 05 adds {added} code lines; {} shared: {shared:#?}",
        lines(&s05),
        lines(&s06),
        lines(&s07),
        shared.len()
    );
    assert!(lines(&s05) <= 200 && spawn_in_run <= 40);
    assert!(lines(&s06) <= 350 && first_read < 200);
    assert!(lines(&s07) <= 220);
    assert!(added <= 80);
    assert!(shared.len() <= 20);

    let said = [
        (
            "05-many-clients.md",
            [
                format!("line {spawn_in_run} of `run`"),
                format!("line {poll_in_run} of `run`"),
                format!("line {first_read} of the file"),
                format!("line {spawn_in_loop} of `serve_clients`"),
                format!("adds {added}"),
                format!("{} distinct code lines", shared.len()),
            ],
        ),
        (
            "es/05-many-clients.md",
            [
                format!("línea {spawn_in_run} de `run`"),
                format!("línea {poll_in_run} de `run`"),
                format!("línea {first_read} del archivo"),
                format!("línea {spawn_in_loop} de `serve_clients`"),
                format!("agrega {added}"),
                format!("{} líneas de código distintas", shared.len()),
            ],
        ),
    ];
    for (page, phrases) in said {
        let text = notes(page);
        for (file, count) in [
            ("server_05", &s05),
            ("server_06", &s06),
            ("server_07", &s07),
        ] {
            let row = format!("| `{file}.rs` | {} |", lines(count));
            assert!(text.contains(&row), "{page} has no row {row:?}");
        }
        for phrase in phrases {
            assert!(text.contains(&phrase), "{page} does not say {phrase:?}");
        }
    }
}
