//! Properties of the geo parsers that must hold for any input (`floodtrace_geo::fuzzing`
//! holds the checks, shared with the fuzz targets): no bytes make the compiled ASN table
//! reader or the ASN CSV reader panic, and every table that reads reads back from its own
//! bytes as the same table, whatever its provenance text.
//!
//! Inputs are arbitrary bytes, CSV assembled from the pieces real rows are made of, and
//! real compiled tables (built from random rows) with random bytes replaced.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use floodtrace_geo::asn::AsnBuilder;
use floodtrace_geo::{fuzzing, AsnTable, Source};
use proptest::prelude::*;

const PIECES: [&str; 20] = [
    ",",
    "\n",
    "\r\n",
    "\"",
    "\"\"",
    " ",
    "AS",
    "13335",
    "4294967295",
    "99999999999",
    "1.0.0.0",
    "1.0.0.255",
    "255.255.255.255",
    "0.0.0.0",
    "::",
    "2001:db8::",
    "2001:db8::ffff",
    "\"Cloudflare, Inc.\"",
    "Gtelecom Pty Ltd",
    "é",
];

fn pieced() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..PIECES.len(), 0..80)
        .prop_map(|ix| ix.iter().flat_map(|&i| PIECES[i].bytes()).collect())
}

/// A range: IPv4 or IPv6 start and a length.
fn range() -> impl Strategy<Value = (IpAddr, IpAddr, u32, String)> {
    (
        any::<bool>(),
        any::<u128>(),
        0u32..1 << 16,
        0u32..70_000,
        "[A-Za-z ,.é]{0,12}",
    )
        .prop_map(|(v4, start, len, asn, org)| {
            if v4 {
                let s = start as u32;
                let e = s.saturating_add(len);
                (
                    IpAddr::V4(Ipv4Addr::from(s)),
                    IpAddr::V4(Ipv4Addr::from(e)),
                    asn,
                    org,
                )
            } else {
                let e = start.saturating_add(u128::from(len));
                (
                    IpAddr::V6(Ipv6Addr::from(start)),
                    IpAddr::V6(Ipv6Addr::from(e)),
                    asn,
                    org,
                )
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::asn_table(&data);
        fuzzing::asn_csv(&data);
    }

    #[test]
    fn csv_of_row_pieces(data in pieced()) {
        fuzzing::asn_csv(&data);
    }

    /// Every row's start address finds an AS, and the table survives its own bytes with
    /// any bytes of its body replaced (the checksum made right again).
    #[test]
    fn built_tables_and_damaged_copies(
        rows in prop::collection::vec(range(), 1..20),
        source in prop::collection::vec("[a-z0-9 .\n\r]{0,8}", 4),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
    ) {
        let mut b = AsnBuilder::new();
        for (s, e, asn, org) in &rows {
            b.add(*s, *e, *asn, org).expect("a well-formed range");
        }
        let t = b.build(Source {
            name: source[0].clone(),
            version: source[1].clone(),
            licence: source[2].clone(),
            sha256: source[3].clone(),
        });
        for (s, ..) in &rows {
            prop_assert!(t.lookup(*s).is_some(), "{s} not found");
        }
        let bytes = t.to_bytes();
        prop_assert_eq!(AsnTable::from_bytes(&bytes), Ok(t));
        let mut body = bytes[8..bytes.len() - 8].to_vec();
        for (at, v) in flips {
            let i = at.index(body.len());
            body[i] = v;
        }
        fuzzing::asn_table(&body);
    }
}
