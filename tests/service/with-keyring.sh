#!/bin/sh
# Runs "$@" on a private session bus with a real gnome-keyring-daemon, freshly created and
# unlocked in a throw-away HOME, so credential tests never touch a real keyring.
# usage: with-keyring.sh PROGRAM [ARGS...]
set -eu
if [ -z "${COWORK_KEYRING_SESSION:-}" ]; then
  for tool in dbus-run-session gnome-keyring-daemon gdbus; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
  done
  COWORK_KEYRING_SESSION=1 exec dbus-run-session -- "$0" "$@"
fi

tmp=$(mktemp -d)
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" \
  XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
cleanup() {
  # The keyring daemon leaves with the bus; its files go with the temp dir.
  rm -rf "$tmp"
}
trap cleanup EXIT

# The password unlocks (and first creates) the login keyring, the default collection.
eval "$(printf %s cowork-test-password | gnome-keyring-daemon --unlock --components=secrets)"
timeout 20 gdbus wait --session org.freedesktop.secrets
export COWORK_TEST_KEYRING_DIR="$XDG_DATA_HOME/keyrings"
"$@"
