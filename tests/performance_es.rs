//! docs/es/rendimiento.md is the Spanish form of docs/performance.md (issue 17): bench/render.py
//! writes both from the same run, the Spanish one through bench/render_es.py, a pure function
//! of the English page and bench/analysis.es.md. This test applies that function to the
//! committed English page and requires the committed Spanish page, byte for byte, with no line
//! of the generated part left in English. It fails when one page is edited by hand, or when
//! render.py gains a phrase that render_es.py does not translate.
//!
//! It needs `python3` (installed by `.ci/run`), so it is `#[ignore]`d:
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

#[test]
#[ignore = "needs python3 (.ci/run installs it)"]
fn the_spanish_performance_page_is_the_english_one_rendered_in_spanish() {
    require_program("python3");
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut python = Command::new("python3");
    python.args(["-c", SCRIPT]).current_dir(checkout);
    let run = run_with_input(python, b"", Duration::from_secs(60));
    assert!(
        run.status.success(),
        "bench/render_es.py failed on docs/performance.md:\n{}",
        run.stderr
    );
    let committed = std::fs::read_to_string(checkout.join("docs/es/rendimiento.md"))
        .expect("read docs/es/rendimiento.md");
    if committed != run.stdout {
        let first = committed
            .lines()
            .zip(run.stdout.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b);
        panic!(
            "docs/es/rendimiento.md is not docs/performance.md rendered in Spanish (re-run \
             bench/compare, or render it again with bench/render.py); first difference: {first:?}"
        );
    }
}
