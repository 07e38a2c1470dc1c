//! Rewriting one buffer: inserting annotations after fields, leaving existing ones alone, or stripping them.
//!
//! This module owns the pure byte-to-byte rewrite. It is given bytes, writes bytes, and never reads or
//! writes files: [`crate::stream`] feeds it blocks of whole lines. Its promises, checked by the property
//! tests:
//! - the output is the input plus annotations inserted at field insertion points, nothing else changes;
//! - it is idempotent: where the exact annotation already follows a field, nothing is inserted;
//! - [`Mode::Strip`] removes exactly those annotations, so `strip(annotate(x)) == strip(x)`.

use crate::codes;
use crate::matcher::{is_joiner, is_word, may_be_in_field, Matcher};
use crate::template::{Template, UNKNOWN_DESCRIPTION, UNKNOWN_KIND};
use std::borrow::Cow;

/// What a rewrite does at each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Insert the annotation unless it is already there.
    #[default]
    Annotate,
    /// Remove the annotation where it is there.
    Strip,
}

/// What to do with a number that is not in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unknown {
    /// Annotate it as ` (unknown MFA result code)` (with the default template).
    #[default]
    Annotate,
    /// Leave it as it is.
    Keep,
}

/// Everything that decides how a buffer is rewritten.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The code table (the vendor's, or merged with a codes file).
    pub table: codes::Table,
    /// The annotation text.
    pub template: Template,
    /// Unknown numbers: annotate or keep.
    pub unknown: Unknown,
    /// Annotate or strip.
    pub mode: Mode,
}

/// Why an [`Annotator`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A rendered annotation would break idempotence or `--strip` (see [`Annotator::new`]).
    #[error("the annotation {text:?} (for code {code}) {reason}")]
    UnsafeAnnotation {
        /// The code it was rendered for (`0` stands for unknown numbers).
        code: u32,
        /// The rendered text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Receives the pieces of a rewrite from [`Annotator::rewrite_with`].
pub trait Emit {
    /// Bytes passed through.
    fn text(&mut self, bytes: &[u8]);
    /// The digits of a field's value.
    fn code(&mut self, digits: &[u8], code: u32);
    /// An annotation (inserted, or already there).
    fn annotation(&mut self, text: &[u8], code: u32);
}

/// What one rewrite did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Fields recognised.
    pub fields: u64,
    /// Annotations inserted (annotate) or removed (strip).
    pub changed: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.fields += o.fields;
        self.changed += o.changed;
    }
}

/// Rewrites buffers. Built once from [`Options`]; every annotation is rendered up front, so the hot loop
/// only indexes a table. Cheap to share between threads and to clone.
#[derive(Debug, Clone)]
pub struct Annotator {
    matcher: Matcher,
    table: std::sync::Arc<codes::Table>,
    /// `known[n]` is the annotation for table code `n` (empty for numbers not in the table).
    known: std::sync::Arc<[Box<[u8]>]>,
    /// The annotation for numbers not in the table (rendered per number instead when the template
    /// uses `{code}`).
    unknown: Box<[u8]>,
    /// The template, kept to render `{code}` for numbers not in the table.
    template: Template,
    annotate_unknown: bool,
    mode: Mode,
    /// `cut_after[b]`: a stream may be cut after byte `b` without splitting a field or an annotation.
    cut_after: [bool; 256],
    /// The length of the longest annotation this annotator inserts or strips.
    max_annotation: usize,
}

impl Annotator {
    /// Builds an annotator, rendering the template for every code.
    ///
    /// A template is refused when one of its renderings could break the promises above: it must not
    /// contain a line break (rewrites are line-local), must not start with a letter, digit, `_`, `.` or
    /// quote (that would change the value it follows), must not end with a letter, digit, joiner or `<`
    /// (that could start a new field with the text after it), and must not contain a field itself.
    pub fn new(options: &Options) -> Result<Self, ConfigError> {
        let matcher = Matcher::new();
        let render = |code: u32, desc: &str, kind: &str| -> Result<Box<[u8]>, ConfigError> {
            let text = options.template.render(code, desc, kind);
            check(&matcher, code, &text)?;
            Ok(text.into_bytes().into_boxed_slice())
        };
        let max = options.table.max();
        let mut known = Vec::with_capacity(max as usize + 1);
        for n in 0..=max {
            known.push(match options.table.get(n) {
                Some(c) => render(n, &c.description, c.kind.as_str())?,
                None => Box::default(),
            });
        }
        let unknown = render(0, UNKNOWN_DESCRIPTION, UNKNOWN_KIND)?;
        let widest_unknown = options
            .template
            .render(999_999_999, UNKNOWN_DESCRIPTION, UNKNOWN_KIND)
            .len();
        let max_annotation = known
            .iter()
            .map(|t| t.len())
            .chain([unknown.len(), widest_unknown])
            .max()
            .unwrap_or(0);
        // A cut is safe after a newline, or after a byte that no field contains and that no annotation
        // contains except as its last byte: then every field and every annotation lies wholly on one side.
        let mut cut_after = [false; 256];
        for (b, safe) in cut_after.iter_mut().enumerate() {
            *safe = !may_be_in_field(b as u8);
        }
        for text in known.iter().chain([&unknown]) {
            if let Some((_, inner)) = text.split_last() {
                for &b in inner {
                    cut_after[b as usize] = false;
                }
            }
        }
        // `{code}` of an unknown number renders digits, which no cut byte is anyway.
        cut_after[b'\n' as usize] = true;
        Ok(Annotator {
            matcher,
            table: std::sync::Arc::new(options.table.clone()),
            known: known.into(),
            unknown,
            template: options.template.clone(),
            annotate_unknown: options.unknown == Unknown::Annotate,
            mode: options.mode,
            cut_after,
            max_annotation,
        })
    }

    /// The code table this annotator uses.
    pub fn table(&self) -> &codes::Table {
        &self.table
    }

    /// The field matcher this annotator uses.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// True when a stream may be cut right after byte `b`: no field and no annotation spans such a cut,
    /// so the two sides can be rewritten independently (and in parallel) with the same result as the
    /// whole. Newlines are always cut bytes; see [`crate::stream`].
    #[inline]
    pub fn cut_after(&self, b: u8) -> bool {
        self.cut_after[b as usize]
    }

    /// The table behind [`Annotator::cut_after`], for code that splits streams on its own thread.
    pub fn cut_table(&self) -> [bool; 256] {
        self.cut_after
    }

    /// The length of the longest annotation this annotator inserts or strips (see [`crate::cut`]).
    pub fn max_annotation_len(&self) -> usize {
        self.max_annotation
    }

    /// True when the annotation for `code` is present at `buf[insert_at..]` and reaches past `cut`: a
    /// rewrite of `buf[..cut]` alone would not see it (see [`crate::cut`]).
    pub(crate) fn annotation_present(
        &self,
        buf: &[u8],
        insert_at: usize,
        code: u32,
        cut: usize,
    ) -> bool {
        let (text, _) = self.annotation(code);
        insert_at + text.len() > cut && buf[insert_at..].starts_with(&text)
    }

    /// The annotation for `code`, and whether annotate mode inserts it.
    #[inline]
    fn annotation(&self, code: u32) -> (Cow<'_, [u8]>, bool) {
        match self.known.get(code as usize) {
            Some(a) if !a.is_empty() => (Cow::Borrowed(a), true),
            _ if self.template.uses_code() => {
                let text = self
                    .template
                    .render(code, UNKNOWN_DESCRIPTION, UNKNOWN_KIND);
                (Cow::Owned(text.into_bytes()), self.annotate_unknown)
            }
            _ => (Cow::Borrowed(&self.unknown), self.annotate_unknown),
        }
    }

    /// Rewrites `input` into `out` (appending) and returns what it did.
    ///
    /// `input` is taken as a whole: the start of the input and its end. To rewrite a stream in pieces,
    /// cut it only after a byte for which [`Annotator::cut_after`] is true; then the pieces give the
    /// same bytes as the whole.
    pub fn rewrite(&self, input: &[u8], out: &mut Vec<u8>) -> Counts {
        let mut counts = Counts::default();
        let mut copied = 0;
        self.matcher.scan(input, |f| {
            counts.fields += 1;
            let (text, insert) = self.annotation(f.code);
            let present = starts_with(&input[f.insert_at..], &text);
            match self.mode {
                Mode::Annotate if insert && !present => {
                    out.extend_from_slice(&input[copied..f.insert_at]);
                    out.extend_from_slice(&text);
                    copied = f.insert_at;
                    counts.changed += 1;
                    f.insert_at
                }
                Mode::Strip if present && !text.is_empty() => {
                    out.extend_from_slice(&input[copied..f.insert_at]);
                    copied = f.insert_at + text.len();
                    counts.changed += 1;
                    copied
                }
                _ => f.insert_at,
            }
        });
        out.extend_from_slice(&input[copied..]);
        counts
    }

    /// Like [`Annotator::rewrite`], but hands every piece of output to `emit` with what it is (the code
    /// digits, an annotation, other text), so that it can be coloured. Slower; for terminals.
    pub fn rewrite_with<E: Emit>(&self, input: &[u8], emit: &mut E) -> Counts {
        let mut counts = Counts::default();
        let mut copied = 0;
        let mut pos = 0;
        while let Some(f) = self.matcher.find_at(input, pos) {
            counts.fields += 1;
            let (text, insert) = self.annotation(f.code);
            let present = !text.is_empty() && input[f.insert_at..].starts_with(&text);
            emit.text(&input[copied..f.value_start]);
            emit.code(&input[f.value_start..f.value_end], f.code);
            emit.text(&input[f.value_end..f.insert_at]);
            copied = f.insert_at;
            pos = f.insert_at;
            match self.mode {
                Mode::Annotate if present => {
                    emit.annotation(&text, f.code);
                    copied += text.len();
                    pos = copied;
                }
                Mode::Annotate if insert => {
                    emit.annotation(&text, f.code);
                    counts.changed += 1;
                }
                Mode::Strip if present => {
                    copied += text.len();
                    pos = copied;
                    counts.changed += 1;
                }
                _ => {}
            }
        }
        emit.text(&input[copied..]);
        counts
    }

    /// Rewrites a whole buffer and returns the result. Convenient for tests and small inputs.
    ///
    /// ```
    /// use mfa_annotate::annotate::{Annotator, Options};
    /// let a = Annotator::new(&Options::default()).unwrap();
    /// assert_eq!(a.rewrite_all(b"callStatus=129, x"), b"callStatus=129 (Mobile App Denied), x");
    /// ```
    pub fn rewrite_all(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + input.len() / 8);
        self.rewrite(input, &mut out);
        out
    }
}

/// Refuses a rendered annotation that would break idempotence or stripping (see [`Annotator::new`]).
fn check(matcher: &Matcher, code: u32, text: &str) -> Result<(), ConfigError> {
    let bytes = text.as_bytes();
    let fail = |reason| {
        Err(ConfigError::UnsafeAnnotation {
            code,
            text: text.to_string(),
            reason,
        })
    };
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return Ok(());
    };
    if bytes.iter().any(|&b| b == b'\n' || b == b'\r') {
        return fail("contains a line break");
    }
    if is_word(first) || matches!(first, b'.' | b'\'' | b'"') {
        return fail("must not start with a letter, digit, '_', '.' or quote");
    }
    if is_word(last) || is_joiner(last) || last == b'<' {
        return fail("must not end with a letter, digit, space, '_', '-', '.' or '<'");
    }
    if matcher.find_at(bytes, 0).is_some() {
        return fail("contains a result-code field itself");
    }
    Ok(())
}

/// `hay.starts_with(prefix)`, deciding most misses on the first two bytes without a call to `memcmp`
/// (the byte after a value is rarely the start of an annotation).
#[inline(always)]
fn starts_with(hay: &[u8], prefix: &[u8]) -> bool {
    match (hay.get(..2), prefix.get(..2)) {
        (Some(h), Some(p)) if h != p => false,
        _ => hay.starts_with(prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotator(template: &str, unknown: Unknown, mode: Mode) -> Annotator {
        Annotator::new(&Options {
            template: Template::parse(template).unwrap(),
            unknown,
            mode,
            ..Options::default()
        })
        .unwrap()
    }

    fn ann(s: &str) -> String {
        let a = Annotator::new(&Options::default()).unwrap();
        String::from_utf8(a.rewrite_all(s.as_bytes())).unwrap()
    }

    fn strip(s: &str) -> String {
        let a = annotator(crate::template::DEFAULT, Unknown::Annotate, Mode::Strip);
        String::from_utf8(a.rewrite_all(s.as_bytes())).unwrap()
    }

    #[test]
    fn the_real_examples_are_annotated_once() {
        let cases = [
            (
                "2017-02-14T02:57:24.600871Z|0|1412|6452|pfrad|rawCallStatus = 21\n",
                "2017-02-14T02:57:24.600871Z|0|1412|6452|pfrad|rawCallStatus = 21 (Mobile App Authenticated)\n",
            ),
            (
                "Azure MFA: Authentication Failed. callStatus=129, errorId=0\n",
                "Azure MFA: Authentication Failed. callStatus=129 (Mobile App Denied), errorId=0\n",
            ),
            (
                "Authentication failed. Call status: 132-Fraud Reported. Error: []\r\n",
                "Authentication failed. Call status: 132 (Fraud Reported)-Fraud Reported. Error: []\r\n",
            ),
            (
                "2016-06-22 13:31:22 HOST  MFA result code 20 for user CORP\\jdoe",
                "2016-06-22 13:31:22 HOST  MFA result code 20 (Text Message Sent) for user CORP\\jdoe",
            ),
            (
                "<authenticationResponse><authenticated>no</authenticated><callStatus>108</callStatus></authenticationResponse>",
                "<authenticationResponse><authenticated>no</authenticated><callStatus>108 (User Hung Up the Phone)</callStatus></authenticationResponse>",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(ann(input), expected);
            assert_eq!(ann(expected), expected, "second run adds nothing");
            assert_eq!(strip(expected), input, "strip gives the input back");
        }
    }

    #[test]
    fn quoted_values_are_annotated_after_the_quote() {
        assert_eq!(
            ann("Call Status='20'"),
            "Call Status='20' (Text Message Sent)"
        );
        assert_eq!(
            ann("x ResultCode=\"132\"/>"),
            "x ResultCode=\"132\" (Fraud Reported)/>"
        );
        assert_eq!(ann("callStatus='20"), "callStatus='20 (Text Message Sent)");
    }

    #[test]
    fn unknown_numbers() {
        for n in ["0", "99", "143", "200", "000", "26"] {
            assert_eq!(
                ann(&format!("callStatus={n};")),
                format!("callStatus={n} (unknown MFA result code);")
            );
        }
        let keep = annotator(crate::template::DEFAULT, Unknown::Keep, Mode::Annotate);
        assert_eq!(
            keep.rewrite_all(b"callStatus=99 callStatus=7"),
            b"callStatus=99 callStatus=7 (Bypassed Auth)"
        );
        // strip removes unknown annotations whatever the unknown policy
        let s = annotator(crate::template::DEFAULT, Unknown::Keep, Mode::Strip);
        assert_eq!(
            s.rewrite_all(b"callStatus=99 (unknown MFA result code)"),
            b"callStatus=99"
        );
    }

    #[test]
    fn leading_zeros_and_several_fields() {
        assert_eq!(
            ann("callStatus=007 smsResult=19"),
            "callStatus=007 (Bypassed Auth) smsResult=19 (Text Message Authenticated)"
        );
    }

    #[test]
    fn a_different_annotation_after_a_field_is_not_taken_for_ours() {
        // 5 is not "Text Message Sent": the right annotation is inserted before the wrong one
        assert_eq!(
            ann("callStatus=5 (Text Message Sent)"),
            "callStatus=5 (PIN Expired and Not Changed) (Text Message Sent)"
        );
        assert_eq!(
            strip("callStatus=129 (Mobile App Denied) (Mobile App Denied)"),
            "callStatus=129 (Mobile App Denied)"
        );
    }

    #[test]
    fn custom_templates() {
        let a = annotator(
            " [{code} {kind}: {desc}]",
            Unknown::Annotate,
            Mode::Annotate,
        );
        assert_eq!(
            a.rewrite_all(b"callStatus=0132 callStatus=5000"),
            b"callStatus=0132 [132 error: Fraud Reported] callStatus=5000 [5000 unknown: unknown MFA result code]"
        );
        let s = annotator(" [{code} {kind}: {desc}]", Unknown::Annotate, Mode::Strip);
        assert_eq!(
            s.rewrite_all(&a.rewrite_all(b"callStatus=7")),
            b"callStatus=7"
        );
        // an empty template changes nothing
        let e = annotator("", Unknown::Annotate, Mode::Annotate);
        assert_eq!(e.rewrite_all(b"callStatus=7"), b"callStatus=7");
    }

    #[test]
    fn unsafe_templates_are_refused() {
        for t in [
            "{desc}",
            " {desc}",
            "x({desc})",
            "7",
            ".({desc})",
            "'({desc})",
            " ({desc})\n",
            " (call ",
            " (callStatus=1)",
            " ({desc})<",
            " ({desc})_",
        ] {
            let r = Annotator::new(&Options {
                template: Template::parse(t).unwrap(),
                ..Options::default()
            });
            assert!(r.is_err(), "{t:?} should be refused");
        }
        for t in [
            " ({desc})",
            " [{code}]",
            ": {desc};",
            "\t# {desc} #",
            " <{kind}>",
        ] {
            let r = Annotator::new(&Options {
                template: Template::parse(t).unwrap(),
                ..Options::default()
            });
            assert!(r.is_ok(), "{t:?} should be accepted: {r:?}");
        }
    }

    #[test]
    fn bytes_around_fields_pass_through() {
        let input = b"\xff\x00callStatus=1\xfe\r\n\x00";
        let out = Annotator::new(&Options::default())
            .unwrap()
            .rewrite_all(input);
        assert_eq!(out, b"\xff\x00callStatus=1 (PIN Entered)\xfe\r\n\x00");
    }

    #[test]
    fn cut_bytes_exclude_field_and_annotation_bytes() {
        let a = Annotator::new(&Options::default()).unwrap();
        for b in [b'\n', b',', b'|', b')', b';', b'/', 0x80, 0xff] {
            assert!(a.cut_after(b), "{b}");
        }
        // field bytes, and `(`, `#`, `+` which occur inside default annotations
        for b in [
            b'a', b'7', b' ', b'=', b':', b'"', b'<', b'>', b'(', b'#', b'+',
        ] {
            assert!(!a.cut_after(b), "{b}");
        }
    }
}
