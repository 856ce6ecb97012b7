//! The kernel facts behind the diagnostics for Tetragon's `specs/` policies
//! (wrong on purpose) and for example calls some kernels lack, per carried
//! kernel. The policy-facing checks (spans, messages) are built on these
//! answers once the IR exists.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

use tpc::btf::{ArgCompat, KernelInfo, arg_type_compat, carried_db};

fn kernels() -> Vec<tpc::btf::CarriedKernel> {
    carried_db().expect("database").kernels()
}

#[test]
fn nosuchcall_is_in_no_kernel() {
    for kernel in kernels() {
        assert!(
            !kernel.has_function("thiscalldoesnotexist"),
            "{}",
            kernel.identity().name
        );
    }
}

#[test]
fn notasyscall_vfs_llseek_has_no_syscall_wrapper() {
    for kernel in kernels() {
        let resolution = kernel.syscall("vfs_llseek");
        assert!(resolution.wrapper.is_none(), "{}", kernel.identity().name);
        assert!(!resolution.tetragon_attaches());
        // ...but it is a kernel function, so the message can say so.
        assert!(kernel.has_function("vfs_llseek"));
    }
}

#[test]
fn wrongargindex_vfs_llseek_has_three_parameters() {
    for kernel in kernels() {
        let sig = kernel.function("vfs_llseek").expect("vfs_llseek");
        assert_eq!(
            sig.to_c(),
            "loff_t vfs_llseek(struct file *file, loff_t offset, int whence)"
        );
        assert!(sig.params.get(100).is_none());
    }
}

#[test]
fn wrongargtype_string_is_not_struct_file() {
    for kernel in kernels() {
        let sig = kernel.function("vfs_llseek").unwrap();
        let verdict = arg_type_compat("string", &sig.params[0].ty);
        let ArgCompat::Incompatible { reason } = verdict else {
            panic!("{}: {verdict:?}", kernel.identity().name);
        };
        assert!(reason.contains("struct file *"), "{reason}");
        assert_eq!(
            arg_type_compat("file", &sig.params[0].ty),
            ArgCompat::Compatible
        );
    }
}

#[test]
fn syslseek_resolves_with_real_argument_types() {
    for kernel in kernels() {
        let name = &kernel.identity().name;
        let resolution = kernel.syscall("sys_lseek");
        assert!(resolution.tetragon_attaches(), "{name}: {resolution:?}");
        let prototype = resolution.prototype.expect("lseek prototype");
        let types: Vec<&str> = prototype
            .params
            .iter()
            .map(|param| param.ty.c.as_str())
            .collect();
        assert_eq!(
            types,
            ["unsigned int", "off_t", "unsigned int"],
            "{name} from {}",
            prototype.source
        );
        // syslseek.yaml: index 0 and 2 as int are fine; syswrongargtype.yaml:
        // index 0 as string is not; syswrongargindex.yaml: there is no index 100.
        assert_eq!(
            arg_type_compat("int", &prototype.params[0].ty),
            ArgCompat::Compatible
        );
        assert_eq!(
            arg_type_compat("int", &prototype.params[2].ty),
            ArgCompat::Compatible
        );
        assert!(arg_type_compat("string", &prototype.params[0].ty).is_incompatible());
        assert!(prototype.params.get(100).is_none());
    }
}

#[test]
fn example_calls_missing_per_kernel() {
    let missing = |function: &str| -> Vec<String> {
        kernels()
            .into_iter()
            .filter(|kernel| !kernel.has_function(function))
            .map(|kernel| kernel.identity().name.clone())
            .collect()
    };
    assert_eq!(
        missing("kfree_skb_reason"),
        [
            "debian-5.10",
            "debian-13-6.12",
            "debian-12-6.12",
            "running-6.18"
        ]
    );
    assert_eq!(
        missing("dev_queue_xmit"),
        ["debian-13-6.12", "debian-12-6.12"]
    );
    assert_eq!(
        missing("security_bpf_map_alloc"),
        ["debian-13-6.12", "debian-12-6.12", "running-6.18"]
    );
    assert_eq!(
        missing("security_bpf_map_create"),
        ["debian-6.1-arm64", "debian-5.10", "debian-6.1"]
    );
    assert_eq!(missing("override_creds"), ["running-6.18"]);
    assert_eq!(missing("find_module_sections").len(), 6);
}

#[test]
fn lsm_track_grandparent_resolve_path_walks() {
    for kernel in kernels() {
        let path = kernel
            .resolve_path(
                tpc::btf::PathRoot::Param {
                    function: "bpf_lsm_bprm_check_security",
                    index: 0,
                },
                "mm.owner.real_parent.real_parent.comm",
            )
            .unwrap_or_else(|error| panic!("{}: {error}", kernel.identity().name));
        assert_eq!(path.final_type().c, "char[16]");
        assert_eq!(
            arg_type_compat("string", path.final_type()),
            ArgCompat::Compatible
        );
        let wrong = kernel
            .resolve_path(
                tpc::btf::PathRoot::Param {
                    function: "bpf_lsm_bprm_check_security",
                    index: 0,
                },
                "mm.owner.real_parnt.comm",
            )
            .unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "struct task_struct has no member `real_parnt` (did you mean `real_parent`?)"
        );
    }
}
