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
    let options = CheckOptions {
        kernels: request.clone(),
        host_checks: false,
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
