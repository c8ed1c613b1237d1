//! Losses, late and duplicated datagrams, exporter restarts and resyncs, from the sequence
//! numbers in the export headers.
//!
//! NetFlow v9 and sFlow number datagrams; NetFlow v5 and IPFIX number records (a datagram
//! advances the sequence by the records it holds). One sequence is followed per numbering
//! scope (see [`SeqTracker::note`]). Sequence numbers are compared modulo 2^32, as RFC 7011
//! §3.1 (IPFIX) and RFC 3954 §5.1 (NetFlow v9) define them, so a wrap from 4294967295 to 0
//! is the next number. Against the number expected next, each datagram is:
//!
//! - **in order**: it starts at the expected number;
//! - **a loss**: it starts ahead of it, by at most what the exporter could have sent since
//!   the scope's previous datagram ([`forward_limit`]): the numbers skipped are counted as
//!   lost and remembered as a *gap* (at most [`MAX_GAPS`] gaps per scope, the oldest
//!   forgotten first);
//! - **a resync**: it starts further ahead than that (a stray or corrupted number, or
//!   numbering that jumped). Nothing is counted as lost; the sequence follows the new
//!   number, unless the next datagram continues the old sequence, in which case the jump
//!   was one stray datagram and the old sequence is followed on;
//! - **late**: it starts behind, within the reorder window ([`WINDOW_DATAGRAMS`] datagrams
//!   or [`WINDOW_RECORDS`] records), inside a remembered gap: what it fills is taken back
//!   from the losses;
//! - **a duplicate**: it starts behind, within the window, but covers nothing missing: it
//!   changes no loss;
//! - **an exporter restart**: it starts further behind than the window, or the header's
//!   sysUptime (NetFlow v5, v9, sFlow) fell by more than [`UPTIME_SLACK_MS`] while the
//!   sequence did not simply go on, or two datagrams in a row repeat numbers already
//!   received and continue each other (a restarted exporter numbering from 0 again, when
//!   its uptime does not tell). The scope starts again from this datagram; losses counted
//!   before stay counted.
//!
//! Each scope keeps a fixed-size state (no allocation per datagram): the number expected,
//! the gaps, the uptime and receive time of the latest datagram in order.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::IpAddr;

use floodtrace_wire::flow::FlowProtocol;

/// Whose numbering one sequence follows: the protocol, an address and the number that
/// scopes the sequence within it, as each protocol defines it (see [`SeqTracker::note`]).
type SeqKey = (FlowProtocol, IpAddr, u32);

/// Most sequences followed at once: a hostile sender inventing a source id or domain per
/// datagram must not grow the table without bound. Real deployments have a few thousand.
pub const MAX_SEQUENCES: usize = 65_536;

/// How far behind the expected number a datagram of NetFlow v9 or sFlow (which number
/// datagrams) may start and still be late or a duplicate; further behind is a restart.
pub const WINDOW_DATAGRAMS: u32 = 4096;

/// The same for NetFlow v5 and IPFIX, which number records: 65,536 records are over 2,000
/// full v5 datagrams.
pub const WINDOW_RECORDS: u32 = 65_536;

/// Gaps remembered per scope. A late datagram filling a forgotten gap counts as a
/// duplicate, and the gap's loss stays counted.
pub const MAX_GAPS: usize = 8;

/// A fall in the header's sysUptime smaller than this (ms) is reordering, not a restart.
pub const UPTIME_SLACK_MS: u32 = 10_000;

/// Datagrams per second one NetFlow v9 source id or sFlow sub-agent could send, at most
/// (far above real exporters): bounds a forward step that counts as loss.
pub const MAX_DATAGRAMS_PER_SECOND: u64 = 1 << 20;

/// Records per second one NetFlow v5 engine or IPFIX observation domain could export, at
/// most: bounds a forward step that counts as loss.
pub const MAX_RECORDS_PER_SECOND: u64 = 1 << 26;

/// The largest forward step that counts as loss when the scope's previous datagram was
/// received `elapsed_ns` before: what the exporter could have sent in that time plus one
/// second (a collector that fell behind reads datagrams queued long before in a burst), at
/// [`MAX_DATAGRAMS_PER_SECOND`] or [`MAX_RECORDS_PER_SECOND`]; never more than 2^31 − 1
/// (half the number space: further ahead is behind, modulo 2^32).
pub fn forward_limit(counts_records: bool, elapsed_ns: u64) -> u32 {
    let rate = if counts_records {
        MAX_RECORDS_PER_SECOND
    } else {
        MAX_DATAGRAMS_PER_SECOND
    };
    let units =
        u128::from(rate) * u128::from(elapsed_ns.saturating_add(1_000_000_000)) / 1_000_000_000;
    units.min(i32::MAX as u128) as u32
}

/// What one datagram's header says about its sequence.
#[derive(Debug, Clone, Copy)]
struct Header {
    key: SeqKey,
    seq: u32,
    /// How far the datagram advances the sequence.
    advance: u32,
    /// sysUptime (ms), for the protocols that carry it.
    uptime: Option<u32>,
}

/// The header fields of `d` that its sequence tracking needs; `None` when too short.
fn header(exporter: IpAddr, d: &[u8], data_records: u32) -> Option<Header> {
    let be32 = |at: usize| {
        d.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let be16 = |at: usize| d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    Some(match (be16(0)?, be16(2)?) {
        // Engine type and id (bytes 20, 21): a router's engines number flows apart.
        (5, count) => Header {
            key: (FlowProtocol::NetflowV5, exporter, u32::from(be16(20)?)),
            seq: be32(16)?,
            advance: u32::from(count),
            uptime: Some(be32(4)?),
        },
        (9, _) => Header {
            key: (FlowProtocol::NetflowV9, exporter, be32(16)?),
            seq: be32(12)?,
            advance: 1,
            uptime: Some(be32(4)?),
        },
        (10, _) => Header {
            key: (FlowProtocol::Ipfix, exporter, be32(12)?),
            seq: be32(8)?,
            advance: data_records,
            // Export time is wall-clock time, not uptime: it says nothing of restarts.
            uptime: None,
        },
        (0, 5) => {
            // Agent address type 1 (IPv4) or 2 (IPv6), the address, then sub-agent id,
            // sequence number and uptime.
            let (agent, at) = match be32(4)? {
                1 => (IpAddr::from(<[u8; 4]>::try_from(d.get(8..12)?).ok()?), 12),
                2 => (IpAddr::from(<[u8; 16]>::try_from(d.get(8..24)?).ok()?), 24),
                _ => return None,
            };
            Header {
                key: (FlowProtocol::SflowV5, agent, be32(at)?),
                seq: be32(at + 4)?,
                advance: 1,
                uptime: Some(be32(at + 8)?),
            }
        }
        _ => return None,
    })
}

/// The state of one followed sequence.
#[derive(Debug, Clone, Copy)]
struct Scope {
    /// The number the next datagram in order starts at.
    expected: u32,
    /// `false` after a datagram whose advance is unknown: the next one starts the
    /// sequence again, without counting a loss.
    anchored: bool,
    /// sysUptime of the latest datagram in order.
    uptime: Option<u32>,
    /// When the latest datagram in order was received (ns).
    at_ns: u64,
    /// Missing ranges `[start, end)` behind `expected`, oldest first.
    gaps: [(u32, u32); MAX_GAPS],
    gap_count: usize,
    /// End (start + advance) of the previous datagram, when it was a duplicate.
    duplicate_end: Option<u32>,
    /// After a jump ahead (a resync): the expected number and uptime of the sequence it
    /// left, until the next datagram shows whether the jump was one stray datagram.
    before_jump: Option<(u32, Option<u32>)>,
}

impl Scope {
    fn new(h: &Header, received_ns: u64) -> Self {
        Scope {
            expected: h.seq.wrapping_add(h.advance),
            anchored: true,
            uptime: h.uptime,
            at_ns: received_ns,
            gaps: [(0, 0); MAX_GAPS],
            gap_count: 0,
            duplicate_end: None,
            before_jump: None,
        }
    }

    /// A number's position on a line on which everything within 2^31 behind or ahead of
    /// `expected` keeps its order (`expected` itself is at 2^31).
    fn pos(&self, n: u32) -> u64 {
        u64::from(n.wrapping_sub(self.expected.wrapping_sub(1 << 31)))
    }

    fn remove_gap(&mut self, i: usize) {
        self.gaps.copy_within(i + 1..self.gap_count, i);
        self.gap_count -= 1;
    }

    fn insert_gap(&mut self, i: usize, gap: (u32, u32)) {
        let mut i = i;
        if self.gap_count == MAX_GAPS {
            // Forget the oldest gap: its loss stays counted.
            self.remove_gap(0);
            i = i.saturating_sub(1);
        }
        self.gaps.copy_within(i..self.gap_count, i + 1);
        self.gaps[i] = gap;
        self.gap_count += 1;
    }

    /// Forget the gaps that ended more than `window` behind the expected number.
    fn prune_gaps(&mut self, window: u32) {
        while self.gap_count > 0 && self.expected.wrapping_sub(self.gaps[0].1) > window {
            self.remove_gap(0);
        }
    }

    /// Take `[seq, seq + advance)` out of the gaps; returns how many missing numbers it
    /// filled, and whether it lies in a gap at all (for a datagram of no records).
    fn fill(&mut self, seq: u32, advance: u32) -> (u64, bool) {
        let (from, to) = (self.pos(seq), self.pos(seq) + u64::from(advance));
        let mut filled = 0;
        let mut inside = false;
        let mut i = 0;
        while i < self.gap_count {
            let (a, b) = self.gaps[i];
            let (pa, pb) = (self.pos(a), self.pos(b));
            if advance == 0 {
                inside |= pa <= from && from < pb;
                i += 1;
                continue;
            }
            let (lo, hi) = (from.max(pa), to.min(pb));
            if lo >= hi {
                i += 1;
                continue;
            }
            filled += hi - lo;
            inside = true;
            // What is left of the gap on either side of the datagram.
            let left = (pa < lo).then_some((a, seq));
            let right = (hi < pb).then(|| (seq.wrapping_add(advance), b));
            match (left, right) {
                (Some(l), Some(r)) => {
                    self.gaps[i] = l;
                    self.insert_gap(i + 1, r);
                }
                (Some(g), None) | (None, Some(g)) => self.gaps[i] = g,
                (None, None) => {
                    self.remove_gap(i);
                    continue;
                }
            }
            if right.is_some() {
                // The datagram ends inside this gap: no later gap can hold any of it.
                break;
            }
            i += 1;
        }
        (filled, inside)
    }
}

/// Sequence-number accounting over all exporters: losses, late and duplicated datagrams,
/// restarts and resyncs (the rules are in the module docs).
#[derive(Debug, Default)]
pub struct SeqTracker {
    scopes: HashMap<SeqKey, Scope>,
    /// Datagrams missing (NetFlow v9, sFlow: they number datagrams).
    pub lost_datagrams: u64,
    /// Records missing (NetFlow v5, IPFIX: they number records).
    pub lost_records: u64,
    /// Datagrams that arrived behind the sequence and filled part of a gap (taken back
    /// from the losses).
    pub late: u64,
    /// Datagrams that arrived behind the sequence and covered nothing missing.
    pub duplicates: u64,
    /// Exporter restarts, per protocol (indexed by [`protocol_index`]).
    pub resets: [u64; 4],
    /// Jumps ahead too far to be losses, per protocol (indexed by [`protocol_index`]).
    pub resyncs: [u64; 4],
    /// Datagrams of sequences not followed because [`MAX_SEQUENCES`] were already followed.
    pub untracked: u64,
}

/// The protocols in the order of [`SeqTracker::resets`] and [`SeqTracker::resyncs`].
pub const PROTOCOLS: [FlowProtocol; 4] = [
    FlowProtocol::NetflowV5,
    FlowProtocol::NetflowV9,
    FlowProtocol::Ipfix,
    FlowProtocol::SflowV5,
];

/// Index of `p` in [`PROTOCOLS`].
pub fn protocol_index(p: FlowProtocol) -> usize {
    match p {
        FlowProtocol::NetflowV5 => 0,
        FlowProtocol::NetflowV9 => 1,
        FlowProtocol::Ipfix => 2,
        FlowProtocol::SflowV5 => 3,
    }
}

impl SeqTracker {
    /// Sequences followed (a scope, once followed, stays: restarts start it again in place).
    pub fn domains(&self) -> usize {
        self.scopes.len()
    }

    /// Note one datagram from `exporter`, received at `received_ns`, whose header is
    /// consistent. `data_records` is what an IPFIX message counts (all data records);
    /// `damaged` says that decoding it found errors: for IPFIX the records of a set that
    /// could not be walked are not counted, so the sequence starts again after it (v5, v9
    /// and sFlow advance by their header alone).
    ///
    /// Each protocol numbers within its own scope, and one sequence is followed per scope:
    /// NetFlow v5 per exporter and (engine type, engine id), NetFlow v9 per exporter and
    /// source id, IPFIX per exporter and observation domain, sFlow per agent address (from
    /// the datagram, whichever address sent it) and sub-agent id.
    pub fn note(
        &mut self,
        exporter: IpAddr,
        received_ns: u64,
        d: &[u8],
        data_records: u32,
        damaged: bool,
    ) {
        let Some(h) = header(exporter, d, data_records) else {
            return;
        };
        let protocol = h.key.0;
        let advance_unknown = damaged && protocol == FlowProtocol::Ipfix;
        let full = self.scopes.len() >= MAX_SEQUENCES;
        let scope = match self.scopes.entry(h.key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(_) if full => {
                self.untracked += 1;
                return;
            }
            Entry::Vacant(v) => {
                v.insert(Scope::new(&h, received_ns)).anchored = !advance_unknown;
                return;
            }
        };
        if !scope.anchored {
            *scope = Scope {
                gaps: scope.gaps,
                gap_count: scope.gap_count,
                ..Scope::new(&h, received_ns)
            };
            scope.anchored = !advance_unknown;
            return;
        }
        let counts_records = matches!(protocol, FlowProtocol::NetflowV5 | FlowProtocol::Ipfix);
        let lost = if counts_records {
            &mut self.lost_records
        } else {
            &mut self.lost_datagrams
        };
        let window = if counts_records {
            WINDOW_RECORDS
        } else {
            WINDOW_DATAGRAMS
        };
        let limit = forward_limit(counts_records, received_ns.saturating_sub(scope.at_ns));
        // Where `seq` stands against `expected`: ahead by at most `limit`, or behind by at
        // most `window`.
        let continues = |expected: u32, seq: u32| {
            let ahead = seq.wrapping_sub(expected);
            ahead <= limit || expected.wrapping_sub(seq) <= window
        };
        let p = protocol_index(protocol);

        if let Some((expected, uptime)) = scope.before_jump.take() {
            if continues(scope.expected, h.seq) {
                // The jump stands: the old sequence's gaps are final.
                scope.gap_count = 0;
            } else if continues(expected, h.seq) {
                // The jump was one stray datagram: back to the sequence it left.
                scope.expected = expected;
                scope.uptime = uptime;
            }
        }
        let ahead = h.seq.wrapping_sub(scope.expected);
        let in_order_or_loss = ahead <= limit;
        // A restart shows in the uptime, when the sequence does not simply go on (a
        // 49.7-day uptime wraps to 0 while the sequence goes on).
        let uptime_fell = match (h.uptime, scope.uptime) {
            (Some(now), Some(before)) => now.saturating_add(UPTIME_SLACK_MS) < before,
            _ => false,
        };
        if uptime_fell && !in_order_or_loss {
            self.resets[p] += 1;
            *scope = Scope::new(&h, received_ns);
        } else if ahead < 1 << 31 {
            if ahead == 0 {
                // In order.
            } else if in_order_or_loss {
                *lost += u64::from(ahead);
                let at = scope.gap_count;
                scope.insert_gap(at, (scope.expected, h.seq));
            } else {
                // Too far ahead to be a loss: follow the new number, but remember the old
                // one until the next datagram tells which sequence goes on.
                self.resyncs[p] += 1;
                scope.before_jump = Some((scope.expected, scope.uptime));
            }
            scope.expected = h.seq.wrapping_add(h.advance);
            scope.uptime = h.uptime;
            scope.at_ns = received_ns;
            scope.duplicate_end = None;
            if scope.before_jump.is_none() {
                scope.prune_gaps(window);
            }
        } else if scope.expected.wrapping_sub(h.seq) > window {
            // Far behind: the exporter started numbering again.
            self.resets[p] += 1;
            *scope = Scope::new(&h, received_ns);
        } else {
            let (filled, inside) = scope.fill(h.seq, h.advance);
            if inside {
                self.late += 1;
                *lost = lost.saturating_sub(filled);
                scope.duplicate_end = None;
            } else if scope.duplicate_end == Some(h.seq) {
                // Two "duplicates" in a row, the second continuing the first: an exporter
                // that started numbering again, from where the first of them started.
                self.duplicates = self.duplicates.saturating_sub(1);
                self.resets[p] += 1;
                *scope = Scope::new(&h, received_ns);
            } else {
                self.duplicates += 1;
                scope.duplicate_end = Some(h.seq.wrapping_add(h.advance));
            }
        }
        if advance_unknown {
            scope.anchored = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A NetFlow v5 header (no records) from engine `engine_type`/`engine_id`, whose
    /// `flow_sequence` is `seq`, counting `count` records, with sysUptime `uptime` ms.
    fn v5_up(seq: u32, engine_type: u8, engine_id: u8, count: u16, uptime: u32) -> Vec<u8> {
        let mut d = vec![0, 5];
        d.extend_from_slice(&count.to_be_bytes());
        d.extend_from_slice(&uptime.to_be_bytes());
        d.extend_from_slice(&[0; 8]); // secs, nsecs
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&[engine_type, engine_id, 0, 0]);
        d
    }

    fn v5(seq: u32, engine_type: u8, engine_id: u8, count: u16) -> Vec<u8> {
        v5_up(seq, engine_type, engine_id, count, 100_000)
    }

    /// A NetFlow v9 header of source id `domain`, sequence `seq`, sysUptime `uptime` ms.
    fn v9_up(seq: u32, domain: u32, uptime: u32) -> Vec<u8> {
        let mut d = vec![0, 9, 0, 1];
        d.extend_from_slice(&uptime.to_be_bytes());
        d.extend_from_slice(&[0; 4]); // secs
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&domain.to_be_bytes());
        d
    }

    fn v9(seq: u32, domain: u32) -> Vec<u8> {
        v9_up(seq, domain, 100_000)
    }

    /// An IPFIX message header with sequence number `seq` from observation domain `domain`.
    fn ipfix(seq: u32, domain: u32) -> Vec<u8> {
        let mut d = vec![0, 10, 0, 16, 0, 0, 0, 0];
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&domain.to_be_bytes());
        d
    }

    /// An sFlow v5 datagram header of agent `agent`, sub-agent `sub_agent`, sequence `seq`
    /// and uptime `uptime` ms.
    fn sflow_up(agent: IpAddr, sub_agent: u32, seq: u32, uptime: u32) -> Vec<u8> {
        let mut d = vec![0, 0, 0, 5];
        match agent {
            IpAddr::V4(a) => {
                d.extend_from_slice(&1u32.to_be_bytes());
                d.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                d.extend_from_slice(&2u32.to_be_bytes());
                d.extend_from_slice(&a.octets());
            }
        }
        d.extend_from_slice(&sub_agent.to_be_bytes());
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&uptime.to_be_bytes());
        d.extend_from_slice(&[0; 4]); // samples
        d
    }

    fn sflow(agent: IpAddr, sub_agent: u32, seq: u32) -> Vec<u8> {
        sflow_up(agent, sub_agent, seq, 100_000)
    }

    /// Note `datagrams` (each with its data record count for IPFIX) from 192.0.2.1, 3 ms
    /// apart, on a fresh tracker.
    fn run(datagrams: &[(Vec<u8>, u32)]) -> SeqTracker {
        let mut t = SeqTracker::default();
        for (i, (d, records)) in datagrams.iter().enumerate() {
            t.note(ip("192.0.2.1"), i as u64 * 3_000_000, d, *records, false);
        }
        t
    }

    /// (lost datagrams, lost records, late, duplicates, all resets, all resyncs)
    fn counts(t: &SeqTracker) -> (u64, u64, u64, u64, u64, u64) {
        (
            t.lost_datagrams,
            t.lost_records,
            t.late,
            t.duplicates,
            t.resets.iter().sum(),
            t.resyncs.iter().sum(),
        )
    }

    /// A sender inventing a source id per datagram fills the table up to its bound and no
    /// further; sequences already followed go on being followed.
    #[test]
    fn sequences_followed_are_bounded() {
        let mut t = SeqTracker::default();
        let e: IpAddr = "192.0.2.1".parse().unwrap();
        t.note(e, 0, &v9(10, u32::MAX), 0, false);
        for domain in 0..MAX_SEQUENCES as u32 + 1000 {
            t.note(e, 0, &v9(0, domain), 0, false);
        }
        assert_eq!(t.scopes.len(), MAX_SEQUENCES);
        assert_eq!((t.domains(), t.untracked), (MAX_SEQUENCES, 1001));
        t.note(e, 0, &v9(13, u32::MAX), 0, false);
        assert_eq!(t.lost_datagrams, 2);
    }

    #[test]
    fn sequence_losses_per_domain() {
        let mut t = SeqTracker::default();
        let e: IpAddr = "192.0.2.1".parse().unwrap();
        for s in [0, 1, 2, 5, 6, 4] {
            t.note(e, 0, &v9(s, 1), 0, false);
        }
        t.note(e, 0, &v9(100, 2), 0, false);
        t.note(e, 0, &v9(101, 2), 0, false);
        // 3 and 4 missing, then 4 arrived late.
        assert_eq!((t.lost_datagrams, t.late, t.domains()), (1, 1, 2));
        // IPFIX counts records: 10 records, then a message claiming 15 before it.
        t.note(e, 0, &ipfix(0, 7), 10, false);
        t.note(e, 0, &ipfix(15, 7), 3, false);
        t.note(e, 0, &ipfix(18, 7), 3, false);
        assert_eq!(t.lost_records, 5);
    }

    #[test]
    fn v5_sequence_runs_per_engine() {
        let mut t = SeqTracker::default();
        let e = ip("192.0.2.1");
        // Two engines of one exporter, each numbering its own flows, interleaved; and two
        // engine types sharing engine id 1.
        for i in 0..5 {
            t.note(e, 0, &v5(100 + 2 * i, 0, 1, 2), 0, false);
            t.note(e, 0, &v5(5000 + i, 0, 2, 1), 0, false);
            t.note(e, 0, &v5(70_000 + 3 * i, 1, 1, 3), 0, false);
        }
        assert_eq!((t.lost_records, t.late, t.domains()), (0, 0, 3));
        // A real loss within one engine is still counted: engine 2 skips 5005 and 5006.
        t.note(e, 0, &v5(5007, 0, 2, 1), 0, false);
        t.note(e, 0, &v5(110, 0, 1, 2), 0, false);
        assert_eq!((t.lost_records, t.late), (2, 0));
        // And one of them arriving late is taken back.
        t.note(e, 0, &v5(5005, 0, 2, 1), 0, false);
        assert_eq!((t.lost_records, t.late), (1, 1));
    }

    #[test]
    fn v9_sequence_runs_per_exporter_and_source_id() {
        let mut t = SeqTracker::default();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        for i in 0..5 {
            t.note(a, 0, &v9(10 + i, 1), 0, false);
            t.note(a, 0, &v9(9000 + i, 2), 0, false);
            t.note(b, 0, &v9(300 + i, 1), 0, false);
        }
        assert_eq!((t.lost_datagrams, t.late, t.domains()), (0, 0, 3));
        t.note(b, 0, &v9(308, 1), 0, false);
        t.note(a, 0, &v9(15, 1), 0, false);
        assert_eq!((t.lost_datagrams, t.late), (3, 0));
    }

    #[test]
    fn ipfix_sequence_runs_per_exporter_and_observation_domain() {
        let mut t = SeqTracker::default();
        let (a, b) = (ip("192.0.2.1"), ip("2001:db8::1"));
        for i in 0..5 {
            t.note(a, 0, &ipfix(4 * i, 7), 4, false);
            t.note(a, 0, &ipfix(1_000_000 + i, 8), 1, false);
            t.note(b, 0, &ipfix(50 + 2 * i, 7), 2, false);
        }
        assert_eq!((t.lost_records, t.late, t.domains()), (0, 0, 3));
        t.note(a, 0, &ipfix(1_000_009, 8), 1, false);
        t.note(b, 0, &ipfix(60, 7), 2, false);
        assert_eq!((t.lost_records, t.late), (4, 0));
    }

    #[test]
    fn sflow_sequence_runs_per_agent_and_sub_agent() {
        let mut t = SeqTracker::default();
        let relay = ip("192.0.2.1");
        let (a, b, c) = (ip("198.51.100.1"), ip("198.51.100.2"), ip("2001:db8::2"));
        // Three agents' datagrams forwarded by one relay, interleaved; agent `a` has two
        // sub-agents.
        for i in 0..5 {
            t.note(relay, 0, &sflow(a, 0, 10 + i), 0, false);
            t.note(relay, 0, &sflow(a, 1, 400 + i), 0, false);
            t.note(relay, 0, &sflow(b, 0, 7000 + i), 0, false);
            t.note(relay, 0, &sflow(c, 0, 20 + i), 0, false);
        }
        assert_eq!((t.lost_datagrams, t.late, t.domains()), (0, 0, 4));
        // The agent address says whose sequence it is, not the address it was sent from.
        t.note(ip("192.0.2.9"), 0, &sflow(b, 0, 7005), 0, false);
        t.note(relay, 0, &sflow(b, 0, 7006), 0, false);
        assert_eq!((t.lost_datagrams, t.late, t.domains()), (0, 0, 4));
        // A real loss: sub-agent 1 of `a` skips 405 and 406.
        t.note(relay, 0, &sflow(a, 1, 407), 0, false);
        assert_eq!((t.lost_datagrams, t.late), (2, 0));
    }

    /// An exporter restart whose sequence goes far back: the scope starts again, and a
    /// real gap after it is counted (before, every later datagram was "late" and nothing
    /// was counted). The reviewer's t03_reset.py cases.
    #[test]
    fn restart_far_back_then_a_gap() {
        let v = |seq| (v5(seq, 0, 0, 10), 0);
        let t = run(&[v(5_000_000), v(5_000_010), v(0), v(10), v(50), v(60)]);
        assert_eq!(counts(&t), (0, 30, 0, 0, 1, 0));
        assert_eq!(t.resets[protocol_index(FlowProtocol::NetflowV5)], 1);
        let agent = ip("198.51.100.1");
        let s = |seq| (sflow(agent, 0, seq), 0);
        let t = run(&[s(100_000), s(100_001), s(1), s(2), s(10), s(11)]);
        assert_eq!(counts(&t), (7, 0, 0, 0, 1, 0));
        assert_eq!(t.resets[protocol_index(FlowProtocol::SflowV5)], 1);
        // IPFIX: a template message (no data records) then data, before and after.
        let t = run(&[
            (ipfix(700_000, 1), 0),
            (ipfix(700_000, 1), 3),
            (ipfix(0, 1), 0),
            (ipfix(0, 1), 3),
            (ipfix(30, 1), 3),
            (ipfix(33, 1), 3),
        ]);
        assert_eq!(counts(&t), (0, 27, 0, 0, 1, 0));
        assert_eq!(t.resets[protocol_index(FlowProtocol::Ipfix)], 1);
    }

    /// A restart shown by the header's sysUptime (v5, v9, sFlow): losses before it stay,
    /// losses after it are counted, even when the sequence goes back only a little.
    #[test]
    fn restart_by_uptime() {
        let v = |seq, up| (v5_up(seq, 0, 0, 10, up), 0);
        let t = run(&[
            v(5_000_000, 86_400_000),
            v(5_000_010, 86_401_000),
            v(0, 2000),
            v(10, 3000),
            v(50, 4000),
            v(60, 5000),
        ]);
        assert_eq!(counts(&t), (0, 30, 0, 0, 1, 0));
        // Loss of 80 records, then a restart only 110 records back.
        let t = run(&[
            v(0, 86_400_000),
            v(10, 86_401_000),
            v(100, 86_402_000),
            v(0, 1000),
            v(10, 2000),
            v(50, 3000),
        ]);
        assert_eq!(counts(&t), (0, 80 + 30, 0, 0, 1, 0));
        let t = run(&[
            (v9_up(7, 1, 5_000_000), 0),
            (v9_up(9, 1, 5_001_000), 0),
            (v9_up(1, 1, 900), 0),
            (v9_up(2, 1, 1000), 0),
            (v9_up(5, 1, 1100), 0),
        ]);
        assert_eq!(counts(&t), (1 + 2, 0, 0, 0, 1, 0));
        let agent = ip("2001:db8::9");
        let s = |seq, up| (sflow_up(agent, 0, seq, up), 0);
        let t = run(&[
            s(100_000, 86_400_000),
            s(100_001, 86_401_000),
            s(1, 2000),
            s(2, 3000),
            s(10, 4000),
            s(11, 5000),
        ]);
        assert_eq!(counts(&t), (7, 0, 0, 0, 1, 0));
    }

    /// The uptime wrapping at 2^32 ms (49.7 days) while the sequence goes on is no restart;
    /// a late datagram carries a slightly older uptime and is only late.
    #[test]
    fn uptime_wrap_and_late_datagrams_are_no_restarts() {
        let t = run(&[
            (v9_up(1, 1, u32::MAX - 500), 0),
            (v9_up(2, 1, 200), 0),
            (v9_up(4, 1, 700), 0),
            (v9_up(3, 1, 400), 0),
            (v9_up(5, 1, 900), 0),
        ]);
        assert_eq!(counts(&t), (0, 0, 1, 0, 0, 0));
    }

    /// Without uptime to tell (the same uptime throughout), an exporter that restarts a
    /// little behind its last number is seen by repeating numbers already received, two
    /// in a row continuing each other: losses before it stay counted. The reviewer's
    /// t03 "gap then reset" cases.
    #[test]
    fn restart_a_little_back_without_uptime() {
        let v = |seq| (v5(seq, 0, 0, 10), 0);
        let t = run(&[v(0), v(10), v(100), v(0), v(10), v(20)]);
        assert_eq!(counts(&t), (0, 80, 0, 0, 1, 0));
        let agent = ip("198.51.100.1");
        let s = |seq| (sflow(agent, 0, seq), 0);
        let t = run(&[s(1), s(2), s(50), s(1), s(2), s(3)]);
        assert_eq!(counts(&t), (47, 0, 0, 0, 1, 0));
    }

    /// Duplicates neither take back losses nor count as late (t04_multi.py): a v5 loss of
    /// 20 records, then the same datagram three times.
    #[test]
    fn duplicates_keep_losses() {
        let v = |seq| (v5(seq, 0, 0, 10), 0);
        let t = run(&[v(0), v(30), v(30), v(30)]);
        assert_eq!(counts(&t), (0, 20, 0, 2, 0, 0));
        // A late datagram fills its part of a gap once; again, it is a duplicate.
        let t = run(&[v(0), v(30), v(10), v(10), v(40)]);
        assert_eq!(counts(&t), (0, 10, 1, 1, 0, 0));
        // A duplicate of a datagram in order, and of one long before (within the window).
        let t = run(&[v(0), v(10), v(10), v(20), v(0), v(30)]);
        assert_eq!(counts(&t), (0, 0, 0, 2, 0, 0));
    }

    /// One datagram with a number far ahead (a bit flip, a forged datagram), then the
    /// exporter's own sequence with a real gap of 5 (t23_seq_jump.py): a resync, not
    /// two billion lost datagrams, and the old sequence is followed on.
    #[test]
    fn a_stray_number_far_ahead_is_a_resync() {
        let v = |seq| (v9(seq, 7), 0);
        let t = run(&[v(0), v(1), v(2), v(2_000_000_000), v(3), v(4), v(10), v(11)]);
        assert_eq!(counts(&t), (5, 0, 0, 0, 0, 1));
        assert_eq!(t.resyncs[protocol_index(FlowProtocol::NetflowV9)], 1);
        // A numbering that really jumped: followed from the new number on.
        let t = run(&[
            v(1),
            v(2),
            v(2_000_000_000),
            v(2_000_000_001),
            v(2_000_000_003),
        ]);
        assert_eq!(counts(&t), (1, 0, 0, 0, 0, 1));
        // Late datagrams of the old sequence around a stray are still late.
        let t = run(&[v(1), v(3), v(3_000_000), v(2), v(4)]);
        assert_eq!(counts(&t), (0, 0, 1, 0, 0, 1));
    }

    /// What counts as loss grows with the time since the scope's previous datagram: two
    /// million datagrams ahead 3 ms later is a resync, ten seconds later a loss.
    #[test]
    fn forward_limit_grows_with_time() {
        assert_eq!(forward_limit(false, 0), 1 << 20);
        assert_eq!(forward_limit(true, 0), 1 << 26);
        assert_eq!(forward_limit(false, u64::MAX), i32::MAX as u32);
        let e = ip("192.0.2.1");
        let mut t = SeqTracker::default();
        t.note(e, 0, &v9(1, 1), 0, false);
        t.note(e, 3_000_000, &v9(2_000_002, 1), 0, false);
        t.note(e, 6_000_000, &v9(2_000_003, 1), 0, false);
        assert_eq!(counts(&t), (0, 0, 0, 0, 0, 1));
        let mut t = SeqTracker::default();
        t.note(e, 0, &v9(1, 1), 0, false);
        t.note(e, 10_000_000_000, &v9(2_000_002, 1), 0, false);
        assert_eq!(counts(&t), (2_000_000, 0, 0, 0, 0, 0));
    }

    /// Numbers are compared modulo 2^32: the wrap is the next number, and a loss across
    /// it is the numbers skipped.
    #[test]
    fn sequence_numbers_wrap() {
        let v = |seq| (v5(seq, 0, 0, 10), 0);
        let t = run(&[v(u32::MAX - 19), v(u32::MAX - 9), v(0), v(20), v(10)]);
        assert_eq!(counts(&t), (0, 0, 1, 0, 0, 0));
        let t = run(&[v(u32::MAX - 9), v(20)]);
        assert_eq!(counts(&t), (0, 20, 0, 0, 0, 0));
    }

    /// Behind by more than the window is a restart, not a late datagram; within it, late.
    #[test]
    fn reorder_window() {
        let v = |seq| (v9(seq, 1), 0);
        let t = run(&[v(0), v(WINDOW_DATAGRAMS + 10), v(5)]);
        assert_eq!(counts(&t), (u64::from(WINDOW_DATAGRAMS) + 9, 0, 0, 0, 1, 0));
        let t = run(&[v(0), v(WINDOW_DATAGRAMS + 10), v(20)]);
        assert_eq!(counts(&t), (u64::from(WINDOW_DATAGRAMS) + 8, 0, 1, 0, 0, 0));
    }

    /// At most MAX_GAPS gaps are remembered: a datagram filling a forgotten one is a
    /// duplicate, and the loss stays counted.
    #[test]
    fn gaps_are_bounded() {
        let mut seqs: Vec<u32> = (0..=MAX_GAPS as u32 + 1).map(|i| 2 * i).collect();
        seqs.push(1);
        seqs.push(3);
        let t = run(&seqs.iter().map(|&s| (v9(s, 1), 0)).collect::<Vec<_>>());
        let gaps = MAX_GAPS as u64 + 1;
        assert_eq!(counts(&t), (gaps - 1, 0, 1, 1, 0, 0));
    }

    /// A late v5 datagram filling the middle of a gap splits it; both parts stay.
    #[test]
    fn late_records_split_a_gap() {
        let v = |seq| (v5(seq, 0, 0, 10), 0);
        let t = run(&[v(0), v(40), v(20), v(10), v(30)]);
        assert_eq!(counts(&t), (0, 0, 3, 0, 0, 0));
    }

    /// An IPFIX message that did not decode whole advances by records not counted: the
    /// next message starts the sequence again, without a loss.
    #[test]
    fn damaged_ipfix_messages_start_the_sequence_again() {
        let e = ip("192.0.2.1");
        let mut t = SeqTracker::default();
        t.note(e, 0, &ipfix(0, 1), 3, false);
        // A data set without its template: 5 records not counted.
        t.note(e, 0, &ipfix(3, 1), 0, true);
        t.note(e, 0, &ipfix(8, 1), 3, false);
        t.note(e, 0, &ipfix(12, 1), 3, false);
        assert_eq!(counts(&t), (0, 1, 0, 0, 0, 0));
        // A v9 datagram with errors still advances by one.
        t.note(e, 0, &v9(0, 1), 0, false);
        t.note(e, 0, &v9(1, 1), 0, true);
        t.note(e, 0, &v9(3, 1), 0, false);
        assert_eq!(t.lost_datagrams, 1);
    }
}
