#!/usr/bin/env python3
"""Benchmark: a citizen's upload through the real vigild, in chunks of chunk_max on
one keep-alive HTTPS connection (as a browser's fetch would), and the staff
download. Prints throughput and per-chunk times; not a test (docs/benchmarks.md).

Each chunk is written, fdatasync'ed, hashed and recorded before it is answered,
so the per-chunk time is mostly the disk's sync. Run inside a loopback-only
namespace, against a release build:
  tests/netns-run python3 tools/bench/upload.py --vigild build/vigild --mib 50
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def download(vh, port, path, token):
    """The body of a GET, gathered without quadratic copying."""
    with vh.tls_connect(port, timeout=60) as s:
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                   "Connection: close\r\n\r\n").encode())
        parts = []
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            parts.append(b)
    return b"".join(parts).partition(b"\r\n\r\n")[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigild", default=os.path.join(ROOT, "build", "vigild"))
    ap.add_argument("--vigilctl", default=os.path.join(ROOT, "build", "vigilctl"))
    ap.add_argument("--mib", type=int, default=50)
    a = ap.parse_args()
    os.environ["VIGILD"], os.environ["VIGILCTL"] = a.vigild, a.vigilctl
    import vigil_harness as vh
    v = vh.Vigild(args=["--log-level", "warn"]).start()
    try:
        r = vh.Client(v.port, "citizen").request("alarm_start", mode="report", phone="+100000001")
        tok, cid = r["token"], r["case_id"]
        size = a.mib * 1024 * 1024
        data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1" + os.urandom(size - 24)
        s = vh.tls_connect(v.port, timeout=30)

        def req(method, path, body=b""):
            s.sendall((f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            st, _, b = vh._read_http_response(s)
            return st, json.loads(b)

        st, j = req("POST", "/api/uploads",
                    json.dumps({"case_id": cid, "name": "bench.mp4", "size": size}).encode())
        uid, chunk, off, times = j["upload_id"], j["chunk_max"], 0, []
        t0 = time.monotonic()
        while off < size:
            t = time.monotonic()
            st, j = req("POST", f"/api/uploads/{uid}?offset={off}", data[off:off + chunk])
            times.append((time.monotonic() - t) * 1000)
            off = j["offset"]
        secs = time.monotonic() - t0
        times.sort()
        print(f"upload: {size} bytes in {len(times)} chunks of {chunk}: {secs:.2f} s, "
              f"{size / secs / 1e6:.1f} MB/s; per chunk median {times[len(times) // 2]:.1f} ms, "
              f"p95 {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms; "
              f"type {j.get('type')}")
        pw = vh.add_account(v.data_dir, "boss", "supervisor")
        boss = vh.Client(v.port, "boss2")
        stok = boss.request("login", name="boss", password=pw)["token"]
        t = time.monotonic()
        body = download(vh, v.port, f"/api/cases/{cid}/uploads/{uid}", stok)
        secs = time.monotonic() - t
        print(f"download: {len(body)} bytes in {secs:.2f} s, {len(body) / secs / 1e6:.1f} MB/s "
              f"(same bytes: {body == data})")
    finally:
        v.stop()


main()
