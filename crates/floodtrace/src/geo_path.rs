//! Where the geo database is: `--geo`, `$FLOODTRACE_GEO`, `./data/geo`, or the `data/geo`
//! of the source tree the binary was built from (where `scripts/fetch-geo` puts it).

use std::path::{Path, PathBuf};

/// File names tried inside a geo directory, best first.
const CANDIDATES: [&str; 2] = [
    "geo-whois-asn-country-ipv4.mmdb",
    "geo-whois-asn-country.mmdb",
];

fn in_dir(dir: &Path) -> Option<PathBuf> {
    CANDIDATES.iter().map(|f| dir.join(f)).find(|p| p.is_file())
}

/// Find the geo database, or explain what to run.
///
/// # Errors
/// Nothing found: the message names the places searched and the fix.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_dir() {
            return in_dir(p)
                .ok_or_else(|| anyhow::anyhow!("{}: no geo database in this folder", p.display()));
        }
        return Ok(p.to_path_buf());
    }
    let mut searched = Vec::new();
    if let Some(env) = std::env::var_os("FLOODTRACE_GEO") {
        let p = PathBuf::from(env);
        if p.is_file() {
            return Ok(p);
        }
        if let Some(f) = in_dir(&p) {
            return Ok(f);
        }
        searched.push(format!("$FLOODTRACE_GEO ({})", p.display()));
    }
    let local = PathBuf::from("data/geo");
    if let Some(f) = in_dir(&local) {
        return Ok(f);
    }
    searched.push("./data/geo".into());
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/geo");
    if let Some(f) = in_dir(&built) {
        return Ok(f);
    }
    searched.push(built.display().to_string());
    anyhow::bail!(
        "no geo database found (searched {}); run scripts/fetch-geo to download the pinned \
         ip-location-db data, or pass --geo FILE (for tests: --geo ../shared/data/geo/ipinfo_ip_country_asn_sample.mmdb)",
        searched.join(", ")
    )
}
