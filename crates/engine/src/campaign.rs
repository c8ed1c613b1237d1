//! Campaigns: waves and incidents — of one capture or of several files — that come from the
//! same attacker infrastructure, linked by the overlap of their source sets.
//!
//! Every member carries the [`SourceSample`] of its sources. All samples use one fixed hash,
//! so any two are bottom-k (MinHash) signatures of their source sets and
//! [`SourceSample::similarity`] estimates the Jaccard index and containment between them —
//! across files and runs too, since the hash never changes.
//!
//! # Linking rules ([`CampaignConfig`])
//!
//! * **Real sources** (spoofing verdict not `spoofed`): two members link when they share at
//!   least [`CampaignConfig::min_shared`] sampled sources **and** either their Jaccard index
//!   is ≥ [`CampaignConfig::min_jaccard`] (0.2) or one set lies ≥
//!   [`CampaignConfig::min_containment`] (0.5) inside the other (a wave using part of a
//!   botnet). A botnet's bots recur from wave to wave; two botnets share next to no
//!   addresses (random overlap of two 10,000-bot botnets is ~0.0001).
//! * **Spoofed sources** carry no identity, so source overlap is ignored. Two spoofed members
//!   link only when their TTL distributions are nearly the same (similarity ≥
//!   [`CampaignConfig::min_ttl_similarity`], the same few real senders behind the forged
//!   addresses) **and** their vector mixes are alike (≥
//!   [`CampaignConfig::min_vector_similarity`]). This is weak evidence and says so.
//! * Vector mix and fingerprints are reported for every pair as supporting evidence; they
//!   never link real-source members on their own (many botnets run the same Mirai code),
//!   and never veto a link (one botnet switches vectors between waves).
//!
//! Links are transitive (union–find). Campaign ids start at 1 in order of each campaign's
//! first start time (ties: first member label), so they are deterministic.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::attribute::{percent, SpoofVerdict};
use crate::sketch::{SampleKeys, SourceSample};

/// One wave or incident to link.
#[derive(Debug, Clone)]
pub struct CampaignMember<'a> {
    /// How reports name it, e.g. `"capture.pcap incident 3 wave 2"`.
    pub label: String,
    /// The attacked address or prefix.
    pub victim: String,
    /// First packet (ns).
    pub start_ns: u64,
    /// Last packet (ns).
    pub end_ns: u64,
    /// Its sources.
    pub sources: &'a SourceSample,
    /// Its spoofing verdict (from `attribute::SourceProfile::spoofing`).
    pub spoofing: SpoofVerdict,
    /// Vector names and shares (`classify::VectorShare`).
    pub vectors: Vec<(String, f64)>,
    /// Fingerprints as `family/vector`, e.g. `"mirai/syn"`.
    pub fingerprints: Vec<String>,
}

/// Linking thresholds (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CampaignConfig {
    /// Smallest Jaccard index of two source sets.
    pub min_jaccard: f64,
    /// Smallest share of one set inside the other.
    pub min_containment: f64,
    /// Fewest shared sampled sources.
    pub min_shared: usize,
    /// Spoofed members: smallest TTL-distribution similarity (1 − total variation).
    pub min_ttl_similarity: f64,
    /// Spoofed members: smallest vector-mix similarity (1 − total variation).
    pub min_vector_similarity: f64,
    /// Spoofed members: fewest sampled sources with a TTL in each.
    pub min_ttl_sources: usize,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            min_jaccard: 0.2,
            min_containment: 0.5,
            min_shared: 5,
            min_ttl_similarity: 0.9,
            min_vector_similarity: 0.8,
            min_ttl_sources: 100,
        }
    }
}

/// The evidence between two members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkEvidence {
    /// Index of the first member.
    pub a: usize,
    /// Index of the second member.
    pub b: usize,
    /// Estimated Jaccard index of their source sets.
    pub jaccard: f64,
    /// Estimated share of a's sources that are in b.
    pub a_in_b: f64,
    /// Estimated share of b's sources that are in a.
    pub b_in_a: f64,
    /// Sampled sources found in both.
    pub shared_sampled: usize,
    /// Sampled sources of the union compared.
    pub union_sampled: usize,
    /// Vector-mix similarity, 1 − total variation distance (0–1).
    pub vector_similarity: f64,
    /// TTL-distribution similarity of the sampled sources, 1 − total variation (0–1).
    pub ttl_similarity: f64,
    /// Fingerprints both carry.
    pub shared_fingerprints: Vec<String>,
    /// Whether the pair links.
    pub linked: bool,
    /// What the link rests on: `"sources"`, `"ttl_and_vectors"` (weak), or `"none"`.
    pub basis: &'static str,
}

/// A campaign: linked members and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    /// 1-based id in order of first start.
    pub id: u32,
    /// Member indices, by start time.
    pub members: Vec<usize>,
    /// Member labels, same order.
    pub labels: Vec<String>,
    /// Victims attacked, sorted, deduplicated.
    pub victims: Vec<String>,
    /// First member start (ns).
    pub start_ns: u64,
    /// Last member end (ns).
    pub end_ns: u64,
    /// The pairs that linked.
    pub links: Vec<LinkEvidence>,
    /// Fingerprints seen in any member, sorted.
    pub fingerprints: Vec<String>,
    /// One or two plain sentences.
    pub summary: String,
}

/// The result of [`link_campaigns`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignLinking {
    /// Campaigns by id.
    pub campaigns: Vec<Campaign>,
    /// Campaign id of each member (same order as the input).
    pub member_campaign: Vec<u32>,
    /// Evidence for every pair with any shared source or any link, by (a, b).
    pub pairs: Vec<LinkEvidence>,
}

/// 1 − total variation distance between two share maps (each normalised here).
fn tv_similarity(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> f64 {
    let sa: f64 = a.values().sum();
    let sb: f64 = b.values().sum();
    if sa <= 0.0 || sb <= 0.0 {
        return 0.0;
    }
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let tv: f64 = keys
        .iter()
        .map(|k| {
            let x = a.get(*k).copied().unwrap_or(0.0) / sa;
            let y = b.get(*k).copied().unwrap_or(0.0) / sb;
            (x - y).abs()
        })
        .sum::<f64>()
        / 2.0;
    1.0 - tv
}

/// TTL distribution (each sampled source's highest TTL) as shares, with the source count.
fn ttl_shares(s: &SourceSample) -> (BTreeMap<String, f64>, usize) {
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    let mut n = 0;
    for x in s.sources() {
        if x.stats.has_ttl() {
            *m.entry(format!("{:03}", x.stats.ttl_max)).or_default() += 1.0;
            n += 1;
        }
    }
    (m, n)
}

/// What comparing a member needs, computed once per member rather than once per pair.
struct Prepared {
    keys: SampleKeys,
    vectors: BTreeMap<String, f64>,
    ttl: BTreeMap<String, f64>,
    ttl_sources: usize,
}

impl Prepared {
    fn new(m: &CampaignMember<'_>) -> Self {
        let (ttl, ttl_sources) = ttl_shares(m.sources);
        Prepared {
            keys: m.sources.keys(),
            vectors: m.vectors.iter().cloned().collect(),
            ttl,
            ttl_sources,
        }
    }
}

/// Evidence between two members under `cfg`.
pub fn compare(
    a: &CampaignMember<'_>,
    b: &CampaignMember<'_>,
    cfg: &CampaignConfig,
) -> LinkEvidence {
    compare_prepared(a, &Prepared::new(a), b, &Prepared::new(b), cfg)
}

fn compare_prepared(
    a: &CampaignMember<'_>,
    pa: &Prepared,
    b: &CampaignMember<'_>,
    pb: &Prepared,
    cfg: &CampaignConfig,
) -> LinkEvidence {
    let sim = pa.keys.similarity(&pb.keys);
    let vector_similarity = tv_similarity(&pa.vectors, &pb.vectors);
    let (na, nb) = (pa.ttl_sources, pb.ttl_sources);
    let ttl_similarity = tv_similarity(&pa.ttl, &pb.ttl);
    let mut shared_fingerprints: Vec<String> = a
        .fingerprints
        .iter()
        .filter(|f| b.fingerprints.contains(f))
        .cloned()
        .collect();
    shared_fingerprints.sort();
    shared_fingerprints.dedup();
    let spoofed = a.spoofing == SpoofVerdict::Spoofed || b.spoofing == SpoofVerdict::Spoofed;
    let (linked, basis) = if !spoofed {
        let by_sources = sim.shared_sampled >= cfg.min_shared
            && (sim.jaccard >= cfg.min_jaccard
                || sim.a_in_b.max(sim.b_in_a) >= cfg.min_containment);
        (by_sources, if by_sources { "sources" } else { "none" })
    } else if a.spoofing == SpoofVerdict::Spoofed && b.spoofing == SpoofVerdict::Spoofed {
        let weak = na >= cfg.min_ttl_sources
            && nb >= cfg.min_ttl_sources
            && ttl_similarity >= cfg.min_ttl_similarity
            && vector_similarity >= cfg.min_vector_similarity;
        (weak, if weak { "ttl_and_vectors" } else { "none" })
    } else {
        (false, "none")
    };
    LinkEvidence {
        a: 0,
        b: 0,
        jaccard: sim.jaccard,
        a_in_b: sim.a_in_b,
        b_in_a: sim.b_in_a,
        shared_sampled: sim.shared_sampled,
        union_sampled: sim.union_sampled,
        vector_similarity,
        ttl_similarity,
        shared_fingerprints,
        linked,
        basis,
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Link `members` into campaigns (see the module docs). Pairs are compared once each:
/// O(n²) similarity computations over samples of at most k sources, fine for the tens or
/// hundreds of waves of an investigation.
pub fn link_campaigns(members: &[CampaignMember<'_>], cfg: &CampaignConfig) -> CampaignLinking {
    let n = members.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut pairs = Vec::new();
    let prepared: Vec<Prepared> = members.iter().map(Prepared::new).collect();
    for i in 0..n {
        for j in i + 1..n {
            let mut e = compare_prepared(&members[i], &prepared[i], &members[j], &prepared[j], cfg);
            e.a = i;
            e.b = j;
            if e.linked {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                if ri != rj {
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
            if e.linked || e.shared_sampled > 0 {
                pairs.push(e);
            }
        }
    }
    // Group, then order groups by first start (ties: label).
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    for g in &mut groups {
        g.sort_by(|&x, &y| {
            members[x]
                .start_ns
                .cmp(&members[y].start_ns)
                .then(members[x].label.cmp(&members[y].label))
        });
    }
    groups.sort_by(|x, y| {
        let (a, b) = (&members[x[0]], &members[y[0]]);
        a.start_ns.cmp(&b.start_ns).then(a.label.cmp(&b.label))
    });
    let mut member_campaign = vec![0u32; n];
    let mut campaigns = Vec::new();
    for (k, g) in groups.into_iter().enumerate() {
        let id = k as u32 + 1;
        for &m in &g {
            member_campaign[m] = id;
        }
        let links: Vec<LinkEvidence> = pairs
            .iter()
            .filter(|e| e.linked && g.contains(&e.a))
            .cloned()
            .collect();
        let mut victims: Vec<String> = g.iter().map(|&m| members[m].victim.clone()).collect();
        victims.sort();
        victims.dedup();
        let mut fingerprints: Vec<String> = g
            .iter()
            .flat_map(|&m| members[m].fingerprints.iter().cloned())
            .collect();
        fingerprints.sort();
        fingerprints.dedup();
        let summary = summarise(&g, &links, members);
        campaigns.push(Campaign {
            id,
            start_ns: g.iter().map(|&m| members[m].start_ns).min().unwrap_or(0),
            end_ns: g.iter().map(|&m| members[m].end_ns).max().unwrap_or(0),
            labels: g.iter().map(|&m| members[m].label.clone()).collect(),
            members: g,
            victims,
            links,
            fingerprints,
            summary,
        });
    }
    CampaignLinking {
        campaigns,
        member_campaign,
        pairs,
    }
}

fn summarise(g: &[usize], links: &[LinkEvidence], members: &[CampaignMember<'_>]) -> String {
    if g.len() == 1 {
        return format!(
            "{} shares no sources with any other wave examined.",
            members[g[0]].label
        );
    }
    let by_sources: Vec<&LinkEvidence> = links.iter().filter(|l| l.basis == "sources").collect();
    if !by_sources.is_empty() {
        let contain = |l: &&LinkEvidence| l.a_in_b.max(l.b_in_a);
        let lo = by_sources.iter().map(contain).fold(1.0, f64::min);
        let hi = by_sources.iter().map(contain).fold(0.0, f64::max);
        let jlo = by_sources.iter().map(|l| l.jaccard).fold(1.0, f64::min);
        let jhi = by_sources.iter().map(|l| l.jaccard).fold(0.0, f64::max);
        let range = |a: f64, b: f64, pct: bool| {
            let f = |x: f64| if pct { percent(x) } else { format!("{x:.2}") };
            if (a - b).abs() < 0.005 {
                f(a)
            } else {
                format!("{}–{}", f(a), f(b))
            }
        };
        format!(
            "{} waves share {} of their source addresses (Jaccard {}): the same set of \
             machines — one botnet or one reflector list — sent them.",
            g.len(),
            range(lo, hi, true),
            range(jlo, jhi, false)
        )
    } else {
        format!(
            "{} waves with forged sources show the same TTL pattern and vector mix, which \
             suggests — weakly — the same senders behind the forged addresses.",
            g.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floodtrace_wire::transport::{tcp_flag, PROTO_TCP, PROTO_UDP};
    use floodtrace_wire::Observation;
    use std::net::{IpAddr, Ipv4Addr};

    struct Xs(u64);
    impl Xs {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn bots(seed: u64, n: usize) -> Vec<(Ipv4Addr, u8)> {
        let mut r = Xs(seed);
        (0..n)
            .map(|_| {
                let x = r.next();
                (Ipv4Addr::from(x as u32 | 0x0100_0000), 40 + (x >> 59) as u8)
            })
            .collect()
    }

    /// A wave from a random `share` of `pop`, `rounds` packets each.
    fn wave(pop: &[(Ipv4Addr, u8)], share: f64, seed: u64, proto: u8) -> SourceSample {
        let mut s = SourceSample::with_k(1024);
        for (i, &(a, ttl)) in pop.iter().enumerate() {
            // An independent draw per (wave, bot).
            if (crate::sketch::hash128(i as u128, seed) % 1000) as f64 >= share * 1000.0 {
                continue;
            }
            for _ in 0..3 {
                let mut o = Observation::new(0, IpAddr::V4(a), "198.51.100.10".parse().unwrap());
                o.proto = proto;
                o.tcp_flags = tcp_flag::SYN;
                o.ttl = ttl;
                s.observe(&o);
            }
        }
        s
    }

    fn member<'a>(
        label: &str,
        t: u64,
        s: &'a SourceSample,
        v: &str,
        spoof: SpoofVerdict,
    ) -> CampaignMember<'a> {
        CampaignMember {
            label: label.into(),
            victim: "198.51.100.10".into(),
            start_ns: t,
            end_ns: t + 10,
            sources: s,
            spoofing: spoof,
            vectors: vec![(v.into(), 1.0)],
            fingerprints: vec![format!("mirai/{v}")],
        }
    }

    #[test]
    fn one_botnet_links_two_do_not() {
        let a = bots(1, 20_000);
        let b = bots(2, 20_000);
        let w1 = wave(&a, 0.8, 10, PROTO_UDP);
        let w2 = wave(&a, 0.6, 11, PROTO_TCP);
        let w3 = wave(&a, 0.3, 12, PROTO_UDP);
        let w4 = wave(&b, 0.8, 13, PROTO_UDP);
        let ms = vec![
            member("w1", 100, &w1, "udp", SpoofVerdict::NotSpoofed),
            member("w2", 200, &w2, "syn", SpoofVerdict::NotSpoofed),
            member("w3", 300, &w3, "udp", SpoofVerdict::NotSpoofed),
            member("other", 150, &w4, "udp", SpoofVerdict::NotSpoofed),
        ];
        let r = link_campaigns(&ms, &CampaignConfig::default());
        assert_eq!(r.member_campaign, vec![1, 1, 1, 2]);
        assert_eq!(r.campaigns.len(), 2);
        assert_eq!(r.campaigns[0].labels, ["w1", "w2", "w3"]);
        assert!(
            r.campaigns[0].summary.contains("3 waves share"),
            "{}",
            r.campaigns[0].summary
        );
        // w1 (80 %) vs w2 (60 %): Jaccard ≈ 0.48/0.92 ≈ 0.52; w3 ⊂ mostly w1: 80 % inside.
        let e = r.pairs.iter().find(|e| e.a == 0 && e.b == 1).unwrap();
        assert!((e.jaccard - 0.52).abs() < 0.08, "{e:?}");
        let e = r.pairs.iter().find(|e| e.a == 0 && e.b == 2).unwrap();
        assert!((e.b_in_a - 0.8).abs() < 0.08, "{e:?}");
        // The other botnet: shares (almost) nothing with any wave.
        assert!(r
            .pairs
            .iter()
            .filter(|e| e.b == 3 || e.a == 3)
            .all(|e| !e.linked && e.shared_sampled < 5));
        assert_eq!(r.campaigns[1].links.len(), 0);
        assert!(r.campaigns[1].summary.contains("no sources"));
    }

    fn spoofed_wave(seed: u64, ttls: &[u8]) -> SourceSample {
        let mut r = Xs(seed);
        let mut s = SourceSample::with_k(1024);
        for _ in 0..20_000 {
            let x = r.next();
            let mut o = Observation::new(
                0,
                IpAddr::V4(Ipv4Addr::from(x as u32)),
                "198.51.100.10".parse().unwrap(),
            );
            o.proto = PROTO_TCP;
            o.tcp_flags = tcp_flag::SYN;
            o.ttl = ttls[((x >> 40) % ttls.len() as u64) as usize];
            s.observe(&o);
        }
        s
    }

    #[test]
    fn spoofed_waves_link_only_on_ttl_and_vectors() {
        let s1 = spoofed_wave(1, &[52, 53, 54]);
        let s2 = spoofed_wave(2, &[52, 53, 54]);
        let s3 = spoofed_wave(3, &[117, 118]);
        let real = wave(&bots(1, 5000), 1.0, 4, PROTO_TCP);
        let ms = vec![
            member("s1", 1, &s1, "syn", SpoofVerdict::Spoofed),
            member("s2", 2, &s2, "syn", SpoofVerdict::Spoofed),
            member("s3", 3, &s3, "syn", SpoofVerdict::Spoofed),
            member("real", 4, &real, "syn", SpoofVerdict::NotSpoofed),
        ];
        let r = link_campaigns(&ms, &CampaignConfig::default());
        assert_eq!(r.member_campaign, vec![1, 1, 2, 3]);
        assert_eq!(r.campaigns[0].links[0].basis, "ttl_and_vectors");
        assert!(r.campaigns[0].summary.contains("weakly"));
    }

    #[test]
    fn tv_similarity_known_values() {
        let m = |v: &[(&str, f64)]| -> BTreeMap<String, f64> {
            v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
        };
        assert_eq!(tv_similarity(&m(&[("a", 1.0)]), &m(&[("a", 5.0)])), 1.0);
        assert_eq!(tv_similarity(&m(&[("a", 1.0)]), &m(&[("b", 1.0)])), 0.0);
        let s = tv_similarity(&m(&[("a", 0.5), ("b", 0.5)]), &m(&[("a", 1.0)]));
        assert!((s - 0.5).abs() < 1e-12);
        assert_eq!(tv_similarity(&m(&[]), &m(&[("a", 1.0)])), 0.0);
    }
}
