//! Business hours (`[escalation.hours]`): when people are there to take a transfer, and when they are
//! next. Outside them an escalation becomes a callback ticket. Pure: the moment and the time zone come in.
//!
//! Here, with the configuration it is read from, so that `config` need not import `call`; how the next
//! opening is said to the caller is `call::hours`'.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Day keys of `[escalation.hours]`, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// How far ahead the next opening is looked for: a business closed for longer has no opening to promise.
const LOOKAHEAD_DAYS: i64 = 31;

/// The opening windows of each weekday and the dates the business is closed, in the agent's time zone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BusinessHours {
    /// Monday first; an empty day is closed. Each window is `[open, close)`.
    pub week: [Vec<(NaiveTime, NaiveTime)>; 7],
    /// Whole days closed (holidays).
    pub closed: Vec<NaiveDate>,
}

/// Parses `"09:00-17:00"` or `"09:00-12:00, 13:00-17:30"`; `"closed"` is no window.
pub fn parse_windows(text: &str) -> Result<Vec<(NaiveTime, NaiveTime)>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("closed") || text.is_empty() {
        return Ok(Vec::new());
    }
    let mut windows = Vec::new();
    for part in text.split(',') {
        let (open, close) = part
            .split_once('-')
            .ok_or_else(|| format!("{part:?} is not a window such as \"09:00-17:00\""))?;
        let time = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| format!("{:?} is not a time such as \"09:00\"", t.trim()))
        };
        let (open, close) = (time(open)?, time(close)?);
        if close <= open {
            return Err(format!("{part:?} closes before it opens"));
        }
        windows.push((open, close));
    }
    windows.sort();
    if windows.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(format!("{text:?} has overlapping windows"));
    }
    Ok(windows)
}

impl BusinessHours {
    /// True when someone is there at `at`.
    pub fn is_open(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&tz);
        let date = local.date_naive();
        if self.closed.contains(&date) {
            return false;
        }
        let time = local.time();
        self.week[date.weekday().num_days_from_monday() as usize]
            .iter()
            .any(|(open, close)| *open <= time && time < *close)
    }

    /// The next moment after `at` when someone is there (within a month).
    pub fn next_opening(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Tz>> {
        let local = at.with_timezone(&tz);
        let today = local.date_naive();
        (0..LOOKAHEAD_DAYS).find_map(|d| {
            let date = today + Duration::days(d);
            if self.closed.contains(&date) {
                return None;
            }
            self.week[date.weekday().num_days_from_monday() as usize]
                .iter()
                .filter_map(|(open, _)| tz.from_local_datetime(&date.and_time(*open)).earliest())
                .find(|opening| *opening > local)
        })
    }
}

/// Fixtures shared by the tests of business hours here and of how openings are said (`call::hours`).
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// Weekdays 9-12 and 13-17, closed on Christmas Day 2026.
    pub fn weekdays_nine_to_five() -> BusinessHours {
        let mut hours = BusinessHours::default();
        for day in 0..5 {
            hours.week[day] = parse_windows("09:00-12:00, 13:00-17:00").unwrap();
        }
        hours.closed = vec![NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()];
        hours
    }

    /// A moment in New York.
    pub fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::America::New_York
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{ny, weekdays_nine_to_five};
    use super::*;

    #[test]
    fn open_within_a_window_in_the_agents_zone_only() {
        let h = weekdays_nine_to_five();
        let tz = chrono_tz::America::New_York;
        // Wednesday 2 December 2026.
        assert!(h.is_open(tz, ny(2026, 12, 2, 9, 0)));
        assert!(!h.is_open(tz, ny(2026, 12, 2, 12, 30)), "lunch");
        assert!(!h.is_open(tz, ny(2026, 12, 2, 17, 0)), "closing time");
        assert!(!h.is_open(tz, ny(2026, 12, 5, 10, 0)), "Saturday");
        assert!(!h.is_open(tz, ny(2026, 12, 25, 10, 0)), "holiday");
        // 14:30 UTC is 9:30 in New York but would be closed in Tokyo.
        assert!(!h.is_open(chrono_tz::Asia::Tokyo, ny(2026, 12, 2, 9, 30)));
    }

    #[test]
    fn windows_are_checked() {
        assert!(parse_windows("closed").unwrap().is_empty());
        assert!(parse_windows("17:00-09:00").is_err());
        assert!(parse_windows("9-17").is_err());
        assert!(parse_windows("09:00-13:00,12:00-17:00").is_err());
    }
}
