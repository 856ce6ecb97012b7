//! Template bindings (CFP-4191 option 1): which binding of a template
//! applies to which workload, with the CFP's conflict rules. Shared by the
//! compiler (`tpc check`/`tpc build` decide on names) and the runtime
//! (`tpc run` decides on the cgroups it resolved), so both apply the same
//! rules.
//!
//! Two bindings of one template *overlap* when some process is in the
//! workload of both: the same cgroup, one cgroup inside the other (scoping
//! covers descendants), a binding without any selector (every process), or
//! the same Kubernetes selectors. Overlapping bindings conflict unless both
//! allow an override and their priorities differ; then the higher
//! `overridePriority` takes the shared workload from the lower. A conflict
//! rolls back every binding involved.
//!
//! tpc's kernel tables scope a policy to a cgroup *and its descendants*, so
//! a winner can take a loser's cgroup only when the winner's cgroup is that
//! cgroup or encloses it. A winner inside the loser's cgroup (a narrower
//! binding overriding a wider one) is refused ([`Overlap::Unsupported`]).

use serde::{Deserialize, Serialize};

/// What a policy built from a binding carries about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingUnit {
    /// `spec.templateRef.name`.
    pub template: String,
    /// `spec.overrideAllowed`.
    pub override_allowed: bool,
    /// `spec.overridePriority` (ignored without `override_allowed`).
    pub override_priority: i64,
}

/// The processes a binding selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    /// No selector at all: every process.
    Everywhere,
    /// cgroup v2 paths relative to the cgroup mount (see
    /// [`normalize_cgroup`]), descendants included.
    Cgroups(Vec<String>),
    /// Kubernetes pod/container selectors, in a canonical text: two
    /// bindings overlap when the texts are equal (whether different
    /// selectors select common pods is only known in a cluster).
    Selectors(String),
}

/// `/system.slice//nginx.service/` → `system.slice/nginx.service`; the
/// cgroup root is the empty path.
pub fn normalize_cgroup(path: &str) -> String {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether cgroup `outer` is `inner` or one of its ancestors (both
/// normalized).
pub fn encloses(outer: &str, inner: &str) -> bool {
    outer.is_empty()
        || outer == inner
        || (inner.len() > outer.len()
            && inner.starts_with(outer)
            && inner.as_bytes().get(outer.len()) == Some(&b'/'))
}

/// One binding as the rules see it.
#[derive(Clone, Debug)]
pub struct Claim<'a> {
    pub name: &'a str,
    pub binding: &'a BindingUnit,
    pub workload: &'a Workload,
}

/// How two bindings of one template relate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// No process is in both workloads (or they bind different templates).
    Disjoint,
    /// Both apply to some process and no override decides: both roll back.
    Conflict { reason: String },
    /// `winner` (0: the first claim, 1: the second) takes the cgroups
    /// listed of the other's workload (its own paths, as the loser wrote
    /// them normalized; the root path `""` for an everywhere loser).
    Override { winner: usize, taken: Vec<String> },
    /// An override tpc's tables cannot express: the winner is narrower
    /// than the loser.
    Unsupported { reason: String },
}

/// The cgroup paths of a workload (`""`: everywhere).
fn paths(workload: &Workload) -> Option<Vec<String>> {
    match workload {
        Workload::Everywhere => Some(vec![String::new()]),
        Workload::Cgroups(paths) => Some(paths.iter().map(|p| normalize_cgroup(p)).collect()),
        Workload::Selectors(_) => None,
    }
}

/// Whether two workloads share a process, and where: pairs of
/// (path of `a`, path of `b`) that are equal or nested.
fn shared(a: &Workload, b: &Workload) -> Option<Vec<(String, String)>> {
    match (a, b) {
        (Workload::Selectors(x), Workload::Selectors(y)) => {
            (x == y).then(|| vec![(x.clone(), y.clone())])
        }
        (Workload::Selectors(x), Workload::Everywhere) => Some(vec![(x.clone(), String::new())]),
        (Workload::Everywhere, Workload::Selectors(y)) => Some(vec![(String::new(), y.clone())]),
        // A cgroup path and Kubernetes selectors: on a plain host the
        // selectors select nothing; in a cluster tpc does not know.
        (Workload::Selectors(_), _) | (_, Workload::Selectors(_)) => None,
        _ => {
            let (pa, pb) = (paths(a)?, paths(b)?);
            let pairs: Vec<(String, String)> = pa
                .iter()
                .flat_map(|x| pb.iter().map(move |y| (x.clone(), y.clone())))
                .filter(|(x, y)| encloses(x, y) || encloses(y, x))
                .collect();
            (!pairs.is_empty()).then_some(pairs)
        }
    }
}

fn describe(path: &str) -> String {
    if path.is_empty() {
        "every process".to_owned()
    } else if path.contains('=') || path.contains(':') {
        format!("the workloads of {path}")
    } else {
        format!("cgroup {path}")
    }
}

/// The CFP's rules on two bindings.
pub fn overlap(a: &Claim<'_>, b: &Claim<'_>) -> Overlap {
    if a.binding.template != b.binding.template {
        return Overlap::Disjoint;
    }
    let Some(pairs) = shared(a.workload, b.workload) else {
        return Overlap::Disjoint;
    };
    let place = pairs
        .first()
        .map(|(x, y)| if x.len() >= y.len() { x } else { y })
        .map_or_else(String::new, |p| describe(p));
    let both_allow = a.binding.override_allowed && b.binding.override_allowed;
    if !both_allow {
        let refusing: Vec<&str> = [a, b]
            .iter()
            .filter(|c| !c.binding.override_allowed)
            .map(|c| c.name)
            .collect();
        return Overlap::Conflict {
            reason: format!(
                "bindings {} and {} of template {} both apply to {place}, and {}",
                a.name,
                b.name,
                a.binding.template,
                match refusing.as_slice() {
                    [one] => format!("{one} does not allow an override"),
                    _ => "neither allows an override".to_owned(),
                }
            ),
        };
    }
    let (pa, pb) = (a.binding.override_priority, b.binding.override_priority);
    if pa == pb {
        return Overlap::Conflict {
            reason: format!(
                "bindings {} and {} of template {} both apply to {place} with the same overridePriority {pa}",
                a.name, b.name, a.binding.template
            ),
        };
    }
    let winner = usize::from(pb > pa);
    let (win, lose) = if winner == 0 { (a, b) } else { (b, a) };
    let mut taken = Vec::new();
    for (x, y) in pairs {
        let (w, l) = if winner == 0 { (x, y) } else { (y, x) };
        let selectors = matches!(win.workload, Workload::Selectors(_))
            || matches!(lose.workload, Workload::Selectors(_));
        if selectors || encloses(&w, &l) {
            if !taken.contains(&l) {
                taken.push(l);
            }
        } else {
            return Overlap::Unsupported {
                reason: format!(
                    "binding {} (overridePriority {}) would override {} inside {}, which {} covers: tpc scopes a binding to a cgroup and all its descendants, so a narrower binding cannot take part of a wider one's workload; scope the lower-priority binding to sibling cgroups",
                    win.name,
                    win.binding.override_priority,
                    describe(&w),
                    describe(&l),
                    lose.name
                ),
            };
        }
    }
    Overlap::Override { winner, taken }
}

/// The outcome of the rules on a set of bindings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Bindings rolled back (indexes into the claims), with why.
    pub rolled_back: Vec<(usize, String)>,
    /// Refused overrides: (winner, loser, why); both are refused.
    pub unsupported: Vec<(usize, usize, String)>,
    /// (loser, winner, loser's normalized path taken).
    pub taken: Vec<(usize, usize, String)>,
}

/// Applies the rules to every pair of `claims`.
pub fn resolve(claims: &[Claim<'_>]) -> Resolution {
    let mut out = Resolution::default();
    for i in 0..claims.len() {
        for j in i + 1..claims.len() {
            match overlap(&claims[i], &claims[j]) {
                Overlap::Disjoint => {}
                Overlap::Conflict { reason } => {
                    for k in [i, j] {
                        if !out.rolled_back.iter().any(|(r, _)| *r == k) {
                            out.rolled_back.push((k, reason.clone()));
                        }
                    }
                }
                Overlap::Override { winner, taken } => {
                    let (w, l) = if winner == 0 { (i, j) } else { (j, i) };
                    for path in taken {
                        out.taken.push((l, w, path));
                    }
                }
                Overlap::Unsupported { reason } => out.unsupported.push((i, j, reason)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(allow: bool, priority: i64) -> BindingUnit {
        BindingUnit {
            template: "t".into(),
            override_allowed: allow,
            override_priority: priority,
        }
    }

    fn cg(paths: &[&str]) -> Workload {
        Workload::Cgroups(paths.iter().map(|p| (*p).to_owned()).collect())
    }

    #[test]
    fn paths_nest_on_components() {
        assert!(encloses("a", "a/b"));
        assert!(encloses("", "a"));
        assert!(encloses("a/b", "a/b"));
        assert!(!encloses("a/b", "a/bc"));
        assert!(!encloses("a/b", "a"));
        assert_eq!(normalize_cgroup("/a//b/"), "a/b");
    }

    #[test]
    fn rules_of_the_cfp() {
        let (no, yes_low, yes_high) = (unit(false, 0), unit(true, 1), unit(true, 5));
        let (w1, w2, root, inner) = (cg(&["w1"]), cg(&["w2"]), cg(&["/"]), cg(&["w1/x"]));
        let claim = |name, binding, workload| Claim {
            name,
            binding,
            workload,
        };
        // different cgroups: no conflict
        let a = claim("a", &no, &w1);
        let b = claim("b", &no, &w2);
        assert_eq!(overlap(&a, &b), Overlap::Disjoint);
        // the same cgroup without override: both roll back
        let b = claim("b", &no, &w1);
        assert!(matches!(overlap(&a, &b), Overlap::Conflict { .. }));
        // one allows, the other does not: still a conflict
        let b = claim("b", &yes_high, &w1);
        assert!(matches!(overlap(&a, &b), Overlap::Conflict { .. }));
        // both allow: the higher priority takes the cgroup
        let a = claim("a", &yes_low, &w1);
        assert_eq!(
            overlap(&a, &b),
            Overlap::Override {
                winner: 1,
                taken: vec!["w1".into()]
            }
        );
        // a wider winner takes a nested loser's cgroup
        let a = claim("a", &yes_high, &root);
        let b = claim("b", &yes_low, &inner);
        assert_eq!(
            overlap(&a, &b),
            Overlap::Override {
                winner: 0,
                taken: vec!["w1/x".into()]
            }
        );
        // a narrower winner is refused
        let a = claim("a", &yes_low, &w1);
        let b = claim("b", &yes_high, &inner);
        assert!(matches!(overlap(&a, &b), Overlap::Unsupported { .. }));
        // equal priorities conflict
        let a = claim("a", &yes_low, &w1);
        let b = claim("b", &yes_low, &w1);
        assert!(matches!(overlap(&a, &b), Overlap::Conflict { .. }));
        let r = resolve(&[a, b, claim("c", &no, &w2)]);
        assert_eq!(r.rolled_back.len(), 2);
    }
}
