//! The `switchboard` command line: parses the arguments and hands each subcommand to its module in
//! [`switchboard::cli`], which formats its output; the work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use switchboard::cli;
use switchboard::models::ModelDir;

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
    Models(cli::models::ModelsArgs),
    /// Validate an agent config and explain every mistake with its place in the file.
    CheckConfig(cli::check_config::CheckConfigArgs),
    /// Render every sentence the agent can say with the configured voice and read it back with the
    /// recogniser: word accuracy, render time and real-time factor per sentence. Fails if any sentence
    /// reads back below --min-accuracy (a sentence the recogniser cannot read back is a bad prompt).
    CheckPrompts(cli::check_prompts::CheckPromptsArgs),
    /// Replay a recorded call: what the agent would have heard, decided and done.
    Replay(cli::replay::ReplayArgs),
    /// Play a live call in simulated time with a scripted caller (espeak-ng over 8 kHz mu-law, no sockets):
    /// the agent hears the caller through the real recogniser and runs its real dialog. Prints the timeline
    /// and the ticket. Each turn waits for the agent to finish speaking.
    Rehearse(cli::rehearse::RehearseArgs),
    /// Answer live calls: provider media streams over WebSocket at /<provider>/stream, Twilio's webhook at
    /// /twilio/voice, /healthz and /metrics. Ctrl-C or SIGTERM drains calls in progress, then stops.
    Serve(cli::serve::ServeArgs),
    /// Serve only the Support section (`/support` page, `/api/tickets`) and deliver notifications, with no
    /// speech models: a node for staff beside the call servers, sharing their database.
    Support(cli::support::SupportArgs),
    /// Run N simultaneous simulated Twilio calls at real-time pace against a server and report what they
    /// experienced: end of speech -> the agent's answer, barge-in -> clear, lag, server CPU and memory.
    Loadtest(cli::loadtest::LoadtestArgs),
    /// Score the topic matcher on labelled lines (text or audio): precision, recall, F1, false alarms.
    Eval(cli::eval::EvalArgs),
    /// Tickets filed by calls.
    Tickets(cli::tickets::TicketsArgs),
    /// Escalations and callbacks per topic, category and transfer outcome, and staff talk time: which
    /// topics load your people most. As text, and as a picture with --plot.
    Report(cli::report::ReportArgs),
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
        Command::Models(args) => cli::models::run(&models, args),
        Command::CheckConfig(args) => cli::check_config::run(args),
        Command::CheckPrompts(args) => cli::check_prompts::run(&models, args),
        Command::Replay(args) => cli::replay::run(&models, args),
        Command::Rehearse(args) => cli::rehearse::run(&models, args),
        Command::Serve(args) => cli::serve::run(&models, args),
        Command::Support(args) => cli::support::run(args),
        Command::Loadtest(args) => cli::loadtest::run(&models, args),
        Command::Eval(args) => cli::eval::run(&models, args),
        Command::Tickets(args) => cli::tickets::run(args),
        Command::Report(args) => cli::report::run(args),
    }
}
