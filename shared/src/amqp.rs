//! Connecting to RabbitMQ, and the one way clerk-sync publishes: `mandatory`, in a
//! confirm-mode channel, waiting for the broker's confirm.

use lapin::{
    options::BasicPublishOptions, types::LongString, BasicProperties, Channel, Confirmation,
    Connection, ConnectionProperties,
};

/// Connects with a connection name that shows in the management UI.
pub async fn connect(url: &str, name: &str) -> lapin::Result<Connection> {
    let props = ConnectionProperties::default().with_connection_name(LongString::from(name));
    Connection::connect(url, props).await
}

/// Why the broker did not take a published message.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the RabbitMQ channel failed")]
    Channel(#[from] lapin::Error),
    #[error("RabbitMQ refused the message (nack)")]
    Nacked,
    #[error("RabbitMQ could not route the message: no queue is bound for it")]
    Returned,
    /// The confirm came with the return of another message: the channel carried
    /// several publishes at once and lapin paired a coalesced ack with the wrong
    /// one, so none of that channel's recent confirms can be trusted.
    #[error("RabbitMQ returned another message ({returned:?}) with this confirm")]
    ReturnedOther { returned: Option<String> },
    #[error("the channel is not in confirm mode")]
    NotConfirmMode,
}

/// Publishes `body` with `mandatory` (an unroutable message comes back instead of
/// being confirmed) and waits for the broker's confirm. `channel` must be in confirm
/// mode.
pub async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), PublishError> {
    let message_id = properties.message_id().clone();
    let confirmation = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            body,
            properties,
        )
        .await?
        .await?;
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
            let theirs = returned.properties.message_id().clone();
            if message_id.is_some() && theirs == message_id {
                Err(PublishError::Returned)
            } else {
                Err(PublishError::ReturnedOther {
                    returned: theirs.map(|s| s.as_str().to_owned()),
                })
            }
        }
        Confirmation::Nack(None) => Err(PublishError::Nacked),
        Confirmation::NotRequested => Err(PublishError::NotConfirmMode),
    }
}
