//! The frontend: policy YAML → spanned YAML tree → schema validation → AST →
//! IR.

pub mod schema;
pub mod validate;
pub mod yaml;
