"""vigilctl manages accounts in a data dir's store."""
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from vigil_harness import VIGILCTL, check, finish  # noqa

d = tempfile.mkdtemp(prefix="vigilctl-")


def ctl(*args):
    p = subprocess.run([VIGILCTL, "--data-dir", d, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def stored(name):
    db = sqlite3.connect(os.path.join(d, "vigil.db"))
    row = db.execute("SELECT role, disabled, pw_hash FROM accounts WHERE name = ?",
                     (name,)).fetchone()
    db.close()
    return row


rc, out, err = ctl("account", "add", "ann")
check(rc == 0 and "password: " in out, f"add prints a password: {out!r} {err!r}")
check("no store in" in err and "a new one was made" in err,
      f"the first use in a dir with no store says it made one (a mistyped dir): {err.strip()}")
check("no store" not in ctl("account", "list")[2], "later uses do not")
pw = out.split("password: ")[-1].strip()
check(len(pw) == 20, "generated password has 20 characters")
role, disabled, h = stored("ann")
check(role == "call_taker" and disabled == 0, "default role call_taker, enabled")
check(h.startswith("$scrypt$") and pw not in h, "only a scrypt hash is stored")

rc, out, _ = ctl("account", "add", "bob", "--role", "specialist")
check(rc == 0 and stored("bob")[0] == "specialist", "--role after the name")
rc, out, _ = ctl("--role", "supervisor", "account", "add", "sue")
check(rc == 0 and stored("sue")[0] == "supervisor", "--role before the command")

rc, _, err = ctl("account", "add", "ann")
check(rc == 1 and "already exists" in err, f"duplicate refused: {err!r}")
rc, _, err = ctl("account", "add", "eve", "--role", "admin")
check(rc == 2 and "unknown role" in err, f"unknown role refused: {err!r}")
rc, _, err = ctl("account", "add", "bad name")
check(rc == 1 and "account name" in err, f"bad name refused: {err!r}")

rc, out, _ = ctl("account", "disable", "bob")
check(rc == 0 and stored("bob")[1] == 1, "disable")
rc, out, _ = ctl("account", "list")
lines = out.strip().splitlines()
check([l.split()[0] for l in lines] == ["ann", "bob", "sue"], f"list in name order: {lines}")
check("disabled" in lines[1] and "active" in lines[0], "list shows state")
rc, out, _ = ctl("account", "enable", "bob")
check(rc == 0 and stored("bob")[1] == 0, "enable")
rc, _, err = ctl("account", "disable", "nobody")
check(rc == 1 and "not found" in err, "disable of a missing account fails")

old = stored("ann")[2]
rc, out, _ = ctl("account", "reset-password", "ann")
check(rc == 0 and "new password: " in out and stored("ann")[2] != old, "reset-password")
rc, _, err = ctl("account", "reset-password", "ghost")
check(rc == 1, "reset of a missing account fails")

# Blocked callers, as the supervisors' console shows and lifts them.
con = sqlite3.connect(os.path.join(d, "vigil.db"))
con.execute("INSERT INTO blocks (phone, reason, created_by, created_us, expires_us) VALUES "
            "('+8613800000009', 'prank calls', 'ann', 1, 32503680000000000)")
con.commit()
con.close()
rc, out, _ = ctl("block", "list")
check(rc == 0 and "+8613800000009" in out and "prank calls" in out and "by ann" in out,
      f"block list: {out.strip()}")
rc, _, err = ctl("block", "lift", "+86 138 0000 0009")
check(rc == 2 and "--reason" in err, f"a lift needs a reason and an actor: {err.strip()}")
rc, out, _ = ctl("block", "lift", "+86 138 0000 0009", "--reason", "apologised", "--actor", "sue")
check(rc == 0 and "lifted by sue" in out, f"block lift: {out.strip()}")
rc, out, _ = ctl("block", "list")
check(rc == 0 and "+8613800000009" not in out, "and it is off the list")
rc, _, err = ctl("block", "lift", "+8613800000009", "--reason", "again", "--actor", "sue")
check(rc == 1 and "is not blocked" in err, f"lifting it again: {err.strip()}")

rc, _, err = ctl("account")
check(rc == 2 and "usage" in err, "missing verb prints usage")
p = subprocess.run([VIGILCTL, "account", "list"], capture_output=True, text=True)
check(p.returncode == 2, "missing --data-dir is a usage error")
finish("vigilctl")
