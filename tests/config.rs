//! Config loading and `check-config`: the shared eval config loads, and each class of mistake that would
//! lose calls is rejected with the field and its line.

mod common;

use switchboard::config::{self, ConfigError, SupportMode};
use switchboard::providers::Provider;

fn issues(text: &str) -> Vec<config::ConfigIssue> {
    match config::parse(text, "agent.toml") {
        Err(ConfigError::Invalid { issues, .. }) => issues,
        Err(other) => panic!("expected validation issues, got {other}"),
        Ok(_) => panic!("expected the config to be rejected:\n{text}"),
    }
}

fn base() -> String {
    common::agent_toml("decide")
}

#[test]
fn the_shared_eval_config_loads() {
    let path = common::shared().join("data/topics/agent-eval.toml");
    let loaded = config::load(&path).expect("agent-eval.toml must load");
    let c = loaded.config;
    assert_eq!(c.agent.support, SupportMode::Decide);
    let ids: Vec<_> = c.topics().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "human_agent",
            "cancellation",
            "complaint",
            "payment_problem"
        ]
    );
    assert_eq!(c.callback.extra_fields.len(), 2);
    let routing = c.routing.unwrap().routing;
    assert_eq!(
        routing.recipients(switchboard::tickets::Category::Accounting),
        [switchboard::tickets::outbox::Recipient::Email(
            "billing@example.com".into()
        )]
    );
}

#[test]
fn string_topics_get_ids_from_their_text() {
    let text = base().replace(
        r#"mandatory_topics = [
  { id = "complaint""#,
        r#"mandatory_topics = [ "Formal complaint", "Customer requests to speak with a manager",
  { id = "complaint""#,
    );
    let c = config::parse(&text, "agent.toml").unwrap().config;
    let ids: Vec<_> = c
        .callback
        .mandatory_topics
        .iter()
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(
        ids[..2],
        [
            "formal_complaint",
            "customer_requests_to_speak_with_a_manager"
        ]
    );
}

#[test]
fn transfer_to_the_agents_own_number_is_rejected_with_its_line() {
    let text = base().replace(
        r#"transfer_number = "+15550100001""#,
        r#"transfer_number = "+15550100000""#,
    );
    let found = issues(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "escalation.transfer_number");
    let line = text
        .lines()
        .position(|l| l.contains("transfer_number"))
        .unwrap()
        + 1;
    assert_eq!(found[0].line, line);
    assert!(found[0].message.contains("agent's own number"));
}

#[test]
fn malformed_numbers_are_rejected() {
    let text = base()
        .replace(r#""+15550100000""#, r#""555-0100""#)
        .replace(r#""+15550100001""#, r#""+1 555 0100""#);
    let fields: Vec<_> = issues(&text).into_iter().map(|i| i.field).collect();
    assert!(
        fields.contains(&"agent.phone_number".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"escalation.transfer_number".to_string()),
        "{fields:?}"
    );
}

#[test]
fn escalation_without_a_transfer_number_is_rejected() {
    let text = base().replace("transfer_number = \"+15550100001\"\n", "");
    let found = issues(&text);
    assert_eq!(found[0].field, "escalation.transfer_number");
    assert!(
        found[0].message.contains("nowhere to go"),
        "{}",
        found[0].message
    );
    // ...but flag mode does not need one.
    let flag = common::agent_toml("flag").replace("transfer_number = \"+15550100001\"\n", "");
    assert!(config::parse(&flag, "agent.toml").is_ok());
}

#[test]
fn empty_or_missing_routing_categories_are_rejected() {
    let text = base().replace(r#"accounting = ["billing@example.com"]"#, "accounting = []");
    let found = issues(&text);
    assert_eq!(found[0].field, "routing.accounting");
    assert!(found[0].message.contains("reach nobody"));
    let text = base().replace("other = [\"manager@example.com\"]\n", "");
    assert_eq!(issues(&text)[0].field, "routing.other");
    let text = base().replace(r#""support@example.com""#, r#""not an address""#);
    assert_eq!(issues(&text)[0].field, "routing.service");
    // A default catches every category that names nobody.
    let text = base()
        .replace(r#"accounting = ["billing@example.com"]"#, "accounting = []")
        .replace("other = [\"manager@example.com\"]\n", "")
        .replace(
            "[routing]\n",
            "[routing]\ndefault = [\"https://hooks.example.com/sb\"]\nwebhook_secret = \"0123456789abcdef\"\n",
        );
    let c = config::parse(&text, "agent.toml").expect("a default routes them");
    let routing = c.config.routing.unwrap().routing;
    assert_eq!(
        routing.recipients(switchboard::tickets::Category::Other),
        [switchboard::tickets::outbox::Recipient::Webhook(
            "https://hooks.example.com/sb".into()
        )]
    );
}

/// Topics carry their tickets' category and priority; support tokens have a role; a PostgreSQL URL is
/// checked; mistakes in any of them are placed.
#[test]
fn topics_route_by_category_and_support_tokens_have_roles() {
    use switchboard::tickets::{Category, Priority};
    let text = base()
        .replace(
            r#"{ id = "complaint""#,
            r#"{ id = "complaint", category = "service", priority = "urgent""#,
        )
        .replace(
            "[routing]\n",
            "[support]\ntokens = [ { name = \"Maria\", token = \"agent-token-0123456789\", role = \"agent\" },\n  { name = \"Lead\", token = \"admin-token-0123456789\", role = \"admin\" } ]\n\n[routing]\n",
        )
        + "\n[tickets]\ndatabase = \"postgres://sb:pw@db.internal:5432/switchboard\"\n";
    let c = config::parse(&text, "agent.toml").unwrap().config;
    let complaint = c.triage["complaint"];
    assert_eq!(complaint.category, Some(Category::Service));
    assert_eq!(complaint.priority, Some(Priority::Urgent));
    assert_eq!(c.triage["cancellation"].category, Some(Category::Service));
    assert_eq!(c.triage["cancellation"].priority, None);
    assert_eq!(c.support_tokens.len(), 2);
    assert_eq!(c.support_tokens[1].role, config::Role::Admin);
    assert_eq!(
        c.tickets_database.to_string(),
        "postgres://sb@db.internal:5432/switchboard"
    );

    let bad = base().replace(
        r#"{ id = "complaint""#,
        r#"{ id = "complaint", category = "sales""#,
    );
    assert_eq!(
        issues(&bad)[0].field,
        "callback.mandatory_topics[0].category"
    );
    let bad = base().replace(
        "[routing]\n",
        "[support]\ntokens = [ { name = \"Maria\", token = \"short\", role = \"boss\" } ]\n[routing]\n",
    );
    assert_eq!(issues(&bad)[0].field, "support.tokens[0].role");
    let bad = base().replace(
        "[routing]\n",
        "[support]\ntokens = [ { name = \"Maria\", token = \"short\", role = \"agent\" } ]\n[routing]\n",
    );
    assert_eq!(issues(&bad)[0].field, "support.tokens[0].token");
    let bad = base() + "\n[tickets]\ndatabase = \"postgres://\"\n";
    assert_eq!(issues(&bad)[0].field, "tickets.database");
}

#[test]
fn duplicate_topic_ids_across_lists_are_rejected() {
    let text = base().replace(r#"id = "complaint""#, r#"id = "cancellation""#);
    let found = issues(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].field.starts_with("callback.mandatory_topics[0]"),
        "{found:?}"
    );
    assert!(found[0]
        .message
        .contains("duplicate topic id \"cancellation\""));
    assert!(found[0].message.contains("escalation.mandatory_topics[0]"));
}

#[test]
fn typos_and_wrong_types_point_at_the_place() {
    let text = base().replace("contextual_summary = true", "contextual_sumary = true");
    let err = config::parse(&text, "agent.toml").unwrap_err().to_string();
    assert!(err.contains("contextual_sumary"), "{err}");
    assert!(err.contains("line"), "{err}");
    let text = base().replace(r#"support = "decide""#, r#"support = "sometimes""#);
    let err = config::parse(&text, "agent.toml").unwrap_err().to_string();
    assert!(
        err.contains("sometimes") && err.contains("escalate"),
        "{err}"
    );
    let text = base().replace(r#"type = "datetime""#, r#"type = "date""#);
    assert_eq!(issues(&text)[0].field, "callback.extra_fields[1].type");
    let text = base().replace(
        r#"{ id = "cancellation", text"#,
        r#"{ id = "cancellation", txt"#,
    );
    assert!(issues(&text)[0].message.contains("unknown key"));
}

#[test]
fn check_config_command_exit_codes_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, base()).unwrap();
    let out = common::bin()
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        base()
            .replace(r#""+15550100001""#, r#""+15550100000""#)
            .replace(r#"accounting = ["billing@example.com"]"#, "accounting = []"),
    )
    .unwrap();
    let out = common::bin()
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 mistake(s)"), "{err}");
    assert!(
        err.contains("escalation.transfer_number") && err.contains("routing.accounting"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = common::bin()
        .arg("check-config")
        .arg(dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config"));
}

#[test]
fn the_server_section_builds_stream_urls_and_rejects_what_providers_could_not_reach() {
    let ok = format!(
        "{}\n[server]\npublic_url = \"https://agent.example.com/\"\nlisten = \"127.0.0.1:9090\"\nmax_message_bytes = 131072\nevents_dir = \"var/calls\"\n",
        base()
    );
    let server = config::parse(&ok, "agent.toml").unwrap().config.server;
    assert_eq!(
        server.stream_url(Provider::Twilio).as_deref(),
        Some("wss://agent.example.com/twilio/stream")
    );
    assert_eq!(server.listen.to_string(), "127.0.0.1:9090");
    assert_eq!(server.max_message_bytes, 131_072);
    assert_eq!(server.events_dir, std::path::PathBuf::from("var/calls"));

    // Without the section: defaults, and no URL to hand out.
    let plain = config::parse(&base(), "agent.toml").unwrap().config.server;
    assert_eq!(plain.stream_url(Provider::Twilio), None);
    assert_eq!(plain.listen.port(), 8080);

    let bad = format!(
        "{}\n[server]\npublic_url = \"ftp://agent.example.com\"\nlisten = \"everywhere\"\nmax_message_bytes = 10\n",
        base()
    );
    let found = issues(&bad);
    let fields: Vec<&str> = found.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "server.public_url",
            "server.listen",
            "server.max_message_bytes"
        ],
        "{found:?}"
    );
    let lines = bad.lines().count();
    assert!(found.iter().all(|i| i.line > lines - 4), "{found:?}");
}

#[test]
fn live_settings_and_provider_secrets_are_validated() {
    std::env::set_var("SWITCHBOARD_TEST_STREAM_TOKEN", "s3cret");
    let good = format!(
        "{}\n[server]\ndrain_seconds = 5\n\n[providers.twilio]\nauth_token = \"abc\"\nstream_token = \"env:SWITCHBOARD_TEST_STREAM_TOKEN\"\n\n[providers.vonage]\nstream_token = \"v\"\n",
        base()
    );
    let c = config::parse(&good, "agent.toml").unwrap().config;
    assert_eq!(c.server.drain_seconds, 5);
    let twilio = c.provider(Provider::Twilio);
    assert_eq!(twilio.auth_token.as_deref(), Some("abc"));
    assert_eq!(twilio.stream_token.as_deref(), Some("s3cret"));
    assert_eq!(
        c.provider(Provider::Vonage).stream_token.as_deref(),
        Some("v")
    );
    assert_eq!(c.provider(Provider::Telnyx).stream_token, None);
    assert_eq!(c.vad.barge_in_ms, 64);
    assert!((c.matching.partial_confidence - 0.85).abs() < 1e-6);

    let bad = format!(
        "{}\n[vad]\nbarge_in_ms = 0\n\n[matching]\npartial_confidence = 1.5\n\n[server]\ndrain_seconds = -1\n\n[providers.skype]\nauth_token = \"x\"\n\n[providers.twilio]\nauth_token = \"env:SWITCHBOARD_SURELY_UNSET\"\nstream_token = \"  \"\n",
        base()
    );
    let found = issues(&bad);
    let fields: Vec<&str> = found.iter().map(|i| i.field.as_str()).collect();
    for field in [
        "vad.barge_in_ms",
        "matching.partial_confidence",
        "server.drain_seconds",
        "providers.skype",
        "providers.twilio.auth_token",
        "providers.twilio.stream_token",
    ] {
        assert!(fields.contains(&field), "{field} not in {found:?}");
    }
    let unset = found
        .iter()
        .find(|i| i.field == "providers.twilio.auth_token")
        .unwrap();
    assert!(
        unset.message.contains("SWITCHBOARD_SURELY_UNSET"),
        "{unset}"
    );
}

#[test]
fn dialog_settings_field_types_and_time_zone_are_validated() {
    let text = base()
        .replace(
            "timezone = \"America/New_York\"",
            "timezone = \"Mars/Olympus\"",
        )
        .replace(
            r#"type = "phone", required = false }"#,
            r#"type = "phone", required = false, options = ["a", "b"] },
  { name = "team", ask = "Which team?", type = "choice" },
  { name = "size", ask = "How big?", type = "choice", options = ["big"] }"#,
        )
        .replace(
            "mandatory_topics = [\n  { id = \"complaint\"",
            "retries = 9\nsilence_ms = 10\nmandatory_topics = [\n  { id = \"complaint\"",
        );
    let found = issues(&text);
    let fields: Vec<_> = found.iter().map(|i| i.field.as_str()).collect();
    for expected in [
        "agent.timezone",
        "callback.extra_fields[2].options",
        "callback.extra_fields[3].options",
        "callback.extra_fields[4].options",
        "callback.retries",
        "callback.silence_ms",
    ] {
        assert!(fields.contains(&expected), "{expected} in {found:#?}");
    }
    let zone = found.iter().find(|i| i.field == "agent.timezone").unwrap();
    assert!(zone.message.contains("IANA"), "{zone}");

    // A good choice field, a confirm override, and the defaults.
    let text = base().replace(
        r#"type = "phone", required = false }"#,
        r#"type = "phone", required = false, confirm = false },
  { name = "team", ask = "Which team?", type = "choice", options = ["billing", "technical support"] }"#,
    );
    let c = config::parse(&text, "agent.toml").unwrap().config;
    let f = &c.callback.extra_fields;
    assert!(f[1].confirm, "a time is read back by default");
    assert!(!f[2].confirm);
    assert!(!f[3].confirm && f[3].options.len() == 2);
    assert_eq!(c.callback.dialog.retries, 2);
    assert_eq!(c.agent.timezone, chrono_tz::America::New_York);

    // No time zone: a warning, UTC.
    let loaded = config::parse(
        &base().replace("timezone = \"America/New_York\"\n", ""),
        "agent.toml",
    )
    .unwrap();
    assert!(loaded.warnings.iter().any(|w| w.field == "agent.timezone"));
}

#[test]
fn the_speech_section_picks_an_engine_and_checks_it() {
    use switchboard::config::SpeechSettings;
    let c = config::parse(&base(), "agent.toml").unwrap().config;
    assert_eq!(c.speech, SpeechSettings::Piper, "Piper is the default");
    std::env::set_var("SWITCHBOARD_TEST_TTS_KEY", "sk-from-env");
    let http = base()
        + "\n[speech]\nengine = \"http\"\nurl = \"https://tts.example.com/\"\nvoice = \"nova\"\napi_key = \"env:SWITCHBOARD_TEST_TTS_KEY\"\n";
    match config::parse(&http, "agent.toml").unwrap().config.speech {
        SpeechSettings::Http(v) => {
            assert_eq!(v.url, "https://tts.example.com");
            assert_eq!(v.voice, "nova");
            assert_eq!(v.model, "tts-1");
            assert_eq!(v.api_key.as_deref(), Some("sk-from-env"));
        }
        other => panic!("{other:?}"),
    }
    for (section, field) in [
        ("engine = \"festival\"", "speech.engine"),
        ("engine = \"http\"", "speech.url"),
        ("engine = \"http\"\nurl = \"tts.example.com\"", "speech.url"),
        ("engine = \"espeak\"\nvoice = \"nova\"", "speech.voice"),
    ] {
        let found = issues(&format!("{}\n[speech]\n{section}\n", base()));
        assert!(
            found.iter().any(|i| i.field == field),
            "{section}: {found:#?}"
        );
    }
}

#[test]
fn a_business_prompts_directory_must_be_complete_and_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let prompts = std::fs::read_to_string(format!("{root}/prompts/en/prompts.toml")).unwrap();
    let fields = std::fs::read_to_string(format!("{root}/prompts/en/fields.toml")).unwrap();
    std::fs::write(dir.path().join("fields.toml"), &fields).unwrap();
    let with_dir = |d: &std::path::Path| {
        base().replace(
            "timezone = \"America/New_York\"",
            &format!(
                "timezone = \"America/New_York\"\nprompts = \"{}\"",
                d.display()
            ),
        )
    };
    // An edited copy loads and is what the agent says.
    std::fs::write(
        dir.path().join("prompts.toml"),
        prompts.replace("Hello, thank you for calling.", "Hi, this is Acme support."),
    )
    .unwrap();
    let c = config::parse(&with_dir(dir.path()), "agent.toml")
        .unwrap()
        .config;
    let language = switchboard::language::Language::for_agent(&c.agent).unwrap();
    assert!(language
        .prompts
        .call
        .greeting
        .starts_with("Hi, this is Acme support."));
    // A missing sentence and a misspelt placeholder are errors at load, with what is wrong.
    std::fs::write(
        dir.path().join("prompts.toml"),
        prompts.replace("goodbye = ", "# goodbye = "),
    )
    .unwrap();
    let found = issues(&with_dir(dir.path()));
    assert!(
        found[0].field == "agent.prompts" && found[0].message.contains("goodbye"),
        "{found:#?}"
    );
    std::fs::write(
        dir.path().join("prompts.toml"),
        prompts.replace("I have {value}.", "I have {valeu}."),
    )
    .unwrap();
    let found = issues(&with_dir(dir.path()));
    assert!(found[0].message.contains("{valeu}"), "{found:#?}");
    std::fs::remove_file(dir.path().join("fields.toml")).unwrap();
    let found = issues(&with_dir(dir.path()));
    assert!(found[0].message.contains("fields.toml"), "{found:#?}");
}

#[test]
fn provider_call_control_settings_are_validated() {
    let good = base()
        + "\n[providers.twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\napi_base = \"http://127.0.0.1:9000/\"\n";
    let c = config::parse(&good, "agent.toml").unwrap().config;
    let t = c.provider(Provider::Twilio);
    assert_eq!(
        t.account_sid.as_deref(),
        Some("AC0123456789abcdef0123456789abcdef")
    );
    assert_eq!(t.api_base.as_deref(), Some("http://127.0.0.1:9000"));
    let bad =
        base() + "\n[providers.twilio]\naccount_sid = \"AC123\"\napi_base = \"api.twilio.com\"\n";
    let found = issues(&bad);
    let fields: Vec<_> = found.iter().map(|i| i.field.as_str()).collect();
    assert!(
        fields.contains(&"providers.twilio.account_sid"),
        "{found:#?}"
    );
    assert!(fields.contains(&"providers.twilio.api_base"), "{found:#?}");
}

#[test]
fn transfer_targets_hours_and_summary_settings_are_validated() {
    use switchboard::config::{transfer_targets, SummarySettings};
    // `[escalation.hours]` (after `@`) goes at the end of `[escalation]`, before `[callback]`.
    let with = |escalation: &str, rest: &str| {
        let (keys, hours) = escalation.split_once('@').unwrap_or((escalation, ""));
        base()
            .replace(
                "transfer_number = \"+15550100001\"\n",
                &format!("transfer_number = \"+15550100001\"\n{keys}"),
            )
            .replace("[callback]", &format!("{hours}\n[callback]"))
            + rest
    };
    let good = with(
        "targets = [{ number = \"+15550100002\", name = \"Retention\", topics = [\"cancellation\"] }, { number = \"+15550100003\" }]\nring_seconds = 25\n@\
         [escalation.hours]\nmon = \"09:00-12:00, 13:00-17:00\"\nsat = \"closed\"\nclosed = [\"2026-12-25\"]\n",
        "\n[summary]\nengine = \"llm\"\nurl = \"http://127.0.0.1:11434/\"\nmodel = \"llama3\"\ntimeout_ms = 800\n",
    );
    let c = config::parse(&good, "agent.toml").unwrap().config;
    assert_eq!(
        transfer_targets(&c.escalation.targets, "cancellation"),
        ["+15550100002", "+15550100001", "+15550100003"]
    );
    assert_eq!(
        transfer_targets(&c.escalation.targets, "other"),
        ["+15550100001", "+15550100003"]
    );
    assert_eq!(c.escalation.ring_seconds, 25);
    let hours = c.escalation.hours.unwrap();
    assert_eq!(hours.week[0].len(), 2);
    assert!(hours.week[5].is_empty());
    match c.summary {
        SummarySettings::Llm(l) => {
            assert_eq!(l.url, "http://127.0.0.1:11434");
            assert_eq!(l.timeout_ms, 800);
        }
        other => panic!("{other:?}"),
    }

    // Targets alone are enough to escalate.
    let only_targets = base().replace(
        "transfer_number = \"+15550100001\"\n",
        "targets = [{ number = \"+15550100003\" }]\n",
    );
    let c = config::parse(&only_targets, "agent.toml").unwrap().config;
    assert_eq!(
        c.escalation.transfer_number.as_deref(),
        Some("+15550100003")
    );

    let bad = with(
        "targets = [{ number = \"+15550100000\" }, { number = \"0612\", topics = [\"nope\"] }]\nring_seconds = 2\n@\
         [escalation.hours]\nmon = \"17:00-09:00\"\ntue = \"9-5\"\nclosed = [\"25/12/2026\"]\n",
        "\n[summary]\nengine = \"gpt\"\n",
    );
    let found = issues(&bad);
    let fields: Vec<&str> = found.iter().map(|i| i.field.as_str()).collect();
    for expected in [
        "escalation.targets[0].number",
        "escalation.targets[1].number",
        "escalation.targets[1].topics",
        "escalation.ring_seconds",
        "escalation.hours.mon",
        "escalation.hours.tue",
        "escalation.hours.closed",
        "summary.engine",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing in {found:#?}"
        );
    }
    let own = found
        .iter()
        .find(|i| i.field == "escalation.targets[0].number")
        .unwrap();
    assert!(own.message.contains("agent's own number"), "{own}");
    let closed_all_week = with("@[escalation.hours]\nclosed = [\"2026-12-25\"]\n", "");
    assert!(issues(&closed_all_week)
        .iter()
        .any(|i| i.field == "escalation.hours" && i.message.contains("no day has opening hours")));
    let no_url = base() + "\n[summary]\nengine = \"llm\"\n";
    assert_eq!(issues(&no_url)[0].field, "summary.url");
    let slow = base() + "\n[summary]\nengine = \"llm\"\nurl = \"http://h\"\ntimeout_ms = 60000\n";
    assert_eq!(issues(&slow)[0].field, "summary.timeout_ms");
    let bad_key = base() + "\n[providers.telnyx]\npublic_key = \"not-a-key\"\n";
    assert_eq!(issues(&bad_key)[0].field, "providers.telnyx.public_key");
}
