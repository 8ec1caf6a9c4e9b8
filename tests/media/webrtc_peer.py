#!/usr/bin/python3
"""A real WebRTC peer on GStreamer webrtcbin, for Vigil's media tests.

Run with /usr/bin/python3 (the only interpreter with the GStreamer bindings),
inside tests/netns-run (a namespace with only loopback).

    peer = Peer("pub", recv=False)              # sends VP8 + Opus test media
    offer = peer.create_offer()                 # SDP text, with a=ssrc lines
    peer.set_remote_answer(answer)
    peer.add_remote_candidate("candidate:...")  # "" (end-of-candidates) is accepted
    line = peer.next_candidate(1.0)             # trickle: "candidate:...", "" at the end
    peer.stats()                                # frames_sent, frames_decoded, ...
    offer2 = peer.restart_ice()                 # renegotiation with new ICE credentials
    peer.close()

Each Peer runs its own GLib main loop thread: the bus watch, and every signalling
action on webrtcbin is emitted from there. Methods are safe to call from the test
thread; they wait for webrtcbin's promise replies with a timeout.

Video: videotestsrc (moving ball + time overlay) -> VP8 (or VP9, H264) at 500 kb/s,
keyframe every 60 frames; audio: a 440 Hz sine -> Opus. Received RTP is decoded
(rtpvp8depay ! vp8dec, rtpopusdepay ! opusdec, decodebin for others) into fakesinks
whose pads count decoded frames and audio buffers/samples.

As a command (JSON lines on stdin/stdout, for tests not written in Python):
    python3 webrtc_peer.py --role publisher|subscriber
    {"op":"offer"}                  -> {"op":"offer","sdp":...}     our offer
    {"op":"offer","sdp":...}        -> {"op":"answer","sdp":...}    our answer to it
    {"op":"answer","sdp":...}       -> {"op":"answer","ok":true}    the remote answer
    {"op":"candidate","line":...}   -> {"op":"candidate","ok":true} ("" = end)
    {"op":"restart-ice"}            -> {"op":"restart-ice","sdp":...}
    {"op":"stats"}                  -> {"op":"stats","stats":{...}}
    {"op":"close"}                  -> {"op":"close","ok":true}, then exit
    local candidates are written as {"candidate": "candidate:..."} ("" = gathering done);
    failures as {"op":..., "error": "..."}; an "id" in a request is echoed back.
"""
import argparse
import concurrent.futures
import ctypes
import json
import queue
import random
import re
import secrets
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstAudio", "1.0")
gi.require_version("GstRtp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstAudio, GstRtp, GstSdp, GstWebRTC, Nice  # noqa: E402

Gst.init(None)

# Encoder chains per codec: (elements from encoder to payloader, encoding-name, payload type).
# The encoder is named venc so frames_sent can count its output.
VIDEO_ENCODERS = {
    "VP8": ("vp8enc name=venc deadline=1 keyframe-max-dist=60 target-bitrate={bitrate} "
            "cpu-used=8 threads=1 ! rtpvp8pay pt=96 ssrc={ssrc} picture-id-mode=15-bit mtu=1200",
            "VP8", 96),
    "VP9": ("vp9enc name=venc deadline=1 keyframe-max-dist=60 target-bitrate={bitrate} "
            "cpu-used=8 threads=1 ! rtpvp9pay pt=98 ssrc={ssrc} picture-id-mode=15-bit mtu=1200",
            "VP9", 98),
    "H264": ("openh264enc name=venc bitrate={bitrate} gop-size=60 complexity=low ! h264parse "
             "! rtph264pay pt=102 ssrc={ssrc} config-interval=-1 aggregate-mode=zero-latency "
             "mtu=1200", "H264", 102),
}
# Extra caps fields for a recvonly offer (a sender's come from its payloader: fixing
# profile-level-id there fails negotiation, as openh264enc's level depends on the size).
VIDEO_CAPS_EXTRA = {"H264": ",packetization-mode=(string)1,profile-level-id=(string)42e01f"}

# Receive chains by RTP encoding-name; anything else goes to decodebin.
# request-keyframe makes the depayloader ask for a keyframe (PLI) after loss, so a late
# joiner does not wait a whole keyframe interval.
DECODERS = {
    "VP8": "rtpvp8depay request-keyframe=true wait-for-keyframe=true ! vp8dec",
    "VP9": "rtpvp9depay request-keyframe=true wait-for-keyframe=true ! vp9dec",
    "H264": "rtph264depay request-keyframe=true wait-for-keyframe=true ! h264parse "
            "! openh264dec",
    "OPUS": "rtpopusdepay ! opusdec",
}

_ICE_CONNECTED = ("connected", "completed")


def _nick(value):
    """A GEnum value as its short name ("connected"), for stats and messages."""
    return value.value_nick if value is not None else None


def _keep_ice_agent_alive(ice):
    """Restores the reference webrtcbin's 'ice-agent' getter fails to give (GStreamer 1.22).

    The getter hands its own reference to the caller, so the Python wrapper owns the
    only one: dropping the wrapper frees the agent under webrtcbin (later a crash), and
    keeping it frees it twice at teardown (GLib-CRITICALs). One extra ref balances it.
    The getter must therefore be called exactly once per webrtcbin.
    """
    if ice.__grefcount__ != 1:
        return  # a GStreamer where the getter is fixed
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    gobject = ctypes.CDLL("libgobject-2.0.so.0")
    gobject.g_object_ref.restype, gobject.g_object_ref.argtypes = ctypes.c_void_p, [
        ctypes.c_void_p]
    gobject.g_object_ref(get(ice.__gpointer__, None))


def _ice_credentials(sdp):
    """The first (ufrag, pwd) in an SDP text, or (None, None)."""
    u = re.search(r"^a=ice-ufrag:(\S+)", sdp, re.M)
    p = re.search(r"^a=ice-pwd:(\S+)", sdp, re.M)
    return (u.group(1) if u else None, p.group(1) if p else None)


def _replace_ice_credentials(sdp, ufrag, pwd):
    sdp = re.sub(r"^a=ice-ufrag:\S+", "a=ice-ufrag:" + ufrag, sdp, flags=re.M)
    return re.sub(r"^a=ice-pwd:\S+", "a=ice-pwd:" + pwd, sdp, flags=re.M)


def _open(method):
    """For signalling methods: a closed peer raises a clear error, not an AttributeError."""
    def wrapper(self, *args, **kwargs):
        if self._closed:
            raise RuntimeError(f"{self.name}: peer is closed")
        return method(self, *args, **kwargs)
    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    return wrapper


def _session_description(kind, text):
    res, msg = GstSdp.SDPMessage.new_from_text(text)
    if res != GstSdp.SDPResult.OK:
        raise ValueError(f"unparsable SDP ({res}):\n{text}")
    return GstWebRTC.WebRTCSessionDescription.new(kind, msg)


class Peer:
    """One webrtcbin peer sending test media and/or decoding what it receives."""

    def __init__(self, name, send_video=True, send_audio=True, recv=True, video_codec="VP8",
                 width=320, height=240, fps=30, ssrc_video=None, ssrc_audio=None,
                 video_bitrate=500000, latency_ms=200, local_addresses=("127.0.0.1",),
                 nack=False):
        if video_codec not in VIDEO_ENCODERS:
            raise ValueError(f"video_codec must be one of {sorted(VIDEO_ENCODERS)}")
        self.name = name
        self.nack = nack  # NACK and RTX on every transceiver (webrtcbin's do-nack)
        self.send_video, self.send_audio, self.recv = send_video, send_audio, recv
        self.video_codec = video_codec
        self.ssrc_video = ssrc_video or random.randint(1, 2**32 - 1)
        self.ssrc_audio = ssrc_audio or random.randint(1, 2**32 - 1)
        self._lock = threading.Lock()
        self._counts = dict(frames_sent=0, frames_decoded=0, audio_buffers_decoded=0,
                            audio_samples_decoded=0)
        self._rx = {m: dict(pads=0, ssrcs=[], last_seq=None, seq_breaks=0, max_seq_step=0,
                            packets=0) for m in ("audio", "video")}
        self._times = dict(offer=None, ice_connected=None, connected=None, first_frame=None,
                           first_audio=None, restart=None, restart_connected=None)
        self.ice_restarts = 0
        self._states = {}
        self.history = []                  # (monotonic time, property, value) for diagnostics
        self.errors = []
        self._candidates = queue.Queue()   # local lines for the test; "" = gathering done
        self._local_lines = []             # every local candidate, re-trickled on restart
        self.gathering_complete = False
        self._remote_ready = False         # a remote description is set: candidates apply
        self._pending_remote = []          # remote candidates held until then
        self._restart_pending = False
        self._remote_ufrag = None
        self.local_sdp = self.remote_sdp = None
        self._closed = False
        self._build(width, height, fps, video_bitrate, latency_ms)
        self._setup_ice(local_addresses)
        self._ctx = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._ctx, False)
        self._thread = threading.Thread(target=self._run, name=f"webrtc-peer-{name}",
                                        daemon=True)
        self._thread.start()
        try:
            self._call(self._start)
        except BaseException:
            self.close()
            raise

    # ---- construction -------------------------------------------------------------

    def _build(self, width, height, fps, bitrate, latency_ms):
        parts = [f"webrtcbin name=webrtc bundle-policy=max-bundle latency={latency_ms}"]
        if self.send_video:
            parts.append(self._video_branch(width, height, fps, bitrate))
        if self.send_audio:
            parts.append(self._audio_branch())
        # A pipeline holding a bin: parse_launch of webrtcbin alone would return no pipeline.
        # Decode branches go into that bin too: pads link only within one parent.
        self.pipe = Gst.Pipeline.new(f"peer-{self.name}")
        self._bin = Gst.parse_bin_from_description("  ".join(parts), False)
        self.pipe.add(self._bin)
        self.webrtc = self.pipe.get_by_name("webrtc")
        if not self.recv:
            # Send-only transceivers, so the offer says a=sendonly as a publisher's would.
            for i in range(len(parts) - 1):
                t = self.webrtc.emit("get-transceiver", i)
                t.set_property("direction",
                               GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        w = self.webrtc
        w.connect("on-ice-candidate", self._on_ice_candidate)
        w.connect("pad-added", self._on_pad_added)
        for prop in ("ice-connection-state", "connection-state", "ice-gathering-state",
                     "signaling-state"):
            w.connect("notify::" + prop, self._on_state)
        if self.send_video:
            venc = self.pipe.get_by_name("venc").get_static_pad("src")
            venc.add_probe(Gst.PadProbeType.BUFFER, self._count_sent)

    def _video_branch(self, width, height, fps, bitrate):
        enc, encoding, pt = VIDEO_ENCODERS[self.video_codec]
        enc = enc.format(bitrate=bitrate, ssrc=self.ssrc_video)
        # The ssrc in the caps too: webrtcbin writes a=ssrc only for SSRCs in its sink caps.
        caps = (f"application/x-rtp,media=video,encoding-name={encoding},payload={pt},"
                f"clock-rate=90000,ssrc=(uint){self.ssrc_video}")
        return (f"videotestsrc is-live=true pattern=ball ! "
                f"video/x-raw,width={width},height={height},framerate={fps}/1 ! "
                f"timeoverlay ! videoconvert ! queue max-size-buffers=2 ! {enc} ! "
                f"capsfilter caps=\"{caps}\" ! webrtc.")

    def _audio_branch(self):
        caps = (f"application/x-rtp,media=audio,encoding-name=OPUS,payload=111,"
                f"clock-rate=48000,ssrc=(uint){self.ssrc_audio}")
        return (f"audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample"
                f" ! queue max-size-buffers=4 ! opusenc ! rtpopuspay pt=111 "
                f"ssrc={self.ssrc_audio} ! capsfilter caps=\"{caps}\" ! webrtc.")

    def _setup_ice(self, local_addresses):
        # Keep our own references: see _keep_ice_agent_alive.
        self._ice = self.webrtc.get_property("ice-agent")
        _keep_ice_agent_alive(self._ice)
        self._ice.set_property("ice-tcp", False)  # UDP candidates only, as on a browser
        self._agent = self._ice.get_property("agent")
        self._agent.set_property("upnp", False)   # else gupnp-igd sends SSDP multicast
        # libnice skips loopback interfaces; an explicit address is used instead (and
        # then only the explicit ones), which is what a lo-only namespace needs.
        for text in local_addresses:
            addr = Nice.Address.new()
            if not addr.set_from_string(text):
                raise ValueError(f"bad local address {text}")
            self._agent.add_local_address(addr)

    # ---- the loop thread --------------------------------------------------------------

    def _run(self):
        self._ctx.push_thread_default()
        try:
            self._loop.run()
        finally:
            self._ctx.pop_thread_default()

    def _call(self, fn, *args, timeout=10):
        """Runs fn on the loop thread and returns its result (or raises its exception)."""
        if not self._thread.is_alive():
            raise RuntimeError(f"{self.name}: peer is closed")
        fut = concurrent.futures.Future()

        def run(*_):
            try:
                fut.set_result(fn(*args))
            except BaseException as e:  # noqa: B902 -- handed to the caller
                fut.set_exception(e)
            return GLib.SOURCE_REMOVE
        self._ctx.invoke_full(GLib.PRIORITY_DEFAULT, run)
        return fut.result(timeout)

    def _start(self):
        # add_signal_watch attaches to the thread-default context: ours, on this thread.
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        self._bus_handler = bus.connect("message", self._on_bus)
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError(f"{self.name}: pipeline would not start")

    def _stop_bus(self):
        bus = self.pipe.get_bus()
        bus.disconnect(self._bus_handler)
        bus.remove_signal_watch()

    def _on_bus(self, _bus, msg):
        if msg.type in (Gst.MessageType.ERROR, Gst.MessageType.WARNING):
            err, debug = (msg.parse_error() if msg.type == Gst.MessageType.ERROR
                          else msg.parse_warning())
            text = f"{msg.type.first_value_nick} from {msg.src.get_name()}: {err.message}"
            self.errors.append(text)
            print(f"[{self.name}] {text} ({debug})", file=sys.stderr, flush=True)
        return True

    # ---- webrtcbin callbacks (GStreamer threads: keep them short, never block) --------

    def _on_state(self, webrtc, pspec):
        value = _nick(webrtc.get_property(pspec.name))
        now = time.monotonic()
        with self._lock:
            self._states[pspec.name] = value
            self.history.append((now, pspec.name, value))
            if pspec.name == "ice-connection-state" and value in _ICE_CONNECTED:
                self._times["ice_connected"] = self._times["ice_connected"] or now
                if self._times["restart"]:
                    self._times["restart_connected"] = self._times["restart_connected"] or now
            if pspec.name == "connection-state" and value == "connected":
                self._times["connected"] = self._times["connected"] or now
        if pspec.name == "ice-gathering-state" and value == "complete":
            self.gathering_complete = True
            self._candidates.put("")

    def _on_ice_candidate(self, _webrtc, _mline, line):
        with self._lock:
            self._local_lines.append(line)
        self._candidates.put(line)

    def _count_sent(self, _pad, _info):
        with self._lock:
            self._counts["frames_sent"] += 1
        return Gst.PadProbeReturn.OK

    def _on_pad_added(self, _webrtc, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return  # our own request sink pads are announced too
        s = (pad.get_current_caps() or pad.query_caps(None)).get_structure(0)
        media = s.get_string("media")
        with self._lock:
            self._rx[media]["pads"] += 1
        pad.add_probe(Gst.PadProbeType.BUFFER, self._rtp_seen, media)
        encoding = (s.get_string("encoding-name") or "").upper()
        chain = DECODERS.get(encoding)
        if chain is None:
            self._add_decodebin(pad, media)
            return
        self._add_branch(pad, f"queue ! {chain} ! fakesink name=sink sync=false async=false",
                         media)

    def _add_branch(self, pad, desc, media):
        """Adds a decode bin to the running pipeline, linked to pad, counting its output."""
        branch = Gst.parse_bin_from_description(desc, True)
        self._bin.add(branch)
        branch.sync_state_with_parent()
        self._link(pad, branch.get_static_pad("sink"))
        sink = branch.get_by_name("sink").get_static_pad("sink")
        sink.add_probe(Gst.PadProbeType.BUFFER, self._count_decoded, media)

    def _add_decodebin(self, pad, media):
        """For codecs without a known chain: decodebin, with a fakesink per decoded pad."""
        dec = Gst.ElementFactory.make("decodebin")

        def decoded(_dec, dpad):
            sink = Gst.ElementFactory.make("fakesink")
            sink.set_property("sync", False)
            sink.set_property("async", False)
            self._bin.add(sink)
            sink.sync_state_with_parent()
            self._link(dpad, sink.get_static_pad("sink"))
            sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER,
                                                  self._count_decoded, media)
        dec.connect("pad-added", decoded)
        self._bin.add(dec)
        dec.sync_state_with_parent()
        self._link(pad, dec.get_static_pad("sink"))

    def _link(self, src, sink):
        ret = src.link(sink)
        if ret != Gst.PadLinkReturn.OK:
            text = f"cannot link {src.get_name()} to the decoder: {ret.value_nick}"
            self.errors.append(text)
            print(f"[{self.name}] {text}", file=sys.stderr, flush=True)

    def _rtp_seen(self, _pad, info, media):
        """Follows the received RTP stream: SSRCs seen and sequence-number breaks, to
        prove a stream continues when its source changes at the gateway."""
        ok, rtp = GstRtp.RTPBuffer.map(info.get_buffer(), Gst.MapFlags.READ)
        if not ok:
            return Gst.PadProbeReturn.OK
        ssrc, seq = rtp.get_ssrc(), rtp.get_seq()
        rtp.unmap()
        with self._lock:
            rx = self._rx[media]
            if ssrc not in rx["ssrcs"]:
                rx["ssrcs"].append(ssrc)
            if rx["last_seq"] is not None:
                step = (seq - rx["last_seq"]) & 0xFFFF
                if step != 1:
                    rx["seq_breaks"] += 1
                    rx["max_seq_step"] = max(rx["max_seq_step"], step if step < 0x8000
                                             else step - 0x10000)
            rx["last_seq"] = seq
            rx["packets"] += 1
        return Gst.PadProbeReturn.OK

    def _count_decoded(self, pad, info, media):
        now = time.monotonic()
        with self._lock:
            if media == "video":
                self._counts["frames_decoded"] += 1
                self._times["first_frame"] = self._times["first_frame"] or now
            else:
                self._counts["audio_buffers_decoded"] += 1
                self._counts["audio_samples_decoded"] += self._samples(pad, info)
                self._times["first_audio"] = self._times["first_audio"] or now
        return Gst.PadProbeReturn.OK

    @staticmethod
    def _samples(pad, info):
        caps = pad.get_current_caps()
        audio = GstAudio.AudioInfo.new_from_caps(caps) if caps else None
        return info.get_buffer().get_size() // audio.bpf if audio and audio.bpf else 0

    # ---- signalling (called from the test thread) -------------------------------------

    def _promise(self, signal, arg, timeout, key=None):
        """Emits a webrtcbin action taking a promise; returns the SDP text under key.

        The reply belongs to the promise: it is read before the promise is dropped
        (reading it afterwards crashed).
        """
        done = threading.Event()
        promise = Gst.Promise.new_with_change_func(lambda *_: done.set())
        self._call(self.webrtc.emit, signal, arg, promise)
        if not done.wait(timeout):
            promise.interrupt()
            raise TimeoutError(f"{self.name}: {signal} got no reply in {timeout}s; "
                               f"states {self._states}")
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            raise RuntimeError(f"{self.name}: {signal}: {reply.get_value('error')}")
        if key is None:
            return None
        if reply is None or not reply.has_field(key):
            raise RuntimeError(f"{self.name}: {signal} gave no {key}: {reply}")
        return reply.get_value(key).sdp.as_text()

    def _wait_send_caps(self, timeout):
        """Waits until every sink pad of webrtcbin has caps, so a=ssrc lines are written."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pads = [p for p in self.webrtc.sinkpads]
            if all(p.get_current_caps() is not None for p in pads):
                return
            time.sleep(0.01)
        raise TimeoutError(f"{self.name}: payloader caps not set within {timeout}s")

    def _ensure_recv_transceivers(self):
        """A receiver that offers needs recvonly transceivers for what it expects."""
        kinds = {_nick(t.get_property("kind")) for t in self._transceivers()}
        _, encoding, pt = VIDEO_ENCODERS[self.video_codec]
        wanted = {"video": f"application/x-rtp,media=video,encoding-name={encoding},"
                           f"payload={pt},clock-rate=90000,rtcp-fb-nack-pli=(boolean)true,"
                           f"rtcp-fb-ccm-fir=(boolean)true"
                           f"{VIDEO_CAPS_EXTRA.get(self.video_codec, '')}",
                  "audio": "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,"
                           "clock-rate=48000,encoding-params=(string)2"}
        recvonly = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        for kind, caps in wanted.items():
            if kind not in kinds:
                self.webrtc.emit("add-transceiver", recvonly, Gst.Caps.from_string(caps))

    def _apply_nack(self):
        # do-nack makes webrtcbin negotiate RTX and run its retransmission machinery:
        # the receiver sends NACKs, the sender answers them from its RTX buffer.
        if self.nack:
            for t in self._transceivers():
                t.set_property("do-nack", True)

    def _transceivers(self):
        # "get-transceivers" returns a GArray, which PyGObject cannot read; index instead.
        out = []
        while (t := self.webrtc.emit("get-transceiver", len(out))) is not None:
            out.append(t)
        return out

    @_open
    def create_offer(self, timeout=10):
        """Creates and sets our offer; returns its SDP text."""
        if self.send_video or self.send_audio:
            self._wait_send_caps(timeout)
        if self.recv:
            self._call(self._ensure_recv_transceivers)
        self._call(self._apply_nack)
        with self._lock:
            self._times["offer"] = self._times["offer"] or time.monotonic()
        offer = self._promise("create-offer", None, timeout, "offer")
        return self._set_local(offer, GstWebRTC.WebRTCSDPType.OFFER, timeout)

    def _set_local(self, text, kind, timeout):
        desc = _session_description(kind, text)
        self._promise("set-local-description", desc, timeout)
        self.local_sdp = text
        return text

    def _set_remote(self, text, kind, timeout):
        desc = _session_description(kind, text)
        self._promise("set-remote-description", desc, timeout)
        self.remote_sdp = text
        self._remote_ufrag = _ice_credentials(text)[0]

    @_open
    def set_remote_answer(self, sdp, timeout=10):
        self._set_remote(sdp, GstWebRTC.WebRTCSDPType.ANSWER, timeout)
        self._remote_applied()
        if self._restart_pending:
            self._restart_pending = False
            self._retrickle()

    @_open
    def set_remote_offer(self, sdp, timeout=10):
        """Applies a remote offer and returns our answer's SDP text (already set)."""
        with self._lock:
            self._times["offer"] = self._times["offer"] or time.monotonic()
        ufrag = _ice_credentials(sdp)[0]
        restart = self._remote_ufrag is not None and ufrag != self._remote_ufrag
        if restart:
            self._begin_restart()  # before the new credentials are set: see restart_ice
        self._set_remote(sdp, GstWebRTC.WebRTCSDPType.OFFER, timeout)
        self._call(self._apply_nack)  # the offer made the transceivers: set them now
        text = self._promise("create-answer", None, timeout, "answer")
        if restart:
            # The answerer to an ICE restart must change its credentials too (RFC 8839).
            text = _replace_ice_credentials(text, secrets.token_hex(8), secrets.token_hex(16))
        self._set_local(text, GstWebRTC.WebRTCSDPType.ANSWER, timeout)
        self._remote_applied()
        if restart:
            self._retrickle()
        return text

    @_open
    def restart_ice(self, timeout=10):
        """Starts an ICE restart: returns a new offer with new ICE credentials.

        webrtcbin 1.22 has no ice-restart offer option, so this does what it would:
        restart the libnice agent (fresh checks; media keeps flowing on the old pair
        meanwhile), then put fresh credentials in the offer; set-local-description
        hands them to libnice. Remote candidates are held until the answer is set, and
        ours are trickled again then (the answerer has the new credentials by then).
        """
        self._restart_pending = True
        self._begin_restart()
        offer = self._promise("create-offer", None, timeout, "offer")
        text = _replace_ice_credentials(offer, secrets.token_hex(8),
                                        secrets.token_hex(16))
        return self._set_local(text, GstWebRTC.WebRTCSDPType.OFFER, timeout)

    def _begin_restart(self):
        """Restarts libnice (new checks; all streams) and holds remote candidates until
        the new remote credentials are set: checks made with the old ones would fail."""
        with self._lock:
            self._remote_ready = False
            self.ice_restarts += 1
            self._times["restart"] = time.monotonic()
            self._times["restart_connected"] = None
        self._call(self._agent.restart)

    def _retrickle(self):
        """After a restart the far side dropped our candidates: send them again."""
        with self._lock:
            lines = list(self._local_lines)
        for line in lines:
            self._candidates.put(line)
        self._candidates.put("")

    def _remote_applied(self):
        with self._lock:
            self._remote_ready = True
            pending, self._pending_remote = self._pending_remote, []
        for mline, line in pending:
            self._call(self._add_candidate, mline, line)

    @_open
    def add_remote_candidate(self, line, mline=0):
        """Adds a remote "candidate:..." line (with BUNDLE mline 0 does); "" = end."""
        with self._lock:
            if not self._remote_ready:
                self._pending_remote.append((mline, line))
                return
        self._call(self._add_candidate, mline, line)

    def _add_candidate(self, mline, line):
        if not line:
            return  # webrtcbin 1.22 has no end-of-candidates; libnice does not need it
        if line.startswith("a="):
            line = line[2:]
        self.webrtc.emit("add-ice-candidate", mline, line)

    # ---- local candidates -------------------------------------------------------------

    def next_candidate(self, timeout=None):
        """The next local candidate line, "" when gathering is done, None on timeout."""
        try:
            return self._candidates.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_local_candidates(self, timeout=5):
        """Waits for gathering to complete (or timeout); returns the lines not yet taken."""
        deadline = time.monotonic() + timeout
        while not self.gathering_complete and time.monotonic() < deadline:
            time.sleep(0.01)
        lines = []
        while True:
            try:
                line = self._candidates.get_nowait()
            except queue.Empty:
                return lines
            if line:
                lines.append(line)

    # ---- observation ------------------------------------------------------------------

    def stats(self):
        """Counters, states and times.

        *_time are time.monotonic(); *_ms count from the first offer made or received,
        except restart_connected_ms: from the last ICE restart to ICE connected again.
        """
        with self._lock:
            out = dict(self._counts)
            out.update({k.replace("-", "_"): v for k, v in self._states.items()})
            times = dict(self._times)
        out.setdefault("ice_connection_state", "new")
        out.setdefault("connection_state", "new")
        out["offer_time"] = times["offer"]
        out["first_frame_time"] = times["first_frame"]
        out["ice_connected_time"] = times["ice_connected"]
        for key in ("ice_connected", "connected", "first_frame", "first_audio"):
            t0, t = times["offer"], times[key]
            out[key + "_ms"] = round((t - t0) * 1000) if t0 and t else None
        t0, t = times["restart"], times["restart_connected"]
        out["ice_restarts"] = self.ice_restarts
        out["restart_connected_ms"] = round((t - t0) * 1000) if t0 and t else None
        out["errors"] = list(self.errors)
        with self._lock:
            for m, rx in self._rx.items():
                for k in ("pads", "seq_breaks", "max_seq_step", "packets"):
                    out[f"rx_{k}_{m}"] = rx[k]
                out[f"rx_ssrcs_{m}"] = list(rx["ssrcs"])
        return out

    def ice_connected(self):
        with self._lock:
            return self._states.get("ice-connection-state") in _ICE_CONNECTED

    def nice_local_credentials(self, stream_id=1):
        """(ufrag, pwd) libnice is using for a stream, to check the SDP's are in force."""
        ok, ufrag, pwd = self._agent.get_local_credentials(stream_id)
        return (ufrag, pwd) if ok else (None, None)

    # ---- teardown ---------------------------------------------------------------------

    def close(self, timeout=5):
        """Stops the pipeline, the loop and its thread; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        # From this thread, not the loop's: streaming threads are joined on the way to
        # NULL, and none of them waits for the loop, so nothing can deadlock here.
        self.pipe.set_state(Gst.State.NULL)
        try:
            self._call(self._stop_bus, timeout=timeout)
        finally:
            self._loop.quit()
            self._thread.join(timeout)
        # Drop every GStreamer object we hold so webrtcbin finalizes and its libnice
        # thread ends: the handlers we connected point back at self, a cycle through
        # C that Python's collector cannot break.
        self.webrtc = self.pipe = self._bin = None
        self._agent = self._ice = None


# ---- command-line driver ----------------------------------------------------------------

def _serve(peer, out):
    """Handles JSON-line requests from stdin until close or EOF."""
    for raw in sys.stdin:
        if not raw.strip():
            continue
        msg = {}
        try:
            msg = json.loads(raw)
            reply = _handle(peer, msg)
        except Exception as e:  # noqa: BLE001 -- reported to the driver, loop goes on
            msg = msg if isinstance(msg, dict) else {}
            reply = {"op": msg.get("op"), "error": f"{type(e).__name__}: {e}"}
        if "id" in msg:
            reply["id"] = msg["id"]
        out(reply)
        if msg.get("op") == "close":
            return


def _handle(peer, msg):
    op = msg.get("op")
    if op == "offer" and msg.get("sdp"):
        return {"op": "answer", "sdp": peer.set_remote_offer(msg["sdp"])}
    if op == "offer":
        return {"op": "offer", "sdp": peer.create_offer()}
    if op == "answer":
        peer.set_remote_answer(msg["sdp"])
        return {"op": "answer", "ok": True}
    if op == "candidate":
        peer.add_remote_candidate(msg.get("line") or "", msg.get("mline", 0))
        return {"op": "candidate", "ok": True}
    if op == "restart-ice":
        return {"op": "restart-ice", "sdp": peer.restart_ice()}
    if op == "stats":
        return {"op": "stats", "stats": peer.stats()}
    if op == "close":
        peer.close()
        return {"op": "close", "ok": True}
    raise ValueError(f"unknown op {op!r}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=("publisher", "subscriber"), required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--codec", default="VP8", choices=sorted(VIDEO_ENCODERS))
    args = ap.parse_args(argv)
    pub = args.role == "publisher"
    peer = Peer(args.name or args.role, send_video=pub, send_audio=pub, recv=not pub,
                video_codec=args.codec)
    lock = threading.Lock()

    def out(obj):
        with lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            line = peer.next_candidate(0.2)
            if line is not None:
                out({"candidate": line})
    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        _serve(peer, out)
    finally:
        stop.set()
        t.join(2)
        peer.close()


if __name__ == "__main__":
    main()
