//! Big-endian field reads for decoders whose length checks already cover the field.

/// The big-endian `u16` at `b[at..at + 2]`.
///
/// # Panics
/// If the slice is shorter: callers read only ranges their length check covered.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The big-endian `u32` at `b[at..at + 4]`.
///
/// # Panics
/// If the slice is shorter: callers read only ranges their length check covered.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
