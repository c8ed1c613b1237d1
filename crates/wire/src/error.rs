//! Error types of the decoders.
//!
//! Two families, because they mean different things to a caller:
//! - [`DecodeError`]: one packet's headers are structurally impossible. The packet is
//!   counted under a reason and the walk goes on with the next record.
//! - [`CaptureError`]: the capture file's own framing is damaged (a record header that
//!   lies about its length, a block that runs past the end). Nothing after it can be
//!   located reliably, so reading that file stops; what came before is kept.

use core::fmt;

/// The protocol layer a decoder was working on when it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Layer {
    /// Classic pcap file framing.
    Pcap,
    /// pcapng block framing.
    Pcapng,
    /// Ethernet II header.
    Ethernet,
    /// 802.1Q / 802.1ad VLAN tag.
    Vlan,
    /// MPLS label stack.
    Mpls,
    /// PPPoE session header.
    Pppoe,
    /// PPP header (inside PPPoE or GRE, or an sFlow PPP / packet-over-SONET header).
    Ppp,
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// BSD null / loopback family word.
    Null,
    /// IPv4 header.
    Ipv4,
    /// IPv6 header and its extension headers.
    Ipv6,
    /// TCP header.
    Tcp,
    /// UDP header.
    Udp,
    /// ICMP or ICMPv6 header.
    Icmp,
    /// GRE header.
    Gre,
    /// Frame relay header (Q.922 address and RFC 2427 encapsulation).
    FrameRelay,
    /// 802.2 LLC header (and its SNAP extension) after an 802.3 length field.
    Llc,
}

impl Layer {
    /// Lowercase name used in messages and counters.
    pub const fn name(self) -> &'static str {
        match self {
            Layer::Pcap => "pcap",
            Layer::Pcapng => "pcapng",
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Mpls => "mpls",
            Layer::Pppoe => "pppoe",
            Layer::Ppp => "ppp",
            Layer::Sll => "sll",
            Layer::Sll2 => "sll2",
            Layer::Null => "null",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Gre => "gre",
            Layer::FrameRelay => "frame_relay",
            Layer::Llc => "llc",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why one packet could not be decoded. Small and `Copy`, so the hot path can count it.
///
/// Offsets are relative to the start of the captured frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame ends before a header that must be there is complete.
    #[error("{layer} truncated at offset {offset}: need {need} bytes, have {have}")]
    Truncated {
        /// Layer being decoded.
        layer: Layer,
        /// Offset of the header in the frame.
        offset: usize,
        /// Bytes the header needs.
        need: usize,
        /// Bytes available from `offset`.
        have: usize,
    },
    /// A field holds a value that makes the header impossible to walk.
    #[error("{layer} {field} at offset {offset} is invalid ({value})")]
    BadField {
        /// Layer being decoded.
        layer: Layer,
        /// Field name.
        field: &'static str,
        /// Offset of the header in the frame.
        offset: usize,
        /// The offending value.
        value: u32,
    },
    /// The capture's link type is not one floodtrace decodes.
    #[error("link type {0} is not supported")]
    UnsupportedLinkType(u32),
}

impl DecodeError {
    /// A short, stable key for per-reason counters, e.g. `ipv4.truncated` or `ipv4.ihl`.
    pub fn reason(&self) -> &'static str {
        match *self {
            DecodeError::Truncated { layer, .. } => match layer {
                Layer::Pcap => "pcap.truncated",
                Layer::Pcapng => "pcapng.truncated",
                Layer::Ethernet => "ethernet.truncated",
                Layer::Vlan => "vlan.truncated",
                Layer::Mpls => "mpls.truncated",
                Layer::Pppoe => "pppoe.truncated",
                Layer::Ppp => "ppp.truncated",
                Layer::Sll => "sll.truncated",
                Layer::Sll2 => "sll2.truncated",
                Layer::Null => "null.truncated",
                Layer::Ipv4 => "ipv4.truncated",
                Layer::Ipv6 => "ipv6.truncated",
                Layer::Tcp => "tcp.truncated",
                Layer::Udp => "udp.truncated",
                Layer::Icmp => "icmp.truncated",
                Layer::Gre => "gre.truncated",
                Layer::FrameRelay => "frame_relay.truncated",
                Layer::Llc => "llc.truncated",
            },
            DecodeError::BadField { field, .. } => field,
            DecodeError::UnsupportedLinkType(_) => "link.unsupported",
        }
    }

    /// Offset in the frame where decoding stopped, when known.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            DecodeError::Truncated { offset, .. } | DecodeError::BadField { offset, .. } => {
                Some(offset)
            }
            DecodeError::UnsupportedLinkType(_) => None,
        }
    }
}

/// What is wrong with a capture file's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureErrorKind {
    /// The file ends inside a header or record.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes left in the file.
        have: u64,
    },
    /// A length or type field is impossible.
    BadField {
        /// Field name, e.g. `caplen`.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// The bytes are not a capture format floodtrace recognises.
    Unrecognised {
        /// Up to the first 16 bytes of the input.
        head: [u8; 16],
        /// How many bytes of `head` are valid.
        len: u8,
    },
    /// A pcapng block longer than any block the reader accepts: its length field is
    /// damaged (or the writer is hostile), and waiting for that many bytes would buffer a
    /// stream without bound.
    BlockTooLong {
        /// The block length found.
        length: u64,
        /// The largest block length accepted.
        limit: u64,
    },
    /// A pcapng section header of a major version other than 1: the blocks of that section
    /// cannot be read.
    UnsupportedVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// A pcapng packet on an interface whose description block was damaged: its link type
    /// and time resolution are unknown.
    DamagedInterface {
        /// The interface id in the packet block.
        interface: u32,
    },
}

/// A capture-level error: where in the file (byte offset, record number) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureError {
    /// Byte offset in the file where the damaged structure starts.
    pub offset: u64,
    /// 1-based number of the record being read, as Wireshark numbers frames (0 when in the
    /// file header, or in a block that Wireshark does not number: see `block`).
    pub record: u64,
    /// The damage is in a pcapng block that carries no packet and that Wireshark does not
    /// number as a frame (a section header after the first, an interface description, a
    /// statistics block, …), or in a block whose type could not be read: `record` is 0 and
    /// the message says "block at offset …".
    pub block: bool,
    /// Whether reading must stop here (`true`) or the damaged record was skipped.
    pub fatal: bool,
    /// What is wrong.
    pub kind: CaptureErrorKind,
}

impl CaptureError {
    /// A short, stable key for counters, e.g. `capture.truncated`.
    pub fn reason(&self) -> &'static str {
        match self.kind {
            CaptureErrorKind::Truncated { .. } => "capture.truncated",
            CaptureErrorKind::BadField { field, .. } => field,
            CaptureErrorKind::Unrecognised { len: 0, .. } => "input.empty",
            CaptureErrorKind::Unrecognised { .. } => "capture.unrecognised",
            CaptureErrorKind::BlockTooLong { .. } => "pcapng.block_length",
            CaptureErrorKind::UnsupportedVersion { .. } => "pcapng.version",
            CaptureErrorKind::DamagedInterface { .. } => "pcapng.interface_damaged",
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            CaptureErrorKind::Unrecognised { len: 0, .. } => f.write_str("empty input"),
            CaptureErrorKind::Unrecognised { head, len } => {
                f.write_str("unrecognised format (first bytes:")?;
                for b in &head[..len as usize] {
                    write!(f, " {b:02x}")?;
                }
                f.write_str(")")
            }
            CaptureErrorKind::Truncated { what, need, have } => {
                self.write_place(f)?;
                write!(f, "{what} truncated: need {need} bytes, have {have}")
            }
            CaptureErrorKind::BadField { field, value } => {
                self.write_place(f)?;
                write!(f, "{field} is invalid ({value})")
            }
            CaptureErrorKind::BlockTooLong { length, limit } => {
                self.write_place(f)?;
                write!(f, "invalid block length {length} (over the ")?;
                if limit % (1 << 20) == 0 {
                    write!(f, "{} MiB limit)", limit >> 20)
                } else {
                    write!(f, "{limit}-byte limit)")
                }
            }
            CaptureErrorKind::UnsupportedVersion { major, minor } => {
                self.write_place(f)?;
                write!(f, "pcapng section version {major}.{minor} is not supported")
            }
            CaptureErrorKind::DamagedInterface { interface } => {
                self.write_place(f)?;
                write!(f, "interface {interface}'s description block was damaged")
            }
        }
    }
}

impl CaptureError {
    /// "record N at offset 0x…: ", "block at offset 0x…: " or "at offset 0x…: ".
    fn write_place(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.record > 0 {
            write!(f, "record {} ", self.record)?;
        } else if self.block {
            f.write_str("block ")?;
        }
        write!(f, "at offset {:#x}: ", self.offset)
    }
}

impl std::error::Error for CaptureError {}
