//! "Did you mean" suggestions: the closest candidate by edit distance.

/// Optimal-string-alignment edit distance (insertions, deletions,
/// substitutions and transpositions of adjacent characters), counted on
/// characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    if n == 0 {
        return m;
    }
    if m == 0 {
        return n;
    }
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

/// The candidate closest to `word`, if it is close enough to be a plausible
/// typo. A candidate equal to `word` ignoring ASCII case always wins.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        if cand == word {
            continue;
        }
        let cl = cand.to_ascii_lowercase();
        if cl == lower {
            return Some(cand);
        }
        let d = edit_distance(&lower, &cl);
        // A prefix or suffix typo (`matchArg` for `matchArgs`) is close whatever
        // its length; otherwise allow roughly one edit per three characters.
        let limit = (word.chars().count().max(cand.chars().count()) / 3).max(1);
        let affix = cl.starts_with(&lower) || lower.starts_with(&cl);
        if (d <= limit || (affix && d <= 3)) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggestions() {
        let ops = ["Equal", "NotEqual", "Prefix", "Postfix", "DPort"];
        assert_eq!(did_you_mean("Equals", ops), Some("Equal"));
        assert_eq!(did_you_mean("equal", ops), Some("Equal"));
        assert_eq!(did_you_mean("Dport", ops), Some("DPort"));
        assert_eq!(did_you_mean("Whatever", ops), None);
        let keys = ["matchArgs", "matchActions", "matchBinaries"];
        assert_eq!(did_you_mean("matchArg", keys), Some("matchArgs"));
        assert_eq!(did_you_mean("matchBinary", keys), Some("matchBinaries"));
    }
}
