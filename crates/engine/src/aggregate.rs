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

use std::net::IpAddr;

use hashbrown::HashTable;

use floodtrace_wire::observe::{Encap, Fragment, Observation, Origin};
use floodtrace_wire::peek::{AppHint, LabelClass, REFLECTION_SOURCE_PORTS};
use floodtrace_wire::transport::{self, tcp_flag};

use crate::fingerprint::{self, MiraiEvidence, ScannerTracker};
use crate::sketch::{source_log, Hll, SourceLog, SpaceSaving};

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
    // Count of edges below `len`: branch-free, and equal to the first edge ≥ `len`.
    SIZE_EDGES.iter().map(|&e| (len > e) as usize).sum()
}

/// A histogram over keys `0..N`: a short sorted list while few keys occur (most buckets
/// of a capture), an array once it grows. Both forms hold the same counts, so merges and
/// output never depend on which form a histogram is in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SparseHist<const N: usize> {
    sparse: Vec<(u16, u64)>,
    dense: Option<Box<[u64]>>,
}

/// Keys a [`SparseHist`] lists before switching to an array.
const HIST_SPARSE_MAX: usize = 16;

impl<const N: usize> SparseHist<N> {
    /// Count `weight` under `key` (`key < N`).
    #[inline]
    pub fn add(&mut self, key: u16, weight: u64) {
        if let Some(d) = &mut self.dense {
            let c = &mut d[key as usize % N];
            *c = c.saturating_add(weight);
            return;
        }
        match self.sparse.iter().position(|e| e.0 == key) {
            Some(i) => {
                let c = &mut self.sparse[i].1;
                *c = c.saturating_add(weight);
            }
            None => {
                self.sparse.push((key, weight));
                if self.sparse.len() > HIST_SPARSE_MAX {
                    let mut d = vec![0u64; N].into_boxed_slice();
                    for (k, w) in self.sparse.drain(..) {
                        let c = &mut d[k as usize % N];
                        *c = c.saturating_add(w);
                    }
                    self.sparse = Vec::new();
                    self.dense = Some(d);
                }
            }
        }
    }

    /// Add all counts of another histogram.
    pub fn merge(&mut self, other: &SparseHist<N>) {
        match &other.dense {
            Some(d) => {
                for (k, &w) in d.iter().enumerate() {
                    if w > 0 {
                        self.add(k as u16, w);
                    }
                }
            }
            None => {
                for &(k, w) in &other.sparse {
                    self.add(k, w);
                }
            }
        }
    }

    /// `(key, count)` in key order, non-zero counts only.
    pub fn entries(&self) -> Vec<(u16, u64)> {
        match &self.dense {
            Some(d) => d
                .iter()
                .enumerate()
                .filter(|(_, &w)| w > 0)
                .map(|(k, &w)| (k as u16, w))
                .collect(),
            None => {
                let mut v = self.sparse.clone();
                v.sort_unstable_by_key(|e| e.0);
                v
            }
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.dense.is_none() && self.sparse.is_empty()
    }
}

/// UDP source ports that keep their own bin although they are ≥ 1024: well-known
/// amplification and reflection services.
pub const KEPT_UDP_PORTS: [u16; 20] = [
    1194, 1434, 1900, 3283, 3478, 3702, 4500, 5060, 5093, 5353, 5683, 10001, 11211, 17185, 26000,
    27015, 30718, 33848, 37810, 47808,
];

/// Number of UDP source-port bins: ports 0–1023, [`KEPT_UDP_PORTS`], and two ranges.
pub const UDP_PORT_BINS: usize = 1024 + KEPT_UDP_PORTS.len() + 2;

/// Bin index of a UDP source port for the reflection histogram: ports below 1024 and
/// well-known amplification ports keep their own bin; others fall into two ranges, so the
/// histogram stays bounded and merges exactly. See [`udp_bin_port`] for the inverse.
#[inline]
pub fn udp_port_bin(port: u16) -> u16 {
    // A match compiles to a few compares; most flood ports are random high ports that
    // must be rejected quickly.
    let kept = match port {
        0..=1023 => return port,
        1194 => 0,
        1434 => 1,
        1900 => 2,
        3283 => 3,
        3478 => 4,
        3702 => 5,
        4500 => 6,
        5060 => 7,
        5093 => 8,
        5353 => 9,
        5683 => 10,
        10001 => 11,
        11211 => 12,
        17185 => 13,
        26000 => 14,
        27015 => 15,
        30718 => 16,
        33848 => 17,
        37810 => 18,
        47808 => 19,
        1024..=49151 => return (UDP_PORT_BINS - 2) as u16,
        _ => return (UDP_PORT_BINS - 1) as u16,
    };
    1024 + kept
}

/// The port a bin stands for: the port itself, or [`PORT_BIN_REGISTERED`] /
/// [`PORT_BIN_EPHEMERAL`] for the two ranges.
pub fn udp_bin_port(bin: u16) -> u16 {
    let b = bin as usize;
    if b < 1024 {
        bin
    } else if b < 1024 + KEPT_UDP_PORTS.len() {
        KEPT_UDP_PORTS[b - 1024]
    } else if b == UDP_PORT_BINS - 2 {
        PORT_BIN_REGISTERED
    } else {
        PORT_BIN_EPHEMERAL
    }
}

#[cfg(test)]
mod merge_tests {
    use super::*;
    use floodtrace_wire::Observation;

    #[test]
    fn merging_two_halves_equals_one_bucket() {
        let obs: Vec<Observation> = (0..40u32)
            .map(|i| {
                let src = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i % 7));
                let mut o = Observation::new(1_000 + i as u64, src, "192.0.2.1".parse().unwrap());
                o.proto = if i % 3 == 0 { 17 } else { 6 };
                o.tcp_flags = 0x02;
                o.sport = 53;
                o.ttl = 50 + (i % 5) as u8;
                o.ip_len = 60 + 100 * (i % 4);
                o.bytes = o.ip_len as u64;
                o
            })
            .collect();
        let mut whole = Bucket::default();
        let mut a = Bucket::default();
        let mut b = Bucket::default();
        for (i, o) in obs.iter().enumerate() {
            let class = Class::of(o);
            whole.add(o, class, addr_key(o.src));
            if i < 20 { &mut a } else { &mut b }.add(o, class, addr_key(o.src));
        }
        a.merge(&b);
        assert_eq!(a.packets, whole.packets);
        assert_eq!(a.classes, whole.classes);
        assert_eq!(a.sizes, whole.sizes);
        assert_eq!(a.ttl.entries(), whole.ttl.entries());
        assert_eq!(a.udp_sports.entries(), whole.udp_sports.entries());
        assert_eq!((a.first_ns, a.last_ns), (whole.first_ns, whole.last_ns));
        assert_eq!(a.sources.count(), whole.sources.count());
    }
}

#[cfg(test)]
mod port_bin_tests {
    use super::*;

    #[test]
    fn bins_round_trip() {
        for (i, &p) in KEPT_UDP_PORTS.iter().enumerate() {
            assert_eq!(udp_port_bin(p), 1024 + i as u16);
            assert_eq!(udp_bin_port(udp_port_bin(p)), p);
        }
        for p in [0u16, 53, 123, 1023] {
            assert_eq!(udp_bin_port(udp_port_bin(p)), p);
        }
        assert_eq!(udp_bin_port(udp_port_bin(1024)), PORT_BIN_REGISTERED);
        assert_eq!(udp_bin_port(udp_port_bin(49151)), PORT_BIN_REGISTERED);
        assert_eq!(udp_bin_port(udp_port_bin(49152)), PORT_BIN_EPHEMERAL);
        assert_eq!(udp_bin_port(udp_port_bin(65535)), PORT_BIN_EPHEMERAL);
        assert!((0..=u16::MAX).all(|p| (udp_port_bin(p) as usize) < UDP_PORT_BINS));
    }

    /// A UDP header cut before its ports (/tmp/rev-exact's `d4_udp_cut.pcap`: NTP from
    /// port 123 cut 1 byte into the header) counts as UDP but not as source port 0.
    #[test]
    fn cut_udp_header_has_no_source_port() {
        let frame = [
            0x45, 0, 0, 0x26, 0, 1, 0, 0, 64, 17, 0xae, 0xba, 192, 0, 2, 1, 10, 4, 0, 7, 0,
        ];
        let Ok(floodtrace_wire::Frame::Ip(obs)) =
            floodtrace_wire::observe_frame(228, &frame, 0, 38)
        else {
            panic!()
        };
        assert!(!obs.ports_known());
        let mut b = Bucket::default();
        b.add(&obs, Class::of(&obs), 1);
        let mut whole = obs;
        whole.flags = 0;
        whole.sport = 123;
        b.add(&whole, Class::of(&whole), 1);
        assert_eq!(b.classes[Class::Udp as usize], 2);
        assert_eq!(b.udp_sports.entries(), [(123, 1)]);
    }
}

/// Port number standing for "any other port 1024–49151".
pub const PORT_BIN_REGISTERED: u16 = 49151;
/// Port number standing for "any other port 49152–65535".
pub const PORT_BIN_EPHEMERAL: u16 = 65535;

/// Heavy-hitter sources of one bucket. Most buckets of a capture see one or two sources,
/// so those are counted inline (exactly); the third distinct source moves them into a
/// boxed [`SpaceSaving`]. A Space-Saving summary holding at most two keys is exact too, so
/// the two forms give identical results and merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopSources {
    /// Up to two sources, exact counts.
    Few {
        /// Used slots.
        len: u8,
        /// Source keys.
        keys: [u128; 2],
        /// Packet counts.
        counts: [u64; 2],
    },
    /// A full summary.
    Many(Box<SpaceSaving<TOP_K>>),
}

impl Default for TopSources {
    fn default() -> Self {
        TopSources::Few {
            len: 0,
            keys: [0; 2],
            counts: [0; 2],
        }
    }
}

impl TopSources {
    /// Count `weight` packets from `key`.
    #[inline]
    pub fn insert(&mut self, key: u128, weight: u64) {
        match self {
            TopSources::Many(ss) => ss.insert(key, weight),
            TopSources::Few { len, keys, counts } => {
                for i in 0..*len as usize {
                    if keys[i] == key {
                        counts[i] = counts[i].saturating_add(weight);
                        return;
                    }
                }
                if (*len as usize) < 2 {
                    keys[*len as usize] = key;
                    counts[*len as usize] = weight;
                    *len += 1;
                    return;
                }
                let mut ss = self.to_summary();
                ss.insert(key, weight);
                *self = TopSources::Many(Box::new(ss));
            }
        }
    }

    /// The same counts as a Space-Saving summary.
    pub fn to_summary(&self) -> SpaceSaving<TOP_K> {
        match self {
            TopSources::Many(ss) => (**ss).clone(),
            TopSources::Few { len, keys, counts } => {
                let mut ss = SpaceSaving::new();
                for i in 0..*len as usize {
                    ss.insert(keys[i], counts[i]);
                }
                ss
            }
        }
    }

    /// Merge another bucket's sources.
    pub fn merge(&mut self, other: &TopSources) {
        if let TopSources::Few { len, keys, counts } = other {
            if let TopSources::Few { .. } = self {
                // Same as inserting: exact while the union fits, a summary after.
                for i in 0..*len as usize {
                    self.insert(keys[i], counts[i]);
                }
                return;
            }
        }
        // A full summary merges in place, and one merged in is read where it is: no
        // copies or allocations for the buckets that already hold summaries.
        let converted;
        let theirs: &SpaceSaving<TOP_K> = match other {
            TopSources::Many(ss) => ss,
            few => {
                converted = few.to_summary();
                &converted
            }
        };
        match self {
            TopSources::Many(mine) => mine.merge(theirs),
            TopSources::Few { .. } => {
                let mut mine = self.to_summary();
                mine.merge(theirs);
                *self = TopSources::Many(Box::new(mine));
            }
        }
    }
}

/// What the payloads towards one destination in one second were (from
/// [`Observation::app`]). Boxed in a [`Bucket`] on the first payload that counts, so the
/// many buckets that never see one stay small.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppCounters {
    /// DNS queries.
    pub dns_queries: u64,
    /// DNS queries whose leftmost label looks machine-generated (hexadecimal, random
    /// alphanumerics or Mirai's alphabet): the random subdomains of water torture.
    pub dns_random_queries: u64,
    /// The parent zone most of the random-label queries ask under: `(domain hash, count)`
    /// kept by a one-slot Misra–Gries summary (the count is a lower bound of its excess).
    pub dns_random_zone: (u32, u64),
    /// Segments starting with an HTTP request line.
    pub http_requests: u64,
    /// HTTP requests carrying one of Mirai's five user agents.
    pub http_mirai_ua: u64,
    /// Packets from a reflection service's port whose payload is that service's answer, in
    /// [`REFLECTION_SOURCE_PORTS`] order: a flood borrowing port 53 is not DNS reflection.
    pub reflection_confirmed: [u64; REFLECTION_SOURCE_PORTS.len()],
}

impl AppCounters {
    /// Count one observation's payload hint (`n` packets).
    #[inline]
    fn add(&mut self, obs: &Observation, n: u64) {
        match obs.app {
            AppHint::DnsQuery {
                first_label_class,
                parent_hash,
                ..
            } if obs.dport == 53 => {
                self.dns_queries = self.dns_queries.saturating_add(n);
                if matches!(
                    first_label_class,
                    LabelClass::Hex | LabelClass::RandomAlnum | LabelClass::MiraiAlphabet
                ) {
                    self.dns_random_queries = self.dns_random_queries.saturating_add(n);
                    let z = &mut self.dns_random_zone;
                    if z.0 == parent_hash || z.1 == 0 {
                        *z = (parent_hash, z.1 + n);
                    } else {
                        z.1 = z.1.saturating_sub(n);
                    }
                }
            }
            AppHint::HttpRequest { mirai_ua, .. } => {
                self.http_requests = self.http_requests.saturating_add(n);
                self.http_mirai_ua = self.http_mirai_ua.saturating_add(n * mirai_ua as u64);
            }
            hint => {
                if let Some(i) = reflection_answer(obs.sport, hint) {
                    let c = &mut self.reflection_confirmed[i];
                    *c = c.saturating_add(n);
                }
            }
        }
    }

    /// Add another bucket's counts (the zone summary merges as Misra–Gries does).
    pub fn merge(&mut self, o: &AppCounters) {
        self.dns_queries = self.dns_queries.saturating_add(o.dns_queries);
        self.dns_random_queries = self.dns_random_queries.saturating_add(o.dns_random_queries);
        let (a, b) = (self.dns_random_zone, o.dns_random_zone);
        self.dns_random_zone = if a.0 == b.0 || a.1 == 0 {
            (b.0, a.1 + b.1)
        } else if b.1 > a.1 {
            (b.0, b.1 - a.1)
        } else {
            (a.0, a.1 - b.1)
        };
        self.http_requests = self.http_requests.saturating_add(o.http_requests);
        self.http_mirai_ua = self.http_mirai_ua.saturating_add(o.http_mirai_ua);
        for (a, b) in self
            .reflection_confirmed
            .iter_mut()
            .zip(o.reflection_confirmed)
        {
            *a = a.saturating_add(b);
        }
    }
}

/// The index in [`REFLECTION_SOURCE_PORTS`] of the service whose answer `hint` is, when
/// it came from that service's port. ARD (3283) has no payload check and is judged by
/// port alone.
#[inline]
pub fn reflection_answer(sport: u16, hint: AppHint) -> Option<usize> {
    let ok = match (sport, hint) {
        (19, AppHint::ChargenData) => true,
        (53 | 137, AppHint::DnsResponse { .. }) => true,
        (69, AppHint::TftpData { .. }) => true,
        (111, AppHint::RpcReply) => true,
        (123, AppHint::NtpMonlist { response: true }) => true,
        (123, AppHint::NtpMode(m)) => m != 3,
        (161, AppHint::SnmpResponse) => true,
        (389, AppHint::CldapResponse) => true,
        (520, AppHint::RipResponse) => true,
        (1900, AppHint::SsdpResponse) => true,
        (3283, _) => true,
        (3478, AppHint::Stun { .. }) => true,
        (3702, AppHint::WsdResponse) => true,
        (5683, AppHint::CoapResponse { .. }) => true,
        (11211, AppHint::MemcachedResponse { .. }) => true,
        _ => false,
    };
    if !ok {
        return None;
    }
    REFLECTION_SOURCE_PORTS.iter().position(|&p| p == sport)
}

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
    /// Packets counted from flow records (no payloads or per-packet headers behind them).
    pub flow_packets: u64,
    /// Distinct sources.
    pub sources: Hll,
    /// Heaviest sources by packets.
    pub top_sources: TopSources,
    /// TTL / hop-limit histogram.
    pub ttl: SparseHist<256>,
    /// IP length histogram over [`SIZE_EDGES`].
    pub sizes: [u64; SIZE_EDGES.len() + 1],
    /// UDP source ports, binned by [`udp_port_bin`].
    pub udp_sports: SparseHist<UDP_PORT_BINS>,
    /// Timestamp of the first packet (ns; `u64::MAX` when empty).
    pub first_ns: u64,
    /// Timestamp of the last packet (ns).
    pub last_ns: u64,
    /// Payload counts, once a payload the analysis reads arrived.
    pub app: Option<Box<AppCounters>>,
}

impl Bucket {
    /// Count one observation of traffic class `class` (see [`Class::of`]).
    #[inline]
    pub fn add(&mut self, obs: &Observation, class: Class, src_key: u128) {
        let n = obs.packets;
        if self.packets == 0 {
            self.first_ns = obs.ts_ns;
        }
        self.first_ns = self.first_ns.min(obs.ts_ns);
        self.last_ns = self.last_ns.max(obs.ts_ns);
        self.packets = self.packets.saturating_add(n);
        self.bytes = self.bytes.saturating_add(obs.bytes);
        let c = &mut self.classes[class as usize];
        *c = c.saturating_add(n);
        if obs.fragment != Fragment::None {
            self.fragments = self.fragments.saturating_add(n);
        }
        if obs.encap != Encap::None && obs.inner.proto != 0 {
            self.encapsulated = self.encapsulated.saturating_add(n);
        }
        if obs.origin == Origin::Flow {
            self.flow_packets = self.flow_packets.saturating_add(n);
        }
        self.sources.insert(src_key);
        self.top_sources.insert(src_key, n);
        self.ttl.add(obs.ttl as u16, n);
        let size = &mut self.sizes[size_bin(obs.ip_len)];
        *size = size.saturating_add(n);
        // A UDP header cut before its ports has no source port: port 0 would be a lie.
        if class == Class::Udp && obs.ports_known() {
            self.udp_sports.add(udp_port_bin(obs.sport), n);
        }
        if obs.app != AppHint::None {
            self.app.get_or_insert_with(Default::default).add(obs, n);
        }
    }

    /// The payload counts (zero when none arrived).
    pub fn app_counters(&self) -> AppCounters {
        self.app.as_deref().cloned().unwrap_or_default()
    }

    /// Merge only the counters of another bucket (see [`Timeline::merge_counts_from`]).
    pub fn merge_counts(&mut self, other: &Bucket) {
        if other.packets > 0 {
            self.first_ns = if self.packets == 0 {
                other.first_ns
            } else {
                self.first_ns.min(other.first_ns)
            };
            self.last_ns = self.last_ns.max(other.last_ns);
        }
        self.packets = self.packets.saturating_add(other.packets);
        self.bytes = self.bytes.saturating_add(other.bytes);
        for (a, b) in self.classes.iter_mut().zip(other.classes) {
            *a = a.saturating_add(b);
        }
        self.fragments = self.fragments.saturating_add(other.fragments);
        self.encapsulated = self.encapsulated.saturating_add(other.encapsulated);
        self.flow_packets = self.flow_packets.saturating_add(other.flow_packets);
        for (a, b) in self.sizes.iter_mut().zip(other.sizes) {
            *a = a.saturating_add(b);
        }
    }

    /// Merge another bucket of the same destination and second.
    pub fn merge(&mut self, other: &Bucket) {
        self.merge_counts(other);
        self.sources.merge(&other.sources);
        self.top_sources.merge(&other.top_sources);
        self.ttl.merge(&other.ttl);
        self.udp_sports.merge(&other.udp_sports);
        if let Some(o) = &other.app {
            self.app.get_or_insert_with(Default::default).merge(o);
        }
    }
}

/// The per-second buckets of one destination, in time order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeline {
    /// `(unix second, bucket)`, sorted by second, one entry per second with traffic.
    pub seconds: Vec<(u64, Bucket)>,
    /// Mirai evidence per [`EVIDENCE_EPOCH_SECONDS`] epoch `(epoch, evidence)`, sorted,
    /// for epochs in which a packet matched a vector. Coarser than seconds because the
    /// per-attack checks need many packets and the evidence is a few KiB; an incident
    /// merges the epochs it overlaps.
    pub mirai: Vec<(u64, Box<MiraiEvidence>)>,
}

/// Length of the epochs Mirai evidence is kept in (see [`Timeline::mirai`]).
pub const EVIDENCE_EPOCH_SECONDS: u64 = 10;

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

    fn merge_mirai(&mut self, other: &[(u64, Box<MiraiEvidence>)]) {
        for (epoch, o) in other {
            match self.mirai.binary_search_by_key(epoch, |e| e.0) {
                Ok(i) => self.mirai[i].1.merge(o),
                Err(i) => self.mirai.insert(i, (*epoch, o.clone())),
            }
        }
    }

    /// The evidence of epoch `epoch`, created when `create`.
    #[inline]
    fn evidence_mut(&mut self, epoch: u64, create: bool) -> Option<&mut MiraiEvidence> {
        let i = match self.mirai.last() {
            Some((e, _)) if *e == epoch => self.mirai.len() - 1,
            _ => match self.mirai.binary_search_by_key(&epoch, |e| e.0) {
                Ok(i) => i,
                Err(i) if create => {
                    self.mirai.insert(i, (epoch, Box::default()));
                    i
                }
                Err(_) => return None,
            },
        };
        Some(&mut self.mirai[i].1)
    }

    /// Mirai evidence of the epochs overlapping seconds `from..=to`, with the packets of
    /// those epochs (the denominator of its shares); `None` when nothing matched.
    pub fn mirai_between(&self, from: u64, to: u64) -> Option<(MiraiEvidence, u64)> {
        let (e0, e1) = (from / EVIDENCE_EPOCH_SECONDS, to / EVIDENCE_EPOCH_SECONDS);
        let mut out: Option<MiraiEvidence> = None;
        for (_, m) in self.mirai.iter().filter(|e| e.0 >= e0 && e.0 <= e1) {
            out.get_or_insert_with(MiraiEvidence::new).merge(m);
        }
        let out = out?;
        let (s0, s1) = (
            e0 * EVIDENCE_EPOCH_SECONDS,
            (e1 + 1) * EVIDENCE_EPOCH_SECONDS,
        );
        let lo = self.seconds.partition_point(|e| e.0 < s0);
        let hi = self.seconds.partition_point(|e| e.0 < s1);
        let packets = self.seconds[lo..hi]
            .iter()
            .fold(0u64, |t, e| t.saturating_add(e.1.packets));
        Some((out, packets))
    }

    /// Merge another timeline of the same destination, taking over its buckets.
    pub fn merge(&mut self, other: Timeline) {
        self.merge_mirai(&other.mirai);
        for (second, b) in other.seconds {
            // Chunks arrive in time order: `other` mostly continues where we stop.
            match self.seconds.last_mut() {
                None => self.seconds.push((second, b)),
                Some((last, _)) if *last < second => self.seconds.push((second, b)),
                Some((last, mine)) if *last == second => mine.merge(&b),
                Some(_) => match self.seconds.binary_search_by_key(&second, |e| e.0) {
                    Ok(i) => self.seconds[i].1.merge(&b),
                    Err(i) => self.seconds.insert(i, (second, b)),
                },
            }
        }
    }

    /// Merge another timeline of the same target without taking it over.
    pub fn merge_from(&mut self, other: &Timeline) {
        self.merge_mirai(&other.mirai);
        for (second, b) in &other.seconds {
            self.bucket_mut(*second).merge(b);
        }
    }

    /// Merge only the counters (packets, bytes, classes, sizes, fragments, time span) of
    /// another timeline: all detection needs, without the cost of merging sketches.
    pub fn merge_counts_from(&mut self, other: &Timeline) {
        for (second, b) in &other.seconds {
            self.bucket_mut(*second).merge_counts(b);
        }
    }

    /// Total packets.
    pub fn packets(&self) -> u64 {
        self.seconds
            .iter()
            .fold(0u64, |t, (_, b)| t.saturating_add(b.packets))
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

/// One destination's timeline, kept in the aggregator's table under its key.
#[derive(Debug, Clone)]
struct Destination {
    key: u128,
    timeline: Timeline,
}

/// The table hash of a destination key: the key folded to 64 bits, then one 64 × 64 →
/// 128-bit multiply whose halves are folded (as foldhash does), rather than `hash128`'s
/// four dependent multiplies. Only the table's layout depends on it, never an output
/// (every output sorts or sums), and the table needs well-spread high bits (tags) and low
/// bits (buckets), which the fold of both product halves gives.
#[inline]
fn destination_hash(key: u128) -> u64 {
    let (lo, hi) = (key as u64, (key >> 64) as u64);
    let folded = lo ^ hi.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let p = u128::from(folded ^ 0x243f_6a88_85a3_08d3) * 0x1319_8a2e_0370_7345;
    (p as u64) ^ ((p >> 64) as u64)
}

/// Builds per-destination timelines from observations.
#[derive(Debug)]
pub struct Aggregator {
    /// The timelines, in the table itself: a lookup lands on the timeline's `Vec` of
    /// buckets, one dependent cache miss fewer than a map to an index into a second
    /// array. Iteration order is the table's, so every output sorts or sums.
    destinations: HashTable<Destination>,
    /// The destination of the previous observation and its bucket index in the table:
    /// floods send runs of packets to one victim, and this skips hashing for them. Valid
    /// until the next insert (which may move entries) or merge; not carried over by
    /// `clone`, whose table need not keep bucket positions.
    last: Option<(u128, usize)>,
    totals: Totals,
    /// IoT / Mirai scanning sources (scanners touch many destinations once each, so they
    /// are tracked over all traffic, not per destination).
    scanners: ScannerTracker,
    /// Match fingerprints and track scanners (off: counts only).
    inspect: bool,
    /// Hash-sampled sources for attribution (off unless asked for).
    source_log: Option<SourceLog>,
}

impl Default for Aggregator {
    fn default() -> Self {
        Aggregator::new()
    }
}

impl Clone for Aggregator {
    fn clone(&self) -> Self {
        Aggregator {
            destinations: self.destinations.clone(),
            last: None,
            totals: self.totals,
            scanners: self.scanners.clone(),
            inspect: self.inspect,
            source_log: self.source_log.clone(),
        }
    }
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Aggregator {
            destinations: HashTable::new(),
            last: None,
            totals: Totals::empty(),
            scanners: ScannerTracker::new(),
            inspect: true,
            source_log: None,
        }
    }

    /// An aggregator that also keeps a [`SourceLog`] for attribution, starting at
    /// threshold `tau` (`u64::MAX`, or what another part of the same input reached).
    pub fn with_source_log(tau: u64) -> Self {
        Aggregator {
            source_log: Some(SourceLog::with_tau(source_log::DEFAULT_BUDGET, tau)),
            ..Aggregator::new()
        }
    }

    /// The source log, when kept.
    pub fn source_log(&self) -> Option<&SourceLog> {
        self.source_log.as_ref()
    }

    /// Compact the source log (when kept) into the order merges read: a worker calls
    /// this at the end of its chunk so that the thread merging every chunk does not.
    pub fn compact_source_log(&mut self) {
        if let Some(log) = &mut self.source_log {
            log.compact();
        }
    }

    /// Take the source log out, in canonical form.
    pub fn take_source_log(&mut self) -> Option<SourceLog> {
        let mut log = self.source_log.take()?;
        log.finish();
        Some(log)
    }

    /// An aggregator that only counts: no fingerprint matching and no scanner tracking
    /// (for `analyze --no-detect` and as the benchmark's reference).
    pub fn counting_only() -> Self {
        Aggregator {
            inspect: false,
            ..Aggregator::new()
        }
    }

    #[inline]
    fn timeline_mut(&mut self, dst: u128) -> &mut Timeline {
        let i = match self.last {
            Some((k, i)) if k == dst => i,
            _ => {
                let hash = destination_hash(dst);
                let i = match self.destinations.find_bucket_index(hash, |d| d.key == dst) {
                    Some(i) => i,
                    None => {
                        let new = Destination {
                            key: dst,
                            timeline: Timeline::default(),
                        };
                        self.destinations
                            .insert_unique(hash, new, |d| destination_hash(d.key))
                            .bucket_index()
                    }
                };
                self.last = Some((dst, i));
                i
            }
        };
        let d = self
            .destinations
            .get_bucket_mut(i)
            .expect("the last destination's bucket is valid until an insert");
        debug_assert_eq!(d.key, dst);
        &mut d.timeline
    }

    /// Count one observation.
    #[inline]
    pub fn add(&mut self, obs: &Observation) {
        // Packet, byte and class totals are sums over the buckets, computed when asked
        // for; only the time span needs tracking per packet.
        let t = &mut self.totals;
        t.first_ns = t.first_ns.min(obs.ts_ns);
        t.last_ns = t.last_ns.max(obs.ts_ns);
        let second = obs.ts_ns / 1_000_000_000;
        let src = addr_key(obs.src);
        let class = Class::of(obs);
        let inspect = self.inspect;
        if inspect {
            self.scanners.add(obs);
        }
        let dst = addr_key(obs.dst);
        if let Some(log) = &mut self.source_log {
            log.observe(obs, src, dst, second);
        }
        let tl = self.timeline_mut(dst);
        tl.bucket_mut(second).add(obs, class, src);
        if !inspect {
            return;
        }
        // Sources are sampled from the first second a destination is busy on: quieter ones
        // are never attacked, and a victim's sources before its attack are its background.
        let epoch = second / EVIDENCE_EPOCH_SECONDS;
        match fingerprint::match_packet(obs) {
            Some((v, mask)) => {
                if let Some(m) = tl.evidence_mut(epoch, true) {
                    m.record(v, mask, obs);
                }
            }
            // Connection packets of an http flood only count where requests matched:
            // every web server sees such packets from ordinary clients.
            None => {
                if fingerprint::http_context(obs) {
                    if let Some(m) = tl.evidence_mut(epoch, false) {
                        m.add_context();
                    }
                }
            }
        }
    }

    /// Scanning sources seen in all traffic.
    pub fn scanners(&self) -> &ScannerTracker {
        &self.scanners
    }

    /// Merge an aggregator built from the data that follows this one's.
    pub fn merge(&mut self, other: Aggregator) {
        let t = &mut self.totals;
        let o = other.totals;
        t.first_ns = t.first_ns.min(o.first_ns);
        t.last_ns = t.last_ns.max(o.last_ns);
        self.scanners.merge(&other.scanners);
        match (&mut self.source_log, other.source_log) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, Some(mut theirs)) => {
                // Compacted now, as a merge would: its threshold is where later chunks
                // of the input start.
                theirs.compact();
                *mine = Some(theirs);
            }
            _ => {}
        }
        for d in other.destinations {
            let hash = destination_hash(d.key);
            match self.destinations.find_mut(hash, |e| e.key == d.key) {
                Some(mine) => mine.timeline.merge(d.timeline),
                None => {
                    self.destinations
                        .insert_unique(hash, d, |e| destination_hash(e.key));
                }
            }
        }
        self.last = None;
    }

    /// Timestamp of the earliest observation (ns; `u64::MAX` when empty), without summing
    /// the buckets as [`Aggregator::totals`] does.
    pub fn first_ns(&self) -> u64 {
        self.totals.first_ns
    }

    /// Totals so far (sums over every bucket: call once, not per packet).
    pub fn totals(&self) -> Totals {
        let mut t = self.totals;
        for d in &self.destinations {
            for (_, b) in &d.timeline.seconds {
                t.packets = t.packets.saturating_add(b.packets);
                t.bytes = t.bytes.saturating_add(b.bytes);
                for (a, c) in t.classes.iter_mut().zip(b.classes) {
                    *a = a.saturating_add(c);
                }
            }
        }
        t
    }

    /// Number of distinct destinations.
    pub fn destination_count(&self) -> usize {
        self.destinations.len()
    }

    /// Timeline of one destination.
    pub fn timeline(&self, dst: IpAddr) -> Option<&Timeline> {
        let key = addr_key(dst);
        self.destinations
            .find(destination_hash(key), |d| d.key == key)
            .map(|d| &d.timeline)
    }

    /// All destinations with their timelines, in address order (deterministic).
    pub fn destinations(&self) -> Vec<(IpAddr, &Timeline)> {
        let mut v: Vec<(u128, &Timeline)> = self
            .destinations
            .iter()
            .map(|d| (d.key, &d.timeline))
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v.into_iter().map(|(k, t)| (key_addr(k), t)).collect()
    }
}
