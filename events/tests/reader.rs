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
