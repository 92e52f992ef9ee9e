//! Receiver configuration from the environment (DESIGN.md §6).

use shared::config::{self, AmqpSettings, ConfigError, LogSettings};

use crate::signature::Secrets;

#[derive(Debug, Clone)]
pub struct Settings {
    pub amqp: AmqpSettings,
    pub log: LogSettings,
    pub bind_addr: String,
    pub max_body_bytes: usize,
    pub secrets: Secrets,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let secrets = signing_secrets()?;
        let max_body_bytes = config::parsed("MAX_BODY_BYTES", 1_048_576usize)?;
        if max_body_bytes == 0 {
            return Err(ConfigError::new("MAX_BODY_BYTES", "must be positive"));
        }
        Ok(Self {
            amqp: AmqpSettings::from_env()?,
            log: LogSettings::from_env()?,
            bind_addr: config::string("BIND_ADDR", "0.0.0.0:3000")?,
            max_body_bytes,
            secrets,
        })
    }
}

/// `CLERK_WEBHOOK_SIGNING_SECRET`, parsed: what `serve` verifies with and `send`
/// signs with.
pub fn signing_secrets() -> Result<Secrets, ConfigError> {
    let raw = config::required(
        "CLERK_WEBHOOK_SIGNING_SECRET",
        "copy the endpoint's signing secret (whsec_…) from Clerk's dashboard",
    )?;
    Secrets::parse(&raw).map_err(|reason| ConfigError::new("CLERK_WEBHOOK_SIGNING_SECRET", reason))
}

#[cfg(test)]
mod tests {
    use shared::config::AmqpNodes;

    use super::*;

    #[test]
    fn debug_hides_the_broker_password_and_the_secrets() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let settings = Settings {
            amqp: AmqpSettings {
                nodes: AmqpNodes::parse(
                    "amqp://app:mq-hunter2@rabbit/%2f,amqp://app:mq-hunter3@rabbit2/%2f",
                )
                .expect("valid"),
                prefix: "clerk".into(),
            },
            log: LogSettings::default(),
            bind_addr: "127.0.0.1:3000".into(),
            max_body_bytes: 1024,
            secrets: Secrets::parse(secret).expect("valid secret"),
        };
        let text = format!("{settings:?}");
        assert!(!text.contains("mq-hunter2"), "{text}");
        assert!(!text.contains("mq-hunter3"), "{text}");
        assert!(!text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "{text}");
    }
}
