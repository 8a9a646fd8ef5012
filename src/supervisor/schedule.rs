//! When a scheduled oneshot runs (`schedule = "every 24h"` or `"daily 03:00"`): parsing and
//! the next run time after a given moment. Pure: time comes in as an argument.
//!
//! Daily times are UTC (a container has no reliable local time zone). The engine keeps the
//! rest of the rules: a run still going is not started again, missed runs while the stack
//! was down run once at start (see `engine.rs`).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds in a day.
const DAY_S: u64 = 24 * 3600;
/// Shortest interval accepted for `every`.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// A scheduled oneshot's timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// A run every `interval`, counted from the previous run's start.
    Every(Duration),
    /// A run each day at this many seconds after midnight, UTC.
    Daily {
        /// Seconds after 00:00 UTC.
        second_of_day: u64,
    },
}

impl Schedule {
    /// Parses `every DURATION` (humantime: `24h`, `90m`, `1h 30m`) or `daily HH:MM`.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        let usage = "write \"every 24h\" (an interval) or \"daily 03:00\" (a UTC time of day)";
        if let Some(rest) = text.strip_prefix("every ") {
            let d = humantime::parse_duration(rest.trim())
                .map_err(|e| format!("invalid interval {:?} ({e}); {usage}", rest.trim()))?;
            if d < MIN_INTERVAL {
                return Err(format!("the interval must be at least 1s; {usage}"));
            }
            return Ok(Schedule::Every(d));
        }
        if let Some(rest) = text.strip_prefix("daily ") {
            let rest = rest.trim();
            let parsed = rest
                .split_once(':')
                .and_then(|(h, m)| Some((h.parse::<u64>().ok()?, m.parse::<u64>().ok()?)))
                .filter(|&(h, m)| h < 24 && m < 60 && rest.len() <= 5);
            return match parsed {
                Some((h, m)) => Ok(Schedule::Daily {
                    second_of_day: h * 3600 + m * 60,
                }),
                None => Err(format!("invalid time of day {rest:?}; {usage}")),
            };
        }
        Err(format!("unknown schedule {text:?}; {usage}"))
    }

    /// The first run time strictly after `t`.
    pub fn next_after(&self, t: SystemTime) -> SystemTime {
        match *self {
            Schedule::Every(interval) => t + interval,
            Schedule::Daily { second_of_day } => {
                let since_epoch = t.duration_since(UNIX_EPOCH).unwrap_or_default();
                let day_start = since_epoch.as_secs() / DAY_S * DAY_S;
                let today = UNIX_EPOCH + Duration::from_secs(day_start + second_of_day);
                if today > t {
                    today
                } else {
                    today + Duration::from_secs(DAY_S)
                }
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Schedule::Every(d) => write!(f, "every {}", humantime::format_duration(d)),
            Schedule::Daily { second_of_day } => write!(
                f,
                "daily {:02}:{:02} UTC",
                second_of_day / 3600,
                second_of_day % 3600 / 60
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn parse_rows() {
        let ok = [
            ("every 24h", Schedule::Every(Duration::from_secs(DAY_S))),
            ("every 1h 30m", Schedule::Every(Duration::from_secs(5400))),
            ("  every 10s ", Schedule::Every(Duration::from_secs(10))),
            (
                "daily 03:00",
                Schedule::Daily {
                    second_of_day: 3 * 3600,
                },
            ),
            (
                "daily 23:59",
                Schedule::Daily {
                    second_of_day: 23 * 3600 + 59 * 60,
                },
            ),
        ];
        for (text, want) in ok {
            assert_eq!(Schedule::parse(text), Ok(want), "{text}");
        }
        for bad in [
            "",
            "24h",
            "every",
            "every soon",
            "every 0s",
            "every 10ms",
            "daily 24:00",
            "daily 3",
            "daily 03:60",
            "daily 003:00",
            "weekly 03:00",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn next_after_rows() {
        let every = Schedule::Every(Duration::from_secs(3600));
        assert_eq!(every.next_after(at(1000)), at(4600));
        let daily = Schedule::Daily {
            second_of_day: 3 * 3600,
        };
        // Before 03:00 on day 10: the same day; at or after: the next day.
        let day10 = 10 * DAY_S;
        assert_eq!(daily.next_after(at(day10)), at(day10 + 3 * 3600));
        assert_eq!(
            daily.next_after(at(day10 + 3 * 3600)),
            at(day10 + DAY_S + 3 * 3600)
        );
        assert_eq!(
            daily.next_after(at(day10 + 5 * 3600)),
            at(day10 + DAY_S + 3 * 3600)
        );
        assert_eq!(daily.to_string(), "daily 03:00 UTC");
        assert_eq!(every.to_string(), "every 1h");
    }
}
