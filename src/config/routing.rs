//! `[routing]`: who hears about tickets of each category, and how mail and webhooks leave. A category
//! without recipients is refused unless `default` catches it, so an escalation never reaches nobody.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{secret, Findings};
use crate::tickets::outbox::{Recipient, Routing};
use crate::tickets::Category;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    service: Option<Spanned<Vec<Spanned<String>>>>,
    accounting: Option<Spanned<Vec<Spanned<String>>>>,
    other: Option<Spanned<Vec<Spanned<String>>>>,
    default: Option<Spanned<Vec<Spanned<String>>>>,
    smtp: Option<Spanned<RawSmtp>>,
    webhook_secret: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Spanned<String>,
    port: Option<Spanned<i64>>,
    from: Spanned<String>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    security: Option<Spanned<String>>,
}

/// How notifications leave: the routing itself, the mail server, the webhook signing key.
#[derive(Debug, Clone, PartialEq)]
pub struct Notifications {
    pub routing: Routing,
    pub smtp: Option<SmtpSettings>,
    /// Signs each webhook body (HMAC-SHA256): receivers check it with the same secret.
    pub webhook_secret: Option<String>,
}

/// `[routing.smtp]`: the mail server notifications are handed to.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub security: SmtpSecurity,
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// STARTTLS on the submission port.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

pub(super) fn routing(
    f: &mut Findings<'_>,
    raw: Option<Spanned<RawRouting>>,
) -> Option<Notifications> {
    let Some(raw) = raw else {
        f.warn(
            "routing",
            0..0,
            "no [routing]: tickets are stored but no team is notified",
        );
        return None;
    };
    let span = raw.span();
    let r = raw.into_inner();
    let default = r
        .default
        .map(|list| recipients(f, "routing.default", list))
        .unwrap_or_default();
    let mut categories = BTreeMap::new();
    for (category, list) in [
        (Category::Service, r.service),
        (Category::Accounting, r.accounting),
        (Category::Other, r.other),
    ] {
        let field = format!("routing.{}", category.as_str());
        let (found, place) = match list {
            Some(list) => {
                let place = list.span();
                (recipients(f, &field, list), place)
            }
            None => (Vec::new(), span.clone()),
        };
        if found.is_empty() && default.is_empty() {
            f.error(
                &field,
                place,
                format!(
                    "no recipient for {} tickets and no `default`: escalations routed here would reach nobody",
                    category.as_str()
                ),
            );
        }
        categories.insert(category, found);
    }
    let routing = Routing {
        categories,
        default,
    };
    let every: Vec<&Recipient> = Category::ALL
        .iter()
        .flat_map(|c| routing.recipients(*c))
        .collect();
    let smtp = r.smtp.and_then(|s| smtp(f, s));
    if smtp.is_none() && every.iter().any(|r| matches!(r, Recipient::Email(_))) {
        f.warn(
            "routing.smtp",
            span.clone(),
            "e-mail recipients but no [routing.smtp] (host, port, from): their mails wait in the outbox until one is set",
        );
    }
    let webhook_secret = secret(f, "routing.webhook_secret", r.webhook_secret);
    if webhook_secret.is_none() && every.iter().any(|r| matches!(r, Recipient::Webhook(_))) {
        f.warn(
            "routing.webhook_secret",
            span,
            "webhooks are sent unsigned without `webhook_secret`: receivers cannot tell them from forgeries",
        );
    }
    Some(Notifications {
        routing,
        smtp,
        webhook_secret,
    })
}

fn recipients(
    f: &mut Findings<'_>,
    field: &str,
    list: Spanned<Vec<Spanned<String>>>,
) -> Vec<Recipient> {
    let mut out = Vec::new();
    for r in list.into_inner() {
        let text = r.get_ref().trim();
        if is_recipient(text) {
            out.push(Recipient::parse(text));
        } else {
            f.error(
                field,
                r.span(),
                format!(
                    "{:?} is neither an e-mail address nor an http(s) webhook URL",
                    r.get_ref()
                ),
            );
        }
    }
    out
}

fn smtp(f: &mut Findings<'_>, raw: Spanned<RawSmtp>) -> Option<SmtpSettings> {
    let span: Range<usize> = raw.span();
    let s = raw.into_inner();
    let security = match s.security.as_ref().map(|v| v.get_ref().as_str()) {
        None | Some("starttls") => SmtpSecurity::StartTls,
        Some("none") => SmtpSecurity::None,
        Some("tls") => SmtpSecurity::Tls,
        Some(other) => {
            f.error(
                "routing.smtp.security",
                s.security.as_ref().map_or(span.clone(), |v| v.span()),
                format!("unknown security {other:?}; one of none, starttls, tls"),
            );
            return None;
        }
    };
    let default_port = match security {
        SmtpSecurity::None => 25,
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::Tls => 465,
    };
    let port = match s.port {
        None => default_port,
        Some(p) => match u16::try_from(*p.get_ref()) {
            Ok(port) if port > 0 => port,
            _ => {
                f.error("routing.smtp.port", p.span(), "a port is 1 to 65535");
                return None;
            }
        },
    };
    if s.host.get_ref().trim().is_empty() {
        f.error(
            "routing.smtp.host",
            s.host.span(),
            "the mail server host is empty",
        );
        return None;
    }
    let from = s.from.get_ref().trim().to_string();
    if !is_recipient(&from) || from.contains("://") {
        f.error(
            "routing.smtp.from",
            s.from.span(),
            format!("{from:?} is not an e-mail address"),
        );
        return None;
    }
    let username = s.username.map(|u| u.into_inner());
    let password = secret(f, "routing.smtp.password", s.password);
    if username.is_some() != password.is_some() {
        f.error(
            "routing.smtp",
            span,
            "`username` and `password` go together (or neither, for a relay that needs no login)",
        );
        return None;
    }
    Some(SmtpSettings {
        host: s.host.into_inner().trim().to_string(),
        port,
        from,
        username,
        password,
        security,
    })
}

/// True for an e-mail address or an http(s) webhook URL: the two kinds of recipient.
fn is_recipient(r: &str) -> bool {
    if let Some(rest) = r
        .strip_prefix("https://")
        .or_else(|| r.strip_prefix("http://"))
    {
        return !rest.is_empty() && !rest.contains(char::is_whitespace);
    }
    match r.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !r.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}
