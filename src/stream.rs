//! Streaming: reading input in big blocks, cutting them where no field can be split, rewriting each block
//! with an [`Annotator`], writing the blocks out in order and flushing at once.
//!
//! This module owns the buffers, the cutting and the flush policy. A block ends after a newline, or, when
//! one line fills the whole buffer, after a byte that no field and no annotation contains
//! ([`Annotator::cut_after`]), or else at a position [`crate::cut`] proves safe (inside a long run of
//! letters and digits, or before a word that follows a blank); only a line with none of these for longer
//! than the buffer (a line of blanks, say) makes the buffer grow. Because no field or annotation spans a
//! cut, blocks are independent: [`run_parallel`] rewrites several at once on worker threads and gives
//! the same bytes as [`run`].
//!
//! Output is written after every read (or, in parallel, as soon as a block and all before it are
//! rewritten), so a live stream (`tail -f log | mfa-annotate`) shows each line as soon as it arrives, while a big file still
//! goes through in big blocks. Memory: a few blocks, whatever the size of the input.

use crate::annotate::{Annotator, Counts};
use std::io::{self, ErrorKind, Read, Write};
use std::sync::{Condvar, Mutex};

/// The default block size: large enough that system calls are a small cost, small enough that a block and
/// its output stay in a core's L2 cache (128 KiB measured 7-9% faster than 256 KiB for a folder at `-j2`,
/// and the same at `-j1`).
pub const DEFAULT_BLOCK_SIZE: usize = 128 * 1024;

/// The block size for parallel rewriting: about 1 MiB, so each task is worth a thread.
pub const PARALLEL_BLOCK_SIZE: usize = 1024 * 1024;

/// The block size to read with when none is asked for: [`PARALLEL_BLOCK_SIZE`] when one input is split
/// across threads, [`DEFAULT_BLOCK_SIZE`] when one thread reads it.
pub fn default_block_size(split: bool) -> usize {
    if split {
        PARALLEL_BLOCK_SIZE
    } else {
        DEFAULT_BLOCK_SIZE
    }
}

/// How a stream is read and written.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bytes asked for in one read (the buffer grows past it only for a very long line with no cut byte).
    pub block_size: usize,
    /// Write and flush every line on its own (`--line-buffered`).
    pub line_buffered: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            block_size: DEFAULT_BLOCK_SIZE,
            line_buffered: false,
        }
    }
}

/// Buffers of finished runs, kept per thread for the next run: a batch run streams thousands of files
/// one after another on each thread, and allocating, zeroing and faulting in fresh buffers for every
/// file cost more than annotating a small one. Read buffers are kept at their full length (their bytes
/// are read over, never looked at first), so reusing one zeroes nothing; output buffers are only ever
/// cleared and extended. Buffers that grew past [`pool::POOLED_MAX`] (for a very long line) are freed.
mod pool {
    use std::cell::RefCell;

    /// The largest buffer kept.
    pub(super) const POOLED_MAX: usize = 4 << 20;
    /// How many buffers of each kind a thread keeps: a run uses two read buffers and one output buffer.
    const POOLED_COUNT: usize = 2;

    thread_local! {
        static READ: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
        static OUT: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    fn take(pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<u8>>>>) -> Vec<u8> {
        pool.with(|p| p.borrow_mut().pop()).unwrap_or_default()
    }

    fn give(pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<u8>>>>, buffer: Vec<u8>) {
        if buffer.capacity() == 0 || buffer.capacity() > POOLED_MAX {
            return;
        }
        pool.with(|p| {
            let mut free = p.borrow_mut();
            if free.len() < POOLED_COUNT {
                free.push(buffer);
            }
        });
    }

    /// A read buffer (its length is how much of it is initialized), or a new empty one.
    pub(super) fn take_read() -> Vec<u8> {
        take(&READ)
    }

    /// Gives a read buffer back, at its full length.
    pub(super) fn give_read(buffer: Vec<u8>) {
        give(&READ, buffer);
    }

    /// An output buffer, empty.
    pub(super) fn take_out() -> Vec<u8> {
        let mut out = take(&OUT);
        out.clear();
        out
    }

    /// Gives an output buffer back.
    pub(super) fn give_out(buffer: Vec<u8>) {
        give(&OUT, buffer);
    }
}

/// A block handed out by a [`Splitter`]: the first `len` bytes of a buffer. The buffer keeps its full
/// length behind the block, so that handing it back as a spare to read into again zeroes nothing.
#[derive(Debug, Default)]
pub struct Block {
    buf: Vec<u8>,
    len: usize,
}

impl std::ops::Deref for Block {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A failed stream: the side that failed decides how the caller reports it (a broken pipe on the output
/// is a normal stop; a read error names the input).
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading the input failed.
    #[error("{0}")]
    Read(io::Error),
    /// Writing the output failed.
    #[error("{0}")]
    Write(io::Error),
}

/// Cuts a byte stream into blocks that can be rewritten independently.
#[derive(Debug)]
pub struct Splitter<R> {
    input: R,
    /// `buf[..filled]` is input read but not handed out; it holds no newline before `searched`.
    buf: Vec<u8>,
    filled: usize,
    searched: usize,
    block_size: usize,
    eof: bool,
    /// Never cut inside a line: grow the buffer instead (for line-oriented runs).
    whole_lines: bool,
    /// Which bytes a stream may be cut after, and forced cuts in a long line without one ([`crate::cut`]).
    annotator: Annotator,
}

impl<R: Read> Splitter<R> {
    /// A splitter reading `input` in reads of about `block_size` bytes.
    pub fn new(input: R, annotator: &Annotator, block_size: usize) -> Self {
        let block_size = block_size.max(64);
        let buf = fit(pool::take_read(), block_size);
        Splitter {
            input,
            buf,
            filled: 0,
            searched: 0,
            block_size,
            eof: false,
            whole_lines: false,
            annotator: annotator.clone(),
        }
    }

    /// Hands out whole lines only: a line longer than the buffer makes the buffer grow instead of being
    /// cut (line-oriented runs need every line in one piece).
    pub fn whole_lines(mut self) -> Self {
        self.whole_lines = true;
        self
    }

    /// Reads until a block is ready and returns it, or `None` at the end of the input. `spare` is an
    /// empty buffer to reuse (a block handed out earlier), so that steady streaming allocates nothing.
    ///
    /// A block is handed out after every read that completed a line; so a slow, live input is passed on
    /// line by line, and a file in blocks of about `block_size`.
    pub fn next_block(&mut self, spare: Block) -> io::Result<Option<Block>> {
        loop {
            if self.eof {
                return Ok((self.filled > 0).then(|| self.split_off(self.filled, spare)));
            }
            if self.filled == self.buf.len() {
                // One line fills the buffer: cut it after a safe byte, or where `cut` proves a cut
                // safe, or make room.
                if !self.whole_lines {
                    let line = &self.buf[..self.filled];
                    let cut = line
                        .iter()
                        .rposition(|&b| self.annotator.cut_after(b))
                        .map(|i| i + 1)
                        .or_else(|| crate::cut::forced_cut(&self.annotator, line));
                    if let Some(p) = cut {
                        return Ok(Some(self.split_off(p, spare)));
                    }
                }
                let len = self.buf.len();
                self.buf.resize(len * 2, 0);
            }
            let n = match self.input.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                continue;
            }
            self.filled += n;
            if let Some(i) = memchr::memrchr(b'\n', &self.buf[self.searched..self.filled]) {
                let cut = self.searched + i + 1;
                return Ok(Some(self.split_off(cut, spare)));
            }
            self.searched = self.filled;
        }
    }

    /// Hands out `buf[..cut]` as a block and keeps the rest, moved to the front of `spare`'s buffer.
    fn split_off(&mut self, cut: usize, spare: Block) -> Block {
        let rest = self.filled - cut;
        let mut spare = fit(spare.buf, self.block_size.max(rest * 2));
        spare[..rest].copy_from_slice(&self.buf[cut..self.filled]);
        let block = std::mem::replace(&mut self.buf, spare);
        self.filled = rest;
        self.searched = rest; // the rest follows the last cut, so it holds no newline
        Block {
            buf: block,
            len: cut,
        }
    }
}

/// A reused buffer made ready to read about `want` bytes into: a shorter one is lengthened (only that
/// part is zeroed: a recycled buffer is read over), a much longer one (grown for a long line, or kept from
/// a run with bigger blocks) is cut back so that reads stay about the size asked for.
fn fit(mut buf: Vec<u8>, want: usize) -> Vec<u8> {
    if buf.len() > 2 * want {
        buf.truncate(want);
    }
    if buf.len() < want {
        buf.resize(want, 0);
    }
    buf
}

impl<R> Drop for Splitter<R> {
    fn drop(&mut self) {
        pool::give_read(std::mem::take(&mut self.buf));
    }
}

/// Rewrites everything `input` yields into `output`, block by block, on the calling thread.
///
/// The result is the same whatever sizes the reads return: a field split across two reads is found,
/// because blocks end only at cuts that no field spans.
pub fn run<R: Read, W: Write + ?Sized>(
    annotator: &Annotator,
    input: R,
    output: &mut W,
    config: &Config,
) -> Result<Counts, StreamError> {
    let mut splitter = Splitter::new(input, annotator, config.block_size);
    let mut counts = Counts::default();
    let mut out = pool::take_out();
    let mut spare = Block {
        buf: pool::take_read(),
        len: 0,
    };
    while let Some(block) = splitter
        .next_block(std::mem::take(&mut spare))
        .map_err(StreamError::Read)?
    {
        out.clear();
        counts += annotator.rewrite(&block, &mut out);
        emit(output, &out, config)?;
        spare = block;
    }
    pool::give_out(out);
    pool::give_read(spare.buf);
    Ok(counts)
}

/// Like [`run`], but `threads` workers rewrite blocks at once: each takes the next block, rewrites it and
/// writes it in its turn (the calling thread is one of them). The output is byte-identical to [`run`]'s
/// and in the same order.
pub fn run_parallel<R: Read + Send, W: Write + Send + ?Sized>(
    annotator: &Annotator,
    input: R,
    output: &mut W,
    config: &Config,
    threads: usize,
) -> Result<Counts, StreamError> {
    in_order(
        Splitter::new(input, annotator, config.block_size),
        output,
        threads,
        |block, out| annotator.rewrite(block, out),
        |output, out| emit(output, out, config),
        |total, c| *total += c,
    )
}

/// Runs `threads` workers over the blocks of `splitter`: each takes the next block (one worker at a
/// time, under a lock), turns it into output with `process`, waits for its turn and writes that output
/// with `write`, then takes the next block. Blocks are written in the order they were read.
///
/// So reading, processing and writing of different blocks overlap, and there is no reader or writer
/// thread and no batch that waits for its slowest block. The calling thread is one of the workers; the
/// others are scoped threads, so nothing runs on after this returns. After a write error the workers
/// stop at their next block; after a read error the blocks read before it are still written. What
/// `process` returns for each block is merged into one result with `merge`.
pub(crate) fn in_order<R, W, T, P, E, M>(
    splitter: Splitter<R>,
    output: &mut W,
    threads: usize,
    process: P,
    write: E,
    merge: M,
) -> Result<T, StreamError>
where
    R: Read + Send,
    W: Send + ?Sized,
    T: Default + Send,
    P: Fn(&[u8], &mut Vec<u8>) -> T + Sync,
    E: Fn(&mut W, &[u8]) -> Result<(), StreamError> + Sync,
    M: Fn(&mut T, T) + Sync,
{
    let reading = Mutex::new(Reading {
        splitter,
        next: 0,
        error: None,
    });
    let writing = Mutex::new(Writing {
        output,
        next: 0,
        error: None,
    });
    let turn = Condvar::new();
    let work = || {
        let _wake = WakeOnPanic {
            writing: &writing,
            turn: &turn,
        };
        let mut total = T::default();
        let mut spare = Block {
            buf: pool::take_read(),
            len: 0,
        };
        let mut out = pool::take_out();
        loop {
            let (number, block) = {
                let mut r = reading.lock().unwrap_or_else(|e| e.into_inner());
                if r.error.is_some() {
                    break;
                }
                match r.splitter.next_block(std::mem::take(&mut spare)) {
                    Ok(Some(block)) => {
                        r.next += 1;
                        (r.next - 1, block)
                    }
                    Ok(None) => break,
                    Err(e) => {
                        r.error = Some(e);
                        break;
                    }
                }
            };
            out.clear();
            merge(&mut total, process(&block, &mut out));
            spare = block;
            let mut w = writing.lock().unwrap_or_else(|e| e.into_inner());
            while w.next != number && w.error.is_none() {
                w = turn.wait(w).unwrap_or_else(|e| e.into_inner());
            }
            if w.error.is_none() {
                if let Err(e) = write(&mut *w.output, &out) {
                    w.error = Some(e);
                }
            }
            w.next += 1;
            let failed = w.error.is_some();
            drop(w);
            turn.notify_all();
            if failed {
                // Stop the reading too, so that no worker starts another block.
                let mut r = reading.lock().unwrap_or_else(|e| e.into_inner());
                r.error
                    .get_or_insert_with(|| io::Error::other("stopped: the output failed"));
                break;
            }
        }
        pool::give_read(spare.buf);
        pool::give_out(out);
        total
    };
    let total = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads.max(1)).map(|_| scope.spawn(work)).collect();
        let mut total = work();
        for other in others {
            merge(&mut total, other.join().expect("a worker does not panic"));
        }
        total
    });
    let written = writing.into_inner().unwrap_or_else(|e| e.into_inner());
    let read = reading.into_inner().unwrap_or_else(|e| e.into_inner());
    match (written.error, read.error) {
        (Some(e), _) => Err(e),
        (None, Some(e)) => Err(StreamError::Read(e)),
        (None, None) => Ok(total),
    }
}

/// Held by each worker of [`in_order`]: if the worker panics (with a block whose turn the others wait
/// for), it stops the run and wakes them, so that the panic reaches the caller instead of a hang.
struct WakeOnPanic<'a, 'w, W: ?Sized> {
    writing: &'a Mutex<Writing<'w, W>>,
    turn: &'a Condvar,
}

impl<W: ?Sized> Drop for WakeOnPanic<'_, '_, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut w = self.writing.lock().unwrap_or_else(|e| e.into_inner());
            w.error
                .get_or_insert_with(|| StreamError::Write(io::Error::other("a worker panicked")));
            drop(w);
            self.turn.notify_all();
        }
    }
}

/// The input side of [`in_order`]: the splitter and the number of the next block it hands out.
struct Reading<R> {
    splitter: Splitter<R>,
    next: u64,
    /// The read error that ended the input (no block is handed out after it).
    error: Option<io::Error>,
}

/// The output side of [`in_order`]: whose turn it is to write.
struct Writing<'w, W: ?Sized> {
    output: &'w mut W,
    next: u64,
    /// The write error that stopped the run (the other workers stop at their next block).
    error: Option<StreamError>,
}

/// Writes rewritten bytes and flushes them.
fn emit<W: Write + ?Sized>(output: &mut W, out: &[u8], config: &Config) -> Result<(), StreamError> {
    if out.is_empty() {
        return Ok(());
    }
    let result = if config.line_buffered {
        write_lines(output, out)
    } else {
        output.write_all(out).and_then(|()| output.flush())
    };
    result.map_err(StreamError::Write)
}

/// Writes `bytes` one line at a time, flushing after each.
fn write_lines<W: Write + ?Sized>(output: &mut W, bytes: &[u8]) -> io::Result<()> {
    let mut from = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        output.write_all(&bytes[from..=nl])?;
        output.flush()?;
        from = nl + 1;
    }
    output.write_all(&bytes[from..])?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotate::{Mode, Options};
    use crate::testing::{ChunkedReader, FailingReader};

    fn config(block: usize, line_buffered: bool) -> Config {
        Config {
            block_size: block,
            line_buffered,
        }
    }

    fn run_with(input: &[u8], sizes: Vec<usize>, block: usize) -> Vec<u8> {
        let a = Annotator::new(&Options::default()).unwrap();
        let mut out = Vec::new();
        run(
            &a,
            ChunkedReader::new(input, sizes),
            &mut out,
            &config(block, false),
        )
        .unwrap();
        out
    }

    /// Splits `input` with 64 KiB blocks and returns the output and the largest buffer the splitter held.
    fn split_bounded(input: &[u8]) -> (Vec<u8>, usize) {
        let a = Annotator::new(&Options::default()).unwrap();
        let mut splitter = Splitter::new(ChunkedReader::new(input, vec![65_536]), &a, 65_536);
        let (mut out, mut biggest, mut spare) = (Vec::new(), 0, Block::default());
        while let Some(block) = splitter.next_block(spare).unwrap() {
            biggest = biggest.max(splitter.buf.len()).max(block.len());
            a.rewrite(&block, &mut out);
            spare = block;
        }
        (out, biggest)
    }

    #[test]
    fn long_lines_without_cut_bytes_stay_within_the_buffer() {
        let a = Annotator::new(&Options::default()).unwrap();
        for line in [
            b"7".repeat(4 << 20),
            b"callStatus=129 Call Status: 20 x ".repeat(100_000),
            b"no punctuation in this line at all ".repeat(100_000),
            b"abcdefghijklmnopqrstuvwxyz0123456789".repeat(100_000),
        ] {
            let (out, biggest) = split_bounded(&line);
            assert_eq!(out, a.rewrite_all(&line));
            assert!(biggest <= 2 * 65_536, "buffer grew to {biggest}");
        }
        // A line of blanks has no safe position: the buffer grows (and the output is still right).
        let blanks = vec![b' '; 300_000];
        let (out, biggest) = split_bounded(&blanks);
        assert_eq!(out, blanks);
        assert!(biggest > 2 * 65_536);
    }

    #[test]
    fn one_byte_reads_give_the_same_output() {
        let input = b"a callStatus=129, b\r\nCall Status: 20\nresult code 7 no newline at end";
        let expected = Annotator::new(&Options::default())
            .unwrap()
            .rewrite_all(input);
        assert_eq!(run_with(input, vec![1], 4096), expected);
        assert_eq!(run_with(input, vec![3, 1, 7, 2], 4096), expected);
        assert_eq!(run_with(input, vec![1 << 20], 4096), expected);
    }

    #[test]
    fn a_line_longer_than_the_buffer() {
        let mut input = Vec::new();
        for i in 0..20_000 {
            input.extend_from_slice(
                format!("x{i}, callStatus={} (Fraud Reported)|", i % 150).as_bytes(),
            );
        }
        let expected = Annotator::new(&Options::default())
            .unwrap()
            .rewrite_all(&input);
        assert_eq!(run_with(&input, vec![1000, 3, 70_000], 8192), expected);
        assert_eq!(run_with(&input, vec![100], 64), expected);
    }

    #[test]
    fn a_long_line_with_no_cut_byte_grows_the_buffer() {
        let mut input = vec![b'a'; 50_000];
        input.extend_from_slice(b" callStatus=1");
        let expected = Annotator::new(&Options::default())
            .unwrap()
            .rewrite_all(&input);
        assert_eq!(run_with(&input, vec![4096], 4096), expected);
    }

    #[test]
    fn strip_of_a_long_line_in_small_blocks() {
        let a = Annotator::new(&Options {
            mode: Mode::Strip,
            ..Options::default()
        })
        .unwrap();
        let input = b"callStatus=129 (Mobile App Denied)".repeat(5000);
        let expected = a.rewrite_all(&input);
        for block in [64, 100, 4096, 6001] {
            let mut out = Vec::new();
            let reader = ChunkedReader::new(&input, vec![block / 3 + 1]);
            run(&a, reader, &mut out, &config(block, true)).unwrap();
            assert_eq!(out, expected, "block {block}");
        }
    }

    #[test]
    fn parallel_gives_the_same_bytes_in_the_same_order() {
        let a = Annotator::new(&Options::default()).unwrap();
        let mut input = Vec::new();
        for i in 0..30_000 {
            input.extend_from_slice(format!("line {i} callStatus={}\r\n", i % 200).as_bytes());
        }
        input.extend_from_slice(b"no final newline Call Status: 132");
        let expected = a.rewrite_all(&input);
        for threads in 1..=4 {
            for block in [64, 1000, 1 << 20] {
                let mut out = Vec::new();
                let reader = std::io::Cursor::new(input.clone());
                let c = run_parallel(&a, reader, &mut out, &config(block, false), threads).unwrap();
                assert_eq!(out, expected, "threads {threads} block {block}");
                assert_eq!(c.fields, 30_001);
            }
        }
    }

    #[test]
    fn parallel_workers_stop_reading_after_a_write_error() {
        let a = Annotator::new(&Options::default()).unwrap();
        let input = b"line callStatus=129\n".repeat(500_000); // 10 MB in 4 KiB blocks
        for threads in 2..=4 {
            let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
            let reader = crate::input::Counting {
                inner: &input[..],
                count: read.clone(),
            };
            // A full output: a fixed 100,000-byte buffer.
            let mut full = io::Cursor::new(vec![0u8; 100_000].into_boxed_slice());
            let err =
                run_parallel(&a, reader, &mut full, &config(4096, false), threads).unwrap_err();
            assert!(
                matches!(&err, StreamError::Write(e) if e.kind() == ErrorKind::WriteZero),
                "{err:?}"
            );
            let read = read.load(std::sync::atomic::Ordering::Relaxed);
            assert!(read < 200_000, "{threads} threads read {read} bytes");
        }
    }

    #[test]
    fn parallel_blocks_read_before_a_read_error_are_still_written_in_order() {
        let a = Annotator::new(&Options::default()).unwrap();
        let mut good = Vec::new();
        for i in 0..20_000 {
            good.extend_from_slice(format!("{i} callStatus={}\n", i % 150).as_bytes());
        }
        for threads in 1..=4 {
            let reader = io::Cursor::new(good.clone()).chain(FailingReader::new(b""));
            let mut out = Vec::new();
            let err = run_parallel(&a, reader, &mut out, &config(1000, false), threads);
            assert!(
                matches!(err, Err(StreamError::Read(_))),
                "{threads} threads"
            );
            assert_eq!(out, a.rewrite_all(&good), "{threads} threads");
        }
    }

    #[test]
    fn a_panicking_worker_reaches_the_caller_instead_of_a_hang() {
        let a = Annotator::new(&Options::default()).unwrap();
        let input = b"callStatus=129\n".repeat(10_000);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let seen = std::sync::atomic::AtomicUsize::new(0);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                in_order(
                    Splitter::new(&input[..], &a, 64),
                    &mut Vec::new(),
                    3,
                    |block, out: &mut Vec<u8>| {
                        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 5 {
                            panic!("block 5");
                        }
                        out.extend_from_slice(block);
                    },
                    |w: &mut Vec<u8>, out| {
                        w.extend_from_slice(out);
                        Ok(())
                    },
                    |_, ()| {},
                )
            }));
            let _ = tx.send(result.is_err());
        });
        let panicked = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the run ends instead of waiting for the panicked worker's turn");
        assert!(panicked);
    }

    #[test]
    fn errors_say_which_side_failed() {
        let a = Annotator::new(&Options::default()).unwrap();
        let reader = FailingReader::new(b"callStatus=1\npartial");
        let err = run(&a, reader, &mut Vec::new(), &Config::default()).unwrap_err();
        assert!(matches!(err, StreamError::Read(_)));
        let reader = std::io::Cursor::new(b"x".to_vec()).chain(FailingReader::new(b""));
        let err = run_parallel(&a, reader, &mut Vec::new(), &Config::default(), 2).unwrap_err();
        assert!(matches!(err, StreamError::Read(_)));
        let mut full = io::Cursor::new([0u8; 4]);
        let err = run(&a, &b"callStatus=1\n"[..], &mut full, &Config::default()).unwrap_err();
        assert!(matches!(err, StreamError::Write(_)));
    }
}
