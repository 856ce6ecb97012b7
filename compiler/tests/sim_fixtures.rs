//! The simulator's fixture tests: every `fixtures/sim/*.test.yaml` (shipped,
//! with their own recorded events) and `tests/corpus-sim/*.test.yaml` (on
//! the shared event corpus, `../shared`) passes, and its verdict stream is
//! an insta snapshot (`sim__<name>`). Also: every event of the shared
//! corpus loads, and a wrong expectation fails with a readable diff.

mod common;

use common::{relative, repo_root, shared_dir};
use tpc::sim::testfile;

/// The shipped test files, which must not need `../shared`.
fn shipped_files() -> Vec<std::path::PathBuf> {
    testfile::collect(&[repo_root().join("fixtures/sim")]).expect("fixtures/sim readable")
}

fn fixture_files() -> Vec<std::path::PathBuf> {
    let mut files = shipped_files();
    files.extend(
        testfile::collect(&[repo_root().join("tests/corpus-sim")])
            .expect("tests/corpus-sim readable"),
    );
    assert!(
        files.len() >= 14,
        "expected at least 14 simulator test files, found {}",
        files.len()
    );
    files
}

/// What a fresh clone gets runs there: no shipped test file reads the
/// shared data folder.
#[test]
fn shipped_fixtures_carry_their_own_events() {
    let files = shipped_files();
    assert!(files.len() >= 8, "{files:?}");
    for path in &files {
        let test = testfile::load(path).unwrap_or_else(|e| panic!("{e}"));
        let shared = test.events.iter().any(|source| {
            matches!(
                source,
                testfile::EventSource::Shared(_) | testfile::EventSource::SharedDir(_)
            )
        });
        assert!(!shared, "{} reads ../shared", relative(path));
    }
}

#[test]
fn every_fixture_passes_and_its_verdicts_are_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("fixtures/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    let mut problems = Vec::new();
    for path in fixture_files() {
        let test = testfile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let outcome = testfile::run(&test);
        if !outcome.passed() {
            problems.push(format!(
                "{}:\n{}",
                relative(&path),
                outcome.failures.join("\n")
            ));
        }
        assert!(
            outcome.verdicts > 0,
            "{} produces no verdict at all",
            relative(&path)
        );
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .trim_end_matches(".test.yaml")
            .to_string();
        let name = format!("sim__{}", stem.replace('-', "_"));
        settings.bind(|| insta::assert_snapshot!(name, outcome.verdict_lines.join("\n")));
    }
    assert!(
        problems.is_empty(),
        "failing simulator tests:\n{}",
        problems.join("\n\n")
    );
}

#[test]
fn at_least_five_fixtures_replay_the_whole_event_corpus() {
    let corpus_tests: Vec<String> = fixture_files()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .is_ok_and(|t| t.contains("shared-dir: corpus/tetragon-events"))
        })
        .map(|p| relative(&p))
        .collect();
    assert!(
        corpus_tests.len() >= 5,
        "only {corpus_tests:?} replay the corpus"
    );
    for path in &corpus_tests {
        let test = testfile::load(&repo_root().join(path)).unwrap_or_else(|e| panic!("{e}"));
        let outcome = testfile::run(&test);
        assert_eq!(outcome.events, 40, "{path}: the corpus holds 40 events");
    }
}

#[test]
fn every_corpus_event_loads_through_the_replay_path() {
    let dir = shared_dir().join("corpus/tetragon-events");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    files.sort();
    assert!(!files.is_empty(), "the corpus is empty");
    let parsed = tpc::front::parse_policies(
        tpc::span::FileId(0),
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: all-rw\nspec:\n  kprobes:\n  - call: sys_read\n  - call: sys_write\n",
    );
    let policies: Vec<&tpc::ir::Policy> = parsed.policies.iter().collect();
    let mut sim = tpc::sim::Simulator::new(&policies, tpc::sim::SimOptions::default());
    let mut malformed = Vec::new();
    let mut out = Vec::new();
    for file in &files {
        let input = std::fs::read(file).unwrap_or_default();
        tpc::sim::replay::replay(
            &mut sim,
            &file.display().to_string(),
            true,
            input.as_slice(),
            &mut out,
            &tpc::sim::replay::Output::Verdicts,
            tpc::sim::replay::OnMalformed::Skip,
            &mut malformed,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(
        malformed.is_empty(),
        "corpus values that do not load: {malformed:?}"
    );
    let lines = String::from_utf8(out).unwrap_or_default();
    assert_eq!(
        lines.lines().count(),
        files.len(),
        "one verdict line per corpus event"
    );
    assert_eq!(sim.totals().events as usize, files.len());
    // Both kprobe events reach the hooks; old connect/close/listen kinds reach none.
    assert_eq!(sim.totals().posted, 2);
    assert!(
        lines
            .lines()
            .filter(|l| l.contains("\"kind\":\"process_connect\""))
            .all(|l| l.contains("\"verdicts\":[]"))
    );
}

#[test]
fn a_wrong_expectation_fails_with_a_diff() {
    let dir = std::env::temp_dir().join(format!("tpc-sim-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_default();
    let path = dir.join("wrong.test.yaml");
    let text = "name: wrong on purpose
policy: |
  apiVersion: cilium.io/v1alpha1
  kind: TracingPolicy
  metadata:
    name: p
  spec:
    kprobes:
    - call: sys_write
      args:
      - index: 0
        type: int
      selectors:
      - matchArgs:
        - index: 0
          operator: Equal
          values: [\"1\"]
events:
  - event:
      process_kprobe:
        process: {exec_id: a, pid: 1, binary: /bin/sh}
        function_name: __x64_sys_write
        args: [{int_arg: 2}]
  - event:
      process_kprobe:
        process: {exec_id: a, pid: 1, binary: /bin/sh}
        function_name: __x64_sys_write
        args: [{int_arg: 1}]
expect:
  - {event: 1, selector: 0, posted: true}
";
    std::fs::write(&path, text).unwrap_or_default();
    let test = testfile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let outcome = testfile::run(&test);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!outcome.passed());
    let text = outcome.failures.join("\n");
    assert!(
        text.contains("-   policy=p hook=kprobes[0] selector=0 posted=true"),
        "{text}"
    );
    assert!(
        text.contains("+   policy=p hook=kprobes[0] selector=none posted=false"),
        "{text}"
    );
    // Event 2 has no expectation and the test is complete by default.
    assert!(
        text.contains("event #2") && text.contains("(no expectation)"),
        "{text}"
    );
}

#[test]
fn test_files_report_their_mistakes_with_lines() {
    let dir = std::env::temp_dir().join(format!("tpc-sim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_default();
    let path = dir.join("bad.test.yaml");
    std::fs::write(
        &path,
        "policy: x\nevents:\n  - inline: \"{}\"\nexpect:\n  - {policy: p}\n",
    )
    .unwrap_or_default();
    let err = testfile::load(&path)
        .map(|_| ())
        .expect_err("an expectation without `event` is refused");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(err.to_string().contains("bad.test.yaml:5:"), "{err}");
}

#[test]
fn pipelined_and_sequential_replays_agree() {
    use tpc::sim::replay::{OnMalformed, Output, Threads, replay_with};
    let dir = shared_dir().join("corpus/tetragon-events");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut input = Vec::new();
    for f in &files {
        input.extend(std::fs::read(f).unwrap_or_default());
        input.push(b'\n');
    }
    // JSON lines, a malformed line, a bad timestamp, an unknown kind.
    input.extend_from_slice(
        concat!(
            r#"{"process_kprobe":{"process":{"exec_id":"a","pid":1,"binary":"/bin/sh"},"function_name":"__x64_sys_write","args":[{"file_arg":{"path":"/etc/shadow"}},{"bytes_arg":"aGk="},{"size_arg":"2"}]},"time":"2024-05-01T10:00:00Z"}"#, "\n",
            "{\"broken\": \n",
            r#"{"process_kprobe":{"process":{"exec_id":"a","pid":1,"binary":"/bin/sh"},"function_name":"__x64_sys_write"},"time":"not a time"}"#, "\n",
            r#"{"process_future":{"x":1}}"#, "\n",
            "{\n  \"process_kprobe\": {\"process\": {\"pid\": 1, \"binary\": \"/bin/sh\"},\n    \"function_name\": \"__x64_sys_write\"},\n  \"time\": \"bad\"\n}\n",
        )
        .as_bytes(),
    );
    let policy_files = [
        "fd-write-etc",
        "keystore-read",
        "rw-children-of-sh",
        "size-quirks",
        "pids-follow-forks",
    ];
    let sources: Vec<(String, String)> = policy_files
        .iter()
        .map(|name| {
            let path = repo_root().join(format!("tests/corpus-sim/policies/{name}.yaml"));
            (
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap_or_default(),
            )
        })
        .collect();
    let report = tpc::driver::check_sources(sources);
    let policies: Vec<&tpc::ir::Policy> = report.policies.iter().map(|p| &p.policy).collect();
    assert_eq!(policies.len(), policy_files.len());
    for output in [
        Output::Events,
        Output::Verdicts,
        Output::Compact,
        Output::Explain(Vec::new()),
        Output::Explain(vec![3, 41]),
    ] {
        let run = |threads: Threads| {
            let mut sim = tpc::sim::Simulator::new(
                &policies,
                tpc::sim::SimOptions {
                    build_output: false,
                    ..Default::default()
                },
            );
            let mut out = Vec::new();
            let mut malformed = Vec::new();
            replay_with(
                &mut sim,
                "input",
                false,
                input.as_slice(),
                &mut out,
                &output,
                OnMalformed::Skip,
                &mut malformed,
                threads,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let messages: Vec<String> = malformed
                .iter()
                .map(|m| format!("{}:{}: {}", m.line, m.position, m.message))
                .collect();
            (
                String::from_utf8(out).unwrap_or_default(),
                messages,
                tpc::sim::report::summary_table(&sim),
            )
        };
        let sequential = run(Threads::Sequential);
        assert_eq!(sequential.1.len(), 3, "{:?}", sequential.1);
        // Tiny chunks cut the input at every line that starts with `{`.
        for (workers, chunk_bytes) in [(0, 1), (1, 1), (2, 1), (3, 700), (0, 1 << 20), (2, 1 << 20)]
        {
            let parallel = run(Threads::Chunked {
                workers,
                chunk_bytes,
            });
            assert_eq!(
                sequential, parallel,
                "{output:?} with {workers} workers, {chunk_bytes}-byte chunks"
            );
        }
    }
}

/// A writer that fails after some bytes.
struct FailingWriter(usize);

impl std::io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 < buf.len() {
            return Err(std::io::Error::other("disk full"));
        }
        self.0 -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn parallel_replays_stop_cleanly_on_errors() {
    use tpc::sim::replay::{OnMalformed, Output, ReplayError, Threads, replay_with};
    let line = r#"{"process_kprobe":{"process":{"exec_id":"a","pid":1,"binary":"/bin/sh"},"function_name":"__x64_sys_write","args":[{"file_arg":{"path":"/etc/shadow"}}]}}"#;
    let mut input = String::new();
    for _ in 0..3000 {
        input.push_str(line);
        input.push('\n');
    }
    input.push_str("not json\n");
    for _ in 0..3000 {
        input.push_str(line);
        input.push('\n');
    }
    let path = repo_root().join("tests/corpus-sim/policies/fd-write-etc.yaml");
    let report = tpc::driver::check_sources(vec![(
        path.display().to_string(),
        std::fs::read_to_string(&path).unwrap_or_default(),
    )]);
    let policies: Vec<&tpc::ir::Policy> = report.policies.iter().map(|p| &p.policy).collect();
    let threads = Threads::Chunked {
        workers: 2,
        chunk_bytes: 4096,
    };
    let mut sim = tpc::sim::Simulator::new(&policies, tpc::sim::SimOptions::default());
    let mut malformed = Vec::new();
    let result = replay_with(
        &mut sim,
        "in",
        false,
        input.as_bytes(),
        &mut FailingWriter(100_000),
        &Output::Events,
        OnMalformed::Skip,
        &mut malformed,
        threads,
    );
    assert!(
        matches!(result, Err(ReplayError::Write { .. })),
        "{result:?}"
    );
    let mut sim = tpc::sim::Simulator::new(&policies, tpc::sim::SimOptions::default());
    let result = replay_with(
        &mut sim,
        "in",
        false,
        input.as_bytes(),
        &mut Vec::new(),
        &Output::Events,
        OnMalformed::Fail,
        &mut malformed,
        threads,
    );
    assert!(
        matches!(result, Err(ReplayError::MalformedInput { line: 3001, .. })),
        "{result:?}"
    );
}
