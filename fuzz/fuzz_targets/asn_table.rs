//! Compiled ASN tables (`AsnTable::from_bytes`), with and without a valid checksum.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_geo::fuzzing::asn_table(data);
});
