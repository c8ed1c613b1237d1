//! Acceptance: JSON output of the same input is byte-identical across runs and thread
//! counts (also with small chunks, so that many chunk results are merged).

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{analyze_json, data_file};

const SYNFLOOD: &str = "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap";
const BACNET: &str = "pcap/ddos/stopddos_amp.UDP.bacnet.IOT.37810.pcapng";
const CIC_SYN: &str = "pcap/ddos/cicddos2019_SynFlood_sample.pcap";
const WEBDDOS: &str = "pcap/ddos/cicddos2019_WebDDoS_sample.pcap";
const SNMP_PCAPNG: &str = "pcap/misc/ndpi_snmp.pcap";

/// Runs `inputs` with 1, 2 and 4 threads (and 4 again) at one chunk size; all outputs must
/// be byte-identical. Returns the output.
fn identical_across_threads(label: &str, chunk: Option<&str>, inputs: &[PathBuf]) -> Vec<u8> {
    let mut first: Option<(String, Vec<u8>)> = None;
    for threads in ["1", "2", "4", "4"] {
        let mut extra = vec!["--threads", threads];
        if let Some(c) = chunk {
            extra.extend(["--chunk-bytes", c]);
        }
        let run = analyze_json(&extra, inputs);
        run.expect_code(0);
        let name = format!("{label} {}", extra.join(" "));
        match &first {
            None => first = Some((name, run.stdout)),
            Some((first_name, out)) => assert!(
                *out == run.stdout,
                "output of `{name}` differs from `{first_name}` (first difference at byte {})",
                out.iter()
                    .zip(&run.stdout)
                    .position(|(a, b)| a != b)
                    .unwrap_or(out.len().min(run.stdout.len()))
            ),
        }
    }
    first.expect("ran").1
}

/// The document without the Space-Saving source lists, which may legitimately depend on
/// the chunk size (`--chunk-bytes` help text).
fn without_top_sources(mut v: Value) -> Value {
    for list in ["destinations", "incidents"] {
        if let Some(ds) = v[list].as_array_mut() {
            for d in ds {
                d.as_object_mut().expect("object").remove("top_sources");
            }
        }
    }
    v
}

fn check(label: &str, rels: &[&str], small_chunk: &str) {
    let inputs: Vec<PathBuf> = rels.iter().map(|r| data_file(r)).collect();
    let default = identical_across_threads(label, None, &inputs);
    let small = identical_across_threads(label, Some(small_chunk), &inputs);
    // Across chunk sizes every count must still agree (only top_sources may differ).
    let a: Value = serde_json::from_slice(&default).expect("JSON");
    let b: Value = serde_json::from_slice(&small).expect("JSON");
    assert_eq!(
        without_top_sources(a),
        without_top_sources(b),
        "{label}: default chunks and --chunk-bytes {small_chunk} disagree beyond top_sources"
    );
}

#[test]
fn synflood_pcap_is_deterministic() {
    check("synflood", &[SYNFLOOD], "65536");
}

#[test]
fn bacnet_capture_is_deterministic() {
    check("bacnet", &[BACNET], "65536");
}

#[test]
fn cicddos_syn_is_deterministic() {
    check("cicddos syn", &[CIC_SYN], "65536");
}

/// The only multi-record pcapng in shared/data is small (17 kB): 4096-byte chunks (the
/// smallest accepted) still split it into several.
#[test]
fn pcapng_is_deterministic() {
    check("snmp pcapng", &[SNMP_PCAPNG], "4096");
}

#[test]
fn multi_file_run_is_deterministic() {
    check(
        "multi-file",
        &[SYNFLOOD, CIC_SYN, SNMP_PCAPNG, BACNET, WEBDDOS],
        "65536",
    );
}
