//! Readers and writers that misbehave on purpose, for tests of the streaming promises (read-size
//! invariance, error handling). Not part of the tool; public so that integration tests and fuzz targets
//! can use them too.

use std::io::{self, Read};

/// A reader that hands out its data in reads of the given sizes, cycling through them (a size of 0 is
/// taken as 1, since a 0-byte read means end of input).
#[derive(Debug, Clone)]
pub struct ChunkedReader<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
}

impl<'a> ChunkedReader<'a> {
    /// Reads `data` in pieces of `sizes[0]`, `sizes[1]`, ... bytes, starting over when they run out.
    pub fn new(data: &'a [u8], sizes: Vec<usize>) -> Self {
        assert!(!sizes.is_empty(), "at least one read size");
        ChunkedReader {
            data,
            sizes,
            next: 0,
        }
    }
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = self.sizes[self.next % self.sizes.len()].max(1);
        self.next += 1;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A reader that yields `data` and then fails with an I/O error instead of reporting the end.
#[derive(Debug, Clone)]
pub struct FailingReader<'a> {
    data: &'a [u8],
}

impl<'a> FailingReader<'a> {
    /// Yields `data`, then fails.
    pub fn new(data: &'a [u8]) -> Self {
        FailingReader { data }
    }
}

impl Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::Error::other("injected read error"));
        }
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
