//! Fault injection for the reliability tests: in debug builds, the environment variable
//! `MFA_ANNOTATE_FAULT` makes the reading, the writing, the temporary file or the final rename of one
//! named file fail, or pauses its reading, so that tests can drive the error paths of a real process
//! (`tests/reliability.rs`). Release builds ignore the variable: [`injected`] is constant `None` there.
//!
//! The value is a comma-separated list of `POINT:NAME[:N]`, where NAME is a file name (its last path
//! component) and POINT one of:
//! - `read:NAME:N`: reading fails after N bytes;
//! - `write:NAME:N`: writing the temporary file fails after N bytes;
//! - `temp:NAME`: creating the temporary file fails;
//! - `rename:NAME`: the final rename fails;
//! - `pause:NAME:MS`: the first read is followed by a pause of MS milliseconds;
//! - `wpause:NAME:MS`: the first write to the temporary file is followed by a pause of MS milliseconds
//!   (the temporary file exists then: the first read comes before it, while the file is sniffed).

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::path::Path;

/// The name of the environment variable.
pub const VAR: &str = "MFA_ANNOTATE_FAULT";

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Reading the input.
    Read,
    /// Writing the temporary file.
    Write,
    /// Creating the temporary file.
    Temp,
    /// Renaming the temporary file over the destination.
    Rename,
    /// A pause after the first read.
    Pause,
    /// A pause after the first write to the temporary file.
    WritePause,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::Read => "read",
            Point::Write => "write",
            Point::Temp => "temp",
            Point::Rename => "rename",
            Point::Pause => "pause",
            Point::WritePause => "wpause",
        }
    }
}

/// The fault asked for at `point` for the file `path`, with its number (0 when none is given); `None`
/// when none is asked for, and always in release builds.
pub fn injected(point: Point, path: &Path) -> Option<u64> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let spec = std::env::var(VAR).ok()?;
    let name = path.file_name()?;
    spec.split(',').find_map(|item| {
        let mut parts = item.splitn(3, ':');
        let (p, n) = (parts.next()?, parts.next()?);
        (p == point.name() && OsStr::new(n) == name)
            .then(|| parts.next().and_then(|v| v.parse().ok()).unwrap_or(0))
    })
}

/// The error every injected fault returns.
pub fn error() -> io::Error {
    io::Error::other("injected fault")
}

/// How many of `len` bytes may go through with `left` bytes to go before the fault (`None`: no fault);
/// the fault itself once none are left.
fn allowance(left: Option<u64>, len: usize) -> io::Result<usize> {
    match left {
        Some(0) => Err(error()),
        Some(left) => Ok(len.min(usize::try_from(left).unwrap_or(usize::MAX))),
        None => Ok(len),
    }
}

/// Counts `n` bytes gone through against the allowance.
fn spend(left: &mut Option<u64>, n: usize) {
    if let Some(left) = left {
        *left -= n as u64;
    }
}

/// A reader that fails after `left` bytes (when set) and pauses after its first read (when set).
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    left: Option<u64>,
    pause_ms: Option<u64>,
}

impl<R: Read> Reader<R> {
    /// Wraps `inner` with the faults asked for `path` (none in release builds).
    pub fn new(inner: R, path: &Path) -> Self {
        Reader {
            inner,
            left: injected(Point::Read, path),
            pause_ms: injected(Point::Pause, path),
        }
    }
}

impl<R: Read> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = allowance(self.left, buf.len())?;
        let n = self.inner.read(&mut buf[..want])?;
        spend(&mut self.left, n);
        if let Some(ms) = self.pause_ms.take() {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        Ok(n)
    }
}

/// A writer that fails once `left` bytes are written (when set) and pauses after its first write (when
/// set).
#[derive(Debug)]
pub struct Writer<W> {
    inner: W,
    left: Option<u64>,
    pause_ms: Option<u64>,
}

impl<W: Write> Writer<W> {
    /// Wraps `inner` with the write fault asked for `path` (none in release builds).
    pub fn new(inner: W, path: &Path) -> Self {
        Writer {
            inner,
            left: injected(Point::Write, path),
            pause_ms: injected(Point::WritePause, path),
        }
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let want = allowance(self.left, buf.len())?;
        let n = self.inner.write(&buf[..want])?;
        spend(&mut self.left, n);
        if let Some(ms) = self.pause_ms.take() {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_to_the_named_file_only() {
        // One test sets the variable, so no other test of this module races with it.
        std::env::set_var(
            VAR,
            "read:fault-a.log:5,rename:fault-b.log,pause:fault-a.log:1,wpause:fault-b.log:2",
        );
        let a = Path::new("/x/fault-a.log");
        assert_eq!(injected(Point::Read, a), Some(5));
        assert_eq!(injected(Point::Rename, a), None);
        assert_eq!(injected(Point::Rename, Path::new("fault-b.log")), Some(0));
        assert_eq!(
            injected(Point::WritePause, Path::new("fault-b.log")),
            Some(2)
        );
        assert_eq!(injected(Point::Pause, Path::new("fault-b.log")), None);
        let mut r = Reader::new(&b"0123456789"[..], a);
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(
            (out.as_slice(), err.to_string().as_str()),
            (&b"01234"[..], "injected fault")
        );
        let mut w = Writer::new(Vec::new(), Path::new("c.log"));
        w.write_all(b"all of it").unwrap();
        assert_eq!(w.inner, b"all of it");
        std::env::remove_var(VAR);
    }
}
