//! `floodtrace analyze`: inputs → record-aligned chunks → observations → merged aggregates
//! → report.
//!
//! A capture is cut into chunks at the first record starting at or after each multiple of
//! `chunk_bytes`. The cut points depend only on the file, never on the thread count, and
//! chunk results are merged strictly in file order, so every thread count yields the same
//! report, byte for byte. One thread walks record headers to find cut points (cheap: a few
//! bytes per record) while workers decode and aggregate whole chunks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use floodtrace_engine::aggregate::Aggregator;
use floodtrace_wire::capture::{CaptureFormat, ReaderState, Record, RecordReader, TimeSource};
use floodtrace_wire::observe::flag;
use floodtrace_wire::{
    observe_frame_into, CaptureError, CaptureErrorKind, DecodeError, Observation, PeekMode,
};

use crate::pool::{InOrder, OrderedPool};
use crate::sources::file::{Chunk, Feed};

/// Default chunk size: large enough that per-chunk merge work is negligible, small enough
/// that two cores get many chunks from a mid-sized capture.
pub const DEFAULT_CHUNK_BYTES: u64 = 64 << 20;

/// Reason of the warning about packets of pcapng Simple Packet Blocks dated with the
/// previous timestamped packet of their section ([`TimeSource::Previous`]).
pub const SPB_TIME_INFERRED: &str = "pcapng.spb_time_inferred";
/// Reason of the warning about packets of pcapng Simple Packet Blocks before any timestamped
/// packet of their section, left at time 0 ([`TimeSource::Missing`]).
pub const SPB_NO_TIME: &str = "pcapng.spb_no_time";
/// Reason of the warning about IP packets that declare a length beyond what their frame
/// carried ([`flag::IP_LENGTH_MISMATCH`]): counted with the bytes the frame carried.
pub const IP_LENGTH_EXCEEDS_FRAME: &str = "ip.length_exceeds_frame";

/// Problems of one reason within one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// `capture`, `packet`, `input`, `flow`, or `skipped` (well-formed flow samples that
    /// are not decoded: not damage).
    pub kind: &'static str,
    /// Occurrences.
    pub count: u64,
    /// First occurrence: file offset.
    pub offset: u64,
    /// First occurrence: record number.
    pub record: u64,
    /// Reading stopped at the first occurrence.
    pub fatal: bool,
    /// First occurrence, described.
    pub message: String,
}

/// Counts and errors of one chunk or one whole input.
#[derive(Debug, Default)]
pub struct Counts {
    /// Records read.
    pub records: u64,
    /// Sum of original frame lengths.
    pub wire_bytes: u64,
    /// IP records.
    pub ip_records: u64,
    /// Non-IP records.
    pub non_ip: u64,
    /// Records whose headers could not be decoded.
    pub undecoded: u64,
    /// Problems by reason key.
    pub errors: BTreeMap<String, Tally>,
}

impl Counts {
    /// Count one problem of `reason`, keeping the description of the first (lowest offset).
    pub(crate) fn note(
        &mut self,
        kind: &'static str,
        reason: &str,
        offset: u64,
        record: u64,
        fatal: bool,
        msg: impl FnOnce() -> String,
    ) {
        match self.errors.get_mut(reason) {
            Some(t) => {
                t.count += 1;
                if offset < t.offset {
                    t.offset = offset;
                    t.record = record;
                    t.message = msg();
                }
                t.fatal |= fatal;
            }
            None => {
                self.errors.insert(
                    reason.to_string(),
                    Tally {
                        kind,
                        count: 1,
                        offset,
                        record,
                        fatal,
                        message: msg(),
                    },
                );
            }
        }
    }

    /// Whether a problem other than an undecodable packet, a skipped sample or a warning
    /// about an export decoded anyway was found: then the input was not read whole, or
    /// parts of it are damaged.
    pub fn damaged(&self) -> bool {
        self.errors
            .values()
            .any(|t| !matches!(t.kind, "packet" | "skipped" | "warning"))
    }

    /// Record a packet decode error of record `number` at `offset`.
    pub fn packet_error(&mut self, e: DecodeError, offset: u64, number: u64) {
        self.undecoded += 1;
        self.note("packet", e.reason(), offset, number, false, || {
            format!("record {number} at offset {offset:#x}: {e}")
        });
    }

    /// Count one record read (before its packet is decoded), with the warnings its header
    /// calls for: odd header values, a time that is not its own.
    #[inline]
    pub fn record(&mut self, rec: &Record<'_>) {
        self.records += 1;
        self.wire_bytes += u64::from(rec.wire_len);
        if rec.odd.is_some() {
            self.odd_record(rec);
        }
        if rec.time != TimeSource::Captured {
            self.inferred_time(rec);
        }
    }

    /// Warn that a record's time is not its own ([`Record::time`]: a pcapng Simple Packet
    /// Block, dated with the previous timestamped packet of its section, or left at 0
    /// before any): a packet-level warning, not damage.
    #[cold]
    pub fn inferred_time(&mut self, rec: &Record<'_>) {
        let (reason, how) = match rec.time {
            TimeSource::Captured => return,
            TimeSource::Previous => (
                SPB_TIME_INFERRED,
                "dated with the previous timestamped packet of its section",
            ),
            TimeSource::Missing => (
                SPB_NO_TIME,
                "no timestamped packet precedes it in its section, so it is dated \
                 1970-01-01T00:00:00Z",
            ),
        };
        self.note("packet", reason, rec.offset, rec.number, false, || {
            format!(
                "record {} at offset {:#x}: a simple packet block has no timestamp; {how}",
                rec.number, rec.offset
            )
        });
    }

    /// Warn that the IP packet `obs` of `rec` declared a length beyond what its frame
    /// carried after the link-layer headers, and was counted with what the frame carried
    /// ([`flag::IP_LENGTH_MISMATCH`]): a packet-level warning, not damage.
    #[cold]
    pub fn ip_length_exceeds_frame(&mut self, rec: &Record<'_>, obs: &Observation) {
        let (offset, number) = (rec.offset, rec.number);
        self.note(
            "packet",
            IP_LENGTH_EXCEEDS_FRAME,
            offset,
            number,
            false,
            || {
                let field = if obs.dst.is_ipv4() {
                    "IPv4 total length"
                } else {
                    "IPv6 payload length + 40"
                };
                format!(
                    "record {number} at offset {offset:#x}: {field} {} exceeds the {} bytes its \
                 {}-byte frame carried after the link-layer header; counted as {} IP bytes",
                    obs.ip_len, obs.bytes, rec.wire_len, obs.bytes
                )
            },
        );
    }

    /// Warn about the odd header values a record was read despite ([`Record::odd`]): a
    /// packet-level warning, not damage (the record was counted like any other).
    #[cold]
    pub fn odd_record(&mut self, rec: &Record<'_>) {
        for odd in rec.odd_values().iter().flatten() {
            let (offset, number) = (rec.offset, rec.number);
            self.note("packet", odd.reason(), offset, number, false, || {
                format!("record {number} at offset {offset:#x}: {odd}")
            });
        }
    }

    /// Record a capture framing error.
    pub fn capture_error(&mut self, e: &CaptureError) {
        self.note("capture", e.reason(), e.offset, e.record, e.fatal, || {
            e.to_string()
        });
    }

    /// Record why a walk stopped early.
    pub fn stop(&mut self, stop: &Stop) {
        match stop {
            Stop::Capture(e) => {
                let kind = match e.kind {
                    CaptureErrorKind::Unrecognised { .. } => "input",
                    _ => "capture",
                };
                self.note(kind, e.reason(), e.offset, e.record, true, || e.to_string());
            }
            Stop::Io { offset, error } => {
                self.note("input", "input.read", *offset, 0, true, || {
                    format!("read error after {offset} bytes: {error}")
                });
            }
        }
    }

    /// Add the counts of the chunk that follows.
    pub fn merge(&mut self, other: Counts) {
        self.records += other.records;
        self.wire_bytes += other.wire_bytes;
        self.ip_records += other.ip_records;
        self.non_ip += other.non_ip;
        self.undecoded += other.undecoded;
        for (reason, t) in other.errors {
            match self.errors.get_mut(&reason) {
                Some(mine) => {
                    mine.count += t.count;
                    mine.fatal |= t.fatal;
                    if t.offset < mine.offset {
                        mine.offset = t.offset;
                        mine.record = t.record;
                        mine.message = t.message;
                    }
                }
                None => {
                    self.errors.insert(reason, t);
                }
            }
        }
    }
}

/// The result of analysing one input.
pub struct InputOutcome {
    /// Recognised format, if any.
    pub format: Option<CaptureFormat>,
    /// Counts and problems.
    pub counts: Counts,
    /// Aggregated observations.
    pub agg: Aggregator,
    /// The input was read to its end without framing damage.
    pub complete: bool,
    /// Flow figures, when the input was flow telemetry (`crate::flows`).
    pub flows: Option<crate::flows::FlowCounts>,
}

/// One chunk of records for a worker (numbered by the pool, in walk order).
struct Job<'a> {
    bytes: Chunk<'a>,
    base: u64,
    state: ReaderState,
    records_before: u64,
}

/// How much of the analysis runs during the pass over the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depth {
    /// What detection needs beyond counting: payload peeks, fingerprints, scanners.
    pub inspect: bool,
    /// Keep a hash-sampled [`floodtrace_engine::sketch::SourceLog`] for attribution.
    pub source_log: bool,
}

impl Depth {
    /// An empty aggregator for this depth; its source log (if any) starts at `tau`, the
    /// threshold the input's earlier parts reached (any value at or above the final one
    /// gives the same result, and a lower start saves logging what will be dropped).
    pub fn aggregator(self, tau: u64) -> Aggregator {
        match (self.inspect, self.source_log) {
            (false, _) => Aggregator::counting_only(),
            (true, false) => Aggregator::new(),
            (true, true) => Aggregator::with_source_log(tau),
        }
    }
}

/// The source-log threshold an aggregator reached (`u64::MAX` without a log).
pub fn log_tau(agg: &Aggregator) -> u64 {
    agg.source_log().map_or(u64::MAX, |l| l.tau())
}

struct ChunkWork {
    agg: Aggregator,
    counts: Counts,
    peek: PeekMode,
    /// Reused for every record (decoded in place, see `observe_frame_into`).
    obs: Observation,
}

impl ChunkWork {
    /// Empty work at `depth`; a source log starts at threshold `tau` (see
    /// [`Depth::aggregator`]).
    fn new(depth: Depth, tau: u64) -> Self {
        let inspect = depth.inspect;
        ChunkWork {
            agg: depth.aggregator(tau),
            counts: Counts::default(),
            peek: if inspect {
                PeekMode::Analysis
            } else {
                PeekMode::Never
            },
            obs: Observation::default(),
        }
    }

    /// Decode and count one item returned by a [`RecordReader`].
    // Inlined into the walk so that the record stays in registers (see `RecordReader::next`).
    #[inline(always)]
    fn item(&mut self, item: &Result<Record<'_>, CaptureError>) {
        match item {
            Ok(rec) => {
                self.counts.record(rec);
                match observe_frame_into(
                    rec.link_type,
                    rec.data,
                    rec.ts_ns,
                    rec.wire_len,
                    self.peek,
                    &mut self.obs,
                ) {
                    Ok(None) => {
                        self.counts.ip_records += 1;
                        if self.obs.flags & flag::IP_LENGTH_MISMATCH != 0 {
                            self.counts.ip_length_exceeds_frame(rec, &self.obs);
                        }
                        self.agg.add(&self.obs);
                    }
                    Ok(Some(_)) => self.counts.non_ip += 1,
                    Err(e) => self.counts.packet_error(e, rec.offset, rec.number),
                }
            }
            // Fatal framing errors are reported once, by the walk that found them.
            Err(e) if !e.fatal => self.counts.capture_error(e),
            Err(_) => {}
        }
    }
}

/// Decode and aggregate every record of one chunk.
fn process_chunk(
    bytes: &[u8],
    base: u64,
    state: ReaderState,
    records_before: u64,
    depth: Depth,
    tau: u64,
) -> ChunkWork {
    let mut work = ChunkWork::new(depth, tau);
    let mut reader = RecordReader::resume(bytes, base, state, records_before);
    while let Some(item) = reader.next() {
        let fatal = matches!(&item, Err(e) if e.fatal);
        work.item(&item);
        if fatal {
            // The walk cut this chunk at intact framing, so this cannot happen; stop
            // rather than loop on the same error.
            break;
        }
    }
    work.agg.compact_source_log();
    work
}

/// Why a walk stopped before the end of its input.
#[derive(Debug)]
pub enum Stop {
    /// Damaged or unrecognised capture framing.
    Capture(CaptureError),
    /// Reading the input failed.
    Io {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// The error.
        error: std::io::Error,
    },
}

impl From<CaptureError> for Stop {
    fn from(e: CaptureError) -> Self {
        Stop::Capture(e)
    }
}

/// How one scan step of the walker ended.
enum Scan {
    /// Reached a chunk boundary at a record start.
    Cut,
    /// Ran out of available bytes at a record boundary.
    EndOfData,
    /// Framing error (possibly only "need more bytes" on a stream).
    Fatal(CaptureError),
}

fn is_truncation(e: &CaptureError) -> bool {
    matches!(e.kind, CaptureErrorKind::Truncated { .. })
}

/// Walk `feed`, cutting it into chunk jobs passed to `emit`; returns the format, the walk
/// position reached, and the framing error that stopped it, if any.
///
/// `visit` sees every record (and skipped-record error) exactly once, in file order, as the
/// walk passes it; `emit` receives each chunk after its last record was visited.
///
/// With `keep_bytes == false` (the one-pass mode, where `visit` does the work) jobs carry no
/// bytes and a stream drops what was walked, so memory stays at one read block.
fn walk<'m, F: Feed<'m>>(
    feed: &mut F,
    chunk_bytes: u64,
    keep_bytes: bool,
    progress: &dyn Fn(u64),
    mut visit: impl FnMut(&Result<Record<'_>, CaptureError>),
    mut emit: impl FnMut(Job<'m>),
) -> Result<(CaptureFormat, Option<Stop>), Stop> {
    // Open: make sure the file header (and a little more) is available.
    let opened = loop {
        let avail = feed.available(0);
        let have = avail.len() as u64;
        match RecordReader::open(avail) {
            Ok(r) => break r.format(),
            Err(e) if have < 64 => match feed.more() {
                Ok(true) => {}
                Ok(false) => return Err(Stop::Capture(e)),
                Err(error) => {
                    return Err(Stop::Io {
                        offset: have,
                        error,
                    })
                }
            },
            Err(e) => return Err(Stop::Capture(e)),
        }
    };
    let (mut state, mut pos) = {
        let r = RecordReader::open(feed.available(0))?;
        (r.state().clone(), r.offset())
    };
    let mut records = 0u64;
    let mut chunk_start = pos;
    let mut chunk_state = state.clone();
    let mut chunk_records = 0u64;
    let mut boundary = (pos / chunk_bytes + 1) * chunk_bytes;
    // The feed said it has no more bytes: the available ones end where the input ends.
    let mut exhausted = false;
    feed.will_need(0, boundary);
    loop {
        let (scan, new_pos, new_state, new_records) = {
            let mut r = RecordReader::resume(feed.available(pos), pos, state.clone(), records);
            r.more_may_follow(!exhausted);
            let scan = loop {
                let at = r.offset();
                if at >= boundary && at > chunk_start {
                    break Scan::Cut;
                }
                match r.next() {
                    None => break Scan::EndOfData,
                    Some(Err(e)) if e.fatal => break Scan::Fatal(e),
                    Some(item) => visit(&item),
                }
            };
            (scan, r.offset(), r.state().clone(), r.records())
        };
        pos = new_pos;
        state = new_state;
        records = new_records;
        match scan {
            Scan::Cut => {
                progress(pos);
                emit(Job {
                    bytes: take(feed, keep_bytes, chunk_start, pos),
                    base: chunk_start,
                    state: std::mem::replace(&mut chunk_state, state.clone()),
                    records_before: chunk_records,
                });
                chunk_start = pos;
                chunk_records = records;
                boundary = (pos / chunk_bytes + 1) * chunk_bytes;
                feed.will_need(pos, boundary - pos);
            }
            Scan::EndOfData | Scan::Fatal(_) => {
                if !keep_bytes {
                    feed.release(pos);
                }
                let stop = match scan {
                    Scan::Fatal(e) if !is_truncation(&e) => Some(Stop::Capture(e)),
                    // Out of bytes: a stream may have more; a map or a finished stream
                    // does not, and a read error is reported as such.
                    _ => match feed.more() {
                        Ok(true) => continue,
                        // Read the rest once more as the whole input: a record with an
                        // odd header may have waited for bytes after it that never come.
                        Ok(false) if matches!(scan, Scan::Fatal(_)) && !exhausted => {
                            exhausted = true;
                            continue;
                        }
                        Ok(false) => match scan {
                            Scan::Fatal(e) => Some(Stop::Capture(e)),
                            _ => None,
                        },
                        Err(error) => Some(Stop::Io { offset: pos, error }),
                    },
                };
                if pos > chunk_start {
                    emit(Job {
                        bytes: take(feed, keep_bytes, chunk_start, pos),
                        base: chunk_start,
                        state: chunk_state,
                        records_before: chunk_records,
                    });
                }
                progress(pos);
                return Ok((opened, stop));
            }
        }
    }
}

/// The bytes of a finished chunk, or none when the walk already did the work.
fn take<'m, F: Feed<'m>>(feed: &mut F, keep_bytes: bool, from: u64, to: u64) -> Chunk<'m> {
    if keep_bytes {
        feed.take(from, to)
    } else {
        feed.release(to);
        Chunk::Mapped(&[])
    }
}

/// Analyse one input with `threads` workers (1 = everything on this thread) at `depth`.
pub fn analyze_feed<'m, F: Feed<'m>>(
    feed: &mut F,
    threads: usize,
    chunk_bytes: u64,
    depth: Depth,
    progress: &dyn Fn(u64),
) -> InputOutcome {
    let mut agg = Aggregator::new();
    let mut counts = Counts::default();
    let walked = if threads <= 1 {
        // One pass: decode each record as the walk reaches it (a second pass over the
        // chunk would wait on memory a second time). Chunk boundaries, and so results,
        // are the same as with workers.
        let work = std::cell::RefCell::new(ChunkWork::new(depth, u64::MAX));
        let walked = walk(
            feed,
            chunk_bytes,
            false,
            progress,
            |item| work.borrow_mut().item(item),
            |_job| {
                let done = work.replace(ChunkWork::new(depth, u64::MAX));
                agg.merge(done.agg);
                counts.merge(done.counts);
                // The next chunk's log starts from the threshold merged so far: merging
                // compacts both logs, so it is lower than either log's threshold before
                // (taken before the merge, chunks started a halving or two too high and
                // logged two to four times the entries they kept).
                *work.borrow_mut() = ChunkWork::new(depth, log_tau(&agg));
            },
        );
        walked
    } else {
        run_parallel(
            feed,
            threads,
            chunk_bytes,
            depth,
            progress,
            &mut agg,
            &mut counts,
        )
    };
    let (format, complete) = match walked {
        Ok((format, None)) => (Some(format), true),
        Ok((format, Some(stop))) => {
            counts.stop(&stop);
            (Some(format), false)
        }
        Err(stop) => {
            counts.stop(&stop);
            (None, false)
        }
    };
    let complete = complete && !counts.damaged();
    InputOutcome {
        format,
        counts,
        agg,
        complete,
        flows: None,
    }
}

impl Chunk<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Chunk::Mapped(s) => s,
            Chunk::Owned(v) => v,
        }
    }
}

/// `threads - 1` workers decode chunks from a queue; this thread walks the capture to cut
/// chunks and merges results in file order. When the queue is full it decodes the next
/// chunk itself, in the same pass as the walk, so every core stays busy. Which thread
/// decodes a chunk never changes the result.
fn run_parallel<'m, F: Feed<'m>>(
    feed: &mut F,
    threads: usize,
    chunk_bytes: u64,
    depth: Depth,
    progress: &dyn Fn(u64),
    agg: &mut Aggregator,
    counts: &mut Counts,
) -> Result<(CaptureFormat, Option<Stop>), Stop> {
    let workers = threads.saturating_sub(1).max(1);
    // The source-log threshold merged so far: chunks start from it (see `Depth`).
    let tau = AtomicU64::new(u64::MAX);
    // Two queued chunks per worker keep them fed without holding much memory.
    let queue_depth = workers * 2;
    let work = |job: Job<'m>| {
        let w = process_chunk(
            job.bytes.as_slice(),
            job.base,
            job.state,
            job.records_before,
            depth,
            tau.load(Ordering::Relaxed),
        );
        (w.agg, w.counts)
    };
    std::thread::scope(|scope| {
        let mut pool = OrderedPool::new(scope, workers, queue_depth, &work);
        // Results are delivered strictly in chunk order.
        let mut absorb = |(a, c): (Aggregator, Counts)| {
            agg.merge(a);
            counts.merge(c);
            tau.store(log_tau(agg), Ordering::Relaxed);
        };
        let inline = std::cell::Cell::new(false);
        let here = std::cell::RefCell::new(ChunkWork::new(depth, u64::MAX));
        let walked = walk(
            feed,
            chunk_bytes,
            true,
            progress,
            |item| {
                if inline.get() {
                    here.borrow_mut().item(item);
                }
            },
            |job| {
                if inline.get() {
                    let w = here.replace(ChunkWork::new(depth, tau.load(Ordering::Relaxed)));
                    pool.done_here((w.agg, w.counts), &mut absorb);
                } else {
                    // The queue has room (checked below), so this does not block for long.
                    pool.submit(job);
                }
                pool.poll(&mut absorb);
                inline.set(pool.is_full());
            },
        );
        pool.finish(&mut absorb);
        walked
    })
}

/// What decoding one slot of a mapped classic pcap produced.
struct SlotResult {
    /// Where decoding started (the slot's first record, or a guess at it).
    start: u64,
    /// Offset of the first record at or after the slot's end (where the next slot starts),
    /// or where reading stopped.
    end: u64,
    work: ChunkWork,
    /// A framing error that stopped reading.
    stop: Option<CaptureError>,
}

/// Decode the records of `map` that start in `[start, boundary)`, numbering them after
/// `records_before`.
fn decode_range(
    map: &[u8],
    start: u64,
    boundary: u64,
    state: &ReaderState,
    records_before: u64,
    depth: Depth,
    tau: u64,
) -> SlotResult {
    let mut work = ChunkWork::new(depth, tau);
    let mut reader = RecordReader::resume(
        map.get(start as usize..).unwrap_or(&[]),
        start,
        state.clone(),
        records_before,
    );
    // Without `more`, the whole rest of the file is in the buffer: always `Done`.
    let stop = match decode_until(&mut reader, boundary, &mut work, false) {
        Until::Done(stop) => stop,
        Until::NeedMore => None,
    };
    work.agg.compact_source_log();
    SlotResult {
        start,
        end: reader.offset(),
        work,
        stop,
    }
}

/// How decoding the records of one buffer ended ([`decode_until`]).
enum Until {
    /// The boundary, the end of the file or damaged framing (the error) was reached.
    Done(Option<CaptureError>),
    /// The buffer ended before the file does (cleanly or inside a record).
    NeedMore,
}

/// Decode the records of `reader` that start before `boundary` into `work`. `more`: the
/// reader's buffer ends before the file does, so running out of bytes asks for more
/// instead of ending the slot or reporting a truncated record.
fn decode_until(
    reader: &mut RecordReader<'_>,
    boundary: u64,
    work: &mut ChunkWork,
    more: bool,
) -> Until {
    loop {
        if reader.offset() >= boundary {
            return Until::Done(None);
        }
        match reader.next() {
            None if more => return Until::NeedMore,
            None => return Until::Done(None),
            Some(Err(e)) if e.fatal => {
                return if more && is_truncation(&e) {
                    Until::NeedMore
                } else {
                    Until::Done(Some(e))
                };
            }
            Some(item) => work.item(&item),
        }
    }
}

/// Bytes a slot worker reads at a time: the records are decoded while the block is still
/// in the L2 cache (as the one-thread path with `--read-files` does, see `StreamFeed`).
const SLOT_BLOCK: usize = 256 << 10;

/// A record longer than this left at the end of a block sends the slot back to the
/// mapped path (a damaged length, most likely).
const SLOT_CARRY_MAX: usize = 8 << 20;

/// [`decode_range`] reading the file with `pread` in [`SLOT_BLOCK`]s into `buf` (reused
/// across slots) instead of touching the mapping: no page faults, no page-table teardown
/// at exit, and each block decoded while cache-hot. `None` when reading fails or a record
/// runs past [`SLOT_CARRY_MAX`]: the caller decodes the slot from the mapping instead.
#[allow(clippy::too_many_arguments)]
fn decode_range_read(
    file: &std::fs::File,
    file_len: u64,
    start: u64,
    boundary: u64,
    state: &ReaderState,
    depth: Depth,
    tau: u64,
    buf: &mut Vec<u8>,
) -> Option<SlotResult> {
    use std::os::unix::fs::FileExt;
    let mut work = ChunkWork::new(depth, tau);
    let mut base = start; // file offset of buf[0]
    let mut filled = 0usize;
    let mut at = 0usize;
    let mut records = 0u64;
    loop {
        // Keep the unread tail (a record cut by the block's end) and read the next block.
        buf.copy_within(at..filled, 0);
        filled -= at;
        base += at as u64;
        if filled > SLOT_CARRY_MAX {
            return None;
        }
        let want = filled + SLOT_BLOCK;
        if buf.len() < want {
            buf.resize(want, 0);
        }
        while filled < want {
            match file.read_at(&mut buf[filled..want], base + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        let eof = base + filled as u64 >= file_len;
        let mut reader = RecordReader::resume(&buf[..filled], base, state.clone(), records);
        reader.more_may_follow(!eof);
        let until = decode_until(&mut reader, boundary, &mut work, !eof);
        at = reader.pos();
        records = reader.records();
        if let Until::Done(stop) = until {
            work.agg.compact_source_log();
            return Some(SlotResult {
                start,
                end: reader.offset(),
                work,
                stop,
            });
        }
    }
}

/// Most slots decoded ahead of the merge: bounds the chunk aggregators held at once.
const SLOTS_AHEAD_PER_THREAD: u64 = 2;

/// Decode a mapped classic pcap with `threads` workers that each walk and decode their own
/// slots of the file, instead of one thread walking every record to cut chunks for the
/// others (which kept two threads at 1.36 × one).
///
/// Slot `j` holds the records that start in `[f(j), f(j + 1))`, where `f(m)` is the first
/// record at or after byte `m × chunk_bytes`: exactly the chunks the serial walk cuts
/// (empty slots, inside one long record, are skipped), so results are identical to it. A
/// worker finds `f(j)` by [`floodtrace_wire::capture::pcap_resync`], a guess; slots are
/// merged in order, and a slot is accepted only when its start equals where the previous
/// slot's walk ended. A slot that guessed wrong, could not guess, met any error (whose
/// record numbers need the records before it) or a framing stop is decoded again on this
/// thread from the right offset with the right record count: damaged files cost speed,
/// never correctness.
///
/// Workers decode their slots from the map, or with `read_from` (`--read-files`) read
/// them from that handle with `pread` ([`decode_range_read`]); which is faster depends
/// on the machine (docs/BENCH.md, eleventh session).
pub fn analyze_mapped_pcap(
    map: &[u8],
    read_from: Option<&std::fs::File>,
    threads: usize,
    chunk_bytes: u64,
    depth: Depth,
    progress: &dyn Fn(u64),
) -> Option<InputOutcome> {
    let reader = RecordReader::open(map).ok()?;
    if reader.format() != CaptureFormat::Pcap {
        return None;
    }
    let state = reader.state().clone();
    let data_start = reader.offset();
    let len = map.len() as u64;
    let slots = len.div_ceil(chunk_bytes).max(1);
    let next_slot = AtomicU64::new(0);
    let merged_upto = AtomicU64::new(0);
    let tau = AtomicU64::new(u64::MAX);
    let window = SLOTS_AHEAD_PER_THREAD * threads as u64;
    let mut agg = Aggregator::new();
    let mut counts = Counts::default();
    let mut stopped: Option<CaptureError> = None;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(u64, Option<SlotResult>)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let (next_slot, merged_upto, tau, state) = (&next_slot, &merged_upto, &tau, &state);
            scope.spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let j = next_slot.fetch_add(1, Ordering::Relaxed);
                    if j >= slots {
                        return;
                    }
                    while j > merged_upto.load(Ordering::Acquire) + window {
                        std::thread::sleep(std::time::Duration::from_micros(200));
                    }
                    let from = j * chunk_bytes;
                    let start = if j == 0 {
                        Some(data_start)
                    } else {
                        floodtrace_wire::capture::pcap_resync(
                            map,
                            state,
                            from as usize,
                            16,
                            4 << 20,
                        )
                        .map(|s| s as u64)
                    };
                    let result = start.map(|s| {
                        let (end, t) = ((j + 1) * chunk_bytes, tau.load(Ordering::Relaxed));
                        read_from
                            .and_then(|f| {
                                decode_range_read(f, len, s, end, state, depth, t, &mut buf)
                            })
                            .unwrap_or_else(|| decode_range(map, s, end, state, 0, depth, t))
                    });
                    if tx.send((j, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut order = InOrder::default();
        let mut expected_start = data_start;
        for (j, r) in rx.iter() {
            for (next, r) in order.push(j, r) {
                if stopped.is_none() {
                    let accepted = r.filter(|r| {
                        r.start == expected_start
                            && r.stop.is_none()
                            && r.work.counts.errors.is_empty()
                    });
                    let r = accepted.unwrap_or_else(|| {
                        decode_range(
                            map,
                            expected_start,
                            (next + 1) * chunk_bytes,
                            &state,
                            counts.records,
                            depth,
                            tau.load(Ordering::Relaxed),
                        )
                    });
                    expected_start = r.end;
                    if r.work.counts.records > 0 || !r.work.counts.errors.is_empty() {
                        agg.merge(r.work.agg);
                        counts.merge(r.work.counts);
                    }
                    tau.store(log_tau(&agg), Ordering::Relaxed);
                    stopped = r.stop;
                    if stopped.is_some() {
                        // Reading ends at damaged framing, as the serial walk does: no
                        // worker starts another slot.
                        next_slot.store(slots, Ordering::Relaxed);
                    }
                    progress(expected_start);
                }
                merged_upto.store(next + 1, Ordering::Release);
            }
        }
    });
    let stop = stopped.map(Stop::Capture);
    if let Some(s) = &stop {
        counts.stop(s);
    }
    let complete = stop.is_none() && !counts.damaged();
    Some(InputOutcome {
        format: Some(CaptureFormat::Pcap),
        counts,
        agg,
        complete,
        flows: None,
    })
}
