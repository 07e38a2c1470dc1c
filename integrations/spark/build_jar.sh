#!/usr/bin/env bash
# Builds target/spark/mfa-annotate-spark.jar from integrations/spark/java/ with javac alone (no Maven),
# against the Spark and Hadoop client jars that the pyspark package ships.
#   PYTHON   a python with pyspark installed (default: target/spark-venv/bin/python, else python3)
#   SPARK_HOME   used instead of pyspark's jars when set
# Prints the jar's path on stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/integrations/spark"
out="$root/target/spark"
python="${PYTHON:-$root/target/spark-venv/bin/python}"
[ -x "$python" ] || python=python3

if [ -n "${SPARK_HOME:-}" ]; then
    jars="$SPARK_HOME/jars"
else
    jars="$("$python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
fi
[ -d "$jars" ] || { echo "build_jar.sh: no Spark jars at $jars (install pyspark or set SPARK_HOME)" >&2; exit 1; }

rm -rf "$out/classes"
mkdir -p "$out/classes"
# --release 8: the class files also load on clusters that still run Spark on Java 8.
javac --release 8 -Xlint:all,-options,-path -Werror -cp "$jars/*" -d "$out/classes" \
    $(find "$here/java" -name '*.java' | sort) >&2
jar --create --file "$out/mfa-annotate-spark.jar" -C "$out/classes" . >&2
echo "$out/mfa-annotate-spark.jar"
