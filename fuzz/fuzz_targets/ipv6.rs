//! A raw IPv6 packet (LINKTYPE_IPV6): extension headers, transport, GRE.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::ipv6(data);
});
