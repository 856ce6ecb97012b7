//! The `RuntimeSecurityPolicy` schema as data, walked by the same validator
//! as the TracingPolicy CRDs: unknown and misplaced keys, types, enums with
//! "did you mean", required keys and duplicates are reported on the exact
//! key or value.

use crate::front::schema::{
    EnumSpec, LABEL_SELECTOR, METADATA, ObjectSchema, Shape, f, list, req, req_default,
};

pub static KIND: &str = "RuntimeSecurityPolicy";
/// The short name `kubectl` knows the kind by.
pub static SHORT_NAME: &str = "rsp";

pub static RULE_TYPES: EnumSpec = EnumSpec {
    what: "rule type",
    values: &["Execution", "File", "Network"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static RULE_ACTIONS: EnumSpec = EnumSpec {
    what: "rule action",
    values: &["Audit", "Block"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static PATH_PATTERNS: EnumSpec = EnumSpec {
    what: "path pattern",
    values: &["Full", "Prefix", "Postfix"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static PATH_OPERATORS: EnumSpec = EnumSpec {
    what: "path operator",
    values: &["In", "NotIn"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static FILE_OPERATIONS: EnumSpec = EnumSpec {
    what: "file operation",
    values: &[
        "read", "write", "create", "delete", "rename", "chmod", "chown",
    ],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static NETWORK_OPERATIONS: EnumSpec = EnumSpec {
    what: "network operation",
    values: &["connect", "listen", "accept"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static PROTOCOLS: EnumSpec = EnumSpec {
    what: "protocol",
    values: &["TCP", "UDP"],
    agent_ignores_case: false,
    agent_extra: &[],
};

pub static MATCH_PATH: ObjectSchema = ObjectSchema {
    what: "path match",
    place: "spec.selectors.executableSelector.matchPaths[]",
    fields: &[
        req_default("operator", Shape::Enum(&PATH_OPERATORS), "In"),
        req_default("pattern", Shape::Enum(&PATH_PATTERNS), "Full"),
        req("values", list(&Shape::Str)),
    ],
};

pub static EXECUTABLE_SELECTOR: ObjectSchema = ObjectSchema {
    what: "executable selector",
    place: "spec.selectors.executableSelector",
    fields: &[f("matchPaths", list(&Shape::Object(&MATCH_PATH)))],
};

pub static SELECTORS: ObjectSchema = ObjectSchema {
    what: "rule selectors",
    place: "spec.selectors",
    fields: &[
        f("executableSelector", Shape::Object(&EXECUTABLE_SELECTOR)),
        f("podSelector", Shape::Object(&LABEL_SELECTOR)),
    ],
};

pub static FILE_RULE: ObjectSchema = ObjectSchema {
    what: "file rule",
    place: "spec.rules[].file",
    fields: &[
        req("operations", list(&Shape::Enum(&FILE_OPERATIONS))),
        f("paths", list(&Shape::Str)),
        f("prefixes", list(&Shape::Str)),
    ],
};

pub static NETWORK_RULE: ObjectSchema = ObjectSchema {
    what: "network rule",
    place: "spec.rules[].network",
    fields: &[
        f("cidrs", list(&Shape::Str)),
        req("operations", list(&Shape::Enum(&NETWORK_OPERATIONS))),
        f("ports", list(&Shape::Scalar)),
        f("protocol", Shape::Enum(&PROTOCOLS)),
    ],
};

pub static RULE: ObjectSchema = ObjectSchema {
    what: "rule",
    place: "spec.rules[]",
    fields: &[
        req("action", Shape::Enum(&RULE_ACTIONS)),
        f("file", Shape::Object(&FILE_RULE)),
        f("network", Shape::Object(&NETWORK_RULE)),
        req("type", Shape::Enum(&RULE_TYPES)),
    ],
};

pub static SPEC: ObjectSchema = ObjectSchema {
    what: "runtime security policy spec",
    place: "spec",
    fields: &[
        req("rules", list(&Shape::Object(&RULE))),
        f("selectors", Shape::Object(&SELECTORS)),
    ],
};

pub static DOCUMENT: ObjectSchema = ObjectSchema {
    what: "policy document",
    place: "the document root",
    fields: &[
        req("apiVersion", Shape::Str),
        req("kind", Shape::Str),
        req("metadata", Shape::Object(&METADATA)),
        req("spec", Shape::Object(&SPEC)),
    ],
};
