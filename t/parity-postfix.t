#!/bin/bash
# parity-postfix.t - the small things that match Rspamd, through a private
# Postfix with both daemons:
#  - GTUBE and Rspamd's variants each get their action (554 5.7.1 Gtube
#    pattern, X-Spam, [SPAM] subject, no action), only the classic one with
#    Rspamd's default gtube_patterns = reject;
#  - X-Spamd-Bar, X-Rspamd-Queue-Id and X-Rspamd-Server when milter_headers
#    asks for them, in Rspamd's formats, and none by default;
#  - with no myhostname of moat's own, both daemons take Postfix's (postconf),
#    at start and again on SIGHUP: X-Rspamd-Server and X-Greylist show it;
#  - RCVD_COUNT_* count what Rspamd behind Postfix counts: Postfix's own
#    Received header, which milters never see, is not counted.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix postconf swaks smtp-sink
db=$H_TMP/state/moat.db
m_ctl migrate >/dev/null
G='JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

tap_ok "private Postfix, myhostname mx.parity.test" h_start_postfix \
	"myhostname = mx.parity.test" "relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
# Both daemons ask this Postfix for its settings.
export MOAT_POSTCONF="postconf -c $H_PF_DIR"
sqlite3 "$db" "UPDATE settings SET value = 'all' WHERE name = 'gtube_patterns';
	UPDATE settings SET value = 'x-spamd-bar, x-rspamd-queue-id, x-rspamd-server'
	WHERE name = 'milter_headers';"
tap_ok "moat-contentfilter starts without a myhostname" m_start_contentfilter -o greylist_delay=2s
tap_ok "moat-policyd starts without a myhostname" m_start_policyd -o greylist_delay=2s
tap_ok "the milter takes Postfix's myhostname" \
	grep -q "myhostname is mx.parity.test (from postconf)" "$M_MILTER_LOG"
tap_ok "so does the policy server" \
	grep -q "myhostname is mx.parity.test (from postconf)" "$M_POLICYD_LOG"
h_postfix_postconf -e "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" \
	"milter_default_action = tempfail" \
	"smtpd_recipient_restrictions = permit_mynetworks, check_policy_service inet:127.0.0.1:$M_POLICY_PORT"
h_postfix_reload
sleep 1

send() { h_swaks --from alice@sender.example --to bob@example.com "$@" 2>&1; }
n=0
# delivered SUBJECT: wait for the next message at smtp-sink; print it.
delivered() {
	n=$((n + 1))
	h_sink_wait "$n" 20 && cat "$(h_sink_last)"
}
qid_of() { sed -n 's/.*250 2\.0\.0 Ok: queued as \([0-9A-F]*\).*/\1/p' <<<"$1"; }

out=$(send --header "Subject: gtube reject" --body "X$G")
tap_like "$out" "<\*\* 554 5\.7\.1 Gtube pattern" "XJS...: refused at DATA with Rspamd's 554 5.7.1 Gtube pattern"
tap_like "$(tail -n 5 "$M_MILTER_LOG")" "score=11\.00/11\.00, action=reject \(forced by GTUBE\)" \
	"...logged as forced by GTUBE"

out=$(send --header "Subject: gtube add header" --body "Y$G")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "YJS...: accepted"
qid=$(qid_of "$out")
m=$(delivered)
tap_like "$m" $'\nX-Spam: Yes\n' "...with X-Spam: Yes"
tap_like "$m" $'\nX-Rspamd-Action: add header\n' "...X-Rspamd-Action: add header"
tap_like "$m" $'\nX-Spamd-Result: default: False \\[6\\.00 / 11\\.00\\];\n\tGTUBE\\(0\\.00\\)\\[\\]\n' \
	"...score = the add header threshold, GTUBE the only symbol"
tap_like "$m" $'\nX-Spamd-Bar: \\+\\+\\+\\+\\+\\+\n' "X-Spamd-Bar: one + per point (6.00: ++++++)"
tap_like "$m" $'\nX-Rspamd-Queue-Id: '"$qid"$'\n' "X-Rspamd-Queue-Id: Postfix's queue ID ($qid)"
tap_like "$m" $'\nX-Rspamd-Server: mx\\.parity\\.test\n' "X-Rspamd-Server: Postfix's myhostname"

out=$(send --header "Subject: gtube rewrite" --body "Z$G")
m=$(delivered)
tap_like "$m" $'\nSubject: \\[SPAM\\] gtube rewrite\n' "ZJS...: subject rewritten"
tap_like "$m" $'\nX-Rspamd-Action: rewrite subject\n' "...X-Rspamd-Action: rewrite subject"

out=$(send --header "Subject: gtube no action" --body "A$G")
m=$(delivered)
tap_like "$m" $'\nX-Rspamd-Action: no action\n' "AJS...: no action"
tap_like "$m" $'\nX-Spamd-Result: default: False \\[0\\.00 / 11\\.00\\]\n' \
	"...checks skipped, no symbol (as Rspamd)"
tap_like "$m" $'\nX-Spamd-Bar: /\n' "X-Spamd-Bar: / between -1 and 1"

# Received: none from upstream, then one, as an MX sees from a sending MTA.
out=$(send --header "Subject: no upstream hop" --body "x")
m=$(delivered)
tap_like "$m" $'\nReceived: from [^\n]*\n\tby mx\\.parity\\.test \\(Postfix\\)' \
	"Postfix adds its own Received header"
tap_like "$m" "RCVD_COUNT_ZERO\(0\.00\)\[0\]" \
	"...which milters never see: RCVD_COUNT_ZERO, as Rspamd 3.4 behind Postfix says"
out=$(send --add-header "Received: from out.sender.example (out.sender.example [192.0.2.25]) by relay.sender.example (Postfix) with ESMTPS id 4AB; Thu, 3 Dec 2026 10:00:00 +0000" \
	--header "Subject: one upstream hop" --body "x")
m=$(delivered)
tap_like "$m" "RCVD_COUNT_ONE\(0\.00\)\[1\]" "one Received from the sending MTA: RCVD_COUNT_ONE"

# Rspamd's default: only the classic string counts.
sqlite3 "$db" "UPDATE settings SET value = 'reject' WHERE name = 'gtube_patterns';
	UPDATE settings SET value = '' WHERE name = 'milter_headers';"
sleep 2.2
out=$(send --header "Subject: variant, default policy" --body "Y$G")
m=$(delivered)
hdrs=$(sed '/^$/q' <<<"$m")
tap_like "$hdrs" "MIME_GOOD\(-0\.10\)" "gtube_patterns = reject: YJS... is scanned as any message"
tap_ok "...with no GTUBE symbol" bash -c "! grep -q 'GTUBE(' <<<\"\$1\"" _ "$hdrs"
tap_ok "milter_headers empty: no X-Spamd-Bar, X-Rspamd-Queue-Id, X-Rspamd-Server" \
	bash -c "! grep -qE '^X-(Spamd-Bar|Rspamd-Queue-Id|Rspamd-Server):' <<<\"\$1\"" _ "$hdrs"

# X-Greylist from the policy server, for a client outside mynetworks.
grey() {
	h_swaks --xclient-addr 203.0.113.9 --xclient-name unknown --from news@sender.example \
		--to carol@example.com --header "Subject: greylisted" --body "x" 2>&1
}
out=$(grey)
tap_like "$out" "<\*\* 450 4\.7\.1 .*Greylisted" "a new client is greylisted"
sleep 2.2
out=$(grey)
m=$(delivered)
tap_like "$m" $'\nX-Greylist: delayed [0-9]+ seconds by moat-policyd-[0-9.]+ at mx\\.parity\\.test; ' \
	"X-Greylist names Postfix's myhostname"

# SIGHUP: a new Postfix myhostname is taken up by both daemons.
h_postfix_postconf -e "myhostname = mx2.parity.test"
sqlite3 "$db" "UPDATE settings SET value = 'x-rspamd-server' WHERE name = 'milter_headers'"
kill -HUP "$M_MILTER_PID" "$M_POLICYD_PID"
tap_ok "after SIGHUP the milter has the new name" \
	h_wait_log "myhostname is mx2\\.parity\\.test \\(from postconf\\)" 10 "$M_MILTER_LOG"
tap_ok "...and so has the policy server" \
	h_wait_log "myhostname is mx2\\.parity\\.test \\(from postconf\\)" 10 "$M_POLICYD_LOG"
sleep 2.2
out=$(send --header "Subject: after reload" --body "x")
m=$(delivered)
tap_like "$m" $'\nX-Rspamd-Server: mx2\\.parity\\.test\n' "X-Rspamd-Server follows it"

h_postfix_stop
h_stop "$M_MILTER_PID"
h_stop "$M_POLICYD_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
