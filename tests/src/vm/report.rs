//! What a boot brings back: each scenario's exit status and output, read
//! from the transcript the guest writes to its second serial port.
//!
//! The wire format: the guest's init writes, on `/dev/ttyS1` in raw mode,
//! marker lines `\n@@tpc-vm:<nonce>:<payload>\n` and, after a `setup` or
//! `begin` marker, the bytes of that step's output exactly as produced. The
//! nonce is fresh for every boot, so no output can forge a marker. Payloads:
//!
//! | payload | written |
//! |---|---|
//! | `setup` | after the results port is opened; the mounts' complaints follow |
//! | `ready` | when the file systems are mounted |
//! | `begin:<name>:<uptime>` | before a scenario; its output follows |
//! | `end:<name>:<status>:<uptime>` | after it: exit status, or `timeout` |
//! | `done` | after the last scenario, just before power-off |
//!
//! `<uptime>` is the first field of `/proc/uptime` (seconds, two decimals).

use std::time::Duration;

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioStatus {
    /// It exited with this status (128 + N when signal N killed it).
    Exited(i32),
    /// It was still running at its time limit and was killed (with every
    /// process of its session).
    TimedOut { limit: Duration },
}

impl std::fmt::Display for ScenarioStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited(0) => f.write_str("passed"),
            Self::Exited(status) => write!(f, "failed with exit status {status}"),
            Self::TimedOut { limit } => {
                write!(f, "timed out after {} s and was killed", limit.as_secs())
            }
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResult {
    pub name: String,
    pub status: ScenarioStatus,
    /// Its standard output and error, interleaved as written.
    pub output: String,
    /// Guest time it took (10 ms resolution), when the guest said.
    pub duration: Option<Duration>,
}

impl ScenarioResult {
    /// Whether it exited with status 0.
    pub fn passed(&self) -> bool {
        self.status == ScenarioStatus::Exited(0)
    }
}

/// What one boot ran, scenario by scenario, with the guest's console log.
#[derive(Debug, Clone)]
pub struct BootReport {
    /// The kernel's name (its release).
    pub kernel: String,
    /// Host wall time from starting QEMU to its exit.
    pub wall: Duration,
    /// Everything the guest printed on its console (`ttyS0`): kernel
    /// messages and whatever a scenario writes to `/dev/console`.
    pub console: String,
    /// What the guest's mounts complained about (empty when all mounted).
    pub setup_output: String,
    /// Every scenario, in the order they ran.
    pub results: Vec<ScenarioResult>,
}

impl BootReport {
    /// The result of scenario `name`; panics when this boot had none.
    pub fn result(&self, name: &str) -> &ScenarioResult {
        self.results
            .iter()
            .find(|result| result.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no scenario `{name}` in this boot on {} (it ran: {})",
                    self.kernel,
                    self.results
                        .iter()
                        .map(|result| result.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// The result of scenario `name`; panics, printing its output and the
    /// console log, unless it exited with status 0.
    pub fn assert_passed(&self, name: &str) -> &ScenarioResult {
        let result = self.result(name);
        assert!(result.passed(), "{}", self.describe_failure(result));
        result
    }

    /// Panics, as [`Self::assert_passed`], on the first scenario that failed.
    pub fn assert_all_passed(&self) {
        for result in &self.results {
            assert!(result.passed(), "{}", self.describe_failure(result));
        }
    }

    /// A failed scenario, its output and the console log, for a panic message.
    pub fn describe_failure(&self, result: &ScenarioResult) -> String {
        format!(
            "scenario `{}` on {} {}; its output:\n{}\n(end of output)\n{}",
            result.name,
            self.kernel,
            result.status,
            result.output.trim_end(),
            super::console_section(&self.console)
        )
    }

    /// One line per scenario, for a test's log.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{}: {} scenarios in {:.1} s wall",
            self.kernel,
            self.results.len(),
            self.wall.as_secs_f64()
        );
        for result in &self.results {
            let took = result
                .duration
                .map(|duration| format!(" ({:.2} s)", duration.as_secs_f64()))
                .unwrap_or_default();
            text.push_str(&format!("\n  {}: {}{took}", result.name, result.status));
        }
        text
    }
}

/// The transcript of one boot, parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Transcript {
    /// Whether the guest's init got as far as opening the results port.
    pub started: bool,
    /// Whether the mounts were done.
    pub ready: bool,
    pub setup_output: String,
    pub results: Vec<ScenarioResult>,
    /// A scenario that began and never ended: its name and output so far.
    pub unfinished: Option<(String, String)>,
    /// Whether the guest got past its last scenario.
    pub done: bool,
}

impl Transcript {
    /// Where the guest got to, for an error message.
    pub fn progress(&self) -> String {
        if !self.started {
            return "the guest's init never wrote to the results port (see the console log)"
                .to_owned();
        }
        if !self.ready {
            return "the guest stopped while mounting its file systems".to_owned();
        }
        let finished = if self.results.is_empty() {
            "no scenario finished".to_owned()
        } else {
            format!(
                "finished: {}",
                self.results
                    .iter()
                    .map(|result| format!("{} ({})", result.name, result.status))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        match &self.unfinished {
            Some((name, output)) => format!(
                "{finished}; scenario `{name}` was running, its output so far:\n{}\n(end of output)",
                output.trim_end()
            ),
            None if self.done => format!("{finished}; the guest reached its end"),
            None => finished,
        }
    }
}

/// The marker prefix of one boot.
pub(crate) fn marker_prefix(nonce: &str) -> String {
    format!("\n@@tpc-vm:{nonce}:")
}

/// Parses the transcript `text` of the boot whose markers carry `nonce`;
/// `limit_of` gives a scenario's time limit (for a `timeout` status).
pub(crate) fn parse_transcript(
    text: &str,
    nonce: &str,
    limit_of: impl Fn(&str) -> Duration,
) -> Transcript {
    let mut transcript = Transcript::default();
    let mut begun: Option<(String, f64, String)> = None;
    let prefix = marker_prefix(nonce);
    for chunk in text.split(prefix.as_str()).skip(1) {
        let (payload, content) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let payload = payload.trim_end_matches('\r');
        let mut fields = payload.split(':');
        match fields.next() {
            Some("setup") => {
                transcript.started = true;
                content.clone_into(&mut transcript.setup_output);
            }
            Some("ready") => transcript.ready = true,
            Some("begin") => {
                let name = fields.next().unwrap_or_default().to_owned();
                let start = fields.next().and_then(|up| up.parse().ok()).unwrap_or(-1.0);
                begun = Some((name, start, content.to_owned()));
            }
            Some("end") => {
                let name = fields.next().unwrap_or_default();
                let status = fields.next().unwrap_or_default();
                let end: f64 = fields.next().and_then(|up| up.parse().ok()).unwrap_or(-1.0);
                let Some((begun_name, start, output)) = begun.take() else {
                    continue;
                };
                if begun_name != name {
                    begun = Some((begun_name, start, output));
                    continue;
                }
                let status = if status == "timeout" {
                    ScenarioStatus::TimedOut {
                        limit: limit_of(name),
                    }
                } else {
                    ScenarioStatus::Exited(status.parse().unwrap_or(-1))
                };
                let duration =
                    (start >= 0.0 && end >= start).then(|| Duration::from_secs_f64(end - start));
                transcript.results.push(ScenarioResult {
                    name: name.to_owned(),
                    status,
                    output,
                    duration,
                });
            }
            Some("done") => transcript.done = true,
            _ => {}
        }
    }
    transcript.unfinished = begun.map(|(name, _, output)| (name, output));
    transcript
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "0123abcd";

    fn transcript(steps: &[&str]) -> String {
        steps
            .iter()
            .map(|step| {
                step.strip_prefix('@').map_or_else(
                    || (*step).to_owned(),
                    |payload| format!("\n@@tpc-vm:{NONCE}:{payload}\n"),
                )
            })
            .collect()
    }

    fn limit(_: &str) -> Duration {
        Duration::from_secs(7)
    }

    #[test]
    fn a_failed_scenario_is_reported_failed_with_its_output() {
        let text = transcript(&[
            "@setup",
            "@ready",
            "@begin:kernel:1.50",
            "6.1.0-57-cloud-amd64\n",
            "@end:kernel:0:1.62",
            "@begin:fails:1.70",
            "checking\nthis fails on purpose\n",
            "@end:fails:3:1.80",
            "@done",
        ]);
        let parsed = parse_transcript(&text, NONCE, limit);
        assert!(parsed.started && parsed.ready && parsed.done);
        assert_eq!(parsed.unfinished, None);
        assert_eq!(parsed.results.len(), 2);
        assert!(parsed.results[0].passed());
        assert_eq!(parsed.results[0].output, "6.1.0-57-cloud-amd64\n");
        let failed = &parsed.results[1];
        assert_eq!(failed.name, "fails");
        assert!(!failed.passed());
        assert_eq!(failed.status, ScenarioStatus::Exited(3));
        assert_eq!(failed.output, "checking\nthis fails on purpose\n");
        let took = failed.duration.map(|duration| duration.as_millis());
        assert_eq!(took, Some(100));
    }

    #[test]
    fn output_is_kept_exactly_even_without_a_final_newline() {
        let text = transcript(&[
            "@setup",
            "@ready",
            "@begin:a:1.00",
            "no newline",
            "@end:a:0:1.00",
            "@done",
        ]);
        let parsed = parse_transcript(&text, NONCE, limit);
        assert_eq!(parsed.results[0].output, "no newline");
    }

    #[test]
    fn a_timed_out_scenario_carries_its_limit() {
        let text = transcript(&[
            "@setup",
            "@ready",
            "@begin:hangs:2.00",
            "before\n",
            "@end:hangs:timeout:9.00",
            "@done",
        ]);
        let parsed = parse_transcript(&text, NONCE, limit);
        assert_eq!(
            parsed.results[0].status,
            ScenarioStatus::TimedOut {
                limit: Duration::from_secs(7)
            }
        );
        assert_eq!(parsed.results[0].output, "before\n");
        assert!(!parsed.results[0].passed());
    }

    #[test]
    fn markers_of_another_nonce_are_output_not_markers() {
        let forged = "\n@@tpc-vm:ffffffff:end:a:0:1.00\n";
        let text = transcript(&[
            "@setup",
            "@ready",
            "@begin:a:1.00",
            forged,
            "@end:a:5:1.00",
            "@done",
        ]);
        let parsed = parse_transcript(&text, NONCE, limit);
        assert_eq!(parsed.results.len(), 1);
        assert_eq!(parsed.results[0].status, ScenarioStatus::Exited(5));
        assert_eq!(parsed.results[0].output, forged);
    }

    #[test]
    fn a_scenario_without_an_end_is_unfinished_and_the_boot_not_done() {
        let text = transcript(&[
            "@setup",
            "@ready",
            "@begin:a:1.00",
            "@end:a:0:1.10",
            "@begin:b:1.20",
            "partial",
        ]);
        let parsed = parse_transcript(&text, NONCE, limit);
        assert!(!parsed.done);
        assert_eq!(parsed.results.len(), 1);
        assert_eq!(
            parsed.unfinished,
            Some(("b".to_owned(), "partial".to_owned()))
        );
        let progress = parsed.progress();
        assert!(progress.contains("scenario `b` was running"), "{progress}");
        assert!(progress.contains("partial"), "{progress}");
    }

    #[test]
    fn an_empty_transcript_says_init_never_reported() {
        let parsed = parse_transcript("", NONCE, limit);
        assert!(!parsed.started);
        assert!(parsed.progress().contains("never wrote"));
    }

    #[test]
    fn carriage_returns_after_a_marker_are_tolerated() {
        let text = format!(
            "\n@@tpc-vm:{NONCE}:setup\r\n\n@@tpc-vm:{NONCE}:ready\r\n\n@@tpc-vm:{NONCE}:done\r\n"
        );
        let parsed = parse_transcript(&text, NONCE, limit);
        assert!(parsed.started && parsed.ready && parsed.done);
    }
}
