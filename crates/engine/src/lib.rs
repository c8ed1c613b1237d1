//! # floodtrace-engine
//!
//! The analysis stages of floodtrace, as plain values in and out: no I/O, no clocks, no
//! unseeded randomness. Time comes only from [`floodtrace_wire::Observation::ts_ns`].
//!
//! - [`sketch`]: fixed-size summaries — HyperLogLog distinct counts and Space-Saving heavy
//!   hitters — that merge.
//! - [`aggregate`]: observations → one [`aggregate::Timeline`] of per-second
//!   [`aggregate::Bucket`]s per destination; aggregators of consecutive chunks merge.
//! - [`summary`]: destination summaries (totals, peaks, distinct sources) for reports.
//! - [`textlog`]: outage reports (CSV, JSON) and access logs (combined, JSON lines) →
//!   records, with malformed lines counted, never fatal.
//! - [`impact`]: report spikes and web-service health against attack waves.
//! - [`mitigate`]: incidents → FlowSpec / RTBH / nftables rules and DDoSDB fingerprints that
//!   never cover an allow-listed address.
//!
//! ```
//! use std::net::IpAddr;
//! use floodtrace_engine::aggregate::Aggregator;
//! use floodtrace_wire::Observation;
//!
//! let victim: IpAddr = "203.0.113.10".parse().unwrap();
//! let mut agg = Aggregator::new();
//! for i in 0..1000u32 {
//!     let src = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
//!     let mut obs = Observation::new(1_700_000_000_000_000_000 + i as u64 * 1_000_000, src, victim);
//!     obs.proto = 17;
//!     obs.bytes = 100;
//!     agg.add(&obs);
//! }
//! let tl = agg.timeline(victim).unwrap();
//! assert_eq!(tl.packets(), 1000);
//! assert!(tl.seconds[0].1.sources.count().abs_diff(1000) <= 10);
//! ```

pub mod aggregate;
pub mod attribute;
pub mod campaign;
pub mod claim;
pub mod classify;
pub mod detect;
pub mod fingerprint;
pub mod fuzzing;
pub mod impact;
pub mod incident;
pub mod mitigate;
pub mod sketch;
pub mod summary;
pub mod textlog;
pub mod time;
