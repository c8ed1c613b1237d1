//! Shared helpers: where the real captures are, running the binary, an independent walker
//! of capture framing (the tests' own oracle, deliberately not floodtrace's code), a
//! deterministic PRNG and self-cleaning temporary directories.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_floodtrace");

/// `shared/data`, next to the repository. Missing data is a test failure, never a skip.
pub fn shared_data() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    match dir.canonicalize() {
        Ok(d) if d.join("pcap").is_dir() => d,
        Ok(d) => panic!(
            "../shared/data is missing: {} has no pcap/ folder; these tests read the real \
             captures described in shared/data/SOURCES.md",
            d.display()
        ),
        Err(e) => panic!(
            "../shared/data is missing: {} ({e}); these tests read the real captures \
             described in shared/data/SOURCES.md, which must sit next to the repository",
            dir.display()
        ),
    }
}

/// Absolute path of a file given relative to `shared/data`.
pub fn data_file(rel: &str) -> PathBuf {
    let p = shared_data().join(rel);
    assert!(
        p.is_file(),
        "../shared/data is missing: {} not found",
        p.display()
    );
    p
}

/// Every capture under `shared/data/pcap`, as paths relative to `shared/data`, sorted.
pub fn shared_captures() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).expect("below root");
                out.push(rel.to_str().expect("UTF-8 path").replace('\\', "/"));
            }
        }
    }
    let root = shared_data();
    let mut out = Vec::new();
    walk(&root.join("pcap"), &root, &mut out);
    out.sort();
    assert!(
        !out.is_empty(),
        "../shared/data is missing: no captures under {}/pcap",
        root.display()
    );
    out
}

/// Read a file of `shared/data`.
pub fn read_data(rel: &str) -> Vec<u8> {
    let p = data_file(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output parsed as JSON (panics with context otherwise).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {:?}; stderr:\n{}",
                self.code, self.stderr
            )
        })
    }

    /// Standard output parsed as JSON, or a description of why it is not.
    pub fn try_json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.stdout).map_err(|e| format!("stdout is not JSON: {e}"))
    }

    /// Panics unless the process exited normally with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit status; stderr:\n{}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }
}

/// Run the binary with `args` (stdin closed).
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_stdin(args, None)
}

/// Run the binary with `args`, feeding `input` on standard input when given.
pub fn run_with_stdin<I, S>(args: I, input: Option<&[u8]>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    run_command(cmd, input)
}

/// Run `cmd` (the binary, or a shell that runs it), feeding `input` on standard input
/// when given.
pub fn run_command(mut cmd: Command, input: Option<&[u8]>) -> Run {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
    let out = std::thread::scope(|s| {
        if let Some(bytes) = input {
            let mut stdin = child.stdin.take().expect("piped stdin");
            s.spawn(move || {
                // The binary may stop reading early (e.g. damaged input): ignore EPIPE.
                let _ = stdin.write_all(bytes);
            });
        }
        child.wait_with_output()
    })
    .unwrap_or_else(|e| panic!("cannot wait for {BIN}: {e}"));
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Small-chunk runs whose document must equal `--threads 1 --chunk-bytes 4096`'s: three
/// threads, and two threads walking the file serially instead of guessing record starts.
pub const SMALL_CHUNK_RUNS: [&[&str]; 2] = [
    &["--threads", "3", "--chunk-bytes", "4096"],
    &[
        "--threads",
        "2",
        "--chunk-bytes",
        "4096",
        "--no-speculative-walk",
    ],
];

/// `floodtrace analyze --format json --no-progress EXTRA... INPUTS...`
pub fn analyze_json<P: AsRef<OsStr>>(extra: &[&str], inputs: &[P]) -> Run {
    let mut args: Vec<&OsStr> = ["analyze", "--format", "json", "--no-progress"]
        .iter()
        .map(OsStr::new)
        .collect();
    args.extend(extra.iter().map(OsStr::new));
    args.extend(inputs.iter().map(AsRef::as_ref));
    run(args)
}

/// `v[key]` as u64 (panics with context).
#[track_caller]
pub fn u64_at(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an unsigned integer in {v}"))
}

/// One record (pcap) or block (pcapng) of a capture, found by the test's own walker.
#[derive(Debug, Clone)]
pub struct Block {
    /// Offset of the record header / block.
    pub start: usize,
    /// Offset just past it.
    pub end: usize,
    /// Carries a packet (pcap record; pcapng EPB, PB or SPB).
    pub packet: bool,
    /// Original length of the packet (max with captured length), 0 for other blocks.
    pub wire_len: u64,
    /// Offsets of the 4-byte length fields that frame it (pcap: caplen; pcapng: leading
    /// and trailing block total length).
    pub len_fields: Vec<usize>,
}

/// The framing of a capture: file header and every record or block, in order.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `pcap` or `pcapng`, recognised from the magic.
    pub format: &'static str,
    /// End of the pcap file header (24), or 0 for pcapng (whose header is a block).
    pub header_end: usize,
    /// Records or blocks.
    pub blocks: Vec<Block>,
}

fn u32_at(b: &[u8], at: usize, be: bool) -> Option<u32> {
    let v: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    })
}

/// Walk the framing of a capture: `Err` unless every record or block fits exactly and
/// the bytes end at a record boundary (i.e. the capture is structurally valid).
pub fn layout(b: &[u8]) -> Result<Layout, String> {
    let magic = u32_at(b, 0, false).ok_or("shorter than a magic number")?;
    match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1 => pcap_layout(b, magic),
        0x0a0d_0d0a => pcapng_layout(b),
        m => Err(format!("unknown magic {m:#010x}")),
    }
}

fn pcap_layout(b: &[u8], magic: u32) -> Result<Layout, String> {
    let be = matches!(magic, 0xd4c3_b2a1 | 0x4d3c_b2a1);
    if b.len() < 24 {
        return Err("truncated file header".into());
    }
    let mut blocks = Vec::new();
    let mut pos = 24;
    while pos < b.len() {
        let (Some(caplen), Some(orig)) = (u32_at(b, pos + 8, be), u32_at(b, pos + 12, be)) else {
            return Err(format!("truncated record header at {pos}"));
        };
        let end = pos + 16 + caplen as usize;
        if end > b.len() {
            return Err(format!("record at {pos} runs past the end"));
        }
        blocks.push(Block {
            start: pos,
            end,
            packet: true,
            wire_len: u64::from(orig.max(caplen)),
            len_fields: vec![pos + 8],
        });
        pos = end;
    }
    Ok(Layout {
        format: "pcap",
        header_end: 24,
        blocks,
    })
}

fn pcapng_layout(b: &[u8]) -> Result<Layout, String> {
    let mut blocks = Vec::new();
    let mut be = false;
    let mut pos = 0;
    while pos < b.len() {
        let ty = u32_at(b, pos, false).ok_or_else(|| format!("truncated block at {pos}"))?;
        if ty == 0x0a0d_0d0a {
            be = match u32_at(b, pos + 8, false) {
                Some(0x1a2b_3c4d) => false,
                Some(0x4d3c_2b1a) => true,
                _ => return Err(format!("bad byte-order magic at {pos}")),
            };
        }
        let total =
            u32_at(b, pos + 4, be).ok_or_else(|| format!("truncated block at {pos}"))? as usize;
        if total < 12 || total & 3 != 0 || pos + total > b.len() {
            return Err(format!("bad block length {total} at {pos}"));
        }
        if u32_at(b, pos + total - 4, be) != Some(total as u32) {
            return Err(format!("trailing length differs at {pos}"));
        }
        let ty = u32_at(b, pos, be).expect("checked");
        let wire_len = match ty {
            // EPB / PB: captured length at body+12, original length at body+16.
            2 | 6 => {
                let cap = u32_at(b, pos + 20, be).ok_or("short packet block")?;
                let orig = u32_at(b, pos + 24, be).ok_or("short packet block")?;
                u64::from(orig.max(cap))
            }
            3 => u64::from(u32_at(b, pos + 8, be).ok_or("short simple packet block")?),
            _ => 0,
        };
        blocks.push(Block {
            start: pos,
            end: pos + total,
            packet: matches!(ty, 2 | 3 | 6),
            wire_len,
            len_fields: vec![pos + 4, pos + total - 4],
        });
        pos += total;
    }
    Ok(Layout {
        format: "pcapng",
        header_end: 0,
        blocks,
    })
}

impl Layout {
    /// Packets in the whole capture.
    pub fn packets(&self) -> u64 {
        self.blocks.iter().filter(|b| b.packet).count() as u64
    }

    /// Sum of the packets' original lengths.
    pub fn wire_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.wire_len).sum()
    }

    /// Packets (and their wire bytes) of the records that end at or before `cut`.
    pub fn kept_before(&self, cut: usize) -> (u64, u64) {
        self.blocks
            .iter()
            .filter(|b| b.packet && b.end <= cut)
            .fold((0, 0), |(n, w), b| (n + 1, w + b.wire_len))
    }

    /// Packets in blocks before block `index`.
    pub fn packets_before_block(&self, index: usize) -> u64 {
        self.blocks[..index].iter().filter(|b| b.packet).count() as u64
    }

    /// `cut` falls exactly between records (after the file header).
    pub fn is_boundary(&self, cut: usize) -> bool {
        (self.header_end > 0 && cut == self.header_end) || self.blocks.iter().any(|b| b.end == cut)
    }

    /// Start of the structure (file header or record) that contains byte `at`.
    pub fn start_of_structure_at(&self, at: usize) -> usize {
        if at < self.header_end {
            return 0;
        }
        self.blocks
            .iter()
            .find(|b| b.start <= at && at < b.end)
            .map_or(0, |b| b.start)
    }
}

/// splitmix64: a tiny deterministic PRNG (fixed seeds make failures reproducible).
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        assert!(hi > lo, "empty range {lo}..{hi}");
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }

    /// A non-zero byte (an XOR mask that really changes the byte).
    pub fn nonzero_byte(&mut self) -> u8 {
        (self.next_u64() % 255) as u8 + 1
    }
}

/// FNV-1a of a string, to derive per-file seeds from names.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A temporary directory, removed with its contents when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, unique directory under the system temporary directory.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "floodtrace-cli-test-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Write `bytes` to `name` inside the directory and return its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The document without `inputs[].path` (which names the input differently per run).
pub fn without_paths(mut v: Value) -> Value {
    if let Some(inputs) = v["inputs"].as_array_mut() {
        for i in inputs {
            if let Some(o) = i.as_object_mut() {
                o.remove("path");
            }
        }
    }
    v
}

/// The small geo database the simulator tests draw sources from.
/// The pinned ip-location-db data (`scripts/fetch-geo` puts it in the repository's
/// `data/geo`; `scripts/test` runs it). Tests of country shares use it because the shared
/// sample database is too small: its smaller countries hold fewer addresses than a
/// simulated botnet has bots there, so bots share addresses with clients and each other.
pub fn pinned_geo() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/geo");
    assert!(
        dir.join("geo-whois-asn-country.mmdb").is_file() && dir.join("asn.ftasn").is_file(),
        "the pinned geo data is missing in {}: run scripts/fetch-geo (scripts/test does)",
        dir.display()
    );
    dir
}

/// `analyze --no-progress` with a simulated folder's outage reports and access log and the
/// sample geo data: the arguments the impact and report tests share (inputs, claims and
/// format follow).
pub fn analyze_with_impact_args(dir: &Path) -> Vec<String> {
    let p = |n: &str| dir.join(n).display().to_string();
    vec![
        "analyze".into(),
        "--no-progress".into(),
        "--reports".into(),
        p("outage-reports.csv"),
        "--logs".into(),
        p("access.log"),
        "--geo".into(),
        sample_geo().display().to_string(),
    ]
}

pub fn sample_geo() -> PathBuf {
    let p = shared_data().join("geo/ipinfo_ip_country_asn_sample.mmdb");
    assert!(
        p.is_file(),
        "../shared/data is missing: {} not found",
        p.display()
    );
    p
}

/// `floodtrace simulate NAME -o OUT` with the sample geo database (and `--seed` when
/// given); returns the truth.json it wrote.
pub fn simulate(name: &str, seed: Option<u64>, out: &Path) -> Value {
    simulate_with_geo(name, seed, out, &sample_geo())
}

/// [`simulate`] with the given geo database (file or directory).
pub fn simulate_with_geo(name: &str, seed: Option<u64>, out: &Path, geo: &Path) -> Value {
    let mut args = vec![
        "simulate".to_string(),
        name.to_string(),
        "-o".into(),
        out.display().to_string(),
        "--geo".into(),
        geo.display().to_string(),
    ];
    if let Some(s) = seed {
        args.push("--seed".into());
        args.push(s.to_string());
    }
    run(&args).expect_code(0);
    let text = std::fs::read_to_string(out.join("truth.json")).expect("truth.json written");
    serde_json::from_str(&text).expect("truth.json is JSON")
}

/// `floodtrace analyze --format json -o REPORT INPUT`, which must read INPUT completely.
pub fn analyze_to(report: &Path, input: &Path) {
    analyze_with(report, input, &[]);
}

/// `analyze --format json -o REPORT INPUT` with extra arguments first.
pub fn analyze_with(report: &Path, input: &Path, extra: &[&str]) {
    let mut args: Vec<String> = vec!["analyze".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "--format".into(),
        "json".into(),
        "-o".into(),
        report.display().to_string(),
        input.display().to_string(),
    ]);
    run(&args).expect_code(0);
}
