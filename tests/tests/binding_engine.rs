//! The policy engine on template bindings, against the in-memory kernel
//! (no root needed): bindings of one template share the hook, an override
//! swaps the winner's id into the loser's place in one list update (and
//! back when the winner goes), and a conflict without override refuses the
//! new binding and rolls back the running one, leaving other bindings be.
//! Every list write of the shared cgroup is checked: between any two
//! writes a hit sees exactly one of the two bindings.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::{fs, os::unix::fs::MetadataExt, path::PathBuf};

use tpc::btf::KernelSelection;
use tpc::driver::{Input, KernelRequest};
use tpc_bundle::{Bundle, KernelVersion, kernel::maps};
use tpc_runtime::{FakeBackend, HostInfo, LoadError, PolicyEngine, tracefs::Tracefs};

/// The layout of syscalls/sys_enter_openat on the carried 6.18 kernel.
const OPENAT_FORMAT: &str = "name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: \"dfd: 0x%08lx\"
";

const TEMPLATE: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicyTemplate
metadata:
  name: guard
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

struct Host {
    dir: PathBuf,
}

impl Host {
    fn new(label: &str) -> Host {
        let dir =
            std::env::temp_dir().join(format!("tpc-binding-engine-{label}-{}", std::process::id()));
        let _ignored = fs::remove_dir_all(&dir);
        let events = dir.join("events/syscalls/sys_enter_openat");
        fs::create_dir_all(&events).unwrap();
        fs::write(events.join("format"), OPENAT_FORMAT).unwrap();
        for cgroup in ["cg/w0", "cg/w1", "cg/w0/inner"] {
            fs::create_dir_all(dir.join(cgroup)).unwrap();
        }
        Host { dir }
    }

    fn info(&self) -> HostInfo {
        HostInfo {
            tracefs: Tracefs::at(self.dir.join("events")),
            cgroup_root: self.dir.join("cg"),
            kernel: KernelVersion {
                major: 6,
                minor: 18,
            },
            release: "6.18.0".into(),
        }
    }

    /// The cgroup id of `cg/NAME`.
    fn cgroup(&self, name: &str) -> u64 {
        fs::metadata(self.dir.join("cg").join(name)).unwrap().ino()
    }

    /// The template with one binding, built.
    fn build(&self, name: &str, cgroup: &str, overrides: &str) -> Bundle {
        let file = self.dir.join(format!("{name}.yaml"));
        fs::write(
            &file,
            format!(
                "{TEMPLATE}---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicyBinding
metadata:
  name: {name}
spec:
  templateRef:
    name: guard
  cgroups: [{cgroup}]
{overrides}  bindings:
  - name: paths
    values: [\"/srv/{name}/\"]
"
            ),
        )
        .unwrap();
        let kernel = KernelRequest::Selected(vec![KernelSelection::Carried("6.18".into())]);
        let outcome = tpc::lower::build::build(&[Input::Path(file)], &kernel).unwrap();
        outcome.bundle.expect("the binding builds")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ignored = fs::remove_dir_all(&self.dir);
    }
}

/// The policy hooks listed for `cgroup` (any hook) in a list value.
fn ids(value: &[u8]) -> Vec<u32> {
    let word = |at: usize| u32::from_ne_bytes(value[at..at + 4].try_into().unwrap());
    (0..word(0) as usize).map(|i| word(4 + 4 * i)).collect()
}

fn is_list_of(key: &[u8], cgroup: u64) -> bool {
    key.len() == 16 && u64::from_ne_bytes(key[8..16].try_into().unwrap()) == cgroup
}

/// What the list of `cgroup` holds after each logged write, from `from`.
fn list_history(backend: &FakeBackend, from: usize, cgroup: u64) -> Vec<Option<Vec<u32>>> {
    backend.log[from..]
        .iter()
        .filter(|op| op.map == maps::LISTS && is_list_of(&op.key, cgroup))
        .map(|op| op.value.as_deref().map(ids))
        .collect()
}

fn listed(backend: &FakeBackend, cgroup: u64) -> Vec<u32> {
    backend
        .maps
        .iter()
        .filter(|((map, key), _)| *map == maps::LISTS && is_list_of(key, cgroup))
        .flat_map(|(_, value)| ids(value))
        .collect()
}

/// The policy hook of policy `name`.
fn ph_of(engine: &PolicyEngine, name: &str) -> u32 {
    (1..64)
        .find(|ph| {
            engine
                .policy_hook(*ph)
                .is_some_and(|i| i.policy_name == name)
        })
        .unwrap_or_else(|| panic!("no policy hook of {name}"))
}

/// Where in the log `map`/`key` was written (or deleted) last, from `from`.
fn position(backend: &FakeBackend, from: usize, map: &str, key: &[u8], deleted: bool) -> usize {
    backend.log[from..]
        .iter()
        .rposition(|op| op.map == map && op.key == key && op.value.is_none() == deleted)
        .map(|p| p + from)
        .unwrap_or_else(|| {
            panic!(
                "no {} of {map} {key:?}",
                if deleted { "delete" } else { "write" }
            )
        })
}

#[test]
fn an_override_swaps_ids_in_one_write_each_way() {
    let host = Host::new("override");
    let mut backend = FakeBackend::default();
    let mut engine = PolicyEngine::new(host.info(), 256);
    let (w0, w1) = (host.cgroup("w0"), host.cgroup("w1"));
    let allow = |p: i64| format!("  overrideAllowed: true\n  overridePriority: {p}\n");
    let a = host.build("a", "w0", &allow(0));
    let b = host.build("b", "w1", "");
    let c = host.build("c", "w0", &allow(5));

    engine.load(&mut backend, &a, "a", &[]).unwrap();
    engine.load(&mut backend, &b, "b", &[]).unwrap();
    let (pa, pb) = (ph_of(&engine, "a"), ph_of(&engine, "b"));
    assert_eq!(listed(&backend, w0), [pa]);
    assert_eq!(listed(&backend, w1), [pb]);
    assert_eq!(engine.attached().len(), 1, "one program for both bindings");

    // C takes w0 from A: C's entries first, then one list write with C in A's place
    let from = backend.log.len();
    let c_id = engine.load(&mut backend, &c, "c", &[]).unwrap();
    let pc = ph_of(&engine, "c");
    assert_eq!(list_history(&backend, from, w0), [Some(vec![pc])]);
    let ph_key = pc.to_ne_bytes();
    let list_key = tpc_bundle::layout::list_key(1, w0);
    assert!(
        position(&backend, from, maps::POLICY_HOOKS, &ph_key, false)
            < position(&backend, from, maps::LISTS, &list_key, false)
    );
    assert!(
        list_history(&backend, from, w1).is_empty(),
        "B is untouched"
    );

    // C goes: A is back in one write, before C's entries are deleted
    let from = backend.log.len();
    engine.unload(&mut backend, c_id).unwrap();
    assert_eq!(list_history(&backend, from, w0)[0], Some(vec![pa]));
    assert!(
        list_history(&backend, from, w0)
            .iter()
            .all(|l| l.as_ref().is_some_and(|l| l == &[pa]))
    );
    assert!(
        position(&backend, from, maps::LISTS, &list_key, false)
            < position(&backend, from, maps::POLICY_HOOKS, &ph_key, true)
    );
    assert_eq!(listed(&backend, w0), [pa]);
    assert_eq!(listed(&backend, w1), [pb]);

    // a lower priority on w0 loads, and does not apply there while A does
    let low = host.build("low", "w0", &allow(-1));
    let low_id = engine.load(&mut backend, &low, "low", &[]).unwrap();
    assert_eq!(listed(&backend, w0), [pa]);
    engine.unload(&mut backend, low_id).unwrap();
    assert_eq!(listed(&backend, w0), [pa]);
}

#[test]
fn a_conflict_rolls_back_both_bindings() {
    let host = Host::new("conflict");
    let mut backend = FakeBackend::default();
    let mut engine = PolicyEngine::new(host.info(), 256);
    let (w0, w1) = (host.cgroup("w0"), host.cgroup("w1"));
    let a = host.build("a", "w0", "");
    let b = host.build("b", "w1", "");
    let d = host.build(
        "d",
        "w0",
        "  overrideAllowed: true\n  overridePriority: 9\n",
    );
    let a_id = engine.load(&mut backend, &a, "a", &[]).unwrap();
    engine.load(&mut backend, &b, "b", &[]).unwrap();
    let pb = ph_of(&engine, "b");
    let error = engine.load(&mut backend, &d, "d", &[]).unwrap_err();
    assert!(
        matches!(&error, LoadError::BindingConflict { policy, rolled_back, .. }
            if policy == "d" && rolled_back == &["a".to_owned()]),
        "{error}"
    );
    assert!(
        listed(&backend, w0).is_empty(),
        "neither a nor d applies to w0"
    );
    assert_eq!(listed(&backend, w1), [pb], "b stays");
    let summary = engine.bundles().find(|s| s.id == a_id).unwrap();
    assert!(summary.policies.is_empty());
    assert!(summary.inactive[0].1.contains("rolled back"));
    // once the conflict is gone, a binding on w0 loads again
    let again = host.build("a2", "w0", "");
    engine.load(&mut backend, &again, "a2", &[]).unwrap();
    assert_eq!(listed(&backend, w0).len(), 1);
}

#[test]
fn a_wider_winner_covers_before_the_nested_loser_leaves() {
    let host = Host::new("nested");
    let mut backend = FakeBackend::default();
    let mut engine = PolicyEngine::new(host.info(), 256);
    let (w0, inner) = (host.cgroup("w0"), host.cgroup("w0/inner"));
    let allow = |p: i64| format!("  overrideAllowed: true\n  overridePriority: {p}\n");
    let narrow = host.build("narrow", "w0/inner", &allow(0));
    let wide = host.build("wide", "/w0/", &allow(5));
    engine.load(&mut backend, &narrow, "narrow", &[]).unwrap();
    let pn = ph_of(&engine, "narrow");
    assert_eq!(listed(&backend, inner), [pn]);

    let from = backend.log.len();
    let wide_id = engine.load(&mut backend, &wide, "wide", &[]).unwrap();
    let pw = ph_of(&engine, "wide");
    assert_eq!(listed(&backend, w0), [pw]);
    assert!(
        listed(&backend, inner).is_empty(),
        "narrow no longer applies"
    );
    let (w0_key, inner_key) = (
        tpc_bundle::layout::list_key(1, w0),
        tpc_bundle::layout::list_key(1, inner),
    );
    assert!(
        position(&backend, from, maps::LISTS, &w0_key, false)
            < position(&backend, from, maps::LISTS, &inner_key, true),
        "the winner covers the nested cgroup before the loser leaves it"
    );

    let from = backend.log.len();
    engine.unload(&mut backend, wide_id).unwrap();
    assert_eq!(listed(&backend, inner), [pn]);
    assert!(listed(&backend, w0).is_empty());
    assert!(
        position(&backend, from, maps::LISTS, &inner_key, false)
            < position(&backend, from, maps::LISTS, &w0_key, true),
        "the loser is back before the winner's list goes"
    );

    // a narrower winner is refused, and nothing of it stays
    let strict = host.build("strict", "w0/inner", &allow(9));
    engine.load(&mut backend, &wide, "wide", &[]).unwrap();
    let before = backend.maps.clone();
    let error = engine
        .load(&mut backend, &strict, "strict", &[])
        .unwrap_err();
    assert!(matches!(error, LoadError::Policy { .. }), "{error}");
    assert_eq!(backend.maps, before);
}

#[test]
fn a_reloaded_binding_does_not_conflict_with_its_running_version() {
    let host = Host::new("reload");
    let mut backend = FakeBackend::default();
    let mut engine = PolicyEngine::new(host.info(), 256);
    let w0 = host.cgroup("w0");
    let a = host.build("a", "w0", "");
    let old = engine.load(&mut backend, &a, "a", &[]).unwrap();
    let new = engine.load(&mut backend, &a, "a", &[]).unwrap();
    assert_eq!(
        listed(&backend, w0).len(),
        2,
        "for an instant both versions apply"
    );
    engine.unload(&mut backend, old).unwrap();
    assert_eq!(listed(&backend, w0).len(), 1);
    engine.unload(&mut backend, new).unwrap();
    assert!(listed(&backend, w0).is_empty());
}

#[test]
fn a_new_version_may_rename_its_binding() {
    let host = Host::new("rename");
    let mut backend = FakeBackend::default();
    let mut engine = PolicyEngine::new(host.info(), 256);
    let w0 = host.cgroup("w0");
    let old = engine
        .load(&mut backend, &host.build("a", "w0", ""), "v1", &[])
        .unwrap();
    // loaded beside the old version as a reload does: no conflict
    let renamed = host.build("a-renamed", "w0", "");
    let new = engine
        .load_replacing(&mut backend, &renamed, "v2", &[], old)
        .unwrap();
    engine.unload(&mut backend, old).unwrap();
    assert_eq!(listed(&backend, w0), [ph_of(&engine, "a-renamed")]);
    // outside a reload the same pair conflicts
    let error = engine
        .load(&mut backend, &host.build("a", "w0", ""), "v3", &[])
        .unwrap_err();
    assert!(
        matches!(error, LoadError::BindingConflict { .. }),
        "{error}"
    );
    assert!(engine.bundles().any(|b| b.id == new));
}
