//! `worker` subcommands that live in the library, each owning its arguments and its
//! `run` (`main.rs` parses and dispatches).

pub mod prune;
pub mod relay;
