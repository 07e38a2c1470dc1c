//! The vendor's code table: every Azure MFA / PhoneFactor call and SMS result code and its description.
//!
//! This module owns the fixed table from Netop KB article 366 ("Azure Multi-Factor API result codes"):
//! codes 1-25 describe the result of the call or text message, codes 100-142 are errors. The text is kept
//! exactly as the vendor wrote it (including the three "Used Cache" entries and "IN Mode Not Allowed").
//! A code describes the phone call or SMS, not whether authentication succeeded, so nothing here says
//! "success" or "failure".
//!
//! Lookup is a direct index into a 143-entry array: O(1), no hashing, no search.

use std::fmt;

/// What a code reports: the outcome of the call or SMS, or an error placing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Codes 1-25: what happened on the call or text message.
    Result,
    /// Codes 100-142: the call or text message could not be completed as asked.
    Error,
}

impl Kind {
    /// The lowercase name used in annotations (`{kind}`), filters and JSON: `result` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Result => "result",
            Kind::Error => "error",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the vendor table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The number as it appears in logs (without leading zeros).
    pub number: u16,
    /// The vendor's description, verbatim.
    pub description: &'static str,
    /// `Result` for 1-25, `Error` for 100-142.
    pub kind: Kind,
    /// True for the two codes that report fraud: 112 "Fraud Code Entered" and 132 "Fraud Reported".
    pub fraud: bool,
}

/// Builds an entry; the kind and the fraud mark follow from the number alone.
const fn code(number: u16, description: &'static str) -> Code {
    Code {
        number,
        description,
        kind: if number <= 25 {
            Kind::Result
        } else {
            Kind::Error
        },
        fraud: number == 112 || number == 132,
    }
}

/// The whole table in ascending order of code.
static CODES: [Code; 68] = [
    code(1, "PIN Entered"),
    code(2, "No PIN Entered"),
    code(3, "# Not Pressed After Entry"),
    code(4, "No Phone Input - Timed Out"),
    code(5, "PIN Expired and Not Changed"),
    code(6, "Used Cache"),
    code(7, "Bypassed Auth"),
    code(8, "Used Cache"),
    code(9, "Used Cache"),
    code(10, "Call Disconnected"),
    code(11, "Call Timed Out"),
    code(12, "Invalid Phone Input"),
    code(13, "Got Voicemail"),
    code(14, "User is Blocked"),
    code(15, "Status Pending"),
    code(16, "Voiceprint Succeeded"),
    code(17, "Voiceprint Enrolled"),
    code(18, "Voiceprint Expired and Not Changed"),
    code(19, "Text Message Authenticated"),
    code(20, "Text Message Sent"),
    code(21, "Mobile App Authenticated"),
    code(22, "OATH Code Pending"),
    code(23, "OATH Code Verified"),
    code(24, "Fallback OATH Code Verified"),
    code(25, "Fallback Security Questions Answered"),
    code(100, "Invalid Phone Number"),
    code(101, "Call Already In Progress"),
    code(102, "Phone Unreachable"),
    code(103, "International Calls Not Allowed"),
    code(104, "IN Mode Not Allowed"),
    code(105, "Account Locked"),
    code(106, "Invalid Message"),
    code(107, "Invalid Phone Number Format"),
    code(108, "User Hung Up the Phone"),
    code(109, "Insufficient Balance"),
    code(110, "Phone Extensions Not Allowed"),
    code(111, "Invalid Extension"),
    code(112, "Fraud Code Entered"),
    code(113, "Rollover Not Allowed"),
    code(114, "Return PIN Mode Not Allowed"),
    code(115, "Event Confirmation Not Allowed"),
    code(116, "Invalid Event Parameter"),
    code(117, "Unable to Place Call"),
    code(118, "Voiceprint Failed"),
    code(119, "Voiceprint Mode Not Allowed"),
    code(120, "Text Message Could Not Be Sent"),
    code(121, "No Text Message Reply Received"),
    code(122, "Text Message OTP Incorrect"),
    code(123, "Text Message OTP + PIN Incorrect"),
    code(124, "Text Message Mode Not Allowed"),
    code(125, "Localization Not Allowed"),
    code(126, "User Licenses Exceeded"),
    code(127, "Text Message User Licenses Exceeded"),
    code(128, "Voiceprint User Licenses Exceeded"),
    code(129, "Mobile App Denied"),
    code(130, "Mobile App Invalid PIN"),
    code(131, "Mobile App PIN Not Changed"),
    code(132, "Fraud Reported"),
    code(133, "Mobile App No Response"),
    code(134, "Mobile App Mode Not Allowed"),
    code(135, "Mobile App All Devices Blocked"),
    code(136, "Mobile App Notification Failed"),
    code(137, "Mobile App Invalid Result"),
    code(138, "OATH Code Incorrect"),
    code(139, "Duplicate OATH Code"),
    code(140, "OATH Code Out of Date"),
    code(141, "OATH Token Mode Not Allowed"),
    code(142, "OATH Code Result Timeout"),
];

/// The highest code in the table; the index below has one slot per number up to it.
pub const MAX_CODE: u32 = 142;

/// Slot `n` holds the position of code `n` in `CODES`, or `NONE`.
const NONE: u8 = u8::MAX;
static INDEX: [u8; MAX_CODE as usize + 1] = build_index();

const fn build_index() -> [u8; MAX_CODE as usize + 1] {
    let mut index = [NONE; MAX_CODE as usize + 1];
    let mut i = 0;
    while i < CODES.len() {
        index[CODES[i].number as usize] = i as u8;
        i += 1;
    }
    index
}

/// Looks a code up by number in constant time. Returns `None` for numbers the vendor does not define
/// (0, 26-99, 143 and above).
///
/// ```
/// let c = mfa_annotate::codes::lookup(129).unwrap();
/// assert_eq!(c.description, "Mobile App Denied");
/// assert_eq!(c.kind, mfa_annotate::codes::Kind::Error);
/// assert!(mfa_annotate::codes::lookup(99).is_none());
/// ```
pub fn lookup(number: u32) -> Option<&'static Code> {
    let slot = *INDEX.get(number as usize)?;
    if slot == NONE {
        None
    } else {
        Some(&CODES[slot as usize])
    }
}

/// Every code of the table, in ascending order.
pub fn all() -> &'static [Code] {
    &CODES
}

/// One entry of a [`Table`]: the built-in text, or a description from a `--codes-file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The number as it appears in logs.
    pub number: u32,
    /// The description.
    pub description: String,
    /// `Result` or `Error` (codes added by a codes file: `Result` below 100, `Error` from 100).
    pub kind: Kind,
    /// 112 and 132.
    pub fraud: bool,
}

impl Entry {
    /// The kind as shown to people: `result`, `error`, or `error (fraud)`.
    pub fn kind_label(&self) -> String {
        if self.fraud {
            format!("{} (fraud)", self.kind)
        } else {
            self.kind.to_string()
        }
    }
}

/// The highest number a codes file may define (the table is indexed directly by number).
pub const MAX_FILE_CODE: u32 = 65_535;

/// The code table in use: the vendor table, possibly extended or overridden by a codes file
/// (`--codes-file`). Lookup is a direct index, O(1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    slots: Vec<Option<Entry>>,
}

/// A malformed codes file line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct TableError {
    /// The file, as named.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl Default for Table {
    fn default() -> Self {
        Table::builtin()
    }
}

impl Table {
    /// The vendor table.
    pub fn builtin() -> Table {
        let mut slots = vec![None; MAX_CODE as usize + 1];
        for c in all() {
            slots[c.number as usize] = Some(Entry {
                number: u32::from(c.number),
                description: c.description.to_string(),
                kind: c.kind,
                fraud: c.fraud,
            });
        }
        Table { slots }
    }

    /// The entry for `number`, if the table has one.
    #[inline]
    pub fn get(&self, number: u32) -> Option<&Entry> {
        self.slots.get(number as usize)?.as_ref()
    }

    /// Every entry, in ascending order of number.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }

    /// The highest number in the table.
    pub fn max(&self) -> u32 {
        self.entries().last().map_or(0, |e| e.number)
    }

    /// Adds or overrides entries from a codes file: lines `code<TAB>description`, in the format of the
    /// vendor table (`code<TAB>description` header line, `#` comments and blank lines allowed). `file`
    /// names the file in errors.
    pub fn merge_tsv(&mut self, text: &str, file: &str) -> Result<(), TableError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            let fail = |reason: &str| TableError {
                file: file.to_string(),
                line: i + 1,
                reason: reason.to_string(),
            };
            if line.trim().is_empty()
                || line.starts_with('#')
                || (i == 0 && line == "code\tdescription")
            {
                continue;
            }
            let (number, description) = line
                .split_once('\t')
                .ok_or_else(|| fail("expected `code<TAB>description`"))?;
            let number: u32 = number
                .trim()
                .parse()
                .map_err(|_| fail(&format!("{:?} is not a code number", number.trim())))?;
            if number > MAX_FILE_CODE {
                return Err(fail(&format!("code {number} is above {MAX_FILE_CODE}")));
            }
            let description = description.trim();
            if description.is_empty() {
                return Err(fail("empty description"));
            }
            if self.slots.len() <= number as usize {
                self.slots.resize(number as usize + 1, None);
            }
            let slot = &mut self.slots[number as usize];
            let (kind, fraud) = match slot {
                Some(e) => (e.kind, e.fraud),
                None => (
                    if number < 100 {
                        Kind::Result
                    } else {
                        Kind::Error
                    },
                    false,
                ),
            };
            *slot = Some(Entry {
                number,
                description: description.to_string(),
                kind,
                fraud,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendor table as shipped in the shared folder beside the project (the source of truth).
    fn vendor_table() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/codes.tsv");
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
    }

    #[test]
    fn table_matches_vendor_file_entry_by_entry() {
        let text = vendor_table();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("code\tdescription"));
        let mut count = 0;
        for (line, entry) in lines.zip(all()) {
            let (number, description) = line.split_once('\t').expect("tab-separated line");
            assert_eq!(
                entry.number,
                number.parse::<u16>().unwrap(),
                "line {line:?}"
            );
            assert_eq!(entry.description, description, "code {number}");
            let found = lookup(entry.number as u32).expect("indexed");
            assert_eq!(found, entry);
            count += 1;
        }
        assert_eq!(count, 68);
        assert_eq!(text.lines().count(), 69, "no extra or missing lines");
    }

    #[test]
    fn kinds_and_fraud_marks() {
        for n in 0..=1000 {
            match lookup(n) {
                Some(c) if n <= 25 => assert_eq!(c.kind, Kind::Result),
                Some(c) => {
                    assert!((100..=142).contains(&n));
                    assert_eq!(c.kind, Kind::Error);
                    assert_eq!(c.fraud, n == 112 || n == 132);
                }
                None => assert!(n == 0 || (26..=99).contains(&n) || n > 142, "{n}"),
            }
        }
        assert_eq!(all().iter().filter(|c| c.fraud).count(), 2);
    }

    #[test]
    fn the_runtime_table_starts_as_the_vendor_table() {
        let t = Table::builtin();
        assert_eq!(t.entries().count(), 68);
        assert_eq!(t.max(), 142);
        assert_eq!(t.get(132).unwrap().kind_label(), "error (fraud)");
        assert!(t.get(99).is_none() && t.get(1_000_000).is_none());
    }

    #[test]
    fn a_codes_file_overrides_and_adds() {
        let mut t = Table::builtin();
        let file = "code\tdescription\n# Danish\n129\tMobilapp afvist\r\n\n150\tNew error\n42\tNew result\n";
        t.merge_tsv(file, "da.tsv").unwrap();
        assert_eq!(t.get(129).unwrap().description, "Mobilapp afvist");
        assert_eq!(t.get(129).unwrap().kind, Kind::Error);
        assert_eq!(t.get(150).unwrap().kind, Kind::Error);
        assert_eq!(t.get(42).unwrap().kind, Kind::Result);
        assert_eq!(t.entries().count(), 70);
        for (bad, line) in [
            ("1\tok\nx\ty\n", 2),
            ("12 no tab\n", 1),
            ("5\t \n", 1),
            ("70000\tbig\n", 1),
        ] {
            let err = Table::builtin().merge_tsv(bad, "bad.tsv").unwrap_err();
            assert_eq!((err.file.as_str(), err.line), ("bad.tsv", line), "{bad:?}");
            assert!(err.to_string().starts_with(&format!("bad.tsv:{line}: ")));
        }
    }

    #[test]
    fn verbatim_oddities_are_kept() {
        for n in [6, 8, 9] {
            assert_eq!(lookup(n).unwrap().description, "Used Cache");
        }
        assert_eq!(lookup(104).unwrap().description, "IN Mode Not Allowed");
        assert_eq!(lookup(3).unwrap().description, "# Not Pressed After Entry");
        assert_eq!(lookup(u32::MAX), None);
    }
}
