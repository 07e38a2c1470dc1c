#!/usr/bin/env bash
# Hostile inputs for mfa-annotate: peak memory (RSS) and a correctness check on each, with the release
# binary. Inputs are generated on the fly through a pipe (nothing stored), except the gzip bombs, which
# are built once under target/bench-data.
#
#   long-line-fields   1 GiB, one line, no newline: `callStatus=129 Call Status: 20 x ` repeated
#                      (blanks only between fields: no byte after which a stream normally may be cut)
#   ten-million-fields 10,000,000 fields on one line: `callStatus=129 ` repeated
#   digits             1 GiB of digits, no newline
#   letters            1 GiB of letters and digits, no newline
#   gzip-bomb-zeros    1 GiB of NUL bytes gzipped (about 1000:1), to stdout and with -o (stays gzip)
#   gzip-bomb-log      1 GiB of log lines gzipped (-9)
#
# Each case reports the peak RSS of `mfa-annotate -j1` and `-j2` (from /usr/bin/time), and checks the
# output: stripping it gives the input back, annotating it again adds nothing, and the field count (from
# --stats-only on the output) is what the generator produced.
#
# Environment: MFA_BIN (default: target/release/mfa-annotate, built), SIZE (bytes; default 1 GiB),
# DATA_DIR (default target/bench-data).
set -eu  # no pipefail: the generators end with SIGPIPE when `head` has enough
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SIZE=${SIZE:-$((1 << 30))}
DATA_DIR=${DATA_DIR:-target/bench-data}
mkdir -p "$DATA_DIR"
if [[ -z ${MFA_BIN:-} ]]; then
    cargo build --release --quiet
    MFA_BIN=target/release/mfa-annotate
fi

# gen NAME: writes the input of case NAME to stdout.
gen() {
    case $1 in
    long-line-fields) yes 'callStatus=129 Call Status: 20 x ' | tr -d '\n' | head -c "$SIZE" ;;
    ten-million-fields) yes 'callStatus=129 ' | tr -d '\n' | head -c $((10000000 * 15)) ;;
    digits) yes 0123456789 | tr -d '\n' | head -c "$SIZE" ;;
    letters) yes abcdefghijklmnopqrstuvwxyz0123456789 | tr -d '\n' | head -c "$SIZE" ;;
    *) echo "unknown case $1" >&2; exit 1 ;;
    esac
}

peak() { # peak RSS in KiB of a command, its output discarded
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}

printf '%-20s %12s %12s %s\n' case "RSS -j1 KiB" "RSS -j2 KiB" check
for c in long-line-fields ten-million-fields digits letters; do
    r1=$(peak bash -c "$(declare -f gen); SIZE=$SIZE; gen $c | $MFA_BIN -j1")
    r2=$(peak bash -c "$(declare -f gen); SIZE=$SIZE; gen $c | $MFA_BIN -j2")
    # The checks: strip(annotate(x)) == x; annotate(annotate(x)) == annotate(x); field count.
    a=$(gen "$c" | "$MFA_BIN" | sha256sum)
    b=$(gen "$c" | "$MFA_BIN" | "$MFA_BIN" | sha256sum)
    s=$(gen "$c" | "$MFA_BIN" | "$MFA_BIN" --strip | cmp - <(gen "$c") && echo same)
    fields=$(gen "$c" | "$MFA_BIN" | "$MFA_BIN" --stats-only --json | grep -o '"fields":[0-9]*' | tail -1)
    check="strip:${s:-DIFFERENT} second-run:$([[ $a == "$b" ]] && echo same || echo DIFFERENT) $fields"
    printf '%-20s %12s %12s %s\n' "$c" "$r1" "$r2" "$check"
done

# gzip bombs (built once)
zeros="$DATA_DIR/bomb-zeros.gz"
logs="$DATA_DIR/bomb-log.gz"
[[ -s $zeros ]] || head -c "$SIZE" /dev/zero | gzip -9 >"$zeros"
[[ -s $logs ]] || yes 'x callStatus=129 y' | head -c "$SIZE" | gzip -9 >"$logs"
for f in "$zeros" "$logs"; do
    ratio=$(( SIZE / $(stat -c %s "$f") ))
    r1=$(peak "$MFA_BIN" -j1 "$f")
    r2=$(peak "$MFA_BIN" -j2 "$f")
    out=$(mktemp -d "$DATA_DIR/bomb-out.XXXXXX")
    ro=$(peak "$MFA_BIN" -j2 -o "$out" "$f")
    got=$("$MFA_BIN" --strip "$out/$(basename "$f")" | cmp - <(gzip -dc "$f") && echo same)
    rm -rf "$out"
    printf '%-20s %12s %12s -o: %s KiB, ratio %d:1, strip(-o output):%s\n' "$(basename "$f")" "$r1" "$r2" "$ro" "$ratio" "${got:-DIFFERENT}"
done
