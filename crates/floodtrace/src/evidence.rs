//! `analyze --evidence DIR`: the first packets of each vector of each incident, written to
//! pcap files so they can be opened in Wireshark or attached to an abuse report.
//!
//! Detection needs the whole input before it knows the incidents, so the evidence is
//! collected in a second, targeted pass over the input files: only packets towards an
//! incident's victim inside its time span are looked at, and each is filed under the
//! incident vector its traffic class (and, for UDP, its source port or DNS query) stands
//! for. The pass stops early once every (incident, vector) has its packets.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use floodtrace_engine::aggregate::{addr_key, Class};
use floodtrace_engine::classify::REFLECTION_PORTS;
use floodtrace_engine::incident::Incident;
use floodtrace_wire::capture::{pcap_file_header, pcap_record_header, RecordReader};
use floodtrace_wire::{observe_frame_with, AppHint, Frame, Observation, PeekMode};

use crate::sources::file::Again;

/// One incident's victim as an address range, its time span and its vector names.
struct Target {
    id: u32,
    lo: u128,
    hi: u128,
    start_ns: u64,
    end_ns: u64,
    vectors: Vec<String>,
}

impl Target {
    fn new(inc: &Incident) -> Option<Target> {
        let (lo, hi) = victim_range(&inc.victim)?;
        Some(Target {
            id: inc.id,
            lo,
            hi,
            start_ns: inc.start_ns(),
            end_ns: inc.end_ns(),
            vectors: inc.vectors.iter().map(|v| v.name.clone()).collect(),
        })
    }

    fn covers(&self, obs: &Observation) -> bool {
        let k = addr_key(obs.dst);
        k >= self.lo && k <= self.hi && obs.ts_ns >= self.start_ns && obs.ts_ns <= self.end_ns
    }

    /// The incident vector this packet belongs to, if any.
    fn vector_of(&self, obs: &Observation) -> Option<&str> {
        let has = |n: &str| self.vectors.iter().any(|v| v == n);
        let class = Class::of(obs);
        let tcp = matches!(
            class,
            Class::TcpSyn | Class::TcpSynAck | Class::TcpAck | Class::TcpRst | Class::TcpOther
        );
        let reflection = || {
            REFLECTION_PORTS
                .iter()
                .find(|(p, _)| *p == obs.sport)
                .map(|(_, name)| format!("{name}_reflection"))
                .filter(|n| has(n))
        };
        let name: String = if tcp && has("http_flood") {
            "http_flood".into()
        } else {
            match class {
                Class::TcpSyn => "syn_flood".into(),
                Class::TcpSynAck => "syn_ack_reflection".into(),
                Class::TcpAck if has("tcp_stomp") => "tcp_stomp".into(),
                Class::TcpAck => "ack_flood".into(),
                Class::TcpRst => "rst_flood".into(),
                Class::TcpOther => "tcp_other_flood".into(),
                Class::Udp => {
                    if let Some(r) = reflection() {
                        r
                    } else if matches!(obs.app, AppHint::DnsQuery { .. })
                        && has("dns_water_torture")
                    {
                        "dns_water_torture".into()
                    } else if has("udp_fragment_flood") && obs.fragment != Default::default() {
                        "udp_fragment_flood".into()
                    } else {
                        "udp_flood".into()
                    }
                }
                Class::Icmp => "icmp_flood".into(),
                Class::Gre => "gre_flood".into(),
                // Later fragments carry no port: they go with the incident's reflection
                // vector or fragment flood.
                Class::Fragment => self
                    .vectors
                    .iter()
                    .find(|v| v.ends_with("_reflection") || *v == "udp_fragment_flood")
                    .cloned()
                    .unwrap_or_else(|| "udp_fragment_flood".into()),
                Class::Other => "other_flood".into(),
            }
        };
        self.vectors
            .iter()
            .find(|v| **v == name)
            .map(String::as_str)
    }
}

/// An incident victim (`a.b.c.d` or `a.b.c.0/24`) as an inclusive range of address keys
/// ([`addr_key`]).
pub fn victim_range(victim: &str) -> Option<(u128, u128)> {
    let (addr, len) = match victim.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u32>().ok()?),
        None => {
            let a: IpAddr = victim.parse().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    // Keys map IPv4 into ::ffff:0:0/96, so a v4 prefix length counts from bit 96.
    let bits = if addr.is_ipv4() { 96 + len } else { len }.min(128);
    let lo = addr_key(addr) & mask(bits);
    Some((lo, lo | !mask(bits)))
}

fn mask(bits: u32) -> u128 {
    if bits == 0 {
        0
    } else {
        !0u128 << (128 - bits)
    }
}

/// A pcap file being written (nanosecond timestamps).
struct PcapOut {
    path: PathBuf,
    out: BufWriter<File>,
    link_type: u16,
    written: usize,
    skipped_link: u64,
}

impl PcapOut {
    fn create(path: PathBuf, link_type: u16) -> anyhow::Result<PcapOut> {
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(file);
        out.write_all(&pcap_file_header(link_type, 262_144, true))?;
        Ok(PcapOut {
            path,
            out,
            link_type,
            written: 0,
            skipped_link: 0,
        })
    }

    fn write(&mut self, ts_ns: u64, data: &[u8], wire_len: u32) -> std::io::Result<()> {
        self.out.write_all(&pcap_record_header(
            ts_ns,
            data.len() as u32,
            wire_len,
            true,
        ))?;
        self.out.write_all(data)?;
        self.written += 1;
        Ok(())
    }
}

/// What was written: `(incident id, vector, file, packets)`.
pub struct EvidenceFile {
    /// Incident id.
    pub incident: u32,
    /// Vector name.
    pub vector: String,
    /// The pcap written.
    pub path: PathBuf,
    /// Packets in it.
    pub packets: usize,
    /// Packets of the vector left out because their link type differs from the file's.
    pub skipped_link_type: u64,
}

/// Write up to `per_vector` packets of each vector of each incident from `inputs` into
/// `dir` (created if missing) as `incident-<id>-<vector>.pcap`. Standard input that was not
/// spooled cannot be read again and is left out (the spool's failure was reported).
pub fn write_evidence(
    dir: &Path,
    inputs: &[Again<'_>],
    incidents: &[Incident],
    per_vector: usize,
) -> anyhow::Result<Vec<EvidenceFile>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let targets: Vec<Target> = incidents.iter().filter_map(Target::new).collect();
    let wanted: usize = targets.iter().map(|t| t.vectors.len()).sum();
    let mut files: BTreeMap<(u32, String), PcapOut> = BTreeMap::new();
    let full = |files: &BTreeMap<(u32, String), PcapOut>| {
        files.len() == wanted && files.values().all(|f| f.written >= per_vector)
    };
    'inputs: for input in inputs {
        if input.is_unspooled_stdin() {
            continue;
        }
        let map = input.map()?;
        let bytes: &[u8] = map.as_deref().unwrap_or(&[]);
        let Ok(mut reader) = RecordReader::open(bytes) else {
            continue;
        };
        while let Some(item) = reader.next() {
            let rec = match item {
                Ok(r) => r,
                Err(e) if e.fatal => break,
                Err(_) => continue,
            };
            let Ok(Frame::Ip(obs)) = observe_frame_with(
                rec.link_type,
                rec.data,
                rec.ts_ns,
                rec.wire_len,
                PeekMode::Analysis,
            ) else {
                continue;
            };
            for t in targets.iter().filter(|t| t.covers(&obs)) {
                let Some(vector) = t.vector_of(&obs) else {
                    continue;
                };
                let key = (t.id, vector.to_string());
                let out = match files.get_mut(&key) {
                    Some(o) => o,
                    None => {
                        let name = format!("incident-{}-{}.pcap", t.id, vector);
                        let o = PcapOut::create(dir.join(name), rec.link_type)?;
                        files.entry(key).or_insert(o)
                    }
                };
                if out.written >= per_vector {
                    continue;
                }
                if out.link_type != rec.link_type {
                    out.skipped_link += 1;
                    continue;
                }
                out.write(rec.ts_ns, rec.data, rec.wire_len)
                    .with_context(|| format!("cannot write {}", out.path.display()))?;
            }
            if full(&files) {
                break 'inputs;
            }
        }
    }
    let mut done = Vec::new();
    for ((incident, vector), mut f) in files {
        f.out
            .flush()
            .with_context(|| format!("cannot write {}", f.path.display()))?;
        done.push(EvidenceFile {
            incident,
            vector,
            path: f.path,
            packets: f.written,
            skipped_link_type: f.skipped_link,
        });
    }
    Ok(done)
}
