//! Integration tests of the `floodtrace` binary on the real captures in ../shared/data
//! (relative to the repository root). A missing data folder fails the tests.
//!
//! Modules live in tests/cli/: one test binary, so the binary is built and the data read
//! once per `cargo test`.

#[path = "cli/attribution.rs"]
mod attribution;
#[path = "cli/capinfos.rs"]
mod capinfos;
#[path = "cli/collect.rs"]
mod collect;
#[path = "cli/damage.rs"]
mod damage;
#[path = "cli/detection.rs"]
mod detection;
#[path = "cli/determinism.rs"]
mod determinism;
#[path = "cli/flows.rs"]
mod flows;
#[path = "cli/html.rs"]
mod html;
#[path = "cli/impact.rs"]
mod impact;
#[path = "cli/inputs.rs"]
mod inputs;
#[path = "cli/lengths.rs"]
mod lengths;
#[path = "cli/mitigate.rs"]
mod mitigate;
#[path = "cli/pcapng.rs"]
mod pcapng;
#[path = "cli/records.rs"]
mod records;
#[path = "cli/simulate.rs"]
mod simulate;
#[path = "cli/spot.rs"]
mod spot;
#[path = "cli/stdin.rs"]
mod stdin;
#[path = "cli/support.rs"]
mod support;
