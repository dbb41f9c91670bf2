//! `switchboard support` as a real process on loopback: the Support page and API, and the outbox worker,
//! over a real database. Killed when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;

use switchboard::tickets::database::Database;

pub const AGENT_TOKEN: &str = "agent-token-maria-0123456789";
pub const ADMIN_TOKEN: &str = "admin-token-lead-0123456789";

/// The test agent's config with two support tokens (Maria, agent; Lead, admin), `routing` in place of
/// its `[routing]` section, and the tickets in `db`.
pub fn config(db: &Database, routing: &str) -> String {
    let base = super::agent_toml("decide");
    let (before, _) = base.split_once("[routing]").expect("a [routing] section");
    let database = db.location();
    format!(
        "{before}{routing}\n\n[support]\ntokens = [\n  {{ name = \"Maria\", token = \"{AGENT_TOKEN}\", role = \"agent\" }},\n  {{ name = \"Lead\", token = \"{ADMIN_TOKEN}\", role = \"admin\" }},\n]\n\n[tickets]\ndatabase = \"{database}\"\n"
    )
}

pub struct SupportNode {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl SupportNode {
    pub fn start(config: &str) -> SupportNode {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("agent.toml"), config).expect("write config");
        Self::start_in(dir)
    }

    /// Starts on the config already in `dir` (a restart).
    pub fn start_in(dir: tempfile::TempDir) -> SupportNode {
        let (child, addr) = super::start_listening("support", dir.path(), "support.log");
        SupportNode { child, addr, dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("support.log")
    }

    /// Ends the process at once (SIGKILL), keeping its directory for a restart.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for SupportNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
