#!/bin/bash
# install.t - "make install DESTDIR=..." puts every part in place (programs,
# man pages, the sample moat.conf, the state directory, systemd units), a
# changed moat.conf survives a second install and the uninstall, and the
# installed programs work from there: the daemons started with the
# installed sample configuration answer a policy request and scan a
# message over the milter protocol. The man pages render without a
# warning and document every setting and command; systemd accepts the
# units.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
root=$H_TMP/root
# A make of our own, not a part of the "make check" that runs this test
# (whose flags would add "Entering directory" lines and a jobserver).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
mk() { make -s --no-print-directory -C "$MOAT_BUILDDIR" "$@" DESTDIR="$root"; }
# Where this build installs (configure's prefix and directories).
var() { {
	make -s --no-print-directory -C "$MOAT_BUILDDIR" -f Makefile -f - print-var V="$1" <<'EOF_MK'
print-var:
	@echo $($(V))
EOF_MK
} | grep -v '^make\['; }
sbindir=$(var sbindir) bindir=$(var bindir) mandir=$(var mandir)
sysconfdir=$(var sysconfdir) localstatedir=$(var localstatedir)
unitdir=$(var systemdsystemunitdir)

tap_ok "make install DESTDIR= succeeds" mk install
for f in "$sbindir/moat-policyd" "$sbindir/moat-contentfilter" "$sbindir/moat-controller" "$bindir/moatctl"; do
	tap_ok "installed and executable: $f" test -x "$root$f"
done
for f in man8/moat-policyd.8 man8/moat-contentfilter.8 man8/moat-controller.8 man1/moatctl.1 man5/moat.conf.5; do
	tap_ok "man page installed: $f" test -s "$root$mandir/$f"
done
www=$(var wwwdir)
n=0
for f in "$MOAT_SRCDIR"/controller/www/*; do
	cmp -s "$f" "$root$www/${f##*/}" && n=$((n + 1))
done
tap_is "$n" "$(ls "$MOAT_SRCDIR"/controller/www | wc -l)" "the web UI's files installed in $www"
tap_ok "...where moat-controller looks for them" grep -qF "\"$www\"" "$MOAT_BUILDDIR/moat_paths.h"
conf=$root$sysconfdir/moat/moat.conf
tap_ok "sample moat.conf installed" test -s "$conf"
tap_ok "state directory created" test -d "$root$localstatedir/lib/moat"
if [ -n "$unitdir" ]; then
	tap_ok "systemd units installed" test -s "$root$unitdir/moat-policyd.service" -a \
		-s "$root$unitdir/moat-contentfilter.service" -a -s "$root$unitdir/moat-controller.service"
else
	tap_skip "configured without systemd units"
fi

# The sample lists every setting, commented out, with its default.
nset=$("$root$bindir/moatctl" -c /dev/null config -d | wc -l)
tap_ok "moatctl config -d lists the settings ($nset)" test "$nset" -ge 40
missing=
while IFS= read -r line; do
	grep -qxF "#$line" "$conf" || missing+="$line; "
done < <("$root$bindir/moatctl" -c /dev/null config -d)
tap_is "$missing" "" "the sample has every setting as '#name = default'"
tap_is "$(grep -cv '^#\|^$' "$conf")" 0 "...and sets none (only comments)"
tap_ok "the sample loads as it is" "$root$bindir/moatctl" -c "$conf" config -n

# A second install never replaces an admin's file; uninstall leaves it too.
echo "greylist_delay = 1m" >>"$conf"
tap_like "$(mk install 2>&1)" "keeping .*moat\.conf" "a second install keeps a changed moat.conf"
tap_ok "...unchanged" grep -qx "greylist_delay = 1m" "$conf"

# The installed daemons, with the installed configuration (greylist_delay
# = 1m from it) and the ports, state and DNS of this test.
state=$H_TMP/istate
mkdir -p "$state"
"$root$bindir/moatctl" -c "$conf" -o state_directory="$state" migrate >/dev/null &&
	sqlite3 "$state/moat.db" "UPDATE dnsbl_zones SET enabled = 0"
pport=$(h_free_port) mport=$(h_free_port)
common=(-f -c "$conf" -o state_directory="$state" -o dns_servers=127.0.0.1:1 -o run_as="$(id -un)")
"$root$sbindir/moat-policyd" "${common[@]}" -o policy_listen="inet:127.0.0.1:$pport" \
	>>"$H_TMP/logs/ipolicyd.log" 2>&1 &
h_track $! moat-policyd
"$root$sbindir/moat-contentfilter" "${common[@]}" -o milter_listen="inet:127.0.0.1:$mport" \
	>>"$H_TMP/logs/icontentfilter.log" 2>&1 &
h_track $! moat-contentfilter
tap_ok "installed moat-policyd starts" h_wait_log "ready: listening" 10 "$H_TMP/logs/ipolicyd.log"
tap_ok "installed moat-contentfilter starts" h_wait_log "ready: listening" 10 \
	"$H_TMP/logs/icontentfilter.log"
tap_like "$(m_policy_query "$pport" request=smtpd_access_policy protocol_state=RCPT \
	client_address=192.0.2.1 sender=a@example.org recipient=b@example.com)" \
	"^DEFER_IF_PERMIT 4\.7\.1 Greylisted, please try again in 60 seconds$" \
	"installed moat-policyd answers, with greylist_delay from the installed file"
if command -v miltertest >/dev/null; then
	tap_ok "installed moat-contentfilter scans a message (miltertest)" \
		env MOAT_MILTER_PORT="$mport" miltertest -s "$MOAT_SRCDIR/t/data/milter/clean.lua"
else
	tap_skip "miltertest not installed"
fi

# Man pages: no groff warning, every setting in moat.conf(5), every command in moatctl(1).
for f in man8/moat-policyd.8 man8/moat-contentfilter.8 man8/moat-controller.8 man1/moatctl.1 man5/moat.conf.5; do
	out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$root$mandir/$f" 2>&1)
	tap_is "$out" "" "groff -man -ww: no warnings in $f"
	if command -v man >/dev/null; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$root$mandir/$f" 2>&1 >/dev/null)
		tap_is "$out" "" "man -l: no warnings in $f"
	else
		tap_skip "man not installed"
	fi
done
page=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$root$mandir/man5/moat.conf.5" 2>/dev/null)
missing=
while IFS=' =' read -r name _; do
	grep -qE "^ +$name = " <<<"$page" || missing+="$name "
done < <("$root$bindir/moatctl" -c /dev/null config -d)
tap_is "$missing" "" "moat.conf(5) documents every setting"
tap_ok "...and the database views" grep -q "greylist_pending" <<<"$page"
page=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$root$mandir/man1/moatctl.1" 2>/dev/null)
missing=
cmds=$("$root$bindir/moatctl" --help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
tap_ok "moatctl --help lists commands" test "$(wc -w <<<"$cmds")" -ge 8
for cmd in $cmds; do
	grep -qE "^ +$cmd( |$)" <<<"$page" || missing+="$cmd "
done
tap_is "$missing" "" "moatctl(1) documents every command of moatctl --help"

# systemd accepts the units (pointed at the installed programs).
if [ -n "$unitdir" ] && command -v systemd-analyze >/dev/null; then
	mkdir -p "$H_TMP/units"
	for u in moat-policyd moat-contentfilter moat-controller; do
		sed "s|^ExecStart=$sbindir/|ExecStart=$root$sbindir/|" "$root$unitdir/$u.service" \
			>"$H_TMP/units/$u.service"
		out=$(systemd-analyze verify --man=no "$H_TMP/units/$u.service" 2>&1)
		tap_is "$?:$out" "0:" "systemd-analyze verify $u.service: no complaints"
	done
	tap_ok "ExecReload sends SIGHUP" grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' \
		"$H_TMP/units/moat-policyd.service"
else
	tap_skip "systemd-analyze or the units not available" 3
fi

tap_ok "make uninstall succeeds" mk uninstall
tap_ok "...removes the programs" test ! -e "$root$sbindir/moat-policyd"
tap_ok "...keeps the changed moat.conf" grep -qx "greylist_delay = 1m" "$conf"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
