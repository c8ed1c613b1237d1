//! NetFlow v5: a 24-byte header and `count` fixed 48-byte records.
//!
//! Header: version, count, sysUptime (ms), unix_secs, unix_nsecs, flow_sequence,
//! engine_type, engine_id, sampling (2 bits mode, 14 bits interval).
//!
//! Cisco's format allows at most 30 records per datagram ([`SPEC_MAX_COUNT`]). A datagram
//! whose length is exactly `24 + 48 × count` for a larger count is unambiguous all the
//! same: it is recognised ([`super::sniff`]) and decoded whole, as tshark decodes it, with
//! a [`FlowWarningKind::NetflowV5CountAbove30`] warning. The largest such count that fits
//! in a UDP datagram is [`MAX_COUNT`].

use core::net::{IpAddr, Ipv4Addr};

use super::template::{Rec, Time};
use super::{
    get16, get32, Ctx, FlowError, FlowErrorKind, FlowEvent, FlowProtocol, FlowWarning,
    FlowWarningKind,
};
use crate::observe::Observation;

const P: FlowProtocol = FlowProtocol::NetflowV5;
/// Header length.
pub(crate) const HEADER: usize = 24;
/// Record length.
pub(crate) const RECORD: usize = 48;
/// Most records the v5 format allows in one datagram.
pub(crate) const SPEC_MAX_COUNT: usize = 30;
/// Most records a v5 datagram can hold: `24 + 48 × 1364 = 65,496` bytes, the largest
/// that fits in the 65,535 bytes of a UDP datagram.
pub(crate) const MAX_COUNT: usize = (65_535 - HEADER) / RECORD;

/// Decode a v5 datagram; returns the bytes that belonged to the message.
pub(crate) fn decode<F: FnMut(FlowEvent)>(ctx: &mut Ctx<'_, F>, d: &[u8]) -> usize {
    if d.len() < HEADER {
        ctx.error(FlowError::truncated(P, 0, "header", HEADER, d.len()));
        return d.len();
    }
    let h = |at| get32(d, at).unwrap_or(0);
    let count = usize::from(get16(d, 2).unwrap_or(0));
    let (uptime, secs, nsecs) = (h(4), h(8), h(12));
    let sampling = get16(d, 22).unwrap_or(0);
    // Mode in the top two bits (0 none, 1 deterministic, 2 random); interval below.
    let interval = u32::from(sampling & 0x3fff);
    let rate = ctx.rate(if sampling >> 14 != 0 || interval > 1 {
        interval
    } else {
        1
    });
    let present = (d.len() - HEADER) / RECORD;
    let want = HEADER + count * RECORD;
    if count == 0 {
        ctx.error(FlowError::bad(P, 2, "netflow5.count", 0));
    } else if count > present {
        // The count promises more records than the datagram holds: keep the complete ones.
        ctx.error(FlowError::truncated(
            P,
            HEADER + present * RECORD,
            "records (header count)",
            count * RECORD,
            d.len() - HEADER,
        ));
    } else if count > SPEC_MAX_COUNT {
        // Every record the count promises is there: decoded, with a warning.
        ctx.warn(FlowWarning {
            protocol: P,
            offset: 2,
            kind: FlowWarningKind::NetflowV5CountAbove30 {
                count: count as u16,
            },
        });
    }
    let export_ns = u64::from(secs) * 1_000_000_000 + u64::from(nsecs.min(999_999_999));
    for i in 0..count.min(present) {
        let r = &d[HEADER + i * RECORD..HEADER + (i + 1) * RECORD];
        let g32 = |at| get32(r, at).unwrap_or(0);
        let g16 = |at| get16(r, at).unwrap_or(0);
        let rec = Rec {
            proto: r[38],
            tcp_flags: r[37],
            sport: g16(32),
            dport: g16(34),
            packets: [Some(u64::from(g32(16))), None, None, None],
            bytes: [Some(u64::from(g32(20))), None, None, None],
            start: Time::Uptime(g32(24)),
            end: Time::Uptime(g32(28)),
            ..Rec::default()
        };
        let before_ms = i64::from(uptime.wrapping_sub(g32(24)) as i32);
        let ts = export_ns.saturating_add_signed(-before_ms * 1_000_000);
        let src = IpAddr::V4(Ipv4Addr::from(g32(0)));
        let dst = IpAddr::V4(Ipv4Addr::from(g32(4)));
        let mut obs = Observation::new(ts, src, dst);
        super::netflow9::fill(&mut obs, &rec, rate);
        ctx.record(&obs);
    }
    if count > 0 && want < d.len() {
        ctx.error(FlowError::new(
            P,
            want,
            FlowErrorKind::Trailing {
                bytes: d.len() - want,
            },
        ));
        return want;
    }
    d.len()
}
