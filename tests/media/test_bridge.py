"""The citizen's WebRTC streams through the real vigild to a call-taker, and back.

A GStreamer webrtcbin peer plays the citizen (camera and microphone: VP8 and
Opus test sources) and another plays the call-taker's console; both speak the
real protocol over WSS (docs/protocol.md: media_offer, media_answer, ice).
Checks what a person would notice: the console decodes the citizen's picture
(at least 90% of the frames sent) and sound; in a video alarm the citizen sees
and hears the call-taker; in a silent alarm nothing at all reaches the
citizen's leg, and the console still hears the citizen."""
import re
import time

from media_harness import check, console, citizen, decoded_share, https, pump_until, start_vigild
from vigil_harness import finish


def pause_and_resume(ann, cid, cit, con, sides):
    r = ann.request("media_pause", case_id=cid, kinds=["video"], paused=True)
    check(r.get("type") == "media_paused", f"the console pauses the citizen's video: {r}")
    pump_until(sides, lambda: False, 0.5)
    share, sent, got = decoded_share(cit.peer, con.peer, sides, 2)
    check(got <= 2, f"paused: no more frames decoded ({got} in 2 s)")
    a0 = con.peer.stats()["audio_buffers_decoded"]
    pump_until(sides, lambda: False, 1)
    check(con.peer.stats()["audio_buffers_decoded"] - a0 > 20, "audio goes on while video pauses")
    ann.request("media_pause", case_id=cid, kinds=["video"], paused=False)
    t0 = time.monotonic()
    d0 = con.peer.stats()["frames_decoded"]
    ok = pump_until(sides, lambda: con.peer.stats()["frames_decoded"] > d0 + 5, 3)
    check(ok, f"resumed: decoding again {(time.monotonic() - t0) * 1000:.0f} ms later")


def run_case(v, ann, mode):
    cit, cid = citizen(v, mode, name=f"citizen-{mode}")
    t0 = time.monotonic()
    ok = pump_until([cit], lambda: cit.peer.stats()["connection_state"] == "connected", 10)
    check(ok, f"{mode}: the citizen's leg connects before anyone answers (early media), "
              f"{(time.monotonic() - t0) * 1000:.0f} ms")
    answer = cit.peer.remote_sdp or ""
    audio_secs = [x.split("m=video")[0] for x in answer.split("m=audio")[1:]]
    con = console(ann, cid, f"console-{mode}")
    t1 = time.monotonic()
    sides = [cit, con]
    ok = pump_until(sides, lambda: con.peer.stats()["frames_decoded"] > 0, 10)
    check(ok, f"{mode}: the console decodes the citizen's picture, first frame "
              f"{(time.monotonic() - t1) * 1000:.0f} ms after the claim")
    a0 = con.peer.stats()["audio_buffers_decoded"]
    share, sent, got = decoded_share(cit.peer, con.peer, sides, 4)
    a1 = con.peer.stats()["audio_buffers_decoded"]
    check(share >= 0.9, f"{mode}: console decoded {got} of {sent} frames ({share:.0%}) in 4 s")
    check(a1 - a0 > 100, f"{mode}: console hears the citizen ({a1 - a0} audio buffers in 4 s)")
    cs = cit.peer.stats()
    if mode == "video":
        check(cs["frames_decoded"] > 60, f"video: the citizen sees the call-taker "
                                         f"({cs['frames_decoded']} frames)")
        check(cs["audio_buffers_decoded"] > 100, "video: the citizen hears the call-taker")
    else:
        check(audio_secs and all("a=sendrecv" not in x and "a=sendonly" not in x
                                 for x in audio_secs),
              f"silent: the gateway's answer never offers to send audio ({len(audio_secs)} "
              f"audio sections)")
        check(cs["audio_buffers_decoded"] == 0 and cs["frames_decoded"] == 0,
              f"silent: nothing reaches the citizen (audio {cs['audio_buffers_decoded']}, "
              f"video {cs['frames_decoded']})")
        sent_to_citizen = [float(x) for x in re.findall(
            r'^vigil_media_packets_out_total{[^}]*leg="citizen"[^}]*kind="audio"} (\S+)$',
            https(v.port, "/metrics")[2].decode(), re.M)]
        check(sent_to_citizen == [0.0], f"silent: the gateway sent the citizen's leg no audio "
                                        f"packet at all ({sent_to_citizen})")
    if mode == "video":
        pause_and_resume(ann, cid, cit, con, sides)
        # A peer reports on our sender reports at its own RTCP interval (webrtcbin:
        # ~5 s, randomised, the first often before our first report reached it), so
        # on a slow machine the second leg's round trip can come some seconds later.
        def rtts():
            return [float(x) for x in re.findall(r"^vigil_media_rtt_seconds{[^}]*} (\S+)$",
                                                  https(v.port, "/metrics")[2].decode(), re.M)]
        t0 = time.monotonic()
        got = rtts()
        while len(got) < 2 and time.monotonic() - t0 < 15:
            pump_until(sides, lambda: False, 0.5)
            got = rtts()
        check(len(got) == 2 and all(0 <= r < 0.1 for r in got),
              f"RTT measured on both legs from receiver reports: {got} s, "
              f"{time.monotonic() - t0:.1f} s after resuming")
    ann.request("end", case_id=cid, disposition="test")
    for p in (cit.peer, con.peer):
        p.close()
    cit.client.close()


v, ann = start_vigild()
try:
    run_case(v, ann, "video")
    run_case(v, ann, "silent")
    check(v.proc.poll() is None, "vigild still running")
finally:
    rc, _ = v.stop()
    check(rc == 0, f"vigild exits 0 ({rc})")
    if rc:
        print(v.stderr()[-3000:])
finish("bridge")
