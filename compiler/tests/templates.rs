//! Templates and bindings end to end in the library: a binding is the
//! policy it stands for (the same filters as the TracingPolicy written by
//! hand), the simulator scopes each binding to its cgroups and applies
//! overrides, and `tpc build` makes one bundle whose policies share the
//! template's hook.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use serde_json::{Value, json};
use tpc::diagnostics::Severity;
use tpc::driver::{Input, KernelRequest, Report};
use tpc::ir::Policy;
use tpc::sim::{SimOptions, Simulator};
use tpc_bundle::PolicyScope;
use tpc_events::Event;

const TEMPLATE: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicyTemplate
metadata:
  name: block-open
spec:
  variables:
  - name: paths
    type: string
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
    args:
    - index: 6
      type: string
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        valuesFromVariable: paths
      matchActions:
      - action: Sigkill
";

fn binding(name: &str, cgroup: &str, values: &[&str], override_priority: Option<i64>) -> String {
    let values: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    let overrides = override_priority.map_or_else(String::new, |p| {
        format!("  overrideAllowed: true\n  overridePriority: {p}\n")
    });
    format!(
        "---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicyBinding
metadata:
  name: {name}
spec:
  templateRef:
    name: block-open
  cgroups: [{cgroup}]
{overrides}  bindings:
  - name: paths
    values: [{}]
",
        values.join(", ")
    )
}

fn check(text: &str) -> Report {
    let report = tpc::driver::check_sources(vec![("case.yaml".into(), text.into())]);
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code.as_str(), d.message))
        .collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    report
}

fn policy<'r>(report: &'r Report, name: &str) -> &'r Policy {
    &report
        .policies
        .iter()
        .find(|p| p.policy.name.value == name)
        .unwrap_or_else(|| panic!("no policy {name}"))
        .policy
}

fn open_event(pid: u32, parent: u32, path: &str) -> Event {
    let value: Value = json!({
        "process_tracepoint": {
            "process": {"exec_id": format!("id-{pid}"), "pid": pid, "binary": "/usr/bin/cat",
                        "parent_exec_id": format!("id-{parent}")},
            "subsys": "syscalls", "event": "sys_enter_openat",
            "args": [{"string_arg": path}]
        },
        "time": "2024-05-01T10:00:00Z"
    });
    Event::from_json(&value.to_string()).unwrap()
}

fn exec_event(pid: u32, parent: u32) -> Event {
    let value: Value = json!({
        "process_exec": {
            "process": {"exec_id": format!("id-{pid}"), "pid": pid, "binary": "/bin/sh",
                        "parent_exec_id": format!("id-{parent}")},
        },
        "time": "2024-05-01T10:00:00Z"
    });
    Event::from_json(&value.to_string()).unwrap()
}

#[test]
fn a_binding_is_the_policy_it_stands_for() {
    let text = format!(
        "{TEMPLATE}{}{}",
        binding("web", "web.slice", &["/etc/", "/root/"], None),
        binding("db", "db.slice", &["/var/lib/db/"], None)
    );
    let report = check(&text);
    assert_eq!(report.policies.len(), 2);
    let by_hand = check(
        "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: web
spec:
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
    args:
    - index: 6
      type: string
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: [\"/etc/\", \"/root/\"]
      matchActions:
      - action: Sigkill
",
    );
    let bound = policy(&report, "web");
    let written = policy(&by_hand, "web");
    let filter = |p: &Policy| {
        let f = &p.hooks[0].selectors[0].match_args[0];
        (
            f.operator.value,
            f.targets.clone(),
            f.values.iter().map(|v| v.value.clone()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(filter(bound), filter(written));
    assert_eq!(
        bound.hooks[0].selectors[0].match_actions.len(),
        written.hooks[0].selectors[0].match_actions.len()
    );
    let b = bound.binding.as_ref().unwrap();
    assert_eq!(b.template.value, "block-open");
    assert_eq!(b.cgroups[0].value, "web.slice");
    // the value's span is the binding's line, not the template's
    let value_span = bound.hooks[0].selectors[0].match_args[0].values[0].span;
    assert!(b.span.contains(value_span));
}

#[test]
fn the_simulator_scopes_each_binding_to_its_cgroups() {
    let text = format!(
        "{TEMPLATE}{}{}",
        binding("web", "web.slice", &["/etc/"], None),
        binding("db", "db.slice", &["/var/lib/db/"], None)
    );
    let report = check(&text);
    let policies: Vec<&Policy> = report.policies.iter().map(|p| &p.policy).collect();
    let mut sim = Simulator::new(&policies, SimOptions::default());
    sim.place_in_cgroup(100, "web.slice");
    sim.place_in_cgroup(200, "/db.slice/");
    let posted = |sim: &mut Simulator<'_>, event: &Event| -> Vec<String> {
        sim.feed(event)
            .iter()
            .filter(|v| v.posted)
            .map(|v| v.policy.to_string())
            .collect()
    };
    sim.feed(&exec_event(100, 1));
    sim.feed(&exec_event(101, 100));
    // a child of the web workload opening a web-guarded path: web only
    assert_eq!(
        posted(&mut sim, &open_event(101, 100, "/etc/passwd")),
        ["web"]
    );
    // the same path from the db workload: db's values do not guard it
    assert!(posted(&mut sim, &open_event(200, 1, "/etc/passwd")).is_empty());
    assert_eq!(
        posted(&mut sim, &open_event(200, 1, "/var/lib/db/x")),
        ["db"]
    );
    // a process in no bound cgroup: neither
    assert!(posted(&mut sim, &open_event(300, 1, "/etc/passwd")).is_empty());
}

#[test]
fn a_higher_override_priority_takes_the_workload() {
    let text = format!(
        "{TEMPLATE}{}{}",
        binding("default", "web.slice", &["/etc/"], Some(0)),
        binding("strict", "/", &["/etc/", "/root/"], Some(5))
    );
    let report = check(&text);
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.code.as_str() == "TPC306")
    );
    let policies: Vec<&Policy> = report.policies.iter().map(|p| &p.policy).collect();
    let mut sim = Simulator::new(&policies, SimOptions::default());
    sim.place_in_cgroup(100, "web.slice");
    let posted: Vec<String> = sim
        .feed(&open_event(100, 1, "/etc/passwd"))
        .iter()
        .filter(|v| v.posted)
        .map(|v| v.policy.to_string())
        .collect();
    assert_eq!(posted, ["strict"]);
}

#[test]
fn conflicting_bindings_are_both_rolled_back() {
    let text = format!(
        "{TEMPLATE}{}{}{}",
        binding("a", "web.slice", &["/etc/"], None),
        binding("b", "web.slice/app.scope", &["/root/"], Some(3)),
        binding("c", "db.slice", &["/root/"], None)
    );
    let report = tpc::driver::check_sources(vec![("case.yaml".into(), text)]);
    let conflict = report
        .diagnostics
        .iter()
        .find(|d| d.code.as_str() == "TPC305")
        .expect("a conflict");
    assert_eq!(conflict.labels.len(), 2, "a label on each binding");
    let names: Vec<&str> = report
        .policies
        .iter()
        .map(|p| p.policy.name.value.as_str())
        .collect();
    assert_eq!(names, ["c"]);
}

#[test]
fn a_template_and_its_bindings_build_into_one_bundle() {
    let dir = std::env::temp_dir().join(format!("tpc-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("template.yaml");
    let bindings = dir.join("bindings.yaml");
    std::fs::write(&template, TEMPLATE).unwrap();
    std::fs::write(
        &bindings,
        format!(
            "{}{}",
            binding("web", "web.slice", &["/etc/"], None),
            binding("db", "db.slice", &["/var/"], None)
        )
        .trim_start_matches("---\n"),
    )
    .unwrap();
    let kernel = KernelRequest::Selected(vec![tpc::btf::KernelSelection::Carried("6.18".into())]);
    let outcome = tpc::lower::build::build(
        &[Input::Path(template.clone()), Input::Path(bindings)],
        &kernel,
    )
    .unwrap();
    let bundle = outcome.bundle.expect("builds");
    assert_eq!(bundle.policies.len(), 2);
    for (policy, cgroup) in bundle.policies.iter().zip(["web.slice", "db.slice"]) {
        assert_eq!(
            policy.scope,
            PolicyScope::Cgroups {
                paths: vec![cgroup.into()]
            }
        );
        let unit = policy.binding.as_ref().unwrap();
        assert_eq!(unit.template, "block-open");
        assert_eq!(policy.hooks.len(), 1);
    }
    assert_eq!(
        bundle.policies[0].hooks[0].attach,
        bundle.policies[1].hooks[0].attach
    );
    // the template's file travels with the bundle (the IR points into it)
    assert!(
        bundle
            .sources
            .iter()
            .any(|s| s.text.contains("valuesFromVariable"))
    );
    // a template alone builds nothing and says nothing is wrong with it
    let alone = tpc::lower::build::build(&[Input::Path(template)], &kernel).unwrap();
    assert!(
        alone
            .report
            .diagnostics
            .iter()
            .all(|d| d.severity < Severity::Warning),
        "{:?}",
        alone.report.diagnostics
    );
    assert!(alone.bundle.is_none_or(|b| b.policies.is_empty()));
    let _ignored = std::fs::remove_dir_all(&dir);
}
