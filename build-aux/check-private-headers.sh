#!/bin/sh
# Who may include what:
# - plugins include only the SDK's <cowork.h> (their coworkctl extensions in
#   plugins/*/ctl/ may also include coworkctl's cw-ctl.h; their tests may share private
#   headers of their own, such as the fake servers' internals, never the SDK's);
# - the SDK's own *-private.h headers (core/libcowork/) stay inside core/libcowork: the
#   daemon, transports, service code and coworkctl use cowork.h and cowork-host.h, which is
#   all the library exports.
set -eu
cd "${MESON_SOURCE_ROOT:-$(dirname "$0")/..}"
status=0
if grep -rnE '#include *[<"][^>"]*-private\.h[>"]' plugins/ | grep -v '^plugins/[^/]*/tests/'; then
  echo "a plugin includes a private header (above)" >&2
  status=1
fi
if grep -rnE '#include *[<"](cowork-host\.h|cw-client\.h|cw-paths-private\.h)[>"]' plugins/ \
    | grep -v '^plugins/[^/]*/ctl/\|^plugins/[^/]*/tests/'; then
  echo "a plugin module includes a host-side header (above)" >&2
  status=1
fi
sdk_private=$(cd core/libcowork && ls -- *-private.h)
for h in $sdk_private; do
  if grep -rnF "\"$h\"" core plugins tests bench | grep -v '^core/libcowork/'; then
    echo "$h is private to core/libcowork (above)" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "private headers: plugins/ and the static parts are clean"
exit $status
