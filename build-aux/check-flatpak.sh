#!/bin/sh
# The Flatpak manifest parses as flatpak-builder reads it (any warning, e.g. an unknown key,
# fails), and the build options of its coworkd module are ones this meson project accepts.
# usage: check-flatpak.sh SOURCE_ROOT
set -eu
src=$1
command -v flatpak-builder >/dev/null || { echo "SKIP: flatpak-builder is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src/flatpak"
if ! flatpak-builder --show-manifest org.cowork.Daemon.json >"$tmp/manifest" 2>"$tmp/err" \
   || [ -s "$tmp/err" ]; then
  echo "FAIL: flatpak-builder does not accept org.cowork.Daemon.json:"; cat "$tmp/err"; exit 1
fi
opts=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
mod = [x for x in m["modules"] if isinstance(x, dict) and x["name"] == "coworkd"][0]
assert mod["buildsystem"] == "meson", "coworkd is built with meson"
print(" ".join(mod["config-opts"]))' "$tmp/manifest")
# shellcheck disable=SC2086
if ! meson setup "$tmp/build" "$src" --prefix=/app $opts >"$tmp/setup.log" 2>&1; then
  echo "FAIL: meson does not accept the manifest's options ($opts):"; tail -20 "$tmp/setup.log"; exit 1
fi
if grep -q '^WARNING' "$tmp/setup.log"; then
  echo "FAIL: meson warns about the manifest's options:"; grep '^WARNING' "$tmp/setup.log"; exit 1
fi
# Everything the bundle installs stays under /app.
meson introspect --installed "$tmp/build" | python3 -c '
import json, sys
bad = [d for d in json.load(sys.stdin).values() if not d.startswith("/app/")]
if bad:
    sys.exit("FAIL: installed outside /app: " + ", ".join(sorted(bad)))'
echo "flatpak: manifest accepted; its options configure a build that installs only under /app"
