"""Headless Chromium (fake camera and microphone) through the real vigild to a
GStreamer webrtcbin console, and a webrtcbin citizen through vigild to a Chromium
console. Each side is judged by its own counters: webrtcbin's decoded frames and
audio buffers, Chromium's getStats (framesDecoded, totalSamplesReceived)."""
import os
import time

from media_harness import (E2E, Browser, add_account, check, console, citizen, pump_until,
                           start_vigild)
from vigil_harness import finish

def window(sides, browser, keys, secs, peer=dict):
    """Counter deltas over secs: browser stats keys, pumping the Python sides, and the
    counters peer() returns (a webrtcbin side's), read right after each of the two
    browser samples: those are fresh (browser.fresh), not up to a poll interval old,
    so both kinds of counter cover the same seconds."""
    browser.fresh(sides)
    a, p0 = {k: browser.get(k) for k in keys}, peer()
    pump_until(sides, lambda: False, secs)
    browser.fresh(sides)
    b, p1 = {k: browser.get(k) - a[k] for k in keys}, peer()
    return b, {k: p1[k] - p0[k] for k in p0}


def chromium_citizen(v, ann):
    b = Browser(f"https://127.0.0.1:{v.port}/peer.html?role=citizen&mode=video")
    offer = ann.wait(lambda m: m.get("type") == "offer", 20)
    cid = offer["case"]["case_id"]
    con = console(ann, cid, "console-for-chromium", offered=True)
    ok = pump_until([con], lambda: con.peer.stats()["frames_decoded"] > 0, 15)
    check(ok, "Chromium -> gateway -> webrtcbin: the console decodes Chromium's camera")
    def decoded():
        s = con.peer.stats()
        return {"frames": s["frames_decoded"], "audio": s["audio_buffers_decoded"]}
    got, dec = window([con], b, ["framesSent"], 4, decoded)
    sent = got["framesSent"]
    share = dec["frames"] / max(1, sent)
    check(sent > 40 and share >= 0.9, f"the console decoded {dec['frames']} of {sent} frames "
                                      f"Chromium sent in 4 s ({share:.0%})")
    check(dec["audio"] > 100, f"and Chromium's microphone ({dec['audio']} audio buffers)")
    got, _ = window([con], b, ["framesDecoded", "audioSamples"], 2)
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
    got, up = window([cit], b, ["framesDecoded", "audioSamples"], 4,
                     lambda: {"sent": cit.peer.stats()["frames_sent"]})
    sent = up["sent"]
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
