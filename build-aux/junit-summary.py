#!/usr/bin/python3
"""Counts passed, failed and skipped test cases in meson's JUnit logs.

Prints "PASSED FAILED SKIPPED". A missing or unreadable log counts as one failure.

meson writes a TAP test whose binary died mid-run (an abort, a signal, a timeout) into the
JUnit log as the subtests it finished, all passed, and nothing else: the death is only in the
testlog.json beside it. Such a test counts as one more failure.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

BAD_RESULTS = {"FAIL", "ERROR", "TIMEOUT", "UNEXPECTEDPASS"}


def failed_tests(junit_path):
    """Names of the tests testlog.json (next to the JUnit log) says did not pass."""
    path = os.path.join(os.path.dirname(junit_path), "testlog.json")
    names = set()
    try:
        with open(path, encoding="utf-8") as log:
            for line in log:
                if line.strip():
                    entry = json.loads(line)
                    if entry.get("result") in BAD_RESULTS:
                        names.add(entry.get("name"))
    except (OSError, ValueError) as err:
        print(f"junit-summary: {path}: {err}", file=sys.stderr)
        names.add(None)
    return names


def count(path):
    passed = failed = skipped = 0
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        print(f"junit-summary: {path}: {err}", file=sys.stderr)
        return 0, 1, 0
    dead = failed_tests(path)
    counted = set()  # tests whose failure the JUnit log shows
    for suite in root.iter("testsuite"):
        suite_failed = 0
        for case in suite.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                suite_failed += 1
                # a test without subtests is a case of the project's suite, named after it
                counted.add(case.get("name"))
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
        # A test binary that crashed can report fewer failing cases than the suite did.
        declared = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        failed += max(suite_failed, declared)
        if max(suite_failed, declared) > 0:
            counted.add(suite.get("name", "").split(".", 1)[-1])
    # died mid-run with its finished subtests passed, or not in the JUnit log at all
    failed += len(dead - counted)
    return passed, failed, skipped


def main():
    totals = [0, 0, 0]
    for path in sys.argv[1:]:
        for i, n in enumerate(count(path)):
            totals[i] += n
    print(*totals)


if __name__ == "__main__":
    main()
