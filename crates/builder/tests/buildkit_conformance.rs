//! Conformance against buildkit's parser and shell-lexer test data.
//!
//! The data is not in this repository. Point `BUILDKIT_TESTFILES` at a
//! checkout of moby/buildkit (or any directory holding its
//! `frontend/dockerfile` tree) and run:
//!
//! ```text
//! BUILDKIT_TESTFILES=/path/to/buildkit cargo test -p berth-builder \
//!     --test buildkit_conformance -- --ignored --nocapture
//! ```
//!
//! Each suite prints how many cases pass and fails listing the others.

use berth_builder::instructions::locate;
use berth_builder::{ParseError, expand, expand_words, parse_ast, parse_instructions};
use std::path::{Path, PathBuf};

/// `frontend/dockerfile` of the buildkit tree named by the environment.
fn root() -> PathBuf {
    let base = PathBuf::from(
        std::env::var("BUILDKIT_TESTFILES").expect("set BUILDKIT_TESTFILES to a buildkit tree"),
    );
    let nested = base.join("frontend/dockerfile");
    if nested.is_dir() { nested } else { base }
}

fn dirs(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// Prints the tally and fails with the mismatches, if any.
fn report(suite: &str, total: usize, failures: &[String]) {
    println!("{suite}: {}/{total} pass", total - failures.len());
    for f in failures {
        println!("  FAIL {f}");
    }
    assert!(failures.is_empty(), "{suite}: {} failures", failures.len());
}

/// The dump of a whole file, in the shape of buildkit's `result` files.
fn dump(text: &str) -> Result<String, ParseError> {
    let ast = parse_ast(text, "Dockerfile")?;
    Ok(ast
        .nodes
        .iter()
        .map(|n| format!("({})\n", n.dump()))
        .collect())
}

#[test]
#[ignore = "needs BUILDKIT_TESTFILES"]
fn parser_testfiles() {
    let cases = dirs(&root().join("parser/testfiles"));
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let want = std::fs::read_to_string(dir.join("result")).unwrap();
        match dump(&text) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{name}:\n--- want\n{want}--- got\n{got}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    report("parser testfiles", cases.len(), &failures);
}

/// Instructions of the (parser-level) testfiles that buildkit's typed layer
/// refuses too: made-up flags, HEALTHCHECK without a command or with an
/// unknown type.
const REFUSED_WHEN_TYPED: &[(&str, &str)] = &[
    ("flags", "unknown flag"),
    ("health", "HEALTHCHECK requires at least one argument"),
    ("health", "Missing command after HEALTHCHECK CMD"),
    (
        "health",
        "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)",
    ),
];

#[test]
#[ignore = "needs BUILDKIT_TESTFILES"]
fn parser_testfiles_type() {
    // Beyond the parser: every instruction of the valid testfiles types,
    // except the few buildkit refuses as well.
    let cases = dirs(&root().join("parser/testfiles"));
    let (mut total, mut failures) = (0, Vec::new());
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let ast = parse_ast(&text, "Dockerfile").unwrap();
        for node in &ast.nodes {
            total += 1;
            let Err(e) = locate(node, "Dockerfile") else {
                continue;
            };
            let expected = REFUSED_WHEN_TYPED
                .iter()
                .any(|(n, m)| *n == name && e.message.starts_with(m));
            if expected {
                println!("  refused as expected: {name}: {e}");
            } else {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    report("typed testfile instructions", total, &failures);
}

#[test]
#[ignore = "needs BUILDKIT_TESTFILES"]
fn parser_negative() {
    let cases = dirs(&root().join("parser/testfiles-negative"));
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let typed =
            parse_ast(&text, "Dockerfile").and_then(|a| parse_instructions(&a, "Dockerfile"));
        match typed {
            Err(e) => println!("  {name}: {e}"),
            Ok(_) => failures.push(format!("{name}: accepted")),
        }
    }
    report("negative testfiles", cases.len(), &failures);
}

fn lookup_in(vars: &[(String, String)]) -> impl Fn(&str) -> Option<String> + '_ {
    // The last definition wins, as in buildkit's EnvsFromSlice.
    move |name| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[test]
#[ignore = "needs BUILDKIT_TESTFILES"]
fn shell_env_var_test() {
    let text = std::fs::read_to_string(root().join("shell/envVarTest")).unwrap();
    let vars: Vec<(String, String)> = [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let lookup = lookup_in(&vars);
    let (mut total, mut failures) = (0, Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let [platform, source, expected] = parts[..] else {
            panic!("line {}: bad format", n + 1)
        };
        if platform == "W" {
            continue;
        }
        total += 1;
        let got = expand(source, &lookup, '\\');
        let ok = match (&got, expected) {
            (Err(_), "error") => true,
            (Ok(g), e) => g == e,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "line {}: {source:?} want {expected:?} got {got:?}",
                n + 1
            ));
        }
    }
    report("envVarTest", total, &failures);
}

#[test]
#[ignore = "needs BUILDKIT_TESTFILES"]
fn shell_words_test() {
    let text = std::fs::read_to_string(root().join("shell/wordsTest")).unwrap();
    let mut vars: Vec<(String, String)> = Vec::new();
    let (mut total, mut failures) = (0, Vec::new());
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(def) = line.strip_prefix("ENV ") {
            let def = def.trim_start_matches(' ');
            let (k, v) = def.split_once('=').unwrap_or((def, ""));
            vars.push((k.to_string(), v.to_string()));
            continue;
        }
        let Some((test, expected)) = line.split_once('|') else {
            panic!("line {}: bad format", n + 1)
        };
        let test = test.trim();
        let expected: Vec<String> = expected
            .trim_start_matches(' ')
            .split(',')
            .map(String::from)
            .collect();
        total += 1;
        let lookup = lookup_in(&vars);
        let got = expand_words(test, &lookup, '\\').unwrap_or_else(|_| vec!["error".to_string()]);
        if got != expected {
            failures.push(format!(
                "line {}: {test:?} want {expected:?} got {got:?}",
                n + 1
            ));
        }
    }
    report("wordsTest", total, &failures);
}
