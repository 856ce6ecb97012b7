//! Unit tests of the RuntimeSecurityPolicy frontend.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

use super::strategy::{Strategy, StrategyChoice};
use crate::diagnostics::Code;
use crate::front::{FrontOptions, parse_policies_with};
use crate::span::FileId;

fn parse(yaml: &str, strategy: Strategy) -> crate::front::Parsed {
    let options = FrontOptions {
        rsp_strategy: StrategyChoice::explicit(strategy),
    };
    parse_policies_with(FileId(0), yaml, &options)
}

const EXEC: &str = "apiVersion: cilium.io/v1alpha1
kind: RuntimeSecurityPolicy
metadata:
  name: no-nc
spec:
  selectors:
    executableSelector:
      matchPaths:
      - pattern: Postfix
        operator: In
        values: [/nc]
  rules:
  - type: Execution
    action: Block
";

#[test]
fn execution_becomes_one_lsm_hook() {
    let parsed = parse(EXEC, Strategy::Lsm);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    let policy = &parsed.policies[0];
    assert_eq!(policy.hooks.len(), 1);
    assert_eq!(policy.hooks[0].display_name(), "bprm_creds_from_file");
    let rsp = policy.rsp.as_ref().unwrap();
    let rule = rsp.rule_of(0, 0).unwrap();
    assert_eq!(
        (rule.kind.as_str(), rule.action.as_str()),
        ("Execution", "Block")
    );
    // spans point into the RSP text
    let values = &policy.hooks[0].selectors[0].match_args[0].raw_values[0];
    assert_eq!(&EXEC[values.span.range()], "/nc");
}

#[test]
fn tracepoint_strategy_kills() {
    let parsed = parse(EXEC, Strategy::TracepointSigkill);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    let yaml = parsed.converted[0].1.to_yaml();
    assert!(yaml.contains("event: sys_enter_execve\n"), "{yaml}");
    assert!(yaml.contains("action: Sigkill"), "{yaml}");
}

#[test]
fn bad_input_is_reported_on_the_value() {
    let yaml = "apiVersion: cilium.io/v1alpha1
kind: RuntimeSecurityPolicy
metadata:
  name: bad
spec:
  selectors:
    executableSelector:
      matchPaths: []
  rules:
  - type: Netwrok
    action: Audit
  - type: Network
    action: Block
    network:
      operations: [connect]
      cidrs: [10.0.0.0/33]
      ports: [\"9000-80\"]
";
    let parsed = parse(yaml, Strategy::Lsm);
    let codes: Vec<Code> = parsed.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&Code::RspEmptyBlock), "{codes:?}");
    assert!(codes.contains(&Code::RspInvalidCidr), "{codes:?}");
    assert!(codes.contains(&Code::RspInvalidPort), "{codes:?}");
    let unknown = parsed
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UnknownValue)
        .unwrap();
    assert!(
        unknown.labels.iter().any(|l| l
            .message
            .as_deref()
            .is_some_and(|m| m.contains("`Network`"))),
        "{unknown:#?}"
    );
    let cidr = parsed
        .diagnostics
        .iter()
        .find(|d| d.code == Code::RspInvalidCidr)
        .unwrap();
    assert_eq!(&yaml[cidr.primary_span().unwrap().range()], "10.0.0.0/33");
}
