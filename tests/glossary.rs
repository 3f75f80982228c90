//! The Spanish notes hold to their glossary (issue 17): `docs/es/glosario.md` picks one term per
//! concept and lists the forms it rejects in its "no esto" column. This test reads that column
//! and fails, naming page and line, when a Spanish page (`docs/es/*.md`, `README.es.md`,
//! `docs/homework/README.es.md`) uses a rejected form as a whole word, case-insensitively.
//!
//! Not checked: code (fenced blocks other than `mermaid` diagrams, whose labels are Spanish
//! prose, and inline `code`), English glosses in single-asterisk italics (`*timeout*`), and link
//! targets. A rejected form inside a chosen term is fine ("saludo" in "saludo de tres vías").
//! Where the glossary's note says `la primera vez: "…"`, the gloss's parenthesis must appear on
//! each page no later than the line after the term's first use (a wrapped line).

use std::fs;
use std::path::{Path, PathBuf};

/// Pages not held to the glossary yet, each with its reason (printed, never silent): none
/// since the checker's own Spanish follows the glossary too.
const EXEMPT: &[(&str, &str)] = &[];

struct Entry {
    chosen: Vec<String>,
    rejected: Vec<String>,
    /// The gloss the first use needs, e.g. `tiempo de espera (*timeout*)`.
    first_use: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `"…"` in `cell`.
fn quoted(cell: &str) -> Vec<String> {
    cell.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Splits a Markdown table row into its cells, ignoring `|` inside backticks.
fn cells(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut in_code = false;
    for c in line
        .trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .chars()
    {
        match c {
            '`' => {
                in_code = !in_code;
                out.last_mut().unwrap().push(c);
            }
            '|' if !in_code => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

fn read_glossary() -> Vec<Entry> {
    let text = fs::read_to_string(root().join("docs/es/glosario.md")).expect("read glosario.md");
    let mut lines = text.lines().skip_while(|l| !l.starts_with("| en inglés"));
    let header = cells(lines.next().expect("the glossary's table header"));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("glosario.md: no column {name:?} in {header:?}"))
    };
    let (chosen_col, note_col, reject_col) = (col("en las notas"), col("nota"), col("no esto"));
    let mut entries = Vec::new();
    for line in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let row = cells(line);
        assert_eq!(row.len(), header.len(), "glosario.md: bad row {line:?}");
        let chosen = row[chosen_col]
            .split([',', '/'])
            .map(|t| t.replace('`', "").trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        let note = &row[note_col];
        let first_use = note
            .split_once("la primera vez: \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(gloss, _)| gloss.to_string());
        entries.push(Entry {
            chosen,
            rejected: quoted(&row[reject_col])
                .into_iter()
                .map(|r| r.to_lowercase())
                .collect(),
            first_use,
        });
    }
    assert!(
        entries.len() > 30,
        "glosario.md: only {} rows read",
        entries.len()
    );
    entries
}

/// The prose of a Markdown line: inline code, `*italic*` glosses and link targets blanked out
/// (replaced by spaces, so that words on either side stay apart).
fn prose(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let close = |delim: char, from: usize| chars[from..].iter().position(|&d| d == delim);
        if c == '`' {
            if let Some(n) = close('`', i + 1) {
                out.push(' ');
                i += n + 2;
                continue;
            }
        } else if c == '*' && chars.get(i + 1) != Some(&'*') && (i == 0 || chars[i - 1] != '*') {
            if let Some(n) = close('*', i + 1) {
                if n > 0 && chars.get(i + 1 + n + 1) != Some(&'*') {
                    out.push(' ');
                    i += n + 2;
                    continue;
                }
            }
        } else if c == ']' && chars.get(i + 1) == Some(&'(') {
            if let Some(n) = close(')', i + 1) {
                out.push(' ');
                i += n + 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out.to_lowercase()
}

/// Byte offsets where `word` occurs in `text` as a whole word.
fn whole_word(text: &str, word: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            found.push(start);
        }
        from = start + word.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// The page's lines to check, numbered from 1, with code blocks left out (mermaid kept).
fn prose_lines(text: &str) -> Vec<(usize, String, &str)> {
    let mut out = Vec::new();
    let mut fence: Option<bool> = None; // Some(is_mermaid) inside a fenced block
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = match fence {
                None => Some(t.trim_start_matches(['`', '~']).trim() == "mermaid"),
                Some(_) => None,
            };
            continue;
        }
        if fence == Some(false) || t.starts_with("<!--") {
            continue;
        }
        out.push((n + 1, prose(line), line));
    }
    out
}

fn spanish_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = fs::read_dir(root().join("docs/es"))
        .expect("read docs/es")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    for sub in ["docs/es/instructores", "docs/es/programas"] {
        if let Ok(dir) = fs::read_dir(root().join(sub)) {
            pages.extend(
                dir.map(|e| e.expect("dir entry").path())
                    .filter(|p| p.extension().is_some_and(|e| e == "md")),
            );
        }
    }
    pages.push(root().join("README.es.md"));
    pages.push(root().join("docs/homework/README.es.md"));
    pages.sort();
    pages
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The rejected forms used on `text`, as `line: form in "…"` messages.
fn violations(text: &str, glossary: &[Entry]) -> Vec<String> {
    let chosen: Vec<&String> = glossary.iter().flat_map(|e| &e.chosen).collect();
    let mut out = Vec::new();
    for (n, line, raw) in prose_lines(text) {
        // A rejected form that is part of a chosen term is the chosen term.
        let mut line = line;
        for term in &chosen {
            if term.contains(' ') {
                for at in whole_word(&line.clone(), term).into_iter().rev() {
                    line.replace_range(at..at + term.len(), &" ".repeat(term.len()));
                }
            }
        }
        for entry in glossary {
            for form in &entry.rejected {
                if !whole_word(&line, form).is_empty() {
                    out.push(format!(
                        "line {n}: {form:?} (use {:?}) in: {}",
                        entry.chosen.join(" / "),
                        raw.trim()
                    ));
                }
            }
        }
    }
    out
}

/// A glossed term whose first use on the page comes before its gloss.
fn missing_glosses(text: &str, glossary: &[Entry]) -> Vec<String> {
    let lines = prose_lines(text);
    let mut out = Vec::new();
    for entry in glossary {
        let Some(gloss) = &entry.first_use else {
            continue;
        };
        let term = &entry.chosen[0];
        let paren = gloss[gloss.find('(').expect("a gloss has a parenthesis")..].to_lowercase();
        let first_use = lines
            .iter()
            .find(|(_, line, _)| !whole_word(line, term).is_empty());
        let Some((use_line, _, raw)) = first_use else {
            continue;
        };
        let glossed = lines
            .iter()
            // The gloss may wrap onto the next line.
            .take_while(|(n, _, _)| *n <= use_line + 1)
            .any(|(_, _, raw)| raw.to_lowercase().contains(&paren));
        if !glossed {
            out.push(format!(
                "line {use_line}: first use of {term:?} without its gloss {gloss:?}: {}",
                raw.trim()
            ));
        }
    }
    out
}

#[test]
fn spanish_pages_use_only_the_glossary_terms() {
    let glossary = read_glossary();
    let mut failures = Vec::new();
    let mut checked = 0;
    for page in spanish_pages() {
        let name = rel(&page);
        if name == "docs/es/glosario.md" {
            continue; // the glossary names the rejected forms on purpose
        }
        let text = fs::read_to_string(&page).unwrap_or_else(|e| panic!("read {name}: {e}"));
        let found: Vec<String> = violations(&text, &glossary)
            .into_iter()
            .chain(missing_glosses(&text, &glossary))
            .collect();
        if let Some((_, why)) = EXEMPT.iter().find(|(p, _)| *p == name) {
            println!("skipping {name}: {why}");
            for f in &found {
                println!("  warning: {name} {f}");
            }
            continue;
        }
        checked += 1;
        failures.extend(found.into_iter().map(|f| format!("{name} {f}")));
    }
    assert!(checked >= 9, "only {checked} Spanish pages checked");
    assert!(
        failures.is_empty(),
        "{} uses of rejected forms or missing glosses (see docs/es/glosario.md):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The checker itself: it must catch what it is meant to catch, and nothing inside code.
#[test]
fn the_checker_finds_rejected_forms_and_ignores_code() {
    let glossary = read_glossary();
    let page = "Un Corrector lee.\n`corrector` y *reset* no cuentan.\n```\ncorre\n```\n\
                el saludo de tres vías (el *handshake*) y la Bienvenida.\nEl saludo llega.\n";
    let found = violations(page, &glossary);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("line 1: \"corrector\""), "{found:#?}");
    assert!(found[1].starts_with("line 7: \"saludo\""), "{found:#?}");

    let unglossed = "Sin tiempo de espera.\nNada.\nUn tiempo de espera (*timeout*).\n";
    let missing = missing_glosses(unglossed, &glossary);
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert!(missing[0].starts_with("line 1:"), "{missing:#?}");
    assert!(missing_glosses("Un tiempo de espera (*timeout*).\n", &glossary).is_empty());
}
