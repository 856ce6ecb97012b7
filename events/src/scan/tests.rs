//! Differential tests of the summary scanner against the serde path (the
//! reference): whenever the scanner answers, the serde path accepts the
//! value with the same summary, and the reader's summary (scanner, else
//! serde) always equals the reference, errors included. Inputs: every
//! corpus event (pretty and as one line, where the scanner must answer by
//! itself), events built with this crate, hand-picked corner cases, JSON
//! generated from a grammar that includes invalid pieces, and random edits
//! of all of these.
#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;

use super::quick_summary;
use crate::summary::{EventSummary, TopLevelSummary, summarize_into, summarize_top_level};
use crate::{
    Event, KprobeAction, KprobeArgument, Process, ProcessKprobe, ProcessTracepoint, ProcessUprobe,
};

/// The serde path's answer: the summary, or the error as the reader words it.
fn reference(text: &[u8]) -> Result<EventSummary, String> {
    match summarize_top_level(text) {
        Ok(TopLevelSummary(Ok(summary))) => Ok(summary),
        Ok(TopLevelSummary(Err(not_an_event))) => Err(format!("not an event: {not_an_event}")),
        Err(error) => Err(format!("malformed: {error}")),
    }
}

/// The reader's answer, through a summary whose buffers are reused.
fn production(text: &[u8], reused: &mut EventSummary) -> Result<EventSummary, String> {
    match summarize_into(text, reused) {
        Ok(Ok(())) => Ok(reused.clone()),
        Ok(Err(not_an_event)) => Err(format!("not an event: {not_an_event}")),
        Err(error) => Err(format!("malformed: {error}")),
    }
}

/// What a summary tells its users.
fn view(summary: &EventSummary) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        summary.kind(),
        summary.kind_key(),
        summary.hook(),
        summary.policy_name(),
        summary.action()
    )
}

/// Checks one input; whether the scanner answered by itself.
fn check(text: &[u8], reused: &mut EventSummary) -> bool {
    let shown = String::from_utf8_lossy(text);
    let expected = reference(text);
    let mut quick = EventSummary::default();
    let answered = quick_summary(text, &mut quick);
    if answered {
        match &expected {
            Ok(summary) => {
                assert_eq!(summary, &quick, "scanner and serde disagree on {shown}");
                assert_eq!(view(summary), view(&quick), "on {shown}");
            }
            Err(error) => panic!("scanner accepted what serde rejects ({error}): {shown}"),
        }
    }
    let through_reader = production(text, reused);
    match (&through_reader, &expected) {
        (Ok(read), Ok(summary)) => assert_eq!(view(read), view(summary), "on {shown}"),
        _ => assert_eq!(through_reader, expected, "on {shown}"),
    }
    answered
}

fn shared_dir() -> PathBuf {
    match std::env::var_os("TPC_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("shared"),
    }
}

/// Every corpus event as its file holds it (pretty-printed).
fn corpus_texts() -> &'static Vec<String> {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let dir = shared_dir().join("corpus").join("tetragon-events");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        let texts: Vec<String> = files
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .collect();
        assert!(
            texts.len() > 20,
            "too few corpus events in {}",
            dir.display()
        );
        texts
    })
}

/// Events built with this crate, as JSON lines, in the shapes a replay
/// sees (hooks with policy names, actions as names and numbers, ...).
fn built_lines() -> Vec<String> {
    let mut process = Process::new("bm9kZToxMjM0NTY3ODk6NDI=", 42, "/usr/bin/cat");
    process.arguments = Some("--a \"quoted\" \\ back\tslash \u{e9}\u{1f600}".into());
    let mut kprobe = Event::new(ProcessKprobe {
        process: Some(process.clone()),
        parent: Some(process.clone()),
        function_name: Some("__x64_sys_write".into()),
        args: Some(vec![
            KprobeArgument::file("/etc/passwd"),
            KprobeArgument::bytes(b"\x00\x01binary\n"),
            KprobeArgument::size(48),
            KprobeArgument::string("line\nbreak \"and\" \u{7f}"),
            KprobeArgument::int(-100),
        ]),
        ..ProcessKprobe::default()
    });
    let _ = kprobe.set_policy_name("watch");
    let _ = kprobe.set_action(KprobeAction::Sigkill);
    let mut tracepoint = Event::new(ProcessTracepoint {
        process: Some(process.clone()),
        subsys: Some("syscalls".into()),
        event: Some("sys_enter_openat".into()),
        args: Some(vec![KprobeArgument::long(-100), KprobeArgument::uint(7)]),
        ..ProcessTracepoint::default()
    });
    let _ = tracepoint.set_policy_name("p2");
    let mut uprobe = Event::new(ProcessUprobe {
        process: Some(process.clone()),
        path: Some("/usr/lib/libssl.so.3".into()),
        symbol: Some("SSL_write".into()),
        data: Some(vec![KprobeArgument::string("d")]),
        ..ProcessUprobe::default()
    });
    let _ = uprobe.set_policy_name("ssl");
    let _ = uprobe.set_action(KprobeAction::Post);
    let exec = Event::process_exec(
        process.clone(),
        Some(process),
        crate::Timestamp::from_unix_nanos(1),
    );
    vec![
        kprobe.with_node_name("node-1").to_json_line(),
        tracepoint.to_json_line(),
        uprobe.to_json_line(),
        exec.to_json_line(),
    ]
}

/// Corner cases, each next to what makes it one.
const CORNER_CASES: &[&str] = &[
    // Whitespace, empty containers, nesting, literals.
    " \t\r\n{ \"process_exec\" : { } } \n",
    "{\"process_exec\":{\"a\":[[],{},[{}],null,true,false,-0,0.5e-3,1E+9]}}",
    "{\"process_exec\":{}}x",
    "{\"process_exec\":{}}{}",
    "{\"process_exec\":{},}",
    "{\"process_exec\":{\"a\":[1,]}}",
    "{\"process_exec\":{\"a\":01}}",
    "{\"process_exec\":{\"a\":1.}}",
    "{\"process_exec\":{\"a\":.5}}",
    "{\"process_exec\":{\"a\":-}}",
    "{\"process_exec\":{\"a\":1e}}",
    "{\"process_exec\":{\"a\":+1}}",
    "{\"process_exec\":{\"a\":tru}}",
    "{\"process_exec\":{\"a\":nulll}}",
    "{\"process_exec\":{\"a\" 1}}",
    "{\"process_exec\":{1:2}}",
    "{\"process_exec\":{\"a\":[}]}}",
    "{\"process_exec\":{\"a\":{]}}",
    "{\"process_exec\":{\"a\":\"\x01\"}}",
    "{\"process_exec\":{\"a\":\"tab\tinside\"}}",
    "{\"process_exec\":{\"a\":\"\x7f\"}}",
    "{\"process_exec\":{\"a\":\"unterminated}}",
    // Escapes: skipped strings only check their syntax; decoded ones
    // (keys, hook fields, unknown top-level values) pair surrogates.
    "{\"process_exec\":{\"a\":\"\\ud800\"}}",
    "{\"process_exec\":{\"\\ud800\":1}}",
    "{\"process_exec\":{\"a\":\"\\u12\"}}",
    "{\"process_exec\":{\"a\":\"\\uZZZZ\"}}",
    "{\"process_exec\":{\"a\":\"\\x\"}}",
    "{\"process_exec\":{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}}",
    "{\"process_kprobe\":{\"function_name\":\"a\\u0062c\"}}",
    "{\"process_kprobe\":{\"function_name\":\"\\ud800\"}}",
    "{\"process\\u005fkprobe\":{\"function_name\":\"x\"}}",
    "{\"process_exec\":{},\"other\":\"\\ud83d\\ude00\"}",
    "{\"process_exec\":{},\"other\":\"\\udc00\"}",
    // Numbers where serde reads them as f64 (unknown top-level keys).
    "{\"process_exec\":{},\"other\":1e400}",
    "{\"process_exec\":{},\"other\":-1e400}",
    "{\"process_exec\":{},\"other\":1e-400}",
    "{\"process_exec\":{},\"other\":123456789012345678}",
    "{\"process_exec\":{},\"other\":1234567890123456789012345678901234567890}",
    "{\"process_exec\":{\"a\":1e400}}",
    "{\"process_exec\":{},\"other\":[1e400]}",
    // Kinds: none, several, untyped, an unknown key holding an object.
    "{}",
    "{\"time\":\"x\"}",
    "{\"process_exec\":{},\"process_exit\":{}}",
    "{\"process_exec\":{},\"process_exec\":{}}",
    "{\"process_connect\":{\"x\":1}}",
    "{\"process_connect\":5}",
    "{\"process_future\":{\"x\":1}}",
    "{\"process_future\":{\"x\":1},\"another\":{}}",
    "{\"process_future\":{\"\\u0078\":1}}",
    "{\"process_future\":{\"x\":1},\"n\":1}",
    "{\"a\":1,\"b\":\"s\",\"c\":[{}],\"d\":{}}",
    "[]",
    "[{\"process_exec\":{}}]",
    "\"process_exec\"",
    "12",
    "null",
    "",
    "   ",
    // Payloads: not objects, hook fields of every type.
    "{\"process_kprobe\":null}",
    "{\"process_kprobe\":[]}",
    "{\"process_kprobe\":\"x\"}",
    "{\"process_kprobe\":{\"function_name\":null}}",
    "{\"process_kprobe\":{\"function_name\":5}}",
    "{\"process_kprobe\":{\"function_name\":[\"x\"]}}",
    "{\"process_kprobe\":{\"function_name\":\"a\",\"function_name\":\"b\"}}",
    "{\"process_kprobe\":{\"function_name\":\"a\",\"function_name\":null}}",
    "{\"process_exec\":{\"name\":5}}",
    "{\"process_exec\":{\"name\":\"x\"}}",
    "{\"process_kprobe\":{\"action\":\"KPROBE_ACTION_POST\"}}",
    "{\"process_kprobe\":{\"action\":3}}",
    "{\"process_kprobe\":{\"action\":99999999999}}",
    "{\"process_kprobe\":{\"action\":\"KPROBE_ACTION_FUTURE\"}}",
    "{\"process_kprobe\":{\"action\":null}}",
    "{\"process_kprobe\":{\"action\":1.5}}",
    "{\"process_kprobe\":{\"action\":{}}}",
    "{\"process_kprobe\":{\"action\":\"A\\u0042\"}}",
    "{\"process_uprobe\":{\"path\":\"/bin/sh\",\"symbol\":\"readline\",\"offset\":\"4096\"}}",
    "{\"process_uprobe\":{\"offset\":4096}}",
    "{\"process_uprobe\":{\"offset\":-1}}",
    "{\"process_uprobe\":{\"offset\":\"x\"}}",
    "{\"process_uprobe\":{\"offset\":18446744073709551616}}",
    "{\"process_uprobe\":{\"offset\":null}}",
    "{\"process_usdt\":{\"path\":\"p\",\"provider\":\"libc\",\"name\":\"setjmp\"}}",
    // Uprobe and USDT events carry an `action` in newer Tetragon.
    "{\"process_uprobe\":{\"symbol\":\"readline\",\"action\":\"KPROBE_ACTION_SIGKILL\"}}",
    "{\"process_usdt\":{\"name\":\"setjmp\",\"action\":15,\"flags\":\"x\"}}",
    "{\"process_usdt\":{\"action\":\"KPROBE_ACTION_SET\",\"action\":1}}",
    "{\"process_loader\":{\"path\":\"/lib/libc.so.6\",\"action\":1}}",
    "{\"process_lsm\":{\"function_name\":\"file_open\",\"policy_name\":\"x\"}}",
    "{\"process_tracepoint\":{\"subsys\":\"s\",\"event\":\"e\",\"policy_name\":null}}",
    "{\"process_loader\":{\"path\":7}}",
    // Metadata keys are skipped whatever they hold.
    "{\"process_exec\":{},\"time\":[1e400,\"\\ud800\"],\"node_name\":{}}",
    // UTF-8: checked once for the whole value.
    "{\"process_exec\":{\"a\":\"\u{e9}\u{1f600}\"},\"node_name\":\"\u{e9}\"}",
    "{\"process_kprobe\":{\"function_name\":\"\u{e9}t\u{e9}\"}}",
];

#[test]
fn corpus_events_take_the_scanner_and_agree() {
    let mut reused = EventSummary::default();
    for text in corpus_texts() {
        assert!(
            check(text.as_bytes(), &mut reused),
            "scanner gave up on {text}"
        );
        let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let line = value.to_string();
        assert!(
            check(line.as_bytes(), &mut reused),
            "scanner gave up on {line}"
        );
    }
}

#[test]
fn built_events_take_the_scanner_and_agree() {
    let mut reused = EventSummary::default();
    for line in built_lines() {
        assert!(
            check(line.as_bytes(), &mut reused),
            "scanner gave up on {line}"
        );
    }
}

#[test]
fn corner_cases_agree() {
    let mut reused = EventSummary::default();
    let mut answered = 0;
    for text in CORNER_CASES {
        if check(text.as_bytes(), &mut reused) {
            answered += 1;
        }
    }
    // Most corner cases are valid events the scanner reads by itself.
    assert!(
        answered > 20,
        "the scanner answered only {answered} corner cases"
    );
}

#[test]
fn invalid_utf8_and_deep_nesting_agree() {
    let mut reused = EventSummary::default();
    let mut inputs: Vec<Vec<u8>> = vec![
        b"{\"process_exec\":{\"a\":\"\xff\"}}".to_vec(),
        b"{\"process_exec\":{\"\xc3\":1}}".to_vec(),
        b"{\"process_kprobe\":{\"function_name\":\"\xe2\x82\"}}".to_vec(),
        b"{\"process_exec\":{}}\xff".to_vec(),
        b"\xef\xbb\xbf{\"process_exec\":{}}".to_vec(),
    ];
    for depth in [1, 100, 127, 128, 129, 200, 1000] {
        let nested = format!(
            "{{\"process_exec\":{{\"a\":{}{}}}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        inputs.push(nested.into_bytes());
        let objects = format!(
            "{{\"process_exec\":{{\"a\":{}1{}}}}}",
            "{\"k\":".repeat(depth),
            "}".repeat(depth)
        );
        inputs.push(objects.into_bytes());
        let unknown = format!(
            "{{\"process_exec\":{{}},\"x\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        inputs.push(unknown.into_bytes());
    }
    for input in &inputs {
        check(input, &mut reused);
    }
}

#[test]
fn reused_summaries_forget_the_last_record() {
    let mut reused = EventSummary::default();
    let records = [
        "{\"process_kprobe\":{\"function_name\":\"f\",\"policy_name\":\"p\",\"action\":\"KPROBE_ACTION_SIGKILL\"}}",
        "{\"process_kprobe\":{}}",
        "{\"process_uprobe\":{\"path\":\"/x\",\"symbol\":\"s\",\"offset\":\"12\"}}",
        "{\"process_uprobe\":{\"path\":\"/x\"}}",
        "{\"process_future\":{}}",
        "{\"process_exec\":{}}",
    ];
    for record in records.iter().chain(records.iter().rev()) {
        assert!(check(record.as_bytes(), &mut reused), "{record}");
    }
}

/// A JSON string literal, sometimes invalid.
fn string_literal() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => "[ -!#-\\[\\]-~]{0,12}",
        2 => Just("\\n".to_string()),
        1 => Just("\\\"".to_string()),
        1 => Just("\\\\".to_string()),
        1 => Just("\\/".to_string()),
        1 => Just("\\u0041".to_string()),
        1 => Just("\\u00E9".to_string()),
        1 => Just("\\ud83d\\ude00".to_string()),
        1 => Just("\\ud800".to_string()),
        1 => Just("\\udc00".to_string()),
        1 => Just("\u{e9}\u{1f600}".to_string()),
        1 => Just("\\x".to_string()),
        1 => Just("\\u12".to_string()),
        1 => Just("\t".to_string()),
        1 => Just("\u{1}".to_string()),
        1 => Just("\u{7f}".to_string()),
    ];
    prop::collection::vec(piece, 0..4).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

/// A JSON number, sometimes invalid or out of `f64`'s range.
fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
        1 => prop::sample::select(vec![
            "01", "1.", ".5", "-", "+1", "1e", "1e+", "--1", "0x10", "1e400", "-1e400", "1e-400",
            "18446744073709551616", "99999999999999999999999999",
        ])
        .prop_map(str::to_string),
    ]
}

/// Keys the summary treats specially, and others.
fn key_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "process_exec", "process_exit", "process_kprobe", "process_tracepoint",
            "process_uprobe", "process_lsm", "process_usdt", "process_loader",
            "process_throttle", "rate_limit_info", "process_connect", "test",
            "node_name", "time", "aggregation_info", "cluster_name", "node_labels",
            "function_name", "subsys", "event", "path", "symbol", "provider", "name",
            "offset", "policy_name", "action", "process", "args", "process_future",
        ])
        .prop_map(|key| format!("\"{key}\"")),
        1 => string_literal(),
    ]
}

/// Any JSON value, with some invalid pieces.
fn value_literal() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => string_literal(),
        3 => number_literal(),
        1 => prop::sample::select(vec![
            "true", "false", "null", "tru", "nul", "\"KPROBE_ACTION_POST\"", "\"4096\"",
        ])
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((key_literal(), inner), 0..6).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(key, value)| format!("{key}:{value}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// An object shaped like an event: kind keys holding payloads with hook
/// fields, metadata, unknown keys.
fn event_literal() -> impl Strategy<Value = String> {
    let hook_value = prop_oneof![
        3 => "\"[a-z_/.]{0,16}\"",
        1 => value_literal(),
    ];
    let payload_member = prop_oneof![
        2 => (key_literal(), hook_value).prop_map(|(key, value)| format!("{key}:{value}")),
        1 => (key_literal(), value_literal()).prop_map(|(key, value)| format!("{key}:{value}")),
    ];
    let payload = prop_oneof![
        6 => prop::collection::vec(payload_member, 0..6)
            .prop_map(|members| format!("{{{}}}", members.join(","))),
        1 => value_literal(),
    ];
    let member = prop_oneof![
        3 => (key_literal(), payload).prop_map(|(key, value)| format!("{key}:{value}")),
        1 => (key_literal(), value_literal()).prop_map(|(key, value)| format!("{key}:{value}")),
    ];
    prop::collection::vec(member, 0..4).prop_map(|members| format!("{{{}}}", members.join(",")))
}

/// Bytes an edit may insert: JSON syntax, blanks, control characters,
/// escapes, broken UTF-8.
const INSERTS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b" ",
    b"\n",
    b"\t",
    b"\r",
    b"\x0c",
    b"\x00",
    b"\x1f",
    b"\x7f",
    b"\xc3",
    b"\xff",
    b"\xc3\xa9",
    b"u",
    b"e",
    b"E",
    b"-",
    b"+",
    b"0",
    b"1",
    b".",
    b"null",
    b"true",
    b"\\u",
    b"\\ud800",
    b"\\n",
    b"\"process_exec\":{},",
    b"\"x\":1e400,",
    b"\"policy_name\":\"p\",",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert { at: usize, insert: usize },
    Delete { at: usize, len: usize },
    Replace { at: usize, insert: usize },
    Truncate { at: usize },
    Repeat { at: usize, len: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..INSERTS.len()).prop_map(|(at, insert)| Edit::Insert { at, insert }),
        (any::<usize>(), 1usize..8).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 0..INSERTS.len()).prop_map(|(at, insert)| Edit::Replace { at, insert }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
        (any::<usize>(), 1usize..30).prop_map(|(at, len)| Edit::Repeat { at, len }),
    ]
}

fn apply(text: &mut Vec<u8>, edit: &Edit) {
    let position = |at: usize, text: &Vec<u8>| at % (text.len() + 1);
    match *edit {
        Edit::Insert { at, insert } => {
            let at = position(at, text);
            text.splice(at..at, INSERTS[insert].iter().copied());
        }
        Edit::Delete { at, len } => {
            let at = position(at, text);
            let end = (at + len).min(text.len());
            text.drain(at..end);
        }
        Edit::Replace { at, insert } => {
            let at = position(at, text);
            let end = (at + 1).min(text.len());
            text.splice(at..end, INSERTS[insert].iter().copied());
        }
        Edit::Truncate { at } => {
            let at = position(at, text);
            text.truncate(at);
        }
        Edit::Repeat { at, len } => {
            let at = position(at, text);
            let end = (at + len).min(text.len());
            let copy = text[at..end].to_vec();
            text.splice(at..at, copy);
        }
    }
}

/// Valid events to edit: the corpus, pretty and as lines, and built ones.
fn seeds() -> &'static Vec<String> {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = corpus_texts().clone();
        for text in corpus_texts() {
            let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            seeds.push(value.to_string());
        }
        seeds.extend(built_lines());
        seeds
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn generated_values_agree(text in value_literal()) {
        check(text.as_bytes(), &mut EventSummary::default());
    }

    #[test]
    fn generated_events_agree(text in event_literal(), blanks in any::<bool>()) {
        let text = if blanks { text.replace(',', " ,\n\t").replace(':', "\r\n: ") } else { text };
        check(text.as_bytes(), &mut EventSummary::default());
    }

    #[test]
    fn edited_events_agree(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let seeds = seeds();
        let mut text = seeds[seed.index(seeds.len())].clone().into_bytes();
        for edit in &edits {
            apply(&mut text, edit);
        }
        check(&text, &mut EventSummary::default());
    }
}

/// The generators reach both sides: values the scanner reads by itself and
/// values it leaves to serde (else the properties above would prove little).
#[test]
fn generators_exercise_both_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let mut count = |strategy: &dyn Fn(&mut TestRunner) -> Vec<u8>| {
        let (mut answered, mut accepted, mut rejected) = (0, 0, 0);
        for _ in 0..2000 {
            let text = strategy(&mut runner);
            if check(&text, &mut EventSummary::default()) {
                answered += 1;
            }
            match reference(&text) {
                Ok(_) => accepted += 1,
                Err(_) => rejected += 1,
            }
        }
        (answered, accepted, rejected)
    };
    let events = count(&|runner| {
        event_literal()
            .new_tree(runner)
            .unwrap()
            .current()
            .into_bytes()
    });
    let edited = count(&|runner| {
        let seeds = seeds();
        let seed = any::<prop::sample::Index>()
            .new_tree(runner)
            .unwrap()
            .current();
        let edits = prop::collection::vec(edit(), 1..4)
            .new_tree(runner)
            .unwrap()
            .current();
        let mut text = seeds[seed.index(seeds.len())].clone().into_bytes();
        for edit in &edits {
            apply(&mut text, edit);
        }
        text
    });
    for (name, (answered, accepted, rejected)) in [("generated", events), ("edited", edited)] {
        assert!(
            answered > 150,
            "{name}: the scanner answered {answered} of 2000"
        );
        assert!(
            accepted > answered / 2 && rejected > 200,
            "{name}: {accepted} accepted, {rejected} rejected"
        );
    }
}
