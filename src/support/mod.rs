//! The Support section: staff see the tickets, add internal notes, move status and assign, through a
//! JSON API (`/api/...`, bearer tokens) and a server-rendered page (`/support`, the same tokens behind a
//! login). Both sit on the ticket store and record the token holder's name in the history. Served by
//! `switchboard serve` beside the calls, or alone by `switchboard support`.

pub mod api;
pub mod auth;
pub mod page;

use std::sync::Arc;

use axum::Router;

use crate::config::{AgentConfig, SupportToken};
use crate::tickets::outbox::OutboxItem;
use crate::tickets::store::{StoreError, TicketStore};
use crate::tickets::{Change, Note, Ticket};

/// What the Support section needs: the store, who may come in, and the configuration admins may view.
pub struct Support {
    pub store: TicketStore,
    pub tokens: Vec<SupportToken>,
    pub config: Arc<AgentConfig>,
}

pub type SupportState = Arc<Support>;

/// Everything staff see of one ticket, as the API returns it and the page shows it.
pub struct Case {
    pub ticket: Ticket,
    pub notes: Vec<Note>,
    pub history: Vec<Change>,
    pub notifications: Vec<OutboxItem>,
}

impl Support {
    /// Ticket `id` with its notes, history and notifications.
    pub async fn case(&self, id: i64) -> Result<Case, StoreError> {
        Ok(Case {
            ticket: self.store.get(id).await?,
            notes: self.store.notes(id).await?,
            history: self.store.history(id).await?,
            notifications: self.store.notifications(Some(id)).await?,
        })
    }
}

/// The API and the page, ready to be merged into a server's routes.
pub fn router<S>(state: SupportState) -> Router<S> {
    api::routes().merge(page::routes()).with_state(state)
}

/// Serves only the Support section until `shutdown` resolves (staff nodes need no speech models).
pub async fn serve(
    state: SupportState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app: Router = router(state).route(
        "/healthz",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
