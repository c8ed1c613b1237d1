//! Zero-dependency frame builders: Ethernet II, IPv4 (with fragments), TCP, UDP, ICMP echo
//! and GRE, appended in place to a caller-owned `Vec<u8>`.
//!
//! Headers are written in two steps so that no per-packet allocation is needed: a
//! `*_begin` function appends a header with its length and checksum fields zero and returns
//! the header's offset; the caller then appends the payload straight into the same buffer
//! (for example with [`append_zeroed`] and a random fill); a `*_finish` function fills in
//! the lengths and checksums. Finish the innermost layer first (TCP/UDP, then IPv4).
//!
//! ```
//! use floodtrace_sim::packet::*;
//! use std::net::Ipv4Addr;
//!
//! let mut out = Vec::new();
//! let ip = Ipv4Header::new(PROTO_UDP, Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 7), 64);
//! ethernet(&mut out, HOST_MAC, ROUTER_MAC, ETHERTYPE_IPV4);
//! let ip_at = ipv4_begin(&mut out, &ip);
//! let udp_at = udp_begin(&mut out, 40000, 53);
//! out.extend_from_slice(b"hello");
//! udp_finish(&mut out, ip_at, udp_at);
//! ipv4_finish(&mut out, ip_at);
//! assert_eq!(out.len(), 14 + 20 + 8 + 5);
//! assert_eq!(checksum(&out[ip_at..ip_at + 20]), 0); // a valid header sums to zero
//! ```
//!
//! Checksums are one pass over the bytes with 64-bit accumulation ([`sum_be`]).

use std::net::Ipv4Addr;

/// MAC of the upstream router: source of every frame arriving at the monitored network.
pub const ROUTER_MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x53, 0x01];
/// MAC of the monitored host side: destination of arriving frames.
pub const HOST_MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x53, 0x02];
pub use floodtrace_wire::link::ethertype::IPV4 as ETHERTYPE_IPV4;
pub use floodtrace_wire::link::ethertype::TEB as ETHERTYPE_TEB;
// Protocol numbers and EtherTypes are the decoder's own, so both sides agree by construction.
pub use floodtrace_wire::transport::{PROTO_GRE, PROTO_ICMP, PROTO_TCP, PROTO_UDP};
/// Length of an Ethernet II header.
pub const ETH_LEN: usize = 14;
/// Length of an IPv4 header without options.
pub const IPV4_LEN: usize = 20;
/// Length of a TCP header without options.
pub const TCP_LEN: usize = 20;
/// Length of a UDP header.
pub const UDP_LEN: usize = 8;
/// Length of a basic GRE header (no checksum, key or sequence).
pub const GRE_LEN: usize = 4;

/// TCP flag FIN.
pub const FIN: u8 = 0x01;
/// TCP flag SYN.
pub const SYN: u8 = 0x02;
/// TCP flag RST.
pub const RST: u8 = 0x04;
/// TCP flag PSH.
pub const PSH: u8 = 0x08;
/// TCP flag ACK.
pub const ACK: u8 = 0x10;
/// TCP flag URG.
pub const URG: u8 = 0x20;

/// Ones'-complement sum of `data` read as big-endian 16-bit words, added to `acc`, in
/// 64-bit steps with end-around carry (fold with [`fold`]). An odd trailing byte is the
/// high byte of a last word padded with zero.
#[inline]
pub fn sum_be(data: &[u8], mut acc: u64) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let (s, o) = acc.overflowing_add(v);
        acc = s + o as u64;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        let (s, o) = acc.overflowing_add(u64::from_be_bytes(b));
        acc = s + o as u64;
    }
    acc
}

/// Folds a 64-bit accumulator from [`sum_be`] to the 16-bit Internet checksum (complemented).
#[inline]
pub fn fold(acc: u64) -> u16 {
    let mut s = (acc & 0xffff_ffff) + (acc >> 32);
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// The Internet checksum (RFC 1071) of `data`; 0 when `data` already holds a valid one.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum_be(data, 0))
}

/// Appends `n` zero bytes and returns them, for the caller to fill (e.g. with random bytes).
#[inline]
pub fn append_zeroed(out: &mut Vec<u8>, n: usize) -> &mut [u8] {
    let at = out.len();
    out.resize(at + n, 0);
    &mut out[at..]
}

/// Appends an Ethernet II header.
#[inline]
pub fn ethernet(out: &mut Vec<u8>, dst: [u8; 6], src: [u8; 6], ethertype: u16) {
    let t = ethertype.to_be_bytes();
    out.extend_from_slice(&[
        dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], src[0], src[1], src[2], src[3], src[4],
        src[5], t[0], t[1],
    ]);
}

/// The fields of an IPv4 header (IHL 5: no options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Type of service byte (DSCP + ECN).
    pub tos: u8,
    /// Identification, written big-endian as given.
    pub id: u16,
    /// Don't Fragment.
    pub df: bool,
    /// More Fragments.
    pub mf: bool,
    /// Fragment offset in 8-byte units (0..8191).
    pub frag_offset: u16,
    /// Time to live.
    pub ttl: u8,
    /// Upper-layer protocol number.
    pub proto: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
}

impl Ipv4Header {
    /// A header with TOS 0, ID 0, no fragmentation flags.
    #[inline]
    pub fn new(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> Self {
        Ipv4Header {
            tos: 0,
            id: 0,
            df: false,
            mf: false,
            frag_offset: 0,
            ttl,
            proto,
            src,
            dst,
        }
    }

    /// Same header with the given identification.
    #[inline]
    pub fn id(mut self, id: u16) -> Self {
        self.id = id;
        self
    }

    /// Same header with the Don't Fragment bit as given.
    #[inline]
    pub fn df(mut self, df: bool) -> Self {
        self.df = df;
        self
    }
}

/// Appends an IPv4 header (total length and checksum zero until [`ipv4_finish`]) and
/// returns its offset in `out`.
#[inline]
pub fn ipv4_begin(out: &mut Vec<u8>, h: &Ipv4Header) -> usize {
    let at = out.len();
    let frag =
        (h.frag_offset & 0x1fff) | if h.df { 0x4000 } else { 0 } | if h.mf { 0x2000 } else { 0 };
    let id = h.id.to_be_bytes();
    let fr = frag.to_be_bytes();
    let s = h.src.octets();
    let d = h.dst.octets();
    out.extend_from_slice(&[
        0x45, h.tos, 0, 0, id[0], id[1], fr[0], fr[1], h.ttl, h.proto, 0, 0, s[0], s[1], s[2],
        s[3], d[0], d[1], d[2], d[3],
    ]);
    at
}

/// Sets the total length (everything from `ip_at` to the end of `out`) and the header
/// checksum of the IPv4 header at `ip_at`.
#[inline]
pub fn ipv4_finish(out: &mut [u8], ip_at: usize) {
    let len = (out.len() - ip_at) as u16;
    let h = &mut out[ip_at..ip_at + IPV4_LEN];
    h[2..4].copy_from_slice(&len.to_be_bytes());
    h[10] = 0;
    h[11] = 0;
    let c = checksum(h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Sum of the TCP/UDP pseudo-header for the IPv4 header at `ip_at` and an L4 length.
#[inline]
fn pseudo_sum(out: &[u8], ip_at: usize, proto: u8, l4_len: usize) -> u64 {
    let h = &out[ip_at..ip_at + IPV4_LEN];
    let src = u32::from_be_bytes([h[12], h[13], h[14], h[15]]) as u64;
    let dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]) as u64;
    src + dst + proto as u64 + l4_len as u64
}

/// The fields of a TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags byte (see [`SYN`], [`ACK`], …).
    pub flags: u8,
    /// Window.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Raw option bytes, written as given (length should be a multiple of 4).
    pub options: &'a [u8],
    /// Data offset (in 32-bit words) to write instead of `5 + options.len() / 4`: the
    /// Mirai stomp quirk claims 8 with no options written.
    pub data_offset: Option<u8>,
}

impl<'a> TcpHeader<'a> {
    /// A header with the given ports, sequence numbers and flags; window 0, no options.
    #[inline]
    pub fn new(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Self {
        TcpHeader {
            sport,
            dport,
            seq,
            ack,
            flags,
            window: 0,
            urgent: 0,
            options: &[],
            data_offset: None,
        }
    }
}

/// Appends a TCP header with its options (checksum zero until [`tcp_finish`]) and returns
/// its offset in `out`.
#[inline]
pub fn tcp_begin(out: &mut Vec<u8>, t: &TcpHeader<'_>) -> usize {
    let at = out.len();
    let doff = t.data_offset.unwrap_or((5 + t.options.len() / 4) as u8);
    let sp = t.sport.to_be_bytes();
    let dp = t.dport.to_be_bytes();
    let sq = t.seq.to_be_bytes();
    let ak = t.ack.to_be_bytes();
    let w = t.window.to_be_bytes();
    let u = t.urgent.to_be_bytes();
    out.extend_from_slice(&[
        sp[0],
        sp[1],
        dp[0],
        dp[1],
        sq[0],
        sq[1],
        sq[2],
        sq[3],
        ak[0],
        ak[1],
        ak[2],
        ak[3],
        doff << 4,
        t.flags,
        w[0],
        w[1],
        0,
        0,
        u[0],
        u[1],
    ]);
    out.extend_from_slice(t.options);
    at
}

/// Sets the checksum of the TCP segment at `tcp_at` (to the end of `out`), inside the
/// IPv4 packet at `ip_at`.
#[inline]
pub fn tcp_finish(out: &mut [u8], ip_at: usize, tcp_at: usize) {
    let len = out.len() - tcp_at;
    out[tcp_at + 16] = 0;
    out[tcp_at + 17] = 0;
    let c = fold(sum_be(
        &out[tcp_at..],
        pseudo_sum(out, ip_at, PROTO_TCP, len),
    ));
    out[tcp_at + 16..tcp_at + 18].copy_from_slice(&c.to_be_bytes());
}

/// Appends a UDP header (length and checksum zero until [`udp_finish`]) and returns its
/// offset in `out`.
#[inline]
pub fn udp_begin(out: &mut Vec<u8>, sport: u16, dport: u16) -> usize {
    let at = out.len();
    let sp = sport.to_be_bytes();
    let dp = dport.to_be_bytes();
    out.extend_from_slice(&[sp[0], sp[1], dp[0], dp[1], 0, 0, 0, 0]);
    at
}

/// Sets length and checksum of the UDP datagram at `udp_at` (to the end of `out`), inside
/// the IPv4 packet at `ip_at`. A computed checksum of 0 is sent as 0xffff.
#[inline]
pub fn udp_finish(out: &mut [u8], ip_at: usize, udp_at: usize) {
    let len = out.len() - udp_at;
    out[udp_at + 4..udp_at + 6].copy_from_slice(&(len as u16).to_be_bytes());
    out[udp_at + 6] = 0;
    out[udp_at + 7] = 0;
    let c = fold(sum_be(
        &out[udp_at..],
        pseudo_sum(out, ip_at, PROTO_UDP, len),
    ));
    let c = if c == 0 { 0xffff } else { c };
    out[udp_at + 6..udp_at + 8].copy_from_slice(&c.to_be_bytes());
}

/// Sets the checksum of a complete UDP datagram held alone in `dgram` (header + payload,
/// length field already set) for the given addresses: used to checksum a datagram before
/// it is cut into IP fragments.
#[inline]
pub fn udp_checksum_standalone(dgram: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) {
    let len = dgram.len();
    dgram[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    dgram[6] = 0;
    dgram[7] = 0;
    let pseudo = u32::from(src) as u64 + u32::from(dst) as u64 + PROTO_UDP as u64 + len as u64;
    let c = fold(sum_be(dgram, pseudo));
    let c = if c == 0 { 0xffff } else { c };
    dgram[6..8].copy_from_slice(&c.to_be_bytes());
}

/// Appends an ICMP echo request (`request`) or reply with identifier, sequence and payload,
/// checksum included.
#[inline]
pub fn icmp_echo(out: &mut Vec<u8>, request: bool, ident: u16, seq: u16, payload: &[u8]) {
    let at = icmp_echo_begin(out, request, ident, seq);
    out.extend_from_slice(payload);
    icmp_finish(out, at);
}

/// Appends an ICMP echo request (`request`) or reply header with checksum zero and returns
/// its offset; append the payload, then call [`icmp_finish`].
#[inline]
pub fn icmp_echo_begin(out: &mut Vec<u8>, request: bool, ident: u16, seq: u16) -> usize {
    let at = out.len();
    let i = ident.to_be_bytes();
    let s = seq.to_be_bytes();
    out.extend_from_slice(&[if request { 8 } else { 0 }, 0, 0, 0, i[0], i[1], s[0], s[1]]);
    at
}

/// Sets the checksum of the ICMP message at `icmp_at` (to the end of `out`).
#[inline]
pub fn icmp_finish(out: &mut [u8], icmp_at: usize) {
    out[icmp_at + 2] = 0;
    out[icmp_at + 3] = 0;
    let c = checksum(&out[icmp_at..]);
    out[icmp_at + 2..icmp_at + 4].copy_from_slice(&c.to_be_bytes());
}

/// Appends a 4-byte GRE header (no checksum, key or sequence; version 0) carrying
/// `protocol` ([`ETHERTYPE_IPV4`] for an inner IPv4 packet, [`ETHERTYPE_TEB`] for an inner
/// Ethernet frame, which the caller appends next with [`ethernet`]).
#[inline]
pub fn gre(out: &mut Vec<u8>, protocol: u16) {
    let p = protocol.to_be_bytes();
    out.extend_from_slice(&[0, 0, p[0], p[1]]);
}

/// Appends one complete Ethernet/IPv4 frame carrying the bytes `l4[offset..offset + n]` of
/// an already checksummed L4 datagram `l4`, as an IP fragment when `l4` does not fit in
/// `max_ip_payload` bytes (a multiple of 8, e.g. 1480 for a 1500-byte MTU). `ip` gives the
/// addresses, ID, TTL and protocol; its fragment fields are set here. Returns the offset
/// of the next fragment, or `None` when this was the last (or only) one.
pub fn ipv4_fragment(
    out: &mut Vec<u8>,
    mac_dst: [u8; 6],
    mac_src: [u8; 6],
    ip: &Ipv4Header,
    l4: &[u8],
    offset: usize,
    max_ip_payload: usize,
) -> Option<usize> {
    debug_assert!(max_ip_payload.is_multiple_of(8) && offset.is_multiple_of(8));
    let end = (offset + max_ip_payload).min(l4.len());
    let more = end < l4.len();
    let mut h = *ip;
    h.mf = more;
    h.frag_offset = (offset / 8) as u16;
    if more || offset > 0 {
        h.df = false;
    }
    ethernet(out, mac_dst, mac_src, ETHERTYPE_IPV4);
    let ip_at = ipv4_begin(out, &h);
    out.extend_from_slice(&l4[offset..end]);
    ipv4_finish(out, ip_at);
    more.then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                (c[0] as u16) << 8
            };
            s += w as u32;
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn checksum_matches_naive() {
        let mut x: u64 = 12345;
        for len in 0..200 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 56) as u8
                })
                .collect();
            assert_eq!(checksum(&data), naive(&data), "len {len}");
        }
        assert_eq!(checksum(&[0xff; 64]), naive(&[0xff; 64]));
    }
}
