//! File and stream inputs.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

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
    /// Read it in blocks into one small buffer (`analyze --read-files`): no page-table
    /// setup and teardown, and the decoder reads bytes the copy just left in cache. On the
    /// AMD VM this beat the map on the 10 M-packet bench file (1.04 s against 1.16 s); on
    /// the Intel VM the map wins (docs/BENCH.md, eleventh session).
    Read,
}

/// What became of the spool ([`Spool`]); shared between the reader that writes it and
/// the [`Spool`] that later passes read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SpoolState {
    /// Copying as standard input is read.
    Writing,
    /// Holds every byte read from standard input (reading ended, at its end or not).
    Kept,
    /// Standard input ran past the limit: the copy was given up.
    OverLimit(u64),
    /// The copy could not be created or written (the message says why).
    Failed(String),
}

/// A reader that also writes what it reads to the spool file, up to a limit. Spooling
/// never fails a read: when writing fails, the copy is given up and reading goes on.
struct Tee<R> {
    inner: R,
    out: Option<io::BufWriter<File>>,
    left: u64,
    limit: u64,
    state: Arc<Mutex<SpoolState>>,
}

impl<R> Tee<R> {
    /// Stop copying and say why.
    fn give_up(&mut self, state: SpoolState) {
        self.out = None;
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// Flush what is buffered: the spool then holds everything read so far.
    fn finish(&mut self) {
        if let Some(mut out) = self.out.take() {
            let state = match io::Write::flush(&mut out) {
                Ok(()) => SpoolState::Kept,
                Err(e) => SpoolState::Failed(format!("cannot write: {e}")),
            };
            self.give_up(state);
        }
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(out) = &mut self.out {
            if n == 0 {
                self.finish();
            } else if (n as u64) > self.left {
                self.give_up(SpoolState::OverLimit(self.limit));
            } else if let Err(e) = io::Write::write_all(out, &buf[..n]) {
                // A full disk, a file size limit (with SIGXFSZ ignored, EFBIG): the
                // bytes were read all the same, so the analysis goes on without the copy.
                self.give_up(SpoolState::Failed(format!("cannot write: {e}")));
            } else {
                self.left -= n as u64;
            }
        }
        Ok(n)
    }
}

impl<R> Drop for Tee<R> {
    /// Reading may end before standard input does (damaged framing, a read error): the
    /// spool then holds what was read, which is what the first pass saw.
    fn drop(&mut self) {
        self.finish();
    }
}

/// A copy of standard input in an anonymous temporary file, so that passes after the first
/// (source attribution, evidence) can read a piped capture again.
///
/// The file has no name (`O_TMPFILE`, or created and unlinked at once): there is nothing
/// for another user to race for or point a symlink at, and nothing is left behind however
/// the process ends. Later passes map it through the open handle ([`Again::Spool`]).
pub struct Spool {
    /// Where the file was to be made (for messages).
    dir: std::path::PathBuf,
    /// A handle for reading it again (`None`: it could not be created).
    file: Option<File>,
    state: Arc<Mutex<SpoolState>>,
}

impl Spool {
    /// Open standard input, copying up to `limit` bytes of it into a spool in the
    /// temporary directory as it is read. When the spool cannot be created, standard input
    /// is read all the same, without a copy ([`Spool::problem`] says why).
    pub fn stdin(limit: u64) -> (Spool, Input) {
        Spool::open(Box::new(io::stdin()), limit)
    }

    fn open(reader: Box<dyn Read + Send>, limit: u64) -> (Spool, Input) {
        let dir = std::env::temp_dir();
        let created = tempfile::tempfile_in(&dir).and_then(|f| Ok((f.try_clone()?, f)));
        let (file, state, out) = match created {
            Ok((reading, writing)) => (
                Some(reading),
                SpoolState::Writing,
                Some(io::BufWriter::with_capacity(STREAM_BLOCK, writing)),
            ),
            Err(e) => (
                None,
                SpoolState::Failed(format!("cannot create a temporary file: {e}")),
                None,
            ),
        };
        let state = Arc::new(Mutex::new(state));
        let tee = Tee {
            inner: reader,
            out,
            left: limit,
            limit,
            state: Arc::clone(&state),
        };
        let input = Input::Stream(StreamFeed::new(Box::new(tee)));
        (Spool { dir, file, state }, input)
    }

    fn state(&self) -> SpoolState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The spool, once standard input has been read and every byte of it was kept.
    pub fn file(&self) -> Option<&File> {
        (self.state() == SpoolState::Kept)
            .then_some(self.file.as_ref())
            .flatten()
    }

    /// Why standard input cannot be read again from the spool, in words naming the spool
    /// (`None` while it is usable). Meaningful once standard input has been read.
    pub fn problem(&self) -> Option<String> {
        let dir = self.dir.display();
        match self.state() {
            SpoolState::Writing | SpoolState::Kept => None,
            SpoolState::OverLimit(limit) => Some(format!(
                "standard input is longer than the {} MiB its spool in {dir} may hold",
                limit >> 20
            )),
            SpoolState::Failed(why) => Some(format!("spool of standard input in {dir}: {why}")),
        }
    }
}

/// An input as a pass after the first reads it again.
#[derive(Debug, Clone, Copy)]
pub enum Again<'a> {
    /// A path from the command line (`-`: standard input that was not spooled, which
    /// cannot be read again).
    Path(&'a str),
    /// Standard input, from its spool's open handle.
    Spool(&'a File),
}

impl Again<'_> {
    /// Standard input without a spool: it cannot be read a second time.
    pub fn is_unspooled_stdin(&self) -> bool {
        matches!(self, Again::Path("-"))
    }

    /// Map the input again (`None`: it is empty).
    ///
    /// # Errors
    /// It cannot be opened or mapped, or is no regular file (a pipe cannot be re-read).
    pub fn map(&self) -> anyhow::Result<Option<memmap2::Mmap>> {
        match *self {
            Again::Path(path) => {
                match open_input(path, FileAccess::Map).with_context(|| path.to_string())? {
                    Input::Mapped(map, _) => Ok(map),
                    _ => anyhow::bail!("{path}: not a regular file: cannot be read a second time"),
                }
            }
            Again::Spool(file) => {
                let len = file
                    .metadata()
                    .context("spool of standard input: cannot read metadata")?
                    .len();
                map_handle(file, len).context("spool of standard input")
            }
        }
    }
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

/// Unmap `map` on a thread of its own. Tearing down the page tables of a large mapping
/// takes the kernel tens of milliseconds (about 40 ms for the 1.9 GiB bench file), which
/// the caller would otherwise spend before the serial work that follows reading (incidents,
/// attribution, the report) while the other cores are idle. Small maps, and any map when
/// no thread can be started, are unmapped here.
pub fn unmap_in_background(map: Option<memmap2::Mmap>) {
    const WORTH_A_THREAD: usize = 64 << 20;
    let Some(map) = map.filter(|m| m.len() >= WORTH_A_THREAD) else {
        return;
    };
    // A failed spawn drops the closure, and with it the map, right here.
    let _ = std::thread::Builder::new()
        .name("unmap".into())
        .spawn(move || drop(map));
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
