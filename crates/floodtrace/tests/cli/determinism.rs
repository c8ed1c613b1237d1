//! Acceptance: JSON output of the same input is byte-identical across runs and thread
//! counts (also with small chunks, so that many chunk results are merged).

use std::path::PathBuf;

use floodtrace_wire::capture::{pcap_file_header, pcap_record_header};
use serde_json::Value;

use crate::support::{analyze_json, data_file, simulate, without_paths, TempDir};

const SYNFLOOD: &str = "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap";
const BACNET: &str = "pcap/ddos/stopddos_amp.UDP.bacnet.IOT.37810.pcapng";
const CIC_SYN: &str = "pcap/ddos/cicddos2019_SynFlood_sample.pcap";
const WEBDDOS: &str = "pcap/ddos/cicddos2019_WebDDoS_sample.pcap";
const SNMP_PCAPNG: &str = "pcap/misc/ndpi_snmp.pcap";

/// Runs `inputs` with 1, 2 and 4 threads (and 4 again), and with 1 and 2 threads reading
/// files instead of mapping them, at one chunk size; all outputs must be byte-identical.
/// Returns the output.
fn identical_across_threads(label: &str, chunk: Option<&str>, inputs: &[PathBuf]) -> Vec<u8> {
    let mut first: Option<(String, Vec<u8>)> = None;
    for threads in [
        &["1"][..],
        &["1", "--read-files"],
        &["2"],
        &["2", "--read-files"],
        &["4"],
        &["4"],
    ] {
        let mut extra = vec!["--threads"];
        extra.extend_from_slice(threads);
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

/// Mirai's HTTP flood and its scanning, cut into many chunks: the fingerprint state kept per
/// epoch (connection packets count only where a request matched) must come out the same
/// for every thread count. An earlier single-thread shortcut, one aggregator for all
/// chunks, counted connection packets a chunk had not yet earned, and this test caught it.
#[test]
fn simulated_http_flood_is_deterministic_in_small_chunks() {
    let dir = TempDir::new("determinism-http-flood");
    simulate("http-flood", None, dir.path());
    let capture = [dir.path().join("capture.pcap")];
    identical_across_threads("http-flood", Some("262144"), &capture);
}

#[test]
fn multi_file_run_is_deterministic() {
    check(
        "multi-file",
        &[SYNFLOOD, CIC_SYN, SNMP_PCAPNG, BACNET, WEBDDOS],
        "65536",
    );
}

/// A classic pcap whose packets carry pcap files (a capture of capture files being
/// copied): the payloads hold chains of well-formed record headers, which a thread that
/// guesses where a chunk's first record starts can take for the real thing. Such guesses
/// must be caught and the chunk read again from the right place: every thread count gives
/// the same document as one thread walking every record.
fn capture_of_captures() -> Vec<u8> {
    let mut out = pcap_file_header(1, 65535, false).to_vec(); // Ethernet
    for i in 0..3000u32 {
        // The payload: 20 inner pcap records of 24 bytes each, timestamps close to ours.
        let mut inner = Vec::new();
        for k in 0..20u32 {
            let ts = u64::from(1_700_000_000 + i / 100) * 1_000_000_000 + u64::from(k) * 1_000_000;
            inner.extend_from_slice(&pcap_record_header(ts, 24, 60, false));
            inner.extend((0..24u8).map(|b| b.wrapping_mul(7) ^ k as u8));
        }
        let ip_len = 20 + 8 + inner.len();
        let mut frame = Vec::new();
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
        let src = 0x0a00_0000u32 + (i % 50);
        let dst = 0xc633_6400u32 + (i % 3);
        let mut ip = vec![
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0,
            0,
            0x40,
            0,
            64,
            17,
            0,
            0,
        ];
        ip.extend_from_slice(&src.to_be_bytes());
        ip.extend_from_slice(&dst.to_be_bytes());
        frame.extend_from_slice(&ip);
        let udp_len = (8 + inner.len()) as u16;
        frame.extend_from_slice(&(40000 + (i % 100) as u16).to_be_bytes());
        frame.extend_from_slice(&445u16.to_be_bytes());
        frame.extend_from_slice(&udp_len.to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&inner);
        let ts =
            u64::from(1_700_000_000 + i / 100) * 1_000_000_000 + u64::from(i % 100) * 10_000_000;
        let len = frame.len() as u32;
        out.extend_from_slice(&pcap_record_header(ts, len, len, false));
        out.extend_from_slice(&frame);
    }
    out
}

#[test]
fn chunk_guesses_fooled_by_records_inside_packets_are_caught() {
    let dir = crate::support::TempDir::new("capture-of-captures");
    let path = dir.write("nested.pcap", &capture_of_captures());
    let inputs = [path];
    for chunk in ["4096", "5000"] {
        let serial = analyze_json(&["--threads", "1", "--chunk-bytes", chunk], &inputs);
        serial.expect_code(0);
        let doc: Value = serde_json::from_slice(&serial.stdout).expect("JSON");
        assert_eq!(doc["totals"]["packets"], 3000);
        for extra in [
            &["--threads", "2"][..],
            &["--threads", "3"][..],
            &["--threads", "2", "--no-speculative-walk"][..],
        ] {
            let mut args = extra.to_vec();
            args.extend(["--chunk-bytes", chunk]);
            let run = analyze_json(&args, &inputs);
            run.expect_code(0);
            assert!(
                run.stdout == serial.stdout,
                "`{}` differs from one thread",
                args.join(" ")
            );
        }
    }
}

/// Runs `file` (whose bytes are `bytes`) with 1 to 4 threads (and 2 threads walking
/// serially) at the default chunk size and at two small ones, and on standard input: one
/// document per chunk size, and the same figures at every chunk size (only Space-Saving
/// source lists may differ). Returns the document at the default chunk size.
fn identical_everywhere(label: &str, file: &std::path::Path, bytes: &[u8]) -> Value {
    let mut docs = Vec::new();
    for chunk in [None, Some("4096"), Some("5000")] {
        let mut first: Option<Vec<u8>> = None;
        for threads in [
            &["1"][..],
            &["2"],
            &["3"],
            &["4"],
            &["2", "--no-speculative-walk"],
            &["1", "--read-files"],
            &["2", "--read-files"],
        ] {
            let mut extra = vec!["--threads"];
            extra.extend_from_slice(threads);
            extra.extend(chunk.iter().flat_map(|c| ["--chunk-bytes", c]));
            let run = analyze_json(&extra, &[file]);
            run.expect_code(0);
            match &first {
                None => first = Some(run.stdout),
                Some(out) => assert!(
                    *out == run.stdout,
                    "{label}: `{}` differs from one thread",
                    extra.join(" ")
                ),
            }
        }
        let out = first.expect("ran");
        let mut args = vec![
            "analyze",
            "--format",
            "json",
            "--no-progress",
            "--threads",
            "3",
        ];
        args.extend(chunk.iter().flat_map(|c| ["--chunk-bytes", c]));
        args.push("-");
        let piped = crate::support::run_with_stdin(&args, Some(bytes));
        piped.expect_code(0);
        let doc: Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(
            without_paths(piped.json()),
            without_paths(doc.clone()),
            "{label}: standard input differs from the file (chunks {chunk:?})"
        );
        docs.push(doc);
    }
    for doc in &docs[1..] {
        assert_eq!(
            without_top_sources(doc.clone()),
            without_top_sources(docs[0].clone()),
            "{label}: chunk sizes disagree beyond top_sources"
        );
    }
    docs.swap_remove(0)
}

/// (reason, count, record) of each of an input's errors.
fn warnings(doc: &Value) -> Vec<(String, u64, u64)> {
    doc["inputs"][0]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "packet", "{e}");
            let n = |k: &str| e[k].as_u64().expect("integer");
            (
                e["reason"].as_str().unwrap().to_string(),
                n("count"),
                n("record"),
            )
        })
        .collect()
}

/// IP lengths beyond the frame (`ip.length_exceeds_frame`) in a classic pcap cut into
/// about a hundred 4 KiB chunks: counted, capped and named by their first record alike on
/// every thread count, chunk size (slots guessed by several threads included) and stdin.
#[test]
fn ip_length_warnings_are_deterministic() {
    let tmp = TempDir::new("determinism-ip-lengths");
    let liars = crate::lengths::liar_capture(3000);
    let file = tmp.write("liars.pcap", &liars.bytes);
    let doc = identical_everywhere("ip lengths", &file, &liars.bytes);
    assert_eq!(
        warnings(&doc),
        [("ip.length_exceeds_frame".into(), 3300, 2)]
    );
    assert_eq!(doc["destinations"][0]["address"], "10.23.0.1");
    assert_eq!(doc["destinations"][0]["bytes"], 3000 * 42);
}

/// pcapng packet blocks with an original length below the captured one
/// (`pcapng.caplen_exceeds_len`) and times out of range (`pcapng.time_out_of_range`),
/// spread over many chunks: the same document on every thread count, chunk size and stdin.
#[test]
fn pcapng_odd_value_warnings_are_deterministic() {
    use crate::pcapng::{epb_on, epb_orig, idb_ethernet, idb_with, shb, udp_frame};
    const T_US: u64 = 1_700_000_000_000_000;
    let mut bytes = shb();
    bytes.extend(idb_ethernet()); // 0: µs
    bytes.extend(idb_with(6, -2_000_000_000)); // 1: before 1970
    bytes.extend(idb_with(0, 0)); // 2: seconds
    let (mut short, mut out_of_range) = (0, 0);
    let (mut first_short, mut first_out) = (0, 0);
    for i in 0..1500u64 {
        let frame = udp_frame((i % 5) as u8 + 1);
        let block = if i % 11 == 5 {
            out_of_range += 1;
            epb_on(1, T_US + i * 1000, &frame)
        } else if i % 13 == 6 {
            out_of_range += 1;
            epb_on(2, (1 << 40) + i, &frame)
        } else if i % 7 == 3 {
            short += 1;
            epb_orig(0, T_US + i * 1000, &frame, 60)
        } else {
            epb_on(0, T_US + i * 1000, &frame)
        };
        if first_short == 0 && short == 1 {
            first_short = i + 1;
        }
        if first_out == 0 && out_of_range == 1 {
            first_out = i + 1;
        }
        bytes.extend(block);
    }
    let tmp = TempDir::new("determinism-pcapng-odd");
    let file = tmp.write("odd.pcapng", &bytes);
    let doc = identical_everywhere("pcapng odd values", &file, &bytes);
    assert_eq!(
        warnings(&doc),
        [
            ("pcapng.caplen_exceeds_len".into(), short, first_short),
            ("pcapng.time_out_of_range".into(), out_of_range, first_out),
        ]
    );
}
