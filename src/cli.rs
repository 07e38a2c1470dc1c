//! The command line: the clap definition, and turning it into calls of the library.
//!
//! This module owns argument parsing, where input comes from and output goes, the wording of error
//! messages and the exit status (0 success, 2 error; a broken pipe on stdout is a quiet, normal stop).
//! The library modules know nothing about it.

use clap::{Parser, ValueEnum};
use mfa_annotate::annotate::{Annotator, Mode, Options, Unknown};
use mfa_annotate::stream::{self, StreamError};
use mfa_annotate::template::{self, Template};
use std::fs::File;
use std::io::{self, ErrorKind, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  mfa-annotate remote.log                    annotate a file to stdout
  tail -f remote.log | mfa-annotate          annotate a live log as it grows
  mfa-annotate a.log b.log > both.log        files in the order given
  mfa-annotate --strip annotated.log         remove the annotations again
  mfa-annotate --format ' [{code}: {desc}]'  custom annotation text
  mfa-annotate --unknown keep remote.log     leave numbers not in the table alone

A field is a key (callStatus, Call Status, rawCallStatus, call_result, SMS status, smsResult,
Result Code, MFA result, MFA status, MFA result code; any case, words joined by nothing, a space,
_, - or .), then = or : (or, after `call status` and `result code`, just blanks), an optional
quote, and 1 to 9 digits; or the XML element <callStatus>108</callStatus>.

Exit status: 0 on success, 2 if any file could not be read or an option is wrong.";

/// Annotates Azure MFA / Netop call-status result codes in logs with their descriptions:
/// `callStatus=129` becomes `callStatus=129 (Mobile App Denied)`; every other byte is kept.
#[derive(Debug, Parser)]
#[command(name = "mfa-annotate", version, about, after_help = EXAMPLES)]
pub struct Args {
    /// Files to annotate, written to stdout in the order given; `-` or nothing reads stdin.
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

    /// Write and flush every line as soon as it is complete.
    #[arg(long)]
    line_buffered: bool,
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
    let args = Args::parse();
    match run(&args) {
        Ok(status) => status,
        Err(message) => {
            eprintln!("mfa-annotate: {message}");
            ExitCode::from(2)
        }
    }
}

/// How a run ended, as far as the exit status is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// Some input failed; the rest was processed.
    HadErrors,
    /// The reader of our output went away: stop quietly.
    BrokenPipe,
    /// Writing the output failed otherwise (a full disk): nothing more can be written.
    WriteFailed,
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
    let config = stream::Config {
        line_buffered: args.line_buffered,
        ..stream::Config::default()
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.paths.clone()
    };
    let mut outcome = Outcome::Ok;
    for path in &paths {
        match annotate_one(&annotator, path, &mut out, &config) {
            Outcome::Ok => {}
            Outcome::HadErrors => outcome = Outcome::HadErrors,
            Outcome::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Outcome::WriteFailed => return Ok(ExitCode::from(2)),
        }
    }
    Ok(match outcome {
        Outcome::Ok | Outcome::BrokenPipe => ExitCode::SUCCESS,
        Outcome::HadErrors | Outcome::WriteFailed => ExitCode::from(2),
    })
}

/// Annotates one input (a file, or stdin for `-`) to `out`, reporting its errors on stderr.
fn annotate_one(
    annotator: &Annotator,
    path: &PathBuf,
    out: &mut dyn Write,
    config: &stream::Config,
) -> Outcome {
    let result = if path.as_os_str() == "-" {
        stream::run(annotator, io::stdin().lock(), out, config)
    } else {
        match File::open(path) {
            Ok(file) => stream::run(annotator, file, out, config),
            Err(e) => Err(StreamError::Read(e)),
        }
    };
    match result {
        Ok(_) => Outcome::Ok,
        Err(StreamError::Write(e)) if e.kind() == ErrorKind::BrokenPipe => Outcome::BrokenPipe,
        Err(StreamError::Write(e)) => {
            eprintln!("mfa-annotate: writing output: {e}");
            Outcome::WriteFailed
        }
        Err(StreamError::Read(e)) => {
            let name = if path.as_os_str() == "-" {
                "<stdin>".into()
            } else {
                path.display().to_string()
            };
            eprintln!("mfa-annotate: {name}: {e}");
            Outcome::HadErrors
        }
    }
}
