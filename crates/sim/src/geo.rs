//! Source addresses from real address allocations, read from a MaxMind DB (`.mmdb`) file.
//!
//! The simulator draws botnet and reflector sources from the IPv4 space a geo database assigns
//! to the requested countries, so that attribution can be checked end to end against the
//! same data floodtrace uses. Two record layouts are understood (the country field is
//! detected per record):
//!
//! * ip-location-db (`@ip-location-db/geo-whois-asn-country-mmdb` and siblings):
//!   `{"country_code": "US"}`, country only.
//! * IPinfo (`ipinfo_ip_country_asn_sample.mmdb`): `{"country": "SG", "country_name": …,
//!   "asn": "AS32787", "as_name": "Akamai Technologies, Inc.", "as_domain": …, …}`; IPinfo Lite
//!   files carry `country_code` next to a `country` *name*, and `country_code` wins.
//!
//! GeoIP2-style `{"country": {"iso_code": "US"}}` and GeoLite2-ASN
//! `autonomous_system_number` / `autonomous_system_organization` are read too.
//!
//! [`GeoDb::open`] walks every IPv4 network of the database once (the IPv4 subtree of an IPv6
//! database, or `::ffff:0:0/96` when a database only stores IPv4-mapped addresses), keeps a
//! sorted range table for lookups and, per country, the ranges minus special-purpose space
//! (RFC 6890 and friends, see `shared/spec/attack-signatures.md` §4.2) with cumulative sizes,
//! so [`GeoDb::sample`] is one binary search per address.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use floodtrace_geo::record::{two_letter, CountryField, Layout, Record};
use maxminddb::{MaxMindDBError, Reader};

use crate::rng::Rng;

/// Special-purpose IPv4 space never used as a simulated source (inclusive bounds, sorted).
/// From the spec sheet, section 4.2 (RFC 6890, RFC 5771, class E, limited broadcast).
const BOGONS: [(u32, u32); 15] = [
    (0x0000_0000, 0x00ff_ffff), // 0.0.0.0/8
    (0x0a00_0000, 0x0aff_ffff), // 10.0.0.0/8
    (0x6440_0000, 0x647f_ffff), // 100.64.0.0/10
    (0x7f00_0000, 0x7fff_ffff), // 127.0.0.0/8
    (0xa9fe_0000, 0xa9fe_ffff), // 169.254.0.0/16
    (0xac10_0000, 0xac1f_ffff), // 172.16.0.0/12
    (0xc000_0000, 0xc000_00ff), // 192.0.0.0/24
    (0xc000_0200, 0xc000_02ff), // 192.0.2.0/24
    (0xc058_6300, 0xc058_63ff), // 192.88.99.0/24
    (0xc0a8_0000, 0xc0a8_ffff), // 192.168.0.0/16
    (0xc612_0000, 0xc613_ffff), // 198.18.0.0/15
    (0xc633_6400, 0xc633_64ff), // 198.51.100.0/24
    (0xcb00_7100, 0xcb00_71ff), // 203.0.113.0/24
    (0xe000_0000, 0xefff_ffff), // 224.0.0.0/4
    (0xf000_0000, 0xffff_ffff), // 240.0.0.0/4 (includes 255.255.255.255)
];

/// `true` if `ip` lies in special-purpose space (spec sheet §4.2): such an address is never
/// returned by [`GeoDb::sample`].
pub fn is_bogon(ip: Ipv4Addr) -> bool {
    let v = u32::from(ip);
    BOGONS.iter().any(|&(lo, hi)| (lo..=hi).contains(&v))
}

/// Why a geo database could not be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read geo database {}: {source}", path.display())]
    Io {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid MaxMind DB (missing metadata, corrupt search tree or data).
    #[error("{} is not a valid MaxMind DB (.mmdb) file: {message}", path.display())]
    Invalid {
        /// The database file.
        path: PathBuf,
        /// What the reader reported.
        message: String,
    },
    /// A record could not be decoded.
    #[error("geo database {}: cannot decode the record of {network}: {message}", path.display())]
    Record {
        /// The database file.
        path: PathBuf,
        /// The network whose record failed.
        network: String,
        /// What the decoder reported.
        message: String,
    },
    /// The database holds no IPv4 networks at all.
    #[error("geo database {} holds no IPv4 networks (database_type {database_type:?})", path.display())]
    NoIpv4 {
        /// The database file.
        path: PathBuf,
        /// The database's `database_type` metadata.
        database_type: String,
    },
    /// IPv4 networks exist but none carries a recognised two-letter country code.
    #[error(
        "geo database {}: no IPv4 record has a country code (looked for `country_code`, \
         `country` and `country.iso_code`; first record: {first_record})",
        path.display()
    )]
    NoCountryField {
        /// The database file.
        path: PathBuf,
        /// The first IPv4 record, for diagnosis.
        first_record: String,
    },
}

const NO_ASN: u32 = u32::MAX;

/// One contiguous IPv4 range with a single record (inclusive bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    start: u32,
    end: u32,
    country: u16,
    asn: u32,
}

/// A country's sampleable space: range starts and cumulative sizes.
#[derive(Debug, Clone, Default)]
struct CountrySpace {
    starts: Vec<u32>,
    /// `cum[i]` = addresses in ranges `0..=i`.
    cum: Vec<u64>,
    /// One past the end of the last range.
    next: u64,
}

impl CountrySpace {
    /// Appends `start..=end`; ranges arrive in address order, adjacent ones are merged.
    fn push(&mut self, start: u32, end: u32) {
        let size = u64::from(end - start) + 1;
        let total = self.total();
        match self.cum.last_mut() {
            Some(last) if self.next == u64::from(start) => *last += size,
            _ => {
                self.starts.push(start);
                self.cum.push(total + size);
            }
        }
        self.next = u64::from(end) + 1;
    }

    fn total(&self) -> u64 {
        self.cum.last().copied().unwrap_or(0)
    }
}

/// The IPv4 part of a geo database: ranges per country for sampling, and a sorted range table
/// for [`GeoDb::country_of`] and [`GeoDb::asn_of`].
#[derive(Debug, Clone)]
pub struct GeoDb {
    path: PathBuf,
    database_type: String,
    build_epoch: u64,
    ip_version: u16,
    /// IPv4 networks read from the search tree (before merging).
    networks: u64,
    /// Fields that gave country codes.
    layouts: Vec<Layout>,
    /// Country codes, indexed by `Range::country`.
    codes: Vec<String>,
    /// ASNs, indexed by `Range::asn`.
    asns: Vec<(u32, String)>,
    /// All ranges with a country, sorted by start, non-overlapping.
    ranges: Vec<Range>,
    /// Per country index: sampleable space (bogons removed).
    spaces: Vec<CountrySpace>,
    /// Country code → index into `codes` / `spaces`.
    by_code: BTreeMap<String, u16>,
}

struct Builder {
    codes: Vec<String>,
    code_index: HashMap<[u8; 2], u16>,
    asns: Vec<(u32, String)>,
    asn_index: HashMap<(u32, String), u32>,
    ranges: Vec<Range>,
    layouts: Vec<Layout>,
    networks: u64,
    first_record: Option<String>,
    last_asn: Option<u32>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            codes: Vec::new(),
            code_index: HashMap::new(),
            asns: Vec::new(),
            asn_index: HashMap::new(),
            ranges: Vec::new(),
            layouts: Vec::new(),
            networks: 0,
            first_record: None,
            last_asn: None,
        }
    }

    fn add(&mut self, start: u32, end: u32, rec: &Record<'_>) {
        self.networks += 1;
        let Some((code, layout)) = rec.country() else {
            if self.first_record.is_none() {
                self.first_record = Some(describe_record(rec));
            }
            return;
        };
        if !self.layouts.contains(&layout) {
            self.layouts.push(layout);
        }
        let next = self.codes.len() as u16;
        let country = *self.code_index.entry(code).or_insert_with(|| {
            self.codes.push(String::from_utf8_lossy(&code).into_owned());
            next
        });
        let asn = match rec.asn() {
            Some((number, name)) => match self.last_asn {
                // Consecutive networks usually share their AS: skip the map (and allocation).
                Some(i) if self.asns[i as usize].0 == number && self.asns[i as usize].1 == name => {
                    i
                }
                _ => {
                    let key = (number, name.to_owned());
                    let n = self.asns.len() as u32;
                    let i = *self.asn_index.entry(key.clone()).or_insert_with(|| {
                        self.asns.push(key);
                        n
                    });
                    self.last_asn = Some(i);
                    i
                }
            },
            None => NO_ASN,
        };
        if let Some(last) = self.ranges.last_mut() {
            if last.end.checked_add(1) == Some(start) && last.country == country && last.asn == asn
            {
                last.end = end;
                return;
            }
        }
        self.ranges.push(Range {
            start,
            end,
            country,
            asn,
        });
    }
}

fn describe_record(rec: &Record<'_>) -> String {
    let country = match &rec.country {
        Some(CountryField::Code(s)) => format!("{s:?}"),
        Some(CountryField::Map { iso_code }) => format!("{{iso_code: {iso_code:?}}}"),
        None => "none".to_owned(),
    };
    format!(
        "country_code={:?}, country={country}, asn={:?}",
        rec.country_code,
        rec.asn().map(|a| a.0)
    )
}

fn invalid(path: &Path, e: MaxMindDBError) -> GeoError {
    let message = match e {
        MaxMindDBError::InvalidDatabaseError(m)
        | MaxMindDBError::IoError(m)
        | MaxMindDBError::DecodingError(m)
        | MaxMindDBError::MapError(m)
        | MaxMindDBError::AddressNotFoundError(m)
        | MaxMindDBError::InvalidNetworkError(m) => m,
    };
    GeoError::Invalid {
        path: path.to_owned(),
        message,
    }
}

/// Walks `cidr` and feeds every network that maps to IPv4 into `b`.
fn walk(
    reader: &Reader<Vec<u8>>,
    path: &Path,
    cidr: ipnetwork::IpNetwork,
    b: &mut Builder,
) -> Result<(), GeoError> {
    let iter = reader
        .within::<Record<'_>>(cidr)
        .map_err(|e| invalid(path, e))?;
    for item in iter {
        let item = item.map_err(|e| match e {
            MaxMindDBError::DecodingError(m) => GeoError::Record {
                path: path.to_owned(),
                network: "a network".to_owned(),
                message: m,
            },
            e => invalid(path, e),
        })?;
        let (start, end) = match item.ip_net {
            ipnetwork::IpNetwork::V4(n) => (u32::from(n.network()), u32::from(n.broadcast())),
            ipnetwork::IpNetwork::V6(n) => {
                // IPv4-mapped ::ffff:a.b.c.d/(96+p).
                let o = n.network().octets();
                if o[..10] != [0; 10] || o[10..12] != [0xff, 0xff] || n.prefix() < 96 {
                    continue;
                }
                let start = u32::from_be_bytes([o[12], o[13], o[14], o[15]]);
                let host_bits = 128 - u32::from(n.prefix());
                let end = if host_bits >= 32 {
                    u32::MAX
                } else {
                    start | ((1u32 << host_bits) - 1)
                };
                (start, end)
            }
        };
        b.add(start, end, &item.info);
    }
    Ok(())
}

/// `YYYY-MM-DD` of a unix time.
pub(crate) fn date_of(unix: u64) -> (i64, u32, u32) {
    // Howard Hinnant's civil_from_days.
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

impl GeoDb {
    /// Reads every IPv4 network of the `.mmdb` file at `path`.
    ///
    /// Fails with a [`GeoError`] naming the file when it cannot be read, is not a MaxMind DB,
    /// has no IPv4 networks, or none of its records carries a two-letter country code.
    pub fn open(path: &Path) -> Result<GeoDb, GeoError> {
        let buf = std::fs::read(path).map_err(|source| GeoError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file_len = buf.len() as u64;
        let reader = Reader::from_source(buf).map_err(|e| invalid(path, e))?;
        let m = &reader.metadata;
        // The reader indexes the search tree without bounds checks of its own; make sure
        // the tree fits in the file before walking it.
        let tree = u64::from(m.node_count) * u64::from(m.record_size) / 4 + 16;
        if !matches!(m.record_size, 24 | 28 | 32) || tree > file_len {
            return Err(GeoError::Invalid {
                path: path.to_owned(),
                message: format!(
                    "search tree of {} nodes × {} bits does not fit in the file",
                    m.node_count, m.record_size
                ),
            });
        }

        let mut b = Builder::new();
        let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            walk(&reader, path, "0.0.0.0/0".parse().unwrap(), &mut b)?;
            if b.networks == 0 && reader.metadata.ip_version == 6 {
                // No IPv4 subtree at ::/96: try IPv4-mapped addresses.
                walk(&reader, path, "::ffff:0:0/96".parse().unwrap(), &mut b)?;
            }
            Ok(())
        }));
        match walked {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(GeoError::Invalid {
                    path: path.to_owned(),
                    message: "corrupt search tree or data section".to_owned(),
                })
            }
        }
        if b.networks == 0 {
            return Err(GeoError::NoIpv4 {
                path: path.to_owned(),
                database_type: reader.metadata.database_type.clone(),
            });
        }
        if b.ranges.is_empty() {
            return Err(GeoError::NoCountryField {
                path: path.to_owned(),
                first_record: b.first_record.unwrap_or_default(),
            });
        }
        b.ranges.sort_unstable_by_key(|r| r.start);

        let mut spaces = vec![CountrySpace::default(); b.codes.len()];
        for r in &b.ranges {
            let space = &mut spaces[r.country as usize];
            let end = u64::from(r.end);
            let mut lo = u64::from(r.start);
            for &(blo, bhi) in &BOGONS {
                let (blo, bhi) = (u64::from(blo), u64::from(bhi));
                if bhi < lo {
                    continue;
                }
                if blo > end {
                    break;
                }
                if blo > lo {
                    space.push(lo as u32, (blo - 1) as u32);
                }
                lo = bhi + 1;
                if lo > end {
                    break;
                }
            }
            if lo <= end {
                space.push(lo as u32, end as u32);
            }
        }

        let by_code = b
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u16))
            .collect();
        let m = &reader.metadata;
        Ok(GeoDb {
            path: path.to_owned(),
            database_type: m.database_type.clone(),
            build_epoch: m.build_epoch,
            ip_version: m.ip_version,
            networks: b.networks,
            layouts: b.layouts,
            codes: b.codes,
            asns: b.asns,
            ranges: b.ranges,
            spaces,
            by_code,
        })
    }

    /// One line for provenance: file, `database_type`, build date, IPv4 network count, the
    /// field the country codes came from, countries and whether ASN data is present.
    pub fn description(&self) -> String {
        let (y, m, d) = date_of(self.build_epoch);
        let fields: Vec<&str> = self.layouts.iter().map(|l| l.field()).collect();
        format!(
            "{} ({:?}, IPv{} tree, built {y:04}-{m:02}-{d:02}): {} IPv4 networks, {} countries \
             from field {}, {}",
            self.path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            self.database_type,
            self.ip_version,
            self.networks,
            self.codes.len(),
            fields.join("+"),
            if self.has_asn() {
                format!("ASN data for {} ASNs", self.asns.len())
            } else {
                "no ASN data".to_owned()
            }
        )
    }

    /// The database's `database_type` metadata.
    pub fn database_type(&self) -> &str {
        &self.database_type
    }

    /// The database's build time (unix seconds).
    pub fn build_epoch(&self) -> u64 {
        self.build_epoch
    }

    /// Number of IPv4 networks (search-tree leaves with a record) read.
    pub fn network_count(&self) -> u64 {
        self.networks
    }

    /// `true` if the records carry ASN numbers (IPinfo, GeoLite2-ASN layouts).
    pub fn has_asn(&self) -> bool {
        !self.asns.is_empty()
    }

    /// Country code → number of IPv4 addresses [`GeoDb::sample`] can return for it (the
    /// country's space minus special-purpose ranges), sorted by code.
    pub fn countries(&self) -> Vec<(String, u64)> {
        self.by_code
            .iter()
            .map(|(c, &i)| (c.clone(), self.spaces[i as usize].total()))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// An address drawn uniformly from the IPv4 space the database assigns to `cc` (a
    /// two-letter code, any case); never a special-purpose address ([`is_bogon`]). `None`
    /// when the country has no such space. Uses exactly one [`Rng::below`] draw.
    pub fn sample(&self, cc: &str, rng: &mut Rng) -> Option<Ipv4Addr> {
        let code = two_letter(cc)?;
        let code = std::str::from_utf8(&code).ok()?;
        let space = &self.spaces[*self.by_code.get(code)? as usize];
        let total = space.total();
        if total == 0 {
            return None;
        }
        let x = rng.below(total);
        let i = space.cum.partition_point(|&c| c <= x);
        let before = if i == 0 { 0 } else { space.cum[i - 1] };
        Some(Ipv4Addr::from(space.starts[i] + (x - before) as u32))
    }

    fn range_of(&self, ip: Ipv4Addr) -> Option<&Range> {
        let v = u32::from(ip);
        let i = self.ranges.partition_point(|r| r.start <= v);
        let r = self.ranges.get(i.checked_sub(1)?)?;
        (r.end >= v).then_some(r)
    }

    /// The country code the database gives `ip`, if any.
    pub fn country_of(&self, ip: Ipv4Addr) -> Option<String> {
        self.range_of(ip)
            .map(|r| self.codes[r.country as usize].clone())
    }

    /// The ASN number and organisation the database gives `ip`, when it has ASN data.
    pub fn asn_of(&self, ip: Ipv4Addr) -> Option<(u32, String)> {
        let r = self.range_of(ip)?;
        self.asns.get(r.asn as usize).cloned()
    }

    /// Like [`GeoDb::country_of`] for any address: IPv4-mapped IPv6 addresses are looked
    /// up as IPv4, other IPv6 addresses give `None`.
    pub fn country_of_ip(&self, ip: IpAddr) -> Option<String> {
        match ip {
            IpAddr::V4(v4) => self.country_of(v4),
            IpAddr::V6(v6) => self.country_of(v6.to_ipv4_mapped()?),
        }
    }
}
