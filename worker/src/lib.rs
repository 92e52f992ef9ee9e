//! clerk-sync worker: consumes Clerk events from RabbitMQ and applies each to
//! Postgres in one transaction with its idempotency record and ordering guard.

pub mod admin;
pub mod apply;
pub mod backfill;
pub mod commands;
pub(crate) mod consumer;
pub(crate) mod database;
pub(crate) mod delivery;
pub mod dlq;
pub(crate) mod endpoints;
pub mod feed;
pub mod metrics;
pub mod pg_errors;
pub mod reconcile;
pub mod settings;
pub mod startup;

pub use consumer::acks::Acks;
pub use settings::Settings;
