"""End-to-end test of mfa_annotate_spark.py on Spark local[2], against the local batch mode.

This file owns the checks; test_spark.sh makes the venv and the jar and runs it as
`test_spark.py --binary BIN --jar JAR --work DIR`. Each check prints one line; the last line is
"spark: N passed, N failed", and the exit status is 1 if any failed.

1. A generated folder (gen_logs.py --edge-cases: gzip, UTF-16, CRLF, invalid UTF-8, odd names, a corrupt
   gzip, ...), fixtures/, and one file over the --max-file-bytes given: every output file must be
   byte-identical to `mfa-annotate -o` on the same input, with nothing extra or missing other than the
   failing and refused files, the merged stats must equal `mfa-annotate --stats-only --json` over the good
   files, the failures must be in the errors file with the local reason, and the job exits 2.
2. Filters with --format and --codes-file: each output equals `mfa-annotate OPTIONS FILE` locally.
3. Refusals: no binary, an existing output, an executor whose binary differs from the driver's.
"""

import argparse
import json
import os
import random
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JOB = os.path.join(HERE, "mfa_annotate_spark.py")
sys.path.insert(0, HERE)
import gen_logs  # noqa: E402

MAX_BYTES = 4 << 20
FAILED = {"gen/bad/corrupt.log.gz"}  # a corrupt gzip: an error locally too
REFUSED = {"big/over-limit.log", "gen/names/10:00:00 colon.log"}  # refused by the job before reading


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok    " + name)
        else:
            self.failed += 1
            print("FAIL  %s%s" % (name, (": " + str(detail)[:2000]) if detail else ""))
        sys.stdout.flush()
        return ok


def spark_submit(job_args, jar, files, log):
    """Runs the job on local[2]; returns (exit status, the job's own lines). Spark's log goes to `log`."""
    venv_bin = os.path.dirname(sys.executable)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    cmd = [os.path.join(venv_bin, "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false"]
    cmd += ["--jars", jar] + (["--files", files] if files else []) + [JOB] + job_args
    with open(log, "wb") as fh:
        rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env).returncode
    with open(log, "rb") as fh:
        lines = [
            line for line in fh.read().decode("utf-8", "replace").splitlines() if line.startswith("mfa-annotate-spark:")
        ]
    return rc, lines


def tree(root, skip_top=()):
    """{relative path: bytes} of every file below root."""
    files = {}
    for dirpath, dirs, names in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in skip_top]
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as fh:
                files[os.path.normpath(os.path.join(rel, n))] = fh.read()
    return files


def compare_trees(c, name, got, want):
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    c.check(name + ": same files", not missing and not extra, "missing %s, extra %s" % (missing, extra))
    differ = sorted(k for k in set(got) & set(want) if got[k] != want[k])
    c.check(name + ": %d files byte-identical" % len(set(got) & set(want)), not differ, differ)


def tool(binary, *args):
    return subprocess.run([binary, *args], capture_output=True)


def stats_core(s):
    return {k: s[k] for k in ("codes", "unknown", "lines", "lines_with_fields", "fields")}


def test_mirror(c, binary, jar, work):
    inp = os.path.join(work, "input")
    subprocess.run(
        [
            sys.executable,
            os.path.join(HERE, "gen_logs.py"),
            os.path.join(inp, "gen"),
            "--files",
            "110",
            "--bytes",
            str(3 << 20),
            "--edge-cases",
        ],
        check=True,
    )
    shutil.copytree(os.path.join(ROOT, "fixtures"), os.path.join(inp, "fixtures"))
    os.makedirs(os.path.join(inp, "big"))
    with open(os.path.join(inp, "big", "over-limit.log"), "wb") as fh:
        fh.write(gen_logs.text(random.Random(7), MAX_BYTES + 4096))

    expected = os.path.join(work, "expected")
    local = tool(binary, "--no-progress", "-o", expected, inp)
    local_err = local.stderr.decode()
    c.check("local -o fails on the corrupt gzip only", local.returncode == 2 and "1 errors" in local_err, local_err)
    want = tree(expected)
    for rel in REFUSED:
        del want[rel]
    good = os.path.join(work, "good")
    shutil.copytree(inp, good)
    for rel in FAILED | REFUSED:
        os.remove(os.path.join(good, rel))
    local_stats = tool(binary, "--stats-only", "--json", good)
    c.check("local stats over the good files", local_stats.returncode == 0, local_stats.stderr)
    local_total = json.loads(local_stats.stdout)
    n_good = len(tree(good))

    out = os.path.join(work, "out")
    rc, lines = spark_submit(
        ["--output", out, "--max-file-bytes", str(MAX_BYTES), inp], jar, binary, os.path.join(work, "mirror.log")
    )
    c.check("job exits 2 with a failed file", rc == 2, "status %d, %s" % (rc, lines))
    got = tree(out, skip_top=("_mfa_annotate",))
    compare_trees(c, "mirror", got, want)

    meta = os.path.join(out, "_mfa_annotate")
    with open(os.path.join(meta, "summary.json")) as fh:
        summary = json.load(fh)
    c.check(
        "merged stats equal the local --stats-only --json",
        stats_core(summary) == stats_core(local_total),
        json.dumps([stats_core(summary), stats_core(local_total)]),
    )
    c.check(
        "summary counts files, skipped, errors",
        (summary["files"], summary["skipped"], summary["errors"]) == (n_good, 1, len(FAILED | REFUSED)),
        (summary["files"], summary["skipped"], summary["errors"], n_good),
    )
    per_file = []
    for part in sorted(os.listdir(os.path.join(meta, "stats"))):
        with open(os.path.join(meta, "stats", part)) as fh:
            per_file += [json.loads(line) for line in fh]
    c.check("per-file stats for every good file", sorted(s["path"] for s in per_file) == sorted(tree(good)))

    with open(os.path.join(meta, "errors.jsonl")) as fh:
        errors = {e["path"]: e["error"] for e in map(json.loads, fh)}
    c.check("errors file lists the failed and refused files", set(errors) == FAILED | REFUSED, errors)
    bad = sorted(FAILED)[0]
    local_reason = [line for line in local_err.splitlines() if bad in line]
    c.check(
        "the corrupt gzip's reason is the tool's",
        local_reason and local_reason[0].endswith(": " + errors.get(bad, "?")),
        (local_reason, errors.get(bad)),
    )
    too_big = errors.get("big/over-limit.log", "")
    c.check("the refused large file says why", "over the limit of %d" % MAX_BYTES in too_big, too_big)
    c.check("the driver prints each error", any(bad in line for line in lines), lines)
    c.check(
        "the output tree has no .crc or _SUCCESS of its own",
        not any(k.endswith(".crc") or (k.endswith("_SUCCESS") and k != "gen/_SUCCESS") for k in got),
        sorted(got)[:5],
    )


def test_filters(c, binary, jar, work):
    inp = os.path.join(work, "input2")
    os.makedirs(inp)
    for name in os.listdir(os.path.join(ROOT, "fixtures")):
        if name.endswith(".log"):
            shutil.copy(os.path.join(ROOT, "fixtures", name), inp)
    gen = os.path.join(work, "input", "gen")
    for rel in ("encodings/utf16le-bom.log", "gz/multi-member.log.gz", "hosts/netop-gw01/remote-0006.log.gz"):
        shutil.copy(os.path.join(gen, rel), inp)
    codes = os.path.join(work, "codes.tsv")
    with open(codes, "w") as fh:
        fh.write("# test codes\n129\tDenied in the app (custom)\n777\tSeven seven seven\n")
    opts = ["--codes-file", codes, "--format", " [{code} {kind}: {desc}]", "--code", "100-142,777", "-n"]

    want = {}
    for name in sorted(os.listdir(inp)):
        r = tool(binary, *opts, os.path.join(inp, name))
        c.check("local filter on %s" % name, r.returncode in (0, 1), r.stderr)
        if r.returncode == 0:
            want[name] = r.stdout
    local_stats = json.loads(tool(binary, "--codes-file", codes, "--stats-only", "--json", inp).stdout)

    out = os.path.join(work, "out2")
    rc, lines = spark_submit(opts + ["--output", out, inp], jar, binary, os.path.join(work, "filters.log"))
    c.check("filter job exits 0", rc == 0, "status %d, %s" % (rc, lines))
    compare_trees(c, "filters", tree(out, skip_top=("_mfa_annotate",)), want)
    with open(os.path.join(out, "_mfa_annotate", "summary.json")) as fh:
        summary = json.load(fh)
    c.check(
        "filter job stats use the shipped codes file",
        stats_core(summary) == stats_core(local_stats),
        json.dumps([stats_core(summary), stats_core(local_stats)]),
    )
    c.check("custom code in the stats", any(x["description"] == "Seven seven seven" for x in summary["codes"]))


def test_refusals(c, binary, jar, work):
    inp = os.path.join(work, "input2")
    rc, lines = spark_submit(
        ["--binary", "/nonexistent/mfa-annotate", "--output", os.path.join(work, "out3"), inp],
        jar,
        None,
        os.path.join(work, "nobinary.log"),
    )
    c.check(
        "no binary: exit 2, clear message", rc == 2 and any("mfa-annotate not found" in line for line in lines), lines
    )
    c.check("no binary: no output", not os.path.exists(os.path.join(work, "out3")))

    rc, lines = spark_submit(
        ["--output", os.path.join(work, "out2"), inp], jar, binary, os.path.join(work, "exists.log")
    )
    c.check("existing output: exit 2, clear message", rc == 2 and any("exists" in line for line in lines), lines)

    # A binary that answers --version differently on the executors (Python workers) than on the driver.
    fake = os.path.join(work, "fake", "mfa-annotate")
    os.makedirs(os.path.dirname(fake))
    with open(fake, "w") as fh:
        fh.write(
            '#!/bin/sh\nif [ -n "${PYTHON_WORKER_FACTORY_SECRET:-}" ] && [ "$1" = --version ]; then\n'
            '    echo "mfa-annotate 0.0.0-other"; exit 0\nfi\nexec %s "$@"\n' % binary
        )
    os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
    rc, lines = spark_submit(
        ["--output", os.path.join(work, "out4"), inp], jar, fake, os.path.join(work, "version.log")
    )
    c.check(
        "executor with another version: exit 2, clear message",
        rc == 2 and any("0.0.0-other" in line and "driver checked" in line for line in lines),
        lines,
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--jar", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    binary, jar, work = (os.path.abspath(x) for x in (a.binary, a.jar, a.work))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    c = Checks()
    for test in (test_mirror, test_filters, test_refusals):
        try:
            test(c, binary, jar, work)
        except Exception as e:  # a crash in one part is a failure, the others still run
            c.check(test.__name__ + " ran to the end", False, repr(e))
    print("spark logs in %s/*.log" % work)
    print("spark: %d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
