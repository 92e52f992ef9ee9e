//! clerk-sync receiver: verifies Clerk's Svix-signed webhooks on the raw bytes,
//! publishes each to RabbitMQ with a publisher confirm, and answers 2xx only then.

pub(crate) mod encoding;
pub(crate) mod errors;
pub mod metrics;
pub mod publisher;
pub mod rejected;
pub(crate) mod routes;
pub mod send;
pub mod settings;
pub mod signature;
pub mod startup;

pub use settings::Settings;
pub use startup::{Application, WEBHOOK_PATH};
