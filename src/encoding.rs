//! UTF-16 files from Windows: decoding them into bytes the annotator can read, and encoding the result
//! back, byte-exact apart from the annotations.
//!
//! This module owns the transcoding. Every field is ASCII, so a UTF-16 file is turned into UTF-8 for the
//! rewrite. To lose nothing, a code unit that is not valid UTF-16 (an unpaired surrogate) is carried as an
//! escape that cannot occur in UTF-8 and contains no ASCII: `0xFF` followed by four bytes `0x80 | nibble`.
//! Such bytes are neither letters nor newlines, so fields are found exactly where they are in the text.
//! [`Utf16Encoder`] turns the bytes back into the original code units plus the annotations, with the
//! byte-order mark; [`Utf8Output`] writes them as plain UTF-8 instead (escapes become U+FFFD), for stdout.

use std::io::{self, Read, Write};

/// The byte order of a UTF-16 file, known from its byte-order mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16 {
    /// `FF FE`.
    Le,
    /// `FE FF`.
    Be,
}

impl Utf16 {
    /// The encoding announced by the first bytes of a file, if they are a UTF-16 byte-order mark.
    pub fn from_bom(head: &[u8]) -> Option<Utf16> {
        match head {
            [0xFF, 0xFE, ..] => Some(Utf16::Le),
            [0xFE, 0xFF, ..] => Some(Utf16::Be),
            _ => None,
        }
    }

    /// The byte-order mark.
    pub fn bom(self) -> [u8; 2] {
        self.unit_bytes(0xFEFF)
    }

    fn unit(self, b: [u8; 2]) -> u16 {
        match self {
            Utf16::Le => u16::from_le_bytes(b),
            Utf16::Be => u16::from_be_bytes(b),
        }
    }

    fn unit_bytes(self, u: u16) -> [u8; 2] {
        match self {
            Utf16::Le => u.to_le_bytes(),
            Utf16::Be => u.to_be_bytes(),
        }
    }
}

/// The first byte of the escape for a code unit that is not valid UTF-16.
const ESCAPE: u8 = 0xFF;

/// Reads UTF-16 (after its byte-order mark) and yields UTF-8, with escapes for unpaired surrogates.
#[derive(Debug)]
pub struct Utf16Decoder<R> {
    inner: R,
    order: Utf16,
    raw: Vec<u8>,
    /// A byte of a code unit whose second byte has not been read yet.
    odd: Option<u8>,
    /// A high surrogate waiting for the unit after it.
    high: Option<u16>,
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
}

impl<R: Read> Utf16Decoder<R> {
    /// Decodes `inner`, which must be positioned after the byte-order mark.
    pub fn new(inner: R, order: Utf16) -> Self {
        Utf16Decoder {
            inner,
            order,
            raw: vec![0; 64 * 1024],
            odd: None,
            high: None,
            out: Vec::with_capacity(96 * 1024),
            out_pos: 0,
            done: false,
        }
    }

    fn push_unit(&mut self, u: u16) {
        if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                push_char(
                    &mut self.out,
                    char::from_u32(c).expect("a surrogate pair is a char"),
                );
                return;
            }
            push_escape(&mut self.out, h);
        }
        match u {
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => push_escape(&mut self.out, u),
            _ => push_char(
                &mut self.out,
                char::from_u32(u32::from(u)).expect("not a surrogate"),
            ),
        }
    }

    /// Decodes the next chunk into `out`; false at the end.
    fn fill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            if self.done {
                return Ok(false);
            }
            let n = match self.inner.read(&mut self.raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.done = true;
                if self.odd.is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "UTF-16 text with an odd number of bytes (truncated?)",
                    ));
                }
                if let Some(h) = self.high.take() {
                    push_escape(&mut self.out, h);
                }
                continue;
            }
            let raw = std::mem::take(&mut self.raw);
            let mut bytes = &raw[..n];
            if let Some(first) = self.odd.take() {
                self.push_unit(self.order.unit([first, bytes[0]]));
                bytes = &bytes[1..];
            }
            let mut pairs = bytes.chunks_exact(2);
            for pair in &mut pairs {
                self.push_unit(self.order.unit([pair[0], pair[1]]));
            }
            self.odd = pairs.remainder().first().copied();
            self.raw = raw;
        }
        Ok(true)
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn push_escape(out: &mut Vec<u8>, unit: u16) {
    out.push(ESCAPE);
    for shift in [12, 8, 4, 0] {
        out.push(0x80 | ((unit >> shift) & 0xF) as u8);
    }
}

impl<R: Read> Read for Utf16Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() && !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// One item parsed from the decoded stream.
enum Item {
    Char(char),
    Escaped(u16),
}

/// Parses UTF-8-with-escapes that may arrive cut anywhere, keeping incomplete sequences for later.
#[derive(Debug, Default)]
struct Parser {
    pending: Vec<u8>,
}

impl Parser {
    /// Calls `f` for every complete item of `pending + bytes`; keeps an incomplete tail.
    fn feed(&mut self, bytes: &[u8], mut f: impl FnMut(Item)) {
        self.pending.extend_from_slice(bytes);
        let data = std::mem::take(&mut self.pending);
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            let len = match b {
                0x00..=0x7F => 1,
                ESCAPE => 5,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1, // a stray continuation byte: cannot come from the decoder
            };
            if i + len > data.len() {
                break;
            }
            let seq = &data[i..i + len];
            if b == ESCAPE {
                let unit = seq[1..]
                    .iter()
                    .fold(0u16, |u, &n| (u << 4) | u16::from(n & 0xF));
                f(Item::Escaped(unit));
            } else {
                match std::str::from_utf8(seq) {
                    Ok(s) => s.chars().for_each(|c| f(Item::Char(c))),
                    Err(_) => f(Item::Char(char::REPLACEMENT_CHARACTER)),
                }
            }
            i += len;
        }
        self.pending.extend_from_slice(&data[i..]);
    }

    fn finish(&mut self, f: impl FnMut(Item)) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            // incomplete at the very end: cannot come from the decoder; keep what can be kept
            String::from_utf8_lossy(&rest)
                .chars()
                .map(Item::Char)
                .for_each(f);
        }
    }
}

/// Writes the decoded-and-annotated bytes back as UTF-16 with the byte-order mark, restoring escaped
/// units exactly. Call [`Utf16Encoder::finish`] at the end.
#[derive(Debug)]
pub struct Utf16Encoder<W: Write> {
    inner: W,
    order: Utf16,
    parser: Parser,
    units: Vec<u8>,
}

impl<W: Write> Utf16Encoder<W> {
    /// Writes the byte-order mark, then encodes everything written to it.
    pub fn new(mut inner: W, order: Utf16) -> io::Result<Self> {
        inner.write_all(&order.bom())?;
        Ok(Utf16Encoder {
            inner,
            order,
            parser: Parser::default(),
            units: Vec::new(),
        })
    }

    fn encode(&mut self, bytes: &[u8], finish: bool) -> io::Result<()> {
        let (order, units) = (self.order, &mut self.units);
        units.clear();
        let mut put = |item: Item| match item {
            Item::Escaped(u) => units.extend_from_slice(&order.unit_bytes(u)),
            Item::Char(c) => {
                let mut buf = [0u16; 2];
                for &u in c.encode_utf16(&mut buf).iter() {
                    units.extend_from_slice(&order.unit_bytes(u));
                }
            }
        };
        self.parser.feed(bytes, &mut put);
        if finish {
            self.parser.finish(&mut put);
        }
        self.inner.write_all(&self.units)
    }

    /// Writes what is still pending and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.encode(&[], true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Utf16Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encode(buf, false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the decoded-and-annotated bytes as plain UTF-8: escapes become U+FFFD. For stdout.
#[derive(Debug)]
pub struct Utf8Output<W: Write> {
    inner: W,
    parser: Parser,
    bytes: Vec<u8>,
}

impl<W: Write> Utf8Output<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Utf8Output {
            inner,
            parser: Parser::default(),
            bytes: Vec::new(),
        }
    }
}

impl<W: Write> Write for Utf8Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bytes = &mut self.bytes;
        bytes.clear();
        self.parser.feed(buf, |item| match item {
            Item::Char(c) => push_char(bytes, c),
            Item::Escaped(_) => push_char(bytes, char::REPLACEMENT_CHARACTER),
        });
        self.inner.write_all(&self.bytes)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, order: Utf16) -> Vec<u8> {
        let mut out = order.bom().to_vec();
        for u in text.encode_utf16() {
            out.extend_from_slice(&order.unit_bytes(u));
        }
        out
    }

    fn decode(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let order = Utf16::from_bom(bytes).unwrap();
        let mut out = Vec::new();
        Utf16Decoder::new(&bytes[2..], order).read_to_end(&mut out)?;
        Ok(out)
    }

    fn encode(decoded: &[u8], order: Utf16, pieces: usize) -> Vec<u8> {
        let mut enc = Utf16Encoder::new(Vec::new(), order).unwrap();
        for chunk in decoded.chunks(pieces.max(1)) {
            enc.write_all(chunk).unwrap();
        }
        enc.finish().unwrap()
    }

    #[test]
    fn round_trip_both_orders_any_write_size() {
        for order in [Utf16::Le, Utf16::Be] {
            let text = "Ünïcode callStatus=129 😀 façade\r\n";
            let bytes = utf16(text, order);
            let decoded = decode(&bytes).unwrap();
            assert_eq!(decoded, text.as_bytes());
            for pieces in [1, 2, 3, 7, 1000] {
                assert_eq!(encode(&decoded, order, pieces), bytes);
            }
        }
    }

    #[test]
    fn unpaired_surrogates_survive_the_round_trip() {
        let mut bytes = Utf16::Le.bom().to_vec();
        for u in [
            0x61u16, 0xD800, 0x62, 0xDC00, 0xD83D, 0xD83D, 0xDE00, 0xD800,
        ] {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let decoded = decode(&bytes).unwrap();
        assert!(decoded.iter().all(|&b| b != b'\n'));
        for pieces in [1, 4, 5, 100] {
            assert_eq!(encode(&decoded, Utf16::Le, pieces), bytes);
        }
        let mut plain = Utf8Output::new(Vec::new());
        plain.write_all(&decoded).unwrap();
        assert_eq!(
            String::from_utf8(plain.inner).unwrap(),
            "a\u{FFFD}b\u{FFFD}\u{FFFD}😀\u{FFFD}"
        );
    }

    #[test]
    fn odd_length_is_an_error() {
        let mut bytes = utf16("abc", Utf16::Le);
        bytes.push(0x41);
        let err = decode(&bytes).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
