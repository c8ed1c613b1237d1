//! Detection: per-destination (and per-prefix) waves from per-second buckets.
//!
//! The detector is incremental: it is fed one second at a time, in time order, with that
//! second's bucket (or nothing, for a silent second), and keeps per-target state — so the
//! same code serves files (fed from the merged timelines) and live traffic (fed as seconds
//! close). No clocks: time is the bucket's second.
//!
//! A second is *hot* when the rate is anomalous **and** the traffic's make-up changed:
//! - rate: packets > max(`min_pps`, baseline × `rate_factor`, baseline + `deviations` × mean
//!   absolute deviation), where the baseline and its deviation are EWMAs learned from
//!   the target's own quiet seconds (frozen during a wave);
//! - make-up: the total-variation distance between this second's traffic-class shares (or
//!   packet-size shares) and the baseline's is at least `min_shift`. A flash crowd of real
//!   users multiplies the usual traffic; a flood replaces it with something else.
//!
//! A wave starts after `start_seconds` hot seconds and ends after `end_seconds` seconds
//! that are not hot (hysteresis). Its start and end are then refined to the first and last
//! second in which the wave's dominant traffic class exceeds its baseline, since floods
//! ramp up and down below the rate threshold.

use serde::{Deserialize, Serialize};

use crate::aggregate::{Bucket, Class, SIZE_EDGES};

/// Detector settings (all have defaults: `analyze` needs no configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Packets per second below which nothing is an attack.
    pub min_pps: f64,
    /// A hot second is at least this multiple of the baseline rate.
    pub rate_factor: f64,
    /// … and at least this many mean absolute deviations above it.
    pub deviations: f64,
    /// Smallest change of traffic make-up (total-variation distance, 0–1) for a hot second.
    pub min_shift: f64,
    /// Hot seconds needed to start a wave.
    pub start_seconds: u32,
    /// Seconds that are not hot needed to end a wave.
    pub end_seconds: u32,
    /// Waves against the same target closer than this form one incident.
    pub incident_gap_seconds: u32,
    /// Seconds of traffic used to learn a baseline before rate anomalies count fully.
    pub warmup_seconds: u32,
    /// During warm-up a hot second needs `min_pps` × this.
    pub warmup_factor: f64,
    /// EWMA weight of a new quiet second in the baseline.
    pub baseline_alpha: f64,
    /// Application events per second (HTTP requests, DNS queries) below which their
    /// metrics never start a wave (`min_pps` for those metrics).
    pub min_requests: f64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            min_pps: 20.0,
            rate_factor: 3.0,
            deviations: 6.0,
            min_shift: 0.3,
            start_seconds: 1,
            end_seconds: 3,
            incident_gap_seconds: 60,
            warmup_seconds: 10,
            warmup_factor: 5.0,
            baseline_alpha: 0.05,
            min_requests: 10.0,
        }
    }
}

const NC: usize = Class::COUNT;
const NS: usize = SIZE_EDGES.len() + 1;

/// What the detector reads of one second: a rate and the make-up of what it counts.
///
/// For packets these are a [`Bucket`]'s packets, traffic classes and size bins; other
/// metrics (HTTP requests, DNS queries) fill `classes` with their own make-up (e.g.
/// requests with and without a bot's user agent) and leave `sizes` empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondCounts {
    /// Events (packets, requests, …) in the second.
    pub packets: u64,
    /// IP bytes (0 for metrics without bytes).
    pub bytes: u64,
    /// Distinct sources, when static `flows` thresholds need them (else 0).
    pub sources: u64,
    /// Events per make-up category.
    pub classes: [u64; NC],
    /// Packets per size bin (zero for metrics without sizes).
    pub sizes: [u64; NS],
}

impl Default for SecondCounts {
    fn default() -> Self {
        SecondCounts {
            packets: 0,
            bytes: 0,
            sources: 0,
            classes: [0; NC],
            sizes: [0; NS],
        }
    }
}

impl From<&Bucket> for SecondCounts {
    fn from(b: &Bucket) -> Self {
        SecondCounts {
            packets: b.packets,
            bytes: b.bytes,
            sources: 0,
            classes: b.classes,
            sizes: b.sizes,
        }
    }
}

/// Static thresholds of a protected network or host group (as operators configure
/// FastNetMon): any one exceeded makes a second hot, whatever the learned baseline says.
/// They apply per destination address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Packets per second.
    pub pps: Option<f64>,
    /// Bits per second.
    pub bps: Option<f64>,
    /// Distinct sources per second ("flows").
    pub flows: Option<f64>,
    /// Packets per second per traffic class, by class name (`tcp_syn`, `udp`, `icmp`, …:
    /// the names of `aggregate::Class::name`).
    #[serde(default)]
    pub classes: std::collections::BTreeMap<String, f64>,
}

impl Thresholds {
    /// Whether `b` exceeds any threshold.
    pub fn exceeded(&self, b: &SecondCounts) -> bool {
        let over = |limit: Option<f64>, x: u64| limit.is_some_and(|l| x as f64 > l);
        over(self.pps, b.packets)
            || over(self.bps, b.bytes.saturating_mul(8))
            || over(self.flows, b.sources)
            || Class::ALL.iter().any(|c| {
                self.classes
                    .get(c.name())
                    .is_some_and(|&l| b.classes[*c as usize] as f64 > l)
            })
    }

    /// Whether distinct sources are needed (counting them per second costs).
    pub fn needs_sources(&self) -> bool {
        self.flows.is_some()
    }

    /// Names in `classes` that are not traffic classes.
    pub fn unknown_classes(&self) -> Vec<String> {
        self.classes
            .keys()
            .filter(|k| !Class::ALL.iter().any(|c| c.name() == k.as_str()))
            .cloned()
            .collect()
    }
}

/// One detected wave of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedWave {
    /// First second of the wave (refined).
    pub start_second: u64,
    /// Last second of the wave (refined, inclusive).
    pub end_second: u64,
    /// First hot second (before refinement).
    pub hot_start: u64,
    /// Last hot second.
    pub hot_end: u64,
    /// Baseline packets per second when the wave began.
    pub baseline_pps: f64,
    /// Baseline class rates when the wave began (to subtract from the wave's counts).
    pub baseline_classes: [f64; NC],
}

/// Learned state of one target.
#[derive(Debug, Clone)]
pub struct TargetDetector {
    cfg: DetectConfig,
    thresholds: Option<Thresholds>,
    seen: u32,
    base_pps: f64,
    dev: f64,
    base_classes: [f64; NC],
    base_sizes: [f64; NS],
    run_hot: u32,
    run_quiet: u32,
    current: Option<DetectedWave>,
    /// Recent seconds (for start refinement): (second, per-class counts).
    recent: std::collections::VecDeque<(u64, [u64; NC])>,
    waves: Vec<DetectedWave>,
    /// Dominant class of the open wave and the count above which a second of it still
    /// belongs to the wave (ramp-down).
    wave_class: usize,
    wave_class_floor: f64,
    /// Consecutive ramp-down seconds so far.
    run_tail: u32,
}

/// Longest ramp-down followed past the last hot second.
const MAX_TAIL_SECONDS: u32 = 60;

/// Share of flood-shaped traffic (anything but TCP ACKs and unknown protocols) a second
/// needs to be hot before the target has a baseline.
const WARMUP_FLOOD_SHARE: f64 = 0.8;

/// Seconds kept for start refinement.
const LOOKBACK: usize = 30;

fn tvd(a: &[f64], b: &[f64]) -> f64 {
    let sa: f64 = a.iter().sum();
    let sb: f64 = b.iter().sum();
    if sa <= 0.0 || sb <= 0.0 {
        return if sa <= 0.0 && sb <= 0.0 { 0.0 } else { 1.0 };
    }
    0.5 * a
        .iter()
        .zip(b)
        .map(|(x, y)| (x / sa - y / sb).abs())
        .sum::<f64>()
}

impl TargetDetector {
    /// A fresh detector.
    pub fn new(cfg: DetectConfig) -> Self {
        TargetDetector {
            cfg,
            thresholds: None,
            seen: 0,
            base_pps: 0.0,
            dev: 0.0,
            base_classes: [0.0; NC],
            base_sizes: [0.0; NS],
            run_hot: 0,
            run_quiet: 0,
            current: None,
            recent: Default::default(),
            waves: Vec::new(),
            wave_class: 0,
            wave_class_floor: f64::INFINITY,
            run_tail: 0,
        }
    }

    fn rate_threshold(&self) -> f64 {
        if self.seen < self.cfg.warmup_seconds {
            // Without a baseline yet, only a rate far above the floor counts: a capture that
            // starts mid-attack is detected, ordinary first seconds are not.
            return self.cfg.min_pps * self.cfg.warmup_factor;
        }
        (self.base_pps * self.cfg.rate_factor)
            .max(self.base_pps + self.cfg.deviations * self.dev)
            .max(self.cfg.min_pps)
    }

    /// The same detector, also hot whenever a static threshold is exceeded.
    pub fn with_thresholds(mut self, t: Option<Thresholds>) -> Self {
        self.thresholds = t;
        self
    }

    /// Whether second with `b` would be hot against the current baseline (or exceeds a
    /// static threshold).
    pub fn is_hot(&self, b: &SecondCounts) -> bool {
        if self.thresholds.as_ref().is_some_and(|t| t.exceeded(b)) {
            return true;
        }
        if (b.packets as f64) <= self.rate_threshold() {
            return false;
        }
        if self.seen < self.cfg.warmup_seconds {
            // No history: busy normal traffic and a flood already under way look alike by
            // rate. Established traffic is mostly TCP ACKs (both ways); a flood is not. So
            // without a baseline, only flood-shaped traffic counts (an ACK flood present
            // from the first second is found once a baseline exists, not before).
            let floody =
                b.packets - b.classes[Class::TcpAck as usize] - b.classes[Class::Other as usize];
            return floody as f64 >= WARMUP_FLOOD_SHARE * b.packets as f64;
        }
        // A make-up learned from almost no traffic means nothing (and a benign surge needs
        // usual traffic to multiply): below a quarter of the floor, rate alone decides.
        if self.base_pps < self.cfg.min_pps / 4.0 {
            return true;
        }
        let classes: Vec<f64> = b.classes.iter().map(|&c| c as f64).collect();
        let sizes: Vec<f64> = b.sizes.iter().map(|&c| c as f64).collect();
        let shift = tvd(&classes, &self.base_classes).max(tvd(&sizes, &self.base_sizes));
        shift >= self.cfg.min_shift
    }

    fn learn(&mut self, b: Option<&SecondCounts>) {
        let a = if self.seen < self.cfg.warmup_seconds {
            // Plain average during warm-up, so the first seconds do not dominate.
            1.0 / (self.seen as f64 + 1.0)
        } else {
            self.cfg.baseline_alpha
        };
        let pps = b.map_or(0.0, |b| b.packets as f64);
        let err = (pps - self.base_pps).abs();
        self.dev += a * (err - self.dev);
        self.base_pps += a * (pps - self.base_pps);
        for i in 0..NC {
            let x = b.map_or(0.0, |b| b.classes[i] as f64);
            self.base_classes[i] += a * (x - self.base_classes[i]);
        }
        for i in 0..NS {
            let x = b.map_or(0.0, |b| b.sizes[i] as f64);
            self.base_sizes[i] += a * (x - self.base_sizes[i]);
        }
        self.seen = self.seen.saturating_add(1);
    }

    /// Feed second `second` with its counts (`None`: nothing in that second).
    pub fn feed(&mut self, second: u64, b: Option<&SecondCounts>) {
        let empty = SecondCounts::default();
        let bucket = b.unwrap_or(&empty);
        let hot = self.is_hot(bucket);
        match &mut self.current {
            None => {
                if hot {
                    self.run_hot += 1;
                    if self.run_hot >= self.cfg.start_seconds {
                        let start = second + 1 - self.run_hot as u64;
                        self.current = Some(DetectedWave {
                            start_second: start,
                            end_second: second,
                            hot_start: start,
                            hot_end: second,
                            baseline_pps: self.base_pps,
                            baseline_classes: self.base_classes,
                        });
                        self.run_quiet = 0;
                        self.refine_start(bucket);
                    }
                } else {
                    self.run_hot = 0;
                    self.learn(b);
                }
            }
            Some(w) => {
                if hot {
                    w.hot_end = second;
                    w.end_second = second;
                    self.run_quiet = 0;
                    self.run_tail = 0;
                } else if self.run_quiet == 0
                    && self.run_tail < MAX_TAIL_SECONDS
                    && bucket.classes[self.wave_class] as f64 > self.wave_class_floor
                {
                    // Ramp-down: below the rate threshold, but the wave's dominant traffic
                    // is still above its baseline. It belongs to the wave, and does not
                    // count towards ending it.
                    w.end_second = second;
                    self.run_tail += 1;
                } else {
                    self.run_quiet += 1;
                    if self.run_quiet >= self.cfg.end_seconds {
                        self.close();
                    }
                }
            }
        }
        self.recent.push_back((second, bucket.classes));
        if self.recent.len() > LOOKBACK {
            self.recent.pop_front();
        }
    }

    /// Move the start back over the ramp: earlier seconds whose dominant-class traffic
    /// already exceeded the baseline belong to the wave.
    fn refine_start(&mut self, first_hot: &SecondCounts) {
        let Some(w) = &mut self.current else { return };
        let d = dominant(&first_hot.classes, &w.baseline_classes);
        let base = w.baseline_classes[d];
        let margin = (3.0 * base.sqrt()).max(1.0);
        self.wave_class = d;
        self.wave_class_floor = base + margin;
        self.run_tail = 0;
        let mut start = w.hot_start;
        for (sec, counts) in self.recent.iter().rev() {
            if *sec + 1 != start {
                if *sec >= start {
                    continue;
                }
                break;
            }
            if counts[d] as f64 > base + margin {
                start = *sec;
            } else {
                break;
            }
        }
        w.start_second = start;
    }

    fn close(&mut self) {
        if let Some(mut w) = self.current.take() {
            // The end is the last hot second, extended over trailing seconds whose
            // dominant-class traffic still exceeds the baseline (the ramp down).
            let mut counts = [0u64; NC];
            for (sec, c) in &self.recent {
                if *sec >= w.hot_start && *sec <= w.hot_end {
                    for i in 0..NC {
                        counts[i] = counts[i].saturating_add(c[i]);
                    }
                }
            }
            let d = dominant(&counts, &[0.0; NC]);
            let base = w.baseline_classes[d];
            let margin = (3.0 * base.sqrt()).max(1.0);
            let mut end = w.end_second.max(w.hot_end);
            for (sec, c) in &self.recent {
                if *sec == end + 1 && c[d] as f64 > base + margin {
                    end = *sec;
                }
            }
            w.end_second = end;
            self.waves.push(w);
        }
        self.run_hot = 0;
        self.run_quiet = 0;
        self.run_tail = 0;
        self.wave_class_floor = f64::INFINITY;
    }

    /// Close any open wave (end of input) and return all waves.
    pub fn finish(mut self) -> Vec<DetectedWave> {
        self.close();
        self.waves
    }
}

/// The class whose `counts` exceed `base` the most (ties: the lower class).
fn dominant(counts: &[u64; NC], base: &[f64; NC]) -> usize {
    (0..NC)
        .max_by(|&i, &j| {
            (counts[i] as f64 - base[i])
                .total_cmp(&(counts[j] as f64 - base[j]))
                .then(j.cmp(&i))
        })
        .unwrap_or(0)
}

/// A protected network or host group: prefixes sharing static thresholds.
// No `deny_unknown_fields` here: with `flatten`, the fields left over go to `Thresholds`,
// which rejects unknown ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtectedNetwork {
    /// Name shown in reports and errors.
    pub name: String,
    /// Prefixes (`198.51.100.0/24`, `2001:db8::/48`) or single addresses.
    pub prefixes: Vec<String>,
    /// Thresholds per destination address in these prefixes.
    #[serde(flatten)]
    pub thresholds: Thresholds,
}

/// Protected networks compiled for longest-prefix lookups.
#[derive(Debug, Clone, Default)]
pub struct NetworkTable {
    /// `(first key, last key, prefix length in key bits, network index)`.
    ranges: Vec<(u128, u128, u32, usize)>,
    networks: Vec<ProtectedNetwork>,
}

impl NetworkTable {
    /// Compile `networks`; errors name the network and the bad prefix.
    pub fn new(networks: Vec<ProtectedNetwork>) -> Result<NetworkTable, String> {
        let mut ranges = Vec::new();
        for (i, n) in networks.iter().enumerate() {
            let unknown = n.thresholds.unknown_classes();
            if !unknown.is_empty() {
                return Err(format!(
                    "network {:?}: unknown traffic class(es) {unknown:?} (known: {})",
                    n.name,
                    Class::ALL.map(|c| c.name()).join(", ")
                ));
            }
            for p in &n.prefixes {
                let (lo, hi, bits) = parse_prefix(p)
                    .ok_or_else(|| format!("network {:?}: bad prefix {p:?}", n.name))?;
                ranges.push((lo, hi, bits, i));
            }
        }
        Ok(NetworkTable { ranges, networks })
    }

    /// The network with the longest prefix covering `addr`.
    pub fn lookup(&self, addr: std::net::IpAddr) -> Option<&ProtectedNetwork> {
        let k = crate::aggregate::addr_key(addr);
        self.ranges
            .iter()
            .filter(|r| r.0 <= k && k <= r.1)
            .max_by_key(|r| r.2)
            .map(|r| &self.networks[r.3])
    }

    /// Whether no network is configured.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

/// `a.b.c.d/len` or an address as an inclusive key range and its length in key bits.
pub fn parse_prefix(p: &str) -> Option<(u128, u128, u32)> {
    let (addr, len) = match p.split_once('/') {
        Some((a, l)) => (
            a.trim().parse::<std::net::IpAddr>().ok()?,
            Some(l.trim().parse::<u32>().ok()?),
        ),
        None => (p.trim().parse().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    if len > max {
        return None;
    }
    let bits = if addr.is_ipv4() { 96 + len } else { len };
    let mask = if bits == 0 { 0 } else { !0u128 << (128 - bits) };
    let lo = crate::aggregate::addr_key(addr) & mask;
    Some((lo, lo | !mask, bits))
}

/// Run a detector over a sparse timeline (seconds without packets are fed as silent).
///
/// `since` is the first second of the whole analysed data: a target first seen later was
/// silent until then, and that silence is its baseline (up to ten minutes of it is fed).
pub fn detect_timeline(
    cfg: &DetectConfig,
    seconds: &[(u64, Bucket)],
    since: u64,
) -> Vec<DetectedWave> {
    detect_timeline_with(cfg, None, seconds, since)
}

/// [`detect_timeline`] with the static thresholds of the target's protected network.
pub fn detect_timeline_with(
    cfg: &DetectConfig,
    thresholds: Option<&Thresholds>,
    seconds: &[(u64, Bucket)],
    since: u64,
) -> Vec<DetectedWave> {
    let sources = thresholds.is_some_and(Thresholds::needs_sources);
    let counts: Vec<(u64, SecondCounts)> = seconds
        .iter()
        .map(|(s, b)| {
            let mut c = SecondCounts::from(b);
            if sources {
                c.sources = b.sources.count();
            }
            (*s, c)
        })
        .collect();
    run_detector(
        TargetDetector::new(cfg.clone()).with_thresholds(thresholds.cloned()),
        &counts,
        since,
    )
}

/// [`detect_timeline`] over any per-second metric (see [`SecondCounts`]).
pub fn detect_series(
    cfg: &DetectConfig,
    seconds: &[(u64, SecondCounts)],
    since: u64,
) -> Vec<DetectedWave> {
    run_detector(TargetDetector::new(cfg.clone()), seconds, since)
}

fn run_detector(
    mut d: TargetDetector,
    seconds: &[(u64, SecondCounts)],
    since: u64,
) -> Vec<DetectedWave> {
    let Some(&(first, _)) = seconds.first() else {
        return Vec::new();
    };
    let last = seconds.last().map_or(first, |e| e.0);
    let mut it = seconds.iter().peekable();
    let mut sec = since.max(first.saturating_sub(600)).min(first);
    while sec <= last {
        match it.peek() {
            Some((s, b)) if *s == sec => {
                d.feed(sec, Some(b));
                it.next();
                sec += 1;
            }
            Some((s, _)) => {
                // Long silent gaps: feed them, but at most enough to close a wave and let
                // the baseline decay; beyond that, silence changes nothing.
                let gap_end = *s;
                let feed_until = gap_end.min(sec + 600);
                while sec < feed_until {
                    d.feed(sec, None);
                    sec += 1;
                }
                sec = gap_end;
            }
            None => break,
        }
    }
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::aggregate::Bucket;

    fn bucket(packets: u64, class: Class, size_bin: usize) -> Bucket {
        let mut b = Bucket {
            packets,
            bytes: packets * 60,
            ..Bucket::default()
        };
        b.classes[class as usize] = packets;
        b.sizes[size_bin] = packets;
        b
    }

    fn mixed(packets: u64) -> Bucket {
        let mut b = Bucket {
            packets,
            ..Bucket::default()
        };
        b.classes[Class::TcpAck as usize] = packets * 7 / 10;
        b.classes[Class::Udp as usize] = packets - packets * 7 / 10;
        b.sizes[3] = packets / 2;
        b.sizes[7] = packets - packets / 2;
        b
    }

    #[test]
    fn wave_opens_after_n_hot_seconds_and_closes_after_m_quiet() {
        let cfg = DetectConfig {
            start_seconds: 2,
            end_seconds: 3,
            ..DetectConfig::default()
        };
        let mut s: Vec<(u64, Bucket)> = (0..60).map(|t| (t, mixed(10))).collect();
        for t in 60..90 {
            s.push((t, bucket(500, Class::TcpSyn, 0)));
        }
        for t in 90..150 {
            s.push((t, mixed(10)));
        }
        let w = detect_timeline(&cfg, &s, 0);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!((w[0].hot_start, w[0].hot_end), (60, 89));
        assert_eq!((w[0].start_second, w[0].end_second), (60, 89));
        // One hot second is not enough with start_seconds = 2.
        let mut s2: Vec<(u64, Bucket)> = (0..60).map(|t| (t, mixed(10))).collect();
        s2.push((60, bucket(500, Class::TcpSyn, 0)));
        s2.extend((61..100).map(|t| (t, mixed(10))));
        assert!(detect_timeline(&cfg, &s2, 0).is_empty());
    }

    #[test]
    fn flash_crowd_of_the_usual_traffic_is_not_an_attack() {
        let mut s: Vec<(u64, Bucket)> = (0..60).map(|t| (t, mixed(10))).collect();
        s.extend((60..120).map(|t| (t, mixed(80))));
        s.extend((120..180).map(|t| (t, mixed(10))));
        assert!(detect_timeline(&DetectConfig::default(), &s, 0).is_empty());
    }

    #[test]
    fn ramp_is_included_by_refinement() {
        let mut s: Vec<(u64, Bucket)> = (0..60).map(|t| (t, mixed(10))).collect();
        // Ramp 2, 6, 12, 18 SYN pps: below the rate threshold (30) at first.
        for (i, r) in [2u64, 6, 12, 18, 200, 200, 200].iter().enumerate() {
            let mut b = mixed(10);
            b.packets += r;
            b.classes[Class::TcpSyn as usize] += r;
            b.sizes[0] += r;
            s.push((60 + i as u64, b));
        }
        s.extend((67..120).map(|t| (t, mixed(10))));
        let w = detect_timeline(&DetectConfig::default(), &s, 0);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].start_second <= 61, "{w:?}");
    }

    #[test]
    fn attack_without_baseline_is_detected() {
        let s = vec![(100u64, bucket(26_000, Class::TcpSyn, 0))];
        let w = detect_timeline(&DetectConfig::default(), &s, 100);
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].start_second, w[0].end_second), (100, 100));
    }
}
