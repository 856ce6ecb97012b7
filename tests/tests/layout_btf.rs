//! The map layouts the compiler writes (`tpc_bundle::layout::LAYOUTS`) are
//! the C structs the programs read: every struct's size and every field's
//! offset and size, compared with the BTF of the object the runtime
//! embeds (dumped by `bpftool btf dump file`). Needs no root.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

#[expect(
    dead_code,
    reason = "each kernel test file uses a subset of the helpers"
)]
mod runtime_support;

use std::{collections::HashMap, process::Command};

use runtime_support::{ScratchDir, in_ci};
use serde_json::Value;

struct Types {
    by_id: HashMap<u64, Value>,
}

impl Types {
    /// Size in bytes of type `id`, through typedefs, qualifiers and arrays.
    fn size(&self, id: u64) -> Option<u64> {
        let t = self.by_id.get(&id)?;
        match t["kind"].as_str()? {
            "INT" | "STRUCT" | "UNION" | "ENUM" | "ENUM64" => t["size"].as_u64(),
            "PTR" => Some(8),
            "ARRAY" => Some(t["nr_elems"].as_u64()? * self.size(t["type_id"].as_u64()?)?),
            "TYPEDEF" | "CONST" | "VOLATILE" | "RESTRICT" | "TYPE_TAG" => {
                self.size(t["type_id"].as_u64()?)
            }
            _ => None,
        }
    }
}

#[test]
fn lowered_layouts_match_the_programs_structs() {
    let Some(object) = tpc_runtime::objects::sensor() else {
        assert!(
            !in_ci(),
            "tpc-runtime was built without BPF programs; CI=true, so this is a failure"
        );
        eprintln!("skipping: tpc-runtime was built without BPF programs");
        return;
    };
    let scratch = ScratchDir::new("layout");
    let path = scratch.path.join("tpc.bpf.o");
    std::fs::write(&path, object).unwrap();
    let output = match Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(&path)
        .arg("-j")
        .output()
    {
        Ok(output) => output,
        Err(error) => {
            assert!(
                !in_ci(),
                "bpftool is missing ({error}); CI=true, so this is a failure"
            );
            eprintln!("skipping: no bpftool ({error})");
            return;
        }
    };
    assert!(
        output.status.success(),
        "bpftool: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dump: Value = serde_json::from_slice(&output.stdout).unwrap();
    let all = dump["types"].as_array().unwrap();
    let types = Types {
        by_id: all
            .iter()
            .map(|t| (t["id"].as_u64().unwrap(), t.clone()))
            .collect(),
    };
    let mut problems = Vec::new();
    for layout in tpc_bundle::layout::LAYOUTS {
        let Some(st) = all
            .iter()
            .find(|t| t["kind"] == "STRUCT" && t["name"] == layout.name)
        else {
            problems.push(format!("struct {} is not in the object's BTF", layout.name));
            continue;
        };
        let size = st["size"].as_u64().unwrap();
        if size != layout.size as u64 {
            problems.push(format!(
                "struct {}: {size} bytes in C, {} in the layout",
                layout.name, layout.size
            ));
        }
        let members = st["members"].as_array().unwrap();
        for (field, offset, bytes) in layout.fields {
            let Some(member) = members.iter().find(|m| m["name"] == *field) else {
                problems.push(format!("struct {}: no field {field} in C", layout.name));
                continue;
            };
            let bits = member["bits_offset"].as_u64().unwrap();
            let c_size = types.size(member["type_id"].as_u64().unwrap());
            if bits != (*offset as u64) * 8 || c_size != Some(*bytes as u64) {
                problems.push(format!(
                    "{}.{field}: offset {} size {c_size:?} in C, offset {offset} size {bytes} in the layout",
                    layout.name,
                    bits / 8
                ));
            }
        }
        // every C field is described (padding aside: the encoders zero the
        // whole struct), so none is left unwritten by accident
        for member in members {
            let name = member["name"].as_str().unwrap_or_default();
            let padding =
                name.is_empty() || name.starts_with("reserved") || name.starts_with("pad");
            if !padding && !layout.fields.iter().any(|(f, _, _)| *f == name) {
                problems.push(format!(
                    "{}.{name} is in C but not in the layout",
                    layout.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layouts differ:\n{}",
        problems.join("\n")
    );
}
