//! When to call back, from what the caller said ("tomorrow after 3 pm", "Monday morning", "in two hours",
//! "between 2 and 4"), relative to the call's own time in the business's time zone.
//!
//! The answer becomes a moment or a window with absolute timestamps (what staff act on), and a spoken
//! description built from the same parts ("tomorrow after 3 pm") that is read back and promised. The
//! words are data (`[time]` of `prompts/<lang>/fields.toml`); an hour said without am/pm is taken in the
//! part of the day the caller named, else within business hours (3 is 3 pm, 9 is 9 am).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;

use super::words::{match_at, tokens};
use crate::language::fields::{Cardinals, TimeWords};
use crate::language::prompts::TimePrompts;
use crate::language::{fill, PromptError};

/// A callback time: a moment (`end` is `None`) or a window.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackTime {
    pub start: DateTime<Tz>,
    pub end: Option<DateTime<Tz>>,
    /// How the agent says it: "tomorrow after 3 pm".
    pub spoken: String,
}

impl CallbackTime {
    /// The stored value: RFC 3339, or an ISO 8601 interval `start/end` for a window.
    pub fn value(&self) -> String {
        match self.end {
            None => self.start.to_rfc3339(),
            Some(end) => format!("{}/{}", self.start.to_rfc3339(), end.to_rfc3339()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimeError {
    #[error("no day or time in the answer")]
    NoTime,
    #[error("{0} is not a time of day")]
    BadClock(String),
    #[error("that time has already passed")]
    Past,
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Meridiem {
    Am,
    Pm,
}

#[derive(Debug, Clone, PartialEq)]
enum Tag {
    Day(i64),
    Weekday(u32),
    Part(u32, u32, String),
    After,
    Before,
    At,
    Between,
    Until,
    Meridiem(Meridiem),
    OClock,
    Noon,
    Midnight,
    HalfPast,
    QuarterPast,
    QuarterTo,
    Within,
    Half,
    Unit(u64),
    Now,
    Any,
    Num(u64),
    Clock(u32, u32),
}

/// An hour and minute as said, before am/pm is settled.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Said {
    hour: u32,
    minute: u32,
    meridiem: Option<Meridiem>,
}

#[derive(Debug, Clone, PartialEq)]
enum Span {
    Now,
    Any,
    In(u64),
    At(Said),
    After(Said),
    Before(Said),
    Between(Said, Said),
}

impl TimeWords {
    fn tag(&self, words: &[String], cardinals: &Cardinals) -> Vec<Tag> {
        let lists: [(&[String], Tag); 17] = [
            (&self.after, Tag::After),
            (&self.before, Tag::Before),
            (&self.at, Tag::At),
            (&self.between, Tag::Between),
            (&self.until, Tag::Until),
            (&self.am, Tag::Meridiem(Meridiem::Am)),
            (&self.pm, Tag::Meridiem(Meridiem::Pm)),
            (&self.oclock, Tag::OClock),
            (&self.noon, Tag::Noon),
            (&self.midnight, Tag::Midnight),
            (&self.half_past, Tag::HalfPast),
            (&self.quarter_past, Tag::QuarterPast),
            (&self.quarter_to, Tag::QuarterTo),
            (&self.within, Tag::Within),
            (&self.half, Tag::Half),
            (&self.now, Tag::Now),
            (&self.any, Tag::Any),
        ];
        let mut tags = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut best: Option<(usize, Tag)> = None;
            let mut offer = |len: Option<usize>, tag: Tag| {
                if let Some(len) = len {
                    if best.as_ref().is_none_or(|(l, _)| len > *l) {
                        best = Some((len, tag));
                    }
                }
            };
            for (phrase, day) in &self.days {
                offer(match_at(words, i, &[phrase]), Tag::Day(*day));
            }
            for (n, names) in self.weekdays.iter().enumerate() {
                offer(match_at(words, i, names), Tag::Weekday(n as u32));
            }
            for (phrase, [a, b]) in &self.parts {
                offer(
                    match_at(words, i, &[phrase]),
                    Tag::Part(*a, *b, phrase.clone()),
                );
            }
            for (unit, minutes) in &self.units {
                offer(match_at(words, i, &[unit]), Tag::Unit(*minutes));
            }
            for (list, tag) in &lists {
                offer(match_at(words, i, list), tag.clone());
            }
            let word = &words[i];
            if let Some((h, m)) = word.split_once([':', '.']) {
                if let (Ok(h), Ok(m)) = (h.parse(), m.parse()) {
                    offer(Some(1), Tag::Clock(h, m));
                }
            } else if let Some((n, used)) = cardinals.number_at(words, i) {
                offer(Some(used), Tag::Num(n));
            }
            match best {
                Some((len, tag)) => {
                    tags.push(tag);
                    i += len;
                }
                None => i += 1,
            }
        }
        tags
    }

    /// The clock time starting at `tags[i]`, and how many tags it took.
    fn said_at(tags: &[Tag], i: usize) -> Option<(Said, usize)> {
        let num = |k: usize| match tags.get(k) {
            Some(Tag::Num(n)) => Some(*n as u32),
            _ => None,
        };
        let (mut said, mut used) = match tags.get(i)? {
            Tag::Noon => (
                Said {
                    hour: 12,
                    minute: 0,
                    meridiem: Some(Meridiem::Pm),
                },
                1,
            ),
            Tag::Midnight => (
                Said {
                    hour: 0,
                    minute: 0,
                    meridiem: Some(Meridiem::Am),
                },
                1,
            ),
            Tag::HalfPast | Tag::QuarterPast | Tag::QuarterTo => {
                let h = num(i + 1)?;
                let (hour, minute) = match tags[i] {
                    Tag::HalfPast => (h, 30),
                    Tag::QuarterPast => (h, 15),
                    _ => ((h + 11) % 12, 45),
                };
                (
                    Said {
                        hour,
                        minute,
                        meridiem: None,
                    },
                    2,
                )
            }
            Tag::Clock(h, m) => (
                Said {
                    hour: *h,
                    minute: *m,
                    meridiem: None,
                },
                1,
            ),
            Tag::Num(h) if *h <= 24 => {
                // "three thirty": a second number is the minutes.
                match num(i + 1) {
                    Some(m) if (10..60).contains(&m) && *h <= 12 => (
                        Said {
                            hour: *h as u32,
                            minute: m,
                            meridiem: None,
                        },
                        2,
                    ),
                    _ => (
                        Said {
                            hour: *h as u32,
                            minute: 0,
                            meridiem: None,
                        },
                        1,
                    ),
                }
            }
            // "half past three" has its own tags; "3 and a half" is rare on the phone.
            _ => return None,
        };
        if let Some(Tag::OClock) = tags.get(i + used) {
            used += 1;
        }
        if let Some(Tag::Meridiem(m)) = tags.get(i + used) {
            said.meridiem = Some(*m);
            used += 1;
        }
        Some((said, used))
    }

    /// Reads `answer`, said at `now`.
    pub fn parse(
        &self,
        answer: &str,
        now: DateTime<Tz>,
        cardinals: &Cardinals,
        say: &TimePrompts,
    ) -> Result<CallbackTime, TimeError> {
        let words = tokens(answer);
        let tags = self.tag(&words, cardinals);
        let mut day: Option<i64> = None;
        let mut weekday: Option<u32> = None;
        let mut part: Option<(u32, u32, String)> = None;
        let mut span: Option<Span> = None;
        let mut i = 0;
        while i < tags.len() {
            match &tags[i] {
                Tag::Day(d) => day = Some(*d),
                Tag::Weekday(w) => weekday = Some(*w),
                Tag::Part(a, b, name) => part = Some((*a, *b, name.clone())),
                Tag::Now => span = Some(Span::Now),
                Tag::Any => span = Some(Span::Any),
                Tag::Within => {
                    let amount = match tags.get(i + 1) {
                        Some(Tag::Num(n)) => Some((*n, 2)),
                        Some(Tag::Half) => Some((0, 2)),
                        _ => None,
                    };
                    if let Some((n, used)) = amount {
                        if let Some(Tag::Unit(u)) = tags.get(i + used) {
                            let minutes = if n == 0 { u / 2 } else { n * u };
                            // "an hour and a half"
                            let extra = matches!(
                                (tags.get(i + used + 1), tags.get(i + used + 2)),
                                (Some(Tag::Until), Some(Tag::Half))
                            );
                            span = Some(Span::In(minutes + if extra { u / 2 } else { 0 }));
                            i += used + if extra { 3 } else { 1 };
                            continue;
                        }
                    }
                }
                Tag::After | Tag::Before | Tag::At | Tag::Between => {
                    if let Some((said, used)) = Self::said_at(&tags, i + 1) {
                        let mut next = i + 1 + used;
                        span = Some(match tags[i] {
                            Tag::After => Span::After(said),
                            Tag::Before => Span::Before(said),
                            Tag::At => Span::At(said),
                            _ => match (tags.get(next), Self::said_at(&tags, next + 1)) {
                                (Some(Tag::Until), Some((end, used))) => {
                                    next += 1 + used;
                                    Span::Between(said, end)
                                }
                                _ => Span::At(said),
                            },
                        });
                        i = next;
                        continue;
                    }
                }
                Tag::Until => {
                    // "from 2 to 4", "2 to 4 pm": a clock already said becomes the window's start.
                    if let Some((end, used)) = Self::said_at(&tags, i + 1) {
                        if let Some(Span::At(start) | Span::After(start)) = span {
                            span = Some(Span::Between(start, end));
                            i += 1 + used;
                            continue;
                        }
                    }
                }
                _ => {
                    if let Some((said, used)) = Self::said_at(&tags, i) {
                        span = Some(Span::At(said));
                        i += used;
                        continue;
                    }
                }
            }
            i += 1;
        }
        self.resolve(now, day, weekday, part, span, say)
    }

    fn resolve(
        &self,
        now: DateTime<Tz>,
        day: Option<i64>,
        weekday: Option<u32>,
        part: Option<(u32, u32, String)>,
        span: Option<Span>,
        say: &TimePrompts,
    ) -> Result<CallbackTime, TimeError> {
        let tz = now.timezone();
        let now = now.with_nanosecond(0).unwrap_or(now);
        let today = now.date_naive();
        let [open, close] = self.business_hours;
        let at = |date: NaiveDate, hour: u32, minute: u32| -> Result<DateTime<Tz>, TimeError> {
            let (date, hour) = if hour >= 24 {
                (date + Duration::days(1), hour - 24)
            } else {
                (date, hour)
            };
            let time = NaiveTime::from_hms_opt(hour, minute, 0)
                .ok_or_else(|| TimeError::BadClock(format!("{hour}:{minute:02}")))?;
            tz.from_local_datetime(&date.and_time(time))
                .earliest()
                .ok_or_else(|| TimeError::BadClock(format!("{hour}:{minute:02}")))
        };
        match span {
            Some(Span::Now) => {
                return Ok(CallbackTime {
                    start: now,
                    end: None,
                    spoken: say.now.clone(),
                })
            }
            Some(Span::Any) if day.is_none() && weekday.is_none() => {
                return Ok(CallbackTime {
                    start: now,
                    end: Some(now + Duration::days(1)),
                    spoken: say.any.clone(),
                })
            }
            Some(Span::In(minutes)) => {
                // Rounded up to five minutes: nobody promises 4:07.
                let mut t = now + Duration::minutes(minutes as i64);
                let round = (5 - t.minute() % 5) % 5;
                t += Duration::minutes(round as i64);
                let t = t
                    .with_second(0)
                    .unwrap_or(t)
                    .with_nanosecond(0)
                    .unwrap_or(t);
                let day_words = if t.date_naive() == today {
                    say.today.clone()
                } else {
                    say.tomorrow.clone()
                };
                let clock = self.clock(t.hour(), t.minute(), say)?;
                let spoken = format!("{day_words} {}", fill(&say.at, &[("clock", &clock)])?);
                return Ok(CallbackTime {
                    start: t,
                    end: None,
                    spoken,
                });
            }
            _ => {}
        }
        if day.is_none() && weekday.is_none() && part.is_none() && span.is_none() {
            return Err(TimeError::NoTime);
        }
        // Which day: named, or today if the time is still ahead, else tomorrow.
        let named = match (day, weekday) {
            (_, Some(w)) => {
                let ahead = (w as i64 - today.weekday().num_days_from_monday() as i64 + 7) % 7;
                Some(today + Duration::days(if ahead == 0 { 7 } else { ahead }))
            }
            (Some(d), None) => Some(today + Duration::days(d)),
            (None, None) => None,
        };
        let date = named.unwrap_or(today);
        let (part_start, part_end) = part.as_ref().map_or((open, close), |(a, b, _)| (*a, *b));
        let hour_of = |s: Said| -> u32 {
            match s.meridiem {
                Some(Meridiem::Pm) if s.hour < 12 => s.hour + 12,
                Some(Meridiem::Am) if s.hour == 12 => 0,
                Some(_) => s.hour,
                None if s.hour > 12 => s.hour,
                None if part.is_some() => {
                    // In the part of the day the caller named: "afternoon after 3" is 15:00.
                    if s.hour < part_start && s.hour + 12 < 24 {
                        s.hour + 12
                    } else {
                        s.hour
                    }
                }
                // Within business hours: 1 to 7 are afternoon hours, 8 to 12 morning ones.
                None if s.hour < 8 => s.hour + 12,
                None => s.hour,
            }
        };
        let (start, end, clock_words) = match span {
            Some(Span::At(s)) => {
                let t = at(date, hour_of(s), s.minute)?;
                (
                    t,
                    None,
                    Some(fill(
                        &say.at,
                        &[("clock", &self.clock_of(s, hour_of(s), say)?)],
                    )?),
                )
            }
            Some(Span::After(s)) => {
                let h = hour_of(s);
                let t = at(date, h, s.minute)?;
                let end = at(date, part_end.max(h + 1), 0)?;
                (
                    t,
                    Some(end),
                    Some(fill(&say.after, &[("clock", &self.clock_of(s, h, say)?)])?),
                )
            }
            Some(Span::Before(s)) => {
                let h = hour_of(s);
                let t = at(date, h, s.minute)?;
                let begin = at(date, part_start.min(h.saturating_sub(1)), 0)?;
                (
                    begin,
                    Some(t),
                    Some(fill(&say.before, &[("clock", &self.clock_of(s, h, say)?)])?),
                )
            }
            Some(Span::Between(a, b)) => {
                // "between 2 and 4 pm": the end's am/pm carries to the start.
                let a = Said {
                    meridiem: a.meridiem.or(b.meridiem),
                    ..a
                };
                let (ha, hb) = (hour_of(a), hour_of(b));
                let hb = if hb <= ha && hb < 12 { hb + 12 } else { hb };
                let words = fill(
                    &say.between,
                    &[
                        ("start", &self.clock_of(a, ha, say)?),
                        ("end", &self.clock_of(b, hb, say)?),
                    ],
                )?;
                (
                    at(date, ha, a.minute)?,
                    Some(at(date, hb, b.minute)?),
                    Some(words),
                )
            }
            _ => (
                at(date, part_start, 0)?,
                Some(at(date, part_end, 0)?),
                part.as_ref().map(|(_, _, name)| name.clone()),
            ),
        };
        // No day named and the time has passed today: tomorrow.
        let (mut start, mut end, date) = if named.is_none() && end.unwrap_or(start) <= now {
            let shift = Duration::days(1);
            (start + shift, end.map(|e| e + shift), date + shift)
        } else {
            (start, end, date)
        };
        if end.unwrap_or(start) <= now {
            return Err(TimeError::Past);
        }
        if end.is_some() && start < now {
            start = now;
        }
        if let Some(e) = end {
            if e <= start {
                end = None;
            }
        }
        let day_words = spoken_day(date, today, say)?;
        // "tomorrow morning after 9 am" says the part only when no clock was given.
        let mut spoken = day_words;
        let detail = match (&clock_words, &part) {
            (Some(c), _) => Some(c.clone()),
            (None, Some((_, _, name))) => Some(name.clone()),
            (None, None) => None,
        };
        if let Some(d) = detail {
            spoken = format!("{spoken} {d}");
        }
        Ok(CallbackTime { start, end, spoken })
    }

    fn clock_of(&self, said: Said, hour24: u32, say: &TimePrompts) -> Result<String, TimeError> {
        self.clock(hour24, said.minute, say)
    }

    /// "3 pm", "3:30 pm", "noon".
    fn clock(&self, hour24: u32, minute: u32, say: &TimePrompts) -> Result<String, TimeError> {
        Ok(spoken_clock(hour24, minute, say)?)
    }
}

/// "today", "tomorrow" or "on Monday": how `date` is said on `today`.
pub fn spoken_day(
    date: NaiveDate,
    today: NaiveDate,
    say: &TimePrompts,
) -> Result<String, PromptError> {
    if date == today {
        return Ok(say.today.clone());
    }
    if date == today + Duration::days(1) {
        return Ok(say.tomorrow.clone());
    }
    let name = say
        .weekdays
        .get(date.weekday().num_days_from_monday() as usize)
        .cloned()
        .unwrap_or_default();
    fill(&say.weekday, &[("weekday", &name)])
}

/// "3 pm", "3:30 pm", "noon": a time of day on the 12-hour clock.
pub fn spoken_clock(hour24: u32, minute: u32, say: &TimePrompts) -> Result<String, PromptError> {
    match (hour24 % 24, minute) {
        (12, 0) => return Ok(say.noon.clone()),
        (0, 0) => return Ok(say.midnight.clone()),
        _ => {}
    }
    let h = hour24 % 24;
    let hour = match h % 12 {
        0 => 12,
        x => x,
    };
    let minutes = if minute == 0 {
        String::new()
    } else {
        fill(&say.minutes, &[("mm", &format!("{minute:02}"))])?
    };
    let meridiem = if h < 12 { &say.am } else { &say.pm };
    fill(
        &say.clock,
        &[
            ("hour", &hour.to_string()),
            ("minutes", &minutes),
            ("meridiem", meridiem),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Phrasebook;

    /// Monday 23 November 2026, 10:20 in New York.
    fn now() -> DateTime<Tz> {
        chrono_tz::America::New_York
            .with_ymd_and_hms(2026, 11, 23, 10, 20, 0)
            .unwrap()
    }

    fn parse(book: &Phrasebook, said: &str) -> Result<CallbackTime, TimeError> {
        book.fields
            .time
            .parse(said, now(), &book.fields.cardinals, &book.prompts.time)
    }

    fn local(s: &str) -> String {
        s.to_string()
    }

    #[test]
    fn english_times() {
        let en = Phrasebook::builtin("en").unwrap();
        // (said, start, end, spoken)
        let table: &[(&str, &str, Option<&str>, &str)] = &[
            (
                "Tomorrow after 3 pm.",
                "2026-11-24T15:00:00-05:00",
                Some("2026-11-24T18:00:00-05:00"),
                "tomorrow after 3 pm",
            ),
            (
                "tomorrow after three",
                "2026-11-24T15:00:00-05:00",
                Some("2026-11-24T18:00:00-05:00"),
                "tomorrow after 3 pm",
            ),
            (
                "Monday morning",
                "2026-11-30T09:00:00-05:00",
                Some("2026-11-30T12:00:00-05:00"),
                "on Monday morning",
            ),
            (
                "In two hours.",
                "2026-11-23T12:20:00-05:00",
                None,
                "today at 12:20 pm",
            ),
            (
                "in half an hour",
                "2026-11-23T10:50:00-05:00",
                None,
                "today at 10:50 am",
            ),
            (
                "Between 2 and 4 p.m. please",
                "2026-11-23T14:00:00-05:00",
                Some("2026-11-23T16:00:00-05:00"),
                "today between 2 pm and 4 pm",
            ),
            (
                "at 9:30 on Wednesday",
                "2026-11-25T09:30:00-05:00",
                None,
                "on Wednesday at 9:30 am",
            ),
            (
                "this afternoon",
                "2026-11-23T12:00:00-05:00",
                Some("2026-11-23T17:00:00-05:00"),
                "today afternoon",
            ),
            (
                "friday at noon",
                "2026-11-27T12:00:00-05:00",
                None,
                "on Friday at noon",
            ),
            (
                "half past four tomorrow",
                "2026-11-24T16:30:00-05:00",
                None,
                "tomorrow at 4:30 pm",
            ),
            (
                "before 10 am",
                "2026-11-24T09:00:00-05:00",
                Some("2026-11-24T10:00:00-05:00"),
                "tomorrow before 10 am",
            ),
            (
                "tomorrow",
                "2026-11-24T09:00:00-05:00",
                Some("2026-11-24T18:00:00-05:00"),
                "tomorrow",
            ),
            (
                "um, the day after tomorrow in the evening",
                "2026-11-25T17:00:00-05:00",
                Some("2026-11-25T20:00:00-05:00"),
                "on Wednesday in the evening",
            ),
            (
                "as soon as possible",
                "2026-11-23T10:20:00-05:00",
                None,
                "as soon as possible",
            ),
            (
                "around three thirty",
                "2026-11-23T15:30:00-05:00",
                None,
                "today at 3:30 pm",
            ),
        ];
        for (said, start, end, spoken) in table {
            let got = parse(&en, said).unwrap_or_else(|e| panic!("{said}: {e}"));
            assert_eq!(got.start.to_rfc3339(), local(start), "start of {said}");
            assert_eq!(
                got.end.map(|e| e.to_rfc3339()),
                end.map(local),
                "end of {said}"
            );
            assert_eq!(got.spoken, *spoken, "spoken {said}");
        }
    }

    #[test]
    fn not_times() {
        let en = Phrasebook::builtin("en").unwrap();
        assert_eq!(parse(&en, "I'm not sure"), Err(TimeError::NoTime));
        assert_eq!(parse(&en, "purple"), Err(TimeError::NoTime));
        assert!(matches!(
            parse(&en, "at 25:70"),
            Err(TimeError::BadClock(_))
        ));
        assert_eq!(parse(&en, "today before 9"), Err(TimeError::Past));
    }

    #[test]
    fn window_values_are_intervals() {
        let en = Phrasebook::builtin("en").unwrap();
        let t = parse(&en, "tomorrow after 3 pm").unwrap();
        assert_eq!(
            t.value(),
            "2026-11-24T15:00:00-05:00/2026-11-24T18:00:00-05:00"
        );
    }

    #[test]
    fn spanish_times() {
        let es = Phrasebook::builtin("es").unwrap();
        let table: &[(&str, &str, &str)] = &[
            (
                "mañana por la tarde",
                "2026-11-24T12:00:00-05:00",
                "mañana por la tarde",
            ),
            (
                "Mañana después de las tres.",
                "2026-11-24T15:00:00-05:00",
                "mañana después de las 3 de la tarde",
            ),
            (
                "el lunes por la mañana",
                "2026-11-30T09:00:00-05:00",
                "el lunes por la mañana",
            ),
            (
                "en dos horas",
                "2026-11-23T12:20:00-05:00",
                "hoy a las 12 y 20 de la tarde",
            ),
        ];
        for (said, start, spoken) in table {
            let got = parse(&es, said).unwrap_or_else(|e| panic!("{said}: {e}"));
            assert_eq!(got.start.to_rfc3339(), *start, "start of {said}");
            assert_eq!(got.spoken, *spoken, "spoken {said}");
        }
    }
}
