//! Mirai fingerprints and scanner recognition (`floodtrace_engine::fingerprint`) against
//! simulated Mirai waves (recall), benign simulated traffic, the simulator's non-Mirai
//! vectors and every real capture in `../shared/data` (precision), the Hide'N Seek near-miss,
//! and exact merging (proptest).
//!
//! A "wave" here is every packet the generator produced towards the victim. For stomp the
//! required share is taken over the flood phase: each bot's kernel handshake (SYN, ACK: two
//! packets per connection) precedes its flood and is not a stomp packet, so the verdict's
//! `match_share` must be ≥ 0.99 × (flood packets / wave packets). http's connection packets
//! (SYN, ACK, FIN) are part of the vector and counted in its share (see
//! `MiraiEvidence::verdict`).

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::shared_data;
use floodtrace_engine::fingerprint::*;
use floodtrace_sim::rng::Rng;
use floodtrace_sim::vectors::{
    background_frame, scan_frame, AttackGen, BackgroundKind, SourceState, Vector, VectorParams,
};
use floodtrace_wire::capture::RecordReader;
use floodtrace_wire::{observe_frame, Frame, Observation};
use proptest::prelude::*;

const VICTIM: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const T0: u64 = 1_700_000_000_000_000_000;

fn observe(frame: &[u8], ts: u64) -> Observation {
    match observe_frame(1, frame, ts, frame.len() as u32).expect("simulated frame decodes") {
        Frame::Ip(o) => o,
        Frame::NonIp { .. } => panic!("simulated frame is not IP"),
    }
}

/// The simulator's vector for each Mirai vector.
const MIRAI: [(Vector, MiraiVector); 10] = [
    (Vector::Udp, MiraiVector::Udp),
    (Vector::Vse, MiraiVector::Vse),
    (Vector::DnsWaterTorture, MiraiVector::Dns),
    (Vector::Syn, MiraiVector::Syn),
    (Vector::Ack, MiraiVector::Ack),
    (Vector::Stomp, MiraiVector::Stomp),
    (Vector::GreIp, MiraiVector::GreIp),
    (Vector::GreEth, MiraiVector::GreEth),
    (Vector::UdpPlain, MiraiVector::UdpPlain),
    (Vector::Http, MiraiVector::Http),
];

/// `n` frames of `vector` towards [`VICTIM`] from `bots` bots (round robin), decoded.
/// `spoof`: a random source address per packet (spoofable vectors only). Bots send with
/// initial TTL 64, or 128 when `ttl128` (as the simulator's scenarios may configure).
fn wave(
    vector: Vector,
    n: usize,
    bots: usize,
    spoof: bool,
    ttl128: bool,
    seed: u64,
) -> Vec<Observation> {
    wave_with(
        vector,
        &VectorParams::default(),
        n,
        bots,
        spoof,
        ttl128,
        seed,
    )
}

fn wave_with(
    vector: Vector,
    params: &VectorParams,
    n: usize,
    bots: usize,
    spoof: bool,
    ttl128: bool,
    seed: u64,
) -> Vec<Observation> {
    let mut rng = Rng::new(seed, 7);
    let mut g = AttackGen::new(vector, params, true, &mut rng);
    let initial = if ttl128 { 128 } else { 64 };
    let mut states: Vec<SourceState> = (0..bots)
        .map(|i| {
            let addr = Ipv4Addr::from(0x5000_0000u32 + (i as u32) * 7919 + seed as u32);
            let ttl = initial - 5 - rng.below(15) as u8;
            g.source(addr, ttl, &mut rng)
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut buf = Vec::new();
    for i in 0..n {
        let k = i % bots;
        if spoof {
            states[k].addr = Ipv4Addr::from(rng.next_u32());
        }
        buf.clear();
        g.frame(&mut states[k], VICTIM, &mut rng, &mut buf);
        out.push(observe(&buf, T0 + i as u64 * 1000));
    }
    out
}

fn evidence(obs: &[Observation]) -> MiraiEvidence {
    let mut e = MiraiEvidence::new();
    for o in obs {
        e.add(o);
    }
    e
}

/// Benign frames of `kind` between 200 clients and two servers, both directions.
fn background(kind: BackgroundKind, n: usize, seed: u64) -> Vec<Observation> {
    let mut rng = Rng::new(seed, 11);
    let servers = [VICTIM, Ipv4Addr::new(198, 51, 100, 11)];
    let mut buf = Vec::new();
    (0..n)
        .map(|i| {
            let client = Ipv4Addr::from(0x2100_0000u32 + rng.below(200) as u32 * 65_537);
            let server = servers[rng.below(2) as usize];
            let to_server = rng.chance(0.5);
            let ttl = if rng.chance(0.5) { 50 } else { 115 };
            buf.clear();
            background_frame(kind, client, server, to_server, ttl, &mut rng, &mut buf);
            observe(&buf, T0 + i as u64 * 1000)
        })
        .collect()
}

const BACKGROUND: [BackgroundKind; 6] = [
    BackgroundKind::Https,
    BackgroundKind::Http,
    BackgroundKind::Dns,
    BackgroundKind::Quic,
    BackgroundKind::Ntp,
    BackgroundKind::Icmp,
];

/// Fingerprints of `obs` taken as one wave, and of each destination's packets as a wave.
fn all_verdicts(obs: &[Observation]) -> Vec<(String, Fingerprint)> {
    let mut per_dst: BTreeMap<IpAddr, (MiraiEvidence, u64)> = BTreeMap::new();
    let mut whole = MiraiEvidence::new();
    for o in obs {
        whole.add(o);
        let e = per_dst.entry(o.dst).or_default();
        e.0.add(o);
        e.1 += 1;
    }
    let mut out: Vec<(String, Fingerprint)> = whole
        .verdict(obs.len() as u64)
        .into_iter()
        .map(|f| ("whole".to_string(), f))
        .collect();
    for (dst, (e, n)) in per_dst {
        out.extend(e.verdict(n).into_iter().map(|f| (dst.to_string(), f)));
    }
    out
}

#[test]
fn recall_on_simulated_mirai_waves() {
    let mut waves = 0u32;
    let mut hits = 0u32;
    let mut min_packet_share: f64 = 1.0;
    let mut report = Vec::new();
    for (sim, want) in MIRAI {
        for seed in 1..=5u64 {
            let mut variants = vec![(2000, 20, false, seed == 5)];
            variants.push((120, 4, false, false));
            if sim.spoofable() {
                variants.push((2000, 3, true, seed % 2 == 0));
            }
            for (n, bots, spoof, ttl128) in variants {
                let obs = wave(sim, n, bots, spoof, ttl128, seed);
                let e = evidence(&obs);
                let v = e.verdict(obs.len() as u64);
                waves += 1;
                let what = format!(
                    "{} seed {seed} n {n} bots {bots} spoof {spoof} ttl128 {ttl128}",
                    want.name()
                );
                // Stomp's flood phase: everything but the kernel handshake (no payload).
                let flood = obs
                    .iter()
                    .filter(|o| want != MiraiVector::Stomp || o.payload_len > 0)
                    .count();
                let flood_share = flood as f64 / obs.len() as f64;
                let per_packet = obs
                    .iter()
                    .filter(|o| match_packet(o).is_some_and(|(m, _)| m == want))
                    .count() as f64
                    / flood as f64;
                if want != MiraiVector::Http {
                    min_packet_share = min_packet_share.min(per_packet);
                }
                let ok = v.len() == 1
                    && v[0].vector == want.name()
                    && v[0].match_share >= 0.99 * flood_share;
                hits += ok as u32;
                if !ok {
                    report.push(format!("{what}: {v:?} (per-packet share {per_packet:.4})"));
                }
                if n == 2000 && seed == 1 && !spoof {
                    eprintln!(
                        "{:<9} per-packet {:.4}  verdict {:?}",
                        want.name(),
                        per_packet,
                        v.first()
                    );
                }
            }
        }
    }
    let recall = hits as f64 / waves as f64;
    eprintln!("Mirai recall: {hits}/{waves} waves = {recall:.4}; min per-packet share (non-http) {min_packet_share:.4}");
    assert!(report.is_empty(), "missed waves:\n{}", report.join("\n"));
    assert!(recall >= 0.99);
    assert!(min_packet_share >= 0.99, "{min_packet_share}");
}

#[test]
fn mirai_wave_with_background_is_still_found() {
    // dns goes to the victim as its resolver, so that benign queries to it mix in.
    let params = VectorParams {
        resolver: Some(VICTIM),
        ..VectorParams::default()
    };
    for (sim, want) in MIRAI {
        let mut obs = wave_with(sim, &params, 2000, 20, false, false, 42);
        for kind in BACKGROUND {
            obs.extend(
                background(kind, 300, 3)
                    .into_iter()
                    .filter(|o| o.dst == IpAddr::V4(VICTIM)),
            );
        }
        assert!(obs.iter().all(|o| o.dst == IpAddr::V4(VICTIM)));
        let v = evidence(&obs).verdict(obs.len() as u64);
        assert_eq!(v.len(), 1, "{}: {v:?}", want.name());
        assert_eq!(v[0].vector, want.name());
        assert!(v[0].match_share > 0.8 && v[0].match_share < 1.0, "{v:?}");
        assert_eq!(v[0].family, "mirai");
    }
}

#[test]
fn syn_fingerprint_fields() {
    let obs = wave(Vector::Syn, 2000, 20, false, false, 9);
    let v = evidence(&obs).verdict(obs.len() as u64);
    let f = &v[0].fields;
    for want in [
        "window=0",
        "options_order",
        "mss=1400-1415",
        "wscale=6",
        "ip_len=60",
        "df=1",
        "ttl<=64",
        "mss_constant",
        "dport_random",
    ] {
        assert!(f.contains(&want), "{want} missing from {f:?}");
    }
    fn serializable<T: serde::Serialize>(_: &T) {}
    serializable(&v[0]);
    assert_eq!((v[0].family, v[0].vector), ("mirai", "syn"));
}

#[test]
fn benign_background_is_never_mirai() {
    let mut all = Vec::new();
    for kind in BACKGROUND {
        for seed in 1..=3 {
            let obs = background(kind, 20_000, seed);
            let matched = obs.iter().filter(|o| match_packet(o).is_some()).count();
            let v = all_verdicts(&obs);
            eprintln!(
                "background {kind:?} seed {seed}: {matched} of {} packets match a vector per packet, {} fingerprints",
                obs.len(),
                v.len()
            );
            assert!(v.is_empty(), "{kind:?}: {v:?}");
            all.extend(obs);
        }
    }
    let v = all_verdicts(&all);
    assert!(v.is_empty(), "mixed background: {v:?}");
}

#[test]
fn other_simulated_vectors_are_never_mirai() {
    for sim in Vector::ALL {
        if sim.mirai_vector().is_some() {
            continue;
        }
        for seed in 1..=3 {
            let obs = wave(sim, 3000, 20, false, false, seed);
            let matched = obs.iter().filter(|o| match_packet(o).is_some()).count();
            let v = all_verdicts(&obs);
            assert!(v.is_empty(), "{}: {v:?}", sim.name());
            if seed == 1 {
                eprintln!(
                    "{:<22} {matched:>5} of {} packets match a vector per packet, no fingerprint",
                    sim.name(),
                    obs.len()
                );
            }
        }
    }
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            out.push(p);
        }
    }
}

/// Every IP observation of a capture file.
fn read_capture(path: &Path) -> Vec<Observation> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = RecordReader::open(&bytes)
        .unwrap_or_else(|e| panic!("{}: not a capture: {e}", path.display()));
    let mut out = Vec::new();
    while let Some(rec) = reader.next() {
        let Ok(rec) = rec else { break };
        if let Ok(Frame::Ip(o)) = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len) {
            out.push(o);
        }
    }
    out
}

fn capture(rel: &str) -> Vec<Observation> {
    read_capture(&shared_data(rel))
}

#[test]
fn real_captures_are_never_mirai() {
    let data = shared_data("");
    let mut files = Vec::new();
    captures(&shared_data("pcap"), &mut files);
    captures(&shared_data("flows"), &mut files);
    assert!(files.len() >= 20, "only {} captures found", files.len());
    let mut packets = 0;
    for f in &files {
        let obs = read_capture(f);
        packets += obs.len();
        let matched = obs.iter().filter(|o| match_packet(o).is_some()).count();
        let mirai_scan = obs.iter().filter(|o| is_mirai_scan(o)).count();
        let v = all_verdicts(&obs);
        let name = f.strip_prefix(&data).unwrap().display().to_string();
        if matched > 0 || !v.is_empty() {
            eprintln!(
                "{name}: {matched} of {} packets match per packet",
                obs.len()
            );
        }
        assert!(v.is_empty(), "{name}: {v:?}");
        assert_eq!(mirai_scan, 0, "{name}: Mirai scan signature");
    }
    eprintln!(
        "{} real captures, {packets} IP packets: no Mirai fingerprint",
        files.len()
    );
}

#[test]
fn real_syn_floods_are_not_mirai_syn() {
    for rel in [
        "pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap",
        "pcap/ddos/cicddos2019_SynFlood_sample.pcap",
    ] {
        let obs = capture(rel);
        assert!(obs.len() > 20_000, "{rel}");
        let syn_only = obs.iter().filter(|o| o.tcp_flags == 0x02).count();
        assert!(syn_only * 2 > obs.len(), "{rel}: a SYN flood");
        assert_eq!(
            obs.iter().filter(|o| match_packet(o).is_some()).count(),
            0,
            "{rel}"
        );
        assert!(evidence(&obs).verdict(obs.len() as u64).is_empty());
    }
    // The StopDDoS flood has Mirai's window 0 but no options: window alone is not enough.
    let obs = capture("pcap/ddos/stopddos_pkt.TCP.synflood.spoofed.pcap");
    assert!(obs
        .iter()
        .filter(|o| o.tcp_flags == 0x02)
        .all(|o| o.tcp_window == 0 && o.tcp_options.count == 0));
}

#[test]
fn hide_and_seek_is_telnet_scanning_not_mirai() {
    let obs = capture("pcap/mirai/slips_hide-and-seek_iot-botnet_scan.pcap");
    let mut t = ScannerTracker::new();
    for o in &obs {
        t.add(o);
    }
    assert_eq!(t.mirai_packets(), 0);
    assert!(obs.iter().any(is_telnet_scan));
    assert!(!obs.iter().any(is_mirai_scan));
    let r = t.report();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].family, None);
    let bot: IpAddr = "192.168.2.16".parse().unwrap();
    assert_eq!(r[0].sources[0].0, bot, "{r:?}");
    assert!(r[0].sources[0].1 >= 300, "{r:?}");
    assert!(r[0].complete);
    assert!(all_verdicts(&obs).is_empty());
    eprintln!("Hide'N Seek: {:?}", r[0]);
}

fn sim_scans(bots: &[Ipv4Addr], per_bot: usize, seed: u64) -> Vec<Observation> {
    let mut rng = Rng::new(seed, 3);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for i in 0..per_bot {
        for b in bots {
            buf.clear();
            scan_frame(*b, 52, &mut rng, &mut buf);
            out.push(observe(&buf, T0 + i as u64));
        }
    }
    out
}

#[test]
fn simulated_mirai_scanning_is_mirai_with_sources() {
    let bots: Vec<Ipv4Addr> = (0..5).map(|i| Ipv4Addr::new(177, 10, 20, 30 + i)).collect();
    let obs = sim_scans(&bots, 300, 1);
    assert!(obs.iter().all(is_mirai_scan));
    assert!(obs.iter().all(is_telnet_scan));
    let mut t = ScannerTracker::new();
    for o in &obs {
        t.add(o);
    }
    let r = t.report();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].family, Some("mirai"));
    assert_eq!(r[0].packets, 1500);
    let mut listed: Vec<(IpAddr, u64)> = r[0].sources.clone();
    listed.sort();
    let want: Vec<(IpAddr, u64)> = bots.iter().map(|b| (IpAddr::V4(*b), 300)).collect();
    assert_eq!(listed, want);

    // The simulator's scanning vector, and Hide'N Seek alongside: two separate reports.
    let mut rng = Rng::new(5, 5);
    let mut g = AttackGen::new(Vector::TelnetScan, &VectorParams::default(), true, &mut rng);
    let bot = Ipv4Addr::new(186, 1, 2, 3);
    let mut s = g.source(bot, 50, &mut rng);
    let mut buf = Vec::new();
    let mut t2 = ScannerTracker::new();
    for i in 0..200u32 {
        buf.clear();
        let dst = Ipv4Addr::from(0x0b00_0000 + i * 977);
        g.frame(&mut s, dst, &mut rng, &mut buf);
        let o = observe(&buf, T0);
        assert!(is_mirai_scan(&o));
        t2.add(&o);
    }
    for o in capture("pcap/mirai/slips_hide-and-seek_iot-botnet_scan.pcap") {
        t2.add(&o);
    }
    let r = t2.report();
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0].family, Some("mirai"));
    assert_eq!(r[0].sources, vec![(IpAddr::V4(bot), 200)]);
    assert_eq!(r[1].family, None);
    assert_eq!(r[1].sources[0].0, "192.168.2.16".parse::<IpAddr>().unwrap());
}

#[test]
fn scanner_tracker_is_bounded() {
    let bots: Vec<Ipv4Addr> = (0..5000u32)
        .map(|i| Ipv4Addr::from(0x2d00_0000 + i))
        .collect();
    let obs = sim_scans(&bots, 2, 4);
    let mut t = ScannerTracker::new();
    for o in &obs {
        t.add(o);
    }
    assert_eq!(t.packets(), 10_000);
    assert_eq!(t.distinct_sources(), (SCANNER_CAPACITY, false));
    let r = t.report();
    assert_eq!(r[0].sources.len(), SCANNER_CAPACITY);
    assert!(!r[0].complete);
    assert!(r[0].sources.iter().all(|s| s.1 == 2));
}

/// Observations for the merge properties: Mirai waves (many and spoofed sources, so the
/// source samples evict), benign traffic, the Hide'N Seek capture and Mirai scans.
fn pool() -> &'static [Observation] {
    static POOL: OnceLock<Vec<Observation>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut p = Vec::new();
        for (sim, _) in MIRAI {
            p.extend(wave(sim, 150, 30, false, false, 77));
            if sim.spoofable() {
                p.extend(wave(sim, 60, 2, true, false, 78));
            }
        }
        for kind in BACKGROUND {
            p.extend(background(kind, 100, 5));
        }
        p.extend(capture(
            "pcap/mirai/slips_hide-and-seek_iot-botnet_scan.pcap",
        ));
        let bots: Vec<Ipv4Addr> = (0..40u32)
            .map(|i| Ipv4Addr::from(0x3100_0000 + i))
            .collect();
        p.extend(sim_scans(&bots, 5, 6));
        p
    })
}

fn fold_evidence(obs: &[usize]) -> MiraiEvidence {
    let mut e = MiraiEvidence::new();
    for &i in obs {
        e.add(&pool()[i]);
    }
    e
}

fn fold_scanner(obs: &[usize], cap: usize) -> ScannerTracker {
    let mut t = ScannerTracker::with_capacity(cap);
    for &i in obs {
        t.add(&pool()[i]);
    }
    t
}

fn merged<T: Clone>(a: &T, b: &T, f: fn(&mut T, &T)) -> T {
    let mut x = a.clone();
    f(&mut x, b);
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn evidence_merge_is_exact(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..600),
        cut1 in any::<prop::sample::Index>(),
        cut2 in any::<prop::sample::Index>(),
    ) {
        let n = pool().len();
        let idx: Vec<usize> = picks.iter().map(|p| p.index(n)).collect();
        let (mut c1, mut c2) = (cut1.index(idx.len() + 1), cut2.index(idx.len() + 1));
        if c1 > c2 { std::mem::swap(&mut c1, &mut c2); }
        let (a, b, c) = (fold_evidence(&idx[..c1]), fold_evidence(&idx[c1..c2]), fold_evidence(&idx[c2..]));
        let m = MiraiEvidence::merge;
        let left = merged(&merged(&a, &b, m), &c, m);
        let right = merged(&a, &merged(&b, &c, m), m);
        prop_assert_eq!(&left, &right);
        prop_assert_eq!(&merged(&a, &b, m), &merged(&b, &a, m));
        prop_assert_eq!(&left, &fold_evidence(&idx));
    }

    #[test]
    fn scanner_merge_is_exact(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..600),
        cut1 in any::<prop::sample::Index>(),
        cut2 in any::<prop::sample::Index>(),
        cap in prop::sample::select(vec![1usize, 3, 8, 4096]),
    ) {
        let n = pool().len();
        let idx: Vec<usize> = picks.iter().map(|p| p.index(n)).collect();
        let (mut c1, mut c2) = (cut1.index(idx.len() + 1), cut2.index(idx.len() + 1));
        if c1 > c2 { std::mem::swap(&mut c1, &mut c2); }
        let (a, b, c) = (
            fold_scanner(&idx[..c1], cap),
            fold_scanner(&idx[c1..c2], cap),
            fold_scanner(&idx[c2..], cap),
        );
        let m = ScannerTracker::merge;
        let left = merged(&merged(&a, &b, m), &c, m);
        let right = merged(&a, &merged(&b, &c, m), m);
        prop_assert_eq!(&left, &right);
        prop_assert_eq!(&merged(&a, &b, m), &merged(&b, &a, m));
        prop_assert_eq!(&left, &fold_scanner(&idx, cap));
        prop_assert_eq!(left.report(), fold_scanner(&idx, cap).report());
    }
}
