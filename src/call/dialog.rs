//! The callback dialog: ask each extra field, understand the answer, read it back, and know when to give
//! up. Sans-IO like the rest of the core: answers, key presses and silences come in, sentences to say come
//! out, and the dialog never looks at a clock (time arrives with each call).
//!
//! Per field: ask; an answer is understood by the field's type ([`understand`]); values a mishearing
//! corrupts are read back ("I have 6 5 0, 2 2 3 ... Is that right?") until the caller says yes; an answer
//! that cannot be understood is asked again up to `retries` times, then kept raw and marked unparsed. The
//! caller may decline an optional field, ask to hear the question again, or correct the answer just given
//! ("no, it's ..."). Silence asks once more, then leaves the field for staff.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::extract::{answers, phone};
use crate::config::{CallbackField, DialogSettings, FieldType};
use crate::language::{fill, FieldWords, PromptError, Prompts};
use crate::tickets::{FieldStatus, FieldValue};

/// What the dialog reads answers with.
pub struct Context<'a> {
    pub prompts: &'a Prompts,
    pub words: &'a FieldWords,
    pub settings: DialogSettings,
    /// The agent's country calling code: a national number gets it.
    pub calling_code: &'a str,
    /// When the answer was given, in the business's time zone ("tomorrow" is relative to it).
    pub now: DateTime<Tz>,
}

impl Context<'_> {
    /// The call time `t_ms` on the wall clock.
    pub fn at(started: DateTime<Utc>, tz: Tz, t_ms: u64) -> DateTime<Tz> {
        (started + chrono::Duration::milliseconds(t_ms as i64)).with_timezone(&tz)
    }
}

/// An answer understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Understood {
    /// Normalised (E.164, RFC 3339, ...).
    pub value: String,
    /// How it is read back.
    pub spoken: String,
}

/// Reads `answer` as a value of `field`'s type; the error says why it is not one.
pub fn understand(
    field: &CallbackField,
    answer: &str,
    ctx: &Context<'_>,
) -> Result<Understood, String> {
    let words = ctx.words;
    let plain = |v: String| Understood {
        spoken: v.clone(),
        value: v,
    };
    match field.kind {
        FieldType::Text => {
            let t = answer.trim();
            if t.chars().any(char::is_alphanumeric) {
                Ok(plain(t.to_string()))
            } else {
                Err("nothing was said".into())
            }
        }
        FieldType::Phone => words
            .numbers
            .parse(answer, ctx.calling_code)
            .map(|e164| Understood {
                spoken: words.numbers.read_back(&e164, ctx.calling_code),
                value: e164,
            })
            .map_err(|e| e.to_string()),
        FieldType::Email => words
            .email
            .parse(answer)
            .map(|a| Understood {
                spoken: words.email.read_back(&a),
                value: a,
            })
            .map_err(|e| e.to_string()),
        FieldType::Number => answers::number(answer, &words.numbers, &words.cardinals)
            .map(|n| Understood {
                // Long numbers are read digit by digit, like a phone number.
                spoken: if n.len() > 4 {
                    phone::group_digits(&n)
                } else {
                    n.clone()
                },
                value: n,
            })
            .ok_or_else(|| "no number in the answer".to_string()),
        FieldType::YesNo => match words.answers.yes_no(answer) {
            Some(yes) => Ok(Understood {
                value: if yes { "yes" } else { "no" }.to_string(),
                spoken: if yes {
                    ctx.prompts.dialog.yes.clone()
                } else {
                    ctx.prompts.dialog.no.clone()
                },
            }),
            None => Err("neither yes nor no".into()),
        },
        FieldType::Choice => answers::choice(answer, &field.options)
            .map(|o| plain(o.clone()))
            .ok_or_else(|| format!("none of {}", field.options.join(", "))),
        FieldType::Datetime => words
            .time
            .parse(answer, ctx.now, &words.cardinals, &ctx.prompts.time)
            .map(|t| Understood {
                value: t.value(),
                spoken: t.spoken,
            })
            .map_err(|e| e.to_string()),
    }
}

/// The question as the caller hears it: options listed, the keypad offered.
pub fn question(field: &CallbackField, prompts: &Prompts) -> Result<String, PromptError> {
    let d = &prompts.dialog;
    match field.kind {
        FieldType::Choice => {
            let options = match field.options.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} {} {last}", rest.join(", "), d.or)
                }
                _ => field.options.join(", "),
            };
            fill(&d.options, &[("ask", &field.ask), ("options", &options)])
        }
        FieldType::Phone | FieldType::Number => fill(&d.keypad, &[("ask", &field.ask)]),
        _ => Ok(field.ask.clone()),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Asking,
    /// `value` was read back; waiting for yes or no.
    Confirming {
        value: Understood,
        raw: String,
    },
}

/// What the dialog wants said, and whether it is over (every field settled).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    pub say: Vec<String>,
    pub done: bool,
}

/// The dialog of one callback.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialog {
    fields: Vec<CallbackField>,
    answers: Vec<FieldValue>,
    current: usize,
    step: Step,
    /// Failed tries at the current field.
    tries: u32,
    /// Silences after the current question.
    silences: u32,
    /// Keys pressed for the current field, and when the last one was.
    keys: String,
    last_key_ms: u64,
}

impl Dialog {
    pub fn new(fields: Vec<CallbackField>) -> Self {
        let answers = fields
            .iter()
            .map(|f| FieldValue::missing(&f.name, &f.ask, f.kind.as_str()))
            .collect();
        Self {
            fields,
            answers,
            current: 0,
            step: Step::Asking,
            tries: 0,
            silences: 0,
            keys: String::new(),
            last_key_ms: 0,
        }
    }

    /// The first question (done at once when there are no fields).
    pub fn start(&mut self, ctx: &Context<'_>) -> Result<Reply, PromptError> {
        self.ask_current(ctx, Vec::new())
    }

    /// The fields as they stand: answered, unparsed, declined, or missing. A value read back but not yet
    /// confirmed is kept, unconfirmed.
    pub fn fields(&self) -> Vec<FieldValue> {
        let mut out = self.answers.clone();
        if let (Step::Confirming { value, raw }, Some(slot)) =
            (&self.step, out.get_mut(self.current))
        {
            set_answer(slot, value, raw, false);
        }
        out
    }

    /// How the first answered time reads ("tomorrow after 3 pm"), for the closing promise.
    pub fn promised_time(&self) -> Option<String> {
        self.fields
            .iter()
            .zip(&self.answers)
            .find(|(f, a)| f.kind == FieldType::Datetime && a.status == FieldStatus::Answered)
            .and_then(|(_, a)| a.spoken.clone())
    }

    /// Whether keys are waiting to be submitted.
    pub fn keys_pending(&self) -> bool {
        !self.keys.is_empty()
    }

    fn field(&self) -> &CallbackField {
        &self.fields[self.current]
    }

    /// What the caller hears when the current step is asked (again).
    fn prompt(&self, ctx: &Context<'_>) -> Result<String, PromptError> {
        match &self.step {
            Step::Asking => question(self.field(), ctx.prompts),
            Step::Confirming { value, .. } => {
                fill(&ctx.prompts.dialog.confirm, &[("value", &value.spoken)])
            }
        }
    }

    fn ask_current(
        &mut self,
        ctx: &Context<'_>,
        mut say: Vec<String>,
    ) -> Result<Reply, PromptError> {
        if self.current >= self.fields.len() {
            return Ok(Reply { say, done: true });
        }
        say.push(self.prompt(ctx)?);
        Ok(Reply { say, done: false })
    }

    /// Settles the current field and asks the next one.
    fn advance(&mut self, ctx: &Context<'_>, say: Vec<String>) -> Result<Reply, PromptError> {
        self.current += 1;
        self.step = Step::Asking;
        self.tries = 0;
        self.silences = 0;
        self.keys.clear();
        self.ask_current(ctx, say)
    }

    fn accept(
        &mut self,
        ctx: &Context<'_>,
        value: &Understood,
        raw: &str,
        confirmed: bool,
    ) -> Result<Reply, PromptError> {
        set_answer(&mut self.answers[self.current], value, raw, confirmed);
        self.advance(ctx, vec![ctx.prompts.dialog.thanks.clone()])
    }

    /// Retries are used up: what was heard is kept for staff, marked unparsed, and the dialog moves on.
    fn give_up(&mut self, ctx: &Context<'_>, raw: &str) -> Result<Reply, PromptError> {
        let slot = &mut self.answers[self.current];
        slot.raw = Some(raw.to_string());
        slot.status = FieldStatus::Unparsed;
        self.advance(ctx, vec![ctx.prompts.dialog.gave_up.clone()])
    }

    /// One more failed try: ask again, or keep what was heard and move on.
    fn failed(&mut self, ctx: &Context<'_>, raw: &str) -> Result<Reply, PromptError> {
        self.tries += 1;
        if self.tries > ctx.settings.retries {
            return self.give_up(ctx, raw);
        }
        let again = self.prompt(ctx)?;
        Ok(Reply {
            say: vec![fill(&ctx.prompts.dialog.not_caught, &[("ask", &again)])?],
            done: false,
        })
    }

    /// The caller said something while the dialog waits for an answer.
    pub fn heard(&mut self, ctx: &Context<'_>, text: &str) -> Result<Reply, PromptError> {
        if self.current >= self.fields.len() || text.trim().is_empty() {
            return Ok(Reply::default());
        }
        self.silences = 0;
        let words = &ctx.words.answers;
        if words.is_repeat(text) {
            return self.ask_current(ctx, Vec::new());
        }
        match self.step.clone() {
            Step::Confirming { value, raw } => self.confirming(ctx, text, value, &raw),
            Step::Asking => self.asking(ctx, text),
        }
    }

    fn confirming(
        &mut self,
        ctx: &Context<'_>,
        text: &str,
        value: Understood,
        raw: &str,
    ) -> Result<Reply, PromptError> {
        let words = &ctx.words.answers;
        // "No, it's 650 ..." : the corrected value is read back in turn.
        if let Some(rest) = words.correction(text).filter(|r| !r.is_empty()) {
            if let Ok(better) = understand(self.field(), &rest, ctx) {
                return self.read_back(ctx, better, text);
            }
        }
        match words.yes_no(text) {
            Some(true) => self.accept(ctx, &value, raw, true),
            Some(false) => {
                // Wrong: ask the question again (a further "no" counts as a failed try).
                self.step = Step::Asking;
                self.tries += 1;
                if self.tries > ctx.settings.retries {
                    return self.give_up(ctx, raw);
                }
                self.ask_current(ctx, Vec::new())
            }
            None => match understand(self.field(), text, ctx) {
                // The caller just said the value again, maybe differently.
                Ok(again) if again != value => self.read_back(ctx, again, text),
                _ => {
                    self.tries += 1;
                    if self.tries > ctx.settings.retries {
                        // Never confirmed, never denied: kept, unconfirmed.
                        set_answer(&mut self.answers[self.current], &value, raw, false);
                        return self.advance(ctx, vec![ctx.prompts.dialog.gave_up.clone()]);
                    }
                    let again = self.prompt(ctx)?;
                    Ok(Reply {
                        say: vec![fill(&ctx.prompts.dialog.not_caught, &[("ask", &again)])?],
                        done: false,
                    })
                }
            },
        }
    }

    fn read_back(
        &mut self,
        ctx: &Context<'_>,
        value: Understood,
        raw: &str,
    ) -> Result<Reply, PromptError> {
        if !self.field().confirm {
            return self.accept(ctx, &value, raw, false);
        }
        self.step = Step::Confirming {
            value,
            raw: raw.to_string(),
        };
        self.ask_current(ctx, Vec::new())
    }

    fn asking(&mut self, ctx: &Context<'_>, text: &str) -> Result<Reply, PromptError> {
        let words = &ctx.words.answers;
        let field = self.field().clone();
        let mut answer = text.to_string();
        if let Some(rest) = words.correction(text) {
            if let Some(reply) = self.correct_previous(ctx, &rest, text)? {
                return Ok(reply);
            }
            if !rest.is_empty() {
                answer = rest;
            }
        }
        if field.kind != FieldType::YesNo && words.is_decline(&answer) {
            if !field.required {
                self.answers[self.current].status = FieldStatus::Declined;
                self.answers[self.current].raw = Some(text.to_string());
                return self.advance(ctx, vec![ctx.prompts.dialog.declined.clone()]);
            }
            self.tries += 1;
            if self.tries > ctx.settings.retries {
                self.answers[self.current].raw = Some(text.to_string());
                return self.advance(ctx, vec![ctx.prompts.dialog.no_answer.clone()]);
            }
            let ask = self.prompt(ctx)?;
            return Ok(Reply {
                say: vec![fill(&ctx.prompts.dialog.required, &[("ask", &ask)])?],
                done: false,
            });
        }
        match understand(&field, &answer, ctx) {
            Ok(value) => self.read_back(ctx, value, text),
            Err(_) => self.failed(ctx, text),
        }
    }

    /// "Actually, it's ..." while the next question is open: when what follows fits the previous field
    /// (and not this one), the previous answer is replaced. "Go back" alone asks the previous question.
    fn correct_previous(
        &mut self,
        ctx: &Context<'_>,
        rest: &str,
        text: &str,
    ) -> Result<Option<Reply>, PromptError> {
        let Some(prev) = self.current.checked_sub(1) else {
            return Ok(None);
        };
        if rest.is_empty() {
            self.current = prev;
            self.step = Step::Asking;
            self.tries = 0;
            return self.ask_current(ctx, Vec::new()).map(Some);
        }
        let typed = |f: &CallbackField| f.kind != FieldType::Text;
        let fits_prev = typed(&self.fields[prev])
            .then(|| understand(&self.fields[prev], rest, ctx).ok())
            .flatten();
        let fits_here = typed(self.field()) && understand(self.field(), rest, ctx).is_ok();
        match fits_prev {
            Some(value) if !fits_here => {
                set_answer(&mut self.answers[prev], &value, text, false);
                let changed = fill(&ctx.prompts.dialog.corrected, &[("value", &value.spoken)])?;
                self.ask_current(ctx, vec![changed]).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// A key pressed on the phone's keypad at call time `t_ms`.
    pub fn key(&mut self, ctx: &Context<'_>, t_ms: u64, digit: char) -> Result<Reply, PromptError> {
        if self.current >= self.fields.len() {
            return Ok(Reply::default());
        }
        self.silences = 0;
        let kind = self.field().kind;
        if let Step::Confirming { value, raw } = self.step.clone() {
            return match digit {
                '1' | '#' => self.accept(ctx, &value, &raw, true),
                '2' => self.confirming(ctx, &ctx.words.answers.no[0].clone(), value, &raw),
                '*' => self.ask_current(ctx, Vec::new()),
                _ => Ok(Reply::default()),
            };
        }
        match (kind, digit) {
            (_, '*') if self.keys.is_empty() => self.ask_current(ctx, Vec::new()),
            (FieldType::Phone | FieldType::Number, '*') => {
                self.keys.clear();
                Ok(Reply::default())
            }
            (FieldType::Phone | FieldType::Number, '#') => self.submit_keys(ctx),
            (FieldType::Phone | FieldType::Number, d) if d.is_ascii_digit() => {
                self.keys.push(d);
                self.last_key_ms = t_ms;
                Ok(Reply::default())
            }
            (FieldType::YesNo, '1' | '2') => {
                let yes = digit == '1';
                let value = Understood {
                    value: if yes { "yes" } else { "no" }.into(),
                    spoken: if yes {
                        ctx.prompts.dialog.yes.clone()
                    } else {
                        ctx.prompts.dialog.no.clone()
                    },
                };
                self.read_back(ctx, value, &format!("key {digit}"))
            }
            (FieldType::Choice, d) => {
                let picked = d
                    .to_digit(10)
                    .and_then(|k| (k as usize).checked_sub(1))
                    .and_then(|k| self.field().options.get(k).cloned());
                match picked {
                    Some(option) => self.read_back(
                        ctx,
                        Understood {
                            value: option.clone(),
                            spoken: option,
                        },
                        &format!("key {digit}"),
                    ),
                    None => self.failed(ctx, &format!("key {digit}")),
                }
            }
            _ => Ok(Reply::default()),
        }
    }

    fn submit_keys(&mut self, ctx: &Context<'_>) -> Result<Reply, PromptError> {
        let keys = std::mem::take(&mut self.keys);
        let raw = format!("keys {keys}");
        match understand(&self.field().clone(), &keys, ctx) {
            Ok(value) => self.read_back(ctx, value, &raw),
            Err(_) => self.failed(ctx, &raw),
        }
    }

    /// Time passes: keypad entry that paused long enough is submitted.
    pub fn tick(&mut self, ctx: &Context<'_>, t_ms: u64) -> Result<Reply, PromptError> {
        if !self.keys.is_empty() && t_ms >= self.last_key_ms + ctx.settings.keypad_timeout_ms {
            return self.submit_keys(ctx);
        }
        Ok(Reply::default())
    }

    /// The caller said nothing for `silence_ms` after the question: ask once more, then move on.
    pub fn silence(&mut self, ctx: &Context<'_>) -> Result<Reply, PromptError> {
        if self.current >= self.fields.len() {
            return Ok(Reply::default());
        }
        self.silences += 1;
        if self.silences == 1 {
            let ask = self.prompt(ctx)?;
            return Ok(Reply {
                say: vec![fill(&ctx.prompts.dialog.still_there, &[("ask", &ask)])?],
                done: false,
            });
        }
        if let Step::Confirming { value, raw } = self.step.clone() {
            set_answer(&mut self.answers[self.current], &value, &raw, false);
        }
        self.advance(ctx, vec![ctx.prompts.dialog.no_answer.clone()])
    }
}

fn set_answer(slot: &mut FieldValue, value: &Understood, raw: &str, confirmed: bool) {
    slot.value = Some(value.value.clone());
    slot.spoken = (value.spoken != value.value).then(|| value.spoken.clone());
    slot.raw = Some(raw.to_string());
    slot.confirmed = confirmed;
    slot.status = FieldStatus::Answered;
}
