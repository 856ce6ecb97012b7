//! Properties of the simulator on random policies and events: the verdict's
//! selector is the first selector that matches on its own (selectors are a
//! short-circuit OR), and the verdict never depends on fields no filter
//! reads.

use proptest::prelude::*;
use serde_json::{Value, json};
use tpc::ir::Policy;
use tpc::sim::{SelectorOutcome, SimOptions, Simulator};
use tpc_events::Event;

const BINARIES: &[&str] = &[
    "/bin/sh",
    "/usr/bin/cat",
    "/usr/bin/curl",
    "/usr/sbin/sshd",
    "/usr/local/bin/app",
];
const WORDS: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/tmp/x",
    "passwd",
    "/etc/",
    ".so",
    "/usr/lib/libc.so",
    "x",
];

#[derive(Clone, Debug)]
enum Filter {
    Int {
        op: &'static str,
        values: Vec<String>,
    },
    Text {
        op: &'static str,
        values: Vec<&'static str>,
    },
    Path {
        op: &'static str,
        values: Vec<&'static str>,
    },
    Binary {
        op: &'static str,
        values: Vec<&'static str>,
        parent: bool,
    },
    Pid {
        op: &'static str,
        values: Vec<u32>,
        follow: bool,
    },
}

#[derive(Clone, Debug)]
struct SelectorSpec {
    filters: Vec<Filter>,
    actions: Vec<&'static str>,
}

fn int_filter() -> impl Strategy<Value = Filter> {
    let plain = (
        prop::sample::select(vec![
            "Equal", "NotEqual", "GT", "LT", "Mask", "InMap", "NotInMap",
        ]),
        prop::collection::vec(-4i32..12, 1..4),
    )
        .prop_map(|(op, values)| {
            let values = values
                .into_iter()
                .map(|v| {
                    if op.contains("Map") {
                        v.abs().to_string()
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            Filter::Int { op, values }
        });
    let ranges = (
        prop::sample::select(vec!["InRange", "NotInRange"]),
        prop::collection::vec((-4i32..8, 0i32..6), 1..3),
    )
        .prop_map(|(op, bounds)| Filter::Int {
            op,
            values: bounds
                .into_iter()
                .map(|(lo, len)| format!("{lo}:{}", lo + len))
                .collect(),
        });
    prop_oneof![plain, ranges]
}

fn filter() -> impl Strategy<Value = Filter> {
    let text_ops = vec![
        "Equal",
        "NotEqual",
        "Prefix",
        "NotPrefix",
        "Postfix",
        "NotPostfix",
        "SubString",
    ];
    let path_ops = vec![
        "Equal",
        "NotEqual",
        "Prefix",
        "NotPrefix",
        "Postfix",
        "NotPostfix",
    ];
    prop_oneof![
        int_filter(),
        (
            prop::sample::select(text_ops),
            prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..3)
        )
            .prop_map(|(op, values)| Filter::Text { op, values }),
        (
            prop::sample::select(path_ops),
            prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..3)
        )
            .prop_map(|(op, values)| Filter::Path { op, values }),
        (
            prop::sample::select(vec![
                "In",
                "NotIn",
                "Prefix",
                "NotPrefix",
                "Postfix",
                "NotPostfix"
            ]),
            prop::collection::vec(prop::sample::select(BINARIES.to_vec()), 1..3),
            any::<bool>()
        )
            .prop_map(|(op, values, parent)| Filter::Binary { op, values, parent }),
        (
            prop::sample::select(vec!["In", "NotIn"]),
            prop::collection::vec(1u32..8, 1..4),
            any::<bool>()
        )
            .prop_map(|(op, values, follow)| Filter::Pid { op, values, follow }),
    ]
}

fn selector() -> impl Strategy<Value = SelectorSpec> {
    (
        prop::collection::vec(filter(), 0..4),
        prop::collection::vec(
            prop::sample::select(vec!["Post", "NoPost", "Sigkill", "Signal"]),
            0..3,
        ),
    )
        .prop_map(|(filters, actions)| SelectorSpec { filters, actions })
}

fn quoted(values: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    values
        .into_iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The policy as YAML. One filter per kind at most (Tetragon's rules:
/// one matchBinaries, one matchPIDs), and each argument filtered at most
/// once per selector.
fn policy_yaml(selectors: &[SelectorSpec]) -> String {
    let mut out = String::from(
        "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: random
spec:
  kprobes:
  - call: test_function
    syscall: false
    args:
    - index: 0
      type: int
    - index: 1
      type: string
    - index: 2
      type: file
    selectors:
",
    );
    for s in selectors {
        let mut args = Vec::new();
        let mut binaries = None;
        let mut parents = None;
        let mut pids = None;
        let mut used = [false; 3];
        for f in &s.filters {
            match f {
                Filter::Int { op, values } if !used[0] => {
                    used[0] = true;
                    args.push(format!(
                        "      - index: 0\n        operator: {op}\n        values: [{}]\n",
                        quoted(values)
                    ));
                }
                Filter::Text { op, values } if !used[1] => {
                    used[1] = true;
                    args.push(format!(
                        "      - index: 1\n        operator: {op}\n        values: [{}]\n",
                        quoted(values)
                    ));
                }
                Filter::Path { op, values } if !used[2] => {
                    used[2] = true;
                    args.push(format!(
                        "      - index: 2\n        operator: {op}\n        values: [{}]\n",
                        quoted(values)
                    ));
                }
                Filter::Binary { op, values, parent } => {
                    let slot = if *parent { &mut parents } else { &mut binaries };
                    if slot.is_none() {
                        *slot = Some(format!(
                            "      - operator: {op}\n        values: [{}]\n",
                            quoted(values)
                        ));
                    }
                }
                Filter::Pid { op, values, follow } if pids.is_none() => {
                    pids = Some(format!(
                        "      - operator: {op}\n        values: [{}]\n        followForks: {follow}\n",
                        values
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                _ => {}
            }
        }
        out.push_str("    - matchActions: [");
        out.push_str(
            &s.actions
                .iter()
                .map(|a| {
                    if *a == "Signal" {
                        "{action: Signal, argSig: 10}".to_string()
                    } else {
                        format!("{{action: {a}}}")
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str("]\n");
        if !args.is_empty() {
            out.push_str("      matchArgs:\n");
            out.push_str(&args.concat());
        }
        if let Some(b) = binaries {
            out.push_str("      matchBinaries:\n");
            out.push_str(&b);
        }
        if let Some(b) = parents {
            out.push_str("      matchParentBinaries:\n");
            out.push_str(&b);
        }
        if let Some(p) = pids {
            out.push_str("      matchPIDs:\n");
            out.push_str(&p);
        }
    }
    out
}

#[derive(Clone, Debug)]
struct EventSpec {
    pid: u32,
    binary: &'static str,
    parent_pid: u32,
    parent_binary: &'static str,
    int_arg: i32,
    text: &'static str,
    path: &'static str,
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    (
        1u32..8,
        prop::sample::select(BINARIES.to_vec()),
        1u32..8,
        prop::sample::select(BINARIES.to_vec()),
        -6i32..14,
        prop::sample::select(WORDS.to_vec()),
        prop::sample::select(vec![
            "/etc/passwd",
            "/etc/shadow",
            "/tmp/x",
            "/",
            "/usr/lib/libc.so",
            "etc/passwd",
        ]),
    )
        .prop_map(
            |(pid, binary, parent_pid, parent_binary, int_arg, text, path)| EventSpec {
                pid,
                binary,
                parent_pid,
                parent_binary,
                int_arg,
                text,
                path,
            },
        )
}

/// Fields no filter of the generated policies reads.
#[derive(Clone, Debug)]
struct Unrelated {
    node: String,
    cwd: String,
    arguments: String,
    seconds: u32,
    uid: u32,
    extra_arg: i64,
    unknown: bool,
    pod: Option<String>,
}

fn unrelated() -> impl Strategy<Value = Unrelated> {
    (
        "[a-z]{1,8}",
        "/[a-z]{0,6}",
        "[a-z -]{0,12}",
        0u32..86_400,
        0u32..2000,
        any::<i64>(),
        any::<bool>(),
        prop::option::of("[a-z]{1,6}"),
    )
        .prop_map(
            |(node, cwd, arguments, seconds, uid, extra_arg, unknown, pod)| Unrelated {
                node,
                cwd,
                arguments,
                seconds,
                uid,
                extra_arg,
                unknown,
                pod,
            },
        )
}

fn event_json(e: &EventSpec, u: Option<&Unrelated>) -> Value {
    let mut process = json!({"exec_id": format!("e{}", e.pid), "pid": e.pid, "binary": e.binary, "parent_exec_id": format!("e{}", e.parent_pid)});
    let mut args = vec![
        json!({"int_arg": e.int_arg}),
        json!({"string_arg": e.text}),
        json!({"file_arg": {"path": e.path}}),
    ];
    let mut event = json!({});
    if let Some(u) = u {
        process["cwd"] = json!(u.cwd);
        process["arguments"] = json!(u.arguments);
        process["uid"] = json!(u.uid);
        if let Some(pod) = &u.pod {
            process["pod"] = json!({"namespace": "ns", "name": pod});
        }
        args.push(json!({"long_arg": u.extra_arg.to_string()}));
        event["node_name"] = json!(u.node);
        event["time"] = json!(format!(
            "2024-05-01T{:02}:{:02}:{:02}Z",
            u.seconds / 3600,
            u.seconds / 60 % 60,
            u.seconds % 60
        ));
        if u.unknown {
            event["some_future_field"] = json!({"x": 1});
        }
    }
    event["process_kprobe"] = json!({
        "process": process,
        "parent": {"exec_id": format!("e{}", e.parent_pid), "pid": e.parent_pid, "binary": e.parent_binary},
        "function_name": "test_function",
        "args": args,
    });
    event
}

fn parse_event(v: &Value) -> Event {
    Event::from_json(&v.to_string()).expect("generated events are valid")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_first_matching_selector_decides(selectors in prop::collection::vec(selector(), 1..6), events in prop::collection::vec(event_spec(), 1..6)) {
        let yaml = policy_yaml(&selectors);
        let report = tpc::driver::check_sources(vec![("random.yaml".into(), yaml.clone())]);
        prop_assume!(report.tally().errors == 0);
        let policies: Vec<&Policy> = report.policies.iter().map(|p| &p.policy).collect();
        prop_assert_eq!(policies.len(), 1);
        let mut sim = Simulator::new(&policies, SimOptions::default());
        for spec in &events {
            let event = parse_event(&event_json(spec, None));
            let verdicts = sim.feed(&event);
            prop_assert_eq!(verdicts.len(), 1);
            let one_by_one: Vec<bool> = (0..selectors.len()).map(|i| sim.selector_matches(0, 0, i, &event)).collect();
            let expected = one_by_one.iter().position(|m| *m).map_or(SelectorOutcome::NoneMatched, SelectorOutcome::Matched);
            prop_assert_eq!(verdicts[0].selector, expected, "policy:\n{}\nevent: {:?}\nper selector: {:?}", yaml, spec, one_by_one);
            // Posting follows from the winner's actions.
            let no_post = expected.index().is_some_and(|i| selectors[i].actions.contains(&"NoPost"));
            prop_assert_eq!(verdicts[0].posted, expected.matched() && !no_post);
        }
    }

    #[test]
    fn verdicts_ignore_fields_no_filter_reads(selectors in prop::collection::vec(selector(), 1..6), spec in event_spec(), a in unrelated(), b in unrelated()) {
        let yaml = policy_yaml(&selectors);
        let report = tpc::driver::check_sources(vec![("random.yaml".into(), yaml.clone())]);
        prop_assume!(report.tally().errors == 0);
        let policies: Vec<&Policy> = report.policies.iter().map(|p| &p.policy).collect();
        let verdict_of = |u: Option<&Unrelated>| {
            let mut sim = Simulator::new(&policies, SimOptions::default());
            let v = sim.feed(&parse_event(&event_json(&spec, u)));
            v.iter().map(|x| (x.selector, x.posted, x.action_names(), x.action.clone())).collect::<Vec<_>>()
        };
        let bare = verdict_of(None);
        prop_assert_eq!(&bare, &verdict_of(Some(&a)), "policy:\n{}", yaml);
        prop_assert_eq!(&bare, &verdict_of(Some(&b)), "policy:\n{}", yaml);
    }
}
