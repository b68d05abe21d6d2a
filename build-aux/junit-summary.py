#!/usr/bin/python3
"""Counts passed, failed and skipped test cases in meson's JUnit logs.

Prints "PASSED FAILED SKIPPED". A missing or unreadable log counts as one failure.
"""
import sys
import xml.etree.ElementTree as ET


def count(path):
    passed = failed = skipped = 0
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        print(f"junit-summary: {path}: {err}", file=sys.stderr)
        return 0, 1, 0
    for suite in root.iter("testsuite"):
        suite_failed = 0
        for case in suite.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                suite_failed += 1
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
        # A test binary that crashed can report fewer failing cases than the suite did.
        declared = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        failed += max(suite_failed, declared)
    return passed, failed, skipped


def main():
    totals = [0, 0, 0]
    for path in sys.argv[1:]:
        for i, n in enumerate(count(path)):
            totals[i] += n
    print(*totals)


if __name__ == "__main__":
    main()
