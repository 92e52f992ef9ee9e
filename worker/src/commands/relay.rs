//! `worker relay`: publishes the change feed to `{prefix}.changes` until SIGTERM or
//! SIGINT (see `feed::relay`). `worker run` does the same beside its consumer
//! with `CHANGES_RELAY=on`.

use clap::Args;
use shared::config::AmqpSettings;
use tokio_util::sync::CancellationToken;

use crate::{
    feed::{relay, RelaySettings},
    settings::{self, FeedSettings},
};

#[derive(Debug, Args)]
pub struct Relay {}

impl Relay {
    pub async fn run(self) -> anyhow::Result<()> {
        let feed = FeedSettings::from_env()?;
        let settings = RelaySettings::new(
            settings::database_url()?,
            settings::database_schema()?,
            AmqpSettings::from_env()?,
            feed.relay_name,
        );
        let signal = crate::startup::ShutdownSignal::register();
        let stop = CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move {
            signal.recv().await;
            token.cancel();
        });
        relay::run(settings, stop).await
    }
}
