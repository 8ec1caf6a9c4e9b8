#!/usr/bin/env python3
"""Benchmark: vigild's CPU per forwarded packet and memory per call, with real
WebRTC peers. Prints a table; not a test (docs/benchmarks.md).

N video alarms, each a GStreamer webrtcbin citizen (VP8 + Opus) answered by a
webrtcbin console through the real protocol, media both ways. After every console
decodes, vigild's CPU (utime+stime from /proc, counted in 10 ms ticks, so the
window is long) and the packets it forwarded (from /metrics) are sampled over a
window; RSS is read before the first call and with N calls up.

Run inside a loopback-only namespace, against a release build:
  tests/netns-run /usr/bin/python3 tools/bench/forward.py --vigild build/vigild \\
      --pairs 1,2,4 --secs 20 [--evidence on|off]
(--evidence off: the cost of forwarding alone; on, the default: with recording,
whose writer thread is part of vigild's CPU.)
The peers run on the same 2 cores as vigild: their encoding and decoding, not
vigild, limit how many pairs fit.
"""
import argparse
import os
import re
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "media"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid, name):
    """CPU of the process's threads called name (e.g. the evidence writer)."""
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            total += proc_cpu_s(f"{pid}/task/{tid}")
        except OSError:
            pass
    return total


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def forwarded(v, https):
    text = https(v.port, "/metrics")[2].decode()
    return sum(float(x) for x in re.findall(r"^vigil_media_packets_out_total{[^}]*} (\S+)$",
                                            text, re.M))


def run(n, secs, bitrate, evidence):
    from media_harness import (Peer, add_account, console, citizen, https, pump_until, staff,
                               start_vigild)
    v, first = start_vigild(extra=f"[evidence]\nenabled = {'true' if evidence else 'false'}\n")
    first.request("set_status", status="away")
    pid = v.proc.pid
    rss0 = proc_rss_kib(pid)
    calls = []
    for i in range(n):
        ann = staff(v.port, f"k{i}", add_account(v.data_dir, f"k{i}", "call_taker"))
        cit, cid = citizen(v, "video", phone=f"+86 138 0001 {i:04d}", name=f"c{i}",
                           peer=Peer(f"c{i}", video_bitrate=bitrate))
        pump_until([cit], lambda: cit.peer.stats()["connection_state"] == "connected", 15)
        con = console(ann, cid, f"k{i}", peer=Peer(f"k{i}", video_bitrate=bitrate))
        sides = [cit, con]
        pump_until(sides, lambda: con.peer.stats()["frames_decoded"] > 0, 15)
        calls.append((cid, sides))
        ann.request("set_status", status="away")  # one case each: the next goes to the next
    every = [s for _, sides in calls for s in sides]
    pump_until(every, lambda: False, 2)
    c0, p0, t0 = proc_cpu_s(pid), forwarded(v, https), time.monotonic()
    w0 = thread_cpu_s(pid, "vigil-evidence")
    pump_until(every, lambda: False, secs)
    c1, p1, t1 = proc_cpu_s(pid), forwarded(v, https), time.monotonic()
    w1 = thread_cpu_s(pid, "vigil-evidence")
    rss = proc_rss_kib(pid)
    decoded = [sides[1].peer.stats()["frames_decoded"] for _, sides in calls]
    for _, sides in calls:
        for s in sides:
            s.peer.close()
    v.stop()
    pkts = p1 - p0
    return {"pairs": n, "pkts_per_s": pkts / (t1 - t0), "cpu_s": c1 - c0,
            "us_per_pkt": (c1 - c0) * 1e6 / pkts if pkts else float("nan"),
            "cpu_share": (c1 - c0) / (t1 - t0), "rss_kib": rss,
            "rss_per_call_kib": (rss - rss0) / n if n else 0,
            "all_decoding": all(d > 0 for d in decoded),
            "writer_us_per_pkt": (w1 - w0) * 1e6 / pkts if pkts else float("nan")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigild", default=os.path.join(ROOT, "build", "vigild"))
    ap.add_argument("--pairs", default="1,2,4")
    ap.add_argument("--secs", type=float, default=20)
    ap.add_argument("--bitrate", type=int, default=500000)
    ap.add_argument("--evidence", choices=("on", "off"), default="on",
                    help="record the calls ([evidence] enabled), the default, or not")
    a = ap.parse_args()
    os.environ["VIGILD"] = os.path.abspath(a.vigild)
    os.environ.setdefault("VIGILCTL", os.path.join(os.path.dirname(os.environ["VIGILD"]),
                                                   "vigilctl"))
    os.environ.setdefault("VIGIL_SOURCE_ROOT", os.path.abspath(ROOT))
    print(f"{'pairs':>5} {'pkts/s':>8} {'CPU s':>6} {'us/pkt':>7} {'CPU %':>6} "
          f"{'RSS MiB':>8} {'KiB/call':>9} decoding {'writer us/pkt':>13}")
    for n in (int(x) for x in a.pairs.split(",")):
        r = run(n, a.secs, a.bitrate, a.evidence == "on")
        print(f"{r['pairs']:>5} {r['pkts_per_s']:>8.0f} {r['cpu_s']:>6.2f} "
              f"{r['us_per_pkt']:>7.1f} {r['cpu_share'] * 100:>5.1f}% {r['rss_kib'] / 1024:>8.1f} "
              f"{r['rss_per_call_kib']:>9.0f} {'yes' if r['all_decoding'] else 'NO':>8} "
              f"{r['writer_us_per_pkt']:>13.1f}",
              flush=True)


main()
