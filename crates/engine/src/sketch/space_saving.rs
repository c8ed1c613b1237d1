//! Space-Saving heavy hitters (Metwally et al., 2005): `K` counters; a new key takes over
//! the smallest counter and inherits its count as its error bound. Every key whose true
//! count exceeds N/K is guaranteed to be present, and each reported count over-estimates
//! the truth by at most its `error`.

use serde::Serialize;

/// One tracked key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TopEntry {
    /// The key (an address as `u128`).
    pub key: u128,
    /// Counted weight (an upper bound on the true weight).
    pub count: u64,
    /// How much of `count` may belong to keys this counter tracked before.
    pub error: u64,
}

/// A Space-Saving summary with at most `K` counters.
///
/// Kept as parallel arrays so the per-packet lookup and minimum search are branch-free
/// scans over a few cache lines; a flood from random sources misses on every packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceSaving<const K: usize> {
    len: usize,
    /// A 16-bit fingerprint of each key ([`fingerprint`]; 0 past `len`): under a flood
    /// from random sources nearly every packet misses, and one vector compare of these
    /// says so where comparing the 128-bit keys took `2 × K` compares.
    prints: [u16; K],
    keys: [u128; K],
    counts: [u64; K],
    errors: [u64; K],
}

/// The 16-bit fingerprint [`SpaceSaving`] keeps of a key: its four 16-bit quarters, after
/// folding the halves, combined (IPv4 keys differ in their low 32 bits).
#[inline]
fn fingerprint(key: u128) -> u16 {
    let x = key as u64 ^ (key >> 64) as u64;
    (x ^ (x >> 16) ^ (x >> 32) ^ (x >> 48)) as u16
}

impl<const K: usize> Default for SpaceSaving<K> {
    fn default() -> Self {
        SpaceSaving {
            len: 0,
            prints: [0; K],
            keys: [0; K],
            counts: [0; K],
            errors: [0; K],
        }
    }
}

impl<const K: usize> SpaceSaving<K> {
    /// An empty summary.
    pub fn new() -> Self {
        SpaceSaving::default()
    }

    /// Count `weight` for `key`.
    #[inline]
    pub fn insert(&mut self, key: u128, weight: u64) {
        let print = fingerprint(key);
        // No early exit, so that the compiler makes it one vector compare.
        let maybe = self.prints.iter().fold(false, |m, &p| m | (p == print));
        if maybe {
            // Every slot without an early exit (the compiler unrolls it); slots past
            // `len` are masked out.
            let mut hit = usize::MAX;
            for i in 0..K {
                if i < self.len && self.keys[i] == key {
                    hit = i;
                }
            }
            if hit != usize::MAX {
                self.counts[hit] = self.counts[hit].saturating_add(weight);
                return;
            }
        }
        if self.len < K {
            let i = self.len;
            self.prints[i] = print;
            self.keys[i] = key;
            self.counts[i] = weight;
            self.errors[i] = 0;
            self.len += 1;
            return;
        }
        let min = self.min_index();
        let floor = self.counts[min];
        self.prints[min] = print;
        self.keys[min] = key;
        self.counts[min] = floor.saturating_add(weight);
        self.errors[min] = floor;
    }

    /// Slot with the smallest count (the first such slot; slot order is deterministic).
    #[inline]
    fn min_index(&self) -> usize {
        let mut best = 0;
        let mut best_count = self.counts[0];
        for i in 1..self.len {
            if self.counts[i] < best_count {
                best = i;
                best_count = self.counts[i];
            }
        }
        best
    }

    fn entries(&self) -> impl Iterator<Item = TopEntry> + '_ {
        (0..self.len).map(|i| TopEntry {
            key: self.keys[i],
            count: self.counts[i],
            error: self.errors[i],
        })
    }

    /// Smallest count when full (the error bound of any key not listed), else 0.
    pub fn floor(&self) -> u64 {
        if self.len < K {
            0
        } else {
            self.counts[..self.len].iter().copied().min().unwrap_or(0)
        }
    }

    /// Merge another summary (Agarwal et al., "Mergeable summaries", 2012): a key missing
    /// from a full summary may have had up to that summary's floor, which is added to both
    /// its count and its error; the `K` largest remain.
    pub fn merge(&mut self, other: &SpaceSaving<K>) {
        if other.len == 0 {
            return;
        }
        let (fa, fb) = (self.floor(), other.floor());
        let mut all: Vec<TopEntry> = Vec::with_capacity(self.len + other.len);
        for e in self.entries() {
            match other.entries().find(|o| o.key == e.key) {
                Some(o) => all.push(TopEntry {
                    key: e.key,
                    count: e.count.saturating_add(o.count),
                    error: e.error.saturating_add(o.error),
                }),
                None => all.push(TopEntry {
                    key: e.key,
                    count: e.count.saturating_add(fb),
                    error: e.error.saturating_add(fb),
                }),
            }
        }
        for o in other.entries() {
            if !self.keys[..self.len].contains(&o.key) {
                all.push(TopEntry {
                    key: o.key,
                    count: o.count.saturating_add(fa),
                    error: o.error.saturating_add(fa),
                });
            }
        }
        all.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        all.truncate(K);
        *self = SpaceSaving::default();
        for (i, e) in all.into_iter().enumerate() {
            self.prints[i] = fingerprint(e.key);
            self.keys[i] = e.key;
            self.counts[i] = e.count;
            self.errors[i] = e.error;
            self.len = i + 1;
        }
    }

    /// Entries, largest count first, ties by key.
    pub fn top(&self) -> Vec<TopEntry> {
        let mut v: Vec<TopEntry> = self.entries().collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys whose fingerprints collide (here with each other and with the empty slots'
    /// 0) are still counted apart: a fingerprint match only sends the lookup to the keys.
    #[test]
    fn colliding_fingerprints_stay_apart() {
        let (a, b, c) = (0x0001_0001u128, 0u128, 1u128 << 64 | 0x0001_0000);
        assert_eq!(fingerprint(a), fingerprint(b));
        assert_eq!(fingerprint(a), fingerprint(c));
        let mut s = SpaceSaving::<8>::new();
        for k in [a, b, a, c, a, b] {
            s.insert(k, 1);
        }
        let top: Vec<(u128, u64)> = s.top().iter().map(|e| (e.key, e.count)).collect();
        assert_eq!(top, [(a, 3), (b, 2), (c, 1)]);
    }

    #[test]
    fn heavy_hitters_survive_noise() {
        let mut s = SpaceSaving::<8>::new();
        for i in 0..10_000u128 {
            s.insert(1, 1);
            s.insert(2, 1);
            s.insert(1000 + i, 1); // 10k distinct one-off keys
        }
        let top = s.top();
        assert_eq!(top[0].key.min(top[1].key), 1);
        assert_eq!(top[0].key.max(top[1].key), 2);
        for e in &top[..2] {
            assert!(e.count >= 10_000 && e.count - e.error <= 10_000);
        }
    }

    #[test]
    fn merge_keeps_guarantee() {
        let mut a = SpaceSaving::<4>::new();
        let mut b = SpaceSaving::<4>::new();
        for i in 0..100u128 {
            a.insert(7, 3);
            a.insert(100 + i, 1);
            b.insert(7, 2);
            b.insert(500 + i, 1);
        }
        a.merge(&b);
        let top = a.top();
        assert_eq!(top[0].key, 7);
        assert!(top[0].count >= 500 && top[0].count - top[0].error <= 500);
    }
}
