#!/bin/bash
# reload-lists.t - the allow and block list settings apply on SIGHUP, to
# the next request, with no restart. The trial changed recipient_allowlist,
# sent SIGHUP as the README said, and got "this needs a restart; keeping
# "" until then". Each step changes moat.conf, sends SIGHUP, waits for the
# reload to be logged and asks at once; the daemon's PID never changes.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
# q CLIENT [SENDER] [RECIPIENT]: the action for a new triplet.
q() {
	m_policy_query "$port" request=smtpd_access_policy protocol_state=RCPT \
		client_address="$1" client_name=unknown sender="${2:-a@sender.example}" \
		helo_name=mx.sender.example recipient="${3:-rcpt$RANDOM@example.com}"
}
more() { [ "$(grep -cE "$2" "$1")" -gt "$3" ]; }
# hup: SIGHUP, then wait for one more "reloaded" line.
hup() {
	local n
	n=$(grep -c "reloaded " "$log")
	kill -HUP "$pid"
	h_wait_for 10 more "$log" "reloaded " "$n"
}
# set NAME VALUE: change (or add) one line of moat.conf.
set_conf() {
	sed -i "/^$1 =/d" "$conf"
	echo "$1 = $2" >>"$conf"
}

state=$(m_state)
m_quiet_zones
conf=$H_TMP/moat.conf port=$(h_free_port) log=$H_TMP/logs/policyd.log
cat >"$conf" <<CONF
state_directory = $state
run_as = $(id -un)
policy_listen = inet:127.0.0.1:$port
dns_servers = 127.0.0.1:1
client_allowlist =
CONF
printf '192.0.2.7\n' >"$H_TMP/clients"
printf '198.51.100.0/24\n' >"$H_TMP/blocked"
printf 'friend@partner.example\n' >"$H_TMP/senders"
printf 'postmaster@\n' >"$H_TMP/rcpts"
"$(m_bin moat-policyd)" -f -c "$conf" >>"$log" 2>&1 &
pid=$!
h_track $pid moat-policyd
tap_ok "moat-policyd starts with no lists" h_wait_log "ready: listening" 10 "$log"
tap_like "$(q 192.0.2.7)" "^DEFER_IF_PERMIT 4\.7\.1 Greylisted" "192.0.2.7 is greylisted"

set_conf client_allowlist "$H_TMP/clients"
tap_ok "client_allowlist set, SIGHUP: reloaded" hup
tap_is "$(q 192.0.2.7)" "DUNNO" "the next request from 192.0.2.7 is allowed"
tap_ok "...by the client allow list" grep -q "reason=client allow list $H_TMP/clients" "$log"
tap_like "$(q 192.0.2.8)" "^DEFER_IF_PERMIT" "...and 192.0.2.8 is still greylisted"

set_conf client_blocklist "$H_TMP/blocked"
tap_ok "client_blocklist set, SIGHUP" hup
tap_like "$(q 198.51.100.20)" "^REJECT 5\.7\.1 .*client block list" \
	"the next request from 198.51.100.20 is rejected"

set_conf sender_allowlist "$H_TMP/senders"
set_conf recipient_allowlist "$H_TMP/rcpts"
tap_ok "sender_allowlist and recipient_allowlist set, SIGHUP" hup
tap_is "$(q 192.0.2.50 friend@partner.example)" "DUNNO" "the sender allow list applies"
tap_is "$(q 192.0.2.51 a@sender.example postmaster@example.com)" "DUNNO" \
	"the recipient allow list applies"

set_conf client_allowlist ""
tap_ok "client_allowlist emptied, SIGHUP" hup
tap_like "$(q 192.0.2.7)" "^DEFER_IF_PERMIT 4\.7\.1 Greylisted" "192.0.2.7 is greylisted again"

# A source that is not a path or URL: logged, and the lists in force stay.
set_conf client_blocklist "ftp://lists.example/x"
tap_ok "a bad source, SIGHUP" hup
tap_ok "...is logged" grep -q "error: reload: .*ftp://.*keeping the allow and block lists" "$log"
tap_like "$(q 198.51.100.21)" "^REJECT 5\.7\.1 .*client block list" "...and the old block list stays"

tap_ok "the same process all along (no restart)" kill -0 $pid
tap_is "$(grep -c 'needs a restart' "$log")" 0 "no 'needs a restart' for a list setting"
tap_ok "stops cleanly" h_stop $pid
tap_is "$(grep -cE 'fatal|panic' "$log")" 0 "no fatal error"
# After the stop: a leak of the lists replaced is reported at exit.
tap_ok "no sanitizer report (leaks included)" m_check_sanitizer_logs "$log"
tap_done
