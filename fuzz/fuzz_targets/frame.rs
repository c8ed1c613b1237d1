//! One frame, decoded as every link type floodtrace knows.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::frame(data);
});
