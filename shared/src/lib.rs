//! What the clerk-sync receiver and worker agree on: configuration, telemetry, the
//! event envelope, the AMQP topology and message headers, and (with the `db`
//! feature, which only the worker enables) the database schema with its migrations.

pub mod amqp;
pub mod backoff;
pub mod config;
#[cfg(feature = "db")]
pub mod db;
pub mod event;
pub mod examples;
pub mod feed;
pub mod headers;
pub mod metrics;
#[cfg(feature = "db")]
pub mod models;
#[cfg(feature = "db")]
pub mod object_models;
pub mod otel;
#[cfg(feature = "db")]
pub mod pg_connect;
pub mod rejection;
pub mod report;
#[cfg(feature = "db")]
pub mod schema;
pub mod telemetry;
pub mod topology;
