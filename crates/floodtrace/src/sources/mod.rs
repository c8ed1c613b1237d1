//! Where capture bytes come from: a memory-mapped file, or a stream (standard input, pipes,
//! FIFOs) read in blocks. Both present the same [`Feed`] to the chunk walker.

pub mod file;

pub use file::{open_input, FileAccess, Input, MappedFeed};
