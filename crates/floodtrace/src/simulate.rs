//! `floodtrace simulate` and `floodtrace eval`: glue around floodtrace-sim.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Context;
use floodtrace_sim::builtin::BUILTIN;
use floodtrace_sim::generate::{simulate, SimOptions};
use floodtrace_sim::geo::GeoDb;
use floodtrace_sim::scenario::Scenario;
use floodtrace_sim::truth::Truth;

use crate::cli::{exit, EvalArgs, Format, SimulateArgs};

/// Run `simulate`.
pub fn run_simulate(args: SimulateArgs) -> anyhow::Result<u8> {
    if args.list {
        for (name, text) in BUILTIN {
            let sc =
                Scenario::from_toml(text).with_context(|| format!("built-in scenario {name}"))?;
            let first = sc
                .description
                .split(". ")
                .next()
                .unwrap_or("")
                .trim_end_matches('.');
            println!("{name:<18} {first}");
        }
        return Ok(exit::OK);
    }
    let (Some(which), Some(out)) = (args.scenario, args.output) else {
        anyhow::bail!("give a scenario and -o DIR (or --list)");
    };
    let text = match floodtrace_sim::builtin::find(&which) {
        Some(t) => t.to_string(),
        None => std::fs::read_to_string(&which).with_context(|| {
            format!("{which}: not a built-in scenario (see --list) and not a readable file")
        })?,
    };
    let sc = Scenario::from_toml(&text).with_context(|| which.clone())?;
    let geo_path = crate::geo_path::locate(args.geo.as_deref())?;
    let geo = GeoDb::open(&geo_path).with_context(|| geo_path.display().to_string())?;
    let seed = args.seed.unwrap_or(sc.seed);
    let bar = (!args.no_progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(sc.duration_seconds as u64);
        if let Ok(s) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} simulated s, eta {eta}",
        ) {
            b.set_style(s.progress_chars("=> "));
        }
        b.set_message(sc.name.clone());
        b
    });
    let progress = |done: u32, _total: u32| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    };
    let started = Instant::now();
    let summary = simulate(
        &sc,
        &SimOptions {
            seed,
            geo: &geo,
            out_dir: &out,
            progress: &progress,
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    let t = &summary.truth;
    eprintln!(
        "floodtrace: simulated {} (seed {seed}): {} packets ({} attack, {} scan, {} benign) in {:.2} s, {:.2} M packets/s",
        sc.name,
        t.totals.packets,
        t.totals.attack_packets,
        t.totals.scan_packets,
        t.totals.background_packets,
        secs,
        t.totals.packets as f64 / secs.max(1e-9) / 1e6
    );
    println!("{}", out.display());
    Ok(exit::OK)
}

/// Run `eval`.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<u8> {
    let truth: Truth = serde_json::from_str(
        &std::fs::read_to_string(&args.truth).with_context(|| args.truth.display().to_string())?,
    )
    .with_context(|| format!("{}: not a truth.json", args.truth.display()))?;
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&args.report)
            .with_context(|| args.report.display().to_string())?,
    )
    .with_context(|| {
        format!(
            "{}: not a JSON report (use analyze --format json)",
            args.report.display()
        )
    })?;
    let score = floodtrace_sim::eval::score(&truth, &report);
    match args.format {
        Format::Text => print!("{}", floodtrace_sim::eval::render_text(&truth, &score)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&score)?),
    }
    let mut failed = Vec::new();
    if score.total_error > args.max_total_error {
        failed.push(format!(
            "packet total error {:.4} % > {:.4} %",
            score.total_error * 100.0,
            args.max_total_error * 100.0
        ));
    }
    let needs_detection = args.min_recall.is_some()
        || args.max_spurious.is_some()
        || args.max_timing_error.is_some()
        || args.min_vector_accuracy.is_some()
        || args.min_fingerprint_precision.is_some()
        || args.min_fingerprint_recall.is_some()
        || args.max_country_error.is_some();
    match (&score.detection, needs_detection) {
        (None, true) => failed.push("the report has no incidents to score detection on".into()),
        (Some(d), _) => {
            if let Some(r) = args.min_recall {
                if d.recall < r {
                    failed.push(format!("recall {:.3} < {r}", d.recall));
                }
            }
            if let Some(m) = args.max_spurious {
                if d.spurious.len() as u64 > m {
                    failed.push(format!("{} spurious incidents > {m}", d.spurious.len()));
                }
            }
            if let Some(t) = args.max_timing_error {
                let worst = d
                    .detected
                    .iter()
                    .map(|m| m.start_error_s.abs().max(m.end_error_s.abs()))
                    .fold(0.0, f64::max);
                if worst > t {
                    failed.push(format!("timing error {worst:.1} s > {t} s"));
                }
            }
            if let Some(min) = args.min_vector_accuracy {
                // No detected wave: nothing to be wrong about (recall catches misses).
                if !d.detected.is_empty() && d.vector_accuracy < min {
                    failed.push(format!("vector accuracy {:.3} < {min}", d.vector_accuracy));
                }
            }
            // Precision is undefined when nothing was fingerprinted, recall when no wave is
            // Mirai's: neither can then be below a threshold.
            if let (Some(min), Some(p)) = (args.min_fingerprint_precision, d.fingerprint_precision)
            {
                if p < min {
                    failed.push(format!("fingerprint precision {p:.3} < {min}"));
                }
            }
            if let (Some(min), Some(r)) = (args.min_fingerprint_recall, d.fingerprint_recall) {
                if r < min {
                    failed.push(format!("fingerprint recall {r:.3} < {min}"));
                }
            }
            if let Some(max) = args.max_country_error {
                if let Some(e) = d.max_country_error_pp.filter(|&e| e > max) {
                    failed.push(format!("country share error {e:.2} pp > {max} pp"));
                }
                if !d.country_unscored.is_empty() {
                    failed.push(format!(
                        "no country shares reported for {}",
                        d.country_unscored.join(", ")
                    ));
                }
            }
        }
        _ => {}
    }
    for f in &failed {
        eprintln!("floodtrace: eval: below threshold: {f}");
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::BELOW_THRESHOLD
    })
}
