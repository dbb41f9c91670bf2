//! How the next business opening is said to a caller outside business hours ("on Monday at 9 am"). The
//! hours themselves are configuration ([`crate::config::hours`]); they are re-exported here for the core.

use chrono::DateTime;
use chrono_tz::Tz;

use super::extract::when::{spoken_clock, spoken_day};
pub use crate::config::hours::BusinessHours;
use crate::language::prompts::TimePrompts;
use crate::language::PromptError;

/// "tomorrow at 9 am", "on Monday at 9:30 am": how the next opening is said on the day of `now`.
pub fn spoken_opening(
    opening: DateTime<Tz>,
    now: DateTime<Tz>,
    say: &TimePrompts,
) -> Result<String, PromptError> {
    use chrono::Timelike;
    let day = spoken_day(opening.date_naive(), now.date_naive(), say)?;
    let clock = spoken_clock(opening.hour(), opening.minute(), say)?;
    let at = crate::language::fill(&say.at, &[("clock", &clock)])?;
    Ok(format!("{day} {at}"))
}

#[cfg(test)]
mod tests {

    use super::*;
    use chrono::NaiveDate;

    use crate::config::hours::fixtures::{ny, weekdays_nine_to_five};
    use crate::language::Language;

    #[test]
    fn the_next_opening_is_said_as_a_caller_would() {
        let h = weekdays_nine_to_five();
        let tz = chrono_tz::America::New_York;
        let en = Language::load("en").unwrap();
        let say = &en.prompts.time;
        let friday_night = ny(2026, 12, 4, 19, 0);
        let next = h.next_opening(tz, friday_night).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-12-07T09:00:00-05:00");
        let now = friday_night.with_timezone(&tz);
        assert_eq!(spoken_opening(next, now, say).unwrap(), "on Monday at 9 am");
        let lunch = ny(2026, 12, 2, 12, 15);
        let next = h.next_opening(tz, lunch).unwrap();
        assert_eq!(
            spoken_opening(next, lunch.with_timezone(&tz), say).unwrap(),
            "today at 1 pm"
        );
        let christmas_eve = ny(2026, 12, 24, 18, 0);
        let next = h.next_opening(tz, christmas_eve).unwrap();
        assert_eq!(
            next.date_naive(),
            NaiveDate::from_ymd_opt(2026, 12, 28).unwrap()
        );
        assert!(BusinessHours::default().next_opening(tz, lunch).is_none());
    }
}
