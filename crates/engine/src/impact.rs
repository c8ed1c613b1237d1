//! Impact: what users and the service saw, and whether attack waves explain it.
//!
//! * [`outage_impact`]: user outage reports → a per-minute series, report spikes found by
//!   the same detector as floods ([`crate::detect`], fed one *minute* per step with
//!   [`report_detect_config`]), a breakdown by channel, problem and region, and the
//!   correlation with attack waves: the lag of each spike after the wave before it, the
//!   share of spikes preceded by a wave, the share of attack time followed by elevated
//!   reports, and a recommended input for a `cause=attack` claim.
//! * [`WebLog`]: access-log requests → a service-health series (requests, 5xx share,
//!   latency) and HTTP-flood signals (rate against the baseline, top clients with their
//!   request rates, URL and user-agent diversity), detected per interval by the same
//!   detector.
//!
//! Pure and deterministic: no clocks; maps that reach output are ordered.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::aggregate::{Bucket, Class};
use crate::detect::{detect_timeline, DetectConfig, DetectedWave};
use crate::incident::Incident;
use crate::sketch::{Hll, SpaceSaving};
use crate::textlog::{HttpRequest, OutageReport, ParseStats};

const NS: u64 = 1_000_000_000;

/// One attack wave, as impact correlation needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttackWave {
    /// Incident id.
    pub incident: u32,
    /// Victim (address or prefix).
    pub victim: String,
    /// First packet (ns).
    pub start_ns: u64,
    /// Last packet (ns).
    pub end_ns: u64,
}

/// The waves of `incidents`, in start order.
pub fn waves_of(incidents: &[Incident]) -> Vec<AttackWave> {
    let mut v: Vec<AttackWave> = incidents
        .iter()
        .flat_map(|i| {
            i.waves.iter().map(|w| AttackWave {
                incident: i.id,
                victim: i.victim.clone(),
                start_ns: w.start_ns,
                end_ns: w.end_ns,
            })
        })
        .collect();
    v.sort_by_key(|w| (w.start_ns, w.incident));
    v
}

/// Detector settings for per-minute report counts: a minute is hot above
/// max(10 reports, 3 × baseline, baseline + 6 mean absolute deviations); no make-up test
/// (reports have no traffic mix); one hot minute opens a spike, two quiet ones close it.
pub fn report_detect_config() -> DetectConfig {
    DetectConfig {
        min_pps: 10.0,
        rate_factor: 3.0,
        deviations: 6.0,
        min_shift: 0.0,
        start_seconds: 1,
        end_seconds: 2,
        incident_gap_seconds: 0,
        warmup_seconds: 5,
        warmup_factor: 2.0,
        baseline_alpha: 0.1,
        ..DetectConfig::default()
    }
}

/// Settings of impact correlation.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactConfig {
    /// A spike counts as following a wave when it starts while the wave runs or at most this
    /// long after the wave ended (users notice, then report).
    pub window_seconds: u64,
    /// Detector for the per-minute report series.
    pub detect: DetectConfig,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            window_seconds: 600,
            detect: report_detect_config(),
        }
    }
}

/// Reports of one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MinuteReports {
    /// Start of the minute (Unix seconds).
    pub minute: u64,
    /// Reports in it.
    pub reports: u64,
}

/// The wave a spike follows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpikeCause {
    /// Incident id of the wave.
    pub incident: u32,
    /// Its victim.
    pub victim: String,
    /// Wave start (Unix seconds).
    pub wave_start: u64,
    /// Spike start − wave start, seconds (the spike has minute resolution, so this may be
    /// slightly negative).
    pub lag_seconds: i64,
    /// Peak minute − wave start, seconds.
    pub peak_lag_seconds: i64,
}

/// One report spike.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spike {
    /// First minute (Unix seconds).
    pub start: u64,
    /// Last minute (Unix seconds, inclusive).
    pub end: u64,
    /// Busiest minute.
    pub peak_minute: u64,
    /// Reports in the busiest minute.
    pub peak_reports: u64,
    /// Reports in the spike.
    pub reports: u64,
    /// Reports above the baseline in the spike.
    pub excess_reports: u64,
    /// Baseline reports per minute when the spike began.
    pub baseline_per_minute: f64,
    /// Reports per channel during the spike.
    pub channels: BTreeMap<String, u64>,
    /// Reports per problem during the spike.
    pub problems: BTreeMap<String, u64>,
    /// The wave before it, if any within the window.
    pub after_wave: Option<SpikeCause>,
}

/// How report spikes line up with attack waves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// Attack waves considered.
    pub waves: u64,
    /// Report spikes.
    pub spikes: u64,
    /// Spikes that follow a wave (see [`ImpactConfig::window_seconds`]).
    pub spikes_after_attack: u64,
    /// `spikes_after_attack / spikes` (`None` without spikes).
    pub share_spikes_after_attack: Option<f64>,
    /// Median `lag_seconds` of the spikes that follow a wave.
    pub median_lag_seconds: Option<i64>,
    /// Minutes with attack traffic (union of waves).
    pub attack_minutes: u64,
    /// Attack minutes followed by elevated reports (a spike minute within the window).
    pub attack_minutes_with_elevated_reports: u64,
    /// `attack_minutes_with_elevated_reports / attack_minutes` (`None` without attacks).
    pub share_attack_time_elevated: Option<f64>,
    /// The window used, seconds.
    pub window_seconds: u64,
}

/// What the outage reports show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutageImpact {
    /// Reports read.
    pub reports: u64,
    /// First minute with a report (Unix seconds).
    pub first_minute: Option<u64>,
    /// Last minute with a report.
    pub last_minute: Option<u64>,
    /// Median reports per minute outside spikes.
    pub baseline_per_minute: f64,
    /// Reports per channel.
    pub channels: BTreeMap<String, u64>,
    /// Reports per problem.
    pub problems: BTreeMap<String, u64>,
    /// Reports per region.
    pub regions: BTreeMap<String, u64>,
    /// Every minute from the first to the last report, zeros included.
    pub per_minute: Vec<MinuteReports>,
    /// Spikes in time order.
    pub spikes: Vec<Spike>,
    /// Spikes against waves.
    pub correlation: Correlation,
    /// Recommended input for a `cause=attack` claim: `Some(true)` when at least half the
    /// spikes follow attack waves, `Some(false)` when there are spikes and none follows a
    /// wave, `None` when there is no spike or the evidence is mixed.
    pub attack_explains_outage: Option<bool>,
    /// Why, in words with the figures.
    pub reason: String,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Feed a per-step count series to the detector (make-up held constant, so only the rate
/// decides). `steps` is sorted, sparse (`(step, count)`).
fn detect_counts(
    cfg: &DetectConfig,
    steps: &[(u64, u64)],
    split: &[(u64, u64)],
) -> Vec<DetectedWave> {
    let seconds: Vec<(u64, Bucket)> = steps
        .iter()
        .zip(split)
        .filter(|e| e.0 .1 > 0)
        .map(|(&(t, n), &(a, b))| {
            let mut bucket = Bucket {
                packets: n,
                ..Bucket::default()
            };
            // Two "classes" carry the make-up where one exists (web: heavy vs light
            // clients); the size histogram mirrors them.
            bucket.classes[Class::Udp as usize] = a;
            bucket.classes[Class::Icmp as usize] = b;
            bucket.sizes[0] = a;
            bucket.sizes[1] = b;
            (t, bucket)
        })
        .collect();
    let since = steps.first().map_or(0, |e| e.0);
    detect_timeline(cfg, &seconds, since)
}

/// Split one episode of elevated reports (`(minute, reports)`, dense, in order) into surges:
/// a new surge starts after a valley when the reports rise again from it by at least
/// 2.5 Poisson σ, a quarter of the valley and 10 reports, and the valley lies at least 2 σ
/// below the previous surge's peak (σ = √valley). A heuristic: a wave whose reports barely
/// rise over the previous wave's fading ones stays part of that surge. Returns inclusive minute ranges covering the episode.
pub fn surges(counts: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let (Some(&(first, _)), Some(&(last, _))) = (counts.first(), counts.last()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut start = first;
    let mut peak = 0u64;
    // Lowest count since the current surge's peak: (minute, count).
    let mut valley: Option<(u64, u64)> = None;
    for &(m, n) in counts {
        if let Some((vm, v)) = valley {
            let vf = v as f64;
            let sigma = vf.max(1.0).sqrt();
            let rise = n as f64 - vf;
            if rise >= (2.5 * sigma).max(0.25 * vf).max(10.0) && peak as f64 - vf >= 2.0 * sigma {
                out.push((start, vm));
                start = vm + 1;
                peak = n;
                valley = None;
                continue;
            }
        }
        if n > peak {
            peak = n;
            valley = None;
        } else if valley.is_none_or(|(_, v)| n < v) {
            valley = Some((m, n));
        }
    }
    out.push((start, last));
    out
}

/// Analyse outage reports against attack waves.
pub fn outage_impact(
    reports: &[OutageReport],
    waves: &[AttackWave],
    cfg: &ImpactConfig,
) -> OutageImpact {
    let mut per: BTreeMap<u64, u64> = BTreeMap::new();
    let mut channels = BTreeMap::new();
    let mut problems = BTreeMap::new();
    let mut regions = BTreeMap::new();
    for r in reports {
        *per.entry(r.ts_ns / NS / 60).or_insert(0) += 1;
        *channels.entry(r.channel.clone()).or_insert(0u64) += 1;
        *problems.entry(r.problem.clone()).or_insert(0u64) += 1;
        *regions.entry(r.region.clone()).or_insert(0u64) += 1;
    }
    let (first, last) = match (per.keys().next(), per.keys().next_back()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0, 0),
    };
    let dense: Vec<(u64, u64)> = if per.is_empty() {
        Vec::new()
    } else {
        (first..=last)
            .map(|m| (m, per.get(&m).copied().unwrap_or(0)))
            .collect()
    };
    let split: Vec<(u64, u64)> = dense.iter().map(|&(_, n)| (n, 0)).collect();
    let detected = detect_counts(&cfg.detect, &dense, &split);
    let in_spike = |m: u64| {
        detected
            .iter()
            .any(|w| w.start_second <= m && m <= w.end_second)
    };
    let mut quiet: Vec<f64> = dense
        .iter()
        .filter(|e| !in_spike(e.0))
        .map(|e| e.1 as f64)
        .collect();
    let baseline = median(&mut quiet);

    let mut spikes = Vec::new();
    // One detected episode may hold several surges (waves minutes apart keep reports up in
    // between): each surge is a spike of its own, so each can follow its own wave.
    let parts: Vec<(DetectedWave, (u64, u64))> = detected
        .iter()
        .flat_map(|w| {
            let counts: Vec<(u64, u64)> = dense
                .iter()
                .copied()
                .filter(|e| e.0 >= w.start_second && e.0 <= w.end_second)
                .collect();
            surges(&counts)
                .into_iter()
                .map(move |r| (w.clone(), r))
                .collect::<Vec<_>>()
        })
        .collect();
    for (w, (from, to)) in &parts {
        let mut w = w.clone();
        w.start_second = *from;
        w.end_second = *to;
        let w = &w;
        let mut s = Spike {
            start: w.start_second * 60,
            end: w.end_second * 60,
            peak_minute: w.start_second * 60,
            peak_reports: 0,
            reports: 0,
            excess_reports: 0,
            baseline_per_minute: w.baseline_pps,
            channels: BTreeMap::new(),
            problems: BTreeMap::new(),
            after_wave: None,
        };
        let mut excess = 0.0;
        for &(m, n) in dense
            .iter()
            .filter(|e| e.0 >= w.start_second && e.0 <= w.end_second)
        {
            s.reports += n;
            excess += (n as f64 - w.baseline_pps).max(0.0);
            if n > s.peak_reports {
                s.peak_reports = n;
                s.peak_minute = m * 60;
            }
        }
        s.excess_reports = excess.round() as u64;
        for r in reports {
            let m = r.ts_ns / NS / 60;
            if m >= w.start_second && m <= w.end_second {
                *s.channels.entry(r.channel.clone()).or_insert(0) += 1;
                *s.problems.entry(r.problem.clone()).or_insert(0) += 1;
            }
        }
        // The latest wave that started before the spike's first minute ended and was still
        // running, or ended at most `window` before the spike.
        s.after_wave = waves
            .iter()
            .filter(|a| {
                let (ws, we) = (a.start_ns / NS, a.end_ns / NS);
                ws <= s.start + 59 && s.start <= we + cfg.window_seconds
            })
            .max_by_key(|a| (a.start_ns, std::cmp::Reverse(a.incident)))
            .map(|a| SpikeCause {
                incident: a.incident,
                victim: a.victim.clone(),
                wave_start: a.start_ns / NS,
                lag_seconds: s.start as i64 - (a.start_ns / NS) as i64,
                peak_lag_seconds: s.peak_minute as i64 - (a.start_ns / NS) as i64,
            });
        spikes.push(s);
    }

    // Attack minutes: union of the waves' minutes.
    let mut attack_min: Vec<u64> = waves
        .iter()
        .flat_map(|w| (w.start_ns / NS / 60)..=(w.end_ns / NS / 60))
        .collect();
    attack_min.sort_unstable();
    attack_min.dedup();
    let win_min = cfg.window_seconds / 60;
    let elevated = attack_min
        .iter()
        .filter(|&&m| {
            detected
                .iter()
                .any(|w| w.start_second <= m + win_min && m <= w.end_second)
        })
        .count() as u64;
    let after = spikes.iter().filter(|s| s.after_wave.is_some()).count() as u64;
    let mut lags: Vec<f64> = spikes
        .iter()
        .filter_map(|s| s.after_wave.as_ref().map(|c| c.lag_seconds as f64))
        .collect();
    let correlation = Correlation {
        waves: waves.len() as u64,
        spikes: spikes.len() as u64,
        spikes_after_attack: after,
        share_spikes_after_attack: (!spikes.is_empty()).then(|| after as f64 / spikes.len() as f64),
        median_lag_seconds: (!lags.is_empty()).then(|| median(&mut lags).round() as i64),
        attack_minutes: attack_min.len() as u64,
        attack_minutes_with_elevated_reports: elevated,
        share_attack_time_elevated: (!attack_min.is_empty())
            .then(|| elevated as f64 / attack_min.len() as f64),
        window_seconds: cfg.window_seconds,
    };
    let (verdict, reason) = match (reports.len(), spikes.len(), correlation.share_spikes_after_attack) {
        (0, _, _) => (None, "no outage reports".to_string()),
        (_, 0, _) => (
            None,
            format!(
                "{} reports but no spike above the baseline of {baseline:.1}/min",
                reports.len()
            ),
        ),
        (_, n, Some(share)) if share >= 0.5 => (
            Some(true),
            format!(
                "{after} of {n} report spike(s) follow attack waves (median lag {} s); {} of {} attack minutes are followed by elevated reports",
                correlation.median_lag_seconds.unwrap_or(0),
                elevated,
                attack_min.len()
            ),
        ),
        (_, n, _) if after == 0 => (
            Some(false),
            format!(
                "none of {n} report spike(s) follows an attack wave within {} s ({} wave(s) seen)",
                cfg.window_seconds,
                waves.len()
            ),
        ),
        (_, n, _) => (
            None,
            format!("only {after} of {n} report spike(s) follow attack waves: mixed evidence"),
        ),
    };
    OutageImpact {
        reports: reports.len() as u64,
        first_minute: (!per.is_empty()).then_some(first * 60),
        last_minute: (!per.is_empty()).then_some(last * 60),
        baseline_per_minute: baseline,
        channels,
        problems,
        regions,
        per_minute: dense
            .iter()
            .map(|&(m, n)| MinuteReports {
                minute: m * 60,
                reports: n,
            })
            .collect(),
        spikes,
        correlation,
        attack_explains_outage: verdict,
        reason,
    }
}

// ---------------------------------------------------------------------------------------
// Web logs

/// Settings of web-log analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct WebConfig {
    /// Length of one series step, seconds (1 for per-second, 60 for per-minute).
    pub interval_seconds: u64,
    /// A client is *heavy* in a step when it sends at least this many requests per second
    /// over the step (and at least 5 requests).
    pub heavy_requests_per_second: f64,
    /// Detector for the per-step request counts (the make-up is heavy vs light clients).
    pub detect: DetectConfig,
    /// Top clients listed per flood.
    pub top: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            interval_seconds: 60,
            heavy_requests_per_second: 0.5,
            detect: DetectConfig {
                min_pps: 30.0,
                start_seconds: 1,
                end_seconds: 2,
                warmup_seconds: 5,
                warmup_factor: 3.0,
                ..DetectConfig::default()
            },
            top: 10,
        }
    }
}

#[derive(Debug)]
struct Step {
    requests: u64,
    errors_5xx: u64,
    latency_sum: f64,
    latency_n: u64,
    latency_max: f64,
    clients: HashMap<String, u64>,
    paths: Hll,
    agents: Hll,
    top_paths: SpaceSaving<8>,
    top_agents: SpaceSaving<8>,
}

impl Default for Step {
    fn default() -> Self {
        Step {
            requests: 0,
            errors_5xx: 0,
            latency_sum: 0.0,
            latency_n: 0,
            latency_max: 0.0,
            clients: HashMap::new(),
            paths: Hll::new(),
            agents: Hll::new(),
            top_paths: SpaceSaving::new(),
            top_agents: SpaceSaving::new(),
        }
    }
}

/// Accumulates access-log requests (feed with [`WebLog::add`], then [`WebLog::finish`]).
#[derive(Debug)]
pub struct WebLog {
    cfg: WebConfig,
    steps: BTreeMap<u64, Step>,
    statuses: BTreeMap<String, u64>,
    latencies: Vec<f64>,
    requests: u64,
}

/// One step of the service-health series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthPoint {
    /// Start of the step (Unix seconds).
    pub t: u64,
    /// Requests.
    pub requests: u64,
    /// Responses with status 500–599.
    pub errors_5xx: u64,
    /// `errors_5xx / requests`.
    pub share_5xx: f64,
    /// Mean latency (ms), when logged.
    pub latency_ms_mean: Option<f64>,
    /// Largest latency (ms), when logged.
    pub latency_ms_max: Option<f64>,
    /// Distinct clients (exact).
    pub clients: u64,
}

/// One client's requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientRate {
    /// Address or host name as logged.
    pub client: String,
    /// Requests.
    pub requests: u64,
    /// Requests per second over the span considered.
    pub per_second: f64,
}

/// An HTTP-flood signal: a run of steps whose request rate beats the baseline and whose
/// make-up moved to heavy clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpFlood {
    /// First step (Unix seconds).
    pub start: u64,
    /// Last step (Unix seconds, inclusive).
    pub end: u64,
    /// Requests in the flood.
    pub requests: u64,
    /// Baseline requests per step before it.
    pub baseline_per_step: f64,
    /// Busiest step's requests / baseline (`None` with a zero baseline).
    pub rate_factor: Option<f64>,
    /// Requests per second at the busiest step.
    pub peak_per_second: f64,
    /// Distinct clients.
    pub clients: u64,
    /// Requests per client.
    pub requests_per_client: f64,
    /// Share of requests from heavy clients.
    pub heavy_client_share: f64,
    /// Estimated distinct URLs (HyperLogLog).
    pub distinct_paths: u64,
    /// Estimated distinct user agents.
    pub distinct_user_agents: u64,
    /// Share of the most requested URL (lower bound, Space-Saving).
    pub top_path_share: f64,
    /// Share of the most common user agent (lower bound).
    pub top_user_agent_share: f64,
    /// Share of 5xx responses during the flood.
    pub share_5xx: f64,
    /// Heaviest clients with their rates.
    pub top_clients: Vec<ClientRate>,
}

/// What an access log shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebImpact {
    /// Requests read.
    pub requests: u64,
    /// Distinct clients.
    pub clients: u64,
    /// Step length, seconds.
    pub interval_seconds: u64,
    /// Responses per status class (`2xx`, `3xx`, …, `none`).
    pub status_classes: BTreeMap<String, u64>,
    /// Share of 5xx responses.
    pub share_5xx: f64,
    /// Median latency (ms), when logged.
    pub latency_ms_p50: Option<f64>,
    /// 95th-percentile latency (ms), when logged.
    pub latency_ms_p95: Option<f64>,
    /// Heaviest clients over the whole log.
    pub top_clients: Vec<ClientRate>,
    /// Service health per step, from the first to the last request (empty steps included).
    pub series: Vec<HealthPoint>,
    /// HTTP-flood signals.
    pub floods: Vec<HttpFlood>,
}

fn str_key(s: &str) -> u128 {
    // Two FNV-1a passes with different offsets: a 128-bit key for the sketches.
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &c in s.as_bytes() {
        a = (a ^ c as u64).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ c as u64).wrapping_mul(0x0000_0100_0000_01b3 ^ 0x1000);
    }
    ((a as u128) << 64) | b as u128
}

fn top_clients(map: &HashMap<String, u64>, n: usize, seconds: f64) -> Vec<ClientRate> {
    let mut v: Vec<(&String, &u64)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .take(n)
        .map(|(c, &r)| ClientRate {
            client: c.clone(),
            requests: r,
            per_second: r as f64 / seconds.max(1.0),
        })
        .collect()
}

impl WebLog {
    /// An empty accumulator.
    pub fn new(cfg: WebConfig) -> Self {
        WebLog {
            cfg: WebConfig {
                interval_seconds: cfg.interval_seconds.max(1),
                ..cfg
            },
            steps: BTreeMap::new(),
            statuses: BTreeMap::new(),
            latencies: Vec::new(),
            requests: 0,
        }
    }

    /// Count one request.
    pub fn add(&mut self, r: &HttpRequest<'_>) {
        let step = r.ts_ns / NS / self.cfg.interval_seconds * self.cfg.interval_seconds;
        let s = self.steps.entry(step).or_default();
        s.requests += 1;
        self.requests += 1;
        if r.status.is_some_and(|c| (500..600).contains(&c)) {
            s.errors_5xx += 1;
        }
        if let Some(l) = r.latency_ms {
            s.latency_sum += l;
            s.latency_n += 1;
            s.latency_max = s.latency_max.max(l);
            self.latencies.push(l);
        }
        *s.clients.entry(r.client.to_string()).or_insert(0) += 1;
        let pk = str_key(&r.path);
        s.paths.insert(pk);
        s.top_paths.insert(pk, 1);
        let ak = str_key(r.user_agent.as_deref().unwrap_or("-"));
        s.agents.insert(ak);
        s.top_agents.insert(ak, 1);
        let class = match r.status {
            Some(c) => format!("{}xx", c / 100),
            None => "none".into(),
        };
        *self.statuses.entry(class).or_insert(0) += 1;
    }

    /// The analysis.
    pub fn finish(mut self) -> WebImpact {
        let iv = self.cfg.interval_seconds;
        let heavy_min = (self.cfg.heavy_requests_per_second * iv as f64).max(5.0);
        let (first, last) = match (self.steps.keys().next(), self.steps.keys().next_back()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, 0),
        };
        let mut all_clients: HashMap<String, u64> = HashMap::new();
        let mut dense: Vec<(u64, u64)> = Vec::new();
        let mut split: Vec<(u64, u64)> = Vec::new();
        let mut series = Vec::new();
        if !self.steps.is_empty() {
            let mut t = first;
            while t <= last {
                let (req, heavy) = self.steps.get(&t).map_or((0, 0), |s| {
                    let h: u64 = s.clients.values().filter(|&&n| n as f64 >= heavy_min).sum();
                    (s.requests, h)
                });
                dense.push((t / iv, req));
                split.push((heavy, req - heavy));
                let p = match self.steps.get(&t) {
                    Some(s) => HealthPoint {
                        t,
                        requests: s.requests,
                        errors_5xx: s.errors_5xx,
                        share_5xx: s.errors_5xx as f64 / s.requests.max(1) as f64,
                        latency_ms_mean: (s.latency_n > 0)
                            .then(|| s.latency_sum / s.latency_n as f64),
                        latency_ms_max: (s.latency_n > 0).then_some(s.latency_max),
                        clients: s.clients.len() as u64,
                    },
                    None => HealthPoint {
                        t,
                        requests: 0,
                        errors_5xx: 0,
                        share_5xx: 0.0,
                        latency_ms_mean: None,
                        latency_ms_max: None,
                        clients: 0,
                    },
                };
                series.push(p);
                t += iv;
            }
        }
        for s in self.steps.values() {
            for (c, n) in &s.clients {
                *all_clients.entry(c.clone()).or_insert(0) += n;
            }
        }
        let detected = detect_counts(&self.cfg.detect, &dense, &split);
        let mut floods = Vec::new();
        for w in &detected {
            let (from, to) = (w.start_second * iv, w.end_second * iv);
            let mut clients: HashMap<String, u64> = HashMap::new();
            let mut paths = Hll::new();
            let mut agents = Hll::new();
            let mut top_paths = SpaceSaving::<8>::new();
            let mut top_agents = SpaceSaving::<8>::new();
            let (mut req, mut err, mut heavy, mut peak) = (0u64, 0u64, 0u64, 0u64);
            for (_, s) in self.steps.range(from..=to) {
                req += s.requests;
                err += s.errors_5xx;
                peak = peak.max(s.requests);
                heavy += s
                    .clients
                    .values()
                    .filter(|&&n| n as f64 >= heavy_min)
                    .sum::<u64>();
                for (c, n) in &s.clients {
                    *clients.entry(c.clone()).or_insert(0) += n;
                }
                paths.merge(&s.paths);
                agents.merge(&s.agents);
                top_paths.merge(&s.top_paths);
                top_agents.merge(&s.top_agents);
            }
            let top_share = |t: &SpaceSaving<8>| {
                t.top()
                    .first()
                    .map_or(0.0, |e| (e.count - e.error) as f64 / req.max(1) as f64)
            };
            let secs = (to - from + iv) as f64;
            floods.push(HttpFlood {
                start: from,
                end: to,
                requests: req,
                baseline_per_step: w.baseline_pps,
                rate_factor: (w.baseline_pps > 0.0).then(|| peak as f64 / w.baseline_pps),
                peak_per_second: peak as f64 / iv as f64,
                clients: clients.len() as u64,
                requests_per_client: req as f64 / clients.len().max(1) as f64,
                heavy_client_share: heavy as f64 / req.max(1) as f64,
                distinct_paths: paths.count(),
                distinct_user_agents: agents.count(),
                top_path_share: top_share(&top_paths),
                top_user_agent_share: top_share(&top_agents),
                share_5xx: err as f64 / req.max(1) as f64,
                top_clients: top_clients(&clients, self.cfg.top, secs),
            });
        }
        let errors: u64 = self.steps.values().map(|s| s.errors_5xx).sum();
        self.latencies.sort_by(f64::total_cmp);
        let pct = |p: f64| -> Option<f64> {
            let n = self.latencies.len();
            (n > 0).then(|| self.latencies[((n - 1) as f64 * p).round() as usize])
        };
        let span = if self.steps.is_empty() {
            1.0
        } else {
            (last - first + iv) as f64
        };
        WebImpact {
            requests: self.requests,
            clients: all_clients.len() as u64,
            interval_seconds: iv,
            status_classes: std::mem::take(&mut self.statuses),
            share_5xx: errors as f64 / self.requests.max(1) as f64,
            latency_ms_p50: pct(0.5),
            latency_ms_p95: pct(0.95),
            top_clients: top_clients(&all_clients, self.cfg.top, span),
            series,
            floods,
        }
    }
}

/// Everything impact analysis found, ready to feed a `cause=attack` claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impact {
    /// How the outage-report input was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reports_input: Option<ParseStats>,
    /// Outage reports against attack waves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outage: Option<OutageImpact>,
    /// How the access-log input was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_input: Option<ParseStats>,
    /// Access-log health and HTTP-flood signals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<WebImpact>,
    /// Recommended input for a `cause=attack` claim (from the outage reports; see
    /// [`OutageImpact::attack_explains_outage`]).
    pub attack_explains_outage: Option<bool>,
    /// Why.
    pub reason: String,
}

impl Impact {
    /// Combine the parts; the verdict input comes from the outage reports.
    pub fn new(
        reports_input: Option<ParseStats>,
        outage: Option<OutageImpact>,
        logs_input: Option<ParseStats>,
        web: Option<WebImpact>,
    ) -> Self {
        let (attack_explains_outage, reason) = match &outage {
            Some(o) => (o.attack_explains_outage, o.reason.clone()),
            None => (None, "no outage reports given".to_string()),
        };
        Impact {
            reports_input,
            outage,
            logs_input,
            web,
            attack_explains_outage,
            reason,
        }
    }

    /// The evidence a `cause=attack` claim ([`crate::claim::evaluate`]) weighs: waves,
    /// report spikes, spikes after waves and their median lag. `None` without outage
    /// reports (the claim is then inconclusive).
    pub fn claim_evidence(&self) -> Option<crate::claim::ImpactEvidence> {
        let o = self.outage.as_ref()?;
        let c = &o.correlation;
        let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Some(crate::claim::ImpactEvidence {
            attack_waves: n(c.waves),
            spikes: n(c.spikes),
            spikes_after_waves: n(c.spikes_after_attack),
            median_lag_seconds: c.median_lag_seconds.map(|l| l as f64),
            other_cause: None,
        })
    }
}
