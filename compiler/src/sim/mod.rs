//! The simulator: replays Tetragon events against policies and decides, event
//! by event, what Tetragon's BPF programs would have done.
//!
//! # What it models
//!
//! The simulator is the reference for a policy's behaviour: the kernel
//! programs `tpc` builds must agree with it event for event. It therefore
//! implements Tetragon's *actual* behaviour, including what the semantics
//! notes (`docs/tetragon-semantics.md`) call quirks and bugs, and names them
//! in its explanations:
//!
//! - **Hooks.** A `process_kprobe` reaches a kprobe whose call resolves to
//!   its `function_name` (`syscall: true` adds the node's prefix:
//!   `sys_write` matches `__x64_sys_write` and `__arm64_sys_write`; `list:`
//!   calls expand; `generated_syscalls` lists match every syscall;
//!   `generated_ftrace` patterns are regular expressions). Tracepoints match
//!   `subsys`/`event`, LSM hooks `function_name`, uprobes path and symbol.
//!   Every loaded policy is evaluated as if its hook fired, whatever
//!   `policy_name` the recorded event carries; a recorded verdict that
//!   disagrees is reported.
//! - **Scope.** A `TracingPolicyNamespaced` applies only to pods of its
//!   namespace; `podSelector`/`containerSelector`/`hostSelector` restrict a
//!   policy to matching workloads; `nodeSelector` is checked when events
//!   carry `node_labels`.
//! - **Selectors.** For every selector the process filters run first
//!   (binaries, parent binaries, PIDs, namespaces, capabilities, namespace
//!   and capability changes); then the argument filters (`matchArgs`, then
//!   `matchData`) of the selectors whose process filters passed, in order;
//!   the first selector whose filters all pass wins. No selectors: every
//!   event is posted. Only the first `matchPIDs`, `matchCapabilities`,
//!   `matchCapabilityChanges` entry is evaluated, and only 4 PID values.
//! - **Operators** ([`operators`]): per filter family (integers of each
//!   width, syscall ids, capability masks, strings, paths, sockets), with
//!   `NotEqual` on numbers ORing its `≠` tests, `GT` on unsigned 64/16/8-bit
//!   types comparing `<`, `size_t` compared on 32 bits, empty paths (shown
//!   as `/`) matching nothing, not even `Not*`, `CapabilitiesGained`
//!   replacing the result of earlier filters, and types without a BPF
//!   filter (`cred`, `filename`, ...) skipping every filter.
//! - **Actions.** The event's `action` is the last action of the winning
//!   selector; `NoPost` anywhere suppresses it; `Post` with `rateLimit`
//!   suppresses repeats within the interval, counted on event `time` and
//!   keyed by (hook, scope, arguments); monitor mode names enforcement
//!   actions without running them. Return probes (`return: true`) choose a
//!   return selector from `matchReturnArgs` and set `return_action`.
//!
//! # State
//!
//! A [`Simulator`] is fed events in input order ([`Simulator::feed`]). It
//! keeps what Tetragon keeps: a process tree ([`process::ProcessTree`])
//! built from `process_exec`/`process_exit` events and, for processes whose
//! exec the input lacks, from the `process`, `parent` and `ancestors` of
//! hook events (as if Tetragon had found them in `/proc` at start); the
//! namespaces and capabilities recorded per process (for the change
//! filters, updated when a matching event posts); the rate-limit table; the
//! sockets `TrackSock` registered. Recorded events already carry what
//! `FollowFD` and socket tracking change in Tetragon's output (file paths,
//! socket owners), so those tables do not alter verdicts.
//!
//! # Limits
//!
//! `CelExpr` is not evaluated (counted as not matching); `matchWorkloads`
//! is evaluated as label selectors on pod labels (Tetragon documents no
//! semantics); filters whose inputs the event lacks (no `process.ns`, no
//! `process.cap`) count as not matching, and the explanation says so.

pub(crate) mod args;
mod engine;
mod filters;
mod hooks;
pub(crate) mod operators;
mod pattern;
pub(crate) mod plan;
pub mod process;
pub mod replay;
pub mod report;
pub(crate) mod syscall_table;
pub mod syscalls;
pub mod testfile;
mod trace;
mod verdict;

pub use engine::{HookStats, Interest, Sieve, SimOptions, Simulator, Totals, headline};
pub use hooks::HookRef;
pub use pattern::{Pattern, PatternError};
pub use syscalls::{Abi, Arch};
pub use trace::{
    Explanation, FilterOutcome, FilterReport, HookReport, SelectorReport, SelectorResult, Why,
};
pub use verdict::{FiredAction, SelectorOutcome, Suppression, Verdict};
