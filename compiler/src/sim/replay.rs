//! Replaying event inputs through a [`Simulator`] and writing one of the
//! outputs of `tpc replay`: the posted events (Tetragon's JSON lines), one
//! verdict line per input value, compact human lines, or explanations.
//! Values that are not events are reported with their line, never dropped
//! silently.
//!
//! Files are read in chunks: a reading thread cuts the input where a line
//! starts with `{` (where the event reader itself always starts a new
//! value, so cutting never changes which values are found), and with more
//! than one CPU, worker threads read the chunks in parallel, each with its
//! own [`EventReader`], decoding the kind and hook of every value, while
//! the calling thread parses the events some hook wants (so an event is
//! built, used and freed on one thread), simulates and writes, in input
//! order. A stream (stdin) and explanations of chosen positions use one
//! reader over the whole input. Every way gives the same output, line
//! numbers and messages included (a test holds them to it).

use std::io::{BufRead, Write};
use std::sync::mpsc;

use tpc_events::{Event, EventKind, EventReader};

use super::engine::{Interest, Sieve, Simulator};
use super::report::{self, Origin};
use super::verdict::Verdict;

/// What `replay` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The events the policies would have posted, as Tetragon exports them.
    Events,
    /// One JSON line per input value.
    Verdicts,
    /// One human line per posted event.
    Compact,
    /// Explanations: of the listed positions, or of every event that
    /// reaches a hook when the list is empty.
    Explain(Vec<u64>),
    /// Nothing (summary only).
    Nothing,
}

/// What to do with a value that is not an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnMalformed {
    /// Report it and go on.
    Skip,
    /// Report it and stop.
    Fail,
}

/// One value that is not an event.
#[derive(Clone, Debug)]
pub struct Malformed {
    pub source: String,
    pub position: u64,
    pub line: u64,
    pub message: String,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot write the output: {source}")]
    Write {
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}:{line}: {message} (stopping: malformed input is fatal with --strict)")]
    MalformedInput {
        source_name: String,
        line: u64,
        message: String,
    },
}

/// How the pipeline runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// With several CPUs, chunked with one worker per CPU but one;
    /// otherwise sequential.
    Auto,
    /// One event reader over the whole input, on the calling thread: what a
    /// stream (stdin) wants, since chunks wait for a megabyte of input.
    Sequential,
    /// Chunked reading (see the module docs) with this many worker threads
    /// (0: on the calling thread), on chunks of about this many bytes.
    Chunked { workers: usize, chunk_bytes: usize },
}

/// One value of the input, as the simulating side receives it.
enum Item {
    /// Not an event.
    Malformed { line: u64, reason: Reason },
    /// An event no policy looks at: its kind key and whether a hook made it.
    Skip {
        line: u64,
        kind: KindKey,
        from_hook: bool,
    },
    /// An event to feed.
    Event { line: u64, event: Box<Event> },
    /// An event to parse, then feed: its text, in the chunk or copied.
    Deferred {
        start: tpc_events::Position,
        text: DeferredText,
    },
}

/// Where the text of a deferred event is.
enum DeferredText {
    /// This range of the chunk's bytes.
    InChunk(std::ops::Range<usize>),
    /// A copy (a value the reader had to assemble from several lines).
    Copied(Vec<u8>),
}

/// Why a value is not an event.
enum Reason {
    /// From the event reader (lines relative to the chunk it read).
    Event(tpc_events::EventError),
    /// Reading the input failed.
    Read(String),
}

/// An event kind key without allocating for the typed kinds.
enum KindKey {
    Typed(EventKind),
    Other(String),
}

impl KindKey {
    fn as_str(&self) -> &str {
        match self {
            KindKey::Typed(kind) => kind.key().unwrap_or("other"),
            KindKey::Other(key) => key,
        }
    }
}

/// The simulating side: feeds items in order and writes the output.
struct Sink<'a, 's, 'p, W: Write> {
    sim: &'s mut Simulator<'p>,
    out: &'a mut W,
    output: &'a Output,
    source: &'a str,
    shown_source: Option<&'a str>,
    on_malformed: OnMalformed,
    malformed: &'a mut Vec<Malformed>,
    /// Input lines before the chunk whose items are being fed.
    lines_before: u64,
}

impl<W: Write> Sink<'_, '_, '_, W> {
    fn line(&mut self, text: &str) -> Result<(), ReplayError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|source| ReplayError::Write { source })
    }

    fn origin(&self, position: u64, line: u64) -> Origin<'_> {
        Origin {
            position,
            line,
            source: self.shown_source,
        }
    }

    fn malformed(&mut self, line: u64, message: String) -> Result<(), ReplayError> {
        let position = self.sim.malformed();
        if *self.output == Output::Verdicts {
            let text = report::error_line(self.origin(position, line), &message);
            self.line(&text)?;
        }
        self.malformed.push(Malformed {
            source: self.source.to_string(),
            position,
            line,
            message: message.clone(),
        });
        if self.on_malformed == OnMalformed::Fail {
            return Err(ReplayError::MalformedInput {
                source_name: self.source.to_string(),
                line,
                message,
            });
        }
        Ok(())
    }

    fn skip(&mut self, line: u64, kind: &str, from_hook: bool) -> Result<(), ReplayError> {
        let position = self.sim.skip_kind(kind, from_hook);
        if *self.output == Output::Verdicts {
            let text = report::verdict_line(self.origin(position, line), kind, &[]);
            self.line(&text)?;
        }
        Ok(())
    }

    fn event(&mut self, line: u64, mut event: Event) -> Result<(), ReplayError> {
        let position = self.sim.next_position();
        match self.output {
            Output::Explain(list) => {
                if list.is_empty() || list.contains(&position) {
                    let (verdicts, explanation) = self.sim.feed_explained(&event);
                    if !list.is_empty() || !verdicts.is_empty() {
                        let mut text = explanation.render();
                        if text.ends_with('\n') {
                            text.pop();
                        }
                        self.line(&text)?;
                    }
                } else {
                    self.sim.feed(&event);
                }
            }
            Output::Verdicts => {
                let verdicts = self.sim.feed(&event);
                let text =
                    report::verdict_line(self.origin(position, line), event.kind_key(), &verdicts);
                self.line(&text)?;
            }
            Output::Events => {
                let verdicts = self.sim.feed(&event);
                let posted: Vec<&Verdict> = verdicts.iter().filter(|v| v.posted).collect();
                for (i, verdict) in posted.iter().enumerate() {
                    if let Some(built) = &verdict.output {
                        built
                            .write_json_line(self.out)
                            .map_err(|source| ReplayError::Write { source })?;
                    } else if i + 1 == posted.len() {
                        // The last one takes the input event itself.
                        self.sim.apply_output(verdict, &mut event);
                        event
                            .write_json_line(self.out)
                            .map_err(|source| ReplayError::Write { source })?;
                    } else {
                        let mut copy = event.clone();
                        self.sim.apply_output(verdict, &mut copy);
                        copy.write_json_line(self.out)
                            .map_err(|source| ReplayError::Write { source })?;
                    }
                }
            }
            Output::Compact => {
                for verdict in self.sim.feed(&event) {
                    if verdict.posted {
                        let text = report::compact_line(&verdict, &event);
                        self.line(&text)?;
                    }
                }
            }
            Output::Nothing => {
                self.sim.feed(&event);
            }
        }
        Ok(())
    }

    fn item(&mut self, item: Item) -> Result<(), ReplayError> {
        self.item_in(item, &[])
    }

    /// Feeds an item whose deferred text may point into `chunk`.
    fn item_in(&mut self, item: Item, chunk: &[u8]) -> Result<(), ReplayError> {
        match item {
            Item::Deferred { start, text } => {
                let bytes = match &text {
                    DeferredText::InChunk(range) => chunk.get(range.clone()).unwrap_or_default(),
                    DeferredText::Copied(copy) => copy.as_slice(),
                };
                match Event::from_json_slice(bytes) {
                    Ok(event) => self.event(start.line + self.lines_before, event),
                    Err(error) => {
                        let message =
                            shift_error(shift_into_value(error, start), self.lines_before)
                                .to_string();
                        self.malformed(start.line + self.lines_before, message)
                    }
                }
            }
            Item::Malformed { line, reason } => {
                let message = match reason {
                    Reason::Event(error) => shift_error(error, self.lines_before).to_string(),
                    Reason::Read(message) => message,
                };
                self.malformed(line + self.lines_before, message)
            }
            Item::Skip {
                line,
                kind,
                from_hook,
            } => self.skip(line + self.lines_before, kind.as_str(), from_hook),
            Item::Event { line, event } => self.event(line + self.lines_before, *event),
        }
    }
}

/// An error of a value parsed on its own, moved to where the value starts
/// (as [`tpc_events::EventRecord::parse`] reports it).
fn shift_into_value(
    error: tpc_events::EventError,
    start: tpc_events::Position,
) -> tpc_events::EventError {
    use tpc_events::EventError as E;
    let l = |line: u64| line + start.line - 1;
    let c = |line: u64, column: u64| {
        if line == 1 {
            column + start.column - 1
        } else {
            column
        }
    };
    match error {
        E::MalformedJson {
            line,
            column,
            source,
        } => E::MalformedJson {
            line: l(line),
            column: c(line, column),
            source,
        },
        E::InvalidField {
            line,
            column,
            source,
        } => E::InvalidField {
            line: l(line),
            column: c(line, column),
            source,
        },
        E::NotAnObject { found, .. } => E::NotAnObject {
            line: start.line,
            found,
        },
        E::NoEventKind { .. } => E::NoEventKind { line: start.line },
        E::SeveralEventKinds { kinds, .. } => E::SeveralEventKinds {
            line: start.line,
            kinds,
        },
        other => other,
    }
}

/// An error found in a chunk, with its lines moved to input lines.
fn shift_error(error: tpc_events::EventError, lines_before: u64) -> tpc_events::EventError {
    use tpc_events::EventError as E;
    if lines_before == 0 {
        return error;
    }
    let l = |line: u64| line + lines_before;
    match error {
        E::MalformedJson {
            line,
            column,
            source,
        } => E::MalformedJson {
            line: l(line),
            column,
            source,
        },
        E::InvalidField {
            line,
            column,
            source,
        } => E::InvalidField {
            line: l(line),
            column,
            source,
        },
        E::NotAnObject { line, found } => E::NotAnObject {
            line: l(line),
            found,
        },
        E::NoEventKind { line } => E::NoEventKind { line: l(line) },
        E::SeveralEventKinds { line, kinds } => E::SeveralEventKinds {
            line: l(line),
            kinds,
        },
        E::Io { line, source } => E::Io {
            line: l(line),
            source,
        },
        other => other,
    }
}

/// Reads the input, deciding per value whether it must be parsed. Sends
/// items (in batches) until the input ends or the receiver hangs up.
fn read_items<R: BufRead>(
    input: R,
    sieve: &Sieve,
    explain_positions: Option<&[u64]>,
    first_position: u64,
    defer_within: Option<&[u8]>,
    scratch: &mut Vec<super::HookRef>,
    emit: &mut dyn FnMut(Item) -> bool,
) {
    let mut reader = EventReader::new(input);
    let mut position = first_position;
    while let Some((start, record)) = reader.next_record() {
        let item = match record {
            Err(error) => Item::Malformed {
                line: start.line,
                reason: Reason::Event(error),
            },
            Ok(record) => {
                let summary = record.summary();
                let wanted = explain_positions.is_some_and(|list| list.contains(&position));
                if !wanted && sieve.interest(summary, scratch) == Interest::Skip {
                    let kind = match summary.kind() {
                        EventKind::Other => KindKey::Other(summary.kind_key().to_string()),
                        typed => KindKey::Typed(typed),
                    };
                    Item::Skip {
                        line: start.line,
                        kind,
                        from_hook: summary.hook().is_some(),
                    }
                } else if let Some(chunk) = defer_within {
                    // Leave the parse to the simulating thread, so that an
                    // event is built, used and freed on one thread.
                    let text = record.text();
                    let base = chunk.as_ptr() as usize;
                    let at = text.as_ptr() as usize;
                    let inside = at >= base && at + text.len() <= base + chunk.len();
                    Item::Deferred {
                        start,
                        text: if inside {
                            DeferredText::InChunk(at - base..at - base + text.len())
                        } else {
                            DeferredText::Copied(text.to_vec())
                        },
                    }
                } else {
                    match record.parse() {
                        Ok(event) => Item::Event {
                            line: start.line,
                            event: Box::new(event),
                        },
                        Err(error) => Item::Malformed {
                            line: start.line,
                            reason: Reason::Event(error),
                        },
                    }
                }
            }
        };
        position += 1;
        if !emit(item) {
            return;
        }
    }
}

/// Replays one input. `source` names it in messages (and in verdict lines
/// when `name_in_output`). Malformed values are appended to `malformed`.
#[expect(
    clippy::too_many_arguments,
    reason = "the CLI and the tests pass each setting explicitly"
)]
pub fn replay<R: BufRead + Send, W: Write>(
    sim: &mut Simulator<'_>,
    source: &str,
    name_in_output: bool,
    input: R,
    out: &mut W,
    output: &Output,
    on_malformed: OnMalformed,
    malformed: &mut Vec<Malformed>,
) -> Result<(), ReplayError> {
    replay_with(
        sim,
        source,
        name_in_output,
        input,
        out,
        output,
        on_malformed,
        malformed,
        Threads::Auto,
    )
}

/// [`replay`], choosing how to use threads.
#[expect(
    clippy::too_many_arguments,
    reason = "the CLI and the tests pass each setting explicitly"
)]
pub fn replay_with<R: BufRead + Send, W: Write>(
    sim: &mut Simulator<'_>,
    source: &str,
    name_in_output: bool,
    input: R,
    out: &mut W,
    output: &Output,
    on_malformed: OnMalformed,
    malformed: &mut Vec<Malformed>,
    threads: Threads,
) -> Result<(), ReplayError> {
    let sieve = sim.sieve();
    let first_position = sim.next_position();
    let explain_positions: Option<Vec<u64>> = match output {
        Output::Explain(list) if !list.is_empty() => Some(list.clone()),
        _ => None,
    };
    let chunking = match threads {
        Threads::Sequential => None,
        Threads::Chunked {
            workers,
            chunk_bytes,
        } => Some((workers, chunk_bytes.max(1))),
        // The calling thread parses, simulates and writes; the others
        // decode kinds and hooks. On one CPU a single reader is faster.
        Threads::Auto => match std::thread::available_parallelism().map_or(1, |n| n.get()) {
            1 => None,
            n => Some((n - 1, CHUNK_BYTES)),
        },
    };
    let mut sink = Sink {
        sim,
        out,
        output,
        source,
        shown_source: name_in_output.then_some(source),
        on_malformed,
        malformed,
        lines_before: 0,
    };
    // Explaining chosen positions needs positions while reading: sequential.
    let (workers, chunk_bytes) = match chunking {
        Some(c) if explain_positions.is_none() => c,
        _ => {
            let mut result = Ok(());
            let mut scratch = Vec::new();
            read_items(
                input,
                &sieve,
                explain_positions.as_deref(),
                first_position,
                None,
                &mut scratch,
                &mut |item| match sink.item(item) {
                    Ok(()) => true,
                    Err(e) => {
                        result = Err(e);
                        false
                    }
                },
            );
            return result;
        }
    };
    if workers == 0 {
        let mut result = Ok(());
        let mut scratch = Vec::new();
        cut_chunks(input, chunk_bytes, &mut |chunk| {
            let (items, lines) = chunk_items(&chunk, &sieve, false, &mut scratch);
            for item in items {
                if let Err(e) = sink.item(item) {
                    result = Err(e);
                    return false;
                }
            }
            sink.lines_before += lines;
            true
        });
        return result;
    }
    std::thread::scope(|scope| {
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(workers * 2);
        let chunk_rx = std::sync::Arc::new(std::sync::Mutex::new(chunk_rx));
        let (done_tx, done_rx) = mpsc::sync_channel::<(Chunk, Vec<Item>, u64)>(workers * 2);
        scope.spawn(move || {
            cut_chunks(input, chunk_bytes, &mut |chunk| {
                chunk_tx.send(chunk).is_ok()
            })
        });
        for _ in 0..workers {
            let chunk_rx = std::sync::Arc::clone(&chunk_rx);
            let done_tx = done_tx.clone();
            let sieve = &sieve;
            scope.spawn(move || {
                let mut scratch = Vec::new();
                loop {
                    let next = chunk_rx.lock().ok().and_then(|rx| rx.recv().ok());
                    let Some(chunk) = next else { return };
                    let (items, lines) = chunk_items(&chunk, sieve, true, &mut scratch);
                    if done_tx.send((chunk, items, lines)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // Chunks come back in any order: feed them in input order.
        let mut waiting: std::collections::BTreeMap<u64, (Chunk, Vec<Item>, u64)> =
            std::collections::BTreeMap::new();
        let mut next = 0u64;
        for (chunk, items, lines) in done_rx {
            waiting.insert(chunk.sequence, (chunk, items, lines));
            while let Some((chunk, items, lines)) = waiting.remove(&next) {
                next += 1;
                for item in items {
                    // Returning drops the receiver, which stops the workers
                    // and then the reading thread.
                    sink.item_in(item, &chunk.bytes)?;
                }
                sink.lines_before += lines;
            }
        }
        Ok(())
    })
}

/// The items of one chunk, in order (lines relative to the chunk), and
/// the number of lines it holds.
fn chunk_items(
    chunk: &Chunk,
    sieve: &Sieve,
    defer: bool,
    scratch: &mut Vec<super::HookRef>,
) -> (Vec<Item>, u64) {
    let mut items = Vec::new();
    let bytes = chunk.bytes.as_slice();
    read_items(
        bytes,
        sieve,
        None,
        0,
        defer.then_some(bytes),
        scratch,
        &mut |item| {
            items.push(item);
            true
        },
    );
    let lines = chunk.bytes.iter().filter(|b| **b == b'\n').count() as u64;
    if let Some(message) = &chunk.read_error {
        items.push(Item::Malformed {
            line: lines + 1,
            reason: Reason::Read(message.clone()),
        });
    }
    (items, lines)
}

/// A piece of the input that starts where a value starts.
struct Chunk {
    sequence: u64,
    bytes: Vec<u8>,
    /// Reading the input failed after this chunk.
    read_error: Option<String>,
}

/// Bytes per chunk by default (more when one value is longer).
const CHUNK_BYTES: usize = 1 << 18;

/// Where the first line starting with `{` at or after `from` begins
/// (never at 0).
fn next_cut(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from.max(1);
    while at < bytes.len() {
        let newline = at - 1 + bytes[at - 1..].iter().position(|b| *b == b'\n')?;
        if bytes.get(newline + 1) == Some(&b'{') {
            return Some(newline + 1);
        }
        at = newline + 2;
    }
    None
}

/// Cuts the input into chunks at lines that start with `{`: the event
/// reader starts a new value at such a line whatever came before, so
/// reading the chunks separately finds the same values.
fn cut_chunks<R: BufRead>(mut input: R, chunk_bytes: usize, send: &mut dyn FnMut(Chunk) -> bool) {
    let mut carry: Vec<u8> = Vec::with_capacity(chunk_bytes.min(CHUNK_BYTES) * 2);
    let mut sequence = 0u64;
    let mut read_error = None;
    loop {
        let read = match input.fill_buf() {
            Ok([]) => break,
            Ok(buffer) => {
                carry.extend_from_slice(buffer);
                buffer.len()
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                read_error = Some(format!("reading events failed: {e}"));
                break;
            }
        };
        input.consume(read);
        if carry.len() < chunk_bytes {
            continue;
        }
        // Send every complete chunk the carried bytes hold.
        let mut start = 0;
        while let Some(cut) = next_cut(&carry, start + chunk_bytes) {
            let bytes = carry[start..cut].to_vec();
            if !send(Chunk {
                sequence,
                bytes,
                read_error: None,
            }) {
                return;
            }
            sequence += 1;
            start = cut;
        }
        carry.drain(..start);
    }
    if !carry.is_empty() || read_error.is_some() {
        send(Chunk {
            sequence,
            bytes: carry,
            read_error,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_only_where_a_line_starts_with_a_brace() {
        let text = b"{\"a\":1}\n{\"b\":\n  {\"c\":2}}\n{\"d\":3}\n";
        assert_eq!(next_cut(text, 0), Some(8));
        assert_eq!(next_cut(text, 9), Some(25));
        assert_eq!(next_cut(text, 26), None);
        let mut chunks = Vec::new();
        cut_chunks(&text[..], 1, &mut |c| {
            chunks.push((c.sequence, String::from_utf8_lossy(&c.bytes).into_owned()));
            true
        });
        assert_eq!(
            chunks,
            [
                (0, "{\"a\":1}\n".to_string()),
                (1, "{\"b\":\n  {\"c\":2}}\n".to_string()),
                (2, "{\"d\":3}\n".to_string())
            ]
        );
    }
}
