//! `switchboard report`: which topics load the business's people most. Escalations and callbacks per
//! topic, category and transfer outcome, and the minutes staff spent on transferred calls, as text and as
//! a picture, so the rules can be revised where they cost most.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

use crate::plot::{colour, register_font, PlotError, FONT};

/// One topic's load.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TopicLoad {
    pub topic: String,
    pub escalations: i64,
    pub callbacks: i64,
    /// Seconds staff talked with transferred callers of this topic.
    pub talk_seconds: i64,
}

/// Tickets and transfer time since a moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Stored form (RFC 3339 UTC); `None`: since the first ticket.
    pub since: Option<String>,
    pub escalations: i64,
    pub callbacks: i64,
    /// Heaviest first (escalations, then callbacks, then talk time).
    pub topics: Vec<TopicLoad>,
    /// Category -> (escalations, callbacks).
    pub categories: BTreeMap<String, (i64, i64)>,
    /// How escalations' transfers ended (`not dialed` for replays and after-hours callbacks).
    pub outcomes: BTreeMap<String, i64>,
    /// Time transferred calls spent connected to staff, from the providers' reports.
    pub talk_seconds: i64,
    /// Time calls spent transferred as the server metered it (includes ringing).
    pub transfer_seconds: i64,
}

/// One group of the ticket count query.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CountRow {
    pub topic: String,
    pub kind: String,
    pub category: String,
    pub outcome: String,
    pub n: i64,
}

impl Report {
    /// Assembles a report from grouped counts and talk time per topic.
    pub fn build(
        since: Option<String>,
        counts: &[CountRow],
        talk: &[(String, i64)],
        transfer_ms: i64,
    ) -> Self {
        let mut r = Report {
            since,
            transfer_seconds: transfer_ms / 1000,
            ..Report::default()
        };
        let mut topics: BTreeMap<String, TopicLoad> = BTreeMap::new();
        for c in counts {
            let name = if c.topic.is_empty() {
                "(no topic)"
            } else {
                &c.topic
            };
            let load = topics.entry(name.to_string()).or_insert_with(|| TopicLoad {
                topic: name.to_string(),
                ..TopicLoad::default()
            });
            let cat = r.categories.entry(c.category.clone()).or_default();
            if c.kind == "escalation" {
                load.escalations += c.n;
                cat.0 += c.n;
                r.escalations += c.n;
                let outcome = if c.outcome.is_empty() {
                    "not dialed"
                } else {
                    &c.outcome
                };
                *r.outcomes.entry(outcome.to_string()).or_default() += c.n;
            } else {
                load.callbacks += c.n;
                cat.1 += c.n;
                r.callbacks += c.n;
            }
        }
        for (topic, seconds) in talk {
            let name = if topic.is_empty() {
                "(no topic)"
            } else {
                topic
            };
            topics
                .entry(name.to_string())
                .or_insert_with(|| TopicLoad {
                    topic: name.to_string(),
                    ..TopicLoad::default()
                })
                .talk_seconds += seconds;
            r.talk_seconds += seconds;
        }
        r.topics = topics.into_values().collect();
        r.topics.sort_by(|a, b| {
            (b.escalations, b.callbacks, b.talk_seconds)
                .cmp(&(a.escalations, a.callbacks, a.talk_seconds))
                .then_with(|| a.topic.cmp(&b.topic))
        });
        r
    }

    /// The report as a plain-text table.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Tickets {}: {} escalation(s), {} callback(s); staff talked {} with transferred callers ({} transferred in all)\n\n",
            self.since
                .as_deref()
                .map_or("since the first".to_string(), |s| format!("since {s}")),
            self.escalations,
            self.callbacks,
            minutes(self.talk_seconds),
            minutes(self.transfer_seconds),
        );
        out.push_str(&format!(
            "{:<28} {:>11} {:>9} {:>10}\n",
            "topic", "escalations", "callbacks", "talk"
        ));
        for t in &self.topics {
            out.push_str(&format!(
                "{:<28} {:>11} {:>9} {:>10}\n",
                t.topic,
                t.escalations,
                t.callbacks,
                minutes(t.talk_seconds)
            ));
        }
        out.push_str(&format!(
            "\n{:<28} {:>11} {:>9}\n",
            "category", "escalations", "callbacks"
        ));
        for (c, (e, cb)) in &self.categories {
            out.push_str(&format!("{c:<28} {e:>11} {cb:>9}\n"));
        }
        out.push_str(&format!(
            "\n{:<28} {:>11}\n",
            "transfer outcome", "escalations"
        ));
        for (o, n) in &self.outcomes {
            out.push_str(&format!("{o:<28} {n:>11}\n"));
        }
        out
    }

    /// A bar chart of each topic's escalations and callbacks, and its talk minutes (`.png` or `.svg`).
    pub fn draw(&self, path: &Path) -> Result<(), PlotError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        register_font()?;
        let fail = |e: String| PlotError::Draw {
            path: path.display().to_string(),
            reason: e,
        };
        let size = (1200, 640);
        match ext.as_str() {
            "png" => {
                let root = BitMapBackend::new(path, size).into_drawing_area();
                self.paint(&root).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))
            }
            "svg" => {
                let root = SVGBackend::new(path, size).into_drawing_area();
                self.paint(&root).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))
            }
            _ => Err(PlotError::Format(path.display().to_string())),
        }
    }

    fn paint<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(err)?;
        let title = format!(
            "Load by topic: {} escalations, {} callbacks, {} talk",
            self.escalations,
            self.callbacks,
            minutes(self.talk_seconds)
        );
        let root = root.titled(&title, (FONT, 22)).map_err(err)?;
        let (left, right) = root.split_horizontally(760);
        let topics: Vec<&TopicLoad> = self.topics.iter().take(12).collect();
        let n = topics.len().max(1) as f64;
        let most = topics
            .iter()
            .map(|t| t.escalations.max(t.callbacks))
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let label = |x: &f64| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 {
                topics.get(i).map(|t| t.topic.clone()).unwrap_or_default()
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(&left)
            .caption("Tickets per topic", (FONT, 18))
            .margin(16)
            .x_label_area_size(70)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..n, 0.0..most * 1.15)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(topics.len() * 2 + 1)
            .x_label_formatter(&label)
            .y_desc("tickets")
            .label_style((FONT, 13))
            .draw()
            .map_err(err)?;
        for (series, name) in [(0usize, "escalations"), (1, "callbacks")] {
            let c = colour(series);
            chart
                .draw_series(topics.iter().enumerate().map(|(i, t)| {
                    let v = if series == 0 {
                        t.escalations
                    } else {
                        t.callbacks
                    } as f64;
                    let x0 = i as f64 + 0.12 + series as f64 * 0.38;
                    Rectangle::new([(x0, 0.0), (x0 + 0.36, v)], c.filled())
                }))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;

        let longest = topics
            .iter()
            .map(|t| t.talk_seconds)
            .max()
            .unwrap_or(0)
            .max(60) as f64
            / 60.0;
        let mut talk = ChartBuilder::on(&right)
            .caption("Staff talk minutes per topic", (FONT, 18))
            .margin(16)
            .x_label_area_size(70)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..n, 0.0..longest * 1.15)
            .map_err(err)?;
        talk.configure_mesh()
            .disable_x_mesh()
            .x_labels(topics.len() * 2 + 1)
            .x_label_formatter(&label)
            .y_desc("minutes")
            .label_style((FONT, 13))
            .draw()
            .map_err(err)?;
        talk.draw_series(topics.iter().enumerate().map(|(i, t)| {
            let x0 = i as f64 + 0.2;
            Rectangle::new(
                [(x0, 0.0), (x0 + 0.6, t.talk_seconds as f64 / 60.0)],
                colour(2).filled(),
            )
        }))
        .map_err(err)?;
        Ok(())
    }
}

fn minutes(seconds: i64) -> String {
    format!("{}m{:02}s", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(topic: &str, kind: &str, category: &str, outcome: &str, n: i64) -> CountRow {
        CountRow {
            topic: topic.into(),
            kind: kind.into(),
            category: category.into(),
            outcome: outcome.into(),
            n,
        }
    }

    #[test]
    fn topics_are_ranked_by_load() {
        let r = Report::build(
            None,
            &[
                row("billing", "callback", "accounting", "", 4),
                row("cancellation", "escalation", "service", "bridged", 2),
                row("cancellation", "escalation", "service", "failed", 1),
                row("cancellation", "callback", "service", "", 1),
            ],
            &[("cancellation".into(), 150)],
            200_000,
        );
        assert_eq!((r.escalations, r.callbacks, r.talk_seconds), (3, 5, 150));
        assert_eq!(r.topics[0].topic, "cancellation");
        assert_eq!(r.topics[0].talk_seconds, 150);
        assert_eq!(r.categories["accounting"], (0, 4));
        assert_eq!(r.outcomes["bridged"], 2);
        let text = r.text();
        assert!(text.contains("staff talked 2m30s"), "{text}");
        assert!(text.contains("(3m20s transferred in all)"), "{text}");
    }
}
