//! Per-destination summaries: the figures reports show for a destination over the whole
//! analysed span (totals, peaks, distinct sources, protocol mix, top sources).

use std::net::IpAddr;

use crate::aggregate::{
    key_addr, udp_bin_port, Aggregator, Bucket, Class, SparseHist, Timeline, SIZE_EDGES,
    UDP_PORT_BINS,
};
use crate::sketch::{Hll, SpaceSaving, TopEntry};

/// Summary of one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationSummary {
    /// The destination address.
    pub address: IpAddr,
    /// Packets.
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// First second with traffic (Unix time).
    pub first_second: u64,
    /// Last second with traffic.
    pub last_second: u64,
    /// Seconds with at least one packet.
    pub active_seconds: u64,
    /// Most packets in one second.
    pub peak_pps: u64,
    /// The second of `peak_pps` (earliest on ties).
    pub peak_pps_second: u64,
    /// Most bits in one second.
    pub peak_bps: u64,
    /// The second of `peak_bps` (earliest on ties).
    pub peak_bps_second: u64,
    /// Estimated distinct source addresses over the whole span.
    pub distinct_sources: u64,
    /// Relative standard error of `distinct_sources` (0 when counted exactly).
    pub distinct_sources_error: f64,
    /// Packets per [`Class`].
    pub classes: [u64; Class::COUNT],
    /// Fragmented packets.
    pub fragments: u64,
    /// Heaviest sources by packets (Space-Saving: `count` is an upper bound, `error` its slack).
    pub top_sources: Vec<(IpAddr, TopEntry)>,
    /// TTL / hop-limit histogram, `(ttl, packets)`.
    pub ttl: Vec<(u16, u64)>,
    /// IP-length histogram (bins: `SIZE_EDGES`).
    pub sizes: [u64; SIZE_EDGES.len() + 1],
    /// UDP source-port histogram `(port, packets)` in port order; ports 49151 and 65535
    /// stand for the ranges 1024–49151 and 49152–65535 (see `udp_port_bin`).
    pub udp_sports: Vec<(u16, u64)>,
}

/// Summarise one destination's timeline.
pub fn summarize(address: IpAddr, tl: &Timeline) -> DestinationSummary {
    let mut s = DestinationSummary {
        address,
        packets: 0,
        bytes: 0,
        first_second: tl.seconds.first().map_or(0, |e| e.0),
        last_second: tl.seconds.last().map_or(0, |e| e.0),
        active_seconds: tl.seconds.len() as u64,
        peak_pps: 0,
        peak_pps_second: 0,
        peak_bps: 0,
        peak_bps_second: 0,
        distinct_sources: 0,
        distinct_sources_error: 0.0,
        classes: [0; Class::COUNT],
        fragments: 0,
        top_sources: Vec::new(),
        ttl: Vec::new(),
        sizes: [0; SIZE_EDGES.len() + 1],
        udp_sports: Vec::new(),
    };
    let mut sources = Hll::new();
    let mut top = SpaceSaving::new();
    let mut ttl = SparseHist::<256>::default();
    let mut udp = SparseHist::<UDP_PORT_BINS>::default();
    for (second, b) in &tl.seconds {
        s.packets = s.packets.saturating_add(b.packets);
        s.bytes = s.bytes.saturating_add(b.bytes);
        if b.packets > s.peak_pps {
            s.peak_pps = b.packets;
            s.peak_pps_second = *second;
        }
        if b.bytes.saturating_mul(8) > s.peak_bps {
            s.peak_bps = b.bytes.saturating_mul(8);
            s.peak_bps_second = *second;
        }
        for (a, c) in s.classes.iter_mut().zip(b.classes) {
            *a = a.saturating_add(c);
        }
        s.fragments = s.fragments.saturating_add(b.fragments);
        for (a, c) in s.sizes.iter_mut().zip(b.sizes) {
            *a = a.saturating_add(c);
        }
        sources.merge(&b.sources);
        top.merge(&b.top_sources.to_summary());
        ttl.merge(&b.ttl);
        udp.merge(&b.udp_sports);
    }
    s.distinct_sources = sources.count();
    s.distinct_sources_error = distinct_error(s.distinct_sources);
    s.top_sources = top
        .top()
        .into_iter()
        .map(|e| (key_addr(e.key), e))
        .collect();
    s.ttl = ttl.entries();
    s.udp_sports = udp
        .entries()
        .into_iter()
        .map(|(bin, n)| (udp_bin_port(bin), n))
        .collect();
    s
}

/// Relative standard error to quote for a distinct-count estimate (see
/// [`Hll::relative_error`]): about 0.55 % for small counts, 0.81 % for large ones.
pub fn distinct_error(estimate: u64) -> f64 {
    Hll::relative_error(estimate)
}

/// Distinct sources seen in one bucket.
pub fn bucket_sources(b: &Bucket) -> u64 {
    b.sources.count()
}

/// The `n` busiest destinations by packets (ties: lower address first), summarised.
pub fn top_destinations(agg: &Aggregator, n: usize) -> Vec<DestinationSummary> {
    let mut ranked: Vec<(IpAddr, &Timeline, u64)> = agg
        .destinations()
        .into_iter()
        .map(|(a, t)| (a, t, t.packets()))
        .collect();
    ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    ranked
        .into_iter()
        .take(n)
        .map(|(a, t, _)| summarize(a, t))
        .collect()
}
