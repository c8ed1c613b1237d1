//! Country (and, where the records carry it, ASN) data from a MaxMind DB file, compiled at
//! load time into range tables.
//!
//! Record layouts understood (detected per record):
//!
//! * ip-location-db (`@ip-location-db/geo-whois-asn-country-mmdb`): `{"country_code": "US"}`;
//! * IPinfo (`ipinfo_ip_country_asn_sample.mmdb`): `{"country": "SG", "asn": "AS32787",
//!   "as_name": "Akamai Technologies, Inc.", …}`; IPinfo Lite's `country_code` wins over its
//!   `country` name;
//! * GeoIP2 `{"country": {"iso_code": "US"}}` and GeoLite2-ASN
//!   `autonomous_system_number` / `autonomous_system_organization`.
//!
//! The whole IPv4 tree (and, for IPv6 databases, global unicast `2000::/3`) is walked once;
//! lookups afterwards never touch the database.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{MaxMindDBError, Reader};

use crate::asn::{AsnBuilder, AsnTable, Source};
use crate::record::Record;
use crate::table::{V4Table, V6Table};
use crate::{GeoError, Provenance};

/// First bytes of a compiled country table ([`CountryDb::write_cache`]).
const CACHE_MAGIC: &[u8; 8] = b"FTCC\x01\0\0\0";

/// Country data (and ASN data when the records carry it) from one `.mmdb` file.
#[derive(Debug, Clone)]
pub struct CountryDb {
    path: PathBuf,
    database_type: String,
    build_epoch: u64,
    v4: V4Table<u16>,
    v6: V6Table<u16>,
    networks: u64,
    asn: Option<AsnTable>,
}

fn invalid(path: &Path, e: MaxMindDBError) -> GeoError {
    GeoError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

struct Walk {
    v4: Vec<(u32, u32, u16)>,
    v6: Vec<(u128, u128, u16)>,
    asn: AsnBuilder,
    networks: u64,
}

fn walk(reader: &Reader<Vec<u8>>, path: &Path, cidr: &str, w: &mut Walk) -> Result<(), GeoError> {
    let net: ipnetwork::IpNetwork = cidr.parse().expect("valid CIDR");
    let iter = reader
        .within::<Record<'_>>(net)
        .map_err(|e| invalid(path, e))?;
    for item in iter {
        let item = item.map_err(|e| invalid(path, e))?;
        w.networks += 1;
        let rec = &item.info;
        let country = rec.country().map_or(0, |(c, _)| u16::from_be_bytes(c));
        let asn = rec.asn();
        match item.ip_net {
            ipnetwork::IpNetwork::V4(n) => {
                let (s, e) = (u32::from(n.network()), u32::from(n.broadcast()));
                if country != 0 {
                    w.v4.push((s, e, country));
                }
                if let Some((a, name)) = asn {
                    let _ = w.asn.add(n.network().into(), n.broadcast().into(), a, name);
                }
            }
            ipnetwork::IpNetwork::V6(n) => {
                let o = n.network().octets();
                let start = u128::from(n.network());
                let host_bits = 128 - u32::from(n.prefix());
                let end = if host_bits >= 128 {
                    u128::MAX
                } else {
                    start | ((1u128 << host_bits) - 1)
                };
                if o[..10] == [0; 10] && o[10..12] == [0xff, 0xff] && n.prefix() >= 96 {
                    // IPv4-mapped ::ffff:a.b.c.d/(96 + p): an IPv4 network.
                    let (s, e) = (start as u32, end as u32);
                    if country != 0 {
                        w.v4.push((s, e, country));
                    }
                    if let Some((a, name)) = asn {
                        let _ = w
                            .asn
                            .add(IpAddr::V4(s.into()), IpAddr::V4(e.into()), a, name);
                    }
                } else {
                    if country != 0 {
                        w.v6.push((start, end, country));
                    }
                    if let Some((a, name)) = asn {
                        let _ =
                            w.asn
                                .add(IpAddr::V6(start.into()), IpAddr::V6(end.into()), a, name);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `(range start, country)` rows of one cached table: each a `key_len`-byte start and a
/// 2-byte value. `None` unless the starts partition the address space (0 first, strictly
/// increasing), so a damaged cache is walked again rather than trusted.
fn cached_ranges<K: Copy + Ord + Default>(
    raw: &[u8],
    key_len: usize,
    key: impl Fn(&[u8]) -> Option<K>,
) -> Option<(Vec<K>, Vec<u16>)> {
    let rows = raw.chunks_exact(key_len + 2);
    let (mut starts, mut values) = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for r in rows {
        starts.push(key(&r[..key_len])?);
        values.push(u16::from_le_bytes(r[key_len..].try_into().ok()?));
    }
    let partition = starts.first() == Some(&K::default()) && starts.windows(2).all(|w| w[0] < w[1]);
    partition.then_some((starts, values))
}

impl CountryDb {
    /// Read every IPv4 network (and IPv6 global unicast network) of the `.mmdb` at `path`.
    ///
    /// # Errors
    /// The file cannot be read, is not a MaxMind DB, or holds no country codes.
    pub fn open(path: &Path) -> Result<CountryDb, GeoError> {
        let buf = std::fs::read(path).map_err(|source| GeoError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file_len = buf.len() as u64;
        let reader = Reader::from_source(buf).map_err(|e| invalid(path, e))?;
        if let Some(db) = Self::from_cache(path, file_len, &reader.metadata) {
            return Ok(db);
        }
        let m = &reader.metadata;
        // The reader does not bounds-check the search tree itself.
        let tree = u64::from(m.node_count) * u64::from(m.record_size) / 4 + 16;
        if !matches!(m.record_size, 24 | 28 | 32) || tree > file_len {
            return Err(GeoError::Invalid {
                path: path.to_owned(),
                message: "search tree does not fit in the file".into(),
            });
        }
        let mut w = Walk {
            v4: Vec::new(),
            v6: Vec::new(),
            asn: AsnBuilder::new(),
            networks: 0,
        };
        let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            walk(&reader, path, "0.0.0.0/0", &mut w)?;
            if w.networks == 0 && reader.metadata.ip_version == 6 {
                walk(&reader, path, "::ffff:0:0/96", &mut w)?;
            }
            if reader.metadata.ip_version == 6 {
                walk(&reader, path, "2000::/3", &mut w)?;
            }
            Ok(())
        }));
        match walked {
            Ok(r) => r?,
            Err(_) => {
                return Err(GeoError::Invalid {
                    path: path.to_owned(),
                    message: "corrupt search tree or data section".into(),
                })
            }
        }
        if w.v4.is_empty() && w.v6.is_empty() {
            return Err(GeoError::NoCountry {
                path: path.to_owned(),
            });
        }
        w.v4.sort_unstable_by_key(|r| (r.0, r.1));
        w.v6.sort_unstable_by_key(|r| (r.0, r.1));
        let m = &reader.metadata;
        let asn = (w.asn.rows() > 0).then(|| {
            w.asn.build(Source {
                name: m.database_type.clone(),
                version: String::new(),
                licence: String::new(),
                sha256: String::new(),
            })
        });
        Ok(CountryDb {
            path: path.to_owned(),
            database_type: m.database_type.clone(),
            build_epoch: m.build_epoch,
            v4: V4Table::from_ranges(w.v4, 0),
            v6: V6Table::from_ranges(w.v6, 0),
            networks: w.networks,
            asn,
        })
    }

    /// The compiled table kept beside `mmdb` ([`Self::write_cache`]).
    pub fn cache_path(mmdb: &Path) -> PathBuf {
        mmdb.with_extension("ftcc")
    }

    /// Write the walked tables to [`Self::cache_path`] of the database they came from, so
    /// that later loads skip the walk (about 50 ms for the ip-location-db database, most
    /// of a small analysis). Only for databases without ASN fields.
    ///
    /// # Errors
    /// The database carries ASN fields (not cached), or the file cannot be written.
    pub fn write_cache(&self) -> std::io::Result<PathBuf> {
        if self.asn.is_some() {
            return Err(std::io::Error::other(
                "databases with ASN fields are not cached",
            ));
        }
        let file_len = std::fs::metadata(&self.path)?.len();
        let mut b = Vec::new();
        b.extend_from_slice(CACHE_MAGIC);
        b.extend_from_slice(&file_len.to_le_bytes());
        b.extend_from_slice(&self.build_epoch.to_le_bytes());
        b.extend_from_slice(&self.networks.to_le_bytes());
        let dtype = self.database_type.as_bytes();
        b.extend_from_slice(&(dtype.len() as u32).to_le_bytes());
        b.extend_from_slice(dtype);
        b.extend_from_slice(&(self.v4.len() as u32).to_le_bytes());
        for (s, v) in self.v4.ranges() {
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&(self.v6.len() as u32).to_le_bytes());
        for (s, v) in self.v6.ranges() {
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(&v.to_le_bytes());
        }
        let out = Self::cache_path(&self.path);
        let tmp = out.with_extension("ftcc.tmp");
        std::fs::write(&tmp, &b)?;
        std::fs::rename(&tmp, &out)?;
        Ok(out)
    }

    /// The cached tables of `mmdb`, when a cache exists and was made from a file of this
    /// length, build time and type; anything else (no cache, a stale or damaged one) is
    /// `None` and the database is walked.
    fn from_cache(mmdb: &Path, file_len: u64, meta: &maxminddb::Metadata) -> Option<CountryDb> {
        let b = std::fs::read(Self::cache_path(mmdb)).ok()?;
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = b.get(at..at.checked_add(n)?)?;
            at += n;
            Some(s)
        };
        if take(8)? != CACHE_MAGIC {
            return None;
        }
        let u64_at = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
        let len = u64_at(take(8)?);
        let epoch = u64_at(take(8)?);
        let networks = u64_at(take(8)?);
        let dlen = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let dtype = std::str::from_utf8(take(dlen)?).ok()?.to_owned();
        if len != file_len || epoch != meta.build_epoch || dtype != meta.database_type {
            return None;
        }
        let n4 = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let (s4, v4) = cached_ranges(take(n4.checked_mul(6)?)?, 4, |k| {
            Some(u32::from_le_bytes(k.try_into().ok()?))
        })?;
        let n6 = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let (s6, v6) = cached_ranges(take(n6.checked_mul(18)?)?, 16, |k| {
            Some(u128::from_le_bytes(k.try_into().ok()?))
        })?;
        if at != b.len() {
            return None;
        }
        Some(CountryDb {
            path: mmdb.to_owned(),
            database_type: dtype,
            build_epoch: epoch,
            v4: V4Table::from_parts(s4, v4),
            v6: V6Table::from_parts(s6, v6),
            networks,
            asn: None,
        })
    }

    /// Country code of `ip`.
    #[inline]
    pub fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        let c = match ip {
            IpAddr::V4(v4) => self.v4.get(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.v4.get(v4.into()),
                None => self.v6.get(v6.into()),
            },
        };
        (c != 0).then(|| c.to_be_bytes())
    }

    /// Country code of an IPv4 address given as a number (the hot path).
    #[inline]
    pub fn country_v4(&self, ip: u32) -> Option<[u8; 2]> {
        let c = self.v4.get(ip);
        (c != 0).then(|| c.to_be_bytes())
    }

    /// ASN data carried by the records (IPinfo, GeoLite2-ASN layouts), if any.
    pub fn asn_table(&self) -> Option<&AsnTable> {
        self.asn.as_ref()
    }

    /// Networks read from the database.
    pub fn network_count(&self) -> u64 {
        self.networks
    }

    /// IPv4 and IPv6 ranges in the compiled tables.
    pub fn range_counts(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.v4.memory_bytes()
            + self.v6.memory_bytes()
            + self.asn.as_ref().map_or(0, AsnTable::memory_bytes)
    }

    /// Provenance: the database type and build date; version and licence from a
    /// `VERSION` stamp written by `scripts/fetch-geo` beside the file, or from the type.
    pub fn provenance(&self) -> Provenance {
        let (y, mo, d) = date_of(self.build_epoch);
        let stamp = self
            .path
            .parent()
            .map(|d| d.join("VERSION"))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| s.lines().next().map(str::to_owned));
        let lower = self.database_type.to_ascii_lowercase();
        let (name, version, licence) = match stamp {
            Some(line) if lower.contains("country") || line.contains("country") => {
                // `@scope/name@version sha256:…`
                let spec = line.split_whitespace().next().unwrap_or("");
                let (pkg, version) = spec.rsplit_once('@').unwrap_or((spec, ""));
                (pkg.to_owned(), version.to_owned(), "CC0-1.0".to_owned())
            }
            _ if lower.contains("ipinfo") => (
                self.database_type.clone(),
                format!("built {y:04}-{mo:02}-{d:02}"),
                "IPinfo sample data (see ipinfo.io terms; attribution required)".to_owned(),
            ),
            _ => (
                self.database_type.clone(),
                format!("built {y:04}-{mo:02}-{d:02}"),
                "unknown (check the database's own terms)".to_owned(),
            ),
        };
        let (n4, n6) = self.range_counts();
        Provenance {
            kind: "country",
            name,
            version,
            licence,
            file: self.path.display().to_string(),
            detail: format!(
                "{} networks read, {n4} IPv4 and {n6} IPv6 ranges, built {y:04}-{mo:02}-{d:02}{}",
                self.networks,
                if self.asn.is_some() {
                    ", with ASN fields"
                } else {
                    ""
                }
            ),
        }
    }
}

/// `(year, month, day)` of a unix time (Howard Hinnant's `civil_from_days`).
fn date_of(unix: u64) -> (i64, u32, u32) {
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of(0), (1970, 1, 1));
        assert_eq!(date_of(1_700_000_000), (2023, 11, 14));
    }

    #[test]
    fn codes() {
        use crate::record::two_letter;
        assert_eq!(two_letter("us"), Some(*b"US"));
        assert_eq!(two_letter("USA"), None);
        assert_eq!(two_letter("U1"), None);
    }

    /// The shared sample has ASN fields, so a cache is refused; a database without them
    /// round-trips through the cache to the same lookups.
    #[test]
    fn cache_round_trip() {
        let dir = std::env::temp_dir().join(format!("ftcc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/geo/ipinfo_ip_country_asn_sample.mmdb");
        assert!(
            sample.is_file(),
            "../shared/data is missing: {}",
            sample.display()
        );
        let copy = dir.join("sample.mmdb");
        std::fs::copy(&sample, &copy).unwrap();
        let mut db = CountryDb::open(&copy).unwrap();
        assert!(
            db.write_cache().is_err(),
            "ASN-carrying databases are not cached"
        );
        // Without its ASN part the same tables can be cached.
        db.asn = None;
        let cache = db.write_cache().unwrap();
        let again = CountryDb::open(&copy).unwrap();
        assert_eq!(again.v4, db.v4);
        assert_eq!(again.v6, db.v6);
        assert!(again.asn.is_none(), "loaded from the cache");
        // A damaged cache is ignored.
        let mut bytes = std::fs::read(&cache).unwrap();
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&cache, &bytes).unwrap();
        let walked = CountryDb::open(&copy).unwrap();
        assert!(walked.asn.is_some(), "walked again");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
