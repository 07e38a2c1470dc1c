#!/usr/bin/env bash
# Batch and parallel benchmark for mfa-annotate (issue: batch-annotate archived folders).
#
# Builds on the corpora of benches/run.sh (benches/gen_corpus.py, deterministic) and times, side by side
# with hyperfine (every command writes real files on the same disk; outputs are removed and
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
# Each case runs its commands in RUNS interleaved rounds (see `interleaved` below) and reports medians.
#
# Environment: MFA_BIN (binary; default: build target/release/mfa-annotate), DATA_DIR (default
# target/bench-data), RUNS (rounds; default 5).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DATA_DIR=${DATA_DIR:-target/bench-data}
RUNS=${RUNS:-5}
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
JSON="$DATA_DIR/batch"

# interleaved SIZE NAME CMD [NAME CMD]...: RUNS rounds, each running every command once in turn (after a
# warmup round; each round starts one command further down the list, so no command always runs after the
# same one), so that a drift of the machine's speed over the minutes of a benchmark (this VM's host varies
# it by 20% and more) reaches all commands alike instead of the ones that happened to run last. Prints, per
# command, the median and the range of its times, MB/s from the median, and its ratio to the first
# command: the median over the rounds of the ratio within a round, and their range; and for each `-j2`
# command with a `-j1` twin, the speedup, likewise.
interleaved() {
    local size=$1; shift
    local names=() cmds=() round k args
    while (($#)); do names+=("$1"); cmds+=("$2"); shift 2; done
    local n=${#names[@]}
    for round in $(seq 0 "$RUNS"); do   # round 0 is the warmup
        args=()
        for ((k = 0; k < n; k++)); do
            local c=$(((round + k) % n))
            args+=(-n "${names[c]}" "${cmds[c]}")
        done
        hyperfine --shell=bash -w 0 -r 1 --prepare "$prep" --export-json "$JSON-$round.json" "${args[@]}" \
            >/dev/null 2>&1
    done
    python3 - "$size" "$JSON" "$RUNS" "${names[@]}" <<'PY'
import json, statistics, sys
size, stem, rounds, order = float(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
runs = []
for r in range(1, rounds + 1):
    by_name = {x["command"]: x for x in json.load(open(f"{stem}-{r}.json"))["results"]}
    runs.append([by_name[name] for name in order])
for k, first in enumerate(runs[0]):
    times = [run[k]["mean"] for run in runs]
    ratios = [run[k]["mean"] / run[0]["mean"] for run in runs]
    med = statistics.median(times)
    print(f'{first["command"]:<34}{med:>7.3f} s ({min(times):.3f}-{max(times):.3f}){size / med / 1e6:>6.0f} MB/s'
          f'{statistics.median(ratios):>7.2f}x the first ({min(ratios):.2f}-{max(ratios):.2f})')
names = [r["command"] for r in runs[0]]
for k, name in enumerate(names):
    if name.endswith("-j2") and name[:-1] + "1" in names:
        j = names.index(name[:-1] + "1")
        speedups = [run[j]["mean"] / run[k]["mean"] for run in runs]
        print(f'{name}: {statistics.median(speedups):.2f}x as fast as -j1 '
              f'(median of the rounds; {min(speedups):.2f}-{max(speedups):.2f})')
PY
    rm -f "$JSON"-*.json
}

echo; echo "== 1. folder of plain files, -o (median of $RUNS interleaved rounds)"
interleaved "$(du -sb "$PLAIN" | cut -f1)" \
    'cp -r' "cp -r $PLAIN $OUT" \
    'mfa-annotate -o -j1' "$MFA_BIN -o $OUT -j1 --no-progress $PLAIN 2>/dev/null" \
    'mfa-annotate -o -j2' "$MFA_BIN -o $OUT -j2 --no-progress $PLAIN 2>/dev/null" \
    'copy floor -j1' "$FLOOR $PLAIN $OUT 1" \
    'copy floor -j2' "$FLOOR $PLAIN $OUT 2"

echo; echo "== 2. one 256 MiB file (sparse) to a file"
interleaved "$(stat -c %s "$SPARSE")" \
    'mfa-annotate -j1' "$MFA_BIN -j1 $SPARSE > $OUT.log" \
    'mfa-annotate -j2' "$MFA_BIN -j2 $SPARSE > $OUT.log"

echo; echo "== 3. gzip files, -o (text bytes)"
interleaved "$(find "$GZ" -type f -exec zcat {} + | wc -c)" \
    'zcat FILE | gzip -1 > OUT' "mkdir -p $OUT && for f in $GZ/*.gz; do zcat \$f | gzip -1 > $OUT/\${f##*/}; done" \
    'mfa-annotate -o --gzip-level 1 -j1' "$MFA_BIN -o $OUT --gzip-level 1 -j1 --no-progress $GZ 2>/dev/null" \
    'mfa-annotate -o --gzip-level 1 -j2' "$MFA_BIN -o $OUT --gzip-level 1 -j2 --no-progress $GZ 2>/dev/null"

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
