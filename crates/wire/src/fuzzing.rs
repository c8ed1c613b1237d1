//! Entry points for fuzz targets and property tests: each feeds arbitrary bytes to one
//! parser and walks everything it returns. They must never panic; where a parser promises
//! more than "no panic" (resuming a reader, the fixed TCP header before the options), the
//! entry point checks that too and panics when the promise is broken, so a fuzzer reports it.
#![doc(hidden)]

use crate::capture::{OddValue, Record, RecordReader};
use crate::observe_frame;
use crate::Frame;

/// Every link type the decoders know, plus one they do not.
pub const LINK_TYPES: [u16; 16] = [
    0, 1, 9, 12, 14, 50, 51, 101, 104, 107, 108, 113, 228, 229, 276, 999,
];

/// Decode `data` as a frame of every link type.
pub fn frame(data: &[u8]) {
    // One observation reused across link types: decoding in place must leave nothing of
    // the previous packet behind.
    let mut reused = crate::Observation::new(
        7,
        std::net::Ipv6Addr::LOCALHOST.into(),
        std::net::Ipv6Addr::LOCALHOST.into(),
    );
    for lt in LINK_TYPES {
        let copied = observe_frame(lt, data, 0, data.len() as u32);
        let in_place = crate::observe_frame_into(
            lt,
            data,
            0,
            data.len() as u32,
            crate::PeekMode::Always,
            &mut reused,
        );
        match (copied, in_place) {
            (Ok(crate::Frame::Ip(a)), Ok(None)) => assert_eq!(a, reused),
            (Ok(crate::Frame::NonIp { ethertype }), Ok(Some(e))) => assert_eq!(ethertype, e),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("observe_frame {a:?} but observe_frame_into {b:?}"),
        }
    }
}

/// Read `data` as a capture file and decode every record; returns how many records were read.
pub fn capture(data: &[u8]) -> u64 {
    let Ok(mut reader) = RecordReader::open(data) else {
        return 0;
    };
    // Guessed record boundaries (several-thread decoding) stay in the file, at or after
    // where the guess started, and a reader resumed there walks without panicking.
    let state = reader.state().clone();
    for from in [0, data.len() / 3, data.len() / 2] {
        if let Some(at) = crate::capture::pcap_resync(data, &state, from, 16, data.len()) {
            assert!(at >= from && at <= data.len(), "guess {at} from {from}");
            let mut r = RecordReader::resume(&data[at..], at as u64, state.clone(), 0);
            while let Some(Ok(_)) = r.next() {}
        }
    }
    let mut n = 0;
    while let Some(item) = reader.next() {
        match item {
            Ok(rec) => {
                n += 1;
                let _ = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len);
            }
            Err(e) if e.fatal => break,
            Err(_) => {}
        }
    }
    n
}

/// Decode `data` as a raw IPv4 packet (LINKTYPE_IPV4: options, fragments, transport, GRE).
pub fn ipv4(data: &[u8]) {
    let _ = observe_frame(crate::link::linktype::IPV4, data, 0, data.len() as u32);
}

/// Decode `data` as a raw IPv6 packet (LINKTYPE_IPV6: extension headers, transport, GRE).
pub fn ipv6(data: &[u8]) {
    let _ = observe_frame(crate::link::linktype::IPV6, data, 0, data.len() as u32);
}

/// Walk TCP options: the high nibble of `data[0]` becomes the TCP data offset, and up to 40
/// following bytes become the option area, behind a fixed IPv4 and TCP header.
///
/// # Panics
/// When the decoder loses the fixed TCP header (which is always complete here), or counts
/// more options than there are bytes.
pub fn tcp_options(data: &[u8]) {
    let Some((&offset, opts)) = data.split_first() else {
        return;
    };
    let opts = &opts[..opts.len().min(40)];
    let mut pkt = [0u8; 80];
    let len = 40 + opts.len();
    // IPv4: IHL 5, total length, TTL 64, TCP, 192.0.2.1 -> 198.51.100.7.
    pkt[..20].copy_from_slice(&[
        0x45, 0, 0, len as u8, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7,
    ]);
    // TCP: 12345 -> 80, seq 1, data offset from the input, SYN.
    pkt[20..40].copy_from_slice(&[
        0x30,
        0x39,
        0,
        80,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        offset & 0xf0,
        0x02,
        0xff,
        0xff,
        0,
        0,
        0,
        0,
    ]);
    pkt[40..len].copy_from_slice(opts);
    let frame = observe_frame(crate::link::linktype::IPV4, &pkt[..len], 0, len as u32);
    let Ok(Frame::Ip(obs)) = frame else {
        panic!("a complete IPv4 + TCP header did not decode: {frame:?}");
    };
    assert_eq!((obs.sport, obs.dport, obs.tcp_flags), (12345, 80, 0x02));
    assert!(usize::from(obs.tcp_options.count) <= opts.len());
}

/// The fields of a record that must not depend on where reading started.
type Key = (u64, u64, u64, u16, u32, usize, usize, [Option<OddValue>; 2]);

fn key(r: &Record<'_>) -> Key {
    (
        r.offset,
        r.number,
        r.ts_ns,
        r.link_type,
        r.wire_len,
        r.data.as_ptr() as usize,
        r.data.len(),
        r.odd_values(),
    )
}

/// Read `data` as a capture, then resume a reader at each of the first 32 record
/// boundaries with the state snapshot taken there, over the rest of the bytes and over
/// the bytes up to the next of those boundaries only (a chunk, as several threads read).
///
/// # Panics
/// When a resumed reader returns anything other than what the reader that started at the
/// beginning returned after that boundary (and, over a chunk, before the next one).
pub fn resume(data: &[u8]) {
    let Ok(mut reader) = RecordReader::open(data) else {
        return;
    };
    let mut items = Vec::new();
    let mut boundaries = Vec::new();
    for _ in 0..=data.len() {
        let Some(item) = reader.next() else { break };
        let fatal = matches!(item, Err(e) if e.fatal);
        items.push(item.map(|r| key(&r)));
        if fatal {
            break;
        }
        if items.last().is_some_and(Result::is_ok) && boundaries.len() < 32 {
            boundaries.push((
                items.len(),
                reader.pos(),
                reader.state().clone(),
                reader.records(),
            ));
        }
    }
    for pair in boundaries.windows(2) {
        let ((done, pos, state, records), (end_done, end, ..)) = (&pair[0], &pair[1]);
        let chunk = &data[*pos..*end];
        let mut resumed = RecordReader::resume(chunk, *pos as u64, state.clone(), *records);
        for (i, want) in items[*done..*end_done].iter().enumerate() {
            let got = resumed.next().map(|item| item.map(|r| key(&r)));
            assert_eq!(got.as_ref(), Some(want), "chunk {pos}..{end}, item {i}");
        }
        assert!(resumed.next().is_none(), "chunk {pos}..{end}: extra items");
    }
    for (done, pos, state, records) in boundaries {
        let mut resumed = RecordReader::resume(&data[pos..], pos as u64, state, records);
        for (i, want) in items[done..].iter().enumerate() {
            let got = resumed.next().map(|item| item.map(|r| key(&r)));
            assert_eq!(got.as_ref(), Some(want), "resumed at {pos}, item {i}");
        }
        if !matches!(items.last(), Some(Err(e)) if e.fatal) {
            assert!(resumed.next().is_none(), "resumed at {pos}: extra items");
        }
    }
}

/// Peek at `data` as a TCP and as a UDP payload, with the ports taken from the first four
/// bytes (so the port-hinted recognisers are reached) and the declared length from the
/// next two (so cut payloads are exercised).
///
/// # Panics
/// When a payload of more than zero bytes is reported as [`AppHint::None`](crate::peek::AppHint::None), or an empty
/// one as anything else.
pub fn peek(data: &[u8]) {
    use crate::peek::{peek, AppHint};
    use crate::transport::{PROTO_TCP, PROTO_UDP};
    let (head, payload) = data.split_at_checked(6).unwrap_or((&[0; 6], data));
    let sport = u16::from_be_bytes([head[0], head[1]]);
    let dport = u16::from_be_bytes([head[2], head[3]]);
    let declared = u16::from_be_bytes([head[4], head[5]]) as usize;
    for proto in [PROTO_TCP, PROTO_UDP] {
        let hint = peek(proto, sport, dport, payload, declared);
        assert_eq!(hint == AppHint::None, payload.is_empty(), "{hint:?}");
    }
}

/// Decode `data` as a flow export datagram twice with one decoder (the second pass sees
/// the templates the first one learned), behind the version field `version` (empty: as is).
///
/// # Panics
/// When an error points past the end of the datagram, or more bytes are said to belong to
/// the message than there are.
fn flow_datagram(version: &[u8], data: &[u8]) {
    use crate::flow::{FlowDecoder, FlowEvent};
    let mut d = version.to_vec();
    d.extend_from_slice(data);
    let mut decoder = FlowDecoder::default();
    let exporter = core::net::IpAddr::V4(core::net::Ipv4Addr::LOCALHOST);
    let mut second = Vec::new();
    for pass in 0..2 {
        let summary = decoder.decode(exporter, 0, &d, &mut |ev| {
            if let FlowEvent::Error(e) = ev {
                assert!(e.offset <= d.len(), "{e}");
                let _ = e.reason();
            }
            if pass == 1 {
                second.push(format!("{ev:?}"));
            }
        });
        assert!(summary.consumed <= d.len());
    }
    // `learn` leaves the state `decode` leaves: a decoder that learned the datagram
    // decodes it again exactly as the one that decoded it (threaded raw files rely on it).
    let mut learner = FlowDecoder::default();
    learner.learn(exporter, 0, &d);
    let mut again = Vec::new();
    learner.decode(exporter, 0, &d, &mut |ev| again.push(format!("{ev:?}")));
    assert_eq!(
        second, again,
        "learn and decode leave different template state"
    );
}

/// A whole export datagram of any protocol (version field included), with the same checks.
pub fn flow_export(data: &[u8]) {
    flow_datagram(&[], data);
}

/// NetFlow v5: `data` after the version field.
pub fn netflow5(data: &[u8]) {
    flow_datagram(&[0, 5], data);
}

/// NetFlow v9: `data` after the version field.
pub fn netflow9(data: &[u8]) {
    flow_datagram(&[0, 9], data);
}

/// IPFIX: `data` after the version field.
pub fn ipfix(data: &[u8]) {
    flow_datagram(&[0, 10], data);
}

/// sFlow v5: `data` after the 32-bit version field.
pub fn sflow(data: &[u8]) {
    flow_datagram(&[0, 0, 0, 5], data);
}

/// Sniff `data`, cut it as a raw export file, and decode what the sniffer accepts.
///
/// # Panics
/// When a payload the sniffer recognised is called unrecognised by the decoder, or the
/// raw-file cutter loses or invents bytes.
pub fn flow_sniff(data: &[u8]) {
    use crate::flow::{sniff, FlowDecoder, FlowEvent, RawDatagrams};
    let mut total = 0;
    for m in RawDatagrams::new(data) {
        assert_eq!(m.offset, total);
        total += m.data.len();
    }
    assert_eq!(total, data.len());
    if sniff(data).is_some() {
        let mut decoder = FlowDecoder::default();
        let exporter = core::net::IpAddr::V4(core::net::Ipv4Addr::LOCALHOST);
        let summary = decoder.decode(exporter, 0, data, &mut |ev| {
            if let FlowEvent::Error(e) = ev {
                assert_ne!(e.reason(), "flow.unrecognised");
            }
        });
        assert_eq!(summary.protocol, sniff(data));
    }
}

#[cfg(test)]
mod flow_tests {
    /// The flow entry points on a few handmade inputs (the fuzz targets call them).
    #[test]
    fn flow_entry_points() {
        let inputs: [&[u8]; 6] = [
            &[],
            &[0, 1],
            &[
                0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            &[
                0, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 12, 1, 0, 0, 1, 0, 8,
            ],
            &[0xff; 64],
            &[0; 300],
        ];
        for d in inputs {
            super::netflow5(d);
            super::netflow9(d);
            super::ipfix(d);
            super::sflow(d);
            super::flow_sniff(d);
        }
    }

    /// Messages the sniffer recognises: `flow_sniff` then checks that the decoder names
    /// the same protocol in its summary (it once left the summary's protocol unset; the
    /// fuzzer found it with the first input, an IPFIX header without sets).
    #[test]
    fn sniffed_messages_are_decoded_as_the_same_protocol() {
        let mut v5 = [0u8; 24 + 48];
        v5[..4].copy_from_slice(&[0, 5, 0, 1]);
        let ipfix = [
            0, 10, 0, 16, 0, 0, 0x82, 0x20, 0, 0, 1, 0x9f, 0x1d, 0x93, 0xc7, 0x27,
        ];
        // A v9 header and one empty template flowset.
        let mut v9 = [0u8; 24];
        v9[..2].copy_from_slice(&[0, 9]);
        v9[22..].copy_from_slice(&[0, 4]);
        for (d, want) in [
            (&v5[..], crate::flow::FlowProtocol::NetflowV5),
            (&ipfix[..], crate::flow::FlowProtocol::Ipfix),
            (&v9[..], crate::flow::FlowProtocol::NetflowV9),
        ] {
            assert_eq!(crate::flow::sniff(d), Some(want), "{d:?}");
            super::flow_sniff(d);
        }
    }
}
