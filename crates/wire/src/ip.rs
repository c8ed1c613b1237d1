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
    Ok(L4 {
        at: at + hlen,
        end: (at + total).min(data.len()),
        declared_len: total - hlen,
    })
}

/// Extension headers walked at most; real stacks use a handful.
const MAX_EXT_HEADERS: usize = 16;

/// Decode an IPv6 header at `at` and walk its extension headers.
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
    for _ in 0..MAX_EXT_HEADERS {
        let len = match next {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
            0 | 43 | 60 | 135 | 139 | 140 => data.get(p + 1).map(|&l| (l as usize + 1) * 8),
            // Authentication header counts 4-byte words, minus 2.
            51 => data.get(p + 1).map(|&l| (l as usize + 2) * 4),
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
