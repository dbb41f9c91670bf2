//! TwiML we answer Twilio with. Built as text with every attribute escaped: a caller id or a custom
//! parameter can hold any character.

/// Escapes text for an XML attribute value.
pub fn attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Answers a call by connecting its audio, both ways, to our stream at `stream_url` (`wss://...`), with
/// `parameters` handed to the stream's start message as `customParameters`.
///
/// `action`: where Twilio asks what to do once our stream closes (a transfer, or hanging up).
pub fn connect_stream(
    stream_url: &str,
    action: Option<&str>,
    parameters: &[(&str, &str)],
) -> String {
    let action = action
        .map(|a| format!(" action=\"{}\"", attr(a)))
        .unwrap_or_default();
    let mut xml = format!(
        "{HEAD}<Response><Connect{action}><Stream url=\"{}\">",
        attr(stream_url)
    );
    for (name, value) in parameters {
        xml.push_str(&format!(
            "<Parameter name=\"{}\" value=\"{}\"/>",
            attr(name),
            attr(value)
        ));
    }
    xml.push_str("</Stream></Connect></Response>");
    xml
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// Bridges the caller to `number`; `whisper_url` (if any) is run on the answering person's leg first, where
/// the contextual summary is spoken.
pub fn dial(number: &str, whisper_url: Option<&str>) -> String {
    let url = whisper_url
        .map(|u| format!(" url=\"{}\"", attr(u)))
        .unwrap_or_default();
    format!(
        "{HEAD}<Response><Dial><Number{url}>{}</Number></Dial></Response>",
        attr(number)
    )
}

/// Bridges the caller to `number` through the REST API's `Twiml`: `action` receives `DialCallStatus`
/// (completed, busy, no-answer, failed, canceled), so a transfer nobody takes comes back to us; `timeout`
/// is how long it rings.
pub fn dial_with_outcome(
    number: &str,
    whisper_url: Option<&str>,
    action_url: &str,
    caller_id: &str,
    timeout_s: u32,
) -> String {
    dial_all(&[number], whisper_url, action_url, caller_id, timeout_s)
}

/// Like [`dial_with_outcome`], ringing every one of `numbers` at once: the first to answer takes the call
/// (and hears the whisper), the others stop ringing.
pub fn dial_all(
    numbers: &[&str],
    whisper_url: Option<&str>,
    action_url: &str,
    caller_id: &str,
    timeout_s: u32,
) -> String {
    let url = whisper_url
        .map(|u| format!(" url=\"{}\"", attr(u)))
        .unwrap_or_default();
    let nouns: String = numbers
        .iter()
        .map(|n| format!("<Number{url}>{}</Number>", attr(n)))
        .collect();
    format!(
        "{HEAD}<Response><Dial callerId=\"{}\" timeout=\"{timeout_s}\" action=\"{}\">{nouns}</Dial></Response>",
        attr(caller_id),
        attr(action_url),
    )
}

/// Speaks `text` (to whoever is on the leg that runs it).
pub fn say(text: &str) -> String {
    format!("{HEAD}<Response><Say>{}</Say></Response>", attr(text))
}

/// Ends the call.
pub fn hangup() -> String {
    format!("{HEAD}<Response><Hangup/></Response>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_stream_twiml_escapes_what_callers_control() {
        let xml = connect_stream(
            "wss://agent.example.com/twilio/stream",
            None,
            &[("from", "+15550142000"), ("note", "a \"b\" & <c>")],
        );
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect><Stream url=\"wss://agent.example.com/twilio/stream\">\
             <Parameter name=\"from\" value=\"+15550142000\"/>\
             <Parameter name=\"note\" value=\"a &quot;b&quot; &amp; &lt;c&gt;\"/>\
             </Stream></Connect></Response>"
        );
    }

    #[test]
    fn dial_with_outcome_reports_to_the_action_url() {
        let x = dial_with_outcome(
            "+15550100001",
            Some("https://h/twilio/whisper/CA1?a=1&b=2"),
            "https://h/twilio/dial-result/CA1",
            "+15550100000",
            20,
        );
        assert!(x.contains(r#"<Dial callerId="+15550100000" timeout="20" action="https://h/twilio/dial-result/CA1">"#), "{x}");
        assert!(
            x.contains(
                r#"<Number url="https://h/twilio/whisper/CA1?a=1&amp;b=2">+15550100001</Number>"#
            ),
            "{x}"
        );
    }

    #[test]
    fn dial_and_action_twiml() {
        assert!(connect_stream(
            "wss://h/twilio/stream",
            Some("https://h/twilio/after?a=1&b=2"),
            &[]
        )
        .contains("<Connect action=\"https://h/twilio/after?a=1&amp;b=2\">"));
        assert_eq!(
            dial("+34600000000", Some("https://h/twilio/whisper/CA1")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial><Number url=\"https://h/twilio/whisper/CA1\">+34600000000</Number></Dial></Response>"
        );
        assert!(say("a < b").contains("<Say>a &lt; b</Say>"));
    }
}
