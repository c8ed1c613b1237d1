//! Link layers: find where the network-layer packet starts in a frame.

use crate::error::{DecodeError, Layer};
use crate::observe::flag;

/// LINKTYPE values this crate decodes (pcap-linktype(7)).
pub mod linktype {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: u16 = 0;
    /// Ethernet II.
    pub const ETHERNET: u16 = 1;
    /// PPP (RFC 1661), with or without the HDLC-like address and control bytes (RFC 1662).
    pub const PPP: u16 = 9;
    /// PPP in HDLC-like framing, or Cisco HDLC (first byte 0x0f / 0x8f).
    pub const PPP_HDLC: u16 = 50;
    /// PPPoE (RFC 2516): a PPPoE header, no Ethernet header before it.
    pub const PPP_ETHER: u16 = 51;
    /// Cisco HDLC (RFC 1547 §4.3.1).
    pub const C_HDLC: u16 = 104;
    /// Frame relay: a Q.922 address, no FCS.
    pub const FRELAY: u16 = 107;
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
        // Serial links of routers (packet over SONET, leased lines): the walkers that read
        // the same headers inside GRE and sFlow records.
        linktype::PPP => ppp(data, 0),
        linktype::PPP_HDLC | linktype::C_HDLC => pos(data, 0),
        linktype::PPP_ETHER => after_ethertype(data, ethertype::PPPOE_SESSION, 0, 0),
        linktype::FRELAY => frame_relay(data, 0),
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

/// Ethernet II at `at`, then any VLAN tags, MPLS labels (and Ethernet pseudowires inside
/// them) or PPPoE. A type field of at most [`MAX_8023_LENGTH`] is an 802.3 length: an LLC
/// header follows, and a SNAP one carries the EtherType.
#[inline]
pub fn ethernet(data: &[u8], at: usize) -> Result<Network, DecodeError> {
    let ethertype = be16(data, at + 12, Layer::Ethernet, at)?;
    // Untagged IP without entering the walk: most frames are.
    match ethertype {
        ethertype::IPV4 => Ok(net(Payload::Ipv4(at + 14), 0)),
        ethertype::IPV6 => Ok(net(Payload::Ipv6(at + 14), 0)),
        _ => walk(data, ethertype, at + 14, 0, true),
    }
}

/// The largest 802.3 length field; type fields above it (from 0x0600) are EtherTypes.
pub const MAX_8023_LENGTH: u16 = 1500;

/// Link headers walked at most after the first EtherType: VLAN tags, MPLS label stacks,
/// PPPoE and LLC/SNAP headers, Ethernet frames of pseudowires. Every header moves the walk
/// forward and nothing recurses, so a frame of stacked headers cannot make us loop long or
/// nest deep; at the bound the frame is not IP.
const MAX_LINK_STEPS: usize = 16;

/// Follow an EtherType at `at` through tags and labels to the network layer.
#[inline]
fn after_ethertype(
    data: &[u8],
    ethertype: u16,
    at: usize,
    flags: u16,
) -> Result<Network, DecodeError> {
    walk(data, ethertype, at, flags, false)
}

/// The link walker: `ethertype` names what starts at `at`. `type_field` says it was read
/// from an Ethernet type/length field (of the frame, a VLAN tag or a pseudowire's Ethernet
/// frame), where values up to [`MAX_8023_LENGTH`] are lengths; other protocol fields (Linux
/// cooked, GRE, PPP, frame relay) carry only EtherTypes.
///
/// Always inlined with the rarer headers out of line in [`step`]: with the whole walk inlined
/// (or called), decoding an Ethernet flood took 4–7 % longer (1 ns a frame, A/B on 20,000
/// frames of `bench/gencap.c` with and without a VLAN tag).
#[inline(always)]
fn walk(
    data: &[u8],
    mut ethertype: u16,
    mut at: usize,
    mut flags: u16,
    mut type_field: bool,
) -> Result<Network, DecodeError> {
    for _ in 0..MAX_LINK_STEPS {
        match ethertype {
            ethertype::IPV4 => return Ok(net(Payload::Ipv4(at), flags)),
            ethertype::IPV6 => return Ok(net(Payload::Ipv6(at), flags)),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => {
                ethertype = be16(data, at + 2, Layer::Vlan, at)?;
                at += 4;
                flags |= flag::VLAN;
                type_field = true;
            }
            // The rest out of line, so that tags and IP stay a tight loop.
            _ => match step(data, ethertype, at, flags, type_field)? {
                Step::Done(n) => return Ok(n),
                Step::Next(e, a, f, t) => (ethertype, at, flags, type_field) = (e, a, f, t),
            },
        }
    }
    Ok(net(Payload::Other(ethertype), flags))
}

/// Where one step of [`walk`] leaves it.
enum Step {
    /// At the network layer, or at something that is not IP.
    Done(Network),
    /// At another header: its EtherType, offset, the flags so far and whether its type was
    /// an Ethernet type/length field.
    Next(u16, usize, u16, bool),
}

/// One step of [`walk`] over a header other than a VLAN tag: an MPLS label stack (and an
/// Ethernet pseudowire behind it), PPPoE, or the LLC header of an 802.3 frame.
#[inline(never)]
fn step(
    data: &[u8],
    ethertype: u16,
    at: usize,
    flags: u16,
    type_field: bool,
) -> Result<Step, DecodeError> {
    Ok(match ethertype {
        ethertype::MPLS | ethertype::MPLS_MCAST => {
            let flags = flags | flag::MPLS;
            let at = mpls_labels(data, at)?;
            match data.get(at).map(|b| b >> 4) {
                Some(4) => Step::Done(net(Payload::Ipv4(at), flags)),
                Some(6) => Step::Done(net(Payload::Ipv6(at), flags)),
                Some(0) => {
                    // An Ethernet pseudowire with its control word (RFC 4448, RFC 4385:
                    // first nibble 0), as tshark takes it unless the next 12 bytes are MAC
                    // addresses of known vendors (Ethernet without a control word, which is
                    // not followed).
                    if data.len() < at + 4 {
                        return Err(truncated(Layer::Mpls, at, 4, data));
                    }
                    let eth = at + 4;
                    let inner = be16(data, eth + 12, Layer::Ethernet, eth)?;
                    Step::Next(inner, eth + 14, flags, true)
                }
                // No type field says what else it is (a PW associated channel, a
                // pseudowire without control word, …).
                _ => Step::Done(net(Payload::Other(ethertype::MPLS), flags)),
            }
        }
        ethertype::PPPOE_SESSION => {
            let proto = be16(data, at + 6, Layer::Pppoe, at)?;
            match ppp_ethertype(proto) {
                Some(inner) => Step::Next(inner, at + 8, flags, false),
                None => Step::Done(net(Payload::Other(ethertype::PPPOE_SESSION), flags)),
            }
        }
        length if type_field && length <= MAX_8023_LENGTH => match llc_snap(data, at)? {
            Some(inner) => Step::Next(inner, at + 8, flags, false),
            None => Step::Done(net(Payload::Other(length), flags)),
        },
        other => Step::Done(net(Payload::Other(other), flags)),
    })
}

/// The 802.2 LLC header of an 802.3 frame at `at`: SNAP (DSAP and SSAP 0xaa, control 0x03
/// for UI) with the OUI 00-00-00 (RFC 1042) carries an EtherType, which is returned; any
/// other LLC frame (spanning tree, NetBIOS, IPX, a SNAP of another organisation) is `None`.
///
/// # Errors
/// Fewer than the 3 bytes of an LLC header, or a SNAP header cut before its EtherType.
#[inline]
fn llc_snap(data: &[u8], at: usize) -> Result<Option<u16>, DecodeError> {
    let Some(llc) = data.get(at..at + 3) else {
        return Err(truncated(Layer::Llc, at, 3, data));
    };
    if llc != [0xaa, 0xaa, 0x03] {
        return Ok(None);
    }
    let Some(snap) = data.get(at + 3..at + 8) else {
        return Err(truncated(Layer::Llc, at, 8, data));
    };
    if snap[..3] != [0, 0, 0] {
        return Ok(None);
    }
    Ok(Some(u16::from_be_bytes([snap[3], snap[4]])))
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
/// the bottom-of-stack bit; what follows has no type field, so its first nibble decides, as
/// in tshark: 4 IPv4, 6 IPv6, 0 a pseudowire control word and an Ethernet frame (followed
/// like any Ethernet frame), anything else `Other(MPLS)`.
#[inline]
pub(crate) fn mpls(data: &[u8], at: usize, flags: u16) -> Result<Network, DecodeError> {
    after_ethertype(data, ethertype::MPLS, at, flags)
}

/// The offset after the MPLS label stack at `at`: after the entry with the bottom-of-stack
/// bit.
#[inline]
fn mpls_labels(data: &[u8], mut at: usize) -> Result<usize, DecodeError> {
    loop {
        let Some(label) = data.get(at..at + 4) else {
            return Err(truncated(Layer::Mpls, at, 4, data));
        };
        at += 4;
        if label[2] & 1 == 1 {
            return Ok(at);
        }
    }
}

/// The EtherType of what a PPP protocol field `proto` names, for the protocols the walker
/// follows (IPv4, IPv6, MPLS); `None` for the others (LCP, IPCP, …).
#[inline]
fn ppp_ethertype(proto: u16) -> Option<u16> {
    match proto {
        ppp_protocol::IPV4 => Some(ethertype::IPV4),
        ppp_protocol::IPV6 => Some(ethertype::IPV6),
        ppp_protocol::MPLS => Some(ethertype::MPLS),
        ppp_protocol::MPLS_MCAST => Some(ethertype::MPLS_MCAST),
        _ => None,
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
    match ppp_ethertype(proto) {
        Some(inner) => after_ethertype(data, inner, p + len, 0),
        None => Ok(net(Payload::Other(ethertype::PPP), 0)),
    }
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

    /// The serial link types of pcap (PPP, PPP in HDLC framing, Cisco HDLC, PPPoE without
    /// Ethernet, frame relay) find IP where tshark does; a frame cut in the link header is
    /// truncated, and other protocols are not IP.
    #[test]
    fn serial_link_types() {
        let cases: [(u16, &[u8], Payload); 11] = [
            (
                linktype::PPP,
                &[0xff, 0x03, 0x00, 0x21, 0x45],
                Payload::Ipv4(4),
            ),
            (linktype::PPP, &[0x00, 0x57, 0x60], Payload::Ipv6(2)),
            // Protocol field compression: one byte with its low bit set.
            (linktype::PPP, &[0x21, 0x45], Payload::Ipv4(1)),
            (
                linktype::PPP,
                &[0xc0, 0x21, 0x01],
                Payload::Other(ethertype::PPP),
            ),
            (
                linktype::PPP_HDLC,
                &[0xff, 0x03, 0x00, 0x21, 0x45],
                Payload::Ipv4(4),
            ),
            (
                linktype::PPP_HDLC,
                &[0x0f, 0x00, 0x08, 0x00, 0x45],
                Payload::Ipv4(4),
            ),
            (
                linktype::C_HDLC,
                &[0x8f, 0x00, 0x86, 0xdd, 0x60],
                Payload::Ipv6(4),
            ),
            (
                linktype::C_HDLC,
                &[0x0f, 0x00, 0x80, 0x35],
                Payload::Other(0x8035),
            ),
            (
                linktype::PPP_ETHER,
                &[0x11, 0, 0, 1, 0, 2, 0, 0x21, 0x45],
                Payload::Ipv4(8),
            ),
            // Q.922 address, UI, NLPID IPv4 (RFC 2427).
            (
                linktype::FRELAY,
                &[0x18, 0x41, 0x03, 0xcc, 0x45],
                Payload::Ipv4(4),
            ),
            // Cisco's frame relay encapsulation: an EtherType after the address.
            (
                linktype::FRELAY,
                &[0x18, 0x41, 0x08, 0x00, 0x45],
                Payload::Ipv4(4),
            ),
        ];
        for (link, frame, want) in cases {
            let n = network_layer(link, frame).unwrap_or_else(|e| panic!("{link} {frame:?}: {e}"));
            assert_eq!(n.payload, want, "link type {link}, {frame:?}");
        }
        for (link, frame) in [
            (linktype::PPP, &[0xff, 0x03][..]),
            (linktype::C_HDLC, &[0x0f, 0x00, 0x08][..]),
            (linktype::PPP_ETHER, &[0x11, 0, 0, 1, 0, 2, 0][..]),
            (linktype::FRELAY, &[0x18][..]),
        ] {
            assert!(
                matches!(
                    network_layer(link, frame),
                    Err(DecodeError::Truncated { .. })
                ),
                "link type {link}, {frame:?}: {:?}",
                network_layer(link, frame)
            );
        }
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

    /// Decode `f` at every cut: a truncated header error that says where (at or before the
    /// cut, with what is left), or what the whole frame gives. (A cut right after an MPLS
    /// label stack leaves no first nibble to tell the payload by: not IP.)
    fn check_cuts(what: &str, lt: u16, f: &[u8]) {
        let full = network_layer(lt, f).unwrap();
        for cut in 0..f.len() {
            let at_stack_end = cut >= 4 && f[cut - 4..cut] == label(true);
            match network_layer(lt, &f[..cut]) {
                Ok(Network {
                    payload: Payload::Other(ethertype::MPLS),
                    ..
                }) if at_stack_end => {}
                Err(DecodeError::Truncated {
                    offset, need, have, ..
                }) => {
                    assert!(offset <= cut && offset + have == cut, "{what} cut {cut}");
                    assert!(need > have, "{what} cut {cut}");
                }
                Err(e) => panic!("{what} cut {cut}: {e}"),
                // The payload offset may lie past the cut: the IP decoder reports that.
                Ok(n) => assert_eq!(n, full, "{what} cut {cut}"),
            }
        }
    }

    /// An IPv4 header's first bytes, enough for the walkers' nibble checks.
    const IP4: [u8; 4] = [0x45, 0, 0, 40];

    /// EoMPLS: an Ethernet pseudowire with its control word (first nibble 0) carries an
    /// Ethernet frame, walked like any other (/tmp/rev-exact's `d3_eompls.pcap`; tshark:
    /// `eth:ethertype:mpls:pwethheuristic:pwethcw:eth:ethertype:ip:tcp`).
    #[test]
    fn mpls_pseudowire_with_control_word() {
        let mut pw = label(true).to_vec();
        pw.extend_from_slice(&[0, 0, 0, 0]);
        let inner = ethernet_frame(ethertype::IPV4, &IP4);
        pw.extend_from_slice(&inner);
        let f = ethernet_frame(ethertype::MPLS, &pw);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv4(36), flag::MPLS));
        check_cuts("eompls", linktype::ETHERNET, &f);

        // A tagged inner frame, IPv6, two labels, and the same pseudowire in an sFlow MPLS
        // header, over PPP, and in PPPoE.
        let mut pw = label(false).to_vec();
        pw.extend_from_slice(&label(true));
        pw.extend_from_slice(&[0, 0, 0, 7]);
        pw.extend_from_slice(&ethernet_frame(ethertype::VLAN, &[0, 5, 0x86, 0xdd, 0x60]));
        let f = ethernet_frame(ethertype::MPLS, &pw);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv6(44), flag::MPLS | flag::VLAN));
        check_cuts("eompls vlan", linktype::ETHERNET, &f);
        let n = mpls(&pw, 0, 0).unwrap();
        assert_eq!(n, net(Payload::Ipv6(30), flag::MPLS | flag::VLAN));
        let mut p = vec![0xff, 0x03, 0x02, 0x81];
        p.extend_from_slice(&pw);
        assert_eq!(ppp(&p, 0).unwrap().payload, Payload::Ipv6(34));
        let mut pppoe = vec![0x11, 0, 0, 1, 0, 40, 0x02, 0x81];
        pppoe.extend_from_slice(&pw);
        let f = ethernet_frame(ethertype::PPPOE_SESSION, &pppoe);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv6(52), flag::MPLS | flag::VLAN));

        // A pseudowire carrying ARP is not IP; other first nibbles stay unknown.
        let mut pw = label(true).to_vec();
        pw.extend_from_slice(&[0, 0, 0, 0]);
        pw.extend_from_slice(&ethernet_frame(0x0806, &[0, 1]));
        let f = ethernet_frame(ethertype::MPLS, &pw);
        assert_eq!(
            network_layer(linktype::ETHERNET, &f).unwrap(),
            net(Payload::Other(0x0806), flag::MPLS)
        );
        for first in [0x10, 0x20, 0x50, 0xa0] {
            let mut pw = label(true).to_vec();
            pw.push(first);
            pw.extend_from_slice(&[0; 30]);
            let f = ethernet_frame(ethertype::MPLS, &pw);
            assert_eq!(
                network_layer(linktype::ETHERNET, &f).unwrap(),
                net(Payload::Other(ethertype::MPLS), flag::MPLS)
            );
        }
    }

    /// 802.3 frames (a length, not an EtherType) with LLC/SNAP, OUI 00-00-00, carry an
    /// EtherType (/tmp/rev-exact's `d3_llcsnap.pcap`; tshark: `eth:llc:ip:tcp`); other
    /// LLC frames are not IP.
    #[test]
    fn llc_snap() {
        let snap = |oui: u8, et: u16, rest: &[u8]| {
            let mut v = vec![0xaa, 0xaa, 0x03, 0, 0, oui];
            v.extend_from_slice(&et.to_be_bytes());
            v.extend_from_slice(rest);
            v
        };
        let f = ethernet_frame(0x0030, &snap(0, ethertype::IPV4, &IP4));
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv4(22), 0));
        check_cuts("llc/snap", linktype::ETHERNET, &f);
        let f = ethernet_frame(1500, &snap(0, ethertype::IPV6, &[0x60]));
        assert_eq!(network_layer(1, &f).unwrap().payload, Payload::Ipv6(22));
        // Behind a VLAN tag, and in a pseudowire.
        let mut tagged = vec![0, 9, 0, 0x30];
        tagged.extend_from_slice(&snap(0, ethertype::IPV4, &IP4));
        let f = ethernet_frame(ethertype::VLAN, &tagged);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv4(26), flag::VLAN));
        check_cuts("vlan llc/snap", linktype::ETHERNET, &f);
        let mut pw = label(true).to_vec();
        pw.extend_from_slice(&[0, 0, 0, 0]);
        pw.extend_from_slice(&ethernet_frame(0x0030, &snap(0, ethertype::IPV4, &IP4)));
        let f = ethernet_frame(ethertype::MPLS, &pw);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv4(44), flag::MPLS));

        // Spanning tree (DSAP 0x42), a SNAP of another organisation (Cisco CDP), and a
        // SNAP whose EtherType is again a length.
        let stp = ethernet_frame(0x0027, &[0x42, 0x42, 0x03, 0, 0, 0, 0]);
        assert_eq!(
            network_layer(1, &stp).unwrap().payload,
            Payload::Other(0x27)
        );
        let cdp = ethernet_frame(0x0100, &snap(0x0c, 0x2000, &[2]));
        assert_eq!(
            network_layer(1, &cdp).unwrap().payload,
            Payload::Other(0x100)
        );
        let f = ethernet_frame(0x0030, &snap(0, 0x0030, &snap(0, ethertype::IPV4, &IP4)));
        assert_eq!(network_layer(1, &f).unwrap().payload, Payload::Other(0x30));

        // Only Ethernet type/length fields hold lengths: a Linux cooked protocol of 4 or a
        // GRE protocol type of 0 is not followed into LLC, even when nothing follows.
        let mut sll = vec![0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4];
        sll.extend_from_slice(&snap(0, ethertype::IPV4, &IP4));
        assert_eq!(network_layer(113, &sll).unwrap().payload, Payload::Other(4));
        assert_eq!(
            gre_payload(&[0; 4], 0, 4).unwrap().payload,
            Payload::Other(0)
        );
    }

    /// The two frames of /tmp/rev-exact's `d3_eompls.pcap` and `d3_llcsnap.pcap` decode to
    /// the TCP SYN tshark shows in them (they were not IP).
    #[test]
    fn eompls_and_llc_snap_frames_are_tcp_syns() {
        let eompls = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x88, 0x47,
            0x00, 0x12, 0xc1, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
            0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x00, 0x01,
            0x00, 0x00, 0x40, 0x06, 0xae, 0xb5, 0xc0, 0x00, 0x02, 0x01, 0x0a, 0x15, 0x00, 0x04,
            0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
            0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
        ];
        let llc = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x30,
            0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x00, 0x01,
            0x00, 0x00, 0x40, 0x06, 0xae, 0xb8, 0xc0, 0x00, 0x02, 0x01, 0x0a, 0x15, 0x00, 0x01,
            0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
            0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
        ];
        for (f, dst) in [(&eompls[..], [10, 21, 0, 4]), (&llc[..], [10, 21, 0, 1])] {
            let Ok(crate::Frame::Ip(obs)) = crate::observe_frame(1, f, 0, f.len() as u32) else {
                panic!("{dst:?}")
            };
            assert_eq!(obs.dst, std::net::Ipv4Addr::from(dst));
            assert_eq!(
                (obs.proto, obs.sport, obs.dport, obs.tcp_flags),
                (6, 1234, 80, 2)
            );
        }
    }

    /// Pseudowires nest without recursion: a frame of a thousand of them inside each other
    /// is walked a bounded number of steps and is not IP.
    #[test]
    fn nested_pseudowires_are_bounded() {
        // `depth` Ethernet pseudowires (MPLS, control word) inside each other around IPv4.
        let nested = |depth: usize| {
            let mut f = Vec::new();
            for _ in 0..depth {
                f.extend_from_slice(&[0; 12]);
                f.extend_from_slice(&ethertype::MPLS.to_be_bytes());
                f.extend_from_slice(&label(true));
                f.extend_from_slice(&[0, 0, 0, 0]);
            }
            f.extend_from_slice(&ethernet_frame(ethertype::IPV4, &IP4));
            f
        };
        let f = nested(1000);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Other(ethertype::MPLS), flag::MPLS));
        // Within the bound, it is followed to the end.
        let f = nested(7);
        let n = network_layer(linktype::ETHERNET, &f).unwrap();
        assert_eq!(n, net(Payload::Ipv4(f.len() - 4), flag::MPLS));
    }
}
