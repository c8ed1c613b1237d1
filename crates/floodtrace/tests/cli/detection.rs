//! Detection and classification (issue 5, first slice): real captures are classified as what
//! they are, and simulated waves are found at the right time.

use crate::support::{analyze_json, analyze_to, data_file, run, simulate, TempDir};

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
    let dir = TempDir::new(&format!("detect-{name}"));
    simulate(name, None, dir.path());
    let report = dir.path().join("r.json");
    analyze_to(&report, &dir.path().join("capture.pcap"));
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
