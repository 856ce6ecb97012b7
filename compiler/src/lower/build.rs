//! The `tpc build` pipeline as a library call: read the policies, run every
//! check (against the target kernel too), and when nothing is wrong, lower
//! them into one bundle. The CLI only renders and writes.

use crate::btf::{self, KernelSelection};
use crate::diagnostics::Severity;
use crate::driver::{self, CheckOptions, Input, InputError, KernelRequest, Report};

use super::{LowerInput, LowerOptions, lower};

/// What `tpc build` produced: every finding, and the bundle when there was
/// no error.
pub struct BuildOutcome {
    pub report: Report,
    pub bundle: Option<tpc_bundle::Bundle>,
    /// The kernel the lowering read tracepoint layouts from.
    pub kernel: Option<String>,
}

/// Checks and lowers `inputs` for the kernel `request` names (the first
/// of several is the one layouts are read from).
pub fn build(inputs: &[Input], request: &KernelRequest) -> Result<BuildOutcome, InputError> {
    build_with(inputs, request, None)
}

/// [`build`], with RuntimeSecurityPolicy documents lowered with `rsp_strategy`
/// (`None`: the strategy the target kernel can run).
pub fn build_with(
    inputs: &[Input],
    request: &KernelRequest,
    rsp_strategy: Option<crate::front::rsp::strategy::Strategy>,
) -> Result<BuildOutcome, InputError> {
    let options = CheckOptions {
        kernels: request.clone(),
        host_checks: false,
        rsp_strategy,
        ..CheckOptions::default()
    };
    let mut report = driver::check_inputs_with(inputs, &options)?;
    if report
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        return Ok(BuildOutcome {
            report,
            bundle: None,
            kernel: None,
        });
    }
    let selection = match request {
        KernelRequest::Skip => None,
        KernelRequest::Running => std::path::Path::new(btf::SYSFS_VMLINUX)
            .exists()
            .then_some(KernelSelection::Running),
        KernelRequest::Selected(list) => list.first().cloned(),
    };
    let kernel = selection.and_then(|s| btf::load_kernels(&[s]).ok()?.into_iter().next());
    let kernel_name = kernel.as_ref().map(|k| {
        let identity = k.identity();
        match &identity.release {
            Some(release) => format!("{} ({release})", identity.name),
            None => identity.name.clone(),
        }
    });
    let inputs: Vec<LowerInput<'_>> = report
        .policies
        .iter()
        .map(|p| LowerInput {
            policy: &p.policy,
            file: p.file,
        })
        .collect();
    let lowered = lower(
        &inputs,
        &report.sources,
        &LowerOptions {
            kernel: kernel.as_deref(),
            kernel_name: kernel_name.clone(),
            producer: format!("tpc {}", env!("CARGO_PKG_VERSION")),
        },
    );
    report.diagnostics.extend(lowered.diagnostics);
    Ok(BuildOutcome {
        report,
        bundle: lowered.bundle,
        kernel: kernel_name,
    })
}

/// Whether `path` names a bundle (`*.tpcb`, or a file starting with the
/// bundle magic) rather than a policy file.
pub fn is_bundle_path(path: &std::path::Path) -> bool {
    if path.extension().is_some_and(|e| e == "tpcb") {
        return true;
    }
    if !path.is_file() {
        return false;
    }
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && tpc_bundle::looks_like_bundle(&head)
}

/// The policies a bundle carries, as the IR the lowering read (so `tpc
/// replay` and `tpc test` simulate exactly what `tpc run` loads). The
/// bundle's digest is checked; signatures are not (nothing runs).
pub fn policies_of_bundle(path: &std::path::Path) -> Result<Vec<crate::ir::Policy>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let verified = tpc_bundle::decode(&bytes, None)
        .map_err(|e| format!("bundle `{}` refused: {e}", path.display()))?;
    verified
        .bundle
        .policies
        .iter()
        .map(|unit| {
            serde_json::from_value(unit.ir.clone()).map_err(|e| {
                format!(
                    "bundle `{}`: policy {} carries no IR this tpc reads: {e}",
                    path.display(),
                    unit.name
                )
            })
        })
        .collect()
}
