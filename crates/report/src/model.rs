//! The analysis document: what `floodtrace analyze --format json` prints.
//!
//! Field names are stable within a `schema_version`; additions keep the version, renames
//! and removals bump it. Maps are `BTreeMap`s and lists have a documented order, so the
//! same input always gives byte-identical output.

use std::collections::BTreeMap;
use std::net::IpAddr;

use floodtrace_engine::aggregate::{
    Bucket, Class, PORT_BIN_EPHEMERAL, PORT_BIN_REGISTERED, SIZE_EDGES,
};
use floodtrace_engine::summary::{bucket_sources, DestinationSummary};
use serde::Serialize;

use crate::time::{rfc3339_ns, rfc3339_s};

/// Version of the JSON schema described in docs/FORMATS.md.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole analysis.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisReport {
    /// Schema version of this document.
    pub schema_version: u32,
    /// Program that wrote it.
    pub generator: Generator,
    /// One entry per input, in command-line order.
    pub inputs: Vec<InputReport>,
    /// Totals over all inputs.
    pub totals: TotalsReport,
    /// Busiest destinations, most packets first (ties: lower address first).
    pub destinations: Vec<DestinationReport>,
    /// Detected incidents, in start order (ties: victim).
    pub incidents: Vec<IncidentReport>,
    /// IoT scanning seen anywhere in the input: Mirai's scanner (`family: "mirai"`) and
    /// telnet / exploit-port scanning without its signature (`family: null`).
    pub scanning: Vec<ScanningReport>,
    /// What users and the service saw (`--reports`, `--logs`) against the attack waves;
    /// omitted when neither was given. `impact.attack_explains_outage` is the input of a
    /// `cause=attack` claim (see [`floodtrace_engine::impact::Impact::claim_evidence`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<floodtrace_engine::impact::Impact>,
    /// Verdicts on the claims given with `--claim`, in the order given.
    pub claims: Vec<floodtrace_engine::claim::Verdict>,
    /// Incidents linked by shared sources, vectors and fingerprints (`members` are
    /// incident ids).
    pub campaigns: Vec<floodtrace_engine::campaign::Campaign>,
    /// The geo data attribution used.
    pub geo: GeoReport,
}

/// The geo data behind countries and ASNs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GeoReport {
    /// Data sets loaded, with version and licence.
    pub data: Vec<ProvenanceReport>,
    /// Why no geo data was loaded (countries and ASNs are then not reported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// Where a geo data set came from.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceReport {
    /// `"country"` or `"asn"`.
    pub kind: &'static str,
    /// Data set name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Licence and required attribution.
    pub licence: String,
    /// File read.
    pub file: String,
}

/// One kind of scanning and its sources.
#[derive(Debug, Clone, Serialize)]
pub struct ScanningReport {
    /// `"mirai"` when the probes carry Mirai's `seq == destination address` signature,
    /// `null` for scanning without it (never called Mirai).
    pub family: Option<&'static str>,
    /// Probes from the listed sources.
    pub packets: u64,
    /// Probes carrying the Mirai signature among them.
    pub mirai_packets: u64,
    /// Scanner sources, most probes first.
    pub sources: Vec<ScannerSource>,
    /// Whether every scanning source is listed (false: a deterministic sample).
    pub complete: bool,
}

/// One scanning source.
#[derive(Debug, Clone, Serialize)]
pub struct ScannerSource {
    /// Source address.
    pub address: IpAddr,
    /// Probes sent.
    pub packets: u64,
}

impl ScanningReport {
    /// Build from the engine's scan report, listing at most `limit` sources.
    pub fn new(r: &floodtrace_engine::fingerprint::ScanReport, limit: usize) -> Self {
        ScanningReport {
            family: r.family,
            packets: r.packets,
            mirai_packets: r.mirai_packets,
            complete: r.complete && r.sources.len() <= limit,
            sources: r
                .sources
                .iter()
                .take(limit)
                .map(|&(address, packets)| ScannerSource { address, packets })
                .collect(),
        }
    }
}

/// One attack vector of a wave or incident.
#[derive(Debug, Clone, Serialize)]
pub struct VectorReport {
    /// Vector name (`syn_flood`, `ntp_reflection`, …; docs/FORMATS.md).
    pub name: String,
    /// Share of the excess packets (0–1, rounded to 4 digits).
    pub share: f64,
    /// Packets attributed to it.
    pub packets: u64,
    /// Dominant UDP source port of a `udp_flood` from one service port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
}

/// One wave of an incident.
#[derive(Debug, Clone, Serialize)]
pub struct WaveReport {
    /// First packet of the wave (RFC 3339).
    pub start: String,
    /// Last packet of the wave.
    pub end: String,
    /// First packet, ns since the epoch.
    pub start_ns: u64,
    /// Last packet, ns since the epoch.
    pub end_ns: u64,
    /// Most packets in one second.
    pub peak_pps: u64,
    /// Most bits in one second.
    pub peak_bps: u64,
    /// Packets to the victim during the wave.
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Vectors of this wave.
    pub vectors: Vec<VectorReport>,
}

/// One incident: a victim and its waves.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    /// 1-based id in start order.
    pub id: u32,
    /// Victim address, or prefix (`a.b.c.0/24`) for a flood spread over it.
    pub victim: String,
    /// Start of the first wave (RFC 3339).
    pub start: String,
    /// End of the last wave.
    pub end: String,
    /// Start, ns since the epoch.
    pub start_ns: u64,
    /// End, ns since the epoch.
    pub end_ns: u64,
    /// Waves in time order.
    pub waves: Vec<WaveReport>,
    /// Vectors over all waves, largest first.
    pub vectors: Vec<VectorReport>,
    /// Packets over all waves.
    pub packets: u64,
    /// IP bytes over all waves.
    pub bytes: u64,
    /// Estimated distinct sources.
    pub distinct_sources: u64,
    /// Relative standard error of `distinct_sources`.
    pub distinct_sources_error: f64,
    /// Heaviest sources.
    pub top_sources: Vec<SourceCount>,
    /// Botnet fingerprints: `{family, vector, match_share, packets, fields}`.
    pub fingerprints: Vec<floodtrace_engine::fingerprint::Fingerprint>,
    /// Found on sampled flow data: most of its packets were counted from flow records
    /// (× their sampling rate), so counts and rates are estimates.
    pub sampled: bool,
    /// Sampling rates (1 in N) of the flow records to the victim, ascending.
    pub sampling: Vec<u32>,
    /// Who the sources are: countries and ASNs (by packets and by sources), concentration,
    /// spoofing tests; `null` when the victim's sources were not sampled.
    pub source_profile: Option<floodtrace_engine::attribute::SourceProfile>,
    /// Campaign id (see `campaigns[]`), when linked.
    pub campaign: Option<u32>,
}

fn vector_reports(v: &[floodtrace_engine::classify::VectorShare]) -> Vec<VectorReport> {
    v.iter()
        .map(|x| VectorReport {
            name: x.name.clone(),
            share: (x.share * 10_000.0).round() / 10_000.0,
            packets: x.packets,
            source_port: x.source_port,
        })
        .collect()
}

impl IncidentReport {
    /// Build from an engine incident.
    pub fn new(i: &floodtrace_engine::incident::Incident) -> Self {
        IncidentReport {
            id: i.id,
            victim: i.victim.clone(),
            start: rfc3339_ns(i.start_ns()),
            end: rfc3339_ns(i.end_ns()),
            start_ns: i.start_ns(),
            end_ns: i.end_ns(),
            waves: i
                .waves
                .iter()
                .map(|w| WaveReport {
                    start: rfc3339_ns(w.start_ns),
                    end: rfc3339_ns(w.end_ns),
                    start_ns: w.start_ns,
                    end_ns: w.end_ns,
                    peak_pps: w.peak_pps,
                    peak_bps: w.peak_bps,
                    packets: w.packets,
                    bytes: w.bytes,
                    vectors: vector_reports(&w.vectors),
                })
                .collect(),
            vectors: vector_reports(&i.vectors),
            packets: i.packets,
            bytes: i.bytes,
            distinct_sources: i.distinct_sources,
            distinct_sources_error: i.distinct_sources_error,
            top_sources: i
                .top_sources
                .iter()
                .map(|(a, e)| SourceCount {
                    address: *a,
                    packets: e.count,
                    error: e.error,
                })
                .collect(),
            fingerprints: i.fingerprints.clone(),
            sampled: false,
            sampling: Vec::new(),
            source_profile: None,
            campaign: None,
        }
    }
}

/// Program name and version.
#[derive(Debug, Clone, Serialize)]
pub struct Generator {
    /// Always `floodtrace`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

impl Default for Generator {
    fn default() -> Self {
        Generator {
            name: "floodtrace",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// One input file (or standard input).
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// Path as given (`-` for standard input).
    pub path: String,
    /// Recognised format (`pcap`, `pcapng`) or `unknown`.
    pub format: String,
    /// Records read (every captured frame, IP or not).
    pub packets: u64,
    /// Sum of the records' original (on-the-wire) frame lengths.
    pub bytes: u64,
    /// Records that carried IP.
    pub ip_packets: u64,
    /// Records that carried something else (ARP, LLDP, …).
    pub non_ip_packets: u64,
    /// Records whose headers could not be decoded (still counted in `packets`).
    pub undecoded_packets: u64,
    /// Flow records decoded (NetFlow/IPFIX data records, sFlow flow samples; 0 for packet
    /// captures).
    pub flow_records: u64,
    /// v9/IPFIX templates learned from this input.
    pub templates: u64,
    /// Whether the whole input was read (false: damaged or unreadable; see `errors`).
    pub complete: bool,
    /// Problems found, one entry per reason, in reason order.
    pub errors: Vec<ErrorReport>,
}

/// Problems of one kind in one input.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorReport {
    /// `capture` (file framing; reading stopped or a record was skipped), `packet` (one
    /// packet's headers), `input` (the file could not be opened or recognised), `flow` (part
    /// of an export datagram), or `skipped` (well-formed flow samples floodtrace does not
    /// decode, e.g. sFlow 802.11 headers: a note, not damage).
    pub kind: &'static str,
    /// Stable reason key, e.g. `pcap.caplen`, `ipv4.ihl`, `capture.truncated`.
    pub reason: String,
    /// Occurrences.
    pub count: u64,
    /// Byte offset in the file of the first occurrence (record start).
    pub offset: u64,
    /// 1-based record number of the first occurrence (0: file header).
    pub record: u64,
    /// Reading stopped here.
    pub fatal: bool,
    /// Human-readable description of the first occurrence.
    pub message: String,
}

/// Totals over all inputs.
#[derive(Debug, Clone, Serialize)]
pub struct TotalsReport {
    /// Records read.
    pub packets: u64,
    /// Sum of original frame lengths.
    pub bytes: u64,
    /// IP packets.
    pub ip_packets: u64,
    /// IP bytes (IP total lengths; what per-destination `bytes` add up to).
    pub ip_bytes: u64,
    /// First IP packet, RFC 3339 UTC (null when there is none).
    pub start: Option<String>,
    /// Last IP packet.
    pub end: Option<String>,
    /// First IP packet, ns since the epoch.
    pub start_ns: Option<u64>,
    /// Last IP packet, ns since the epoch.
    pub end_ns: Option<u64>,
    /// `end - start` in seconds.
    pub duration_seconds: f64,
    /// Distinct destination addresses.
    pub destinations: u64,
    /// IP packets per traffic class.
    pub protocols: BTreeMap<&'static str, u64>,
    /// Flow records over all inputs.
    pub flow_records: u64,
    /// Templates learned over all inputs.
    pub templates: u64,
}

/// A source address with its Space-Saving count.
#[derive(Debug, Clone, Serialize)]
pub struct SourceCount {
    /// Source address.
    pub address: IpAddr,
    /// Packets counted (upper bound).
    pub packets: u64,
    /// How much of `packets` may belong to other sources (0: exact).
    pub error: u64,
}

/// One histogram bin.
#[derive(Debug, Clone, Serialize)]
pub struct Bin {
    /// Bin key: a TTL, a port, or a size bin's upper edge (inclusive; `null` = open).
    pub key: Option<u32>,
    /// Label for ranges (`1024-49151`), else null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'static str>,
    /// Packets.
    pub packets: u64,
}

/// One second of one destination.
#[derive(Debug, Clone, Serialize)]
pub struct SecondReport {
    /// Unix second.
    pub t: u64,
    /// Packets.
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Estimated distinct sources in this second.
    pub distinct_sources: u64,
    /// Packets per traffic class (classes with zero packets omitted).
    pub protocols: BTreeMap<&'static str, u64>,
}

/// One destination over the analysed span.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationReport {
    /// Destination address.
    pub address: IpAddr,
    /// Packets.
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Most packets in one second.
    pub peak_pps: u64,
    /// Most bits in one second.
    pub peak_bps: u64,
    /// Second of the packet peak (RFC 3339).
    pub peak_pps_at: String,
    /// Second of the bit peak (RFC 3339).
    pub peak_bps_at: String,
    /// Estimated distinct sources.
    pub distinct_sources: u64,
    /// Relative standard error of `distinct_sources` (0: exact).
    pub distinct_sources_error: f64,
    /// First second with traffic.
    pub first_seen: String,
    /// Last second with traffic.
    pub last_seen: String,
    /// Seconds with traffic.
    pub active_seconds: u64,
    /// Packets per traffic class (zero classes omitted).
    pub protocols: BTreeMap<&'static str, u64>,
    /// Fragmented packets.
    pub fragments: u64,
    /// Heaviest sources, most packets first.
    pub top_sources: Vec<SourceCount>,
    /// TTL histogram, by TTL.
    pub ttl: Vec<Bin>,
    /// IP-length histogram, by upper edge.
    pub sizes: Vec<Bin>,
    /// UDP source-port histogram, by port (ranges last).
    pub udp_source_ports: Vec<Bin>,
    /// Per-second series (only for the busiest destinations; seconds without packets
    /// omitted), in time order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<SecondReport>>,
}

/// Class counts as a map without zero entries.
pub fn protocol_map(classes: &[u64; Class::COUNT]) -> BTreeMap<&'static str, u64> {
    Class::ALL
        .iter()
        .filter(|c| classes[**c as usize] > 0)
        .map(|c| (c.name(), classes[*c as usize]))
        .collect()
}

impl DestinationReport {
    /// Build from an engine summary; `series` from the destination's buckets when wanted.
    pub fn new(s: &DestinationSummary, series: Option<&[(u64, Bucket)]>) -> Self {
        DestinationReport {
            address: s.address,
            packets: s.packets,
            bytes: s.bytes,
            peak_pps: s.peak_pps,
            peak_bps: s.peak_bps,
            peak_pps_at: rfc3339_s(s.peak_pps_second),
            peak_bps_at: rfc3339_s(s.peak_bps_second),
            distinct_sources: s.distinct_sources,
            distinct_sources_error: s.distinct_sources_error,
            first_seen: rfc3339_s(s.first_second),
            last_seen: rfc3339_s(s.last_second),
            active_seconds: s.active_seconds,
            protocols: protocol_map(&s.classes),
            fragments: s.fragments,
            top_sources: s
                .top_sources
                .iter()
                .map(|(a, e)| SourceCount {
                    address: *a,
                    packets: e.count,
                    error: e.error,
                })
                .collect(),
            ttl: s
                .ttl
                .iter()
                .map(|&(k, n)| Bin {
                    key: Some(k as u32),
                    label: None,
                    packets: n,
                })
                .collect(),
            sizes: s
                .sizes
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, &n)| Bin {
                    key: SIZE_EDGES.get(i).copied(),
                    label: None,
                    packets: n,
                })
                .collect(),
            udp_source_ports: s
                .udp_sports
                .iter()
                .map(|&(k, n)| Bin {
                    key: Some(k as u32),
                    label: match k {
                        PORT_BIN_REGISTERED => Some("1024-49151"),
                        PORT_BIN_EPHEMERAL => Some("49152-65535"),
                        _ => None,
                    },
                    packets: n,
                })
                .collect(),
            series: series.map(|secs| {
                secs.iter()
                    .map(|(t, b)| SecondReport {
                        t: *t,
                        packets: b.packets,
                        bytes: b.bytes,
                        distinct_sources: bucket_sources(b),
                        protocols: protocol_map(&b.classes),
                    })
                    .collect()
            }),
        }
    }
}

impl TotalsReport {
    /// Totals from the inputs and the merged engine totals.
    pub fn new(
        inputs: &[InputReport],
        t: &floodtrace_engine::aggregate::Totals,
        destinations: u64,
    ) -> Self {
        let have = t.packets > 0;
        TotalsReport {
            packets: inputs.iter().map(|i| i.packets).sum(),
            bytes: inputs.iter().map(|i| i.bytes).sum(),
            ip_packets: t.packets,
            ip_bytes: t.bytes,
            start: have.then(|| rfc3339_ns(t.first_ns)),
            end: have.then(|| rfc3339_ns(t.last_ns)),
            start_ns: have.then_some(t.first_ns),
            end_ns: have.then_some(t.last_ns),
            duration_seconds: if have {
                (t.last_ns - t.first_ns) as f64 / 1e9
            } else {
                0.0
            },
            destinations,
            protocols: protocol_map(&t.classes),
            flow_records: inputs.iter().map(|i| i.flow_records).sum(),
            templates: inputs.iter().map(|i| i.templates).sum(),
        }
    }
}
