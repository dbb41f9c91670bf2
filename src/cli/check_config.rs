//! `switchboard check-config`: validate an agent config and say what it holds, or every mistake with its
//! place in the file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

#[derive(clap::Args)]
pub struct CheckConfigArgs {
    config: PathBuf,
}

pub fn run(args: CheckConfigArgs) -> Result<ExitCode> {
    let path = &args.config;
    let loaded = super::load_config(path)?;
    let c = &loaded.config;
    println!(
        "{}: ok: agent {:?} ({}), support = \"{}\", {} escalation topic(s), {} callback topic(s), {} extra field(s)",
        path.display(),
        c.agent.name,
        c.agent.phone_number,
        c.agent.support.as_str(),
        c.escalation.mandatory_topics.len(),
        c.callback.mandatory_topics.len(),
        c.callback.extra_fields.len(),
    );
    Ok(ExitCode::SUCCESS)
}
