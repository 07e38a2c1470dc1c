//! Batch runs: turning the paths given into a list of files (walking folders in a stable order), sending
//! each file's annotated text where it belongs (stdout, the file itself, or a mirrored folder), running
//! files in parallel, and reporting errors, progress and a summary.
//!
//! Safety rules this module owns:
//! - a file rewritten in place or written under `--output-dir` is first written in full to a temporary
//!   file in the destination folder (named `.mfa-annotate-*.tmp`), flushed (and, in place, synced to
//!   disk), given the original's permission bits and renamed over the destination (in place, the folder
//!   is synced after the rename): readers see the old file or the new one, never a mix; on any error the
//!   temporary file is removed and the original is untouched;
//! - a file with nothing to change is not rewritten in place (its modification time stays);
//! - an interrupt ([`INTERRUPTED`]) stops every file between two reads; nothing half-written remains;
//! - temporary files are created exclusively (never through a planted link), with permissions no wider
//!   than the original's, and locked while written; a later in-place run removes the ones a killed run
//!   left (unlocked and older than [`STALE_AFTER`]) and reports the others;
//! - a file that changes while it is read in place is left as it is (its new bytes are never lost);
//! - in place never writes through a symbolic link: links are skipped, or with `-L` their target is
//!   rewritten only if it lies inside a folder given (or the link was named itself); `--output-dir`
//!   never writes outside its folder; only regular files are rewritten or copied.

use crate::annotate::{Annotator, Counts};
use crate::encoding::{Utf16Encoder, Utf8Output};
use crate::fault;
use crate::input::{self, Format, SNIFF_LEN};
use crate::lines::{self, LineOptions, LineOutput};
use crate::report::Stats;
use crate::stream::{self, StreamError};
use flate2::write::GzEncoder;
use flate2::Compression;
use globset::GlobSet;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::fs::{self, File};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set (by a signal handler) to stop a batch run: every file in progress is abandoned between two reads
/// and its temporary file removed.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Where annotated text goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output, file after file in order.
    Stdout,
    /// Each file is replaced atomically; with a suffix, the original is kept as `NAME+SUFFIX` first.
    InPlace {
        /// `-i.bak` keeps `x.log.bak`.
        backup_suffix: Option<String>,
    },
    /// Annotated copies under this folder, mirroring the inputs' relative paths.
    Dir(PathBuf),
}

/// How a batch run behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where output goes.
    pub destination: Destination,
    /// Follow symbolic links while walking folders (loops are detected and reported).
    pub follow_links: bool,
    /// Keep only walked files whose name matches (files named explicitly are always taken).
    pub globs: Option<GlobSet>,
    /// Threads for files in parallel, and for the blocks of one large file or stdin.
    pub threads: usize,
    /// Block size for reading (see [`crate::stream`]); `None`: [`stream::DEFAULT_BLOCK_SIZE`] for a file
    /// read by one thread, [`stream::PARALLEL_BLOCK_SIZE`] for one split across threads.
    pub block_size: Option<usize>,
    /// Flush every line (stdout only).
    pub line_buffered: bool,
    /// gzip level (0-9) for `.gz` files written back.
    pub gzip_level: u32,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// One file to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The file; `-` is standard input.
    pub path: PathBuf,
    /// Its path relative to the folder given (its name, for a file given itself): the path under
    /// `--output-dir`.
    pub relative: PathBuf,
    /// Found by walking a folder (binary files are then skipped), rather than named explicitly.
    pub walked: bool,
    /// Size in bytes when known (for the progress bar).
    pub size: u64,
}

impl Target {
    fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }

    /// The name used in messages.
    fn name(&self) -> String {
        if self.is_stdin() {
            "<stdin>".into()
        } else {
            self.path.display().to_string()
        }
    }
}

/// What a run did, for the summary line and the exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files whose annotations changed (written in place, or written with changes under the folder).
    pub annotated: u64,
    /// Files with nothing to change.
    pub unchanged: u64,
    /// Binary files skipped.
    pub skipped: u64,
    /// Files that failed (each reported on one line).
    pub errors: u64,
    /// Bytes of input read (decompressed).
    pub bytes: u64,
    /// Fields recognised.
    pub fields: u64,
    /// Annotations inserted (or removed, with `--strip`).
    pub changed: u64,
    /// Stopped because standard output was closed.
    pub broken_pipe: bool,
    /// Stopped by an interrupt.
    pub interrupted: bool,
}

impl Summary {
    /// The one-line summary of an in-place or output-dir run.
    pub fn line(&self, strip: bool) -> String {
        format!(
            "{} files annotated, {} unchanged, {} skipped, {} errors; {} bytes read, {} fields {}",
            self.annotated,
            self.unchanged,
            self.skipped,
            self.errors,
            self.bytes,
            self.changed,
            if strip { "stripped" } else { "annotated" }
        )
    }
}

/// Messages to stderr (through the progress bar when there is one, so they do not garble it).
#[derive(Debug)]
pub struct Reporter {
    bar: Option<ProgressBar>,
    done: AtomicU64,
    files: u64,
}

impl Reporter {
    fn new(show: bool, files: u64, bytes: u64) -> Self {
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} files  {wide_bar}  {bytes}/{total_bytes}  {bytes_per_sec}  ETA {eta}",
                )
                .expect("valid template"),
            );
            bar.set_message(format!("0/{files}"));
            bar
        });
        Reporter {
            bar,
            done: AtomicU64::new(0),
            files,
        }
    }

    /// Prints one line on stderr.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn file_done(&self, size: u64) {
        if let Some(bar) = &self.bar {
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            bar.inc(size);
            bar.set_message(format!("{done}/{}", self.files));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Walks the paths given into the list of files to process, in order: arguments in the order given,
/// folder contents sorted by name (depth first). Problems (a missing path, an unreadable folder) are
/// reported and counted in the returned error count; a symbolic-link loop is reported as a warning.
pub fn collect_targets(
    paths: &[PathBuf],
    settings: &Settings,
    report: &dyn Fn(&str),
) -> (Vec<Target>, u64) {
    let mut targets = Vec::new();
    let mut errors = 0;
    let in_place = matches!(settings.destination, Destination::InPlace { .. });
    // With -L in place: the folders given, resolved, inside which a link's target may be rewritten,
    // and the files already taken (a file reached twice through links is rewritten once).
    let roots: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| fs::canonicalize(p).ok())
        .collect();
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        if path.as_os_str() == "-" {
            targets.push(Target {
                path: path.clone(),
                relative: PathBuf::from("-"),
                walked: false,
                size: 0,
            });
            continue;
        }
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                report(&format!("mfa-annotate: {}: {}", path.display(), e));
                errors += 1;
                continue;
            }
        };
        if !meta.is_dir() {
            let mut file = path.clone();
            if in_place && fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
                if !settings.follow_links {
                    report(&format!(
                        "mfa-annotate: {}: symbolic link, not rewritten (-L rewrites its target)",
                        path.display()
                    ));
                    continue;
                }
                match fs::canonicalize(path) {
                    Ok(real) => file = real,
                    Err(e) => {
                        report(&format!("mfa-annotate: {}: {e}", path.display()));
                        errors += 1;
                        continue;
                    }
                }
            }
            targets.push(Target {
                path: file,
                relative: path
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| path.clone()),
                walked: false,
                size: meta.len(),
            });
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(settings.follow_links)
            .sort_by_file_name();
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if e.loop_ancestor().is_some() => {
                    let at = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    report(&format!(
                        "mfa-annotate: {at}: symbolic link loop, not followed"
                    ));
                    continue;
                }
                Err(e) => {
                    let at = e.path().unwrap_or(path).display().to_string();
                    let reason = e
                        .io_error()
                        .map_or_else(|| e.to_string(), |io| io.to_string());
                    report(&format!("mfa-annotate: {at}: {reason}"));
                    errors += 1;
                    continue;
                }
            };
            if entry.path_is_symlink() && !settings.follow_links {
                report(&format!(
                    "mfa-annotate: {}: symbolic link, skipped (-L follows links)",
                    entry.path().display()
                ));
                continue;
            }
            if !entry.file_type().is_file() {
                continue; // folders, devices, sockets
            }
            if is_temporary(entry.file_name()) {
                // Another run's file in progress, or one left by a run that was killed: never annotate it.
                report(&temporary_file_found(entry.path(), in_place));
                continue;
            }
            if let Some(globs) = &settings.globs {
                if !globs.is_match(entry.file_name()) {
                    continue;
                }
            }
            let relative = entry
                .path()
                .strip_prefix(path)
                .unwrap_or(entry.path())
                .to_path_buf();
            let mut file = entry.path().to_path_buf();
            if in_place && settings.follow_links {
                // Rewrite the real file, and only inside the folders given.
                let Ok(real) = fs::canonicalize(&file) else {
                    continue;
                };
                if !roots.iter().any(|r| real.starts_with(r)) {
                    report(&format!(
                        "mfa-annotate: {}: links to {}, outside the folders given: not rewritten",
                        file.display(),
                        real.display()
                    ));
                    continue;
                }
                if !seen.insert(real.clone()) {
                    continue;
                }
                file = real;
            }
            targets.push(Target {
                size: entry.metadata().map(|m| m.len()).unwrap_or(0),
                path: file,
                relative,
                walked: true,
            });
        }
    }
    (targets, errors)
}

/// The name prefix and suffix of the temporary files written before a rename.
const TEMP_PREFIX: &str = ".mfa-annotate-";
const TEMP_SUFFIX: &str = ".tmp";

/// How old an unlocked temporary file must be before an in-place run removes it as left by a killed run.
/// (A live run locks its file right after creating it; the age rules out that instant.)
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// What to say (and do) about one of our temporary files found while walking: an in-place run removes
/// it when no run holds its lock and it is older than [`STALE_AFTER`]; otherwise it is skipped.
fn temporary_file_found(path: &Path, in_place: bool) -> String {
    let at = path.display();
    let Ok(file) = File::open(path) else {
        return format!(
            "mfa-annotate: {at}: temporary file of mfa-annotate, gone (another run finished)"
        );
    };
    if file.try_lock().is_err() {
        return format!(
            "mfa-annotate: {at}: temporary file of another mfa-annotate run in progress, skipped"
        );
    }
    let old = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age >= STALE_AFTER);
    if in_place && old {
        return match fs::remove_file(path) {
            Ok(()) => format!("mfa-annotate: {at}: temporary file left by a killed run, removed"),
            Err(e) => {
                format!("mfa-annotate: {at}: temporary file left by a killed run, not removed: {e}")
            }
        };
    }
    format!("mfa-annotate: {at}: temporary file of mfa-annotate (left by a killed run, or just created), skipped")
}

/// True for the name of one of our temporary files (`.mfa-annotate-XXXXXX.tmp`).
fn is_temporary(name: &std::ffi::OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name.starts_with(TEMP_PREFIX.as_bytes()) && name.ends_with(TEMP_SUFFIX.as_bytes())
}

/// Checks, before anything is written, that `--output-dir` neither lies inside a folder given as input
/// nor contains one, and that no two inputs would be written to the same place.
pub fn check_output_dir(dir: &Path, paths: &[PathBuf], targets: &[Target]) -> Result<(), String> {
    let out = absolute_lexically(dir)?;
    for path in paths {
        if path.as_os_str() == "-" {
            return Err("--output-dir needs files or folders, not stdin".into());
        }
        let Ok(input) = fs::canonicalize(path) else {
            continue; // reported while walking
        };
        let input_root = if input.is_dir() {
            input.clone()
        } else {
            input
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(input.clone())
        };
        let overlaps = if input.is_dir() {
            out.starts_with(&input_root) || input_root.starts_with(&out)
        } else {
            out.join(path.file_name().unwrap_or_default()) == input
        };
        if overlaps {
            return Err(format!(
                "--output-dir {} overlaps the input {}: refusing to write",
                dir.display(),
                path.display()
            ));
        }
    }
    let mut seen = std::collections::HashMap::new();
    for t in targets {
        if let Some(other) = seen.insert(t.relative.clone(), &t.path) {
            return Err(format!(
                "{} and {} would both be written to {}",
                other.display(),
                t.path.display(),
                dir.join(&t.relative).display()
            ));
        }
    }
    Ok(())
}

/// `path` made absolute and resolved through its deepest existing ancestor (the rest may not exist yet).
fn absolute_lexically(path: &Path) -> Result<PathBuf, String> {
    let abs = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(existing.file_name().unwrap_or_default().to_owned());
        existing = match existing.parent() {
            Some(p) => p,
            None => break,
        };
    }
    let mut resolved = fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    for part in rest.iter().rev() {
        resolved.push(part);
    }
    Ok(resolved)
}

/// Runs a batch: every target annotated to its destination. Errors are reported on stderr one line per
/// file and counted; the other files go on.
pub fn run(annotator: &Annotator, targets: &[Target], settings: &Settings) -> Summary {
    let total: u64 = targets.iter().map(|t| t.size).sum();
    let reporter = Reporter::new(settings.progress, targets.len() as u64, total);
    let summary = match &settings.destination {
        Destination::Stdout => to_stdout(annotator, targets, settings, &reporter),
        dest => {
            let results: Vec<Summary> = targets
                .par_iter()
                .map(|t| {
                    let mut s = Summary::default();
                    if INTERRUPTED.load(Ordering::Relaxed) {
                        s.interrupted = true;
                        return s;
                    }
                    to_file(
                        annotator,
                        t,
                        dest,
                        settings,
                        targets.len() == 1,
                        &reporter,
                        &mut s,
                    );
                    reporter.file_done(t.size);
                    s
                })
                .collect();
            results.into_iter().fold(Summary::default(), merge)
        }
    };
    reporter.finish();
    summary
}

fn merge(mut a: Summary, b: Summary) -> Summary {
    a.annotated += b.annotated;
    a.unchanged += b.unchanged;
    a.skipped += b.skipped;
    a.errors += b.errors;
    a.bytes += b.bytes;
    a.fields += b.fields;
    a.changed += b.changed;
    a.broken_pipe |= b.broken_pipe;
    a.interrupted |= b.interrupted || INTERRUPTED.load(Ordering::Relaxed);
    a
}

/// A reader that fails once [`INTERRUPTED`] is set, so that a file in progress is abandoned cleanly.
struct Interruptible<R>(R);

impl<R: Read> Read for Interruptible<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if INTERRUPTED.load(Ordering::Relaxed) {
            return Err(io::Error::other("interrupted"));
        }
        self.0.read(buf)
    }
}

/// Opens a target and classifies it; `None` (after a warning) for a binary file found by walking.
fn open_target(target: &Target, reporter: &Reporter) -> Result<Option<input::Opened>, String> {
    let opened = if target.is_stdin() {
        input::open(io::stdin(), 2)
    } else {
        let file = File::open(&target.path).map_err(|e| e.to_string())?;
        input::open(
            Interruptible(fault::Reader::new(file, &target.path)),
            SNIFF_LEN,
        )
    }
    .map_err(|e| e.to_string())?;
    if opened.binary && target.walked {
        reporter.line(&format!(
            "mfa-annotate: {}: binary file, skipped",
            target.name()
        ));
        return Ok(None);
    }
    Ok(Some(opened))
}

/// Annotates one input through `sink`, in parallel blocks when `parallel`.
fn annotate_stream(
    annotator: &Annotator,
    reader: Box<dyn Read + Send>,
    sink: &mut (dyn Write + Send),
    settings: &Settings,
    parallel: bool,
    bytes: &std::sync::Arc<AtomicU64>,
) -> Result<Counts, StreamError> {
    let split = parallel && settings.threads > 1;
    let config = stream::Config {
        block_size: settings
            .block_size
            .unwrap_or(stream::default_block_size(split)),
        line_buffered: settings.line_buffered,
    };
    let reader = input::Counting {
        inner: reader,
        count: bytes.clone(),
    };
    if split {
        stream::run_parallel(annotator, reader, sink, &config, settings.threads)
    } else {
        stream::run(annotator, reader, sink, &config)
    }
}

/// Stdout: files one after another in order (each split across threads when `-j` > 1), never interleaved.
fn to_stdout(
    annotator: &Annotator,
    targets: &[Target],
    settings: &Settings,
    reporter: &Reporter,
) -> Summary {
    let mut summary = Summary::default();
    for target in targets {
        let opened = match open_target(target, reporter) {
            Ok(Some(o)) => o,
            Ok(None) => {
                summary.skipped += 1;
                continue;
            }
            Err(e) => {
                reporter.line(&format!("mfa-annotate: {}: {e}", target.name()));
                summary.errors += 1;
                continue;
            }
        };
        let mut out = io::stdout();
        let mut utf8;
        let sink: &mut (dyn Write + Send) = if opened.format.utf16.is_some() {
            utf8 = Utf8Output::new(io::stdout());
            &mut utf8
        } else {
            &mut out
        };
        let bytes = std::sync::Arc::new(AtomicU64::new(0));
        let result = annotate_stream(annotator, opened.reader, sink, settings, true, &bytes);
        summary.bytes += bytes.load(Ordering::Relaxed);
        reporter.file_done(target.size);
        match result {
            Ok(c) => {
                summary.fields += c.fields;
                summary.changed += c.changed;
                if c.changed > 0 {
                    summary.annotated += 1;
                } else {
                    summary.unchanged += 1;
                }
            }
            Err(e) => {
                let failure = Failure::report(e, target, reporter);
                summary.errors += u64::from(failure.error);
                if failure.stop {
                    summary.broken_pipe = failure.broken_pipe;
                    return summary;
                }
            }
        }
    }
    summary
}

/// What a failed input means for a run to stdout.
struct Failure {
    /// It counts as an error (everything but a closed pipe).
    error: bool,
    /// Nothing more can be written: stop the run.
    stop: bool,
    /// The reader of stdout went away: a quiet, normal stop.
    broken_pipe: bool,
}

impl Failure {
    /// Reports a failed stream to stdout: a read error names the input and the run goes on; a closed
    /// pipe stops quietly; any other write error is reported and stops the run.
    fn report(e: StreamError, target: &Target, reporter: &Reporter) -> Failure {
        match e {
            StreamError::Write(e) if e.kind() == ErrorKind::BrokenPipe => Failure {
                error: false,
                stop: true,
                broken_pipe: true,
            },
            StreamError::Write(e) => {
                reporter.line(&format!("mfa-annotate: writing output: {e}"));
                Failure {
                    error: true,
                    stop: true,
                    broken_pipe: false,
                }
            }
            StreamError::Read(e) => {
                reporter.line(&format!("mfa-annotate: {}: {e}", target.name()));
                Failure {
                    error: true,
                    stop: false,
                    broken_pipe: false,
                }
            }
        }
    }
}

/// The writer chain for a file destination: the file, then gzip, then UTF-16, as the input was.
enum FileSink<'a> {
    Plain(&'a mut Out),
    Gzip(GzEncoder<&'a mut Out>),
    Utf16(Utf16Encoder<&'a mut Out>),
    GzipUtf16(Utf16Encoder<GzEncoder<&'a mut Out>>),
}

/// The temporary file, as written through (with a write fault in tests).
type Out = fault::Writer<File>;

impl<'a> FileSink<'a> {
    fn new(file: &'a mut Out, format: Format, level: u32) -> io::Result<Self> {
        let level = Compression::new(level);
        Ok(match (format.gzip, format.utf16) {
            (false, None) => FileSink::Plain(file),
            (true, None) => FileSink::Gzip(GzEncoder::new(file, level)),
            (false, Some(o)) => FileSink::Utf16(Utf16Encoder::new(file, o)?),
            (true, Some(o)) => {
                FileSink::GzipUtf16(Utf16Encoder::new(GzEncoder::new(file, level), o)?)
            }
        })
    }

    fn writer(&mut self) -> &mut (dyn Write + Send) {
        match self {
            FileSink::Plain(w) => w,
            FileSink::Gzip(w) => w,
            FileSink::Utf16(w) => w,
            FileSink::GzipUtf16(w) => w,
        }
    }

    /// Writes everything that is still buffered (the gzip trailer, a pending UTF-16 unit).
    fn finish(self) -> io::Result<()> {
        match self {
            FileSink::Plain(w) => w.flush(),
            FileSink::Gzip(w) => w.finish().map(drop),
            FileSink::Utf16(w) => w.finish().map(drop),
            FileSink::GzipUtf16(w) => w.finish()?.finish().map(drop),
        }
    }
}

/// In place or under the output folder: write a temporary file, then rename it over the destination.
fn to_file(
    annotator: &Annotator,
    target: &Target,
    dest: &Destination,
    settings: &Settings,
    only_file: bool,
    reporter: &Reporter,
    summary: &mut Summary,
) {
    let fail = |summary: &mut Summary, e: String| {
        reporter.line(&format!("mfa-annotate: {}: {e}", target.name()));
        summary.errors += 1;
        summary.interrupted |= INTERRUPTED.load(Ordering::Relaxed);
    };
    let (out_path, in_place, backup) = match dest {
        Destination::InPlace { backup_suffix } => {
            (target.path.clone(), true, backup_suffix.as_deref())
        }
        Destination::Dir(dir) => (dir.join(&target.relative), false, None),
        Destination::Stdout => unreachable!("stdout is handled by to_stdout"),
    };
    if target.is_stdin() {
        return fail(
            summary,
            "--in-place and --output-dir need files, not stdin".into(),
        );
    }
    let before = match fs::metadata(&target.path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => {
            return fail(
                summary,
                "not a regular file: only regular files are rewritten".into(),
            )
        }
        Err(e) => return fail(summary, e.to_string()),
    };
    let permissions = before.permissions();
    let opened = match open_target(target, reporter) {
        Ok(Some(o)) => o,
        Ok(None) => {
            summary.skipped += 1;
            return;
        }
        Err(e) => return fail(summary, e),
    };
    let folder = out_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Destination::Dir(dir) = dest {
        // A symbolic link planted inside the output folder must not lead the write (or the creation of
        // folders) elsewhere: checked on the deepest existing folder before creating, and again after.
        let inside = || {
            matches!(
                (absolute_lexically(folder), absolute_lexically(dir)),
                (Ok(f), Ok(d)) if f.starts_with(&d)
            )
        };
        let outside = || {
            format!(
                "{} leads outside --output-dir {} (a symbolic link?): not written",
                folder.display(),
                dir.display()
            )
        };
        if !inside() {
            return fail(summary, outside());
        }
        if let Err(e) = fs::create_dir_all(folder) {
            return fail(summary, format!("cannot create {}: {e}", folder.display()));
        }
        if !inside() {
            return fail(summary, outside());
        }
    }
    let created = if fault::injected(fault::Point::Temp, &target.path).is_some() {
        Err(fault::error())
    } else {
        temp_builder(&permissions).tempfile_in(folder)
    };
    let temp = match created {
        Ok(t) => t,
        Err(e) => {
            return fail(
                summary,
                format!(
                    "cannot create a temporary file in {}: {e}",
                    folder.display()
                ),
            )
        }
    };
    // Held until the temporary file is renamed or removed: a later run knows it is not stale.
    let _ = temp.as_file().lock();
    let bytes = std::sync::Arc::new(AtomicU64::new(0));
    let handle = match temp.as_file().try_clone() {
        Ok(h) => h,
        Err(e) => return fail(summary, format!("writing {}: {e}", out_path.display())),
    };
    let mut out = fault::Writer::new(handle, &target.path);
    let written = (|| -> Result<Counts, String> {
        let mut sink = FileSink::new(&mut out, opened.format, settings.gzip_level)
            .map_err(|e| format!("writing {}: {e}", out_path.display()))?;
        let counts = annotate_stream(
            annotator,
            opened.reader,
            sink.writer(),
            settings,
            only_file,
            &bytes,
        )
        .map_err(|e| match e {
            StreamError::Read(e) => e.to_string(),
            StreamError::Write(e) => format!("writing {}: {e}", out_path.display()),
        })?;
        sink.finish()
            .map_err(|e| format!("writing {}: {e}", out_path.display()))?;
        if in_place {
            // The original is about to be replaced: make sure the new content is on disk first.
            temp.as_file()
                .sync_all()
                .map_err(|e| format!("writing {}: {e}", out_path.display()))?;
        }
        Ok(counts)
    })();
    summary.bytes += bytes.load(Ordering::Relaxed);
    let counts = match written {
        Ok(c) => c,
        Err(e) => return fail(summary, e), // `temp` is removed when dropped
    };
    summary.fields += counts.fields;
    summary.changed += counts.changed;
    if counts.changed == 0 {
        summary.unchanged += 1;
        if in_place {
            return; // nothing to change: the original stays as it is, mtime and all
        }
    } else {
        summary.annotated += 1;
    }
    if INTERRUPTED.load(Ordering::Relaxed) {
        summary.interrupted = true;
        return;
    }
    if in_place {
        match changed_while_read(&target.path, &before, temp.path()) {
            Change::None => {}
            Change::SameResult => {
                // Replaced meanwhile by exactly what this run would write (another run did the job).
                summary.annotated -= 1;
                summary.unchanged += 1;
                return;
            }
            Change::Changed => return fail(
                summary,
                "changed while being read (is something writing to it?): left as it is; run again"
                    .into(),
            ),
        }
    }
    if let Err(e) = fs::set_permissions(temp.path(), permissions) {
        return fail(summary, format!("setting permissions: {e}"));
    }
    if let Some(suffix) = backup {
        let mut name = target.path.as_os_str().to_owned();
        name.push(suffix);
        let backup_path = PathBuf::from(name);
        let _ = fs::remove_file(&backup_path);
        if fs::hard_link(&target.path, &backup_path).is_err() {
            if let Err(e) = fs::copy(&target.path, &backup_path) {
                return fail(
                    summary,
                    format!("cannot keep a backup {}: {e}", backup_path.display()),
                );
            }
        }
    }
    if fault::injected(fault::Point::Rename, &target.path).is_some() {
        return fail(
            summary,
            format!("cannot replace {}: {}", out_path.display(), fault::error()),
        );
    }
    if let Err(e) = temp.persist(&out_path) {
        return fail(
            summary,
            format!("cannot replace {}: {}", out_path.display(), e.error),
        );
    }
    if in_place {
        // Make the rename itself durable: after a power cut the folder lists the new file, not the old.
        if let Ok(dir) = File::open(folder) {
            let _ = dir.sync_all();
        }
    }
}

/// The builder for temporary files: created exclusively (`O_EXCL`: a planted file or link of the same
/// name makes it pick another name, never follow it), named `.mfa-annotate-XXXXXX.tmp`, and readable and
/// writable by no one the original does not allow (at most its owner's read and write bits, with the
/// full permissions set just before the rename).
fn temp_builder(original: &fs::Permissions) -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(original.mode() & 0o600));
    }
    #[cfg(not(unix))]
    let _ = original;
    builder
}

/// Whether the file being rewritten in place changed while it was read.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    /// Same file, same size, same modification time.
    None,
    /// Replaced by a file with exactly the bytes of `temp` (another run annotated it meanwhile).
    SameResult,
    /// Anything else: renaming over it could lose what was written.
    Changed,
}

/// Compares the file at `path` now with `before` (taken before it was opened), and with `temp` when it
/// was replaced.
fn changed_while_read(path: &Path, before: &fs::Metadata, temp: &Path) -> Change {
    let Ok(now) = fs::metadata(path) else {
        return Change::Changed;
    };
    #[cfg(unix)]
    let same_file = {
        use std::os::unix::fs::MetadataExt;
        (now.dev(), now.ino()) == (before.dev(), before.ino())
    };
    #[cfg(not(unix))]
    let same_file = true;
    if same_file && now.len() == before.len() && now.modified().ok() == before.modified().ok() {
        return Change::None;
    }
    let same_bytes = || -> io::Result<bool> {
        if now.len() != fs::metadata(temp)?.len() {
            return Ok(false);
        }
        same_contents(File::open(path)?, File::open(temp)?)
    };
    if !same_file && same_bytes().unwrap_or(false) {
        Change::SameResult
    } else {
        Change::Changed
    }
}

/// True when two readers yield the same bytes; compares 64 KiB at a time, so memory stays bounded.
fn same_contents(mut a: impl Read, mut b: impl Read) -> io::Result<bool> {
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fill(&mut a, &mut x)?;
        if n != fill(&mut b, &mut y)? || x[..n] != y[..n] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What a line-oriented batch run (filters, `-c`, `--json`, stats) found over all its inputs.
#[derive(Debug, Clone, Default)]
pub struct LineSummary {
    /// Lines selected in all inputs.
    pub selected: u64,
    /// Inputs that failed.
    pub errors: u64,
    /// Stopped because standard output was closed.
    pub broken_pipe: bool,
    /// Stats of everything read.
    pub stats: Stats,
    /// Per input: its name (`None` for stdin), its stats and its selected-line count.
    pub per_file: Vec<(Option<String>, Stats, u64)>,
}

/// Runs the targets one after another, line by line, to stdout (see [`crate::lines`]). With `-c`,
/// prints the count of selected lines per input (`PATH:COUNT` when there are several) once each input
/// is done. Runs without line numbers or JSON read blocks in parallel (`settings.threads`).
pub fn run_lines(
    annotator: &Annotator,
    targets: &[Target],
    settings: &Settings,
    options: &LineOptions,
    count: bool,
) -> LineSummary {
    let reporter = Reporter::new(false, 0, 0);
    let mut summary = LineSummary::default();
    let stdout = io::stdout();
    for target in targets {
        let opened = match open_target(target, &reporter) {
            Ok(Some(o)) => o,
            Ok(None) => continue,
            Err(e) => {
                reporter.line(&format!("mfa-annotate: {}: {e}", target.name()));
                summary.errors += 1;
                continue;
            }
        };
        let name = (!target.is_stdin()).then(|| target.path.display().to_string());
        let result = {
            // `Stdout`, not a lock: the workers of a parallel run write from their own threads.
            let mut out = io::stdout();
            let mut utf8;
            let sink: &mut (dyn Write + Send) = if opened.format.utf16.is_some() {
                utf8 = Utf8Output::new(io::stdout());
                &mut utf8
            } else {
                &mut out
            };
            let positions = options.line_numbers || options.output == LineOutput::Json;
            if settings.threads > 1 && !positions {
                lines::run_parallel(
                    annotator,
                    opened.reader,
                    sink,
                    options,
                    name.as_deref(),
                    settings.threads,
                )
            } else {
                lines::run(annotator, opened.reader, sink, options, name.as_deref())
            }
        };
        match result {
            Ok(r) => {
                if count {
                    let line = match &name {
                        Some(n) if targets.len() > 1 => format!("{n}:{}\n", r.selected),
                        None if targets.len() > 1 => format!("<stdin>:{}\n", r.selected),
                        _ => format!("{}\n", r.selected),
                    };
                    if let Err(e) = stdout.lock().write_all(line.as_bytes()) {
                        summary.broken_pipe = e.kind() == ErrorKind::BrokenPipe;
                        if !summary.broken_pipe {
                            summary.errors += 1;
                        }
                        return summary;
                    }
                }
                summary.selected += r.selected;
                summary.stats.merge(&r.stats);
                summary.per_file.push((name, r.stats, r.selected));
            }
            Err(e) => {
                let failure = Failure::report(e, target, &reporter);
                summary.errors += u64::from(failure.error);
                if failure.stop {
                    summary.broken_pipe = failure.broken_pipe;
                    return summary;
                }
            }
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn temporary_files_are_created_exclusively_never_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        // With no random part the name is known in advance: plant a link there.
        let name = format!("{TEMP_PREFIX}{TEMP_SUFFIX}");
        std::os::unix::fs::symlink(&victim, dir.path().join(&name)).unwrap();
        let perms = fs::Permissions::from_mode(0o644);
        let err = temp_builder(&perms)
            .rand_bytes(0)
            .tempfile_in(dir.path())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        // With its random part, another name is taken.
        let temp = temp_builder(&perms).tempfile_in(dir.path()).unwrap();
        assert!(is_temporary(temp.path().file_name().unwrap()));
    }

    #[test]
    fn contents_are_compared_in_pieces() {
        use crate::testing::ChunkedReader;
        let a = vec![7u8; 200_000];
        let mut b = a.clone();
        assert!(same_contents(ChunkedReader::new(&a, vec![3, 70_000]), &b[..]).unwrap());
        b[150_000] = 8;
        assert!(!same_contents(&a[..], &b[..]).unwrap());
        assert!(!same_contents(&a[..], &a[..199_999]).unwrap());
        assert!(same_contents(&b""[..], &b""[..]).unwrap());
    }

    #[test]
    fn temporary_files_get_at_most_the_owner_bits_of_the_original() {
        let dir = tempfile::tempdir().unwrap();
        for (original, most) in [
            (0o644, 0o600),
            (0o400, 0o400),
            (0o000, 0o000),
            (0o777, 0o600),
        ] {
            let temp = temp_builder(&fs::Permissions::from_mode(original))
                .tempfile_in(dir.path())
                .unwrap();
            let mode = temp.as_file().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode & !most, 0, "original {original:o}: temp {mode:o}");
        }
    }
}
