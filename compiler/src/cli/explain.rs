//! `tpc explain`: the documentation of a diagnostic code.

use super::exit;
use std::io::Write as _;
use tpc::diagnostics::Code;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A code (`TPC003`), its number (`3`) or its name (`unknown-field`);
    /// `rsp` for how RuntimeSecurityPolicy rules become hooks.
    #[arg(value_name = "CODE", required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code with its one-line summary.
    #[arg(long)]
    pub list: bool,
}

/// The documentation text of a code, without the doc-comment indentation.
pub fn documentation(code: Code) -> String {
    code.documentation()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Output goes through `writeln!` with errors ignored, not `println!`: a
/// reader that closes the pipe early (`tpc explain --list | head`) ends the
/// output, not the process with a panic.
pub fn run(args: &ExplainArgs) -> i32 {
    let mut out = std::io::stdout().lock();
    if args.list {
        for c in Code::ALL {
            let _ = writeln!(
                out,
                "{}  {:<26} {:<8} {}",
                c.as_str(),
                c.name(),
                c.default_severity().as_str(),
                c.summary()
            );
        }
        return exit::OK;
    }
    let Some(text) = &args.code else {
        return exit::USAGE;
    };
    if matches!(text.as_str(), "rsp" | "RuntimeSecurityPolicy" | "convert") {
        println!("{}", tpc::front::rsp::hooks::EXPLANATION);
        return exit::OK;
    }
    match Code::parse(text) {
        Some(c) => {
            let _ = writeln!(
                out,
                "{} ({}), default severity: {}\n",
                c.as_str(),
                c.name(),
                c.default_severity().as_str()
            );
            let _ = writeln!(out, "{}", documentation(c).trim_end());
            exit::OK
        }
        None => {
            eprintln!("tpc explain: error: unknown code `{text}` (see `tpc explain --list`)");
            exit::USAGE
        }
    }
}
