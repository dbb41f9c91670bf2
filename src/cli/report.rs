//! `switchboard report`: escalations and callbacks per topic, category and transfer outcome, and staff
//! talk time, as text or JSON, and as a picture with `--plot`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::tickets::database::Database;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Ticket database (default: the config's, else switchboard.db).
    #[arg(long)]
    db: Option<Database>,
    /// Take the database from this agent config.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only tickets filed since a date (2026-12-01) or an RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Also draw the report to this .png or .svg file.
    #[arg(long)]
    plot: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(report(
        args.db,
        args.config,
        args.since,
        args.plot,
        args.json,
    ))
}

async fn report(
    db: Option<Database>,
    config_path: Option<PathBuf>,
    since: Option<String>,
    plot: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    let since = since
        .map(|s| crate::tickets::query::since(&s))
        .transpose()?;
    let (_, store) = super::existing_store(db, config_path).await?;
    let report = store.report(since.as_deref()).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.text());
    }
    if let Some(path) = plot {
        report.draw(&path)?;
        if !json {
            println!("\npicture: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
