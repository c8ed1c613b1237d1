//! A buffered classic-pcap writer (little-endian, nanosecond timestamps, Ethernet).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes Ethernet frames into a pcap file.
pub struct PcapWriter {
    out: BufWriter<File>,
    packets: u64,
    bytes: u64,
}

/// Snapshot length written in the file header; frames are never cut.
const SNAPLEN: u32 = 65_535;

impl PcapWriter {
    /// Create `path` and write the file header (nanosecond magic, link type Ethernet).
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: &Path) -> io::Result<PcapWriter> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            packets: 0,
            bytes: 0,
        })
    }

    /// Append one frame captured at `ts_ns`.
    ///
    /// # Errors
    /// Writing fails.
    #[inline]
    pub fn write(&mut self, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
        let len = frame.len() as u32;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((ts_ns % 1_000_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(frame)?;
        self.packets += 1;
        self.bytes += frame.len() as u64;
        Ok(())
    }

    /// Frames written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Frame bytes written so far (without pcap headers).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flush and close.
    ///
    /// # Errors
    /// Writing fails.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
