//! Acceptance: spot checks against the figures in ../shared/data/SOURCES.md, with exact
//! values recomputed independently by the test.

use std::collections::HashSet;

use crate::support::{analyze_json, data_file, layout, read_data, u64_at};

/// Exact distinct IPv4 sources of an Ethernet pcap, walked by the test itself.
fn distinct_ipv4_sources(rel: &str) -> usize {
    let bytes = read_data(rel);
    let l = layout(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(l.format, "pcap");
    let link = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(link, 1, "{rel}: expected Ethernet (little-endian header)");
    let mut sources = HashSet::new();
    for b in &l.blocks {
        let frame = &bytes[b.start + 16..b.end];
        if frame.len() >= 34 && frame[12..14] == [0x08, 0x00] {
            sources.insert(<[u8; 4]>::try_from(&frame[26..30]).unwrap());
        }
    }
    sources.len()
}

#[test]
fn stopddos_synflood_spoofed() {
    let rel = "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap";
    let r = analyze_json(&[], &[data_file(rel)]);
    r.expect_code(0);
    let doc = r.json();
    let d = &doc["destinations"][0];
    assert_eq!(d["address"], "10.10.10.10");
    assert_eq!(u64_at(d, "packets"), 37_841);
    let protocols = d["protocols"].as_object().expect("protocols");
    assert_eq!(protocols.len(), 1, "only SYNs: {protocols:?}");
    assert_eq!(protocols["tcp_syn"], 37_841);
    assert_eq!(doc["totals"]["protocols"]["tcp_syn"], 37_841);

    let exact = distinct_ipv4_sources(rel);
    // SOURCES.md: "~37.6k distinct spoofed public source IPs".
    assert!(
        (37_600..37_700).contains(&exact),
        "exact distinct sources {exact}"
    );
    let estimate = u64_at(d, "distinct_sources") as f64;
    let rel_err = (estimate - exact as f64).abs() / exact as f64;
    assert!(
        rel_err <= 0.02,
        "distinct_sources {estimate} vs exact {exact}: {:.2} % off (limit 2 %)",
        rel_err * 100.0
    );
}

#[test]
fn cicddos2019_synflood_victim() {
    let rel = "pcap/ddos/cicddos2019_SynFlood_sample.pcap";
    let r = analyze_json(&[], &[data_file(rel)]);
    r.expect_code(0);
    let doc = r.json();
    assert_eq!(u64_at(&doc["inputs"][0], "packets"), 26_316);
    let d = &doc["destinations"][0];
    assert_eq!(d["address"], "192.168.50.4");
    assert_eq!(d["top_sources"][0]["address"], "172.16.0.5");
    // The victim receives only SYNs (the RSTs go back to the attacker).
    let protocols = d["protocols"].as_object().expect("protocols");
    assert_eq!(protocols.len(), 1, "only SYNs: {protocols:?}");
    assert_eq!(d["protocols"]["tcp_syn"], d["packets"]);
}

/// Four first fragments of this capture carry 16 bytes of a TCP header: cut after the
/// flags byte. tshark (`-o ip.defragment:FALSE`) shows SYN+ACK for frame 627, FIN+URG+ECE
/// for frame 314, and no flags for frames 1 and 940, whose data offsets (4 and 2) it calls
/// bogus; the other 1,248 frames are later fragments.
#[test]
fn ndpi_fragmented_garbage_classes_match_tshark() {
    let rel = "pcap/misc/ndpi_ip_fragmented_garbage.pcap";
    let r = analyze_json(&[], &[data_file(rel)]);
    r.expect_code(0);
    let doc = r.json();
    assert_eq!(
        doc["totals"]["protocols"],
        serde_json::json!({"fragment": 1248, "tcp_other": 3, "tcp_syn_ack": 1})
    );
}
