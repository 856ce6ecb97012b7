//! The live kernel's tracepoint layouts, from tracefs: an event's id and the
//! offset, size and name of each field of its `format` file, in order
//! (common fields first), which is how policies index fields.
//!
//! The compiler has its own, fuller reader (a grammar, BTF fallbacks); the
//! runtime reads only what it needs to place fields, so that it does not
//! depend on the compiler.

use std::{fs, path::PathBuf};

/// One field of a tracepoint record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveField {
    pub name: String,
    /// The declaration without the name (`const char *`, `char[16]`).
    pub declaration: String,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
}

/// One event's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFormat {
    pub id: u32,
    pub fields: Vec<LiveField>,
}

/// Where tracefs is.
#[derive(Debug, Clone)]
pub struct Tracefs {
    events: PathBuf,
}

impl Tracefs {
    /// The running kernel's tracefs (mounted at /sys/kernel/tracing or under
    /// debugfs).
    pub fn running() -> Self {
        let candidates = [
            "/sys/kernel/tracing/events",
            "/sys/kernel/debug/tracing/events",
        ];
        let events = candidates
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_dir())
            .unwrap_or_else(|| PathBuf::from(candidates[0]));
        Tracefs { events }
    }

    /// An `events/` directory laid out like tracefs.
    pub fn at(events: PathBuf) -> Self {
        Tracefs { events }
    }

    /// A file at the top of tracefs (`available_filter_functions`), if it
    /// can be read.
    pub fn read_file(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.events.parent()?.join(name)).ok()
    }

    /// The layout of `subsystem/event`, or why it cannot be read.
    pub fn format(&self, subsystem: &str, event: &str) -> Result<LiveFormat, String> {
        if subsystem.contains('/') || event.contains('/') || subsystem == ".." || event == ".." {
            return Err(format!("`{subsystem}/{event}` is not a tracepoint name"));
        }
        let path = self.events.join(subsystem).join(event).join("format");
        let text = fs::read_to_string(&path).map_err(|e| {
            format!(
                "this kernel has no tracepoint {subsystem}/{event} ({}: {e})",
                path.display()
            )
        })?;
        parse_format(&text).ok_or_else(|| format!("cannot read {}", path.display()))
    }
}

/// Parses a tracefs `format` file.
pub fn parse_format(text: &str) -> Option<LiveFormat> {
    let mut id = None;
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("ID:") {
            id = rest.trim().parse().ok();
            continue;
        }
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let mut declaration = None;
        let mut offset = None;
        let mut size = None;
        let mut signed = false;
        for (i, part) in rest.split(';').enumerate() {
            let part = part.trim();
            if i == 0 {
                declaration = Some(part.to_owned());
            } else if let Some(v) = part.strip_prefix("offset:") {
                offset = v.parse().ok();
            } else if let Some(v) = part.strip_prefix("size:") {
                size = v.parse().ok();
            } else if let Some(v) = part.strip_prefix("signed:") {
                signed = v == "1";
            }
        }
        let declaration = declaration?;
        let (ty, name) = split_declaration(&declaration);
        fields.push(LiveField {
            name,
            declaration: ty,
            offset: offset?,
            size: size?,
            signed,
        });
    }
    Some(LiveFormat { id: id?, fields })
}

/// `const char * filename` → (`const char *`, `filename`); `char comm[16]`
/// → (`char[16]`, `comm`); `__data_loc char[] name` → (`__data_loc char[]`,
/// `name`).
fn split_declaration(declaration: &str) -> (String, String) {
    let (base, array) = match declaration.find('[') {
        Some(at) if !declaration[..at].ends_with(' ') && !declaration.contains("[] ") => {
            (&declaration[..at], &declaration[at..])
        }
        _ => (declaration, ""),
    };
    let base = base.trim();
    let split = base.rfind([' ', '*']).map_or(0, |at| at + 1);
    let name = base[split..].trim().to_owned();
    let ty = format!("{}{array}", base[..split].trim());
    (ty, name)
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat\nID: 782\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:char comm[16];\toffset:32;\tsize:16;\tsigned:0;\n\tfield:__data_loc char[] name;\toffset:48;\tsize:4;\tsigned:0;\n\nprint fmt: \"x\"\n";

    #[test]
    fn fields_in_order_with_names() {
        let format = parse_format(OPENAT).unwrap();
        assert_eq!(format.id, 782);
        let names: Vec<&str> = format.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "common_type",
                "common_flags",
                "common_preempt_count",
                "common_pid",
                "__syscall_nr",
                "dfd",
                "filename",
                "comm",
                "name"
            ]
        );
        assert_eq!(format.fields[6].declaration, "const char *");
        assert_eq!(format.fields[6].offset, 24);
        assert_eq!(format.fields[7].declaration, "char[16]");
        assert_eq!(format.fields[8].declaration, "__data_loc char[]");
        assert!(format.fields[4].signed);
    }

    #[test]
    fn the_running_kernel_has_sched_tracepoints() {
        let tracefs = Tracefs::running();
        if let Ok(format) = tracefs.format("sched", "sched_process_exec") {
            assert!(format.fields.iter().any(|f| f.name == "pid"));
        }
        assert!(tracefs.format("no_such", "event").is_err());
        assert!(tracefs.format("..", "x").is_err());
    }
}
