//! `switchboard rehearse`: a live call in simulated time with a scripted caller, through the real
//! recogniser and dialog; prints the timeline and the tickets it filed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::engines::Engines;
use crate::models::ModelDir;
use crate::rehearsal::Turn;
use crate::tickets::database::Database;
use crate::tickets::store::TicketStore;

use super::tickets::print_ticket;

#[derive(clap::Args)]
pub struct RehearseArgs {
    #[arg(long, short)]
    config: PathBuf,
    /// Print JSON lines instead of a timeline.
    #[arg(long)]
    json: bool,
    /// Ticket database (default: `[tickets] database` of the config, else switchboard.db).
    #[arg(long)]
    db: Option<Database>,
    /// The caller's turns, in order: `say:WORDS`, `keys:DIGITS`, `silent:MS`, `hangup`.
    #[arg(required = true, value_parser = parse_turn)]
    turns: Vec<Turn>,
}

pub fn run(models: &ModelDir, args: RehearseArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(rehearse_cmd(
        models,
        &args.config,
        args.json,
        args.db,
        &args.turns,
    ))
}

fn parse_turn(s: &str) -> Result<Turn, String> {
    let (kind, value) = s.split_once(':').unwrap_or((s, ""));
    match kind {
        "say" if !value.trim().is_empty() => Ok(Turn::Say(value.to_string())),
        "keys"
            if !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#') =>
        {
            Ok(Turn::Keys(value.to_string()))
        }
        "silent" => value
            .parse()
            .map(Turn::Silent)
            .map_err(|_| format!("silent:MS needs milliseconds, got {value:?}")),
        "hangup" if value.is_empty() => Ok(Turn::HangUp),
        _ => Err(format!(
            "{s:?} is not a turn: say:WORDS, keys:DIGITS (0-9 * #), silent:MS or hangup"
        )),
    }
}

async fn rehearse_cmd(
    models: &ModelDir,
    config_path: &Path,
    json: bool,
    db: Option<Database>,
    turns: &[Turn],
) -> Result<ExitCode> {
    let loaded = super::load_config(config_path)?;
    let db = db.unwrap_or_else(|| loaded.config.tickets_database.clone());
    let store = TicketStore::open(&db).await?;
    let engines = Engines::new(loaded.config, models.clone())?;
    let voice = engines.language().prompts.voice.espeak.clone();
    let (synth, note) = crate::speech::engine(&engines.config().speech, &voice, models)?;
    if let Some(note) = note {
        eprintln!("warning: {note}");
    }
    let agent = crate::speech::PromptCache::new(synth);
    let caller = crate::rehearsal::caller_voice(&voice);
    let outcome = crate::rehearsal::rehearse(
        &engines,
        &agent,
        caller.as_ref(),
        turns,
        &store,
        chrono::Utc::now(),
    )
    .await?;
    for line in &outcome.lines {
        if json {
            println!("{}", serde_json::to_string(line)?);
        } else {
            println!("{}", line.human());
        }
    }
    if !json {
        for id in &outcome.tickets {
            println!();
            print_ticket(&store.get(*id).await?);
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
