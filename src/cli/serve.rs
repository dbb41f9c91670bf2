//! `switchboard serve`: answer live calls until Ctrl-C or SIGTERM, then drain the calls in progress.
//!
//! The node itself is started by [`crate::server::node`]; this command picks the address, database and
//! events directory from its flags or the config, prints what the operator should know, and binds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::models::ModelDir;
use crate::server;
use crate::server::node::{start_node, StartNotice};
use crate::tickets::database::Database;

#[derive(clap::Args)]
pub struct ServeArgs {
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
}

pub fn run(models: &ModelDir, args: ServeArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(
        models,
        &args.config,
        args.listen,
        args.db,
        args.events_dir,
    ))
}

/// How a start-up notice reads on stderr.
fn tell(notice: StartNotice) {
    match notice {
        StartNotice::SpeechFallback(note) => eprintln!("warning: {note}"),
        StartNotice::Speech(engine) => eprintln!("speech: {engine}"),
        StartNotice::InterruptedTransfers(tickets) => eprintln!(
            "warning: {} transfer(s) interrupted by the last shutdown, marked on tickets {:?}",
            tickets.len(),
            tickets
        ),
    }
}

async fn serve(
    models: &ModelDir,
    config_path: &Path,
    listen: Option<std::net::SocketAddr>,
    db: Option<Database>,
    events_dir: Option<PathBuf>,
) -> Result<ExitCode> {
    let loaded = super::load_config(config_path)?;
    let mut config = loaded.config;
    if let Some(dir) = events_dir {
        config.server.events_dir = dir;
    }
    let addr = listen.unwrap_or(config.server.listen);
    let db = db.unwrap_or_else(|| config.tickets_database.clone());
    let node = start_node(config, models.clone(), &db, &mut tell).await?;
    let state = node.state;
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
        asr_workers = state.pool.size(),
        asr_threads = state.engines.config().asr.pool_threads(),
        events_dir = %state.engines.config().server.events_dir.display(),
        "serving"
    );
    server::serve(state, listener, super::shutdown_signal()).await?;
    node.notifications.stop().await;
    Ok(ExitCode::SUCCESS)
}
