//! Geo database: opening the real IPinfo sample (../shared/data/geo), listing countries,
//! sampling addresses that the database places in the requested country, and clear errors.
//! Layouts not in the sample (ip-location-db `country_code`, GeoIP2 `country.iso_code`,
//! IPv4-mapped-only IPv6 trees) are checked on small databases written by this test's own
//! minimal MaxMind DB writer.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use floodtrace_sim::geo::{is_bogon, GeoDb, GeoError};
use floodtrace_sim::rng::Rng;

/// The IPinfo sample database. Missing data is a test failure, never a skip.
fn sample_db() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/geo");
    let file = dir.join("ipinfo_ip_country_asn_sample.mmdb");
    assert!(
        file.is_file(),
        "../shared/data is missing: {} not found; these tests read the real IPinfo sample \
         database described in shared/data/SOURCES.md, which must sit next to the repository",
        file.display()
    );
    file
}

/// A fresh temporary file path (removed by [`TempFile`]'s drop).
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "floodtrace-sim-geo-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, bytes).unwrap();
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// The IPinfo sample
// ---------------------------------------------------------------------------------------

#[test]
fn sample_db_opens_and_describes_itself() {
    let path = sample_db();
    let db = GeoDb::open(&path).unwrap();
    let d = db.description();
    assert!(
        d.contains("ipinfo ip_country_asn_sample.mmdb"),
        "description lacks database_type: {d}"
    );
    assert!(
        d.contains("2023-08-04"),
        "description lacks build date: {d}"
    );
    assert!(
        d.contains("139 IPv4 networks"),
        "description lacks count: {d}"
    );
    assert!(d.contains("field country"), "{d}");
    assert_eq!(db.database_type(), "ipinfo ip_country_asn_sample.mmdb");
    assert_eq!(db.network_count(), 139);
    assert!(db.has_asn());
}

/// The test's own oracle: every IPv4 network of the sample with its `country` field, read
/// with the maxminddb crate directly.
fn oracle_networks(path: &Path) -> Vec<(u32, u32, String)> {
    let reader = maxminddb::Reader::open_readfile(path).unwrap();
    let mut out = Vec::new();
    for item in reader
        .within::<BTreeMap<String, serde_json::Value>>("0.0.0.0/0".parse().unwrap())
        .unwrap()
    {
        let item = item.unwrap();
        let ipnetwork::IpNetwork::V4(net) = item.ip_net else {
            panic!("IPv6 network in the IPv4 walk: {}", item.ip_net)
        };
        let cc = item.info["country"].as_str().unwrap().to_owned();
        out.push((u32::from(net.network()), u32::from(net.broadcast()), cc));
    }
    out
}

#[test]
fn countries_match_an_independent_walk() {
    let path = sample_db();
    let db = GeoDb::open(&path).unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (lo, hi, cc) in oracle_networks(&path) {
        let n = (lo..=hi).filter(|&v| !is_bogon(Ipv4Addr::from(v))).count() as u64;
        *expected.entry(cc).or_default() += n;
    }
    expected.retain(|_, n| *n > 0);
    let got = db.countries();
    let got_map: BTreeMap<String, u64> = got.iter().cloned().collect();
    assert_eq!(got_map, expected);
    // Sorted by code, two upper-case letters.
    let codes: Vec<&String> = got.iter().map(|c| &c.0).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    assert!(codes
        .iter()
        .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    assert!(got.len() >= 5, "{got:?}");
}

#[test]
fn country_of_and_asn_of_agree_with_the_reader() {
    let path = sample_db();
    let db = GeoDb::open(&path).unwrap();
    let reader = maxminddb::Reader::open_readfile(&path).unwrap();
    let mut rng = Rng::new(11, 0);
    let mut checked = 0;
    for (lo, hi, _) in oracle_networks(&path) {
        // Both ends, one step outside each end, and a random inside address.
        let inside = lo + rng.below(u64::from(hi - lo) + 1) as u32;
        for v in [
            Some(lo),
            Some(hi),
            Some(inside),
            lo.checked_sub(1),
            hi.checked_add(1),
        ]
        .into_iter()
        .flatten()
        {
            let ip = Ipv4Addr::from(v);
            let rec: Option<BTreeMap<String, serde_json::Value>> =
                reader.lookup(IpAddr::V4(ip)).ok();
            let want_cc = rec
                .as_ref()
                .map(|r| r["country"].as_str().unwrap().to_owned());
            assert_eq!(db.country_of(ip), want_cc, "{ip}");
            let want_asn = rec.as_ref().map(|r| {
                let asn = r["asn"].as_str().unwrap();
                (
                    asn.trim_start_matches("AS").parse::<u32>().unwrap(),
                    r["as_name"].as_str().unwrap().to_owned(),
                )
            });
            assert_eq!(db.asn_of(ip), want_asn, "{ip}");
            checked += 1;
        }
    }
    assert!(checked > 400);
    assert_eq!(db.country_of("8.8.8.8".parse().unwrap()), None);
    assert_eq!(db.asn_of("8.8.8.8".parse().unwrap()), None);
}

#[test]
fn samples_lie_in_the_requested_country() {
    let db = GeoDb::open(&sample_db()).unwrap();
    let mut countries = db.countries();
    countries.sort_by_key(|c| std::cmp::Reverse(c.1));
    // The three largest countries and the smallest one.
    let mut picks: Vec<String> = countries.iter().take(3).map(|c| c.0.clone()).collect();
    picks.push(countries.last().unwrap().0.clone());
    let mut rng = Rng::named(2025, "geo-test");
    for cc in &picks {
        let size = countries.iter().find(|c| &c.0 == cc).unwrap().1;
        let mut distinct = HashSet::new();
        for _ in 0..10_000 {
            let ip = db.sample(cc, &mut rng).unwrap();
            assert_eq!(db.country_of(ip).as_deref(), Some(cc.as_str()), "{ip}");
            assert!(!is_bogon(ip), "{ip}");
            assert!(db.asn_of(ip).is_some(), "{ip}");
            distinct.insert(ip);
        }
        // Uniform draws: close to all addresses of a small country, nearly all distinct in
        // a large one.
        let expect = size as f64 * (1.0 - (-10_000.0 / size as f64).exp());
        assert!(
            (distinct.len() as f64) > expect * 0.95,
            "{cc}: {} distinct of {size} (expected ~{expect:.0})",
            distinct.len()
        );
    }
}

#[test]
fn sampling_is_proportional_to_range_size() {
    let path = sample_db();
    let db = GeoDb::open(&path).unwrap();
    // The country with the most networks; count hits per network.
    let nets = oracle_networks(&path);
    let mut per_cc: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &nets {
        *per_cc.entry(n.2.as_str()).or_default() += 1;
    }
    let (cc, _) = per_cc.iter().max_by_key(|e| *e.1).unwrap();
    let mine: Vec<&(u32, u32, String)> = nets.iter().filter(|n| n.2 == *cc).collect();
    let total: f64 = mine.iter().map(|n| f64::from(n.1 - n.0) + 1.0).sum();
    let draws = 200_000;
    let mut hits = vec![0u64; mine.len()];
    let mut rng = Rng::new(5, 5);
    for _ in 0..draws {
        let v = u32::from(db.sample(cc, &mut rng).unwrap());
        let i = mine.iter().position(|n| n.0 <= v && v <= n.1).unwrap();
        hits[i] += 1;
    }
    for (n, &h) in mine.iter().zip(&hits) {
        let p = (f64::from(n.1 - n.0) + 1.0) / total;
        let mean = p * draws as f64;
        let sd = (mean * (1.0 - p)).sqrt().max(1.0);
        assert!(
            (h as f64 - mean).abs() < 5.0 * sd + 1.0,
            "{cc} network {}-{}: {h} hits, expected {mean:.1}",
            Ipv4Addr::from(n.0),
            Ipv4Addr::from(n.1)
        );
    }
}

#[test]
fn sampling_is_deterministic_in_the_rng() {
    let db = GeoDb::open(&sample_db()).unwrap();
    let cc = db.countries()[0].0.clone();
    let draw = |seed| {
        let mut r = Rng::new(seed, 1);
        (0..100)
            .map(|_| db.sample(&cc, &mut r).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
    // Case-insensitive code.
    let mut a = Rng::new(3, 3);
    let mut b = Rng::new(3, 3);
    assert_eq!(
        db.sample(&cc.to_lowercase(), &mut a),
        db.sample(&cc, &mut b)
    );
}

#[test]
fn unknown_country_gives_none() {
    let db = GeoDb::open(&sample_db()).unwrap();
    let mut rng = Rng::new(1, 1);
    for cc in ["ZZ", "XX", "", "USA", "U", "??"] {
        assert_eq!(db.sample(cc, &mut rng), None, "{cc:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[test]
fn missing_file_is_a_clear_error() {
    let p = std::env::temp_dir().join("floodtrace-no-such-dir/none.mmdb");
    let e = GeoDb::open(&p).unwrap_err();
    assert!(matches!(e, GeoError::Io { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("none.mmdb"), "{msg}");
    assert!(msg.contains("cannot read geo database"), "{msg}");
}

#[test]
fn non_mmdb_file_is_a_clear_error() {
    let f = TempFile::new("garbage.mmdb", b"this is not a MaxMind database\n");
    let e = GeoDb::open(&f.0).unwrap_err();
    assert!(matches!(e, GeoError::Invalid { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&*f.0.to_string_lossy()), "{msg}");
    assert!(msg.contains("not a valid MaxMind DB"), "{msg}");
}

#[test]
fn truncated_and_damaged_files_never_panic() {
    let bytes = std::fs::read(sample_db()).unwrap();
    // Truncated: metadata gone.
    let f = TempFile::new("truncated.mmdb", &bytes[..bytes.len() / 2]);
    let e = GeoDb::open(&f.0).unwrap_err();
    assert!(e.to_string().contains("truncated.mmdb"), "{e}");
    // Search tree cut off but metadata kept.
    let mut cut = bytes[..1000].to_vec();
    let meta = bytes
        .windows(14)
        .rposition(|w| w == b"\xab\xcd\xefMaxMind.com")
        .unwrap();
    cut.extend_from_slice(&bytes[meta..]);
    let f = TempFile::new("cut.mmdb", &cut);
    let e = GeoDb::open(&f.0).unwrap_err();
    assert!(e.to_string().contains("cut.mmdb"), "{e}");
    // Scribbled over the search tree and data: an error or a database, never a panic.
    let mut rng = Rng::new(9, 9);
    for round in 0..20 {
        let mut b = bytes.clone();
        for _ in 0..50 {
            let i = rng.below(meta as u64) as usize;
            b[i] = rng.next_u32() as u8;
        }
        let f = TempFile::new(&format!("damaged{round}.mmdb"), &b);
        if let Err(e) = GeoDb::open(&f.0) {
            assert!(e.to_string().contains("damaged"), "{e}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Other record layouts, on databases written here
// ---------------------------------------------------------------------------------------

/// A MaxMind DB value, enough for the layouts tested here.
enum V {
    S(&'static str),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'static str, V)>),
    Arr(Vec<V>),
}

fn ctrl(out: &mut Vec<u8>, ty: u8, size: usize) {
    assert!(size < 29 + 256);
    let small = size.min(29) as u8;
    if ty <= 7 {
        out.push(ty << 5 | small);
    } else {
        out.push(small);
        out.push(ty - 7);
    }
    if size >= 29 {
        out.push((size - 29) as u8);
    }
}

fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    ctrl(out, ty, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

fn encode(out: &mut Vec<u8>, v: &V) {
    match v {
        V::S(s) => {
            ctrl(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        V::U16(n) => uint(out, 5, u64::from(*n)),
        V::U32(n) => uint(out, 6, u64::from(*n)),
        V::U64(n) => uint(out, 9, *n),
        V::Map(kv) => {
            ctrl(out, 7, kv.len());
            for (k, v) in kv {
                encode(out, &V::S(k));
                encode(out, v);
            }
        }
        V::Arr(items) => {
            ctrl(out, 11, items.len());
            for v in items {
                encode(out, v);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Child {
    Empty,
    Node(usize),
    Data(usize),
}

/// Writes a database with `ip_version` (4 or 6) holding `(prefix bits, record)` entries.
fn write_mmdb(ip_version: u16, entries: Vec<(Vec<bool>, V)>) -> Vec<u8> {
    let mut nodes: Vec<[Child; 2]> = vec![[Child::Empty; 2]];
    let mut data = Vec::new();
    for (bits, rec) in entries {
        let off = data.len();
        encode(&mut data, &rec);
        let mut node = 0;
        for (i, &b) in bits.iter().enumerate() {
            let side = b as usize;
            if i + 1 == bits.len() {
                nodes[node][side] = Child::Data(off);
                break;
            }
            node = match nodes[node][side] {
                Child::Node(n) => n,
                Child::Empty => {
                    nodes.push([Child::Empty; 2]);
                    nodes[node][side] = Child::Node(nodes.len() - 1);
                    nodes.len() - 1
                }
                Child::Data(_) => panic!("overlapping test prefixes"),
            };
        }
    }
    let n = nodes.len();
    let mut out = Vec::new();
    for node in &nodes {
        for c in node {
            let v = match *c {
                Child::Empty => n,
                Child::Node(i) => i,
                Child::Data(off) => n + 16 + off,
            };
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
    encode(
        &mut out,
        &V::Map(vec![
            ("binary_format_major_version", V::U16(2)),
            ("binary_format_minor_version", V::U16(0)),
            ("build_epoch", V::U64(1_781_725_900)),
            ("database_type", V::S("test country")),
            ("description", V::Map(vec![("en", V::S("test"))])),
            ("ip_version", V::U16(ip_version)),
            ("languages", V::Arr(vec![V::S("en")])),
            ("node_count", V::U32(n as u32)),
            ("record_size", V::U16(32)),
        ]),
    );
    out
}

/// Prefix bits of `a.b.c.d/len`, after `lead` (IPv6 prefix bits before the IPv4 part).
fn bits(lead: &[bool], net: &str) -> Vec<bool> {
    let (addr, len) = net.split_once('/').unwrap();
    let v = u32::from(addr.parse::<Ipv4Addr>().unwrap());
    let len: u32 = len.parse().unwrap();
    let mut out = lead.to_vec();
    out.extend((0..len).map(|i| v >> (31 - i) & 1 == 1));
    out
}

fn cc(code: &'static str) -> V {
    V::Map(vec![("country_code", V::S(code))])
}

#[test]
fn ip_location_db_layout_ipv4_tree() {
    // Record layout of @ip-location-db/*-country-mmdb: {"country_code": "US"}.
    let db = write_mmdb(
        4,
        vec![
            (bits(&[], "1.0.0.0/24"), cc("AU")),
            (bits(&[], "1.0.1.0/24"), cc("CN")),
            (bits(&[], "1.0.2.0/23"), cc("CN")),
            (bits(&[], "8.8.8.0/24"), cc("US")),
            (bits(&[], "10.0.0.0/7"), cc("US")), // half bogon (10/8), half not (11/8)
            (bits(&[], "224.0.0.0/3"), cc("ZZ")), // all bogon
        ],
    );
    let f = TempFile::new("iplocdb4.mmdb", &db);
    let g = GeoDb::open(&f.0).unwrap();
    assert!(!g.has_asn());
    assert!(
        g.description().contains("field country_code"),
        "{}",
        g.description()
    );
    assert!(
        g.description().contains("built 2026-06-17"),
        "{}",
        g.description()
    );
    assert_eq!(
        g.countries(),
        vec![
            ("AU".to_owned(), 256),
            ("CN".to_owned(), 768),
            ("US".to_owned(), 256 + (1 << 24)),
        ]
    );
    assert_eq!(
        g.country_of("1.0.2.255".parse().unwrap()).as_deref(),
        Some("CN")
    );
    assert_eq!(g.country_of("1.0.4.0".parse().unwrap()), None);
    assert_eq!(
        g.country_of("8.8.8.8".parse().unwrap()).as_deref(),
        Some("US")
    );
    // The database's own answer for bogon space is reported, but never sampled.
    assert_eq!(
        g.country_of("10.1.2.3".parse().unwrap()).as_deref(),
        Some("US")
    );
    assert_eq!(g.asn_of("8.8.8.8".parse().unwrap()), None);
    let mut rng = Rng::new(1, 2);
    for _ in 0..10_000 {
        let ip = g.sample("US", &mut rng).unwrap();
        assert!(!is_bogon(ip), "{ip}");
        assert_eq!(g.country_of(ip).as_deref(), Some("US"));
        let ip = g.sample("CN", &mut rng).unwrap();
        assert_eq!(g.country_of(ip).as_deref(), Some("CN"));
    }
    assert_eq!(g.sample("ZZ", &mut rng), None);
}

#[test]
fn ipv4_subtree_of_an_ipv6_tree() {
    let zeros = vec![false; 96];
    let db = write_mmdb(
        6,
        vec![
            (bits(&zeros, "1.0.0.0/24"), cc("AU")),
            (bits(&zeros, "5.0.0.0/16"), cc("DE")),
            // A genuine IPv6 network (2001:db8::/32) must not show up as IPv4.
            (
                (0..32)
                    .map(|i| 0x2001_0db8u32 >> (31 - i) & 1 == 1)
                    .collect(),
                cc("NL"),
            ),
        ],
    );
    let f = TempFile::new("iplocdb6.mmdb", &db);
    let g = GeoDb::open(&f.0).unwrap();
    assert_eq!(
        g.countries(),
        vec![("AU".to_owned(), 256), ("DE".to_owned(), 65_536)]
    );
    assert_eq!(
        g.country_of("5.0.255.255".parse().unwrap()).as_deref(),
        Some("DE")
    );
}

#[test]
fn ipv4_mapped_only_tree() {
    let mut lead = vec![false; 80];
    lead.extend([true; 16]);
    let db = write_mmdb(
        6,
        vec![
            (bits(&lead, "1.0.0.0/24"), cc("AU")),
            (bits(&lead, "5.0.0.0/16"), cc("DE")),
        ],
    );
    let f = TempFile::new("mapped.mmdb", &db);
    let g = GeoDb::open(&f.0).unwrap();
    assert_eq!(
        g.countries(),
        vec![("AU".to_owned(), 256), ("DE".to_owned(), 65_536)]
    );
    let mut rng = Rng::new(4, 4);
    let ip = g.sample("DE", &mut rng).unwrap();
    assert_eq!(ip.octets()[..2], [5, 0]);
    assert_eq!(
        g.country_of_ip(IpAddr::V6(ip.to_ipv6_mapped())).as_deref(),
        Some("DE")
    );
}

#[test]
fn geoip2_and_ipinfo_lite_layouts() {
    let db = write_mmdb(
        4,
        vec![
            // GeoIP2: {"country": {"iso_code": "SE"}}.
            (
                bits(&[], "2.0.0.0/16"),
                V::Map(vec![("country", V::Map(vec![("iso_code", V::S("SE"))]))]),
            ),
            // IPinfo Lite: country is a name, country_code the code; asn "AS…".
            (
                bits(&[], "3.0.0.0/16"),
                V::Map(vec![
                    ("asn", V::S("AS16509")),
                    ("as_name", V::S("Amazon.com, Inc.")),
                    ("country", V::S("United States")),
                    ("country_code", V::S("US")),
                ]),
            ),
            // GeoLite2-ASN numbers next to a country.
            (
                bits(&[], "4.0.0.0/16"),
                V::Map(vec![
                    ("autonomous_system_number", V::U32(3356)),
                    ("autonomous_system_organization", V::S("LEVEL3")),
                    ("country_code", V::S("us")),
                ]),
            ),
            // No usable country: skipped.
            (
                bits(&[], "6.0.0.0/16"),
                V::Map(vec![("country", V::S("Atlantis"))]),
            ),
        ],
    );
    let f = TempFile::new("layouts.mmdb", &db);
    let g = GeoDb::open(&f.0).unwrap();
    assert_eq!(
        g.countries(),
        vec![("SE".to_owned(), 65_536), ("US".to_owned(), 131_072)]
    );
    assert_eq!(
        g.asn_of("3.0.1.2".parse().unwrap()),
        Some((16509, "Amazon.com, Inc.".to_owned()))
    );
    assert_eq!(
        g.asn_of("4.0.1.2".parse().unwrap()),
        Some((3356, "LEVEL3".to_owned()))
    );
    assert_eq!(g.asn_of("2.0.1.2".parse().unwrap()), None);
    assert_eq!(g.country_of("6.0.0.1".parse().unwrap()), None);
}

#[test]
fn database_without_country_codes_is_a_clear_error() {
    let db = write_mmdb(
        4,
        vec![(
            bits(&[], "1.0.0.0/24"),
            V::Map(vec![("city", V::S("Paris"))]),
        )],
    );
    let f = TempFile::new("nocountry.mmdb", &db);
    let e = GeoDb::open(&f.0).unwrap_err();
    assert!(matches!(e, GeoError::NoCountryField { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("nocountry.mmdb") && msg.contains("country_code"),
        "{msg}"
    );

    let empty = write_mmdb(6, vec![]);
    let f = TempFile::new("empty.mmdb", &empty);
    let e = GeoDb::open(&f.0).unwrap_err();
    assert!(matches!(e, GeoError::NoIpv4 { .. }), "{e:?}");
    assert!(e.to_string().contains("empty.mmdb"), "{e}");
}
