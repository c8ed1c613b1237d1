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
            ethertype::MPLS | ethertype::MPLS_MCAST => return mpls(data, at, flags),
            ethertype::PPPOE_SESSION => {
                let proto = be16(data, at + 6, Layer::Pppoe, at)?;
                return ppp_payload(data, proto, at + 8, flags, ethertype::PPPOE_SESSION);
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
        ethertype::PPP => ppp(data, at),
        other => after_ethertype(data, other, at, 0),
    }
}

/// PPP protocol numbers the link walker understands (RFC 1661 and the IANA PPP DLL
/// protocol numbers registry).
pub mod ppp_protocol {
    /// IPv4.
    pub const IPV4: u16 = 0x0021;
    /// IPv6.
    pub const IPV6: u16 = 0x0057;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x0281;
    /// MPLS multicast.
    pub const MPLS_MCAST: u16 = 0x0283;
}

/// An MPLS label stack at `at` (after an EtherType 0x8847 / 0x8848 or a PPP protocol
/// 0x0281 / 0x0283, or starting an sFlow MPLS header). Labels are popped up to the one with
/// the bottom-of-stack bit; what follows has no type field, so its first nibble is taken as
/// the IP version: 4 IPv4, 6 IPv6, anything else (a pseudowire control word, an Ethernet
/// frame) is `Other(MPLS)`.
#[inline]
pub(crate) fn mpls(data: &[u8], mut at: usize, flags: u16) -> Result<Network, DecodeError> {
    let flags = flags | flag::MPLS;
    loop {
        let Some(label) = data.get(at..at + 4) else {
            return Err(truncated(Layer::Mpls, at, 4, data));
        };
        at += 4;
        if label[2] & 1 == 1 {
            break;
        }
    }
    Ok(match data.get(at).map(|b| b >> 4) {
        Some(4) => net(Payload::Ipv4(at), flags),
        Some(6) => net(Payload::Ipv6(at), flags),
        _ => net(Payload::Other(ethertype::MPLS), flags),
    })
}

/// What follows a PPP protocol field `proto` at `at`; protocols without IP (LCP, IPCP, …)
/// are `Other(other)`.
#[inline]
fn ppp_payload(
    data: &[u8],
    proto: u16,
    at: usize,
    flags: u16,
    other: u16,
) -> Result<Network, DecodeError> {
    match proto {
        ppp_protocol::IPV4 => Ok(net(Payload::Ipv4(at), flags)),
        ppp_protocol::IPV6 => Ok(net(Payload::Ipv6(at), flags)),
        ppp_protocol::MPLS | ppp_protocol::MPLS_MCAST => mpls(data, at, flags),
        _ => Ok(net(Payload::Other(other), flags)),
    }
}

/// A PPP frame at `at` (PPP in GRE, an sFlow PPP or packet-over-SONET header): the
/// HDLC-like address and control bytes 0xff 0x03 (RFC 1662) when present, then the protocol
/// field, two bytes or, compressed (RFC 1661 PFC), one: a first byte with its low bit set
/// ends the field. IPv4, IPv6 and MPLS are followed; other protocols are `Other(PPP)`.
#[inline]
pub(crate) fn ppp(data: &[u8], at: usize) -> Result<Network, DecodeError> {
    let mut p = at;
    if data.get(p..p + 2) == Some(&[0xff, 0x03]) {
        p += 2;
    }
    let Some(&first) = data.get(p) else {
        return Err(truncated(Layer::Ppp, at, p + 1 - at, data));
    };
    let (proto, len) = if first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        (be16(data, p, Layer::Ppp, at)?, 2)
    };
    ppp_payload(data, proto, p + len, 0, ethertype::PPP)
}

/// A packet-over-SONET/SDH frame at `at`: PPP in HDLC-like framing (RFC 2615, read by
/// [`ppp`]), or Cisco HDLC, which POS interfaces may run instead: address 0x0f (unicast) or
/// 0x8f (broadcast), control 0x00, then an EtherType. The first byte tells them apart, as
/// for libpcap's LINKTYPE_PPP_HDLC (0xff: PPP; 0x0f, 0x8f: Cisco HDLC).
#[inline]
pub(crate) fn pos(data: &[u8], at: usize) -> Result<Network, DecodeError> {
    match data.get(at..at + 2) {
        Some(&[0x0f | 0x8f, 0x00]) => {
            let ethertype = be16(data, at + 2, Layer::Ppp, at)?;
            after_ethertype(data, ethertype, at + 4, 0)
        }
        _ => ppp(data, at),
    }
}

/// A frame relay frame at `at`: a Q.922 address of two to four bytes (the last one has its
/// low, EA, bit set), then either
/// - RFC 2427 multiprotocol encapsulation: control 0x03 (UI), an optional 0x00 pad, and an
///   NLPID: 0xcc IPv4, 0x8e IPv6, or 0x80 SNAP, whose OUI 00-00-00 is followed by an
///   EtherType (other OUIs, bridged frames, and other NLPIDs are `Other(0)`); or
/// - Cisco's encapsulation: an EtherType right after the address (no EtherType starts with
///   0x03).
#[inline]
pub(crate) fn frame_relay(data: &[u8], at: usize) -> Result<Network, DecodeError> {
    let mut p = at;
    loop {
        let Some(&b) = data.get(p) else {
            return Err(truncated(Layer::FrameRelay, at, p + 1 - at, data));
        };
        p += 1;
        if b & 1 == 1 {
            break;
        }
        if p - at == 4 {
            return Err(DecodeError::BadField {
                layer: Layer::FrameRelay,
                field: "frame_relay.address",
                offset: at,
                value: 4,
            });
        }
    }
    if p - at < 2 {
        return Err(DecodeError::BadField {
            layer: Layer::FrameRelay,
            field: "frame_relay.address",
            offset: at,
            value: 1,
        });
    }
    let Some(&control) = data.get(p) else {
        return Err(truncated(Layer::FrameRelay, at, p + 1 - at, data));
    };
    if control != 0x03 {
        let ethertype = be16(data, p, Layer::FrameRelay, at)?;
        return after_ethertype(data, ethertype, p + 2, 0);
    }
    p += 1;
    if data.get(p) == Some(&0x00) {
        p += 1;
    }
    let Some(&nlpid) = data.get(p) else {
        return Err(truncated(Layer::FrameRelay, at, p + 1 - at, data));
    };
    p += 1;
    match nlpid {
        0xcc => Ok(net(Payload::Ipv4(p), 0)),
        0x8e => Ok(net(Payload::Ipv6(p), 0)),
        0x80 => {
            let Some(oui) = data.get(p..p + 3) else {
                return Err(truncated(Layer::FrameRelay, at, p + 3 - at, data));
            };
            if oui != [0, 0, 0] {
                return Ok(net(Payload::Other(0), 0));
            }
            let ethertype = be16(data, p + 3, Layer::FrameRelay, at)?;
            after_ethertype(data, ethertype, p + 5, 0)
        }
        _ => Ok(net(Payload::Other(0), 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MPLS label stack entry with its bottom-of-stack bit.
    fn label(bottom: bool) -> [u8; 4] {
        [0, 0x64, if bottom { 0x11 } else { 0x10 }, 64]
    }

    fn ethernet_frame(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }

    /// Ethernet MPLS, PPPoE and PPP in GRE share the MPLS and PPP walkers with the sFlow
    /// headers: MPLS over PPP is followed wherever PPP is.
    #[test]
    fn shared_mpls_and_ppp_walkers() {
        let mut mpls = label(false).to_vec();
        mpls.extend_from_slice(&label(true));
        mpls.push(0x45);
        let f = ethernet_frame(ethertype::MPLS, &mpls);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv4(22), flag::MPLS));

        let mut pppoe = vec![0x11, 0, 0, 1, 0, 6, 0x02, 0x81];
        pppoe.extend_from_slice(&label(true));
        pppoe.push(0x60);
        let f = ethernet_frame(ethertype::PPPOE_SESSION, &pppoe);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv6(26), flag::MPLS));
        let f = ethernet_frame(
            ethertype::PPPOE_SESSION,
            &[0x11, 0, 0, 1, 0, 2, 0, 0x21, 0x45],
        );
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv4(22), 0));
        let f = ethernet_frame(ethertype::PPPOE_SESSION, &[0x11, 0, 0, 1, 0, 2, 0xc0, 0x21]);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n.payload, Payload::Other(ethertype::PPPOE_SESSION));

        // PPP in GRE (from offset 4): with and without address/control, compressed protocol.
        let gre = [0, 0, 0, 0, 0xff, 0x03, 0x00, 0x57, 0x60];
        let n = gre_payload(&gre, ethertype::PPP, 4).unwrap();
        assert_eq!(n, net(Payload::Ipv6(8), 0));
        let gre = [0, 0, 0, 0, 0x21, 0x45];
        assert_eq!(
            gre_payload(&gre, ethertype::PPP, 4).unwrap(),
            net(Payload::Ipv4(5), 0)
        );
        let gre = [0, 0, 0, 0, 0xff, 0x03];
        let e = gre_payload(&gre, ethertype::PPP, 4).unwrap_err();
        assert_eq!(e.reason(), "ppp.truncated");
        assert_eq!(e.offset(), Some(4));
    }
}
