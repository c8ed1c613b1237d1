//! Capture-file readers: classic pcap and pcapng, read from a byte slice.
//!
//! The readers never copy packet bytes and never allocate sized by a length field from the
//! file: a record's length is checked against what is left of the slice before the slice
//! is taken. Files are normally memory-mapped by the caller.
//!
//! A [`RecordReader`] can be *resumed*: its [`ReaderState`] (byte order, time resolution,
//! pcapng interface table and the time that dates Simple Packet Blocks) together with an
//! offset is all that is needed to continue
//! reading from any record boundary. That is how a capture is split into record-aligned
//! chunks that several threads decode at once.

mod odd;
mod pcap;
mod pcapng;

pub use odd::{OddHeader, OddValue};
pub use pcap::{pcap_file_header, pcap_record_header, PcapState};
pub use pcapng::{pcapng_block, pcapng_epb, Interface, PcapngState, MAX_BLOCK_BYTES};

use crate::error::{CaptureError, CaptureErrorKind};

/// The capture container format, recognised from the first bytes of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap,
    /// pcapng (next generation) format.
    Pcapng,
}

impl CaptureFormat {
    /// Lowercase name for reports.
    pub const fn name(self) -> &'static str {
        match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::Pcapng => "pcapng",
        }
    }

    /// Recognise a capture format from its magic bytes.
    ///
    /// Returns `None` when the bytes are too short or are no capture this crate reads.
    pub fn detect(head: &[u8]) -> Option<CaptureFormat> {
        let magic: [u8; 4] = head.get(..4)?.try_into().ok()?;
        match u32::from_le_bytes(magic) {
            pcap::MAGIC_USEC
            | pcap::MAGIC_NSEC
            | pcap::MAGIC_USEC_SWAPPED
            | pcap::MAGIC_NSEC_SWAPPED => Some(CaptureFormat::Pcap),
            pcapng::BLOCK_SHB => Some(CaptureFormat::Pcapng),
            _ => None,
        }
    }
}

/// An "unrecognised format" error that shows the first bytes of the input.
pub fn unrecognised(head: &[u8]) -> CaptureError {
    let mut shown = [0u8; 16];
    let len = head.len().min(16);
    shown[..len].copy_from_slice(&head[..len]);
    CaptureError {
        offset: 0,
        record: 0,
        block: false,
        fatal: true,
        kind: CaptureErrorKind::Unrecognised {
            head: shown,
            len: len as u8,
        },
    }
}

/// Where a record's timestamp comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeSource {
    /// The record's own header.
    Captured,
    /// None: a pcapng Simple Packet Block has no timestamp. It is dated with the previous
    /// timestamped packet of its section (any interface).
    Previous,
    /// None, and no timestamped packet precedes it in its section: a pcapng Simple Packet
    /// Block at the start of a section. `ts_ns` is 0 (1970-01-01T00:00:00Z).
    Missing,
}

/// One captured packet, borrowed from the capture bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record (header) in the capture.
    pub offset: u64,
    /// 1-based record number in the capture, as Wireshark numbers frames: pcapng custom
    /// blocks and systemd journal entries take a number too, so numbers can skip.
    pub number: u64,
    /// Timestamp in nanoseconds since the Unix epoch. A pcapng time before the epoch or
    /// after 2554-07-21T23:34:33.709551615Z is clamped to the nearer of the two, and
    /// [`Record::odd`] says so.
    pub ts_ns: u64,
    /// Whether `ts_ns` is the record's own time or an inferred one.
    pub time: TimeSource,
    /// Link-layer type (LINKTYPE_* value).
    pub link_type: u16,
    /// Length of the packet on the wire (may exceed `data.len()` when cut by a snaplen).
    pub wire_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Odd header values the record was read despite, because its framing is intact: a
    /// captured length above the original length (classic pcap and pcapng), a timestamp
    /// fraction of a second or more (classic pcap), a time outside what `ts_ns` holds
    /// (pcapng, clamped); [`Record::odd_values`] lists them. Not errors: the packet is
    /// counted like any other, and callers may warn about them.
    pub odd: Option<OddHeader>,
}

impl Record<'_> {
    /// The odd header values ([`Record::odd`]), filled from the first slot.
    pub fn odd_values(&self) -> [Option<OddValue>; 2] {
        self.odd
            .map_or([None; 2], |o| o.values(self.data.len() as u32))
    }
}

/// Everything needed to continue reading a capture at a record boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderState {
    /// Classic pcap.
    Pcap(PcapState),
    /// pcapng.
    Pcapng(PcapngState),
}

/// Reads records one by one from capture bytes.
///
/// A reader over a slice that starts at file offset `base` reports absolute offsets, so
/// errors from any chunk name the byte in the original file.
#[derive(Debug, Clone)]
pub struct RecordReader<'a> {
    buf: &'a [u8],
    base: u64,
    pos: usize,
    number: u64,
    state: ReaderState,
    /// More bytes may follow the buffer (see [`RecordReader::more_may_follow`]).
    open_ended: bool,
}

impl<'a> RecordReader<'a> {
    /// Open a capture from its first byte: recognise the format and read the file header.
    ///
    /// # Errors
    /// An unrecognised format, or a damaged or truncated file header.
    pub fn open(buf: &'a [u8]) -> Result<Self, CaptureError> {
        let (state, pos) = match CaptureFormat::detect(buf) {
            Some(CaptureFormat::Pcap) => {
                let (s, p) = pcap::read_header(buf)?;
                (ReaderState::Pcap(s), p)
            }
            // pcapng: the section header is read as the first block by `next`.
            Some(CaptureFormat::Pcapng) => (ReaderState::Pcapng(PcapngState::default()), 0),
            None => return Err(unrecognised(buf)),
        };
        Ok(RecordReader {
            buf,
            base: 0,
            pos,
            number: 0,
            state,
            open_ended: false,
        })
    }

    /// Continue reading at a record boundary: `buf` starts at file offset `base`, and
    /// `records_before` records precede it.
    pub fn resume(buf: &'a [u8], base: u64, state: ReaderState, records_before: u64) -> Self {
        RecordReader {
            buf,
            base,
            pos: 0,
            number: records_before,
            state,
            open_ended: false,
        }
    }

    /// Say whether more bytes of the capture may follow the buffer (a stream read in
    /// blocks). By default the buffer ends where the capture ends, or at a record boundary
    /// that a reader over the bytes after it accepted (a chunk cut by such a walk).
    ///
    /// It matters for a classic pcap record with an odd header value ([`Record::odd`]),
    /// which is read only when the framing after it is intact: when checking that needs
    /// bytes past the buffer, an open-ended reader reports the record as truncated, so
    /// that the caller appends more bytes, or reads again with `false` at the real end.
    /// Either way the records, warnings and errors are those of a reader over the whole
    /// capture.
    pub fn more_may_follow(&mut self, yes: bool) {
        self.open_ended = yes;
    }

    /// The container format.
    pub fn format(&self) -> CaptureFormat {
        match self.state {
            ReaderState::Pcap(_) => CaptureFormat::Pcap,
            ReaderState::Pcapng(_) => CaptureFormat::Pcapng,
        }
    }

    /// The state at the current position (to resume from here).
    pub fn state(&self) -> &ReaderState {
        &self.state
    }

    /// Position in the slice of the next record to read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Absolute file offset of the next record to read.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Record numbers used so far (including those before a resume point): packets
    /// returned, damaged packet records skipped, and the pcapng blocks that Wireshark
    /// numbers as frames without being packets (custom blocks, systemd journal entries).
    pub fn records(&self) -> u64 {
        self.number
    }

    /// Read the next record.
    ///
    /// Returns `None` at the clean end of the bytes. An error with `fatal == true` means the
    /// framing is damaged at that offset; the reader does not advance, and calling `next`
    /// again returns the same error. A non-fatal error means one record was skipped (or,
    /// with `block == true`, one damaged pcapng block that carries no packet).
    ///
    /// A truncated final record is reported as fatal `Truncated`; a streaming caller that
    /// has more bytes to come can append them and resume at [`RecordReader::pos`].
    #[allow(clippy::should_implement_trait)]
    // Inlined into the caller's loop, with a fast path for ordinary pcap records:
    // returned through memory, the `Step` and `Record` were written field by field and
    // read back 16 bytes at a time, and each such read waited for the stores to retire
    // (about 9 % of a one-thread run).
    #[inline(always)]
    pub fn next(&mut self) -> Option<Result<Record<'a>, CaptureError>> {
        loop {
            if self.pos >= self.buf.len() {
                return None;
            }
            prefetch(self.buf, self.pos + PREFETCH_AHEAD);
            let step = match &mut self.state {
                ReaderState::Pcap(s) => {
                    if let Some(p) = pcap::plain_record(s, self.buf, self.pos) {
                        let offset = self.base + self.pos as u64;
                        self.pos = p.next;
                        self.number += 1;
                        return Some(Ok(Record {
                            offset,
                            number: self.number,
                            ts_ns: p.ts_ns,
                            time: TimeSource::Captured,
                            link_type: s.link_type,
                            wire_len: p.wire_len,
                            data: p.data,
                            odd: None,
                        }));
                    }
                    let look = if self.open_ended {
                        pcap::Lookahead::Open
                    } else {
                        pcap::Lookahead::Complete
                    };
                    pcap::next_record(s, self.buf, self.pos, look)
                }
                ReaderState::Pcapng(s) => pcapng::next_block(s, self.buf, self.pos),
            };
            match step {
                Step::Record {
                    next,
                    ts_ns,
                    time,
                    link_type,
                    wire_len,
                    data,
                    odd,
                } => {
                    let offset = self.base + self.pos as u64;
                    self.pos = next;
                    self.number += 1;
                    return Some(Ok(Record {
                        offset,
                        number: self.number,
                        ts_ns,
                        time,
                        link_type,
                        wire_len,
                        data,
                        odd,
                    }));
                }
                Step::Skip { next } => self.pos = next,
                Step::Numbered { next } => {
                    self.pos = next;
                    self.number += 1;
                }
                Step::BadRecord { next, kind } => {
                    let offset = self.base + self.pos as u64;
                    self.pos = next;
                    self.number += 1;
                    return Some(Err(CaptureError {
                        offset,
                        record: self.number,
                        block: false,
                        fatal: false,
                        kind,
                    }));
                }
                Step::BadBlock { next, kind } => {
                    let offset = self.base + self.pos as u64;
                    self.pos = next;
                    return Some(Err(CaptureError {
                        offset,
                        record: 0,
                        block: true,
                        fatal: false,
                        kind,
                    }));
                }
                Step::Fatal { kind, at } => {
                    return Some(Err(CaptureError {
                        offset: self.base + self.pos as u64,
                        record: if at == Place::Record {
                            self.number + 1
                        } else {
                            0
                        },
                        block: at == Place::Block,
                        fatal: true,
                        kind,
                    }))
                }
            }
        }
    }
}

/// Classic pcap only: a guess at the first record boundary at or after `from`, for
/// decoding a file from several places at once.
///
/// Returns the first offset in `from..from + max_scan` (offsets into `buf`, the whole
/// file) at which `chain` consecutive record headers are well formed (length within the
/// file and within what a link can carry, not above the original length, a valid second
/// fraction, not empty, a non-zero time) with timestamps within an hour of each other, or
/// whose records reach exactly the end of `buf`. Record headers can appear inside packet bytes (a capture of capture
/// files), so this is only a guess: a caller must check it against the boundary that a
/// walk from the start reaches, and read again from there when they differ. `None` for
/// pcapng (whose blocks carry state), or when nothing fits.
pub fn pcap_resync(
    buf: &[u8],
    state: &ReaderState,
    from: usize,
    chain: usize,
    max_scan: usize,
) -> Option<usize> {
    let ReaderState::Pcap(s) = state else {
        return None;
    };
    let last = from.saturating_add(max_scan).min(buf.len());
    'candidates: for start in from..last {
        let mut pos = start;
        let mut prev_ts: Option<u64> = None;
        for _ in 0..chain.max(1) {
            if pos == buf.len() {
                return Some(start);
            }
            // Guesses count only records as writers make them: an odd header value is
            // no boundary to start from.
            match pcap::next_record(s, buf, pos, pcap::Lookahead::Strict) {
                Step::Record {
                    next,
                    ts_ns,
                    wire_len,
                    data,
                    ..
                } => {
                    // Runs of zero bytes parse as empty records at time 0.
                    const HOUR_NS: u64 = 3_600 * 1_000_000_000;
                    if data.is_empty()
                        || wire_len == 0
                        || ts_ns == 0
                        || prev_ts.is_some_and(|p| p.abs_diff(ts_ns) > HOUR_NS)
                    {
                        continue 'candidates;
                    }
                    prev_ts = Some(ts_ns);
                    pos = next;
                }
                _ => continue 'candidates,
            }
        }
        return Some(start);
    }
    None
}

/// How far ahead of the record being read to prefetch. Record lengths chain each record's
/// address to the previous one, so without a hint the walk waits on memory once per
/// record; a few kilobytes ahead covers the latency at the rates we read.
const PREFETCH_AHEAD: usize = 4096;

/// Hint the CPU to load the cache line at `buf[at]`, if `at` is inside `buf`.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if at < buf.len() {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` is unsafe only because it is a `target_feature(sse)`
        // function; SSE is part of the x86_64 baseline, a prefetch never faults, and the
        // pointer is inside `buf` anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(buf.as_ptr().add(at).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}

/// What one step of a format walker produced. Internal to the readers.
pub(crate) enum Step<'a> {
    /// A packet record; `next` is the position after it.
    Record {
        next: usize,
        ts_ns: u64,
        time: TimeSource,
        link_type: u16,
        wire_len: u32,
        data: &'a [u8],
        /// Odd header values the record is read despite, because its framing is intact (see
        /// [`Record::odd`]).
        odd: Option<OddHeader>,
    },
    /// A block that carries no packet (headers, statistics, unknown types).
    Skip { next: usize },
    /// A block that carries no packet but that Wireshark numbers as a frame (pcapng
    /// custom blocks, systemd journal entries): it takes a record number.
    Numbered { next: usize },
    /// A packet record whose framing is intact but whose content cannot be used.
    BadRecord { next: usize, kind: CaptureErrorKind },
    /// A block that carries no packet, whose framing is intact but whose content cannot be
    /// used (a damaged pcapng interface description). It takes no record number.
    BadBlock { next: usize, kind: CaptureErrorKind },
    /// Framing is damaged; nothing after this can be located.
    Fatal { kind: CaptureErrorKind, at: Place },
}

/// Where framing damage is, for its error's record number and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The pcap file header or the first pcapng section header: record 0.
    Header,
    /// The next record (a pcap record; a pcapng block that Wireshark numbers as a frame).
    Record,
    /// A pcapng block that Wireshark does not number, or whose type cannot be read.
    Block,
}

pub(crate) fn rd_u16(b: &[u8], at: usize, be: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

#[inline(always)]
pub(crate) fn rd_u32(b: &[u8], at: usize, be: bool) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

/// Largest record a reader accepts whatever the file's snaplen claims: far above any real
/// link MTU, small enough that a corrupt length is caught instead of swallowing the file.
pub const MAX_RECORD_BYTES: u32 = 16 * 1024 * 1024;

/// Every item a reader returns for `buf`, up to and including a fatal error (the readers'
/// own tests).
#[cfg(test)]
pub(crate) fn read_all(buf: &[u8]) -> Vec<Result<Record<'_>, CaptureError>> {
    let mut r = RecordReader::open(buf).unwrap();
    let mut out = Vec::new();
    while let Some(item) = r.next() {
        let fatal = matches!(&item, Err(e) if e.fatal);
        out.push(item);
        if fatal {
            break;
        }
    }
    out
}

#[cfg(test)]
mod size_tests {
    /// Every record is returned by value, once per packet. At 72 bytes (two unpacked odd
    /// values) one thread ran about 5 % slower than at 64 (BENCH.md, and the commit that
    /// packed them into `OddHeader`): a field added to `Record` must fit in the padding.
    #[test]
    fn record_is_at_most_64_bytes() {
        let size = std::mem::size_of::<super::Record<'_>>();
        assert!(size <= 64, "Record is {size} bytes");
    }
}

#[cfg(test)]
mod resync_tests {
    use super::*;

    /// A little-endian microsecond pcap of Ethernet frames of varied lengths; returns the
    /// bytes and every record's offset.
    fn capture(records: usize) -> (Vec<u8>, Vec<usize>) {
        let mut b = pcap_file_header(1, 65535, false).to_vec();
        let mut offsets = Vec::new();
        for i in 0..records {
            offsets.push(b.len());
            let len = 60 + (i * 37) % 1400;
            let sec = 1_700_000_000 + i as u64 / 1000;
            let usec = (i as u64 * 7919) % 1_000_000;
            let ts = sec * 1_000_000_000 + usec * 1_000;
            b.extend_from_slice(&pcap_record_header(ts, len as u32, len as u32, false));
            // Payload bytes that look like nothing in particular.
            b.extend((0..len).map(|j| {
                let mut x = (i as u64) << 32 | j as u64;
                x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                (x ^ (x >> 31)) as u8
            }));
        }
        (b, offsets)
    }

    #[test]
    fn finds_the_next_record_boundary_from_any_offset() {
        let (buf, offsets) = capture(2000);
        let state = RecordReader::open(&buf).unwrap().state().clone();
        for from in (24..buf.len()).step_by(997) {
            let want = offsets.iter().copied().find(|&o| o >= from);
            let got = pcap_resync(&buf, &state, from, 16, 1 << 20);
            match want {
                Some(w) => assert_eq!(got, Some(w), "from {from}"),
                None => assert!(got.is_none() || got == Some(buf.len())),
            }
        }
    }

    #[test]
    fn pcapng_is_not_resynchronised() {
        let state = ReaderState::Pcapng(PcapngState::default());
        assert_eq!(pcap_resync(&[0; 64], &state, 0, 8, 64), None);
    }
}
