//! `switchboard loadtest`: N simultaneous simulated Twilio calls per level against a server (started here,
//! fresh for each level, or a running one), and a row per level of what they experienced.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::audio::wav::ChannelChoice;
use crate::models::ModelDir;

#[derive(clap::Args)]
pub struct LoadtestArgs {
    /// Agent config of the server this command starts (fresh for each level), unless --url is given.
    #[arg(long, short, required_unless_present = "url")]
    config: Option<PathBuf>,
    /// Simultaneous calls per level, comma-separated.
    #[arg(long, default_value = "1,8,16,32", value_delimiter = ',')]
    calls: Vec<usize>,
    /// The caller's audio (a WAV; default: the Pipecat anchor sentence voiced by espeak-ng).
    #[arg(long)]
    audio: Option<PathBuf>,
    /// A running server's Twilio stream route (ws://host:port/twilio/stream) instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// That server's process id, to measure its CPU and memory (same machine only).
    #[arg(long, requires = "url")]
    pid: Option<u32>,
    /// Seconds each call stays on after its audio, for the agent to answer.
    #[arg(long, default_value_t = 10)]
    linger: u64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(models: &ModelDir, args: LoadtestArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(loadtest(
        models,
        args.config.as_deref(),
        &args.calls,
        args.audio.as_deref(),
        args.url,
        args.pid,
        Duration::from_secs(args.linger),
        args.json,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn loadtest(
    models: &ModelDir,
    config: Option<&Path>,
    levels: &[usize],
    audio: Option<&Path>,
    url: Option<String>,
    pid: Option<u32>,
    linger: Duration,
    json: bool,
) -> Result<ExitCode> {
    use crate::loadtest::{anchor_call, run_level, Target};

    let audio = match audio {
        Some(path) => {
            let recording = crate::audio::wav::read_wav(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let caller = recording.caller_audio(ChannelChoice::Mix)?;
            let line = crate::audio::resample::resample(recording.sample_rate, 8_000, &caller)?;
            let mut bytes = Vec::new();
            crate::audio::g711::Law::MuLaw.encode_into(&line, &mut bytes);
            bytes
        }
        None => anchor_call()?,
    };
    if levels.is_empty() || levels.contains(&0) {
        bail!("--calls needs positive numbers, such as 1,8,16,32");
    }
    if !json {
        println!("{}", crate::loadtest::Level::header());
    }
    for &n in levels {
        let target = match (&url, config) {
            (Some(u), _) => Target::external(u.clone(), pid),
            (None, Some(c)) => Target::spawn(&std::env::current_exe()?, c, Some(models.path()))?,
            (None, None) => bail!("give --config (to start a server) or --url"),
        };
        let level = run_level(&target, n, &audio, linger).await?;
        if json {
            println!("{}", serde_json::to_string(&level)?);
        } else {
            println!("{}", level.row());
        }
        drop(target);
    }
    Ok(ExitCode::SUCCESS)
}
