//! `EventReader`: splits an input of JSON lines, pretty-printed events or
//! concatenated values into events, each with the position where it starts,
//! reporting (never dropping) what does not parse.
//!
//! How values are found: a line that holds exactly one JSON value (the JSON
//! lines case) is parsed as is. Otherwise a small scanner follows strings and
//! brackets to find where each value ends. A value that never ends (a
//! truncated line, an unterminated string) is cut where the next line starts
//! with `{` in its first column, so one broken record yields one error and
//! reading carries on with the next record.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::error::EventError;
use crate::event::{Event, TopLevelValue};

/// Where a value starts in the input: 1-based line and byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "line {}, column {}", self.line, self.column)
    }
}

/// Reads events from JSON lines, a pretty-printed event, or several
/// concatenated values. Yields every value found, in order, as
/// `(position, Ok(event))` or `(position, Err(error))`; the caller decides
/// whether an error is fatal. An I/O error ends the iteration after it is
/// yielded.
pub struct EventReader<R> {
    input: R,
    line: Vec<u8>,
    line_number: u64,
    scanner: ValueScanner,
    ready: VecDeque<(Position, Result<Event, EventError>)>,
    finished: bool,
}

impl EventReader<BufReader<File>> {
    /// Opens a file of events.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self::new(BufReader::with_capacity(
            1 << 16,
            File::open(path)?,
        )))
    }
}

impl<R: BufRead> EventReader<R> {
    /// Reads events from any buffered input (`&[u8]` works too).
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: Vec::with_capacity(4096),
            line_number: 0,
            scanner: ValueScanner::default(),
            ready: VecDeque::new(),
            finished: false,
        }
    }

    /// Reads lines until at least one result is ready or the input ends.
    fn fill(&mut self) {
        while self.ready.is_empty() && !self.finished {
            self.line.clear();
            match self.input.read_until(b'\n', &mut self.line) {
                Ok(0) => {
                    self.scanner.finish(&mut self.ready);
                    self.finished = true;
                }
                Ok(_) => {
                    self.line_number += 1;
                    let line = if self.line_number == 1 {
                        strip_bom(&self.line)
                    } else {
                        &self.line[..]
                    };
                    self.scanner
                        .push_line(line, self.line_number, &mut self.ready);
                }
                Err(source) => {
                    self.scanner.finish(&mut self.ready);
                    let position = Position {
                        line: self.line_number + 1,
                        column: 1,
                    };
                    self.ready.push_back((
                        position,
                        Err(EventError::Io {
                            line: self.line_number,
                            source,
                        }),
                    ));
                    self.finished = true;
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = (Position, Result<Event, EventError>);

    fn next(&mut self) -> Option<Self::Item> {
        self.fill();
        self.ready.pop_front()
    }
}

fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

/// Parses one complete value that starts at `start`.
fn parse_value(bytes: &[u8], start: Position) -> Result<Event, EventError> {
    match serde_json::from_slice::<TopLevelValue>(bytes) {
        Ok(TopLevelValue(Ok(event))) => Ok(event),
        Ok(TopLevelValue(Err(not_an_event))) => Err(not_an_event.into_error(start.line)),
        Err(error) => Err(EventError::from_json(error).shifted(start.line, start.column)),
    }
}

/// Finds value boundaries across lines.
#[derive(Default)]
struct ValueScanner {
    /// Bytes of the value in progress.
    value: Vec<u8>,
    start: Option<Position>,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The value in progress is broken (newline inside a string); keep
    /// collecting lines until the next record starts, then report it.
    broken: bool,
}

impl ValueScanner {
    fn push_line(
        &mut self,
        line: &[u8],
        line_number: u64,
        ready: &mut VecDeque<(Position, Result<Event, EventError>)>,
    ) {
        let starts_record = line.first() == Some(&b'{');
        if self.start.is_some() && starts_record {
            // The value in progress never ended: report it, start afresh.
            self.emit(ready);
        }
        if self.broken {
            self.value.extend_from_slice(line);
            return;
        }
        if self.start.is_none() && self.try_whole_line(line, line_number, ready) {
            return;
        }
        self.scan(line, line_number, ready);
    }

    /// The JSON lines fast path: a line that is exactly one value.
    fn try_whole_line(
        &mut self,
        line: &[u8],
        line_number: u64,
        ready: &mut VecDeque<(Position, Result<Event, EventError>)>,
    ) -> bool {
        let leading = line
            .iter()
            .take_while(|byte| byte.is_ascii_whitespace())
            .count();
        let trimmed = line[leading..].trim_ascii_end();
        if !(trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}')) {
            return false;
        }
        match serde_json::from_slice::<TopLevelValue>(trimmed) {
            Ok(TopLevelValue(result)) => {
                let start = Position {
                    line: line_number,
                    column: leading as u64 + 1,
                };
                ready.push_back((
                    start,
                    result.map_err(|not_an_event| not_an_event.into_error(line_number)),
                ));
                true
            }
            // Not one valid value: let the scanner find out what it is.
            Err(_) => false,
        }
    }

    fn scan(
        &mut self,
        line: &[u8],
        line_number: u64,
        ready: &mut VecDeque<(Position, Result<Event, EventError>)>,
    ) {
        let mut index = 0;
        let mut segment_start = 0;
        while index < line.len() {
            let byte = line[index];
            if self.start.is_none() {
                if byte.is_ascii_whitespace() {
                    index += 1;
                    continue;
                }
                let start = Position {
                    line: line_number,
                    column: index as u64 + 1,
                };
                self.start = Some(start);
                if byte == b'{' || byte == b'[' {
                    self.depth = 1;
                    segment_start = index;
                    index += 1;
                    continue;
                }
                // A scalar or stray text: it runs to the end of the line.
                self.value.extend_from_slice(line[index..].trim_ascii_end());
                self.emit(ready);
                return;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                } else if byte == b'\n' {
                    self.broken = true;
                }
            } else {
                match byte {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.value.extend_from_slice(&line[segment_start..=index]);
                            self.emit(ready);
                            index += 1;
                            continue;
                        }
                    }
                    _ => {}
                }
            }
            index += 1;
        }
        if self.start.is_some() {
            self.value.extend_from_slice(&line[segment_start..]);
        }
    }

    fn emit(&mut self, ready: &mut VecDeque<(Position, Result<Event, EventError>)>) {
        if let Some(start) = self.start.take() {
            let result = parse_value(self.value.trim_ascii_end(), start);
            ready.push_back((start, result));
        }
        self.value.clear();
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
        self.broken = false;
    }

    fn finish(&mut self, ready: &mut VecDeque<(Position, Result<Event, EventError>)>) {
        self.emit(ready);
    }
}
