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
}
