//! The carried database answers like the full BTF it was built from: for
//! every shared kernel, a sample of functions (every Tetragon example call
//! plus a deterministic spread over all functions), member paths, syscalls,
//! LSM hooks and tracepoints give identical answers on both.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod btf_support;

use tpc::btf::{BtfKernel, KernelInfo, PathRoot, TracepointFormats, carried_db};

const CALLS: &[&str] = &[
    "fd_install",
    "vfs_llseek",
    "security_file_open",
    "tcp_connect",
    "kfree_skb_reason",
    "dev_queue_xmit",
    "security_bpf_map_alloc",
    "security_bpf_map_create",
    "override_creds",
    "commit_creds",
    "bpf_lsm_file_open",
    "_printk",
    "__x64_sys_openat",
    "__arm64_sys_openat",
];

const PATHS: &[(&str, &str)] = &[
    ("linux_binprm", "mm.owner.real_parent.real_parent.comm"),
    ("file", "f_path.dentry.d_name.name"),
    ("file", "f_path.dentry.d_name.nam"),
    ("file", "f_inode.i_sb.s_id"),
    ("sk_buff", "sk.__sk_common.skc_daddr"),
    ("sock", "sk_v6_daddr"),
    ("task_struct", "cred.uid.val"),
    ("task_struct", "comm[3]"),
    ("task_struct", "comm[99]"),
    ("cred", "cap_effective"),
    ("mm_struct", "owner"),
    ("struct no_such_struct", "x"),
];

const SYSCALLS: &[&str] = &[
    "sys_openat",
    "openat",
    "__x64_sys_openat",
    "__arm64_sys_openat",
    "sys_lseek",
    "sys_getpid",
    "sys_vfs_llseek",
    "sys_mount",
    "sys_clock_settime",
    "sys_setuid",
    "sys_ptrace",
];

const TRACEPOINTS: &[(&str, &str)] = &[
    ("sched", "sched_process_exec"),
    ("sched", "sched_switch"),
    ("raw_syscalls", "sys_enter"),
    ("syscalls", "sys_enter_openat"),
    ("syscalls", "sys_exit_openat"),
    ("syscalls", "sys_enter_getpid"),
    ("syscalls", "sys_enter_nosuchcall"),
    ("task", "task_newtask"),
    ("sched", "no_such_event"),
];

#[test]
fn carried_kernels_answer_like_their_btf() {
    let files = btf_support::shared_btf_files();
    if !btf_support::require(!files.is_empty(), "no ../shared/btf/*.btf.xz files") {
        return;
    }
    let db = carried_db().expect("the compiled-in database decodes");
    assert_eq!(
        db.kernels().len(),
        files.len(),
        "one carried kernel per shared BTF file"
    );
    let formats_path =
        btf_support::shared_dir().join("btf/x86_64-running.tracepoint-formats.tar.xz");
    let mut checked = 0;
    for file in &files {
        let carried = db
            .kernel(btf_support::carried_name_for(file))
            .expect("carried kernel");
        let mut full = BtfKernel::from_path(file).unwrap();
        if carried.tracepoint_formats().is_some() {
            full =
                full.with_tracepoint_formats(TracepointFormats::from_path(&formats_path).unwrap());
        }
        let label = &carried.identity().name;
        assert_eq!(carried.arch(), full.arch(), "{label} arch");
        assert_eq!(carried.lsm_hooks(), full.lsm_hooks(), "{label} LSM hooks");
        assert_eq!(
            carried.syscall_names(),
            full.syscall_names(),
            "{label} syscalls"
        );

        let mut names: Vec<String> = CALLS.iter().map(|name| name.to_string()).collect();
        // Every 7th syscall wrapper and 5th LSM hook: a spread over the alphabet.
        let all = carried.syscall_names();
        names.extend(
            all.iter()
                .step_by(7)
                .map(|name| format!("__x64_sys_{name}")),
        );
        names.extend(
            carried
                .lsm_hooks()
                .iter()
                .step_by(5)
                .map(|hook| format!("bpf_lsm_{hook}")),
        );
        for name in &names {
            assert_eq!(
                carried.function(name),
                full.function(name),
                "{label} function {name}"
            );
            checked += 1;
        }
        for (root, path) in PATHS {
            assert_eq!(
                carried.resolve_path(PathRoot::Type { name: root }, path),
                full.resolve_path(PathRoot::Type { name: root }, path),
                "{label} path {root}:{path}"
            );
            checked += 1;
        }
        for function in [
            "fd_install",
            "security_file_open",
            "bpf_lsm_bprm_check_security",
        ] {
            for index in 0..3 {
                assert_eq!(
                    carried.resolve_path(PathRoot::Param { function, index }, "f_path.dentry"),
                    full.resolve_path(PathRoot::Param { function, index }, "f_path.dentry"),
                    "{label} param path {function}#{index}"
                );
            }
        }
        for syscall in SYSCALLS {
            assert_eq!(
                carried.syscall(syscall),
                full.syscall(syscall),
                "{label} syscall {syscall}"
            );
            checked += 1;
        }
        for (subsystem, event) in TRACEPOINTS {
            let strip = carried.tracepoint_formats().is_none();
            assert_eq!(
                carried
                    .tracepoint(subsystem, event)
                    .without_offsets_if(strip),
                full.tracepoint(subsystem, event).without_offsets_if(strip),
                "{label} tracepoint {subsystem}/{event}"
            );
            checked += 1;
        }
    }
    eprintln!("{checked} answers compared");
}

/// The carried data keeps no member offsets, so BTF-derived tracepoint
/// fields have `offset: None` there; for kernels without format files,
/// compare everything else.
trait WithoutOffsets {
    fn without_offsets_if(self, strip: bool) -> Self;
}

impl WithoutOffsets for tpc::btf::TracepointLookup {
    fn without_offsets_if(self, strip: bool) -> Self {
        match self {
            Self::Found(mut info) if strip => {
                for field in &mut info.fields {
                    field.offset = None;
                }
                Self::Found(info)
            }
            other => other,
        }
    }
}

#[test]
fn the_database_is_small() {
    let db = carried_db().unwrap();
    // Six kernels' signatures plus 2323 tracepoint formats; the xz'd BTF
    // inputs alone are 6.3 MB.
    assert!(
        db.compressed_len() < 2_000_000,
        "{} bytes",
        db.compressed_len()
    );
}
