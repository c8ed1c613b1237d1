//! `floodtrace collect`: a live NetFlow / IPFIX / sFlow collector feeding the same engine
//! as `analyze`, and the hidden `floodtrace replay` sender used by `scripts/bench-flows`.
//!
//! One receiver thread per UDP socket only drains its socket (large `SO_RCVBUF`) into
//! batches; one decoder thread (the caller's) decodes every datagram with the shared
//! template state, aggregates the records and, once per second of wall-clock time, runs
//! incident detection over everything aggregated so far and prints the incidents it has
//! not printed yet. On SIGINT / SIGTERM / SIGHUP, after `--duration`, `--max-datagrams` or
//! `--idle-exit`, the receivers stop, the queue is drained, and the counts are printed:
//! datagrams received, records decoded, malformed datagrams (with their errors by reason,
//! and the exporter and description of the first of each), losses, late and duplicated
//! datagrams, restarts and resyncs from the exporters' sequence numbers ([`sequence`]) and
//! the kernel's drop counter of each socket (`/proc/net/udp`). SIGUSR1 prints the same
//! counts so far (a `progress` line in JSON) and the collector goes on.
//!
//! When the output cannot be written (a closed pipe, a full disk), the whole collector
//! stops at once: the receivers are told to stop and the queue is closed, so no thread is
//! left blocked on a full queue, and the error goes to `main` (a broken pipe ends the
//! process quietly, anything else is reported with exit code 1).

mod sequence;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use floodtrace_engine::aggregate::Aggregator;
use floodtrace_report::model::IncidentReport;
use floodtrace_wire::flow::{sniff, FlowError, FlowWarning, RawDatagrams};

use crate::flows::FlowRun;
use sequence::SeqTracker;

const COLLECT_HELP: &str = "\
Examples:
  floodtrace collect                                   # 0.0.0.0:2055, :4739, :6343
  floodtrace collect --netflow 127.0.0.1:9995 --ipfix off --sflow off --duration 60
  floodtrace collect --format json --max-datagrams 1000000

Any protocol is accepted on any listener (recognised by content); the defaults are the
conventional ports. A listener is an IP address and a port (port 0: one the kernel picks,
named on the start-up line) or `off`; host names are not resolved. Incidents are printed as
they are detected (JSON lines with --format json); the counts are printed on exit (Ctrl-C,
SIGTERM, SIGHUP, --duration, --max-datagrams, --idle-exit), and so far on SIGUSR1
(`kill -USR1 PID`), after which collecting goes on.";

/// Where a listener binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// No listener.
    Off,
    /// Bind this address and port.
    On(SocketAddr),
}

/// Parse a listener: `IP:PORT` (`[IPv6]:PORT`) or `off`. Host names are not accepted: the
/// address is bound as given, and a collector's address should not depend on DNS.
fn parse_listen(s: &str) -> Result<Listen, String> {
    if s == "off" {
        return Ok(Listen::Off);
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(Listen::On(addr));
    }
    let usage = "expected IP:PORT (e.g. 0.0.0.0:2055, 127.0.0.1:9995, [::]:4739) or `off`";
    if s.parse::<IpAddr>().is_ok() || s.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        return Err(format!("no port: {usage}"));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h.trim_matches(['[', ']']), Some(p)),
        None => (s, None),
    };
    if host.parse::<IpAddr>().is_ok() {
        return Err(format!(
            "port {:?} is not a number from 0 to 65535: {usage}",
            port.unwrap_or("")
        ));
    }
    if !host.is_empty() && host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("{host:?} is not an IPv4 address: {usage}"));
    }
    Err(format!(
        "host names are not accepted, give an IP address: {usage}"
    ))
}

/// Parse a number of seconds that must be positive and finite.
fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        Ok(_) => Err("must be a number of seconds above 0".to_string()),
        Err(e) => Err(format!("not a number of seconds: {e}")),
    }
}

/// Output of `collect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CollectFormat {
    /// Lines for a terminal
    Text,
    /// JSON lines: `{"type":"incident",…}` as found, `{"type":"summary",…}` at exit
    Json,
}

/// Arguments of `collect`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = COLLECT_HELP)]
pub struct CollectArgs {
    /// NetFlow v5/v9 listener, IP:PORT (`off` to disable)
    ///
    /// Any protocol is accepted on any listener. An IPv6 address goes in brackets
    /// ([::]:2055); port 0 lets the kernel pick one (named on the start-up line). Host names
    /// are not accepted.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:2055", value_parser = parse_listen)]
    pub netflow: Listen,

    /// IPFIX listener, IP:PORT (`off` to disable)
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:4739", value_parser = parse_listen)]
    pub ipfix: Listen,

    /// sFlow v5 listener, IP:PORT (`off` to disable)
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:6343", value_parser = parse_listen)]
    pub sflow: Listen,

    /// Stop after this many seconds (above 0)
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub duration: Option<f64>,

    /// Stop after this many datagrams over all listeners (at least 1)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_datagrams: Option<u64>,

    /// Stop when no datagram arrived for this many seconds (above 0) after the first one
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub idle_exit: Option<f64>,

    /// Socket receive buffer to ask for, bytes (the kernel caps it at net.core.rmem_max)
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub rcvbuf: usize,

    /// Output format
    #[arg(long, short = 'f', value_name = "FORMAT", default_value = "text")]
    pub format: CollectFormat,

    /// Count and aggregate only: no detection
    #[arg(long)]
    pub no_detect: bool,
}

/// Arguments of the hidden `replay` subcommand (bench helper).
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Where to send (collector address)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2055")]
    pub to: SocketAddr,

    /// Datagrams to send: a synthetic NetFlow v9 export, or FILE's datagrams repeated
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub datagrams: u64,

    /// Records per synthetic NetFlow v9 datagram (at most 45: 1,374 bytes)
    #[arg(long, value_name = "N", default_value_t = 45)]
    pub records: u16,

    /// Replay this raw export file's datagrams (v9 sequence numbers rewritten) instead
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,

    /// Also write the datagrams, back to back, to this raw export file (`.dat`)
    #[arg(long, value_name = "FILE")]
    pub write: Option<std::path::PathBuf>,

    /// Do not send, only write
    #[arg(long)]
    pub no_send: bool,

    /// Datagrams per second (default: as fast as possible)
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
}

/// A batch of datagrams from one receiver.
struct Batch {
    data: Vec<u8>,
    /// (exporter, received ns, start, len)
    items: Vec<(IpAddr, u64, usize, usize)>,
}

const BATCH_DATAGRAMS: usize = 256;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The kernel's drop counter of a UDP socket: `/proc/net/udp{,6}`, the line whose inode is
/// the socket's (`/proc/self/fd/N` → `socket:[INODE]`).
fn kernel_drops(sock: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", sock.as_raw_fd())).ok()?;
    let link = link.to_string_lossy();
    let inode = link
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .to_string();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:tm retr uid timeout inode ref pointer drops
            if cols.len() >= 13 && cols[9] == inode {
                return cols[12].parse().ok();
            }
        }
    }
    None
}

/// Open a listener with a large receive buffer; returns the socket and the receive buffer
/// the kernel granted.
fn listen(addr: SocketAddr, rcvbuf: usize) -> anyhow::Result<(UdpSocket, usize)> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    let _ = sock.set_recv_buffer_size(rcvbuf);
    // socket(7): Linux doubles the value set (capped at net.core.rmem_max first), to leave
    // room for its bookkeeping, and getsockopt returns the doubled value. Half of it is
    // what was granted of what was asked.
    let granted = sock.recv_buffer_size().unwrap_or(0) / 2;
    sock.bind(&addr.into())
        .with_context(|| format!("cannot listen on {addr}"))?;
    let sock: UdpSocket = sock.into();
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    Ok((sock, granted))
}

/// A buffer size in words: MiB or KiB when it is a whole number of them, else bytes.
fn buffer_size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Decoding errors (or warnings) of a collector run by reason, for the summary: a count
/// each and where the first came from.
///
/// Memory stays bounded whatever arrives: entries are keyed by the decoders' reason keys,
/// which are `&'static str` (a fixed set compiled into the binary, not text from the
/// datagram), and each keeps one count and one description of bounded length.
#[derive(Debug, Default)]
pub struct ErrorReasons {
    by_reason: HashMap<&'static str, ReasonTally>,
}

/// The errors (or warnings) of one reason key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonTally {
    /// `flow` (the export itself) or `packet` (an sFlow sampled packet header), as in
    /// `analyze`'s error list; `warning` for an export outside its protocol's limits,
    /// decoded whole.
    pub kind: &'static str,
    /// Errors of this reason.
    pub count: u64,
    /// Address of the exporter whose datagram had the first.
    pub exporter: IpAddr,
    /// Where the first's damaged structure starts in its datagram.
    pub offset: usize,
    /// The first's description (protocol, offset, what is wrong).
    pub message: String,
}

impl ErrorReasons {
    /// Count one decoding error of a datagram from `exporter`.
    pub fn note(&mut self, exporter: IpAddr, e: &FlowError) {
        let kind = crate::flows::error_kind(e);
        self.tally(e.reason(), kind, exporter, e.offset, || e.to_string());
    }

    /// Count one warning (an export decoded whole despite its protocol's limits) of a
    /// datagram from `exporter`.
    pub fn note_warning(&mut self, exporter: IpAddr, w: &FlowWarning) {
        self.tally(w.reason(), "warning", exporter, w.offset, || w.to_string());
    }

    fn tally(
        &mut self,
        reason: &'static str,
        kind: &'static str,
        exporter: IpAddr,
        offset: usize,
        message: impl FnOnce() -> String,
    ) {
        self.by_reason
            .entry(reason)
            .and_modify(|t| t.count += 1)
            .or_insert_with(|| ReasonTally {
                kind,
                count: 1,
                exporter,
                offset,
                message: message(),
            });
    }

    /// The reasons, most frequent first (ties by key).
    pub fn sorted(&self) -> Vec<(&'static str, &ReasonTally)> {
        let mut v: Vec<_> = self.by_reason.iter().map(|(&k, t)| (k, t)).collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v
    }

    /// The summary's `error_reasons` (or `warning_reasons`):
    /// `[{reason, kind, count, exporter, offset, message}]`, most frequent first;
    /// `exporter`, `offset` and `message` describe the first of each reason.
    pub fn to_json(&self) -> serde_json::Value {
        self.sorted()
            .into_iter()
            .map(|(reason, t)| {
                serde_json::json!({
                    "reason": reason,
                    "kind": t.kind,
                    "count": t.count,
                    "exporter": t.exporter.to_string(),
                    "offset": t.offset,
                    "message": t.message,
                })
            })
            .collect()
    }

    /// One text line per reason: `  reason: N errors, first from EXPORTER: message`.
    fn write_lines(&self, out: &mut impl Write, noun: &str) -> std::io::Result<()> {
        for (reason, t) in self.sorted() {
            writeln!(
                out,
                "  {reason}: {} {noun}{}, first from {}: {}",
                t.count,
                if t.count == 1 { "" } else { "s" },
                t.exporter,
                t.message
            )?;
        }
        Ok(())
    }
}

/// Counts of a collector run.
#[derive(Debug, Default)]
struct Totals {
    datagrams: u64,
    bytes: u64,
    /// Datagrams per protocol their version field names, in [`sequence::PROTOCOLS`] order.
    by_protocol: [u64; 4],
    records: u64,
    templates: u64,
    malformed: u64,
    errors: u64,
    reasons: ErrorReasons,
    warnings: u64,
    warning_reasons: ErrorReasons,
}

/// What the decoder thread keeps: the flow state, the aggregate and the counts.
struct Decoding {
    totals: Totals,
    seq: SeqTracker,
    run: FlowRun,
    agg: Aggregator,
    /// When the first and the latest batch arrived.
    first_at: Option<Instant>,
    last_at: Instant,
    decode_time: Duration,
}

impl Decoding {
    /// Decode, aggregate and count the datagrams of one batch.
    fn batch(&mut self, batch: &Batch) {
        let t0 = Instant::now();
        self.first_at.get_or_insert(t0);
        self.last_at = t0;
        let totals = &mut self.totals;
        for &(exporter, ts, start, len) in &batch.items {
            let d = &batch.data[start..start + len];
            totals.datagrams += 1;
            totals.bytes += len as u64;
            let (reasons, warnings) = (&mut totals.reasons, &mut totals.warning_reasons);
            let (summary, templates) = self.run.decode_into(
                exporter,
                ts,
                d,
                &mut self.agg,
                |e| reasons.note(exporter, e),
                |w| warnings.note_warning(exporter, w),
            );
            // Counted under the protocol its version field names, damaged or not: it was
            // decoded as that protocol, and its errors are that protocol's.
            if let Some(p) = summary.protocol {
                totals.by_protocol[sequence::protocol_index(p)] += 1;
            }
            totals.records += u64::from(summary.records);
            totals.templates += u64::from(templates);
            totals.errors += u64::from(summary.errors);
            totals.warnings += u64::from(summary.warnings);
            if summary.errors > 0 {
                totals.malformed += 1;
            }
            // A header that is not consistent may hold any sequence number and scope:
            // following it would invent losses.
            if sniff(d).is_some() {
                self.seq
                    .note(exporter, ts, d, summary.data_records, summary.errors > 0);
            }
        }
        self.decode_time += t0.elapsed();
    }
}

/// Turn a failed write of the output into the error `main` reports (a broken pipe stays
/// recognisable in its chain, and ends the process quietly).
fn output_error(e: impl Into<anyhow::Error>) -> anyhow::Error {
    e.into().context("cannot write the output")
}

/// Run `floodtrace collect`.
pub fn run_collect(args: CollectArgs) -> anyhow::Result<u8> {
    let listeners: Vec<(&str, SocketAddr)> = [
        ("netflow", args.netflow),
        ("ipfix", args.ipfix),
        ("sflow", args.sflow),
    ]
    .into_iter()
    .filter_map(|(name, l)| match l {
        Listen::On(addr) => Some((name, addr)),
        Listen::Off => None,
    })
    .collect();
    if listeners.is_empty() {
        // A command-line error (exit 2), with the subcommand's usage line.
        use clap::CommandFactory;
        let mut cli = crate::cli::Cli::command();
        cli.build();
        cli.find_subcommand_mut("collect")
            .expect("collect is a subcommand")
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "no listener: --netflow, --ipfix and --sflow are all `off`",
            )
            .exit();
    }
    let stop = Arc::new(AtomicBool::new(false));
    // SIGHUP (the terminal went away) stops the collector as SIGTERM does: with the counts.
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    // SIGUSR1 asks for the counts so far (as dd does), and did kill the collector.
    let counts_asked = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&counts_asked))?;
    let mut sockets = Vec::new();
    for (name, addr) in listeners {
        let (sock, granted) = listen(addr, args.rcvbuf)?;
        let local = sock.local_addr()?;
        eprintln!(
            "floodtrace: collect: {name} on udp {local} (receive buffer {}{})",
            buffer_size(granted),
            if granted < args.rcvbuf {
                format!(
                    " of the {} asked: capped by net.core.rmem_max",
                    buffer_size(args.rcvbuf)
                )
            } else {
                String::new()
            }
        );
        sockets.push(sock);
    }
    let received = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::sync_channel::<Batch>(4096);
    let started = Instant::now();
    let mut drops = 0u64;
    let mut dec = Decoding {
        totals: Totals::default(),
        seq: SeqTracker::default(),
        run: FlowRun::live(),
        agg: if args.no_detect {
            Aggregator::counting_only()
        } else {
            Aggregator::new()
        },
        first_at: None,
        last_at: Instant::now(),
        decode_time: Duration::ZERO,
    };
    let mut printed: HashSet<(String, u64)> = HashSet::new();
    let mut out = std::io::stdout().lock();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut handles = Vec::new();
        for sock in &sockets {
            let tx = tx.clone();
            let stop = Arc::clone(&stop);
            let received = Arc::clone(&received);
            let max = args.max_datagrams;
            handles.push(scope.spawn(move || receive(sock, &tx, &stop, &received, max)));
        }
        drop(tx);
        let decoded = (|| -> anyhow::Result<()> {
            let mut last_detect = Instant::now();
            loop {
                if args
                    .duration
                    .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
                    || args.idle_exit.is_some_and(|d| {
                        dec.first_at.is_some() && dec.last_at.elapsed().as_secs_f64() >= d
                    })
                {
                    stop.store(true, Ordering::Relaxed);
                }
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(batch) => dec.batch(&batch),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                }
                if !args.no_detect && last_detect.elapsed() >= Duration::from_secs(1) {
                    last_detect = Instant::now();
                    report_incidents(&dec.agg, &dec.run, &mut printed, args.format, &mut out)
                        .map_err(output_error)?;
                }
                if counts_asked.swap(false, Ordering::Relaxed) {
                    let drops = sockets.iter().map(|s| kernel_drops(s).unwrap_or(0)).sum();
                    let n = printed.len();
                    write_summary(&mut out, &args, Counting::SoFar, &dec, drops, started, n)
                        .map_err(output_error)?;
                }
            }
        })();
        // However decoding ended (the receivers all stopped, or the output failed), stop
        // the receivers and close the queue, so that none is left waiting on a full queue
        // for a decoder that is gone.
        stop.store(true, Ordering::Relaxed);
        drop(rx);
        for h in handles {
            drops += h.join().unwrap_or(0);
        }
        decoded
    })?;
    if !args.no_detect {
        report_incidents(&dec.agg, &dec.run, &mut printed, args.format, &mut out)
            .map_err(output_error)?;
    }
    let n = printed.len();
    write_summary(&mut out, &args, Counting::Final, &dec, drops, started, n)
        .map_err(output_error)?;
    Ok(crate::cli::exit::OK)
}

/// A receiver thread: drain `sock` into batches sent to the decoder until `stop` is set or
/// the queue is closed; returns the socket's kernel drop counter.
fn receive(
    sock: &UdpSocket,
    tx: &mpsc::SyncSender<Batch>,
    stop: &AtomicBool,
    received: &AtomicU64,
    max: Option<u64>,
) -> u64 {
    let mut buf = vec![0u8; 65536];
    let new_batch = || Batch {
        data: Vec::with_capacity(BATCH_DATAGRAMS * 1500),
        items: Vec::with_capacity(BATCH_DATAGRAMS),
    };
    let mut batch = new_batch();
    // Hand the batch over; `false` when the decoder is gone.
    let flush = |batch: &mut Batch| {
        if batch.items.is_empty() {
            return true;
        }
        tx.send(std::mem::replace(batch, new_batch())).is_ok()
    };
    while !stop.load(Ordering::Relaxed) {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let start = batch.data.len();
                batch.data.extend_from_slice(&buf[..n]);
                batch.items.push((from.ip(), now_ns(), start, n));
                let total = received.fetch_add(1, Ordering::Relaxed) + 1;
                if max.is_some_and(|m| total >= m) {
                    stop.store(true, Ordering::Relaxed);
                }
                if batch.items.len() >= BATCH_DATAGRAMS && !flush(&mut batch) {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                if !flush(&mut batch) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    flush(&mut batch);
    kernel_drops(sock).unwrap_or(0)
}

/// `counts` (in [`sequence::PROTOCOLS`] order) by protocol name, leaving out zeros.
fn per_protocol(counts: &[u64; 4]) -> BTreeMap<&'static str, u64> {
    sequence::PROTOCOLS
        .iter()
        .zip(counts)
        .filter(|(_, &n)| n > 0)
        .map(|(p, &n)| (p.name(), n))
        .collect()
}

/// `netflow5 1, sflow 2`, or `none`.
fn per_protocol_text(counts: &[u64; 4]) -> String {
    let m = per_protocol(counts);
    if m.is_empty() {
        return "none".to_string();
    }
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which counts [`write_summary`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    /// Those of the whole run, on exit (JSON `"type": "summary"`).
    Final,
    /// Those so far, asked for with SIGUSR1 (JSON `"type": "progress"`).
    SoFar,
}

/// Print the counts of the run (the JSON summary line, or the text lines).
fn write_summary(
    out: &mut impl Write,
    args: &CollectArgs,
    counting: Counting,
    dec: &Decoding,
    drops: u64,
    started: Instant,
    incidents: usize,
) -> std::io::Result<()> {
    let (totals, seq) = (&dec.totals, &dec.seq);
    let active = match dec.first_at {
        Some(f) => dec.last_at.duration_since(f).as_secs_f64(),
        None => 0.0,
    };
    let decode_rate = totals.records as f64 / dec.decode_time.as_secs_f64().max(1e-9);
    match args.format {
        CollectFormat::Json => {
            let summary = serde_json::json!({
                "type": match counting {
                    Counting::Final => "summary",
                    Counting::SoFar => "progress",
                },
                "datagrams": totals.datagrams,
                "bytes": totals.bytes,
                "by_protocol": per_protocol(&totals.by_protocol),
                "records": totals.records,
                "templates": totals.templates,
                "malformed_datagrams": totals.malformed,
                "errors": totals.errors,
                "error_reasons": totals.reasons.to_json(),
                "warnings": totals.warnings,
                "warning_reasons": totals.warning_reasons.to_json(),
                "sequence_lost_datagrams": seq.lost_datagrams,
                "sequence_lost_records": seq.lost_records,
                "sequence_late": seq.late,
                "sequence_duplicates": seq.duplicates,
                "sequence_resets": per_protocol(&seq.resets),
                "sequence_resyncs": per_protocol(&seq.resyncs),
                "exporter_domains": seq.domains(),
                "sequences_untracked": seq.untracked,
                "kernel_drops": drops,
                "seconds": started.elapsed().as_secs_f64(),
                "active_seconds": active,
                "decode_seconds": dec.decode_time.as_secs_f64(),
                "decode_records_per_second": decode_rate,
                "incidents": incidents,
            });
            writeln!(out, "{summary}")?;
        }
        CollectFormat::Text => {
            if counting == Counting::SoFar {
                writeln!(
                    out,
                    "so far, after {:.1} s:",
                    started.elapsed().as_secs_f64()
                )?;
            }
            let recognised = match per_protocol_text(&totals.by_protocol).as_str() {
                "none" => "no flow export".to_string(),
                s => s.to_string(),
            };
            writeln!(
                out,
                "collected {} datagrams ({} bytes; {recognised}), {} records, {} templates",
                totals.datagrams, totals.bytes, totals.records, totals.templates
            )?;
            writeln!(
                out,
                "malformed {} datagrams ({} errors); lost by sequence numbers: {} datagrams \
                 (v9/sFlow), {} records (v5/IPFIX), {} late, {} duplicates; exporter restarts \
                 {}; resyncs {}; kernel drops {}",
                totals.malformed,
                totals.errors,
                seq.lost_datagrams,
                seq.lost_records,
                seq.late,
                seq.duplicates,
                per_protocol_text(&seq.resets),
                per_protocol_text(&seq.resyncs),
                drops
            )?;
            totals.reasons.write_lines(out, "error")?;
            if totals.warnings > 0 {
                writeln!(
                    out,
                    "warnings {} (exports outside their protocol's limits, decoded whole)",
                    totals.warnings
                )?;
                totals.warning_reasons.write_lines(out, "warning")?;
            }
            writeln!(
                out,
                "decoding: {:.3} s for {} records ({:.2} M records/s); {} incident(s)",
                dec.decode_time.as_secs_f64(),
                totals.records,
                decode_rate / 1e6,
                incidents
            )?;
        }
    }
    out.flush()
}

/// Detect over everything aggregated so far and print the incidents not printed yet.
fn report_incidents(
    agg: &Aggregator,
    run: &FlowRun,
    printed: &mut HashSet<(String, u64)>,
    format: CollectFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let cfg = run.detect_config(&floodtrace_engine::detect::DetectConfig::default());
    let incidents = floodtrace_engine::incident::find_incidents(agg, &cfg);
    let mut reports: Vec<IncidentReport> = incidents.iter().map(IncidentReport::new).collect();
    crate::flows::mark_sampled(&mut reports, agg, run);
    for r in reports {
        let first = r.start_ns / 1_000_000_000;
        if !printed.insert((r.victim.clone(), first)) {
            continue;
        }
        match format {
            CollectFormat::Json => {
                let mut v = serde_json::to_value(&r)?;
                v["type"] = "incident".into();
                writeln!(out, "{v}")?;
            }
            CollectFormat::Text => {
                writeln!(
                    out,
                    "incident {} since {}: {} packets so far{}; {}",
                    r.victim,
                    r.start,
                    r.packets,
                    if r.sampled {
                        " (sampled flow data: estimate)"
                    } else {
                        ""
                    },
                    floodtrace_report::text::vector_shares(&r.vectors)
                )?;
            }
        }
        out.flush()?;
    }
    Ok(())
}

/// A synthetic NetFlow v9 export: a template datagram, then data datagrams of `records`
/// 30-byte records (a SYN flood from many sources to 203.0.113.0/28 and some background),
/// with consecutive sequence numbers. Template again every 1,000 datagrams.
fn synthetic_v9(
    n: u64,
    records: u16,
    mut emit: impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let records = records.clamp(1, 45);
    let base_secs: u32 = 1_741_597_200;
    let mut d = Vec::with_capacity(1500);
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let header = |d: &mut Vec<u8>, count: u16, seq: u32, secs: u32| {
        d.clear();
        d.extend_from_slice(&9u16.to_be_bytes());
        d.extend_from_slice(&count.to_be_bytes());
        d.extend_from_slice(&(secs.wrapping_sub(base_secs) * 1000).to_be_bytes()); // uptime ms
        d.extend_from_slice(&secs.to_be_bytes());
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&1u32.to_be_bytes()); // source id
    };
    for i in 0..n {
        let seq = i as u32;
        // 20,000 datagrams per simulated second.
        let secs = base_secs + (i / 20_000) as u32;
        if i % 1000 == 0 {
            header(&mut d, 1, seq, secs);
            // Template flowset: id 0, template 256, 10 fields.
            let fields: [(u16, u16); 10] = [
                (8, 4),
                (12, 4),
                (7, 2),
                (11, 2),
                (4, 1),
                (6, 1),
                (2, 4),
                (1, 4),
                (22, 4),
                (21, 4),
            ];
            d.extend_from_slice(&0u16.to_be_bytes());
            d.extend_from_slice(&((8 + 4 * fields.len()) as u16).to_be_bytes());
            d.extend_from_slice(&256u16.to_be_bytes());
            d.extend_from_slice(&(fields.len() as u16).to_be_bytes());
            for (t, l) in fields {
                d.extend_from_slice(&t.to_be_bytes());
                d.extend_from_slice(&l.to_be_bytes());
            }
            emit(&d)?;
            continue;
        }
        header(&mut d, records, seq, secs);
        d.extend_from_slice(&256u16.to_be_bytes());
        d.extend_from_slice(&(4 + 30 * records).to_be_bytes());
        let uptime = (secs - base_secs) * 1000;
        for _ in 0..records {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let attack = rng % 10 < 8;
            let src = (rng >> 16) as u32 | 0x0100_0000;
            let dst: u32 = if attack {
                0xcb00_7100 | ((rng >> 40) as u32 % 16)
            } else {
                0xc633_6400 | ((rng >> 40) as u32 % 256)
            };
            d.extend_from_slice(&src.to_be_bytes());
            d.extend_from_slice(&dst.to_be_bytes());
            d.extend_from_slice(&((rng >> 8) as u16 | 1024).to_be_bytes());
            d.extend_from_slice(&(if attack { 80u16 } else { 443 }).to_be_bytes());
            d.push(6);
            d.push(if attack { 0x02 } else { 0x18 });
            d.extend_from_slice(&1u32.to_be_bytes());
            d.extend_from_slice(&(if attack { 60u32 } else { 1200 }).to_be_bytes());
            d.extend_from_slice(&uptime.to_be_bytes());
            d.extend_from_slice(&uptime.to_be_bytes());
        }
        emit(&d)?;
    }
    Ok(())
}

/// Run the hidden `floodtrace replay`.
pub fn run_replay(args: ReplayArgs) -> anyhow::Result<u8> {
    let sock = if args.no_send {
        None
    } else {
        let bind: SocketAddr = if args.to.is_ipv4() {
            "0.0.0.0:0".parse()?
        } else {
            "[::]:0".parse()?
        };
        let s = socket2::Socket::new(
            socket2::Domain::for_address(bind),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        let _ = s.set_send_buffer_size(8 << 20);
        s.bind(&bind.into())?;
        let s: UdpSocket = s.into();
        s.connect(args.to)?;
        Some(s)
    };
    let mut file = match &args.write {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let started = Instant::now();
    let (mut sent, mut bytes, mut errors) = (0u64, 0u64, 0u64);
    let mut emit = |d: &[u8]| -> anyhow::Result<()> {
        if let Some(f) = &mut file {
            f.write_all(d)?;
        }
        if let Some(s) = &sock {
            if let Some(rate) = args.rate {
                let due = Duration::from_secs_f64(sent as f64 / rate);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            loop {
                match s.send(d) {
                    Ok(_) => break,
                    // Loopback: ENOBUFS when the send queue is full; wait and retry.
                    Err(e)
                        if e.raw_os_error() == Some(105)
                            || e.kind() == std::io::ErrorKind::WouldBlock =>
                    {
                        std::thread::yield_now()
                    }
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
            }
        }
        sent += 1;
        bytes += d.len() as u64;
        Ok(())
    };
    match &args.file {
        None => synthetic_v9(args.datagrams, args.records, &mut emit)?,
        Some(path) => {
            let data =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let msgs: Vec<&[u8]> = RawDatagrams::new(&data).map(|m| m.data).collect();
            anyhow::ensure!(!msgs.is_empty(), "{}: no datagrams", path.display());
            let mut seq: u32 = 0;
            let mut buf = Vec::new();
            for i in 0..args.datagrams {
                let m = msgs[(i % msgs.len() as u64) as usize];
                buf.clear();
                buf.extend_from_slice(m);
                if buf.len() >= 20 && buf[..2] == [0, 9] {
                    buf[12..16].copy_from_slice(&seq.to_be_bytes());
                    seq = seq.wrapping_add(1);
                }
                emit(&buf)?;
            }
        }
    }
    if let Some(f) = &mut file {
        f.flush()?;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "floodtrace: replay: {sent} datagrams, {bytes} bytes in {secs:.3} s ({:.0} datagrams/s){}",
        sent as f64 / secs.max(1e-9),
        if errors > 0 {
            format!(", {errors} send errors")
        } else {
            String::new()
        }
    );
    println!("{{\"sent\":{sent},\"bytes\":{bytes},\"seconds\":{secs},\"send_errors\":{errors}}}");
    Ok(crate::cli::exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NetFlow v5 header (no records) from engine `engine_type`/`engine_id`, whose
    /// `flow_sequence` is `seq` and which holds `count` records.
    fn v5(seq: u32, engine_type: u8, engine_id: u8, count: u16) -> Vec<u8> {
        let mut d = vec![0, 5];
        d.extend_from_slice(&count.to_be_bytes());
        d.extend_from_slice(&[0; 12]); // uptime, secs, nsecs
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&[engine_type, engine_id, 0, 0]);
        d
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Decode `d` from `exporter`, noting its errors in `reasons`; returns its error count.
    fn decode_noting(
        run: &mut FlowRun,
        reasons: &mut ErrorReasons,
        exporter: IpAddr,
        d: &[u8],
    ) -> u64 {
        let mut agg = Aggregator::counting_only();
        let (s, _) = run.decode_into(
            exporter,
            0,
            d,
            &mut agg,
            |e| reasons.note(exporter, e),
            |w| panic!("{w}"),
        );
        u64::from(s.errors)
    }

    #[test]
    fn error_reasons_count_and_keep_the_first() {
        let mut run = FlowRun::live();
        let mut reasons = ErrorReasons::default();
        let (a, b) = (ip("192.0.2.1"), ip("2001:db8::7"));
        decode_noting(&mut run, &mut reasons, a, b"not an export");
        // A v5 header counting no records, then one counting 3 that holds none.
        decode_noting(&mut run, &mut reasons, b, &v5(1, 0, 0, 0));
        decode_noting(&mut run, &mut reasons, a, &v5(2, 0, 0, 3));
        decode_noting(&mut run, &mut reasons, a, &v5(3, 0, 0, 0));
        decode_noting(&mut run, &mut reasons, b, b"\x00");
        decode_noting(&mut run, &mut reasons, b, b"");
        let got: Vec<(&str, u64, &'static str, IpAddr, usize)> = reasons
            .sorted()
            .into_iter()
            .map(|(r, t)| (r, t.count, t.kind, t.exporter, t.offset))
            .collect();
        assert_eq!(
            got,
            [
                ("flow.unrecognised", 3, "flow", a, 0),
                ("netflow5.count", 2, "flow", b, 2),
                ("netflow5.truncated", 1, "flow", a, 24),
            ]
        );
        let first = &reasons.by_reason["netflow5.count"].message;
        assert!(first.starts_with("netflow5 at offset 2"), "{first}");
        let json = reasons.to_json();
        assert_eq!(json[1]["reason"], "netflow5.count", "{json}");
        assert_eq!(json[1]["exporter"], "2001:db8::7", "{json}");
    }

    #[test]
    fn error_reasons_stay_bounded_whatever_arrives() {
        let mut run = FlowRun::live();
        let mut reasons = ErrorReasons::default();
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut errors = 0;
        for i in 0..20_000u32 {
            // Random bytes from a new exporter each time, behind each protocol's version.
            let mut d: Vec<u8> = (0..next() % 300).map(|_| next() as u8).collect();
            let version: &[u8] = match i % 5 {
                0 => &[0, 5],
                1 => &[0, 9],
                2 => &[0, 10],
                3 => &[0, 0, 0, 5, 0, 0, 0, 1],
                _ => &[],
            };
            let n = version.len().min(d.len());
            d[..n].copy_from_slice(&version[..n]);
            let exporter = IpAddr::from(0x0a00_0000u32.wrapping_add(i).to_be_bytes());
            errors += decode_noting(&mut run, &mut reasons, exporter, &d);
        }
        let sorted = reasons.sorted();
        assert!(errors > 10_000, "{errors}");
        assert_eq!(sorted.iter().map(|(_, t)| t.count).sum::<u64>(), errors);
        // One entry per reason key, not per exporter, offset or message.
        assert!(sorted.len() <= 40, "{} reasons: {sorted:?}", sorted.len());
        assert!(sorted.windows(2).all(|w| w[0].1.count >= w[1].1.count));
    }

    #[test]
    fn synthetic_export_decodes() {
        let mut run = FlowRun::live();
        let mut agg = Aggregator::counting_only();
        let mut seq = SeqTracker::default();
        let mut records = 0;
        synthetic_v9(2001, 45, |d| {
            assert!(d.len() <= 1400, "{}", d.len());
            let (s, _) = run.decode_into(
                "127.0.0.1".parse().unwrap(),
                0,
                d,
                &mut agg,
                |e| panic!("{e}"),
                |w| panic!("{w}"),
            );
            assert_eq!(s.errors, 0);
            records += s.records;
            seq.note("127.0.0.1".parse().unwrap(), 0, d, s.data_records, false);
            Ok(())
        })
        .unwrap();
        assert_eq!(records, 1998 * 45);
        assert_eq!(seq.lost_datagrams, 0);
    }
}
