#!/bin/bash
# greylist-crash.t - nothing moat-policyd has answered for is lost when it
# is killed: replies go out only after the state they depend on is
# committed, so after kill -9 every deferred triplet is in the database and
# a restarted daemon treats its retry as a retry.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
db=$H_TMP/state/moat.db
n=300

tap_ok "moat-policyd starts" m_start_policyd -o greylist_delay=2s
exec {c}<>"/dev/tcp/127.0.0.1/$M_POLICY_PORT"
deferred=0
for i in $(seq 1 $n); do
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=198.51.%d.%d\nsender=s%d@sender.example\nrecipient=r%d@example.com\n\n' \
		$((i / 250)) $((i % 250 + 1)) "$i" "$i" >&"$c"
	IFS= read -r -t 5 line <&"$c" && IFS= read -r -t 5 _ <&"$c"
	[[ $line == action=DEFER_IF_PERMIT* ]] && deferred=$((deferred + 1))
done
tap_is "$deferred" "$n" "$n new triplets deferred, each answer read"
kill -9 "$M_POLICYD_PID"
wait "$M_POLICYD_PID" 2>/dev/null
exec {c}>&-
tap_is "$(sqlite3 "$db" "SELECT count(*) FROM greylist WHERE passed_at IS NULL")" "$n" \
	"after kill -9 all $n answered triplets are in the database"
tap_is "$(sqlite3 "$db" "PRAGMA integrity_check")" "ok" "the database is intact"

tap_ok "moat-policyd restarts" m_start_policyd -o greylist_delay=2s
sleep 2.1
tap_like "$(m_policy_query "$M_POLICY_PORT" request=smtpd_access_policy protocol_state=RCPT \
	client_address=198.51.0.2 sender=s1@sender.example recipient=r1@example.com)" \
	"^PREPEND X-Greylist: delayed [0-9]+ seconds" "a retry after the restart passes as a retry"
h_stop "$M_POLICYD_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
