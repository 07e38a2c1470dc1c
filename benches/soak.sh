#!/usr/bin/env bash
# Streaming soak: SIZE bytes (default 10 GiB) of log text generated on the fly (the fixtures, stripped of
# their annotations and repeated by `yes`; nothing stored) piped through mfa-annotate, with its resident memory sampled every second from
# /proc/PID/status while it runs. The output is checked on the fly: piped through `mfa-annotate --strip`
# and compared with the generator's bytes, it must be the input again.
#
# Prints the samples' minimum, maximum and last values, the peak (VmHWM), the time and the throughput.
# Environment: MFA_BIN (default target/release/mfa-annotate, built), SIZE, ARGS (default -j2),
# INTERVAL (seconds between samples, default 1).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SIZE=${SIZE:-$((10 << 30))}
ARGS=${ARGS:--j2}
INTERVAL=${INTERVAL:-1}
if [[ -z ${MFA_BIN:-} ]]; then
    cargo build --release --quiet
    MFA_BIN=target/release/mfa-annotate
fi
# The fixtures without the annotations some of them already carry, so that strip gives the input back.
text=$(cat fixtures/*.log | "$MFA_BIN" --strip)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkfifo "$work/annotated"

start=$(date +%s.%N)
# The checker: strip the annotated stream and compare it with a second copy of the generator.
( "$MFA_BIN" --strip <"$work/annotated" | cmp - <(yes "$text" | head -c "$SIZE") >"$work/cmp" 2>&1 \
    && echo same >"$work/result" || echo DIFFERENT >"$work/result" ) &
checker=$!
yes "$text" | head -c "$SIZE" | "$MFA_BIN" $ARGS >"$work/annotated" &
pid=$!
: >"$work/samples"
while kill -0 "$pid" 2>/dev/null; do
    awk '/^VmRSS:/ {rss=$2} /^VmHWM:/ {hwm=$2} END {if (rss) print rss, hwm}' "/proc/$pid/status" \
        >>"$work/samples" 2>/dev/null || true
    sleep "$INTERVAL"
done
wait "$pid"
wait "$checker"
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
awk -v size="$SIZE" -v secs="$secs" -v args="$ARGS" '
    NF == 2 { n++; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1; last = $1; hwm = $2 }
    END {
        printf "soak: %.1f GiB through mfa-annotate %s in %s s (%.0f MB/s, with the strip check)\n", size / 2^30, args, secs, size / secs / 1e6
        printf "RSS samples: %d, min %d KiB, max %d KiB, last %d KiB; peak (VmHWM) %d KiB\n", n, min, max, last, hwm
    }' "$work/samples"
echo "strip(output) == input: $(cat "$work/result") $(cat "$work/cmp")"
