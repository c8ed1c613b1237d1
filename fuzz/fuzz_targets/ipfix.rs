//! IPFIX messages: templates, options, variable-length and enterprise fields.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::ipfix(data);
});
