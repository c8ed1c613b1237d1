//! The `impact` section of the text report: outage-report spikes with the wave each
//! follows, the verdict input of `cause=attack`, and the access log's health.

use std::fmt::Write;

use floodtrace_engine::impact::Impact;

use crate::text::{group, pct};
use crate::time::rfc3339_s;

fn hm(t: u64) -> String {
    rfc3339_s(t)[11..16].to_string()
}

/// Append the impact section (nothing without impact data).
pub fn render(o: &mut String, impact: Option<&Impact>) {
    let Some(im) = impact else { return };
    let _ = writeln!(o);
    let _ = writeln!(o, "impact");
    for (what, stats) in [
        ("outage reports", &im.reports_input),
        ("access log", &im.logs_input),
    ] {
        if let Some(s) = stats {
            if s.malformed > 0 {
                let reasons: Vec<String> = s
                    .reasons
                    .iter()
                    .map(|(k, n)| format!("{k} × {n}"))
                    .collect();
                let _ = writeln!(
                    o,
                    "  {what}: {} of {} lines not read ({})",
                    group(s.malformed),
                    group(s.lines),
                    reasons.join(", ")
                );
            }
        }
    }
    if let Some(out) = &im.outage {
        let verdict = match out.attack_explains_outage {
            Some(true) => "the attack explains the outage",
            Some(false) => "the attack does not explain the outage",
            None => "undecided",
        };
        let _ = writeln!(
            o,
            "  outage reports: {} reports, baseline {:.1}/min, {} spike(s): {verdict} ({})",
            group(out.reports),
            out.baseline_per_minute,
            out.spikes.len(),
            out.reason
        );
        for (n, s) in out.spikes.iter().enumerate() {
            let after = match &s.after_wave {
                Some(c) => format!(
                    "after incident #{} ({}) wave at {}: lag {} s, peak {} s after",
                    c.incident,
                    c.victim,
                    hm(c.wave_start),
                    c.lag_seconds,
                    c.peak_lag_seconds
                ),
                None => "after no attack wave".to_string(),
            };
            let _ = writeln!(
                o,
                "    spike {} {}–{}  {} reports, peak {}/min at {}; {after}",
                n + 1,
                hm(s.start),
                hm(s.end),
                group(s.reports),
                group(s.peak_reports),
                hm(s.peak_minute)
            );
        }
    }
    if let Some(w) = &im.web {
        let lat = match (w.latency_ms_p50, w.latency_ms_p95) {
            (Some(a), Some(b)) => format!(", latency p50 {a:.0} ms p95 {b:.0} ms"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "  access log: {} requests from {} clients, {} 5xx{lat}",
            group(w.requests),
            group(w.clients),
            pct(w.share_5xx)
        );
        for f in &w.floods {
            let _ = writeln!(
                o,
                "    HTTP-flood signal {}–{}: {} requests, {:.1} req/s at peak{}, {} clients, {} from heavy clients",
                hm(f.start),
                hm(f.end),
                group(f.requests),
                f.peak_per_second,
                f.rate_factor
                    .map(|x| format!(" ({x:.1} × baseline)"))
                    .unwrap_or_default(),
                group(f.clients),
                pct(f.heavy_client_share)
            );
        }
    }
}
