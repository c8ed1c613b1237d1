//! The `floodtrace` binary: command line, inputs and glue between the library crates.

mod analyze;
mod attribution;
mod cli;
mod collect;
mod config;
mod demo;
mod evidence;
mod flows;
mod geo_path;
mod impact_input;
mod mitigate;
mod pool;
mod simulate;
mod sources;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use floodtrace_engine::aggregate::Aggregator;
use floodtrace_engine::summary::top_destinations;
use floodtrace_report::model::{
    AnalysisReport, DestinationReport, ErrorReport, Generator, GeoReport, IncidentReport,
    InputReport, ScanningReport, TotalsReport, SCHEMA_VERSION,
};
use floodtrace_wire::capture::OddValue;

use crate::analyze::{analyze_feed, InputOutcome};
use crate::cli::{exit, AnalyzeArgs, AnalyzeFormat, Cli, Command};
use crate::sources::file::{unmap_in_background, Again, Spool};
use crate::sources::{open_input, FileAccess, Input, MappedFeed};

/// Chunk aggregators are built and dropped by the hundred. glibc's allocator (and
/// mimalloc) hand freed pages back to the kernel within milliseconds, and with transparent
/// huge pages every re-use faults in and zeroes a fresh 2 MiB page: a fifth of the run
/// time on the bench file. jemalloc keeps freed pages for seconds and reuses them.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(exit::OK);
            }
            eprintln!("floodtrace: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Analyze(args) => run_analyze(args),
        Command::Simulate(args) => simulate::run_simulate(args),
        Command::Eval(args) => simulate::run_eval(args),
        Command::Mitigate(args) => mitigate::run_mitigate(args),
        Command::Demo(args) => demo::run_demo(args),
        Command::Collect(args) => collect::run_collect(args),
        Command::Replay(args) => collect::run_replay(args),
    }
}

fn progress_bar(enabled: bool, len: Option<u64>, path: &str) -> Option<indicatif::ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = match len {
        Some(_) => "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        None => "{msg} {spinner} {bytes} {bytes_per_sec}",
    };
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        bar.set_style(s.progress_chars("=> "));
    }
    bar.set_message(path.to_string());
    Some(bar)
}

fn run_analyze(args: AnalyzeArgs) -> anyhow::Result<u8> {
    let claims = attribution::parse_claims(&args.claims)?;
    let config = match &args.config {
        Some(path) => config::Config::load(path)?,
        None => config::Config::default(),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let chunk_bytes = args.chunk_bytes.max(4096);
    // Loading the geo data takes tens of milliseconds (the ASN table is 10 MB): with
    // threads to spare it loads while the inputs are read. One thread keeps to one.
    let geo_early = (threads > 1 && !args.no_attribution && !args.no_detect).then(|| {
        let explicit = args.geo.clone();
        std::thread::spawn(move || attribution::GeoData::load(explicit.as_deref()))
    });
    let depth = analyze::Depth {
        inspect: !args.no_detect,
        source_log: !args.no_detect && !args.no_attribution && !args.no_source_log,
    };
    let mut merged = Aggregator::new();
    let mut inputs = Vec::new();
    let mut partial = false;
    let mut flow_run = flows::FlowRun::new();
    flow_run.set_threads(threads, chunk_bytes);
    // Standard input is copied to an anonymous temporary file while it is read, so that
    // attribution and evidence can read it again (up to 4 GiB). Without the copy (it
    // cannot be made or written, or the input is longer) the analysis goes on, and those
    // passes leave standard input out. Nothing reads it again without detection, or
    // without attribution and evidence.
    let second_pass = !args.no_detect && (!args.no_attribution || args.evidence.is_some());
    let mut spool: Option<Spool> = None;
    for path in &args.inputs {
        let access = if threads == 1 && args.read_files {
            FileAccess::Read
        } else {
            FileAccess::Map
        };
        let spooled_here = path == "-" && second_pass && spool.is_none();
        let opened = if spooled_here {
            let (s, input) = Spool::stdin(4 << 30);
            spool = Some(s);
            Ok(input)
        } else {
            open_input(path, access)
        };
        let outcome = match opened {
            Ok(input) => {
                let len = match &input {
                    Input::Mapped(m, _) => m.as_ref().map(|m| m.len() as u64),
                    Input::File(_, len, _) => Some(*len),
                    Input::Stream(_) => None,
                };
                let bar = progress_bar(
                    !args.no_progress,
                    len.or(Some(0)).filter(|_| len.is_some()),
                    path,
                );
                let progress = |pos: u64| {
                    if let Some(b) = &bar {
                        b.set_position(pos);
                    }
                };
                let outcome = match flows::analyze_input(input, &mut flow_run, depth, &progress) {
                    Ok(flow_outcome) => flow_outcome,
                    Err(Input::Mapped(map, file)) => {
                        let bytes: &[u8] = map.as_deref().unwrap_or(&[]);
                        let speculative = (threads > 1 && !args.no_speculative_walk)
                            .then(|| {
                                // With --read-files, slot workers read the file with
                                // pread (see analyze_mapped_pcap).
                                analyze::analyze_mapped_pcap(
                                    bytes,
                                    args.read_files.then_some(&file),
                                    threads,
                                    chunk_bytes,
                                    depth,
                                    &progress,
                                )
                            })
                            .flatten();
                        let outcome = match speculative {
                            Some(outcome) => outcome,
                            None => analyze_feed(
                                &mut MappedFeed::new(map.as_ref()),
                                threads,
                                chunk_bytes,
                                depth,
                                &progress,
                            ),
                        };
                        unmap_in_background(map);
                        outcome
                    }
                    Err(Input::Stream(mut feed) | Input::File(mut feed, _, _)) => {
                        analyze_feed(&mut feed, threads, chunk_bytes, depth, &progress)
                    }
                };
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                outcome
            }
            Err(e) => {
                eprintln!("floodtrace: {path}: {e:#}");
                partial = true;
                inputs.push(InputReport {
                    path: path.clone(),
                    format: "unknown".into(),
                    packets: 0,
                    bytes: 0,
                    ip_packets: 0,
                    non_ip_packets: 0,
                    undecoded_packets: 0,
                    flow_records: 0,
                    templates: 0,
                    complete: false,
                    errors: vec![ErrorReport {
                        kind: "input",
                        reason: "input.unreadable".into(),
                        count: 1,
                        offset: 0,
                        record: 0,
                        fatal: true,
                        message: format!("{e:#}"),
                    }],
                });
                continue;
            }
        };
        if spooled_here {
            if let Some(why) = spool.as_ref().and_then(Spool::problem) {
                eprintln!(
                    "floodtrace: {why}; going on without it: standard input cannot be read a \
                     second time, so incidents whose sources the first pass did not settle are \
                     left unattributed, and --evidence leaves standard input out"
                );
            }
        }
        let report = input_report(path, &outcome);
        for e in &report.errors {
            match (e.kind, e.fatal) {
                ("packet", _) if OddValue::REASONS.contains(&e.reason.as_str()) => eprintln!(
                    "floodtrace: {path}: {} record(s) read despite an odd header value ({}), \
                     first: {}",
                    e.count, e.reason, e.message
                ),
                ("packet", _) if e.reason == analyze::SPB_TIME_INFERRED => eprintln!(
                    "floodtrace: {path}: warning: {} packet(s) carry an inferred time (simple \
                     packet blocks, dated with the previous timestamped packet of their \
                     section) ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                ("packet", _) if e.reason == analyze::IP_LENGTH_EXCEEDS_FRAME => eprintln!(
                    "floodtrace: {path}: warning: {} packet(s) declare an IP length beyond \
                     their frame, counted with the bytes the frame carried ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                ("packet", _) if e.reason == analyze::SPB_NO_TIME => eprintln!(
                    "floodtrace: {path}: warning: {} packet(s) have no time (simple packet \
                     blocks before any timestamped packet of their section: dated \
                     1970-01-01T00:00:00Z) ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                ("packet", _) => eprintln!(
                    "floodtrace: {path}: {} packet(s) not decoded ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                ("warning", _) => eprintln!(
                    "floodtrace: {path}: warning: {} export(s) outside their protocol's limits, \
                     decoded whole ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                ("skipped", _) => eprintln!(
                    "floodtrace: {path}: {} flow sample(s) skipped, not damaged ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                (_, true) => eprintln!("floodtrace: {path}: {}", e.message),
                ("flow", _) => eprintln!(
                    "floodtrace: {path}: {} export problem(s) ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                // A damaged pcapng block that carries no packet has no record number.
                (_, false) if e.record == 0 => eprintln!(
                    "floodtrace: {path}: {} damaged block(s) skipped ({}), first: {}",
                    e.count, e.reason, e.message
                ),
                _ => eprintln!(
                    "floodtrace: {path}: {} record(s) skipped ({}), first: {}",
                    e.count, e.reason, e.message
                ),
            }
        }
        if !outcome.complete {
            partial = true;
            if let Some(f) = &outcome.flows {
                eprintln!(
                    "floodtrace: {path}: partial result: {} flow records decoded, the damaged parts left out",
                    f.records
                );
            } else if let Some(line) = partial_note(&outcome.counts) {
                eprintln!("floodtrace: {path}: partial result: {line}");
            }
        }
        inputs.push(report);
        merged.merge(outcome.agg);
    }

    let series_n = args.series.unwrap_or(args.top);
    let destinations: Vec<DestinationReport> = top_destinations(&merged, args.top)
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let series = (i < series_n)
                .then(|| merged.timeline(s.address).map(|t| t.seconds.as_slice()))
                .flatten();
            DestinationReport::new(s, series)
        })
        .collect();
    let incidents = if args.no_detect {
        Vec::new()
    } else {
        let detect = flow_run.detect_config(&config.detect);
        floodtrace_engine::incident::find_incidents_with(&merged, &detect, &config.networks)
    };
    // Later passes read standard input from its spool (the first `-` only: standard input
    // named again was at its end), through the handle.
    let mut spool_file = spool.as_ref().and_then(Spool::file);
    let reread: Vec<Again<'_>> = args
        .inputs
        .iter()
        .map(|p| match spool_file {
            Some(f) if p == "-" => {
                spool_file = None;
                Again::Spool(f)
            }
            _ => Again::Path(p),
        })
        .collect();
    if let Some(dir) = &args.evidence {
        let files = evidence::write_evidence(dir, &reread, &incidents, args.evidence_packets)?;
        for f in &files {
            let note = if f.skipped_link_type > 0 {
                format!(
                    " ({} more of another link type left out)",
                    f.skipped_link_type
                )
            } else {
                String::new()
            };
            eprintln!(
                "floodtrace: evidence: incident {} {}: {} packets → {}{note}",
                f.incident,
                f.vector,
                f.packets,
                f.path.display()
            );
        }
    }
    let impact = impact_input::load(args.reports.as_deref(), args.logs.as_deref(), &incidents)?;
    let scans = merged.scanners().report();
    let mut incidents = incidents;
    if !args.no_attribution {
        let log = merged.take_source_log();
        if let Err(e) = attribution::collect_samples(&reread, &mut incidents, threads, log.as_ref())
        {
            eprintln!("floodtrace: sources are not attributed: {e:#}");
        }
    }
    // Geo data is only needed when there is something to attribute.
    let geo = if args.no_attribution || (incidents.is_empty() && claims.is_empty()) {
        attribution::GeoData::none()
    } else {
        match geo_early {
            Some(loading) => loading
                .join()
                .unwrap_or_else(|_| attribution::GeoData::load(args.geo.as_deref())),
            None => attribution::GeoData::load(args.geo.as_deref()),
        }
    };
    if let Some(m) = &geo.missing {
        eprintln!("floodtrace: countries and ASNs are not reported: {m}");
    }
    let attr = attribution::attribute_incidents(&incidents, &scans, impact.as_ref(), &geo, &claims);
    let mut incident_reports: Vec<IncidentReport> =
        incidents.iter().map(IncidentReport::new).collect();
    for (i, r) in incident_reports.iter_mut().enumerate() {
        r.source_profile = attr.profiles[i].clone();
        r.campaign = attr
            .campaigns
            .campaigns
            .iter()
            .find(|c| c.members.contains(&(r.id as usize)))
            .map(|c| c.id);
    }
    flows::mark_sampled(&mut incident_reports, &merged, &flow_run);
    let report = AnalysisReport {
        schema_version: SCHEMA_VERSION,
        generator: Generator::default(),
        totals: TotalsReport::new(&inputs, &merged.totals(), merged.destination_count() as u64),
        inputs,
        destinations,
        incidents: incident_reports,
        scanning: scans.iter().map(|r| ScanningReport::new(r, 1000)).collect(),
        impact,
        claims: attr.claims,
        campaigns: attr.campaigns.campaigns,
        geo: GeoReport {
            data: geo.provenance(),
            missing: geo.missing.clone(),
        },
    };
    let rendered = match args.format {
        AnalyzeFormat::Text => floodtrace_report::text::render(&report),
        AnalyzeFormat::Json => floodtrace_report::json::render(&report),
        AnalyzeFormat::Html => floodtrace_report::html::render(&report),
        AnalyzeFormat::Markdown => floodtrace_report::markdown::render(&report),
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(rendered.as_bytes())?;
            out.flush()?;
        }
    }
    // The process exits next, and the kernel takes back its memory at once; freeing the
    // aggregator's buckets one by one first cost 15–20 ms on the bench file (two threads:
    // about 2 % of the run).
    std::mem::forget(merged);
    Ok(if partial { exit::PARTIAL } else { exit::OK })
}

/// What an incomplete capture's counts cover, in words: whether reading stopped at the
/// damage or went on past damaged records it skipped (`None`: nothing worth a line).
fn partial_note(counts: &analyze::Counts) -> Option<String> {
    let records = counts.records;
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    // Reading stops at most once; every other capture problem is a record it skipped, or
    // a damaged pcapng block without a packet (its reason's tally has record number 0).
    let stopped = counts.errors.values().any(|t| t.fatal);
    let skipped_of = |blocks: bool| -> u64 {
        counts
            .errors
            .values()
            .filter(|t| t.kind == "capture" && (t.record == 0) == blocks)
            .map(|t| t.count - u64::from(t.fatal))
            .sum()
    };
    let (skipped_records, skipped_blocks) = (skipped_of(false), skipped_of(true));
    let skipped = skipped_records + skipped_blocks;
    let skipped_words = [
        (
            skipped_records,
            "damaged record skipped",
            "damaged records skipped",
        ),
        (
            skipped_blocks,
            "damaged block skipped",
            "damaged blocks skipped",
        ),
    ]
    .into_iter()
    .filter(|&(n, ..)| n > 0)
    .map(|(n, one, many)| plural(n, one, many))
    .collect::<Vec<_>>()
    .join(", ");
    match (stopped, skipped) {
        (_, 0) if records == 0 => None,
        (true, 0) => Some(format!(
            "the {} before the damage {} counted",
            plural(records, "record", "records"),
            if records == 1 { "is" } else { "are" }
        )),
        (true, _) => Some(format!(
            "{} counted, {skipped_words} before reading stopped",
            plural(records, "record", "records")
        )),
        (false, 0) => None,
        (false, _) => Some(format!(
            "{} counted, {skipped_words}",
            plural(records, "record", "records")
        )),
    }
}

fn input_report(path: &str, o: &InputOutcome) -> InputReport {
    InputReport {
        path: path.to_string(),
        format: match &o.flows {
            Some(f) => f.format.clone(),
            None => o.format.map_or("unknown", |f| f.name()).to_string(),
        },
        packets: o.counts.records,
        bytes: o.counts.wire_bytes,
        ip_packets: o.counts.ip_records,
        non_ip_packets: o.counts.non_ip,
        undecoded_packets: o.counts.undecoded,
        flow_records: o.flows.as_ref().map_or(0, |f| f.records),
        templates: o.flows.as_ref().map_or(0, |f| f.templates),
        complete: o.complete,
        errors: o
            .counts
            .errors
            .iter()
            .map(|(reason, t)| ErrorReport {
                kind: t.kind,
                reason: reason.clone(),
                count: t.count,
                offset: t.offset,
                record: t.record,
                fatal: t.fatal,
                message: t.message.clone(),
            })
            .collect(),
    }
}
