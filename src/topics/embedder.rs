//! The MiniLM sentence embedder (all-MiniLM-L6-v2 through ONNX Runtime, WordPiece through `tokenizers`).
//!
//! One embedder serves every call: the model is loaded once and each [`SentenceEmbedder::embed`] call runs
//! one batch, padded to its longest sentence with a real attention mask, so a sentence embeds the same
//! whatever it is batched with (to float rounding) and the same input always gives the same output.

use std::path::Path;

use ndarray::Array2;
use ort::session::Session;
use ort::value::TensorRef;
use tokenizers::{Tokenizer, TruncationParams};

use crate::models::{ModelDir, MINILM, MINILM_TOKENIZER};
use crate::onnx::{self, OnnxError};

/// Width of a sentence embedding.
pub const DIM: usize = 384;
/// Longest input in word pieces; a phone utterance is far shorter, this only bounds a runaway window.
const MAX_TOKENS: usize = 256;

/// A unit-length sentence embedding: cosine similarity is a dot product.
pub type Embedding = Vec<f32>;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("cannot load the tokenizer {path}: {reason}")]
    Tokenizer { path: String, reason: String },
    #[error("tokenizing failed: {0}")]
    Tokenize(String),
}

pub struct SentenceEmbedder {
    session: Session,
    tokenizer: Tokenizer,
}

impl SentenceEmbedder {
    /// Loads the model and tokenizer from `models/` with `threads` intra-op threads.
    pub fn load(models: &ModelDir, threads: usize) -> Result<Self, EmbedError> {
        let model = models.file(MINILM).map_err(OnnxError::from)?;
        let tokenizer = models.file(MINILM_TOKENIZER).map_err(OnnxError::from)?;
        Ok(Self {
            session: onnx::session(models, &model, threads)?,
            tokenizer: load_tokenizer(&tokenizer)?,
        })
    }

    /// Embeds `sentences` in one batch, in order.
    pub fn embed<S: AsRef<str>>(&mut self, sentences: &[S]) -> Result<Vec<Embedding>, EmbedError> {
        if sentences.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<&str> = sentences.iter().map(|s| s.as_ref()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        let width = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = Array2::<i64>::zeros((encodings.len(), width));
        let mut mask = Array2::<i64>::zeros((encodings.len(), width));
        for (row, encoding) in encodings.iter().enumerate() {
            for (col, (&id, &m)) in encoding
                .get_ids()
                .iter()
                .zip(encoding.get_attention_mask())
                .enumerate()
            {
                ids[[row, col]] = i64::from(id);
                mask[[row, col]] = i64::from(m);
            }
        }
        let types = Array2::<i64>::zeros((encodings.len(), width));
        let run = |e: ort::Error| EmbedError::Onnx(OnnxError::Run(e.to_string()));
        let outputs = self
            .session
            .run(ort::inputs![
                "input_ids" => TensorRef::from_array_view(&ids).map_err(run)?,
                "attention_mask" => TensorRef::from_array_view(&mask).map_err(run)?,
                "token_type_ids" => TensorRef::from_array_view(&types).map_err(run)?,
            ])
            .map_err(run)?;
        let (_, flat) = outputs["sentence_embedding"]
            .try_extract_tensor::<f32>()
            .map_err(run)?;
        Ok(flat.chunks(DIM).map(<[f32]>::to_vec).collect())
    }
}

/// The shipped tokenizer.json pads every input to 128 tokens; batches are padded here instead, to the
/// longest sentence, and truncation only guards against runaway input.
fn load_tokenizer(path: &Path) -> Result<Tokenizer, EmbedError> {
    let fail = |reason: String| EmbedError::Tokenizer {
        path: path.display().to_string(),
        reason,
    };
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| fail(e.to_string()))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        }))
        .map_err(|e| fail(e.to_string()))?;
    Ok(tokenizer)
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
