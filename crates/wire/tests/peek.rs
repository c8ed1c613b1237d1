//! `peek` on real payloads: packets of the shared captures (`../shared/data/pcap`, next to
//! this checkout; missing data is a failure, not a skip) decoded with `RecordReader` +
//! `observe_frame`, and their `Observation::app` checked against what tshark dissects in
//! the same frames. Then a property: peek of arbitrary bytes never panics.

use std::path::PathBuf;

use floodtrace_wire::capture::RecordReader;
use floodtrace_wire::peek::{domain_hash, fnv1a, AppHint, LabelClass, MemcachedBody, PayloadClass};
use floodtrace_wire::{fuzzing, observe_frame, Frame, Observation};
use proptest::prelude::*;

fn shared(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/pcap")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the shared test data (../shared/data next to this checkout) is \
             required by this test",
            path.display()
        )
    })
}

/// Every IP observation of a capture, with its 1-based frame number.
fn observations(rel: &str) -> Vec<(u64, Observation)> {
    let bytes = shared(rel);
    let mut reader = RecordReader::open(&bytes).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = reader.next() {
        let rec = rec.unwrap();
        if let Ok(Frame::Ip(obs)) = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len)
        {
            out.push((rec.number, obs));
        }
    }
    out
}

fn frame(obs: &[(u64, Observation)], number: u64) -> Observation {
    obs.iter()
        .find(|(n, _)| *n == number)
        .unwrap_or_else(|| panic!("no IP frame {number}"))
        .1
}

#[test]
fn memcached_tcp() {
    let obs = observations("misc/ndpi_memcached.cap");
    assert_eq!(
        obs.iter().map(|o| o.0).min(),
        Some(1),
        "frames count from 1"
    );
    // Frame 4: "stats" to 11211; frame 6: "STAT pid 8837 …" back (tshark: MEMCACHE).
    assert_eq!(
        frame(&obs, 4).app,
        AppHint::MemcachedRequest { framed: false }
    );
    assert_eq!(
        frame(&obs, 6).app,
        AppHint::MemcachedResponse {
            seq: 0,
            total: 0,
            body: MemcachedBody::Stat
        }
    );
    // Handshake and bare ACKs carry no payload.
    for n in [1, 2, 3, 5, 7] {
        assert_eq!(frame(&obs, n).app, AppHint::None, "frame {n}");
    }
}

#[test]
fn ntp_v3_server_is_mode_4_not_monlist() {
    let obs = observations("misc/ndpi_NTPv3.pcap");
    assert_eq!(frame(&obs, 1).app, AppHint::NtpMode(4));
}

#[test]
fn ssdp_m_search_by_content_on_a_non_ssdp_port() {
    // 42253 -> 32412 (Plex GDM), payload "M-SEARCH * HTTP/1.1\r\n": content, not port 1900.
    let obs = observations("misc/ndpi_ssdp-m-search.pcap");
    assert!(obs.len() >= 6);
    for (n, o) in &obs {
        assert_eq!((o.sport, o.dport), (42253, 32412));
        assert_eq!(o.app, AppHint::SsdpSearch, "frame {n}");
    }
}

#[test]
fn snmp_requests_and_responses() {
    let obs = observations("misc/ndpi_snmp.pcap");
    assert_eq!(frame(&obs, 1).app, AppHint::SnmpRequest { pdu: 0xa1 }); // get-next
    assert_eq!(frame(&obs, 2).app, AppHint::SnmpResponse);
    assert_eq!(frame(&obs, 3).app, AppHint::SnmpRequest { pdu: 0xa0 }); // get
    assert_eq!(frame(&obs, 4).app, AppHint::SnmpResponse);
}

#[test]
fn snmp_amplification_capture() {
    // tshark (outer packets): 4074 get-response, 2 getBulkRequest, 3 report PDUs, all from
    // sport 161; the rest are ICMP errors.
    let obs = observations("ddos/stopddos_amp.UDP.snmp.src161.pcapng");
    let udp: Vec<_> = obs.iter().filter(|(_, o)| o.proto == 17).collect();
    assert_eq!(udp.len(), 4079);
    let count = |want: AppHint| udp.iter().filter(|(_, o)| o.app == want).count();
    assert_eq!(count(AppHint::SnmpResponse), 4074);
    assert_eq!(count(AppHint::SnmpRequest { pdu: 0xa5 }), 2);
    assert_eq!(count(AppHint::SnmpRequest { pdu: 0xa8 }), 3);
    assert!(udp.iter().all(|(_, o)| o.sport == 161));
    assert!(obs
        .iter()
        .filter(|(_, o)| o.proto == 1)
        .all(|(_, o)| o.app == AppHint::None));
}

#[test]
fn http_requests_sql_injection() {
    let obs = observations("misc/ndpi_WebattackSQLinj.pcap");
    let ua = fnv1a(b"Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0");
    let want = |path: &[u8]| (fnv1a(path), ua, false);
    for (n, path) in [
        (4, &b"/dv/vulnerabilities/sqli/?id=1%27&Submit=Submit"[..]),
        (
            15,
            b"/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1%23&Submit=Submit",
        ),
    ] {
        let AppHint::HttpRequest {
            method,
            path_hash,
            ua_hash,
            mirai_ua,
            ..
        } = frame(&obs, n).app
        else {
            panic!("frame {n}: {:?}", frame(&obs, n).app);
        };
        assert_eq!(method, floodtrace_wire::peek::HttpMethod::Get);
        assert_eq!((path_hash, ua_hash, mirai_ua), want(path), "frame {n}");
    }
    // The server's answers are HTTP responses, nothing in this capture is Mirai's.
    assert!(obs
        .iter()
        .any(|(_, o)| matches!(o.app, AppHint::HttpResponse { status: 200 })));
    assert!(!obs
        .iter()
        .any(|(_, o)| matches!(o.app, AppHint::HttpRequest { mirai_ua: true, .. })));
}

#[test]
fn dns_mdns_and_ntp_in_the_hide_and_seek_capture() {
    let obs = observations("mirai/slips_hide-and-seek_iot-botnet_scan.pcap");
    // Frame 100: A query for 0.debian.pool.ntp.org; frame 104: its answer (4 records).
    assert_eq!(
        frame(&obs, 100).app,
        AppHint::DnsQuery {
            qname_len: 21,
            first_label_len: 1,
            labels: 5,
            qtype: 1,
            edns: false,
            rd: true,
            first_label_class: LabelClass::Short,
            parent_hash: domain_hash("debian.pool.ntp.org"),
        }
    );
    assert_eq!(
        frame(&obs, 104).app,
        AppHint::DnsResponse {
            rcode: 0,
            answers: 4,
            qtype: 1,
            edns: false,
            truncated: false,
            qname_hash: domain_hash("0.debian.pool.ntp.org"),
        }
    );
    // Frame 318: PTR 1.2.168.192.in-addr.arpa answered NXDOMAIN.
    assert!(matches!(
        frame(&obs, 318).app,
        AppHint::DnsResponse {
            rcode: 3,
            answers: 0,
            qtype: 12,
            ..
        }
    ));
    // mDNS: frame 3 asks 19 PTR questions (the first `_airport._tcp.local`); frame 29 answers
    // with no question section (QDCOUNT 0, 2 answers).
    assert!(matches!(
        frame(&obs, 3).app,
        AppHint::DnsQuery {
            qtype: 12,
            labels: 3,
            first_label_class: LabelClass::Other,
            ..
        }
    ));
    assert!(matches!(
        frame(&obs, 29).app,
        AppHint::DnsResponse { answers: 2, .. }
    ));
    // NTP between port 123s: frame 112 mode 3 (client), 116 mode 4 (server).
    assert_eq!(frame(&obs, 112).app, AppHint::NtpMode(3));
    assert_eq!(frame(&obs, 116).app, AppHint::NtpMode(4));
    // Every tshark-DNS frame of the capture is a DNS hint.
    let dns = obs
        .iter()
        .filter(|(_, o)| o.proto == 17 && (o.sport == 53 || o.dport == 53))
        .collect::<Vec<_>>();
    assert_eq!(dns.len(), 66);
    for (n, o) in dns {
        assert!(
            matches!(
                o.app,
                AppHint::DnsQuery { .. } | AppHint::DnsResponse { .. }
            ),
            "frame {n}: {:?}",
            o.app
        );
    }
}

#[test]
fn random_flood_payloads_are_other_high() {
    // The SYN flood capture has no payloads; the ISAKMP amplification one has binary ones.
    for (_, o) in observations("ddos/stopddos_pkt.TCP.synflood.spoofed.pcap")
        .iter()
        .take(1000)
    {
        assert_eq!(o.app, AppHint::None);
    }
    let isakmp = observations("ddos/stopddos_amp.UDP.isakmp.pcap");
    assert!(isakmp
        .iter()
        .filter(|(_, o)| o.proto == 17 && o.payload_len > 0)
        .all(|(_, o)| matches!(o.app, AppHint::Other { .. })));
    let _ = PayloadClass::High;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Any bytes, any ports, any declared length: no panic, `None` only for no payload.
    #[test]
    fn peek_never_panics(data in proptest::collection::vec(any::<u8>(), 0..1600)) {
        fuzzing::peek(&data);
    }

    /// Bytes after a recognisable prefix (so the deeper parsers run on junk).
    #[test]
    fn peek_never_panics_after_a_prefix(
        prefix in prop::sample::select(vec![
            &b"\x00\x35\x00\x35\x00\x40\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01"[..],
            b"\x00\x7b\x00\x7b\x01\x00\xd7\x01\x03\x2a",
            b"\x2b\xcb\x00\x50\x02\x00\x00\x01\x00\x00\x00\x02\x00\x00VALUE ",
            b"\x01\x85\x00\x50\x10\x00\x30\x84\x00\x00\x00\x20\x02\x01\x01\x64",
            b"\x00\xa1\x00\x50\x01\x00\x30\x20\x02\x01\x01\x04\x06public\xa2",
            b"\x00\x50\x00\x50\x08\x00GET / HTTP/1.1\r\nUser-Agent: ",
            b"\x07\x6c\x00\x50\x01\x00HTTP/1.1 200 OK\r\nST:",
            b"\x16\x33\x00\x50\x01\x00\x62\x45\x00\x01",
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut data = prefix.to_vec();
        data.extend_from_slice(&tail);
        fuzzing::peek(&data);
    }
}
