//! `analyze --reports FILE --logs FILE`: read outage reports and access logs and weigh them
//! against the incidents' waves (glue around `floodtrace_engine::{textlog, impact}`).
//!
//! Reading is never fatal: unreadable lines are counted per reason, summarised on stderr and
//! kept in the report (`impact.reports_input`, `impact.logs_input`). Only a file that cannot
//! be opened, or is not UTF-8 text, is an error.

use std::path::Path;

use anyhow::Context;
use floodtrace_engine::impact::{outage_impact, waves_of, Impact, ImpactConfig, WebConfig, WebLog};
use floodtrace_engine::incident::Incident;
use floodtrace_engine::textlog::{parse_access_log, parse_outage_reports, ParseStats};

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("{}: cannot read the {what}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            // Logs in Latin-1 or with a few stray bytes: read them lossily rather than refuse.
            let at = e.utf8_error().valid_up_to();
            eprintln!(
                "floodtrace: {}: not valid UTF-8 (first bad byte at offset {at}); invalid bytes \
                 replaced",
                path.display()
            );
            Ok(String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
    }
}

/// One stderr warning summarising the unreadable lines of an input (none when all read).
fn warn(path: &Path, what: &str, s: &ParseStats) {
    if s.malformed == 0 {
        return;
    }
    let reasons: Vec<String> = s
        .reasons
        .iter()
        .map(|(k, n)| format!("{k} × {n}"))
        .collect();
    let first = s
        .examples
        .first()
        .map(|m| format!("; first: line {}: {}", m.line, m.message))
        .unwrap_or_default();
    eprintln!(
        "floodtrace: {}: {} of {} line(s) of the {what} not read ({}){first}",
        path.display(),
        s.malformed,
        s.lines,
        reasons.join(", ")
    );
}

/// Impact of the given inputs against `incidents`; `None` when neither input is given.
///
/// # Errors
/// A file that cannot be read.
pub fn load(
    reports: Option<&Path>,
    logs: Option<&Path>,
    incidents: &[Incident],
) -> anyhow::Result<Option<Impact>> {
    if reports.is_none() && logs.is_none() {
        return Ok(None);
    }
    let waves = waves_of(incidents);
    let (reports_input, outage) = match reports {
        Some(p) => {
            let text = read_text(p, "outage reports")?;
            let (records, stats) = parse_outage_reports(&text);
            warn(p, "outage reports", &stats);
            if records.is_empty() {
                eprintln!(
                    "floodtrace: {}: no outage report could be read",
                    p.display()
                );
            }
            let o = outage_impact(&records, &waves, &ImpactConfig::default());
            (Some(stats), Some(o))
        }
        None => (None, None),
    };
    let (logs_input, web) = match logs {
        Some(p) => {
            let text = read_text(p, "access log")?;
            let mut web = WebLog::new(WebConfig::default());
            let stats = parse_access_log(&text, |r| web.add(&r));
            warn(p, "access log", &stats);
            (Some(stats), Some(web.finish()))
        }
        None => (None, None),
    };
    Ok(Some(Impact::new(reports_input, outage, logs_input, web)))
}
