//! Command-line definition (clap derive). Each flag's first doc line is its short help;
//! later paragraphs are the long help.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit codes, also listed in `--help`.
pub mod exit {
    /// Every input was read completely.
    pub const OK: u8 = 0;
    /// Nothing could be analysed (unreadable output, internal failure).
    pub const ERROR: u8 = 1;
    // 2 is clap's own code for a bad command line.
    /// A report was written, but at least one input was damaged, unrecognised or unreadable:
    /// the figures cover what could be read.
    pub const PARTIAL: u8 = 3;
    /// `eval`: the analysis scored below a threshold given on the command line.
    pub const BELOW_THRESHOLD: u8 = 4;
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success (analyze: every input was read completely)
  1  error: nothing could be done
  2  bad command line
  3  analyze: partial, a report was written but some input was damaged or unreadable
  4  eval: the analysis scored below a given threshold";

/// Turns network evidence into verdicts about denial-of-service attacks.
#[derive(Debug, Parser)]
#[command(name = "floodtrace", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse packet captures: totals, protocol mix, busiest destinations with per-second series
    #[command(after_long_help = ANALYZE_EXAMPLES)]
    Analyze(AnalyzeArgs),
    /// Write labelled traffic for a scenario: capture, flow exports, logs, outage reports, truth.json
    #[command(after_long_help = SIMULATE_EXAMPLES)]
    Simulate(SimulateArgs),
    /// Score an analysis (analyze --format json) against a simulator's truth.json
    Eval(EvalArgs),
}

const SIMULATE_EXAMPLES: &str = "\
Examples:
  floodtrace simulate --list
  floodtrace simulate x-outage -o out/x-outage
  floodtrace simulate my-scenario.toml --seed 42 -o out/mine --geo data/geo/geo-whois-asn-country-ipv4.mmdb

The geo database is searched in: --geo, $FLOODTRACE_GEO, ./data/geo, and data/geo of the
source tree the binary was built in. scripts/fetch-geo downloads the pinned one.";

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// A built-in scenario name (see --list) or a scenario TOML file
    #[arg(value_name = "SCENARIO", required_unless_present = "list")]
    pub scenario: Option<String>,

    /// Output folder (created if missing)
    #[arg(
        long,
        short = 'o',
        value_name = "DIR",
        required_unless_present = "list"
    )]
    pub output: Option<PathBuf>,

    /// Seed (default: the scenario's own); same scenario and seed give identical output
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Geo database (MaxMind DB with country codes) to draw source addresses from
    #[arg(long, value_name = "FILE")]
    pub geo: Option<PathBuf>,

    /// List the built-in scenarios and exit
    #[arg(long)]
    pub list: bool,

    /// Never show a progress bar
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// truth.json written by `floodtrace simulate`
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,

    /// Report written by `floodtrace analyze --format json`
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,

    /// Fail (exit 4) when the packet totals differ from truth by more than this fraction
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub max_total_error: f64,

    /// Fail (exit 4) when fewer than this share of waves are detected (needs incidents in the report)
    #[arg(long, value_name = "SHARE")]
    pub min_recall: Option<f64>,

    /// Fail (exit 4) when more than this many incidents match no wave
    #[arg(long, value_name = "N")]
    pub max_spurious: Option<u64>,

    /// Fail (exit 4) when a wave's start or end is off by more than this many seconds
    #[arg(long, value_name = "SECONDS")]
    pub max_timing_error: Option<f64>,

    /// Output format
    #[arg(long, short = 'f', value_name = "FORMAT", default_value = "text")]
    pub format: Format,
}

const ANALYZE_EXAMPLES: &str = "\
Examples:
  floodtrace analyze attack.pcapng
  floodtrace analyze --format json -o report.json day1.pcap day2.pcap
  tcpdump -i eth0 -w - | floodtrace analyze -

Exit codes:
  0  every input was read completely
  1  error: nothing could be analysed
  2  bad command line
  3  partial: a report was written, but some input was damaged or unreadable";

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable summary
    Text,
    /// Versioned JSON document (docs/FORMATS.md)
    Json,
}

/// Arguments of `analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng, recognised by content); `-` reads standard input
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,

    /// Output format
    #[arg(long, short = 'f', value_name = "FORMAT", default_value = "text")]
    pub format: Format,

    /// Write the report to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Worker threads
    ///
    /// Defaults to the number of available cores. Results are identical for every value.
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Number of busiest destinations to report
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Number of the busiest destinations whose per-second series is included
    ///
    /// The series of these destinations appear in the JSON output (`destinations[].series`)
    /// and as sparklines in the text output. Defaults to all reported destinations.
    #[arg(long, value_name = "N")]
    pub series: Option<usize>,

    /// Never show a progress bar (it is shown only when stderr is a terminal anyway)
    #[arg(long)]
    pub no_progress: bool,

    /// Chunk size in bytes for parallel decoding (results do not depend on it per run,
    /// but top-source lists may differ slightly between chunk sizes)
    #[arg(long, value_name = "BYTES", hide = true, default_value_t = crate::analyze::DEFAULT_CHUNK_BYTES)]
    pub chunk_bytes: u64,
}
