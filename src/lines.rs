//! Line-oriented runs: what `-m`, `--code`, `--kind`, `--unknown-only`, `-v`, `-c`, `-H`, `-n`, `--json`,
//! `--color` and the stats need, where output is decided line by line.
//!
//! This module owns the line bookkeeping: which line a field is on, its number (exact for CRLF and for a
//! last line without a newline), which lines are printed and with what prefix. It reads whole lines
//! through [`Splitter`] and only looks closely at the lines that hold a field; runs of lines without
//! fields are copied (or skipped) in one piece. Runs that need no line numbers or offsets (no `-n`, no
//! `--json`), `--stats-only` among them, go through [`run_parallel`] on blocks in parallel.

use crate::annotate::{Annotator, Counts, Emit};
use crate::codes::{Kind, Table};
use crate::matcher::FieldMatch;
use crate::report::{field_json, FieldAt, Stats};
use crate::select::Filter;
use crate::stream::{in_order, Block, Splitter, StreamError};
use anstyle::{AnsiColor, Style};
use std::io::{Read, Write};

/// What a line-oriented run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutput {
    /// The selected lines, annotated.
    Text,
    /// Nothing per line: the caller prints the count of selected lines.
    Count,
    /// One JSON record per field of the selected lines.
    Json,
    /// Nothing at all (stats only).
    Nothing,
}

/// Colours for a terminal: the code in bold, annotations by kind.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    code: Style,
    result: Style,
    error: Style,
    fraud: Style,
    unknown: Style,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            code: Style::new().bold(),
            result: Style::new().fg_color(Some(AnsiColor::Green.into())),
            error: Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            fraud: Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            unknown: Style::new().fg_color(Some(AnsiColor::Magenta.into())),
        }
    }
}

/// How a line-oriented run behaves.
#[derive(Debug, Clone)]
pub struct LineOptions {
    /// Which lines are printed (everything when it selects nothing).
    pub filter: Filter,
    /// What is printed.
    pub output: LineOutput,
    /// `-H`: prefix `PATH:`.
    pub with_filename: bool,
    /// `-n`: prefix `LINE:`.
    pub line_numbers: bool,
    /// Colours, or `None`.
    pub palette: Option<Palette>,
    /// Block size for reading.
    pub block_size: usize,
    /// Count lines and fields per code for the stats (a second pass over each block).
    pub stats: bool,
}

/// What a line-oriented run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineResult {
    /// Lines selected (printed, counted, or with JSON records).
    pub selected: u64,
    /// Everything read, for `--stats`.
    pub stats: Stats,
    /// Fields and annotations changed in the printed lines.
    pub counts: Counts,
}

/// Where the run is: lines and bytes before the current block.
struct Position {
    line: u64,
    offset: u64,
}

/// Runs `input` line by line to `output`. `path` is the input's name for `-H` and JSON (`None`: stdin).
pub fn run<R: Read>(
    annotator: &Annotator,
    input: R,
    output: &mut dyn Write,
    options: &LineOptions,
    path: Option<&str>,
) -> Result<LineResult, StreamError> {
    let mut splitter = Splitter::new(input, annotator, options.block_size).whole_lines();
    let mut result = LineResult::default();
    let mut at = Position { line: 0, offset: 0 };
    let mut out = Vec::new();
    let mut spare = Block::default();
    let name = path.unwrap_or("<stdin>");
    while let Some(block) = splitter.next_block(spare).map_err(StreamError::Read)? {
        out.clear();
        let mut run = BlockRun {
            annotator,
            options,
            path,
            name,
            block: &block,
            out: &mut out,
            result: &mut result,
            line: at.line,
            counted: 0,
            offset: at.offset,
        };
        run.process();
        if options.stats {
            result.stats.merge(&count_block(annotator, &block));
        }
        at.line += memchr::memchr_iter(b'\n', &block).count() as u64;
        at.offset += block.len() as u64;
        if !out.is_empty() {
            output
                .write_all(&out)
                .and_then(|()| output.flush())
                .map_err(StreamError::Write)?;
        }
        spare = block;
    }
    Ok(result)
}

/// Counts lines, lines with fields and fields per code in one block of whole lines. Blocks can be
/// counted in any order and merged: a last line without a newline counts as a line.
pub fn count_block(annotator: &Annotator, block: &[u8]) -> Stats {
    let mut stats = Stats {
        lines: memchr::memchr_iter(b'\n', block).count() as u64,
        ..Stats::default()
    };
    if block.last().is_some_and(|&b| b != b'\n') {
        stats.lines += 1;
    }
    let mut line_end = 0;
    annotator.matcher().scan(block, |f| {
        stats.fields += 1;
        *stats.per_code.entry(f.code).or_default() += 1;
        if f.start >= line_end {
            stats.lines_with_fields += 1;
            line_end =
                memchr::memchr(b'\n', &block[f.start..]).map_or(block.len(), |i| f.start + i + 1);
        }
        f.insert_at
    });
    stats
}

/// Like [`run`], for runs that need no line numbers or offsets (no `-n`, no `--json`): whole-line blocks
/// are processed by `threads` workers at once and written in order ([`crate::stream`]'s `in_order`). The
/// output and the counts are exactly those of [`run`].
pub fn run_parallel<R: Read + Send>(
    annotator: &Annotator,
    input: R,
    output: &mut (dyn Write + Send),
    options: &LineOptions,
    path: Option<&str>,
    threads: usize,
) -> Result<LineResult, StreamError> {
    debug_assert!(!options.line_numbers && options.output != LineOutput::Json);
    let name = path.unwrap_or("<stdin>");
    in_order(
        Splitter::new(input, annotator, options.block_size).whole_lines(),
        output,
        threads,
        |block, out| {
            let mut result = LineResult::default();
            BlockRun {
                annotator,
                options,
                path,
                name,
                block,
                out,
                result: &mut result,
                line: 0,
                counted: 0,
                offset: 0,
            }
            .process();
            if options.stats {
                result.stats = count_block(annotator, block);
            }
            result
        },
        |output, out| {
            if out.is_empty() {
                return Ok(());
            }
            output
                .write_all(out)
                .and_then(|()| output.flush())
                .map_err(StreamError::Write)
        },
        |total, result| {
            total.selected += result.selected;
            total.counts += result.counts;
            total.stats.merge(&result.stats);
        },
    )
}

/// One block of a line-oriented run.
struct BlockRun<'a> {
    annotator: &'a Annotator,
    options: &'a LineOptions,
    path: Option<&'a str>,
    name: &'a str,
    block: &'a [u8],
    out: &'a mut Vec<u8>,
    result: &'a mut LineResult,
    /// Lines before `block[counted..]`.
    line: u64,
    counted: usize,
    offset: u64,
}

impl BlockRun<'_> {
    fn table(&self) -> &Table {
        self.annotator.table()
    }

    /// The 1-based number of the line starting at `start` (counting forward only).
    fn line_number(&mut self, start: usize) -> u64 {
        self.line += memchr::memchr_iter(b'\n', &self.block[self.counted..start]).count() as u64;
        self.counted = start;
        self.line + 1
    }

    fn process(&mut self) {
        if self.options.output == LineOutput::Nothing && !self.options.filter.selects_lines() {
            return; // --stats-only: nothing printed, nothing selected; the stats are counted apart
        }
        let block = self.block;
        let matcher = self.annotator.matcher();
        let mut done = 0; // lines before `done` are handled
        let mut next = matcher.find_at(block, 0);
        let mut fields: Vec<FieldMatch> = Vec::new();
        while let Some(first) = next {
            let start =
                memchr::memrchr(b'\n', &block[done..first.start]).map_or(done, |i| done + i + 1);
            let end = memchr::memchr(b'\n', &block[first.start..])
                .map_or(block.len(), |i| first.start + i + 1);
            fields.clear();
            fields.push(first);
            next = matcher.find_at(block, first.insert_at);
            while let Some(f) = next.filter(|f| f.start < end) {
                fields.push(f);
                next = matcher.find_at(block, f.insert_at);
            }
            self.lines_without_fields(done, start);
            self.line_with_fields(start, end, &fields);
            done = end;
        }
        self.lines_without_fields(done, block.len());
    }

    /// Lines `block[from..to]`, none of which has a field.
    fn lines_without_fields(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        let filter = &self.options.filter;
        let selected = !filter.selects_lines() || filter.line_selected([], self.table());
        if !selected {
            return;
        }
        let span = &self.block[from..to];
        let lines = memchr::memchr_iter(b'\n', span).count() as u64
            + u64::from(span.last() != Some(&b'\n'));
        if filter.selects_lines() {
            self.result.selected += lines;
        }
        if self.options.output != LineOutput::Text {
            return;
        }
        if !self.options.with_filename && !self.options.line_numbers {
            self.out.extend_from_slice(span);
            return;
        }
        let mut start = from;
        while start < to {
            let end = memchr::memchr(b'\n', &self.block[start..to]).map_or(to, |i| start + i + 1);
            self.prefix(start);
            self.out.extend_from_slice(&self.block[start..end]);
            start = end;
        }
    }

    /// The line `block[start..end]` with these fields.
    fn line_with_fields(&mut self, start: usize, end: usize, fields: &[FieldMatch]) {
        let table = self.annotator.table();
        let filter = &self.options.filter;
        let selected =
            !filter.selects_lines() || filter.line_selected(fields.iter().map(|f| f.code), table);
        if !selected {
            return;
        }
        if filter.selects_lines() {
            self.result.selected += 1;
        }
        let line = &self.block[start..end];
        match self.options.output {
            LineOutput::Text => {
                self.prefix(start);
                let counts = match &self.options.palette {
                    None => self.annotator.rewrite(line, self.out),
                    Some(palette) => self.annotator.rewrite_with(
                        line,
                        &mut Colored {
                            out: self.out,
                            palette,
                            table,
                        },
                    ),
                };
                self.result.counts += counts;
            }
            LineOutput::Json => {
                let number = self.line_number(start);
                let text = line.strip_suffix(b"\n").unwrap_or(line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                for f in fields {
                    if filter.has_field_filter() && !filter.field_matches(f.code, table) {
                        continue;
                    }
                    let record = field_json(
                        &FieldAt {
                            path: self.path,
                            line: number,
                            byte_offset: self.offset + f.start as u64,
                            key: &self.block[f.key_start..f.key_end],
                            code: f.code,
                            text,
                        },
                        table,
                    );
                    self.out.extend_from_slice(record.as_bytes());
                    self.out.push(b'\n');
                }
            }
            LineOutput::Count | LineOutput::Nothing => {}
        }
    }

    /// Writes `PATH:` and `LINE:` as asked, for the line starting at `start`.
    fn prefix(&mut self, start: usize) {
        if self.options.with_filename {
            self.out.extend_from_slice(self.name.as_bytes());
            self.out.push(b':');
        }
        if self.options.line_numbers {
            let n = self.line_number(start);
            self.out.extend_from_slice(n.to_string().as_bytes());
            self.out.push(b':');
        }
    }
}

/// Writes a rewrite with ANSI colours.
struct Colored<'a> {
    out: &'a mut Vec<u8>,
    palette: &'a Palette,
    table: &'a Table,
}

impl Colored<'_> {
    fn styled(&mut self, style: Style, bytes: &[u8]) {
        self.out
            .extend_from_slice(style.render().to_string().as_bytes());
        self.out.extend_from_slice(bytes);
        self.out
            .extend_from_slice(style.render_reset().to_string().as_bytes());
    }
}

impl Emit for Colored<'_> {
    fn text(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn code(&mut self, digits: &[u8], _code: u32) {
        self.styled(self.palette.code, digits);
    }

    fn annotation(&mut self, text: &[u8], code: u32) {
        let style = match self.table.get(code) {
            Some(e) if e.fraud => self.palette.fraud,
            Some(e) if e.kind == Kind::Result => self.palette.result,
            Some(_) => self.palette.error,
            None => self.palette.unknown,
        };
        self.styled(style, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotate::Options;
    use crate::select::KindFilter;

    const LOG: &[u8] =
        b"a callStatus=129\r\nplain\r\nb Call Status: 132 x callStatus=7\r\nlast callStatus=99";

    fn go(options: LineOptions) -> (String, LineResult) {
        let a = Annotator::new(&Options::default()).unwrap();
        let mut out = Vec::new();
        let r = run(&a, LOG, &mut out, &options, Some("f.log")).unwrap();
        (String::from_utf8(out).unwrap(), r)
    }

    fn text(filter: Filter) -> LineOptions {
        LineOptions {
            filter,
            output: LineOutput::Text,
            with_filename: false,
            line_numbers: false,
            palette: None,
            block_size: 16,
            stats: true,
        }
    }

    #[test]
    fn matching_lines_with_numbers() {
        let mut o = text(Filter {
            matching: true,
            ..Filter::default()
        });
        o.line_numbers = true;
        o.with_filename = true;
        let (out, r) = go(o);
        assert_eq!(
            out,
            "f.log:1:a callStatus=129 (Mobile App Denied)\r\nf.log:3:b Call Status: 132 (Fraud Reported) x callStatus=7 (Bypassed Auth)\r\nf.log:4:last callStatus=99 (unknown MFA result code)"
        );
        assert_eq!(r.selected, 3);
        assert_eq!(
            (r.stats.lines, r.stats.lines_with_fields, r.stats.fields),
            (4, 3, 4)
        );
    }

    #[test]
    fn invert_and_kind() {
        let mut o = text(Filter {
            invert: true,
            matching: true,
            ..Filter::default()
        });
        o.line_numbers = true;
        assert_eq!(go(o).0, "2:plain\r\n");
        let (out, r) = go(text(Filter {
            kind: Some(KindFilter::Fraud),
            ..Filter::default()
        }));
        assert!(out.starts_with("b Call Status: 132 (Fraud Reported)") && r.selected == 1);
        let mut o = text(Filter {
            unknown_only: true,
            invert: true,
            ..Filter::default()
        });
        o.output = LineOutput::Count;
        assert_eq!(go(o).1.selected, 3);
    }

    #[test]
    fn json_records_per_field() {
        let mut o = text(Filter::default());
        o.output = LineOutput::Json;
        let (out, _) = go(o);
        let records: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 4);
        assert_eq!(records[1]["line"], 3);
        assert_eq!(records[1]["field"], "Call Status");
        assert_eq!(records[1]["text"], "b Call Status: 132 x callStatus=7");
        assert_eq!(records[1]["byte_offset"], 27);
        assert_eq!(records[3]["known"], false);
    }

    #[test]
    fn colour_wraps_codes_and_annotations() {
        let mut o = text(Filter::default());
        o.palette = Some(Palette::default());
        let (out, _) = go(o);
        assert!(out.contains("\x1b["));
        let plain: String = strip_ansi(&out);
        let mut o = text(Filter::default());
        o.palette = None;
        assert_eq!(plain, go(o).0);
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn parallel_runs_give_the_same_bytes_and_counts() {
        let a = Annotator::new(&Options::default()).unwrap();
        let big = LOG.repeat(500);
        for output in [LineOutput::Text, LineOutput::Count, LineOutput::Nothing] {
            for invert in [false, true] {
                let mut o = text(Filter {
                    matching: true,
                    invert,
                    ..Filter::default()
                });
                o.output = output;
                o.with_filename = true;
                let mut one = Vec::new();
                let r1 = run(&a, &big[..], &mut one, &o, Some("f")).unwrap();
                for threads in 1..=4 {
                    let mut many = Vec::new();
                    let reader = std::io::Cursor::new(big.clone());
                    let r2 = run_parallel(&a, reader, &mut many, &o, Some("f"), threads).unwrap();
                    assert_eq!(
                        (&one, &r1),
                        (&many, &r2),
                        "{output:?} invert={invert} -j{threads}"
                    );
                }
            }
        }
    }

    #[test]
    fn counting_blocks_in_any_split_adds_up() {
        let a = Annotator::new(&Options::default()).unwrap();
        let whole = count_block(&a, LOG);
        let mut parts = count_block(&a, &LOG[..18]);
        parts.merge(&count_block(&a, &LOG[18..]));
        assert_eq!(whole, parts);
        assert_eq!((whole.lines, whole.fields), (4, 4));
    }
}
