//! Lookups per second on random IPv4 addresses, against a floor measured in the same run:
//! the same loop over the same addresses doing only a cheap hash of each address. Target:
//! ≥ 5 M lookups/s per core.
//!
//! `cargo bench -p floodtrace-geo --bench lookup [-- DIR]` uses `data/geo` when
//! `scripts/fetch-geo` has filled it (country mmdb + compiled ASN table), else the shared
//! IPinfo sample.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Instant;

use floodtrace_engine::attribute::GeoLookup;
use floodtrace_geo::Geo;

const N: usize = 10_000_000;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let t0 = Instant::now();
    let geo = match arg {
        Some(dir) => Geo::open_dir(Path::new(&dir)).expect("geo dir"),
        None => Geo::open_dir(&root.join("data/geo")).unwrap_or_else(|_| {
            let p: PathBuf = root.join("../shared/data/geo/ipinfo_ip_country_asn_sample.mmdb");
            Geo::open(Some(&p), None).expect("shared sample database")
        }),
    };
    println!(
        "load                         {:>8.3} s, {:.1} MB",
        t0.elapsed().as_secs_f64(),
        geo.memory_bytes() as f64 / 1e6
    );
    for p in geo.provenance() {
        println!("data: {} {} {} ({})", p.kind, p.name, p.version, p.detail);
    }
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let addrs: Vec<u32> = (0..N)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u32
        })
        .collect();

    let run = |name: &str, f: &dyn Fn(u32) -> u64| -> f64 {
        let t = Instant::now();
        let mut acc = 0u64;
        for &a in &addrs {
            acc = acc.wrapping_add(f(a));
        }
        black_box(acc);
        let rate = N as f64 / t.elapsed().as_secs_f64();
        println!("{name:<28} {:>8.1} M lookups/s", rate / 1e6);
        rate
    };
    let floor = run("floor (hash of address)", &|a| {
        floodtrace_engine::sketch::hash128(u128::from(a), 1) & 1
    });
    let c = run("country (IpAddr)", &|a| {
        geo.country(IpAddr::V4(Ipv4Addr::from(a)))
            .map_or(0, |c| u64::from(c[0]))
    });
    let a = run("asn (IpAddr)", &|a| {
        geo.asn(IpAddr::V4(Ipv4Addr::from(a)))
            .map_or(0, |x| u64::from(x.0))
    });
    let both = run("country + asn", &|a| {
        let ip = IpAddr::V4(Ipv4Addr::from(a));
        geo.country(ip).map_or(0, |c| u64::from(c[0])) + geo.asn(ip).map_or(0, |x| u64::from(x.0))
    });
    println!(
        "ratio to floor: country {:.2}, asn {:.2}, both {:.2}; target ≥ 5 M/s: {}",
        c / floor,
        a / floor,
        both / floor,
        if c >= 5e6 && a >= 5e6 {
            "met"
        } else {
            "NOT met"
        }
    );
}
