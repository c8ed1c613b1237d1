//! Bottom-k sample of the distinct sources of one victim, with exact per-source counts.
//!
//! A [`SourceSample`] keeps the `k` sources whose 64-bit address hash ([`super::hash128`]
//! with a fixed seed) is smallest. Because the hash is a fixed pseudo-random function of the
//! address, those `k` are a **uniform sample of the distinct sources**, whatever their packet
//! counts — one packet from a spoofed address weighs as much as a million from a bot.
//!
//! # Exactness
//!
//! A source is admitted at its first sighting when its `(hash, address)` is at or below the
//! current threshold, and the threshold only ever falls. A source that belongs to the final
//! bottom-k of the whole stream is below every threshold the sketch ever had (the threshold
//! is the k-th smallest hash seen *so far*, and a final member is among the k smallest of
//! every prefix and every part of the stream), so it is admitted at its first packet and never
//! evicted: **its counts are exact**. Merging two samples adds the counts of shared sources
//! and keeps the k smallest of the union, which is therefore identical to one pass over the
//! concatenated data, in any chunking and any merge order. Every per-source field merges
//! exactly: sums, minimum / maximum, bitwise OR, minimum hash.
//!
//! # Cost
//!
//! [`SourceSample::observe`] adds to three exact totals, hashes the source and compares the hash with
//! the threshold; only sources below it touch the table (an open-addressing table keyed by
//! that same hash). Under a flood from millions of random sources almost every packet stops
//! at the comparison: after `n` distinct sources only about `k · ln(n / k)` were ever
//! admitted. The table holds at most `k + k/2` entries before it is pruned back to `k`, so
//! memory is bounded by `k` (at most `k + k/2` entries of 96 bytes and a table of at most `4k`
//! four-byte slots: ≤ 640 KiB at the default `k` = 4096)
//! whatever the number of sources, and a quiet victim with a handful of sources costs a few
//! hundred bytes (the table grows by doubling).
//!
//! # Similarity
//!
//! Two samples with the same hash function are bottom-k (MinHash) signatures of their source
//! sets: [`SourceSample::similarity`] estimates the Jaccard index and containment from the
//! sampled sources below both thresholds, which is what campaign linking uses.

use std::net::IpAddr;

use floodtrace_wire::transport::{tcp_flag, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use floodtrace_wire::Observation;
use serde::Serialize;

use super::hash128;
use crate::aggregate::{addr_key, key_addr};

/// Default sample size: 4096 sources (relative error of a share estimate ≤ 1/(2√4096) ≈ 0.8 %
/// one standard error, and of the distinct-count estimate ≈ 1.6 %).
pub const DEFAULT_K: usize = 4096;

/// Seed of the source hash. Fixed: samples of different victims, files and runs must use
/// the same hash to be comparable (campaign linking).
const SEED: u64 = 0x1f83_d9ab_fb41_bd6b;

/// Bits of [`SourceStats::flags`]: what kinds of packets a source sent.
pub mod source_flag {
    /// TCP SYN without ACK (a connection attempt, or a SYN flood packet).
    pub const SYN: u8 = 1 << 0;
    /// TCP ACK without SYN, RST or FIN (a handshake's third packet, data, or an ACK flood).
    pub const ACK: u8 = 1 << 1;
    /// TCP SYN+ACK: a server's answer (received backscatter / SYN-ACK reflection).
    pub const SYN_ACK: u8 = 1 << 2;
    /// TCP RST: a refusal (received backscatter).
    pub const RST: u8 = 1 << 3;
    /// ICMP / ICMPv6 destination unreachable or time exceeded (received backscatter).
    pub const ICMP_ERROR: u8 = 1 << 4;
    /// UDP.
    pub const UDP: u8 = 1 << 5;
    /// Anything else (other ICMP, GRE, other protocols, later fragments).
    pub const OTHER: u8 = 1 << 6;
}

/// What is kept per sampled source. All counts are exact since the source's first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceStats {
    /// Packets (`Observation::packets`: × sampling for flow records).
    pub packets: u64,
    /// IP bytes.
    pub bytes: u64,
    /// Smallest TTL / hop limit seen (255 when none was seen: `ttl_max` is then 0).
    pub ttl_min: u8,
    /// Largest TTL / hop limit seen (0 when none).
    pub ttl_max: u8,
    /// [`source_flag`] bits.
    pub flags: u8,
    /// Packets that look like received backscatter: SYN-ACK, RST, ICMP errors.
    pub backscatter_packets: u64,
    /// Destination ports seen, one bit per port hash (linear counting over 64 bits).
    pub port_bits: u64,
    /// Minimum over the source's SYN packets of a bijective hash of `(sport, dport)`.
    syn_min: u32,
    /// The same over its pure-ACK packets. Equal minima mean that one port pair carried both a
    /// SYN and an ACK: a completed handshake (MinHash: the chance is the Jaccard index of the
    /// two port-pair sets, ≈ 0 for random-port floods, ≈ 1 for a client's connections).
    ack_min: u32,
}

impl SourceStats {
    pub(crate) fn new() -> Self {
        SourceStats {
            packets: 0,
            bytes: 0,
            ttl_min: u8::MAX,
            ttl_max: 0,
            flags: 0,
            backscatter_packets: 0,
            port_bits: 0,
            syn_min: u32::MAX,
            ack_min: u32::MAX,
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, obs: &Observation) {
        self.packets = self.packets.saturating_add(obs.packets);
        self.bytes = self.bytes.saturating_add(obs.bytes);
        if obs.ttl != 0 {
            self.ttl_min = self.ttl_min.min(obs.ttl);
            self.ttl_max = self.ttl_max.max(obs.ttl);
        }
        let kind = packet_kind(obs);
        self.flags |= kind;
        if kind & BACKSCATTER != 0 {
            self.backscatter_packets = self.backscatter_packets.saturating_add(obs.packets);
        }
        if matches!(obs.proto, PROTO_TCP | PROTO_UDP) && obs.ports_known() {
            self.port_bits |= 1u64 << (fmix32(u32::from(obs.dport)) & 63);
        }
        let pair = fmix32((u32::from(obs.sport) << 16) | u32::from(obs.dport));
        if kind & source_flag::SYN != 0 {
            self.syn_min = self.syn_min.min(pair);
        } else if kind & source_flag::ACK != 0 {
            self.ack_min = self.ack_min.min(pair);
        }
    }

    pub(crate) fn merge(&mut self, o: &SourceStats) {
        self.packets = self.packets.saturating_add(o.packets);
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.ttl_min = self.ttl_min.min(o.ttl_min);
        self.ttl_max = self.ttl_max.max(o.ttl_max);
        self.flags |= o.flags;
        self.backscatter_packets = self
            .backscatter_packets
            .saturating_add(o.backscatter_packets);
        self.port_bits |= o.port_bits;
        self.syn_min = self.syn_min.min(o.syn_min);
        self.ack_min = self.ack_min.min(o.ack_min);
    }

    /// `true` when a TTL was seen.
    pub fn has_ttl(&self) -> bool {
        self.ttl_max != 0
    }

    /// `true` when one `(sport, dport)` pair carried both a SYN and a pure ACK from this
    /// source: the source completed (or at least answered) a TCP handshake, so its address
    /// is reachable. Order-free and exactly mergeable (see the field notes).
    pub fn handshake(&self) -> bool {
        self.flags & source_flag::SYN != 0
            && self.flags & source_flag::ACK != 0
            && self.syn_min == self.ack_min
    }

    /// Estimated distinct destination ports (linear counting over 64 bits; saturates at
    /// about 266).
    pub fn distinct_ports(&self) -> f64 {
        let zeros = self.port_bits.count_zeros();
        if zeros == 0 {
            return 64.0 * 64f64.ln();
        }
        -64.0 * (f64::from(zeros) / 64.0).ln()
    }
}

const BACKSCATTER: u8 = source_flag::SYN_ACK | source_flag::RST | source_flag::ICMP_ERROR;

/// The [`source_flag`] bit of one packet.
#[inline]
pub fn packet_kind(obs: &Observation) -> u8 {
    match obs.proto {
        PROTO_TCP if obs.fragment != floodtrace_wire::observe::Fragment::Later => {
            let f = obs.tcp_flags;
            if f & tcp_flag::RST != 0 {
                source_flag::RST
            } else if f & tcp_flag::SYN != 0 {
                if f & tcp_flag::ACK != 0 {
                    source_flag::SYN_ACK
                } else {
                    source_flag::SYN
                }
            } else if f & tcp_flag::ACK != 0 && f & tcp_flag::FIN == 0 {
                source_flag::ACK
            } else {
                source_flag::OTHER
            }
        }
        PROTO_UDP => source_flag::UDP,
        // Destination unreachable (3) and time exceeded (11); ICMPv6 1 and 3.
        PROTO_ICMP if matches!(obs.icmp_type, 3 | 11) => source_flag::ICMP_ERROR,
        PROTO_ICMPV6 if matches!(obs.icmp_type, 1 | 3) => source_flag::ICMP_ERROR,
        _ => source_flag::OTHER,
    }
}

/// `true` for packets that look like received backscatter (SYN-ACK, RST, ICMP errors).
#[inline]
pub fn is_backscatter(obs: &Observation) -> bool {
    packet_kind(obs) & BACKSCATTER != 0
}

/// murmur3's 32-bit finaliser: a bijection on `u32`.
#[inline]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    hash: u64,
    key: u128,
    stats: SourceStats,
}

const EMPTY: u32 = u32::MAX;

/// A bounded, mergeable, uniform sample of a victim's distinct sources (see the module
/// docs). Two samples are equal when they describe the same sample, whatever their table
/// layout.
#[derive(Debug, Clone)]
pub struct SourceSample {
    k: usize,
    /// Sources with `(hash, key)` above this are never kept.
    thr: (u64, u128),
    /// Sampled sources, in arrival order (canonical order after a prune).
    entries: Vec<Entry>,
    /// Open-addressing index into `entries` (power-of-two length, load ≤ 1/2).
    table: Vec<u32>,
    packets: u64,
    bytes: u64,
    backscatter_packets: u64,
}

impl Default for SourceSample {
    fn default() -> Self {
        Self::new()
    }
}

impl Eq for SourceSample {}

impl PartialEq for SourceSample {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k
            && self.packets == other.packets
            && self.bytes == other.bytes
            && self.backscatter_packets == other.backscatter_packets
            && self.sorted() == other.sorted()
    }
}

/// One sampled source, as returned by [`SourceSample::sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SampledSource {
    /// The source address.
    pub addr: IpAddr,
    /// Its 64-bit sample hash (sources are sampled by the smallest hashes).
    pub hash: u64,
    /// Exact counts since its first packet.
    pub stats: SourceStats,
}

/// Similarity of two source sets estimated from their samples
/// ([`SourceSample::similarity`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Similarity {
    /// Estimated Jaccard index |A ∩ B| / |A ∪ B|.
    pub jaccard: f64,
    /// Estimated share of A's sources that are also in B.
    pub a_in_b: f64,
    /// Estimated share of B's sources that are also in A.
    pub b_in_a: f64,
    /// Sampled sources of the union considered (those below both thresholds).
    pub union_sampled: usize,
    /// Of those, sources present in both samples.
    pub shared_sampled: usize,
}

impl SourceSample {
    /// An empty sample of up to [`DEFAULT_K`] sources.
    pub fn new() -> Self {
        Self::with_k(DEFAULT_K)
    }

    /// An empty sample of up to `k` sources (`k` ≥ 2; smaller values are raised to 2).
    pub fn with_k(k: usize) -> Self {
        SourceSample {
            k: k.max(2),
            thr: (u64::MAX, u128::MAX),
            entries: Vec::new(),
            table: Vec::new(),
            packets: 0,
            bytes: 0,
            backscatter_packets: 0,
        }
    }

    /// The sample size limit.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The sample hash of an address (the same for every sample).
    #[inline]
    pub fn hash_addr(addr: IpAddr) -> u64 {
        hash128(addr_key(addr), SEED)
    }

    /// [`Self::hash_addr`] of an address key (`aggregate::addr_key`).
    #[inline]
    pub fn hash_key(key: u128) -> u64 {
        hash128(key, SEED)
    }

    /// Add counts gathered elsewhere for the source `key` (whose hash is `hash`): the
    /// same as observing its packets one by one. Totals are not touched
    /// ([`Self::set_totals`]).
    pub fn insert_stats(&mut self, hash: u64, key: u128, stats: &SourceStats) {
        self.update(hash, key, |s| s.merge(stats));
    }

    /// Declare that only sources with a hash at most `tau` were offered (a sample drawn
    /// from a hash-sampled log): the sample then describes that part of the hash space,
    /// and is not complete unless `tau` is `u64::MAX`.
    pub fn limit_threshold(&mut self, tau: u64) {
        if tau < self.thr.0 {
            self.thr = (tau, u128::MAX);
            self.entries.retain(|e| e.hash <= tau);
            let slots = self.table.len().max(8);
            self.rebuild(slots);
        }
    }

    /// Set the exact totals (packets, bytes, backscatter packets of all sources) when the
    /// sources were not observed packet by packet.
    pub fn set_totals(&mut self, packets: u64, bytes: u64, backscatter_packets: u64) {
        self.packets = packets;
        self.bytes = bytes;
        self.backscatter_packets = backscatter_packets;
    }

    /// Count one observation (a packet or a flow record) towards its source.
    #[inline]
    pub fn observe(&mut self, obs: &Observation) {
        self.packets = self.packets.saturating_add(obs.packets);
        self.bytes = self.bytes.saturating_add(obs.bytes);
        self.backscatter_packets = self
            .backscatter_packets
            .saturating_add(obs.packets * u64::from(is_backscatter(obs)));
        let key = addr_key(obs.src);
        let hash = hash128(key, SEED);
        // Fast path: almost every packet of a many-source flood stops here.
        if hash > self.thr.0 {
            return;
        }
        self.observe_sampled(hash, key, obs);
    }

    #[inline(never)]
    fn observe_sampled(&mut self, hash: u64, key: u128, obs: &Observation) {
        self.update(hash, key, |s| s.add(obs));
    }

    /// Apply `f` to the counts of source `key` when it belongs in the sample.
    #[inline]
    fn update(&mut self, hash: u64, key: u128, f: impl FnOnce(&mut SourceStats)) {
        if (hash, key) > self.thr {
            return;
        }
        let i = self.find_or_insert(hash, key);
        f(&mut self.entries[i].stats);
        if self.entries.len() >= self.cap() {
            // A new entry above the new threshold is dropped here: it can never be in the
            // bottom-k of the stream, so its counts are not needed.
            self.prune();
        }
    }

    /// Entries held before a prune back to `k`.
    fn cap(&self) -> usize {
        self.k + self.k / 2
    }

    /// Index of `key`'s entry, inserting an empty one when absent.
    fn find_or_insert(&mut self, hash: u64, key: u128) -> usize {
        if self.table.len() < 2 * (self.entries.len() + 1) {
            let want = (2 * (self.entries.len() + 1)).next_power_of_two().max(8);
            self.rebuild(want);
        }
        let mask = self.table.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let e = self.table[slot];
            if e == EMPTY {
                break;
            }
            if self.entries[e as usize].key == key {
                return e as usize;
            }
            slot = (slot + 1) & mask;
        }
        self.table[slot] = self.entries.len() as u32;
        if self.entries.len() == self.entries.capacity() {
            // Grow by doubling, but never past the prune point: memory stays bounded by k.
            let want = (self.entries.capacity() * 2).max(8).min(self.cap());
            self.entries
                .reserve_exact(want.saturating_sub(self.entries.len()).max(1));
        }
        self.entries.push(Entry {
            hash,
            key,
            stats: SourceStats::new(),
        });
        self.entries.len() - 1
    }

    fn rebuild(&mut self, slots: usize) {
        self.table.clear();
        self.table.resize(slots, EMPTY);
        let mask = slots - 1;
        for (i, e) in self.entries.iter().enumerate() {
            let mut slot = e.hash as usize & mask;
            while self.table[slot] != EMPTY {
                slot = (slot + 1) & mask;
            }
            self.table[slot] = i as u32;
        }
    }

    /// Keep the k smallest entries, lower the threshold to the k-th and sort the entries
    /// (canonical form).
    fn prune(&mut self) {
        if self.entries.len() > self.k {
            self.entries
                .select_nth_unstable_by_key(self.k - 1, |e| (e.hash, e.key));
            self.entries.truncate(self.k);
            let kth = self
                .entries
                .iter()
                .map(|e| (e.hash, e.key))
                .max()
                .expect("k ≥ 2 entries");
            self.thr = self.thr.min(kth);
        }
        self.entries.sort_unstable_by_key(|e| (e.hash, e.key));
        let slots = self.table.len().max(8);
        self.rebuild(slots);
    }

    /// Add another sample of the same victim (a later or earlier chunk, or another
    /// thread's part): the result is the sample one pass over both inputs gives.
    ///
    /// # Panics
    /// When the two samples have different `k`.
    pub fn merge(&mut self, other: &SourceSample) {
        assert_eq!(self.k, other.k, "SourceSample::merge: different k");
        self.packets = self.packets.saturating_add(other.packets);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.backscatter_packets = self
            .backscatter_packets
            .saturating_add(other.backscatter_packets);
        self.thr = self.thr.min(other.thr);
        for e in &other.entries {
            if (e.hash, e.key) > self.thr {
                continue;
            }
            let i = self.find_or_insert(e.hash, e.key);
            self.entries[i].stats.merge(&e.stats);
            if self.entries.len() >= self.cap() {
                self.prune();
            }
        }
        // Drop what the other threshold excludes and return to k entries.
        let thr = self.thr;
        self.entries.retain(|e| (e.hash, e.key) <= thr);
        self.prune();
    }

    /// Drop the sampled sources seen before an attack (a victim's regular clients are
    /// background, not attackers): `known` holds the sample hashes ([`Self::hash_addr`]) of
    /// every earlier source whose hash is at most `known_threshold` (a bottom-k of hashes,
    /// [`SeenSources`]). Sources above that threshold cannot be told apart and are dropped
    /// too, so what remains is still a uniform sample — of the sources not seen before.
    /// Totals (packets, bytes) are left as they are.
    pub fn remove_known(&mut self, known: &SeenSources) {
        let (hashes, thr) = known.sorted_with_threshold();
        self.entries
            .retain(|e| e.hash <= thr && hashes.binary_search(&e.hash).is_err());
        if self.entries.len() < self.k {
            // The sample now describes only the hash range below `thr`.
            self.thr = self.thr.min((thr, u128::MAX));
        }
        self.entries.sort_unstable_by_key(|e| (e.hash, e.key));
        let slots = self.table.len().max(8);
        self.rebuild(slots);
    }

    /// Keep only the sampled sources whose stats pass `keep` (e.g. drop clients that
    /// completed a TCP handshake from a flood's sample). Totals are left as they are.
    pub fn retain_sources(&mut self, keep: impl Fn(&SourceStats) -> bool) {
        self.entries.retain(|e| keep(&e.stats));
        self.entries.sort_unstable_by_key(|e| (e.hash, e.key));
        let slots = self.table.len().max(8);
        self.rebuild(slots);
    }

    /// The k smallest entries, sorted by hash.
    fn sorted(&self) -> Vec<Entry> {
        // A finished sample is usually in canonical order already (after a prune or a
        // clean-up), and campaign linking asks for it once per pair of incidents.
        let mut v: Vec<Entry> = self.entries.clone();
        if !v.is_sorted_by_key(|e| (e.hash, e.key)) {
            v.sort_unstable_by_key(|e| (e.hash, e.key));
        }
        v.truncate(self.k);
        v
    }

    /// The sampled sources, by increasing hash (a deterministic order): at most `k`, and
    /// every distinct source while fewer than `k` were seen.
    pub fn sources(&self) -> Vec<SampledSource> {
        self.sorted()
            .into_iter()
            .map(|e| SampledSource {
                addr: key_addr(e.key),
                hash: e.hash,
                stats: e.stats,
            })
            .collect()
    }

    /// Number of sampled sources (≤ k).
    pub fn len(&self) -> usize {
        self.entries.len().min(self.k)
    }

    /// `true` when no packet has been sampled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `true` when the sample holds every distinct source seen (fewer than `k` + `k`/2 were
    /// ever seen, so nothing was dropped): shares computed from it are exact, not estimates.
    pub fn is_complete(&self) -> bool {
        self.thr == (u64::MAX, u128::MAX) && self.entries.len() <= self.k
    }

    /// Sampling fraction: the share of all distinct sources that the sample holds, in
    /// `(0, 1]` (1 when complete).
    pub fn fraction(&self) -> f64 {
        if self.is_complete() {
            return 1.0;
        }
        let n = self.len() as f64;
        (n / self.distinct_estimate()).min(1.0)
    }

    /// Distinct sources: exact when [`SourceSample::is_complete`], else the bottom-k
    /// estimate `(k − 1) / U(k)` with `U(k)` the k-th smallest hash as a fraction of 2^64
    /// (unbiased; relative standard error ≈ 1/√(k − 2)).
    pub fn distinct_estimate(&self) -> f64 {
        if self.is_complete() {
            return self.entries.len() as f64;
        }
        let sorted = self.sorted();
        let kth = sorted.last().map_or(u64::MAX, |e| e.hash);
        let u = (kth as f64 + 1.0) / 18_446_744_073_709_551_616.0;
        (sorted.len() as f64 - 1.0) / u
    }

    /// Relative standard error of [`SourceSample::distinct_estimate`] (0 when complete).
    pub fn distinct_error(&self) -> f64 {
        if self.is_complete() {
            0.0
        } else {
            1.0 / ((self.len() as f64 - 2.0).max(1.0)).sqrt()
        }
    }

    /// Packets observed (all sources, exact).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// IP bytes observed (all sources, exact).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Packets that look like received backscatter (SYN-ACK, RST, ICMP unreachable / time
    /// exceeded), all sources, exact.
    pub fn backscatter_packets(&self) -> u64 {
        self.backscatter_packets
    }

    /// Bytes of heap memory held (table and entries, by capacity).
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.table.capacity() * std::mem::size_of::<u32>()
    }

    /// The largest `(hash, key)` up to which `sorted` (this sample's k smallest entries)
    /// holds *every* source seen: the k-th entry when the sample is full, else everything.
    fn effective_threshold(&self, sorted: &[(u64, u128)]) -> (u64, u128) {
        if sorted.len() >= self.k {
            sorted[self.k - 1].min(self.thr)
        } else {
            self.thr
        }
    }

    /// Estimated similarity of the source sets of two samples (same hash function, any `k`).
    ///
    /// Uses every sampled source of either sample whose hash is at or below *both*
    /// thresholds: below them each sample holds *all* of its sources, so a source is in
    /// both sets exactly when it is in both samples. Exact when both samples are complete.
    pub fn similarity(&self, other: &SourceSample) -> Similarity {
        self.keys().similarity(&other.keys())
    }

    /// The sampled `(hash, key)` pairs in order, with the threshold up to which they are
    /// complete: what [`SampleKeys::similarity`] compares. Campaign linking takes them once
    /// per incident instead of sorting both samples again for every pair.
    pub fn keys(&self) -> SampleKeys {
        let keys: Vec<(u64, u128)> = self.sorted().iter().map(|e| (e.hash, e.key)).collect();
        let thr = self.effective_threshold(&keys);
        SampleKeys { keys, thr }
    }
}

/// A sample's sorted `(hash, key)` pairs and the threshold up to which they hold every
/// source seen ([`SourceSample::keys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleKeys {
    keys: Vec<(u64, u128)>,
    thr: (u64, u128),
}

impl SampleKeys {
    /// See [`SourceSample::similarity`].
    pub fn similarity(&self, other: &SampleKeys) -> Similarity {
        let thr = self.thr.min(other.thr);
        let a = &self.keys[..self.keys.partition_point(|&x| x <= thr)];
        let b = &other.keys[..other.keys.partition_point(|&x| x <= thr)];
        let (mut i, mut j, mut shared, mut union) = (0, 0, 0usize, 0usize);
        while i < a.len() || j < b.len() {
            union += 1;
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x == y => {
                    shared += 1;
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x < y => i += 1,
                (Some(_), None) => i += 1,
                _ => j += 1,
            }
        }
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        Similarity {
            jaccard: ratio(shared, union),
            a_in_b: ratio(shared, a.len()),
            b_in_a: ratio(shared, b.len()),
            union_sampled: union,
            shared_sampled: shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn obs(src: u32, ttl: u8, flags: u8, sport: u16, dport: u16) -> Observation {
        let mut o = Observation::new(
            0,
            IpAddr::V4(Ipv4Addr::from(src)),
            "198.51.100.10".parse().unwrap(),
        );
        o.proto = PROTO_TCP;
        o.tcp_flags = flags;
        o.ttl = ttl;
        o.sport = sport;
        o.dport = dport;
        o.bytes = 60;
        o.ip_len = 60;
        o
    }

    #[test]
    fn memory_is_bounded_by_k() {
        let mut s = SourceSample::with_k(DEFAULT_K);
        for i in 0..200_000u32 {
            s.observe(&obs(i.wrapping_mul(2_654_435_761), 50, tcp_flag::SYN, 1, 2));
        }
        let per_entry = std::mem::size_of::<Entry>();
        let bound = (DEFAULT_K + DEFAULT_K / 2) * per_entry + 4 * (4 * DEFAULT_K);
        assert!(s.memory_bytes() <= bound, "{} > {bound}", s.memory_bytes());
        assert!(per_entry <= 96, "{per_entry}");
    }

    #[test]
    fn small_sets_are_exact() {
        let mut s = SourceSample::with_k(16);
        for i in 0..10u32 {
            for _ in 0..=i {
                s.observe(&obs(0x0a00_0000 + i, 50, tcp_flag::SYN, 1000, 80));
            }
        }
        assert!(s.is_complete());
        assert_eq!(s.len(), 10);
        assert_eq!(s.distinct_estimate(), 10.0);
        assert_eq!(s.packets(), 55);
        let total: u64 = s.sources().iter().map(|x| x.stats.packets).sum();
        assert_eq!(total, 55);
    }

    #[test]
    fn keeps_the_k_smallest_hashes() {
        let mut s = SourceSample::with_k(64);
        let mut hashes: Vec<u64> = (0..5000u32)
            .map(|i| {
                let o = obs(i * 7919, 50, tcp_flag::SYN, 1, 2);
                s.observe(&o);
                SourceSample::hash_addr(o.src)
            })
            .collect();
        hashes.sort_unstable();
        let kept: Vec<u64> = s.sources().iter().map(|x| x.hash).collect();
        assert_eq!(kept, hashes[..64].to_vec());
        assert!(!s.is_complete());
        // Bottom-k estimate within 3 standard errors (1/√62 ≈ 12.7 %).
        let est = s.distinct_estimate();
        assert!((est / 5000.0 - 1.0).abs() < 0.38, "{est}");
    }

    #[test]
    fn kept_sources_have_exact_counts() {
        // Every source sends i % 5 + 1 packets, interleaved.
        let mut s = SourceSample::with_k(32);
        for round in 0..5u32 {
            for i in 0..2000u32 {
                if round <= i % 5 {
                    s.observe(&obs(0x5000_0000 + i, 40 + round as u8, tcp_flag::SYN, 1, 2));
                }
            }
        }
        for x in s.sources() {
            let i = u32::from(match x.addr {
                IpAddr::V4(v) => v,
                IpAddr::V6(_) => unreachable!(),
            }) - 0x5000_0000;
            assert_eq!(x.stats.packets, u64::from(i % 5 + 1));
            assert_eq!(x.stats.ttl_min, 40);
            assert_eq!(x.stats.ttl_max, 40 + (i % 5) as u8);
        }
    }

    #[test]
    fn handshake_needs_syn_and_ack_on_one_port_pair() {
        let mut s = SourceSample::with_k(16);
        s.observe(&obs(1, 50, tcp_flag::SYN, 40000, 443));
        s.observe(&obs(1, 50, tcp_flag::ACK, 40000, 443));
        s.observe(&obs(1, 50, tcp_flag::ACK | tcp_flag::PSH, 40000, 443));
        // A SYN flood and an ACK flood on random ports from one bot: no handshake.
        for p in 0..200u16 {
            s.observe(&obs(2, 50, tcp_flag::SYN, p, 1000 + p));
            s.observe(&obs(2, 50, tcp_flag::ACK, 5000 + p, 7000 - p));
        }
        let v = s.sources();
        let by = |a: u32| {
            v.iter()
                .find(|x| x.addr == IpAddr::V4(Ipv4Addr::from(a)))
                .unwrap()
                .stats
        };
        assert!(by(1).handshake());
        assert!(!by(2).handshake());
        assert!(by(2).distinct_ports() > 100.0);
        assert!(by(1).distinct_ports() < 1.1);
    }

    /// A cut transport header and a later fragment show no port: they must not count as
    /// destination port 0.
    #[test]
    fn unknown_ports_are_not_port_0() {
        let mut s = SourceSample::with_k(4);
        s.observe(&obs(3, 50, tcp_flag::SYN, 40000, 443));
        let mut cut = obs(3, 50, 0, 0, 0);
        cut.proto = PROTO_UDP;
        cut.flags = floodtrace_wire::observe::flag::L4_TRUNCATED
            | floodtrace_wire::observe::flag::PORTS_UNKNOWN;
        s.observe(&cut);
        let mut later = obs(3, 50, 0, 0, 0);
        later.proto = PROTO_UDP;
        later.fragment = floodtrace_wire::observe::Fragment::Later;
        s.observe(&later);
        let stats = s.sources()[0].stats;
        assert_eq!(stats.packets, 3);
        assert!(stats.distinct_ports() < 1.1, "{}", stats.distinct_ports());
    }

    #[test]
    fn backscatter_is_counted_exactly() {
        let mut s = SourceSample::with_k(4);
        for i in 0..100u32 {
            s.observe(&obs(i, 50, tcp_flag::SYN | tcp_flag::ACK, 80, i as u16));
            s.observe(&obs(i, 50, tcp_flag::SYN, 80, i as u16));
        }
        assert_eq!(s.backscatter_packets(), 100);
        assert_eq!(s.packets(), 200);
        for x in s.sources() {
            assert_eq!(x.stats.backscatter_packets, 1);
            assert_ne!(x.stats.flags & source_flag::SYN_ACK, 0);
        }
    }

    #[test]
    fn merge_equals_one_pass() {
        let data: Vec<Observation> = (0..20_000u32)
            .map(|i| {
                obs(
                    i.wrapping_mul(2_654_435_761) % 3001,
                    (i % 60) as u8 + 1,
                    tcp_flag::SYN,
                    1,
                    2,
                )
            })
            .collect();
        let mut one = SourceSample::with_k(100);
        data.iter().for_each(|o| one.observe(o));
        let mut parts = SourceSample::with_k(100);
        for chunk in data.chunks(777) {
            let mut p = SourceSample::with_k(100);
            chunk.iter().for_each(|o| p.observe(o));
            parts.merge(&p);
        }
        assert_eq!(one, parts);
        assert_eq!(one.sources(), parts.sources());
    }

    #[test]
    fn similarity_of_overlapping_sets() {
        let mut a = SourceSample::with_k(512);
        let mut b = SourceSample::with_k(512);
        // A = 0..20000, B = 10000..30000: Jaccard 1/3, containment 1/2.
        for i in 0..20_000u32 {
            a.observe(&obs(0x0100_0000 + i, 50, tcp_flag::SYN, 1, 2));
            b.observe(&obs(0x0100_0000 + 10_000 + i, 50, tcp_flag::SYN, 1, 2));
        }
        let s = a.similarity(&b);
        assert!((s.jaccard - 1.0 / 3.0).abs() < 0.07, "{s:?}");
        assert!((s.a_in_b - 0.5).abs() < 0.08, "{s:?}");
        let same = a.similarity(&a);
        assert_eq!(same.jaccard, 1.0);
        let mut c = SourceSample::with_k(512);
        for i in 0..20_000u32 {
            c.observe(&obs(0x0200_0000 + i, 50, tcp_flag::SYN, 1, 2));
        }
        assert_eq!(a.similarity(&c).shared_sampled, 0);
    }
}

/// The smallest `k` sample hashes of the sources a destination saw: a light bottom-k
/// (8 bytes a source, no counts), so an attack's sample can drop the sources its victim
/// already talked to before ([`SourceSample::remove_known`]). Merges exactly.
///
/// Hashes are appended to a buffer of up to `2k` and compacted (sorted, deduplicated, cut
/// to `k`) when it fills, so a source costs a comparison with the threshold and, when
/// admitted, an amortised `O(log k)`, whatever `k` is.
#[derive(Debug, Clone)]
pub struct SeenSources {
    k: usize,
    /// Admitted hashes; sorted and distinct only right after [`Self::compact`].
    hashes: Vec<u64>,
    /// Hashes at or above this are never kept (the k-th smallest at the last compaction).
    thr: u64,
}

impl Default for SeenSources {
    fn default() -> Self {
        Self::with_k(Self::K)
    }
}

impl PartialEq for SeenSources {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k && self.compacted().hashes == other.compacted().hashes
    }
}

impl Eq for SeenSources {}

impl SeenSources {
    /// Default number of hashes kept (as many as a default sample has sources, so a
    /// victim's few thousand regular clients are all recorded).
    pub const K: usize = DEFAULT_K;

    /// Keep the smallest `k` hashes (`k` ≥ 1).
    pub fn with_k(k: usize) -> Self {
        SeenSources {
            k: k.max(1),
            hashes: Vec::new(),
            thr: u64::MAX,
        }
    }

    /// Count a source.
    #[inline]
    pub fn observe(&mut self, addr_hash: u64) {
        if addr_hash >= self.thr {
            return;
        }
        self.hashes.push(addr_hash);
        if self.hashes.len() >= 2 * self.k {
            self.compact();
        }
    }

    /// Sort, deduplicate and keep the `k` smallest.
    fn compact(&mut self) {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes.truncate(self.k);
        if self.hashes.len() == self.k {
            self.thr = self.hashes[self.k - 1];
        }
    }

    /// A compacted copy.
    fn compacted(&self) -> SeenSources {
        let mut c = self.clone();
        c.compact();
        c
    }

    /// Add another destination-epoch's sources.
    pub fn merge(&mut self, other: &SeenSources) {
        for &h in &other.hashes {
            self.observe(h);
        }
    }

    /// Every source with a hash at or below this was recorded (`u64::MAX` while fewer
    /// than `k` sources were seen).
    pub fn threshold(&self) -> u64 {
        self.sorted_with_threshold().1
    }

    /// The recorded hashes, sorted and distinct, and [`Self::threshold`].
    fn sorted_with_threshold(&self) -> (Vec<u64>, u64) {
        let c = self.compacted();
        let thr = if c.hashes.len() < c.k {
            u64::MAX
        } else {
            c.hashes[c.k - 1]
        };
        (c.hashes, thr)
    }

    /// Sources recorded (at most `k`).
    pub fn len(&self) -> usize {
        self.compacted().hashes.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

#[cfg(test)]
mod seen_sources_tests {
    use super::SeenSources;

    fn splitmix(x: &mut u64) -> u64 {
        *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn keeps_the_k_smallest_distinct_hashes_in_any_chunking() {
        let mut x = 7;
        // Repeats included: every hash appears three times.
        let base: Vec<u64> = (0..5000).map(|_| splitmix(&mut x)).collect();
        let stream: Vec<u64> = base.iter().chain(&base).chain(&base).copied().collect();
        let mut exact = base.clone();
        exact.sort_unstable();
        exact.truncate(300);

        let mut one = SeenSources::with_k(300);
        stream.iter().for_each(|&h| one.observe(h));
        let (hashes, thr) = one.sorted_with_threshold();
        assert_eq!(hashes, exact);
        assert_eq!(thr, exact[299]);
        assert_eq!(one.len(), 300);

        for parts in [2, 3, 7] {
            let mut merged = SeenSources::with_k(300);
            for chunk in stream.chunks(stream.len() / parts + 1) {
                let mut p = SeenSources::with_k(300);
                chunk.iter().for_each(|&h| p.observe(h));
                merged.merge(&p);
            }
            assert_eq!(merged, one, "{parts} parts");
        }
    }

    #[test]
    fn threshold_is_open_until_k_sources_were_seen() {
        let mut s = SeenSources::with_k(4);
        for h in [9, 3, 3, 5] {
            s.observe(h);
        }
        assert_eq!(s.threshold(), u64::MAX);
        assert_eq!(s.len(), 3);
        s.observe(1);
        assert_eq!(s.threshold(), 9);
        s.observe(2);
        assert_eq!(s.threshold(), 5);
    }
}
