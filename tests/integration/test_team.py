"""Teamwork on a live case against the real vigild (issue 6, signaling side):
invite by group and by account, accept, decline, timeout, attended and blind
transfer, hand back, leave, supervisor monitor and barge, and the case events
that record each, with who and when. The citizen notices none of it."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (VIGILCTL, Client, Vigild, add_account, check, finish,  # noqa: E402
                           staff)

HERE = {"lat": 30.60, "lon": 114.50, "accuracy": 15.0}
TEAM_TYPES = {"invited", "invite_cancelled", "invite_accepted", "invite_declined", "participants",
              "transferred", "joined", "monitoring", "barged"}


def vigilctl(d, *args):
    return subprocess.run([VIGILCTL, "--data-dir", d, *args], capture_output=True, text=True)


def events(db, cid):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT kind, actor, data, at_us FROM case_events WHERE case_id = ? "
                       "ORDER BY seq", (cid,)).fetchall()
    con.close()
    return rows


def alarm(v, phone):
    c = Client(v.port, "citizen")
    r = c.request("alarm_start", mode="video", phone=phone, location=HERE)
    return c, r["case_id"]


def claim(who, cid):
    who.wait(lambda m: m.get("type") == "offer" and m["case"]["case_id"] == cid, 5)
    r = who.request("claim", case_id=cid)
    check(r.get("type") == "claimed", f"{who.name} claims {cid}")


def main():
    d = tempfile.mkdtemp(prefix="vigil-team-")
    conf = os.path.join(d, "vigil.conf")
    with open(conf, "w") as f:
        f.write("[team]\ninvite_timeout_s = 5\n")
    v = Vigild(data_dir=os.path.join(d, "data"), config=conf)
    os.makedirs(v.data_dir)
    pw = {n: add_account(v.data_dir, n, r) for n, r in
          [("ann", "call_taker"), ("bob", "specialist"), ("carl", "specialist"),
           ("dora", "specialist"), ("sue", "supervisor")]}
    for g, a in [("traffic", "bob"), ("traffic", "carl"), ("household", "dora")]:
        r = vigilctl(v.data_dir, "group", "add", g, a)
        check(r.returncode == 0, f"vigilctl group add {g} {a}: {r.stdout.strip()}")
    r = vigilctl(v.data_dir, "group", "add", "traffic", "nobody")
    check(r.returncode != 0, f"a group member must be an account: {r.stderr.strip()}")
    r = vigilctl(v.data_dir, "group", "list", "traffic")
    check(r.stdout.split() == ["traffic", "bob", "traffic", "carl"],
          f"vigilctl group list traffic: {r.stdout.split()}")
    v.start()
    try:
        run(v, pw)
        v = moved_and_restarted(v, pw, conf)
    finally:
        rc, _ = v.stop()
        check(rc == 0, f"vigild exits 0 ({rc})")
        if rc:
            print(v.stderr()[-3000:])


def run(v, pw):
    ann, bob, carl, dora, sue = (staff(v.port, n, pw[n]) for n in
                                 ("ann", "bob", "carl", "dora", "sue"))
    cit, cid = alarm(v, "+86 138 0000 2001")
    claim(ann, cid)
    cit.request("chat", case_id=cid, text="a car hit my bike")

    # Invite the traffic group: both ring with the whole case card; first to accept joins.
    t0 = time.monotonic()
    r = ann.request("invite", case_id=cid, group="traffic")
    check(r.get("type") == "invite_sent" and sorted(r["rung"]) == ["bob", "carl"],
          f"invite group traffic rings {r.get('rung')}")
    inv = bob.wait_type("invited")
    carl.wait_type("invited")
    check(inv["case"]["case_id"] == cid and inv["from"] == "ann" and inv["transfer"] is False
          and inv["chat"][0]["text"] == "a car hit my bike" and inv["case"]["location"]
          and inv["running_s"] >= 0 and "track" in inv,
          f"the specialist's console rings with the case card, chat, location, running "
          f"{inv['running_s']} s")
    r = bob.request("invite_accept", invite_id=inv["invite_id"])
    check(r.get("type") == "joined" and r["role"] == "specialist",
          f"bob accepts and joins ({(time.monotonic() - t0) * 1000:.0f} ms after the invite)")
    c = carl.wait_type("invite_cancelled")
    check(c["reason"] == "taken", f"carl's ringing stops: {c['reason']}")
    a = ann.wait_type("invite_accepted")
    p = ann.wait_type("participants")
    check(a["by"] == "bob" and p["parties"][0]["account"] == "bob",
          f"ann sees bob accept and join: {p['parties']}")
    r = carl.request("invite_accept", invite_id=inv["invite_id"])
    check(r.get("type") == "error" and r["code"] == "not_found", "a late accept is refused")

    # Bob is on the case: chat and location reach him; he may not end it.
    cit.request("chat", case_id=cid, text="my leg hurts")
    m = bob.wait_type("chat")
    check(m["text"] == "my leg hurts", "the specialist receives the citizen's chat")
    cit.send_json({"type": "location", "lat": 30.601, "lon": 114.5, "accuracy": 8})
    m = bob.wait_type("location")
    check(abs(m["fix"]["lat"] - 30.601) < 1e-9, "the specialist follows the location")
    r = bob.request("chat", case_id=cid, text="an ambulance is coming")
    check(r.get("type") == "chat_sent", "the specialist can chat")
    check(cit.wait_type("chat")["sender"] == "bob", "the citizen reads the specialist's chat")
    r = bob.request("end", case_id=cid, disposition="x")
    check(r.get("code") == "forbidden", f"a specialist may not end the case: {r.get('message')}")
    r = carl.request("invite", case_id=cid, account="dora")
    check(r.get("code") == "forbidden", "only the holder invites")

    # Attended transfer: ann leaves, bob holds with the whole history.
    r = ann.request("transfer", case_id=cid, to="bob")
    check(r.get("type") == "transfer_ok", f"attended transfer to bob: {r}")
    t = bob.wait_type("transferred")
    check(t["from"] == "ann" and t["to"] == "bob" and t["kind"] == "attended",
          "bob is told he holds the case")
    r = bob.request("case_get", case_id=cid)
    check(r["case"]["held_by"] == "bob" and len(r["chat"]) == 3,
          f"the case moved with its history ({len(r['chat'])} chat messages)")
    r = ann.request("chat", case_id=cid, text="still here?")
    check(r.get("code") == "forbidden", "ann is off the case after the transfer")

    # Hand back: declined, then not answered, then accepted.
    r = bob.request("hand_back", case_id=cid)
    check(r.get("type") == "invite_sent" and r["rung"] == ["ann"], "bob hands back: ann rings")
    inv = ann.wait_type("invited")
    check(inv["transfer"] is True, "ann's console shows a transfer, not a join")
    t0 = time.monotonic()
    ann.request("invite_decline", invite_id=inv["invite_id"])
    dcl = bob.wait_type("invite_declined")
    check(dcl["reason"] == "declined" and dcl["by"] == "ann",
          f"bob is told at once: {dcl['reason']} ({(time.monotonic() - t0) * 1000:.0f} ms)")
    r = bob.request("hand_back", case_id=cid)
    inv = ann.wait_type("invited")
    t0 = time.monotonic()
    dcl = bob.wait_type("invite_declined", timeout=10)
    waited = time.monotonic() - t0
    check(dcl["reason"] == "timeout" and 4.0 <= waited <= 7.0,
          f"unanswered: declined by timeout after {waited:.1f} s (invite_timeout_s = 5)")
    check(ann.wait_type("invite_cancelled")["reason"] == "timeout", "ann's ringing stops")
    r = bob.request("hand_back", case_id=cid)
    inv = ann.wait_type("invited")
    r = ann.request("invite_accept", invite_id=inv["invite_id"])
    check(r.get("type") == "joined" and r["role"] == "holder" and r["case"]["held_by"] == "ann",
          "hand back accepted: ann holds the case again")
    check(bob.wait_type("transferred")["kind"] == "blind", "bob is told the case left him")

    # Blind transfer to an account; unavailable targets; unknown group.
    r = ann.request("invite", case_id=cid, account="carl", transfer=True)
    inv = carl.wait_type("invited")
    r = carl.request("invite_accept", invite_id=inv["invite_id"])
    check(r.get("role") == "holder", "blind transfer: carl holds the case without a three-way")
    check(ann.wait_type("transferred", to="carl")["kind"] == "blind", "ann leaves at once")
    r = carl.request("invite", case_id=cid, account="nobody")
    d = carl.wait_type("invite_declined")
    check(r["rung"] == [] and d["reason"] == "unavailable",
          f"an account not logged in: declined at once ({d['reason']})")
    r = carl.request("invite", case_id=cid, group="nonesuch")
    check(r.get("code") == "not_found", "an unknown group is refused")
    r = carl.request("invite", case_id=cid, account="x" * 65)
    check(r.get("code") == "invalid_field", "an over-long account name is refused")
    r = carl.request("invite", case_id=cid, account="bob", group="traffic")
    check(r.get("code") == "invalid_field", "account and group together are refused")

    # Household specialist joins and leaves; the supervisor monitors, then barges.
    r = carl.request("invite", case_id=cid, group="household")
    inv = dora.wait_type("invited")
    dora.request("invite_accept", invite_id=inv["invite_id"])
    r = sue.request("monitor", case_id=cid)
    check(r.get("type") == "monitoring" and r["case"]["case_id"] == cid,
          "the supervisor monitors the case")
    p = carl.wait(lambda m: m.get("type") == "participants" and
                  any(x["role"] == "monitor" for x in m["parties"]))
    check({(x["account"], x["role"]) for x in p["parties"]} == {("dora", "specialist"),
                                                                ("sue", "monitor")},
          f"the holder sees who is on the case: {p['parties']}")
    r = sue.request("barge", case_id=cid)
    check(r.get("type") == "barged", "the supervisor barges in")
    r = ann.request("monitor", case_id=cid)
    check(r.get("code") == "forbidden", "a call-taker may not monitor")
    r = dora.request("leave")
    check(r.get("type") == "left", "the specialist leaves the call")
    r = carl.request("end", case_id=cid, disposition="resolved")
    check(r.get("type") == "ended", "the holder ends the case")
    check(dora.request("set_status", status="available").get("type") == "status",
          "the specialist is free again")

    # A supervisor listening in answers another alarm (the console rings her for
    # escalated ones): she leaves the monitored case, told so, and holds the new one.
    cit2, cid2 = alarm(v, "+8613800000077")
    claim(ann, cid2)
    r = sue.request("monitor", case_id=cid2)
    check(r.get("type") == "monitoring", f"the supervisor monitors {cid2}")
    cit3, cid3 = alarm(v, "+8613800000078")
    r = sue.request("claim", case_id=cid3)
    check(r.get("type") == "claimed" and r["case"]["held_by"] == "sue",
          f"while monitoring she answers {cid3}: {r.get('type')} {r.get('message', '')}")
    check(sue.wait_type("left", case_id=cid2) is not None, "and is told she left the other case")
    p = ann.wait(lambda m: m.get("type") == "participants" and m.get("case_id") == cid2 and
                 not m["parties"])
    check(p is not None, "its holder sees her gone")
    r = dora.request("claim", case_id=cid3)
    check(r.get("code") in ("forbidden", "already_taken"), "(a specialist cannot take it)")
    for who, c in ((ann, cid2), (sue, cid3)):
        r = who.request("end", case_id=c, disposition="resolved")
        check(r.get("type") == "ended", f"{c} ended")
    cit2.close()
    cit3.close()

    # The citizen noticed none of it; every step is a case event with who and when.
    seen = {m.get("type") for m in cit.drain(0.5)}
    check(not (seen & TEAM_TYPES), f"the citizen received no teamwork message ({sorted(seen)})")
    ev = events(os.path.join(v.data_dir, "vigil.db"), cid)
    kinds = [k for k, *_ in ev]
    for k in ("invite", "join", "transfer", "invite_declined", "monitor", "barge", "leave"):
        check(k in kinds, f"case event {k}: {kinds.count(k)} recorded")
    tr = [(a, dt) for k, a, dt, _ in ev if k == "transfer"]
    check(len(tr) == 3 and '"to":"bob"' in tr[0][1] and '"kind":"attended"' in tr[0][1],
          f"transfers recorded with from, to and kind: {[x[1] for x in tr]}")
    check(all(at > 0 for *_, at in ev), "every event has its time")
    for c in (ann, bob, carl, dora, sue, cit):
        c.close()


def moved_and_restarted(v, pw, conf):
    """A specialist on the call hears the citizen's connection drop and come back; an
    invitation still ringing when the case changes hands is stopped (a blind one,
    accepted, took the case from the new holder); across a restart the case can still
    be handed back, and an invitation ringing when vigild stopped is recorded as
    ended."""
    ann, bob, carl = (staff(v.port, n, pw[n]) for n in ("ann", "bob", "carl"))
    cit = Client(v.port, "citizen2")
    r = cit.request("alarm_start", mode="video", phone="+86 138 0000 2009", location=HERE)
    cid, token = r["case_id"], r["token"]
    claim(ann, cid)
    ann.request("invite", case_id=cid, account="bob")
    bob.request("invite_accept", invite_id=bob.wait_type("invited")["invite_id"])
    cit.close()
    m = bob.wait_type("citizen_connection", timeout=5, case_id=cid)
    check(m is not None and m["connected"] is False,
          "the specialist on the call is told the citizen's connection dropped")
    cit = Client(v.port, "citizen2-back")
    check(cit.request("case_resume", token=token).get("type") == "case_resumed", "it resumes")
    check(bob.wait_type("citizen_connection", timeout=5, case_id=cid, connected=True) is not None,
          "and is told it is back")

    r = ann.request("invite", case_id=cid, account="carl", transfer=True)
    inv = carl.wait_type("invited")
    check(ann.request("transfer", case_id=cid, to="bob").get("type") == "transfer_ok",
          "ann hands the case to bob while her blind invitation to carl rings")
    c = carl.wait_type("invite_cancelled", timeout=3)
    check(c is not None and c["reason"] == "transferred", f"carl's ringing stops: {c}")
    r = carl.request("invite_accept", invite_id=inv["invite_id"])
    check(r.get("code") == "not_found", f"a late accept cannot take it from bob: {r.get('code')}")
    check(bob.request("case_get", case_id=cid)["case"]["held_by"] == "bob", "bob still holds it")

    r = bob.request("invite", case_id=cid, account="carl")
    check(carl.wait_type("invited", timeout=3) is not None, "bob rings carl")
    rc, _ = v.stop()
    check(rc == 0, "vigild stopped while carl's console rings")
    v = Vigild(data_dir=v.data_dir, port=v.port, config=conf).start()
    ev = events(os.path.join(v.data_dir, "vigil.db"), cid)
    ended = [json.loads(dt) for k, _, dt, _ in ev if k == "invite_cancelled"]
    check(any(e.get("reason") == "restart" for e in ended),
          f"the invitation ringing at the stop is recorded as ended by it: {ended}")
    bob = staff(v.port, "bob", pw["bob"])
    check(bob.wait_type("claimed", timeout=5)["case"]["held_by"] == "bob", "bob gets it back")
    ann = staff(v.port, "ann", pw["ann"])
    r = bob.request("hand_back", case_id=cid)
    check(r.get("type") == "invite_sent" and r["rung"] == ["ann"],
          f"after the restart bob can still hand it back to ann: {r.get('type')} "
          f"{r.get('message', '')}")
    inv = ann.wait_type("invited")
    ann.request("invite_decline", invite_id=inv["invite_id"])
    check(bob.request("end", case_id=cid, disposition="resolved").get("type") == "ended",
          "the case ends")
    for c in (ann, bob, carl, cit):
        c.close()
    return v


main()
finish("team")
