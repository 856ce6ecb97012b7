//! Kernel time (CLOCK_BOOTTIME ns, what the BPF side stamps) to wall-clock RFC 3339 strings.

use nix::time::{ClockId, clock_gettime};

use crate::error::RuntimeError;

/// Converts boot-time nanoseconds to wall-clock time, with the offset taken
/// once when the sensor starts (as Tetragon does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootClock {
    /// Wall-clock ns at boot (CLOCK_REALTIME - CLOCK_BOOTTIME).
    boot_wall_ns: i128,
}

impl BootClock {
    /// Reads both clocks now.
    pub fn from_system() -> Result<Self, RuntimeError> {
        let boot = clock_gettime(ClockId::CLOCK_BOOTTIME)
            .map_err(|source| RuntimeError::Clock { source })?;
        let real = clock_gettime(ClockId::CLOCK_REALTIME)
            .map_err(|source| RuntimeError::Clock { source })?;
        let to_ns = |spec: nix::sys::time::TimeSpec| {
            i128::from(spec.tv_sec()) * 1_000_000_000 + i128::from(spec.tv_nsec())
        };
        Ok(Self {
            boot_wall_ns: to_ns(real) - to_ns(boot),
        })
    }

    /// A clock whose boot happened at `boot_wall_ns` (for tests).
    pub fn with_boot_at(boot_wall_ns: i128) -> Self {
        Self { boot_wall_ns }
    }

    /// Boot-time ns now, read from the kernel.
    pub fn boot_ns_now() -> Result<u64, RuntimeError> {
        let boot = clock_gettime(ClockId::CLOCK_BOOTTIME)
            .map_err(|source| RuntimeError::Clock { source })?;
        let ns = i128::from(boot.tv_sec()) * 1_000_000_000 + i128::from(boot.tv_nsec());
        Ok(u64::try_from(ns).unwrap_or(0))
    }

    /// RFC 3339 UTC time, nanosecond precision, of a boot-time stamp.
    pub fn wall_time(&self, boot_ns: u64) -> String {
        format_rfc3339(self.boot_wall_ns + i128::from(boot_ns))
    }

    /// Unix-epoch ns of a boot-time stamp.
    pub fn unix_nanos(&self, boot_ns: u64) -> i64 {
        i64::try_from(self.boot_wall_ns + i128::from(boot_ns)).unwrap_or(i64::MAX)
    }
}

/// Formats Unix-epoch nanoseconds as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub fn format_rfc3339(unix_ns: i128) -> String {
    let seconds = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// well-known days-to-civil algorithm, written out here).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        // 2022-02-01T18:01:56.410Z, a time in Tetragon's sample events
        assert_eq!(
            format_rfc3339(1_643_738_516_410_000_000),
            "2022-02-01T18:01:56.410000000Z"
        );
        // a leap day
        assert_eq!(
            format_rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn boot_clock_adds_the_boot_offset() {
        let clock = BootClock::with_boot_at(1_643_738_516_000_000_000);
        assert_eq!(
            clock.wall_time(410_000_000),
            "2022-02-01T18:01:56.410000000Z"
        );
    }
}
