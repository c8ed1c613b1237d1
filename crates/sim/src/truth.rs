//! `truth.json`: what the simulator generated, so an analysis can be scored against it.
//! Described field by field in docs/FORMATS.md ("truth.json").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the truth schema.
pub const TRUTH_SCHEMA_VERSION: u32 = 1;

/// Everything the simulator knows about its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Schema version.
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Start of simulated time (Unix seconds).
    pub start_unix: u64,
    /// Length of simulated time.
    pub duration_seconds: u32,
    /// Capture rate = real rate × scale.
    pub scale: f64,
    /// Geo database the sources were drawn from.
    pub geo_database: String,
    /// Output files, relative to the output folder.
    pub files: Files,
    /// Totals of the capture.
    pub totals: CaptureTotals,
    /// One entry per flow export.
    pub flows: Vec<FlowTruth>,
    /// Attack waves in start order.
    pub waves: Vec<WaveTruth>,
    /// Telnet scanning by bots (Mirai scanner), if any.
    pub scanning: Option<ScanTruth>,
    /// Benign surges (not attacks: an analyser should raise no incident for them).
    pub flash_crowds: Vec<SpanTruth>,
    /// User outage reports, if modelled.
    pub outage: Option<OutageTruth>,
    /// Access log lines.
    pub access_log: AccessLogTruth,
    /// Ideal verdicts of the scenario's claims.
    pub claims: Vec<ClaimTruth>,
}

/// Output file names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Files {
    /// The packet capture.
    pub capture: String,
    /// Flow exports by format name.
    pub flows: BTreeMap<String, String>,
    /// Access log (combined format).
    pub access_log: String,
    /// Outage reports CSV, if modelled.
    pub outage_reports: Option<String>,
    /// The resolved scenario.
    pub scenario: String,
}

/// Totals of the capture file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureTotals {
    /// Frames written.
    pub packets: u64,
    /// Frame bytes (as capinfos "data size").
    pub bytes: u64,
    /// Attack frames (all waves).
    pub attack_packets: u64,
    /// Scanner frames.
    pub scan_packets: u64,
    /// Benign frames (background and flash crowds).
    pub background_packets: u64,
    /// First frame (ns since the epoch).
    pub first_ns: u64,
    /// Last frame.
    pub last_ns: u64,
}

/// One flow export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTruth {
    /// `netflow_v9`, `ipfix` or `sflow5`.
    pub format: String,
    /// File name.
    pub file: String,
    /// 1-in-N sampling.
    pub sampling: u32,
    /// Export datagrams (= frames in the file).
    pub datagrams: u64,
    /// Data records (NetFlow/IPFIX) or flow samples (sFlow).
    pub flow_records: u64,
    /// Template records.
    pub template_records: u64,
    /// Packets sampled.
    pub sampled_packets: u64,
    /// Packets the records stand for (× sampling).
    pub packets_represented: u64,
    /// Bytes the records stand for (× sampling).
    pub bytes_represented: u64,
}

/// One attack wave as generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaveTruth {
    /// Wave name.
    pub name: String,
    /// Victim address, or prefix for carpet bombing (`a.b.c.d/len`).
    pub victim: String,
    /// Where packets were actually sent when that differs from the victim (DNS water
    /// torture goes to resolvers).
    pub sent_to: Vec<String>,
    /// First attack packet (ns since the epoch).
    pub start_ns: u64,
    /// Last attack packet.
    pub end_ns: u64,
    /// Scheduled start (Unix seconds) and end, ramps included.
    pub scheduled: [u64; 2],
    /// What an ideal analyser calls it (`syn_flood`, `ntp_reflection`, …).
    pub vector: String,
    /// The generator used (`syn`, `udp_plain`, `ntp_reflection`, …).
    pub generator: String,
    /// The Mirai attack name when the generator is a Mirai vector.
    pub mirai_vector: Option<String>,
    /// Packets in the capture.
    pub packets: u64,
    /// Frame bytes in the capture.
    pub bytes: u64,
    /// Real-world peak rate (packets/s) before scaling.
    pub real_pps: f64,
    /// Distinct source addresses in the capture.
    pub distinct_sources: u64,
    /// Sources are forged.
    pub spoofed: bool,
    /// Source kind: `botnet`, `spoofed` or `reflectors`.
    pub source_kind: String,
    /// Botnet name and family when the sources are bots.
    pub botnet: Option<BotnetTruth>,
    /// Distinct sources per country (empty when spoofed).
    pub sources_by_country: BTreeMap<String, u64>,
    /// Packets per source country (empty when spoofed).
    pub packets_by_country: BTreeMap<String, u64>,
    /// Campaign label.
    pub campaign: Option<String>,
}

/// A botnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotnetTruth {
    /// Name (shared by the waves of one botnet).
    pub name: String,
    /// Malware family.
    pub family: String,
}

/// Telnet scanning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanTruth {
    /// Malware family of the scanner.
    pub family: String,
    /// Scanning bots, sorted.
    pub sources: Vec<String>,
    /// Scanner SYNs in the capture.
    pub packets: u64,
}

/// A time span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanTruth {
    /// Start (Unix seconds).
    pub start_unix: u64,
    /// End (Unix seconds).
    pub end_unix: u64,
    /// Server concerned.
    pub target: String,
}

/// Outage reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageTruth {
    /// Reports written.
    pub reports: u64,
    /// Reports per channel.
    pub channels: BTreeMap<String, u64>,
    /// Reports per minute.
    pub per_minute: Vec<crate::reports::MinuteCount>,
    /// Service impact per second (0..1) that drove the reports.
    pub impact_seconds: Vec<[f64; 2]>,
    /// For each wave that overloaded the service: when the reports it causes peak (the
    /// report model's expected response to that wave alone); `lag_seconds` = peak − wave
    /// start.
    pub spikes: Vec<SpikeTruth>,
}

/// A report spike caused by a wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeTruth {
    /// The wave.
    pub wave: String,
    /// Wave start (Unix seconds).
    pub wave_start_unix: u64,
    /// Start of the minute (Unix seconds) in which the wave's expected report rate peaks.
    pub peak_minute_unix: u64,
    /// Second of the peak − wave start.
    pub lag_seconds: i64,
}

/// Access log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessLogTruth {
    /// Lines written.
    pub lines: u64,
    /// Lines from attack requests.
    pub attack_lines: u64,
}

/// The verdict an ideal analyser gives for a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimTruth {
    /// The claim (`origin=UA`).
    pub claim: String,
    /// `supported`, `contradicted` or `inconclusive`.
    pub verdict: String,
    /// Why, with the figures.
    pub reason: String,
}
