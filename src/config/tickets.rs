//! `[tickets]`: where tickets are stored (a SQLite file, or a PostgreSQL URL that may be a secret). The
//! store itself is `crate::tickets::database`.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::env::secret;
use super::Findings;
use crate::tickets::database::Database;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTickets {
    database: Spanned<String>,
}

/// Checks `[tickets]`; without it, tickets go to `switchboard.db` in the working directory.
pub(super) fn database(f: &mut Findings<'_>, raw: Option<RawTickets>) -> Database {
    match raw {
        Some(t) => {
            let span = t.database.span();
            match secret(f, "tickets.database", Some(t.database)) {
                Some(text) => {
                    let db = Database::parse(&text);
                    if let Database::Postgres(url) = &db {
                        if url::Url::parse(url).map_or(true, |u| u.host_str().is_none()) {
                            f.error(
                                "tickets.database",
                                span,
                                "not a PostgreSQL URL: postgres://user:password@host:5432/database",
                            );
                        }
                    }
                    db
                }
                None => Database::Sqlite(PathBuf::new()),
            }
        }
        None => Database::Sqlite(PathBuf::from("switchboard.db")),
    }
}
