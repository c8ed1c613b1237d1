//! Flow exports: the simulated traffic as a router would export it.
//!
//! A [`FlowExporter`] is offered every simulated packet (its decoded
//! [`Observation`] and its raw Ethernet frame) and writes the export datagrams a border
//! router would send to its collector, each as a complete Ethernet/IPv4/UDP frame, so the
//! simulator can store them in a pcap next to the packet capture:
//!
//! - **NetFlow v9** (RFC 3954, UDP port 2055) and **IPFIX** (RFC 7011, UDP port 4739): the
//!   sampled packets feed a flow cache keyed by addresses, ports, protocol, ToS and ingress
//!   interface (TCP flags are OR-ed, TTLs give a minimum and maximum). A flow is exported
//!   when idle for [`INACTIVE_TIMEOUT_NS`], when older than [`ACTIVE_TIMEOUT_NS`], when the
//!   cache is full (the oldest flow goes) and at [`FlowExporter::finish`]. Packet and byte
//!   counts are the *sampled* counts; the sampling rate travels in an options data record
//!   (see [`TEMPLATE_OPTIONS`]). Templates go out before the first data and again every
//!   [`TEMPLATE_REFRESH_DATAGRAMS`] datagrams or [`TEMPLATE_REFRESH_NS`].
//! - **sFlow v5** (UDP port 6343): every sampled packet becomes a flow sample carrying the
//!   first [`SFLOW_HEADER_BYTES`] bytes of the frame; every interface also reports generic
//!   interface counters every [`SFLOW_COUNTER_INTERVAL_NS`] (and at the start and the end).
//!
//! Sampling is random *1-out-of-N* (RFC 5475 "random n-out-of-N" with n = 1): each window
//! of N consecutive packets has exactly one sampled packet, at a position drawn from the
//! exporter's [`Rng`]. An unsampled packet costs a decrement and a compare (plus, for sFlow,
//! the interface counters), and the whole export is deterministic in the packets and the
//! rng.
//!
//! The router has [`UPLINKS`] upstream interfaces (ifIndex 1..=4); a packet's ingress
//! interface is a hash of its source /24 (IPv4) or /48 (IPv6), see [`ingress_interface`],
//! and every packet leaves through [`EGRESS_INTERFACE`].
//!
//! Datagrams never exceed [`MAX_DATAGRAM`] bytes of IP packet. Record layouts are listed on
//! the template constants ([`TEMPLATE_IPV4`], [`TEMPLATE_IPV6`], [`TEMPLATE_OPTIONS`]).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};

use floodtrace_wire::Observation;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Which export protocol a [`FlowExporter`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowFormat {
    /// Cisco NetFlow version 9 (RFC 3954).
    NetflowV9,
    /// IPFIX (RFC 7011).
    Ipfix,
    /// sFlow version 5 (sflow.org).
    Sflow5,
}

impl FlowFormat {
    /// Every format, in a fixed order.
    pub const ALL: [FlowFormat; 3] = [FlowFormat::NetflowV9, FlowFormat::Ipfix, FlowFormat::Sflow5];

    /// Stable lower-case name (`"netflow_v9"`, `"ipfix"`, `"sflow5"`), as in serde.
    pub fn name(self) -> &'static str {
        match self {
            FlowFormat::NetflowV9 => "netflow_v9",
            FlowFormat::Ipfix => "ipfix",
            FlowFormat::Sflow5 => "sflow5",
        }
    }

    /// The collector's UDP port: 2055 (NetFlow v9), 4739 (IPFIX), 6343 (sFlow).
    pub fn udp_port(self) -> u16 {
        match self {
            FlowFormat::NetflowV9 => 2055,
            FlowFormat::Ipfix => 4739,
            FlowFormat::Sflow5 => 6343,
        }
    }
}

/// What a [`FlowExporter`] has written so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStats {
    /// Export datagrams (frames) emitted.
    pub datagrams: u64,
    /// NetFlow/IPFIX flow data records, or sFlow flow samples (options data records and
    /// counter samples are not included; see `option_records`).
    pub flow_records: u64,
    /// Template and options-template records sent (NetFlow/IPFIX; re-sends included).
    pub template_records: u64,
    /// NetFlow/IPFIX options data records (sampling parameters), or sFlow counter samples.
    pub option_records: u64,
    /// Packets the sampler selected.
    pub sampled_packets: u64,
    /// Sum over exported records of packet count × sampling rate.
    pub packets_represented: u64,
    /// Sum over exported records of IP byte count × sampling rate (IPv4 total length, IPv6
    /// payload length + 40, as in [`Observation::bytes`]).
    pub bytes_represented: u64,
}

/// Flows idle this long are exported (15 s).
pub const INACTIVE_TIMEOUT_NS: u64 = 15_000_000_000;
/// Flows older than this are exported even if still active (60 s).
pub const ACTIVE_TIMEOUT_NS: u64 = 60_000_000_000;
/// Default flow cache size; when full, the oldest flow is exported to make room.
pub const MAX_FLOWS: usize = 65_536;
/// Largest export datagram, as an IP packet (IP + UDP headers + export payload).
pub const MAX_DATAGRAM: usize = 1400;
/// Templates are re-sent after this many datagrams.
pub const TEMPLATE_REFRESH_DATAGRAMS: u32 = 20;
/// Templates are re-sent after this much simulated time (60 s).
pub const TEMPLATE_REFRESH_NS: u64 = 60_000_000_000;
/// The exporter checks timeouts and sends pending records once per simulated second.
pub const TICK_NS: u64 = 1_000_000_000;
/// sFlow counter samples are sent for every interface this often (20 s).
pub const SFLOW_COUNTER_INTERVAL_NS: u64 = 20_000_000_000;
/// Bytes of the sampled frame an sFlow flow sample carries.
pub const SFLOW_HEADER_BYTES: usize = 128;
/// Number of upstream (ingress) interfaces, ifIndex 1..=UPLINKS.
pub const UPLINKS: u32 = 4;
/// The ifIndex every packet leaves through (towards the protected networks).
pub const EGRESS_INTERFACE: u32 = 5;
/// NetFlow v9 source id and IPFIX observation domain id.
pub const OBSERVATION_DOMAIN: u32 = 1;

/// Template id of IPv4 flow records.
///
/// NetFlow v9 (51 bytes): IPV4_SRC_ADDR 8 (4), IPV4_DST_ADDR 12 (4), L4_SRC_PORT 7 (2),
/// L4_DST_PORT 11 (2), PROTOCOL 4 (1), TCP_FLAGS 6 (1), SRC_TOS 5 (1), INPUT_SNMP 10 (4),
/// OUTPUT_SNMP 14 (4), IN_PKTS 2 (8), IN_BYTES 1 (8), FIRST_SWITCHED 22 (4),
/// LAST_SWITCHED 21 (4), ICMP_TYPE 32 (2), MIN_TTL 52 (1), MAX_TTL 53 (1).
///
/// IPFIX (60 bytes): sourceIPv4Address 8, destinationIPv4Address 12, sourceTransportPort 7,
/// destinationTransportPort 11, protocolIdentifier 4, tcpControlBits 6 (1),
/// ipClassOfService 5, ingressInterface 10, egressInterface 14, packetDeltaCount 2 (8),
/// octetDeltaCount 1 (8), flowStartMilliseconds 152, flowEndMilliseconds 153,
/// icmpTypeCodeIPv4 32, minimumTTL 52, maximumTTL 53, flowEndReason 136.
///
/// For ICMP the destination port carries type × 256 + code, as Cisco and Juniper do, and the
/// ICMP type/code field carries the same value (0 for other protocols).
pub const TEMPLATE_IPV4: u16 = 256;
/// Template id of IPv6 flow records: as [`TEMPLATE_IPV4`] with IPV6_SRC_ADDR 27 (16) and
/// IPV6_DST_ADDR 28 (16) for the addresses, ICMP type/code in icmpTypeCodeIPv6 139, and the
/// hop limit in the TTL fields (v9: 75 bytes, IPFIX: 84 bytes).
pub const TEMPLATE_IPV6: u16 = 257;
/// Template id of the options record giving the sampling parameters.
///
/// NetFlow v9: scope System 1 (4 bytes, the exporter's address); SAMPLING_INTERVAL 34 (4) =
/// N, SAMPLING_ALGORITHM 35 (1) = 2 (random).
///
/// IPFIX: scope observationDomainId 149 (4); samplingInterval 34 (4) = N,
/// samplingAlgorithm 35 (1) = 2 (random), selectorAlgorithm 304 (2) = 3 (random
/// n-out-of-N), samplingSize 309 (4) = 1, samplingPopulation 310 (4) = N.
pub const TEMPLATE_OPTIONS: u16 = 258;

const V9_IPV4: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (5, 1),
    (10, 4),
    (14, 4),
    (2, 8),
    (1, 8),
    (22, 4),
    (21, 4),
    (32, 2),
    (52, 1),
    (53, 1),
];
const V9_IPV6: &[(u16, u16)] = &[
    (27, 16),
    (28, 16),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (5, 1),
    (10, 4),
    (14, 4),
    (2, 8),
    (1, 8),
    (22, 4),
    (21, 4),
    (139, 2),
    (52, 1),
    (53, 1),
];
const IPFIX_IPV4: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (5, 1),
    (10, 4),
    (14, 4),
    (2, 8),
    (1, 8),
    (152, 8),
    (153, 8),
    (32, 2),
    (52, 1),
    (53, 1),
    (136, 1),
];
const IPFIX_IPV6: &[(u16, u16)] = &[
    (27, 16),
    (28, 16),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (5, 1),
    (10, 4),
    (14, 4),
    (2, 8),
    (1, 8),
    (152, 8),
    (153, 8),
    (139, 2),
    (52, 1),
    (53, 1),
    (136, 1),
];
const V9_OPTIONS_SCOPE: &[(u16, u16)] = &[(1, 4)];
const V9_OPTIONS: &[(u16, u16)] = &[(34, 4), (35, 1)];
const IPFIX_OPTIONS_SCOPE: &[(u16, u16)] = &[(149, 4)];
const IPFIX_OPTIONS: &[(u16, u16)] = &[(34, 4), (35, 1), (304, 2), (309, 4), (310, 4)];

const fn record_len(fields: &[(u16, u16)]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < fields.len() {
        n += fields[i].1 as usize;
        i += 1;
    }
    n
}

/// IPFIX flowEndReason values.
mod end_reason {
    pub const IDLE: u8 = 1;
    pub const ACTIVE: u8 = 2;
    pub const FORCED: u8 = 4;
    pub const LACK_OF_RESOURCES: u8 = 5;
}

const ETH_LEN: usize = 14;
const IP_LEN: usize = 20;
const UDP_LEN: usize = 8;
/// Offset of the export payload in a frame.
const PAYLOAD_AT: usize = ETH_LEN + IP_LEN + UDP_LEN;
/// Largest frame: Ethernet header + [`MAX_DATAGRAM`].
const MAX_FRAME: usize = ETH_LEN + MAX_DATAGRAM;
const V9_HEADER: usize = 20;
const IPFIX_HEADER: usize = 16;
const SFLOW_HEADER: usize = 28;

/// The ingress ifIndex (1..=[`UPLINKS`]) a packet from `src` arrives on: a hash of the
/// source /24 (IPv4) or /48 (IPv6), so a source network always uses the same uplink.
#[inline]
pub fn ingress_interface(src: IpAddr) -> u32 {
    let net = match src {
        IpAddr::V4(a) => (u32::from(a) >> 8) as u64,
        IpAddr::V6(a) => ((u128::from(a) >> 80) as u64) | (1 << 63),
    };
    let h = net.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    1 + (((h >> 32) * UPLINKS as u64) >> 32) as u32
}

/// Flow cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowKey {
    src: u128,
    dst: u128,
    sport: u16,
    /// Destination port, or ICMP type × 256 + code.
    dport: u16,
    proto: u8,
    tos: u8,
    v6: bool,
    ifx: u8,
}

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = a as u128 * b as u128;
    (p as u64) ^ ((p >> 64) as u64)
}

impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let a = (self.src as u64) ^ ((self.src >> 64) as u64).rotate_left(29);
        let b = (self.dst as u64) ^ ((self.dst >> 64) as u64).rotate_left(29);
        let c = (self.sport as u64) << 48
            | (self.dport as u64) << 32
            | (self.proto as u64) << 24
            | (self.tos as u64) << 16
            | (self.v6 as u64) << 8
            | self.ifx as u64;
        let h = fold(a ^ 0x243f_6a88_85a3_08d3, b ^ 0x1319_8a2e_0370_7344);
        state.write_u64(fold(h ^ c, 0xa409_3822_299f_31d0));
    }
}

/// Hasher for [`FlowKey`]: the key already mixes itself, so this only folds words in.
/// Fixed (unlike `RandomState`), which keeps the cache deterministic.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = fold(self.0 ^ v, 0x082e_fa98_ec4e_6c89) ^ v;
    }
}

/// One cached flow.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: FlowKey,
    first_ns: u64,
    last_ns: u64,
    packets: u64,
    bytes: u64,
    /// Creation order, to export and evict oldest first.
    serial: u64,
    flags: u8,
    min_ttl: u8,
    max_ttl: u8,
    live: bool,
}

/// sFlow generic interface counters kept per ifIndex.
#[derive(Debug, Clone, Copy, Default)]
struct IfCounters {
    in_octets: u64,
    in_pkts: u32,
    out_octets: u64,
    out_pkts: u32,
    /// Packets that could have been sampled on this data source (sFlow sample_pool).
    pool: u32,
    flow_seq: u32,
    counter_seq: u32,
}

/// A router exporting the packets it forwards as NetFlow v9, IPFIX or sFlow v5.
///
/// See the [module documentation](self) for what it writes.
#[derive(Debug, Clone)]
pub struct FlowExporter {
    format: FlowFormat,
    sampling: u32,
    exporter: Ipv4Addr,
    collector: Ipv4Addr,
    rng: Rng,
    stats: FlowStats,

    // Sampler: packets still to skip, and the sampled position in the current window.
    skip: u64,
    window_pos: u64,

    // Clock.
    started: bool,
    uptime0_ns: u64,
    boot_ns: u64,
    last_ts: u64,
    next_tick: u64,
    next_counters: u64,

    // Flow cache (NetFlow v9 / IPFIX).
    active_ns: u64,
    inactive_ns: u64,
    max_flows: usize,
    map: HashMap<FlowKey, u32, BuildHasherDefault<KeyHasher>>,
    slab: Vec<Entry>,
    free: Vec<u32>,
    fifo: VecDeque<(u32, u64)>,
    serial: u64,
    scratch: Vec<u32>,

    // Datagram being built (a whole Ethernet frame).
    buf: Vec<u8>,
    open: bool,
    set_start: usize,
    set_id: u16,
    /// Records (v9: all kinds) or samples (sFlow) in the open datagram.
    count: u32,
    /// Data records (flow + options data) in the open IPFIX message.
    data_records: u32,
    /// v9: export packets sent; IPFIX: data records sent; sFlow: datagrams sent.
    sequence: u32,
    ip_id: u16,
    src_port: u16,
    templates_sent: bool,
    since_templates: u32,
    templates_ts: u64,

    // sFlow interface counters, indexed by ifIndex (0 unused).
    ifaces: [IfCounters; EGRESS_INTERFACE as usize + 1],
}

impl FlowExporter {
    /// An exporter at `exporter` sending `format` to `collector`, sampling 1 packet out of
    /// every `sampling` (0 is taken as 1) with positions drawn from `rng`.
    pub fn new(
        format: FlowFormat,
        sampling: u32,
        exporter: Ipv4Addr,
        collector: Ipv4Addr,
        mut rng: Rng,
    ) -> Self {
        let sampling = sampling.max(1);
        // The router booted between one hour and twenty days before the first packet.
        let uptime0_ns =
            rng.range(3_600, 20 * 86_400) * 1_000_000_000 + rng.below(1_000) * 1_000_000;
        let src_port = 49_152 + rng.below(16_384) as u16;
        let window_pos = if sampling > 1 {
            rng.below(sampling as u64)
        } else {
            0
        };
        FlowExporter {
            format,
            sampling,
            exporter,
            collector,
            rng,
            stats: FlowStats::default(),
            skip: window_pos,
            window_pos,
            started: false,
            uptime0_ns,
            boot_ns: 0,
            last_ts: 0,
            next_tick: 0,
            next_counters: 0,
            active_ns: ACTIVE_TIMEOUT_NS,
            inactive_ns: INACTIVE_TIMEOUT_NS,
            max_flows: MAX_FLOWS,
            map: HashMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            fifo: VecDeque::new(),
            serial: 0,
            scratch: Vec::new(),
            buf: Vec::with_capacity(MAX_FRAME),
            open: false,
            set_start: 0,
            set_id: 0,
            count: 0,
            data_records: 0,
            sequence: 0,
            ip_id: 0,
            src_port,
            templates_sent: false,
            since_templates: 0,
            templates_ts: 0,
            ifaces: [IfCounters::default(); EGRESS_INTERFACE as usize + 1],
        }
    }

    /// Replace the flow cache's active and inactive timeouts and its size (at least 1).
    /// Ignored by sFlow, which has no cache.
    pub fn with_cache(
        mut self,
        active_timeout_ns: u64,
        inactive_timeout_ns: u64,
        max_flows: usize,
    ) -> Self {
        self.active_ns = active_timeout_ns;
        self.inactive_ns = inactive_timeout_ns;
        self.max_flows = max_flows.max(1);
        self
    }

    /// The export protocol.
    pub fn format(&self) -> FlowFormat {
        self.format
    }

    /// The sampling rate N (1 out of N packets).
    pub fn sampling(&self) -> u32 {
        self.sampling
    }

    /// What has been written so far.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// Offer one simulated packet: its decoded observation and its raw Ethernet frame, at
    /// `obs.ts_ns` (non-decreasing). Emits zero or more export datagrams, each a complete
    /// Ethernet/IPv4/UDP frame, through `sink(ts_ns, frame)`.
    #[inline]
    pub fn packet(&mut self, obs: &Observation, frame: &[u8], sink: &mut dyn FnMut(u64, &[u8])) {
        let ts = obs.ts_ns.max(self.last_ts);
        if !self.started {
            self.start(ts);
        }
        self.last_ts = ts;
        if ts >= self.next_tick {
            self.tick(ts, sink);
        }
        if self.format == FlowFormat::Sflow5 {
            let ifx = ingress_interface(obs.src) as usize;
            let len = obs.wire_len as u64 + 4;
            let c = &mut self.ifaces[ifx];
            c.in_octets += len;
            c.in_pkts = c.in_pkts.wrapping_add(1);
            c.pool = c.pool.wrapping_add(1);
            let e = &mut self.ifaces[EGRESS_INTERFACE as usize];
            e.out_octets += len;
            e.out_pkts = e.out_pkts.wrapping_add(1);
        }
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        let next = if self.sampling > 1 {
            self.rng.below(self.sampling as u64)
        } else {
            0
        };
        self.skip = self.sampling as u64 - 1 - self.window_pos + next;
        self.window_pos = next;
        self.sampled(ts, obs, frame, sink);
    }

    /// Flush everything still cached at the end of the simulation (`ts_ns`): every cached
    /// flow is exported, sFlow sends final counters, and the last datagram goes out.
    pub fn finish(&mut self, ts_ns: u64, sink: &mut dyn FnMut(u64, &[u8])) {
        let ts = ts_ns.max(self.last_ts);
        if !self.started {
            return;
        }
        self.last_ts = ts;
        match self.format {
            FlowFormat::Sflow5 => self.counters(ts, sink),
            FlowFormat::NetflowV9 | FlowFormat::Ipfix => {
                self.scratch.clear();
                for (i, e) in self.slab.iter().enumerate() {
                    if e.live {
                        self.scratch.push(i as u32);
                    }
                }
                self.export_scratch(ts, end_reason::FORCED, sink);
            }
        }
        self.flush(ts, sink);
    }

    fn start(&mut self, ts: u64) {
        self.started = true;
        self.boot_ns = ts.saturating_sub(self.uptime0_ns);
        self.next_tick = ts;
        self.next_counters = ts;
    }

    /// Once per simulated second: expire flows, send counters, flush what is pending.
    #[cold]
    fn tick(&mut self, ts: u64, sink: &mut dyn FnMut(u64, &[u8])) {
        self.next_tick = ts - ts % TICK_NS + TICK_NS;
        match self.format {
            FlowFormat::Sflow5 => {
                if ts >= self.next_counters {
                    self.next_counters = ts + SFLOW_COUNTER_INTERVAL_NS;
                    self.counters(ts, sink);
                }
            }
            FlowFormat::NetflowV9 | FlowFormat::Ipfix => {
                self.scratch.clear();
                for (i, e) in self.slab.iter().enumerate() {
                    if e.live
                        && (ts.saturating_sub(e.last_ns) >= self.inactive_ns
                            || ts.saturating_sub(e.first_ns) >= self.active_ns)
                    {
                        self.scratch.push(i as u32);
                    }
                }
                // Reason per flow: idle beats active.
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.sort_unstable_by_key(|&i| self.slab[i as usize].serial);
                for &i in &scratch {
                    let e = self.slab[i as usize];
                    let reason = if ts.saturating_sub(e.last_ns) >= self.inactive_ns {
                        end_reason::IDLE
                    } else {
                        end_reason::ACTIVE
                    };
                    self.export_flow(i, ts, reason, sink);
                }
                self.scratch = scratch;
            }
        }
        self.flush(ts, sink);
    }

    /// Export the flows listed in `scratch`, oldest first.
    fn export_scratch(&mut self, ts: u64, reason: u8, sink: &mut dyn FnMut(u64, &[u8])) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.sort_unstable_by_key(|&i| self.slab[i as usize].serial);
        for &i in &scratch {
            self.export_flow(i, ts, reason, sink);
        }
        self.scratch = scratch;
    }

    fn sampled(
        &mut self,
        ts: u64,
        obs: &Observation,
        frame: &[u8],
        sink: &mut dyn FnMut(u64, &[u8]),
    ) {
        self.stats.sampled_packets += 1;
        match self.format {
            FlowFormat::Sflow5 => self.flow_sample(ts, obs, frame, sink),
            FlowFormat::NetflowV9 | FlowFormat::Ipfix => self.cache(ts, obs, frame, sink),
        }
    }

    fn cache(
        &mut self,
        ts: u64,
        obs: &Observation,
        frame: &[u8],
        sink: &mut dyn FnMut(u64, &[u8]),
    ) {
        let (src, dst, v6) = match (obs.src, obs.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (u32::from(s) as u128, u32::from(d) as u128, false),
            (s, d) => (v6_bits(s), v6_bits(d), true),
        };
        let icmp = obs.proto == 1 || obs.proto == 58;
        let key = FlowKey {
            src,
            dst,
            sport: if icmp { 0 } else { obs.sport },
            dport: if icmp {
                (obs.icmp_type as u16) << 8 | obs.icmp_code as u16
            } else {
                obs.dport
            },
            proto: obs.proto,
            tos: ip_tos(frame),
            v6,
            ifx: ingress_interface(obs.src) as u8,
        };
        if let Some(&i) = self.map.get(&key) {
            let e = &mut self.slab[i as usize];
            e.last_ns = ts;
            e.packets += obs.packets;
            e.bytes += obs.bytes;
            e.flags |= obs.tcp_flags;
            e.min_ttl = e.min_ttl.min(obs.ttl);
            e.max_ttl = e.max_ttl.max(obs.ttl);
            return;
        }
        while self.map.len() >= self.max_flows {
            let Some((i, serial)) = self.fifo.pop_front() else {
                break;
            };
            let e = &self.slab[i as usize];
            if e.live && e.serial == serial {
                self.export_flow(i, ts, end_reason::LACK_OF_RESOURCES, sink);
            }
        }
        self.serial += 1;
        let entry = Entry {
            key,
            first_ns: ts,
            last_ns: ts,
            packets: obs.packets,
            bytes: obs.bytes,
            serial: self.serial,
            flags: obs.tcp_flags,
            min_ttl: obs.ttl,
            max_ttl: obs.ttl,
            live: true,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = entry;
                i
            }
            None => {
                self.slab.push(entry);
                (self.slab.len() - 1) as u32
            }
        };
        self.map.insert(key, i);
        self.fifo.push_back((i, self.serial));
        if self.fifo.len() > 4 * self.max_flows + 1024 {
            let slab = &self.slab;
            self.fifo
                .retain(|&(i, s)| slab[i as usize].live && slab[i as usize].serial == s);
        }
    }

    /// Write cached flow `i` as a data record and drop it from the cache.
    fn export_flow(&mut self, i: u32, ts: u64, reason: u8, sink: &mut dyn FnMut(u64, &[u8])) {
        let e = self.slab[i as usize];
        self.slab[i as usize].live = false;
        self.map.remove(&e.key);
        self.free.push(i);

        let v9 = self.format == FlowFormat::NetflowV9;
        let (template, len) = match (v9, e.key.v6) {
            (true, false) => (TEMPLATE_IPV4, record_len(V9_IPV4)),
            (true, true) => (TEMPLATE_IPV6, record_len(V9_IPV6)),
            (false, false) => (TEMPLATE_IPV4, record_len(IPFIX_IPV4)),
            (false, true) => (TEMPLATE_IPV6, record_len(IPFIX_IPV6)),
        };
        self.begin_record(ts, template, len, sink);
        let start = self.buf.len();
        let b = &mut self.buf;
        if e.key.v6 {
            b.extend_from_slice(&e.key.src.to_be_bytes());
            b.extend_from_slice(&e.key.dst.to_be_bytes());
        } else {
            put32(b, e.key.src as u32);
            put32(b, e.key.dst as u32);
        }
        put16(b, e.key.sport);
        put16(b, e.key.dport);
        b.push(e.key.proto);
        b.push(e.flags);
        b.push(e.key.tos);
        put32(b, e.key.ifx as u32);
        put32(b, EGRESS_INTERFACE);
        put64(b, e.packets);
        put64(b, e.bytes);
        if v9 {
            put32(
                b,
                (e.first_ns.saturating_sub(self.boot_ns) / 1_000_000) as u32,
            );
            put32(
                b,
                (e.last_ns.saturating_sub(self.boot_ns) / 1_000_000) as u32,
            );
        } else {
            put64(b, e.first_ns / 1_000_000);
            put64(b, e.last_ns / 1_000_000);
        }
        let icmp = if e.key.proto == 1 || e.key.proto == 58 {
            e.key.dport
        } else {
            0
        };
        put16(b, icmp);
        b.push(e.min_ttl);
        b.push(e.max_ttl);
        if !v9 {
            b.push(reason);
        }
        debug_assert_eq!(b.len() - start, len);
        self.count += 1;
        self.data_records += 1;
        let n = self.sampling as u64;
        self.stats.flow_records += 1;
        self.stats.packets_represented += e.packets * n;
        self.stats.bytes_represented += e.bytes * n;
    }

    /// Make room for a record of `len` bytes in a set of `set_id`, opening a datagram (with
    /// templates when due) or a set as needed.
    fn begin_record(&mut self, ts: u64, set_id: u16, len: usize, sink: &mut dyn FnMut(u64, &[u8])) {
        if self.open {
            let set_header = if self.set_start != 0 && self.set_id == set_id {
                0
            } else {
                4
            };
            if self.buf.len() + set_header + len + 3 > MAX_FRAME {
                self.flush(ts, sink);
            }
        }
        if !self.open {
            self.open_datagram(ts);
        }
        if self.set_start == 0 || self.set_id != set_id {
            self.close_set();
            self.set_start = self.buf.len();
            self.set_id = set_id;
            put16(&mut self.buf, set_id);
            put16(&mut self.buf, 0);
        }
    }

    /// Close the open set: pad (v9) and write its length.
    fn close_set(&mut self) {
        if self.set_start == 0 {
            return;
        }
        if self.format == FlowFormat::NetflowV9 {
            while (self.buf.len() - self.set_start) & 3 != 0 {
                self.buf.push(0);
            }
        }
        let len = (self.buf.len() - self.set_start) as u16;
        self.buf[self.set_start + 2..self.set_start + 4].copy_from_slice(&len.to_be_bytes());
        self.set_start = 0;
    }

    fn open_datagram(&mut self, ts: u64) {
        let header = match self.format {
            FlowFormat::NetflowV9 => V9_HEADER,
            FlowFormat::Ipfix => IPFIX_HEADER,
            FlowFormat::Sflow5 => SFLOW_HEADER,
        };
        self.buf.clear();
        self.buf.resize(PAYLOAD_AT + header, 0);
        self.open = true;
        self.set_start = 0;
        self.count = 0;
        self.data_records = 0;
        if self.format != FlowFormat::Sflow5
            && (!self.templates_sent
                || self.since_templates >= TEMPLATE_REFRESH_DATAGRAMS
                || ts.saturating_sub(self.templates_ts) >= TEMPLATE_REFRESH_NS)
        {
            self.write_templates();
            self.templates_sent = true;
            self.since_templates = 0;
            self.templates_ts = ts;
        }
    }

    /// Template set (both data templates), options template set and the options data record.
    fn write_templates(&mut self) {
        let v9 = self.format == FlowFormat::NetflowV9;
        let (t4, t6, scope, opts) = if v9 {
            (V9_IPV4, V9_IPV6, V9_OPTIONS_SCOPE, V9_OPTIONS)
        } else {
            (IPFIX_IPV4, IPFIX_IPV6, IPFIX_OPTIONS_SCOPE, IPFIX_OPTIONS)
        };
        // Data templates.
        self.set_start = self.buf.len();
        self.set_id = if v9 { 0 } else { 2 };
        put16(&mut self.buf, self.set_id);
        put16(&mut self.buf, 0);
        for (id, fields) in [(TEMPLATE_IPV4, t4), (TEMPLATE_IPV6, t6)] {
            put16(&mut self.buf, id);
            put16(&mut self.buf, fields.len() as u16);
            for &(f, l) in fields {
                put16(&mut self.buf, f);
                put16(&mut self.buf, l);
            }
        }
        self.close_set();
        // Options template.
        self.set_start = self.buf.len();
        self.set_id = if v9 { 1 } else { 3 };
        put16(&mut self.buf, self.set_id);
        put16(&mut self.buf, 0);
        put16(&mut self.buf, TEMPLATE_OPTIONS);
        if v9 {
            put16(&mut self.buf, (scope.len() * 4) as u16);
            put16(&mut self.buf, (opts.len() * 4) as u16);
        } else {
            put16(&mut self.buf, (scope.len() + opts.len()) as u16);
            put16(&mut self.buf, scope.len() as u16);
        }
        for &(f, l) in scope.iter().chain(opts) {
            put16(&mut self.buf, f);
            put16(&mut self.buf, l);
        }
        self.close_set();
        // Options data: the sampling parameters.
        self.set_start = self.buf.len();
        self.set_id = TEMPLATE_OPTIONS;
        put16(&mut self.buf, TEMPLATE_OPTIONS);
        put16(&mut self.buf, 0);
        let n = self.sampling;
        if v9 {
            put32(&mut self.buf, u32::from(self.exporter));
            put32(&mut self.buf, n);
            self.buf.push(2);
        } else {
            put32(&mut self.buf, OBSERVATION_DOMAIN);
            put32(&mut self.buf, n);
            self.buf.push(2);
            put16(&mut self.buf, 3);
            put32(&mut self.buf, 1);
            put32(&mut self.buf, n);
        }
        self.close_set();
        self.count += 3 + 1;
        self.data_records += 1;
        self.stats.template_records += 3;
        self.stats.option_records += 1;
    }

    /// Send the open datagram, if any.
    fn flush(&mut self, ts: u64, sink: &mut dyn FnMut(u64, &[u8])) {
        if !self.open {
            return;
        }
        self.close_set();
        let uptime_ms = (ts.saturating_sub(self.boot_ns) / 1_000_000) as u32;
        let secs = (ts / 1_000_000_000) as u32;
        let payload_len = self.buf.len() - PAYLOAD_AT;
        let mut h = [0u8; SFLOW_HEADER];
        let header: &[u8] = match self.format {
            FlowFormat::NetflowV9 => {
                h[0..2].copy_from_slice(&9u16.to_be_bytes());
                h[2..4].copy_from_slice(&(self.count as u16).to_be_bytes());
                h[4..8].copy_from_slice(&uptime_ms.to_be_bytes());
                h[8..12].copy_from_slice(&secs.to_be_bytes());
                h[12..16].copy_from_slice(&self.sequence.to_be_bytes());
                h[16..20].copy_from_slice(&OBSERVATION_DOMAIN.to_be_bytes());
                self.sequence = self.sequence.wrapping_add(1);
                &h[..V9_HEADER]
            }
            FlowFormat::Ipfix => {
                h[0..2].copy_from_slice(&10u16.to_be_bytes());
                h[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
                h[4..8].copy_from_slice(&secs.to_be_bytes());
                h[8..12].copy_from_slice(&self.sequence.to_be_bytes());
                h[12..16].copy_from_slice(&OBSERVATION_DOMAIN.to_be_bytes());
                self.sequence = self.sequence.wrapping_add(self.data_records);
                &h[..IPFIX_HEADER]
            }
            FlowFormat::Sflow5 => {
                self.sequence = self.sequence.wrapping_add(1);
                h[0..4].copy_from_slice(&5u32.to_be_bytes());
                h[4..8].copy_from_slice(&1u32.to_be_bytes());
                h[8..12].copy_from_slice(&self.exporter.octets());
                h[12..16].copy_from_slice(&0u32.to_be_bytes());
                h[16..20].copy_from_slice(&self.sequence.to_be_bytes());
                h[20..24].copy_from_slice(&uptime_ms.to_be_bytes());
                h[24..28].copy_from_slice(&self.count.to_be_bytes());
                &h[..SFLOW_HEADER]
            }
        };
        self.buf[PAYLOAD_AT..PAYLOAD_AT + header.len()].copy_from_slice(header);
        self.write_lower_layers();
        sink(ts, &self.buf);
        self.open = false;
        self.stats.datagrams += 1;
        self.since_templates += 1;
    }

    /// Ethernet, IPv4 and UDP headers (with checksums) in front of the payload.
    fn write_lower_layers(&mut self) {
        let ip_len = self.buf.len() - ETH_LEN;
        let udp_len = ip_len - IP_LEN;
        let (src, dst) = (self.exporter.octets(), self.collector.octets());
        let b = &mut self.buf;
        b[0..6].copy_from_slice(&[0x02, 0x01, dst[0], dst[1], dst[2], dst[3]]);
        b[6..12].copy_from_slice(&[0x02, 0x00, src[0], src[1], src[2], src[3]]);
        b[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut b[ETH_LEN..ETH_LEN + IP_LEN];
        ip[0] = 0x45;
        ip[1] = 0;
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = 17;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let c = !fold16(sum16(0, ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);
        let at = ETH_LEN + IP_LEN;
        b[at..at + 2].copy_from_slice(&self.src_port.to_be_bytes());
        b[at + 2..at + 4].copy_from_slice(&self.format.udp_port().to_be_bytes());
        b[at + 4..at + 6].copy_from_slice(&(udp_len as u16).to_be_bytes());
        b[at + 6..at + 8].copy_from_slice(&[0, 0]);
        let mut s = sum16(0, &src);
        s = sum16(s, &dst);
        s += 17 + udp_len as u64;
        s = sum16(s, &b[at..]);
        let mut c = !fold16(s);
        if c == 0 {
            c = 0xffff;
        }
        b[at + 6..at + 8].copy_from_slice(&c.to_be_bytes());
    }

    /// One sFlow flow sample for a sampled packet.
    fn flow_sample(
        &mut self,
        ts: u64,
        obs: &Observation,
        frame: &[u8],
        sink: &mut dyn FnMut(u64, &[u8]),
    ) {
        let header = &frame[..frame.len().min(SFLOW_HEADER_BYTES)];
        let padded = header.len().div_ceil(4) * 4;
        let record_len = 16 + padded;
        let sample_len = 32 + 8 + record_len;
        self.begin_sample(ts, 8 + sample_len, sink);
        let ifx = ingress_interface(obs.src);
        let c = &mut self.ifaces[ifx as usize];
        c.flow_seq = c.flow_seq.wrapping_add(1);
        let (seq, pool) = (c.flow_seq, c.pool);
        let b = &mut self.buf;
        put32(b, 1); // enterprise 0, format 1: flow_sample
        put32(b, sample_len as u32);
        put32(b, seq);
        put32(b, ifx); // source id: type 0 (ifIndex), index
        put32(b, self.sampling);
        put32(b, pool);
        put32(b, 0); // drops
        put32(b, ifx);
        put32(b, EGRESS_INTERFACE);
        put32(b, 1); // one record
        put32(b, 1); // enterprise 0, format 1: raw packet header
        put32(b, record_len as u32);
        put32(b, 1); // header protocol: Ethernet
        put32(b, obs.wire_len + 4); // frame length, FCS included
        put32(b, 4); // stripped: the FCS
        put32(b, header.len() as u32);
        b.extend_from_slice(header);
        b.resize(b.len() + padded - header.len(), 0);
        self.count += 1;
        let n = self.sampling as u64;
        self.stats.flow_records += 1;
        self.stats.packets_represented += obs.packets * n;
        self.stats.bytes_represented += obs.bytes * n;
    }

    /// Counter samples (generic interface counters) for every interface.
    fn counters(&mut self, ts: u64, sink: &mut dyn FnMut(u64, &[u8])) {
        const RECORD: usize = 88;
        const SAMPLE: usize = 12 + 8 + RECORD;
        for ifx in 1..=EGRESS_INTERFACE {
            self.begin_sample(ts, 8 + SAMPLE, sink);
            let c = &mut self.ifaces[ifx as usize];
            c.counter_seq = c.counter_seq.wrapping_add(1);
            let c = *c;
            let b = &mut self.buf;
            put32(b, 2); // enterprise 0, format 2: counters_sample
            put32(b, SAMPLE as u32);
            put32(b, c.counter_seq);
            put32(b, ifx);
            put32(b, 1); // one record
            put32(b, 1); // enterprise 0, format 1: generic interface counters
            put32(b, RECORD as u32);
            put32(b, ifx);
            put32(b, 6); // ethernetCsmacd
            put64(b, 10_000_000_000);
            put32(b, 1); // full duplex
            put32(b, 3); // admin up, oper up
            put64(b, c.in_octets);
            put32(b, c.in_pkts);
            put32(b, 0);
            put32(b, 0);
            put32(b, 0);
            put32(b, 0);
            put32(b, 0);
            put64(b, c.out_octets);
            put32(b, c.out_pkts);
            put32(b, 0);
            put32(b, 0);
            put32(b, 0);
            put32(b, 0);
            put32(b, 2); // promiscuous: false
            self.count += 1;
            self.stats.option_records += 1;
        }
    }

    /// Make room for an sFlow sample of `len` bytes.
    fn begin_sample(&mut self, ts: u64, len: usize, sink: &mut dyn FnMut(u64, &[u8])) {
        if self.open && self.buf.len() + len > MAX_FRAME {
            self.flush(ts, sink);
        }
        if !self.open {
            self.open_datagram(ts);
        }
    }
}

/// An address as 128 bits (IPv4 as IPv4-mapped IPv6, only for mixed-family pairs).
fn v6_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// ToS / traffic class of the outermost IP header of an Ethernet frame (after VLAN tags).
fn ip_tos(frame: &[u8]) -> u8 {
    let mut at = 12;
    loop {
        let Some(t) = frame.get(at..at + 2) else {
            return 0;
        };
        match u16::from_be_bytes([t[0], t[1]]) {
            0x8100 | 0x88a8 | 0x9100 => at += 4,
            0x0800 => return frame.get(at + 3).copied().unwrap_or(0),
            0x86dd => {
                return match frame.get(at + 2..at + 4) {
                    Some(v) => (v[0] << 4) | (v[1] >> 4),
                    None => 0,
                }
            }
            _ => return 0,
        }
    }
}

#[inline]
fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

#[inline]
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

#[inline]
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_be_bytes());
}

/// One's-complement sum of big-endian 16-bit words (odd tail padded with zero).
fn sum16(mut s: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        s += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = chunks.remainder() {
        s += (*last as u64) << 8;
    }
    s
}

fn fold16(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for f in FlowFormat::ALL {
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.name())
            );
        }
    }

    #[test]
    fn record_lengths() {
        assert_eq!(record_len(V9_IPV4), 51);
        assert_eq!(record_len(V9_IPV6), 75);
        assert_eq!(record_len(IPFIX_IPV4), 60);
        assert_eq!(record_len(IPFIX_IPV6), 84);
    }

    #[test]
    fn interfaces_in_range_and_spread() {
        let mut seen = [0u32; UPLINKS as usize + 1];
        for i in 0..4096u32 {
            let a = IpAddr::V4(Ipv4Addr::from(i << 8 | 7));
            let x = ingress_interface(a);
            assert!((1..=UPLINKS).contains(&x));
            seen[x as usize] += 1;
        }
        assert!(seen[1..].iter().all(|&n| n > 800), "{seen:?}");
    }

    #[test]
    fn tos_through_vlan() {
        let mut f = vec![0u8; 40];
        f[12] = 0x81;
        f[16] = 0x08;
        f[17] = 0x00;
        f[19] = 0xb8;
        assert_eq!(ip_tos(&f), 0xb8);
    }
}
