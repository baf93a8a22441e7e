//! Gongji's rules as pure functions: no I/O, no clock, no async.
//!
//! Everything here takes facts and a policy and returns a decision. The store and the
//! server gather the facts and keep the decisions.

pub mod codes;
pub mod domain;
pub mod idcard;
pub mod money;
pub mod pii;
pub mod policy;
pub mod provinces;

pub use money::{BasisPoints, Fen};
pub mod allocation;
pub mod binding_rules;
pub mod collection;
pub mod commitment;
pub mod coverage;
pub mod interface_rules;
pub mod kinship;
pub mod ledger;
pub mod pooling;
pub mod premium;
pub mod quota;
pub mod recovery;
pub mod refusal;
pub mod review;
pub mod second_reimbursement;
pub mod settlement;
pub mod small_str;

pub use refusal::Refusal;
pub use small_str::SmallStr;
