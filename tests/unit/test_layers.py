"""The layer rule is enforced by the build: a file that breaks it fails `ninja`.

Copies the source tree, breaks the rule in one file at a time, and builds only
the layer checks (fast). The untouched copy must pass; each broken copy must
fail naming the file, the line and the include."""
import os
import shutil
import subprocess
import sys
import tempfile

root = os.environ.get("VIGIL_SOURCE_ROOT") or sys.exit("VIGIL_SOURCE_ROOT not set")
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def copy_tree():
    dst = tempfile.mkdtemp(prefix="vigil-layers-")
    src = os.path.join(dst, "src-tree")
    shutil.copytree(root, src, ignore=shutil.ignore_patterns(
        "build*", ".git", "node_modules", "vigil-data", "artifacts"))
    return dst, src


def build_checks(src, bdir):
    setup = subprocess.run(["meson", "setup", bdir, src], capture_output=True, text=True)
    if setup.returncode:
        return setup.returncode, setup.stdout + setup.stderr
    targets = [t for t in subprocess.run(["ninja", "-C", bdir, "-t", "targets", "all"],
               capture_output=True, text=True).stdout.split("\n")
               if t.split(":")[0].endswith("-layer-ok.h")]
    names = [t.split(":")[0] for t in targets]
    p = subprocess.run(["ninja", "-C", bdir, "-k", "0"] + names, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def break_and_build(dst, src, path, line, label):
    target = os.path.join(src, path)
    with open(target) as f:
        original = f.read()
    with open(target, "w") as f:
        f.write(line + "\n" + original)
    rc, out = build_checks(src, os.path.join(dst, "b-" + label))
    with open(target, "w") as f:
        f.write(original)
    return rc, out


dst, src = copy_tree()
rc, out = build_checks(src, os.path.join(dst, "b-clean"))
check(rc == 0, f"the tree as it is passes the layer rule:\n{out}")

cases = [
    ("media/core/classify.c", "#include <libwebsockets.h>", "media_core", "libwebsockets"),
    ("media/core/classify.c", "#include <glib.h>", "media_core", "glib"),
    ("media/core/classify.c", '#include "../../signaling/core/proto.h"', "media_core",
     "signaling/core/proto.h"),
    ("signaling/core/proto.c", "#include <nice/agent.h>", "sig_core", "nice"),
    ("signaling/core/proto.c", '#include "../../media/core/classify.h"', "sig_core",
     "media/core/classify.h"),
    ("signaling/http/server.c", '#include "classify.h"', "sig_http", "classify.h"),
    ("src/base/log.c", "#include <sqlite3.h>", "base", "sqlite"),
    ("src/store/store.c", "#include <gst/gst.h>", "store", "gst"),
]
for i, (path, line, layer, named) in enumerate(cases):
    rc, out = break_and_build(dst, src, path, line, f"case{i}")
    check(rc != 0, f"{path} with {line} fails the build")
    check(f"layer rule ({layer}): {path}:1:" in out and named in out,
          f"the error names layer, file, line and include for {line}: {out[-600:]}")

shutil.rmtree(dst, ignore_errors=True)
print(f"layers: {checks} checks, {len(failures)} failed")
sys.exit(1 if failures else 0)
