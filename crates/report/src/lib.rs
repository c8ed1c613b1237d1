//! # floodtrace-report
//!
//! The last stage of floodtrace's data flow: an analysis becomes bytes for people and
//! programs. [`model`] defines the versioned JSON document ([`model::AnalysisReport`],
//! `schema_version` [`model::SCHEMA_VERSION`], described in `docs/FORMATS.md`);
//! [`json`] and [`text`] render it. The document is built once and every format renders
//! the same values, so text and JSON never disagree.

pub mod json;
pub mod model;
pub mod text;
pub mod time;
