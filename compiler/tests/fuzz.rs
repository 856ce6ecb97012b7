//! A fuzz harness on stable Rust (issue 14): generated and mutated inputs,
//! seeded from the fixtures, through the three readers of outside text —
//! the YAML layer, the frontend with every check, and the event reader with
//! the simulator behind it. Each case must not panic, and its work must stay
//! bounded by the input: the YAML tree holds at most one node per input byte
//! plus the alias budget, and nesting never exceeds the depth bound. The
//! number of cases per strategy is `TPC_FUZZ_CASES` (256 by default, so that
//! `cargo test` stays quick; 2,000 with `CI=true`, about 10 s; the README
//! gives the longest run). No case is timed: a hang shows as a test that
//! does not finish.

mod common;

use common::{repo_root, shared_dir, yaml_files};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::OnceLock;
use tpc::front::yaml::{self, Node, NodeKind};
use tpc::span::FileId;

fn cases() -> u32 {
    let ci = std::env::var_os("CI").is_some_and(|v| v == "true");
    std::env::var("TPC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if ci { 2_000 } else { 256 })
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Policies to mutate: tpc's fixtures and Tetragon's examples when present.
fn policy_seeds() -> &'static Vec<String> {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut files = yaml_files(&repo_root().join("fixtures/policies"));
        let corpus = shared_dir().join("corpus/tetragon");
        if corpus.is_dir() {
            files.extend(yaml_files(&corpus));
        }
        let seeds: Vec<String> = files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect();
        assert!(seeds.len() > 50, "too few policy seeds");
        seeds
    })
}

/// Events to mutate: the simulator fixtures' inline events and Tetragon's
/// exported events when present.
fn event_seeds() -> &'static Vec<String> {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = Vec::new();
        let events = shared_dir().join("corpus/tetragon-events");
        if let Ok(entries) = std::fs::read_dir(&events) {
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            seeds.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
        }
        // the fixtures' own events, recorded with `tpc run` among them
        for sim in [
            repo_root().join("fixtures/sim"),
            repo_root().join("fixtures/sim/events"),
        ] {
            let Ok(entries) = std::fs::read_dir(&sim) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let is_events = path
                    .extension()
                    .is_some_and(|e| e == "json" || e == "jsonl");
                if is_events {
                    seeds.extend(std::fs::read_to_string(&path).ok());
                }
            }
        }
        seeds.push(
            r#"{"process_exec":{"process":{"pid":1,"binary":"/bin/sh"}},"time":"2026-01-01T00:00:00Z"}"#
                .to_string(),
        );
        seeds
    })
}

/// Text an edit may insert: YAML and JSON syntax, anchors and aliases,
/// deep nesting, keys and values the readers know, bytes at the edges of
/// UTF-8 and of integers.
const FRAGMENTS: &[&str] = &[
    "\n",
    " ",
    "- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "#",
    "---\n",
    "...\n",
    "|\n",
    ">-\n",
    "&a ",
    "*a",
    "&b [*a, *a, *a, *a]",
    "<<: *a",
    "!!str ",
    "!!binary ",
    "? ",
    "%YAML 1.2\n",
    "[[[[[[[[[[[[[[[[",
    "]]]]]]]]",
    "- - - - - - - - ",
    "index: 4294967296",
    "values: [",
    "operator: InMap",
    "operator: Prefix",
    "type: syscall64",
    "raw: true",
    "resolve: a.b[3].c",
    "list:x",
    "0x",
    "-9223372036854775809",
    "1e999",
    "\u{feff}",
    "\u{0}",
    "é",
    "\u{10ffff}",
    "\"process_kprobe\":",
    "\"args\":[",
    "\"function_name\":\"__x64_sys_openat\"",
    "null",
    "true",
    "{\"\":",
    "\\u0000",
    "\\ud800",
];

#[derive(Clone, Debug)]
enum Edit {
    Insert {
        at: usize,
        fragment: usize,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// Copy a chunk of the text after itself (grows the input).
    Repeat {
        at: usize,
        len: usize,
        times: usize,
    },
    /// Replace the tail with another seed's tail.
    Splice {
        seed: usize,
        at: usize,
    },
    Truncate {
        at: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..FRAGMENTS.len())
            .prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 1usize..64, 1usize..8).prop_map(|(at, len, times)| Edit::Repeat {
            at,
            len,
            times
        }),
        (any::<usize>(), any::<usize>()).prop_map(|(seed, at)| Edit::Splice { seed, at }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
    ]
}

fn boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edit: &Edit, seeds: &[String]) -> String {
    let at = |at: usize| boundary(text, at % (text.len() + 1));
    match edit {
        Edit::Insert { at: i, fragment } => {
            let i = at(*i);
            format!("{}{}{}", &text[..i], FRAGMENTS[*fragment], &text[i..])
        }
        Edit::Delete { at: i, len } => {
            let start = at(*i);
            let end = boundary(text, start + len);
            format!("{}{}", &text[..start], &text[end..])
        }
        Edit::Repeat { at: i, len, times } => {
            let start = at(*i);
            let end = boundary(text, start + len);
            let chunk = &text[start..end];
            format!("{}{}{}", &text[..end], chunk.repeat(*times), &text[end..])
        }
        Edit::Splice { seed, at: i } => {
            let other = &seeds[seed % seeds.len()];
            let cut = at(*i);
            let from = boundary(other, i % (other.len() + 1));
            format!("{}{}", &text[..cut], &other[from..])
        }
        Edit::Truncate { at: i } => text[..at(*i)].to_string(),
    }
}

/// A seed with a few edits applied.
fn mutated(seeds: &'static [String]) -> impl Strategy<Value = String> {
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(edit(), 1..8),
    )
        .prop_map(move |(seed, edits)| {
            let mut text = seeds[seed.index(seeds.len())].clone();
            for e in &edits {
                text = apply(&text, e, seeds);
            }
            text
        })
}

/// Random YAML from a small grammar: nested maps and lists, anchors and
/// aliases, policy-ish keys.
fn generated_yaml() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("x".to_string()),
        Just("\"/etc/passwd\"".to_string()),
        Just("42".to_string()),
        Just("*a".to_string()),
        Just("&a v".to_string()),
        "[a-z]{1,8}",
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec(("[a-zA-Z]{1,10}", inner), 0..6).prop_map(|entries| {
                let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
            "[a-z]{1,6}".prop_map(|anchor| format!("&{anchor} [1, 2]")),
        ]
    })
    .prop_map(|body| format!("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {{name: fuzz}}\nspec: {body}\n"))
}

/// Nodes of a tree and its depth.
fn measure(node: &Node, depth: usize, nodes: &mut usize, deepest: &mut usize) {
    *nodes += 1;
    *deepest = (*deepest).max(depth);
    match &node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => {
            for item in items {
                measure(item, depth + 1, nodes, deepest);
            }
        }
        NodeKind::Map(entries) => {
            for entry in entries {
                measure(&entry.key, depth + 1, nodes, deepest);
                measure(&entry.value, depth + 1, nodes, deepest);
            }
        }
    }
}

/// The YAML layer: parses or refuses; what it builds is bounded.
fn yaml_case(text: &str) -> Result<(), TestCaseError> {
    if let Ok(docs) = yaml::parse(FileId(0), text) {
        let mut nodes = 0;
        let mut deepest = 0;
        for doc in &docs {
            if let Some(root) = &doc.root {
                measure(root, 1, &mut nodes, &mut deepest);
            }
        }
        prop_assert!(
            nodes <= text.len() + yaml::MAX_ALIAS_NODES,
            "{nodes} nodes from {} bytes",
            text.len()
        );
        prop_assert!(deepest <= yaml::MAX_DEPTH + 1, "depth {deepest}");
    }
    Ok(())
}

/// The frontend and every kernel-independent check: no panic, every
/// finding points inside the input.
fn frontend_case(text: &str) -> Result<(), TestCaseError> {
    let report = tpc::driver::check_sources(vec![("fuzz.yaml".into(), text.to_string())]);
    for d in &report.diagnostics {
        for label in &d.labels {
            prop_assert!(
                label.span.start <= label.span.end && label.span.end as usize <= text.len(),
                "{} outside the input",
                d.code.as_str()
            );
        }
    }
    Ok(())
}

/// The simulator's policies: one of each hook kind the seeds cover.
fn simulator_policies() -> &'static Vec<tpc::ir::Policy> {
    static POLICIES: OnceLock<Vec<tpc::ir::Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let mut files = yaml_files(&repo_root().join("fixtures/sim/policies"));
        files.extend(yaml_files(&repo_root().join("tests/corpus-sim/policies")));
        let sources: Vec<(String, String)> = files
            .iter()
            .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
            .collect();
        tpc::driver::check_sources(sources)
            .policies
            .into_iter()
            .map(|loaded| loaded.policy)
            .collect()
    })
}

/// The event reader and the simulator: every value is an event or an
/// error, and the simulator takes whatever the reader yields.
fn events_case(text: &str) -> Result<(), TestCaseError> {
    let policies: Vec<&tpc::ir::Policy> = simulator_policies().iter().collect();
    let mut sim = tpc::sim::Simulator::new(&policies, tpc::sim::SimOptions::default());
    let mut values = 0usize;
    for (_, result) in tpc_events::EventReader::new(text.as_bytes()) {
        values += 1;
        if let Ok(event) = result {
            let _ = sim.feed(&event);
        }
        // A value is at least one byte (or a line of its own).
        prop_assert!(
            values <= text.len() + 1,
            "{values} values from {} bytes",
            text.len()
        );
    }
    Ok(())
}

fn run(strategy: impl Strategy<Value = String>, case: fn(&str) -> Result<(), TestCaseError>) {
    let mut runner = runner();
    if let Err(failure) = runner.run(&strategy, |text| case(&text)) {
        panic!("{failure}");
    }
}

#[test]
fn fuzz_yaml_layer() {
    run(mutated(policy_seeds()), yaml_case);
    run(generated_yaml(), yaml_case);
}

#[test]
fn fuzz_frontend_and_checks() {
    run(mutated(policy_seeds()), frontend_case);
    run(generated_yaml(), frontend_case);
}

#[test]
fn fuzz_event_reader_and_simulator() {
    let seeds = event_seeds();
    assert!(!seeds.is_empty());
    run(mutated(seeds), events_case);
    run("\\PC{0,300}", events_case);
}
