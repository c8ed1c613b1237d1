//! Classification: which attack vectors make up a wave, with their shares.
//!
//! Input is the wave's traffic in excess of the target's baseline, per traffic class, plus
//! the UDP source-port histogram (reflection answers come from the service's port).
//! Names follow `docs/FORMATS.md`: `syn_flood`, `ack_flood`, `rst_flood`, `tcp_other_flood`,
//! `udp_flood`, `udp_fragment_flood`, `icmp_flood`, `gre_flood`, `syn_ack_reflection`, and
//! `<protocol>_reflection`.

use serde::Serialize;

use floodtrace_wire::peek::REFLECTION_SOURCE_PORTS;

use crate::aggregate::{AppCounters, Class, PORT_BIN_EPHEMERAL, PORT_BIN_REGISTERED};

/// UDP services abused for reflection, by source port.
pub const REFLECTION_PORTS: [(u16, &str); 15] = [
    (19, "chargen"),
    (53, "dns"),
    (69, "tftp"),
    (111, "portmap"),
    (123, "ntp"),
    (137, "netbios"),
    (161, "snmp"),
    (389, "cldap"),
    (520, "rip"),
    (1900, "ssdp"),
    (3283, "ard"),
    (3478, "stun"),
    (3702, "wsd"),
    (5683, "coap"),
    (11211, "memcached"),
];

/// Share of the UDP excess a single reflection source port needs to name the wave.
const REFLECTION_MIN_SHARE: f64 = 0.2;

/// Share of a reflection port's packets whose payload must be that service's answer for
/// `<protocol>_reflection`; below it the port is only borrowed (`udp_flood` naming it).
const REFLECTION_CONFIRMED_MIN: f64 = 0.5;

/// HTTP requests per excess TCP packet above which TCP traffic is an HTTP flood: a
/// connection carrying one request is about four packets towards the server (SYN, ACK,
/// request, FIN), so a flood of them is near 0.25; SYN or ACK floods are far below 0.1.
const HTTP_REQUESTS_PER_PACKET: f64 = 0.1;

/// Share of UDP packets that must be DNS queries, and share of those with a random-looking
/// first label, for DNS water torture.
const WATER_TORTURE_MIN: f64 = 0.5;

/// One attack vector of a wave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorShare {
    /// Vector name.
    pub name: String,
    /// Share of the wave's excess packets (0–1).
    pub share: f64,
    /// Packets attributed to it.
    pub packets: u64,
    /// For `udp_flood`: the dominant UDP source port when one port carries most of it
    /// (reflection from a service without a specific class, e.g. ISAKMP 500/4500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
}

/// What the classifier looks at for one wave.
#[derive(Debug, Clone, Default)]
pub struct WaveTraffic {
    /// Packets per class during the wave, baseline subtracted (never below zero).
    pub excess: [f64; Class::COUNT],
    /// Fragmented packets during the wave.
    pub fragments: u64,
    /// Packets during the wave.
    pub packets: u64,
    /// UDP source-port histogram of the wave `(port, packets)` (49151 and 65535 stand for
    /// the registered and ephemeral ranges).
    pub udp_sports: Vec<(u16, u64)>,
    /// Packets per class during the wave (baseline included).
    pub classes: [u64; Class::COUNT],
    /// Payload counts over the wave.
    pub app: AppCounters,
    /// Payloads were visible (packets, not flow records): reflection is then confirmed by
    /// payload, not by source port alone.
    pub payloads_visible: bool,
}

fn class_vector(c: Class) -> &'static str {
    match c {
        Class::TcpSyn => "syn_flood",
        Class::TcpSynAck => "syn_ack_reflection",
        Class::TcpAck => "ack_flood",
        Class::TcpRst => "rst_flood",
        Class::TcpOther => "tcp_other_flood",
        Class::Udp => "udp_flood",
        Class::Icmp => "icmp_flood",
        Class::Gre => "gre_flood",
        Class::Fragment => "udp_fragment_flood",
        Class::Other => "other_flood",
    }
}

/// The vectors of a wave, largest share first (ties by name). Classes below 2 % of the
/// excess are left out.
pub fn classify(t: &WaveTraffic) -> Vec<VectorShare> {
    let total: f64 = t.excess.iter().sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let mut out: Vec<VectorShare> = Vec::new();
    let mut add = |name: &str, packets: f64, port: Option<u16>| {
        if packets <= 0.0 {
            return;
        }
        match out.iter_mut().find(|v| v.name == name) {
            Some(v) => v.packets = v.packets.saturating_add(packets.round() as u64),
            None => out.push(VectorShare {
                name: name.to_string(),
                share: 0.0,
                packets: packets.round() as u64,
                source_port: port,
            }),
        }
    };
    // Reflection answers too big for one datagram arrive IP-fragmented: later fragments
    // (no UDP header) belong to the reflection the first fragments' source port names.
    // Only without such a port are fragments a fragment flood of their own.
    let udp_total: u64 = t.udp_sports.iter().map(|e| e.1).sum();
    // A reflection port counts when its packets carry the service's answers (or when
    // payloads cannot be seen, e.g. flow records).
    let confirmed = |port: u16, n: u64| {
        !t.payloads_visible
            || REFLECTION_SOURCE_PORTS
                .iter()
                .position(|&p| p == port)
                .is_some_and(|i| {
                    t.app.reflection_confirmed[i] as f64 >= REFLECTION_CONFIRMED_MIN * n as f64
                })
    };
    let reflection_share: f64 = REFLECTION_PORTS
        .iter()
        .map(|&(port, _)| {
            let n = t.udp_sports.iter().find(|e| e.0 == port).map_or(0, |e| e.1);
            (port, n)
        })
        .filter(|&(port, n)| confirmed(port, n))
        .map(|(_, n)| n as f64 / udp_total.max(1) as f64)
        .filter(|s| *s >= REFLECTION_MIN_SHARE)
        .sum();
    let tcp_excess: f64 = [
        Class::TcpSyn,
        Class::TcpSynAck,
        Class::TcpAck,
        Class::TcpRst,
        Class::TcpOther,
    ]
    .iter()
    .map(|&c| t.excess[c as usize])
    .sum();
    let http_flood = t.app.http_requests >= 8
        && t.app.http_requests as f64 >= HTTP_REQUESTS_PER_PACKET * tcp_excess;
    let udp_packets = t.classes[Class::Udp as usize];
    let water_torture = udp_packets > 0
        && t.app.dns_queries as f64 >= WATER_TORTURE_MIN * udp_packets as f64
        && t.app.dns_random_queries as f64 >= WATER_TORTURE_MIN * t.app.dns_queries as f64;
    let frag_flood = reflection_share == 0.0 && t.packets > 0 && t.fragments * 2 >= t.packets;
    let mut excess = t.excess;
    if reflection_share > 0.0 {
        excess[Class::Udp as usize] += excess[Class::Fragment as usize];
        excess[Class::Fragment as usize] = 0.0;
    }
    for c in Class::ALL {
        let x = excess[c as usize];
        match c {
            Class::TcpSyn | Class::TcpSynAck | Class::TcpAck | Class::TcpRst | Class::TcpOther
                if http_flood =>
            {
                add("http_flood", x, None)
            }
            Class::Udp if water_torture => add("dns_water_torture", x, None),
            Class::Udp if frag_flood => add("udp_fragment_flood", x, None),
            Class::Udp => {
                if udp_total == 0 {
                    add("udp_flood", x, None);
                    continue;
                }
                let mut rest = x;
                for &(port, name) in &REFLECTION_PORTS {
                    let n = t.udp_sports.iter().find(|e| e.0 == port).map_or(0, |e| e.1);
                    let share = n as f64 / udp_total as f64;
                    if share >= REFLECTION_MIN_SHARE && confirmed(port, n) {
                        let part = x * share;
                        add(&format!("{name}_reflection"), part, None);
                        rest -= part;
                    }
                }
                // One fixed service port carrying most of the rest: name it.
                let top = t
                    .udp_sports
                    .iter()
                    .filter(|e| e.0 != PORT_BIN_REGISTERED && e.0 != PORT_BIN_EPHEMERAL)
                    .filter(|e| {
                        !REFLECTION_PORTS.iter().any(|r| r.0 == e.0) || !confirmed(e.0, e.1)
                    })
                    .max_by_key(|e| (e.1, std::cmp::Reverse(e.0)));
                let port = top
                    .filter(|e| e.1 as f64 >= 0.5 * udp_total as f64)
                    .map(|e| e.0);
                add("udp_flood", rest, port);
            }
            _ => add(class_vector(c), x, None),
        }
    }
    let sum: f64 = out.iter().map(|v| v.packets as f64).sum();
    for v in &mut out {
        v.share = if sum > 0.0 {
            v.packets as f64 / sum
        } else {
            0.0
        };
    }
    out.retain(|v| v.share >= 0.02);
    out.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.name.cmp(&b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_flood() {
        let mut t = WaveTraffic {
            packets: 1000,
            ..Default::default()
        };
        t.excess[Class::TcpSyn as usize] = 990.0;
        t.excess[Class::Udp as usize] = 10.0;
        let v = classify(&t);
        assert_eq!(v[0].name, "syn_flood");
        assert!(v[0].share > 0.98);
    }

    #[test]
    fn reflection_by_source_port_and_unknown_service_port() {
        let mut t = WaveTraffic {
            packets: 1000,
            udp_sports: vec![(161, 900), (65535, 100)],
            ..Default::default()
        };
        t.excess[Class::Udp as usize] = 1000.0;
        assert_eq!(classify(&t)[0].name, "snmp_reflection");
        t.udp_sports = vec![(500, 700), (4500, 200), (65535, 100)];
        let v = classify(&t);
        assert_eq!(v[0].name, "udp_flood");
        assert_eq!(v[0].source_port, Some(500));
    }
}
