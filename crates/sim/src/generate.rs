//! Scenario → output folder: capture, flow exports, access log, outage reports, truth.
//!
//! Time advances one simulated second at a time. For each second the generator draws the
//! background packets, each active wave's packets (rate × ramp × scale) and the scanners'
//! SYNs, each with a random nanosecond inside the second, sorts them, and writes them in
//! order: to the capture, to every flow exporter (which sees the packet as floodtrace's own
//! decoder sees it), and into the truth counters. Nothing depends on the wall clock or on
//! hash-map order, so a scenario and seed always give the same bytes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use floodtrace_wire::{observe_frame, Frame};

use crate::flows::FlowExporter;
use crate::geo::GeoDb;
use crate::pcap::PcapWriter;
use crate::reports;
use crate::rng::Rng;
use crate::scenario::{background_kind, Prefix, Scenario, ScenarioError, Sources, Wave};
use crate::truth::*;
use crate::vectors::{self, AttackGen, BackgroundKind, SourceState, Vector};

/// Why a simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The geo database lacks a requested country.
    #[error("the geo database has no IPv4 addresses for country {0:?} (used by {1})")]
    UnknownCountry(String, String),
}

/// Names of the files written into the output folder.
pub mod file_names {
    /// The capture.
    pub const CAPTURE: &str = "capture.pcap";
    /// Access log.
    pub const ACCESS_LOG: &str = "access.log";
    /// Outage reports.
    pub const OUTAGE_REPORTS: &str = "outage-reports.csv";
    /// Truth.
    pub const TRUTH: &str = "truth.json";
    /// The resolved scenario.
    pub const SCENARIO: &str = "scenario.toml";
}

/// What a simulation run needs besides the scenario.
pub struct SimOptions<'a> {
    /// Seed (the scenario's own unless overridden).
    pub seed: u64,
    /// Geo database to draw source addresses from.
    pub geo: &'a GeoDb,
    /// Output folder (created if missing).
    pub out_dir: &'a Path,
    /// Progress callback: (simulated seconds done, total).
    pub progress: &'a dyn Fn(u32, u32),
}

/// Summary of a finished run.
pub struct SimSummary {
    /// The truth written to truth.json.
    pub truth: Truth,
    /// Packets generated into the capture.
    pub packets: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Slices a simulated second is generated in.
const SLICES: u64 = 10;
/// Length of a slice.
const SLICE_NS: u64 = 1_000_000_000 / SLICES;

/// What produced a frame of the current slice.
#[derive(Clone, Copy)]
enum Tag {
    Background {
        web: bool,
    },
    Wave {
        wave: u16,
        src: u32,
        idx: u32,
        country: u16,
    },
    Scan {
        src: u32,
    },
}

struct Item {
    ts_ns: u64,
    seq: u32,
    off: u32,
    len: u32,
    tag: Tag,
}

/// A source of a wave: its address, country index and per-attack state.
struct Src {
    addr: Ipv4Addr,
    country: u16,
    ttl: u8,
    state: SourceState,
    scanner: bool,
}

struct WaveRun<'s> {
    spec: &'s Wave,
    index: u16,
    gen: AttackGen,
    rng: Rng,
    target: Prefix,
    sources: Vec<Src>,
    /// Spoofed: allowed prefixes (empty = all IPv4) and the few TTLs of the real senders.
    spoof: Option<(Vec<Prefix>, Vec<u8>)>,
    carry: f64,
    scan_carry: f64,
    /// A source in the middle of a connection exchange sends the next packet (see
    /// `AttackGen::mid_connection`): a bot's connection takes milliseconds, not turns.
    sticky: Option<(usize, u64)>,
    scanners: u32,
    // Truth.
    packets: u64,
    bytes: u64,
    first_ns: u64,
    last_ns: u64,
    /// For each source, the index of the first source with the same address (tiny
    /// countries of the sample database repeat addresses).
    canon: Vec<u32>,
    /// Canonical sources seen in the capture.
    used: Vec<bool>,
    /// Distinct source addresses seen (bots and reflectors).
    distinct: u64,
    /// Forged source addresses, counted by sort and dedup at the end (cheaper than a hash
    /// set of millions of random addresses).
    spoof_srcs: Vec<u32>,
    sources_by_country: BTreeMap<u16, u64>,
    packets_by_country: BTreeMap<u16, u64>,
    sent_to: std::collections::BTreeSet<Ipv4Addr>,
}

impl WaveRun<'_> {
    fn active(&self, sec: u32) -> bool {
        sec >= self.spec.start_seconds && sec < self.spec.start_seconds + self.spec.duration_seconds
    }

    /// Rate factor 0..1 for second `sec` (linear ramps at both ends).
    fn ramp(&self, sec: u32) -> f64 {
        let w = self.spec;
        if !self.active(sec) {
            return 0.0;
        }
        let t = (sec - w.start_seconds) as f64 + 0.5;
        let left = (w.duration_seconds - (sec - w.start_seconds)) as f64 - 0.5;
        if w.ramp_seconds == 0 {
            return 1.0;
        }
        let r = w.ramp_seconds as f64;
        (t / r).min(left / r).min(1.0)
    }
}

/// Country names interned to small indexes (for compact per-packet tags).
#[derive(Default)]
struct Countries {
    names: Vec<String>,
    index: HashMap<String, u16>,
}

impl Countries {
    fn id(&mut self, cc: &str) -> u16 {
        if let Some(&i) = self.index.get(cc) {
            return i;
        }
        let i = self.names.len() as u16;
        self.names.push(cc.to_string());
        self.index.insert(cc.to_string(), i);
        i
    }
}

/// Draws of a fresh address before a population repeats one.
const FRESH_ADDRESS_TRIES: usize = 32;

/// Draw `n` addresses by country weights, distinct from each other and from every
/// address in `taken` (which they join) as far as the country's space allows: the sample
/// database has small countries, where a bot could otherwise share its address with a
/// client or a reflector of another wave, and the truth's distinct sources would no longer
/// be what a capture can show.
fn draw_population(
    geo: &GeoDb,
    countries: &BTreeMap<String, f64>,
    n: u32,
    rng: &mut Rng,
    interned: &mut Countries,
    taken: &mut HashSet<u32>,
    used_by: &str,
) -> Result<Vec<(Ipv4Addr, u16)>, SimError> {
    let names: Vec<&String> = countries.keys().collect();
    let weights: Vec<f64> = countries.values().copied().collect();
    for cc in &names {
        if geo.sample(cc, &mut rng.clone()).is_none() {
            return Err(SimError::UnknownCountry(
                cc.to_string(),
                used_by.to_string(),
            ));
        }
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let k = rng.weighted(&weights).unwrap_or(0);
        let cc = names[k];
        // Tries for a fresh address; a tiny country may simply repeat one.
        let mut addr = geo.sample(cc, rng).expect("checked above");
        for _ in 0..FRESH_ADDRESS_TRIES {
            if taken.insert(u32::from(addr)) {
                break;
            }
            addr = geo.sample(cc, rng).expect("checked above");
        }
        out.push((addr, interned.id(cc)));
    }
    Ok(out)
}

/// A random address inside one of `prefixes` (all IPv4 when empty).
fn spoofed_addr(prefixes: &[Prefix], rng: &mut Rng) -> Ipv4Addr {
    if prefixes.is_empty() {
        return Ipv4Addr::from(rng.next_u32());
    }
    let sizes: Vec<f64> = prefixes.iter().map(|p| p.size() as f64).collect();
    let p = prefixes[rng.weighted(&sizes).unwrap_or(0)];
    p.nth(rng.below(p.size()))
}

/// Simulate `sc` into `opts.out_dir`.
///
/// # Errors
/// Unwritable output, or countries the geo database does not have.
pub fn simulate(sc: &Scenario, opts: &SimOptions<'_>) -> Result<SimSummary, SimError> {
    let out = opts.out_dir;
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let seed = opts.seed;
    let geo = opts.geo;
    let scale = sc.scale;
    let start_ns = sc.start_unix * 1_000_000_000;
    let mut countries = Countries::default();
    // Addresses given out so far: clients, bots and reflectors stay distinct.
    let mut taken: HashSet<u32> = HashSet::new();

    // --- Background population.
    let mut bg_rng = Rng::named(seed, "background");
    let clients = draw_population(
        geo,
        &sc.background.client_countries,
        sc.background.clients.max(1),
        &mut bg_rng,
        &mut countries,
        &mut taken,
        "background.client_countries",
    )?;
    let crowd_clients: Vec<Vec<(Ipv4Addr, u16)>> = sc
        .background
        .flash_crowds
        .iter()
        .enumerate()
        .map(|(i, fc)| {
            let mut r = Rng::new(seed, 0xf1a5_0000 + i as u64);
            draw_population(
                geo,
                &sc.background.client_countries,
                fc.extra_clients.unwrap_or(sc.background.clients).max(1),
                &mut r,
                &mut countries,
                &mut taken,
                "background.client_countries",
            )
        })
        .collect::<Result<_, _>>()?;
    let kinds: Vec<(BackgroundKind, f64)> = sc
        .background
        .protocols
        .iter()
        .map(|(k, w)| Ok((background_kind(k)?, *w)))
        .collect::<Result<_, ScenarioError>>()?;
    let kind_weights: Vec<f64> = kinds.iter().map(|k| k.1).collect();
    let web_server = sc
        .service
        .as_ref()
        .and_then(|s| s.web_server)
        .unwrap_or(sc.background.servers[0]);

    // --- Botnets: one population per name, large enough for its biggest wave.
    let mut botnets: BTreeMap<String, Vec<(Ipv4Addr, u16, u8)>> = BTreeMap::new();
    for w in &sc.waves {
        if let Sources::Botnet {
            name,
            size,
            countries: cc,
            hops,
            ..
        } = &w.sources
        {
            let have = botnets.get(name).map_or(0, |b| b.len() as u32);
            if *size > have {
                let mut r = Rng::named(seed, &format!("botnet:{name}"));
                let pop =
                    draw_population(geo, cc, *size, &mut r, &mut countries, &mut taken, &w.name)?;
                let mut hr = Rng::named(seed, &format!("botnet-hops:{name}"));
                botnets.insert(
                    name.clone(),
                    pop.into_iter()
                        .map(|(a, c)| (a, c, hr.range(hops[0] as u64, hops[1] as u64) as u8))
                        .collect(),
                );
            }
        }
    }

    // --- Waves.
    let mut waves: Vec<WaveRun<'_>> = Vec::with_capacity(sc.waves.len());
    for (i, w) in sc.waves.iter().enumerate() {
        let mut rng = Rng::named(seed, &format!("wave:{}:{}", i, w.name));
        let mirai = matches!(&w.sources, Sources::Botnet { family, .. } if family.eq_ignore_ascii_case("mirai"));
        let gen = AttackGen::new(w.vector, &w.params, mirai, &mut rng).with_scale(sc.scale);
        let target = Prefix::parse(&w.target)?;
        let mut sources = Vec::new();
        let mut spoof = None;
        let mut scanners = 0;
        match &w.sources {
            Sources::Botnet {
                name,
                size,
                scanner_share,
                ..
            } => {
                let pop = &botnets[name];
                for (k, &(addr, country, hops)) in pop.iter().take(*size as usize).enumerate() {
                    // Raw-socket Mirai vectors and Linux kernels both start at TTL 64.
                    let ttl = 64u8.saturating_sub(hops).max(1);
                    let scanner = (k as f64) < *scanner_share * *size as f64;
                    scanners += scanner as u32;
                    sources.push(Src {
                        addr,
                        country,
                        ttl,
                        state: gen.source(addr, ttl, &mut rng),
                        scanner,
                    });
                }
            }
            Sources::Reflectors {
                count,
                countries: cc,
                hops,
            } => {
                let mut r = Rng::named(seed, &format!("reflectors:{}:{}", i, w.name));
                let pop =
                    draw_population(geo, cc, *count, &mut r, &mut countries, &mut taken, &w.name)?;
                for (addr, country) in pop {
                    // Reflectors run all kinds of stacks.
                    let initial = [64u8, 128, 255][r.below(3) as usize];
                    let ttl = initial
                        .saturating_sub(r.range(hops[0] as u64, hops[1] as u64) as u8)
                        .max(1);
                    sources.push(Src {
                        addr,
                        country,
                        ttl,
                        state: gen.source(addr, ttl, &mut r),
                        scanner: false,
                    });
                }
            }
            Sources::Spoofed {
                prefixes,
                hops,
                initial_ttl,
            } => {
                let ps = prefixes
                    .iter()
                    .map(|p| Prefix::parse(p))
                    .collect::<Result<Vec<_>, _>>()?;
                // A handful of real senders hide behind the forged addresses: their TTLs
                // take only a few values, whatever the source address says.
                let ttls = (0..3)
                    .map(|_| {
                        initial_ttl
                            .saturating_sub(rng.range(hops[0] as u64, hops[1] as u64) as u8)
                            .max(1)
                    })
                    .collect();
                spoof = Some((ps, ttls));
            }
        }
        let canon: Vec<u32> = {
            let mut first: HashMap<Ipv4Addr, u32> = HashMap::with_capacity(sources.len());
            sources
                .iter()
                .enumerate()
                .map(|(k, s)| *first.entry(s.addr).or_insert(k as u32))
                .collect()
        };
        let used = vec![false; sources.len()];
        waves.push(WaveRun {
            spec: w,
            index: i as u16,
            gen,
            rng,
            target,
            sources,
            spoof,
            carry: 0.0,
            scan_carry: 0.0,
            sticky: None,
            scanners,
            packets: 0,
            bytes: 0,
            first_ns: u64::MAX,
            last_ns: 0,
            canon,
            used,
            distinct: 0,
            spoof_srcs: Vec::new(),
            sources_by_country: BTreeMap::new(),
            packets_by_country: BTreeMap::new(),
            sent_to: Default::default(),
        });
    }

    // --- Service impact per second (real-world attack load on the service).
    let duration = sc.duration_seconds;
    let mut impact = vec![0.0f64; duration as usize];
    let mut attack_impact = vec![0.0f64; duration as usize];
    if let Some(svc) = &sc.service {
        let hits: Vec<&WaveRun<'_>> = waves
            .iter()
            .filter(|w| {
                sc.background.servers.iter().any(|s| w.target.contains(*s))
                    || w.spec.vector == Vector::DnsWaterTorture
            })
            .collect();
        for (sec, slot) in attack_impact.iter_mut().enumerate() {
            let load: f64 = hits.iter().map(|w| w.spec.pps * w.ramp(sec as u32)).sum();
            let span = (svc.saturation_pps - svc.capacity_pps).max(1.0);
            *slot = ((load - svc.capacity_pps) / span).clamp(0.0, 1.0);
        }
        impact.copy_from_slice(&attack_impact);
        for o in &svc.other_outages {
            for sec in o.start_seconds..(o.start_seconds + o.duration_seconds).min(duration) {
                let v = &mut impact[sec as usize];
                *v = v.max(o.impact.clamp(0.0, 1.0));
            }
        }
    }

    // --- Outputs.
    let cap_path = out.join(file_names::CAPTURE);
    let mut capture = PcapWriter::create(&cap_path).map_err(io_err(&cap_path))?;
    let mut exporters: Vec<(FlowExporter, PcapWriter, String)> = Vec::new();
    let mut flow_files = BTreeMap::new();
    for (i, f) in sc.flows.formats.iter().enumerate() {
        let name = format!("flows-{}.pcap", f.name());
        let path = out.join(&name);
        let w = PcapWriter::create(&path).map_err(io_err(&path))?;
        let exporter = FlowExporter::new(
            *f,
            sc.flows.sampling.max(1),
            Ipv4Addr::new(192, 0, 2, 1 + i as u8),
            Ipv4Addr::new(192, 0, 2, 100),
            Rng::named(seed, &format!("flows:{}", f.name())),
        );
        flow_files.insert(f.name().to_string(), name.clone());
        exporters.push((exporter, w, name));
    }
    let log_path = out.join(file_names::ACCESS_LOG);
    let mut access = BufWriter::new(File::create(&log_path).map_err(io_err(&log_path))?);
    let host = sc
        .service
        .as_ref()
        .map_or("www.example.net", |s| s.host.as_str());

    // --- The per-second loop.
    let mut arena: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut items: Vec<Item> = Vec::new();
    let mut totals = CaptureTotals {
        first_ns: u64::MAX,
        ..CaptureTotals::default()
    };
    let mut scan_sources: std::collections::BTreeSet<Ipv4Addr> = Default::default();
    let mut log_truth = AccessLogTruth::default();
    let mut log_rng = Rng::named(seed, "access-log");
    let mut bg_carry = 0.0f64;
    let mut write_err: Option<SimError> = None;
    let mut crowd_rng = Rng::named(seed, "flash-crowds");
    for sec in 0..duration {
        (opts.progress)(sec, duration);
        // Each second is generated in slices so that one slice's frames (sorted, then
        // copied out) stay in cache: whole seconds of a big flood did not.
        for slice in 0..SLICES {
            arena.clear();
            items.clear();
            let sec_ns = start_ns + sec as u64 * 1_000_000_000 + slice * SLICE_NS;
            // Frames are built in place at the end of `arena`; this records the one that starts
            // at `off`.
            let mut push =
                |arena: &Vec<u8>, off: usize, ts_ns: u64, tag: Tag, items: &mut Vec<Item>| {
                    let seq = items.len() as u32;
                    items.push(Item {
                        ts_ns,
                        seq,
                        off: off as u32,
                        len: (arena.len() - off) as u32,
                        tag,
                    });
                };

            // Background: diurnal curve and flash crowds.
            let bg = &sc.background;
            let phase =
                2.0 * std::f64::consts::PI * sec as f64 / bg.diurnal_period_seconds.max(1) as f64;
            let diurnal = (1.0 + bg.diurnal_amplitude * phase.sin()).max(0.0);
            let want = bg.pps * diurnal * scale / SLICES as f64 + bg_carry;
            let n_bg = want.floor() as u64;
            bg_carry = want - n_bg as f64;
            for _ in 0..n_bg {
                let (client, _) = clients[bg_rng.below(clients.len() as u64) as usize];
                let server = bg.servers[bg_rng.below(bg.servers.len() as u64) as usize];
                emit_background(
                    &kinds,
                    &kind_weights,
                    client,
                    server,
                    web_server,
                    sec_ns,
                    &mut bg_rng,
                    &mut arena,
                    &mut items,
                    &mut push,
                );
            }
            for (fc, pool) in bg.flash_crowds.iter().zip(&crowd_clients) {
                if sec < fc.start_seconds || sec >= fc.start_seconds + fc.duration_seconds {
                    continue;
                }
                // Ramps over a fifth of the surge at each end.
                let t = (sec - fc.start_seconds) as f64 + 0.5;
                let left = (fc.start_seconds + fc.duration_seconds - sec) as f64 - 0.5;
                let ramp = (5.0 * t.min(left) / fc.duration_seconds as f64).min(1.0);
                let extra = bg.pps * scale * (fc.multiplier - 1.0).max(0.0) * ramp / SLICES as f64;
                let n = crowd_rng.poisson(extra);
                let server = fc.server.unwrap_or(bg.servers[0]);
                for _ in 0..n {
                    let (client, _) = pool[crowd_rng.below(pool.len() as u64) as usize];
                    emit_background(
                        &kinds,
                        &kind_weights,
                        client,
                        server,
                        web_server,
                        sec_ns,
                        &mut crowd_rng,
                        &mut arena,
                        &mut items,
                        &mut push,
                    );
                }
            }

            // Attack waves and scanners.
            for w in waves.iter_mut() {
                let ramp = w.ramp(sec);
                if ramp <= 0.0 {
                    continue;
                }
                let want = w.spec.pps * ramp * scale / SLICES as f64 + w.carry;
                let n = want.floor() as u64;
                w.carry = want - n as f64;
                for _ in 0..n {
                    let dst = w.target.nth(w.rng.below(w.target.size()));
                    let mut ts = sec_ns + w.rng.below(SLICE_NS);
                    let off = arena.len();
                    let (src_addr, idx, country) = if let Some((prefixes, ttls)) = &w.spoof {
                        let addr = spoofed_addr(prefixes, &mut w.rng);
                        let ttl = ttls[w.rng.below(ttls.len() as u64) as usize];
                        let mut st = w.gen.source(addr, ttl, &mut w.rng);
                        w.gen.frame(&mut st, dst, &mut w.rng, &mut arena);
                        (addr, u32::MAX, u16::MAX)
                    } else {
                        let k = match w.sticky.take() {
                            Some((k, prev)) => {
                                // One round trip (0.2-2 ms) after the previous packet.
                                ts = (prev + 200_000 + w.rng.below(1_800_000))
                                    .min(sec_ns + SLICE_NS - 1)
                                    .max(sec_ns);
                                k
                            }
                            None => w.rng.below(w.sources.len() as u64) as usize,
                        };
                        let s = &mut w.sources[k];
                        w.gen.frame(&mut s.state, dst, &mut w.rng, &mut arena);
                        if w.gen.mid_connection(&s.state) {
                            w.sticky = Some((k, ts));
                        }
                        (s.addr, k as u32, s.country)
                    };
                    push(
                        &arena,
                        off,
                        ts,
                        Tag::Wave {
                            wave: w.index,
                            src: u32::from(src_addr),
                            idx,
                            country,
                        },
                        &mut items,
                    );
                }
                if w.scanners > 0 {
                    if let Sources::Botnet { scan_pps, .. } = &w.spec.sources {
                        let want =
                            w.scanners as f64 * scan_pps * scale / SLICES as f64 + w.scan_carry;
                        let n = want.floor() as u64;
                        w.scan_carry = want - n as f64;
                        let scanners: Vec<usize> = (0..w.sources.len())
                            .filter(|&k| w.sources[k].scanner)
                            .collect();
                        for _ in 0..n {
                            let s =
                                &w.sources[scanners[w.rng.below(scanners.len() as u64) as usize]];
                            let ttl = s.ttl;
                            let off = arena.len();
                            vectors::scan_frame(s.addr, ttl, &mut w.rng, &mut arena);
                            let ts = sec_ns + w.rng.below(SLICE_NS);
                            push(
                                &arena,
                                off,
                                ts,
                                Tag::Scan {
                                    src: u32::from(s.addr),
                                },
                                &mut items,
                            );
                        }
                    }
                }
            }

            // Write the second in time order.
            items.sort_unstable_by_key(|it| (it.ts_ns, it.seq));
            for it in &items {
                let bytes = &arena[it.off as usize..(it.off + it.len) as usize];
                capture.write(it.ts_ns, bytes).map_err(io_err(&cap_path))?;
                totals.packets += 1;
                totals.bytes += bytes.len() as u64;
                totals.first_ns = totals.first_ns.min(it.ts_ns);
                totals.last_ns = totals.last_ns.max(it.ts_ns);
                let obs = match observe_frame(1, bytes, it.ts_ns, bytes.len() as u32) {
                    Ok(Frame::Ip(o)) => Some(o),
                    _ => None,
                };
                if let Some(o) = &obs {
                    for (exp, w, name) in exporters.iter_mut() {
                        let mut sink = |ts: u64, f: &[u8]| {
                            if write_err.is_none() {
                                if let Err(e) = w.write(ts, f) {
                                    write_err = Some(SimError::Io {
                                        path: out.join(&*name).display().to_string(),
                                        source: e,
                                    });
                                }
                            }
                        };
                        exp.packet(o, bytes, &mut sink);
                    }
                }
                let sec_impact = impact[sec as usize];
                match it.tag {
                    Tag::Background { web } => {
                        totals.background_packets += 1;
                        if web && log_rng.chance(sc.background.log_share) {
                            if let Some(o) = &obs {
                                let (method, path, ua) = reports::benign_request(&mut log_rng);
                                let (status, size) = status_for(sec_impact, &mut log_rng);
                                let line = reports::AccessLogLine {
                                    ts: it.ts_ns,
                                    client: v4(o.src),
                                    method,
                                    path: &path,
                                    status,
                                    bytes: size,
                                    referer: "-",
                                    user_agent: ua,
                                };
                                reports::write_access_line(&line, host, &mut access)
                                    .map_err(io_err(&log_path))?;
                                log_truth.lines += 1;
                            }
                        }
                    }
                    Tag::Wave {
                        wave,
                        src,
                        idx,
                        country,
                    } => {
                        totals.attack_packets += 1;
                        let w = &mut waves[wave as usize];
                        w.packets += 1;
                        w.bytes += bytes.len() as u64;
                        w.first_ns = w.first_ns.min(it.ts_ns);
                        w.last_ns = w.last_ns.max(it.ts_ns);
                        if w.spec.vector == Vector::DnsWaterTorture {
                            if let Some(o) = &obs {
                                w.sent_to.insert(v4(o.dst));
                            }
                        }
                        let fresh = if idx == u32::MAX {
                            w.spoof_srcs.push(src);
                            false
                        } else {
                            let c = w.canon[idx as usize] as usize;
                            let fresh = !w.used[c];
                            w.used[c] = true;
                            w.distinct += fresh as u64;
                            fresh
                        };
                        if country != u16::MAX {
                            *w.packets_by_country.entry(country).or_default() += 1;
                            if fresh {
                                *w.sources_by_country.entry(country).or_default() += 1;
                            }
                        }
                        if w.spec.vector == Vector::Http {
                            if let Some(o) = &obs {
                                if let Some((method, path, ua)) =
                                    http_request(bytes, o.payload_len as usize)
                                {
                                    if v4(o.dst) == web_server || w.target.contains(v4(o.dst)) {
                                        let (status, size) = status_for(sec_impact, &mut log_rng);
                                        let line = reports::AccessLogLine {
                                            ts: it.ts_ns,
                                            client: v4(o.src),
                                            method: &method,
                                            path: &path,
                                            status,
                                            bytes: size,
                                            referer: "-",
                                            user_agent: &ua,
                                        };
                                        reports::write_access_line(&line, host, &mut access)
                                            .map_err(io_err(&log_path))?;
                                        log_truth.lines += 1;
                                        log_truth.attack_lines += 1;
                                    }
                                }
                            }
                        }
                    }
                    Tag::Scan { src } => {
                        totals.scan_packets += 1;
                        scan_sources.insert(Ipv4Addr::from(src));
                    }
                }
            }
            if let Some(e) = write_err.take() {
                return Err(e);
            }
        }
    }
    (opts.progress)(duration, duration);
    let end_ns = start_ns + duration as u64 * 1_000_000_000;

    // --- Finish files.
    let mut flows_truth = Vec::new();
    for (mut exp, mut w, name) in exporters {
        let mut err = None;
        exp.finish(end_ns, &mut |ts, f| {
            if err.is_none() {
                err = w.write(ts, f).err();
            }
        });
        let path = out.join(&name);
        if let Some(e) = err {
            return Err(io_err(&path)(e));
        }
        let st = exp.stats();
        flows_truth.push(FlowTruth {
            format: exp_format_name(&name),
            file: name.clone(),
            sampling: sc.flows.sampling.max(1),
            datagrams: w.packets(),
            flow_records: st.flow_records,
            template_records: st.template_records,
            sampled_packets: st.sampled_packets,
            packets_represented: st.packets_represented,
            bytes_represented: st.bytes_represented,
        });
        w.finish().map_err(io_err(&path))?;
    }
    capture.finish().map_err(io_err(&cap_path))?;
    access.flush().map_err(io_err(&log_path))?;
    if totals.packets == 0 {
        totals.first_ns = 0;
    }

    // --- Outage reports.
    let outage = match (&sc.outage, &sc.service) {
        (Some(model), Some(_)) => {
            let mut r = Rng::named(seed, "outage-reports");
            let reps = reports::outage_reports(model, sc.start_unix, &impact, &mut r);
            let path = out.join(file_names::OUTAGE_REPORTS);
            let mut f = BufWriter::new(File::create(&path).map_err(io_err(&path))?);
            reports::write_reports_csv(&reps, &mut f).map_err(io_err(&path))?;
            f.flush().map_err(io_err(&path))?;
            let minutes = (duration as usize).div_ceil(60);
            let per_minute = reports::per_minute(&reps, sc.start_unix, minutes);
            let mut channels = BTreeMap::new();
            for rep in &reps {
                *channels.entry(rep.channel.clone()).or_insert(0u64) += 1;
            }
            let svc = sc.service.as_ref().expect("checked by the match");
            let spikes = report_spikes(sc, &waves, model, (svc.capacity_pps, svc.saturation_pps));
            Some(OutageTruth {
                reports: reps.len() as u64,
                channels,
                per_minute,
                impact_seconds: impact
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(s, v)| {
                        [
                            (sc.start_unix + s as u64) as f64,
                            (v * 1000.0).round() / 1000.0,
                        ]
                    })
                    .collect(),
                spikes,
            })
        }
        _ => None,
    };

    // --- Truth.
    let wave_truth: Vec<WaveTruth> = waves
        .iter()
        .map(|w| {
            let spec = w.spec;
            let (kind, botnet) = match &spec.sources {
                Sources::Botnet { name, family, .. } => (
                    "botnet",
                    Some(BotnetTruth {
                        name: name.clone(),
                        family: family.clone(),
                    }),
                ),
                Sources::Spoofed { .. } => ("spoofed", None),
                Sources::Reflectors { .. } => ("reflectors", None),
            };
            let name_of = |c: &u16| countries.names[*c as usize].clone();
            WaveTruth {
                name: spec.name.clone(),
                victim: if w.target.len == 32 {
                    w.target.addr.to_string()
                } else {
                    w.target.to_string()
                },
                sent_to: if spec.vector == Vector::DnsWaterTorture {
                    w.sent_to.iter().map(|a| a.to_string()).collect()
                } else {
                    Vec::new()
                },
                start_ns: if w.packets > 0 { w.first_ns } else { 0 },
                end_ns: w.last_ns,
                scheduled: [
                    sc.start_unix + spec.start_seconds as u64,
                    sc.start_unix + (spec.start_seconds + spec.duration_seconds) as u64,
                ],
                vector: spec.vector.class_name().to_string(),
                generator: spec.vector.name().to_string(),
                mirai_vector: match &spec.sources {
                    Sources::Botnet { family, .. } if family.eq_ignore_ascii_case("mirai") => {
                        spec.vector.mirai_vector().map(str::to_string)
                    }
                    _ => None,
                },
                packets: w.packets,
                bytes: w.bytes,
                real_pps: spec.pps,
                distinct_sources: if w.spoof.is_some() {
                    let mut v = w.spoof_srcs.clone();
                    v.sort_unstable();
                    v.dedup();
                    v.len() as u64
                } else {
                    w.distinct
                },
                spoofed: w.spoof.is_some(),
                source_kind: kind.to_string(),
                botnet,
                sources_by_country: w
                    .sources_by_country
                    .iter()
                    .map(|(c, n)| (name_of(c), *n))
                    .collect(),
                packets_by_country: w
                    .packets_by_country
                    .iter()
                    .map(|(c, n)| (name_of(c), *n))
                    .collect(),
                campaign: spec.campaign.clone(),
            }
        })
        .collect();
    let scanning = (totals.scan_packets > 0).then(|| ScanTruth {
        family: sc
            .waves
            .iter()
            .find_map(|w| match &w.sources {
                Sources::Botnet {
                    family,
                    scanner_share,
                    ..
                } if *scanner_share > 0.0 => Some(family.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        sources: scan_sources.iter().map(|a| a.to_string()).collect(),
        packets: totals.scan_packets,
    });
    let claims = sc
        .claims
        .iter()
        .map(|c| ideal_verdict(&c.claim, &wave_truth, outage.as_ref(), sc))
        .collect();
    let truth = Truth {
        schema_version: TRUTH_SCHEMA_VERSION,
        scenario: sc.name.clone(),
        seed,
        start_unix: sc.start_unix,
        duration_seconds: duration,
        scale,
        geo_database: geo.description(),
        files: Files {
            capture: file_names::CAPTURE.into(),
            flows: flow_files,
            access_log: file_names::ACCESS_LOG.into(),
            outage_reports: outage.as_ref().map(|_| file_names::OUTAGE_REPORTS.into()),
            scenario: file_names::SCENARIO.into(),
        },
        totals,
        flows: flows_truth,
        waves: wave_truth,
        scanning,
        flash_crowds: sc
            .background
            .flash_crowds
            .iter()
            .map(|fc| SpanTruth {
                start_unix: sc.start_unix + fc.start_seconds as u64,
                end_unix: sc.start_unix + (fc.start_seconds + fc.duration_seconds) as u64,
                target: fc.server.unwrap_or(sc.background.servers[0]).to_string(),
            })
            .collect(),
        outage,
        access_log: log_truth,
        claims,
    };
    let truth_path = out.join(file_names::TRUTH);
    let mut text = serde_json::to_string_pretty(&truth).expect("truth serialises");
    text.push('\n');
    std::fs::write(&truth_path, text).map_err(io_err(&truth_path))?;
    let sc_path = out.join(file_names::SCENARIO);
    let sc_text = toml::to_string(sc).unwrap_or_default();
    std::fs::write(&sc_path, sc_text).map_err(io_err(&sc_path))?;
    Ok(SimSummary {
        packets: truth.totals.packets,
        truth,
    })
}

fn exp_format_name(file: &str) -> String {
    file.trim_start_matches("flows-")
        .trim_end_matches(".pcap")
        .to_string()
}

fn v4(a: IpAddr) -> Ipv4Addr {
    match a {
        IpAddr::V4(v) => v,
        IpAddr::V6(v) => v.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
    }
}

/// HTTP status and body size of a request served at `impact`.
fn status_for(impact: f64, rng: &mut Rng) -> (u16, u64) {
    if rng.chance(impact) {
        if rng.chance(0.5) {
            (503, 0)
        } else {
            (504, 0)
        }
    } else {
        (200, rng.range(2_000, 60_000))
    }
}

/// Method, path and user agent of an HTTP request in a frame's TCP payload.
fn http_request(frame: &[u8], payload_len: usize) -> Option<(String, String, String)> {
    if payload_len == 0 || payload_len > frame.len() {
        return None;
    }
    let payload = &frame[frame.len() - payload_len..];
    let text = std::str::from_utf8(payload).ok()?;
    let mut lines = text.split("\r\n");
    let mut req = lines.next()?.split(' ');
    let method = req.next()?.to_string();
    let path = req.next()?.to_string();
    if !req.next()?.starts_with("HTTP/") {
        return None;
    }
    let ua = lines
        .find_map(|l| l.strip_prefix("User-Agent: "))
        .unwrap_or("-")
        .to_string();
    Some((method, path, ua))
}

#[allow(clippy::too_many_arguments)]
fn emit_background(
    kinds: &[(BackgroundKind, f64)],
    weights: &[f64],
    client: Ipv4Addr,
    server: Ipv4Addr,
    web_server: Ipv4Addr,
    sec_ns: u64,
    rng: &mut Rng,
    arena: &mut Vec<u8>,
    items: &mut Vec<Item>,
    push: &mut impl FnMut(&Vec<u8>, usize, u64, Tag, &mut Vec<Item>),
) {
    let Some(k) = rng.weighted(weights) else {
        return;
    };
    let kind = kinds[k].0;
    let to_server = rng.chance(0.5);
    let ttl = if to_server {
        64u8.saturating_sub(rng.range(8, 20) as u8)
    } else {
        64 - 1
    };
    let off = arena.len();
    vectors::background_frame(kind, client, server, to_server, ttl, rng, arena);
    let web = to_server
        && server == web_server
        && matches!(kind, BackgroundKind::Https | BackgroundKind::Http);
    let ts = sec_ns + rng.below(SLICE_NS);
    push(arena, off, ts, Tag::Background { web }, items);
}

/// For each wave that overloaded the service, when the users' reports it causes peak: the
/// report model's expected response to that wave's impact alone (so an earlier wave's
/// fading reports never shift a later wave's lag).
fn report_spikes(
    sc: &Scenario,
    waves: &[WaveRun<'_>],
    model: &reports::OutageModel,
    capacity: (f64, f64),
) -> Vec<SpikeTruth> {
    let (cap, sat) = capacity;
    let span = (sat - cap).max(1.0);
    let mut out = Vec::new();
    for w in waves {
        let hits = sc.background.servers.iter().any(|s| w.target.contains(*s))
            || w.spec.vector == Vector::DnsWaterTorture;
        if !hits {
            continue;
        }
        let own: Vec<f64> = (0..sc.duration_seconds)
            .map(|sec| ((w.spec.pps * w.ramp(sec) - cap) / span).clamp(0.0, 1.0))
            .collect();
        if own.iter().all(|x| *x <= 0.0) {
            continue;
        }
        let rate = reports::response(model, &own);
        let Some((peak, _)) = rate
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        else {
            continue;
        };
        let from = sc.start_unix + w.spec.start_seconds as u64;
        let peak_unix = sc.start_unix + peak as u64;
        out.push(SpikeTruth {
            wave: w.spec.name.clone(),
            wave_start_unix: from,
            peak_minute_unix: peak_unix - (peak_unix - sc.start_unix) % 60,
            lag_seconds: peak_unix as i64 - from as i64,
        });
    }
    out
}

/// The verdict an ideal analyser reaches for `claim`, from what was generated.
fn ideal_verdict(
    claim: &str,
    waves: &[WaveTruth],
    outage: Option<&OutageTruth>,
    sc: &Scenario,
) -> ClaimTruth {
    let (key, value) = claim.split_once('=').unwrap_or((claim, ""));
    let verdict = |v: &str, reason: String| ClaimTruth {
        claim: claim.to_string(),
        verdict: v.to_string(),
        reason,
    };
    let located: Vec<&WaveTruth> = waves.iter().filter(|w| !w.spoofed).collect();
    match key {
        "origin" => {
            if waves.is_empty() {
                return verdict("contradicted", "no attack in the traffic".into());
            }
            if located.is_empty() {
                return verdict(
                    "inconclusive",
                    "every attack packet carries a forged source address; they locate nothing"
                        .into(),
                );
            }
            let total: u64 = located.iter().map(|w| w.distinct_sources).sum();
            let cc: u64 = located
                .iter()
                .map(|w| {
                    w.sources_by_country
                        .get(&value.to_ascii_uppercase())
                        .copied()
                        .unwrap_or(0)
                })
                .sum();
            let share = cc as f64 / total.max(1) as f64;
            let reason = format!(
                "{cc} of {total} attack sources ({:.1} %) are in {value}",
                share * 100.0
            );
            if share >= 0.5 {
                verdict("supported", reason)
            } else if share < 0.25 {
                verdict("contradicted", reason)
            } else {
                verdict("inconclusive", reason)
            }
        }
        "botnet" => {
            let fam: Vec<&WaveTruth> = located
                .iter()
                .copied()
                .filter(|w| {
                    w.botnet
                        .as_ref()
                        .is_some_and(|b| b.family.eq_ignore_ascii_case(value))
                })
                .collect();
            if !fam.is_empty() {
                verdict(
                    "supported",
                    format!(
                        "{} wave(s) come from a {value} botnet using its attack code",
                        fam.len()
                    ),
                )
            } else if waves.is_empty() {
                verdict("contradicted", "no attack in the traffic".into())
            } else {
                verdict(
                    "contradicted",
                    format!("no wave carries {value}'s packet signatures"),
                )
            }
        }
        "spoofed" => {
            let total: u64 = waves.iter().map(|w| w.packets).sum();
            let spoofed: u64 = waves.iter().filter(|w| w.spoofed).map(|w| w.packets).sum();
            let share = spoofed as f64 / total.max(1) as f64;
            let state = if total == 0 {
                "none"
            } else if share > 0.9 {
                "yes"
            } else if share < 0.1 {
                "no"
            } else {
                "mixed"
            };
            let reason = format!(
                "{:.1} % of attack packets have forged sources",
                share * 100.0
            );
            let want_yes = matches!(value, "yes" | "true");
            match (state, want_yes) {
                ("yes", true) | ("no", false) => verdict("supported", reason),
                ("yes", false) | ("no", true) => verdict("contradicted", reason),
                _ => verdict("inconclusive", reason),
            }
        }
        "cause" => {
            let Some(o) = outage else {
                return verdict("inconclusive", "no outage reports in the scenario".into());
            };
            let attack_spikes = o.spikes.len();
            let other = sc.service.as_ref().map_or(0, |s| s.other_outages.len());
            if attack_spikes > 0 {
                verdict(
                    "supported",
                    format!("{attack_spikes} report spike(s) follow attack waves that overloaded the service"),
                )
            } else if other > 0 {
                verdict(
                    "contradicted",
                    format!("the outage has another cause ({other} non-attack outage(s)); no wave overloaded the service"),
                )
            } else {
                verdict("contradicted", "no wave overloaded the service".into())
            }
        }
        _ => verdict(
            "inconclusive",
            format!("the simulator has no truth for {key:?} claims"),
        ),
    }
}
