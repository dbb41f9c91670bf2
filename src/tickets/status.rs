//! Where a ticket stands in the Support section, and which moves staff may make: open -> in_progress ->
//! resolved -> closed, a ticket in progress may be handed back (open), and a resolved or closed one may be
//! reopened. Pure; the store records each move in the ticket's history.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    Resolved,
    Closed,
}

/// A move the rules do not allow, said so that staff know what they can do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("unknown status {0:?}; one of open, in_progress, resolved, closed")]
    Unknown(String),
    #[error("a ticket cannot go from {from} to {to}; from {from} it can go to {allowed}")]
    NotAllowed {
        from: &'static str,
        to: &'static str,
        allowed: String,
    },
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Open,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StatusError> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| StatusError::Unknown(text.to_string()))
    }

    /// Where a ticket may go from here.
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Open => &[Status::InProgress, Status::Resolved],
            Status::InProgress => &[Status::Open, Status::Resolved],
            Status::Resolved => &[Status::Closed, Status::Open],
            Status::Closed => &[Status::Open],
        }
    }

    /// Checks the move to `to`.
    pub fn to(self, to: Status) -> Result<Status, StatusError> {
        if self.next().contains(&to) {
            return Ok(to);
        }
        Err(StatusError::NotAllowed {
            from: self.as_str(),
            to: to.as_str(),
            allowed: self
                .next()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_and_its_refusals() {
        use Status::*;
        assert_eq!(Open.to(InProgress), Ok(InProgress));
        assert_eq!(InProgress.to(Resolved), Ok(Resolved));
        assert_eq!(Resolved.to(Closed), Ok(Closed));
        assert_eq!(Closed.to(Open), Ok(Open), "reopen");
        assert_eq!(Resolved.to(Open), Ok(Open), "reopen");
        let err = Open.to(Closed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a ticket cannot go from open to closed; from open it can go to in_progress or resolved"
        );
        assert!(Closed.to(Closed).is_err());
        assert_eq!(Status::parse("in_progress"), Ok(InProgress));
        assert!(Status::parse("done").is_err());
    }
}
