//! Classic libpcap files: a 24-byte file header, then 16-byte record headers each
//! followed by the captured bytes. Both byte orders, micro- and nanosecond magic.

use super::odd::{OddHeader, OddValue};
use super::{rd_u32, Place, Step, TimeSource, MAX_RECORD_BYTES};
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
            block: false,
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

/// What a record header with an odd value ([`OddValue`]) is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookahead {
    /// Nothing: an odd value is damaged framing (guessing record boundaries, where only
    /// headers as writers make them count).
    Strict,
    /// The framing after the record, in a buffer that ends where the capture ends or at a
    /// record boundary an earlier walk with [`Lookahead::Complete`] accepted (a chunk).
    Complete,
    /// As `Complete`, but more bytes may follow the buffer: when the check needs bytes
    /// past its end, the record is reported as truncated, so that the caller reads more
    /// (and at the real end of the input reads again with `Complete`).
    Open,
}

/// Headers after an odd record that must look like records before it is accepted, unless
/// one of them is a record as writers make them (or the capture ends) first.
const ODD_CHAIN: usize = 4;

/// The framing after an odd record that ends at `at`: `Some(true)` when it goes on
/// plausibly — the next records have lengths within the file's limits and non-zero times,
/// up to one with no odd value, or [`ODD_CHAIN`] of them, or the end of the bytes. `None`:
/// the bytes end before that is known and more may follow.
///
/// Reaching the end counts as going on: at the end of a capture, a record cut short there
/// is then reported as truncated (a writer stopped in the middle of it), and at the end of
/// a chunk, the walk that cut the chunk saw the bytes after it. A damaged length that made
/// the walk land inside packet bytes rarely passes: packet bytes seldom hold a length under
/// the limit at the right place, and zero padding fails the time check.
fn framing_continues(s: &PcapState, buf: &[u8], mut at: usize, look: Lookahead) -> Option<bool> {
    let end_of_bytes = (look != Lookahead::Open).then_some(true);
    for _ in 0..ODD_CHAIN {
        if at == buf.len() {
            return end_of_bytes;
        }
        let Some(h) = buf.get(at..at + RECORD_HEADER_LEN) else {
            return end_of_bytes;
        };
        let f = Fields::read(s, h);
        if f.caplen > f.limit || f.sec == 0 {
            return Some(false);
        }
        let end = at + RECORD_HEADER_LEN + f.caplen as usize;
        if end > buf.len() {
            return end_of_bytes;
        }
        if !f.is_odd() && f.wire_len > 0 {
            return Some(true);
        }
        at = end;
    }
    Some(true)
}

/// The fields of one record header.
struct Fields {
    sec: u64,
    frac: u64,
    caplen: u32,
    wire_len: u32,
    /// The largest captured length the file may hold.
    limit: u32,
    nanos: bool,
}

impl Fields {
    #[inline(always)]
    fn read(s: &PcapState, h: &[u8]) -> Fields {
        let be = s.big_endian;
        Fields {
            sec: rd_u32(h, 0, be) as u64,
            frac: rd_u32(h, 4, be) as u64,
            caplen: rd_u32(h, 8, be),
            wire_len: rd_u32(h, 12, be),
            // Writers do exceed their own snaplen, so only reject what no link could carry.
            limit: s.snaplen.clamp(262_144, MAX_RECORD_BYTES),
            nanos: s.nanos,
        }
    }

    /// One second in the file's timestamp unit.
    #[inline]
    fn second(&self) -> u64 {
        if self.nanos {
            1_000_000_000
        } else {
            1_000_000
        }
    }

    /// The odd values of this header, packed; `None` when there are none.
    #[cold]
    fn odd_header(&self) -> Option<OddHeader> {
        OddHeader::pcap(
            self.odd_len().then_some(self.wire_len),
            self.odd_frac().then_some(self.frac as u32),
            self.nanos,
        )
    }

    /// A writer never stores more than the packet had.
    #[inline]
    fn odd_len(&self) -> bool {
        self.caplen > self.wire_len
    }

    /// Nor a fraction of a second of a second or more.
    #[inline]
    fn odd_frac(&self) -> bool {
        self.frac >= self.second()
    }

    /// Either odd value.
    #[inline]
    fn is_odd(&self) -> bool {
        self.odd_len() || self.odd_frac()
    }

    /// The timestamp in nanoseconds since the epoch.
    #[inline(always)]
    fn ts_ns(&self) -> u64 {
        let frac_ns = if self.nanos {
            self.frac
        } else {
            self.frac * 1000
        };
        self.sec * 1_000_000_000 + frac_ns
    }
}

/// An ordinary record, as [`plain_record`] reads it.
pub(crate) struct Plain<'a> {
    pub next: usize,
    pub ts_ns: u64,
    pub wire_len: u32,
    pub data: &'a [u8],
}

/// The record at `pos` when it is an ordinary one: complete, within the file's limit and
/// with no odd header value. `None` for anything else, which [`next_record`] then reads.
///
/// The reader's fast path: a record read here carries no `odd` values, so nothing of the
/// 16-byte [`OddHeader`] is built and copied per record (written field by field and read
/// back whole, that copy stalled on store forwarding).
#[inline(always)]
pub(crate) fn plain_record<'a>(s: &PcapState, buf: &'a [u8], pos: usize) -> Option<Plain<'a>> {
    let rest = buf.get(pos..)?;
    let f = Fields::read(s, rest.get(..RECORD_HEADER_LEN)?);
    if f.caplen > f.limit || f.is_odd() {
        return None;
    }
    let end = RECORD_HEADER_LEN + f.caplen as usize;
    Some(Plain {
        next: pos + end,
        ts_ns: f.ts_ns(),
        wire_len: f.wire_len,
        data: rest.get(RECORD_HEADER_LEN..end)?,
    })
}

/// The fatal error for an odd value whose record is not followed by intact framing: the
/// header is most likely not where the walk thinks (a damaged length earlier made it land
/// inside packet bytes).
fn odd_fatal(odd: OddValue) -> Step<'static> {
    let value = match odd {
        OddValue::CaplenExceedsLen { caplen, .. } => u64::from(caplen),
        OddValue::TsFraction { fraction, .. } => u64::from(fraction),
        // Classic pcap times always fit.
        OddValue::TimeOutOfRange { second } => second.unsigned_abs(),
    };
    Step::Fatal {
        kind: CaptureErrorKind::BadField {
            field: odd.reason(),
            value,
        },
        at: Place::Record,
    }
}

/// Read the record at `pos`.
///
/// A captured length above the file's limit is damaged framing. A captured length above
/// the original length, or a timestamp fraction of a second or more, is a value writers
/// do not produce: with [`Lookahead::Strict`] it is damaged framing too; otherwise the
/// record is read with a warning (a [`Step::Record`] with `odd` values) when the framing after it is intact
/// ([`framing_continues`]), and is damaged framing when it is not.
pub(crate) fn next_record<'a>(
    s: &PcapState,
    buf: &'a [u8],
    pos: usize,
    look: Lookahead,
) -> Step<'a> {
    let rest = &buf[pos..];
    let Some(h) = rest.get(..RECORD_HEADER_LEN) else {
        return Step::Fatal {
            kind: CaptureErrorKind::Truncated {
                what: "pcap record header",
                need: RECORD_HEADER_LEN as u64,
                have: rest.len() as u64,
            },
            at: Place::Record,
        };
    };
    let f = Fields::read(s, h);
    if f.caplen > f.limit {
        return Step::Fatal {
            kind: CaptureErrorKind::BadField {
                field: "pcap.caplen",
                value: f.caplen as u64,
            },
            at: Place::Record,
        };
    }
    // One compare each on the hot path; the values are gathered only for an odd record.
    let odd = if f.is_odd() { f.odd_header() } else { None };
    let first_odd = odd.and_then(|o| o.values(f.caplen)[0]);
    if let (Lookahead::Strict, Some(o)) = (look, first_odd) {
        return odd_fatal(o);
    }
    let end = RECORD_HEADER_LEN + f.caplen as usize;
    let Some(data) = rest.get(RECORD_HEADER_LEN..end) else {
        return Step::Fatal {
            kind: CaptureErrorKind::Truncated {
                what: "pcap record data",
                need: f.caplen as u64,
                have: (rest.len() - RECORD_HEADER_LEN) as u64,
            },
            at: Place::Record,
        };
    };
    let ts_ns = f.ts_ns();
    if let Some(first) = first_odd {
        return match framing_continues(s, buf, pos + end, look) {
            Some(true) => Step::Record {
                next: pos + end,
                ts_ns,
                time: TimeSource::Captured,
                link_type: s.link_type,
                wire_len: f.wire_len.max(f.caplen),
                data,
                odd,
            },
            Some(false) => odd_fatal(first),
            None => Step::Fatal {
                kind: CaptureErrorKind::Truncated {
                    what: "pcap records after an odd record header",
                    need: RECORD_HEADER_LEN as u64,
                    have: 0,
                },
                at: Place::Record,
            },
        };
    }
    Step::Record {
        next: pos + end,
        ts_ns,
        time: TimeSource::Captured,
        link_type: s.link_type,
        wire_len: f.wire_len,
        data,
        odd: None,
    }
}

#[cfg(test)]
mod odd_tests {
    use super::super::{pcap_resync, read_all, CaptureFormat, Record, RecordReader};
    use super::*;
    use crate::error::CaptureError;

    const T: u64 = 1_700_000_000;

    /// Records of (seconds, fraction, captured length, original length); the captured
    /// bytes are 0x5a. Returns the file and each record's offset.
    fn file(nanos: bool, recs: &[(u32, u32, u32, u32)]) -> (Vec<u8>, Vec<usize>) {
        let mut b = pcap_file_header(1, 65535, nanos).to_vec();
        let mut offsets = Vec::new();
        for &(sec, frac, caplen, origlen) in recs {
            offsets.push(b.len());
            for v in [sec, frac, caplen, origlen] {
                b.extend(v.to_le_bytes());
            }
            b.extend(std::iter::repeat_n(0x5a, caplen as usize));
        }
        (b, offsets)
    }

    fn good(i: u32) -> (u32, u32, u32, u32) {
        (T as u32 + i, 500_000, 60, 60)
    }

    type Item<'a> = Result<Record<'a>, CaptureError>;

    #[test]
    fn caplen_above_origlen_is_read_with_the_larger_length() {
        for orig in [20, 0] {
            let (b, off) = file(false, &[good(0), (T as u32 + 1, 0, 60, orig), good(2)]);
            let items = read_all(&b);
            assert_eq!(items.len(), 3);
            let rec = items[1].as_ref().unwrap();
            assert_eq!(rec.offset, off[1] as u64);
            assert_eq!(rec.number, 2);
            assert_eq!(rec.wire_len, 60);
            assert_eq!(
                rec.odd_values(),
                [
                    Some(OddValue::CaplenExceedsLen {
                        caplen: 60,
                        origlen: orig,
                        format: CaptureFormat::Pcap,
                    }),
                    None
                ]
            );
            assert!(items[0].as_ref().unwrap().odd.is_none());
            assert!(items[2].as_ref().unwrap().odd.is_none());
        }
    }

    #[test]
    fn fraction_of_a_second_or_more_is_added_as_given() {
        for (nanos, frac, ns) in [
            (false, 1_000_000, 1_000_000_000),
            (true, 1_500_000_000, 1_500_000_000),
        ] {
            let (b, _) = file(nanos, &[good(0), (T as u32 + 1, frac, 60, 60), good(3)]);
            let items = read_all(&b);
            let rec = items[1].as_ref().unwrap();
            assert_eq!(rec.ts_ns, (T + 1) * 1_000_000_000 + ns);
            assert_eq!(
                rec.odd_values(),
                [
                    Some(OddValue::TsFraction {
                        fraction: frac,
                        nanos
                    }),
                    None
                ]
            );
            assert!(items[2].is_ok());
        }
        // Both values odd in one record: both reported.
        let (b, _) = file(false, &[(T as u32, 2_000_000, 60, 10)]);
        let items = read_all(&b);
        let odd = items[0].as_ref().unwrap().odd_values();
        assert!(odd[0].is_some() && odd[1].is_some(), "{odd:?}");
    }

    #[test]
    fn odd_records_in_a_row_and_at_the_end_are_read() {
        let recs = [
            good(0),
            (T as u32 + 1, 0, 60, 0),
            (T as u32 + 2, 0, 60, 0),
            (T as u32 + 3, 0, 60, 0),
        ];
        let (b, _) = file(false, &recs);
        let items = read_all(&b);
        assert_eq!(items.len(), 4);
        assert!(items
            .iter()
            .skip(1)
            .all(|i| i.as_ref().unwrap().odd.is_some()));
    }

    #[test]
    fn enlarged_length_landing_inside_packet_bytes_is_fatal() {
        // Record 2 claims 200 bytes (of 60): the walk would land in record 4's bytes.
        let recs: Vec<_> = (0..6).map(good).collect();
        let (mut b, off) = file(false, &recs);
        b[off[1] + 8..off[1] + 12].copy_from_slice(&200u32.to_le_bytes());
        let items = read_all(&b);
        assert_eq!(items.len(), 2);
        let e = items[1].as_ref().unwrap_err();
        assert!(e.fatal);
        assert_eq!(e.offset, off[1] as u64);
        assert_eq!(e.record, 2);
        assert_eq!(e.reason(), "pcap.caplen_exceeds_len");
        // Zero padding after an odd record is no record either.
        let (mut b, off) = file(false, &[good(0), (T as u32 + 1, 0, 60, 0)]);
        b.extend([0u8; 64]);
        let items = read_all(&b);
        assert_eq!(items[1].as_ref().unwrap_err().offset, off[1] as u64);
        // A file cut inside an odd record, or inside the record after it: truncated there.
        let (b, off) = file(false, &[good(0), (T as u32 + 1, 0, 60, 0), good(2)]);
        for (cut, at) in [
            (off[2] - 1, off[1]),
            (off[2] + 5, off[2]),
            (b.len() - 1, off[2]),
        ] {
            let items = read_all(&b[..cut]);
            let e = *items.last().unwrap().as_ref().unwrap_err();
            assert_eq!(e.reason(), "capture.truncated", "cut at {cut}");
            assert_eq!(e.offset, at as u64, "cut at {cut}");
        }
    }

    /// A reader over any prefix that ends at a boundary the whole reader reached (a chunk),
    /// and a reader fed growing prefixes that may be followed by more bytes (a stream, read
    /// again without that once the bytes end), read what the reader over the whole file
    /// reads.
    #[test]
    fn chunks_and_streams_read_odd_records_as_the_whole_file() {
        let mut recs = Vec::new();
        for i in 0..40u32 {
            recs.push(match i % 7 {
                2 => (T as u32 + i, 0, 60 + i, 0),
                4 => (T as u32 + i, 1_000_000 + i, 60, 60),
                5 => (T as u32 + i, 0, 70, 20),
                _ => (T as u32 + i, i, 50 + i, 100),
            });
        }
        let (mut whole, off) = file(false, &recs);
        // Damage near the end: record 37's length enlarged by 40 (above its original
        // length) lands inside record 38's bytes.
        let n = whole.len();
        whole[off[36] + 8..off[36] + 12].copy_from_slice(&(86u32 + 40).to_le_bytes());
        let expect = read_all(&whole);
        assert!(expect.last().unwrap().as_ref().is_err_and(|e| e.fatal));
        let key = |items: &[Item<'_>]| -> Vec<_> {
            items
                .iter()
                .map(|i| i.map(|r| (r.offset, r.number, r.ts_ns, r.wire_len, r.data.len(), r.odd)))
                .collect()
        };
        let expect = key(&expect);
        let state = RecordReader::open(&whole).unwrap().state().clone();
        // Chunks: cut at every boundary.
        let bounds: Vec<u64> = expect.iter().flatten().map(|r| r.0).collect();
        for (i, &cut) in bounds.iter().enumerate() {
            let mut got = Vec::new();
            for (from, to) in [(24u64, cut), (cut, n as u64)] {
                let before = got.len() as u64;
                let chunk = &whole[from as usize..to as usize];
                let mut r = RecordReader::resume(chunk, from, state.clone(), before);
                while let Some(item) = r.next() {
                    let fatal = matches!(item, Err(e) if e.fatal);
                    got.push(item);
                    if fatal {
                        break;
                    }
                }
            }
            assert_eq!(key(&got), expect, "cut before record {}", i + 1);
        }
        // Streams: blocks of every size from 1 to 97 bytes.
        for block in 1..98 {
            let (mut got, mut pos, mut have, mut number) = (Vec::new(), 24usize, 0usize, 0u64);
            let mut exhausted = false;
            loop {
                let mut r = RecordReader::resume(
                    &whole[pos..have.max(pos)],
                    pos as u64,
                    state.clone(),
                    number,
                );
                r.more_may_follow(!exhausted);
                let stop = loop {
                    match r.next() {
                        None => break None,
                        Some(Err(e)) if e.fatal => break Some(e),
                        Some(item) => got.push(item),
                    }
                };
                pos = r.offset() as usize;
                number = r.records();
                // Damage other than running out of bytes ends the stream at once.
                if let Some(e) = stop.filter(|e| e.reason() != "capture.truncated") {
                    got.push(Err(e));
                    break;
                }
                if have < n {
                    have = (have + block).min(n);
                } else if stop.is_some() && !exhausted {
                    exhausted = true;
                } else {
                    if let Some(e) = stop {
                        got.push(Err(e));
                    }
                    break;
                }
            }
            assert_eq!(key(&got), expect, "blocks of {block}");
        }
    }

    #[test]
    fn guesses_never_start_at_an_odd_record() {
        let (b, off) = file(
            false,
            &[good(0), good(1), (T as u32 + 2, 0, 60, 0), good(3), good(4)],
        );
        let state = RecordReader::open(&b).unwrap().state().clone();
        assert_eq!(pcap_resync(&b, &state, off[2], 2, 1 << 20), Some(off[3]));
        assert_eq!(pcap_resync(&b, &state, off[1], 1, 1 << 20), Some(off[1]));
    }
}
