//! Incidents: detected waves of one target, grouped, measured and classified.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::aggregate::{
    addr_key, key_addr, udp_bin_port, Aggregator, Bucket, Class, SparseHist, Timeline,
    UDP_PORT_BINS,
};
use crate::classify::{classify, VectorShare, WaveTraffic};
use crate::detect::{detect_timeline, DetectConfig, DetectedWave};
use crate::sketch::{Hll, SpaceSaving, TopEntry};
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
    let mut udp = SparseHist::<UDP_PORT_BINS>::default();
    let mut sources = Hll::new();
    let mut top = SpaceSaving::<8>::new();
    let lo = seconds.partition_point(|e| e.0 < w.start_second);
    let hi = seconds.partition_point(|e| e.0 <= w.end_second);
    for (_, b) in &seconds[lo..hi] {
        wave.start_ns = wave.start_ns.min(b.first_ns);
        wave.end_ns = wave.end_ns.max(b.last_ns);
        wave.peak_pps = wave.peak_pps.max(b.packets);
        wave.peak_bps = wave.peak_bps.max(b.bytes * 8);
        wave.packets += b.packets;
        wave.bytes += b.bytes;
        for (a, c) in classes.iter_mut().zip(b.classes) {
            *a += c;
        }
        traffic.fragments += b.fragments;
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
        if peak as f64 > cfg.min_pps {
            let waves = detect_timeline(cfg, &tl.seconds, since);
            for w in &waves {
                single.push((
                    net,
                    w.start_second,
                    w.end_second,
                    packets_in(&tl.seconds, w),
                ));
            }
            for g in groups(&waves, cfg.incident_gap_seconds) {
                out.push(build(addr.to_string(), &tl.seconds, g));
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
            out.push(build(format!("{prefix_addr}/{len}"), &full.seconds, g));
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
    seconds[lo..hi].iter().map(|e| e.1.packets).sum()
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
fn build(victim: String, seconds: &[(u64, Bucket)], waves: &[DetectedWave]) -> Incident {
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
    };
    let mut sources = Hll::new();
    let mut top = SpaceSaving::<8>::new();
    let mut totals: BTreeMap<String, (u64, Option<u16>)> = BTreeMap::new();
    for w in waves {
        let (wave, _traffic, s, t) = measure(seconds, w);
        sources.merge(&s);
        top.merge(&t);
        inc.packets += wave.packets;
        inc.bytes += wave.bytes;
        for v in &wave.vectors {
            let e = totals.entry(v.name.clone()).or_insert((0, v.source_port));
            e.0 += v.packets;
        }
        inc.waves.push(wave);
    }
    let sum: u64 = totals.values().map(|e| e.0).sum();
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
    inc.distinct_sources = sources.count();
    inc.distinct_sources_error = distinct_error(inc.distinct_sources);
    inc.top_sources = top
        .top()
        .into_iter()
        .map(|e| (key_addr(e.key), e))
        .collect();
    inc
}
