//! floodtrace-geo against the IPinfo sample database in `../shared/data/geo` (override the
//! folder with `FLOODTRACE_SHARED_DATA`), a compiled ASN table, and — when
//! `scripts/fetch-geo` has been run — the real pinned data in `data/geo`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use floodtrace_engine::attribute::GeoLookup;
use floodtrace_geo::{AsnTable, CountryDb, Geo, Source};

/// The shared sample database; a missing `../shared` is a test failure, not a skip.
fn sample() -> PathBuf {
    let dir = std::env::var_os("FLOODTRACE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = dir.join("geo/ipinfo_ip_country_asn_sample.mmdb");
    assert!(
        p.is_file(),
        "test data missing: {} not found. The geo tests need the shared data folder \
         (../shared/data next to the repository, or FLOODTRACE_SHARED_DATA=/path/to/shared/data).",
        p.display()
    );
    p
}

#[derive(serde::Deserialize)]
struct Rec {
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    asn: Option<String>,
    #[serde(default)]
    as_name: Option<String>,
}

struct Xs(u64);
impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sample_lookups_agree_with_the_mmdb_reader() {
    let path = sample();
    let db = CountryDb::open(&path).expect("sample opens");
    let reader = maxminddb::Reader::open_readfile(&path).unwrap();
    let asn = db.asn_table().expect("IPinfo records carry ASNs");
    // Addresses inside networks the database has (its sample is sparse), plus random ones.
    let mut probes: Vec<Ipv4Addr> = Vec::new();
    let net: ipnetwork::IpNetwork = "0.0.0.0/0".parse().unwrap();
    for item in reader.within::<Rec>(net).unwrap() {
        let item = item.unwrap();
        if let ipnetwork::IpNetwork::V4(n) = item.ip_net {
            probes.push(n.network());
            probes.push(n.broadcast());
            if let Some(next) = u32::from(n.broadcast()).checked_add(1) {
                probes.push(next.into());
            }
        }
    }
    assert!(probes.len() > 100, "sample has IPv4 networks");
    let mut r = Xs(42);
    probes.extend((0..20_000).map(|_| Ipv4Addr::from(r.next() as u32)));
    let mut with_country = 0;
    for ip in probes {
        let want: Option<Rec> = reader.lookup(IpAddr::V4(ip)).ok();
        let want_cc = want.as_ref().and_then(|w| w.country.clone());
        let got = db
            .country(IpAddr::V4(ip))
            .map(|c| String::from_utf8(c.to_vec()).unwrap());
        assert_eq!(got, want_cc, "{ip}");
        with_country += got.is_some() as u32;
        let want_asn = want.as_ref().and_then(|w| {
            w.asn.as_ref().map(|a| {
                (
                    a.trim_start_matches("AS").parse::<u32>().unwrap(),
                    w.as_name.clone().unwrap_or_default(),
                )
            })
        });
        let got_asn = asn.lookup(IpAddr::V4(ip)).map(|(a, n)| (a, n.to_owned()));
        assert_eq!(got_asn, want_asn, "{ip}");
    }
    assert!(with_country > 100);
}

#[test]
fn geo_implements_the_engine_trait_with_provenance() {
    let geo = Geo::open(Some(&sample()), None).unwrap();
    let db = geo.country_db().unwrap();
    // Find one located address through the tables themselves.
    let reader = maxminddb::Reader::open_readfile(sample()).unwrap();
    let net: ipnetwork::IpNetwork = "0.0.0.0/0".parse().unwrap();
    let first = reader
        .within::<Rec>(net)
        .unwrap()
        .filter_map(Result::ok)
        .find(|i| i.info.country.is_some() && i.info.asn.is_some())
        .unwrap();
    let ip = first.ip_net.ip();
    let cc = geo.country(ip).unwrap();
    assert_eq!(
        Some(String::from_utf8(cc.to_vec()).unwrap()),
        first.info.country
    );
    let (n, name) = geo.asn(ip).unwrap();
    assert_eq!(format!("AS{n}"), first.info.asn.unwrap());
    assert_eq!(Some(name.to_owned()), first.info.as_name);
    // IPv4-mapped IPv6 is looked up as IPv4.
    if let IpAddr::V4(v4) = ip {
        assert_eq!(geo.country(IpAddr::V6(v4.to_ipv6_mapped())), Some(cc));
    }
    let prov = geo.provenance();
    assert_eq!(prov.len(), 1);
    assert_eq!(prov[0].kind, "country");
    assert!(prov[0].name.contains("ipinfo"), "{:?}", prov[0]);
    assert!(prov[0].licence.contains("IPinfo"), "{:?}", prov[0]);
    assert!(db.memory_bytes() > 0);
}

#[test]
fn compiled_table_overrides_mmdb_asns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("asn-ipv4.csv");
    std::fs::write(&csv, "0.0.0.0,255.255.255.255,64500,\"Everything, Inc.\"\n").unwrap();
    let out = dir.path().join("asn.ftasn");
    let t = AsnTable::compile(
        &[&csv],
        Source {
            name: "@ip-location-db/asn".into(),
            version: "test".into(),
            licence: "CC-BY-4.0".into(),
            sha256: "ab".into(),
        },
    )
    .unwrap();
    t.write(&out).unwrap();
    std::fs::copy(sample(), dir.path().join("geo-whois-asn-country.mmdb")).unwrap();
    let geo = Geo::open_dir(dir.path()).unwrap();
    assert_eq!(
        geo.asn("9.9.9.9".parse().unwrap()),
        Some((64500, "Everything, Inc."))
    );
    let prov = geo.provenance();
    assert_eq!(prov.len(), 2);
    assert_eq!(prov[1].kind, "asn");
    assert_eq!(prov[1].licence, "CC-BY-4.0");
    assert!(Geo::open_dir(&dir.path().join("nothing")).is_err());
    // A corrupt table names the file.
    std::fs::write(&out, b"FTASN\0\0\x01garbage").unwrap();
    let e = Geo::open_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("asn.ftasn"), "{e}");
}

#[test]
fn attribute_with_the_sample_database() {
    use floodtrace_engine::attribute::{attribute, AttributeInput};
    use floodtrace_engine::sketch::SourceSample;
    use floodtrace_wire::Observation;
    let geo = Geo::open(Some(&sample()), None).unwrap();
    let reader = maxminddb::Reader::open_readfile(sample()).unwrap();
    let net: ipnetwork::IpNetwork = "0.0.0.0/0".parse().unwrap();
    let mut s = SourceSample::new();
    let mut n = 0;
    for item in reader
        .within::<Rec>(net)
        .unwrap()
        .filter_map(Result::ok)
        .take(300)
    {
        let mut o = Observation::new(0, item.ip_net.ip(), "198.51.100.1".parse().unwrap());
        o.proto = 17;
        o.ttl = 40 + (n % 20) as u8;
        s.observe(&o);
        n += 1;
    }
    let p = attribute(&s, &AttributeInput::default(), &geo);
    assert_eq!(p.sample.sources, n);
    assert!(p.located_share > 0.9, "{}", p.located_share);
    assert!(!p.countries.is_empty() && !p.asns.is_empty());
}

/// The real pinned data (`scripts/fetch-geo`, which `scripts/test` runs; missing data is
/// a failure, not a skip): the memory budget (≤ 100 MB), a few well-known lookups and the
/// provenance. Its load time is measured by the `lookup` benchmark, not here.
#[test]
fn fetched_data_loads_within_budget() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/geo");
    let asn = dir.join(floodtrace_geo::ASN_FILE);
    assert!(
        asn.is_file(),
        "{} not found: run scripts/fetch-geo (scripts/test does)",
        asn.display()
    );
    let geo = Geo::open_dir(&dir).unwrap();
    let mb = geo.memory_bytes() as f64 / 1e6;
    assert!(mb <= 100.0, "{mb:.1} MB");
    assert_eq!(
        geo.asn("1.1.1.1".parse().unwrap()).map(|a| a.0),
        Some(13335)
    );
    assert_eq!(
        geo.asn("8.8.8.8".parse().unwrap()).map(|a| a.0),
        Some(15169)
    );
    assert_eq!(
        geo.asn("2001:4860:4860::8888".parse().unwrap())
            .map(|a| a.0),
        Some(15169)
    );
    assert_eq!(geo.country("8.8.8.8".parse().unwrap()), Some(*b"US"));
    let prov = geo.provenance();
    assert!(
        prov.iter()
            .any(|p| p.kind == "asn" && p.licence.contains("CC-BY-4.0")),
        "{prov:?}"
    );
    assert!(
        prov.iter().any(|p| p.kind == "country"
            && p.name == "@ip-location-db/geo-whois-asn-country-mmdb"
            && p.licence == "CC0-1.0"
            && !p.version.is_empty()),
        "{prov:?}"
    );
}
