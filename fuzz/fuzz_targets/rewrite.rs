//! Fuzz target: the matcher and the rewrite on arbitrary bytes.
//!
//! The first byte picks a template; the rest is the input. Checked on every input:
//! - the fast matcher finds exactly the fields the reference regex finds;
//! - annotating gives the input plus one insertion at the end of each field (a model built on the
//!   reference matcher), for the default template;
//! - annotating twice adds nothing (idempotence), for every template and both unknown-code modes;
//! - strip inverts annotate (and gives the input back exactly when it held no annotations);
//! - nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_annotate::annotate::{Annotator, Mode, Options, Unknown};
use mfa_annotate::matcher::Matcher;
use mfa_annotate::reference;
use mfa_annotate::template::{Template, UNKNOWN_DESCRIPTION};

const TEMPLATES: [&str; 5] = [
    " ({desc})",
    " [{code}]",
    ": {desc} ({kind});",
    "\t<{kind}:{code}>",
    " {{{desc}}}",
];

fn annotator(template: &str, unknown: Unknown, mode: Mode) -> Annotator {
    Annotator::new(&Options {
        template: Template::parse(template).expect("a valid template"),
        unknown,
        mode,
        ..Options::default()
    })
    .expect("a safe template")
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, x)) = data.split_first() else {
        return;
    };
    let template = TEMPLATES[usize::from(pick) % TEMPLATES.len()];

    let fast: Vec<_> = Matcher::new().find_iter(x).collect();
    let slow = reference::find_all(x);
    assert_eq!(fast, slow, "fast matcher and reference regex disagree");

    if template == TEMPLATES[0] {
        let mut model = Vec::new();
        let mut copied = 0;
        for f in &slow {
            let desc = mfa_annotate::codes::lookup(f.code).map_or(UNKNOWN_DESCRIPTION, |c| c.description);
            let text = format!(" ({desc})");
            if !x[f.insert_at..].starts_with(text.as_bytes()) {
                model.extend_from_slice(&x[copied..f.insert_at]);
                model.extend_from_slice(text.as_bytes());
                copied = f.insert_at;
            }
        }
        model.extend_from_slice(&x[copied..]);
        let a = annotator(template, Unknown::Annotate, Mode::Annotate);
        assert_eq!(a.rewrite_all(x), model, "output is not the input plus insertions");
    }

    for unknown in [Unknown::Annotate, Unknown::Keep] {
        let a = annotator(template, unknown, Mode::Annotate);
        let once = a.rewrite_all(x);
        assert_eq!(a.rewrite_all(&once), once, "a second run changed the output");
    }

    let a = annotator(template, Unknown::Annotate, Mode::Annotate);
    let s = annotator(template, Unknown::Annotate, Mode::Strip);
    let stripped = s.rewrite_all(x);
    let round = s.rewrite_all(&a.rewrite_all(x));
    assert_eq!(round, stripped, "strip(annotate(x)) != strip(x)");
    if stripped == x {
        assert_eq!(round, x, "strip(annotate(x)) != x for an input without annotations");
    }
});
