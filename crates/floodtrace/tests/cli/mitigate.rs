//! `floodtrace mitigate` on a real report: simulate reflection-mix, analyze it, and turn
//! its incident into each output format; allow-list and error handling.

use serde_json::Value;

use crate::support::{analyze_to, run, simulate, Run, TempDir};

trait Text {
    fn stdout_text(&self) -> String;
}

impl Text for Run {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// A report of the reflection-mix scenario (one incident, nine reflection vectors).
fn reflection_report(dir: &TempDir) -> std::path::PathBuf {
    simulate("reflection-mix", None, dir.path());
    let report = dir.path().join("r.json");
    analyze_to(&report, &dir.path().join("capture.pcap"));
    report
}

fn nft_check(file: &std::path::Path) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let have = std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            !ci,
            "nft is not installed, but CI=true: .ci/run installs nftables so that rulesets are checked"
        );
        eprintln!("nft not installed: `nft -c -f {}` skipped", file.display());
        return;
    }
    let out = std::process::Command::new("nft")
        .arg("-c")
        .arg("-f")
        .arg(file)
        .output()
        .expect("run nft");
    assert!(
        out.status.success(),
        "nft -c rejected {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mitigate_reflection_mix_in_every_format() {
    let dir = TempDir::new("mitigate");
    let report = reflection_report(&dir);
    let r = report.display().to_string();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let victim = doc["incidents"][0]["victim"]
        .as_str()
        .expect("an incident")
        .to_string();
    assert_eq!(victim, "198.51.100.10");

    let nft = dir.path().join("rules.nft");
    run([
        "mitigate",
        &r,
        "--as",
        "nftables",
        "-o",
        &nft.display().to_string(),
    ])
    .expect_code(0);
    let text = std::fs::read_to_string(&nft).unwrap();
    for port in [53, 123, 11211, 1900, 389, 161, 19, 3702] {
        assert!(
            text.contains(&format!("ip daddr 198.51.100.10/32 udp sport {port} ")),
            "no rule for source port {port}:\n{text}"
        );
    }
    assert!(
        text.contains("tcp flags & (syn | ack) == syn | ack"),
        "{text}"
    );
    nft_check(&nft);

    let ex = run(["mitigate", &r, "--as", "exabgp", "--expiry", "30m"])
        .expect_code(0)
        .stdout_text();
    assert!(ex.contains("route ft-i1-memcached_reflection {"), "{ex}");
    assert!(ex.contains("source-port [ =11211 ];"));
    let gb = run(["mitigate", &r, "--as", "gobgp", "--incident", "1"])
        .expect_code(0)
        .stdout_text();
    assert!(gb.contains("gobgp global rib -a ipv4-flowspec add match destination 198.51.100.10/32 protocol udp source-port '==123'"), "{gb}");
    let rt = run(["mitigate", &r, "--as", "rtbh"])
        .expect_code(0)
        .stdout_text();
    assert!(
        rt.contains(
            "announce route 198.51.100.10/32 next-hop 192.0.2.1 community [ 65535:666 no-export ]"
        ),
        "{rt}"
    );
    let dd = run(["mitigate", &r, "--as", "ddosdb"])
        .expect_code(0)
        .json();
    let services: Vec<&str> = dd["attack_vectors"]
        .as_array()
        .expect("attack_vectors[]")
        .iter()
        .filter_map(|v| v["service"].as_str())
        .collect();
    for s in [
        "DNS",
        "NTP",
        "MEMCACHED",
        "SSDP",
        "CLDAP",
        "SNMP",
        "CHARGEN",
        "WS-DISCOVERY",
    ] {
        assert!(services.contains(&s), "{s} missing in {services:?}");
    }
    assert_eq!(dd["target"], "198.51.100.10");
    assert_eq!(dd["key"].as_str().map(str::len), Some(32));

    // The expiry follows --expiry: incident end + 30 min.
    let end_ns = doc["incidents"][0]["end_ns"].as_u64().unwrap();
    let exp = end_ns / 1_000_000_000 + 1800;
    let want = floodtrace_report::time::rfc3339_s(exp);
    let out = run(["mitigate", &r, "--as", "rtbh", "--expiry", "1800"]);
    out.expect_code(0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("expires {want}")),
        "want expiry {want}:\n{text}"
    );
}

#[test]
fn mitigate_respects_the_allow_list_and_reports_bad_input() {
    let dir = TempDir::new("mitigate-allow");
    let report = reflection_report(&dir);
    let r = report.display().to_string();
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "# our web server\n198.51.100.10 # do not touch\n").unwrap();
    let a = allow.display().to_string();
    let out = run(["mitigate", &r, "--as", "nftables", "--allow", &a]);
    out.expect_code(0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains("daddr 198.51.100.10"), "{text}");
    assert!(
        out.stderr.contains("entirely allow-listed"),
        "{}",
        out.stderr
    );
    let nft = dir.path().join("allow.nft");
    std::fs::write(&nft, &text).unwrap();
    nft_check(&nft);

    std::fs::write(&allow, "10.0.0.0/8\n10.1.2.3/40\n").unwrap();
    let bad = run(["mitigate", &r, "--as", "nftables", "--allow", &a]);
    bad.expect_code(1);
    assert!(bad.stderr.contains("line 2:"), "{}", bad.stderr);

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"incidents\": [ {\"id\": \"x\"} ] }").unwrap();
    let bad = run(["mitigate", &junk.display().to_string(), "--as", "exabgp"]);
    bad.expect_code(1);
    assert!(
        bad.stderr.contains("not an analysis report"),
        "{}",
        bad.stderr
    );
    let bad = run(["mitigate", &r, "--as", "exabgp", "--incident", "99"]);
    bad.expect_code(1);
    assert!(bad.stderr.contains("no incident 99"), "{}", bad.stderr);
    let bad = run(["mitigate", &r, "--as", "exabgp", "--expiry", "5 parsecs"]);
    bad.expect_code(1);
}
