//! Scratch: runs the frontend over files and prints short diagnostics.
fn main() {
    let mut map = tpc::span::SourceMap::new();
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let id = map.add(path.clone(), text.clone());
        let parsed = tpc::front::parse_policies(id, &text);
        let f = map.get(id).unwrap();
        for d in &parsed.diagnostics {
            let (l, c) = d.primary_span().map(|s| f.line_col(s.start)).unwrap_or((0, 0));
            println!("{path}:{l}:{c}: {}[{}]: {} | {}", d.severity.as_str(), d.code.as_str(), d.message, d.help.clone().unwrap_or_default());
        }
    }
}
