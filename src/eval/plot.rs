//! Pictures of a sweep: precision against recall, and F1 and false alarms against the threshold, one
//! colour per topic, the chosen thresholds marked. PNG or SVG by the file's extension.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::sweep::TopicSweep;
use crate::plot::{colour, register_font, PlotError, FONT};

const SIZE: (u32, u32) = (1400, 620);

/// Draws `sweeps` to `path` (`.png` or `.svg`).
pub fn draw(
    path: &Path,
    title: &str,
    sweeps: &BTreeMap<String, TopicSweep>,
) -> Result<(), PlotError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if ext != "png" && ext != "svg" {
        return Err(PlotError::Format(path.display().to_string()));
    }
    register_font()?;
    let fail = |e: String| PlotError::Draw {
        path: path.display().to_string(),
        reason: e,
    };
    if ext == "png" {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        paint(&root, title, sweeps).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))
    } else {
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        paint(&root, title, sweeps).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))
    }
}

fn paint<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    sweeps: &BTreeMap<String, TopicSweep>,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, (FONT, 24)).map_err(err)?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);

    let mut pr = ChartBuilder::on(&left)
        .caption("Precision against recall", (FONT, 18))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0f64, 0.0..1.02f64)
        .map_err(err)?;
    pr.configure_mesh()
        .x_desc("recall")
        .y_desc("precision")
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    for (i, (topic, sweep)) in sweeps.iter().enumerate() {
        let colour = colour(i);
        pr.draw_series(LineSeries::new(
            sweep.curve.iter().map(|p| (p.recall, p.precision)),
            colour.stroke_width(2),
        ))
        .map_err(err)?
        .label(topic.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3)));
        let best = sweep.best_f1;
        pr.draw_series(std::iter::once(Circle::new(
            (best.recall, best.precision),
            5,
            colour.filled(),
        )))
        .map_err(err)?;
    }
    pr.configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let mut th = ChartBuilder::on(&right)
        .caption(
            "F1 (solid) and false alarms (dashed) by threshold; dot = best F1",
            (FONT, 18),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0f64, 0.0..1.02f64)
        .map_err(err)?;
    th.configure_mesh()
        .x_desc("threshold")
        .y_desc("F1 / false-alarm rate")
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    for (i, sweep) in sweeps.values().enumerate() {
        let colour = colour(i);
        th.draw_series(LineSeries::new(
            sweep.curve.iter().map(|p| (f64::from(p.threshold), p.f1)),
            colour.stroke_width(2),
        ))
        .map_err(err)?;
        th.draw_series(DashedLineSeries::new(
            sweep
                .curve
                .iter()
                .map(|p| (f64::from(p.threshold), p.false_alarm_rate)),
            6,
            4,
            colour.stroke_width(1),
        ))
        .map_err(err)?;
        let best = sweep.best_f1;
        th.draw_series(std::iter::once(Circle::new(
            (f64::from(best.threshold), best.f1),
            5,
            colour.filled(),
        )))
        .map_err(err)?;
    }
    Ok(())
}
