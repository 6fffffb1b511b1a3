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
        Some("adopt") => adopt().await,
        Some(other) => Err(anyhow::anyhow!(
            "unknown command {other:?}: run `cloud-ai` to start the bot, `cloud-ai redrive` to replay its dead letters, or `cloud-ai adopt` to take over the original bot's users"
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

/// `cloud-ai adopt`: takes over every user the original bot left sessions or archives of, on the
/// configured storage (`STORAGE=aws`: `TABLE_NAME`, `BUCKET_NAME`). Running it again writes
/// nothing.
async fn adopt() -> anyhow::Result<()> {
    use cloud_ai_shared::config::{DEFAULT_BUCKET, DEFAULT_TABLE};
    use cloud_ai_shared::embedded::adopt_all::{adopt_all, adopter};
    use cloud_ai_shared::handlers::Tally;

    let embedded = EmbeddedConfig::from_env().context("configuration")?;
    let named = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let adopter = adopter(
        &embedded,
        &named("TABLE_NAME", DEFAULT_TABLE),
        &named("BUCKET_NAME", DEFAULT_BUCKET),
    )
    .await?;
    let counts = |t: Tally| {
        format!(
            "{} sessions, {} messages, {} archives",
            t.sessions, t.messages, t.archives
        )
    };
    let summary = adopt_all(&adopter, |user_id, adoption, so_far| {
        let what = if adoption.own_stream {
            "has a cloud-ai stream of its own; left as it is".to_string()
        } else {
            format!("adopted {}", counts(adoption.written))
        };
        println!(
            "user {user_id}: {what} [{} users so far; {} written]",
            so_far.users,
            counts(so_far.written)
        );
    })
    .await
    .context("adopting")?;
    println!(
        "adopt: {} users looked at, {} adopted now, {} already on cloud-ai; found {}; wrote {} in {} events and {} appends",
        summary.users,
        summary.adopted,
        summary.own_stream,
        counts(summary.found),
        counts(summary.written),
        summary.events,
        summary.appends
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
