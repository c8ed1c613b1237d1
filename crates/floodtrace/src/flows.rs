//! Flow exports as `analyze` inputs: captures of export traffic and raw export datagram
//! files, decoded by `wire::flow` into observations that feed the same aggregator as
//! captured packets.
//!
//! **Recognition.** A capture (pcap / pcapng by its magic) is an *export capture* when a
//! bounded pre-scan of its first [`PRESCAN_BYTES`] finds export datagrams (UDP payloads that
//! `flow::sniff` recognises by content, on any port, fragments reassembled) making up at
//! least half of its UDP datagrams and one in eight of its records. Only then are its flow
//! records — not the carrier packets — aggregated; every other capture takes the packet path
//! unchanged (the pre-scan is the only cost, once per input). A file that is not a capture
//! and starts with a NetFlow v5/v9, IPFIX or sFlow v5 version field is a *raw export file*:
//! datagrams stored back to back, cut by `flow::RawDatagrams`.
//!
//! **Template state** lives in one [`FlowRun`] for the whole `analyze` run, so inputs are
//! decoded in command-line order with the templates of earlier inputs (give template files
//! first). Templates never expire within a run: template and data files of one exporter are
//! often recorded far apart.
//!
//! **Threads.** Export datagrams (a raw file's messages, or a capture's extracted and
//! reassembled UDP payloads) are cut into chunks of about [`FLOW_CHUNK_BYTES`], each decoded
//! into its own aggregator and merged in input order, as packet captures are; the cut
//! depends on the bytes only, so results are identical for any thread count. With several
//! threads, this thread walks the datagrams with `FlowDecoder::learn` (templates and options
//! data only) and hands each chunk to a worker together with a clone of the decoder as it
//! stood at the chunk's start.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};

use floodtrace_engine::aggregate::Aggregator;
use floodtrace_report::model::IncidentReport;
use floodtrace_wire::capture::RecordReader;
use floodtrace_wire::flow::extract::{for_each_export, DefragConfig};
use floodtrace_wire::flow::{
    claimed_protocol, FlowConfig, FlowDecoder, FlowError, FlowErrorKind, FlowEvent, FlowProtocol,
    FlowWarning, RawDatagrams,
};
use floodtrace_wire::link::{self, Payload};
use floodtrace_wire::Observation;

use crate::analyze::{log_tau, Counts, Depth, InputOutcome, Stop};
use crate::pool::OrderedPool;
use crate::sources::file::{map_handle, unmap_in_background, Feed, StreamFeed};
use crate::sources::Input;

/// Bytes of a capture's start that the export pre-scan looks at.
pub const PRESCAN_BYTES: usize = 256 << 10;

/// Exporter address given to datagrams of raw files (which do not say who sent them): all
/// raw files of a run share it, so templates in one file serve data in the next.
pub const RAW_EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// Most distinct sampling rates remembered per destination.
const RATES_PER_DESTINATION: usize = 4;

/// Bytes of export datagrams per chunk (at most; `analyze --chunk-bytes` may ask for less).
/// Far smaller than a packet capture's chunks: a flow file is a few hundred MB where a
/// capture is GBs, and a few dozen chunks keep two or more workers evenly busy.
pub const FLOW_CHUNK_BYTES: u64 = 8 << 20;

/// What kind of flow input a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowInput {
    /// A pcap / pcapng capture of export traffic.
    Capture,
    /// Export datagrams stored back to back.
    Raw,
}

/// Flow figures of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowCounts {
    /// Report format: `pcap+netflow9`, `pcapng+ipfix+sflow`, `raw+netflow5`, …
    pub format: String,
    /// Export datagrams decoded.
    pub datagrams: u64,
    /// Flow records (NetFlow/IPFIX data records, sFlow flow samples) turned into observations.
    pub records: u64,
    /// Templates learned (v9 / IPFIX template and options template records).
    pub templates: u64,
    /// Distinct sampling rates of the records.
    pub rates: BTreeSet<u32>,
}

/// Decoder state shared by every flow input of one run, plus the sampling rates seen per
/// destination (for `incidents[].sampling`).
#[derive(Debug)]
pub struct FlowRun {
    decoder: FlowDecoder,
    dst_rates: RateMap,
    /// Threads for flow inputs (1 unless [`FlowRun::set_threads`] said otherwise).
    threads: usize,
    /// Chunk size for flow inputs.
    chunk_bytes: u64,
}

/// Deviations above the baseline a second needs when sparse samples were spread (see
/// [`FlowRun::detect_config`]).
pub const SAMPLED_DEVIATIONS: f64 = 4.0;

impl Default for FlowRun {
    fn default() -> Self {
        FlowRun::new()
    }
}

impl FlowRun {
    /// A fresh run: no templates, templates never expire.
    pub fn new() -> Self {
        FlowRun {
            decoder: FlowDecoder::new(FlowConfig {
                template_timeout_secs: 0,
                ..FlowConfig::default()
            }),
            dst_rates: RateMap::default(),
            threads: 1,
            chunk_bytes: FLOW_CHUNK_BYTES,
        }
    }

    /// Decode flow inputs on `threads` threads, in chunks of at most `chunk_bytes` (capped
    /// at [`FLOW_CHUNK_BYTES`]). The thread count does not change the results.
    pub fn set_threads(&mut self, threads: usize, chunk_bytes: u64) {
        self.threads = threads.max(1);
        self.chunk_bytes = chunk_bytes.clamp(1, FLOW_CHUNK_BYTES);
    }

    /// State for a live collector: templates expire after the decoder's default timeout
    /// (30 minutes of the exporter's own time), as a collector's should.
    pub fn live() -> Self {
        FlowRun {
            decoder: FlowDecoder::new(FlowConfig::default()),
            dst_rates: RateMap::default(),
            threads: 1,
            chunk_bytes: FLOW_CHUNK_BYTES,
        }
    }

    /// Decode one export datagram into `agg` (records spread like a file's), handing each
    /// decoding error to `on_error` and each warning (an export outside its protocol's
    /// limits, decoded anyway) to `on_warning`; returns the decoder's summary and the
    /// templates learned.
    pub fn decode_into(
        &mut self,
        exporter: IpAddr,
        received_ns: u64,
        datagram: &[u8],
        agg: &mut Aggregator,
        mut on_error: impl FnMut(&FlowError),
        mut on_warning: impl FnMut(&FlowWarning),
    ) -> (floodtrace_wire::flow::DatagramSummary, u32) {
        let rates = &mut self.dst_rates;
        let mut templates = 0;
        let summary = self
            .decoder
            .decode(exporter, received_ns, datagram, &mut |ev| match ev {
                FlowEvent::Record(obs) => {
                    spread(obs, &mut |o| agg.add(o));
                    note_rate(rates, obs.dst, obs.sampling);
                }
                FlowEvent::Template(t) if t.fields > 0 => templates += 1,
                FlowEvent::Error(e) => on_error(&e),
                FlowEvent::Warning(w) => on_warning(&w),
                _ => {}
            });
        (summary, templates)
    }

    /// For a second pass over the inputs (source samples, evidence): when `bytes` is a flow
    /// input, decode it with this run's templates (use a fresh run and the inputs in the
    /// same order as the first pass) and hand every observation, spread exactly as the
    /// first pass added it, to `f`. Returns `false`, doing nothing, for a packet capture.
    pub fn observe_file(&mut self, bytes: &[u8], f: &mut dyn FnMut(&Observation)) -> bool {
        let decoder = &mut self.decoder;
        let mut sink = |ev: FlowEvent| {
            if let FlowEvent::Record(obs) = ev {
                spread(obs, &mut |o| f(o));
            }
        };
        match recognise(bytes) {
            None => return false,
            Some(FlowInput::Raw) => {
                for m in RawDatagrams::new(bytes) {
                    decoder.decode(RAW_EXPORTER, 0, m.data, &mut sink);
                }
            }
            Some(FlowInput::Capture) => {
                let _ = for_each_export(bytes, DefragConfig::default(), &mut |p| {
                    decoder.decode(p.exporter, p.ts_ns, p.payload, &mut sink);
                });
            }
        }
        true
    }

    /// The detection settings for this run: `cfg`, except that when records sampled 1 in
    /// [`SPREAD_MIN_SAMPLING`] or sparser were spread over seconds, a second needs only
    /// [`SAMPLED_DEVIATIONS`] mean absolute deviations above its baseline instead of 6.
    /// The spread makes the series smooth but slows its ramps, and the sampling noise
    /// inflates the learned deviation; 6 deviations then miss floods of a few hundred
    /// estimated packets per second (measured on the x-outage exports at 1:100).
    pub fn detect_config(
        &self,
        cfg: &floodtrace_engine::detect::DetectConfig,
    ) -> floodtrace_engine::detect::DetectConfig {
        let mut cfg = cfg.clone();
        let sparse = self
            .dst_rates
            .values()
            .any(|r| r.iter().any(|x| *x >= SPREAD_MIN_SAMPLING));
        if sparse {
            cfg.deviations = cfg.deviations.min(SAMPLED_DEVIATIONS);
        }
        cfg
    }

    /// Whether any flow record was seen.
    pub fn any(&self) -> bool {
        !self.dst_rates.is_empty()
    }

    /// Sampling rates of the records sent to addresses inside `net/len`.
    fn rates_in(&self, net: IpAddr, len: u8) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        let mut add = |r: &[u32; RATES_PER_DESTINATION]| {
            out.extend(r.iter().copied().filter(|x| *x > 0));
        };
        if is_host(net, len) {
            if let Some(r) = self.dst_rates.get(&net) {
                add(r);
            }
        } else {
            for (a, r) in &self.dst_rates {
                if in_prefix(*a, net, len) {
                    add(r);
                }
            }
        }
        out
    }
}

/// Sampling rates per destination, with a cheap multiplicative hash (one lookup per flow
/// record: SipHash was a tenth of the flow path's time).
type RateMap = HashMap<IpAddr, [u32; RATES_PER_DESTINATION], BuildHasherDefault<MixHasher>>;

/// A fast, non-cryptographic hasher for addresses (keys are not attacker-chosen in a way
/// that matters here: the map only grows with destinations, as the aggregator does).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let z = self.0 ^ (self.0 >> 31);
        z.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
}

/// Remember `rate` for `dst` (at most [`RATES_PER_DESTINATION`] rates each).
fn note_rate(map: &mut RateMap, dst: IpAddr, rate: u32) {
    let slots = map.entry(dst).or_default();
    if slots.contains(&rate) {
        return;
    }
    if let Some(s) = slots.iter_mut().find(|s| **s == 0) {
        *s = rate;
    }
}

/// Add the rates of a later part of the input: per destination, the first
/// [`RATES_PER_DESTINATION`] distinct rates in order of appearance, as one map noting all
/// records in order would hold.
fn merge_rates(into: &mut RateMap, later: &RateMap) {
    for (dst, slots) in later {
        for rate in slots.iter().copied().filter(|r| *r != 0) {
            note_rate(into, *dst, rate);
        }
    }
}

/// Records sampled 1 in [`SPREAD_MIN_SAMPLING`] or sparser are spread over
/// [`SPREAD_SECONDS`] seconds.
pub const SPREAD_MIN_SAMPLING: u32 = 10;

/// Seconds a sparsely sampled record is spread over: from 4 s before its time to 5 s after.
pub const SPREAD_SECONDS: u64 = 10;

/// Hand `obs` to `add`, spread evenly over [`SPREAD_SECONDS`] seconds around its time when
/// it stands for a sparse sample (rate ≥ [`SPREAD_MIN_SAMPLING`]).
///
/// One sampled packet at 1:100 stands for 100 packets *somewhere around* its time, not for
/// 100 packets in that very second: counted in one second, a steady 2 samples per second
/// look like a train of 0 / 100 / 200 / 300 pps spikes, and every isolated sample to a quiet
/// address like a 100 pps burst. Spread, the per-second series is a moving estimate whose
/// relative error shrinks with the window, totals are unchanged, and wave edges move by at
/// most a few seconds.
#[inline]
pub fn spread(obs: &Observation, add: &mut impl FnMut(&Observation)) {
    let w = SPREAD_SECONDS;
    if obs.sampling < SPREAD_MIN_SAMPLING || obs.packets < w {
        add(obs);
        return;
    }
    let (p, pr) = (obs.packets / w, obs.packets % w);
    let (b, br) = (obs.bytes / w, obs.bytes % w);
    let first = obs.ts_ns.saturating_sub(4_000_000_000);
    let mut o = *obs;
    for i in 0..w {
        o.ts_ns = first + i * 1_000_000_000;
        o.packets = p + u64::from(i < pr);
        o.bytes = b + u64::from(i < br);
        add(&o);
    }
}

/// Is `head` (the first bytes of an input) flow telemetry, and of which kind?
pub fn recognise(head: &[u8]) -> Option<FlowInput> {
    if RecordReader::open(head).is_ok() {
        let scan = &head[..head.len().min(PRESCAN_BYTES)];
        let stats = for_each_export(scan, DefragConfig::default(), &mut |_| {}).ok()?;
        let exports = stats.exports + stats.damaged_exports;
        let export = stats.exports > 0 && exports * 2 >= stats.udp && exports * 8 >= stats.records;
        return export.then_some(FlowInput::Capture);
    }
    let raw = match claimed_protocol(head) {
        Some(FlowProtocol::SflowV5) => head.len() >= 28,
        Some(_) => head.len() >= 16,
        None => false,
    };
    raw.then_some(FlowInput::Raw)
}

/// Counts and aggregates of one flow input (or one chunk of it) while it is decoded.
struct Sink {
    agg: Aggregator,
    counts: Counts,
    flows: FlowCounts,
    protocols: BTreeSet<FlowProtocol>,
    /// Sampling rates per destination, in order of first appearance (merged into the run's).
    dst_rates: RateMap,
    /// (destination, rate) pairs noted lately, direct-mapped by destination: most records
    /// repeat a pair already noted, and this skips the map lookup for them.
    recent: Box<[(IpAddr, u32); RECENT_RATES]>,
}

/// Slots of [`Sink::recent`] (a power of two).
const RECENT_RATES: usize = 512;

/// The [`Sink::recent`] slot of `dst`.
#[inline]
fn recent_slot(dst: IpAddr) -> usize {
    let x = match dst {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (v as u64) ^ ((v >> 64) as u64)
        }
    };
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 55) as usize & (RECENT_RATES - 1)
}

impl Sink {
    fn new(depth: Depth, tau: u64) -> Self {
        Sink {
            agg: depth.aggregator(tau),
            counts: Counts::default(),
            flows: FlowCounts::default(),
            protocols: BTreeSet::new(),
            dst_rates: RateMap::default(),
            recent: Box::new([(RAW_EXPORTER, 0); RECENT_RATES]),
        }
    }

    /// Add the sink of the part of the input that follows this one's.
    fn merge(&mut self, other: Sink) {
        self.agg.merge(other.agg);
        self.counts.merge(other.counts);
        self.flows.datagrams += other.flows.datagrams;
        self.flows.records += other.flows.records;
        self.flows.templates += other.flows.templates;
        self.flows.rates.extend(other.flows.rates);
        self.protocols.extend(other.protocols);
        merge_rates(&mut self.dst_rates, &other.dst_rates);
    }

    /// Handle one decoder event; `locate` turns a datagram offset into (file offset, record
    /// or datagram number, description of where).
    fn event(&mut self, ev: FlowEvent, locate: &dyn Fn(usize) -> (u64, u64, String)) {
        match ev {
            FlowEvent::Record(obs) => self.record(obs),
            FlowEvent::Template(t) if t.fields > 0 => self.flows.templates += 1,
            FlowEvent::Skipped(s) => {
                // Well-formed, only not decoded: a note, not damage.
                let (offset, number, at) = locate(s.offset);
                self.counts
                    .note("skipped", s.reason(), offset, number, false, || {
                        format!("{at}: {s}")
                    });
            }
            FlowEvent::Warning(w) => {
                // Outside the protocol's limits but decoded whole: a warning, not damage.
                let (offset, number, at) = locate(w.offset);
                self.counts
                    .note("warning", w.reason(), offset, number, false, || {
                        format!("{at}: {w}")
                    });
            }
            FlowEvent::Error(e) => {
                let (offset, number, at) = locate(e.offset);
                self.counts
                    .note(error_kind(&e), e.reason(), offset, number, false, || {
                        format!("{at}: {e}")
                    });
            }
            _ => {}
        }
    }

    #[inline]
    fn record(&mut self, obs: &Observation) {
        spread(obs, &mut |o| self.agg.add(o));
        self.flows.records += 1;
        let slot = &mut self.recent[recent_slot(obs.dst)];
        if *slot != (obs.dst, obs.sampling) {
            *slot = (obs.dst, obs.sampling);
            self.flows.rates.insert(obs.sampling);
            note_rate(&mut self.dst_rates, obs.dst, obs.sampling);
        }
    }
}

/// The error kind reports give a flow decoding error: `packet` for an sFlow sampled packet
/// header that does not decode (like an undecodable packet: counted, but the export itself
/// was read), `flow` for everything wrong with the export.
pub(crate) fn error_kind(e: &FlowError) -> &'static str {
    match e.kind {
        FlowErrorKind::Packet(_) => "packet",
        _ => "flow",
    }
}

/// One export datagram to decode, and where it came from (for error locations).
struct ExportUnit<'a> {
    exporter: IpAddr,
    received_ns: u64,
    /// The datagram: borrowed from the input, or reassembled from IP fragments.
    data: Cow<'a, [u8]>,
    origin: Origin,
}

/// Where an [`ExportUnit`] is in its input.
#[derive(Clone, Copy)]
enum Origin {
    /// A message of a raw export file: its number (from 1) and file offset.
    Raw {
        number: u64,
        offset: usize,
        protocol: Option<FlowProtocol>,
    },
    /// A datagram of an export capture: the capture record that completed it (number from
    /// 1, file offset).
    Capture {
        record: u64,
        offset: u64,
        protocol: FlowProtocol,
    },
}

impl Origin {
    /// Where the byte at datagram offset `at` of this datagram is: (input offset, record or
    /// datagram number, description).
    fn locate(self, at: usize) -> (u64, u64, String) {
        match self {
            Origin::Raw { number, offset, .. } => (
                (offset + at) as u64,
                number,
                format!("datagram {number} at offset {offset:#x}"),
            ),
            Origin::Capture { record, offset, .. } => (
                offset,
                record,
                format!("record {record} at offset {offset:#x}"),
            ),
        }
    }
}

/// Consecutive export datagrams decoded as one unit (see the module docs).
struct ExportChunk<'a> {
    units: Vec<ExportUnit<'a>>,
    /// Input offset reached at the chunk's end (for progress).
    end: u64,
}

/// Cut a raw export file into chunks of whole datagrams of about `chunk_bytes`, handing
/// each to `dispatch` in file order.
fn raw_chunks<'a>(bytes: &'a [u8], chunk_bytes: u64, dispatch: &mut dyn FnMut(ExportChunk<'a>)) {
    let mut all = RawDatagrams::new(bytes).peekable();
    let mut number = 0u64;
    while let Some(start) = all.peek().map(|m| m.offset) {
        let mut units = Vec::new();
        let mut end = start;
        while let Some(m) = all.next_if(|m| ((m.offset - start) as u64) < chunk_bytes) {
            number += 1;
            end = m.offset + m.data.len();
            units.push(ExportUnit {
                exporter: RAW_EXPORTER,
                received_ns: 0,
                data: Cow::Borrowed(m.data),
                origin: Origin::Raw {
                    number,
                    offset: m.offset,
                    protocol: m.protocol.or_else(|| claimed_protocol(m.data)),
                },
            });
        }
        dispatch(ExportChunk {
            units,
            end: end as u64,
        });
    }
}

/// Decode one chunk with `decoder` (in the state the input's earlier datagrams left it).
fn decode_chunk(
    chunk: &ExportChunk<'_>,
    decoder: &mut FlowDecoder,
    depth: Depth,
    tau: u64,
) -> Sink {
    let mut sink = Sink::new(depth, tau);
    for u in &chunk.units {
        sink.flows.datagrams += 1;
        let data: &[u8] = &u.data;
        match u.origin {
            Origin::Raw { protocol, .. } => {
                // A raw file's messages are its records.
                sink.counts.records += 1;
                sink.counts.ip_records += 1;
                sink.counts.wire_bytes += data.len() as u64;
                sink.protocols.extend(protocol);
            }
            Origin::Capture { protocol, .. } => {
                sink.protocols.insert(protocol);
            }
        }
        let locate = |at: usize| u.origin.locate(at);
        decoder.decode(u.exporter, u.received_ns, data, &mut |ev| {
            sink.event(ev, &locate)
        });
    }
    sink.agg.compact_source_log();
    sink
}

/// Decode the chunks `produce` hands over (in input order) into `total`, on `threads`
/// threads, telling `progress` how far the merged chunks reach; returns what `produce`
/// returns.
fn decode_chunks<'a, R>(
    produce: impl FnOnce(&mut dyn FnMut(ExportChunk<'a>)) -> R,
    decoder: &mut FlowDecoder,
    depth: Depth,
    threads: usize,
    total: &mut Sink,
    progress: &dyn Fn(u64),
) -> R {
    if threads <= 1 {
        return produce(&mut |chunk| {
            let part = decode_chunk(&chunk, decoder, depth, log_tau(&total.agg));
            total.merge(part);
            progress(chunk.end);
        });
    }
    // The source-log threshold merged so far, read when a job starts rather than when it
    // is queued: queued jobs would start up to a few halvings too high and log entries
    // that compaction drops again.
    let tau = AtomicU64::new(log_tau(&total.agg));
    // Each job carries a clone of the decoder as it stood at the chunk's start.
    let work = |(chunk, mut decoder): (ExportChunk<'a>, FlowDecoder)| {
        let part = decode_chunk(&chunk, &mut decoder, depth, tau.load(Ordering::Relaxed));
        (chunk.end, part)
    };
    std::thread::scope(|scope| {
        // Two queued chunks per worker keep them fed.
        let mut pool = OrderedPool::new(scope, threads, threads * 2, &work);
        // Results are delivered strictly in input order.
        let absorb = |(end, part): (u64, Sink), total: &mut Sink| {
            total.merge(part);
            tau.store(log_tau(&total.agg), Ordering::Relaxed);
            progress(end);
        };
        let mut first = true;
        let produced = produce(&mut |chunk| {
            let start_state = decoder.clone();
            for u in &chunk.units {
                decoder.learn(u.exporter, u.received_ns, &u.data);
            }
            pool.submit((chunk, start_state));
            if std::mem::take(&mut first) {
                // Wait for the first chunk: its source-log threshold lets the next ones
                // skip logging what they would drop again.
                pool.wait_one(&mut |r| absorb(r, total));
            }
            pool.poll(&mut |r| absorb(r, total));
        });
        pool.finish(&mut |r| absorb(r, total));
        produced
    })
}

/// Where `part` lies inside `whole`, when it is a slice of it.
fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    let off = p.checked_sub(w)?;
    (off + part.len() <= whole.len()).then_some(off)
}

/// Offset of record `number` in `offsets` ((number, offset) pairs, ascending; numbers can
/// skip), 0 when it is not there.
fn record_offset(offsets: &[(u64, u64)], number: u64) -> u64 {
    offsets
        .get(offsets.partition_point(|&(n, _)| n < number))
        .filter(|&&(n, _)| n == number)
        .map_or(0, |&(_, o)| o)
}

/// Decode one flow input (`bytes` is the whole file) with the run's template state.
pub fn analyze_flows<'a>(
    bytes: &'a [u8],
    kind: FlowInput,
    run: &mut FlowRun,
    depth: Depth,
    progress: &dyn Fn(u64),
) -> InputOutcome {
    let mut sink = Sink::new(depth, u64::MAX);
    let (threads, chunk_bytes) = (run.threads, run.chunk_bytes);
    let decoder = &mut run.decoder;
    let mut format = None;
    let mut complete = true;
    let container = match kind {
        FlowInput::Raw => {
            decode_chunks(
                |dispatch| raw_chunks(bytes, chunk_bytes, dispatch),
                decoder,
                depth,
                threads,
                &mut sink,
                progress,
            );
            "raw"
        }
        FlowInput::Capture => {
            // The carrier records: counts, framing errors, and where each record starts
            // (number, offset), ascending. Numbers can skip: damaged records and pcapng
            // custom blocks take one too.
            let mut offsets: Vec<(u64, u64)> = Vec::new();
            match RecordReader::open(bytes) {
                Ok(mut reader) => {
                    format = Some(reader.format());
                    while let Some(item) = reader.next() {
                        match item {
                            Ok(rec) => {
                                let c = &mut sink.counts;
                                c.record(&rec);
                                offsets.push((rec.number, rec.offset));
                                match link::network_layer(rec.link_type, rec.data) {
                                    Ok(n) if matches!(n.payload, Payload::Other(_)) => {
                                        c.non_ip += 1
                                    }
                                    Ok(_) => c.ip_records += 1,
                                    Err(e) => c.packet_error(e, rec.offset, rec.number),
                                }
                            }
                            Err(e) if e.fatal => {
                                sink.counts.stop(&Stop::Capture(e));
                                complete = false;
                                break;
                            }
                            Err(e) => sink.counts.capture_error(&e),
                        }
                    }
                }
                Err(e) => {
                    sink.counts.stop(&Stop::Capture(e));
                    complete = false;
                }
            }
            // Export datagrams, cut into chunks of about `chunk_bytes` of payload.
            let offsets = &offsets;
            let produce = |dispatch: &mut dyn FnMut(ExportChunk<'a>)| {
                let mut units = Vec::new();
                let mut held = 0u64;
                let walked = for_each_export(bytes, DefragConfig::default(), &mut |p| {
                    let offset = record_offset(offsets, p.record);
                    let data = match offset_in(bytes, p.payload) {
                        Some(at) => Cow::Borrowed(&bytes[at..at + p.payload.len()]),
                        None => Cow::Owned(p.payload.to_vec()),
                    };
                    held += data.len() as u64;
                    units.push(ExportUnit {
                        exporter: p.exporter,
                        received_ns: p.ts_ns,
                        data,
                        origin: Origin::Capture {
                            record: p.record,
                            offset,
                            protocol: p.protocol,
                        },
                    });
                    if held >= chunk_bytes {
                        // Where the next record starts.
                        let end = offsets
                            .get(offsets.partition_point(|&(n, _)| n <= p.record))
                            .map_or(bytes.len() as u64, |&(_, o)| o);
                        dispatch(ExportChunk {
                            units: std::mem::take(&mut units),
                            end,
                        });
                        held = 0;
                    }
                });
                if !units.is_empty() {
                    dispatch(ExportChunk {
                        units,
                        end: bytes.len() as u64,
                    });
                }
                walked
            };
            let walked = decode_chunks(produce, decoder, depth, threads, &mut sink, progress);
            if let Ok(stats) = walked {
                if stats.other_ip > 0 {
                    sink.counts
                        .note("packet", "flow.other_traffic", 0, 0, false, || {
                            format!(
                                "{} IP packets of this export capture carry no flow export \
                                 (other UDP, TCP, ICMP, …) and are not analysed: an export \
                                 capture is analysed by its flow records; filter the other \
                                 traffic into its own capture to analyse it as packets",
                                stats.other_ip
                            )
                        });
                }
                if let Some(first) = stats.first_dropped {
                    let offset = record_offset(offsets, first.record);
                    sink.counts.note(
                        "flow",
                        "flow.reassembly",
                        offset,
                        first.record,
                        false,
                        || {
                            format!(
                                "{} fragmented export datagram(s) could not be reassembled; \
                                 the first, IP id {:#x} from {} to {} starting at this record: {}",
                                stats.fragments_dropped,
                                first.id,
                                first.src,
                                first.dst,
                                first.reason.describe()
                            )
                        },
                    );
                }
            }
            progress(bytes.len() as u64);
            format.map_or("unknown", |f| f.name())
        }
    };
    let mut name = container.to_string();
    for p in &sink.protocols {
        name.push('+');
        name.push_str(p.name());
    }
    sink.flows.format = name;
    merge_rates(&mut run.dst_rates, &sink.dst_rates);
    let complete = complete && !sink.counts.damaged();
    InputOutcome {
        format,
        counts: sink.counts,
        agg: sink.agg,
        complete,
        flows: Some(sink.flows),
    }
}

/// Analyse `input` as flow telemetry when [`recognise`] says it is; otherwise hand it back
/// untouched for the packet path (a stream keeps the block read for the check, so nothing
/// is lost).
pub fn analyze_input(
    input: Input,
    run: &mut FlowRun,
    depth: Depth,
    progress: &dyn Fn(u64),
) -> Result<InputOutcome, Input> {
    match input {
        Input::Mapped(Some(map), file) => match recognise(&map[..]) {
            Some(kind) => {
                let outcome = analyze_flows(&map[..], kind, run, depth, progress);
                unmap_in_background(Some(map));
                Ok(outcome)
            }
            None => Err(Input::Mapped(Some(map), file)),
        },
        Input::Mapped(None, _) => Err(input),
        Input::File(mut feed, len, file) => match stream_kind(&mut feed) {
            Some(kind) => {
                // A flow file is decoded from one buffer holding all of it: map it rather
                // than read it into fresh memory (a tenth of the time went to zeroing
                // and copying pages).
                if let Ok(Some(map)) = map_handle(&file, len) {
                    let outcome = analyze_flows(&map[..], kind, run, depth, progress);
                    unmap_in_background(Some(map));
                    return Ok(outcome);
                }
                feed.reserve(usize::try_from(len).unwrap_or(0));
                Ok(analyze_stream(feed, kind, run, depth, progress))
            }
            None => Err(Input::File(feed, len, file)),
        },
        Input::Stream(mut feed) => match stream_kind(&mut feed) {
            Some(kind) => Ok(analyze_stream(feed, kind, run, depth, progress)),
            None => Err(Input::Stream(feed)),
        },
    }
}

/// Read the first block of a stream (kept in the feed) and recognise it.
fn stream_kind(feed: &mut StreamFeed) -> Option<FlowInput> {
    if feed.available(0).is_empty() {
        // A read error is left for the packet path to report.
        feed.more().ok()?;
    }
    recognise(feed.available(0))
}

/// Read the rest of a stream into memory and decode it.
fn analyze_stream(
    mut feed: StreamFeed,
    kind: FlowInput,
    run: &mut FlowRun,
    depth: Depth,
    progress: &dyn Fn(u64),
) -> InputOutcome {
    // Reading is the long part of a pipe; decoding then reports its own progress.
    let error = loop {
        match feed.more() {
            Ok(true) => progress(feed.available(0).len() as u64),
            Ok(false) => break None,
            Err(e) => break Some(e),
        }
    };
    let bytes = feed.available(0);
    let mut outcome = analyze_flows(bytes, kind, run, depth, progress);
    if let Some(error) = error {
        outcome.counts.stop(&Stop::Io {
            offset: bytes.len() as u64,
            error,
        });
        outcome.complete = false;
    }
    outcome
}

/// Is `len` the full length of `net`'s family?
fn is_host(net: IpAddr, len: u8) -> bool {
    match net {
        IpAddr::V4(_) => len >= 32,
        IpAddr::V6(_) => len >= 128,
    }
}

/// Is `a` inside `net/len` (same family)?
fn in_prefix(a: IpAddr, net: IpAddr, len: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// Parse an incident victim: an address or `address/len`.
fn parse_victim(v: &str) -> Option<(IpAddr, u8)> {
    match v.split_once('/') {
        Some((a, l)) => Some((a.parse().ok()?, l.parse().ok()?)),
        None => {
            let a: IpAddr = v.parse().ok()?;
            Some((a, if a.is_ipv4() { 32 } else { 128 }))
        }
    }
}

/// Mark the incidents whose packets were mostly counted from sampled flow records (rate
/// above 1) as `sampled`, with the sampling rates of the records to their victim.
pub fn mark_sampled(reports: &mut [IncidentReport], agg: &Aggregator, run: &FlowRun) {
    if !run.any() {
        return;
    }
    let all = agg.destinations();
    for r in reports {
        let Some((net, len)) = parse_victim(&r.victim) else {
            continue;
        };
        let (from, to) = (r.start_ns / 1_000_000_000, r.end_ns / 1_000_000_000);
        let (mut packets, mut flow) = (0u64, 0u64);
        let mut count = |t: &floodtrace_engine::aggregate::Timeline| {
            for (s, b) in &t.seconds {
                if (from..=to).contains(s) {
                    packets = packets.saturating_add(b.packets);
                    flow = flow.saturating_add(b.flow_packets);
                }
            }
        };
        if is_host(net, len) {
            if let Some(t) = agg.timeline(net) {
                count(t);
            }
        } else {
            for (a, t) in &all {
                if in_prefix(*a, net, len) {
                    count(t);
                }
            }
        }
        // Flow records exported 1:1 are flow data, but not sampled.
        let rates = run.rates_in(net, len);
        if flow > 0 && flow * 2 >= packets && rates.iter().any(|r| *r > 1) {
            r.sampled = true;
            r.sampling = rates.into_iter().collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let a: IpAddr = "203.0.113.77".parse().unwrap();
        assert!(in_prefix(a, "203.0.113.0".parse().unwrap(), 24));
        assert!(!in_prefix(a, "203.0.114.0".parse().unwrap(), 24));
        assert!(in_prefix(a, "0.0.0.0".parse().unwrap(), 0));
        let b: IpAddr = "2001:db8::5".parse().unwrap();
        assert!(in_prefix(b, "2001:db8::".parse().unwrap(), 64));
        assert!(!in_prefix(b, "203.0.113.0".parse().unwrap(), 24));
        assert_eq!(
            parse_victim("203.0.113.0/24"),
            Some(("203.0.113.0".parse().unwrap(), 24))
        );
        assert_eq!(
            parse_victim("2001:db8::1"),
            Some((b.to_string().replace('5', "1").parse().unwrap(), 128))
        );
    }

    #[test]
    fn recognises_raw_and_rejects_text() {
        assert_eq!(
            recognise(&[0, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Some(FlowInput::Raw)
        );
        assert_eq!(recognise(b"This is not a capture at all"), None);
    }

    #[test]
    fn second_pass_sees_the_first_pass_observations() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/flows");
        let tpl = std::fs::read(dir.join("ipfix/logstash_ipfix_test_mikrotik_tpl.dat")).unwrap();
        let data =
            std::fs::read(dir.join("ipfix/logstash_ipfix_test_mikrotik_data258.dat")).unwrap();
        let mut first = FlowRun::new();
        let depth = Depth {
            inspect: true,
            source_log: true,
        };
        let _ = analyze_flows(&tpl, FlowInput::Raw, &mut first, depth, &|_| {});
        let o = analyze_flows(&data, FlowInput::Raw, &mut first, depth, &|_| {});
        let mut second = FlowRun::new();
        let mut packets = 0;
        assert!(second.observe_file(&tpl, &mut |_| {}));
        assert!(second.observe_file(&data, &mut |obs| packets += obs.packets));
        assert_eq!(packets, o.agg.totals().packets);
        assert!(packets > 0);
        assert!(!second.observe_file(b"not flows", &mut |_| {}));
    }

    #[test]
    fn rates_are_bounded() {
        let mut m = RateMap::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for r in [1, 100, 100, 10, 5, 7, 9] {
            note_rate(&mut m, a, r);
        }
        assert_eq!(m[&a], [1, 100, 10, 5]);
    }
}
