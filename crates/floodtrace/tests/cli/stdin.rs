//! Acceptance: `cat FILE | floodtrace analyze --format json -` gives the same report as
//! the file path (apart from `inputs[].path`), for pcap and pcapng, with small chunks too.

use serde_json::Value;

use crate::support::{analyze_json, data_file, read_data, run_with_stdin, u64_at, without_paths};

fn from_stdin(extra: &[&str], bytes: &[u8]) -> (Option<i32>, Value) {
    let mut args = vec!["analyze", "--format", "json", "--no-progress"];
    args.extend_from_slice(extra);
    args.push("-");
    let r = run_with_stdin(&args, Some(bytes));
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let doc = r.json();
    (r.code, doc)
}

fn same_as_file(rel: &str, extra: &[&str]) {
    let path = data_file(rel);
    let file = analyze_json(extra, &[&path]);
    file.expect_code(0);
    let file = file.json();
    let (code, piped) = from_stdin(extra, &read_data(rel));
    assert_eq!(code, Some(0), "{rel} {extra:?} from stdin");
    assert_eq!(piped["inputs"][0]["path"], "-");
    assert!(u64_at(&piped["inputs"][0], "packets") > 0, "{rel}: packets");
    assert_eq!(
        without_paths(piped),
        without_paths(file),
        "{rel} {extra:?}: stdin and file reports differ"
    );
}

#[test]
fn pcap_from_stdin_matches_file() {
    // 2.9 MB: more than one 1 MiB stream block.
    same_as_file("pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap", &[]);
    same_as_file(
        "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap",
        &["--chunk-bytes", "65536", "--threads", "3"],
    );
    same_as_file(
        "pcap/ddos/stopddos_amp.UDP.bacnet.IOT.37810.pcapng",
        &["--chunk-bytes", "4096", "--threads", "1"],
    );
}

#[test]
fn pcapng_from_stdin_matches_file() {
    same_as_file("pcap/misc/ndpi_snmp.pcap", &[]);
    same_as_file(
        "pcap/misc/ndpi_snmp.pcap",
        &["--chunk-bytes", "4096", "--threads", "2"],
    );
    same_as_file("pcap/misc/ndpi_gre.pcapng", &["--chunk-bytes", "4096"]);
}

/// A capture cut mid-record reads the same from a pipe as from a file: same counts, same
/// error at the same offset.
#[test]
fn truncated_stream_matches_truncated_file() {
    let rel = "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap";
    let bytes = read_data(rel);
    let tmp = crate::support::TempDir::new("stdin-cut");
    for (cut, extra) in [
        (1_500_001usize, &[][..]),
        (2_000_003, &["--chunk-bytes", "65536", "--threads", "2"][..]),
    ] {
        let path = tmp.write("cut.pcap", &bytes[..cut]);
        let file = analyze_json(extra, &[&path]);
        file.expect_code(3);
        let (code, piped) = from_stdin(extra, &bytes[..cut]);
        assert_eq!(code, Some(3), "cut at {cut} from stdin");
        assert_eq!(
            without_paths(piped),
            without_paths(file.json()),
            "cut at {cut} {extra:?}: stdin and file reports differ"
        );
    }
}
