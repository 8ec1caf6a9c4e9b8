"""A call-taker who joins 10 s into the citizen's stream sees a picture within a
second; an ICE restart in the middle of the call keeps the console decoding; a
peer whose DTLS certificate does not match its SDP fingerprint is refused."""
import re
import time

from media_harness import (Client, Peer, Side, check, console, citizen, decoded_share,
                           pump_until, start_vigild)
from vigil_harness import finish


def test_late_join_and_restart(v, ann):
    cit, cid = citizen(v, "video", name="citizen-late")
    pump_until([cit], lambda: False, 10)  # the stream runs 10 s before anyone answers
    check(cit.peer.stats()["frames_sent"] > 250, "the citizen streamed for 10 s (early media)")
    con = console(ann, cid, "console-late")
    t0 = time.monotonic()
    sides = [cit, con]
    ok = pump_until(sides, lambda: con.peer.stats()["frames_decoded"] > 0, 5)
    first = time.monotonic() - t0
    check(ok and first < 1.0, f"joining 10 s in: first frame {first * 1000:.0f} ms after the "
                              f"claim (within 1 s)")
    share, sent, got = decoded_share(cit.peer, con.peer, sides, 2)
    check(share >= 0.9, f"decoding before the restart ({got}/{sent})")
    # The citizen's network changes: ICE restart with new credentials.
    offer = cit.peer.restart_ice()
    old = re.search(r"a=ice-ufrag:(\S+)", cit.peer.remote_sdp or "")
    cit.client.send_json({"type": "media_offer", "sdp": offer})
    ok = pump_until(sides, lambda: cit.peer.remote_sdp and old and
                    old.group(1) not in cit.peer.remote_sdp, 5)
    check(ok, "the gateway answers the restart with new ICE credentials")
    ok = pump_until(sides, lambda: cit.peer.stats().get("restart_connected_ms") is not None, 5)
    check(ok, f"ICE checks ran again and connected "
              f"({cit.peer.stats().get('restart_connected_ms')} ms after the restart)")
    pump_until(sides, lambda: False, 1)
    share, sent, got = decoded_share(cit.peer, con.peer, sides, 3)
    check(share >= 0.9, f"after the ICE restart the console still decodes ({got}/{sent})")
    ann.request("end", case_id=cid, disposition="test")
    for p in (cit.peer, con.peer):
        p.close()
    cit.client.close()


def test_fingerprint_mismatch(v):
    peer = Peer("citizen-forged", send_video=True, send_audio=True, recv=True)
    c = Client(v.port, "forged")
    r = c.request("alarm_start", mode="video", phone="+86 138 0000 1002")
    offer = peer.create_offer()
    forged = re.sub(r"(a=fingerprint:sha-256 )([0-9A-F]{2})",
                    lambda m: m.group(1) + ("00" if m.group(2) != "00" else "11"), offer)
    c.send_json({"type": "media_offer", "sdp": forged})
    side = Side(c, peer)
    ok = pump_until([side], lambda: any(s["state"] == "failed" for s in side.media_states), 10)
    st = [s for s in side.media_states if s["state"] == "failed"]
    check(ok and "fingerprint" in st[0].get("detail", ""),
          f"a certificate that does not match the SDP fingerprint fails the leg: {st}")
    check(peer.stats()["frames_decoded"] == 0, "and no media flows")
    c.request("hangup")
    peer.close()
    c.close()
    del r


v, ann = start_vigild()
try:
    test_late_join_and_restart(v, ann)
    test_fingerprint_mismatch(v)
    check(v.proc.poll() is None, "vigild still running")
finally:
    rc, _ = v.stop()
    check(rc == 0, f"vigild exits 0 ({rc})")
    if rc:
        print(v.stderr()[-3000:])
finish("join_restart")
