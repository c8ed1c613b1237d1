//! Conformance of the flow decoders against tshark (and pmacct's expected output) on every
//! real export file under `../shared/data/flows` (see `../shared/data/SOURCES.md`).
//!
//! Files are decoded in groups: a data file is fed after the template files of the same
//! exporter (same name prefix), in the same order to our decoder and to tshark. `.dat`
//! files (raw UDP payloads) are cut into messages with `RawDatagrams` and wrapped into a
//! pcap with Ethernet/IPv4/UDP headers (ports 2055 / 4739 / 6343) for tshark; `.pcap` files
//! are walked with `extract::for_each_export` and their frames copied into the group's pcap.
//! Records are compared field by field (addresses, ports, protocol, packets, bytes before
//! sampling) as ordered lists.
//!
//! Where we deviate from tshark, on purpose:
//! - tshark shows options-data records as "Flow N" too; they carry no addresses, and only
//!   records with an address are compared (we report options data as sampling rates and
//!   count address-less data records, e.g. NAT events, in `FlowStats::unaddressed`).
//! - A raw file holding several messages back to back: tshark decodes only the first when
//!   given the file as one datagram; we cut it into messages first (and, when the whole file
//!   is given as one datagram, report `*.trailing` after decoding the first message).
//! - NetFlow v5 with a header count larger than the datagram (the `invalid` files): tshark
//!   decodes garbage past the end; we keep the complete records and report
//!   `netflow5.truncated`; the records we keep equal tshark's first ones.
//! - sFlow: tshark has no flow-record fields; we compare each flow sample's first sampled
//!   IP header (outer header for VXLAN) as tshark dissects it.
#![allow(clippy::type_complexity)]
#![allow(unsafe_code)] // the counting `GlobalAlloc` below only forwards to `System`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use floodtrace_wire::capture::{pcap_file_header, pcap_record_header};
use floodtrace_wire::flow::extract::{for_each_export, DefragConfig, DropReason};
use floodtrace_wire::flow::{
    sniff, FlowConfig, FlowDecoder, FlowError, FlowEvent, FlowProtocol, FlowWarning, RawDatagrams,
};
use floodtrace_wire::Observation;

fn flows_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/flows");
    assert!(
        dir.is_dir(),
        "the shared flow data is missing: expected {} (see ../shared/data/SOURCES.md); \
         this conformance test cannot run without it",
        dir.display()
    );
    dir
}

/// Every `.pcap` and `.dat` file under the flows directory.
fn all_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["netflow5", "netflow9", "ipfix", "sflow"] {
        let d = flows_dir().join(sub);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "dat")))
            .collect();
        files.sort();
        out.extend(files);
    }
    assert!(out.len() > 100, "only {} flow files found", out.len());
    out
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The exporter group of a file: its name up to the template/data marker.
fn group_of(p: &Path) -> String {
    let s = stem(p);
    let dir = p
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let cut = if p.extension().unwrap() == "dat" {
        ["_tpl", "_opttpl", "_data"]
            .iter()
            .filter_map(|m| s.find(m))
            .min()
            .unwrap_or(s.len())
    } else {
        let mut cut = s.len();
        for suf in [
            "-options-template",
            "-options-data",
            "_options-template",
            "_options-data",
            "-templates",
            "-template",
            "-data",
            "_template",
            "_data",
        ] {
            if let Some(x) = s.strip_suffix(suf) {
                cut = cut.min(x.len());
            }
        }
        cut
    };
    format!("{dir}/{}", &s[..cut])
}

/// Order inside a group: templates, then self-contained template+data, then options data,
/// then data.
fn rank(p: &Path) -> u8 {
    let s = stem(p).to_lowercase();
    let tpl = s.contains("tpl") || s.contains("template");
    let data = s.contains("data");
    match (tpl, data) {
        (true, false) => 0,
        (true, true) if !s.contains("data+templates") => 1,
        _ if s.contains("options-data") => 2,
        _ => 3,
    }
}

/// One datagram as fed to both decoders.
struct Datagram {
    exporter: IpAddr,
    ts_ns: u64,
    dport: u16,
    payload: Vec<u8>,
    /// The original frame (pcap inputs), copied into tshark's pcap as is.
    frame: Option<(u16, Vec<u8>)>,
}

const DAT_EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fn datagrams_of(path: &Path) -> Vec<Datagram> {
    let bytes = std::fs::read(path).unwrap();
    let file = stem(path);
    let mut out = Vec::new();
    if path.extension().unwrap() == "dat" {
        for m in RawDatagrams::new(&bytes) {
            let dport = match m.protocol.or(sniff_version(m.data)) {
                Some(FlowProtocol::Ipfix) => 4739,
                Some(FlowProtocol::SflowV5) => 6343,
                _ => 2055,
            };
            out.push(Datagram {
                exporter: DAT_EXPORTER,
                ts_ns: 1_600_000_000_000_000_000,
                dport,
                payload: m.data.to_vec(),
                frame: None,
            });
        }
    } else {
        // Frames, to copy them for tshark.
        let mut frames = BTreeMap::new();
        let mut reader = floodtrace_wire::capture::RecordReader::open(&bytes).unwrap();
        while let Some(r) = reader.next() {
            let r = r.unwrap();
            frames.insert(r.number, (r.link_type, r.data.to_vec()));
        }
        let stats = for_each_export(&bytes, DefragConfig::default(), &mut |p| {
            out.push(Datagram {
                exporter: p.exporter,
                ts_ns: p.ts_ns,
                dport: p.dport,
                payload: p.payload.to_vec(),
                frame: frames.get(&p.record).cloned(),
            });
        })
        .unwrap();
        assert!(stats.capture_error.is_none(), "{file}: {stats:?}");
        assert_eq!(
            stats.exports, stats.udp,
            "{file}: a UDP datagram did not sniff as an export"
        );
    }
    out
}

/// The protocol by version field only (for malformed messages).
fn sniff_version(d: &[u8]) -> Option<FlowProtocol> {
    match d.get(..4)? {
        [0, 5, ..] => Some(FlowProtocol::NetflowV5),
        [0, 9, ..] => Some(FlowProtocol::NetflowV9),
        [0, 10, ..] => Some(FlowProtocol::Ipfix),
        [0, 0, 0, 5] => Some(FlowProtocol::SflowV5),
        _ => None,
    }
}

/// What both sides are compared on; packets and bytes before sampling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    src: String,
    dst: String,
    sport: Option<u16>,
    dport: Option<u16>,
    proto: Option<u8>,
    packets: Option<u64>,
    bytes: Option<u64>,
}

fn our_key(o: &Observation, sflow: bool) -> Key {
    let s = u64::from(o.sampling.max(1));
    Key {
        src: o.src.to_string(),
        dst: o.dst.to_string(),
        sport: Some(o.sport),
        dport: Some(o.dport),
        proto: Some(o.proto),
        packets: (!sflow).then_some(o.packets / s),
        bytes: (!sflow).then_some(o.bytes / s),
    }
}

#[derive(Default)]
struct Decoded {
    records: Vec<Observation>,
    errors: Vec<FlowError>,
    templates: usize,
    samplings: Vec<u32>,
    counters: usize,
    skipped: usize,
    warnings: Vec<FlowWarning>,
}

fn decode_all(dgrams: &[Datagram], config: FlowConfig) -> Decoded {
    let mut dec = FlowDecoder::new(config);
    let mut out = Decoded::default();
    for d in dgrams {
        dec.decode(d.exporter, d.ts_ns, &d.payload, &mut |ev| match ev {
            FlowEvent::Record(o) => out.records.push(*o),
            FlowEvent::Error(e) => out.errors.push(e),
            FlowEvent::Template(_) => out.templates += 1,
            FlowEvent::Sampling(s) => out.samplings.push(s.rate),
            FlowEvent::Counters(_) => out.counters += 1,
            FlowEvent::Skipped(_) => out.skipped += 1,
            FlowEvent::Warning(w) => out.warnings.push(w),
        });
    }
    out
}

// ---- tshark ------------------------------------------------------------------------------

fn write_pcap(path: &Path, dgrams: &[Datagram]) {
    let link = dgrams
        .iter()
        .find_map(|d| d.frame.as_ref().map(|f| f.0))
        .unwrap_or(1);
    let mut out = pcap_file_header(link, 262_144, false).to_vec();
    for (i, d) in dgrams.iter().enumerate() {
        let frame = match &d.frame {
            Some((lt, f)) => {
                assert_eq!(*lt, link, "mixed link types in one group");
                f.clone()
            }
            None => {
                let mut f = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00];
                let total = 28 + d.payload.len();
                f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0, 0]);
                f.extend_from_slice(&[64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
                let ulen = 8 + d.payload.len();
                f.extend_from_slice(&5000u16.to_be_bytes());
                f.extend_from_slice(&d.dport.to_be_bytes());
                f.extend_from_slice(&[(ulen >> 8) as u8, ulen as u8, 0, 0]);
                f.extend_from_slice(&d.payload);
                f
            }
        };
        let ts = (1_600_000_000 + i as u64) * 1_000_000_000;
        let len = frame.len() as u32;
        out.extend_from_slice(&pcap_record_header(ts, len, len, false));
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out).unwrap();
}

fn attr<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let pat = format!(" {name}=\"");
    let start = line.find(&pat)? + pat.len();
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

/// Records tshark shows, in order: cflow "Flow N"/"pdu N/M" subtrees, or, for sFlow, the
/// first sampled IP header of each flow sample. Also the number of generic interface
/// counter records.
fn tshark_records(pcap: &Path, ports: &[u16]) -> (Vec<Key>, usize) {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).arg("-T").arg("pdml");
    for p in ports {
        if *p != 6343 {
            cmd.arg("-d").arg(format!("udp.port=={p},cflow"));
        }
    }
    let out = cmd
        .output()
        .expect("tshark must be installed for this test");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut keys = Vec::new();
    let mut counters = 0;
    // cflow state
    let mut cur: Option<(usize, BTreeMap<String, String>)> = None;
    // sflow state: inside a flow sample, fields seen after it
    let mut sample: Option<BTreeMap<String, String>> = None;
    let flush_cflow = |m: BTreeMap<String, String>, keys: &mut Vec<Key>| {
        let get = |a: &str, b: &str| m.get(a).or_else(|| m.get(b)).cloned();
        let (src, dst) = (
            get("cflow.srcaddr", "cflow.srcaddrv6"),
            get("cflow.dstaddr", "cflow.dstaddrv6"),
        );
        if src.is_none() && dst.is_none() {
            return;
        }
        let num = |k: &str| m.get(k).and_then(|v| v.parse::<u64>().ok());
        keys.push(Key {
            src: src.unwrap_or_default(),
            dst: dst.unwrap_or_default(),
            sport: num("cflow.srcport").map(|v| v as u16),
            dport: num("cflow.dstport").map(|v| v as u16),
            proto: num("cflow.protocol").map(|v| v as u8),
            packets: num("cflow.packets"),
            bytes: num("cflow.octets"),
        });
    };
    let flush_sflow = |m: BTreeMap<String, String>, keys: &mut Vec<Key>| {
        let Some(fam) = m.get("first") else { return };
        let (s, d, p) = if fam == "4" {
            ("ip.src", "ip.dst", "ip.proto")
        } else {
            ("ipv6.src", "ipv6.dst", "ipv6.nxt")
        };
        let num = |k: &str| m.get(k).and_then(|v| v.parse::<u64>().ok());
        keys.push(Key {
            src: m[s].clone(),
            dst: m.get(d).cloned().unwrap_or_default(),
            sport: Some(num("sport").unwrap_or(0) as u16),
            dport: Some(num("dport").unwrap_or(0) as u16),
            proto: num(p).map(|v| v as u8),
            packets: None,
            bytes: None,
        });
    };
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let name = attr(line, "name").unwrap_or("");
        let show = attr(line, "show").unwrap_or("");
        if line.trim_start().starts_with("<packet>") || line.trim_start().starts_with("</packet>") {
            if let Some((_, m)) = cur.take() {
                flush_cflow(m, &mut keys);
            }
            if let Some(m) = sample.take() {
                flush_sflow(m, &mut keys);
            }
            continue;
        }
        // cflow records
        if let Some((ind, m)) = cur.as_mut() {
            if indent > *ind {
                if name.starts_with("cflow.") {
                    m.entry(name.to_string())
                        .or_insert_with(|| show.to_string());
                }
                continue;
            }
            let (_, m) = cur.take().unwrap();
            flush_cflow(m, &mut keys);
        }
        if name.is_empty()
            && (show.starts_with("Flow ") || show.starts_with("pdu "))
            && show[show.find(' ').unwrap() + 1..].starts_with(|c: char| c.is_ascii_digit())
        {
            cur = Some((indent, BTreeMap::new()));
            continue;
        }
        // sflow samples
        if name == "sflow_245.sampletype" {
            if let Some(m) = sample.take() {
                flush_sflow(m, &mut keys);
            }
            if show == "1" || show == "3" {
                sample = Some(BTreeMap::new());
            }
            continue;
        }
        if name == "sflow_245.ifindex" {
            counters += 1;
        }
        if let Some(m) = sample.as_mut() {
            let fam = match name {
                "ip.src" => Some("4"),
                "ipv6.src" => Some("6"),
                _ => None,
            };
            if let Some(f) = fam {
                m.entry("first".into()).or_insert_with(|| f.into());
            }
            if matches!(
                name,
                "ip.src" | "ip.dst" | "ip.proto" | "ipv6.src" | "ipv6.dst" | "ipv6.nxt"
            ) {
                m.entry(name.to_string())
                    .or_insert_with(|| show.to_string());
            }
            if matches!(name, "tcp.srcport" | "udp.srcport") {
                m.entry("sport".into()).or_insert_with(|| show.to_string());
            }
            if matches!(name, "tcp.dstport" | "udp.dstport") {
                m.entry("dport".into()).or_insert_with(|| show.to_string());
            }
        }
    }
    if let Some((_, m)) = cur.take() {
        flush_cflow(m, &mut keys);
    }
    if let Some(m) = sample.take() {
        flush_sflow(m, &mut keys);
    }
    (keys, counters)
}

/// Compare ours with tshark's; `None` fields on tshark's side are not compared.
fn same(ours: &Key, theirs: &Key) -> bool {
    let opt = |a: Option<u64>, b: Option<u64>| b.is_none() || a == b;
    ours.src == theirs.src
        && ours.dst == theirs.dst
        && opt(ours.sport.map(u64::from), theirs.sport.map(u64::from))
        && opt(ours.dport.map(u64::from), theirs.dport.map(u64::from))
        && opt(ours.proto.map(u64::from), theirs.proto.map(u64::from))
        && opt(ours.packets, theirs.packets)
        && opt(ours.bytes, theirs.bytes)
}

fn groups() -> BTreeMap<String, Vec<PathBuf>> {
    let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in all_files() {
        groups.entry(group_of(&f)).or_default().push(f);
    }
    for files in groups.values_mut() {
        files.sort_by_key(|p| (rank(p), stem(p)));
    }
    groups
}

/// Groups whose errors are expected, with the reasons that must appear. Every other group
/// must decode without any error.
fn expected_errors(group: &str) -> &'static [&'static str] {
    match group {
        // Header count far beyond the datagram: complete records kept.
        "netflow5/logstash_netflow5_test_invalid01"
        | "netflow5/logstash_netflow5_test_invalid02" => &["netflow5.truncated"],
        // Data sets before their templates (in the same datagram, or templates absent).
        "netflow9/akvorado_data+templates"
        | "netflow9/logstash_netflow9_test_iptnetflow_reduced_size_encoding"
        | "netflow9/ndpi_netflowv9" => &["netflow9.missing_template"],
        // pmacct_112: data before templates; netscaler: template 280 is not in the
        // template file (tshark: "no template found" too).
        "ipfix/pmacct_112-IPFIXv10-CISCO-options-map-reassignment"
        | "ipfix/logstash_ipfix_test_netscaler" => &["ipfix.missing_template"],
        // akvorado's fixtures set the sample count to 1 but keep the other samples' bytes.
        "sflow/akvorado_data-discard-interface"
        | "sflow/akvorado_data-local-interface"
        | "sflow/akvorado_data-multiple-interfaces" => &["sflow.trailing"],
        _ => &[],
    }
}

/// Groups where tshark's record list is not the reference, with our expected record count.
/// tshark's records (if any) must still equal our first ones.
fn tshark_deviation(group: &str) -> Option<usize> {
    match group {
        // tshark stops at the first record (its IPv4 next-hop field has length 2, which
        // tshark calls malformed); SOURCES.md's summary of the file counts 16 records.
        "netflow9/logstash_netflow9_test_h3c" => Some(16),
        // The options template flowset is 22 bytes long (not padded to 4); tshark marks the
        // datagram malformed after the two templates. We accept the unpadded flowset and
        // decode the sampling options (interval 100) and the two data records.
        "netflow9/logstash_netflow9_test_invalid01" => Some(2),
        // tshark finds no template for any data set of this capture (IPFIX over IPv6 in an
        // SLL capture); pmacct's expected output has 9 records and so do we (see
        // `pmacct_expected_output`).
        "ipfix/pmacct_112-IPFIXv10-CISCO-options-map-reassignment" => Some(9),
        _ => None,
    }
}

#[test]
fn every_file_matches_tshark() {
    struct TmpDir(PathBuf);
    impl Drop for TmpDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let tmp = TmpDir(std::env::temp_dir().join(format!("floodtrace-flows-{}", std::process::id())));
    std::fs::create_dir_all(&tmp.0).unwrap();
    let tmp = &tmp.0;
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut covered = 0;
    for (group, files) in groups() {
        covered += files.len();
        let dgrams: Vec<Datagram> = files.iter().flat_map(|f| datagrams_of(f)).collect();
        assert!(!dgrams.is_empty(), "{group}: no export datagram found");
        let sflow = group.starts_with("sflow/");
        // Template and data files were exported minutes to years apart: no expiry here
        // (expiry has its own test).
        let config = FlowConfig {
            template_timeout_secs: 0,
            ..FlowConfig::default()
        };
        let ours = decode_all(&dgrams, config);
        let pcap = tmp.join(format!("{}.pcap", group.replace('/', "_")));
        write_pcap(&pcap, &dgrams);
        let mut ports: Vec<u16> = dgrams.iter().map(|d| d.dport).collect();
        ports.sort_unstable();
        ports.dedup();
        let (theirs, tshark_counters) = tshark_records(&pcap, &ports);
        let our_keys: Vec<Key> = ours.records.iter().map(|o| our_key(o, sflow)).collect();
        let reasons: Vec<&str> = ours.errors.iter().map(FlowError::reason).collect();
        let names: Vec<String> = files.iter().map(|f| stem(f)).collect();
        report.push(format!(
            "{group}: files {names:?}: ours {} records, tshark {} | templates {} samplings {:?} counters {}/{} | errors {:?}",
            our_keys.len(),
            theirs.len(),
            ours.templates,
            ours.samplings,
            ours.counters,
            tshark_counters,
            ours.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        ));
        let want_errors = expected_errors(&group);
        for w in want_errors {
            if !reasons.contains(w) {
                failures.push(format!("{group}: expected error {w}, got {reasons:?}"));
            }
        }
        if want_errors.is_empty() && !reasons.is_empty() {
            failures.push(format!("{group}: unexpected errors {reasons:?}"));
        }
        // The invalid v5 files: tshark runs on past the end; compare what we kept.
        let theirs = if want_errors.contains(&"netflow5.truncated") {
            theirs[..our_keys.len().min(theirs.len())].to_vec()
        } else if let Some(n) = tshark_deviation(&group) {
            if our_keys.len() != n {
                failures.push(format!("{group}: {} records, expected {n}", our_keys.len()));
            }
            if theirs.len() > n {
                failures.push(format!("{group}: tshark now has {} records", theirs.len()));
            }
            theirs
        } else {
            theirs
        };
        let our_keys = if tshark_deviation(&group).is_some() {
            our_keys[..theirs.len().min(our_keys.len())].to_vec()
        } else {
            our_keys
        };
        if our_keys.len() != theirs.len() {
            failures.push(format!(
                "{group}: {} records, tshark {}",
                our_keys.len(),
                theirs.len()
            ));
        } else {
            for (i, (a, b)) in our_keys.iter().zip(&theirs).enumerate() {
                if !same(a, b) {
                    failures.push(format!("{group}: record {i}: ours {a:?}, tshark {b:?}"));
                    break;
                }
            }
        }
        if ours.skipped > 0 {
            failures.push(format!("{group}: {} samples skipped", ours.skipped));
        }
        if sflow && ours.counters != tshark_counters {
            failures.push(format!(
                "{group}: {} interface counter sets, tshark {tshark_counters}",
                ours.counters
            ));
        }
    }
    assert_eq!(covered, all_files().len());
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A `"key": value` of a pmacct JSON line (numbers and strings).
fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\": ");
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches('"'))
}

/// pmacct's expected nfacctd output: the same flows, aggregated by pmacct's key. Both sides
/// are summed per (src, dst, sport, dport); pmacct's packets/bytes must equal ours before
/// sampling or after (depending on that test's renormalisation setting).
#[test]
fn pmacct_expected_output() {
    let mut checked = 0;
    for f in all_files() {
        let s = stem(&f);
        if !s.starts_with("pmacct_") {
            continue;
        }
        let json = f.with_file_name(format!("{s}.expected-nfacctd.json"));
        let text = std::fs::read_to_string(&json).unwrap();
        type K = (String, String, u16, u16);
        let mut want: BTreeMap<K, (u64, u64)> = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let g = |k| json_field(line, k).unwrap_or_else(|| panic!("{s}: no {k} in {line}"));
            let e = want
                .entry((
                    g("ip_src").to_string(),
                    g("ip_dst").to_string(),
                    g("port_src").parse().unwrap(),
                    g("port_dst").parse().unwrap(),
                ))
                .or_default();
            e.0 += g("packets").parse::<u64>().unwrap();
            e.1 += g("bytes").parse::<u64>().unwrap();
        }
        let ours = decode_all(&datagrams_of(&f), FlowConfig::default());
        let (mut raw, mut scaled): (BTreeMap<K, (u64, u64)>, BTreeMap<K, (u64, u64)>) =
            Default::default();
        for o in &ours.records {
            let k = (o.src.to_string(), o.dst.to_string(), o.sport, o.dport);
            let s = u64::from(o.sampling);
            let e = raw.entry(k.clone()).or_default();
            e.0 += o.packets / s;
            e.1 += o.bytes / s;
            let e = scaled.entry(k).or_default();
            e.0 += o.packets;
            e.1 += o.bytes;
        }
        assert!(
            want == raw || want == scaled,
            "{s}: pmacct {want:?}\nours (raw) {raw:?}\nours (scaled) {scaled:?}"
        );
        eprintln!(
            "{s}: {} pmacct lines, {} records, {}",
            text.lines().count(),
            ours.records.len(),
            if want == raw {
                "raw counts"
            } else {
                "scaled counts"
            }
        );
        checked += 1;
    }
    assert_eq!(checked, 5, "pmacct files");
}

/// Files holding several messages back to back: given whole as one datagram, the decoder
/// decodes the first message and says where the rest starts; `RawDatagrams` cuts them.
#[test]
fn concatenated_messages() {
    let dir = flows_dir();
    for (file, messages, first_records, all_records, reason) in [
        // SOURCES.md says "2+4+4+4+2x8 = 32" records; the sum is 30, and 12 headers of 24
        // bytes plus 30 records of 48 bytes are exactly the file's 1728 bytes.
        (
            "netflow5/logstash_netflow5.dat",
            12,
            2,
            30,
            "netflow5.trailing",
        ),
        ("ipfix/logstash_ipfix.dat", 3, 6, 12, "ipfix.trailing"),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let mut dec = FlowDecoder::default();
        let (mut recs, mut errs) = (0, Vec::new());
        let summary = dec.decode(DAT_EXPORTER, 0, &bytes, &mut |ev| match ev {
            FlowEvent::Record(_) => recs += 1,
            FlowEvent::Error(e) => errs.push(e),
            _ => {}
        });
        assert_eq!(recs, first_records, "{file}");
        assert_eq!(errs.len(), 1, "{file}: {errs:?}");
        assert_eq!(errs[0].reason(), reason, "{file}");
        assert_eq!(errs[0].offset, summary.consumed, "{file}");
        assert!(errs[0].to_string().contains("after the end of the message"));
        let parts: Vec<_> = RawDatagrams::new(&bytes).collect();
        assert_eq!(parts.len(), messages, "{file}");
        assert!(parts.iter().all(|p| p.protocol.is_some()), "{file}");
        let mut dec = FlowDecoder::default();
        let mut recs = 0;
        for p in parts {
            dec.decode(DAT_EXPORTER, 0, p.data, &mut |ev| match ev {
                FlowEvent::Record(_) => recs += 1,
                FlowEvent::Error(e) => panic!("{file}: {e}"),
                _ => {}
            });
        }
        assert_eq!(recs, all_records, "{file}");
    }
}

/// Sampling is applied and visible: v5 header, v9 options data, sFlow sampling rate, and
/// the configured override.
#[test]
fn sampling_is_applied() {
    let dir = flows_dir();
    let group = |names: &[&str]| -> Vec<Datagram> {
        names
            .iter()
            .flat_map(|n| datagrams_of(&dir.join(n)))
            .collect()
    };
    let v9 = group(&[
        "netflow9/akvorado_options-template.pcap",
        "netflow9/akvorado_template.pcap",
        "netflow9/akvorado_options-data.pcap",
        "netflow9/akvorado_data.pcap",
    ]);
    let ours = decode_all(&v9, FlowConfig::default());
    assert_eq!(ours.samplings, [30000; 4]);
    for o in &ours.records {
        assert_eq!(o.origin, floodtrace_wire::Origin::Flow);
        assert_eq!(o.sampling, 30000);
        assert_eq!(o.packets % 30000, 0);
    }
    let multi = group(&[
        "netflow9/akvorado_multiplesamplingrates-options-template.pcap",
        "netflow9/akvorado_multiplesamplingrates-template.pcap",
        "netflow9/akvorado_multiplesamplingrates-options-data.pcap",
        "netflow9/akvorado_multiplesamplingrates-data.pcap",
    ]);
    let ours = decode_all(&multi, FlowConfig::default());
    let rates: std::collections::BTreeSet<u32> = ours.records.iter().map(|o| o.sampling).collect();
    assert_eq!(rates.into_iter().collect::<Vec<_>>(), [2000, 4000]);
    let over = decode_all(
        &multi,
        FlowConfig {
            sampling_override: Some(7),
            ..FlowConfig::default()
        },
    );
    assert!(over.records.iter().all(|o| o.sampling == 7));
    let sflow = group(&["sflow/akvorado_data-1140.pcap"]);
    let ours = decode_all(&sflow, FlowConfig::default());
    assert!(ours
        .records
        .iter()
        .all(|o| o.sampling > 1 && o.packets == u64::from(o.sampling)));
}

// ---- bad input -----------------------------------------------------------------------------

/// An IPFIX message with the given sets (`(set id, body)`), export time `secs`.
fn ipfix(secs: u32, sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0, 10, 0, 0];
    m.extend_from_slice(&secs.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 7]);
    for (id, body) in sets {
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        m.extend_from_slice(body);
    }
    let len = m.len() as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

/// A template record: id and `(ie, len, enterprise)` specifiers.
fn tpl(id: u16, fields: &[(u16, u16, Option<u32>)]) -> Vec<u8> {
    let mut t = id.to_be_bytes().to_vec();
    t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for (ie, len, ent) in fields {
        let raw = if ent.is_some() { ie | 0x8000 } else { *ie };
        t.extend_from_slice(&raw.to_be_bytes());
        t.extend_from_slice(&len.to_be_bytes());
        if let Some(e) = ent {
            t.extend_from_slice(&e.to_be_bytes());
        }
    }
    t
}

fn run(dec: &mut FlowDecoder, msg: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    dec.decode(DAT_EXPORTER, 0, msg, &mut |ev| match ev {
        FlowEvent::Record(o) => out.records.push(*o),
        FlowEvent::Error(e) => out.errors.push(e),
        FlowEvent::Template(_) => out.templates += 1,
        FlowEvent::Sampling(s) => out.samplings.push(s.rate),
        FlowEvent::Counters(_) => out.counters += 1,
        FlowEvent::Skipped(_) => out.skipped += 1,
        FlowEvent::Warning(w) => out.warnings.push(w),
    });
    out
}

fn reasons(d: &Decoded) -> Vec<&'static str> {
    d.errors.iter().map(FlowError::reason).collect()
}

#[test]
fn variable_length_and_enterprise_fields() {
    // src, dst, an enterprise varlen field, a varlen IANA field (interfaceName 82),
    // packets (8 bytes), bytes (4 bytes), protocol.
    let fields = [
        (8, 4, None),
        (12, 4, None),
        (1, 0xffff, Some(29305)),
        (82, 0xffff, None),
        (2, 8, None),
        (1, 4, None),
        (4, 1, None),
    ];
    let mut rec = vec![192, 0, 2, 1, 198, 51, 100, 7];
    rec.push(3);
    rec.extend_from_slice(b"abc");
    rec.extend_from_slice(&[255, 0, 300u16.to_be_bytes()[1]]);
    rec[12..15].copy_from_slice(&[255, 1, 44]); // 300 bytes, three-byte length form
    rec.extend(std::iter::repeat_n(b'x', 300));
    rec.extend_from_slice(&5u64.to_be_bytes());
    rec.extend_from_slice(&500u32.to_be_bytes());
    rec.push(17);
    let mut dec = FlowDecoder::default();
    let out = run(
        &mut dec,
        &ipfix(100, &[(2, tpl(300, &fields)), (300, rec.clone())]),
    );
    assert!(out.errors.is_empty(), "{:?}", reasons(&out));
    assert_eq!(out.records.len(), 1);
    let o = out.records[0];
    assert_eq!((o.packets, o.bytes, o.proto), (5, 500, 17));
    assert_eq!(o.dst.to_string(), "198.51.100.7");
    // The same record cut inside the 300-byte field: a clear error with its offset.
    let cut = &rec[..100];
    let out = run(&mut dec, &ipfix(100, &[(300, cut.to_vec())]));
    assert_eq!(reasons(&out), ["ipfix.truncated"]);
    assert_eq!(out.errors[0].offset, 16 + 4 + 15);
    assert!(out.records.is_empty());
}

#[test]
fn templates_are_bounded_and_limited() {
    // 100k distinct templates from `exporters` addresses: the cache stays at its limits
    // (1,024 per exporter, 4,096 in all), the oldest go first.
    for (exporters, held) in [(1u8, 1024), (8, 4096)] {
        let mut dec = FlowDecoder::default();
        for batch in 0..1000u32 {
            let mut body = Vec::new();
            for i in 0..100u32 {
                let id = 256 + ((batch * 100 + i) % 65000) as u16;
                body.extend_from_slice(&tpl(id, &[(8, 4, None), (12, 4, None)]));
            }
            // A different observation domain per batch, so all 100k are distinct.
            let mut m = ipfix(100, &[(2, body)]);
            m[12..16].copy_from_slice(&batch.to_be_bytes());
            let from = IpAddr::from([192, 0, 2, (batch % u32::from(exporters)) as u8]);
            let mut errors = 0;
            dec.decode(from, 0, &m, &mut |ev| {
                errors += usize::from(matches!(ev, FlowEvent::Error(_)));
            });
            assert_eq!(errors, 0);
        }
        assert_eq!(dec.stats().templates, 100_000);
        assert_eq!(dec.templates().len(), held, "{exporters} exporter(s)");
        assert_eq!(dec.stats().templates_evicted, 100_000 - held as u64);
    }

    // Too many fields, a record longer than 65535 bytes, a record of zero bytes.
    let many: Vec<_> = (0..600).map(|_| (210u16, 4u16, None)).collect();
    let long = [(210u16, 40000u16, None), (210, 40000, None)];
    let empty = [(210u16, 0u16, None)];
    let mut dec = FlowDecoder::default();
    let out = run(
        &mut dec,
        &ipfix(
            100,
            &[
                (2, tpl(256, &many)),
                (2, tpl(257, &long)),
                (2, tpl(258, &empty)),
            ],
        ),
    );
    assert_eq!(
        reasons(&out),
        [
            "template.too_many_fields",
            "template.record_too_long",
            "template.empty_record"
        ]
    );
    assert!(dec.templates().is_empty());
    assert!(out.errors[1].to_string().contains("template 257 rejected"));
}

#[test]
fn data_before_template_and_expiry() {
    let t = tpl(400, &[(8, 4, None), (12, 4, None), (2, 4, None)]);
    let rec = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 9];
    let config = FlowConfig {
        template_timeout_secs: 60,
        ..FlowConfig::default()
    };
    let mut dec = FlowDecoder::new(config);
    let out = run(&mut dec, &ipfix(1000, &[(400, rec.clone()), (2, t)]));
    assert_eq!(reasons(&out), ["ipfix.missing_template"]);
    assert_eq!(out.errors[0].offset, 16);
    assert_eq!(dec.stats().missing_template, 1);
    assert_eq!(
        run(&mut dec, &ipfix(1050, &[(400, rec.clone())]))
            .records
            .len(),
        1
    );
    let out = run(&mut dec, &ipfix(1100, &[(400, rec)]));
    assert_eq!(reasons(&out), ["ipfix.expired_template"]);
}

#[test]
fn malformed_headers() {
    let mut dec = FlowDecoder::default();
    let cases: [(&[u8], &str); 8] = [
        (&[], "flow.unrecognised"),
        (&[0, 7, 0, 1], "flow.unrecognised"),
        (&[0, 5, 0, 1, 0, 0], "netflow5.truncated"),
        (&[0, 9, 0, 1, 0, 0, 0, 0], "netflow9.truncated"),
        (&[0, 10, 0, 16, 0, 0], "ipfix.truncated"),
        (
            &[0, 10, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            "ipfix.length",
        ),
        (
            &[0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 0],
            "sflow.agent_address_type",
        ),
        (
            &[
                0, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2,
            ],
            "netflow9.flowset_length",
        ),
    ];
    for (bytes, reason) in cases {
        let out = run(&mut dec, bytes);
        assert_eq!(reasons(&out), [reason], "{bytes:?}");
        assert!(!out.errors[0].to_string().is_empty());
    }
    // Too short for a version field: said so, not "version field 0".
    for (bytes, says) in [
        (&[][..], "at offset 0: empty datagram: not a flow export"),
        (
            &[5][..],
            "at offset 0: 1-byte datagram: too short for a version field",
        ),
    ] {
        let out = run(&mut dec, bytes);
        assert_eq!(reasons(&out), ["flow.unrecognised"]);
        let message = out.errors[0].to_string();
        assert!(message.starts_with(says), "{message}");
    }
}

/// An IPFIX datagram split into two IPv4 fragments (second first) inside a pcap is
/// reassembled; incomplete fragments are held within the configured bounds.
#[test]
fn fragmented_export_datagrams() {
    let t = tpl(400, &[(8, 4, None), (12, 4, None), (2, 4, None)]);
    let mut recs = Vec::new();
    for i in 0..200u8 {
        recs.extend_from_slice(&[10, 0, 0, i, 10, 0, 1, i, 0, 0, 0, 1]);
    }
    let msg = ipfix(1000, &[(2, t), (400, recs)]);
    let mut udp = vec![0x13, 0x88, 0x12, 0x83];
    udp.extend_from_slice(&((msg.len() + 8) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&msg);
    let frag = ipv4_fragment;
    let split = 1480;
    let mut frames = vec![
        frag(split, &udp[split..], false, 7),
        frag(0, &udp[..split], true, 7),
    ];
    // 100 datagrams whose first fragment never comes.
    for id in 100..200 {
        frames.push(frag(8, &[0; 8], false, id));
    }
    let file = ethernet_pcap(&frames);
    let mut got = Vec::new();
    let config = DefragConfig {
        max_pending: 16,
        ..DefragConfig::default()
    };
    let stats = for_each_export(&file, config, &mut |p| {
        got.push((p.protocol, p.reassembled, p.payload.len(), p.exporter));
    })
    .unwrap();
    assert_eq!(
        got,
        [(FlowProtocol::Ipfix, true, msg.len(), DAT_EXPORTER_FRAG)]
    );
    assert_eq!(stats.reassembled, 1);
    assert_eq!(stats.fragments_dropped, 100);
}

const DAT_EXPORTER_FRAG: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));

/// An Ethernet frame holding an IPv4 fragment from 192.0.2.9 to 192.0.2.2 of a UDP
/// datagram: byte offset `off`, more fragments to come, IP id `id`.
fn ipv4_fragment(off: usize, data: &[u8], more: bool, id: u16) -> Vec<u8> {
    let ff = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
    ipv4_frame([192, 0, 2, 9], id, ff, data)
}

/// An Ethernet frame holding an IPv4 packet of protocol UDP from `src` to 192.0.2.2.
fn ipv4_frame(src: [u8; 4], id: u16, flags_offset: u16, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = 20 + l4.len();
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8]);
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&flags_offset.to_be_bytes());
    f.extend_from_slice(&[64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[192, 0, 2, 2]);
    f.extend_from_slice(l4);
    f
}

/// A UDP segment from port 5000 to 4739 carrying `payload`.
fn udp_segment(payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0x13, 0x88, 0x12, 0x83];
    u.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// A classic pcap of Ethernet `frames`, one a second.
fn ethernet_pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut file = pcap_file_header(1, 262_144, false).to_vec();
    for (i, f) in frames.iter().enumerate() {
        let len = f.len() as u32;
        file.extend_from_slice(&pcap_record_header(
            (1 + i as u64) * 1_000_000_000,
            len,
            len,
            false,
        ));
        file.extend_from_slice(f);
    }
    file
}

/// Overlapping fragments that agree are reassembled; ones that carry different bytes make
/// the datagram ambiguous: it is dropped once (its later fragments ignored), and the drop
/// names the datagram.
#[test]
fn conflicting_fragments_are_dropped() {
    let t = tpl(400, &[(8, 4, None), (12, 4, None), (2, 4, None)]);
    let mut recs = Vec::new();
    for i in (0..250u8).chain(0..250) {
        recs.extend_from_slice(&[10, 0, 0, i, 10, 0, 1, i, 0, 0, 0, 1]);
    }
    let msg = ipfix(1000, &[(2, t), (400, recs)]);
    let udp = udp_segment(&msg);
    let mut other = udp.clone();
    other[1500] ^= 0xff;
    let (a, b) = (1480, 2960);
    let frames = [
        // Datagram 7: the middle fragment twice, the same bytes.
        ipv4_fragment(0, &udp[..a], true, 7),
        ipv4_fragment(a, &udp[a..b], true, 7),
        ipv4_fragment(a, &udp[a..b], true, 7),
        ipv4_fragment(b, &udp[b..], false, 7),
        // Datagram 8: the middle fragment again with one byte changed, then the rest.
        ipv4_fragment(0, &udp[..a], true, 8),
        ipv4_fragment(a, &udp[a..b], true, 8),
        ipv4_fragment(a, &other[a..b], true, 8),
        ipv4_fragment(b, &udp[b..], false, 8),
    ];
    let file = ethernet_pcap(&frames);
    let mut got = Vec::new();
    let stats = for_each_export(&file, DefragConfig::default(), &mut |p| {
        got.push((p.reassembled, p.payload == &msg[..]));
    })
    .unwrap();
    assert_eq!(got, [(true, true)]);
    assert_eq!(stats.fragments_dropped, 1);
    let first = stats.first_dropped.expect("the dropped datagram is named");
    assert_eq!((first.id, first.record), (8, 5));
    assert_eq!(first.src, DAT_EXPORTER_FRAG);
    assert_eq!(first.reason, DropReason::Conflicting);
}

/// A NetFlow v5 message from engine `engine`: header `count`, `records` records (record i
/// from 10.0.0.i to 192.0.2.i, one packet).
fn v5(count: u16, records: u8, engine: u8) -> Vec<u8> {
    let mut m = vec![0, 5];
    m.extend_from_slice(&count.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0x27, 0x10]); // uptime 10 s
    m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    m.extend_from_slice(&[0; 8]); // nsecs, sequence
    m.extend_from_slice(&[0, engine, 0, 0]);
    for i in 1..=records {
        let mut r = vec![0u8; 48];
        r[..4].copy_from_slice(&[10, 0, 0, i]);
        r[4..8].copy_from_slice(&[192, 0, 2, i]);
        r[16..20].copy_from_slice(&1u32.to_be_bytes());
        r[20..24].copy_from_slice(&64u32.to_be_bytes());
        r[38] = 17;
        m.extend_from_slice(&r);
    }
    m
}

/// A NetFlow v9 message (source id 7) with the given flowsets.
fn v9(sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0, 9, 0, sets.len() as u8, 0, 0, 0x27, 0x10];
    m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 7]);
    for (id, body) in sets {
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        m.extend_from_slice(body);
    }
    m
}

/// A v9 template record: id and `(type, len)` fields.
fn v9_tpl(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut t = id.to_be_bytes().to_vec();
    t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for (ty, len) in fields {
        t.extend_from_slice(&ty.to_be_bytes());
        t.extend_from_slice(&len.to_be_bytes());
    }
    t
}

/// One record of the test templates: 10.0.0.i → 192.0.2.i, one packet.
fn addr_record(i: u8) -> Vec<u8> {
    vec![10, 0, 0, i, 192, 0, 2, i, 0, 0, 0, 1]
}

/// Cut `file` with `RawDatagrams` and decode every message: `(lengths, damaged flags,
/// destinations' last octets, error reasons)`.
fn cut_and_decode(file: &[u8]) -> (Vec<usize>, Vec<bool>, Vec<u8>, Vec<&'static str>) {
    let parts: Vec<_> = RawDatagrams::new(file).collect();
    let mut dec = FlowDecoder::default();
    let (mut dsts, mut errs) = (Vec::new(), Vec::new());
    for p in &parts {
        let out = run(&mut dec, p.data);
        dsts.extend(out.records.iter().map(|o| match o.dst {
            IpAddr::V4(a) => a.octets()[3],
            IpAddr::V6(_) => 0,
        }));
        errs.extend(reasons(&out));
    }
    let lens = parts.iter().map(|p| p.data.len()).collect();
    (lens, parts.iter().map(|p| p.damaged).collect(), dsts, errs)
}

/// One damaged message of a raw file loses only itself: the cut resumes at the next
/// consistent message, and the damage is reported where it is.
#[test]
fn raw_files_resume_after_a_damaged_message() {
    // IPFIX: a set length running past the message; the message length still holds.
    let fields = [(8, 4, None), (12, 4, None), (2, 4, None)];
    let good = |i| ipfix(1000, &[(256, addr_record(i))]);
    let mut bad = good(3);
    bad[18..20].copy_from_slice(&200u16.to_be_bytes());
    let head = ipfix(1000, &[(2, tpl(256, &fields))]);
    let file = [head.clone(), good(1), good(2), bad, good(4), good(5)].concat();
    let (lens, damaged, dsts, errs) = cut_and_decode(&file);
    assert_eq!(lens, [head.len(), 32, 32, 32, 32, 32]);
    assert_eq!(damaged, [false, false, false, true, false, false]);
    // The damaged set's record is still whole inside the message: kept.
    assert_eq!(dsts, [1, 2, 3, 4, 5]);
    assert_eq!(errs, ["ipfix.truncated"]);

    // NetFlow v9 (no message length): a zero flowset length; then an IPFIX message.
    let v9_fields = [(8, 4), (12, 4), (2, 4)];
    let head = v9(&[(0, v9_tpl(256, &v9_fields))]);
    let good = |i| v9(&[(256, addr_record(i))]);
    let mut bad = v9(&[(256, addr_record(3)), (256, addr_record(9))]);
    bad[22..24].copy_from_slice(&0u16.to_be_bytes());
    let ipfix_head = ipfix(1000, &[(2, tpl(256, &fields))]);
    let file = [
        head.clone(),
        good(1),
        bad.clone(),
        good(4),
        ipfix_head.clone(),
        ipfix(1000, &[(256, addr_record(5))]),
    ]
    .concat();
    let (lens, damaged, dsts, errs) = cut_and_decode(&file);
    assert_eq!(lens, [head.len(), 36, bad.len(), 36, ipfix_head.len(), 32]);
    assert_eq!(damaged, [false, false, true, false, false, false]);
    assert_eq!(dsts, [1, 4, 5]);
    assert_eq!(errs, ["netflow9.flowset_length"]);

    // NetFlow v5: a count of 30 running into the next messages of the same engine is cut
    // at the next header, instead of reading it as records.
    let file = [v5(30, 1, 3), v5(2, 2, 3), v5(1, 1, 3)].concat();
    let (lens, damaged, dsts, errs) = cut_and_decode(&file);
    assert_eq!(lens, [72, 120, 72]);
    assert_eq!(damaged, [true, false, false]);
    assert_eq!(dsts, [1, 1, 2, 1]);
    assert_eq!(errs, ["netflow5.truncated"]);
    // A count that fits the file but runs into the next header of the same engine.
    let file = [v5(3, 1, 3), v5(2, 2, 3)].concat();
    let (lens, damaged, dsts, _) = cut_and_decode(&file);
    assert_eq!(
        (lens, damaged, dsts),
        (vec![72, 120], vec![true, false], vec![1, 1, 2])
    );
    // Another engine's header there is read as records, as the count says.
    let file = [v5(3, 1, 3), v5(2, 2, 4)].concat();
    assert_eq!(cut_and_decode(&file).0[0], 168);
}

/// NetFlow v5 allows 30 records per datagram, but one exactly `24 + 48 × count` bytes long
/// is unambiguous: it is recognised (in captures and raw files alike) and decoded whole, as
/// tshark decodes it, with a `netflow5.count_above_30` warning, up to the 1,364 records a
/// UDP datagram can hold. A count the datagram does not hold stays an error.
#[test]
fn netflow5_counts_above_30_are_decoded_with_a_warning() {
    // 31 records (1,512 bytes), and the most a datagram holds (1,364: 65,496 bytes).
    let mut most = v5(1364, 0, 0);
    for i in 0..1364usize {
        let mut r = [0u8; 48];
        r[..4].copy_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
        r[4..8].copy_from_slice(&[192, 0, 2, 1]);
        r[16..20].copy_from_slice(&1u32.to_be_bytes());
        r[38] = 17;
        most.extend_from_slice(&r);
    }
    assert_eq!(most.len(), 65_496);
    for (m, count) in [(v5(31, 31, 0), 31u16), (most, 1364)] {
        assert_eq!(sniff(&m), Some(FlowProtocol::NetflowV5), "{count}");
        let out = run(&mut FlowDecoder::default(), &m);
        assert_eq!(out.records.len(), usize::from(count));
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.warnings.len(), 1);
        let w = out.warnings[0];
        assert_eq!((w.reason(), w.offset), ("netflow5.count_above_30", 2));
        assert!(
            w.to_string().contains(&format!("header count {count}")),
            "{w}"
        );
        // A raw file of it and a v5 message after it: cut at its length.
        let file = [m.clone(), v5(1, 1, 0)].concat();
        let cut: Vec<_> = RawDatagrams::new(&file)
            .map(|d| (d.data.len(), d.damaged))
            .collect();
        assert_eq!(cut, [(m.len(), false), (72, false)]);
    }
    // 30 records: no warning.
    let out = run(&mut FlowDecoder::default(), &v5(30, 30, 0));
    assert_eq!((out.records.len(), out.warnings.len()), (30, 0));
    // A count of 65,535 with two records: not recognised (a damaged v5 export, decoded as
    // far as it goes when its exporter is known), and an error, not a warning.
    let lying = v5(65_535, 2, 0);
    assert_eq!(sniff(&lying), None);
    let out = run(&mut FlowDecoder::default(), &lying);
    assert_eq!(out.records.len(), 2);
    assert_eq!(reasons(&out), ["netflow5.truncated"]);
    assert!(out.warnings.is_empty());
    // One record more than the count: the count's records and trailing bytes.
    let long = v5(31, 32, 0);
    assert_eq!(sniff(&long), None);
    let out = run(&mut FlowDecoder::default(), &long);
    assert_eq!(out.records.len(), 31);
    assert_eq!(reasons(&out), ["netflow5.trailing"]);
}

/// In a capture, a payload that fails the consistency checks is handed over as a damaged
/// export when its exporter already sent that protocol to that port, and not otherwise.
#[test]
fn damaged_exports_in_captures_are_decoded() {
    let frame =
        |src: [u8; 4], id: u16, payload: &[u8]| ipv4_frame(src, id, 0, &udp_segment(payload));
    let frames = [
        frame([192, 0, 2, 9], 1, &v5(1, 1, 0)),
        // Count 3, two records: a lying count.
        frame([192, 0, 2, 9], 2, &v5(3, 2, 0)),
        // The same damage from an exporter never seen: not an export.
        frame([192, 0, 2, 10], 3, &v5(3, 2, 0)),
        frame([192, 0, 2, 9], 4, &v5(1, 1, 0)),
    ];
    let file = ethernet_pcap(&frames);
    let mut got = Vec::new();
    let stats = for_each_export(&file, DefragConfig::default(), &mut |p| {
        got.push((p.record, p.protocol, p.damaged));
    })
    .unwrap();
    let v5p = FlowProtocol::NetflowV5;
    assert_eq!(got, [(1, v5p, false), (2, v5p, true), (4, v5p, false)]);
    assert_eq!(
        (stats.exports, stats.damaged_exports, stats.other_ip),
        (2, 1, 1)
    );
    let mut dec = FlowDecoder::default();
    let out = run(&mut dec, &v5(3, 2, 0));
    assert_eq!(out.records.len(), 2);
    assert_eq!(reasons(&out), ["netflow5.truncated"]);
}

/// A sampling rate learned from NetFlow v9 options data applies to that exporter's v9
/// records only, not to its IPFIX records of the same domain number.
#[test]
fn sampling_rates_stay_with_their_protocol() {
    let mut dec = FlowDecoder::default();
    // v9 options template: scope System (type 1, 4 bytes), field 34 sampling interval.
    let mut opt = 300u16.to_be_bytes().to_vec();
    opt.extend_from_slice(&[0, 4, 0, 4, 0, 1, 0, 4, 0, 34, 0, 4]);
    let fields = [(8, 4), (12, 4), (2, 4)];
    let setup = v9(&[
        (1, opt),
        (0, v9_tpl(256, &fields)),
        (300, vec![0, 0, 0, 0, 0, 0, 0, 100]),
    ]);
    assert_eq!(run(&mut dec, &setup).samplings, [100]);
    let v9_data = run(&mut dec, &v9(&[(256, addr_record(1))]));
    assert_eq!(v9_data.records[0].sampling, 100);
    let t = tpl(256, &[(8, 4, None), (12, 4, None), (2, 4, None)]);
    let out = run(&mut dec, &ipfix(1000, &[(2, t), (256, addr_record(2))]));
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.records[0].sampling, 1);
    assert_eq!(out.records[0].packets, 1);
}

/// IPFIX records timed by `flowStartSysUpTime` take the exporter's boot time
/// (`systemInitTimeMilliseconds`) from options data of their exporter and domain when they
/// do not carry it: the flow started 10 minutes before export, not at the export time.
#[test]
fn uptime_records_use_the_boot_time_of_options_data() {
    let export_secs = 1_700_000_000u32;
    let boot_ms = (u64::from(export_secs) - 3600) * 1000;
    let mut dec = FlowDecoder::default();
    // Options template 300: scope observationDomainId (149), systemInitTimeMilliseconds.
    let mut opt = 300u16.to_be_bytes().to_vec();
    opt.extend_from_slice(&[0, 2, 0, 1, 0, 149, 0, 4, 0, 160, 0, 8]);
    let fields = [
        (8, 4, None),
        (12, 4, None),
        (2, 4, None),
        (22, 4, None),
        (21, 4, None),
    ];
    let mut rec = addr_record(1);
    rec.extend_from_slice(&3_000_000u32.to_be_bytes());
    rec.extend_from_slice(&3_010_000u32.to_be_bytes());
    let data = ipfix(export_secs, &[(256, rec)]);
    // Before the options data: no boot time, so the export time.
    let out = run(
        &mut dec,
        &ipfix(export_secs, &[(2, tpl(256, &fields)), (3, opt)]),
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let first = run(&mut dec, &data);
    assert_eq!(
        first.records[0].ts_ns,
        u64::from(export_secs) * 1_000_000_000
    );
    let mut opt_data = 7u32.to_be_bytes().to_vec();
    opt_data.extend_from_slice(&boot_ms.to_be_bytes());
    assert!(run(&mut dec, &ipfix(export_secs, &[(300, opt_data)]))
        .errors
        .is_empty());
    let out = run(&mut dec, &data);
    let start = (boot_ms + 3_000_000) * 1_000_000;
    assert_eq!(out.records[0].ts_ns, start);
    assert_eq!(start, (u64::from(export_secs) - 600) * 1_000_000_000);
    // Another domain's records are not timed by it.
    let mut other = data.clone();
    other[12..16].copy_from_slice(&8u32.to_be_bytes());
    let mut other_tpl = ipfix(export_secs, &[(2, tpl(256, &fields))]);
    other_tpl[12..16].copy_from_slice(&8u32.to_be_bytes());
    assert!(run(&mut dec, &other_tpl).errors.is_empty());
    let out = run(&mut dec, &other);
    assert_eq!(out.records[0].ts_ns, u64::from(export_secs) * 1_000_000_000);
}

/// A data set whose template was evicted by the template limit says it may have been.
#[test]
fn evicted_templates_are_named_as_possibly_evicted() {
    let mut dec = FlowDecoder::new(FlowConfig {
        max_templates: 2,
        ..FlowConfig::default()
    });
    let fields = [(8, 4, None), (12, 4, None), (2, 4, None)];
    let out = run(&mut dec, &ipfix(1000, &[(256, addr_record(1))]));
    assert!(out.errors[0].to_string().contains("before its template"));
    let sets: Vec<_> = (256..259).map(|id| (2, tpl(id, &fields))).collect();
    run(&mut dec, &ipfix(1000, &sets));
    let out = run(&mut dec, &ipfix(1000, &[(256, addr_record(1))]));
    assert_eq!(reasons(&out), ["ipfix.missing_template"]);
    let msg = out.errors[0].to_string();
    assert!(msg.contains("among the 1 templates evicted"), "{msg}");
    assert_eq!(
        run(&mut dec, &ipfix(1000, &[(258, addr_record(1))]))
            .records
            .len(),
        1
    );
}

/// One sender inventing templates evicts its own, not another exporter's (the review's
/// t21_tpl_evict: 4,096 templates from one address left a live exporter's data undecoded).
#[test]
fn one_exporter_cannot_evict_another_exporters_templates() {
    let mut dec = FlowDecoder::new(FlowConfig {
        max_templates: 64,
        max_templates_per_exporter: 16,
        ..FlowConfig::default()
    });
    let fields = [(8, 4, None), (12, 4, None), (2, 4, None)];
    let honest: IpAddr = "192.0.2.20".parse().unwrap();
    let noisy: IpAddr = "198.51.100.66".parse().unwrap();
    let decode = |dec: &mut FlowDecoder, from: IpAddr, msg: &[u8]| {
        let mut out = Decoded::default();
        dec.decode(from, 0, msg, &mut |ev| match ev {
            FlowEvent::Record(o) => out.records.push(*o),
            FlowEvent::Error(e) => out.errors.push(e),
            _ => {}
        });
        out
    };
    decode(&mut dec, honest, &ipfix(1000, &[(2, tpl(256, &fields))]));
    // Ten thousand distinct templates from the other sender, a few per message.
    for batch in 0..2500u16 {
        let sets: Vec<_> = (0..4)
            .map(|i| (2, tpl(256 + ((batch * 4 + i) % 65000), &fields)))
            .collect();
        decode(&mut dec, noisy, &ipfix(1000, &sets));
    }
    let out = decode(&mut dec, honest, &ipfix(1000, &[(256, addr_record(1))]));
    assert_eq!(out.records.len(), 1, "{:?}", reasons(&out));
    // The sender keeps its newest 16 templates; its older ones were evicted.
    assert_eq!(dec.templates().len(), 17);
    let newest = 256 + 2499 * 4 + 3;
    let out = decode(&mut dec, noisy, &ipfix(1000, &[(newest, addr_record(2))]));
    assert_eq!(out.records.len(), 1, "{:?}", reasons(&out));
    let out = decode(&mut dec, noisy, &ipfix(1000, &[(256, addr_record(2))]));
    assert_eq!(reasons(&out), ["ipfix.missing_template"]);
    // Many senders together are still held to the overall limit, oldest first.
    for n in 0..10u8 {
        let from = IpAddr::from([203, 0, 113, n]);
        let sets: Vec<_> = (0..16).map(|i| (2, tpl(300 + i, &fields))).collect();
        decode(&mut dec, from, &ipfix(1000, &sets));
    }
    assert_eq!(dec.templates().len(), 64);
}

// ---- properties ----------------------------------------------------------------------------

fn real_datagrams() -> Vec<Vec<u8>> {
    all_files()
        .iter()
        .flat_map(|f| datagrams_of(f))
        .map(|d| d.payload)
        .collect()
}

/// An sFlow datagram with one flow sample (1 in 10) holding a raw packet header record of
/// header protocol `proto`, and after it, when `ipv4`, a sampled IPv4 record.
fn sflow_header_datagram(proto: u32, header: &[u8], ipv4: bool) -> Vec<u8> {
    let be = |v: &mut Vec<u8>, words: &[u32]| {
        for w in words {
            v.extend_from_slice(&w.to_be_bytes());
        }
    };
    let mut rec = Vec::new();
    let padded = header.len().div_ceil(4) * 4;
    be(&mut rec, &[1, 16 + padded as u32]);
    be(
        &mut rec,
        &[proto, header.len() as u32 + 4, 4, header.len() as u32],
    );
    rec.extend_from_slice(header);
    rec.resize(8 + 16 + padded, 0);
    if ipv4 {
        be(
            &mut rec,
            &[3, 32, 128, 17, 0x0a09_0008, 0xc000_0247, 53, 33333, 0, 0],
        );
    }
    let mut sample = Vec::new();
    be(&mut sample, &[1, 3, 10, 1000, 0, 3, 4, 1 + u32::from(ipv4)]);
    sample.extend_from_slice(&rec);
    let mut d = Vec::new();
    be(
        &mut d,
        &[5, 1, 0xc000_0264, 0, 1, 1000, 1, 1, sample.len() as u32],
    );
    d.extend_from_slice(&sample);
    d
}

/// Link headers that lead into an IPv4 packet for each header protocol floodtrace decodes,
/// to put in front of random bytes.
const SFLOW_HEADS: [(u32, &[u8]); 9] = [
    (1, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]),
    (5, &[0x18, 0x41, 0x03, 0xcc]),
    (5, &[0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00]),
    (7, &[0xff, 0x03, 0x00, 0x21]),
    (7, &[0xff, 0x03, 0x02, 0x81, 0, 0x64, 0x11, 0x40]),
    (11, &[]),
    (13, &[0, 0x64, 0x11, 0x40]),
    (14, &[0xff, 0x03, 0x21]),
    (14, &[0x0f, 0x00, 0x08, 0x00]),
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// A raw packet header of any header protocol, with any bytes (behind a link header
    /// that leads to IP, or not): no panic; a valid protocol (1 to 17) is never an
    /// `sflow.header_protocol` error and an undefined one always is; a sample gives at most
    /// one record, and is skipped only for a protocol that is not decoded and when nothing
    /// else in it gives a record; the sampled IPv4 record is used when the header gives none.
    #[test]
    fn sampled_headers_of_any_protocol(
        proto in 0u32..20,
        head in proptest::option::of(0usize..SFLOW_HEADS.len()),
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..160),
        ipv4 in proptest::prelude::any::<bool>(),
    ) {
        let (proto, mut header) = match head {
            Some(i) => (SFLOW_HEADS[i].0, SFLOW_HEADS[i].1.to_vec()),
            None => (proto, Vec::new()),
        };
        header.extend_from_slice(&body);
        let d = sflow_header_datagram(proto, &header, ipv4);
        let out = run(&mut FlowDecoder::default(), &d);
        let valid = (1..=17).contains(&proto);
        let undecoded = matches!(proto, 2..=4 | 6 | 8..=10 | 15..=17);
        let bad_protocol = out.errors.iter().filter(|e| e.reason() == "sflow.header_protocol").count();
        proptest::prop_assert_eq!(bad_protocol, usize::from(!valid));
        proptest::prop_assert!(out.records.len() <= 1);
        proptest::prop_assert_eq!(out.skipped, usize::from(undecoded && !ipv4));
        if ipv4 {
            proptest::prop_assert_eq!(out.records.len(), 1);
        }
        if undecoded {
            proptest::prop_assert!(out.errors.is_empty());
        }
        for e in &out.errors {
            proptest::prop_assert!(e.offset <= d.len());
        }
        floodtrace_wire::fuzzing::sflow(&d[4..]);
    }

    /// Random bytes behind each protocol's version field never panic, and every error
    /// points inside the datagram.
    #[test]
    fn random_bytes(version in 0usize..5, body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let prefixes: [&[u8]; 5] = [&[0, 5], &[0, 9], &[0, 10], &[0, 0, 0, 5], &[]];
        let mut d = prefixes[version].to_vec();
        d.extend_from_slice(&body);
        let mut dec = FlowDecoder::default();
        // Twice: the second pass sees the templates the first one learned.
        for _ in 0..2 {
            dec.decode(DAT_EXPORTER, 0, &d, &mut |ev| {
                if let FlowEvent::Error(e) = ev {
                    assert!(e.offset <= d.len(), "{e}");
                    let _ = e.reason();
                }
            });
        }
        floodtrace_wire::fuzzing::flow_export(&d);
        let _ = floodtrace_wire::flow::sniff(&d);
        let _: Vec<_> = RawDatagrams::new(&d).collect();
    }

    /// Mutations of the real files (a few bytes overwritten, or cut) never panic.
    #[test]
    fn mutated_real_files(pick in 0usize..10_000, edits in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..8), cut in 0usize..4096) {
        thread_local! {
            static REAL: Vec<Vec<u8>> = real_datagrams();
        }
        REAL.with(|real| {
            let mut d = real[pick % real.len()].clone();
            for (at, b) in &edits {
                if !d.is_empty() {
                    let n = d.len();
                    d[at % n] = *b;
                }
            }
            floodtrace_wire::fuzzing::flow_export(&d);
            let mut dec = FlowDecoder::default();
            for part in [&d[..], &d[..cut.min(d.len())]] {
                for _ in 0..2 {
                    dec.decode(DAT_EXPORTER, 0, part, &mut |_| {});
                }
            }
        });
    }
}

// ---- no allocation per record --------------------------------------------------------------

struct Counting;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn allocations() -> u64 {
    ALLOCATIONS.with(std::cell::Cell::get)
}

// SAFETY: every method forwards to `System` unchanged; the counter is a const-initialised
// thread-local `Cell`, which does not allocate.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged; `ptr` came from `System`.
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Sampled headers of every header protocol, decoded or skipped, allocate nothing.
#[test]
fn sampled_headers_decode_without_allocating() {
    let mut udp4 = vec![
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 9, 0, 7, 192, 0, 2, 70,
    ];
    udp4.extend_from_slice(&[0, 53, 0x82, 0x35, 0, 8, 0, 0]);
    let mut dgrams = Vec::new();
    for (proto, head) in SFLOW_HEADS {
        let mut header = head.to_vec();
        header.extend_from_slice(&udp4);
        dgrams.push(sflow_header_datagram(proto, &header, false));
    }
    for proto in [2, 3, 4, 6, 8, 9, 10, 15, 16, 17, 18] {
        dgrams.push(sflow_header_datagram(proto, &udp4, false));
    }
    let mut dec = FlowDecoder::default();
    let (mut records, mut skipped, mut errors) = (0, 0, 0);
    for d in &dgrams {
        let before = allocations();
        dec.decode(DAT_EXPORTER, 0, d, &mut |ev| match ev {
            FlowEvent::Record(_) => records += 1,
            FlowEvent::Skipped(_) => skipped += 1,
            FlowEvent::Error(_) => errors += 1,
            _ => {}
        });
        assert_eq!(allocations() - before, 0, "{d:02x?}");
    }
    assert_eq!((records, skipped, errors), (SFLOW_HEADS.len(), 10, 1));
}

/// Decoding every real datagram allocates only when a template or a sampling rate arrives:
/// a datagram that brings neither allocates nothing, whatever records, errors or counters
/// it holds.
#[test]
fn no_allocation_per_record() {
    let dgrams: Vec<Datagram> = all_files().iter().flat_map(|f| datagrams_of(f)).collect();
    let mut dec = FlowDecoder::new(FlowConfig {
        template_timeout_secs: 0,
        ..FlowConfig::default()
    });
    let (mut checked, mut records) = (0, 0u64);
    for pass in 0..2 {
        for d in &dgrams {
            let mut templates = 0u32;
            let mut n = 0u64;
            let before = allocations();
            dec.decode(d.exporter, d.ts_ns, &d.payload, &mut |ev| match ev {
                // A template that arrived but was rejected was still read into a list.
                FlowEvent::Template(_) => templates += 1,
                FlowEvent::Error(FlowError {
                    kind: floodtrace_wire::flow::FlowErrorKind::TemplateRejected { .. },
                    ..
                }) => templates += 1,
                // A changed sampling rate is stored (bookkeeping may grow once).
                FlowEvent::Sampling(_) => templates += 1,
                FlowEvent::Record(_) => n += 1,
                _ => {}
            });
            let allocated = allocations() - before;
            if pass == 1 && templates == 0 {
                assert_eq!(
                    allocated,
                    0,
                    "a datagram without templates allocated: {:?}",
                    &d.payload[..8]
                );
                checked += 1;
                records += n;
            }
        }
    }
    assert!(
        checked > 100 && records > 300,
        "{checked} datagrams, {records} records"
    );
}
