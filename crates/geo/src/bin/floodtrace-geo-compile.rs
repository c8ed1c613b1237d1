//! `floodtrace-geo-compile`: compile ip-location-db ASN CSV files into the binary table
//! `floodtrace-geo` loads (see `floodtrace_geo::asn`). Run by `scripts/fetch-geo`.
//!
//! ```text
//! floodtrace-geo-compile -o data/geo/asn.ftasn \
//!     --name @ip-location-db/asn --version 2.3.2026061719 \
//!     --licence "CC-BY-4.0 (RouteViews, DB-IP)" --sha256 HEX \
//!     asn-ipv4.csv asn-ipv6.csv
//! floodtrace-geo-compile --country-cache data/geo/geo-whois-asn-country-ipv4.mmdb
//! ```
//!
//! The second form walks a country database once and writes its tables beside it
//! (`.ftcc`, see `CountryDb::write_cache`), so that loading it skips the walk.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use floodtrace_geo::{AsnTable, Source};

const USAGE: &str = "usage: floodtrace-geo-compile -o OUT [--name N] [--version V] [--licence L] [--sha256 H] CSV...\n       floodtrace-geo-compile --country-cache MMDB...";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floodtrace-geo-compile: {e}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--country-cache") {
        if argv.len() < 2 {
            return Err(format!("--country-cache needs .mmdb files\n{USAGE}"));
        }
        for mmdb in &argv[1..] {
            let t0 = Instant::now();
            let db = floodtrace_geo::CountryDb::open(Path::new(mmdb)).map_err(|e| e.to_string())?;
            let out = db.write_cache().map_err(|e| format!("{mmdb}: {e}"))?;
            eprintln!(
                "floodtrace-geo-compile: {} ({:.2} s)",
                out.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        return Ok(());
    }
    let mut out: Option<PathBuf> = None;
    let mut source = Source::default();
    let mut csvs: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "-o" | "--output" => out = Some(PathBuf::from(value("-o")?)),
            "--name" => source.name = value("--name")?,
            "--version" => source.version = value("--version")?,
            "--licence" | "--license" => source.licence = value("--licence")?,
            "--sha256" => source.sha256 = value("--sha256")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            s => csvs.push(PathBuf::from(s)),
        }
    }
    let out = out.ok_or(format!("-o OUT is required\n{USAGE}"))?;
    if csvs.is_empty() {
        return Err(format!("no CSV files given\n{USAGE}"));
    }
    let t0 = Instant::now();
    let refs: Vec<&Path> = csvs.iter().map(PathBuf::as_path).collect();
    let table = AsnTable::compile(&refs, source).map_err(|e| e.to_string())?;
    table.write(&out).map_err(|e| e.to_string())?;
    let (n4, n6, na) = table.counts();
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "floodtrace-geo-compile: {} -> {} ({n4} IPv4 + {n6} IPv6 ranges, {na} AS entries, {:.1} MB, {:.2} s)",
        csvs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
        out.display(),
        size as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
