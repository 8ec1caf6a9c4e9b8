"""Glue for media tests: a protocol client paired with a webrtcbin peer, and a
vigild started for media on loopback."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from vigil_harness import (SOURCE_ROOT, Client, Vigild, add_account, check, https,  # noqa: E402,F401
                           staff)
from webrtc_peer import Peer  # noqa: E402,F401


class Side:
    """A protocol client and its webrtcbin peer, with the signalling between them.
    Extra legs the gateway offers (a "peer" field: another person's media on a
    case with several parties) get a receive-only webrtcbin peer each, in extra."""

    def __init__(self, client, peer, case_id=None):
        self.client, self.peer, self.case_id = client, peer, case_id
        self.media_states = []
        self.extra = {}

    def _peer_for(self, m):
        name = m.get("peer")
        if not name:
            return self.peer
        if name not in self.extra:
            self.extra[name] = Peer(f"{self.client.name}<-{name}", send_video=False,
                                    send_audio=False, recv=True)
        return self.extra[name]

    def _send(self, msg, name):
        if self.case_id:
            msg["case_id"] = self.case_id
        if name:
            msg["peer"] = name
        self.client.send_json(msg)

    def pump(self):
        for m in list(self.client.drain(0.02)):
            t = m.get("type")
            if t == "media_answer":
                self._peer_for(m).set_remote_answer(m["sdp"])
            elif t == "media_offer":
                answer = self._peer_for(m).set_remote_offer(m["sdp"])
                self._send({"type": "media_answer", "sdp": answer, "case_id": m["case_id"]},
                           m.get("peer"))
            elif t == "ice":
                self._peer_for(m).add_remote_candidate(m["candidate"])
            elif t == "media_state":
                self.media_states.append(m)
            else:
                continue
            self.client.events.remove(m)
        for name, peer in [(None, self.peer), *self.extra.items()]:
            while True:
                line = peer.next_candidate(timeout=0)
                if line is None:
                    break
                self._send({"type": "ice", "candidate": line}, name)

    def close(self):
        for p in [self.peer, *self.extra.values()]:
            p.close()


def wait_closed(case_dir, secs=15):
    """True once the case's recording is sealed (its manifest signed)."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if os.path.exists(os.path.join(case_dir, "manifest.sig")):
            return True
        time.sleep(0.2)
    return False


def pump_until(sides, pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for s in sides:
            s.pump()
        if pred():
            return True
    return False


def start_vigild(extra="", args=()):
    d = tempfile.mkdtemp(prefix="vigil-media-")
    conf = os.path.join(d, "vigil.conf")
    with open(conf, "w") as f:
        f.write("[media]\naddresses = 127.0.0.1\nworkers = 2\n" + extra)
    v = Vigild(data_dir=os.path.join(d, "data"), config=conf, args=args)
    os.makedirs(v.data_dir)
    pw = add_account(v.data_dir, "ann", "call_taker")
    v.start()
    return v, staff(v.port, "ann", pw)


def citizen(v, mode, phone="+86 138 0000 1001", peer=None, name="citizen"):
    """A citizen raising an alarm and offering its media; returns (Side, case_id)."""
    peer = peer or Peer(name, send_video=True, send_audio=True, recv=True)
    c = Client(v.port, name)
    r = c.request("alarm_start", mode=mode, phone=phone,
                  location={"lat": 30.6, "lon": 114.5, "accuracy": 10})
    side = Side(c, peer)
    c.send_json({"type": "media_offer", "sdp": peer.create_offer()})
    return side, r["case_id"]


def console(ann, case_id, name="console", peer=None, offered=False):
    """The call-taker claims the case (waiting for it to ring unless offered);
    returns the console Side."""
    peer = peer or Peer(name, send_video=True, send_audio=True, recv=True)
    if not offered:
        ann.wait(lambda m: m.get("type") == "offer" and m["case"]["case_id"] == case_id, 5)
    r = ann.request("claim", case_id=case_id)
    if r.get("type") != "claimed":
        raise RuntimeError(f"claim: {r}")
    return Side(ann, peer, case_id)


def decoded_share(sender, receiver, sides, secs):
    """Share of the frames sender sent in the next secs that receiver decoded."""
    s0, d0 = sender.stats()["frames_sent"], receiver.stats()["frames_decoded"]
    pump_until(sides, lambda: False, secs)
    s1, d1 = sender.stats()["frames_sent"], receiver.stats()["frames_decoded"]
    return (d1 - d0) / max(1, s1 - s0), s1 - s0, d1 - d0


E2E = os.path.join(SOURCE_ROOT, "tests", "e2e")


class Browser:
    """tests/e2e/browser.mjs running one page; .stats is the page's latest vgStats()
    (a line every 250 ms or so: up to that much old, more on a busy machine)."""

    def __init__(self, url, secs=60):
        self.stats = None
        self.seq = 0  # stats lines read so far
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
                continue
            self.seq += 1

    def fresh(self, sides, timeout=5):
        """Pumps sides until a vgStats() line sampled after this call has arrived (the
        second new one: the first may have been sampled before), so a counter read
        from it and one read from a webrtcbin peer right after cover the same time."""
        want = self.seq + 2
        pump_until(sides, lambda: self.seq >= want, timeout)
        return self.stats or {}

    def get(self, key):
        return (self.stats or {}).get(key) or 0

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
