//! # floodtrace-sim
//!
//! Writes labelled traffic with ground truth, so every claim floodtrace makes can be
//! tested: a [`scenario::Scenario`] (TOML) describes background traffic, protected
//! networks, attack waves with their sources, the users' outage reports and web logs;
//! [`generate::simulate`] turns it into a capture, flow exports, an access log, an outage
//! report CSV and `truth.json` ([`truth::Truth`]).
//!
//! Packets follow the public Mirai source's defaults and the reflection protocols' real
//! response formats ([`vectors`]); sources are drawn from the real address allocations of
//! the requested countries in the geo database ([`geo`]). Everything is deterministic in
//! the scenario and its seed ([`rng`]).

pub mod builtin;
pub mod eval;
pub mod flows;
pub mod generate;
pub mod geo;
pub mod packet;
pub mod pcap;
pub mod reports;
pub mod rng;
pub mod scenario;
pub mod truth;
pub mod vectors;
