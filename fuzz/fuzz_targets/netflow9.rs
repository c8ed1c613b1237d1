//! NetFlow v9 datagrams: templates, options templates, data sets.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::netflow9(data);
});
