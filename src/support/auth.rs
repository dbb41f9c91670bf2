//! Who is asking: a bearer token (API) or the session cookie the login sets (page), matched against the
//! configured tokens in constant time. The holder's name is the actor recorded in ticket histories.

use axum::http::HeaderMap;

use crate::config::{Role, SupportToken};

/// The cookie the Support page keeps the token in (HttpOnly, SameSite=Strict).
pub const COOKIE: &str = "switchboard_support";

/// A person recognised by their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub name: String,
    pub role: Role,
}

impl Staff {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The holder of `presented`, if it is one of `tokens`.
pub fn identify(tokens: &[SupportToken], presented: &str) -> Option<Staff> {
    let presented = presented.trim();
    // Every token is compared in full, so the time taken says nothing about which one almost matched.
    let mut found = None;
    for t in tokens {
        if constant_time_eq(t.token.as_bytes(), presented.as_bytes()) {
            found = Some(Staff {
                name: t.name.clone(),
                role: t.role,
            });
        }
    }
    found
}

/// `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The session cookie's token.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| {
            form_urlencoded::parse(format!("t={value}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_holder() {
        let tokens = vec![SupportToken {
            name: "Maria".into(),
            token: "agent-token-0123456789".into(),
            role: Role::Agent,
        }];
        assert_eq!(
            identify(&tokens, "agent-token-0123456789").map(|s| s.name),
            Some("Maria".into())
        );
        assert_eq!(identify(&tokens, "agent-token-012345678"), None);
        assert_eq!(identify(&tokens, ""), None);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        headers.insert("cookie", "a=1; switchboard_support=x%2By".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        assert_eq!(cookie(&headers).as_deref(), Some("x+y"));
    }
}
