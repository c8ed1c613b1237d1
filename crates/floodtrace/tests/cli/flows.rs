//! Flow telemetry as `analyze` input: export captures (pcap of NetFlow v9 / IPFIX / sFlow
//! datagrams) and raw export files (`.dat`), on the simulator's x-outage exports and on
//! every real export file under `shared/data/flows`.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{
    analyze_json, run, run_with_stdin, sample_geo, shared_data, simulate, u64_at, without_paths,
    TempDir,
};

fn flows_dir() -> PathBuf {
    let d = shared_data().join("flows");
    assert!(
        d.is_dir(),
        "../shared/data is missing: {} not found",
        d.display()
    );
    d
}

fn flow_file(rel: &str) -> PathBuf {
    let p = flows_dir().join(rel);
    assert!(p.is_file(), "../shared/data is missing: {}", p.display());
    p
}

/// Every `.pcap` / `.dat` file under `shared/data/flows`, sorted.
fn all_flow_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["ipfix", "netflow5", "netflow9", "sflow"] {
        let d = flows_dir().join(sub);
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.expect("entry").path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("pcap" | "dat")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn input(v: &Value, i: usize) -> &Value {
    &v["inputs"][i]
}

fn reasons(input: &Value) -> Vec<String> {
    input["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .map(|e| e["reason"].as_str().expect("reason").to_string())
        .collect()
}

/// The acceptance test of flow input: the x-outage scenario's three flow exports (1:100
/// sampling) give the incidents of its packet capture — same victims, waves within a few
/// seconds, same vectors, country shares within sampling error — marked as sampled.
#[test]
fn x_outage_exports_give_the_captures_incidents() {
    let dir = TempDir::new("flows-x-outage");
    let truth = simulate("x-outage", None, dir.path());
    let geo = sample_geo().display().to_string();
    let analyze = |file: &str| {
        let r = analyze_json(&["--geo", &geo], &[dir.path().join(file)]);
        r.expect_code(0);
        r.json()
    };
    let capture = analyze("capture.pcap");
    let cap_incidents = capture["incidents"].as_array().expect("incidents[]");
    assert!(
        cap_incidents.len() >= 3,
        "the capture has the scenario's waves: {cap_incidents:#?}"
    );
    for i in cap_incidents {
        assert_eq!(i["sampled"], false, "a capture is not sampled");
        assert_eq!(i["sampling"], serde_json::json!([]));
    }
    let truth_flows = truth["flows"].as_array().expect("truth.flows");
    for (file, format) in [
        ("flows-netflow_v9.pcap", "pcap+netflow9"),
        ("flows-ipfix.pcap", "pcap+ipfix"),
        ("flows-sflow5.pcap", "pcap+sflow"),
    ] {
        let r = analyze(file);
        let inp = input(&r, 0);
        assert_eq!(inp["format"], format, "{file}");
        assert_eq!(inp["complete"], true, "{file}");
        let t = truth_flows
            .iter()
            .find(|t| t["file"] == file)
            .unwrap_or_else(|| panic!("{file} not in truth.json"));
        // Every exported record is decoded, every template counted, and the packets they
        // stand for (× 100) are the totals.
        assert_eq!(
            u64_at(inp, "flow_records"),
            u64_at(t, "flow_records"),
            "{file}"
        );
        assert_eq!(
            u64_at(inp, "templates"),
            u64_at(t, "template_records"),
            "{file}"
        );
        assert_eq!(
            u64_at(&r["totals"], "flow_records"),
            u64_at(t, "flow_records"),
            "{file}"
        );
        assert_eq!(
            u64_at(&r["totals"], "ip_packets"),
            u64_at(t, "packets_represented"),
            "{file}"
        );
        let flow_incidents = r["incidents"].as_array().expect("incidents[]");
        // Every wave of the flows, as (incident index, wave).
        let flow_waves: Vec<(usize, &Value)> = flow_incidents
            .iter()
            .enumerate()
            .flat_map(|(k, f)| f["waves"].as_array().unwrap().iter().map(move |w| (k, w)))
            .collect();
        let mut matched = vec![false; flow_waves.len()];
        for c in cap_incidents {
            let victim = &c["victim"];
            for cw in c["waves"].as_array().unwrap() {
                let (cs, ce) = (u64_at(cw, "start_ns"), u64_at(cw, "end_ns"));
                let found = flow_waves.iter().position(|(k, w)| {
                    &flow_incidents[*k]["victim"] == victim
                        && u64_at(w, "start_ns").abs_diff(cs) <= 10_000_000_000
                        && u64_at(w, "end_ns").abs_diff(ce) <= 10_000_000_000
                });
                let Some(n) = found else {
                    panic!(
                        "{file}: capture wave {victim} {} → {} not found in the flows (waves \
                         within 10 s): {flow_incidents:#?}",
                        cw["start"], cw["end"]
                    );
                };
                matched[n] = true;
                let (k, fw) = flow_waves[n];
                let f = &flow_incidents[k];
                assert_eq!(f["sampled"], true, "{file}: {f:#}");
                assert_eq!(f["sampling"], serde_json::json!([100]), "{file}");
                assert_eq!(
                    fw["vectors"][0]["name"], cw["vectors"][0]["name"],
                    "{file}: main vector of {victim}"
                );
                // Packets: the sampled estimate within 25 % of the captured count.
                let (cp, fp) = (u64_at(cw, "packets") as f64, u64_at(fw, "packets") as f64);
                assert!(
                    (fp - cp).abs() <= 0.25 * cp,
                    "{file}: {victim} wave packets {fp} vs {cp}"
                );
            }
            // Countries by packets (once attribution reports them): within sampling error.
            let Some(f) = flow_incidents.iter().find(|f| {
                &f["victim"] == victim
                    && u64_at(f, "end_ns") >= u64_at(c, "start_ns")
                    && u64_at(f, "start_ns") <= u64_at(c, "end_ns")
            }) else {
                continue;
            };
            let shares = |i: &Value| -> Option<Vec<(String, f64)>> {
                let list = i["source_profile"]["countries"].as_array()?;
                Some(
                    list.iter()
                        .map(|x| {
                            (
                                x["key"].as_str().unwrap_or("").to_string(),
                                x["packets_share"].as_f64().unwrap_or(0.0),
                            )
                        })
                        .collect(),
                )
            };
            // Both non-empty: the source sample of flow incidents is filled by the second
            // pass over the inputs, which has to decode flow inputs with
            // `FlowRun::observe_file` (see the report of issue 7).
            if let (Some(cs), Some(fs)) = (
                shares(c).filter(|x| !x.is_empty()),
                shares(f).filter(|x| !x.is_empty()),
            ) {
                // ~ packets / 100 sampled packets: three binomial standard errors + slack.
                let n = (u64_at(f, "packets") as f64 / 100.0).max(1.0);
                for (key, p) in &cs {
                    let q = fs.iter().find(|x| &x.0 == key).map_or(0.0, |x| x.1);
                    let tol = 3.0 * (p * (1.0 - p) / n).sqrt() + 0.02;
                    assert!(
                        (p - q).abs() <= tol,
                        "{file}: {victim} country {key}: capture {p:.3}, flows {q:.3} (± {tol:.3})"
                    );
                }
            }
        }
        // What the flows find beyond the capture's waves is short sampling noise at most.
        let extra: Vec<&Value> = flow_waves
            .iter()
            .zip(&matched)
            .filter(|(_, m)| !**m)
            .map(|((_, w), _)| *w)
            .collect();
        assert!(extra.len() <= 2, "{file}: extra waves {extra:#?}");
        for w in extra {
            let secs = (u64_at(w, "end_ns") - u64_at(w, "start_ns")) as f64 / 1e9;
            assert!(secs <= 20.0, "{file}: extra wave {w:#}");
        }
        // Text output says so.
        let text = crate::support::run([
            "analyze",
            "--no-progress",
            &dir.path().join(file).display().to_string(),
        ]);
        text.expect_code(0);
        let out = String::from_utf8_lossy(&text.stdout);
        assert!(
            out.contains("from sampled flow data (1:100)"),
            "{file}: text output:\n{out}"
        );
        assert!(out.contains(&format!("[{format}]")), "{file}");
    }
}

/// Every real export file analyses without panicking; exit 0 when it decodes cleanly,
/// 3 (partial) when it has export problems; record counts as tshark's (see
/// crates/wire/tests/flows.rs) for a few files.
#[test]
fn every_shared_flow_file_analyzes() {
    let files = all_flow_files();
    assert!(files.len() > 100, "only {} flow files", files.len());
    for f in &files {
        let r = analyze_json(&[], &[f]);
        let name = f.display().to_string();
        assert!(
            matches!(r.code, Some(0 | 3)),
            "{name}: exit {:?}\n{}",
            r.code,
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        let v = r.json();
        let inp = input(&v, 0);
        let format = inp["format"].as_str().unwrap();
        let container = if name.ends_with(".dat") {
            "raw+"
        } else {
            "pcap+"
        };
        assert!(format.starts_with(container), "{name}: format {format}");
        assert_eq!(inp["complete"], r.code == Some(0), "{name}");
        if r.code == Some(3) {
            assert!(!reasons(inp).is_empty(), "{name}: partial without a reason");
        }
    }
    for (file, records, templates) in [
        ("netflow5/logstash_netflow5.dat", 30, 0),
        ("netflow5/logstash_netflow5_test_microtik.dat", 30, 0),
        ("netflow5/akvorado_nfv5.pcap", 29, 0),
        ("ipfix/logstash_ipfix.dat", 12, 3),
        ("netflow9/logstash_netflow9_test_invalid01.dat", 2, 3),
        ("netflow9/pmacct_101-NFv9-CISCO-cust_primitives.pcap", 51, 1),
        (
            "ipfix/pmacct_112-IPFIXv10-CISCO-options-map-reassignment.pcap",
            9,
            9,
        ),
        ("sflow/ndpi_sflow.pcap", 1, 0),
    ] {
        let v = analyze_json(&[], &[flow_file(file)]).json();
        assert_eq!(u64_at(input(&v, 0), "flow_records"), records, "{file}");
        assert_eq!(u64_at(input(&v, 0), "templates"), templates, "{file}");
        assert_eq!(u64_at(&v["totals"], "flow_records"), records, "{file}");
    }
}

/// Damaged exports: a clear error per reason, exit 3, and the records that could be read
/// are kept.
#[test]
fn unusual_files_give_clear_errors() {
    // NetFlow v5 whose header count is far beyond the datagram: the 30 complete records.
    for file in [
        "netflow5/logstash_netflow5_test_invalid01.dat",
        "netflow5/logstash_netflow5_test_invalid02.dat",
    ] {
        let r = analyze_json(&[], &[flow_file(file)]);
        r.expect_code(3);
        let v = r.json();
        let inp = input(&v, 0);
        assert_eq!(inp["format"], "raw+netflow5");
        assert_eq!(inp["complete"], false);
        assert_eq!(u64_at(inp, "flow_records"), 30, "{file}");
        assert_eq!(reasons(inp), ["netflow5.truncated"], "{file}");
        assert_eq!(inp["errors"][0]["kind"], "flow");
        assert!(r.stderr.contains("netflow5.truncated"), "{}", r.stderr);
        assert!(r.stderr.contains("30 flow records decoded"), "{}", r.stderr);
    }
    // Data before its templates in one capture: those sets are skipped, the rest kept.
    let r = analyze_json(&[], &[flow_file("netflow9/akvorado_data+templates.pcap")]);
    r.expect_code(3);
    let v = r.json();
    let inp = input(&v, 0);
    assert_eq!(reasons(inp), ["netflow9.missing_template"]);
    assert_eq!(u64_at(inp, "flow_records"), 10);
    let e = &inp["errors"][0];
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("before its template"),
        "{e}"
    );
    assert!(u64_at(e, "record") >= 1, "{e}");
    // A data file alone: nothing decodable, still a report.
    let r = analyze_json(
        &[],
        &[flow_file("ipfix/logstash_ipfix_test_mikrotik_data258.dat")],
    );
    r.expect_code(3);
    let v = r.json();
    assert_eq!(u64_at(input(&v, 0), "flow_records"), 0);
    assert_eq!(reasons(input(&v, 0)), ["ipfix.missing_template"]);
}

/// A raw sFlow file whose samples are sampled headers of `(header protocol, header)`,
/// each sample 1 in 50 from agent 192.0.2.100.
fn sflow_headers_file(samples: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let be = |v: &mut Vec<u8>, words: &[u32]| {
        for w in words {
            v.extend_from_slice(&w.to_be_bytes());
        }
    };
    let mut d = Vec::new();
    be(
        &mut d,
        &[5, 1, 0xc000_0264, 0, 1, 1000, samples.len() as u32],
    );
    for (proto, header) in samples {
        let padded = header.len().div_ceil(4) * 4;
        let mut s = Vec::new();
        be(&mut s, &[1, 3, 50, 1000, 0, 3, 4, 1]);
        be(&mut s, &[1, 16 + padded as u32]);
        be(
            &mut s,
            &[*proto, header.len() as u32 + 4, 4, header.len() as u32],
        );
        s.extend_from_slice(header);
        s.resize(s.len() + padded - header.len(), 0);
        be(&mut d, &[1, s.len() as u32]);
        d.extend_from_slice(&s);
    }
    d
}

/// sFlow sampled headers beyond Ethernet and IP: MPLS, PPP and frame relay headers are
/// decoded (10.9.0.7 → 192.0.2.70, as tshark reads them); 802.11 and token ring headers,
/// which floodtrace does not decode, are skipped with a note per protocol that leaves the
/// input complete (exit 0). Before, any of them was `sflow.header_protocol` and exit 3.
#[test]
fn sflow_headers_of_other_link_layers() {
    let mut udp = vec![
        0x45, 0, 0, 128, 0, 1, 0, 0, 64, 17, 0, 0, 10, 9, 0, 7, 192, 0, 2, 70,
    ];
    udp.extend_from_slice(&[0, 53, 0x82, 0x35, 0, 108, 0, 0]);
    udp.extend_from_slice(&[b'z'; 100]);
    let with = |head: &[u8]| [head, &udp[..]].concat();
    let llc_ipv4 = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
    let wifi = with(&[&[0x08, 0x02][..], &[0; 22], &llc_ipv4].concat());
    let token_ring = with(&[&[0x10, 0x40][..], &[0; 12], &llc_ipv4].concat());
    let file = sflow_headers_file(&[
        (13, with(&[0, 0x06, 0x41, 0x40])),
        (7, with(&[0xff, 0x03, 0x00, 0x21])),
        (14, with(&[0xff, 0x03, 0x00, 0x21])),
        (5, with(&[0x18, 0x41, 0x03, 0xcc])),
        (15, wifi.clone()),
        (15, wifi),
        (3, token_ring),
    ]);
    let dir = TempDir::new("flows-sflow-headers");
    let path = dir.write("headers.dat", &file);
    let r = analyze_json(&[], &[&path]);
    r.expect_code(0);
    let v = r.json();
    let inp = input(&v, 0);
    assert_eq!(inp["format"], "raw+sflow");
    assert_eq!(inp["complete"], true);
    assert_eq!(u64_at(inp, "flow_records"), 4);
    assert_eq!(
        reasons(inp),
        [
            "sflow.header_not_decoded.ieee80211",
            "sflow.header_not_decoded.token_ring"
        ]
    );
    let errors = inp["errors"].as_array().expect("errors[]");
    for (e, count, name) in [
        (&errors[0], 2, "15 (IEEE 802.11 MAC)"),
        (&errors[1], 1, "3 (ISO 8802-5 token ring)"),
    ] {
        assert_eq!(e["kind"], "skipped", "{e}");
        assert_eq!(e["fatal"], false, "{e}");
        assert_eq!(u64_at(e, "count"), count, "{e}");
        let message = e["message"].as_str().expect("message");
        assert!(
            message.contains(&format!("header protocol {name} is not decoded")),
            "{message}"
        );
    }
    assert!(
        r.stderr
            .contains("2 flow sample(s) skipped, not damaged (sflow.header_not_decoded.ieee80211)"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("partial"), "{}", r.stderr);
    let dests = v["destinations"].as_array().expect("destinations[]");
    assert_eq!(dests.len(), 1, "{dests:#?}");
    assert_eq!(dests[0]["address"], "192.0.2.70");
    assert_eq!(u64_at(&dests[0], "packets"), 4 * 50);
    assert_eq!(dests[0]["top_sources"][0]["address"], "10.9.0.7");
    // An undefined header protocol is still damage.
    let path = dir.write("bad.dat", &sflow_headers_file(&[(18, udp.clone())]));
    let r = analyze_json(&[], &[&path]);
    r.expect_code(3);
    assert_eq!(reasons(input(&r.json(), 0)), ["sflow.header_protocol"]);
}

/// Templates learned from an earlier input decode the data of a later one (raw files and
/// captures alike); in the other order the data comes before its templates.
#[test]
fn templates_from_an_earlier_file_are_used() {
    let cases: [(&str, &str, u64, u64); 3] = [
        (
            "netflow9/logstash_netflow9_test_cisco_asa_1_tpl.dat",
            "netflow9/logstash_netflow9_test_cisco_asa_1_data.dat",
            13,
            14,
        ),
        (
            "ipfix/logstash_ipfix_test_mikrotik_tpl.dat",
            "ipfix/logstash_ipfix_test_mikrotik_data258.dat",
            2,
            28,
        ),
        (
            "netflow9/akvorado_samplingrate-template.pcap",
            "netflow9/akvorado_samplingrate-data.pcap",
            1,
            6,
        ),
    ];
    for (tpl, data, templates, records) in cases {
        let r = analyze_json(&[], &[flow_file(tpl), flow_file(data)]);
        r.expect_code(0);
        let v = r.json();
        assert_eq!(u64_at(input(&v, 0), "templates"), templates, "{tpl}");
        assert_eq!(u64_at(input(&v, 0), "flow_records"), 0, "{tpl}");
        assert_eq!(u64_at(input(&v, 1), "flow_records"), records, "{data}");
        assert_eq!(u64_at(&v["totals"], "templates"), templates, "{tpl}");
        assert_eq!(u64_at(&v["totals"], "flow_records"), records, "{data}");
        // Data first: its sets are skipped, and the report says why.
        let r = analyze_json(&[], &[flow_file(data), flow_file(tpl)]);
        r.expect_code(3);
        let v = r.json();
        assert_eq!(u64_at(input(&v, 0), "flow_records"), 0, "{data}");
        assert!(
            reasons(input(&v, 0))[0].ends_with(".missing_template"),
            "{data}: {:?}",
            reasons(input(&v, 0))
        );
    }
}

/// An export capture read from standard input, with one thread or several: the same report.
#[test]
fn export_capture_from_stdin_and_threads() {
    let file = flow_file("netflow9/pmacct_102-NFv9-CISCO-f2rd-pretag-sampling-reload.pcap");
    let mapped = analyze_json(&[], &[&file]);
    mapped.expect_code(0);
    let one = analyze_json(&["-j", "1"], &[&file]);
    one.expect_code(0);
    let bytes = std::fs::read(&file).expect("read");
    let piped = run_with_stdin(
        ["analyze", "--format", "json", "--no-progress", "-"],
        Some(&bytes),
    );
    piped.expect_code(0);
    let strip = |v: Value| crate::support::without_paths(v);
    assert_eq!(strip(mapped.json()), strip(one.json()));
    assert_eq!(strip(mapped.json()), strip(piped.json()));
    assert_eq!(u64_at(input(&mapped.json(), 0), "flow_records"), 35);
    assert_eq!(input(&mapped.json(), 0)["format"], "pcap+netflow9");
}

/// A raw export file is decoded in chunks on several threads, each chunk with the decoder
/// state its earlier datagrams left (templates, options templates and their sampling data,
/// data sets before their template): the report is byte-identical for any thread count and
/// chunk size, errors keep their datagram numbers and offsets, and no record is lost.
#[test]
fn raw_exports_give_one_report_on_any_thread_count() {
    let dir = TempDir::new("flows-raw-threads");
    let synthetic = dir.path().join("replay.dat");
    let r = run([
        "replay",
        "--no-send",
        "--datagrams",
        "3000",
        "--write",
        synthetic.to_str().expect("utf-8 path"),
    ]);
    r.expect_code(0);
    let alone = analyze_json(&[], &[&synthetic]);
    alone.expect_code(0);
    let synthetic_records = u64_at(input(&alone.json(), 0), "flow_records");
    assert!(synthetic_records > 2_900 * 45, "{synthetic_records}");
    // Per exporter: data before its template (skipped, with an error), then the templates
    // and options templates (sampling), then the data again. IPFIX first: a NetFlow v9
    // message has no length field, so only another v9 header ends one stored back to back.
    let v9 = |f: &str| flow_file(&format!("netflow9/logstash_netflow9_test_{f}.dat"));
    let ipfix = |f: &str| flow_file(&format!("ipfix/logstash_ipfix_test_{f}.dat"));
    let (mikrotik, juniper) = (
        ipfix("mikrotik_data258"),
        ipfix("juniper_mx240_junos151r6s3_data512"),
    );
    let (asr, asa) = (v9("cisco_asr9k_data260"), v9("cisco_asa_1_data"));
    let parts = [
        mikrotik.clone(),
        juniper.clone(),
        ipfix("mikrotik_tpl"),
        ipfix("juniper_mx240_junos151r6s3_opttpl512"),
        mikrotik.clone(),
        juniper,
        mikrotik,
        synthetic.clone(),
        asr.clone(),
        v9("cisco_asr9k_opttpl256"),
        v9("cisco_asr9k_tpl260"),
        asr.clone(),
        asr,
        asa.clone(),
        v9("cisco_asa_1_tpl"),
        asa,
    ];
    let mut bytes = Vec::new();
    for f in &parts {
        bytes.extend(std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
    }
    let file = dir.path().join("mixed.dat");
    std::fs::write(&file, &bytes).expect("write mixed.dat");

    let report = |extra: &[&str]| {
        let r = analyze_json(extra, &[&file]);
        r.expect_code(3); // the data sets before their templates
        without_paths(r.json())
    };
    let one = report(&["-j", "1"]);
    let inp = input(&one, 0);
    assert_eq!(inp["format"], "raw+netflow9+ipfix");
    // 2 × 28 MikroTik, the synthetic ones, 2 × 21 ASR 9000 and 14 ASA records.
    assert_eq!(
        u64_at(inp, "flow_records"),
        56 + synthetic_records + 42 + 14,
        "{inp:#}"
    );
    let missing: u64 = inp["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .filter(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.ends_with(".missing_template"))
        })
        .map(|e| u64_at(e, "count"))
        .sum();
    assert_eq!(missing, 4, "{:?}", reasons(inp));
    for extra in [
        &["-j", "2"][..],
        &["-j", "3"],
        &["-j", "1", "--chunk-bytes", "4096"],
        &["-j", "2", "--chunk-bytes", "4096"],
        &["-j", "4", "--chunk-bytes", "4096"],
    ] {
        let small = extra.contains(&"--chunk-bytes");
        let other = report(extra);
        if small {
            // Smaller chunks only change which heavy sources the Space-Saving summaries
            // keep; every count, error and incident stays.
            assert_eq!(other["inputs"], one["inputs"], "{extra:?}");
            assert_eq!(other["totals"], one["totals"], "{extra:?}");
        } else {
            assert_eq!(other, one, "{extra:?}");
        }
    }
    let small_one = report(&["-j", "1", "--chunk-bytes", "4096"]);
    assert_eq!(small_one, report(&["-j", "3", "--chunk-bytes", "4096"]));
}

/// Export captures are decoded in chunks on several threads too: the simulator's three
/// export captures and pmacct's sampling-option and template-reload captures (cut into
/// 4 KiB chunks, so templates, options data and their data sets fall in different chunks)
/// give byte-identical reports at 1, 2 and 4 threads, and every count of the default
/// chunking.
#[test]
fn export_captures_give_one_report_on_any_thread_count() {
    let dir = TempDir::new("flows-capture-threads");
    simulate("x-outage", None, dir.path());
    let mut files: Vec<PathBuf> = [
        "flows-netflow_v9.pcap",
        "flows-ipfix.pcap",
        "flows-sflow5.pcap",
    ]
    .iter()
    .map(|f| dir.path().join(f))
    .collect();
    files.push(flow_file(
        "ipfix/pmacct_104-IPFIXv10-IPv6-CISCO-sampling_option.pcap",
    ));
    files.push(flow_file(
        "ipfix/pmacct_112-IPFIXv10-CISCO-options-map-reassignment.pcap",
    ));
    files.push(flow_file(
        "netflow9/pmacct_102-NFv9-CISCO-f2rd-pretag-sampling-reload.pcap",
    ));
    for file in &files {
        let report = |extra: &[&str]| {
            let r = analyze_json(extra, &[file]);
            let code = r.code;
            (code, without_paths(r.json()))
        };
        let one = report(&["-j", "1", "--chunk-bytes", "4096"]);
        assert!(
            u64_at(input(&one.1, 0), "flow_records") > 0,
            "{}",
            file.display()
        );
        for threads in ["2", "4"] {
            let other = report(&["-j", threads, "--chunk-bytes", "4096"]);
            assert_eq!(other, one, "{} with {threads} threads", file.display());
        }
        let default = report(&["-j", "2"]);
        assert_eq!(default.0, one.0, "{}", file.display());
        assert_eq!(default.1["inputs"], one.1["inputs"], "{}", file.display());
        assert_eq!(default.1["totals"], one.1["totals"], "{}", file.display());
    }
}

/// A packet capture next to an export capture keeps its packet path: its format is plain
/// `pcap`, no flow records, no sampled incidents.
#[test]
fn packet_captures_are_not_taken_for_exports() {
    let cap = shared_data().join("pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap");
    assert!(cap.is_file(), "{} missing", cap.display());
    let v = analyze_json(
        &[],
        &[
            cap.as_path(),
            flow_file("netflow5/akvorado_nfv5.pcap").as_path(),
        ],
    )
    .json();
    assert_eq!(input(&v, 0)["format"], "pcap");
    assert_eq!(u64_at(input(&v, 0), "flow_records"), 0);
    assert_eq!(input(&v, 1)["format"], "pcap+netflow5");
    for i in v["incidents"].as_array().unwrap() {
        if i["victim"] == "10.10.10.10" {
            assert_eq!(i["sampled"], false);
        }
    }
}
