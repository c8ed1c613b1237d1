//! `analyze --reports FILE --logs FILE` (issue 8): outage-report spikes tied to the waves
//! that caused them, against the simulator's truth; `cause=attack` supported on x-outage and
//! contradicted on an outage without attack; unreadable lines are warnings, not failures.

use std::path::Path;

use serde_json::Value;

use crate::support::{analyze_with_impact_args, run, simulate, TempDir};

/// `analyze --format json` of a simulated folder with its outage reports and access log and
/// the claim `cause=attack`.
fn analyze_with_impact(dir: &Path, extra: &[&str]) -> (Value, String) {
    let mut args = analyze_with_impact_args(dir);
    args.extend(["--format", "json", "--claim", "cause=attack"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(dir.join("capture.pcap").display().to_string());
    let r = run(&args);
    r.expect_code(0);
    (r.json(), r.stderr)
}

fn claim<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    doc["claims"]
        .as_array()?
        .iter()
        .find(|c| c["claim"].as_str() == Some(name))
}

#[test]
fn x_outage_report_spikes_follow_the_right_waves() {
    let dir = TempDir::new("impact-x");
    let truth = simulate("x-outage", None, dir.path());
    let (doc, _) = analyze_with_impact(dir.path(), &[]);
    let outage = &doc["impact"]["outage"];
    let spikes = outage["spikes"].as_array().expect("impact.outage.spikes");
    let want = truth["outage"]["spikes"].as_array().expect("truth spikes");
    assert_eq!(
        outage["reports"], truth["outage"]["reports"],
        "every report read"
    );
    assert_eq!(
        spikes.len(),
        want.len(),
        "one spike per wave that overloaded the service: {spikes:#?}"
    );
    let mut lags = Vec::new();
    for t in want {
        let wave_start = t["wave_start_unix"].as_i64().expect("wave start");
        let spike = spikes
            .iter()
            .find(|s| {
                s["after_wave"]["wave_start"]
                    .as_i64()
                    .is_some_and(|w| (w - wave_start).abs() <= 5)
            })
            .unwrap_or_else(|| panic!("no spike tied to {t}: {spikes:#?}"));
        // The spike's busiest minute is the minute truth expects, give or take one.
        let peak = spike["peak_minute"].as_i64().expect("peak_minute");
        let truth_peak = t["peak_minute_unix"].as_i64().expect("truth peak");
        assert!(
            (peak - truth_peak).abs() <= 60,
            "{}: peak minute {peak} vs truth {truth_peak}",
            t["wave"]
        );
        let lag = spike["after_wave"]["peak_lag_seconds"]
            .as_i64()
            .expect("lag");
        let truth_lag = t["lag_seconds"].as_i64().expect("truth lag");
        // Minute resolution: the peak lag is measured to a minute start.
        assert!(
            (lag - truth_lag).abs() <= 60 + 59,
            "{}: lag {lag} s vs truth {truth_lag} s",
            t["wave"]
        );
        lags.push((t["wave"].as_str().unwrap_or("").to_string(), lag, truth_lag));
    }
    eprintln!("impact: x-outage (wave, peak lag, truth lag): {lags:?}");
    assert_eq!(outage["attack_explains_outage"], Value::Bool(true));
    assert_eq!(doc["impact"]["attack_explains_outage"], Value::Bool(true));
    // The lead's claim wiring reads report.impact: cause=attack is supported, as truth says.
    let c = claim(&doc, "cause=attack").expect("claims[] has cause=attack");
    assert_eq!(c["verdict"], "supported", "{c:#}");
    let truth_claim = truth["claims"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["claim"] == "cause=attack"))
        .expect("truth claim");
    assert_eq!(truth_claim["verdict"], "supported");
    // The access log saw the service struggle: 5xx answers during the waves.
    let web = &doc["impact"]["web"];
    assert!(web["requests"].as_u64().unwrap_or(0) > 0, "{web:#}");
    assert!(web["share_5xx"].as_f64().unwrap_or(0.0) > 0.05, "{web:#}");
}

#[test]
fn outage_without_attack_contradicts_cause_attack() {
    let dir = TempDir::new("impact-noattack");
    let truth = simulate("outage-no-attack", None, dir.path());
    let (doc, _) = analyze_with_impact(dir.path(), &[]);
    assert_eq!(
        doc["incidents"].as_array().map(Vec::len),
        Some(0),
        "benign traffic only: {:#}",
        doc["incidents"]
    );
    let outage = &doc["impact"]["outage"];
    let spikes = outage["spikes"].as_array().expect("spikes");
    assert!(
        !spikes.is_empty(),
        "the failure makes users report: {outage:#}"
    );
    assert!(spikes.iter().all(|s| s["after_wave"].is_null()));
    assert_eq!(outage["attack_explains_outage"], Value::Bool(false));
    let truth_claim = truth["claims"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["claim"] == "cause=attack"))
        .expect("truth claim");
    assert_eq!(truth_claim["verdict"], "contradicted");
    // The lead's claim wiring reads report.impact: cause=attack is contradicted.
    let c = claim(&doc, "cause=attack").expect("claims[] has cause=attack");
    assert_eq!(c["verdict"], "contradicted", "{c:#}");
}

#[test]
fn unreadable_report_lines_are_counted_not_fatal() {
    let dir = TempDir::new("impact-bad");
    simulate("x-outage", None, dir.path());
    let good = std::fs::read_to_string(dir.path().join("outage-reports.csv")).expect("csv");
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(3, "not a time,US,app,login");
    lines.insert(7, "2025-03-10T09:01:00Z,US,app,login,extra,fields");
    let bad = dir.write("outage-reports.csv", (lines.join("\n") + "\n").as_bytes());
    assert!(bad.is_file());
    dir.write("access.log", b"garbage line without a time\n");
    let (doc, stderr) = analyze_with_impact(dir.path(), &[]);
    let stats = &doc["impact"]["reports_input"];
    assert_eq!(stats["malformed"], 2, "{stats:#}");
    assert!(
        stderr.contains("2 of") && stderr.contains("outage reports not read"),
        "a warning with counts on stderr:\n{stderr}"
    );
    assert!(stderr.contains("access log not read"), "{stderr}");
    assert_eq!(doc["impact"]["logs_input"]["malformed"], 1);
    assert_eq!(doc["impact"]["outage"]["attack_explains_outage"], true);
}
