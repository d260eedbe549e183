#!/bin/bash
# doctor.t - moatctl doctor's daemon and Postfix checks, each passing and
# failing: a real policy request to moat-policyd, a milter negotiation with
# moat-contentfilter, whether Postfix's user can reach a unix socket
# (directories and socket mode), and whether main.cf names both daemons'
# addresses, read with postconf from a private configuration directory
# (MOAT_POSTCONF="postconf -c DIR").
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v postconf >/dev/null || [ -x /usr/sbin/postconf ] || tap_skip_all "postconf not installed"
db=$(m_state)/moat.db
m_quiet_zones
pf=$H_TMP/pf
mkdir -p "$pf"
: >"$pf/master.cf"
export MOAT_POSTCONF="postconf -c $pf"
# maincf LINE...: the private main.cf doctor reads through postconf.
maincf() { printf '%s\n' "mail_owner = postfix" "$@" >"$pf/main.cf"; }
pport=$(h_free_port)
mport=$(h_free_port)
doc() { m_ctl -o policy_listen="inet:127.0.0.1:$pport" -o milter_listen="inet:127.0.0.1:$mport" \
	"$@" doctor 2>&1; }

# Nothing running, nothing in main.cf: noted, not a failure.
maincf
out=$(doc)
tap_is "$?" 0 "no daemons and main.cf without them: exit 0"
tap_like "$out" "moat-policyd: not running on inet:127\.0\.0\.1:$pport \(Connection refused\), and Postfix does not use it" \
	"...the policy server noted as unused"
tap_like "$out" "moat-contentfilter: not running on inet:127\.0\.0\.1:$mport \(Connection refused\), and Postfix does not use it" \
	"...and the milter"

# main.cf sends mail to both, and neither runs: failures, with the reason.
maincf "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, check_policy_service { inet:127.0.0.1:$pport, timeout=10s }" \
	"smtpd_milters = unix:/run/other.sock, inet:127.0.0.1:$mport"
out=$(doc)
tap_is "$?" 1 "main.cf uses both, neither runs: exit 1"
tap_like "$out" "FAILED: moat-policyd: no answer on inet:127\.0\.0\.1:$pport \(policy_listen = [^)]*\): Connection refused; Postfix sends mail to it" \
	"...the policy server does not answer"
tap_like "$out" "FAILED: moat-contentfilter: no answer on inet:127\.0\.0\.1:$mport .*Connection refused; Postfix sends mail to it" \
	"...nor the milter"
tap_like "$out" "postfix: smtpd_recipient_restrictions names inet:127\.0\.0\.1:$pport" \
	"...main.cf's check_policy_service found (Postfix 3 { } form)"
tap_like "$out" "postfix: smtpd_milters names inet:127\.0\.0\.1:$mport" "...and its smtpd_milters entry"
tap_like "$out" "doctor: problems found" "...and the verdict says so"

# Both run: they answer a real request each.
tap_ok "moat-policyd starts" m_start_policyd
tap_ok "moat-contentfilter starts" m_start_contentfilter
pport=$M_POLICY_PORT mport=$M_MILTER_PORT
maincf "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$pport" \
	"smtpd_milters = inet:127.0.0.1:$mport"
out=$(doc)
tap_is "$?" 0 "both running and in main.cf: exit 0"
tap_like "$out" "moat-policyd: answers on inet:127\.0\.0\.1:$pport \(a policy request: action=DUNNO\)" \
	"the policy server answers a policy request"
tap_like "$out" "moat-contentfilter: answers on inet:127\.0\.0\.1:$mport \(a milter negotiation: protocol version 6\)" \
	"the milter answers a negotiation"
tap_like "$out" "doctor: all good" "...all good"
tap_ok "the policy probe was logged by moat-policyd as a CONNECT request" \
	h_wait_log "client=127\.0\.0\.1, state=CONNECT, .*action=DUNNO" 5 "$M_POLICYD_LOG"
tap_is "$(sqlite3 "$db" "SELECT count(*) FROM greylist")" 0 "...and left no greylist entry"
tap_ok "the milter closed the probe without an error" \
	bash -c "! grep -v 'running as root' '$M_MILTER_LOG' | grep -Ei 'error|warning'"

maincf "smtpd_client_restrictions = permit_mynetworks, check_policy_service inet:127.0.0.1:$pport" \
	"smtpd_milters = inet:127.0.0.1:$mport"
tap_like "$(doc)" "postfix: smtpd_client_restrictions names inet:127\.0\.0\.1:$pport" \
	"check_policy_service in smtpd_client_restrictions counts too (it runs at RCPT)"

# Running, but main.cf does not name them (a typo in the port).
maincf "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:1$pport" \
	"smtpd_milters = inet:localhost:$mport"
out=$(doc)
tap_is "$?" 0 "running, not in main.cf: a warning, exit 0"
tap_like "$out" "warning: postfix: moat-policyd runs, but Postfix does not use it: add \"check_policy_service inet:127\.0\.0\.1:$pport\" to smtpd_recipient_restrictions" \
	"...says what to add for the policy server"
tap_like "$out" "warning: postfix: moat-contentfilter runs, but Postfix does not use it: add inet:127\.0\.0\.1:$mport to smtpd_milters" \
	"...and for the milter"

# Something else answers on the milter's port: not a milter.
h_stop "$M_MILTER_PID"
maincf "smtpd_milters = inet:127.0.0.1:$pport"
out=$(m_ctl -o policy_listen="inet:127.0.0.1:1" -o milter_listen="inet:127.0.0.1:$pport" doctor 2>&1)
tap_is "$?" 1 "the milter address answered by the policy server: exit 1"
tap_like "$out" "FAILED: moat-contentfilter: no answer on inet:127\.0\.0\.1:$pport .*: (no milter negotiation: (connection closed|Connection timed out)|not a milter negotiation reply)" \
	"...no milter negotiation"

# A unix socket: Postfix's user must reach it.
sdir=$H_TMP/sock/moat
mkdir -p "$sdir"
chmod 0700 "$H_TMP/sock"
chmod 0755 "$sdir"
sock=$sdir/milter.sock
log=$H_TMP/logs/contentfilter-unix.log
"$(m_bin moat-contentfilter)" -f -o state_directory="$(m_state)" -o milter_listen="unix:$sock" \
	-o dns_servers=127.0.0.1:1 -o run_as="$(id -un)" -o unix_socket_group=postfix \
	-o unix_socket_mode=0660 >>"$log" 2>&1 &
upid=$!
h_track $upid moat-contentfilter
tap_ok "moat-contentfilter on a unix socket" h_wait_log "ready: listening" 10 "$log"
udoc() { m_ctl -o policy_listen="inet:127.0.0.1:1" -o milter_listen="unix:$sock" doctor 2>&1; }
maincf "smtpd_milters = unix:$sock"
out=$(udoc)
tap_is "$?" 1 "a directory Postfix cannot search: exit 1"
tap_like "$out" "FAILED: moat-contentfilter: Postfix \(user postfix\) cannot reach unix:$sock: no search permission on $H_TMP/sock \(mode 0700, " \
	"...naming the directory and its mode"
chmod 0711 "$H_TMP/sock"
for d in "$H_TMP" "$(dirname "$H_TMP")"; do
	[ "$(stat -c %a "$d")" = 700 ] && chmod 0711 "$d"
done
out=$(udoc)
tap_is "$?" 0 "directories searchable, socket group postfix mode 0660: exit 0"
tap_like "$out" "moat-contentfilter: Postfix \(user postfix\) may connect to unix:$sock" "...Postfix may connect"
tap_like "$out" "moat-contentfilter: answers on unix:$sock \(a milter negotiation" "...and it answers there"
maincf "mail_owner = nobody" "smtpd_milters = unix:$sock"
out=$(udoc)
tap_is "$?" 1 "a mail_owner outside the socket's group: exit 1"
tap_like "$out" "FAILED: moat-contentfilter: Postfix \(user nobody, group [a-z]+\) cannot connect to unix:$sock: no write permission on the socket \(mode 0660, [a-z0-9]+:postfix\); see unix_socket_group" \
	"...no write permission on the socket, with its mode and group"
queue=$H_TMP/sock
maincf "queue_directory = $queue" "smtpd_milters = unix:moat/milter.sock"
tap_like "$(udoc)" "postfix: smtpd_milters names unix:$sock" \
	"a path relative to queue_directory (chrooted smtpd) is the same socket"
h_stop $upid

# A moat.conf with errors: the commands go on, doctor names it a failure.
printf 'greylist_dealy = 5m\n' >"$H_TMP/typo.conf"
out=$(m_ctl -c "$H_TMP/typo.conf" -o policy_listen="inet:127.0.0.1:1" -o milter_listen="inet:127.0.0.1:1" doctor 2>&1)
tap_is "$?" 1 "moat.conf with a typo: doctor exits 1"
tap_like "$out" "FAILED: $H_TMP/typo\.conf has 1 error\(s\) \(warned about above\): the daemons will not start with it" \
	"...and says the daemons will not start"

# Without postconf the wiring is not checked, and says so.
out=$(MOAT_POSTCONF=/nonexistent/postconf doc)
tap_like "$out" "warning: postconf did not answer: not checking that main.cf uses the daemons" \
	"no postconf: the wiring is not checked, and the output says so"

h_stop "$M_POLICYD_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
