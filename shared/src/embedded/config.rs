//! The one-process bot's own settings, from the environment (beside [`crate::config::Config`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ConfigError, Secret, webhook_secret, whole_number};

/// `DATA_DIR` when unset: a folder beside where the bot is started.
pub const DEFAULT_DATA_DIR: &str = "cloud-ai-data";

/// Where sessions, events and archives are kept (`STORAGE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// `embedded` (the default): the SQLite file and the archive folder in `DATA_DIR`.
    Embedded,
    /// `aws`: the DynamoDB table `TABLE_NAME` and the S3 bucket `BUCKET_NAME` at the standard
    /// AWS configuration (`AWS_ENDPOINT_URL` for LocalStack or moto, `AWS_REGION`, credentials).
    Aws,
}

/// `LISTEN_ADDR` when `WEBHOOK_URL` is set and it is not.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";

/// Webhook ingress (`WEBHOOK_URL`): Telegram POSTs each update to the bot, through the user's
/// reverse proxy or tunnel, instead of the bot polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_URL`: the public HTTPS URL Telegram posts to.
    pub url: String,
    /// The URL's path, where the bot takes the POSTs (a proxy passes the path on as it came).
    pub path: String,
    /// `WEBHOOK_SECRET`, or one made at each start (the webhook is registered anew at each start).
    pub secret: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedConfig {
    /// `DATA_DIR`: the database `cloud-ai.sqlite3` (the update queue and event bus always; the
    /// event store too with embedded storage) and, with embedded storage, `archives/`.
    pub data_dir: PathBuf,
    pub storage: Storage,
    /// `WORKERS`: how many chats are handled at once (each chat's updates one at a time).
    pub workers: usize,
    /// `COMMAND_WORKERS`: of those, how many are kept for commands while answers are written
    /// (default a quarter; 0 lets answers take every worker).
    pub command_workers: usize,
    /// `SHUTDOWN_GRACE_SECONDS`: how long a stop waits for updates being handled.
    pub shutdown_grace: Duration,
    /// `UPDATE_MAX_TRIES`: tries of a failing update before it goes to the dead letters.
    pub update_max_tries: u32,
    /// `LISTEN_ADDR`: where the bot serves HTTP (`GET /healthz`, and the webhook when set).
    /// Unset and without a webhook: no HTTP at all.
    pub listen_addr: Option<SocketAddr>,
    pub webhook: Option<WebhookSettings>,
}

impl EmbeddedConfig {
    /// Reads the environment (`WEBHOOK_SECRET` may come from `WEBHOOK_SECRET_FILE`).
    pub fn from_env() -> Result<EmbeddedConfig, ConfigError> {
        let files = crate::config::secrets_from_files()?;
        EmbeddedConfig::from_lookup(|name| {
            files
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
        })
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<EmbeddedConfig, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let storage = match get("STORAGE")
            .unwrap_or_else(|| "embedded".into())
            .to_ascii_lowercase()
            .as_str()
        {
            "embedded" | "sqlite" => Storage::Embedded,
            "aws" => Storage::Aws,
            _ => {
                return Err(ConfigError::Invalid {
                    name: "STORAGE",
                    reason: "use embedded or aws".into(),
                });
            }
        };
        let number = |name: &'static str, default: u64, max: u64| {
            whole_number(name, get(name), default, max)
        };
        let workers = number("WORKERS", 256, 4096)? as usize;
        let command_workers = match get("COMMAND_WORKERS") {
            Some(value) if value == "0" => 0,
            Some(value) => whole_number("COMMAND_WORKERS", Some(value), 1, 1024)? as usize,
            None => (workers / 4).max(1),
        };
        if workers > 1 && command_workers >= workers {
            return Err(ConfigError::Invalid {
                name: "COMMAND_WORKERS",
                reason: format!("it must be below WORKERS ({workers}), so answers get a worker"),
            });
        }
        let webhook = match get("WEBHOOK_URL") {
            Some(url) => Some(webhook_settings(url, get("WEBHOOK_SECRET"))?),
            None => None,
        };
        let listen_addr = match get("LISTEN_ADDR") {
            Some(addr) => Some(addr.parse().map_err(|e| ConfigError::Invalid {
                name: "LISTEN_ADDR",
                reason: format!("{e}: give an address and port, such as {DEFAULT_LISTEN_ADDR}"),
            })?),
            None if webhook.is_some() => Some(DEFAULT_LISTEN_ADDR.parse().expect("an address")),
            None => None,
        };
        Ok(EmbeddedConfig {
            listen_addr,
            webhook,
            command_workers,
            data_dir: PathBuf::from(get("DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into())),
            storage,
            workers,
            shutdown_grace: Duration::from_secs(number("SHUTDOWN_GRACE_SECONDS", 10, 3600)?),
            update_max_tries: number("UPDATE_MAX_TRIES", 10, 1000)? as u32,
        })
    }
}

fn webhook_settings(url: String, secret: Option<String>) -> Result<WebhookSettings, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "WEBHOOK_URL",
        reason,
    };
    let parsed = reqwest::Url::parse(&url).map_err(|e| invalid(format!("{e}")))?;
    if parsed.scheme() != "https" {
        return Err(invalid(
            "Telegram posts only to an https:// URL (put a reverse proxy or a tunnel with a certificate in front of LISTEN_ADDR)".into(),
        ));
    }
    let secret = match secret {
        Some(secret) => webhook_secret(secret)?,
        // 64 random hexadecimal digits, a fresh one at each start.
        None => Secret::new(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )),
    };
    Ok(WebhookSettings {
        path: parsed.path().to_string(),
        url,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        let config = EmbeddedConfig::from_lookup(|_| None).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("cloud-ai-data"));
        assert_eq!(config.storage, Storage::Embedded);
        let aws = EmbeddedConfig::from_lookup(|n| (n == "STORAGE").then(|| "AWS".into())).unwrap();
        assert_eq!(aws.storage, Storage::Aws);
        let bad = EmbeddedConfig::from_lookup(|n| (n == "WORKERS").then(|| "0".into()));
        assert!(bad.unwrap_err().to_string().contains("WORKERS"));
        let bad = EmbeddedConfig::from_lookup(|n| (n == "STORAGE").then(|| "s3".into()));
        assert!(bad.unwrap_err().to_string().contains("STORAGE"));
        assert_eq!((config.workers, config.command_workers), (256, 64));
        let bad = EmbeddedConfig::from_lookup(|n| (n == "COMMAND_WORKERS").then(|| "256".into()));
        assert!(bad.unwrap_err().to_string().contains("COMMAND_WORKERS"));
        assert_eq!((config.listen_addr, config.webhook), (None, None));
    }

    #[test]
    fn a_webhook_url_serves_on_listen_addr_with_a_secret() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let config =
            EmbeddedConfig::from_lookup(env(&[("WEBHOOK_URL", "https://bot.example.com/tg/hook")]))
                .unwrap();
        assert_eq!(config.listen_addr, Some("127.0.0.1:8080".parse().unwrap()));
        let webhook = config.webhook.unwrap();
        assert_eq!(webhook.path, "/tg/hook");
        let made = webhook.secret.expose();
        assert!(made.len() == 64 && made.chars().all(|c| c.is_ascii_hexdigit()));
        let other =
            EmbeddedConfig::from_lookup(env(&[("WEBHOOK_URL", "https://bot.example.com/tg/hook")]))
                .unwrap();
        assert_ne!(
            other.webhook.unwrap().secret.expose(),
            made,
            "made anew each start"
        );

        let given = EmbeddedConfig::from_lookup(env(&[
            ("WEBHOOK_URL", "https://bot.example.com"),
            ("WEBHOOK_SECRET", "given_secret"),
            ("LISTEN_ADDR", "0.0.0.0:9000"),
        ]))
        .unwrap();
        assert_eq!(given.listen_addr, Some("0.0.0.0:9000".parse().unwrap()));
        let webhook = given.webhook.unwrap();
        assert_eq!(
            (webhook.path.as_str(), webhook.secret.expose()),
            ("/", "given_secret")
        );

        let health_only = EmbeddedConfig::from_lookup(env(&[("LISTEN_ADDR", "127.0.0.1:9001")]));
        assert_eq!(health_only.unwrap().webhook, None);
        for (bad, named) in [
            (
                &[("WEBHOOK_URL", "http://bot.example.com/hook")][..],
                "WEBHOOK_URL",
            ),
            (&[("WEBHOOK_URL", "not a url")][..], "WEBHOOK_URL"),
            (
                &[
                    ("WEBHOOK_URL", "https://bot.example.com"),
                    ("WEBHOOK_SECRET", "no spaces"),
                ][..],
                "WEBHOOK_SECRET",
            ),
            (&[("LISTEN_ADDR", "localhost")][..], "LISTEN_ADDR"),
        ] {
            let pairs: Vec<(String, String)> = bad
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let error = EmbeddedConfig::from_lookup(|name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
            .unwrap_err();
            assert!(error.to_string().contains(named), "{bad:?}: {error}");
        }
    }
}
