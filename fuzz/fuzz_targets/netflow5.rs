//! NetFlow v5 datagrams (version field supplied).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::netflow5(data);
});
