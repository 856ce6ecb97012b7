//! Flags `sockaddr_un` arguments for Tetragon releases that do not know the
//! type.
//!
//! What it does: `sockaddr_un` (a Unix socket address: its family and
//! `sun_path`) entered the agent in Tetragon 1.7; with `--tetragon 1.6` or
//! older, an `args`, `data` or `returnArg` entry of that type is an error.
//! From 1.7 on it is collected and filtered with `Family` and the string
//! operators (`Equal`, `NotEqual`, `Prefix`, `NotPrefix`; see
//! `operator_type_mismatch`).
//! Why: older agents refuse the hook ("type 'sockaddr_un' unsupported"),
//! although the CRD lists the type.
//! Example: `args: [{index: 1, type: sockaddr_un}]` on `unix_stream_connect`
//! with `--tetragon 1.6`.

use super::VersionedCheck;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{ArgType, Policy};
use crate::tetragon::TetragonVersion;

pub const CHECK: VersionedCheck = VersionedCheck {
    name: "unsupported_sockaddr_un",
    codes: &[Code::UnsupportedArgType],
    run,
};

/// The first release whose agent knows the type.
const KNOWN_SINCE: TetragonVersion = TetragonVersion::V1_7;

fn run(policy: &Policy, version: TetragonVersion, out: &mut Vec<Diagnostic>) {
    if version >= KNOWN_SINCE {
        return;
    }
    for hook in &policy.hooks {
        let args = hook
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("`args[{i}]`"), a));
        let data = hook
            .data
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("`data[{i}]`"), a));
        let ret = hook
            .return_arg
            .iter()
            .map(|a| ("`returnArg`".to_string(), a));
        for (what, arg) in args.chain(data).chain(ret) {
            if arg.ty.value != ArgType::SockaddrUn {
                continue;
            }
            out.push(
                Diagnostic::of(
                    Code::UnsupportedArgType,
                    format!("{what} has type `sockaddr_un`, which Tetragon {version} does not know"),
                )
                .with_primary(arg.ty.span, "unknown to this release")
                .with_help("read the argument as `sockaddr` (family, address and port), or target Tetragon 1.7 or later")
                .with_note(format!(
                    "the agent refuses the hook: \"type 'sockaddr_un' unsupported\"; {}",
                    TetragonVersion::since(KNOWN_SINCE, "accepted", "refused")
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diagnostics_for_version, policy};
    use super::*;

    const UNIX_CONNECT: &str = "  kprobes:\n  - call: unix_stream_connect\n    syscall: false\n    args: [{index: 1, type: sockaddr_un}]\n    selectors:\n    - matchArgs:\n      - {index: 1, operator: Family, values: [AF_UNIX]}\n      - {index: 1, operator: Prefix, values: [/run/]}\n";

    #[test]
    fn known_since_1_7() {
        let y = policy(UNIX_CONNECT);
        for version in [TetragonVersion::V1_7, TetragonVersion::Main] {
            let d = diagnostics_for_version(&y, version);
            assert!(d.is_empty(), "{version}: {d:#?}");
        }
        for version in [TetragonVersion::V1_5, TetragonVersion::V1_6] {
            let d = diagnostics_for_version(&y, version);
            let codes: Vec<Code> = d.iter().map(|d| d.code).collect();
            assert_eq!(codes, [Code::UnsupportedArgType], "{version}: {d:#?}");
        }
    }

    #[test]
    fn only_family_and_string_operators() {
        let refused = policy(&UNIX_CONNECT.replace(
            "operator: Family, values: [AF_UNIX]",
            "operator: SPort, values: [\"80\"]",
        ));
        let codes: Vec<Code> = diagnostics_for_version(&refused, TetragonVersion::V1_7)
            .iter()
            .map(|d| d.code)
            .collect();
        assert_eq!(codes, [Code::OperatorTypeMismatch]);
        let idle = policy(&UNIX_CONNECT.replace("operator: Prefix", "operator: Postfix"));
        let codes: Vec<Code> = diagnostics_for_version(&idle, TetragonVersion::V1_7)
            .iter()
            .map(|d| d.code)
            .collect();
        assert_eq!(codes, [Code::IneffectiveFilter]);
    }
}
