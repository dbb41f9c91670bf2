//! `switchboard eval`: score the topic matcher on labelled lines (text or audio) and print the report,
//! the threshold sweep and its picture, or the fitted calibration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::engines::Engines;
use crate::eval;
use crate::models::ModelDir;

#[derive(clap::Args)]
pub struct EvalArgs {
    #[arg(long, short)]
    config: PathBuf,
    /// JSON lines: {"id", "text" | "audio", "expect": [topic ids]}; audio paths are relative to this file.
    #[arg(long, short)]
    dataset: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Vary each topic's threshold: precision/recall curve, best-F1 and <=1 % false-alarm thresholds.
    #[arg(long)]
    sweep: bool,
    /// Draw the sweep's curves to this file (.png or .svg); implies --sweep.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Fit the matcher's calibration to these (text) lines and print it as TOML for
    /// prompts/<lang>/matcher.toml, instead of a report.
    #[arg(long, conflicts_with_all = ["sweep", "plot"])]
    fit: bool,
}

/// Exits 130 when Ctrl-C interrupted the scoring (the report covers the lines scored before it).
pub fn run(models: &ModelDir, args: EvalArgs) -> Result<ExitCode> {
    evaluate(
        models,
        &args.config,
        &args.dataset,
        args.json,
        args.sweep || args.plot.is_some(),
        args.plot,
        args.fit,
    )
}

/// Sets the returned flag on Ctrl-C (the first one; a second one ends the process as usual).
fn interrupt_flag(runtime: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            set.store(true, Ordering::Relaxed);
            eprintln!(
                "\ninterrupted: finishing the line in progress, then reporting what was scored"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    flag
}

fn progress_bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} lines, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn evaluate(
    models: &ModelDir,
    config_path: &Path,
    dataset: &Path,
    json: bool,
    sweep: bool,
    plot: Option<PathBuf>,
    fit: bool,
) -> Result<ExitCode> {
    let loaded = super::load_config(config_path)?;
    if let Some(p) = &plot {
        let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
        if !matches!(ext.as_deref(), Some("png" | "svg")) {
            bail!("--plot {}: the file must end in .png or .svg", p.display());
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let stop = interrupt_flag(&runtime);
    let engines = Engines::new(loaded.config, models.clone())?;
    let topics = eval::topic_ids(&engines);
    let samples = eval::dataset::load(dataset, &topics)?;
    if fit {
        let bar = progress_bar(samples.len() * 2, "fitting");
        let calibration = eval::fit(&engines, &samples, &stop, &mut |n| {
            bar.set_position(n as u64)
        })?;
        bar.finish_and_clear();
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted: no calibration fitted");
        }
        print!("{}", calibration.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    tracing::info!(lines = samples.len(), "scoring started");
    let bar = progress_bar(samples.len(), "scoring");
    let (outcomes, cost) = eval::run(&engines, &samples, &stop, &mut |n| {
        bar.set_position(n as u64)
    })?;
    bar.finish_and_clear();
    let thresholds = eval::thresholds(&engines);
    let mut report = eval::metrics::report(&topics, &thresholds, &samples, &outcomes);
    report.scoring = Some(cost);
    let sweeps = sweep.then(|| eval::sweep::sweep(&topics, &samples, &outcomes));
    if let (Some(path), Some(sweeps)) = (&plot, &sweeps) {
        let title = format!(
            "{} on {} ({} lines)",
            config_path.display(),
            dataset.display(),
            report.n
        );
        eval::plot::draw(path, &title, sweeps)?;
        if !json {
            println!("plot written to {}", path.display());
        }
    }
    let neutral = outcomes
        .iter()
        .filter(|o| samples[o.sample].expect.is_empty())
        .count();
    if json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(sweeps), Some(object)) = (&sweeps, value.as_object_mut()) {
            object.insert("sweep".into(), serde_json::to_value(sweeps)?);
        }
        println!("{value}");
    } else {
        print!("{}", eval::render::report(&report, neutral));
        if let Some(sweeps) = &sweeps {
            print!("{}", eval::render::sweep(sweeps));
        }
    }
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}
