//! The Tetragon releases whose loading rules tpc knows (`tpc check
//! --tetragon VERSION`). Most rules hold in every release; the few that
//! changed are checked per release by `check::versioned`, and their
//! findings say since when they hold ("refused since 1.7; accepted by 1.6
//! and earlier"). Sources of each rule: `docs/tetragon-semantics.md`,
//! "Rules that depend on the Tetragon version".

use std::fmt;

/// A Tetragon release line (the patch releases of one line load policies
/// alike), or the development branch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TetragonVersion {
    /// v1.5.x (July 2025).
    V1_5,
    /// v1.6.x (October 2025; 1.6.1 March 2026).
    V1_6,
    /// v1.7.x (April 2026), the latest release.
    #[default]
    V1_7,
    /// The `main` branch (after 1.7).
    Main,
}

impl TetragonVersion {
    /// Every version tpc knows, oldest first.
    pub const ALL: [TetragonVersion; 4] = [
        TetragonVersion::V1_5,
        TetragonVersion::V1_6,
        TetragonVersion::V1_7,
        TetragonVersion::Main,
    ];

    /// The latest release: what `tpc check` applies by default.
    pub const LATEST_RELEASE: TetragonVersion = TetragonVersion::V1_7;

    /// `1.7`, or `main`.
    pub fn name(self) -> &'static str {
        match self {
            TetragonVersion::V1_5 => "1.5",
            TetragonVersion::V1_6 => "1.6",
            TetragonVersion::V1_7 => "1.7",
            TetragonVersion::Main => "main",
        }
    }

    /// Reads `1.7`, `v1.7`, `1.7.0`, `v1.6.1`, `main` (and `latest`).
    pub fn parse(text: &str) -> Result<TetragonVersion, UnknownVersion> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("main") {
            return Ok(TetragonVersion::Main);
        }
        if t.eq_ignore_ascii_case("latest") {
            return Ok(TetragonVersion::LATEST_RELEASE);
        }
        let t = t.strip_prefix('v').unwrap_or(t);
        // A pre-release (`1.7.0-rc.1`) loads as its release line does.
        let t = t.split_once('-').map_or(t, |(release, _)| release);
        let mut parts = t.split('.');
        let major = parts.next().and_then(|p| p.parse::<u32>().ok());
        let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
        let patch_ok = parts.next().is_none_or(|p| p.parse::<u32>().is_ok());
        let known = match (major, minor) {
            (Some(1), Some(5)) => Some(TetragonVersion::V1_5),
            (Some(1), Some(6)) => Some(TetragonVersion::V1_6),
            (Some(1), Some(7)) => Some(TetragonVersion::V1_7),
            _ => None,
        };
        match known {
            Some(version) if patch_ok && parts.next().is_none() => Ok(version),
            _ => Err(UnknownVersion {
                text: text.to_string(),
            }),
        }
    }

    /// The version just before this one, if tpc knows it.
    pub fn previous(self) -> Option<TetragonVersion> {
        let at = TetragonVersion::ALL.iter().position(|v| *v == self)?;
        at.checked_sub(1).map(|before| TetragonVersion::ALL[before])
    }

    /// How a finding says that a rule holds since `since`: "refused since
    /// 1.7; accepted by 1.6 and earlier" (with `what` = "refused",
    /// `otherwise` = "accepted").
    pub fn since(since: TetragonVersion, what: &str, otherwise: &str) -> String {
        let from = match since {
            TetragonVersion::Main => "Tetragon's main branch (after 1.7)".to_string(),
            other => format!("Tetragon {}", other.name()),
        };
        match since.previous() {
            Some(before) => {
                format!(
                    "{what} since {from}; {otherwise} by {} and earlier",
                    before.name()
                )
            }
            None => format!("{what} since {from}"),
        }
    }
}

impl fmt::Display for TetragonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--tetragon` value that names no version tpc knows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "tpc does not know Tetragon `{text}`; it knows 1.5, 1.6, 1.7 (the latest release) and main"
)]
pub struct UnknownVersion {
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_in_their_usual_spellings() {
        assert_eq!(TetragonVersion::parse("1.7"), Ok(TetragonVersion::V1_7));
        assert_eq!(TetragonVersion::parse("v1.6.1"), Ok(TetragonVersion::V1_6));
        assert_eq!(TetragonVersion::parse("1.5.0"), Ok(TetragonVersion::V1_5));
        assert_eq!(
            TetragonVersion::parse("1.7.0-rc.1"),
            Ok(TetragonVersion::V1_7)
        );
        assert_eq!(TetragonVersion::parse("main"), Ok(TetragonVersion::Main));
        assert_eq!(TetragonVersion::parse("latest"), Ok(TetragonVersion::V1_7));
        assert!(TetragonVersion::parse("1.4").is_err());
        assert!(TetragonVersion::parse("1.7.x").is_err());
        assert!(TetragonVersion::parse("2").is_err());
        assert_eq!(TetragonVersion::default(), TetragonVersion::LATEST_RELEASE);
    }

    #[test]
    fn since_names_the_last_version_without_the_rule() {
        assert_eq!(
            TetragonVersion::since(TetragonVersion::V1_7, "refused", "accepted"),
            "refused since Tetragon 1.7; accepted by 1.6 and earlier"
        );
        assert_eq!(
            TetragonVersion::since(TetragonVersion::Main, "refused", "accepted"),
            "refused since Tetragon's main branch (after 1.7); accepted by 1.7 and earlier"
        );
    }
}
