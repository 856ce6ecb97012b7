//! `EventReader`: positions, error reporting with line numbers, recovery
//! after a broken record, and values that are JSON but not events.
#![expect(clippy::unwrap_used, reason = "tests may unwrap")]

use std::io::{self, BufReader, Read};

use tpc_events::{EventError, EventKind, EventReader, Position};

const EXEC: &str =
    r#"{"process_exec":{"process":{"pid":1,"binary":"/bin/a"}},"time":"2024-01-01T00:00:00Z"}"#;
const EXIT: &str =
    r#"{"process_exit":{"process":{"pid":1},"status":0},"time":"2024-01-01T00:00:01Z"}"#;

/// What the reader yields for each value, as `(line, column, Ok(kind) or Err(error))`.
fn outcomes(input: &str) -> Vec<(u64, u64, Result<EventKind, EventError>)> {
    EventReader::new(input.as_bytes())
        .map(|(Position { line, column }, result)| (line, column, result.map(|event| event.kind())))
        .collect()
}

fn kinds(outcomes: &[(u64, u64, Result<EventKind, EventError>)]) -> Vec<(u64, Option<EventKind>)> {
    outcomes
        .iter()
        .map(|(line, _, result)| (*line, result.as_ref().ok().copied()))
        .collect()
}

#[test]
fn json_lines_yield_one_event_per_line_with_its_line_number() {
    let input = format!("{EXEC}\n\n{EXIT}\r\n   {EXEC}\n");
    let results = outcomes(&input);
    assert_eq!(
        kinds(&results),
        [
            (1, Some(EventKind::ProcessExec)),
            (3, Some(EventKind::ProcessExit)),
            (4, Some(EventKind::ProcessExec))
        ]
    );
    assert_eq!(results[2].1, 4, "column of an indented value");
}

#[test]
fn malformed_lines_are_reported_with_their_line_and_reading_goes_on() {
    let truncated = &EXEC[..40];
    let input = format!(
        "{EXEC}\n{{\"process_exec\": oops}}\n{truncated}\n{EXIT}\n{{\"a\":\"unterminated\n{EXEC}\n"
    );
    let results = outcomes(&input);
    assert_eq!(
        kinds(&results),
        [
            (1, Some(EventKind::ProcessExec)),
            (2, None),
            (3, None),
            (4, Some(EventKind::ProcessExit)),
            (5, None),
            (6, Some(EventKind::ProcessExec)),
        ]
    );
    for (line, _, result) in &results[1..] {
        if let Err(error) = result {
            assert!(
                matches!(error, EventError::MalformedJson { .. }),
                "line {line}: {error}"
            );
            assert_eq!(error.line(), Some(*line), "{error}");
        }
    }
    let message = results[1].2.as_ref().unwrap_err().to_string();
    assert!(
        message.starts_with("malformed json at line 2, column 18"),
        "{message}"
    );
}

#[test]
fn pretty_printed_and_concatenated_values_are_split() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(EXEC).unwrap())
            .unwrap();
    let pretty_lines = pretty.lines().count() as u64;
    let input = format!("{pretty}\n{pretty}{EXIT} {EXEC}\n\n{pretty}");
    let results = outcomes(&input);
    assert_eq!(
        kinds(&results),
        [
            (1, Some(EventKind::ProcessExec)),
            (pretty_lines + 1, Some(EventKind::ProcessExec)),
            (2 * pretty_lines, Some(EventKind::ProcessExit)),
            (2 * pretty_lines, Some(EventKind::ProcessExec)),
            (2 * pretty_lines + 2, Some(EventKind::ProcessExec)),
        ]
    );
    assert_eq!(
        results[2].1, 2,
        "the exit value starts right after the closing brace"
    );
    assert_eq!(results[3].1, 2 + EXIT.len() as u64 + 1);
}

#[test]
fn a_broken_pretty_value_yields_one_error_and_the_next_value_loads() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(EXEC).unwrap())
            .unwrap();
    // Cut the first value in the middle of a string.
    let cut = pretty.find("/bin/a").unwrap() + 3;
    let input = format!("{}\n{pretty}\n", &pretty[..cut]);
    let results = outcomes(&input);
    assert_eq!(
        kinds(&results),
        [
            (1, None),
            (
                2 + pretty[..cut].matches('\n').count() as u64,
                Some(EventKind::ProcessExec)
            )
        ]
    );
}

#[test]
fn an_invalid_field_points_at_its_line() {
    let input = format!(
        "{EXEC}\n{{\n  \"process_exec\": {{\n    \"process\": {{\"pid\": \"abc\"}}\n  }}\n}}\n"
    );
    let results = outcomes(&input);
    assert_eq!(
        kinds(&results),
        [(1, Some(EventKind::ProcessExec)), (2, None)]
    );
    let error = results[1].2.as_ref().unwrap_err();
    assert!(
        matches!(error, EventError::InvalidField { line: 4, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("invalid event at line 4"),
        "{error}"
    );

    let bad_time = r#"{"process_exec":{},"time":"yesterday"}"#;
    let error = tpc_events::Event::from_json(bad_time).unwrap_err();
    assert!(
        matches!(error, EventError::InvalidField { line: 1, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("invalid timestamp \"yesterday\""),
        "{error}"
    );
}

#[test]
fn json_that_is_not_an_event_is_a_clear_error() {
    let input = concat!(
        "[1, 2]\n",
        "42\n",
        "\"text\"\n",
        "null\n",
        "{}\n",
        "{\"node_name\":\"n\",\"time\":\"2024-01-01T00:00:00Z\"}\n",
        "{\"process_exec\":{},\"process_kprobe\":{}}\n",
        "{\"process_exec\":{},\"process_connect\":{}}\n",
        "{\"process_future\":{},\"process_other\":{}}\n",
        "{\n\"process_exec\": {},\n\"process_exit\": {}\n}\n",
    );
    let results = outcomes(input);
    let errors: Vec<(u64, String)> = results
        .iter()
        .map(|(line, _, result)| (*line, result.as_ref().unwrap_err().to_string()))
        .collect();
    let expected = [
        (1, "line 1: expected an event object, found an array"),
        (2, "line 2: expected an event object, found a number"),
        (3, "line 3: expected an event object, found a string"),
        (4, "line 4: expected an event object, found null"),
        (5, "line 5: object has no event kind key"),
        (6, "line 6: object has no event kind key"),
        (
            7,
            "line 7: object has several event kind keys: process_exec, process_kprobe",
        ),
        (
            8,
            "line 8: object has several event kind keys: process_exec, process_connect",
        ),
        (
            9,
            "line 9: object has several event kind keys: process_future, process_other",
        ),
        (
            10,
            "line 10: object has several event kind keys: process_exec, process_exit",
        ),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for ((line, message), (expected_line, expected_start)) in errors.iter().zip(expected) {
        assert_eq!(*line, expected_line);
        assert!(
            message.starts_with(expected_start),
            "{message:?} should start with {expected_start:?}"
        );
    }
    assert!(matches!(
        results[4].2,
        Err(EventError::NoEventKind { line: 5 })
    ));
    assert!(
        matches!(&results[6].2, Err(EventError::SeveralEventKinds { line: 7, kinds }) if kinds.len() == 2)
    );
}

#[test]
fn garbage_and_stray_text_are_reported() {
    let input = format!("garbage here\n{EXEC} trailing\n}}\n{EXEC}\n");
    let results = outcomes(&input);
    assert_eq!(
        kinds(&results),
        [
            (1, None),
            (2, Some(EventKind::ProcessExec)),
            (2, None),
            (3, None),
            (4, Some(EventKind::ProcessExec))
        ]
    );
}

#[test]
fn a_byte_order_mark_and_a_missing_final_newline_are_fine() {
    let input = format!("\u{feff}{EXEC}\n{EXIT}");
    assert_eq!(
        kinds(&outcomes(&input)),
        [
            (1, Some(EventKind::ProcessExec)),
            (2, Some(EventKind::ProcessExit))
        ]
    );
}

#[test]
fn a_value_cut_by_the_end_of_input_is_reported() {
    let input = format!("{EXEC}\n{}", &EXIT[..30]);
    let results = outcomes(&input);
    assert_eq!(
        kinds(&results),
        [(1, Some(EventKind::ProcessExec)), (2, None)]
    );
    assert!(matches!(
        results[1].2,
        Err(EventError::MalformedJson { line: 2, .. })
    ));
}

/// Input that fails after some bytes.
struct FailingInput {
    data: io::Cursor<Vec<u8>>,
}

impl Read for FailingInput {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self.data.read(buffer)? {
            0 => Err(io::Error::other("disk on fire")),
            count => Ok(count),
        }
    }
}

#[test]
fn an_io_error_is_yielded_then_reading_stops() {
    let input = FailingInput {
        data: io::Cursor::new(format!("{EXEC}\n{EXIT}\n").into_bytes()),
    };
    let results: Vec<_> = EventReader::new(BufReader::new(input)).collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].1.is_ok() && results[1].1.is_ok());
    let error = results[2].1.as_ref().unwrap_err();
    assert!(matches!(error, EventError::Io { line: 2, .. }), "{error:?}");
}

/// Every outcome of `next_record`, decoded fully where the summary worked.
fn record_outcomes(
    input: &str,
) -> Vec<(Position, Result<tpc_events::Event, String>, Option<String>)> {
    let mut reader = EventReader::new(input.as_bytes());
    let mut outcomes = Vec::new();
    while let Some((position, record)) = reader.next_record() {
        match record {
            Ok(record) => {
                assert_eq!(record.position(), position);
                let summary = record.summary().clone();
                let event = record.parse().map_err(|error| error.to_string());
                if let Ok(event) = &event {
                    assert_eq!(summary.kind(), event.kind());
                    assert_eq!(summary.kind_key(), event.kind_key());
                    assert_eq!(summary.hook(), event.hook());
                    assert_eq!(summary.policy_name(), event.policy_name());
                    assert_eq!(summary.action(), event.action());
                }
                outcomes.push((position, event, None));
            }
            Err(error) => {
                outcomes.push((position, Err(error.to_string()), Some(error.to_string())))
            }
        }
    }
    outcomes
}

#[test]
fn records_agree_with_the_iterator() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(EXEC).unwrap())
            .unwrap();
    let kprobe = r#"{"process_kprobe":{"process":{"pid":3},"function_name":"__x64_sys_openat","args":[{"int_arg":1}],"policy_name":"p","action":"KPROBE_ACTION_SIGKILL"},"time":"2024-01-01T00:00:02Z"}"#;
    let tracepoint = r#"{"process_tracepoint":{"subsys":"syscalls","event":"sys_enter_openat","policy_name":"q","action":1}}"#;
    let uprobe = r#"{"process_uprobe":{"path":"/bin/bash","symbol":"readline","policy_name":"r","action":"KPROBE_ACTION_POST"}}"#;
    let usdt = r#"{"process_usdt":{"path":"/lib/libc.so.6","provider":"libc","name":"setjmp","action":10}}"#;
    let lsm = r#"{"process_lsm":{"function_name":"file_open","action":"KPROBE_ACTION_POST"}}"#;
    let input = format!(
        "{EXEC}\n{kprobe}\n{{oops\n{tracepoint}\n{pretty}{uprobe}\n[]\n{{\"process_close\":{{}}}}\n{usdt}\n{lsm}\n{{\"process_exec\":{{}},\"time\":\"soon\"}}\n{{}}\n"
    );
    let from_iterator: Vec<(Position, Result<tpc_events::Event, String>)> =
        EventReader::new(input.as_bytes())
            .map(|(position, result)| (position, result.map_err(|error| error.to_string())))
            .collect();
    let from_records = record_outcomes(&input);
    assert_eq!(from_iterator.len(), 12);
    assert_eq!(from_records.len(), from_iterator.len());
    for ((position, event, _), (expected_position, expected)) in
        from_records.iter().zip(&from_iterator)
    {
        assert_eq!(position, expected_position);
        assert_eq!(event, expected, "at {position}");
    }
    // The bad timestamp passes the summary and fails the full parse.
    let (position, event, summary_error) = &from_records[10];
    assert_eq!(position.line, 9 + pretty.lines().count() as u64);
    assert!(summary_error.is_none());
    assert!(
        event
            .as_ref()
            .unwrap_err()
            .contains("invalid timestamp \"soon\"")
    );
    // Malformed and non-event values fail already at the summary.
    for index in [2, 6, 11] {
        assert!(
            from_records[index].2.is_some(),
            "record {index} should fail its summary"
        );
    }
}

#[test]
fn summaries_read_hook_policy_and_action() {
    let input = r#"{"node_name":"n","process_kprobe":{"process":{"pid":3,"binary":"/x"},"parent":{"pid":1},"function_name":"security_file_open","args":[{"file_arg":{"path":"/etc/shadow"}}],"policy_name":"p","action":"KPROBE_ACTION_SIGKILL","future":{"deep":[{"function_name":"not this one"}]}},"time":"2024-01-01T00:00:02Z"}"#;
    let mut reader = EventReader::new(input.as_bytes());
    let (position, record) = reader.next_record().unwrap();
    let record = record.unwrap();
    assert_eq!(position, Position { line: 1, column: 1 });
    let summary = record.summary();
    assert_eq!(summary.kind(), EventKind::ProcessKprobe);
    assert_eq!(
        summary.hook(),
        Some(tpc_events::Hook::Kprobe {
            function: "security_file_open"
        })
    );
    assert_eq!(summary.policy_name(), Some("p"));
    assert_eq!(summary.action(), Some(tpc_events::KprobeAction::Sigkill));
    assert_eq!(record.text(), input.as_bytes());
    assert!(reader.next_record().is_none());
}

#[test]
fn lines_longer_than_the_input_buffer_read_the_same() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(EXEC).unwrap())
            .unwrap();
    let input = format!("{EXEC}\n{{broken\n{pretty}{EXIT}\n\n{EXIT}");
    let expected: Vec<(Position, Result<tpc_events::Event, String>)> =
        EventReader::new(input.as_bytes())
            .map(|(position, result)| (position, result.map_err(|error| error.to_string())))
            .collect();
    assert_eq!(expected.len(), 5);
    for capacity in [1, 7, 16, 100] {
        let small = BufReader::with_capacity(capacity, input.as_bytes());
        let results: Vec<(Position, Result<tpc_events::Event, String>)> = EventReader::new(small)
            .map(|(position, result)| (position, result.map_err(|error| error.to_string())))
            .collect();
        assert_eq!(results, expected, "buffer of {capacity} bytes");
        let mut reader = EventReader::new(BufReader::with_capacity(capacity, input.as_bytes()));
        let mut count = 0;
        while let Some((position, record)) = reader.next_record() {
            assert_eq!(position, expected[count].0);
            assert_eq!(
                record.is_ok(),
                expected[count].1.is_ok(),
                "record {count}, buffer of {capacity} bytes"
            );
            count += 1;
        }
        assert_eq!(count, expected.len());
    }
}

#[test]
fn lines_read_counts_every_line_and_a_last_one_without_a_break() {
    for (input, lines) in [
        ("", 0),
        ("\n", 1),
        (EXEC, 1),
        ("{\n  \"process_exec\": {}\n}\n\n", 4),
        ("{\"process_exec\":{}}\nnot json\n{\"process_exec\":{}}", 3),
    ] {
        let mut reader = EventReader::new(input.as_bytes());
        while reader.next_record().is_some() {}
        assert_eq!(reader.lines_read(), lines, "{input:?}");
    }
}
