//! The command line: the clap definition, and turning it into calls of the library.
//!
//! This module owns argument parsing, where input comes from and output goes, the wording of error
//! messages and the exit status (0 success, 2 error; a broken pipe on stdout is a quiet, normal stop).
//! The library modules know nothing about it.

use clap::{Parser, ValueEnum};
use globset::{GlobBuilder, GlobSetBuilder};
use mfa_annotate::annotate::{Annotator, Mode, Options, Unknown};
use mfa_annotate::batch::{self, Destination, Settings, INTERRUPTED};
use mfa_annotate::stream;
use mfa_annotate::template::{self, Template};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

const EXAMPLES: &str = "\
Examples:
  mfa-annotate remote.log                    annotate a file to stdout
  tail -f remote.log | mfa-annotate          annotate a live log as it grows
  mfa-annotate a.log b.log > both.log        files in the order given
  mfa-annotate remote.log.gz                 gzip is recognised by its content
  mfa-annotate -i logs/                      annotate every file under logs/ in place
  mfa-annotate -i.bak -g '*.log' logs/       in place, keeping x.log.bak, only *.log
  mfa-annotate -o annotated/ logs/           annotated copies under annotated/
  mfa-annotate -j 4 big.log > out.log        four threads
  mfa-annotate --strip annotated.log         remove the annotations again
  mfa-annotate --format ' [{code}: {desc}]'  custom annotation text
  mfa-annotate --unknown keep remote.log     leave numbers not in the table alone

A field is a key (callStatus, Call Status, rawCallStatus, call_result, SMS status, smsResult,
Result Code, MFA result, MFA status, MFA result code; any case, words joined by nothing, a space,
_, - or .), then = or : (or, after `call status` and `result code`, just blanks), an optional
quote, and 1 to 9 digits; or the XML element <callStatus>108</callStatus>.

Exit status: 0 on success, 2 if any file could not be read or written or an option is wrong,
130 when interrupted.";

/// Annotates Azure MFA / Netop call-status result codes in logs with their descriptions:
/// `callStatus=129` becomes `callStatus=129 (Mobile App Denied)`; every other byte is kept.
#[derive(Debug, Parser)]
#[command(name = "mfa-annotate", version, about, after_help = EXAMPLES)]
pub struct Args {
    /// Files or folders to annotate; `-` or nothing reads stdin. Folders are walked recursively, sorted by
    /// name. gzip files (by content) are decompressed; UTF-16 files (by byte-order mark) are decoded.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// The annotation text: {code}, {desc} and {kind} are replaced, {{ and }} are literal braces.
    #[arg(long, value_name = "TEMPLATE", default_value = template::DEFAULT)]
    format: String,

    /// What to do with numbers that are not in the code table.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = UnknownArg::Annotate)]
    unknown: UnknownArg,

    /// Remove the annotations instead of adding them (give the same --format as when annotating).
    #[arg(long)]
    strip: bool,

    /// Rewrite each file in place, atomically; with SUFFIX (-i.bak), keep the original as NAME+SUFFIX.
    /// Files with nothing to change are left untouched.
    #[arg(
        short = 'i',
        long,
        value_name = "SUFFIX",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        conflicts_with = "output_dir"
    )]
    in_place: Option<String>,

    /// Write annotated copies under DIR, mirroring the paths below each folder given (created if
    /// needed; inputs are never modified).
    #[arg(short = 'o', long, value_name = "DIR")]
    output_dir: Option<PathBuf>,

    /// Only walk files whose name matches GLOB (repeatable), e.g. -g '*.log' -g '*.log.gz'.
    #[arg(short = 'g', long = "glob", value_name = "GLOB")]
    globs: Vec<String>,

    /// Follow symbolic links while walking folders (loops are detected and skipped).
    #[arg(short = 'L', long)]
    follow: bool,

    /// Number of threads (default: all cores).
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,

    /// Do not show a progress bar (it is only shown on a terminal, for folder runs).
    #[arg(long)]
    no_progress: bool,

    /// Compression level (0-9) for gzip files written back.
    #[arg(long, value_name = "LEVEL", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    gzip_level: u32,

    /// Write and flush every line as soon as it is complete.
    #[arg(long)]
    line_buffered: bool,

    /// Read block size in bytes (for tests of the block splitting).
    #[arg(long, hide = true)]
    block_size: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum UnknownArg {
    /// Add ` (unknown MFA result code)`.
    Annotate,
    /// Leave the field as it is.
    Keep,
}

/// Parses the command line, runs it and returns the exit status.
pub fn main() -> ExitCode {
    let args = Args::parse_from(sed_style_in_place(std::env::args_os()));
    match run(&args) {
        Ok(status) => status,
        Err(message) => {
            eprintln!("mfa-annotate: {message}");
            ExitCode::from(2)
        }
    }
}

/// Accepts sed's spelling `-iSUFFIX` (`-i.bak`) by turning it into `--in-place=SUFFIX`: clap would take
/// a value after `-i` only as `-i=.bak`, and must not take `-i logs/` as a suffix.
fn sed_style_in_place(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut options_done = false;
    for arg in args {
        match arg.to_str() {
            Some("--") => options_done = true,
            Some(a)
                if !options_done && a.len() > 2 && a.starts_with("-i") && !a.starts_with("-i=") =>
            {
                out.push(OsString::from(format!("--in-place={}", &a[2..])));
                continue;
            }
            _ => {}
        }
        out.push(arg);
    }
    out
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let template = Template::parse(&args.format).map_err(|e| format!("--format: {e}"))?;
    let options = Options {
        template,
        unknown: match args.unknown {
            UnknownArg::Annotate => Unknown::Annotate,
            UnknownArg::Keep => Unknown::Keep,
        },
        mode: if args.strip {
            Mode::Strip
        } else {
            Mode::Annotate
        },
    };
    let annotator = Annotator::new(&options).map_err(|e| format!("--format: {e}"))?;
    let threads = match args.threads {
        Some(0) => return Err("--threads must be at least 1".into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    let destination = match (&args.in_place, &args.output_dir) {
        (Some(suffix), _) => Destination::InPlace {
            backup_suffix: (!suffix.is_empty()).then(|| suffix.clone()),
        },
        (None, Some(dir)) => Destination::Dir(dir.clone()),
        (None, None) => Destination::Stdout,
    };
    let globs = if args.globs.is_empty() {
        None
    } else {
        let mut set = GlobSetBuilder::new();
        for g in &args.globs {
            let glob = GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("--glob {g}: {e}"))?;
            set.add(glob);
        }
        Some(set.build().map_err(|e| format!("--glob: {e}"))?)
    };
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.paths.clone()
    };
    let has_folder = paths.iter().any(|p| p.is_dir());
    let to_files = destination != Destination::Stdout;
    let settings = Settings {
        destination,
        follow_links: args.follow,
        globs,
        threads,
        block_size: args.block_size.unwrap_or(if threads > 1 {
            stream::PARALLEL_BLOCK_SIZE
        } else {
            stream::DEFAULT_BLOCK_SIZE
        }),
        line_buffered: args.line_buffered,
        gzip_level: args.gzip_level,
        // A bar on a terminal only, for folder runs, and never over text going to the same terminal.
        progress: !args.no_progress
            && has_folder
            && std::io::stderr().is_terminal()
            && (to_files || !std::io::stdout().is_terminal()),
    };
    let (targets, walk_errors) =
        batch::collect_targets(&paths, &settings, &|line| eprintln!("{line}"));
    if let Destination::Dir(dir) = &settings.destination {
        batch::check_output_dir(dir, &paths, &targets)?;
    }
    if to_files {
        // First Ctrl-C (or SIGTERM): finish no file, remove temporary files, exit 130. Second: exit now.
        ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        })
        .map_err(|e| format!("cannot install the interrupt handler: {e}"))?;
    }
    let summary = batch::run(&annotator, &targets, &settings);
    if to_files {
        eprintln!("mfa-annotate: {}", summary.line(args.strip));
    }
    Ok(
        if summary.interrupted || INTERRUPTED.load(Ordering::SeqCst) {
            eprintln!("mfa-annotate: interrupted; files not finished were left as they were");
            ExitCode::from(130)
        } else if summary.broken_pipe {
            ExitCode::SUCCESS
        } else if summary.errors > 0 || walk_errors > 0 {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        },
    )
}
