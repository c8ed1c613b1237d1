//! Properties of the capture readers and frame decoders that must hold for any input:
//!
//! - no byte string makes `fuzzing::frame`, `fuzzing::capture` (or any other fuzz entry
//!   point) panic;
//! - a valid capture cut at any length yields exactly its whole records, then a fatal
//!   `Truncated` error at the start of the cut record (or a clean end at a boundary);
//! - a reader resumed at a record boundary with the state snapshot taken there yields what
//!   the reader that started at the beginning yields;
//! - mutated captures never panic and never make the reader loop.
//!
//! Captures come from the fixtures in `tests/data/` and from a small writer below that
//! emits random records as pcap or pcapng, so these are also emit → read round trips.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use floodtrace_wire::capture::{Record, RecordReader};
use floodtrace_wire::{fuzzing, observe_frame, CaptureError, CaptureErrorKind};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// fixtures and an independent block walker
// ---------------------------------------------------------------------------------------

const FIXTURES: [&str; 15] = [
    "pcap_le_usec_ether.pcap",
    "pcap_be_nsec_ether.pcap",
    "pcap_snaplen_cut.pcap",
    "pcap_vlan_qinq.pcap",
    "pcap_sll.pcap",
    "pcap_sll2.pcap",
    "pcap_raw_ip.pcap",
    "pcap_raw_ipv4.pcap",
    "pcap_raw_ipv6.pcap",
    "pcap_null_le.pcap",
    "pcap_null_be.pcap",
    "pcap_loop_be.pcap",
    "gre_ip_and_eth.pcap",
    "pcapng_multi_if.pcapng",
    "pcapng_be.pcapng",
];

fn fixtures() -> &'static [(&'static str, Vec<u8>)] {
    static ALL: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        FIXTURES
            .iter()
            .map(|name| {
                let path = dir.join(name);
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                (*name, bytes)
            })
            .collect()
    })
}

/// One unit of a capture's framing: the pcap file header, a pcap record, or a pcapng block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    start: usize,
    end: usize,
    /// Carries a packet (pcap record, pcapng EPB / SPB / PB).
    record: bool,
    /// The pcap file header or the first pcapng section header: errors here are record 0.
    file_header: bool,
}

fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    let v: [u8; 4] = b[at..at + 4].try_into().unwrap();
    if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

/// Walk a *valid* capture's framing without the crate's reader.
fn layout(bytes: &[u8]) -> Vec<Block> {
    let mut out = Vec::new();
    let magic = u32_at(bytes, 0, false);
    if magic == 0x0a0d_0d0a {
        let mut pos = 0;
        let mut be = false;
        while pos < bytes.len() {
            let ty = u32_at(bytes, pos, false);
            if ty == 0x0a0d_0d0a {
                be = u32_at(bytes, pos + 8, false) != 0x1a2b_3c4d;
            }
            let ty = u32_at(bytes, pos, be);
            let len = u32_at(bytes, pos + 4, be) as usize;
            out.push(Block {
                start: pos,
                end: pos + len,
                record: matches!(ty, 2 | 3 | 6),
                file_header: pos == 0,
            });
            pos += len;
        }
    } else {
        let be = matches!(magic, 0xd4c3_b2a1 | 0x4d3c_b2a1);
        out.push(Block {
            start: 0,
            end: 24,
            record: false,
            file_header: true,
        });
        let mut pos = 24;
        while pos < bytes.len() {
            let caplen = u32_at(bytes, pos + 8, be) as usize;
            out.push(Block {
                start: pos,
                end: pos + 16 + caplen,
                record: true,
                file_header: false,
            });
            pos += 16 + caplen;
        }
    }
    assert_eq!(
        out.last().map(|b| b.end),
        Some(bytes.len()),
        "layout covers the file"
    );
    out
}

/// Record fields compared between two reads (data by content).
type Key<'a> = (u64, u64, u64, u16, u32, &'a [u8]);

fn key<'a>(r: &Record<'a>) -> Key<'a> {
    (r.offset, r.number, r.ts_ns, r.link_type, r.wire_len, r.data)
}

/// A record's fields with its data copied: offset, number, ts_ns, link type, wire length.
type Owned = (u64, u64, u64, u16, u32, Vec<u8>);

/// Read to the end; a capture error stops the walk and is returned.
fn read_all(reader: &mut RecordReader<'_>) -> (Vec<Owned>, Option<CaptureError>) {
    let mut recs = Vec::new();
    while let Some(item) = reader.next() {
        match item {
            Ok(r) => recs.push((
                r.offset,
                r.number,
                r.ts_ns,
                r.link_type,
                r.wire_len,
                r.data.to_vec(),
            )),
            Err(e) => return (recs, Some(e)),
        }
    }
    (recs, None)
}

// ---------------------------------------------------------------------------------------
// truncation at every length
// ---------------------------------------------------------------------------------------

/// Cut `bytes` (a valid capture) at every length and check what the reader makes of it.
fn check_every_truncation(name: &str, bytes: &[u8]) {
    let blocks = layout(bytes);
    let mut full_reader = RecordReader::open(bytes).expect("open");
    let (full, err) = read_all(&mut full_reader);
    assert_eq!(err, None, "{name}: reads cleanly");
    assert_eq!(
        full.len(),
        blocks.iter().filter(|b| b.record).count(),
        "{name}: record count"
    );
    let is_pcapng = u32_at(bytes, 0, false) == 0x0a0d_0d0a;

    for cut in 0..=bytes.len() {
        let b = &bytes[..cut];
        let whole: Vec<&Block> = blocks.iter().filter(|bl| bl.end <= cut).collect();
        let cut_block = blocks.iter().find(|bl| bl.start < cut && cut < bl.end);
        let mut reader = match RecordReader::open(b) {
            Ok(r) => r,
            Err(e) => {
                assert!(e.fatal, "{name} cut at {cut}: {e}");
                assert_eq!((e.offset, e.record), (0, 0), "{name} cut at {cut}: {e}");
                if cut < 4 {
                    assert!(
                        matches!(e.kind, CaptureErrorKind::Unrecognised { .. }),
                        "{name} cut at {cut}: {e}"
                    );
                } else {
                    assert!(
                        !is_pcapng && cut < 24,
                        "{name} cut at {cut}: open failed: {e}"
                    );
                    assert!(
                        matches!(e.kind, CaptureErrorKind::Truncated { .. }),
                        "{name} cut at {cut}: {e}"
                    );
                }
                continue;
            }
        };
        let (recs, err) = read_all(&mut reader);
        let n_whole = whole.iter().filter(|bl| bl.record).count();
        assert_eq!(
            recs.len(),
            n_whole,
            "{name} cut at {cut}: whole records kept"
        );
        assert_eq!(
            recs[..],
            full[..n_whole],
            "{name} cut at {cut}: same records as uncut"
        );
        match (cut_block, err) {
            (None, None) => {}
            (Some(bl), Some(e)) => {
                assert!(e.fatal, "{name} cut at {cut}: {e}");
                assert!(
                    matches!(e.kind, CaptureErrorKind::Truncated { .. }),
                    "{name} cut at {cut}: {e}"
                );
                assert_eq!(
                    e.offset, bl.start as u64,
                    "{name} cut at {cut}: offset of the cut block"
                );
                // A cut pcap record is the next record; a cut pcapng packet block too, once
                // its type is readable. Other pcapng blocks have no record number.
                let numbered = !is_pcapng || (bl.record && cut >= bl.start + 4);
                let want_record = if bl.file_header || !numbered {
                    0
                } else {
                    n_whole as u64 + 1
                };
                assert_eq!(e.record, want_record, "{name} cut at {cut}: {e}");
                assert_eq!(
                    e.block,
                    is_pcapng && !bl.file_header && want_record == 0,
                    "{name} cut at {cut}: {e}"
                );
                if let CaptureErrorKind::Truncated { need, have, .. } = e.kind {
                    assert!(have < need, "{name} cut at {cut}: {e}");
                }
                // The reader stays at the damage: resuming with more bytes is possible.
                assert_eq!(reader.offset(), bl.start as u64, "{name} cut at {cut}");
            }
            (bl, e) => panic!("{name} cut at {cut}: cut block {bl:?}, error {e:?}"),
        }
    }
}

#[test]
fn fixtures_truncated_at_every_length() {
    for (name, bytes) in fixtures() {
        check_every_truncation(name, bytes);
    }
}

// ---------------------------------------------------------------------------------------
// resuming at record boundaries
// ---------------------------------------------------------------------------------------

/// A state snapshot after each record: (records returned, pos, state, records()).
type Snapshot = (usize, usize, floodtrace_wire::capture::ReaderState, u64);

fn snapshots(bytes: &[u8]) -> (Vec<Key<'_>>, Vec<Snapshot>) {
    let mut reader = RecordReader::open(bytes).expect("open");
    let mut recs = Vec::new();
    let mut snaps = vec![(0, reader.pos(), reader.state().clone(), reader.records())];
    while let Some(item) = reader.next() {
        let rec = item.expect("valid capture");
        recs.push(key(&rec));
        snaps.push((
            recs.len(),
            reader.pos(),
            reader.state().clone(),
            reader.records(),
        ));
    }
    (recs, snaps)
}

fn check_resume_everywhere(name: &str, bytes: &[u8]) {
    let (recs, snaps) = snapshots(bytes);
    for (done, pos, state, before) in snaps {
        assert_eq!(before, done as u64);
        let mut resumed = RecordReader::resume(&bytes[pos..], pos as u64, state, before);
        assert_eq!(resumed.offset(), pos as u64);
        let mut got = Vec::new();
        while let Some(item) = resumed.next() {
            got.push(key(
                &item.unwrap_or_else(|e| panic!("{name} resumed at {pos}: {e}"))
            ));
        }
        assert_eq!(got[..], recs[done..], "{name} resumed at {pos}");
        assert_eq!(resumed.records(), recs.len() as u64);
    }
}

/// Split at the chosen record boundaries and read each chunk with its own reader, as the
/// parallel file source does: every chunk yields exactly its records, then ends cleanly.
fn check_chunked(name: &str, bytes: &[u8], pick: &[bool]) {
    let (recs, snaps) = snapshots(bytes);
    let cuts: Vec<&Snapshot> = snaps
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || pick.get(*i).copied().unwrap_or(false))
        .map(|(_, s)| s)
        .collect();
    let mut got = Vec::new();
    for (i, (_, pos, state, before)) in cuts.iter().enumerate() {
        let end = cuts.get(i + 1).map_or(bytes.len(), |c| c.1);
        let mut reader =
            RecordReader::resume(&bytes[*pos..end], *pos as u64, state.clone(), *before);
        while let Some(item) = reader.next() {
            got.push(key(
                &item.unwrap_or_else(|e| panic!("{name} chunk at {pos}..{end}: {e}"))
            ));
        }
    }
    assert_eq!(got, recs, "{name}: chunked read");
}

#[test]
fn fixtures_resume_at_every_record_boundary() {
    for (name, bytes) in fixtures() {
        check_resume_everywhere(name, bytes);
    }
}

// ---------------------------------------------------------------------------------------
// a capture writer for generated captures
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct GenRecord {
    /// Seconds and sub-second units (µs or ns, per format).
    sec: u32,
    frac: u32,
    /// Extra original length beyond the captured bytes.
    cut: u16,
    data: Vec<u8>,
    /// pcapng: interface, or a Simple Packet Block when `None`.
    iface: Option<u8>,
    /// Classic pcap: 1 = an original length below the captured one, 2 = a timestamp
    /// fraction of a second or more (read with a warning, as tshark reads them).
    odd: u8,
}

#[derive(Debug, Clone)]
enum GenFormat {
    Pcap {
        be: bool,
        nanos: bool,
        link: u16,
    },
    Pcapng {
        be: bool,
        links: Vec<(u16, bool)>,
        extra_blocks: Vec<u8>,
    },
}

/// An expected record: ts_ns, link type, wire length, data.
type Want = (u64, u16, u32, Vec<u8>);

fn put32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn ng_block(out: &mut Vec<u8>, be: bool, ty: u32, body: &[u8]) {
    let len = 12 + body.len().div_ceil(4) * 4;
    put32(out, ty, be);
    put32(out, len as u32, be);
    out.extend_from_slice(body);
    out.resize(out.len() + (len - 12 - body.len()), 0);
    put32(out, len as u32, be);
}

fn write_capture(fmt: &GenFormat, recs: &[GenRecord]) -> (Vec<u8>, Vec<Want>) {
    let mut out = Vec::new();
    let mut want = Vec::new();
    match fmt {
        GenFormat::Pcap { be, nanos, link } => {
            let magic: u32 = if *nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
            put32(&mut out, magic, *be);
            put16(&mut out, 2, *be);
            put16(&mut out, 4, *be);
            put32(&mut out, 0, *be);
            put32(&mut out, 0, *be);
            put32(&mut out, 65535, *be);
            put32(&mut out, *link as u32, *be);
            for r in recs {
                let second: u32 = if *nanos { 1_000_000_000 } else { 1_000_000 };
                let frac = match r.odd {
                    2 => second + r.frac % (u32::MAX - second),
                    _ => r.frac % second,
                };
                let caplen = r.data.len() as u32;
                let orig = match r.odd {
                    1 => caplen.saturating_sub(1 + u32::from(r.cut) % 64),
                    _ => caplen + r.cut as u32,
                };
                put32(&mut out, r.sec, *be);
                put32(&mut out, frac, *be);
                put32(&mut out, caplen, *be);
                put32(&mut out, orig, *be);
                out.extend_from_slice(&r.data);
                let wire = orig.max(caplen);
                let ns = r.sec as u64 * 1_000_000_000
                    + if *nanos {
                        frac as u64
                    } else {
                        frac as u64 * 1000
                    };
                want.push((ns, *link, wire, r.data.clone()));
            }
        }
        GenFormat::Pcapng {
            be,
            links,
            extra_blocks,
        } => {
            let be = *be;
            let mut shb = Vec::new();
            put32(&mut shb, 0x1a2b_3c4d, be);
            put16(&mut shb, 1, be);
            put16(&mut shb, 0, be);
            shb.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
            ng_block(&mut out, be, 0x0a0d_0d0a, &shb);
            for (link, nanos) in links {
                let mut idb = Vec::new();
                put16(&mut idb, *link, be);
                put16(&mut idb, 0, be);
                put32(&mut idb, 0, be); // no snaplen
                if *nanos {
                    put16(&mut idb, 9, be); // if_tsresol
                    put16(&mut idb, 1, be);
                    idb.extend_from_slice(&[9, 0, 0, 0]);
                    put32(&mut idb, 0, be); // opt_endofopt
                }
                ng_block(&mut out, be, 1, &idb);
            }
            // Time of the previous EPB, which dates an SPB (0 before any).
            let mut prev_ns = 0;
            for (i, r) in recs.iter().enumerate() {
                if let Some(&b) = extra_blocks.get(i) {
                    match b % 3 {
                        // Interface statistics for interface 0, an unknown type, a custom-ish
                        // block body of odd length.
                        0 => ng_block(&mut out, be, 5, &[0; 12]),
                        1 => ng_block(&mut out, be, 0xf00d, &[b; 5]),
                        _ => ng_block(&mut out, be, 4, &[0, 0, 0, 0]),
                    }
                }
                let wire = r.data.len() as u32 + r.cut as u32;
                match r.iface {
                    Some(i) => {
                        let ifid = i as usize % links.len();
                        let (link, nanos) = links[ifid];
                        let ns = r.sec as u64 * 1_000_000_000 + (r.frac % 1_000_000_000) as u64;
                        let (units, ns) = if nanos {
                            (ns, ns)
                        } else {
                            (ns / 1000, ns / 1000 * 1000)
                        };
                        let mut body = Vec::new();
                        put32(&mut body, ifid as u32, be);
                        put32(&mut body, (units >> 32) as u32, be);
                        put32(&mut body, units as u32, be);
                        put32(&mut body, r.data.len() as u32, be);
                        put32(&mut body, wire, be);
                        body.extend_from_slice(&r.data);
                        body.resize(body.len().div_ceil(4) * 4, 0);
                        ng_block(&mut out, be, 6, &body);
                        want.push((ns, link, wire, r.data.clone()));
                        prev_ns = ns;
                    }
                    None => {
                        // SPB: the captured length is min(original length, block space).
                        let mut body = Vec::new();
                        put32(&mut body, r.data.len() as u32, be);
                        body.extend_from_slice(&r.data);
                        ng_block(&mut out, be, 3, &body);
                        want.push((prev_ns, links[0].0, r.data.len() as u32, r.data.clone()));
                    }
                }
            }
        }
    }
    (out, want)
}

fn gen_record() -> impl Strategy<Value = GenRecord> {
    (
        1..=u32::MAX, // seconds: never 0, which no real capture has
        any::<u32>(),
        prop_oneof![Just(0u16), any::<u16>()],
        prop::collection::vec(any::<u8>(), 0..160),
        prop::option::weighted(0.85, any::<u8>()),
        prop::sample::select(vec![0u8, 0, 0, 0, 0, 0, 1, 2]),
    )
        .prop_map(|(sec, frac, cut, data, iface, odd)| GenRecord {
            sec,
            frac,
            cut,
            data,
            iface,
            odd,
        })
}

fn gen_format() -> impl Strategy<Value = GenFormat> {
    let link = prop::sample::select(vec![0u16, 1, 101, 113, 228, 229, 276]);
    prop_oneof![
        (any::<bool>(), any::<bool>(), link.clone())
            .prop_map(|(be, nanos, link)| GenFormat::Pcap { be, nanos, link }),
        (
            any::<bool>(),
            prop::collection::vec((link, any::<bool>()), 1..4),
            prop::collection::vec(any::<u8>(), 0..8),
        )
            .prop_map(|(be, links, extra_blocks)| GenFormat::Pcapng {
                be,
                links,
                extra_blocks
            }),
    ]
}

fn gen_capture() -> impl Strategy<Value = (Vec<u8>, Vec<Want>)> {
    (gen_format(), prop::collection::vec(gen_record(), 0..10))
        .prop_map(|(f, r)| write_capture(&f, &r))
}

// ---------------------------------------------------------------------------------------
// mutations
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    /// Set one byte.
    Byte(usize, u8),
    /// Overwrite 4 bytes at a 4-aligned offset with an interesting length-like value.
    Word(usize, u32),
    /// Cut the file.
    Truncate(usize),
    /// Remove a range.
    Delete(usize, usize),
    /// Copy a range to another place (duplicates blocks, shifts framing).
    Splice(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let word = prop::sample::select(vec![
        0u32,
        1,
        4,
        8,
        12,
        16,
        20,
        28,
        32,
        0x7fff_ffff,
        0xffff_fff0,
        u32::MAX,
        0x0a0d_0d0a,
        0x1a2b_3c4d,
        0x4d3c_2b1a,
        1 << 24,
    ]);
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        3 => (any::<usize>(), word).prop_map(|(i, w)| Mutation::Word(i, w)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<usize>(), 0usize..128, any::<usize>()).prop_map(|(i, n, j)| Mutation::Splice(i, n, j)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match *m {
        Mutation::Byte(i, b) => bytes[i % len] = b,
        Mutation::Word(i, w) => {
            let at = (i % len) & !3;
            let end = (at + 4).min(len);
            let src = if i % 2 == 0 {
                w.to_le_bytes()
            } else {
                w.to_be_bytes()
            };
            bytes[at..end].copy_from_slice(&src[..end - at]);
        }
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::Delete(i, n) => {
            let at = i % len;
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Splice(i, n, j) => {
            let at = i % len;
            let piece: Vec<u8> = bytes[at..(at + n).min(len)].to_vec();
            let to = j % (len + 1);
            bytes.splice(to..to, piece);
        }
    }
}

/// Read a damaged capture with a bounded number of steps; every step that is not the end
/// or a fatal error must move the reader forward. Returns the records read.
fn read_bounded(bytes: &[u8]) -> u64 {
    let Ok(mut reader) = RecordReader::open(bytes) else {
        return 0;
    };
    // Each non-fatal step consumes at least a 12-byte block or a 16-byte record header.
    let limit = bytes.len() / 12 + 2;
    let mut n = 0;
    for _ in 0..limit {
        let before = reader.pos();
        match reader.next() {
            None => return n,
            Some(Err(e)) if e.fatal => {
                // Blocks skipped before the damage are consumed; the reader stops at it.
                assert_eq!(reader.offset(), e.offset, "the reader stays at the damage");
                assert_eq!(reader.next(), Some(Err(e)), "a fatal error repeats");
                return n;
            }
            Some(Err(_)) => {}
            Some(Ok(rec)) => {
                n += 1;
                assert!(rec.data.len() <= bytes.len());
                let _ = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len);
            }
        }
        assert!(reader.pos() > before, "reader did not advance at {before}");
    }
    panic!(
        "reader still going after {limit} steps over {} bytes",
        bytes.len()
    );
}

/// Run `f` on another thread and fail if it does not finish in time (an endless loop).
fn within_time(bytes: Vec<u8>, f: fn(&[u8]) -> u64) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let n = f(&bytes);
        let _ = tx.send(n);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(_) => handle.join().expect("reader thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The thread panicked: re-raise its panic so proptest can shrink it.
            if let Err(p) = handle.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("reader did not finish within 20 s"),
    }
}

// ---------------------------------------------------------------------------------------
// property tests
// ---------------------------------------------------------------------------------------

/// Bytes that start like something real: a fixture frame or capture prefix, then noise.
fn realistic_prefix(max_tail: usize) -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..FIXTURES.len(),
        any::<usize>(),
        any::<usize>(),
        prop::collection::vec(any::<u8>(), 0..max_tail),
    )
        .prop_map(|(f, start, keep, tail)| {
            let bytes = &fixtures()[f].1;
            let start = start % bytes.len();
            let keep = keep % (bytes.len() - start + 1);
            let mut v = bytes[start..start + keep].to_vec();
            v.extend_from_slice(&tail);
            v
        })
}

/// Frames taken from the fixtures (whole records), then a few bytes changed.
fn fixture_frame_mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..FIXTURES.len(),
        any::<usize>(),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    )
        .prop_map(|(f, pick, edits)| {
            let bytes = &fixtures()[f].1;
            let mut reader = RecordReader::open(bytes).unwrap();
            let mut frames = Vec::new();
            while let Some(Ok(r)) = reader.next() {
                frames.push(r.data.to_vec());
            }
            let mut frame = frames[pick % frames.len()].clone();
            for (i, b) in edits {
                if !frame.is_empty() {
                    let n = frame.len();
                    frame[i % n] = b;
                }
            }
            frame
        })
}

proptest! {
    // Failures become named unit tests rather than a regressions file.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn frame_never_panics(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::frame(&data);
        fuzzing::ipv4(&data);
        fuzzing::ipv6(&data);
        fuzzing::tcp_options(&data);
    }

    #[test]
    fn frame_near_valid_never_panics(data in fixture_frame_mutated()) {
        fuzzing::frame(&data);
        fuzzing::ipv4(data.get(14..).unwrap_or(&[]));
        fuzzing::ipv6(data.get(14..).unwrap_or(&[]));
    }

    #[test]
    fn capture_never_panics(data in prop::collection::vec(any::<u8>(), 0..1024)) {
        fuzzing::capture(&data);
        fuzzing::resume(&data);
    }

    #[test]
    fn capture_near_valid_never_panics(data in realistic_prefix(512)) {
        fuzzing::capture(&data);
        fuzzing::resume(&data);
    }

    #[test]
    fn tcp_options_never_lose_the_fixed_header(
        offset in any::<u8>(),
        opts in prop::collection::vec(prop_oneof![Just(0u8), Just(1), Just(2), Just(3), Just(4), Just(8), any::<u8>()], 0..44),
    ) {
        let mut data = vec![offset];
        data.extend_from_slice(&opts);
        fuzzing::tcp_options(&data);
    }

    #[test]
    fn generated_capture_round_trips((bytes, want) in gen_capture()) {
        let mut reader = RecordReader::open(&bytes).unwrap();
        let (got, err) = read_all(&mut reader);
        prop_assert_eq!(err, None);
        let got: Vec<Want> = got.into_iter().map(|(_, _, ts, lt, wl, d)| (ts, lt, wl, d)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn generated_capture_truncated_at_every_length((bytes, _) in gen_capture()) {
        check_every_truncation("generated", &bytes);
    }

    #[test]
    fn generated_capture_resumes_at_every_boundary((bytes, _) in gen_capture()) {
        check_resume_everywhere("generated", &bytes);
        fuzzing::resume(&bytes);
    }

    #[test]
    fn chunked_read_matches_sequential(f in 0usize..FIXTURES.len(), pick in prop::collection::vec(any::<bool>(), 0..24)) {
        let (name, bytes) = &fixtures()[f];
        check_chunked(name, bytes, &pick);
    }

    #[test]
    fn generated_chunked_read_matches_sequential((bytes, _) in gen_capture(), pick in prop::collection::vec(any::<bool>(), 0..12)) {
        check_chunked("generated", &bytes, &pick);
    }

    #[test]
    fn mutated_pcapng_never_panics_or_loops(
        which in prop::sample::select(vec!["pcapng_multi_if.pcapng", "pcapng_be.pcapng"]),
        muts in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut bytes = fixtures().iter().find(|(n, _)| *n == which).unwrap().1.clone();
        for m in &muts {
            apply(&mut bytes, m);
        }
        within_time(bytes, read_bounded);
    }

    #[test]
    fn mutated_generated_capture_never_panics_or_loops(
        (bytes, _) in gen_capture(),
        muts in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut bytes = bytes;
        for m in &muts {
            apply(&mut bytes, m);
        }
        within_time(bytes, read_bounded);
    }
}

#[test]
fn mutated_pcap_fixtures_never_panic_or_loop() {
    // Every single-byte change at every offset of two small pcap files, with values that
    // make lengths zero, huge or off by one.
    for name in ["pcap_raw_ipv4.pcap", "pcap_snaplen_cut.pcap"] {
        let bytes = &fixtures().iter().find(|(n, _)| *n == name).unwrap().1;
        for at in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut m = bytes.clone();
                m[at] = v;
                read_bounded(&m);
                fuzzing::capture(&m);
            }
        }
    }
}

/// The shared captures next to this checkout (`../shared/data/pcap`), read in chunks split
/// at every 7th record boundary, and resumed at their first 32 boundaries. Missing data is
/// a failure, not a skip.
#[test]
fn shared_captures_read_in_chunks() {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcap"
    ));
    assert!(
        root.is_dir(),
        "{} is missing: the shared test data (../shared/data next to this checkout) is \
         required by this test",
        root.display()
    );
    let mut checked = 0;
    for dir in ["ddos", "mirai", "misc"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("shared capture directory") {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let name = path.display().to_string();
            let pick: Vec<bool> = (0..200_000).map(|i| i % 7 == 3).collect();
            check_chunked(&name, &bytes, &pick);
            fuzzing::resume(&bytes);
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} shared captures");
}
