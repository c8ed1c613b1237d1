//! Acceptance: classic pcap records with odd header values (a captured length above the
//! original length, an original length of 0, a timestamp fraction of a second or more)
//! are counted with a packet-level warning when the framing after them is intact, as
//! tshark reads them; a damaged length that only looks like one stays fatal; and the
//! "partial result" line says whether reading stopped or went on past skipped damage.
//!
//! The captures are written here, byte by byte, not by floodtrace's writers.

use serde_json::Value;

use crate::support::{
    analyze_json, run_with_stdin, u64_at, without_paths, Run, TempDir, SMALL_CHUNK_RUNS,
};

/// 2023-11-14T22:13:20Z.
const T: u32 = 1_700_000_000;
const USEC: u32 = 0xa1b2_c3d4;
const NSEC: u32 = 0xa1b2_3c4d;

/// An Ethernet frame carrying IPv4/UDP from 10.0.0.1 to 192.0.2.`host` (42 bytes).
fn frame(host: u8) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];
    f.extend([0x08, 0x00]);
    f.extend([
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 192, 0, 2, host,
    ]);
    f.extend([0x04, 0xd2, 0, 80, 0, 8, 0, 0]);
    f
}

/// One record: seconds, fraction, captured and original length, and the frame (of which
/// `caplen` bytes are stored).
struct Rec {
    sec: u32,
    frac: u32,
    caplen: u32,
    origlen: u32,
    host: u8,
}

fn rec(host: u8) -> Rec {
    Rec {
        sec: T + u32::from(host),
        frac: 250_000,
        caplen: 42,
        origlen: 42,
        host,
    }
}

/// A little-endian classic pcap (Ethernet, snaplen 65535) with `magic`.
fn pcap(magic: u32, recs: &[Rec]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [magic, 0x0004_0002, 0, 0, 65535, 1] {
        b.extend(v.to_le_bytes());
    }
    for r in recs {
        for v in [r.sec, r.frac, r.caplen, r.origlen] {
            b.extend(v.to_le_bytes());
        }
        let mut f = frame(r.host);
        f.resize(r.caplen as usize, 0xee);
        b.extend(f);
    }
    b
}

/// Offset of record `n` (1-based) when every record stores 42 bytes.
fn offset_of(n: u64) -> u64 {
    24 + (n - 1) * (16 + 42)
}

fn analyze(path: &std::path::Path, extra: &[&str]) -> Run {
    analyze_json(extra, &[path])
}

/// The run's one input, after checking the report is the same with several threads and
/// small chunks (the slot walker of a mapped pcap), with a serial walk on threads, and
/// from standard input.
fn input_everywhere(path: &std::path::Path, bytes: &[u8], code: i32) -> (Run, Value) {
    let one = analyze(path, &["--threads", "1"]);
    one.expect_code(code);
    let doc = one.json();
    for extra in SMALL_CHUNK_RUNS {
        let r = analyze(path, extra);
        r.expect_code(code);
        assert_eq!(r.stdout, one.stdout, "{extra:?} differs from --threads 1");
    }
    let piped = run_with_stdin(
        ["analyze", "--format", "json", "--no-progress", "-"],
        Some(bytes),
    );
    piped.expect_code(code);
    assert_eq!(
        without_paths(piped.json()),
        without_paths(doc.clone()),
        "standard input differs from the file"
    );
    let input = doc["inputs"][0].clone();
    (one, input)
}

/// The destination 192.0.2.`host`'s first second, if it is reported.
fn first_second(doc_input_run: &Run, host: u8) -> Option<u64> {
    let doc = doc_input_run.json();
    let addr = format!("192.0.2.{host}");
    doc["destinations"]
        .as_array()?
        .iter()
        .find(|d| d["address"] == addr.as_str())
        .and_then(|d| d["series"][0]["t"].as_u64())
}

#[test]
fn odd_pcap_record_values_are_counted_with_a_warning() {
    let tmp = TempDir::new("odd-records");
    struct Case {
        name: &'static str,
        magic: u32,
        /// Changes record 2 (and maybe 3).
        edit: fn(&mut [Rec]),
        reason: &'static str,
        /// Warnings of that reason.
        count: u64,
        wire_bytes: u64,
        /// Second at which 192.0.2.2's packet is counted.
        second2: u64,
    }
    let t = u64::from(T);
    let cases = [
        Case {
            name: "caplen_gt_origlen",
            magic: USEC,
            edit: |r| r[1].origlen = 20,
            reason: "pcap.caplen_exceeds_len",
            count: 1,
            // max(captured, original), as the pcapng reader counts it.
            wire_bytes: 3 * 42,
            second2: t + 2,
        },
        Case {
            name: "origlen_0",
            magic: USEC,
            edit: |r| r[1].origlen = 0,
            reason: "pcap.caplen_exceeds_len",
            count: 1,
            wire_bytes: 3 * 42,
            second2: t + 2,
        },
        Case {
            name: "two_in_a_row_and_last",
            magic: USEC,
            edit: |r| {
                r[1].origlen = 0;
                r[2].origlen = 1;
            },
            reason: "pcap.caplen_exceeds_len",
            count: 2,
            wire_bytes: 3 * 42,
            second2: t + 2,
        },
        Case {
            name: "usec_1e6",
            magic: USEC,
            // Added as given: one second later.
            edit: |r| r[1].frac = 1_000_000,
            reason: "pcap.ts_fraction",
            count: 1,
            wire_bytes: 3 * 42,
            second2: t + 3,
        },
        Case {
            name: "nsec_1e9",
            magic: NSEC,
            edit: |r| r[1].frac = 1_500_000_000,
            reason: "pcap.ts_fraction",
            count: 1,
            wire_bytes: 3 * 42,
            second2: t + 3,
        },
    ];
    for c in &cases {
        let mut recs = vec![rec(1), rec(2), rec(3)];
        (c.edit)(&mut recs);
        let bytes = pcap(c.magic, &recs);
        let path = tmp.write(&format!("{}.pcap", c.name), &bytes);
        let (run, input) = input_everywhere(&path, &bytes, 0);
        let name = c.name;
        assert_eq!(u64_at(&input, "packets"), 3, "{name}: {input}");
        assert_eq!(u64_at(&input, "bytes"), c.wire_bytes, "{name}: {input}");
        assert_eq!(u64_at(&input, "ip_packets"), 3, "{name}: {input}");
        assert_eq!(u64_at(&input, "undecoded_packets"), 0, "{name}: {input}");
        assert_eq!(input["complete"], true, "{name}: {input}");
        let errors = input["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{name}: {input}");
        let e = &errors[0];
        assert_eq!(e["kind"], "packet", "{name}: {e}");
        assert_eq!(e["reason"], c.reason, "{name}: {e}");
        assert_eq!(e["fatal"], false, "{name}: {e}");
        assert_eq!(u64_at(e, "count"), c.count, "{name}: {e}");
        assert_eq!(u64_at(e, "record"), 2, "{name}: {e}");
        assert_eq!(u64_at(e, "offset"), offset_of(2), "{name}: {e}");
        let message = e["message"].as_str().expect("message");
        assert!(
            message.starts_with("record 2 at offset 0x52: "),
            "{name}: {message}"
        );
        // One line on standard error naming the file, the record, its offset and reason.
        let line = format!(
            "floodtrace: {}: {} record(s) read despite an odd header value ({}), first: {message}",
            path.display(),
            c.count,
            c.reason
        );
        assert!(run.stderr.contains(&line), "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("partial"), "{name}: {}", run.stderr);
        assert_eq!(first_second(&run, 2), Some(c.second2), "{name}");
        assert_eq!(first_second(&run, 3), Some(t + 3), "{name}");
    }
}

/// A bit flip that enlarges a captured length past the original length makes the walk
/// land inside other records: that is damaged framing, named by offset, as before.
#[test]
fn enlarged_caplen_landing_inside_packets_stays_fatal() {
    let tmp = TempDir::new("odd-flip");
    let mut recs: Vec<Rec> = (1..=5).map(rec).collect();
    recs[1].caplen = 42; // stored bytes; the header is flipped below
    let mut bytes = pcap(USEC, &recs);
    // Record 2's captured length 42 (0x2a) becomes 106 (0x6a): bit 6 flipped.
    let at = offset_of(2) as usize + 8;
    assert_eq!(bytes[at], 0x2a);
    bytes[at] ^= 0x40;
    let path = tmp.write("flip.pcap", &bytes);
    let (run, input) = input_everywhere(&path, &bytes, 3);
    assert_eq!(u64_at(&input, "packets"), 1, "{input}");
    assert_eq!(input["complete"], false, "{input}");
    let errors = input["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{input}");
    let e = &errors[0];
    assert_eq!(e["kind"], "capture", "{e}");
    assert_eq!(e["reason"], "pcap.caplen_exceeds_len", "{e}");
    assert_eq!(e["fatal"], true, "{e}");
    assert_eq!(u64_at(e, "offset"), offset_of(2), "{e}");
    assert_eq!(u64_at(e, "record"), 2, "{e}");
    let line = format!(
        "floodtrace: {}: record 2 at offset 0x52: pcap.caplen_exceeds_len is invalid (106)",
        path.display()
    );
    assert!(run.stderr.contains(&line), "{}", run.stderr);
    let partial = format!(
        "floodtrace: {}: partial result: the 1 record before the damage is counted",
        path.display()
    );
    assert!(run.stderr.contains(&partial), "{}", run.stderr);
}

/// pcapng: an enhanced packet block naming an interface that does not exist, between two
/// good ones, is skipped and reading goes on. The partial-result line says so, rather than
/// that the records counted came before the damage.
#[test]
fn partial_result_line_says_reading_went_on_past_a_skipped_block() {
    use crate::pcapng::{block, epb_on};
    let epb = |interface: u32, host: u8| {
        epb_on(
            interface,
            (u64::from(T) + u64::from(host)) * 1_000_000,
            &frame(host),
        )
    };
    let mut shb = Vec::new();
    shb.extend(0x1a2b_3c4du32.to_le_bytes());
    shb.extend([1, 0, 0, 0]);
    shb.extend((-1i64).to_le_bytes());
    let mut bytes = block(0x0a0d_0d0a, &shb);
    bytes.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
    let bad_at = bytes.len() + epb(0, 1).len();
    bytes.extend(epb(0, 1));
    bytes.extend(epb(5, 2));
    bytes.extend(epb(0, 3));
    let tmp = TempDir::new("ng-skip");
    let path = tmp.write("badif.pcapng", &bytes);
    let r = analyze(&path, &[]);
    r.expect_code(3);
    let input = &r.json()["inputs"][0];
    assert_eq!(u64_at(input, "packets"), 2, "{input}");
    let e = &input["errors"][0];
    assert_eq!(e["fatal"], false, "{e}");
    assert_eq!(u64_at(e, "offset"), bad_at as u64, "{e}");
    let shown = path.display();
    let line = format!(
        "floodtrace: {shown}: partial result: 2 records counted, 1 damaged record skipped\n"
    );
    assert!(r.stderr.contains(&line), "{}", r.stderr);
    assert!(!r.stderr.contains("before the damage"), "{}", r.stderr);

    // Cut inside the last block as well: reading stops there, after the skip.
    let cut = &bytes[..bytes.len() - 10];
    let path = tmp.write("badif-cut.pcapng", cut);
    let r = analyze(&path, &[]);
    r.expect_code(3);
    let line = format!(
        "floodtrace: {}: partial result: 1 record counted, 1 damaged record skipped before \
         reading stopped\n",
        path.display()
    );
    assert!(r.stderr.contains(&line), "{}", r.stderr);
}
