//! IPv4 and IPv6 headers, including IPv4 options, fragments and IPv6 extension headers.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer};
use crate::observe::{flag, Fragment, Observation};

/// Where the transport header of a packet lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4 {
    /// Offset of the transport header in the frame.
    pub at: usize,
    /// End of the captured bytes that belong to the IP packet (≤ frame length).
    pub end: usize,
    /// Length of the transport segment declared by the IP header.
    pub declared_len: usize,
}

mod v4 {
    pub const HEADER_LEN: usize = 20;
    pub const VER_IHL: usize = 0;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

mod v6 {
    pub const HEADER_LEN: usize = 40;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// Decode an IPv4 header at `at`.
///
/// # Errors
/// Fewer than 20 bytes, a version other than 4, IHL below 5, a header longer than the
/// frame, or a total length shorter than the header.
#[inline]
pub fn observe_ipv4(data: &[u8], at: usize, ts_ns: u64) -> Result<(Observation, L4), DecodeError> {
    let mut obs = Observation::default();
    let l4 = observe_ipv4_into(data, at, ts_ns, &mut obs)?;
    Ok((obs, l4))
}

/// [`observe_ipv4`] writing into `obs` (every field is set): the hot path builds the
/// observation where it is used instead of copying it out twice.
///
/// # Errors
/// As [`observe_ipv4`]; `obs` is then unspecified.
#[inline]
pub fn observe_ipv4_into(
    data: &[u8],
    at: usize,
    ts_ns: u64,
    obs: &mut Observation,
) -> Result<L4, DecodeError> {
    let Some(h) = data.get(at..at + v4::HEADER_LEN) else {
        return Err(DecodeError::Truncated {
            layer: Layer::Ipv4,
            offset: at,
            need: v4::HEADER_LEN,
            have: data.len().saturating_sub(at),
        });
    };
    let version = h[v4::VER_IHL] >> 4;
    if version != 4 {
        return Err(DecodeError::BadField {
            layer: Layer::Ipv4,
            field: "ipv4.version",
            offset: at,
            value: version as u32,
        });
    }
    let ihl = (h[v4::VER_IHL] & 0x0f) as usize;
    if ihl < 5 {
        return Err(DecodeError::BadField {
            layer: Layer::Ipv4,
            field: "ipv4.ihl",
            offset: at,
            value: ihl as u32,
        });
    }
    let hlen = ihl * 4;
    let available = data.len() - at;
    if hlen > available {
        return Err(DecodeError::Truncated {
            layer: Layer::Ipv4,
            offset: at,
            need: hlen,
            have: available,
        });
    }
    let mut total = be16(h, v4::TOTAL_LEN) as usize;
    if total == 0 {
        // Segmentation offload on the capturing host leaves the length zero.
        total = available;
    } else if total < hlen {
        return Err(DecodeError::BadField {
            layer: Layer::Ipv4,
            field: "ipv4.total_length",
            offset: at,
            value: total as u32,
        });
    }
    let src = Ipv4Addr::from(be32(h, v4::SRC));
    let dst = Ipv4Addr::from(be32(h, v4::DST));
    *obs = Observation::new(ts_ns, IpAddr::V4(src), IpAddr::V4(dst));
    obs.proto = h[v4::PROTO];
    obs.ttl = h[v4::TTL];
    obs.ip_id = be16(h, v4::IDENT) as u32;
    obs.ip_len = total as u32;
    obs.bytes = total as u64;
    obs.payload_len = (total - hlen).min(u16::MAX as usize) as u16;
    let ff = be16(h, v4::FLAGS_FRAG);
    if ff & 0x4000 != 0 {
        obs.flags |= flag::DONT_FRAGMENT;
    }
    if hlen > v4::HEADER_LEN {
        obs.flags |= flag::IPV4_OPTIONS;
    }
    obs.fragment = if ff & 0x1fff != 0 {
        Fragment::Later
    } else if ff & 0x2000 != 0 {
        Fragment::First
    } else {
        Fragment::None
    };
    let mut l4 = L4 {
        at: at + hlen,
        end: (at + total).min(data.len()),
        declared_len: total - hlen,
    };
    if obs.proto == PROTO_AH && obs.fragment != Fragment::Later {
        ipv4_ah(data, &mut l4, obs);
    }
    Ok(l4)
}

/// IP protocol number of the authentication header (RFC 4302).
const PROTO_AH: u8 = 51;

/// Step over the authentication headers at `l4.at` of an IPv4 packet (RFC 4302: next
/// header, then the length in 4-byte words minus 2), as the IPv6 walk does, so that the
/// transport after them is decoded. An AH cut by the capture (or running past the IP
/// length) stops the walk with [`flag::L4_TRUNCATED`], the protocol left at 51. Each AH
/// is at least 8 bytes long, so the walk ends within the packet.
#[cold]
fn ipv4_ah(data: &[u8], l4: &mut L4, obs: &mut Observation) {
    while obs.proto == PROTO_AH {
        let h = data.get(l4.at..l4.at + 2).filter(|_| l4.at + 2 <= l4.end);
        let Some(&[next, words]) = h else {
            obs.flags |= flag::L4_TRUNCATED;
            return;
        };
        let len = (words as usize + 2) * 4;
        if l4.at + len > l4.end {
            obs.flags |= flag::L4_TRUNCATED;
            return;
        }
        obs.proto = next;
        l4.at += len;
        l4.declared_len = l4.declared_len.saturating_sub(len);
        obs.payload_len = l4.declared_len.min(u16::MAX as usize) as u16;
    }
}

/// Decode an IPv6 header at `at` and walk its whole chain of extension headers.
///
/// # Errors
/// Fewer than 40 bytes, or a version other than 6. Extension headers cut by the capture
/// stop the walk with [`flag::L4_TRUNCATED`] rather than failing.
#[inline]
pub fn observe_ipv6(data: &[u8], at: usize, ts_ns: u64) -> Result<(Observation, L4), DecodeError> {
    let Some(h) = data.get(at..at + v6::HEADER_LEN) else {
        return Err(DecodeError::Truncated {
            layer: Layer::Ipv6,
            offset: at,
            need: v6::HEADER_LEN,
            have: data.len().saturating_sub(at),
        });
    };
    let version = h[0] >> 4;
    if version != 6 {
        return Err(DecodeError::BadField {
            layer: Layer::Ipv6,
            field: "ipv6.version",
            offset: at,
            value: version as u32,
        });
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&h[v6::SRC..v6::SRC + 16]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&h[v6::DST..v6::DST + 16]);
    let mut obs = Observation::new(
        ts_ns,
        IpAddr::V6(Ipv6Addr::from(src)),
        IpAddr::V6(Ipv6Addr::from(dst)),
    );
    obs.ttl = h[v6::HOP_LIMIT];
    let mut payload = be16(h, v6::PAYLOAD_LEN) as usize;
    if payload == 0 {
        // Jumbogram or offload: fall back to what was captured.
        payload = data.len() - at - v6::HEADER_LEN;
    }
    obs.ip_len = (payload + v6::HEADER_LEN) as u32;
    obs.bytes = obs.ip_len as u64;
    let ip_end = (at + v6::HEADER_LEN + payload).min(data.len());
    let mut next = h[v6::NEXT_HEADER];
    let mut p = at + v6::HEADER_LEN;
    let mut ext_len = 0usize;
    // The whole chain, however long: every header is at least 8 bytes and must lie in the
    // frame, so the walk ends within `data.len() / 8` steps. (A cap of 16 headers used to
    // leave a longer chain classed by whatever header it stopped at.)
    loop {
        let len = match next {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
            0 | 43 | 60 | 135 | 139 | 140 => data.get(p + 1).map(|&l| (l as usize + 1) * 8),
            // Authentication header counts 4-byte words, minus 2.
            PROTO_AH => data.get(p + 1).map(|&l| (l as usize + 2) * 4),
            44 => {
                let Some(f) = data.get(p..p + 8) else {
                    obs.flags |= flag::L4_TRUNCATED;
                    break;
                };
                let off_m = be16(f, 2);
                obs.ip_id = be32(f, 4);
                obs.fragment = if off_m & 0xfff8 != 0 {
                    Fragment::Later
                } else if off_m & 1 != 0 {
                    Fragment::First
                } else {
                    Fragment::None
                };
                Some(8)
            }
            _ => break,
        };
        obs.flags |= flag::IPV6_EXT;
        let Some(len) = len.filter(|l| p + l <= data.len()) else {
            obs.flags |= flag::L4_TRUNCATED;
            break;
        };
        next = data[p];
        p += len;
        ext_len += len;
        if obs.fragment == Fragment::Later {
            break;
        }
    }
    obs.proto = next;
    let declared = payload.saturating_sub(ext_len);
    obs.payload_len = declared.min(u16::MAX as usize) as u16;
    let l4 = L4 {
        at: p,
        end: ip_end.max(p.min(data.len())),
        declared_len: declared,
    };
    Ok((obs, l4))
}

#[cfg(test)]
mod tests {
    use crate::observe::{flag, Fragment, Frame};
    use crate::observe_frame;

    /// Raw IPv4 (LINKTYPE_IPV4) 192.0.2.1 -> 10.13.0.1, AH (SPI 1, sequence 1, 12 bytes of
    /// ICV: payload length 4) and TCP SYN 1234 -> 80, as frame 1 of /tmp/rev-exact's
    /// `d5_ah.pcap` (tshark: `ip:ah:tcp`).
    fn ipv4_ah_syn() -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 0x40, 0, 1, 0, 0, 0x40, 0x33, 0xae, 0x7b, 192, 0, 2, 1, 10, 13, 0, 1,
        ];
        p.extend_from_slice(&[6, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(&[4, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff]);
        p.extend_from_slice(&[0; 4]);
        p
    }

    /// The transport after an IPv4 authentication header is decoded, as after an IPv6 one;
    /// an AH cut by the capture stops there, flagged.
    #[test]
    fn ipv4_ah_is_walked() {
        let p = ipv4_ah_syn();
        let Ok(Frame::Ip(obs)) = observe_frame(228, &p, 0, 64) else {
            panic!()
        };
        assert_eq!(
            (obs.proto, obs.sport, obs.dport, obs.tcp_flags),
            (6, 1234, 80, 2)
        );
        assert_eq!(obs.payload_len, 0);
        assert_eq!(obs.flags & flag::L4_TRUNCATED, 0);
        for cut in 20..44 {
            let Ok(Frame::Ip(obs)) = observe_frame(228, &p[..cut], 0, 64) else {
                panic!("cut {cut}")
            };
            assert_eq!(obs.proto, 51, "cut {cut}");
            assert_ne!(obs.flags & flag::L4_TRUNCATED, 0, "cut {cut}");
        }
        // An AH longer than the IP packet is cut too.
        let mut long = p.clone();
        long[21] = 20;
        let Ok(Frame::Ip(obs)) = observe_frame(228, &long, 0, 64) else {
            panic!()
        };
        assert_eq!(obs.proto, 51);
        assert_ne!(obs.flags & flag::L4_TRUNCATED, 0);
    }

    /// Two authentication headers in a row, and a later fragment, whose payload starts
    /// with no header at all.
    #[test]
    fn ipv4_ah_chain_and_later_fragment() {
        let p = ipv4_ah_syn();
        let mut two = p[..44].to_vec();
        two[20] = 51;
        two.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]);
        two.extend_from_slice(&p[44..]);
        two[3] = two.len() as u8;
        let Ok(Frame::Ip(obs)) = observe_frame(228, &two, 0, two.len() as u32) else {
            panic!()
        };
        assert_eq!((obs.proto, obs.sport, obs.tcp_flags), (6, 1234, 2));

        let mut later = p.clone();
        later[7] = 3;
        let Ok(Frame::Ip(obs)) = observe_frame(228, &later, 0, 64) else {
            panic!()
        };
        assert_eq!((obs.proto, obs.fragment), (51, Fragment::Later));
    }

    /// Ethernet, IPv6 and `n` 8-byte destination options headers before a TCP SYN, as
    /// /tmp/rev-exact's `d6_ext17.pcap` (tshark: 17 × `ipv6.dstopts`, then `tcp`).
    fn v6_dstopts_syn(n: usize) -> Vec<u8> {
        let plen = n * 8 + 20;
        let mut f = vec![0; 12];
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        f.extend_from_slice(&(plen as u16).to_be_bytes());
        f.extend_from_slice(&[if n == 0 { 6 } else { 60 }, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        for i in 0..n {
            let next = if i + 1 == n { 6 } else { 60 };
            f.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
        }
        f.extend_from_slice(&[4, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff]);
        f.extend_from_slice(&[0; 4]);
        f
    }

    /// A chain of more than 16 extension headers is walked to its transport (it was
    /// classed by the 17th header), and a long chain cut by the capture stops flagged.
    #[test]
    fn long_extension_header_chains() {
        for n in [0, 1, 16, 17, 100, 1000] {
            let f = v6_dstopts_syn(n);
            let Ok(Frame::Ip(obs)) = observe_frame(1, &f, 0, f.len() as u32) else {
                panic!("{n}")
            };
            assert_eq!((obs.proto, obs.sport, obs.tcp_flags), (6, 1234, 2), "{n}");
            assert_eq!(obs.payload_len, 0, "{n}");
            assert_eq!(obs.flags & flag::L4_TRUNCATED, 0, "{n}");
            assert_eq!(obs.flags & flag::IPV6_EXT != 0, n > 0, "{n}");
        }
        let f = v6_dstopts_syn(100);
        let Ok(Frame::Ip(obs)) = observe_frame(1, &f[..54 + 8 * 60 + 3], 0, 1000) else {
            panic!()
        };
        assert_eq!(obs.proto, 60);
        assert_ne!(obs.flags & flag::L4_TRUNCATED, 0);
    }
}
