//! What the clerk-sync receiver and worker agree on: configuration, telemetry, the
//! event envelope, the AMQP topology, and the database schema with its migrations.

pub mod amqp;
pub mod config;
pub mod db;
pub mod event;
pub mod examples;
pub mod metrics;
pub mod models;
pub mod object_models;
pub mod schema;
pub mod telemetry;
pub mod topology;
