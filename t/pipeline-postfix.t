#!/bin/bash
# pipeline-postfix.t - both daemons through one Postfix: what moat-policyd
# finds at RCPT (a DNS list hit) travels in a signed X-Moat-Policy header,
# joins the content filter's score, and the header is gone on delivery.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
h_init
m_need postfix swaks smtp-sink rbldnsd unbound
tap_ok "test lists served" z_start_lists
tap_ok "test zones in the database" z_setup_db
sqlite3 "$H_TMP/state/moat.db" "UPDATE modules SET enabled = 0 WHERE name = 'greylist'"
tap_ok "moat-policyd starts" m_start_policyd -o dns_servers="127.0.0.1:$H_UNBOUND_PORT"
tap_ok "moat-contentfilter starts" m_start_contentfilter -o dns_servers="127.0.0.1:$H_UNBOUND_PORT"
tap_ok "private Postfix with both" h_start_postfix \
	"relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT" \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"

out=$(h_swaks --xclient-addr 192.0.2.98 --xclient-name unknown --from a@sender.example \
	--to bob@example.com --header "Subject: listed client" --body "x" 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a client with a DNS list hit below the thresholds is accepted"
tap_ok "...and the message arrives" h_sink_wait 1 20
m=$(cat "$(h_sink_last)")
# Within the one header: the folded lines between are TAB-led and hold no newline.
tap_like "$m" "X-Spamd-Result: default: False \[[0-9.]+ / 11\.00\];"$'\n\t'"([^"$'\n'"]*"$'\n\t'")*TEST_BL_XBL\(3\.00\)\[192\.0\.2\.98:client\]" \
	"the policy server's symbol is in the content filter's result"
tap_ok "...and X-Moat-Policy is removed" bash -c "! grep -qi '^X-Moat-Policy' '$(h_sink_last)'"
tap_ok "...after it verified" bash -c "! grep -q 'ignoring an X-Moat-Policy' '$M_MILTER_LOG'"

# A list as the options of one symbol (HELO and sender both listed) stays a
# list through X-Moat-Policy: two options joined by ',', not one with '?'.
out=$(h_swaks --xclient-addr 203.0.113.52 --xclient-name unknown --ehlo www.spammer.example \
	--from a@www.spammer.example --to bob@example.com --header "Subject: listed names" \
	--body "x" 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a listed HELO and sender below the thresholds: accepted"
tap_ok "...and the message arrives" h_sink_wait 2 20
tap_like "$(cat "$(h_sink_last)")" \
	$'\n\t'"TEST_DBL\(2\.50\)\[www\.spammer\.example:(helo,www\.spammer\.example:sender|sender,www\.spammer\.example:helo)\];?"$'\n' \
	"...with both targets as options of the one symbol (in the order the answers came), on a line of its own"

# The content filter asks the lists about Received hops and body URLs.
out=$(h_swaks --xclient-addr 203.0.113.50 --xclient-name unknown --from a@sender.example \
	--to bob@example.com --header "Subject: relayed" \
	--header "Received: from relay.example (relay.example [192.0.2.98]) by mx.sender.example" \
	--body "Offer: http://www.spammer.example/offer" 2>&1)
tap_like "$out" "<\*\* 451 4\.7\.1 Greylisted" "a listed relay (3) and URL (2.5) reach the greylist threshold: 451"
tap_ok "the listed Received hop counted" h_wait_log "TEST_BL_XBL\(3\.00\)\[192\.0\.2\.98:received\]" 5 "$M_MILTER_LOG"
tap_ok "the listed URL host counted" h_wait_log "TEST_DBL\(2\.50\)\[www\.spammer\.example:url\]" 5 "$M_MILTER_LOG"

# A silent resolver: the content filter soft-rejects (451 4.7.1), nothing is lost.
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "a DNS server that never answers" h_start_dns_blackhole
tap_ok "moat-contentfilter restarts pointed at it" m_start_contentfilter \
	-o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" -o dns_timeout=1s -o dns_retries=0
h_postfix_postconf -e "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT"
h_postfix_reload
sleep 1
out=$(h_swaks --xclient-addr 203.0.113.51 --xclient-name unknown --from a@sender.example \
	--to bob@example.com --header "Subject: silent" --body "See http://www.example.org/" 2>&1)
tap_like "$out" "<\*\* 451 4\.7\.1 Try again later: DNS lookup at [a-z.]+ timed out" \
	"resolver silent: 451 4.7.1 at end of DATA (soft reject)"

# soft_reject_on_timeout = no: the lists that did not answer count as not listed.
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "moat-contentfilter restarts with soft_reject_on_timeout = no" m_start_contentfilter \
	-o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" -o dns_timeout=1s -o dns_retries=0 \
	-o soft_reject_on_timeout=no
h_postfix_postconf -e "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT"
h_postfix_reload
sleep 1
out=$(h_swaks --xclient-addr 203.0.113.52 --xclient-name unknown --from a@sender.example \
	--to bob@example.com --header "Subject: silent, soft reject off" \
	--body "See http://www.example.org/" 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" \
	"resolver silent, soft_reject_on_timeout = no: accepted, not soft-rejected"

h_postfix_stop
kill "$M_MILTER_PID" "$M_POLICYD_PID"
wait "$M_MILTER_PID" "$M_POLICYD_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
