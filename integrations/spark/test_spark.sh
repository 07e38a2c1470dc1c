#!/usr/bin/env bash
# The Spark integration test: makes (or reuses) a venv with the pinned pyspark from PyPI, builds the jar,
# and runs test_spark.py on Spark local[2]. Needs Java 17 (or 8/11) and python3 with venv; fails loudly if
# pyspark cannot be installed.
#   MFA_ANNOTATE_BIN   the binary to test (default: the newer of target/release and target/debug)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/integrations/spark"
venv="$root/target/spark-venv"
# Spark 3.5 runs on Java 8, 11 and 17 and Python 3.8-3.11 (and 3.12).
pyspark_version=3.5.8

if ! "$venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$pyspark_version')" 2>/dev/null; then
    echo "== creating $venv with pyspark==$pyspark_version"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --disable-pip-version-check --quiet "pyspark==$pyspark_version"
fi
java -version 2>&1 | head -1

binary="${MFA_ANNOTATE_BIN:-}"
if [ -z "$binary" ]; then
    for candidate in "$root/target/release/mfa-annotate" "$root/target/debug/mfa-annotate"; do
        if [ -x "$candidate" ] && { [ -z "$binary" ] || [ "$candidate" -nt "$binary" ]; }; then
            binary="$candidate"
        fi
    done
fi
[ -n "$binary" ] || { echo "test_spark.sh: no mfa-annotate binary: run cargo build first" >&2; exit 1; }
echo "== binary: $binary ($("$binary" --version))"

jar="$(PYTHON="$venv/bin/python" bash "$here/build_jar.sh")"
echo "== jar: $jar"
exec "$venv/bin/python" "$here/test_spark.py" --binary "$binary" --jar "$jar" --work "$root/target/spark-test"
