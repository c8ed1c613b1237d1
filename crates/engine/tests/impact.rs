//! Impact: outage reports as the simulator writes them, correlated with attack waves; web
//! logs, including the real access logs under ../shared/data/logs (a missing folder fails).

mod common;

use std::collections::BTreeMap;

use common::shared_data;
use floodtrace_engine::impact::{
    outage_impact, AttackWave, Impact, ImpactConfig, WebConfig, WebLog,
};
use floodtrace_engine::textlog::{parse_access_log, parse_outage_reports};
use floodtrace_sim::reports::{outage_reports, write_reports_csv, OutageModel};
use floodtrace_sim::rng::Rng;

const START: u64 = 1_741_600_000;
const NS: u64 = 1_000_000_000;

fn model() -> OutageModel {
    let w = |p: &[(&str, f64)]| -> BTreeMap<String, f64> {
        p.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    OutageModel {
        baseline_per_minute: 6.0,
        full_impact_per_minute: 450.0,
        delay_seconds: 90,
        decay_seconds: 150,
        channels: w(&[("app", 0.56), ("website", 0.33), ("other", 0.11)]),
        problems: w(&[("login", 0.35), ("feed", 0.3), ("server connection", 0.35)]),
        regions: w(&[("US", 0.5), ("GB", 0.5)]),
    }
}

/// Two hours; impact 1.0 during `[from, to)` seconds of each window.
fn impact_series(windows: &[(u64, u64)]) -> Vec<f64> {
    (0..7200u64)
        .map(|s| {
            if windows.iter().any(|&(a, b)| s >= a && s < b) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

fn csv_of(windows: &[(u64, u64)], seed: u64) -> String {
    let reps = outage_reports(
        &model(),
        START,
        &impact_series(windows),
        &mut Rng::new(seed, 1),
    );
    let mut out = Vec::new();
    write_reports_csv(&reps, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn wave(incident: u32, from: u64, to: u64) -> AttackWave {
    AttackWave {
        incident,
        victim: "198.51.100.10".into(),
        start_ns: (START + from) * NS,
        end_ns: (START + to) * NS,
    }
}

#[test]
fn simulated_reports_spike_after_each_wave() {
    let windows = [(1800, 2100), (4800, 5100)];
    let csv = csv_of(&windows, 5);
    let (reports, st) = parse_outage_reports(&csv);
    assert_eq!(st.format, "csv");
    assert_eq!(st.malformed, 0, "{:?}", st.examples);
    assert_eq!(st.records as usize, reports.len());
    assert_eq!(st.lines, st.records + 1, "header + one line per report");
    let waves = [wave(1, 1800, 2100), wave(2, 4800, 5100)];
    let imp = outage_impact(&reports, &waves, &ImpactConfig::default());
    assert_eq!(imp.spikes.len(), 2, "{:#?}", imp.spikes);
    for (s, w) in imp.spikes.iter().zip(&waves) {
        let c = s.after_wave.as_ref().expect("spike follows a wave");
        assert_eq!(c.wave_start, w.start_ns / NS);
        // Users report 90 s after the impact starts; the spike has minute resolution.
        assert!((0..=240).contains(&c.lag_seconds), "lag {}", c.lag_seconds);
        assert!(s.peak_reports > 100, "{s:?}");
        assert!(s.channels["app"] > s.channels["other"]);
        assert!(s.problems.contains_key("server connection"));
    }
    assert_eq!(imp.correlation.share_spikes_after_attack, Some(1.0));
    assert!(imp.correlation.share_attack_time_elevated.unwrap() > 0.9);
    assert!(
        (4.0..=8.0).contains(&imp.baseline_per_minute),
        "{}",
        imp.baseline_per_minute
    );
    assert_eq!(imp.attack_explains_outage, Some(true));
    // The result serialises (it feeds the report and a cause=attack claim).
    let j = serde_json::to_value(Impact::new(Some(st), Some(imp), None, None)).unwrap();
    assert_eq!(j["attack_explains_outage"], serde_json::json!(true));
}

#[test]
fn outage_without_attack_contradicts() {
    let csv = csv_of(&[(3000, 3600)], 9);
    let (reports, _) = parse_outage_reports(&csv);
    // The only wave is long before the outage.
    let imp = outage_impact(&reports, &[wave(1, 60, 300)], &ImpactConfig::default());
    assert_eq!(imp.spikes.len(), 1, "{:#?}", imp.spikes);
    assert!(imp.spikes[0].after_wave.is_none());
    assert_eq!(imp.attack_explains_outage, Some(false), "{}", imp.reason);
    assert_eq!(imp.correlation.share_attack_time_elevated, Some(0.0));
    // No reports spike at all: no verdict input.
    let (quiet, _) = parse_outage_reports(&csv_of(&[], 3));
    let imp = outage_impact(&quiet, &[wave(1, 60, 300)], &ImpactConfig::default());
    assert!(imp.spikes.is_empty(), "{:#?}", imp.spikes);
    assert_eq!(imp.attack_explains_outage, None);
}

#[test]
fn json_forms_read_like_csv() {
    let csv = csv_of(&[(600, 900)], 4);
    let (from_csv, _) = parse_outage_reports(&csv);
    let lines: Vec<String> = from_csv
        .iter()
        .map(|r| {
            serde_json::json!({"time": r.ts_ns / NS, "country": r.region, "channel": r.channel, "problem": r.problem})
                .to_string()
        })
        .collect();
    let (jl, st) = parse_outage_reports(&format!("{}\n{{broken\n", lines.join("\n")));
    assert_eq!(jl, from_csv);
    assert_eq!((st.format.as_str(), st.malformed), ("jsonl", 1));
    assert_eq!(st.examples[0].line, lines.len() as u64 + 1);
    let (arr, st) = parse_outage_reports(&format!("[\n{}\n]\n", lines.join(",\n")));
    assert_eq!(arr, from_csv);
    assert_eq!((st.format.as_str(), st.malformed), ("json", 0));
}

fn read_log(name: &str) -> String {
    let p = shared_data("logs").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Expected counts were derived with awk/grep, independently of the parser: the Elastic log
/// has 10,000 lines, all of the combined shape except line 8899, whose user-agent quote is
/// never closed (the line was cut); the fail2ban fixtures mix `# failJSON:` comments, blank
/// lines and (nginx-botsearch) four nginx *error*-log lines (lines 26, 29, 32, 35).
/// file, lines, records, skipped, malformed, malformed line numbers
type LogCase = (&'static str, u64, u64, u64, u64, &'static [u64]);

#[test]
fn real_access_logs_parse_with_every_bad_line_counted() {
    let cases: [LogCase; 4] = [
        // file, lines, records, skipped, malformed, malformed line numbers
        (
            "elastic_apache_access_combined.log",
            10_000,
            9_999,
            0,
            1,
            &[8899],
        ),
        ("fail2ban_apache-badbots.log", 8, 3, 5, 0, &[]),
        (
            "fail2ban_nginx-botsearch.log",
            35,
            8,
            23,
            4,
            &[26, 29, 32, 35],
        ),
        ("fail2ban_php-url-fopen.log", 2, 1, 1, 0, &[]),
    ];
    for (name, lines, records, skipped, malformed, bad_lines) in cases {
        let text = read_log(name);
        let mut web = WebLog::new(WebConfig::default());
        let mut n = 0u64;
        let st = parse_access_log(&text, |r| {
            n += 1;
            web.add(&r);
        });
        assert_eq!(
            (st.lines, st.records, st.skipped, st.malformed),
            (lines, records, skipped, malformed),
            "{name}: {:?}",
            st.examples
        );
        assert_eq!(n, records);
        let got: Vec<u64> = st.examples.iter().map(|m| m.line).collect();
        assert_eq!(got, bad_lines, "{name}");
        let w = web.finish();
        assert_eq!(w.requests, records);
        if name.starts_with("elastic") {
            assert_eq!(st.examples[0].reason, "combined.quote");
            assert_eq!(st.format, "combined");
            // 9,999 good lines from 1,753 clients (the cut line's client also has good
            // lines); three 500s.
            assert_eq!(w.clients, 1753);
            assert_eq!(w.status_classes.get("5xx"), Some(&3));
            assert_eq!(w.status_classes.values().sum::<u64>(), 9_999);
            assert!(w.series.iter().map(|p| p.requests).sum::<u64>() == 9_999);
        }
        if name.contains("nginx") {
            assert!(st.examples.iter().all(|m| m.reason == "combined.time"));
        }
    }
}

fn clf(ts: u64, client: &str, path: &str, status: u16, ua: &str) -> String {
    let (y, mo, d) = (2025, "Mar", 10);
    let s = ts % 86_400;
    format!(
        "{client} - - [{d:02}/{mo}/{y}:{:02}:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} 512 \"-\" \"{ua}\"\n",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[test]
fn http_flood_stands_out_from_a_flash_crowd() {
    // 2025-03-10T00:00:00Z.
    let day = 1_741_564_800u64;
    let mut log = String::new();
    for m in 0..60u64 {
        let t0 = day + m * 60;
        let users = if (20..30).contains(&m) { 200 } else { 40 };
        for u in 0..users {
            log += &clf(
                t0 + u % 60,
                &format!("192.0.2.{}", u % 250),
                &format!("/page/{u}"),
                200,
                "Mozilla/5.0",
            );
        }
        if (40..45).contains(&m) {
            // 20 bots, 100 requests per minute each, one URL, one user agent, many 503s.
            for i in 0..2000u64 {
                log += &clf(
                    t0 + i % 60,
                    &format!("203.0.113.{}", i % 20),
                    "/",
                    if i % 2 == 0 { 503 } else { 200 },
                    "Mirai",
                );
            }
        }
    }
    let mut web = WebLog::new(WebConfig::default());
    let st = parse_access_log(&log, |r| web.add(&r));
    assert_eq!(st.malformed, 0);
    let w = web.finish();
    assert_eq!(w.series.len(), 60);
    assert_eq!(
        w.floods.len(),
        1,
        "flash crowd at minutes 20-29 must not count: {:#?}",
        w.floods
    );
    let f = &w.floods[0];
    assert_eq!((f.start, f.end), (day + 40 * 60, day + 44 * 60));
    assert_eq!(f.top_clients.len(), 10);
    assert!(f.top_clients[0].client.starts_with("203.0.113."));
    assert!((f.top_clients[0].per_second - 100.0 * 5.0 / 300.0).abs() < 0.01);
    assert!(f.heavy_client_share > 0.9);
    assert!(f.top_user_agent_share > 0.9 && f.top_path_share > 0.9);
    assert!(f.share_5xx > 0.4);
    assert!(f.rate_factor.unwrap() > 10.0);
    let p = &w.series[42];
    assert_eq!((p.requests, p.errors_5xx), (2040, 1000));
}

/// Waves a few minutes apart keep reports above the baseline in between: the episode is
/// split into one surge per wave (the x-outage pattern, minute counts of its default seed).
#[test]
fn back_to_back_waves_give_one_surge_each() {
    use floodtrace_engine::impact::surges;
    let counts: Vec<(u64, u64)> = [
        33u64, 129, 194, 214, 139, 117, 105, 139, 127, 74, 57, 78, 129, 124, 100, 167, 264, 211,
        136,
    ]
    .iter()
    .enumerate()
    .map(|(i, &n)| (4 + i as u64, n))
    .collect();
    assert_eq!(surges(&counts), vec![(4, 10), (11, 14), (15, 18), (19, 22)]);
    // A noisy plateau is one surge.
    let flat: Vec<(u64, u64)> = [400u64, 380, 420, 395, 410, 370, 405, 415, 390]
        .iter()
        .enumerate()
        .map(|(i, &n)| (i as u64, n))
        .collect();
    assert_eq!(surges(&flat), vec![(0, 8)]);
    assert!(surges(&[]).is_empty());
}
