//! Allow-lists (one prefix per line): entries read back, and no prefix cut around them overlaps one.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_engine::fuzzing::allow_list(data);
});
