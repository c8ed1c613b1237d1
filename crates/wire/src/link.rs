//! Link layers: find where the network-layer packet starts in a frame.

use crate::error::{DecodeError, Layer};
use crate::observe::flag;

/// LINKTYPE values this crate decodes (pcap-linktype(7)).
pub mod linktype {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: u16 = 0;
    /// Ethernet II.
    pub const ETHERNET: u16 = 1;
    /// Raw IP as DLT 12 on most systems.
    pub const DLT_RAW_12: u16 = 12;
    /// Raw IP as DLT 14 on OpenBSD.
    pub const DLT_RAW_14: u16 = 14;
    /// Raw IP (version from the first nibble).
    pub const RAW: u16 = 101;
    /// OpenBSD loopback: 4-byte address family, big-endian.
    pub const LOOP: u16 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u16 = 113;
    /// Raw IPv4.
    pub const IPV4: u16 = 228;
    /// Raw IPv6.
    pub const IPV6: u16 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u16 = 276;
}

/// EtherTypes the link walker understands.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service tag (QinQ).
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ tag.
    pub const QINQ_OLD: u16 = 0x9100;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MCAST: u16 = 0x8848;
    /// PPPoE session stage.
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Transparent Ethernet bridging (inside GRE).
    pub const TEB: u16 = 0x6558;
    /// PPP (inside GRE / PPTP).
    pub const PPP: u16 = 0x880b;
}

/// What the link layer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// IPv4 header at this offset.
    Ipv4(usize),
    /// IPv6 header at this offset.
    Ipv6(usize),
    /// Something else, by EtherType (0 when unknown).
    Other(u16),
}

/// Result of walking the link layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// What follows the link headers.
    pub payload: Payload,
    /// [`flag`] bits learned on the way (VLAN, MPLS).
    pub flags: u16,
}

fn truncated(layer: Layer, offset: usize, need: usize, data: &[u8]) -> DecodeError {
    DecodeError::Truncated {
        layer,
        offset,
        need,
        have: data.len().saturating_sub(offset),
    }
}

#[inline]
fn be16(data: &[u8], at: usize, layer: Layer, hdr: usize) -> Result<u16, DecodeError> {
    match data.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(truncated(layer, hdr, at + 2 - hdr, data)),
    }
}

/// Find the network layer of a frame of the given link type.
///
/// # Errors
/// Truncated link headers, and unsupported link types.
#[inline]
pub fn network_layer(link_type: u16, data: &[u8]) -> Result<Network, DecodeError> {
    match link_type {
        linktype::ETHERNET => ethernet(data, 0),
        linktype::RAW | linktype::DLT_RAW_12 | linktype::DLT_RAW_14 => Ok(raw_ip(data, 0)),
        linktype::IPV4 => Ok(net(Payload::Ipv4(0), 0)),
        linktype::IPV6 => Ok(net(Payload::Ipv6(0), 0)),
        linktype::LINUX_SLL => {
            let proto = be16(data, 14, Layer::Sll, 0)?;
            after_ethertype(data, proto, 16, 0)
        }
        linktype::LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(truncated(Layer::Sll2, 0, 20, data));
            }
            let proto = be16(data, 0, Layer::Sll2, 0)?;
            after_ethertype(data, proto, 20, 0)
        }
        linktype::NULL | linktype::LOOP => {
            let Some(b) = data.get(..4) else {
                return Err(truncated(Layer::Null, 0, 4, data));
            };
            let raw = [b[0], b[1], b[2], b[3]];
            // The family is in the capturing host's byte order for NULL; a value with
            // only high bytes set is a big-endian word read on a little-endian reader.
            let le = u32::from_le_bytes(raw);
            let family = if link_type == linktype::LOOP || le > 0xffff {
                u32::from_be_bytes(raw)
            } else {
                le
            };
            Ok(match family {
                2 => net(Payload::Ipv4(4), 0),
                // AF_INET6 differs by OS: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
                10 | 24 | 28 | 30 => net(Payload::Ipv6(4), 0),
                _ => net(Payload::Other(0), 0),
            })
        }
        other => Err(DecodeError::UnsupportedLinkType(other as u32)),
    }
}

#[inline]
fn net(payload: Payload, flags: u16) -> Network {
    Network { payload, flags }
}

/// Raw IP: the version nibble says which.
#[inline]
fn raw_ip(data: &[u8], at: usize) -> Network {
    match data.get(at).map(|b| b >> 4) {
        Some(6) => net(Payload::Ipv6(at), 0),
        // Anything else is handed to the IPv4 decoder, which names what is wrong.
        _ => net(Payload::Ipv4(at), 0),
    }
}

/// Ethernet II at `at`, then any VLAN tags, MPLS labels or PPPoE.
#[inline]
pub fn ethernet(data: &[u8], at: usize) -> Result<Network, DecodeError> {
    let ethertype = be16(data, at + 12, Layer::Ethernet, at)?;
    after_ethertype(data, ethertype, at + 14, 0)
}

/// Follow an EtherType at `at` through tags and labels to the network layer.
#[inline]
fn after_ethertype(
    data: &[u8],
    mut ethertype: u16,
    mut at: usize,
    mut flags: u16,
) -> Result<Network, DecodeError> {
    // Bounded: a frame of stacked tags must not make us loop long.
    for _ in 0..8 {
        match ethertype {
            ethertype::IPV4 => return Ok(net(Payload::Ipv4(at), flags)),
            ethertype::IPV6 => return Ok(net(Payload::Ipv6(at), flags)),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => {
                ethertype = be16(data, at + 2, Layer::Vlan, at)?;
                at += 4;
                flags |= flag::VLAN;
            }
            ethertype::MPLS | ethertype::MPLS_MCAST => {
                flags |= flag::MPLS;
                // Pop labels until bottom-of-stack, then guess IP by its version nibble.
                loop {
                    let Some(label) = data.get(at..at + 4) else {
                        return Err(truncated(Layer::Mpls, at, 4, data));
                    };
                    at += 4;
                    if label[2] & 1 == 1 {
                        break;
                    }
                }
                return Ok(match data.get(at).map(|b| b >> 4) {
                    Some(4) => net(Payload::Ipv4(at), flags),
                    Some(6) => net(Payload::Ipv6(at), flags),
                    _ => net(Payload::Other(ethertype::MPLS), flags),
                });
            }
            ethertype::PPPOE_SESSION => {
                let proto = be16(data, at + 6, Layer::Pppoe, at)?;
                at += 8;
                return Ok(match proto {
                    0x0021 => net(Payload::Ipv4(at), flags),
                    0x0057 => net(Payload::Ipv6(at), flags),
                    _ => net(Payload::Other(ethertype::PPPOE_SESSION), flags),
                });
            }
            other => return Ok(net(Payload::Other(other), flags)),
        }
    }
    Ok(net(Payload::Other(ethertype), flags))
}

/// The network layer inside a GRE payload of protocol type `proto` starting at `at`.
pub(crate) fn gre_payload(data: &[u8], proto: u16, at: usize) -> Result<Network, DecodeError> {
    match proto {
        ethertype::TEB => ethernet(data, at),
        ethertype::PPP => {
            // PPP in GRE (PPTP): optional address/control 0xff 0x03, then a 1- or 2-byte protocol.
            let mut p = at;
            if data.get(p..p + 2) == Some(&[0xff, 0x03]) {
                p += 2;
            }
            let Some(&first) = data.get(p) else {
                return Err(truncated(Layer::Ppp, at, p + 1 - at, data));
            };
            let (proto, len) = if first & 1 == 1 {
                (first as u16, 1)
            } else {
                (be16(data, p, Layer::Ppp, at)?, 2)
            };
            Ok(match proto {
                0x21 => net(Payload::Ipv4(p + len), 0),
                0x57 => net(Payload::Ipv6(p + len), 0),
                _ => net(Payload::Other(ethertype::PPP), 0),
            })
        }
        other => after_ethertype(data, other, at, 0),
    }
}
