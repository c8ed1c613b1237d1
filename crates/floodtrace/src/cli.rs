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
    /// Turn a report's incidents into FlowSpec, RTBH or nftables rules, or DDoSDB fingerprints
    #[command(after_long_help = MITIGATE_EXAMPLES)]
    Mitigate(MitigateArgs),
    /// Simulate the x-outage scenario, analyse it with its outage reports and claims, write an HTML report
    #[command(after_long_help = crate::demo::DEMO_HELP)]
    Demo(crate::demo::DemoArgs),
    /// Live NetFlow v5/v9, IPFIX and sFlow collector: detects incidents as exports arrive
    Collect(crate::collect::CollectArgs),
    /// Send a synthetic or recorded flow export over UDP (bench helper)
    #[command(hide = true)]
    Replay(crate::collect::ReplayArgs),
}

const MITIGATE_EXAMPLES: &str = "\
Examples:
  floodtrace mitigate report.json --as nftables --allow allow.txt -o rules.nft
  floodtrace mitigate report.json --as exabgp --incident 2 --expiry 30m
  floodtrace mitigate report.json --as rtbh --speaker gobgp
  floodtrace mitigate report.json --as ddosdb -o fingerprint.json

No rule ever covers an address of the allow-list (one address or CIDR per line, # comments):
prefixes are narrowed around it, or the rule is dropped with a reason on stderr.";

/// Output formats of `mitigate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MitigateFormat {
    /// BGP FlowSpec routes for exabgp (`flow { route … }`)
    Exabgp,
    /// BGP FlowSpec as gobgp commands
    Gobgp,
    /// Remotely triggered black hole routes (community 65535:666)
    Rtbh,
    /// An nftables ruleset (`table inet floodtrace`)
    Nftables,
    /// DDoS Clearing House / DDoSDB fingerprint JSON
    Ddosdb,
}

/// BGP speaker of `mitigate --as rtbh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RtbhSpeaker {
    /// exabgp API commands
    Exabgp,
    /// gobgp CLI commands
    Gobgp,
}

/// Arguments of `mitigate`.
#[derive(Debug, clap::Args)]
pub struct MitigateArgs {
    /// Report written by `floodtrace analyze --format json`
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,

    /// What to write
    #[arg(long = "as", value_name = "FORMAT")]
    pub format: MitigateFormat,

    /// Addresses and prefixes no rule may cover (one per line, # comments)
    #[arg(long, value_name = "FILE")]
    pub allow: Option<PathBuf>,

    /// Rules expire this long after the incident's end (e.g. 90s, 30m, 1h, 2h30m)
    #[arg(long, value_name = "DURATION")]
    pub expiry: Option<String>,

    /// Only this incident (its id in the report)
    #[arg(long, value_name = "ID")]
    pub incident: Option<u32>,

    /// Rate of rate-limit rules, bytes per second (default 125000 = 1 Mbit/s)
    #[arg(long, value_name = "BYTES")]
    pub rate_limit: Option<u64>,

    /// Next hop of RTBH routes (default 192.0.2.1, or 100::1 for IPv6)
    #[arg(long, value_name = "ADDR")]
    pub next_hop: Option<std::net::IpAddr>,

    /// BGP speaker for --as rtbh
    #[arg(long, value_name = "SPEAKER", default_value = "exabgp")]
    pub speaker: RtbhSpeaker,

    /// Write to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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

    /// Fail (exit 4) when fewer detected waves than this share have the right vector
    #[arg(long, value_name = "SHARE")]
    pub min_vector_accuracy: Option<f64>,

    /// Fail (exit 4) when Mirai fingerprint precision is below this share
    #[arg(long, value_name = "SHARE")]
    pub min_fingerprint_precision: Option<f64>,

    /// Fail (exit 4) when Mirai fingerprint recall is below this share
    #[arg(long, value_name = "SHARE")]
    pub min_fingerprint_recall: Option<f64>,

    /// Fail (exit 4) when a wave's country shares of distinct sources are off by more than
    /// this many percentage points (waves without a located profile are not scored)
    #[arg(long, value_name = "PP")]
    pub max_country_error: Option<f64>,

    /// Output format
    #[arg(long, short = 'f', value_name = "FORMAT", default_value = "text")]
    pub format: Format,
}

const ANALYZE_EXAMPLES: &str = "\
Examples:
  floodtrace analyze attack.pcapng
  floodtrace analyze --format json -o report.json day1.pcap day2.pcap
  floodtrace analyze capture.pcap --reports outage-reports.csv --logs access.log -f html -o report.html
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

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeFormat {
    /// Human-readable summary
    Text,
    /// Versioned JSON document (docs/FORMATS.md)
    Json,
    /// One self-contained HTML page: verdicts, timeline, map, panels (no network access)
    Html,
    /// Markdown (tables and verdicts, for tickets and chat)
    Markdown,
}

/// Arguments of `analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng, recognised by content); `-` reads standard input
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,

    /// Output format (html: one self-contained page with charts and a map)
    #[arg(long, short = 'f', value_name = "FORMAT", default_value = "text")]
    pub format: AnalyzeFormat,

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

    /// Count only: totals and per-destination timelines, no attack detection
    ///
    /// Skips payload peeks, fingerprints, scanner tracking and incident detection; the
    /// report has no incidents. Faster, and the benchmark's reference for the cost of
    /// detection.
    #[arg(long)]
    pub no_detect: bool,

    /// Detection settings and protected networks with static thresholds (TOML)
    ///
    /// See docs/USAGE.md, "Detection configuration". Without it, defaults apply and
    /// baselines are learned from the traffic itself.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Write the first packets of each vector of each incident to pcap files in DIR
    ///
    /// One file per incident and vector, `incident-<id>-<vector>.pcap`, holding its first
    /// 100 packets (see --evidence-packets), read again from the inputs after detection.
    /// Needs inputs that are files (not `-`).
    #[arg(long, value_name = "DIR")]
    pub evidence: Option<PathBuf>,

    /// Packets per incident and vector written by --evidence
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub evidence_packets: usize,

    /// Skip source attribution (countries, ASNs, spoofing tests, campaigns)
    ///
    /// Attribution keeps a hash sample of sources while reading, and reads an incident's
    /// packets a second time when that sample holds too few of its sources; without it
    /// incidents carry no source profile and claims about origin or spoofing are
    /// inconclusive.
    #[arg(long)]
    pub no_attribution: bool,

    /// With several threads, cut a classic pcap into chunks by one walk over every record
    /// (as for pcapng and streams) instead of letting each thread find its own chunks (a
    /// reference for tests and benchmarks)
    #[arg(long, hide = true)]
    pub no_speculative_walk: bool,

    /// Read regular files in blocks into a small buffer (one thread) or with `pread` (the
    /// slot workers of several threads) instead of decoding them from a memory map (an
    /// alternative for benchmarks and tests: which is faster depends on the machine, see
    /// docs/BENCH.md)
    #[arg(long, hide = true)]
    pub read_files: bool,

    /// Attribute every incident by a second pass over the input, not from the sources
    /// sampled during the first (a reference for tests and benchmarks)
    #[arg(long, hide = true)]
    pub no_source_log: bool,

    /// A claim to check against the evidence (repeatable)
    ///
    /// origin=CC (country code), asn=N, botnet=mirai, spoofed=yes|no, cause=attack. Each
    /// gets supported, contradicted or inconclusive, with the figures it rests on and the
    /// caveats that apply. cause=attack needs --reports.
    #[arg(long = "claim", value_name = "CLAIM")]
    pub claims: Vec<String>,

    /// Geo data: a country .mmdb file or a folder with scripts/fetch-geo's files
    ///
    /// Searched otherwise in $FLOODTRACE_GEO, ./data/geo and the source tree's data/geo.
    /// Without geo data, incidents carry spoofing tests but no countries or ASNs.
    #[arg(long, value_name = "PATH")]
    pub geo: Option<PathBuf>,

    /// User outage reports (CSV, JSON array or JSON lines) to correlate with the attack waves
    ///
    /// Report spikes are found per minute and tied to the waves before them (`impact` in
    /// the report; the input of a `cause=attack` claim). Unreadable lines are counted and
    /// reported on stderr, never fatal. Format: docs/FORMATS.md, "Outage reports".
    #[arg(long, value_name = "FILE")]
    pub reports: Option<PathBuf>,

    /// Web access log (combined / common, or JSON lines): service health and HTTP-flood signals
    #[arg(long, value_name = "FILE")]
    pub logs: Option<PathBuf>,

    /// Chunk size in bytes for parallel decoding (results do not depend on it per run,
    /// but top-source lists may differ slightly between chunk sizes)
    #[arg(long, value_name = "BYTES", hide = true, default_value_t = crate::analyze::DEFAULT_CHUNK_BYTES)]
    pub chunk_bytes: u64,
}
