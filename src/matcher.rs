//! Finding result-code fields (`callStatus=129`, `Result Code: 20`, `<callStatus>108`) in a byte slice.
//!
//! This module owns the definition of a field and the fast search for it. It knows nothing about
//! descriptions, output or files: it reports where each field's key, value and insertion point are.
//!
//! # How the search stays fast
//! Every key ends in the word `status` or `result` (`code` only ever follows `result`), so instead of
//! running a regex over every line, the matcher looks for the case-insensitive trigrams `atu` (in
//! `st*atu*s`) and `sul` (in `re*sul*t`) with a SIMD search ([`crate::anchor`]). They are rare in ordinary
//! log text; each hit is then checked by hand, looking back for the rest of the key and forward for the separator and value. [`crate::reference`] holds the
//! same definition as a plain regex, and the property tests check that both find the same fields.

use crate::anchor::{Anchors, Window, WINDOW};

/// Whether a field is written `key = value` or as an XML element `<callStatus>value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A key, a separator (`=`, `:` or, for some keys, blanks) and a value.
    KeyValue,
    /// The opening tag `<callStatus>` followed by the value.
    Xml,
}

/// One field found in a haystack. All positions are byte offsets into that haystack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldMatch {
    /// First byte of the field: the key's first letter, or the `<` of an XML tag.
    pub start: usize,
    /// The key as written, `key_start..key_end` (for XML, the tag name without `<` and `>`).
    pub key_start: usize,
    /// End of the key (exclusive).
    pub key_end: usize,
    /// The digits of the value, `value_start..value_end`.
    pub value_start: usize,
    /// End of the digits (exclusive).
    pub value_end: usize,
    /// Where an annotation goes: right after the digits, or after the closing quote of a quoted value.
    pub insert_at: usize,
    /// The numeric value (1 to 9 digits, so it always fits).
    pub code: u32,
    /// How the field is written.
    pub shape: Shape,
}

/// The separators a key allows after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    /// `=` or `:` with optional blanks around it.
    SignOnly,
    /// As `SignOnly`, or blanks alone (`result code 129`): keys ending in `call status` or `result code`.
    SignOrBlanks,
}

/// Searches byte slices for result-code fields. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Matcher {
    anchors: Anchors,
}

/// Offset of the anchor trigram inside its word: `st|atu|s`, `re|sul|t`.
const ANCHOR_OFFSET: usize = 2;
/// Length of the two anchor words, `status` and `result`.
const WORD_LEN: usize = 6;

impl Default for Matcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Matcher {
    /// Builds the matcher for the default field definition.
    pub fn new() -> Self {
        Matcher {
            anchors: Anchors::new(),
        }
    }

    /// Finds the first field that starts at or after `pos`.
    ///
    /// Bytes before `pos` are context only: they decide whether a key starts at a word boundary, but no
    /// returned field starts before `pos`. Bytes after a value are looked at (one or two) to check that
    /// the value ends there.
    pub fn find_at(&self, hay: &[u8], pos: usize) -> Option<FieldMatch> {
        self.anchors
            .iter(hay, pos + ANCHOR_OFFSET)
            .find_map(|hit| verify(hay, pos, hit - ANCHOR_OFFSET))
    }

    /// Calls `on_field` with every field of `hay`, left to right, and goes on from the position it
    /// returns (at least the field's `insert_at`): the same fields as calling [`Matcher::find_at`]
    /// again and again with that position, found faster.
    ///
    /// Faster because the candidates are found in batches ([`Anchors::window`]), which saves a
    /// mispredicted branch per candidate; where fields are dense that is about a tenth of the time.
    #[inline]
    pub fn scan(&self, hay: &[u8], mut on_field: impl FnMut(FieldMatch) -> usize) {
        let mut window = Window::default();
        let mut pos = 0;
        let mut at = 0;
        let mut found = 0;
        while at < hay.len() {
            // fewer than one candidate per 256 bytes last time: skip empty chunks instead
            found = self
                .anchors
                .window(hay, at, &mut window, found < WINDOW / 256);
            for &offset in window.offsets(found) {
                let hit = at + usize::from(offset);
                if hit < pos + ANCHOR_OFFSET {
                    continue;
                }
                if let Some(f) = verify(hay, pos, hit - ANCHOR_OFFSET) {
                    pos = on_field(f);
                    debug_assert!(pos >= f.insert_at);
                }
            }
            at += WINDOW;
        }
    }

    /// Iterates over all fields of `hay`, left to right, without overlap.
    pub fn find_iter<'m, 'h>(&'m self, hay: &'h [u8]) -> FieldIter<'m, 'h> {
        FieldIter {
            matcher: self,
            hay,
            pos: 0,
        }
    }
}

/// Iterator returned by [`Matcher::find_iter`].
#[derive(Debug)]
pub struct FieldIter<'m, 'h> {
    matcher: &'m Matcher,
    hay: &'h [u8],
    pos: usize,
}

impl Iterator for FieldIter<'_, '_> {
    type Item = FieldMatch;

    fn next(&mut self) -> Option<FieldMatch> {
        let m = self.matcher.find_at(self.hay, self.pos)?;
        self.pos = m.insert_at;
        Some(m)
    }
}

/// A byte that may join the words of a key: `call status`, `call_status`, `call-status`, `call.status`.
#[inline]
pub(crate) fn is_joiner(b: u8) -> bool {
    matches!(b, b' ' | b'_' | b'-' | b'.')
}

/// A byte that continues a word: the key must not follow one and the value must not be followed by one.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[inline]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// True when a key may start at `at`: the byte before it (if any) is not a letter, digit or `_`.
#[inline(always)]
fn at_boundary(hay: &[u8], at: usize) -> bool {
    at == 0 || !is_word(hay[at - 1])
}

/// True when `hay[at..]` starts with `word`, a lowercase ASCII word of at most 4 letters, in any case.
/// (OR-ing 0x20 maps exactly the two cases of a letter onto the lowercase one, and no other byte.)
/// The letters are compared as one number: one branch, not one per letter.
#[inline(always)]
fn ieq(hay: &[u8], at: usize, word: &[u8]) -> bool {
    debug_assert!((1..=4).contains(&word.len()));
    match hay.get(at..at + word.len()) {
        Some(h) => fold(h) == pack(word),
        None => false,
    }
}

/// Up to 4 bytes as one little-endian number, each OR-ed with 0x20 (ASCII letters in lowercase).
#[inline(always)]
fn fold(bytes: &[u8]) -> u32 {
    pack(bytes) | (0x2020_2020 >> (8 * (4 - bytes.len())))
}

/// Up to 4 bytes as one little-endian number.
#[inline(always)]
const fn pack(bytes: &[u8]) -> u32 {
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        n |= (bytes[i] as u32) << (8 * i);
        i += 1;
    }
    n
}

/// Finds `word` (lowercase letters, any case in `hay`) ending right before `next`, or before a joiner
/// right before `next`. Returns its start, which must not be before `pos`.
#[inline(always)]
fn word_before(hay: &[u8], pos: usize, next: usize, word: &[u8]) -> Option<usize> {
    let end = if next > 0 && is_joiner(hay[next - 1]) {
        next - 1
    } else {
        next
    };
    let start = end.checked_sub(word.len())?;
    (start >= pos && ieq(hay, start, word)).then_some(start)
}

/// Checks the candidate word starting at `ws` (where an anchor trigram was found at `ws + 2`) and
/// parses the field around it, if there is one.
/// Inlined, with the helpers it calls: that measured 6% faster than calls (`examples/rewrite_speed.rs`).
#[inline(always)]
fn verify(hay: &[u8], pos: usize, ws: usize) -> Option<FieldMatch> {
    let we = ws + WORD_LEN;
    let next = *hay.get(we)?;
    // The anchor says the middle is `atu` or `sul`; check the three other letters of the word, then the
    // byte after it, which rejects most near-misses (`statusCode`, `status/`) before looking back.
    if hay[ws + 2] | 0x20 == b'a' {
        if !(hay[ws] | 0x20 == b's' && hay[ws + 1] | 0x20 == b't' && hay[ws + 5] | 0x20 == b's') {
            return None;
        }
        if !matches!(next, b' ' | b'\t' | b'=' | b':' | b'>') {
            return None;
        }
        if let Some(cs) = word_before(hay, pos, ws, b"call") {
            if next == b'>' && cs + 4 == ws && cs > pos && hay[cs - 1] == b'<' {
                return xml_value(hay, cs - 1, cs, we);
            }
            if let Some(rs) = word_before(hay, pos, cs, b"raw") {
                if at_boundary(hay, rs) {
                    return key_value(hay, rs, we, Separator::SignOrBlanks);
                }
            }
            return at_boundary(hay, cs)
                .then(|| key_value(hay, cs, we, Separator::SignOrBlanks))
                .flatten();
        }
        let start =
            word_before(hay, pos, ws, b"sms").or_else(|| word_before(hay, pos, ws, b"mfa"))?;
        at_boundary(hay, start)
            .then(|| key_value(hay, start, we, Separator::SignOnly))
            .flatten()
    } else {
        if !(hay[ws] | 0x20 == b'r' && hay[ws + 1] | 0x20 == b'e' && hay[ws + 5] | 0x20 == b't') {
            return None;
        }
        if !matches!(
            next,
            b' ' | b'\t' | b'=' | b':' | b'_' | b'-' | b'.' | b'c' | b'C'
        ) {
            return None;
        }
        if let Some(ce) = code_after(hay, we) {
            if let Some(ms) = word_before(hay, pos, ws, b"mfa") {
                if at_boundary(hay, ms) {
                    return key_value(hay, ms, ce, Separator::SignOrBlanks);
                }
            }
            return (ws >= pos && at_boundary(hay, ws))
                .then(|| key_value(hay, ws, ce, Separator::SignOrBlanks))
                .flatten();
        }
        let start = word_before(hay, pos, ws, b"call")
            .or_else(|| word_before(hay, pos, ws, b"sms"))
            .or_else(|| word_before(hay, pos, ws, b"mfa"))?;
        at_boundary(hay, start)
            .then(|| key_value(hay, start, we, Separator::SignOnly))
            .flatten()
    }
}

/// The end of `code` following `result` directly or after one joiner, if it is there.
#[inline(always)]
fn code_after(hay: &[u8], we: usize) -> Option<usize> {
    let s = if hay.get(we).copied().is_some_and(is_joiner) {
        we + 1
    } else {
        we
    };
    ieq(hay, s, b"code").then_some(s + 4)
}

/// Parses separator, optional quote and value after a key `ks..ke`.
#[inline(always)]
fn key_value(hay: &[u8], ks: usize, ke: usize, sep: Separator) -> Option<FieldMatch> {
    let n = hay.len();
    let mut i = ke;
    while i < n && is_blank(hay[i]) {
        i += 1;
    }
    if i < n && (hay[i] == b'=' || hay[i] == b':') {
        i += 1;
        while i < n && is_blank(hay[i]) {
            i += 1;
        }
    } else if !(sep == Separator::SignOrBlanks && i > ke) {
        return None;
    }
    let quote = match hay.get(i) {
        Some(&q @ (b'\'' | b'"')) => {
            i += 1;
            Some(q)
        }
        _ => None,
    };
    value(hay, ks, ks, ke, i, quote, Shape::KeyValue)
}

/// Parses the value after an XML opening tag `<callStatus>` (`lt` is the `<`, `ke` the `>`).
#[inline(always)]
fn xml_value(hay: &[u8], lt: usize, ks: usize, ke: usize) -> Option<FieldMatch> {
    let n = hay.len();
    let mut i = ke + 1;
    while i < n && is_blank(hay[i]) {
        i += 1;
    }
    value(hay, lt, ks, ke, i, None, Shape::Xml)
}

/// Parses 1 to 9 digits at `vs`, checks what follows them, and builds the match.
#[inline(always)]
fn value(
    hay: &[u8],
    start: usize,
    ks: usize,
    ke: usize,
    vs: usize,
    quote: Option<u8>,
    shape: Shape,
) -> Option<FieldMatch> {
    let mut ve = vs;
    let mut code: u32 = 0;
    while ve < hay.len() && hay[ve].is_ascii_digit() {
        if ve - vs == 9 {
            return None; // ten or more digits: not a code
        }
        code = code * 10 + u32::from(hay[ve] - b'0');
        ve += 1;
    }
    if ve == vs {
        return None;
    }
    match hay.get(ve) {
        Some(&b) if is_word(b) => return None,
        Some(b'.') if hay.get(ve + 1).is_some_and(u8::is_ascii_digit) => return None,
        _ => {}
    }
    let insert_at = match quote {
        Some(q) if hay.get(ve) == Some(&q) => ve + 1,
        _ => ve,
    };
    Some(FieldMatch {
        start,
        key_start: ks,
        key_end: ke,
        value_start: vs,
        value_end: ve,
        insert_at,
        code,
        shape,
    })
}

/// A byte that can be part of a field between its first byte and its insertion point (letters, digits,
/// joiners, blanks, signs, quotes, `<` and `>`). A stream may be cut after any other byte without
/// splitting a field: see [`crate::stream`].
#[inline]
pub fn may_be_in_field(b: u8) -> bool {
    is_word(b)
        || matches!(
            b,
            b' ' | b'\t' | b'-' | b'.' | b'=' | b':' | b'\'' | b'"' | b'<' | b'>'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(s: &str) -> Vec<(String, u32)> {
        Matcher::new()
            .find_iter(s.as_bytes())
            .map(|m| (s[m.start..m.insert_at].to_string(), m.code))
            .collect()
    }

    fn one(s: &str) -> (String, u32) {
        let f = fields(s);
        assert_eq!(f.len(), 1, "expected one field in {s:?}, got {f:?}");
        f[0].clone()
    }

    fn none(s: &str) {
        assert_eq!(fields(s), vec![], "expected no field in {s:?}");
    }

    #[test]
    fn every_key_with_every_joiner_and_case() {
        let keys = [
            ["call", "status", ""],
            ["raw", "call", "status"],
            ["call", "result", ""],
            ["sms", "status", ""],
            ["sms", "result", ""],
            ["result", "code", ""],
            ["mfa", "result", ""],
            ["mfa", "status", ""],
            ["mfa", "result", "code"],
        ];
        for words in keys {
            let words: Vec<&str> = words.iter().copied().filter(|w| !w.is_empty()).collect();
            for joiner in ["", " ", "_", "-", "."] {
                for case in 0..3 {
                    let key: String = words
                        .iter()
                        .enumerate()
                        .map(|(i, w)| match case {
                            0 => w.to_string(),
                            1 => w.to_uppercase(),
                            // camelCase: first word lower, the others capitalised
                            _ if i == 0 => w.to_string(),
                            _ => w[..1].to_uppercase() + &w[1..],
                        })
                        .collect::<Vec<_>>()
                        .join(joiner);
                    let line = format!("x {key}=129, y");
                    assert_eq!(one(&line), (format!("{key}=129"), 129), "{line}");
                    let line = format!("{key} : '7' end");
                    assert_eq!(one(&line), (format!("{key} : '7'"), 7), "{line}");
                }
            }
        }
    }

    #[test]
    fn the_real_examples() {
        assert_eq!(
            one("2017-02-14T02:57:24.600871Z|0|1412|6452|pfrad|rawCallStatus = 21"),
            ("rawCallStatus = 21".into(), 21)
        );
        assert_eq!(
            one("Azure MFA: Authentication Failed. callStatus=129, errorId=0"),
            ("callStatus=129".into(), 129)
        );
        assert_eq!(
            one("Authentication failed. Call status: 132-Fraud Reported. Error: []"),
            ("Call status: 132".into(), 132)
        );
        assert_eq!(
            one("2016-06-22 13:31:22 HOST  MFA result code 20 for user CORP\\jdoe"),
            ("MFA result code 20".into(), 20)
        );
        assert_eq!(
            one("<authenticationResponse><authenticated>no</authenticated><callStatus>108</callStatus></authenticationResponse>"),
            ("<callStatus>108".into(), 108)
        );
    }

    #[test]
    fn separators() {
        assert_eq!(one("callStatus=1"), ("callStatus=1".into(), 1));
        assert_eq!(one("callStatus:1"), ("callStatus:1".into(), 1));
        assert_eq!(one("callStatus \t= \t1"), ("callStatus \t= \t1".into(), 1));
        assert_eq!(one("callStatus\t:1"), ("callStatus\t:1".into(), 1));
        // blanks alone: only keys ending in `call status` or `result code`
        assert_eq!(one("callStatus 1"), ("callStatus 1".into(), 1));
        assert_eq!(one("rawCallStatus\t21"), ("rawCallStatus\t21".into(), 21));
        assert_eq!(one("result code 129"), ("result code 129".into(), 129));
        assert_eq!(
            one("MFA result code  20"),
            ("MFA result code  20".into(), 20)
        );
        none("sms status 19");
        none("call result 1");
        none("mfa result 1");
        none("mfa status 1");
        none("callStatus1");
        none("callStatus = = 1");
        none("callStatus -1");
        none("callStatus=\n1");
    }

    #[test]
    fn quotes() {
        assert_eq!(one("Call Status='20' x"), ("Call Status='20'".into(), 20));
        assert_eq!(
            one("ResultCode=\"132\"/>"),
            ("ResultCode=\"132\"".into(), 132)
        );
        assert_eq!(one("result code '5'"), ("result code '5'".into(), 5));
        // unclosed or mismatched quote: the annotation goes after the digits
        assert_eq!(one("callStatus='20 x"), ("callStatus='20".into(), 20));
        assert_eq!(one("callStatus='20\" x"), ("callStatus='20".into(), 20));
        // a closing quote without an opening one is not part of the field
        assert_eq!(one("callStatus=20' x"), ("callStatus=20".into(), 20));
        none("callStatus=''20'");
        none("callStatus=`20`");
    }

    #[test]
    fn xml_elements() {
        assert_eq!(
            one("<callStatus>108</callStatus>"),
            ("<callStatus>108".into(), 108)
        );
        assert_eq!(
            one("<CALLSTATUS> \t7</CALLSTATUS>"),
            ("<CALLSTATUS> \t7".into(), 7)
        );
        assert_eq!(
            one("<callStatus>108 (User Hung Up the Phone)</callStatus>"),
            ("<callStatus>108".into(), 108)
        );
        assert_eq!(one("<callStatus>108"), ("<callStatus>108".into(), 108));
        let m = Matcher::new().find_iter(b"<callStatus>5<").next().unwrap();
        assert_eq!((m.shape, m.key_start, m.key_end), (Shape::Xml, 1, 11));
        none("<callStatus>abc</callStatus>");
        none("<call_status>5</call_status>");
        none("<callStatus >5");
        none("<callStatus>'5'");
    }

    #[test]
    fn values() {
        assert_eq!(one("callStatus=007"), ("callStatus=007".into(), 7));
        assert_eq!(
            one("callStatus=999999999"),
            ("callStatus=999999999".into(), 999_999_999)
        );
        assert_eq!(one("Call Status: 129."), ("Call Status: 129".into(), 129));
        assert_eq!(one("callStatus=129.x"), ("callStatus=129".into(), 129));
        assert_eq!(one("callStatus=1-2"), ("callStatus=1".into(), 1));
        assert_eq!(one("callStatus=1\r\n"), ("callStatus=1".into(), 1));
        none("callStatus=1234567890");
        none("callStatus=12ab");
        none("callStatus=1.5");
        none("callStatus=1_");
        none("callStatus=");
        none("callStatus=x1");
    }

    #[test]
    fn word_boundaries() {
        none("xcallStatus=1");
        none("authResult = 1");
        none("_callStatus=1");
        none("9callStatus=1");
        none("xrawCallStatus=1");
        none("xraw_call_status=1");
        none("smsResult2=1");
        none("callStatusx=1");
        none("result=1");
        none("status=200");
        none("code=5");
        assert_eq!(one("x-callStatus=1"), ("callStatus=1".into(), 1));
        assert_eq!(one("a.callStatus=1"), ("callStatus=1".into(), 1));
        assert_eq!(one("(callStatus=1)"), ("callStatus=1".into(), 1));
        // `raw` not at a boundary, but `call` is: the shorter key matches
        assert_eq!(one("xraw call status=1"), ("call status=1".into(), 1));
        // `mfa result code` not at a boundary, `result code` is
        assert_eq!(one("xmfa result code=1"), ("result code=1".into(), 1));
        assert_eq!(one("call result code 1"), ("result code 1".into(), 1));
    }

    #[test]
    fn near_misses() {
        none("status 200");
        none("Call Status: idle");
        none("HTTP status=200 result=ok");
        none("call  status=1"); // two joiners
        none("call__status=1");
        none("callstatuscode=1");
        none("result codex 5");
        none("mfa result code: x");
        none("the consultation's nature status");
    }

    #[test]
    fn several_fields_on_a_line() {
        let f = fields("callStatus=1 smsResult:2 <callStatus>3 result code 4 callStatus=5 (x)");
        assert_eq!(
            f.iter().map(|f| f.1).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        let f = fields("callStatus='1'callStatus=2");
        assert_eq!(f.iter().map(|f| f.1).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn positions_before_pos_are_context_only() {
        let m = Matcher::new();
        let hay = b"raw call status=1";
        // searching from inside the key finds the shorter key that starts there
        let f = m.find_at(hay, 4).unwrap();
        assert_eq!((f.start, f.code), (4, 1));
        // boundary looks at the byte before pos
        assert!(m.find_at(b"xcallStatus=1", 1).is_none());
    }

    #[test]
    fn cut_bytes() {
        assert!(!may_be_in_field(b')'));
        assert!(!may_be_in_field(b','));
        assert!(!may_be_in_field(b'\n'));
        assert!(may_be_in_field(b'<'));
    }
}
