#!/bin/sh
# Plugins may include only <cowork.h>: the core's *-private.h headers are not API.
set -eu
cd "${MESON_SOURCE_ROOT:-$(dirname "$0")/..}"
if grep -rnE '#include *[<"][^>"]*-private\.h[>"]' plugins/; then
  echo "a plugin includes a core private header (above)" >&2
  exit 1
fi
echo "private headers: plugins/ is clean"
