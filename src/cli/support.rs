//! `switchboard support`: serve only the Support section and deliver notifications, with no speech
//! models: a node for staff beside the call servers, sharing their database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::server::node::open_store;
use crate::tickets::database::Database;

#[derive(clap::Args)]
pub struct SupportArgs {
    #[arg(long, short)]
    config: PathBuf,
    /// Address to listen on (default: `[server] listen` of the config); port 0 picks a free port.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Ticket database (default: `[tickets] database` of the config, else switchboard.db).
    #[arg(long)]
    db: Option<Database>,
}

pub fn run(args: SupportArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(support(&args.config, args.listen, args.db))
}

async fn support(
    config_path: &Path,
    listen: Option<std::net::SocketAddr>,
    db: Option<Database>,
) -> Result<ExitCode> {
    let loaded = super::load_config(config_path)?;
    let config = loaded.config;
    if config.support_tokens.is_empty() {
        eprintln!(
            "warning: {}: no [support] tokens: nobody can log in to the Support section",
            config_path.display()
        );
    }
    let db = db.unwrap_or_else(|| config.tickets_database.clone());
    let (store, notifications) = open_store(&config, &db).await?;
    let addr = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!("listening on {}", listener.local_addr()?);
    let state = std::sync::Arc::new(crate::support::Support {
        store,
        tokens: config.support_tokens.clone(),
        config: std::sync::Arc::new(config),
    });
    crate::support::serve(state, listener, super::shutdown_signal()).await?;
    notifications.stop().await;
    Ok(ExitCode::SUCCESS)
}
