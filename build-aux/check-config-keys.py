#!/usr/bin/env python3
# coworkd.conf(5) lists exactly the keys the daemon and its plugins read: every
# cw_config_get_string/int/boolean (config, "group", "key", ...) under core/ and plugins/
# (tests left out) has a `.BI key=` entry under `.SH "[group]"` in
# data/man/coworkd.conf.5.in and a `#key=` line under `[group]` in data/coworkd.conf (the
# installed example), and every entry there is read somewhere.
import os
import re
import sys

root = os.environ.get("MESON_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), ".."))
call = re.compile(r'cw_config_get_(?:string|int|boolean)\s*\(\s*[^,()]+,\s*"([^"]+)"\s*,\s*"([^"]+)"')
read = set()
for top in ("core", "plugins"):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        dirnames[:] = [d for d in dirnames if d != "tests"]
        for name in filenames:
            if name.endswith(".c"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    read.update(call.findall(f.read()))

documented = set()
group = None
with open(os.path.join(root, "data", "man", "coworkd.conf.5.in"), encoding="utf-8") as f:
    for line in f:
        m = re.match(r'\.SH "\[([^]]+)\]"', line)
        if m:
            group = m.group(1).replace("\\-", "-")
        elif line.startswith(".SH"):
            group = None
        m = re.match(r"\.BI ([a-z\\-]+)= ", line)
        if m and group is not None:
            documented.add((group, m.group(1).replace("\\-", "-")))

example = set()
group = None
with open(os.path.join(root, "data", "coworkd.conf"), encoding="utf-8") as f:
    for line in f:
        m = re.match(r"\[([^]]+)\]", line)
        if m:
            group = m.group(1)
        m = re.match(r"#([a-z-]+)=", line)
        if m and group is not None:
            example.add((group, m.group(1)))

status = 0
for where, listed in (("coworkd.conf(5)", documented), ("data/coworkd.conf", example)):
    for group, key in sorted(read - listed):
        print(f"FAIL: [{group}] {key} is read but {where} does not describe it")
        status = 1
    for group, key in sorted(listed - read):
        print(f"FAIL: {where} describes [{group}] {key}, which nothing reads")
        status = 1
if status == 0:
    print(f"coworkd.conf(5) and data/coworkd.conf describe all {len(read)} keys core/ and "
          "plugins/ read")
sys.exit(status)
