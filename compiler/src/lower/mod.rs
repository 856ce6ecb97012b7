//! Lowering: the IR to a bundle (`tpc_bundle::Bundle`): for each hook, the
//! attach point, what to read on every hit, and each selector as the
//! filters and actions the kernel programs evaluate; for each bundle, the
//! kernel requirements that lowering assumed.
//!
//! The kernel side is generic: one program per hook kind, shared by every
//! policy on a hooked point, evaluating each policy from its own map
//! entries (see `bpf-programs/hook_engine.h`). Lowering therefore produces
//! data, not code: the semantics live in the simulator's definitions
//! (`sim::args`, `sim::operators`), which this module calls to convert
//! operators and values, so the kernel computes what the simulator does.
//!
//! What cannot run in the kernel is reported like any other finding, on
//! the policy line: TPC200 (not lowered yet: hook kinds other than
//! tracepoints, argument types, actions), TPC201 (does not fit the kernel
//! tables), TPC202 (the tracepoint's layout is unknown), TPC203 (applies to
//! no process on a host without Kubernetes).

pub mod args;
pub mod build;
pub mod selectors;

use tpc_bundle::binding::BindingUnit;
use tpc_bundle::model::{
    ArgSource, AttachPoint, Bundle, Feature, HookUnit, KernelVersion, PROGRAM_ABI, PolicyScope,
    PolicyUnit, ProgramSet, Requirements, SENSOR_OBJECT, SourceFile, SourcePlace,
    TracepointRequirement,
};

use crate::btf::KernelInfo;
use crate::btf::TracepointLookup;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{Hook, HookTarget, Policy, PolicyKind};
use crate::sim::syscalls::Arch;
use crate::span::{FileId, SourceMap, Span};

use selectors::SelectorContext;

/// Why part of a policy cannot be lowered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LowerError {
    Unsupported {
        span: Span,
        what: String,
        help: String,
    },
    TooLong {
        span: Span,
        what: String,
        len: usize,
        max: usize,
    },
    TooMany {
        span: Span,
        what: String,
        count: usize,
        max: usize,
    },
    Layout {
        span: Span,
        what: String,
    },
    NotCollected {
        span: Span,
        what: String,
    },
    Inactive {
        span: Span,
        reason: String,
    },
}

impl LowerError {
    /// The finding, at the policy line that caused it.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            LowerError::Unsupported { span, what, help } => Diagnostic::of(
                Code::NotLowered,
                format!("{what} cannot run in the kernel with this tpc"),
            )
            .with_primary(*span, "not lowered")
            .with_help(help.clone()),
            LowerError::TooLong {
                span,
                what,
                len,
                max,
            } => Diagnostic::of(
                Code::KernelTableLimit,
                format!("{what} of {len} bytes does not fit the kernel tables (at most {max})"),
            )
            .with_primary(*span, format!("{len} bytes"))
            .with_help(format!("shorten it to {max} bytes or fewer")),
            LowerError::TooMany {
                span,
                what,
                count,
                max,
            } => Diagnostic::of(
                Code::KernelTableLimit,
                format!("{count} {what} do not fit the kernel tables (at most {max})"),
            )
            .with_primary(*span, format!("{count}"))
            .with_help("split the filter across selectors, or use InMap for long value lists"),
            LowerError::Layout { span, what } => {
                Diagnostic::of(Code::TracepointLayoutUnknown, what.clone()).with_primary(*span, "")
            }
            LowerError::NotCollected { span, what } => Diagnostic::new(
                Code::NotLowered,
                Severity::Warning,
                format!("{what} are not collected by tpc's kernel programs; the events post without them"),
            )
            .with_primary(*span, ""),
            LowerError::Inactive { span, reason } => Diagnostic::of(
                Code::InactiveOnHost,
                format!("on a host without Kubernetes this policy applies to no process: {reason}"),
            )
            .with_primary(*span, "")
            .with_help("bind it to cgroups with `tpc run --cgroup NAME=PATH`"),
        }
    }
}

/// Places the return value of an fentry hook's fexit program: after the
/// function's arguments in the program's u64 array, so at 8 × the number
/// of parameters (a syscall wrapper has one, its `struct pt_regs *`), which
/// the target kernel's BTF gives. `returnCopy` is not read there (its size
/// would be the return value, which the kretprobe reads from a register).
fn fexit_return(
    hook: &Hook,
    calls: &[crate::ir::Call],
    syscall: bool,
    options: &LowerOptions<'_>,
    lowered: &mut args::LoweredArgs,
) -> Result<(), LowerError> {
    if let Some(decl) = hook.args.iter().find(|d| d.return_copy) {
        return Err(LowerError::Unsupported {
            span: decl.span,
            what: "`returnCopy` on an fentry hook".into(),
            help: "tpc copies returnCopy buffers in kretprobes: use a kprobe with `return: true`"
                .into(),
        });
    }
    let mut count = None;
    for call in calls {
        let params = if syscall {
            1
        } else {
            let Some(kernel) = options.kernel else {
                return Err(LowerError::Layout {
                    span: call.span,
                    what: format!(
                        "the return value of `{}` follows its arguments in the fexit program, and no kernel was given to count them",
                        call.name
                    ),
                });
            };
            let Some(function) = kernel.function(&call.name) else {
                return Err(LowerError::Layout {
                    span: call.span,
                    what: format!(
                        "`{}` is not in {}'s BTF, so its fexit program cannot be placed",
                        call.name,
                        options
                            .kernel_name
                            .as_deref()
                            .unwrap_or("the target kernel")
                    ),
                });
            };
            function.params.len()
        };
        if count.is_some_and(|c| c != params) {
            return Err(LowerError::Unsupported {
                span: call.span,
                what: "fentry calls with different numbers of parameters and one return probe".into(),
                help: "an fexit program finds the return value after the arguments; split the calls into hooks whose functions take as many parameters".into(),
            });
        }
        count = Some(params);
    }
    if let Some(spec) = lowered.return_spec.as_mut() {
        let offset = u16::try_from(8 * count.unwrap_or(0)).unwrap_or(u16::MAX);
        spec.source = ArgSource::Return { offset };
    }
    Ok(())
}

/// One policy to lower, with the file it came from.
pub struct LowerInput<'a> {
    pub policy: &'a Policy,
    pub file: FileId,
}

/// What lowering needs to know about the target.
pub struct LowerOptions<'a> {
    /// The kernel whose tracepoint formats decide `type: auto` and field
    /// positions (the running one, or `--kernel`/`--btf`).
    pub kernel: Option<&'a dyn KernelInfo>,
    /// Name of that kernel, recorded in the bundle.
    pub kernel_name: Option<String>,
    pub producer: String,
}

/// The result: a bundle when no error was found, and every finding.
pub struct Lowered {
    pub bundle: Option<Bundle>,
    pub diagnostics: Vec<Diagnostic>,
}

fn place_of(sources: &SourceMap, span: Span) -> SourcePlace {
    sources
        .get(span.file)
        .map_or_else(SourcePlace::default, |f| {
            let (line, column) = f.line_col(span.start);
            SourcePlace {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            }
        })
}

/// Lowers policies into one bundle.
pub fn lower(
    inputs: &[LowerInput<'_>],
    sources: &SourceMap,
    options: &LowerOptions<'_>,
) -> Lowered {
    let mut diagnostics = Vec::new();
    let mut requirements = Requirements {
        min_kernel: KernelVersion {
            major: 5,
            minor: 17,
        },
        features: vec![Feature::Btf, Feature::RingBuffer, Feature::BpfLoop],
        tracepoints: Vec::new(),
        raw_tracepoints: Vec::new(),
        assumed_kernel: options.kernel_name.clone(),
    };
    let mut files: Vec<FileId> = Vec::new();
    let mut policies = Vec::new();
    let mut failed = false;
    let arch = options
        .kernel
        .map_or(Arch::X86_64, |k| match k.arch().name() {
            "arm64" | "aarch64" => Arch::Arm64,
            _ => Arch::X86_64,
        });
    for input in inputs {
        let source = match files.iter().position(|f| *f == input.file) {
            Some(i) => i,
            None => {
                files.push(input.file);
                files.len() - 1
            }
        };
        // a binding's policy points into its template's file too
        for hook in &input.policy.hooks {
            if !files.contains(&hook.span.file) {
                files.push(hook.span.file);
            }
        }
        match lower_policy(input.policy, sources, options, arch, &mut requirements) {
            Ok((unit, warnings)) => {
                diagnostics.extend(warnings.iter().map(LowerError::to_diagnostic));
                policies.push(PolicyUnit {
                    source: u32::try_from(source).unwrap_or(u32::MAX),
                    ..unit
                });
            }
            Err(errors) => {
                failed = true;
                diagnostics.extend(errors.iter().map(LowerError::to_diagnostic));
            }
        }
    }
    requirements.features.sort();
    requirements.features.dedup();
    requirements
        .tracepoints
        .sort_by(|a, b| (&a.subsystem, &a.event).cmp(&(&b.subsystem, &b.event)));
    requirements.raw_tracepoints.sort();
    requirements.raw_tracepoints.dedup();
    let bundle = (!failed).then(|| Bundle {
        format: tpc_bundle::FORMAT_VERSION,
        producer: options.producer.clone(),
        programs: ProgramSet {
            object: SENSOR_OBJECT.to_owned(),
            abi: PROGRAM_ABI,
        },
        requirements,
        sources: files
            .iter()
            .filter_map(|f| sources.get(*f))
            .map(|f| SourceFile {
                name: f.name.clone(),
                text: f.text.to_string(),
            })
            .collect(),
        policies,
    });
    Lowered {
        bundle,
        diagnostics,
    }
}

fn is_monitor(policy: &Policy) -> bool {
    policy.options.iter().any(|o| {
        o.name.value == "policy-mode"
            && o.value
                .as_ref()
                .is_some_and(|v| v.value.eq_ignore_ascii_case("monitor"))
    })
}

type PolicyResult = Result<(PolicyUnit, Vec<LowerError>), Vec<LowerError>>;

fn lower_policy(
    policy: &Policy,
    sources: &SourceMap,
    options: &LowerOptions<'_>,
    arch: Arch,
    requirements: &mut Requirements,
) -> PolicyResult {
    let monitor = is_monitor(policy);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let bound_cgroups = policy
        .binding
        .as_ref()
        .map(|b| {
            b.cgroups
                .iter()
                .map(|c| c.value.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let scope = if !bound_cgroups.is_empty() {
        PolicyScope::Cgroups {
            paths: bound_cgroups,
        }
    } else if policy.kind == PolicyKind::TracingPolicyNamespaced {
        PolicyScope::Workloads {
            reason: format!(
                "a TracingPolicyNamespaced applies only to pods of namespace {}",
                policy.namespace.as_ref().map_or("?", |n| n.value.as_str())
            ),
        }
    } else if policy.pod_selector.is_some() || policy.container_selector.is_some() {
        PolicyScope::Workloads {
            reason: "its podSelector/containerSelector selects Kubernetes workloads".into(),
        }
    } else {
        PolicyScope::Everywhere
    };
    if let PolicyScope::Workloads { reason } = &scope {
        warnings.push(LowerError::Inactive {
            span: policy.kind_span,
            reason: reason.clone(),
        });
    }
    if let Some(loader) = policy.loader.as_ref().filter(|l| l.value) {
        errors.push(LowerError::Unsupported {
            span: loader.span,
            what: "the loader sensor (`loader: true`, process_loader events)".into(),
            help: "tpc's kernel programs do not report loaded executable mappings yet; `tpc replay` handles recorded process_loader events".into(),
        });
    }
    let mut hooks = Vec::new();
    for hook in &policy.hooks {
        if let HookTarget::Kprobe { calls, .. } = &hook.target {
            // a call names its list by `from_list` (expanded) or `list:NAME`
            let generated = calls.iter().find_map(|c| {
                let name = c
                    .from_list
                    .as_deref()
                    .or_else(|| c.name.strip_prefix("list:"))?;
                let list = policy.lists.iter().find(|l| l.name.value == name)?;
                matches!(
                    list.kind,
                    crate::ir::ListKind::GeneratedFtrace | crate::ir::ListKind::GeneratedSyscalls
                )
                .then(|| (c.span, list.name.value.clone(), list.kind.as_str()))
            });
            if let Some((span, name, kind)) = generated {
                errors.push(LowerError::Unsupported {
                    span,
                    what: format!("the {kind} list `{name}`"),
                    help: "generated lists (every syscall, or a pattern over available_filter_functions) are expanded when Tetragon loads the policy, into one kprobe each; tpc does not expand them yet (it has 32 kprobe programs): list the functions in a plain list".into(),
                });
                continue;
            }
        }
        match lower_hook(
            hook,
            sources,
            options,
            monitor,
            arch,
            requirements,
            &mut warnings,
        ) {
            Ok(units) => hooks.extend(units),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let ir = serde_json::to_value(policy).unwrap_or(serde_json::Value::Null);
    Ok((
        PolicyUnit {
            name: policy.name.value.clone(),
            kind: policy.kind.as_str().to_owned(),
            source: 0,
            place: place_of(sources, policy.span),
            monitor,
            scope,
            binding: policy.binding.as_ref().map(|b| BindingUnit {
                template: b.template.value.clone(),
                override_allowed: b.override_allowed,
                override_priority: b.override_priority,
            }),
            hooks,
            ir,
        },
        warnings,
    ))
}

fn lower_hook(
    hook: &Hook,
    sources: &SourceMap,
    options: &LowerOptions<'_>,
    monitor: bool,
    arch: Arch,
    requirements: &mut Requirements,
    warnings: &mut Vec<LowerError>,
) -> Result<Vec<HookUnit>, LowerError> {
    let returns = hook.returns.as_ref().filter(|r| r.value);
    if let Some(returns) = returns {
        if !matches!(
            hook.target,
            HookTarget::Kprobe { .. } | HookTarget::Uprobe { .. }
        ) {
            return Err(LowerError::Unsupported {
                span: returns.span,
                what: format!(
                    "a return probe (`return: true`) on a {} hook",
                    hook.target.kind().as_str()
                ),
                help:
                    "tpc's return probes are kretprobes, fexit programs (fentries) and uretprobes"
                        .into(),
            });
        }
        if hook.return_arg.is_none() {
            return Err(LowerError::Layout {
                span: returns.span,
                what: "a return probe without `returnArg`: say how to read the return value (`returnArg: {index: 0, type: int}`)".into(),
            });
        }
        if let Some(action) = hook
            .return_arg_action
            .as_ref()
            .filter(|a| a.value != "Post")
        {
            return Err(LowerError::Unsupported {
                span: action.span,
                what: format!("`returnArgAction: {}`", action.value),
                help: "socket tracking (TrackSock/UntrackSock) comes with later back-end work"
                    .into(),
            });
        }
    }
    if let Some(data) = hook.data.first() {
        return Err(LowerError::Unsupported {
            span: data.span,
            what: "`data` entries".into(),
            help: "tpc's kernel programs read `args`; `data` comes with later back-end work".into(),
        });
    }
    let overrides = hook.selectors.iter().any(|s| {
        s.match_actions
            .iter()
            .any(|a| matches!(a.kind, crate::ir::ActionKind::Override { .. }))
    });
    let x86_only = |what: &str| -> Result<(), LowerError> {
        if arch == Arch::X86_64 {
            Ok(())
        } else {
            Err(LowerError::Unsupported {
                span: hook.span,
                what: format!("{what} on {}", arch_name(arch)),
                help: "tpc reads kprobe and uprobe arguments from x86-64 registers only".into(),
            })
        }
    };
    let mut more_attach: Vec<AttachPoint> = Vec::new();
    let (attach, lowered) = match &hook.target {
        HookTarget::Tracepoint {
            subsystem,
            event,
            raw: false,
        } => {
            let Some(kernel) = options.kernel else {
                return Err(LowerError::Layout {
                    span: hook.span,
                    what: format!(
                        "the layout of tracepoint {}/{} is needed to build, and no kernel was given",
                        subsystem.value, event.value
                    ),
                });
            };
            let info = match kernel.tracepoint(&subsystem.value, &event.value) {
                TracepointLookup::Found(info) => info,
                TracepointLookup::FieldsUnknown { reason }
                | TracepointLookup::Missing { reason }
                | TracepointLookup::Unknown { reason } => {
                    return Err(LowerError::Layout {
                        span: event.span,
                        what: format!(
                            "tracepoint {}/{} on {}: {reason}",
                            subsystem.value,
                            event.value,
                            options
                                .kernel_name
                                .as_deref()
                                .unwrap_or("the target kernel")
                        ),
                    });
                }
            };
            let lowered = args::tracepoint_args(hook, &info)?;
            let requirement = requirements
                .tracepoints
                .iter_mut()
                .find(|t| t.subsystem == subsystem.value && t.event == event.value);
            match requirement {
                Some(t) => {
                    for f in &lowered.fields {
                        if !t.fields.iter().any(|g| g.index == f.index) {
                            t.fields.push(f.clone());
                        }
                    }
                    t.fields.sort_by_key(|f| f.index);
                }
                None => {
                    let mut fields = lowered.fields.clone();
                    fields.sort_by_key(|f| f.index);
                    requirements.tracepoints.push(TracepointRequirement {
                        subsystem: subsystem.value.clone(),
                        event: event.value.clone(),
                        fields,
                    });
                }
            }
            requirements.features.push(Feature::Tracepoints);
            (
                AttachPoint::Tracepoint {
                    subsystem: subsystem.value.clone(),
                    event: event.value.clone(),
                },
                lowered,
            )
        }
        HookTarget::Tracepoint {
            subsystem,
            event,
            raw: true,
        } => {
            requirements.features.push(Feature::RawTracepoints);
            requirements
                .raw_tracepoints
                .push(format!("{}/{}", subsystem.value, event.value));
            (
                AttachPoint::RawTracepoint {
                    subsystem: subsystem.value.clone(),
                    event: event.value.clone(),
                },
                args::raw_tracepoint_args(hook)?,
            )
        }
        HookTarget::Kprobe {
            calls,
            syscall,
            fentry,
            ..
        } => {
            x86_only("a kprobe")?;
            let mut methods = Vec::new();
            if overrides && !*fentry {
                for call in calls {
                    methods.push(kprobe_override_method(hook, &call.name, *syscall, options)?);
                }
            }
            let place = match (*fentry, *syscall) {
                (_, true) => args::ArgPlace::SyscallRegisters,
                (false, false) => args::ArgPlace::CallRegisters,
                (true, false) => args::ArgPlace::ArgArray,
            };
            let mut lowered = args::function_args(hook, place)?;
            if *fentry && returns.is_some() {
                fexit_return(hook, calls, *syscall, options, &mut lowered)?;
            }
            let mut points = calls.iter().enumerate().map(|(i, call)| {
                if *fentry {
                    AttachPoint::Fentry {
                        function: call.name.clone(),
                        syscall: *syscall,
                        returns: returns.is_some(),
                    }
                } else {
                    AttachPoint::Kprobe {
                        function: call.name.clone(),
                        syscall: *syscall,
                        override_return: overrides,
                        fmod_ret: methods.get(i) == Some(&OverrideMethod::FmodRet),
                        returns: returns.is_some(),
                    }
                }
            });
            let Some(first) = points.next() else {
                return Err(LowerError::Layout {
                    span: hook.span,
                    what: "the hook names no function".into(),
                });
            };
            more_attach.extend(points);
            requirements.features.push(if *fentry {
                Feature::Fentry
            } else {
                Feature::Kprobes
            });
            if methods.contains(&OverrideMethod::OverrideReturn) {
                requirements.features.push(Feature::KprobeOverride);
            }
            if methods.contains(&OverrideMethod::FmodRet) {
                requirements.features.push(Feature::FmodRet);
            }
            (first, lowered)
        }
        HookTarget::Lsm { hook: name } => {
            requirements.features.push(Feature::BpfLsm);
            (
                AttachPoint::Lsm {
                    hook: name.value.clone(),
                },
                args::function_args(hook, args::ArgPlace::ArgArray)?,
            )
        }
        HookTarget::Uprobe {
            path,
            symbols,
            offsets,
            addrs,
            ref_ctr_offsets,
            binary_digests,
            ..
        } => {
            x86_only("a uprobe")?;
            let hook_returns = returns.is_some();
            if let Some(r) = ref_ctr_offsets.first() {
                return Err(LowerError::Unsupported {
                    span: r.span,
                    what: "uprobe reference counters (`refCtrOffsets`)".into(),
                    help: "tpc attaches uprobes at symbols and offsets".into(),
                });
            }
            if let Some(d) = binary_digests.first() {
                return Err(LowerError::Unsupported {
                    span: d.span,
                    what: "binary digests on uprobes".into(),
                    help: "tpc attaches without checking the binary's digest".into(),
                });
            }
            let mut points: Vec<AttachPoint> = if symbols.is_empty() {
                offsets
                    .iter()
                    .chain(addrs)
                    .map(|o| AttachPoint::Uprobe {
                        path: path.value.clone(),
                        symbol: None,
                        offset: u64::try_from(o.value).unwrap_or(0),
                        returns: hook_returns,
                    })
                    .collect()
            } else {
                symbols
                    .iter()
                    .enumerate()
                    .map(|(i, sym)| AttachPoint::Uprobe {
                        path: path.value.clone(),
                        symbol: Some(sym.value.clone()),
                        offset: offsets
                            .get(i)
                            .map_or(0, |o| u64::try_from(o.value).unwrap_or(0)),
                        returns: hook_returns,
                    })
                    .collect()
            };
            if points.is_empty() {
                return Err(LowerError::Layout {
                    span: path.span,
                    what: "the uprobe names no symbol or offset".into(),
                });
            }
            requirements.features.push(Feature::Uprobes);
            let first = points.remove(0);
            more_attach.extend(points);
            (
                first,
                args::function_args(hook, args::ArgPlace::CallRegisters)?,
            )
        }
        HookTarget::Usdt {
            path,
            provider,
            name,
            ..
        } => {
            x86_only("a USDT probe")?;
            requirements.features.push(Feature::Uprobes);
            (
                AttachPoint::Usdt {
                    path: path.value.clone(),
                    provider: provider.value.clone(),
                    name: name.value.clone(),
                },
                args::function_args(hook, args::ArgPlace::Usdt)?,
            )
        }
    };
    if lowered.specs.len() + usize::from(lowered.return_spec.is_some())
        > tpc_bundle::layout::MAX_SLOTS
    {
        return Err(LowerError::TooMany {
            span: hook.span,
            what: "values read on one hook (arguments, sizes and the return value)".into(),
            count: lowered.specs.len() + usize::from(lowered.return_spec.is_some()),
            max: tpc_bundle::layout::MAX_SLOTS,
        });
    }
    if lowered.specs.iter().filter(|s| !s.hidden).count() > tpc_bundle::layout::MAX_POLICY_ARGS {
        return Err(LowerError::TooMany {
            span: hook.span,
            what: "arguments on one hook".into(),
            count: lowered.specs.len(),
            max: tpc_bundle::layout::MAX_POLICY_ARGS,
        });
    }
    if hook.selectors.len() > tpc_bundle::layout::MAX_SELECTORS {
        return Err(LowerError::TooMany {
            span: hook.span,
            what: "selectors".into(),
            count: hook.selectors.len(),
            max: tpc_bundle::layout::MAX_SELECTORS,
        });
    }
    let place = |span: Span| place_of(sources, span);
    let mut cx = SelectorContext {
        hook,
        args: &lowered,
        monitor,
        override_allowed: matches!(attach, AttachPoint::Kprobe { .. } | AttachPoint::Lsm { .. }),
        arch,
        place: &place,
        warnings,
    };
    let mut selectors = Vec::new();
    let mut filters = 0;
    for selector in &hook.selectors {
        let unit = selectors::lower_selector(&mut cx, selector)?;
        filters += unit.process.len() + unit.args.len() + unit.return_args.len();
        if unit.action.signal.is_some() {
            requirements.features.push(Feature::SendSignal);
        }
        selectors.push(unit);
    }
    if filters > tpc_bundle::layout::MAX_FILTERS {
        return Err(LowerError::TooMany {
            span: hook.span,
            what: "filters in the selectors of one hook".into(),
            count: filters,
            max: tpc_bundle::layout::MAX_FILTERS,
        });
    }
    if selectors.iter().any(|s| {
        s.args.iter().any(|a| {
            matches!(
                a.test,
                tpc_bundle::model::ArgTest::Text { .. }
                    | tpc_bundle::model::ArgTest::InetAddress { .. }
            )
        }) || s
            .process
            .iter()
            .any(|p| matches!(p, tpc_bundle::model::ProcessFilter::Binaries { .. }))
    }) {
        requirements.features.push(Feature::LpmTrie);
    }
    let unit = HookUnit {
        locator: hook.locator(),
        place: place_of(sources, hook.span),
        attach,
        args: lowered.specs,
        selectors,
        message: hook.message.as_ref().map(|m| m.value.clone()),
        tags: hook.tags.iter().map(|t| t.value.clone()).collect(),
        return_arg: lowered.return_spec,
        optional: matches!(
            hook.target,
            HookTarget::Kprobe {
                ignore_call_not_found: true,
                ..
            }
        ),
    };
    // `list:` calls and several uprobe symbols: the same tables on each point
    let mut units = vec![unit.clone()];
    units.extend(more_attach.into_iter().map(|attach| HookUnit {
        attach,
        ..unit.clone()
    }));
    Ok(units)
}

/// How a kprobe's Override is applied, as Tetragon chooses it: on
/// `security_*` functions an fmod_ret program on the same function returns
/// the value (no error injection needed), on syscalls `bpf_override_return`
/// (`CONFIG_BPF_KPROBE_OVERRIDE`, their error-injection entries). Other
/// functions cannot be overridden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OverrideMethod {
    OverrideReturn,
    FmodRet,
}

fn kprobe_override_method(
    hook: &Hook,
    call: &str,
    syscall: bool,
    options: &LowerOptions<'_>,
) -> Result<OverrideMethod, LowerError> {
    let span = hook
        .selectors
        .iter()
        .flat_map(|s| &s.match_actions)
        .find(|a| matches!(a.kind, crate::ir::ActionKind::Override { .. }))
        .map_or(hook.span, |a| a.name_span);
    let kernel_name = options
        .kernel_name
        .as_deref()
        .unwrap_or("the target kernel");
    if !syscall && call.starts_with("security_") {
        if let Some(kernel) = options.kernel {
            // bpf_modify_return_test is the kernel's own fmod_ret test
            // target, there since fmod_ret came (5.7)
            if !kernel.has_function("bpf_modify_return_test") {
                return Err(LowerError::Unsupported {
                    span,
                    what: format!("Override on kernel function `{call}` on {kernel_name}"),
                    help: "Override on `security_*` functions runs in an fmod_ret program (BPF trampolines, Linux 5.7), which that kernel does not have".into(),
                });
            }
            if !kernel.has_function(call) {
                return Err(LowerError::Unsupported {
                    span,
                    what: format!("Override on kernel function `{call}` on {kernel_name}"),
                    help: "the fmod_ret program that applies the Override is loaded against the function's BTF, and that kernel's BTF has no such function".into(),
                });
            }
        }
        return Ok(OverrideMethod::FmodRet);
    }
    if !syscall {
        return Err(LowerError::Unsupported {
            span,
            what: format!("Override on kernel function `{call}`"),
            help: "Override runs on syscalls (`syscall: true`), on `security_*` functions and on LSM hooks".into(),
        });
    }
    if let Some(kernel) = options.kernel {
        // helpers are in BTF as functions: a kernel that lists
        // bpf_send_signal but not bpf_override_return was built without it
        if kernel.has_function("bpf_send_signal") && !kernel.has_function("bpf_override_return") {
            return Err(LowerError::Unsupported {
                span,
                what: format!("Override on a kprobe on {kernel_name}"),
                help: "that kernel has no bpf_override_return (built without CONFIG_BPF_KPROBE_OVERRIDE / function error injection); deny the call from an LSM hook instead (`lsmhooks`: file_open, socket_connect, bprm_check_security), or use Sigkill".into(),
            });
        }
    }
    Ok(OverrideMethod::OverrideReturn)
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86-64",
        Arch::Arm64 => "arm64",
    }
}
