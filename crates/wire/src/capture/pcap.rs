//! Classic libpcap files: a 24-byte file header, then 16-byte record headers each
//! followed by the captured bytes. Both byte orders, micro- and nanosecond magic.

use super::{rd_u32, Step, MAX_RECORD_BYTES};
use crate::error::{CaptureError, CaptureErrorKind};

pub(crate) const MAGIC_USEC: u32 = 0xa1b2_c3d4;
pub(crate) const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
pub(crate) const MAGIC_USEC_SWAPPED: u32 = 0xd4c3_b2a1;
pub(crate) const MAGIC_NSEC_SWAPPED: u32 = 0x4d3c_b2a1;

const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

/// The file header of a little-endian classic pcap (version 2.4) whose records have link
/// type `link_type` and are cut at `snaplen` bytes; `nanos` selects nanosecond timestamps
/// (else microseconds). For writers: evidence files, the simulator, tests.
pub fn pcap_file_header(link_type: u16, snaplen: u32, nanos: bool) -> [u8; FILE_HEADER_LEN] {
    let magic = if nanos { MAGIC_NSEC } else { MAGIC_USEC };
    let mut h = [0u8; FILE_HEADER_LEN];
    h[0..4].copy_from_slice(&magic.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // 8..16: time zone offset and accuracy, always zero.
    h[16..20].copy_from_slice(&snaplen.to_le_bytes());
    h[20..24].copy_from_slice(&u32::from(link_type).to_le_bytes());
    h
}

/// The record header, in the byte order and resolution of [`pcap_file_header`], of
/// `captured` bytes of an `original`-byte frame seen at `ts_ns` (ns since the epoch;
/// microsecond files drop the sub-microsecond part).
pub fn pcap_record_header(
    ts_ns: u64,
    captured: u32,
    original: u32,
    nanos: bool,
) -> [u8; RECORD_HEADER_LEN] {
    let frac = ts_ns % 1_000_000_000;
    let frac = if nanos { frac } else { frac / 1_000 };
    let mut h = [0u8; RECORD_HEADER_LEN];
    h[0..4].copy_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
    h[4..8].copy_from_slice(&(frac as u32).to_le_bytes());
    h[8..12].copy_from_slice(&captured.to_le_bytes());
    h[12..16].copy_from_slice(&original.to_le_bytes());
    h
}

/// State of a classic pcap reader: fixed for the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapState {
    /// Fields are big-endian.
    pub big_endian: bool,
    /// Timestamp fraction is nanoseconds (else microseconds).
    pub nanos: bool,
    /// Link type of every record.
    pub link_type: u16,
    /// Snapshot length from the file header.
    pub snaplen: u32,
}

pub(crate) fn read_header(buf: &[u8]) -> Result<(PcapState, usize), CaptureError> {
    let Some(h) = buf.get(..FILE_HEADER_LEN) else {
        return Err(CaptureError {
            offset: 0,
            record: 0,
            fatal: true,
            kind: CaptureErrorKind::Truncated {
                what: "pcap file header",
                need: FILE_HEADER_LEN as u64,
                have: buf.len() as u64,
            },
        });
    };
    let magic = rd_u32(h, 0, false);
    let (big_endian, nanos) = match magic {
        MAGIC_USEC => (false, false),
        MAGIC_NSEC => (false, true),
        MAGIC_USEC_SWAPPED => (true, false),
        _ => (true, true),
    };
    let snaplen = rd_u32(h, 16, big_endian);
    // The upper 16 bits of the link-type word carry FCS information (pcap-linktype(7)).
    let link_type = (rd_u32(h, 20, big_endian) & 0xffff) as u16;
    Ok((
        PcapState {
            big_endian,
            nanos,
            link_type,
            snaplen,
        },
        FILE_HEADER_LEN,
    ))
}

pub(crate) fn next_record<'a>(s: &PcapState, buf: &'a [u8], pos: usize) -> Step<'a> {
    let rest = &buf[pos..];
    let Some(h) = rest.get(..RECORD_HEADER_LEN) else {
        return Step::Fatal {
            kind: CaptureErrorKind::Truncated {
                what: "pcap record header",
                need: RECORD_HEADER_LEN as u64,
                have: rest.len() as u64,
            },
            in_record: true,
        };
    };
    let be = s.big_endian;
    let sec = rd_u32(h, 0, be) as u64;
    let frac = rd_u32(h, 4, be) as u64;
    let caplen = rd_u32(h, 8, be);
    let wire_len = rd_u32(h, 12, be);
    // Writers do exceed their own snaplen, so only reject what no link could carry.
    let limit = s.snaplen.clamp(262_144, MAX_RECORD_BYTES);
    if caplen > limit {
        return Step::Fatal {
            kind: CaptureErrorKind::BadField {
                field: "pcap.caplen",
                value: caplen as u64,
            },
            in_record: true,
        };
    }
    // A writer never stores more than the packet had, and never a fraction of a second
    // of a second or more: either means the header is not where the walk thinks, e.g. a
    // damaged length earlier made it land inside packet bytes.
    if caplen > wire_len {
        return Step::Fatal {
            kind: CaptureErrorKind::BadField {
                field: "pcap.caplen_exceeds_len",
                value: caplen as u64,
            },
            in_record: true,
        };
    }
    if frac >= if s.nanos { 1_000_000_000 } else { 1_000_000 } {
        return Step::Fatal {
            kind: CaptureErrorKind::BadField {
                field: "pcap.ts_fraction",
                value: frac,
            },
            in_record: true,
        };
    }
    let end = RECORD_HEADER_LEN + caplen as usize;
    let Some(data) = rest.get(RECORD_HEADER_LEN..end) else {
        return Step::Fatal {
            kind: CaptureErrorKind::Truncated {
                what: "pcap record data",
                need: caplen as u64,
                have: (rest.len() - RECORD_HEADER_LEN) as u64,
            },
            in_record: true,
        };
    };
    let frac_ns = if s.nanos { frac } else { frac * 1000 };
    Step::Record {
        next: pos + end,
        ts_ns: sec * 1_000_000_000 + frac_ns,
        link_type: s.link_type,
        wire_len,
        data,
    }
}
