//! The homework path (issue 11 §2): a student starts a project from `docs/homework/`, copies
//! lessons into its `src/bin/` and builds it with no edit to the lessons.
//!
//! The build test does what the template's README tells a student to do, outside the
//! workspace: in a temp dir holding the kit as `socket-lessons/` (a link to this checkout),
//! `cp -r socket-lessons/docs/homework my-homework`, copy every lesson of `examples/` into
//! `src/bin/`, and build, with no edit to the template (issue 17): its `netutil` is a `path`
//! dependency on `../socket-lessons/crates/netutil`, and its committed `Cargo.lock` must
//! already hold every crate (`--locked`). Cargo gets a proxy that refuses every connection,
//! and no `--offline`: a build that needed the registry or the internet would fail here, as
//! it would in a lab with no network. It builds into a target dir under this workspace's
//! `target/`, so a second run only rebuilds the homework crate itself.
//!
//! Lessons behind a cargo feature of the kit (`[[example]] required-features`) are built only
//! when the template defines features of the same names; otherwise the test prints which
//! lessons it left out and why.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use support::{Finished, TempDir, free_tcp_port, free_udp_port, run_with_input};

/// A cold build of every lesson and its dependencies on a busy two-core machine.
const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);

fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn template_dir() -> PathBuf {
    checkout().join("docs").join("homework")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The lessons: every `examples/*.rs`, by name, sorted.
fn lessons() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(checkout().join("examples"))
        .expect("examples/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no lessons in examples/");
    names
}

// ---- A few lines of TOML, read by hand: the manifests here are simple and the tests must
// ---- build offline with only the crates the workspace already has.

/// The `key = value` lines of each `[section]` (an `[[array]]` section is listed once per
/// occurrence, numbered: `example#0`, `example#1`, ...). Comments and blank lines are dropped;
/// values are kept as written.
fn toml_sections(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = String::new();
    let mut arrays: BTreeMap<String, usize> = BTreeMap::new();
    sections.insert(current.clone(), Vec::new());
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let count = arrays.entry(name.to_owned()).or_default();
            current = format!("{name}#{count}");
            *count += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_owned();
        } else if let Some((key, value)) = line.split_once('=') {
            sections
                .entry(current.clone())
                .or_default()
                .push((key.trim().to_owned(), value.trim().to_owned()));
            continue;
        }
        sections.entry(current.clone()).or_default();
    }
    sections
}

/// The quoted strings in a TOML value such as `["derive", "std"]`.
fn quoted_strings(value: &str) -> Vec<String> {
    value
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The features a dependency value turns on: `{ version = "1", features = ["a", "b"] }`.
fn features_of(value: &str) -> BTreeSet<String> {
    match value.split_once("features") {
        Some((_, rest)) => {
            let list = rest.split_once('[').map_or("", |(_, l)| l);
            let list = list.split_once(']').map_or(list, |(l, _)| l);
            quoted_strings(list).into_iter().collect()
        }
        None => BTreeSet::new(),
    }
}

/// The dependencies of a manifest section, name → features, resolving `x.workspace = true`
/// through `[workspace.dependencies]`.
fn dependencies(
    sections: &BTreeMap<String, Vec<(String, String)>>,
    section: &str,
) -> BTreeMap<String, BTreeSet<String>> {
    let workspace: BTreeMap<&str, &str> = sections
        .get("workspace.dependencies")
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sections
        .get(section)
        .into_iter()
        .flatten()
        .map(|(key, value)| match key.strip_suffix(".workspace") {
            Some(name) => {
                let shared = workspace.get(name).copied().unwrap_or("");
                (name.to_owned(), features_of(shared))
            }
            None => (key.clone(), features_of(value)),
        })
        .collect()
}

/// Lesson name → the kit features it needs, from the root manifest's `[[example]]` entries.
fn gated_lessons(root: &BTreeMap<String, Vec<(String, String)>>) -> BTreeMap<String, Vec<String>> {
    root.iter()
        .filter(|(section, _)| section.starts_with("example#"))
        .filter_map(|(_, keys)| {
            let name = keys.iter().find(|(k, _)| k == "name")?;
            let features = keys.iter().find(|(k, _)| k == "required-features")?;
            Some((
                quoted_strings(&name.1).into_iter().next()?,
                quoted_strings(&features.1),
            ))
        })
        .collect()
}

/// The lines of a Rust file that are code, not comments (string literals stay).
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

/// Whether `code` names crate `name` as a path root (`clap::`, `use socket2::{...}`).
fn mentions_crate(code: &str, name: &str) -> bool {
    let needle = format!("{}::", name.replace('-', "_"));
    code.match_indices(&needle).any(|(at, _)| {
        code[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
    })
}

/// Which lessons a homework project from the template can hold: every lesson, except those
/// behind a kit feature the template does not define (each with the reason), and the
/// features to build with.
struct Plan {
    included: Vec<String>,
    skipped: Vec<(String, String)>,
    features: BTreeSet<String>,
}

fn plan() -> Plan {
    let gated = gated_lessons(&toml_sections(&read(&checkout().join("Cargo.toml"))));
    let template = toml_sections(&read(&template_dir().join("Cargo.toml")));
    let template_features: BTreeSet<&str> = template
        .get("features")
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    let mut plan = Plan {
        included: Vec::new(),
        skipped: Vec::new(),
        features: BTreeSet::new(),
    };
    for lesson in lessons() {
        let needs = gated.get(&lesson).cloned().unwrap_or_default();
        let missing: Vec<&String> = needs
            .iter()
            .filter(|f| !template_features.contains(f.as_str()))
            .collect();
        if missing.is_empty() {
            plan.features.extend(needs);
            plan.included.push(lesson);
        } else {
            let reason = format!(
                "needs kit feature(s) {missing:?}, which docs/homework/Cargo.toml does not define"
            );
            plan.skipped.push((lesson, reason));
        }
    }
    plan
}

// ---- The project built from the template, shared by the tests that need it.

/// A homework project made from the template with every buildable lesson in `src/bin/`.
struct Homework {
    /// The directory holding its programs (in the target dir: the project itself is gone).
    bin_dir: PathBuf,
    /// The lessons it holds.
    lessons: Vec<String>,
}

fn homework() -> &'static Homework {
    static BUILT: OnceLock<Homework> = OnceLock::new();
    BUILT.get_or_init(build_homework)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory in the copy");
    for entry in std::fs::read_dir(from).expect("the template is readable") {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        // A student may have built the template in place: its build output is not template.
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy a template file");
        }
    }
}

/// The template's manifest with its one `netutil = …` line pointing at this checkout.
fn manifest_with_local_netutil(manifest: &str) -> String {
    let netutil = checkout().join("crates").join("netutil");
    let netutil = netutil.to_str().expect("the checkout's path is UTF-8");
    assert!(
        !netutil.contains('\''),
        "a path TOML cannot quote: {netutil}"
    );
    let mut replaced = 0;
    let lines: Vec<String> = manifest
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("netutil") && line.contains('=') {
                replaced += 1;
                // A literal string: Windows paths keep their backslashes.
                format!("netutil = {{ path = '{netutil}' }}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_eq!(
        replaced, 1,
        "docs/homework/Cargo.toml must have exactly one uncommented `netutil = …` line"
    );
    lines.join("\n") + "\n"
}

/// What a refused connection looks like to Cargo: any request to a registry or a git host
/// goes to this proxy, a port on loopback where nothing listens.
fn dead_proxy() -> String {
    format!("http://127.0.0.1:{}", free_tcp_port())
}

/// `cargo ARGS` in `project`, as a student runs it, but with every network request refused.
fn cargo_without_network(project: &Path, args: &[&str]) -> Command {
    let proxy = dead_proxy();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", homework_target())
        .env("CARGO_HTTP_PROXY", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("HTTP_PROXY", &proxy)
        .env("CARGO_NET_RETRY", "0")
        .env_remove("CARGO_NET_OFFLINE");
    cargo
}

fn homework_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("homework-target")
}

/// A temp dir laid out as the README assumes: the kit as `socket-lessons/` and a copy of the
/// template as `my-homework/` (`cp -r socket-lessons/docs/homework my-homework`). Where the
/// kit cannot be linked, the copy's `netutil` line is pointed at this checkout instead,
/// saying so.
fn copy_template_as_documented() -> (TempDir, PathBuf) {
    let dir = TempDir::new("homework");
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(checkout(), dir.path().join("socket-lessons"));
    #[cfg(windows)]
    let linked = std::os::windows::fs::symlink_dir(checkout(), dir.path().join("socket-lessons"));
    let project = dir.path().join("my-homework");
    copy_dir(&template_dir(), &project);
    if let Err(e) = linked {
        println!("could not link the kit as socket-lessons/ ({e}): pointing netutil at it instead");
        let manifest = project.join("Cargo.toml");
        std::fs::write(&manifest, manifest_with_local_netutil(&read(&manifest))).unwrap();
    }
    (dir, project)
}

fn build_homework() -> Homework {
    let (dir, project) = copy_template_as_documented();

    let plan = plan();
    for (lesson, reason) in &plan.skipped {
        println!("skipped: {lesson} {reason}");
    }
    let bin_dir = project.join("src").join("bin");
    for lesson in &plan.included {
        let file = format!("{lesson}.rs");
        std::fs::copy(checkout().join("examples").join(&file), bin_dir.join(&file))
            .expect("copy a lesson");
    }

    let target = homework_target();
    let mut build = cargo_without_network(&project, &["build", "--locked", "--bins"]);
    if !plan.features.is_empty() {
        let list: Vec<&str> = plan.features.iter().map(String::as_str).collect();
        build.args(["--features", &list.join(",")]);
    }
    let built = run_with_input(build, b"", BUILD_TIMEOUT);
    assert!(
        built.status.success(),
        "the homework project does not build, with no network and its Cargo.lock, with the \
         lessons copied unchanged:\n{}",
        built.stderr
    );
    let warnings: Vec<&str> = built
        .stderr
        .lines()
        .filter(|line| line.starts_with("warning"))
        .collect();
    assert!(
        warnings.is_empty(),
        "the lessons build with warnings in a homework project:\n{}",
        built.stderr
    );
    println!(
        "built {} lessons in a homework project: {:?}",
        plan.included.len(),
        plan.included
    );
    // The programs are in the target dir; the project's temp dir goes now, since a static
    // is never dropped.
    drop(dir);
    Homework {
        bin_dir: target.join("debug"),
        lessons: plan.included,
    }
}

impl Homework {
    /// Runs one of the project's programs with `args`, bounded in time.
    fn run(&self, name: &str, args: &[&str]) -> Finished {
        let program = self
            .bin_dir
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        let mut command = Command::new(program);
        command.args(args).env_remove("RUST_BACKTRACE");
        run_with_input(command, b"", Duration::from_secs(30))
    }
}

#[test]
fn every_lesson_builds_unchanged_in_a_project_from_the_template() {
    let homework = homework();
    let skipped = plan().skipped;
    for lesson in lessons() {
        assert!(
            homework.lessons.contains(&lesson) || skipped.iter().any(|(s, _)| *s == lesson),
            "{lesson} was left out of the homework build"
        );
    }
    // The starter the README points at builds too.
    assert!(
        homework
            .bin_dir
            .join(format!("hello{}", std::env::consts::EXE_SUFFIX))
            .exists()
    );
}

#[test]
fn failing_lessons_built_as_homework_do_not_hint_at_cargo_run_example() {
    // Lessons that fail fast on this machine with a hint: nothing listens on a fresh free port.
    let tcp = free_tcp_port().to_string();
    let udp = free_udp_port().to_string();
    let failing: [(&str, Vec<&str>); 4] = [
        ("basics_05", vec!["127.0.0.1", "--port", &udp]),
        ("socket_03", vec!["127.0.0.1", &tcp]),
        ("echo_client", vec!["--port", &tcp]),
        ("line_client", vec!["--port", &tcp]),
    ];
    let homework = homework();
    let mut offenders = Vec::new();
    for (lesson, args) in failing {
        if !homework.lessons.iter().any(|l| l == lesson) {
            println!("skipped: {lesson} is not among the lessons");
            continue;
        }
        let run = homework.run(lesson, &args);
        run.assert_clean_failure();
        if run.stderr.contains("--example") {
            offenders.push(format!("{lesson} {args:?}:\n{}", run.stderr));
        }
    }
    assert!(
        offenders.is_empty(),
        "built in a homework project, these lessons tell the student to use `--example`, \
         which does not exist there:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_lesson_message_names_cargo_run_example() {
    // Every message a lesson prints comes from its code, not its comments: a hint that says
    // `cargo run --example` is wrong in a homework project, where lessons are `--bin`s.
    let mut offenders = Vec::new();
    for lesson in lessons() {
        let source = read(&checkout().join("examples").join(format!("{lesson}.rs")));
        for (number, line) in code_lines(&source) {
            if line.contains("--example") {
                offenders.push(format!("examples/{lesson}.rs:{number}: {}", line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "lesson messages that say `--example`, which is wrong once the lesson is copied into a \
         homework project: name the program instead (\"start ntp_server first\"):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_template_has_exactly_the_crates_the_lessons_use() {
    let root = toml_sections(&read(&checkout().join("Cargo.toml")));
    let mut kit = dependencies(&root, "dependencies");
    kit.extend(dependencies(&root, "dev-dependencies"));
    let template = dependencies(
        &toml_sections(&read(&template_dir().join("Cargo.toml"))),
        "dependencies",
    );

    let code_of = |path: PathBuf| -> String {
        code_lines(&read(&path))
            .map(|(_, line)| format!("{line}\n"))
            .collect()
    };
    let lesson_code =
        |lesson: &String| code_of(checkout().join("examples").join(format!("{lesson}.rs")));
    // What the template must provide: the crates of the lessons it holds.
    let code: String = plan().included.iter().map(lesson_code).collect();
    // What it may provide: also the crates of lessons left out, and of the starter.
    let mut any_code: String = lessons().iter().map(lesson_code).collect();
    any_code.push_str(&code_of(
        template_dir().join("src").join("bin").join("hello.rs"),
    ));

    let mut problems = Vec::new();
    for (name, features) in &kit {
        if !mentions_crate(&code, name) {
            continue;
        }
        match template.get(name) {
            None => problems.push(format!("the lessons use `{name}`: add it to the template")),
            Some(have) => {
                let missing: Vec<&String> = features.difference(have).collect();
                if !missing.is_empty() {
                    problems.push(format!(
                        "the lessons build `{name}` with features {missing:?}: add them"
                    ));
                }
            }
        }
    }
    for name in template.keys() {
        if !mentions_crate(&any_code, name) {
            problems.push(format!(
                "no lesson uses `{name}`: drop it from the template"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/homework/Cargo.toml and the lessons disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_template_readmes_warn_against_cargo_add_netutil() {
    for readme in ["README.md", "README.es.md"] {
        let text = read(&template_dir().join(readme));
        assert!(
            text.contains("cargo add netutil"),
            "docs/homework/{readme} must warn against `cargo add netutil`"
        );
        assert!(
            text.contains("--bin server_05"),
            "docs/homework/{readme} must show how to run a copied lesson"
        );
    }
}

#[test]
fn the_template_runs_as_copied_with_no_edit_and_no_network() {
    // Exactly the README's first commands: cp -r ... my-homework && cd my-homework &&
    // cargo run --bin hello. No lesson copied, nothing edited, every network request refused.
    let (_dir, project) = copy_template_as_documented();
    let lock_before = read(&project.join("Cargo.lock"));
    let run = run_with_input(
        cargo_without_network(&project, &["run", "--bin", "hello"]),
        b"",
        BUILD_TIMEOUT,
    );
    // hello connects to 127.0.0.1:8888: it says where it connected, or why it could not.
    let ran = run.stdout.contains("connected from")
        || run.stderr.contains("could not connect to 127.0.0.1:8888");
    assert!(
        ran,
        "`cargo run --bin hello` in a fresh copy of the template did not run hello \
         (status {:?}):\nstdout:\n{}\nstderr:\n{}",
        run.status, run.stdout, run.stderr
    );
    assert_eq!(
        read(&project.join("Cargo.lock")),
        lock_before,
        "Cargo rewrote the template's Cargo.lock: it is out of date (regenerate it as \
         docs/homework/README.md says under \"For instructors\")"
    );
}

#[test]
fn the_template_takes_netutil_from_the_kit_next_to_it() {
    let manifest = read(&template_dir().join("Cargo.toml"));
    assert!(
        !manifest.contains("COURSE_REPO_URL"),
        "docs/homework/Cargo.toml still has a placeholder a student must edit"
    );
    let netutil: Vec<&str> = manifest
        .lines()
        .filter(|l| l.trim_start().starts_with("netutil") && l.contains('='))
        .collect();
    assert_eq!(
        netutil,
        ["netutil = { path = \"../socket-lessons/crates/netutil\" }"],
        "docs/homework/Cargo.toml must take netutil from the kit next to the copy"
    );
    assert!(
        manifest.contains("# netutil = { git = "),
        "docs/homework/Cargo.toml must keep the git form as the commented alternative"
    );
    assert!(
        template_dir().join("Cargo.lock").exists(),
        "docs/homework/Cargo.lock must be committed, so Cargo never asks the registry"
    );
}
