//! Property tests: arbitrary edits of valid policies never panic the
//! frontend or the checks, and every diagnostic carries a span inside the
//! input (on character boundaries) — so every rejection points somewhere real.

mod common;

use proptest::prelude::*;
use std::sync::OnceLock;

/// Valid policies to mutate: Tetragon's examples and tpc's own ok fixtures.
fn seeds() -> &'static Vec<String> {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut files = common::yaml_files(&common::shared_dir().join("corpus/tetragon"));
        let ok = common::repo_root().join("fixtures/policies/ok");
        if ok.exists() {
            files.extend(common::yaml_files(&ok));
        }
        let texts: Vec<String> = files
            .iter()
            .filter(|p| !p.to_string_lossy().contains("/specs/"))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect();
        assert!(texts.len() > 20, "too few seed policies");
        texts
    })
}

/// Fragments an edit may insert: YAML syntax, policy keys and values.
const FRAGMENTS: &[&str] = &[
    "\n",
    " ",
    "  ",
    "- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "&a ",
    "*a",
    "!!str ",
    "#",
    "---\n",
    "|\n",
    ">\n",
    "index: ",
    "type: ",
    "operator: ",
    "values: ",
    "matchArgs:",
    "matchActions:",
    "selectors:",
    "args:",
    "action: Override",
    "action: Sigkill",
    "call: ",
    "list:",
    "syscall: ",
    "return: true",
    "returnArg:",
    "matchBinaries:",
    "matchPIDs:",
    "followForks: true",
    "matchNamespaces:",
    "namespace: Pid",
    "host_ns",
    "InMap",
    "DPort",
    "Prefix",
    "NotEqual",
    "GT",
    "CAP_SYS_ADMIN",
    "0x",
    "-1",
    "99999999999999999999",
    "10.0.0.0/8",
    "1:5",
    "\u{e9}",
    "\u{1f600}",
    "\t",
    "~",
    "null",
    "true",
    "macros: [m]",
    "selectorsMacros:",
    "kprobes:",
    "tracepoints:",
    "lsmhooks:",
    "uprobes:",
    "usdts:",
    "lists:",
    "TracingPolicyNamespaced",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, fragment: usize },
    DuplicateLine { line: usize },
    RemoveLine { line: usize },
    SwapLines { a: usize, b: usize },
    Indent { line: usize, by: i8 },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 0..FRAGMENTS.len())
            .prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
        any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
        any::<usize>().prop_map(|line| Edit::RemoveLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
        (any::<usize>(), -4i8..4).prop_map(|(line, by)| Edit::Indent { line, by }),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match edit {
        Edit::Delete { at, len } => {
            let start = floor_boundary(text, at % (text.len() + 1));
            let end = floor_boundary(text, start + len);
            return format!("{}{}", &text[..start], &text[end..]);
        }
        Edit::Insert { at, fragment } => {
            let i = floor_boundary(text, at % (text.len() + 1));
            return format!("{}{}{}", &text[..i], FRAGMENTS[*fragment], &text[i..]);
        }
        Edit::DuplicateLine { line } => {
            if let Some(l) = lines.get(line % n).cloned() {
                lines.insert(line % n, l);
            }
        }
        Edit::RemoveLine { line } => {
            if line % n < lines.len() {
                lines.remove(line % n);
            }
        }
        Edit::SwapLines { a, b } => {
            if !lines.is_empty() {
                let len = lines.len();
                lines.swap(a % len, b % len);
            }
        }
        Edit::Indent { line, by } => {
            if let Some(l) = lines.get_mut(line % n) {
                if *by >= 0 {
                    *l = format!("{}{l}", " ".repeat(*by as usize));
                } else {
                    let strip = l
                        .chars()
                        .take_while(|c| *c == ' ')
                        .count()
                        .min(by.unsigned_abs() as usize);
                    *l = l[strip..].to_string();
                }
            }
        }
    }
    lines.join("\n")
}

fn assert_spans_inside(text: &str) -> Result<(), TestCaseError> {
    let report = tpc::driver::check_sources(vec![("mutant.yaml".into(), text.to_string())]);
    for d in &report.diagnostics {
        prop_assert!(
            !d.labels.is_empty(),
            "{} without a label: {}",
            d.code.as_str(),
            d.message
        );
        for label in &d.labels {
            let s = label.span;
            prop_assert_eq!(s.file.0, 0);
            prop_assert!(
                s.start <= s.end && (s.end as usize) <= text.len(),
                "{} span {:?} outside {} bytes",
                d.code.as_str(),
                s,
                text.len()
            );
            prop_assert!(
                text.is_char_boundary(s.start as usize) && text.is_char_boundary(s.end as usize),
                "span {:?} splits a character",
                s
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn edits_never_panic_and_spans_stay_inside(seed in any::<prop::sample::Index>(), edits in prop::collection::vec(edit_strategy(), 1..6)) {
        let seeds = seeds();
        let mut text = seeds[seed.index(seeds.len())].clone();
        for e in &edits {
            text = apply(&text, e);
        }
        assert_spans_inside(&text)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        assert_spans_inside(&text)?;
    }
}

#[test]
fn valid_seeds_have_labelled_diagnostics_only() {
    for text in seeds() {
        assert_spans_inside(text).expect("seed diagnostics are labelled");
    }
}
