//! Renderings of the simulator's results: the `--verdicts` JSON line of an
//! input value, the `--output compact` line of a posted event (in the spirit
//! of `tetra getevents -o compact`), and the summary table.

use std::fmt::Write as _;

use tpc_events::{ArgValue, Event, KprobeAction, KprobeArgument};

use super::engine::Simulator;
use super::verdict::{SelectorOutcome, Verdict};

/// Where a value of the input starts.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// 1-based position among the input's values (all inputs together).
    pub position: u64,
    /// Line in its input.
    pub line: u64,
    /// The input's name, when there are several.
    pub source: Option<&'a str>,
}

fn origin_fields(map: &mut serde_json::Map<String, serde_json::Value>, origin: Origin<'_>) {
    map.insert("position".into(), origin.position.into());
    if let Some(source) = origin.source {
        map.insert("source".into(), source.into());
    }
    map.insert("line".into(), origin.line.into());
}

/// The `--verdicts` line of an event: its origin, kind and one object per
/// policy hook it reached.
pub fn verdict_line(origin: Origin<'_>, kind: &str, verdicts: &[Verdict]) -> String {
    let mut map = serde_json::Map::new();
    origin_fields(&mut map, origin);
    map.insert("kind".into(), kind.into());
    map.insert(
        "verdicts".into(),
        verdicts.iter().map(Verdict::to_json).collect(),
    );
    serde_json::Value::Object(map).to_string()
}

/// The `--verdicts` line of a value that is not an event.
pub fn error_line(origin: Origin<'_>, error: &str) -> String {
    let mut map = serde_json::Map::new();
    origin_fields(&mut map, origin);
    map.insert("error".into(), error.into());
    serde_json::Value::Object(map).to_string()
}

/// The compact form of an event's arguments. A buffer followed by its own
/// size (`write`'s `buf, count`) is shown once, as `627 bytes`, as `tetra
/// getevents -o compact` does, not as `(627 bytes) 627`.
fn short_args(args: &[KprobeArgument]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut at = 0;
    while let Some(arg) = args.get(at) {
        let length = match &arg.value {
            ArgValue::Bytes(b) => Some(b.decode().len() as u64),
            ArgValue::TruncatedBytes(t) => Some(t.orig_size.map_or(0, |s| s.get())),
            _ => None,
        };
        let size = args.get(at + 1).and_then(|next| match &next.value {
            ArgValue::Size(v) => Some(v.get()),
            ArgValue::Int(v) => u64::try_from(v.get()).ok(),
            ArgValue::Uint(v) => Some(u64::from(v.get())),
            ArgValue::Long(v) => u64::try_from(v.get()).ok(),
            _ => None,
        });
        match (length, size) {
            (Some(length), Some(size)) if length == size => {
                out.push(format!("{size} bytes"));
                at += 2;
            }
            _ => {
                out.push(short_arg(arg));
                at += 1;
            }
        }
    }
    out
}

fn short_arg(arg: &KprobeArgument) -> String {
    let text = match &arg.value {
        ArgValue::String(s) => s.clone(),
        ArgValue::Int(v) => v.get().to_string(),
        ArgValue::Uint(v) => v.get().to_string(),
        ArgValue::Long(v) => v.get().to_string(),
        ArgValue::Size(v) => v.get().to_string(),
        ArgValue::Bytes(b) => format!("({} bytes)", b.decode().len()),
        ArgValue::TruncatedBytes(t) => format!("({} bytes)", t.orig_size.map_or(0, |s| s.get())),
        ArgValue::File(f) => path_text(f.path.as_deref()),
        ArgValue::Path(p) => path_text(p.path.as_deref()),
        ArgValue::LinuxBinprm(b) => path_text(b.path.as_deref()),
        ArgValue::Sock(s) => format!(
            "{}:{} -> {}:{}",
            s.saddr.as_deref().unwrap_or("?"),
            s.sport.map_or(0, |p| p.get()),
            s.daddr.as_deref().unwrap_or("?"),
            s.dport.map_or(0, |p| p.get())
        ),
        ArgValue::Skb(s) => format!(
            "{}:{} -> {}:{}",
            s.saddr.as_deref().unwrap_or("?"),
            s.sport.map_or(0, |p| p.get()),
            s.daddr.as_deref().unwrap_or("?"),
            s.dport.map_or(0, |p| p.get())
        ),
        ArgValue::Sockaddr(s) => format!(
            "{}:{}",
            s.addr.as_deref().unwrap_or("?"),
            s.port.map_or(0, |p| p.get())
        ),
        ArgValue::SyscallId(id) => format!(
            "syscall {}/{}",
            id.abi.as_deref().unwrap_or("?"),
            id.id.map_or(0, |i| i.get())
        ),
        ArgValue::Capability(c) => c
            .name
            .clone()
            .unwrap_or_else(|| c.value.map_or(0, |v| v.get()).to_string()),
        ArgValue::KernelCapT(m)
        | ArgValue::CapEffective(m)
        | ArgValue::CapInheritable(m)
        | ArgValue::CapPermitted(m) => m.clone(),
        ArgValue::NetDev(d) => d.name.clone().unwrap_or_default(),
        ArgValue::BpfProg(p) => format!("bpf prog {}", p.prog_name.as_deref().unwrap_or("?")),
        ArgValue::Int32List(l) => {
            let values: Vec<String> = l.values.iter().flatten().map(|v| v.to_string()).collect();
            format!("[{}]", values.join(", "))
        }
        other => other.key().unwrap_or("?").to_string(),
    };
    match &arg.label {
        Some(label) => format!("{label}={text}"),
        None => text,
    }
}

fn path_text(path: Option<&str>) -> String {
    match path {
        Some(p) if !p.starts_with('/') && !p.is_empty() => format!("/{p}"),
        Some(p) => p.to_string(),
        None => "?".into(),
    }
}

/// The emoji `tetra getevents -o compact` puts before an event of this
/// hook (its kprobe table for the common calls, one per kind otherwise).
fn compact_emoji(hook: Option<&tpc_events::Hook<'_>>, verb: &str) -> &'static str {
    match hook {
        Some(tpc_events::Hook::Kprobe { .. }) => match verb {
            "write" => "📝",
            "read" => "📚",
            "fd_install" | "open" | "openat" => "📬",
            "close" => "📪",
            "tcp_connect" => "🔌",
            "tcp_close" => "🧹",
            "tcp_sendmsg" => "📤",
            "mount" | "pivot_root" => "💾",
            "setuid" => "🔑",
            "clock_settime" => "⏰",
            "setns" | "proc_exec_connector" => "🔧",
            "bpf_check" | "security_perf_event_alloc" => "🐝",
            "security_bpf_map_alloc" => "🗺",
            _ => "❓",
        },
        Some(tpc_events::Hook::Tracepoint { subsys, event })
            if *subsys == "raw_syscalls" && *event == "sys_enter" =>
        {
            "☎"
        }
        Some(tpc_events::Hook::Tracepoint { .. }) => "⁉️",
        Some(tpc_events::Hook::Lsm { .. }) => "🔒",
        Some(tpc_events::Hook::Uprobe { .. } | tpc_events::Hook::Usdt { .. }) => "🕵️",
        None => "❓",
    }
}

/// One human line for a posted event, like `tetra getevents -o compact`
/// (its emoji, the pod or node, the binary), with every argument and the
/// policy and action that posted it:
/// `📝 write    tenant-jobs/elasticsearch /usr/bin/vi /etc/passwd 627 bytes  [file-monitoring POST]`.
pub fn compact_line(verdict: &Verdict, event: &Event) -> String {
    let hook = event.hook();
    let verb = match &hook {
        Some(tpc_events::Hook::Kprobe { function }) => super::syscalls::split_symbol(function)
            .map_or(*function, |(_, n)| n)
            .to_string(),
        Some(tpc_events::Hook::Tracepoint { subsys, event }) => format!("{subsys}/{event}"),
        Some(tpc_events::Hook::Lsm { hook }) => format!("lsm/{hook}"),
        Some(tpc_events::Hook::Uprobe { symbol, .. }) => format!("uprobe/{symbol}"),
        Some(tpc_events::Hook::Usdt { provider, name, .. }) => format!("usdt/{provider}:{name}"),
        None => event.kind_key().to_string(),
    };
    let emoji = compact_emoji(hook.as_ref(), &verb);
    let process = event.process();
    let place = process
        .and_then(|p| p.pod.as_ref())
        .map(|pod| {
            format!(
                "{}/{}",
                pod.namespace.as_deref().unwrap_or("?"),
                pod.name.as_deref().unwrap_or("?")
            )
        })
        .or_else(|| event.node_name.clone())
        .unwrap_or_else(|| "host".into());
    let binary = process.map_or("?", |p| {
        if p.binary().is_empty() {
            "?"
        } else {
            p.binary()
        }
    });
    let args = short_args(event.args());
    let action = verdict
        .action
        .as_ref()
        .and_then(KprobeAction::name)
        .map_or("POST", |a| a.strip_prefix("KPROBE_ACTION_").unwrap_or(a))
        .to_string();
    let mut line = format!("{emoji} {verb:<8} {place} {binary}");
    if !args.is_empty() {
        line.push(' ');
        line.push_str(&args.join(" "));
    }
    match &verdict.rule {
        Some(rule) => {
            let _ = write!(line, "  [{} {} {action}]", verdict.policy, rule.display());
        }
        None => {
            let _ = write!(line, "  [{} {action}]", verdict.policy);
        }
    }
    line
}

/// The summary table: per policy hook, how many events reached it, which
/// selectors won, how many were posted or suppressed.
pub fn summary_table(sim: &Simulator<'_>) -> String {
    let mut out = String::new();
    let totals = sim.totals();
    let kinds: Vec<String> = totals
        .by_kind
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "tpc replay: {} event{} read ({}), {} malformed, {} posted",
        totals.events,
        if totals.events == 1 { "" } else { "s" },
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        },
        totals.malformed,
        totals.posted
    );
    if totals.unmatched_hook_events > 0 {
        let _ = writeln!(
            out,
            "  {} hook event(s) reached no hook of the policies",
            totals.unmatched_hook_events
        );
    }
    let _ = writeln!(
        out,
        "  {:<28} {:<16} {:>8} {:>8} {:>8} {:>8} {:>8}  selectors (wins)",
        "policy", "hook", "reached", "posted", "no-match", "no-post", "limited"
    );
    for (p, policy) in sim.policies().enumerate() {
        for (h, hook) in policy.hooks.iter().enumerate() {
            let Some(s) = sim.stats().get(p).and_then(|v| v.get(h)) else {
                continue;
            };
            let wins: Vec<String> = if hook.selectors.is_empty() {
                vec![format!(
                    "none ({})",
                    s.selector_wins.last().copied().unwrap_or(0)
                )]
            } else {
                s.selector_wins[..hook.selectors.len()]
                    .iter()
                    .enumerate()
                    .map(|(i, n)| format!("{i}:{n}"))
                    .collect()
            };
            let mut name = policy.name.value.clone();
            if name.len() > 28 {
                name.truncate(27);
                name.push('~');
            }
            let _ = writeln!(
                out,
                "  {:<28} {:<16} {:>8} {:>8} {:>8} {:>8} {:>8}  {}",
                name,
                hook.locator(),
                s.reached,
                s.posted,
                s.no_match,
                s.no_post,
                s.rate_limited,
                wins.join(" ")
            );
            if s.out_of_scope > 0 {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<16} {} event(s) out of the policy's scope",
                    "", "", s.out_of_scope
                );
            }
            if s.return_suppressed > 0 {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<16} {} event(s) dropped by return selectors",
                    "", "", s.return_suppressed
                );
            }
            if s.after_kill > 0 {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<16} {} event(s) of processes killed earlier (--follow-kills)",
                    "", "", s.after_kill
                );
            }
            if s.disagreements > 0 {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<16} {} recorded event(s) of this policy disagree with the simulation",
                    "", "", s.disagreements
                );
            }
        }
    }
    out
}

/// `selector 0`, `no selectors`, `no match`.
pub fn selector_text(outcome: SelectorOutcome) -> String {
    match outcome {
        SelectorOutcome::Matched(i) => format!("selector {i}"),
        SelectorOutcome::NoSelectors => "no selectors".into(),
        SelectorOutcome::NoneMatched => "no match".into(),
    }
}
