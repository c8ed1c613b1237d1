//! A hash-sampled log of who sent what to whom, second by second, kept during the first
//! pass so that source attribution rarely needs to read the input again.
//!
//! Which incidents exist is only known once the whole input was read, and attribution
//! needs each incident's sources during its span and its victim's sources around it
//! (`floodtrace::attribution`). Keeping that for every destination would cost more than
//! the analysis itself; keeping it for a **hash sample of sources** does not:
//!
//! - a packet is logged when the sample hash of its source ([`SourceSample::hash_addr`])
//!   is at most the threshold `tau`; entries are keyed by `(destination, source, second)`
//!   and carry that source's exact [`SourceStats`] for the second;
//! - a TCP data segment (ACK, no SYN or RST, payload) is also logged, as a *served* entry
//!   under its sender, when the hash of its receiver is at most `tau`: a victim serving
//!   data to an address makes that address a client;
//! - when more than `budget` distinct keys are held, `tau` halves and the entries above it
//!   are dropped.
//!
//! Since the hash is a fixed pseudo-random function of the address, the sources below any
//! `tau` are a uniform sample of all sources, of every destination and second alike; for a
//! given `tau` the sample is all-or-nothing per source, so each kept source's counts are
//! exact. The final `tau` is the largest power-of-two fraction at which the whole input has
//! at most `budget` distinct keys: a log only halves when its own keys (a subset of the
//! input's) exceed the budget, so no log ever goes below that value, and the merged log
//! ends exactly at it. The result therefore does not depend on chunking, thread count or
//! merge order, and a chunk may start from any `tau` at or above the final one
//! ([`SourceLog::with_tau`]: the caller passes what it has seen so far, so a chunk does
//! not log everything again before it learns the rate).
//!
//! Memory: at most `1.5 × budget` entries of 96 bytes (compaction runs when the buffer
//! reaches that); a log that others are merged into may hold two compacted logs' worth
//! (2 × budget) during a merge. An incident whose sampled sources fall short (a long attack
//! by a persistent botnet, where every bot fills a key per second) is attributed by a
//! second, targeted pass as before; see ARCHITECTURE.md (l).

use floodtrace_wire::transport::{tcp_flag, PROTO_TCP};
use floodtrace_wire::Observation;

use super::source_sample::{SourceSample, SourceStats};

/// One `(destination, source, second)` of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    /// Destination key (`aggregate::addr_key`); for a served entry, the server.
    pub dst: u128,
    /// Source key; for a served entry, the client the server sent data to.
    pub src: u128,
    /// Unix second.
    pub second: u32,
    /// A served entry (see the module docs) rather than traffic from `src` to `dst`.
    pub served: bool,
    /// Sample hash of `src`.
    pub hash: u64,
    /// Exact counts of `src`'s packets to `dst` in that second (empty for served entries).
    pub stats: SourceStats,
}

impl LogEntry {
    fn key(&self) -> (u128, u128, u32, bool) {
        (self.dst, self.src, self.second, self.served)
    }
}

/// Default budget of distinct keys: 131,072 entries of 96 bytes (12 MiB, 18 MiB while
/// buffering). Enough for 16 victims of one spoofed flood to keep 4,096+ sources each.
pub const DEFAULT_BUDGET: usize = 1 << 17;

/// The hash-sampled source log (see the module docs).
#[derive(Debug, Clone)]
pub struct SourceLog {
    tau: u64,
    budget: usize,
    /// `entries[..sorted]` is distinct and sorted (see `by_key`); the rest is unsorted.
    entries: Vec<LogEntry>,
    sorted: usize,
    /// The sorted prefix is in canonical key order ([`SourceLog::finish`]) rather than in
    /// `(hash, key)` order, the order compaction keeps: there a lower threshold cuts a
    /// prefix, and sorting 16-byte `(hash, index)` pairs instead of 96-byte entries made
    /// compaction several times cheaper.
    by_key: bool,
    /// Logs of later parts merged but not yet folded into `entries` (one log, compacted):
    /// small chunk logs gather here and reach the large log together, because every merge
    /// into it moves all of its entries. `tau` already counts this log's threshold.
    pending: Option<Box<SourceLog>>,
}

impl PartialEq for SourceLog {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (self.clone(), other.clone());
        a.finish();
        b.finish();
        a.tau == b.tau && a.budget == b.budget && a.entries == b.entries
    }
}

impl SourceLog {
    /// An empty log that keeps every source until it holds more than `budget` keys.
    pub fn new(budget: usize) -> Self {
        Self::with_tau(budget, u64::MAX)
    }

    /// An empty log starting at threshold `tau` (the threshold another part of the same
    /// input already reached: never below the final one, see the module docs).
    pub fn with_tau(budget: usize, tau: u64) -> Self {
        SourceLog {
            tau,
            budget: budget.max(1),
            entries: Vec::new(),
            sorted: 0,
            by_key: false,
            pending: None,
        }
    }

    /// The current threshold: sources whose sample hash is at most this are logged.
    pub fn tau(&self) -> u64 {
        self.tau
    }

    /// Whether every source was kept (the threshold never fell).
    pub fn is_complete(&self) -> bool {
        self.tau == u64::MAX
    }

    /// Share of the hash space (and so, in expectation, of the distinct sources) kept.
    pub fn fraction(&self) -> f64 {
        if self.is_complete() {
            1.0
        } else {
            (self.tau as f64 + 1.0) / 18_446_744_073_709_551_616.0
        }
    }

    /// Log one observation whose source and destination keys are `src` and `dst`.
    #[inline]
    pub fn observe(&mut self, obs: &Observation, src: u128, dst: u128, second: u64) {
        let hash = SourceSample::hash_key(src);
        if hash <= self.tau {
            let mut stats = SourceStats::new();
            stats.add(obs);
            self.push(LogEntry {
                dst,
                src,
                second: second as u32,
                served: false,
                hash,
                stats,
            });
        }
        if is_tcp_data(obs) {
            let client = SourceSample::hash_key(dst);
            if client <= self.tau {
                self.push(LogEntry {
                    dst: src,
                    src: dst,
                    second: second as u32,
                    served: true,
                    hash: client,
                    stats: SourceStats::new(),
                });
            }
        }
    }

    #[inline]
    fn push(&mut self, e: LogEntry) {
        // Runs of packets from one source to one destination in one second (a bot's
        // flood) fold into the last entry.
        let unsorted_tail = self.entries.len() > self.sorted;
        if let Some(last) = self.entries.last_mut() {
            if unsorted_tail && last.key() == e.key() {
                last.stats.merge(&e.stats);
                return;
            }
        }
        if self.entries.len() == self.entries.capacity() {
            // The whole buffer at once, up to the compaction point: growing by doubling
            // copied every entry about twice per chunk, into fresh pages each time (a
            // third of the page faults of a flow file's analysis). Pages never written
            // cost nothing but address space.
            let limit = self.buffer_limit();
            self.entries
                .reserve_exact(limit.saturating_sub(self.entries.len()).max(1));
        }
        self.entries.push(e);
        if self.entries.len() >= self.buffer_limit() {
            self.compact();
        }
    }

    /// Entries held (sorted prefix and unsorted tail) before a compaction.
    fn buffer_limit(&self) -> usize {
        self.budget + self.budget / 2
    }

    /// Sort by `(hash, key)`, fold duplicate keys, and halve the threshold while over
    /// budget. [`SourceLog::merge`] does this to both logs; a worker that calls it on its
    /// part first takes that work off the merging thread.
    #[inline(never)]
    pub fn compact(&mut self) {
        if let Some(p) = self.pending.take() {
            self.merge_now(*p);
        }
        if self.sorted < self.entries.len() || self.by_key {
            // Sort indices, not entries: equal keys have equal hashes, so ties on the hash
            // (one source over several seconds or destinations) are rare and short.
            let entries = &self.entries;
            let mut order: Vec<(u64, u32)> = entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.hash, i as u32))
                .collect();
            order.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| {
                    entries[a.1 as usize]
                        .key()
                        .cmp(&entries[b.1 as usize].key())
                })
            });
            // Move the entries into that order in place, cycle by cycle (a second buffer
            // would double the log's memory): `order[k].1` is where position `k`'s entry
            // comes from, and becomes `k` once it is there.
            let entries = &mut self.entries;
            for start in 0..order.len() {
                if order[start].1 as usize == start {
                    continue;
                }
                let first = entries[start];
                let mut k = start;
                loop {
                    let from = order[k].1 as usize;
                    order[k].1 = k as u32;
                    if from == start {
                        entries[k] = first;
                        break;
                    }
                    entries[k] = entries[from];
                    k = from;
                }
            }
            let mut out = 0usize;
            for i in 0..entries.len() {
                if out > 0 && entries[out - 1].key() == entries[i].key() {
                    let s = entries[i].stats;
                    entries[out - 1].stats.merge(&s);
                } else {
                    entries[out] = entries[i];
                    out += 1;
                }
            }
            entries.truncate(out);
            self.by_key = false;
        }
        self.thin_to_budget();
    }

    /// Halve the threshold while more than `budget` keys are at or below it, dropping the
    /// keys above it (a prefix cut: the log is in `(hash, key)` order, distinct).
    fn thin_to_budget(&mut self) {
        // The first cut is at the current threshold: entries above it are not keys of the
        // log (pushed before a merge brought a lower one), and counted they would halve it
        // one step too far.
        loop {
            let tau = self.tau;
            let keep = self.entries.partition_point(|e| e.hash <= tau);
            self.entries.truncate(keep);
            // `tau > 0`: more than `budget` keys whose hash is 0 cannot be thinned further.
            if self.entries.len() <= self.budget || self.tau == 0 {
                break;
            }
            self.tau >>= 1;
        }
        self.sorted = self.entries.len();
    }

    /// Add the log of another part of the same input.
    ///
    /// Logs smaller than a quarter of the budget wait in a pending log (merged with each
    /// other there) and are merged into this one once together they reach that size, or
    /// when the log is compacted or finished: a merge moves every entry of the log merged
    /// into, and a chunk's log is usually a few per cent of it. The threshold drops at
    /// once, so later chunks start from it.
    pub fn merge(&mut self, mut other: SourceLog) {
        other.compact();
        let pending = match self.pending.take() {
            Some(mut p) => {
                p.merge_now(other);
                p
            }
            None => {
                // A chunk's buffer may be far larger than what compaction left in it, and
                // a pending log can wait through many merges.
                if other.entries.capacity() > 2 * other.entries.len() {
                    other.entries.shrink_to_fit();
                }
                Box::new(other)
            }
        };
        self.tau = self.tau.min(pending.tau);
        if pending.entries.len() >= self.budget / 4 {
            self.merge_now(*pending);
        } else {
            self.pending = Some(pending);
        }
    }

    /// Merge `other` into this log's entries now.
    ///
    /// Both logs are compacted and cut at the lower threshold, then merged from the back
    /// into this log's buffer: a first pass counts the keys both hold, so the merged
    /// entries end exactly at their count and no second buffer is needed. The threshold
    /// then halves until at most `budget` keys are at or below it, where pushing every
    /// entry and compacting would have left it. (Pushing re-sorted up to 1.5 × budget
    /// entries per merge, serially on the thread that merges every chunk; merging into a
    /// second buffer held up to 1.5 × budget entries more: 8–10 MiB more at the bench file's
    /// two-thread peak.)
    fn merge_now(&mut self, mut other: SourceLog) {
        self.compact();
        other.compact();
        let tau = self.tau.min(other.tau);
        let a = &mut self.entries;
        a.truncate(a.partition_point(|e| e.hash <= tau));
        let b = &other.entries[..other.entries.partition_point(|e| e.hash <= tau)];
        let order = |x: &LogEntry, y: &LogEntry| (x.hash, x.key()).cmp(&(y.hash, y.key()));
        let shared = {
            let (mut i, mut j, mut n) = (0, 0, 0);
            while i < a.len() && j < b.len() {
                match order(&a[i], &b[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        n += 1;
                        i += 1;
                        j += 1;
                    }
                }
            }
            n
        };
        let (na, nb) = (a.len(), b.len());
        let len = na + nb - shared;
        if let Some(&filler) = b.first() {
            // Exactly: doubling would keep up to 3 × budget entries of capacity.
            a.reserve_exact(len - na);
            a.resize(len, filler);
        }
        // From the back, largest first. Writing never overtakes reading: the slots
        // between the write and read positions of `a` are the entries of `b` still to
        // place less the shared keys still to meet, and once `b` is placed, what is left
        // of `a` is where it belongs.
        let (mut i, mut j, mut w) = (na, nb, len);
        while j > 0 {
            let y = b[j - 1];
            let step = if i > 0 {
                order(&a[i - 1], &y)
            } else {
                std::cmp::Ordering::Less
            };
            w -= 1;
            match step {
                std::cmp::Ordering::Greater => {
                    a[w] = a[i - 1];
                    i -= 1;
                }
                std::cmp::Ordering::Equal => {
                    let mut e = a[i - 1];
                    e.stats.merge(&y.stats);
                    a[w] = e;
                    i -= 1;
                    j -= 1;
                }
                std::cmp::Ordering::Less => {
                    a[w] = y;
                    j -= 1;
                }
            }
        }
        debug_assert_eq!(w, i);
        self.tau = tau;
        self.thin_to_budget();
    }

    /// Bring the log to its canonical form (sorted by key, distinct, within budget).
    pub fn finish(&mut self) {
        if self.pending.is_none() && self.by_key && self.sorted == self.entries.len() {
            return;
        }
        self.compact();
        // Keys are distinct now: an unstable sort gives the one canonical order.
        self.entries.sort_unstable_by_key(LogEntry::key);
        self.by_key = true;
    }

    /// The entries, sorted by `(destination, source, second, served)` after
    /// [`Self::finish`].
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// Bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<LogEntry>()
            + self.pending.as_ref().map_or(0, |p| p.memory_bytes())
    }
}

/// A TCP segment carrying data on an established connection (ACK, no SYN or RST): what a
/// server sends its clients, and never a flood's spoofed or unanswered sources.
#[inline]
pub fn is_tcp_data(obs: &Observation) -> bool {
    obs.proto == PROTO_TCP
        && obs.payload_len > 0
        && obs.tcp_flags & tcp_flag::ACK != 0
        && obs.tcp_flags & (tcp_flag::SYN | tcp_flag::RST) == 0
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::aggregate::addr_key;

    fn obs(src: u32, dst: u32, sec: u64, flags: u8, payload: u16) -> Observation {
        let mut o = Observation::new(
            sec * 1_000_000_000,
            IpAddr::V4(Ipv4Addr::from(src)),
            IpAddr::V4(Ipv4Addr::from(dst)),
        );
        o.proto = PROTO_TCP;
        o.tcp_flags = flags;
        o.payload_len = payload;
        o.ttl = 50;
        o.packets = 1;
        o.bytes = 60;
        o
    }

    fn feed(log: &mut SourceLog, items: &[Observation]) {
        for o in items {
            log.observe(o, addr_key(o.src), addr_key(o.dst), o.ts_ns / 1_000_000_000);
        }
    }

    /// `items` in one log of `budget` keys, finished.
    fn one_log(items: &[Observation], budget: usize) -> SourceLog {
        let mut one = SourceLog::new(budget);
        feed(&mut one, items);
        one.finish();
        one
    }

    /// Finish `got` and check it is `want` (threshold and entries), naming `case`.
    fn assert_same_log(got: &mut SourceLog, want: &SourceLog, case: &str) {
        got.finish();
        assert_eq!(got.tau(), want.tau(), "{case}");
        assert_eq!(got.entries(), want.entries(), "{case}");
    }

    fn stream() -> Vec<Observation> {
        let mut v = Vec::new();
        let mut x = 1u32;
        for i in 0..40_000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // A flood from random sources, a few heavy sources, and served clients.
            v.push(obs(x, 0xcb00_710a, u64::from(i / 1000), tcp_flag::SYN, 0));
            if i % 7 == 0 {
                v.push(obs(
                    0x0a00_0001 + i % 5,
                    0xcb00_710a,
                    u64::from(i / 1000),
                    tcp_flag::ACK,
                    0,
                ));
            }
            if i % 11 == 0 {
                v.push(obs(
                    0xcb00_710a,
                    0x0a01_0000 + i % 300,
                    u64::from(i / 1000),
                    tcp_flag::ACK,
                    100,
                ));
            }
        }
        v
    }

    #[test]
    fn any_chunking_and_starting_threshold_gives_the_same_log() {
        let items = stream();
        let one = one_log(&items, 4096);
        assert!(!one.is_complete(), "the budget must force sampling here");
        assert!(one.entries().len() <= 4096);
        assert!(one.entries().windows(2).all(|w| w[0].key() < w[1].key()));
        for parts in [2, 5, 13] {
            let mut merged = SourceLog::new(4096);
            for chunk in items.chunks(items.len() / parts + 1) {
                // Each part starts from the threshold reached so far.
                let mut p = SourceLog::with_tau(4096, merged.tau());
                feed(&mut p, chunk);
                merged.merge(p);
            }
            assert_same_log(&mut merged, &one, &format!("{parts} parts"));
        }
    }

    #[test]
    fn merging_into_a_log_with_unsorted_entries_gives_the_same_log() {
        // A log that still holds pushed entries above the threshold another log brings
        // must not count them when it thins: that halved one step too far.
        let items: Vec<Observation> = stream().into_iter().take(3000).collect();
        for budget in [1, 2, 3, 4, 5, 8, 13, 50, 400] {
            let one = one_log(&items, budget);
            for split in [1, 7, 100, 1500, 2999] {
                let mut a = SourceLog::new(budget);
                feed(&mut a, &items[..split]);
                let mut b = SourceLog::new(budget);
                feed(&mut b, &items[split..]);
                a.merge(b);
                assert_same_log(&mut a, &one, &format!("budget {budget}, split {split}"));
            }
        }
    }

    #[test]
    fn a_waiting_log_holds_no_more_than_its_entries() {
        // Three sources interleaved fill a chunk's buffer without folding; compaction
        // leaves three keys in it, and the pending log must not keep the whole buffer.
        let items: Vec<Observation> = (0..3000u32)
            .map(|i| obs(0x0a00_0001 + i % 3, 0xcb00_710a, 0, tcp_flag::SYN, 0))
            .collect();
        let mut p = SourceLog::new(1024);
        feed(&mut p, &items);
        let mut merged = SourceLog::new(1024);
        merged.merge(p);
        assert!(merged.pending.is_some());
        assert!(
            merged.memory_bytes() <= 6 * std::mem::size_of::<LogEntry>(),
            "{} bytes",
            merged.memory_bytes()
        );
    }

    #[test]
    fn small_logs_wait_pending_and_give_the_same_log() {
        // Parts far below a quarter of the budget gather in the pending log; the
        // threshold later parts start from must already count them.
        let items = stream();
        let one = one_log(&items, 4096);
        let mut merged = SourceLog::new(4096);
        let mut waited = 0;
        for chunk in items.chunks(150) {
            let mut p = SourceLog::with_tau(4096, merged.tau());
            feed(&mut p, chunk);
            let part_tau = {
                let mut c = p.clone();
                c.compact();
                c.tau()
            };
            merged.merge(p);
            assert!(merged.tau() <= part_tau);
            waited += usize::from(merged.pending.is_some());
        }
        assert!(waited > 100, "pending used after {waited} of the merges");
        assert_eq!(merged, one);
        assert_same_log(&mut merged, &one, "150-record parts");
        assert!(merged.pending.is_none());
    }

    #[test]
    fn merging_logs_that_share_every_key_adds_their_counts() {
        // Every key in both logs: the merge folds each pair, and the budget cut applies
        // to the folded keys.
        let items = stream();
        let twice: Vec<Observation> = items.iter().chain(&items).copied().collect();
        for budget in [4096, 1 << 20] {
            let one = one_log(&twice, budget);
            let mut merged = SourceLog::new(budget);
            for _ in 0..2 {
                let mut p = SourceLog::new(budget);
                feed(&mut p, &items);
                merged.merge(p);
            }
            assert_same_log(&mut merged, &one, &format!("budget {budget}"));
        }
    }

    #[test]
    fn kept_sources_have_exact_counts_and_are_below_the_threshold() {
        let items = stream();
        let mut log = SourceLog::new(4096);
        feed(&mut log, &items);
        log.finish();
        let tau = log.tau();
        for e in log.entries() {
            assert!(e.hash <= tau);
            if e.served {
                continue;
            }
            let exact = items
                .iter()
                .filter(|o| {
                    addr_key(o.src) == e.src
                        && addr_key(o.dst) == e.dst
                        && o.ts_ns / 1_000_000_000 == u64::from(e.second)
                })
                .count() as u64;
            assert_eq!(e.stats.packets, exact);
        }
        // Every source below the threshold is there.
        let below = items
            .iter()
            .filter(|o| SourceSample::hash_addr(o.src) <= tau)
            .count();
        let logged: u64 = log
            .entries()
            .iter()
            .filter(|e| !e.served)
            .map(|e| e.stats.packets)
            .sum();
        assert_eq!(logged, below as u64);
    }

    #[test]
    fn tiny_budgets_work() {
        // Budgets below the first buffer growth step (64 entries) once made `push` panic.
        for budget in [1, 5, 42] {
            let mut log = SourceLog::new(budget);
            feed(&mut log, &stream());
            log.finish();
            assert!(!log.entries().is_empty() && log.entries().len() <= budget);
        }
    }

    #[test]
    fn entries_stay_small() {
        // The budget's memory figure assumes this.
        assert!(std::mem::size_of::<LogEntry>() <= 96);
    }

    #[test]
    fn a_small_input_is_kept_whole_with_served_clients() {
        let mut log = SourceLog::new(1 << 16);
        feed(
            &mut log,
            &[
                obs(0x0a00_0001, 0xcb00_710a, 5, tcp_flag::ACK, 0),
                obs(
                    0xcb00_710a,
                    0x0a00_0001,
                    5,
                    tcp_flag::ACK | tcp_flag::PSH,
                    200,
                ),
                obs(
                    0xcb00_710a,
                    0x0a00_0002,
                    6,
                    tcp_flag::SYN | tcp_flag::ACK,
                    0,
                ),
            ],
        );
        log.finish();
        assert!(log.is_complete());
        let served: Vec<_> = log.entries().iter().filter(|e| e.served).collect();
        assert_eq!(served.len(), 1);
        assert_eq!(served[0].dst, addr_key("203.0.113.10".parse().unwrap()));
        assert_eq!(served[0].src, addr_key("10.0.0.1".parse().unwrap()));
        assert_eq!(log.entries().len(), 4);
    }
}
