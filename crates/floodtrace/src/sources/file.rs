//! File and stream inputs.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::Context;

/// Bytes of one input, from absolute offset 0 to however far has been read. `'m` is the
/// lifetime of mapped bytes, which chunks may borrow while the walk goes on.
pub trait Feed<'m> {
    /// Bytes from absolute offset `from` to the end of what is available now.
    fn available(&self, from: u64) -> &[u8];
    /// Read more bytes; `Ok(false)` at end of input.
    fn more(&mut self) -> io::Result<bool>;
    /// The bytes `[from, to)` for a chunk job. Bytes before `to` are no longer needed.
    fn take(&mut self, from: u64, to: u64) -> Chunk<'m>;
    /// Bytes before `upto` are no longer needed (a stream may drop them).
    fn release(&mut self, upto: u64);
    /// Bytes `[from, from + len)` will be read soon (a map may fault them in now).
    fn will_need(&self, _from: u64, _len: u64) {}
}

/// Bytes of one chunk: borrowed from a map, or owned when read from a stream.
pub enum Chunk<'a> {
    /// A slice of the memory map.
    Mapped(&'a [u8]),
    /// A copy of streamed bytes.
    Owned(Vec<u8>),
}

/// An opened input.
pub enum Input {
    /// A regular file, memory-mapped (`None`: empty file), and its handle: later readers
    /// (`pread` by slot workers) use it rather than the path, which may name another file
    /// by then.
    Mapped(Option<memmap2::Mmap>, File),
    /// A regular file read in blocks, with its size and a second handle on the same open
    /// file (positioned reads and mapping ignore the shared offset).
    File(StreamFeed, u64, File),
    /// A pipe, FIFO or standard input.
    Stream(StreamFeed),
}

/// How a regular file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAccess {
    /// Memory-map it: worker threads share the bytes without copying.
    Map,
    /// Read it in blocks into one small buffer: for a single sequential pass this beats a
    /// map (no page-table setup and teardown, and the decoder reads bytes the copy just
    /// left in cache; 1.04 s against 1.16 s on the 10 M-packet bench file).
    Read,
}

/// A reader that also writes what it reads to a file, up to a limit (standard input kept
/// for a second pass over the data, see [`Spool`]).
struct Tee<R> {
    inner: R,
    out: Option<io::BufWriter<File>>,
    left: u64,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(out) = &mut self.out {
            if (n as u64) > self.left {
                // Over the limit: stop copying; the spool is then incomplete and unused.
                self.out = None;
            } else {
                io::Write::write_all(out, &buf[..n])?;
                self.left -= n as u64;
                if n == 0 {
                    io::Write::flush(out)?;
                }
            }
        }
        Ok(n)
    }
}

/// A copy of standard input in a temporary file, so that passes after the first (source
/// attribution, evidence) can read a piped capture again. Removed when dropped.
pub struct Spool {
    /// The copy.
    pub path: std::path::PathBuf,
    /// The most bytes copied; a longer stream leaves the spool incomplete.
    pub limit: u64,
}

impl Spool {
    /// A spool file in the temporary directory.
    pub fn new(limit: u64) -> Spool {
        Spool {
            path: std::env::temp_dir().join(format!("floodtrace-stdin-{}.cap", std::process::id())),
            limit,
        }
    }

    /// The spooled bytes are the whole stream (it ended within the limit).
    pub fn complete(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.len() < self.limit)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Open standard input, copying it into `spool` as it is read.
///
/// # Errors
/// The spool file cannot be created.
pub fn open_stdin_spooled(spool: &Spool) -> anyhow::Result<Input> {
    let file = File::create(&spool.path)
        .with_context(|| format!("cannot create {}", spool.path.display()))?;
    Ok(Input::Stream(StreamFeed::new(Box::new(Tee {
        inner: io::stdin(),
        out: Some(io::BufWriter::new(file)),
        left: spool.limit,
    }))))
}

/// Open `path` (`-` = standard input): regular files are mapped or read as `access` says,
/// anything else streamed.
///
/// # Errors
/// The file cannot be opened or mapped.
pub fn open_input(path: &str, access: FileAccess) -> anyhow::Result<Input> {
    if path == "-" {
        return Ok(Input::Stream(StreamFeed::new(Box::new(io::stdin()))));
    }
    let file = File::open(Path::new(path)).context("cannot open")?;
    let meta = file.metadata().context("cannot read metadata")?;
    if meta.is_file() && access == FileAccess::Read {
        let handle = file.try_clone().context("cannot duplicate the handle")?;
        return Ok(Input::File(
            StreamFeed::new(Box::new(file)),
            meta.len(),
            handle,
        ));
    }
    if meta.is_file() {
        let map = map_handle(&file, meta.len())?;
        Ok(Input::Mapped(map, file))
    } else {
        Ok(Input::Stream(StreamFeed::new(Box::new(file))))
    }
}

/// Map an opened regular file of `len` bytes (`None` when it is empty).
///
/// # Errors
/// The file cannot be mapped.
pub fn map_handle(file: &File, len: u64) -> anyhow::Result<Option<memmap2::Mmap>> {
    if len == 0 {
        return Ok(None);
    }
    map_file(file).context("cannot memory-map").map(Some)
}

/// The one place floodtrace maps memory.
#[allow(unsafe_code)]
fn map_file(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and lives as long as the feed. If another process
    // truncates the file while we read, accesses past the new end raise SIGBUS; that is
    // the accepted limit of mmap-based readers (tcpdump -r and nfdump map files likewise),
    // and no Rust invariant depends on the bytes' values: every length is re-checked.
    // Not `populate`: that would fill every page table entry before the first record is
    // read. The walker asks for each chunk's pages just ahead of it instead
    // (`Feed::will_need`), so the kernel work overlaps with decoding on other cores.
    let map = unsafe { memmap2::MmapOptions::new().map(file)? };
    // Sequential walk: ask the kernel to read ahead aggressively.
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(map)
}

/// A memory-mapped regular file (or any byte slice).
pub struct MappedFeed<'m> {
    bytes: &'m [u8],
    map: Option<&'m memmap2::Mmap>,
}

impl<'m> MappedFeed<'m> {
    /// A feed over a memory map (`None`: an empty file).
    pub fn new(map: Option<&'m memmap2::Mmap>) -> Self {
        MappedFeed {
            bytes: map.map_or(&[], |m| &m[..]),
            map,
        }
    }
}

impl<'m> Feed<'m> for MappedFeed<'m> {
    fn available(&self, from: u64) -> &[u8] {
        self.bytes.get(from as usize..).unwrap_or(&[])
    }
    fn more(&mut self) -> io::Result<bool> {
        Ok(false)
    }
    fn take(&mut self, from: u64, to: u64) -> Chunk<'m> {
        Chunk::Mapped(&self.bytes[from as usize..to as usize])
    }
    fn release(&mut self, _upto: u64) {}
    fn will_need(&self, from: u64, len: u64) {
        let Some(map) = self.map else { return };
        let from = (from as usize).min(map.len());
        let len = (len as usize).min(map.len() - from);
        // Filling page tables for a range costs far less than a fault per page. Kernels
        // before 5.14 lack MADV_POPULATE_READ: then pages simply fault in as read.
        let _ = map.advise_range(memmap2::Advice::PopulateRead, from, len);
    }
}

/// Bytes read from a stream in blocks; only the unconsumed tail is kept.
pub struct StreamFeed {
    reader: Box<dyn Read + Send>,
    /// Absolute offset of `buf[0]`.
    base: u64,
    buf: Vec<u8>,
    eof: bool,
}

/// Bytes asked of the stream per read. Small enough that a block is still in the L2 cache
/// when the decoder walks it right after the copy (10 M-packet bench, one thread: 1.13 s
/// with 1 MiB blocks, 1.08 s with 256 or 512 KiB).
const STREAM_BLOCK: usize = 256 << 10;

impl StreamFeed {
    /// Wrap a reader.
    pub fn new(reader: Box<dyn Read + Send>) -> Self {
        StreamFeed {
            reader,
            base: 0,
            buf: Vec::new(),
            eof: false,
        }
    }
}

impl StreamFeed {
    /// Make room for `additional` more bytes at once (a whole file about to be read into
    /// memory, e.g. a flow export: growing block by block would copy it again and again).
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }
}

impl Feed<'static> for StreamFeed {
    fn available(&self, from: u64) -> &[u8] {
        let rel = from.saturating_sub(self.base) as usize;
        self.buf.get(rel..).unwrap_or(&[])
    }
    fn more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let old = self.buf.len();
        // `read_to_end` on a `take` appends into spare capacity without zeroing it first,
        // and keeps reading until the block is full or the stream ends.
        let got = loop {
            match (&mut self.reader)
                .take(STREAM_BLOCK as u64)
                .read_to_end(&mut self.buf)
            {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        if got < STREAM_BLOCK {
            self.eof = true;
        }
        Ok(got > 0)
    }
    fn take(&mut self, from: u64, to: u64) -> Chunk<'static> {
        let a = (from - self.base) as usize;
        let b = (to - self.base) as usize;
        let out = self.buf[a..b].to_vec();
        self.buf.drain(..b);
        self.base = to;
        Chunk::Owned(out)
    }
    fn release(&mut self, upto: u64) {
        let n = (upto.saturating_sub(self.base) as usize).min(self.buf.len());
        // Only the unread tail moves: at most one partial record plus what was read ahead.
        self.buf.drain(..n);
        self.base += n as u64;
    }
}
