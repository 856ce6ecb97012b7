//! Replaying event inputs through a [`Simulator`] and writing one of the
//! outputs of `tpc replay`: the posted events (Tetragon's JSON lines), one
//! verdict line per input value, compact human lines, or explanations.
//! Values that are not events are reported with their line, never dropped
//! silently.

use std::io::{BufRead, Write};

use tpc_events::EventReader;

use super::engine::{Interest, Simulator};
use super::report::{self, Origin};

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
    MalformedInput { source_name: String, line: u64, message: String },
}

/// Replays one input. `source` names it in messages (and in verdict lines
/// when `name_in_output`). Malformed values are appended to `malformed`.
pub fn replay<R: BufRead, W: Write>(
    sim: &mut Simulator<'_>,
    source: &str,
    name_in_output: bool,
    input: R,
    out: &mut W,
    output: &Output,
    on_malformed: OnMalformed,
    malformed: &mut Vec<Malformed>,
) -> Result<(), ReplayError> {
    let write = |out: &mut W, text: &str| -> Result<(), ReplayError> {
        out.write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|source| ReplayError::Write { source })
    };
    let shown_source = name_in_output.then_some(source);
    let mut reader = EventReader::new(input);
    while let Some((start, record)) = reader.next_record() {
        let record = match record {
            Ok(r) => r,
            Err(error) => {
                let position = sim.malformed();
                let message = error.to_string();
                if *output == Output::Verdicts {
                    let origin = Origin { position, line: start.line, source: shown_source };
                    write(out, &report::error_line(origin, &message))?;
                }
                malformed.push(Malformed {
                    source: source.to_string(),
                    position,
                    line: start.line,
                    message: message.clone(),
                });
                if on_malformed == OnMalformed::Fail {
                    return Err(ReplayError::MalformedInput {
                        source_name: source.to_string(),
                        line: start.line,
                        message,
                    });
                }
                continue;
            }
        };
        let position_next = sim.next_position();
        let wanted_explicitly = matches!(output, Output::Explain(list) if list.contains(&position_next));
        if !wanted_explicitly && sim.interest(record.summary()) == Interest::Skip {
            let position = sim.skip(record.summary());
            if *output == Output::Verdicts {
                let origin = Origin { position, line: start.line, source: shown_source };
                write(out, &report::verdict_line(origin, record.summary().kind_key(), &[]))?;
            }
            continue;
        }
        let event = match record.parse() {
            Ok(e) => e,
            Err(error) => {
                let position = sim.malformed();
                let message = error.to_string();
                if *output == Output::Verdicts {
                    let origin = Origin { position, line: start.line, source: shown_source };
                    write(out, &report::error_line(origin, &message))?;
                }
                malformed.push(Malformed {
                    source: source.to_string(),
                    position,
                    line: start.line,
                    message: message.clone(),
                });
                if on_malformed == OnMalformed::Fail {
                    return Err(ReplayError::MalformedInput {
                        source_name: source.to_string(),
                        line: start.line,
                        message,
                    });
                }
                continue;
            }
        };
        match output {
            Output::Explain(list) => {
                let explain = list.is_empty() || list.contains(&position_next);
                if explain {
                    let (verdicts, explanation) = sim.feed_explained(&event);
                    if !list.is_empty() || !verdicts.is_empty() {
                        let mut text = explanation.render();
                        if text.ends_with('\n') {
                            text.pop();
                        }
                        write(out, &text)?;
                    }
                } else {
                    sim.feed(&event);
                }
            }
            Output::Verdicts => {
                let verdicts = sim.feed(&event);
                let origin = Origin {
                    position: position_next,
                    line: start.line,
                    source: shown_source,
                };
                write(out, &report::verdict_line(origin, event.kind_key(), &verdicts))?;
            }
            Output::Events => {
                for verdict in sim.feed(&event) {
                    if let Some(output) = &verdict.output {
                        output.write_json_line(out).map_err(|source| ReplayError::Write { source })?;
                    }
                }
            }
            Output::Compact => {
                for verdict in sim.feed(&event) {
                    if verdict.posted {
                        write(out, &report::compact_line(&verdict, &event))?;
                    }
                }
            }
            Output::Nothing => {
                sim.feed(&event);
            }
        }
    }
    Ok(())
}
