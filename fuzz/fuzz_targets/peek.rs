//! A TCP or UDP payload: every application recogniser in `peek` (ports from the input).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::peek(data);
});
