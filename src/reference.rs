//! The field definition written as one plain regex: slow, obvious, and the yardstick for [`crate::matcher`].
//!
//! The property tests (and the fuzz targets) run both on the same input and require the same fields.
//! Nothing in the tool itself uses this module.

use crate::matcher::{FieldMatch, Shape};
use regex::bytes::{Captures, Regex};
use std::sync::OnceLock;

/// The definition from the README, as a regex. Two parts cannot be said in this regex dialect and are
/// checked after a match: the value must not be followed by a letter, digit, `_` or `.`+digit, and a
/// quoted value moves the insertion point past its closing quote.
const PATTERN: &str = r#"(?xi-u)
(?:
    <(?P<xml>callstatus)>[\ \t]*
  | \b(?P<k1>(?:raw[\ _.\-]?)?call[\ _.\-]?status|(?:mfa[\ _.\-]?)?result[\ _.\-]?code)
      (?:[\ \t]*[=:][\ \t]*|[\ \t]+)(?P<q1>['"]?)
  | \b(?P<k2>call[\ _.\-]?result|sms[\ _.\-]?(?:status|result)|mfa[\ _.\-]?(?:result|status))
      [\ \t]*[=:][\ \t]*(?P<q2>['"]?)
)
(?P<v>[0-9]{1,9})
"#;

fn regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(PATTERN).expect("reference pattern compiles"))
}

/// All fields of `hay`, left to right, found with the reference regex.
pub fn find_all(hay: &[u8]) -> Vec<FieldMatch> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(c) = regex().captures_at(hay, pos) {
        let whole = c.get(0).expect("group 0");
        match accept(hay, &c) {
            Some(m) => {
                pos = m.insert_at;
                out.push(m);
            }
            None => pos = whole.start() + 1,
        }
        if pos > hay.len() {
            break;
        }
    }
    out
}

fn accept(hay: &[u8], c: &Captures<'_>) -> Option<FieldMatch> {
    let v = c.name("v")?;
    match hay.get(v.end()) {
        Some(b) if b.is_ascii_alphanumeric() || *b == b'_' => return None,
        Some(b'.') if hay.get(v.end() + 1).is_some_and(u8::is_ascii_digit) => return None,
        _ => {}
    }
    let (key, shape) = match (c.name("xml"), c.name("k1"), c.name("k2")) {
        (Some(k), _, _) => (k, Shape::Xml),
        (_, Some(k), _) => (k, Shape::KeyValue),
        (_, _, Some(k)) => (k, Shape::KeyValue),
        _ => unreachable!("one alternative matched"),
    };
    let quote = c
        .name("q1")
        .or(c.name("q2"))
        .and_then(|q| q.as_bytes().first().copied());
    let insert_at = match quote {
        Some(q) if hay.get(v.end()) == Some(&q) => v.end() + 1,
        _ => v.end(),
    };
    let code = std::str::from_utf8(v.as_bytes()).ok()?.parse().ok()?;
    Some(FieldMatch {
        start: c.get(0)?.start(),
        key_start: key.start(),
        key_end: key.end(),
        value_start: v.start(),
        value_end: v.end(),
        insert_at,
        code,
        shape,
    })
}
