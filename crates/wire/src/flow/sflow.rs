//! sFlow version 5 (sflow.org, "sFlow Version 5", 2004), XDR encoded.
//!
//! Datagram: version 5, agent address (type 1 IPv4 / 2 IPv6), sub-agent id, sequence,
//! uptime, sample count, samples. Samples (enterprise 0): 1 flow sample, 2 counter sample,
//! 3 expanded flow sample, 4 expanded counter sample. A flow sample becomes one
//! observation: from its raw packet header record when there is one that floodtrace
//! decodes, else from a sampled IPv4 / IPv6 record. Counts are scaled by the sample's
//! sampling rate. sFlow carries no wall-clock time: observations take the `received_ns`
//! the caller gives.
//!
//! Raw packet headers go through the packet decoder ([`observe_network_into`]) behind the
//! link walker for their header protocol: Ethernet (1), frame relay (5), PPP (7), IPv4
//! (11), IPv6 (12), MPLS (13) and PPP over SONET/SDH (14). The other valid protocols
//! (token bus, token ring, FDDI, X.25, SMDS, AAL5, 802.11: 2–4, 6, 8–10, 15–17) are not
//! decoded; a sample with nothing else is reported as [`FlowEvent::Skipped`], which is
//! not damage. Values outside 1–17 are errors (`sflow.header_protocol`).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{get32, scale, Ctx, FlowError, FlowErrorKind, FlowEvent, FlowProtocol};
use super::{InterfaceCounters, SkippedSample};
use crate::link::{self, linktype};
use crate::observe::{observe_network_into, Observation, Origin};
use crate::peek::PeekMode;

const P: FlowProtocol = FlowProtocol::SflowV5;

/// Most samples walked per datagram (a datagram holds far fewer: each takes ≥ 8 bytes).
const MAX_SAMPLES: u32 = 8192;

/// Length of the datagram header for the agent address type, if valid.
pub(crate) fn header_len(d: &[u8]) -> Option<usize> {
    match get32(d, 4)? {
        1 => Some(28),
        2 => Some(40),
        _ => None,
    }
}

/// Decode an sFlow v5 datagram; returns the bytes that belonged to it.
pub(crate) fn decode<F: FnMut(FlowEvent)>(ctx: &mut Ctx<'_, F>, d: &[u8]) -> usize {
    let Some(hlen) = header_len(d) else {
        match get32(d, 4) {
            Some(t) => ctx.error(FlowError::bad(
                P,
                4,
                "sflow.agent_address_type",
                u64::from(t),
            )),
            None => ctx.error(FlowError::truncated(P, 0, "header", 28, d.len())),
        }
        return d.len();
    };
    if d.len() < hlen {
        ctx.error(FlowError::truncated(P, 0, "header", hlen, d.len()));
        return d.len();
    }
    let agent = if hlen == 28 {
        IpAddr::V4(Ipv4Addr::new(d[8], d[9], d[10], d[11]))
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&d[8..24]);
        IpAddr::V6(Ipv6Addr::from(a))
    };
    let sub_agent = get32(d, hlen - 16).unwrap_or(0);
    let samples = get32(d, hlen - 4).unwrap_or(0);
    if samples > MAX_SAMPLES {
        ctx.error(FlowError::bad(
            P,
            hlen - 4,
            "sflow.sample_count",
            u64::from(samples),
        ));
        return d.len();
    }
    let mut at = hlen;
    for _ in 0..samples {
        let (Some(tag), Some(len)) = (get32(d, at), get32(d, at + 4)) else {
            ctx.error(FlowError::truncated(
                P,
                at,
                "sample header",
                8,
                d.len() - at,
            ));
            return d.len();
        };
        let len = len as usize;
        let Some(body) = d.get(at + 8..(at + 8).saturating_add(len)) else {
            ctx.error(FlowError::truncated(P, at, "sample", len + 8, d.len() - at));
            return d.len();
        };
        let base = at + 8;
        match tag {
            1 => flow_sample(ctx, body, base, false),
            3 => flow_sample(ctx, body, base, true),
            2 => counter_sample(ctx, body, base, false, agent, sub_agent),
            4 => counter_sample(ctx, body, base, true, agent, sub_agent),
            _ => {} // other enterprises / formats: skipped by their length
        }
        at = base + len;
    }
    if at < d.len() {
        ctx.error(FlowError::new(
            P,
            at,
            FlowErrorKind::Trailing {
                bytes: d.len() - at,
            },
        ));
        return at;
    }
    d.len()
}

/// One flow sample (`expanded`: format 3, with separate source id type / index words).
fn flow_sample<F: FnMut(FlowEvent)>(ctx: &mut Ctx<'_, F>, s: &[u8], base: usize, expanded: bool) {
    // seq, source id (1 or 2 words), rate, pool, drops, input (1 or 2), output (1 or 2), n.
    let head = if expanded { 44 } else { 32 };
    if s.len() < head {
        ctx.error(FlowError::truncated(P, base, "flow sample", head, s.len()));
        return;
    }
    let w = |i: usize| get32(s, i * 4).unwrap_or(0);
    let idx = if expanded { 3 } else { 2 };
    let rate = ctx.rate(w(idx));
    let records = w(head / 4 - 1);
    let mut header: Option<Observation> = None;
    let mut sampled: Option<Observation> = None;
    // The first packet header of a protocol that is not decoded: (protocol, offset).
    let mut undecoded: Option<(u32, usize)> = None;
    let mut at = head;
    for _ in 0..records.min(1024) {
        let (Some(tag), Some(len)) = (get32(s, at), get32(s, at + 4)) else {
            ctx.error(FlowError::truncated(
                P,
                base + at,
                "flow record header",
                8,
                s.len() - at,
            ));
            break;
        };
        let len = len as usize;
        let Some(r) = s.get(at + 8..(at + 8).saturating_add(len)) else {
            ctx.error(FlowError::truncated(
                P,
                base + at,
                "flow record",
                len + 8,
                s.len() - at,
            ));
            break;
        };
        let rbase = base + at + 8;
        match tag {
            1 if header.is_none() => match raw_header(r, rbase) {
                Ok(Header::Ip(obs)) => header = Some(obs),
                Ok(Header::NotIp) => {}
                Ok(Header::NotDecoded(proto)) => {
                    undecoded.get_or_insert((proto, rbase));
                }
                Err(e) => ctx.error(e),
            },
            3 if r.len() >= 32 && sampled.is_none() => {
                let q = |i: usize| get32(r, i * 4).unwrap_or(0);
                let mut o = Observation::new(
                    0,
                    IpAddr::V4(Ipv4Addr::from(q(2))),
                    IpAddr::V4(Ipv4Addr::from(q(3))),
                );
                o.ip_len = q(0);
                o.proto = q(1) as u8;
                o.sport = q(4) as u16;
                o.dport = q(5) as u16;
                o.tcp_flags = if o.proto == 6 { q(6) as u8 } else { 0 };
                sampled = Some(o);
            }
            4 if r.len() >= 56 && sampled.is_none() => {
                let q = |at: usize| get32(r, at).unwrap_or(0);
                let a = |at: usize| {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(&r[at..at + 16]);
                    IpAddr::V6(Ipv6Addr::from(b))
                };
                let mut o = Observation::new(0, a(8), a(24));
                o.ip_len = q(0);
                o.proto = q(4) as u8;
                o.sport = q(40) as u16;
                o.dport = q(44) as u16;
                o.tcp_flags = if o.proto == 6 { q(48) as u8 } else { 0 };
                sampled = Some(o);
            }
            _ => {}
        }
        at += 8 + len;
    }
    let Some(mut obs) = header.or(sampled) else {
        if let Some((header_protocol, offset)) = undecoded {
            ctx.skip(SkippedSample {
                protocol: P,
                offset,
                header_protocol,
                sampling: rate,
            });
        }
        return;
    };
    obs.ts_ns = ctx.received_ns;
    obs.origin = Origin::Flow;
    obs.sampling = rate;
    obs.packets = scale(1, rate);
    obs.bytes = scale(u64::from(obs.ip_len), rate);
    ctx.record(&obs);
}

/// What a raw packet header record gave.
enum Header {
    /// An IP packet.
    Ip(Observation),
    /// A frame without IP (ARP, LLDP, LCP, …).
    NotIp,
    /// A valid header protocol floodtrace does not decode.
    NotDecoded(u32),
}

/// A raw packet header record: header protocol, frame length, stripped, header length,
/// header bytes.
fn raw_header(r: &[u8], base: usize) -> Result<Header, FlowError> {
    if r.len() < 16 {
        return Err(FlowError::truncated(
            P,
            base,
            "raw packet header",
            16,
            r.len(),
        ));
    }
    let w = |i: usize| get32(r, i * 4).unwrap_or(0);
    let (proto, frame_len, hlen) = (w(0), w(1), w(3) as usize);
    let Some(bytes) = r.get(16..16usize.saturating_add(hlen)) else {
        return Err(FlowError::truncated(
            P,
            base + 16,
            "sampled header",
            hlen,
            r.len() - 16,
        ));
    };
    let net = match proto {
        1 => link::ethernet(bytes, 0),
        5 => link::frame_relay(bytes, 0),
        7 => link::ppp(bytes, 0),
        11 => link::network_layer(linktype::IPV4, bytes),
        12 => link::network_layer(linktype::IPV6, bytes),
        13 => link::mpls(bytes, 0, 0),
        14 => link::pos(bytes, 0),
        2..=17 => return Ok(Header::NotDecoded(proto)),
        other => {
            return Err(FlowError::bad(
                P,
                base,
                "sflow.header_protocol",
                u64::from(other),
            ))
        }
    };
    let packet = |e| FlowError::new(P, base + 16, FlowErrorKind::Packet(e));
    let net = net.map_err(packet)?;
    let mut obs = Observation::default();
    match observe_network_into(bytes, net, 0, frame_len, PeekMode::Always, &mut obs) {
        Ok(None) => Ok(Header::Ip(obs)),
        Ok(Some(_)) => Ok(Header::NotIp),
        Err(e) => Err(packet(e)),
    }
}

/// The name of an sFlow v5 `header_protocol` (sflow_version_5.txt, `enum header_protocol`).
pub(crate) fn header_protocol_name(proto: u32) -> &'static str {
    match proto {
        1 => "Ethernet",
        2 => "ISO 8802-4 token bus",
        3 => "ISO 8802-5 token ring",
        4 => "FDDI",
        5 => "frame relay",
        6 => "X.25",
        7 => "PPP",
        8 => "SMDS",
        9 => "ATM AAL5",
        10 => "ATM AAL5 IP",
        11 => "IPv4",
        12 => "IPv6",
        13 => "MPLS",
        14 => "PPP over SONET/SDH",
        15 => "IEEE 802.11 MAC",
        16 => "IEEE 802.11 A-MPDU",
        17 => "IEEE 802.11 A-MSDU subframe",
        _ => "not defined",
    }
}

/// The reason key of a sample skipped for its header protocol `proto` (see
/// [`SkippedSample::reason`]).
pub(crate) fn not_decoded_reason(proto: u32) -> &'static str {
    match proto {
        2 => "sflow.header_not_decoded.token_bus",
        3 => "sflow.header_not_decoded.token_ring",
        4 => "sflow.header_not_decoded.fddi",
        6 => "sflow.header_not_decoded.x25",
        8 => "sflow.header_not_decoded.smds",
        9 => "sflow.header_not_decoded.aal5",
        10 => "sflow.header_not_decoded.aal5_ip",
        15 => "sflow.header_not_decoded.ieee80211",
        16 => "sflow.header_not_decoded.ieee80211_ampdu",
        17 => "sflow.header_not_decoded.ieee80211_amsdu",
        _ => "sflow.header_not_decoded",
    }
}

/// A counter sample: generic interface counters become [`FlowEvent::Counters`].
fn counter_sample<F: FnMut(FlowEvent)>(
    ctx: &mut Ctx<'_, F>,
    s: &[u8],
    base: usize,
    expanded: bool,
    agent: IpAddr,
    sub_agent: u32,
) {
    let head = if expanded { 16 } else { 12 };
    if s.len() < head {
        ctx.error(FlowError::truncated(
            P,
            base,
            "counter sample",
            head,
            s.len(),
        ));
        return;
    }
    let sequence = get32(s, 0).unwrap_or(0);
    let records = get32(s, head - 4).unwrap_or(0);
    let mut at = head;
    for _ in 0..records.min(1024) {
        let (Some(tag), Some(len)) = (get32(s, at), get32(s, at + 4)) else {
            ctx.error(FlowError::truncated(
                P,
                base + at,
                "counter record header",
                8,
                s.len() - at,
            ));
            return;
        };
        let len = len as usize;
        let Some(r) = s.get(at + 8..(at + 8).saturating_add(len)) else {
            ctx.error(FlowError::truncated(
                P,
                base + at,
                "counter record",
                len + 8,
                s.len() - at,
            ));
            return;
        };
        if tag == 1 && r.len() >= 88 {
            let q = |at: usize| get32(r, at).unwrap_or(0);
            let q64 = |at: usize| (u64::from(q(at)) << 32) | u64::from(q(at + 4));
            ctx.emit(FlowEvent::Counters(InterfaceCounters {
                agent,
                sub_agent,
                ts_ns: ctx.received_ns,
                sequence,
                if_index: q(0),
                if_type: q(4),
                if_speed: q64(8),
                if_direction: q(16),
                if_status: q(20),
                in_octets: q64(24),
                in_unicast: q(32),
                in_multicast: q(36),
                in_broadcast: q(40),
                in_discards: q(44),
                in_errors: q(48),
                out_octets: q64(56),
                out_unicast: q(64),
                out_multicast: q(68),
                out_broadcast: q(72),
                out_discards: q(76),
                out_errors: q(80),
            }));
        }
        at += 8 + len;
    }
}

#[cfg(test)]
mod tests {
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use crate::error::DecodeError;
    use crate::flow::{FlowDecoder, FlowError, FlowErrorKind, FlowEvent, SkippedSample};
    use crate::observe::{flag, Observation, Origin};

    const RATE: u32 = 50;

    fn words(out: &mut Vec<u8>, words: &[u32]) {
        for w in words {
            out.extend_from_slice(&w.to_be_bytes());
        }
    }

    /// IPv4 UDP 10.9.0.7:53 → 192.0.2.70:33333, 100 payload bytes (128 in all).
    fn udp4() -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 128, 0, 1, 0, 0, 64, 17, 0, 0];
        p.extend_from_slice(&[10, 9, 0, 7, 192, 0, 2, 70]);
        p.extend_from_slice(&[0, 53, 0x82, 0x35, 0, 108, 0, 0]);
        p.extend_from_slice(&[b'z'; 100]);
        p
    }

    /// IPv6 UDP [2001:db8::7]:53 → [2001:db8::46]:33333, 20 payload bytes (68 in all).
    fn udp6() -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 28, 17, 64];
        p.extend_from_slice(&SRC6.octets());
        p.extend_from_slice(&DST6.octets());
        p.extend_from_slice(&[0, 53, 0x82, 0x35, 0, 28, 0, 0]);
        p.extend_from_slice(&[b'z'; 20]);
        p
    }

    const SRC6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);
    const DST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x46);

    /// `head` followed by `packet`.
    fn frame(head: &[u8], packet: &[u8]) -> Vec<u8> {
        let mut f = head.to_vec();
        f.extend_from_slice(packet);
        f
    }

    /// An MPLS label stack entry: label, bottom-of-stack bit, TTL 64.
    fn label(label: u32, bottom: bool) -> [u8; 4] {
        ((label << 12) | (u32::from(bottom) << 8) | 64).to_be_bytes()
    }

    fn record(tag: u32, body: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        words(&mut r, &[tag, body.len() as u32]);
        r.extend_from_slice(body);
        r
    }

    /// A raw packet header record (format 1) of header protocol `proto`.
    fn raw_header(proto: u32, header: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        words(
            &mut body,
            &[proto, header.len() as u32 + 4, 4, header.len() as u32],
        );
        body.extend_from_slice(header);
        while body.len() % 4 != 0 {
            body.push(0);
        }
        record(1, &body)
    }

    /// A sampled IPv4 record (format 3): 10.9.0.8:53 → 192.0.2.71:33333, UDP, 128 bytes.
    fn sampled_ipv4() -> Vec<u8> {
        let mut body = Vec::new();
        words(&mut body, &[128, 17]);
        body.extend_from_slice(&[10, 9, 0, 8, 192, 0, 2, 71]);
        words(&mut body, &[53, 33333, 0, 0]);
        record(3, &body)
    }

    /// A datagram from agent 192.0.2.100 with one flow sample (1 in [`RATE`]) per entry of
    /// `samples`, each holding its records.
    fn datagram(samples: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut d = Vec::new();
        words(&mut d, &[5, 1]);
        d.extend_from_slice(&[192, 0, 2, 100]);
        words(&mut d, &[0, 1, 1000, samples.len() as u32]);
        for records in samples {
            let mut s = Vec::new();
            words(&mut s, &[1, 3, RATE, 1000, 0, 3, 4, records.len() as u32]);
            for r in records {
                s.extend_from_slice(r);
            }
            words(&mut d, &[1, s.len() as u32]);
            d.extend_from_slice(&s);
        }
        d
    }

    /// Offset of the first sample's first record body in a [`datagram`].
    const FIRST_RECORD: usize = 28 + 8 + 32 + 8;

    #[derive(Debug, Default)]
    struct Out {
        records: Vec<Observation>,
        errors: Vec<FlowError>,
        skipped: Vec<SkippedSample>,
    }

    fn decode(d: &[u8]) -> Out {
        let mut out = Out::default();
        let mut decoder = FlowDecoder::default();
        let exporter = IpAddr::V4(Ipv4Addr::LOCALHOST);
        decoder.decode(exporter, 7, d, &mut |ev| match ev {
            FlowEvent::Record(o) => out.records.push(*o),
            FlowEvent::Error(e) => out.errors.push(e),
            FlowEvent::Skipped(s) => out.skipped.push(s),
            _ => {}
        });
        let stats = decoder.stats();
        assert_eq!(stats.errors, out.errors.len() as u64);
        assert_eq!(stats.skipped, out.skipped.len() as u64);
        out
    }

    /// The records of a sample holding only a header of protocol `proto`, which must give
    /// no error and not be skipped.
    fn decode_clean(proto: u32, header: &[u8]) -> Vec<Observation> {
        let out = decode(&datagram(&[vec![raw_header(proto, header)]]));
        assert!(
            out.errors.is_empty(),
            "{proto} {header:02x?}: {:?}",
            out.errors
        );
        assert!(out.skipped.is_empty(), "{proto}: {:?}", out.skipped);
        out.records
    }

    /// The one record of a sample holding only a header of protocol `proto`.
    fn decode_one(proto: u32, header: &[u8]) -> Observation {
        let records = decode_clean(proto, header);
        assert_eq!(records.len(), 1, "{proto} {header:02x?}");
        records[0]
    }

    /// A sample holding only a header of protocol `proto` gives nothing, and no error.
    fn decode_none(proto: u32, header: &[u8]) {
        assert!(
            decode_clean(proto, header).is_empty(),
            "{proto} {header:02x?}"
        );
    }

    fn assert_udp4(o: &Observation, what: &str) {
        let want = (
            IpAddr::V4(Ipv4Addr::new(10, 9, 0, 7)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 70)),
            17,
            53,
            33333,
            128,
        );
        let got = (o.src, o.dst, o.proto, o.sport, o.dport, o.ip_len);
        assert_eq!(got, want, "{what}");
        assert_eq!((o.packets, o.bytes, o.sampling), (50, 6400, RATE), "{what}");
        assert_eq!((o.ts_ns, o.origin), (7, Origin::Flow), "{what}");
    }

    fn assert_udp6(o: &Observation, what: &str) {
        let want = (IpAddr::V6(SRC6), IpAddr::V6(DST6), 17, 53, 33333, 68);
        let got = (o.src, o.dst, o.proto, o.sport, o.dport, o.ip_len);
        assert_eq!(got, want, "{what}");
        assert_eq!((o.packets, o.bytes), (50, 68 * 50), "{what}");
    }

    /// The t20 reproducer: an MPLS header (one label, 100) alone, and one beside a sampled
    /// IPv4 record. Both samples are read from the header (10.9.0.7 → 192.0.2.70), as tshark
    /// reads them; before, both were `sflow.header_protocol` errors.
    #[test]
    fn mpls_header_as_in_the_report() {
        let mpls = frame(&label(100, true), &udp4());
        let d = datagram(&[
            vec![raw_header(13, &mpls)],
            vec![raw_header(13, &mpls), sampled_ipv4()],
        ]);
        let out = decode(&d);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert!(out.skipped.is_empty());
        assert_eq!(out.records.len(), 2);
        for o in &out.records {
            assert_udp4(o, "t20");
            assert_ne!(o.flags & flag::MPLS, 0);
        }
    }

    #[test]
    fn mpls_headers() {
        let mut stack = label(16, false).to_vec();
        stack.extend_from_slice(&label(17, false));
        stack.extend_from_slice(&label(18, true));
        let o = decode_one(13, &frame(&stack, &udp6()));
        assert_udp6(&o, "three labels, IPv6");
        assert_ne!(o.flags & flag::MPLS, 0);
        // An Ethernet pseudowire: a control word (first nibble 0) after the stack, then an
        // Ethernet frame, walked as one: IP in it is read, ARP is not IP.
        let mut pw = label(100, true).to_vec();
        pw.extend_from_slice(&[0, 0, 0, 0]);
        pw.extend_from_slice(&[0u8; 12]);
        let o = decode_one(13, &frame(&[&pw[..], &[0x08, 0x00]].concat(), &udp4()));
        assert_udp4(&o, "Ethernet pseudowire");
        assert_ne!(o.flags & flag::MPLS, 0);
        decode_none(13, &frame(&[&pw[..], &[0x08, 0x06]].concat(), &[0u8; 28]));
        // Other first nibbles name no payload floodtrace reads.
        let mut ach = label(100, true).to_vec();
        ach.extend_from_slice(&[0x10, 0, 0, 0x21]);
        decode_none(13, &frame(&ach, &[0u8; 14]));
    }

    #[test]
    fn ppp_headers() {
        let cases: [(&[u8], bool); 5] = [
            (&[0xff, 0x03, 0x00, 0x21], true),
            (&[0x00, 0x21], true),
            (&[0xff, 0x03, 0x21], true),
            (&[0xff, 0x03, 0x00, 0x57], false),
            (&[0x57], false),
        ];
        for (head, v4) in cases {
            for proto in [7, 14] {
                let o = decode_one(proto, &frame(head, &if v4 { udp4() } else { udp6() }));
                let what = format!("protocol {proto}, PPP {head:02x?}");
                if v4 {
                    assert_udp4(&o, &what);
                } else {
                    assert_udp6(&o, &what);
                }
                assert_eq!(o.flags & flag::MPLS, 0, "{what}");
            }
        }
        // MPLS over PPP (0x0281).
        for proto in [7, 14] {
            let mut head = vec![0xff, 0x03, 0x02, 0x81];
            head.extend_from_slice(&label(100, true));
            let o = decode_one(proto, &frame(&head, &udp4()));
            assert_udp4(&o, "MPLS over PPP");
            assert_ne!(o.flags & flag::MPLS, 0);
        }
        // LCP (0xc021) carries no IP.
        decode_none(7, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
        decode_none(14, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
    }

    /// Packet over SONET also comes as Cisco HDLC: address 0x0f / 0x8f, control 0, EtherType.
    #[test]
    fn pos_cisco_hdlc_headers() {
        assert_udp4(
            &decode_one(14, &frame(&[0x0f, 0x00, 0x08, 0x00], &udp4())),
            "Cisco HDLC IPv4",
        );
        assert_udp6(
            &decode_one(14, &frame(&[0x8f, 0x00, 0x86, 0xdd], &udp6())),
            "Cisco HDLC IPv6",
        );
        decode_none(14, &frame(&[0x8f, 0x00, 0x80, 0x35], &[0u8; 20]));
    }

    #[test]
    fn frame_relay_headers() {
        // Q.922 address of DLCI 100: 0x18 0x41 (EA bit set in the second byte).
        let cases: [(&[u8], bool); 6] = [
            (&[0x18, 0x41, 0x03, 0xcc], true),
            (&[0x18, 0x41, 0x03, 0x8e], false),
            (&[0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00], true),
            (&[0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x86, 0xdd], false),
            (&[0x18, 0x40, 0x01, 0x03, 0xcc], true),
            (&[0x18, 0x41, 0x08, 0x00], true),
        ];
        for (head, v4) in cases {
            let o = decode_one(5, &frame(head, &if v4 { udp4() } else { udp6() }));
            let what = format!("frame relay {head:02x?}");
            if v4 {
                assert_udp4(&o, &what);
            } else {
                assert_udp6(&o, &what);
            }
        }
        // CLNP (NLPID 0x81), and a bridged Ethernet frame (SNAP OUI 00-80-c2): not IP.
        decode_none(5, &frame(&[0x18, 0x41, 0x03, 0x81], &[0u8; 20]));
        decode_none(
            5,
            &frame(
                &[0x18, 0x41, 0x03, 0x00, 0x80, 0, 0x80, 0xc2, 0, 7],
                &[0u8; 20],
            ),
        );
        // An address whose EA bit is never set is not frame relay.
        let out = decode(&datagram(&[vec![raw_header(
            5,
            &[0x18, 0x40, 0x40, 0x40, 3],
        )]]));
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].reason(), "frame_relay.address");
        assert_eq!(out.errors[0].offset, FIRST_RECORD + 16);
    }

    /// Every cut of every decodable header: a record, nothing (the cut removed what names
    /// the payload), or a truncation error that points at the header; once a cut gives the
    /// record, every longer cut gives the same addresses.
    #[test]
    fn cut_headers() {
        let mut mpls = label(16, false).to_vec();
        mpls.extend_from_slice(&label(17, true));
        let heads: [(u32, &[u8]); 8] = [
            (
                1,
                &[
                    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0x47, 0, 0x64, 0x11, 0x40,
                ],
            ),
            (5, &[0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00]),
            (5, &[0x18, 0x41, 0x08, 0x00]),
            (7, &[0xff, 0x03, 0x00, 0x21]),
            (7, &[0xff, 0x03, 0x02, 0x81, 0, 0x64, 0x11, 0x40]),
            (13, &mpls),
            (14, &[0xff, 0x03, 0x21]),
            (14, &[0x0f, 0x00, 0x08, 0x00]),
        ];
        for (proto, head) in heads {
            let full = frame(head, &udp4());
            let mut decoded = false;
            for cut in 0..=full.len() {
                let out = decode(&datagram(&[vec![raw_header(proto, &full[..cut])]]));
                let what = format!("protocol {proto} {head:02x?} cut at {cut}");
                assert!(out.skipped.is_empty(), "{what}");
                match (&out.records[..], &out.errors[..]) {
                    ([o], []) => {
                        decoded = true;
                        assert_eq!((o.src, o.dst), (udp4_src(), udp4_dst()), "{what}");
                    }
                    ([], [e]) => {
                        assert!(!decoded, "{what}: {e}");
                        let FlowErrorKind::Packet(DecodeError::Truncated { offset, have, .. }) =
                            e.kind
                        else {
                            panic!("{what}: {e}");
                        };
                        assert_eq!(e.offset, FIRST_RECORD + 16, "{what}");
                        assert_eq!(offset + have, cut, "{what}: {e}");
                    }
                    ([], []) => assert!(!decoded, "{what}"),
                    other => panic!("{what}: {other:?}"),
                }
            }
            assert!(decoded, "{proto} {head:02x?}");
        }
    }

    fn udp4_src() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 9, 0, 7))
    }

    fn udp4_dst() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 70))
    }

    /// The valid header protocols floodtrace does not decode: a sample with nothing else
    /// is skipped and said so, without an error; one with a sampled IPv4 record gives that.
    #[test]
    fn undecoded_header_protocols_are_skipped_not_errors() {
        let mut reasons = std::collections::BTreeSet::new();
        for proto in [2, 3, 4, 6, 8, 9, 10, 15, 16, 17] {
            let header = [0x5au8; 40];
            let d = datagram(&[
                vec![raw_header(proto, &header)],
                vec![raw_header(proto, &header), sampled_ipv4()],
            ]);
            let out = decode(&d);
            assert!(out.errors.is_empty(), "{proto}: {:?}", out.errors);
            assert_eq!(out.records.len(), 1, "{proto}");
            assert_eq!(
                out.records[0].src,
                IpAddr::V4(Ipv4Addr::new(10, 9, 0, 8)),
                "{proto}"
            );
            let [s] = out.skipped[..] else {
                panic!("{proto}: {:?}", out.skipped);
            };
            assert_eq!(
                (s.header_protocol, s.offset, s.sampling),
                (proto, FIRST_RECORD, RATE)
            );
            assert!(s.reason().starts_with("sflow.header_not_decoded."), "{s:?}");
            assert!(reasons.insert(s.reason()), "{proto}: {} twice", s.reason());
            let text = s.to_string();
            let want = format!(
                "sflow at offset {FIRST_RECORD}: header protocol {proto} ({}) is not decoded: sample skipped",
                s.header_protocol_name()
            );
            assert_eq!(text, want);
        }
        let ieee80211 = decode(&datagram(&[vec![raw_header(15, &[0u8; 24])]])).skipped[0];
        assert_eq!(ieee80211.header_protocol_name(), "IEEE 802.11 MAC");
        assert_eq!(ieee80211.reason(), "sflow.header_not_decoded.ieee80211");
    }

    /// Values outside the enumeration stay errors; a sampled record still gives the sample.
    #[test]
    fn undefined_header_protocols_are_errors() {
        for proto in [0, 18, 255, u32::MAX] {
            let d = datagram(&[
                vec![raw_header(proto, &udp4())],
                vec![raw_header(proto, &udp4()), sampled_ipv4()],
            ]);
            let out = decode(&d);
            assert!(out.skipped.is_empty(), "{proto}");
            assert_eq!(out.records.len(), 1, "{proto}");
            assert_eq!(out.errors.len(), 2, "{proto}");
            for e in &out.errors {
                assert_eq!(
                    e.kind,
                    FlowErrorKind::BadField {
                        field: "sflow.header_protocol",
                        value: u64::from(proto)
                    }
                );
            }
            assert_eq!(out.errors[0].offset, FIRST_RECORD);
        }
    }

    /// The protocols decoded before stay as they were.
    #[test]
    fn ethernet_and_ip_headers() {
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        assert_udp4(&decode_one(1, &frame(&eth, &udp4())), "Ethernet");
        assert_udp4(&decode_one(11, &udp4()), "IPv4");
        assert_udp6(&decode_one(12, &udp6()), "IPv6");
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        decode_none(1, &frame(&arp, &[0u8; 28]));
    }
}
