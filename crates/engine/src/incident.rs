//! Incidents: detected waves of one target, grouped, measured and classified.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::aggregate::{
    addr_key, key_addr, udp_bin_port, Aggregator, AppCounters, Bucket, Class, SparseHist, Timeline,
    UDP_PORT_BINS,
};
use crate::classify::{classify, VectorShare, WaveTraffic};
use crate::detect::{
    detect_series, detect_timeline, detect_timeline_with, DetectConfig, DetectedWave, NetworkTable,
    SecondCounts, Thresholds,
};
use crate::fingerprint::Fingerprint;
use crate::sketch::source_sample::source_flag;
use crate::sketch::{Hll, SeenSources, SourceSample, SpaceSaving, TopEntry};

/// Sources seen this long before an incident are its victim's background, not attackers.
pub const BASELINE_SOURCE_SECONDS: u64 = 1800;
use crate::summary::distinct_error;

/// A wave of an incident, measured over its seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave {
    /// First packet of the wave's first second (ns).
    pub start_ns: u64,
    /// Last packet of the wave's last second (ns).
    pub end_ns: u64,
    /// Most packets in one second.
    pub peak_pps: u64,
    /// Most bits in one second.
    pub peak_bps: u64,
    /// Packets (all traffic to the target during the wave).
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Vectors of this wave.
    pub vectors: Vec<VectorShare>,
}

/// An incident: a target and its waves.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// 1-based id in start order.
    pub id: u32,
    /// The target: an address, or a prefix `a.b.c.d/len` for floods spread over it.
    pub victim: String,
    /// Waves in time order.
    pub waves: Vec<Wave>,
    /// Vectors over all waves, largest first.
    pub vectors: Vec<VectorShare>,
    /// Estimated distinct sources over the incident.
    pub distinct_sources: u64,
    /// Relative standard error of `distinct_sources`.
    pub distinct_sources_error: f64,
    /// Heaviest sources.
    pub top_sources: Vec<(IpAddr, TopEntry)>,
    /// Packets over all waves.
    pub packets: u64,
    /// IP bytes over all waves.
    pub bytes: u64,
    /// Botnet fingerprints (Mirai vectors matched against their stock defaults).
    pub fingerprints: Vec<Fingerprint>,
    /// A uniform sample of the incident's sources (filled by the caller, who reads the
    /// incident's packets again: see [`clean_sample`]): the input of attribution and
    /// campaign linking.
    pub source_sample: Option<SourceSample>,
    /// How `source_sample` was collected: `"first_pass"` (from the hash-sampled source log
    /// kept while reading) or `"second_pass"` (by reading the incident's packets again).
    pub source_sample_collected: Option<&'static str>,
}

impl Incident {
    /// Start of the first wave (ns).
    pub fn start_ns(&self) -> u64 {
        self.waves.first().map_or(0, |w| w.start_ns)
    }
    /// End of the last wave (ns).
    pub fn end_ns(&self) -> u64 {
        self.waves.last().map_or(0, |w| w.end_ns)
    }
}

/// Traffic of `seconds` within `[from, to]`, with the wave's baseline subtracted.
fn measure(
    seconds: &[(u64, Bucket)],
    w: &DetectedWave,
) -> (Wave, WaveTraffic, Hll, SpaceSaving<8>) {
    let mut wave = Wave {
        start_ns: u64::MAX,
        end_ns: 0,
        peak_pps: 0,
        peak_bps: 0,
        packets: 0,
        bytes: 0,
        vectors: Vec::new(),
    };
    let mut classes = [0u64; Class::COUNT];
    let mut traffic = WaveTraffic::default();
    let mut flow_packets = 0u64;
    let mut udp = SparseHist::<UDP_PORT_BINS>::default();
    let mut sources = Hll::new();
    let mut top = SpaceSaving::<8>::new();
    let lo = seconds.partition_point(|e| e.0 < w.start_second);
    let hi = seconds.partition_point(|e| e.0 <= w.end_second);
    for (_, b) in &seconds[lo..hi] {
        wave.start_ns = wave.start_ns.min(b.first_ns);
        wave.end_ns = wave.end_ns.max(b.last_ns);
        wave.peak_pps = wave.peak_pps.max(b.packets);
        wave.peak_bps = wave.peak_bps.max(b.bytes.saturating_mul(8));
        wave.packets = wave.packets.saturating_add(b.packets);
        wave.bytes = wave.bytes.saturating_add(b.bytes);
        for (a, c) in classes.iter_mut().zip(b.classes) {
            *a = a.saturating_add(c);
        }
        traffic.fragments = traffic.fragments.saturating_add(b.fragments);
        flow_packets = flow_packets.saturating_add(b.flow_packets);
        if let Some(a) = &b.app {
            traffic.app.merge(a);
        }
        udp.merge(&b.udp_sports);
        sources.merge(&b.sources);
        top.merge(&b.top_sources.to_summary());
    }
    if wave.start_ns == u64::MAX {
        wave.start_ns = w.start_second * 1_000_000_000;
        wave.end_ns = w.end_second * 1_000_000_000;
    }
    let secs = (w.end_second - w.start_second + 1) as f64;
    for ((e, &c), &base) in traffic
        .excess
        .iter_mut()
        .zip(&classes)
        .zip(&w.baseline_classes)
    {
        *e = (c as f64 - base * secs).max(0.0);
    }
    traffic.packets = wave.packets;
    traffic.classes = classes;
    traffic.payloads_visible = flow_packets * 2 < wave.packets;
    traffic.udp_sports = udp
        .entries()
        .into_iter()
        .map(|(bin, n)| (udp_bin_port(bin), n))
        .collect();
    wave.vectors = classify(&traffic);
    (wave, traffic, sources, top)
}

/// Detect, group and classify incidents of every destination (and every /24 or /64 with
/// traffic spread over several addresses: carpet bombing).
pub fn find_incidents(agg: &Aggregator, cfg: &DetectConfig) -> Vec<Incident> {
    find_incidents_with(agg, cfg, &NetworkTable::default())
}

/// [`find_incidents`] with protected networks whose static thresholds apply besides the
/// learned baselines.
pub fn find_incidents_with(
    agg: &Aggregator,
    cfg: &DetectConfig,
    networks: &NetworkTable,
) -> Vec<Incident> {
    let mut out: Vec<Incident> = Vec::new();
    // Single-address waves as (prefix key, start, end, packets), to tell a flood on one
    // address (which shows in its prefix too) from one spread over the prefix.
    let mut single: Vec<(u128, u64, u64, u64)> = Vec::new();
    let mut prefixes: BTreeMap<(u128, u8), Vec<&Timeline>> = BTreeMap::new();
    let since = agg.first_ns() / 1_000_000_000;
    for (addr, tl) in agg.destinations() {
        let (net, len) = prefix_of(addr);
        // Only targets that ever reach the floor can be hot; most destinations never do.
        let peak = tl.seconds.iter().map(|e| e.1.packets).max().unwrap_or(0);
        let metric_peak = app_metric_peak(tl);
        let thresholds = networks.lookup(addr).map(|n| &n.thresholds);
        if peak as f64 > cfg.min_pps
            || metric_peak as f64 > cfg.min_requests
            || thresholds.is_some()
        {
            let waves = detect_target(cfg, thresholds, tl, since);
            for w in &waves {
                single.push((
                    net,
                    w.start_second,
                    w.end_second,
                    packets_in(&tl.seconds, w),
                ));
            }
            for g in groups(&waves, cfg.incident_gap_seconds) {
                out.push(build(addr.to_string(), tl, g));
            }
        }
        prefixes.entry((net, len)).or_default().push(tl);
    }
    for ((net, len), members) in prefixes {
        // One address cannot be carpet-bombed; its own detection covers it.
        if members.len() < 2 {
            continue;
        }
        let mut tl = Timeline::default();
        for m in &members {
            tl.merge_counts_from(m);
        }
        let peak = tl.seconds.iter().map(|e| e.1.packets).max().unwrap_or(0);
        if peak as f64 <= cfg.min_pps {
            continue;
        }
        // Keep the prefix's waves that no single address carries at least half of.
        let waves: Vec<DetectedWave> = detect_timeline(cfg, &tl.seconds, since)
            .into_iter()
            .filter(|w| {
                let total = packets_in(&tl.seconds, w);
                !single.iter().any(|&(n, s, e, p)| {
                    n == net && s <= w.end_second && w.start_second <= e && p * 2 >= total
                })
            })
            .collect();
        if waves.is_empty() {
            continue;
        }
        // A wave is spread over this prefix: now merge its sources and histograms too.
        let mut full = Timeline::default();
        for m in &members {
            full.merge_from(m);
        }
        let prefix_addr = key_addr(net);
        for g in groups(&waves, cfg.incident_gap_seconds) {
            out.push(build(format!("{prefix_addr}/{len}"), &full, g));
        }
    }
    out.sort_by(|a, b| {
        a.start_ns()
            .cmp(&b.start_ns())
            .then(a.victim.cmp(&b.victim))
    });
    for (i, inc) in out.iter_mut().enumerate() {
        inc.id = i as u32 + 1;
    }
    out
}

/// Clean an incident's source sample of its victim's ordinary clients, which keep talking
/// during an attack: drop the sources `known` recorded before the attack (see
/// [`SourceSample::remove_known`]), and those that sent other kinds of packets than the
/// incident's vectors (a SYN flood's sources send SYNs; a client also sends its
/// connections' ACKs, DNS queries, QUIC) or completed TCP handshakes. Stomp and HTTP floods
/// run over real connections: any TCP is theirs.
pub fn clean_sample(inc: &Incident, sample: &mut SourceSample, known: Option<&SeenSources>) {
    if let Some(k) = known {
        sample.remove_known(k);
    }
    let allowed = vector_kinds(&inc.vectors);
    let connections = allowed & source_flag::ACK != 0 && allowed & source_flag::SYN != 0;
    sample.retain_sources(|s| s.flags & !allowed == 0 && (connections || !s.handshake()));
}

/// The packet kinds ([`source_flag`]) the sources of `vectors` send.
fn vector_kinds(vectors: &[VectorShare]) -> u8 {
    use source_flag::*;
    let mut k = 0;
    for v in vectors {
        k |= match v.name.as_str() {
            "syn_flood" => SYN,
            "ack_flood" => ACK,
            "rst_flood" => RST,
            "syn_ack_reflection" => SYN_ACK,
            "tcp_other_flood" => OTHER | ACK,
            "tcp_stomp" | "http_flood" => SYN | ACK | RST | OTHER,
            "icmp_flood" => ICMP_ERROR | OTHER,
            "gre_flood" | "other_flood" => OTHER,
            // UDP vectors; later fragments count as OTHER.
            _ => UDP | OTHER,
        };
    }
    k
}

/// Application metrics run through the detector besides packets: floods that add little
/// to the packet rate but change what the payloads are (an HTTP flood over real
/// connections, random-subdomain DNS queries). Each is `(events, make-up)` per second.
type AppMetric = fn(&AppCounters) -> (u64, [u64; 2]);

const APP_METRICS: [AppMetric; 2] = [
    |a| {
        (
            a.http_requests,
            [a.http_mirai_ua, a.http_requests - a.http_mirai_ua],
        )
    },
    |a| {
        (
            a.dns_queries,
            [a.dns_random_queries, a.dns_queries - a.dns_random_queries],
        )
    },
];

/// Most events of any application metric in one second.
fn app_metric_peak(tl: &Timeline) -> u64 {
    tl.seconds
        .iter()
        .filter_map(|(_, b)| b.app.as_deref())
        .flat_map(|a| APP_METRICS.iter().map(move |m| m(a).0))
        .max()
        .unwrap_or(0)
}

/// Waves of one target: from its packet rate, plus those only its application metrics
/// show (see [`APP_METRICS`]), which get a packet baseline from the minute before them.
fn detect_target(
    cfg: &DetectConfig,
    thresholds: Option<&Thresholds>,
    tl: &Timeline,
    since: u64,
) -> Vec<DetectedWave> {
    let mut waves = detect_timeline_with(cfg, thresholds, &tl.seconds, since);
    if app_metric_peak(tl) as f64 <= cfg.min_requests {
        return waves;
    }
    let metric_cfg = DetectConfig {
        min_pps: cfg.min_requests,
        ..cfg.clone()
    };
    for metric in APP_METRICS {
        let series: Vec<(u64, SecondCounts)> = tl
            .seconds
            .iter()
            .map(|(s, b)| {
                let (n, mix) = b.app.as_deref().map_or((0, [0, 0]), metric);
                let mut c = SecondCounts {
                    packets: n,
                    ..SecondCounts::default()
                };
                c.classes[0] = mix[0];
                c.classes[1] = mix[1];
                (*s, c)
            })
            .collect();
        if series
            .iter()
            .all(|e| e.1.packets as f64 <= cfg.min_requests)
        {
            continue;
        }
        for mut w in detect_series(&metric_cfg, &series, since) {
            let overlaps = waves
                .iter()
                .any(|p| p.start_second <= w.end_second && w.start_second <= p.end_second);
            if overlaps {
                continue;
            }
            w.baseline_classes = mean_classes(
                &tl.seconds,
                w.start_second.saturating_sub(60),
                w.start_second,
            );
            w.baseline_pps = w.baseline_classes.iter().sum();
            waves.push(w);
        }
    }
    waves.sort_by_key(|w| w.start_second);
    waves
}

/// `w` with its start moved back and its end forward over the adjacent seconds in which
/// `metric` stays above its level in the minute before the wave (3 standard deviations of
/// a Poisson count, at least one event).
fn extend_by_metric(
    seconds: &[(u64, Bucket)],
    w: &DetectedWave,
    metric: fn(&AppCounters) -> u64,
) -> DetectedWave {
    let at = |sec: u64| -> u64 {
        match seconds.binary_search_by_key(&sec, |e| e.0) {
            Ok(i) => seconds[i].1.app.as_deref().map_or(0, metric),
            Err(_) => 0,
        }
    };
    let from = w.start_second.saturating_sub(60);
    let before: u64 = (from..w.start_second).fold(0u64, |t, s| t.saturating_add(at(s)));
    let base = before as f64 / (w.start_second - from).max(1) as f64;
    let floor = base + (3.0 * base.sqrt()).max(1.0);
    let mut out = w.clone();
    while out.start_second > 0
        && w.start_second - out.start_second < 60
        && at(out.start_second - 1) as f64 > floor
    {
        out.start_second -= 1;
    }
    while out.end_second - w.end_second < 60 && at(out.end_second + 1) as f64 > floor {
        out.end_second += 1;
    }
    out
}

/// Mean packets per class per second over `[from, to)` (silent seconds count as zero).
fn mean_classes(seconds: &[(u64, Bucket)], from: u64, to: u64) -> [f64; Class::COUNT] {
    let mut sum = [0f64; Class::COUNT];
    let lo = seconds.partition_point(|e| e.0 < from);
    let hi = seconds.partition_point(|e| e.0 < to);
    for (_, b) in &seconds[lo..hi] {
        for (a, &c) in sum.iter_mut().zip(&b.classes) {
            *a += c as f64;
        }
    }
    let n = to.saturating_sub(from).max(1) as f64;
    sum.map(|x| x / n)
}

/// The /24 (IPv4) or /64 (IPv6) an address belongs to, as a key and a length.
fn prefix_of(addr: IpAddr) -> (u128, u8) {
    let key = addr_key(addr);
    match addr {
        IpAddr::V4(_) => (key & !0xff, 24),
        IpAddr::V6(_) => (key & !((1u128 << 64) - 1), 64),
    }
}

/// Packets of `seconds` within a wave.
fn packets_in(seconds: &[(u64, Bucket)], w: &DetectedWave) -> u64 {
    let lo = seconds.partition_point(|e| e.0 < w.start_second);
    let hi = seconds.partition_point(|e| e.0 <= w.end_second);
    seconds[lo..hi]
        .iter()
        .fold(0u64, |t, e| t.saturating_add(e.1.packets))
}

/// Waves closer than the gap belong to one incident.
fn groups(waves: &[DetectedWave], gap_seconds: u32) -> Vec<&[DetectedWave]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=waves.len() {
        let split = i == waves.len()
            || waves[i].start_second > waves[i - 1].end_second + gap_seconds as u64;
        if split {
            out.push(&waves[start..i]);
            start = i;
        }
    }
    out
}

/// Measure and classify one incident of `victim` made of `waves`.
fn build(victim: String, tl: &Timeline, waves: &[DetectedWave]) -> Incident {
    let seconds = tl.seconds.as_slice();
    let mut inc = Incident {
        id: 0,
        victim,
        waves: Vec::new(),
        vectors: Vec::new(),
        distinct_sources: 0,
        distinct_sources_error: 0.0,
        top_sources: Vec::new(),
        packets: 0,
        bytes: 0,
        fingerprints: Vec::new(),
        source_sample: None,
        source_sample_collected: None,
    };
    let mut sources = Hll::new();
    let mut top = SpaceSaving::<8>::new();
    let mut totals: BTreeMap<String, (u64, Option<u16>)> = BTreeMap::new();
    for w in waves {
        let (mut wave, mut traffic, mut s, mut t) = measure(seconds, w);
        // Floods seen in a payload metric ramp up and down below the packet-rate
        // threshold: follow the metric itself over the ramps.
        let signature: Option<fn(&AppCounters) -> u64> =
            match wave.vectors.first().map(|v| v.name.as_str()) {
                Some("http_flood") => Some(|a| a.http_requests),
                Some("dns_water_torture") => Some(|a| a.dns_random_queries),
                _ => None,
            };
        if let Some(metric) = signature {
            let refined = extend_by_metric(seconds, w, metric);
            if refined != *w {
                (wave, traffic, s, t) = measure(seconds, &refined);
            }
        }
        let _ = traffic;
        sources.merge(&s);
        top.merge(&t);
        inc.packets = inc.packets.saturating_add(wave.packets);
        inc.bytes = inc.bytes.saturating_add(wave.bytes);
        for v in &wave.vectors {
            let e = totals.entry(v.name.clone()).or_insert((0, v.source_port));
            e.0 = e.0.saturating_add(v.packets);
        }
        inc.waves.push(wave);
    }
    let sum: u64 = totals.values().fold(0u64, |t, e| t.saturating_add(e.0));
    inc.vectors = totals
        .into_iter()
        .map(|(name, (packets, port))| VectorShare {
            name,
            share: if sum > 0 {
                packets as f64 / sum as f64
            } else {
                0.0
            },
            packets,
            source_port: port,
        })
        .collect();
    inc.vectors
        .sort_by(|a, b| b.packets.cmp(&a.packets).then(a.name.cmp(&b.name)));
    if let (Some(first), Some(last)) = (waves.first(), waves.last()) {
        inc.fingerprints = tl
            .mirai_between(first.start_second, last.end_second)
            .map_or_else(Vec::new, |(m, packets)| m.verdict(packets));
    }
    // TCP stomp is an ACK/PSH flood over connections the bots completed: the packets are
    // ACKs like any ACK flood's, and the stomp fingerprint (ports and window fixed per
    // connection, the 16-bit seq/ack quirk) is what tells them apart.
    if inc.fingerprints.iter().any(|f| f.vector == "stomp") {
        for v in inc
            .vectors
            .iter_mut()
            .chain(inc.waves.iter_mut().flat_map(|w| w.vectors.iter_mut()))
        {
            if v.name == "ack_flood" {
                v.name = "tcp_stomp".to_string();
            }
        }
    }
    inc.distinct_sources = sources.count();
    inc.distinct_sources_error = distinct_error(inc.distinct_sources);
    inc.top_sources = top
        .top()
        .into_iter()
        .map(|e| (key_addr(e.key), e))
        .collect();
    inc
}
