//! What the HTML and Markdown renderers read of a report: a tolerant view of the JSON
//! document (docs/FORMATS.md), deserialised from its serialised form.
//!
//! Rendering from the serialised form rather than from the Rust types keeps the renderers
//! independent of how the document is built: the same code renders a report in memory
//! (`analyze --format html`) and one read back from a file, and parts added later
//! (source attribution, claims, campaigns, provenance) appear as soon as the document
//! carries them. Every field has a default, so a missing part is just an empty panel.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::text::pct;

/// The whole report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct View {
    /// `generator`.
    pub generator: GeneratorView,
    /// `inputs[]`.
    pub inputs: Vec<InputView>,
    /// `totals`.
    pub totals: TotalsView,
    /// `destinations[]`.
    pub destinations: Vec<DestinationView>,
    /// `incidents[]`.
    pub incidents: Vec<IncidentView>,
    /// `scanning[]`.
    pub scanning: Vec<ScanView>,
    /// `impact` (outage reports and access logs).
    pub impact: Option<ImpactView>,
    /// `claims[]` (engine `claim::Verdict`).
    pub claims: Vec<ClaimView>,
    /// `campaigns[]` (engine `campaign::Campaign`).
    pub campaigns: Vec<CampaignView>,
    /// `geo`: the geo data behind countries and ASNs.
    pub geo: GeoView,
    /// `provenance[]`, if a report carries one (rendered generically).
    pub provenance: Vec<Value>,
}

/// Incidents linked into one campaign.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CampaignView {
    /// Id.
    pub id: u32,
    /// Member incident ids.
    pub members: Vec<u64>,
    /// Victims.
    pub victims: Vec<String>,
    /// Fingerprints shared.
    pub fingerprints: Vec<String>,
    /// Plain summary.
    pub summary: String,
}

/// `geo`: data sets used for attribution, or why none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GeoView {
    /// Data sets (`kind`, `name`, `version`, `licence`, `file`).
    pub data: Vec<GeoDataView>,
    /// Why no geo data was loaded.
    pub missing: Option<String>,
}

/// One geo data set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GeoDataView {
    /// `country` or `asn`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Licence and attribution.
    pub licence: String,
    /// File read.
    pub file: String,
}

impl View {
    /// Read the view of a serialised report. Parts that do not fit are left empty.
    pub fn from_value(v: &Value) -> View {
        match View::deserialize(v) {
            Ok(view) => view,
            // A part with an unexpected shape must not cost the whole report: read the
            // parts one by one.
            Err(_) => {
                let mut view = View::default();
                let part = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
                macro_rules! take {
                    ($f:ident) => {
                        if let Ok(x) = serde_json::from_value(part(stringify!($f))) {
                            view.$f = x;
                        }
                    };
                }
                take!(generator);
                take!(inputs);
                take!(totals);
                take!(destinations);
                take!(incidents);
                take!(scanning);
                take!(impact);
                take!(claims);
                take!(campaigns);
                take!(geo);
                take!(provenance);
                view
            }
        }
    }
}

/// `generator`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GeneratorView {
    /// `floodtrace`.
    pub name: String,
    /// Version.
    pub version: String,
}

/// One `inputs[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InputView {
    /// Path as given.
    pub path: String,
    /// `pcap`, `pcapng`, …
    pub format: String,
    /// Records.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
    /// Read to the end.
    pub complete: bool,
    /// Problems.
    pub errors: Vec<ErrorView>,
}

/// One `errors[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ErrorView {
    /// `capture`, `packet`, `input`.
    pub kind: String,
    /// Reason key.
    pub reason: String,
    /// Occurrences.
    pub count: u64,
    /// First occurrence.
    pub message: String,
}

/// `totals`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TotalsView {
    /// Records.
    pub packets: u64,
    /// Wire bytes.
    pub bytes: u64,
    /// IP packets.
    pub ip_packets: u64,
    /// IP bytes.
    pub ip_bytes: u64,
    /// First packet (RFC 3339).
    pub start: Option<String>,
    /// Last packet.
    pub end: Option<String>,
    /// First packet, ns.
    pub start_ns: Option<u64>,
    /// Last packet, ns.
    pub end_ns: Option<u64>,
    /// Seconds.
    pub duration_seconds: f64,
    /// Distinct destinations.
    pub destinations: u64,
    /// Packets per class.
    pub protocols: BTreeMap<String, u64>,
}

/// One `destinations[]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DestinationView {
    /// Address.
    pub address: String,
    /// Packets.
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Peak pps.
    pub peak_pps: u64,
    /// Peak bps.
    pub peak_bps: u64,
    /// Distinct sources.
    pub distinct_sources: u64,
    /// Per-second series.
    pub series: Option<Vec<SecondView>>,
}

/// One second of a destination.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SecondView {
    /// Unix second.
    pub t: u64,
    /// Packets.
    pub packets: u64,
    /// Packets per class.
    pub protocols: BTreeMap<String, u64>,
}

/// One vector.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VectorView {
    /// Name.
    pub name: String,
    /// Share of the excess.
    pub share: f64,
    /// Packets.
    pub packets: u64,
    /// Dominant UDP source port.
    pub source_port: Option<u16>,
}

/// One wave.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WaveView {
    /// Start (RFC 3339).
    pub start: String,
    /// End.
    pub end: String,
    /// Start, ns.
    pub start_ns: u64,
    /// End, ns.
    pub end_ns: u64,
    /// Peak pps.
    pub peak_pps: u64,
    /// Peak bps.
    pub peak_bps: u64,
    /// Packets.
    pub packets: u64,
    /// Vectors.
    pub vectors: Vec<VectorView>,
}

/// One heavy source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SourceView {
    /// Address.
    pub address: String,
    /// Packets (upper bound).
    pub packets: u64,
}

/// One botnet fingerprint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FingerprintView {
    /// Family.
    pub family: String,
    /// Attack name.
    pub vector: String,
    /// Matching share.
    pub match_share: f64,
    /// Matching packets.
    pub packets: u64,
    /// Fields and facts.
    pub fields: Vec<String>,
}

/// One incident.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IncidentView {
    /// Id.
    pub id: u32,
    /// Victim.
    pub victim: String,
    /// Start (RFC 3339).
    pub start: String,
    /// End.
    pub end: String,
    /// Start, ns.
    pub start_ns: u64,
    /// End, ns.
    pub end_ns: u64,
    /// Waves.
    pub waves: Vec<WaveView>,
    /// Vectors.
    pub vectors: Vec<VectorView>,
    /// Packets.
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Distinct sources.
    pub distinct_sources: u64,
    /// Heavy sources.
    pub top_sources: Vec<SourceView>,
    /// Botnet fingerprints.
    pub fingerprints: Vec<FingerprintView>,
    /// Source attribution (engine `attribute::SourceProfile`).
    pub source_profile: Option<ProfileView>,
    /// Campaign link (rendered generically).
    pub campaign: Option<Value>,
}

/// A country or AS share (engine `attribute::GroupShare`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GroupView {
    /// Country code or `AS<n>`.
    pub key: String,
    /// Name.
    pub name: String,
    /// AS number.
    pub asn: Option<u32>,
    /// Sampled sources in the group.
    pub sampled_sources: u64,
    /// Share of sampled sources.
    pub sources_share: f64,
    /// 95 % interval half-width of `sources_share`.
    pub sources_share_ci95: f64,
    /// Estimated sources.
    pub estimated_sources: u64,
    /// Share of packets.
    pub packets_share: f64,
    /// Estimated packets.
    pub estimated_packets: u64,
}

/// Spoofing tests and verdict (engine `attribute::SpoofingAssessment`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SpoofView {
    /// `spoofed`, `not_spoofed`, `mixed`, `inconclusive`.
    pub verdict: String,
    /// Estimated forged share.
    pub spoofed_fraction: Option<f64>,
    /// Bogon test.
    pub bogons: Option<Value>,
    /// Address-space uniformity test.
    pub uniformity: Option<Value>,
    /// TTL test.
    pub ttl: Option<Value>,
    /// Handshake test.
    pub handshake: Option<Value>,
    /// Backscatter test.
    pub backscatter: Option<Value>,
    /// Reasons.
    pub reasons: Vec<String>,
    /// Plain explanation.
    pub explanation: String,
}

/// The sample behind the shares.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SampleView {
    /// Sampled sources.
    pub sources: u64,
    /// Whether every source is in the sample.
    pub complete: bool,
    /// What the sampling means.
    pub note: String,
}

/// An incident's sources (engine `attribute::SourceProfile`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProfileView {
    /// Packets.
    pub packets: u64,
    /// Distinct sources.
    pub distinct_sources: u64,
    /// The sample.
    pub sample: SampleView,
    /// Share of sampled sources with a country.
    pub located_share: f64,
    /// Countries.
    pub countries: Vec<GroupView>,
    /// ASes.
    pub asns: Vec<GroupView>,
    /// `senders`, `reflectors`, `responders`.
    pub role: String,
    /// Spoofing.
    pub spoofing: SpoofView,
    /// Sentences.
    pub summary: Vec<String>,
}

/// A checked claim (engine `claim::Verdict`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClaimView {
    /// `origin=UA`.
    pub claim: String,
    /// `supported`, `contradicted`, `inconclusive`.
    pub verdict: String,
    /// Figures.
    pub figures: BTreeMap<String, f64>,
    /// Caveats.
    pub caveats: Vec<String>,
    /// Sentences.
    pub explanation: String,
}

/// One scanning kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ScanView {
    /// `mirai` or null.
    pub family: Option<String>,
    /// Probes.
    pub packets: u64,
    /// Probes with the Mirai signature.
    pub mirai_packets: u64,
    /// Sources.
    pub sources: Vec<SourceView>,
    /// Every source listed.
    pub complete: bool,
}

/// How a text input was read (engine `textlog::ParseStats`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ParseView {
    /// Format recognised.
    pub format: String,
    /// Lines.
    pub lines: u64,
    /// Records read.
    pub records: u64,
    /// Blank / comment lines.
    pub skipped: u64,
    /// Unreadable lines.
    pub malformed: u64,
    /// Unreadable lines per reason.
    pub reasons: BTreeMap<String, u64>,
}

/// Reports of one minute.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MinuteView {
    /// Minute start (Unix seconds).
    pub minute: u64,
    /// Reports.
    pub reports: u64,
}

/// The wave a spike follows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CauseView {
    /// Incident.
    pub incident: u32,
    /// Victim.
    pub victim: String,
    /// Wave start (Unix seconds).
    pub wave_start: u64,
    /// Spike start − wave start.
    pub lag_seconds: i64,
    /// Peak minute − wave start.
    pub peak_lag_seconds: i64,
}

/// One report spike.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SpikeView {
    /// First minute.
    pub start: u64,
    /// Last minute (inclusive).
    pub end: u64,
    /// Busiest minute.
    pub peak_minute: u64,
    /// Reports in it.
    pub peak_reports: u64,
    /// Reports in the spike.
    pub reports: u64,
    /// Above baseline.
    pub excess_reports: u64,
    /// The wave before it.
    pub after_wave: Option<CauseView>,
}

/// Spikes against waves.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CorrelationView {
    /// Waves.
    pub waves: u64,
    /// Spikes.
    pub spikes: u64,
    /// Spikes after a wave.
    pub spikes_after_attack: u64,
    /// Median lag.
    pub median_lag_seconds: Option<i64>,
    /// Attack minutes.
    pub attack_minutes: u64,
    /// … followed by elevated reports.
    pub attack_minutes_with_elevated_reports: u64,
    /// Window.
    pub window_seconds: u64,
}

/// Outage reports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OutageView {
    /// Reports.
    pub reports: u64,
    /// Baseline per minute.
    pub baseline_per_minute: f64,
    /// Per channel.
    pub channels: BTreeMap<String, u64>,
    /// Per problem.
    pub problems: BTreeMap<String, u64>,
    /// Per region.
    pub regions: BTreeMap<String, u64>,
    /// Per minute.
    pub per_minute: Vec<MinuteView>,
    /// Spikes.
    pub spikes: Vec<SpikeView>,
    /// Correlation.
    pub correlation: CorrelationView,
    /// Verdict input.
    pub attack_explains_outage: Option<bool>,
    /// Why.
    pub reason: String,
}

/// One step of service health.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HealthView {
    /// Step start.
    pub t: u64,
    /// Requests.
    pub requests: u64,
    /// 5xx responses.
    pub errors_5xx: u64,
    /// 5xx share.
    pub share_5xx: f64,
}

/// An HTTP-flood signal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FloodView {
    /// First step.
    pub start: u64,
    /// Last step.
    pub end: u64,
    /// Requests.
    pub requests: u64,
    /// Peak / baseline.
    pub rate_factor: Option<f64>,
    /// Peak requests per second.
    pub peak_per_second: f64,
    /// Clients.
    pub clients: u64,
    /// Heavy-client share.
    pub heavy_client_share: f64,
    /// 5xx share.
    pub share_5xx: f64,
}

/// Access-log figures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WebView {
    /// Requests.
    pub requests: u64,
    /// Clients.
    pub clients: u64,
    /// Step length.
    pub interval_seconds: u64,
    /// Per status class.
    pub status_classes: BTreeMap<String, u64>,
    /// 5xx share.
    pub share_5xx: f64,
    /// Median latency.
    pub latency_ms_p50: Option<f64>,
    /// p95 latency.
    pub latency_ms_p95: Option<f64>,
    /// Health series.
    pub series: Vec<HealthView>,
    /// Flood signals.
    pub floods: Vec<FloodView>,
}

/// `impact`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ImpactView {
    /// Outage-report input.
    pub reports_input: Option<ParseView>,
    /// Outage reports.
    pub outage: Option<OutageView>,
    /// Access-log input.
    pub logs_input: Option<ParseView>,
    /// Access log.
    pub web: Option<WebView>,
    /// Verdict input of `cause=attack`.
    pub attack_explains_outage: Option<bool>,
    /// Why.
    pub reason: String,
}

/// How a headline reads: good news, bad news, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Nothing wrong, or a claim supported.
    Good,
    /// An attack, or a claim contradicted.
    Bad,
    /// Inconclusive or informational.
    Neutral,
}

impl Tone {
    /// CSS class / word.
    pub fn name(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Neutral => "neutral",
        }
    }

    /// The tone of a claim verdict.
    pub fn of_verdict(v: &str) -> Tone {
        match v {
            "supported" => Tone::Good,
            "contradicted" => Tone::Bad,
            _ => Tone::Neutral,
        }
    }
}

/// One headline verdict: what the report says first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    /// Short label (`attack`, `botnet`, `claim origin=UA`, …).
    pub label: String,
    /// The verdict in a few words.
    pub value: String,
    /// How it reads.
    pub tone: Tone,
}

/// Countries (or ASes with `asn`) over every incident's source profile, by estimated
/// sources, largest first (ties: key). Shares are of the summed estimates.
pub fn combined_groups(v: &View, asn: bool) -> Vec<GroupView> {
    let mut by: BTreeMap<String, GroupView> = BTreeMap::new();
    let mut total = 0u64;
    let mut total_packets = 0u64;
    for p in v.incidents.iter().filter_map(|i| i.source_profile.as_ref()) {
        let groups = if asn { &p.asns } else { &p.countries };
        for g in groups {
            let e = by.entry(g.key.clone()).or_insert_with(|| GroupView {
                key: g.key.clone(),
                name: g.name.clone(),
                asn: g.asn,
                ..GroupView::default()
            });
            e.sampled_sources += g.sampled_sources;
            e.estimated_sources += g.estimated_sources;
            e.estimated_packets += g.estimated_packets;
        }
        total += p.distinct_sources.max(1);
        total_packets += p.packets.max(1);
    }
    let single = v
        .incidents
        .iter()
        .filter(|i| i.source_profile.is_some())
        .count()
        == 1;
    let mut out: Vec<GroupView> = by.into_values().collect();
    for g in &mut out {
        if single {
            // One profile: its own shares (with their intervals) are exact.
            let p = v
                .incidents
                .iter()
                .find_map(|i| i.source_profile.as_ref())
                .expect("one profile");
            let groups = if asn { &p.asns } else { &p.countries };
            if let Some(src) = groups.iter().find(|x| x.key == g.key) {
                *g = src.clone();
            }
        } else {
            g.sources_share = g.estimated_sources as f64 / total.max(1) as f64;
            g.packets_share = g.estimated_packets as f64 / total_packets.max(1) as f64;
        }
    }
    out.sort_by(|a, b| {
        b.sources_share
            .total_cmp(&a.sources_share)
            .then(a.key.cmp(&b.key))
    });
    out
}

/// The headline verdicts, most important first: attack, vectors, botnet, spoofing, origin,
/// outage, then one per claim.
pub fn headlines(v: &View) -> Vec<Headline> {
    let mut out = Vec::new();
    let waves: usize = v.incidents.iter().map(|i| i.waves.len()).sum();
    let peak = v
        .incidents
        .iter()
        .flat_map(|i| i.waves.iter().map(|w| w.peak_pps))
        .max()
        .unwrap_or(0);
    out.push(Headline {
        label: "attack".into(),
        value: if v.incidents.is_empty() {
            "no attack found".into()
        } else {
            let victims: std::collections::BTreeSet<&str> =
                v.incidents.iter().map(|i| i.victim.as_str()).collect();
            format!(
                "{} incident(s), {waves} wave(s) on {} victim(s), peak {} pps",
                v.incidents.len(),
                victims.len(),
                crate::text::group(peak)
            )
        },
        tone: if v.incidents.is_empty() {
            Tone::Good
        } else {
            Tone::Bad
        },
    });
    if !v.incidents.is_empty() {
        let mut vectors: BTreeMap<&str, u64> = BTreeMap::new();
        for x in v.incidents.iter().flat_map(|i| i.vectors.iter()) {
            *vectors.entry(x.name.as_str()).or_insert(0) += x.packets;
        }
        let total: u64 = vectors.values().sum();
        let mut list: Vec<(&str, u64)> = vectors.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let shown: Vec<String> = list
            .iter()
            .take(4)
            .map(|(n, p)| format!("{n} {:.0} %", 100.0 * *p as f64 / total.max(1) as f64))
            .collect();
        out.push(Headline {
            label: "vectors".into(),
            value: shown.join(", "),
            tone: Tone::Neutral,
        });
        let mut fams: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in v.incidents.iter().flat_map(|i| i.fingerprints.iter()) {
            let e = fams.entry(f.family.as_str()).or_default();
            if !e.contains(&f.vector.as_str()) {
                e.push(f.vector.as_str());
            }
        }
        out.push(Headline {
            label: "botnet".into(),
            value: if fams.is_empty() {
                "no botnet fingerprint in the attack packets".into()
            } else {
                fams.iter()
                    .map(|(f, vs)| format!("{f} fingerprints ({})", vs.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            tone: Tone::Neutral,
        });
    }
    let profiles: Vec<(&IncidentView, &ProfileView)> = v
        .incidents
        .iter()
        .filter_map(|i| i.source_profile.as_ref().map(|p| (i, p)))
        .collect();
    if !profiles.is_empty() {
        let mut verdicts: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (i, p) in &profiles {
            verdicts
                .entry(p.spoofing.verdict.as_str())
                .or_default()
                .push(i.id);
        }
        let value = if verdicts.len() == 1 {
            let (k, _) = verdicts.iter().next().expect("one");
            format!("{} (all incidents)", k.replace('_', " "))
        } else {
            verdicts
                .iter()
                .map(|(k, ids)| {
                    let ids: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
                    format!("{} {}", k.replace('_', " "), ids.join(" "))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(Headline {
            label: "spoofing".into(),
            value,
            tone: Tone::Neutral,
        });
        let groups = combined_groups(v, false);
        if let Some(top) = groups.first() {
            out.push(Headline {
                label: "sources".into(),
                value: format!(
                    "{} countries; largest {} ({}) with {} of sources",
                    groups.len(),
                    top.name,
                    top.key,
                    pct(top.sources_share)
                ),
                tone: Tone::Neutral,
            });
        }
    }
    if let Some(o) = v.impact.as_ref().and_then(|i| i.outage.as_ref()) {
        let c = &o.correlation;
        let (value, tone) = match o.attack_explains_outage {
            Some(true) => (
                format!(
                    "explained by the attack: {} of {} report spike(s) follow waves{}",
                    c.spikes_after_attack,
                    c.spikes,
                    c.median_lag_seconds
                        .map(|l| format!(", median lag {l} s"))
                        .unwrap_or_default()
                ),
                Tone::Bad,
            ),
            Some(false) => (
                format!(
                    "not explained by the attack: none of {} report spike(s) follows a wave",
                    c.spikes
                ),
                Tone::Neutral,
            ),
            None => (o.reason.clone(), Tone::Neutral),
        };
        out.push(Headline {
            label: "outage".into(),
            value,
            tone,
        });
    }
    for c in &v.claims {
        out.push(Headline {
            label: format!("claim {}", c.claim),
            value: c.verdict.clone(),
            tone: Tone::of_verdict(&c.verdict),
        });
    }
    out
}
