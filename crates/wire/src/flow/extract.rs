//! Export datagrams from packet captures: walk a pcap/pcapng file with
//! [`RecordReader`], find UDP datagrams (reassembling IPv4 and IPv6 fragments in a bounded
//! buffer) and hand over the payloads that [`sniff`] recognises as flow exports.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use std::collections::HashSet;

use super::{claimed_protocol, get16, get32, sniff, FlowProtocol};
use crate::capture::RecordReader;
use crate::error::CaptureError;
use crate::link::{self, Payload};

/// One export datagram found in a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportPacket<'a> {
    /// Capture timestamp of the record that completed the datagram, ns since the epoch.
    pub ts_ns: u64,
    /// 1-based capture record number (of the last fragment when reassembled).
    pub record: u64,
    /// Exporter (IP source) address.
    pub exporter: IpAddr,
    /// Collector (IP destination) address.
    pub collector: IpAddr,
    /// UDP source port.
    pub sport: u16,
    /// UDP destination port.
    pub dport: u16,
    /// The protocol [`sniff`] recognised, or for a damaged datagram the one its version
    /// field claims.
    pub protocol: FlowProtocol,
    /// The UDP payload.
    pub payload: &'a [u8],
    /// Whether the datagram was reassembled from IP fragments.
    pub reassembled: bool,
    /// The payload failed [`sniff`]'s consistency checks, but its version field claims the
    /// protocol its exporter already sent to the same collector port: a damaged export
    /// (a lying count or length, a cut datagram), handed over so that the decoder keeps
    /// what it can and says what is wrong instead of the datagram vanishing.
    pub damaged: bool,
}

/// Most `(exporter, collector port, protocol)` streams remembered for recognising damaged
/// exports (see [`ExportPacket::damaged`]); beyond, new streams are not learned.
const MAX_EXPORT_STREAMS: usize = 4096;

/// Limits of the fragment reassembly buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Most datagrams being reassembled at once; the oldest is dropped to make room.
    pub max_pending: usize,
    /// Most bytes held over all pending datagrams.
    pub max_bytes: usize,
    /// Fragments per datagram.
    pub max_fragments: usize,
    /// A datagram not completed within this many ns of capture time is dropped.
    pub timeout_ns: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_pending: 64,
            max_bytes: 4 << 20,
            max_fragments: 64,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// What a walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtractStats {
    /// Capture records read.
    pub records: u64,
    /// UDP datagrams seen (after reassembly).
    pub udp: u64,
    /// Export datagrams handed over.
    pub exports: u64,
    /// Datagrams completed from fragments.
    pub reassembled: u64,
    /// Damaged export datagrams handed over (see [`ExportPacket::damaged`]).
    pub damaged_exports: u64,
    /// IP packets that carried no export: other UDP datagrams, and unfragmented packets
    /// of other protocols.
    pub other_ip: u64,
    /// Pending datagrams dropped (timeout, limits, inconsistent fragments, or left
    /// incomplete at the end).
    pub fragments_dropped: u64,
    /// The first dropped datagram, to name in a report.
    pub first_dropped: Option<DroppedDatagram>,
    /// Records whose headers could not be decoded.
    pub undecodable: u64,
    /// The capture error that stopped the walk (what came before it was handed over).
    pub capture_error: Option<CaptureError>,
}

/// Why a fragmented datagram was not reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not completed within [`DefragConfig::timeout_ns`].
    Timeout,
    /// Dropped to stay within [`DefragConfig`]'s limits.
    Limits,
    /// Fragments disagree on the datagram's length, or a fragment is malformed.
    Inconsistent,
    /// Overlapping fragments carry different bytes (RFC 5722: such a datagram is
    /// discarded; keeping either copy would guess).
    Conflicting,
    /// Still incomplete when the capture ended.
    Incomplete,
}

impl DropReason {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::Timeout => "not completed within the reassembly timeout",
            DropReason::Limits => "dropped to stay within the reassembly limits",
            DropReason::Inconsistent => "fragments disagree on the datagram's length",
            DropReason::Conflicting => "overlapping fragments carry different bytes",
            DropReason::Incomplete => "fragments missing at the end of the capture",
        }
    }
}

/// A fragmented datagram that was not reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedDatagram {
    /// Capture record of its first fragment seen (1-based).
    pub record: u64,
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// IP identification (IPv4) or fragment identification (IPv6).
    pub id: u32,
    /// Why it was dropped.
    pub reason: DropReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

#[derive(Debug)]
struct Pending {
    key: FragKey,
    first_ns: u64,
    /// Capture record of the first fragment seen.
    first_record: u64,
    /// Reassembled L4 bytes (grows as fragments arrive).
    data: Vec<u8>,
    /// Received (start, end) ranges.
    ranges: Vec<(usize, usize)>,
    /// Total length, once the last fragment arrived.
    total: Option<usize>,
}

/// IPv4/IPv6 fragment reassembly with bounded memory.
#[derive(Debug, Default)]
pub struct Defragmenter {
    config: DefragConfig,
    pending: Vec<Pending>,
    bytes: usize,
    dropped: u64,
    first_dropped: Option<DroppedDatagram>,
    /// Datagrams dropped as ambiguous (conflicting or inconsistent fragments) and when,
    /// at most [`REFUSED_KEYS`]: their later fragments are ignored until the timeout
    /// instead of starting a datagram that can never complete (and counting it twice).
    refused: Vec<(FragKey, u64)>,
}

/// Most refused datagrams remembered by a [`Defragmenter`].
const REFUSED_KEYS: usize = 64;

impl Defragmenter {
    /// An empty reassembly buffer.
    pub fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            ..Defragmenter::default()
        }
    }

    /// Datagrams dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes held now.
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Datagrams pending now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The first datagram dropped so far, counting those still pending as
    /// [`DropReason::Incomplete`] when none was dropped.
    pub fn first_dropped(&self) -> Option<DroppedDatagram> {
        self.first_dropped.or_else(|| {
            let p = self.pending.iter().min_by_key(|p| p.first_record)?;
            Some(dropped(p, DropReason::Incomplete))
        })
    }

    fn drop_at(&mut self, i: usize, reason: DropReason) {
        let p = self.pending.swap_remove(i);
        self.bytes -= p.data.len();
        self.dropped += 1;
        self.first_dropped.get_or_insert(dropped(&p, reason));
        if matches!(reason, DropReason::Conflicting | DropReason::Inconsistent) {
            if self.refused.len() >= REFUSED_KEYS {
                self.refused.remove(0);
            }
            self.refused.push((p.key, p.first_ns));
        }
    }

    /// Add one fragment (`offset` in bytes, `more` = more fragments follow) of the
    /// datagram `(src, dst, id, proto)`, read from capture record `record`; returns the
    /// reassembled payload when complete.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        ts_ns: u64,
        record: u64,
        src: IpAddr,
        dst: IpAddr,
        id: u32,
        proto: u8,
        offset: usize,
        more: bool,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        // Expire old datagrams first.
        let timeout = self.config.timeout_ns;
        let mut i = 0;
        while i < self.pending.len() {
            if ts_ns.saturating_sub(self.pending[i].first_ns) > timeout {
                self.drop_at(i, DropReason::Timeout);
            } else {
                i += 1;
            }
        }
        let end = offset + data.len();
        if end > 65535 || (more && !data.len().is_multiple_of(8)) {
            return None;
        }
        let key = FragKey {
            src,
            dst,
            id,
            proto,
        };
        self.refused
            .retain(|&(_, first_ns)| ts_ns.saturating_sub(first_ns) <= timeout);
        if self.refused.iter().any(|&(k, _)| k == key) {
            return None;
        }
        let idx = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                if self.pending.len() >= self.config.max_pending {
                    let oldest = (0..self.pending.len())
                        .min_by_key(|&i| self.pending[i].first_ns)
                        .unwrap_or(0);
                    self.drop_at(oldest, DropReason::Limits);
                }
                self.pending.push(Pending {
                    key,
                    first_ns: ts_ns,
                    first_record: record,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                });
                self.pending.len() - 1
            }
        };
        let grow = end.saturating_sub(self.pending[idx].data.len());
        if self.bytes + grow > self.config.max_bytes
            || self.pending[idx].ranges.len() >= self.config.max_fragments
        {
            self.drop_at(idx, DropReason::Limits);
            return None;
        }
        let p = &mut self.pending[idx];
        if !more {
            if p.total.is_some_and(|t| t != end) || p.ranges.iter().any(|r| r.1 > end) {
                self.drop_at(idx, DropReason::Inconsistent);
                return None;
            }
            p.total = Some(end);
        } else if p.total.is_some_and(|t| end > t) {
            self.drop_at(idx, DropReason::Inconsistent);
            return None;
        }
        // A repeated fragment is harmless; one that overlaps received bytes with other
        // bytes makes the datagram ambiguous.
        let conflict = p.ranges.iter().any(|&(s, e)| {
            let (lo, hi) = (s.max(offset), e.min(end));
            lo < hi && p.data[lo..hi] != data[lo - offset..hi - offset]
        });
        if conflict {
            self.drop_at(idx, DropReason::Conflicting);
            return None;
        }
        if p.data.len() < end {
            p.data.resize(end, 0);
            self.bytes += grow;
        }
        p.data[offset..end].copy_from_slice(data);
        p.ranges.push((offset, end));
        let total = p.total?;
        p.ranges.sort_unstable();
        let mut covered = 0;
        for &(s, e) in &p.ranges {
            if s > covered {
                return None;
            }
            covered = covered.max(e);
        }
        if covered < total {
            return None;
        }
        let p = self.pending.swap_remove(idx);
        self.bytes -= p.data.len();
        Some(p.data)
    }
}

fn dropped(p: &Pending, reason: DropReason) -> DroppedDatagram {
    DroppedDatagram {
        record: p.first_record,
        src: p.key.src,
        dst: p.key.dst,
        id: p.key.id,
        reason,
    }
}

/// What [`ip_datagram`] found in a frame.
enum Ip<'a> {
    /// A complete (unfragmented) packet: protocol and its L4 bytes.
    Whole(IpAddr, IpAddr, u8, &'a [u8]),
    /// A fragment.
    Fragment {
        src: IpAddr,
        dst: IpAddr,
        id: u32,
        proto: u8,
        offset: usize,
        more: bool,
        data: &'a [u8],
    },
}

/// Walk the IP header at `at` (IPv4, or IPv6 with its extension headers).
fn ip_datagram(d: &[u8], at: usize, v6: bool) -> Option<Ip<'_>> {
    if !v6 {
        let h = d.get(at..at + 20)?;
        if h[0] >> 4 != 4 {
            return None;
        }
        let ihl = usize::from(h[0] & 15) * 4;
        let total = usize::from(get16(h, 2)?);
        if ihl < 20 || total < ihl {
            return None;
        }
        let end = (at + total).min(d.len());
        let body = d.get(at + ihl..end)?;
        let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
        let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
        let ff = get16(h, 6)?;
        let (more, offset) = (ff & 0x2000 != 0, usize::from(ff & 0x1fff) * 8);
        if !more && offset == 0 {
            return Some(Ip::Whole(src, dst, h[9], body));
        }
        return Some(Ip::Fragment {
            src,
            dst,
            id: u32::from(get16(h, 4)?),
            proto: h[9],
            offset,
            more,
            data: body,
        });
    }
    let h = d.get(at..at + 40)?;
    if h[0] >> 4 != 6 {
        return None;
    }
    let plen = usize::from(get16(h, 4)?);
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(a));
    a.copy_from_slice(&h[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(a));
    let end = (at + 40 + plen).min(d.len());
    let mut next = h[6];
    let mut p = at + 40;
    let mut frag = None;
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let nh = *d.get(p)?;
                let len = (usize::from(*d.get(p + 1)?) + 1) * 8;
                next = nh;
                p += len;
            }
            44 => {
                let nh = *d.get(p)?;
                let ff = get16(d, p + 2)?;
                let id = get32(d, p + 4)?;
                frag = Some((id, usize::from(ff >> 3) * 8, ff & 1 != 0));
                next = nh;
                p += 8;
            }
            _ => break,
        }
    }
    let body = d.get(p..end)?;
    match frag {
        Some((id, offset, more)) if more || offset > 0 => Some(Ip::Fragment {
            src,
            dst,
            id,
            proto: next,
            offset,
            more,
            data: body,
        }),
        _ => Some(Ip::Whole(src, dst, next, body)),
    }
}

/// The UDP header and payload of an L4 segment.
fn udp(seg: &[u8]) -> Option<(u16, u16, &[u8])> {
    let len = usize::from(get16(seg, 4)?);
    let (sport, dport) = (get16(seg, 0)?, get16(seg, 2)?);
    let end = if len >= 8 && len <= seg.len() {
        len
    } else {
        seg.len()
    };
    Some((sport, dport, seg.get(8..end)?))
}

/// Walk every record of `capture` and call `sink` for each UDP payload that sniffs as a
/// flow export (any port), or is a damaged export of a stream already seen (see
/// [`ExportPacket::damaged`]), reassembling fragmented datagrams with `defrag` limits.
///
/// # Errors
/// Only the capture's file header: a damaged record later stops the walk and is reported
/// in [`ExtractStats::capture_error`].
pub fn for_each_export<F: FnMut(ExportPacket<'_>)>(
    capture: &[u8],
    defrag: DefragConfig,
    sink: &mut F,
) -> Result<ExtractStats, CaptureError> {
    let mut reader = RecordReader::open(capture)?;
    let mut stats = ExtractStats::default();
    let mut frags = Defragmenter::new(defrag);
    let mut streams: HashSet<(IpAddr, u16, FlowProtocol)> = HashSet::new();
    while let Some(item) = reader.next() {
        let rec = match item {
            Ok(r) => r,
            Err(e) if e.fatal => {
                stats.capture_error = Some(e);
                break;
            }
            Err(_) => continue,
        };
        stats.records += 1;
        let Ok(net) = link::network_layer(rec.link_type, rec.data) else {
            stats.undecodable += 1;
            continue;
        };
        let ip = match net.payload {
            Payload::Ipv4(at) => ip_datagram(rec.data, at, false),
            Payload::Ipv6(at) => ip_datagram(rec.data, at, true),
            Payload::Other(_) => continue,
        };
        let mut emit = |src, dst, seg: &[u8], reassembled| {
            let Some((sport, dport, payload)) = udp(seg) else {
                return;
            };
            stats.udp += 1;
            stats.reassembled += u64::from(reassembled);
            let (protocol, damaged) = match sniff(payload) {
                Some(p) => {
                    if streams.len() < MAX_EXPORT_STREAMS {
                        streams.insert((src, dport, p));
                    }
                    stats.exports += 1;
                    (p, false)
                }
                None => match claimed_protocol(payload) {
                    Some(p) if streams.contains(&(src, dport, p)) => {
                        stats.damaged_exports += 1;
                        (p, true)
                    }
                    _ => {
                        stats.other_ip += 1;
                        return;
                    }
                },
            };
            sink(ExportPacket {
                ts_ns: rec.ts_ns,
                record: rec.number,
                exporter: src,
                collector: dst,
                sport,
                dport,
                protocol,
                payload,
                reassembled,
                damaged,
            });
        };
        match ip {
            Some(Ip::Whole(src, dst, 17, seg)) => emit(src, dst, seg, false),
            Some(Ip::Whole(..)) => stats.other_ip += 1,
            Some(Ip::Fragment {
                src,
                dst,
                id,
                proto,
                offset,
                more,
                data,
            }) => {
                if proto != 17 {
                    continue;
                }
                let whole = frags.add(
                    rec.ts_ns, rec.number, src, dst, id, proto, offset, more, data,
                );
                if let Some(whole) = whole {
                    emit(src, dst, &whole, true);
                }
            }
            None => stats.undecodable += 1,
        }
    }
    stats.fragments_dropped = frags.dropped() + frags.pending() as u64;
    stats.first_dropped = frags.first_dropped();
    Ok(stats)
}
