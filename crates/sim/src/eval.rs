//! Scoring an analysis against `truth.json`.
//!
//! The report is read as generic JSON so that the scorer works with whatever the report
//! holds: totals and destinations always; incidents, fingerprints, source countries and
//! claim verdicts when the analysis produced them. Whatever the report lacks is listed as
//! "not in report", never counted as a pass.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::truth::{Truth, WaveTruth};

/// Seconds of slack when matching an incident to a wave in time.
const MATCH_SLACK_NS: u64 = 30_000_000_000;

/// The scores.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Score {
    /// Capture packets in truth.
    pub truth_packets: u64,
    /// Packets the report counted (over all its inputs).
    pub report_packets: u64,
    /// |report − truth| / truth.
    pub total_error: f64,
    /// For each wave: whether its victim is among the report's destinations, with packets.
    pub victims: Vec<VictimScore>,
    /// Wave detection, when the report has incidents.
    pub detection: Option<Detection>,
    /// Claim verdicts, when the report has claims.
    pub claims: Vec<ClaimScore>,
    /// What the report does not contain yet.
    pub missing: Vec<String>,
}

/// A wave's victim in the report's destination list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VictimScore {
    /// Wave name.
    pub wave: String,
    /// Victim.
    pub victim: String,
    /// Attack packets in truth.
    pub attack_packets: u64,
    /// Packets the report shows for the victim (`None`: not among its destinations).
    pub report_packets: Option<u64>,
}

/// Detection scores.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Detection {
    /// Waves matched by an incident wave.
    pub detected: Vec<WaveMatch>,
    /// Waves no incident matched.
    pub missed: Vec<String>,
    /// Incidents that match no wave (id or victim).
    pub spurious: Vec<String>,
    /// detected / waves.
    pub recall: f64,
    /// Vector confusion: truth vector → reported vector → count.
    pub confusion: BTreeMap<String, BTreeMap<String, u64>>,
    /// Share of detected waves whose top reported vector is right.
    pub vector_accuracy: f64,
    /// Mirai fingerprint precision (`None` when nothing was fingerprinted).
    pub fingerprint_precision: Option<f64>,
    /// Mirai fingerprint recall (`None` when no wave is Mirai).
    pub fingerprint_recall: Option<f64>,
    /// Largest country-share error in percentage points over detected waves with countries.
    pub max_country_error_pp: Option<f64>,
    /// Detected waves with located sources in the truth whose incident has no country
    /// profile (analysed without geo data, or not attributed).
    pub country_unscored: Vec<String>,
}

/// One detected wave.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaveMatch {
    /// Wave name.
    pub wave: String,
    /// Matching incident id.
    pub incident: String,
    /// Reported start − true start, seconds.
    pub start_error_s: f64,
    /// Reported end − true end, seconds.
    pub end_error_s: f64,
    /// True vector.
    pub truth_vector: String,
    /// Reported top vector.
    pub reported_vector: String,
}

/// A claim's verdict against the ideal one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClaimScore {
    /// Claim.
    pub claim: String,
    /// Ideal verdict.
    pub truth: String,
    /// Reported verdict (`None`: not in the report).
    pub reported: Option<String>,
}

/// Parse an RFC 3339 UTC timestamp (`2025-03-10T09:02:30.5Z`) to ns since the epoch.
pub fn parse_rfc3339_ns(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut t = hms.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let sec: i64 = t.next()?.parse().ok()?;
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut ns: u64 = 0;
    let digits: String = frac.chars().take(9).collect();
    if !digits.is_empty() {
        ns = digits.parse::<u64>().ok()? * 10u64.pow(9 - digits.len() as u32);
    }
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    (secs >= 0).then(|| secs as u64 * 1_000_000_000 + ns)
}

fn time_ns(v: &Value, key: &str) -> Option<u64> {
    if let Some(n) = v.get(format!("{key}_ns")).and_then(Value::as_u64) {
        return Some(n);
    }
    v.get(key)
        .and_then(Value::as_str)
        .and_then(parse_rfc3339_ns)
}

fn victim_matches(wave: &WaveTruth, victim: &str) -> bool {
    wave.victim == victim || wave.sent_to.iter().any(|s| s == victim) || {
        // A carpet-bombed prefix matches an incident on the prefix or on any address in it.
        match crate::scenario::Prefix::parse(&wave.victim) {
            Ok(p) if p.len < 32 => {
                crate::scenario::Prefix::parse(victim).is_ok_and(|v| p.contains(v.addr))
            }
            _ => false,
        }
    }
}

/// Score `report` against `truth`.
pub fn score(truth: &Truth, report: &Value) -> Score {
    let mut s = Score {
        truth_packets: truth.totals.packets,
        ..Score::default()
    };
    s.report_packets = report
        .pointer("/totals/packets")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    s.total_error = if truth.totals.packets == 0 {
        if s.report_packets == 0 {
            0.0
        } else {
            1.0
        }
    } else {
        (s.report_packets as f64 - truth.totals.packets as f64).abs() / truth.totals.packets as f64
    };
    let dests = report.get("destinations").and_then(Value::as_array);
    for w in &truth.waves {
        let found = dests.and_then(|d| {
            d.iter()
                .find(|x| x.get("address").and_then(Value::as_str) == Some(w.victim.as_str()))
                .and_then(|x| x.get("packets").and_then(Value::as_u64))
        });
        s.victims.push(VictimScore {
            wave: w.name.clone(),
            victim: w.victim.clone(),
            attack_packets: w.packets,
            report_packets: found,
        });
    }
    match report.get("incidents").and_then(Value::as_array) {
        Some(incidents) => s.detection = Some(detect(truth, incidents)),
        None => s
            .missing
            .push("incidents (wave detection, vectors, fingerprints, countries)".into()),
    }
    match report.get("claims").and_then(Value::as_array) {
        Some(claims) => {
            for c in &truth.claims {
                let reported = claims
                    .iter()
                    .find(|x| x.get("claim").and_then(Value::as_str) == Some(c.claim.as_str()))
                    .and_then(|x| x.get("verdict").and_then(Value::as_str))
                    .map(str::to_string);
                s.claims.push(ClaimScore {
                    claim: c.claim.clone(),
                    truth: c.verdict.clone(),
                    reported,
                });
            }
        }
        None if !truth.claims.is_empty() => s.missing.push("claims".into()),
        None => {}
    }
    s
}

fn detect(truth: &Truth, incidents: &[Value]) -> Detection {
    let mut d = Detection::default();
    let mut used = vec![false; incidents.len()];
    let mut fp_true = 0u64;
    let mut fp_reported = 0u64;
    let mut fp_hits = 0u64;
    let mut mirai_waves = 0u64;
    let mut country_err: Option<f64> = None;
    for w in &truth.waves {
        let is_mirai = w.mirai_vector.is_some();
        mirai_waves += is_mirai as u64;
        let mut best: Option<(usize, &Value, u64, u64, &Value)> = None;
        for (i, inc) in incidents.iter().enumerate() {
            let victim = inc.get("victim").and_then(Value::as_str).unwrap_or("");
            if !victim_matches(w, victim) {
                continue;
            }
            // An incident's waves, or the incident itself as one wave.
            let parts: Vec<&Value> = match inc.get("waves").and_then(Value::as_array) {
                Some(ws) if !ws.is_empty() => ws.iter().collect(),
                _ => vec![inc],
            };
            for p in parts {
                let (Some(a), Some(b)) = (time_ns(p, "start"), time_ns(p, "end")) else {
                    continue;
                };
                if a <= w.end_ns + MATCH_SLACK_NS && b + MATCH_SLACK_NS >= w.start_ns {
                    let dist = a.abs_diff(w.start_ns);
                    if best.is_none_or(|x| dist < x.2.abs_diff(w.start_ns)) {
                        best = Some((i, inc, a, b, p));
                    }
                }
            }
        }
        let Some((i, inc, a, b, part)) = best else {
            d.missed.push(w.name.clone());
            continue;
        };
        used[i] = true;
        // The matched wave's own vectors when the report has them, else the incident's.
        let with_vectors = if part.get("vectors").is_some() {
            part
        } else {
            inc
        };
        let reported_vector = with_vectors
            .get("vectors")
            .and_then(Value::as_array)
            .and_then(|v| v.first())
            .and_then(|v| v.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        *d.confusion
            .entry(w.vector.clone())
            .or_default()
            .entry(reported_vector.clone())
            .or_default() += 1;
        let fps = inc.get("fingerprints").and_then(Value::as_array);
        let has_mirai = fps.is_some_and(|f| {
            f.iter()
                .any(|x| x.get("family").and_then(Value::as_str) == Some("mirai"))
        });
        fp_reported += has_mirai as u64;
        fp_true += (has_mirai && is_mirai) as u64;
        fp_hits += (is_mirai && has_mirai) as u64;
        // `analyze` reports `source_profile.countries[] {key, sources_share}`; a plain map
        // `sources.countries {CC: share}` is read too.
        //
        // A wave sent to several hosts (water torture through resolvers) shows as one
        // incident per host, each with part of the sources: their estimated sources per
        // country are added up before comparing with the wave's truth.
        let parts_of_wave: Vec<&Value> = if w.sent_to.is_empty() {
            vec![inc]
        } else {
            incidents
                .iter()
                .filter(|j| {
                    let victim = j.get("victim").and_then(Value::as_str).unwrap_or("");
                    victim_matches(w, victim)
                        && matches!(
                            (time_ns(j, "start"), time_ns(j, "end")),
                            (Some(a), Some(b)) if a <= w.end_ns + MATCH_SLACK_NS
                                && b + MATCH_SLACK_NS >= w.start_ns
                        )
                })
                .collect()
        };
        let mut estimated: BTreeMap<String, f64> = BTreeMap::new();
        let mut any_profile = false;
        for j in &parts_of_wave {
            if let Some(list) = j
                .pointer("/source_profile/countries")
                .and_then(Value::as_array)
            {
                any_profile = true;
                for c in list {
                    if let (Some(k), Some(n)) = (
                        c.get("key").and_then(Value::as_str),
                        c.get("estimated_sources").and_then(Value::as_f64),
                    ) {
                        *estimated.entry(k.to_string()).or_default() += n;
                    }
                }
            }
        }
        let located: f64 = estimated.values().sum();
        let profile: Option<serde_json::Map<String, Value>> = any_profile.then(|| {
            estimated
                .iter()
                .map(|(k, n)| (k.clone(), Value::from(n / located.max(1.0))))
                .collect()
        });
        let countries = profile
            .as_ref()
            .or_else(|| inc.pointer("/sources/countries").and_then(Value::as_object));
        // An incident's profile covers all the waves it holds (reflection-mix sends nine
        // waves from nine reflector sets at one victim, one incident): the truth compared is
        // the sources of every wave the incident overlaps, added up.
        let mut truth_sources: BTreeMap<String, u64> = BTreeMap::new();
        if let (Some(ia), Some(ib)) = (time_ns(inc, "start"), time_ns(inc, "end")) {
            let victim = inc.get("victim").and_then(Value::as_str).unwrap_or("");
            for w2 in &truth.waves {
                if victim_matches(w2, victim)
                    && w2.start_ns <= ib + MATCH_SLACK_NS
                    && ia <= w2.end_ns + MATCH_SLACK_NS
                {
                    for (k, n) in &w2.sources_by_country {
                        *truth_sources.entry(k.clone()).or_default() += n;
                    }
                }
            }
        }
        if truth_sources.is_empty() {
            truth_sources = w.sources_by_country.clone();
        }
        if countries.is_none() && truth_sources.values().sum::<u64>() > 0 {
            d.country_unscored.push(w.name.clone());
        }
        if let Some(countries) = countries {
            let total_truth: u64 = truth_sources.values().sum();
            if total_truth > 0 {
                let mut worst: f64 = 0.0;
                let keys: std::collections::BTreeSet<&String> =
                    truth_sources.keys().chain(countries.keys()).collect();
                for k in keys {
                    let t = *truth_sources.get(k).unwrap_or(&0) as f64 / total_truth as f64;
                    let r = countries
                        .get(k)
                        .and_then(|v| {
                            v.get("share")
                                .and_then(Value::as_f64)
                                .or_else(|| v.as_f64())
                        })
                        .unwrap_or(0.0);
                    worst = worst.max((t - r).abs() * 100.0);
                }
                country_err = Some(country_err.map_or(worst, |e: f64| e.max(worst)));
            }
        }
        d.detected.push(WaveMatch {
            wave: w.name.clone(),
            incident: inc
                .get("id")
                .map(|v| v.to_string().trim_matches('"').to_string())
                .unwrap_or_else(|| i.to_string()),
            start_error_s: (a as f64 - w.start_ns as f64) / 1e9,
            end_error_s: (b as f64 - w.end_ns as f64) / 1e9,
            truth_vector: w.vector.clone(),
            reported_vector,
        });
    }
    for (i, inc) in incidents.iter().enumerate() {
        if used[i] {
            continue;
        }
        let victim = inc.get("victim").and_then(Value::as_str).unwrap_or("?");
        // A flood sent through several hosts (water torture through resolvers) shows as one
        // incident per host: those at a wave's `sent_to` during the wave belong to it.
        let (start, end) = (time_ns(inc, "start"), time_ns(inc, "end"));
        let part_of_wave = truth.waves.iter().any(|w| {
            w.sent_to.iter().any(|s| s == victim)
                && matches!((start, end), (Some(a), Some(b))
                    if a <= w.end_ns + MATCH_SLACK_NS && b + MATCH_SLACK_NS >= w.start_ns)
        });
        if !part_of_wave {
            d.spurious.push(victim.to_string());
        }
    }
    let n = truth.waves.len();
    d.recall = if n == 0 {
        1.0
    } else {
        d.detected.len() as f64 / n as f64
    };
    d.vector_accuracy = if d.detected.is_empty() {
        0.0
    } else {
        d.detected
            .iter()
            .filter(|m| m.truth_vector == m.reported_vector)
            .count() as f64
            / d.detected.len() as f64
    };
    d.fingerprint_precision = (fp_reported > 0).then(|| fp_true as f64 / fp_reported as f64);
    d.fingerprint_recall = (mirai_waves > 0).then(|| fp_hits as f64 / mirai_waves as f64);
    d.max_country_error_pp = country_err;
    d
}

/// A readable table of the scores.
pub fn render_text(truth: &Truth, s: &Score) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scenario  {} (seed {}, scale {})",
        truth.scenario, truth.seed, truth.scale
    );
    let _ = writeln!(
        o,
        "packets   truth {}  report {}  error {:.4} %",
        s.truth_packets,
        s.report_packets,
        s.total_error * 100.0
    );
    if !s.victims.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<14} {:<20} {:>14} {:>16}",
            "wave", "victim", "attack pkts", "report dst pkts"
        );
        for v in &s.victims {
            let rep = v
                .report_packets
                .map_or("not listed".to_string(), |p| p.to_string());
            let _ = writeln!(
                o,
                "{:<14} {:<20} {:>14} {:>16}",
                v.wave, v.victim, v.attack_packets, rep
            );
        }
    }
    if let Some(d) = &s.detection {
        let _ = writeln!(
            o,
            "\nwaves     {} detected, {} missed, {} spurious incident(s); recall {:.1} %",
            d.detected.len(),
            d.missed.len(),
            d.spurious.len(),
            d.recall * 100.0
        );
        let _ = writeln!(
            o,
            "{:<14} {:>9} {:>9}  {:<22} reported",
            "wave", "Δstart s", "Δend s", "truth vector"
        );
        for m in &d.detected {
            let _ = writeln!(
                o,
                "{:<14} {:>9.1} {:>9.1}  {:<22} {}",
                m.wave, m.start_error_s, m.end_error_s, m.truth_vector, m.reported_vector
            );
        }
        for w in &d.missed {
            let _ = writeln!(o, "{w:<14} MISSED");
        }
        let _ = writeln!(o, "vector accuracy {:.1} %", d.vector_accuracy * 100.0);
        let pct = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{:.1} %", v * 100.0));
        let _ = writeln!(
            o,
            "mirai fingerprint precision {}  recall {}",
            pct(d.fingerprint_precision),
            pct(d.fingerprint_recall)
        );
        if let Some(e) = d.max_country_error_pp {
            let _ = writeln!(o, "country share error (max) {e:.2} pp");
        }
        if !d.country_unscored.is_empty() {
            let _ = writeln!(
                o,
                "country shares not reported for {}",
                d.country_unscored.join(", ")
            );
        }
    }
    if !s.claims.is_empty() {
        let _ = writeln!(o, "\n{:<20} {:<14} reported", "claim", "ideal");
        for c in &s.claims {
            let _ = writeln!(
                o,
                "{:<20} {:<14} {}",
                c.claim,
                c.truth,
                c.reported.as_deref().unwrap_or("not in report")
            );
        }
    }
    for m in &s.missing {
        let _ = writeln!(o, "not in report: {m}");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ns("2021-04-28T10:30:21.099510000Z"),
            Some(1_619_605_821_099_510_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2000-02-29T00:00:01.5Z"),
            Some(951_782_401_500_000_000)
        );
        assert_eq!(parse_rfc3339_ns("garbage"), None);
    }
}
