#!/bin/bash
# reload.t - SIGHUP makes both daemons read moat.conf again: settings that
# can change live apply to the next request or message (DNS servers,
# greylist text, log level, scan_size_limit); one that needs a restart is
# logged and keeps its value; a broken file is logged with its line and changes
# nothing; the daemons keep running through all of it (libmilter alone
# would stop the milter on SIGHUP).
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
h_init
m_need rbldnsd unbound
# The milter half needs miltertest; without it only that half is skipped.
q() { # q PORT CLIENT [SENDER]
	m_policy_query "$1" request=smtpd_access_policy protocol_state=RCPT client_address="$2" \
		client_name=unknown sender="${3:-a@sender.example}" helo_name=mx.sender.example \
		recipient="rcpt$RANDOM@example.com"
}
# more FILE ERE N: FILE has more than N lines matching ERE.
more() { [ "$(grep -cE "$2" "$1")" -gt "$3" ]; }
# hup PID LOG: SIGHUP, then wait for one more "reloaded"/"reload:" line.
hup() {
	local n
	n=$(grep -cE "reloaded |reload: " "$2")
	kill -HUP "$1"
	h_wait_for 10 more "$2" "reloaded |reload: " "$n"
}

tap_ok "rbldnsd and unbound serve the test lists" z_start_lists
tap_ok "a resolver that never answers" h_start_dns_blackhole
tap_ok "test zones in the database" z_setup_db
state=$(m_state)

# --- moat-policyd --------------------------------------------------------
conf=$H_TMP/policyd.conf
port=$(h_free_port) port2=$(h_free_port)
log=$H_TMP/logs/policyd.log
cat >"$conf" <<CONF
state_directory = $state
run_as = $(id -un)
policy_listen = inet:127.0.0.1:$port
greylist_mode = suspicious
greylist_text = Greylisted A, %s seconds
dns_servers = 127.0.0.1:$H_BLACKHOLE_PORT
dns_timeout = 1s
dns_retries = 0
CONF
"$(m_bin moat-policyd)" -f -c "$conf" >>"$log" 2>&1 &
ppid=$!
h_track $ppid moat-policyd
tap_ok "moat-policyd starts with a resolver that never answers" h_wait_log "ready: listening" 10 "$log"
tap_like "$(q $port 192.0.2.99)" "^DEFER_IF_PERMIT 4\.7\.1 .*DNS lookup at [a-z.]+ timed out" \
	"a listed client gets a soft reject: the lists time out"

tap_is "$(grep -c 'debug:' "$log")" 0 "no debug lines at log_level = info"
sed -i -e "s/^dns_servers = .*/dns_servers = 127.0.0.1:$H_UNBOUND_PORT/" \
	-e "s/^greylist_text = .*/greylist_text = Greylisted B, %s seconds/" "$conf"
echo "log_level = debug" >>"$conf"
tap_ok "SIGHUP: reloaded" hup $ppid "$log"
tap_ok "...logged" grep -q "reloaded $conf" "$log"
tap_like "$(q $port 192.0.2.99)" "^REJECT 5\.7\.1 .*listed at bl\.test$" \
	"the next request uses the new DNS servers: the client is rejected"
tap_like "$(q $port 192.0.2.98 x@spammer.example)" "^DEFER_IF_PERMIT 4\.7\.1 Greylisted B, [0-9]+ seconds$" \
	"...and the new greylist_text"
tap_ok "...and log_level = debug: connections are logged" grep -q "debug: policy connection from 127\.0\.0\.1" "$log"

# A setting that needs a restart: logged, old value kept.
sed -i "s/^policy_listen = .*/policy_listen = inet:127.0.0.1:$port2/" "$conf"
tap_ok "SIGHUP with a new policy_listen" hup $ppid "$log"
tap_ok "...logged as needing a restart" grep -q "warning: reload: policy_listen changed from \"inet:127.0.0.1:$port\" to \"inet:127.0.0.1:$port2\": this needs a restart" "$log"
tap_like "$(q $port 192.0.2.99)" "^REJECT" "...still answering on the old address"

# A broken file: error with the line, nothing changes.
echo "greylist_dealy = 5m" >>"$conf"
sed -i "s/^greylist_text = .*/greylist_text = Greylisted C, %s seconds/" "$conf"
tap_ok "SIGHUP with a broken file" hup $ppid "$log"
tap_ok "...the error names file, line and setting" grep -q "error: reload: $conf, line 10: unknown setting \"greylist_dealy\"; keeping the settings in use" "$log"
tap_like "$(q $port 192.0.2.98 x@spammer.example)" "Greylisted B" "...and the old settings stay (not even the good line applies)"
for i in 1 2 3 4 5; do kill -HUP $ppid; done
sleep 1
tap_ok "five SIGHUPs in a row: still running" kill -0 $ppid
tap_like "$(q $port 192.0.2.99)" "^REJECT" "...and answering"

# --- moat-contentfilter --------------------------------------------------
if command -v miltertest >/dev/null; then
	conf=$H_TMP/contentfilter.conf
	mport=$(h_free_port) mport2=$(h_free_port)
	log=$H_TMP/logs/contentfilter.log
	cat >"$conf" <<-CONF
	state_directory = $state
	run_as = $(id -un)
	milter_listen = inet:127.0.0.1:$mport
	dns_servers = 127.0.0.1:1
	scan_size_limit = 20m
	CONF
	"$(m_bin moat-contentfilter)" -f -c "$conf" >>"$log" 2>&1 &
	mpid=$!
	h_track $mpid moat-contentfilter
	tap_ok "moat-contentfilter starts" h_wait_log "ready: listening" 10 "$log"
	export MOAT_MILTER_PORT=$mport
	scan() { miltertest -s "$MOAT_SRCDIR/t/data/milter/big.lua"; }
	tap_ok "a 3 KB message is scanned" scan
	tap_ok "...whole" h_wait_log "client=198\.51\.100\.30, .*symbols=" 5 "$log"
	tap_is "$(grep -c "MOAT_TOO_BIG" "$log")" 0 "...no MOAT_TOO_BIG under 20m"

	sed -i "s/^scan_size_limit = .*/scan_size_limit = 1k/" "$conf"
	tap_ok "SIGHUP: reloaded" hup $mpid "$log"
	tap_ok "the milter is still running (libmilter did not take the SIGHUP)" kill -0 $mpid
	tap_ok "the next message is scanned" scan
	tap_ok "...only its first 1k: MOAT_TOO_BIG" h_wait_log "client=198\.51\.100\.30, .*MOAT_TOO_BIG" 5 "$log"

	sed -i "s/^milter_listen = .*/milter_listen = inet:127.0.0.1:$mport2/" "$conf"
	tap_ok "SIGHUP with a new milter_listen" hup $mpid "$log"
	tap_ok "...logged as needing a restart" grep -q "warning: reload: milter_listen changed .*: this needs a restart" "$log"
	echo "scan_size_limit = lots" >>"$conf"
	tap_ok "SIGHUP with a broken file" hup $mpid "$log"
	tap_ok "...the error names file, line and value" grep -q "error: reload: $conf, line 6: scan_size_limit = lots: expected a size" "$log"
	for i in 1 2 3 4 5; do kill -HUP $mpid; done
	sleep 1
	tap_ok "five SIGHUPs in a row: still running" kill -0 $mpid
	tap_ok "...and scanning, with the old limit" scan
	tap_ok "...MOAT_TOO_BIG again" h_wait_for 10 more "$log" "client=198\.51\.100\.30, .*MOAT_TOO_BIG" 1

	kill -TERM $mpid
	wait $mpid
	tap_is "$?" 0 "SIGTERM still stops it cleanly (exit 0)"
else
	tap_skip "miltertest not installed" 16
fi
kill -TERM $ppid
wait $ppid
tap_is "$?" 0 "...and moat-policyd"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
