//! Which team a ticket goes to and how soon: the category (Service, Accounting, Other) and priority a
//! topic carries in the config, and the evidence that the call raised it. Pure.

use serde::{Deserialize, Serialize};

use crate::topics::TopicKind;

/// The team a ticket is routed to (`[routing]` names the recipients of each).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Service,
    Accounting,
    /// Anything no topic mapping places elsewhere.
    #[default]
    Other,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Service, Category::Accounting, Category::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Service => "service",
            Category::Accounting => "accounting",
            Category::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text.trim())
    }
}

/// How soon staff should act.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text.trim())
    }

    /// One step more urgent (an upset caller): urgent stays urgent.
    pub fn raised(self) -> Self {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }
}

/// What a topic's config says about its tickets (`category`, `priority` on the topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Triage {
    pub category: Option<Category>,
    pub priority: Option<Priority>,
}

impl Triage {
    /// The category and priority of a ticket about a topic of `kind` with this triage. Unset, an
    /// escalation (a person is needed now) is high and a callback normal; an upset caller raises either by
    /// one step, so the angriest calls come first in the Support section.
    pub fn decide(self, kind: TopicKind, upset: bool) -> (Category, Priority) {
        let base = self.priority.unwrap_or(match kind {
            TopicKind::Escalation => Priority::High,
            TopicKind::Callback => Priority::Normal,
        });
        let priority = if upset { base.raised() } else { base };
        (self.category.unwrap_or_default(), priority)
    }
}

/// One topic heard on a call: the caller's words that carried it and how sure the matcher was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicEvidence {
    pub topic: String,
    pub kind: TopicKind,
    pub score: f32,
    pub evidence: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_topic_kind_and_the_mood() {
        let none = Triage::default();
        assert_eq!(
            none.decide(TopicKind::Escalation, false),
            (Category::Other, Priority::High)
        );
        assert_eq!(
            none.decide(TopicKind::Callback, true),
            (Category::Other, Priority::High)
        );
        let billing = Triage {
            category: Some(Category::Accounting),
            priority: Some(Priority::Low),
        };
        assert_eq!(
            billing.decide(TopicKind::Callback, false),
            (Category::Accounting, Priority::Low)
        );
        assert_eq!(Priority::Urgent.raised(), Priority::Urgent);
        assert_eq!(Category::parse("accounting"), Some(Category::Accounting));
        assert_eq!(Priority::parse("urgent"), Some(Priority::Urgent));
        assert_eq!(Category::parse("sales"), None);
    }
}
