//! The live server under load: `switchboard loadtest` levels (1, 8, 16, 32 simultaneous calls, each the
//! Pipecat anchor sentence at real-time pace, all ending their speech at the same moment), each against a
//! fresh server on loopback. Reported, not asserted; compare levels within one run (shared, noisy machines).
//!
//! `SWITCHBOARD_LOAD_LEVELS=1,8` picks other levels. The table's columns are explained in BENCHMARKS.md.

use std::path::Path;
use std::time::Duration;

use switchboard::loadtest::{anchor_call, run_level, Target};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("examples/agent.toml");
    let models = root.join("models");
    let levels: Vec<usize> = std::env::var("SWITCHBOARD_LOAD_LEVELS")
        .unwrap_or_else(|_| "1,8,16,32".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let audio = anchor_call().expect("espeak-ng voices the anchor call");
    println!("{}", switchboard::loadtest::Level::header());
    for n in levels {
        let target = Target::spawn(
            Path::new(env!("CARGO_BIN_EXE_switchboard")),
            &config,
            Some(&models),
        )
        .expect("start the server");
        let l = runtime
            .block_on(run_level(&target, n, &audio, Duration::from_secs(10)))
            .expect("load level");
        println!("{}", l.row());
    }
}
