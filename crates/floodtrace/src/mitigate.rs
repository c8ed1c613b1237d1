//! `floodtrace mitigate`: a report's incidents → FlowSpec, RTBH, nftables rules or DDoSDB
//! fingerprints (glue around `floodtrace_engine::mitigate`).

use std::io::Write;

use anyhow::Context;
use floodtrace_engine::mitigate::{
    fingerprints, parse_allow_list, plan, render_ddosdb, render_exabgp, render_gobgp,
    render_nftables, render_rtbh, Cidr, PlanConfig, ReportInput, Speaker,
};

use crate::cli::{exit, MitigateArgs, MitigateFormat, RtbhSpeaker};

/// Parse a duration: `90`, `90s`, `15m`, `1h`, `2h30m`, `1d`.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if t.bytes().all(|c| c.is_ascii_digit()) {
        return t.parse().map_err(|e| format!("{s:?}: {e}"));
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("{s:?}: unknown unit {c:?} (use s, m, h or d)")),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?}: a number must come before {c:?}"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("{s:?}: {num} has no unit (use s, m, h or d)"));
    }
    Ok(total)
}

/// Run `mitigate`.
pub fn run_mitigate(args: MitigateArgs) -> anyhow::Result<u8> {
    let path = args.report.display().to_string();
    let text =
        std::fs::read_to_string(&args.report).with_context(|| format!("{path}: cannot read"))?;
    let report: ReportInput = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{path}: not an analysis report (floodtrace analyze --format json): line {} column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    let allow: Vec<Cidr> = match &args.allow {
        Some(f) => {
            let t = std::fs::read_to_string(f)
                .with_context(|| format!("{}: cannot read the allow-list", f.display()))?;
            parse_allow_list(&t).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
        }
        None => Vec::new(),
    };
    let mut cfg = PlanConfig {
        incident: args.incident,
        ..PlanConfig::default()
    };
    if let Some(e) = &args.expiry {
        let secs = parse_duration(e).map_err(|m| anyhow::anyhow!("--expiry: {m}"))?;
        cfg.expiry_ns = secs.saturating_mul(1_000_000_000);
    }
    if let Some(r) = args.rate_limit {
        cfg.rate_limit_bytes = r;
    }
    if let Some(h) = args.next_hop {
        match h {
            std::net::IpAddr::V4(_) => cfg.next_hop_v4 = h,
            std::net::IpAddr::V6(_) => cfg.next_hop_v6 = h,
        }
    }
    if let Some(id) = args.incident {
        if !report.incidents.iter().any(|i| i.id == id) {
            let ids: Vec<String> = report.incidents.iter().map(|i| i.id.to_string()).collect();
            anyhow::bail!(
                "{path}: no incident {id} (incidents: {})",
                if ids.is_empty() {
                    "none".into()
                } else {
                    ids.join(", ")
                }
            );
        }
    }
    if report.incidents.is_empty() {
        eprintln!("floodtrace: {path}: the report has no incidents; nothing to mitigate");
    }
    let p = plan(&report, &allow, &cfg);
    for d in &p.dropped {
        eprintln!(
            "floodtrace: incident {} {}: not covered: {}",
            d.incident, d.what, d.reason
        );
    }
    let out = match args.format {
        MitigateFormat::Exabgp => render_exabgp(&p),
        MitigateFormat::Gobgp => render_gobgp(&p),
        MitigateFormat::Rtbh => render_rtbh(
            &p,
            match args.speaker {
                RtbhSpeaker::Exabgp => Speaker::Exabgp,
                RtbhSpeaker::Gobgp => Speaker::Gobgp,
            },
        ),
        MitigateFormat::Nftables => render_nftables(&p),
        MitigateFormat::Ddosdb => render_ddosdb(&fingerprints(&report, &allow, &cfg)),
    };
    match &args.output {
        Some(f) => {
            std::fs::write(f, out).with_context(|| format!("cannot write {}", f.display()))?
        }
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(out.as_bytes())?;
            o.flush()?;
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("2h30m"), Ok(9000));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("1h5").is_err());
    }
}
