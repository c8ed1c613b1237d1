//! Access logs: combined / common log format and JSON lines.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_engine::fuzzing::access_log(data);
});
