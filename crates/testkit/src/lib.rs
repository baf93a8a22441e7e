//! What the test harnesses of `gongji-cli` (a spawned `gongji`), `gongji-server` (a server in
//! process) and `gongji-engine` share, in one place: amounts written and read as exact text,
//! valid test ID numbers, running the `gongji` binary, and unique sequences and times for
//! msgids and nonces. The institution-interface envelope and signed headers are not here:
//! tests build them with `gongji_nhsa::client`, as the benchmark and the till do.
//!
//! A dev-dependency only; it reads no clock but the system's and holds no fixtures of its own
//! (each harness keeps its population, which its tests name).

pub mod idcard;
pub mod money;
pub mod process;
pub mod sequence;
