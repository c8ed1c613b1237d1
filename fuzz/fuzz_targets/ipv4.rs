//! A raw IPv4 packet (LINKTYPE_IPV4): options, fragments, transport, GRE.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::ipv4(data);
});
