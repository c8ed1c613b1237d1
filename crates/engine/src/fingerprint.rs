//! Botnet fingerprints: Mirai attack vectors scored against the leaked source's stock
//! defaults, and Mirai / IoT telnet scanning (spec `attack-signatures.md` §1 and §2).
//!
//! Three layers, all allocation-free on the per-packet path:
//!
//! - [`match_packet`] scores one [`Observation`] against every Mirai vector and returns the
//!   vector whose *discriminating* fields (spec table 1.3, "best discriminators") all match,
//!   with a bitmask of every field that matched ([`MiraiVector::fields`] names the bits).
//!   The required fields of the ten vectors are mutually exclusive, so at most one vector
//!   can match a packet.
//! - [`MiraiEvidence`] is a fixed-size accumulator per (victim, wave). Facts a single packet
//!   cannot prove — that MSS / window / query length are constant per attack, that ports are
//!   random per packet, that the HTTP requests come from the five hard-coded user agents —
//!   are checked there, and [`MiraiEvidence::verdict`] reports a [`Fingerprint`] only when
//!   the matched packets are at least [`MATCH_SHARE_MIN`] of the wave *and* those per-attack
//!   checks hold. Two evidences merge exactly (associative and commutative), so chunks of a
//!   capture can be analysed in parallel.
//! - [`is_mirai_scan`], [`is_telnet_scan`] and [`ScannerTracker`] recognise scanning: the
//!   Mirai scanner's `seq == destination address` SYNs, and IoT telnet / exploit-port
//!   scanning without that signature, which is reported as scanning and never as Mirai.
//!
//! ## What the observation cannot show
//!
//! [`Observation`] carries header facts only (no TCP timestamp values, no payload bytes), so
//! the following spec discriminators are **not** used: syn's TSval constancy, greip's inner /
//! outer IP ID relation and fixed inner source, udp / ack payload entropy, vse's exact
//! payload, dns's 12-character `[a-w0-8]` label, http's user-agent strings and header order.
//! Sizes stand in for payloads where the stock defaults fix them (vse 25 bytes, dns 59 +
//! len(domain), http request = 180 + path + host + user-agent length).
//!
//! Only packet observations count ([`Origin::Packet`]): flow records carry no per-packet
//! header facts. Mirai is IPv4-only, so IPv6 packets never match a vector.

use core::net::IpAddr;
use std::collections::BTreeMap;

use floodtrace_wire::observe::{flag, Encap, Fragment, Origin};
use floodtrace_wire::transport::{tcp_flag, PROTO_GRE, PROTO_TCP, PROTO_UDP};
use floodtrace_wire::Observation;
use serde::Serialize;

/// Smallest share of a wave's packets that must match one vector for a fingerprint.
///
/// Half the wave: a Mirai flood dominates the traffic towards its victim during a wave, and
/// background traffic (or a second, concurrent vector) rarely reaches half of it.
pub const MATCH_SHARE_MIN: f64 = 0.5;

/// Fewest matched packets (http: request segments, see [`MIN_HTTP_REQUESTS`]) for a
/// fingerprint: per-attack checks need a few packets to mean anything.
pub const MIN_PACKETS: u64 = 16;

/// Fewest HTTP request segments for an http fingerprint (each Mirai connection carries one
/// request; the user-agent length check needs several connections).
pub const MIN_HTTP_REQUESTS: u64 = 8;

/// A per-packet field is listed in [`Fingerprint::fields`] when at least this share of the
/// vector's matched packets carried it (numerator, denominator).
pub const FIELD_SHARE_MIN: (u64, u64) = (9, 10);

/// Source slots kept per vector for per-bot constancy checks (bottom-k by address hash).
const SOURCE_SLOTS: usize = 8;
/// Distinct per-attack values kept per vector (the smallest ones).
const DISTINCT_VALUES: usize = 16;
/// dns query IP lengths counted exactly: 59 + a domain of 3..=253 characters.
const DNS_LEN_MIN: u32 = 62;
const DNS_LEN_MAX: u32 = 59 + 253;
const DNS_LENS: usize = (DNS_LEN_MAX - DNS_LEN_MIN + 1) as usize;

/// The ten Mirai attack vectors of the leaked source (spec §1.1; `proxy` is not registered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum MiraiVector {
    /// Generic UDP flood (`attack_udp_generic`).
    Udp,
    /// Valve Source Engine query flood (`attack_udp_vse`).
    Vse,
    /// DNS water torture through a resolver (`attack_udp_dns`).
    Dns,
    /// SYN flood with options (`attack_tcp_syn`).
    Syn,
    /// ACK flood (`attack_tcp_ack`).
    Ack,
    /// ACK+PSH flood on an established 4-tuple (`attack_tcp_stomp`).
    Stomp,
    /// GRE carrying IPv4/UDP (`attack_gre_ip`).
    GreIp,
    /// GRE transparent Ethernet bridging (`attack_gre_eth`).
    GreEth,
    /// UDP flood over a kernel socket (`attack_udp_plain`).
    UdpPlain,
    /// HTTP/1.1 flood (`attack_app_http`).
    Http,
}

// Per-packet field bits. Bit i of a vector's mask is named by `fields()[i]`.
const SYN_FIELDS: &[&str] = &[
    "flags=SYN",
    "window=0",
    "options_order",
    "mss=1400-1415",
    "wscale=6",
    "ip_len=60",
    "df=1",
    "ack=0",
    "ttl<=64",
];
const ACK_FIELDS: &[&str] = &[
    "flags=ACK",
    "no_options",
    "payload=512",
    "ip_len=552",
    "df=0",
    "ttl<=64",
];
const STOMP_FIELDS: &[&str] = &[
    "flags=ACK+PSH",
    "doff=8_junk_options",
    "seq_ack_16bit",
    "payload=768",
    "ip_len=808",
    "df=1",
    "ttl<=64",
];
const UDP_FIELDS: &[&str] = &["ip_len=540", "payload=512", "df=0", "ttl<=64"];
const VSE_FIELDS: &[&str] = &["dport=27015", "ip_len=53", "payload=25", "df=0", "ttl<=64"];
const DNS_FIELDS: &[&str] = &[
    "dport=53",
    "df=0",
    "ip_len=59+domain",
    "resolver",
    "ttl<=64",
];
const GREIP_FIELDS: &[&str] = &[
    "gre=0x0800",
    "ip_len=564",
    "inner=udp",
    "df=1",
    "ttl<=64",
    "inner_dst_random",
];
const GREETH_FIELDS: &[&str] = &[
    "gre=0x6558",
    "ip_len=578",
    "inner=udp",
    "df=1",
    "ttl<=64",
    "inner_dst_random",
];
const UDPPLAIN_FIELDS: &[&str] = &["ip_len=540", "payload=512", "df=1", "ttl<=64"];
const HTTP_FIELDS: &[&str] = &[
    "dport=80",
    "flags=ACK+PSH",
    "df=1",
    "request_len",
    "ttl<=64",
];

/// TCP option kinds of Mirai's syn (and Linux's) SYN: MSS, SACK_PERM, TS, NOP, WS.
const SYN_OPTION_KINDS: u64 = 0x02_04_08_01_03;
/// Option kinds of a Linux established segment: NOP, NOP, TS.
const LINUX_TS_KINDS: u64 = 0x01_01_08;
/// Mirai's fallback resolvers (`get_dns_resolver`): 8.8.8.8, 74.82.42.42, 64.6.64.6, 4.2.2.2.
const MIRAI_RESOLVERS: [u32; 4] = [0x0808_0808, 0x4a52_2a2a, 0x4006_4006, 0x0402_0202];
/// Ports of UDP services; a 540-byte datagram from one of them looks like a reflected
/// response, to one of them like service traffic (QUIC on 443), so neither is matched as
/// udp / udpplain (Mirai draws ports uniformly: 18 in 65,536 lost).
const SERVICE_PORTS: [u16; 18] = [
    19, 53, 69, 111, 123, 137, 161, 389, 443, 520, 1900, 3283, 3478, 3702, 5353, 5683, 11211, 27015,
];
/// Fixed bytes of a stock Mirai HTTP request without path, host and user agent (request
/// line, header names, `Connection`, `Accept`, `Accept-Language`, final CRLF).
const HTTP_REQUEST_FIXED: u16 = 180;
/// Lengths of the five Mirai user agents (Chrome 51/52 on NT 10.0: 110, on NT 6.1: 109,
/// Safari 9.1.2: 116).
const HTTP_UA_LENGTHS: [u16; 3] = [109, 110, 116];
/// Request sizes matched as http: path "/" and a one-character host at least, path + host
/// at most 128 characters (a host name or address and a short path).
const HTTP_LEN_MIN: u16 = HTTP_REQUEST_FIXED + HTTP_UA_LENGTHS[0] + 2;
const HTTP_LEN_MAX: u16 = HTTP_REQUEST_FIXED + HTTP_UA_LENGTHS[2] + 128;
const HTTP_LENS: usize = (HTTP_LEN_MAX - HTTP_LEN_MIN + 1) as usize;

impl MiraiVector {
    /// Every vector, in [`MiraiVector`] order.
    pub const ALL: [MiraiVector; 10] = [
        MiraiVector::Udp,
        MiraiVector::Vse,
        MiraiVector::Dns,
        MiraiVector::Syn,
        MiraiVector::Ack,
        MiraiVector::Stomp,
        MiraiVector::GreIp,
        MiraiVector::GreEth,
        MiraiVector::UdpPlain,
        MiraiVector::Http,
    ];

    /// The attack name used by the Mirai CNC: `udp`, `vse`, `dns`, `syn`, `ack`, `stomp`,
    /// `greip`, `greeth`, `udpplain`, `http`.
    pub fn name(self) -> &'static str {
        match self {
            MiraiVector::Udp => "udp",
            MiraiVector::Vse => "vse",
            MiraiVector::Dns => "dns",
            MiraiVector::Syn => "syn",
            MiraiVector::Ack => "ack",
            MiraiVector::Stomp => "stomp",
            MiraiVector::GreIp => "greip",
            MiraiVector::GreEth => "greeth",
            MiraiVector::UdpPlain => "udpplain",
            MiraiVector::Http => "http",
        }
    }

    /// The vector named `name` (as [`MiraiVector::name`] spells it).
    pub fn from_name(name: &str) -> Option<MiraiVector> {
        MiraiVector::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Names of the per-packet fields: bit `i` of a [`match_packet`] mask is `fields()[i]`.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            MiraiVector::Udp => UDP_FIELDS,
            MiraiVector::Vse => VSE_FIELDS,
            MiraiVector::Dns => DNS_FIELDS,
            MiraiVector::Syn => SYN_FIELDS,
            MiraiVector::Ack => ACK_FIELDS,
            MiraiVector::Stomp => STOMP_FIELDS,
            MiraiVector::GreIp => GREIP_FIELDS,
            MiraiVector::GreEth => GREETH_FIELDS,
            MiraiVector::UdpPlain => UDPPLAIN_FIELDS,
            MiraiVector::Http => HTTP_FIELDS,
        }
    }

    /// Names of the bits set in `mask`, in bit order.
    pub fn field_names(self, mask: u16) -> impl Iterator<Item = &'static str> {
        self.fields()
            .iter()
            .enumerate()
            .filter(move |(i, _)| mask & (1 << i) != 0)
            .map(|(_, n)| *n)
    }
}

#[inline]
fn df(o: &Observation) -> bool {
    o.flags & flag::DONT_FRAGMENT != 0
}

/// Bits for the optional facts shared by several vectors, at the positions `fields()` gives.
#[inline]
fn bit(cond: bool, i: u16) -> u16 {
    (cond as u16) << i
}

/// TCP header length implied by the IP length and payload length (IHL 5 checked by caller).
#[inline]
fn tcp_hlen(o: &Observation) -> u32 {
    o.ip_len.wrapping_sub(20).wrapping_sub(o.payload_len as u32)
}

/// A 32-bit value Mirai's 16-bit byte-swap quirk produced: one half is zero.
#[inline]
fn half_zero(x: u32) -> bool {
    x >> 16 == 0 || x & 0xffff == 0
}

fn match_syn(o: &Observation) -> Option<u16> {
    let t = &o.tcp_options;
    let required = o.tcp_flags == tcp_flag::SYN
        && o.tcp_window == 0
        && !t.malformed
        && t.count == 5
        && t.kinds == SYN_OPTION_KINDS
        && (1400..=1415).contains(&t.mss)
        && t.wscale == 6
        && o.ip_len == 60
        && o.payload_len == 0;
    required.then(|| 0b11_1111 | bit(df(o), 6) | bit(o.tcp_ack == 0, 7) | bit(o.ttl <= 64, 8))
}

fn match_ack(o: &Observation) -> Option<u16> {
    let required = o.tcp_flags == tcp_flag::ACK
        && o.tcp_options.count == 0
        && tcp_hlen(o) == 20
        && o.payload_len == 512
        && o.ip_len == 552
        && !df(o);
    required.then(|| 0b1_1111 | bit(o.ttl <= 64, 5))
}

fn match_stomp(o: &Observation) -> Option<u16> {
    let t = &o.tcp_options;
    // Data offset 8 with no options written: the first 12 payload bytes parse as garbage
    // options, which (unlike a real NOP NOP TS block) almost never walk cleanly.
    let junk = t.malformed || t.kinds != LINUX_TS_KINDS || t.count != 3;
    let required = o.tcp_flags == tcp_flag::ACK | tcp_flag::PSH
        && tcp_hlen(o) == 32
        && junk
        && half_zero(o.tcp_seq)
        && half_zero(o.tcp_ack)
        && o.payload_len == 756
        && o.ip_len == 808
        && df(o);
    required.then(|| 0b11_1111 | bit(o.ttl <= 64, 6))
}

fn match_http(o: &Observation) -> Option<u16> {
    let t = &o.tcp_options;
    let required = o.dport == 80
        && o.tcp_flags == tcp_flag::ACK | tcp_flag::PSH
        && df(o)
        && (HTTP_LEN_MIN..=HTTP_LEN_MAX).contains(&o.payload_len)
        && !t.malformed;
    required.then(|| 0b1111 | bit(o.ttl <= 64, 4))
}

fn match_udp(o: &Observation) -> Option<u16> {
    let required = o.ip_len == 540
        && o.payload_len == 512
        && !df(o)
        && !SERVICE_PORTS.contains(&o.sport)
        && !SERVICE_PORTS.contains(&o.dport);
    required.then(|| 0b111 | bit(o.ttl <= 64, 3))
}

fn match_udpplain(o: &Observation) -> Option<u16> {
    let required = o.ip_len == 540
        && o.payload_len == 512
        && df(o)
        && !SERVICE_PORTS.contains(&o.sport)
        && !SERVICE_PORTS.contains(&o.dport);
    required.then(|| 0b111 | bit(o.ttl <= 64, 3))
}

fn match_vse(o: &Observation) -> Option<u16> {
    let required = o.dport == 27015 && o.ip_len == 53 && o.payload_len == 25 && !df(o);
    required.then(|| 0b1111 | bit(o.ttl <= 64, 4))
}

fn match_dns(o: &Observation) -> Option<u16> {
    // 59 + len(domain): the shortest plausible domain is three characters ("a.b").
    let required = o.dport == 53
        && o.sport != 53
        && !df(o)
        && (DNS_LEN_MIN..=DNS_LEN_MAX).contains(&o.ip_len)
        && o.payload_len as u32 + 28 == o.ip_len;
    let resolver = match o.dst {
        IpAddr::V4(d) => MIRAI_RESOLVERS.contains(&u32::from(d)),
        IpAddr::V6(_) => false,
    };
    required.then(|| 0b111 | bit(resolver, 3) | bit(o.ttl <= 64, 4))
}

fn match_gre(o: &Observation, eth: bool) -> Option<u16> {
    let (encap, proto, len) = if eth {
        (Encap::GreEth, 0x6558, 578)
    } else {
        (Encap::GreIp, 0x0800, 564)
    };
    let required = o.encap == encap
        && o.inner.gre_protocol == proto
        && o.ip_len == len
        && o.inner.proto == PROTO_UDP
        && df(o);
    required.then(|| 0b1111 | bit(o.ttl <= 64, 4) | bit(!o.inner.dst_is_outer_dst, 5))
}

/// Scores one packet against every Mirai vector's stock defaults (spec §1.2, table 1.3).
///
/// Returns the vector whose discriminating fields all match, with a bitmask of every field
/// that matched (required and optional; [`MiraiVector::fields`] names the bits). Required per
/// vector (all: a packet observation, IPv4 without IP options, not a fragment, transport
/// header complete):
///
/// | vector | required | optional bits |
/// |---|---|---|
/// | syn | flags = SYN only, window 0, options exactly MSS SACK_PERM TS NOP WS, MSS 1400–1415, WS 6, IP len 60, no payload | DF, ack 0, TTL ≤ 64 |
/// | ack | flags = ACK only, no options (doff 5), payload 512, IP len 552, DF clear | TTL ≤ 64 |
/// | stomp | flags = ACK+PSH, doff 8 whose "options" do not walk as NOP NOP TS, seq and ack with one zero 16-bit half, payload 756 after the claimed header (768 on the wire), IP len 808, DF | TTL ≤ 64 |
/// | udp | IP len 540, payload 512, DF clear, source port not a reflecting service | TTL ≤ 64 |
/// | udpplain | IP len 540, payload 512, DF set (kernel socket), source port not a service | TTL ≤ 64 |
/// | vse | dport 27015, IP len 53, payload 25, DF clear | TTL ≤ 64 |
/// | dns | dport 53 (sport not 53), DF clear, IP len 62–312 (= 59 + domain) | destination a Mirai fallback resolver, TTL ≤ 64 |
/// | greip | GRE 0x0800, IP len 564, inner UDP, DF | TTL ≤ 64, inner destination ≠ outer |
/// | greeth | GRE 0x6558, IP len 578, inner UDP, DF | TTL ≤ 64, inner destination ≠ outer |
/// | http | dport 80, flags = ACK+PSH, DF, payload of a stock request (291–424 bytes: 180 fixed + user agent 109–116 + path and host 2–128) | TTL ≤ 64 |
///
/// The required sets are mutually exclusive, so the "best" vector is the only one. TTL is
/// never required: the bot sends 64, but forks and the simulator's scenarios use others.
/// An http match is only a candidate: the request's size is all the packet shows, and
/// [`MiraiEvidence`] decides from the set of request sizes.
#[inline]
pub fn match_packet(obs: &Observation) -> Option<(MiraiVector, u16)> {
    let o = obs;
    if o.origin != Origin::Packet
        || !matches!((o.src, o.dst), (IpAddr::V4(_), IpAddr::V4(_)))
        || o.fragment != Fragment::None
        || o.flags & (flag::IPV4_OPTIONS | flag::L4_TRUNCATED) != 0
    {
        return None;
    }
    let tagged = |v: MiraiVector, m: Option<u16>| m.map(|m| (v, m));
    match o.proto {
        PROTO_TCP => tagged(MiraiVector::Syn, match_syn(o))
            .or_else(|| tagged(MiraiVector::Ack, match_ack(o)))
            .or_else(|| tagged(MiraiVector::Stomp, match_stomp(o)))
            .or_else(|| tagged(MiraiVector::Http, match_http(o))),
        PROTO_UDP => tagged(MiraiVector::Udp, match_udp(o))
            .or_else(|| tagged(MiraiVector::UdpPlain, match_udpplain(o)))
            .or_else(|| tagged(MiraiVector::Vse, match_vse(o)))
            .or_else(|| tagged(MiraiVector::Dns, match_dns(o))),
        PROTO_GRE => tagged(MiraiVector::GreIp, match_gre(o, false))
            .or_else(|| tagged(MiraiVector::GreEth, match_gre(o, true))),
        _ => None,
    }
}

/// A packet of a Mirai http connection other than the request: the kernel's SYN, ACK or
/// FIN/RST towards port 80 with DF and no payload. Counted for the http share only.
#[inline]
pub fn http_context(o: &Observation) -> bool {
    const SYN: u8 = tcp_flag::SYN;
    const ACK: u8 = tcp_flag::ACK;
    const FIN_ACK: u8 = tcp_flag::FIN | tcp_flag::ACK;
    const RST: u8 = tcp_flag::RST;
    const RST_ACK: u8 = tcp_flag::RST | tcp_flag::ACK;
    o.origin == Origin::Packet
        && o.proto == PROTO_TCP
        && matches!((o.src, o.dst), (IpAddr::V4(_), IpAddr::V4(_)))
        && o.dport == 80
        && df(o)
        && o.payload_len == 0
        && matches!(o.tcp_flags, SYN | ACK | FIN_ACK | RST | RST_ACK)
}

/// A bijective 64-bit mixer (splitmix64 finaliser): distinct inputs give distinct keys.
#[inline]
fn mix64(z: u64) -> u64 {
    crate::sketch::hash128(z as u128, 0)
}

#[inline]
fn addr_key(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(v) => mix64(u32::from(v) as u64),
        IpAddr::V6(v) => {
            let x = u128::from(v);
            mix64((x >> 64) as u64 ^ mix64(x as u64))
        }
    }
}

/// The smallest [`DISTINCT_VALUES`] distinct values seen, and whether there were more.
/// A function of the *set* of values seen, so merging is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct MinSet {
    vals: [u32; DISTINCT_VALUES],
    len: u8,
    overflow: bool,
}

impl MinSet {
    fn insert(&mut self, v: u32) {
        let len = self.len as usize;
        match self.vals[..len].binary_search(&v) {
            Ok(_) => {}
            Err(pos) => {
                if len == DISTINCT_VALUES {
                    self.overflow = true;
                    if pos == len {
                        return;
                    }
                    self.vals.copy_within(pos..len - 1, pos + 1);
                } else {
                    self.vals.copy_within(pos..len, pos + 1);
                    self.len += 1;
                }
                self.vals[pos] = v;
            }
        }
    }

    fn merge(&mut self, other: &MinSet) {
        for &v in &other.vals[..other.len as usize] {
            self.insert(v);
        }
        self.overflow |= other.overflow;
    }

    /// Number of distinct values, if not more than [`DISTINCT_VALUES`].
    fn distinct(&self) -> Option<usize> {
        (!self.overflow).then_some(self.len as usize)
    }
}

/// One source's per-attack values: `a` and `b` ranges (which ones depends on the vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct SourceSlot {
    key: u64,
    packets: u64,
    a_min: u32,
    a_max: u32,
    b_min: u32,
    b_max: u32,
}

impl SourceSlot {
    fn combine(&mut self, o: &SourceSlot) {
        self.packets = self.packets.saturating_add(o.packets);
        self.a_min = self.a_min.min(o.a_min);
        self.a_max = self.a_max.max(o.a_max);
        self.b_min = self.b_min.min(o.b_min);
        self.b_max = self.b_max.max(o.b_max);
    }

    fn constant(&self) -> bool {
        self.a_min == self.a_max && self.b_min == self.b_max
    }
}

/// The [`SOURCE_SLOTS`] sources with the smallest address keys, each with complete values:
/// a source kept after a merge was kept in every part (its rank only grows with more
/// sources), so merging is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct SourceSample {
    slots: [SourceSlot; SOURCE_SLOTS],
    len: u8,
}

impl SourceSample {
    fn add(&mut self, s: SourceSlot) {
        let len = self.len as usize;
        match self.slots[..len].binary_search_by_key(&s.key, |x| x.key) {
            Ok(i) => self.slots[i].combine(&s),
            Err(pos) => {
                if len == SOURCE_SLOTS {
                    if pos == len {
                        return;
                    }
                    self.slots.copy_within(pos..len - 1, pos + 1);
                } else {
                    self.slots.copy_within(pos..len, pos + 1);
                    self.len += 1;
                }
                self.slots[pos] = s;
            }
        }
    }

    fn merge(&mut self, other: &SourceSample) {
        for s in &other.slots[..other.len as usize] {
            self.add(*s);
        }
    }

    /// (sources seen more than once, at least three quarters of them constant).
    ///
    /// Not all: several infected devices behind one NAT address show as one source
    /// whose values change (each bot draws its own), and a sample slot or two may land on
    /// such an address.
    fn constancy(&self) -> (usize, bool) {
        let multi = self.slots[..self.len as usize]
            .iter()
            .filter(|s| s.packets >= 2);
        let (n, constant) = multi.fold((0, 0), |(n, c), s| (n + 1, c + s.constant() as usize));
        (n, constant * 4 >= n * 3)
    }
}

/// Evidence for one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct VectorEvidence {
    packets: u64,
    field_hits: [u64; 16],
    /// Source / destination ports seen, one bit per 1024-port bucket (inner ports for GRE).
    sport_buckets: u64,
    dport_buckets: u64,
    /// Distinct values of the vector's per-attack constant `a` (see `attack_values`).
    values: MinSet,
    sources: SourceSample,
}

impl VectorEvidence {
    fn merge(&mut self, o: &VectorEvidence) {
        self.packets = self.packets.saturating_add(o.packets);
        for (a, b) in self.field_hits.iter_mut().zip(&o.field_hits) {
            *a += b;
        }
        self.sport_buckets |= o.sport_buckets;
        self.dport_buckets |= o.dport_buckets;
        self.values.merge(&o.values);
        self.sources.merge(&o.sources);
    }
}

/// The per-attack values checked for constancy: `a` (also collected as distinct values over
/// the wave) and `b`, per source.
#[inline]
fn attack_values(v: MiraiVector, o: &Observation) -> (u32, u32) {
    match v {
        MiraiVector::Syn => (o.tcp_options.mss as u32, 0),
        MiraiVector::Ack => (o.tcp_window as u32, 0),
        MiraiVector::Stomp => (o.tcp_window as u32, o.dport as u32),
        MiraiVector::Dns => (o.ip_len, 0),
        MiraiVector::UdpPlain => (o.sport as u32, o.dport as u32),
        MiraiVector::Http => (o.payload_len as u32, 0),
        MiraiVector::Udp | MiraiVector::Vse | MiraiVector::GreIp | MiraiVector::GreEth => (0, 0),
    }
}

/// Whether ports look random per packet over the whole 0–65535 range: at least half the
/// 1024-port buckets that `n` uniform draws are expected to hit (capped at 32 of 64), so an
/// ephemeral-range-only or single-port stream does not qualify.
fn spread(buckets: u64, n: u64) -> bool {
    let expected = 64.0 * (1.0 - (63.0f64 / 64.0).powf(n as f64));
    let need = ((expected * 0.5).floor() as u32).clamp(2, 32);
    buckets.count_ones() >= need
}

/// The stock Mirai requests among http candidates counted per size: the base `B` (fixed
/// text + path + host) whose sizes `B + len(user agent)` hold the most requests, as
/// (requests, user-agent length classes present). The five user agents are drawn per
/// connection, so a real flood shows two or three classes (109 and 110: 40 % each, 116:
/// 20 %); a tool repeating one request shows one.
fn http_best_base(lens: &[u64; HTTP_LENS]) -> (u64, usize) {
    let count = |len: usize| lens.get(len).copied().unwrap_or(0);
    let mut best = (0, 0);
    // Index i is size HTTP_LEN_MIN + i; a base with its 109-byte size at index i.
    for i in 0..HTTP_LENS {
        let c = [count(i), count(i + 1), count(i + 7)];
        let total: u64 = c.iter().sum();
        let classes = c.iter().filter(|&&x| x > 0).count();
        if (total, classes) > best {
            best = (total, classes);
        }
    }
    best
}

/// Fixed-size accumulator of Mirai evidence for one (victim, wave): per-vector packet and
/// field counts, port spread, distinct per-attack values and a sample of sources.
///
/// About 9 KiB, never grows. [`MiraiEvidence::merge`] is exactly associative and
/// commutative: merging the evidence of consecutive chunks equals feeding all packets to
/// one accumulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiraiEvidence {
    vectors: [VectorEvidence; 10],
    /// Packets of Mirai http connections other than the request (see `http_context`).
    http_context: u64,
    /// dns matches per IP length (index: length − 62): one domain per attack gives one
    /// length, so the modal length's packets are the attack's.
    dns_lens: [u64; DNS_LENS],
    /// http candidates per request size (index: size − 291).
    http_lens: [u64; HTTP_LENS],
}

impl Default for MiraiEvidence {
    fn default() -> Self {
        MiraiEvidence {
            vectors: Default::default(),
            http_context: 0,
            dns_lens: [0; DNS_LENS],
            http_lens: [0; HTTP_LENS],
        }
    }
}

/// One reported botnet fingerprint of a wave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fingerprint {
    /// Botnet family: `"mirai"`.
    pub family: &'static str,
    /// Vector name ([`MiraiVector::name`]).
    pub vector: &'static str,
    /// Matched packets / wave packets (http: request and connection packets, see
    /// [`MiraiEvidence::verdict`]).
    pub match_share: f64,
    /// Matched packets.
    pub packets: u64,
    /// Which fields matched: per-packet fields carried by ≥ 90 % of the matched packets
    /// (e.g. `"window=0"`, `"mss=1400-1415"`), then per-attack facts (e.g. `"mss_constant"`,
    /// `"dport_random"`, `"window_constant_per_source"`).
    pub fields: Vec<&'static str>,
}

impl MiraiEvidence {
    /// Empty evidence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one packet of the wave. Packets matching no vector are ignored (except the
    /// connection packets of an http flood, which count towards its share); the wave's
    /// total is passed to [`MiraiEvidence::verdict`].
    #[inline]
    pub fn add(&mut self, obs: &Observation) {
        match match_packet(obs) {
            Some((v, mask)) => self.record(v, mask, obs),
            None => self.http_context += http_context(obs) as u64,
        }
    }

    /// Count a packet of a Mirai http connection other than the request (see
    /// [`http_context`]).
    #[inline]
    pub fn add_context(&mut self) {
        self.http_context += 1;
    }

    /// Record a packet that [`match_packet`] matched as `(v, mask)`.
    #[inline]
    pub fn record(&mut self, v: MiraiVector, mask: u16, obs: &Observation) {
        let e = &mut self.vectors[v as usize];
        e.packets += 1;
        let mut m = mask;
        while m != 0 {
            e.field_hits[m.trailing_zeros() as usize] += 1;
            m &= m - 1;
        }
        let (sp, dp) = match v {
            MiraiVector::GreIp | MiraiVector::GreEth => (obs.inner.sport, obs.inner.dport),
            _ => (obs.sport, obs.dport),
        };
        e.sport_buckets |= 1 << (sp >> 10);
        e.dport_buckets |= 1 << (dp >> 10);
        let (a, b) = attack_values(v, obs);
        e.values.insert(a);
        match v {
            MiraiVector::Dns => self.dns_lens[(obs.ip_len - DNS_LEN_MIN) as usize] += 1,
            MiraiVector::Http => {
                self.http_lens[(obs.payload_len - HTTP_LEN_MIN) as usize] += 1;
            }
            _ => {}
        }
        e.sources.add(SourceSlot {
            key: addr_key(obs.src),
            packets: 1,
            a_min: a,
            a_max: a,
            b_min: b,
            b_max: b,
        });
    }

    /// Add `other`'s evidence (exact; associative and commutative).
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.vectors.iter_mut().zip(&other.vectors) {
            a.merge(b);
        }
        self.http_context += other.http_context;
        for (a, b) in self.dns_lens.iter_mut().zip(&other.dns_lens) {
            *a += b;
        }
        for (a, b) in self.http_lens.iter_mut().zip(&other.http_lens) {
            *a += b;
        }
    }

    /// Packets matched to `v` (for http: request segments only).
    pub fn packets(&self, v: MiraiVector) -> u64 {
        self.vectors[v as usize].packets
    }

    /// Packets matched to any vector, plus http connection packets.
    pub fn matched(&self) -> u64 {
        self.vectors.iter().map(|e| e.packets).sum::<u64>() + self.http_context
    }

    /// The fingerprints of a wave of `total_packets` packets.
    ///
    /// A vector is reported when (1) its matched packets are at least [`MIN_PACKETS`] and
    /// at least [`MATCH_SHARE_MIN`] of `total_packets`, and (2) its per-attack checks hold:
    ///
    /// - syn: every sample source seen twice or more used one MSS (MSS is per attack).
    ///   TSval constancy would be stronger but the observation has no TSval.
    /// - ack: source and destination ports random per packet; the window is constant per
    ///   sample source, or — when no source repeats (spoofed) — at most 16 windows overall.
    /// - stomp: window and destination port constant per sample source.
    /// - udp, greip, greeth: source and destination ports (inner ports for GRE) random per
    ///   packet.
    /// - vse: source port random per packet.
    /// - dns: source port random per packet, and one query size (one domain per attack)
    ///   carries the share: a dns fingerprint's packets and share count only the packets of
    ///   the most common query size, so benign queries to the same resolver are left out.
    /// - udpplain: at least one sample source repeats, and every repeating one keeps one
    ///   5-tuple (ports fixed per attack).
    /// - http: the stock requests are those whose sizes are `B + len(user agent)` for the
    ///   base `B` holding the most candidates; there must be at least
    ///   [`MIN_HTTP_REQUESTS`] of them, with two of the three user-agent sizes present
    ///   (all three from 40 requests on), making up half the candidates and at least an
    ///   eighth of the connection packets. The share counts those requests plus the
    ///   connection packets (SYN, ACK, FIN towards port 80), since a Mirai http connection
    ///   is those four packets.
    ///
    /// Stomp's share includes nothing of its handshake: two kernel packets per connection,
    /// negligible against the flood that follows.
    pub fn verdict(&self, total_packets: u64) -> Vec<Fingerprint> {
        let mut out = Vec::new();
        if total_packets == 0 {
            return out;
        }
        for v in MiraiVector::ALL {
            let e = &self.vectors[v as usize];
            let n = e.packets;
            let (requests, ua_classes) = http_best_base(&self.http_lens);
            let (counted, min) = match v {
                MiraiVector::Http => (requests + self.http_context, MIN_HTTP_REQUESTS),
                MiraiVector::Dns => (
                    self.dns_lens.iter().copied().max().unwrap_or(0),
                    MIN_PACKETS,
                ),
                _ => (n, MIN_PACKETS),
            };
            let share = (counted as f64 / total_packets as f64).min(1.0);
            let core = match v {
                MiraiVector::Http => requests,
                MiraiVector::Dns => counted,
                _ => n,
            };
            if core < min || share < MATCH_SHARE_MIN {
                continue;
            }
            let mut fields: Vec<&'static str> = v
                .fields()
                .iter()
                .enumerate()
                .filter(|(i, _)| e.field_hits[*i] * FIELD_SHARE_MIN.1 >= n * FIELD_SHARE_MIN.0)
                .map(|(_, f)| *f)
                .collect();
            let sport_random = spread(e.sport_buckets, n);
            let dport_random = spread(e.dport_buckets, n);
            let (repeating, per_source) = e.sources.constancy();
            let distinct = e.values.distinct();
            let ok = match v {
                MiraiVector::Syn => {
                    if distinct == Some(1) {
                        fields.push("mss_constant");
                    } else if repeating > 0 && per_source {
                        fields.push("mss_constant_per_source");
                    }
                    per_source
                }
                MiraiVector::Ack => {
                    let window_ok = if repeating > 0 {
                        per_source
                    } else {
                        distinct.is_some()
                    };
                    if distinct == Some(1) {
                        fields.push("window_constant");
                    } else if repeating > 0 && per_source {
                        fields.push("window_constant_per_source");
                    }
                    sport_random && dport_random && window_ok
                }
                MiraiVector::Stomp => {
                    if per_source {
                        fields.push("window_constant_per_source");
                        fields.push("dport_constant_per_source");
                    }
                    per_source
                }
                MiraiVector::Udp | MiraiVector::GreIp | MiraiVector::GreEth => {
                    sport_random && dport_random
                }
                MiraiVector::Vse => sport_random,
                MiraiVector::Dns => {
                    // `counted` is the modal length's packets: the share test above
                    // already required one query size to carry half the wave.
                    fields.push("qlen_constant");
                    sport_random
                }
                MiraiVector::UdpPlain => {
                    let ok = repeating > 0 && per_source;
                    if ok {
                        fields.push("tuple_constant_per_source");
                    }
                    ok
                }
                MiraiVector::Http => {
                    // Two user-agent classes at least, all three once there are 40
                    // requests (a class of 20 % is then missing with probability 10⁻⁴),
                    // and the stock requests are the bulk of the candidates.
                    let need = if requests >= 40 { 3 } else { 2 };
                    let ok = ua_classes >= need
                        && requests * 2 >= n
                        && requests * 8 >= self.http_context;
                    if ok {
                        fields.push("ua_length_set");
                    }
                    ok
                }
            };
            if !ok {
                continue;
            }
            match v {
                MiraiVector::Udp | MiraiVector::Ack | MiraiVector::Syn => {
                    if sport_random {
                        fields.push("sport_random");
                    }
                    if dport_random {
                        fields.push("dport_random");
                    }
                }
                MiraiVector::GreIp | MiraiVector::GreEth => fields.push("inner_ports_random"),
                MiraiVector::Vse | MiraiVector::Dns => fields.push("sport_random"),
                _ => {}
            }
            out.push(Fingerprint {
                family: "mirai",
                vector: v.name(),
                match_share: share,
                packets: counted,
                fields,
            });
        }
        out
    }
}

/// Destination ports of IoT telnet and exploit scanning (spec §2.2): telnet 23 / 2323,
/// TR-069 7547, ADB 5555, Huawei HG532 37215, Realtek 52869, camera web 81 and the router /
/// DVR management ports 8080, 8081, 8181, 8443, 9000. Port 80 is left out: a SYN to it is
/// ordinary browsing.
pub const IOT_SCAN_PORTS: [u16; 12] = [
    23, 2323, 7547, 5555, 37215, 52869, 81, 8080, 8081, 8181, 8443, 9000,
];

/// Sources a [`ScannerTracker`] keeps by default.
pub const SCANNER_CAPACITY: usize = 4096;

/// Fewest distinct destinations (a lower bound from a 64-bit hash bitmap) for a source
/// without the Mirai signature to count as scanning rather than connecting.
pub const MIN_SCAN_DESTINATIONS: u32 = 4;

/// The stock Mirai scanner's probe (spec §2.1): TCP with only SYN set, to port 23 or 2323,
/// sequence number equal to the destination IPv4 address.
#[inline]
pub fn is_mirai_scan(obs: &Observation) -> bool {
    obs.origin == Origin::Packet
        && obs.proto == PROTO_TCP
        && obs.tcp_flags == tcp_flag::SYN
        && matches!(obs.dport, 23 | 2323)
        && matches!(obs.dst, IpAddr::V4(d) if u32::from(d) == obs.tcp_seq)
}

/// An IoT scanning probe: a TCP SYN (no ACK, RST or FIN; ECN bits allowed) to one of
/// [`IOT_SCAN_PORTS`]. No sequence-number signature is required, so this also recognises
/// Hide'N Seek and other non-Mirai scanners.
#[inline]
pub fn is_telnet_scan(obs: &Observation) -> bool {
    obs.origin == Origin::Packet
        && obs.proto == PROTO_TCP
        && obs.tcp_flags & (tcp_flag::SYN | tcp_flag::ACK | tcp_flag::RST | tcp_flag::FIN)
            == tcp_flag::SYN
        && IOT_SCAN_PORTS.contains(&obs.dport)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ScanCounts {
    /// Scan probes (any IoT port).
    packets: u64,
    /// Probes to 23 / 2323.
    telnet: u64,
    /// Probes with the Mirai signature.
    mirai: u64,
    /// Destinations seen, one bit per hash bucket (popcount = lower bound of distinct).
    dsts: u64,
}

impl ScanCounts {
    fn combine(&mut self, o: &ScanCounts) {
        self.packets += o.packets;
        self.telnet += o.telnet;
        self.mirai += o.mirai;
        self.dsts |= o.dsts;
    }

    /// A Mirai scanner: most of its telnet probes carry the signature (one random ISN in
    /// 2³² matches by chance, so a majority is never a coincidence).
    fn is_mirai(&self) -> bool {
        self.mirai > 0 && self.mirai * 2 > self.telnet
    }

    fn is_scanner(&self) -> bool {
        self.is_mirai() || self.dsts.count_ones() >= MIN_SCAN_DESTINATIONS
    }
}

/// Scanning sources, bounded: up to a capacity (default [`SCANNER_CAPACITY`]) of sources
/// with exact counts; beyond it, the sources with the smallest address hashes are kept (a
/// deterministic sample, still with exact counts) and the totals stay exact.
///
/// Merging is exact (associative and commutative) at any size: the kept set is a function
/// of the set of sources seen, and a kept source was kept in every part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerTracker {
    capacity: usize,
    sources: BTreeMap<(u64, IpAddr), ScanCounts>,
    packets: u64,
    mirai_packets: u64,
    /// More distinct sources were seen than `capacity`.
    dropped: bool,
}

/// One kind of scanning found by a [`ScannerTracker`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    /// `Some("mirai")` for sources whose probes carry the Mirai `seq == destination`
    /// signature; `None` for IoT telnet / exploit-port scanning without it.
    pub family: Option<&'static str>,
    /// Scanner sources with their probe counts, most probes first.
    pub sources: Vec<(IpAddr, u64)>,
    /// Probes from the listed sources.
    pub packets: u64,
    /// Probes with the Mirai signature among them.
    pub mirai_packets: u64,
    /// Every source seen is listed (false once more than the capacity were seen: the list is
    /// then a deterministic sample).
    pub complete: bool,
}

impl Default for ScannerTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl ScannerTracker {
    /// A tracker keeping up to [`SCANNER_CAPACITY`] sources.
    pub fn new() -> Self {
        Self::with_capacity(SCANNER_CAPACITY)
    }

    /// A tracker keeping up to `capacity` (≥ 1) sources.
    pub fn with_capacity(capacity: usize) -> Self {
        ScannerTracker {
            capacity: capacity.max(1),
            sources: BTreeMap::new(),
            packets: 0,
            mirai_packets: 0,
            dropped: false,
        }
    }

    /// Feed one packet; anything but an IoT scan probe ([`is_telnet_scan`]) is ignored.
    #[inline]
    pub fn add(&mut self, obs: &Observation) {
        if !is_telnet_scan(obs) {
            return;
        }
        let mirai = is_mirai_scan(obs);
        self.packets += 1;
        self.mirai_packets += mirai as u64;
        let c = ScanCounts {
            packets: 1,
            telnet: matches!(obs.dport, 23 | 2323) as u64,
            mirai: mirai as u64,
            dsts: 1 << (addr_key(obs.dst) & 63),
        };
        self.insert((addr_key(obs.src), obs.src), c);
    }

    fn insert(&mut self, key: (u64, IpAddr), c: ScanCounts) {
        if let Some(e) = self.sources.get_mut(&key) {
            e.combine(&c);
            return;
        }
        if self.sources.len() >= self.capacity {
            self.dropped = true;
            match self.sources.last_key_value() {
                Some((last, _)) if key < *last => {
                    self.sources.pop_last();
                }
                _ => return,
            }
        }
        self.sources.insert(key, c);
    }

    /// Add `other`'s sources and totals (exact; associative and commutative for trackers
    /// of equal capacity; with different capacities the smaller one applies).
    pub fn merge(&mut self, other: &Self) {
        self.capacity = self.capacity.min(other.capacity);
        while self.sources.len() > self.capacity {
            self.sources.pop_last();
            self.dropped = true;
        }
        for (k, c) in &other.sources {
            self.insert(*k, *c);
        }
        self.packets += other.packets;
        self.mirai_packets += other.mirai_packets;
        self.dropped |= other.dropped;
    }

    /// Scan probes seen (all sources, kept or not).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Probes with the Mirai signature seen (all sources).
    pub fn mirai_packets(&self) -> u64 {
        self.mirai_packets
    }

    /// Distinct probing sources, and whether the number is exact (below the capacity).
    pub fn distinct_sources(&self) -> (usize, bool) {
        (self.sources.len(), !self.dropped)
    }

    /// The scanning found: first Mirai scanning (sources whose telnet probes mostly carry
    /// the signature), then other IoT scanning (sources probing at least
    /// [`MIN_SCAN_DESTINATIONS`] destinations without it). Empty when neither.
    pub fn report(&self) -> Vec<ScanReport> {
        let mut mirai = Vec::new();
        let mut other = Vec::new();
        for ((_, addr), c) in &self.sources {
            if c.is_mirai() {
                mirai.push((*addr, *c));
            } else if c.is_scanner() {
                other.push((*addr, *c));
            }
        }
        [(Some("mirai"), mirai), (None, other)]
            .into_iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(family, mut list)| {
                list.sort_by(|a, b| b.1.packets.cmp(&a.1.packets).then(a.0.cmp(&b.0)));
                ScanReport {
                    family,
                    packets: list.iter().map(|(_, c)| c.packets).sum(),
                    mirai_packets: list.iter().map(|(_, c)| c.mirai).sum(),
                    sources: list.into_iter().map(|(a, c)| (a, c.packets)).collect(),
                    complete: !self.dropped,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_set_keeps_smallest() {
        let mut s = MinSet::default();
        for v in (0..40u32).rev() {
            s.insert(v);
        }
        assert!(s.overflow);
        assert_eq!(s.vals.to_vec(), (0..16).collect::<Vec<_>>());
        assert_eq!(s.distinct(), None);
    }

    #[test]
    fn http_base() {
        let mut lens = [0u64; HTTP_LENS];
        let base = 10;
        lens[base] = 5;
        lens[base + 1] = 4;
        lens[base + 7] = 2;
        lens[base + 3] = 9;
        assert_eq!(http_best_base(&lens), (11, 3));
        lens[HTTP_LENS - 1] = 20;
        assert_eq!(http_best_base(&lens), (20, 1));
    }

    #[test]
    fn evidence_is_small() {
        let size = core::mem::size_of::<MiraiEvidence>();
        assert!(size < 10 * 1024, "{size}");
    }

    #[test]
    fn vector_names_round_trip() {
        for v in MiraiVector::ALL {
            assert_eq!(MiraiVector::from_name(v.name()), Some(v));
            assert!(v.fields().len() <= 16);
        }
    }
}
