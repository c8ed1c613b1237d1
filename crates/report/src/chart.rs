//! SVG charts of the HTML report, generated here (no JavaScript): the time axis (attack
//! packets per second per vector, stacked; outage reports per minute; waves and report
//! spikes marked), the world map of source countries and horizontal bar charts.
//!
//! Everything is computed from a [`View`] with integer or fixed-precision arithmetic and
//! printed with fixed decimals, so the same report always gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use crate::text::{end_after, group, pct};
use crate::view::{DestinationView, GroupView, SecondView, View};

/// Country shapes: `code \t name \t path` (see `assets/README.md`).
const WORLD: &str = include_str!("../assets/world-110m.tsv");

/// Origin and licences of the map shapes, for the report footer.
pub const MAP_CREDIT: &str = "Country shapes: Natural Earth 1:110m (public domain) via \
    world-atlas 2.0.2 (ISC licence, © Michael Bostock); ISO codes via i18n-iso-countries \
    7.14.0 (MIT licence).";

/// Colours of vectors, in order of first appearance.
const PALETTE: [&str; 10] = [
    "#d62728", "#1f77b4", "#9467bd", "#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];
/// Colour of outage reports.
pub const REPORT_COLOUR: &str = "#e6a100";

/// HTML/XML escape.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// The traffic class a vector's packets are counted in (FORMATS.md, traffic classes).
pub fn class_of(vector: &str) -> Option<&'static str> {
    Some(match vector {
        "syn_flood" => "tcp_syn",
        "ack_flood" | "tcp_stomp" | "http_flood" => "tcp_ack",
        "rst_flood" => "tcp_rst",
        "tcp_other_flood" => "tcp_other",
        "syn_ack_reflection" => "tcp_syn_ack",
        "udp_fragment_flood" => "fragment",
        "icmp_flood" => "icmp",
        "gre_flood" => "gre",
        v if v == "udp_flood" || v == "dns_water_torture" || v.ends_with("_reflection") => "udp",
        _ => return None,
    })
}

/// Does destination `addr` belong to `victim` (an address or a prefix `a.b.c.0/24`)?
pub fn in_victim(addr: &str, victim: &str) -> bool {
    let Some((net, len)) = victim.split_once('/') else {
        return addr == victim;
    };
    let (Ok(a), Ok(n), Ok(len)) = (
        addr.parse::<IpAddr>(),
        net.parse::<IpAddr>(),
        len.parse::<u32>(),
    ) else {
        return false;
    };
    match (a, n) {
        (IpAddr::V4(a), IpAddr::V4(n)) if len <= 32 => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if len <= 128 => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// A "nice" upper bound ≥ `v` (1, 2, 2.5, 5 × 10^k) for an axis.
pub fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let e = 10f64.powi(v.log10().floor() as i32);
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * e >= v {
            return m * e;
        }
    }
    10.0 * e
}

fn fmt_axis(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

/// Per-column stacked values of the timeline.
struct Timeline {
    t0: u64,
    /// Seconds per column.
    step: u64,
    columns: usize,
    /// Vector → mean pps per column.
    vectors: Vec<(String, Vec<f64>)>,
    /// Mean pps of all listed destinations per column.
    total: Vec<f64>,
}

fn lookup(series: &[SecondView], t: u64) -> Option<&SecondView> {
    series
        .binary_search_by_key(&t, |s| s.t)
        .ok()
        .map(|i| &series[i])
}

fn build(v: &View, t0: u64, t1: u64, max_columns: usize) -> Timeline {
    let span = (t1 - t0 + 1).max(1);
    let step = span.div_ceil(max_columns as u64).max(1);
    let columns = span.div_ceil(step) as usize;
    let col = |t: u64| ((t.saturating_sub(t0)) / step) as usize;
    let mut total = vec![0.0f64; columns];
    for d in &v.destinations {
        for s in d.series.iter().flatten() {
            if (t0..=t1).contains(&s.t) {
                total[col(s.t)] += s.packets as f64;
            }
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut acc: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for inc in &v.incidents {
        let dests: Vec<&DestinationView> = v
            .destinations
            .iter()
            .filter(|d| d.series.is_some() && in_victim(&d.address, &inc.victim))
            .collect();
        for w in &inc.waves {
            // Vectors sharing a class split its packets by their shares.
            let mut by_class: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
            for x in &w.vectors {
                if !order.contains(&x.name) {
                    order.push(x.name.clone());
                }
                by_class
                    .entry(class_of(&x.name).unwrap_or("*"))
                    .or_default()
                    .push((x.name.as_str(), x.share.max(1e-9)));
            }
            let (ws, we) = (w.start_ns / 1_000_000_000, w.end_ns / 1_000_000_000);
            for t in ws.max(t0)..=we.min(t1) {
                for d in &dests {
                    let Some(s) = lookup(d.series.as_deref().unwrap_or(&[]), t) else {
                        continue;
                    };
                    for (class, vs) in &by_class {
                        let n = if *class == "*" {
                            s.packets
                        } else {
                            s.protocols.get(*class).copied().unwrap_or(0)
                        } as f64;
                        let sum: f64 = vs.iter().map(|x| x.1).sum();
                        for (name, share) in vs {
                            acc.entry((*name).to_string())
                                .or_insert_with(|| vec![0.0; columns])[col(t)] += n * share / sum;
                        }
                    }
                }
            }
        }
    }
    let secs_in = |c: usize| -> f64 {
        let from = t0 + c as u64 * step;
        (t1.min(from + step - 1) - from + 1) as f64
    };
    for (c, x) in total.iter_mut().enumerate() {
        *x /= secs_in(c);
    }
    let vectors = order
        .into_iter()
        .filter_map(|name| {
            acc.remove(&name).map(|mut vals| {
                for (c, x) in vals.iter_mut().enumerate() {
                    *x /= secs_in(c);
                }
                (name, vals)
            })
        })
        .collect();
    Timeline {
        t0,
        step,
        columns,
        vectors,
        total,
    }
}

/// The time span the timeline covers: capture, outage reports and access log together.
pub fn span(v: &View) -> Option<(u64, u64)> {
    let mut lo = u64::MAX;
    let mut hi = 0u64;
    if let (Some(a), Some(b)) = (v.totals.start_ns, v.totals.end_ns) {
        lo = lo.min(a / 1_000_000_000);
        hi = hi.max(b / 1_000_000_000);
    }
    if let Some(im) = &v.impact {
        if let Some(o) = &im.outage {
            if let (Some(a), Some(b)) = (o.per_minute.first(), o.per_minute.last()) {
                lo = lo.min(a.minute);
                hi = hi.max(b.minute + 59);
            }
        }
        if let Some(w) = &im.web {
            if let (Some(a), Some(b)) = (w.series.first(), w.series.last()) {
                lo = lo.min(a.t);
                hi = hi.max(b.t + w.interval_seconds.max(1) - 1);
            }
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Colour of the `i`-th vector.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// The timeline SVG (`id="timeline"`) and its legend entries `(label, colour)`.
pub fn timeline(v: &View) -> (String, Vec<(String, &'static str)>) {
    const W: f64 = 960.0;
    const H: f64 = 320.0;
    const L: f64 = 64.0;
    const R: f64 = 64.0;
    const T: f64 = 26.0;
    const B: f64 = 40.0;
    let pw = W - L - R;
    let ph = H - T - B;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="timeline" class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="Attack packets per second per vector and outage reports per minute over time" xmlns="http://www.w3.org/2000/svg">"#
    );
    let Some((t0, t1)) = span(v) else {
        s.push_str(
            r#"<text x="480" y="160" text-anchor="middle" class="muted">no traffic</text></svg>"#,
        );
        return (s, Vec::new());
    };
    let tl = build(v, t0, t1, pw as usize);
    let secs = (t1 - t0 + 1) as f64;
    let x_of = |t: f64| L + (t - t0 as f64) / secs * pw;
    let stacked_max = (0..tl.columns)
        .map(|c| tl.vectors.iter().map(|(_, v)| v[c]).sum::<f64>())
        .fold(0.0f64, f64::max);
    let total_max = tl.total.iter().copied().fold(0.0f64, f64::max);
    let ymax = nice_max(stacked_max.max(total_max));
    let y_of = |val: f64| T + ph - val / ymax * ph;

    // Waves (bands behind everything), with their incident as a tooltip.
    let mut wave_no = 0;
    for inc in &v.incidents {
        for w in &inc.waves {
            wave_no += 1;
            let (a, b) = (
                (w.start_ns / 1_000_000_000) as f64,
                (w.end_ns / 1_000_000_000 + 1) as f64,
            );
            let (xa, xb) = (x_of(a), x_of(b));
            let names: Vec<&str> = w.vectors.iter().map(|x| x.name.as_str()).collect();
            let _ = write!(
                s,
                r##"<g class="wave"><rect x="{xa:.1}" y="{T}" width="{:.1}" height="{ph}" fill="#4a7bd0" fill-opacity="0.08"><title>incident #{} wave {wave_no}: {} → {}, {}, peak {} pps</title></rect><text x="{:.1}" y="{:.1}" class="wl">W{wave_no}</text></g>"##,
                (xb - xa).max(1.0),
                inc.id,
                esc(&w.start[..19.min(w.start.len())]),
                esc(end_after(&w.start, &w.end)),
                esc(&names.join(" + ")),
                group(w.peak_pps),
                xa + 2.0,
                T - 4.0,
            );
        }
    }
    // Report spikes: a band along the top.
    if let Some(o) = v.impact.as_ref().and_then(|i| i.outage.as_ref()) {
        for (i, sp) in o.spikes.iter().enumerate() {
            // Inset by a pixel so back-to-back spikes stay apart.
            let (xa, xb) = (
                x_of(sp.start as f64) + 1.0,
                x_of((sp.end + 60) as f64) - 1.0,
            );
            let after = sp
                .after_wave
                .as_ref()
                .map(|c| {
                    format!(
                        ", {} s after incident #{}'s wave began",
                        c.lag_seconds, c.incident
                    )
                })
                .unwrap_or_else(|| ", after no attack wave".into());
            let _ = write!(
                s,
                r#"<g class="spike"><rect x="{xa:.1}" y="{:.1}" width="{:.1}" height="6" fill="{REPORT_COLOUR}"><title>report spike {}: {} reports, peak {}/min{after}</title></rect><text x="{:.1}" y="{:.1}" class="ax" style="fill:{REPORT_COLOUR}">S{}</text></g>"#,
                T + ph + 2.0,
                (xb - xa).max(1.0),
                i + 1,
                group(sp.reports),
                group(sp.peak_reports),
                xa + 1.0,
                T + 10.0,
                i + 1,
            );
        }
    }
    // Grid and left axis.
    for k in 0..=4 {
        let val = ymax * k as f64 / 4.0;
        let y = y_of(val);
        let _ = write!(
            s,
            r##"<line x1="{L}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="ax">{}</text>"##,
            L + pw,
            L - 6.0,
            y + 4.0,
            fmt_axis(val)
        );
    }
    let _ = write!(
        s,
        r#"<text x="14" y="{:.1}" class="ax" transform="rotate(-90 14 {:.1})" text-anchor="middle">packets/s</text>"#,
        T + ph / 2.0,
        T + ph / 2.0
    );
    // All traffic to the listed destinations, as a grey area.
    let col_x = |c: usize| x_of((tl.t0 + c as u64 * tl.step) as f64 + tl.step as f64 / 2.0);
    if total_max > 0.0 {
        let mut d = format!("M{:.1} {:.1}", col_x(0), y_of(0.0));
        for (c, val) in tl.total.iter().enumerate() {
            let _ = write!(d, "L{:.1} {:.1}", col_x(c), y_of(*val));
        }
        let _ = write!(d, "L{:.1} {:.1}Z", col_x(tl.columns - 1), y_of(0.0));
        let _ = write!(
            s,
            r##"<path class="total" d="{d}" fill="#c8c8c8" fill-opacity="0.5" stroke="#aaa" stroke-width="0.5"><title>all traffic to the listed destinations</title></path>"##
        );
    }
    // Stacked vectors.
    let mut legend = Vec::new();
    let mut base = vec![0.0f64; tl.columns];
    for (i, (name, vals)) in tl.vectors.iter().enumerate() {
        let top: Vec<f64> = base.iter().zip(vals).map(|(b, x)| b + x).collect();
        let mut d = String::new();
        for (c, t) in top.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1} {:.1}",
                if c == 0 { "M" } else { "L" },
                col_x(c),
                y_of(*t)
            );
        }
        for c in (0..tl.columns).rev() {
            let _ = write!(d, "L{:.1} {:.1}", col_x(c), y_of(base[c]));
        }
        d.push('Z');
        let _ = write!(
            s,
            r#"<path class="vector" d="{d}" fill="{}" fill-opacity="0.85"><title>{}</title></path>"#,
            colour(i),
            esc(name)
        );
        legend.push((name.clone(), colour(i)));
        base = top;
    }
    // Outage reports per minute on the right axis.
    if let Some(o) = v.impact.as_ref().and_then(|i| i.outage.as_ref()) {
        let rmax = nice_max(o.per_minute.iter().map(|m| m.reports).max().unwrap_or(0) as f64);
        let ry = |n: f64| T + ph - n / rmax * ph;
        let mut d = String::new();
        for (i, m) in o.per_minute.iter().enumerate() {
            let (xa, xb) = (x_of(m.minute as f64), x_of((m.minute + 60) as f64));
            let y = ry(m.reports as f64);
            let _ = write!(
                d,
                "{}{xa:.1} {y:.1}L{xb:.1} {y:.1}",
                if i == 0 { "M" } else { "L" }
            );
        }
        let _ = write!(
            s,
            r#"<path class="reports" d="{d}" fill="none" stroke="{REPORT_COLOUR}" stroke-width="2"><title>outage reports per minute</title></path>"#
        );
        for k in 0..=4 {
            let val = rmax * k as f64 / 4.0;
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="ax" style="fill:{REPORT_COLOUR}">{}</text>"#,
                L + pw + 6.0,
                ry(val) + 4.0,
                fmt_axis(val)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" class="ax" transform="rotate(90 {:.1} {:.1})" text-anchor="middle" style="fill:{REPORT_COLOUR}">reports/min</text>"#,
            W - 10.0,
            T + ph / 2.0,
            W - 10.0,
            T + ph / 2.0
        );
        legend.push(("outage reports per minute".into(), REPORT_COLOUR));
    }
    // Time axis.
    let steps = [
        1u64, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
        86400,
    ];
    let tick = steps
        .iter()
        .copied()
        .find(|s| (t1 - t0) / s <= 8)
        .unwrap_or(86400 * ((t1 - t0) / 86400 / 8 + 1));
    let mut t = t0.div_ceil(tick) * tick;
    while t <= t1 {
        let x = x_of(t as f64);
        let label = crate::time::rfc3339_s(t);
        let label = if tick < 60 {
            &label[11..19]
        } else {
            &label[11..16]
        };
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="ax">{label}</text>"##,
            T + ph,
            T + ph + 10.0,
            T + ph + 22.0
        );
        t += tick;
    }
    let _ = write!(
        s,
        r##"<line x1="{L}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#444"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="ax">UTC, {}</text></svg>"##,
        L + pw,
        T + ph,
        T + ph,
        L + pw,
        H - 4.0,
        &crate::time::rfc3339_s(t0)[..10]
    );
    (s, legend)
}

/// Fill colour of a country with `share` of the sources when the largest has `max`.
fn fill(share: f64, max: f64) -> String {
    if share <= 0.0 || max <= 0.0 {
        return "#e4e4e4".into();
    }
    // sqrt scale from a light to a dark red.
    let f = (share / max).sqrt().clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(254.0, 165.0),
        lerp(224.0, 15.0),
        lerp(196.0, 21.0)
    )
}

/// The world map SVG (`id="map"`): countries shaded by their share of the sources.
pub fn world_map(groups: &[GroupView]) -> String {
    let by: BTreeMap<&str, &GroupView> = groups.iter().map(|g| (g.key.as_str(), g)).collect();
    let max = groups
        .iter()
        .map(|g| g.sources_share)
        .fold(0.0f64, f64::max);
    let mut s = String::from(
        r##"<svg id="map" class="chart" viewBox="0 0 960 500" role="img" aria-label="World map of attack source countries by share of sources" xmlns="http://www.w3.org/2000/svg"><rect width="960" height="500" fill="#f4f8fb"/>"##,
    );
    for line in WORLD.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.splitn(3, '\t');
        let (Some(code), Some(name), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (f, title) = match by.get(code) {
            Some(g) => (
                fill(g.sources_share, max),
                format!(
                    "{} ({code}): {} of sources, {} of packets",
                    esc(name),
                    pct(g.sources_share),
                    pct(g.packets_share)
                ),
            ),
            None => (
                fill(0.0, max),
                format!("{} ({code}): no sources", esc(name)),
            ),
        };
        let _ = write!(
            s,
            r##"<path data-cc="{code}" d="{d}" fill="{f}" stroke="#fff" stroke-width="0.4"><title>{title}</title></path>"##
        );
    }
    // Legend: the colour ramp.
    if max > 0.0 {
        s.push_str(r##"<g class="legend" transform="translate(24 440)">"##);
        for k in 0..=5 {
            let share = max * (k as f64 / 5.0).powi(2);
            let _ = write!(
                s,
                r##"<rect x="{}" y="0" width="36" height="10" fill="{}" stroke="#999" stroke-width="0.3"/><text x="{}" y="24" class="ax" text-anchor="middle">{:.0} %</text>"##,
                k * 36,
                fill(share.max(1e-12), max),
                k * 36 + 18,
                share * 100.0
            );
        }
        s.push_str(r#"<text x="0" y="-6" class="ax">share of sources</text></g>"#);
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars (`<div>`-based, no SVG needed): label, share, tooltip.
pub fn bars(id: &str, rows: &[(String, f64, String)], colour: &str) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-9);
    let mut s = format!(r#"<div class="bars" id="{id}">"#);
    for (label, share, tip) in rows {
        let _ = write!(
            s,
            r#"<div class="bar" title="{}"><span class="bl">{}</span><span class="bt"><span class="bf" style="width:{:.1}%;background:{colour}"></span></span><span class="bv">{}</span></div>"#,
            esc(tip),
            esc(label),
            share / max * 100.0,
            pct(*share)
        );
    }
    s.push_str("</div>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn victims_and_classes() {
        assert!(in_victim("203.0.113.10", "203.0.113.10"));
        assert!(in_victim("203.0.113.77", "203.0.113.0/24"));
        assert!(!in_victim("203.0.114.1", "203.0.113.0/24"));
        assert!(in_victim("2001:db8::5", "2001:db8::/64"));
        assert_eq!(class_of("ntp_reflection"), Some("udp"));
        assert_eq!(class_of("tcp_stomp"), Some("tcp_ack"));
        assert_eq!(class_of("whatever"), None);
    }

    #[test]
    fn axis_bounds() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(180.0), 200.0);
        assert_eq!(nice_max(2100.0), 2500.0);
        assert_eq!(fmt_axis(2500.0), "2.5k");
        assert_eq!(fmt_axis(50.0), "50");
    }

    #[test]
    fn map_has_every_country_once() {
        let m = world_map(&[]);
        assert_eq!(m.matches("<path ").count(), 177);
        assert_eq!(m.matches(r#"data-cc="UA""#).count(), 1);
        assert!(!m.contains(r#"class="legend""#), "no legend without data");
    }
}
