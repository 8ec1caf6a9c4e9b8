"""Connections that die without closing, and the cases they held.

A console whose machine loses power, or a phone in a tunnel, sends nothing and answers
nothing, and TCP may take many minutes to tell. vigild PINGs a connection that has
been quiet for [signaling] ping_after_s and closes it after dead_after_s; a call-taker
whose console is gone that way (or closed) has [queue] holder_grace_s to come back,
and then the case goes to a specialist still on the call, or back to the queue,
escalated, with the supervisors alerted. Short timers here (2 s, 4 s, 2 s) so the
test is quick; a client this test does not read is one that went silent."""
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (Client, Vigild, WebSocket, add_account, check, finish,  # noqa: E402
                           https, staff)

INSIDE = {"lat": 30.60, "lon": 114.50, "accuracy": 15.0}


def pump(clients, until, timeout=15, what="event"):
    """Reads every client in turn (answering PINGs, keeping events) until until()
    returns something true, which is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in clients:
            c.drain(0.05)
        got = until()
        if got:
            return got
    raise TimeoutError(f"no {what} within {timeout}s")


def take(c, type_, **match):
    """Removes and returns the first kept event of c of that type and fields, or None."""
    for i, m in enumerate(c.events):
        if m.get("type") == type_ and all(m.get(k) == v for k, v in match.items()):
            return c.events.pop(i)
    return None


def board_shows(c, cid, **want):
    """The card of cid in a board event kept by c with those fields, or None."""
    for m in c.events:
        if m.get("type") == "board":
            for card in m["cases"]:
                if card["case_id"] == cid and all(card.get(k) == v for k, v in want.items()):
                    return card
    return None


def closed_by_server(ws, timeout):
    """Reads what the server sent a client that never answered; True once it closed."""
    try:
        while True:
            op, _ = ws.recv_frame(timeout)
            if op == 0x9:
                ws.pings += 1
            if op == 0x8:
                return True
    except ConnectionError:
        return True
    except OSError:
        return False


def metric(v, name):
    _, _, body, _ = https(v.port, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    return None


def events_of(v, cid):
    con = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"))
    rows = con.execute("SELECT kind, actor FROM case_events WHERE case_id=? ORDER BY seq",
                       (cid,)).fetchall()
    row = con.execute("SELECT state, held_by, escalated FROM cases WHERE id=?", (cid,)).fetchone()
    con.close()
    return rows, row


def test_ping_and_silence(v):
    live = Client(v.port, "answers")
    idle = Client(v.port, "idle")  # never read by the test: the harness answers for it
    quiet = WebSocket(v.port)
    quiet.keep_alive = False  # reads nothing, answers nothing
    t0 = time.monotonic()
    pump([live], lambda: live.pings >= 1, 6, "PING")
    check(True, f"a quiet connection is PINGed ({time.monotonic() - t0:.1f} s after it opened)")
    check(closed_by_server(quiet, 8), "one that answers nothing is closed by the gateway")
    gone = time.monotonic() - t0
    check(3.5 <= gone <= 7, f"after dead_after_s (4 s): {gone:.1f} s")
    check(quiet.pings >= 1, "it had been PINGed first")
    pump([live], lambda: time.monotonic() - t0 > 7, 8)
    r = live.request("hello")
    check(r.get("type") == "hello", "one that answers PINGs stays open past dead_after_s")
    r = idle.request("hello")
    check(r.get("type") == "hello" and idle.pings >= 2,
          f"so does one the test never read, whose PINGs the harness answered ({idle.pings})")
    check("no answer to PING: closed" in v.stderr(), "the gateway logs why it closed one")
    check(metric(v, "vigil_ws_silent_closed_total") == 1,
          "and counts it (vigil_ws_silent_closed_total)")
    live.close()
    idle.close()


def test_requeue(v, pw):
    """ann answers, then her console goes silent: the case comes back to the queue."""
    ann, bob, sue = (staff(v.port, n, pw[n]) for n in ("ann", "bob", "sue"))
    cit = Client(v.port, "cit")
    r = cit.request("alarm_start", mode="video", phone="+86 138 0000 0041", location=INSIDE)
    cid = r["case_id"]
    ann.wait(lambda m: m.get("type") == "offer" and m["case"]["case_id"] == cid)
    check(ann.request("claim", case_id=cid).get("type") == "claimed", "ann answers")
    r = sue.request("monitor", case_id=cid)
    check(r.get("type") == "monitoring", f"sue monitors the call: {r.get('type')}")
    t0 = time.monotonic()
    ann.keep_alive = False  # from here ann's console is silent: it answers nothing
    others = [bob, sue, cit]
    for c in others:  # what came before (the first offer, queue places)
        c.drain(0.2)
        c.events.clear()
    card = pump(others, lambda: board_shows(sue, cid, held_by="ann", holder_connected=False), 8,
                "board")
    check(card["state"] == "answered", f"the supervisor's board shows ann's console lost after "
          f"{time.monotonic() - t0:.1f} s, the case still hers")
    req = pump(others, lambda: take(cit, "requeued", case_id=cid), 15, "requeued")
    took = time.monotonic() - t0
    check(req is not None and 5 <= took <= 10,
          f"the citizen is told they are put through again {took:.1f} s after ann went "
          "silent (dead_after_s 4 + holder_grace_s 2)")
    q = pump(others, lambda: take(cit, "queue", case_id=cid), 3, "queue")
    check(q["position"] == 1, f"and is first in the queue: {q}")
    off = pump(others, lambda: take(bob, "offer"), 3, "offer")
    check(off["case"]["case_id"] == cid and off["case"]["escalated"] is True,
          "bob's console rings with the case, escalated")
    check(take(sue, "requeued", case_id=cid) is not None,
          "sue, who was monitoring, is told the case is back in the queue")
    so = pump(others, lambda: take(sue, "offer"), 3, "supervisor offer")
    check(so["case"]["case_id"] == cid and so["case"]["parties"] == [],
          "and her console rings with it, nobody left on it")
    al = pump(others, lambda: take(sue, "alert", kind="holder_lost"), 3, "alert")
    check(al["case_id"] == cid and al["detail"]["was_held_by"] == "ann"
          and al["detail"]["gone_s"] >= 1, f"the supervisor is alerted: {al['detail']}")
    r = bob.request("claim", case_id=cid)
    check(r.get("type") == "claimed" and r["case"]["held_by"] == "bob", "bob takes it")
    r = sue.request("claim", case_id=cid)
    check(r.get("code") == "already_taken", f"sue was free to claim it too: {r.get('code')}")
    check(pump([cit, sue], lambda: take(cit, "answered", case_id=cid), 3)["by"] == "bob",
          "and the citizen is told")
    kinds, row = events_of(v, cid)
    want = [("answered", "ann"), ("requeued", "ann"), ("alert", None), ("offered", None),
            ("answered", "bob")]
    check([k for k in kinds if k[0] in ("answered", "requeued", "alert", "offered")][1:] == want
          and ("leave", "sue") in kinds, f"its history: {kinds}")
    check(row == ("answered", "bob", 1), f"case row: {row}")
    # ann's console comes back late: it no longer holds the case.
    ann2 = Client(v.port, "ann-back")
    r = ann2.request("resume", token=ann.token)
    check(r.get("type") == "resume", "ann resumes her session")
    r = ann2.request("case_get", case_id=cid)
    check(r.get("code") == "forbidden", f"and the case is bob's now: {r.get('code')}")
    check(not take(ann2, "claimed"), "no claimed comes back to her")
    r = bob.request("end", case_id=cid, disposition="dispatched")
    check(r.get("type") == "ended", "bob ends it")
    r = bob.request("case_get", case_id=cid)
    c = r.get("case") or {}
    check((c.get("state"), c.get("end_reason"), c.get("disposition")) ==
          ("ended", "ended_by_staff", "dispatched"),
          f"the one who held it last may read the closed case back: {c.get('state')}")
    r = ann2.request("case_get", case_id=cid)
    c = r.get("case") or {}
    check((c.get("state"), c.get("held_by")) == ("ended", "bob"),
          f"so may ann, who lost it, to learn how it ended: {c.get('state')}, {c.get('held_by')}")
    r = sue.request("case_get", case_id=cid)
    check(r.get("type") == "case", "(and supervisors)")
    carl_like = Client(v.port, "stranger")
    carl_like.request("login", name="carl", password=pw["carl"])
    r = carl_like.request("case_get", case_id=cid)
    check(r.get("code") == "not_found", f"but not someone who never held it: {r.get('code')}")
    carl_like.close()
    for c in (ann2, bob, sue, cit):
        c.close()
    ann.sock.close()


def test_back_in_time(v, pw):
    """ann's connection drops and her console is back within holder_grace_s: she keeps it."""
    ann, bob = (staff(v.port, n, pw[n]) for n in ("ann", "bob"))
    cit = Client(v.port, "cit2")
    cid = cit.request("alarm_start", mode="voice", phone="+86 138 0000 0042",
                      location=INSIDE)["case_id"]
    ann.wait(lambda m: m.get("type") == "offer" and m["case"]["case_id"] == cid)
    check(ann.request("claim", case_id=cid).get("type") == "claimed", "ann answers")
    for c in (bob, cit):  # what came before (the first offer, queue places)
        c.drain(0.2)
        c.events.clear()
    ann.sock.close()  # the connection drops (closed, seen at once)
    time.sleep(1)
    ann2 = Client(v.port, "ann-again")
    ann2.request("resume", token=ann.token)
    back = pump([ann2, bob, cit], lambda: take(ann2, "claimed"), 3, "claimed")
    check(back["case"]["case_id"] == cid, "ann's console is back in 1 s and gets the case back")
    end = time.monotonic() + 3
    while time.monotonic() < end:
        for c in (ann2, bob, cit):
            c.drain(0.05)
    check(not take(bob, "offer") and not take(cit, "requeued"),
          "past holder_grace_s nothing is requeued")
    kinds, row = events_of(v, cid)
    check(row[:2] == ("answered", "ann") and "requeued" not in [k for k, _ in kinds],
          f"the case stays hers: {row}")
    ann2.request("end", case_id=cid, disposition="resolved")
    for c in (ann2, bob, cit):
        c.close()


def three_way(v, ann, carl, name, phone):
    """A citizen's video alarm that ann answers and brings carl into; returns the
    citizen's client and the case id."""
    cit = Client(v.port, name)
    cid = cit.request("alarm_start", mode="video", phone=phone, location=INSIDE)["case_id"]
    ann.wait(lambda m: m.get("type") == "offer" and m["case"]["case_id"] == cid)
    check(ann.request("claim", case_id=cid).get("type") == "claimed", "ann answers")
    r = ann.request("invite", case_id=cid, account="carl")
    check(r.get("type") == "invite_sent", f"ann invites carl: {r}")
    inv = carl.wait_type("invited")
    r = carl.request("invite_accept", invite_id=inv["invite_id"])
    check(r.get("type") == "joined" and r["role"] == "specialist", "carl joins the call")
    return cit, cid


def test_specialist_takes_over(v, pw):
    """ann brought carl into the call; her console goes: carl holds the case."""
    ann, carl, sue = (staff(v.port, n, pw[n]) for n in ("ann", "carl", "sue"))
    cit, cid = three_way(v, ann, carl, "cit3", "+86 138 0000 0043")
    for c in (ann, cit):
        c.drain(0.2)
        c.events.clear()
    ann.sock.close()
    t = pump([carl, sue, cit], lambda: take(carl, "transferred", case_id=cid), 6, "transferred")
    check(t["from"] == "ann" and t["to"] == "carl" and t["kind"] == "holder_lost",
          f"carl is told he holds it now: {t}")
    al = pump([carl, sue, cit], lambda: take(sue, "alert", kind="holder_lost"), 3, "alert")
    check(al["detail"].get("taken_over_by") == "carl", f"the supervisor is alerted: {al['detail']}")
    check(not take(cit, "requeued"), "the citizen stays in the call")
    a = pump([carl, sue, cit], lambda: take(cit, "answered", case_id=cid), 3, "answered")
    check(a["by"] == "carl", "and is told carl has the case now")
    _, row = events_of(v, cid)
    check(row[:2] == ("answered", "carl"), f"case row: {row}")
    r = carl.request("chat", case_id=cid, text="I am still here")
    check(r.get("type") == "chat_sent", "carl talks on")
    r = carl.request("end", case_id=cid, disposition="resolved")
    check(r.get("type") == "ended", f"and may end it: {r}")
    for c in (carl, sue, cit):
        c.close()


def parties_of(c, cid):
    """The parties in the last participants event c kept for cid, or None."""
    got = None
    for m in c.events:
        if m.get("type") == "participants" and m.get("case_id") == cid:
            got = m["parties"]
    return got


def test_specialist_lost(v, pw):
    """carl joined ann's call; his console goes and does not come back within
    holder_grace_s: he is taken off the case, and not pulled back into it at his next
    login; ann may ring him again."""
    ann, carl = (staff(v.port, n, pw[n]) for n in ("ann", "carl"))
    cit, cid = three_way(v, ann, carl, "cit4", "+86 138 0000 0044")
    ann.drain(0.2)
    ann.events.clear()
    t0 = time.monotonic()
    carl.sock.close()
    away = pump([ann, cit], lambda: parties_of(ann, cid) == [
        {"account": "carl", "role": "specialist", "connected": False}], 3, "carl away")
    check(away, "ann sees carl's console away, his place kept")
    pump([ann, cit], lambda: parties_of(ann, cid) == [], 6, "carl off the case")
    took = time.monotonic() - t0
    check(1.5 <= took <= 5, f"after holder_grace_s (2 s) carl is off the case: {took:.1f} s")
    kinds, row = events_of(v, cid)
    check(("leave", "carl") in kinds and row[:2] == ("answered", "ann"),
          f"a leave in its history, the case still ann's: {kinds[-3:]}")
    con = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"))
    data = con.execute("SELECT data FROM case_events WHERE case_id=? AND kind='leave' "
                       "AND actor='carl'", (cid,)).fetchone()[0]
    con.close()
    check('"reason":"connection_lost"' in data, f"for a lost connection: {data}")
    carl2 = Client(v.port, "carl-back")
    check(carl2.request("resume", token=carl.token).get("type") == "resume", "carl is back")
    carl2.drain(1)
    check(not take(carl2, "joined"), "his console is not pulled back into the case")
    r = ann.request("invite", case_id=cid, account="carl")
    check(r.get("type") == "invite_sent", f"ann may ring him again: {r.get('type')}")
    inv = carl2.wait_type("invited")
    check(carl2.request("invite_accept", invite_id=inv["invite_id"]).get("type") == "joined",
          "and he joins again")
    ann.request("end", case_id=cid, disposition="resolved")
    for c in (ann, carl2, cit):
        c.close()


def test_restart_keeps_parties(v, pw, conf):
    """vigild restarts during a three-way call: the specialist who logs in again gets
    his place back (not a new invitation); a supervisor who barged in and does not
    come back leaves after holder_grace_s."""
    ann, carl, sue = (staff(v.port, n, pw[n]) for n in ("ann", "carl", "sue"))
    cit, cid = three_way(v, ann, carl, "cit5", "+86 138 0000 0045")
    check(sue.request("barge", case_id=cid).get("type") == "barged", "sue barges in")
    for c in (ann, carl, sue, cit):
        c.close()
    rc, _ = v.stop()
    check(rc == 0, "vigild stops (an upgrade, say)")
    v2 = Vigild(data_dir=v.data_dir, port=v.port, config=conf).start()
    ann = staff(v2.port, "ann", pw["ann"])
    back = ann.wait_type("claimed", timeout=3)
    parties = back["case"].get("parties")
    check(parties == [{"account": "carl", "role": "specialist", "connected": False},
                      {"account": "sue", "role": "barged", "connected": False}],
          f"after the restart ann gets the case back, carl and sue on it, away: {parties}")
    carl = staff(v2.port, "carl", pw["carl"])
    j = carl.wait_type("joined", timeout=3)
    check(j["case"]["case_id"] == cid and j["role"] == "specialist",
          "carl logs in again and is back on the call, with no new invitation")
    t0 = time.monotonic()
    gone = pump([ann, carl], lambda: parties_of(ann, cid) == [
        {"account": "carl", "role": "specialist", "connected": True}], 6, "sue off the case")
    took = time.monotonic() - t0
    check(gone and took <= 5, f"sue, who did not come back, is off the case {took:.1f} s later")
    kinds, _ = events_of(v2, cid)
    check(kinds[-1] == ("leave", "sue"), f"as a leave in its history: {kinds[-3:]}")
    ann.request("end", case_id=cid, disposition="resolved")
    for c in (ann, carl):
        c.close()
    return v2


def vigilctl(v, *args):
    p = subprocess.run([os.environ.get("VIGILCTL", "vigilctl"), "--data-dir", v.data_dir, *args],
                       capture_output=True, text=True)
    check(p.returncode == 0, "vigilctl " + " ".join(args))


def until_closed(c, others, timeout=10):
    """Reads c (and keeps others read) until the server closes it: True, or False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c.drain(0.1)
        except ConnectionError:
            return True
        for o in others:
            o.drain(0.05)
    return False


def test_disabled(v, pw):
    """An account disabled with vigilctl while its console is open is signed out within
    seconds (it could go on blocking callers and claiming cases until its socket
    dropped); the case it held goes back to the queue as for any lost console."""
    dan_pw = add_account(v.data_dir, "dan", "call_taker")
    dan, sue = staff(v.port, "dan", dan_pw), staff(v.port, "sue", pw["sue"])
    cit = Client(v.port, "cit-dis")
    cid = cit.request("alarm_start", mode="voice", phone="+86 138 0000 0049",
                      location=INSIDE)["case_id"]
    dan.wait(lambda m: m.get("type") == "offer" and m["case"]["case_id"] == cid)
    check(dan.request("claim", case_id=cid).get("type") == "claimed", "dan answers")
    t0 = time.monotonic()
    vigilctl(v, "account", "disable", "dan")
    closed = until_closed(dan, (sue, cit))
    out = take(dan, "signed_out")
    check(out is not None and out.get("reason") == "revoked",
          f"dan's console is told it is signed out {time.monotonic() - t0:.1f} s later: {out}")
    check(closed, "and its connection closed")
    again = Client(v.port, "dan-again")
    r = again.request("resume", token=dan.token)
    check(r.get("code") == "login_failed", f"its session does not resume: {r.get('code')}")
    req = pump([sue, cit, again], lambda: take(cit, "requeued", case_id=cid), 10, "requeued")
    check(req is not None, f"the case is back in the queue {time.monotonic() - t0:.1f} s after")
    al = pump([sue, cit, again], lambda: take(sue, "alert", kind="holder_lost", case_id=cid), 3,
              "alert")
    check(al is not None, "and the supervisor alerted")
    cit.request("hangup")
    for c in (sue, cit, again):
        c.close()
    # A password reset is how a compromised account is taken back: its sessions end.
    eve_pw = add_account(v.data_dir, "eve", "call_taker")
    eve = staff(v.port, "eve", eve_pw)
    vigilctl(v, "account", "reset-password", "eve")
    check(until_closed(eve, ()) and take(eve, "signed_out") is not None,
          "after a password reset the open console is signed out")
    again = Client(v.port, "eve-again")
    r = again.request("resume", token=eve.token)
    check(r.get("code") == "login_failed", f"and its session does not resume: {r.get('code')}")
    again.close()


d = tempfile.mkdtemp(prefix="vigil-live-")
conf = os.path.join(d, "vigil.conf")
with open(conf, "w") as f:
    f.write("[queue]\nholder_grace_s = 2\nescalate_after_s = 600\n"
            "[signaling]\nping_after_s = 2\ndead_after_s = 4\nrate_per_s = 50\nrate_burst = 50\n")
v = Vigild(data_dir=os.path.join(d, "data"), config=conf)
os.makedirs(v.data_dir)
PW = {n: add_account(v.data_dir, n, role) for n, role in
      (("ann", "call_taker"), ("bob", "call_taker"), ("carl", "specialist"),
       ("sue", "supervisor"))}
v.start()
test_ping_and_silence(v)
test_requeue(v, PW)
test_back_in_time(v, PW)
test_specialist_takes_over(v, PW)
test_specialist_lost(v, PW)
test_disabled(v, PW)
check(v.proc.poll() is None, "vigild survived everything")
v = test_restart_keeps_parties(v, PW, conf)
check(v.proc.poll() is None, "and its restart")
v.stop()
finish("liveness")
