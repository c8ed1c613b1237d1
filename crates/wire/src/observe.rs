//! [`Observation`]: the one small value every later stage consumes, and [`observe_frame`],
//! which turns a captured frame into it.

use core::net::IpAddr;

use crate::error::DecodeError;
use crate::{ip, link, peek, transport};

/// How an IP packet relates to fragmentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fragment {
    /// Not fragmented.
    #[default]
    None,
    /// First fragment (offset 0, more fragments): carries the L4 header.
    First,
    /// A later fragment: no L4 header, counted as a fragment only.
    Later,
}

/// Encapsulation of the observed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encap {
    /// Plain IP.
    #[default]
    None,
    /// GRE carrying IP (IPv4 or IPv6).
    GreIp,
    /// GRE carrying Ethernet (transparent Ethernet bridging, 0x6558).
    GreEth,
    /// GRE carrying something else (PPP with no IP inside, unknown protocol types).
    GreOther,
}

/// Where an observation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Origin {
    /// A captured packet.
    #[default]
    Packet,
    /// A flow record (counts already multiplied by the sampling rate).
    Flow,
}

/// Summary of TCP options: their kinds in order and the values that fingerprint stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpOptions {
    /// Option kinds in wire order, first option in the most significant used byte
    /// (up to the first 8 options; NOP = 1 included, EOL ends the list).
    pub kinds: u64,
    /// Number of options (may exceed 8; `kinds` keeps the first 8).
    pub count: u8,
    /// MSS value (0 if absent).
    pub mss: u16,
    /// Window-scale shift (0xff if absent).
    pub wscale: u8,
    /// The option area could not be walked to its end (bad length or cut by snaplen).
    pub malformed: bool,
}

/// Header of the packet carried inside a GRE tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Inner {
    /// GRE protocol type (EtherType), 0 when not encapsulated.
    pub gre_protocol: u16,
    /// Inner IP protocol (0 when not decoded).
    pub proto: u8,
    /// Inner source port (TCP/UDP).
    pub sport: u16,
    /// Inner destination port (TCP/UDP).
    pub dport: u16,
    /// Inner destination address equals the outer destination (Mirai's `gcip` option).
    pub dst_is_outer_dst: bool,
}

/// Bits of [`Observation::flags`].
pub mod flag {
    /// The L4 header is incomplete in the capture (snaplen or damaged packet).
    pub const L4_TRUNCATED: u16 = 1 << 0;
    /// The IPv4 header carries options.
    pub const IPV4_OPTIONS: u16 = 1 << 1;
    /// IPv6 extension headers were walked.
    pub const IPV6_EXT: u16 = 1 << 2;
    /// IPv4 Don't Fragment bit.
    pub const DONT_FRAGMENT: u16 = 1 << 3;
    /// The declared IP length (IPv4 total length, IPv6 payload length + 40) exceeds what
    /// the frame carried after its link-layer headers: its original length, whatever a
    /// snaplen cut off, minus the bytes before the IP header. [`super::Observation::bytes`]
    /// is then what the frame carried; [`super::Observation::ip_len`] stays as declared.
    pub const IP_LENGTH_MISMATCH: u16 = 1 << 4;
    /// The packet was found inside a GRE tunnel's outer packet (see [`super::Encap`]).
    pub const ENCAPSULATED: u16 = 1 << 5;
    /// 802.1Q / 802.1ad tags were present.
    pub const VLAN: u16 = 1 << 6;
    /// MPLS labels were present.
    pub const MPLS: u16 = 1 << 7;
    /// The transport protocol has ports (TCP, UDP, SCTP, DCCP) but the packet does not show
    /// them: its header was cut before them (with [`L4_TRUNCATED`]). `sport` and `dport`
    /// are then 0 without meaning port 0; see [`super::Observation::ports_known`].
    pub const PORTS_UNKNOWN: u16 = 1 << 8;
}

/// One packet (or one flow record) reduced to the fields the analysis uses.
///
/// `Copy` and free of heap data, so a decoder can produce one per packet without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Observation {
    /// Timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Source address of the outer IP header.
    pub src: IpAddr,
    /// Destination address of the outer IP header.
    pub dst: IpAddr,
    /// Upper-layer protocol of the outer IP packet (after IPv6 extension headers).
    pub proto: u8,
    /// TCP/UDP source port (0 when none: check [`Observation::ports_known`]).
    pub sport: u16,
    /// TCP/UDP destination port (0 when none).
    pub dport: u16,
    /// TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN), 0 when not TCP.
    pub tcp_flags: u8,
    /// ICMP / ICMPv6 type (0 when not ICMP).
    pub icmp_type: u8,
    /// ICMP / ICMPv6 code.
    pub icmp_code: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification, or the IPv6 fragment header's identification (0 if none).
    pub ip_id: u32,
    /// Fragmentation state.
    pub fragment: Fragment,
    /// TCP sequence number.
    pub tcp_seq: u32,
    /// TCP acknowledgement number.
    pub tcp_ack: u32,
    /// TCP window.
    pub tcp_window: u16,
    /// TCP options summary.
    pub tcp_options: TcpOptions,
    /// Bytes of L4 payload (from the IP length, not the capture length).
    pub payload_len: u16,
    /// IP length as declared: IPv4 total length, IPv6 payload length + 40.
    pub ip_len: u32,
    /// Frame length on the wire.
    pub wire_len: u32,
    /// Packets this observation stands for (1 for a packet; × sampling for flows).
    pub packets: u64,
    /// IP bytes this observation stands for: for a packet, `ip_len`, but never more than
    /// its frame carried after the link-layer headers ([`flag::IP_LENGTH_MISMATCH`]).
    pub bytes: u64,
    /// Encapsulation.
    pub encap: Encap,
    /// Inner packet summary when `encap` is a GRE variant.
    pub inner: Inner,
    /// Where it came from.
    pub origin: Origin,
    /// Sampling rate applied (1 for packets).
    pub sampling: u32,
    /// See [`flag`].
    pub flags: u16,
    /// What the TCP/UDP payload was recognised as ([`peek::AppHint::None`] without one).
    pub app: peek::AppHint,
}

/// A placeholder: time 0, both addresses `0.0.0.0`, every other field as in
/// [`Observation::new`]. What the in-place decoders (`observe_frame_into`) start from.
impl Default for Observation {
    fn default() -> Self {
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        Observation::new(0, unspecified, unspecified)
    }
}

impl Observation {
    /// Whether `sport` and `dport` are the packet's ports: `false` for a later fragment
    /// (no transport header) and for a transport header cut before its ports
    /// ([`flag::PORTS_UNKNOWN`]), whose 0 is not port 0. Also `true` for protocols
    /// without ports, whose 0 means "none".
    #[inline]
    pub fn ports_known(&self) -> bool {
        self.fragment != Fragment::Later && self.flags & flag::PORTS_UNKNOWN == 0
    }

    /// An observation with addresses set and every other field zero / default.
    pub fn new(ts_ns: u64, src: IpAddr, dst: IpAddr) -> Self {
        Observation {
            ts_ns,
            src,
            dst,
            proto: 0,
            sport: 0,
            dport: 0,
            tcp_flags: 0,
            icmp_type: 0,
            icmp_code: 0,
            ttl: 0,
            ip_id: 0,
            fragment: Fragment::None,
            tcp_seq: 0,
            tcp_ack: 0,
            tcp_window: 0,
            tcp_options: TcpOptions::default(),
            payload_len: 0,
            ip_len: 0,
            wire_len: 0,
            packets: 1,
            bytes: 0,
            encap: Encap::None,
            inner: Inner::default(),
            origin: Origin::Packet,
            sampling: 1,
            flags: 0,
            app: peek::AppHint::None,
        }
    }
}

/// The result of decoding one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// An IP packet.
    Ip(Observation),
    /// A frame that carries no IP (ARP, LLDP, STP, …), with its EtherType or link protocol.
    NonIp {
        /// EtherType (or equivalent) of the payload; 0 when unknown.
        ethertype: u16,
    },
}

/// Decode a captured frame of link type `link_type` into an [`Observation`].
///
/// `wire_len` is the frame's original length; `data` may be shorter (snaplen).
///
/// # Errors
/// A header whose structure is impossible (e.g. IPv4 IHL below 5), a frame cut before the
/// IP header is complete, or an unsupported link type. Cuts inside the transport header
/// are not errors: the observation is returned with [`flag::L4_TRUNCATED`].
#[inline]
pub fn observe_frame(
    link_type: u16,
    data: &[u8],
    ts_ns: u64,
    wire_len: u32,
) -> Result<Frame, DecodeError> {
    observe_frame_with(link_type, data, ts_ns, wire_len, true)
}

/// [`observe_frame`], choosing which payloads to classify ([`Observation::app`]): a
/// [`peek::PeekMode`], or `true` / `false` for all / none. The payload peek costs about a
/// third of the decode on a random-payload flood, so hot paths pass
/// [`peek::PeekMode::Analysis`] (or `false` when they do not use `app`).
///
/// # Errors
/// As [`observe_frame`].
#[inline]
pub fn observe_frame_with(
    link_type: u16,
    data: &[u8],
    ts_ns: u64,
    wire_len: u32,
    peek: impl Into<peek::PeekMode>,
) -> Result<Frame, DecodeError> {
    let mut obs = Observation::default();
    Ok(
        match observe_frame_into(link_type, data, ts_ns, wire_len, peek.into(), &mut obs)? {
            None => Frame::Ip(obs),
            Some(ethertype) => Frame::NonIp { ethertype },
        },
    )
}

/// [`observe_frame_with`] writing an IP packet's observation into `obs` (`Ok(None)`) rather
/// than returning it: the observation is about 150 bytes, and building it where it is
/// used saves two copies per packet on the hot path. `Ok(Some(ethertype))` for a frame
/// without IP (then `obs` is left as it was).
///
/// # Errors
/// As [`observe_frame`]; `obs` is then unspecified.
#[inline]
pub fn observe_frame_into(
    link_type: u16,
    data: &[u8],
    ts_ns: u64,
    wire_len: u32,
    peek: peek::PeekMode,
    obs: &mut Observation,
) -> Result<Option<u16>, DecodeError> {
    let net = link::network_layer(link_type, data)?;
    observe_network_into(data, net, ts_ns, wire_len, peek, obs)
}

/// The part of [`observe_frame_into`] after the link layer: `net` says where in `data` the
/// network layer starts (from [`link::network_layer`], or a link walker for a frame that
/// is not in a capture, such as an sFlow sampled header).
///
/// # Errors
/// As [`observe_frame`], for the IP header.
#[inline]
pub(crate) fn observe_network_into(
    data: &[u8],
    net: link::Network,
    ts_ns: u64,
    wire_len: u32,
    peek: peek::PeekMode,
    obs: &mut Observation,
) -> Result<Option<u16>, DecodeError> {
    let (ip_at, l4) = match net.payload {
        link::Payload::Ipv4(at) => (at, ip::observe_ipv4_into(data, at, ts_ns, obs)?),
        link::Payload::Ipv6(at) => {
            let (o, l4) = ip::observe_ipv6(data, at, ts_ns)?;
            *obs = o;
            (at, l4)
        }
        link::Payload::Other(ethertype) => return Ok(Some(ethertype)),
    };
    obs.wire_len = wire_len;
    obs.flags |= net.flags;
    // The frame on the wire (not the captured part: a snaplen cut does not matter) bounds
    // the IP packet it carried after its link-layer headers. A longer declared length is
    // forged or damaged; counting it would let a flood of 60-byte frames that claim 65,535
    // bytes each overstate its volume a thousandfold.
    let carried = (wire_len as usize).max(data.len()).saturating_sub(ip_at);
    if obs.ip_len as usize > carried {
        obs.flags |= flag::IP_LENGTH_MISMATCH;
        obs.bytes = carried as u64;
    }
    if obs.fragment != Fragment::Later {
        transport::observe_l4(data, l4, obs, true, peek);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::RecordReader;

    /// Every frame of the fixtures in `tests/data/` (see its README), with its link type.
    /// Raw-IP frames are also offered as link types 12 and 14 (other names for raw IP).
    fn frames() -> Vec<(String, u16, Vec<u8>)> {
        let files: [(&str, &[u8]); 15] = [
            (
                "pcap_le_usec_ether.pcap",
                include_bytes!("../tests/data/pcap_le_usec_ether.pcap"),
            ),
            (
                "pcap_be_nsec_ether.pcap",
                include_bytes!("../tests/data/pcap_be_nsec_ether.pcap"),
            ),
            (
                "pcap_snaplen_cut.pcap",
                include_bytes!("../tests/data/pcap_snaplen_cut.pcap"),
            ),
            (
                "pcap_vlan_qinq.pcap",
                include_bytes!("../tests/data/pcap_vlan_qinq.pcap"),
            ),
            (
                "pcap_sll.pcap",
                include_bytes!("../tests/data/pcap_sll.pcap"),
            ),
            (
                "pcap_sll2.pcap",
                include_bytes!("../tests/data/pcap_sll2.pcap"),
            ),
            (
                "pcap_raw_ip.pcap",
                include_bytes!("../tests/data/pcap_raw_ip.pcap"),
            ),
            (
                "pcap_raw_ipv4.pcap",
                include_bytes!("../tests/data/pcap_raw_ipv4.pcap"),
            ),
            (
                "pcap_raw_ipv6.pcap",
                include_bytes!("../tests/data/pcap_raw_ipv6.pcap"),
            ),
            (
                "pcap_null_le.pcap",
                include_bytes!("../tests/data/pcap_null_le.pcap"),
            ),
            (
                "pcap_null_be.pcap",
                include_bytes!("../tests/data/pcap_null_be.pcap"),
            ),
            (
                "pcap_loop_be.pcap",
                include_bytes!("../tests/data/pcap_loop_be.pcap"),
            ),
            (
                "gre_ip_and_eth.pcap",
                include_bytes!("../tests/data/gre_ip_and_eth.pcap"),
            ),
            (
                "pcapng_multi_if.pcapng",
                include_bytes!("../tests/data/pcapng_multi_if.pcapng"),
            ),
            (
                "pcapng_be.pcapng",
                include_bytes!("../tests/data/pcapng_be.pcapng"),
            ),
        ];
        let mut out = Vec::new();
        for (name, bytes) in files {
            let mut reader = RecordReader::open(bytes).unwrap();
            while let Some(rec) = reader.next() {
                let rec = rec.unwrap();
                let label = format!("{name} frame {}", rec.number);
                out.push((label.clone(), rec.link_type, rec.data.to_vec()));
                if rec.link_type == crate::link::linktype::RAW {
                    for lt in [
                        crate::link::linktype::DLT_RAW_12,
                        crate::link::linktype::DLT_RAW_14,
                    ] {
                        out.push((format!("{label} as {lt}"), lt, rec.data.to_vec()));
                    }
                }
            }
        }
        out
    }

    /// An Ethernet frame (VLAN-tagged when `vlan`) carrying IPv4/UDP that declares
    /// `total` bytes; `udp` bytes of UDP follow the IP header.
    fn ipv4_udp(vlan: bool, total: u16, udp: usize) -> Vec<u8> {
        let mut f = vec![
            0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
        ];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        let [hi, lo] = total.to_be_bytes();
        f.extend_from_slice(&[0x45, 0, hi, lo, 0, 1, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[198, 51, 100, 1, 10, 23, 0, 1]);
        f.extend_from_slice(&[0, 53, 0x04, 0xd2, 0, 18, 0, 0]);
        f.resize(f.len() + udp.saturating_sub(8), b'q');
        f
    }

    fn ip(obs: Result<Frame, DecodeError>) -> Observation {
        match obs {
            Ok(Frame::Ip(o)) => o,
            other => panic!("not an IP packet: {other:?}"),
        }
    }

    /// d2_iplen_gt_wire.pcap of the review: a 56-byte frame declaring a total length of
    /// 65,535 counted 65,535 IP bytes, so 1,000 of them in a second made a 524 Mb/s peak
    /// (capinfos: 448 kb/s on the wire). IP bytes are what the frame carried after its
    /// link-layer headers; the declared length stays in `ip_len`, and the packet is flagged.
    #[test]
    fn ip_bytes_never_exceed_what_the_frame_carried() {
        let liar = ipv4_udp(false, 65535, 22);
        assert_eq!(liar.len(), 56);
        let o = ip(observe_frame(1, &liar, 0, 56));
        assert_eq!((o.ip_len, o.bytes, o.wire_len), (65535, 42, 56));
        assert_ne!(o.flags & flag::IP_LENGTH_MISMATCH, 0);
        // Behind a VLAN tag: four more link-layer bytes before the IP header.
        let tagged = ipv4_udp(true, 65535, 22);
        let o = ip(observe_frame(1, &tagged, 0, tagged.len() as u32));
        assert_eq!((o.ip_len, o.bytes), (65535, 42));
        // Cut by a snaplen after the UDP header: the original length allows 1,500 bytes,
        // and they count; with an original length no longer than the cut they do not.
        let full = ipv4_udp(false, 1500, 1480);
        let o = ip(observe_frame(1, &full[..42], 0, 1514));
        assert_eq!((o.ip_len, o.bytes), (1500, 1500));
        assert_eq!(o.flags & flag::IP_LENGTH_MISMATCH, 0);
        let o = ip(observe_frame(1, &full[..42], 0, 42));
        assert_eq!((o.ip_len, o.bytes), (1500, 28));
        assert_ne!(o.flags & flag::IP_LENGTH_MISMATCH, 0);
        // A declared length that fits exactly, and one padded to Ethernet's minimum.
        for (total, udp, frame_len) in [(42u16, 22, 56), (28, 8, 60)] {
            let mut f = ipv4_udp(false, total, udp);
            f.resize(frame_len, 0);
            let o = ip(observe_frame(1, &f, 0, frame_len as u32));
            assert_eq!((o.ip_len, o.bytes), (u32::from(total), u64::from(total)));
            assert_eq!(o.flags & flag::IP_LENGTH_MISMATCH, 0, "total {total}");
        }
        // An original length below what was captured: the captured bytes were on the wire.
        let o = ip(observe_frame(1, &liar, 0, 20));
        assert_eq!((o.ip_len, o.bytes), (65535, 42));
    }

    /// IPv6: the payload length + 40 is capped the same way (raw IPv6, no link header).
    #[test]
    fn ipv6_bytes_never_exceed_what_the_frame_carried() {
        let mut p = vec![0x60, 0, 0, 0, 0x03, 0xe8, 17, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[0, 53, 0x04, 0xd2, 0x03, 0xe8, 0, 0]);
        let o = ip(observe_frame(crate::link::linktype::IPV6, &p, 0, 48));
        assert_eq!((o.ip_len, o.bytes), (1040, 48));
        assert_ne!(o.flags & flag::IP_LENGTH_MISMATCH, 0);
        let o = ip(observe_frame(crate::link::linktype::IPV6, &p, 0, 1040));
        assert_eq!((o.ip_len, o.bytes), (1040, 1040));
        assert_eq!(o.flags & flag::IP_LENGTH_MISMATCH, 0);
    }

    /// GRE: only the outer packet is counted. An inner packet that declares more than the
    /// outer one holds changes nothing; an outer one that does is capped like any other.
    #[test]
    fn gre_is_counted_by_its_outer_length() {
        let mut p = vec![
            0x45, 0, 0, 52, 0, 1, 0, 0, 64, 47, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, // outer
            0, 0, 0x08, 0x00, // GRE, IPv4
            0x45, 0, 0xff, 0xff, 0, 2, 0, 0, 63, 17, 0, 0, 198, 51, 100, 1, 192, 0, 2, 2, 0x82,
            0x35, 0xad, 0x9c, 0, 8, 0, 0, // UDP
        ];
        let o = ip(observe_frame(228, &p, 0, 52));
        assert_eq!((o.ip_len, o.bytes, o.encap), (52, 52, Encap::GreIp));
        assert_eq!(o.flags & flag::IP_LENGTH_MISMATCH, 0);
        p[2..4].copy_from_slice(&9000u16.to_be_bytes());
        let o = ip(observe_frame(228, &p, 0, 52));
        assert_eq!((o.ip_len, o.bytes), (9000, 52));
    }

    /// Cut every frame at every length: the decoder either says which header is truncated
    /// (and the numbers add up), or returns what the whole frame gives, minus what the cut
    /// removed (flagged `L4_TRUNCATED`). Once the IP header fits, every longer cut decodes.
    #[test]
    fn truncated() {
        let frames = frames();
        let link_types: std::collections::BTreeSet<u16> = frames.iter().map(|f| f.1).collect();
        assert_eq!(
            link_types.into_iter().collect::<Vec<_>>(),
            [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]
        );
        for (label, lt, data) in &frames {
            let full = observe_frame(*lt, data, 7, 9000).unwrap();
            let mut decoded_from = None;
            for cut in 0..=data.len() {
                let what = format!("{label} (link type {lt}) cut at {cut}");
                match observe_frame(*lt, &data[..cut], 7, 9000) {
                    Err(DecodeError::Truncated {
                        offset, need, have, ..
                    }) => {
                        assert!(decoded_from.is_none(), "{what}: decoded at a shorter cut");
                        assert!(
                            offset <= cut && offset + have == cut,
                            "{what}: {offset} + {have}"
                        );
                        assert!(need > have, "{what}: need {need}, have {have}");
                    }
                    Err(e) => panic!("{what}: {e}"),
                    Ok(Frame::NonIp { ethertype }) => {
                        assert_eq!(full, Frame::NonIp { ethertype }, "{what}");
                    }
                    Ok(Frame::Ip(obs)) => {
                        decoded_from.get_or_insert(cut);
                        let Frame::Ip(want) = full else {
                            panic!("{what}: IP from a non-IP frame");
                        };
                        if cut == data.len() {
                            assert_eq!(obs, want, "{what}");
                            continue;
                        }
                        let l4_cut = obs.flags & flag::L4_TRUNCATED != 0;
                        let addrs = (obs.src, obs.dst, obs.ttl);
                        assert_eq!(addrs, (want.src, want.dst, want.ttl), "{what}");
                        assert_eq!(obs.ip_len, want.ip_len, "{what}");
                        if obs.proto != want.proto
                            || obs.fragment != want.fragment
                            || obs.ip_id != want.ip_id
                        {
                            // Only an IPv6 extension-header walk stops early.
                            assert!(l4_cut && want.flags & flag::IPV6_EXT != 0, "{what}");
                        }
                        if (obs.sport, obs.dport) != (want.sport, want.dport) {
                            assert!(l4_cut && obs.sport == 0 && obs.dport == 0, "{what}");
                        }
                        if obs.tcp_flags != want.tcp_flags {
                            assert!(l4_cut && obs.tcp_flags == 0, "{what}");
                        }
                        if obs.proto == want.proto {
                            let gre = obs.encap != Encap::None;
                            assert_eq!(gre, want.encap != Encap::None, "{what}");
                        }
                        if obs.inner != want.inner {
                            assert!(l4_cut && obs.inner.sport == 0, "{what}: {:?}", obs.inner);
                        }
                    }
                }
            }
        }
    }
}
