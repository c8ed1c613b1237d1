//! Claims (`origin=UA`, `asn=AS64500`, …): parse, print, parse again.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_engine::fuzzing::claim(data);
});
