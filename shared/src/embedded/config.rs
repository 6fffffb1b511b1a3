//! The one-process bot's own settings, from the environment (beside [`crate::config::Config`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ConfigError, whole_number};

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
}

impl EmbeddedConfig {
    pub fn from_env() -> Result<EmbeddedConfig, ConfigError> {
        EmbeddedConfig::from_lookup(|name| std::env::var(name).ok())
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
        Ok(EmbeddedConfig {
            command_workers,
            data_dir: PathBuf::from(get("DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into())),
            storage,
            workers,
            shutdown_grace: Duration::from_secs(number("SHUTDOWN_GRACE_SECONDS", 10, 3600)?),
            update_max_tries: number("UPDATE_MAX_TRIES", 10, 1000)? as u32,
        })
    }
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
    }
}
