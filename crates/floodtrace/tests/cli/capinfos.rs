//! Acceptance: every capture under ../shared/data/pcap is analysed, and its packet count
//! equals `capinfos -c` (table kept in tests/data/capinfos-shared.tsv).

use std::collections::BTreeMap;
use std::process::Command;

use crate::support::{analyze_json, data_file, layout, read_data, shared_captures, u64_at};

const TABLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/capinfos-shared.tsv"
);

/// The kept table: path relative to shared/data → packets.
fn table() -> BTreeMap<String, u64> {
    let text =
        std::fs::read_to_string(TABLE).unwrap_or_else(|e| panic!("cannot read {TABLE}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (path, n) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{TABLE}: no tab in line {l:?}"));
            let n = n
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{TABLE}: bad count in line {l:?}: {e}"));
            (path.to_string(), n)
        })
        .collect()
}

/// The table lists exactly the captures present in shared/data/pcap.
fn checked_table() -> BTreeMap<String, u64> {
    let table = table();
    let present = shared_captures();
    let listed: Vec<&String> = table.keys().collect();
    assert_eq!(
        listed,
        present.iter().collect::<Vec<_>>(),
        "{TABLE} must list exactly the captures under ../shared/data/pcap (regenerate it; \
         the command is in its header)"
    );
    table
}

#[test]
fn every_capture_matches_capinfos_table() {
    let table = checked_table();
    for (rel, &expected) in &table {
        let path = data_file(rel);
        let run = analyze_json(&[], &[&path]);
        run.expect_code(0);
        let doc = run.json();
        let input = &doc["inputs"][0];
        assert_eq!(
            u64_at(input, "packets"),
            expected,
            "{rel}: packets vs capinfos"
        );
        assert_eq!(input["complete"], true, "{rel}: complete");
        assert_eq!(
            input["errors"].as_array().map(Vec::len),
            Some(0),
            "{rel}: errors {}",
            input["errors"]
        );
        assert!(
            input["format"] == "pcap" || input["format"] == "pcapng",
            "{rel}: format {}",
            input["format"]
        );
        // The damage sweep relies on the tests' own framing walker: it must agree with
        // capinfos and floodtrace on every intact capture.
        let own = layout(&read_data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(own.packets(), expected, "{rel}: test walker vs capinfos");
        assert_eq!(own.format, input["format"], "{rel}: format");
        assert_eq!(
            own.wire_bytes(),
            u64_at(input, "bytes"),
            "{rel}: wire bytes"
        );
    }
}

#[test]
fn all_captures_in_one_run() {
    let table = checked_table();
    let paths: Vec<_> = table.keys().map(|rel| data_file(rel)).collect();
    let run = analyze_json(&["--top", "3"], &paths);
    run.expect_code(0);
    let doc = run.json();
    let inputs = doc["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), table.len());
    for ((rel, &expected), (input, path)) in table.iter().zip(inputs.iter().zip(&paths)) {
        assert_eq!(
            input["path"],
            path.to_str().unwrap(),
            "inputs in command-line order"
        );
        assert_eq!(u64_at(input, "packets"), expected, "{rel}");
        assert_eq!(input["complete"], true, "{rel}");
    }
    assert_eq!(
        u64_at(&doc["totals"], "packets"),
        table.values().sum::<u64>(),
        "totals.packets is the sum over inputs"
    );
    assert_eq!(doc["destinations"].as_array().map(Vec::len), Some(3));
}

/// Packet count from `capinfos -c -M FILE`.
fn live_capinfos(path: &std::path::Path) -> u64 {
    let out = Command::new("capinfos")
        .arg("-c")
        .arg("-M")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "capinfos is needed by this test and could not be run ({e}): install it with \
                 `DEBIAN_FRONTEND=noninteractive apt-get install -y tshark` (CI installs it)"
            )
        });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "capinfos -c -M {} failed: {}{}",
        path.display(),
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Number of packets:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no packet count in capinfos output:\n{text}"))
}

#[test]
fn table_matches_live_capinfos() {
    let table = checked_table();
    let stale: Vec<String> = table
        .iter()
        .filter_map(|(rel, &kept)| {
            let live = live_capinfos(&data_file(rel));
            (live != kept).then(|| format!("{rel}: table {kept}, capinfos {live}"))
        })
        .collect();
    assert!(
        stale.is_empty(),
        "{TABLE} is out of date (regenerate it; the command is in its header):\n{}",
        stale.join("\n")
    );
}
