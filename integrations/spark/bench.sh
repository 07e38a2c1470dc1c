#!/usr/bin/env bash
# Times the Spark job at local[1] and local[2] against the plain batch mode (`mfa-annotate -o -j1/-j2`) on
# the same generated folder (gen_logs.py: FILES files, about MIB MiB of plain text), and prints a table.
# For each Spark run: the wall time of spark-submit (JVM start and stop included) and the job's own time
# (from its last line: listing, annotating, writing, merging the stats). Outputs are deleted and synced
# before each run. Needs the venv and jar of test_spark.sh (run it once first) and the release binary.
#   FILES=200 MIB=200 RUNS=1 bash integrations/spark/bench.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/integrations/spark"
venv="$root/target/spark-venv"
bin="${MFA_ANNOTATE_BIN:-$root/target/release/mfa-annotate}"
work="$root/target/spark-bench"
files="${FILES:-200}" mib="${MIB:-200}" runs="${RUNS:-1}"
[ -x "$bin" ] || { echo "bench.sh: no $bin: run cargo build --release" >&2; exit 1; }
[ -x "$venv/bin/spark-submit" ] || { echo "bench.sh: no $venv: run integrations/spark/test_spark.sh once" >&2; exit 1; }
jar="$(PYTHON="$venv/bin/python" bash "$here/build_jar.sh")"

input="$work/input-$files-$mib"
if [ ! -d "$input" ]; then
    "$venv/bin/python" "$here/gen_logs.py" "$input" --files "$files" --bytes "$((mib << 20))"
fi
bytes="$(du -sb "$input" | cut -f1)"
out="$work/out"
export PATH="$venv/bin:$PATH" PYSPARK_PYTHON="$venv/bin/python" SPARK_LOCAL_IP=127.0.0.1

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
fresh() { rm -rf "$out"; sync; }
echo "input: $input, $(find "$input" -type f | wc -l) files, $bytes bytes; $("$bin" --version); $runs run(s) each"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-28s | %9s | %9s | %8s |\n' command "wall s" "job s" "MB/s"
printf '|%s|%s|%s|%s|\n' ------------------------------ ----------- ----------- ----------
for run in $(seq "$runs"); do
    for j in 1 2; do
        fresh; t0=$(now)
        "$bin" --no-progress -j "$j" -o "$out" "$input" 2>/dev/null
        t=$(calc "$(now) - $t0")
        printf '| %-28s | %9.2f | %9s | %8.0f |\n' "mfa-annotate -o -j$j" "$t" "" "$(calc "$bytes / $t / 1000000")"
    done
    for n in 1 2; do
        fresh; t0=$(now)
        log="$work/spark-local$n.log"
        spark-submit --master "local[$n]" --conf spark.ui.enabled=false --jars "$jar" --files "$bin" \
            "$here/mfa_annotate_spark.py" --binary "$bin" --output "$out" "$input" > "$log" 2>&1 \
            || { echo "bench.sh: the Spark job failed, see $log" >&2; exit 1; }
        t=$(calc "$(now) - $t0")
        job=$(sed -n 's/.* errors in \([0-9.]*\) s;.*/\1/p' "$log" | tail -1)
        printf '| %-28s | %9.2f | %9.2f | %8.0f |\n' "spark local[$n]" "$t" "$job" "$(calc "$bytes / $job / 1000000")"
    done
done
fresh
