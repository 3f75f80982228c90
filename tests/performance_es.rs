//! docs/es/rendimiento.md is the Spanish form of docs/performance.md (issue 17): bench/render.py
//! writes both from the same run, the Spanish one through bench/render_es.py, a pure function
//! of the English page and bench/analysis.es.md; the Spanish chart, docs/es/rendimiento.svg, is
//! docs/performance.svg with its words in Spanish. These tests apply those functions to the
//! committed English page and chart and require the committed Spanish ones, byte for byte, with
//! nothing of the generated part left in English. They fail when one page is edited by hand, or
//! when render.py gains a phrase that render_es.py does not translate.
//!
//! They need `python3` (installed by `.ci/run`), so they are `#[ignore]`d:
//! `cargo test --test performance_es -- --include-ignored`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{require_program, run_with_input};

const SCRIPT: &str = r#"
import sys
sys.path.insert(0, "bench")
import render_es
english = open("docs/performance.md", encoding="utf-8").read()
prose = open("bench/analysis.es.md", encoding="utf-8").read()
spanish = render_es.to_spanish(english, prose)
left = render_es.untranslated(spanish)
if left:
    print("untranslated:\n" + "\n".join(left), file=sys.stderr)
    sys.exit(3)
sys.stdout.write(spanish)
"#;

/// What `script` (Python, run in the checkout) prints from the English `source`, and the
/// committed Spanish `target` it must equal.
fn rendered_and_committed(script: &str, source: &str, target: &str) -> (String, String) {
    require_program("python3");
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut python = Command::new("python3");
    python.args(["-c", script]).current_dir(checkout);
    let run = run_with_input(python, b"", Duration::from_secs(60));
    assert!(
        run.status.success(),
        "bench/render_es.py failed on {source}:\n{}",
        run.stderr
    );
    let committed =
        std::fs::read_to_string(checkout.join(target)).unwrap_or_else(|e| panic!("{target}: {e}"));
    (run.stdout, committed)
}

#[test]
#[ignore = "needs python3 (.ci/run installs it)"]
fn the_spanish_performance_page_is_the_english_one_rendered_in_spanish() {
    let (rendered, committed) =
        rendered_and_committed(SCRIPT, "docs/performance.md", "docs/es/rendimiento.md");
    if committed != rendered {
        let first = committed
            .lines()
            .zip(rendered.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b);
        panic!(
            "docs/es/rendimiento.md is not docs/performance.md rendered in Spanish (re-run \
             bench/compare, or render it again with bench/render.py); first difference: {first:?}"
        );
    }
}

const CHART_SCRIPT: &str = r#"
import re, sys
sys.path.insert(0, "bench")
import render_es
chart = render_es.chart_to_spanish(open("docs/performance.svg", encoding="utf-8").read())
english = re.compile(r">[^<]*\b(clients?|Messages|memory|line|loop|tasks|threads)\b[^<]*<")
left = english.findall(chart)
if left:
    print("English left in the chart: " + ", ".join(sorted(set(left))), file=sys.stderr)
    sys.exit(3)
sys.stdout.write(chart)
"#;

#[test]
#[ignore = "needs python3 (.ci/run installs it)"]
fn the_spanish_chart_is_the_english_one_with_spanish_words() {
    let (rendered, committed) = rendered_and_committed(
        CHART_SCRIPT,
        "docs/performance.svg",
        "docs/es/rendimiento.svg",
    );
    assert!(
        committed == rendered,
        "docs/es/rendimiento.svg is not docs/performance.svg with its words in Spanish (re-run \
         bench/compare, or render it again with bench/render.py)"
    );
}
