//! A buffered classic-pcap writer (little-endian, nanosecond timestamps, Ethernet).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use floodtrace_wire::capture::{pcap_file_header, pcap_record_header};

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
        out.write_all(&pcap_file_header(1, SNAPLEN, true))?;
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
        self.out
            .write_all(&pcap_record_header(ts_ns, len, len, true))?;
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
