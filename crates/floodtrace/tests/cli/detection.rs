//! Detection and classification (issue 5, first slice): real captures are classified as what
//! they are, and simulated waves are found at the right time.

use std::path::Path;

use crate::support::{
    analyze_json, analyze_to, analyze_with, data_file, pinned_geo, run, simulate,
    simulate_with_geo, TempDir,
};

/// The first incident's victim and top vector (with its source port, if any).
fn top_incident(rel: &str) -> (String, String, Option<u64>) {
    let doc = analyze_json(&[], &[data_file(rel)]).json();
    let inc = doc["incidents"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .max_by_key(|i| i["packets"].as_u64().unwrap_or(0))
                .cloned()
        })
        .unwrap_or_else(|| panic!("{rel}: no incident in {doc}"));
    let v = &inc["vectors"][0];
    (
        inc["victim"].as_str().unwrap_or("").to_string(),
        v["name"].as_str().unwrap_or("").to_string(),
        v["source_port"].as_u64(),
    )
}

#[test]
fn real_syn_flood_is_a_syn_flood() {
    let (victim, vector, _) = top_incident("pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap");
    assert_eq!(
        (victim.as_str(), vector.as_str()),
        ("10.10.10.10", "syn_flood")
    );
    let (victim, vector, _) = top_incident("pcap/ddos/cicddos2019_SynFlood_sample.pcap");
    assert_eq!(
        (victim.as_str(), vector.as_str()),
        ("192.168.50.4", "syn_flood")
    );
}

#[test]
fn real_syn_ack_capture_is_syn_ack_reflection() {
    let (_, vector, _) = top_incident("pcap/ddos/stopddos_amp.TCP.reflection.SYNACK.pcap");
    assert_eq!(vector, "syn_ack_reflection");
}

#[test]
fn real_amplification_captures_name_their_protocol() {
    let (_, vector, _) = top_incident("pcap/ddos/stopddos_amp.UDP.snmp.src161.pcapng");
    assert_eq!(vector, "snmp_reflection");
    // No specific class for ISAKMP and BACnet: a UDP flood naming the service port.
    let (_, vector, port) = top_incident("pcap/ddos/stopddos_amp.UDP.isakmp.pcap");
    assert_eq!((vector.as_str(), port), ("udp_flood", Some(4500)));
    let (_, vector, port) = top_incident("pcap/ddos/stopddos_amp.UDP.bacnet.IOT.37810.pcapng");
    assert_eq!((vector.as_str(), port), ("udp_flood", Some(47808)));
}

fn simulate_and_eval(name: &str, extra: &[&str]) -> (i32, String) {
    simulate_seed_and_eval(name, None, extra)
}

fn simulate_seed_and_eval(name: &str, seed: Option<u64>, extra: &[&str]) -> (i32, String) {
    simulate_geo_and_eval(name, seed, None, extra)
}

/// Simulate (with `geo`, else the sample database), analyze (with `geo` when given) and
/// run `eval` with `extra` thresholds.
fn simulate_geo_and_eval(
    name: &str,
    seed: Option<u64>,
    geo: Option<&Path>,
    extra: &[&str],
) -> (i32, String) {
    let dir = TempDir::new(&format!("detect-{name}-{}", seed.unwrap_or(0)));
    let report = dir.path().join("r.json");
    let capture = dir.path().join("capture.pcap");
    match geo {
        Some(g) => {
            simulate_with_geo(name, seed, dir.path(), g);
            analyze_with(&report, &capture, &["--geo", g.to_str().unwrap()]);
        }
        None => {
            simulate(name, seed, dir.path());
            analyze_to(&report, &capture);
        }
    }
    let report = report.display().to_string();
    let truth = dir.path().join("truth.json").display().to_string();
    let mut args = vec!["eval", "--truth", truth.as_str(), report.as_str()];
    args.extend_from_slice(extra);
    let r = run(&args);
    (
        r.code.unwrap_or(-1),
        String::from_utf8_lossy(&r.stdout).into_owned() + &r.stderr,
    )
}

#[test]
fn x_outage_waves_are_found_on_time() {
    let (code, out) = simulate_and_eval(
        "x-outage",
        &[
            "--min-recall",
            "1",
            "--max-spurious",
            "0",
            "--max-timing-error",
            "2",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("vector accuracy 100.0 %"), "{out}");
}

#[test]
fn flash_crowd_is_not_an_attack() {
    let (code, out) = simulate_and_eval("quiet", &["--max-spurious", "0"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 detected, 0 missed, 0 spurious"), "{out}");
}

#[test]
fn water_torture_incidents_at_its_resolvers_are_not_spurious() {
    // The bots query four public resolvers; each shows as an incident of its own, and all
    // of them belong to the one wave (truth `sent_to`).
    let (code, out) = simulate_and_eval(
        "dns-water-torture",
        &["--min-recall", "1", "--max-spurious", "0"],
    );
    assert_eq!(code, 0, "{out}");
}

/// Issue 5's acceptance: on every built-in scenario with three seeds, every wave is
/// detected with start and end within 2 s, the vector is right for at least 95 % of waves,
/// Mirai fingerprints have precision 100 % and recall at least 99 %, and nothing spurious
/// is reported (so `quiet` and its flash crowd give no incident).
#[test]
fn every_builtin_with_three_seeds_meets_the_detection_and_country_targets() {
    let list = run(["simulate", "--list"]).expect_code(0).stdout.clone();
    let names: Vec<String> = String::from_utf8_lossy(&list)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(names.len() >= 9, "{names:?}");
    // With the pinned geo data, so each wave's country shares are scored too (issue 6).
    let geo = pinned_geo();
    let mut failures = Vec::new();
    for name in &names {
        for seed in 1..=3u64 {
            let (code, out) = simulate_geo_and_eval(
                name,
                Some(seed),
                Some(&geo),
                &[
                    "--min-recall",
                    "1",
                    "--max-spurious",
                    "0",
                    "--max-timing-error",
                    "2",
                    "--min-vector-accuracy",
                    "0.95",
                    "--min-fingerprint-precision",
                    "1",
                    "--min-fingerprint-recall",
                    "0.99",
                    "--max-country-error",
                    "1",
                ],
            );
            if code != 0 {
                failures.push(format!("{name} seed {seed} (exit {code}):\n{out}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hide_and_seek_is_telnet_scanning_not_mirai() {
    let doc = analyze_json(
        &[],
        &[data_file(
            "pcap/mirai/slips_hide-and-seek_iot-botnet_scan.pcap",
        )],
    )
    .json();
    let scans = doc["scanning"].as_array().expect("scanning[]");
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert!(scans[0]["family"].is_null(), "{scans:?}");
    assert_eq!(scans[0]["mirai_packets"], 0);
    assert_eq!(scans[0]["sources"][0]["address"], "192.168.2.16");
    assert!(scans[0]["packets"].as_u64().unwrap() > 500, "{scans:?}");
    for inc in doc["incidents"].as_array().unwrap() {
        assert!(
            inc["fingerprints"].as_array().unwrap().is_empty(),
            "Hide'N Seek must not be called Mirai: {inc}"
        );
    }
}

#[test]
fn real_web_ddos_sample_is_an_http_flood() {
    let (_, vector, _) = top_incident("pcap/ddos/cicddos2019_WebDDoS_sample.pcap");
    assert_eq!(vector, "http_flood");
}

#[test]
fn evidence_holds_the_first_packets_of_each_vector() {
    let dir = TempDir::new("evidence");
    simulate("mirai-mix", None, dir.path());
    let ev = dir.path().join("ev");
    let capture = dir.path().join("capture.pcap").display().to_string();
    let evdir = ev.display().to_string();
    let doc = run([
        "analyze",
        "--format",
        "json",
        "--evidence",
        &evdir,
        "--evidence-packets",
        "50",
        &capture,
    ])
    .expect_code(0)
    .json();
    let incidents = doc["incidents"].as_array().unwrap();
    assert!(!incidents.is_empty());
    for inc in incidents {
        let id = inc["id"].as_u64().unwrap();
        let start = inc["start_ns"].as_u64().unwrap();
        let end = inc["end_ns"].as_u64().unwrap();
        for v in inc["vectors"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            let file = ev.join(format!("incident-{id}-{name}.pcap"));
            let f = file.display().to_string();
            // Read the file back with floodtrace itself: every packet goes to the victim,
            // inside the incident, and there are 50 of them (each vector has more).
            let back = run(["analyze", "--format", "json", "--no-detect", &f])
                .expect_code(0)
                .json();
            assert_eq!(back["totals"]["packets"], 50, "{f}");
            assert_eq!(back["destinations"][0]["address"], inc["victim"], "{f}");
            let (s, e) = (
                back["totals"]["start_ns"].as_u64().unwrap_or(0),
                back["totals"]["end_ns"].as_u64().unwrap_or(u64::MAX),
            );
            assert!(
                s >= start && e <= end,
                "{f}: {s}..{e} outside {start}..{end}"
            );
        }
    }
}

#[test]
fn static_thresholds_from_a_config_file_start_waves() {
    let dir = TempDir::new("config");
    // Well below the learned-baseline detector's floor, but above a static threshold.
    let cfg = dir.write(
        "ft.toml",
        b"[[network]]\nname = \"lab\"\nprefixes = [\"192.168.2.0/24\"]\npps = 10\n",
    );
    let input = data_file("pcap/mirai/slips_hide-and-seek_iot-botnet_scan.pcap");
    let with = analyze_json(&["--config", cfg.to_str().unwrap()], &[&input]).json();
    let without = analyze_json(&[], &[&input]).json();
    let n = |d: &serde_json::Value| d["incidents"].as_array().unwrap().len();
    assert!(n(&with) > n(&without), "{} vs {}", n(&with), n(&without));
    let bad = dir.write("bad.toml", b"[detect]\nmin_ppx = 5\n");
    let r = run([
        "analyze",
        "--config",
        bad.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("min_ppx") && r.stderr.contains("line 2"),
        "{}",
        r.stderr
    );
}
