//! cloud-ai in one process: `TELEGRAM_TOKEN=... cargo run --release -p cloud-ai`.
//!
//! Polls Telegram, handles every update and archives sessions on the same library code as the
//! Lambdas, keeping everything in `DATA_DIR` (default `./cloud-ai-data`). Ctrl-C or SIGTERM stops
//! it cleanly; the next start resumes where it stopped.

use std::process::ExitCode;

use anyhow::Context as _;
use cloud_ai_shared::config::Config;
use cloud_ai_shared::embedded::{EmbeddedBot, EmbeddedConfig};

#[tokio::main]
async fn main() -> ExitCode {
    init_logs();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("cloud-ai: {error:#}");
            ExitCode::FAILURE
        }
    }
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

/// Readable lines on stderr, or JSON with `LOG_FORMAT=json`; filtered by `RUST_LOG` (default
/// `info`).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        cloud_ai_shared::wiring::init_json_logs();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}
