//! Entry points for fuzz targets and property tests of the geo parsers: the compiled ASN
//! table ([`AsnTable::from_bytes`], read from a file beside the data) and the ASN CSV it is
//! compiled from. They must never panic; a table that reads must look addresses up, and
//! its own bytes must read back as the same table.
#![doc(hidden)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::asn::{fnv1a, AsnBuilder, AsnTable, Source, MAGIC};

/// Addresses at the ends of both spaces and a few in between.
const PROBES: [IpAddr; 6] = [
    IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)),
    IpAddr::V4(Ipv4Addr::BROADCAST),
    IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(Ipv6Addr::new(
        0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
    )),
];

/// Look every probe up and check that the table's bytes read back as the same table.
///
/// # Panics
/// When a table's own bytes do not read back, or read back differently.
fn check_table(t: &AsnTable) {
    for ip in PROBES {
        let _ = t.lookup(ip);
    }
    let bytes = t.to_bytes();
    let again = AsnTable::from_bytes(&bytes).expect("a table's own bytes read back");
    assert_eq!(&again, t);
}

/// `data` as a compiled ASN table, as it is and behind the right magic with the right
/// checksum appended (so that the structure checks after them are reached).
pub fn asn_table(data: &[u8]) {
    if let Ok(t) = AsnTable::from_bytes(data) {
        check_table(&t);
    }
    let mut fixed = MAGIC.to_vec();
    fixed.extend_from_slice(data);
    let sum = fnv1a(&fixed);
    fixed.extend_from_slice(&sum.to_le_bytes());
    if let Ok(t) = AsnTable::from_bytes(&fixed) {
        check_table(&t);
    }
}

/// `data` as the ASN CSV rows a table is compiled from (`start_ip,end_ip,asn,org`).
pub fn asn_csv(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut builder = AsnBuilder::new();
    let _ = builder.add_csv(&text, "fuzz input");
    check_table(&builder.build(Source::default()));
}
