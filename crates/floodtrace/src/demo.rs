//! `floodtrace demo`: the whole pipeline in one command. Simulates the `x-outage` scenario,
//! analyses its capture with its outage reports, access log and four claims — through
//! exactly the command line `floodtrace analyze` takes — and writes `report.json` and the
//! self-contained `report.html` next to the simulated evidence.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use clap::Parser;
use floodtrace_report::view::{headlines, View};
use floodtrace_sim::generate::{simulate, SimOptions};
use floodtrace_sim::geo::GeoDb;
use floodtrace_sim::scenario::Scenario;

use crate::cli::{Cli, Command as Sub};

/// Long help of `floodtrace demo`.
pub const DEMO_HELP: &str = "\
Examples:
  floodtrace demo                       # into ./floodtrace-demo
  floodtrace demo -o /tmp/demo --open   # and open the report in a browser

Writes DIR/capture.pcap, flow exports, DIR/outage-reports.csv, DIR/access.log and
DIR/truth.json (floodtrace simulate x-outage), then DIR/report.json and DIR/report.html
(floodtrace analyze with --reports, --logs and the claims origin=UA, botnet=mirai,
spoofed=no, cause=attack). The geo database is searched as for simulate; when it is
missing and the source tree's scripts/fetch-geo and npm are at hand, it is fetched.";

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Output folder (created if missing)
    #[arg(
        long,
        short = 'o',
        value_name = "DIR",
        default_value = "floodtrace-demo"
    )]
    pub output: PathBuf,

    /// Open the HTML report in the default browser when done
    #[arg(long)]
    pub open: bool,

    /// Geo database (MaxMind DB with country codes), or a folder with scripts/fetch-geo's files
    #[arg(long, value_name = "PATH")]
    pub geo: Option<PathBuf>,
}

/// The scenario the demo simulates.
pub const SCENARIO: &str = "x-outage";

/// The claims the demo checks.
///
/// CLAIMS ARE PASSED HERE, AND ONLY HERE: each becomes `--claim C` on the `analyze` command
/// line built in [`analyze_argv`], so the demo checks them exactly as a user would.
pub const CLAIMS: [&str; 4] = ["origin=UA", "botnet=mirai", "spoofed=no", "cause=attack"];

/// Find the geo database, or fetch it with the source tree's `scripts/fetch-geo`.
fn geo_database(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let first = match crate::geo_path::locate(explicit) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    if explicit.is_some() {
        return Err(first);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-geo");
    let have_npm = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !script.is_file() || !have_npm {
        anyhow::bail!(
            "{first:#}\nfloodtrace demo needs the geo database: run scripts/fetch-geo in the \
             source tree (needs npm), then floodtrace demo again; or pass --geo FILE"
        );
    }
    eprintln!(
        "floodtrace: demo: no geo database yet; fetching the pinned one with {}",
        script.display()
    );
    let status = Command::new(&script)
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        anyhow::bail!(
            "{} failed ({status}); run it by hand to see why, or pass --geo FILE",
            script.display()
        );
    }
    crate::geo_path::locate(None)
}

/// The `floodtrace analyze` command line of the demo.
fn analyze_argv(dir: &Path, geo: &Path) -> Vec<String> {
    let p = |name: &str| dir.join(name).display().to_string();
    let mut argv: Vec<String> = [
        "floodtrace",
        "analyze",
        "--no-progress",
        "--format",
        "json",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.push(p("report.json"));
    argv.extend([
        "--reports".into(),
        p(floodtrace_sim::generate::file_names::OUTAGE_REPORTS),
    ]);
    argv.extend([
        "--logs".into(),
        p(floodtrace_sim::generate::file_names::ACCESS_LOG),
    ]);
    argv.extend(["--geo".into(), geo.display().to_string()]);
    for c in CLAIMS {
        argv.extend(["--claim".into(), c.to_string()]);
    }
    argv.push(p(floodtrace_sim::generate::file_names::CAPTURE));
    argv
}

/// Run `demo`.
pub fn run_demo(args: DemoArgs) -> anyhow::Result<u8> {
    let dir = args.output;
    let geo_path = geo_database(args.geo.as_deref())?;
    let text = floodtrace_sim::builtin::find(SCENARIO).expect("x-outage is built in");
    let sc = Scenario::from_toml(text).context("built-in scenario x-outage")?;
    let geo = GeoDb::open(&geo_path).with_context(|| geo_path.display().to_string())?;
    eprintln!(
        "floodtrace: demo: simulating {SCENARIO} ({} simulated minutes) into {}",
        sc.duration_seconds / 60,
        dir.display()
    );
    let summary = simulate(
        &sc,
        &SimOptions {
            seed: sc.seed,
            geo: &geo,
            out_dir: &dir,
            progress: &|_, _| {},
        },
    )?;
    eprintln!(
        "floodtrace: demo: {} packets, {} outage reports; analysing",
        summary.truth.totals.packets,
        summary.truth.outage.as_ref().map_or(0, |o| o.reports)
    );
    let argv = analyze_argv(&dir, &geo_path);
    let cli = Cli::try_parse_from(&argv)
        .with_context(|| format!("demo: cannot build the analyze command line {argv:?}"))?;
    let Sub::Analyze(analyze) = cli.command else {
        unreachable!("the demo's command line is an analyze command")
    };
    let code = crate::run_analyze(analyze)?;
    let json_path = dir.join("report.json");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&json_path)
            .with_context(|| format!("cannot read {}", json_path.display()))?,
    )
    .with_context(|| format!("{}: not JSON", json_path.display()))?;
    let html_path = dir.join("report.html");
    std::fs::write(&html_path, floodtrace_report::html::render_value(&json))
        .with_context(|| format!("cannot write {}", html_path.display()))?;

    let view = View::from_value(&json);
    println!("report  {}", html_path.display());
    println!("json    {}", json_path.display());
    println!("verdicts");
    let width = headlines(&view)
        .iter()
        .map(|h| h.label.chars().count())
        .max()
        .unwrap_or(0);
    for h in headlines(&view) {
        println!("  {:<width$}  {}", h.label, h.value);
    }
    for c in &view.claims {
        println!("  {}: {}", c.claim, c.explanation);
    }
    if args.open {
        open(&html_path);
    }
    Ok(code)
}

/// Open `path` in the desktop's browser; a failure is a note, not an error.
fn open(path: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match Command::new(opener).arg(path).spawn() {
        Ok(_) => eprintln!("floodtrace: demo: opening {} with {opener}", path.display()),
        Err(e) => eprintln!(
            "floodtrace: demo: cannot start {opener} ({e}); open {} in a browser",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_command_line_is_a_valid_analyze() {
        let argv = analyze_argv(Path::new("/tmp/d"), Path::new("/tmp/g.mmdb"));
        let cli = Cli::try_parse_from(&argv).expect("parses");
        let Sub::Analyze(a) = cli.command else {
            panic!("not analyze")
        };
        assert_eq!(a.claims.len(), CLAIMS.len());
        assert!(a.reports.is_some() && a.logs.is_some());
        assert_eq!(a.inputs, vec!["/tmp/d/capture.pcap".to_string()]);
    }
}
