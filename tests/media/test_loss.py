"""Loss recovery: with about 5% of RTP lost on the path from the citizen to the
console, NACK and RTX keep the console decoding at least 95% of the citizen's
frames; without them it decodes measurably fewer.

The citizen is a webrtcbin peer (which answers NACKs with RTX); the console is
headless Chromium, as a call-taker's console is. The kernel of this machine has no
netem, so the loss is made by the gateway itself ([media] simulate_loss_permille:
25 per mille dropped on the way in and again on the way out); everything else is
real: the gateway NACKs the citizen for what it missed, and serves Chromium's
NACKs from its history as RTX, the history sized by the console's round trip
(here a few ms: it stays small). (webrtcbin as the receiving side recovers
egress loss only partly: its receive-side RTX is the weak spot, not the gateway's:
measured with loss on the egress only, Chromium decoded 100%, webrtcbin 36-100%.)"""
import os
import re
import time

from media_harness import (E2E, Browser, Peer, add_account, check, citizen, https, pump_until,
                           start_vigild)
from vigil_harness import finish


def metric(v, name):
    text = https(v.port, "/metrics")[2].decode()
    return sum(float(x) for x in re.findall(rf"^{name}{{[^}}]*}} (\S+)$", text, re.M))


def per_leg(v, name):
    text = https(v.port, "/metrics")[2].decode()
    return {leg: float(x) for leg, x in
            re.findall(rf'^{name}{{[^}}]*leg="([^"]*)"[^}}]*}} (\S+)$', text, re.M)}


def rate_drops(v):
    text = https(v.port, "/metrics")[2].decode()
    return sum(float(x) for x in re.findall(
        r'^vigil_media_dropped_total{[^}]*reason="rate"[^}]*} (\S+)$', text, re.M))


def run(nack):
    v, ann = start_vigild(f"simulate_loss_permille = 25\nnack = {'true' if nack else 'false'}\n",
                          args=["--web-root", os.path.join(E2E, "pages")])
    try:
        ann.request("set_status", status="away")
        pw = add_account(v.data_dir, "bea", "call_taker")
        b = Browser(f"https://127.0.0.1:{v.port}/peer.html?role=console&name=bea&pw={pw}")
        time.sleep(1.5)  # bea logs in and is available before the alarm rings
        cit, cid = citizen(v, "video", name=f"citizen-nack-{nack}",
                           peer=Peer(f"citizen-nack-{nack}", nack=True))
        pump_until([cit], lambda: b.get("framesDecoded") > 0, 20)
        pump_until([cit], lambda: False, 1)
        # Each end a fresh page sample (not up to a poll interval old), the citizen's
        # count read right after it: both counts cover the same 8 s.
        d0 = b.fresh([cit]).get("framesDecoded") or 0
        s0 = cit.peer.stats()["frames_sent"]
        pump_until([cit], lambda: False, 8)
        got = (b.fresh([cit]).get("framesDecoded") or 0) - d0
        sent = cit.peer.stats()["frames_sent"] - s0
        result = (got / max(1, sent), sent, got, metric(v, "vigil_media_dropped_total"),
                  metric(v, "vigil_media_retransmits_total"),
                  metric(v, "vigil_media_nacks_sent_total"),
                  per_leg(v, "vigil_media_nack_history_bytes"),
                  per_leg(v, "vigil_media_nack_history_grows_total"),
                  rate_drops(v))
        b.close()
        cit.peer.close()
        return result
    finally:
        v.stop()


share, sent, got, dropped, rtx, nacks_up, hist, grows, over_rate = run(True)
check(over_rate == 0, f"an honest sender with retransmissions stays under a leg's rate limit "
                      f"({over_rate:.0f} packets dropped for rate)")
check(dropped > 50, f"the path lost packets ({dropped:.0f} dropped at the gateway)")
check(share >= 0.95, f"with NACK: the console decoded {got} of {sent} frames ({share:.1%}); "
                     f"{rtx:.0f} retransmitted to it, {nacks_up:.0f} NACKs to the citizen")
check(rtx > 0 and nacks_up > 0, "retransmissions flowed both ways")
# Each video source's history starts at 32 KiB and may double when a NACK from the
# console comes after a keyframe burst has written over the packet; never past 160.
sizes = ", ".join(f"{leg} {b / 1024:.0f} KiB after {grows.get(leg, 0):.0f} grows"
                  for leg, b in hist.items())
check(hist and all(32 * 1024 <= b <= 160 * 1024 for b in hist.values()),
      f"NACK histories within 32-160 KiB: {sizes}")
share2, sent2, got2, dropped2, rtx2, *_ = run(False)
check(rtx2 == 0, "without NACK nothing is retransmitted")
check(share2 < share - 0.05, f"without NACK: {got2} of {sent2} frames ({share2:.1%}), "
                             f"measurably fewer than with it ({share:.1%})")
finish("loss")
