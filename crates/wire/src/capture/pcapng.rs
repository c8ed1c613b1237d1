//! pcapng: a sequence of blocks `type, total length, body, total length`. Sections start
//! with a Section Header Block that fixes the byte order; Interface Description Blocks
//! give each interface its link type and timestamp resolution.

use super::odd::OddHeader;
use super::{rd_u16, rd_u32, Place, Step, TimeSource, MAX_RECORD_BYTES};
use crate::error::CaptureErrorKind;

pub(crate) const BLOCK_SHB: u32 = 0x0a0d_0d0a;
const BLOCK_IDB: u32 = 1;
const BLOCK_PB: u32 = 2;
const BLOCK_SPB: u32 = 3;
const BLOCK_EPB: u32 = 6;
/// systemd journal export entry.
const BLOCK_JOURNAL: u32 = 9;
/// Custom blocks, "may be copied" and "do not copy".
const BLOCK_CUSTOM: u32 = 0x0000_0bad;
const BLOCK_CUSTOM_NO_COPY: u32 = 0x4000_0bad;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Longest block the reader accepts, whatever its type: the 16 MiB cap on a record's
/// captured bytes, framing included. A longer length is taken for damage and stops the
/// reader at once, before the block is waited for: a stream would otherwise buffer up to
/// 4 GiB for one bogus length. (Wireshark's limit is 128 MiB + 128 KiB + 32 bytes, room for
/// the largest D-Bus message; before that it was 16 MiB.)
pub const MAX_BLOCK_BYTES: u32 = MAX_RECORD_BYTES;

/// Interfaces per section a reader keeps. An IDB is at least 20 bytes, so this only bites
/// on hostile input; more interfaces are reported as bad blocks, not stored.
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
    /// Its IDB was damaged (too short to hold a link type and snaplen): a placeholder that
    /// keeps later interfaces' ids right. Its packets are reported, not decoded.
    pub damaged: bool,
}

impl Interface {
    /// The placeholder for a damaged IDB.
    const DAMAGED: Interface = Interface {
        link_type: 0,
        snaplen: 0,
        tsresol: 6,
        tsoffset: 0,
        damaged: true,
    };
}

/// State of a pcapng reader: current section's byte order, interface table, and the time
/// that dates its Simple Packet Blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcapngState {
    /// Current section is big-endian.
    pub big_endian: bool,
    /// A section header has been seen.
    pub in_section: bool,
    /// Interfaces of the current section, in IDB order.
    pub interfaces: Vec<Interface>,
    /// Time of the latest packet of the current section that carried a timestamp (EPB or
    /// PB, any interface): a Simple Packet Block, which has none, is dated with it.
    pub prev_ts_ns: Option<u64>,
}

fn fatal(kind: CaptureErrorKind) -> Step<'static> {
    Step::Fatal {
        kind,
        at: Place::Header,
    }
}

/// Blocks that Wireshark numbers as frames: packets, and the custom and systemd journal
/// blocks it shows as frames of their own.
fn is_numbered(block_type: u32) -> bool {
    matches!(
        block_type,
        BLOCK_EPB | BLOCK_PB | BLOCK_SPB | BLOCK_JOURNAL | BLOCK_CUSTOM | BLOCK_CUSTOM_NO_COPY
    )
}

pub(crate) fn next_block<'a>(s: &mut PcapngState, buf: &'a [u8], pos: usize) -> Step<'a> {
    match read_block(s, buf, pos) {
        // `read_block` changes no state before a fatal error, so `s` is still the state
        // the damaged block was read with. Damage in the first section header is in the
        // file header. After it, damage in a block that Wireshark numbers is in the next
        // record (as the pcap reader says); anywhere else it is in a block without a
        // number (or one whose type is cut off).
        Step::Fatal { kind, .. } => {
            let at = if !s.in_section {
                Place::Header
            } else {
                match buf.get(pos..pos + 4) {
                    Some(t) if is_numbered(rd_u32(t, 0, s.big_endian)) => Place::Record,
                    _ => Place::Block,
                }
            };
            Step::Fatal { kind, at }
        }
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
    if total > MAX_BLOCK_BYTES as usize {
        return fatal(CaptureErrorKind::BlockTooLong {
            length: total as u64,
            limit: MAX_BLOCK_BYTES as u64,
        });
    }
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
            // Another major version may frame its blocks differently: nothing in the
            // section can be trusted, and the next section cannot be found without walking
            // it, so reading stops here (Wireshark refuses the file too). A newer minor
            // version keeps the block framing, so any 1.x is read, block types it does not
            // know skipped (Wireshark 4.0 reads only 1.0 and 1.2).
            let (major, minor) = (rd_u16(body, 4, be), rd_u16(body, 6, be));
            if major != 1 {
                return fatal(CaptureErrorKind::UnsupportedVersion { major, minor });
            }
            s.big_endian = be;
            s.in_section = true;
            s.interfaces.clear();
            s.prev_ts_ns = None;
            Step::Skip { next }
        }
        BLOCK_IDB => {
            if s.interfaces.len() >= MAX_INTERFACES {
                return Step::BadBlock {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.interface_count",
                        value: s.interfaces.len() as u64 + 1,
                    },
                };
            }
            if body.len() < 8 {
                // Interface ids count IDBs in order: keep the damaged one's place, or every
                // later interface's packets would be read with another's link type.
                s.interfaces.push(Interface::DAMAGED);
                return Step::BadBlock {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.idb_length",
                        value: total as u64,
                    },
                };
            }
            let mut iface = Interface {
                link_type: rd_u16(body, 0, be),
                snaplen: rd_u32(body, 4, be),
                tsresol: 6,
                tsoffset: 0,
                damaged: false,
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
            if iface.damaged {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::DamagedInterface { interface: if_id },
                };
            }
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
            let (ts_ns, out_of_range) = ts_to_ns(ts, iface.tsresol, iface.tsoffset);
            let link_type = iface.link_type;
            s.prev_ts_ns = Some(ts_ns);
            // Odd values are read as the classic pcap reader reads them (the block's framing
            // is intact): the larger length counts on the wire, a time out of range is
            // clamped, and the record says so.
            let odd = if caplen > wire_len || out_of_range.is_some() {
                OddHeader::pcapng((caplen > wire_len).then_some(wire_len), out_of_range)
            } else {
                None
            };
            Step::Record {
                next,
                ts_ns,
                time: TimeSource::Captured,
                link_type,
                wire_len: wire_len.max(caplen),
                data,
                odd,
            }
        }
        BLOCK_SPB => {
            // SPB: original length, then data; captured length is implied by the block
            // length and interface 0's snaplen. No timestamp: the previous timestamped
            // packet of the section dates it, or nothing does (see `TimeSource`).
            let Some(iface) = s.interfaces.first() else {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::BadField {
                        field: "pcapng.interface_id",
                        value: 0,
                    },
                };
            };
            if iface.damaged {
                return Step::BadRecord {
                    next,
                    kind: CaptureErrorKind::DamagedInterface { interface: 0 },
                };
            }
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
            let (ts_ns, time) = match s.prev_ts_ns {
                Some(ts) => (ts, TimeSource::Previous),
                None => (0, TimeSource::Missing),
            };
            Step::Record {
                next,
                ts_ns,
                time,
                link_type: iface.link_type,
                wire_len: wire_len.max(caplen as u32),
                data: &body[4..4 + caplen],
                odd: None,
            }
        }
        BLOCK_JOURNAL | BLOCK_CUSTOM | BLOCK_CUSTOM_NO_COPY => Step::Numbered { next },
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
///
/// Returns the time and, when it is before the epoch or beyond `u64::MAX` ns (after
/// 2554-07-21T23:34:33.709551615Z) and so clamped to the nearer end, the second it denotes
/// (rounded down, saturated at the ends of `i64`).
fn ts_to_ns(units: u64, tsresol: u8, tsoffset: i64) -> (u64, Option<i64>) {
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
    // |ns| < 2^94 and |tsoffset × 10^9| < 2^93: the sum fits an i128.
    let ns = ns as i128 + tsoffset as i128 * 1_000_000_000;
    match u64::try_from(ns) {
        Ok(ns) => (ns, None),
        Err(_) => {
            let second = ns.div_euclid(1_000_000_000);
            let second = second.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            (ns.clamp(0, u64::MAX as i128) as u64, Some(second))
        }
    }
}

/// A little-endian pcapng block of type `ty`, its body padded to 4 bytes. For writers:
/// tests and fixtures (the reader never allocates).
pub fn pcapng_block(ty: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().div_ceil(4) * 4) as u32;
    let mut b = ty.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(len as usize - 4, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

/// A little-endian enhanced packet block on interface `if_id` at `units` of that
/// interface's time resolution, holding all of `frame`. For writers, as [`pcapng_block`].
pub fn pcapng_epb(if_id: u32, units: u64, frame: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for w in [
        if_id,
        (units >> 32) as u32,
        units as u32,
        frame.len() as u32,
        frame.len() as u32,
    ] {
        body.extend_from_slice(&w.to_le_bytes());
    }
    body.extend_from_slice(frame);
    pcapng_block(BLOCK_EPB, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{
        pcapng_block as block, pcapng_epb as epb, read_all, OddValue, RecordReader,
    };

    /// Section header of version `major`.0, section length unknown.
    fn shb(major: u16) -> Vec<u8> {
        let mut body = BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
        body.extend_from_slice(&major.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        block(BLOCK_SHB, &body)
    }

    /// Interface of `link` type, no snaplen, microseconds unless `tsresol` says otherwise.
    fn idb(link: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = u32::from(link).to_le_bytes().to_vec();
        body.extend_from_slice(&0u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&[9, 0, 1, 0, r, 0, 0, 0, 0, 0, 0, 0]);
        }
        block(BLOCK_IDB, &body)
    }

    /// Simple packet block: original length, then the data.
    fn spb(data: &[u8]) -> Vec<u8> {
        let mut body = (data.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(data);
        block(BLOCK_SPB, &body)
    }

    /// Every item the reader returns, to the end or the first fatal error.
    /// A Simple Packet Block has no timestamp: it is dated with the previous timestamped
    /// packet of its section, whatever its interface, and says so; before any, it keeps
    /// time 0 and says that. A new section forgets the previous time. Readers resumed at
    /// every record boundary with the state there date them the same (ng_spb.pcapng of the
    /// review dated its SPB 1970-01-01, silently).
    #[test]
    fn simple_packet_blocks_take_the_previous_packets_time() {
        const T: u64 = 1_700_000_000_000_000_000;
        let mut file = shb(1);
        file.extend(idb(1, None)); // 0: µs
        file.extend(idb(228, Some(9))); // 1: ns
        file.extend(spb(b"s1"));
        file.extend(epb(1, T + 5, b"e1"));
        file.extend(spb(b"s2"));
        file.extend(spb(b"s3"));
        file.extend(epb(0, (T + 1_000_000_000) / 1000, b"e2"));
        file.extend(spb(b"s4"));
        file.extend(shb(1));
        file.extend(idb(1, None));
        file.extend(spb(b"s5"));
        let got: Vec<(&[u8], u64, TimeSource)> = read_all(&file)
            .into_iter()
            .map(|r| r.map(|r| (r.data, r.ts_ns, r.time)).unwrap())
            .collect();
        use TimeSource::*;
        let want: [(&[u8], u64, TimeSource); 7] = [
            (b"s1", 0, Missing),
            (b"e1", T + 5, Captured),
            (b"s2", T + 5, Previous),
            (b"s3", T + 5, Previous),
            (b"e2", T + 1_000_000_000, Captured),
            (b"s4", T + 1_000_000_000, Previous),
            (b"s5", 0, Missing),
        ];
        assert_eq!(got, want);

        // Resumed at each record boundary with the state found there.
        let mut reader = RecordReader::open(&file).unwrap();
        let mut i = 0;
        loop {
            let (pos, state, n) = (reader.pos(), reader.state().clone(), reader.records());
            let mut resumed = RecordReader::resume(&file[pos..], pos as u64, state, n);
            for w in &want[i..] {
                let r = resumed.next().unwrap().unwrap();
                assert_eq!((r.data, r.ts_ns, r.time), *w, "resumed at {pos}");
            }
            if reader.next().is_none() {
                break;
            }
            i += 1;
        }
    }

    /// Wireshark (tshark 4.0) numbers custom blocks and systemd journal entries as frames
    /// of their own, and skips name resolution, statistics and unknown blocks: record
    /// numbers follow it.
    #[test]
    fn custom_and_journal_blocks_take_frame_numbers() {
        let mut file = shb(1);
        file.extend(idb(1, None));
        file.extend(epb(0, 1, b"a"));
        file.extend(block(BLOCK_CUSTOM, &32473u32.to_le_bytes()));
        file.extend(epb(0, 2, b"b"));
        file.extend(block(4, &[0; 4]));
        file.extend(block(BLOCK_JOURNAL, b"MESSAGE=x\n"));
        file.extend(epb(0, 3, b"c"));
        file.extend(block(BLOCK_CUSTOM_NO_COPY, &32473u32.to_le_bytes()));
        file.extend(block(0xf00d, &[1; 8]));
        file.extend(block(5, &[0; 12]));
        file.extend(epb(0, 4, b"d"));
        let numbers: Vec<u64> = read_all(&file)
            .into_iter()
            .map(|r| r.unwrap().number)
            .collect();
        assert_eq!(numbers, [1, 3, 5, 7]);
    }

    /// A damaged interface description is no record: its error names the block, and the
    /// next packet is still record 1.
    #[test]
    fn damaged_idb_error_names_a_block_not_a_record() {
        let mut file = shb(1);
        file.extend(idb(1, None));
        file.extend(block(BLOCK_IDB, &101u32.to_le_bytes()));
        file.extend(epb(0, 1, b"a"));
        let items = read_all(&file);
        let e = items[0].as_ref().unwrap_err();
        assert!(!e.fatal && e.block);
        assert_eq!((e.offset, e.record), (0x30, 0));
        assert_eq!(
            e.to_string(),
            "block at offset 0x30: pcapng.idb_length is invalid (16)"
        );
        assert_eq!(items[1].as_ref().unwrap().number, 1);
        assert_eq!(items.len(), 2);
    }

    /// A damaged IDB keeps its place in the interface table: a packet on the next interface
    /// is read with that interface's link type and time resolution, and a packet on the
    /// damaged one is reported as such (ng_bad_idb_shift.pcapng of the review).
    #[test]
    fn damaged_idb_keeps_later_interface_ids() {
        let mut file = shb(1);
        file.extend(idb(1, None)); // 0: Ethernet, µs
        file.extend(block(BLOCK_IDB, &101u32.to_le_bytes())); // 1: damaged
        file.extend(idb(228, Some(9))); // 2: raw IPv4, ns
        let on_damaged = file.len();
        file.extend(epb(1, 1_700_000_000_000_000, &[0xee; 54]));
        file.extend(epb(2, 1_700_000_001_000_000_000, &[0x45; 20]));
        let items = read_all(&file);
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap_err().reason(), "pcapng.idb_length");
        let e = items[1].as_ref().unwrap_err();
        assert!(!e.fatal && !e.block);
        assert_eq!((e.offset, e.record), (on_damaged as u64, 1));
        assert_eq!(e.kind, CaptureErrorKind::DamagedInterface { interface: 1 });
        assert_eq!(e.reason(), "pcapng.interface_damaged");
        assert_eq!(
            e.to_string(),
            format!(
                "record 1 at offset {on_damaged:#x}: interface 1's description block was damaged"
            )
        );
        let rec = items[2].as_ref().unwrap();
        assert_eq!((rec.number, rec.link_type), (2, 228));
        assert_eq!(rec.ts_ns, 1_700_000_001_000_000_000);
    }

    /// A block length beyond 16 MiB stops the reader at once, from the block header alone:
    /// waiting for the block would buffer a stream without bound (ng_hugeblock_head.pcapng
    /// of the review, where it reported "pcapng block truncated: need 4294967280 bytes").
    /// A length within the limit that the bytes do not reach yet is still "truncated", so a
    /// stream reads on.
    #[test]
    fn block_length_over_16_mib_is_refused_from_its_header() {
        let mut file = shb(1);
        file.extend(idb(1, None));
        let at = file.len();
        for len in [0xffff_fff0u32, MAX_BLOCK_BYTES + 4] {
            let mut f = file.clone();
            f.extend(BLOCK_EPB.to_le_bytes());
            f.extend(len.to_le_bytes());
            f.extend([0; 20]);
            let e = read_all(&f).pop().unwrap().unwrap_err();
            assert!(e.fatal);
            assert_eq!((e.offset, e.record), (at as u64, 1));
            assert_eq!(e.reason(), "pcapng.block_length");
            assert_eq!(
                e.to_string(),
                format!("record 1 at offset {at:#x}: invalid block length {len} (over the 16 MiB limit)")
            );
        }
        let mut f = file.clone();
        f.extend(BLOCK_EPB.to_le_bytes());
        f.extend(MAX_BLOCK_BYTES.to_le_bytes());
        f.extend([0; 20]);
        let e = read_all(&f).pop().unwrap().unwrap_err();
        assert!(
            matches!(e.kind, CaptureErrorKind::Truncated { need, .. } if need == MAX_BLOCK_BYTES as u64),
            "{e}"
        );
    }

    /// A section header of major version 2 stops the reader at that section, as damage in
    /// the file header when it is the first section, and as damage in a block after it;
    /// the packets of earlier sections are kept (ng_ver2*.pcapng of the review).
    #[test]
    fn unknown_major_version_stops_at_its_section() {
        let mut file = shb(2);
        file.extend(idb(1, None));
        file.extend(epb(0, 1, b"a"));
        let items = read_all(&file);
        assert_eq!(items.len(), 1);
        let e = items[0].as_ref().unwrap_err();
        assert!(e.fatal && !e.block);
        assert_eq!((e.offset, e.record), (0, 0));
        assert_eq!(e.reason(), "pcapng.version");
        assert_eq!(
            e.to_string(),
            "at offset 0x0: pcapng section version 2.0 is not supported"
        );

        let mut file = shb(1);
        file.extend(idb(1, None));
        file.extend(epb(0, 1, b"a"));
        let second = file.len();
        file.extend(shb(2));
        file.extend(idb(1, None));
        file.extend(epb(0, 2, b"b"));
        let items = read_all(&file);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap().data, b"a");
        let e = items[1].as_ref().unwrap_err();
        assert!(e.fatal && e.block);
        assert_eq!(
            e.kind,
            CaptureErrorKind::UnsupportedVersion { major: 2, minor: 0 }
        );
        assert_eq!(
            e.to_string(),
            format!("block at offset {second:#x}: pcapng section version 2.0 is not supported")
        );
    }

    /// Framing damage names a record in a block that Wireshark numbers, and a block
    /// elsewhere.
    #[test]
    fn framing_damage_names_a_record_only_in_numbered_blocks() {
        let mut file = shb(1);
        file.extend(idb(1, None));
        file.extend(epb(0, 1, b"a"));
        let good = file.len();
        // A custom block (frame 2) whose trailing length disagrees.
        let mut custom = block(BLOCK_CUSTOM, &32473u32.to_le_bytes());
        let n = custom.len();
        custom[n - 4] ^= 0x40;
        let mut f = file.clone();
        f.extend(&custom);
        let e = read_all(&f).pop().unwrap().unwrap_err();
        assert!(e.fatal && !e.block);
        assert_eq!((e.offset, e.record), (good as u64, 2));
        assert!(e.to_string().starts_with("record 2 at offset "), "{e}");
        // The same damage in an interface statistics block.
        let mut isb = block(5, &[0; 12]);
        let n = isb.len();
        isb[n - 4] ^= 0x40;
        let mut f = file.clone();
        f.extend(&isb);
        let e = read_all(&f).pop().unwrap().unwrap_err();
        assert!(e.fatal && e.block);
        assert_eq!((e.offset, e.record), (good as u64, 0));
        assert_eq!(
            e.to_string(),
            format!("block at offset {good:#x}: pcapng.trailing_block_length is invalid (88)")
        );
        // A file cut two bytes into the next block: its type is unknown.
        let mut f = file.clone();
        f.extend(&isb[..2]);
        let e = read_all(&f).pop().unwrap().unwrap_err();
        assert!(e.fatal && e.block && e.record == 0, "{e}");
    }

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(ts_to_ns(1_500_000, 6, 0), (1_500_000_000, None));
        assert_eq!(ts_to_ns(1_500_000_000, 9, 0), (1_500_000_000, None));
        assert_eq!(ts_to_ns(1 << 20, 0x80 | 20, 0), (1_000_000_000, None));
        assert_eq!(ts_to_ns(15, 1, 2), (3_500_000_000, None));
        assert_eq!(ts_to_ns(5, 127, 0), (0, None));
        // The last nanosecond a u64 holds, and the ends of the range.
        assert_eq!(ts_to_ns(u64::MAX, 9, 0), (u64::MAX, None));
        assert_eq!(ts_to_ns(0, 6, 0), (0, None));
    }

    /// Times a u64 of nanoseconds since the epoch cannot hold are clamped to the nearer end,
    /// and the second they denote is reported (ng_neg.pcapng and ng_sec.pcapng of the
    /// review were dated 1970-01-01T00:00:00Z and 2554-07-21T23:34:33.709551615Z,
    /// silently; tshark dates them 1960-06-29T18:40:00.000001 and in the year 36812).
    #[test]
    fn timestamps_out_of_range_are_clamped_and_say_so() {
        // µs, if_tsoffset -2,000,000,000 s: 1960-06-29T18:40:00.000001Z.
        let us = 1_700_000_000 * 1_000_000 + 1;
        assert_eq!(ts_to_ns(us, 6, -2_000_000_000), (0, Some(-300_000_000)));
        // Seconds (if_tsresol 0), 2^40 s.
        assert_eq!(ts_to_ns(1 << 40, 0, 0), (u64::MAX, Some(1 << 40)));
        assert_eq!(ts_to_ns(u64::MAX, 0, 0), (u64::MAX, Some(i64::MAX)));
        assert_eq!(ts_to_ns(0, 6, i64::MIN), (0, Some(i64::MIN)));
        // One nanosecond either side of the range.
        assert_eq!(ts_to_ns(0, 9, -1).1, Some(-1));
        assert_eq!(
            ts_to_ns(u64::MAX - 999_999_999, 9, 1).1,
            Some(18_446_744_073)
        );

        // Read from blocks: the record is dated with the nearer end and carries the value;
        // the next block of the interface is read normally.
        let mut file = shb(1);
        let mut body = 1u32.to_le_bytes().to_vec();
        body.extend_from_slice(&0u32.to_le_bytes());
        // if_tsresol 6, if_tsoffset -2e9 s, end of options.
        body.extend_from_slice(&[9, 0, 1, 0, 6, 0, 0, 0, 14, 0, 8, 0]);
        body.extend_from_slice(&(-2_000_000_000i64).to_le_bytes());
        body.extend_from_slice(&[0; 4]);
        file.extend(block(BLOCK_IDB, &body));
        file.extend(idb(1, Some(0))); // seconds
        file.extend(epb(0, us, b"neg"));
        file.extend(epb(1, 1 << 40, b"far"));
        file.extend(epb(1, 1_700_000_000, b"ok"));
        let got: Vec<_> = read_all(&file)
            .into_iter()
            .map(|r| r.map(|r| (r.data, r.ts_ns, r.odd_values())).unwrap())
            .collect();
        let time = |second| [Some(OddValue::TimeOutOfRange { second }), None];
        assert_eq!(
            got,
            [
                (&b"neg"[..], 0, time(-300_000_000)),
                (b"far", u64::MAX, time(1 << 40)),
                (b"ok", 1_700_000_000_000_000_000, [None; 2]),
            ]
        );
        let neg = OddValue::TimeOutOfRange {
            second: -300_000_000,
        };
        assert_eq!(neg.reason(), "pcapng.time_out_of_range");
        assert_eq!(
            neg.to_string(),
            "timestamp -300000000 s (Unix time, whole seconds) is before \
             1970-01-01T00:00:00Z, the earliest time floodtrace holds; dated \
             1970-01-01T00:00:00Z"
        );
        assert_eq!(
            OddValue::TimeOutOfRange { second: 1 << 40 }.to_string(),
            "timestamp 1099511627776 s (Unix time, whole seconds) is after \
             2554-07-21T23:34:33.709551615Z, the latest time floodtrace holds; dated \
             2554-07-21T23:34:33.709551615Z"
        );
    }

    /// An original length below the captured length is read as in a classic pcap: the
    /// captured length counts on the wire, with a warning (ng_origsmall.pcapng of the review
    /// counted it silently). Enhanced and obsolete packet blocks alike; a time out of range
    /// in the same block is reported too.
    #[test]
    fn original_length_below_captured_length_is_reported() {
        let mut file = shb(1);
        file.extend(idb(1, None));
        file.extend(idb(1, Some(0)));
        let mut small = epb(0, 1_700_000_000_000_000, &[0x5a; 60]);
        small[24..28].copy_from_slice(&20u32.to_le_bytes()); // original length 20
        file.extend(&small);
        // Obsolete packet block: if_id u16, drops u16, ts, caplen 60, original length 0.
        let mut pb = vec![0, 0, 0, 0];
        let us = 1_700_000_001_000_000u64;
        for w in [(us >> 32) as u32, us as u32, 60, 0] {
            pb.extend_from_slice(&w.to_le_bytes());
        }
        pb.extend_from_slice(&[0x5a; 60]);
        file.extend(block(BLOCK_PB, &pb));
        let mut both = epb(1, 1 << 40, &[0x5a; 60]);
        both[24..28].copy_from_slice(&59u32.to_le_bytes());
        file.extend(&both);
        file.extend(epb(0, 1_700_000_002_000_000, &[0x5a; 60]));
        let got: Vec<_> = read_all(&file)
            .into_iter()
            .map(|r| r.map(|r| (r.wire_len, r.odd_values())).unwrap())
            .collect();
        let len = |origlen| {
            Some(OddValue::CaplenExceedsLen {
                caplen: 60,
                origlen,
                format: crate::capture::CaptureFormat::Pcapng,
            })
        };
        let time = Some(OddValue::TimeOutOfRange { second: 1 << 40 });
        assert_eq!(
            got,
            [
                (60, [len(20), None]),
                (60, [len(0), None]),
                (60, [len(59), time]),
                (60, [None, None]),
            ]
        );
        assert_eq!(len(20).unwrap().reason(), "pcapng.caplen_exceeds_len");
    }

    /// A block cut after the section header is damage in the next record, not in the file
    /// header: the error names record 2 here (found by tests/properties.rs, truncation loop).
    #[test]
    fn truncated_block_names_the_next_record() {
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
