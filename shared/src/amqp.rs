//! Connecting to RabbitMQ (one node, or the nodes of a cluster in turn), and the one
//! way clerk-sync publishes: `mandatory`, in a confirm-mode channel, waiting for the
//! broker's confirm.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use lapin::{
    options::BasicPublishOptions, tcp::OwnedTLSConfig, types::LongString, BasicProperties, Channel,
    Confirmation, Connection, ConnectionProperties,
};
use tracing::{info, warn};

use crate::{
    config::{AmqpNodes, CaBundle},
    report::chain,
};

/// How long one node may take to accept a connection before the next is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to one node's URL, with a connection name that shows in the management UI.
/// An `amqps://` URL is verified against the system's CA store only.
pub async fn connect(url: &str, name: &str) -> lapin::Result<Connection> {
    connect_with_ca(url, name, None).await
}

/// Connects to one node's URL; an `amqps://` connection also trusts the CA
/// certificates of `ca` (`AMQP_CA_FILE`). The broker's certificate must name the
/// URL's host (a DNS name or an IP address in its subject alternative names).
pub async fn connect_with_ca(
    url: &str,
    name: &str,
    ca: Option<&CaBundle>,
) -> lapin::Result<Connection> {
    let props = ConnectionProperties::default().with_connection_name(LongString::from(name));
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: ca.map(|ca| ca.pem().to_owned()),
    };
    Connection::connect_with_config(url, props, tls, lapin::runtime::default_runtime()?).await
}

/// No node of `AMQP_URL` accepted a connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("RabbitMQ at {node} refused the connection or failed")]
    Failed {
        /// The last node tried, its password redacted.
        node: String,
        #[source]
        source: lapin::Error,
    },
    #[error("RabbitMQ at {node} did not accept a connection within {timeout:?}")]
    TimedOut { node: String, timeout: Duration },
    /// An `amqps://` node whose certificate did not verify (or another TLS failure).
    #[error(
        "RabbitMQ at {node}: the TLS handshake failed (check that AMQP_CA_FILE, or the \
         system's CA store without it, holds the CA that signed the broker's certificate, \
         and that the certificate names the host of the URL)"
    )]
    Tls {
        node: String,
        /// rustls's error (lapin's wraps it and only repeats its message).
        #[source]
        source: Arc<std::io::Error>,
    },
}

/// The TLS layer's error, if `error` (connecting to `url`) is one: rustls reports a
/// certificate that does not verify (and every other handshake failure) as
/// `InvalidData`, which plain AMQP never does while connecting.
fn tls_failure(url: &str, error: &lapin::Error) -> Option<Arc<std::io::Error>> {
    match error.kind() {
        lapin::ErrorKind::IOError(e)
            if url.starts_with("amqps://") && e.kind() == std::io::ErrorKind::InvalidData =>
        {
            Some(Arc::clone(e))
        }
        _ => None,
    }
}

/// Which node of `AMQP_URL` to connect to: the first that answers, and after a
/// connection is lost, the one after it (round robin). With one URL it is always
/// that one. Shared by the connections of one process part (`&self` methods).
#[derive(Debug)]
pub struct NodeRotation {
    nodes: AmqpNodes,
    /// The node the next connection tries first.
    next: AtomicUsize,
}

impl NodeRotation {
    pub fn new(nodes: AmqpNodes) -> Self {
        Self {
            nodes,
            next: AtomicUsize::new(0),
        }
    }

    pub fn nodes(&self) -> &AmqpNodes {
        &self.nodes
    }

    /// The order in which the next [`NodeRotation::connect`] tries the nodes: each
    /// once, starting with the current one.
    pub fn order(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let first = self.next.load(Ordering::SeqCst) % n;
        (0..n).map(|k| (first + k) % n).collect()
    }

    /// Connects to the first node that accepts, trying each once in
    /// [`NodeRotation::order`]; the node that accepted is tried first next time. The
    /// error is the last node's (the caller backs off before a new round).
    pub async fn connect(&self, name: &str) -> Result<(Connection, usize), ConnectError> {
        let order = self.order();
        let mut last = None;
        for (k, i) in order.iter().copied().enumerate() {
            let url = &self.nodes.urls()[i];
            let attempt = connect_with_ca(url, name, self.nodes.ca());
            let error = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
                Ok(Ok(conn)) => {
                    self.next.store(i, Ordering::SeqCst);
                    if self.nodes.len() > 1 {
                        info!(node = %self.nodes.redacted(i), connection = name, "connected to RabbitMQ node");
                    }
                    return Ok((conn, i));
                }
                Ok(Err(source)) => match tls_failure(url, &source) {
                    Some(tls) => ConnectError::Tls {
                        node: self.nodes.redacted(i),
                        source: tls,
                    },
                    None => ConnectError::Failed {
                        node: self.nodes.redacted(i),
                        source,
                    },
                },
                Err(_) => ConnectError::TimedOut {
                    node: self.nodes.redacted(i),
                    timeout: CONNECT_TIMEOUT,
                },
            };
            if k + 1 < order.len() {
                warn!(error = %chain(&error), connection = name, "RabbitMQ node unreachable; trying the next one");
            }
            last = Some(error);
        }
        // `order` is never empty: a node list has at least one URL.
        Err(last.unwrap_or(ConnectError::TimedOut {
            node: self.nodes.redacted(0),
            timeout: CONNECT_TIMEOUT,
        }))
    }

    /// The connection to node `node` was lost (or given up): the next connection
    /// tries the node after it first. Does nothing if another connection of this
    /// rotation already moved on from `node`.
    pub fn lost(&self, node: usize) {
        let n = self.nodes.len();
        let _ =
            self.next
                .compare_exchange(node, (node + 1) % n, Ordering::SeqCst, Ordering::SeqCst);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(n: usize) -> NodeRotation {
        let raw: Vec<String> = (1..=n)
            .map(|i| format!("amqp://u:p@rabbit{i}:5672/%2f"))
            .collect();
        NodeRotation::new(AmqpNodes::parse(&raw.join(",")).expect("valid"))
    }

    #[test]
    fn the_first_node_is_tried_first_then_the_others_in_order() {
        assert_eq!(rotation(3).order(), [0, 1, 2]);
        assert_eq!(rotation(1).order(), [0]);
    }

    #[test]
    fn a_lost_connection_moves_on_to_the_next_node_round_robin() {
        let r = rotation(3);
        r.lost(0);
        assert_eq!(r.order(), [1, 2, 0]);
        r.lost(1);
        assert_eq!(r.order(), [2, 0, 1]);
        r.lost(2);
        assert_eq!(r.order(), [0, 1, 2], "wraps around");
    }

    #[test]
    fn a_second_report_of_the_same_loss_moves_on_only_once() {
        // The worker's two connections to one node both end when it goes.
        let r = rotation(3);
        r.lost(0);
        r.lost(0);
        assert_eq!(r.order(), [1, 2, 0]);
    }

    #[test]
    fn one_node_is_always_that_node() {
        let r = rotation(1);
        r.lost(0);
        assert_eq!(r.order(), [0]);
    }

    #[tokio::test]
    async fn connect_skips_nodes_that_do_not_answer_and_starts_there_next_time() {
        // Ports nobody listens on: every node refuses, and the error names the last
        // one tried, without its password.
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port")
        };
        let (a, b) = (free(), free());
        let r = NodeRotation::new(
            AmqpNodes::parse(&format!(
                "amqp://u:secret-a@127.0.0.1:{a}/%2f,amqp://u:secret-b@127.0.0.1:{b}/%2f"
            ))
            .expect("valid"),
        );
        r.lost(0);
        let e = r.connect("test").await.expect_err("nothing listens");
        let text = chain(&e).to_string();
        assert!(text.contains(&format!("127.0.0.1:{a}")), "{text}");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(r.order(), [1, 0], "a failed round does not move the start");
    }
}
