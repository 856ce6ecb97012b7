//! `tpc verify`: loads every program a bundle needs through the live
//! kernel's verifier, without attaching (root). Per program: loaded or the
//! verifier's reason with the end of its log, the instruction count, and
//! the policy lines it serves. Exit status 1 when one does not load or its
//! target is missing here.

use std::path::PathBuf;

use serde::Serialize;

use super::exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Bundles written by `tpc build`.
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct ProgramOut {
    /// `None`: a base sensor program, which every bundle needs.
    bundle: Option<String>,
    program: String,
    target: String,
    loaded: bool,
    /// Instructions the verifier processed.
    verified_instructions: Option<u32>,
    /// The program's size after translation, in instructions.
    instructions: Option<u32>,
    load_ms: f64,
    /// The verifier's reason and the end of its log, or a missing target.
    error: Option<String>,
    /// A missing target its hooks tell tpc run to leave out
    /// (`ignore: callNotFound`): not a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    /// `policy hooks[i] (file:line)` for each policy hook it serves.
    serves: Vec<String>,
}

pub fn run(args: &VerifyArgs) -> i32 {
    let mut verified = Vec::new();
    for path in &args.bundles {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("tpc verify: error: cannot read {}: {e}", path.display());
                return exit::USAGE;
            }
        };
        match tpc_bundle::decode(&bytes, None) {
            Ok(v) => verified.push(v),
            Err(e) => {
                eprintln!("tpc verify: error: {}: {e}", path.display());
                return exit::FINDINGS;
            }
        }
    }
    let bundles: Vec<&tpc_bundle::Bundle> = verified.iter().map(|v| &v.bundle).collect();
    let reports = match tpc_runtime::verify::verify_bundles(&bundles) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tpc verify: error: {}", tpc_runtime::error::chain(&e));
            return exit::FINDINGS;
        }
    };
    let mut out = Vec::new();
    for (index, report) in reports {
        let bundle = index.and_then(|i| bundles.get(i).copied());
        let serves = report
            .uses
            .iter()
            .map(|(policy, locator, place)| {
                let file = bundle
                    .and_then(|b| {
                        let p = b.policies.iter().find(|p| &p.name == policy)?;
                        b.sources.get(p.source as usize)
                    })
                    .map_or("?", |s| s.name.as_str());
                format!("{policy} {locator} ({file}:{})", place.line)
            })
            .collect();
        let (loaded, counts, mut error) = match &report.outcome {
            Ok(counts) => (true, Some(*counts), None),
            Err(reason) => (false, None, Some(reason.clone())),
        };
        let mut skipped = None;
        if let Some(problem) = &report.target_problem {
            if report.optional && loaded {
                skipped = Some(format!(
                    "{problem}: its hooks say `ignore: callNotFound`, so tpc run leaves them out"
                ));
            } else {
                error = Some(match error {
                    Some(e) => format!("{e}\n{problem}"),
                    None => problem.clone(),
                });
            }
        }
        out.push(ProgramOut {
            skipped,
            bundle: index
                .and_then(|i| args.bundles.get(i))
                .map(|p| p.display().to_string()),
            program: report.program,
            target: report.target,
            loaded,
            verified_instructions: counts.and_then(|c| c.0),
            instructions: counts.and_then(|c| c.1),
            load_ms: report.load_time.as_secs_f64() * 1000.0,
            error,
            serves,
        });
    }
    let failed = out.iter().filter(|p| p.error.is_some()).count();
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&out) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("tpc verify: error: {e}");
                return exit::USAGE;
            }
        },
        Format::Human => {
            for p in &out {
                let count = |c: Option<u32>| c.map_or_else(|| "?".to_owned(), |n| n.to_string());
                if p.loaded {
                    println!(
                        "ok      {} → {}: {} instructions, {} verified, {:.1} ms",
                        p.program,
                        p.target,
                        count(p.instructions),
                        count(p.verified_instructions),
                        p.load_ms
                    );
                } else {
                    println!("FAILED  {} → {}", p.program, p.target);
                }
                if let Some(skipped) = &p.skipped {
                    println!("          skipped at run time: {skipped}");
                }
                if let Some(error) = &p.error {
                    for line in error.lines() {
                        println!("          {line}");
                    }
                }
                if p.serves.is_empty() {
                    println!("          the base sensor (every bundle)");
                }
                for s in &p.serves {
                    println!("          serves {s}");
                }
            }
            println!(
                "tpc verify: {} programs, {} loaded{}",
                out.len(),
                out.iter().filter(|p| p.loaded).count(),
                if failed > 0 {
                    format!(", {failed} with problems")
                } else {
                    String::new()
                }
            );
        }
    }
    if failed > 0 { exit::FINDINGS } else { exit::OK }
}
