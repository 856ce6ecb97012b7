//! `EventRecord::parse_into` against `EventRecord::parse` (the reference):
//! parsing into an event read before gives the same event, or the same
//! error, whatever that event held. Inputs: the corpus (pretty and as
//! lines), hand-picked cases that exercise `null`s, repeated keys, unknown
//! keys, kinds that change from one record to the next, lists that grow
//! and shrink, and random edits of all of these, in random sequences.
#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use tpc_events::{Event, EventReader};

/// Every value of `text`, parsed fresh and into `reused`: both must agree.
/// Returns how many values parsed.
fn check(text: &[u8], reused: &mut Event) -> usize {
    let shown = String::from_utf8_lossy(text);
    let mut reader = EventReader::new(text);
    let mut parsed = 0;
    while let Some((_, record)) = reader.next_record() {
        let Ok(record) = record else { continue };
        let fresh = record.parse().map_err(|error| error.to_string());
        let into = record
            .parse_into(reused)
            .map(|()| reused.clone())
            .map_err(|error| error.to_string());
        assert_eq!(into, fresh, "parse_into and parse disagree on {shown}");
        if let Ok(event) = &fresh {
            assert_eq!(reused.to_json_line(), event.to_json_line(), "on {shown}");
            parsed += 1;
        }
    }
    parsed
}

/// Corpus events, as files hold them and as single lines.
fn corpus() -> &'static Vec<String> {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let mut texts = Vec::new();
        for path in common::corpus_files() {
            let text = std::fs::read_to_string(&path).unwrap();
            for value in common::json_values(&text) {
                texts.push(value.to_string());
            }
            texts.push(text);
        }
        texts
    })
}

const CASES: &[&str] = &[
    r#"{"process_kprobe":{"process":{"exec_id":"a","pid":1,"binary":"/bin/sh","pod":{"namespace":"n","container":{"id":"c"}}},"parent":{"pid":2},"function_name":"f","args":[{"file_arg":{"path":"/etc/x"}},{"bytes_arg":"aGk="},{"size_arg":"2"}],"action":"KPROBE_ACTION_POST","policy_name":"p"},"node_name":"n","time":"2024-01-01T00:00:00Z"}"#,
    r#"{"process_kprobe":{"process":{"pid":3},"function_name":"g","args":[{"int_arg":1}]},"cluster_name":"c"}"#,
    r#"{"process_kprobe":{"process":{"exec_id":null,"pid":1},"function_name":null}}"#,
    r#"{"process_kprobe":{"process":{"pid":null,"pid":4}}}"#,
    r#"{"process_kprobe":{"process":{"pid":4,"pid":null}}}"#,
    r#"{"process_kprobe":{"process":{"pid":4,"pid":5}}}"#,
    r#"{"process_kprobe":{"process":{"pid":"x"}}}"#,
    r#"{"process_kprobe":{"process":{"pid":1,"future":{"a":[1,2]},"other":null}}}"#,
    r#"{"process_kprobe":{"process":{"pid":1,"future":1,"future":2}}}"#,
    r#"{"process_kprobe":{"process":{"pod":null}}}"#,
    r#"{"process_kprobe":{"process":{"pod":{"name":"x"}}}}"#,
    r#"{"process_kprobe":{"process":{"pod":5}}}"#,
    r#"{"process_exec":{"process":{"pid":1},"ancestors":[{"pid":2},{"pid":3},{"pid":4}]}}"#,
    r#"{"process_exec":{"process":{"pid":1},"ancestors":[{"pid":5}]}}"#,
    r#"{"process_exec":{"process":{"pid":1},"ancestors":[]}}"#,
    r#"{"process_exec":{"process":{"pid":1},"ancestors":[{"pid":5},{"pid":"bad"}]}}"#,
    r#"{"process_exit":{"process":{"pid":1},"status":0},"time":"2024-01-01T00:00:01Z"}"#,
    r#"{"process_tracepoint":{"subsys":"s","event":"e","args":[{"long_arg":"-1"},{"string_arg":"x"}]}}"#,
    r#"{"process_connect":{"x":1},"node_name":"n"}"#,
    r#"{"process_future":{"x":1}}"#,
    r#"{"process_future":{"x":1},"another":{}}"#,
    r#"{"process_exec":{},"process_exit":{}}"#,
    r#"{}"#,
    r#"[1]"#,
    r#"{"node_name":"a","node_name":"b","process_exec":{}}"#,
    r#"{"node_name":"a","node_name":5,"process_exec":{}}"#,
    r#"{"node_name":null,"node_name":"b","process_exec":{}}"#,
    r#"{"node_name":null,"node_name":null,"process_exec":{}}"#,
    r#"{"time":"not a time","process_exec":{}}"#,
    r#"{"time":null,"node_labels":{"a":"b"},"aggregation_info":{"count":"2"},"process_exec":{}}"#,
    r#"{"process_exec":{"process":{"pid":1}},"time":"2024-01-01T00:00:00Z","extra":[1]}"#,
    r#"{"process_kprobe":null}"#,
    r#"{"process_kprobe":{"process":{"pid":1}}"#,
    r#"{"process_lsm":{"function_name":"file_open","action":3}}"#,
    r#"{"process_uprobe":{"path":"/bin/sh","symbol":"readline","offset":"12"}}"#,
    r#"{"process_uprobe":{"path":"/bin/sh","action":"KPROBE_ACTION_POST","data":[{"size_arg":"1"}]}}"#,
    r#"{"process_usdt":{"name":"n","action":15,"flags":"f"}}"#,
    r#"{"process_loader":{"path":"/lib/x.so","parent":{"pid":2},"ancestors":[{"pid":1}]}}"#,
    r#"{"process_exec":{"process":{"pid":1,"environment_variables":[{"Key":"A","Value":"1"},{"Key":"B"}]}}}"#,
    r#"{"process_exec":{"process":{"pid":1,"environment_variables":[{"Key":5}]}}}"#,
    r#"{"process_kprobe":{"args":[{"bpf_prog_arg":{"ProgName":"p"}},{"int32_list_arg":{"values":[1,"2"]}}]}}"#,
];

#[test]
fn corpus_and_cases_parse_the_same_into_any_event() {
    let mut texts: Vec<&str> = corpus().iter().map(String::as_str).collect();
    texts.extend(CASES);
    // Forwards, backwards and interleaved, so that each value is parsed
    // into events of other kinds and shapes.
    let mut order: Vec<&str> = texts.clone();
    order.extend(texts.iter().rev());
    order.extend(texts.iter().step_by(3));
    order.extend(texts.iter().skip(1).step_by(2));
    let mut reused = Event::from_json(CASES[0]).unwrap();
    let mut parsed = 0;
    for text in order {
        parsed += check(text.as_bytes(), &mut reused);
    }
    assert!(
        parsed > 2 * corpus().len(),
        "too few values parsed: {parsed}"
    );
}

/// Bytes an edit may insert.
const INSERTS: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "null",
    "1",
    "-1",
    "\"x\"",
    "{}",
    "[]",
    "\"pid\":",
    "\"pid\":null,",
    "\"exec_id\":\"e\",",
    "\"binary\":null,",
    "\"pod\":{},",
    "\"time\":\"2024-01-01T00:00:00Z\",",
    "\"node_name\":\"n\",",
    "\"future\":{\"a\":1},",
    "\"args\":[],",
    "\"ancestors\":[{\"pid\":1}],",
    "\"process_exit\":{},",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert { at: usize, insert: usize },
    Delete { at: usize, len: usize },
}

fn apply(text: &mut String, edit: &Edit) {
    let boundary = |at: usize, text: &String| {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    match *edit {
        Edit::Insert { at, insert } => {
            let at = boundary(at, text);
            text.insert_str(at, INSERTS[insert]);
        }
        Edit::Delete { at, len } => {
            let start = boundary(at, text);
            let end = boundary(start + len, text).max(start);
            text.replace_range(start..end, "");
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..INSERTS.len()).prop_map(|(at, insert)| Edit::Insert { at, insert }),
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Edit::Delete { at, len }),
    ]
}

fn seeds() -> &'static Vec<String> {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = corpus().clone();
        seeds.extend(CASES.iter().map(|case| (*case).to_string()));
        seeds
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn edited_sequences_parse_the_same_into_any_event(
        records in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::collection::vec(edit(), 0..3)),
            1..6,
        ),
    ) {
        let seeds = seeds();
        let mut reused = Event::from_json(CASES[1]).unwrap();
        for (seed, edits) in &records {
            let mut text = seeds[seed.index(seeds.len())].clone();
            for edit in edits {
                apply(&mut text, edit);
            }
            check(text.as_bytes(), &mut reused);
        }
    }
}
