"""Citizens' uploads over HTTPS (docs/protocol.md, "Uploads"), against the real
vigild: chunks, resume after a dropped connection and after a restart, types
from the bytes, limits, tokens, the staff download and its role checks, and the
WebSocket events. Test media is made here, at run time."""
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (Client, Vigild, add_account, check, finish, https,  # noqa: E402
                           staff, tls_connect)

CHUNK = 262144
MAX_PHOTO = 3 * 1024 * 1024
TILES = "https://tiles.example.test/{z}/{x}/{y}.png"


# Test media --------------------------------------------------------------------------

def png(width, height, seed=1):
    """A real PNG of noise (so it does not compress): width x height RGB."""
    rnd = hashlib.sha256(str(seed).encode()).digest()
    rows, state = [], rnd
    for _ in range(height):
        line = b""
        while len(line) < width * 3:
            state = hashlib.sha256(state).digest()
            line += state
        rows.append(b"\x00" + line[:width * 3])
    raw = zlib.compress(b"".join(rows), 1)

    def chunk(kind, data):
        return (struct.pack("!I", len(data)) + kind + data +
                struct.pack("!I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def gst(pipeline, out):
    """Encodes with GStreamer; returns the bytes or None if an element is missing."""
    try:
        subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split() + ["!", "filesink",
                       f"location={out}"], check=True, capture_output=True, timeout=60)
        with open(out, "rb") as f:
            return f.read()
    except (OSError, subprocess.SubprocessError):
        return None


def make_media(tmp):
    m = {}
    m["jpeg"] = gst("videotestsrc num-buffers=1 pattern=snow ! video/x-raw,width=1280,height=960 "
                    "! jpegenc quality=98", os.path.join(tmp, "a.jpg"))
    if not m["jpeg"]:  # a JFIF head and noise: the server reads only the head
        m["jpeg"] = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" +
                     os.urandom(900000) + b"\xff\xd9")
    m["webm"] = gst("videotestsrc num-buffers=15 pattern=ball ! video/x-raw,width=320,height=240 "
                    "! vp8enc ! webmmux", os.path.join(tmp, "v.webm"))
    m["mp4"] = gst("videotestsrc num-buffers=15 ! video/x-raw,width=320,height=240 ! openh264enc "
                   "! h264parse ! mp4mux", os.path.join(tmp, "v.mp4"))
    m["mov"] = gst("videotestsrc num-buffers=15 ! video/x-raw,width=320,height=240 ! jpegenc "
                   "! qtmux", os.path.join(tmp, "v.mov"))
    fallback = {"webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04"
                        b"\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02",
                "mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1",
                "mov": b"\x00\x00\x00\x14ftypqt  \x20\x05\x03\x00qt  "}
    for k, head in fallback.items():
        if not m[k]:
            m[k] = head + os.urandom(50000)
    for k, v in m.items():
        print(f"media {k}: {len(v)} bytes, sha256 {hashlib.sha256(v).hexdigest()[:16]}…")
    return m


# The API --------------------------------------------------------------------------------

def api(v, method, path, token=None, body=b"", ctype="application/octet-stream"):
    headers = {"Content-Type": ctype}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    status, hdrs, data, _ = https(v.port, path, method, body, headers)
    try:
        j = json.loads(data) if hdrs.get("content-type", "").startswith("application/json") else None
    except ValueError:
        j = None
    return status, hdrs, data, j


def create(v, token, case_id, name, size):
    """(status, json) of POST /api/uploads."""
    st, _, _, j = api(v, "POST", "/api/uploads", token,
               json.dumps({"case_id": case_id, "name": name, "size": size}).encode(),
               "application/json")
    return st, j


def chunk(v, token, uid, offset, data):
    status, _, _, j = api(v, "POST", f"/api/uploads/{uid}?offset={offset}", token, data)
    return status, j


def upload_all(v, token, case_id, name, data, chunk_size=CHUNK):
    """Creates and sends every chunk; returns (create status, last status, last json, id)."""
    st, j = create(v, token, case_id, name, len(data))
    if st != 201:
        return st, None, j, None
    uid, off = j["upload_id"], 0
    while off < len(data):
        st2, j2 = chunk(v, token, uid, off, data[off:off + chunk_size])
        if st2 != 200:
            return st, st2, j2, uid
        off = j2["offset"]
    return st, st2, j2, uid


def partial_chunk(v, token, uid, offset, data, send):
    """Starts a chunk, sends only `send` bytes of it, and drops the connection."""
    s = tls_connect(v.port)
    s.sendall((f"POST /api/uploads/{uid}?offset={offset} HTTP/1.1\r\nHost: localhost\r\n"
               f"Authorization: Bearer {token}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
              + data[:send])
    time.sleep(0.2)
    s.close()


# The tests ---------------------------------------------------------------------------------

def test_photo_in_chunks(v, cit, tok, cid, ann, bob, sue, media):
    data = media["jpeg"]
    t0 = time.monotonic()
    st, j = create(v, tok, cid, "IMG_0001.jpg", len(data))
    check(st == 201 and j["offset"] == 0 and j["chunk_max"] == CHUNK and
          j["upload_id"].startswith("u-"), f"create answered 201 {j}")
    uid, off, chunks = j["upload_id"], 0, 0
    while off < len(data):
        st, j = chunk(v, tok, uid, off, data[off:off + CHUNK])
        chunks += 1
        if st != 200:
            print(f"chunk {chunks} at {off}: {st} {j}")
            break
        off = j["offset"]
        if not j["complete"]:
            check(off == chunks * CHUNK, f"chunk {chunks}: offset {off}")
    secs = time.monotonic() - t0
    want = hashlib.sha256(data).hexdigest()
    check(st == 200 and j.get("complete") is True and j.get("type") == "image/jpeg",
          f"{len(data)} bytes in {chunks} chunks complete as image/jpeg in {secs*1000:.0f} ms "
          f"({len(data) / secs / 1e6:.1f} MB/s)")
    check(j.get("sha256") == want, f"server sha256 {j.get('sha256')} == {want}")
    path = os.path.join(EVDIR, cid, "uploads", f"{uid}.jpg")
    with open(path, "rb") as f:
        on_disk = f.read()
    check(hashlib.sha256(on_disk).hexdigest() == want, f"file on disk {path} hashes the same")
    check(os.stat(path).st_mode & 0o222 == 0, f"completed file is read-only "
          f"({oct(os.stat(path).st_mode & 0o777)})")
    check(not os.listdir(os.path.join(v.data_dir, "uploads-partial")),
          "no partial file left behind")
    ev = cit.wait_type("upload_received", 3)
    check(ev["upload_id"] == uid and ev["sha256"] == want and ev["content_type"] == "image/jpeg" and
          ev["size"] == len(data) and ev["name"] == "IMG_0001.jpg" and ev["case_id"] == cid,
          f"citizen told upload_received {ev['upload_id']}")
    for who in (ann, sue):
        e = who.wait_type("upload", 3)
        u = e["upload"]
        check(e["case_id"] == cid and u["upload_id"] == uid and u["sha256"] == want and
              u["type"] == "image/jpeg" and u["size"] == len(data) and u["name"] == "IMG_0001.jpg"
              and isinstance(u["at"], int), f"{who.name} got the upload event")
    bob.drain(0.3)
    check(not [e for e in bob.events if e.get("type") == "upload"],
          "another call-taker gets no upload event")
    st, _, _, j = api(v, "GET", f"/api/uploads/{uid}", tok)
    check(st == 200 and j["complete"] and j["offset"] == len(data) and j["sha256"] == want and
          j["type"] == "image/jpeg" and j["name"] == "IMG_0001.jpg", f"GET status: {j}")
    return uid, data


def test_download(v, cid, uid, data, tokens):
    want = hashlib.sha256(data).hexdigest()
    for who in ("ann", "sue"):
        t0 = time.monotonic()
        st, h, body, _ = api(v, "GET", f"/api/cases/{cid}/uploads/{uid}", tokens[who])
        ms = (time.monotonic() - t0) * 1000
        check(st == 200 and hashlib.sha256(body).hexdigest() == want and
              h.get("content-type", "").startswith("image/jpeg"),
              f"{who} downloads it: {st}, {len(body)} bytes in {ms:.0f} ms, {h.get('content-type')}")
        check(h.get("cache-control") == "no-store" and h.get("x-content-type-options") == "nosniff",
              f"download not cached, not sniffed ({h.get('cache-control')})")
    st, _, _, j = api(v, "GET", f"/api/cases/{cid}/uploads/{uid}", tokens["bob"])
    check(st == 403 and j and j["error"] == "forbidden", f"another call-taker refused: {st} {j}")
    st, _, _, j = api(v, "GET", f"/api/cases/{cid}/uploads/{uid}")
    check(st == 401, f"no token: {st}")
    st, _, _, j = api(v, "GET", f"/api/cases/{cid}/uploads/{uid}", "f" * 64)
    check(st == 401, f"unknown token: {st}")
    st, _, _, j = api(v, "GET", f"/api/cases/{cid}/uploads/u-0000000000000000", tokens["sue"])
    check(st == 404, f"no such upload: {st}")
    check("tried to download upload" in v.stderr(), "the refusal is logged")


def test_specialist_download(v, cid, uid, data, tokens, ann, spec):
    url = f"/api/cases/{cid}/uploads/{uid}"
    st, _, _, _ = api(v, "GET", url, tokens["spec"])
    check(st == 403, f"a specialist not on the case is refused: {st}")
    r = ann.request("invite", case_id=cid, account="spec")
    check(r.get("type") == "invite_sent", f"ann invites the specialist: {r.get('type')}")
    inv = spec.wait_type("invited", 3)
    r = spec.request("invite_accept", invite_id=inv["invite_id"])
    st, h, body, _ = api(v, "GET", url, tokens["spec"])
    check(st == 200 and body == data, f"once on the case the specialist downloads it: {st}")


def test_resume_after_drop(v, tok, cid):
    data = png(640, 400, seed=2)
    st, j = create(v, tok, cid, "resume.png", len(data))
    uid = j["upload_id"]
    st, j = chunk(v, tok, uid, 0, data[:CHUNK])
    check(st == 200 and j["offset"] == CHUNK, "first chunk in")
    partial_chunk(v, tok, uid, CHUNK, data[CHUNK:2 * CHUNK], send=100000)
    time.sleep(0.2)
    st, _, _, j = api(v, "GET", f"/api/uploads/{uid}", tok)
    check(st == 200 and j["offset"] == CHUNK and not j["complete"],
          f"after a drop mid-chunk (100000 of {CHUNK} bytes sent) the server reports {j['offset']}")
    st, j2 = chunk(v, tok, uid, 2 * CHUNK, data[2 * CHUNK:3 * CHUNK])
    check(st == 409 and j2["error"] == "offset" and j2["offset"] == CHUNK,
          f"a chunk at the wrong offset: 409 {j2}")
    off = j["offset"]
    while off < len(data):
        st, j = chunk(v, tok, uid, off, data[off:off + CHUNK])
        off = j["offset"]
    check(st == 200 and j["complete"] and j["sha256"] == hashlib.sha256(data).hexdigest() and
          j["type"] == "image/png", f"resumed from {CHUNK} to the end: sha256 {j['sha256'][:16]}…")


def test_types(v, tok, cid, media):
    data = png(64, 64, seed=3)
    st, st2, j, _ = upload_all(v, tok, cid, "holiday.jpg", data)
    check(st == 201 and st2 == 200 and j["type"] == "image/png",
          f"a PNG named .jpg is stored as {j.get('type')}")
    for name, body in (("notes.txt", b"Just some text, not a picture at all.\n" * 40),
                       ("setup.jpg", b"MZ\x90\x00\x03\x00\x00\x00" + os.urandom(3000))):
        st, st2, j, uid = upload_all(v, tok, cid, name, body)
        check(st == 201 and st2 == 415 and j["error"] == "type",
              f"{name} ({body[:2]!r}…) refused: {st2} {j.get('error')}")
        st, _, _, _ = api(v, "GET", f"/api/uploads/{uid}", tok)
        check(st == 410, f"the refused upload is gone: {st}")
    # A type decided only after a few tiny chunks.
    st, j = create(v, tok, cid, "slow.webm", len(media["webm"]))
    uid, off = j["upload_id"], 0
    for n in (1, 2, 3, 5):
        st, j = chunk(v, tok, uid, off, media["webm"][off:off + n])
        if st != 200:
            print(f"tiny chunk of {n} at {off}: {st} {j}")
            break
        off = j["offset"]
    st, _, _, j = api(v, "GET", f"/api/uploads/{uid}", tok)
    check("type" not in j, f"after {off} bytes the type is not yet known")
    while off < len(media["webm"]):
        st, j = chunk(v, tok, uid, off, media["webm"][off:off + CHUNK])
        if st != 200:
            print(f"chunk at {off}: {st} {j}")
            break
        off = j["offset"]
    check(j.get("type") == "video/webm", f"WebM in tiny first chunks typed {j.get('type')}")


def test_sizes_and_tokens(v, tok, cid, other_tok):
    st, j = create(v, tok, cid, "huge.mp4", 200 * 1024 * 1024)
    check(st == 413 and j["error"] == "too_large", f"200 MiB announced: {st} {j}")
    big_png = png(16, 16, seed=4)
    big = big_png + os.urandom(MAX_PHOTO + 1 - len(big_png))
    st, st2, j, _ = upload_all(v, tok, cid, "big.png", big)
    check(st == 201 and st2 == 413 and j["error"] == "too_large",
          f"a photo over max_photo_bytes ({len(big)} > {MAX_PHOTO}): {st2} {j}")
    data = png(32, 32, seed=5)
    st, j = create(v, tok, cid, "chunky.png", len(data) + CHUNK)
    uid = j["upload_id"]
    st, j = chunk(v, tok, uid, 0, b"\x00" * (CHUNK + 1))
    check(st == 413 and j["error"] == "too_large", f"a chunk over chunk_max: {st} {j}")
    st, j = create(v, tok, cid, "short.png", 1000)
    st, j = chunk(v, tok, j["upload_id"], 0, png(32, 32, seed=6)[:1000] + b"x" * 500)
    check(st == 413 and j["error"] == "too_large", f"more bytes than announced: {st} {j}")
    for label, t in (("missing", None), ("wrong", "0" * 64), ("other case's", other_tok)):
        st, j = create(v, t, cid, "x.png", 100)
        check(st == 401 and j["error"] == "unauthorized", f"{label} token on create: {st}")
    st, j = create(v, tok, cid, "x.png", 100)
    st, _, _, j = api(v, "POST", f"/api/uploads/{j['upload_id']}?offset=0", "0" * 64, b"x" * 100)
    check(st == 401, f"wrong token on a chunk: {st}")
    st, _, _, j = api(v, "POST", "/api/uploads", tok, b"{not json", "application/json")
    check(st == 400 and j["error"] == "bad_request", f"bad create body: {st} {j}")


def test_limits(v, tok, cid, photos_so_far, media):
    n = photos_so_far
    while n < 9:
        st, st2, j, _ = upload_all(v, tok, cid, f"p{n}.png", png(24, 24, seed=100 + n))
        n += st2 == 200 and j.get("complete", False)
    check(n == 9, f"{n} photos on the case")
    st, st2, j, _ = upload_all(v, tok, cid, "p10.png", png(24, 24, seed=200))
    check(st == 201 and st2 == 409 and j["error"] == "limit",
          f"the 10th photo refused at its first chunk: {st2} {j}")
    kinds = {"webm": "video/webm", "mp4": "video/mp4", "mov": "video/quicktime"}
    videos = 1  # the WebM above
    for k in ("mp4", "mov"):
        st, st2, j, _ = upload_all(v, tok, cid, f"clip.{k}", media[k])
        check(st2 == 200 and j["type"] == kinds[k], f"{k} ({len(media[k])} bytes) typed {j.get('type')}")
        videos += 1
    st, j = create(v, tok, cid, "one-more.mov", 1000)
    check(st == 409 and j["error"] == "limit", f"9 photos and {videos} videos: create refused {st}")


def test_stalled_client(v, tok, cid):
    st, j = create(v, tok, cid, "stall.png", 5000)
    uid = j["upload_id"]
    s = tls_connect(v.port, timeout=10)
    s.sendall((f"POST /api/uploads/{uid}?offset=0 HTTP/1.1\r\nHost: localhost\r\n"
               f"Authorization: Bearer {tok}\r\nContent-Length: 5000\r\n\r\n").encode() + b"\x89PNG")
    t0 = time.monotonic()
    ws = Client(v.port, "bystander")
    r = ws.request("hello")
    check(r.get("type") == "hello", "a WebSocket is served while an upload stalls")
    s.settimeout(15)
    try:
        gone = s.recv(100) == b""
    except socket.timeout:
        gone = False
    except OSError:
        gone = True
    secs = time.monotonic() - t0
    check(gone and 1.5 <= secs <= 6, f"the stalled chunk is cut after {secs:.1f} s (timeout 2 s)")
    s.close()
    ws.close()
    # Logged when vigild closes the exchange, which can come after we saw the close.
    deadline = time.monotonic() + 5
    while "did not arrive whole" not in v.stderr() and time.monotonic() < deadline:
        time.sleep(0.1)
    check("did not arrive whole" in v.stderr(), "and logged")
    st, _, _, j = api(v, "GET", f"/api/uploads/{uid}", tok)
    check(st == 200 and j["offset"] == 0, f"the upload stays at {j['offset']}")


def test_restart_mid_upload(v, tok, cid):
    data = png(700, 500, seed=7)
    st, j = create(v, tok, cid, "restart.png", len(data))
    uid = j["upload_id"]
    for i in range(2):
        st, j = chunk(v, tok, uid, i * CHUNK, data[i * CHUNK:(i + 1) * CHUNK])
    partial_chunk(v, tok, uid, 2 * CHUNK, data[2 * CHUNK:3 * CHUNK], send=50000)
    v.proc.send_signal(signal.SIGKILL)
    v.proc.wait()
    t0 = time.monotonic()
    v2 = Vigild(data_dir=v.data_dir, port=v.port, config=v.config_path)
    v2.config_path = v.config_path
    v2.start()
    print(f"vigild restarted in {(time.monotonic() - t0) * 1000:.0f} ms")
    st, _, _, j = api(v2, "GET", f"/api/uploads/{uid}", tok)
    check(st == 200 and j["offset"] == 2 * CHUNK,
          f"after SIGKILL mid-chunk the server reports offset {j['offset']} (2 chunks)")
    off = j["offset"]
    while off < len(data):
        st, j = chunk(v2, tok, uid, off, data[off:off + CHUNK])
        off = j["offset"]
    want = hashlib.sha256(data).hexdigest()
    check(st == 200 and j["complete"] and j["sha256"] == want,
          f"resumed after the restart: {len(data)} bytes, sha256 {j['sha256'][:16]}… matches")
    check("hash rebuilt over the 524288 bytes" in v2.stderr(), "the hash was rebuilt from disk")
    return test_interrupted_completion(v2, tok, cid)


def test_interrupted_completion(v, tok, cid):
    """Every byte recorded but the completion lost (a crash between the last chunk's
    record and the move, or between the move and the record): finished at start."""
    import sqlite3
    a, b, c = png(300, 300, seed=8), png(310, 300, seed=9), png(320, 300, seed=10)
    ids = []
    for data in (a, b, c):
        st, j = create(v, tok, cid, "interrupted.png", len(data))
        ids.append(j["upload_id"])
        st, j = chunk(v, tok, j["upload_id"], 0, data[:CHUNK])
        check(st == 200 and j["offset"] == CHUNK, "first chunk of an upload to interrupt")
    rc, _ = v.stop()
    part = os.path.join(v.data_dir, "uploads-partial")
    with open(os.path.join(part, f"{ids[0]}.part"), "wb") as f:
        f.write(a)  # the last chunk was written; the crash came before the move
    final_dir = os.path.join(EVDIR, cid, "uploads")
    os.makedirs(final_dir, exist_ok=True)
    os.remove(os.path.join(part, f"{ids[1]}.part"))
    with open(os.path.join(final_dir, f"{ids[1]}.png"), "wb") as f:
        f.write(b)  # moved into the evidence; the crash came before the record
    # The third was moved too, its hash recorded before the move; while vigild was down
    # someone put another file in its place.
    os.remove(os.path.join(part, f"{ids[2]}.part"))
    with open(os.path.join(final_dir, f"{ids[2]}.png"), "wb") as f:
        f.write(a)
    db = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"))
    for uid, data in zip(ids, (a, b, c)):
        db.execute("UPDATE uploads SET received = size WHERE id = ?", (uid,))
    db.execute("UPDATE uploads SET sha256 = ? WHERE id = ?", (hashlib.sha256(c).hexdigest(), ids[2]))
    db.commit()
    db.close()
    v3 = Vigild(data_dir=v.data_dir, port=v.port, config=v.config_path)
    v3.config_path = v.config_path
    v3.start()
    for uid, data, how in zip(ids, (a, b), ("before the move", "after the move")):
        st, _, _, j = api(v3, "GET", f"/api/uploads/{uid}", tok)
        check(st == 200 and j["complete"] and j["sha256"] == hashlib.sha256(data).hexdigest(),
              f"a completion interrupted {how} is finished at start: {j.get('sha256', '')[:16]}…")
    check("completing after an interruption" in v3.stderr() and "(recovered)" in v3.stderr(),
          "both recoveries logged")
    st, _, _, j = api(v3, "GET", f"/api/uploads/{ids[2]}", tok)
    check(st == 410 and "not the one received" in v3.stderr() and
          "dropped (altered)" in v3.stderr() and
          os.path.exists(os.path.join(final_dir, f"{ids[2]}.png")),
          f"a file swapped after the move is not taken as the citizen's: dropped as altered "
          f"({st}), logged, the file left for a person")
    return v3


EVDIR = None  # [evidence] dir, set by main()


def verify_resealed(v, cid, uid, evdir):
    """An upload that lands after the case's recording closed is in its evidence: the
    manifest is signed again over every file, and the reseal is audited."""
    verify = os.path.join(os.environ["VIGIL_BUILD_ROOT"], "vigil-verify")
    case_dir = os.path.join(evdir, cid)
    out = ""
    for _ in range(50):  # the writer thread reseals it
        p = subprocess.run([verify, case_dir, "--key", os.path.join(v.data_dir,
                                                                    "evidence-key.pub")],
                           capture_output=True, text=True)
        out = (p.stdout + p.stderr).strip()
        listed = json.load(open(os.path.join(case_dir, "manifest.json"))) \
            if os.path.exists(os.path.join(case_dir, "manifest.json")) else {}
        names = [f["path"] for f in listed.get("files", [])]
        # The seal's audit entry follows the signed manifest: wait for both.
        audit = open(os.path.join(evdir, "audit.log")).read()
        if p.returncode == 0 and any(uid in n for n in names) and uid in audit:
            break
        time.sleep(0.1)
    check(p.returncode == 0 and any(uid in n for n in names),
          f"the late upload is in a resealed manifest that verifies: {out[-200:]}")
    check('"action":"reseal"' in audit and uid in audit, "the reseal is in the audit log")


def test_export_audited(v, ann, cid):
    """With [evidence] dir set, the key is not two levels above a case: vigil-export
    must not take the recordings for a copy and export unaudited. Without --data-dir
    it refuses and writes nothing; with it, the export is in that dir's audit log,
    whose chain vigild goes on with."""
    export = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                          "vigil-export")
    case_dir = os.path.join(EVDIR, cid)
    r = ann.request("end", case_id=cid, disposition="advice")
    check(r.get("type") == "ended", f"ann ends the report case: {r}")
    for _ in range(100):
        if os.path.exists(os.path.join(case_dir, "manifest.json.sig")):
            break
        time.sleep(0.1)
    audit_path = os.path.join(EVDIR, "audit.log")
    before = open(audit_path).read()
    out = os.path.join(tempfile.mkdtemp(prefix="vigil-export-"), "report.mkv")
    p = subprocess.run([export, case_dir, "-o", out, "--actor", "sue"], capture_output=True,
                       text=True)
    print(p.stderr.strip()[-400:])
    check(p.returncode != 0 and "--data-dir" in p.stderr and not os.path.exists(out)
          and open(audit_path).read() == before,
          "from a recordings dir of its own, without --data-dir: refused, nothing written")
    p = subprocess.run([export, case_dir, "-o", out, "--actor", "sue", "--data-dir",
                        v.data_dir], capture_output=True, text=True)
    print(p.stdout.strip()[-400:], p.stderr.strip()[-400:])
    entries = [json.loads(l.split("\t")[0]) for l in open(audit_path).read().splitlines()]
    exported = [e for e in entries if e["action"] == "export" and e["case_id"] == cid
                and e["actor"] == "sue"]
    check(len(exported) == 1, f"with --data-dir the export is audited in {audit_path}")
    meta = json.load(open(os.path.splitext(out)[0] + ".export.json")) \
        if p.returncode == 0 else {"subtitles": []}
    check(p.returncode == 0 and os.path.getsize(out) > 0 and meta["subtitles"],
          f"and a report case (photos, no media: black video under its events, no audio "
          f"track) exports, not waiting forever for media: rc {p.returncode}, "
          f"{len(meta['subtitles'])} subtitles")
    shutil.rmtree(os.path.dirname(out), ignore_errors=True)
    p = subprocess.run([os.environ["VIGILCTL"], "--data-dir", v.data_dir, "--evidence-dir",
                        os.path.join(v.data_dir, "nowhere"), "evidence-audit", "export", cid,
                        "--actor", "sue"], capture_output=True, text=True)
    check(p.returncode == 1 and "no audit log there" in p.stderr,
          f"vigilctl refuses a recordings dir with no audit log: {p.stderr.strip()}")
    verify = os.path.join(os.environ["VIGIL_BUILD_ROOT"], "vigil-verify")
    p = subprocess.run([verify, "--audit", audit_path, "--key",
                        os.path.join(v.data_dir, "evidence-key.pub")],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"the audit log verifies: {p.stdout.strip()[-300:]}")


def test_completion_left_by_client(tmp, media):
    """Every byte arrived, the file was moved into the evidence, and the store refused
    the completion (a SQLite trigger stands in for a failing store); the citizen's
    page went away without asking again. The sweep completes it, not drops it as
    stale with its file in the evidence and no row that lists it."""
    import sqlite3
    conf = os.path.join(tmp, "sweep.conf")
    with open(conf, "w") as f:
        f.write("[uploads]\nstale_after_s = 10\n")
    v = Vigild(config=conf).start()
    try:
        r = Client(v.port, "c").request("alarm_start", mode="report", phone="+8613800000091")
        tok, cid = r["token"], r["case_id"]
        data = media["jpeg"]
        db = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"), timeout=10)
        db.execute("CREATE TRIGGER test_refuse BEFORE UPDATE OF state ON uploads"
                   " WHEN NEW.state = 'complete' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        db.commit()
        _, st, j, uid = upload_all(v, tok, cid, "left.jpg", data)
        check(st == 500, f"the store refuses the completion: {st} {j}")
        db.execute("DROP TRIGGER test_refuse")
        db.commit()
        t0, row = time.monotonic(), None
        while time.monotonic() - t0 < 40:
            row = db.execute("SELECT state, sha256, path FROM uploads WHERE id = ?",
                             (uid,)).fetchone()
            if row and row[0] != "open":
                break
            time.sleep(0.5)
        want = hashlib.sha256(data).hexdigest()
        check(row and row[0] == "complete" and row[1] == want,
              f"{time.monotonic() - t0:.0f} s later the sweep completed it (stale after 10 s), "
              f"not dropped it: {row}")
        path = os.path.join(v.data_dir, row[2]) if row and row[2] else ""
        check(path and hashlib.sha256(open(path, "rb").read()).hexdigest() == want,
              f"its file is the one received: {path}")
        db.close()
    finally:
        v.stop()


def test_open_limit_and_supersede(tmp):
    """A gateway with max_open = 2: the third concurrent upload waits (503); a
    newer request for a chunk supersedes one whose client went quiet."""
    conf = os.path.join(tmp, "small.conf")
    with open(conf, "w") as f:
        f.write("[uploads]\nmax_open = 2\nchunk_timeout_s = 20\nwindow_after_end_s = 2\n")
    v = Vigild(config=conf).start()
    try:
        cit = Client(v.port, "c")
        # A voice alarm with pictures: its citizen's hang-up ends it while it waits (a
        # report's would leave it queued for a call-taker).
        r = cit.request("alarm_start", mode="voice", phone="+8613800000090")
        tok, cid = r["token"], r["case_id"]
        a, b = png(400, 300, seed=10), png(20, 20, seed=11)
        st1, j1 = create(v, tok, cid, "a.png", len(a))
        st2, j2 = create(v, tok, cid, "b.png", len(b))
        st3, j3 = create(v, tok, cid, "c.png", 100)
        check(st1 == st2 == 201 and st3 == 503 and j3["error"] == "busy",
              f"max_open 2: third upload refused {st3} {j3}")
        check("the limit of 2: refusing a new one" in v.stderr(), "and logged")
        # A client that went quiet mid-chunk; its retry on a new connection wins.
        s = tls_connect(v.port, timeout=10)
        s.sendall((f"POST /api/uploads/{j1['upload_id']}?offset=0 HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {tok}\r\nContent-Length: {CHUNK}\r\n\r\n").encode()
                  + a[:1000])
        time.sleep(0.3)
        t0 = time.monotonic()
        st, j = chunk(v, tok, j1["upload_id"], 0, a[:CHUNK])
        check(st == 200 and j["offset"] == CHUNK,
              f"the retry supersedes the quiet chunk: {st} {j} in {(time.monotonic()-t0)*1000:.0f} ms")
        s.settimeout(5)
        try:
            cut = s.recv(100) == b""
        except socket.timeout:
            cut = False
        except OSError:
            cut = True
        check(cut, "the superseded connection is closed")
        s.close()
        st, st2, j, _ = upload_all(v, tok, cid, "b2.png", b)
        check(st == 503, f"still 2 open: {st}")
        off = CHUNK
        while off < len(a):
            st, j = chunk(v, tok, j1["upload_id"], off, a[off:off + CHUNK])
            off = j["offset"]
        st, j = create(v, tok, cid, "c.png", len(b))
        check(st == 201, f"one finished: a new upload is taken again ({st})")
        # After the case ends: uploads finish, and new ones start within the window only.
        cit.request("hangup")
        t_end = time.monotonic()
        st, j = chunk(v, tok, j2["upload_id"], 0, b)
        check(st == 200 and j["complete"], f"an upload begun before the end completes after it ({st})")
        # Inside the 2 s window: before verify_resealed, whose vigil-verify runs (and
        # the wait for the writer thread) can take longer than that on a busy machine.
        st, j = create(v, tok, cid, "after.png", len(b))
        check(st == 201, f"{time.monotonic() - t_end:.1f} s after the end (window 2 s): "
              f"a new upload starts ({st})")
        verify_resealed(v, cid, j2["upload_id"], os.path.join(v.data_dir, "evidence"))
        time.sleep(max(0.0, t_end + 2.5 - time.monotonic()))
        st, j = create(v, tok, cid, "late.png", len(b))
        check(st == 403 and j["error"] == "closed",
              f"{time.monotonic() - t_end:.1f} s after the end (window 2 s): {st} {j}")
    finally:
        v.stop()


def test_slow_disk():
    """A disk whose syncs of upload files take 2 s (an LD_PRELOAD shim): while a
    chunk is being synced, vigild keeps serving everyone else (a new alarm's
    reply does not wait for it); a client that drops or retries during the sync
    loses nothing, and is told where the upload stands."""
    shim = os.environ.get("VIGIL_SLOW_SYNC_SHIM")
    check(shim and os.path.exists(shim), f"the slow-sync shim is built: {shim}")
    saved = dict(os.environ)
    os.environ.update({"LD_PRELOAD": shim, "VG_TEST_SLOW_SYNC_MS": "2000",
                       "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                       ":verify_asan_link_order=0"})
    try:
        v = Vigild().start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        r = Client(v.port, "slow").request("alarm_start", mode="report", phone="+8613800000091")
        tok, cid = r["token"], r["case_id"]
        data = png(700, 500, seed=20)  # four chunks, three of them full
        st, j = create(v, tok, cid, "slow.png", len(data))
        uid = j["upload_id"]
        got = {}

        def send_first():
            got["t0"] = time.monotonic()
            got["first"] = chunk(v, tok, uid, 0, data[:CHUNK])
            got["t1"] = time.monotonic()
        t = threading.Thread(target=send_first)
        t.start()
        time.sleep(0.5)  # the chunk is in, its sync under way
        t0 = time.monotonic()
        r = Client(v.port, "other").request("alarm_start", mode="video", phone="+8613800000092")
        alarm_s = time.monotonic() - t0
        t.join(15)
        st, j = got["first"]
        chunk_s = got["t1"] - got["t0"]
        check(r.get("type") == "alarm_started" and alarm_s < 1.0 and chunk_s > 1.8,
              f"a new alarm during a 2 s sync of a chunk: answered in {alarm_s * 1000:.0f} ms "
              f"({r.get('type')}); the chunk in {chunk_s * 1000:.0f} ms")
        check(st == 200 and j["offset"] == CHUNK, f"and the chunk is in: {st} {j}")
        # The client goes while its chunk syncs: the chunk still counts.
        s = tls_connect(v.port)
        s.sendall((f"POST /api/uploads/{uid}?offset={CHUNK} HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {tok}\r\nContent-Length: {CHUNK}\r\n\r\n").encode()
                  + data[CHUNK:2 * CHUNK])
        time.sleep(0.5)
        s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st, _, _, j = api(v, "GET", f"/api/uploads/{uid}", tok)
            if j["offset"] == 2 * CHUNK:
                break
            time.sleep(0.2)
        check(j["offset"] == 2 * CHUNK,
              f"a chunk whose client went during its sync counts once on disk: {j['offset']}")
        check("it counts if the write succeeds" in v.stderr(), "and the log says so")
        # A retry during the sync (its answer seemed lost): it waits for the first,
        # then hears where the upload stands; nothing is written twice.
        s = tls_connect(v.port, timeout=10)
        s.sendall((f"POST /api/uploads/{uid}?offset={2 * CHUNK} HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {tok}\r\nContent-Length: {CHUNK}\r\n\r\n").encode()
                  + data[2 * CHUNK:3 * CHUNK])  # whole: its sync starts
        time.sleep(0.5)
        st, j = chunk(v, tok, uid, 2 * CHUNK, data[2 * CHUNK:3 * CHUNK])
        check(st == 409 and j["offset"] == 3 * CHUNK,
              f"a retry during the sync waits for it and is told the new offset: {st} {j}")
        s.close()
        off = j["offset"]
        while off < len(data):
            st, j = chunk(v, tok, uid, off, data[off:off + CHUNK])
            off = j["offset"]
        check(st == 200 and j["complete"] and j["sha256"] == hashlib.sha256(data).hexdigest(),
              f"the upload completes whole: sha256 {j.get('sha256', '')[:16]}")
    finally:
        rc, _ = v.stop(timeout=20)
        check(rc == 0, f"vigild exit code {rc} after SIGTERM")
        if rc != 0:
            print(v.stderr()[-4000:])


def main():
    global EVDIR
    tmp = tempfile.mkdtemp(prefix="vigil-up-")
    # Recordings (and so uploads) in a dir of their own, as a centre may set it.
    EVDIR = os.path.join(tmp, "recordings")
    media = make_media(tmp)
    conf = os.path.join(tmp, "vigil.conf")
    with open(conf, "w") as f:
        f.write(f"[uploads]\nchunk_timeout_s = 2\nmax_photo_bytes = {MAX_PHOTO}\n"
                f"[console]\ntile_url = {TILES}\n[queue]\nescalate_after_s = 600\n"
                f"[evidence]\ndir = {EVDIR}\n")
    v = Vigild(config=conf)
    v.config_path = conf
    v.start()
    try:
        pw = {n: add_account(v.data_dir, n, r) for n, r in
              (("ann", "call_taker"), ("bob", "call_taker"), ("sue", "supervisor"),
               ("spec", "specialist"))}
        tokens, clients = {}, {}
        for n in ("ann", "bob", "sue", "spec"):
            clients[n] = c = Client(v.port, n)
            r = c.request("login", name=n, password=pw[n])
            tokens[n] = r["token"]
            check(r.get("map") == {"tile_url": TILES}, f"{n}'s login carries the map: {r.get('map')}")
        ann, bob, sue = clients["ann"], clients["bob"], clients["sue"]
        cit = Client(v.port, "citizen")
        r = cit.request("alarm_start", mode="report", phone="+8613800000077",
                        location={"lat": 30.6, "lon": 114.3, "accuracy": 8})
        tok, cid = r["token"], r["case_id"]
        other = Client(v.port, "other").request("alarm_start", mode="report",
                                                 phone="+8613800000078")
        r = ann.request("claim", case_id=cid)
        check(r.get("type") == "claimed" and r.get("uploads") == [], "claimed carries uploads: []")
        for c in clients.values():
            c.drain(0.3)
            c.events.clear()
        test_open_limit_and_supersede(tmp)
        test_slow_disk()
        test_completion_left_by_client(tmp, media)
        uid, data = test_photo_in_chunks(v, cit, tok, cid, ann, bob, sue, media)
        test_download(v, cid, uid, data, tokens)
        test_specialist_download(v, cid, uid, data, tokens, ann, clients["spec"])
        test_resume_after_drop(v, tok, cid)
        test_types(v, tok, cid, media)
        test_sizes_and_tokens(v, tok, cid, other["token"])
        test_limits(v, tok, cid, 3, media)
        test_stalled_client(v, other["token"], other["case_id"])
        r = Client(v.port, "cit2").request("case_resume", token=tok)
        check(r.get("type") == "case_resumed" and len(r.get("uploads", [])) == 12,
              f"case_resumed lists the {len(r.get('uploads', []))} uploads")
        r = ann.request("case_get", case_id=cid)
        check(len(r.get("uploads", [])) == 12, "case_get too")
        check(v.proc.poll() is None, "vigild still running after all bad input")
        m = {}
        for line in https(v.port, "/metrics")[2].decode().splitlines():
            if line.startswith("vigil_upload"):
                k, _, val = line.partition(" ")
                m[k] = float(val)
        print(f"metrics: {m}")
        check(m.get("vigil_uploads_completed_total") == 12 and
              m.get("vigil_uploads_dropped_total", 0) >= 4 and
              m.get("vigil_upload_requests_refused_total", 0) >= 10 and
              m.get("vigil_upload_bytes_total", 0) > len(data), "upload metrics count")
        test_export_audited(v, ann, cid)
        # A second case for the restart (the first is full).
        c3 = Client(v.port, "cit3").request("alarm_start", mode="report", phone="+8613800000079")
        v = test_restart_mid_upload(v, c3["token"], c3["case_id"])
    finally:
        rc, secs = v.stop()
        check(rc == 0, f"vigild exit code {rc} after SIGTERM")
        if rc != 0:
            print(v.stderr()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    finish("uploads")


main()
