//! Claims about an attack — "it came from Ukraine", "it was Mirai", "the addresses were
//! forged", "the outage was caused by the attack" — checked against the evidence.
//!
//! [`Claim::parse`] reads the command-line form (`origin=UA`, `asn=64500`, `botnet=mirai`,
//! `spoofed=yes|no`, `cause=attack`); [`evaluate`] weighs it against a [`ClaimEvidence`]
//! (a [`SourceProfile`], a [`FingerprintSummary`], an optional [`ImpactEvidence`]) and returns
//! a [`Verdict`]: `supported`, `contradicted` or `inconclusive`, the figures used, the caveats
//! that always apply and two or three sentences a reporter can quote.
//!
//! # Thresholds
//!
//! | claim | supported | contradicted | otherwise inconclusive, and always when |
//! |---|---|---|---|
//! | `origin=CC` | ≥ 50 % of distinct sources in CC and ≥ 25 % of packets | < 25 % of sources and < 50 % of packets | sources are spoofed or mixed; sources are reflectors or responders; < 50 % of sampled sources located; < 5 located sources; the share is within [`ORIGIN_MARGIN`] (3 points) or its 95 % interval of a threshold |
//! | `asn=N` | the same figures for the AS | the same | the same |
//! | `botnet=F` | a fingerprint of family F in the attack traffic | attack traffic without any F fingerprint or F scanning, or no attack at all | F has no signatures in floodtrace; no fingerprint data; F scanning seen without F attack signatures |
//! | `spoofed=yes` / `no` | spoofing verdict `spoofed` / `not_spoofed` | the opposite | verdict `mixed` or `inconclusive` |
//! | `cause=attack` | at least half the outage-report spikes start during or shortly after a wave | no spike follows a wave, or there was no attack | no impact evidence given; no spike |
//!
//! The origin thresholds match the simulator's ideal verdicts (`docs/FORMATS.md`, truth
//! `claims[]`): by distinct sources, because a botnet is counted in devices; the packet
//! condition keeps a handful of very loud sources elsewhere from being ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::attribute::{
    country_name, group_thousands, percent, SourceProfile, SourceRole, SpoofVerdict,
};

/// A claim to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Claim {
    /// The attack came from this country (ISO 3166-1 alpha-2, upper case).
    Origin {
        /// Country code.
        country: String,
    },
    /// The attack came from this autonomous system.
    Asn {
        /// AS number.
        asn: u32,
    },
    /// The attack was sent by a botnet of this family (lower case, e.g. `mirai`).
    Botnet {
        /// Family name.
        family: String,
    },
    /// The source addresses were (`true`) or were not (`false`) forged.
    Spoofed {
        /// Claimed state.
        spoofed: bool,
    },
    /// The outage was caused by the attack.
    CauseAttack,
}

/// Why a claim could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimError {
    /// The claim as given.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid claim {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for ClaimError {}

impl Claim {
    /// Parse `key=value`: `origin=CC`, `asn=N` (or `asn=ASN`), `botnet=FAMILY`,
    /// `spoofed=yes|no|true|false`, `cause=attack`. Keys and values are case-insensitive.
    ///
    /// # Errors
    /// Unknown key, missing `=`, or a value that does not fit the key.
    pub fn parse(s: &str) -> Result<Claim, ClaimError> {
        let err = |reason: &str| ClaimError {
            input: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| err("expected key=value, e.g. origin=UA"))?;
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        match key.as_str() {
            "origin" | "country" => {
                let v = value.to_ascii_uppercase();
                if v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) {
                    Ok(Claim::Origin { country: v })
                } else {
                    Err(err("origin takes a two-letter country code, e.g. origin=UA"))
                }
            }
            "asn" | "as" => {
                let digits = value
                    .strip_prefix("AS")
                    .or_else(|| value.strip_prefix("as"))
                    .unwrap_or(value);
                digits
                    .parse()
                    .map(|asn| Claim::Asn { asn })
                    .map_err(|_| err("asn takes a number, e.g. asn=64500 or asn=AS64500"))
            }
            "botnet" => {
                if value.is_empty() {
                    Err(err("botnet takes a family name, e.g. botnet=mirai"))
                } else {
                    Ok(Claim::Botnet {
                        family: value.to_ascii_lowercase(),
                    })
                }
            }
            "spoofed" => match value.to_ascii_lowercase().as_str() {
                "yes" | "true" | "1" => Ok(Claim::Spoofed { spoofed: true }),
                "no" | "false" | "0" => Ok(Claim::Spoofed { spoofed: false }),
                _ => Err(err("spoofed takes yes or no")),
            },
            "cause" => {
                if value.eq_ignore_ascii_case("attack") {
                    Ok(Claim::CauseAttack)
                } else {
                    Err(err("only cause=attack can be checked"))
                }
            }
            _ => Err(err(
                "unknown claim; use origin=CC, asn=N, botnet=FAMILY, spoofed=yes|no or cause=attack",
            )),
        }
    }
}

impl FromStr for Claim {
    type Err = ClaimError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Claim::parse(s)
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::Origin { country } => write!(f, "origin={country}"),
            Claim::Asn { asn } => write!(f, "asn={asn}"),
            Claim::Botnet { family } => write!(f, "botnet={family}"),
            Claim::Spoofed { spoofed } => {
                write!(f, "spoofed={}", if *spoofed { "yes" } else { "no" })
            }
            Claim::CauseAttack => write!(f, "cause=attack"),
        }
    }
}

/// The outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The evidence supports the claim.
    Supported,
    /// The evidence contradicts the claim.
    Contradicted,
    /// The evidence does not settle it.
    Inconclusive,
}

impl Outcome {
    /// Stable snake_case name (as in truth.json).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Supported => "supported",
            Outcome::Contradicted => "contradicted",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// A checked claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The claim as text (`origin=UA`).
    pub claim: String,
    /// The outcome.
    pub verdict: Outcome,
    /// Named figures the verdict rests on (shares in 0–1, counts as numbers).
    pub figures: BTreeMap<String, f64>,
    /// What the evidence cannot show; the general attribution caveats come first and are
    /// always present.
    pub caveats: Vec<String>,
    /// Two or three plain sentences.
    pub explanation: String,
}

/// One botnet fingerprint found in the attack traffic (from `fingerprint::Fingerprint`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FingerprintHit {
    /// Family, e.g. `mirai`.
    pub family: String,
    /// Vector, e.g. `syn`.
    pub vector: String,
    /// Matched packets / wave packets.
    pub match_share: f64,
    /// Matched packets.
    pub packets: u64,
}

/// Fingerprint evidence of the incident(s) a claim is about.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FingerprintSummary {
    /// Fingerprints reported for the waves (`MiraiEvidence::verdict` results).
    pub hits: Vec<FingerprintHit>,
    /// Attack packets examined (all waves).
    pub attack_packets: u64,
    /// Scanning probes with the Mirai `seq == destination` signature.
    pub mirai_scan_packets: u64,
    /// Sources seen scanning.
    pub scan_sources: u64,
}

/// Families floodtrace has packet signatures for.
pub const KNOWN_FAMILIES: &[&str] = &["mirai"];

/// Impact evidence for `cause=attack` (from outage reports / service logs).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ImpactEvidence {
    /// Attack waves in the period.
    pub attack_waves: u32,
    /// Impact episodes found (outage-report spikes, error bursts in the access log).
    pub spikes: u32,
    /// Of those, episodes starting during a wave or within the reporting lag after one.
    pub spikes_after_waves: u32,
    /// Median lag from wave start to spike peak (seconds), when known.
    pub median_lag_seconds: Option<f64>,
    /// Another known cause of impact (maintenance, failure), when the operator gives one.
    pub other_cause: Option<String>,
}

/// Everything a claim may be checked against.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClaimEvidence<'a> {
    /// Source profile of the attack (for several incidents: of their merged samples).
    pub profile: Option<&'a SourceProfile>,
    /// Fingerprints of the attack.
    pub fingerprints: Option<&'a FingerprintSummary>,
    /// Impact; `None` makes `cause=attack` inconclusive.
    pub impact: Option<&'a ImpactEvidence>,
}

/// Origin / ASN: supported at or above this share of distinct sources …
pub const ORIGIN_SUPPORT_SOURCES: f64 = 0.5;
/// … and at least this share of packets.
pub const ORIGIN_SUPPORT_PACKETS: f64 = 0.25;
/// Origin / ASN: contradicted below this share of distinct sources …
pub const ORIGIN_CONTRADICT_SOURCES: f64 = 0.25;
/// … and below this share of packets.
pub const ORIGIN_CONTRADICT_PACKETS: f64 = 0.5;
/// Origin / ASN: a share must clear its threshold by at least this much (absolute), or by
/// its 95 % sampling interval when wider: geolocation error, NAT and background traffic move
/// shares by a few points whatever the sample size.
pub const ORIGIN_MARGIN: f64 = 0.03;
/// Origin / ASN: fewest located sampled sources.
pub const ORIGIN_MIN_LOCATED: u64 = 5;
/// Origin / ASN: smallest share of sampled sources with a location.
pub const ORIGIN_MIN_LOCATED_SHARE: f64 = 0.5;

/// The caveats that apply to every claim (spec §4.3).
pub fn general_caveats() -> Vec<String> {
    vec![
        "Botnet source addresses show where infected devices (or the NAT gateways in front \
         of them) are, not who controls them: operators command botnets from elsewhere."
            .to_owned(),
        "Forged (spoofed) source addresses locate nothing, not even the devices that sent \
         the packets."
            .to_owned(),
        "NAT, VPNs and proxies put many devices behind one address and shift the apparent \
         origin of traffic."
            .to_owned(),
        "Geolocation databases place address blocks by registration; a few percent of \
         blocks are placed wrongly or are out of date."
            .to_owned(),
    ]
}

/// Check `claim` against `ev`.
pub fn evaluate(claim: &Claim, ev: &ClaimEvidence<'_>) -> Verdict {
    let mut v = Verdict {
        claim: claim.to_string(),
        verdict: Outcome::Inconclusive,
        figures: BTreeMap::new(),
        caveats: general_caveats(),
        explanation: String::new(),
    };
    match claim {
        Claim::Origin { country } => origin(&mut v, ev, Group::Country(country)),
        Claim::Asn { asn } => origin(&mut v, ev, Group::Asn(*asn)),
        Claim::Botnet { family } => botnet(&mut v, ev, family),
        Claim::Spoofed { spoofed } => spoofed_claim(&mut v, ev, *spoofed),
        Claim::CauseAttack => cause(&mut v, ev),
    }
    v
}

enum Group<'a> {
    Country(&'a str),
    Asn(u32),
}

fn origin(v: &mut Verdict, ev: &ClaimEvidence<'_>, g: Group<'_>) {
    let Some(p) = ev.profile else {
        v.explanation =
            "No source data was available, so the claimed origin cannot be checked.".to_owned();
        return;
    };
    let in_what = match g {
        Group::Country(cc) => format!("in {}", country_name(cc)),
        Group::Asn(asn) => match p.asns.iter().find(|a| a.asn == Some(asn)) {
            Some(a) if !a.name.is_empty() => format!("in AS{asn} ({})", a.name),
            _ => format!("in AS{asn}"),
        },
    };
    let (share_src, share_pk, ci) = match g {
        Group::Country(cc) => {
            let ci = p
                .countries
                .iter()
                .find(|c| c.key == cc)
                .map_or(0.0, |c| c.sources_share_ci95);
            let (s, k) = p.country_share(cc);
            (s, k, ci)
        }
        Group::Asn(asn) => {
            let ci = p
                .asns
                .iter()
                .find(|c| c.asn == Some(asn))
                .map_or(0.0, |c| c.sources_share_ci95);
            let (s, k) = p.asn_share(asn);
            (s, k, ci)
        }
    };
    let located = (p.located_share * p.sample.sources as f64).round() as u64;
    v.figures.insert("sources_share".into(), share_src);
    v.figures.insert("packets_share".into(), share_pk);
    v.figures.insert("sources_share_ci95".into(), ci);
    v.figures
        .insert("distinct_sources".into(), p.distinct_sources as f64);
    v.figures
        .insert("sampled_sources".into(), p.sample.sources as f64);
    v.figures.insert("located_share".into(), p.located_share);
    if let Some(f) = p.spoofing.spoofed_fraction {
        v.figures.insert("spoofed_fraction".into(), f);
    }
    if !p.sample.complete {
        v.caveats.push(format!(
            "Shares come from a uniform sample: {}.",
            p.sample.note
        ));
    }

    let n = group_thousands(p.distinct_sources);
    let who = top_groups(p, &g);
    let quoted_share = format!(
        "{} of the {n} attacking addresses are registered {in_what}",
        capitalise(&percent(share_src))
    );
    // Cases in which addresses locate nothing.
    match p.role {
        SourceRole::Reflectors => {
            v.explanation = format!(
                "The traffic was reflected: its sources are servers answering requests \
                 forged with the victim's address. {quoted_share}, but reflectors are \
                 innocent and say nothing about where the attacker is."
            );
            v.caveats.push(
                "In reflection attacks the packet sources are innocent reflectors; the \
                 forged requests came from elsewhere."
                    .to_owned(),
            );
            return;
        }
        SourceRole::Responders => {
            v.explanation = "The sources are answering packets that carried the victim's \
                 address as a forged source, so they are not the attackers and locate nothing \
                 about the attack's origin."
                .to_owned();
            return;
        }
        SourceRole::Senders => {}
    }
    match p.spoofing.verdict {
        SpoofVerdict::Spoofed => {
            v.explanation = format!(
                "The attacking addresses appear forged, so they say nothing about where the \
                 attack came from. {} Forged addresses can be chosen to point anywhere.",
                first_sentence(&p.spoofing.explanation)
            );
            return;
        }
        SpoofVerdict::Mixed => {
            v.explanation = format!(
                "Part of the attacking addresses appear forged, and forged and real ones \
                 cannot be told apart address by address, so the share registered {in_what} \
                 ({}) cannot be trusted. Forged addresses say nothing about origin.",
                percent(share_src)
            );
            return;
        }
        SpoofVerdict::NotSpoofed | SpoofVerdict::Inconclusive => {}
    }
    if located < ORIGIN_MIN_LOCATED || p.located_share < ORIGIN_MIN_LOCATED_SHARE {
        v.explanation = format!(
            "Only {} of the sampled attacking addresses could be located, too few to judge \
             where the traffic came from.",
            percent(p.located_share)
        );
        return;
    }
    if p.spoofing.verdict == SpoofVerdict::Inconclusive {
        v.caveats.push(
            "The spoofing tests were inconclusive: if the addresses are forged, these shares \
             mean nothing."
                .to_owned(),
        );
    }
    // A decision needs the share to clear its threshold by the sampling interval and by
    // ORIGIN_MARGIN (geolocation error and background traffic are not sampling error).
    let margin = ci.max(ORIGIN_MARGIN);
    let supported = share_src >= ORIGIN_SUPPORT_SOURCES && share_pk >= ORIGIN_SUPPORT_PACKETS;
    let contradicted =
        share_src < ORIGIN_CONTRADICT_SOURCES && share_pk < ORIGIN_CONTRADICT_PACKETS;
    let close_call = (supported && share_src - margin < ORIGIN_SUPPORT_SOURCES)
        || (contradicted && share_src + margin >= ORIGIN_CONTRADICT_SOURCES);
    let botnet_note = "Botnet addresses show where infected devices are, not who controls them.";
    if close_call {
        v.explanation = format!(
            "{quoted_share} (± {}), too close to the {} threshold to decide. {botnet_note}",
            percent(margin),
            if supported {
                percent(ORIGIN_SUPPORT_SOURCES)
            } else {
                percent(ORIGIN_CONTRADICT_SOURCES)
            }
        );
    } else if supported {
        v.verdict = Outcome::Supported;
        v.explanation = format!(
            "{quoted_share}, carrying {} of the packets. {botnet_note}",
            percent(share_pk)
        );
    } else if contradicted {
        v.verdict = Outcome::Contradicted;
        let others = if who.is_empty() {
            String::new()
        } else {
            format!("; {who}")
        };
        let lead = if share_src < 0.1 {
            format!(
                "Only {} of the {n} attacking addresses are registered {in_what}",
                percent(share_src)
            )
        } else {
            quoted_share
        };
        v.explanation = format!("{lead}{others}. {botnet_note}");
    } else {
        v.explanation = format!(
            "{quoted_share}, carrying {} of the packets: a large minority, but not most of \
             them. {botnet_note}",
            percent(share_pk)
        );
    }
}

/// "41 % are in Brazil, Vietnam and India" — the largest groups other than the claimed one.
fn top_groups(p: &SourceProfile, g: &Group<'_>) -> String {
    let list: Vec<(String, f64)> = match g {
        Group::Country(cc) => p
            .countries
            .iter()
            .filter(|c| c.key != *cc)
            .take(3)
            .map(|c| (c.name.clone(), c.sources_share))
            .collect(),
        Group::Asn(asn) => p
            .asns
            .iter()
            .filter(|a| a.asn != Some(*asn))
            .take(3)
            .map(|a| {
                let name = if a.name.is_empty() {
                    a.key.clone()
                } else {
                    format!("{} ({})", a.key, a.name)
                };
                (name, a.sources_share)
            })
            .collect(),
    };
    if list.is_empty() {
        return String::new();
    }
    let total: f64 = list.iter().map(|x| x.1).sum();
    let names: Vec<String> = list.into_iter().map(|x| x.0).collect();
    let joined = match names.len() {
        1 => names[0].clone(),
        _ => format!(
            "{} and {}",
            names[..names.len() - 1].join(", "),
            names[names.len() - 1]
        ),
    };
    format!("{} are in {joined}", percent(total))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn first_sentence(s: &str) -> String {
    match s.find(". ") {
        Some(i) => s[..=i].to_owned(),
        None => s.to_owned(),
    }
}

fn botnet(v: &mut Verdict, ev: &ClaimEvidence<'_>, family: &str) {
    v.caveats.push(
        "Packet fingerprints identify a code family, not an actor: Mirai's source code has \
         been public since 2016 and has hundreds of forks."
            .to_owned(),
    );
    if !KNOWN_FAMILIES.contains(&family) {
        v.explanation = format!(
            "floodtrace has no packet signatures for the {family} family, so the claim cannot \
             be checked from the traffic."
        );
        return;
    }
    let Some(fp) = ev.fingerprints else {
        v.explanation = "No fingerprint analysis was available for this traffic.".to_owned();
        return;
    };
    let hits: Vec<&FingerprintHit> = fp
        .hits
        .iter()
        .filter(|h| h.family.eq_ignore_ascii_case(family))
        .collect();
    let matched: u64 = hits.iter().map(|h| h.packets).sum();
    let best = hits.iter().map(|h| h.match_share).fold(0.0, f64::max);
    v.figures.insert("matched_packets".into(), matched as f64);
    v.figures.insert("best_match_share".into(), best);
    v.figures
        .insert("attack_packets".into(), fp.attack_packets as f64);
    v.figures
        .insert("scan_packets".into(), fp.mirai_scan_packets as f64);
    v.figures
        .insert("scan_sources".into(), fp.scan_sources as f64);
    let name = capitalise(family);
    if !hits.is_empty() {
        let mut vectors: Vec<&str> = hits.iter().map(|h| h.vector.as_str()).collect();
        vectors.sort_unstable();
        vectors.dedup();
        v.verdict = Outcome::Supported;
        v.explanation = format!(
            "{} attack packets ({} of their wave at best) match the stock {name} code's \
             {} flood{}. That identifies the software family, not who ran it.",
            group_thousands(matched),
            percent(best),
            vectors.join(", "),
            if vectors.len() > 1 { "s" } else { "" }
        );
    } else if fp.attack_packets == 0 {
        v.verdict = Outcome::Contradicted;
        v.explanation = "There is no attack traffic to attribute to any botnet.".to_owned();
    } else if family == "mirai" && fp.mirai_scan_packets > 0 {
        v.explanation = format!(
            "The attack packets do not carry {name}'s stock signatures, but {} {name}-style \
             scanning probes were seen. A modified {name} fork could do both.",
            group_thousands(fp.mirai_scan_packets)
        );
    } else {
        v.verdict = Outcome::Contradicted;
        v.explanation = format!(
            "None of the {} attack packets carries the header signatures of {name}'s attack \
             code. A heavily modified fork could still escape them.",
            group_thousands(fp.attack_packets)
        );
        v.caveats.push(
            "Payload-level signatures (TCP timestamps, payload bytes, user agents) are not \
             checked; forks that change header defaults are not recognised."
                .to_owned(),
        );
    }
}

fn spoofed_claim(v: &mut Verdict, ev: &ClaimEvidence<'_>, claimed: bool) {
    let Some(p) = ev.profile else {
        v.explanation = "No source data was available to test for forged addresses.".to_owned();
        return;
    };
    let s = &p.spoofing;
    v.figures
        .insert("bogon_share".into(), s.bogons.share_sources);
    v.figures.insert(
        "bogon_expected_if_random".into(),
        s.bogons.expected_if_random,
    );
    if let Some(f) = s.spoofed_fraction {
        v.figures.insert("spoofed_fraction".into(), f);
    }
    v.figures
        .insert("uniformity_p_value".into(), s.uniformity.p_value);
    v.figures
        .insert("uniformity_chi_square".into(), s.uniformity.chi_square);
    v.figures
        .insert("uniformity_dof".into(), f64::from(s.uniformity.dof));
    v.figures
        .insert("effective_ttls".into(), s.ttl.effective_ttls);
    v.figures
        .insert("ttl_inconsistent_share".into(), s.ttl.inconsistent_share);
    v.figures
        .insert("handshake_share".into(), s.handshake.share);
    v.figures
        .insert("backscatter_share".into(), s.backscatter.share_packets);
    v.figures
        .insert("distinct_sources".into(), p.distinct_sources as f64);
    v.caveats.push(
        "No bogons does not prove real addresses: tools can forge only routable or chosen \
         addresses. TTL tests can be fooled by attackers who randomise TTLs."
            .to_owned(),
    );
    v.verdict = match (s.verdict, claimed) {
        (SpoofVerdict::Spoofed, true) | (SpoofVerdict::NotSpoofed, false) => Outcome::Supported,
        (SpoofVerdict::Spoofed, false) | (SpoofVerdict::NotSpoofed, true) => Outcome::Contradicted,
        _ => Outcome::Inconclusive,
    };
    v.explanation = s.explanation.clone();
}

fn cause(v: &mut Verdict, ev: &ClaimEvidence<'_>) {
    v.caveats.push(
        "Outage reports show when users noticed problems, not why; timing alone cannot rule \
         out a coincident failure."
            .to_owned(),
    );
    let Some(im) = ev.impact else {
        v.explanation = "No outage reports or service logs were given, so the cause of the \
             outage cannot be checked."
            .to_owned();
        return;
    };
    v.figures
        .insert("attack_waves".into(), f64::from(im.attack_waves));
    v.figures.insert("spikes".into(), f64::from(im.spikes));
    v.figures.insert(
        "spikes_after_waves".into(),
        f64::from(im.spikes_after_waves),
    );
    if let Some(l) = im.median_lag_seconds {
        v.figures.insert("median_lag_seconds".into(), l);
    }
    if let Some(c) = &im.other_cause {
        v.caveats.push(format!("Another cause was reported: {c}."));
    }
    if im.spikes == 0 {
        v.explanation =
            "The outage reports show no spike, so there is no outage to explain.".to_owned();
    } else if im.attack_waves == 0 {
        v.verdict = Outcome::Contradicted;
        v.explanation = format!(
            "Users reported {} outage spike{}, but no attack was found in the traffic.",
            im.spikes,
            if im.spikes > 1 { "s" } else { "" }
        );
    } else if im.spikes_after_waves * 2 >= im.spikes {
        v.verdict = Outcome::Supported;
        let lag = im
            .median_lag_seconds
            .map(|l| format!(", typically {l:.0} s after a wave began"))
            .unwrap_or_default();
        v.explanation = format!(
            "{} of {} spikes in outage reports started during or just after an attack \
             wave{lag}. The timing fits the attack as the cause.",
            im.spikes_after_waves, im.spikes
        );
    } else if im.spikes_after_waves == 0 {
        v.verdict = Outcome::Contradicted;
        v.explanation = format!(
            "None of the {} spikes in outage reports followed an attack wave; the outage \
             had another cause.",
            im.spikes
        );
    } else {
        v.explanation = format!(
            "Only {} of {} spikes in outage reports followed an attack wave: the attack \
             explains part of the outage at most.",
            im.spikes_after_waves, im.spikes
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{attribute, AttributeInput, GeoLookup};
    use crate::sketch::SourceSample;
    use floodtrace_wire::transport::{tcp_flag, PROTO_TCP, PROTO_UDP};
    use floodtrace_wire::Observation;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn parse_and_print() {
        assert_eq!(
            Claim::parse("origin=ua").unwrap(),
            Claim::Origin {
                country: "UA".into()
            }
        );
        assert_eq!(
            Claim::parse("asn=AS64500").unwrap(),
            Claim::Asn { asn: 64500 }
        );
        assert_eq!(Claim::parse("asn=13335").unwrap().to_string(), "asn=13335");
        assert_eq!(
            Claim::parse("botnet=Mirai").unwrap(),
            Claim::Botnet {
                family: "mirai".into()
            }
        );
        assert_eq!(
            Claim::parse("spoofed=yes").unwrap(),
            Claim::Spoofed { spoofed: true }
        );
        assert_eq!(
            Claim::parse("spoofed=false").unwrap().to_string(),
            "spoofed=no"
        );
        assert_eq!("cause=attack".parse::<Claim>().unwrap(), Claim::CauseAttack);
        assert!(Claim::parse("origin=Ukraine").is_err());
        assert!(Claim::parse("cause=weather").is_err());
        assert!(Claim::parse("who=me").is_err());
        assert!(Claim::parse("originUA")
            .unwrap_err()
            .to_string()
            .contains("key=value"));
    }

    /// Country by first octet: 1 → UA, 2 → BR, 3 → VN, 4 → IN; AS = 64500 + octet.
    struct Geo;
    impl GeoLookup for Geo {
        fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
            let IpAddr::V4(v) = ip else { return None };
            match v.octets()[0] {
                1 => Some(*b"UA"),
                2 => Some(*b"BR"),
                3 => Some(*b"VN"),
                4 => Some(*b"IN"),
                _ => None,
            }
        }
        fn asn(&self, ip: IpAddr) -> Option<(u32, &str)> {
            let IpAddr::V4(v) = ip else { return None };
            Some((64500 + u32::from(v.octets()[0]), "Example Telecom"))
        }
    }

    /// `counts[i]` bots in first octet `i + 1`, each with a stable TTL, `rounds` packets.
    fn profile(counts: [u32; 4]) -> SourceProfile {
        let mut s = SourceSample::new();
        let mut ttl = 40u8;
        for (i, &c) in counts.iter().enumerate() {
            for b in 0..c {
                ttl = if ttl >= 60 { 40 } else { ttl + 1 };
                let a = Ipv4Addr::from(((i as u32 + 1) << 24) | (b * 257 + 1));
                for r in 0..3u16 {
                    let mut o = Observation::new(0, IpAddr::V4(a), "198.51.100.1".parse().unwrap());
                    o.proto = PROTO_UDP;
                    o.ttl = ttl;
                    o.sport = 1000 + r;
                    s.observe(&o);
                }
            }
        }
        attribute(&s, &AttributeInput::default(), &Geo)
    }

    fn check(claim: &str, p: &SourceProfile) -> Verdict {
        evaluate(
            &Claim::parse(claim).unwrap(),
            &ClaimEvidence {
                profile: Some(p),
                ..Default::default()
            },
        )
    }

    #[test]
    fn origin_thresholds() {
        // 31 UA of 1000 bots: contradicted, quoted like a reporter would.
        let p = profile([31, 410, 300, 259]);
        assert_eq!(p.spoofing.verdict, SpoofVerdict::NotSpoofed);
        let v = check("origin=UA", &p);
        assert_eq!(v.verdict, Outcome::Contradicted);
        assert!(
            v.explanation.starts_with(
                "Only 3.1 % of the 1,000 attacking addresses are registered in Ukraine; 97 % \
                 are in Brazil, Vietnam and India."
            ),
            "{}",
            v.explanation
        );
        assert!((v.figures["sources_share"] - 0.031).abs() < 1e-12);
        assert_eq!(v.caveats.len(), 4);
        // Brazil with 60 %: supported.
        let p = profile([100, 600, 200, 100]);
        let v = check("origin=BR", &p);
        assert_eq!(v.verdict, Outcome::Supported, "{}", v.explanation);
        // 30 %: inconclusive.
        let v = check("origin=VN", &profile([100, 400, 300, 200]));
        assert_eq!(v.verdict, Outcome::Inconclusive);
        // ASN: AS64502 holds 60 %.
        let v = check("asn=64502", &p);
        assert_eq!(v.verdict, Outcome::Supported);
        assert!(
            v.explanation.contains("AS64502 (Example Telecom)"),
            "{}",
            v.explanation
        );
        let v = check("asn=1", &p);
        assert_eq!(v.verdict, Outcome::Contradicted);
    }

    #[test]
    fn spoofed_sources_locate_nothing() {
        let mut s = SourceSample::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut o = Observation::new(
                0,
                IpAddr::V4(Ipv4Addr::from(x as u32)),
                "198.51.100.1".parse().unwrap(),
            );
            o.proto = PROTO_TCP;
            o.tcp_flags = tcp_flag::SYN;
            o.ttl = 52;
            s.observe(&o);
        }
        let p = attribute(&s, &AttributeInput::default(), &Geo);
        let v = check("origin=UA", &p);
        assert_eq!(v.verdict, Outcome::Inconclusive);
        assert!(v.explanation.contains("forged"));
        assert_eq!(check("spoofed=yes", &p).verdict, Outcome::Supported);
        assert_eq!(check("spoofed=no", &p).verdict, Outcome::Contradicted);
        let real = profile([100, 600, 200, 100]);
        assert_eq!(check("spoofed=no", &real).verdict, Outcome::Supported);
        assert_eq!(check("spoofed=yes", &real).verdict, Outcome::Contradicted);
    }

    #[test]
    fn reflectors_locate_nothing() {
        let mut s = SourceSample::new();
        for b in 0..200u32 {
            let mut o = Observation::new(
                0,
                IpAddr::V4(Ipv4Addr::from((1 << 24) | b)),
                "198.51.100.1".parse().unwrap(),
            );
            o.proto = PROTO_UDP;
            o.sport = 123;
            o.ttl = 50;
            s.observe(&o);
        }
        let input = AttributeInput {
            reflection_share: 0.95,
            ..Default::default()
        };
        let p = attribute(&s, &input, &Geo);
        let v = check("origin=UA", &p);
        assert_eq!(v.verdict, Outcome::Inconclusive);
        assert!(v.explanation.contains("reflected"), "{}", v.explanation);
    }

    #[test]
    fn botnet_claims() {
        let fp = FingerprintSummary {
            hits: vec![FingerprintHit {
                family: "mirai".into(),
                vector: "syn".into(),
                match_share: 0.97,
                packets: 48_000,
            }],
            attack_packets: 50_000,
            ..Default::default()
        };
        let ev = ClaimEvidence {
            fingerprints: Some(&fp),
            ..Default::default()
        };
        let v = evaluate(&Claim::parse("botnet=mirai").unwrap(), &ev);
        assert_eq!(v.verdict, Outcome::Supported);
        assert!(v.explanation.contains("48,000"), "{}", v.explanation);
        assert_eq!(
            evaluate(&Claim::parse("botnet=gafgyt").unwrap(), &ev).verdict,
            Outcome::Inconclusive
        );
        let none = FingerprintSummary {
            attack_packets: 50_000,
            ..Default::default()
        };
        let ev = ClaimEvidence {
            fingerprints: Some(&none),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&Claim::parse("botnet=mirai").unwrap(), &ev).verdict,
            Outcome::Contradicted
        );
        let scans = FingerprintSummary {
            attack_packets: 50_000,
            mirai_scan_packets: 900,
            scan_sources: 40,
            ..Default::default()
        };
        let ev = ClaimEvidence {
            fingerprints: Some(&scans),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&Claim::parse("botnet=mirai").unwrap(), &ev).verdict,
            Outcome::Inconclusive
        );
        assert_eq!(
            evaluate(
                &Claim::parse("botnet=mirai").unwrap(),
                &ClaimEvidence::default()
            )
            .verdict,
            Outcome::Inconclusive
        );
    }

    #[test]
    fn cause_claims() {
        let c = Claim::CauseAttack;
        assert_eq!(
            evaluate(&c, &ClaimEvidence::default()).verdict,
            Outcome::Inconclusive
        );
        let mk = |waves, spikes, after| ImpactEvidence {
            attack_waves: waves,
            spikes,
            spikes_after_waves: after,
            median_lag_seconds: Some(90.0),
            other_cause: None,
        };
        let run = |im: &ImpactEvidence| {
            evaluate(
                &c,
                &ClaimEvidence {
                    impact: Some(im),
                    ..Default::default()
                },
            )
        };
        assert_eq!(run(&mk(3, 3, 3)).verdict, Outcome::Supported);
        assert!(run(&mk(3, 3, 3)).explanation.contains("90 s"));
        assert_eq!(run(&mk(3, 2, 0)).verdict, Outcome::Contradicted);
        assert_eq!(run(&mk(0, 2, 0)).verdict, Outcome::Contradicted);
        assert_eq!(run(&mk(3, 0, 0)).verdict, Outcome::Inconclusive);
        assert_eq!(run(&mk(3, 5, 1)).verdict, Outcome::Inconclusive);
    }
}
