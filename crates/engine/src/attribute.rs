//! Source attribution: how many sources an incident has, where they are registered (country
//! and ASN, by packets and by distinct sources), how concentrated they are, and whether their
//! addresses are real at all (spec `attack-signatures.md` §4).
//!
//! Input is a per-victim [`SourceSample`] (a uniform sample of distinct sources with exact
//! per-source counts), optional totals from the caller's HyperLogLog, and any [`GeoLookup`].
//! Output is a [`SourceProfile`]: plain numbers, every share with the sample it came from,
//! and a [`SpoofingAssessment`] whose tests each state what they can and cannot show.
//!
//! # Spoofing tests and thresholds
//!
//! | test | indicates spoofing when | indicates real sources when | minimum data |
//! |---|---|---|---|
//! | bogon share ([`BOGONS`]) | implied spoofed fraction (bogon share ÷ [`bogon_space_share`] ≈ 13.8 %) ≥ 0.5 (≥ 0.1: partly) | never (absence of bogons proves nothing) | ≥ [`MIN_BOGON_SOURCES`] bogon sources |
//! | uniformity (χ² over /8s of routable space) | p ≥ [`UNIFORM_P_MIN`]: spread like random numbers | never on its own | ≥ 5 expected sources per bin |
//! | TTL clustering | ≥ [`TTL_CLUSTER_TOP3_MIN`] of ≥ [`MIN_TTL_SOURCES`] sources in three TTL values | ≥ [`TTL_SPREAD_MIN`] effective values *and* stable per-source TTLs | 100 sources / 30 multi-packet sources |
//! | per-source TTL consistency | ≥ 50 % of multi-packet sources change TTL by ≥ [`TTL_SPAN_INCONSISTENT`] | ≤ 10 % (with spread, above) | 30 multi-packet sources |
//! | handshake completion | — | ≥ 50 % of SYN-sending sources complete a handshake | 10 SYN sources |
//! | backscatter | — (the *victim's* address is spoofed elsewhere) | ≥ 50 % of packets are SYN-ACK / RST / ICMP errors: sources are responders | 100 packets |
//!
//! The verdict combines them: address evidence (bogons, uniformity) outweighs TTL spread
//! (TTLs can be forged); a completed handshake next to any spoofing evidence makes it
//! `mixed`; `not_spoofed` needs positive evidence (handshakes, stable and spread TTLs, or
//! backscatter), never just the absence of bogons.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use crate::sketch::source_sample::source_flag;
use crate::sketch::{SampledSource, SourceSample};

/// Special-purpose IPv4 space that is never a valid public source (inclusive bounds, sorted,
/// with the prefix and its meaning). Spec sheet §4.2: RFC 6890, RFC 1918, RFC 6598, RFC 5737,
/// multicast (RFC 5771), class E and the limited broadcast address. This is the canonical copy
/// (the simulator keeps its own, equal list).
pub const BOGONS: [(u32, u32, &str); 15] = [
    (0x0000_0000, 0x00ff_ffff, "0.0.0.0/8 this network"),
    (0x0a00_0000, 0x0aff_ffff, "10.0.0.0/8 private"),
    (0x6440_0000, 0x647f_ffff, "100.64.0.0/10 shared (CGN)"),
    (0x7f00_0000, 0x7fff_ffff, "127.0.0.0/8 loopback"),
    (0xa9fe_0000, 0xa9fe_ffff, "169.254.0.0/16 link-local"),
    (0xac10_0000, 0xac1f_ffff, "172.16.0.0/12 private"),
    (
        0xc000_0000,
        0xc000_00ff,
        "192.0.0.0/24 IETF protocol assignments",
    ),
    (0xc000_0200, 0xc000_02ff, "192.0.2.0/24 TEST-NET-1"),
    (0xc058_6300, 0xc058_63ff, "192.88.99.0/24 former 6to4 relay"),
    (0xc0a8_0000, 0xc0a8_ffff, "192.168.0.0/16 private"),
    (0xc612_0000, 0xc613_ffff, "198.18.0.0/15 benchmarking"),
    (0xc633_6400, 0xc633_64ff, "198.51.100.0/24 TEST-NET-2"),
    (0xcb00_7100, 0xcb00_71ff, "203.0.113.0/24 TEST-NET-3"),
    (0xe000_0000, 0xefff_ffff, "224.0.0.0/4 multicast"),
    (
        0xf000_0000,
        0xffff_ffff,
        "240.0.0.0/4 reserved, incl. 255.255.255.255",
    ),
];

/// `true` if `ip` lies in special-purpose space ([`BOGONS`]).
pub fn is_bogon_v4(ip: Ipv4Addr) -> bool {
    let v = u32::from(ip);
    // Sorted and disjoint: the last range starting at or below `v` is the only candidate.
    let i = BOGONS.partition_point(|b| b.0 <= v);
    i > 0 && v <= BOGONS[i - 1].1
}

/// `true` if `ip` is an IPv4 (or IPv4-mapped IPv6) address in special-purpose space.
/// IPv6 special-purpose space is not assessed (`false`).
pub fn is_bogon(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_bogon_v4(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(is_bogon_v4),
    }
}

/// Share of the IPv4 space covered by [`BOGONS`] (≈ 0.1380): the bogon share of uniformly
/// random sources.
pub fn bogon_space_share() -> f64 {
    let n: u64 = BOGONS
        .iter()
        .map(|&(lo, hi, _)| u64::from(hi - lo) + 1)
        .sum();
    n as f64 / 4_294_967_296.0
}

/// Where addresses are registered. Implemented by `floodtrace-geo` over the pinned
/// ip-location-db data; anything else (a test table, another database) works too.
pub trait GeoLookup {
    /// ISO 3166-1 alpha-2 code (upper case) of the country `ip` is registered in.
    fn country(&self, ip: IpAddr) -> Option<[u8; 2]>;
    /// Autonomous system number and organisation announcing `ip`.
    fn asn(&self, ip: IpAddr) -> Option<(u32, &str)>;
}

/// A [`GeoLookup`] that knows nothing: profiles then carry counts and spoofing tests only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGeo;

impl GeoLookup for NoGeo {
    fn country(&self, _: IpAddr) -> Option<[u8; 2]> {
        None
    }
    fn asn(&self, _: IpAddr) -> Option<(u32, &str)> {
        None
    }
}

/// What the caller knows beyond the sample (all optional).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AttributeInput {
    /// Packets of the incident (e.g. the waves' total); default: packets the sample saw.
    pub packets: Option<u64>,
    /// Distinct sources from the caller's HyperLogLog; default: the sample's own estimate.
    pub distinct_sources: Option<u64>,
    /// Relative standard error of `distinct_sources`.
    pub distinct_sources_error: f64,
    /// Share of the incident's packets classified as reflection vectors (`*_reflection`,
    /// `syn_ack_reflection`): the sources are then innocent reflectors.
    pub reflection_share: f64,
}

/// Fewest bogon sources in the sample before the bogon test says anything.
pub const MIN_BOGON_SOURCES: u64 = 10;
/// The uniformity test calls sources "spread like random numbers" at or above this p-value.
pub const UNIFORM_P_MIN: f64 = 0.001;
/// Fewest sampled sources with a TTL for the clustering test.
pub const MIN_TTL_SOURCES: u64 = 100;
/// Fewest sampled sources with ≥ 2 packets for the per-source consistency test.
pub const MIN_MULTI_PACKET_SOURCES: u64 = 30;
/// At least this share of sources in the three most common TTL values: few real senders
/// (robust to a little background traffic from other, real sources).
pub const TTL_CLUSTER_TOP3_MIN: f64 = 0.9;
/// At least this many effective TTL values: many senders at many distances.
pub const TTL_SPREAD_MIN: f64 = 6.0;
/// A source whose TTL varies by this much or more is inconsistent.
pub const TTL_SPAN_INCONSISTENT: u8 = 3;
/// Fewest SYN-sending sources for the handshake test.
pub const MIN_SYN_SOURCES: u64 = 10;
/// Fewest packets for the backscatter test.
pub const MIN_BACKSCATTER_PACKETS: u64 = 100;

/// What one test suggests about the source addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indication {
    /// The addresses are forged.
    Spoofed,
    /// Part of the addresses are forged.
    PartlySpoofed,
    /// The addresses are real.
    NotSpoofed,
    /// The test ran and points neither way.
    Neutral,
    /// Too little data for the test.
    Insufficient,
}

/// The overall spoofing verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpoofVerdict {
    /// Source addresses are forged.
    Spoofed,
    /// Source addresses are real.
    NotSpoofed,
    /// Some are forged, some real.
    Mixed,
    /// The tests do not settle it.
    Inconclusive,
}

impl SpoofVerdict {
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            SpoofVerdict::Spoofed => "spoofed",
            SpoofVerdict::NotSpoofed => "not_spoofed",
            SpoofVerdict::Mixed => "mixed",
            SpoofVerdict::Inconclusive => "inconclusive",
        }
    }
}

/// What the sources are, as far as the traffic shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceRole {
    /// The sources sent the traffic themselves (bots, clients, or forged addresses).
    Senders,
    /// The sources are reflectors answering requests forged with the victim's address.
    Reflectors,
    /// The sources answer packets that carried this address as a forged source
    /// (backscatter, or SYN-ACK reflection).
    Responders,
}

/// Bogon / special-purpose share (spec §4.1 "source-address distribution").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BogonTest {
    /// Sampled IPv4 sources.
    pub sampled_v4: u64,
    /// Of those, in [`BOGONS`].
    pub bogon_sources: u64,
    /// Bogon share by distinct sources.
    pub share_sources: f64,
    /// Bogon share by packets (packets of sampled sources).
    pub share_packets: f64,
    /// Bogon share expected if every source were uniformly random ([`bogon_space_share`]).
    pub expected_if_random: f64,
    /// Implied share of sources that are uniformly random: `share_sources / expected`,
    /// capped at 1.
    pub spoofed_fraction: f64,
    /// 95 % interval of `spoofed_fraction` (Wilson interval of the share, scaled).
    pub spoofed_fraction_ci95: [f64; 2],
    /// Smallest random-spoofed fraction that puts [`MIN_BOGON_SOURCES`] bogons in this
    /// sample on average.
    pub min_detectable_fraction: f64,
    /// What it suggests.
    pub indicates: Indication,
    /// What the test can and cannot show, with this sample.
    pub power: String,
}

/// χ² goodness of fit of source addresses against uniform over routable IPv4 space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UniformityTest {
    /// Sampled routable IPv4 sources tested.
    pub sources: u64,
    /// Bin width (prefix length: 8 for /8s; shorter when there are few sources).
    pub bin_prefix_len: u8,
    /// Bins with routable space.
    pub bins: u32,
    /// Degrees of freedom (bins − 1).
    pub dof: u32,
    /// χ² statistic.
    pub chi_square: f64,
    /// Upper-tail p-value (probability of a χ² this large for uniformly random sources).
    pub p_value: f64,
    /// Observed effect size, Cohen's w = √(χ² / n): ≈ 0 for random sources, ≫ 1 for a
    /// botnet in a few networks.
    pub effect_size_w: f64,
    /// Smallest w the test detects with 80 % power at α = [`UNIFORM_P_MIN`] (normal
    /// approximation of the non-central χ²); `None` when the test could not run.
    pub min_detectable_w: Option<f64>,
    /// What it suggests.
    pub indicates: Indication,
    /// What the test can and cannot show, with this sample.
    pub power: String,
}

/// TTL clustering and per-source TTL consistency (Jin, Wang, Shin 2003; spec §4.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TtlTest {
    /// Sampled sources with a TTL.
    pub sources: u64,
    /// Distinct observed TTLs (each source's highest).
    pub distinct_ttls: u32,
    /// Effective number of TTL values, 2^(Shannon entropy in bits) over sources.
    pub effective_ttls: f64,
    /// The most common TTLs: (TTL, share of sources), at most 5.
    pub top_ttls: Vec<(u8, f64)>,
    /// Share of sources in the three most common TTL values.
    pub top3_share: f64,
    /// Inferred initial TTL (smallest of 32, 64, 128, 255 at or above the observed TTL) →
    /// share of sources.
    pub initial_ttls: BTreeMap<u8, f64>,
    /// Inferred hop counts over sources: 10th, 50th, 90th percentile.
    pub hops_p10_p50_p90: [u8; 3],
    /// Sampled sources with at least two packets (their TTL could change).
    pub multi_packet_sources: u64,
    /// Of those, sources whose TTL varied by [`TTL_SPAN_INCONSISTENT`] or more.
    pub inconsistent_sources: u64,
    /// `inconsistent_sources / multi_packet_sources` (0 when none).
    pub inconsistent_share: f64,
    /// What it suggests.
    pub indicates: Indication,
    /// What the test can and cannot show, with this sample.
    pub power: String,
}

/// TCP handshake completion (spec §4.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandshakeTest {
    /// Sampled sources that sent a SYN.
    pub syn_sources: u64,
    /// Of those, sources that also acknowledged on the same port pair (completed a
    /// handshake: their address is reachable).
    pub handshake_sources: u64,
    /// `handshake_sources / syn_sources`.
    pub share: f64,
    /// What it suggests.
    pub indicates: Indication,
    /// What the test can and cannot show.
    pub power: String,
}

/// Received backscatter: SYN-ACK, RST and ICMP errors (Moore et al. 2001; spec §3.3, §4.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackscatterTest {
    /// Backscatter-type packets (all sources, exact).
    pub packets: u64,
    /// Their share of all packets.
    pub share_packets: f64,
    /// Sampled sources that sent them.
    pub sources: u64,
    /// Median estimated distinct destination ports per such source.
    pub median_ports: f64,
    /// `"backscatter"` (few sources answering to many ports: this address was forged in a
    /// flood against them), `"syn_ack_reflection"` (many servers answering: this address
    /// was forged towards them), or `None`.
    pub kind: Option<&'static str>,
    /// What it suggests about the *sources* (they are real responders).
    pub indicates: Indication,
    /// What the test can and cannot show.
    pub power: String,
}

/// All spoofing tests and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpoofingAssessment {
    /// The verdict.
    pub verdict: SpoofVerdict,
    /// Estimated share of sources that are forged, when a test measures it (bogon test).
    pub spoofed_fraction: Option<f64>,
    /// Bogon share.
    pub bogons: BogonTest,
    /// Address-space uniformity.
    pub uniformity: UniformityTest,
    /// TTL clustering and consistency.
    pub ttl: TtlTest,
    /// Handshake completion.
    pub handshake: HandshakeTest,
    /// Backscatter.
    pub backscatter: BackscatterTest,
    /// One short reason per test that pointed somewhere.
    pub reasons: Vec<String>,
    /// Two or three plain sentences.
    pub explanation: String,
}

/// One country or AS and its share of the sources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupShare {
    /// Country code (`"BR"`) or `"AS1234"`.
    pub key: String,
    /// Country or organisation name.
    pub name: String,
    /// AS number (ASN groups only).
    pub asn: Option<u32>,
    /// Sampled sources in the group.
    pub sampled_sources: u64,
    /// Share of all sampled sources (located or not).
    pub sources_share: f64,
    /// Half-width of the 95 % interval of `sources_share` (0 when the sample is complete).
    pub sources_share_ci95: f64,
    /// Estimated distinct sources: `sources_share × distinct_sources`.
    pub estimated_sources: u64,
    /// Share of the sampled sources' packets.
    pub packets_share: f64,
    /// Estimated packets: `packets_share × packets`.
    pub estimated_packets: u64,
}

/// How concentrated a distribution is, over located sources only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concentration {
    /// Groups with at least one source.
    pub groups: u32,
    /// Share of the largest group.
    pub top1: f64,
    /// Share of the five largest groups.
    pub top5: f64,
    /// Herfindahl–Hirschman index Σ share² (1 = one group; 1/n = n equal groups).
    pub hhi: f64,
    /// Shannon entropy in bits.
    pub entropy_bits: f64,
    /// Effective number of groups, 2^entropy.
    pub effective_groups: f64,
}

/// [`Concentration`] by distinct sources and by packets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concentrations {
    /// Weighting every source once.
    pub by_sources: Concentration,
    /// Weighting every source by its packets.
    pub by_packets: Concentration,
}

/// How the shares were sampled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleInfo {
    /// Sampled distinct sources.
    pub sources: u64,
    /// Sample size limit.
    pub k: u64,
    /// The sample holds every source: shares are exact.
    pub complete: bool,
    /// Share of distinct sources in the sample.
    pub fraction: f64,
    /// One sentence on what the sampling means for the figures.
    pub note: String,
    /// How the sample was collected: `first_pass` (sources logged while reading) or
    /// `second_pass` (the incident's packets read again); absent when not told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collected: Option<&'static str>,
}

/// Everything known about an incident's sources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceProfile {
    /// Packets of the incident.
    pub packets: u64,
    /// Distinct sources.
    pub distinct_sources: u64,
    /// Relative standard error of `distinct_sources`.
    pub distinct_sources_error: f64,
    /// Where `distinct_sources` comes from: `"hll"`, `"sample_exact"` or `"bottom_k"`.
    pub distinct_sources_basis: &'static str,
    /// The sample behind every share.
    pub sample: SampleInfo,
    /// IPv6 sources in the sample.
    pub ipv6_sources: u64,
    /// Share of sampled sources with a known country.
    pub located_share: f64,
    /// Countries by sampled sources, largest first (ties: code).
    pub countries: Vec<GroupShare>,
    /// Country concentration.
    pub country_concentration: Concentrations,
    /// The 20 largest ASes by sampled sources (ties: number).
    pub asns: Vec<GroupShare>,
    /// AS concentration.
    pub asn_concentration: Concentrations,
    /// What the sources are.
    pub role: SourceRole,
    /// Spoofing tests and verdict.
    pub spoofing: SpoofingAssessment,
    /// Plain sentences summarising the profile.
    pub summary: Vec<String>,
}

impl SourceProfile {
    /// The share of sampled sources and packets in country `cc` (any case): `(by sources,
    /// by packets)`; zeros when absent.
    pub fn country_share(&self, cc: &str) -> (f64, f64) {
        self.countries
            .iter()
            .find(|g| g.key.eq_ignore_ascii_case(cc))
            .map_or((0.0, 0.0), |g| (g.sources_share, g.packets_share))
    }

    /// The share of sampled sources and packets in AS `asn`: `(by sources, by packets)`.
    pub fn asn_share(&self, asn: u32) -> (f64, f64) {
        self.asns
            .iter()
            .find(|g| g.asn == Some(asn))
            .map_or((0.0, 0.0), |g| (g.sources_share, g.packets_share))
    }
}

/// Number of ASes listed in [`SourceProfile::asns`].
pub const TOP_ASNS: usize = 20;

/// Build the [`SourceProfile`] of one victim's (or incident's) sources.
pub fn attribute<G: GeoLookup + ?Sized>(
    sample: &SourceSample,
    input: &AttributeInput,
    geo: &G,
) -> SourceProfile {
    let sources = sample.sources();
    let n = sources.len() as u64;
    let packets = input.packets.unwrap_or(sample.packets());
    let (distinct, distinct_err, basis) = match input.distinct_sources {
        Some(d) => (d.max(n), input.distinct_sources_error, "hll"),
        None if sample.is_complete() => (n, 0.0, "sample_exact"),
        None => (
            sample.distinct_estimate().round() as u64,
            sample.distinct_error(),
            "bottom_k",
        ),
    };
    let complete = sample.is_complete();
    let fraction = if complete {
        1.0
    } else {
        (n as f64 / distinct.max(1) as f64).min(1.0)
    };
    let sample_info = SampleInfo {
        sources: n,
        k: sample.k() as u64,
        complete,
        fraction,
        note: if complete {
            format!("all {n} sources were examined; shares are exact")
        } else {
            format!(
                "shares are estimated from a uniform sample of {n} of about {} distinct \
                 sources ({:.1} %)",
                group_thousands(distinct),
                fraction * 100.0
            )
        },
        collected: None,
    };

    // Geo lookups, once per sampled source.
    let sampled_packets: u64 = sources.iter().map(|s| s.stats.packets).sum();
    let mut countries: BTreeMap<[u8; 2], (u64, u64)> = BTreeMap::new();
    let mut asns: BTreeMap<u32, (String, u64, u64)> = BTreeMap::new();
    let mut located = 0u64;
    let mut ipv6 = 0u64;
    // In address order, so that consecutive lookups walk the tables forward instead of
    // missing the cache at random. The sums do not depend on the order; an ASN the data
    // lists under several names is named as for its lowest sampled address.
    let mut by_addr: Vec<&_> = sources.iter().collect();
    by_addr.sort_unstable_by_key(|s| s.addr);
    for s in by_addr {
        if matches!(s.addr, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none()) {
            ipv6 += 1;
        }
        if let Some(cc) = geo.country(s.addr) {
            located += 1;
            let e = countries.entry(cc).or_default();
            e.0 += 1;
            e.1 = e.1.saturating_add(s.stats.packets);
        }
        if let Some((asn, org)) = geo.asn(s.addr) {
            let e = asns.entry(asn).or_insert_with(|| (org.to_owned(), 0, 0));
            e.1 += 1;
            e.2 = e.2.saturating_add(s.stats.packets);
        }
    }
    let fpc = if complete {
        0.0
    } else {
        (1.0 - fraction).max(0.0)
    };
    let share_of = |count: u64, pk: u64, key: String, name: String, asn: Option<u32>| {
        let p = ratio(count, n);
        let q = ratio(pk, sampled_packets);
        GroupShare {
            key,
            name,
            asn,
            sampled_sources: count,
            sources_share: p,
            sources_share_ci95: if n == 0 {
                0.0
            } else {
                1.96 * (p * (1.0 - p) / n as f64 * fpc).sqrt()
            },
            estimated_sources: (p * distinct as f64).round() as u64,
            packets_share: q,
            estimated_packets: (q * packets as f64).round() as u64,
        }
    };
    let mut country_list: Vec<GroupShare> = countries
        .iter()
        .map(|(cc, &(c, pk))| {
            let code = String::from_utf8_lossy(cc).into_owned();
            share_of(c, pk, code.clone(), country_name(&code).to_owned(), None)
        })
        .collect();
    country_list.sort_by(|a, b| {
        b.sampled_sources
            .cmp(&a.sampled_sources)
            .then(a.key.cmp(&b.key))
    });
    let country_conc = Concentrations {
        by_sources: concentration(countries.values().map(|v| v.0 as f64)),
        by_packets: concentration(countries.values().map(|v| v.1 as f64)),
    };
    let mut asn_list: Vec<GroupShare> = asns
        .iter()
        .map(|(&asn, (org, c, pk))| share_of(*c, *pk, format!("AS{asn}"), org.clone(), Some(asn)))
        .collect();
    asn_list.sort_by(|a, b| {
        b.sampled_sources
            .cmp(&a.sampled_sources)
            .then(a.asn.cmp(&b.asn))
    });
    asn_list.truncate(TOP_ASNS);
    let asn_conc = Concentrations {
        by_sources: concentration(asns.values().map(|v| v.1 as f64)),
        by_packets: concentration(asns.values().map(|v| v.2 as f64)),
    };

    let spoofing = assess_spoofing(&sources, sample, input);
    let role = if spoofing.backscatter.kind.is_some() {
        SourceRole::Responders
    } else if input.reflection_share >= 0.5 {
        SourceRole::Reflectors
    } else {
        SourceRole::Senders
    };
    let mut profile = SourceProfile {
        packets,
        distinct_sources: distinct,
        distinct_sources_error: distinct_err,
        distinct_sources_basis: basis,
        sample: sample_info,
        ipv6_sources: ipv6,
        located_share: ratio(located, n),
        countries: country_list,
        country_concentration: country_conc,
        asns: asn_list,
        asn_concentration: asn_conc,
        role,
        spoofing,
        summary: Vec::new(),
    };
    profile.summary = summarise(&profile);
    profile
}

fn summarise(p: &SourceProfile) -> Vec<String> {
    let mut out = Vec::new();
    let err = if p.distinct_sources_error > 0.0 {
        format!(" (± {:.1} %)", p.distinct_sources_error * 100.0)
    } else {
        String::new()
    };
    out.push(format!(
        "{} packets came from {} distinct source addresses{err}.",
        group_thousands(p.packets),
        group_thousands(p.distinct_sources)
    ));
    if !p.countries.is_empty() {
        let top: Vec<String> = p
            .countries
            .iter()
            .take(3)
            .map(|g| format!("{} {}", g.name, percent(g.sources_share)))
            .collect();
        out.push(format!(
            "By registered location of the addresses: {}{}.",
            top.join(", "),
            if p.countries.len() > 3 {
                format!(" and {} more countries", p.countries.len() - 3)
            } else {
                String::new()
            }
        ));
    }
    out.push(p.spoofing.explanation.clone());
    match p.role {
        SourceRole::Reflectors => out.push(
            "Most traffic is reflected: the sources are servers answering requests forged \
             with the victim's address, not the attacker."
                .to_owned(),
        ),
        SourceRole::Responders => out.push(
            "The sources are answering packets that carried this address as a forged \
             source; they are not attacking it."
                .to_owned(),
        ),
        SourceRole::Senders => {}
    }
    out
}

fn assess_spoofing(
    sources: &[SampledSource],
    sample: &SourceSample,
    input: &AttributeInput,
) -> SpoofingAssessment {
    let bogons = bogon_test(sources);
    let uniformity = uniformity_test(sources);
    let ttl = ttl_test(sources);
    let handshake = handshake_test(sources);
    let backscatter = backscatter_test(sources, sample);

    let mut reasons = Vec::new();
    let addr_spoof =
        bogons.indicates == Indication::Spoofed || uniformity.indicates == Indication::Spoofed;
    let partial = bogons.indicates == Indication::PartlySpoofed;
    let ttl_spoof = ttl.indicates == Indication::Spoofed;
    let hs = handshake.indicates == Indication::NotSpoofed;
    let ttl_real = ttl.indicates == Indication::NotSpoofed;
    let bs = backscatter.indicates == Indication::NotSpoofed;

    if bogons.indicates == Indication::Spoofed || partial {
        reasons.push(format!(
            "{} of sampled sources are in reserved or private space that never sends on the \
             Internet (random sources would give {})",
            percent(bogons.share_sources),
            percent(bogons.expected_if_random)
        ));
    }
    if uniformity.indicates == Indication::Spoofed {
        reasons.push(format!(
            "sources are spread evenly over the whole address space like random numbers \
             (χ² = {:.0} on {} degrees of freedom, p = {:.2})",
            uniformity.chi_square, uniformity.dof, uniformity.p_value
        ));
    }
    if ttl_spoof {
        if ttl.inconsistent_share >= 0.5 && ttl.multi_packet_sources >= MIN_MULTI_PACKET_SOURCES {
            reasons.push(format!(
                "{} of the addresses seen more than once arrive with changing TTLs",
                percent(ttl.inconsistent_share)
            ));
        } else {
            reasons.push(format!(
                "{} of {} addresses arrive with one of only three TTL values, as if sent by a \
                 few machines",
                percent(ttl.top3_share),
                group_thousands(ttl.sources)
            ));
        }
    }
    if hs {
        reasons.push(format!(
            "{} of the sources that opened TCP connections completed the handshake, which \
             needs a real address",
            percent(handshake.share)
        ));
    }
    if ttl_real {
        reasons.push(format!(
            "each address keeps a stable TTL and the sources spread over {:.1} effective TTL \
             values, as many real devices at different distances do",
            ttl.effective_ttls
        ));
    }
    if bs {
        reasons.push(format!(
            "{} of packets are replies (SYN-ACK, RST, ICMP errors) from real hosts",
            percent(backscatter.share_packets)
        ));
    }

    let reflect = input.reflection_share >= 0.5;
    if reflect {
        reasons.push(format!(
            "{} of packets are reflected answers from real servers",
            percent(input.reflection_share)
        ));
    }
    // Reflectors and backscatter responders answer from their own, real addresses.
    let responders = reflect || bs;
    let verdict = if hs && (addr_spoof || ttl_spoof || partial) {
        SpoofVerdict::Mixed
    } else if addr_spoof {
        if partial || responders {
            SpoofVerdict::Mixed
        } else {
            SpoofVerdict::Spoofed
        }
    } else if partial {
        SpoofVerdict::Mixed
    } else if ttl_spoof && !ttl_real && !responders {
        SpoofVerdict::Spoofed
    } else if hs || ttl_real || responders {
        SpoofVerdict::NotSpoofed
    } else {
        SpoofVerdict::Inconclusive
    };
    let spoofed_fraction = (bogons.indicates != Indication::Insufficient && bogons.sampled_v4 > 0)
        .then_some(bogons.spoofed_fraction);

    let explanation = match verdict {
        SpoofVerdict::Spoofed => format!(
            "The source addresses appear forged: {}. Forged addresses say nothing about \
             where the attacking machines are.",
            reasons.join("; ")
        ),
        SpoofVerdict::Mixed => format!(
            "Part of the traffic appears to come from forged addresses and part from real \
             ones: {}. Only the real ones locate anything, and they cannot be told apart \
             from the forged ones address by address.",
            reasons.join("; ")
        ),
        SpoofVerdict::NotSpoofed => format!(
            "The source addresses appear real: {}. Real addresses locate devices or \
             gateways, not necessarily the people controlling them.",
            reasons.join("; ")
        ),
        SpoofVerdict::Inconclusive => "The tests cannot tell whether the source addresses are \
             forged: there are too few sources, or no test points either way. Absence of \
             reserved addresses does not prove the addresses are real."
            .to_owned(),
    };
    SpoofingAssessment {
        verdict,
        spoofed_fraction,
        bogons,
        uniformity,
        ttl,
        handshake,
        backscatter,
        reasons,
        explanation,
    }
}

fn v4_of(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

fn bogon_test(sources: &[SampledSource]) -> BogonTest {
    let mut n = 0u64;
    let mut b = 0u64;
    let mut pk = 0u64;
    let mut bpk = 0u64;
    for s in sources {
        if let Some(v4) = v4_of(s.addr) {
            n += 1;
            pk = pk.saturating_add(s.stats.packets);
            if is_bogon_v4(v4) {
                b += 1;
                bpk = bpk.saturating_add(s.stats.packets);
            }
        }
    }
    let p0 = bogon_space_share();
    let share = ratio(b, n);
    let (lo, hi) = stats::wilson(b, n);
    let f = (share / p0).min(1.0);
    let indicates = if b >= MIN_BOGON_SOURCES && f >= 0.5 {
        Indication::Spoofed
    } else if b >= MIN_BOGON_SOURCES && f >= 0.1 {
        Indication::PartlySpoofed
    } else if n < 50 {
        Indication::Insufficient
    } else {
        Indication::Neutral
    };
    let min_f = if n == 0 {
        1.0
    } else {
        (MIN_BOGON_SOURCES as f64 / (n as f64 * p0)).min(1.0)
    };
    BogonTest {
        sampled_v4: n,
        bogon_sources: b,
        share_sources: share,
        share_packets: ratio(bpk, pk),
        expected_if_random: p0,
        spoofed_fraction: f,
        spoofed_fraction_ci95: [(lo / p0).min(1.0), (hi / p0).min(1.0)],
        min_detectable_fraction: min_f,
        indicates,
        power: format!(
            "With {n} sampled IPv4 sources, uniformly random spoofing of at least {} of them \
             shows as {MIN_BOGON_SOURCES} or more reserved addresses. Cannot show spoofing \
             restricted to routable or chosen prefixes; a few leaked private addresses \
             (misconfigured NAT) are normal.",
            percent(min_f)
        ),
    }
}

/// Routable (non-bogon) addresses in each prefix of length `len` (≤ 8).
fn routable_bins(len: u8) -> Vec<u64> {
    let bins = 1usize << len;
    let size = 1u64 << (32 - len);
    (0..bins)
        .map(|i| {
            let lo = i as u64 * size;
            let hi = lo + size - 1;
            let bogon: u64 = BOGONS
                .iter()
                .map(|&(b0, b1, _)| {
                    let (b0, b1) = (u64::from(b0), u64::from(b1));
                    let s = b0.max(lo);
                    let e = b1.min(hi);
                    if s <= e {
                        e - s + 1
                    } else {
                        0
                    }
                })
                .sum();
            size - bogon
        })
        .collect()
}

fn uniformity_test(sources: &[SampledSource]) -> UniformityTest {
    let addrs: Vec<u32> = sources
        .iter()
        .filter_map(|s| v4_of(s.addr))
        .filter(|a| !is_bogon_v4(*a))
        .map(u32::from)
        .collect();
    let n = addrs.len() as u64;
    // The longest prefix (most bins) that keeps ≥ 5 expected sources in every bin.
    let mut chosen = None;
    for len in [8u8, 6, 4, 2] {
        let bins = routable_bins(len);
        let total: u64 = bins.iter().sum();
        let min = bins.iter().copied().filter(|&b| b > 0).min().unwrap_or(0);
        if n as f64 * min as f64 / total as f64 >= 5.0 {
            chosen = Some((len, bins, total));
            break;
        }
    }
    let Some((len, bins, total)) = chosen else {
        return UniformityTest {
            sources: n,
            bin_prefix_len: 8,
            bins: 0,
            dof: 0,
            chi_square: 0.0,
            p_value: 1.0,
            effect_size_w: 0.0,
            min_detectable_w: None,
            indicates: Indication::Insufficient,
            power: format!(
                "{n} routable sources are too few for a χ² test over the address space (5 \
                 expected per bin needed)."
            ),
        };
    };
    let mut observed = vec![0u64; bins.len()];
    for a in &addrs {
        observed[(u64::from(*a) >> (32 - len)) as usize] += 1;
    }
    let mut chi = 0.0;
    let mut k = 0u32;
    for (o, &r) in observed.iter().zip(&bins) {
        if r == 0 {
            continue;
        }
        k += 1;
        let e = n as f64 * r as f64 / total as f64;
        chi += (*o as f64 - e).powi(2) / e;
    }
    let dof = k - 1;
    let p = stats::chi_square_sf(chi, f64::from(dof));
    let w = (chi / n as f64).sqrt();
    let min_w = stats::min_detectable_w(n, dof, UNIFORM_P_MIN, 0.8);
    let indicates = if p >= UNIFORM_P_MIN {
        Indication::Spoofed
    } else {
        Indication::Neutral
    };
    UniformityTest {
        sources: n,
        bin_prefix_len: len,
        bins: k,
        dof,
        chi_square: chi,
        p_value: p,
        effect_size_w: w,
        min_detectable_w: Some(min_w),
        indicates,
        power: format!(
            "With {n} routable sources in {k} /{len} bins, departures from an even spread of \
             effect size w ≥ {min_w:.2} are detected with 80 % power (real botnets, \
             concentrated in a few networks, show w well above 1). An even spread is the \
             mark of random source addresses; an uneven one fits real sources and also \
             spoofing restricted to chosen prefixes."
        ),
    }
}

/// Initial TTL of an observed TTL: the smallest of 32, 64, 128, 255 at or above it.
pub fn initial_ttl(observed: u8) -> u8 {
    [32u8, 64, 128, 255]
        .into_iter()
        .find(|&t| t >= observed)
        .unwrap_or(255)
}

/// Hop count of an observed TTL: initial TTL ([`initial_ttl`]) minus observed.
pub fn hops(observed: u8) -> u8 {
    initial_ttl(observed) - observed
}

fn ttl_test(sources: &[SampledSource]) -> TtlTest {
    let mut by_ttl: BTreeMap<u8, u64> = BTreeMap::new();
    let mut initial: BTreeMap<u8, u64> = BTreeMap::new();
    let mut hop_list: Vec<u8> = Vec::new();
    let mut multi = 0u64;
    let mut inconsistent = 0u64;
    for s in sources.iter().filter(|s| s.stats.has_ttl()) {
        let t = s.stats.ttl_max;
        *by_ttl.entry(t).or_default() += 1;
        *initial.entry(initial_ttl(t)).or_default() += 1;
        hop_list.push(hops(t));
        if s.stats.packets >= 2 {
            multi += 1;
            if s.stats.ttl_max - s.stats.ttl_min >= TTL_SPAN_INCONSISTENT {
                inconsistent += 1;
            }
        }
    }
    let n = hop_list.len() as u64;
    let effective = 2f64.powf(stats::entropy_bits(by_ttl.values().map(|&c| c as f64)));
    let mut top: Vec<(u8, u64)> = by_ttl.iter().map(|(&t, &c)| (t, c)).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    hop_list.sort_unstable();
    let pct = |q: f64| -> u8 {
        if hop_list.is_empty() {
            0
        } else {
            hop_list[((hop_list.len() - 1) as f64 * q).round() as usize]
        }
    };
    let inc_share = ratio(inconsistent, multi);
    let top3 = ratio(top.iter().take(3).map(|x| x.1).sum(), n);
    let enough_multi = multi >= MIN_MULTI_PACKET_SOURCES;
    let indicates = if (enough_multi && inc_share >= 0.5)
        || (n >= MIN_TTL_SOURCES && top3 >= TTL_CLUSTER_TOP3_MIN)
    {
        Indication::Spoofed
    } else if n >= MIN_TTL_SOURCES
        && effective >= TTL_SPREAD_MIN
        && enough_multi
        && inc_share <= 0.1
    {
        Indication::NotSpoofed
    } else if n < MIN_TTL_SOURCES && !enough_multi {
        Indication::Insufficient
    } else {
        Indication::Neutral
    };
    TtlTest {
        sources: n,
        distinct_ttls: by_ttl.len() as u32,
        effective_ttls: effective,
        top_ttls: top.iter().take(5).map(|&(t, c)| (t, ratio(c, n))).collect(),
        top3_share: top3,
        initial_ttls: initial.iter().map(|(&t, &c)| (t, ratio(c, n))).collect(),
        hops_p10_p50_p90: [pct(0.1), pct(0.5), pct(0.9)],
        multi_packet_sources: multi,
        inconsistent_sources: inconsistent,
        inconsistent_share: inc_share,
        indicates,
        power: format!(
            "{n} sources with a TTL, {multi} seen more than once. A few TTL values across \
             many addresses (≥ {} of them in three values) betray a few real senders; changing TTLs \
             per address betray several senders using it. Attackers can randomise TTLs, and \
             route changes or NAT shift them; no baseline of peacetime hop counts is used, so \
             addresses never seen before cannot be checked individually (Jin et al. report \
             ~90 % detection with a baseline).",
            percent(TTL_CLUSTER_TOP3_MIN)
        ),
    }
}

fn handshake_test(sources: &[SampledSource]) -> HandshakeTest {
    let syn: Vec<&SampledSource> = sources
        .iter()
        .filter(|s| s.stats.flags & source_flag::SYN != 0)
        .collect();
    let n = syn.len() as u64;
    let hs = syn.iter().filter(|s| s.stats.handshake()).count() as u64;
    let share = ratio(hs, n);
    let indicates = if n < MIN_SYN_SOURCES {
        Indication::Insufficient
    } else if share >= 0.5 {
        Indication::NotSpoofed
    } else {
        Indication::Neutral
    };
    HandshakeTest {
        syn_sources: n,
        handshake_sources: hs,
        share,
        indicates,
        power: "Only inbound packets are seen: a handshake counts when one port pair carries \
                both the source's SYN and its ACK. A completed handshake proves the address \
                is reachable, not that its owner is the attacker; floods without TCP show \
                nothing here."
            .to_owned(),
    }
}

fn backscatter_test(sources: &[SampledSource], sample: &SourceSample) -> BackscatterTest {
    let packets = sample.backscatter_packets();
    let share = ratio(packets, sample.packets());
    let mut ports: Vec<f64> = sources
        .iter()
        .filter(|s| s.stats.backscatter_packets > 0)
        .map(|s| s.stats.distinct_ports())
        .collect();
    ports.sort_by(f64::total_cmp);
    let n = ports.len() as u64;
    let median = if ports.is_empty() {
        0.0
    } else {
        ports[ports.len() / 2]
    };
    let detected = packets >= MIN_BACKSCATTER_PACKETS && share >= 0.5;
    // Few sources answering on many ports: the answers of flood victims to forged packets
    // that carried this address. Many sources: servers answering forged SYNs (reflection).
    let kind = detected.then_some(if n <= 10 {
        "backscatter"
    } else {
        "syn_ack_reflection"
    });
    BackscatterTest {
        packets,
        share_packets: share,
        sources: n,
        median_ports: median,
        kind,
        indicates: if detected {
            Indication::NotSpoofed
        } else if sample.packets() < MIN_BACKSCATTER_PACKETS {
            Indication::Insufficient
        } else {
            Indication::Neutral
        },
        power: "Shows that this address was forged as the source of someone else's packets \
                and that the answering hosts are real; it says nothing about who forged it."
            .to_owned(),
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Concentration of non-negative weights.
pub fn concentration(weights: impl Iterator<Item = f64>) -> Concentration {
    let mut w: Vec<f64> = weights.filter(|&x| x > 0.0).collect();
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return Concentration {
            groups: 0,
            top1: 0.0,
            top5: 0.0,
            hhi: 0.0,
            entropy_bits: 0.0,
            effective_groups: 0.0,
        };
    }
    w.sort_by(|a, b| b.total_cmp(a));
    let shares: Vec<f64> = w.iter().map(|x| x / total).collect();
    let h = stats::entropy_bits(shares.iter().copied());
    Concentration {
        groups: shares.len() as u32,
        top1: shares[0],
        top5: shares.iter().take(5).sum(),
        hhi: shares.iter().map(|s| s * s).sum(),
        entropy_bits: h,
        effective_groups: 2f64.powf(h),
    }
}

/// `12,345,678`.
pub fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `"41 %"`, `"3.1 %"`, `"0.2 %"`: one decimal below 10 %.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 10.0 || p == 0.0 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// English short name of an ISO 3166-1 alpha-2 code; the code itself when unknown.
pub fn country_name(code: &str) -> &str {
    COUNTRY_NAMES
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .map(|i| COUNTRY_NAMES[i].1)
        .unwrap_or(code)
}

/// ISO 3166-1 alpha-2 codes and short English names, sorted by code.
const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("AD", "Andorra"),
    ("AE", "the United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("BQ", "the Caribbean Netherlands"),
    ("BR", "Brazil"),
    ("BS", "the Bahamas"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "the Cocos (Keeling) Islands"),
    ("CD", "the Democratic Republic of the Congo"),
    ("CF", "the Central African Republic"),
    ("CG", "the Republic of the Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "the Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cape Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "the Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("EU", "the European Union"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "the Falkland Islands"),
    ("FM", "Micronesia"),
    ("FO", "the Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "the United Kingdom"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "the Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "the Isle of Man"),
    ("IN", "India"),
    ("IO", "the British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "the Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("KW", "Kuwait"),
    ("KY", "the Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Laos"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin"),
    ("MG", "Madagascar"),
    ("MH", "the Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "the Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "the Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "the Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "the Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "the Pitcairn Islands"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russia"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "the Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "São Tomé and Príncipe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten"),
    ("SY", "Syria"),
    ("SZ", "Eswatini"),
    ("TC", "the Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "the French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Turkey"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "the U.S. Minor Outlying Islands"),
    ("US", "the United States"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Vatican City"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela"),
    ("VG", "the British Virgin Islands"),
    ("VI", "the U.S. Virgin Islands"),
    ("VN", "Vietnam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("XK", "Kosovo"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

/// Small statistics helpers (no external crates): χ² tail, normal CDF, entropy, Wilson
/// interval, χ² power.
pub mod stats {
    /// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; |error| < 1e-13).
    pub fn ln_gamma(x: f64) -> f64 {
        const C: [f64; 9] = [
            0.999_999_999_999_809_9,
            676.520_368_121_885_1,
            -1_259.139_216_722_402_8,
            771.323_428_777_653_1,
            -176.615_029_162_140_6,
            12.507_343_278_686_905,
            -0.138_571_095_265_720_12,
            9.984_369_578_019_572e-6,
            1.505_632_735_149_311_6e-7,
        ];
        if x < 0.5 {
            // Reflection.
            let pi = std::f64::consts::PI;
            return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
        }
        let x = x - 1.0;
        let mut a = C[0];
        let t = x + 7.5;
        for (i, &c) in C.iter().enumerate().skip(1) {
            a += c / (x + i as f64);
        }
        0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
    }

    /// Regularised upper incomplete gamma Q(a, x) (series below a + 1, continued fraction
    /// above; Numerical Recipes §6.2).
    pub fn gamma_q(a: f64, x: f64) -> f64 {
        if x <= 0.0 {
            return 1.0;
        }
        let gln = ln_gamma(a);
        if x < a + 1.0 {
            let mut sum = 1.0 / a;
            let mut del = sum;
            let mut ap = a;
            for _ in 0..10_000 {
                ap += 1.0;
                del *= x / ap;
                sum += del;
                if del.abs() < sum.abs() * 1e-15 {
                    break;
                }
            }
            (1.0 - sum * (-x + a * x.ln() - gln).exp()).clamp(0.0, 1.0)
        } else {
            let tiny = 1e-300;
            let mut b = x + 1.0 - a;
            let mut c = 1.0 / tiny;
            let mut d = 1.0 / b;
            let mut h = d;
            for i in 1..10_000 {
                let an = -(i as f64) * (i as f64 - a);
                b += 2.0;
                d = an * d + b;
                if d.abs() < tiny {
                    d = tiny;
                }
                c = b + an / c;
                if c.abs() < tiny {
                    c = tiny;
                }
                d = 1.0 / d;
                let del = d * c;
                h *= del;
                if (del - 1.0).abs() < 1e-15 {
                    break;
                }
            }
            ((-x + a * x.ln() - gln).exp() * h).clamp(0.0, 1.0)
        }
    }

    /// Upper tail P(X ≥ x) of a χ² distribution with `dof` degrees of freedom.
    pub fn chi_square_sf(x: f64, dof: f64) -> f64 {
        if dof <= 0.0 {
            return 1.0;
        }
        gamma_q(dof / 2.0, x / 2.0)
    }

    /// Standard normal CDF (erfc via Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
    pub fn normal_cdf(z: f64) -> f64 {
        let x = -z / std::f64::consts::SQRT_2;
        let t = 1.0 / (1.0 + 0.5 * x.abs());
        let y = t
            * (-x * x - 1.265_512_23
                + t * (1.000_023_68
                    + t * (0.374_091_96
                        + t * (0.096_784_18
                            + t * (-0.186_288_06
                                + t * (0.278_868_07
                                    + t * (-1.135_203_98
                                        + t * (1.488_515_87
                                            + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
                .exp();
        let erfc = if x >= 0.0 { y } else { 2.0 - y };
        0.5 * erfc
    }

    /// Standard normal quantile (bisection on [`normal_cdf`]; ample for power figures).
    pub fn normal_quantile(p: f64) -> f64 {
        let (mut lo, mut hi) = (-10.0f64, 10.0f64);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if normal_cdf(mid) < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// Critical value of χ² with `dof` degrees of freedom at upper-tail level `alpha`
    /// (bisection on [`chi_square_sf`]).
    pub fn chi_square_critical(alpha: f64, dof: f64) -> f64 {
        let (mut lo, mut hi) = (0.0f64, dof + 100.0 * (2.0 * dof).sqrt() + 100.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if chi_square_sf(mid, dof) > alpha {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// Smallest Cohen's w that a χ² goodness-of-fit test on `n` observations and `dof`
    /// degrees of freedom detects with probability `power` at level `alpha`. The
    /// non-central χ² (non-centrality λ = n·w²) is approximated by a normal with mean
    /// dof + λ and variance 2(dof + 2λ).
    pub fn min_detectable_w(n: u64, dof: u32, alpha: f64, power: f64) -> f64 {
        if n == 0 || dof == 0 {
            return f64::INFINITY;
        }
        let k = f64::from(dof);
        let crit = chi_square_critical(alpha, k);
        let pw = |lambda: f64| normal_cdf((k + lambda - crit) / (2.0 * (k + 2.0 * lambda)).sqrt());
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        while pw(hi) < power {
            hi *= 2.0;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if pw(mid) < power {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (hi / n as f64).sqrt()
    }

    /// Shannon entropy in bits of non-negative weights (normalised here).
    pub fn entropy_bits(weights: impl Iterator<Item = f64>) -> f64 {
        let w: Vec<f64> = weights.filter(|&x| x > 0.0).collect();
        let total: f64 = w.iter().sum();
        if total <= 0.0 {
            return 0.0;
        }
        -w.iter()
            .map(|x| {
                let p = x / total;
                p * p.log2()
            })
            .sum::<f64>()
    }

    /// Wilson score 95 % interval of a proportion `k / n`.
    pub fn wilson(k: u64, n: u64) -> (f64, f64) {
        if n == 0 {
            return (0.0, 1.0);
        }
        let z = 1.96f64;
        let n = n as f64;
        let p = k as f64 / n;
        let denom = 1.0 + z * z / n;
        let centre = (p + z * z / (2.0 * n)) / denom;
        let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
        ((centre - half).max(0.0), (centre + half).min(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::stats::*;
    use super::*;
    use floodtrace_wire::transport::{tcp_flag, PROTO_TCP, PROTO_UDP};
    use floodtrace_wire::Observation;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn bogon_table_is_sorted_and_covers_the_spec_share() {
        for w in BOGONS.windows(2) {
            assert!(w[0].1 < w[1].0);
        }
        // 0/8, 10/8, 127/8, 224/3 … ≈ 13.8 % (spec §4.2 says ≈ 14 %).
        let s = bogon_space_share();
        assert!(close(s, 0.1380, 0.0005), "{s}");
        assert!(is_bogon_v4(Ipv4Addr::new(10, 1, 2, 3)));
        assert!(is_bogon_v4(Ipv4Addr::new(255, 255, 255, 255)));
        assert!(is_bogon_v4(Ipv4Addr::new(100, 64, 0, 0)));
        assert!(!is_bogon_v4(Ipv4Addr::new(100, 128, 0, 0)));
        assert!(!is_bogon_v4(Ipv4Addr::new(8, 8, 8, 8)));
        assert!(!is_bogon_v4(Ipv4Addr::new(169, 255, 0, 1)));
        assert!(is_bogon("::ffff:192.168.1.1".parse().unwrap()));
        assert!(!is_bogon("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn chi_square_tail_matches_tables() {
        // Textbook critical values at 5 % and 1 %.
        assert!(close(chi_square_sf(3.841_459, 1.0), 0.05, 1e-6));
        assert!(close(chi_square_sf(18.307_04, 10.0), 0.05, 1e-6));
        assert!(close(chi_square_sf(23.209_25, 10.0), 0.01, 1e-6));
        assert!(close(chi_square_sf(255.6018, 220.0), 0.05, 1e-3));
        assert_eq!(chi_square_sf(0.0, 5.0), 1.0);
        assert!(chi_square_sf(1e6, 220.0) < 1e-300);
        assert!(close(chi_square_critical(0.05, 10.0), 18.307, 1e-3));
    }

    #[test]
    fn ln_gamma_and_normal() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-12));
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
        assert!(close(normal_cdf(0.0), 0.5, 1e-7));
        assert!(close(normal_cdf(1.959_964), 0.975, 1e-6));
        assert!(close(normal_quantile(0.8), 0.841_621, 1e-5));
    }

    #[test]
    fn power_of_chi_square() {
        // Cohen's table: w = 0.3, dof = 1, α = 0.05, power 0.8 needs n ≈ 87. The normal
        // approximation is coarse at 1 dof, so check the scale only.
        let w = min_detectable_w(87, 1, 0.05, 0.8);
        assert!(w > 0.25 && w < 0.36, "{w}");
        // Larger samples detect smaller effects.
        assert!(min_detectable_w(4000, 220, 0.001, 0.8) < min_detectable_w(400, 220, 0.001, 0.8));
    }

    #[test]
    fn entropy_hhi_concentration() {
        let c = concentration([1.0, 1.0, 1.0, 1.0].into_iter());
        assert!(close(c.entropy_bits, 2.0, 1e-12));
        assert!(close(c.hhi, 0.25, 1e-12));
        assert!(close(c.effective_groups, 4.0, 1e-9));
        assert!(close(c.top1, 0.25, 1e-12));
        let c = concentration([6.0, 2.0, 1.0, 1.0, 0.0].into_iter());
        assert_eq!(c.groups, 4);
        assert!(close(c.top1, 0.6, 1e-12));
        assert!(close(c.top5, 1.0, 1e-12));
        assert!(close(c.hhi, 0.36 + 0.04 + 0.01 + 0.01, 1e-12));
        let h = -(0.6f64 * 0.6f64.log2() + 0.2 * 0.2f64.log2() + 2.0 * 0.1 * 0.1f64.log2());
        assert!(close(c.entropy_bits, h, 1e-12));
    }

    #[test]
    fn wilson_interval() {
        let (lo, hi) = wilson(50, 100);
        assert!(close(lo, 0.4038, 1e-3) && close(hi, 0.5962, 1e-3));
        let (lo, hi) = wilson(0, 100);
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.037, 1e-3));
    }

    #[test]
    fn ttl_inference() {
        assert_eq!(initial_ttl(50), 64);
        assert_eq!(hops(50), 14);
        assert_eq!(initial_ttl(64), 64);
        assert_eq!(initial_ttl(65), 128);
        assert_eq!(hops(117), 11);
        assert_eq!(initial_ttl(30), 32);
        assert_eq!(hops(240), 15);
    }

    #[test]
    fn routable_bins_exclude_bogons() {
        let b = routable_bins(8);
        assert_eq!(b[0], 0);
        assert_eq!(b[10], 0);
        assert_eq!(b[100], 3 << 22);
        assert_eq!(b[8], 1 << 24);
        assert!(b[224..].iter().all(|&x| x == 0));
        assert_eq!(b.iter().filter(|&&x| x > 0).count(), 221);
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(country_name("UA"), "Ukraine");
        assert_eq!(country_name("BR"), "Brazil");
        assert_eq!(country_name("ZZ"), "ZZ");
        for w in COUNTRY_NAMES.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?}", w);
        }
        assert_eq!(group_thousands(48_200), "48,200");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
        assert_eq!(percent(0.031), "3.1 %");
        assert_eq!(percent(0.41), "41 %");
    }

    /// A deterministic xorshift for test data.
    struct Xs(u64);
    impl Xs {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Country by first octet: <100 → "BR", <200 → "VN", else "IN"; AS = first octet.
    struct OctetGeo;
    impl GeoLookup for OctetGeo {
        fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
            let IpAddr::V4(v) = ip else { return None };
            Some(match v.octets()[0] {
                0..=99 => *b"BR",
                100..=199 => *b"VN",
                _ => *b"IN",
            })
        }
        fn asn(&self, ip: IpAddr) -> Option<(u32, &str)> {
            let IpAddr::V4(v) = ip else { return None };
            Some((u32::from(v.octets()[0]), "Example AS"))
        }
    }

    fn packet(src: Ipv4Addr, ttl: u8, proto: u8, flags: u8, sport: u16, dport: u16) -> Observation {
        let mut o = Observation::new(0, IpAddr::V4(src), "198.51.100.10".parse().unwrap());
        o.proto = proto;
        o.ttl = ttl;
        o.tcp_flags = flags;
        o.sport = sport;
        o.dport = dport;
        o.bytes = 60;
        o
    }

    #[test]
    fn uniform_random_sources_are_spoofed() {
        let mut s = SourceSample::new();
        let mut r = Xs(0x1234_5678);
        for _ in 0..200_000 {
            let x = r.next();
            let src = Ipv4Addr::from(x as u32);
            // One sender, TTL 64 − 11.
            s.observe(&packet(
                src,
                53,
                PROTO_TCP,
                tcp_flag::SYN,
                (x >> 32) as u16,
                80,
            ));
        }
        let p = attribute(&s, &AttributeInput::default(), &NoGeo);
        let sp = &p.spoofing;
        assert_eq!(sp.verdict, SpoofVerdict::Spoofed, "{:#?}", sp.reasons);
        assert_eq!(sp.bogons.indicates, Indication::Spoofed);
        assert!(close(sp.bogons.share_sources, 0.1380, 0.02));
        assert!(sp.spoofed_fraction.unwrap() > 0.85);
        assert_eq!(sp.uniformity.indicates, Indication::Spoofed);
        assert_eq!(sp.uniformity.bin_prefix_len, 8);
        assert_eq!(sp.uniformity.dof, 220);
        assert!(sp.uniformity.p_value > 0.001);
        assert_eq!(sp.ttl.indicates, Indication::Spoofed);
        assert!(sp.ttl.effective_ttls < 1.01);
        assert_eq!(sp.ttl.hops_p10_p50_p90, [11, 11, 11]);
        assert_eq!(p.distinct_sources_basis, "bottom_k");
        assert!(close(p.distinct_sources as f64 / 200_000.0, 1.0, 0.05));
        assert!(sp.explanation.contains("forged"));
    }

    #[test]
    fn prefix_spoofing_is_caught_by_ttl_clustering() {
        // Random sources inside 45/8, 91/8, 177/8 with three TTLs: no bogons, not uniform.
        let mut s = SourceSample::with_k(1024);
        let mut r = Xs(99);
        for _ in 0..50_000 {
            let x = r.next();
            let first = [45u32, 91, 177][(x % 3) as usize];
            let src = Ipv4Addr::from((first << 24) | ((x >> 8) as u32 & 0x00ff_ffff));
            let ttl = [116u8, 117, 118][((x >> 40) % 3) as usize];
            s.observe(&packet(src, ttl, PROTO_TCP, tcp_flag::SYN, 1, 80));
        }
        let p = attribute(&s, &AttributeInput::default(), &OctetGeo);
        let sp = &p.spoofing;
        assert_eq!(sp.bogons.bogon_sources, 0);
        assert_eq!(sp.bogons.indicates, Indication::Neutral);
        assert_eq!(sp.uniformity.indicates, Indication::Neutral);
        assert!(sp.uniformity.p_value < 1e-100);
        assert!(sp.uniformity.effect_size_w > 3.0);
        assert_eq!(sp.ttl.indicates, Indication::Spoofed);
        assert!(sp.ttl.effective_ttls <= 3.0);
        assert_eq!(sp.verdict, SpoofVerdict::Spoofed);
    }

    /// A botnet: `bots` addresses in a few /8s, each with its own stable TTL, many packets.
    fn botnet(bots: u32, rounds: u32, k: usize) -> SourceSample {
        let mut s = SourceSample::with_k(k);
        let mut r = Xs(7);
        let addrs: Vec<(Ipv4Addr, u8)> = (0..bots)
            .map(|_| {
                let x = r.next();
                let first = [31u32, 45, 177, 187, 189, 201, 113, 14][(x % 8) as usize];
                (
                    Ipv4Addr::from((first << 24) | ((x >> 8) as u32 & 0x00ff_ffff)),
                    64 - (6 + (x >> 50) % 17) as u8,
                )
            })
            .collect();
        for round in 0..rounds {
            for &(a, ttl) in &addrs {
                s.observe(&packet(a, ttl, PROTO_UDP, 0, 1000 + round as u16, 2000));
            }
        }
        s
    }

    #[test]
    fn botnet_sources_are_real_and_located() {
        let s = botnet(3000, 5, 4096);
        let input = AttributeInput {
            packets: Some(15_000),
            distinct_sources: Some(2990),
            distinct_sources_error: 0.0081,
            reflection_share: 0.0,
        };
        let p = attribute(&s, &input, &OctetGeo);
        assert_eq!(
            p.spoofing.verdict,
            SpoofVerdict::NotSpoofed,
            "{:#?}",
            p.spoofing
        );
        assert_eq!(p.spoofing.ttl.indicates, Indication::NotSpoofed);
        assert!(p.spoofing.ttl.effective_ttls > 10.0);
        assert_eq!(p.spoofing.ttl.inconsistent_sources, 0);
        assert_eq!(p.distinct_sources, 3000, "the sample is complete: n ≥ HLL");
        assert!(p.sample.complete);
        // 31, 45 → BR; 177, 187, 189, 113, 14 → VN/BR; 201 → IN.
        assert_eq!(p.located_share, 1.0);
        let total: f64 = p.countries.iter().map(|g| g.sources_share).sum();
        assert!(close(total, 1.0, 1e-9));
        assert_eq!(p.countries[0].sources_share_ci95, 0.0);
        assert!(p.country_concentration.by_sources.groups == 3);
        assert_eq!(p.asn_concentration.by_sources.groups, 8);
        assert!(close(p.asn_concentration.by_sources.top1, 1.0 / 8.0, 0.03));
        assert_eq!(p.role, SourceRole::Senders);
        let (src_share, pkt_share) = p.country_share("br");
        assert!(close(src_share, pkt_share, 1e-9), "equal packets per bot");
    }

    #[test]
    fn handshakes_mean_real_sources() {
        let mut s = SourceSample::new();
        for i in 0..50u32 {
            let a = Ipv4Addr::from(0x0808_0000 + i * 256);
            s.observe(&packet(
                a,
                50,
                PROTO_TCP,
                tcp_flag::SYN,
                40_000 + i as u16,
                80,
            ));
            s.observe(&packet(
                a,
                50,
                PROTO_TCP,
                tcp_flag::ACK,
                40_000 + i as u16,
                80,
            ));
            s.observe(&packet(
                a,
                50,
                PROTO_TCP,
                tcp_flag::ACK | tcp_flag::PSH,
                40_000 + i as u16,
                80,
            ));
        }
        let p = attribute(&s, &AttributeInput::default(), &NoGeo);
        assert_eq!(p.spoofing.handshake.syn_sources, 50);
        assert_eq!(p.spoofing.handshake.handshake_sources, 50);
        assert_eq!(p.spoofing.handshake.indicates, Indication::NotSpoofed);
        assert_eq!(p.spoofing.verdict, SpoofVerdict::NotSpoofed);
    }

    #[test]
    fn backscatter_from_one_victim() {
        // One host answers forged SYNs with SYN-ACKs to many of our ports.
        let mut s = SourceSample::new();
        let a = Ipv4Addr::new(93, 184, 216, 34);
        for p in 0..500u16 {
            s.observe(&packet(
                a,
                52,
                PROTO_TCP,
                tcp_flag::SYN | tcp_flag::ACK,
                80,
                1024 + p * 97,
            ));
        }
        let p = attribute(&s, &AttributeInput::default(), &NoGeo);
        assert_eq!(p.spoofing.backscatter.kind, Some("backscatter"));
        assert_eq!(p.spoofing.backscatter.packets, 500);
        assert!(p.spoofing.backscatter.median_ports > 100.0);
        assert_eq!(p.role, SourceRole::Responders);
        assert_eq!(p.spoofing.verdict, SpoofVerdict::NotSpoofed);
    }

    #[test]
    fn partial_random_spoofing_is_mixed() {
        let mut s = botnet(3000, 3, 4096);
        let mut r = Xs(5);
        for _ in 0..1500 {
            let src = Ipv4Addr::from(r.next() as u32);
            s.observe(&packet(src, 55, PROTO_UDP, 0, 1, 2));
        }
        let p = attribute(&s, &AttributeInput::default(), &OctetGeo);
        let f = p.spoofing.spoofed_fraction.unwrap();
        // 1500 of 4500 sources are random: f ≈ 0.33.
        assert!(close(f, 1.0 / 3.0, 0.1), "{f}");
        assert_eq!(p.spoofing.bogons.indicates, Indication::PartlySpoofed);
        assert_eq!(p.spoofing.verdict, SpoofVerdict::Mixed);
    }

    #[test]
    fn too_few_sources_is_inconclusive() {
        let mut s = SourceSample::new();
        for i in 0..5u32 {
            s.observe(&packet(
                Ipv4Addr::from(0x0808_0808 + i),
                50,
                PROTO_UDP,
                0,
                1,
                2,
            ));
        }
        let p = attribute(&s, &AttributeInput::default(), &NoGeo);
        assert_eq!(p.spoofing.verdict, SpoofVerdict::Inconclusive);
        assert_eq!(p.spoofing.uniformity.indicates, Indication::Insufficient);
        assert_eq!(p.spoofing.bogons.indicates, Indication::Insufficient);
        assert_eq!(p.distinct_sources, 5);
        // Serialises.
        let _ = format!("{:?}", p.summary);
    }
}
