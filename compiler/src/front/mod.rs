//! The frontend: policy YAML → spanned YAML tree → schema validation → AST →
//! IR.

pub mod yaml;
