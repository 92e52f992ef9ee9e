//! clerk-sync worker: consumes Clerk events from RabbitMQ and applies each to
//! Postgres in one transaction with its idempotency record and ordering guard.

pub mod apply;
pub mod backfill;
pub mod consumer;
pub mod database;
pub mod delivery;
pub mod dlq;
pub mod http;
pub mod metrics;
pub mod settings;
pub mod startup;

pub use settings::Settings;
