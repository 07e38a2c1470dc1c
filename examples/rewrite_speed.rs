//! Times the in-memory rewrite of whole files in 128 KiB pieces (as the stream does), no I/O: the best
//! of N passes per file. `cargo run --release --example rewrite_speed -- FILE... [-n N]`
use mfa_annotate::annotate::{Annotator, Options};
use std::time::Instant;

fn main() {
    let mut files = Vec::new();
    let mut passes = 15;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-n" {
            passes = args.next().and_then(|n| n.parse().ok()).expect("-n N");
        } else {
            files.push(a);
        }
    }
    let annotator = Annotator::new(&Options::default()).expect("default options");
    let mut out = Vec::with_capacity(256 << 10);
    for f in files {
        let data = std::fs::read(&f).expect("readable file");
        let mut best = f64::MAX;
        let mut fields = 0;
        for _ in 0..passes {
            let t = Instant::now();
            fields = 0;
            for piece in data.chunks(128 << 10) {
                out.clear();
                fields += annotator.rewrite(piece, &mut out).fields;
                std::hint::black_box(&out);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{f}: best {:.1} ms of {passes}, {:.0} MB/s, {fields} fields",
            best * 1e3,
            data.len() as f64 / best / 1e6
        );
    }
}
