//! A capture file, resumed at its record boundaries; checks resumed reads match.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::resume(data);
});
