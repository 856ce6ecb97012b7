//! The kernel findings `tpc check` reports for Tetragon's example policies,
//! checked against `bpftool btf dump file X format raw` for every shared
//! kernel: a "kernel function `F` does not exist" finding must hold exactly
//! on the kernels whose BTF has no `FUNC 'F'`, and every finding that quotes
//! a prototype (parameter count, a parameter's C type) must quote what
//! bpftool shows. bpftool's text is parsed here, independently of tpc's
//! reader.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod btf_support;
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tpc::btf::{KernelOrigin, load};
use tpc::driver::{CheckOptions, KernelRequest, Report};

/// One type line of a raw dump: kind, name, the rest of the line, and the
/// member/parameter lines under it as `(name, type id)`.
struct RawType {
    kind: String,
    name: String,
    rest: String,
    members: Vec<(String, u32)>,
}

fn parse_dump(text: &str) -> HashMap<u32, RawType> {
    let mut types = HashMap::new();
    let mut current: Option<u32> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            let (id, rest) = rest.split_once("] ").unwrap();
            let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let (name, rest) = match rest.strip_prefix('\'') {
                Some(quoted) => quoted.split_once('\'').unwrap(),
                None => ("", rest),
            };
            let id: u32 = id.parse().unwrap();
            types.insert(
                id,
                RawType {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    rest: rest.trim().to_string(),
                    members: Vec::new(),
                },
            );
            current = Some(id);
        } else if let (Some(id), Some(quoted)) = (current, line.trim().strip_prefix('\'')) {
            let (name, rest) = quoted.split_once('\'').unwrap();
            if let Some(type_id) = field(rest, "type_id") {
                types
                    .get_mut(&id)
                    .unwrap()
                    .members
                    .push((name.to_string(), type_id));
            }
        }
    }
    types
}

fn field(text: &str, key: &str) -> Option<u32> {
    text.split_whitespace()
        .find_map(|part| part.strip_prefix(&format!("{key}=")))
        .and_then(|value| value.parse().ok())
}

/// C spelling of a type, enough for parameters: pointers, const, structs,
/// unions, typedefs and base types.
fn render(types: &HashMap<u32, RawType>, id: u32) -> String {
    if id == 0 {
        return "void".into();
    }
    let ty = &types[&id];
    let target = || field(&ty.rest, "type_id").unwrap();
    match ty.kind.as_str() {
        "PTR" => {
            let inner = render(types, target());
            if inner.ends_with('*') {
                format!("{inner}*")
            } else {
                format!("{inner} *")
            }
        }
        "CONST" => format!("const {}", render(types, target())),
        "VOLATILE" => format!("volatile {}", render(types, target())),
        "STRUCT" | "FWD" => format!("struct {}", ty.name),
        "UNION" => format!("union {}", ty.name),
        _ => ty.name.clone(),
    }
}

/// Function name → its parameters' C types, from one kernel's dump.
fn prototypes(types: &HashMap<u32, RawType>) -> HashMap<String, Vec<String>> {
    types
        .values()
        .filter(|ty| ty.kind == "FUNC")
        .map(|func| {
            let proto = &types[&field(&func.rest, "type_id").unwrap()];
            let params = proto
                .members
                .iter()
                .map(|(_, type_id)| render(types, *type_id))
                .collect();
            (func.name.clone(), params)
        })
        .collect()
}

fn dump(btf_xz: &Path) -> HashMap<String, Vec<String>> {
    let raw = load::raw_btf_from_path(btf_xz).unwrap();
    let temp = std::env::temp_dir().join(format!(
        "tpc-kernel-bpftool-{}-{}.btf",
        std::process::id(),
        btf_xz.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&temp, raw).unwrap();
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
        btf_xz.display()
    );
    prototypes(&parse_dump(&String::from_utf8_lossy(&output.stdout)))
}

fn between_backticks(text: &str, nth: usize) -> &str {
    text.split('`').nth(2 * nth + 1).unwrap()
}

#[test]
fn corpus_kernel_findings_match_bpftool() {
    let have_bpftool = Command::new("bpftool").arg("version").output().is_ok();
    if !btf_support::require(have_bpftool, "bpftool (apt install bpftool)") {
        return;
    }
    let files: Vec<PathBuf> = btf_support::shared_btf_files();
    let corpus = common::shared_dir().join("corpus/tetragon");
    if !btf_support::require(
        files.len() == 6 && corpus.is_dir(),
        "../shared btf and corpus",
    ) {
        return;
    }
    let sources = common::yaml_files(&corpus)
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.display().to_string(), text)
        })
        .collect();
    let selections = tpc::driver::kernel_selections(&files, &[]).unwrap();
    let report: Report = tpc::driver::check_sources_with(
        sources,
        &CheckOptions {
            kernels: KernelRequest::Selected(selections),
            host_checks: false,
            ..CheckOptions::default()
        },
    );
    let by_label: HashMap<String, HashMap<String, Vec<String>>> = report
        .kernels
        .iter()
        .map(|kernel| {
            let KernelOrigin::File(path) = &kernel.identity.origin else {
                panic!("not a file: {kernel:?}");
            };
            (kernel.label.clone(), dump(path))
        })
        .collect();
    let mut compared = 0;
    for diagnostic in &report.diagnostics {
        let Some(scope) = &diagnostic.kernels else {
            continue;
        };
        let message = &diagnostic.message;
        if message.starts_with("kernel function `") && message.ends_with("does not exist") {
            let function = between_backticks(message, 0);
            for label in &scope.affected {
                assert!(
                    !by_label[label].contains_key(function),
                    "{function} is in {label}'s BTF"
                );
            }
            for label in &scope.fine {
                assert!(
                    by_label[label].contains_key(function),
                    "{function} is not in {label}'s BTF"
                );
            }
            compared += 1;
        } else if message.contains(" does not match parameter ") {
            // "`type: T` does not match parameter N of `F`, which is `C`"
            let rest = message.split(" does not match parameter ").nth(1).unwrap();
            let index: usize = rest.split(' ').next().unwrap().parse().unwrap();
            let function = between_backticks(rest, 0);
            let c_type = between_backticks(rest, 1);
            for label in &scope.affected {
                let params = &by_label[label][function];
                assert_eq!(
                    params[index], c_type,
                    "{function} parameter {index} on {label}"
                );
            }
            for label in &scope.fine {
                if let Some(params) = by_label[label].get(function) {
                    assert_ne!(
                        params.get(index).map(String::as_str),
                        Some(c_type),
                        "{label}"
                    );
                }
            }
            compared += 1;
        } else if message.contains(" is out of range: `") {
            // "`index: I` is out of range: `F` has N parameters"
            let rest = message.split(" is out of range: ").nth(1).unwrap();
            let function = between_backticks(rest, 0);
            let count: usize = rest
                .split(" has ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            for label in &scope.affected {
                assert_eq!(
                    by_label[label][function].len(),
                    count,
                    "{function} on {label}"
                );
            }
            compared += 1;
        }
    }
    // 9 missing functions, 4 parameter types (vfs_llseek, tty_write twice,
    // security_inode_copy_up_xattr), 2 parameter counts (vfs_llseek,
    // tty_write).
    assert_eq!(compared, 15, "findings compared with bpftool");
}
