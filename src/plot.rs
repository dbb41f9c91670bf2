//! What every picture switchboard draws shares: the font its labels use (found on the system once per
//! process), the colours series are told apart by, and the error a drawing reports. The pictures
//! themselves stay with what they show (`eval::plot` draws a sweep, `tickets::report` the load by
//! topic); nothing here knows about topics, tickets or sweeps.

use std::sync::OnceLock;

use plotters::prelude::*;

/// Where Debian (fonts-dejavu-core, installed by scripts/install.sh) and other systems keep a sans font.
const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];
pub(crate) const FONT: &str = "sans-serif";
/// Colours that stay apart on white (the "tab10" set), cycled per topic.
const COLOURS: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

pub(crate) fn colour(i: usize) -> RGBColor {
    let (r, g, b) = COLOURS[i % COLOURS.len()];
    RGBColor(r, g, b)
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("plot file must end in .png or .svg, not {0}")]
    Format(String),
    #[error("no font to draw labels with (looked for {}); on Debian: apt-get install fonts-dejavu-core", FONT_PATHS.join(", "))]
    NoFont,
    #[error("cannot draw {path}: {reason}")]
    Draw { path: String, reason: String },
}

pub(crate) fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        FONT_PATHS.iter().any(|p| match std::fs::read(p) {
            // The font lives as long as the process: plotters wants 'static bytes.
            Ok(bytes) => plotters::style::register_font(
                FONT,
                FontStyle::Normal,
                Box::leak(bytes.into_boxed_slice()),
            )
            .is_ok(),
            Err(_) => false,
        })
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::NoFont)
    }
}
