//! Transport headers (TCP, UDP, ICMP, SCTP/DCCP ports) and GRE decapsulation.

use crate::bytes::{be16, be32};
use crate::ip::{observe_ipv4, observe_ipv6, L4};
use crate::link::{gre_payload, Payload};
use crate::observe::{flag, Encap, Observation, TcpOptions};
use crate::peek;

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number of DCCP.
pub const PROTO_DCCP: u8 = 33;
/// IP protocol number of GRE.
pub const PROTO_GRE: u8 = 47;
/// IP protocol number of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;
/// IP protocol number of SCTP.
pub const PROTO_SCTP: u8 = 132;

/// Bytes of a TCP header up to and including its flags byte (13): what a header cut by
/// the capture must hold for its ports, sequence numbers and flags to be reported.
pub const TCP_THROUGH_FLAGS: usize = 14;

/// TCP flag bits.
pub mod tcp_flag {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// Whether `mode` asks for this payload to be classified.
#[inline]
fn wanted(mode: peek::PeekMode, proto: u8, obs: &Observation, payload: &[u8]) -> bool {
    match mode {
        peek::PeekMode::Never => false,
        peek::PeekMode::Always => true,
        peek::PeekMode::Analysis => payload
            .first()
            .is_some_and(|&b| peek::analysis_wants(proto, obs.sport, obs.dport, b)),
    }
}

/// Fill the transport fields of `obs` from the segment described by `l4`.
///
/// Never fails: a header cut short sets [`flag::L4_TRUNCATED`] and keeps what was read.
/// With `decapsulate`, a GRE payload is decoded one level deep into [`Observation::inner`].
///
/// `peek` chooses which payloads are also classified by content into [`Observation::app`]
/// (see [`crate::peek`]); the others keep `AppHint::None` and the cost is saved.
#[inline]
pub fn observe_l4(
    data: &[u8],
    l4: L4,
    obs: &mut Observation,
    decapsulate: bool,
    peek: peek::PeekMode,
) {
    let seg = data.get(l4.at..l4.end).unwrap_or(&[]);
    match obs.proto {
        PROTO_TCP => {
            // A header cut after its flags byte (a snaplen of 68 on IPv6, a short first
            // fragment) keeps ports, sequence numbers, data offset and flags; the window
            // only from 16 bytes on, the options only as far as they were captured. Cut
            // before the flags, or cut with an impossible data offset (below 5, which
            // tshark calls bogus), the piece is as likely damage as a header, and nothing
            // of it is reported (it counts as `tcp_other`).
            let cut = seg.len() < 20;
            if seg.len() < TCP_THROUGH_FLAGS || (cut && seg[12] < 0x50) {
                obs.flags |= flag::L4_TRUNCATED | flag::PORTS_UNKNOWN;
                return;
            }
            obs.sport = be16(seg, 0);
            obs.dport = be16(seg, 2);
            obs.tcp_seq = be32(seg, 4);
            obs.tcp_ack = be32(seg, 8);
            obs.tcp_flags = seg[13];
            if let Some(w) = seg.get(14..16) {
                obs.tcp_window = be16(w, 0);
            }
            let hlen = (seg[12] >> 4) as usize * 4;
            obs.payload_len = l4.declared_len.saturating_sub(hlen).min(u16::MAX as usize) as u16;
            obs.tcp_options = tcp_options(seg, hlen);
            if hlen > seg.len() || cut {
                obs.flags |= flag::L4_TRUNCATED;
            } else if let Some(payload) = seg.get(hlen..).filter(|_| hlen >= 20) {
                if wanted(peek, PROTO_TCP, obs, payload) {
                    let full = obs.payload_len as usize;
                    obs.app = peek::peek(PROTO_TCP, obs.sport, obs.dport, payload, full);
                }
            }
        }
        PROTO_UDP => {
            if seg.len() < 8 {
                // No port, not even a captured source port: as for TCP, a piece of a
                // header is as likely damage as a cut.
                obs.flags |= flag::L4_TRUNCATED | flag::PORTS_UNKNOWN;
                return;
            }
            obs.sport = be16(seg, 0);
            obs.dport = be16(seg, 2);
            obs.payload_len = l4.declared_len.saturating_sub(8).min(u16::MAX as usize) as u16;
            // A first fragment's UDP length still names the whole datagram.
            let full = (be16(seg, 4) as usize).saturating_sub(8);
            let full = full.max(obs.payload_len as usize);
            let payload = seg.get(8..).unwrap_or(&[]);
            if wanted(peek, PROTO_UDP, obs, payload) {
                obs.app = peek::peek(PROTO_UDP, obs.sport, obs.dport, payload, full);
            }
        }
        PROTO_SCTP | PROTO_DCCP => {
            if seg.len() < 4 {
                obs.flags |= flag::L4_TRUNCATED | flag::PORTS_UNKNOWN;
                return;
            }
            obs.sport = be16(seg, 0);
            obs.dport = be16(seg, 2);
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            if seg.len() < 4 {
                obs.flags |= flag::L4_TRUNCATED;
                if let [t, c, ..] = *seg {
                    obs.icmp_type = t;
                    obs.icmp_code = c;
                }
                return;
            }
            obs.icmp_type = seg[0];
            obs.icmp_code = seg[1];
            obs.payload_len = l4.declared_len.saturating_sub(4).min(u16::MAX as usize) as u16;
        }
        PROTO_GRE => gre(data, l4, obs, decapsulate),
        _ => {}
    }
}

/// Walk the TCP option area `seg[20..hlen]`. A header without options (`hlen` 20) has
/// none to lose, so a cut before byte 20 leaves it well formed.
#[inline]
fn tcp_options(seg: &[u8], hlen: usize) -> TcpOptions {
    let mut out = TcpOptions {
        wscale: 0xff,
        ..TcpOptions::default()
    };
    if hlen < 20 {
        out.malformed = true;
        return out;
    }
    let area = match seg.get(20..hlen) {
        Some(a) => a,
        None => {
            out.malformed = hlen > 20;
            seg.get(20..).unwrap_or(&[])
        }
    };
    let mut p = 0;
    while let Some(&kind) = area.get(p) {
        if kind == 0 {
            break;
        }
        if out.count < 8 {
            out.kinds = (out.kinds << 8) | kind as u64;
        }
        out.count = out.count.saturating_add(1);
        if kind == 1 {
            p += 1;
            continue;
        }
        // Every other option has a length byte that includes kind and length (≥ 2), so
        // the walk always advances.
        let Some(&len) = area.get(p + 1) else {
            out.malformed = true;
            break;
        };
        let len = len as usize;
        let Some(value) = area.get(p + 2..p + len).filter(|_| len >= 2) else {
            out.malformed = true;
            break;
        };
        match (kind, value.len()) {
            (2, 2) => out.mss = u16::from_be_bytes([value[0], value[1]]),
            (3, 1) => out.wscale = value[0],
            _ => {}
        }
        p += len;
    }
    out
}

/// GRE header (RFC 2784/2890, and the PPTP variant of RFC 2637), then one level of inner packet.
fn gre(data: &[u8], l4: L4, obs: &mut Observation, decapsulate: bool) {
    let Some(h) = data.get(l4.at..l4.at + 4).filter(|_| l4.at + 4 <= l4.end) else {
        obs.flags |= flag::L4_TRUNCATED;
        obs.encap = Encap::GreOther;
        return;
    };
    let flags = be16(h, 0);
    let proto = be16(h, 2);
    let version = flags & 7;
    let mut hlen = 4;
    if flags & 0xc000 != 0 {
        hlen += 4; // checksum (+ reserved), present if C or R
    }
    if flags & 0x2000 != 0 {
        hlen += 4; // key (PPTP: payload length + call id)
    }
    if flags & 0x1000 != 0 {
        hlen += 4; // sequence number
    }
    if version == 1 && flags & 0x0080 != 0 {
        hlen += 4; // PPTP acknowledgement number
    }
    obs.inner.gre_protocol = proto;
    obs.encap = match proto {
        crate::link::ethertype::IPV4 | crate::link::ethertype::IPV6 => Encap::GreIp,
        crate::link::ethertype::TEB => Encap::GreEth,
        _ => Encap::GreOther,
    };
    obs.flags |= flag::ENCAPSULATED;
    if !decapsulate {
        return;
    }
    // The inner packet may only use bytes of the outer IP packet.
    let outer = &data[..l4.end];
    let inner_at = l4.at + hlen;
    let Ok(net) = gre_payload(outer, proto, inner_at) else {
        obs.flags |= flag::L4_TRUNCATED;
        return;
    };
    let decoded = match net.payload {
        Payload::Ipv4(at) => observe_ipv4(outer, at, obs.ts_ns),
        Payload::Ipv6(at) => observe_ipv6(outer, at, obs.ts_ns),
        Payload::Other(_) => return,
    };
    let Ok((mut inner, inner_l4)) = decoded else {
        obs.flags |= flag::L4_TRUNCATED;
        return;
    };
    if proto == crate::link::ethertype::PPP {
        obs.encap = Encap::GreIp;
    }
    if inner.fragment != crate::observe::Fragment::Later {
        observe_l4(outer, inner_l4, &mut inner, false, peek::PeekMode::Never);
    }
    // A cut inner transport header is a cut like a cut inner IP header (above): without
    // the flag, inner ports of 0 would be indistinguishable from ports not captured.
    obs.flags |= inner.flags & flag::L4_TRUNCATED;
    obs.inner.proto = inner.proto;
    obs.inner.sport = inner.sport;
    obs.inner.dport = inner.dport;
    obs.inner.dst_is_outer_dst = inner.dst == obs.dst;
}

#[cfg(test)]
mod tests {
    use super::tcp_flag;
    use crate::observe::{flag, Encap, Fragment, Frame};
    use crate::observe_frame;

    /// Ethernet, IPv6, TCP SYN 1234 -> 80 with seq 1, window 65535 and one MSS option
    /// (data offset 6), as /tmp/rev-exact's `d1_v6syn_snap68.pcap` before its cut.
    fn v6_syn() -> Vec<u8> {
        let mut f = vec![
            0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
        ];
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 24, 6, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80,
        ]);
        f.extend_from_slice(&[0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02]);
        f.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4]);
        f
    }

    /// A TCP header cut after its flags byte keeps ports, sequence numbers and flags (so
    /// an IPv6 SYN captured with `-s 68` is a SYN, not `tcp_other`); the window only once
    /// its two bytes are there; the cut is flagged. Before the flags nothing is reported.
    #[test]
    fn tcp_cut_after_flags() {
        let full = v6_syn();
        let tcp = 54;
        for cut in tcp..=full.len() {
            let have = cut - tcp;
            let Ok(Frame::Ip(obs)) = observe_frame(1, &full[..cut], 0, full.len() as u32) else {
                panic!("cut {cut}")
            };
            assert_eq!(obs.proto, 6);
            let truncated = obs.flags & flag::L4_TRUNCATED != 0;
            assert_eq!(truncated, have < 24, "{have} TCP bytes");
            assert_eq!(obs.ports_known(), have >= 14, "{have}");
            if have < 14 {
                assert_eq!((obs.sport, obs.dport, obs.tcp_flags), (0, 0, 0), "{have}");
                continue;
            }
            assert_eq!((obs.sport, obs.dport), (1234, 80), "{have}");
            assert_eq!((obs.tcp_seq, obs.tcp_flags), (1, tcp_flag::SYN), "{have}");
            assert_eq!(obs.tcp_window, if have < 16 { 0 } else { 0xffff }, "{have}");
            assert_eq!(obs.payload_len, 0, "{have}");
            let o = obs.tcp_options;
            assert_eq!(o.malformed, have < 24, "{have}");
            assert_eq!(o.mss, if have < 24 { 0 } else { 1460 }, "{have}");
        }
    }

    /// A UDP header cut before its 8 bytes (as /tmp/rev-exact's `d4_udp_cut.pcap`: NTP
    /// from port 123 cut 1 byte into the header) has unknown ports, not port 0; SCTP and
    /// DCCP likewise before their 4 bytes of ports. Ports of a later fragment are unknown
    /// too.
    #[test]
    fn transport_cut_before_ports_has_no_ports() {
        for proto in [17u8, 132, 33] {
            let need = if proto == 17 { 8 } else { 4 };
            let mut p = vec![
                0x45, 0, 0, 38, 0, 1, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 10, 4, 0,
                7, // IPv4
                0, 123, 0x04, 0xd2, 0, 18, 0, 0, // ports 123 -> 1234, length, checksum
            ];
            p.extend_from_slice(&[0; 10]);
            for have in 0..=8 {
                let cut = &p[..20 + have];
                let Ok(Frame::Ip(obs)) = observe_frame(228, cut, 0, 38) else {
                    panic!("{proto} cut at {have}")
                };
                let known = have >= need;
                assert_eq!(obs.ports_known(), known, "{proto} cut at {have}");
                assert_eq!(
                    obs.flags & flag::L4_TRUNCATED != 0,
                    !known,
                    "{proto} {have}"
                );
                let ports = if known { (123, 1234) } else { (0, 0) };
                assert_eq!((obs.sport, obs.dport), ports, "{proto} cut at {have}");
            }
            // Offset 8: a later fragment, whose payload is no header.
            p[6] = 0x00;
            p[7] = 0x01;
            let Ok(Frame::Ip(obs)) = observe_frame(228, &p, 0, 38) else {
                panic!()
            };
            assert_eq!(obs.fragment, Fragment::Later);
            assert!(!obs.ports_known());
        }
    }

    /// A header cut before byte 20 whose data offset is impossible (below 5) is not read:
    /// tshark shows no flags for it either ("bogus TCP header length").
    #[test]
    fn tcp_cut_with_bogus_data_offset_is_not_read() {
        let mut f = v6_syn();
        for doff in 0..5u8 {
            f[66] = doff << 4;
            let Ok(Frame::Ip(obs)) = observe_frame(1, &f[..70], 0, 78) else {
                panic!()
            };
            assert_eq!((obs.sport, obs.tcp_flags), (0, 0), "data offset {doff}");
            assert_ne!(obs.flags & flag::L4_TRUNCATED, 0);
        }
    }

    /// A header of data offset 5 cut before byte 20 loses no option.
    #[test]
    fn tcp_cut_without_options_is_not_malformed() {
        let mut f = v6_syn();
        f[19] = 20;
        f[66] = 0x50;
        f.truncate(74);
        let Ok(Frame::Ip(obs)) = observe_frame(1, &f[..70], 0, 74) else {
            panic!()
        };
        assert_eq!(obs.tcp_flags, tcp_flag::SYN);
        assert_ne!(obs.flags & flag::L4_TRUNCATED, 0);
        assert!(!obs.tcp_options.malformed);
    }

    /// ../shared/data/pcap/misc/ndpi_ip_fragmented_garbage.pcap, frames 1, 314, 627 and
    /// 940: first IPv4 fragments (total length 36) carrying 16 bytes of a TCP header and
    /// a 4-byte Ethernet trailer. tshark (defragmentation off) shows flags FIN+URG+ECE for
    /// 314 and SYN+ACK (+FIN, PSH, ECE) for 627, and calls the data offsets of 1 (4) and
    /// 940 (2) bogus.
    #[test]
    fn first_fragments_with_16_tcp_bytes() {
        let frame = |tcp: [u8; 16]| {
            let mut f = vec![
                0x42, 0x01, 0x0a, 0xf0, 0x00, 0x01, 0x42, 0x01, 0x0a, 0xf0, 0x00, 0x1b, 0x08, 0x00,
                0x45, 0x00, 0x00, 0x24, 0x00, 0xa0, 0x20, 0x00, 0x40, 0x06, 0x45, 0xb1, 0x0a, 0x00,
                0x00, 0x02, 0x0a, 0x80, 0x00, 0x02,
            ];
            f.extend_from_slice(&tcp);
            f.extend_from_slice(&[0xbb, 0xa3, 0x00, 0x00]);
            let Ok(Frame::Ip(obs)) = observe_frame(1, &f, 0, 54) else {
                panic!()
            };
            assert_eq!(obs.fragment, Fragment::First);
            assert_ne!(obs.flags & flag::L4_TRUNCATED, 0);
            obs
        };
        let f627 = frame(*b"$%^&*(*&^%$#rsdl");
        assert_eq!((f627.sport, f627.dport), (0x2425, 0x5e26));
        assert_eq!((f627.tcp_flags, f627.tcp_window), (0x73, 0x646c));
        let f314 = frame(*b"I*OP{\":hdflkda>L");
        assert_eq!((f314.sport, f314.tcp_flags), (0x492a, 0x61));
        for bogus in [*b"^&*()(*&^%$#@#$%", *b"@!@#$%^&*()(*&^%"] {
            let obs = frame(bogus);
            assert_eq!((obs.sport, obs.dport, obs.tcp_flags), (0, 0, 0));
        }
    }

    /// Raw IPv4 (LINKTYPE_IPV4) carrying GRE 0x0800, inner IPv4/UDP, every byte a given
    /// length needs; the capture ends `cut` bytes into the inner UDP header.
    fn gre_udp(cut: usize) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 52, 0, 1, 0, 0, 64, 47, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, // outer
            0, 0, 0x08, 0x00, // GRE, no options, IPv4
            0x45, 0, 0, 28, 0, 2, 0, 0, 63, 17, 0, 0, 198, 51, 100, 1, 192, 0, 2, 2, // inner
            0x82, 0x35, 0xad, 0x9c, 0, 8, 0, 0, // UDP 33333 -> 44444
        ];
        p.truncate(44 + cut);
        p
    }

    #[test]
    fn gre_inner_ports() {
        let p = gre_udp(8);
        let Ok(Frame::Ip(obs)) = observe_frame(228, &p, 0, p.len() as u32) else {
            panic!()
        };
        assert_eq!(obs.encap, Encap::GreIp);
        assert_eq!(
            (obs.inner.proto, obs.inner.sport, obs.inner.dport),
            (17, 33333, 44444)
        );
        assert!(obs.inner.dst_is_outer_dst);
        assert_eq!(obs.flags & flag::L4_TRUNCATED, 0);
    }

    /// A cut inner transport header must be flagged like a cut inner IP header, or inner
    /// ports of 0 would look like real ones (found by observe::tests::truncated).
    #[test]
    fn gre_inner_transport_truncated() {
        for cut in 0..8 {
            let p = gre_udp(cut);
            let Ok(Frame::Ip(obs)) = observe_frame(228, &p, 0, 52) else {
                panic!("cut {cut}")
            };
            assert_eq!(
                (obs.inner.proto, obs.inner.sport, obs.inner.dport),
                (17, 0, 0)
            );
            assert_ne!(obs.flags & flag::L4_TRUNCATED, 0, "cut {cut}");
        }
    }
}
