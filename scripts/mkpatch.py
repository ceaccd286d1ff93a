#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write a patch of the series from edits of base files (a developer tool).

    mkpatch.py BASE_SRC OUT.patch MESSAGE_FILE EDITS.py

EDITS.py defines edit(path, text) -> text for each file in FILES (a list of
paths relative to the tree). The message file holds the subject on its
first line and the body after a blank line.
"""
import difflib
import runpy
import sys

base, out, msgfile, editsfile = sys.argv[1:5]
edits = runpy.run_path(editsfile)
msg = open(msgfile).read().strip("\n").split("\n")
subject, body = msg[0], "\n".join(msg[2:])
parts = []
for path in edits["FILES"]:
    old = open(f"{base}/{path}").read()
    new = edits["edit"](path, old)
    if new == old:
        sys.exit(f"mkpatch: {path}: edit changed nothing")
    parts.append(f"diff --git a/{path} b/{path}\n")
    parts.extend(difflib.unified_diff(
        old.splitlines(True), new.splitlines(True),
        f"a/{path}", f"b/{path}", n=3))
with open(out, "w") as f:
    f.write("From: iommufd-hwq developers <iommufd-hwq@localhost>\n")
    f.write(f"Subject: [PATCH] {subject}\n\n{body}\n\n")
    f.write("Signed-off-by: iommufd-hwq developers <iommufd-hwq@localhost>\n---\n")
    f.write("".join(parts))
    f.write("-- \n2.47.3\n")
