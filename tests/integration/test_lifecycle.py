"""vigild's life: first start, restart, clean shutdown, reload, and every way
start-up can fail (each a one-line error naming what is wrong)."""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import (VIGILCTL, Vigild, WebSocket, cert_fingerprint, check,  # noqa
                           finish, free_port, https)


def one_line(text):
    return len(text.strip().splitlines()) == 1


def test_first_start_and_restart():
    v = Vigild().start()
    out = v.stdout()
    check("first start: created call-taker account \"calltaker\" with password" in out,
          "first start prints the call-taker password")
    check(f"citizen page: https://127.0.0.1:{v.port}/citizen/" in out, "citizen URL printed")
    check(f"console:      https://127.0.0.1:{v.port}/console/" in out, "console URL printed")
    password = out.split("with password ")[1].split()[0]
    check(password not in v.stderr(), "the password never reaches the log")
    ws = WebSocket(v.port)  # SIGTERM with a connection open must still be quick
    rc, secs = v.stop()
    ws.sock.close()
    check(rc == 0, f"SIGTERM exits 0 (got {rc})")
    check(secs < 5, f"SIGTERM exits within 5 s ({secs:.2f} s)")
    print(f"SIGTERM to exit: {secs:.3f} s")
    check("stopped cleanly" in v.stderr(), "clean stop logged")
    wal = os.path.join(v.data_dir, "vigil.db-wal")
    check(not os.path.exists(wal) or os.path.getsize(wal) == 0, "WAL checkpointed at stop")

    db = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"))
    before = db.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    db.close()
    v2 = Vigild(data_dir=v.data_dir).start()
    check("password" not in v2.stdout(), "a restart prints no password")
    check(v2.fingerprint() == v.fingerprint(), "a restart keeps the generated certificate")
    rc, _ = v2.stop()
    db = sqlite3.connect(os.path.join(v.data_dir, "vigil.db"))
    after = db.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    names = [r[0] for r in db.execute("SELECT name FROM accounts")]
    db.close()
    check(before == after and len(after) >= 2, f"migrations applied once: {after}")
    check(names == ["calltaker"], f"one account after two starts: {names}")


def limits(pid):
    """(soft, hard) of 'Max open files' from /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return soft, hard
    return None, None


def test_open_files_raised():
    # Started as a service often is, with a soft limit of 256 under a higher hard
    # one: each call holds ~4 fds, so vigild takes the hard limit at start.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        check(False, f"the hard limit here ({hard}) leaves nothing to raise")
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        v = Vigild().start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    got_soft, got_hard = limits(v.proc.pid)
    check(got_soft == got_hard and got_soft != "256",
          f"soft open-files limit raised to the hard one ({got_soft} / {got_hard})")
    check("open files: up to" in v.stderr() and "(was 256)" in v.stderr(),
          "the raise is logged")
    v.stop()


def test_sigint():
    v = Vigild().start()
    rc, secs = v.stop(signal.SIGINT)
    check(rc == 0 and secs < 5, f"SIGINT exits 0 quickly ({rc}, {secs:.2f} s)")


def expect_start_failure(v, want, what, code=1):
    rc, out, err = v.run_to_exit()
    check(rc == code, f"{what}: exit {rc}, want {code}")
    check(one_line(err), f"{what}: one line on stderr: {err!r}")
    check(want in err, f"{what}: error names {want!r}: {err!r}")
    check("listening" not in out, f"{what}: nothing started")


def test_busy_port():
    port = free_port()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    expect_start_failure(Vigild(port=port), f"cannot listen on 127.0.0.1 port {port}",
                         "busy port")
    s.close()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def test_bad_config():
    d = tempfile.mkdtemp()
    conf = write(os.path.join(d, "bad.conf"), "[server]\n# the port\nlisen = 127.0.0.1:1\n")
    expect_start_failure(Vigild(config=conf), f"{conf}:3: [server] lisen: unknown key",
                         "unknown key")
    conf = write(os.path.join(d, "bad2.conf"), "[log]\nlevel = chatty\n")
    expect_start_failure(Vigild(config=conf), f"{conf}:2: [log] level: \"chatty\"", "bad value")
    expect_start_failure(Vigild(config=os.path.join(d, "missing.conf")),
                         "missing.conf: cannot read", "missing config file")
    v = Vigild(args=["--bogus"])
    expect_start_failure(v, "unknown option --bogus", "bad flag", code=2)
    v = Vigild(args=["--listen", "nowhere"])
    expect_start_failure(v, "--listen nowhere", "bad --listen")
    conf = write(os.path.join(d, "tls.conf"), "[tls]\ncertificate = /nonexistent.pem\n"
                 "key = /nonexistent.key\n")
    expect_start_failure(Vigild(config=conf), "[tls] certificate /nonexistent.pem",
                         "unreadable certificate")


def test_bad_data_dir():
    f = tempfile.NamedTemporaryFile(delete=False)
    expect_start_failure(Vigild(data_dir=os.path.join(f.name, "sub")),
                         f"data dir {f.name}/sub", "data dir under a file")
    expect_start_failure(Vigild(data_dir=f.name), f"data dir {f.name}", "data dir is a file")
    # /proc refuses new files even to root: a truly unwritable directory.
    expect_start_failure(Vigild(data_dir="/proc/sys"), "data dir /proc/sys", "unwritable dir")


def test_configured_certificate():
    d = tempfile.mkdtemp()
    cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=centre.test"], check=True, capture_output=True)
    conf = write(os.path.join(d, "v.conf"), f"[tls]\ncertificate = {cert}\nkey = {key}\n")
    v = Vigild(config=conf).start()
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                         capture_output=True).stdout
    check(https(v.port, "/healthz")[3] == der, "configured certificate is served")
    check(not os.path.exists(os.path.join(v.data_dir, "tls")), "nothing generated")
    v.stop()
    other = os.path.join(d, "k2.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", other], check=True, capture_output=True)
    conf = write(os.path.join(d, "v2.conf"), f"[tls]\ncertificate = {cert}\nkey = {other}\n")
    expect_start_failure(Vigild(config=conf), f"key {other} does not match", "mismatched key")
    # An expired certificate: refused at start (no browser would connect); a generated
    # one that expired is made anew, the old pair kept beside it.
    old_cert, old_key = expired_pair(d)
    conf = write(os.path.join(d, "v3.conf"), f"[tls]\ncertificate = {old_cert}\nkey = {old_key}\n")
    expect_start_failure(Vigild(config=conf), f"certificate {old_cert} is expired",
                         "expired certificate")
    data = os.path.join(d, "gen")
    os.makedirs(os.path.join(data, "tls"), mode=0o700)
    shutil.copy(old_cert, os.path.join(data, "tls", "cert.pem"))
    shutil.copy(old_key, os.path.join(data, "tls", "key.pem"))
    v = Vigild(data_dir=data).start()
    der = subprocess.run(["openssl", "x509", "-in", os.path.join(data, "tls", "cert.pem"),
                          "-outform", "DER"], capture_output=True).stdout
    check(https(v.port, "/healthz")[3] == der and
          os.path.exists(os.path.join(data, "tls", "cert.pem.expired")) and
          "a new one is made" in v.stderr(),
          "an expired generated certificate is replaced (the old kept as .expired), and logged")
    v.stop()


def expired_pair(d):
    """A certificate valid only on 1 January 2020, made with openssl ca (req cannot
    back-date)."""
    ca = os.path.join(d, "ca")
    os.makedirs(ca)
    write(os.path.join(ca, "index.txt"), "")
    write(os.path.join(ca, "serial"), "01\n")
    cnf = write(os.path.join(ca, "ca.cnf"), f"[ca]\ndefault_ca = d\n[d]\ndatabase = {ca}/index.txt\n"
                f"new_certs_dir = {ca}\nserial = {ca}/serial\npolicy = p\ndefault_md = sha256\n"
                "[p]\ncommonName = supplied\n")
    key, csr, cert = (os.path.join(ca, n) for n in ("k.pem", "csr.pem", "c.pem"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj",
                    "/CN=old.test"], check=True, capture_output=True)
    subprocess.run(["openssl", "ca", "-batch", "-selfsign", "-keyfile", key, "-in", csr, "-out",
                    cert, "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
                    "-config", cnf, "-notext"], check=True, capture_output=True)
    return cert, key


def wait_for(pred, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_reload():
    d = tempfile.mkdtemp()
    conf = write(os.path.join(d, "v.conf"), "[log]\nlevel = info\n")
    v = Vigild(config=conf).start()
    ws = WebSocket(v.port)
    ws.close()
    check("ws conn=1: open" not in v.stderr(), "debug lines hidden at info")
    write(conf, "[log]\nlevel = debug\n[signaling]\nmax_message_bytes = 2048\n")
    v.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reload: config" in v.stderr()), "SIGHUP reload logged")
    ws = WebSocket(v.port)
    ws.send_text("y" * 3000)
    r = ws.recv_json()
    check(r.get("code") == "too_large", f"new message limit applies after reload: {r}")
    ws.close()
    check(wait_for(lambda: "ws conn=2: open" in v.stderr()), "debug level applies after reload")
    write(conf, "[log]\nlevel = shouting\n")
    v.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reload refused" in v.stderr()), "bad reload refused and logged")
    h = json.loads(https(v.port, "/healthz")[2])
    check(h.get("status") == "ok", "still serving after a refused reload")
    rc, _ = v.stop()
    check(rc == 0, "exit 0 after reloads")
    # The command line stands over a reload: --log-level debug is not lost to the file's
    # info, and a file that changed nothing asks for no restart.
    write(conf, "[log]\nlevel = info\n")
    v = Vigild(config=conf, args=["--log-level", "debug"]).start()
    v.send_signal(signal.SIGHUP)
    check(wait_for(lambda: "reload: config" in v.stderr()), "reloaded")
    WebSocket(v.port).close()
    check(wait_for(lambda: "ws conn=1: open" in v.stderr()),
          "--log-level debug still applies after a reload of a file that says info")
    check("take effect after a restart" not in v.stderr(),
          "an unchanged file is not said to need a restart")
    v.stop()


def notify_listener(abstract):
    """A service manager's notification socket (sd_notify(3)): a path, or an abstract
    name ("@..." in NOTIFY_SOCKET)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"vigil-notify-{os.getpid()}-{time.monotonic_ns()}"
        s.bind("\0" + name)
        return s, "@" + name
    path = os.path.join(tempfile.mkdtemp(), "notify.sock")
    s.bind(path)
    return s, path


def notes(s, seconds, until=None):
    """Every datagram within seconds, each split in its lines; with until, those up to
    and with the first holding that line (None if it never came)."""
    out, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            out.append(s.recv(4096).decode().split("\n"))
        except socket.timeout:
            break
        if until and until in out[-1]:
            return out
    return None if until else out


def until_note(s, line, seconds=10):
    return notes(s, seconds, line)


def test_service_manager():
    """Under systemd (conf/vigild.service: Type=notify, WatchdogSec=): READY=1 once it
    serves, the watchdog fed at a quarter of its interval, RELOADING=1 and READY=1 around a
    SIGHUP, STOPPING=1 at the stop. Every other test runs without NOTIFY_SOCKET: then
    nothing is sent and nothing fails."""
    s, name = notify_listener(False)
    env = dict(os.environ, NOTIFY_SOCKET=name, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    v = Vigild(env=env).start()
    got = until_note(s, "READY=1")
    check(got is not None and any(l.startswith("STATUS=serving on 127.0.0.1 port") for l in got[-1]),
          f"READY=1 with the status once it serves: {got and got[-1]}")
    fed = sum(d == ["WATCHDOG=1"] for d in notes(s, 2.0))
    check(10 <= fed <= 22,
          f"the watchdog fed every 100 ms for an interval of 400 ms: {fed} in 2 s")
    check("service manager watchdog: fed every 100 ms" in v.stderr(), "and the log says so")
    v.send_signal(signal.SIGHUP)
    got = until_note(s, "READY=1")
    said = [d for d in (got or []) if d != ["WATCHDOG=1"]]
    check(len(said) == 2 and said[0][0] == "RELOADING=1" and
          said[0][1].startswith("MONOTONIC_USEC=") and said[1] == ["READY=1"],
          f"a reload is told, with when: {said}")
    v.send_signal(signal.SIGSTOP)  # a vigild that hangs feeds nothing
    hung = sum(d == ["WATCHDOG=1"] for d in notes(s, 1.0))
    v.send_signal(signal.SIGCONT)
    check(hung <= 1, f"stopped, it feeds the watchdog no more ({hung} in 1 s)")
    got = until_note(s, "WATCHDOG=1", 2)
    check(got is not None, "and again once it runs")
    rc, _ = v.stop()
    got = until_note(s, "STOPPING=1", 2)
    check(rc == 0 and got is not None, f"STOPPING=1 at the stop, exit {rc}")
    s.close()
    # An abstract socket name; a watchdog meant for another process is not fed.
    s, name = notify_listener(True)
    env = dict(os.environ, NOTIFY_SOCKET=name, WATCHDOG_USEC="400000", WATCHDOG_PID="1")
    v = Vigild(env=env).start()
    check(until_note(s, "READY=1") is not None, "READY=1 to an abstract socket name")
    fed = sum(d == ["WATCHDOG=1"] for d in notes(s, 1.0))
    check(fed == 0, f"WATCHDOG_PID names another process: not fed ({fed})")
    v.stop()
    s.close()
    # The unit file itself, as systemd reads it (with this build's vigild).
    d = tempfile.mkdtemp()
    unit = os.path.join(d, "vigild.service")
    src = open(os.path.join(os.environ["VIGIL_SOURCE_ROOT"], "conf", "vigild.service")).read()
    with open(unit, "w") as f:
        f.write(src.replace("/usr/local/bin/vigild", os.environ["VIGILD"]))
    p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       cwd=d)
    check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
          f"systemd-analyze verify finds nothing in conf/vigild.service: "
          f"{(p.stdout + p.stderr).strip()[:300] or 'ok'}")


def test_vigilctl_beside_running_daemon():
    v = Vigild().start()
    p = subprocess.run([VIGILCTL, "--data-dir", v.data_dir, "account", "add", "sup1", "--role",
                        "supervisor"], capture_output=True, text=True)
    check(p.returncode == 0, f"vigilctl works while vigild runs: {p.stderr}")
    check(json.loads(https(v.port, "/healthz")[2]).get("status") == "ok", "vigild unaffected")
    v.stop()


def test_one_private_data_dir():
    """A data dir made beforehand (mkdir -p: 0755) is made the service's alone, and so
    is what vigild creates in it; a second vigild on it is refused while the first
    runs (it would restore the same live cases and seal the first one's recordings
    as a crash's), and starts once the first has stopped."""
    d = os.path.join(tempfile.mkdtemp(), "vigil-data")
    os.makedirs(d)
    os.chmod(d, 0o755)
    v = Vigild(data_dir=d).start()
    mode = os.stat(d).st_mode & 0o777
    db = os.stat(os.path.join(d, "vigil.db")).st_mode & 0o777
    check(mode == 0o700 and db & 0o077 == 0,
          f"the data dir is made 0700 ({mode:o}) and the store is not readable by others ({db:o})")
    check("others could read it (mode 755): made 0700" in v.stderr(), "and the log says so")
    second = Vigild(data_dir=d)
    expect_start_failure(second, f"data dir {d}: in use by vigild pid {v.proc.pid}",
                         "a second vigild on the same data dir")
    rc, _ = v.stop()
    check(rc == 0, "the first stops")
    v2 = Vigild(data_dir=d).start()
    check(v2.proc.poll() is None, "then another may start on it")
    v2.stop()


def test_full_disk():
    """The data dir's disk fills up (a tmpfs of vigild's own, in a mount namespace of
    its own): the alarms it cannot record are refused (the citizen told to call 110),
    the log says why at error, /healthz turns 503 and the metrics count it; once space
    is back, alarms are taken and /healthz is ok again."""
    from vigil_harness import VIGILD, Client, free_port, https
    d, port = tempfile.mkdtemp(prefix="vigil-full-"), free_port()
    err_path = os.path.join(tempfile.mkdtemp(), "vigild.err")
    out_path = err_path + ".out"
    with open(err_path, "w") as err, open(out_path, "w") as out:
        p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                              f"mount -t tmpfs -o size=8m tmpfs {d} && exec {VIGILD} "
                              f"--data-dir {d}/data --listen 127.0.0.1:{port}"],
                             stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 20
        while "listening on" not in open(out_path).read() and time.monotonic() < deadline:
            check(p.poll() is None, f"vigild runs on its tmpfs: {open(err_path).read()[-300:]}")
            time.sleep(0.1)
        c = Client(port, "full")
        check(c.request("alarm_start", mode="voice", phone="+8613800000301").get("type") ==
              "alarm_started", "an alarm is taken while there is room")
        subprocess.run(["nsenter", "-t", str(p.pid), "-m", "dd", "if=/dev/zero",
                        f"of={d}/fill", "bs=64k"], capture_output=True)
        refused = None
        for i in range(30):  # SQLite may fit a few in pages it already has
            r = Client(port, f"full{i}").request("alarm_start", mode="voice",
                                                 phone=f"+86138000004{i:02d}")
            if r.get("type") == "error":
                refused = r
                break
        check(refused is not None and refused.get("code") == "internal" and
              "call 110" in refused.get("message", ""),
              f"with the disk full an alarm is refused, the citizen told to call 110: {refused}")
        status, _, body, _ = https(port, "/healthz")
        check(status == 503 and b'"status":"failing"' in body,
              f"/healthz says so (503): {body[:160]!r}")
        metrics = https(port, "/metrics")[2].decode()
        check(any(line.startswith("vigil_store_write_errors_total ") and
                  int(line.split()[1]) > 0 for line in metrics.splitlines()),
              "and the metrics count the failed writes")
        said = [x for x in open(err_path).read().splitlines() if " error " in x and
                ("store: a transaction could not be committed" in x or "store: write failed" in x)]
        check(said, f"the log says why, at error: {said[:1]}")
        subprocess.run(["nsenter", "-t", str(p.pid), "-m", "rm", f"{d}/fill"], check=True)
        r = Client(port, "full-back").request("alarm_start", mode="voice", phone="+8613800000399")
        check(r.get("type") == "alarm_started", f"with room again alarms are taken: {r.get('type')}")
        check(https(port, "/healthz")[0] == 200, "and /healthz is ok again")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


test_first_start_and_restart()
test_one_private_data_dir()
test_full_disk()
test_sigint()
test_open_files_raised()
test_busy_port()
test_bad_config()
test_bad_data_dir()
test_configured_certificate()
test_reload()
test_service_manager()
test_vigilctl_beside_running_daemon()
finish("lifecycle")
