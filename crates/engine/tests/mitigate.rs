//! Mitigation planning: no rule ever covers an allow-listed address (property test), the
//! narrowing keeps everything else covered, and the renderers' output for a known plan.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floodtrace_engine::mitigate::{
    exclude, fingerprints, parse_allow_list, plan, render_exabgp, render_gobgp, render_nftables,
    render_rtbh, Action, Cidr, IncidentInput, PlanConfig, ReportInput, SourceInput, Speaker,
    VectorInput,
};
use proptest::prelude::*;

const VECTORS: [&str; 12] = [
    "syn_flood",
    "ack_flood",
    "udp_flood",
    "udp_fragment_flood",
    "icmp_flood",
    "gre_flood",
    "dns_reflection",
    "ntp_reflection",
    "memcached_reflection",
    "syn_ack_reflection",
    "tcp_other_flood",
    "other_flood",
];

fn incident(id: u32, victim: &str, vectors: &[(&str, f64)], sources: Vec<IpAddr>) -> IncidentInput {
    IncidentInput {
        id,
        victim: victim.into(),
        start_ns: 1_700_000_000_000_000_000,
        end_ns: 1_700_000_060_000_000_000,
        vectors: vectors
            .iter()
            .map(|&(name, share)| VectorInput {
                name: name.into(),
                share,
                packets: (share * 10_000.0) as u64,
                source_port: (name == "udp_flood").then_some(4500),
            })
            .collect(),
        waves: Vec::new(),
        packets: 10_000,
        bytes: 5_000_000,
        distinct_sources: 100,
        top_sources: sources
            .into_iter()
            .map(|address| SourceInput {
                address,
                packets: 1_000,
                error: 0,
            })
            .collect(),
    }
}

/// An address near `base` (same prefix of `keep` bits, random rest).
fn near(base: IpAddr, keep: u8, rnd: u128) -> IpAddr {
    match base {
        IpAddr::V4(v) => {
            let b = u32::from(v);
            let host = if keep >= 32 { 0 } else { u32::MAX >> keep };
            IpAddr::V4(Ipv4Addr::from((b & !host) | (rnd as u32 & host)))
        }
        IpAddr::V6(v) => {
            let b = u128::from(v);
            let host = if keep >= 128 { 0 } else { u128::MAX >> keep };
            IpAddr::V6(Ipv6Addr::from((b & !host) | (rnd & host)))
        }
    }
}

fn arb_case() -> impl Strategy<Value = (ReportInput, Vec<Cidr>)> {
    let victims = prop::collection::vec(
        (
            any::<bool>(),
            any::<u128>(),
            any::<bool>(),
            prop::collection::vec((0usize..VECTORS.len(), 0.0f64..1.0), 1..5),
        ),
        1..4,
    );
    let allows = prop::collection::vec((0u8..=128, any::<u128>(), 0u8..=128, any::<bool>()), 0..8);
    let sources = prop::collection::vec((any::<u128>(), 0u8..=32), 0..12);
    (victims, allows, sources).prop_map(|(victims, allows, srcs)| {
        let mut incidents = Vec::new();
        let mut allow = Vec::new();
        for (i, (v6, bits, prefix, vecs)) in victims.into_iter().enumerate() {
            let addr = if v6 {
                IpAddr::V6(Ipv6Addr::from(bits))
            } else {
                IpAddr::V4(Ipv4Addr::from(bits as u32))
            };
            let width = if v6 { 128 } else { 32 };
            let len = if prefix {
                width - if v6 { 64 } else { 8 }
            } else {
                width
            };
            let victim = Cidr::new(addr, len).unwrap();
            // Allow-list entries: some near this victim, some anywhere.
            for &(keep, rnd, plen, close) in &allows {
                let a = if close {
                    near(victim.addr, keep.min(width), rnd)
                } else {
                    near(victim.addr, 0, rnd)
                };
                allow.push(Cidr::new(a, plen % (width + 1)).unwrap());
            }
            let sources: Vec<IpAddr> = srcs
                .iter()
                .map(|&(rnd, keep)| near(allow.first().map_or(victim.addr, |c| c.addr), keep, rnd))
                .collect();
            let vectors: Vec<(&str, f64)> = vecs.iter().map(|&(k, s)| (VECTORS[k], s)).collect();
            incidents.push(incident(
                i as u32 + 1,
                &victim.to_string(),
                &vectors,
                sources,
            ));
        }
        (
            ReportInput {
                incidents,
                destinations: Vec::new(),
            },
            allow,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_rule_covers_an_allow_listed_address((report, allow) in arb_case()) {
        let p = plan(&report, &allow, &PlanConfig::default());
        for r in &p.rules {
            for a in &allow {
                prop_assert!(!r.destination.overlaps(a), "rule {} to {} overlaps allow-listed {a}", r.name, r.destination);
            }
            for s in &r.sources {
                prop_assert!(!allow.iter().any(|a| a.contains(*s)), "rule {} drops allow-listed source {s}", r.name);
            }
        }
        for b in &p.blackholes {
            prop_assert!(!allow.iter().any(|a| a.overlaps(&b.prefix)), "blackhole {} overlaps the allow-list", b.prefix);
        }
        for f in fingerprints(&report, &allow, &PlanConfig::default()) {
            for v in &f.attack_vectors {
                for s in &v.source_ips {
                    let ip: IpAddr = s.parse().unwrap();
                    prop_assert!(!allow.iter().any(|a| a.contains(ip)));
                }
            }
        }
        // Narrowing is maximal: every victim address outside the allow-list stays covered.
        for inc in &report.incidents {
            let victim: Cidr = inc.victim.parse().unwrap();
            if victim.width() != 32 {
                continue;
            }
            let (lo, hi, _) = victim.range();
            let covered: u128 = p.blackholes.iter().filter(|b| b.incident == inc.id).map(|b| b.prefix.range().1 - b.prefix.range().0 + 1).sum();
            let allowed = (lo..=hi).filter(|&x| allow.iter().any(|a| a.contains(IpAddr::V4(Ipv4Addr::from(x as u32))))).count() as u128;
            prop_assert_eq!(covered + allowed, hi - lo + 1);
        }
    }

    #[test]
    fn exclude_is_exact(base in any::<u32>(), len in 16u8..=32, allow in prop::collection::vec((any::<u32>(), 16u8..=32), 0..6)) {
        let p = Cidr::new(IpAddr::V4(Ipv4Addr::from(base)), len).unwrap();
        let allow: Vec<Cidr> = allow.iter().map(|&(a, l)| Cidr::new(IpAddr::V4(Ipv4Addr::from((base & 0xffff_0000) | (a & 0xffff))), l).unwrap()).collect();
        let parts = exclude(p, &allow);
        let (lo, hi, _) = p.range();
        for x in lo..=hi {
            let ip = IpAddr::V4(Ipv4Addr::from(x as u32));
            let in_parts = parts.iter().filter(|c| c.contains(ip)).count();
            let allowed = allow.iter().any(|a| a.contains(ip));
            prop_assert_eq!(in_parts, usize::from(!allowed), "{}", ip);
        }
    }
}

fn sample() -> ReportInput {
    ReportInput {
        incidents: vec![
            incident(
                1,
                "198.51.100.10",
                &[
                    ("dns_reflection", 0.6),
                    ("syn_flood", 0.37),
                    ("udp_flood", 0.03),
                ],
                vec!["192.0.2.7".parse().unwrap(), "203.0.113.9".parse().unwrap()],
            ),
            incident(2, "198.51.100.0/24", &[("udp_fragment_flood", 1.0)], vec![]),
            incident(3, "2001:db8::5", &[("icmp_flood", 1.0)], vec![]),
        ],
        destinations: Vec::new(),
    }
}

#[test]
fn plan_and_renderings() {
    let allow = parse_allow_list("# ours\n198.51.100.10 # web server\n\n203.0.113.0/24\n").unwrap();
    let p = plan(&sample(), &allow, &PlanConfig::default());
    // Incident 1 targets an allow-listed address: dropped with a reason.
    assert!(p.rules.iter().all(|r| r.incident != 1));
    assert!(p
        .dropped
        .iter()
        .any(|d| d.incident == 1 && d.what == "victim"));
    // Incident 2's /24 is split into 8 prefixes around .10.
    let r2: Vec<_> = p.rules.iter().filter(|r| r.incident == 2).collect();
    assert_eq!(r2.len(), 8);
    assert!(r2.iter().all(|r| r.fragment && r.action == Action::Discard));
    assert!(r2[0].reason.contains("narrowed"), "{}", r2[0].reason);
    // Expiry: one hour after the incident's end by default.
    assert_eq!(
        r2[0].expires_ns,
        1_700_000_060_000_000_000 + 3_600_000_000_000
    );

    let p = plan(
        &sample(),
        &[],
        &PlanConfig {
            incident: Some(1),
            ..PlanConfig::default()
        },
    );
    assert_eq!(p.incidents, vec![1]);
    let names: Vec<&str> = p.rules.iter().map(|r| r.vector.as_str()).collect();
    assert_eq!(names, ["dns_reflection", "syn_flood", "top_sources"]);
    assert!(
        p.dropped.iter().any(|d| d.what == "udp_flood"),
        "3% is below the 5% floor"
    );
    let ex = render_exabgp(&p);
    assert!(ex.contains("route ft-i1-dns_reflection {"), "{ex}");
    assert!(ex.contains("source-port [ =53 ];"));
    assert!(ex.contains("tcp-flags [ syn&!ack ];"));
    assert!(ex.contains("rate-limit 125000;"));
    assert!(
        ex.contains("# withdraw at 2023-11-14T23:14:20Z: withdraw flow route"),
        "{ex}"
    );
    let go = render_gobgp(&p);
    assert!(go.contains(
        "gobgp global rib -a ipv4-flowspec add match destination 198.51.100.10/32 protocol udp source-port '==53' then rate-limit 125000"
    ), "{go}");
    assert!(go.contains("tcp-flags 'S&!A'"));
    let rt = render_rtbh(&p, Speaker::Exabgp);
    assert!(
        rt.contains(
            "announce route 198.51.100.10/32 next-hop 192.0.2.1 community [ 65535:666 no-export ]"
        ),
        "{rt}"
    );
    let rt = render_rtbh(
        &plan(&sample(), &[], &PlanConfig::default()),
        Speaker::Gobgp,
    );
    assert!(rt.contains("gobgp global rib -a ipv6 add 2001:db8::5/128 nexthop 100::1 community 65535:666,no-export"), "{rt}");
    let nf = render_nftables(&p);
    assert!(nf.contains("set i1_sources_v4 {"), "{nf}");
    assert!(nf.contains("elements = { 192.0.2.7, 203.0.113.9 }"));
    assert!(nf.contains("ip daddr 198.51.100.10/32 meta l4proto tcp tcp flags & (syn | ack) == syn limit rate over 125000 bytes/second counter drop"), "{nf}");
    let fp = fingerprints(&sample(), &allow, &PlanConfig::default());
    assert_eq!(fp.len(), 3);
    assert_eq!(fp[0].attack_vectors[0].service.as_deref(), Some("DNS"));
    assert_eq!(fp[0].attack_vectors[0].source_port, serde_json::json!(53));
    assert_eq!(
        fp[0].attack_vectors[0].source_ips,
        ["192.0.2.7"],
        "203.0.113.9 is allow-listed"
    );
    assert!(fp[0].tags.contains(&"Amplification attack".to_string()));
    assert!(fp[1].tags.contains(&"Carpet bombing attack".to_string()));
    assert_eq!(fp[0].key.len(), 32);
}

fn nft_check(text: &str, tag: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let have = std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(!ci, "nft is not installed, but CI=true: .ci/run installs nftables; the ruleset must be checked with `nft -c`");
        eprintln!("nft not installed: `nft -c` check of the {tag} ruleset skipped");
        return;
    }
    let path = std::env::temp_dir().join(format!(
        "floodtrace-mitigate-{}-{tag}.nft",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new("nft")
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run nft");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "nft -c rejected the {tag} ruleset: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn nftables_output_passes_nft_check() {
    let allow = parse_allow_list("198.51.100.10\n").unwrap();
    nft_check(
        &render_nftables(&plan(&sample(), &allow, &PlanConfig::default())),
        "allow",
    );
    nft_check(
        &render_nftables(&plan(&sample(), &[], &PlanConfig::default())),
        "all",
    );
    // Every vector the classifier names, for an IPv4 and an IPv6 victim.
    let all: Vec<(&str, f64)> = VECTORS
        .iter()
        .map(|v| (*v, 1.0 / VECTORS.len() as f64))
        .collect();
    let r = ReportInput {
        incidents: vec![
            incident(1, "198.51.100.10", &all, vec!["192.0.2.1".parse().unwrap()]),
            incident(
                2,
                "2001:db8::/64",
                &all,
                vec!["2001:db8:1::1".parse().unwrap()],
            ),
        ],
        destinations: Vec::new(),
    };
    nft_check(
        &render_nftables(&plan(&r, &[], &PlanConfig::default())),
        "vectors",
    );
}
