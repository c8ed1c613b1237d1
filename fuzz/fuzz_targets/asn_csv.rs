//! ASN CSV rows (`start_ip,end_ip,asn,org`), the input a table is compiled from.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_geo::fuzzing::asn_csv(data);
});
