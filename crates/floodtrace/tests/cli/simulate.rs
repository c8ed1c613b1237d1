//! `floodtrace simulate` / `eval` (issue 4): determinism, tshark's view of every built-in
//! capture and flow export, analyze totals equal to truth, output size.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{analyze_to, run, simulate, TempDir};

const BUILTINS: [&str; 10] = [
    "x-outage",
    "mirai-mix",
    "spoofed-syn",
    "reflection-mix",
    "dns-water-torture",
    "http-flood",
    "carpet-bomb",
    "pulse-waves",
    "quiet",
    "outage-no-attack",
];

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark is needed for this test ({e}); install it: apt-get install tshark")
        });
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark prints UTF-8")
}

/// Dissectors of what the simulator generates. Mirai floods use random ports (as the real
/// bot does), so a random port now and then lands on some unrelated dissector's port
/// (WHO, RTCP, EtherNet/IP, …), which then calls the random payload malformed — as it would
/// on a real capture. Those unrelated dissectors are switched off through a temporary
/// Wireshark profile; everything floodtrace generates on purpose is still dissected.
const GENERATED_PROTOCOLS: &[&str] = &[
    "frame",
    "eth",
    "ethertype",
    "vlan",
    "ip",
    "ipv6",
    "tcp",
    "udp",
    "icmp",
    "icmpv6",
    "gre",
    "data",
    "dns",
    "ntp",
    "snmp",
    "cldap",
    "ldap",
    "ssdp",
    "http",
    "memcache",
    "chargen",
    "xml",
    "tls",
    "quic",
    "arp",
    "cflow",
    "sflow",
    "media",
    "data-text-lines",
    "json",
];

/// A Wireshark configuration folder whose `disabled_protos` disables every dissector that
/// is not in [`GENERATED_PROTOCOLS`].
fn tshark_profile() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("floodtrace-wsprofile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("profile dir");
        let all = tshark(&["-G", "protocols"]);
        let disabled: Vec<&str> = all
            .lines()
            .filter_map(|l| l.split('\t').nth(2))
            .filter(|p| !GENERATED_PROTOCOLS.contains(p) && !p.starts_with("_ws"))
            .collect();
        assert!(
            disabled.len() > 100,
            "tshark -G protocols listed too few protocols"
        );
        std::fs::write(dir.join("disabled_protos"), disabled.join("\n")).expect("disabled_protos");
        dir
    })
}

/// Frames tshark flags as malformed (or with error-level expert info), dissecting only the
/// protocols the simulator generates.
fn malformed(file: &Path, decode_as: &[&str]) -> Vec<String> {
    let f = file.display().to_string();
    // GRE also binds UDP port 4754 (GRE-in-UDP), where random floods land at times.
    let mut args: Vec<&str> = vec!["-n", "-r", &f, "-d", "udp.port==4754,data"];
    args.extend_from_slice(decode_as);
    args.extend_from_slice(&[
        "-Y",
        // Mirai's stomp sets a 32-byte TCP header without writing options, so the "option"
        // area holds random payload bytes, which tshark may call malformed (an EOL then
        // other bytes, a SACK of length 2): a real stomp packet does the same. Such
        // segments (ACK+PSH, 32-byte header) are left out; any other error counts.
        "(_ws.malformed || _ws.expert.severity == error) \
         && !(tcp.flags == 0x018 && tcp.hdr_len == 32)",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "frame.protocols",
    ]);
    let out = Command::new("tshark")
        .args(&args)
        .env("WIRESHARK_CONFIG_DIR", tshark_profile())
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark is needed for this test ({e}); install it: apt-get install tshark")
        });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn frames(file: &Path) -> u64 {
    let f = file.display().to_string();
    tshark(&["-n", "-r", &f, "-T", "fields", "-e", "frame.number"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64
}

/// Sum over frames of the number of values of `field` (comma-separated per frame).
fn field_count(file: &Path, decode_as: &[&str], field: &str) -> u64 {
    let f = file.display().to_string();
    let mut args: Vec<&str> = vec!["-n", "-r", &f];
    args.extend_from_slice(decode_as);
    args.extend_from_slice(&["-T", "fields", "-e", field]);
    tshark(&args)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').count() as u64)
        .sum()
}

#[test]
fn list_names_every_builtin() {
    let r = run(["simulate", "--list"]);
    r.expect_code(0);
    let text = String::from_utf8_lossy(&r.stdout);
    for b in BUILTINS {
        assert!(
            text.lines().any(|l| l.starts_with(b)),
            "{b} missing from --list:\n{text}"
        );
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_addresses() {
    let a = TempDir::new("sim-a");
    let b = TempDir::new("sim-b");
    let c = TempDir::new("sim-c");
    simulate("mirai-mix", Some(5), a.path());
    simulate("mirai-mix", Some(5), b.path());
    simulate("mirai-mix", Some(6), c.path());
    let mut names: Vec<String> = std::fs::read_dir(a.path())
        .expect("output folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 6,
        "expected capture, flows, log, truth, scenario: {names:?}"
    );
    for n in &names {
        let x = std::fs::read(a.path().join(n)).expect("read");
        let y = std::fs::read(b.path().join(n)).expect("read");
        assert!(x == y, "{n} differs between two runs with the same seed");
    }
    // Another seed draws other bots: the sets of source addresses differ.
    let sources = |dir: &Path| -> BTreeSet<String> {
        let f = dir.join("capture.pcap").display().to_string();
        tshark(&["-n", "-r", &f, "-T", "fields", "-e", "ip.src"])
            .lines()
            .map(str::to_string)
            .collect()
    };
    let sa = sources(a.path());
    let sc = sources(c.path());
    let common = sa.intersection(&sc).count();
    assert!(
        common * 2 < sa.len(),
        "seeds 5 and 6 share {common} of {} source addresses",
        sa.len()
    );
}

/// Every built-in: tshark reads capture and flow exports with zero malformed packets and
/// counts what truth.json says; `analyze` counts the same packets; eval agrees.
#[test]
fn builtins_match_truth_in_tshark_and_analyze() {
    std::thread::scope(|scope| {
        let handles: Vec<_> = BUILTINS
            .iter()
            .map(|&name| scope.spawn(move || check_builtin(name)))
            .collect();
        let mut failures = Vec::new();
        for (h, name) in handles.into_iter().zip(BUILTINS) {
            if let Err(e) = h.join() {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: {msg}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    });
}

fn check_builtin(name: &str) {
    let dir = TempDir::new(&format!("sim-{name}"));
    let truth = simulate(name, None, dir.path());
    let cap = dir.path().join("capture.pcap");
    let packets = truth["totals"]["packets"].as_u64().expect("totals.packets");
    assert!(packets > 0, "{name}: empty capture");
    assert_eq!(frames(&cap), packets, "{name}: tshark frame count");
    let bad = malformed(&cap, &[]);
    assert!(
        bad.is_empty(),
        "{name}: malformed frames in the capture: {bad:?}"
    );
    let size = std::fs::metadata(&cap).expect("capture").len();
    let bytes = truth["totals"]["bytes"].as_u64().expect("totals.bytes");
    assert_eq!(
        size,
        24 + 16 * packets + bytes,
        "{name}: capture size vs truth bytes"
    );

    for f in truth["flows"].as_array().expect("flows[]") {
        let file = dir.path().join(f["file"].as_str().expect("file"));
        let format = f["format"].as_str().expect("format");
        let (decode, field): (&[&str], &str) = match format {
            "netflow_v9" => (&["-d", "udp.port==2055,cflow"], "cflow.srcaddr"),
            "ipfix" => (&["-d", "udp.port==4739,cflow"], "cflow.srcaddr"),
            "sflow5" => (
                &["-d", "udp.port==6343,sflow"],
                "sflow.flow_sample.sampling_rate",
            ),
            other => panic!("{name}: unknown flow format {other}"),
        };
        assert_eq!(
            frames(&file),
            f["datagrams"].as_u64().expect("datagrams"),
            "{name}: {format} datagrams"
        );
        let bad = malformed(&file, decode);
        assert!(
            bad.is_empty(),
            "{name}: malformed {format} datagrams: {bad:?}"
        );
        assert_eq!(
            field_count(&file, decode, field),
            f["flow_records"].as_u64().expect("flow_records"),
            "{name}: {format} flow records counted by tshark"
        );
    }

    let report = dir.path().join("report.json");
    analyze_to(&report, &cap);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    assert_eq!(
        doc["totals"]["packets"].as_u64(),
        Some(packets),
        "{name}: analyze packets"
    );
    assert_eq!(
        doc["totals"]["bytes"].as_u64(),
        Some(bytes),
        "{name}: analyze bytes"
    );
    let ev = run([
        "eval",
        "--truth",
        &dir.path().join("truth.json").display().to_string(),
        &report.display().to_string(),
    ]);
    ev.expect_code(0);
    if name == "x-outage" {
        assert!(
            size <= 100 * 1024 * 1024,
            "x-outage capture is {size} bytes (> 100 MiB)"
        );
        let total: u64 = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").metadata().expect("meta").len())
            .sum();
        assert!(
            total <= 100 * 1024 * 1024,
            "x-outage output is {total} bytes (> 100 MiB)"
        );
    }
}

#[test]
fn eval_fails_below_threshold() {
    let dir = TempDir::new("sim-eval");
    simulate("quiet", None, dir.path());
    // A report of another capture: totals differ, so a zero-tolerance eval must fail.
    let other = crate::support::data_file("pcap/misc/ndpi_xss.pcap");
    let report = dir.path().join("other.json");
    analyze_to(&report, &other);
    let r = run([
        "eval",
        "--truth",
        &dir.path().join("truth.json").display().to_string(),
        &report.display().to_string(),
    ]);
    r.expect_code(4);
    assert!(r.stderr.contains("below threshold"), "{}", r.stderr);
}
