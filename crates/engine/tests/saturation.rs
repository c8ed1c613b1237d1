//! Counts saturate instead of wrapping. A flow record may claim any packet and byte count
//! (a forged or broken exporter); before, one record of 2^64 − 10^6 packets added to a
//! flood of 10^6 packets wrapped the destination's count to 0 and hid the attack.

use std::net::{IpAddr, Ipv4Addr};

use floodtrace_engine::aggregate::Aggregator;
use floodtrace_engine::detect::DetectConfig;
use floodtrace_engine::incident::find_incidents;
use floodtrace_engine::summary::top_destinations;
use floodtrace_wire::transport::{tcp_flag, PROTO_TCP};
use floodtrace_wire::{Observation, Origin};

fn record(src: u32, second: u64, packets: u64, bytes: u64) -> Observation {
    let mut o = Observation::new(
        second * 1_000_000_000,
        IpAddr::V4(Ipv4Addr::from(src)),
        "192.0.2.66".parse().unwrap(),
    );
    o.proto = PROTO_TCP;
    o.tcp_flags = tcp_flag::SYN;
    o.dport = 80;
    o.ttl = 60;
    o.ip_len = 60;
    o.origin = Origin::Flow;
    o.packets = packets;
    o.bytes = bytes;
    o
}

fn flood(agg: &mut Aggregator) {
    // A quiet minute, then a second of 20 records of 50,000 SYNs each.
    for s in 0..60u64 {
        agg.add(&record(0x0a00_0001, 1_700_000_000 + s, 1, 60));
    }
    for i in 0..20 {
        agg.add(&record(0xc633_0000 + i, 1_700_000_060, 50_000, 3_000_000));
    }
}

#[test]
fn a_forged_count_saturates_and_the_flood_stays_visible() {
    let mut honest = Aggregator::new();
    flood(&mut honest);
    assert_eq!(find_incidents(&honest, &DetectConfig::default()).len(), 1);

    let mut forged = Aggregator::new();
    flood(&mut forged);
    forged.add(&record(
        0xc633_0100,
        1_700_000_060,
        u64::MAX - 1_000_000,
        u64::MAX - 60_000_000,
    ));
    let top = top_destinations(&forged, 1);
    assert_eq!(top[0].packets, u64::MAX, "wrapped to {}", top[0].packets);
    assert_eq!(top[0].bytes, u64::MAX);
    assert_eq!(top[0].peak_pps, u64::MAX);
    assert_eq!(top[0].peak_bps, u64::MAX);
    assert_eq!(forged.totals().packets, u64::MAX);

    // Merging two saturated aggregators stays saturated.
    let mut other = Aggregator::new();
    other.add(&record(0xc633_0200, 1_700_000_060, u64::MAX, u64::MAX));
    forged.merge(other);
    assert_eq!(top_destinations(&forged, 1)[0].packets, u64::MAX);
    assert_eq!(find_incidents(&forged, &DetectConfig::default()).len(), 1);
}
