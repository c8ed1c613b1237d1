//! Attack vectors: one frame at a time, shaped like the real thing.
//!
//! Mirai vectors follow the leaked 2016 source as summarised in
//! `spec/attack-signatures.md` §1 (defaults of §1.2/§1.3); the scanner follows §2.1; the
//! reflection vectors answer like real servers of the protocols in §3.1–§3.3; DNS water
//! torture and HTTP floods follow §5. Benign traffic ([`background_frame`]) is ordinary
//! Linux/browser-like traffic, told apart from attacks only by the facts an analyser uses
//! (no markers).
//!
//! Randomness: fields marked "per packet" in the sheet are drawn from the `rng` passed to
//! [`AttackGen::frame`]; "per attack" fields are drawn once in [`AttackGen::new`];
//! per-bot-per-attack state (udpplain 5-tuple, connection state of stomp and http, kernel
//! IP ID counters, reflector bursts) lives in the [`SourceState`] made by
//! [`AttackGen::source`].
//!
//! Byte-order quirks (the sheet: fields that differ between big- and little-endian bots):
//! this simulator always emits the **big-endian bot** variant. For greip/greeth the inner
//! IP ID is `!(outer_id - 1000)` with both IDs read big-endian from the wire, so
//! `inner + outer ≡ 999 (mod 65536)` holds directly; for stomp the 16-bit truncated
//! sequence and acknowledgement numbers sit in the low 16 bits of the 32-bit fields (the
//! upper 16 bits are zero).
//!
//! Choices where the sheet is silent (all documented per item below):
//! - Kernel-socket traffic (udpplain, the stomp handshake, http, background) looks like
//!   Linux: DF set, IP ID a per-socket counter starting at a random value (+1 per packet),
//!   SYN window 64240 with MSS 1460, SACK_PERM, TS, NOP, WS 7; established segments carry
//!   NOP NOP TS and window 502.
//! - stomp: the handshake frames (the bot's kernel SYN, then its ACK) come first, then the
//!   raw flood; seq/ack of the flood follow the leaked code literally (`htons(server
//!   ISN + k)`, `htons(client ISN + 1)`), destination port random per attack unless set.
//! - http: each connection is SYN, ACK, PSH+ACK (the request), FIN+ACK (after reading a
//!   response of random length), then a new connection from a new ephemeral port; the
//!   user agent is drawn per connection. `Host` defaults to the destination address.
//! - Only the attacker's side is emitted (no SYN-ACKs or responses from the victim).
//! - Reflectors: UDP responses with DF clear and a per-reflector IP ID counter; responses
//!   larger than a 1500-byte MTU are IP-fragmented (DNS ANY ≈ 2.2–3.8 kB, CLDAP rootDSE
//!   ≈ 3 kB). Multi-datagram answers come in bursts per spoofed request (NTP monlist 10–100
//!   datagrams of 6 entries, memcached 20–400 datagrams of 1400 bytes, SSDP 3–8 service
//!   types); every burst goes to one random victim port (the spoofed request's source
//!   port) unless `dport` is set. SYN-ACK reflectors retransmit (same seq/ack) up to 5 times.
//! - icmp: echo requests with Linux `ping` payloads (56 bytes), random IP ID, DF clear.
//! - udp_fragment: DF clear, one random IP ID, source and destination port per datagram.

use std::io::Write as _;
use std::net::Ipv4Addr;

use crate::packet::*;
use crate::rng::{mix64, Rng};

/// An attack vector (or the Mirai telnet scanner) the simulator can emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vector {
    /// Mirai `syn`: raw SYN flood with MSS/SACK/TS/NOP/WS options and window 0.
    Syn,
    /// Mirai `ack`: raw ACK flood with 512 random payload bytes.
    Ack,
    /// Mirai `stomp`: real handshake, then ACK+PSH flood with data offset 8.
    Stomp,
    /// Mirai `udp`: generic raw UDP flood, random ports, 512 random bytes.
    Udp,
    /// Mirai `udpplain`: kernel-socket UDP flood, one fixed 5-tuple per bot.
    UdpPlain,
    /// Mirai `vse`: Valve Source Engine query flood to 27015.
    Vse,
    /// Mirai `dns`: random-subdomain queries to a recursive resolver.
    DnsWaterTorture,
    /// Mirai `greip`: GRE(0x0800) carrying IPv4/UDP.
    GreIp,
    /// Mirai `greeth`: GRE(0x6558) carrying Ethernet/IPv4/UDP.
    GreEth,
    /// Mirai `http`: HTTP/1.1 GET flood over real connections.
    Http,
    /// ICMP echo-request flood (not a Mirai vector).
    Icmp,
    /// IP fragments of large UDP datagrams (not a Mirai vector).
    UdpFragment,
    /// DNS reflection: large EDNS0 ANY answers from open resolvers (sport 53).
    DnsReflection,
    /// NTP reflection: mode 7 monlist responses (sport 123).
    NtpReflection,
    /// memcached reflection: multi-datagram `get` responses (sport 11211).
    MemcachedReflection,
    /// SSDP reflection: `HTTP/1.1 200 OK` search responses (sport 1900).
    SsdpReflection,
    /// CLDAP reflection: rootDSE searchResEntry + searchResDone (sport 389).
    CldapReflection,
    /// SNMP reflection: SNMPv2c GetResponse to GetBulk (sport 161).
    SnmpReflection,
    /// CharGEN reflection: RFC 864 character lines (sport 19).
    ChargenReflection,
    /// WS-Discovery reflection: SOAP ProbeMatches (sport 3702).
    WsdReflection,
    /// SYN-ACK reflection: SYN-ACKs (and retransmissions) from TCP servers.
    SynAckReflection,
    /// Mirai telnet scanner SYNs (seq = destination address).
    TelnetScan,
}

impl Vector {
    /// Every vector, in declaration order.
    pub const ALL: [Vector; 22] = [
        Vector::Syn,
        Vector::Ack,
        Vector::Stomp,
        Vector::Udp,
        Vector::UdpPlain,
        Vector::Vse,
        Vector::DnsWaterTorture,
        Vector::GreIp,
        Vector::GreEth,
        Vector::Http,
        Vector::Icmp,
        Vector::UdpFragment,
        Vector::DnsReflection,
        Vector::NtpReflection,
        Vector::MemcachedReflection,
        Vector::SsdpReflection,
        Vector::CldapReflection,
        Vector::SnmpReflection,
        Vector::ChargenReflection,
        Vector::WsdReflection,
        Vector::SynAckReflection,
        Vector::TelnetScan,
    ];

    /// The snake_case name (as in scenario files), e.g. `"udp_plain"`, `"gre_ip"`.
    pub fn name(&self) -> &'static str {
        match self {
            Vector::Syn => "syn",
            Vector::Ack => "ack",
            Vector::Stomp => "stomp",
            Vector::Udp => "udp",
            Vector::UdpPlain => "udp_plain",
            Vector::Vse => "vse",
            Vector::DnsWaterTorture => "dns_water_torture",
            Vector::GreIp => "gre_ip",
            Vector::GreEth => "gre_eth",
            Vector::Http => "http",
            Vector::Icmp => "icmp",
            Vector::UdpFragment => "udp_fragment",
            Vector::DnsReflection => "dns_reflection",
            Vector::NtpReflection => "ntp_reflection",
            Vector::MemcachedReflection => "memcached_reflection",
            Vector::SsdpReflection => "ssdp_reflection",
            Vector::CldapReflection => "cldap_reflection",
            Vector::SnmpReflection => "snmp_reflection",
            Vector::ChargenReflection => "chargen_reflection",
            Vector::WsdReflection => "wsd_reflection",
            Vector::SynAckReflection => "syn_ack_reflection",
            Vector::TelnetScan => "telnet_scan",
        }
    }

    /// The vector named `name` (see [`Vector::name`]).
    pub fn from_name(name: &str) -> Option<Vector> {
        Vector::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The classification an ideal analyser reports for this vector, e.g. `"syn_flood"`,
    /// `"udp_flood"` (udp, udp_plain, vse), `"ntp_reflection"`, `"telnet_scanning"`.
    pub fn class_name(&self) -> &'static str {
        match self {
            Vector::Syn => "syn_flood",
            Vector::Ack => "ack_flood",
            Vector::Stomp => "tcp_stomp",
            Vector::Udp | Vector::UdpPlain | Vector::Vse => "udp_flood",
            Vector::DnsWaterTorture => "dns_water_torture",
            Vector::GreIp | Vector::GreEth => "gre_flood",
            Vector::Http => "http_flood",
            Vector::Icmp => "icmp_flood",
            Vector::UdpFragment => "udp_fragment_flood",
            Vector::DnsReflection => "dns_reflection",
            Vector::NtpReflection => "ntp_reflection",
            Vector::MemcachedReflection => "memcached_reflection",
            Vector::SsdpReflection => "ssdp_reflection",
            Vector::CldapReflection => "cldap_reflection",
            Vector::SnmpReflection => "snmp_reflection",
            Vector::ChargenReflection => "chargen_reflection",
            Vector::WsdReflection => "wsd_reflection",
            Vector::SynAckReflection => "syn_ack_reflection",
            Vector::TelnetScan => "telnet_scanning",
        }
    }

    /// The Mirai attack name (`"udp"`, `"vse"`, `"dns"`, `"syn"`, `"ack"`, `"stomp"`,
    /// `"greip"`, `"greeth"`, `"udpplain"`, `"http"`) for the Mirai attack vectors; `None`
    /// otherwise (including the scanner, which is not an attack).
    pub fn mirai_vector(&self) -> Option<&'static str> {
        Some(match self {
            Vector::Udp => "udp",
            Vector::Vse => "vse",
            Vector::DnsWaterTorture => "dns",
            Vector::Syn => "syn",
            Vector::Ack => "ack",
            Vector::Stomp => "stomp",
            Vector::GreIp => "greip",
            Vector::GreEth => "greeth",
            Vector::UdpPlain => "udpplain",
            Vector::Http => "http",
            _ => return None,
        })
    }

    /// Whether the frames come from innocent reflectors answering spoofed requests (UDP
    /// amplification vectors and SYN-ACK reflection).
    pub fn is_reflection(&self) -> bool {
        matches!(
            self,
            Vector::DnsReflection
                | Vector::NtpReflection
                | Vector::MemcachedReflection
                | Vector::SsdpReflection
                | Vector::CldapReflection
                | Vector::SnmpReflection
                | Vector::ChargenReflection
                | Vector::WsdReflection
                | Vector::SynAckReflection
        )
    }

    /// Whether a Mirai bot can spoof the source address of this vector (the raw-socket
    /// vectors that accept the `source` option: syn, ack, udp, greip, greeth). The caller
    /// spoofs by setting [`SourceState::addr`] before each frame.
    pub fn spoofable(&self) -> bool {
        matches!(
            self,
            Vector::Syn | Vector::Ack | Vector::Udp | Vector::GreIp | Vector::GreEth
        )
    }
}

/// Optional overrides of a vector's defaults (a wave's `[wave.params]` table in a scenario).
/// Fields that do not apply to a vector are ignored.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct VectorParams {
    /// Destination port (Mirai `dport`). Default: random per packet for syn, ack, udp and
    /// the inner UDP of greip/greeth; 27015 for vse; 53 for dns; random per source for
    /// udpplain; random per attack for stomp; 80 for http; random per datagram for
    /// udp_fragment. For reflection vectors it is the victim's (spoofed) port, random per
    /// request by default.
    pub dport: Option<u16>,
    /// Payload bytes (Mirai `len`). Default 512 for udp, udpplain, ack, greip, greeth
    /// (udp capped at 1460); 768 for stomp; 56 for icmp; 2952 for udp_fragment (a
    /// datagram cut into two full 1500-byte fragments; at least 1473 so that it fragments).
    /// Other caps keep frames within a 1500-byte MTU (ack/stomp/udpplain/greip 1440,
    /// greeth 1426, icmp 1472). Ignored by the other vectors.
    pub payload_len: Option<u16>,
    /// Domain: the target zone of dns_water_torture (default `example.com`), the `Host`
    /// of http (default the destination address), the queried name of dns_reflection
    /// (default `example.com`).
    pub domain: Option<String>,
    /// Resolver for dns_water_torture. Default: per bot, one of 8.8.8.8, 74.82.42.42,
    /// 64.6.64.6, 4.2.2.2 (Mirai's fallback list).
    pub resolver: Option<Ipv4Addr>,
    /// HTTP path of http (default `/`).
    pub path: Option<String>,
    /// greip/greeth `gcip`: the inner destination equals the outer destination (default
    /// false: inner destination random per packet).
    pub gcip: Option<bool>,
}

/// The five Mirai HTTP flood user agents (`table.c` `TABLE_HTTP_ONE`..`FIVE`).
pub const MIRAI_USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/601.7.7 (KHTML, like Gecko) Version/9.1.2 Safari/601.7.7",
];

/// Mirai's fallback resolvers (`get_dns_resolver`).
pub const MIRAI_RESOLVERS: [Ipv4Addr; 4] = [
    Ipv4Addr::new(8, 8, 8, 8),
    Ipv4Addr::new(74, 82, 42, 42),
    Ipv4Addr::new(64, 6, 64, 6),
    Ipv4Addr::new(4, 2, 2, 2),
];

/// The vse payload: `FF FF FF FF` "TSource Engine Query" NUL (25 bytes).
pub const VSE_PAYLOAD: &[u8; 25] = b"\xff\xff\xff\xffTSource Engine Query\0";

/// Mirai's DNS label alphabet: `a`-`w` and `0`-`8` (32 symbols).
pub const DNS_LABEL_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvw012345678";

const MIRAI_ACCEPT: &str =
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8\r\n";
const MIRAI_ACCEPT_LANGUAGE: &str = "Accept-Language: en-US,en;q=0.8\r\n";

/// Largest IP payload per packet on a 1500-byte MTU (a multiple of 8).
const MTU_PAYLOAD: usize = 1480;
/// Linux's initial SYN window (10 × 1460 rounded to MSS multiples, as in kernels ≥ 4.x).
const LINUX_SYN_WINDOW: u16 = 64240;
/// Linux's window after the handshake with window scale 7 (64240 >> 7, rounded up).
const LINUX_EST_WINDOW: u16 = 502;

/// Linux ephemeral port range 32768..=60999.
#[inline]
fn ephemeral(rng: &mut Rng) -> u16 {
    32768 + rng.below(28232) as u16
}

#[inline]
fn eth_in(out: &mut Vec<u8>) {
    ethernet(out, HOST_MAC, ROUTER_MAC, ETHERTYPE_IPV4);
}

/// Linux SYN options: MSS, SACK_PERM, TS(tsval, 0), NOP, WS.
fn linux_syn_options(mss: u16, tsval: u32, wscale: u8) -> [u8; 20] {
    let m = mss.to_be_bytes();
    let t = tsval.to_be_bytes();
    [
        2, 4, m[0], m[1], 4, 2, 8, 10, t[0], t[1], t[2], t[3], 0, 0, 0, 0, 1, 3, 3, wscale,
    ]
}

/// Linux established-segment options: NOP, NOP, TS.
fn ts_options(tsval: u32, tsecr: u32) -> [u8; 12] {
    let a = tsval.to_be_bytes();
    let b = tsecr.to_be_bytes();
    [1, 1, 8, 10, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
}

/// Encodes a dotted domain as DNS labels with the root terminator.
fn encode_name(domain: &str, out: &mut Vec<u8>) {
    for label in domain.split('.').filter(|l| !l.is_empty()) {
        let b = &label.as_bytes()[..label.len().min(63)];
        out.push(b.len() as u8);
        out.extend_from_slice(b);
    }
    out.push(0);
}

/// Appends random bytes.
#[inline]
fn random_bytes(out: &mut Vec<u8>, n: usize, rng: &mut Rng) {
    rng.fill(append_zeroed(out, n));
}

/// Appends `n` random printable characters from `alphabet`.
fn random_chars(out: &mut Vec<u8>, n: usize, alphabet: &[u8], rng: &mut Rng) {
    for _ in 0..n {
        out.push(alphabet[rng.below(alphabet.len() as u64) as usize]);
    }
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// Service ports of the protocols the simulator itself generates (and tshark dissects by
/// port). Mirai draws flood ports uniformly over 0–65535; a draw that lands on one of these
/// is moved to the same port with the high bit set, so that a random flood packet never
/// poses as one of the simulator's own DNS, NTP, SNMP, … packets (a deviation of 14 in
/// 65,536 ports from uniform, documented in docs/FORMATS.md).
pub const GENERATED_SERVICE_PORTS: [u16; 14] = [
    19, 53, 80, 123, 161, 389, 443, 1900, 2055, 3702, 4739, 4754, 6343, 11211,
];

/// A random flood port, kept off [`GENERATED_SERVICE_PORTS`].
#[inline]
pub fn flood_port(p: u16) -> u16 {
    if GENERATED_SERVICE_PORTS.contains(&p) {
        p | 0x8000
    } else {
        p
    }
}

/// Per-bot (or per-reflector) state for one attack: see [`AttackGen::source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceState {
    /// Source address written into frames; a spoofing caller may change it per packet
    /// (for [`Vector::spoofable`] vectors).
    pub addr: Ipv4Addr,
    /// TTL as seen at the victim (initial TTL minus hops), written into frames.
    pub ttl: u8,
    /// Kernel IP ID counter (kernel-socket vectors, reflectors).
    ip_id: u16,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    tsval: u32,
    /// Connection / flood phase or frame counter.
    phase: u32,
    /// Per-connection extra (http request length, ssdp/ntp burst index, …).
    aux: u32,
    ua: u8,
    window: u16,
    /// Connection peer / resolver / datagram destination.
    peer: Ipv4Addr,
    dgram_seed: u64,
    /// Offset of the next fragment of the datagram in progress (0 = none).
    dgram_off: u32,
    dgram_id: u16,
    burst_left: u32,
    burst_total: u32,
    req_id: u16,
}

/// The generator of one attack wave: per-attack constants and a scratch buffer.
#[derive(Debug, Clone)]
pub struct AttackGen {
    vector: Vector,
    dport: Option<u16>,
    payload_len: usize,
    domain: Option<String>,
    qname_suffix: Vec<u8>,
    path: String,
    resolver: Option<Ipv4Addr>,
    gcip: bool,
    syn_opts: [u8; 20],
    /// The attack comes from Mirai (its stock packets) rather than a generic flood tool.
    mirai: bool,
    /// Probability that a stomp connection's handshake is written (see
    /// [`AttackGen::with_scale`]).
    handshake_keep: f64,
    window: u16,
    gre_inner_src: Ipv4Addr,
    stomp_dport: u16,
    scratch: Vec<u8>,
}

impl AttackGen {
    /// Whether source `s` is inside a connection's exchange whose next packet follows
    /// within a round trip (http: handshake, request and close; stomp: the handshake),
    /// so the caller sends it next rather than waiting for the source's next turn.
    pub fn mid_connection(&self, s: &SourceState) -> bool {
        match self.vector {
            Vector::Http => s.phase != 0,
            Vector::Stomp => s.phase == 1,
            _ => false,
        }
    }

    /// The capture is a `scale` sample of the real attack: a stomp bot's handshake (two
    /// packets before millions on one connection) is then kept with probability `scale`
    /// too, so handshakes do not outweigh the flood as they would if every connection of
    /// the full-size botnet were written.
    pub fn with_scale(mut self, scale: f64) -> AttackGen {
        self.handshake_keep = scale.clamp(0.0, 1.0);
        self
    }

    /// A generator for one wave of `vector`, drawing the per-attack constants from `rng`:
    /// syn MSS (1400–1415) and TSval, ack/stomp window, greip/greeth inner source, stomp
    /// destination port. `mirai` says whether Mirai sends it; otherwise a SYN flood looks
    /// like a generic flood tool's (hping3: no TCP options, window 512, no DF), so only
    /// Mirai's own packets carry its fingerprint.
    pub fn new(vector: Vector, params: &VectorParams, mirai: bool, rng: &mut Rng) -> AttackGen {
        let default_len = match vector {
            Vector::Stomp => 768,
            Vector::Icmp => 56,
            Vector::UdpFragment => 2952,
            _ => 512,
        };
        let mut payload_len = params.payload_len.map_or(default_len, |l| l as usize);
        match vector {
            Vector::Udp => payload_len = payload_len.min(1460),
            Vector::UdpFragment => payload_len = payload_len.clamp(1473, 65507),
            Vector::Icmp => payload_len = payload_len.min(1472),
            Vector::UdpPlain | Vector::Ack | Vector::Stomp => payload_len = payload_len.min(1440),
            Vector::GreIp => payload_len = payload_len.min(1440),
            Vector::GreEth => payload_len = payload_len.min(1426),
            _ => {}
        }
        let mss = 1400 + rng.below(16) as u16;
        let tsval = rng.next_u32();
        // Mirai's syn options: the Linux order with MSS 1400-1415 and window scale 6.
        let syn_opts = linux_syn_options(mss, tsval, 6);
        let window = rng.next_u16();
        let gre_inner_src = Ipv4Addr::from(rng.next_u32());
        let stomp_dport = params.dport.unwrap_or_else(|| rng.next_u16());
        let domain_for_dns = params
            .domain
            .clone()
            .unwrap_or_else(|| "example.com".into());
        let mut qname_suffix = Vec::new();
        encode_name(&domain_for_dns, &mut qname_suffix);
        AttackGen {
            vector,
            dport: params.dport,
            payload_len,
            domain: params.domain.clone(),
            qname_suffix,
            path: params.path.clone().unwrap_or_else(|| "/".into()),
            resolver: params.resolver,
            gcip: params.gcip.unwrap_or(false),
            syn_opts,
            mirai,
            handshake_keep: 1.0,
            window,
            gre_inner_src,
            stomp_dport,
            scratch: Vec::with_capacity(8192),
        }
    }

    /// The vector this generator emits.
    pub fn vector(&self) -> Vector {
        self.vector
    }

    /// The MSS in this attack's syn options (1400–1415).
    pub fn syn_mss(&self) -> u16 {
        u16::from_be_bytes([self.syn_opts[2], self.syn_opts[3]])
    }

    /// The TSval in this attack's syn options.
    pub fn syn_tsval(&self) -> u32 {
        u32::from_be_bytes([
            self.syn_opts[8],
            self.syn_opts[9],
            self.syn_opts[10],
            self.syn_opts[11],
        ])
    }

    /// The per-attack TCP window of ack and stomp floods.
    pub fn window(&self) -> u16 {
        self.window
    }

    /// The per-attack inner source address of greip/greeth.
    pub fn gre_inner_src(&self) -> Ipv4Addr {
        self.gre_inner_src
    }

    /// Per-source state of bot (or reflector) `addr` whose packets arrive with `ttl`
    /// (initial TTL minus hops, computed by the caller): udpplain's fixed ports, the dns
    /// resolver, the kernel IP ID counter, scanner window and port, reflector service
    /// port and window.
    pub fn source(&self, addr: Ipv4Addr, ttl: u8, rng: &mut Rng) -> SourceState {
        let mut s = SourceState {
            addr,
            ttl,
            ip_id: rng.next_u16(),
            sport: ephemeral(rng),
            dport: flood_port(rng.next_u16()),
            seq: 0,
            ack: 0,
            tsval: rng.next_u32(),
            phase: 0,
            aux: 0,
            ua: 0,
            window: 0,
            peer: Ipv4Addr::UNSPECIFIED,
            dgram_seed: 0,
            dgram_off: 0,
            dgram_id: 0,
            burst_left: 0,
            burst_total: 0,
            req_id: 0,
        };
        match self.vector {
            Vector::UdpPlain => {
                s.sport = flood_port(rng.next_u16());
                s.dport = self.dport.unwrap_or_else(|| flood_port(rng.next_u16()));
            }
            Vector::DnsWaterTorture => {
                s.peer = self
                    .resolver
                    .unwrap_or_else(|| MIRAI_RESOLVERS[rng.below(4) as usize]);
            }
            Vector::TelnetScan => {
                let (sport, window) = scanner_constants(addr);
                s.sport = sport;
                s.window = window;
            }
            Vector::Icmp => s.sport = rng.next_u16(),
            Vector::SynAckReflection => {
                const PORTS: [(u16, f64); 8] = [
                    (80, 40.0),
                    (443, 35.0),
                    (22, 10.0),
                    (21, 3.0),
                    (25, 3.0),
                    (8080, 4.0),
                    (3389, 3.0),
                    (53, 2.0),
                ];
                let w: Vec<f64> = PORTS.iter().map(|p| p.1).collect();
                s.sport = PORTS[rng.weighted(&w).unwrap_or(0)].0;
                s.window = [64240u16, 29200, 65535, 8192, 14600][rng.below(5) as usize];
            }
            _ => {}
        }
        s
    }

    /// Appends one frame of this vector from `src` towards `dst` (see the module docs):
    /// for dns_water_torture `dst` is ignored (frames go to the source's resolver); for
    /// reflection vectors `src` is the reflector and the frame is its response to the
    /// victim `dst`; for stomp and http `dst` is read when a connection starts.
    pub fn frame(
        &mut self,
        src: &mut SourceState,
        dst: Ipv4Addr,
        rng: &mut Rng,
        out: &mut Vec<u8>,
    ) {
        match self.vector {
            Vector::Syn => self.syn(src, dst, rng, out),
            Vector::Ack => self.ack(src, dst, rng, out),
            Vector::Stomp => self.stomp(src, dst, rng, out),
            Vector::Udp => self.udp(src, dst, rng, out),
            Vector::UdpPlain => self.udp_plain(src, dst, rng, out),
            Vector::Vse => self.vse(src, dst, rng, out),
            Vector::DnsWaterTorture => self.dns(src, rng, out),
            Vector::GreIp => self.gre(src, dst, false, rng, out),
            Vector::GreEth => self.gre(src, dst, true, rng, out),
            Vector::Http => self.http(src, dst, rng, out),
            Vector::Icmp => self.icmp(src, dst, rng, out),
            Vector::SynAckReflection => self.syn_ack(src, dst, rng, out),
            Vector::TelnetScan => {
                let dport = if src.phase.is_multiple_of(10) {
                    2323
                } else {
                    23
                };
                src.phase = src.phase.wrapping_add(1);
                scan_syn(
                    src.addr, dst, src.ttl, src.sport, dport, src.window, rng, out,
                );
            }
            Vector::UdpFragment
            | Vector::DnsReflection
            | Vector::NtpReflection
            | Vector::MemcachedReflection
            | Vector::SsdpReflection
            | Vector::CldapReflection
            | Vector::SnmpReflection
            | Vector::ChargenReflection
            | Vector::WsdReflection => self.datagram(src, dst, rng, out),
        }
    }

    fn syn(&self, s: &SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        let r = rng.next_u64();
        let ip = Ipv4Header::new(PROTO_TCP, s.addr, dst, s.ttl)
            .id(rng.next_u16())
            .df(self.mirai);
        let ip_at = ipv4_begin(out, &ip);
        let mut t = TcpHeader::new(
            flood_port(r as u16),
            self.dport.unwrap_or(flood_port((r >> 16) as u16)),
            (r >> 32) as u32,
            0,
            SYN,
        );
        if self.mirai {
            t.options = &self.syn_opts;
        } else {
            t.window = 512;
        }
        let tcp_at = tcp_begin(out, &t);
        tcp_finish(out, ip_at, tcp_at);
        ipv4_finish(out, ip_at);
    }

    fn ack(&self, s: &SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        let r = rng.next_u64();
        let r2 = rng.next_u64();
        let ip = Ipv4Header::new(PROTO_TCP, s.addr, dst, s.ttl).id((r2 >> 48) as u16);
        let ip_at = ipv4_begin(out, &ip);
        let mut t = TcpHeader::new(
            flood_port(r as u16),
            self.dport.unwrap_or(flood_port((r >> 16) as u16)),
            (r >> 32) as u32,
            r2 as u32,
            ACK,
        );
        t.window = self.window;
        let tcp_at = tcp_begin(out, &t);
        random_bytes(out, self.payload_len, rng);
        tcp_finish(out, ip_at, tcp_at);
        ipv4_finish(out, ip_at);
    }

    fn udp(&self, s: &SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        let r = rng.next_u64();
        let ip = Ipv4Header::new(PROTO_UDP, s.addr, dst, s.ttl).id((r >> 48) as u16);
        let ip_at = ipv4_begin(out, &ip);
        let udp_at = udp_begin(
            out,
            flood_port(r as u16),
            self.dport.unwrap_or(flood_port((r >> 16) as u16)),
        );
        random_bytes(out, self.payload_len, rng);
        udp_finish(out, ip_at, udp_at);
        ipv4_finish(out, ip_at);
    }

    fn udp_plain(&self, s: &mut SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        // Kernel socket: Linux connected UDP socket, DF (PMTU discovery), per-socket IP ID.
        let ip = Ipv4Header::new(PROTO_UDP, s.addr, dst, s.ttl)
            .id(s.ip_id)
            .df(true);
        s.ip_id = s.ip_id.wrapping_add(1);
        let ip_at = ipv4_begin(out, &ip);
        let udp_at = udp_begin(out, s.sport, s.dport);
        random_bytes(out, self.payload_len, rng);
        udp_finish(out, ip_at, udp_at);
        ipv4_finish(out, ip_at);
    }

    fn vse(&self, s: &SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        let r = rng.next_u64();
        let ip = Ipv4Header::new(PROTO_UDP, s.addr, dst, s.ttl).id((r >> 48) as u16);
        let ip_at = ipv4_begin(out, &ip);
        let udp_at = udp_begin(out, flood_port(r as u16), self.dport.unwrap_or(27015));
        out.extend_from_slice(VSE_PAYLOAD);
        udp_finish(out, ip_at, udp_at);
        ipv4_finish(out, ip_at);
    }

    fn dns(&self, s: &SourceState, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        let r = rng.next_u64();
        let ip = Ipv4Header::new(PROTO_UDP, s.addr, s.peer, s.ttl).id((r >> 48) as u16);
        let ip_at = ipv4_begin(out, &ip);
        let udp_at = udp_begin(out, flood_port(r as u16), self.dport.unwrap_or(53));
        let id = ((r >> 16) as u16).to_be_bytes();
        out.extend_from_slice(&[id[0], id[1], 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 12]);
        let mut bits = rng.next_u64();
        for _ in 0..12 {
            out.push(DNS_LABEL_ALPHABET[(bits & 31) as usize]);
            bits >>= 5;
        }
        out.extend_from_slice(&self.qname_suffix);
        out.extend_from_slice(&[0, 1, 0, 1]);
        udp_finish(out, ip_at, udp_at);
        ipv4_finish(out, ip_at);
    }

    fn gre(&self, s: &SourceState, dst: Ipv4Addr, eth: bool, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        let r = rng.next_u64();
        let outer_id = (r >> 48) as u16;
        let outer = Ipv4Header::new(PROTO_GRE, s.addr, dst, s.ttl)
            .id(outer_id)
            .df(true);
        let ip_at = ipv4_begin(out, &outer);
        if eth {
            gre(out, ETHERTYPE_TEB);
            let m = rng.next_u64().to_be_bytes();
            let n = rng.next_u32().to_be_bytes();
            ethernet(
                out,
                [m[0], m[1], m[2], m[3], m[4], m[5]],
                [m[6], m[7], n[0], n[1], n[2], n[3]],
                ETHERTYPE_IPV4,
            );
        } else {
            gre(out, ETHERTYPE_IPV4);
        }
        let inner_dst = if self.gcip {
            dst
        } else {
            Ipv4Addr::from(rng.next_u32())
        };
        // Inner ID = !(outer - 1000): big-endian bot semantics (module docs).
        let inner = Ipv4Header::new(PROTO_UDP, self.gre_inner_src, inner_dst, 64)
            .id(!outer_id.wrapping_sub(1000))
            .df(true);
        let in_at = ipv4_begin(out, &inner);
        let udp_at = udp_begin(out, r as u16, self.dport.unwrap_or((r >> 16) as u16));
        random_bytes(out, self.payload_len, rng);
        udp_finish(out, in_at, udp_at);
        ipv4_finish(out, in_at);
        ipv4_finish(out, ip_at);
    }

    /// A kernel TCP segment of a Linux client connection (DF, per-socket IP ID).
    #[allow(clippy::too_many_arguments)]
    fn kernel_tcp(
        s: &mut SourceState,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: &[u8],
        payload: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> usize {
        eth_in(out);
        let ip = Ipv4Header::new(PROTO_TCP, s.addr, s.peer, s.ttl)
            .id(s.ip_id)
            .df(true);
        s.ip_id = s.ip_id.wrapping_add(1);
        let ip_at = ipv4_begin(out, &ip);
        let mut t = TcpHeader::new(s.sport, s.dport, seq, ack, flags);
        t.window = window;
        t.options = options;
        let tcp_at = tcp_begin(out, &t);
        if let Some(p) = payload {
            out.extend_from_slice(p);
        }
        tcp_finish(out, ip_at, tcp_at);
        ipv4_finish(out, ip_at);
        ip_at
    }

    /// Starts a new client connection: fresh ephemeral port, ISNs, IP ID counter.
    fn new_connection(s: &mut SourceState, dst: Ipv4Addr, dport: u16, rng: &mut Rng) {
        s.peer = dst;
        s.sport = ephemeral(rng);
        s.dport = dport;
        s.seq = rng.next_u32(); // client ISN
        s.ack = rng.next_u32(); // server ISN (from the SYN-ACK the bot receives)
        s.ip_id = rng.next_u16();
        s.tsval = s.tsval.wrapping_add(rng.range(100, 5000) as u32);
        s.ua = rng.below(5) as u8;
        s.phase = 0;
    }

    fn stomp(&self, s: &mut SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        if s.phase == 0 {
            Self::new_connection(s, dst, self.stomp_dport, rng);
            if !rng.chance(self.handshake_keep) {
                // The handshake fell outside the scaled-down sample: go straight to the
                // flood on the established connection.
                s.phase = 2;
            }
        }
        match s.phase {
            0 => {
                let opts = linux_syn_options(1460, s.tsval, 7);
                Self::kernel_tcp(s, s.seq, 0, SYN, LINUX_SYN_WINDOW, &opts, None, out);
                s.phase = 1;
            }
            1 => {
                let opts = ts_options(s.tsval.wrapping_add(1), rng.next_u32());
                let (seq, ack) = (s.seq.wrapping_add(1), s.ack.wrapping_add(1));
                Self::kernel_tcp(s, seq, ack, ACK, LINUX_EST_WINDOW, &opts, None, out);
                s.phase = 2;
            }
            k => {
                // Raw flood on the established 4-tuple: random IP ID, DF, ACK+PSH, doff 8
                // with no options written, seq = 16-bit server ISN + k (big-endian bot),
                // ack = 16-bit (client ISN + 1).
                eth_in(out);
                let ip = Ipv4Header::new(PROTO_TCP, s.addr, s.peer, s.ttl)
                    .id(rng.next_u16())
                    .df(true);
                let ip_at = ipv4_begin(out, &ip);
                let seq16 = (s.ack as u16).wrapping_add((k - 2) as u16);
                let ack16 = s.seq.wrapping_add(1) as u16;
                let mut t = TcpHeader::new(s.sport, s.dport, seq16 as u32, ack16 as u32, ACK | PSH);
                t.window = self.window;
                t.data_offset = Some(8);
                let tcp_at = tcp_begin(out, &t);
                random_bytes(out, self.payload_len, rng);
                tcp_finish(out, ip_at, tcp_at);
                ipv4_finish(out, ip_at);
                s.phase = k.wrapping_add(1).max(2);
            }
        }
    }

    fn http(&self, s: &mut SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        match s.phase {
            0 => {
                Self::new_connection(s, dst, self.dport.unwrap_or(80), rng);
                let opts = linux_syn_options(1460, s.tsval, 7);
                Self::kernel_tcp(s, s.seq, 0, SYN, LINUX_SYN_WINDOW, &opts, None, out);
                s.phase = 1;
            }
            1 => {
                let opts = ts_options(s.tsval.wrapping_add(1), rng.next_u32());
                let (seq, ack) = (s.seq.wrapping_add(1), s.ack.wrapping_add(1));
                Self::kernel_tcp(s, seq, ack, ACK, LINUX_EST_WINDOW, &opts, None, out);
                s.phase = 2;
            }
            2 => {
                let opts = ts_options(s.tsval.wrapping_add(2), rng.next_u32());
                let (seq, ack) = (s.seq.wrapping_add(1), s.ack.wrapping_add(1));
                let ip_at =
                    Self::kernel_tcp(s, seq, ack, ACK | PSH, LINUX_EST_WINDOW, &opts, None, out);
                let tcp_at = ip_at + IPV4_LEN;
                let start = out.len();
                out.extend_from_slice(b"GET ");
                out.extend_from_slice(self.path.as_bytes());
                out.extend_from_slice(b" HTTP/1.1\r\nUser-Agent: ");
                out.extend_from_slice(MIRAI_USER_AGENTS[s.ua as usize].as_bytes());
                out.extend_from_slice(b"\r\nHost: ");
                match &self.domain {
                    Some(d) => out.extend_from_slice(d.as_bytes()),
                    None => {
                        let _ = write!(out, "{}", s.peer);
                    }
                }
                out.extend_from_slice(b"\r\nConnection: keep-alive\r\n");
                out.extend_from_slice(MIRAI_ACCEPT.as_bytes());
                out.extend_from_slice(MIRAI_ACCEPT_LANGUAGE.as_bytes());
                out.extend_from_slice(b"\r\n");
                s.aux = (out.len() - start) as u32;
                tcp_finish(out, ip_at, tcp_at);
                ipv4_finish(out, ip_at);
                s.phase = 3;
            }
            _ => {
                // The bot read the response and closes the socket to reconnect.
                let resp_len = rng.range(300, 20000) as u32;
                let opts = ts_options(s.tsval.wrapping_add(3), rng.next_u32());
                let seq = s.seq.wrapping_add(1).wrapping_add(s.aux);
                let ack = s.ack.wrapping_add(1).wrapping_add(resp_len);
                Self::kernel_tcp(s, seq, ack, FIN | ACK, LINUX_EST_WINDOW, &opts, None, out);
                s.phase = 0;
            }
        }
    }

    fn icmp(&self, s: &mut SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        eth_in(out);
        let ip = Ipv4Header::new(PROTO_ICMP, s.addr, dst, s.ttl).id(rng.next_u16());
        let ip_at = ipv4_begin(out, &ip);
        s.phase = s.phase.wrapping_add(1);
        let at = icmp_echo_begin(out, true, s.sport, s.phase as u16);
        ping_payload(out, self.payload_len, rng);
        icmp_finish(out, at);
        ipv4_finish(out, ip_at);
    }

    fn syn_ack(&self, s: &mut SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        // Retransmit the previous SYN-ACK (same seq/ack/ports) up to 5 times, as servers
        // do when the (spoofed) client never answers.
        if s.phase == 0 || s.aux >= 5 || !rng.chance(0.5) {
            s.peer = dst;
            s.dport = self.dport.unwrap_or_else(|| flood_port(rng.next_u16()));
            s.seq = rng.next_u32();
            s.ack = rng.next_u32();
            s.aux = 0;
            s.phase = 1;
        } else {
            s.aux += 1;
        }
        eth_in(out);
        let linux = matches!(s.window, 64240 | 29200 | 14600);
        let id = if linux {
            0
        } else {
            s.ip_id = s.ip_id.wrapping_add(1);
            s.ip_id
        };
        let ip = Ipv4Header::new(PROTO_TCP, s.addr, s.peer, s.ttl)
            .id(id)
            .df(true);
        let ip_at = ipv4_begin(out, &ip);
        let mut t = TcpHeader::new(s.sport, s.dport, s.seq, s.ack, SYN | ACK);
        t.window = s.window;
        t.options = &[2, 4, 0x05, 0xb4];
        let tcp_at = tcp_begin(out, &t);
        tcp_finish(out, ip_at, tcp_at);
        ipv4_finish(out, ip_at);
    }

    /// UDP datagrams that may need IP fragmentation: udp_fragment and the UDP reflections.
    fn datagram(&mut self, s: &mut SourceState, dst: Ipv4Addr, rng: &mut Rng, out: &mut Vec<u8>) {
        if s.dgram_off == 0 {
            // A new datagram: maybe a new request (burst) first.
            if s.burst_left == 0 {
                s.burst_total = match self.vector {
                    Vector::NtpReflection => rng.range(10, 100) as u32,
                    Vector::MemcachedReflection => rng.range(20, 400) as u32,
                    Vector::SsdpReflection => rng.range(3, 8) as u32,
                    _ => 1,
                };
                s.burst_left = s.burst_total;
                // memcached echoes the request id in its UDP frame header; a first byte
                // of 0x80/0x81 would read as the binary protocol's magic.
                s.req_id = rng.next_u16() & 0x7fff;
                s.dport = self.dport.unwrap_or_else(|| flood_port(rng.next_u16()));
                s.aux = rng.next_u32(); // burst-wide constant (memcached value size, …)
            }
            s.peer = dst;
            s.dgram_seed = rng.next_u64();
            s.dgram_id = if self.vector == Vector::UdpFragment {
                rng.next_u16()
            } else {
                s.ip_id = s.ip_id.wrapping_add(1);
                s.ip_id
            };
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let index = s.burst_total - s.burst_left;
        let mut drng = Rng::new(s.dgram_seed, 0x5eed);
        let (sport, dport) = if self.vector == Vector::UdpFragment {
            let r = drng.next_u32();
            (r as u16, self.dport.unwrap_or((r >> 16) as u16))
        } else {
            (self.service_port(), s.dport)
        };
        scratch.extend_from_slice(&sport.to_be_bytes());
        scratch.extend_from_slice(&dport.to_be_bytes());
        scratch.extend_from_slice(&[0, 0, 0, 0]);
        self.response_payload(s, index, &mut drng, &mut scratch);
        udp_checksum_standalone(&mut scratch, s.addr, s.peer);
        let ip = Ipv4Header::new(PROTO_UDP, s.addr, s.peer, s.ttl).id(s.dgram_id);
        match ipv4_fragment(
            out,
            HOST_MAC,
            ROUTER_MAC,
            &ip,
            &scratch,
            s.dgram_off as usize,
            MTU_PAYLOAD,
        ) {
            Some(next) => s.dgram_off = next as u32,
            None => {
                s.dgram_off = 0;
                s.burst_left -= 1;
            }
        }
        self.scratch = scratch;
    }

    fn service_port(&self) -> u16 {
        match self.vector {
            Vector::DnsReflection => 53,
            Vector::NtpReflection => 123,
            Vector::MemcachedReflection => 11211,
            Vector::SsdpReflection => 1900,
            Vector::CldapReflection => 389,
            Vector::SnmpReflection => 161,
            Vector::ChargenReflection => 19,
            Vector::WsdReflection => 3702,
            _ => 0,
        }
    }

    /// The UDP payload of datagram `index` of the current burst, drawn from `r` (seeded
    /// per datagram, so every fragment rebuilds the same bytes).
    fn response_payload(&self, s: &SourceState, index: u32, r: &mut Rng, b: &mut Vec<u8>) {
        match self.vector {
            Vector::UdpFragment => random_bytes(b, self.payload_len, r),
            Vector::DnsReflection => {
                let name = self.domain.as_deref().unwrap_or("example.com");
                dns_any_response(b, s.req_id, name, r.range(2200, 3800) as usize, r);
            }
            Vector::NtpReflection => ntp_monlist(b, s, index, r),
            Vector::MemcachedReflection => memcached_chunk(b, s, index, r),
            Vector::SsdpReflection => ssdp_response(b, s, index, r),
            Vector::CldapReflection => cldap_rootdse(b, s, r),
            Vector::SnmpReflection => snmp_getresponse(b, s, r),
            Vector::ChargenReflection => {
                let n = r.range(200, 512) as usize;
                chargen(b, (s.dgram_seed % 95) as usize, n);
            }
            Vector::WsdReflection => wsd_probe_matches(b, s, r),
            _ => {}
        }
    }
}

/// Linux `ping` payload: 8-byte timestamp, then bytes counting up from 0x10.
fn ping_payload(out: &mut Vec<u8>, len: usize, rng: &mut Rng) {
    let ts = rng.next_u64().to_le_bytes();
    out.extend_from_slice(&ts[..len.min(8)]);
    out.extend((8..len).map(|i| (i + 8) as u8));
}

/// The per-scanner-process constants (source port ≥ 1024 and window) of a bot, derived
/// from its address so that they stay constant across [`scan_frame`] calls.
fn scanner_constants(bot: Ipv4Addr) -> (u16, u16) {
    let h = mix64(u32::from(bot) as u64 ^ 0x5ca7_7e1e_7000_0000);
    let sport = 1024 + (h % (65536 - 1024)) as u16;
    (sport, (h >> 32) as u16)
}

#[allow(clippy::too_many_arguments)]
fn scan_syn(
    bot: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    sport: u16,
    dport: u16,
    window: u16,
    rng: &mut Rng,
    out: &mut Vec<u8>,
) {
    eth_in(out);
    let ip = Ipv4Header::new(PROTO_TCP, bot, dst, ttl).id(rng.next_u16());
    let ip_at = ipv4_begin(out, &ip);
    let mut t = TcpHeader::new(sport, dport, u32::from(dst), 0, SYN);
    t.window = window;
    let tcp_at = tcp_begin(out, &t);
    tcp_finish(out, ip_at, tcp_at);
    ipv4_finish(out, ip_at);
}

/// Whether the stock Mirai scanner skips `a` (spec §2.1, including the source's quirks:
/// 169.255/16 instead of 169.254/16, 100.64–100.126).
pub fn scanner_excluded(a: Ipv4Addr) -> bool {
    let [o1, o2, _, _] = a.octets();
    matches!(
        o1,
        0 | 3
            | 6
            | 7
            | 10
            | 11
            | 15
            | 16
            | 21
            | 22
            | 26
            | 28
            | 29
            | 30
            | 33
            | 55
            | 56
            | 127
            | 214
            | 215
    ) || o1 >= 224
        || (o1 == 192 && o2 == 168)
        || (o1 == 172 && (16..32).contains(&o2))
        || (o1 == 100 && (64..127).contains(&o2))
        || (o1 == 169 && o2 > 254)
        || (o1 == 198 && (18..20).contains(&o2))
}

/// Appends one Mirai telnet-scanner SYN from `bot` (spec §2.1): a random destination
/// outside the scanner's excluded ranges, dport 23 (90 %) or 2323 (10 %), sequence number =
/// destination address, ack 0, no options, DF off, random IP ID, and the scanner process's
/// constant source port (≥ 1024) and window (derived from `bot`). Returns the destination.
pub fn scan_frame(bot: Ipv4Addr, ttl: u8, rng: &mut Rng, out: &mut Vec<u8>) -> Ipv4Addr {
    let dst = loop {
        let a = Ipv4Addr::from(rng.next_u32());
        if !scanner_excluded(a) {
            break a;
        }
    };
    let dport = if rng.below(10) == 0 { 2323 } else { 23 };
    let (sport, window) = scanner_constants(bot);
    scan_syn(bot, dst, ttl, sport, dport, window, rng, out);
    dst
}

/// Kinds of benign background traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackgroundKind {
    /// TLS over TCP 443.
    Https,
    /// Plain HTTP over TCP 80.
    Http,
    /// DNS queries and responses over UDP 53.
    Dns,
    /// QUIC over UDP 443.
    Quic,
    /// NTP client/server mode over UDP 123.
    Ntp,
    /// ICMP echo request / reply.
    Icmp,
}

const BENIGN_NAMES: [&str; 12] = [
    "www.google.com",
    "www.wikipedia.org",
    "api.github.com",
    "www.bbc.co.uk",
    "cdn.jsdelivr.net",
    "update.example.org",
    "mail.example.net",
    "www.amazon.com",
    "login.microsoftonline.com",
    "time.cloudflare.com",
    "static.xx.fbcdn.net",
    "www.debian.org",
];

/// Appends one frame of ordinary traffic of `kind` between `client` and `server`
/// (`to_server`: client → server, else server → client), with `ttl` as seen at the
/// capture point. TCP kinds look like a Linux stack (SYN window 64240 with MSS, SACK_PERM,
/// TS, NOP, WS 7; established segments with NOP NOP TS and 100–1400 byte payloads) on a
/// client port fixed per client/server pair; DNS has valid wire format (real names, some
/// queries with EDNS0); QUIC uses UDP 443 (Initial long headers padded to 1200+ bytes at
/// connection start, short headers after); NTP is mode 3/4 version 4; ICMP is Linux ping.
pub fn background_frame(
    kind: BackgroundKind,
    client: Ipv4Addr,
    server: Ipv4Addr,
    to_server: bool,
    ttl: u8,
    rng: &mut Rng,
    out: &mut Vec<u8>,
) {
    let h = mix64(((u32::from(client) as u64) << 32) ^ u32::from(server) as u64 ^ kind as u64);
    let cport = 32768 + (h % 28232) as u16;
    let (src, dst) = if to_server {
        (client, server)
    } else {
        (server, client)
    };
    if to_server {
        ethernet(out, HOST_MAC, ROUTER_MAC, ETHERTYPE_IPV4);
    } else {
        ethernet(out, ROUTER_MAC, HOST_MAC, ETHERTYPE_IPV4);
    }
    match kind {
        BackgroundKind::Https | BackgroundKind::Http => {
            let sport_srv = if kind == BackgroundKind::Https {
                443
            } else {
                80
            };
            let (sport, dport) = if to_server {
                (cport, sport_srv)
            } else {
                (sport_srv, cport)
            };
            let ip = Ipv4Header::new(PROTO_TCP, src, dst, ttl)
                .id(rng.next_u16())
                .df(true);
            let ip_at = ipv4_begin(out, &ip);
            let seq = rng.next_u32();
            let ack = rng.next_u32();
            let tsval = rng.next_u32();
            let x = rng.unit();
            if x < 0.03 {
                let mut opts = linux_syn_options(1460, tsval, 7);
                let mut t = if to_server {
                    let mut t = TcpHeader::new(sport, dport, seq, 0, SYN);
                    t.window = LINUX_SYN_WINDOW;
                    t
                } else {
                    opts[12..16].copy_from_slice(&rng.next_u32().to_be_bytes());
                    let mut t = TcpHeader::new(sport, dport, seq, ack, SYN | ACK);
                    t.window = 65160;
                    t
                };
                t.options = &opts;
                let tcp_at = tcp_begin(out, &t);
                tcp_finish(out, ip_at, tcp_at);
            } else {
                let opts = ts_options(tsval, rng.next_u32());
                let fin = x < 0.05;
                let data = !fin && rng.chance(0.55);
                let flags = if fin {
                    FIN | ACK
                } else if data {
                    PSH | ACK
                } else {
                    ACK
                };
                let mut t = TcpHeader::new(sport, dport, seq, ack, flags);
                t.window = 500 + rng.below(3000) as u16;
                t.options = &opts;
                let tcp_at = tcp_begin(out, &t);
                if data {
                    let n = rng.range(100, 1400) as usize;
                    if kind == BackgroundKind::Https {
                        let l = ((n - 5) as u16).to_be_bytes();
                        out.extend_from_slice(&[0x17, 0x03, 0x03, l[0], l[1]]);
                        random_bytes(out, n - 5, rng);
                    } else if to_server {
                        http_request(out, rng);
                    } else {
                        http_response(out, n, rng);
                    }
                }
                tcp_finish(out, ip_at, tcp_at);
            }
            ipv4_finish(out, ip_at);
        }
        BackgroundKind::Dns => {
            let ip = Ipv4Header::new(PROTO_UDP, src, dst, ttl)
                .id(rng.next_u16())
                .df(!to_server);
            let ip_at = ipv4_begin(out, &ip);
            let port = 32768 + rng.below(28232) as u16;
            let udp_at = if to_server {
                udp_begin(out, port, 53)
            } else {
                udp_begin(out, 53, port)
            };
            let name = BENIGN_NAMES[rng.below(BENIGN_NAMES.len() as u64) as usize];
            let qtype: u16 = [1, 1, 1, 28, 28, 65][rng.below(6) as usize];
            let edns = rng.chance(0.6);
            let id = rng.next_u16().to_be_bytes();
            let q = qtype.to_be_bytes();
            if to_server {
                out.extend_from_slice(&[id[0], id[1], 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns as u8]);
                encode_name(name, out);
                out.extend_from_slice(&[q[0], q[1], 0, 1]);
            } else {
                let answers: u16 = if qtype == 65 {
                    0
                } else {
                    rng.range(1, 3) as u16
                };
                out.extend_from_slice(&[
                    id[0],
                    id[1],
                    0x81,
                    0x80,
                    0,
                    1,
                    0,
                    answers as u8,
                    0,
                    0,
                    0,
                    edns as u8,
                ]);
                encode_name(name, out);
                out.extend_from_slice(&[q[0], q[1], 0, 1]);
                for _ in 0..answers {
                    let ttl_rr = (rng.range(30, 3600) as u32).to_be_bytes();
                    out.extend_from_slice(&[0xc0, 0x0c, q[0], q[1], 0, 1]);
                    out.extend_from_slice(&ttl_rr);
                    if qtype == 1 {
                        out.extend_from_slice(&[0, 4, rng.range(1, 223) as u8]);
                        random_bytes(out, 3, rng);
                    } else {
                        out.extend_from_slice(&[0, 16, 0x20, 0x01]);
                        random_bytes(out, 14, rng);
                    }
                }
            }
            if edns {
                out.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
            }
            udp_finish(out, ip_at, udp_at);
            ipv4_finish(out, ip_at);
        }
        BackgroundKind::Quic => {
            let ip = Ipv4Header::new(PROTO_UDP, src, dst, ttl)
                .id(rng.next_u16())
                .df(true);
            let ip_at = ipv4_begin(out, &ip);
            let udp_at = if to_server {
                udp_begin(out, cport, 443)
            } else {
                udp_begin(out, 443, cport)
            };
            let cid = h.to_be_bytes();
            if to_server && rng.chance(0.05) {
                // Initial: long header, version 1, 8-byte DCID, no SCID, no token, padded.
                out.push(0xc3);
                out.extend_from_slice(&[0, 0, 0, 1, 8]);
                random_bytes(out, 8, rng);
                out.extend_from_slice(&[0, 0]);
                let len = 1200u16 - 1 - 4 - 1 - 8 - 1 - 1 - 2;
                out.extend_from_slice(&(0x4000 | len).to_be_bytes());
                random_bytes(out, len as usize, rng);
            } else {
                out.push(0x40 | (rng.next_u32() as u8 & 0x3f));
                if to_server {
                    out.extend_from_slice(&cid);
                }
                let n = rng.range(40, 1350) as usize;
                random_bytes(out, n, rng);
            }
            udp_finish(out, ip_at, udp_at);
            ipv4_finish(out, ip_at);
        }
        BackgroundKind::Ntp => {
            let ip = Ipv4Header::new(PROTO_UDP, src, dst, ttl)
                .id(rng.next_u16())
                .df(true);
            let ip_at = ipv4_begin(out, &ip);
            let udp_at = if to_server {
                udp_begin(out, cport, 123)
            } else {
                udp_begin(out, 123, cport)
            };
            let now = 3_900_000_000u32.wrapping_add(rng.below(100_000_000) as u32);
            if to_server {
                out.extend_from_slice(&[0x23, 0, 6, 0x20]);
                out.extend_from_slice(&[0; 36]);
                out.extend_from_slice(&now.to_be_bytes());
                out.extend_from_slice(&rng.next_u32().to_be_bytes());
            } else {
                out.extend_from_slice(&[0x24, 2, 6, 0xe9]);
                out.extend_from_slice(&(rng.below(2000) as u32).to_be_bytes());
                out.extend_from_slice(&(rng.below(2000) as u32).to_be_bytes());
                out.extend_from_slice(&[0x0a, 0x11, 0x08, 0x01]);
                for _ in 0..4 {
                    out.extend_from_slice(&now.to_be_bytes());
                    out.extend_from_slice(&rng.next_u32().to_be_bytes());
                }
            }
            udp_finish(out, ip_at, udp_at);
            ipv4_finish(out, ip_at);
        }
        BackgroundKind::Icmp => {
            let ip = Ipv4Header::new(PROTO_ICMP, src, dst, ttl)
                .id(rng.next_u16())
                .df(true);
            let ip_at = ipv4_begin(out, &ip);
            let at = icmp_echo_begin(out, to_server, (h >> 16) as u16, rng.next_u16());
            ping_payload(out, 56, rng);
            icmp_finish(out, at);
            ipv4_finish(out, ip_at);
        }
    }
}

fn http_request(out: &mut Vec<u8>, rng: &mut Rng) {
    const PATHS: [&str; 6] = [
        "/",
        "/index.html",
        "/api/v1/items",
        "/static/app.js",
        "/images/logo.png",
        "/news/",
    ];
    const UAS: [&str; 3] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    ];
    let path = PATHS[rng.below(PATHS.len() as u64) as usize];
    let ua = UAS[rng.below(UAS.len() as u64) as usize];
    let host = BENIGN_NAMES[rng.below(BENIGN_NAMES.len() as u64) as usize];
    let _ = write!(
        out,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nReferer: http://{host}/\r\nConnection: keep-alive\r\n\r\n"
    );
}

fn http_response(out: &mut Vec<u8>, n: usize, rng: &mut Rng) {
    let body = n.saturating_sub(120).max(20);
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body}\r\nCache-Control: max-age=60\r\n\r\n"
    );
    out.extend_from_slice(b"<html>");
    let filler = body.saturating_sub(13);
    random_chars(out, filler, b"abcdefghijklmnopqrstuvwxyz ", rng);
    out.extend_from_slice(b"</html>");
}

// ---------------------------------------------------------------------------------------
// Reflection payloads.

/// DNS ANY answer of about `target` bytes: question, TXT answers, EDNS0 OPT (4096).
fn dns_any_response(b: &mut Vec<u8>, id: u16, name: &str, target: usize, r: &mut Rng) {
    let start = b.len();
    let i = id.to_be_bytes();
    b.extend_from_slice(&[i[0], i[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 1]);
    encode_name(name, b);
    b.extend_from_slice(&[0, 255, 0, 1]);
    let mut answers = 0u16;
    while b.len() - start + 11 < target && answers < 60 {
        let room = target - (b.len() - start) - 11;
        let slen = room.saturating_sub(13).clamp(20, 255);
        b.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1]);
        b.extend_from_slice(&(r.range(300, 86400) as u32).to_be_bytes());
        b.extend_from_slice(&((slen + 1) as u16).to_be_bytes());
        b.push(slen as u8);
        random_chars(b, slen, ALNUM, r);
        answers += 1;
    }
    b[start + 6..start + 8].copy_from_slice(&answers.to_be_bytes());
    b.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
}

/// One NTP mode 7 MON_GETLIST_1 response datagram (6 × 72-byte entries).
fn ntp_monlist(b: &mut Vec<u8>, s: &SourceState, index: u32, r: &mut Rng) {
    let last = index + 1 >= s.burst_total;
    b.push(if last { 0x97 } else { 0xd7 });
    b.push((index & 0x7f) as u8);
    b.push(3); // XNTPD
    b.push(42); // MON_GETLIST_1
    b.extend_from_slice(&[0x00, 0x06, 0x00, 0x48]); // 6 items of 72 bytes
    let me = s.addr.octets();
    for _ in 0..6 {
        b.extend_from_slice(&(r.below(10_000) as u32).to_be_bytes()); // avg_int
        b.extend_from_slice(&(r.below(10_000) as u32).to_be_bytes()); // last_int
        b.extend_from_slice(&[0, 0, 0, 0]); // restr
        b.extend_from_slice(&(r.range(1, 50_000) as u32).to_be_bytes()); // count
        b.extend_from_slice(&r.next_u32().to_be_bytes()); // addr
        b.extend_from_slice(&me); // daddr
        b.extend_from_slice(&[0, 0, 0, 0]); // flags
        b.extend_from_slice(&[0, 123]); // port
        b.push([3u8, 4, 7][r.below(3) as usize]); // mode
        b.push([2u8, 3, 4][r.below(3) as usize]); // version
        b.extend_from_slice(&[0; 8]); // v6_flag, unused1
        b.extend_from_slice(&[0; 32]); // addr6, daddr6
    }
}

/// One datagram of a memcached UDP `get` response: 8-byte frame header, then a slice of
/// `VALUE <key> 0 <n>\r\n<data>\r\nEND\r\n` (1392 bytes of it per datagram).
fn memcached_chunk(b: &mut Vec<u8>, s: &SourceState, index: u32, _r: &mut Rng) {
    const CHUNK: usize = 1392;
    let total = s.burst_total as usize;
    let key_tag = s.aux & 0xffff;
    let header = format!("VALUE k{key_tag:04x} 0 ");
    // Value length chosen so the whole response fills `total` chunks.
    let trailer = b"\r\nEND\r\n";
    let room = total * CHUNK - header.len() - 2 - trailer.len();
    let mut value_len = room;
    while value_len + value_len.to_string().len() > room {
        value_len -= 1;
    }
    b.extend_from_slice(&s.req_id.to_be_bytes());
    b.extend_from_slice(&(index as u16).to_be_bytes());
    b.extend_from_slice(&(total as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    let lo = index as usize * CHUNK;
    let hi = lo + CHUNK;
    // Virtual stream: head | value bytes | trailer.
    let head = format!("{header}{value_len}\r\n");
    let value_end = head.len() + value_len;
    for pos in lo..hi {
        let c = if pos < head.len() {
            head.as_bytes()[pos]
        } else if pos < value_end {
            // Attacker-planted values are typically filler; printable pseudo-random.
            ALNUM[((pos as u64).wrapping_mul(0x9e37_79b9) >> 7) as usize % ALNUM.len()]
        } else {
            trailer[pos - value_end]
        };
        b.push(c);
    }
}

/// One SSDP search response (`HTTP/1.1 200 OK`), a different ST per burst index.
fn ssdp_response(b: &mut Vec<u8>, s: &SourceState, index: u32, _r: &mut Rng) {
    const ST: [&str; 8] = [
        "upnp:rootdevice",
        "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        "urn:schemas-upnp-org:service:WANIPConnection:1",
        "urn:schemas-upnp-org:device:WANDevice:1",
        "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1",
        "urn:schemas-upnp-org:device:WANConnectionDevice:1",
        "urn:schemas-upnp-org:service:Layer3Forwarding:1",
        "urn:schemas-upnp-org:device:MediaServer:1",
    ];
    let h = mix64(u32::from(s.addr) as u64);
    let st = ST[index as usize % ST.len()];
    let uuid = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        h as u32,
        (h >> 32) as u16,
        (h >> 48) as u16,
        (h >> 8) as u16,
        mix64(h) & 0xffff_ffff_ffff
    );
    let lan = 1 + (h % 254);
    let _ = write!(
        b,
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: {st}\r\nUSN: uuid:{uuid}::{st}\r\nEXT:\r\nSERVER: Linux/2.6.36, UPnP/1.0, Portable SDK for UPnP devices/1.6.19\r\nLOCATION: http://192.168.{}.1:49152/rootDesc.xml\r\nOPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n01-NLS: {uuid}\r\nBOOTID.UPNP.ORG: 1\r\nCONFIGID.UPNP.ORG: 1337\r\n\r\n",
        lan % 256
    );
}

/// BER: opens a constructed element with a 4-byte long-form length (as Active Directory
/// writes them); returns the content start for [`ber_close4`].
fn ber_open4(b: &mut Vec<u8>, tag: u8) -> usize {
    b.extend_from_slice(&[tag, 0x84, 0, 0, 0, 0]);
    b.len()
}

fn ber_close4(b: &mut [u8], at: usize) {
    let len = (b.len() - at) as u32;
    b[at - 4..at].copy_from_slice(&len.to_be_bytes());
}

/// BER: a primitive element with a minimal length.
fn ber_prim(b: &mut Vec<u8>, tag: u8, v: &[u8]) {
    b.push(tag);
    let n = v.len();
    if n < 0x80 {
        b.push(n as u8);
    } else if n < 0x100 {
        b.extend_from_slice(&[0x81, n as u8]);
    } else {
        b.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    b.extend_from_slice(v);
}

/// BER INTEGER (non-negative `v`, minimal two's complement).
fn ber_uint(b: &mut Vec<u8>, tag: u8, v: u32) {
    let bytes = v.to_be_bytes();
    let mut i = 0;
    while i < 3 && bytes[i] == 0 && bytes[i + 1] & 0x80 == 0 {
        i += 1;
    }
    if bytes[i] & 0x80 != 0 {
        let mut t = vec![0u8];
        t.extend_from_slice(&bytes[i..]);
        ber_prim(b, tag, &t);
    } else {
        ber_prim(b, tag, &bytes[i..]);
    }
}

/// CLDAP rootDSE answer: searchResEntry with the usual AD attributes, then searchResDone.
fn cldap_rootdse(b: &mut Vec<u8>, s: &SourceState, r: &mut Rng) {
    let h = mix64(u32::from(s.addr) as u64 ^ 0xc1da);
    let dom = format!("corp{}", h % 1000);
    let dc = format!("DC={dom},DC=local");
    let host = format!("DC{:02}", h % 20 + 1);
    let msg = ber_open4(b, 0x30);
    ber_uint(b, 0x02, s.req_id as u32 % 1000 + 1);
    let entry = ber_open4(b, 0x64);
    ber_prim(b, 0x04, b"");
    let attrs = ber_open4(b, 0x30);
    let attr = |b: &mut Vec<u8>, name: &str, vals: &[String]| {
        let a = ber_open4(b, 0x30);
        ber_prim(b, 0x04, name.as_bytes());
        let set = ber_open4(b, 0x31);
        for v in vals {
            ber_prim(b, 0x04, v.as_bytes());
        }
        ber_close4(b, set);
        ber_close4(b, a);
    };
    let now = format!(
        "2024{:02}{:02}{:02}{:02}{:02}.0Z",
        r.range(1, 12),
        r.range(1, 28),
        r.below(24),
        r.below(60),
        r.below(60)
    );
    attr(b, "currentTime", &[now]);
    attr(
        b,
        "subschemaSubentry",
        &[format!("CN=Aggregate,CN=Schema,CN=Configuration,{dc}")],
    );
    attr(
        b,
        "dsServiceName",
        &[format!("CN=NTDS Settings,CN={host},CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,{dc}")],
    );
    attr(
        b,
        "namingContexts",
        &[
            dc.clone(),
            format!("CN=Configuration,{dc}"),
            format!("CN=Schema,CN=Configuration,{dc}"),
            format!("DC=DomainDnsZones,{dc}"),
            format!("DC=ForestDnsZones,{dc}"),
        ],
    );
    attr(b, "defaultNamingContext", std::slice::from_ref(&dc));
    attr(b, "rootDomainNamingContext", std::slice::from_ref(&dc));
    attr(
        b,
        "configurationNamingContext",
        &[format!("CN=Configuration,{dc}")],
    );
    attr(
        b,
        "schemaNamingContext",
        &[format!("CN=Schema,CN=Configuration,{dc}")],
    );
    attr(
        b,
        "serverName",
        &[format!(
            "CN={host},CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,{dc}"
        )],
    );
    let oids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    attr(
        b,
        "supportedControl",
        &oids(&[
            "1.2.840.113556.1.4.319",
            "1.2.840.113556.1.4.801",
            "1.2.840.113556.1.4.473",
            "1.2.840.113556.1.4.528",
            "1.2.840.113556.1.4.417",
            "1.2.840.113556.1.4.619",
            "1.2.840.113556.1.4.841",
            "1.2.840.113556.1.4.529",
            "1.2.840.113556.1.4.805",
            "1.2.840.113556.1.4.521",
            "1.2.840.113556.1.4.970",
            "1.2.840.113556.1.4.1338",
            "1.2.840.113556.1.4.474",
            "1.2.840.113556.1.4.1339",
            "1.2.840.113556.1.4.1340",
            "1.2.840.113556.1.4.1413",
            "2.16.840.1.113730.3.4.9",
            "2.16.840.1.113730.3.4.10",
            "1.2.840.113556.1.4.1504",
            "1.2.840.113556.1.4.1852",
            "1.2.840.113556.1.4.802",
            "1.2.840.113556.1.4.1907",
            "1.2.840.113556.1.4.1948",
            "1.2.840.113556.1.4.1974",
            "1.2.840.113556.1.4.1341",
            "1.2.840.113556.1.4.2026",
            "1.2.840.113556.1.4.2064",
            "1.2.840.113556.1.4.2065",
            "1.2.840.113556.1.4.2066",
            "1.2.840.113556.1.4.2090",
            "1.2.840.113556.1.4.2205",
            "1.2.840.113556.1.4.2204",
            "1.2.840.113556.1.4.2206",
            "1.2.840.113556.1.4.2211",
            "1.2.840.113556.1.4.2239",
            "1.2.840.113556.1.4.2255",
            "1.2.840.113556.1.4.2256",
        ]),
    );
    attr(b, "supportedLDAPVersion", &oids(&["3", "2"]));
    attr(
        b,
        "supportedLDAPPolicies",
        &oids(&[
            "MaxPoolThreads",
            "MaxPercentDirSyncRequests",
            "MaxDatagramRecv",
            "MaxReceiveBuffer",
            "InitRecvTimeout",
            "MaxConnections",
            "MaxConnIdleTime",
            "MaxPageSize",
            "MaxBatchReturnMessages",
            "MaxQueryDuration",
            "MaxDirSyncDuration",
            "MaxTempTableSize",
            "MaxResultSetSize",
            "MinResultSets",
            "MaxResultSetsPerConn",
            "MaxNotificationPerConn",
            "MaxValRange",
            "MaxValRangeTransitive",
            "ThreadMemoryLimit",
            "SystemMemoryLimitPercent",
        ]),
    );
    attr(
        b,
        "highestCommittedUSN",
        &[format!("{}", r.range(100_000, 9_000_000))],
    );
    attr(
        b,
        "supportedSASLMechanisms",
        &oids(&["GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5"]),
    );
    attr(
        b,
        "dnsHostName",
        &[format!("{}.{dom}.local", host.to_lowercase())],
    );
    attr(
        b,
        "ldapServiceName",
        &[format!(
            "{dom}.local:{}$@{}.LOCAL",
            host.to_lowercase(),
            dom.to_uppercase()
        )],
    );
    attr(
        b,
        "supportedCapabilities",
        &oids(&[
            "1.2.840.113556.1.4.800",
            "1.2.840.113556.1.4.1670",
            "1.2.840.113556.1.4.1791",
            "1.2.840.113556.1.4.1935",
            "1.2.840.113556.1.4.2080",
            "1.2.840.113556.1.4.2237",
        ]),
    );
    attr(b, "isSynchronized", &oids(&["TRUE"]));
    attr(b, "isGlobalCatalogReady", &oids(&["TRUE"]));
    attr(b, "domainFunctionality", &oids(&["7"]));
    attr(b, "forestFunctionality", &oids(&["7"]));
    attr(b, "domainControllerFunctionality", &oids(&["7"]));
    ber_close4(b, attrs);
    ber_close4(b, entry);
    ber_close4(b, msg);
    // searchResDone, success.
    let done = ber_open4(b, 0x30);
    ber_uint(b, 0x02, s.req_id as u32 % 1000 + 1);
    let op = ber_open4(b, 0x65);
    ber_prim(b, 0x0a, &[0]);
    ber_prim(b, 0x04, b"");
    ber_prim(b, 0x04, b"");
    ber_close4(b, op);
    ber_close4(b, done);
}

/// SNMPv2c GetResponse (community `public`) answering a GetBulk over the ifTable.
fn snmp_getresponse(b: &mut Vec<u8>, s: &SourceState, r: &mut Rng) {
    let msg = ber_open4(b, 0x30);
    ber_uint(b, 0x02, 1); // version 2c
    ber_prim(b, 0x04, b"public");
    let pdu = ber_open4(b, 0xa2);
    ber_uint(b, 0x02, s.req_id as u32);
    ber_uint(b, 0x02, 0);
    ber_uint(b, 0x02, 0);
    let vbl = ber_open4(b, 0x30);
    let target = r.range(1000, 1400) as usize;
    let start = b.len();
    let mut i = 0u32;
    while b.len() - start < target {
        let col = (i % 10) as u8 + 1;
        let row = (i / 10) as u8 + 1;
        let vb = ber_open4(b, 0x30);
        ber_prim(b, 0x06, &[0x2b, 6, 1, 2, 1, 2, 2, 1, col, row]);
        match col {
            1 => ber_uint(b, 0x02, row as u32),
            2 => ber_prim(b, 0x04, format!("eth{}", row - 1).as_bytes()),
            3 => ber_uint(b, 0x02, 6),
            4 => ber_uint(b, 0x02, 1500),
            5 => ber_uint(b, 0x42, 1_000_000_000),
            6 => {
                let m = r.next_u64().to_be_bytes();
                ber_prim(b, 0x04, &m[..6]);
            }
            7 | 8 => ber_uint(b, 0x02, 1),
            9 => ber_uint(b, 0x43, r.next_u32() >> 4),
            _ => ber_uint(b, 0x41, r.next_u32()),
        }
        ber_close4(b, vb);
        i += 1;
    }
    ber_close4(b, vbl);
    ber_close4(b, pdu);
    ber_close4(b, msg);
}

/// RFC 864 character generator output: 72-character lines of the 95 printable ASCII
/// characters, each line starting one character later, CRLF-terminated, cut at `n` bytes.
fn chargen(b: &mut Vec<u8>, first: usize, n: usize) {
    let mut line = first;
    let mut written = 0;
    while written < n {
        for k in 0..74 {
            if written == n {
                break;
            }
            let c = match k {
                72 => b'\r',
                73 => b'\n',
                _ => 0x20 + ((line + k) % 95) as u8,
            };
            b.push(c);
            written += 1;
        }
        line += 1;
    }
}

/// WS-Discovery ProbeMatches SOAP envelope (an ONVIF camera answering a probe).
fn wsd_probe_matches(b: &mut Vec<u8>, s: &SourceState, r: &mut Rng) {
    let h = mix64(u32::from(s.addr) as u64 ^ 0x3702);
    let mut uuid = String::with_capacity(36);
    let mut rel = String::with_capacity(36);
    for (i, dash) in [8usize, 4, 4, 4, 12].iter().enumerate() {
        if i > 0 {
            uuid.push('-');
            rel.push('-');
        }
        for _ in 0..*dash {
            uuid.push(HEX[r.below(16) as usize] as char);
            rel.push(HEX[r.below(16) as usize] as char);
        }
    }
    let dev = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        h as u32,
        (h >> 32) as u16,
        (h >> 48) as u16,
        (h >> 16) as u16,
        mix64(h) & 0xffff_ffff_ffff
    );
    let _ = write!(
        b,
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\" ",
            "xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" ",
            "xmlns:wsdd=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" ",
            "xmlns:tdn=\"http://www.onvif.org/ver10/network/wsdl\">",
            "<SOAP-ENV:Header>",
            "<wsa:MessageID>uuid:{uuid}</wsa:MessageID>",
            "<wsa:RelatesTo>uuid:{rel}</wsa:RelatesTo>",
            "<wsa:To SOAP-ENV:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>",
            "<wsa:Action SOAP-ENV:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>",
            "<wsdd:AppSequence InstanceId=\"{inst}\" MessageNumber=\"{num}\"/>",
            "</SOAP-ENV:Header>",
            "<SOAP-ENV:Body><wsdd:ProbeMatches><wsdd:ProbeMatch>",
            "<wsa:EndpointReference><wsa:Address>urn:uuid:{dev}</wsa:Address></wsa:EndpointReference>",
            "<wsdd:Types>tdn:NetworkVideoTransmitter</wsdd:Types>",
            "<wsdd:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/type/audio_encoder ",
            "onvif://www.onvif.org/hardware/IPC-model onvif://www.onvif.org/location/country/china ",
            "onvif://www.onvif.org/name/NVT onvif://www.onvif.org/Profile/Streaming</wsdd:Scopes>",
            "<wsdd:XAddrs>http://192.168.{lan}.{host}/onvif/device_service</wsdd:XAddrs>",
            "<wsdd:MetadataVersion>1</wsdd:MetadataVersion>",
            "</wsdd:ProbeMatch></wsdd:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ),
        uuid = uuid,
        rel = rel,
        inst = (h >> 20) as u32 % 100_000,
        num = r.range(1, 500),
        dev = dev,
        lan = h % 3,
        host = 2 + (h >> 8) % 250,
    );
}
