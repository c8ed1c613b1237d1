//! Recognising export datagrams by content, and cutting raw export files into messages.

use super::netflow5::{HEADER as V5_HEADER, RECORD as V5_RECORD};
use super::{get16, get32, sflow, FlowProtocol};

/// Recognise a UDP payload as a flow export by its version field and the consistency of
/// its header and lengths (never by port):
///
/// - NetFlow v5: version 5, count 1..=30, payload exactly `24 + 48 × count` bytes;
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

/// The protocol and length of the export message at the start of `d`, when its header
/// and its chain of sets / samples are consistent. The length may be shorter than `d`
/// (another message may follow).
fn message(d: &[u8]) -> Option<(FlowProtocol, usize)> {
    match get16(d, 0)? {
        5 => {
            let count = usize::from(get16(d, 2)?);
            let len = V5_HEADER + count * V5_RECORD;
            ((1..=30).contains(&count) && len <= d.len()).then_some((FlowProtocol::NetflowV5, len))
        }
        9 => v9_len(d, true).map(|l| (FlowProtocol::NetflowV9, l)),
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
/// run of zero padding, or the next v9 header. With `check_next`, a flowset id 9 ends the
/// message only when a consistent v9 message starts there (checked without looking past
/// *its* end, so a file of many messages back to back costs no recursion).
fn v9_len(d: &[u8], check_next: bool) -> Option<usize> {
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
        if id == 9 && sets > 0 && (!check_next || v9_len(&d[at..], false).is_some()) {
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
    /// The protocol, when the message's header and lengths are consistent (`None`: the
    /// rest of the file, handed over whole so the decoder can say what is wrong).
    pub protocol: Option<FlowProtocol>,
    /// The message's bytes.
    pub data: &'a [u8],
}

/// Cuts a raw export file (UDP payloads stored back to back, no pcap framing) into
/// messages, using each protocol's own framing: the IPFIX message length, `24 + 48 × count`
/// for NetFlow v5, the sample lengths for sFlow, and for NetFlow v9 (which has no length)
/// the flowset chain up to the end, up to zero padding, or up to the next v9 header.
///
/// When the bytes at the current position are not a consistent message, everything left
/// is yielded as one item with `protocol: None`.
#[derive(Debug, Clone)]
pub struct RawDatagrams<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> RawDatagrams<'a> {
    /// Start at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        RawDatagrams { buf, at: 0 }
    }
}

impl<'a> Iterator for RawDatagrams<'a> {
    type Item = RawDatagram<'a>;

    fn next(&mut self) -> Option<RawDatagram<'a>> {
        let rest = self.buf.get(self.at..).filter(|r| !r.is_empty())?;
        let offset = self.at;
        let (protocol, len) = match message(rest) {
            Some((p, l)) if l > 0 => (Some(p), l),
            _ => (None, rest.len()),
        };
        self.at += len;
        Some(RawDatagram {
            offset,
            protocol,
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
