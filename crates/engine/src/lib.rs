//! The engine: load, then decide, then write.
//!
//! It owns the in-memory hot set and a store. Callers hand it requests; it decides each
//! through the pure rules of `gongji-core`, and commits a batch of them in one storage
//! transaction before the answers go out.

pub mod category_list;
pub mod command;
pub mod csv_io;
mod engine;
pub mod quota;
pub mod state;
pub mod token_seal;

pub use command::*;
pub use engine::{Engine, BATCH_SIZE_MAX, SUMMARY_WHY};
pub mod writer;

pub use writer::{EngineHandle, Writer};
