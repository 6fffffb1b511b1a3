//! Splits a chunked HTTP body into lines (NDJSON, server-sent events), whatever the chunking.

use std::time::Duration;

use async_trait::async_trait;

use super::{AnswerStream, ModelError};
use crate::domain::usage::TokenUsage;

/// Reads lines from a streaming response; the last line needs no newline.
pub struct LineReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
    finished: bool,
}

impl LineReader {
    pub fn new(response: reqwest::Response) -> LineReader {
        LineReader {
            response,
            buffer: Vec::new(),
            finished: false,
        }
    }

    /// The next line without its line ending; `None` at the end of the body.
    pub async fn next_line(&mut self) -> Option<Result<String, ModelError>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(decode(line));
            }
            if self.finished {
                if self.buffer.is_empty() {
                    return None;
                }
                return Some(decode(std::mem::take(&mut self.buffer)));
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk),
                Ok(None) => self.finished = true,
                Err(error) => {
                    self.finished = true;
                    self.buffer.clear();
                    return Some(Err(ModelError::Backend(format!(
                        "the stream broke off: {}",
                        error.without_url()
                    ))));
                }
            }
        }
    }
}

/// What one line of a streamed answer says.
#[derive(Debug)]
pub enum Line {
    /// More of the answer.
    Text(String),
    /// Nothing for the answer (a blank line, a comment, an empty chunk).
    Skip,
    /// The answer's end, with its last text (possibly empty).
    Last(String),
    /// The answer's end as one line states it all (Ollama's `done` line): its last text, the
    /// tokens, and whether the length limit stopped it.
    Final {
        text: String,
        tokens: Option<TokenUsage>,
        cut: bool,
    },
    /// The tokens the answer took, as the backend reports them.
    Usage(TokenUsage),
    /// The backend stopped the answer at its length limit (its usage and end may follow).
    Cut,
    /// The answer failed; nothing more is read.
    Failed(ModelError),
}

/// A streamed answer read line by line, each line read by `parse` (the protocol: NDJSON, SSE).
/// After its end or a failure it gives nothing more.
pub struct LineStream {
    lines: LineReader,
    parse: fn(&str) -> Line,
    done: bool,
    tokens: Option<TokenUsage>,
    cut: bool,
}

impl LineStream {
    pub fn new(response: reqwest::Response, parse: fn(&str) -> Line) -> LineStream {
        LineStream {
            lines: LineReader::new(response),
            parse,
            done: false,
            tokens: None,
            cut: false,
        }
    }
}

#[async_trait]
impl AnswerStream for LineStream {
    async fn next(&mut self) -> Option<Result<String, ModelError>> {
        while !self.done {
            let line = match self.lines.next_line().await? {
                Ok(line) => line,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            match (self.parse)(&line) {
                Line::Text(text) => return Some(Ok(text)),
                Line::Skip => {}
                Line::Usage(tokens) => self.tokens = Some(tokens),
                Line::Cut => self.cut = true,
                Line::Final { text, tokens, cut } => {
                    self.done = true;
                    self.tokens = tokens.or(self.tokens);
                    self.cut = cut;
                    if !text.is_empty() {
                        return Some(Ok(text));
                    }
                }
                Line::Last(text) => {
                    self.done = true;
                    if !text.is_empty() {
                        return Some(Ok(text));
                    }
                }
                Line::Failed(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }

    fn usage(&self) -> Option<TokenUsage> {
        self.tokens
    }

    fn cut(&self) -> bool {
        self.cut
    }
}

fn decode(line: Vec<u8>) -> Result<String, ModelError> {
    String::from_utf8(line).map_err(|_| ModelError::Decode("a line is not UTF-8".into()))
}

/// An HTTP client for a model backend: connects quickly, and waits as long as a model takes.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("the HTTP client builds with static settings")
}

/// `{base}{path}` with exactly one slash between.
pub fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}
