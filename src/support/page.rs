//! The Support page: server-rendered HTML (maud escapes everything interpolated), plain forms, one small
//! stylesheet inline. Nothing is loaded from elsewhere, so it works on a closed network and a strict
//! content security policy.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::auth::{self, Staff};
use super::SupportState;
use crate::tickets::query::TicketQuery;
use crate::tickets::status::Status;
use crate::tickets::Category;

pub fn routes() -> Router<SupportState> {
    Router::new()
        .route("/support", get(list))
        .route("/support/login", post(login))
        .route("/support/logout", post(logout))
        .route("/support/tickets/{id}", get(ticket))
        .route("/support/tickets/{id}/note", post(note))
        .route("/support/tickets/{id}/status", post(status))
        .route("/support/tickets/{id}/assign", post(assign))
}

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1em;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}
main{padding:1em 1.2em;max-width:1100px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e1e4ea;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
.filters{display:flex;flex-wrap:wrap;gap:.5em;margin-bottom:1em;align-items:end}
.filters label{display:flex;flex-direction:column;font-size:12px;color:#555}
.badge{display:inline-block;padding:0 .45em;border-radius:.6em;background:#e1e4ea;font-size:12px}
.urgent,.high{background:#fbd5d5}.in_progress{background:#fde9b8}.resolved,.closed{background:#cfeccf}
.card{background:#fff;border:1px solid #e1e4ea;border-radius:6px;padding:.8em 1em;margin:0 0 1em}
pre{white-space:pre-wrap;margin:0}.flash{padding:.5em 1em;border-radius:4px;margin-bottom:1em}
.ok{background:#d9f2d9}.err{background:#fbd5d5}textarea{width:100%;min-height:5em}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1em}
"#;

fn page(title: &str, who: Option<&Staff>, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Support · switchboard" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/support" { "Support" }
                    @if let Some(who) = who {
                        span #who { (who.name) " (" (format!("{:?}", who.role).to_lowercase()) ")" }
                        form method="post" action="/support/logout" { button type="submit" { "Log out" } }
                    }
                }
                main { (body) }
            }
        }
    };
    let mut response = markup.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The person logged in, from the session cookie.
fn staff(state: &SupportState, headers: &HeaderMap) -> Option<Staff> {
    auth::identify(&state.tokens, &auth::cookie(headers)?)
}

fn login_page(message: Option<&str>) -> Response {
    let body = html! {
        div.card style="max-width:28em" {
            h1 { "Log in" }
            @if let Some(m) = message { p.flash.err { (m) } }
            form method="post" action="/support/login" {
                label for="token" { "Your support token" }
                br;
                input #token type="password" name="token" autocomplete="current-password" required style="width:100%";
                p { button #login type="submit" { "Log in" } }
            }
        }
    };
    page("Log in", None, body)
}

fn form(bytes: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn login(State(state): State<SupportState>, bytes: Bytes) -> Response {
    let pairs = form(&bytes);
    let token = field(&pairs, "token").unwrap_or("");
    if auth::identify(&state.tokens, token).is_none() {
        let mut r = login_page(Some(
            "That token is not one of this business's support tokens.",
        ));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    }
    let value: String = form_urlencoded::byte_serialize(token.trim().as_bytes()).collect();
    let cookie = format!(
        "{}={value}; Path=/support; HttpOnly; SameSite=Strict",
        auth::COOKIE
    );
    let mut r = Redirect::to("/support").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout() -> Response {
    let mut r = Redirect::to("/support").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{}=; Path=/support; HttpOnly; SameSite=Strict; Max-Age=0",
            auth::COOKIE
        ))
        .expect("a fixed header"),
    );
    r
}

fn problem(message: &str) -> Markup {
    html! { p.flash.err { (message) } }
}

async fn list(
    State(state): State<SupportState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(who) = staff(&state, &headers) else {
        return login_page(None);
    };
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let value = |name: &str| field(&pairs, name).unwrap_or("").to_string();
    let (query, trouble) =
        match TicketQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Ok(q) => (q, None),
            Err(e) => (TicketQuery::all(), Some(e.to_string())),
        };
    let (tickets, total) = match state.store.query(&query).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!("support page: {e}");
            return page(
                "Tickets",
                Some(&who),
                problem("The ticket database failed; try again."),
            );
        }
    };
    let select = |name: &str, options: &[&str], label: &str| {
        let current = value(name);
        html! {
            label { (label)
                select name=(name) id=(format!("filter-{name}")) {
                    option value="" { "any" }
                    @for o in options {
                        option value=(o) selected[current == *o] { (o) }
                    }
                }
            }
        }
    };
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    let page_no = query.offset / query.limit.max(1) + 1;
    let pages = ((total.max(0) as u64).div_ceil(u64::from(query.limit.max(1)))).max(1);
    let link = |to_page: u32| {
        let mut kept: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "offset")
            .cloned()
            .collect();
        kept.push(("page".into(), to_page.to_string()));
        let qs: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish();
        format!("/support?{qs}")
    };
    let body = html! {
        h1 { "Tickets" }
        @if let Some(t) = &trouble { (problem(t)) }
        form.filters method="get" action="/support" {
            label { "Search"
                input #search type="search" name="q" value=(value("q")) placeholder="words in summary, transcript, caller, notes";
            }
            (select("status", &statuses, "Status"))
            (select("kind", &["escalation", "callback"], "Kind"))
            (select("category", &categories, "Category"))
            label { "Topic" input name="topic" value=(value("topic")) size="14"; }
            label { "Since" input type="date" name="since" value=(value("since")); }
            button #apply type="submit" { "Show" }
        }
        p #count { (total) " ticket(s)" @if pages > 1 { ", page " (page_no) " of " (pages) } }
        table #tickets {
            thead { tr { th { "#" } th { "Filed" } th { "Kind" } th { "Category" } th { "Priority" } th { "Status" } th { "Topic" } th { "Caller" } th { "Summary" } } }
            tbody {
                @for t in &tickets {
                    tr {
                        td { a.ticket-link href=(format!("/support/tickets/{}", t.id)) { "#" (t.id) } }
                        td { (short_time(&t.created)) }
                        td { (t.draft.kind.as_str()) }
                        td { (t.draft.category.as_str()) }
                        td { span class=(format!("badge {}", t.draft.priority.as_str())) { (t.draft.priority.as_str()) } }
                        td { span class=(format!("badge {}", t.status)) { (t.status) } }
                        td { (t.draft.topic.as_deref().unwrap_or("")) }
                        td { (t.draft.caller.as_deref().unwrap_or("unknown")) }
                        td { (t.draft.summary) }
                    }
                }
            }
        }
        p {
            @if page_no > 1 { a #previous href=(link(page_no - 1)) { "← newer" } " " }
            @if u64::from(page_no) < pages { a #next href=(link(page_no + 1)) { "older →" } }
        }
    };
    page("Tickets", Some(&who), body)
}

/// `2026-12-02 06:36 UTC`: minutes are enough to work a ticket; the zone says how to read it.
fn short_time(stamp: &str) -> String {
    format!("{} UTC", stamp.get(..16).unwrap_or(stamp).replace('T', " "))
}

fn ticket_view(case: &super::Case, flash: Option<(bool, String)>) -> Markup {
    let t = &case.ticket;
    let allowed: Vec<Status> = Status::parse(&t.status)
        .map(|s| s.next().to_vec())
        .unwrap_or_default();
    html! {
        p { a href="/support" { "← all tickets" } }
        @if let Some((ok, message)) = &flash {
            p class=(if *ok { "flash ok" } else { "flash err" }) #flash { (message) }
        }
        h1 #title { "#" (t.id) " " (t.draft.kind.as_str()) @if let Some(topic) = &t.draft.topic { " · " (topic) } }
        p {
            span #status class=(format!("badge {}", t.status)) { (t.status) } " "
            span class=(format!("badge {}", t.draft.priority.as_str())) { (t.draft.priority.as_str()) " priority" } " "
            span.badge { (t.draft.category.as_str()) } " "
            "filed " (short_time(&t.created)) " · call " (t.draft.call_id) " · caller " (t.draft.caller.as_deref().unwrap_or("unknown"))
            @if let Some(a) = &t.assignee { " · assigned to " strong #assignee { (a) } }
        }
        div.card #summary { h2 { "Summary" } p { (t.draft.summary) }
            @if let Some(p) = &t.draft.promise { p { "Promised to the caller: " em { (p) } } }
            @if let Some(n) = &t.draft.note { p { "Note from the agent: " (n) } }
        }
        div.grid {
            div.card #fields { h2 { "Fields" }
                @if t.draft.fields.is_empty() { p { "None asked." } } @else {
                    table { @for f in &t.draft.fields { tr {
                        th { (f.name) }
                        td { (f.spoken.as_deref().or(f.value.as_deref()).unwrap_or("—")) @if let Some(raw) = &f.raw { br; small { "heard: " (raw) } } }
                        td { span.badge { (f.status.as_str()) } @if f.confirmed { " confirmed" } }
                    } } }
                }
            }
            div.card #topics { h2 { "Topics heard" }
                @if t.draft.topics.is_empty() { p { (t.draft.topic.as_deref().unwrap_or("—")) } } @else {
                    table { @for e in &t.draft.topics { tr { th { (e.topic) } td { "“" (e.evidence) "”" } td { (format!("{:.2}", e.score)) } } } }
                }
            }
        }
        div.card #transcript { h2 { "Transcript" } pre { (t.draft.transcript) } }
        @if !t.attempts.is_empty() {
            div.card #attempts { h2 { "Transfer" @if let Some(s) = &t.transfer_status { " · " (s) } }
                table { tr { th { "#" } th { "Target" } th { "Started" } th { "Outcome" } th { "Talk" } }
                    @for a in &t.attempts { tr { td { (a.attempt) } td { (a.target) } td { (short_time(&a.started)) } td { (a.outcome.as_deref().unwrap_or("ringing")) } td { (a.talk_seconds.map(|s| format!("{s} s")).unwrap_or_default()) } } } }
            }
        }
        div.grid {
            div.card #notes { h2 { "Internal notes" }
                @for n in &case.notes { div.note { p { strong { (n.author) } " · " (short_time(&n.created)) } p { (n.text) } } }
                form method="post" action=(format!("/support/tickets/{}/note", t.id)) {
                    textarea #note-text name="text" required placeholder="Only staff see notes" {}
                    button #add-note type="submit" { "Add note" }
                }
            }
            div.card #work { h2 { "Work on it" }
                form method="post" action=(format!("/support/tickets/{}/status", t.id)) {
                    label for="status-select" { "Move to " }
                    select #status-select name="status" { @for s in &allowed { option value=(s.as_str()) { (s.as_str()) } } }
                    " " button #change-status type="submit" { "Change status" }
                }
                form method="post" action=(format!("/support/tickets/{}/assign", t.id)) style="margin-top:.8em" {
                    label for="assignee-input" { "Assign to " }
                    input #assignee-input name="assignee" value=(t.assignee.as_deref().unwrap_or("")) placeholder="nobody";
                    " " button #assign type="submit" { "Assign" }
                }
                @if !case.notifications.is_empty() {
                    h3 { "Notified" }
                    ul #notifications { @for n in &case.notifications { li { (n.channel) " " (n.recipient) ": " (n.state) @if let Some(e) = &n.last_error { " (" (e) ")" } } } }
                }
            }
        }
        div.card { h2 { "History" }
            table #history { tr { th { "When" } th { "Who" } th { "What" } th { "Detail" } }
                @for c in &case.history { tr { td { (short_time(&c.at)) } td { (c.actor) } td { (c.change) } td { (c.detail.as_deref().unwrap_or("")) } } } }
        }
    }
}

fn ticket_number(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

async fn ticket(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(who) = staff(&state, &headers) else {
        return login_page(None);
    };
    let Some(id) = ticket_number(&id) else {
        return not_found(&who, &id);
    };
    let case = match state.case(id).await {
        Ok(case) => case,
        Err(crate::tickets::store::StoreError::NotFound(_)) => {
            return not_found(&who, &id.to_string())
        }
        Err(e) => {
            tracing::error!("support page: {e}");
            return page(
                "Ticket",
                Some(&who),
                problem("The ticket database failed; try again."),
            );
        }
    };
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let flash = field(&pairs, "done")
        .map(|m| (true, m.to_string()))
        .or_else(|| field(&pairs, "error").map(|m| (false, m.to_string())));
    page(&format!("#{id}"), Some(&who), ticket_view(&case, flash))
}

fn not_found(who: &Staff, id: &str) -> Response {
    let mut r = page(
        "Not found",
        Some(who),
        problem(&format!("There is no ticket {id}.")),
    );
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// Back to the ticket, saying how the change went.
fn back(id: i64, outcome: Result<String, String>) -> Response {
    let (key, message) = match outcome {
        Ok(m) => ("done", m),
        Err(m) => ("error", m),
    };
    let qs: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(key, &message)
        .finish();
    Redirect::to(&format!("/support/tickets/{id}?{qs}")).into_response()
}

/// Runs a change made from the page by the person logged in.
async fn change<F, Fut>(state: SupportState, headers: HeaderMap, id: String, act: F) -> Response
where
    F: FnOnce(SupportState, Staff, i64) -> Fut,
    Fut: std::future::Future<Output = Result<String, crate::tickets::store::StoreError>>,
{
    let Some(who) = staff(&state, &headers) else {
        return login_page(Some("Log in first."));
    };
    let Some(id) = ticket_number(&id) else {
        return not_found(&who, &id);
    };
    back(id, act(state, who, id).await.map_err(|e| e.to_string()))
}

async fn note(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let text = field(&form(&bytes), "text").unwrap_or("").to_string();
    change(state, headers, id, |state, who, id| async move {
        state.store.add_note(id, &who.name, &text).await?;
        Ok("Note added.".to_string())
    })
    .await
}

async fn status(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let wanted = field(&form(&bytes), "status").unwrap_or("").to_string();
    change(state, headers, id, |state, who, id| async move {
        let to = Status::parse(&wanted)?;
        state.store.set_status(id, to, &who.name).await?;
        Ok(format!("Status is now {}.", to.as_str()))
    })
    .await
}

async fn assign(
    State(state): State<SupportState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let name = field(&form(&bytes), "assignee")
        .unwrap_or("")
        .trim()
        .to_string();
    change(state, headers, id, |state, who, id| async move {
        let assignee = (!name.is_empty()).then_some(name.as_str());
        state.store.assign(id, assignee, &who.name).await?;
        Ok(match assignee {
            Some(a) => format!("Assigned to {a}."),
            None => "Assigned to nobody.".to_string(),
        })
    })
    .await
}
