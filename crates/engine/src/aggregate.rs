//! Aggregation: observations → per-destination, per-second [`Bucket`]s.
//!
//! An [`Aggregator`] holds one [`Timeline`] per destination address. Aggregators built from
//! consecutive chunks of a capture merge into one (`Aggregator::merge`); counters,
//! histograms and HyperLogLog merges are exact, so only the Space-Saving top lists depend
//! on how the input was chunked — and callers chunk by fixed byte boundaries, not by
//! thread count, so results are identical however many threads run.
//!
//! Memory is bounded by the number of (destination, second) buckets, never by sources:
//! sources only enter sketches of fixed maximum size.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::IpAddr;

use floodtrace_wire::observe::{Encap, Fragment, Observation};
use floodtrace_wire::transport::{self, tcp_flag};

use crate::sketch::{Hll, SpaceSaving};

/// Heavy-hitter counters per bucket.
pub const TOP_K: usize = 8;

/// Traffic classes; every IP packet is counted in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(usize)]
pub enum Class {
    /// TCP with SYN and without ACK.
    TcpSyn,
    /// TCP with SYN and ACK.
    TcpSynAck,
    /// TCP with ACK (optionally PSH/URG) and no SYN, RST or FIN.
    TcpAck,
    /// TCP with RST.
    TcpRst,
    /// Any other TCP flag combination (FIN, null, xmas, …) or a cut TCP header.
    TcpOther,
    /// UDP.
    Udp,
    /// ICMP and ICMPv6.
    Icmp,
    /// GRE.
    Gre,
    /// A non-first fragment (no transport header to classify).
    Fragment,
    /// Any other IP protocol.
    Other,
}

impl Class {
    /// Number of classes.
    pub const COUNT: usize = 10;
    /// All classes in order.
    pub const ALL: [Class; Class::COUNT] = [
        Class::TcpSyn,
        Class::TcpSynAck,
        Class::TcpAck,
        Class::TcpRst,
        Class::TcpOther,
        Class::Udp,
        Class::Icmp,
        Class::Gre,
        Class::Fragment,
        Class::Other,
    ];

    /// Stable snake_case name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Class::TcpSyn => "tcp_syn",
            Class::TcpSynAck => "tcp_syn_ack",
            Class::TcpAck => "tcp_ack",
            Class::TcpRst => "tcp_rst",
            Class::TcpOther => "tcp_other",
            Class::Udp => "udp",
            Class::Icmp => "icmp",
            Class::Gre => "gre",
            Class::Fragment => "fragment",
            Class::Other => "other",
        }
    }

    /// The class of an observation.
    #[inline]
    pub fn of(obs: &Observation) -> Class {
        if obs.fragment == Fragment::Later {
            return Class::Fragment;
        }
        match obs.proto {
            transport::PROTO_TCP => {
                let f = obs.tcp_flags;
                if f & tcp_flag::RST != 0 {
                    Class::TcpRst
                } else if f & tcp_flag::SYN != 0 {
                    if f & tcp_flag::ACK != 0 {
                        Class::TcpSynAck
                    } else {
                        Class::TcpSyn
                    }
                } else if f & tcp_flag::ACK != 0 && f & tcp_flag::FIN == 0 {
                    Class::TcpAck
                } else {
                    Class::TcpOther
                }
            }
            transport::PROTO_UDP => Class::Udp,
            transport::PROTO_ICMP | transport::PROTO_ICMPV6 => Class::Icmp,
            transport::PROTO_GRE => Class::Gre,
            _ => Class::Other,
        }
    }
}

/// An address as a 128-bit key: IPv4 is mapped into `::ffff:0:0/96`.
#[inline]
pub fn addr_key(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => 0xffff_0000_0000 | u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of a 128-bit key (inverse of [`addr_key`]).
pub fn key_addr(k: u128) -> IpAddr {
    let v6 = std::net::Ipv6Addr::from(k);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

/// Upper edges (inclusive) of the IP-length histogram bins; the last bin is open.
pub const SIZE_EDGES: [u32; 9] = [64, 128, 256, 512, 768, 1024, 1280, 1500, 9000];

/// Bin of an IP length in [`SIZE_EDGES`].
#[inline]
pub fn size_bin(len: u32) -> usize {
    SIZE_EDGES.iter().position(|&e| len <= e).unwrap_or(SIZE_EDGES.len())
}

/// A histogram over `u16` keys kept as a sorted list (small when few keys occur).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SparseHist {
    entries: Vec<(u16, u64)>,
}

impl SparseHist {
    /// Count `weight` under `key`.
    #[inline]
    pub fn add(&mut self, key: u16, weight: u64) {
        match self.entries.binary_search_by_key(&key, |e| e.0) {
            Ok(i) => self.entries[i].1 += weight,
            Err(i) => self.entries.insert(i, (key, weight)),
        }
    }

    /// Add all counts of another histogram.
    pub fn merge(&mut self, other: &SparseHist) {
        for &(k, w) in &other.entries {
            self.add(k, w);
        }
    }

    /// `(key, count)` in key order.
    pub fn entries(&self) -> &[(u16, u64)] {
        &self.entries
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Bin of a UDP source port for the reflection histogram: ports below 1024 and well-known
/// amplification ports keep their own number; others fall into two ranges, so the
/// histogram stays bounded (≈1,050 keys at most) and merges exactly.
#[inline]
pub fn udp_port_bin(port: u16) -> u16 {
    const KEPT: [u16; 20] = [
        1194, 1434, 1900, 3283, 3478, 3702, 4500, 5060, 5093, 5353, 5683, 10001, 11211, 17185,
        26000, 27015, 30718, 33848, 37810, 47808,
    ];
    if port < 1024 || KEPT.contains(&port) {
        port
    } else if port < 49152 {
        PORT_BIN_REGISTERED
    } else {
        PORT_BIN_EPHEMERAL
    }
}

/// Histogram key standing for "any other port 1024–49151".
pub const PORT_BIN_REGISTERED: u16 = 49151;
/// Histogram key standing for "any other port 49152–65535".
pub const PORT_BIN_EPHEMERAL: u16 = 65535;

/// One destination during one second.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bucket {
    /// Packets (records; × sampling for flows).
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Packets per [`Class`].
    pub classes: [u64; Class::COUNT],
    /// Fragmented packets (first and later fragments).
    pub fragments: u64,
    /// Packets carried in GRE whose inner packet was decoded.
    pub encapsulated: u64,
    /// Distinct sources.
    pub sources: Hll,
    /// Heaviest sources by packets.
    pub top_sources: SpaceSaving<TOP_K>,
    /// TTL / hop-limit histogram.
    pub ttl: SparseHist,
    /// IP length histogram over [`SIZE_EDGES`].
    pub sizes: [u64; SIZE_EDGES.len() + 1],
    /// UDP source ports, binned by [`udp_port_bin`].
    pub udp_sports: SparseHist,
}

impl Bucket {
    /// Count one observation.
    #[inline]
    pub fn add(&mut self, obs: &Observation, src_key: u128) {
        let n = obs.packets;
        self.packets += n;
        self.bytes += obs.bytes;
        let class = Class::of(obs);
        self.classes[class as usize] += n;
        if obs.fragment != Fragment::None {
            self.fragments += n;
        }
        if obs.encap != Encap::None && obs.inner.proto != 0 {
            self.encapsulated += n;
        }
        self.sources.insert(src_key);
        self.top_sources.insert(src_key, n);
        self.ttl.add(obs.ttl as u16, n);
        self.sizes[size_bin(obs.ip_len)] += n;
        if class == Class::Udp {
            self.udp_sports.add(udp_port_bin(obs.sport), n);
        }
    }

    /// Merge another bucket of the same destination and second.
    pub fn merge(&mut self, other: &Bucket) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        for (a, b) in self.classes.iter_mut().zip(other.classes) {
            *a += b;
        }
        self.fragments += other.fragments;
        self.encapsulated += other.encapsulated;
        self.sources.merge(&other.sources);
        self.top_sources.merge(&other.top_sources);
        self.ttl.merge(&other.ttl);
        for (a, b) in self.sizes.iter_mut().zip(other.sizes) {
            *a += b;
        }
        self.udp_sports.merge(&other.udp_sports);
    }
}

/// The per-second buckets of one destination, in time order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeline {
    /// `(unix second, bucket)`, sorted by second, one entry per second with traffic.
    pub seconds: Vec<(u64, Bucket)>,
}

impl Timeline {
    #[inline]
    fn bucket_mut(&mut self, second: u64) -> &mut Bucket {
        // Captures are nearly time-ordered: the last bucket is the usual hit.
        let last_matches = matches!(self.seconds.last(), Some((s, _)) if *s == second);
        if !last_matches {
            match self.seconds.binary_search_by_key(&second, |e| e.0) {
                Ok(i) => return &mut self.seconds[i].1,
                Err(i) => {
                    self.seconds.insert(i, (second, Bucket::default()));
                    return &mut self.seconds[i].1;
                }
            }
        }
        let last = self.seconds.len() - 1;
        &mut self.seconds[last].1
    }

    /// Merge another timeline of the same destination.
    pub fn merge(&mut self, other: &Timeline) {
        for (second, b) in &other.seconds {
            self.bucket_mut(*second).merge(b);
        }
    }

    /// Total packets.
    pub fn packets(&self) -> u64 {
        self.seconds.iter().map(|(_, b)| b.packets).sum()
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<AddrHasher>>;

/// A hasher for `u128` address keys (the std SipHash is several times slower here, and
/// keys are not attacker-chosen beyond what the mix below absorbs).
#[derive(Default)]
pub struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u128(&mut self, k: u128) {
        self.0 = crate::sketch::hash128(k, 0x243f_6a88_85a3_08d3);
    }
}

/// Totals over every observation given to an aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// IP packets.
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Packets per class.
    pub classes: [u64; Class::COUNT],
    /// Earliest timestamp (ns), `u64::MAX` when empty.
    pub first_ns: u64,
    /// Latest timestamp (ns).
    pub last_ns: u64,
}

impl Totals {
    fn empty() -> Self {
        Totals {
            first_ns: u64::MAX,
            ..Totals::default()
        }
    }
}

/// Builds per-destination timelines from observations.
#[derive(Debug, Clone)]
pub struct Aggregator {
    dests: FastMap<u128, Timeline>,
    totals: Totals,
}

impl Default for Aggregator {
    fn default() -> Self {
        Aggregator::new()
    }
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Aggregator {
            dests: FastMap::default(),
            totals: Totals::empty(),
        }
    }

    /// Count one observation.
    #[inline]
    pub fn add(&mut self, obs: &Observation) {
        let t = &mut self.totals;
        t.packets += obs.packets;
        t.bytes += obs.bytes;
        t.classes[Class::of(obs) as usize] += obs.packets;
        t.first_ns = t.first_ns.min(obs.ts_ns);
        t.last_ns = t.last_ns.max(obs.ts_ns);
        let second = obs.ts_ns / 1_000_000_000;
        let src = addr_key(obs.src);
        self.dests
            .entry(addr_key(obs.dst))
            .or_default()
            .bucket_mut(second)
            .add(obs, src);
    }

    /// Merge an aggregator built from the data that follows this one's.
    pub fn merge(&mut self, other: Aggregator) {
        let t = &mut self.totals;
        let o = other.totals;
        t.packets += o.packets;
        t.bytes += o.bytes;
        for (a, b) in t.classes.iter_mut().zip(o.classes) {
            *a += b;
        }
        t.first_ns = t.first_ns.min(o.first_ns);
        t.last_ns = t.last_ns.max(o.last_ns);
        for (dst, tl) in other.dests {
            match self.dests.get_mut(&dst) {
                Some(mine) => mine.merge(&tl),
                None => {
                    self.dests.insert(dst, tl);
                }
            }
        }
    }

    /// Totals so far.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Number of distinct destinations.
    pub fn destination_count(&self) -> usize {
        self.dests.len()
    }

    /// Timeline of one destination.
    pub fn timeline(&self, dst: IpAddr) -> Option<&Timeline> {
        self.dests.get(&addr_key(dst))
    }

    /// All destinations with their timelines, in address order (deterministic).
    pub fn destinations(&self) -> Vec<(IpAddr, &Timeline)> {
        let mut v: Vec<(u128, &Timeline)> = self.dests.iter().map(|(k, t)| (*k, t)).collect();
        v.sort_unstable_by_key(|e| e.0);
        v.into_iter().map(|(k, t)| (key_addr(k), t)).collect()
    }
}
