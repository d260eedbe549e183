#!/bin/bash
# dnsbl-postfix.t - DNS lists end to end through a private Postfix: a
# listed client is rejected at RCPT with 554 5.7.1 naming the list; with
# the resolver silent and soft reject on it gets 450 4.7.1; an
# allow-listed client passes either way, even when listed.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
h_init
m_need postfix swaks smtp-sink rbldnsd unbound

tap_ok "test lists served" z_start_lists
tap_ok "test zones in the database" z_setup_db
# 192.0.2.99 is listed in bl.test, and allowed here.
printf '192.0.2.99\n' >"$H_TMP/clients"
# Greylisting off: this test is about the lists.
sqlite3 "$H_TMP/state/moat.db" "UPDATE modules SET enabled = 0 WHERE name = 'greylist'"
tap_ok "moat-policyd starts" m_start_policyd -o dns_servers="127.0.0.1:$H_UNBOUND_PORT" \
	-o greylist_allow_clients="$H_TMP/clients"
tap_ok "private Postfix with check_policy_service" h_start_postfix \
	"relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT"

send() { h_swaks --xclient-addr "$1" --xclient-name unknown --from a@sender.example \
	--to bob@example.com --header "Subject: $2" --body "dnsbl test" 2>&1; }

out=$(send 198.51.100.99 "listed")
tap_like "$out" "<\*\* 554 5\.7\.1 <bob@example\.com>: Recipient address rejected: Service unavailable; client \[198\.51\.100\.99\] listed at bl\.test" \
	"a listed client is rejected at RCPT with 554 5.7.1 naming the list"
out=$(send 192.0.2.99 "allowed")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "an allow-listed client passes although listed"
out=$(send 203.0.113.40 "clean")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a clean client passes"
tap_ok "both accepted messages arrive" h_sink_wait 2 20

# Now the resolver goes silent.
h_stop "$M_POLICYD_PID"
tap_ok "a DNS server that never answers" h_start_dns_blackhole
tap_ok "moat-policyd restarts pointed at it" m_start_policyd \
	-o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" -o dns_timeout=1s -o dns_retries=0 \
	-o greylist_allow_clients="$H_TMP/clients"
h_postfix_postconf -e "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT"
h_postfix_reload
sleep 1
out=$(send 203.0.113.41 "silent resolver")
tap_like "$out" "<\*\* 450 4\.7\.1 <bob@example\.com>: Recipient address rejected: Service temporarily unavailable; DNS lookup at [a-z.]+ timed out" \
	"resolver silent, soft reject on: 450 4.7.1"
out=$(send 192.0.2.99 "allowed, resolver silent")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "the allow-listed client still passes"
tap_ok "...and arrives" h_sink_wait 3 20

h_postfix_stop
h_stop "$M_POLICYD_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
