#!/usr/bin/python3
"""build-aux/junit-summary.py counts what .ci/run prints last: every test that did not pass
must show as failed, including a TAP binary that died after some passed subtests (meson's
JUnit log then lists only those, all passed) and one that died before its first subtest."""
import json
import os
import subprocess
import sys
import tempfile

SUMMARY = os.path.join(os.environ["MESON_SOURCE_ROOT"], "build-aux", "junit-summary.py")

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="coworkd.coworkd:plugins / clean" tests="2" errors="0" failures="0">
    <testcase name="1 /a" classname="c"/><testcase name="2 /b" classname="c"/>
  </testsuite>
  <testsuite name="coworkd.coworkd:plugins / died-mid-run" tests="2" errors="0" failures="0">
    <testcase name="1 /a" classname="c"/><testcase name="2 /b" classname="c"/>
  </testsuite>
  <testsuite name="coworkd.coworkd:plugins / one-failed" tests="2" errors="0" failures="1">
    <testcase name="1 /a" classname="c"><failure/></testcase>
    <testcase name="2 /b" classname="c"><skipped/></testcase>
  </testsuite>
  <testsuite name="coworkd" tests="2" errors="0" failures="1">
    <testcase name="coworkd:plugins / died-at-once" classname="coworkd"><error/></testcase>
    <testcase name="coworkd:lint / format" classname="coworkd"/>
  </testsuite>
</testsuites>
"""
RESULTS = {
    "coworkd:plugins / clean": "OK",
    "coworkd:plugins / died-mid-run": "ERROR",
    "coworkd:plugins / one-failed": "FAIL",
    "coworkd:plugins / died-at-once": "ERROR",
    "coworkd:plugins / never-in-junit": "TIMEOUT",
    "coworkd:lint / format": "OK",
}


def summary(*paths):
    out = subprocess.run([sys.executable, SUMMARY, *paths], check=True, capture_output=True,
                         text=True).stdout
    return out.split()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        junit = os.path.join(tmp, "testlog.junit.xml")
        with open(junit, "w", encoding="utf-8") as f:
            f.write(JUNIT)
        with open(os.path.join(tmp, "testlog.json"), "w", encoding="utf-8") as f:
            for name, result in RESULTS.items():
                f.write(json.dumps({"name": name, "result": result}) + "\n")
        # passed: clean 2 + died-mid-run 2 + format 1; failed: died-mid-run, one-failed,
        # died-at-once, never-in-junit; skipped 1
        got = summary(junit)
        assert got == ["5", "4", "1"], got
        # a missing JUnit log is one failure
        got = summary(junit, os.path.join(tmp, "missing", "testlog.junit.xml"))
        assert got == ["5", "5", "1"], got
    print("ok")


if __name__ == "__main__":
    main()
