#!/usr/bin/python3
"""Self-test of webrtc_peer: two webrtcbin peers talking to each other, no gateway.

    tests/netns-run /usr/bin/python3 tests/media/test_peer_selftest.py

A sends VP8 + Opus, B receives; SDP and trickled candidates are handed across
directly. Checks ICE, decoded media, an ICE restart mid-stream, the other offer
direction, the JSON-lines command, and that close() leaves nothing running.
Prints a line per check and "peer: N checks, M failed"; exits 1 on failure.
"""
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from webrtc_peer import Peer, _ice_credentials  # noqa: E402

FPS = 30
WINDOW_S = 5
_failures = []
_passed = []


def check(cond, what):
    """Records and prints one assertion."""
    (_passed if cond else _failures).append(what)
    print(f"{'ok  ' if cond else 'FAIL'}: {what}", flush=True)
    return cond


def os_threads():
    return len(os.listdir("/proc/self/task"))


def settled_os_threads(timeout=4):
    """OS thread count once it stops falling (GStreamer joins its threads lazily)."""
    deadline = time.monotonic() + timeout
    last, stable_since = os_threads(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        n = os_threads()
        if n != last:
            last, stable_since = n, time.monotonic()
        elif time.monotonic() - stable_since >= 0.6:
            break
    return last


def wait_for(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Trickle:
    """Forwards each peer's local candidates to the other, as a signalling server would."""

    def __init__(self, a, b):
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._pump, args=(x, y), daemon=True,
                                         name=f"trickle-{x.name}")
                        for x, y in ((a, b), (b, a))]
        for t in self.threads:
            t.start()

    def _pump(self, src, dst):
        while not self.stop.is_set():
            line = src.next_candidate(0.05)
            if line is not None:
                dst.add_remote_candidate(line)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(2)


def diagnose(*peers):
    """Everything useful when a check fails: states over time, stats, SDP."""
    for p in peers:
        print(f"--- {p.name}: stats {p.stats()}")
        t0 = p.history[0][0] if p.history else 0
        for t, prop, value in p.history:
            print(f"    {1000 * (t - t0):8.1f} ms  {prop} = {value}")
        print(f"--- {p.name}: local SDP\n{p.local_sdp}--- {p.name}: remote SDP\n{p.remote_sdp}")


def negotiate(offerer, answerer):
    offer = offerer.create_offer()
    answer = answerer.set_remote_offer(offer)
    offerer.set_remote_answer(answer)
    return offer, answer


def ms(t1, t0):
    return f"{1000 * (t1 - t0):.0f} ms" if t1 and t0 else "never"


def check_connects(a, b):
    ok = check(wait_for(lambda: a.ice_connected() and b.ice_connected(), 10),
               "ICE connects on both peers")
    ok &= check(wait_for(lambda: a.stats()["connection_state"] == "connected" and
                         b.stats()["connection_state"] == "connected", 10),
                "DTLS connects on both peers (connection-state connected)")
    sa, sb = a.stats(), b.stats()
    # Times from B's receipt of the offer: the first create-offer in a process waits for
    # GStreamer's DTLS certificate (an RSA key made once, 0.1-0.5 s), which says nothing
    # about ICE.
    print(f"     offer made to offer applied at B: {ms(sb['offer_time'], sa['offer_time'])}; "
          f"from then ICE connected (A) in {ms(sa['ice_connected_time'], sb['offer_time'])}, "
          f"(B) in {ms(sb['ice_connected_time'], sb['offer_time'])}")
    return ok


def check_first_frame(a, b):
    ok = check(wait_for(lambda: b.stats()["first_frame_time"] is not None, 10),
               "B decodes a first video frame")
    sa, sb = a.stats(), b.stats()
    print(f"     first decoded frame {ms(sb['first_frame_time'], sb['offer_time'])} after B "
          f"got the offer ({ms(sb['first_frame_time'], sa['offer_time'])} after A began it)")
    return ok


def check_steady_media(a, b):
    """Over WINDOW_S seconds B decodes >= 90% of what A encodes; audio keeps coming."""
    sent0, dec0 = a.stats()["frames_sent"], b.stats()["frames_decoded"]
    audio = [b.stats()["audio_buffers_decoded"]]
    for _ in range(WINDOW_S):
        time.sleep(1)
        audio.append(b.stats()["audio_buffers_decoded"])
    sent = a.stats()["frames_sent"] - sent0
    dec = b.stats()["frames_decoded"] - dec0
    print(f"     over {WINDOW_S} s: A sent {sent} frames, B decoded {dec}; "
          f"audio buffers per second {[y - x for x, y in zip(audio, audio[1:])]}")
    ok = check(sent >= 0.8 * FPS * WINDOW_S, f"A encodes about {FPS} fps ({sent} frames)")
    ok &= check(dec >= 0.9 * sent, f"B decodes >= 90% of A's frames ({dec}/{sent})")
    ok &= check(all(y > x for x, y in zip(audio, audio[1:])),
                "B's decoded audio buffers rise every second")
    return ok


def check_ice_restart(a, b):
    """Renegotiates with new ICE credentials mid-stream; media must go on."""
    old_offer_ufrag = _ice_credentials(a.local_sdp)[0]
    old_answer_ufrag = _ice_credentials(b.local_sdp)[0]
    offer = a.restart_ice()
    answer = b.set_remote_offer(offer)
    a.set_remote_answer(answer)
    t_restart = time.monotonic()
    ok = check(_ice_credentials(offer)[0] != old_offer_ufrag, "restart offer has a new ufrag")
    ok &= check(_ice_credentials(answer)[0] != old_answer_ufrag,
                "restart answer has a new ufrag")
    ok &= check(a.nice_local_credentials() == _ice_credentials(offer) and
                b.nice_local_credentials() == _ice_credentials(answer),
                "libnice uses the new credentials on both sides")
    ok &= check(wait_for(lambda: a.stats()["restart_connected_ms"] is not None and
                         b.stats()["restart_connected_ms"] is not None, 10),
                "ICE checks run again and connect after the restart")
    print(f"     ICE connected again {a.stats()['restart_connected_ms']} ms after the restart")
    time.sleep(max(0.0, t_restart + 2 - time.monotonic()))
    f2 = b.stats()["frames_decoded"]
    time.sleep(1)
    f3 = b.stats()["frames_decoded"]
    ok &= check(f3 - f2 >= 0.8 * FPS,
                f"B still decodes 2 s after the restart ({f3 - f2} frames in the next 1 s)")
    return ok


def check_close(peers, what):
    t0 = time.monotonic()
    for p in peers:
        p.close()
    took = time.monotonic() - t0
    check(took < 3, f"{what}: close() returns quickly ({took * 1000:.0f} ms)")
    alive = [t.name for t in threading.enumerate() if t.name.startswith("webrtc-peer-")]
    check(not alive, f"{what}: no peer loop thread left ({alive})")


def scenario_publish():
    """A offers sendonly VP8+Opus, B answers recvonly; steady media; ICE restart."""
    a = Peer("A", recv=False, ssrc_video=0x1234567, ssrc_audio=0x7654321)
    b = Peer("B", send_video=False, send_audio=False)
    trickle = Trickle(a, b)
    try:
        offer, answer = negotiate(a, b)
        check("a=ssrc:19088743 " in offer and "a=ssrc:124076833 " in offer,
              "A's offer carries a=ssrc lines for the configured SSRCs")
        check("a=group:BUNDLE" in offer and "a=group:BUNDLE" in answer, "BUNDLE negotiated")
        ok = check_connects(a, b) and check_first_frame(a, b)
        ok = ok and check_steady_media(a, b)
        ok = ok and check_ice_restart(a, b)
        if not ok:
            diagnose(a, b)
        check(not a.errors and not b.errors, f"no pipeline errors ({a.errors + b.errors})")
    finally:
        trickle.close()
        check_close([a, b], "publish")


def scenario_subscribe():
    """The other direction, as a gateway serving a subscriber may need: B offers recvonly."""
    a = Peer("A2", recv=False)
    b = Peer("B2", send_video=False, send_audio=False)
    trickle = Trickle(a, b)
    try:
        negotiate(b, a)
        ok = check(wait_for(lambda: b.stats()["frames_decoded"] >= FPS, 10),
                   "recvonly offerer: B2 decodes a second of video from A2")
        ok &= check(b.stats()["audio_buffers_decoded"] > 0, "recvonly offerer: B2 gets audio")
        if not ok:
            diagnose(b, a)
    finally:
        trickle.close()
        check_close([a, b], "subscribe")


class CliPeer:
    """webrtc_peer.py run as a command, spoken to in JSON lines."""

    def __init__(self, role):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "webrtc_peer.py"),
                                      "--role", role], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.candidates = []
        self.replies = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self.cond:
                (self.candidates if "candidate" in msg else self.replies).append(msg)
                self.cond.notify_all()

    def request(self, timeout=10, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        with self.cond:
            if not self.cond.wait_for(lambda: self.replies, timeout):
                raise TimeoutError(f"no reply to {msg.get('op')}")
            return self.replies.pop(0)

    def take_candidates(self):
        with self.cond:
            out, self.candidates = self.candidates, []
        return [c["candidate"] for c in out]


def scenario_cli():
    pub, sub = CliPeer("publisher"), CliPeer("subscriber")
    try:
        answer = sub.request(op="offer", sdp=pub.request(op="offer")["sdp"])
        pub.request(op="answer", sdp=answer["sdp"])
        deadline = time.monotonic() + 10
        stats = {}
        while time.monotonic() < deadline and stats.get("frames_decoded", 0) < FPS:
            for src, dst in ((pub, sub), (sub, pub)):
                for line in src.take_candidates():
                    dst.request(op="candidate", line=line)
            time.sleep(0.1)
            stats = sub.request(op="stats", id="s")["stats"]
        if not check(stats.get("frames_decoded", 0) >= FPS,
                     f"JSON-lines command: subscriber decodes video "
                     f"({stats.get('frames_decoded')} frames)"):
            print(f"     subscriber stats {stats}")
        for p in (pub, sub):
            p.request(op="close")
    finally:
        for p in (pub, sub):
            try:
                rc = p.proc.wait(5)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                rc = p.proc.wait()
            check(rc == 0, f"JSON-lines command exits cleanly ({rc})")


def main():
    scenario_publish()
    after_first = settled_os_threads()
    scenario_subscribe()
    after_second = settled_os_threads()
    # GStreamer keeps a few pooled idle threads, so compare one finished pair with two:
    # if peers left threads behind (libnice's own, say), the count would grow.
    check(after_second <= after_first,
          f"no OS threads left behind by closed peers ({after_first} then {after_second})")
    scenario_cli()
    print(f"peer: {len(_passed) + len(_failures)} checks, {len(_failures)} failed")
    raise SystemExit(1 if _failures else 0)


if __name__ == "__main__":
    main()
