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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpaceSaving<const K: usize> {
    entries: Vec<TopEntry>,
}

impl<const K: usize> SpaceSaving<K> {
    /// An empty summary.
    pub fn new() -> Self {
        SpaceSaving {
            entries: Vec::new(),
        }
    }

    /// Count `weight` for `key`.
    #[inline]
    pub fn insert(&mut self, key: u128, weight: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == key) {
            e.count += weight;
            return;
        }
        if self.entries.len() < K {
            self.entries.push(TopEntry {
                key,
                count: weight,
                error: 0,
            });
            return;
        }
        let min = self.min_index();
        let e = &mut self.entries[min];
        *e = TopEntry {
            key,
            count: e.count + weight,
            error: e.count,
        };
    }

    fn min_index(&self) -> usize {
        let mut best = 0;
        for (i, e) in self.entries.iter().enumerate().skip(1) {
            let b = &self.entries[best];
            // Ties go to the larger key so the choice never depends on slot order.
            if e.count < b.count || (e.count == b.count && e.key > b.key) {
                best = i;
            }
        }
        best
    }

    /// Smallest count when full (the error bound of any key not listed), else 0.
    pub fn floor(&self) -> u64 {
        if self.entries.len() < K {
            0
        } else {
            self.entries.iter().map(|e| e.count).min().unwrap_or(0)
        }
    }

    /// Merge another summary (Agarwal et al., "Mergeable summaries", 2012): a key missing
    /// from a full summary may have had up to that summary's floor, which is added to both
    /// its count and its error; the `K` largest remain.
    pub fn merge(&mut self, other: &SpaceSaving<K>) {
        let (fa, fb) = (self.floor(), other.floor());
        let mut all: Vec<TopEntry> = Vec::with_capacity(self.entries.len() + other.entries.len());
        for e in &self.entries {
            match other.entries.iter().find(|o| o.key == e.key) {
                Some(o) => all.push(TopEntry {
                    key: e.key,
                    count: e.count + o.count,
                    error: e.error + o.error,
                }),
                None => all.push(TopEntry {
                    key: e.key,
                    count: e.count + fb,
                    error: e.error + fb,
                }),
            }
        }
        for o in &other.entries {
            if !self.entries.iter().any(|e| e.key == o.key) {
                all.push(TopEntry {
                    key: o.key,
                    count: o.count + fa,
                    error: o.error + fa,
                });
            }
        }
        all.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        all.truncate(K);
        self.entries = all;
    }

    /// Entries, largest count first, ties by key.
    pub fn top(&self) -> Vec<TopEntry> {
        let mut v = self.entries.clone();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
