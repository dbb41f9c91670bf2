//! `switchboard replay`: play recorded calls through the engines and the call core, and print what the
//! agent would have heard, decided and done (a timeline, or the JSON lines of the event contract).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::audio::wav::ChannelChoice;
use crate::config;
use crate::engines::Engines;
use crate::events::EventLine;
use crate::models::ModelDir;
use crate::replay::{RecogniserLatency, ReplayOptions};
use crate::tickets::database::Database;
use crate::tickets::store::TicketStore;

#[derive(clap::Args)]
pub struct ReplayArgs {
    #[arg(long, short)]
    config: PathBuf,
    /// Print JSON lines (the event contract) instead of a timeline.
    #[arg(long)]
    json: bool,
    /// Which channel is the caller: `mix` (default) or a 0-based channel index.
    #[arg(long, default_value = "mix", value_parser = parse_channel)]
    channel: ChannelChoice,
    /// The caller's number (E.164), used in summaries and tickets.
    #[arg(long)]
    caller: Option<String>,
    /// When the call took place (RFC 3339, e.g. 2026-12-05T10:00:00-05:00; default: now): business
    /// hours and relative callback times are read from it.
    #[arg(long, value_parser = parse_moment)]
    at: Option<chrono::DateTime<chrono::Utc>>,
    /// Decide on partial transcripts as the live call does (on its call-time grid).
    #[arg(long)]
    partials: bool,
    /// How the recogniser's latency is modelled: `measured` (default: each answer lands as late as this
    /// machine took, as on a live call) or `zero` (at once: deterministic, earlier than live).
    #[arg(long, default_value = "measured", value_parser = parse_latency)]
    latency: RecogniserLatency,
    /// Ticket database (default: `[tickets] database` of the config, else switchboard.db).
    #[arg(long)]
    db: Option<Database>,
    /// Recordings (WAV) to replay, one call each.
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
}

/// `--at`: an RFC 3339 moment.
fn parse_moment(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            format!("{text:?} is not an RFC 3339 time such as 2026-12-05T10:00:00-05:00: {e}")
        })
}

fn parse_latency(s: &str) -> Result<RecogniserLatency, String> {
    match s {
        "measured" => Ok(RecogniserLatency::Measured),
        "zero" => Ok(RecogniserLatency::Zero),
        other => Err(format!("{other:?} is neither `measured` nor `zero`")),
    }
}

fn parse_channel(s: &str) -> Result<ChannelChoice, String> {
    if s == "mix" {
        return Ok(ChannelChoice::Mix);
    }
    s.parse::<usize>()
        .map(ChannelChoice::Only)
        .map_err(|_| format!("{s:?} is neither `mix` nor a channel index (0, 1, ...)"))
}

/// Fails (exit 1) when any recording could not be replayed; the others are still replayed.
pub fn run(models: &ModelDir, args: ReplayArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    let options = ReplayOptions {
        channel: args.channel,
        caller: args.caller,
        call_id: None,
        at: args.at,
        latency: args.latency,
        partials: args.partials,
    };
    runtime.block_on(replay_calls(
        models,
        &args.config,
        args.json,
        options,
        args.db,
        &args.recordings,
    ))
}

async fn replay_calls(
    models: &ModelDir,
    config_path: &Path,
    json: bool,
    options: ReplayOptions,
    db: Option<Database>,
    recordings: &[PathBuf],
) -> Result<ExitCode> {
    let loaded = super::load_config(config_path)?;
    if let Some(caller) = &options.caller {
        if !config::is_e164(caller) {
            bail!("--caller {caller:?} is not an E.164 number");
        }
    }
    let db = db.unwrap_or_else(|| loaded.config.tickets_database.clone());
    let store = TicketStore::open(&db).await?;
    let support = loaded.config.agent.support;
    let engines = Engines::new(loaded.config, models.clone())?;
    let stdout = std::io::stdout();
    let mut failed = 0;
    for wav in recordings {
        if !json {
            println!(
                "== replaying {} with {} (support = \"{}\")",
                wav.display(),
                config_path.display(),
                support.as_str()
            );
        }
        let mut write_error = None;
        let mut sink = |line: &EventLine| {
            let mut out = stdout.lock();
            let written = if json {
                serde_json::to_string(line)
                    .map_err(std::io::Error::other)
                    .and_then(|s| writeln!(out, "{s}"))
            } else {
                writeln!(out, "{}", line.human())
            };
            if let Err(e) = written {
                write_error.get_or_insert(e);
            }
        };
        match crate::replay::replay(&engines, wav, &options, &store, &mut sink).await {
            Ok(outcome) => {
                if let Some(e) = write_error {
                    return Err(e).context("writing the timeline");
                }
                if !json {
                    if outcome.heard_ms + 500 < outcome.duration_ms {
                        println!(
                            "   (the agent's part of the call ended at {:.1} s; {:.1} s of recording after it were not heard)",
                            outcome.heard_ms as f64 / 1000.0,
                            (outcome.duration_ms - outcome.heard_ms) as f64 / 1000.0
                        );
                    }
                    for id in &outcome.tickets {
                        println!(
                            "   ticket #{id} is in {} (`switchboard tickets --db {} show {id}`)",
                            db, db
                        );
                    }
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e}", wav.display());
            }
        }
    }
    store.close().await;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
