//! The wire layer of the institution interface (定点医药机构接口, national style).
//!
//! Bytes in, typed values out, and typed values back to bytes. This crate knows the JSON field
//! names, code values and number formats of `NHSA-INTERFACE.md` and nothing else: no HTTP
//! server, no database, no clock (the current time is always a parameter), no business rules.
//!
//! The flow the server follows:
//! 1. [`auth::verify_signature`] on the gateway headers, then [`auth::NonceCache`].
//! 2. [`envelope::Envelope::parse`] on the body (at most [`BODY_BYTES_MAX`] bytes).
//! 3. [`envelope::Envelope::decode_input`] (or [`input::decode_input`]) → [`input::TxInput`].
//! 4. The engine decides; the server maps its decision into an [`output`] type.
//! 5. [`envelope::Response`] wraps the output (or an error's `err_msg`) and is serialized.
//!
//! Amounts are exact: JSON numbers are read from their source text (see [`number`]), never
//! through `f64`, and written back as numbers with exactly two decimals (`12.30`).
//!
//! The wire types here are separate from the domain types of `gongji-core`; the server converts
//! between them by hand. Personal data (ID numbers, names, certificate numbers) is held in the
//! core's masking wrappers, so `Debug` output of any wire type is safe to log.

pub mod auth;
pub mod client;
pub mod envelope;
pub mod error;
pub mod input;
pub mod number;
pub mod open_envelope;
pub mod output;
pub mod peer_auth;
mod reader;
pub mod wire_codes;
pub mod wire_time;

pub use envelope::{EmptyOutput, Envelope, InfCode, Msgid, RefIds, Response};
pub use error::WireError;
pub use input::{decode_input, Infno, TxInput};
pub use number::{Count, Price};

/// The largest request body accepted, in bytes (1 MiB). A 500-line fee upload is about 250 KiB.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;

/// The most fee lines one request may carry (`feedetail[]`, `drugdetail[]`).
pub const FEE_LINES_MAX: usize = 500;

/// The most diagnoses one 2203 request may carry (`diseinfo[]`).
pub const DIAG_LINES_MAX: usize = 50;

/// The longest text accepted in any single string field, in bytes. Real fields are at most a
/// few hundred bytes (`main_cond_dscr`); this bounds what one field can hold in memory and logs.
pub const TEXT_BYTES_MAX: usize = 4096;
