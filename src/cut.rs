//! Where a stream may be cut inside a long line that has no cut byte, so that memory stays bounded
//! whatever the input (a 1 GiB line of digits, ten million fields separated by blanks).
//!
//! This module owns the forced-cut rules. A stream is normally cut after a newline or after a byte that
//! no field and no annotation contains ([`Annotator::cut_after`]). A line can lack such bytes for a
//! long stretch; rather than holding the whole line, the splitter asks [`forced_cut`] for a position `p`
//! in its buffer such that rewriting `buf[..p]` and everything from `p` on apart gives the same bytes
//! and the same counts as rewriting them together, whatever follows the buffer.
//!
//! Every decision the matcher makes reads a bounded stretch around an anchor word (`status`,
//! `result`), except for runs of blanks between a key and its value, and the check for an existing
//! annotation, which reads at most the longest annotation after a value. A position is safe when no
//! decision reads bytes on both sides of it, or when every decision that does comes out the same with
//! the other side missing. Two rules give such positions:
//!
//! 1. **Inside a long alphanumeric stretch**: `p` is at least [`margin`] bytes from both ends of a run
//!    of ASCII letters and digits that holds no anchor trigram. No key fits in the run without an
//!    anchor, and a value (at most ten digits read) must follow a non-alphanumeric byte, so no field, no
//!    lookahead and no annotation check reaches `p`.
//! 2. **Before a word that follows a blank**: `buf[p - 1]` is a space or tab and `buf[p]` a letter or
//!    `<`, which ends every separator or value being read in the same way as the end of the input does;
//!    `buf[p..]` is not `code` (which would extend a `result` key to its left), and either no anchor
//!    trigram starts near `p` (so no key looks back across it) or a field found in the buffer starts
//!    exactly at `p` (so the key that looks back did not use the bytes before `p`). Any field before
//!    `p` whose existing-annotation check would read across `p` must find no annotation there.
//!
//! Only positions with [`margin`] bytes of the buffer after them are used, so that every decision near
//! `p` is made on bytes the buffer holds. The fuzz target `stream` and the property tests check both
//! rules against rewriting the whole.

use crate::annotate::Annotator;

/// How far a decision next to a position can read: the longest key, blanks excepted, the value and
/// what follows it, and the longest annotation.
pub fn margin(annotator: &Annotator) -> usize {
    annotator.max_annotation_len() + 32
}

/// True when `w` starts with an anchor trigram (`atu` or `sul`, any case).
#[inline]
fn anchor_at(buf: &[u8], i: usize) -> bool {
    match buf.get(i..i + 3) {
        Some(&[a, b, c]) => {
            let t = [a | 0x20, b | 0x20, c | 0x20];
            t == *b"atu" || t == *b"sul"
        }
        _ => false,
    }
}

/// The last position in `buf` (not the end of the input) where the stream may be cut, by the rules
/// above, or `None`. Only called for a buffer with no cut byte, so its cost (one pass, and one matcher
/// pass for rule 2) is paid on unusual input only.
pub fn forced_cut(annotator: &Annotator, buf: &[u8]) -> Option<usize> {
    let m = margin(annotator);
    if buf.len() < 2 * m + 2 {
        return None;
    }
    alnum_cut(buf, m).max(blank_cut(annotator, buf, m))
}

/// Rule 1: the last `p` with `buf[p - m..p + m]` alphanumeric and free of anchor trigrams.
fn alnum_cut(buf: &[u8], m: usize) -> Option<usize> {
    // Walk backwards keeping the clean run `i..end`.
    let mut end = buf.len();
    for i in (0..buf.len()).rev() {
        if !buf[i].is_ascii_alphanumeric() {
            end = i;
            continue;
        }
        if anchor_at(buf, i) && i + 3 <= end {
            end = i + 2; // the run may hold the first two bytes of the trigram, not all three
        }
        if end - i >= 2 * m {
            return Some(i + m);
        }
    }
    None
}

/// Rule 2: the last `p` before a word after a blank that passes the checks of the module comment.
fn blank_cut(annotator: &Annotator, buf: &[u8], m: usize) -> Option<usize> {
    let limit = buf.len() - m;
    // Fields decided on the buffer up to `limit + m`: the ones starting before `limit` are exact.
    let fields: Vec<_> = annotator
        .matcher()
        .find_iter(buf)
        .take_while(|f| f.start <= limit)
        .collect();
    let mut next_field = fields.len();
    for p in (1..=limit).rev() {
        while next_field > 0 && fields[next_field - 1].start > p {
            next_field -= 1;
        }
        // `fields[..next_field]` start at or before `p`.
        let starts_here = next_field > 0 && fields[next_field - 1].start == p;
        if !matches!(buf[p - 1], b' ' | b'\t') || !(buf[p].is_ascii_alphabetic() || buf[p] == b'<')
        {
            continue;
        }
        if buf[p..p + 4].iter().map(|b| b | 0x20).eq(*b"code") {
            continue;
        }
        if !starts_here && (p.saturating_sub(2)..p + 16).any(|i| anchor_at(buf, i)) {
            continue;
        }
        let before = if starts_here {
            &fields[..next_field - 1]
        } else {
            &fields[..next_field]
        };
        if before
            .iter()
            .rev()
            .take_while(|g| g.insert_at + m > p)
            .any(|g| g.insert_at > p || annotator.annotation_present(buf, g.insert_at, g.code, p))
        {
            continue;
        }
        return Some(p);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotate::{Mode, Options};

    fn check(a: &Annotator, x: &[u8]) -> Option<usize> {
        let p = forced_cut(a, x)?;
        let mut pieces = a.rewrite_all(&x[..p]);
        pieces.extend_from_slice(&a.rewrite_all(&x[p..]));
        assert_eq!(pieces, a.rewrite_all(x), "forced cut at {p}");
        Some(p)
    }

    #[test]
    fn long_runs_of_digits_and_letters_are_cut() {
        let a = Annotator::new(&Options::default()).unwrap();
        let digits = vec![b'7'; 10_000];
        assert!(check(&a, &digits).is_some());
        let letters = b"abcdefghij".repeat(1000);
        assert!(check(&a, &letters).is_some());
        let mut text = b"callStatus=".to_vec();
        text.extend_from_slice(&digits);
        assert!(check(&a, &text).is_some());
    }

    #[test]
    fn anchors_block_rule_one() {
        let a = Annotator::new(&Options::default()).unwrap();
        assert_eq!(forced_cut(&a, &b"statusresult".repeat(1000)), None);
    }

    #[test]
    fn blank_separated_fields_are_cut_before_a_key() {
        for mode in [Mode::Annotate, Mode::Strip] {
            let a = Annotator::new(&Options {
                mode,
                ..Options::default()
            })
            .unwrap();
            let line =
                b"callStatus=129 Call Status: 132 (Fraud Reported) result code 7 x ".repeat(500);
            let p = check(&a, &line).expect("a cut");
            assert!(p > line.len() - 1000);
            let words = b"the quick brown fox ".repeat(500);
            assert!(check(&a, &words).is_some());
        }
    }

    #[test]
    fn never_between_a_separator_and_its_value_or_inside_an_annotation() {
        let a = Annotator::new(&Options::default()).unwrap();
        // `result code` + blanks + value: never cut before `code`, nor after the blanks.
        let mut x = b"a result ".to_vec();
        x.extend_from_slice(b"code");
        x.extend_from_slice(&[b' '; 500]);
        x.extend_from_slice(b"129 (Mobile App Denied) ");
        x.extend_from_slice(&b"w ".repeat(300));
        check(&a, &x);
        // A line of blanks has no safe position.
        assert_eq!(forced_cut(&a, &[b' '; 10_000]), None);
    }
}
