//! The input/output floor of `mfa-annotate -o`: the same walk, temporary files, 128 KiB reads and writes
//! and renames, on the same number of threads, but no annotation. `benches/batch.sh` times it beside
//! `cp -r` and `mfa-annotate -o`, so the figures show how much of a folder run is the copying through
//! user space that any scanning tool needs (`cp` copies inside the kernel and never sees the bytes).
//!
//! `cargo run --release --example copy_floor -- SRC DST THREADS`

use rayon::prelude::*;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

fn copy(src: &Path, dst: &Path, buf: &mut [u8]) -> io::Result<()> {
    let folder = dst.parent().expect("a file under DST");
    fs::create_dir_all(folder)?;
    let mut input = File::open(src)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".copy-floor-")
        .tempfile_in(folder)?;
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        temp.as_file_mut().write_all(&buf[..n])?;
    }
    temp.persist(dst).map_err(|e| e.error)?;
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst, threads] = args.as_slice() else {
        eprintln!("usage: copy_floor SRC DST THREADS");
        std::process::exit(2);
    };
    let (src, dst) = (PathBuf::from(src), PathBuf::from(dst));
    let threads: usize = threads.parse().expect("THREADS is a number");
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&src)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        files.par_iter().try_for_each_init(
            || vec![0u8; 128 * 1024],
            |buf, f| {
                let relative = f.strip_prefix(&src).expect("walked under SRC");
                copy(f, &dst.join(relative), buf)
            },
        )
    })
}
