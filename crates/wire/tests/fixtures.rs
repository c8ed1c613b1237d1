//! Ground truth: every frame of the hand-built fixtures in `tests/data/`, read with
//! [`RecordReader`] and decoded with [`observe_frame`], compared column by column with
//! `tests/data/expected.tsv` (computed by `scripts/make-fixtures.py` and cross-checked with
//! tshark; see `tests/data/README.md` for what each column means). Also: record counts
//! against `capinfos.tsv`, and the errors of the three damaged files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use floodtrace_wire::capture::{Record, RecordReader, TimeSource};
use floodtrace_wire::observe::flag;
use floodtrace_wire::{observe_frame, CaptureErrorKind, Encap, Fragment, Frame, Observation};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A TSV file as a header and rows of cells.
fn tsv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(read(name)).expect("tsv is UTF-8");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header row")
        .split('\t')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let row: Vec<String> = l.split('\t').map(str::to_owned).collect();
            assert_eq!(row.len(), header.len(), "{name}: ragged row {l:?}");
            row
        })
        .collect();
    (header, rows)
}

/// Every record of a capture that must read cleanly to its end.
fn records(bytes: &[u8]) -> Vec<Record<'_>> {
    let mut reader = RecordReader::open(bytes).expect("open");
    let mut out = Vec::new();
    while let Some(item) = reader.next() {
        out.push(item.unwrap_or_else(|e| panic!("unexpected capture error: {e}")));
    }
    out
}

fn opt_num<T: ToString + Default + PartialEq>(present: bool, v: T) -> String {
    if present {
        v.to_string()
    } else {
        String::new()
    }
}

/// Render one decoded record in the columns of `expected.tsv`.
///
/// The decoder reports "no ports" as 0 (with [`flag::PORTS_UNKNOWN`] when the transport
/// header is cut before them); the TSV says so with an empty cell. The rendering only leaves a cell
/// empty when the observation really says "absent", so a decoder that drops ports it
/// should have reported (or reports ports it should not) shows up as a mismatch.
fn render(
    file: &str,
    rec: &Record<'_>,
    frame: Result<Frame, String>,
) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    m.insert("file", file.to_owned());
    m.insert("frame", rec.number.to_string());
    // tshark shows no time for a Simple Packet Block; the reader dates it with the
    // previous packet's (`TimeSource::Previous`).
    m.insert(
        "ts_ns",
        opt_num(
            rec.time == TimeSource::Captured && rec.ts_ns != 0,
            rec.ts_ns,
        ),
    );
    m.insert("wire_len", rec.wire_len.to_string());
    m.insert("cap_len", rec.data.len().to_string());
    let obs: Observation = match frame {
        Err(e) => {
            m.insert("src", format!("<decode error: {e}>"));
            return m;
        }
        Ok(Frame::NonIp { .. }) => {
            for col in ["src", "dst", "proto", "sport", "dport", "tcp_flags", "ttl"] {
                m.insert(col, String::new());
            }
            m.insert("fragment", "none".into());
            m.insert("encap", "none".into());
            m.insert("inner_proto", String::new());
            return m;
        }
        Ok(Frame::Ip(obs)) => obs,
    };
    m.insert("src", obs.src.to_string());
    m.insert("dst", obs.dst.to_string());
    m.insert("proto", obs.proto.to_string());
    let tcp_or_udp = matches!(obs.proto, 6 | 17);
    // Ports are "absent" when the decoder left them zero for a reason it states: not
    // TCP/UDP, a later fragment, or a transport header cut before them.
    let no_ports = obs.sport == 0 && obs.dport == 0 && (!tcp_or_udp || !obs.ports_known());
    if !obs.ports_known() {
        assert!(
            obs.fragment == Fragment::Later || obs.flags & flag::L4_TRUNCATED != 0,
            "{file} frame {}: ports unknown without a cut",
            rec.number
        );
    }
    m.insert("sport", opt_num(!no_ports, obs.sport));
    m.insert("dport", opt_num(!no_ports, obs.dport));
    let flags = if obs.proto == 6 && !no_ports {
        format!("{:02x}", obs.tcp_flags)
    } else if obs.tcp_flags != 0 {
        format!("<tcp_flags {:02x} without a tcp header>", obs.tcp_flags)
    } else {
        String::new()
    };
    m.insert("tcp_flags", flags);
    m.insert("ttl", obs.ttl.to_string());
    let fragment = match obs.fragment {
        Fragment::None => "none",
        Fragment::First => "first",
        Fragment::Later => "later",
    };
    m.insert("fragment", fragment.into());
    let gre = obs.encap != Encap::None;
    m.insert("encap", if gre { "gre" } else { "none" }.into());
    m.insert(
        "inner_proto",
        if gre || obs.inner.proto != 0 {
            obs.inner.proto.to_string()
        } else {
            String::new()
        },
    );
    // Cross-field consistency the TSV does not carry.
    assert_eq!(rec.ts_ns, obs.ts_ns, "{file} frame {}: ts_ns", rec.number);
    assert_eq!(
        rec.wire_len, obs.wire_len,
        "{file} frame {}: wire_len",
        rec.number
    );
    assert_eq!(
        gre,
        obs.flags & flag::ENCAPSULATED != 0,
        "{file} frame {}: encap vs ENCAPSULATED flag",
        rec.number
    );
    m
}

#[test]
fn every_frame_matches_expected_tsv() {
    let (header, rows) = tsv("expected.tsv");
    let mut by_file: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for row in rows {
        by_file.entry(row[0].clone()).or_default().push(row);
    }
    let mut report = String::new();
    let mut compared = 0;
    for (file, rows) in &by_file {
        let bytes = read(file);
        let recs = records(&bytes);
        if recs.len() != rows.len() {
            writeln!(
                report,
                "{file}: {} records read, expected.tsv has {}",
                recs.len(),
                rows.len()
            )
            .unwrap();
        }
        for (rec, row) in recs.iter().zip(rows) {
            let frame = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len)
                .map_err(|e| e.to_string());
            let got = render(file, rec, frame);
            for (col, want) in header.iter().zip(row) {
                let have = got
                    .get(col.as_str())
                    .map(String::as_str)
                    .unwrap_or("<missing>");
                if have != want {
                    writeln!(
                        report,
                        "{file} frame {} (link type {}): {col}: expected {want:?}, decoded {have:?}",
                        rec.number, rec.link_type
                    )
                    .unwrap();
                }
            }
            compared += 1;
        }
    }
    assert!(compared >= 100, "only {compared} frames compared");
    assert!(
        report.is_empty(),
        "mismatches against expected.tsv:\n{report}"
    );
}

#[test]
fn record_counts_match_capinfos() {
    let (header, rows) = tsv("capinfos.tsv");
    assert_eq!(header, ["file", "packets"]);
    let (_, expected) = tsv("expected.tsv");
    let mut listed = std::collections::BTreeSet::new();
    for row in &rows {
        let want: usize = row[1].parse().expect("packet count");
        let bytes = read(&row[0]);
        assert_eq!(records(&bytes).len(), want, "{}: record count", row[0]);
        let in_expected = expected.iter().filter(|r| r[0] == row[0]).count();
        assert_eq!(in_expected, want, "{}: rows in expected.tsv", row[0]);
        listed.insert(row[0].clone());
    }
    // Every capture in tests/data is either listed or one of the damaged files, so a new
    // fixture cannot be skipped silently.
    let damaged = [
        "truncated_mid_record.pcap",
        "bad_caplen.pcap",
        "not_a_capture.bin",
    ];
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".bin") {
            assert!(
                listed.contains(&name) || damaged.contains(&name.as_str()),
                "{name} is neither in capinfos.tsv nor a known damaged file"
            );
        }
    }
}

/// Records before the damage, then the (fatal) error, which repeats on the next call.
fn read_until_error(bytes: &[u8]) -> (Vec<Record<'_>>, floodtrace_wire::CaptureError) {
    let mut reader = RecordReader::open(bytes).expect("open");
    let mut good = Vec::new();
    loop {
        match reader.next() {
            Some(Ok(rec)) => good.push(rec),
            Some(Err(e)) => {
                assert!(e.fatal, "damage must stop the file: {e}");
                let again = reader
                    .next()
                    .expect("error repeats")
                    .expect_err("error repeats");
                assert_eq!(again, e, "a fatal error repeats unchanged");
                return (good, e);
            }
            None => panic!("damaged file read to a clean end"),
        }
    }
}

fn pcap_le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn truncated_mid_record_keeps_four_records() {
    let bytes = read("truncated_mid_record.pcap");
    let (good, err) = read_until_error(&bytes);
    assert_eq!(good.len(), 4);
    for (i, rec) in good.iter().enumerate() {
        assert_eq!(rec.number, i as u64 + 1);
        assert!(matches!(
            observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len),
            Ok(Frame::Ip(_))
        ));
    }
    let last = good.last().unwrap();
    let fifth = last.offset + 16 + last.data.len() as u64;
    let caplen = pcap_le_u32(&bytes, fifth as usize + 8) as u64;
    assert_eq!(
        bytes.len() as u64,
        fifth + 16 + 30,
        "cut 30 bytes into the data"
    );
    assert_eq!(err.offset, fifth, "offset is the start of the cut record");
    assert_eq!(err.record, 5);
    assert_eq!(
        err.kind,
        CaptureErrorKind::Truncated {
            what: "pcap record data",
            need: caplen,
            have: 30
        }
    );
    assert_eq!(err.reason(), "capture.truncated");
    assert_eq!(
        err.to_string(),
        format!("record 5 at offset {fifth:#x}: pcap record data truncated: need {caplen} bytes, have 30")
    );
}

#[test]
fn bad_caplen_keeps_three_records() {
    let bytes = read("bad_caplen.pcap");
    let (good, err) = read_until_error(&bytes);
    assert_eq!(good.len(), 3);
    let last = good.last().unwrap();
    let fourth = last.offset + 16 + last.data.len() as u64;
    assert_eq!(pcap_le_u32(&bytes, fourth as usize + 8), 0x7fff_ffff);
    assert_eq!(err.offset, fourth);
    assert_eq!(err.record, 4);
    assert_eq!(
        err.kind,
        CaptureErrorKind::BadField {
            field: "pcap.caplen",
            value: 0x7fff_ffff
        }
    );
    assert_eq!(err.reason(), "pcap.caplen");
    assert_eq!(
        err.to_string(),
        format!("record 4 at offset {fourth:#x}: pcap.caplen is invalid (2147483647)")
    );
}

#[test]
fn not_a_capture_is_unrecognised() {
    let bytes = read("not_a_capture.bin");
    let err = RecordReader::open(&bytes).expect_err("not a capture");
    assert!(err.fatal);
    assert_eq!((err.offset, err.record), (0, 0));
    let mut head = [0u8; 16];
    head.copy_from_slice(&bytes[..16]);
    assert_eq!(err.kind, CaptureErrorKind::Unrecognised { head, len: 16 });
    assert_eq!(err.reason(), "capture.unrecognised");
    assert!(err
        .to_string()
        .starts_with("unrecognised format (first bytes: "));
}

/// The fixtures' Simple Packet Blocks (no timestamp) are dated with the frame before them,
/// and say so.
#[test]
fn simple_packet_blocks_carry_the_previous_frames_time() {
    for (file, spb_frame) in [("pcapng_multi_if.pcapng", 4), ("pcapng_be.pcapng", 3)] {
        let bytes = read(file);
        let recs = records(&bytes);
        for (i, rec) in recs.iter().enumerate() {
            if rec.number == spb_frame {
                assert_eq!(rec.time, TimeSource::Previous, "{file} frame {spb_frame}");
                assert_eq!(rec.ts_ns, recs[i - 1].ts_ns, "{file} frame {spb_frame}");
            } else {
                assert_eq!(
                    rec.time,
                    TimeSource::Captured,
                    "{file} frame {}",
                    rec.number
                );
            }
        }
    }
}
