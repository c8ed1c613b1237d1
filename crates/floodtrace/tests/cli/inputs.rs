//! Acceptance: unrecognised, empty and missing inputs; `-o FILE`; `--format text`; usage
//! errors.

use crate::support::{analyze_json, data_file, run, u64_at, TempDir};

const XSS: &str = "pcap/misc/ndpi_xss.pcap";
const SYNFLOOD: &str = "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap";

#[test]
fn text_file_is_unrecognised() {
    let tmp = TempDir::new("text");
    let text = tmp.write("notes.txt", b"GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    let good = data_file(XSS);
    let r = analyze_json(&[], &[text.as_path(), good.as_path()]);
    r.expect_code(3);
    // The first bytes in hex ("GET / HTTP/1.1\r\n").
    let hex = "47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a";
    assert!(
        r.stderr.contains(&format!(
            "floodtrace: {}: unrecognised format (first bytes: {hex})",
            text.display()
        )),
        "stderr: {}",
        r.stderr
    );
    let doc = r.json();
    let bad = &doc["inputs"][0];
    assert_eq!(bad["format"], "unknown");
    assert_eq!(bad["complete"], false);
    assert_eq!(u64_at(bad, "packets"), 0);
    let e = &bad["errors"][0];
    assert_eq!(e["fatal"], true, "{e}");
    assert_eq!(u64_at(e, "offset"), 0, "{e}");
    assert!(e["message"].as_str().unwrap().contains(hex), "{e}");
    // The other input is still analysed.
    assert_eq!(doc["inputs"][1]["complete"], true);
    assert_eq!(u64_at(&doc["inputs"][1], "packets"), 11);
    assert_eq!(u64_at(&doc["totals"], "packets"), 11);
}

#[test]
fn empty_file_is_reported_as_empty() {
    let tmp = TempDir::new("empty");
    let empty = tmp.write("empty.pcap", b"");
    let r = analyze_json(&[], &[&empty]);
    r.expect_code(3);
    assert!(
        r.stderr
            .contains(&format!("floodtrace: {}: ", empty.display()))
            && r.stderr.contains("empty input"),
        "stderr: {}",
        r.stderr
    );
    let doc = r.json();
    assert_eq!(doc["inputs"][0]["complete"], false);
    assert_eq!(doc["inputs"][0]["errors"][0]["reason"], "input.empty");
    assert_eq!(doc["inputs"][0]["errors"][0]["fatal"], true);
    assert_eq!(u64_at(&doc["totals"], "packets"), 0);
    assert_eq!(doc["destinations"].as_array().map(Vec::len), Some(0));
}

#[test]
fn missing_file_is_reported_and_others_analysed() {
    let tmp = TempDir::new("missing");
    let missing = tmp.path().join("no-such-capture.pcap");
    let good = data_file(XSS);
    let r = analyze_json(&[], &[good.as_path(), missing.as_path()]);
    r.expect_code(3);
    assert!(
        r.stderr
            .contains(&format!("floodtrace: {}: ", missing.display()))
            && r.stderr.contains("cannot open"),
        "stderr: {}",
        r.stderr
    );
    let doc = r.json();
    assert_eq!(doc["inputs"][0]["complete"], true);
    assert_eq!(u64_at(&doc["inputs"][0], "packets"), 11);
    let m = &doc["inputs"][1];
    assert_eq!(m["path"], missing.to_str().unwrap());
    assert_eq!(m["complete"], false);
    assert_eq!(m["errors"][0]["kind"], "input");
    assert_eq!(m["errors"][0]["fatal"], true);
    assert_eq!(u64_at(&doc["totals"], "packets"), 11);
}

#[test]
fn output_file_option_writes_the_report() {
    let tmp = TempDir::new("out");
    let out = tmp.path().join("report.json");
    let input = data_file(SYNFLOOD);
    let r = run([
        "analyze".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        input.as_os_str(),
    ]);
    r.expect_code(0);
    assert!(r.stdout.is_empty(), "with -o nothing goes to stdout");
    let written = std::fs::read(&out).expect("-o FILE was written");
    let to_stdout = analyze_json(&[], &[&input]);
    to_stdout.expect_code(0);
    assert_eq!(
        written, to_stdout.stdout,
        "-o FILE holds the same report as stdout"
    );

    // An unwritable output is an error (exit 1), not a partial result.
    let bad = tmp.path().join("no-such-dir").join("report.json");
    let r = run([
        "analyze".as_ref(),
        "-o".as_ref(),
        bad.as_os_str(),
        input.as_os_str(),
    ]);
    r.expect_code(1);
    assert!(r.stderr.contains("cannot write"), "stderr: {}", r.stderr);
}

#[test]
fn text_format_names_the_top_destination() {
    let input = data_file(SYNFLOOD);
    let r = run([
        "analyze".as_ref(),
        "--format".as_ref(),
        "text".as_ref(),
        input.as_os_str(),
    ]);
    r.expect_code(0);
    let text = String::from_utf8(r.stdout.clone()).expect("UTF-8 text");
    assert!(text.contains("10.10.10.10"), "{text}");
    assert!(text.contains("packets"), "{text}");
    assert!(text.contains("37841") || text.contains("37,841"), "{text}");
    // Text is the default format.
    let default = run(["analyze".as_ref(), input.as_os_str()]);
    default.expect_code(0);
    assert_eq!(default.stdout, r.stdout);
}

#[test]
fn usage_errors_exit_2() {
    run(["analyze"]).expect_code(2);
    run(["analyze", "--format", "xml", "x.pcap"]).expect_code(2);
    run(["analyze", "--threads", "many", "x.pcap"]).expect_code(2);
}

/// A directory is opened but cannot be read: reported as a damaged input, others analysed.
#[test]
fn directory_input_is_reported_and_others_analysed() {
    let tmp = TempDir::new("dir");
    let good = data_file(XSS);
    let r = analyze_json(&[], &[tmp.path(), good.as_path()]);
    r.expect_code(3);
    assert!(
        r.stderr
            .contains(&format!("floodtrace: {}: ", tmp.path().display())),
        "stderr: {}",
        r.stderr
    );
    // The read error itself is reported, not a misleading "unrecognised format".
    assert!(r.stderr.contains("read error"), "stderr: {}", r.stderr);
    let doc = r.json();
    assert_eq!(doc["inputs"][0]["complete"], false);
    assert_eq!(doc["inputs"][0]["errors"][0]["fatal"], true);
    assert_eq!(doc["inputs"][0]["errors"][0]["reason"], "input.read");
    assert_eq!(u64_at(&doc["inputs"][1], "packets"), 11);
}
