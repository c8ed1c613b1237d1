//! Timestamps of logs and reports: RFC 3339, Apache `%t`, epoch seconds.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_engine::fuzzing::times(data);
});
