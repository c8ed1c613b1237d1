//! Plain-text rendering for a terminal: inputs, span, totals, protocol mix and the busiest
//! destinations with a per-second sparkline.

use std::fmt::Write;

use crate::model::{AnalysisReport, DestinationReport, VectorReport};

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
            .map(|(k, v)| format!("{k} {}%", percent_figure(*v as f64 / t.ip_packets as f64)))
            .collect();
        let _ = writeln!(o, "protocols {}", parts.join(", "));
    }
    if !r.incidents.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "incidents");
        for i in &r.incidents {
            let peak = i.waves.iter().map(|w| w.peak_pps).max().unwrap_or(0);
            let _ = writeln!(
                o,
                "  #{:<3} {:<20} {} → {}  {} wave(s), peak {} pps, {} sources; {}",
                i.id,
                i.victim,
                &i.start[..19.min(i.start.len())],
                end_after(&i.start, &i.end),
                i.waves.len(),
                group(peak),
                group(i.distinct_sources),
                vector_shares(&i.vectors)
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
                    .map(|c| format!("{} {}%", c.key, percent_figure(c.sources_share)))
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
                    "        fingerprint {} {}: {}% of packets match ({})",
                    f.family,
                    f.vector,
                    percent_figure(f.match_share),
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

/// An RFC 3339 end time printed after its start: the time of day when both fall on the
/// same date, else the date too (an incident may cross midnight or last days).
pub(crate) fn end_after<'a>(start: &str, end: &'a str) -> &'a str {
    let same_day = start.len() >= 10 && end.get(..10) == start.get(..10);
    match (same_day, end.get(11..19)) {
        (true, Some(clock)) => clock,
        _ => end.get(..19).unwrap_or(end),
    }
}

/// A duration in seconds with as many decimals as its size warrants: `0.147 s`, `42.5 s`,
/// `3600 s`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.3} s")
    } else if seconds < 100.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{seconds:.0} s")
    }
}

/// A share (0–1) as a percentage with one decimal, without the sign: `12.3`. A share
/// that is present but rounds to 0.0 reads `<0.1`, one short of the whole that rounds to
/// 100.0 reads `>99.9`: a class with packets never shows as 0.0 %.
pub fn percent_figure(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.05 {
        "<0.1".to_string()
    } else if (99.95..100.0).contains(&p) {
        ">99.9".to_string()
    } else {
        format!("{p:.1}")
    }
}

/// An incident's vectors as `syn_flood 55.0%, udp_flood 45.0%` (see [`percent_figure`]).
pub fn vector_shares(vectors: &[VectorReport]) -> String {
    let parts: Vec<String> = vectors
        .iter()
        .map(|v| format!("{} {}%", v.name, percent_figure(v.share)))
        .collect();
    parts.join(", ")
}

/// A share (0–1) as `12.3 %` (see [`percent_figure`]).
pub fn pct(share: f64) -> String {
    format!("{} %", percent_figure(share))
}

/// Bits per second with an SI unit: `1.2 Gb/s`.
pub fn human_bits(n: u64) -> String {
    scaled(n as f64, "b/s")
}

fn scaled(v: f64, unit: &str) -> String {
    const PREFIX: [&str; 6] = ["", "k", "M", "G", "T", "P"];
    let mut v = v;
    let mut i = 0;
    // Scale on the value as it will print: 999,950 B rounds to "1000.0 kB" otherwise.
    let shown = |v: f64, i: usize| {
        if i == 0 {
            v.round()
        } else {
            (v * 10.0).round() / 10.0
        }
    };
    while shown(v, i) >= 1000.0 && i < PREFIX.len() - 1 {
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
        // A present class never reads 0.0 %, a partial whole never 100.0 %.
        assert_eq!(pct(0.0), "0.0 %");
        assert_eq!(pct(0.0004), "<0.1 %");
        assert_eq!(pct(0.0005), "0.1 %");
        assert_eq!(pct(0.9996), ">99.9 %");
        assert_eq!(pct(1.0), "100.0 %");
        assert_eq!(pct(0.123), "12.3 %");
        assert_eq!(human_duration(0.147), "0.147 s");
        assert_eq!(human_duration(3599.6), "3600 s");
    }

    #[test]
    fn an_end_on_another_day_shows_its_date() {
        let start = "2026-11-27T23:59:58Z";
        assert_eq!(end_after(start, "2026-11-27T23:59:59Z"), "23:59:59");
        assert_eq!(
            end_after(start, "2026-11-28T00:00:03Z"),
            "2026-11-28T00:00:03"
        );
        // Malformed strings never panic.
        assert_eq!(end_after("", "x"), "x");
        assert_eq!(end_after(start, ""), "");
        assert_eq!(human_bytes(2_875_940), "2.9 MB");
        // Values that round up to the next unit are printed in it.
        assert_eq!(human_bytes(999_950), "1.0 MB");
        assert_eq!(human_bytes(999_949), "999.9 kB");
        assert_eq!(human_bytes(1_000), "1.0 kB");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bits(1_200_000_000), "1.2 Gb/s");
    }
}
