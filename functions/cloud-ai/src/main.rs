//! cloud-ai in one process: `TELEGRAM_TOKEN=... cargo run --release -p cloud-ai`.
//!
//! Polls Telegram, handles every update and archives sessions on the same library code as the
//! Lambdas, keeping everything in `DATA_DIR` (default `./cloud-ai-data`). Ctrl-C or SIGTERM stops
//! it cleanly; the next start resumes where it stopped.

use std::process::ExitCode;

use anyhow::Context as _;
use cloud_ai_shared::config::Config;
use cloud_ai_shared::embedded::dead_letters::{DeadLetters, Which};
use cloud_ai_shared::embedded::{DATABASE_FILE, EmbeddedBot, EmbeddedConfig};
use cloud_ai_shared::sqlite::Database;

#[tokio::main]
async fn main() -> ExitCode {
    let json_logs = init_logs();
    let result = match std::env::args().nth(1).as_deref() {
        None => run().await,
        Some("redrive") => redrive().await,
        Some(other) => Err(anyhow::anyhow!(
            "unknown command {other:?}: run `cloud-ai` to start the bot, or `cloud-ai redrive` to replay its dead letters"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Once: as a JSON log line where logs are JSON, else as one plain line.
            if json_logs {
                tracing::error!("{error:#}");
            } else {
                eprintln!("cloud-ai: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `cloud-ai redrive`: puts every dead letter back on the queue or bus it came from. Safe while
/// the bot runs (it looks at its queue at least every 30 s) or before it starts.
async fn redrive() -> anyhow::Result<()> {
    let embedded = EmbeddedConfig::from_env().context("configuration")?;
    let db = Database::open(&embedded.data_dir.join(DATABASE_FILE))?;
    let done = DeadLetters::new(db).redrive(Which::All).await?;
    println!(
        "put back {} update(s) and {} archive event(s); {} dead letter(s) left (their text no longer says where they go)",
        done.updates, done.events, done.left
    );
    Ok(())
}

async fn run() -> anyhow::Result<()> {
    let config = Config::from_env().context("configuration")?;
    let embedded = EmbeddedConfig::from_env().context("configuration")?;
    let bot = EmbeddedBot::start(&config, &embedded).await?;
    bot.run(stop_signal()).await.context("polling Telegram")?;
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM (`docker stop`, systemd).
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Readable lines on stderr (coloured only on a terminal), or JSON with `LOG_FORMAT=json`;
/// filtered by `RUST_LOG` (default `info`). True for JSON.
fn init_logs() -> bool {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        cloud_ai_shared::wiring::init_json_logs();
        true
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init();
        false
    }
}
