//! Fuzz target: opening an input (gzip, UTF-16, binary sniffing) on arbitrary bytes.
//!
//! Checked on every input:
//! - `input::open` and reading everything never panics (a corrupt gzip or odd-length UTF-16 is an error);
//! - a UTF-16 input that decodes is given back byte for byte by the encoder (decode, then encode with
//!   the same byte-order mark), with no annotation and after a real annotate + strip round trip;
//! - whatever decodes, annotating and stripping the decoded bytes gives them back when they held no
//!   annotations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_annotate::annotate::{Annotator, Mode, Options};
use mfa_annotate::encoding::Utf16Encoder;
use mfa_annotate::input;
use std::io::{Cursor, Read, Write};

/// Decompressed output is capped so that a small bomb cannot make one run slow.
const MAX_DECODED: u64 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(opened) = input::open(Cursor::new(data.to_vec()), input::SNIFF_LEN) else {
        return;
    };
    let format = opened.format;
    let mut text = Vec::new();
    if opened.reader.take(MAX_DECODED).read_to_end(&mut text).is_err() {
        return;
    }
    let annotate = Annotator::new(&Options::default()).expect("default options");
    let strip = Annotator::new(&Options { mode: Mode::Strip, ..Options::default() }).expect("default options");
    let stripped = strip.rewrite_all(&text);
    let round = strip.rewrite_all(&annotate.rewrite_all(&text));
    assert_eq!(round, stripped, "strip(annotate(text)) != strip(text)");

    if let (false, Some(order)) = (format.gzip, format.utf16) {
        // The encoder must restore the original file exactly.
        let mut encoder = Utf16Encoder::new(Vec::new(), order).unwrap();
        encoder.write_all(&text).unwrap();
        assert_eq!(encoder.finish().unwrap(), data, "UTF-16 decode + encode is not the identity");
        if stripped == text {
            let mut encoder = Utf16Encoder::new(Vec::new(), order).unwrap();
            encoder.write_all(&round).unwrap();
            assert_eq!(encoder.finish().unwrap(), data, "UTF-16 annotate + strip round trip");
        }
    }
});
