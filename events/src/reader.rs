//! `EventReader`: splits an input of JSON lines, pretty-printed events or
//! concatenated values into events, each with the position where it starts,
//! reporting (never dropping) what does not parse. Also hands out records
//! with only their kind and hook decoded ([`EventReader::next_record`]), for
//! replays that skip most events.
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
use crate::event::{Event, TopLevelValue, parse_top_level};
use crate::summary::{EventSummary, TopLevelSummary, summarize_top_level};

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
/// concatenated values.
///
/// As an iterator it yields every value found, in order, fully decoded:
/// `(position, Ok(event))` or `(position, Err(error))`; the caller decides
/// whether an error is fatal. [`Self::next_record`] is the cheaper way when
/// most events will be skipped. An I/O error is yielded once, then reading
/// stops.
pub struct EventReader<R> {
    input: R,
    line: Vec<u8>,
    line_number: u64,
    scanner: ValueScanner,
    /// Values the scanner completed, not yet handed out.
    pending: VecDeque<Pending>,
    /// The text of the record last handed out by `next_record`.
    record_text: Vec<u8>,
    finished: bool,
}

enum Pending {
    Value { start: Position, text: Vec<u8> },
    Failed { start: Position, error: EventError },
}

/// One value of the input with its kind and hook decoded
/// ([`EventSummary`]); [`Self::parse`] decodes the rest. Borrows the reader.
#[derive(Debug)]
pub struct EventRecord<'a> {
    start: Position,
    text: &'a [u8],
    summary: EventSummary,
}

impl<'a> EventRecord<'a> {
    /// Where the value starts.
    pub fn position(&self) -> Position {
        self.start
    }

    /// The value's JSON text.
    pub fn text(&self) -> &'a [u8] {
        self.text
    }

    /// Kind, hook, `policy_name`, `action`.
    pub fn summary(&self) -> &EventSummary {
        &self.summary
    }

    /// The whole event. Can still fail where the summary did not look, for
    /// example on a malformed timestamp; errors carry input line numbers.
    pub fn parse(&self) -> Result<Event, EventError> {
        parse_value(self.text, self.start)
    }
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

/// What reading one more line gave.
enum LineRead {
    /// A line is in `self.line` (without a byte order mark).
    Line,
    /// The input ended, or failed; the scanner was flushed.
    Finished,
}

impl<R: BufRead> EventReader<R> {
    /// Reads events from any buffered input (`&[u8]` works too).
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: Vec::with_capacity(4096),
            line_number: 0,
            scanner: ValueScanner::default(),
            pending: VecDeque::new(),
            record_text: Vec::new(),
            finished: false,
        }
    }

    /// The next value with only its kind and hook decoded, to decide cheaply
    /// whether to [`EventRecord::parse`] it. Values that are not events
    /// (malformed JSON, no kind key, ...) come back as errors, as from the
    /// iterator; nothing is skipped silently. Use as
    /// `while let Some((position, record)) = reader.next_record() { ... }`.
    pub fn next_record(&mut self) -> Option<(Position, Result<EventRecord<'_>, EventError>)> {
        let fast = loop {
            if let Some(pending) = self.pending.pop_front() {
                break Err(pending);
            }
            if self.finished {
                return None;
            }
            if let LineRead::Finished = self.read_line() {
                continue;
            }
            if let Some((start, range)) = self.whole_line_value() {
                // JSON lines: summarise the line in place.
                if let Ok(TopLevelSummary(summary)) = summarize_top_level(&self.line[range.clone()])
                {
                    break Ok((start, range, summary));
                }
            }
            let line = strip_bom(&self.line, self.line_number);
            self.scanner
                .push_line(line, self.line_number, &mut self.pending);
        };
        match fast {
            Ok((start, range, summary)) => {
                let record = summary
                    .map(|summary| EventRecord {
                        start,
                        text: &self.line[range],
                        summary,
                    })
                    .map_err(|not_an_event| not_an_event.into_error(start.line));
                Some((start, record))
            }
            Err(Pending::Failed { start, error }) => Some((start, Err(error))),
            Err(Pending::Value { start, text }) => {
                self.record_text = text;
                let record = match summarize_top_level(&self.record_text) {
                    Ok(TopLevelSummary(Ok(summary))) => Ok(EventRecord {
                        start,
                        text: &self.record_text,
                        summary,
                    }),
                    Ok(TopLevelSummary(Err(not_an_event))) => {
                        Err(not_an_event.into_error(start.line))
                    }
                    Err(error) => {
                        Err(EventError::from_json(error).shifted(start.line, start.column))
                    }
                };
                Some((start, record))
            }
        }
    }

    /// Reads one line into `self.line`, or flushes the scanner at the end.
    fn read_line(&mut self) -> LineRead {
        self.line.clear();
        match self.input.read_until(b'\n', &mut self.line) {
            Ok(0) => {
                self.scanner.finish(&mut self.pending);
                self.finished = true;
                LineRead::Finished
            }
            Ok(_) => {
                self.line_number += 1;
                LineRead::Line
            }
            Err(source) => {
                self.scanner.finish(&mut self.pending);
                let start = Position {
                    line: self.line_number + 1,
                    column: 1,
                };
                let error = EventError::Io {
                    line: self.line_number,
                    source,
                };
                self.pending.push_back(Pending::Failed { start, error });
                self.finished = true;
                LineRead::Finished
            }
        }
    }

    /// When no value is in progress and the line (blanks aside) starts with
    /// `{` and ends with `}`: where it starts and its byte range, to try as
    /// one whole value.
    fn whole_line_value(&self) -> Option<(Position, std::ops::Range<usize>)> {
        if !self.scanner.is_idle() {
            return None;
        }
        let line = strip_bom(&self.line, self.line_number);
        let offset = self.line.len() - line.len();
        let leading = line
            .iter()
            .take_while(|byte| byte.is_ascii_whitespace())
            .count();
        let trimmed = line[leading..].trim_ascii_end();
        if trimmed.first() != Some(&b'{') || trimmed.last() != Some(&b'}') {
            return None;
        }
        let start = Position {
            line: self.line_number,
            column: leading as u64 + 1,
        };
        Some((start, offset + leading..offset + leading + trimmed.len()))
    }
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = (Position, Result<Event, EventError>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.pending.pop_front() {
                Some(Pending::Value { start, text }) => {
                    return Some((start, parse_value(&text, start)));
                }
                Some(Pending::Failed { start, error }) => return Some((start, Err(error))),
                None => {}
            }
            if self.finished {
                return None;
            }
            if let LineRead::Finished = self.read_line() {
                continue;
            }
            if let Some((start, range)) = self.whole_line_value() {
                // JSON lines: parse the line in place. If it is not exactly
                // one valid value, the scanner finds out what it is.
                if let Ok(TopLevelValue(result)) = parse_top_level(&self.line[range]) {
                    return Some((
                        start,
                        result.map_err(|not_an_event| not_an_event.into_error(start.line)),
                    ));
                }
            }
            let line = strip_bom(&self.line, self.line_number);
            self.scanner
                .push_line(line, self.line_number, &mut self.pending);
        }
    }
}

fn strip_bom(line: &[u8], line_number: u64) -> &[u8] {
    if line_number == 1 {
        line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
    } else {
        line
    }
}

/// Parses one complete value that starts at `start`.
fn parse_value(text: &[u8], start: Position) -> Result<Event, EventError> {
    match parse_top_level(text) {
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
    fn is_idle(&self) -> bool {
        self.start.is_none()
    }

    fn push_line(&mut self, line: &[u8], line_number: u64, pending: &mut VecDeque<Pending>) {
        let starts_record = line.first() == Some(&b'{');
        if self.start.is_some() && starts_record {
            // The value in progress never ended: report it, start afresh.
            self.emit(pending);
        }
        if self.broken {
            self.value.extend_from_slice(line);
            return;
        }
        let mut index = 0;
        let mut segment_start = 0;
        while index < line.len() {
            let byte = line[index];
            if self.start.is_none() {
                if byte.is_ascii_whitespace() {
                    index += 1;
                    continue;
                }
                self.start = Some(Position {
                    line: line_number,
                    column: index as u64 + 1,
                });
                if byte == b'{' || byte == b'[' {
                    self.depth = 1;
                    segment_start = index;
                    index += 1;
                    continue;
                }
                // A scalar or stray text: it runs to the end of the line.
                self.value.extend_from_slice(line[index..].trim_ascii_end());
                self.emit(pending);
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
                            self.emit(pending);
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

    fn emit(&mut self, pending: &mut VecDeque<Pending>) {
        if let Some(start) = self.start.take() {
            let mut text = std::mem::take(&mut self.value);
            text.truncate(text.trim_ascii_end().len());
            pending.push_back(Pending::Value { start, text });
        }
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
        self.broken = false;
    }

    fn finish(&mut self, pending: &mut VecDeque<Pending>) {
        self.emit(pending);
    }
}
