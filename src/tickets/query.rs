//! Which tickets a list shows: the Support section's filters and paging, checked once here so the API,
//! the page and the command line refuse the same mistakes with the same words.

use serde::Serialize;

use super::status::Status;
use super::triage::Category;
use super::TicketKind;

/// At most this many tickets in one page.
pub const MAX_PAGE: u32 = 200;
/// A page holds this many unless asked otherwise.
pub const DEFAULT_PAGE: u32 = 50;

/// A filtered, paged view of the tickets, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketQuery {
    pub status: Option<Status>,
    pub kind: Option<TicketKind>,
    pub category: Option<Category>,
    pub topic: Option<String>,
    /// Filed at or after this moment (RFC 3339 UTC with milliseconds, as stored).
    pub since: Option<String>,
    /// Words the summary, transcript, caller or notes must all hold.
    pub text: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// A filter value that is not one of the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

impl TicketQuery {
    /// The first page of everything.
    pub fn all() -> Self {
        Self {
            limit: DEFAULT_PAGE,
            ..Self::default()
        }
    }

    /// Builds a query from `name=value` pairs (a URL's query string, the page's filter form). Empty
    /// values mean "any"; unknown names are refused so a misspelt filter never silently shows everything.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, QueryError> {
        let mut q = Self::all();
        let mut page = None;
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name {
                "status" => q.status = Some(Status::parse(value).map_err(|e| err("status", e))?),
                "kind" => {
                    q.kind = Some(TicketKind::parse(value).ok_or_else(|| {
                        err("kind", format!("{value:?} is not escalation or callback"))
                    })?)
                }
                "category" => {
                    q.category = Some(Category::parse(value).ok_or_else(|| {
                        err(
                            "category",
                            format!("{value:?} is not service, accounting or other"),
                        )
                    })?)
                }
                "topic" => q.topic = Some(value.to_string()),
                "since" => q.since = Some(since(value)?),
                "q" => q.text = Some(value.to_string()),
                "limit" => q.limit = number("limit", value, 1..=MAX_PAGE)?,
                "offset" => q.offset = number("offset", value, 0..=u32::MAX)?,
                "page" => page = Some(number("page", value, 1..=u32::MAX)?),
                other => {
                    return Err(err(
                        "query",
                        format!(
                            "unknown filter {other:?}; filters are status, kind, category, topic, since, q, limit, offset, page"
                        ),
                    ))
                }
            }
        }
        if let Some(page) = page {
            q.offset = (page - 1).saturating_mul(q.limit);
        }
        Ok(q)
    }
}

fn err(field: &'static str, message: impl ToString) -> QueryError {
    QueryError {
        field,
        message: message.to_string(),
    }
}

fn number(
    field: &'static str,
    value: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, QueryError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            err(
                field,
                format!(
                    "{value:?} is not a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// `2026-12-01` (midnight UTC) or an RFC 3339 moment, as the stored form.
pub fn since(value: &str) -> Result<String, QueryError> {
    let moment = if let Ok(date) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        date.and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    } else {
        chrono::DateTime::parse_from_rfc3339(value)
            .map_err(|_| {
                err(
                    "since",
                    format!("{value:?} is not a date (2026-12-01) or an RFC 3339 time"),
                )
            })?
            .with_timezone(&chrono::Utc)
    };
    Ok(moment.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_mistakes_are_named() {
        let q = TicketQuery::from_pairs([
            ("status", "in_progress"),
            ("kind", "callback"),
            ("category", "accounting"),
            ("since", "2026-12-01T10:00:00+01:00"),
            ("q", "charged twice"),
            ("page", "3"),
            ("limit", "10"),
            ("topic", ""),
        ])
        .unwrap();
        assert_eq!(q.status, Some(Status::InProgress));
        assert_eq!(q.since.as_deref(), Some("2026-12-01T09:00:00.000Z"));
        assert_eq!((q.limit, q.offset, q.topic), (10, 20, None));
        let e = TicketQuery::from_pairs([("limit", "5000")]).unwrap_err();
        assert_eq!(e.field, "limit");
        assert!(TicketQuery::from_pairs([("stauts", "open")]).is_err());
        assert!(TicketQuery::from_pairs([("category", "sales")]).is_err());
        assert_eq!(since("2026-12-01").unwrap(), "2026-12-01T00:00:00.000Z");
    }
}
