//! What users and web servers see: outage reports (Downdetector-style) and web access logs.
//!
//! * [`outage_reports`] turns a per-second *service impact* series into user reports: a
//!   Poisson arrival process whose rate is a baseline plus a delayed, smoothed response to the
//!   impact (see [`expected_rate_per_second`]). [`write_reports_csv`] writes them as the CSV
//!   floodtrace ingests, [`per_minute`] summarises them for `truth.json`.
//! * [`write_access_line`] writes one Apache/Nginx *combined* log line; [`benign_request`]
//!   and [`MIRAI_HTTP_USER_AGENTS`] provide the request mix of normal visitors and of the
//!   Mirai `http` flood.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::Ipv4Addr;

use crate::geo::date_of;
use crate::rng::Rng;

/// How users report an outage.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutageModel {
    /// Reports per minute with no impact.
    pub baseline_per_minute: f64,
    /// Extra reports per minute under sustained impact 1.0.
    pub full_impact_per_minute: f64,
    /// Users notice and report after this delay (seconds).
    pub delay_seconds: u32,
    /// Reporting follows the impact with this time constant (seconds): after the impact ends
    /// the extra rate decays as `exp(-t / decay_seconds)`. `0` means no smoothing.
    pub decay_seconds: u32,
    /// Report channel → weight, e.g. `app` 0.56, `website` 0.33, `other` 0.11.
    pub channels: BTreeMap<String, f64>,
    /// Reported problem → weight, e.g. `login`, `feed`, `links`, `images`.
    pub problems: BTreeMap<String, f64>,
    /// Country code or region name → weight.
    pub regions: BTreeMap<String, f64>,
}

impl OutageModel {
    /// Checks rates and weights: rates finite and ≥ 0, weights finite and ≥ 0 with a
    /// positive sum in every non-empty map. The message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("baseline_per_minute", self.baseline_per_minute),
            ("full_impact_per_minute", self.full_impact_per_minute),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("{name} must be a finite number >= 0, got {v}"));
            }
        }
        for (name, map) in [
            ("channels", &self.channels),
            ("problems", &self.problems),
            ("regions", &self.regions),
        ] {
            for (k, &w) in map {
                if !w.is_finite() || w < 0.0 {
                    return Err(format!(
                        "{name}.{k}: weight must be finite and >= 0, got {w}"
                    ));
                }
            }
            if !map.is_empty() && map.values().sum::<f64>() <= 0.0 {
                return Err(format!("{name}: weights sum to zero"));
            }
        }
        Ok(())
    }
}

/// One user report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutageReport {
    /// Unix seconds.
    pub ts: u64,
    /// Region (country code or region name) from [`OutageModel::regions`].
    pub region: String,
    /// Channel from [`OutageModel::channels`].
    pub channel: String,
    /// Problem from [`OutageModel::problems`].
    pub problem: String,
}

/// The value used when a model's map is empty.
pub const UNKNOWN: &str = "unknown";

/// The response of reporting to the impact, per second, in units of impact (0..=1 for an
/// impact series in 0..=1): `impact` convolved with a kernel that is zero before
/// `delay_seconds`, then rises (time constant `min(decay/10, 30 s)`, at least 1 s) and decays
/// exponentially with `decay_seconds`. The kernel integrates to 1, so a sustained impact of
/// 1.0 brings the response to 1.0. Computed recursively (two first-order filters), O(n).
pub fn response(model: &OutageModel, impact: &[f64]) -> Vec<f64> {
    let delay = model.delay_seconds as usize;
    let input = |i: usize| -> f64 {
        i.checked_sub(delay)
            .and_then(|j| impact.get(j))
            .map_or(0.0, |&x| {
                if x.is_finite() {
                    x.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            })
    };
    let tau_d = f64::from(model.decay_seconds);
    if tau_d <= 0.0 {
        return (0..impact.len()).map(input).collect();
    }
    let tau_r = (tau_d / 10.0).clamp(1.0, 30.0).min(tau_d / 2.0);
    let (a_d, a_r) = ((-1.0 / tau_d).exp(), (-1.0 / tau_r).exp());
    let (mut y_d, mut y_r) = (0.0f64, 0.0f64);
    (0..impact.len())
        .map(|i| {
            let x = input(i);
            y_d = a_d * y_d + (1.0 - a_d) * x;
            y_r = a_r * y_r + (1.0 - a_r) * x;
            ((tau_d * y_d - tau_r * y_r) / (tau_d - tau_r)).clamp(0.0, 1.0)
        })
        .collect()
}

/// Expected reports per second for each second of `impact`:
/// `(baseline + full_impact × response) / 60` (see [`response`]).
pub fn expected_rate_per_second(model: &OutageModel, impact: &[f64]) -> Vec<f64> {
    let base = model.baseline_per_minute.max(0.0);
    let full = model.full_impact_per_minute.max(0.0);
    response(model, impact)
        .into_iter()
        .map(|r| (base + full * r) / 60.0)
        .collect()
}

/// Keys and non-negative weights of a map, in key order.
fn table(map: &BTreeMap<String, f64>) -> (Vec<&str>, Vec<f64>) {
    map.iter()
        .map(|(k, &w)| (k.as_str(), if w.is_finite() { w.max(0.0) } else { 0.0 }))
        .unzip()
}

fn pick<'a>(rng: &mut Rng, t: &(Vec<&'a str>, Vec<f64>)) -> &'a str {
    rng.weighted(&t.1).map_or(UNKNOWN, |i| t.0[i])
}

/// User reports for the seconds `start_unix .. start_unix + impact.len()`, sorted by `ts`.
///
/// `impact[i]` is the service impact (0..=1) during second `start_unix + i`. Each second gets
/// a Poisson number of reports with mean [`expected_rate_per_second`]; each report's
/// region, channel and problem are drawn from the model's weights (a map left empty gives
/// [`UNKNOWN`]). Deterministic in `rng`.
pub fn outage_reports(
    model: &OutageModel,
    start_unix: u64,
    impact: &[f64],
    rng: &mut Rng,
) -> Vec<OutageReport> {
    let regions = table(&model.regions);
    let channels = table(&model.channels);
    let problems = table(&model.problems);
    let mut out = Vec::new();
    for (i, rate) in expected_rate_per_second(model, impact)
        .into_iter()
        .enumerate()
    {
        for _ in 0..rng.poisson(rate) {
            out.push(OutageReport {
                ts: start_unix + i as u64,
                region: pick(rng, &regions).to_owned(),
                channel: pick(rng, &channels).to_owned(),
                problem: pick(rng, &problems).to_owned(),
            });
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC) of a unix time.
pub fn rfc3339(unix: u64) -> String {
    let (y, mo, d) = date_of(unix);
    let s = unix % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Writes a CSV field, quoting it when needed (RFC 4180).
fn csv_field(out: &mut dyn Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", s.replace('"', "\"\""))
    } else {
        out.write_all(s.as_bytes())
    }
}

/// Writes `reports` as CSV: header `timestamp,region,channel,problem`, one row per report,
/// timestamps in RFC 3339 UTC (`2025-03-10T09:41:07Z`), fields quoted per RFC 4180 when they
/// contain a comma, quote or line break.
pub fn write_reports_csv(reports: &[OutageReport], out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"timestamp,region,channel,problem\n")?;
    for r in reports {
        out.write_all(rfc3339(r.ts).as_bytes())?;
        for f in [&r.region, &r.channel, &r.problem] {
            out.write_all(b",")?;
            csv_field(out, f)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Reports in one minute, for `truth.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MinuteCount {
    /// Start of the minute (unix seconds).
    pub minute: u64,
    /// Reports in `[minute, minute + 60)`.
    pub reports: u64,
    /// Reports per channel; every channel seen in the input is listed, with 0 where absent.
    pub channels: BTreeMap<String, u64>,
}

/// Per-minute counts for the `minutes` minutes starting at `start_unix`; reports outside that
/// span are ignored.
pub fn per_minute(reports: &[OutageReport], start_unix: u64, minutes: usize) -> Vec<MinuteCount> {
    let zero: BTreeMap<String, u64> = reports.iter().map(|r| (r.channel.clone(), 0)).collect();
    let mut out: Vec<MinuteCount> = (0..minutes as u64)
        .map(|m| MinuteCount {
            minute: start_unix + 60 * m,
            reports: 0,
            channels: zero.clone(),
        })
        .collect();
    for r in reports {
        let Some(off) = r.ts.checked_sub(start_unix) else {
            continue;
        };
        if let Some(m) = out.get_mut((off / 60) as usize) {
            m.reports += 1;
            *m.channels.get_mut(&r.channel).expect("channel listed") += 1;
        }
    }
    out
}

/// One web request as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogLine<'a> {
    /// Time of the request (unix nanoseconds; the log has second resolution).
    pub ts: u64,
    /// Client address (`%h`).
    pub client: Ipv4Addr,
    /// Request method.
    pub method: &'a str,
    /// Request path with query string.
    pub path: &'a str,
    /// Final status (`%>s`).
    pub status: u16,
    /// Response body bytes (`%b`; 0 is written as `-`).
    pub bytes: u64,
    /// `Referer` header: empty or `-` for none, a path starting with `/` for a page of this
    /// site, or an absolute URL.
    pub referer: &'a str,
    /// `User-Agent` header (empty for none).
    pub user_agent: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `10/Mar/2025:09:41:07 +0000` (Apache `%t` without brackets, UTC).
pub fn apache_time(unix: u64) -> String {
    let (y, mo, d) = date_of(unix);
    let s = unix % 86_400;
    format!(
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[mo as usize - 1],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Writes `s` escaped the way Apache escapes `%r` and request headers: `"` and `\` get a
/// backslash, control and non-ASCII bytes become `\xhh`.
fn write_escaped(out: &mut dyn Write, s: &str) -> io::Result<()> {
    let b = s.as_bytes();
    if b.iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
    {
        return out.write_all(b);
    }
    for &c in b {
        match c {
            b'"' => out.write_all(b"\\\"")?,
            b'\\' => out.write_all(b"\\\\")?,
            0x20..=0x7e => out.write_all(&[c])?,
            _ => write!(out, "\\x{c:02x}")?,
        }
    }
    Ok(())
}

/// Writes one line in the Apache/Nginx *combined* format, newline-terminated:
///
/// `%h - - [%d/%b/%Y:%H:%M:%S +0000] "%r" %>s %b "%{Referer}i" "%{User-agent}i"`
///
/// with `%r` = `METHOD PATH HTTP/1.1`. A referer starting with `/` is written as
/// `https://{host}{referer}` (a page of the site being logged); an empty referer or
/// user agent is written as `-`, as servers do.
pub fn write_access_line(line: &AccessLogLine, host: &str, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "{} - - [{}] \"",
        line.client,
        apache_time(line.ts / 1_000_000_000)
    )?;
    write_escaped(out, line.method)?;
    out.write_all(b" ")?;
    write_escaped(out, line.path)?;
    out.write_all(b" HTTP/1.1\" ")?;
    if line.bytes == 0 {
        write!(out, "{} - \"", line.status)?;
    } else {
        write!(out, "{} {} \"", line.status, line.bytes)?;
    }
    if line.referer.is_empty() {
        out.write_all(b"-")?;
    } else if line.referer.starts_with('/') {
        out.write_all(b"https://")?;
        write_escaped(out, host)?;
        write_escaped(out, line.referer)?;
    } else {
        write_escaped(out, line.referer)?;
    }
    out.write_all(b"\" \"")?;
    if line.user_agent.is_empty() {
        out.write_all(b"-")?;
    } else {
        write_escaped(out, line.user_agent)?;
    }
    out.write_all(b"\"\n")
}

/// The five User-Agent strings of the Mirai `http` flood, exactly as in the public source
/// (`mirai/bot/table.c`, `TABLE_HTTP_ONE` … `TABLE_HTTP_FIVE`; one per connection slot,
/// `rand_next() % 5`).
pub const MIRAI_HTTP_USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/601.7.7 (KHTML, like Gecko) Version/9.1.2 Safari/601.7.7",
];

/// Current desktop and mobile browser User-Agent strings of ordinary visitors, with weights
/// roughly following browser market shares (Chrome-based first).
pub const BROWSER_USER_AGENTS: [(&str, f64); 12] = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 18.0),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36", 8.0),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", 6.0),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 7.0),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", 6.0),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 4.0),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 2.0),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 1.0),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", 18.0),
    ("Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", 3.0),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 22.0),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", 5.0),
];

/// Page and asset paths of a social site's web front end, with weights.
const PAGES: [(&str, f64); 10] = [
    ("/", 14.0),
    ("/home", 22.0),
    ("/explore", 5.0),
    ("/notifications", 6.0),
    ("/messages", 3.0),
    ("/login", 4.0),
    ("/favicon.ico", 3.0),
    ("/manifest.json", 2.0),
    ("/robots.txt", 0.5),
    ("/settings/account", 1.0),
];

const ASSETS: [&str; 6] = [
    "/static/js/main.8f3c2a1e.js",
    "/static/js/vendor.41d07b9c.js",
    "/static/css/main.c5e1f0a2.css",
    "/static/fonts/inter-var.woff2",
    "/static/img/logo.svg",
    "/static/img/default_profile_normal.png",
];

const WORDS: [&str; 16] = [
    "news", "weather", "football", "music", "election", "outage", "recipes", "travel", "ai",
    "crypto", "movies", "science", "gaming", "health", "markets", "art",
];

const USERS: [&str; 12] = [
    "alice", "bob_k", "carla.m", "dmitri", "eve_news", "fatima", "gustavo", "hana_jp", "ivan",
    "jules", "kwame", "lena_b",
];

/// A background request of an ordinary visitor: method, path (with query string where
/// natural) and browser User-Agent. Mostly `GET` of pages, profiles, posts, searches and
/// static assets; some `POST`s to the API; rare `HEAD`s.
pub fn benign_request(rng: &mut Rng) -> (&'static str, String, &'static str) {
    let ua_weights: Vec<f64> = BROWSER_USER_AGENTS.iter().map(|u| u.1).collect();
    let ua = BROWSER_USER_AGENTS[rng.weighted(&ua_weights).unwrap_or(0)].0;
    let kind = rng.below(100);
    let (method, path) = match kind {
        0..=34 => {
            let w: Vec<f64> = PAGES.iter().map(|p| p.1).collect();
            ("GET", PAGES[rng.weighted(&w).unwrap_or(0)].0.to_owned())
        }
        35..=59 => (
            "GET",
            ASSETS[rng.below(ASSETS.len() as u64) as usize].to_owned(),
        ),
        60..=69 => (
            "GET",
            format!("/{}", USERS[rng.below(USERS.len() as u64) as usize]),
        ),
        70..=81 => (
            "GET",
            format!(
                "/{}/status/{}",
                USERS[rng.below(USERS.len() as u64) as usize],
                1_800_000_000_000_000_000 + rng.below(100_000_000_000_000_000)
            ),
        ),
        82..=87 => (
            "GET",
            format!(
                "/search?q={}&src=typed_query",
                WORDS[rng.below(WORDS.len() as u64) as usize]
            ),
        ),
        88..=91 => (
            "GET",
            format!(
                "/api/1.1/timeline/home.json?count=20&cursor={:016x}",
                rng.next_u64()
            ),
        ),
        92..=98 => {
            let endpoints = [
                "/api/1.1/jot/client_event.json",
                "/api/1.1/favorites/create.json",
                "/api/1.1/statuses/update.json",
                "/i/api/graphql/HomeTimeline",
            ];
            (
                "POST",
                endpoints[rng.below(endpoints.len() as u64) as usize].to_owned(),
            )
        }
        _ => ("HEAD", "/".to_owned()),
    };
    (method, path, ua)
}

/// A referer for a background request: none (`""`), a page of the site (`/home`, …) or a
/// search engine / social link, roughly as seen on a busy site.
pub fn benign_referer(rng: &mut Rng) -> &'static str {
    const REFERERS: [(&str, f64); 7] = [
        ("", 40.0),
        ("/home", 25.0),
        ("/", 10.0),
        ("/explore", 5.0),
        ("https://www.google.com/", 12.0),
        ("https://www.bing.com/", 3.0),
        ("https://t.co/", 5.0),
    ];
    let w: Vec<f64> = REFERERS.iter().map(|r| r.1).collect();
    REFERERS[rng.weighted(&w).unwrap_or(0)].0
}
