#!/bin/sh
# po/POTFILES.in lists exactly the source files that mark strings for translation (_(),
# N_(), C_(), NC_()), and every file it lists exists.
set -eu
cd "${MESON_SOURCE_ROOT:-$(dirname "$0")/..}"
status=0
marked=$(grep -rlE '(^|[^A-Za-z0-9_])N?C?_ ?\(' --include='*.c' core plugins | sort)
listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort)
for f in $marked; do
  printf '%s\n' "$listed" | grep -qxF "$f" || { echo "FAIL: $f marks strings but is not in po/POTFILES.in"; status=1; }
done
for f in $listed; do
  [ -f "$f" ] || { echo "FAIL: po/POTFILES.in lists $f, which does not exist"; status=1; }
  printf '%s\n' "$marked" | grep -qxF "$f" || { echo "FAIL: po/POTFILES.in lists $f, which marks nothing"; status=1; }
done
[ $status -eq 0 ] && echo "POTFILES.in: $(printf '%s\n' "$listed" | wc -l) files, every marked file listed"
exit $status
