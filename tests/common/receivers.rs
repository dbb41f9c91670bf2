//! Where notifications land in the tests: a real SMTP server (PyPI aiosmtpd, in target/peers, saving to a
//! Maildir) that can be stopped and started on its port, and a webhook receiver on loopback that records
//! every request and answers by script.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd on 127.0.0.1:`port`, delivering into a Maildir.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    child: Option<Child>,
}

impl SmtpServer {
    /// A server on a port of its own, not running yet (an outage from the start).
    pub fn reserved(maildir: &Path) -> SmtpServer {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("create the Maildir");
        }
        SmtpServer {
            port: free_port(),
            maildir: maildir.to_path_buf(),
            child: None,
        }
    }

    pub fn start(&mut self) {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers/bin/python");
        assert!(
            python.exists(),
            "no {}: run scripts/peers.sh (installs aiosmtpd)",
            python.display()
        );
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every mail received, as raw RFC 5322 text.
    pub fn mails(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One webhook request as received.
#[derive(Debug, Clone)]
pub struct Hook {
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<Hook>>>,
    /// The first this many requests are answered 503.
    fail_first: Arc<AtomicUsize>,
}

pub struct WebhookReceiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Hook>>>,
}

impl WebhookReceiver {
    /// A receiver that answers 503 to its first `fail_first` requests, then 200.
    pub async fn start(fail_first: usize) -> WebhookReceiver {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Receiver {
            seen: seen.clone(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookReceiver {
            url: format!("http://{addr}/hook"),
            seen,
        }
    }

    pub fn received(&self) -> Vec<Hook> {
        self.seen.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.seen.lock().unwrap().push(Hook {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// Waits until `done` holds, up to `limit`.
pub async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}
