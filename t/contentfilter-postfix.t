#!/bin/bash
# contentfilter-postfix.t - moat-contentfilter through a private Postfix:
# every message gets X-Spamd-Result and X-Rspamd-Action; messages that
# land on each action get what the action does (X-Spam header, [SPAM]
# subject, 554 5.7.1 at DATA, 451 4.7.1 then, early, again, then accepted
# on retry; the greylist state unavailable tempfails); a forged
# X-Moat-Policy is removed and ignored; one history row per message.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink
db=$H_TMP/state/moat.db
m_ctl migrate >/dev/null
# Weights chosen so that each test message lands on one action; the
# symbols are real checks (Reply-To, a title in From, capitals, X-Priority).
sqlite3 "$db" "UPDATE symbols SET weight = 4.5 WHERE name = 'HAS_REPLYTO';
	UPDATE symbols SET weight = 6.5 WHERE name = 'FROM_NAME_HAS_TITLE';
	UPDATE symbols SET weight = 7.5 WHERE name = 'SUBJ_ALL_CAPS';
	UPDATE symbols SET weight = 12 WHERE name = 'HAS_X_PRIO_ONE';"

tap_ok "moat-contentfilter starts" m_start_contentfilter -o greylist_delay=2s
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"

send() { h_swaks --from alice@sender.example --to bob@example.com "$@" 2>&1; }
last() { cat "$(h_sink_last)"; }

out=$(send --header "Subject: hello there" --body "An ordinary message.")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a clean message is accepted"
h_sink_wait 1 20
m=$(last)
tap_like "$m" $'\nX-Spamd-Result: default: False \\[-?[0-9]+\\.[0-9]{2} / 11\\.00\\];' "X-Spamd-Result in Rspamd's format"
tap_like "$m" $'\nX-Rspamd-Action: no action\n' "X-Rspamd-Action: no action"
tap_like "$m" "MIME_GOOD\(-0\.10\)\[text/plain\]" "MIME_GOOD with its option"
tap_like "$m" "RCPT_COUNT_ONE\(0\.00\)\[1\]" "RCPT_COUNT_ONE from the envelope"

out=$(send --header "Subject: add a header" --header "From: Dr. Alice <alice@sender.example>" --body "x")
tap_ok "add header: accepted and arrives" h_sink_wait 2 20
m=$(last)
tap_like "$m" $'\nX-Spam: Yes\n' "score >= 6: X-Spam: Yes"
tap_like "$m" $'\nX-Rspamd-Action: add header\n' "...and X-Rspamd-Action: add header"
tap_like "$m" "FROM_NAME_HAS_TITLE\(6\.50\)" "...the symbol that put it there"
# Rspamd's milter_headers writes True only for the reject action.
tap_like "$m" $'\nX-Spamd-Result: default: False \\[' "...and default: False: True is for reject only"

out=$(send --header "Subject: THIS IS A SHOUTING SUBJECT" --body "x")
tap_ok "rewrite subject: accepted and arrives" h_sink_wait 3 20
m=$(last)
tap_like "$m" $'\nSubject: \\[SPAM\\] THIS IS A SHOUTING SUBJECT\n' "score >= 7: subject rewritten with [SPAM]"
tap_like "$m" $'\nX-Rspamd-Action: rewrite subject\n' "...X-Rspamd-Action: rewrite subject"
tap_like "$m" $'\nX-Spamd-Result: default: False \\[' "...and default: False"

out=$(send --header "Subject: rejected" --header "X-Priority: 1" --body "x")
tap_like "$out" "<\*\* 554 5\.7\.1 Message rejected as spam" "score >= 11: refused at DATA with 554 5.7.1"

out=$(send --header "Subject: greylisted" --header "Reply-To: other@sender.example" \
	--header "Message-Id: <grey1@sender.example>" --body "x")
tap_like "$out" "<\*\* 451 4\.7\.1 Greylisted" "score >= 4: 451 4.7.1 the first time"
out=$(send --header "Subject: greylisted" --header "Reply-To: other@sender.example" \
	--header "Message-Id: <grey1@sender.example>" --body "x")
tap_like "$out" "<\*\* 451 4\.7\.1 Greylisted" "...and again when retried before greylist_delay"
sleep 2.2
out=$(send --header "Subject: greylisted" --header "Reply-To: other@sender.example" \
	--header "Message-Id: <grey1@sender.example>" --body "x")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "...and accepted when retried after the delay"
tap_ok "...and arrives" h_sink_wait 4 20
tap_like "$(last)" $'\nX-Rspamd-Action: no action\n' "...with X-Rspamd-Action: no action, as Rspamd has it"
tap_like "$(last)" "GREYLIST\(0\.00\)\[pass\]" "...and GREYLIST(0.00)[pass] in X-Spamd-Result"
tap_like "$(last)" $'\nX-Spamd-Result: default: False \\[' "...default: False"

out=$(send --header "Subject: forged policy" \
	--header "X-Moat-Policy: RCVD_IN_DNSWL_HI(-50.00)[1.2.3.4:client]; ts=1; sig=0000000000000000" --body "x")
tap_ok "a message with a forged X-Moat-Policy arrives" h_sink_wait 5 20
m=$(last)
tap_ok "...without the X-Moat-Policy header" bash -c "! grep -qi '^X-Moat-Policy' '$(h_sink_last)'"
tap_ok "...and without its symbol in the score" bash -c "! grep -q 'RCVD_IN_DNSWL_HI' '$(h_sink_last)'"
tap_ok "...which is logged" h_wait_log "ignoring an X-Moat-Policy header: signature does not verify" 5 "$M_MILTER_LOG"

# History is written by its own thread: give it a moment.
h_wait_for 5 test "$(sqlite3 "$db" "SELECT count(*) FROM history")" -ge 8
tap_is "$(sqlite3 "$db" "SELECT group_concat(action, ',') FROM (SELECT action FROM history ORDER BY id)")" \
	"no action,add header,rewrite subject,reject,greylist,greylist,no action,no action" "one history row per scanned message"
tap_like "$(sqlite3 "$db" "SELECT group_concat(reason, '|') FROM (SELECT reason FROM history WHERE subject = 'greylisted' ORDER BY id)")" \
	"^greylisted \(a retry is accepted in [0-9]+s\)\|greylisted \(a retry is accepted in [0-9]+s\)\|greylisting passed after [0-9]+s$" "...the greylisted one held twice, then let through"
tap_ok "the log has one line per message with the queue id" h_wait_log "^.*: [0-9A-F]+: client=127\.0\.0\.1, from=<alice@sender\.example>, nrcpt=1, .*action=add header" 5 "$M_MILTER_LOG"

# The greylist state unavailable (a write refused): an internal error like any
# other, so milter_error_action (tempfail, the default) decides, not a pass.
sqlite3 "$db" "CREATE TRIGGER t_refuse BEFORE INSERT ON milter_greylist
	BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
out=$(send --header "Subject: greylisted" --header "Reply-To: other@sender.example" \
	--header "Message-Id: <grey2@sender.example>" --body "x")
tap_like "$out" "<\*\* 451 4\.3\.0 Temporary content filter problem" "greylist state unavailable: 451 4.3.0 (milter_error_action = tempfail)"
tap_ok "...logged" h_wait_log "greylist state unavailable; tempfailing" 5 "$M_MILTER_LOG"
sqlite3 "$db" "DROP TRIGGER t_refuse"

# A quoted local part may hold '>': the envelope sender is stored whole, not
# cut at the first '>' (the web UI and moatctl show what history holds).
out=$(h_swaks --from '"x>y"@sender.example' --to bob@example.com --header "Subject: quoted sender" 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a sender with '>' in its quoted local part is accepted"
h_wait_for 5 test -n "$(sqlite3 "$db" "SELECT 1 FROM history WHERE subject = 'quoted sender'")"
tap_is "$(sqlite3 "$db" "SELECT sender FROM history WHERE subject = 'quoted sender'")" '"x>y"@sender.example' \
	"...and stored whole in history"

h_postfix_stop
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
