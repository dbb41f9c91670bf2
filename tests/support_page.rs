//! The Support page in a real browser: Debian's headless Chromium, driven through ChromeDriver, against
//! `switchboard support` on loopback. Staff log in with a token, find a ticket by search, add a note,
//! change its status and see both in the history. A screenshot of the ticket view is kept in
//! `target/artifacts/support-ticket.png`.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::staff::{self, SupportNode, AGENT_TOKEN};
use fantoccini::{ClientBuilder, Locator};
use switchboard::tickets::database::Database;
use switchboard::tickets::store::TicketStore;
use switchboard::tickets::{
    Category, FieldStatus, FieldValue, Priority, TicketDraft, TicketKind, TopicEvidence,
};
use switchboard::topics::TopicKind;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Clicks what submits a form or follows a link, and waits for the next page to be loaded: a click
/// returns before the browser has navigated, so reading right after it could read the old page.
async fn follow(
    browser: &fantoccini::Client,
    what: Locator<'_>,
) -> Result<(), fantoccini::error::CmdError> {
    let old = browser.find(Locator::Css("html")).await?.element_id();
    browser.find(what).await?.click().await?;
    let started = Instant::now();
    loop {
        let now = browser.find(Locator::Css("html")).await?.element_id();
        let ready = browser
            .execute("return document.readyState", vec![])
            .await?;
        if now != old && ready == "complete" {
            return Ok(());
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no new page after the click"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// ChromeDriver on a free port, once it answers.
async fn chromedriver() -> (Driver, String) {
    assert!(
        std::path::Path::new("/usr/bin/chromedriver").exists(),
        "no /usr/bin/chromedriver: run scripts/browser.sh (Debian chromium + chromium-driver)"
    );
    let port = free_port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Driver(child), url)
}

fn ticket(topic: &str, category: Category, transcript: &str) -> TicketDraft {
    let mut reason = FieldValue::missing("reason", "What is the reason for your call?", "text");
    reason.value = Some("router reboots every hour".into());
    reason.raw = Some("my router reboots every hour".into());
    reason.status = FieldStatus::Answered;
    TicketDraft {
        kind: TicketKind::Callback,
        topic: Some(topic.into()),
        summary: format!("Caller ending in 56 calls about {topic}"),
        transcript: transcript.into(),
        fields: vec![reason],
        caller: Some("+15550123456".into()),
        call_id: format!("CA-{topic}"),
        note: None,
        promise: Some("We will call you back tomorrow after 3 pm.".into()),
        awaiting_transfer: false,
        category,
        priority: Priority::High,
        topics: vec![TopicEvidence {
            topic: topic.into(),
            kind: TopicKind::Callback,
            score: 0.74,
            evidence: transcript.into(),
        }],
    }
}

#[tokio::test]
async fn staff_find_note_and_move_a_ticket_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Sqlite(dir.path().join("tickets.db"));
    let store = TicketStore::open(&db).await.unwrap();
    store
        .file(&ticket(
            "billing",
            Category::Accounting,
            "you charged me twice",
        ))
        .await
        .unwrap();
    let wanted = store
        .file(&ticket(
            "complaint",
            Category::Service,
            "[00:04] the router keeps rebooting <b>every</b> hour",
        ))
        .await
        .unwrap();
    store
        .file(&ticket(
            "cancellation",
            Category::Service,
            "cancel my contract",
        ))
        .await
        .unwrap();

    let node = SupportNode::start(&staff::config(
        &db,
        "[routing]\ndefault = [\"https://hooks.example.invalid/sb\"]",
    ));
    let (_driver, webdriver) = chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1700",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("--user-data-dir={}", profile.path().display())])
    .collect::<Vec<_>>();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .expect("a Chromium session");

    let result = async {
        // Log in: a wrong token is refused, the right one lets Maria in.
        browser.goto(&node.url("/support")).await?;
        browser
            .find(Locator::Id("token"))
            .await?
            .send_keys("wrong-token-000000000")
            .await?;
        follow(&browser, Locator::Id("login")).await?;
        let refused = browser
            .find(Locator::Css(".flash.err"))
            .await?
            .text()
            .await?;
        assert!(refused.contains("not one of"), "{refused}");
        browser
            .find(Locator::Id("token"))
            .await?
            .send_keys(AGENT_TOKEN)
            .await?;
        follow(&browser, Locator::Id("login")).await?;
        let who = browser
            .wait()
            .for_element(Locator::Id("who"))
            .await?
            .text()
            .await?;
        assert_eq!(who, "Maria (agent)");
        assert!(browser
            .find(Locator::Id("count"))
            .await?
            .text()
            .await?
            .starts_with("3 ticket(s)"));

        // Find it by search.
        browser
            .find(Locator::Id("search"))
            .await?
            .send_keys("rebooting")
            .await?;
        follow(&browser, Locator::Id("apply")).await?;
        let count = browser
            .wait()
            .for_element(Locator::Id("count"))
            .await?
            .text()
            .await?;
        assert!(count.starts_with("1 ticket(s)"), "{count}");
        let links = browser.find_all(Locator::Css("a.ticket-link")).await?;
        assert_eq!(links.len(), 1);
        follow(&browser, Locator::Css("a.ticket-link")).await?;

        // The ticket view shows the call: transcript (as text, never as markup), fields, summary.
        let title = browser
            .wait()
            .for_element(Locator::Id("title"))
            .await?
            .text()
            .await?;
        assert_eq!(title, format!("#{wanted} callback · complaint"));
        let transcript = browser
            .find(Locator::Id("transcript"))
            .await?
            .text()
            .await?;
        assert!(transcript.contains("<b>every</b>"), "{transcript}");
        let fields = browser.find(Locator::Id("fields")).await?.text().await?;
        assert!(fields.contains("router reboots every hour"), "{fields}");
        assert!(browser
            .find(Locator::Id("summary"))
            .await?
            .text()
            .await?
            .contains("tomorrow after 3 pm"));

        // Add a note, change the status.
        browser
            .find(Locator::Id("note-text"))
            .await?
            .send_keys("Called back, replacing the router.")
            .await?;
        follow(&browser, Locator::Id("add-note")).await?;
        let flash = browser
            .wait()
            .for_element(Locator::Id("flash"))
            .await?
            .text()
            .await?;
        assert_eq!(flash, "Note added.");
        browser
            .find(Locator::Id("status-select"))
            .await?
            .select_by_value("in_progress")
            .await?;
        follow(&browser, Locator::Id("change-status")).await?;
        let flash = browser
            .wait()
            .for_element(Locator::Id("flash"))
            .await?
            .text()
            .await?;
        assert_eq!(flash, "Status is now in_progress.");
        assert_eq!(
            browser.find(Locator::Id("status")).await?.text().await?,
            "in_progress"
        );
        let notes = browser.find(Locator::Id("notes")).await?.text().await?;
        assert!(
            notes.contains("Called back, replacing the router."),
            "{notes}"
        );
        let history = browser.find(Locator::Id("history")).await?.text().await?;
        assert!(
            history.contains("Maria note Called back, replacing the router."),
            "{history}"
        );
        assert!(
            history.contains("Maria status open -> in_progress"),
            "{history}"
        );

        let shot = browser.screenshot().await?;
        let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        std::fs::write(artifacts.join("support-ticket.png"), shot).unwrap();
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.close().await;
    result.expect("the browser steps");

    // The page's changes are in the store, under Maria's name.
    let history = store.history(wanted).await.unwrap();
    assert!(history
        .iter()
        .any(|c| c.actor == "Maria" && c.change == "status"));
    assert_eq!(store.get(wanted).await.unwrap().status, "in_progress");
}
