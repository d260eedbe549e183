#!/bin/bash
# greylist-postfix.t - greylisting end to end through a private Postfix:
# the first delivery gets 450 4.7.1 at RCPT, an early retry too, the retry
# after the delay is accepted and arrives at smtp-sink with X-Greylist;
# allow-listed clients and recipients are never deferred.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink

printf '# postgrey format\n192.0.2.0/24\n' >"$H_TMP/clients"
printf 'postmaster@\n' >"$H_TMP/recipients"
tap_ok "moat-policyd starts (3 s delay)" m_start_policyd -o greylist_delay=3s \
	-o greylist_allow_clients="$H_TMP/clients" -o greylist_allow_recipients="$H_TMP/recipients" \
	-o myhostname=mx.moat.test
# Clients come through XCLIENT from outside mynetworks, as real MX traffic
# does: example.com is a relay domain, so they may send to it.
tap_ok "private Postfix with check_policy_service" h_start_postfix \
	"relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT"

send() { # send CLIENT-IP RCPT SUBJECT: swaks through XCLIENT as that client
	h_swaks --xclient-addr "$1" --xclient-name unknown --from news@sender.example \
		--to "$2" --header "Subject: $3" --body "greylist test" 2>&1
}
out=$(send 203.0.113.9 bob@example.com "first")
tap_like "$out" "<\*\* 450 4\.7\.1 <bob@example\.com>: Recipient address rejected: Greylisted, please try again in 3 seconds" \
	"first delivery: 450 4.7.1 Greylisted at RCPT"
out=$(send 203.0.113.9 bob@example.com "early")
tap_like "$out" "<\*\* 450 4\.7\.1 .*Greylisted" "an early retry is deferred too"
sleep 3.2
out=$(send 203.0.113.77 bob@example.com "retry")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "the retry after the delay (same /24) is accepted"
tap_ok "...and arrives at smtp-sink" h_sink_wait 1 20
f=$(h_sink_last)
tap_ok "...with an X-Greylist header" grep -qE "^X-Greylist: delayed [0-9]+ seconds by moat-policyd-[0-9.]+ at mx\.moat\.test; " "$f"
tap_ok "...on the retried message" grep -q "^Subject: retry" "$f"
out=$(send 203.0.113.9 bob@example.com "again")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "later messages of the triplet pass at once"
tap_ok "...and arrive" h_sink_wait 2 20
tap_ok "...without a second X-Greylist header" bash -c "! grep -q '^X-Greylist' '$(h_sink_last)'"

out=$(send 192.0.2.55 carol@example.com "allowed client")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "an allow-listed client is never deferred"
out=$(send 198.51.100.4 postmaster@example.com "allowed recipient")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "an allow-listed recipient is never deferred"
tap_ok "all four accepted messages arrived" h_sink_wait 4 20
tap_is "$(sqlite3 "$H_TMP/state/moat.db" "SELECT client || ' ' || sender || ' ' || recipient FROM greylist_passed")" \
	"203.0.113.0 news@sender.example bob@example.com" "the sqlite3 shell shows the passed triplet in greylist_passed"

h_postfix_stop
h_stop "$M_POLICYD_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
