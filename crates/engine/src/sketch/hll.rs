//! HyperLogLog distinct counter with a sparse start.
//!
//! Precision 14 (16,384 six-bit registers kept as bytes): standard error 1.04/√16384 ≈ 0.81 %.
//! A sketch starts sparse (a sorted list of `(register, rank)` pairs) so the many quiet
//! destinations of a capture cost a few bytes, and turns dense at 1/8 of the dense size.
//! Both forms describe the same register array, so the estimate and every merge are
//! identical whichever form a sketch happens to be in: results never depend on how a
//! capture was split into chunks.
//!
//! The estimator is Ertl's improved raw estimator ("New cardinality estimation algorithms
//! for HyperLogLog sketches", 2017), unbiased over the whole range without empirical
//! bias tables.

use super::hash128;

/// Register-index bits.
pub const PRECISION: u32 = 14;
const M: usize = 1 << PRECISION;
/// Largest rank: the 50 hash bits below the index, plus one.
const MAX_RANK: u8 = (64 - PRECISION + 1) as u8;
/// Sparse entries kept before switching to the dense array (4 bytes each: 1/8 of dense).
const SPARSE_LIMIT: usize = M / 32;
const SEED: u64 = 0x6a09_e667_f3bc_c908;

/// A HyperLogLog sketch of a set of 128-bit keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hll {
    /// Sorted `(index << 8) | rank` entries while sparse; empty once dense.
    sparse: Vec<u32>,
    /// Dense registers (`M` bytes) once the sparse list is too long.
    dense: Option<Box<[u8]>>,
}

impl Hll {
    /// An empty sketch.
    pub fn new() -> Self {
        Hll::default()
    }

    /// Standard error of the estimate (relative).
    pub const STD_ERROR: f64 = 0.008_125;

    #[inline]
    fn split(key: u128) -> (usize, u8) {
        let h = hash128(key, SEED);
        let index = (h >> (64 - PRECISION)) as usize;
        // Rank = position of the first 1 in the remaining bits; a sentinel bit caps it.
        let rest = (h << PRECISION) | (1 << (PRECISION - 1));
        (index, rest.leading_zeros() as u8 + 1)
    }

    /// Add a key.
    #[inline]
    pub fn insert(&mut self, key: u128) {
        let (index, rank) = Self::split(key);
        self.set_max(index, rank);
    }

    #[inline]
    fn set_max(&mut self, index: usize, rank: u8) {
        if let Some(regs) = &mut self.dense {
            let r = &mut regs[index];
            if *r < rank {
                *r = rank;
            }
            return;
        }
        let probe = (index as u32) << 8;
        match self.sparse.binary_search_by(|e| (e & !0xff).cmp(&probe)) {
            Ok(i) => {
                if (self.sparse[i] & 0xff) < rank as u32 {
                    self.sparse[i] = probe | rank as u32;
                }
            }
            Err(i) => {
                self.sparse.insert(i, probe | rank as u32);
                if self.sparse.len() > SPARSE_LIMIT {
                    self.densify();
                }
            }
        }
    }

    fn densify(&mut self) {
        let mut regs = vec![0u8; M].into_boxed_slice();
        for e in self.sparse.drain(..) {
            regs[(e >> 8) as usize] = (e & 0xff) as u8;
        }
        self.sparse = Vec::new();
        self.dense = Some(regs);
    }

    /// Whether no key was inserted.
    pub fn is_empty(&self) -> bool {
        self.dense.is_none() && self.sparse.is_empty()
    }

    /// Merge another sketch into this one (register-wise maximum: exact, associative,
    /// commutative).
    pub fn merge(&mut self, other: &Hll) {
        match &other.dense {
            Some(theirs) => {
                if self.dense.is_none() {
                    self.densify();
                }
                let mine = self.dense.as_mut().expect("densified above");
                for (a, &b) in mine.iter_mut().zip(theirs.iter()) {
                    if *a < b {
                        *a = b;
                    }
                }
            }
            None => {
                for &e in &other.sparse {
                    self.set_max((e >> 8) as usize, (e & 0xff) as u8);
                }
            }
        }
    }

    /// Histogram of register values: `counts[k]` = registers holding rank `k`.
    fn histogram(&self) -> [u32; MAX_RANK as usize + 1] {
        let mut counts = [0u32; MAX_RANK as usize + 1];
        match &self.dense {
            Some(regs) => {
                for &r in regs.iter() {
                    counts[r as usize] += 1;
                }
            }
            None => {
                counts[0] = (M - self.sparse.len()) as u32;
                for &e in &self.sparse {
                    counts[(e & 0xff) as usize] += 1;
                }
            }
        }
        counts
    }

    /// Estimated number of distinct keys.
    pub fn estimate(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let c = self.histogram();
        let m = M as f64;
        let q = MAX_RANK as usize - 1;
        let mut z = m * tau(1.0 - c[q + 1] as f64 / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + c[k] as f64);
        }
        z += m * sigma(c[0] as f64 / m);
        let alpha_inf = 1.0 / (2.0 * core::f64::consts::LN_2);
        alpha_inf * m * m / z
    }

    /// The estimate rounded to a whole count.
    pub fn count(&self) -> u64 {
        self.estimate().round() as u64
    }

    /// Heap bytes held by this sketch.
    pub fn heap_bytes(&self) -> usize {
        self.sparse.capacity() * 4 + self.dense.as_ref().map_or(0, |d| d.len())
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if z == prev {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == prev {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(range: core::ops::Range<u64>, salt: u128) -> Hll {
        let mut h = Hll::new();
        for i in range {
            h.insert((i as u128) << 32 | salt);
        }
        h
    }

    #[test]
    fn error_within_two_percent_over_the_range() {
        for &n in &[
            1u64, 10, 100, 1_000, 5_000, 20_000, 60_000, 200_000, 1_000_000,
        ] {
            let h = keyed(0..n, 7);
            let est = h.estimate();
            // Two keys may share a register (probability ≈ n²/2m), so tiny sets get an
            // absolute slack of 2; everything else must be within 2 %.
            let tolerance = (0.02 * n as f64).max(2.0);
            assert!((est - n as f64).abs() <= tolerance, "n={n} estimate={est}");
        }
    }

    #[test]
    fn small_counts_are_near_exact() {
        for n in [1u64, 2, 3, 17, 100] {
            let c = keyed(0..n, 1).count();
            assert!(c.abs_diff(n) <= 1, "n={n} count={c}");
        }
    }

    #[test]
    fn merge_is_independent_of_split_and_form() {
        let whole = keyed(0..50_000, 3);
        let mut a = keyed(0..300, 3); // sparse
        let b = keyed(300..50_000, 3); // dense
        a.merge(&b);
        assert_eq!(a.estimate(), whole.estimate());
        let mut c = keyed(300..50_000, 3);
        c.merge(&keyed(0..300, 3));
        assert_eq!(c.estimate(), whole.estimate());
        // Sparse-to-sparse merge equals inserting everything.
        let mut d = keyed(0..100, 3);
        d.merge(&keyed(100..200, 3));
        assert_eq!(d, keyed(0..200, 3));
    }

    #[test]
    fn duplicates_do_not_count() {
        let mut h = Hll::new();
        for _ in 0..10 {
            for i in 0..1000u128 {
                h.insert(i);
            }
        }
        let c = h.count();
        assert!(c.abs_diff(1000) <= 10, "count={c}");
    }
}
