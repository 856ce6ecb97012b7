//! Flags uprobe targets that cannot be verified or do not exist on this
//! machine.
//!
//! What it does: for an absolute uprobe `path` (a relative one is TPC042,
//! from the kernel-independent checks): when the binary exists here, its ELF symbol tables (static and dynamic) are read with `object`
//! and every `symbols` entry (`name` or `name+offset`) must be among them,
//! with the closest name suggested; when the binary does not exist here, a
//! warning says the symbols were not checked (it may exist only on the
//! node). This is a host check: it runs once, not once per kernel.
//! Why: the uprobe fails to attach on a node whose binary lacks the symbol.
//! Example: `symbols: [readlin]` on `/bin/bash`.

use super::HostCheck;
use crate::diagnostics::{Code, Diagnostic, suggest};
use crate::ir::{HookTarget, Policy};
use crate::span::Spanned;
use object::{Object, ObjectSymbol};
use std::collections::BTreeSet;
use std::path::Path;

pub const CHECK: HostCheck = HostCheck {
    name: "uprobe_target",
    codes: &[Code::UprobeTarget],
    run,
};

fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for hook in &policy.hooks {
        let HookTarget::Uprobe { path, symbols, .. } = &hook.target else {
            continue;
        };
        // A relative path is reported by the kernel-independent hook
        // check (TPC042); there is nothing on this machine to look at.
        if !path.value.starts_with('/') {
            continue;
        }
        if symbols.is_empty() {
            continue;
        }
        match read_symbols(Path::new(&path.value)) {
            Ok(names) => check_symbols(path, symbols, &names, out),
            Err(BinaryProblem::Missing) => out.push(
                Diagnostic::warning(
                    Code::UprobeTarget,
                    format!(
                        "`{}` does not exist on this machine, so its symbols were not checked",
                        path.value
                    ),
                )
                .with_primary(path.span, "not found here")
                .with_note("the binary may exist only on the nodes the policy is deployed to"),
            ),
            Err(BinaryProblem::Unreadable(reason)) => out.push(
                Diagnostic::warning(
                    Code::UprobeTarget,
                    format!("cannot read the symbols of `{}`: {reason}", path.value),
                )
                .with_primary(path.span, "symbols not checked"),
            ),
        }
    }
}

enum BinaryProblem {
    Missing,
    Unreadable(String),
}

/// Every symbol name in the binary's static and dynamic symbol tables.
fn read_symbols(path: &Path) -> Result<BTreeSet<String>, BinaryProblem> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(BinaryProblem::Missing);
        }
        Err(error) => return Err(BinaryProblem::Unreadable(error.to_string())),
    };
    let file = object::File::parse(bytes.as_slice())
        .map_err(|error| BinaryProblem::Unreadable(format!("not an ELF file ({error})")))?;
    let names = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter_map(|symbol| symbol.name().ok().map(str::to_string))
        .filter(|name| !name.is_empty())
        .collect();
    Ok(names)
}

fn check_symbols(
    path: &Spanned<String>,
    symbols: &[Spanned<String>],
    names: &BTreeSet<String>,
    out: &mut Vec<Diagnostic>,
) {
    for symbol in symbols {
        // `name+offset` attaches at an offset into `name`.
        let name = symbol
            .value
            .split_once('+')
            .map_or(symbol.value.as_str(), |(name, _)| name)
            .trim();
        if names.contains(name) {
            continue;
        }
        let mut diagnostic = Diagnostic::warning(
            Code::UprobeTarget,
            format!("`{}` has no symbol `{name}`", path.value),
        )
        .with_primary(symbol.span, "not in the binary's symbol tables")
        .with_secondary(path.span, "in this binary")
        .with_note("checked against the binary on this machine; the node's binary may differ");
        if names.is_empty() {
            diagnostic = diagnostic.with_note("the binary has no symbol tables (it is stripped)");
        } else if let Some(close) = suggest::did_you_mean(name, names.iter().map(String::as_str)) {
            diagnostic = diagnostic.with_help(format!("did you mean `{close}`?"));
        }
        out.push(diagnostic);
    }
}
