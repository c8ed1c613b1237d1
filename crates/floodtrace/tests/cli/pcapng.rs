//! pcapng files written by the tests themselves: how the reader's handling of unusual and
//! damaged blocks reaches the report, the messages and the exit code.

use serde_json::Value;

use crate::support::{analyze_json, run_with_stdin, u64_at, without_paths, TempDir};

/// A little-endian block of type `ty`, its body padded to 4 bytes; an enhanced packet block
/// on interface `if_id` at `us` microseconds.
pub use floodtrace_wire::capture::{pcapng_block as block, pcapng_epb as epb_on};

/// Section header of version 1.0, section length unknown.
pub fn shb() -> Vec<u8> {
    shb_version(1)
}

/// Section header of version `major`.0.
pub fn shb_version(major: u8) -> Vec<u8> {
    let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    body.extend_from_slice(&[major, 0, 0, 0]);
    body.extend_from_slice(&u64::MAX.to_le_bytes());
    block(0x0a0d_0d0a, &body)
}

/// Ethernet interface, no snaplen, microsecond timestamps.
pub fn idb_ethernet() -> Vec<u8> {
    block(1, &[1, 0, 0, 0, 0, 0, 0, 0])
}

/// Enhanced packet block on interface 0 at `us` microseconds.
pub fn epb(us: u64, frame: &[u8]) -> Vec<u8> {
    epb_on(0, us, frame)
}

/// Simple packet block (no timestamp).
pub fn spb(frame: &[u8]) -> Vec<u8> {
    let mut body = (frame.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(frame);
    block(3, &body)
}

/// An Ethernet frame: UDP from 10.0.0.1 port 1234 to 192.0.2.`dst` port 80, 100 bytes
/// of payload (IPv4 checksum left 0: only counted, never checked).
pub fn udp_frame(dst: u8) -> Vec<u8> {
    let mut f = vec![
        0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 8, 0,
    ];
    f.extend_from_slice(&[0x45, 0, 0, 128, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1]);
    f.extend_from_slice(&[192, 0, 2, dst, 0x04, 0xd2, 0, 80, 0, 108, 0, 0]);
    f.resize(f.len() + 100, b'y');
    f
}

/// 2023-11-14T22:13:20Z in microseconds.
const T_US: u64 = 1_700_000_000_000_000;

#[test]
fn simple_packet_blocks_take_the_previous_packets_time_and_say_so() {
    // ng_spb.pcapng of the review: EPB at T, SPB, EPB at T + 1 s. The SPB was dated
    // 1970-01-01, silently: the span started in 1970.
    let tmp = TempDir::new("pcapng-spb");
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    bytes.extend(epb(T_US, &udp_frame(1)));
    bytes.extend(spb(&udp_frame(2)));
    bytes.extend(epb(T_US + 1_000_000, &udp_frame(1)));
    let file = tmp.write("spb.pcapng", &bytes);
    let r = analyze_json(&[], &[&file]);
    r.expect_code(0);
    let warning = format!(
        "floodtrace: {}: warning: 1 packet(s) carry an inferred time (simple packet blocks, \
         dated with the previous timestamped packet of their section) \
         (pcapng.spb_time_inferred), first: record 2 at offset 0xe0: a simple packet block \
         has no timestamp; dated with the previous timestamped packet of its section",
        file.display()
    );
    assert!(r.stderr.contains(&warning), "stderr: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "stderr: {}", r.stderr);
    let doc = r.json();
    assert_eq!(u64_at(&doc["totals"], "start_ns"), T_US * 1000);
    assert_eq!(
        u64_at(&doc["totals"], "end_ns"),
        T_US * 1000 + 1_000_000_000
    );
    let input = &doc["inputs"][0];
    assert_eq!(input["complete"], true);
    assert_eq!(u64_at(input, "packets"), 3);
    let e = &input["errors"][0];
    assert_eq!(e["kind"], "packet");
    assert_eq!(e["reason"], "pcapng.spb_time_inferred");
    assert_eq!(e["fatal"], false);
    assert_eq!(
        (u64_at(e, "count"), u64_at(e, "offset"), u64_at(e, "record")),
        (1, 0xe0, 2)
    );
    // 192.0.2.2's only packet is in the first second.
    let d2 = doc["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["address"] == "192.0.2.2")
        .expect("192.0.2.2 reported");
    assert_eq!(u64_at(&d2["series"][0], "t"), T_US / 1_000_000);

    // An SPB before any timestamped packet has no time to take: time 0, and a warning.
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    bytes.extend(spb(&udp_frame(2)));
    bytes.extend(epb(T_US, &udp_frame(1)));
    let file = tmp.write("spb-first.pcapng", &bytes);
    let r = analyze_json(&[], &[&file]);
    r.expect_code(0);
    assert!(
        r.stderr.contains(
            "warning: 1 packet(s) have no time (simple packet blocks before any timestamped \
             packet of their section: dated 1970-01-01T00:00:00Z) (pcapng.spb_no_time), \
             first: record 1 at offset 0x30"
        ),
        "stderr: {}",
        r.stderr
    );
    let doc = r.json();
    assert_eq!(doc["inputs"][0]["complete"], true);
    assert_eq!(
        doc["inputs"][0]["errors"][0]["reason"],
        "pcapng.spb_no_time"
    );
    assert_eq!(u64_at(&doc["totals"], "start_ns"), 0);
}

/// Many SPBs between EPBs, cut into 4096-byte chunks: every chunk must date its SPBs with
/// the EPB before them, although that EPB is often in the chunk before. Every thread
/// count, and the same bytes on standard input, give the same document.
#[test]
fn simple_packet_blocks_are_dated_the_same_on_any_thread_count() {
    let tmp = TempDir::new("pcapng-spb-threads");
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    for i in 0..3000u64 {
        let frame = udp_frame((i % 7) as u8 + 1);
        if i % 3 == 0 {
            bytes.extend(epb(T_US + i * 20_000, &frame));
        } else {
            bytes.extend(spb(&frame));
        }
    }
    let file = tmp.write("spb-many.pcapng", &bytes);
    let mut first: Option<(String, Vec<u8>)> = None;
    for threads in ["1", "2", "4"] {
        for chunk in [None, Some("4096")] {
            let mut extra = vec!["--threads", threads];
            if let Some(c) = chunk {
                extra.extend(["--chunk-bytes", c]);
            }
            let r = analyze_json(&extra, &[&file]);
            r.expect_code(0);
            let name = extra.join(" ");
            match &first {
                None => first = Some((name, r.stdout)),
                Some((first_name, out)) => {
                    assert!(*out == r.stdout, "`{name}` differs from `{first_name}`")
                }
            }
        }
    }
    let (_, out) = first.unwrap();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(u64_at(&doc["totals"], "start_ns"), T_US * 1000);
    let e = &doc["inputs"][0]["errors"][0];
    assert_eq!(e["reason"], "pcapng.spb_time_inferred");
    assert_eq!(u64_at(e, "count"), 2000);
    assert_eq!(u64_at(e, "record"), 2);

    for extra in [
        &["--threads", "1"][..],
        &["--threads", "3", "--chunk-bytes", "4096"],
    ] {
        let mut args = vec!["analyze", "--format", "json", "--no-progress"];
        args.extend_from_slice(extra);
        args.push("-");
        let r = run_with_stdin(&args, Some(&bytes));
        r.expect_code(0);
        assert_eq!(
            without_paths(r.json()),
            without_paths(doc.clone()),
            "stdin {extra:?} and file differ"
        );
    }
}

/// ng_bad_idb_shift.pcapng of the review: IDB 0 Ethernet, IDB 1 damaged (4-byte body),
/// IDB 2 raw IPv4, then an Ethernet frame on interface 1 and a raw IPv4 packet on
/// interface 2. The damaged IDB used to be dropped, so the frame on interface 1 was read
/// as raw IPv4, and the IDB took a record number of its own.
#[test]
fn damaged_interface_keeps_its_place_and_has_no_record_number() {
    let tmp = TempDir::new("pcapng-bad-idb");
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    bytes.extend(block(1, &[101, 0, 0, 0]));
    bytes.extend(block(1, &[228, 0, 0, 0, 0, 0, 0, 0]));
    let on_damaged = bytes.len();
    bytes.extend(epb_on(1, T_US, &udp_frame(1)));
    bytes.extend(epb_on(2, T_US + 1, &udp_frame(2)[14..]));
    let file = tmp.write("bad-idb.pcapng", &bytes);
    let r = analyze_json(&[], &[&file]);
    r.expect_code(3);
    let path = file.display();
    for line in [
        format!(
            "floodtrace: {path}: 1 damaged block(s) skipped (pcapng.idb_length), first: block \
             at offset 0x30: pcapng.idb_length is invalid (16)"
        ),
        format!(
            "floodtrace: {path}: 1 record(s) skipped (pcapng.interface_damaged), first: record \
             1 at offset {on_damaged:#x}: interface 1's description block was damaged"
        ),
        format!(
            "floodtrace: {path}: partial result: 1 record counted, 1 damaged record skipped, \
             1 damaged block skipped"
        ),
    ] {
        assert!(
            r.stderr.contains(&line),
            "{line:?} not in stderr: {}",
            r.stderr
        );
    }
    let doc = r.json();
    let input = &doc["inputs"][0];
    assert_eq!(input["complete"], false);
    assert_eq!(u64_at(input, "packets"), 1);
    assert_eq!(u64_at(input, "ip_packets"), 1);
    let errors = input["errors"].as_array().unwrap();
    let by_reason = |r: &str| errors.iter().find(|e| e["reason"] == r).unwrap().clone();
    let idb = by_reason("pcapng.idb_length");
    assert_eq!((u64_at(&idb, "offset"), u64_at(&idb, "record")), (0x30, 0));
    let damaged = by_reason("pcapng.interface_damaged");
    assert_eq!(u64_at(&damaged, "record"), 1);
    // The packet on interface 2 is read with interface 2's link type, raw IPv4.
    assert_eq!(doc["destinations"][0]["address"], "192.0.2.2");
    assert_eq!(u64_at(&doc["totals"], "start_ns"), (T_US + 1) * 1000);
}

/// ng_custom_then_bad.pcapng of the review: a packet, a custom block, then a frame cut
/// inside its IP header. Wireshark shows the custom block as frame 2, so the bad frame is
/// record 3 (it was called record 2).
#[test]
fn custom_block_takes_a_record_number() {
    let tmp = TempDir::new("pcapng-custom");
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    bytes.extend(epb(T_US, &udp_frame(1)));
    bytes.extend(block(0xbad, b"\xd9\x7e\0\0note"));
    let bad = bytes.len();
    bytes.extend(epb(T_US + 1_000_000, &udp_frame(2)[..17]));
    let file = tmp.write("custom.pcapng", &bytes);
    let r = analyze_json(&[], &[&file]);
    r.expect_code(0);
    let message =
        format!("record 3 at offset {bad:#x}: ipv4 truncated at offset 14: need 20 bytes, have 3");
    assert!(r.stderr.contains(&message), "stderr: {}", r.stderr);
    let doc = r.json();
    let e = &doc["inputs"][0]["errors"][0];
    assert_eq!(e["reason"], "ipv4.truncated");
    assert_eq!(u64_at(e, "record"), 3);
    assert_eq!(u64_at(&doc["inputs"][0], "packets"), 2);
}

/// ng_ver2_sec2.pcapng of the review: a version 1.0 section with one packet, then a
/// version 2.0 section, which was read as 1.0, silently. It is refused (as tshark does),
/// with a partial result that keeps the first section's packet.
#[test]
fn section_of_another_major_version_is_refused() {
    let tmp = TempDir::new("pcapng-ver2");
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    bytes.extend(epb(T_US, &udp_frame(1)));
    let second = bytes.len();
    bytes.extend(shb_version(2));
    bytes.extend(idb_ethernet());
    bytes.extend(epb(T_US + 1_000_000, &udp_frame(2)));
    let file = tmp.write("ver2.pcapng", &bytes);
    let r = analyze_json(&[], &[&file]);
    r.expect_code(3);
    let message =
        format!("block at offset {second:#x}: pcapng section version 2.0 is not supported");
    assert!(
        r.stderr
            .contains(&format!("floodtrace: {}: {message}", file.display())),
        "stderr: {}",
        r.stderr
    );
    let doc = r.json();
    let input = &doc["inputs"][0];
    assert_eq!(input["complete"], false);
    assert_eq!(u64_at(input, "packets"), 1);
    let e = &input["errors"][0];
    assert_eq!(e["reason"], "pcapng.version");
    assert_eq!(e["fatal"], true);
    assert_eq!(e["message"], message.as_str());
    assert_eq!(doc["destinations"][0]["address"], "192.0.2.1");
}

#[test]
fn bogus_block_length_on_stdin_is_refused_without_reading_on() {
    // ng_hugeblock_head.pcapng of the review: an EPB header claiming 0xfffffff0 bytes,
    // then 32 MiB of zeros. The stream used to be buffered to its end (537 MB resident for
    // 300 MB of zeros) and reported as a truncated block.
    let mut bytes = shb();
    bytes.extend(idb_ethernet());
    bytes.extend(6u32.to_le_bytes());
    bytes.extend(0xffff_fff0u32.to_le_bytes());
    bytes.resize(bytes.len() + (32 << 20), 0);
    let r = run_with_stdin(
        [
            "analyze",
            "--no-detect",
            "--no-progress",
            "--format",
            "json",
            "-",
        ],
        Some(&bytes),
    );
    r.expect_code(3);
    let message =
        "record 1 at offset 0x30: invalid block length 4294967280 (over the 16 MiB limit)";
    assert!(
        r.stderr.contains(&format!("floodtrace: -: {message}")),
        "stderr: {}",
        r.stderr
    );
    let doc = r.json();
    let input = &doc["inputs"][0];
    assert_eq!(input["complete"], false);
    assert_eq!(u64_at(input, "packets"), 0);
    let e = &input["errors"][0];
    assert_eq!(e["reason"], "pcapng.block_length");
    assert_eq!(e["fatal"], true);
    assert_eq!((u64_at(e, "offset"), u64_at(e, "record")), (0x30, 1));
    assert_eq!(e["message"], message);
}

/// Ethernet interface, no snaplen, with `if_tsresol` and `if_tsoffset` (seconds).
pub fn idb_with(tsresol: u8, tsoffset: i64) -> Vec<u8> {
    let mut body = vec![1, 0, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(&[9, 0, 1, 0, tsresol, 0, 0, 0]);
    body.extend_from_slice(&[14, 0, 8, 0]);
    body.extend_from_slice(&tsoffset.to_le_bytes());
    body.extend_from_slice(&[0; 4]);
    block(1, &body)
}

/// An enhanced packet block on interface `if_id` at `units` that stores all of `frame`
/// but gives `origlen` as its original length.
pub fn epb_orig(if_id: u32, units: u64, frame: &[u8], origlen: u32) -> Vec<u8> {
    let mut b = epb_on(if_id, units, frame);
    b[24..28].copy_from_slice(&origlen.to_le_bytes());
    b
}

/// Packet block values no writer should produce are counted as classic pcap's are, with a
/// packet-level warning naming the first record: an original length below the captured
/// one (ng_origsmall.pcapng of the review, counted silently with the captured length),
/// and a time before 1970 or after 2554 (ng_neg.pcapng, a negative `if_tsoffset`, dated
/// 1970-01-01 silently, and ng_sec.pcapng, 2^40 s at `if_tsresol` 0, dated 2554 and
/// stretching the span silently; tshark dates them 1960-06-29 and in the year 36812).
#[test]
fn odd_packet_block_values_are_counted_with_a_warning() {
    let tmp = TempDir::new("pcapng-odd");
    let mut bytes = shb();
    bytes.extend(idb_ethernet()); // 0: µs
    bytes.extend(idb_with(6, -2_000_000_000)); // 1: µs, 2e9 s before
    bytes.extend(idb_with(0, 0)); // 2: seconds
    let frame = udp_frame(1);
    let mut offsets = Vec::new();
    let mut add = |b: Vec<u8>| {
        offsets.push(bytes.len() as u64);
        bytes.extend(b);
    };
    add(epb(T_US, &frame));
    add(epb_orig(0, T_US + 1_000_000, &frame, 20));
    add(epb_on(1, T_US + 1, &frame));
    add(epb_on(2, 1 << 40, &frame));
    add(epb_orig(0, T_US + 2_000_000, &frame, 0));
    add(epb_on(2, T_US / 1_000_000 + 3, &frame));
    let file = tmp.write("odd.pcapng", &bytes);
    let r = analyze_json(&[], &[&file]);
    r.expect_code(0);
    let doc = r.json();
    let input = &doc["inputs"][0];
    assert_eq!(input["complete"], true, "{input}");
    assert_eq!(u64_at(input, "packets"), 6);
    // The larger of the two lengths counts on the wire, as in a classic pcap.
    assert_eq!(u64_at(input, "bytes"), 6 * frame.len() as u64);
    let len_message = format!(
        "record 2 at offset {:#x}: captured length {} exceeds the original length 20; \
         counted as {} bytes on the wire",
        offsets[1],
        frame.len(),
        frame.len()
    );
    let time_message = format!(
        "record 3 at offset {:#x}: timestamp -300000000 s (Unix time, whole seconds) is \
         before 1970-01-01T00:00:00Z, the earliest time floodtrace holds; dated \
         1970-01-01T00:00:00Z",
        offsets[2]
    );
    let errors = input["errors"].as_array().expect("errors");
    let got: Vec<_> = errors
        .iter()
        .map(|e| {
            assert_eq!(
                (e["kind"].as_str(), e["fatal"].as_bool()),
                (Some("packet"), Some(false))
            );
            (
                e["reason"].as_str().unwrap(),
                u64_at(e, "count"),
                u64_at(e, "record"),
                u64_at(e, "offset"),
                e["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "pcapng.caplen_exceeds_len",
                2,
                2,
                offsets[1],
                len_message.as_str()
            ),
            (
                "pcapng.time_out_of_range",
                2,
                3,
                offsets[2],
                time_message.as_str()
            ),
        ]
    );
    for (reason, message) in [
        ("pcapng.caplen_exceeds_len", &len_message),
        ("pcapng.time_out_of_range", &time_message),
    ] {
        let line = format!(
            "floodtrace: {}: 2 record(s) read despite an odd header value ({reason}), \
             first: {message}",
            file.display()
        );
        assert!(r.stderr.contains(&line), "stderr: {}", r.stderr);
    }
    assert!(!r.stderr.contains("partial"), "stderr: {}", r.stderr);
    // Clamped to the ends of what floodtrace holds, as before, but no longer silently.
    assert_eq!(u64_at(&doc["totals"], "start_ns"), 0);
    assert_eq!(u64_at(&doc["totals"], "end_ns"), u64::MAX);
}
