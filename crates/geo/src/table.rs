//! Range tables: a complete partition of the IPv4 (or IPv6) space into ranges, each with one
//! value, looked up by the last range start at or below an address.
//!
//! IPv4 tables carry a first-level index by /16: `index[p]` is the range holding `p.0.0`'s
//! first address, so a lookup binary-searches only the few ranges that start inside one /16
//! (usually 1–10) instead of the whole table.

/// Value meaning "no data" in `u32`-valued tables.
pub const NONE: u32 = u32::MAX;

/// A complete partition of IPv4 space with a /16 index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4Table<V> {
    /// Range starts, strictly increasing, `starts[0] == 0`.
    starts: Vec<u32>,
    values: Vec<V>,
    /// 65,537 entries: `index[p]` = the range containing `p << 16`; `index[65536]` = last.
    index: Vec<u32>,
}

impl<V: Copy + PartialEq> V4Table<V> {
    /// Build from sorted, non-overlapping inclusive ranges; gaps get `none`, adjacent ranges
    /// with equal values merge.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u32, u32, V)>, none: V) -> Self {
        let mut starts = vec![0u32];
        let mut values = vec![none];
        let mut next: u64 = 0; // first address not yet covered
        for (lo, hi, v) in ranges {
            let (lo64, hi64) = (u64::from(lo), u64::from(hi));
            if hi64 < next || hi < lo {
                continue; // overlaps what is already covered: the first range wins
            }
            let lo64 = lo64.max(next);
            if lo64 > next {
                push(&mut starts, &mut values, next as u32, none);
            }
            push(&mut starts, &mut values, lo64 as u32, v);
            next = hi64 + 1;
        }
        if next <= u64::from(u32::MAX) {
            push(&mut starts, &mut values, next as u32, none);
        }
        V4Table::from_parts(starts, values)
    }

    /// The value of `ip`.
    #[inline]
    pub fn get(&self, ip: u32) -> V {
        let p = (ip >> 16) as usize;
        let lo = self.index[p] as usize;
        let hi = self.index[p + 1] as usize;
        let slice = &self.starts[lo..=hi];
        // slice[0] ≤ p << 16 ≤ ip, so the partition point is ≥ 1.
        let i = lo + slice.partition_point(|&s| s <= ip) - 1;
        self.values[i]
    }

    /// Number of ranges (including "no data" gaps).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// `true` when the table is one "no data" range.
    pub fn is_empty(&self) -> bool {
        self.starts.len() <= 1
    }

    /// `(start, value)` of every range.
    pub fn ranges(&self) -> impl Iterator<Item = (u32, V)> + '_ {
        self.starts.iter().copied().zip(self.values.iter().copied())
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.starts.capacity() * 4
            + self.values.capacity() * std::mem::size_of::<V>()
            + self.index.capacity() * 4
    }
}

fn push<S: PartialEq + Copy, V: PartialEq + Copy>(
    starts: &mut Vec<S>,
    values: &mut Vec<V>,
    start: S,
    v: V,
) {
    if values.last() == Some(&v) {
        return; // adjacent equal values merge
    }
    if starts.last() == Some(&start) {
        // An empty gap range at the same start: replace it.
        *values.last_mut().expect("non-empty") = v;
        if values.len() >= 2 && values[values.len() - 2] == v {
            starts.pop();
            values.pop();
        }
        return;
    }
    starts.push(start);
    values.push(v);
}

/// A complete partition of IPv6 space (binary search over starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V6Table<V> {
    starts: Vec<u128>,
    values: Vec<V>,
}

impl<V: Copy + PartialEq> V6Table<V> {
    /// Build from sorted, non-overlapping inclusive ranges (as [`V4Table::from_ranges`]).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u128, u128, V)>, none: V) -> Self {
        let mut starts = vec![0u128];
        let mut values = vec![none];
        let mut next: Option<u128> = Some(0);
        for (lo, hi, v) in ranges {
            let Some(n) = next else { break };
            if hi < n || hi < lo {
                continue;
            }
            let lo = lo.max(n);
            if lo > n {
                push(&mut starts, &mut values, n, none);
            }
            push(&mut starts, &mut values, lo, v);
            next = hi.checked_add(1);
        }
        if let Some(n) = next {
            push(&mut starts, &mut values, n, none);
        }
        V6Table { starts, values }
    }

    /// Rebuild from `(start, value)` pairs that already form a partition.
    pub(crate) fn from_parts(starts: Vec<u128>, values: Vec<V>) -> Self {
        V6Table { starts, values }
    }

    /// The value of `ip`.
    #[inline]
    pub fn get(&self, ip: u128) -> V {
        let i = self.starts.partition_point(|&s| s <= ip) - 1;
        self.values[i]
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// `true` when the table is one "no data" range.
    pub fn is_empty(&self) -> bool {
        self.starts.len() <= 1
    }

    /// `(start, value)` of every range.
    pub fn ranges(&self) -> impl Iterator<Item = (u128, V)> + '_ {
        self.starts.iter().copied().zip(self.values.iter().copied())
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.starts.capacity() * 16 + self.values.capacity() * std::mem::size_of::<V>()
    }
}

impl<V> V4Table<V> {
    /// Rebuild from `(start, value)` pairs that already form a partition (starts strictly
    /// increasing from 0).
    pub(crate) fn from_parts(starts: Vec<u32>, values: Vec<V>) -> Self {
        // One merge pass over the /16 boundaries and the starts (both ascending), instead
        // of a binary search per /16: loading a table, and every run of the `asn_table`
        // and `asn_csv` fuzz targets, builds this index.
        let mut index = Vec::with_capacity(65_537);
        let mut range = 0usize; // the last range starting at or before the boundary
        for p in 0..65_536u32 {
            let boundary = p << 16;
            while starts.get(range + 1).is_some_and(|&s| s <= boundary) {
                range += 1;
            }
            index.push(range as u32);
        }
        index.push((starts.len() - 1) as u32);
        V4Table {
            starts,
            values,
            index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_partition_and_lookup() {
        let t = V4Table::from_ranges(
            [
                (0x0100_0000, 0x0100_00ff, 1u32),
                (0x0100_0100, 0x0100_01ff, 1), // merges with the previous
                (0x0100_0300, 0x0100_03ff, 2),
                (0x0100_0380, 0x0100_0400, 3), // overlaps: clipped to 0x0100_0400
                (0xffff_ff00, 0xffff_ffff, 4),
            ],
            NONE,
        );
        assert_eq!(t.get(0), NONE);
        assert_eq!(t.get(0x0100_0000), 1);
        assert_eq!(t.get(0x0100_01ff), 1);
        assert_eq!(t.get(0x0100_0200), NONE);
        assert_eq!(t.get(0x0100_03ff), 2);
        assert_eq!(t.get(0x0100_0400), 3);
        assert_eq!(t.get(0x0100_0401), NONE);
        assert_eq!(t.get(0xffff_ffff), 4);
        assert_eq!(t.get(0xffff_feff), NONE);
        let r: Vec<(u32, u32)> = t.ranges().collect();
        assert_eq!(
            r,
            vec![
                (0, NONE),
                (0x0100_0000, 1),
                (0x0100_0200, NONE),
                (0x0100_0300, 2),
                (0x0100_0400, 3),
                (0x0100_0401, NONE),
                (0xffff_ff00, 4)
            ]
        );
        // Brute-force agreement around every boundary.
        for (s, _) in r.clone() {
            for d in [0u32, 1, 2] {
                let ip = s.wrapping_sub(d);
                let want = r.iter().rev().find(|(st, _)| *st <= ip).unwrap().1;
                assert_eq!(t.get(ip), want, "{ip:#x}");
            }
        }
    }

    /// The /16 index equals its definition (the range holding each /16's first address),
    /// with ranges that start on, just after and far from the boundaries, several in one
    /// /16 and one spanning many.
    #[test]
    fn v4_index_matches_a_search_per_boundary() {
        let mut ranges = Vec::new();
        let mut x: u32 = 0x0001_0000;
        let mut state = 0x9e37_79b9u32;
        while let Some(next) = x.checked_add(state % 0x0003_0000 + 1) {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let hi = next.min(x.saturating_add(state % 0x0002_0000));
            ranges.push((x, hi, state % 5));
            x = next;
            if state.is_multiple_of(7) {
                x = (x & 0xffff_0000).saturating_add(0x0001_0000); // on a boundary
            }
        }
        let t = V4Table::from_ranges(ranges, NONE);
        assert!(t.len() > 10_000, "{}", t.len());
        for p in 0..65_536u32 {
            let want = t.starts.partition_point(|&s| s <= p << 16) - 1;
            assert_eq!(t.index[p as usize] as usize, want, "/16 {p}");
        }
        assert_eq!(t.index[65_536] as usize, t.len() - 1);
        assert_eq!(V4Table::from_parts(t.starts.clone(), t.values.clone()), t);
    }

    #[test]
    fn v4_range_from_zero_and_empty() {
        let t = V4Table::from_ranges([(0, 0xff, 7u32)], NONE);
        assert_eq!(t.get(0), 7);
        assert_eq!(t.get(0x100), NONE);
        let e = V4Table::<u32>::from_ranges([], NONE);
        assert!(e.is_empty());
        assert_eq!(e.get(12345), NONE);
    }

    #[test]
    fn v6_lookup() {
        let a: u128 = 0x2001_0db8 << 96;
        let t = V6Table::from_ranges([(a, a + 0xffff, 5u32), (u128::MAX - 1, u128::MAX, 6)], NONE);
        assert_eq!(t.get(a), 5);
        assert_eq!(t.get(a + 0x10000), NONE);
        assert_eq!(t.get(0), NONE);
        assert_eq!(t.get(u128::MAX), 6);
        let t2 = V6Table::from_parts(
            t.ranges().map(|r| r.0).collect(),
            t.ranges().map(|r| r.1).collect(),
        );
        assert_eq!(t, t2);
    }
}
