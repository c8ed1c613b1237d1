//! sFlow v5 datagrams: flow and counter samples, sampled headers.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::sflow(data);
});
