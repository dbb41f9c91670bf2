//! How callers say the values the callback dialog collects (`prompts/<lang>/fields.toml`): digits, numbers
//! said as words, yes and no, e-mail addresses, callback times.
//!
//! Word data only. The extractors that read an answer with these words (`call::extract`) implement their
//! behaviour on these types where they live, so this module never imports `call`.

use std::collections::HashMap;

use serde::Deserialize;

/// `prompts/<lang>/fields.toml`: how callers say the values the callback dialog collects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldWords {
    pub numbers: NumberWords,
    pub cardinals: Cardinals,
    pub answers: AnswerWords,
    pub email: EmailWords,
    pub time: TimeWords,
}

impl FieldWords {
    /// The shape checks serde cannot make: ten digits, seven weekdays.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.numbers.digits.len() != 10 {
            return Err("[numbers] digits must list the words of each digit 0 to 9".into());
        }
        if self.time.weekdays.len() != 7 {
            return Err("[time] weekdays must list 7 days, Monday first".into());
        }
        Ok(())
    }
}

/// `[numbers]` of `prompts/<lang>/fields.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberWords {
    /// `digits[d]` are the words for digit `d`.
    pub digits: Vec<Vec<String>>,
    pub repeats: HashMap<String, usize>,
    pub zeros: HashMap<String, usize>,
    pub plus: Vec<String>,
    pub between: Vec<String>,
}

/// `[cardinals]` of `prompts/<lang>/fields.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cardinals {
    pub units: HashMap<String, u64>,
    pub scales: HashMap<String, u64>,
    pub joiners: Vec<String>,
}

/// `[answers]` of `prompts/<lang>/fields.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerWords {
    pub yes: Vec<String>,
    pub no: Vec<String>,
    pub decline: Vec<String>,
    pub repeat: Vec<String>,
    pub correction: Vec<String>,
}

/// `[email]` of `prompts/<lang>/fields.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailWords {
    pub at: Vec<String>,
    pub dot: Vec<String>,
    pub symbols: HashMap<String, String>,
    pub filler: Vec<String>,
}

/// `[time]` of `prompts/<lang>/fields.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWords {
    pub days: HashMap<String, i64>,
    pub weekdays: Vec<Vec<String>>,
    pub parts: HashMap<String, [u32; 2]>,
    pub business_hours: [u32; 2],
    pub after: Vec<String>,
    pub before: Vec<String>,
    pub at: Vec<String>,
    pub between: Vec<String>,
    pub until: Vec<String>,
    pub am: Vec<String>,
    pub pm: Vec<String>,
    pub oclock: Vec<String>,
    pub noon: Vec<String>,
    pub midnight: Vec<String>,
    pub half_past: Vec<String>,
    pub quarter_past: Vec<String>,
    pub quarter_to: Vec<String>,
    pub within: Vec<String>,
    pub half: Vec<String>,
    pub units: HashMap<String, u64>,
    pub now: Vec<String>,
    pub any: Vec<String>,
}
