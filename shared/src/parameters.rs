//! Secrets from SSM Parameter Store: a Lambda's environment names a SecureString parameter
//! (`TELEGRAM_TOKEN_PARAMETER`, `OPENAI_API_KEY_PARAMETER`) instead of holding the secret, and
//! the function reads it once per cold start.

use std::collections::HashMap;

use aws_config::SdkConfig;

use crate::config::{ConfigError, SECRETS};
use crate::error::BackendError;

/// The secrets whose `<NAME>_PARAMETER` `lookup` gives (and whose `<NAME>` it does not), read
/// and decrypted from SSM, by variable name.
pub async fn read_secret_parameters(
    sdk: &SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<HashMap<String, String>, ConfigError> {
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let mut secrets = HashMap::new();
    let mut client = None;
    for secret in SECRETS {
        let (None, Some(parameter)) = (set(secret.name), set(secret.parameter)) else {
            continue;
        };
        let client = client.get_or_insert_with(|| aws_sdk_ssm::Client::new(sdk));
        let unreadable = |reason: String| ConfigError::Invalid {
            name: secret.parameter,
            reason,
        };
        let output = client
            .get_parameter()
            .name(parameter.trim())
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                unreadable(format!(
                    "cannot read the parameter {}: {}",
                    parameter.trim(),
                    BackendError::sdk("GetParameter", e)
                ))
            })?;
        let value = output
            .parameter
            .and_then(|p| p.value)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| unreadable(format!("the parameter {} is empty", parameter.trim())))?;
        secrets.insert(secret.name.to_string(), value);
    }
    Ok(secrets)
}
