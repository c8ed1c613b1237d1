//! Outage reports (rates, delay and decay, channel split, determinism, CSV) and web access
//! log lines (combined format, escaping, user agents).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use floodtrace_sim::reports::{
    apache_time, benign_referer, benign_request, expected_rate_per_second, outage_reports,
    per_minute, rfc3339, write_access_line, write_reports_csv, AccessLogLine, OutageModel,
    OutageReport, BROWSER_USER_AGENTS, MIRAI_HTTP_USER_AGENTS,
};
use floodtrace_sim::rng::Rng;

const START: u64 = 1_741_599_600; // 2025-03-10T09:40:00Z

fn weights(items: &[(&str, f64)]) -> BTreeMap<String, f64> {
    items.iter().map(|&(k, w)| (k.to_owned(), w)).collect()
}

fn model(baseline: f64, full: f64, delay: u32, decay: u32) -> OutageModel {
    OutageModel {
        baseline_per_minute: baseline,
        full_impact_per_minute: full,
        delay_seconds: delay,
        decay_seconds: decay,
        channels: weights(&[("app", 0.56), ("website", 0.33), ("other", 0.11)]),
        problems: weights(&[
            ("login", 0.4),
            ("feed", 0.35),
            ("links", 0.15),
            ("images", 0.1),
        ]),
        regions: weights(&[("US", 0.5), ("GB", 0.2), ("UA", 0.05), ("Kyiv, UA", 0.25)]),
    }
}

#[test]
fn baseline_rate_without_impact() {
    let m = model(30.0, 1000.0, 120, 300);
    let impact = vec![0.0; 2 * 3600];
    let reps = outage_reports(&m, START, &impact, &mut Rng::new(1, 1));
    let expected: f64 = 30.0 * 120.0;
    let sd = expected.sqrt();
    assert!(
        (reps.len() as f64 - expected).abs() < 4.0 * sd,
        "{} reports, expected {expected} ± {sd:.0}",
        reps.len()
    );
    assert!(reps.windows(2).all(|w| w[0].ts <= w[1].ts), "not sorted");
    assert!(reps.iter().all(|r| (START..START + 7200).contains(&r.ts)));
    // Evenly spread: each half hour within Poisson error of its share.
    for q in 0..4 {
        let n = reps.iter().filter(|r| (r.ts - START) / 1800 == q).count() as f64;
        assert!((n - 900.0).abs() < 4.0 * 30.0, "quarter {q}: {n}");
    }
}

#[test]
fn reports_spike_after_the_delay_and_decay_after_the_impact() {
    let (delay, decay) = (180u32, 240u32);
    let m = model(6.0, 900.0, delay, decay);
    let (on, off) = (1200usize, 2400usize);
    let mut impact = vec![0.0; 3 * 3600];
    impact[on..off].iter_mut().for_each(|x| *x = 1.0);

    // The expected rate: exactly baseline until impact start + delay, then rising.
    let rate = expected_rate_per_second(&m, &impact);
    let base = 6.0 / 60.0;
    for (i, &r) in rate.iter().enumerate().take(on + delay as usize) {
        assert!((r - base).abs() < 1e-12, "second {i}: {r}");
    }
    assert!(rate[on + delay as usize] > base);
    // Sustained impact brings the response close to full (kernel integrates to 1).
    let peak = rate.iter().cloned().fold(0.0, f64::max);
    assert!(peak > base + 0.9 * 900.0 / 60.0, "peak {peak}");
    assert!(peak <= base + 900.0 / 60.0 + 1e-9);
    // Decays with the configured time constant after impact end + delay.
    let end = off + delay as usize;
    let extra = |i: usize| rate[i] - base;
    let ratio = extra(end + 3 * decay as usize) / extra(end + 2 * decay as usize);
    assert!(
        (ratio - (-1.0f64).exp()).abs() < 0.02,
        "decay ratio over one time constant: {ratio}"
    );
    assert!(extra(end + 10 * decay as usize) < 1e-3);

    // The drawn reports follow it.
    let reps = outage_reports(&m, START, &impact, &mut Rng::new(7, 7));
    let minutes = per_minute(&reps, START, impact.len() / 60);
    let before: u64 = minutes[..on / 60].iter().map(|m| m.reports).sum();
    assert!(
        (before as f64 - 6.0 * 20.0).abs() < 4.0 * (120f64).sqrt(),
        "{before}"
    );
    // Nothing above baseline before the delay has passed.
    let first_spike = minutes.iter().position(|m| m.reports > 40).unwrap();
    let first_spike_ts = minutes[first_spike].minute;
    assert!(
        first_spike_ts + 60 > START + (on as u64) + u64::from(delay),
        "spike at minute {first_spike}, before impact + delay"
    );
    assert!(
        first_spike_ts <= START + (on as u64) + u64::from(delay) + 120,
        "spike at minute {first_spike}, too late"
    );
    let peak_minute = minutes.iter().max_by_key(|m| m.reports).unwrap();
    assert!(peak_minute.reports > 700, "{}", peak_minute.reports);
    assert!(peak_minute.minute >= START + (on as u64) + u64::from(delay));
    assert!(peak_minute.minute <= START + (off as u64) + u64::from(delay));
    // Back at baseline well after the impact.
    let late: u64 = minutes[(end + 10 * decay as usize) / 60..]
        .iter()
        .map(|m| m.reports)
        .sum();
    let late_minutes = minutes.len() - (end + 10 * decay as usize) / 60;
    let want = 6.0 * late_minutes as f64;
    assert!(
        (late as f64 - want).abs() < 4.0 * want.sqrt() + 2.0,
        "{late} vs {want}"
    );
}

#[test]
fn no_decay_means_impact_shifted_by_the_delay() {
    let m = model(0.0, 60.0, 30, 0);
    let mut impact = vec![0.0; 200];
    impact[50..100].iter_mut().for_each(|x| *x = 0.5);
    let rate = expected_rate_per_second(&m, &impact);
    for (i, &r) in rate.iter().enumerate() {
        let want = if (80..130).contains(&i) { 0.5 } else { 0.0 };
        assert!((r - want).abs() < 1e-12, "{i}: {r}");
    }
}

#[test]
fn channel_problem_and_region_shares_follow_the_model() {
    let m = model(600.0, 0.0, 0, 0);
    let reps = outage_reports(&m, START, &vec![0.0; 2 * 3600], &mut Rng::new(3, 9));
    let n = reps.len() as f64;
    assert!(n > 60_000.0);
    let share = |f: &dyn Fn(&OutageReport) -> &str, key: &str| {
        reps.iter().filter(|r| f(r) == key).count() as f64 / n
    };
    for (key, w) in &m.channels {
        let s = share(&|r| &r.channel, key);
        assert!((s - w).abs() < 0.02, "channel {key}: {s:.4} vs {w}");
    }
    let total: f64 = m.problems.values().sum();
    for (key, w) in &m.problems {
        let s = share(&|r| &r.problem, key);
        assert!((s - w / total).abs() < 0.02, "problem {key}: {s:.4}");
    }
    for (key, w) in &m.regions {
        let s = share(&|r| &r.region, key);
        assert!((s - w).abs() < 0.02, "region {key}: {s:.4}");
    }
    // Per-minute channel counts add up.
    let minutes = per_minute(&reps, START, 120);
    assert_eq!(minutes.len(), 120);
    assert_eq!(
        minutes.iter().map(|m| m.reports).sum::<u64>(),
        reps.len() as u64
    );
    for mc in &minutes {
        assert_eq!(mc.channels.values().sum::<u64>(), mc.reports);
        assert_eq!(
            mc.channels.keys().collect::<Vec<_>>(),
            vec!["app", "other", "website"]
        );
    }
    assert_eq!(minutes[1].minute, START + 60);
}

#[test]
fn empty_maps_give_unknown_and_validate_catches_bad_models() {
    let mut m = model(60.0, 0.0, 0, 0);
    m.regions.clear();
    let reps = outage_reports(&m, START, &[0.0; 600], &mut Rng::new(1, 1));
    assert!(!reps.is_empty());
    assert!(reps.iter().all(|r| r.region == "unknown"));
    assert!(m.validate().is_ok());
    let mut bad = m.clone();
    bad.baseline_per_minute = -1.0;
    assert!(bad.validate().unwrap_err().contains("baseline_per_minute"));
    let mut bad = m.clone();
    bad.channels.insert("sms".into(), f64::NAN);
    assert!(bad.validate().unwrap_err().contains("channels.sms"));
    let mut bad = m;
    bad.problems.values_mut().for_each(|w| *w = 0.0);
    assert!(bad.validate().unwrap_err().contains("problems"));
}

#[test]
fn model_reads_from_toml_and_rejects_unknown_fields() {
    let src = r#"
        baseline_per_minute = 3.0
        full_impact_per_minute = 800.0
        delay_seconds = 150
        decay_seconds = 300
        channels = { app = 0.56, website = 0.33, other = 0.11 }
        problems = { login = 0.4, feed = 0.3, links = 0.2, images = 0.1 }
        regions = { US = 0.4, GB = 0.2, UA = 0.1 }
    "#;
    let m: OutageModel = toml::from_str(src).unwrap();
    assert_eq!(m.delay_seconds, 150);
    assert_eq!(m.channels["app"], 0.56);
    let bad = src.replace("delay_seconds", "lag_seconds");
    let e = toml::from_str::<OutageModel>(&bad).unwrap_err().to_string();
    assert!(e.contains("lag_seconds"), "{e}");
}

#[test]
fn deterministic_with_the_same_seed() {
    let m = model(20.0, 500.0, 60, 120);
    let mut impact = vec![0.0; 3600];
    impact[600..900].iter_mut().for_each(|x| *x = 0.8);
    let a = outage_reports(&m, START, &impact, &mut Rng::named(42, "outage"));
    let b = outage_reports(&m, START, &impact, &mut Rng::named(42, "outage"));
    let c = outage_reports(&m, START, &impact, &mut Rng::named(43, "outage"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let (mut ca, mut cb) = (Vec::new(), Vec::new());
    write_reports_csv(&a, &mut ca).unwrap();
    write_reports_csv(&b, &mut cb).unwrap();
    assert_eq!(ca, cb);
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a civil date (the test's own implementation).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_rfc3339(s: &str) -> u64 {
    assert_eq!(s.len(), 20, "{s}");
    let b = s.as_bytes();
    assert!(b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':');
    assert_eq!(b[19], b'Z');
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    (days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)) as u64
}

/// RFC 4180 record splitting (quoted fields with doubled quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().unwrap().push(c),
        }
    }
    out
}

#[test]
fn csv_parses_back() {
    let m = model(30.0, 300.0, 60, 60);
    let mut impact = vec![0.0; 1800];
    impact[300..600].iter_mut().for_each(|x| *x = 1.0);
    let mut reps = outage_reports(&m, START, &impact, &mut Rng::new(5, 5));
    reps.push(OutageReport {
        ts: START + 1799,
        region: "Odesa \"port\", UA".into(),
        channel: "app".into(),
        problem: "login".into(),
    });
    let mut buf = Vec::new();
    write_reports_csv(&reps, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,region,channel,problem"));
    let parsed: Vec<OutageReport> = lines
        .map(|l| {
            let f = split_csv(l);
            assert_eq!(f.len(), 4, "{l}");
            OutageReport {
                ts: parse_rfc3339(&f[0]),
                region: f[1].clone(),
                channel: f[2].clone(),
                problem: f[3].clone(),
            }
        })
        .collect();
    assert_eq!(parsed, reps);
    assert!(text.contains("\"Kyiv, UA\""));
    assert!(text.ends_with('\n'));
}

#[test]
fn time_formats() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_741_599_667), "2025-03-10T09:41:07Z");
    assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    assert_eq!(apache_time(971_186_136), "10/Oct/2000:13:55:36 +0000");
    let mut rng = Rng::new(8, 8);
    for _ in 0..10_000 {
        let t = rng.below(4_102_444_800); // up to 2100
        assert_eq!(parse_rfc3339(&rfc3339(t)), t);
    }
}

// ---------------------------------------------------------------------------------------
// Access log
// ---------------------------------------------------------------------------------------

struct Parsed {
    client: Ipv4Addr,
    unix: u64,
    method: String,
    path: String,
    protocol: String,
    status: u16,
    bytes: Option<u64>,
    referer: String,
    user_agent: String,
}

/// Strict matcher for
/// `^(\S+) - - \[(\d{2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000\] "(\S+) (\S+) (HTTP/\d\.\d)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$`
/// returning the fields with escapes undone, or `None` when the line does not match.
fn parse_combined(line: &str) -> Option<Parsed> {
    fn quoted(s: &str) -> Option<(String, &str)> {
        let s = s.strip_prefix('"')?;
        let mut out = String::new();
        let mut it = s.char_indices();
        while let Some((i, c)) = it.next() {
            match c {
                '"' => return Some((out, &s[i + 1..])),
                '\\' => match it.next()?.1 {
                    'x' => {
                        let h: String = [it.next()?.1, it.next()?.1].iter().collect();
                        out.push(u8::from_str_radix(&h, 16).ok()? as char);
                    }
                    e => out.push(e),
                },
                c => out.push(c),
            }
        }
        None
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());

    let (client, rest) = line.split_once(' ')?;
    let client: Ipv4Addr = client.parse().ok()?;
    let rest = rest.strip_prefix("- - [")?;
    let (time, rest) = rest.split_once("] ")?;
    let (date, zone) = time.split_once(' ')?;
    if zone != "+0000" || date.len() != 20 {
        return None;
    }
    let (d, mon, y) = (&date[0..2], &date[3..6], &date[7..11]);
    let (hh, mm, ss) = (&date[12..14], &date[15..17], &date[18..20]);
    if &date[2..3] != "/" || &date[6..7] != "/" || &date[11..12] != ":" {
        return None;
    }
    if ![d, y, hh, mm, ss]
        .iter()
        .zip([2, 4, 2, 2, 2])
        .all(|(s, n)| digits(s, n))
    {
        return None;
    }
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == mon)? as i64 + 1;
    let num = |s: &str| s.parse::<i64>().unwrap();
    let unix =
        (days_from_civil(num(y), month, num(d)) * 86_400 + num(hh) * 3600 + num(mm) * 60 + num(ss))
            as u64;

    let (request, rest) = quoted(rest)?;
    let mut parts = request.split(' ');
    let (method, path, protocol) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || method.is_empty()
        || path.is_empty()
        || !protocol.starts_with("HTTP/")
    {
        return None;
    }
    let rest = rest.strip_prefix(' ')?;
    let (status, rest) = rest.split_once(' ')?;
    if !digits(status, 3) {
        return None;
    }
    let (bytes, rest) = rest.split_once(' ')?;
    let bytes = match bytes {
        "-" => None,
        b if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) => Some(b.parse().ok()?),
        _ => return None,
    };
    let (referer, rest) = quoted(rest)?;
    let rest = rest.strip_prefix(' ')?;
    let (user_agent, rest) = quoted(rest)?;
    if !rest.is_empty() {
        return None;
    }
    Some(Parsed {
        client,
        unix,
        method: method.into(),
        path: path.into(),
        protocol: protocol.into(),
        status: status.parse().ok()?,
        bytes,
        referer,
        user_agent,
    })
}

fn render(line: &AccessLogLine, host: &str) -> String {
    let mut buf = Vec::new();
    write_access_line(line, host, &mut buf).unwrap();
    let s = String::from_utf8(buf).unwrap();
    assert!(s.ends_with('\n') && s.matches('\n').count() == 1, "{s:?}");
    s.trim_end_matches('\n').to_owned()
}

#[test]
fn access_lines_are_combined_format_with_fields_intact() {
    let mut rng = Rng::new(12, 12);
    for i in 0..5_000u64 {
        let (method, path, ua) = benign_request(&mut rng);
        let referer = benign_referer(&mut rng);
        let ts = 1_741_599_600_000_000_000 + i * 987_654_321;
        let client = Ipv4Addr::from(rng.next_u32());
        let status = [200u16, 200, 304, 404, 502, 503][rng.below(6) as usize];
        let bytes = if status == 304 { 0 } else { rng.below(200_000) };
        let line = AccessLogLine {
            ts,
            client,
            method,
            path: &path,
            status,
            bytes,
            referer,
            user_agent: ua,
        };
        let text = render(&line, "x.example");
        let p = parse_combined(&text).unwrap_or_else(|| panic!("no match: {text}"));
        assert_eq!(p.client, client);
        assert_eq!(p.unix, ts / 1_000_000_000);
        assert_eq!(p.method, method);
        assert_eq!(p.path, path);
        assert_eq!(p.protocol, "HTTP/1.1");
        assert_eq!(p.status, status);
        assert_eq!(p.bytes, (bytes > 0).then_some(bytes));
        let want_ref = match referer {
            "" => "-".to_owned(),
            r if r.starts_with('/') => format!("https://x.example{r}"),
            r => r.to_owned(),
        };
        assert_eq!(p.referer, want_ref);
        assert_eq!(p.user_agent, ua);
    }
}

#[test]
fn access_line_exact_text_and_escaping() {
    let line = AccessLogLine {
        ts: 971_186_136_500_000_000,
        client: Ipv4Addr::new(203, 0, 113, 9),
        method: "GET",
        path: "/",
        status: 200,
        bytes: 2326,
        referer: "-",
        user_agent: MIRAI_HTTP_USER_AGENTS[4],
    };
    assert_eq!(
        render(&line, "x.example"),
        "203.0.113.9 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" 200 2326 \"-\" \
         \"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/601.7.7 (KHTML, like \
         Gecko) Version/9.1.2 Safari/601.7.7\""
    );
    let odd = AccessLogLine {
        path: "/a\"b\\c\td",
        user_agent: "say \"hi\"\n",
        bytes: 0,
        status: 503,
        referer: "",
        ..line
    };
    let text = render(&odd, "x.example");
    assert!(
        text.contains(r#""GET /a\"b\\c\x09d HTTP/1.1" 503 - "-" "say \"hi\"\x0a""#),
        "{text}"
    );
    let p = parse_combined(&text).unwrap();
    assert_eq!(p.path, "/a\"b\\c\td");
    assert_eq!(p.user_agent, "say \"hi\"\n");
    assert_eq!(p.bytes, None);
}

#[test]
fn user_agents() {
    // Mirai's five: Chrome 51.0.2704.103 / 52.0.2743.116 on Windows NT 10.0 and 6.1 WOW64,
    // Safari 9.1.2 (601.7.7) on OS X 10_11_6.
    let mut set: Vec<&str> = MIRAI_HTTP_USER_AGENTS.to_vec();
    set.sort();
    set.dedup();
    assert_eq!(set.len(), 5);
    for nt in ["Windows NT 10.0; WOW64", "Windows NT 6.1; WOW64"] {
        for chrome in ["Chrome/51.0.2704.103", "Chrome/52.0.2743.116"] {
            assert_eq!(
                MIRAI_HTTP_USER_AGENTS
                    .iter()
                    .filter(|u| u.contains(nt) && u.contains(chrome))
                    .count(),
                1,
                "{nt} {chrome}"
            );
        }
    }
    assert!(MIRAI_HTTP_USER_AGENTS[4].contains("Intel Mac OS X 10_11_6"));
    assert!(MIRAI_HTTP_USER_AGENTS[4].contains("Version/9.1.2 Safari/601.7.7"));
    for ua in MIRAI_HTTP_USER_AGENTS {
        assert!(ua.starts_with("Mozilla/5.0 ("));
        assert!(!BROWSER_USER_AGENTS.iter().any(|b| b.0 == ua));
    }

    // Benign requests: browser UAs, sane methods and paths, some variety.
    let mut rng = Rng::new(2, 2);
    let mut uas = std::collections::HashSet::new();
    let mut paths = std::collections::HashSet::new();
    let mut methods = BTreeMap::new();
    for _ in 0..20_000 {
        let (method, path, ua) = benign_request(&mut rng);
        assert!(BROWSER_USER_AGENTS.iter().any(|b| b.0 == ua));
        assert!(
            path.starts_with('/') && !path.contains([' ', '"']),
            "{path}"
        );
        *methods.entry(method).or_insert(0u32) += 1;
        uas.insert(ua);
        paths.insert(path);
    }
    assert_eq!(uas.len(), BROWSER_USER_AGENTS.len());
    assert!(paths.len() > 1000, "{}", paths.len());
    assert!(
        methods["GET"] > 15_000 && methods["POST"] > 500,
        "{methods:?}"
    );
    assert!(methods.keys().all(|m| ["GET", "POST", "HEAD"].contains(m)));
}
