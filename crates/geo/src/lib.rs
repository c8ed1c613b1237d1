//! # floodtrace-geo
//!
//! Where source addresses are registered: country and autonomous system, for
//! [`floodtrace_engine::attribute::GeoLookup`].
//!
//! - [`CountryDb`]: a MaxMind DB (`.mmdb`) country database — the pinned ip-location-db
//!   `geo-whois-asn-country` file, or the IPinfo sample used by tests — walked once at load
//!   and compiled into range tables with a /16 first-level index, so lookups never touch the
//!   database (≥ 5 M lookups/s per core, see `benches/lookup.rs`).
//! - [`AsnTable`]: the ip-location-db ASN CSV (`@ip-location-db/asn`, CC-BY-4.0) compiled by
//!   `floodtrace-geo-compile` (run by `scripts/fetch-geo`) into a compact binary file
//!   (ranges plus deduplicated organisation names) that loads in milliseconds.
//! - [`Geo`]: both together, implementing `GeoLookup`, with [`Geo::provenance`] naming the
//!   data, its version and its licence for reports.
//!
//! ```no_run
//! use floodtrace_engine::attribute::GeoLookup;
//! let geo = floodtrace_geo::Geo::open_dir(std::path::Path::new("data/geo")).unwrap();
//! let ip = "8.8.8.8".parse().unwrap();
//! println!("{:?} {:?}", geo.country(ip), geo.asn(ip));
//! for p in geo.provenance() {
//!     println!("{}: {} {} ({})", p.kind, p.name, p.version, p.licence);
//! }
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use floodtrace_engine::attribute::GeoLookup;

pub mod asn;
pub mod country;
pub mod fuzzing;
pub mod record;
pub mod table;

pub use asn::{AsnTable, Source};
pub use country::CountryDb;

/// Country database file names tried in a geo directory, best first (as `scripts/fetch-geo`
/// writes them).
pub const COUNTRY_FILES: [&str; 2] = [
    "geo-whois-asn-country-ipv4.mmdb",
    "geo-whois-asn-country.mmdb",
];

/// The compiled ASN table's file name in a geo directory.
pub const ASN_FILE: &str = "asn.ftasn";

/// Why geo data could not be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid for its kind.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A MaxMind DB without any two-letter country code.
    #[error("{}: no record carries a country code (looked for country_code, country, country.iso_code)", path.display())]
    NoCountry {
        /// The file.
        path: PathBuf,
    },
    /// A malformed CSV row.
    #[error("{file}:{line}: {reason}")]
    Csv {
        /// The CSV file.
        file: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Nothing found in a geo directory.
    #[error("{}: no geo data (expected one of {} and/or {ASN_FILE}; run scripts/fetch-geo)", dir.display(), COUNTRY_FILES.join(", "))]
    NothingFound {
        /// The directory searched.
        dir: PathBuf,
    },
}

/// Where one data set came from, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `"country"` or `"asn"`.
    pub kind: &'static str,
    /// Data set name (npm package or database type).
    pub name: String,
    /// Version (package version, or build date).
    pub version: String,
    /// Licence, with the attribution it requires.
    pub licence: String,
    /// File read.
    pub file: String,
    /// Counts and checksums.
    pub detail: String,
}

/// Country and ASN data together.
#[derive(Debug, Clone, Default)]
pub struct Geo {
    country: Option<CountryDb>,
    asn: Option<(AsnTable, PathBuf)>,
}

impl Geo {
    /// Load a country `.mmdb` and/or a compiled ASN table. ASN lookups use the compiled
    /// table when given, else ASN fields of the country database's records (IPinfo).
    ///
    /// # Errors
    /// Either file cannot be read or is invalid.
    pub fn open(country: Option<&Path>, asn: Option<&Path>) -> Result<Geo, GeoError> {
        Ok(Geo {
            country: country.map(CountryDb::open).transpose()?,
            asn: asn
                .map(|p| AsnTable::open(p).map(|t| (t, p.to_path_buf())))
                .transpose()?,
        })
    }

    /// Load what `scripts/fetch-geo` put in `dir`: the first of [`COUNTRY_FILES`] present,
    /// and [`ASN_FILE`] when present.
    ///
    /// # Errors
    /// Neither is present, or one is invalid.
    pub fn open_dir(dir: &Path) -> Result<Geo, GeoError> {
        let country = COUNTRY_FILES
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file());
        let asn = Some(dir.join(ASN_FILE)).filter(|p| p.is_file());
        if country.is_none() && asn.is_none() {
            return Err(GeoError::NothingFound {
                dir: dir.to_path_buf(),
            });
        }
        Geo::open(country.as_deref(), asn.as_deref())
    }

    /// The country database, if loaded.
    pub fn country_db(&self) -> Option<&CountryDb> {
        self.country.as_ref()
    }

    /// The ASN table in use: the compiled one, else the country database's.
    pub fn asn_table(&self) -> Option<&AsnTable> {
        self.asn
            .as_ref()
            .map(|a| &a.0)
            .or_else(|| self.country.as_ref().and_then(CountryDb::asn_table))
    }

    /// Data name, version and licence of everything loaded.
    pub fn provenance(&self) -> Vec<Provenance> {
        let mut out = Vec::new();
        if let Some(c) = &self.country {
            out.push(c.provenance());
        }
        if let Some((t, p)) = &self.asn {
            out.push(t.provenance(p));
        }
        out
    }

    /// Heap bytes held by the tables.
    pub fn memory_bytes(&self) -> usize {
        self.country.as_ref().map_or(0, CountryDb::memory_bytes)
            + self.asn.as_ref().map_or(0, |a| a.0.memory_bytes())
    }
}

impl GeoLookup for Geo {
    #[inline]
    fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        self.country.as_ref()?.country(ip)
    }

    #[inline]
    fn asn(&self, ip: IpAddr) -> Option<(u32, &str)> {
        self.asn_table()?.lookup(ip)
    }
}
