//! tpc's BTF reader against `bpftool btf dump file X format raw`: for every
//! kernel in `../shared/btf` and a written-out sample of calls, the verdicts
//! (exists, parameter count, parameter names and C types, return type) must
//! be the same. bpftool's text is parsed here and rendered with a small
//! renderer of this file's own, so the comparison does not go through tpc's
//! decoding of the binary format.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod btf_support;

use std::collections::HashMap;
use std::process::Command;

use tpc::btf::{BtfKernel, KernelInfo, load};

/// The sample: every kprobe call and LSM hook of Tetragon's example policies,
/// syscall wrappers of both arches, and functions that some of the shared
/// kernels lack (the interesting ones are commented).
const SAMPLE: &[&str] = &[
    // Tetragon examples.
    "fd_install",
    "vfs_llseek",
    "security_file_open",
    "tcp_connect",
    "tcp_close",
    "tcp_sendmsg",
    "tcp_set_state",
    "tcp_create_openreq_child",
    "inet_csk_listen_start",
    "sk_alloc",
    "__sk_free",
    "sk_filter_trim_cap",
    "ip_output",
    "ip6_output",
    "ip_mc_output",
    "dev_hard_start_xmit",
    "commit_creds",
    "cap_capable",
    "create_user_ns",
    "tty_write",
    "security_mmap_file",
    "security_kernel_read_file",
    "security_kernel_module_request",
    "security_kernel_load_data",
    "security_path_truncate",
    "security_file_permission",
    "security_socket_connect",
    "security_bprm_check",
    "security_bprm_creds_from_file",
    "security_inode_follow_link",
    "security_inode_copy_up_xattr",
    "security_inode_mkdir",
    "security_perf_event_alloc",
    "__cgroup_bpf_run_filter_skb",
    "bpf_check",
    "bpf_lsm_file_open",
    "bpf_lsm_bprm_check_security",
    // Present in some kernels only.
    "kfree_skb_reason", // 6.1 only: absent in 5.10 (added in 5.17), inline from 6.11
    "dev_queue_xmit",   // a static inline wrapper of __dev_queue_xmit in 6.12
    "security_bpf_map_alloc", // renamed security_bpf_map_create in 6.9
    "security_bpf_map_create", // new in 6.9
    "override_creds",   // inline in 6.18
    "revert_creds",     // inline in 6.18
    "do_init_module",   // not in the 6.18 dev kernel
    "free_module",      // not in the 6.18 dev kernel
    "find_module_sections", // static, always inlined: in no kernel
    "thiscalldoesnotexist",
    // Syscall wrappers and helpers.
    "__x64_sys_openat",
    "__arm64_sys_openat",
    "__x64_sys_lseek",
    "__do_sys_lseek",
    "ksys_lseek",
    "do_sys_openat2",
    // Assorted shapes: variadic, function pointers, arrays, unions.
    "_printk",
    "vfs_read",
    "vfs_write",
    "do_execveat_common",
    "bpf_prog_load",
    "security_sb_mount",
    "kernel_clone",
];

#[derive(Debug, Clone)]
struct RawType {
    kind: String,
    name: String,
    /// `type_id=`, `ret_type_id=` or the array element type.
    target: u32,
    nr_elems: u32,
    /// `(name, type_id)` of FUNC_PROTO parameters.
    params: Vec<(String, u32)>,
    fwd_union: bool,
}

/// Parses bpftool's raw dump into id → type.
fn parse_raw_dump(text: &str) -> HashMap<u32, RawType> {
    let mut types = HashMap::new();
    let mut current: Option<u32> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            let (id, rest) = rest.split_once("] ").expect("id");
            let id: u32 = id.parse().expect("numeric id");
            let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let name = rest
                .strip_prefix('\'')
                .and_then(|r| r.split_once('\''))
                .map(|(name, _)| name.to_string())
                .unwrap_or_default();
            let field = |key: &str| -> u32 {
                rest.split_whitespace()
                    .find_map(|word| word.strip_prefix(key))
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(0)
            };
            let target = match kind {
                "FUNC_PROTO" => field("ret_type_id="),
                _ => field("type_id="),
            };
            types.insert(
                id,
                RawType {
                    kind: kind.to_string(),
                    name: if name == "(anon)" {
                        String::new()
                    } else {
                        name
                    },
                    target,
                    nr_elems: field("nr_elems="),
                    params: Vec::new(),
                    fwd_union: rest.contains("fwd_kind=union"),
                },
            );
            current = Some(id);
        } else if let (Some(id), Some(rest)) = (current, line.strip_prefix('\t')) {
            let entry = types.get_mut(&id).expect("current type");
            if entry.kind == "FUNC_PROTO" {
                let name = rest
                    .strip_prefix('\'')
                    .and_then(|r| r.split_once('\''))
                    .map(|(name, _)| name.to_string())
                    .unwrap_or_default();
                let type_id = rest
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("type_id="))
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(0);
                entry.params.push((
                    if name == "(anon)" {
                        String::new()
                    } else {
                        name
                    },
                    type_id,
                ));
            }
        }
    }
    types
}

/// C rendering with the conventions tpc documents: BTF integer names as is,
/// `T *`, `T **`, `const T`, `T * const`, `T[N]`, `R (*)(A, B)`.
fn render(types: &HashMap<u32, RawType>, id: u32, depth: usize) -> String {
    if id == 0 {
        return "void".into();
    }
    if depth > 40 {
        return "...".into();
    }
    let Some(ty) = types.get(&id) else {
        return "?".into();
    };
    let named = |keyword: &str| {
        format!(
            "{keyword} {}",
            if ty.name.is_empty() {
                "{...}"
            } else {
                &ty.name
            }
        )
    };
    match ty.kind.as_str() {
        "INT" | "FLOAT" | "TYPEDEF" => ty.name.clone(),
        "STRUCT" => named("struct"),
        "UNION" => named("union"),
        "FWD" => named(if ty.fwd_union { "union" } else { "struct" }),
        "ENUM" | "ENUM64" => named("enum"),
        "TYPE_TAG" => render(types, ty.target, depth + 1),
        "CONST" | "VOLATILE" | "RESTRICT" => {
            let word = ty.kind.to_lowercase();
            let target_is_ptr = types.get(&ty.target).is_some_and(|t| t.kind == "PTR");
            if target_is_ptr {
                format!("{} {word}", render(types, ty.target, depth + 1))
            } else {
                format!("{word} {}", render(types, ty.target, depth + 1))
            }
        }
        "ARRAY" => format!("{}[{}]", render(types, ty.target, depth + 1), ty.nr_elems),
        "PTR" => match types.get(&ty.target) {
            Some(target) if target.kind == "FUNC_PROTO" => format!(
                "{} (*){}",
                render(types, target.target, depth + 1),
                render_params(types, target, depth)
            ),
            Some(target) if target.kind == "ARRAY" => format!(
                "{} (*)[{}]",
                render(types, target.target, depth + 1),
                target.nr_elems
            ),
            _ => {
                let inner = render(types, ty.target, depth + 1);
                if inner.ends_with('*') {
                    format!("{inner}*")
                } else {
                    format!("{inner} *")
                }
            }
        },
        "FUNC_PROTO" => format!(
            "{} {}",
            render(types, ty.target, depth + 1),
            render_params(types, ty, depth)
        ),
        _ => "?".into(),
    }
}

fn is_variadic(proto: &RawType) -> bool {
    proto
        .params
        .last()
        .is_some_and(|(name, id)| name.is_empty() && *id == 0)
}

fn real_params(proto: &RawType) -> &[(String, u32)] {
    let count = proto.params.len() - usize::from(is_variadic(proto));
    &proto.params[..count]
}

fn render_params(types: &HashMap<u32, RawType>, proto: &RawType, depth: usize) -> String {
    let params: Vec<String> = real_params(proto)
        .iter()
        .map(|(_, id)| render(types, *id, depth + 1))
        .collect();
    let mut out = params.join(", ");
    if is_variadic(proto) {
        out.push_str(if params.is_empty() { "..." } else { ", ..." });
    } else if params.is_empty() {
        out.push_str("void");
    }
    format!("({out})")
}

#[test]
fn btf_verdicts_match_bpftool_for_the_sample() {
    let files = btf_support::shared_btf_files();
    if !btf_support::require(!files.is_empty(), "no ../shared/btf/*.btf.xz files") {
        return;
    }
    let have_bpftool = Command::new("bpftool")
        .arg("version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !btf_support::require(
        have_bpftool,
        "bpftool is not installed (scripts/setup-debian.sh installs it)",
    ) {
        return;
    }
    let mut compared = 0;
    let mut evidence = Vec::new();
    for file in &files {
        let kernel = BtfKernel::from_path(file).unwrap();
        let raw = load::raw_btf_from_path(file).unwrap();
        let temp = std::env::temp_dir().join(format!(
            "tpc-bpftool-{}-{}",
            std::process::id(),
            file.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&temp, &raw).unwrap();
        let output = Command::new("bpftool")
            .args(["btf", "dump", "file"])
            .arg(&temp)
            .args(["format", "raw"])
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&temp);
        assert!(
            output.status.success(),
            "bpftool failed on {}",
            file.display()
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let types = parse_raw_dump(&text);
        // The lowest id wins when a name is defined twice, as in tpc.
        let mut funcs: HashMap<&str, u32> = HashMap::new();
        let mut ids: Vec<&u32> = types.keys().collect();
        ids.sort();
        for id in ids {
            let ty = &types[id];
            if ty.kind == "FUNC" {
                funcs.entry(ty.name.as_str()).or_insert(*id);
            }
        }
        assert_eq!(
            kernel.function_count(),
            types.values().filter(|ty| ty.kind == "FUNC").count(),
            "FUNC count of {}",
            file.display()
        );
        for name in SAMPLE {
            let ours = kernel.function(name);
            let theirs = funcs.get(name).map(|id| &types[&types[id].target]);
            assert_eq!(
                ours.is_some(),
                theirs.is_some(),
                "{name} exists? in {}",
                file.display()
            );
            let (Some(ours), Some(proto)) = (ours, theirs) else {
                evidence.push(format!(
                    "{}: {name} absent",
                    file.file_name().unwrap().to_string_lossy()
                ));
                continue;
            };
            let params = real_params(proto);
            assert_eq!(
                ours.params.len(),
                params.len(),
                "{name} param count in {}",
                file.display()
            );
            for (ours, (name_theirs, id)) in ours.params.iter().zip(params) {
                assert_eq!(&ours.name, name_theirs, "{name} param name");
                assert_eq!(
                    ours.ty.c,
                    render(&types, *id, 0),
                    "{name} param {} type",
                    ours.name
                );
            }
            assert_eq!(
                ours.ret.c,
                render(&types, proto.target, 0),
                "{name} return type"
            );
            assert_eq!(ours.variadic, is_variadic(proto), "{name} variadic");
            compared += 1;
        }
    }
    eprintln!(
        "compared {compared} present functions; absent:\n{}",
        evidence.join("\n")
    );
    assert!(compared > SAMPLE.len() * 3);
}
