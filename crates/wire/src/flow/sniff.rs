//! Recognising export datagrams by content, and cutting raw export files into messages.

use super::netflow5::{HEADER as V5_HEADER, MAX_COUNT as V5_MAX_COUNT, RECORD as V5_RECORD};
use super::{get16, get32, sflow, FlowProtocol};

/// Recognise a UDP payload as a flow export by its version field and the consistency of
/// its header and lengths (never by port):
///
/// - NetFlow v5: version 5, count 1..=1364, payload exactly `24 + 48 × count` bytes (v5
///   allows 30 records; more, in a datagram exactly that long, are decoded with a
///   `netflow5.count_above_30` warning, as tshark decodes them);
/// - NetFlow v9: version 9 and a flowset chain that ends exactly at the payload's end
///   (trailing zero padding allowed), every flowset id 0, 1 or ≥ 256;
/// - IPFIX: version 10, message length equal to the payload length, and a set chain that
///   ends exactly there, every set id 2, 3 or ≥ 256;
/// - sFlow v5: 32-bit version 5, agent address type 1 or 2, and a sample chain whose
///   declared lengths fit in the payload.
///
/// Bytes after a consistent v9, IPFIX or sFlow message are tolerated here (exporters and
/// test fixtures leave some; the decoder reports them as `*.trailing`); a v5 payload must
/// be exactly as long as its count says.
pub fn sniff(payload: &[u8]) -> Option<FlowProtocol> {
    let (proto, len) = message(payload)?;
    (proto != FlowProtocol::NetflowV5 || len == payload.len()).then_some(proto)
}

/// The protocol a payload's version field claims, whatever the rest of it says: NetFlow
/// v5, v9 and IPFIX by their 16-bit version, sFlow by its 32-bit version 5. Used to name
/// damaged exports, never to recognise exports (that is [`sniff`]'s job).
pub fn claimed_protocol(payload: &[u8]) -> Option<FlowProtocol> {
    match payload {
        [0, 5, ..] => Some(FlowProtocol::NetflowV5),
        [0, 9, ..] => Some(FlowProtocol::NetflowV9),
        [0, 10, ..] => Some(FlowProtocol::Ipfix),
        [0, 0, 0, 5, ..] => Some(FlowProtocol::SflowV5),
        _ => None,
    }
}

/// The protocol and length of the export message at the start of `d`, when its header
/// and its chain of sets / samples are consistent. The length may be shorter than `d`
/// (another message may follow).
fn message(d: &[u8]) -> Option<(FlowProtocol, usize)> {
    match get16(d, 0)? {
        5 => {
            let count = usize::from(get16(d, 2)?);
            let len = V5_HEADER + count * V5_RECORD;
            ((1..=V5_MAX_COUNT).contains(&count) && len <= d.len())
                .then_some((FlowProtocol::NetflowV5, len))
        }
        9 => v9_len(d).map(|l| (FlowProtocol::NetflowV9, l)),
        10 => {
            let len = usize::from(get16(d, 2)?);
            if len < 16 || len > d.len() {
                return None;
            }
            let mut at = 16;
            while at < len {
                let id = get16(d, at)?;
                let l = usize::from(get16(d, at + 2)?);
                if l < 4 || at + l > len || (id < 256 && id != 2 && id != 3) {
                    return None;
                }
                at += l;
            }
            Some((FlowProtocol::Ipfix, len))
        }
        0 if get16(d, 2)? == 5 => sflow_len(d).map(|l| (FlowProtocol::SflowV5, l)),
        _ => None,
    }
}

/// Length of the v9 message at the start of `d`: its flowsets up to the end of `d`, a
/// run of zero padding, or the next message. Flowset ids 2–255 are reserved, so after
/// the first flowset an id of 9 is the next v9 header (consistent or damaged: the cutter
/// deals with it on its own), and an id of 5 or 10 is the next message when a consistent
/// NetFlow v5 or IPFIX message starts there. Never looks past the next header, so a file
/// of many messages back to back costs no recursion.
fn v9_len(d: &[u8]) -> Option<usize> {
    if d.len() < 20 + 4 {
        return None;
    }
    let mut at = 20;
    let mut sets = 0;
    while at < d.len() {
        if d[at..].iter().all(|b| *b == 0) && sets > 0 {
            return Some(d.len());
        }
        let id = get16(d, at)?;
        if sets > 0 && (id == 9 || (matches!(id, 5 | 10) && message(&d[at..]).is_some())) {
            return Some(at);
        }
        let l = usize::from(get16(d, at + 2)?);
        if l < 4 || at + l > d.len() || (2..256).contains(&id) {
            return None;
        }
        at += l;
        sets += 1;
    }
    Some(at)
}

/// Length of the sFlow v5 datagram at the start of `d`.
fn sflow_len(d: &[u8]) -> Option<usize> {
    let hlen = sflow::header_len(d)?;
    let samples = get32(d, hlen - 4)?;
    if d.len() < hlen || samples > 8192 {
        return None;
    }
    let mut at = hlen;
    for _ in 0..samples {
        let len = get32(d, at + 4)? as usize;
        at = at.checked_add(8 + len)?;
        if at > d.len() {
            return None;
        }
    }
    Some(at)
}

/// One message of a raw export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDatagram<'a> {
    /// Offset of the message in the file.
    pub offset: usize,
    /// The protocol: recognised when the message's header and lengths are consistent,
    /// claimed by its version field when `damaged`; `None` for bytes that start with no
    /// version field at all (the rest of the file, handed over whole so the decoder can
    /// say what is wrong).
    pub protocol: Option<FlowProtocol>,
    /// The message's header or lengths are inconsistent. Its end is where the next
    /// consistent message starts (see [`RawDatagrams`]); the decoder keeps what it can of
    /// it and reports the damage.
    pub damaged: bool,
    /// The message's bytes.
    pub data: &'a [u8],
}

/// Longest export message: every protocol travels in one UDP datagram.
const MAX_MESSAGE: usize = 65_535;

/// Where a message stored after a damaged one may start: a consistent message of any
/// protocol that ends the file or is followed by another consistent message (one
/// consistent header inside a damaged message's records is plausible; two in a row are
/// not).
fn resumes(rest: &[u8], at: usize) -> bool {
    let window = |from: usize| &rest[from..rest.len().min(from + MAX_MESSAGE)];
    match message(window(at)) {
        Some((_, len)) if len > 0 => {
            let next = at + len;
            next == rest.len() || message(window(next)).is_some()
        }
        _ => false,
    }
}

/// The NetFlow v5 header fields that stay the same from one message of an exporter to
/// the next: version, engine type and id, sampling.
fn v5_same_exporter(a: &[u8], b: &[u8]) -> bool {
    let secs = |d: &[u8]| i64::from(get32(d, 8).unwrap_or(0));
    b.len() >= V5_HEADER
        && get16(b, 0) == Some(5)
        && (1..=V5_MAX_COUNT).contains(&usize::from(get16(b, 2).unwrap_or(0)))
        && a.get(20..24) == b.get(20..24)
        && (secs(a) - secs(b)).abs() <= 86_400
}

/// Cuts a raw export file (UDP payloads stored back to back, no pcap framing) into
/// messages, using each protocol's own framing: the IPFIX message length, `24 + 48 × count`
/// for NetFlow v5, the sample lengths for sFlow, and for NetFlow v9 (which has no length)
/// the flowset chain up to the end, up to zero padding, or up to the next header.
///
/// **Damage.** One damaged message must not take the rest of the file with it. When the
/// bytes at the current position claim a protocol by their version field but are not a
/// consistent message, the damaged message ends at its own IPFIX length when a consistent
/// message follows there, else where the next consistent message [`resumes`] within
/// [`MAX_MESSAGE`] bytes; it is yielded with `damaged: true` and the cut goes on from
/// there. A NetFlow v5 count that runs into the next v5 header of the same exporter is cut
/// at that header (its records would otherwise be made up of the next messages' bytes).
/// Looking for where a file resumes is bounded by a budget of a few times the file's size,
/// so hostile files cost linear time; past it, or when nothing claims a protocol,
/// everything left is yielded as one item.
#[derive(Debug, Clone)]
pub struct RawDatagrams<'a> {
    buf: &'a [u8],
    at: usize,
    /// Bytes the search for a resuming message may still look at.
    resync_budget: usize,
}

impl<'a> RawDatagrams<'a> {
    /// Start at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        RawDatagrams {
            buf,
            at: 0,
            resync_budget: buf.len().saturating_mul(8).saturating_add(16 << 20),
        }
    }

    /// Length of the damaged message claiming `protocol` at the start of `rest`.
    fn damaged_len(&mut self, protocol: FlowProtocol, rest: &[u8]) -> usize {
        if protocol == FlowProtocol::Ipfix {
            let len = usize::from(get16(rest, 2).unwrap_or(0));
            if len >= 16 && (len == rest.len() || (len < rest.len() && resumes(rest, len))) {
                return len;
            }
        }
        let end = rest.len().min(MAX_MESSAGE + 1);
        for at in 16..end {
            if claimed_protocol(&rest[at..]).is_none() {
                continue;
            }
            // Each check walks at most two messages' windows.
            let cost = 2 * MAX_MESSAGE.min(rest.len() - at);
            if self.resync_budget < cost {
                break;
            }
            self.resync_budget -= cost;
            if resumes(rest, at) {
                return at;
            }
        }
        rest.len()
    }
}

impl<'a> Iterator for RawDatagrams<'a> {
    type Item = RawDatagram<'a>;

    fn next(&mut self) -> Option<RawDatagram<'a>> {
        let rest = self.buf.get(self.at..).filter(|r| !r.is_empty())?;
        let offset = self.at;
        let (protocol, damaged, len) = match message(rest) {
            Some((FlowProtocol::NetflowV5, l)) => {
                // A count running into the next header of the same exporter lies.
                let count = usize::from(get16(rest, 2).unwrap_or(0));
                match (1..count)
                    .find(|k| v5_same_exporter(rest, &rest[V5_HEADER + k * V5_RECORD..]))
                {
                    Some(k) => (
                        Some(FlowProtocol::NetflowV5),
                        true,
                        V5_HEADER + k * V5_RECORD,
                    ),
                    None => (Some(FlowProtocol::NetflowV5), false, l),
                }
            }
            Some((p, l)) if l > 0 => (Some(p), false, l),
            _ => match claimed_protocol(rest) {
                Some(p) => (Some(p), true, self.damaged_len(p, rest)),
                None => (None, false, rest.len()),
            },
        };
        self.at += len;
        Some(RawDatagram {
            offset,
            protocol,
            damaged,
            data: &rest[..len],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many v9 messages back to back (a replayed export written as one raw file) are cut
    /// without recursing once per message.
    #[test]
    fn many_v9_messages_back_to_back() {
        let mut one = vec![0, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        // A data flowset of template 256 with 8 bytes.
        one.extend_from_slice(&[1, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8]);
        let n = 300_000;
        let file: Vec<u8> = one.iter().copied().cycle().take(one.len() * n).collect();
        let parts: Vec<_> = RawDatagrams::new(&file).collect();
        assert_eq!(parts.len(), n);
        assert!(parts
            .iter()
            .all(|p| p.protocol == Some(FlowProtocol::NetflowV9) && p.data.len() == one.len()));
    }
}
