//! Fuzz target: the chunked and parallel paths give the same bytes as one piece.
//!
//! The first bytes choose the read sizes, the thread count and strip or annotate; the rest is the input.
//! Checked on every input:
//! - a forced cut (see `mfa_annotate::cut`) found in any prefix of the input, and
//! - cutting the input at any offset the splitter may cut at (after a byte no field or annotation can
//!   contain) and rewriting the two pieces apart gives the same bytes as rewriting it whole;
//! - `stream::run` with reads of the chosen sizes and the smallest block size, `stream::run_parallel`
//!   with 1-4 threads, and the line-oriented runs (`lines::run`, `lines::run_parallel`) all give those
//!   bytes too;
//! - a line-oriented `-m` run (or `-v`) prints exactly the annotated lines that hold a field (or that
//!   hold none), read in chunks or in parallel blocks, with the same counts either way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_annotate::annotate::{Annotator, Mode, Options};
use mfa_annotate::cut;
use mfa_annotate::lines::{self, LineOptions, LineOutput};
use mfa_annotate::reference;
use mfa_annotate::select::Filter;
use mfa_annotate::stream::{self, Config};
use mfa_annotate::testing::ChunkedReader;

/// Every cut offset is tried for inputs up to this size; longer ones try a sample of offsets.
const EVERY_OFFSET: usize = 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, x) = data.split_at(4);
    let sizes: Vec<usize> = vec![usize::from(head[0] % 64) + 1, usize::from(head[1]) + 1];
    let threads = usize::from(head[2] % 4) + 1;
    let mode = if head[3] & 1 == 1 { Mode::Strip } else { Mode::Annotate };
    let a = Annotator::new(&Options { mode, ..Options::default() }).expect("default options");
    let whole = a.rewrite_all(x);

    let cut = a.cut_table();
    let step = if x.len() <= EVERY_OFFSET { 1 } else { x.len() / 64 };
    for k in (1..x.len()).step_by(step.max(1)) {
        if cut[usize::from(x[k - 1])] {
            let mut pieces = a.rewrite_all(&x[..k]);
            pieces.extend_from_slice(&a.rewrite_all(&x[k..]));
            assert_eq!(pieces, whole, "cutting after offset {k} changed the output");
        }
    }

    // Forced cuts (inside a long line without a cut byte), found in prefixes of the input.
    for k in (0..=x.len()).step_by((x.len() / 16).max(1)) {
        if let Some(p) = cut::forced_cut(&a, &x[..k]) {
            let mut pieces = a.rewrite_all(&x[..p]);
            pieces.extend_from_slice(&a.rewrite_all(&x[p..]));
            assert_eq!(pieces, whole, "forced cut at {p} (prefix {k}) changed the output");
        }
    }

    let config = Config { block_size: 0, line_buffered: false };
    let mut out = Vec::new();
    stream::run(&a, ChunkedReader::new(x, sizes.clone()), &mut out, &config).unwrap();
    assert_eq!(out, whole, "stream::run with read sizes {sizes:?}");

    let mut par = Vec::new();
    stream::run_parallel(&a, std::io::Cursor::new(x.to_vec()), &mut par, &config, threads).unwrap();
    assert_eq!(par, whole, "stream::run_parallel with {threads} threads");

    let invert = head[3] & 2 == 2;
    let options = LineOptions {
        filter: Filter { matching: true, invert, ..Filter::default() },
        output: LineOutput::Text,
        with_filename: false,
        line_numbers: false,
        palette: None,
        block_size: usize::from(head[1] % 32),
        stats: true,
    };
    let mut model = Vec::new();
    for line in x.split_inclusive(|&b| b == b'\n') {
        if reference::find_all(line).is_empty() == invert {
            model.extend_from_slice(&a.rewrite_all(line));
        }
    }
    let mut seq = Vec::new();
    let r1 = lines::run(&a, ChunkedReader::new(x, sizes), &mut seq, &options, None).unwrap();
    assert_eq!(seq, model, "lines::run (invert {invert})");
    let mut par = Vec::new();
    let r2 = lines::run_parallel(&a, std::io::Cursor::new(x.to_vec()), &mut par, &options, None, threads)
        .unwrap();
    assert_eq!(par, model, "lines::run_parallel (invert {invert})");
    assert_eq!(r1, r2, "line counts differ between the sequential and parallel runs");
});
