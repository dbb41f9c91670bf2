//! The callback dialog driven through the sans-IO call core in simulated time: a scripted caller answers
//! each question (as transcripts and key presses), and the filed ticket is checked field by field.
//! The call starts on Monday 23 November 2026 at 10:20 in New York.

mod common;

use chrono::TimeZone;
use switchboard::call::{Action, Call, CallSetup, Event, Hearing, Transcript};
use switchboard::config;
use switchboard::language::{Language, Phrasebook};
use switchboard::tickets::{FieldStatus, TicketDraft};
use switchboard::topics::{call_topics, TopicHit, TopicKind};

const FIELDS: &str = r#"
  { name = "reason", ask = "What is the reason for your call?", type = "text" },
  { name = "callback_time", ask = "When would you like us to call you back?", type = "datetime" },
  { name = "alt_phone", ask = "Is there another number we can reach you on?", type = "phone", required = false },
"#;

fn agent(fields: &str) -> config::AgentConfig {
    agent_in("flag", fields)
}

fn agent_in(support: &str, fields: &str) -> config::AgentConfig {
    let toml = common::agent_toml(support);
    let start = toml.find("extra_fields = [").unwrap();
    let end = start + toml[start..].find("\n]\n").unwrap();
    let toml = format!("{}extra_fields = [{fields}{}", &toml[..start], &toml[end..]);
    config::parse(&toml, "agent.toml").unwrap().config
}

/// A caller in simulated time. Every prompt is heard in full 1.5 s after it is said, unless the caller
/// talks first; tickets are "written" at once.
struct Caller {
    call: Call,
    t: u64,
    said: Vec<String>,
    ticket: Option<TicketDraft>,
    hung_up_by_agent: bool,
}

impl Caller {
    fn new(fields: &str) -> Self {
        Self::with_language(agent(fields), Language::load("en").unwrap())
    }

    fn with_language(cfg: config::AgentConfig, language: Language) -> Self {
        let started = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 15, 20, 0)
            .unwrap();
        let topics = call_topics(&cfg, &language);
        let call = Call::new(CallSetup::for_agent(
            "CA-dialog".into(),
            Some("+15550188888".into()),
            &cfg,
            &language,
            topics,
            Hearing::Live,
            started,
        ));
        Self {
            call,
            t: 0,
            said: Vec::new(),
            ticket: None,
            hung_up_by_agent: false,
        }
    }

    /// Runs the core's actions; returns what the agent said.
    fn run(&mut self, event: Event) -> Vec<String> {
        self.call.handle(event).unwrap();
        let mut said = Vec::new();
        while let Some(action) = self.call.poll_action() {
            match action {
                Action::Say { text } => said.push(text),
                Action::FileTicket(draft) => {
                    self.ticket = Some(draft);
                    self.call
                        .handle(Event::TicketFiled {
                            t_ms: self.t,
                            id: 1,
                        })
                        .unwrap();
                }
                Action::HangUp => self.hung_up_by_agent = true,
                _ => {}
            }
        }
        self.said.extend(said.iter().cloned());
        said
    }

    /// Lets what the agent said play out, 1.5 s per prompt.
    fn listen(&mut self) {
        while self.call.is_speaking() {
            self.t += 1500;
            let t_ms = self.t;
            self.run(Event::PromptPlayed { t_ms });
        }
    }

    /// Says something that flags the call; returns the intro and first question.
    fn complain(&mut self) -> Vec<String> {
        self.t += 2000;
        let words = "I want to make a formal complaint";
        let hit = TopicHit {
            topic: "complaint".into(),
            kind: TopicKind::Callback,
            score: 0.9,
            evidence: words.into(),
            matched: vec![],
        };
        let out = self.utter(words, vec![hit]);
        self.listen();
        out
    }

    fn utter(&mut self, text: &str, hits: Vec<TopicHit>) -> Vec<String> {
        let start = self.t + 300;
        self.t = start;
        self.run(Event::SpeechStarted { t_ms: start });
        self.t += 1500;
        let t_ms = self.t;
        self.run(Event::SpeechEnded { t_ms });
        self.t += 200;
        self.run(Event::Heard {
            t_ms: self.t,
            transcript: Transcript {
                text: text.into(),
                start_ms: start,
                end_ms: t_ms,
                is_final: true,
            },
            hits,
        })
    }

    /// Answers the open question once it has played; returns the agent's reply (and lets it play).
    fn answer(&mut self, text: &str) -> Vec<String> {
        let out = self.utter(text, vec![]);
        self.listen();
        out
    }

    fn keys(&mut self, digits: &str) -> Vec<String> {
        let mut out = Vec::new();
        for digit in digits.chars() {
            self.t += 250;
            out.extend(self.run(Event::Dtmf {
                t_ms: self.t,
                digit,
            }));
        }
        self.listen();
        out
    }

    /// Stays silent for `ms`, the clock ticking every 100 ms; returns what the agent said meanwhile.
    fn silent(&mut self, ms: u64) -> Vec<String> {
        let mut out = Vec::new();
        let end = self.t + ms;
        while self.t < end {
            self.t += 100;
            out.extend(self.run(Event::Tick { t_ms: self.t }));
            self.listen();
        }
        out
    }

    fn ticket(&self) -> &TicketDraft {
        self.ticket.as_ref().expect("a ticket was filed")
    }
}

#[test]
fn happy_path_fills_every_field_confirmed_and_promises_the_time() {
    let mut c = Caller::new(FIELDS);
    let intro = c.complain();
    assert_eq!(intro.last().unwrap(), "What is the reason for your call?");
    let next = c.answer("My internet has been down since Friday.");
    assert_eq!(
        next,
        ["Thank you.", "When would you like us to call you back?"]
    );
    let read_back = c.answer("Tomorrow after 3 pm.");
    assert_eq!(read_back, ["I have tomorrow after 3 pm. Is that right?"]);
    let next = c.answer("Yes, that's right.");
    assert_eq!(
        next.last().unwrap(),
        "Is there another number we can reach you on? You can also type it on your keypad, then press the pound key."
    );
    let read_back = c.answer("six five oh, double two three, oh four five six");
    assert_eq!(read_back, ["I have 6 5 0, 2 2 3, 0 4 5 6. Is that right?"]);
    let end = c.answer("yes");
    assert_eq!(
        end,
        [
            "Thank you.",
            "Thank you. Your request is recorded and we will call you back tomorrow after 3 pm.",
            "Thank you for calling. Goodbye."
        ]
    );
    assert!(c.hung_up_by_agent);
    let t = c.ticket();
    let f = &t.fields;
    assert_eq!(
        f[0].value.as_deref(),
        Some("My internet has been down since Friday.")
    );
    assert_eq!(f[0].status, FieldStatus::Answered);
    assert!(!f[0].confirmed, "free text is not read back");
    assert_eq!(
        f[1].value.as_deref(),
        Some("2026-11-24T15:00:00-05:00/2026-11-24T18:00:00-05:00")
    );
    assert_eq!(f[1].spoken.as_deref(), Some("tomorrow after 3 pm"));
    assert_eq!(f[1].raw.as_deref(), Some("Tomorrow after 3 pm."));
    assert!(f[1].confirmed);
    assert_eq!(f[2].value.as_deref(), Some("+16502230456"));
    assert!(f[2].confirmed);
    assert_eq!(
        t.promise.as_deref(),
        Some("Thank you. Your request is recorded and we will call you back tomorrow after 3 pm.")
    );
    assert_eq!(t.note, None);
}

#[test]
fn corrections_replace_the_value_being_confirmed_and_the_previous_answer() {
    let mut c = Caller::new(FIELDS);
    c.complain();
    c.answer("billing problem");
    assert_eq!(
        c.answer("Monday morning"),
        ["I have on Monday morning. Is that right?"]
    );
    // "No, it's ..." while confirming: the new value is read back.
    assert_eq!(
        c.answer("No, it's Tuesday at 10 am."),
        ["I have tomorrow at 10 am. Is that right?"]
    );
    // A plain "no" asks the question again.
    assert_eq!(c.answer("no"), ["When would you like us to call you back?"]);
    c.answer("Wednesday at 4");
    c.answer("yes");
    // While the phone question is open, "actually, ..." that fits the time corrects the time.
    let fixed = c.answer("Actually, Thursday at 2 pm.");
    assert_eq!(
        fixed[0],
        "Thanks, I have changed that to on Thursday at 2 pm."
    );
    assert!(fixed[1].starts_with("Is there another number"));
    c.answer("no thanks");
    let t = c.ticket();
    assert_eq!(
        t.fields[1].value.as_deref(),
        Some("2026-11-26T14:00:00-05:00")
    );
    assert!(
        !t.fields[1].confirmed,
        "a correction is not read back for a yes"
    );
    assert_eq!(t.fields[2].status, FieldStatus::Declined);
    assert!(t
        .promise
        .as_deref()
        .unwrap()
        .contains("on Thursday at 2 pm"));
}

#[test]
fn keypad_entry_with_pound_and_with_a_pause() {
    let fields = r#"
  { name = "alt_phone", ask = "What number should we call?", type = "phone" },
  { name = "account", ask = "What is your account number?", type = "number" },
  { name = "team", ask = "Which team is it for?", type = "choice", options = ["billing", "technical support", "sales"] },
  { name = "urgent", ask = "Is it urgent?", type = "yes_no" },
"#;
    let mut c = Caller::new(fields);
    let first = c.complain();
    assert!(first.last().unwrap().contains("keypad"));
    // Keys then '#': read back, '1' confirms.
    assert_eq!(
        c.keys("6502230456#"),
        ["I have 6 5 0, 2 2 3, 0 4 5 6. Is that right?"]
    );
    let next = c.keys("1");
    assert_eq!(next.last().unwrap(), "What is your account number? You can also type it on your keypad, then press the pound key.");
    // Keys and a pause: submitted after the keypad timeout.
    assert!(c.keys("48213").is_empty());
    let read_back = c.silent(4_500);
    assert_eq!(read_back, ["I have 4 8 2, 1 3. Is that right?"]);
    let next = c.keys("1");
    assert_eq!(
        next.last().unwrap(),
        "Which team is it for? You can say billing, technical support or sales."
    );
    // A choice by key: option 2.
    let next = c.keys("2");
    assert_eq!(next, ["Thank you.", "Is it urgent?"]);
    c.keys("1");
    let t = c.ticket();
    let values: Vec<_> = t.fields.iter().map(|f| f.value.as_deref()).collect();
    assert_eq!(
        values,
        [
            Some("+16502230456"),
            Some("48213"),
            Some("technical support"),
            Some("yes")
        ]
    );
    assert_eq!(t.fields[0].raw.as_deref(), Some("keys 6502230456"));
}

#[test]
fn silence_asks_again_once_then_moves_on() {
    let mut c = Caller::new(FIELDS);
    c.complain();
    // Default silence_ms is 6 s after the question has played.
    assert!(c.silent(5_500).is_empty());
    let again = c.silent(1_000);
    assert_eq!(
        again,
        ["Are you still there? What is the reason for your call?"]
    );
    let moved = c.silent(7_000);
    assert_eq!(
        moved,
        [
            "I will leave that one for our team.",
            "When would you like us to call you back?"
        ]
    );
    c.answer("as soon as possible");
    c.answer("yes");
    c.answer("no");
    let t = c.ticket();
    assert_eq!(t.fields[0].status, FieldStatus::Missing);
    assert_eq!(t.fields[0].value, None);
    assert_eq!(t.fields[1].status, FieldStatus::Answered);
}

#[test]
fn an_unparseable_time_is_retried_then_kept_raw() {
    let mut c = Caller::new(FIELDS);
    c.complain();
    c.answer("a billing problem");
    assert_eq!(
        c.answer("purple monkey dishwasher"),
        ["Sorry, I did not catch that. When would you like us to call you back?"]
    );
    assert_eq!(
        c.answer("can you repeat that"),
        ["When would you like us to call you back?"],
        "asking to repeat is not a failed try"
    );
    c.answer("purple elephants");
    let gave_up = c.answer("the blue moon again");
    assert_eq!(
        gave_up[0],
        "I will note what you said, and our team will check it."
    );
    c.answer("no");
    let t = c.ticket();
    assert_eq!(t.fields[1].status, FieldStatus::Unparsed);
    assert_eq!(t.fields[1].raw.as_deref(), Some("the blue moon again"));
    assert_eq!(t.fields[1].value, None);
    assert_eq!(
        t.promise.as_deref(),
        Some("Thank you. Your request is recorded and someone will call you back.")
    );
}

#[test]
fn a_required_field_cannot_be_declined_an_optional_one_can() {
    let mut c = Caller::new(FIELDS);
    c.complain();
    assert_eq!(
        c.answer("I'd rather not say"),
        ["I need this to arrange your callback. What is the reason for your call?"]
    );
    c.answer("the router");
    c.answer("today at 4 pm");
    c.answer("yes");
    c.answer("I don't have another one");
    let t = c.ticket();
    assert_eq!(t.fields[0].value.as_deref(), Some("the router"));
    assert_eq!(t.fields[2].status, FieldStatus::Declined);
}

#[test]
fn hanging_up_mid_dialog_files_what_was_collected_and_marks_the_rest_missing() {
    let mut c = Caller::new(FIELDS);
    c.complain();
    c.answer("my bill is wrong");
    c.answer("tomorrow morning");
    // Hangs up while the time is being read back: kept, but not confirmed.
    c.t += 500;
    let t_ms = c.t;
    let said = c.run(Event::HungUp { t_ms });
    assert!(said.is_empty(), "nobody to promise anything to: {said:?}");
    let t = c.ticket();
    assert_eq!(t.fields[0].status, FieldStatus::Answered);
    assert_eq!(t.fields[1].status, FieldStatus::Answered);
    assert!(!t.fields[1].confirmed);
    assert_eq!(t.fields[2].status, FieldStatus::Missing);
    assert!(t.note.as_deref().unwrap().contains("hung up"));
    assert_eq!(t.promise, None);
    assert!(c.call.is_finished());
}

#[test]
fn barge_in_during_a_question_is_the_answer() {
    let mut c = Caller::new(FIELDS);
    c.complain();
    c.answer("my bill is wrong");
    // The time question is said; the caller talks over it before it has played.
    let said = c.utter("as soon as possible", vec![]);
    assert_eq!(said, ["I have as soon as possible. Is that right?"]);
}

#[test]
fn the_dialog_speaks_spanish_from_prompts_es() {
    let cfg = agent(
        r#"
  { name = "motivo", ask = "¿Cuál es el motivo de su llamada?", type = "text" },
  { name = "hora", ask = "¿Cuándo quiere que le llamemos?", type = "datetime" },
  { name = "telefono", ask = "¿Hay otro número en el que podamos localizarle?", type = "phone", required = false },
"#,
    );
    let en = Language::load("en").unwrap();
    let es = Phrasebook::builtin("es").unwrap();
    // Topic matching stays English; only what is said and understood in the dialog is Spanish.
    let language = Language {
        prompts: es.prompts,
        fields: es.fields,
        ..en
    };
    let mut c = Caller::with_language(cfg, language);
    let intro = c.complain();
    assert!(intro[0].starts_with("Me aseguraré"), "{intro:?}");
    c.answer("La factura está mal.");
    assert_eq!(
        c.answer("mañana por la tarde"),
        ["Tengo mañana por la tarde. ¿Es correcto?"]
    );
    c.answer("sí");
    assert_eq!(
        c.answer("seis cinco cero dos dos tres cero cuatro cinco seis"),
        ["Tengo 6 5 0, 2 2 3, 0 4 5 6. ¿Es correcto?"]
    );
    let end = c.answer("sí, correcto");
    assert_eq!(
        end[1],
        "Gracias. Su solicitud queda registrada y le llamaremos mañana por la tarde."
    );
    let t = c.ticket();
    assert_eq!(t.fields[2].value.as_deref(), Some("+16502230456"));
    assert_eq!(
        t.fields[1].value.as_deref(),
        Some("2026-11-24T12:00:00-05:00/2026-11-24T18:00:00-05:00")
    );
}

#[test]
fn asking_for_a_person_mid_dialog_transfers_with_the_answers_so_far() {
    let mut c = Caller::with_language(agent_in("decide", FIELDS), Language::load("en").unwrap());
    c.complain();
    c.answer("my bill is wrong");
    let words = "Can I just talk to a real person please";
    let hit = TopicHit {
        topic: "person_request".into(),
        kind: TopicKind::Escalation,
        score: 0.93,
        evidence: words.into(),
        matched: vec![],
    };
    let said = c.utter(words, vec![hit]);
    assert_eq!(
        said,
        ["I'm transferring you now to a colleague who can help with this. Please stay on the line."]
    );
    assert!(c.call.is_finished());
    let t = c.ticket();
    assert_eq!(t.kind, switchboard::tickets::TicketKind::Escalation);
    assert_eq!(t.fields[0].value.as_deref(), Some("my bill is wrong"));
    assert_eq!(t.fields[1].status, FieldStatus::Missing);
    assert!(t
        .note
        .as_deref()
        .unwrap()
        .contains("transferred during the callback questions"));
}

#[test]
fn in_flag_mode_an_escalation_topic_during_the_questions_is_just_an_answer() {
    let mut c = Caller::new(FIELDS);
    c.complain();
    let words = "I want to cancel my contract";
    let hit = TopicHit {
        topic: "cancellation".into(),
        kind: TopicKind::Escalation,
        score: 0.9,
        evidence: words.into(),
        matched: vec![],
    };
    let said = c.utter(words, vec![hit]);
    assert_eq!(
        said,
        ["Thank you.", "When would you like us to call you back?"]
    );
}
