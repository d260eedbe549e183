#!/bin/bash
# smoke.t - end to end: a private Postfix with both moat daemons wired in
# (check_policy_service and smtpd_milters) accepts a message from swaks and
# relays it to smtp-sink; each daemon logs its decision with the queue id.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink

# Greylisting has its own end-to-end test (greylist-postfix.t): here the
# client is on the allow list, so the message goes straight through.
echo "127.0.0.1" >"$H_TMP/allow_clients"
tap_ok "moat-policyd starts" m_start_policyd -o greylist_allow_clients="$H_TMP/allow_clients"
tap_ok "moat-contentfilter starts" m_start_contentfilter
tap_ok "smtp-sink starts" h_start_smtp_sink
tap_ok "private Postfix starts with moat wired in" h_start_postfix \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT" \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" \
	"non_smtpd_milters = \$smtpd_milters" \
	"milter_default_action = tempfail"

subject="moat smoke test $$"
out=$(h_swaks --from alice@example.org --to bob@example.com --header "Subject: $subject" \
	--body "Hello from the smoke test." 2>&1)
tap_ok "Postfix accepts the message (250 after DATA)" test $? -eq 0
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as [0-9A-Za-z]+" "swaks saw the queue id"
qid=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | tail -n 1)
tap_ok "the message arrives at smtp-sink" h_sink_wait 1 20
tap_ok "it is the message we sent" grep -q "^Subject: $subject" "$(h_sink_last)"
# At RCPT Postfix has no queue file yet: the policy request says NOQUEUE.
tap_ok "moat-policyd decided at RCPT" \
	h_wait_log "NOQUEUE: client=127\.0\.0\.1, state=RCPT, from=<alice@example\.org>, to=<bob@example\.com>, action=DUNNO, reason=client allow list" 5 "$M_POLICYD_LOG"
tap_ok "moat-contentfilter saw the message at end of DATA" \
	h_wait_log "$qid: client=127\.0\.0\.1, from=<alice@example\.org>, nrcpt=1, .*action=no action" 5 "$M_MILTER_LOG"
tap_ok "Postfix logged the relay to the sink" h_wait_log "$qid: to=<bob@example\.com>.*status=sent" 10 "$H_PF_LOG"

h_postfix_stop
kill "$M_POLICYD_PID" "$M_MILTER_PID"
wait "$M_POLICYD_PID" "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
