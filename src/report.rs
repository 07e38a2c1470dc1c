//! What is reported besides annotated text: stats (counts per code, with a bar chart), the JSON record of
//! one field (`--json`), and the code lookups (`--explain`, `--list-codes`, `--search`).
//!
//! This module owns the wording and the JSON shapes; it counts nothing itself ([`crate::lines`] does).

use crate::codes::{Entry, Table};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Counts from a run; merging two gives exactly the counts of the two inputs together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines read (a last line without a newline counts).
    pub lines: u64,
    /// Lines with at least one field.
    pub lines_with_fields: u64,
    /// Fields recognised.
    pub fields: u64,
    /// Fields per code.
    pub per_code: BTreeMap<u32, u64>,
}

/// Numbers with their counts.
type CodeCounts = Vec<(u32, u64)>;

/// Width of the longest bar in the text summary.
const BAR_WIDTH: u64 = 40;

impl Stats {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Stats) {
        self.lines += other.lines;
        self.lines_with_fields += other.lines_with_fields;
        self.fields += other.fields;
        for (code, n) in &other.per_code {
            *self.per_code.entry(*code).or_default() += n;
        }
    }

    /// Known codes sorted by count (most first, ties by code), and unknown codes by number.
    fn split<'t>(&self, table: &'t Table) -> (Vec<(&'t Entry, u64)>, CodeCounts) {
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for (&code, &n) in &self.per_code {
            match table.get(code) {
                Some(e) => known.push((e, n)),
                None => unknown.push((code, n)),
            }
        }
        known.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.number.cmp(&b.0.number)));
        (known, unknown)
    }

    /// The summary as text, with a bar per code; `title` (a file name) goes on the first line.
    pub fn to_text(&self, table: &Table, title: Option<&str>) -> String {
        let mut s = String::new();
        if let Some(t) = title {
            let _ = writeln!(s, "== {t}");
        }
        let _ = writeln!(s, "lines read: {}", self.lines);
        let _ = writeln!(s, "lines with fields: {}", self.lines_with_fields);
        let _ = writeln!(s, "fields: {}", self.fields);
        let (known, unknown) = self.split(table);
        let most = known.iter().map(|k| k.1).max().unwrap_or(1).max(1);
        let desc_width = known
            .iter()
            .map(|(e, _)| e.description.chars().count())
            .max()
            .unwrap_or(0);
        let count_width = known
            .iter()
            .map(|k| k.1.to_string().len())
            .max()
            .unwrap_or(1)
            .max(5);
        if !known.is_empty() {
            let _ = writeln!(
                s,
                "{:>5}  {:>count_width$}  {:<13}  {:<desc_width$}",
                "code", "count", "kind", "description"
            );
        }
        for (e, n) in &known {
            let bar = "█".repeat(n.saturating_mul(BAR_WIDTH).div_ceil(most) as usize);
            let _ = writeln!(
                s,
                "{:>5}  {:>count_width$}  {:<13}  {:<desc_width$}  {bar}",
                e.number,
                n,
                e.kind_label(),
                e.description
            );
        }
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().map(|(c, n)| format!("{c} ({n})")).collect();
            let _ = writeln!(s, "unknown codes: {}", list.join(", "));
        }
        s
    }

    /// The summary as one JSON object; `path` is null for a total.
    pub fn to_json(&self, table: &Table, path: Option<&str>) -> Value {
        let (known, unknown) = self.split(table);
        json!({
            "path": path,
            "lines": self.lines,
            "lines_with_fields": self.lines_with_fields,
            "fields": self.fields,
            "codes": known.iter().map(|(e, n)| json!({
                "code": e.number,
                "count": n,
                "description": e.description,
                "kind": e.kind.as_str(),
                "fraud": e.fraud,
                "known": true,
            })).collect::<Vec<_>>(),
            "unknown": unknown.iter().map(|(c, n)| json!({"code": c, "count": n})).collect::<Vec<_>>(),
        })
    }
}

/// Where a field is, for its JSON record.
#[derive(Debug, Clone, Copy)]
pub struct FieldAt<'a> {
    /// The input's path; `None` for stdin.
    pub path: Option<&'a str>,
    /// 1-based line number.
    pub line: u64,
    /// Offset of the field's first byte in the input.
    pub byte_offset: u64,
    /// The key as written.
    pub key: &'a [u8],
    /// The code.
    pub code: u32,
    /// The whole line, without its line ending.
    pub text: &'a [u8],
}

/// The JSON record of one field (one line of `--json` output, without the newline). Invalid UTF-8 in
/// the line is replaced in `text` and kept exactly, base64-encoded, in `text_bytes`.
pub fn field_json(at: &FieldAt<'_>, table: &Table) -> String {
    let entry = table.get(at.code);
    let mut record = json!({
        "path": at.path,
        "line": at.line,
        "byte_offset": at.byte_offset,
        "field": String::from_utf8_lossy(at.key),
        "code": at.code,
        "description": entry.map(|e| e.description.as_str()),
        "kind": entry.map_or("unknown", |e| e.kind.as_str()),
        "known": entry.is_some(),
        "fraud": entry.is_some_and(|e| e.fraud),
        "text": String::from_utf8_lossy(at.text),
    });
    if std::str::from_utf8(at.text).is_err() {
        record["text_bytes"] =
            Value::from(base64::engine::general_purpose::STANDARD.encode(at.text));
    }
    record.to_string()
}

/// One aligned row of a code listing.
fn row(e: &Entry) -> String {
    format!("{:>5}  {:<13}  {}", e.number, e.kind_label(), e.description)
}

/// `--explain`: a row per number, or a line saying it is unknown. Returns the text and whether any
/// number was unknown.
pub fn explain(numbers: &[u32], table: &Table) -> (String, bool) {
    let mut s = String::new();
    let mut unknown = false;
    for &n in numbers {
        match table.get(n) {
            Some(e) => s.push_str(&row(e)),
            None => {
                unknown = true;
                let _ = write!(s, "{n:>5}  {:<13}  not in the code table", "unknown");
            }
        }
        s.push('\n');
    }
    (s, unknown)
}

/// `--list-codes`: the whole table, aligned.
pub fn list(table: &Table) -> String {
    table.entries().map(|e| row(e) + "\n").collect()
}

/// `--list-codes --json`: the whole table as a JSON array.
pub fn list_json(table: &Table) -> String {
    let all: Vec<Value> = table
        .entries()
        .map(|e| json!({"code": e.number, "description": e.description, "kind": e.kind.as_str(), "fraud": e.fraud}))
        .collect();
    Value::from(all).to_string()
}

/// `--search`: the rows of the codes whose description contains every word, in any case.
pub fn search(words: &[String], table: &Table) -> String {
    let words: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    table
        .entries()
        .filter(|e| {
            let d = e.description.to_lowercase();
            words.iter().all(|w| d.contains(w.as_str()))
        })
        .map(|e| row(e) + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_summary_has_counts_bars_and_unknowns() {
        let t = Table::builtin();
        let mut s = Stats {
            lines: 10,
            lines_with_fields: 4,
            fields: 5,
            ..Stats::default()
        };
        s.per_code.insert(129, 2);
        s.per_code.insert(20, 2);
        s.per_code.insert(99, 1);
        let text = s.to_text(&t, None);
        assert!(text.contains("lines read: 10\nlines with fields: 4\nfields: 5\n"));
        let rows: Vec<&str> = text.lines().filter(|l| l.contains('█')).collect();
        assert!(
            rows[0].contains("20") && rows[0].contains("Text Message Sent"),
            "ties by code"
        );
        assert!(rows[1].contains("Mobile App Denied"));
        assert!(text.ends_with("unknown codes: 99 (1)\n"));
        let j = s.to_json(&t, Some("x.log"));
        assert_eq!(j["codes"][1]["code"], 129);
        assert_eq!(j["unknown"][0]["count"], 1);
    }

    #[test]
    fn merging_adds_exactly() {
        let mut a = Stats::default();
        a.per_code.insert(7, 1);
        let mut b = Stats {
            lines: 3,
            ..Stats::default()
        };
        b.per_code.insert(7, 2);
        b.per_code.insert(8, 1);
        a.merge(&b);
        assert_eq!((a.lines, a.per_code[&7], a.per_code[&8]), (3, 3, 1));
    }

    #[test]
    fn field_records_keep_invalid_utf8() {
        let t = Table::builtin();
        let at = FieldAt {
            path: None,
            line: 3,
            byte_offset: 40,
            key: b"callStatus",
            code: 132,
            text: b"\xffcallStatus=132",
        };
        let v: Value = serde_json::from_str(&field_json(&at, &t)).unwrap();
        assert_eq!(v["path"], Value::Null);
        assert_eq!(v["fraud"], true);
        assert_eq!(v["text"], "\u{FFFD}callStatus=132");
        assert_eq!(v["text_bytes"], "/2NhbGxTdGF0dXM9MTMy");
    }

    #[test]
    fn lookups() {
        let t = Table::builtin();
        let (text, unknown) = explain(&[129, 143], &t);
        assert!(text.contains("Mobile App Denied") && text.contains("143") && unknown);
        assert_eq!(list(&t).lines().count(), 68);
        assert_eq!(
            search(&["oath".into(), "TIMEOUT".into()], &t).trim(),
            row(t.get(142).unwrap()).trim()
        );
        let all: Value = serde_json::from_str(&list_json(&t)).unwrap();
        assert_eq!(all.as_array().unwrap().len(), 68);
    }
}
