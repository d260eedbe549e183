#!/bin/bash
# cli.t - the programs' command line: help, version, configuration errors,
# unusable database, port in use, clean stop on SIGTERM, moatctl config.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init

for p in moat-policyd moat-contentfilter moat-controller moatctl; do
	bin=$(m_bin $p)
	out=$("$bin" --help 2>&1)
	tap_ok "$p --help exits 0" test $? -eq 0
	tap_like "$out" "Usage: $p" "$p --help prints usage"
	tap_like "$out" "-c FILE" "$p --help documents -c"
	out=$("$bin" --version 2>&1)
	tap_like "$out" "^$p [0-9]+\.[0-9]+\.[0-9]+$" "$p --version prints name and version"
	out=$("$bin" --no-such-option 2>&1)
	tap_is "$?" 2 "$p rejects an unknown option with exit 2"
done

# A typo in moat.conf: one line naming file and line, non-zero exit.
conf=$H_TMP/moat.conf
printf '# test\npolicy_listen = inet:127.0.0.1:1\npolicy_lisen = x\n' >"$conf"
for p in moat-policyd moat-contentfilter moat-controller moatctl; do
	if [ $p = moatctl ]; then
		out=$("$(m_bin $p)" -c "$conf" config 2>&1)
	else
		out=$(timeout 10 "$(m_bin $p)" -f -c "$conf" -o state_directory="$H_TMP/s" 2>&1)
	fi
	rc=$?
	tap_ok "$p: config typo gives a non-zero exit" test $rc -ne 0 -a $rc -ne 124
	tap_like "$out" "fatal: $conf, line 3: unknown setting \"policy_lisen\"" \
		"$p: the error names the file, line and setting"
	tap_is "$(printf '%s\n' "$out" | wc -l)" 1 "$p: exactly one line"
done

out=$(timeout 10 "$(m_bin moat-policyd)" -f -c "$H_TMP/none.conf" 2>&1)
tap_like "$out" "cannot open $H_TMP/none.conf" "a missing -c file is an error"
out=$(timeout 10 "$(m_bin moat-policyd)" -f -o policy_idle_timeout=never 2>&1)
tap_like "$out" "-o policy_idle_timeout=never: policy_idle_timeout = never: expected a time" \
	"a bad -o value is explained"

# Unusable database paths.
echo "not a database, only text ........................................................" \
	>"$H_TMP/text.db"
for p in moat-policyd moat-contentfilter moat-controller; do
	out=$(timeout 10 "$(m_bin $p)" -f -o state_directory="$H_TMP/s" -o run_as="$(id -un)" \
		-o database_path="$H_TMP/text.db" 2>&1)
	rc=$?
	tap_ok "$p: a non-database file is a start-up error" test $rc -eq 1
	tap_like "$out" "fatal: .*$H_TMP/text.db" "$p: the error names the database"
done
mkdir -p "$H_TMP/ro"
touch "$H_TMP/ro/moat.db" && chmod 000 "$H_TMP/ro/moat.db"
if [ "$(id -u)" -eq 0 ]; then
	# root reads anything: use a path under a regular file instead.
	out=$(timeout 10 "$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/s" \
		-o database_path="$H_TMP/text.db/sub/moat.db" -o run_as=root 2>&1)
	rc=$?
	out=$(grep -v 'warning: running as root' <<<"$out")
	(exit $rc)
else
	out=$(timeout 10 "$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/s" \
		-o database_path="$H_TMP/ro/moat.db" 2>&1)
fi
tap_ok "unreadable database path: exit 1" test $? -eq 1
tap_like "$out" $'^[^\n]*fatal: [^\n]*$' "unreadable database path: one fatal line"

# The daemons start, say they are ready, refuse a port in use, stop on SIGTERM.
m_start_policyd
tap_ok "moat-policyd logs that it is ready" h_wait_log "ready: listening on inet:127.0.0.1:$M_POLICY_PORT" 10 "$M_POLICYD_LOG"
m_start_contentfilter
tap_ok "moat-contentfilter logs that it is ready" h_wait_log "ready: listening on inet:127.0.0.1:$M_MILTER_PORT" 10 "$M_MILTER_LOG"
tap_ok "moatctl created the schema the daemons use" test -s "$H_TMP/state/moat.db"

out=$(timeout 10 "$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/state" \
	-o policy_listen="inet:127.0.0.1:$M_POLICY_PORT" -o run_as="$(id -un)" 2>&1)
tap_ok "moat-policyd: port in use is exit 1" test $? -eq 1
tap_like "$out" "fatal: cannot listen on inet:127.0.0.1:$M_POLICY_PORT: Address already in use" \
	"moat-policyd: port in use is explained"
out=$(timeout 10 "$(m_bin moat-contentfilter)" -f -o state_directory="$H_TMP/state" \
	-o milter_listen="inet:127.0.0.1:$M_MILTER_PORT" -o run_as="$(id -un)" 2>&1)
tap_ok "moat-contentfilter: port in use is exit 1" test $? -eq 1
tap_like "$out" "fatal: cannot listen on inet:127.0.0.1:$M_MILTER_PORT: Address already in use" \
	"moat-contentfilter: port in use is explained"

tap_like "$(m_policy_query "$M_POLICY_PORT" request=smtpd_access_policy protocol_state=RCPT \
	client_address=192.0.2.1 sender=a@example.org recipient=b@example.com)" \
	"^DEFER_IF_PERMIT 4\.7\.1 Greylisted" "moat-policyd answers a policy request (greylisted)"

kill -TERM "$M_POLICYD_PID"
wait "$M_POLICYD_PID"
tap_is "$?" 0 "moat-policyd exits 0 on SIGTERM"
tap_ok "moat-policyd logs its stop" grep -q "stopped after 1 requests" "$M_POLICYD_LOG"
kill -INT "$M_MILTER_PID"
wait "$M_MILTER_PID"
tap_is "$?" 0 "moat-contentfilter exits 0 on SIGINT"
tap_ok "moat-contentfilter logs its stop" grep -q "stopped" "$M_MILTER_LOG"

# unix: sockets work too and are removed at exit.
sock=$H_TMP/policy.sock
"$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/state" -o policy_listen="unix:$sock" \
	-o run_as="$(id -un)" >>"$H_TMP/logs/unix.log" 2>&1 &
pid=$!
h_track $pid
tap_ok "moat-policyd listens on a unix socket" h_wait_for 10 test -S "$sock"
kill -TERM $pid
wait $pid
tap_ok "the unix socket is removed at exit" test ! -e "$sock"

# moatctl config: effective settings, -n only the set ones, -d defaults.
printf 'state_directory = /var/tmp/x\npolicy_listen = inet:127.0.0.1:2525\n' >"$conf"
out=$("$(m_bin moatctl)" -c "$conf" config)
tap_like "$out" $'(^|\n)database_path = /var/tmp/x/moat.db\n' "config shows expanded values"
tap_like "$out" $'(^|\n)milter_listen = inet:127.0.0.1:11332\n' "config shows defaults too"
out=$("$(m_bin moatctl)" -c "$conf" config -n)
tap_is "$out" $'policy_listen = inet:127.0.0.1:2525\nstate_directory = /var/tmp/x' \
	"config -n shows only the set ones, sorted, like postconf -n"
out=$("$(m_bin moatctl)" -c "$conf" config -d policy_listen)
tap_is "$out" "policy_listen = inet:127.0.0.1:10040" "config -d NAME shows the default"
out=$("$(m_bin moatctl)" -c "$conf" -o policy_listen=unix:/tmp/p config policy_listen)
tap_is "$out" "policy_listen = unix:/tmp/p" "moatctl -o overrides"
out=$("$(m_bin moatctl)" -c "$conf" config -H)
tap_like "$out" "policy_idle_timeout = 600s" "config -H documents every setting"
out=$(m_ctl actions)
tap_like "$out" $'greylist\t4.00.*add header\t6.00.*rewrite subject\t7.00.*reject\t11.00' \
	"moatctl actions lists the thresholds in order"

tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
