#!/usr/bin/env python3
"""Deterministic benchmark-corpus generator for mfa-annotate.

    python3 benches/gen_corpus.py --kind sparse|dense --size-mib 256 --out FILE

Writes Netop / MFA-server / RADIUS / HTTP-like log lines of 60-200 bytes; 5%
(sparse) or 50% (dense) of them carry an MFA call-status field, the rest are
ordinary lines, many with near-misses that must NOT be annotated. Output is
byte-identical on every run (fixed seed, stdlib only), exactly --size-mib MiB
long (the last line is a short filler), and a smaller corpus is a prefix of a
bigger one. Speed: 16k ordinary and 16k field line bodies are built once; the
main loop only picks a body, prepends a timestamp and writes 64k-line chunks.
"""
import argparse, random, time  # noqa: E401 (stdlib only)

SEED = 20170214
POOL_BITS = 14                      # 16384 bodies per pool
BATCH = 1 << 16                     # lines per write
FIELD_SHARE = {"sparse": 0.05, "dense": 0.50}
START = 1487030400                  # 2017-02-14T00:00:00Z

KNOWN = list(range(1, 26)) + list(range(100, 143))
COMMON = [1, 2, 19, 20, 21, 108, 117, 129, 133, 136]   # over-represented
UNKNOWN = [0, 99, 143, 200]                             # ~4% of fields

# Field shapes (weight, template). The first four are the ones the perl
# baseline in run.sh handles; keep them dominant so the comparison is fair.
SHAPES = [
    (30, "callStatus={c}"), (14, "Call Status: {c}"), (10, "result code {c}"),
    (10, 'ResultCode="{c}"'), (5, "rawCallStatus = {c}"),
    (5, "<callStatus>{c}</callStatus>"), (4, "sms_result: {c}"),
    (4, "MFA status={c:03d}"), (3, "call_result={c}"), (3, "smsStatus='{c}'"),
    (2, "mfa-result-code: {c}"), (2, "raw.call.status={c}"),
    (2, "CALL STATUS\t=\t{c}"), (2, "mfaResult:{c}"), (2, 'sms result = "{c}"'),
    (2, "call status {c}")]
SHAPE_W, SHAPE_T = zip(*SHAPES)
# Near-misses: look like fields but must stay untouched (wrong key, no word
# boundary, non-numeric / too long / decimal / hex value).
NEAR = ["status 200", "Call Status: idle", "HTTP status=200", "authResult = 1",
        "xcallStatus=1", "result=ok", "callStatus=pending", "resultCode=0x1F",
        "smsStatus=1.5", "call status: n/a", "callStatusCode=3", "mfa result ok",
        "result code: none", "callStatus=1234567890", "statusCode=401"]
PLAIN = ["session established", "policy=default", "retry=0", "cache miss",
         "tls=1.2", "proxy=none", "queue=2", "nas=vpn-gw01"]
USERS = ["alice@contoso.com", "bob.smith@fabrikam.net", "CONTOSO\\svc-vpn",
         "j.doe", "mfa-test-07@example.org", "k.tanaka@contoso.co.jp", "admin"]
METHODS = ["PhoneAppNotification", "PhoneAppOTP", "OneWaySMS", "TwoWaySMS", "PhoneCall", "OATH"]
EPS = ["authenticate", "pfauth", "status", "user/sync", "health"]

# Per-format line skeletons; the timestamp goes between head and tail.
# Formats: 0 Netop pipe log, 1 MFA server log, 2 RADIUS/NPS syslog, 3 HTTP.
SKEL = [
    ["|{lvl}|{pid}|{tid}|pfrad|Pfauth succeeded for user '{u}' from {ip}. {m}",
     "|{lvl}|{pid}|{tid}|pfsvc|Returning result of \"{res}\" for '{u}'|{m}",
     "|{lvl}|{pid}|{tid}|pfrad|Sending pfauth request for {u} ({meth}) {m}",
     "|{lvl}|{pid}|{tid}|pfrad|{m}"],
    [" {lvl2} [{tid}] PfAuthService - Auth for {u} via {meth} done, {m}, {ms}ms",
     " {lvl2} [{tid}] MfaServer - {meth} response for {u}: {m}"],
    [" nps01 radiusd[{pid}]: Access-Request id={id} from {ip}:1812 user=\"{u}\" {m}",
     " nps01 IAS: Packet-Type=2 Client-IP={ip} Proxy-Policy=\"MFA\" {m}",
     " nps01 IAS: {m}"],
    ["] \"POST /MultiFactorAuth/api/v1/{ep} HTTP/1.1\" 200 {ms} \"-\" {m}",
     "] \"GET /MultiFactorAuth/{ep}?id={id} HTTP/1.1\" 200 {ms} {m}"],
]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()  # locale-free %b


def code(r):
    """A result code: ~4% unknown, otherwise biased towards common ones."""
    x = r.random()
    return r.choice(UNKNOWN if x < 0.04 else COMMON if x < 0.5 else KNOWN)


def body(r, fmt, with_field):
    """One line without its timestamp, as (fmt, head, tail, ts_step_us)."""
    if with_field:   # one field, 10% two; 30% also carry a near-miss
        parts = [t.format(c=code(r)) for t in r.choices(SHAPE_T, SHAPE_W, k=1 + (r.random() < 0.1))]
        if r.random() < 0.3:
            parts.insert(r.randrange(len(parts) + 1), r.choice(NEAR))
    else:
        parts = [r.choice(NEAR) if r.random() < 0.6 else r.choice(PLAIN)]
    ip = "10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(1, 255))
    tail = r.choice(SKEL[fmt]).format(
        lvl=r.choice("0ie"), lvl2=r.choice(["INFO", "DEBUG", "WARN"]),
        pid=r.randrange(1000, 9999), tid=r.randrange(1000, 9999), u=r.choice(USERS),
        ip=ip, res=r.choice(["Success", "Failed", "Timeout"]), meth=r.choice(METHODS),
        ms=r.randrange(1, 9000), id=r.randrange(1, 255), ep=r.choice(EPS),
        m=(" | " if fmt == 0 else ", ").join(parts))
    head = ip + " - - [" if fmt == 3 else ""
    # Pad short lines / vary length with trailing key=value noise.
    while len(head) + TS_LEN[fmt] + len(tail) + 1 < 60 or r.random() < 0.35:
        tail += " corr=%032x" % r.getrandbits(128) if r.random() < 0.5 else " sid=%08x" % r.getrandbits(32)
    if len(head) + TS_LEN[fmt] + len(tail) + 1 > 200:
        return body(r, fmt, with_field)          # too long: try again
    return fmt, head, tail, r.randrange(1, 1000)


def build_pools(r):
    """Precompute the ordinary-line and field-line pools."""
    n = 1 << POOL_BITS
    fmts = r.choices(range(4), [4, 3, 2, 1], k=2 * n)
    return ([body(r, f, False) for f in fmts[:n]], [body(r, f, True) for f in fmts[n:]])


def stamps(sec):
    """Per-format timestamp pieces for one second (sub-second digits added later)."""
    t = time.gmtime(START + sec)
    ymd, hms, mon = "%04d-%02d-%02d" % t[:3], "%02d:%02d:%02d" % t[3:6], MONTHS[t[1] - 1]
    return (f"{ymd}T{hms}.", f"{ymd} {hms},", f"{mon} {t[2]:2d} {hms}",
            f"{t[2]:02d}/{mon}/{t[0]}:{hms} +0000")


# Full timestamp length per format (fmt 0 adds 6 digits + "Z", fmt 1 adds 3 digits).
TS_LEN = [len(s) + x for s, x in zip(stamps(0), (7, 3, 0, 0))]


def generate(kind, size, out):
    r = random.Random(SEED)
    ordinary, fields = build_pools(r)
    share = FIELD_SHARE[kind]
    rnd, bits = r.random, r.getrandbits
    sec, us, ts, written = 0, 0, stamps(0), 0
    while True:
        lines = []
        for _ in range(BATCH):
            fmt, head, tail, step = (fields if rnd() < share else ordinary)[bits(POOL_BITS)]
            us += step
            if us >= 1000000:
                sec, us = sec + 1, us - 1000000
                ts = stamps(sec)
            sub = f"{us:06d}Z" if fmt == 0 else f"{us // 1000:03d}" if fmt == 1 else ""
            lines.append(f"{head}{ts[fmt]}{sub}{tail}\n")
        chunk = "".join(lines).encode()
        if written + len(chunk) >= size:
            break
        out.write(chunk)
        written += len(chunk)
    # Last chunk: whole lines that fit, then one filler line to hit size exactly.
    rest = size - written
    cut = chunk.rfind(b"\n", 0, rest) + 1
    out.write(chunk[:cut])
    pad = rest - cut
    if pad:
        out.write((b"# end of generated corpus " + b"-" * pad)[:pad - 1] + b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=sorted(FIELD_SHARE), required=True)
    ap.add_argument("--size-mib", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.out, "wb") as f:
        generate(a.kind, a.size_mib << 20, f)


if __name__ == "__main__":
    main()
