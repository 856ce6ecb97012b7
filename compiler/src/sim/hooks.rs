//! Which policy hooks an event belongs to: a kprobe's `function_name`
//! against the calls as Tetragon resolves them (`syscall: true` adds the
//! node's arch prefix, `sys_write` → `__x64_sys_write` or
//! `__arm64_sys_write`; lists expand), a tracepoint's `subsys`/`event`, an
//! LSM hook name, a uprobe's path and symbol, a USDT's path, provider and
//! name.

use std::collections::HashMap;

use tpc_events::{EventSummary, Hook as EventHook};

use crate::ir::{HookTarget, ListKind, Policy};

use super::pattern::Pattern;
use super::syscalls::{self, Abi};

/// One policy hook (and, for kprobes, one of its calls) an event can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookRef {
    pub policy: usize,
    pub hook: usize,
    /// Position in the kprobe's `calls` (0 for other hooks).
    pub call: usize,
}

/// How a kprobe call matches `function_name`.
#[derive(Debug)]
enum CallMatcher {
    /// Exactly this symbol.
    Exact(String),
    /// A syscall by name (`write`): `__x64_sys_write` and `__arm64_sys_write`.
    Syscall(String),
    /// Every syscall of the native ABI (`generated_syscalls` lists).
    AnySyscall,
    /// Functions matching a regular expression (`generated_ftrace` lists).
    Pattern(Pattern),
}

/// The hook index of a set of policies.
#[derive(Debug, Default)]
pub struct HookIndex {
    kprobe_exact: HashMap<String, Vec<HookRef>>,
    kprobe_syscall: HashMap<String, Vec<HookRef>>,
    kprobe_other: Vec<(CallMatcher, HookRef)>,
    tracepoints: HashMap<String, HashMap<String, Vec<HookRef>>>,
    lsm: HashMap<String, Vec<HookRef>>,
    uprobes: Vec<(String, Vec<String>, Vec<i64>, HookRef)>,
    usdts: Vec<(String, String, String, HookRef)>,
    /// Calls whose matcher could not be built (bad `generated_ftrace` pattern).
    pub problems: Vec<String>,
}

/// Resolves one kprobe call the way Tetragon does.
fn call_matcher(
    policy: &Policy,
    name: &str,
    from_list: Option<&str>,
    syscall: bool,
) -> Result<CallMatcher, String> {
    if let Some(list_name) = from_list {
        if let Some(list) = policy.lists.iter().find(|l| l.name.value == list_name) {
            match list.kind {
                ListKind::GeneratedSyscalls => return Ok(CallMatcher::AnySyscall),
                ListKind::GeneratedFtrace => {
                    let pattern = list
                        .pattern
                        .as_ref()
                        .map(|p| p.value.as_str())
                        .unwrap_or_default();
                    return Pattern::new(pattern)
                        .map(CallMatcher::Pattern)
                        .map_err(|e| format!("list {list_name}: pattern {pattern:?}: {e}"));
                }
                ListKind::Syscalls => return Ok(syscall_matcher(name)),
                ListKind::Functions => {}
            }
        }
    }
    if syscall {
        return Ok(syscall_matcher(name));
    }
    Ok(CallMatcher::Exact(name.to_string()))
}

/// `sys_write` → any native arch; `__x64_sys_write`, `i386/sys_dup` → that symbol.
fn syscall_matcher(name: &str) -> CallMatcher {
    if let Some((abi, rest)) = name.split_once('/') {
        if let Some(abi) = Abi::from_name(abi) {
            let bare = rest.strip_prefix("sys_").unwrap_or(rest);
            let prefix = match abi {
                Abi::X64 => "__x64_sys_",
                Abi::I386 => "__ia32_sys_",
                Abi::Arm64 | Abi::Arm32 => "__arm64_sys_",
            };
            return CallMatcher::Exact(format!("{prefix}{bare}"));
        }
    }
    if syscalls::split_symbol(name).is_some() || name.starts_with("__") {
        return CallMatcher::Exact(name.to_string());
    }
    match name.strip_prefix("sys_") {
        Some(bare) => CallMatcher::Syscall(bare.to_string()),
        // `openat` with syscall: true resolves to `__x64_openat`, which does
        // not exist: nothing matches but the literal symbol.
        None => CallMatcher::Exact(name.to_string()),
    }
}

/// LSM hooks are written without `bpf_lsm_`/`security_`.
fn lsm_name(name: &str) -> &str {
    name.strip_prefix("bpf_lsm_")
        .or_else(|| name.strip_prefix("security_"))
        .unwrap_or(name)
}

/// A uprobe symbol without its `+offset`.
fn symbol_name(symbol: &str) -> &str {
    symbol.split_once('+').map_or(symbol, |(name, _)| name)
}

impl HookIndex {
    pub fn new(policies: &[&Policy]) -> Self {
        let mut index = HookIndex::default();
        for (p, policy) in policies.iter().enumerate() {
            for (h, hook) in policy.hooks.iter().enumerate() {
                let at = |call| HookRef {
                    policy: p,
                    hook: h,
                    call,
                };
                match &hook.target {
                    HookTarget::Kprobe { calls, syscall, .. } => {
                        for (c, call) in calls.iter().enumerate() {
                            match call_matcher(
                                policy,
                                &call.name,
                                call.from_list.as_deref(),
                                *syscall,
                            ) {
                                Ok(CallMatcher::Exact(symbol)) => {
                                    index.kprobe_exact.entry(symbol).or_default().push(at(c))
                                }
                                Ok(CallMatcher::Syscall(bare)) => {
                                    index.kprobe_syscall.entry(bare).or_default().push(at(c))
                                }
                                Ok(other) => index.kprobe_other.push((other, at(c))),
                                Err(e) => index.problems.push(e),
                            }
                        }
                    }
                    HookTarget::Tracepoint {
                        subsystem, event, ..
                    } => index
                        .tracepoints
                        .entry(subsystem.value.clone())
                        .or_default()
                        .entry(event.value.clone())
                        .or_default()
                        .push(at(0)),
                    HookTarget::Lsm { hook: name } => {
                        index
                            .lsm
                            .entry(lsm_name(&name.value).to_string())
                            .or_default()
                            .push(at(0));
                    }
                    HookTarget::Uprobe {
                        path,
                        symbols,
                        offsets,
                        ..
                    } => index.uprobes.push((
                        path.value.clone(),
                        symbols
                            .iter()
                            .map(|s| symbol_name(&s.value).to_string())
                            .collect(),
                        offsets.iter().map(|o| o.value).collect(),
                        at(0),
                    )),
                    HookTarget::Usdt {
                        path,
                        provider,
                        name,
                        ..
                    } => index.usdts.push((
                        path.value.clone(),
                        provider.value.clone(),
                        name.value.clone(),
                        at(0),
                    )),
                }
            }
        }
        index
    }

    /// Every hook an event with this hook identity reaches, appended to `out`.
    pub fn lookup(&self, hook: &EventHook<'_>, out: &mut Vec<HookRef>) {
        match *hook {
            EventHook::Kprobe { function } => {
                if let Some(refs) = self.kprobe_exact.get(function) {
                    out.extend_from_slice(refs);
                }
                let native = syscalls::split_symbol(function)
                    .filter(|(abi, _)| matches!(abi, Abi::X64 | Abi::Arm64));
                if let Some((_, bare)) = native {
                    if let Some(refs) = self.kprobe_syscall.get(bare) {
                        out.extend_from_slice(refs);
                    }
                }
                for (matcher, at) in &self.kprobe_other {
                    let hit = match matcher {
                        CallMatcher::AnySyscall => native.is_some(),
                        CallMatcher::Pattern(p) => p.is_match(function),
                        CallMatcher::Exact(s) => s == function,
                        CallMatcher::Syscall(s) => native.is_some_and(|(_, b)| b == s),
                    };
                    if hit {
                        out.push(*at);
                    }
                }
            }
            EventHook::Tracepoint { subsys, event } => {
                if let Some(refs) = self.tracepoints.get(subsys).and_then(|m| m.get(event)) {
                    out.extend_from_slice(refs);
                }
            }
            EventHook::Lsm { hook } => {
                if let Some(refs) = self.lsm.get(lsm_name(hook)) {
                    out.extend_from_slice(refs);
                }
            }
            EventHook::Uprobe {
                path,
                symbol,
                offset,
            } => {
                for (p, symbols, offsets, at) in &self.uprobes {
                    let symbol_hit =
                        !symbol.is_empty() && symbols.iter().any(|s| s == symbol_name(symbol));
                    let offset_hit = offset
                        .is_some_and(|o| offsets.iter().any(|x| u64::try_from(*x).ok() == Some(o)));
                    if p == path && (symbol_hit || offset_hit) {
                        out.push(*at);
                    }
                }
            }
            EventHook::Usdt {
                path,
                provider,
                name,
            } => {
                for (p, pr, n, at) in &self.usdts {
                    if p == path && pr == provider && n == name {
                        out.push(*at);
                    }
                }
            }
        }
        // A call listed twice (or matched two ways) reaches its hook once.
        out.dedup_by(|a, b| a.policy == b.policy && a.hook == b.hook);
    }

    /// Whether any hook could match an event with this summary.
    pub fn reaches(&self, summary: &EventSummary, scratch: &mut Vec<HookRef>) -> bool {
        let Some(hook) = summary.hook() else {
            return false;
        };
        scratch.clear();
        self.lookup(&hook, scratch);
        !scratch.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks_of(yaml: &str, function: &str) -> Vec<HookRef> {
        let parsed = crate::front::parse_policies(crate::span::FileId(0), yaml);
        let policies: Vec<&Policy> = parsed.policies.iter().collect();
        let index = HookIndex::new(&policies);
        let mut out = Vec::new();
        index.lookup(&EventHook::Kprobe { function }, &mut out);
        out
    }

    const SYS_WRITE: &str = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: w}\nspec:\n  kprobes:\n  - call: sys_write\n    syscall: true\n";

    #[test]
    fn syscalls_match_on_both_arches() {
        assert_eq!(hooks_of(SYS_WRITE, "__x64_sys_write").len(), 1);
        assert_eq!(hooks_of(SYS_WRITE, "__arm64_sys_write").len(), 1);
        assert!(hooks_of(SYS_WRITE, "__ia32_sys_write").is_empty());
        assert!(hooks_of(SYS_WRITE, "__x64_sys_writev").is_empty());
    }

    #[test]
    fn prefixed_calls_match_exactly() {
        let yaml = SYS_WRITE.replace("sys_write", "__x64_sys_write");
        assert_eq!(hooks_of(&yaml, "__x64_sys_write").len(), 1);
        assert!(hooks_of(&yaml, "__arm64_sys_write").is_empty());
    }

    #[test]
    fn non_syscalls_match_exactly() {
        let yaml = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: f}\nspec:\n  kprobes:\n  - call: security_file_open\n    syscall: false\n";
        assert_eq!(hooks_of(yaml, "security_file_open").len(), 1);
        assert!(hooks_of(yaml, "__x64_security_file_open").is_empty());
    }
}
