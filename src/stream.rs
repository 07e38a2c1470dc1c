//! Streaming: reading input in big blocks, cutting them where no field can be split, rewriting each block
//! with an [`Annotator`], writing it out and flushing it at once.
//!
//! This module owns the buffer and the flush policy. Memory is one block buffer and one output buffer
//! (a few hundred KiB) whatever the size of the input; a line longer than the buffer is cut at a byte
//! that cannot be part of a field, so even a line of hundreds of MiB streams through. Only a line with
//! no such byte for longer than the buffer makes the buffer grow.
//!
//! Output is written after every read, so a live stream (`tail -f log | mfa-annotate`) shows each line as
//! soon as it arrives, while a big file still goes through in big blocks.

use crate::annotate::{Annotator, Counts};
use crate::matcher::may_be_in_field;
use std::io::{self, ErrorKind, Read, Write};

/// The default block size: large enough that system calls are a small cost, small enough to stay in cache.
pub const DEFAULT_BLOCK_SIZE: usize = 256 * 1024;

/// How a stream is read and written.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bytes asked for in one read (the buffer grows past it only for very long lines without a cut point).
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

/// Rewrites everything `input` yields into `output`, block by block, and returns the counts.
///
/// The result is the same whatever sizes the reads return: a field split across two reads is found,
/// because only whole lines (or a long line up to a safe cut) are rewritten at a time.
pub fn run<R: Read, W: Write + ?Sized>(
    annotator: &Annotator,
    mut input: R,
    output: &mut W,
    config: &Config,
) -> Result<Counts, StreamError> {
    let lookahead = annotator.lookahead();
    let mut buf = vec![0u8; config.block_size.max(4 * lookahead + 4096)];
    let mut out = Vec::with_capacity(buf.len() + buf.len() / 4);
    let mut counts = Counts::default();
    // Invariants: `buf[start..filled]` is input not yet rewritten; `buf[start - 1]` (when `start > 0`) is
    // the byte before it, kept as context for the word-boundary check; `buf[start..searched]` holds no
    // newline.
    let (mut start, mut filled, mut searched) = (0usize, 0usize, 0usize);
    loop {
        if filled == buf.len() {
            if start > 1 {
                buf.copy_within(start - 1..filled, 0);
                filled -= start - 1;
                searched -= start - 1;
                start = 1;
            } else if let Some(cut) = safe_cut(&buf[..filled], start, filled - lookahead) {
                // One line fills the whole buffer: rewrite it up to a byte no field can contain.
                let (c, end) = annotator.rewrite(&buf[..filled], start, cut, &mut out);
                counts += c;
                start = end;
                searched = searched.max(start);
                emit(output, &mut out, config)?;
                continue;
            } else {
                let len = buf.len();
                buf.resize(len * 2, 0);
            }
        }
        let n = match input.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamError::Read(e)),
        };
        if n == 0 {
            let (c, _) = annotator.rewrite(&buf[..filled], start, filled, &mut out);
            counts += c;
            emit(output, &mut out, config)?;
            return Ok(counts);
        }
        filled += n;
        if let Some(i) = memchr::memrchr(b'\n', &buf[searched..filled]) {
            let cut = searched + i + 1;
            let (c, end) = annotator.rewrite(&buf[..cut], start, cut, &mut out);
            counts += c;
            start = end;
            emit(output, &mut out, config)?;
        }
        searched = filled;
    }
}

/// The end of the last byte in `buf[start..limit]` that cannot be part of a field, if there is one.
fn safe_cut(buf: &[u8], start: usize, limit: usize) -> Option<usize> {
    if limit <= start {
        return None;
    }
    buf[start..limit]
        .iter()
        .rposition(|&b| !may_be_in_field(b))
        .map(|i| start + i + 1)
}

/// Writes the rewritten bytes and flushes them, then empties `out`.
fn emit<W: Write + ?Sized>(
    output: &mut W,
    out: &mut Vec<u8>,
    config: &Config,
) -> Result<(), StreamError> {
    if out.is_empty() {
        return Ok(());
    }
    let result = if config.line_buffered {
        write_lines(output, out)
    } else {
        output.write_all(out).and_then(|()| output.flush())
    };
    out.clear();
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

    fn run_with(input: &[u8], sizes: Vec<usize>, block: usize) -> Vec<u8> {
        let a = Annotator::new(&Options::default()).unwrap();
        let mut out = Vec::new();
        let reader = ChunkedReader::new(input, sizes);
        let config = Config {
            block_size: block,
            line_buffered: false,
        };
        run(&a, reader, &mut out, &config).unwrap();
        out
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
    }

    #[test]
    fn a_long_line_with_no_cut_point_grows_the_buffer() {
        let mut input = vec![b'a'; 50_000];
        input.extend_from_slice(b" callStatus=1");
        let expected = Annotator::new(&Options::default())
            .unwrap()
            .rewrite_all(&input);
        assert_eq!(run_with(&input, vec![4096], 4096), expected);
    }

    #[test]
    fn strip_across_a_cut_inside_an_annotation() {
        let a = Annotator::new(&Options {
            mode: Mode::Strip,
            ..Options::default()
        })
        .unwrap();
        let mut input = Vec::new();
        for _ in 0..5000 {
            input.extend_from_slice(b"callStatus=129 (Mobile App Denied)");
        }
        let expected = a.rewrite_all(&input);
        for block in [4096, 5000, 6001] {
            let mut out = Vec::new();
            let reader = ChunkedReader::new(&input, vec![block / 3 + 1]);
            let config = Config {
                block_size: block,
                line_buffered: true,
            };
            run(&a, reader, &mut out, &config).unwrap();
            assert_eq!(out, expected, "block {block}");
        }
    }

    #[test]
    fn errors_say_which_side_failed() {
        let a = Annotator::new(&Options::default()).unwrap();
        let reader = FailingReader::new(b"callStatus=1\npartial");
        let err = run(&a, reader, &mut Vec::new(), &Config::default()).unwrap_err();
        assert!(matches!(err, StreamError::Read(_)));
        let mut full = io::Cursor::new([0u8; 4]);
        let err = run(&a, &b"callStatus=1\n"[..], &mut full, &Config::default()).unwrap_err();
        assert!(matches!(err, StreamError::Write(_)));
    }
}
