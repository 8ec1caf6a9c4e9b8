#!/usr/bin/env python3
"""Build-time layer rule: each layer may include only the project layers and the
external libraries meson.build grants it.

Run by meson as a custom_target before a layer's library compiles (its output is a
header the library lists among its sources), so a file that breaks the rule fails
the build with a message naming the file, the line and the include.

Why a checker on top of per-layer `dependencies:`: libwebsockets.h, sqlite3.h and
jansson.h sit directly in /usr/include, so a sans-IO core could include them with no
dependency declared; and a quoted include with `..` would reach another layer's
headers whatever the include path says. Computed includes (#include MACRO) are refused
because they cannot be checked.
"""
import argparse
import os
import re
import sys

# External header families, by the name they are included as.
FAMILIES = {
    "glib": [r"glib\.h", r"glib/.*", r"glib-object\.h", r"glib-unix\.h", r"gio/.*", r"gobject/.*"],
    "nice": [r"nice\.h", r"nice/.*", r"agent\.h", r"stun/.*"],
    "lws": [r"libwebsockets\.h", r"libwebsockets/.*", r"lws_config\.h"],
    "gst": [r"gst/.*"],
    "sqlite": [r"sqlite3\.h", r"sqlite3ext\.h"],
    "jansson": [r"jansson\.h", r"jansson_config\.h"],
    "openssl": [r"openssl/.*"],
    "srtp": [r"srtp2?/.*", r"srtp\.h"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s*(.*?)\s*(//.*|/\*.*)?$')


def family_of(name):
    for fam, pats in FAMILIES.items():
        if any(re.fullmatch(p, name) for p in pats):
            return fam
    return None


def check_file(path, root, allowed_dirs, allowed_ext):
    errors = []
    here = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            what = m.group(1)
            where = f"{os.path.relpath(path, root)}:{lineno}"
            if what.startswith("<") and what.endswith(">"):
                fam = family_of(what[1:-1])
                if fam and fam not in allowed_ext:
                    errors.append(f"{where}: layer may not include {what} ({fam})")
            elif what.startswith('"') and what.endswith('"'):
                name = what[1:-1]
                fam = family_of(name)
                if fam and fam not in allowed_ext:
                    errors.append(f"{where}: layer may not include {what} ({fam})")
                    continue
                target = os.path.normpath(os.path.join(here, name))
                if not os.path.exists(target):
                    # Found through the include path: the layer's own and allowed dirs.
                    target = next((os.path.join(root, d, name) for d in allowed_dirs
                                   if os.path.exists(os.path.join(root, d, name))), None)
                    if target is None:
                        errors.append(f"{where}: {what} is not in this layer or a layer it may use")
                        continue
                rel = os.path.relpath(target, root)
                if not any(rel == d or rel.startswith(d + os.sep) for d in allowed_dirs):
                    errors.append(f"{where}: layer may not include {what} ({rel})")
            else:
                errors.append(f"{where}: computed #include {what} cannot be checked")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--may-dirs", default="", help="comma list of project dirs, own first")
    ap.add_argument("--may-ext", default="", help="comma list of external families")
    ap.add_argument("--out")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    dirs = [d for d in a.may_dirs.split(",") if d]
    ext = {e for e in a.may_ext.split(",") if e}
    unknown = ext - FAMILIES.keys()
    if unknown:
        sys.exit(f"check_layers: unknown family {sorted(unknown)}")
    errors = []
    for path in a.files:
        errors += check_file(path, a.root, dirs, ext)
    if errors:
        for e in errors:
            print(f"layer rule ({a.layer}): {e}", file=sys.stderr)
        return 1
    if a.out:
        with open(a.out, "w") as f:
            f.write(f"/* layer {a.layer}: include rule checked */\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
