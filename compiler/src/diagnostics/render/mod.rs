//! Renderers: human (miette), JSON and SARIF 2.1.0.
