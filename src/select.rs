//! Which fields and lines a run keeps: `--code`, `--kind`, `--unknown-only`, `-m` and `-v`.
//!
//! This module owns the filter semantics. A field matches when it satisfies every field filter given;
//! a line is selected when at least one of its fields matches (with `-v`, when none does).

use crate::codes::{Kind, Table};
use std::fmt;
use std::str::FromStr;

/// A set of codes from `--code`: numbers and ranges, `129,132` or `100-142`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSet {
    ranges: Vec<(u32, u32)>,
}

/// Why a `--code` list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid code list {0:?}: use numbers and ranges such as 129,132 or 100-142")]
pub struct CodeSetError(String);

impl FromStr for CodeSet {
    type Err = CodeSetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CodeSetError(s.to_string());
        let mut ranges = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (lo.trim(), hi.trim()),
                None => (part, part),
            };
            let lo: u32 = lo.parse().map_err(|_| err())?;
            let hi: u32 = hi.parse().map_err(|_| err())?;
            if lo > hi {
                return Err(err());
            }
            ranges.push((lo, hi));
        }
        Ok(CodeSet { ranges })
    }
}

impl CodeSet {
    /// True when `code` is in the set.
    pub fn contains(&self, code: u32) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

/// `--kind`: result, error, or fraud (112 and 132, which are errors too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindFilter {
    /// Codes 1-25 (and codes added below 100).
    Result,
    /// Codes 100-142 (and codes added from 100).
    Error,
    /// 112 and 132.
    Fraud,
}

impl fmt::Display for KindFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KindFilter::Result => "result",
            KindFilter::Error => "error",
            KindFilter::Fraud => "fraud",
        })
    }
}

/// The filters of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `--code`.
    pub codes: Option<CodeSet>,
    /// `--kind`.
    pub kind: Option<KindFilter>,
    /// `--unknown-only`.
    pub unknown_only: bool,
    /// `-m`: lines with at least one field (implied by the field filters).
    pub matching: bool,
    /// `-v`: the lines the filter would drop.
    pub invert: bool,
}

impl Filter {
    /// True when the run selects lines rather than passing everything through.
    pub fn selects_lines(&self) -> bool {
        self.matching || self.invert || self.has_field_filter()
    }

    /// True when some field filter (`--code`, `--kind`, `--unknown-only`) is given.
    pub fn has_field_filter(&self) -> bool {
        self.codes.is_some() || self.kind.is_some() || self.unknown_only
    }

    /// True when a field with this code passes every field filter.
    pub fn field_matches(&self, code: u32, table: &Table) -> bool {
        let entry = table.get(code);
        if self.unknown_only && entry.is_some() {
            return false;
        }
        if let Some(codes) = &self.codes {
            if !codes.contains(code) {
                return false;
            }
        }
        match (self.kind, entry) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(KindFilter::Fraud), Some(e)) => e.fraud,
            (Some(KindFilter::Result), Some(e)) => e.kind == Kind::Result,
            (Some(KindFilter::Error), Some(e)) => e.kind == Kind::Error,
        }
    }

    /// Whether a line whose fields have these codes is selected.
    pub fn line_selected(&self, codes: impl IntoIterator<Item = u32>, table: &Table) -> bool {
        let matched = codes.into_iter().any(|c| self.field_matches(c, table));
        matched != self.invert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lists() {
        let set: CodeSet = "129, 132,100-110".parse().unwrap();
        assert!(set.contains(129) && set.contains(132) && set.contains(100) && set.contains(110));
        assert!(!set.contains(111) && !set.contains(1));
        for bad in ["", "abc", "5-2", "1,,2", "-3", "1-"] {
            assert!(bad.parse::<CodeSet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fields_and_lines() {
        let t = Table::builtin();
        let f = Filter {
            kind: Some(KindFilter::Fraud),
            ..Filter::default()
        };
        assert!(f.field_matches(132, &t) && f.field_matches(112, &t) && !f.field_matches(129, &t));
        let e = Filter {
            kind: Some(KindFilter::Error),
            codes: Some("1-130".parse().unwrap()),
            ..Filter::default()
        };
        assert!(e.field_matches(129, &t) && !e.field_matches(132, &t) && !e.field_matches(20, &t));
        let u = Filter {
            unknown_only: true,
            ..Filter::default()
        };
        assert!(u.field_matches(99, &t) && !u.field_matches(7, &t));
        assert!(u.line_selected([7, 99], &t));
        let v = Filter {
            invert: true,
            matching: true,
            ..Filter::default()
        };
        assert!(!v.line_selected([7], &t) && v.line_selected([], &t));
    }
}
