//! Starting the one-process bot: the data folder (locked to this process), the database, a
//! check that Telegram takes the token, the chosen storage and the three roles; then running
//! them until a stop is asked for.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::config::{EmbeddedConfig, Storage, WebhookSettings};
use super::dead_letters::DeadLetters;
use super::dispatch_events::EventDispatcher;
use super::dispatch_updates::UpdateDispatcher;
use super::http::HttpServer;
use super::polling::poll_until_stopped;
use super::retry::RetryPolicy;
use crate::archive::fs::FsArchiveStore;
use crate::bus::sqlite::{SqliteBus, archived};
use crate::config::Config;
use crate::domain::backend::resolve_model;
use crate::handlers::menu::set_command_menus;
use crate::handlers::poller::{PollError, PollSettings, Poller};
use crate::handlers::webhook::WebhookIngress;
use crate::handlers::{Settings, StoragePorts};
use crate::queue::sqlite::SqliteQueue;
use crate::sqlite::{Database, DatabaseError};
use crate::store::sqlite::SqliteStore;
use crate::store::{OffsetStore, StoreError};
use crate::telegram::http::{HttpTelegram, WebhookRegistration};
use crate::telegram::{Telegram, TelegramError};
use crate::wiring;

/// The database's file name in the data folder.
pub const DATABASE_FILE: &str = "cloud-ai.sqlite3";
/// Held locked while a bot runs on the data folder.
pub const LOCK_FILE: &str = "cloud-ai.lock";
/// Requests Telegram may have open to the webhook at once (its default).
const WEBHOOK_CONNECTIONS: u32 = 40;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use the data folder {}: {source} (set DATA_DIR to a folder this user can write)", path.display())]
    DataFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another cloud-ai is already running on the data folder {}", .0.display())]
    AlreadyRunning(PathBuf),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error("cannot reach Telegram at {url}: {detail}")]
    TelegramUnreachable { url: String, detail: String },
    #[error(
        "Telegram refused the bot token ({code} {description}): check TELEGRAM_TOKEN (the token @BotFather gave)"
    )]
    TokenRefused { code: i64, description: String },
    #[error(transparent)]
    Telegram(TelegramError),
    /// A webhook set on the token, and anything else `getUpdates` refuses at start.
    #[error(transparent)]
    Poll(PollError),
    #[error("the storage cannot be used: {0}")]
    Storage(#[from] StoreError),
    #[error(
        "the bot token already has a webhook at {url}, which is not this bot's WEBHOOK_URL: another program receives its updates. Stop it and remove its webhook (the Bot API's deleteWebhook), or set WEBHOOK_URL to that address if it leads to this bot"
    )]
    OtherWebhook { url: String },
    #[error("cannot listen on LISTEN_ADDR {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("Telegram refused the webhook {url}: {source}")]
    WebhookRefused { url: String, source: TelegramError },
    #[error(
        "STORAGE=aws (table {table}, bucket {bucket}) needs the AWS storage, which this build leaves out: build it in with `cargo run --release -p cloud-ai --features aws`"
    )]
    NoAwsStorage { table: String, bucket: String },
}

/// How updates come in.
enum Ingress {
    /// The poller role long-polls `getUpdates`.
    Polling(Poller),
    /// Telegram POSTs them to the HTTP endpoint; the webhook is removed at a clean stop.
    Webhook(Arc<HttpTelegram>),
}

/// The three roles, ready to run.
pub struct EmbeddedBot {
    ingress: Ingress,
    /// `LISTEN_ADDR`'s endpoint, bound.
    http: Option<HttpServer>,
    updates: UpdateDispatcher,
    events: EventDispatcher,
    grace: Duration,
    username: Option<String>,
    /// Locked for as long as the bot exists.
    _lock: std::fs::File,
}

fn data_folder_error(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::DataFolder {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates the data folder and takes its lock, so that two bots never share one database.
fn lock_data_folder(dir: &Path) -> Result<std::fs::File, StartError> {
    std::fs::create_dir_all(dir).map_err(data_folder_error(dir))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(data_folder_error(dir))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(StartError::AlreadyRunning(dir.to_path_buf()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(data_folder_error(dir)(e)),
    }
}

/// Asks Telegram who the bot is: proves the address and the token before anything else runs.
/// Then, when polling, asks for updates without waiting, so that a webhook set on the token
/// (which makes Telegram refuse `getUpdates`) stops the start with the fix, instead of a bot that
/// says it started and never answers. With a webhook of its own, it looks at the webhook set on
/// the token: another one means another program takes the updates.
async fn check_telegram(
    telegram: &HttpTelegram,
    url: &str,
    webhook: Option<&WebhookSettings>,
) -> Result<Option<String>, StartError> {
    let me = telegram.get_me().await.map_err(|e| start_error(e, url))?;
    if let Some(webhook) = webhook {
        let info = telegram
            .get_webhook_info()
            .await
            .map_err(|e| start_error(e, url))?;
        if !info.url.is_empty() && info.url != webhook.url {
            return Err(StartError::OtherWebhook { url: info.url });
        }
        return Ok(me.username);
    }
    match telegram.get_updates(None, 0, 1).await {
        Ok(_) => Ok(me.username),
        Err(error) => match PollError::from(error) {
            // No reason to stay down: polling says so at each pause until the other one stops.
            PollError::OtherPoller(description) => {
                tracing::warn!(
                    error = %PollError::OtherPoller(description),
                    "starting anyway"
                );
                Ok(me.username)
            }
            PollError::Telegram(error) => Err(start_error(error, url)),
            other => Err(StartError::Poll(other)),
        },
    }
}

fn start_error(error: TelegramError, url: &str) -> StartError {
    match error {
        TelegramError::Transport { detail, .. } => StartError::TelegramUnreachable {
            url: url.to_string(),
            detail,
        },
        TelegramError::Api {
            code: code @ (401 | 404),
            description,
            ..
        } => StartError::TokenRefused { code, description },
        TelegramError::Api {
            code, description, ..
        } if code >= 500 => StartError::TelegramUnreachable {
            url: url.to_string(),
            detail: format!("{code} {description}"),
        },
        other => StartError::Telegram(other),
    }
}

/// The stores the roles use, and the poller's offset.
struct Stores {
    ports: StoragePorts,
    offsets: Arc<dyn OffsetStore>,
}

async fn storage(
    config: &Config,
    embedded: &EmbeddedConfig,
    db: &Database,
) -> Result<Stores, StartError> {
    match embedded.storage {
        Storage::Embedded => {
            let store = Arc::new(SqliteStore::new(db.clone()));
            let recovered = store.recover().await?;
            if recovered.released > 0 {
                tracing::info!(
                    updates = recovered.released,
                    "updates left unfinished by the last run will be finished now"
                );
            }
            Ok(Stores {
                ports: StoragePorts::of(
                    store.clone(),
                    Arc::new(FsArchiveStore::new(&embedded.data_dir)),
                ),
                offsets: store,
            })
        }
        #[cfg(not(feature = "aws"))]
        Storage::Aws => Err(StartError::NoAwsStorage {
            table: config.table_name.clone(),
            bucket: config.bucket_name.clone(),
        }),
        #[cfg(feature = "aws")]
        Storage::Aws => {
            let sdk = crate::aws::load_config().await;
            let store = Arc::new(crate::aws::dynamodb_store(&sdk, &config.table_name));
            Ok(Stores {
                ports: StoragePorts::of(
                    store.clone(),
                    Arc::new(crate::aws::s3_archive_store(&sdk, &config.bucket_name)),
                ),
                offsets: store,
            })
        }
    }
}

impl EmbeddedBot {
    pub async fn start(
        config: &Config,
        embedded: &EmbeddedConfig,
    ) -> Result<EmbeddedBot, StartError> {
        let lock = lock_data_folder(&embedded.data_dir)?;
        let db = Database::open(&embedded.data_dir.join(DATABASE_FILE))?;
        let telegram = Arc::new(HttpTelegram::new(
            &config.telegram_api_url,
            config.telegram_token.expose(),
        ));
        let username = check_telegram(
            &telegram,
            &config.telegram_api_url,
            embedded.webhook.as_ref(),
        )
        .await?;
        let menus = set_command_menus(telegram.as_ref(), &config.access).await;
        tracing::info!(menus, "Telegram's command menus are set");
        let stores = storage(config, embedded, &db).await?;
        let offset = stores.offsets.last_update_id().await?;
        let dead_letters = DeadLetters::new(db.clone());
        let queue = SqliteQueue::new(db.clone());
        let bus = SqliteBus::new(db, archived);
        let answerer = wiring::answerer(config);
        if let Some(answerer) = &answerer {
            let status = answerer.backend_status().await;
            match &status.facts {
                Ok(facts) => {
                    tracing::info!(backend = %status.kind, models = ?facts.models, "the model backend answers");
                    if resolve_model(&facts.models, &config.default_model).is_none() {
                        tracing::warn!(
                            default_model = %config.default_model,
                            installed = ?facts.models,
                            "DEFAULT_MODEL {} is not on the model backend, so chat messages in new sessions cannot be answered: pull it (Ollama: `ollama pull {}`) or set DEFAULT_MODEL to one of the installed models; users can pick one with /model",
                            config.default_model,
                            config.default_model
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(backend = %status.kind, %error, "the model backend cannot be reached now; chat messages are told so until it can")
                }
            }
        }
        let settings = Settings {
            bot_username: config.bot_username.clone().or(username.clone()),
            ..wiring::settings(config)
        };
        let transcriber = wiring::transcriber(config);
        let role = || {
            wiring::command_role(
                stores.ports.clone(),
                telegram.clone(),
                settings.clone(),
                answerer.clone(),
                transcriber.clone(),
            )
        };
        let waiting = queue.entries().waiting().await.unwrap_or(0);
        tracing::info!(
            bot = username.as_deref().unwrap_or("?"),
            data_dir = %embedded.data_dir.display(),
            storage = ?embedded.storage,
            offset = ?offset,
            waiting,
            "cloud-ai started"
        );
        let http = match embedded.listen_addr {
            Some(addr) => {
                let webhook = embedded.webhook.as_ref().map(|webhook| {
                    let ingress =
                        WebhookIngress::new(Arc::new(queue.clone()), webhook.secret.clone());
                    (webhook.path.as_str(), ingress)
                });
                let server = HttpServer::bind(addr, webhook)
                    .await
                    .map_err(|source| StartError::Listen { addr, source })?;
                tracing::info!(addr = %server.local_addr().unwrap_or(addr), webhook = embedded.webhook.is_some(), "serving HTTP (GET /healthz)");
                Some(server)
            }
            None => None,
        };
        let ingress = match &embedded.webhook {
            // The endpoint is bound already: what Telegram sends at once waits to be accepted.
            Some(webhook) => {
                let registration = WebhookRegistration {
                    url: &webhook.url,
                    secret: webhook.secret.expose(),
                    max_connections: WEBHOOK_CONNECTIONS,
                };
                telegram
                    .set_webhook(&registration)
                    .await
                    .map_err(|source| StartError::WebhookRefused {
                        url: webhook.url.clone(),
                        source,
                    })?;
                tracing::info!(url = %webhook.url, "the webhook is set: Telegram sends the updates");
                Ingress::Webhook(telegram.clone())
            }
            None => Ingress::Polling(Poller::new(
                telegram.clone(),
                Arc::new(queue.clone()),
                stores.offsets.clone(),
                PollSettings::default(),
            )),
        };
        Ok(EmbeddedBot {
            ingress,
            http,
            updates: UpdateDispatcher {
                queue,
                handler: role().publishing_to(Arc::new(bus.clone())),
                workers: embedded.workers,
                // With one worker there is none to keep: answers and commands share it.
                answer_workers: embedded
                    .workers
                    .saturating_sub(embedded.command_workers)
                    .max(1),
                answers_per_user: config.limits.answers_in_flight,
                retry: RetryPolicy {
                    max_attempts: embedded.update_max_tries,
                    ..RetryPolicy::UPDATES
                },
                dead_letters,
            },
            events: EventDispatcher {
                bus,
                archiver: role(),
                retry: RetryPolicy::EVENTS,
            },
            grace: embedded.shutdown_grace,
            username,
            _lock: lock,
        })
    }

    /// The bot's `@username`, as Telegram gave it.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Runs the roles until `shutdown` completes (then stops cleanly) or polling cannot go on.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), PollError> {
        let (stop, stopped) = watch::channel(false);
        let EmbeddedBot {
            ingress,
            http,
            updates,
            events,
            grace,
            ..
        } = self;
        let roles = async {
            let taking_in = async {
                let Ingress::Polling(poller) = &ingress else {
                    return Ok(());
                };
                let result = poll_until_stopped(poller, stopped.clone()).await;
                if result.is_err() {
                    stop.send_replace(true);
                }
                result
            };
            let serving = async {
                if let Some(http) = http {
                    http.serve(stopped.clone()).await;
                }
            };
            let (polled, (), (), ()) = tokio::join!(
                taking_in,
                serving,
                updates.run(stopped.clone()),
                events.run(stopped.clone())
            );
            polled
        };
        tokio::pin!(roles);
        tokio::select! {
            result = &mut roles => return result,
            () = shutdown => {}
        }
        if let Ingress::Webhook(telegram) = &ingress {
            // Updates sent meanwhile wait at Telegram for the next start.
            match telegram.delete_webhook().await {
                Ok(()) => tracing::info!("the webhook is removed"),
                Err(error) => {
                    tracing::warn!(%error, "the webhook could not be removed; the next start sets it again")
                }
            }
        }
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "stopping: no new updates are taken; those being handled may finish"
        );
        stop.send_replace(true);
        match tokio::time::timeout(grace, roles).await {
            Ok(result) => {
                tracing::info!("stopped");
                result
            }
            Err(_) => {
                tracing::warn!(
                    "stopped with updates unfinished; they are finished on the next start"
                );
                Ok(())
            }
        }
    }
}
