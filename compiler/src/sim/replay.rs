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
//! own [`EventReader`]: they decode the kind and hook of every value and
//! parse the events some hook wants. The calling thread simulates and
//! writes, in input order, then hands each parsed event back to the worker
//! that built it, to be freed there (freeing memory on another thread than
//! the one that allocated it is slow with glibc's allocator), and each chunk
//! buffer back to the reading thread, which reads into it again. A stream
//! (stdin) and explanations of chosen positions use one reader over the
//! whole input. Every way gives the same output, line numbers and messages
//! included (a test holds them to it).

use std::io::{BufRead, Read, Write};
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
    /// A posted event as a JSON line (the buffer is reused).
    json_line: Vec<u8>,
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

    fn event(&mut self, line: u64, event: &mut Event) -> Result<(), ReplayError> {
        let position = self.sim.next_position();
        match self.output {
            Output::Explain(list) => {
                if list.is_empty() || list.contains(&position) {
                    let (verdicts, explanation) = self.sim.feed_explained(event);
                    if !list.is_empty() || !verdicts.is_empty() {
                        let mut text = explanation.render();
                        if text.ends_with('\n') {
                            text.pop();
                        }
                        self.line(&text)?;
                    }
                } else {
                    self.sim.feed(event);
                }
            }
            Output::Verdicts => {
                let verdicts = self.sim.feed(event);
                let text =
                    report::verdict_line(self.origin(position, line), event.kind_key(), &verdicts);
                self.line(&text)?;
            }
            Output::Events => {
                let verdicts = self.sim.feed(event);
                let posted: Vec<&Verdict> = verdicts.iter().filter(|v| v.posted).collect();
                for (i, verdict) in posted.iter().enumerate() {
                    self.json_line.clear();
                    if let Some(built) = &verdict.output {
                        built.append_json_line(&mut self.json_line);
                    } else if i + 1 == posted.len() {
                        // The last one takes the input event itself.
                        self.sim.apply_output(verdict, event);
                        event.append_json_line(&mut self.json_line);
                    } else {
                        let mut copy = event.clone();
                        self.sim.apply_output(verdict, &mut copy);
                        copy.append_json_line(&mut self.json_line);
                    }
                    self.out
                        .write_all(&self.json_line)
                        .map_err(|source| ReplayError::Write { source })?;
                }
            }
            Output::Compact => {
                for verdict in self.sim.feed(event) {
                    if verdict.posted {
                        let text = report::compact_line(&verdict, event);
                        self.line(&text)?;
                    }
                }
            }
            Output::Nothing => {
                self.sim.feed(event);
            }
        }
        Ok(())
    }

    /// Feeds an item; hands back the event it held, once used, so that the
    /// caller chooses the thread that frees it.
    fn item(&mut self, item: Item) -> Result<Option<Box<Event>>, ReplayError> {
        match item {
            Item::Malformed { line, reason } => {
                let message = match reason {
                    Reason::Event(error) => shift_error(error, self.lines_before).to_string(),
                    Reason::Read(message) => message,
                };
                self.malformed(line + self.lines_before, message)?;
            }
            Item::Skip {
                line,
                kind,
                from_hook,
            } => self.skip(line + self.lines_before, kind.as_str(), from_hook)?,
            Item::Event { line, mut event } => {
                self.event(line + self.lines_before, &mut event)?;
                return Ok(Some(event));
            }
        }
        Ok(None)
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

/// Reads the input, parsing the values some hook wants. Hands out items
/// until the input ends or `emit` says stop; returns how many lines it
/// read. `used`: events this thread built and the simulating side is done
/// with, parsed into again.
#[expect(
    clippy::vec_box,
    reason = "the boxes were allocated here and are freed here; unboxing would free them elsewhere"
)]
fn read_items<R: BufRead>(
    input: R,
    sieve: &Sieve,
    explain_positions: Option<&[u64]>,
    first_position: u64,
    scratch: &mut Vec<super::HookRef>,
    used: &mut Vec<Box<Event>>,
    emit: &mut dyn FnMut(Item, &mut Vec<Box<Event>>) -> bool,
) -> u64 {
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
                } else {
                    // Parse into a used event when there is one: its
                    // strings and boxes are reused.
                    let parsed = match used.pop() {
                        Some(mut event) => match record.parse_into(&mut event) {
                            Ok(()) => Ok(event),
                            Err(error) => {
                                used.push(event);
                                Err(error)
                            }
                        },
                        None => record.parse().map(Box::new),
                    };
                    match parsed {
                        Ok(event) => Item::Event {
                            line: start.line,
                            event,
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
        if !emit(item, used) {
            break;
        }
    }
    reader.lines_read()
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
        // One worker per CPU but one: the calling thread simulates and
        // writes, and reads chunks too while the workers are busy. On one
        // CPU a single reader is faster.
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
        json_line: Vec::with_capacity(4096),
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
                &mut scratch,
                &mut Vec::new(),
                &mut |item, used| match sink.item(item) {
                    Ok(event) => {
                        used.extend(event);
                        true
                    }
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
        let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
        let mut used = Vec::new();
        cut_chunks(input, chunk_bytes, &spare_rx, &mut |chunk| {
            let (items, lines) = chunk_items(&chunk, &sieve, &mut scratch, &mut used);
            for item in items {
                match sink.item(item) {
                    Ok(event) => used.extend(event),
                    Err(e) => {
                        result = Err(e);
                        return false;
                    }
                }
            }
            sink.lines_before += lines;
            let _ = spare_tx.send(chunk.bytes);
            true
        });
        return result;
    }
    std::thread::scope(|scope| {
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(workers * 2);
        let chunk_rx = std::sync::Arc::new(std::sync::Mutex::new(chunk_rx));
        let (done_tx, done_rx) = mpsc::sync_channel::<ReadChunk>(workers * 2);
        // Chunk buffers, back to the reading thread.
        let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
        scope.spawn(move || {
            cut_chunks(input, chunk_bytes, &spare_rx, &mut |chunk| {
                chunk_tx.send(chunk).is_ok()
            })
        });
        // Per worker: the events it built, back to be freed.
        let mut used_events = Vec::with_capacity(workers);
        for worker in 0..workers {
            let chunk_rx = std::sync::Arc::clone(&chunk_rx);
            let done_tx = done_tx.clone();
            let (used_tx, used_rx) = mpsc::channel::<Vec<Box<Event>>>();
            used_events.push(used_tx);
            let sieve = &sieve;
            scope.spawn(move || {
                let mut scratch = Vec::new();
                let mut used = Vec::new();
                loop {
                    for mut events in used_rx.try_iter() {
                        used.append(&mut events);
                    }
                    let next = chunk_rx.lock().ok().and_then(|rx| rx.recv().ok());
                    let Some(chunk) = next else { return };
                    let (items, lines) = chunk_items(&chunk, sieve, &mut scratch, &mut used);
                    let read = ReadChunk {
                        chunk,
                        items,
                        lines,
                        worker,
                    };
                    if done_tx.send(read).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // Chunks come back in any order: feed them in input order. While
        // the next one is not back, this thread reads a waiting chunk
        // itself (and frees the events it built).
        let mut waiting: std::collections::BTreeMap<u64, ReadChunk> =
            std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut scratch = Vec::new();
        let mut own_used: Vec<Box<Event>> = Vec::new();
        let mut input_done = false;
        loop {
            while let Some(read) = waiting.remove(&next) {
                next += 1;
                let mut used = Vec::with_capacity(read.items.len());
                for item in read.items {
                    // Returning drops the receivers, which stops the
                    // workers and then the reading thread.
                    used.extend(sink.item(item)?);
                }
                sink.lines_before += read.lines;
                match used_events.get(read.worker) {
                    Some(worker) => {
                        let _ = worker.send(used);
                    }
                    None => own_used.append(&mut used),
                }
                let _ = spare_tx.send(read.chunk.bytes);
            }
            match done_rx.try_recv() {
                Ok(read) => {
                    waiting.insert(read.chunk.sequence, read);
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            if !input_done {
                // A worker holding the lock is waiting for a chunk: none
                // is waiting then.
                let taken = match chunk_rx.try_lock() {
                    Ok(receiver) => match receiver.try_recv() {
                        Ok(chunk) => Some(chunk),
                        Err(mpsc::TryRecvError::Disconnected) => {
                            input_done = true;
                            None
                        }
                        Err(mpsc::TryRecvError::Empty) => None,
                    },
                    Err(_) => None,
                };
                if let Some(chunk) = taken {
                    let (items, lines) = chunk_items(&chunk, &sieve, &mut scratch, &mut own_used);
                    let read = ReadChunk {
                        chunk,
                        items,
                        lines,
                        worker: usize::MAX,
                    };
                    waiting.insert(read.chunk.sequence, read);
                    continue;
                }
            }
            match done_rx.recv() {
                Ok(read) => {
                    waiting.insert(read.chunk.sequence, read);
                }
                Err(_) => break,
            }
        }
        // Every chunk is back (the workers stop when the input ends).
        while let Some(read) = waiting.remove(&next) {
            next += 1;
            for item in read.items {
                sink.item(item)?;
            }
            sink.lines_before += read.lines;
        }
        Ok(())
    })
}

/// A chunk a worker has read: its items and how many lines it holds.
struct ReadChunk {
    chunk: Chunk,
    items: Vec<Item>,
    lines: u64,
    /// Which worker built its events.
    worker: usize,
}

/// The items of one chunk, in order (lines relative to the chunk), and
/// the number of lines it holds.
#[expect(
    clippy::vec_box,
    reason = "the boxes were allocated here and are freed here; unboxing would free them elsewhere"
)]
fn chunk_items(
    chunk: &Chunk,
    sieve: &Sieve,
    scratch: &mut Vec<super::HookRef>,
    used: &mut Vec<Box<Event>>,
) -> (Vec<Item>, u64) {
    let mut items = Vec::new();
    let bytes = chunk.bytes.as_slice();
    let lines_read = read_items(bytes, sieve, None, 0, scratch, used, &mut |item, _| {
        items.push(item);
        true
    });
    // Line breaks in the chunk: a last line without one was counted too.
    let lines = lines_read - u64::from(bytes.last().is_some_and(|byte| *byte != b'\n'));
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

/// The last place in `bytes`, at or after `from`, where a line starts with
/// `{` (never 0).
fn last_cut(bytes: &[u8], from: usize) -> Option<usize> {
    let from = from.max(1);
    let mut end = bytes.len();
    while end > from {
        // A newline at `at` makes `at + 1` a line start.
        let at = from - 1 + memchr::memrchr(b'\n', &bytes[from - 1..end - 1])?;
        if bytes[at + 1] == b'{' {
            return Some(at + 1);
        }
        end = at + 1;
    }
    None
}

/// A chunk buffer: one handed back, or a new one.
fn spare_buffer(spare: &mpsc::Receiver<Vec<u8>>, chunk_bytes: usize) -> Vec<u8> {
    spare
        .try_recv()
        .unwrap_or_else(|_| Vec::with_capacity(chunk_bytes.min(CHUNK_BYTES * 4)))
}

/// Cuts the input into chunks at lines that start with `{`: the event
/// reader starts a new value at such a line whatever came before, so
/// reading the chunks separately finds the same values. Reads about
/// `chunk_bytes` at a time straight into the chunk's buffer, then cuts at
/// the last such line; the rest starts the next chunk (a chunk grows when
/// one value is longer).
fn cut_chunks<R: Read>(
    mut input: R,
    chunk_bytes: usize,
    spare: &mpsc::Receiver<Vec<u8>>,
    send: &mut dyn FnMut(Chunk) -> bool,
) {
    let mut sequence = 0u64;
    let mut buffer = spare_buffer(spare, chunk_bytes);
    // Bytes of `buffer` read so far; the rest of its length is scratch.
    let mut filled = 0;
    let mut cut = None;
    let mut read_error = None;
    loop {
        // Up to `chunk_bytes`, or as much again when no cut was found.
        let wanted = if filled < chunk_bytes {
            chunk_bytes - filled
        } else {
            chunk_bytes
        };
        if buffer.len() < filled + wanted {
            buffer.resize(filled + wanted, 0);
        }
        let read = match input.read(&mut buffer[filled..filled + wanted]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                read_error = Some(format!("reading events failed: {e}"));
                break;
            }
        };
        cut = last_cut(&buffer[..filled + read], filled).or(cut);
        filled += read;
        if filled < chunk_bytes {
            continue;
        }
        let Some(at) = cut.take() else { continue };
        // The rest starts the next buffer (whose old bytes are scratch).
        let mut next = spare_buffer(spare, chunk_bytes);
        let rest = filled - at;
        if next.len() < rest {
            next.resize(rest, 0);
        }
        next[..rest].copy_from_slice(&buffer[at..filled]);
        filled = rest;
        buffer.truncate(at);
        let chunk = Chunk {
            sequence,
            bytes: std::mem::replace(&mut buffer, next),
            read_error: None,
        };
        if !send(chunk) {
            return;
        }
        sequence += 1;
        cut = last_cut(&buffer[..filled], 0);
    }
    buffer.truncate(filled);
    if !buffer.is_empty() || read_error.is_some() {
        send(Chunk {
            sequence,
            bytes: buffer,
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
        assert_eq!(last_cut(text, 0), Some(25));
        assert_eq!(last_cut(&text[..25], 0), Some(8));
        assert_eq!(last_cut(&text[..25], 9), None);
        assert_eq!(last_cut(&text[..8], 0), None);
        assert_eq!(last_cut(&text[..9], 8), Some(8));
        for chunk_bytes in [1, 5, 8, 9, 26, 1000] {
            let (spare_tx, spare_rx) = mpsc::channel();
            let mut chunks = Vec::new();
            cut_chunks(&text[..], chunk_bytes, &spare_rx, &mut |c| {
                chunks.push((c.sequence, String::from_utf8_lossy(&c.bytes).into_owned()));
                // Buffers come back with stale bytes, which must not leak.
                let mut stale = c.bytes;
                stale.iter_mut().for_each(|byte| *byte = b'#');
                let _ = spare_tx.send(stale);
                true
            });
            let joined: String = chunks.iter().map(|(_, text)| text.as_str()).collect();
            assert_eq!(joined.as_bytes(), text, "{chunk_bytes}-byte chunks");
            for (index, (sequence, chunk)) in chunks.iter().enumerate() {
                assert_eq!(*sequence, index as u64);
                assert!(
                    chunk.starts_with('{'),
                    "{chunk_bytes}-byte chunks: {chunk:?}"
                );
            }
            if chunk_bytes == 1 {
                assert_eq!(
                    chunks,
                    [
                        (0, "{\"a\":1}\n".to_string()),
                        (1, "{\"b\":\n  {\"c\":2}}\n".to_string()),
                        (2, "{\"d\":3}\n".to_string())
                    ]
                );
            }
            if chunk_bytes == 1000 {
                assert_eq!(chunks.len(), 1);
            }
        }
    }
}
