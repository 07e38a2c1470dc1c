"""Annotate log files on Apache Spark with the mfa-annotate binary; merge their stats with Spark.

This file owns the PySpark job: its command line, the checks made before anything runs, how files are
split into partitions, running `mfa-annotate` on each file on the executors, and merging the per-file
stats and errors. Listing, reading and writing through Hadoop's FileSystem (local, hdfs://, s3a://, ...)
are in the small Java classes under java/ (built by build_jar.sh, shipped with --jars).

    spark-submit --jars mfa-annotate-spark.jar --files /path/to/mfa-annotate \\
        mfa_annotate_spark.py --output s3a://bucket/annotated s3a://bucket/logs hdfs:///more/logs

Each file is one record: its bytes go from the JVM to Python and into a local temporary file unchanged
(never decoded, never split into lines), `mfa-annotate -o` annotates it exactly as the local batch mode
does (gzip stays gzip, UTF-16 stays UTF-16), and the result goes back as bytes to the output, under the
same path relative to its input folder. The output also gets `_mfa_annotate/`: `summary.json` (the merged
stats, also printed), `errors.jsonl` (one object per failed file) and `stats/` (the stats of every file).

Exit status: 0 when every file was annotated; 2 when a file failed (the others are still written) or
nothing could run (missing binary or jar, bad option, existing output).
"""

import argparse
import heapq
import json
import os
import posixpath
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from functools import partial
from operator import add

PROG = "mfa-annotate-spark"
# The most one record can hold: Spark moves a record between the JVM and Python as one byte array, whose
# length is a signed 32-bit int. A file (or its annotated output) past this is refused with a message.
RECORD_LIMIT = 2**31 - 2**20
META = "_mfa_annotate"
# Top-level names of the output that are not for mirrored files: ours, and the committer's staging folder.
RESERVED = (META, "_temporary")
# mfa-annotate's own line after an -o run ("mfa-annotate: 1 files annotated, ..."): not an error.
TOOL_SUMMARY = re.compile(r"^mfa-annotate: \d+ files annotated")


class JobError(Exception):
    """A problem that stops the whole job: reported as one line, exit status 2."""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Annotate files on Spark with mfa-annotate, mirroring the input folders under --output.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders: paths or Hadoop URIs, no globs")
    p.add_argument("--output", required=True, help="output folder (path or Hadoop URI); must not exist")
    p.add_argument(
        "--binary",
        default="mfa-annotate",
        help="mfa-annotate to run: the file of this name shipped with --files, else this path, else PATH",
    )
    p.add_argument("--partitions", type=int, help="number of partitions (default: from cores and sizes)")
    p.add_argument(
        "--max-file-bytes",
        type=int,
        default=RECORD_LIMIT,
        help="refuse larger files (default and upper bound: %(default)s, one Spark record)",
    )
    a = p.add_argument_group("annotation (as for mfa-annotate)")
    a.add_argument("--format", metavar="TEMPLATE")
    a.add_argument("--unknown", choices=["annotate", "keep"])
    a.add_argument("--codes-file", metavar="FILE", help="a local file, shipped to the executors")
    a.add_argument("--gzip-level", type=int, metavar="LEVEL")
    f = p.add_argument_group(
        "filters: each output file holds the selected lines as plain text, like `mfa-annotate FILTERS FILE`"
    )
    f.add_argument("-m", "--matching", action="store_true")
    f.add_argument("--code", metavar="LIST")
    f.add_argument("--kind", choices=["result", "error", "fraud"])
    f.add_argument("--unknown-only", action="store_true")
    f.add_argument("-v", "--invert", action="store_true")
    f.add_argument("-n", "--line-number", action="store_true")
    args = p.parse_args(argv)
    if not 0 < args.max_file_bytes <= RECORD_LIMIT:
        p.error("--max-file-bytes must be between 1 and %d" % RECORD_LIMIT)
    if args.partitions is not None and args.partitions < 1:
        p.error("--partitions must be at least 1")
    return args


def tool_options(args):
    """The mfa-annotate options given, split into (annotation, filters); --codes-file by base name."""
    annotation, filters = [], []
    for flag, value in (("--format", args.format), ("--unknown", args.unknown), ("--gzip-level", args.gzip_level)):
        if value is not None:
            annotation += [flag, str(value)]
    for flag, value in (("--code", args.code), ("--kind", args.kind)):
        if value is not None:
            filters += [flag, value]
    for flag, on in (("-m", args.matching), ("--unknown-only", args.unknown_only), ("-v", args.invert)):
        if on:
            filters.append(flag)
    if args.line_number:
        if not filters:
            raise JobError("-n only goes with a filter (-m, --code, --kind, --unknown-only, -v)")
        filters.append("-n")
    return annotation, filters


# ---- running the binary (driver and executors) -------------------------------------------------------


def shipped_file(name):
    """A file shipped with spark-submit --files, by base name, or None.

    Spark keeps it in the SparkFiles folder; YARN also puts it in the container's working directory,
    which is where a driver in cluster mode finds it.
    """
    from pyspark import SparkFiles

    candidates = [os.path.abspath(name)]
    try:
        candidates.insert(0, SparkFiles.get(name))
    except Exception:  # no SparkContext or files folder here
        pass
    return next((c for c in candidates if os.path.isfile(c)), None)


def find_binary(spec, scratch):
    """The mfa-annotate to run here, or None: the file of that base name shipped with --files, else
    `spec` as a path (if it has a `/`), else `spec` on PATH.

    A shipped file that lost its execute bit is copied into `scratch` and made executable.
    """
    for candidate in (shipped_file(os.path.basename(spec)), spec if "/" in spec else None, shutil.which(spec)):
        if candidate and os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            copy = os.path.join(scratch, os.path.basename(candidate))
            shutil.copyfile(candidate, copy)
            os.chmod(copy, 0o755)
            return copy
    return None


def binary_version(binary):
    """`mfa-annotate --version` ("mfa-annotate 0.1.0"), or a JobError saying what went wrong."""
    try:
        run = subprocess.run([binary, "--version"], capture_output=True, timeout=60)
    except OSError as e:
        raise JobError("cannot run %s: %s" % (binary, e)) from None
    version = run.stdout.decode("utf-8", "replace").strip()
    if run.returncode != 0 or not version.startswith("mfa-annotate "):
        raise JobError("%s --version gave %r (status %d): not mfa-annotate" % (binary, version, run.returncode))
    return version


def clean_stderr(stderr, tmp_path, relpath):
    """mfa-annotate's error lines with the temporary path replaced by the file's relative path."""
    lines = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.strip() and not TOOL_SUMMARY.match(line):
            lines.append(line.replace("mfa-annotate: " + tmp_path + ": ", "").replace(tmp_path, relpath))
    return "; ".join(lines) or "failed without a message"


def annotate_file(cfg, binary, work, relpath, data):
    """Annotates one file's bytes. Returns (output bytes or None, stats dict, None) or (None, None, error).

    The file is written under its own name into an empty folder and that folder is given to mfa-annotate,
    so that it is treated exactly like a file met while walking a folder in the local batch mode (the
    same name, the same binary-file check). No output means the tool skipped it (`skipped` in the stats).
    """
    in_dir, out_dir = os.path.join(work, "in"), os.path.join(work, "out")
    for d in (in_dir, out_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
    name = posixpath.basename(relpath)
    src = os.path.join(in_dir, name)
    with open(src, "wb") as fh:
        fh.write(data)
    threads = ["-j", str(cfg["threads"])]

    if cfg["filters"]:
        run = subprocess.run([binary, *threads, *cfg["annotation"], *cfg["filters"], in_dir], capture_output=True)
        if run.returncode not in (0, 1):  # 1: no line selected, like grep
            return None, None, clean_stderr(run.stderr, src, relpath)
        output = run.stdout or None  # nothing selected: no output file
    else:
        run = subprocess.run(
            [binary, *threads, "--no-progress", *cfg["annotation"], "-o", out_dir, in_dir], capture_output=True
        )
        if run.returncode != 0:
            return None, None, clean_stderr(run.stderr, src, relpath)
        dst = os.path.join(out_dir, name)
        output = None
        if os.path.exists(dst):
            with open(dst, "rb") as fh:
                output = fh.read()
    skipped = clean_stderr(run.stderr, src, relpath) if output is None and run.stderr.strip() else None
    if output is not None and len(output) > RECORD_LIMIT:
        return None, None, "annotated output is %d bytes, more than one Spark record holds" % len(output)

    stats_run = subprocess.run([binary, *threads, *cfg["stats"], "--stats-only", "--json", in_dir], capture_output=True)
    if stats_run.returncode != 0:
        return None, None, "stats: " + clean_stderr(stats_run.stderr, src, relpath)
    stats = json.loads(stats_run.stdout)
    stats["path"] = relpath
    if skipped:
        stats["skipped"] = skipped
    return output, stats, None


def annotate_partition(cfg, index, records):
    """Executor side: (key, bytes) records in; (relative path, bytes) out for the output format.

    Keys are "F" + relative path for a file read, "E" + relative path for one the JVM could not read
    (the value is then the reason). Besides the annotated files, yields this partition's per-file stats
    and errors as `_mfa_annotate/stats/part-NNNNN.jsonl` and `_mfa_annotate/errors/part-NNNNN.jsonl`:
    a retried task writes the same names, and the committer keeps one attempt's files.
    """
    from pyspark import TaskContext

    local_dirs = os.environ.get("SPARK_LOCAL_DIRS", "").split(",")
    stats, errors = [], []
    with tempfile.TemporaryDirectory(prefix="mfa-annotate-spark-", dir=local_dirs[0] or None) as work:
        binary = find_binary(cfg["binary"], work)
        where = "executor %s" % socket.gethostname()
        if binary is None:
            raise RuntimeError(
                "%s: %s: no mfa-annotate binary %r (ship it with --files or install it on PATH)"
                % (PROG, where, cfg["binary"])
            )
        try:
            version = binary_version(binary)
        except JobError as e:
            raise RuntimeError("%s: %s: %s" % (PROG, where, e)) from None
        if version != cfg["version"]:
            raise RuntimeError(
                "%s: %s: %s is %r but the driver checked %r" % (PROG, where, binary, version, cfg["version"])
            )
        if cfg["codes_file"]:
            from pyspark import SparkFiles

            codes = SparkFiles.get(cfg["codes_file"])
            cfg = dict(cfg, annotation=cfg["annotation"] + ["--codes-file", codes], stats=["--codes-file", codes])
        ctx = TaskContext.get()
        cfg = dict(cfg, threads=ctx.cpus() if ctx and hasattr(ctx, "cpus") else 1)

        for key, data in records:
            relpath = key[1:]
            if key[0] == "E":
                errors.append({"path": relpath, "error": data.decode("utf-8", "replace")})
                continue
            try:
                output, file_stats, error = annotate_file(cfg, binary, work, relpath, data)
            except (OSError, ValueError) as e:  # a full local disk, unreadable JSON, ...
                output, file_stats, error = None, None, "%s: %s" % (where, e)
            del data
            if error:
                errors.append({"path": relpath, "error": error})
                continue
            stats.append(file_stats)
            if output is not None:
                yield relpath, output

    for kind, items in (("stats", stats), ("errors", errors)):
        if items:
            lines = "".join(json.dumps(item, sort_keys=True) + "\n" for item in items)
            yield "%s/%s/part-%05d.jsonl" % (META, kind, index), lines.encode("utf-8")


# ---- the driver ---------------------------------------------------------------------------------------


def nul_fields(blob):
    """NUL-terminated UTF-8 fields, as the Java side writes them."""
    fields = bytes(blob).split(b"\0")
    return [f.decode("utf-8") for f in fields[:-1]]


def list_inputs(jvm, hconf, inputs, max_bytes):
    """Lists every file below the inputs (Hadoop FileSystem, on the driver). Returns (files, errors).

    files: (relative path, size, URI) to annotate; errors: {"path", "error"} for inputs that cannot be
    listed, files over the record limit, and files whose path the output reserves or holds a `:` (which
    Hadoop's committer cannot move). Two inputs that would give the same relative path stop the job, as
    in the local batch mode.
    """
    blob = jvm.mfaannotate.spark.WholeFiles.list(hconf, "\0".join(inputs).encode("utf-8") + b"\0")
    fields = nul_fields(blob)
    files, errors, seen = [], [], {}
    for i in range(0, len(fields), 4):
        kind, relpath, size, text = fields[i : i + 4]
        if kind == "E":
            errors.append({"path": relpath, "error": "cannot list input: " + text})
        elif relpath in seen:
            raise JobError("two inputs would land on the same path %s: %s and %s" % (relpath, seen[relpath], text))
        else:
            seen[relpath] = text
            if relpath.split("/", 1)[0] in RESERVED:
                errors.append({"path": relpath, "error": "the output reserves this path for the job: rename it"})
            elif ":" in relpath:
                # FileOutputCommitter rebuilds paths from names, and a name with `:` reads as a URI scheme:
                # the commit of the whole job would fail.
                errors.append({"path": relpath, "error": "Hadoop's output committer cannot move a name with ':'"})
            elif int(size) > max_bytes:
                errors.append(
                    {
                        "path": relpath,
                        "error": "file is %s bytes, over the limit of %d for one Spark record: "
                        "annotate it with mfa-annotate directly" % (size, max_bytes),
                    }
                )
            else:
                files.append((relpath, int(size), text))
    return files, errors


def plan_partitions(files, partitions):
    """Spreads files over `partitions` groups of about equal bytes (largest first into the lightest)."""
    heap = [(0, i) for i in range(partitions)]
    assignment = []
    for relpath, size, uri in sorted(files, key=lambda f: (-f[1], f[0])):
        load, i = heapq.heappop(heap)
        assignment.append((i, relpath, uri))
        heapq.heappush(heap, (load + size + 4096, i))  # + a per-file cost, so tiny files spread too
    return sorted(assignment)


def stat_items(stats):
    """One file's stats as ((what...), count) pairs for reduceByKey."""
    yield ("total", "files"), 1
    yield ("total", "skipped"), 1 if stats.get("skipped") else 0
    for key in ("lines", "lines_with_fields", "fields"):
        yield ("total", key), stats[key]
    for c in stats["codes"]:
        yield ("code", c["code"], c["description"], c["kind"], c["known"], c["fraud"]), c["count"]
    for u in stats["unknown"]:
        yield ("unknown", u["code"]), u["count"]


def summary_from(merged, errors):
    """The merged counts in the shape of `mfa-annotate --stats-only --json`, plus files, skipped, errors."""
    totals = {k[1]: v for k, v in merged if k[0] == "total"}
    codes = [
        {"code": k[1], "count": v, "description": k[2], "fraud": k[5], "kind": k[3], "known": k[4]}
        for k, v in merged
        if k[0] == "code"
    ]
    codes.sort(key=lambda c: (-c["count"], c["code"]))  # as the tool: most first, ties by code
    unknown = sorted(({"code": k[1], "count": v} for k, v in merged if k[0] == "unknown"), key=lambda u: u["code"])
    summary = {"codes": codes, "unknown": unknown, "path": None, "errors": errors}
    for key in ("files", "skipped", "lines", "lines_with_fields", "fields"):
        summary[key] = totals.get(key, 0)
    return summary


def job_failure(e):
    """The line to show for a failed Spark job: our message from a task's traceback if there is one."""
    lines = str(e).splitlines()
    for line in lines:
        if PROG + ": " in line:
            return line[line.index(PROG + ": ") + len(PROG) + 2 :]
    causes = [line for line in lines if line.startswith("Caused by: ")]
    return "the Spark job failed: " + (causes[-1][len("Caused by: ") :] if causes else (lines or ["?"])[0])


def run(args, sc):
    from py4j.java_gateway import JavaClass
    from pyspark.rdd import RDD
    from pyspark.serializers import NoOpSerializer, PairDeserializer, UTF8Deserializer

    started = time.monotonic()
    annotation, filters = tool_options(args)
    jvm = sc._jvm
    whole = jvm.mfaannotate.spark.WholeFiles
    if not isinstance(whole, JavaClass):
        raise JobError("the class mfaannotate.spark.WholeFiles is missing: pass --jars mfa-annotate-spark.jar")
    hconf = sc._jsc.hadoopConfiguration()

    with tempfile.TemporaryDirectory(prefix=PROG + "-") as scratch:
        # The binary, its version and the options, checked here before anything is read.
        binary = find_binary(args.binary, scratch)
        if binary is None:
            raise JobError(
                "mfa-annotate not found as %r: ship it with spark-submit --files /path/to/mfa-annotate, "
                "install it on PATH, or give --binary PATH" % args.binary
            )
        version = binary_version(binary)
        codes = []
        if args.codes_file:
            # On the submitting machine, or (a driver in cluster mode) shipped with --files.
            local = (
                args.codes_file if os.path.isfile(args.codes_file) else shipped_file(os.path.basename(args.codes_file))
            )
            if local is None:
                raise JobError(
                    "--codes-file %s: no such file (in cluster mode, ship it with --files)" % args.codes_file
                )
            sc.addFile(os.path.abspath(local))
            codes = ["--codes-file", local]
        empty = os.path.join(scratch, "empty")
        os.mkdir(empty)
        if filters:
            check = [binary, *annotation, *codes, *filters, empty]
        else:
            check = [binary, *annotation, *codes, "-o", os.path.join(scratch, "out"), empty]
        checked = subprocess.run(check, capture_output=True)
        if checked.returncode not in (0, 1):
            raise JobError("mfa-annotate refuses the options: " + clean_stderr(checked.stderr, empty, "."))

    # Where things go: the output must be new and apart from every input.
    output = whole.qualify(args.output, hconf)
    if whole.exists(output, hconf):
        raise JobError("output %s exists: give a new folder" % output)
    for given in args.inputs:
        inp = whole.qualify(given, hconf)
        if (output + "/").startswith(inp.rstrip("/") + "/") or (inp + "/").startswith(output + "/"):
            raise JobError("output %s and input %s overlap" % (output, inp))

    files, errors = list_inputs(jvm, hconf, args.inputs, args.max_file_bytes)
    total_bytes = sum(size for _, size, _ in files)
    partitions = args.partitions or max(2 * sc.defaultParallelism, -(-total_bytes // (64 << 20)))
    partitions = max(1, min(partitions, len(files)))
    plan = plan_partitions(files, partitions)
    print(
        "%s: %s, %d files (%d bytes) in %d partitions; %d refused before reading"
        % (PROG, version, len(files), total_bytes, partitions, len(errors)),
        file=sys.stderr,
    )

    spec = "".join("%d\0%s\0%s\0" % row for row in plan).encode("utf-8")
    jrdd = whole.read(sc._jsc, spec, partitions, args.max_file_bytes)
    records = RDD(jrdd, sc, PairDeserializer(UTF8Deserializer(), NoOpSerializer()))
    cfg = {
        "binary": args.binary,
        "version": version,
        "annotation": annotation,
        "filters": filters,
        "stats": [],
        "codes_file": os.path.basename(args.codes_file) if args.codes_file else None,
    }
    annotated = records.mapPartitionsWithIndex(partial(annotate_partition, cfg))
    try:
        jvm.mfaannotate.spark.RelativePathOutputFormat.save(annotated._to_java_object_rdd(), output)
    except Exception as e:  # Py4JJavaError from the job
        raise JobError(job_failure(e)) from None

    # Merge the stats of every file with Spark, and gather the errors (few) on the driver.
    stats_dir, errors_dir = output + "/%s/stats" % META, output + "/%s/errors" % META
    merged = []
    if whole.exists(stats_dir, hconf):
        merged = sc.textFile(stats_dir).map(json.loads).flatMap(stat_items).reduceByKey(add, 1).collect()
    if whole.exists(errors_dir, hconf):
        errors += sc.textFile(errors_dir).map(json.loads).collect()
        whole.delete(errors_dir, hconf)
    errors.sort(key=lambda e: e["path"])
    summary = summary_from(merged, len(errors))
    summary_json = json.dumps(summary, sort_keys=True, separators=(",", ":"))
    whole.write(output + "/%s/summary.json" % META, (summary_json + "\n").encode("utf-8"), hconf)
    errors_text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in errors)
    whole.write(output + "/%s/errors.jsonl" % META, errors_text.encode("utf-8"), hconf)

    print(summary_json)
    for e in errors[:20]:
        print("%s: %s: %s" % (PROG, e["path"], e["error"]), file=sys.stderr)
    if len(errors) > 20:
        print("%s: ... and %d more errors" % (PROG, len(errors) - 20), file=sys.stderr)
    print(
        "%s: %d files annotated (%d skipped), %d errors in %.1f s; summary and errors in %s/%s/"
        % (PROG, summary["files"], summary["skipped"], len(errors), time.monotonic() - started, output, META),
        file=sys.stderr,
    )
    return 2 if errors else 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from pyspark import SparkConf, SparkContext

    sc = SparkContext.getOrCreate(SparkConf().setAppName(PROG))
    sc.setLogLevel("WARN")
    try:
        return run(args, sc)
    except JobError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 2
    finally:
        sc.stop()


if __name__ == "__main__":
    sys.exit(main())
