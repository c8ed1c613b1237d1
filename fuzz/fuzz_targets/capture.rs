//! A whole capture file (pcap or pcapng): read every record and decode it.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::capture(data);
});
