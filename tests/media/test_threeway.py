"""Three-way calls and transfer through the real vigild, with webrtcbin peers for
the citizen, the call-taker and the specialist, and a supervisor monitoring
(issue 6, media side).

Checks what each person would notice: the specialist decodes the citizen's
picture within a second of accepting and sees and hears the call-taker; the
citizen hears both officers; the citizen's own stream never restarts (the
call-taker keeps decoding it through the join); after an attended transfer the
citizen receives the specialist on the same stream, one SSRC and continuous
sequence numbers; a monitoring supervisor receives everyone and nobody receives
anything from them; in a silent alarm with a specialist the citizen's leg still
carries nothing."""
import re
import time

from media_harness import (Peer, Side, add_account, check, citizen, console, decoded_share, https,
                           pump_until, staff, start_vigild)
from vigil_harness import finish


def accept(who, peer_name, sides):
    inv = who.wait_type("invited")
    t0 = time.monotonic()
    r = who.request("invite_accept", invite_id=inv["invite_id"])
    side = Side(who, Peer(peer_name, send_video=True, send_audio=True, recv=True),
                r["case"]["case_id"])
    return side, t0


def frames(side, name=None):
    p = side.extra[name] if name else side.peer
    s = p.stats()
    return s["frames_decoded"], s["audio_buffers_decoded"]


def metric(port, leg, kind):
    text = https(port, "/metrics")[2].decode()
    return [float(x) for x in re.findall(
        r'^vigil_media_packets_out_total{[^}]*leg="%s"[^}]*kind="%s"} (\S+)$'
        % (re.escape(leg), kind), text, re.M)]


def video_case(v, ann, bob, sue):
    cit, cid = citizen(v, "video", name="citizen-3way")
    con = console(ann, cid, "ann")
    sides = [cit, con]
    ok = pump_until(sides, lambda: con.peer.stats()["frames_decoded"] > 10, 10)
    check(ok, "the call-taker decodes the citizen")
    cit_ssrc_before = cit.peer.stats()["rx_ssrcs_video"]

    # Invite and accept: the specialist's first frame, and the citizen stream going on.
    r = ann.request("invite", case_id=cid, account="bob")
    check(r.get("type") == "invite_sent", "ann invites bob")
    spec, t0 = accept(bob, "bob", sides)
    sides.append(spec)
    ok = pump_until(sides, lambda: spec.peer.stats()["frames_decoded"] > 0, 5)
    first = time.monotonic() - t0
    check(ok and first <= 1.0, f"the specialist decodes the citizen's first frame "
                               f"{first * 1000:.0f} ms after accepting (<= 1000)")
    share, sent, got = decoded_share(cit.peer, con.peer, sides, 3)
    check(share >= 0.9, f"the call-taker keeps decoding the citizen through the join: "
                        f"{got} of {sent} frames ({share:.0%})")
    ok = pump_until(sides, lambda: "ann" in spec.extra and frames(spec, "ann")[0] > 30
                    and frames(spec, "ann")[1] > 50 and "bob" in con.extra
                    and frames(con, "bob")[0] > 30 and frames(con, "bob")[1] > 50
                    and "bob" in cit.extra and frames(cit, "bob")[1] > 50, 10)
    check(ok, f"three-way: bob sees+hears ann {frames(spec, 'ann') if 'ann' in spec.extra else 0}"
              f", ann sees+hears bob {frames(con, 'bob') if 'bob' in con.extra else 0}, "
              f"citizen hears bob {frames(cit, 'bob') if 'bob' in cit.extra else 0} "
              f"(frames, audio buffers)")
    a0 = cit.peer.stats()["audio_buffers_decoded"]
    pump_until(sides, lambda: False, 1)
    check(cit.peer.stats()["audio_buffers_decoded"] - a0 > 20,
          "the citizen still hears the call-taker on their own leg")
    check(cit.peer.stats()["ice_restarts"] == 0 and cit.peer.stats()["rx_pads_video"] == 1,
          "the citizen's leg never restarted (no ICE restart, one video stream)")

    # The supervisor monitors: receives everyone; nobody receives anything from them.
    r = sue.request("monitor", case_id=cid)
    mon = Side(sue, Peer("sue", send_video=True, send_audio=True, recv=True), cid)
    sides.append(mon)
    ok = pump_until(sides, lambda: mon.peer.stats()["frames_decoded"] > 10
                    and "ann" in mon.extra and frames(mon, "ann")[1] > 50
                    and "bob" in mon.extra and frames(mon, "bob")[1] > 50, 10)
    check(ok, "the monitoring supervisor sees the citizen and hears ann and bob")
    pump_until(sides, lambda: False, 1)
    check("sue" not in cit.extra and "sue" not in con.extra and "sue" not in spec.extra,
          "monitor: no leg brings the supervisor to the citizen, ann or bob")
    out = [x for k in ("audio", "video") for x in metric(v.port, "citizen<-sue", k)]
    check(out == [], f"the gateway has no leg carrying the supervisor to the citizen ({out})")

    # Attended transfer: ann leaves; the citizen's stream from the gateway goes on.
    before = cit.peer.stats()
    r = ann.request("transfer", case_id=cid, to="bob")
    check(r.get("type") == "transfer_ok", "attended transfer to bob")
    d0 = cit.peer.stats()["frames_decoded"]
    ok = pump_until(sides, lambda: cit.peer.stats()["frames_decoded"] > d0 + 60, 10)
    after = cit.peer.stats()
    check(ok, f"the citizen keeps seeing an officer after the transfer "
              f"({after['frames_decoded'] - d0} frames)")
    check(after["rx_ssrcs_video"] == cit_ssrc_before and len(after["rx_ssrcs_audio"]) == 1
          and after["rx_pads_video"] == 1 and after["rx_pads_audio"] == 1,
          f"one SSRC per kind at the citizen across the transfer: video "
          f"{after['rx_ssrcs_video']}, audio {after['rx_ssrcs_audio']}")
    check(after["rx_seq_breaks_video"] == 0 and after["rx_seq_breaks_audio"] == 0,
          f"sequence numbers continuous at the citizen: breaks video "
          f"{after['rx_seq_breaks_video']} (largest jump {after['rx_max_seq_step_video']}), "
          f"audio {after['rx_seq_breaks_audio']} (largest {after['rx_max_seq_step_audio']}) "
          f"({after['rx_packets_video'] - before['rx_packets_video']} video packets since)")
    share, sent, got = decoded_share(cit.peer, spec.peer, sides, 2)
    check(share >= 0.9, f"bob, now holding, decodes the citizen: {got} of {sent} ({share:.0%})")
    bob.request("end", case_id=cid, disposition="test")
    for s in sides:
        s.close()
    cit.client.close()


def silent_case(v, ann, bob):
    cit, cid = citizen(v, "silent", name="citizen-silent")
    con = console(ann, cid, "ann-silent")
    sides = [cit, con]
    ann.request("invite", case_id=cid, account="bob")
    spec, t0 = accept(bob, "bob-silent", sides)
    sides.append(spec)
    ok = pump_until(sides, lambda: spec.peer.stats()["frames_decoded"] > 10
                    and "ann" in spec.extra and frames(spec, "ann")[1] > 50
                    and "bob" in con.extra and frames(con, "bob")[1] > 50, 10)
    check(ok, "silent alarm with a specialist: the officers see the citizen and hear each other")
    pump_until(sides, lambda: False, 1)
    cs = cit.peer.stats()
    check(cs["audio_buffers_decoded"] == 0 and cs["frames_decoded"] == 0 and not cit.extra,
          f"silent: the citizen receives nothing (audio {cs['audio_buffers_decoded']}, video "
          f"{cs['frames_decoded']}, extra legs {list(cit.extra)})")
    out = metric(v.port, "citizen", "audio")
    check(out == [0.0], f"silent: the gateway sent the citizen's leg no audio packet ({out})")
    ann.request("end", case_id=cid, disposition="test")
    for s in sides:
        s.close()
    cit.client.close()


v, ann = start_vigild("[team]\ninvite_timeout_s = 20\n")
try:
    bob = staff(v.port, "bob", add_account(v.data_dir, "bob", "specialist"))
    sue = staff(v.port, "sue", add_account(v.data_dir, "sue", "supervisor"))
    video_case(v, ann, bob, sue)
    silent_case(v, ann, bob)
    check(v.proc.poll() is None, "vigild still running")
finally:
    rc, _ = v.stop()
    check(rc == 0, f"vigild exits 0 ({rc})")
    if rc:
        print(v.stderr()[-3000:])
finish("threeway")
