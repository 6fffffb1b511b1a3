//! The one-process bot (`cloud-ai`) run as users run it: a child process with its own data
//! folder and environment, its logs collected, stopped by SIGTERM or killed by SIGKILL.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bot::TOKEN;
use crate::fake_telegram::FakeTelegram;

pub struct BotProcess {
    child: tokio::process::Child,
    logs: Arc<Mutex<String>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

/// A fresh data folder under the system's temporary folder.
/// Runs a command to its end and insists on success; its standard output.
pub fn stdout_of(command: &mut std::process::Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

pub fn temp_data_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cloud-ai-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("create a temporary data folder");
    dir
}

/// The environment of a bot on `telegram`, with its data in `data_dir`; `extra` adds to or
/// overrides it.
pub fn bot_env(
    telegram: &FakeTelegram,
    data_dir: &std::path::Path,
    extra: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("TELEGRAM_TOKEN", TOKEN.to_string()),
        ("TELEGRAM_API_URL", telegram.base_url.clone()),
        ("DATA_DIR", data_dir.display().to_string()),
        ("MODEL_BACKEND", "none".to_string()),
        // Open to everyone; the access tests set their own lists.
        ("ALLOWED_USERS", "*".to_string()),
        // Tests send faster than people; the limit tests set their own.
        ("MESSAGES_PER_MINUTE", "10000".to_string()),
        ("RUST_LOG", "info".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (name, value) in extra {
        env.retain(|(k, _)| k != name);
        env.push((name.to_string(), value.clone()));
    }
    env
}

/// [`bot_env`] for a bot that answers chat messages with `model` (Ollama's API).
pub fn chat_bot_env(
    telegram: &FakeTelegram,
    data_dir: &std::path::Path,
    model: &crate::fake_model::FakeModel,
    extra: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut settings = vec![
        ("MODEL_BACKEND", "ollama".to_string()),
        ("OLLAMA_URL", model.base_url.clone()),
    ];
    settings.extend(extra.iter().cloned());
    bot_env(telegram, data_dir, &settings)
}

impl BotProcess {
    /// Starts `binary` with only `env` (and `PATH`) in its environment.
    pub fn start(binary: &str, env: &[(String, String)]) -> BotProcess {
        BotProcess::start_in(binary, env, None)
    }

    /// [`BotProcess::start`] in the folder `current_dir` (where a default `DATA_DIR` goes).
    pub fn start_in(
        binary: &str,
        env: &[(String, String)],
        current_dir: Option<&std::path::Path>,
    ) -> BotProcess {
        let mut command = tokio::process::Command::new(binary);
        if let Some(dir) = current_dir {
            command.current_dir(dir);
        }
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the bot binary");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (logs, reader) = crate::child_logs::collect(stderr, usize::MAX);
        BotProcess {
            child,
            logs,
            reader: Some(reader),
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is running")
    }

    /// Waits for the process to end by itself, then for its last log lines.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()?
            .expect("wait for the bot");
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        Some(status)
    }

    /// Sends SIGTERM (what `docker stop` and systemd send) and waits for the exit.
    pub async fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        signal(self.pid(), "TERM");
        match self.wait(timeout).await {
            Some(status) => status,
            None => panic!(
                "the bot did not stop within {timeout:?} of SIGTERM:\n{}",
                self.logs()
            ),
        }
    }

    /// SIGKILL: the process ends at once, wherever it was.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("kill the bot");
        self.wait(Duration::from_secs(10))
            .await
            .expect("a killed process ends");
    }

    /// The most memory the process has used (`VmHWM` in `/proc/<pid>/status`), in KiB.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill(1)");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Checks `check` every 20 ms until it gives a value, or panics after `timeout` saying `what`
/// was awaited (with `context()` for the failure message).
pub async fn eventually<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("waited {timeout:?} for {what}; {}", context());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Talks to a running bot through the fake Telegram, as users do: queues an update for
/// `getUpdates` and waits for what the bot sends back.
pub struct Conversation {
    pub telegram: FakeTelegram,
    next_update: std::sync::atomic::AtomicI64,
}

/// How long a reply may take to show up.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

impl Conversation {
    pub fn new(telegram: FakeTelegram, first_update_id: i64) -> Conversation {
        Conversation {
            telegram,
            next_update: std::sync::atomic::AtomicI64::new(first_update_id),
        }
    }

    pub fn next_update_id(&self) -> i64 {
        self.next_update
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// Queues `text` from `user_id` in their private chat; returns the update id.
    pub fn send(&self, user_id: i64, text: &str) -> i64 {
        let update_id = self.next_update_id();
        self.telegram
            .queue_update(crate::fixtures::text(update_id, user_id, user_id, text));
        update_id
    }

    /// What the bot sent to `chat_id` so far.
    pub fn sent_to(&self, chat_id: i64) -> Vec<crate::fake_telegram::Sent> {
        use crate::fake_telegram::Sent;
        self.telegram
            .sent()
            .into_iter()
            .filter(|s| match s {
                Sent::Message { chat_id: c, .. } | Sent::Document { chat_id: c, .. } => {
                    *c == chat_id
                }
            })
            .collect()
    }

    /// Sends `text` and waits for the bot's next message to the user; returns it.
    pub async fn ask(&self, bot: &BotProcess, user_id: i64, text: &str) -> String {
        let before = self.sent_to(user_id).len();
        self.send(user_id, text);
        let sent = self.wait_for_sent(bot, user_id, before, text).await;
        sent.text().unwrap_or_default().to_string()
    }

    /// Uploads `bytes` as a document and waits for the bot's reply text.
    pub async fn send_file(
        &self,
        bot: &BotProcess,
        user_id: i64,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> String {
        let before = self.sent_to(user_id).len();
        let size = bytes.len() as u64;
        let file_id = self.telegram.add_file(bytes);
        let update_id = self.next_update_id();
        self.telegram.queue_update(crate::fixtures::document(
            update_id, user_id, user_id, &file_id, file_name, size,
        ));
        let sent = self.wait_for_sent(bot, user_id, before, file_name).await;
        sent.text().unwrap_or_default().to_string()
    }

    /// Waits until the last message shown in `chat_id` reads `expected` (a streamed answer,
    /// once whole).
    pub async fn wait_for_last_shown(&self, bot: &BotProcess, chat_id: i64, expected: &str) {
        eventually(
            REPLY_TIMEOUT,
            &format!("the message {expected:?}"),
            || {
                self.telegram
                    .chat_messages(chat_id)
                    .last()
                    .filter(|m| m.text == expected)
                    .map(|_| ())
            },
            || {
                format!(
                    "{:#?}\n{}",
                    self.telegram.chat_messages(chat_id),
                    bot.logs()
                )
            },
        )
        .await;
    }

    /// Waits until more than `before` things were sent to `chat_id`; returns the first new one.
    pub async fn wait_for_sent(
        &self,
        bot: &BotProcess,
        chat_id: i64,
        before: usize,
        what: &str,
    ) -> crate::fake_telegram::Sent {
        eventually(
            REPLY_TIMEOUT,
            &format!("a reply to {what:?}"),
            || self.sent_to(chat_id).get(before).cloned(),
            || bot.logs(),
        )
        .await
    }
}
