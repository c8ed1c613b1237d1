//! Acceptance: IP bytes never exceed what a frame carried on the wire. A packet whose IPv4
//! total length (IPv6 payload length + 40) is longer than its frame's original length minus
//! the link-layer header is counted with what the frame carried, and warned about
//! (`ip.length_exceeds_frame`); a packet cut by a snaplen keeps its declared length.
//!
//! d2_iplen_gt_wire.pcap of the review (one 56-byte frame declaring 65,535 bytes) reported
//! 65.5 kB IP and a 524.3 kb/s peak; liar.pcap (1,000 of them in a second) a 524.3 Mb/s
//! peak where capinfos measures 448 kb/s on the wire.

use floodtrace_wire::capture::{pcap_file_header, pcap_record_header};
use serde_json::Value;

use crate::support::{
    analyze_json, run_with_stdin, u64_at, without_paths, TempDir, SMALL_CHUNK_RUNS,
};

/// 2023-11-14T22:13:20Z.
const T_NS: u64 = 1_700_000_000_000_000_000;

/// An Ethernet frame carrying IPv4/UDP from 198.51.100.`src` to 10.23.0.`dst` that
/// declares a total length of `total`, with `udp` bytes after the IP header.
pub fn v4_frame(src: u8, dst: u8, total: u16, udp: usize) -> Vec<u8> {
    let mut f = vec![
        0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 8, 0,
    ];
    let [hi, lo] = total.to_be_bytes();
    f.extend_from_slice(&[0x45, 0, hi, lo, 0, 1, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&[198, 51, 100, src, 10, 23, 0, dst]);
    f.extend_from_slice(&[0, 53, 0x04, 0xd2, 0, 18, 0, 0]);
    f.resize(f.len() + udp.saturating_sub(8), b'q');
    f
}

/// An Ethernet frame carrying IPv6/UDP to 2001:db8::2 that declares a payload length of
/// `payload`, with `udp` bytes after the IPv6 header.
fn v6_frame(payload: u16, udp: usize) -> Vec<u8> {
    let mut f = vec![
        0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&payload.to_be_bytes());
    f.extend_from_slice(&[17, 64]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&[0, 53, 0x04, 0xd2, 0, 18, 0, 0]);
    f.resize(f.len() + udp.saturating_sub(8), b'q');
    f
}

/// A microsecond Ethernet pcap, snaplen 65535, of (time, stored bytes, original length).
fn pcap(records: &[(u64, Vec<u8>, u32)]) -> Vec<u8> {
    let mut b = pcap_file_header(1, 65535, false).to_vec();
    for (ts, frame, orig) in records {
        b.extend_from_slice(&pcap_record_header(*ts, frame.len() as u32, *orig, false));
        b.extend_from_slice(frame);
    }
    b
}

/// What [`liar_capture`] holds.
pub struct Liars {
    pub bytes: Vec<u8>,
    /// Offset of the first lying packet (record 2).
    pub first_liar: u64,
}

/// A flood of forged lengths mixed with honest traffic: per round, one honest 60-byte
/// frame to 10.23.0.3, one 56-byte frame declaring 65,535 bytes to 10.23.0.1 (as in
/// liar.pcap), and every tenth round a 1,514-byte frame cut by a snaplen at 54 bytes to
/// 10.23.0.2 and a 72-byte IPv6 frame declaring 1,040 bytes to 2001:db8::2. `rounds`
/// rounds within one second each 1,000.
pub fn liar_capture(rounds: u64) -> Liars {
    let mut recs = Vec::new();
    let mut first_liar = 0;
    for i in 0..rounds {
        let ts = T_NS + (i / 1000) * 1_000_000_000 + (i % 1000) * 1_000_000;
        let mut honest = v4_frame(7, 3, 28, 8);
        honest.resize(60, 0); // Ethernet padding
        recs.push((ts, honest, 60));
        if i == 0 {
            first_liar = 24 + 16 + 60;
        }
        recs.push((ts + 1000, v4_frame((i % 250) as u8, 1, 65535, 22), 56));
        if i % 10 == 0 {
            let cut = v4_frame(9, 2, 1500, 1480);
            recs.push((ts + 2000, cut[..54].to_vec(), 1514));
            recs.push((ts + 3000, v6_frame(1000, 18), 72));
        }
    }
    Liars {
        bytes: pcap(&recs),
        first_liar,
    }
}

fn destination<'a>(doc: &'a Value, address: &str) -> &'a Value {
    doc["destinations"]
        .as_array()
        .expect("destinations")
        .iter()
        .find(|d| d["address"] == address)
        .unwrap_or_else(|| panic!("{address} not reported: {doc}"))
}

#[test]
fn ip_bytes_are_capped_at_what_the_frame_carried_with_a_warning() {
    let tmp = TempDir::new("ip-lengths");
    let Liars { bytes, first_liar } = liar_capture(1000);
    let file = tmp.write("liars.pcap", &bytes);
    let r = analyze_json(&["--threads", "1"], &[&file]);
    r.expect_code(0);
    let doc = r.json();

    let input = &doc["inputs"][0];
    assert_eq!(input["complete"], true, "{input}");
    assert_eq!(u64_at(input, "packets"), 2200);
    assert_eq!(u64_at(input, "ip_packets"), 2200);
    // The wire bytes are the original lengths, as before.
    assert_eq!(u64_at(input, "bytes"), 1000 * (60 + 56) + 100 * (1514 + 72));
    let errors = input["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{input}");
    let e = &errors[0];
    assert_eq!(e["kind"], "packet");
    assert_eq!(e["reason"], "ip.length_exceeds_frame");
    assert_eq!(e["fatal"], false);
    // Every IPv4 liar and every IPv6 one; not the packets cut by a snaplen.
    assert_eq!(u64_at(e, "count"), 1100);
    assert_eq!((u64_at(e, "record"), u64_at(e, "offset")), (2, first_liar));
    let message = format!(
        "record 2 at offset {first_liar:#x}: IPv4 total length 65535 exceeds the 42 bytes its \
         56-byte frame carried after the link-layer header; counted as 42 IP bytes"
    );
    assert_eq!(e["message"], message.as_str());
    let line = format!(
        "floodtrace: {}: warning: 1100 packet(s) declare an IP length beyond their frame, \
         counted with the bytes the frame carried (ip.length_exceeds_frame), first: {message}",
        file.display()
    );
    assert!(r.stderr.contains(&line), "stderr: {}", r.stderr);

    // 1,000 liars in one second: 42 IP bytes each, 336 kb/s (not 65.5 MB and 524 Mb/s).
    let liars = destination(&doc, "10.23.0.1");
    assert_eq!(u64_at(liars, "packets"), 1000);
    assert_eq!(u64_at(liars, "bytes"), 42_000);
    assert_eq!(u64_at(liars, "peak_bps"), 336_000);
    // The size histogram describes the headers as declared: the forged length shows.
    assert_eq!(
        liars["sizes"],
        serde_json::json!([{"key": null, "packets": 1000}])
    );
    // Cut by a snaplen, but 1,514 bytes on the wire: the declared 1,500 count.
    assert_eq!(u64_at(destination(&doc, "10.23.0.2"), "bytes"), 100 * 1500);
    // IPv6: 72 - 14 bytes carried of 1,040 declared.
    assert_eq!(u64_at(destination(&doc, "2001:db8::2"), "bytes"), 100 * 58);
    assert_eq!(u64_at(destination(&doc, "10.23.0.3"), "bytes"), 1000 * 28);
    assert_eq!(
        u64_at(&doc["totals"], "ip_bytes"),
        42_000 + 150_000 + 5_800 + 28_000
    );

    // Any thread count and standard input give the same document; so do small chunks on
    // any thread count (whose Space-Saving source lists may differ from large chunks').
    let other = analyze_json(&["--threads", "2"], &[&file]);
    other.expect_code(0);
    assert!(
        other.stdout == r.stdout,
        "--threads 2 differs from --threads 1"
    );
    let small = analyze_json(&["--threads", "1", "--chunk-bytes", "4096"], &[&file]);
    small.expect_code(0);
    for extra in SMALL_CHUNK_RUNS {
        let other = analyze_json(extra, &[&file]);
        other.expect_code(0);
        assert!(
            other.stdout == small.stdout,
            "{extra:?} differs from one thread"
        );
    }
    assert_eq!(small.json()["inputs"], doc["inputs"]);
    assert_eq!(small.json()["totals"], doc["totals"]);
    let piped = run_with_stdin(
        ["analyze", "--format", "json", "--no-progress", "-"],
        Some(&bytes),
    );
    piped.expect_code(0);
    assert_eq!(without_paths(piped.json()), without_paths(doc));
}

/// The text report's totals and peak (d2_iplen_gt_wire.pcap of the review).
#[test]
fn one_lying_frame_in_the_text_report() {
    let tmp = TempDir::new("ip-lengths-text");
    let bytes = pcap(&[(T_NS, v4_frame(1, 1, 65535, 22), 56)]);
    let file = tmp.write("d2.pcap", &bytes);
    let r = crate::support::run([
        "analyze".as_ref(),
        "--no-progress".as_ref(),
        "--no-detect".as_ref(),
        file.as_os_str(),
    ]);
    r.expect_code(0);
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains(
            "totals    1 packets, 56 B on the wire; 1 IP packets, 42 B IP; 1 destinations"
        ),
        "{out}"
    );
    assert!(out.contains("     336 b/s "), "{out}");
    assert!(
        out.contains(
            "warning packet: 1 × ip.length_exceeds_frame (first: record 1 at offset 0x18: "
        ),
        "{out}"
    );
}
