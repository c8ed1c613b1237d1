//! Flow-export sniffing and the raw export file cutter.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::flow_sniff(data);
});
