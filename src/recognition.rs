//! The live server's recognition pool: every call's utterances are transcribed and scored here, on a fixed
//! number of worker threads, each with its own whisper state. The model is loaded once; memory does not grow
//! with the number of calls; a burst of calls queues instead of oversubscribing the cores.
//!
//! Finals (an utterance the caller finished) always go before partials (a look at an utterance still going
//! on), and are never refused. Partials are a bonus: when workers are busy or partials are already waiting,
//! a new one is refused and the caller of [`RecognitionPool::try_partial`] counts it as dropped. Topic scoring
//! runs on the same workers, so the shared sentence embedder is bounded by the pool too.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::asr::whisper::{WhisperModel, WhisperTranscriber};
use crate::asr::{AsrError, Transcriber};
use crate::listen::ListenError;
use crate::topics::semantic::SemanticMatcher;
use crate::topics::{TopicHit, TopicMatcher};

/// One call's topic matcher, shared between the call and the workers scoring its utterances.
pub type CallMatcher = Arc<Mutex<SemanticMatcher>>;

/// What a job asks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pass {
    /// A finished utterance: transcribed and scored with the call's context.
    Final,
    /// An utterance in progress: scored alone, and a topic counts only at `confidence` or above.
    Partial { confidence: f32 },
}

/// The result of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognised {
    pub text: String,
    pub hits: Vec<TopicHit>,
    /// Time the job waited for a worker.
    pub queued_ms: u64,
}

/// An utterance to recognise for one call.
pub struct Job {
    pub audio: Vec<f32>,
    pub pass: Pass,
    pub matcher: CallMatcher,
    pub reply: oneshot::Sender<Result<Recognised, ListenError>>,
}

struct Queued {
    job: Job,
    since: Instant,
}

#[derive(Default)]
struct Queues {
    finals: VecDeque<Queued>,
    partials: VecDeque<Queued>,
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
    /// Jobs waiting or running.
    depth: AtomicUsize,
}

/// The pool. Dropping it lets the workers finish what is queued and stop.
pub struct RecognitionPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    size: usize,
}

impl RecognitionPool {
    /// Starts `workers` threads, each transcribing with `threads` threads.
    pub fn start(model: &WhisperModel, workers: usize, threads: usize) -> Result<Self, AsrError> {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            depth: AtomicUsize::new(0),
        });
        let size = workers.max(1);
        let mut handles = Vec::with_capacity(size);
        for n in 0..size {
            let transcriber = model.transcriber_with_threads(threads)?;
            let shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("recognise-{n}"))
                .spawn(move || {
                    yield_to_calls();
                    work(&shared, transcriber)
                })
                .map_err(|e| AsrError::Decode(format!("cannot start a recognition worker: {e}")))?;
            handles.push(handle);
        }
        Ok(Self {
            shared,
            workers: handles,
            size,
        })
    }

    /// Number of workers.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Jobs waiting or running.
    pub fn depth(&self) -> usize {
        self.shared.depth.load(Ordering::Relaxed)
    }

    /// Queues a finished utterance. Never refused: a final is what a decision is made on.
    pub fn submit_final(&self, job: Job) {
        self.push(job, true);
    }

    /// Queues a partial only when a worker is free: a partial never waits, and never makes a final wait
    /// behind it. A refused job is handed back.
    pub fn try_partial(&self, job: Job) -> Result<(), Job> {
        {
            let q = lock(&self.shared.queues);
            if self.depth() >= self.size || q.closed {
                return Err(job);
            }
        }
        self.push(job, false);
        Ok(())
    }

    fn push(&self, job: Job, is_final: bool) {
        let queued = Queued {
            job,
            since: Instant::now(),
        };
        let mut q = lock(&self.shared.queues);
        if is_final {
            q.finals.push_back(queued);
        } else {
            q.partials.push_back(queued);
        }
        self.shared.depth.fetch_add(1, Ordering::Relaxed);
        drop(q);
        self.shared.ready.notify_one();
    }
}

impl Drop for RecognitionPool {
    fn drop(&mut self) {
        lock(&self.shared.queues).closed = true;
        self.shared.ready.notify_all();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Recognition runs at a lower CPU priority than the calls' own threads (sockets, VAD, pacing): when the
/// cores are busy, a transcript may come later, but a caller's audio is never read late and a barge-in is
/// never cleared late.
fn yield_to_calls() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; no memory is shared with them.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, RECOGNITION_NICENESS) != 0 {
            tracing::debug!("could not lower the recognition threads' priority");
        }
    }
}

/// Niceness of the recognition threads (0 is normal, 19 the lowest).
#[cfg(target_os = "linux")]
const RECOGNITION_NICENESS: libc::c_int = 10;

/// A poisoned lock only means another worker panicked mid-job; the queues themselves stay consistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn work(shared: &Shared, mut transcriber: WhisperTranscriber) {
    loop {
        let next = {
            let mut q = lock(&shared.queues);
            loop {
                if let Some(job) = q.finals.pop_front().or_else(|| q.partials.pop_front()) {
                    break Some(job);
                }
                if q.closed {
                    break None;
                }
                q = shared.ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some(Queued { job, since }) = next else {
            return;
        };
        let queued_ms = since.elapsed().as_millis() as u64;
        let result = recognise(&mut transcriber, &job).map(|(text, hits)| Recognised {
            text,
            hits,
            queued_ms,
        });
        shared.depth.fetch_sub(1, Ordering::Relaxed);
        // The call may have ended meanwhile; then nobody wants the answer.
        let _ = job.reply.send(result);
    }
}

fn recognise(
    transcriber: &mut WhisperTranscriber,
    job: &Job,
) -> Result<(String, Vec<TopicHit>), ListenError> {
    if job.audio.is_empty() {
        return Ok((String::new(), Vec::new()));
    }
    let text = transcriber.transcribe(&job.audio)?;
    if text.is_empty() {
        return Ok((text, Vec::new()));
    }
    let hits = match job.pass {
        Pass::Final => lock(&job.matcher).hits(&text)?,
        Pass::Partial { confidence } => lock(&job.matcher).partial_hits(&text, confidence)?,
    };
    Ok((text, hits))
}
