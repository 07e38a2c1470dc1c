//! Property tests for the byte-exact promises: the fast matcher agrees with the reference regex,
//! annotate is idempotent, strip inverts it, the output is the input plus insertions, nothing panics,
//! and streaming gives the same bytes whatever sizes the reads return.
//!
//! Random bytes alone almost never form a field, so most inputs are built from log-like tokens: key
//! words in mixed case, joiners, separators, quotes, digit runs, annotations, CRLF and arbitrary bytes.

use mfa_annotate::annotate::{Annotator, Mode, Options, Unknown};
use mfa_annotate::cut;
use mfa_annotate::matcher::Matcher;
use mfa_annotate::reference;
use mfa_annotate::stream::{self, Config};
use mfa_annotate::template::{Template, UNKNOWN_DESCRIPTION};
use mfa_annotate::testing::ChunkedReader;
use proptest::prelude::*;

/// Cases per property; seven properties make well over 10,000 cases in all.
const CASES: u32 = 2000;

fn mixed_case(word: &'static str) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.bytes()
            .zip(upper)
            .map(|(b, u)| if u { b.to_ascii_uppercase() } else { b })
            .collect()
    })
}

fn token() -> impl Strategy<Value = Vec<u8>> {
    let fixed = prop_oneof![
        Just(b"=".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"_".to_vec()),
        Just(b"-".to_vec()),
        Just(b".".to_vec()),
        Just(b"'".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"<".to_vec()),
        Just(b">".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"x".to_vec()),
        Just(b" (Mobile App Denied)".to_vec()),
        Just(b" (PIN Entered)".to_vec()),
        Just(b" (unknown MFA result code)".to_vec()),
        Just(b"<callStatus>".to_vec()),
        Just(b"callStatus=".to_vec()),
    ];
    let digits = prop_oneof![
        Just(b"1".to_vec()),
        Just(b"129".to_vec()),
        Just(b"0132".to_vec()),
        Just(b"99".to_vec()),
        Just(b"123456789".to_vec()),
        Just(b"1234567890".to_vec()),
        "[0-9]{1,3}".prop_map(String::into_bytes),
    ];
    let words = prop_oneof![
        mixed_case("call"),
        mixed_case("raw"),
        mixed_case("sms"),
        mixed_case("mfa"),
        mixed_case("status"),
        mixed_case("result"),
        mixed_case("code"),
    ];
    prop_oneof![
        2 => field(),
        4 => words,
        3 => fixed,
        2 => digits,
        1 => proptest::collection::vec(any::<u8>(), 1..4),
    ]
}

/// A whole key: the words of one key in mixed case, each gap joined by nothing, a space, `_`, `-` or `.`.
fn key() -> impl Strategy<Value = Vec<u8>> {
    let keys: Vec<&'static [&'static str]> = vec![
        &["call", "status"],
        &["raw", "call", "status"],
        &["call", "result"],
        &["sms", "status"],
        &["sms", "result"],
        &["result", "code"],
        &["mfa", "result"],
        &["mfa", "status"],
        &["mfa", "result", "code"],
    ];
    let joiner = prop_oneof![
        Just(""),
        Just(" "),
        Just("_"),
        Just("-"),
        Just("."),
        Just("  ")
    ];
    (
        proptest::sample::select(keys),
        proptest::collection::vec(joiner, 2),
        proptest::collection::vec(any::<bool>(), 16),
    )
        .prop_map(|(words, joiners, upper)| {
            let mut key = Vec::new();
            for (i, w) in words.iter().enumerate() {
                if i > 0 {
                    key.extend_from_slice(joiners[i - 1].as_bytes());
                }
                key.extend_from_slice(w.as_bytes());
            }
            key.iter()
                .zip(upper.iter().cycle())
                .map(|(&b, &u)| if u { b.to_ascii_uppercase() } else { b })
                .collect()
        })
}

/// A likely field: a key, a separator, maybe a quote, digits.
fn field() -> impl Strategy<Value = Vec<u8>> {
    let sep = prop_oneof![
        Just("="),
        Just(":"),
        Just(" = "),
        Just(" "),
        Just("\t: "),
        Just(""),
        Just("=="),
        Just("> ")
    ];
    let quote = prop_oneof![Just(""), Just(""), Just("'"), Just("\"")];
    let digits = prop_oneof![
        Just("7"),
        Just("129"),
        Just("0132"),
        Just("99"),
        Just("1234567890"),
        Just("12.5")
    ];
    (key(), sep, quote.clone(), digits, quote)
        .prop_map(|(k, s, q1, d, q2)| [k, s.into(), q1.into(), d.into(), q2.into()].concat())
}

/// Log-like input: up to 60 tokens.
fn loglike() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(token(), 0..60).prop_map(|t| t.concat())
}

/// Log-like pieces with runs of filler between them: long enough to cross several of the 4 KiB windows
/// `Matcher::scan` works in, with fields dense in some and absent from others.
fn long_input() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((loglike(), 0usize..3000), 1..12).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(piece, gap)| piece.into_iter().chain(std::iter::repeat_n(b'.', gap)))
            .collect()
    })
}

/// Log-like or arbitrary bytes.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => loglike(), 1 => proptest::collection::vec(any::<u8>(), 0..300)]
}

fn annotator(template: &str, unknown: Unknown, mode: Mode) -> Annotator {
    Annotator::new(&Options {
        template: Template::parse(template).unwrap(),
        unknown,
        mode,
        ..Options::default()
    })
    .unwrap()
}

/// The annotation the default template gives a code, from the table (the model, not the annotator).
fn expected_annotation(code: u32) -> String {
    let desc = mfa_annotate::codes::lookup(code).map_or(UNKNOWN_DESCRIPTION, |c| c.description);
    format!(" ({desc})")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn fast_matcher_agrees_with_the_reference_regex(x in input()) {
        let fast: Vec<_> = Matcher::new().find_iter(&x).collect();
        prop_assert_eq!(fast, reference::find_all(&x));
    }

    #[test]
    fn output_is_input_plus_insertions_at_field_ends(x in input()) {
        // A model of annotate built on the reference matcher.
        let mut model = Vec::new();
        let mut copied = 0;
        for f in reference::find_all(&x) {
            let text = expected_annotation(f.code);
            if !x[f.insert_at..].starts_with(text.as_bytes()) {
                model.extend_from_slice(&x[copied..f.insert_at]);
                model.extend_from_slice(text.as_bytes());
                copied = f.insert_at;
            }
        }
        model.extend_from_slice(&x[copied..]);
        let a = annotator(" ({desc})", Unknown::Annotate, Mode::Annotate);
        prop_assert_eq!(a.rewrite_all(&x), model);
    }

    #[test]
    fn annotate_is_idempotent(x in input()) {
        for unknown in [Unknown::Annotate, Unknown::Keep] {
            let a = annotator(" ({desc})", unknown, Mode::Annotate);
            let once = a.rewrite_all(&x);
            prop_assert_eq!(a.rewrite_all(&once), once.clone());
        }
    }

    #[test]
    fn strip_inverts_annotate(x in input()) {
        let a = annotator(" ({desc})", Unknown::Annotate, Mode::Annotate);
        let s = annotator(" ({desc})", Unknown::Annotate, Mode::Strip);
        let stripped = s.rewrite_all(&x);
        prop_assert_eq!(s.rewrite_all(&a.rewrite_all(&x)), stripped.clone());
        if stripped == x {
            // no annotations in the input: strip gives it back exactly
            prop_assert_eq!(s.rewrite_all(&a.rewrite_all(&x)), x);
        }
    }

    #[test]
    fn custom_templates_keep_the_promises(x in loglike(), t in 0usize..4) {
        let template = [" [{code}]", ": {desc} ({kind});", "\t<{kind}:{code}>", " {{{desc}}}"][t];
        let a = annotator(template, Unknown::Annotate, Mode::Annotate);
        let s = annotator(template, Unknown::Annotate, Mode::Strip);
        let once = a.rewrite_all(&x);
        prop_assert_eq!(a.rewrite_all(&once), once.clone());
        prop_assert_eq!(s.rewrite_all(&once), s.rewrite_all(&x));
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(x in proptest::collection::vec(any::<u8>(), 0..2000)) {
        for mode in [Mode::Annotate, Mode::Strip] {
            let a = annotator(" ({desc})", Unknown::Annotate, mode);
            let _ = a.rewrite_all(&x);
        }
    }

    #[test]
    fn streaming_is_read_size_invariant(
        x in loglike(),
        sizes in proptest::collection::vec(1usize..40, 1..6),
        strip in any::<bool>(),
    ) {
        let mode = if strip { Mode::Strip } else { Mode::Annotate };
        let a = annotator(" ({desc})", Unknown::Annotate, mode);
        let whole = a.rewrite_all(&x);
        // the smallest buffer the stream allows, so that long lines are cut too
        let config = Config { block_size: 0, line_buffered: false };
        let mut parallel = Vec::new();
        stream::run_parallel(&a, std::io::Cursor::new(x.clone()), &mut parallel, &config, 3).unwrap();
        prop_assert_eq!(&parallel, &whole);
        let mut out = Vec::new();
        stream::run(&a, ChunkedReader::new(&x, sizes), &mut out, &config).unwrap();
        prop_assert_eq!(out, whole);
    }
}

/// Log-like text without newlines or other cut bytes (each turned into a blank), several hundred bytes
/// long: what a line looks like to the forced-cut rules.
fn uncut_line() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(token(), 20..120).prop_map(|t| {
        let a = annotator(" ({desc})", Unknown::Annotate, Mode::Annotate);
        t.concat()
            .into_iter()
            .map(|b| if a.cut_after(b) { b' ' } else { b })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// A forced cut found in any prefix of a line splits it into pieces that rewrite to the same bytes
    /// and counts as the whole line, whatever follows the prefix.
    #[test]
    fn forced_cuts_never_change_the_result(
        x in prop_oneof![uncut_line(), loglike()],
        k in 0usize..2000,
        t in 0usize..3,
        strip in any::<bool>(),
    ) {
        let template = [" ({desc})", " [{code}]", ": {desc} ({kind});"][t];
        let mode = if strip { Mode::Strip } else { Mode::Annotate };
        let a = annotator(template, Unknown::Annotate, mode);
        let k = k.min(x.len());
        if let Some(p) = cut::forced_cut(&a, &x[..k]) {
            prop_assert!(p > 0 && p < k);
            let (mut left, mut right) = (Vec::new(), Vec::new());
            let mut counts = a.rewrite(&x[..p], &mut left);
            counts += a.rewrite(&x[p..], &mut right);
            left.extend_from_slice(&right);
            let mut whole = Vec::new();
            let whole_counts = a.rewrite(&x, &mut whole);
            prop_assert_eq!(left, whole, "cut at {}", p);
            prop_assert_eq!(counts, whole_counts);
        }
    }
}

/// The chunked path on long lines without newlines: a cut must never split a field or an annotation.
#[test]
fn streaming_long_lines_at_every_read_size() {
    let mut line = Vec::new();
    let mut i = 0u32;
    while line.len() < 40_000 {
        line.extend_from_slice(
            format!(
                "callStatus={} (Fraud Reported)|x Call Status: '{}'|",
                i % 150,
                i % 30
            )
            .as_bytes(),
        );
        i += 1;
    }
    for mode in [Mode::Annotate, Mode::Strip] {
        let a = annotator(" ({desc})", Unknown::Annotate, mode);
        let whole = a.rewrite_all(&line);
        for size in [1, 2, 3, 5, 64, 4095, 4096, 4097, 10_000] {
            let config = Config {
                block_size: 0,
                line_buffered: false,
            };
            let mut out = Vec::new();
            stream::run(&a, ChunkedReader::new(&line, vec![size]), &mut out, &config).unwrap();
            assert_eq!(out, whole, "read size {size}");
        }
    }
}

/// The generator must produce fields often, or the properties above would prove little.
#[test]
fn the_generator_produces_fields() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = loglike();
    let (mut with_fields, mut annotated_twice, n) = (0, 0, 1000);
    let a = annotator(" ({desc})", Unknown::Annotate, Mode::Annotate);
    for _ in 0..n {
        let x = strategy.new_tree(&mut runner).unwrap().current();
        let fields = reference::find_all(&x).len();
        if fields > 0 {
            with_fields += 1;
        }
        if fields > 1 && a.rewrite_all(&x) != x {
            annotated_twice += 1;
        }
    }
    assert!(
        with_fields > n / 5,
        "only {with_fields} of {n} inputs have a field"
    );
    assert!(
        annotated_twice > n / 20,
        "only {annotated_twice} of {n} inputs have several fields"
    );
}

/// The forced-cut property proves little unless cuts are found: they must be, in many generated lines.
#[test]
fn the_line_generator_gives_forced_cuts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = uncut_line();
    let a = annotator(" ({desc})", Unknown::Annotate, Mode::Annotate);
    let n = 500;
    let found = (0..n)
        .filter(|_| {
            let x = strategy.new_tree(&mut runner).unwrap().current();
            cut::forced_cut(&a, &x).is_some()
        })
        .count();
    assert!(found > n / 4, "only {found} of {n} lines have a forced cut");
}

proptest! {
    // long inputs: fewer cases
    #![proptest_config(ProptestConfig { cases: CASES / 4, ..ProptestConfig::default() })]

    #[test]
    fn scan_finds_what_find_at_finds(
        x in long_input(),
        skips in proptest::collection::vec(0usize..12, 16),
    ) {
        // the callback moves on past the field by a varying amount, as strip does
        let m = Matcher::new();
        let next = |f: &mfa_annotate::matcher::FieldMatch, k: usize| (f.insert_at + skips[k % 16]).min(x.len());
        let mut scanned = Vec::new();
        m.scan(&x, |f| {
            let to = next(&f, scanned.len());
            scanned.push(f);
            to
        });
        let mut expected = Vec::new();
        let mut pos = 0;
        while let Some(f) = m.find_at(&x, pos) {
            pos = next(&f, expected.len());
            expected.push(f);
        }
        prop_assert_eq!(scanned, expected);
    }

    #[test]
    fn stats_count_what_the_reference_finds(x in long_input()) {
        // --stats-only counts with Matcher::scan; the model counts the reference regex's fields
        let a = annotator(" ({desc})", Unknown::Annotate, Mode::Annotate);
        let stats = mfa_annotate::lines::count_block(&a, &x);
        let fields = reference::find_all(&x);
        let mut per_code = std::collections::BTreeMap::new();
        for f in &fields {
            *per_code.entry(f.code).or_insert(0u64) += 1;
        }
        // the line of each field: newlines before its start (fields come in order)
        let (mut line, mut counted) = (0, 0);
        let mut lines: Vec<usize> = fields
            .iter()
            .map(|f| {
                line += x[counted..f.start].iter().filter(|&&b| b == b'\n').count();
                counted = f.start;
                line
            })
            .collect();
        lines.dedup();
        prop_assert_eq!(stats.fields, fields.len() as u64);
        prop_assert_eq!(stats.per_code, per_code);
        prop_assert_eq!(stats.lines_with_fields, lines.len() as u64);
    }
}

#[test]
fn the_long_generator_spreads_fields_over_several_windows() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = long_input();
    let (mut spread, n) = (0, 500);
    for _ in 0..n {
        let x = strategy.new_tree(&mut runner).unwrap().current();
        let mut windows: Vec<usize> = reference::find_all(&x)
            .iter()
            .map(|f| f.start / 4096)
            .collect();
        windows.dedup();
        if windows.len() > 2 {
            spread += 1;
        }
    }
    assert!(
        spread > n / 5,
        "only {spread} of {n} inputs have fields in three windows or more"
    );
}
