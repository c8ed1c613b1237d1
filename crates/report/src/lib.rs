//! # floodtrace-report
//!
//! The last stage of floodtrace's data flow: an analysis becomes bytes for people and
//! programs. [`model`] defines the versioned JSON document ([`model::AnalysisReport`],
//! `schema_version` [`model::SCHEMA_VERSION`], described in `docs/FORMATS.md`);
//! [`json`] and [`text`] render it. The document is built once and every format renders
//! the same values, so text and JSON never disagree. [`html`] (one self-contained page with
//! SVG charts and a map, [`chart`]) and [`markdown`] render the serialised document through
//! a tolerant [`view`] of it.

pub mod chart;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod text;
mod text_impact;
pub mod time;
pub mod view;
