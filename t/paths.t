#!/bin/bash
# paths.t - the configured paths are built into the programs, and changing
# them with "../configure --prefix=..." in an existing build rebuilds what
# uses them: the trial install reconfigured a /usr/local build for /usr and
# got daemons that still read /usr/local/etc/moat/moat.conf (the paths were
# -D flags, and a changed Makefile rebuilds no object).
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
# A make of our own, not a part of the "make check" that runs this test.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
b=$H_TMP/build
mkdir -p "$b"
# Unoptimised: the test is about which objects are rebuilt, not about speed.
conf() { (cd "$b" && "$MOAT_SRCDIR/configure" -q CFLAGS=-O0 "$@" >"$H_TMP/logs/configure.log" 2>&1); }
mk() { make -s -C "$b" -j2 policyd/moat-policyd contentfilter/moat-contentfilter \
	moatctl/moatctl >"$H_TMP/logs/make.log" 2>&1; }
help() { "$b/$1" --help 2>&1; }

tap_ok "configure --prefix=/opt/moat-a" conf --prefix=/opt/moat-a
tap_ok "...builds" mk
tap_like "$(help policyd/moat-policyd)" "default /opt/moat-a/etc/moat/moat\.conf" \
	"moat-policyd reads /opt/moat-a/etc/moat/moat.conf"

tap_ok "configure again in the same build: --prefix=/usr --sysconfdir=/etc --localstatedir=/var" \
	conf --prefix=/usr --sysconfdir=/etc --localstatedir=/var
tap_ok "...make" mk
for p in policyd/moat-policyd contentfilter/moat-contentfilter; do
	tap_like "$(help $p)" "default /etc/moat/moat\.conf" "$p now reads /etc/moat/moat.conf"
	tap_ok "...and has no /opt/moat-a left" sh -c "! grep -q /opt/moat-a '$b/$p'"
done
tap_like "$("$b/moatctl/moatctl" -c /dev/null config -d state_directory)" \
	"^state_directory = /var/lib/moat$" "the state directory is /var/lib/moat"
tap_done
