//! `EventError`, the one error type of this crate.

/// What can go wrong reading, building or changing an event.
///
/// Line and column numbers are 1-based and count from the start of the input
/// handed to the reader (or to [`crate::Event::from_json`]).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The text is not valid JSON (or ends in the middle of a value).
    #[error("malformed json at line {line}, column {column}: {source}")]
    MalformedJson {
        line: u64,
        column: u64,
        #[source]
        source: serde_json::Error,
    },

    /// Valid JSON, but a field has the wrong type or value (for example
    /// `"pid": "abc"` or a timestamp that is not RFC 3339).
    #[error("invalid event at line {line}, column {column}: {source}")]
    InvalidField {
        line: u64,
        column: u64,
        #[source]
        source: serde_json::Error,
    },

    /// Valid JSON that is not an object, so not an event.
    #[error("line {line}: expected an event object, found {found}")]
    NotAnObject { line: u64, found: &'static str },

    /// An object without an event kind key such as `process_exec`.
    #[error(
        "line {line}: object has no event kind key (such as `process_exec`, `process_kprobe`, `process_tracepoint`)"
    )]
    NoEventKind { line: u64 },

    /// An object with more than one event kind key.
    #[error("line {line}: object has several event kind keys: {}", kinds.join(", "))]
    SeveralEventKinds { line: u64, kinds: Vec<String> },

    /// Reading the input failed.
    #[error("reading events failed after line {line}")]
    Io {
        line: u64,
        #[source]
        source: std::io::Error,
    },

    /// A timestamp that is not RFC 3339 or is outside the years 1678 to 2262.
    #[error("invalid timestamp {text:?}: {reason}")]
    InvalidTimestamp { text: String, reason: &'static str },

    /// A `bytes` value that is not base64.
    #[error("invalid base64: {reason}")]
    InvalidBase64 { reason: &'static str },

    /// A change asked of an event kind that has no such field (for example a
    /// `policy_name` on a `process_exec` event).
    #[error("`{kind}` events have no `{field}` field")]
    NoSuchField { kind: String, field: &'static str },
}

impl EventError {
    /// The input line the error points at, when it comes from input.
    pub fn line(&self) -> Option<u64> {
        match self {
            EventError::MalformedJson { line, .. }
            | EventError::InvalidField { line, .. }
            | EventError::NotAnObject { line, .. }
            | EventError::NoEventKind { line }
            | EventError::SeveralEventKinds { line, .. }
            | EventError::Io { line, .. } => Some(*line),
            EventError::InvalidTimestamp { .. }
            | EventError::InvalidBase64 { .. }
            | EventError::NoSuchField { .. } => None,
        }
    }

    /// Moves the line (and, on the first line, the column) of an error found
    /// in a value that starts at `line`/`column` of a larger input.
    pub(crate) fn shifted(self, start_line: u64, start_column: u64) -> Self {
        let shift_line = |line: u64| line + start_line - 1;
        let shift_column = |line: u64, column: u64| {
            if line == 1 {
                column + start_column - 1
            } else {
                column
            }
        };
        match self {
            EventError::MalformedJson {
                line,
                column,
                source,
            } => EventError::MalformedJson {
                line: shift_line(line),
                column: shift_column(line, column),
                source,
            },
            EventError::InvalidField {
                line,
                column,
                source,
            } => EventError::InvalidField {
                line: shift_line(line),
                column: shift_column(line, column),
                source,
            },
            EventError::NotAnObject { line, found } => EventError::NotAnObject {
                line: shift_line(line),
                found,
            },
            EventError::NoEventKind { line } => EventError::NoEventKind {
                line: shift_line(line),
            },
            EventError::SeveralEventKinds { line, kinds } => EventError::SeveralEventKinds {
                line: shift_line(line),
                kinds,
            },
            EventError::Io { line, source } => EventError::Io {
                line: shift_line(line),
                source,
            },
            other => other,
        }
    }

    pub(crate) fn from_json(error: serde_json::Error) -> Self {
        let (line, column) = (error.line() as u64, error.column() as u64);
        match error.classify() {
            serde_json::error::Category::Data => EventError::InvalidField {
                line,
                column,
                source: error,
            },
            serde_json::error::Category::Io
            | serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof => EventError::MalformedJson {
                line,
                column,
                source: error,
            },
        }
    }
}
