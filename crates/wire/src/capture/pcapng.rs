//! pcapng: a sequence of blocks `type, total length, body, total length`. Sections start
//! with a Section Header Block that fixes the byte order; Interface Description Blocks
//! give each interface its link type and timestamp resolution.

use super::{rd_u16, rd_u32, Step, MAX_RECORD_BYTES};
use crate::error::CaptureErrorKind;

pub(crate) const BLOCK_SHB: u32 = 0x0a0d_0d0a;
const BLOCK_IDB: u32 = 1;
const BLOCK_PB: u32 = 2;
const BLOCK_SPB: u32 = 3;
const BLOCK_EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Interfaces per section a reader keeps. An IDB is at least 20 bytes, so this only bites
/// on hostile input; more interfaces are reported as bad records, not stored.
const MAX_INTERFACES: usize = 4096;

/// One interface described by an IDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    /// Link type of its packets.
    pub link_type: u16,
    /// Snapshot length (0 = none).
    pub snaplen: u32,
    /// `if_tsresol`: bit 7 clear means 10^-n seconds, set means 2^-n.
    pub tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    pub tsoffset: i64,
}

/// State of a pcapng reader: current section's byte order and interface table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcapngState {
    /// Current section is big-endian.
    pub big_endian: bool,
    /// A section header has been seen.
    pub in_section: bool,
    /// Interfaces of the current section, in IDB order.
    pub interfaces: Vec<Interface>,
}

fn fatal(kind: CaptureErrorKind) -> Step<'static> {
    Step::Fatal {
        kind,
        in_record: false,
    }
}

pub(crate) fn next_block<'a>(s: &mut PcapngState, buf: &'a [u8], pos: usize) -> Step<'a> {
    // Once the first section header has been read, damage is in (or just before) the
    // next record, not in the file header: say so, as the pcap reader does.
    let after_header = s.in_section;
    match read_block(s, buf, pos) {
        Step::Fatal { kind, .. } => Step::Fatal {
            kind,
            in_record: after_header,
        },
        step => step,
    }
}

fn read_block<'a>(s: &mut PcapngState, buf: &'a [u8], pos: usize) -> Step<'a> {
    let rest = &buf[pos..];
    let Some(h) = rest.get(..12) else {
        return fatal(CaptureErrorKind::Truncated {
            what: "pcapng block header",
            need: 12,
            have: rest.len() as u64,
        });
    };
    let raw_type = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let mut be = s.big_endian;
    if raw_type == BLOCK_SHB {
        // The SHB's own byte-order magic says how to read its length.
        let bom = rd_u32(h, 8, false);
        be = match bom {
            BYTE_ORDER_MAGIC => false,
            x if x.swap_bytes() == BYTE_ORDER_MAGIC => true,
            other => {
                return fatal(CaptureErrorKind::BadField {
                    field: "pcapng.byte_order_magic",
                    value: other as u64,
                })
            }
        };
    } else if !s.in_section {
        return fatal(CaptureErrorKind::BadField {
            field: "pcapng.first_block_type",
            value: raw_type as u64,
        });
    }
    let block_type = rd_u32(h, 0, be);
    let total = rd_u32(h, 4, be) as usize;
    if total < 12 || !total.is_multiple_of(4) {
        return fatal(CaptureErrorKind::BadField {
            field: "pcapng.block_length",
            value: total as u64,
        });
    }
    let Some(block) = rest.get(..total) else {
        return fatal(CaptureErrorKind::Truncated {
            what: "pcapng block",
            need: total as u64,
            have: rest.len() as u64,
        });
    };
    if rd_u32(block, total - 4, be) as usize != total {
        return fatal(CaptureErrorKind::BadField {
            field: "pcapng.trailing_block_length",
            value: rd_u32(block, total - 4, be) as u64,
        });
    }
    let next = pos + total;
    let body = &block[8..total - 4];
    match block_type {
        BLOCK_SHB => {
            if body.len() < 16 {
                return fatal(CaptureErrorKind::BadField {
                    field: "pcapng.shb_length",
                    value: total as u64,
                });
            }
            s.big_endian = be;
            s.in_section = true;
            s.interfaces.clear();
            Step::Skip { next }
        }
        BLOCK_IDB => {
            if body.len() < 8 {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.idb_length",
                        value: total as u64,
                    },
                };
            }
            if s.interfaces.len() >= MAX_INTERFACES {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.interface_count",
                        value: s.interfaces.len() as u64 + 1,
                    },
                };
            }
            let mut iface = Interface {
                link_type: rd_u16(body, 0, be),
                snaplen: rd_u32(body, 4, be),
                tsresol: 6,
                tsoffset: 0,
            };
            for (code, value) in options(&body[8..], be) {
                match (code, value.len()) {
                    (9, 1) => iface.tsresol = value[0],
                    (14, 8) => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(value);
                        iface.tsoffset = if be {
                            i64::from_be_bytes(b)
                        } else {
                            i64::from_le_bytes(b)
                        };
                    }
                    _ => {}
                }
            }
            s.interfaces.push(iface);
            Step::Skip { next }
        }
        BLOCK_EPB | BLOCK_PB => {
            // EPB: if_id u32, ts_hi, ts_lo, caplen, origlen. PB: if_id u16, drops u16, same.
            if body.len() < 20 {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.packet_block_length",
                        value: total as u64,
                    },
                };
            }
            let if_id = if block_type == BLOCK_EPB {
                rd_u32(body, 0, be)
            } else {
                rd_u16(body, 0, be) as u32
            };
            let ts = ((rd_u32(body, 4, be) as u64) << 32) | rd_u32(body, 8, be) as u64;
            let caplen = rd_u32(body, 12, be);
            let wire_len = rd_u32(body, 16, be);
            let Some(iface) = s.interfaces.get(if_id as usize) else {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.interface_id",
                        value: if_id as u64,
                    },
                };
            };
            let Some(data) = (caplen <= MAX_RECORD_BYTES)
                .then(|| body.get(20..20 + caplen as usize))
                .flatten()
            else {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.caplen",
                        value: caplen as u64,
                    },
                };
            };
            Step::Record {
                next,
                ts_ns: ts_to_ns(ts, iface.tsresol, iface.tsoffset),
                link_type: iface.link_type,
                wire_len: wire_len.max(caplen),
                data,
            }
        }
        BLOCK_SPB => {
            // SPB: original length, then data; captured length is implied by the block
            // length and interface 0's snaplen. No timestamp.
            let Some(iface) = s.interfaces.first() else {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.interface_id",
                        value: 0,
                    },
                };
            };
            if body.len() < 4 {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.spb_length",
                        value: total as u64,
                    },
                };
            }
            let wire_len = rd_u32(body, 0, be);
            let mut caplen = (body.len() - 4).min(wire_len as usize);
            if iface.snaplen != 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
            Step::Record {
                next,
                ts_ns: 0,
                link_type: iface.link_type,
                wire_len: wire_len.max(caplen as u32),
                data: &body[4..4 + caplen],
            }
        }
        _ => Step::Skip { next },
    }
}

/// Walk pcapng options (code u16, length u16, value padded to 4), stopping at
/// `opt_endofopt` or at the first option that does not fit.
fn options(mut buf: &[u8], be: bool) -> impl Iterator<Item = (u16, &[u8])> {
    core::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let code = rd_u16(buf, 0, be);
        let len = rd_u16(buf, 2, be) as usize;
        if code == 0 {
            return None;
        }
        let value = buf.get(4..4 + len)?;
        let padded = 4 + len.div_ceil(4) * 4;
        buf = buf.get(padded..).unwrap_or(&[]);
        Some((code, value))
    })
}

/// Convert a timestamp in interface units to nanoseconds since the epoch.
fn ts_to_ns(units: u64, tsresol: u8, tsoffset: i64) -> u64 {
    let exp = (tsresol & 0x7f) as u32;
    let ns: u128 = if tsresol & 0x80 == 0 {
        if exp <= 9 {
            units as u128 * 10u128.pow(9 - exp)
        } else {
            // exp ≤ 127, but 10^38 is the largest power a u128 holds.
            units as u128 / 10u128.pow((exp - 9).min(38))
        }
    } else {
        (units as u128 * 1_000_000_000) >> exp.min(127)
    };
    let ns = ns as i128 + tsoffset as i128 * 1_000_000_000;
    ns.clamp(0, u64::MAX as i128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(ts_to_ns(1_500_000, 6, 0), 1_500_000_000);
        assert_eq!(ts_to_ns(1_500_000_000, 9, 0), 1_500_000_000);
        assert_eq!(ts_to_ns(1 << 20, 0x80 | 20, 0), 1_000_000_000);
        assert_eq!(ts_to_ns(15, 1, 2), 3_500_000_000);
        assert_eq!(ts_to_ns(u64::MAX, 0, 0), u64::MAX);
        assert_eq!(ts_to_ns(5, 127, 0), 0);
    }

    /// A block cut after the section header is damage in the next record, not in the file
    /// header: the error names record 2 here (found by tests/properties.rs, truncation loop).
    #[test]
    fn truncated_block_names_the_next_record() {
        use crate::capture::RecordReader;
        let le = |v: u32| v.to_le_bytes();
        let mut file = Vec::new();
        // SHB (28 bytes), IDB Ethernet (20 bytes), EPB with 4 data bytes (36 bytes).
        for w in [BLOCK_SHB, 28, BYTE_ORDER_MAGIC, 1, u32::MAX, u32::MAX, 28] {
            file.extend_from_slice(&le(w));
        }
        for w in [BLOCK_IDB, 20, 1, 0, 20] {
            file.extend_from_slice(&le(w));
        }
        for w in [BLOCK_EPB, 36, 0, 0, 1, 4, 4, 0xdead_beef, 36] {
            file.extend_from_slice(&le(w));
        }
        file.extend_from_within(48..84);
        let cut = &file[..84 + 13];
        let mut reader = RecordReader::open(cut).unwrap();
        assert_eq!(
            reader.next().unwrap().unwrap().data,
            0xdead_beef_u32.to_le_bytes()
        );
        let e = reader.next().unwrap().unwrap_err();
        assert!(e.fatal);
        assert_eq!((e.offset, e.record), (84, 2));
        assert_eq!(
            e.kind,
            CaptureErrorKind::Truncated {
                what: "pcapng block",
                need: 36,
                have: 13
            }
        );
        // Damage inside the section header itself is still in the file header.
        let e = RecordReader::open(&file[..20])
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!((e.offset, e.record), (0, 0));
    }
}
