//! The tracefs `format` grammar on real data: every file of the shared
//! 6.18 tarball (and of this machine's tracefs, when mounted) parses, with
//! one field per `field:` line; and the BTF fallback agrees with the format
//! files wherever it claims to know an event's layout.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod btf_support;

use tpc::btf::tracepoint::{format_files_in_archive, parse_format};
use tpc::btf::{
    BtfKernel, FieldLocation, KernelInfo, TracepointFormats, TracepointLookup, TracepointSource,
};

fn tarball() -> std::path::PathBuf {
    btf_support::shared_dir().join("btf/x86_64-running.tracepoint-formats.tar.xz")
}

#[test]
fn every_format_file_in_the_tarball_parses() {
    let path = tarball();
    if !btf_support::require(
        path.exists(),
        "no tracepoint format tarball in ../shared/btf",
    ) {
        return;
    }
    let files = format_files_in_archive(std::fs::read(&path).unwrap(), "tarball").unwrap();
    assert_eq!(
        files.len(),
        2323,
        "the shared README says 2323 format files"
    );
    let mut fields = 0;
    for (name, text) in &files {
        let parsed = parse_format(text).unwrap_or_else(|error| panic!("{name}: {error}"));
        let field_lines = text
            .lines()
            .filter(|line| line.trim_start().starts_with("field:"))
            .count();
        assert_eq!(parsed.fields.len(), field_lines, "{name}");
        assert!(
            name.ends_with(&format!("/{}/format", parsed.name)),
            "{name} vs {}",
            parsed.name
        );
        for field in &parsed.fields {
            assert!(
                !field.name.is_empty() && !field.c_type.is_empty(),
                "{name}: {field:?}"
            );
            assert!(
                field.size > 0 || field.array_len == Some(0),
                "{name}: {field:?}"
            );
        }
        fields += parsed.fields.len();
    }
    // Spot checks against the files' text.
    let formats = TracepointFormats::from_path(&path).unwrap();
    let exec = formats.get("sched", "sched_process_exec").unwrap().unwrap();
    let filename = &exec.fields[4];
    assert_eq!(
        (filename.name.as_str(), filename.location),
        ("filename", FieldLocation::DataLoc)
    );
    let raw = formats.get("raw_syscalls", "sys_enter").unwrap().unwrap();
    assert_eq!(
        raw.fields[4].name, "id",
        "LIMITS.md: raw_syscalls/sys_enter `id` is index 4"
    );
    assert_eq!(raw.fields[5].c_type, "unsigned long[6]");
    eprintln!("{} files, {fields} fields", files.len());
}

#[test]
fn live_tracefs_formats_parse() {
    let Some(formats) = TracepointFormats::running() else {
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout == b"0\n");
        // Without root tracefs is not readable; with root, setup-debian.sh mounts it.
        if root {
            btf_support::require(false, "tracefs is not mounted at /sys/kernel/tracing");
        } else {
            eprintln!("skipping: tracefs needs root");
        }
        return;
    };
    let all = formats.all();
    assert!(all.len() > 100, "only {} events readable", all.len());
    assert!(
        formats
            .get("syscalls", "sys_enter_openat")
            .unwrap()
            .is_some()
    );
}

#[test]
fn btf_fallback_agrees_with_format_files() {
    let btf = btf_support::shared_dir().join("btf/x86_64-running.btf.xz");
    if !btf_support::require(
        btf.exists() && tarball().exists(),
        "running kernel BTF or formats missing",
    ) {
        return;
    }
    let formats = TracepointFormats::from_path(&tarball()).unwrap();
    let without_formats = BtfKernel::from_path(&btf).unwrap();
    let mut exact = 0;
    let mut unknown = 0;
    let mut wrong = Vec::new();
    for ((subsystem, event), format) in formats.all() {
        match without_formats.tracepoint(&subsystem, &event) {
            TracepointLookup::Found(info) => {
                let names: Vec<&str> = info
                    .fields
                    .iter()
                    .map(|field| field.name.as_str())
                    .collect();
                let expected: Vec<&str> = format
                    .fields
                    .iter()
                    .map(|field| field.name.as_str())
                    .collect();
                if names != expected {
                    wrong.push(format!(
                        "{subsystem}/{event} via {:?}: {names:?} vs {expected:?}",
                        info.source
                    ));
                    continue;
                }
                if matches!(info.source, TracepointSource::BtfRawStruct { .. }) {
                    for (ours, theirs) in info.fields.iter().zip(&format.fields) {
                        if ours.offset != Some(theirs.offset) || ours.location != theirs.location {
                            wrong.push(format!(
                                "{subsystem}/{event} {}: {ours:?} vs {theirs:?}",
                                theirs.name
                            ));
                        }
                    }
                }
                exact += 1;
            }
            TracepointLookup::FieldsUnknown { .. } | TracepointLookup::Unknown { .. } => {
                unknown += 1
            }
            other => wrong.push(format!(
                "{subsystem}/{event} exists in tracefs but BTF says {other:?}"
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    eprintln!(
        "BTF fallback: {exact} events with exact fields, {unknown} exist with unknown fields"
    );
    assert!(exact > 500);
}
