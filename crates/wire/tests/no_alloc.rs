//! No allocation per packet: with a counting global allocator, reading every record of the
//! fixtures and of the shared captures, and decoding each into an `Observation`, allocates
//! nothing after the reader is opened. The only allowed allocations are the pcapng reader's
//! interface table growing when an Interface Description Block arrives.
//!
//! This is its own test binary because it installs a `#[global_allocator]`. The counter is
//! per thread, so the test harness's own threads do not disturb it.
#![allow(unsafe_code)] // `GlobalAlloc` is an unsafe trait; the impl only forwards to `System`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use floodtrace_wire::capture::RecordReader;
use floodtrace_wire::observe_frame;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the slot may already be gone while the thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; the counter is a
// const-initialised thread-local `Cell`, which does not itself allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What one capture cost.
#[derive(Debug, Default)]
struct Cost {
    records: u64,
    ip: u64,
    /// Allocations inside `RecordReader::next`.
    reader: u64,
    /// Allocations inside `observe_frame`, per call at most one is reported.
    decode: u64,
    /// Interface Description Blocks in the file (pcapng), found by a separate walk.
    idbs: u64,
}

/// pcapng block types, walked without the reader (so its allocations are not counted).
fn count_idbs(bytes: &[u8]) -> u64 {
    if bytes.get(..4) != Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        return 0;
    }
    let (mut pos, mut be, mut n) = (0usize, false, 0);
    while let Some(h) = bytes.get(pos..pos + 12) {
        if h[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            be = h[8..12] != [0x4d, 0x3c, 0x2b, 0x1a];
        }
        let raw = |at: usize| -> u32 {
            let b: [u8; 4] = h[at..at + 4].try_into().unwrap();
            if be {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (ty, len) = (raw(0), raw(4) as usize);
        if len < 12 {
            break;
        }
        n += u64::from(ty == 1);
        pos += len;
    }
    n
}

fn measure(bytes: &[u8]) -> Cost {
    let mut cost = Cost {
        idbs: count_idbs(bytes),
        ..Cost::default()
    };
    let mut reader = RecordReader::open(bytes).expect("open");
    loop {
        let before = allocations();
        let item = reader.next();
        cost.reader += allocations() - before;
        let Some(Ok(rec)) = item else { break };
        cost.records += 1;
        let before = allocations();
        let frame = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len);
        cost.decode += allocations() - before;
        if matches!(frame, Ok(floodtrace_wire::Frame::Ip(_))) {
            cost.ip += 1;
        }
    }
    cost
}

fn check(path: &Path) -> Cost {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cost = measure(&bytes);
    let name = path.display();
    assert!(cost.records > 0, "{name}: no records read");
    assert_eq!(cost.decode, 0, "{name}: observe_frame allocated ({cost:?})");
    assert!(
        cost.reader <= cost.idbs,
        "{name}: the reader allocated more than once per interface block ({cost:?})"
    );
    cost
}

/// The counter itself works (else every other assertion here is vacuous).
#[test]
fn counter_counts() {
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 100]);
    assert!(allocations() > before);
    drop(v);
}

#[test]
fn fixtures_decode_without_allocating() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            (n.ends_with(".pcap") || n.ends_with(".pcapng"))
                && !matches!(&*n, "truncated_mid_record.pcap" | "bad_caplen.pcap")
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 15, "fixtures in {}", dir.display());
    let records: u64 = names.iter().map(|p| check(p).records).sum();
    assert_eq!(records, 110);
}

/// The shared captures next to this checkout (`../shared/data/pcap`, see the repository's
/// `scripts/test`). Missing data is a failure, not a skip.
#[test]
fn shared_captures_decode_without_allocating() {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcap"
    ));
    let synflood = root.join("ddos/stopddos_pkt.TCP.synflood.spoofed.pcap");
    assert!(
        synflood.is_file(),
        "{} is missing: the shared test data (../shared/data next to this checkout) is \
         required by this test",
        synflood.display()
    );
    let cost = check(&synflood);
    assert!(cost.records >= 10_000, "{cost:?}");
    assert!(cost.ip * 10 >= cost.records * 9, "{cost:?}");
    assert_eq!(cost.reader, 0, "classic pcap never allocates ({cost:?})");

    // Every other shared capture too (pcap and pcapng).
    let mut checked = 1;
    for dir in ["ddos", "mirai", "misc"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("shared capture directory") {
            let path = entry.unwrap().path();
            if path != synflood {
                check(&path);
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} shared captures");
}
