"""Deterministic folder of log files for the Spark test and benchmark.

This file owns the generated inputs: `gen_logs.py DIR --files N --bytes TOTAL [--edge-cases]` writes N
files of about TOTAL bytes in all below DIR, in a few subfolders, the same bytes for the same arguments.
Lines mix the field shapes of the README (callStatus=, Call Status:, result code, rawCallStatus, XML,
quoted values, unknown codes) with near-misses and plain lines; every 7th file is gzip, every 5th CRLF.

--edge-cases adds the files the Spark job must treat exactly like the local batch mode: UTF-16LE and
UTF-16BE with a BOM, invalid UTF-8, a multi-member gzip, an empty file, a file without a final newline,
a binary file (skipped), names with spaces, `:`, `%`, `#`, non-ASCII letters, a leading `.` or `_`, a
top-level `_SUCCESS`, and one corrupt gzip (`bad/corrupt.log.gz`, an error in both).
"""

import argparse
import gzip
import os
import random

FIELDS = [
    "callStatus={c}",
    "Call Status: {c}",
    "result code {c}",
    "rawCallStatus = {c}",
    "<callStatus>{c}</callStatus>",
    "Call Status='{c}'",
    'ResultCode="{c}"',
    "sms_status:{c}",
    "MFA result={c}",
]
NEAR_MISSES = ["status 200", "Call Status: idle", "xcallStatus=1", "result=ok", "authResult = 1", "callStatus=1.5"]
KNOWN = list(range(1, 26)) + list(range(100, 143))
UNKNOWN = [0, 99, 143, 777]
HOSTS = ["netop-gw01", "mfa-srv02", "nps-ext03", "radius04"]


def line(rng, i):
    """One log line: a field in about one line in five, a near-miss in about one in four."""
    head = "2024-%02d-%02d %02d:%02d:%02d.%03d %s [%d] " % (
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        rng.randint(0, 59),
        rng.randint(0, 999),
        rng.choice(HOSTS),
        i,
    )
    r = rng.random()
    if r < 0.2:
        code = rng.choice(UNKNOWN) if rng.random() < 0.05 else rng.choice(KNOWN)
        return head + "Authentication for user%d: %s, errorId=0" % (
            rng.randint(1, 5000),
            rng.choice(FIELDS).format(c=code),
        )
    if r < 0.45:
        return head + "Session check: %s, latency=%dms" % (rng.choice(NEAR_MISSES), rng.randint(1, 900))
    return head + "Remote control session %d heartbeat ok from 10.%d.%d.%d" % (
        rng.randint(1, 99999),
        rng.randint(0, 255),
        rng.randint(0, 255),
        rng.randint(0, 255),
    )


def text(rng, size, crlf=False):
    """About `size` bytes of log lines."""
    out, n, i = [], 0, 0
    end = "\r\n" if crlf else "\n"
    while n < size:
        s = line(rng, i) + end
        out.append(s)
        n += len(s)
        i += 1
    return "".join(out).encode("ascii")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def generate(root, files, total, edge_cases):
    rng = random.Random(20261204)
    folders = ["", "hosts/netop-gw01", "hosts/mfa-srv02", "archive/2024/q1", "archive/2024/q2"]
    per_file = max(1, total // max(1, files))
    for k in range(files):
        size = int(per_file * rng.uniform(0.5, 1.5))
        data = text(rng, size, crlf=k % 5 == 4)
        name = "%s/remote-%04d.log" % (folders[k % len(folders)], k)
        if k % 7 == 6:
            write(os.path.join(root, name.lstrip("/") + ".gz"), gzip.compress(data, compresslevel=1, mtime=0))
        else:
            write(os.path.join(root, name.lstrip("/")), data)
    if not edge_cases:
        return
    sample = text(rng, 3000)
    crlf = text(rng, 2000, crlf=True)
    edge = {
        "encodings/utf16le-bom.log": b"\xff\xfe" + crlf.decode("ascii").encode("utf-16-le"),
        "encodings/utf16be-bom.log": b"\xfe\xff" + sample.decode("ascii").encode("utf-16-be"),
        "encodings/invalid-utf8.log": b"caf\xe9 \xff\xfe callStatus=132 \xc3(\n" + sample + b"\x80 result code 5\r\n",
        "encodings/utf8-bom.log": b"\xef\xbb\xbf" + sample,
        "gz/multi-member.log.gz": gzip.compress(sample, mtime=0) + gzip.compress(crlf, mtime=0),
        "gz/not-named-gz.log": gzip.compress(sample, mtime=0),
        "plain/empty.log": b"",
        "plain/no-final-newline.log": sample.rstrip(b"\n"),
        "plain/binary.dat": b"\x00\x01\x02 callStatus=129 \x00" * 50,
        "names/with space.log": sample,
        "names/10:00:00 colon.log": sample,
        "names/percent%20and#hash.log": sample,
        "names/\u00e5r-\u00f8-\u00fc-\u65e5\u672c.log": sample,
        "names/.hidden.log": sample,
        "names/_underscore.log": sample,
        "_SUCCESS": b"an input file called _SUCCESS: callStatus=112\n",
        "bad/corrupt.log.gz": gzip.compress(sample, mtime=0)[:200],
    }
    for name, data in edge.items():
        write(os.path.join(root, name), data)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--bytes", type=int, default=4 << 20, help="total bytes of text (before gzip)")
    p.add_argument("--edge-cases", action="store_true")
    a = p.parse_args()
    generate(a.dir, a.files, a.bytes, a.edge_cases)


if __name__ == "__main__":
    main()
