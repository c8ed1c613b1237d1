//! Built-in scenarios (`floodtrace simulate --list`), shipped inside the binary.

/// `(name, TOML)` of every built-in scenario, in listing order.
pub const BUILTIN: [(&str, &str); 10] = [
    ("x-outage", include_str!("../scenarios/x-outage.toml")),
    ("mirai-mix", include_str!("../scenarios/mirai-mix.toml")),
    ("spoofed-syn", include_str!("../scenarios/spoofed-syn.toml")),
    (
        "reflection-mix",
        include_str!("../scenarios/reflection-mix.toml"),
    ),
    (
        "dns-water-torture",
        include_str!("../scenarios/dns-water-torture.toml"),
    ),
    ("http-flood", include_str!("../scenarios/http-flood.toml")),
    ("carpet-bomb", include_str!("../scenarios/carpet-bomb.toml")),
    ("pulse-waves", include_str!("../scenarios/pulse-waves.toml")),
    ("quiet", include_str!("../scenarios/quiet.toml")),
    (
        "outage-no-attack",
        include_str!("../scenarios/outage-no-attack.toml"),
    ),
];

/// The TOML of a built-in scenario.
pub fn find(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
