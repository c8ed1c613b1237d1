//! Source attribution, claims and campaigns for `analyze` (issue 6): the glue between the
//! engine's incidents (with their source samples), the geo data and the report.
//!
//! Per incident: its source sample goes through `engine::attribute` with the country / ASN
//! data, giving a `SourceProfile` (countries and ASNs by packets and by sources, spoofing
//! tests). Claims (`--claim origin=UA`, …) are checked against the profile of all incidents'
//! merged samples, their fingerprints, the scanning seen and — for `cause=attack` — the
//! outage-report impact. Incidents are linked into campaigns by their samples.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use floodtrace_engine::attribute::{attribute, AttributeInput, GeoLookup, NoGeo, SourceProfile};
use floodtrace_engine::campaign::{
    link_campaigns, CampaignConfig, CampaignLinking, CampaignMember,
};
use floodtrace_engine::claim::{
    evaluate, Claim, ClaimEvidence, FingerprintHit, FingerprintSummary, Verdict,
};
use floodtrace_engine::fingerprint::ScanReport;
use floodtrace_engine::impact::Impact;
use floodtrace_engine::incident::Incident;
use floodtrace_engine::sketch::source_log::is_tcp_data;
use floodtrace_engine::sketch::{SourceLog, SourceSample};
use floodtrace_geo::Geo;
use floodtrace_report::model::ProvenanceReport;

use crate::sources::file::Again;

/// The geo data in use, or why there is none.
pub struct GeoData {
    /// Loaded data.
    pub geo: Option<Geo>,
    /// Why nothing was loaded (shown as a warning and in the report).
    pub missing: Option<String>,
}

impl GeoData {
    /// No geo data, and no reason to look for any.
    pub fn none() -> GeoData {
        GeoData {
            geo: None,
            missing: None,
        }
    }

    /// Find and load the geo data: `explicit` (a `.mmdb` file or a folder with the files
    /// `scripts/fetch-geo` writes), else the usual places (see `geo_path`). A compiled ASN
    /// table next to the country database is loaded too.
    pub fn load(explicit: Option<&Path>) -> GeoData {
        let country = match crate::geo_path::locate(explicit) {
            Ok(p) => p,
            Err(e) => {
                return GeoData {
                    geo: None,
                    missing: Some(format!("{e:#}")),
                }
            }
        };
        let dir: PathBuf = country.parent().map(Path::to_path_buf).unwrap_or_default();
        let asn = Some(dir.join(floodtrace_geo::ASN_FILE)).filter(|p| p.is_file());
        match Geo::open(Some(&country), asn.as_deref()) {
            Ok(geo) => GeoData {
                geo: Some(geo),
                missing: None,
            },
            Err(e) => GeoData {
                geo: None,
                missing: Some(format!("{}: {e}", country.display())),
            },
        }
    }

    fn lookup(&self) -> &dyn GeoLookup {
        match &self.geo {
            Some(g) => g,
            None => &NoGeo,
        }
    }

    /// Provenance of the loaded data.
    pub fn provenance(&self) -> Vec<ProvenanceReport> {
        self.geo.as_ref().map_or_else(Vec::new, |g| {
            g.provenance()
                .into_iter()
                .map(|p| ProvenanceReport {
                    kind: p.kind,
                    name: p.name,
                    version: p.version,
                    licence: p.licence,
                    file: p.file,
                })
                .collect()
        })
    }
}

/// Everything attribution adds to a report.
pub struct Attribution {
    /// Per incident (same order), its source profile.
    pub profiles: Vec<Option<SourceProfile>>,
    /// Campaigns over the incidents.
    pub campaigns: CampaignLinking,
    /// Claim verdicts, in the order given.
    pub claims: Vec<Verdict>,
}

/// Fill each incident's `source_sample`: the sources of its victim during its span,
/// cleaned of the sources the victim saw in the `BASELINE_SOURCE_SECONDS` around it
/// (outside other incidents of the same victim), of the clients it served, and of sources
/// whose packets do not fit its vectors (`incident::clean_sample`).
///
/// The incidents, and so which destinations and times matter, are only known once the
/// whole input was read. The first pass's hash-sampled source log (`log`,
/// `sketch::source_log`) settles every incident of which it holds enough sources; the
/// others are attributed by reading the inputs again, for their victims and times only.
/// Standard input is read again from its spool; without one, those incidents are left
/// without a sample and `Err` says why.
pub fn collect_samples(
    inputs: &[Again<'_>],
    incidents: &mut [Incident],
    threads: usize,
    log: Option<&SourceLog>,
) -> anyhow::Result<()> {
    use floodtrace_engine::incident::{clean_sample, BASELINE_SOURCE_SECONDS};
    use floodtrace_wire::capture::RecordReader;
    use floodtrace_wire::{observe_frame_into, PeekMode};

    if incidents.is_empty() {
        return Ok(());
    }
    let mut spans: Vec<Option<Span>> = incidents
        .iter()
        .map(|inc| {
            let (lo, hi) = crate::evidence::victim_range(&inc.victim)?;
            let busy = incidents
                .iter()
                .filter(|o| o.id != inc.id && o.victim == inc.victim)
                .map(|o| (o.start_ns(), o.end_ns()))
                .collect();
            Some(Span {
                lo,
                hi,
                start: inc.start_ns(),
                end: inc.end_ns(),
                base_start: inc
                    .start_ns()
                    .saturating_sub(BASELINE_SOURCE_SECONDS * 1_000_000_000),
                base_end: inc
                    .end_ns()
                    .saturating_add(BASELINE_SOURCE_SECONDS * 1_000_000_000),
                served_in_span: !inc
                    .vectors
                    .iter()
                    .any(|v| CONNECTION_VECTORS.contains(&v.name.as_str())),
                busy,
            })
        })
        .collect();
    // First from the first pass's source log; what it cannot settle is read again.
    if let Some(log) = log {
        let k = sample_size(spans.iter().flatten().count());
        for (inc, span) in incidents.iter_mut().zip(spans.iter_mut()) {
            let Some(sp) = span else { continue };
            if let Some(sample) = sample_from_log(log, sp, inc, k) {
                inc.source_sample = Some(sample);
                inc.source_sample_collected = Some("first_pass");
                *span = None;
            }
        }
    }
    if spans.iter().all(Option::is_none) {
        return Ok(());
    }
    if inputs.iter().any(Again::is_unspooled_stdin) {
        anyhow::bail!(
            "-: standard input was not spooled, so it cannot be read a second time for source \
             attribution"
        );
    }
    let first = spans
        .iter()
        .flatten()
        .map(|s| s.base_start)
        .min()
        .unwrap_or(0);
    let last = spans
        .iter()
        .flatten()
        .map(|s| s.base_end)
        .max()
        .unwrap_or(u64::MAX);
    let mut all = Collector::new(&spans);
    // Flow inputs are decoded again with fresh templates, in the first pass's order.
    let mut flows = crate::flows::FlowRun::new();
    let threads = threads.max(1);
    for input in inputs {
        let map = input.map()?;
        let bytes: &[u8] = map.as_deref().unwrap_or(&[]);
        if flows.observe_file(bytes, &mut |obs| all.feed(obs)) {
            continue;
        }
        if RecordReader::open(bytes).is_err() {
            continue;
        }
        // Every thread walks the record framing (cheap) and decodes every `threads`-th
        // record; samples merge exactly, so the result does not depend on `threads`.
        let parts: Vec<Collector<'_>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let spans = &spans;
                    scope.spawn(move || {
                        let mut c = Collector::new(spans);
                        let Ok(mut reader) = RecordReader::open(bytes) else {
                            return c;
                        };
                        // Decoded in place, record after record.
                        let mut obs = floodtrace_wire::Observation::default();
                        while let Some(item) = reader.next() {
                            let rec = match item {
                                Ok(r) => r,
                                Err(e) if e.fatal => break,
                                Err(_) => continue,
                            };
                            if rec.number % threads as u64 != t as u64
                                || rec.ts_ns < first
                                || rec.ts_ns > last
                            {
                                continue;
                            }
                            if let Ok(None) = observe_frame_into(
                                rec.link_type,
                                rec.data,
                                rec.ts_ns,
                                rec.wire_len,
                                PeekMode::Never,
                                &mut obs,
                            ) {
                                c.feed(&obs);
                            }
                        }
                        c
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("attribution worker panicked"))
                .collect()
        });
        for p in &parts {
            all.merge(p);
        }
    }
    let Collector { samples, seen, .. } = all;
    for (((inc, mut sample), known), span) in
        incidents.iter_mut().zip(samples).zip(&seen).zip(&spans)
    {
        if span.is_some() {
            clean_sample(inc, &mut sample, Some(known));
            inc.source_sample = Some(sample);
            inc.source_sample_collected = Some("second_pass");
        }
    }
    Ok(())
}

/// Sampled sources an incident needs from the source log before the log's sample is
/// trusted as its sample (when the log kept every source, any number will do): 2,500
/// puts one standard error of any share at or below 1 percentage point (√(0.25/2500)).
const LOG_SAMPLE_ENOUGH: usize = 2_500;

/// An incident's cleaned source sample from the first pass's source log, or `None` when
/// the log holds too few of its sources (then the input is read again for it).
///
/// The same rules as the second pass ([`Collector::feed`]), at the log's one-second
/// resolution: entries of the incident's seconds form the sample, entries of the
/// baseline seconds around it (outside the victim's other incidents) and served clients
/// are the known sources removed from it.
fn sample_from_log(log: &SourceLog, sp: &Span, inc: &Incident, k: usize) -> Option<SourceSample> {
    const NS: u64 = 1_000_000_000;
    let mut sample = SourceSample::with_k(k);
    let mut known = floodtrace_engine::sketch::SeenSources::with_k(k);
    let (mut packets, mut bytes, mut backscatter) = (0u64, 0u64, 0u64);
    let entries = log.entries();
    let from = entries.partition_point(|e| e.dst < sp.lo);
    for e in entries[from..].iter().take_while(|e| e.dst <= sp.hi) {
        let sec = u64::from(e.second);
        if e.served {
            if sp.serves_client(e.src, sec, NS) {
                known.observe(e.hash);
            }
            continue;
        }
        match sp.place(sec, NS) {
            Some(Place::Span) => {
                sample.insert_stats(e.hash, e.src, &e.stats);
                packets = packets.saturating_add(e.stats.packets);
                bytes = bytes.saturating_add(e.stats.bytes);
                backscatter = backscatter.saturating_add(e.stats.backscatter_packets);
            }
            Some(Place::Baseline) => known.observe(e.hash),
            None => {}
        }
    }
    if !log.is_complete() && sample.len() < LOG_SAMPLE_ENOUGH {
        return None;
    }
    if log.is_complete() {
        sample.set_totals(packets, bytes, backscatter);
    } else {
        // The logged sources are a uniform sample: the totals are the incident's, and
        // the backscatter share is the sample's.
        let share = if packets == 0 {
            0.0
        } else {
            backscatter as f64 / packets as f64
        };
        sample.set_totals(
            inc.packets,
            inc.bytes,
            (inc.packets as f64 * share).round() as u64,
        );
    }
    sample.limit_threshold(log.tau());
    floodtrace_engine::incident::clean_sample(inc, &mut sample, Some(&known));
    Some(sample)
}

/// An incident's victim and times, as the second pass needs them.
struct Span {
    lo: u128,
    hi: u128,
    start: u64,
    end: u64,
    base_start: u64,
    base_end: u64,
    /// Other incidents of the same victim: not background.
    busy: Vec<(u64, u64)>,
    /// Whether an address the victim sends TCP data to during the incident is a client
    /// (false when the incident's vectors are floods over real connections, whose
    /// sources the victim answers too).
    served_in_span: bool,
}

/// Where a packet to an incident's victim falls ([`Span::place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Inside the incident: its source is sampled.
    Span,
    /// In the baseline around it, outside the victim's other incidents: its source is a
    /// known one, removed from the sample.
    Baseline,
}

impl Span {
    /// Where time `t` falls, `t` and every bound counted in `unit` nanoseconds (1 for
    /// packets, 10^9 for the source log's seconds; bounds are floored to the unit). `None`
    /// outside the baseline, or inside another incident of the same victim.
    fn place(&self, t: u64, unit: u64) -> Option<Place> {
        let within = |a: u64, b: u64| t >= a / unit && t <= b / unit;
        if within(self.start, self.end) {
            Some(Place::Span)
        } else if within(self.base_start, self.base_end)
            && !self.busy.iter().any(|&(a, b)| within(a, b))
        {
            Some(Place::Baseline)
        } else {
            None
        }
    }

    /// Whether the victim sending TCP data to `client` at `t` (as for [`Self::place`])
    /// makes `client` a known client: around the attack, and during it unless the
    /// attack's own sources get answers too. An address inside the victim's range is the
    /// victim, not a client.
    fn serves_client(&self, client: u128, t: u64, unit: u64) -> bool {
        (client < self.lo || client > self.hi)
            && match self.place(t, unit) {
                Some(Place::Span) => self.served_in_span,
                // Served data counts even during the victim's other incidents.
                _ => t >= self.base_start / unit && t <= self.base_end / unit,
            }
    }
}

/// Vectors whose sources hold real connections with the victim and get its answers.
const CONNECTION_VECTORS: &[&str] = &["http_flood"];

/// Sources sampled per worker thread over all incidents (about 100 bytes each while
/// sampling): ~25 MiB a thread.
const SAMPLE_BUDGET: usize = 1 << 18;

/// Largest sample per incident. A uniform sample of 32,768 sources puts one standard
/// error of a 30 % country share at 0.25 percentage points (and a scenario with fewer
/// sources is sampled completely); the default 4,096 gives 0.7.
const MAX_SAMPLE: usize = 1 << 15;

/// Sample size per incident for `incidents` incidents: as large as the budget allows,
/// between [`SourceSample::new`]'s default and [`MAX_SAMPLE`].
fn sample_size(incidents: usize) -> usize {
    (SAMPLE_BUDGET / incidents.max(1)).clamp(floodtrace_engine::sketch::SeenSources::K, MAX_SAMPLE)
}

/// Per incident: the sample of its sources and the sources seen before it.
struct Collector<'a> {
    spans: &'a [Option<Span>],
    /// Incidents of one victim address, by its key (most incidents).
    by_victim: HashMap<u128, Vec<usize>>,
    /// Incidents of a victim prefix (carpet bombing), checked by range.
    prefixes: Vec<usize>,
    samples: Vec<SourceSample>,
    seen: Vec<floodtrace_engine::sketch::SeenSources>,
}

impl<'a> Collector<'a> {
    fn new(spans: &'a [Option<Span>]) -> Self {
        let k = sample_size(spans.iter().flatten().count());
        let mut by_victim: HashMap<u128, Vec<usize>> = HashMap::new();
        let mut prefixes = Vec::new();
        for (i, sp) in spans.iter().enumerate() {
            match sp {
                Some(sp) if sp.lo == sp.hi => by_victim.entry(sp.lo).or_default().push(i),
                Some(_) => prefixes.push(i),
                None => {}
            }
        }
        Collector {
            spans,
            by_victim,
            prefixes,
            samples: spans.iter().map(|_| SourceSample::with_k(k)).collect(),
            seen: spans
                .iter()
                .map(|_| floodtrace_engine::sketch::SeenSources::with_k(k))
                .collect(),
        }
    }

    fn feed(&mut self, obs: &floodtrace_wire::Observation) {
        use floodtrace_engine::aggregate::addr_key;
        let dst = addr_key(obs.dst);
        let spans = self.spans;
        if let Some(list) = self.by_victim.get(&dst) {
            for &i in list {
                if let Some(sp) = &spans[i] {
                    Self::to_victim(sp, &mut self.samples[i], &mut self.seen[i], obs);
                }
            }
        }
        for &i in &self.prefixes {
            if let Some(sp) = &spans[i] {
                if dst >= sp.lo && dst <= sp.hi {
                    Self::to_victim(sp, &mut self.samples[i], &mut self.seen[i], obs);
                }
            }
        }
        // The victim sending data to an address makes that address a client: known when
        // it happens around the attack, and during it unless the attack's own sources are
        // answered too.
        if is_tcp_data(obs) {
            let src = addr_key(obs.src);
            let from_victim = self.by_victim.get(&src).into_iter().flatten();
            let from_prefix = self.prefixes.iter().filter(|&&i| {
                spans[i]
                    .as_ref()
                    .is_some_and(|sp| src >= sp.lo && src <= sp.hi)
            });
            for &i in from_victim.chain(from_prefix) {
                let Some(sp) = &spans[i] else { continue };
                if sp.serves_client(dst, obs.ts_ns, 1) {
                    self.seen[i].observe(SourceSample::hash_addr(obs.dst));
                }
            }
        }
    }

    /// A packet to the victim of `sp`: a source of the incident, or one seen around it.
    #[inline]
    fn to_victim(
        sp: &Span,
        sample: &mut SourceSample,
        seen: &mut floodtrace_engine::sketch::SeenSources,
        obs: &floodtrace_wire::Observation,
    ) {
        match sp.place(obs.ts_ns, 1) {
            Some(Place::Span) => sample.observe(obs),
            Some(Place::Baseline) => seen.observe(SourceSample::hash_addr(obs.src)),
            None => {}
        }
    }

    fn merge(&mut self, other: &Collector<'_>) {
        for (a, b) in self.samples.iter_mut().zip(&other.samples) {
            a.merge(b);
        }
        for (a, b) in self.seen.iter_mut().zip(&other.seen) {
            a.merge(b);
        }
    }
}

/// Share of an incident's packets in reflection vectors (its sources are then reflectors).
fn reflection_share(inc: &Incident) -> f64 {
    inc.vectors
        .iter()
        .filter(|v| v.name.ends_with("_reflection"))
        .map(|v| v.share)
        .sum()
}

/// Attribute every incident, link campaigns and check `claims`.
pub fn attribute_incidents(
    incidents: &[Incident],
    scanning: &[ScanReport],
    impact: Option<&Impact>,
    geo: &GeoData,
    claims: &[Claim],
) -> Attribution {
    let lookup = geo.lookup();
    let profiles: Vec<Option<SourceProfile>> = incidents
        .iter()
        .map(|inc| {
            let sample = inc.source_sample.as_ref()?;
            let input = AttributeInput {
                packets: Some(inc.packets),
                distinct_sources: Some(inc.distinct_sources),
                distinct_sources_error: inc.distinct_sources_error,
                reflection_share: reflection_share(inc),
            };
            let mut profile = attribute(sample, &input, lookup);
            profile.sample.collected = inc.source_sample_collected;
            Some(profile)
        })
        .collect();

    let members: Vec<CampaignMember<'_>> = incidents
        .iter()
        .zip(&profiles)
        .filter_map(|(inc, p)| {
            let sources = inc.source_sample.as_ref()?;
            Some(CampaignMember {
                label: format!("incident {}", inc.id),
                victim: inc.victim.clone(),
                start_ns: inc.start_ns(),
                end_ns: inc.end_ns(),
                sources,
                spoofing: p.as_ref()?.spoofing.verdict,
                vectors: inc
                    .vectors
                    .iter()
                    .map(|v| (v.name.clone(), v.share))
                    .collect(),
                fingerprints: inc
                    .fingerprints
                    .iter()
                    .map(|f| format!("{}:{}", f.family, f.vector))
                    .collect(),
            })
        })
        .collect();
    let mut campaigns = link_campaigns(&members, &CampaignConfig::default());
    // Members were only the incidents with a sample: map back to incident ids.
    let with_sample: Vec<u32> = incidents
        .iter()
        .filter(|i| i.source_sample.is_some())
        .map(|i| i.id)
        .collect();
    for c in &mut campaigns.campaigns {
        c.members = c.members.iter().map(|&m| with_sample[m] as usize).collect();
    }

    let verdicts = if claims.is_empty() {
        Vec::new()
    } else {
        check_claims(incidents, scanning, impact, lookup, claims)
    };
    Attribution {
        profiles,
        campaigns,
        claims: verdicts,
    }
}

/// Claims are about the attack as a whole: all incidents' samples merged.
fn check_claims(
    incidents: &[Incident],
    scanning: &[ScanReport],
    impact: Option<&Impact>,
    lookup: &dyn GeoLookup,
    claims: &[Claim],
) -> Vec<Verdict> {
    let mut merged: Option<SourceSample> = None;
    for s in incidents.iter().filter_map(|i| i.source_sample.as_ref()) {
        match &mut merged {
            Some(m) => m.merge(s),
            None => merged = Some(s.clone()),
        }
    }
    let packets: u64 = incidents.iter().map(|i| i.packets).sum();
    let reflection: f64 = if packets == 0 {
        0.0
    } else {
        incidents
            .iter()
            .map(|i| reflection_share(i) * i.packets as f64)
            .sum::<f64>()
            / packets as f64
    };
    let profile = merged.as_ref().map(|m| {
        let input = AttributeInput {
            packets: Some(packets),
            distinct_sources: None,
            distinct_sources_error: 0.0,
            reflection_share: reflection,
        };
        attribute(m, &input, lookup)
    });
    let fingerprints = FingerprintSummary {
        hits: incidents
            .iter()
            .flat_map(|i| i.fingerprints.iter())
            .map(|f| FingerprintHit {
                family: f.family.to_string(),
                vector: f.vector.to_string(),
                match_share: f.match_share,
                packets: f.packets,
            })
            .collect(),
        attack_packets: packets,
        mirai_scan_packets: scanning.iter().map(|s| s.mirai_packets).sum(),
        scan_sources: scanning.iter().map(|s| s.sources.len() as u64).sum(),
    };
    let impact_evidence = impact.and_then(Impact::claim_evidence);
    let ev = ClaimEvidence {
        profile: profile.as_ref(),
        fingerprints: Some(&fingerprints),
        impact: impact_evidence.as_ref(),
    };
    claims.iter().map(|c| evaluate(c, &ev)).collect()
}

/// Parse `--claim` values; errors name the claim and what is wrong.
pub fn parse_claims(values: &[String]) -> anyhow::Result<Vec<Claim>> {
    values
        .iter()
        .map(|v| Claim::parse(v).map_err(|e| anyhow::anyhow!("--claim {v}: {}", e.reason)))
        .collect()
}
