#!/bin/sh
# Installs the build into a temporary DESTDIR and checks that every file lands where the
# system looks for it: units and sysusers.d where systemd.pc says, D-Bus files where
# dbus-1.pc says, the config in sysconfdir (and the daemon reads that very path), manual
# pages, completion, documentation; and that the example plugin stays out of the
# production plugin directory unless -Dexample_plugin=true.
# usage: check-install.sh BUILD_ROOT
set -eu
build=$1
for tool in meson pkg-config python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
dest=$(mktemp -d)
trap 'rm -rf "$dest" "$dest.log"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1 || {
  cat "$dest.log"; exit 1; }

opt() {
  meson introspect --buildoptions "$build" | python3 -c '
import json, os, sys
opts = {o["name"]: o["value"] for o in json.load(sys.stdin)}
v = opts[sys.argv[1]]
if isinstance(v, str) and sys.argv[1].endswith("dir"):
    v = os.path.join(opts["prefix"], v)
print(str(v).lower() if isinstance(v, bool) else v)' "$1"
}
prefix=$(opt prefix)
status=0
fail() { echo "FAIL: $*"; status=1; }
has() { [ -e "$dest$1" ] || fail "$1 is not installed"; }
hasnt() { [ ! -e "$dest$1" ] || fail "$1 is installed"; }

if [ "$(opt systemd)" != disabled ] && pkg-config --exists systemd; then
  has "$(pkg-config --variable=systemdsystemunitdir systemd)/coworkd.service"
  has "$(pkg-config --variable=systemduserunitdir systemd)/coworkd.service"
  has "$(pkg-config --variable=sysusersdir systemd)/cowork.conf"
fi
if [ "$(opt dbus)" = pkgconfig ] && pkg-config --exists dbus-1; then
  has "$(pkg-config --variable=session_bus_services_dir dbus-1)/org.cowork.Daemon.service"
  has "$(pkg-config --variable=system_bus_services_dir dbus-1)/org.cowork.Daemon.service"
  has "$(pkg-config --variable=datadir dbus-1)/dbus-1/system.d/org.cowork.Daemon.conf"
  has "$(pkg-config --variable=interfaces_dir dbus-1)/org.cowork.Daemon1.xml"
else
  has "$(opt datadir)/dbus-1/services/org.cowork.Daemon.service"
  has "$(opt datadir)/dbus-1/system.d/org.cowork.Daemon.conf"
fi

sysconfdir=$(opt sysconfdir)
has "$sysconfdir/cowork/coworkd.conf"
coworkd="$dest$(opt bindir)/coworkd"
has "$(opt bindir)/coworkd"
has "$(opt bindir)/coworkctl"
if [ -e "$coworkd" ]; then
  # The binary's strings, one a line: the path must be one of them exactly.
  tr '\0' '\n' <"$coworkd" | grep -qxF "$sysconfdir/cowork/coworkd.conf" \
    || fail "coworkd does not read $sysconfdir/cowork/coworkd.conf in system mode"
  if [ "$sysconfdir" != /etc ] && tr '\0' '\n' <"$coworkd" | grep -qxF /etc/cowork/coworkd.conf; then
    fail "coworkd still names /etc/cowork/coworkd.conf (sysconfdir is $sysconfdir)"
  fi
fi

plugindir="$(opt libdir)/cowork/plugins-1"
has "$plugindir/libcowork_plugin_agent.so"
if [ "$(opt example_plugin)" = true ]; then
  has "$plugindir/libcowork_plugin_example.so"
else
  hasnt "$plugindir/libcowork_plugin_example.so"
fi

if [ "$(opt man)" = true ]; then
  mandir=$(opt mandir)
  has "$mandir/man8/coworkd.8"
  has "$mandir/man1/coworkctl.1"
  has "$mandir/man5/coworkd.conf.5"
fi
datadir=$(opt datadir)
if pkg-config --exists bash-completion; then
  has "$(pkg-config --define-variable=datadir="$datadir" --variable=completionsdir bash-completion)/coworkctl"
else
  has "$datadir/bash-completion/completions/coworkctl"
fi
has "$datadir/zsh/site-functions/_coworkctl"
if [ "$(opt docs)" != disabled ]; then
  has "$datadir/doc/coworkd/COPYING"
  has "$datadir/doc/coworkd/README.md"
fi

[ $status -eq 0 ] && echo "install: every file where it belongs under $prefix (DESTDIR $dest)"
[ $status -eq 0 ] || (cd "$dest" && find . -type f | sort)
exit $status
