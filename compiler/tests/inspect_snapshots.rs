//! Snapshot tests of `tpc inspect`: every policy under
//! `fixtures/policies/build/` (one per filter kind and the actions) is built
//! against the carried 6.18 kernel (the same on any machine) and its
//! inspection is an insta snapshot named `inspect__<fixture>` in
//! `fixtures/snapshots/`. Building is deterministic: the same input gives
//! the same bytes, from the library and from the `tpc build` binary.

#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use common::{relative, repo_root, yaml_files};
use tpc::btf::KernelSelection;
use tpc::driver::{Input, KernelRequest};

fn kernel() -> KernelRequest {
    KernelRequest::Selected(vec![KernelSelection::Carried("6.18".into())])
}

fn build(path: &std::path::Path) -> tpc_bundle::Bundle {
    let text = std::fs::read_to_string(path).unwrap();
    let input = Input::Text {
        name: relative(path),
        text,
    };
    let outcome = tpc::lower::build::build(&[input], &kernel()).unwrap();
    let rendered = tpc::diagnostics::render::human::render_short(
        &outcome.report.sources,
        &outcome.report.diagnostics,
    );
    outcome
        .bundle
        .unwrap_or_else(|| panic!("{} does not build:\n{rendered}", relative(path)))
}

#[test]
fn inspect_of_each_filter_kind() {
    let files = yaml_files(&repo_root().join("fixtures/policies/build"));
    assert!(
        files.len() >= 12,
        "one fixture per filter kind: {}",
        files.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("fixtures/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for path in &files {
            let bundle = build(path);
            let bytes = tpc_bundle::encode(&bundle, None).unwrap();
            let verified = tpc_bundle::decode(&bytes, None).unwrap();
            let inspection = tpc::inspect::inspect(&verified);
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            insta::assert_snapshot!(
                format!("inspect__{stem}"),
                tpc::inspect::render_human(&inspection)
            );
            // JSON carries the same inspection
            let json = serde_json::to_value(&inspection).unwrap();
            assert_eq!(json["policies"].as_array().unwrap().len(), 1, "{stem}");
        }
    });
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    for path in yaml_files(&repo_root().join("fixtures/policies/build")) {
        let first = tpc_bundle::encode(&build(&path), None).unwrap();
        let second = tpc_bundle::encode(&build(&path), None).unwrap();
        assert_eq!(first, second, "{}", relative(&path));
    }
    // and from the binary, twice, signed too (ed25519 signatures are
    // deterministic)
    let dir = std::env::temp_dir().join(format!("tpc-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tpc = env!("CARGO_BIN_EXE_tpc");
    let key = dir.join("k");
    let status = std::process::Command::new(tpc)
        .args(["keygen", "-o"])
        .arg(&key)
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    let policy = repo_root().join("fixtures/policies/build/actions.yaml");
    let mut outputs = Vec::new();
    for (i, sign) in [false, false, true, true].into_iter().enumerate() {
        let out = dir.join(format!("b{i}.tpcb"));
        let mut command = std::process::Command::new(tpc);
        command
            .current_dir(repo_root())
            .args([
                "build",
                "fixtures/policies/build/actions.yaml",
                "--kernel",
                "6.18",
                "-o",
            ])
            .arg(&out);
        if sign {
            command.arg("--sign").arg(&key);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert!(policy.exists());
    assert_eq!(outputs[0], outputs[1], "unsigned builds differ");
    assert_eq!(outputs[2], outputs[3], "signed builds differ");
    assert_ne!(outputs[0], outputs[2]);
    let _ignored = std::fs::remove_dir_all(&dir);
}
