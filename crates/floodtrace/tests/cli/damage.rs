//! Acceptance: a sweep cuts every real capture at 50 random offsets and flips random bytes
//! at 50 more: zero panics, every damaged run reports an error with an offset, counts
//! before the damage are kept.
//!
//! Expectations come from the tests' own framing walker ([`crate::support::layout`]), not
//! from floodtrace. Half of the runs use small chunks and several threads, so damage also
//! lands at and between chunk boundaries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use crate::support::{
    fnv1a, layout, read_data, run, shared_captures, Layout, Run, SplitMix64, TempDir,
};

const CUTS_PER_CAPTURE: usize = 50;
const FLIPS_PER_CAPTURE: usize = 50;
/// Of the cuts, this many land exactly on a record boundary (a valid, shorter capture).
const BOUNDARY_CUTS: usize = 5;
const SEED: u64 = 0x0f10_0d7a_ce5e_ed01;

/// One damaged copy of a capture.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Keep the first `at` bytes.
    Cut { at: usize },
    /// XOR `mask` into the byte at `at`, which is inside a length field of block `block`
    /// (pcap record caplen; pcapng leading or trailing block length).
    LengthFlip { at: usize, mask: u8, block: usize },
    /// XOR `mask` into the byte at `at`, outside every record/block length field.
    OtherFlip { at: usize, mask: u8 },
}

struct Capture {
    rel: String,
    bytes: Vec<u8>,
    layout: Layout,
}

struct Job {
    capture: usize,
    id: usize,
    damage: Damage,
    chunked: bool,
}

fn in_length_field(l: &Layout, at: usize) -> bool {
    let i = l.blocks.partition_point(|b| b.end <= at);
    l.blocks
        .get(i)
        .is_some_and(|b| b.start <= at && b.len_fields.iter().any(|&f| (f..f + 4).contains(&at)))
}

fn plan(c: &Capture, capture: usize, first_id: usize) -> Vec<Job> {
    let mut rng = SplitMix64(SEED ^ fnv1a(&c.rel));
    let len = c.bytes.len();
    let l = &c.layout;
    let mut damages = Vec::new();
    for i in 0..CUTS_PER_CAPTURE {
        let at = if i < BOUNDARY_CUTS && l.blocks.len() > 1 {
            // A boundary strictly inside the file (the last block's end is the file end).
            l.blocks[rng.range(0, l.blocks.len() - 1)].end
        } else {
            rng.range(1, len)
        };
        damages.push(Damage::Cut { at });
    }
    for i in 0..FLIPS_PER_CAPTURE {
        let mask = rng.nonzero_byte();
        if i % 2 == 0 {
            let block = rng.range(0, l.blocks.len());
            let fields = &l.blocks[block].len_fields;
            let at = fields[rng.range(0, fields.len())] + rng.range(0, 4);
            damages.push(Damage::LengthFlip { at, mask, block });
        } else {
            let at = loop {
                let at = rng.range(0, len);
                if !in_length_field(l, at) {
                    break at;
                }
            };
            damages.push(Damage::OtherFlip { at, mask });
        }
    }
    damages
        .into_iter()
        .enumerate()
        .map(|(i, damage)| Job {
            capture,
            id: first_id + i,
            damage,
            chunked: i % 2 == 1,
        })
        .collect()
}

fn damaged_bytes(c: &Capture, d: Damage) -> Vec<u8> {
    match d {
        Damage::Cut { at } => c.bytes[..at].to_vec(),
        Damage::LengthFlip { at, mask, .. } | Damage::OtherFlip { at, mask } => {
            let mut b = c.bytes.clone();
            b[at] ^= mask;
            b
        }
    }
}

fn errors(input: &Value) -> Vec<Value> {
    input["errors"].as_array().cloned().unwrap_or_default()
}

fn field(e: &Value, k: &str) -> u64 {
    e[k].as_u64().unwrap_or(u64::MAX)
}

/// Check one damaged run; `Err` describes what is wrong.
fn check(c: &Capture, damage: Damage, damaged: &[u8], path: &str, r: &Run) -> Result<(), String> {
    let code = r.code.ok_or("killed by a signal")?;
    if r.stderr.contains("panicked") {
        return Err(format!("panic: {}", r.stderr.trim()));
    }
    if code != 0 && code != 3 {
        return Err(format!("exit code {code}; stderr: {}", r.stderr.trim()));
    }
    let doc = r.try_json()?;
    let input = &doc["inputs"][0];
    let packets = input["packets"].as_u64().ok_or("no packets")?;
    let bytes = input["bytes"].as_u64().ok_or("no bytes")?;
    let complete = input["complete"].as_bool().ok_or("no complete")?;
    let errs = errors(input);
    let shown = Value::Array(errs.clone());
    if complete != (code == 0) {
        return Err(format!("complete={complete} but exit code {code}"));
    }
    let framing_errors: Vec<&Value> = errs.iter().filter(|e| e["kind"] != "packet").collect();
    if complete && !framing_errors.is_empty() {
        return Err(format!("complete, yet capture errors {shown}"));
    }
    for e in &errs {
        for k in ["count", "offset", "record"] {
            if !e[k].is_u64() {
                return Err(format!("error without {k}: {e}"));
            }
        }
        if field(e, "offset") > damaged.len() as u64 {
            return Err(format!(
                "error offset beyond the file ({}): {e}",
                damaged.len()
            ));
        }
    }
    let l = &c.layout;
    match damage {
        Damage::Cut { at } => {
            let (kept, kept_bytes) = l.kept_before(at);
            if (packets, bytes) != (kept, kept_bytes) {
                return Err(format!(
                    "packets/bytes {packets}/{bytes}, but {kept}/{kept_bytes} records end \
                     before the cut; errors {shown}"
                ));
            }
            if l.is_boundary(at) {
                if code != 0 || !errs.is_empty() {
                    return Err(format!(
                        "cut at a record boundary is a valid capture, yet exit {code}, errors \
                         {shown}"
                    ));
                }
                return Ok(());
            }
            let lo = l.start_of_structure_at(at) as u64;
            let fatal = framing_errors
                .iter()
                .find(|e| e["fatal"] == true && (lo..=at as u64).contains(&field(e, "offset")));
            let Some(fatal) = fatal else {
                return Err(format!(
                    "no fatal error with offset in {lo}..={at} (start of the cut record ..= \
                     cut); errors {shown}"
                ));
            };
            let message = fatal["message"].as_str().unwrap_or_default();
            let line = format!("floodtrace: {path}: {message}");
            if !r.stderr.contains(&line) {
                return Err(format!("stderr lacks {line:?}: {}", r.stderr.trim()));
            }
            if fatal["kind"] == "capture" {
                let off = format!("at offset {:#x}", field(fatal, "offset"));
                if !message.contains(&off) {
                    return Err(format!("message {message:?} lacks {off:?}"));
                }
            }
            Ok(())
        }
        Damage::LengthFlip { block, .. } => {
            let start = l.blocks[block].start as u64;
            let before = l.packets_before_block(block);
            match layout(damaged) {
                // The flip happens to leave a structurally valid capture: nothing to detect.
                Ok(still_valid) => {
                    if complete && packets != still_valid.packets() {
                        return Err(format!(
                            "still a valid capture of {} packets, floodtrace counts {packets}",
                            still_valid.packets()
                        ));
                    }
                    Ok(())
                }
                Err(why) => {
                    if code != 3 {
                        return Err(format!(
                            "framing damaged ({why}) but exit {code}, errors {shown}"
                        ));
                    }
                    if !framing_errors.iter().any(|e| field(e, "offset") >= start) {
                        return Err(format!(
                            "no capture error at or after the damaged record (offset {start}); \
                             errors {shown}"
                        ));
                    }
                    if packets < before {
                        return Err(format!(
                            "{packets} packets, but {before} records precede the damage"
                        ));
                    }
                    Ok(())
                }
            }
        }
        Damage::OtherFlip { .. } => {
            if complete && packets != l.packets() {
                return Err(format!(
                    "no error reported, yet {packets} packets instead of {}",
                    l.packets()
                ));
            }
            Ok(())
        }
    }
}

#[test]
fn cut_and_flip_sweep_over_real_captures() {
    let captures: Vec<Capture> = shared_captures()
        .into_iter()
        .map(|rel| {
            let bytes = read_data(&rel);
            let layout = layout(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
            Capture { rel, bytes, layout }
        })
        .collect();
    let mut jobs = Vec::new();
    for (i, c) in captures.iter().enumerate() {
        let first = jobs.len();
        jobs.extend(plan(c, i, first));
    }
    let tmp = TempDir::new("sweep");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    // Per damage kind: runs, runs that reported damage (exit 3).
    let tally = Mutex::new(std::collections::BTreeMap::<&str, (u32, u32)>::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { return };
                let c = &captures[job.capture];
                let damaged = damaged_bytes(c, job.damage);
                let file = tmp.write(&format!("{}.cap", job.id), &damaged);
                let path = file.to_str().expect("UTF-8 temp path").to_string();
                let mut args = vec!["analyze", "--format", "json", "--no-progress"];
                if job.chunked {
                    args.extend(["--threads", "3", "--chunk-bytes", "4096"]);
                }
                args.push(&path);
                let r = run(&args);
                let _ = std::fs::remove_file(&file);
                let kind = match job.damage {
                    Damage::Cut { at } if c.layout.is_boundary(at) => "cut at a boundary",
                    Damage::Cut { .. } => "cut inside a structure",
                    Damage::LengthFlip { .. } => "flip in a length field",
                    Damage::OtherFlip { .. } => "flip elsewhere",
                };
                {
                    let mut t = tally.lock().unwrap();
                    let e = t.entry(kind).or_default();
                    e.0 += 1;
                    e.1 += u32::from(r.code == Some(3));
                }
                if let Err(why) = check(c, job.damage, &damaged, &path, &r) {
                    failures.lock().unwrap().push(format!(
                        "{} {:?} ({}): {why}",
                        c.rel,
                        job.damage,
                        if job.chunked {
                            "--threads 3 --chunk-bytes 4096"
                        } else {
                            "default chunks"
                        }
                    ));
                }
            });
        }
    });
    for (kind, (runs, partial)) in tally.into_inner().unwrap() {
        eprintln!("sweep: {kind}: {runs} runs, {partial} reported damage (exit 3)");
    }
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} damaged runs failed; first ones:\n{}",
        failures.len(),
        jobs.len(),
        failures
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        jobs.len(),
        captures.len() * (CUTS_PER_CAPTURE + FLIPS_PER_CAPTURE)
    );
}
