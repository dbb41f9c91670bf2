//! The Support JSON API. Every answer is JSON; every refusal says why in `{"error": "..."}` with the
//! status that fits (400 bad input, 401 no or unknown token, 403 role, 404 no such ticket, 409 a status
//! move the rules forbid).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, Staff};
use super::SupportState;
use crate::tickets::query::TicketQuery;
use crate::tickets::status::Status;
use crate::tickets::store::StoreError;

pub fn routes() -> Router<SupportState> {
    Router::new()
        .route("/api/tickets", get(list))
        .route("/api/tickets/{id}", get(show))
        .route("/api/tickets/{id}/notes", post(note))
        .route("/api/tickets/{id}/status", post(status))
        .route("/api/tickets/{id}/assign", post(assign))
        .route("/api/config", get(config))
        .route("/api/me", get(me))
}

/// A refusal, as JSON.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl ToString) -> Self {
        Self {
            status,
            message: message.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::Status(crate::tickets::status::StatusError::NotAllowed { .. }) => {
                StatusCode::CONFLICT
            }
            StoreError::Status(_) | StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            _ => {
                tracing::error!("support API: {e}");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the ticket database failed; nothing was changed",
                );
            }
        };
        ApiError::new(status, e)
    }
}

/// The caller's identity from `Authorization: Bearer`.
fn staff(state: &SupportState, headers: &HeaderMap) -> Result<Staff, ApiError> {
    let token = auth::bearer(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "send Authorization: Bearer <token> (a token from [support] tokens)",
        )
    })?;
    auth::identify(&state.tokens, token)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown token"))
}

/// A JSON body of type `T`, or a 400 that says what is wrong with it.
fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

fn ticket_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{raw:?} is not a ticket number"),
        )
    })
}

async fn list(
    State(state): State<SupportState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    staff(&state, &headers)?;
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let query = TicketQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
    let (tickets, total) = state.store.query(&query).await?;
    Ok(Json(json!({
        "tickets": tickets,
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
    })))
}

/// A ticket with everything staff see: attempts, notes, history, notifications (without their payload).
async fn full_ticket(state: &SupportState, id: i64) -> Result<Value, ApiError> {
    let case = state.case(id).await?;
    let mut value = serde_json::to_value(&case.ticket)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    value["notes"] = json!(case.notes);
    value["history"] = json!(case.history);
    let notifications: Vec<Value> = case
        .notifications
        .into_iter()
        .map(|n| {
            json!({
                "channel": n.channel, "recipient": n.recipient, "state": n.state,
                "attempts": n.attempts, "sent": n.sent, "last_error": n.last_error,
            })
        })
        .collect();
    value["notifications"] = json!(notifications);
    Ok(value)
}

async fn show(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    staff(&state, &headers)?;
    Ok(Json(full_ticket(&state, ticket_id(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn note(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = staff(&state, &headers)?;
    let id = ticket_id(&id)?;
    let NoteBody { text } = body(&bytes)?;
    let note = state.store.add_note(id, &who.name, &text).await?;
    Ok((StatusCode::CREATED, Json(json!(note))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

async fn status(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let who = staff(&state, &headers)?;
    let id = ticket_id(&id)?;
    let StatusBody { status } = body(&bytes)?;
    let to = Status::parse(&status).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
    state.store.set_status(id, to, &who.name).await?;
    Ok(Json(json!({ "id": id, "status": to.as_str() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// `null` takes the ticket back from whoever had it.
    assignee: Option<String>,
}

async fn assign(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let who = staff(&state, &headers)?;
    let id = ticket_id(&id)?;
    let AssignBody { assignee } = body(&bytes)?;
    state
        .store
        .assign(id, assignee.as_deref(), &who.name)
        .await?;
    Ok(Json(json!({ "id": id, "assignee": assignee })))
}

async fn me(
    State(state): State<SupportState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let who = staff(&state, &headers)?;
    Ok(Json(json!({ "name": who.name, "role": who.role })))
}

/// The configuration as staff may see it (admins only): topics with their category and priority, the
/// routing, the people with access (never their tokens), the database (never its password).
async fn config(
    State(state): State<SupportState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let who = staff(&state, &headers)?;
    if !who.is_admin() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the configuration is for admins; this token's role is agent",
        ));
    }
    Ok(Json(config_view(&state.config)))
}

pub fn config_view(c: &crate::config::AgentConfig) -> Value {
    let topics: Vec<Value> = c
        .topics()
        .map(|t| {
            let triage = c.triage.get(&t.id).copied().unwrap_or_default();
            let (category, priority) = triage.decide(t.kind, false);
            json!({
                "id": t.id, "text": t.text, "kind": t.kind, "examples": t.examples,
                "threshold": t.threshold, "category": category.as_str(), "priority": priority.as_str(),
            })
        })
        .collect();
    let routing = c.routing.as_ref().map(|n| {
        let per: serde_json::Map<String, Value> = crate::tickets::Category::ALL
            .iter()
            .map(|cat| (cat.as_str().to_string(), json!(n.routing.recipients(*cat))))
            .collect();
        json!({
            "categories": per,
            "smtp": n.smtp.as_ref().map(|s| format!("{}:{}", s.host, s.port)),
            "webhooks_signed": n.webhook_secret.is_some(),
        })
    });
    let people: Vec<Value> = c
        .support_tokens
        .iter()
        .map(|t| json!({ "name": t.name, "role": t.role }))
        .collect();
    json!({
        "agent": { "name": c.agent.name, "phone_number": c.agent.phone_number, "support": format!("{:?}", c.agent.support).to_lowercase(), "timezone": c.agent.timezone.name() },
        "topics": topics,
        "escalation_targets": c.escalation.targets.iter().map(|t| json!({"number": t.number, "name": t.name, "topics": t.topics})).collect::<Vec<_>>(),
        "routing": routing,
        "support": people,
        "tickets_database": c.tickets_database.to_string(),
    })
}
