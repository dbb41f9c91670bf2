//! `switchboard tickets`: the tickets filed by calls, from the command line: list, show, search, and move
//! them along (notes, status, assignee) with the same rules and history as the Support section.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::tickets::database::Database;
use crate::tickets::query::TicketQuery;
use crate::tickets::{FieldStatus, Ticket};

#[derive(clap::Args)]
pub struct TicketsArgs {
    /// Ticket database (default: the config's, else switchboard.db).
    #[arg(long, global = true)]
    db: Option<Database>,
    /// Take the database path from this agent config.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    action: TicketsAction,
}

#[derive(clap::Subcommand)]
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

pub fn run(args: TicketsArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(tickets(args.db, args.config, args.action))
}

async fn tickets(
    db: Option<Database>,
    config_path: Option<PathBuf>,
    action: TicketsAction,
) -> Result<ExitCode> {
    let (db, store) = super::existing_store(db, config_path).await?;
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
            let to = crate::tickets::status::Status::parse(&status)?;
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

/// `s` on one line, cut to `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

/// One ticket in full, as `tickets show` and `rehearse` print it.
pub(super) fn print_ticket(t: &Ticket) {
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
