//! `SourceSample` invariants: merging chunks in any chunking equals one pass (proptest), and
//! memory stays fixed by `k` under ten million random sources.

use std::net::{IpAddr, Ipv4Addr};

use floodtrace_engine::sketch::SourceSample;
use floodtrace_wire::transport::{tcp_flag, PROTO_TCP, PROTO_UDP};
use floodtrace_wire::Observation;
use proptest::prelude::*;

fn obs(src: u32, ttl: u8, kind: u8, sport: u16, dport: u16, packets: u64) -> Observation {
    let mut o = Observation::new(
        0,
        IpAddr::V4(Ipv4Addr::from(src)),
        "203.0.113.5".parse().unwrap(),
    );
    match kind % 4 {
        0 => {
            o.proto = PROTO_TCP;
            o.tcp_flags = tcp_flag::SYN;
        }
        1 => {
            o.proto = PROTO_TCP;
            o.tcp_flags = tcp_flag::ACK;
        }
        2 => {
            o.proto = PROTO_TCP;
            o.tcp_flags = tcp_flag::SYN | tcp_flag::ACK;
        }
        _ => o.proto = PROTO_UDP,
    }
    o.ttl = ttl;
    o.sport = sport;
    o.dport = dport;
    o.packets = packets;
    o.bytes = packets * 60;
    o
}

fn arb_obs() -> impl Strategy<Value = Observation> {
    // Few distinct sources (repeats) mixed with many (evictions).
    (
        prop_oneof![0u32..40, any::<u32>()],
        any::<u8>(),
        any::<u8>(),
        0u16..4,
        0u16..4,
        1u64..5,
    )
        .prop_map(|(s, t, k, sp, dp, p)| obs(s, t, k, sp, dp, p))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any chunking, merged in order or as a balanced tree, gives the one-pass sample.
    #[test]
    fn merge_is_chunking_invariant(
        data in proptest::collection::vec(arb_obs(), 0..1500),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        k in 2usize..40,
        tree in any::<bool>(),
    ) {
        let mut one = SourceSample::with_k(k);
        data.iter().for_each(|o| one.observe(o));

        let mut bounds: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
        bounds.push(0);
        bounds.push(data.len());
        bounds.sort_unstable();
        let parts: Vec<SourceSample> = bounds
            .windows(2)
            .map(|w| {
                let mut s = SourceSample::with_k(k);
                data[w[0]..w[1]].iter().for_each(|o| s.observe(o));
                s
            })
            .collect();
        let merged = if tree {
            let mut level = parts;
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|c| {
                        let mut a = c[0].clone();
                        if let Some(b) = c.get(1) {
                            a.merge(b);
                        }
                        a
                    })
                    .collect();
            }
            level.pop().unwrap_or_else(|| SourceSample::with_k(k))
        } else {
            let mut acc = SourceSample::with_k(k);
            for p in &parts {
                acc.merge(p);
            }
            acc
        };
        prop_assert_eq!(merged.sources(), one.sources());
        prop_assert_eq!(merged.packets(), one.packets());
        prop_assert_eq!(merged.backscatter_packets(), one.backscatter_packets());
        prop_assert_eq!(merged.distinct_estimate(), one.distinct_estimate());
        prop_assert!(merged == one);
    }
}

#[test]
fn ten_million_random_sources_keep_memory_fixed() {
    let k = 4096;
    let mut s = SourceSample::with_k(k);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut high = 0usize;
    for i in 0..10_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.observe(&obs(x as u32, 50, 0, (x >> 32) as u16, 80, 1));
        if i % 100_000 == 0 {
            high = high.max(s.memory_bytes());
        }
    }
    high = high.max(s.memory_bytes());
    assert_eq!(s.len(), k);
    assert_eq!(s.packets(), 10_000_000);
    // Entries for at most k + k/2 sources plus a table of at most 4k slots.
    let bound = (k + k / 2) * 112 + 4 * k * 4 * 2;
    assert!(high <= bound, "{high} > {bound}");
    // The bottom-k estimate of ~10 M distinct sources (a few collide in 2^32) is within
    // 5 % (1/√4094 ≈ 1.6 % standard error).
    let est = s.distinct_estimate();
    assert!((est / 9_988_000.0 - 1.0).abs() < 0.05, "{est}");
}
