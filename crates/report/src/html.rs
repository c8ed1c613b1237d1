//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network
//! access) for people who were not at the console.
//!
//! Sections, each with a stable element id (the browser test looks for them):
//! `verdicts` (headline verdicts), `timeline` (SVG: attack pps per vector, stacked; outage
//! reports per minute; waves and report spikes marked), `incidents`, `claims`, `map` (SVG
//! world map of source countries) with `countries` and `asns` bars, `spoofing`,
//! `fingerprints`, `scanning`, `impact`, `mitigation`, `provenance`. A panel whose data the
//! report does not carry is left out, except the map, which then says why it is grey.
//!
//! Rendered from the serialised report ([`View`]), deterministically: the same report gives
//! the same bytes (no clock, no randomness, maps ordered).

use std::fmt::Write;

use floodtrace_engine::mitigate::{plan, Action, PlanConfig, ReportInput, Rule};
use serde_json::Value;

use crate::chart::{self, esc};
use crate::model::AnalysisReport;
use crate::text::{end_after, group, human_bits, human_bytes, human_duration, pct};
use crate::view::{combined_groups, headlines, GroupView, View};

const CSS: &str = r#"
:root{--fg:#1d1d1f;--muted:#666;--line:#e2e2e2;--good:#1a7f37;--bad:#c0262d;--neutral:#8a6d00;--bg:#fff;--panel:#fafafa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg);margin:0}
main{max-width:1040px;margin:0 auto;padding:16px 24px 48px}
header h1{font-size:22px;margin:8px 0 2px}
header p{margin:0;color:var(--muted)}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
section{margin:0}
.muted{color:var(--muted);fill:#777}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:8px;margin:14px 0}
.card{border:1px solid var(--line);border-left:5px solid var(--neutral);border-radius:6px;padding:8px 10px;background:var(--panel)}
.card.good{border-left-color:var(--good)}.card.bad{border-left-color:var(--bad)}
.card .k{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.card .v{font-weight:600}
.chip{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--neutral)}
.chip.good{background:var(--good)}.chip.bad{background:var(--bad)}
svg.chart{width:100%;height:auto;display:block;font:11px system-ui,sans-serif}
svg .ax{font-size:11px;fill:#555}
svg .wl{font-size:10px;fill:#4a7bd0;font-weight:600}
.legend-row{display:flex;flex-wrap:wrap;gap:12px;margin:6px 0 0;font-size:12px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-2px}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;background:var(--panel)}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f2f2f2;padding:1px 4px;border-radius:3px;word-break:break-all}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:20px}
@media (max-width:760px){.cols{grid-template-columns:1fr}}
.bars .bar{display:grid;grid-template-columns:170px 1fr 60px;gap:6px;align-items:center;margin:3px 0;font-size:12px}
.bars .bl{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.bars .bt{background:#eee;height:12px;border-radius:2px;overflow:hidden}
.bars .bf{display:block;height:100%}
.bars .bv{text-align:right;font-variant-numeric:tabular-nums}
.claim{border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:8px 0;background:var(--panel)}
.claim h3{margin:0 0 6px;font-size:15px}
details summary{cursor:pointer;color:var(--muted)}
ul.rules li{margin:4px 0}
footer{margin-top:36px;padding-top:10px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
@media print{main{max-width:none}h2{break-after:avoid}}
"#;

/// Render a report as HTML.
pub fn render(report: &AnalysisReport) -> String {
    let v = serde_json::to_value(report).expect("report types always serialise");
    render_value(&v)
}

/// Render a serialised report (e.g. read back from `analyze --format json`) as HTML.
pub fn render_value(v: &Value) -> String {
    let view = View::from_value(v);
    let mut o = String::with_capacity(256 * 1024);
    let title = match view.inputs.first() {
        Some(i) if view.inputs.len() == 1 => format!("floodtrace report: {}", i.path),
        Some(i) => format!(
            "floodtrace report: {} and {} more",
            i.path,
            view.inputs.len() - 1
        ),
        None => "floodtrace report".to_string(),
    };
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="floodtrace {}">
<link rel="icon" href="data:,">
<title>{}</title>
<style>{CSS}</style>
</head>
<body>
<main>
"#,
        esc(&view.generator.version),
        esc(&title)
    );
    header(&mut o, &view, &title);
    timeline(&mut o, &view);
    incidents(&mut o, &view);
    claims(&mut o, &view);
    sources(&mut o, &view);
    spoofing(&mut o, &view);
    fingerprints(&mut o, &view);
    scanning(&mut o, &view);
    impact(&mut o, &view);
    mitigation(&mut o, v, &view);
    provenance(&mut o, &view);
    let _ = write!(
        o,
        r#"<footer>Generated by floodtrace {} from the evidence listed under provenance; every figure comes from the report's JSON document (docs/FORMATS.md). {}</footer>
</main>
</body>
</html>
"#,
        esc(&view.generator.version),
        esc(chart::MAP_CREDIT)
    );
    o
}

fn short_time(s: &str) -> &str {
    &s[..19.min(s.len())]
}

fn header(o: &mut String, v: &View, title: &str) {
    let t = &v.totals;
    let span = match (&t.start, &t.end) {
        (Some(a), Some(b)) => format!(
            "{} → {} UTC ({})",
            short_time(a).replace('T', " "),
            end_after(a, b).replace('T', " "),
            human_duration(t.duration_seconds)
        ),
        _ => "no IP packets".into(),
    };
    let _ = write!(
        o,
        r#"<header><h1>{}</h1><p>{span} · {} packets, {} · {} destinations</p></header>
<section id="verdicts" aria-label="Headline verdicts"><div class="cards">"#,
        esc(title),
        group(t.packets),
        human_bytes(t.bytes),
        group(t.destinations),
    );
    for h in headlines(v) {
        let _ = write!(
            o,
            r#"<div class="card {}"><div class="k">{}</div><div class="v">{}</div></div>"#,
            h.tone.name(),
            esc(&h.label),
            esc(&h.value)
        );
    }
    o.push_str("</div></section>\n");
}

fn timeline(o: &mut String, v: &View) {
    let (svg, legend) = chart::timeline(v);
    o.push_str(r#"<section id="timeline-panel"><h2>Timeline</h2>"#);
    o.push_str(&svg);
    o.push_str(r#"<div class="legend-row">"#);
    for (label, c) in &legend {
        let _ = write!(
            o,
            r#"<span><span class="sw" style="background:{c}"></span>{}</span>"#,
            esc(label)
        );
    }
    let _ = write!(
        o,
        r#"<span><span class="sw" style="background:#c8c8c8"></span>all traffic to the listed destinations</span><span><span class="sw" style="background:#4a7bd0;opacity:.3"></span>attack waves (W1, W2, …)</span>{}</div>
<p class="muted">Attack packets per second are the victims' per-second counts of the traffic class each vector is made of, during its waves (mean per {}); hover over a wave or a report spike for its figures.</p></section>
"#,
        if v.impact.as_ref().is_some_and(|i| i.outage.is_some()) {
            format!(
                r#"<span><span class="sw" style="background:{}"></span>report spikes</span>"#,
                chart::REPORT_COLOUR
            )
        } else {
            String::new()
        },
        match chart::span(v) {
            Some((a, b)) if b - a + 1 > 840 => format!("{} s column", (b - a + 1).div_ceil(840)),
            _ => "second".into(),
        }
    );
}

fn incidents(o: &mut String, v: &View) {
    o.push_str(r#"<section id="incidents"><h2>Incidents</h2>"#);
    if v.incidents.is_empty() {
        o.push_str("<p>No attack was detected.</p></section>\n");
        return;
    }
    o.push_str(r#"<table><thead><tr><th>#</th><th>victim</th><th>start → end (UTC)</th><th class="n">waves</th><th class="n">peak pps</th><th class="n">peak bps</th><th class="n">sources</th><th>vectors</th></tr></thead><tbody>"#);
    for i in &v.incidents {
        let peak = i.waves.iter().map(|w| w.peak_pps).max().unwrap_or(0);
        let peak_bps = i.waves.iter().map(|w| w.peak_bps).max().unwrap_or(0);
        let vectors: Vec<String> = i
            .vectors
            .iter()
            .map(|x| {
                let port = x
                    .source_port
                    .map(|p| format!(" (port {p})"))
                    .unwrap_or_default();
                format!("{}{port} {}", esc(&x.name), pct(x.share))
            })
            .collect();
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td><code>{}</code></td><td>{} → {}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            i.id,
            esc(&i.victim),
            esc(&short_time(&i.start).replace('T', " ")),
            esc(&end_after(&i.start, &i.end).replace('T', " ")),
            i.waves.len(),
            group(peak),
            human_bits(peak_bps),
            group(i.distinct_sources),
            vectors.join(", ")
        );
    }
    o.push_str("</tbody></table>");
    for c in &v.campaigns {
        let ids: Vec<String> = c.members.iter().map(|m| format!("#{m}")).collect();
        let _ = write!(
            o,
            r#"<p class="campaign"><b>Campaign {}</b> (incidents {}): {}</p>"#,
            c.id,
            ids.join(", "),
            esc(&c.summary)
        );
    }
    o.push_str("</section>\n");
}

fn claims(o: &mut String, v: &View) {
    if v.claims.is_empty() {
        return;
    }
    o.push_str(r#"<section id="claims"><h2>Claims</h2>"#);
    for c in &v.claims {
        let tone = crate::view::Tone::of_verdict(&c.verdict);
        let _ = write!(
            o,
            r#"<div class="claim"><h3><code>{}</code> <span class="chip {}">{}</span></h3><p>{}</p>"#,
            esc(&c.claim),
            tone.name(),
            esc(&c.verdict),
            esc(&c.explanation)
        );
        if !c.figures.is_empty() {
            o.push_str("<table><tbody>");
            for (k, x) in &c.figures {
                let _ = write!(
                    o,
                    r#"<tr><td>{}</td><td class="n">{}</td></tr>"#,
                    esc(k),
                    figure(k, *x)
                );
            }
            o.push_str("</tbody></table>");
        }
        if !c.caveats.is_empty() {
            let _ = write!(
                o,
                "<details><summary>{} caveat(s)</summary><ul>",
                c.caveats.len()
            );
            for x in &c.caveats {
                let _ = write!(o, "<li>{}</li>", esc(x));
            }
            o.push_str("</ul></details>");
        }
        o.push_str("</div>");
    }
    o.push_str("</section>\n");
}

/// A claim figure: shares as percentages, counts grouped.
fn figure(key: &str, x: f64) -> String {
    if key.contains("share") || key.contains("fraction") {
        pct(x)
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        if x < 0.0 {
            format!("-{}", group(x.abs() as u64))
        } else {
            group(x as u64)
        }
    } else {
        format!("{x:.3}")
    }
}

fn group_rows(groups: &[GroupView], n: usize) -> Vec<(String, f64, String)> {
    groups
        .iter()
        .take(n)
        .map(|g| {
            let label = format!("{} {}", g.key, g.name);
            let tip = format!(
                "{}: {} of sources (±{:.1} points), {} of packets, ~{} sources",
                label,
                pct(g.sources_share),
                g.sources_share_ci95 * 100.0,
                pct(g.packets_share),
                group(g.estimated_sources)
            );
            (label, g.sources_share, tip)
        })
        .collect()
}

fn sources(o: &mut String, v: &View) {
    let countries = combined_groups(v, false);
    let asns = combined_groups(v, true);
    o.push_str(r#"<section id="sources"><h2>Where the sources are</h2>"#);
    o.push_str(&chart::world_map(&countries));
    if countries.is_empty() {
        o.push_str(r#"<p class="muted" id="map-note">This report carries no source attribution (no <code>source_profile</code> in its incidents), so the map is grey.</p></section>"#);
        o.push('\n');
        return;
    }
    let profiles = v
        .incidents
        .iter()
        .filter(|i| i.source_profile.is_some())
        .count();
    let _ = write!(
        o,
        r#"<p class="muted">Shaded by share of distinct source addresses{}. Botnet source addresses show where infected devices are, not who controls them; forged addresses locate nothing.</p><div class="cols"><div><h3>Countries</h3>{}</div><div><h3>Autonomous systems</h3>{}</div></div>"#,
        if profiles > 1 {
            format!(" over {profiles} incidents (estimated sources summed)")
        } else {
            String::new()
        },
        chart::bars("countries", &group_rows(&countries, 12), "#b0413e"),
        if asns.is_empty() {
            r#"<p class="muted">No AS data.</p>"#.to_string()
        } else {
            chart::bars("asns", &group_rows(&asns, 12), "#4a7bd0")
        }
    );
    for i in &v.incidents {
        if let Some(p) = &i.source_profile {
            if !p.summary.is_empty() || !p.sample.note.is_empty() {
                let _ = write!(o, "<h3>Incident #{} ({})</h3><ul>", i.id, esc(&i.victim));
                for s in &p.summary {
                    let _ = write!(o, "<li>{}</li>", esc(s));
                }
                if !p.sample.note.is_empty() {
                    let _ = write!(o, r#"<li class="muted">{}</li>"#, esc(&p.sample.note));
                }
                o.push_str("</ul>");
            }
        }
    }
    o.push_str("</section>\n");
}

fn spoofing(o: &mut String, v: &View) {
    let with: Vec<_> = v
        .incidents
        .iter()
        .filter_map(|i| i.source_profile.as_ref().map(|p| (i, p)))
        .collect();
    if with.is_empty() {
        return;
    }
    o.push_str(r#"<section id="spoofing"><h2>Spoofing</h2>"#);
    for (i, p) in with {
        let s = &p.spoofing;
        let tone = match s.verdict.as_str() {
            "not_spoofed" => "good",
            "spoofed" => "bad",
            _ => "neutral",
        };
        let _ = write!(
            o,
            r#"<h3>Incident #{} <code>{}</code> <span class="chip {tone}">{}</span>{}</h3><p>{}</p>"#,
            i.id,
            esc(&i.victim),
            esc(&s.verdict.replace('_', " ")),
            s.spoofed_fraction
                .map(|f| format!(" estimated forged share {}", pct(f)))
                .unwrap_or_default(),
            esc(&s.explanation)
        );
        o.push_str("<details><summary>the five tests and their power</summary><table><thead><tr><th>test</th><th>indicates</th><th>power</th></tr></thead><tbody>");
        for (name, t) in [
            ("bogon sources", &s.bogons),
            ("address-space uniformity", &s.uniformity),
            ("TTL consistency", &s.ttl),
            ("TCP handshakes", &s.handshake),
            ("backscatter", &s.backscatter),
        ] {
            let Some(t) = t else { continue };
            let get = |k: &str| {
                t.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .replace('_', " ")
            };
            let _ = write!(
                o,
                "<tr><td>{name}</td><td>{}</td><td>{}</td></tr>",
                esc(&get("indicates")),
                esc(&get("power"))
            );
        }
        o.push_str("</tbody></table></details>");
    }
    o.push_str("</section>\n");
}

fn fingerprints(o: &mut String, v: &View) {
    if v.incidents.iter().all(|i| i.fingerprints.is_empty()) {
        return;
    }
    o.push_str(r#"<section id="fingerprints"><h2>Botnet fingerprints</h2><table><thead><tr><th>incident</th><th>family</th><th>attack</th><th class="n">match</th><th class="n">packets</th><th>fields</th></tr></thead><tbody>"#);
    for i in &v.incidents {
        for f in &i.fingerprints {
            let _ = write!(
                o,
                r#"<tr><td>#{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
                i.id,
                esc(&f.family),
                esc(&f.vector),
                pct(f.match_share),
                group(f.packets),
                f.fields
                    .iter()
                    .map(|x| format!("<code>{}</code>", esc(x)))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    o.push_str(r#"</tbody></table><p class="muted">A fingerprint means the packets carry a botnet's stock defaults (Mirai's attack code); it names the tool, not who used it.</p></section>"#);
    o.push('\n');
}

fn scanning(o: &mut String, v: &View) {
    if v.scanning.is_empty() {
        return;
    }
    o.push_str(r#"<section id="scanning"><h2>Scanning</h2><table><thead><tr><th>kind</th><th class="n">probes</th><th class="n">with Mirai signature</th><th class="n">sources</th><th>heaviest</th></tr></thead><tbody>"#);
    for s in &v.scanning {
        let what = match &s.family {
            Some(f) => format!("{} scanner (seq = destination address)", esc(f)),
            None => "IoT telnet / exploit-port scanning, no Mirai signature".into(),
        };
        let shown: Vec<String> = s
            .sources
            .iter()
            .take(5)
            .map(|x| format!("<code>{}</code>", esc(&x.address)))
            .collect();
        let _ = write!(
            o,
            r#"<tr><td>{what}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}{}</td><td>{}</td></tr>"#,
            group(s.packets),
            group(s.mirai_packets),
            if s.complete { "" } else { "≥ " },
            group(s.sources.len() as u64),
            shown.join(" ")
        );
    }
    o.push_str("</tbody></table></section>\n");
}

fn impact(o: &mut String, v: &View) {
    let Some(im) = &v.impact else { return };
    o.push_str(r#"<section id="impact"><h2>Impact</h2>"#);
    if let Some(out) = &im.outage {
        let tone = match out.attack_explains_outage {
            Some(true) => "bad",
            Some(false) => "good",
            None => "neutral",
        };
        let word = match out.attack_explains_outage {
            Some(true) => "attack explains the outage",
            Some(false) => "attack does not explain the outage",
            None => "undecided",
        };
        let _ = write!(
            o,
            r#"<h3>Outage reports <span class="chip {tone}">{word}</span></h3><p>{} reports, baseline {:.1} per minute. {}.</p>"#,
            group(out.reports),
            out.baseline_per_minute,
            esc(&out.reason)
        );
        if !out.spikes.is_empty() {
            o.push_str(r#"<table><thead><tr><th>spike</th><th>minutes (UTC)</th><th class="n">reports</th><th class="n">peak/min</th><th>after wave</th><th class="n">lag to start</th><th class="n">lag to peak</th></tr></thead><tbody>"#);
            for (n, s) in out.spikes.iter().enumerate() {
                let a = crate::time::rfc3339_s(s.start);
                let b = crate::time::rfc3339_s(s.end);
                let (wave, lag, peak_lag) = match &s.after_wave {
                    Some(c) => (
                        format!("incident #{} <code>{}</code>", c.incident, esc(&c.victim)),
                        format!("{} s", c.lag_seconds),
                        format!("{} s", c.peak_lag_seconds),
                    ),
                    None => ("none".into(), "–".into(), "–".into()),
                };
                let _ = write!(
                    o,
                    r#"<tr><td>{}</td><td>{}–{}</td><td class="n">{}</td><td class="n">{}</td><td>{wave}</td><td class="n">{lag}</td><td class="n">{peak_lag}</td></tr>"#,
                    n + 1,
                    &a[11..16],
                    &b[11..16],
                    group(s.reports),
                    group(s.peak_reports),
                );
            }
            o.push_str("</tbody></table>");
        }
        let top = |m: &std::collections::BTreeMap<String, u64>| {
            let mut l: Vec<(&String, &u64)> = m.iter().collect();
            l.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            l.iter()
                .take(6)
                .map(|(k, n)| format!("{} {}", esc(k), group(**n)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            o,
            r#"<p class="muted">Channels: {}. Problems: {}. Regions: {}.</p>"#,
            top(&out.channels),
            top(&out.problems),
            top(&out.regions)
        );
    }
    if let Some(w) = &im.web {
        let lat = match (w.latency_ms_p50, w.latency_ms_p95) {
            (Some(a), Some(b)) => format!(", latency p50 {a:.0} ms, p95 {b:.0} ms"),
            _ => String::new(),
        };
        let _ = write!(
            o,
            r#"<h3>Access log</h3><p>{} requests from {} clients; {} answered 5xx{lat}.</p>"#,
            group(w.requests),
            group(w.clients),
            pct(w.share_5xx)
        );
        if !w.floods.is_empty() {
            o.push_str(r#"<table><thead><tr><th>HTTP-flood signal (UTC)</th><th class="n">requests</th><th class="n">× baseline</th><th class="n">peak req/s</th><th class="n">clients</th><th class="n">heavy-client share</th><th class="n">5xx</th></tr></thead><tbody>"#);
            for f in &w.floods {
                let _ = write!(
                    o,
                    r#"<tr><td>{}–{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{:.1}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                    &crate::time::rfc3339_s(f.start)[11..16],
                    &crate::time::rfc3339_s(f.end)[11..16],
                    group(f.requests),
                    f.rate_factor
                        .map(|x| format!("{x:.1}"))
                        .unwrap_or_else(|| "–".into()),
                    f.peak_per_second,
                    group(f.clients),
                    pct(f.heavy_client_share),
                    pct(f.share_5xx)
                );
            }
            o.push_str("</tbody></table>");
        }
    }
    o.push_str("</section>\n");
}

/// One rule as a FlowSpec-style line.
fn rule_line(r: &Rule) -> String {
    let mut m = vec![format!("destination {}", r.destination)];
    if let Some(p) = r.protocol {
        m.push(format!(
            "protocol {}",
            match p {
                6 => "tcp".to_string(),
                17 => "udp".to_string(),
                1 => "icmp".to_string(),
                58 => "icmpv6".to_string(),
                47 => "gre".to_string(),
                n => n.to_string(),
            }
        ));
    }
    if !r.source_ports.is_empty() {
        let ports: Vec<String> = r.source_ports.iter().map(u16::to_string).collect();
        m.push(format!("source-port {}", ports.join(",")));
    }
    if let Some(f) = r.tcp_flags {
        let names = |bits: u8| {
            [(0x02, "syn"), (0x10, "ack"), (0x04, "rst"), (0x01, "fin")]
                .iter()
                .filter(|(b, _)| bits & b != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
        };
        let mut parts: Vec<String> = names(f.set).iter().map(|s| s.to_string()).collect();
        parts.extend(names(f.clear).iter().map(|s| format!("!{s}")));
        m.push(format!("tcp-flags {}", parts.join("&")));
    }
    if let Some(l) = r.min_packet_length {
        m.push(format!("packet-length >= {l}"));
    }
    if r.fragment {
        m.push("fragment".into());
    }
    if !r.sources.is_empty() {
        m.push(format!("{} source address(es)", r.sources.len()));
    }
    let action = match r.action {
        Action::Discard => "discard".to_string(),
        Action::RateLimit(b) => format!("rate-limit {} B/s", group(b)),
    };
    format!("{} then {action}", m.join(", "))
}

fn mitigation(o: &mut String, raw: &Value, v: &View) {
    if v.incidents.is_empty() {
        return;
    }
    let Ok(input) = serde_json::from_value::<ReportInput>(raw.clone()) else {
        return;
    };
    let p = plan(&input, &[], &PlanConfig::default());
    o.push_str(r#"<section id="mitigation"><h2>Mitigation suggestions</h2><p class="muted">From <code>floodtrace mitigate</code>'s planner without an allow-list: check the rules against your own addresses (<code>--allow FILE</code>) before using them. Each rule expires one hour after its incident.</p><ul class="rules">"#);
    const MAX: usize = 12;
    for r in p.rules.iter().filter(|r| r.sources.is_empty()).take(MAX) {
        let _ = write!(
            o,
            r#"<li><b>FlowSpec</b> <code>{}</code> — incident #{} {} ({}), expires {}</li>"#,
            esc(&rule_line(r)),
            r.incident,
            esc(&r.vector),
            pct(r.share),
            esc(&floodtrace_engine::mitigate::rfc3339(r.expires_ns))
        );
    }
    let flowspec = p.rules.iter().filter(|r| r.sources.is_empty()).count();
    if flowspec > MAX {
        let _ = write!(o, "<li>… and {} more rules</li>", flowspec - MAX);
    }
    for b in &p.blackholes {
        let _ = write!(
            o,
            r#"<li><b>RTBH</b> <code>{} next-hop {} community {}</code> — incident #{}: last resort, drops all traffic to the victim</li>"#,
            b.prefix,
            b.next_hop,
            floodtrace_engine::mitigate::BLACKHOLE,
            b.incident
        );
    }
    o.push_str("</ul>");
    if !p.dropped.is_empty() {
        o.push_str(r#"<details><summary>not covered</summary><ul>"#);
        for d in &p.dropped {
            let _ = write!(
                o,
                "<li>incident #{} {}: {}</li>",
                d.incident,
                esc(&d.what),
                esc(&d.reason)
            );
        }
        o.push_str("</ul></details>");
    }
    o.push_str(r#"<p class="muted">Full rule sets: <code>floodtrace mitigate report.json --as exabgp|gobgp|rtbh|nftables|ddosdb</code>.</p></section>"#);
    o.push('\n');
}

fn generic(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| format!("{}: {}", esc(k), generic(x)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(a) => a.iter().map(generic).collect::<Vec<_>>().join("; "),
        Value::String(s) => esc(s),
        Value::Null => "–".into(),
        x => esc(&x.to_string()),
    }
}

fn provenance(o: &mut String, v: &View) {
    o.push_str(r#"<section id="provenance"><h2>Provenance</h2><table><thead><tr><th>input</th><th>format</th><th class="n">records</th><th class="n">size</th><th>state</th></tr></thead><tbody>"#);
    for i in &v.inputs {
        let state = if i.complete {
            "complete".to_string()
        } else {
            let e: Vec<String> = i
                .errors
                .iter()
                .filter(|e| !matches!(e.kind.as_str(), "skipped" | "warning"))
                .map(|e| format!("{} × {}", esc(&e.reason), group(e.count)))
                .collect();
            format!("<b>partial</b>: {}", e.join(", "))
        };
        let _ = write!(
            o,
            r#"<tr><td><code>{}</code></td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td>{state}</td></tr>"#,
            esc(&i.path),
            esc(&i.format),
            group(i.packets),
            human_bytes(i.bytes)
        );
    }
    if let Some(im) = &v.impact {
        for (what, p) in [
            ("outage reports", &im.reports_input),
            ("access log", &im.logs_input),
        ] {
            let Some(p) = p else { continue };
            let state = if p.malformed == 0 {
                "complete".to_string()
            } else {
                let r: Vec<String> = p
                    .reasons
                    .iter()
                    .map(|(k, n)| format!("{} × {}", esc(k), group(*n)))
                    .collect();
                format!(
                    "{} of {} lines not read: {}",
                    group(p.malformed),
                    group(p.lines),
                    r.join(", ")
                )
            };
            let _ = write!(
                o,
                r#"<tr><td>{what}</td><td>{}</td><td class="n">{}</td><td class="n">{} lines</td><td>{state}</td></tr>"#,
                esc(&p.format),
                group(p.records),
                group(p.lines)
            );
        }
    }
    o.push_str("</tbody></table><ul>");
    for p in &v.provenance {
        let _ = write!(o, "<li>{}</li>", generic(p));
    }
    for d in &v.geo.data {
        let _ = write!(
            o,
            "<li>geo data ({}): {} {}, licence {} (<code>{}</code>)</li>",
            esc(&d.kind),
            esc(&d.name),
            esc(&d.version),
            esc(&d.licence),
            esc(&d.file)
        );
    }
    if let Some(m) = &v.geo.missing {
        let _ = write!(o, "<li>no geo data: {}</li>", esc(m));
    }
    let _ = writeln!(
        o,
        "<li>floodtrace {}</li><li>{}</li></ul></section>",
        esc(&v.generator.version),
        esc(chart::MAP_CREDIT)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "schema_version": 1,
            "generator": {"name": "floodtrace", "version": "0.1.0"},
            "inputs": [{"path": "a<b>.pcap", "format": "pcap", "packets": 10, "bytes": 1000,
                        "complete": true, "errors": []}],
            "totals": {"packets": 10, "bytes": 1000, "ip_packets": 10, "ip_bytes": 900,
                       "start": "2025-03-10T09:00:00.000000000Z", "end": "2025-03-10T09:01:00.000000000Z",
                       "start_ns": 1741597200000000000u64, "end_ns": 1741597260000000000u64,
                       "duration_seconds": 60.0, "destinations": 1, "protocols": {"tcp_syn": 10}},
            "destinations": [{"address": "203.0.113.10", "packets": 10, "series": [
                {"t": 1741597210, "packets": 6, "protocols": {"tcp_syn": 6}},
                {"t": 1741597211, "packets": 4, "protocols": {"tcp_syn": 4}}]}],
            "incidents": [{"id": 1, "victim": "203.0.113.10",
                "start": "2025-03-10T09:00:10.000000000Z", "end": "2025-03-10T09:00:11.000000000Z",
                "start_ns": 1741597210000000000u64, "end_ns": 1741597211000000000u64,
                "waves": [{"start": "2025-03-10T09:00:10.000000000Z", "end": "2025-03-10T09:00:11.000000000Z",
                    "start_ns": 1741597210000000000u64, "end_ns": 1741597211000000000u64,
                    "peak_pps": 6, "peak_bps": 4800, "packets": 10, "bytes": 600,
                    "vectors": [{"name": "syn_flood", "share": 1.0, "packets": 10}]}],
                "vectors": [{"name": "syn_flood", "share": 1.0, "packets": 10}],
                "packets": 10, "bytes": 600, "distinct_sources": 3, "top_sources": [], "fingerprints": [],
                "source_profile": {"packets": 10, "distinct_sources": 3,
                    "countries": [{"key": "UA", "name": "Ukraine", "sources_share": 0.6, "packets_share": 0.5, "estimated_sources": 2},
                                  {"key": "BR", "name": "Brazil", "sources_share": 0.4, "packets_share": 0.5, "estimated_sources": 1}],
                    "asns": [], "spoofing": {"verdict": "not_spoofed", "explanation": "real",
                    "bogons": {"indicates": "not_spoofed", "power": "enough"}}}}],
            "scanning": [],
            "claims": [{"claim": "origin=UA", "verdict": "supported", "figures": {"sources_share": 0.6},
                        "caveats": ["c1"], "explanation": "Most sources are in Ukraine."}]
        })
    }

    #[test]
    fn panels_present_escaped_and_deterministic() {
        let v = sample();
        let a = render_value(&v);
        assert_eq!(a, render_value(&v));
        for id in [
            r#"id="verdicts""#,
            r#"id="timeline""#,
            r#"id="map""#,
            r#"id="claims""#,
            r#"id="spoofing""#,
            r#"id="mitigation""#,
            r#"id="provenance""#,
        ] {
            assert!(a.contains(id), "{id} missing");
        }
        assert!(a.contains("a&lt;b&gt;.pcap"));
        assert!(!a.contains("<script"), "no script");
        assert!(!a.contains("src="), "no external resources");
        assert!(!a.contains("href=\"http"), "no links to fetch");
        assert!(a.contains(r#"data-cc="UA" d=""#));
        assert!(a.contains("claim origin=UA"));
        assert!(a.contains("60.0 %"));
    }

    #[test]
    fn map_is_grey_without_attribution() {
        let mut v = sample();
        v["incidents"][0]
            .as_object_mut()
            .unwrap()
            .remove("source_profile");
        let a = render_value(&v);
        assert!(a.contains(r#"id="map""#));
        assert!(a.contains(r#"id="map-note""#));
        assert!(!a.contains(r#"id="spoofing""#));
    }
}
