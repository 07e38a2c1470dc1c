//! The command line: the clap definition, and turning it into calls of the library.
//!
//! This module owns argument parsing, where input comes from and output goes, the wording of error
//! messages and the exit status (0 success, 2 error; a broken pipe on stdout is a quiet, normal stop).
//! The library modules know nothing about it.

use clap::CommandFactory;
use clap::{Parser, ValueEnum};
use globset::{GlobBuilder, GlobSetBuilder};
use mfa_annotate::annotate::{Annotator, Mode, Options, Unknown};
use mfa_annotate::batch::{self, Destination, Settings, INTERRUPTED};
use mfa_annotate::codes::Table;
use mfa_annotate::lines::{LineOptions, LineOutput, Palette};
use mfa_annotate::report;
use mfa_annotate::select::{CodeSet, Filter, KindFilter};
use mfa_annotate::stream;
use mfa_annotate::template::{self, Template};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
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

    /// Print only the lines that contain at least one field.
    #[arg(short = 'm', long, help_heading = "Filters")]
    matching: bool,

    /// Only lines with one of these codes: numbers and ranges, e.g. 129,132 or 100-142.
    #[arg(long = "code", value_name = "LIST", help_heading = "Filters")]
    code: Option<CodeSet>,

    /// Only lines with a code of this kind (fraud: 112 and 132).
    #[arg(long, value_enum, value_name = "KIND", help_heading = "Filters")]
    kind: Option<KindArg>,

    /// Only lines with a code that is not in the table.
    #[arg(long, help_heading = "Filters")]
    unknown_only: bool,

    /// Print the lines the filter would drop.
    #[arg(short = 'v', long, help_heading = "Filters")]
    invert: bool,

    /// Print only the number of selected lines (per file with several files).
    #[arg(short = 'c', long, help_heading = "Filters")]
    count: bool,

    /// Prefix each line with its file name.
    #[arg(short = 'H', long, help_heading = "Filters")]
    with_filename: bool,

    /// Prefix each line with its line number.
    #[arg(short = 'n', long, help_heading = "Filters")]
    line_number: bool,

    /// After the run, print a summary on stderr: lines, fields, counts per code with a bar chart.
    #[arg(long, help_heading = "Stats and JSON")]
    stats: bool,

    /// Print only the summary, on stdout.
    #[arg(long, help_heading = "Stats and JSON")]
    stats_only: bool,

    /// A summary per file too.
    #[arg(long, help_heading = "Stats and JSON")]
    stats_per_file: bool,

    /// JSON Lines: one object per field instead of text; with the stats options, the summary as JSON.
    #[arg(long, help_heading = "Stats and JSON")]
    json: bool,

    /// Explain codes: kind and description of each number given.
    #[arg(long, value_name = "CODE", num_args = 1.., help_heading = "Lookup")]
    explain: Vec<u32>,

    /// Print the whole code table (as a JSON array with --json).
    #[arg(long, help_heading = "Lookup")]
    list_codes: bool,

    /// Find codes whose description contains all these words (any case).
    #[arg(long, value_name = "WORD", num_args = 1.., help_heading = "Lookup")]
    search: Vec<String>,

    /// Add codes or override descriptions from a TSV file (`code<TAB>description`, # comments).
    #[arg(long, value_name = "FILE")]
    codes_file: Option<PathBuf>,

    /// Colour: auto (only on a terminal, not with NO_COLOR or TERM=dumb), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Print shell completions for SHELL (bash, zsh, fish, powershell, elvish) and exit.
    #[arg(long, value_name = "SHELL", hide = true)]
    generate_completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit.
    #[arg(long, hide = true)]
    generate_man: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    /// Codes 1-25: what happened on the call or SMS.
    Result,
    /// Codes 100-142: errors.
    Error,
    /// 112 and 132.
    Fraud,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
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
    let mut table = Table::builtin();
    if let Some(path) = &args.codes_file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        table
            .merge_tsv(&text, &path.display().to_string())
            .map_err(|e| e.to_string())?;
    }
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
        table,
    };
    if let Some(exit) = lookups(args, &options.table)? {
        return Ok(exit);
    }
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
        block_size: args.block_size,
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
    let mut filter = Filter {
        codes: args.code.clone(),
        kind: args.kind.map(|k| match k {
            KindArg::Result => KindFilter::Result,
            KindArg::Error => KindFilter::Error,
            KindArg::Fraud => KindFilter::Fraud,
        }),
        unknown_only: args.unknown_only,
        matching: args.matching,
        invert: args.invert,
    };
    if args.count && !filter.selects_lines() {
        filter.matching = true; // -c alone counts the lines with a field
    }
    let any_stats = args.stats || args.stats_only || args.stats_per_file;
    let json_fields = args.json && !any_stats;
    let line_mode = filter.selects_lines()
        || args.count
        || args.with_filename
        || args.line_number
        || json_fields
        || any_stats;
    if line_mode && to_files {
        return Err(
            "filters, -c, -H, -n, --json and the stats write to stdout: \
                    they do not go with --in-place or --output-dir"
                .into(),
        );
    }
    // Colour only ever goes to stdout, never into files.
    let colour = !to_files
        && !json_fields
        && !args.count
        && !args.stats_only
        && match args.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        };
    if line_mode || colour {
        let options = LineOptions {
            filter: filter.clone(),
            output: if args.stats_only {
                LineOutput::Nothing
            } else if args.count {
                LineOutput::Count
            } else if json_fields {
                LineOutput::Json
            } else {
                LineOutput::Text
            },
            with_filename: args.with_filename,
            line_numbers: args.line_number,
            palette: colour.then(Palette::default),
            block_size: settings
                .block_size
                .unwrap_or(stream::default_block_size(threads > 1)),
            stats: any_stats,
        };
        let summary = batch::run_lines(&annotator, &targets, &settings, &options, args.count);
        if any_stats && !summary.broken_pipe {
            print_stats(args, &summary, annotator.table());
        }
        return Ok(if summary.errors > 0 || walk_errors > 0 {
            ExitCode::from(2)
        } else if summary.broken_pipe || !filter.selects_lines() || summary.selected > 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
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

/// `--explain`, `--list-codes`, `--search`, completions and the man page: print and return the exit
/// status, or `None` when none was asked for.
fn lookups(args: &Args, table: &Table) -> Result<Option<ExitCode>, String> {
    let text = if let Some(shell) = args.generate_completions {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Args::command(), "mfa-annotate", &mut out);
        (out, ExitCode::SUCCESS)
    } else if args.generate_man {
        let mut out = Vec::new();
        clap_mangen::Man::new(Args::command())
            .render(&mut out)
            .map_err(|e| e.to_string())?;
        (out, ExitCode::SUCCESS)
    } else if !args.explain.is_empty() {
        let (text, unknown) = report::explain(&args.explain, table);
        (
            text.into_bytes(),
            if unknown {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            },
        )
    } else if args.list_codes && args.json {
        (
            (report::list_json(table) + "\n").into_bytes(),
            ExitCode::SUCCESS,
        )
    } else if args.list_codes {
        (report::list(table).into_bytes(), ExitCode::SUCCESS)
    } else if !args.search.is_empty() {
        let found = report::search(&args.search, table);
        let exit = if found.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
        (found.into_bytes(), exit)
    } else {
        return Ok(None);
    };
    match std::io::stdout().lock().write_all(&text.0) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(Some(text.1)),
    }
}

/// Prints the stats of a line-oriented run: on stdout with --stats-only, else on stderr.
fn print_stats(args: &Args, summary: &batch::LineSummary, table: &Table) {
    let mut text = String::new();
    if args.stats_per_file {
        for (name, stats, _) in &summary.per_file {
            let name = name.as_deref().unwrap_or("<stdin>");
            if args.json {
                text += &(stats.to_json(table, Some(name)).to_string() + "\n");
            } else {
                text += &stats.to_text(table, Some(name));
            }
        }
    }
    if args.json {
        text += &(summary.stats.to_json(table, None).to_string() + "\n");
    } else {
        text += &summary
            .stats
            .to_text(table, args.stats_per_file.then_some("total"));
    }
    if args.stats_only {
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    } else {
        eprint!("{text}");
    }
}
