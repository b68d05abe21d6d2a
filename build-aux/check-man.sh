#!/bin/sh
# Renders each manual page with groff and man and fails on any warning; coworkctl(1) must
# describe every subcommand coworkctl lists in `coworkctl help`.
# usage: check-man.sh COWORKCTL PAGE...
set -eu
coworkctl=$1; shift
for tool in groff man; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
status=0
for page in "$@"; do
  if grep -n '@[A-Z_]*@' "$page"; then
    echo "FAIL: $page has unreplaced placeholders (above)"; status=1
  fi
  warnings=$(groff -man -ww -z -Tutf8 "$page" 2>&1) || true
  if [ -n "$warnings" ]; then
    echo "FAIL: groff warns about $page:"; echo "$warnings"; status=1
  fi
  out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" 2>/tmp/check-man.$$) || {
    echo "FAIL: man -l $page failed"; status=1; }
  if [ -s /tmp/check-man.$$ ]; then
    echo "FAIL: man warns about $page:"; cat /tmp/check-man.$$; status=1
  fi
  rm -f /tmp/check-man.$$
  for section in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
    printf '%s\n' "$out" | grep -q "^$section" || { echo "FAIL: $page has no $section"; status=1; }
  done
  case $page in
    *coworkctl.1)
      for cmd in $("$coworkctl" help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
        printf '%s\n' "$out" | grep -q "^       $cmd\b" || {
          echo "FAIL: coworkctl(1) does not describe '$cmd'"; status=1; }
      done ;;
  esac
done
[ $status -eq 0 ] && echo "man pages: $# render without warnings"
exit $status
