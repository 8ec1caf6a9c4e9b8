"""HTTPS and WSS on one port: /healthz, /metrics, static files, the WebSocket
envelope, and bad input refused with the connection kept."""
import json
import time
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (Vigild, WebSocket, cert_fingerprint, check, finish, https,  # noqa
                           tls_connect)


def test_tls_identity(v):
    status, _, _, der = https(v.port, "/healthz")
    fp = cert_fingerprint(der)
    check(fp == v.fingerprint(), f"served certificate is the one printed at start ({fp})")
    pem = os.path.join(v.data_dir, "tls", "cert.pem")
    text = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-text"],
                          capture_output=True, text=True).stdout
    check("prime256v1" in text or "P-256" in text, "certificate key is ECDSA P-256")
    der_file = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"],
                              capture_output=True).stdout
    check(der_file == der, "served certificate is DATA/tls/cert.pem")
    check(oct(os.stat(os.path.join(v.data_dir, "tls", "key.pem")).st_mode & 0o777) == "0o600",
          "generated key file is mode 0600")
    with tls_connect(v.port) as s:
        check(s.version() in ("TLSv1.2", "TLSv1.3"), f"TLS version {s.version()}")


def test_healthz(v):
    status, headers, body, _ = https(v.port, "/healthz")
    check(status == 200, f"/healthz status {status}")
    check(headers.get("content-type", "").startswith("application/json"), "healthz is JSON")
    h = json.loads(body)
    check(h.get("version") == "0.1.0", f"healthz version {h.get('version')}")
    check(isinstance(h.get("uptime_s"), int) and h["uptime_s"] >= 0, "healthz uptime_s")
    check(h.get("cases_active") == 0, "healthz cases_active is 0 on a new store")
    check(headers.get("cache-control") == "no-store", "healthz is not cached")


def metrics(v):
    status, headers, body, _ = https(v.port, "/metrics")
    check(status == 200, f"/metrics status {status}")
    check(headers.get("content-type", "").startswith("text/plain"), "metrics is text/plain")
    values = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def test_metrics(v):
    m1 = metrics(v)
    check(m1.get('vigil_build_info{version="0.1.0"}') == 1, "vigil_build_info with version")
    check(all(k.startswith("vigil_") for k in m1), "every metric is prefixed vigil_")
    check("vigil_cases_active" in m1 and m1["vigil_cases_active"] == 0, "cases_active gauge")
    m2 = metrics(v)
    check(m2["vigil_http_api_requests_total"] > m1["vigil_http_api_requests_total"],
          "request counter rises")


def test_static(v):
    status, _, body, _ = https(v.port, "/")
    with open(os.path.join(os.environ["VIGIL_SOURCE_ROOT"], "web", "index.html"), "rb") as f:
        check(status == 200 and body == f.read(), "GET / serves web/index.html")
    status, _, _, _ = https(v.port, "/no/such/file")
    check(status == 404, f"missing file is 404 (got {status})")
    status, _, _, _ = https(v.port, "/../../etc/passwd")
    check(status in (400, 403, 404), f"path traversal refused (got {status})")
    status, _, _, _ = https(v.port, "/healthz", method="POST", body=b"x")
    check(status in (400, 405), f"POST /healthz refused (got {status})")


def raw_get(port, target):
    """A GET with the request target exactly as given (no client-side normalising)."""
    with tls_connect(port) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                  .encode())
        from vigil_harness import _read_http_response
        return _read_http_response(s)


def test_static_types_and_escapes():
    """A web root with one file of each type a page needs, a secret beside it,
    and a symlink out: types, caching, the page policy, and no way out."""
    import shutil
    import tempfile
    base = tempfile.mkdtemp(prefix="vigil-web-")
    root = os.path.join(base, "web")
    os.makedirs(os.path.join(root, "app"))
    with open(os.path.join(base, "secret.txt"), "w") as f:
        f.write("SECRET-OUTSIDE-THE-ROOT\n")
    files = {"index.html": "text/html", "app/index.html": "text/html",
             "app/main.js": "text/javascript", "app/mod.mjs": "text/javascript",
             "app/s.css": "text/css", "app/i.svg": "image/svg+xml", "app/p.png": "image/png",
             "app/p.jpg": "image/jpeg", "app/p.webp": "image/webp", "app/f.woff2": "font/woff2",
             "app/d.json": "application/json", "favicon.ico": "image/x-icon"}
    for name in files:
        with open(os.path.join(root, name), "wb") as f:
            f.write(f"content of {name}\n".encode())
    with open(os.path.join(root, ".hidden"), "w") as f:
        f.write("dot file\n")
    os.symlink(os.path.join(base, "secret.txt"), os.path.join(root, "app", "link.txt"))
    conf = os.path.join(base, "vigil.conf")
    with open(conf, "w") as f:
        f.write("[console]\ntile_url = https://{s}.tiles.example.test/{z}/{x}/{y}.png\n")
    v = Vigild(args=["--web-root", root], config=conf).start()
    try:
        for name, want in files.items():
            status, h, body, _ = https(v.port, "/" + name)
            ct = h.get("content-type", "")
            check(status == 200 and ct.startswith(want) and body == f"content of {name}\n".encode()
                  and h.get("cache-control") == "no-cache" and
                  h.get("x-content-type-options") == "nosniff",
                  f"/{name}: {status} {ct}, {h.get('cache-control')}")
        status, h, body, _ = https(v.port, "/app/")
        check(status == 200 and body == b"content of app/index.html\n", "/app/ serves its index")
        csp = h.get("content-security-policy", "")
        print(f"page policy: {csp}")
        check("default-src 'self'" in csp and "img-src 'self' blob: data: https://*.tiles.example.test"
              in csp and "media-src 'self' blob: mediastream:" in csp and
              "connect-src 'self' wss://localhost" in csp and "object-src 'none'" in csp,
              "pages carry the strict policy with the tile host")
        status, h, _, _ = https(v.port, "/app/main.js")
        check("content-security-policy" not in h, "scripts carry no page policy")
        status, h, _ = raw_get(v.port, "/app")
        check(status == 301 and h.get("location", "").endswith("/app/"),
              f"/app redirects to /app/ ({status} {h.get('location')})")
        escapes = ["/../secret.txt", "/app/../../secret.txt", "/%2e%2e/secret.txt",
                   "/%2E%2E%2Fsecret.txt", "/app/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt",
                   "/%252e%252e/secret.txt", "/app/..%5c..%5csecret.txt", "/.hidden",
                   "/app/link.txt", "/app/%00.html", "/./index.html/..", "//secret.txt",
                   "/app/....//....//secret.txt"]
        for target in escapes:
            status, h, body = raw_get(v.port, target)
            # lws itself collapses "/./x/.." and cuts at a decoded NUL: those land on
            # a page inside the root, which is fine; nothing else may answer 200.
            inside = status == 200 and body.startswith(b"content of ")
            check(b"SECRET" not in body and b"dot file" not in body and
                  (status in (400, 403, 404) or inside),
                  f"GET {target}: {status}{' (a page inside the root)' if inside else ''}, "
                  "nothing outside the root")
        check(v.proc.poll() is None, "vigild still running after the escapes")
    finally:
        v.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_plain_http_refused(v):
    import socket
    s = socket.create_connection(("127.0.0.1", v.port), 5)
    s.settimeout(5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    check(b'"status":"ok"' not in data, "plain HTTP gets no answer from the API")


def test_websocket(v):
    ws = WebSocket(v.port)
    check(ws.accepted, f"WebSocket upgrade with vigil.v1 accepted ({ws.status})")
    ws.send_json({"type": "hello", "id": "h1"})
    r = ws.recv_json()
    check(r.get("type") == "hello" and r.get("id") == "h1" and r.get("protocol") == 1,
          f"hello answered: {r}")

    ws.send_text('{"type": "hello", "id": ')  # malformed JSON
    r = ws.recv_json()
    check(r.get("type") == "error" and r.get("code") == "malformed", f"malformed refused: {r}")
    ws.send_json({"type": 7, "id": "t7"})
    r = ws.recv_json()
    check(r.get("code") == "malformed" and r.get("id") == "t7", f"wrong type refused: {r}")
    ws.send_json({"type": "launch_rockets", "id": "u1"})
    r = ws.recv_json()
    check(r.get("code") == "unknown_type" and r.get("id") == "u1", f"unknown type: {r}")

    ws.send_text("x" * 70000)  # over the 65536 default limit
    r = ws.recv_json()
    check(r.get("code") == "too_large", f"oversize refused: {r}")
    # A message in fragments is reassembled.
    ws.send_frame(0x1, b'{"type":"hel', fin=False)
    ws.send_frame(0x0, b'lo","id":"frag"}', fin=True)
    r = ws.recv_json()
    check(r.get("id") == "frag" and r.get("type") == "hello", f"fragmented message: {r}")
    ws.send_json({"type": "hello", "id": "h2"})
    r = ws.recv_json()
    check(r.get("id") == "h2", "connection carries on after bad input")
    h = json.loads(https(v.port, "/healthz")[2])
    check(h.get("ws_connections") == 1, f"healthz counts the open connection: {h}")
    m = metrics(v)
    check(m.get("vigil_ws_messages_oversize_total") == 1, "oversize counted in metrics")
    ws.close()

    # One too large message after another counts against the rate like any message:
    # slowed, then cut (each had been answered at once, logged twice, for ever).
    flood = WebSocket(v.port)
    t0, cut = time.monotonic(), False
    try:
        for _ in range(400):
            flood.send_text("y" * 66000)
    except OSError:
        cut = True
    deadline = time.monotonic() + 15
    while not cut and time.monotonic() < deadline:
        try:
            flood.recv_json(timeout=1)
        except ConnectionError:
            cut = True
        except Exception:  # noqa: BLE001 (timeouts while slowed)
            pass
    check(cut, f"a flood of oversize messages is cut after {time.monotonic() - t0:.1f} s")
    flood.close()

    bare = WebSocket(v.port, protocol=None)
    check(not bare.accepted, f"WebSocket without the vigil.v1 subprotocol refused ({bare.status})")
    bare.sock.close()


def main():
    v = Vigild().start()
    try:
        test_tls_identity(v)
        test_healthz(v)
        test_metrics(v)
        test_static(v)
        test_plain_http_refused(v)
        test_websocket(v)
        check(v.proc.poll() is None, "vigild still running after all bad input")
    finally:
        rc, secs = v.stop()
        check(rc == 0, f"vigild exit code {rc} after SIGTERM")
        if rc != 0:
            print(v.stderr())
    test_static_types_and_escapes()
    finish("http")


main()
