//! `floodtrace collect` on loopback: a collector listening on an ephemeral port of
//! 127.0.0.1, datagrams sent to it from 127.0.0.x addresses, its summary read back. The
//! datagrams are built here byte by byte (not with floodtrace's code).

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{analyze_json, run, u64_at, TempDir, BIN};

/// A NetFlow v5 datagram of engine `engine_id` (type 0) whose `flow_sequence` is `seq`,
/// with one UDP record 10.0.2.1:1000 -> 192.0.2.2:53.
fn v5(seq: u32, engine_id: u8) -> Vec<u8> {
    let mut d = Vec::with_capacity(72);
    d.extend_from_slice(&5u16.to_be_bytes());
    d.extend_from_slice(&1u16.to_be_bytes()); // count
    d.extend_from_slice(&1_000_000u32.to_be_bytes()); // sys_uptime, ms
    d.extend_from_slice(&1_700_000_000u32.to_be_bytes()); // unix_secs
    d.extend_from_slice(&0u32.to_be_bytes()); // unix_nsecs
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&[0, engine_id, 0, 0]); // engine type, engine id, sampling
    d.extend_from_slice(&[10, 0, 2, 1, 192, 0, 2, 2, 0, 0, 0, 0]); // src, dst, next hop
    d.extend_from_slice(&[0, 1, 0, 2]); // input, output ifIndex
    d.extend_from_slice(&1u32.to_be_bytes()); // packets
    d.extend_from_slice(&100u32.to_be_bytes()); // bytes
    d.extend_from_slice(&999_000u32.to_be_bytes()); // first
    d.extend_from_slice(&999_500u32.to_be_bytes()); // last
    d.extend_from_slice(&1000u16.to_be_bytes());
    d.extend_from_slice(&53u16.to_be_bytes());
    d.extend_from_slice(&[0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // pad, flags, proto, …
    assert_eq!(d.len(), 24 + 48);
    d
}

/// What one collector run printed.
struct Collected {
    stdout: String,
    stderr: String,
}

/// A collector started on an ephemeral port of 127.0.0.1 (NetFlow listener only: it takes
/// any protocol), with its start-up lines read.
struct Started {
    child: Child,
    /// Where to send.
    to: SocketAddr,
    stderr: BufReader<ChildStderr>,
    /// Standard error read so far.
    head: String,
}

impl Started {
    /// Everything the collector writes to its (piped) standard output, until it exits.
    fn stdout_to_end(&mut self) -> String {
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .expect("piped stdout")
            .read_to_string(&mut out)
            .expect("collector stdout");
        out
    }
}

/// Start `floodtrace collect --netflow 127.0.0.1:0 --ipfix off --sflow off EXTRA…` with
/// standard output going to `stdout`, and wait for the start-up line naming its port.
fn start(extra: &[&str], stdout: Stdio) -> Started {
    let mut child = Command::new(BIN)
        .args([
            "collect",
            "--netflow",
            "127.0.0.1:0",
            "--ipfix",
            "off",
            "--sflow",
            "off",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
    // The start-up line names the port the kernel chose.
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut head = String::new();
    let to: SocketAddr = loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("collector stderr");
        head.push_str(&line);
        assert!(n > 0, "collector stopped before listening:\n{head}");
        if let Some(rest) = line.split("netflow on udp ").nth(1) {
            let addr = rest.split_whitespace().next().expect("listen address");
            break addr.parse().expect("listen address");
        }
    };
    Started {
        child,
        to,
        stderr,
        head,
    }
}

/// Send each `(source address, datagram)` to `to`, in order.
fn send(to: SocketAddr, datagrams: &[(&str, Vec<u8>)]) {
    for (from, d) in datagrams {
        let sock = UdpSocket::bind((*from, 0)).unwrap_or_else(|e| panic!("bind {from}: {e}"));
        sock.send_to(d, to).expect("send to the collector");
    }
}

/// Run `floodtrace collect` (NetFlow listener only: it takes any protocol) with `format`,
/// send it each `(source address, datagram)` in order, and wait for it to stop after
/// exactly that many datagrams (`--duration` stops it if some never arrive).
fn collect(format: &str, datagrams: &[(&str, Vec<u8>)]) -> Collected {
    let count = datagrams.len().to_string();
    let mut c = start(
        &[
            "--no-detect",
            "--format",
            format,
            "--max-datagrams",
            &count,
            "--duration",
            "30",
        ],
        Stdio::piped(),
    );
    send(c.to, datagrams);
    let stdout = c.stdout_to_end();
    c.stderr
        .read_to_string(&mut c.head)
        .expect("collector stderr");
    let status = c.child.wait().expect("wait for the collector");
    assert!(status.success(), "collector failed ({status}):\n{}", c.head);
    assert!(!c.head.contains("panicked"), "panic:\n{}", c.head);
    Collected {
        stdout,
        stderr: c.head,
    }
}

/// The JSON summary line of a `--format json` run.
fn summary(c: &Collected) -> Value {
    let line = c
        .stdout
        .lines()
        .rfind(|l| l.contains("\"type\":\"summary\""))
        .unwrap_or_else(|| panic!("no summary line:\n{}\n{}", c.stdout, c.stderr));
    serde_json::from_str(line).expect("summary is JSON")
}

/// Two v5 engines of one router interleave their own flow sequences: no loss, and a gap
/// in one of them counts exactly the records it skipped.
#[test]
fn collect_follows_each_v5_engine_sequence() {
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(("127.0.0.1", v5(100 + i, 1)));
        sent.push(("127.0.0.1", v5(5000 + i, 2)));
    }
    // Engine 2 skips 5005 and 5006.
    sent.push(("127.0.0.1", v5(5007, 2)));
    sent.push(("127.0.0.1", v5(105, 1)));
    let s = summary(&collect("json", &sent));
    assert_eq!(u64_at(&s, "datagrams"), 12, "{s}");
    assert_eq!(u64_at(&s, "records"), 12, "{s}");
    assert_eq!(u64_at(&s, "malformed_datagrams"), 0, "{s}");
    assert_eq!(u64_at(&s, "exporter_domains"), 2, "{s}");
    assert_eq!(u64_at(&s, "sequence_lost_records"), 2, "{s}");
    assert_eq!(u64_at(&s, "sequence_late"), 0, "{s}");
}

/// Datagrams that are not exports, or damaged ones, from two senders.
fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    let mut no_records = v5(7, 0);
    no_records[2..4].copy_from_slice(&0u16.to_be_bytes());
    vec![
        ("127.0.0.2", b"hello world garbage".to_vec()),
        ("127.0.0.1", v5(1, 0)),
        ("127.0.0.3", vec![0]),
        ("127.0.0.1", b"\x00\x0a\x00\x05".to_vec()),
        ("127.0.0.3", no_records),
        ("127.0.0.1", Vec::new()),
    ]
}

/// Malformed datagrams are broken down by the decoder's reason key: a count each, and the
/// exporter, offset and description of the first of each; the old counters keep meaning
/// what they meant.
#[test]
fn collect_names_malformed_datagrams_in_json() {
    let sent = garbage();
    let s = summary(&collect("json", &sent));
    assert_eq!(u64_at(&s, "datagrams"), sent.len() as u64, "{s}");
    assert_eq!(u64_at(&s, "records"), 1, "{s}");
    assert_eq!(u64_at(&s, "malformed_datagrams"), 5, "{s}");
    assert_eq!(u64_at(&s, "errors"), 5, "{s}");
    let reasons = s["error_reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no error_reasons array: {s}"));
    let by_reason = |key: &str| -> &Value {
        reasons
            .iter()
            .find(|r| r["reason"] == key)
            .unwrap_or_else(|| panic!("no {key} in {s}"))
    };
    let total: u64 = reasons.iter().map(|r| u64_at(r, "count")).sum();
    assert_eq!(total, u64_at(&s, "errors"), "{s}");
    // Three of the datagrams are not exports; the first of them came from 127.0.0.2.
    let unrecognised = by_reason("flow.unrecognised");
    assert_eq!(u64_at(unrecognised, "count"), 3, "{s}");
    assert_eq!(unrecognised["kind"], "flow");
    assert_eq!(unrecognised["exporter"], "127.0.0.2");
    assert_eq!(u64_at(unrecognised, "offset"), 0);
    let message = unrecognised["message"].as_str().expect("message");
    assert!(message.contains("not a flow export"), "{message}");
    // A 4-byte IPFIX header.
    let ipfix = by_reason("ipfix.truncated");
    assert_eq!(
        (u64_at(ipfix, "count"), &ipfix["exporter"]),
        (1, &Value::from("127.0.0.1")),
        "{s}"
    );
    // A v5 header counting no records: its count field is at offset 2.
    let v5 = by_reason("netflow5.count");
    assert_eq!(
        (u64_at(v5, "count"), &v5["exporter"], u64_at(v5, "offset")),
        (1, &Value::from("127.0.0.3"), 2),
        "{s}"
    );
    assert_eq!(reasons.len(), 3, "{s}");
    // Most frequent first.
    assert_eq!(reasons[0]["reason"], "flow.unrecognised", "{s}");
}

/// The text summary lists the same reasons, one line each.
#[test]
fn collect_names_malformed_datagrams_in_text() {
    let c = collect("text", &garbage());
    let out = &c.stdout;
    assert!(out.contains("malformed 5 datagrams (5 errors)"), "{out}");
    let line = |key: &str| -> &str {
        out.lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("no line for {key}:\n{out}"))
    };
    let unrecognised = line("flow.unrecognised");
    assert!(unrecognised.contains("3 errors"), "{unrecognised}");
    assert!(unrecognised.contains("127.0.0.2"), "{unrecognised}");
    assert!(unrecognised.contains("not a flow export"), "{unrecognised}");
    let v5 = line("netflow5.count");
    assert!(v5.contains("1 error,"), "{v5}");
    assert!(v5.contains("127.0.0.3"), "{v5}");
    let ipfix = line("ipfix.truncated");
    assert!(ipfix.contains("127.0.0.1"), "{ipfix}");
}

/// A NetFlow v5 datagram whose header counts `count` records and whose `flow_sequence` is
/// `seq`, holding one UDP record to each of `dsts` (10.0.2.1:1000 -> DST:53) of `packets`
/// packets.
fn v5_records(seq: u32, count: u16, dsts: &[[u8; 4]], packets: u32) -> Vec<u8> {
    let mut d = v5(seq, 0);
    d[2..4].copy_from_slice(&count.to_be_bytes());
    let record = d.split_off(24);
    for dst in dsts {
        let mut r = record.clone();
        r[4..8].copy_from_slice(dst);
        r[16..20].copy_from_slice(&packets.to_be_bytes());
        r[20..24].copy_from_slice(&packets.saturating_mul(100).to_be_bytes());
        d.extend_from_slice(&r);
    }
    d
}

/// A classic pcap of Ethernet/IPv4/UDP frames from 192.0.2.200:40000 to 192.0.2.100:2055
/// carrying `payloads`.
fn export_pcap(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    for v in [0xa1b2_c3d4u32.to_le_bytes(), [2, 0, 4, 0], [0; 4], [0; 4]] {
        f.extend_from_slice(&v);
    }
    f.extend_from_slice(&65_635u32.to_le_bytes()); // snaplen
    f.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, p) in payloads.iter().enumerate() {
        let mut frame = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 0];
        frame.extend_from_slice(&[0x45, 0]);
        frame.extend_from_slice(&((28 + p.len()) as u16).to_be_bytes());
        frame.extend_from_slice(&(i as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 64, 17, 0, 0, 192, 0, 2, 200, 192, 0, 2, 100]);
        frame.extend_from_slice(&40_000u16.to_be_bytes());
        frame.extend_from_slice(&2055u16.to_be_bytes());
        frame.extend_from_slice(&((8 + p.len()) as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(p);
        f.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        f.extend_from_slice(&(i as u32).to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&frame);
    }
    f
}

/// Exporter restarts, duplicates and a stray number far ahead, over real UDP: a restart
/// far back starts the sequence again (a gap after it is counted, and counted under
/// `sequence_resets`), duplicates keep the loss before them and are counted apart, and a
/// stray number is a resync, not two billion lost records.
#[test]
fn collect_counts_restarts_duplicates_and_resyncs() {
    let mut sent = Vec::new();
    let mut engine = |id: u8, seqs: &[u32]| {
        for &s in seqs {
            sent.push(("127.0.0.1", v5(s, id)));
        }
    };
    // Restart far back, then a gap of 29 records.
    engine(1, &[5_000_000, 5_000_001, 0, 1, 31, 32]);
    // A gap of 29, then the datagram after it twice more.
    engine(2, &[0, 30, 30, 30]);
    // One stray number far ahead; the sequence goes on.
    engine(3, &[1, 2, 2_000_000_000, 3, 4]);
    let s = summary(&collect("json", &sent));
    assert_eq!(u64_at(&s, "datagrams"), sent.len() as u64, "{s}");
    assert_eq!(u64_at(&s, "exporter_domains"), 3, "{s}");
    assert_eq!(u64_at(&s, "sequence_lost_records"), 29 + 29, "{s}");
    assert_eq!(u64_at(&s, "sequence_late"), 0, "{s}");
    assert_eq!(u64_at(&s, "sequence_duplicates"), 2, "{s}");
    assert_eq!(
        s["sequence_resets"],
        serde_json::json!({"netflow5": 1}),
        "{s}"
    );
    assert_eq!(
        s["sequence_resyncs"],
        serde_json::json!({"netflow5": 1}),
        "{s}"
    );
    // The text summary says the same.
    let c = collect("text", &sent);
    assert!(
        c.stdout.contains(
            "lost by sequence numbers: 0 datagrams (v9/sFlow), 58 records (v5/IPFIX), 0 late, \
             2 duplicates; exporter restarts netflow5 1; resyncs netflow5 1;"
        ),
        "{}",
        c.stdout
    );
}

/// A NetFlow v5 datagram of 31 records (exactly 24 + 48 × 31 bytes; v5 allows 30) is
/// decoded whole with a warning, and one whose count (65,535) lies about its 2 records is
/// a netflow5 error: both are counted under `netflow5`, and `analyze` on a capture and on
/// a raw file of them says the same (before, the first was plain UDP to `analyze` and
/// neither was under any protocol in `collect`).
#[test]
fn collect_and_analyze_agree_on_v5_counts_above_30() {
    let dsts: Vec<[u8; 4]> = (1..=31).map(|i| [192, 0, 2, i]).collect();
    let above_30 = v5_records(0, 31, &dsts, 1);
    let lying = v5_records(31, 65_535, &dsts[..2], 1);
    assert_eq!((above_30.len(), lying.len()), (24 + 48 * 31, 24 + 48 * 2));
    let sent = [
        ("127.0.0.1", above_30.clone()),
        ("127.0.0.1", lying.clone()),
    ];
    let s = summary(&collect("json", &sent));
    assert_eq!(s["by_protocol"], serde_json::json!({"netflow5": 2}), "{s}");
    assert_eq!(u64_at(&s, "records"), 33, "{s}");
    assert_eq!(u64_at(&s, "warnings"), 1, "{s}");
    assert_eq!(
        s["warning_reasons"][0]["reason"], "netflow5.count_above_30",
        "{s}"
    );
    assert_eq!(s["warning_reasons"][0]["kind"], "warning", "{s}");
    assert_eq!(u64_at(&s, "errors"), 1, "{s}");
    assert_eq!(s["error_reasons"][0]["reason"], "netflow5.truncated", "{s}");
    assert_eq!(u64_at(&s, "exporter_domains"), 1, "{s}");
    let c = collect("text", &sent);
    assert!(
        c.stdout.contains("bytes; netflow5 2), 33 records"),
        "{}",
        c.stdout
    );
    assert!(c.stdout.contains("warnings 1"), "{}", c.stdout);
    assert!(c
        .stdout
        .contains("  netflow5.count_above_30: 1 warning, first from 127.0.0.1"));

    let dir = TempDir::new("collect-v5-above-30");
    let raw = dir.write("v5.dat", &[above_30.clone(), lying.clone()].concat());
    let pcap = dir.write("v5.pcap", &export_pcap(&[above_30, lying]));
    for (path, format) in [(raw, "raw+netflow5"), (pcap, "pcap+netflow5")] {
        let r = analyze_json(&[], &[&path]);
        // The lying count is damage (exit 3); the warning alone would not be.
        r.expect_code(3);
        let v = r.json();
        let input = &v["inputs"][0];
        assert_eq!(input["format"], format, "{input}");
        assert_eq!(u64_at(input, "flow_records"), 33, "{input}");
        let mut kinds: Vec<(String, String)> = input["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| (e["reason"].to_string(), e["kind"].to_string()))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("\"netflow5.count_above_30\"".into(), "\"warning\"".into()),
                ("\"netflow5.truncated\"".into(), "\"flow\"".into()),
            ],
            "{input}"
        );
        assert!(r.stderr.contains("netflow5.count_above_30"), "{}", r.stderr);
    }
}

/// Bursts of flood records to new destinations, so that incidents are printed.
fn flood(to: SocketAddr, round: u8) {
    let datagrams: Vec<_> = (1..=30)
        .map(|i| {
            let dst = [198, 18, round, i];
            (
                "127.0.0.1",
                v5_records(u32::from(i) * 10, 10, &[dst; 10], 100_000),
            )
        })
        .collect();
    send(to, &datagrams);
}

/// Send floods to a collector until it exits (at most `limit`); its exit status and
/// standard error.
fn flood_until_exit(mut c: Started, limit: Duration) -> (Option<i32>, String) {
    let started = Instant::now();
    let mut round = 0;
    let status = loop {
        if let Some(status) = c.child.try_wait().expect("collector status") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = c.child.kill();
            let _ = c.child.wait();
            c.stderr.read_to_string(&mut c.head).ok();
            panic!(
                "the collector still ran {:?} after its output failed:\n{}",
                started.elapsed(),
                c.head
            );
        }
        flood(c.to, round);
        round = round.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(300));
    };
    c.stderr
        .read_to_string(&mut c.head)
        .expect("collector stderr");
    assert!(!c.head.contains("panicked"), "panic:\n{}", c.head);
    (status.code(), c.head)
}

/// When its output cannot be written, the collector stops at once, whatever its
/// --duration: a full disk is an error (exit 1, said once), a closed pipe (`| head -n1`)
/// ends it quietly with exit 0. Before, the decoder stopped and the receivers and main
/// thread waited for ever.
#[test]
fn collect_stops_when_its_output_fails() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let c = start(
        &["--format", "json", "--duration", "600"],
        Stdio::from(full),
    );
    let (code, stderr) = flood_until_exit(c, Duration::from_secs(15));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("floodtrace: cannot write the output: No space left on device"),
        "{stderr}"
    );

    let mut c = start(&["--format", "json", "--duration", "600"], Stdio::piped());
    // The reader goes away before anything is written.
    drop(c.child.stdout.take());
    let (code, stderr) = flood_until_exit(c, Duration::from_secs(15));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("cannot write"), "{stderr}");
}

/// SIGHUP (the terminal closed) ends the collector with its summary, as SIGTERM does;
/// before, it killed it without one.
#[test]
fn collect_prints_its_summary_on_sighup() {
    let mut c = start(&["--no-detect", "--format", "json"], Stdio::piped());
    send(c.to, &[("127.0.0.1", v5(1, 0))]);
    std::thread::sleep(Duration::from_millis(300));
    let kill = Command::new("kill")
        .args(["-HUP", &c.child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(kill.success());
    let stdout = c.stdout_to_end();
    let status = c.child.wait().expect("wait for the collector");
    assert!(status.success(), "{status}");
    let s = summary(&Collected {
        stdout,
        stderr: c.head,
    });
    assert_eq!(u64_at(&s, "datagrams"), 1, "{s}");
}

/// SIGUSR1 prints the counts so far (a `progress` line) and collecting goes on; before,
/// it killed the collector without a word.
#[test]
fn collect_prints_its_counts_so_far_on_sigusr1() {
    let mut c = start(&["--no-detect", "--format", "json"], Stdio::piped());
    let signal = |name: &str, pid: u32| {
        let kill = Command::new("kill")
            .args([name, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
        std::thread::sleep(Duration::from_millis(300));
    };
    send(c.to, &[("127.0.0.1", v5(1, 0))]);
    std::thread::sleep(Duration::from_millis(300));
    signal("-USR1", c.child.id());
    send(c.to, &[("127.0.0.1", v5(2, 1))]);
    std::thread::sleep(Duration::from_millis(300));
    signal("-USR1", c.child.id());
    signal("-TERM", c.child.id());
    let stdout = c.stdout_to_end();
    let status = c.child.wait().expect("wait for the collector");
    assert!(status.success(), "{status}\n{}", c.head);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["progress", "progress", "summary"], "{stdout}");
    let datagrams: Vec<u64> = lines.iter().map(|v| u64_at(v, "datagrams")).collect();
    assert_eq!(datagrams, [1, 2, 2], "{stdout}");
}

/// The start-up line reports the receive buffer granted, not the kernel's doubled
/// bookkeeping figure (socket(7)): 64 KiB asked (below any net.core.rmem_max) is 64 KiB.
#[test]
fn collect_reports_the_receive_buffer_granted() {
    let mut c = start(&["--no-detect", "--rcvbuf", "65536"], Stdio::null());
    let _ = c.child.kill();
    let _ = c.child.wait();
    assert!(c.head.contains("(receive buffer 64 KiB)"), "{}", c.head);
}

/// Bad listen addresses and stop conditions are command-line errors (exit 2) that say
/// what is wrong; before, an address was an error of the run (exit 1) and
/// `--max-datagrams 0` ran for ever.
#[test]
fn collect_rejects_bad_arguments_as_usage_errors() {
    let off = ["--ipfix", "off", "--sflow", "off"];
    for (args, says) in [
        (vec!["--netflow", "foo:2055"], "host names are not accepted"),
        (vec!["--netflow", "foo"], "host names are not accepted"),
        (vec!["--netflow", "127.0.0.1"], "no port"),
        (vec!["--netflow", "[::1]"], "no port"),
        (vec!["--netflow", "300.1.1.1:5"], "not an IPv4 address"),
        (vec!["--netflow", "127.0.0.1:99999"], "port \"99999\""),
        (vec!["--netflow", "off"], "no listener"),
        (vec!["--max-datagrams", "0"], "--max-datagrams"),
        (vec!["--duration", "0"], "above 0"),
        (vec!["--duration=-1"], "above 0"),
        (vec!["--idle-exit", "nan"], "above 0"),
    ] {
        let mut all = vec!["collect"];
        all.extend(off);
        all.extend(args.iter().copied());
        let r = run(&all);
        r.expect_code(2);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}
