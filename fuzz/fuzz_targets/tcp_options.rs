//! A TCP option area behind fixed IPv4 and TCP headers; checks the fixed header survives.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    floodtrace_wire::fuzzing::tcp_options(data);
});
