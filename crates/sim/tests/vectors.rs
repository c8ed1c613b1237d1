//! Field-by-field checks of the simulated attack vectors against
//! `spec/attack-signatures.md`, checksum checks, a tshark "no malformed packet" check over
//! every vector and background kind, and a throughput note.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use floodtrace_sim::packet::{checksum, fold, sum_be};
use floodtrace_sim::rng::Rng;
use floodtrace_sim::vectors::*;
use floodtrace_wire::capture::{pcap_file_header, pcap_record_header};
use floodtrace_wire::{observe_frame, Encap, Frame, Observation};

const VICTIM: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

fn bots() -> Vec<(Ipv4Addr, u8)> {
    vec![
        (Ipv4Addr::new(177, 10, 20, 30), 51),
        (Ipv4Addr::new(186, 1, 2, 3), 47),
        (Ipv4Addr::new(113, 160, 5, 9), 55),
    ]
}

/// `n` frames per source, round-robin over `bots()`; returns (source index, frame).
fn generate(
    v: Vector,
    params: &VectorParams,
    n: usize,
    seed: u64,
) -> (AttackGen, Vec<(usize, Vec<u8>)>) {
    let mut rng = Rng::new(seed, 1);
    let mut g = AttackGen::new(v, params, true, &mut rng);
    let bots = bots();
    let mut states: Vec<SourceState> = bots
        .iter()
        .map(|&(a, t)| g.source(a, t, &mut rng))
        .collect();
    let mut frames = Vec::new();
    for i in 0..n * bots.len() {
        let k = i % bots.len();
        let mut out = Vec::new();
        g.frame(&mut states[k], VICTIM, &mut rng, &mut out);
        frames.push((k, out));
    }
    (g, frames)
}

fn observe(frame: &[u8]) -> Observation {
    match observe_frame(1, frame, 0, frame.len() as u32).expect("wire decodes the frame") {
        Frame::Ip(o) => o,
        Frame::NonIp { .. } => panic!("not IP"),
    }
}

/// Raw IPv4 view of an Ethernet frame.
struct Ip<'a>(&'a [u8]);

impl<'a> Ip<'a> {
    fn of(frame: &'a [u8]) -> Self {
        assert_eq!(&frame[12..14], &[0x08, 0x00]);
        Ip(&frame[14..])
    }
    fn total_len(&self) -> usize {
        u16::from_be_bytes([self.0[2], self.0[3]]) as usize
    }
    fn id(&self) -> u16 {
        u16::from_be_bytes([self.0[4], self.0[5]])
    }
    fn df(&self) -> bool {
        self.0[6] & 0x40 != 0
    }
    fn mf(&self) -> bool {
        self.0[6] & 0x20 != 0
    }
    fn frag_off(&self) -> usize {
        (u16::from_be_bytes([self.0[6], self.0[7]]) & 0x1fff) as usize * 8
    }
    fn ttl(&self) -> u8 {
        self.0[8]
    }
    fn proto(&self) -> u8 {
        self.0[9]
    }
    fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.0[12], self.0[13], self.0[14], self.0[15])
    }
    fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.0[16], self.0[17], self.0[18], self.0[19])
    }
    fn tos(&self) -> u8 {
        self.0[1]
    }
    fn l4(&self) -> &'a [u8] {
        &self.0[(self.0[0] & 0xf) as usize * 4..self.total_len()]
    }
}

struct Tcp<'a>(&'a [u8]);

impl<'a> Tcp<'a> {
    fn sport(&self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }
    fn dport(&self) -> u16 {
        u16::from_be_bytes([self.0[2], self.0[3]])
    }
    fn seq(&self) -> u32 {
        u32::from_be_bytes([self.0[4], self.0[5], self.0[6], self.0[7]])
    }
    fn ack(&self) -> u32 {
        u32::from_be_bytes([self.0[8], self.0[9], self.0[10], self.0[11]])
    }
    fn doff(&self) -> usize {
        (self.0[12] >> 4) as usize
    }
    fn flags(&self) -> u8 {
        self.0[13]
    }
    fn window(&self) -> u16 {
        u16::from_be_bytes([self.0[14], self.0[15]])
    }
    fn urgent(&self) -> u16 {
        u16::from_be_bytes([self.0[18], self.0[19]])
    }
    fn options(&self) -> &'a [u8] {
        &self.0[20..(self.doff() * 4).min(self.0.len())]
    }
    fn payload(&self) -> &'a [u8] {
        &self.0[(self.doff() * 4).min(self.0.len())..]
    }
}

fn udp_ports(l4: &[u8]) -> (u16, u16) {
    (
        u16::from_be_bytes([l4[0], l4[1]]),
        u16::from_be_bytes([l4[2], l4[3]]),
    )
}

fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u64 {
    u32::from(src) as u64 + u32::from(dst) as u64 + proto as u64 + len as u64
}

/// Checks the IPv4 header checksum and, for unfragmented packets, the L4 checksum
/// (recursing into GRE). Returns a description of the first problem.
fn verify_ip(ip: &[u8]) -> Result<(), String> {
    let ip = Ip(ip);
    if checksum(&ip.0[..20]) != 0 {
        return Err("bad IPv4 header checksum".into());
    }
    if ip.mf() || ip.frag_off() > 0 {
        return Ok(());
    }
    let l4 = ip.l4();
    match ip.proto() {
        6 | 17 => {
            if ip.proto() == 17 && u16::from_be_bytes([l4[4], l4[5]]) as usize != l4.len() {
                return Err("UDP length".into());
            }
            if fold(sum_be(l4, pseudo(ip.src(), ip.dst(), ip.proto(), l4.len()))) != 0 {
                return Err(format!("bad L4 checksum (proto {})", ip.proto()));
            }
        }
        1 => {
            if checksum(l4) != 0 {
                return Err("bad ICMP checksum".into());
            }
        }
        47 => {
            let ptype = u16::from_be_bytes([l4[2], l4[3]]);
            let inner = match ptype {
                0x0800 => &l4[4..],
                0x6558 => &l4[4 + 14..],
                _ => return Err("GRE type".into()),
            };
            return verify_ip(inner);
        }
        p => return Err(format!("unexpected proto {p}")),
    }
    Ok(())
}

fn verify_frame(frame: &[u8]) {
    assert_eq!(&frame[12..14], &[8, 0]);
    let ip = Ip::of(frame);
    assert_eq!(
        ip.total_len(),
        frame.len() - 14,
        "IP total length = frame length - 14"
    );
    if let Err(e) = verify_ip(&frame[14..]) {
        panic!("{e}: {:02x?}", &frame[..frame.len().min(80)]);
    }
    let _ = observe(frame);
}

fn distinct<T: std::hash::Hash + Eq>(it: impl Iterator<Item = T>) -> usize {
    it.collect::<HashSet<_>>().len()
}

/// Byte entropy in bits per byte over all payloads.
fn entropy(payloads: &[&[u8]]) -> f64 {
    let mut counts = [0u64; 256];
    let mut n = 0u64;
    for p in payloads {
        for &b in *p {
            counts[b as usize] += 1;
            n += 1;
        }
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

fn check_common_raw(frames: &[(usize, Vec<u8>)], df: bool) {
    let bots = bots();
    for (k, f) in frames {
        verify_frame(f);
        let ip = Ip::of(f);
        assert_eq!(ip.src(), bots[*k].0);
        assert_eq!(ip.ttl(), bots[*k].1, "TTL as given");
        assert_eq!(ip.tos(), 0);
        assert_eq!(ip.0[0], 0x45, "IHL 5");
        assert_eq!(ip.df(), df, "DF");
    }
    // IP ID random per packet.
    let ids = distinct(frames.iter().map(|(_, f)| Ip::of(f).id()));
    assert!(
        ids > frames.len() * 9 / 10,
        "IP ID random per packet ({ids} distinct of {})",
        frames.len()
    );
}

#[test]
fn names_round_trip() {
    for v in Vector::ALL {
        assert_eq!(Vector::from_name(v.name()), Some(v));
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, format!("\"{}\"", v.name()));
    }
    assert_eq!(Vector::UdpPlain.name(), "udp_plain");
    assert_eq!(Vector::GreIp.mirai_vector(), Some("greip"));
    assert_eq!(Vector::UdpPlain.mirai_vector(), Some("udpplain"));
    assert_eq!(Vector::DnsWaterTorture.mirai_vector(), Some("dns"));
    assert_eq!(Vector::TelnetScan.mirai_vector(), None);
    assert_eq!(Vector::Vse.class_name(), "udp_flood");
    assert_eq!(Vector::WsdReflection.class_name(), "wsd_reflection");
    assert_eq!(Vector::TelnetScan.class_name(), "telnet_scanning");
    assert_eq!(Vector::Stomp.class_name(), "tcp_stomp");
    let mirai: Vec<_> = Vector::ALL
        .iter()
        .filter(|v| v.mirai_vector().is_some())
        .collect();
    assert_eq!(mirai.len(), 10);
    let spoof: Vec<_> = Vector::ALL
        .iter()
        .filter(|v| v.spoofable())
        .map(|v| v.name())
        .collect();
    assert_eq!(spoof, ["syn", "ack", "udp", "gre_ip", "gre_eth"]);
    assert!(Vector::SynAckReflection.is_reflection() && !Vector::Syn.is_reflection());
    let p: VectorParams = toml_like_params();
    assert_eq!(p.dport, Some(8080));
}

fn toml_like_params() -> VectorParams {
    serde_json::from_str(r#"{"dport": 8080, "domain": "victim.example", "gcip": true}"#).unwrap()
}

#[test]
fn syn_flood() {
    let (g, frames) = generate(Vector::Syn, &VectorParams::default(), 200, 11);
    check_common_raw(&frames, true);
    let mss = g.syn_mss();
    assert!((1400..=1415).contains(&mss));
    let ts = g.syn_tsval().to_be_bytes();
    let m = mss.to_be_bytes();
    let want = [
        2, 4, m[0], m[1], 4, 2, 8, 10, ts[0], ts[1], ts[2], ts[3], 0, 0, 0, 0, 1, 3, 3, 6,
    ];
    for (_, f) in &frames {
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), 60);
        assert_eq!(ip.proto(), 6);
        let t = Tcp(ip.l4());
        assert_eq!(t.flags(), 0x02, "SYN only");
        assert_eq!(t.window(), 0, "window 0");
        assert_eq!(t.ack(), 0);
        assert_eq!(t.urgent(), 0);
        assert_eq!(t.doff(), 10);
        assert_eq!(
            t.options(),
            &want,
            "MSS, SACK_PERM, TS(TSval per attack, TSecr 0), NOP, WS 6"
        );
        assert!(t.payload().is_empty());
        let o = observe(f);
        assert_eq!(
            (o.tcp_options.mss, o.tcp_options.wscale, o.tcp_options.count),
            (mss, 6, 5)
        );
        assert_eq!(o.tcp_options.kinds, 0x02_04_08_01_03, "option order");
    }
    let n = frames.len();
    assert!(distinct(frames.iter().map(|(_, f)| Tcp(Ip::of(f).l4()).sport())) > n * 9 / 10);
    assert!(distinct(frames.iter().map(|(_, f)| Tcp(Ip::of(f).l4()).dport())) > n * 9 / 10);
    assert!(distinct(frames.iter().map(|(_, f)| Tcp(Ip::of(f).l4()).seq())) > n * 9 / 10);
    // Another attack draws other constants.
    let mss_set: HashSet<_> = (0..40)
        .map(|s| {
            AttackGen::new(
                Vector::Syn,
                &VectorParams::default(),
                true,
                &mut Rng::new(s, 9),
            )
            .syn_mss()
        })
        .collect();
    assert!(mss_set.len() > 8 && mss_set.iter().all(|m| (1400..=1415).contains(m)));
}

#[test]
fn ack_flood() {
    let (g, frames) = generate(Vector::Ack, &VectorParams::default(), 200, 12);
    check_common_raw(&frames, false);
    for (_, f) in &frames {
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), 552);
        let t = Tcp(ip.l4());
        assert_eq!(t.flags(), 0x10, "ACK only");
        assert_eq!(t.doff(), 5);
        assert_eq!(t.window(), g.window(), "window constant per attack");
        assert_eq!(t.payload().len(), 512);
    }
    let n = frames.len();
    for get in [
        |t: &Tcp| t.seq(),
        |t: &Tcp| t.ack(),
        |t: &Tcp| t.dport() as u32,
        |t: &Tcp| t.sport() as u32,
    ] {
        assert!(distinct(frames.iter().map(|(_, f)| get(&Tcp(Ip::of(f).l4())))) > n * 9 / 10);
    }
    let payloads: Vec<&[u8]> = frames
        .iter()
        .map(|(_, f)| Tcp(Ip::of(f).l4()).payload())
        .collect();
    assert!(
        entropy(&payloads) > 7.9,
        "payload re-drawn, full byte range"
    );
    assert_eq!(distinct(payloads.iter()), n);
}

#[test]
fn stomp_flood() {
    let (g, frames) = generate(Vector::Stomp, &VectorParams::default(), 200, 13);
    let bots = bots();
    for (k, (addr, ttl)) in bots.iter().enumerate() {
        let mine: Vec<&Vec<u8>> = frames
            .iter()
            .filter(|(i, _)| *i == k)
            .map(|(_, f)| f)
            .collect();
        for f in &mine {
            verify_frame(f);
            let ip = Ip::of(f);
            assert_eq!(
                (ip.src(), ip.dst(), ip.ttl(), ip.df()),
                (*addr, VICTIM, *ttl, true)
            );
        }
        // Handshake: kernel SYN then ACK, consecutive kernel IP IDs.
        let syn = Tcp(Ip::of(mine[0]).l4());
        let ack = Tcp(Ip::of(mine[1]).l4());
        assert_eq!(syn.flags(), 0x02);
        assert_eq!(syn.window(), 64240);
        assert_eq!(&syn.options()[..8], &[2, 4, 5, 0xb4, 4, 2, 8, 10]);
        assert_eq!(ack.flags(), 0x10);
        assert_eq!(ack.seq(), syn.seq().wrapping_add(1));
        assert_eq!(Ip::of(mine[1]).id(), Ip::of(mine[0]).id().wrapping_add(1));
        let server_isn = ack.ack().wrapping_sub(1);
        let flood = &mine[2..];
        for (j, f) in flood.iter().enumerate() {
            let ip = Ip::of(f);
            assert_eq!(ip.total_len(), 808);
            let t = Tcp(ip.l4());
            assert_eq!(
                (t.sport(), t.dport()),
                (syn.sport(), syn.dport()),
                "same 4-tuple"
            );
            assert_eq!(t.flags(), 0x18, "ACK+PSH");
            assert_eq!(t.doff(), 8, "data offset 8");
            assert_eq!(
                ip.l4().len() - 20,
                768,
                "768 payload bytes after the 20-byte header"
            );
            assert_eq!(t.window(), g.window());
            // Big-endian bot: 16-bit values in the low half, seq +1 per packet.
            assert_eq!(t.seq(), (server_isn as u16).wrapping_add(j as u16) as u32);
            assert_eq!(t.ack(), syn.seq().wrapping_add(1) as u16 as u32);
        }
        assert!(distinct(flood.iter().map(|f| Ip::of(f).id())) > flood.len() * 9 / 10);
        let payloads: Vec<&[u8]> = flood.iter().map(|f| &Ip::of(f).l4()[20..]).collect();
        assert!(entropy(&payloads) > 7.9);
    }
}

#[test]
fn udp_flood() {
    let (_, frames) = generate(Vector::Udp, &VectorParams::default(), 200, 14);
    check_common_raw(&frames, false);
    let n = frames.len();
    for (_, f) in &frames {
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), 540);
        assert_eq!(ip.proto(), 17);
    }
    assert!(distinct(frames.iter().map(|(_, f)| udp_ports(Ip::of(f).l4()).0)) > n * 9 / 10);
    assert!(distinct(frames.iter().map(|(_, f)| udp_ports(Ip::of(f).l4()).1)) > n * 9 / 10);
    let payloads: Vec<&[u8]> = frames.iter().map(|(_, f)| &Ip::of(f).l4()[8..]).collect();
    assert!(entropy(&payloads) > 7.9);
    let p = VectorParams {
        payload_len: Some(5000),
        dport: Some(80),
        ..Default::default()
    };
    let (_, frames) = generate(Vector::Udp, &p, 5, 14);
    for (_, f) in &frames {
        assert_eq!(Ip::of(f).total_len(), 20 + 8 + 1460, "len capped at 1460");
        assert_eq!(udp_ports(Ip::of(f).l4()).1, 80);
    }
}

#[test]
fn udp_plain_flood() {
    let (_, frames) = generate(Vector::UdpPlain, &VectorParams::default(), 200, 15);
    let mut tuples = HashMap::new();
    for (k, f) in &frames {
        verify_frame(f);
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), 540);
        assert!(ip.df(), "Linux connected UDP socket sets DF");
        assert_eq!(ip.ttl(), bots()[*k].1);
        let t = (ip.src(), ip.dst(), udp_ports(ip.l4()));
        assert_eq!(*tuples.entry(*k).or_insert(t), t, "fixed 5-tuple per bot");
    }
    assert_eq!(distinct(tuples.values()), 3);
    for k in 0..3 {
        let ids: Vec<u16> = frames
            .iter()
            .filter(|(i, _)| *i == k)
            .map(|(_, f)| Ip::of(f).id())
            .collect();
        assert!(
            ids.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
            "kernel IP ID counter"
        );
    }
    let payloads: Vec<&[u8]> = frames.iter().map(|(_, f)| &Ip::of(f).l4()[8..]).collect();
    assert!(entropy(&payloads) > 7.9);
}

#[test]
fn vse_flood() {
    let (_, frames) = generate(Vector::Vse, &VectorParams::default(), 200, 16);
    check_common_raw(&frames, false);
    for (_, f) in &frames {
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), 53);
        assert_eq!(udp_ports(ip.l4()).1, 27015);
        assert_eq!(&ip.l4()[8..], b"\xff\xff\xff\xffTSource Engine Query\0");
    }
    assert!(distinct(frames.iter().map(|(_, f)| udp_ports(Ip::of(f).l4()).0)) > 500);
}

fn check_dns(frames: &[(usize, Vec<u8>)], domain: &str, resolver: Option<Ipv4Addr>) {
    check_common_raw(frames, false);
    let mut per_bot = HashMap::new();
    let mut labels = HashSet::new();
    for (k, f) in frames {
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), 59 + domain.len());
        assert_ne!(ip.dst(), VICTIM, "target IP ignored");
        match resolver {
            Some(r) => assert_eq!(ip.dst(), r),
            None => assert!(MIRAI_RESOLVERS.contains(&ip.dst())),
        }
        assert_eq!(
            *per_bot.entry(*k).or_insert(ip.dst()),
            ip.dst(),
            "resolver fixed per bot"
        );
        let l4 = ip.l4();
        assert_eq!(udp_ports(l4).1, 53);
        let d = &l4[8..];
        assert_eq!(
            &d[2..12],
            &[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0],
            "RD only, QD 1, no EDNS"
        );
        assert_eq!(d[12], 12);
        let label = &d[13..25];
        assert!(label.iter().all(|c| DNS_LABEL_ALPHABET.contains(c)));
        labels.insert(label.to_vec());
        let mut want = Vec::new();
        for l in domain.split('.') {
            want.push(l.len() as u8);
            want.extend_from_slice(l.as_bytes());
        }
        want.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(&d[25..], &want[..]);
    }
    assert_eq!(labels.len(), frames.len(), "every qname unique");
    assert!(
        distinct(
            frames
                .iter()
                .map(|(_, f)| u16::from_be_bytes([Ip::of(f).l4()[8], Ip::of(f).l4()[9]]))
        ) > frames.len() * 9 / 10
    );
}

#[test]
fn dns_water_torture() {
    let (_, frames) = generate(Vector::DnsWaterTorture, &VectorParams::default(), 200, 17);
    check_dns(&frames, "example.com", None);
    assert_eq!(
        Ip::of(&frames[0].1).total_len(),
        70,
        "70 bytes for an 11-char domain"
    );
    let all: Vec<u8> = frames
        .iter()
        .flat_map(|(_, f)| Ip::of(f).l4()[21..33].to_vec())
        .collect();
    assert!(!all.iter().any(|c| b"xyz9".contains(c)));
    let p = VectorParams {
        domain: Some("victim-zone.net".into()),
        resolver: Some(Ipv4Addr::new(9, 9, 9, 9)),
        ..Default::default()
    };
    let (_, frames) = generate(Vector::DnsWaterTorture, &p, 100, 18);
    check_dns(&frames, "victim-zone.net", Some(Ipv4Addr::new(9, 9, 9, 9)));
}

fn check_gre(eth: bool, gcip: bool) {
    let v = if eth { Vector::GreEth } else { Vector::GreIp };
    let p = VectorParams {
        gcip: Some(gcip),
        ..Default::default()
    };
    let (g, frames) = generate(v, &p, 200, 19);
    check_common_raw(&frames, true);
    let mut macs = HashSet::new();
    let mut inner_dsts = HashSet::new();
    for (_, f) in &frames {
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), if eth { 578 } else { 564 });
        assert_eq!(ip.proto(), 47);
        let l4 = ip.l4();
        assert_eq!(
            &l4[..4],
            if eth {
                &[0, 0, 0x65, 0x58]
            } else {
                &[0, 0, 0x08, 0x00]
            }
        );
        let inner = if eth {
            let e = &l4[4..18];
            macs.insert(e[..12].to_vec());
            assert_eq!(&e[12..14], &[8, 0]);
            &l4[18..]
        } else {
            &l4[4..]
        };
        let inn = Ip(inner);
        assert_eq!(inn.proto(), 17);
        assert_eq!(
            (inn.ttl(), inn.df(), inn.tos()),
            (64, true, 0),
            "inner TOS/TTL/DF as sent"
        );
        assert_eq!(
            inn.src(),
            g.gre_inner_src(),
            "inner source fixed per attack"
        );
        assert_eq!(
            inn.id().wrapping_add(ip.id()),
            999,
            "inner + outer IP ID = 999 mod 65536"
        );
        assert_eq!(inn.total_len(), 540);
        assert_eq!(inn.l4().len(), 520);
        if gcip {
            assert_eq!(inn.dst(), ip.dst());
        }
        inner_dsts.insert(inn.dst());
        let o = observe(f);
        assert_eq!(o.encap, if eth { Encap::GreEth } else { Encap::GreIp });
        assert_eq!(o.inner.proto, 17);
    }
    if eth {
        assert_eq!(macs.len(), frames.len(), "random inner MACs per packet");
    }
    if !gcip {
        assert!(
            inner_dsts.len() > frames.len() * 9 / 10,
            "inner destination random per packet"
        );
    }
}

#[test]
fn gre_ip_flood() {
    check_gre(false, false);
    check_gre(false, true);
}

#[test]
fn gre_eth_flood() {
    check_gre(true, false);
    check_gre(true, true);
}

#[test]
fn http_flood() {
    let (_, frames) = generate(Vector::Http, &VectorParams::default(), 200, 20);
    let mut uas = HashSet::new();
    for k in 0..3 {
        let mine: Vec<&Vec<u8>> = frames
            .iter()
            .filter(|(i, _)| *i == k)
            .map(|(_, f)| f)
            .collect();
        for conn in mine.chunks(4) {
            for f in conn {
                verify_frame(f);
                let ip = Ip::of(f);
                assert!(ip.df());
                assert_eq!(ip.ttl(), bots()[k].1);
                assert_eq!(Tcp(ip.l4()).dport(), 80);
            }
            if conn.len() < 4 {
                continue;
            }
            let t: Vec<Tcp> = conn.iter().map(|f| Tcp(Ip::of(f).l4())).collect();
            assert_eq!(
                t.iter().map(|t| t.flags()).collect::<Vec<_>>(),
                [0x02, 0x10, 0x18, 0x11],
                "SYN, ACK, PSH+ACK request, FIN+ACK"
            );
            assert!(t.iter().all(|x| x.sport() == t[0].sport()));
            assert_eq!(t[1].seq(), t[0].seq().wrapping_add(1));
            assert_eq!(t[2].seq(), t[1].seq());
            let req = t[2].payload();
            assert_eq!(t[3].seq(), t[2].seq().wrapping_add(req.len() as u32));
            let text = std::str::from_utf8(req).unwrap();
            let lines: Vec<&str> = text.split("\r\n").collect();
            assert_eq!(lines[0], "GET / HTTP/1.1");
            let ua = lines[1].strip_prefix("User-Agent: ").unwrap();
            assert!(MIRAI_USER_AGENTS.contains(&ua));
            uas.insert(ua.to_string());
            assert_eq!(lines[2], format!("Host: {VICTIM}"));
            assert_eq!(lines[3], "Connection: keep-alive");
            assert_eq!(lines[4], "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8");
            assert_eq!(lines[5], "Accept-Language: en-US,en;q=0.8");
            assert_eq!(&lines[6..], ["", ""]);
            assert!(!text.contains("Accept-Encoding"));
            let ids: Vec<u16> = conn.iter().map(|f| Ip::of(f).id()).collect();
            assert!(
                ids.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
                "kernel IP IDs per connection"
            );
        }
    }
    assert_eq!(
        uas.len(),
        5,
        "all five user agents appear across connections"
    );
    let p = VectorParams {
        domain: Some("shop.example".into()),
        path: Some("/login".into()),
        dport: Some(8080),
        ..Default::default()
    };
    let (_, frames) = generate(Vector::Http, &p, 4, 21);
    let req = std::str::from_utf8(Tcp(Ip::of(&frames[6].1).l4()).payload())
        .unwrap()
        .to_string();
    assert!(
        req.starts_with("GET /login HTTP/1.1\r\n") && req.contains("\r\nHost: shop.example\r\n"),
        "{req}"
    );
    assert_eq!(Tcp(Ip::of(&frames[6].1).l4()).dport(), 8080);
}

#[test]
fn telnet_scanner() {
    let mut rng = Rng::new(5, 5);
    let bot = Ipv4Addr::new(190, 20, 30, 40);
    let mut c2323 = 0;
    let mut consts = HashSet::new();
    for _ in 0..5000 {
        let mut out = Vec::new();
        let dst = scan_frame(bot, 44, &mut rng, &mut out);
        verify_frame(&out);
        let ip = Ip::of(&out);
        assert_eq!(
            (ip.src(), ip.dst(), ip.ttl(), ip.df(), ip.total_len()),
            (bot, dst, 44, false, 40)
        );
        assert!(!scanner_excluded(dst));
        let [a, b, _, _] = dst.octets();
        assert!(a < 224 && a != 10 && a != 127 && !(a == 192 && b == 168));
        let t = Tcp(ip.l4());
        assert_eq!(t.seq(), u32::from(dst), "seq == destination address");
        assert_eq!(&ip.l4()[4..8], &dst.octets());
        assert_eq!((t.flags(), t.ack(), t.doff()), (0x02, 0, 5));
        assert!(t.dport() == 23 || t.dport() == 2323);
        c2323 += (t.dport() == 2323) as u32;
        assert!(t.sport() >= 1024);
        consts.insert((t.sport(), t.window()));
    }
    assert!((400..600).contains(&c2323), "≈10 % to 2323: {c2323}");
    assert_eq!(
        consts.len(),
        1,
        "window and source port constant per scanner"
    );
    let mut out = Vec::new();
    scan_frame(Ipv4Addr::new(190, 20, 30, 41), 44, &mut rng, &mut out);
    let t = Tcp(Ip::of(&out).l4());
    assert!(!consts.contains(&(t.sport(), t.window())));
    // As a wave vector: destination given, every 10th probe to 2323.
    let (_, frames) = generate(Vector::TelnetScan, &VectorParams::default(), 30, 22);
    check_common_raw(&frames, false);
    let mine: Vec<_> = frames.iter().filter(|(k, _)| *k == 0).collect();
    for (j, (_, f)) in mine.iter().enumerate() {
        let t = Tcp(Ip::of(f).l4());
        assert_eq!(t.seq(), u32::from(VICTIM));
        assert_eq!(t.dport(), if j % 10 == 0 { 2323 } else { 23 });
    }
}

#[test]
fn scanner_exclusions() {
    for (a, ex) in [
        ("10.1.2.3", true),
        ("127.0.0.1", true),
        ("169.254.1.1", false), // the source's quirk
        ("169.255.1.1", true),
        ("100.127.0.1", false),
        ("100.126.0.1", true),
        ("172.31.0.1", true),
        ("198.19.0.1", true),
        ("224.0.0.1", true),
        ("8.8.8.8", false),
    ] {
        assert_eq!(scanner_excluded(a.parse().unwrap()), ex, "{a}");
    }
}

/// Reassembles the UDP datagrams of fragmented and unfragmented frames; checks checksums.
fn reassemble(frames: &[(usize, Vec<u8>)]) -> Vec<(Ipv4Addr, Vec<u8>)> {
    let mut pending: HashMap<(Ipv4Addr, u16), Vec<u8>> = HashMap::new();
    let mut done = Vec::new();
    for (_, f) in frames {
        verify_frame(f);
        let ip = Ip::of(f);
        assert_eq!(ip.proto(), 17);
        let key = (ip.src(), ip.id());
        let buf = pending.entry(key).or_default();
        assert_eq!(buf.len(), ip.frag_off(), "fragments in order");
        buf.extend_from_slice(ip.l4());
        if !ip.mf() {
            let d = pending.remove(&key).unwrap();
            assert_eq!(
                u16::from_be_bytes([d[4], d[5]]) as usize,
                d.len(),
                "UDP length"
            );
            assert_eq!(
                fold(sum_be(&d, pseudo(ip.src(), ip.dst(), 17, d.len()))),
                0,
                "UDP checksum of reassembled datagram"
            );
            done.push((ip.src(), d));
        }
    }
    done
}

#[test]
fn reflections_and_fragments() {
    for (v, port) in [
        (Vector::DnsReflection, 53),
        (Vector::NtpReflection, 123),
        (Vector::MemcachedReflection, 11211),
        (Vector::SsdpReflection, 1900),
        (Vector::CldapReflection, 389),
        (Vector::SnmpReflection, 161),
        (Vector::ChargenReflection, 19),
        (Vector::WsdReflection, 3702),
    ] {
        let (_, frames) = generate(v, &VectorParams::default(), 60, 30);
        let dgrams = reassemble(&frames);
        assert!(!dgrams.is_empty());
        for (_, d) in &dgrams {
            assert_eq!(udp_ports(d).0, port, "{v:?}: sport is the service port");
            let p = &d[8..];
            match v {
                Vector::DnsReflection => {
                    assert_eq!(p[2] & 0x80, 0x80);
                    assert!(d.len() > 2000, "large ANY answer");
                }
                Vector::NtpReflection => {
                    assert!(p[0] == 0xd7 || p[0] == 0x97);
                    assert_eq!((p[2], p[3]), (3, 42));
                    assert_eq!(p.len(), 8 + 6 * 72);
                }
                Vector::MemcachedReflection => {
                    assert_eq!(&p[6..8], &[0, 0]);
                    assert_eq!(p.len(), 1400);
                }
                Vector::SsdpReflection => assert!(p.starts_with(b"HTTP/1.1 200 OK\r\n")),
                Vector::CldapReflection => {
                    assert_eq!(p[0], 0x30);
                    assert!(d.len() > 1500);
                }
                Vector::SnmpReflection => assert!(p.windows(8).any(|w| w == b"\x04\x06public")),
                Vector::ChargenReflection => assert!(p
                    .iter()
                    .all(|&c| c == b'\r' || c == b'\n' || (0x20..0x7f).contains(&c))),
                Vector::WsdReflection => assert!(p.starts_with(b"<?xml")),
                _ => unreachable!(),
            }
        }
        for (_, f) in &frames {
            assert_eq!(Ip::of(f).dst(), VICTIM);
            assert!(f.len() <= 1514);
        }
    }
    // udp_fragment: first fragment with UDP header, then later fragments.
    let (_, frames) = generate(Vector::UdpFragment, &VectorParams::default(), 40, 31);
    let dgrams = reassemble(&frames);
    assert!(dgrams.iter().all(|(_, d)| d.len() == 8 + 2952));
    let o: Vec<Observation> = frames.iter().map(|(_, f)| observe(f)).collect();
    assert!(o
        .iter()
        .any(|o| o.fragment == floodtrace_wire::Fragment::First));
    assert!(o
        .iter()
        .any(|o| o.fragment == floodtrace_wire::Fragment::Later));
}

#[test]
fn syn_ack_reflection_and_icmp() {
    let (_, frames) = generate(Vector::SynAckReflection, &VectorParams::default(), 100, 32);
    let mut retrans = 0;
    let mut seen = HashSet::new();
    for (_, f) in &frames {
        verify_frame(f);
        let t = Tcp(Ip::of(f).l4());
        assert_eq!(t.flags(), 0x12);
        assert!([80, 443, 22, 21, 25, 8080, 3389, 53].contains(&t.sport()));
        if !seen.insert((Ip::of(f).src(), t.seq())) {
            retrans += 1;
        }
    }
    assert!(retrans > 20, "retransmitted SYN-ACKs present");
    let (_, frames) = generate(Vector::Icmp, &VectorParams::default(), 100, 33);
    for (_, f) in &frames {
        verify_frame(f);
        let ip = Ip::of(f);
        assert_eq!(ip.total_len(), 84);
        assert_eq!(ip.l4()[0], 8);
    }
}

#[test]
fn background_is_valid() {
    let mut rng = Rng::new(40, 40);
    let client = Ipv4Addr::new(198, 51, 100, 77);
    for kind in [
        BackgroundKind::Https,
        BackgroundKind::Http,
        BackgroundKind::Dns,
        BackgroundKind::Quic,
        BackgroundKind::Ntp,
        BackgroundKind::Icmp,
    ] {
        for i in 0..300 {
            let mut out = Vec::new();
            let server = Ipv4Addr::new(93, 184, 216, (i % 7) as u8);
            background_frame(kind, client, server, i % 2 == 0, 57, &mut rng, &mut out);
            verify_frame(&out);
            if kind == BackgroundKind::Https || kind == BackgroundKind::Http {
                let t = Tcp(Ip::of(&out).l4());
                if t.flags() == 0x02 {
                    assert_eq!(t.window(), 64240);
                    assert_eq!(&t.options()[..8], &[2, 4, 5, 0xb4, 4, 2, 8, 10]);
                }
                assert!(t.payload().len() <= 1400);
            }
        }
    }
}

#[test]
fn deterministic() {
    let a = generate(Vector::GreEth, &VectorParams::default(), 20, 99).1;
    let b = generate(Vector::GreEth, &VectorParams::default(), 20, 99).1;
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------------------
// tshark: no malformed packets, no bad checksums.

fn write_pcap(path: &PathBuf, frames: &[Vec<u8>]) {
    let mut f = pcap_file_header(1, 65535, false).to_vec();
    for (i, fr) in frames.iter().enumerate() {
        let ts = (1_700_000_000 + i as u64 / 1000) * 1_000_000_000 + (i as u64 % 1000) * 1_000_000;
        let len = fr.len() as u32;
        f.extend_from_slice(&pcap_record_header(ts, len, len, false));
        f.extend_from_slice(fr);
    }
    std::fs::write(path, f).unwrap();
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark").args(args).output().unwrap_or_else(|e| {
        panic!("tshark is required for this test (install wireshark's tshark, e.g. `apt-get install tshark`): {e}")
    });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const CHECKSUM_PREFS: [&str; 6] = [
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
];

/// Frames of every vector and background kind, by name.
fn corpus() -> Vec<(String, Vec<Vec<u8>>)> {
    let mut sets = Vec::new();
    for v in Vector::ALL {
        let n = match v {
            Vector::MemcachedReflection | Vector::NtpReflection => 150,
            _ => 60,
        };
        let (_, frames) = generate(v, &VectorParams::default(), n, 50);
        sets.push((
            v.name().to_string(),
            frames.into_iter().map(|(_, f)| f).collect(),
        ));
    }
    let mut rng = Rng::new(51, 51);
    let mut frames = Vec::new();
    let mut scans = Vec::new();
    for i in 0..200 {
        let mut out = Vec::new();
        scan_frame(Ipv4Addr::new(177, 1, 2, 3), 50, &mut rng, &mut out);
        scans.push(out);
        for kind in [
            BackgroundKind::Https,
            BackgroundKind::Http,
            BackgroundKind::Dns,
            BackgroundKind::Quic,
            BackgroundKind::Ntp,
            BackgroundKind::Icmp,
        ] {
            let mut out = Vec::new();
            background_frame(
                kind,
                Ipv4Addr::new(198, 51, 100, 20 + (i % 5) as u8),
                Ipv4Addr::new(93, 184, 216, 34),
                i % 2 == 0,
                57,
                &mut rng,
                &mut out,
            );
            frames.push(out);
        }
    }
    sets.push(("scan_frame".into(), scans));
    sets.push(("background".into(), frames));
    sets
}

/// Protocols kept in the transport-only run (everything else is disabled).
const TRANSPORT: [&str; 9] = [
    "frame",
    "eth",
    "ethertype",
    "ip",
    "tcp",
    "udp",
    "gre",
    "icmp",
    "data",
];

/// Application protocols a vector's frames are meant to carry (a malformed packet inside one
/// of these is our bug; inside another one it is a dissector picked by a random port).
fn expected_apps(name: &str) -> &'static [&'static str] {
    match name {
        "dns_water_torture" | "dns_reflection" => &["dns"],
        "http" => &["http"],
        "ntp_reflection" => &["ntp"],
        "memcached_reflection" => &["memcache"],
        "ssdp_reflection" => &["ssdp"],
        "cldap_reflection" => &["cldap"],
        "snmp_reflection" => &["snmp"],
        "chargen_reflection" => &["chargen"],
        "wsd_reflection" => &["xml"],
        "background" => &["tls", "http", "dns", "quic", "ntp"],
        _ => &[],
    }
}

/// Frames with an error-level expert item: (frame number, protocol chain, error messages
/// joined with "; ").
fn tshark_errors(pcap: &str, extra: &[String]) -> Vec<(String, String, String)> {
    let mut args: Vec<String> = vec!["-r".into(), pcap.into()];
    args.extend(CHECKSUM_PREFS.iter().map(|s| s.to_string()));
    args.extend(extra.iter().cloned());
    args.extend(
        [
            "-Y",
            "_ws.expert.severity >= 8388608",
            "-T",
            "fields",
            "-E",
            "separator=/t",
            "-E",
            "aggregator=|",
            "-e",
            "frame.number",
            "-e",
            "frame.protocols",
            "-e",
            "_ws.expert.severity",
            "-e",
            "_ws.expert.message",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    tshark(&refs)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("");
            let errors: Vec<&str> = get(2)
                .split('|')
                .zip(get(3).split('|'))
                .filter(|(sev, _)| sev.parse::<u32>().is_ok_and(|v| v >= 8_388_608))
                .map(|(_, m)| m)
                .collect();
            (get(0).to_string(), get(1).to_string(), errors.join("; "))
        })
        .collect()
}

/// The stomp quirk: data offset 8 with no options written makes tshark read the first 12
/// random payload bytes as TCP options; when those end in non-zero bytes after an EOL it
/// reports "Non-zero header padding" (the spec's "garbage options"), not a malformed packet.
fn stomp_quirk(name: &str, messages: &str) -> bool {
    name == "stomp" && messages.split("; ").all(|m| m == "Non-zero header padding")
}

#[test]
fn tshark_reports_no_malformed_packets() {
    let dir = std::env::temp_dir().join(format!("floodtrace-sim-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Transport-only run: disable every dissector above L4 (one flag per protocol).
    let protocols = tshark(&["-G", "protocols"]);
    let mut transport_only = Vec::new();
    for line in protocols.lines() {
        let Some(filter) = line.split('\t').nth(2) else {
            continue;
        };
        if !filter.starts_with("_ws") && !TRANSPORT.contains(&filter) {
            transport_only.push("--disable-protocol".to_string());
            transport_only.push(filter.to_string());
        }
    }
    let full = vec!["--enable-heuristic".to_string(), "xml_udp".to_string()];
    let mut problems = Vec::new();
    for (name, frames) in corpus() {
        let path = dir.join(format!("{name}.pcap"));
        write_pcap(&path, &frames);
        let p = path.to_str().unwrap();
        // -V over everything: count malformed packets and bad checksums.
        let mut args = vec!["-r", p, "-V", "--enable-heuristic", "xml_udp"];
        args.extend_from_slice(&CHECKSUM_PREFS);
        let verbose = tshark(&args);
        let malformed_lines = verbose
            .lines()
            .filter(|l| l.starts_with("[Malformed Packet"))
            .count();
        let bad_sum = verbose.matches("Status: Bad]").count();
        // 1. L2-L4 only: no error of any kind (except the documented stomp quirk).
        let transport: Vec<_> = tshark_errors(p, &transport_only)
            .into_iter()
            .filter(|(_, _, m)| !stomp_quirk(&name, m))
            .collect();
        // 2. Full dissection: no error inside the vector's own protocols or in L2-L4;
        //    errors of dissectors chosen only because a random port matched are noted.
        let mut ours = Vec::new();
        let mut by_port = Vec::new();
        let mut malformed = 0;
        for (n, chain, msg) in tshark_errors(p, &full) {
            malformed += msg.contains("Malformed") as usize;
            if stomp_quirk(&name, &msg) {
                continue;
            }
            let protos: Vec<&str> = chain.split(':').collect();
            let last = protos.last().copied().unwrap_or("");
            if TRANSPORT.contains(&last) || protos.iter().any(|x| expected_apps(&name).contains(x))
            {
                ours.push(format!("frame {n} [{chain}] {msg}"));
            } else {
                by_port.push(format!("frame {n} [{chain}]"));
            }
        }
        println!(
            "{name}: {} frames; malformed frames (all dissectors) {malformed} (-V: {malformed_lines}), of them in dissectors picked by a random port {}: {by_port:?}; bad checksums {bad_sum}; L2-L4 errors {}; errors in own protocols {}",
            frames.len(),
            by_port.len(),
            transport.len(),
            ours.len()
        );
        if bad_sum > 0
            || !transport.is_empty()
            || !ours.is_empty()
            || malformed_lines > by_port.len()
        {
            problems.push(format!(
                "{name}: bad checksums {bad_sum}, L2-L4 errors {transport:?}, errors in own protocols {ours:?} (see {})",
                path.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "tshark found problems:\n{}",
        problems.join("\n")
    );
    // Set FLOODTRACE_KEEP_PCAPS=1 to keep the captures for inspection.
    if std::env::var_os("FLOODTRACE_KEEP_PCAPS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("captures kept in {}", dir.display());
    }
}

// ---------------------------------------------------------------------------------------
// Throughput note (no assertion): run with `cargo test --release -- --nocapture throughput`.

#[test]
fn throughput_note() {
    for v in [Vector::Syn, Vector::Udp] {
        let mut rng = Rng::new(1, 1);
        let mut g = AttackGen::new(v, &VectorParams::default(), true, &mut rng);
        let mut s = g.source(Ipv4Addr::new(1, 2, 3, 4), 50, &mut rng);
        let mut out = Vec::with_capacity(2048);
        let n = 2_000_000u64;
        let mut bytes = 0u64;
        let t = std::time::Instant::now();
        for _ in 0..n {
            out.clear();
            g.frame(&mut s, VICTIM, &mut rng, &mut out);
            bytes += out.len() as u64;
        }
        let dt = t.elapsed().as_secs_f64();
        println!(
            "{}: {n} frames in {dt:.3} s = {:.2} M frames/s ({:.0} MB/s)",
            v.name(),
            n as f64 / dt / 1e6,
            bytes as f64 / dt / 1e6
        );
        std::hint::black_box(&out);
    }
}
