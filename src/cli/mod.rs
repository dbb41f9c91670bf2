//! The `switchboard` subcommands: one module each, holding its clap arguments, the calls into the library
//! that do the work, and the formatting of what it prints. `src/main.rs` only parses the command line and
//! dispatches here.
//!
//! This module keeps what several commands share (loading a config with its warnings, opening an
//! existing ticket store, waiting for Ctrl-C or SIGTERM). It must not hold the work itself: a command that
//! grows logic of its own moves that logic into the library, where tests can reach it without a process.

pub mod check_config;
pub mod check_prompts;
pub mod eval;
pub mod loadtest;
pub mod models;
pub mod rehearse;
pub mod replay;
pub mod report;
pub mod serve;
pub mod support;
pub mod tickets;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::config;
use crate::tickets::database::Database;
use crate::tickets::store::TicketStore;

/// Loads the agent config at `path` and prints each of its warnings with its place in the file.
fn load_config(path: &Path) -> Result<config::Loaded> {
    let loaded = config::load(path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {}:{w}", path.display());
    }
    Ok(loaded)
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
