//! Criterion benchmark of the core rewrite (no I/O): annotate and strip over in-memory sparse and dense
//! Netop-like corpora. The end-to-end comparison with `cat` and perl is `benches/run.sh`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mfa_annotate::annotate::{Annotator, Mode, Options};

/// Ordinary lines, many with near-misses that must not be annotated.
const PLAIN: &[&str] = &[
    "2017-02-14T02:57:24.600871Z|0|1412|6452|pfrad|Sending pfauth request for j.doe@contoso.com proxy=none",
    "2017-02-14T02:57:24.601001Z|i|1159|2834|pfsvc|Returning result of \"Timeout\" for 'j.doe' status 200",
    "10.216.44.112 - - [14/Feb/2017:00:00:00 +0000] \"GET /MultiFactorAuth/authenticate?id=183 HTTP/1.1\" 200 8752",
    "Feb 14 00:00:00 nps01 radiusd[6615]: Access-Request id=236 from 10.106.79.67:1812 Call Status: idle",
    "2016-06-22 13:31:22 HOST authResult = 1 xcallStatus=1 HTTP status=200 statusCode=401 result=ok",
];

/// Lines with a field, in the common shapes.
const FIELDS: &[&str] = &[
    "2017-02-14T02:57:24.600871Z|0|1412|6452|pfrad|rawCallStatus = 21",
    "Azure MFA: Authentication Failed. callStatus=129, errorId=0 for user CORP\\jdoe",
    "Authentication failed. Call status: 132-Fraud Reported. Error: []",
    "2016-06-22 13:31:22 HOST  MFA result code 20 for user CORP\\jdoe",
    "<authenticationResponse><authenticated>no</authenticated><callStatus>108</callStatus></authenticationResponse>",
    "2016-06-22 13:31:23 HOST pfsvc ResultCode=\"99\" session=4711",
];

/// About `size` bytes where one line in `every` has a field (a fixed pseudo-random sequence).
fn corpus(size: usize, every: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 256);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let line = if state.is_multiple_of(every) {
            FIELDS[(state >> 8) as usize % FIELDS.len()]
        } else {
            PLAIN[(state >> 8) as usize % PLAIN.len()]
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn bench(c: &mut Criterion) {
    let annotate = Annotator::new(&Options::default()).unwrap();
    let strip = Annotator::new(&Options {
        mode: Mode::Strip,
        ..Options::default()
    })
    .unwrap();
    let mut group = c.benchmark_group("rewrite");
    for (name, every) in [("sparse", 20), ("dense", 2)] {
        let input = corpus(8 << 20, every);
        let annotated = annotate.rewrite_all(&input);
        group.throughput(Throughput::Bytes(input.len() as u64));
        let mut out = Vec::with_capacity(input.len() * 2);
        group.bench_with_input(BenchmarkId::new("annotate", name), &input, |b, input| {
            b.iter(|| {
                out.clear();
                annotate.rewrite(input, &mut out)
            })
        });
        group.bench_with_input(BenchmarkId::new("strip", name), &annotated, |b, input| {
            b.iter(|| {
                out.clear();
                strip.rewrite(input, &mut out)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
