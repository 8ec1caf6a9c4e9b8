"""Starts the real vigild and talks to it over real TLS, for integration tests.

Every test runs inside tests/netns-run (a network namespace with only loopback),
so ports are free and nothing leaves the machine. The harness pins the server's
certificate: the SHA-256 vigild prints at start must be the one served.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import weakref

VIGILD = os.environ.get("VIGILD", "vigild")
VIGILCTL = os.environ.get("VIGILCTL", "vigilctl")
SOURCE_ROOT = os.environ.get("VIGIL_SOURCE_ROOT", ".")

_failures = []
_passed = []

# Every temporary file of one test (data dirs, logs, exports, and its children's:
# TMPDIR) goes under one directory, removed by finish() when every check passed; a
# failed test's stays to be read. Left in /tmp, runs had piled up 1.5 GB there.
TMP_ROOT = tempfile.mkdtemp(prefix="vigil-test-")
tempfile.tempdir = TMP_ROOT
os.environ["TMPDIR"] = TMP_ROOT


def check(cond, what):
    """Records one assertion; a test file exits non-zero if any failed."""
    if cond:
        _passed.append(what)
        print(f"ok   {what}", flush=True)
    else:
        _failures.append(what)
        print(f"FAIL {what}", flush=True)


def finish(name):
    print(f"{name}: {len(_passed)} checks, {len(_failures)} failed")
    if _failures:
        print(f"{name}: its files are kept in {TMP_ROOT}")
    else:
        shutil.rmtree(TMP_ROOT, ignore_errors=True)
    raise SystemExit(1 if _failures else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Vigild:
    """One vigild process with its own data dir (a temp dir unless given)."""

    def __init__(self, data_dir=None, port=None, args=(), config=None, env=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="vigil-it-")
        self.port = port or free_port()
        self.out_path = os.path.join(self.data_dir, "..", f"vigild-{self.port}.out")
        self.err_path = os.path.join(self.data_dir, "..", f"vigild-{self.port}.err")
        cmd = [VIGILD, "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}"]
        if config:
            cmd += ["--config", config]
        self.cmd = cmd + list(args)
        self.env = env  # None: this process's
        self.proc = None

    def start(self, wait=True):
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self.out, stderr=self.err, env=self.env)
        if wait:
            self.wait_listening()
        return self

    def wait_listening(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vigild exited {self.proc.returncode}: {self.stderr()}")
            if "listening on" in self.stdout():
                try:
                    socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("vigild did not start listening")

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def fingerprint(self):
        for line in self.stdout().splitlines():
            if "TLS certificate SHA-256" in line:
                return line.split()[-1]
        return None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits; returns (exit code, seconds taken)."""
        if self.proc.poll() is not None:
            return self.proc.returncode, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.out.close()
        self.err.close()
        return rc, time.monotonic() - t0

    def run_to_exit(self, timeout=20):
        """For start-up failures: runs vigild and returns (code, stdout, stderr)."""
        p = subprocess.run(self.cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr


def tls_context():
    # The certificate is self-signed; tests pin it by fingerprint instead.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_connect(port, timeout=5):
    raw = socket.create_connection(("127.0.0.1", port), timeout)
    return tls_context().wrap_socket(raw, server_hostname="localhost")


def cert_fingerprint(der):
    d = hashlib.sha256(der).hexdigest().upper()
    return ":".join(d[i:i + 2] for i in range(0, len(d), 2))


def _read_http_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "-1"))
    body = bytearray(body)  # appends in place: a large download stays linear
    while length >= 0 and len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, bytes(body)


def https(port, path, method="GET", body=b"", headers=None, timeout=5):
    """One request over a fresh TLS connection: (status, headers, body, peer cert DER)."""
    with tls_connect(port, timeout) as s:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        req = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body
        s.sendall(req)
        status, headers, data = _read_http_response(s)
        return status, headers, data, s.getpeercert(binary_form=True)


class WebSocket:
    """A minimal RFC 6455 client over TLS: enough to drive vigild's protocol.

    Like a browser it answers vigild's PINGs even while the test is not reading it (a
    keeper thread reads idle connections every second; vigild closes one that stays
    silent: [signaling] dead_after_s). A test that wants a connection to go silent,
    as a console whose machine lost power, sets keep_alive = False. Frames the keeper
    reads wait in the order they came for the test's next read."""

    _open = weakref.WeakSet()
    _keeper = None

    def __init__(self, port, path="/ws", protocol="vigil.v1"):
        self.sock = tls_connect(port)
        key = base64.b64encode(os.urandom(16)).decode()
        proto = f"Sec-WebSocket-Protocol: {protocol}\r\n" if protocol else ""
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{proto}\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                break
            head += chunk
        self.status = int(head.split()[1]) if head.split() else 0
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.accepted = self.status == 101 and want.encode() in head
        self.buf = b""
        self.frames = []  # (opcode, payload) the keeper read, not yet taken
        self.pings = 0
        self.keep_alive = True
        self.lock = threading.Lock()  # one thread on the TLS socket at a time
        WebSocket._open.add(self)
        WebSocket._start_keeper()

    @classmethod
    def _start_keeper(cls):
        if cls._keeper is None:
            cls._keeper = threading.Thread(target=cls._keep, daemon=True, name="ws-keeper")
            cls._keeper.start()

    @classmethod
    def _keep(cls):
        while True:
            time.sleep(1)
            for ws in list(cls._open):
                if ws.keep_alive and ws.lock.acquire(blocking=False):
                    try:
                        ws._read_idle()
                    except (OSError, ValueError, ConnectionError):
                        cls._open.discard(ws)
                    finally:
                        ws.lock.release()

    def _read_idle(self):
        """What has arrived, without waiting: PINGs answered, the rest kept."""
        if self.sock.fileno() < 0:
            raise ConnectionError("closed")
        while True:
            f = self._frame(0.001)
            if f is None:
                return
            if f[0] == 0x9:
                self.pings += 1
                self._send(0xA, f[1])
            else:
                self.frames.append(f)

    def _parse(self):
        """One whole frame off the front of buf, or None: a frame is taken whole or not
        at all, so a timeout never leaves half of one behind."""
        if len(self.buf) < 2:
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            if len(self.buf) < 4:
                return None
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            if len(self.buf) < 10:
                return None
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        if len(self.buf) < at + n:
            return None
        payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
        return b0 & 0x0F, payload

    def _frame(self, timeout):
        """The next whole frame within timeout, or None."""
        deadline = time.monotonic() + timeout
        while True:
            f = self._parse()
            if f is not None:
                return f
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError, ssl.SSLWantReadError):
                return None
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def send_text(self, text):
        self.send_frame(0x1, text.encode() if isinstance(text, str) else text)

    def _send(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(hdr + mask + masked)

    def send_frame(self, opcode, payload, fin=True):
        with self.lock:
            self._send(opcode, payload, fin)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def recv_frame(self, timeout=5):
        """The next frame (PINGs included, unanswered); socket.timeout if none comes."""
        with self.lock:
            if self.frames:
                return self.frames.pop(0)
            f = self._frame(timeout)
        if f is None:
            raise socket.timeout("no frame")
        return f

    def recv_json(self, timeout=5):
        """The next text message. A PING met on the way is answered, as browsers do."""
        deadline = time.monotonic() + timeout
        while True:
            op, payload = self.recv_frame(max(0.001, deadline - time.monotonic()))
            if op == 0x1:
                return json.loads(payload)
            if op == 0x9:
                self.pings += 1
                self.send_frame(0xA, payload)
            if op == 0x8:
                raise ConnectionError("closed by server")

    def close(self):
        WebSocket._open.discard(self)
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class Client(WebSocket):
    """A protocol client: requests with ids, and the events that arrive between."""

    def __init__(self, port, name="client"):
        super().__init__(port)
        self.name = name
        self.events = []
        self.next_id = 0

    def request(self, type_, timeout=5, **fields):
        """Sends a request and returns its reply (or error) by id."""
        self.next_id += 1
        rid = f"{self.name}-{self.next_id}"
        self.send_json({"type": type_, "id": rid, **fields})
        return self.wait(lambda m: m.get("id") == rid, timeout, f"reply to {type_}")

    def wait(self, pred, timeout=5, what="message"):
        """Returns the first event (seen or new) matching pred, removing it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.events):
                if pred(m):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {what} within {timeout}s; "
                                   f"have {[e.get('type') for e in self.events]}")
            try:
                self.events.append(self.recv_json(timeout=left))
            except (socket.timeout, TimeoutError):
                pass

    def wait_type(self, type_, timeout=5, **match):
        return self.wait(lambda m: m.get("type") == type_ and
                         all(m.get(k) == v for k, v in match.items()), timeout, type_)

    def drain(self, wait=0.2):
        """Collects whatever arrives within `wait` seconds."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                self.events.append(self.recv_json(timeout=max(0.01, deadline - time.monotonic())))
            except (socket.timeout, TimeoutError):
                break
        return self.events


def add_account(data_dir, name, role):
    """Creates a staff account with vigilctl; returns its password."""
    p = subprocess.run([VIGILCTL, "--data-dir", data_dir, "account", "add", name, "--role", role],
                       capture_output=True, text=True, check=True)
    return p.stdout.split("password: ")[-1].strip()


def staff(port, name, password):
    c = Client(port, name)
    r = c.request("login", name=name, password=password)
    if r.get("type") != "login":
        raise RuntimeError(f"login {name}: {r}")
    c.token = r["token"]
    c.login_reply = r
    return c
