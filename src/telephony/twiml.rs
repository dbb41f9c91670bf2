//! TwiML we answer Twilio with. Built as text with every attribute escaped: a caller id or a custom
//! parameter can hold any character.

/// Escapes text for an XML attribute value.
fn attr(value: &str) -> String {
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
pub fn connect_stream(stream_url: &str, parameters: &[(&str, &str)]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect><Stream url=\"{}\">",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_stream_twiml_escapes_what_callers_control() {
        let xml = connect_stream(
            "wss://agent.example.com/twilio/stream",
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
}
