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
use crate::event::{Event, TopLevelValue, parse_top_level, parse_top_level_into};
use crate::summary::{EventSummary, summarize_into};

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
    /// The current line, when it is not in the input's buffer.
    copied_line: Vec<u8>,
    /// Where the current line is.
    current: CurrentLine,
    /// Bytes of the input's buffer to consume before reading on.
    consume_before_next: usize,
    line_number: u64,
    scanner: ValueScanner,
    /// Values the scanner completed, not yet handed out.
    pending: VecDeque<Pending>,
    /// The text of the record last handed out by `next_record`, when it was
    /// assembled from several lines.
    record_text: Vec<u8>,
    /// The summary of the record last handed out (its buffers are reused).
    summary: EventSummary,
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
    summary: &'a EventSummary,
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
    pub fn summary(&self) -> &'a EventSummary {
        self.summary
    }

    /// The whole event. Can still fail where the summary did not look, for
    /// example on a malformed timestamp; errors carry input line numbers.
    pub fn parse(&self) -> Result<Event, EventError> {
        parse_value(self.text, self.start)
    }

    /// [`Self::parse`] into an event parsed before, reusing its
    /// allocations (its strings' buffers, its boxes): the same event, or
    /// the same error. On an error, `event` holds some valid but
    /// meaningless event. For readers that go through many events and
    /// drop most of them.
    pub fn parse_into(&self, event: &mut Event) -> Result<(), EventError> {
        match parse_top_level_into(self.text, event) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_an_event)) => Err(not_an_event.into_error(self.start.line)),
            Err(error) => {
                Err(EventError::from_json(error).shifted(self.start.line, self.start.column))
            }
        }
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
    /// A line is current (see `current_line`).
    Line,
    /// The input ended, or failed; the scanner was flushed.
    Finished,
}

/// Where the current line is: the first `n` bytes of the input's buffer
/// (no copy; the common case), or `copied_line` (it spanned two buffers).
#[derive(Clone, Copy)]
enum CurrentLine {
    InBuffer(usize),
    Copied,
}

/// The current line. Asking a `BufRead` for its buffer again without
/// consuming returns the same bytes and does no I/O.
fn current_line<'a, R: BufRead>(
    input: &'a mut R,
    copied_line: &'a [u8],
    current: CurrentLine,
) -> &'a [u8] {
    match current {
        CurrentLine::InBuffer(length) => match input.fill_buf() {
            Ok(buffer) => &buffer[..length.min(buffer.len())],
            Err(_) => &[],
        },
        CurrentLine::Copied => copied_line,
    }
}

/// The index of the first `\n`.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

impl<R: BufRead> EventReader<R> {
    /// Reads events from any buffered input (`&[u8]` works too).
    pub fn new(input: R) -> Self {
        Self {
            input,
            copied_line: Vec::with_capacity(4096),
            current: CurrentLine::Copied,
            consume_before_next: 0,
            line_number: 0,
            scanner: ValueScanner::default(),
            pending: VecDeque::new(),
            record_text: Vec::new(),
            summary: EventSummary::default(),
            finished: false,
        }
    }

    /// The next value with only its kind and hook decoded, to decide cheaply
    /// whether to [`EventRecord::parse`] it. Values that are not events
    /// (malformed JSON, no kind key, ...) come back as errors, as from the
    /// iterator; nothing is skipped silently. A record you do not parse has
    /// only been checked to be well-formed JSON with one event kind; a bad
    /// field in its unread parts (say, a malformed timestamp) goes unnoticed.
    /// Use as
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
                let line = current_line(&mut self.input, &self.copied_line, self.current);
                if let Ok(summary) = summarize_into(&line[range.clone()], &mut self.summary) {
                    break Ok((start, range, summary));
                }
            }
            self.scan_current_line();
        };
        match fast {
            Ok((start, range, summary)) => {
                let line = current_line(&mut self.input, &self.copied_line, self.current);
                let record = summary
                    .map(|()| EventRecord {
                        start,
                        text: &line[range],
                        summary: &self.summary,
                    })
                    .map_err(|not_an_event| not_an_event.into_error(start.line));
                Some((start, record))
            }
            Err(Pending::Failed { start, error }) => Some((start, Err(error))),
            Err(Pending::Value { start, text }) => {
                self.record_text = text;
                let record = match summarize_into(&self.record_text, &mut self.summary) {
                    Ok(Ok(())) => Ok(EventRecord {
                        start,
                        text: &self.record_text,
                        summary: &self.summary,
                    }),
                    Ok(Err(not_an_event)) => Err(not_an_event.into_error(start.line)),
                    Err(error) => {
                        Err(EventError::from_json(error).shifted(start.line, start.column))
                    }
                };
                Some((start, record))
            }
        }
    }

    /// How many lines have been read so far (a last line without a line
    /// break counts as one).
    pub fn lines_read(&self) -> u64 {
        self.line_number
    }

    /// Makes the next line current, or flushes the scanner at the end.
    fn read_line(&mut self) -> LineRead {
        self.input
            .consume(std::mem::take(&mut self.consume_before_next));
        let read = match self.input.fill_buf() {
            Ok([]) => Ok(0),
            Ok(buffer) => match find_newline(buffer) {
                Some(index) => {
                    self.current = CurrentLine::InBuffer(index + 1);
                    self.consume_before_next = index + 1;
                    Ok(index + 1)
                }
                None => {
                    // The line goes on past the buffer: copy it out.
                    self.copied_line.clear();
                    self.copied_line.extend_from_slice(buffer);
                    let length = buffer.len();
                    self.input.consume(length);
                    self.current = CurrentLine::Copied;
                    self.input
                        .read_until(b'\n', &mut self.copied_line)
                        .map(|_| length)
                }
            },
            Err(error) => Err(error),
        };
        match read {
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

    /// Hands the current line to the scanner.
    fn scan_current_line(&mut self) {
        let line = current_line(&mut self.input, &self.copied_line, self.current);
        let line = strip_bom(line, self.line_number);
        self.scanner
            .push_line(line, self.line_number, &mut self.pending);
    }

    /// When no value is in progress and the line (blanks aside) starts with
    /// `{` and ends with `}`: where it starts and its byte range, to try as
    /// one whole value.
    fn whole_line_value(&mut self) -> Option<(Position, std::ops::Range<usize>)> {
        if !self.scanner.is_idle() {
            return None;
        }
        let full_line = current_line(&mut self.input, &self.copied_line, self.current);
        let line = strip_bom(full_line, self.line_number);
        let offset = full_line.len() - line.len();
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
                let line = current_line(&mut self.input, &self.copied_line, self.current);
                if let Ok(TopLevelValue(result)) = parse_top_level(&line[range]) {
                    return Some((
                        start,
                        result.map_err(|not_an_event| not_an_event.into_error(start.line)),
                    ));
                }
            }
            self.scan_current_line();
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

#[cfg(test)]
mod tests {
    use super::find_newline;

    #[test]
    fn find_newline_finds_the_first_one() {
        for length in 0..40 {
            for newline_at in 0..=length {
                let mut bytes: Vec<u8> =
                    (0..length).map(|index| b'a' + (index % 26) as u8).collect();
                // Bytes that trip naive word tricks next to the newline.
                if length > 0 {
                    bytes[length / 2] = 0x8a;
                }
                let expected = if newline_at < length {
                    bytes[newline_at] = b'\n';
                    if newline_at + 1 < length {
                        bytes[newline_at + 1] = b'\n';
                    }
                    Some(newline_at)
                } else {
                    None
                };
                let expected = expected.or(bytes.iter().position(|byte| *byte == b'\n'));
                assert_eq!(find_newline(&bytes), expected, "{bytes:?}");
            }
        }
        assert_eq!(find_newline(&[0x0b; 16]), None);
        assert_eq!(find_newline(&[0x09, 0x0a]), Some(1));
    }
}
