//! sFlow version 5 (sflow.org, "sFlow Version 5", 2004), XDR encoded.
//!
//! Datagram: version 5, agent address (type 1 IPv4 / 2 IPv6), sub-agent id, sequence,
//! uptime, sample count, samples. Samples (enterprise 0): 1 flow sample, 2 counter sample,
//! 3 expanded flow sample, 4 expanded counter sample. A flow sample becomes one
//! observation: from its raw packet header record (decoded by [`observe_frame`]) when
//! there is one, else from a sampled IPv4 / IPv6 record. Counts are scaled by the
//! sample's sampling rate. sFlow carries no wall-clock time: observations take the
//! `received_ns` the caller gives.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::InterfaceCounters;
use super::{get32, scale, Ctx, FlowError, FlowErrorKind, FlowEvent, FlowProtocol};
use crate::link::linktype;
use crate::observe::{observe_frame, Frame, Observation, Origin};

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
                Ok(obs) => header = obs,
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
        return;
    };
    obs.ts_ns = ctx.received_ns;
    obs.origin = Origin::Flow;
    obs.sampling = rate;
    obs.packets = scale(1, rate);
    obs.bytes = scale(u64::from(obs.ip_len), rate);
    ctx.record(&obs);
}

/// A raw packet header record: header protocol, frame length, stripped, header length,
/// header bytes. `Ok(None)` when the header is not IP (ARP, LLDP, …).
fn raw_header(r: &[u8], base: usize) -> Result<Option<Observation>, FlowError> {
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
    let lt = match proto {
        1 => linktype::ETHERNET,
        11 => linktype::IPV4,
        12 => linktype::IPV6,
        other => {
            return Err(FlowError::bad(
                P,
                base,
                "sflow.header_protocol",
                u64::from(other),
            ))
        }
    };
    match observe_frame(lt, bytes, 0, frame_len) {
        Ok(Frame::Ip(obs)) => Ok(Some(obs)),
        Ok(Frame::NonIp { .. }) => Ok(None),
        Err(e) => Err(FlowError::new(P, base + 16, FlowErrorKind::Packet(e))),
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
