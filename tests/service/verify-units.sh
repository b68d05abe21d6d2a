#!/bin/sh
# Installs the build into a temporary DESTDIR and runs `systemd-analyze verify` on the
# installed system and user units. Any message from systemd (even a warning such as an
# unknown key, which verify only reports) fails the test.
# usage: verify-units.sh BUILD_ROOT
set -eu
build=$1
for tool in meson systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1 || {
  cat "$dest.log"; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"

system_unit=$(cd "$dest" && find . -path '*/systemd/system/coworkd.service' | sed 's/^\.//')
user_unit=$(cd "$dest" && find . -path '*/systemd/user/coworkd.service' | sed 's/^\.//')
sysusers=$(cd "$dest" && find . -path '*/sysusers.d/cowork.conf')
[ -n "$system_unit" ] || { echo "FAIL: no system unit installed"; exit 1; }
[ -n "$user_unit" ] || { echo "FAIL: no user unit installed"; exit 1; }
[ -n "$sysusers" ] || { echo "FAIL: no sysusers.d entry for User=cowork"; exit 1; }

# The ExecStart program must be the installed coworkd.
program=$(sed -n 's/^ExecStart="\([^"]*\)".*/\1/p' "$dest$system_unit")
[ -x "$dest$program" ] || { echo "FAIL: ExecStart $program is not installed"; exit 1; }
grep -q '^ExecStart="'"$program"'" "--mode" "user"$' "$dest$user_unit" || {
  echo "FAIL: the user unit does not run $program --mode user"; exit 1; }

# System unit: verify inside the install root, which needs systemd's own units beside it.
mkdir -p "$dest/usr/lib/systemd/system"
cp -a /lib/systemd/system/. "$dest/usr/lib/systemd/system/"
out=$(systemd-analyze verify --root="$dest" "$system_unit" 2>&1) || {
  echo "FAIL: system unit"; echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "FAIL: system unit"; echo "$out"; exit 1; fi
echo "ok: system unit $system_unit"

# User unit: --user verify has no --root, so point ExecStart at the installed copy.
run=$(mktemp -d)
trap 'rm -rf "$dest" "$run"' EXIT
chmod 700 "$run"
sed "s#^ExecStart=\"$program\"#ExecStart=\"$dest$program\"#" "$dest$user_unit" >"$run/coworkd.service"
out=$(XDG_RUNTIME_DIR=$run systemd-analyze --user verify "$run/coworkd.service" 2>&1) || {
  echo "FAIL: user unit"; echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "FAIL: user unit"; echo "$out"; exit 1; fi
echo "ok: user unit $user_unit"
