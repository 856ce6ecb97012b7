//! `tpc verify`: every program a bundle needs, loaded through the live
//! kernel's verifier without attaching, with where each program is used.
//!
//! Programs are assigned to a bundle's hooks as `tpc run` assigns them to a
//! first bundle (per program family, slots in the order the hooks come),
//! and fentry and LSM programs are loaded for each hook's own target, as
//! their BTF attach point is part of the load. The base sensor's programs
//! come first: `tpc run` needs them for any bundle.

use std::time::Duration;

use tpc_bundle::{AttachPoint, Bundle, SourcePlace};

use crate::{
    AttachTarget, RuntimeError,
    backend::aya_backend::{self, LoadOptions},
    policies,
};

/// One program of a bundle and what the verifier said.
#[derive(Debug, Clone)]
pub struct ProgramReport {
    pub program: String,
    pub target: String,
    /// (policy, hook locator, place in its file) for each use.
    pub uses: Vec<(String, String, SourcePlace)>,
    /// Instructions processed by the verifier and the program's size in
    /// instructions, or why it did not load.
    pub outcome: Result<(Option<u32>, Option<u32>), String>,
    /// A problem with the target that loading does not show (a kprobe's
    /// function the kernel cannot probe, a missing tracepoint).
    pub target_problem: Option<String>,
    /// Every hook it serves says `ignore: callNotFound`: a missing target
    /// leaves them out at run time instead of failing the load.
    pub optional: bool,
    pub load_time: Duration,
}

type Uses = Vec<(String, String, SourcePlace)>;

/// The base sensor's programs, which `tpc run` loads for any bundle.
fn base_programs() -> Vec<(String, AttachTarget, Uses)> {
    vec![
        (
            "tpc_sched_process_exec".into(),
            AttachTarget::Tracepoint {
                category: "sched".into(),
                name: "sched_process_exec".into(),
            },
            Vec::new(),
        ),
        (
            "tpc_sched_process_fork".into(),
            AttachTarget::RawTracepoint {
                name: "sched_process_fork".into(),
            },
            Vec::new(),
        ),
        (
            "tpc_sched_process_exit".into(),
            AttachTarget::Tracepoint {
                category: "sched".into(),
                name: "sched_process_exit".into(),
            },
            Vec::new(),
        ),
    ]
}

/// The hook programs a bundle needs, with their targets and uses.
pub fn programs_of(bundle: &Bundle) -> Vec<(String, AttachTarget, Uses)> {
    let mut out: Vec<(String, AttachTarget, Uses)> = Vec::new();
    let mut seen: Vec<(AttachPoint, usize)> = Vec::new();
    let mut next_slot: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for policy in &bundle.policies {
        for hook in &policy.hooks {
            let user = (policy.name.clone(), hook.locator.clone(), hook.place);
            if let Some((_, at)) = seen.iter().find(|(a, _)| *a == hook.attach) {
                // the entry program, then its fmod_ret and return programs
                let followers = usize::from(hook.attach.fmod_ret_program(0).is_some())
                    + usize::from(hook.attach.returns());
                for program in &mut out[*at..=*at + followers] {
                    program.2.push(user.clone());
                }
                continue;
            }
            let family = hook.attach.program(0);
            let slot = next_slot.entry(family).or_insert(0);
            let program = hook.attach.program(*slot);
            let fmod_ret = hook.attach.fmod_ret_program(*slot);
            *slot += 1;
            seen.push((hook.attach.clone(), out.len()));
            out.push((
                program,
                policies::attach_target(&hook.attach),
                vec![user.clone()],
            ));
            // the fmod_ret program of an Override shares the kprobe's slot
            if let (Some(program), AttachTarget::Kprobe { function }) =
                (fmod_ret, policies::attach_target(&hook.attach))
            {
                out.push((
                    program,
                    AttachTarget::FmodRet { function },
                    vec![user.clone()],
                ));
            }
            // a return probe's program comes right after its entry program
            if let (Some(family), Some(target)) = (
                hook.attach.return_program(0),
                policies::return_target(&hook.attach),
            ) {
                let slot = next_slot.entry(family).or_insert(0);
                let program = hook.attach.return_program(*slot).unwrap_or_default();
                *slot += 1;
                out.push((program, target, vec![user]));
            }
        }
    }
    out
}

/// The target as `tpc verify` names it: a return program's kprobe or
/// uprobe target is the same function or symbol, run at its return.
fn shown_target(program: &str, target: &AttachTarget) -> String {
    let shown = target.to_string();
    let returns = program.starts_with("tpc_kretprobe") || program.starts_with("tpc_uretprobe");
    match shown.split_once(' ') {
        Some((kind, rest)) if returns && (kind == "kprobe" || kind == "uprobe") => {
            format!("{}retprobe {rest}", &kind[..1])
        }
        _ => shown,
    }
}

/// What loading cannot tell about a target.
fn target_problem(target: &AttachTarget, probeable: Option<&str>) -> Option<String> {
    match target {
        AttachTarget::Kprobe { function } => {
            let list = probeable?;
            (!list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(function)))
            .then(|| {
                format!("the kernel cannot probe {function} (not in available_filter_functions)")
            })
        }
        AttachTarget::Tracepoint { category, name } => {
            let format = crate::tracefs::Tracefs::running().format(category, name);
            format.err()
        }
        AttachTarget::Uprobe { path, .. } => {
            (!std::path::Path::new(path).exists()).then(|| format!("{path} does not exist here"))
        }
        AttachTarget::Usdt { .. } => crate::policies::missing_target(target),
        _ => None,
    }
}

/// Says why the kernel refused a load with EPERM where the kernel, not
/// the privilege, is the reason.
fn refusal_hint(
    target: &AttachTarget,
    outcome: &Result<(Option<u32>, Option<u32>), String>,
) -> Option<String> {
    let Err(reason) = outcome else {
        return None;
    };
    if !reason.contains("Operation not permitted") {
        return None;
    }
    match target {
        AttachTarget::Lsm { .. } => match std::fs::read_to_string("/sys/kernel/security/lsm") {
            Ok(lsms) => (!lsms.trim().split(',').any(|l| l == "bpf")).then(|| {
                format!(
                    "BPF LSM is not active on this kernel (active LSMs: {}; it needs CONFIG_BPF_LSM and `bpf` in lsm=)",
                    lsms.trim()
                )
            }),
            Err(_) => Some(
                "this kernel refuses LSM programs here: BPF LSM needs CONFIG_BPF_LSM and `bpf` in lsm= (the active LSMs are unknown: securityfs is not mounted at /sys/kernel/security)".into(),
            ),
        },
        AttachTarget::Fentry { .. } | AttachTarget::FmodRet { .. } => Some(
            "this kernel refuses trampoline programs (fentry, fmod_ret) here (BPF trampolines: CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS)".into(),
        ),
        _ => None,
    }
}

/// Loads every program the bundles need through the verifier, in one load
/// of the sensor object: the base sensor's programs (`None`), then each
/// bundle's hook programs (`Some(index)`). A program with the same target
/// in several bundles is loaded once.
pub fn verify_bundles(
    bundles: &[&Bundle],
) -> Result<Vec<(Option<usize>, ProgramReport)>, RuntimeError> {
    let mut wanted: Vec<(Option<usize>, String, AttachTarget, Uses)> = base_programs()
        .into_iter()
        .map(|(p, t, u)| (None, p, t, u))
        .collect();
    for (i, bundle) in bundles.iter().enumerate() {
        wanted.extend(
            programs_of(bundle)
                .into_iter()
                .map(|(p, t, u)| (Some(i), p, t, u)),
        );
    }
    let mut list: Vec<(String, AttachTarget)> = Vec::new();
    for (_, program, target, _) in &wanted {
        if !list.iter().any(|(p, t)| p == program && t == target) {
            list.push((program.clone(), target.clone()));
        }
    }
    let options = LoadOptions {
        map_sizes: policies::map_sizes(bundles),
        ..LoadOptions::default()
    };
    let checks = aya_backend::verify_programs(&options, &list)?;
    let probeable = crate::tracefs::Tracefs::running().read_file("available_filter_functions");
    Ok(wanted
        .into_iter()
        .filter_map(|(bundle, program, target, uses)| {
            let check = checks
                .iter()
                .find(|c| c.program == program && c.target == target)?;
            let optional = bundle.and_then(|i| bundles.get(i)).is_some_and(|b| {
                !uses.is_empty()
                    && uses.iter().all(|(policy, locator, _)| {
                        b.policies
                            .iter()
                            .filter(|p| &p.name == policy)
                            .flat_map(|p| &p.hooks)
                            .any(|h| &h.locator == locator && h.optional)
                    })
            });
            let shown = shown_target(&program, &target);
            Some((
                bundle,
                ProgramReport {
                    optional,
                    target_problem: refusal_hint(&target, &check.outcome)
                        .or_else(|| target_problem(&target, probeable.as_deref())),
                    program,
                    target: shown,
                    uses,
                    outcome: check.outcome.clone(),
                    load_time: check.load_time,
                },
            ))
        })
        .collect())
}
