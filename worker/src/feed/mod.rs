//! The change feed (DESIGN.md §3, §5; docs/change-feed.md): every change applied to
//! an object table, in commit order, from the `changes` table that the migration
//! `2026-12-08-000001_change_feed` fills by trigger in the applying transaction.
//!
//! - `read`: `changes_since`, what every reader goes through;
//! - `relay`: `worker relay`, the feed published to RabbitMQ at least once, in order;
//! - `http`: `GET /changes` on the worker's port;
//! - `prune`: retention, run by `worker prune`.

pub mod http;
pub mod prune;
pub mod read;
pub mod relay;

pub use http::FeedEndpoint;
pub use relay::RelaySettings;
