#!/usr/bin/env bash
# Batch and parallel benchmark for mfa-annotate (issue: batch-annotate archived folders).
#
# Builds on the corpora of benches/run.sh (benches/gen_corpus.py, deterministic) and times, side by side
# in one run with hyperfine (every command writes real files on the same disk; outputs are removed and
# dirty pages synced before each run, outside the timing):
#   1. a folder of 200 plain files totalling 512 MiB (the sparse and dense corpora cut into pieces):
#      `cp -r`, `mfa-annotate -o OUT -j1`, `mfa-annotate -o OUT -j2`, and the copy floor at -j1 and -j2
#      (examples/copy_floor.rs: the same walk, temporary files, 128 KiB reads and writes and renames with
#      no annotation; what any tool that looks at the bytes pays on top of `cp -r`'s in-kernel copy)
#   2. one 256 MiB file (sparse): `mfa-annotate -j1 FILE > OUT`, `-j2`
#   3. 40 gzip files (100 MiB of text): `zcat | gzip -1` per file, `mfa-annotate -o OUT --gzip-level 1`
#      at -j1 and -j2
# and the peak resident memory of the folder run at -j2 and of the 1 GiB single file at -j2.
#
# Environment: MFA_BIN (binary; default: build target/release/mfa-annotate), DATA_DIR (default
# target/bench-data), RUNS (default 3).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA_DIR=${DATA_DIR:-target/bench-data}
RUNS=${RUNS:-3}
mkdir -p "$DATA_DIR"
DATA_DIR=$(realpath "$DATA_DIR")
command -v hyperfine >/dev/null || { echo "batch.sh: needs hyperfine (apt-get install -y hyperfine)" >&2; exit 1; }

echo "== machine: $(nproc) cpus, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
if [[ -z ${MFA_BIN:-} ]]; then
    cargo build --release
    MFA_BIN=$(realpath target/release/mfa-annotate)
fi
cargo build --release --example copy_floor
FLOOR=$(realpath target/release/examples/copy_floor)

GEN_HASH=$(sha256sum benches/gen_corpus.py | cut -c1-12)
corpus() {  # the 256 MiB corpora of run.sh, generated if missing
    local f="$DATA_DIR/$1-256MiB-$GEN_HASH.log"
    if [[ ! -s $f ]]; then
        python3 benches/gen_corpus.py --kind "$1" --size-mib 256 --out "$f.tmp" && mv "$f.tmp" "$f"
    fi
    echo "$f"
}
SPARSE=$(corpus sparse)
DENSE=$(corpus dense)

# 200 plain files of ~2.56 MiB cut at line ends from the two corpora (512 MiB in all), in 10 subfolders;
# and 40 gzip files from the first 100 MiB of the dense corpus.
PLAIN="$DATA_DIR/batch-plain-$GEN_HASH"
GZ="$DATA_DIR/batch-gz-$GEN_HASH"
if [[ ! -d $PLAIN ]]; then
    rm -rf "$DATA_DIR"/batch-plain-* "$PLAIN.tmp"
    mkdir -p "$PLAIN.tmp"
    (cd "$PLAIN.tmp" && split -C 2684355 -d -a 3 --additional-suffix=.log "$SPARSE" s && split -C 2684355 -d -a 3 --additional-suffix=.log "$DENSE" d)
    i=0
    for f in "$PLAIN.tmp"/*.log; do
        sub="$PLAIN.tmp/host$((i % 10))"; mkdir -p "$sub"; mv "$f" "$sub/"; i=$((i + 1))
    done
    mv "$PLAIN.tmp" "$PLAIN"
fi
if [[ ! -d $GZ ]]; then
    rm -rf "$DATA_DIR"/batch-gz-* "$GZ.tmp"
    mkdir -p "$GZ.tmp"
    head -c $((100 << 20)) "$DENSE" | (cd "$GZ.tmp" && split -C 2621440 -d -a 2 --additional-suffix=.log - r)
    for f in "$GZ.tmp"/*.log; do gzip -6 "$f"; done
    mv "$GZ.tmp" "$GZ"
fi
echo "plain folder: $(find "$PLAIN" -type f | wc -l) files, $(du -sb "$PLAIN" | cut -f1) bytes"
echo "gzip folder:  $(find "$GZ" -type f | wc -l) files, $(find "$GZ" -type f -exec zcat {} + | wc -c) bytes of text"

OUT="$DATA_DIR/batch-out"
prep="rm -rf $OUT $OUT.log; sync"
JSON="$DATA_DIR/batch.json"
table() {  # name mean ratios from hyperfine's JSON
    python3 - "$JSON" "$1" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
size = float(sys.argv[2])
base = res[0]["mean"]
for r in res:
    print(f'{r["command"]:<34}{r["mean"]:>8.3f} s ± {r["stddev"] or 0:.3f}{size / r["mean"] / 1e6:>9.0f} MB/s'
          f'{r["mean"] / base:>8.2f}x the first')
PY
}

echo; echo "== 1. folder of plain files, -o"
hyperfine --shell=bash -w 1 -r "$RUNS" --prepare "$prep" --export-json "$JSON" \
    -n 'cp -r' "cp -r $PLAIN $OUT" \
    -n 'mfa-annotate -o -j1' "$MFA_BIN -o $OUT -j1 --no-progress $PLAIN 2>/dev/null" \
    -n 'mfa-annotate -o -j2' "$MFA_BIN -o $OUT -j2 --no-progress $PLAIN 2>/dev/null" \
    -n 'copy floor -j1' "$FLOOR $PLAIN $OUT 1" \
    -n 'copy floor -j2' "$FLOOR $PLAIN $OUT 2" >/dev/null
table "$(du -sb "$PLAIN" | cut -f1)"

echo; echo "== 2. one 256 MiB file (sparse) to a file"
hyperfine --shell=bash -w 1 -r "$RUNS" --prepare "$prep" --export-json "$JSON" \
    -n 'mfa-annotate -j1' "$MFA_BIN -j1 $SPARSE > $OUT.log" \
    -n 'mfa-annotate -j2' "$MFA_BIN -j2 $SPARSE > $OUT.log" >/dev/null
table "$(stat -c %s "$SPARSE")"

echo; echo "== 3. gzip files, -o (text bytes)"
hyperfine --shell=bash -w 1 -r "$RUNS" --prepare "$prep" --export-json "$JSON" \
    -n 'zcat FILE | gzip -1 > OUT' "mkdir -p $OUT && for f in $GZ/*.gz; do zcat \$f | gzip -1 > $OUT/\${f##*/}; done" \
    -n 'mfa-annotate -o --gzip-level 1 -j1' "$MFA_BIN -o $OUT --gzip-level 1 -j1 --no-progress $GZ 2>/dev/null" \
    -n 'mfa-annotate -o --gzip-level 1 -j2' "$MFA_BIN -o $OUT --gzip-level 1 -j2 --no-progress $GZ 2>/dev/null" >/dev/null
table "$(find "$GZ" -type f -exec zcat {} + | wc -c)"

echo; echo "== peak memory (/usr/bin/time -v)"
bash -c "$prep"
/usr/bin/time -v "$MFA_BIN" -o "$OUT" -j2 --no-progress "$PLAIN" 2> "$DATA_DIR/time.txt" >/dev/null
echo "folder -o -j2 (200 files, 512 MiB): peak RSS $(awk -F': ' '/Maximum resident/ {print $2}' "$DATA_DIR/time.txt") KiB"
BIG=$(ls "$DATA_DIR"/sparse-1024MiB-x4-*.log 2>/dev/null | head -1 || true)
if [[ -n $BIG ]]; then
    /usr/bin/time -v "$MFA_BIN" -j2 "$BIG" 2> "$DATA_DIR/time.txt" > "$OUT.log"
    echo "one 1 GiB file -j2: peak RSS $(awk -F': ' '/Maximum resident/ {print $2}' "$DATA_DIR/time.txt") KiB"
fi
bash -c "$prep"
