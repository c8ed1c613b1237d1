//! Markdown rendering (GitHub-flavoured tables) of the same [`View`] the HTML report reads:
//! headline verdicts, incidents, claims, sources, impact, mitigation and provenance, without
//! charts. For tickets, chat and pull requests. Deterministic like the other formats.

use std::fmt::Write;

use serde_json::Value;

use crate::model::AnalysisReport;
use crate::text::{end_after, group, human_bits, human_duration, pct};
use crate::view::{combined_groups, headlines, View};

/// Render a report as Markdown.
pub fn render(report: &AnalysisReport) -> String {
    let v = serde_json::to_value(report).expect("report types always serialise");
    render_value(&v)
}

/// Markdown table cell: pipes and line breaks escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Render a serialised report as Markdown.
pub fn render_value(raw: &Value) -> String {
    let v = View::from_value(raw);
    let mut o = String::new();
    let _ = writeln!(o, "# floodtrace report\n");
    if let (Some(a), Some(b)) = (&v.totals.start, &v.totals.end) {
        let _ = writeln!(
            o,
            "{} → {} ({}), {} packets, {} destinations.\n",
            &a[..19.min(a.len())],
            &b[..19.min(b.len())],
            human_duration(v.totals.duration_seconds),
            group(v.totals.packets),
            group(v.totals.destinations)
        );
    }
    let _ = writeln!(o, "## Verdicts\n");
    for h in headlines(&v) {
        let _ = writeln!(o, "- **{}**: {}", cell(&h.label), cell(&h.value));
    }
    let _ = writeln!(o, "\n## Incidents\n");
    if v.incidents.is_empty() {
        let _ = writeln!(o, "No attack was detected.");
    } else {
        let _ = writeln!(
            o,
            "| # | victim | start (UTC) | end | waves | peak pps | peak bps | sources | vectors |\n|---|---|---|---|--:|--:|--:|--:|---|"
        );
        for i in &v.incidents {
            let vectors: Vec<String> = i
                .vectors
                .iter()
                .map(|x| format!("{} {}", x.name, pct(x.share)))
                .collect();
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |",
                i.id,
                cell(&i.victim),
                &i.start[..19.min(i.start.len())],
                end_after(&i.start, &i.end),
                i.waves.len(),
                group(i.waves.iter().map(|w| w.peak_pps).max().unwrap_or(0)),
                human_bits(i.waves.iter().map(|w| w.peak_bps).max().unwrap_or(0)),
                group(i.distinct_sources),
                cell(&vectors.join(", "))
            );
        }
        for i in &v.incidents {
            for f in &i.fingerprints {
                let _ = writeln!(
                    o,
                    "\nIncident {}: {} `{}` fingerprint, {} of packets match ({}).",
                    i.id,
                    f.family,
                    f.vector,
                    pct(f.match_share),
                    f.fields.join(", ")
                );
            }
        }
    }
    if !v.claims.is_empty() {
        let _ = writeln!(o, "\n## Claims\n");
        for c in &v.claims {
            let _ = writeln!(
                o,
                "### `{}`: {}\n\n{}\n",
                c.claim,
                c.verdict.to_uppercase(),
                c.explanation
            );
            for (k, x) in &c.figures {
                let _ = writeln!(o, "- {k}: {x}");
            }
            if !c.caveats.is_empty() {
                let _ = writeln!(o, "\nCaveats:\n");
                for x in &c.caveats {
                    let _ = writeln!(o, "- {x}");
                }
            }
        }
    }
    let countries = combined_groups(&v, false);
    if !countries.is_empty() {
        let _ = writeln!(
            o,
            "\n## Sources\n\n| country | sources | packets |\n|---|--:|--:|"
        );
        for g in countries.iter().take(12) {
            let _ = writeln!(
                o,
                "| {} {} | {} | {} |",
                g.key,
                cell(&g.name),
                pct(g.sources_share),
                pct(g.packets_share)
            );
        }
        for i in &v.incidents {
            if let Some(p) = &i.source_profile {
                let _ = writeln!(
                    o,
                    "\nIncident {} spoofing: **{}**. {}",
                    i.id,
                    p.spoofing.verdict.replace('_', " "),
                    p.spoofing.explanation
                );
            }
        }
    }
    if let Some(out) = v.impact.as_ref().and_then(|i| i.outage.as_ref()) {
        let _ = writeln!(
            o,
            "\n## Impact\n\n{} outage reports, baseline {:.1}/min. {}.\n",
            group(out.reports),
            out.baseline_per_minute,
            out.reason
        );
        if !out.spikes.is_empty() {
            let _ = writeln!(
                o,
                "| spike (UTC) | reports | peak/min | after incident | lag to start | lag to peak |\n|---|--:|--:|---|--:|--:|"
            );
            for s in &out.spikes {
                let (inc, lag, peak) = match &s.after_wave {
                    Some(c) => (
                        format!("#{} `{}`", c.incident, c.victim),
                        format!("{} s", c.lag_seconds),
                        format!("{} s", c.peak_lag_seconds),
                    ),
                    None => ("none".into(), "–".into(), "–".into()),
                };
                let _ = writeln!(
                    o,
                    "| {}–{} | {} | {} | {inc} | {lag} | {peak} |",
                    &crate::time::rfc3339_s(s.start)[11..16],
                    &crate::time::rfc3339_s(s.end)[11..16],
                    group(s.reports),
                    group(s.peak_reports)
                );
            }
        }
    }
    let _ = writeln!(o, "\n## Provenance\n");
    for i in &v.inputs {
        let _ = writeln!(
            o,
            "- `{}` ({}, {} records{})",
            i.path,
            i.format,
            group(i.packets),
            if i.complete { "" } else { ", partial" }
        );
    }
    for d in &v.geo.data {
        let _ = writeln!(
            o,
            "- geo data ({}): {} {}, licence {}",
            d.kind, d.name, d.version, d.licence
        );
    }
    for p in &v.provenance {
        let _ = writeln!(o, "- {p}");
    }
    let _ = writeln!(o, "- floodtrace {}", v.generator.version);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_report_renders() {
        let s = render_value(&serde_json::json!({}));
        assert!(s.contains("## Verdicts"));
        assert!(s.contains("no attack found"));
    }

    /// Vector shares have one decimal, and a vector that is there never reads 0 % beside
    /// one that reads 100 % (they were whole percent).
    #[test]
    fn vector_shares_keep_a_decimal() {
        let incident = serde_json::json!({
            "id": 1,
            "victim": "192.0.2.1",
            "vectors": [
                {"name": "syn_flood", "share": 0.9996, "packets": 9996},
                {"name": "udp_flood", "share": 0.0004, "packets": 4},
            ],
        });
        let s = render_value(&serde_json::json!({ "incidents": [incident.clone()] }));
        assert!(s.contains("syn_flood >99.9 %, udp_flood <0.1 %"), "{s}");
        let mut half = incident;
        half["vectors"][0]["share"] = 0.556.into();
        half["vectors"][1]["share"] = 0.444.into();
        let s = render_value(&serde_json::json!({ "incidents": [half.clone()] }));
        assert!(s.contains("syn_flood 55.6 %, udp_flood 44.4 %"), "{s}");
        let h = crate::html::render_value(&serde_json::json!({ "incidents": [half] }));
        assert!(h.contains("syn_flood 55.6 %"), "{h}");
    }
}
