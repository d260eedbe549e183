#!/bin/bash
# greylist-header-postfix.t - a triplet that waited, from a sender whose
# domain is on a DNS list: moat-policyd's one PREPEND must carry both the
# list's symbol (X-Moat-Policy) and the wait (issue 13, trial problem 12).
# The delivered message has the symbol in X-Spamd-Result and an
# X-Greylist header, which the content filter writes from the signed
# X-Moat-Policy it removes.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
h_init
m_need postfix swaks smtp-sink rbldnsd unbound
tap_ok "test lists served" z_start_lists
tap_ok "test zones in the database" z_setup_db
tap_ok "moat-policyd starts (2 s delay)" m_start_policyd -o dns_servers="127.0.0.1:$H_UNBOUND_PORT" \
	-o greylist_delay=2s -o myhostname=mx.moat.test
tap_ok "moat-contentfilter starts" m_start_contentfilter -o dns_servers="127.0.0.1:$H_UNBOUND_PORT" \
	-o myhostname=mx.moat.test
tap_ok "private Postfix with both" h_start_postfix \
	"relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT" \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"

send() { # send FROM SUBJECT
	h_swaks --xclient-addr 203.0.113.20 --xclient-name unknown --from "$1" \
		--to bob@example.com --header "Subject: $2" --body "x" 2>&1
}
out=$(send news@spammer.example "first try")
tap_like "$out" "<\*\* 450 4\.7\.1 .*Greylisted" "a sender domain on dbl.test: greylisted at RCPT"
sleep 2.2
out=$(send news@spammer.example "retry")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "the retry after the delay is accepted"
tap_ok "...with X-Moat-Policy carrying the wait" h_wait_log "action=PREPEND X-Moat-Policy: TEST_DBL\(2\.50\)\[spammer\.example:sender\]; greylist=[0-9]+; ts=" 5 "$M_POLICYD_LOG"
tap_ok "...and arrives" h_sink_wait 1 20
f=$(h_sink_last)
m=$(cat "$f")
tap_like "$m" "X-Spamd-Result: default: False \[[0-9.]+ / 11\.00\];[^$'\n']*TEST_DBL\(2\.50\)\[spammer\.example:sender\]" \
	"the list's symbol is in the content filter's result"
tap_ok "...and the message has an X-Greylist header" \
	grep -qE "^X-Greylist: delayed [2-9] seconds by moat-policyd-[0-9.]+ at mx\.moat\.test; " "$f"
# Postfix puts PREPENDed headers above its own Received; so does the filter.
tap_is "$(grep -E '^(X-Greylist|Received): ' "$f" | tail -n 2 | cut -d: -f1 | tr '\n' ' ')" \
	"X-Greylist Received " "...above Postfix's Received header, where the PREPEND would be"
tap_is "$(grep -ci '^X-Greylist:' "$f")" 1 "...once"
tap_ok "...and no X-Moat-Policy" bash -c "! grep -qi '^X-Moat-Policy' '$f'"

out=$(send news@spammer.example "later")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a later message of the passed triplet is accepted at once"
tap_ok "...and arrives" h_sink_wait 2 20
tap_ok "...without X-Greylist (it did not wait)" bash -c "! grep -qi '^X-Greylist' '$(h_sink_last)'"
tap_like "$(cat "$(h_sink_last)")" "TEST_DBL\(2\.50\)" "...but with the symbol"

# Two recipients of one message that waited: each triplet passes, but the
# message was delayed once, so it gets one X-Greylist (Postfix's instance
# attribute tells the second RCPT of a message from a new one).
send2() { # send2 SUBJECT
	h_swaks --xclient-addr 203.0.113.21 --xclient-name unknown --from list@spammer.example \
		--to bob@example.com,carol@example.com --header "Subject: $1" --body "x" 2>&1
}
out=$(send2 "two, first try")
tap_like "$out" "<\*\* 450 4\.7\.1 .*Greylisted" "two recipients: greylisted at RCPT"
sleep 2.2
out=$(send2 "two, retry")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "the retry to both is accepted"
tap_ok "...and arrives" h_sink_wait 3 20
f=$(h_sink_last)
tap_like "$(cat "$f")" "Subject: two, retry" "...as this message"
tap_is "$(grep -ci '^X-Greylist:' "$f")" 1 "...with one X-Greylist for the two recipients"
tap_is "$(grep -c 'greylist=[0-9]' "$M_POLICYD_LOG" | tr -d ' ')" 2 \
	"...and the wait carried once for it (twice in all, with the first message)"

h_postfix_stop
kill "$M_MILTER_PID" "$M_POLICYD_PID"
wait "$M_MILTER_PID" "$M_POLICYD_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
