//! `switchboard check-prompts`: render every sentence the agent can say with the configured voice and read
//! it back with the recogniser, so a sentence the recogniser cannot read back is caught before a caller
//! hears it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use crate::config;
use crate::models::ModelDir;

#[derive(clap::Args)]
pub struct CheckPromptsArgs {
    #[arg(long, short)]
    config: PathBuf,
    #[arg(long, default_value_t = 0.8)]
    min_accuracy: f64,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// Fails (exit 1) when any sentence reads back below `--min-accuracy`.
pub fn run(models: &ModelDir, args: CheckPromptsArgs) -> Result<ExitCode> {
    check_prompts(models, &args.config, args.min_accuracy, args.json)
}

fn check_prompts(
    models: &ModelDir,
    config_path: &Path,
    min_accuracy: f64,
    json: bool,
) -> Result<ExitCode> {
    use crate::asr::whisper::WhisperModel;
    use crate::speech::check::{agent_sentences, check_sentence};

    let config = config::load(config_path)?.config;
    let language = crate::language::Language::for_agent(&config.agent)?;
    let prompts = &language.prompts;
    if !prompts.voice.espeak.starts_with("en") {
        anyhow::bail!(
            "the recogniser (tiny.en) reads English only; these prompts are {:?}",
            prompts.voice.espeak
        );
    }
    // The HTTP voice sends its requests on this runtime.
    let runtime = tokio::runtime::Runtime::new()?;
    let _entered = runtime.enter();
    let (synth, note) = crate::speech::engine(&config.speech, &prompts.voice.espeak, models)?;
    if let Some(note) = note {
        eprintln!("warning: {note}");
    }
    let whisper = WhisperModel::load(models, config.asr)?;
    let mut asr = whisper.transcriber()?;
    let code = crate::call::extract::phone::calling_code(&config.agent.phone_number)?;
    let sentences = agent_sentences(
        prompts,
        &language.fields,
        &config.callback.extra_fields,
        &code,
    )?;
    if !json {
        println!(
            "{} sentences, voice {}, read back by whisper tiny.en\n",
            sentences.len(),
            synth.name()
        );
        println!(
            "{:>8} {:>9} {:>7} {:>6}  sentence -> heard",
            "accuracy", "render ms", "audio s", "RTF"
        );
    }
    let (mut total, mut worst, mut render, mut audio) = (0.0, 1.0f64, 0.0, 0.0);
    let mut bad = 0;
    for sentence in &sentences {
        let c = check_sentence(synth.as_ref(), &mut asr, sentence)?;
        total += c.accuracy;
        worst = worst.min(c.accuracy);
        render += c.render_ms;
        audio += c.audio_s;
        if c.accuracy < min_accuracy {
            bad += 1;
        }
        if json {
            println!("{}", serde_json::to_string(&c)?);
        } else {
            println!(
                "{:>8.2} {:>9.0} {:>7.2} {:>6.3}  {:?} -> {:?}{}",
                c.accuracy,
                c.render_ms,
                c.audio_s,
                c.rtf(),
                c.text,
                c.heard,
                if c.accuracy < min_accuracy {
                    "  <-- reword"
                } else {
                    ""
                }
            );
        }
    }
    let n = sentences.len().max(1) as f64;
    if !json {
        println!(
            "\nmean word accuracy {:.3}, worst {:.2}; render {:.0} ms for {:.1} s of speech (RTF {:.3}); {bad} below {min_accuracy}",
            total / n,
            worst,
            render,
            audio,
            render / 1000.0 / audio.max(1e-9)
        );
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
