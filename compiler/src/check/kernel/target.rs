//! What each hook of a policy attaches to on one kernel, resolved once and
//! shared by the kernel checks: the function, syscall wrapper, LSM hook or
//! tracepoint, and the prototype its `args[].index` values count in.
//!
//! Tetragon's rules (docs/tetragon-semantics.md §7.1, §7.9): with
//! `syscall: true` a name gets the arch prefix unless it has one
//! (`sys_openat` → `__x64_sys_openat`); a call from a `syscalls` list is
//! always a syscall; `ABI/sys_NAME` list values name the ABI's wrapper.

use crate::btf::{
    FunctionSig, KernelInfo, Param, SyscallResolution, SyscallSpelling, TracepointLookup, TypeDesc,
    TypeShape,
};
use crate::ir::{Call, Hook, HookTarget, ListKind, Policy};

/// One policy seen from one kernel.
pub struct KernelContext<'a> {
    pub kernel: &'a dyn KernelInfo,
    pub policy: &'a Policy,
    /// One entry per hook, in the policy's order.
    pub hooks: Vec<HookOnKernel<'a>>,
    /// Whose rules apply where releases differ.
    pub tetragon: crate::tetragon::TetragonVersion,
}

/// A hook and what it attaches to on the kernel.
pub struct HookOnKernel<'a> {
    pub hook: &'a Hook,
    pub attachment: Attachment<'a>,
}

/// What a hook attaches to.
pub enum Attachment<'a> {
    /// kprobes and fentries: one target per call (`list:` expanded).
    Calls(Vec<CallTarget<'a>>),
    /// `bpf_lsm_<hook>`'s prototype, when the kernel has it.
    Lsm(Option<FunctionSig>),
    /// A tracefs tracepoint and its record layout.
    Tracepoint(TracepointLookup),
    /// A raw tracepoint's `TP_PROTO` (context pointer dropped), when BTF has
    /// `btf_trace_<event>`.
    RawTracepoint(Option<FunctionSig>),
    /// Uprobes and USDTs: nothing in the kernel to look up.
    UserSpace,
}

/// One call of a kprobe/fentry hook.
pub struct CallTarget<'a> {
    pub call: &'a Call,
    /// `syscall: true`, or a call from a `syscalls` list.
    pub syscall: bool,
    /// The name resolution works on (`x64/sys_dup` becomes `__x64_sys_dup`).
    pub symbol: String,
    pub outcome: CallOutcome,
}

/// How a call resolves on the kernel.
pub enum CallOutcome {
    /// A kernel function (`syscall: false`). `syscall_wrapper` is set when
    /// the function is a syscall's `pt_regs` wrapper (or an old direct
    /// `sys_*`), which `syscall: false` reads as a plain function.
    Function {
        sig: FunctionSig,
        syscall_wrapper: Option<SyscallResolution>,
    },
    /// A syscall Tetragon attaches to (`syscall: true`).
    Syscall(SyscallResolution),
    /// `syscall: false` and no such function.
    NoFunction {
        /// Set when the name is a syscall that exists here (so
        /// `syscall: true` was meant).
        syscall: Option<SyscallResolution>,
    },
    /// `syscall: true`, and Tetragon's symbol does not exist.
    NoSyscall(SyscallResolution),
    /// `syscall: true` on something that is a kernel function but not a
    /// syscall.
    NotASyscall(SyscallResolution),
    /// `list:NAME` of a generated list (`generated_syscalls`,
    /// `generated_ftrace`): expanded by the agent, not checked here.
    Generated,
}

/// The parameters a hook's `args[].index` values count in, on one kernel.
#[derive(Debug, Clone)]
pub struct Prototype {
    /// How messages name what the parameters belong to: `` `vfs_llseek` ``,
    /// `` syscall `lseek` ``, `` LSM hook `file_open` ``, `` raw tracepoint
    /// `sched_process_exec` ``.
    pub owner: String,
    /// `parameter` or `argument` (syscalls and raw tracepoints).
    pub noun: &'static str,
    pub params: Vec<Param>,
    /// The return type, when the hook can have a `returnArg`.
    pub ret: Option<TypeDesc>,
    /// The prototype as one line of C, for notes.
    pub c: String,
    /// The BTF function whose parameters `resolve` paths start from (absent
    /// for syscalls and raw tracepoints: their paths start from the
    /// parameter's type).
    pub btf_function: Option<String>,
}

impl<'a> KernelContext<'a> {
    /// Resolves every hook of `policy` on `kernel`.
    pub fn new(kernel: &'a dyn KernelInfo, policy: &'a Policy) -> Self {
        let hooks = policy
            .hooks
            .iter()
            .map(|hook| HookOnKernel {
                hook,
                attachment: attachment(kernel, policy, hook),
            })
            .collect();
        KernelContext {
            kernel,
            policy,
            hooks,
            tetragon: crate::tetragon::TetragonVersion::default(),
        }
    }

    /// The same context with the rules of `tetragon`.
    pub fn for_tetragon(self, tetragon: crate::tetragon::TetragonVersion) -> Self {
        KernelContext { tetragon, ..self }
    }

    /// The `btfType` of a kernel hook's argument as the agent uses it: up
    /// to Tetragon 1.7 it is ignored there (read for uprobes and USDTs
    /// only), and `resolve` walks the parameter's own type.
    pub fn btf_type<'b>(
        &self,
        arg: &'b crate::ir::ArgDecl,
    ) -> Option<&'b crate::span::Spanned<String>> {
        arg.btf_type
            .as_ref()
            .filter(|_| self.tetragon >= crate::tetragon::TetragonVersion::Main)
    }
}

impl HookOnKernel<'_> {
    /// The prototypes the hook's `args` index into: one per resolved call
    /// for kprobes (with the call), one for LSM hooks and raw tracepoints,
    /// none when nothing resolved or for tracefs tracepoints (which index
    /// format fields).
    pub fn prototypes(&self) -> Vec<(Option<&Call>, Prototype)> {
        match &self.attachment {
            Attachment::Calls(targets) => targets
                .iter()
                .filter_map(|target| Some((Some(target.call), target.prototype()?)))
                .collect(),
            Attachment::Lsm(Some(sig)) => {
                let hook = sig.name.strip_prefix("bpf_lsm_").unwrap_or(&sig.name);
                vec![(
                    None,
                    Prototype {
                        owner: format!("LSM hook `{hook}`"),
                        noun: "parameter",
                        params: sig.params.clone(),
                        ret: None,
                        c: sig.to_c(),
                        btf_function: Some(sig.name.clone()),
                    },
                )]
            }
            Attachment::RawTracepoint(Some(sig)) => {
                let event = sig.name.strip_prefix("btf_trace_").unwrap_or(&sig.name);
                let params = sig
                    .params
                    .iter()
                    .map(|param| format!("{}", ParamC(param)))
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![(
                    None,
                    Prototype {
                        owner: format!("raw tracepoint `{event}`"),
                        noun: "argument",
                        params: sig.params.clone(),
                        ret: None,
                        c: format!("TP_PROTO({params})"),
                        btf_function: None,
                    },
                )]
            }
            _ => Vec::new(),
        }
    }
}

impl CallTarget<'_> {
    /// The prototype this call's arguments index into, when it resolved and
    /// the kernel says what the parameters are.
    pub fn prototype(&self) -> Option<Prototype> {
        match &self.outcome {
            CallOutcome::Function { sig, .. } => Some(Prototype {
                owner: format!("`{}`", sig.name),
                noun: "parameter",
                params: sig.params.clone(),
                ret: Some(sig.ret.clone()),
                c: sig.to_c(),
                btf_function: Some(sig.name.clone()),
            }),
            CallOutcome::Syscall(resolution) => {
                let prototype = resolution.prototype.as_ref()?;
                let params = prototype
                    .params
                    .iter()
                    .map(|param| format!("{}", ParamC(param)))
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(Prototype {
                    owner: format!("syscall `{}`", resolution.base),
                    noun: "argument",
                    params: prototype.params.clone(),
                    ret: Some(long_type()),
                    c: format!("long {}({params})", resolution.base),
                    btf_function: None,
                })
            }
            _ => None,
        }
    }
}

/// `struct file *file`, `int fd`.
struct ParamC<'p>(&'p Param);

impl std::fmt::Display for ParamC<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ty = &self.0.ty.c;
        match (self.0.name.as_str(), ty.ends_with('*')) {
            ("", _) => f.write_str(ty),
            (name, true) => write!(f, "{ty}{name}"),
            (name, false) => write!(f, "{ty} {name}"),
        }
    }
}

/// Syscalls return `long`.
fn long_type() -> TypeDesc {
    TypeDesc {
        c: "long".to_string(),
        typedefs: Vec::new(),
        shape: TypeShape::Int {
            size: 8,
            signed: true,
            is_char: false,
            is_bool: false,
        },
    }
}

fn attachment<'a>(kernel: &dyn KernelInfo, policy: &'a Policy, hook: &'a Hook) -> Attachment<'a> {
    match &hook.target {
        HookTarget::Kprobe { calls, syscall, .. } => Attachment::Calls(
            calls
                .iter()
                .map(|call| call_target(kernel, policy, call, *syscall))
                .collect(),
        ),
        HookTarget::Lsm { hook: name } => Attachment::Lsm(kernel.lsm_hook(&name.value)),
        HookTarget::Tracepoint {
            subsystem,
            event,
            raw: true,
        } => {
            let _ = subsystem;
            Attachment::RawTracepoint(kernel.raw_tracepoint(&event.value))
        }
        HookTarget::Tracepoint {
            subsystem, event, ..
        } => Attachment::Tracepoint(kernel.tracepoint(&subsystem.value, &event.value)),
        HookTarget::Uprobe { .. } | HookTarget::Usdt { .. } => Attachment::UserSpace,
    }
}

/// The kind of the list a call was expanded from.
fn list_kind(policy: &Policy, call: &Call) -> Option<ListKind> {
    let name = call.from_list.as_deref()?;
    policy
        .lists
        .iter()
        .find(|list| list.name.value == name)
        .map(|list| list.kind)
}

/// `x64/sys_dup` → `__x64_sys_dup` (the `ABI/name` form of `syscalls`
/// lists); other names unchanged. `None` for an ABI tpc does not map.
fn abi_symbol(name: &str) -> Option<String> {
    let Some((abi, rest)) = name.split_once('/') else {
        return Some(name.to_string());
    };
    let prefix = match abi {
        "x64" => "__x64_",
        "i386" => "__ia32_",
        "arm64" => "__arm64_",
        _ => return None,
    };
    Some(format!("{prefix}{rest}"))
}

fn call_target<'a>(
    kernel: &dyn KernelInfo,
    policy: &Policy,
    call: &'a Call,
    hook_syscall: bool,
) -> CallTarget<'a> {
    let kind = list_kind(policy, call);
    let syscall = hook_syscall || kind.is_some_and(ListKind::is_syscalls);
    let generated = matches!(
        kind,
        Some(ListKind::GeneratedSyscalls | ListKind::GeneratedFtrace)
    ) || call.name.starts_with("list:");
    let symbol = abi_symbol(&call.name);
    let (symbol, outcome) = match symbol {
        Some(symbol) if !generated => {
            let outcome = resolve_call(kernel, &symbol, syscall);
            (symbol, outcome)
        }
        _ => (call.name.clone(), CallOutcome::Generated),
    };
    CallTarget {
        call,
        syscall,
        symbol,
        outcome,
    }
}

fn resolve_call(kernel: &dyn KernelInfo, name: &str, syscall: bool) -> CallOutcome {
    if syscall {
        let resolution = kernel.syscall(name);
        if resolution.tetragon_attaches() {
            return CallOutcome::Syscall(resolution);
        }
        if resolution.wrapper.is_none() && kernel.has_function(name) {
            return CallOutcome::NotASyscall(resolution);
        }
        return CallOutcome::NoSyscall(resolution);
    }
    let syscall_spelling = name.starts_with("sys_")
        || name.starts_with("__x64_sys_")
        || name.starts_with("__arm64_sys_")
        || name.starts_with("__ia32_sys_");
    let as_syscall = || {
        let resolution = kernel.syscall(name);
        (resolution.wrapper.is_some() && resolution.spelling != SyscallSpelling::Bare)
            .then_some(resolution)
    };
    match kernel.function(name) {
        Some(sig) => CallOutcome::Function {
            syscall_wrapper: if syscall_spelling { as_syscall() } else { None },
            sig,
        },
        None => CallOutcome::NoFunction {
            syscall: if syscall_spelling { as_syscall() } else { None },
        },
    }
}
