#!/usr/bin/env bash
# End-to-end throughput benchmark for mfa-annotate.
#
# For each deterministic corpus (sparse: ~5% of lines carry a field, dense:
# ~50%; built by benches/gen_corpus.py) this times, side by side in one run:
#   cat           I/O floor: read the file and write it back out, no work
#   mfa-annotate  the release binary, single thread (-j1; path argument, output on stdout)
#   perl          block-reading regex baseline that annotates only the four
#                 most common shapes (callStatus=N, Call Status: N,
#                 result code N, ResultCode="N")
# Every command writes to a real file next to the corpus (same disk), not to
# /dev/null, so no tool can skip the work. Finally it measures the peak RSS
# of mfa-annotate on a 1 GiB input (the sparse corpus repeated).
#
# Numbers are warm-page-cache numbers: corpora are reused between runs and
# hyperfine does a warmup run first.
#
# Environment overrides:
#   MFA_ARGS   options for the binary (default -j1: the targets are single-threaded)
#   MFA_BIN    binary to benchmark instead of building target/release/mfa-annotate
#              (e.g. MFA_BIN=cat to exercise the script before the binary exists)
#   CODES_TSV  code table for the perl baseline, relative to the repo root
#              (default ../shared/codes.tsv)
#   DATA_DIR   where corpora and outputs live (default target/bench-data)
#   SIZE_MIB   corpus size in MiB (default 256)
#   RSS_MIB    input size for the peak-RSS measurement (default 1024)
#   RUNS       timed runs per command with hyperfine (default 5)
#   TIMER      hyperfine | bash  (default: hyperfine if installed; the bash
#              fallback reports the best and mean of 3 runs)
set -euo pipefail
export LC_ALL=C                                   # stable number formats (EPOCHREALTIME, awk)

cd "$(dirname "${BASH_SOURCE[0]}")/.."          # repo root
CODES_TSV=${CODES_TSV:-../shared/codes.tsv}
DATA_DIR=${DATA_DIR:-target/bench-data}
SIZE_MIB=${SIZE_MIB:-256}
RSS_MIB=${RSS_MIB:-1024}
RUNS=${RUNS:-5}
if [[ -z ${TIMER:-} ]]; then
    if command -v hyperfine >/dev/null; then TIMER=hyperfine; else TIMER=bash; fi
fi

die() { echo "run.sh: $*" >&2; exit 1; }
q() { printf '%q' "$1"; }                        # quote a path for a shell command

[[ -r $CODES_TSV ]] || die "code table not found: $CODES_TSV (set CODES_TSV)"
CODES_TSV=$(realpath "$CODES_TSV")
mkdir -p "$DATA_DIR"
DATA_DIR=$(realpath "$DATA_DIR")

# --- machine -----------------------------------------------------------------
echo "== machine"
echo "cpus:   $(nproc)"
echo "model:  $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "kernel: $(uname -sr)"
echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "perl:   $(perl -e 'print $^V')   timer: $TIMER"

# --- binary ------------------------------------------------------------------
# The issue's targets are single-threaded: -j1 (none for an MFA_BIN override such as cat).
if [[ -n ${MFA_BIN:-} ]]; then MFA_ARGS=${MFA_ARGS:-}; else MFA_ARGS=${MFA_ARGS:--j1}; fi
if [[ -n ${MFA_BIN:-} ]]; then
    MFA_BIN=$(command -v "$MFA_BIN") || die "MFA_BIN not found: $MFA_BIN"
    MFA_NAME="MFA_BIN=$(basename "$MFA_BIN")"    # make overrides obvious in the table
    echo "binary: $MFA_BIN (MFA_BIN override, not built)"
else
    echo "== cargo build --release"
    cargo build --release
    MFA_BIN=$(realpath target/release/mfa-annotate)
    MFA_NAME=mfa-annotate
    echo "binary: $MFA_BIN ($(rustc --version))"
fi

# --- corpora -----------------------------------------------------------------
# Cache key includes the generator's hash, so editing gen_corpus.py
# regenerates instead of silently reusing stale data.
GEN_HASH=$(sha256sum benches/gen_corpus.py | cut -c1-12)
corpus() {  # corpus KIND -> prints path, generating it if missing
    local f="$DATA_DIR/$1-${SIZE_MIB}MiB-$GEN_HASH.log"
    if [[ ! -s $f ]]; then
        echo "generating $f" >&2
        rm -f "$DATA_DIR/$1-${SIZE_MIB}MiB-"*.log    # stale corpora of older generators
        python3 benches/gen_corpus.py --kind "$1" --size-mib "$SIZE_MIB" --out "$f.tmp"
        mv "$f.tmp" "$f"                         # never reuse a half-written file
    fi
    echo "$f"
}

# --- perl baseline -----------------------------------------------------------
# Reads 1 MiB blocks, carries the partial last line of each block over to the
# next one (so no field is split), substitutes, and prints. Codes are looked
# up numerically so "005" finds code 5. Placement follows mfa-annotate: after
# the closing quote of a quoted value (ResultCode="132" (Fraud Reported)),
# otherwise right after the digits.
PERL_PL="$DATA_DIR/perl-baseline.pl"
cat > "$PERL_PL" <<'PERL'
use strict; use warnings;
my ($tsv, $in) = @ARGV;
open my $t, '<', $tsv or die "$tsv: $!";
my %ann;
while (<$t>) { chomp; my ($c, $d) = split /\t/, $_, 2; $ann{$c} = " ($d)" if $c =~ /^\d+$/ }
my $unknown = ' (unknown MFA result code)';
# Word-boundary check as a fixed-length lookbehind *after* each literal key:
# keeps perl's literal-trie start optimisation (a leading \b or lookbehind
# makes this baseline ~6x slower, which would flatter mfa-annotate). The
# quoted shape gets its own pass so its closing quote can be consumed; a
# single regex with a branch reset (?|...) was ~10x slower.
my $alt = join '|', map { my $k = quotemeta; "$k(?<![A-Za-z0-9_]$k)" }
    'callStatus=', 'Call Status: ', 'result code ';
my $plain  = qr/((?:$alt)(\d{1,9}))(?![A-Za-z0-9_]|\.\d)/;
my $quoted = qr/(ResultCode="(?<![A-Za-z0-9_]ResultCode=")(\d{1,9})(?:"|(?![A-Za-z0-9_]|\.\d)))/;
sub annotate {    # in place on $_[0]
    $_[0] =~ s{$plain}{$1 . ($ann{$2 + 0} // $unknown)}ge;
    $_[0] =~ s{$quoted}{$1 . ($ann{$2 + 0} // $unknown)}ge;
}
open my $fh, '<:raw', $in or die "$in: $!";
binmode STDOUT;
my $carry = '';
while (1) {
    my $n = read($fh, my $buf, 1 << 20) // die "$in: $!";
    last unless $n;
    $buf = $carry . $buf;
    $carry = substr($buf, rindex($buf, "\n") + 1, length $buf, '');  # cut partial line
    annotate($buf);
    print $buf;
}
annotate($carry);
print $carry;
close STDOUT or die "stdout: $!";
PERL

# --- timing ------------------------------------------------------------------
# bench_one INPUT: times the three commands; writes "name<TAB>mean<TAB>sd<TAB>min"
# rows to $RESULTS. Before every run (untimed) the previous output is deleted
# and dirty pages are synced: overwriting a 256 MiB file via '>' or competing
# with the last run's writeback made timings 2-5x noisier in testing.
bench_one() {
    local in=$1 names=(cat "$MFA_NAME" perl) outs=() cmds=() preps=() i
    outs=("$DATA_DIR/out-cat.log" "$DATA_DIR/out-mfa.log" "$DATA_DIR/out-perl.log")
    cmds=("cat $(q "$in")"
          "$(q "$MFA_BIN") $MFA_ARGS $(q "$in")"
          "perl $(q "$PERL_PL") $(q "$CODES_TSV") $(q "$in")")
    for i in 0 1 2; do
        cmds[i]+=" > $(q "${outs[i]}")"
        preps[i]="rm -f $(q "${outs[i]}"); sync"
    done
    : > "$RESULTS"
    if [[ $TIMER == hyperfine ]]; then
        local json="$DATA_DIR/hyperfine.json" args=()
        for i in 0 1 2; do args+=(--prepare "${preps[i]}" -n "${names[i]}" "${cmds[i]}"); done
        hyperfine --shell=bash --warmup 1 --runs "$RUNS" --export-json "$json" "${args[@]}"
        python3 - "$json" >> "$RESULTS" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f'{r["command"]}\t{r["mean"]}\t{r["stddev"] or 0}\t{r["min"]}')
PY
    else
        # Fallback: one warmup, then best and mean of 3 wall-clock runs.
        local s e spans
        for i in 0 1 2; do
            bash -c "${cmds[i]}"
            spans=()
            for _ in 1 2 3; do
                bash -c "${preps[i]}"
                s=$EPOCHREALTIME; bash -c "${cmds[i]}"; e=$EPOCHREALTIME
                spans+=("$s $e")
            done
            printf '%s\n' "${spans[@]}" | awk -v n="${names[i]}" \
                '{d=$2-$1; t[NR]=d; s+=d; if (NR==1 || d<m) m=d}
                 END {mu=s/NR; for (i in t) v+=(t[i]-mu)^2; printf "%s\t%f\t%f\t%f\n", n, mu, sqrt(v/(NR-1)), m}'
        done >> "$RESULTS"
    fi
}

# print_table INPUT: MB/s and ratios are computed from the mean time.
print_table() {
    python3 - "$RESULTS" "$1" "$DATA_DIR" <<'PY'
import os, sys
res, inp, d = sys.argv[1], sys.argv[2], sys.argv[3]
size = os.path.getsize(inp)
rows = [l.rstrip("\n").split("\t") for l in open(res)]
t = {r[0]: float(r[1]) for r in rows}
out = dict(zip((r[0] for r in rows), ("out-cat.log", "out-mfa.log", "out-perl.log")))
t_cat, t_perl = t["cat"], t["perl"]
w = max(len(r[0]) for r in rows) + 2
print(f"\n{'command':<{w}}{'mean s':>9}{'± s':>8}{'min s':>9}{'MB/s':>9}"
      f"{'speedup vs perl':>17}{'x cat time':>12}{'out growth':>13}")
for name, mean, sd, mn in rows:
    mean, sd, mn = float(mean), float(sd), float(mn)
    grow = os.path.getsize(os.path.join(d, out[name])) - size
    print(f"{name:<{w}}{mean:>9.3f}{sd:>8.3f}{mn:>9.3f}{size / mean / 1e6:>9.0f}"
          f"{t_perl / mean:>16.2f}x{mean / t_cat:>11.2f}x{grow:>+13,d}")
print("(MB = 10^6 bytes; MB/s and ratios use the mean; out growth = output bytes - input bytes)")
PY
}

RESULTS="$DATA_DIR/results.tsv"
for kind in sparse dense; do
    in=$(corpus "$kind")
    echo
    echo "== $kind corpus: $in ($(stat -c %s "$in") bytes, $(wc -l < "$in") lines)"
    bench_one "$in"
    print_table "$in"
    rm -f "$DATA_DIR"/out-{cat,mfa,perl}.log   # ~1 GB of outputs per corpus
done

# --- filters -----------------------------------------------------------------
# The filters must not slow the common path: `-m` against plain annotation, and `--stats-only` (no text
# written) against `grep -c callStatus` (one case-sensitive literal), on the sparse corpus, one run.
echo
sparse=$(corpus sparse)
echo "== filters on the sparse corpus (default threads: $(nproc))"
if [[ $TIMER == hyperfine ]]; then
    json="$DATA_DIR/hyperfine-filters.json"
    out="$DATA_DIR/out-filter.log"
    hyperfine --shell=bash --warmup 1 --runs "$RUNS" --export-json "$json" \
        --prepare "rm -f $(q "$out"); sync" \
        -n "$MFA_NAME" "$(q "$MFA_BIN") $(q "$sparse") > $(q "$out")" \
        -n "$MFA_NAME -m" "$(q "$MFA_BIN") -m $(q "$sparse") > $(q "$out")" \
        -n "grep -c callStatus" "grep -c callStatus $(q "$sparse") > $(q "$out")" \
        -n "$MFA_NAME --stats-only" "$(q "$MFA_BIN") --stats-only $(q "$sparse") > $(q "$out")" >/dev/null
    rm -f "$out"
    python3 - "$json" "$sparse" <<'PY'
import json, os, sys
res = json.load(open(sys.argv[1]))["results"]
size = os.path.getsize(sys.argv[2])
t = {r["command"]: r["mean"] for r in res}
for r in res:
    print(f'{r["command"]:<28}{r["mean"]:>8.3f} s ± {r["stddev"] or 0:.3f}{size / r["mean"] / 1e6:>9.0f} MB/s')
names = list(t)
print(f"-m vs plain annotation: {t[names[0]] / t[names[1]]:.2f}x as fast (target >= 1)")
print(f"--stats-only vs grep -c callStatus: {t[names[2]] / t[names[3]]:.2f}x as fast (target >= 1)")
PY
else
    echo "skipped: needs hyperfine"
fi

# --- peak RSS ----------------------------------------------------------------
echo
reps=$(( (RSS_MIB + SIZE_MIB - 1) / SIZE_MIB ))  # whole copies, >= RSS_MIB in total
echo "== peak RSS of $MFA_NAME on $((reps * SIZE_MIB)) MiB"
if [[ -x /usr/bin/time ]]; then
    sparse=$(corpus sparse)
    big="$DATA_DIR/sparse-$((reps * SIZE_MIB))MiB-x$reps-$GEN_HASH.log"
    if [[ ! -s $big ]]; then                     # the sparse corpus repeated
        rm -f "$DATA_DIR"/sparse-*MiB-x*-*.log     # stale big inputs
        for _ in $(seq "$reps"); do cat "$sparse"; done > "$big.tmp"
        mv "$big.tmp" "$big"
    fi
    tv="$DATA_DIR/time-v.txt"
    rm -f "$DATA_DIR/out-rss.log"; sync
    /usr/bin/time -v "$MFA_BIN" $MFA_ARGS "$big" > "$DATA_DIR/out-rss.log" 2> "$tv" \
        || { cat "$tv" >&2; die "$MFA_NAME failed on $big"; }
    rm -f "$DATA_DIR/out-rss.log"
    echo "input: $big ($(stat -c %s "$big") bytes)"
    echo "wall:  $(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tv")"
    echo "peak RSS: $(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv") KiB"
else
    echo "skipped: /usr/bin/time not found (apt-get install -y time)"
fi
