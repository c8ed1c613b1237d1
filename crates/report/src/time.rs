//! Timestamp formatting: the engine's (`floodtrace_engine::time`), re-exported so report code
//! keeps one name for it.

pub use floodtrace_engine::time::{civil_from_days, rfc3339_ns, rfc3339_s};
