//! Source attribution, spoofing verdicts, claims and campaigns (issue 6) through `analyze`.

use serde_json::Value;

use crate::support::{analyze_json, data_file, run, sample_geo, simulate, TempDir};

/// `analyze --format json` of a simulated scenario's capture with the test geo database.
fn analyze_scenario(dir: &TempDir, claims: &[&str]) -> Value {
    let geo = sample_geo();
    let mut args: Vec<String> = vec!["--geo".into(), geo.display().to_string()];
    for c in claims {
        args.push("--claim".into());
        args.push(c.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    analyze_json(&args, &[dir.path().join("capture.pcap")]).json()
}

fn verdict<'a>(doc: &'a Value, claim: &str) -> &'a Value {
    doc["claims"]
        .as_array()
        .and_then(|c| c.iter().find(|v| v["claim"] == claim))
        .unwrap_or_else(|| panic!("no verdict for {claim}: {}", doc["claims"]))
}

#[test]
fn real_stopddos_syn_flood_is_judged_spoofed() {
    let input = data_file("pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap");
    let geo = sample_geo();
    let doc = analyze_json(
        &["--geo", geo.to_str().unwrap(), "--claim", "spoofed=yes"],
        &[input],
    )
    .json();
    let inc = &doc["incidents"][0];
    assert_eq!(inc["victim"], "10.10.10.10");
    assert_eq!(
        inc["source_profile"]["spoofing"]["verdict"], "spoofed",
        "{inc}"
    );
    assert_eq!(verdict(&doc, "spoofed=yes")["verdict"], "supported");
}

#[test]
fn x_outage_origin_ua_is_contradicted_with_the_share_shown() {
    let dir = TempDir::new("attr-x-outage");
    simulate("x-outage", None, dir.path());
    let doc = analyze_scenario(&dir, &["origin=UA", "botnet=mirai", "spoofed=no"]);
    let v = verdict(&doc, "origin=UA");
    assert_eq!(v["verdict"], "contradicted", "{v}");
    let text = v["explanation"].as_str().unwrap();
    assert!(text.contains("Ukraine") && text.contains('%'), "{text}");
    assert!(
        v["caveats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("not who controls them")),
        "{v}"
    );
    assert_eq!(verdict(&doc, "botnet=mirai")["verdict"], "supported");
    assert_eq!(verdict(&doc, "spoofed=no")["verdict"], "supported");
    // One botnet: every incident in one campaign.
    let campaigns = doc["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 1, "{campaigns:?}");
    assert_eq!(
        campaigns[0]["members"].as_array().unwrap().len(),
        doc["incidents"].as_array().unwrap().len()
    );
    for inc in doc["incidents"].as_array().unwrap() {
        assert_eq!(
            inc["source_profile"]["spoofing"]["verdict"], "not_spoofed",
            "{}",
            inc["id"]
        );
    }
}

#[test]
fn spoofed_syn_is_spoofed_and_origin_claims_are_inconclusive() {
    let dir = TempDir::new("attr-spoofed");
    simulate("spoofed-syn", None, dir.path());
    let doc = analyze_scenario(&dir, &["origin=US", "asn=15169", "spoofed=yes"]);
    for inc in doc["incidents"].as_array().unwrap() {
        assert_eq!(inc["source_profile"]["spoofing"]["verdict"], "spoofed");
    }
    assert_eq!(verdict(&doc, "origin=US")["verdict"], "inconclusive");
    assert_eq!(verdict(&doc, "asn=15169")["verdict"], "inconclusive");
    assert_eq!(verdict(&doc, "spoofed=yes")["verdict"], "supported");
}

#[test]
fn mirai_mix_is_not_spoofed_and_one_campaign() {
    let dir = TempDir::new("attr-mirai-mix");
    simulate("mirai-mix", None, dir.path());
    let doc = analyze_scenario(&dir, &[]);
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 8);
    for inc in incidents {
        assert_eq!(inc["source_profile"]["spoofing"]["verdict"], "not_spoofed");
        assert_eq!(inc["campaign"], 1, "{}", inc["id"]);
    }
}

#[test]
fn two_botnets_are_two_campaigns() {
    // pulse-waves with its last two pulses sent by another botnet in other countries.
    let dir = TempDir::new("attr-two-botnets");
    let base = dir.path().join("base");
    let r = run([
        "simulate",
        "pulse-waves",
        "-o",
        base.to_str().unwrap(),
        "--geo",
        sample_geo().to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let toml = std::fs::read_to_string(base.join("scenario.toml")).unwrap();
    let mut waves: Vec<String> = toml.split("[[wave]]").map(str::to_string).collect();
    assert_eq!(waves.len(), 5, "pulse-waves has four waves");
    for w in waves.iter_mut().skip(3) {
        *w = w.replace("name = \"pulse\"", "name = \"other\"");
        let at = w.find("[wave.sources.countries]").unwrap();
        w.truncate(at);
        w.push_str("[wave.sources.countries]\nJP = 0.5\nDE = 0.5\n\n");
    }
    let scenario = dir.write("two.toml", waves.join("[[wave]]").as_bytes());
    let out = dir.path().join("two");
    let r = run([
        "simulate",
        scenario.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--geo",
        sample_geo().to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let geo = sample_geo();
    let doc = analyze_json(
        &["--geo", geo.to_str().unwrap()],
        &[out.join("capture.pcap")],
    )
    .json();
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 4, "{}", doc["incidents"]);
    let ids: Vec<&Value> = incidents.iter().map(|i| &i["campaign"]).collect();
    assert_eq!(ids[0], ids[1], "first botnet's pulses: {ids:?}");
    assert_eq!(ids[2], ids[3], "second botnet's pulses: {ids:?}");
    assert_ne!(ids[0], ids[2], "two botnets: {ids:?}");
}

/// The sources sampled during the first pass (the source log) give the same profiles as
/// the second pass they replace: `--no-source-log` forces the second pass.
#[test]
fn first_pass_source_log_matches_the_second_pass() {
    let dir = TempDir::new("attr-source-log");
    simulate("mirai-mix", Some(2), dir.path());
    let geo = sample_geo();
    let geo = geo.to_str().unwrap();
    let capture = [dir.path().join("capture.pcap")];
    let logged = analyze_json(&["--geo", geo], &capture).json();
    let reread = analyze_json(&["--geo", geo, "--no-source-log"], &capture).json();
    let a = logged["incidents"].as_array().expect("incidents");
    let b = reread["incidents"].as_array().expect("incidents");
    assert_eq!(a.len(), b.len());
    assert!(a.len() >= 8, "{}", a.len());
    for (x, y) in a.iter().zip(b) {
        let (px, py) = (&x["source_profile"], &y["source_profile"]);
        let (nx, ny) = (
            px["sample"]["sources"].as_f64().unwrap(),
            py["sample"]["sources"].as_f64().unwrap(),
        );
        // One-second windows against exact ones: a few sources at the edges may differ.
        assert!((nx - ny).abs() <= 0.02 * ny, "{} vs {}", nx, ny);
        assert_eq!(px["sample"]["collected"], "first_pass");
        assert_eq!(py["sample"]["collected"], "second_pass");
        assert_eq!(px["spoofing"]["verdict"], py["spoofing"]["verdict"]);
        let shares = |p: &Value| -> Vec<(String, f64)> {
            p["countries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["key"].as_str().unwrap_or("").to_string(),
                        c["sources_share"].as_f64().unwrap(),
                    )
                })
                .collect()
        };
        for (k, s) in shares(px) {
            let t = shares(py)
                .iter()
                .find(|(k2, _)| *k2 == k)
                .map_or(0.0, |x| x.1);
            assert!((s - t).abs() < 0.005, "{k}: {s} vs {t}");
        }
    }
}
