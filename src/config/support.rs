//! `[support]`: who may use the Support API and page. Each person has a bearer token and a role; their
//! name is what the ticket history records for what they do.

use serde::Deserialize;
use toml::Spanned;

use super::{secret, Findings};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupport {
    #[serde(default)]
    tokens: Vec<Spanned<RawToken>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: Spanned<String>,
    token: Spanned<String>,
    role: Spanned<String>,
}

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read tickets, add notes, move status, assign.
    Agent,
    /// Everything an agent does, and see the configuration.
    Admin,
}

/// One person allowed into the Support section.
#[derive(Clone, PartialEq)]
pub struct SupportToken {
    pub name: String,
    pub token: String,
    pub role: Role,
}

impl std::fmt::Debug for SupportToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SupportToken({}, {:?})", self.name, self.role)
    }
}

/// Tokens shorter than this are refused: they would be guessed.
const MIN_TOKEN_CHARS: usize = 16;

pub(super) fn support(f: &mut Findings<'_>, raw: Option<Spanned<RawSupport>>) -> Vec<SupportToken> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let mut out: Vec<SupportToken> = Vec::new();
    for (i, entry) in raw.into_inner().tokens.into_iter().enumerate() {
        let field = format!("support.tokens[{i}]");
        let span = entry.span();
        let t = entry.into_inner();
        let role = match t.role.get_ref().as_str() {
            "agent" => Role::Agent,
            "admin" => Role::Admin,
            other => {
                f.error(
                    &format!("{field}.role"),
                    t.role.span(),
                    format!("unknown role {other:?}; one of agent, admin"),
                );
                continue;
            }
        };
        let name = t.name.get_ref().trim().to_string();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            f.error(
                &format!("{field}.name"),
                t.name.span(),
                "a name is 1 to 100 printable characters",
            );
            continue;
        }
        let Some(token) = secret(f, &format!("{field}.token"), Some(t.token)) else {
            continue;
        };
        if token.chars().count() < MIN_TOKEN_CHARS || token.chars().any(char::is_whitespace) {
            f.error(
                &format!("{field}.token"),
                span,
                format!("a token has at least {MIN_TOKEN_CHARS} characters and no spaces"),
            );
            continue;
        }
        if out.iter().any(|o| o.token == token) {
            f.error(
                &format!("{field}.token"),
                span,
                "two people share this token: the history could not tell them apart",
            );
            continue;
        }
        out.push(SupportToken { name, token, role });
    }
    out
}
