//! Outage reports: CSV, JSON arrays and JSON lines.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_engine::fuzzing::outage_reports(data);
});
