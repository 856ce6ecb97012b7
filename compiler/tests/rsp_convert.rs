//! RuntimeSecurityPolicy conversion: every policy under
//! `fixtures/policies/ok/rsp/` is converted with each block strategy, and
//! - the `tpc convert` text is an insta snapshot (`convert__rsp__NAME`,
//!   the three strategies one after the other);
//! - the converted TracingPolicy checks clean and resolves to the same IR
//!   as the RuntimeSecurityPolicy (spans aside);
//! - both give identical verdicts on the same recorded events
//!   (`fixtures/sim/rsp/events.jsonl`), and those verdicts name the rule.

mod common;

use common::{relative, repo_root, yaml_files};
use serde_json::Value;
use tpc::diagnostics::{Severity, render};
use tpc::driver::{CheckOptions, Report};
use tpc::front::rsp::strategy::Strategy;
use tpc::ir::Policy;
use tpc::sim::{SimOptions, Simulator};
use tpc_events::Event;

fn check(name: &str, text: &str, strategy: Strategy) -> Report {
    let options = CheckOptions {
        rsp_strategy: Some(strategy),
        ..CheckOptions::default()
    };
    tpc::driver::check_sources_with(vec![(name.to_string(), text.to_string())], &options)
}

fn errors(report: &Report) -> Vec<String> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(|d| format!("{}: {}", d.code.as_str(), d.message))
        .collect()
}

/// The `tpc convert` text, or the rendered findings when it fails.
fn convert(name: &str, text: &str, strategy: Strategy) -> Result<String, String> {
    let report = check(name, text, strategy);
    if report
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        let opts = render::human::HumanOptions {
            color: false,
            unicode: true,
            width: 100,
        };
        return Err(render::human::render(
            &report.sources,
            &report.diagnostics,
            &opts,
        ));
    }
    let choice = report.rsp_choice.clone().expect("a strategy was chosen");
    let mut out = String::new();
    for (index, tree) in &report.converted {
        out.push_str(&tpc::front::rsp::convert_text(
            &report.policies[*index].policy.name.value,
            name,
            tree,
            &choice,
        ));
    }
    Ok(out)
}

/// The IR as JSON with every span and the RSP origin removed.
fn without_spans(policy: &Policy) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|k, _| !k.ends_with("span") && k != "rsp");
                for (_, x) in map.iter_mut() {
                    strip(x);
                }
            }
            Value::Array(items) => {
                for x in items {
                    strip(x);
                }
                // Spanned<T> serialises as {value, span}: keep the value
            }
            _ => {}
        }
    }
    let mut v = serde_json::to_value(policy).expect("the IR serialises");
    strip(&mut v);
    v
}

fn events() -> Vec<Event> {
    let path = repo_root().join("fixtures/sim/rsp/events.jsonl");
    std::fs::read_to_string(&path)
        .expect("events readable")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::from_json(l).unwrap_or_else(|e| panic!("bad event {l}: {e}")))
        .collect()
}

/// Verdict JSON lines of `policy` on `events`, without the rule (which
/// only the RSP knows), and how many matched a selector.
fn verdicts(policy: &Policy, events: &[Event], with_rule: bool) -> (Vec<(usize, Value)>, usize) {
    let mut sim = Simulator::new(&[policy], SimOptions::default());
    let mut out = Vec::new();
    let mut matched = 0;
    for (position, event) in events.iter().enumerate() {
        for verdict in sim.feed(event) {
            if verdict.selector.index().is_some() {
                matched += 1;
                if with_rule {
                    assert!(
                        verdict.rule.is_some(),
                        "{}: a matched verdict names no rule",
                        policy.name.value
                    );
                }
            }
            let mut json = verdict.to_json();
            if let Value::Object(map) = &mut json {
                map.shift_remove("rule");
            }
            out.push((position + 1, json));
        }
    }
    (out, matched)
}

#[test]
fn converted_policies_match_their_snapshots_ir_and_verdicts() {
    let base = repo_root().join("fixtures/policies/ok/rsp");
    let files = yaml_files(&base);
    assert!(files.len() >= 12, "expected at least 12 RSP fixtures");
    let events = events();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("fixtures/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    let mut kinds_seen = std::collections::BTreeSet::new();
    for path in &files {
        let name = relative(path);
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let mut snapshot = String::new();
        for strategy in Strategy::ALL {
            snapshot.push_str(&format!("=== --rsp-strategy {}\n", strategy.name()));
            let converted = match convert(&name, &text, strategy) {
                Ok(c) => c,
                Err(findings) => {
                    snapshot.push_str(&findings);
                    continue;
                }
            };
            snapshot.push_str(&converted);
            let original = check(&name, &text, strategy);
            assert!(
                errors(&original).is_empty(),
                "{name}: {:?}",
                errors(&original)
            );
            let again = check("converted.yaml", &converted, strategy);
            assert!(
                errors(&again).is_empty(),
                "{name} converted with {}: {:?}\n{converted}",
                strategy.name(),
                errors(&again)
            );
            assert!(again.converted.is_empty(), "the output is a TracingPolicy");
            let (a, b) = (&original.policies[0].policy, &again.policies[0].policy);
            assert_eq!(
                without_spans(a),
                without_spans(b),
                "{name} ({}): the converted policy resolves differently",
                strategy.name()
            );
            let rsp = a.rsp.as_ref().expect("an RSP origin");
            for rule in &rsp.rules {
                kinds_seen.insert(rule.kind.clone());
            }
            let (ours, matched) = verdicts(a, &events, true);
            let (theirs, _) = verdicts(b, &events, false);
            assert_eq!(
                ours,
                theirs,
                "{name} ({}): verdicts differ",
                strategy.name()
            );
            assert!(
                matched > 0,
                "{name} ({}): no event matched, the comparison would be vacuous",
                strategy.name()
            );
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        settings.bind(|| insta::assert_snapshot!(format!("convert__rsp__{stem}"), snapshot));
    }
    assert_eq!(
        kinds_seen.into_iter().collect::<Vec<_>>(),
        ["Execution", "File", "Network"]
    );
}

#[test]
fn verdicts_name_the_rule() {
    let path = repo_root().join("fixtures/policies/ok/rsp/mixed-rules.yaml");
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    let report = check("mixed-rules.yaml", &text, Strategy::Lsm);
    let policy = &report.policies[0].policy;
    let mut sim = Simulator::new(&[policy], SimOptions::default());
    let mut rules = std::collections::BTreeSet::new();
    for event in events() {
        for verdict in sim.feed(&event) {
            if let Some(rule) = &verdict.rule {
                let json = verdict.to_json();
                assert_eq!(json["rule"]["index"], rule.index);
                rules.insert(rule.display());
            }
        }
    }
    assert_eq!(
        rules.into_iter().collect::<Vec<_>>(),
        [
            "rules[0] Execution Block",
            "rules[1] File Block",
            "rules[2] Network Audit"
        ]
    );
}
