//! Opening an input: recognising gzip (by its magic bytes), UTF-16 (by its byte-order mark) and binary
//! files (a NUL byte in the first block), and giving back a reader of the text to annotate.
//!
//! This module owns the classification and the decoding side; the matching encoding for writing back is
//! chosen from the same [`Format`] in [`crate::batch`].

use crate::encoding::{Utf16, Utf16Decoder};
use flate2::read::MultiGzDecoder;
use std::io::{self, Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How many bytes of a file are looked at to decide that it is binary.
pub const SNIFF_LEN: usize = 8192;

/// What an input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Format {
    /// gzip-compressed (one or more members).
    pub gzip: bool,
    /// UTF-16 with a byte-order mark (inside the gzip stream, if both).
    pub utf16: Option<Utf16>,
}

/// An opened input.
pub struct Opened {
    /// The text to annotate: decompressed, and UTF-16 turned into UTF-8 (see [`crate::encoding`]).
    pub reader: Box<dyn Read + Send>,
    /// What the input was.
    pub format: Format,
    /// A NUL byte in the first block of a plain (not gzip, not UTF-16) input.
    pub binary: bool,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("format", &self.format)
            .field("binary", &self.binary)
            .finish_non_exhaustive()
    }
}

/// Reads from `raw` until `want` bytes are there or the input ends, and returns them with a reader that
/// yields everything (those bytes first). A live stream is not waited on for more than it has: the loop
/// stops as soon as `want` bytes arrived.
fn peek<R: Read + Send + 'static>(
    mut raw: R,
    want: usize,
) -> io::Result<(Vec<u8>, impl Read + Send + 'static)> {
    let mut head = vec![0u8; want];
    let mut n = 0;
    while n < want {
        match raw.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(n);
    Ok((head.clone(), Cursor::new(head).chain(raw)))
}

/// A reader that counts the bytes it yields (for the summary line and the progress bar).
#[derive(Debug)]
pub(crate) struct Counting<R> {
    pub(crate) inner: R,
    pub(crate) count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `raw` for annotation. `sniff` is how many bytes to look at for the binary check: [`SNIFF_LEN`]
/// for files, 2 for stdin (enough for the gzip magic and a byte-order mark, without waiting on a live
/// stream).
pub fn open<R: Read + Send + 'static>(raw: R, sniff: usize) -> io::Result<Opened> {
    let (head, reader) = peek(raw, sniff.max(2))?;
    if head.starts_with(&[0x1F, 0x8B]) {
        let (inner, reader) = peek(MultiGzDecoder::new(reader), 2)?;
        let utf16 = Utf16::from_bom(&inner);
        let reader: Box<dyn Read + Send> = match utf16 {
            Some(order) => Box::new(Utf16Decoder::new(skip(reader, 2)?, order)),
            None => Box::new(reader),
        };
        return Ok(Opened {
            reader,
            format: Format { gzip: true, utf16 },
            binary: false,
        });
    }
    if let Some(order) = Utf16::from_bom(&head) {
        return Ok(Opened {
            reader: Box::new(Utf16Decoder::new(skip(reader, 2)?, order)),
            format: Format {
                gzip: false,
                utf16: Some(order),
            },
            binary: false,
        });
    }
    Ok(Opened {
        binary: memchr::memchr(0, &head).is_some(),
        reader: Box::new(reader),
        format: Format::default(),
    })
}

/// Consumes `n` bytes (a byte-order mark already seen) and returns the reader.
fn skip<R: Read>(mut reader: R, n: usize) -> io::Result<R> {
    let mut sink = vec![0u8; n];
    reader.read_exact(&mut sink)?;
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(o: Opened) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut r = o.reader;
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn plain_text_passes_through() {
        let o = open(Cursor::new(b"callStatus=1\n".to_vec()), SNIFF_LEN).unwrap();
        assert_eq!((o.format, o.binary), (Format::default(), false));
        assert_eq!(read_all(o).unwrap(), b"callStatus=1\n");
        let o = open(Cursor::new(Vec::new()), SNIFF_LEN).unwrap();
        assert_eq!(read_all(o).unwrap(), b"");
    }

    #[test]
    fn gzip_by_magic_including_several_members() {
        let mut data = gz(b"first callStatus=1\n");
        data.extend(gz(b"second callStatus=2\n"));
        let o = open(Cursor::new(data), 2).unwrap();
        assert!(o.format.gzip);
        assert_eq!(
            read_all(o).unwrap(),
            b"first callStatus=1\nsecond callStatus=2\n"
        );
    }

    #[test]
    fn corrupt_or_truncated_gzip_is_a_read_error() {
        let data = gz(&b"callStatus=1\n".repeat(1000));
        let truncated = data[..data.len() / 2].to_vec();
        assert!(read_all(open(Cursor::new(truncated), 2).unwrap()).is_err());
        let mut corrupt = data.clone();
        corrupt[20] ^= 0xFF;
        corrupt[30] ^= 0xFF;
        assert!(read_all(open(Cursor::new(corrupt), 2).unwrap()).is_err());
    }

    #[test]
    fn utf16_and_binary() {
        let mut le = vec![0xFF, 0xFE];
        for u in "callStatus=1\r\n".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        let o = open(Cursor::new(le.clone()), SNIFF_LEN).unwrap();
        assert_eq!(o.format.utf16, Some(Utf16::Le));
        assert!(!o.binary, "UTF-16 is full of NUL bytes but is text");
        assert_eq!(read_all(o).unwrap(), b"callStatus=1\r\n");
        let o = open(Cursor::new(gz(&le)), 2).unwrap();
        assert_eq!((o.format.gzip, o.format.utf16), (true, Some(Utf16::Le)));
        let o = open(Cursor::new(b"ELF\x00\x01\x02".to_vec()), SNIFF_LEN).unwrap();
        assert!(o.binary);
        let o = open(Cursor::new(b"\xEF\xBB\xBFcallStatus=1".to_vec()), SNIFF_LEN).unwrap();
        assert_eq!(
            read_all(o).unwrap(),
            b"\xEF\xBB\xBFcallStatus=1",
            "a UTF-8 BOM is kept"
        );
    }
}
