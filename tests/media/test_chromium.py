"""Headless Chromium (fake camera and microphone) through the real vigild to a
GStreamer webrtcbin console, and a webrtcbin citizen through vigild to a Chromium
console. Each side is judged by its own counters: webrtcbin's decoded frames and
audio buffers, Chromium's getStats (framesDecoded, totalSamplesReceived)."""
import json
import os
import subprocess
import threading
import time

from media_harness import (Client, Peer, Side, add_account, check, console, citizen,
                           pump_until, staff, start_vigild)
from vigil_harness import SOURCE_ROOT, finish

E2E = os.path.join(SOURCE_ROOT, "tests", "e2e")


class Browser:
    """tests/e2e/browser.mjs running one page; .stats is the page's latest vgStats()."""

    def __init__(self, url, secs=60):
        self.stats = None
        self.proc = subprocess.Popen(["node", os.path.join(E2E, "browser.mjs"), url, str(secs)],
                                     cwd=E2E, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.err = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.err.extend(self.proc.stderr), daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.stats = json.loads(line)
            except ValueError:
                pass

    def get(self, key):
        return (self.stats or {}).get(key) or 0

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def window(sides, browser, keys, secs):
    """Counter deltas over secs: browser stats keys, pumping the Python sides."""
    a = {k: browser.get(k) for k in keys}
    pump_until(sides, lambda: False, secs)
    return {k: browser.get(k) - a[k] for k in keys}


def chromium_citizen(v, ann):
    b = Browser(f"https://127.0.0.1:{v.port}/peer.html?role=citizen&mode=video")
    offer = ann.wait(lambda m: m.get("type") == "offer", 20)
    cid = offer["case"]["case_id"]
    con = console(ann, cid, "console-for-chromium", offered=True)
    ok = pump_until([con], lambda: con.peer.stats()["frames_decoded"] > 0, 15)
    check(ok, "Chromium -> gateway -> webrtcbin: the console decodes Chromium's camera")
    d0 = con.peer.stats()["frames_decoded"]
    a0 = con.peer.stats()["audio_buffers_decoded"]
    sent = window([con], b, ["framesSent"], 4)["framesSent"]
    d1 = con.peer.stats()["frames_decoded"]
    a1 = con.peer.stats()["audio_buffers_decoded"]
    share = (d1 - d0) / max(1, sent)
    check(sent > 40 and share >= 0.9, f"the console decoded {d1 - d0} of {sent} frames Chromium "
                                      f"sent in 4 s ({share:.0%})")
    check(a1 - a0 > 100, f"and Chromium's microphone ({a1 - a0} audio buffers)")
    got = window([con], b, ["framesDecoded", "audioSamples"], 2)
    check(got["framesDecoded"] > 20 and got["audioSamples"] > 0,
          f"Chromium decodes the console's picture and sound too ({got})")
    check(not (b.stats or {}).get("errors"), f"no errors in the page: {(b.stats or {}).get('errors')}")
    ann.request("end", case_id=cid, disposition="test")
    b.close()
    con.peer.close()


def chromium_console(v, ann):
    ann.request("set_status", status="away")
    pw = add_account(v.data_dir, "bea", "call_taker")
    b = Browser(f"https://127.0.0.1:{v.port}/peer.html?role=console&name=bea&pw={pw}")
    time.sleep(1.5)  # bea logs in (scrypt) and becomes available
    cit, cid = citizen(v, "video", name="citizen-for-chromium")
    ok = pump_until([cit], lambda: b.get("framesDecoded") > 0, 20)
    check(ok, "webrtcbin -> gateway -> Chromium: the console page decodes the citizen")
    s0 = cit.peer.stats()["frames_sent"]
    got = window([cit], b, ["framesDecoded", "audioSamples"], 4)
    sent = cit.peer.stats()["frames_sent"] - s0
    share = got["framesDecoded"] / max(1, sent)
    check(share >= 0.9, f"Chromium decoded {got['framesDecoded']} of {sent} frames in 4 s "
                        f"({share:.0%})")
    check(got["audioSamples"] > 48000, f"and the citizen's sound ({got['audioSamples']} samples)")
    check(cit.peer.stats()["frames_decoded"] > 30, "the citizen sees the Chromium console")
    b.close()
    cit.peer.close()


v, ann = start_vigild(extra="", args=["--web-root", os.path.join(E2E, "pages")])
try:
    chromium_citizen(v, ann)
    chromium_console(v, ann)
    check(v.proc.poll() is None, "vigild still running")
finally:
    rc, _ = v.stop()
    check(rc == 0, f"vigild exits 0 ({rc})")
finish("chromium")
