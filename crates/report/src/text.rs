//! Plain-text rendering for a terminal: inputs, span, totals, protocol mix and the busiest
//! destinations with a per-second sparkline.

use std::fmt::Write;

use crate::model::{AnalysisReport, DestinationReport};

/// Render the report as text.
pub fn render(r: &AnalysisReport) -> String {
    let mut o = String::new();
    for i in &r.inputs {
        let state = if i.complete { "complete" } else { "PARTIAL" };
        let _ = writeln!(
            o,
            "input     {}  [{}]  {} packets, {}  {state}",
            i.path,
            i.format,
            group(i.packets),
            human_bytes(i.bytes)
        );
        if i.flow_records > 0 || i.templates > 0 {
            let _ = writeln!(
                o,
                "          {} flow records, {} templates",
                group(i.flow_records),
                group(i.templates)
            );
        }
        for e in &i.errors {
            let _ = writeln!(
                o,
                "          {} {}: {} × {} (first: {})",
                match (e.fatal, e.kind) {
                    (true, _) => "error",
                    (false, "skipped") => "note",
                    (false, _) => "warning",
                },
                // An export decoded whole despite a value outside its protocol's limits.
                if e.kind == "warning" { "flow" } else { e.kind },
                group(e.count),
                e.reason,
                e.message
            );
        }
    }
    let t = &r.totals;
    match (&t.start, &t.end) {
        (Some(s), Some(e)) => {
            let _ = writeln!(o, "span      {s} → {e}  ({:.3} s)", t.duration_seconds);
        }
        _ => {
            let _ = writeln!(o, "span      (no IP packets)");
        }
    }
    let _ = writeln!(
        o,
        "totals    {} packets, {} on the wire; {} IP packets, {} IP; {} destinations",
        group(t.packets),
        human_bytes(t.bytes),
        group(t.ip_packets),
        human_bytes(t.ip_bytes),
        group(t.destinations)
    );
    if t.ip_packets > 0 {
        let mut mix: Vec<(&str, u64)> = t.protocols.iter().map(|(k, v)| (*k, *v)).collect();
        mix.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = mix
            .iter()
            .map(|(k, v)| format!("{k} {:.1}%", 100.0 * *v as f64 / t.ip_packets as f64))
            .collect();
        let _ = writeln!(o, "protocols {}", parts.join(", "));
    }
    if !r.incidents.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "incidents");
        for i in &r.incidents {
            let vectors: Vec<String> = i
                .vectors
                .iter()
                .map(|v| format!("{} {:.0}%", v.name, v.share * 100.0))
                .collect();
            let peak = i.waves.iter().map(|w| w.peak_pps).max().unwrap_or(0);
            let _ = writeln!(
                o,
                "  #{:<3} {:<20} {} → {}  {} wave(s), peak {} pps, {} sources; {}",
                i.id,
                i.victim,
                &i.start[..19.min(i.start.len())],
                &i.end[11..19.min(i.end.len())],
                i.waves.len(),
                group(peak),
                group(i.distinct_sources),
                vectors.join(", ")
            );
            if i.sampled {
                let rates: Vec<String> = i.sampling.iter().map(|r| format!("1:{r}")).collect();
                let _ = writeln!(
                    o,
                    "        from sampled flow data ({}): packet counts and rates are estimates",
                    rates.join(", ")
                );
            }
            if let Some(p) = &i.source_profile {
                let top: Vec<String> = p
                    .countries
                    .iter()
                    .take(4)
                    .map(|c| format!("{} {:.1}%", c.key, c.sources_share * 100.0))
                    .collect();
                let campaign = i
                    .campaign
                    .map_or(String::new(), |c| format!(", campaign {c}"));
                let _ = writeln!(
                    o,
                    "        sources: {} ({}){}{}",
                    p.spoofing.verdict.name().replace('_', " "),
                    match p.role {
                        floodtrace_engine::attribute::SourceRole::Senders => "senders",
                        floodtrace_engine::attribute::SourceRole::Reflectors => "reflectors",
                        floodtrace_engine::attribute::SourceRole::Responders => "responders",
                    },
                    if top.is_empty() {
                        String::new()
                    } else {
                        format!("; by sources {}", top.join(", "))
                    },
                    campaign
                );
            }
            for f in &i.fingerprints {
                let _ = writeln!(
                    o,
                    "        fingerprint {} {}: {:.0}% of packets match ({})",
                    f.family,
                    f.vector,
                    f.match_share * 100.0,
                    f.fields.join(", ")
                );
            }
        }
    }
    if !r.scanning.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "scanning");
        for s in &r.scanning {
            let what = match s.family {
                Some(f) => format!("{f} scanner (seq = destination address)"),
                None => "IoT telnet/exploit-port scanning, no Mirai signature".to_string(),
            };
            let shown: Vec<String> = s
                .sources
                .iter()
                .take(5)
                .map(|x| x.address.to_string())
                .collect();
            let _ = writeln!(
                o,
                "  {what}: {} probes from {}{} source(s): {}{}",
                group(s.packets),
                if s.complete { "" } else { "≥ " },
                group(s.sources.len() as u64),
                shown.join(", "),
                if s.sources.len() > 5 { ", …" } else { "" }
            );
        }
    }
    crate::text_impact::render(&mut o, r.impact.as_ref());
    if !r.claims.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "claims");
        for c in &r.claims {
            let _ = writeln!(o, "  {}: {} — {}", c.claim, c.verdict.name(), c.explanation);
        }
    }
    if !r.destinations.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<39} {:>12} {:>10} {:>11} {:>11} {:>10}  per-second packets",
            "destination", "packets", "bytes", "peak pps", "peak bps", "sources"
        );
        for d in &r.destinations {
            let _ = writeln!(
                o,
                "{:<39} {:>12} {:>10} {:>11} {:>11} {:>10}  {}",
                d.address.to_string(),
                group(d.packets),
                human_bytes(d.bytes),
                group(d.peak_pps),
                human_bits(d.peak_bps),
                group(d.distinct_sources),
                sparkline(d, 40)
            );
        }
    }
    o
}

/// A sparkline of per-second packets over the destination's active span, squeezed to at
/// most `width` cells (each cell shows the maximum of the seconds it covers).
pub fn sparkline(d: &DestinationReport, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let Some(series) = &d.series else {
        return String::new();
    };
    let (Some(first), Some(last)) = (series.first(), series.last()) else {
        return String::new();
    };
    let span = (last.t - first.t + 1) as usize;
    let cells = span.min(width).max(1);
    let mut maxes = vec![0u64; cells];
    for s in series {
        let cell = ((s.t - first.t) as usize * cells) / span;
        maxes[cell] = maxes[cell].max(s.packets);
    }
    let top = maxes.iter().copied().max().unwrap_or(0).max(1);
    maxes
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                BARS[((v * 7 + top / 2) / top).min(7) as usize]
            }
        })
        .collect()
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes with a binary-free SI unit: `2.9 MB`.
pub fn human_bytes(n: u64) -> String {
    scaled(n as f64, "B")
}

/// Bits per second with an SI unit: `1.2 Gb/s`.
pub fn human_bits(n: u64) -> String {
    scaled(n as f64, "b/s")
}

fn scaled(v: f64, unit: &str) -> String {
    const PREFIX: [&str; 6] = ["", "k", "M", "G", "T", "P"];
    let mut v = v;
    let mut i = 0;
    while v >= 1000.0 && i < PREFIX.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {}{unit}", PREFIX[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_and_units() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(2_875_940), "2.9 MB");
        assert_eq!(human_bits(1_200_000_000), "1.2 Gb/s");
    }
}
