//! The frontend's schema (`tpc::front::schema`) must describe exactly the
//! CRDs in `../shared/corpus/crd/`: every property with the same type, enum
//! values, required keys and item limits, in both directions. The CRD files
//! are read with tpc's own spanned YAML parser.

mod common;

use tpc::front::schema::{self, ObjectSchema, Shape};
use tpc::front::yaml::{self, Node};

fn crd_files() -> Vec<std::path::PathBuf> {
    let dir = common::shared_dir().join("corpus/crd");
    let files = common::yaml_files(&dir);
    assert!(files.len() >= 2, "CRDs missing under {}", dir.display());
    files
}

fn text<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Node::scalar_text)
}

fn compare_object(crd: &Node, ours: &'static ObjectSchema, path: &str, problems: &mut Vec<String>) {
    let props = crd.get("properties").and_then(Node::as_map).unwrap_or(&[]);
    for entry in props {
        let name = entry.key.scalar_text().unwrap_or("");
        let here = format!("{path}.{name}");
        match ours.field(name) {
            None => problems.push(format!("{here}: in the CRD, missing from tpc's schema")),
            Some(field) => compare_shape(&entry.value, &field.shape, &here, problems),
        }
    }
    for field in ours.fields {
        if !props
            .iter()
            .any(|e| e.key.scalar_text() == Some(field.name))
        {
            problems.push(format!(
                "{path}.{}: in tpc's schema, not in the CRD",
                field.name
            ));
        }
    }
    let required: Vec<&str> = crd
        .get("required")
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::scalar_text)
        .collect();
    for field in ours.fields {
        if field.required != required.contains(&field.name) {
            problems.push(format!(
                "{path}.{}: required is {} in tpc, {} in the CRD",
                field.name,
                field.required,
                required.contains(&field.name)
            ));
        }
    }
}

fn compare_shape(crd: &Node, ours: &'static Shape, path: &str, problems: &mut Vec<String>) {
    let ty = text(crd, "type").unwrap_or("");
    match (ty, ours) {
        ("string", Shape::Str) => {
            if crd.get("enum").is_some() {
                problems.push(format!("{path}: the CRD has an enum, tpc reads free text"));
            }
        }
        ("string", Shape::Enum(spec)) => {
            let values: Vec<&str> = crd
                .get("enum")
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(Node::scalar_text)
                .collect();
            if values != spec.values {
                problems.push(format!(
                    "{path}: enum differs: CRD {values:?}, tpc {:?}",
                    spec.values
                ));
            }
        }
        ("integer", Shape::Int { min, bits }) => {
            let format = text(crd, "format").unwrap_or("int64");
            let crd_bits = if format == "int32" { 32 } else { 64 };
            if crd_bits != *bits {
                problems.push(format!(
                    "{path}: integer width {crd_bits} in the CRD, {bits} in tpc"
                ));
            }
            let crd_min = text(crd, "minimum").and_then(|m| m.parse::<i64>().ok());
            if crd_min != *min {
                problems.push(format!(
                    "{path}: minimum {crd_min:?} in the CRD, {min:?} in tpc"
                ));
            }
        }
        ("boolean", Shape::Bool) => {}
        ("array", Shape::List { item, max_items }) => {
            let crd_max = text(crd, "maxItems").and_then(|m| m.parse::<usize>().ok());
            if crd_max != *max_items {
                problems.push(format!(
                    "{path}: maxItems {crd_max:?} in the CRD, {max_items:?} in tpc"
                ));
            }
            match crd.get("items") {
                Some(items) => compare_shape(items, item, &format!("{path}[]"), problems),
                None => problems.push(format!("{path}: array without items")),
            }
        }
        ("object", Shape::Object(obj)) => compare_object(crd, obj, path, problems),
        ("object", Shape::StringMap) => {
            let inner = crd.get("additionalProperties");
            if inner.and_then(|i| text(i, "type")) != Some("string") {
                problems.push(format!("{path}: expected a map of strings in the CRD"));
            }
        }
        ("object", Shape::NamedMap(inner)) => match crd.get("additionalProperties") {
            Some(ap) => compare_shape(ap, inner, &format!("{path}.<name>"), problems),
            None => problems.push(format!("{path}: expected additionalProperties in the CRD")),
        },
        // `additionalProperties` entries in the CRD have no `type` when they are objects.
        ("", Shape::Object(obj)) if crd.get("properties").is_some() => {
            compare_object(crd, obj, path, problems)
        }
        _ => problems.push(format!(
            "{path}: CRD type `{ty}` does not match tpc's {ours:?}"
        )),
    }
}

#[test]
fn schema_matches_every_crd_field() {
    for file in crd_files() {
        let text = std::fs::read_to_string(&file).expect("CRD readable");
        let docs = yaml::parse(tpc::span::FileId(0), &text).expect("CRD is valid YAML");
        let root = docs[0].root.as_ref().expect("CRD document");
        let kind = root
            .get("spec")
            .and_then(|s| s.get("names"))
            .and_then(|n| text_of(n, "kind"));
        assert!(
            matches!(
                kind.as_deref(),
                Some("TracingPolicy" | "TracingPolicyNamespaced")
            ),
            "{}: unexpected kind {kind:?}",
            file.display()
        );
        let version = root
            .get("spec")
            .and_then(|s| s.get("versions"))
            .and_then(Node::as_seq)
            .and_then(|v| v.first())
            .expect("a version");
        assert_eq!(text_of(version, "name").as_deref(), Some("v1alpha1"));
        let spec = version
            .get("schema")
            .and_then(|s| s.get("openAPIV3Schema"))
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get("spec"))
            .expect("spec schema");
        let mut problems = Vec::new();
        compare_object(spec, &schema::SPEC, "spec", &mut problems);
        assert!(
            problems.is_empty(),
            "{}:\n{}",
            file.display(),
            problems.join("\n")
        );
    }
}

fn text_of(node: &Node, key: &str) -> Option<String> {
    text(node, key).map(str::to_string)
}
