#!/bin/sh
# Installs this build into a scratch --destdir tree, builds tests/sdk/hello/ against that tree
# alone (its cowork-1.pc, relocated), loads the plugin into the built coworkd and calls it.
set -eu
build_root=$1
src=$(cd "$(dirname "$0")" && pwd)/hello
work=$(mktemp -d)
trap 'kill "$daemon" 2>/dev/null || true; rm -rf "$work"' EXIT
daemon=

meson install -C "$build_root" --destdir "$work/dest" --no-rebuild --quiet >/dev/null
pc=$(find "$work/dest" -name cowork-1.pc | head -n 1)
[ -n "$pc" ] || { echo "cowork-1.pc is not installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir -p "$work/pc"
sed "s|^prefix=.*|prefix=$work/dest$prefix|" "$pc" >"$work/pc/cowork-1.pc"
for h in cowork.h cowork-host.h cowork-test.h; do
  [ -f "$work/dest$prefix/include/cowork-1/$h" ] || { echo "$h is not installed"; exit 1; }
done

PKG_CONFIG_PATH="$work/pc" meson setup "$work/hello-build" "$src" >"$work/setup.log" 2>&1 ||
  { cat "$work/setup.log"; exit 1; }
ninja -C "$work/hello-build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
plugin_dir=$(PKG_CONFIG_PATH="$work/pc" pkg-config --variable=plugindir cowork-1)
case "$plugin_dir" in
  "$work/dest"*/cowork/plugins-1) ;;
  *) echo "plugindir is $plugin_dir"; exit 1 ;;
esac

mkdir -p "$work/data"
"$COWORKD" --app-data-dir "$work/data" --dbus none --no-system-plugins \
  --plugin-dir "$work/hello-build" >"$work/daemon.log" 2>&1 &
daemon=$!
i=0
until "$COWORKCTL" --app-data-dir "$work/data" call ping >/dev/null 2>&1; do
  i=$((i + 1))
  [ $i -lt 100 ] || { cat "$work/daemon.log"; exit 1; }
  sleep 0.1
done
out=$("$COWORKCTL" --json --app-data-dir "$work/data" call hello_greet)
case "$out" in
  *'"greeting"'*'hello, socket:uid='*) echo "out-of-tree plugin: $out" ;;
  *) echo "unexpected answer: $out"; cat "$work/daemon.log"; exit 1 ;;
esac
"$COWORKCTL" --json --app-data-dir "$work/data" call daemon_health | grep -q '"name" *: *"hello"'
# Like the tests' harness (tests/lib): SIGTERM is an orderly stop, exit 0, no sanitizer report
# or GLib critical in the log.
kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
daemon=
if [ "$status" -ne 0 ] \
   || grep -E 'runtime error:|ERROR: (Address|Leak)Sanitizer|-CRITICAL \*\*|-ERROR \*\*|:ERROR:' \
        "$work/daemon.log"; then
  echo "coworkd exited with status $status on SIGTERM; its log ends:"
  tail -n 30 "$work/daemon.log"
  exit 1
fi
