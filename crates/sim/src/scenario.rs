//! The scenario format: a TOML document describing what happens on the network.
//!
//! All times are seconds from the scenario's `start`. Rates are real-world packets per
//! second; the capture is written at `scale` × those rates (stated in `truth.json`) so a
//! scenario of a multi-Gbps attack still fits on disk. See docs/FORMATS.md for a full
//! example of every table.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::reports::OutageModel;
use crate::vectors::{BackgroundKind, Vector, VectorParams};

/// Parse a background protocol name.
pub fn background_kind(name: &str) -> Result<BackgroundKind, ScenarioError> {
    use serde::de::IntoDeserializer;
    BackgroundKind::deserialize(name.into_deserializer()).map_err(|e: serde::de::value::Error| {
        ScenarioError::Invalid(format!("background protocol {name:?}: {e}"))
    })
}

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The TOML does not parse or does not match the format.
    #[error("scenario does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value is out of range or inconsistent.
    #[error("scenario is invalid: {0}")]
    Invalid(String),
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (used in file names).
    pub name: String,
    /// What the scenario models, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Default seed (`floodtrace simulate --seed` overrides it).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Start of simulated time, Unix seconds.
    pub start_unix: u64,
    /// Length of simulated time.
    pub duration_seconds: u32,
    /// Capture packet rate = real rate × `scale` (0 < scale ≤ 1).
    #[serde(default = "default_scale")]
    pub scale: f64,
    /// Networks the operator protects (targets and carpet-bombed prefixes lie here).
    #[serde(default)]
    pub protected: Vec<Protected>,
    /// Benign traffic.
    pub background: Background,
    /// Attack waves.
    #[serde(default, rename = "wave")]
    pub waves: Vec<Wave>,
    /// The service whose outage users report.
    #[serde(default)]
    pub service: Option<Service>,
    /// User outage-report model (needs `service`).
    #[serde(default)]
    pub outage: Option<OutageModel>,
    /// Flow exports written beside the capture.
    #[serde(default)]
    pub flows: FlowExports,
    /// Claims whose ideal verdicts truth.json states.
    #[serde(default, rename = "claim")]
    pub claims: Vec<ClaimSpec>,
}

fn default_seed() -> u64 {
    1
}

fn default_scale() -> f64 {
    1.0
}

/// A protected network.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Protected {
    /// Name, e.g. `frontend`.
    pub name: String,
    /// IPv4 prefix, e.g. `203.0.113.0/24`.
    pub prefix: String,
}

/// Benign traffic between clients and servers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Background {
    /// Number of distinct client addresses.
    pub clients: u32,
    /// Client countries and weights (drawn from the geo database).
    pub client_countries: BTreeMap<String, f64>,
    /// Server addresses.
    pub servers: Vec<Ipv4Addr>,
    /// Real-world packets per second at the diurnal mean.
    pub pps: f64,
    /// Protocol mix, by [`BackgroundKind`] name (`https`, `http`, `dns`, `quic`, `ntp`,
    /// `icmp`).
    pub protocols: BTreeMap<String, f64>,
    /// Relative amplitude of the diurnal swing (0.3 = ±30 %).
    #[serde(default)]
    pub diurnal_amplitude: f64,
    /// Period of the diurnal curve in simulated seconds (a "day" compressed).
    #[serde(default = "default_period")]
    pub diurnal_period_seconds: u32,
    /// Benign surges (many real clients at once): not attacks.
    #[serde(default, rename = "flash_crowd")]
    pub flash_crowds: Vec<FlashCrowd>,
    /// Share of background web requests that go into the access log (of HTTP/HTTPS
    /// request packets), 0 disables benign log lines.
    #[serde(default = "default_log_share")]
    pub log_share: f64,
}

fn default_period() -> u32 {
    86_400
}

fn default_log_share() -> f64 {
    0.05
}

/// A benign surge.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlashCrowd {
    /// Start, seconds from the scenario start.
    pub start_seconds: u32,
    /// Length.
    pub duration_seconds: u32,
    /// Rate multiplier at the peak (the surge ramps up and down over a fifth of its length).
    pub multiplier: f64,
    /// Server that draws the crowd (default: the first server).
    #[serde(default)]
    pub server: Option<Ipv4Addr>,
    /// Extra distinct clients joining (default: as many as `clients`).
    #[serde(default)]
    pub extra_clients: Option<u32>,
}

/// One attack wave.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    /// Name (defaults to `wave-N`).
    #[serde(default)]
    pub name: String,
    /// Start, seconds from the scenario start.
    pub start_seconds: u32,
    /// Length (including ramps).
    pub duration_seconds: u32,
    /// Seconds to reach full rate (and to fall back at the end).
    #[serde(default)]
    pub ramp_seconds: u32,
    /// Target address or prefix (a prefix spreads the flood: carpet bombing).
    pub target: String,
    /// Attack vector.
    pub vector: Vector,
    /// Real-world packets per second at full rate.
    pub pps: f64,
    /// Vector parameter overrides.
    #[serde(default)]
    pub params: VectorParams,
    /// Where the packets come from.
    pub sources: Sources,
    /// Campaign label (waves of one botnet share it).
    #[serde(default)]
    pub campaign: Option<String>,
}

/// Sources of a wave.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Sources {
    /// Infected devices sending from their own addresses.
    Botnet {
        /// Botnet name: waves with the same name use the same bots.
        name: String,
        /// Number of bots taking part.
        size: u32,
        /// Malware family, e.g. `mirai`.
        family: String,
        /// Bot countries and weights.
        countries: BTreeMap<String, f64>,
        /// Hop count range between bots and the victim (TTL = 64 − hops for Mirai raw
        /// vectors; the OS default minus hops for kernel-socket vectors).
        #[serde(default = "default_hops")]
        hops: [u8; 2],
        /// Share of bots that also run the telnet scanner during the wave.
        #[serde(default)]
        scanner_share: f64,
        /// Scanner SYNs per second per scanning bot (real-world).
        #[serde(default = "default_scan_rate")]
        scan_pps: f64,
    },
    /// Forged source addresses.
    Spoofed {
        /// `uniform` over all IPv4 (bogons included), or random inside `prefixes`.
        #[serde(default)]
        prefixes: Vec<String>,
        /// Hop count range of the real senders (spoofing hides the address, not the TTL).
        #[serde(default = "default_hops")]
        hops: [u8; 2],
        /// Initial TTL of the real senders' packets.
        #[serde(default = "default_initial_ttl")]
        initial_ttl: u8,
    },
    /// Reflectors answering spoofed requests (amplification).
    Reflectors {
        /// Number of reflectors.
        count: u32,
        /// Reflector countries and weights.
        countries: BTreeMap<String, f64>,
        /// Hop count range between reflectors and the victim.
        #[serde(default = "default_hops")]
        hops: [u8; 2],
    },
}

fn default_hops() -> [u8; 2] {
    [6, 22]
}

fn default_initial_ttl() -> u8 {
    64
}

fn default_scan_rate() -> f64 {
    10.0
}

/// The service users depend on (for impact and outage reports).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Name shown in reports.
    pub name: String,
    /// Host name in the access log.
    pub host: String,
    /// Attack packets per second (real-world) the service absorbs without impact.
    pub capacity_pps: f64,
    /// Attack rate at which the service is fully down (impact 1).
    pub saturation_pps: f64,
    /// Simulated web server whose access log is written (default: the first server).
    #[serde(default)]
    pub web_server: Option<Ipv4Addr>,
    /// Outages with another cause (a failed deploy, a fibre cut): impact without attack.
    #[serde(default, rename = "outage")]
    pub other_outages: Vec<OtherOutage>,
}

/// A service outage that no attack caused.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OtherOutage {
    /// Start, seconds from the scenario start.
    pub start_seconds: u32,
    /// Length.
    pub duration_seconds: u32,
    /// Impact 0..=1 while it lasts.
    pub impact: f64,
    /// What it was, for the truth file.
    #[serde(default)]
    pub cause: String,
}

/// Which flow exports to write.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlowExports {
    /// Formats (`netflow_v9`, `ipfix`, `sflow5`).
    #[serde(default = "default_flow_formats")]
    pub formats: Vec<crate::flows::FlowFormat>,
    /// 1-in-N packet sampling.
    #[serde(default = "default_sampling")]
    pub sampling: u32,
}

impl Default for FlowExports {
    fn default() -> Self {
        FlowExports {
            formats: default_flow_formats(),
            sampling: default_sampling(),
        }
    }
}

fn default_flow_formats() -> Vec<crate::flows::FlowFormat> {
    use crate::flows::FlowFormat::*;
    vec![NetflowV9, Ipfix, Sflow5]
}

fn default_sampling() -> u32 {
    100
}

/// A claim whose ideal verdict truth.json should state, e.g. `origin=UA`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// The claim as the CLI takes it (`origin=UA`, `botnet=mirai`, `spoofed=no`,
    /// `cause=attack`).
    pub claim: String,
}

/// An IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Prefix {
    /// Network address.
    pub addr: Ipv4Addr,
    /// Prefix length.
    pub len: u8,
}

impl Prefix {
    /// Parse `a.b.c.d/len` or a bare address (= /32).
    pub fn parse(s: &str) -> Result<Prefix, ScenarioError> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, l),
            None => (s, "32"),
        };
        let addr: Ipv4Addr = a.trim().parse().map_err(|_| {
            ScenarioError::Invalid(format!("{s:?} is not an IPv4 address or prefix"))
        })?;
        let len: u8 = l
            .trim()
            .parse()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| ScenarioError::Invalid(format!("{s:?} has a bad prefix length")))?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        Ok(Prefix {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            len,
        })
    }

    /// Number of addresses.
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.len)
    }

    /// The `i`-th address (`i < size`).
    pub fn nth(&self, i: u64) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr).wrapping_add(i as u32))
    }

    /// Whether `a` lies inside.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        let mask = if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len)
        };
        u32::from(a) & mask == u32::from(self.addr)
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Scenario {
    /// Parse and validate a scenario.
    ///
    /// # Errors
    /// TOML errors with their line, and inconsistent values.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let mut s: Scenario = toml::from_str(text)?;
        for (i, w) in s.waves.iter_mut().enumerate() {
            if w.name.is_empty() {
                w.name = format!("wave-{}", i + 1);
            }
        }
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |m: String| Err(ScenarioError::Invalid(m));
        if !self.scale.is_finite() || self.scale <= 0.0 || self.scale > 1.0 {
            return bad(format!("scale must be in (0, 1], is {}", self.scale));
        }
        if self.duration_seconds == 0 || self.duration_seconds > 7 * 86_400 {
            return bad("duration_seconds must be 1..=604800".into());
        }
        if self.background.servers.is_empty() {
            return bad("background.servers must list at least one server".into());
        }
        if !self.background.pps.is_finite() || self.background.pps < 0.0 {
            return bad("background.pps must be ≥ 0".into());
        }
        for p in &self.protected {
            Prefix::parse(&p.prefix)?;
        }
        for k in self.background.protocols.keys() {
            background_kind(k)?;
        }
        for w in &self.waves {
            Prefix::parse(&w.target)?;
            if w.start_seconds + w.duration_seconds > self.duration_seconds {
                return bad(format!("{} ends after the scenario", w.name));
            }
            if 2 * w.ramp_seconds > w.duration_seconds {
                return bad(format!("{}: ramps are longer than the wave", w.name));
            }
            if !w.pps.is_finite() || w.pps <= 0.0 {
                return bad(format!("{}: pps must be > 0", w.name));
            }
            match &w.sources {
                Sources::Botnet {
                    size,
                    countries,
                    hops,
                    ..
                }
                | Sources::Reflectors {
                    count: size,
                    countries,
                    hops,
                } => {
                    if *size == 0 || countries.is_empty() || hops[0] > hops[1] {
                        return bad(format!(
                            "{}: sources need a size, countries and hops lo ≤ hi",
                            w.name
                        ));
                    }
                }
                Sources::Spoofed { prefixes, hops, .. } => {
                    for p in prefixes {
                        Prefix::parse(p)?;
                    }
                    if hops[0] > hops[1] {
                        return bad(format!("{}: hops lo > hi", w.name));
                    }
                }
            }
            if w.vector.is_reflection() != matches!(w.sources, Sources::Reflectors { .. }) {
                return bad(format!(
                    "{}: reflection vectors need `kind = \"reflectors\"` sources and other vectors must not use them",
                    w.name
                ));
            }
        }
        if self.outage.is_some() && self.service.is_none() {
            return bad("[outage] needs a [service] table (capacity_pps, saturation_pps)".into());
        }
        Ok(())
    }
}
