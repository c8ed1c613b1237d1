//! Fixed-size summaries of unbounded streams: their memory does not grow with the number
//! of distinct items, and two summaries of disjoint parts of a stream merge into one.

mod hll;
pub mod source_log;
pub mod source_sample;
mod space_saving;

pub use hll::Hll;
pub use source_log::{LogEntry, SourceLog};
pub use source_sample::{
    SampleKeys, SampledSource, SeenSources, Similarity, SourceSample, SourceStats,
};
pub use space_saving::{SpaceSaving, TopEntry};

/// A fast 64-bit mix of a 128-bit key (addresses are hashed as `u128`), seeded so that
/// different sketches can use independent hash functions.
#[inline]
pub fn hash128(key: u128, seed: u64) -> u64 {
    // Two rounds of the splitmix64 finaliser over the folded key: cheap, and its output
    // bits are close enough to uniform for HyperLogLog's register index and rank.
    let lo = key as u64;
    let hi = (key >> 64) as u64;
    let mut x = lo ^ seed.rotate_left(17) ^ hi.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    x = x.wrapping_add(hi ^ seed);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
