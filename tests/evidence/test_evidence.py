"""Evidence recording end to end: headless Chromium (citizen) through vigild to a
webrtcbin console, recorded; the recording verifies, exports to one MKV that
decodes with both sides' video and the audio, with the chat and location at the
right times; any changed byte of any file is named by vigil-verify; a call live
across a kill -9 or a SIGTERM stop and a restart goes on in the same recording,
which verifies as incomplete with the time vigild was down as its gap (cut at most
a second before a kill) and exports with the resume marked; a call-taker's download
is refused and audited."""
import base64
import glob
import hashlib
import importlib.machinery
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "media"))
from media_harness import (E2E, Browser, Client, Peer, Side, add_account, check,  # noqa: E402
                           citizen, console, pump_until, start_vigild, staff, wait_closed)
from vigil_harness import SOURCE_ROOT, Vigild, finish  # noqa: E402

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

BUILD = os.environ.get("VIGIL_BUILD_ROOT", "build")
VERIFY = os.path.join(BUILD, "vigil-verify")
EXPORT = os.path.join(SOURCE_ROOT, "tools", "vigil-export")


def verify(case_dir, key):
    p = subprocess.run([VERIFY, case_dir, "--key", key], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def luma_halves(sink, b):
    """Luma contrast (max - min) of the left and right halves of a planar YUV frame:
    the composite shows two pictures side by side, and a missing one is uniform
    black (the console's test pattern is a ball on black: its mean is low, its
    contrast is not)."""
    st = sink.get_static_pad("sink").get_current_caps().get_structure(0)
    w, h = st.get_value("width"), st.get_value("height")
    ok, info = b.map(Gst.MapFlags.READ)
    y = bytes(info.data)[:w * h]
    b.unmap(info)
    left = [y[r * w + c] for r in range(0, h, 8) for c in range(0, w // 2, 8)]
    right = [y[r * w + c] for r in range(0, h, 8) for c in range(w // 2, w, 8)]
    return [max(left) - min(left), max(right) - min(right)]


def decode(path):
    """Decodes a media file: {'video': seconds, 'audio': seconds, 'text': [(pts_s, text)]}."""
    Gst.init(None)
    pipe = Gst.parse_launch(f'filesrc location="{path}" ! decodebin name=d')
    spans, texts, halves = {}, [], []

    def on_sample(sink, kind):
        b = sink.emit("pull-sample").get_buffer()
        if kind == "text":
            ok, info = b.map(Gst.MapFlags.READ)
            texts.append((b.pts / 1e9, bytes(info.data).decode("utf-8", "replace")))
            b.unmap(info)
        else:
            if kind == "video" and not halves and b.pts >= 5 * Gst.SECOND:
                halves.extend(luma_halves(sink, b))
            end = b.pts + (b.duration if b.duration != Gst.CLOCK_TIME_NONE else 0)
            lo, hi = spans.get(kind, (b.pts, end))
            spans[kind] = (min(lo, b.pts), max(hi, end))
        return Gst.FlowReturn.OK

    def pad_added(_d, pad):
        caps = pad.get_current_caps().to_string()
        kind = caps.split("/")[0] if caps.split("/")[0] in ("video", "audio") else "text"
        sink = Gst.ElementFactory.make("appsink")
        sink.set_property("emit-signals", True)
        sink.set_property("sync", False)
        sink.connect("new-sample", on_sample, kind)
        pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))

    pipe.get_by_name("d").connect("pad-added", pad_added)
    pipe.set_state(Gst.State.PLAYING)
    msg = pipe.get_bus().timed_pop_filtered(120 * Gst.SECOND,
                                            Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    out = {k: (v[1] - v[0]) / 1e9 for k, v in spans.items()}
    out["text"] = texts
    out["halves"] = halves
    out["error"] = msg.parse_error()[0].message if msg and msg.type == Gst.MessageType.ERROR \
        else None
    return out


def recorded_call(v, ann, sup):
    ev_dir = os.path.join(v.data_dir, "evidence")
    key = os.path.join(v.data_dir, "evidence-key.pub")
    b = Browser(f"https://127.0.0.1:{v.port}/peer.html?role=citizen&mode=video")
    offer = ann.wait(lambda m: m.get("type") == "offer", 20)
    cid = offer["case"]["case_id"]
    con = console(ann, cid, "console", offered=True)
    ok = pump_until([con], lambda: con.peer.stats()["frames_decoded"] > 0, 15)
    check(ok, "Chromium -> vigild -> webrtcbin console: media flows")
    t_call = time.time()
    chats = []
    for i in range(3):
        pump_until([con], lambda: False, 3)
        text = f"evidence chat {i}"
        chats.append((time.time(), text))
        ann.request("chat", case_id=cid, text=text)
    # A citizen upload as the uploads issue stores it: the manifest must list it.
    up_dir = os.path.join(ev_dir, cid, "uploads")
    os.makedirs(up_dir, exist_ok=True)
    with open(os.path.join(up_dir, "u-1.jpg"), "wb") as f:
        f.write(os.urandom(5000))
    pump_until([con], lambda: False, max(0.5, 10.5 - (time.time() - t_call)))
    got = b.get("framesDecoded")
    check(got > 50, f"Chromium decoded the console's video during the call ({got} frames)")
    ann.request("end", case_id=cid, disposition="test")
    b.close()
    con.peer.close()
    case_dir = os.path.join(ev_dir, cid)
    check(wait_closed(case_dir), "the recording is closed and signed at the case's end")
    rc, out = verify(case_dir, key)
    print(out.strip())
    check(rc == 0 and "OK case" in out and "complete" in out, "vigil-verify: the manifest verifies")
    man = json.load(open(os.path.join(case_dir, "manifest.json")))
    segs = [f for f in man["files"] if f["type"] == "media"]
    parts = sorted({f.get("participant") for f in segs})
    print("manifest files:", [(f["path"], f["size"], f.get("participant")) for f in man["files"]])
    check(len(segs) >= 4 and "citizen" in parts and "ann" in parts,
          f"media of both parties recorded, in rolled segments ({len(segs)}: {parts})")
    ups = [f for f in man["files"] if f["type"] == "upload"]
    check([f["path"] for f in ups] == ["uploads/u-1.jpg"] and ups[0]["size"] == 5000,
          "the citizen's upload is in the manifest")
    p = subprocess.run([os.environ["VIGILCTL"], "--data-dir", v.data_dir, "evidence-key"],
                       capture_output=True, text=True)
    check(p.returncode == 0 and p.stdout == open(key).read() and "PUBLIC KEY" in p.stdout,
          "vigilctl evidence-key prints the public key vigil-verify uses")
    mode = os.stat(os.path.join(v.data_dir, "evidence-key.pem")).st_mode & 0o777
    check(mode == 0o600, f"the private key is 0600 ({oct(mode)})")
    return cid, case_dir, key, chats


def export_and_check(case_dir, chats):
    out = os.path.join(tempfile.mkdtemp(prefix="vigil-export-"), "case.mkv")
    t = time.monotonic()
    p = subprocess.run([EXPORT, case_dir, "-o", out, "--actor", "sue"], capture_output=True,
                       text=True)
    print(p.stdout.strip(), p.stderr.strip()[-2000:])
    check(p.returncode == 0 and os.path.exists(out),
          f"vigil-export wrote {out} in {time.monotonic() - t:.1f} s")
    if p.returncode:
        return
    d = decode(out)
    print(f"export decoded: video {d.get('video', 0):.2f} s, audio {d.get('audio', 0):.2f} s, "
          f"{len(d['text'])} subtitles, error {d['error']}")
    check(d.get("video", 0) >= 9 and d.get("audio", 0) >= 9 and not d["error"],
          "the export decodes with >= 9 s of video and audio")
    print(f"composite frame at 5 s: luma contrast left {d['halves'][0]}, right {d['halves'][1]}"
          if d["halves"] else "no composite frame at 5 s")
    check(d["halves"] and min(d["halves"]) > 100,
          "at 5 s the composite shows both sides (neither half black)")
    for leg in sorted(glob.glob(os.path.splitext(out)[0] + ".legs/*.mkv")):
        ld = decode(leg)
        print(f"{os.path.basename(leg)}: video {ld.get('video', 0):.2f} s, "
              f"audio {ld.get('audio', 0):.2f} s")
        check(ld.get("video", 0) >= 9, f"{os.path.basename(leg)}: >= 9 s of that side's video")
    meta = json.load(open(os.path.splitext(out)[0] + ".export.json"))
    rec = meta.get("recording", {})
    check(rec.get("verified") is True and rec.get("case_id") == os.path.basename(case_dir) and
          rec.get("manifest_sha256") == hashlib.sha256(
              open(os.path.join(case_dir, "manifest.json"), "rb").read()).hexdigest(),
          f"the export names the case and the manifest it was made of, verified: {rec}")
    t0 = meta["t0_us"] / 1e6
    for sent, text in chats:
        found = [pts for pts, s in d["text"] if text in s]
        want = sent - t0
        err = abs(found[0] - want) if found else None
        print(f"subtitle '{text}': at {found[0] if found else None} s, sent at {want:.3f} s")
        check(found and err < 0.5, f"chat '{text}' appears in the export within 0.5 s ({err})")
    loc = [pts for pts, s in d["text"] if s.startswith("location")]
    states = [s for _, s in d["text"] if s.startswith("case ")]
    check(loc and loc[0] < 2.0, f"the alarm's location fix is a subtitle near the start ({loc})")
    check(any("answered" in s for s in states) and any("ended" in s for s in states),
          f"state changes appear as subtitles ({states})")


def tiles_at_composite_rate(case_dir):
    """Each side's picture reaches the compositor at the composite's 15 frames a
    second. Left to guess, videorate took the rate of a side's first two frames,
    which arrive in bursts (10 us apart: 100000/1), and gave the compositor a copy of
    the frame per tick, one hand-off each: the same case exported in 2 s or in
    minutes, as its first frames fell. The rates, not a time limit, so it fails
    however fast the machine and passes however loaded."""
    loader = importlib.machinery.SourceFileLoader("vigil_export", EXPORT)
    ve = types.ModuleType(loader.name)
    loader.exec_module(ve)
    man, segs = ve.listed_segments(case_dir)
    out = os.path.join(tempfile.mkdtemp(prefix="vigil-export-"), "rates.mkv")
    pipe, feeds, _, _, _ = ve.build(man, segs, out, os.path.splitext(out)[0] + ".legs")
    comp = pipe.get_by_name("compositor0")
    rates = []

    def on_event(pad, info):
        ev = info.get_event()
        if ev.type == Gst.EventType.CAPS:
            ok, n, d = ev.parse_caps().get_structure(0).get_fraction("framerate")
            rates.append((pad.get_name(), f"{n}/{d}" if ok else None))
        return Gst.PadProbeReturn.OK

    for pad in comp.sinkpads:
        pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)
    t = time.monotonic()
    ve.run(pipe, feeds)
    check(len({p for p, _ in rates}) == 2 and all(r == f"{ve.FPS}/1" for _, r in rates),
          f"both sides reach the compositor at {ve.FPS} frames a second: {rates} "
          f"(exported in {time.monotonic() - t:.1f} s)")


def outcome_after_hangup(v, ann, key):
    """The citizen hangs up; the outcome ann gives afterwards joins the sealed
    recording (a second events segment, the manifest signed again), verifies, and the
    export lists it after the recording's end rather than as a subtitle."""
    cit, cid = citizen(v, "video", phone="+86 138 0000 1077", name="hangs-up")
    con = console(ann, cid, "console2")
    ok = pump_until([cit, con], lambda: con.peer.stats()["frames_decoded"] > 30, 15)
    check(ok, "a second call: media flows")
    cit.client.request("hangup")
    pump_until([cit, con], lambda: any(m.get("type") == "ended" and m.get("case_id") == cid
                                       for m in ann.events), 5)
    case_dir = os.path.join(v.data_dir, "evidence", cid)
    check(wait_closed(case_dir), "its recording is sealed when the citizen hangs up")
    r = ann.request("end", case_id=cid, disposition="dispatched")
    check(r.get("type") == "ended", f"ann gives the outcome afterwards: {r}")
    deadline, man = time.monotonic() + 10, {}
    while time.monotonic() < deadline and "resealed" not in man.get("reason", ""):
        time.sleep(0.1)
        try:
            man = json.load(open(os.path.join(case_dir, "manifest.json")))
        except (OSError, ValueError):
            pass
    rc, out = verify(case_dir, key)
    for _ in range(20):  # the manifest is written first, then its signature
        if rc == 0:
            break
        time.sleep(0.1)
        rc, out = verify(case_dir, key)
    check(rc == 0 and "resealed: outcome given after the case ended" in man.get("reason", ""),
          f"the outcome joined the recording, which verifies: {man.get('reason')}")
    out_mkv = os.path.join(tempfile.mkdtemp(prefix="vigil-export-"), "after.mkv")
    p = subprocess.run([EXPORT, case_dir, "-o", out_mkv, "--actor", "sue"], capture_output=True,
                       text=True)
    print(p.stdout.strip(), p.stderr.strip()[-500:])
    meta = json.load(open(os.path.splitext(out_mkv)[0] + ".export.json")) if p.returncode == 0 \
        else {"subtitles": [], "after_end": []}
    after = [x["event"] for x in meta["after_end"]]
    subs = [x["event"].get("type") for x in meta["subtitles"]]
    check(p.returncode == 0 and [(e.get("type"), e.get("disposition"), e.get("by")) for e in after]
          == [("disposition", "dispatched", "ann")] and "disposition" not in subs
          and "after the recording closed" in p.stdout,
          f"the export lists the outcome after the recording's end: {after}")
    cit.close()
    cit.client.close()
    con.close()


def tamper(case_dir, key, audit):
    """Changes one byte of each file in a copy; vigil-verify must name that file."""
    rng = random.Random(int(time.time()))
    names = [os.path.relpath(p, case_dir) for p in glob.glob(os.path.join(case_dir, "**"),
                                                                recursive=True)
             if os.path.isfile(p)] + ["../audit.log"]
    for name in sorted(names):
        tmp = tempfile.mkdtemp(prefix="vigil-tamper-")
        copy = os.path.join(tmp, "ev", "case")
        shutil.copytree(case_dir, copy)
        shutil.copy(audit, os.path.join(tmp, "ev", "audit.log"))
        target = os.path.normpath(os.path.join(copy, name))
        data = bytearray(open(target, "rb").read())
        off = rng.randrange(len(data))
        data[off] ^= 1 << rng.randrange(8)
        open(target, "wb").write(data)
        p = subprocess.run([VERIFY, copy, "--key", key], capture_output=True, text=True)
        shown = os.path.basename(name)
        named = shown in p.stdout
        print(f"tamper {name} at byte {off}/{len(data)}: rc {p.returncode}: "
              f"{p.stdout.strip().splitlines()[:2]}")
        check(p.returncode == 1 and named, f"a changed byte in {name} fails, naming it")
        shutil.rmtree(tmp)


def links_and_copies(case_dir, key, audit):
    """A segment linked in from outside the case (a symbolic link: a forged chat in
    it) is named by vigil-verify and not read by vigil-export, which reads only what
    the manifest lists; a case copied without its audit log verifies with a note
    that the anchor was not checked."""
    tmp = tempfile.mkdtemp(prefix="vigil-link-")
    copy = os.path.join(tmp, "ev", "case")
    shutil.copytree(case_dir, copy)
    shutil.copy(audit, os.path.join(tmp, "ev", "audit.log"))
    outside = os.path.join(tmp, "forged.vgs")
    shutil.copy(os.path.join(copy, "events-000001.vgs"), outside)
    os.symlink(outside, os.path.join(copy, "events-000099.vgs"))
    p = subprocess.run([VERIFY, copy, "--key", key], capture_output=True, text=True)
    print(p.stdout.strip().splitlines()[:3])
    check(p.returncode == 1 and "events-000099.vgs: a symbolic link" in p.stdout,
          "a segment linked in from outside fails verification, named")
    bad_out = os.path.join(tmp, "bad.mkv")
    p = subprocess.run([EXPORT, copy, "-o", bad_out, "--copy", "--key", key],
                       capture_output=True, text=True)
    check(p.returncode != 0 and "does not verify" in p.stderr and not os.path.exists(bad_out),
          f"vigil-export refuses a recording that does not verify: {p.stderr.strip()[-120:]}")
    # The exporter's own reader: the export reads the case through it.
    loader = importlib.machinery.SourceFileLoader("vigil_export", EXPORT)
    ve = types.ModuleType(loader.name)
    loader.exec_module(ve)
    _, segs = ve.listed_segments(copy)
    names = [n for n, _ in segs]
    check(names and "events-000099.vgs" not in names
          and all(not n.startswith("events-0000") or n in os.listdir(case_dir) for n in names),
          f"vigil-export reads only the segments the manifest lists: {names}")
    alone = os.path.join(tmp, "alone")
    shutil.copytree(case_dir, alone)
    p = subprocess.run([VERIFY, alone, "--key", key], capture_output=True, text=True)
    check(p.returncode == 0 and "NOTE no audit log" in p.stdout,
          "a case copied alone verifies, with a note that the audit anchor was not checked")
    kid = p.stdout.split()[1]
    p = subprocess.run([VERIFY, alone, "--key", key, "--expect-key", kid], capture_output=True,
                       text=True)
    p2 = subprocess.run([VERIFY, alone, "--key", key, "--expect-key", "0" * 64],
                        capture_output=True, text=True)
    check(p.returncode == 0 and p2.returncode == 1 and "not the one expected" in p2.stdout,
          f"--expect-key: the centre's fingerprint passes, another fails ({kid[:16]}...)")
    cid = os.path.basename(case_dir)
    p = subprocess.run([VERIFY, alone, "--key", key], capture_output=True, text=True)
    p2 = subprocess.run([VERIFY, alone, "--key", key, "--case", "c-000000000000"],
                        capture_output=True, text=True)
    p3 = subprocess.run([VERIFY, alone, "--key", key, "--case", cid], capture_output=True,
                        text=True)
    check(f"the recording is of case {cid}" in p.stdout and p2.returncode == 1 and
          "not of c-000000000000" in p2.stdout and p3.returncode == 0,
          "a folder named otherwise is noted; --case fails a recording of another case")
    check(re.search(r"media from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z to ", p.stdout),
          "the media's times are given in UTC")
    shutil.rmtree(tmp)


def access(v, ann, sup, cid, case_dir):
    r = ann.request("evidence_get", case_id=cid, path="manifest.json")
    check(r.get("type") == "error" and r.get("code") == "forbidden",
          f"a call-taker's download is refused ({r.get('code')})")
    r = ann.request("evidence_list")
    check(r.get("type") == "error", "a call-taker cannot list recordings either")
    r = sup.request("evidence_list")
    check(any(x["case_id"] == cid for x in r.get("recordings", [])),
          "a supervisor lists the recording")
    r = sup.request("evidence_get", case_id=cid, path="manifest.json")
    data = base64.b64decode(r.get("data", ""))
    check(data == open(os.path.join(case_dir, "manifest.json"), "rb").read() and r.get("eof"),
          "a supervisor downloads the manifest, byte for byte")
    r = sup.request("evidence_get", case_id=cid, path="../../evidence-key.pem")
    check(r.get("code") == "not_found", f"a path out of the case is refused ({r.get('code')})")
    seg = [f for f in json.load(open(os.path.join(case_dir, "manifest.json")))["files"]
           if f["type"] == "media"][0]
    r = sup.request("evidence_get", case_id=cid, path=seg["path"], offset=1)
    check(r.get("type") == "evidence_data", f"a download from offset 1 is served ({r.get('type')})")
    lines = open(os.path.join(v.data_dir, "evidence", "audit.log")).read().splitlines()
    entries = [json.loads(l.split("\t")[0]) for l in lines]
    mid = [e for e in entries if e["action"] == "download" and e["actor"] == "sue" and
           (e.get("detail") or {}).get("offset") == 1]
    check(mid and mid[-1]["detail"]["path"] == seg["path"] and
          mid[-1]["detail"]["sha256"] == seg["sha256"],
          f"a download that starts past the first byte is audited too, with the file and the "
          f"SHA-256 the manifest gives it: {mid[-1]['detail'] if mid else None}")
    refused = [e for e in entries if e["actor"] == "ann" and e["result"] == "refused"
               and e["action"] == "download" and e["case_id"] == cid]
    allowed = [e for e in entries if e["actor"] == "sue" and e["result"] == "allowed"
               and e["action"] == "download"]
    exported = [e for e in entries if e["actor"] == "sue" and e["action"] == "export"
                and e["case_id"] == cid and e["role"] == "operator"]
    check(exported and exported[0]["seq"] < allowed[-1]["seq"],
          f"the export is in the audit log (entry {exported[0]['seq'] if exported else None}), "
          f"and vigild's later entries continue its chain")
    print("audit:", [(e["seq"], e["actor"], e["action"], e["result"]) for e in entries])
    check(refused and allowed, "the refusal and the download are both in the audit log")
    p = subprocess.run([VERIFY, "--audit", os.path.join(v.data_dir, "evidence", "audit.log"),
                        "--key", os.path.join(v.data_dir, "evidence-key.pub")],
                       capture_output=True, text=True)
    print(p.stdout.strip())
    check(p.returncode == 0 and "OK inventory of" in p.stdout,
          "the audit log verifies, and every recording it names is in the folder as signed last")
    # A recording moved out of the folder behind the log's back: named MISSING.
    moved = case_dir + ".moved"
    os.rename(case_dir, moved)
    try:
        p = subprocess.run([VERIFY, "--audit", os.path.join(v.data_dir, "evidence", "audit.log"),
                            "--key", os.path.join(v.data_dir, "evidence-key.pub")],
                           capture_output=True, text=True)
    finally:
        os.rename(moved, case_dir)
    print(p.stdout.strip())
    check(p.returncode == 1 and f"FAIL {cid}: MISSING" in p.stdout,
          "a recording gone from the folder with no deletion in the log is named MISSING")
    # The log's end written down elsewhere (vigilctl evidence-anchor): the log verifies
    # with it; a copy cut back by its last line verifies on its own (its chain is whole)
    # but not against the anchor.
    log = os.path.join(v.data_dir, "evidence", "audit.log")
    p = subprocess.run([os.environ["VIGILCTL"], "--data-dir", v.data_dir, "evidence-anchor"],
                       capture_output=True, text=True)
    print(p.stdout.strip())
    m = re.search(r"line (\d+), sha256 ([0-9a-f]{64})", p.stdout)
    check(p.returncode == 0 and m, "vigilctl evidence-anchor gives the log's last line and hash")
    anchor = f"{m.group(1)}:{m.group(2)}" if m else "1:" + "0" * 64
    key_pub = os.path.join(v.data_dir, "evidence-key.pub")
    p = subprocess.run([VERIFY, "--audit", log, "--key", key_pub, "--log-only", "--anchor", anchor],
                       capture_output=True, text=True)
    check(p.returncode == 0 and "OK anchor: line" in p.stdout, f"the log holds its anchor {anchor[:20]}...")
    cut_dir = tempfile.mkdtemp(prefix="vigil-cut-")
    cut = os.path.join(cut_dir, "audit.log")
    lines = open(log, "rb").read().splitlines(keepends=True)
    open(cut, "wb").write(b"".join(lines[:-1]))
    alone = subprocess.run([VERIFY, "--audit", cut, "--key", key_pub, "--log-only"],
                           capture_output=True, text=True)
    p = subprocess.run([VERIFY, "--audit", cut, "--key", key_pub, "--log-only", "--anchor", anchor],
                       capture_output=True, text=True)
    print(p.stdout.strip())
    check(alone.returncode == 0 and p.returncode == 1 and "cut back" in p.stdout,
          "a log cut back by its last line verifies alone, and fails against the anchor")
    shutil.rmtree(cut_dir)


def legal_hold(v, ann, sup, cid):
    """A legal hold placed by a supervisor over the protocol and lifted from the host
    with vigilctl (and back): each is an audit entry, vigild sees vigilctl's, the list
    and the folder's check name it; a call-taker is refused."""
    ctl = [os.environ["VIGILCTL"], "--data-dir", v.data_dir]
    log = os.path.join(v.data_dir, "evidence", "audit.log")
    key_pub = os.path.join(v.data_dir, "evidence-key.pub")
    r = sup.request("evidence_hold", case_id=cid, hold=True)
    check(r.get("code") == "invalid_field", f"a hold needs a reason ({r.get('code')})")
    r = sup.request("evidence_hold", case_id="c-000000000000", hold=True, reason="x")
    check(r.get("code") == "not_found", f"no hold on a recording that is not there ({r.get('code')})")
    r = sup.request("evidence_hold", case_id=cid, hold=True, reason="court order 41/2026")
    check(r.get("type") == "evidence_hold" and r.get("held") is True and r.get("line", 0) > 0,
          f"a supervisor places a legal hold: {r}")
    placed = r.get("line")
    r = ann.request("evidence_hold", case_id=cid, hold=False, reason="mine")
    check(r.get("code") == "forbidden", f"a call-taker cannot lift it ({r.get('code')})")
    held = {x["case_id"]: x.get("held") for x in sup.request("evidence_list")["recordings"]}
    check(held.get(cid) == placed, f"the list names the hold's line: {held.get(cid)}")
    p = subprocess.run(ctl + ["evidence-holds"], capture_output=True, text=True)
    print(p.stdout.strip())
    check(p.returncode == 0 and cid in p.stdout and "sue" in p.stdout and
          "court order 41/2026" in p.stdout, "vigilctl evidence-holds lists it, by whom and why")
    p = subprocess.run([VERIFY, "--audit", log, "--key", key_pub], capture_output=True, text=True)
    check(p.returncode == 0 and f"NOTE {cid}: under a legal hold" in p.stdout,
          "vigil-verify --audit names the held recording")
    p = subprocess.run(ctl + ["evidence-hold", "lift", cid, "--reason", "order set aside",
                              "--actor", "kim"], capture_output=True, text=True)
    print(p.stdout.strip(), p.stderr.strip())
    held = {x["case_id"]: x.get("held") for x in sup.request("evidence_list")["recordings"]}
    check(p.returncode == 0 and "lifted" in p.stdout and held.get(cid) is None,
          "vigilctl lifts it beside the running vigild, and vigild reads the lift from the log")
    r = sup.request("evidence_hold", case_id=cid, hold=False, reason="again")
    check(r.get("code") == "state", f"a hold not standing cannot be lifted ({r.get('code')})")
    p = subprocess.run(ctl + ["evidence-hold", "place", cid, "--actor", "kim"],
                       capture_output=True, text=True)
    p2 = subprocess.run(ctl + ["evidence-hold", "place", "c-000000000000", "--actor", "kim",
                               "--reason", "typo"], capture_output=True, text=True)
    check(p.returncode == 2 and p2.returncode == 1 and "no recording" in p2.stderr,
          "vigilctl refuses a hold without a reason, or on a recording that is not there")
    p = subprocess.run(ctl + ["evidence-audit", "legal_hold", cid, "--actor", "kim"],
                       capture_output=True, text=True)
    check(p.returncode == 2, "evidence-audit cannot write a legal_hold entry")
    entries = [json.loads(l.split("\t")[0]) for l in open(log).read().splitlines()]
    holds = [(e["actor"], e["role"], e["result"]) for e in entries
             if e["action"].startswith("legal_hold") and e["case_id"] == cid]
    print("holds in the audit log:", holds)
    check(holds == [("sue", "supervisor", "placed"), ("ann", "call_taker", "refused"),
                    ("kim", "operator", "lifted")],
          "the hold, the refusal and the lift are in the audit log, in that order")


def across_restart(v, ann, how, phone):
    """A call live while vigild dies (kill -9) or stops (SIGTERM) and starts again:
    the citizen comes back with its token and streams again, then hangs up. The
    case's one recording holds both parts: incomplete, the time vigild was down a
    gap, the media after the restart recorded on a leg of its own."""
    peer = Peer(f"{how}-citizen", send_video=True, send_audio=True, recv=True)
    c = Client(v.port, f"{how}-citizen")
    r = c.request("alarm_start", mode="video", phone=phone,
                  location={"lat": 30.6, "lon": 114.5, "accuracy": 10})
    cid, token = r["case_id"], r["token"]
    cit = Side(c, peer)
    c.send_json({"type": "media_offer", "sdp": peer.create_offer()})
    con = console(ann, cid, f"{how}-console")
    ok = pump_until([cit, con], lambda: con.peer.stats()["frames_decoded"] > 30, 20)
    check(ok, f"{how}: media flows")
    pump_until([cit, con], lambda: False, 3)
    t_stop = time.time()
    v.proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
    v.proc.wait()
    cit.peer.close()
    con.peer.close()
    case_dir = os.path.join(v.data_dir, "evidence", cid)
    before = {f for f in os.listdir(case_dir) if f.startswith("leg-")}
    if how == "term":
        # The stop writes the log's last line and hash into vigild's own log, a place
        # the evidence folder's holder does not write (and logged each hour).
        said = re.findall(r"audit log anchor: line (\d+) sha256 ([0-9a-f]{64})", v.stderr())
        last = open(os.path.join(v.data_dir, "evidence", "audit.log"), "rb").read().splitlines()
        check(said and int(said[-1][0]) == len(last) and
              said[-1][1] == hashlib.sha256(last[-1]).hexdigest(),
              f"{how}: vigild's log ends with the audit log's anchor ({said[-1] if said else None})")
    v2 = Vigild(data_dir=v.data_dir, port=v.port, config=v.cmd[v.cmd.index("--config") + 1])
    v2.start()
    check(not os.path.exists(os.path.join(case_dir, "manifest.json")),
          f"{how}: the live case's recording is not sealed at the restart")
    t_back = time.time()
    peer2 = Peer(f"{how}-citizen2", send_video=True, send_audio=True, recv=True)
    c2 = Client(v2.port, f"{how}-citizen2")
    r = c2.request("case_resume", token=token)
    check(r.get("type") == "case_resumed", f"{how}: the citizen resumes the case ({r.get('type')})")
    cit2 = Side(c2, peer2)
    c2.send_json({"type": "media_offer", "sdp": peer2.create_offer()})
    ok = pump_until([cit2], lambda: peer2.stats()["frames_sent"] > 90, 20)
    check(ok, f"{how}: the citizen streams again after the restart")
    r = c2.request("hangup")
    peer2.close()
    c2.close()
    c.close()
    check(wait_closed(case_dir), f"{how}: the recording is sealed when the case ends")
    rc, out = verify(case_dir, os.path.join(v.data_dir, "evidence-key.pub"))
    print(out.strip())
    man = json.load(open(os.path.join(case_dir, "manifest.json")))
    check(rc == 0 and "INCOMPLETE" in out and not man["complete"],
          f"{how}: the recording across the restart verifies, as incomplete")
    cause = "vigild stopped unexpectedly" if how == "kill" else \
        "vigild stopped while the case was open"
    check(f"resumed after a restart ({cause})" in man["reason"] and
          f"reason: {man['reason']}" in out and "signed by key" in out,
          f"{how}: its reason says it was resumed, and why it stopped: {man['reason']}")
    gaps = [g for g in man["gaps"] if g.get("reason") == "vigild_restarted"]
    check(len(gaps) == 1, f"{how}: the time vigild was down is one gap: {gaps}")
    # A SIGTERM stop takes a moment, and the peers send until it is over: recorded
    # then too. A kill -9 loses what the writer had not written (at most ~1 s).
    lost = t_stop - gaps[0]["from_us"] / 1e6 if gaps else 99
    check((how == "term" or lost >= 0) and lost <= 1.0 and
          gaps[0]["from_us"] < gaps[0]["to_us"] <= (t_back + 1) * 1e6,
          f"{how}: recorded up to at most 1 s before vigild stopped ({lost * 1000:.0f} ms), "
          f"and again from the restart")
    audit = [json.loads(l.split("\t")[0]) for l in
             open(os.path.join(v.data_dir, "evidence", "audit.log")).read().splitlines()]
    mine = [e["action"] for e in audit if e.get("case_id") == cid and
            e["action"] in ("recording_paused", "recording_resumed")]
    paused = [e for e in audit if e.get("case_id") == cid and e["action"] == "recording_paused"]
    check(mine == (["recording_paused", "recording_resumed"] if how == "term"
                   else ["recording_resumed"]) and
          (how == "kill" or len(paused[0]["detail"]["files"]) >= 3),
          f"{how}: the audit log has the stop (the open files' hashes) and the resume: {mine}")
    legs = [f for f in man["files"] if f["type"] == "media"]
    after = [f for f in legs if f["path"] not in before]
    check({f["path"] for f in legs} >= before and
          any(f["participant"] == "citizen" and f["records"] > 100 for f in after),
          f"{how}: the legs before the restart and the citizen's new one are in it: "
          f"{[(f['path'], f['participant'], f['records']) for f in legs]}")
    if how == "kill":
        out = os.path.join(tempfile.mkdtemp(prefix="vigil-export-"), "case.mkv")
        p = subprocess.run([EXPORT, case_dir, "-o", out, "--actor", "sue"], capture_output=True,
                           text=True)
        print(p.stderr.strip()[-1000:])
        d = decode(out) if p.returncode == 0 else {"text": [], "error": p.returncode}
        marks = [s for _, s in d["text"] if "RECORDING RESUMED" in s]
        check(not d["error"] and d.get("video", 0) >= 5 and marks,
              f"{how}: the export decodes ({d.get('video', 0):.1f} s of video) and marks the "
              f"resume: {marks}")
    return v2


v, ann = start_vigild(extra="[evidence]\nsegment_seconds = 4\n",
                      args=["--web-root", os.path.join(E2E, "pages")])
sup = staff(v.port, "sue", add_account(v.data_dir, "sue", "supervisor"))
bob_pw = add_account(v.data_dir, "bob", "call_taker")  # answers after the first restart
v2 = None
try:
    cid, case_dir, key, chats = recorded_call(v, ann, sup)
    export_and_check(case_dir, chats)
    tiles_at_composite_rate(case_dir)
    outcome_after_hangup(v, ann, key)
    access(v, ann, sup, cid, case_dir)
    legal_hold(v, ann, sup, cid)
    tamper(case_dir, key, os.path.join(v.data_dir, "evidence", "audit.log"))
    links_and_copies(case_dir, key, os.path.join(v.data_dir, "evidence", "audit.log"))
    v2 = across_restart(v, ann, "kill", "+86 138 0000 2001")
    v3 = across_restart(v2, staff(v2.port, "bob", bob_pw), "term", "+86 138 0000 2002")
    v2 = v3
finally:
    if v2:
        rc, _ = v2.stop()
        check(rc == 0, f"restarted vigild exits 0 ({rc})")
    elif v.proc.poll() is None:
        v.stop()
finish("evidence")
