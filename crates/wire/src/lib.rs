//! # floodtrace-wire
//!
//! The first stage of floodtrace's data flow: bytes in, [`Observation`]s out.
//!
//! - [`capture`] reads classic pcap and pcapng files (both byte orders, all timestamp
//!   resolutions, enhanced / simple / obsolete packet blocks) from a byte slice, usually a
//!   memory map, and yields borrowed [`capture::Record`]s.
//! - [`link`], [`ip`] and [`transport`] walk a frame's headers: Ethernet with 802.1Q/QinQ,
//!   MPLS and PPPoE, Linux SLL/SLL2, raw IP, BSD loopback (and, for sFlow sampled headers,
//!   bare MPLS, PPP, PPP over SONET and frame relay); IPv4 with options and fragments;
//!   IPv6 with extension headers; TCP (flags, sequence, window, options), UDP, ICMP, GRE
//!   with one level of decapsulation.
//! - [`peek`] recognises the application payload (DNS, NTP, memcached, SSDP, CLDAP, SNMP,
//!   CharGEN, WS-Discovery, Mirai's vse, HTTP, TLS, …) by content, as a small [`AppHint`].
//! - [`observe_frame`] puts it together and returns a small `Copy` [`Observation`].
//!
//! Nothing here allocates per packet, and nothing panics on any input: every length taken
//! from the wire is checked against what is left before it is used. Impossible structure
//! is a [`DecodeError`] (per packet) or a [`CaptureError`] (per file, with its offset);
//! merely odd values (bad checksums, strange TTLs) are described, not rejected.
//!
//! ```
//! use floodtrace_wire::{capture::RecordReader, observe_frame, Frame};
//!
//! // A pcap file header (LE, µs, Ethernet) and one 60-byte TCP SYN frame.
//! let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
//!                     0xff, 0xff, 0, 0, 1, 0, 0, 0];
//! let mut frame = vec![0u8; 12];
//! frame.extend_from_slice(&[0x08, 0x00]); // IPv4
//! frame.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0,
//!                           192, 0, 2, 1, 198, 51, 100, 7]);
//! frame.extend_from_slice(&[0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02,
//!                           0x04, 0, 0, 0, 0, 0]);
//! let rec_hdr = [1u32, 500, frame.len() as u32, frame.len() as u32];
//! for v in rec_hdr { file.extend_from_slice(&v.to_le_bytes()); }
//! file.extend_from_slice(&frame);
//!
//! let mut reader = RecordReader::open(&file).unwrap();
//! let rec = reader.next().unwrap().unwrap();
//! let Frame::Ip(obs) = observe_frame(rec.link_type, rec.data, rec.ts_ns, rec.wire_len).unwrap()
//! else { panic!() };
//! assert_eq!(obs.dst.to_string(), "198.51.100.7");
//! assert_eq!((obs.dport, obs.tcp_flags, obs.ttl), (80, 0x02, 64));
//! assert_eq!(obs.ts_ns, 1_000_500_000);
//! ```

mod bytes;
pub mod capture;
pub mod error;
pub mod flow;
pub mod fuzzing;
pub mod ip;
pub mod link;
pub mod observe;
pub mod peek;
pub mod transport;

pub use error::{CaptureError, CaptureErrorKind, DecodeError, Layer};
pub use observe::{
    observe_frame, observe_frame_into, observe_frame_with, Encap, Fragment, Frame, Observation,
    Origin,
};
pub use peek::{AppHint, PeekMode};
