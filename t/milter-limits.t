#!/bin/bash
# milter-limits.t - what the milter does with mail bigger than it scans,
# through a private Postfix: the message is still delivered whole, never
# cut or dropped; the milter scans the first scan_size_limit bytes, tells
# Postfix to skip the rest (SMFIS_SKIP), and marks it MOAT_TOO_BIG. Many
# headers go through without a reply each (SMFIP_NR_HDR), in order.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink
m_ctl migrate >/dev/null

tap_ok "moat-contentfilter starts with scan_size_limit = 8k" \
	m_start_contentfilter -o scan_size_limit=8192
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"

# 300 headers, then a 400 kB body of numbered lines: the last line proves
# the end arrived, the count proves nothing was lost on the way.
hdrs=()
for i in $(seq 1 300); do hdrs+=(--add-header "X-Test-$i: value $i"); done
seq -f 'line %06g of a long message body' 1 12000 >"$H_TMP/body"
out=$(h_swaks --from alice@sender.example --to bob@example.com "${hdrs[@]}" \
	--header "Subject: a big one" --body "$H_TMP/body" 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a 400 kB message is accepted"
tap_ok "...and arrives" h_sink_wait 1 30
m=$(h_sink_last)
tap_is "$(grep -c '^line [0-9]* of a long message body' "$m")" 12000 "...with every body line"
tap_ok "...down to the last one" grep -q '^line 012000 of a long message body' "$m"
tap_is "$(grep -c '^X-Test-[0-9]*: value' "$m")" 300 "...and all 300 extra headers"
tap_is "$(grep '^X-Test-' "$m" | sed -n '1p;300p' | paste -sd' ')" \
	"X-Test-1: value 1 X-Test-300: value 300" "...in their order"
tap_like "$(cat "$m")" "MOAT_TOO_BIG" "MOAT_TOO_BIG in X-Spamd-Result"
tap_like "$(cat "$m")" $'\nX-Rspamd-Action: no action\n' "X-Rspamd-Action: no action"

out=$(h_swaks --from alice@sender.example --to bob@example.com \
	--header "Subject: a small one" --body "short" 2>&1)
tap_ok "a small message after it arrives" h_sink_wait 2 30
tap_ok "...without MOAT_TOO_BIG" bash -c "! grep -q MOAT_TOO_BIG '$(h_sink_last)'"

h_postfix_stop
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
