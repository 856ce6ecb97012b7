//! Real Tetragon events (the shared corpus): every file loads, round-trips,
//! and reads the same as JSON lines and as concatenated values.
#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use serde_json::Value;
use tpc_events::{
    ArgValue, Capability, Event, EventBody, EventKind, EventReader, Hook, KprobeAction,
};

fn read_all(text: &str) -> Vec<(tpc_events::Position, Event)> {
    EventReader::new(text.as_bytes())
        .map(|(position, result)| match result {
            Ok(event) => (position, event),
            Err(error) => panic!("value at {position} does not load: {error}"),
        })
        .collect()
}

#[test]
fn every_corpus_file_loads_and_round_trips() {
    let mut events_seen = 0;
    for path in common::corpus_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = common::json_values(&text);
        let events: Vec<Event> = EventReader::open(&path)
            .unwrap()
            .map(|(position, result)| {
                result.unwrap_or_else(|error| panic!("{} at {position}: {error}", path.display()))
            })
            .collect();
        assert_eq!(events.len(), expected.len(), "{}", path.display());
        for (event, expected) in events.iter().zip(&expected) {
            assert_eq!(
                &event.to_json_value(),
                expected,
                "{} does not round-trip",
                path.display()
            );
            let line = event.to_json_line();
            assert!(!line.contains('\n'));
            let reparsed: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(
                &reparsed,
                expected,
                "{} does not round-trip as a line",
                path.display()
            );
            assert_eq!(&Event::from_json(&line).unwrap(), event);
            events_seen += 1;
        }
    }
    assert!(events_seen > 0);
}

#[test]
fn corpus_reads_the_same_as_json_lines_and_as_concatenated_values() {
    let files = common::corpus_files();
    let texts: Vec<String> = files
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    let singles: Vec<Event> = texts
        .iter()
        .map(|text| Event::from_json(text).unwrap())
        .collect();

    // JSON lines, one event per line.
    let lines: String = texts
        .iter()
        .map(|text| format!("{}\n", common::json_values(text)[0]))
        .collect::<Vec<_>>()
        .concat();
    let from_lines = read_all(&lines);
    assert_eq!(from_lines.len(), singles.len());
    for (index, ((position, event), single)) in from_lines.iter().zip(&singles).enumerate() {
        assert_eq!(position.line, index as u64 + 1);
        assert_eq!(event, single);
    }

    // The files concatenated as `cat` would (they have no final newline, so
    // one value's `}` meets the next one's `{` on the same line).
    let concatenated = texts.concat();
    let mut expected_lines = Vec::new();
    let mut line = 1;
    for text in &texts {
        expected_lines.push(line);
        line += text.matches('\n').count() as u64;
    }
    let from_concatenated = read_all(&concatenated);
    assert_eq!(from_concatenated.len(), singles.len());
    for ((position, event), (single, expected_line)) in from_concatenated
        .iter()
        .zip(singles.iter().zip(&expected_lines))
    {
        assert_eq!(position.line, *expected_line);
        assert_eq!(event, single);
    }
}

fn corpus_event(name: &str) -> Event {
    let path = common::corpus_files()
        .into_iter()
        .find(|path| path.ends_with(name))
        .unwrap();
    Event::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn corpus_kprobe_fields_are_typed() {
    let event = corpus_event("00_four_golden_signals__process_kprobe.json");
    assert_eq!(event.kind(), EventKind::ProcessKprobe);
    assert_eq!(
        event.hook(),
        Some(Hook::Kprobe {
            function: "__x64_sys_write"
        })
    );
    assert_eq!(event.action(), Some(KprobeAction::Post));
    assert_eq!(
        event.node_name.as_deref(),
        Some("gke-kprobe-validation-default-pool-b5e9dab6-k0cj")
    );
    let process = event.process().unwrap();
    assert_eq!(process.pid(), Some(36318));
    assert_eq!(process.binary(), "/usr/bin/vi");
    assert_eq!(process.arguments(), "/etc/passwd");
    assert_eq!(process.container_pid(), Some(194));
    assert_eq!(event.parent().unwrap().binary(), "/bin/bash");
    // Tetragon's exec_id is base64 of node:ktime:pid.
    assert_eq!(
        tpc_events::Process::tetragon_exec_id(
            "gke-kprobe-validation-default-pool-b5e9dab6-k0cj",
            2_284_601_054_931,
            36318
        ),
        process.exec_id()
    );
    let args = event.args();
    assert_eq!(args[0].value.path(), Some("etc/passwd"));
    let ArgValue::Bytes(bytes) = &args[1].value else {
        panic!("expected bytes_arg, got {:?}", args[1].value)
    };
    assert!(bytes.decode().starts_with(b"daemon:x:2:2:daemon"));
    let ArgValue::Size(size) = &args[2].value else {
        panic!("expected size_arg, got {:?}", args[2].value)
    };
    assert_eq!((size.get(), size.is_quoted()), (627, true));
    assert_eq!(args[2].value.as_u64(), Some(627));
}

#[test]
fn corpus_truncated_bytes_and_times_are_typed() {
    let event = corpus_event("00_process_lifecycle__cat_process_kprobe.json");
    let ArgValue::TruncatedBytes(truncated) = &event.args()[1].value else {
        panic!("expected truncated bytes")
    };
    assert_eq!(truncated.orig_size.map(|size| size.get()), Some(65536));
    assert!(truncated.bytes_arg.is_none());
    let time = event.time.as_ref().unwrap();
    assert_eq!(
        time.unix_nanos(),
        tpc_events::Timestamp::parse(time.as_str())
            .unwrap()
            .unix_nanos()
    );
    assert!(time.as_str().starts_with("2022-"));
}

#[test]
fn corpus_exec_capabilities_are_typed() {
    let event = corpus_event("01_reaching_the_host_namespace__privileged-pod-nsenter.json");
    let cap = event.process().unwrap().cap.as_ref().unwrap();
    let permitted = cap.permitted.as_ref().unwrap();
    // Tetragon names bit 1 without the CAP_ prefix.
    assert_eq!(permitted[1], Capability::DacOverride);
    assert!(permitted.contains(&Capability::SysAdmin));
    assert!(
        permitted
            .iter()
            .all(|capability| capability.number().is_some())
    );
    assert_eq!(event.process().unwrap().binary(), "/usr/bin/nsenter");
    assert_eq!(event.time_unix_nanos(), Some(1_642_590_989_378_000_000));
}

#[test]
fn corpus_legacy_network_kinds_load_untyped() {
    for (name, kind) in [
        (
            "00_four_golden_signals__process_connect.json",
            "process_connect",
        ),
        (
            "00_four_golden_signals__process_close.json",
            "process_close",
        ),
        (
            "00_four_golden_signals__process_listen.json",
            "process_listen",
        ),
    ] {
        let event = corpus_event(name);
        assert_eq!(event.kind(), EventKind::Other);
        assert_eq!(event.kind_key(), kind);
        assert!(event.hook().is_none());
        assert!(event.process().is_none());
        let EventBody::Other { payload, .. } = &event.body else {
            panic!("expected an untyped body")
        };
        assert!(payload.get("process").is_some());
        assert!(event.time.is_some());
    }
}
