#!/bin/bash
# bayes.t - the Bayes classifier end to end: moatctl learn-spam/learn-ham
# on files, an mbox and a directory of real mail (counts printed; a message
# learned again is skipped, learned as the other class is moved), bayes
# stats and forget, no verdict below bayes_min_learns, BAYES_SPAM in
# "moatctl scan" after learning, the running milter seeing new learning
# without a restart, and autolearn switched on by the module option.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
corpus=$MOAT_SRCDIR/../shared/corpus
[ -d "$corpus/spam" ] && [ -d "$corpus/ham" ] || tap_skip_all "corpus not found at $corpus"
db=$H_TMP/state/moat.db
m_quiet_zones
mapfile -t spam < <(find "$corpus/spam" -type f | LC_ALL=C sort | head -n 30)
mapfile -t ham < <(find "$corpus/ham" -type f | LC_ALL=C sort | head -n 30)

out=$(m_ctl learn-spam "${spam[@]:0:25}")
tap_like "$out" "^learned 25 message\(s\) as spam \(0 moved from ham, 0 already learned as spam; 25 examined\)" \
	"learn-spam on files: the count"
out=$(m_ctl learn-spam "${spam[@]:0:5}")
tap_like "$out" "^learned 0 message\(s\) as spam \(0 moved from ham, 5 already learned as spam; 5 examined\)" \
	"learned again as spam: skipped"
out=$(m_ctl learn-ham "${spam[@]:0:2}")
tap_like "$out" "^learned 2 message\(s\) as ham \(2 moved from spam, 0 already" "learned as ham: moved"
out=$(m_ctl bayes stats)
tap_like "$out" $'spam messages: 23\nham messages: 2\n' "stats: the moved messages counted as ham"
out=$(m_ctl learn-spam "${spam[@]:0:2}")
tap_like "$out" "^learned 2 message\(s\) as spam \(2 moved from ham" "...and moved back"

cat "${ham[@]:0:5}" >"$H_TMP/ham.mbox"
out=$(m_ctl learn-ham "$H_TMP/ham.mbox")
tap_like "$out" "^learned 5 message\(s\) as ham .*5 examined" "an mbox of 5 messages"
# 25 spam and 5 ham: each class needs bayes_min_learns, not just one of them.
sqlite3 "$db" "UPDATE settings SET value = '20' WHERE name = 'bayes_min_learns'"
out=$(m_ctl scan "${spam[0]}" "${spam[1]}" "${spam[2]}")
tap_like "$out" "Action: " "25 spam, 5 ham: the scan runs"
tap_ok "...and no Bayes verdict while ham is below bayes_min_learns" bash -c "! grep -q BAYES_ <<<'$out'"
sqlite3 "$db" "UPDATE settings SET value = '200' WHERE name = 'bayes_min_learns'"
mkdir -p "$H_TMP/hamdir/sub"
cp "${ham[@]:5:15}" "$H_TMP/hamdir/"
cp "${ham[@]:20:5}" "$H_TMP/hamdir/sub/"
out=$(m_ctl learn-ham "$H_TMP/hamdir")
tap_like "$out" "^learned 20 message\(s\) as ham .*20 examined" "a directory, with a subdirectory"
out=$(m_ctl bayes stats)
tap_like "$out" $'spam messages: 25\nham messages: 25\ntokens: [1-9][0-9]*\n' "stats: 25 spam, 25 ham, tokens"
tap_like "$out" "min learns: 200 \(not classifying yet\)" "stats: below bayes_min_learns"
tap_like "$out" "autolearn: false" "stats: autolearn off by default"

out=$(m_ctl scan "${spam[0]}")
tap_ok "below bayes_min_learns (200): no Bayes symbol" bash -c "! grep -q BAYES_ <<<'$out'"
sqlite3 "$db" "UPDATE settings SET value = '20' WHERE name = 'bayes_min_learns'"
out=$(m_ctl scan "${spam[0]}" "${ham[0]}")
tap_like "$out" "spam/[^ ]+ \([0-9.]+ seconds\).*Symbol: BAYES_SPAM \([1-5]\.[0-9]{2}\)\[[0-9.]+%\].*Results for file: .*ham/" \
	"20 per class: a learned spam gets BAYES_SPAM, its weight scaled"
tap_like "$out" "ham/.*Symbol: BAYES_HAM \(-[0-3]\.[0-9]{2}\)" "...and a learned ham BAYES_HAM"

out=$(m_ctl bayes forget "${spam[0]}" "${spam[29]}")
tap_like "$out" "^forgot 1 message\(s\) \(1 not learned; 2 examined\)" "forget: one learned, one never"
tap_like "$(m_ctl bayes stats)" "spam messages: 24" "stats after forget"

# The milter: started now, it must see learning done later without a restart.
if command -v miltertest >/dev/null; then
	tap_ok "moat-contentfilter starts" m_start_contentfilter
	export MOAT_MILTER_PORT=$M_MILTER_PORT MOAT_MSGID="<b1@sender.example>"
	export MOAT_SUBJECT="zorblax quintessence offer"
	export MOAT_BODY="frobnicate zorblax quintessence pellets glimmerwax discountix vrellish customerz onlyx orderix klaxoplum todayz"
	tap_ok "a message of unknown words through the milter" miltertest -s "$MOAT_SRCDIR/t/data/milter/message.lua"
	h_wait_log "from=<alice@sender.example>.*symbols=" 5 "$M_MILTER_LOG"
	tap_ok "...is not BAYES_SPAM" bash -c "! grep -q BAYES_SPAM '$M_MILTER_LOG'" ||
		tap_diag "$(grep -o 'symbols=.*' "$M_MILTER_LOG")"
	printf 'From: Alice <alice@sender.example>\nSubject: %s\nMessage-ID: <b0@sender.example>\n\n%s\n' \
		"$MOAT_SUBJECT" "$MOAT_BODY" >"$H_TMP/zorblax.eml"
	m_ctl learn-spam "$H_TMP/zorblax.eml" >/dev/null
	export MOAT_MSGID="<b2@sender.example>"
	tap_ok "learned as spam, sent again" miltertest -s "$MOAT_SRCDIR/t/data/milter/message.lua"
	tap_ok "...the running milter adds BAYES_SPAM" h_wait_log "symbols=.*BAYES_SPAM" 5 "$M_MILTER_LOG"

	# Autolearn, switched on while the milter runs (rules are re-read every 2 s).
	sqlite3 "$db" "UPDATE module_options SET value = 'true' WHERE module = 'classifier-bayes' AND option = 'autolearn';
		UPDATE symbols SET weight = 12 WHERE name = 'HAS_X_PRIO_ONE'"
	sleep 2.5
	export MOAT_MSGID="<b3@sender.example>" MOAT_PRIO=1 MOAT_SUBJECT="urgent wire transfer"
	export MOAT_BODY="please send the money by wire transfer to the account below"
	tap_ok "a message over the spam threshold" miltertest -s "$MOAT_SRCDIR/t/data/milter/message.lua"
	tap_ok "...is autolearned as spam" h_wait_log "bayes autolearn: learned as spam \(score 1[0-9]\.[0-9]+\)" 5 "$M_MILTER_LOG"
	tap_like "$(m_ctl bayes stats)" $'spam messages: 26\n' "...and counted"
	tap_ok "the same message again is not learned twice" miltertest -s "$MOAT_SRCDIR/t/data/milter/message.lua"
	h_wait_for 5 bash -c "[ \$(grep -c 'action=reject' '$M_MILTER_LOG') -ge 2 ]"
	tap_like "$(m_ctl bayes stats)" $'spam messages: 26\n' "...still 26"
	kill "$M_MILTER_PID"
	wait "$M_MILTER_PID" 2>/dev/null
	tap_ok "no sanitizer reports in the daemon log" m_check_sanitizer_logs "$H_TMP"/logs/*.log
else
	tap_skip "miltertest not installed" 9
fi

# The trial's three messages: no Message-ID, the same body, another
# From and Subject each. They are three messages, not one learned thrice.
for n in reject rewrite addheader; do
	printf 'From: %s@sender.example\nTo: alice@moat.test\nSubject: %s test\n\nThe same body.\n' \
		"$n" "$n" >"$H_TMP/$n.eml"
done
out=$(m_ctl learn-spam "$H_TMP/reject.eml" "$H_TMP/rewrite.eml" "$H_TMP/addheader.eml")
tap_like "$out" "^learned 3 message\(s\) as spam \(0 moved from ham, 0 already learned as spam; 3 examined\)" \
	"three messages with one body and no Message-ID: three learned"
{ printf 'Received: from mx (localhost [127.0.0.1])\nReturn-Path: <reject@sender.example>\n'; cat "$H_TMP/reject.eml"; } \
	>"$H_TMP/reject-delivered.eml"
out=$(m_ctl learn-spam "$H_TMP/reject-delivered.eml")
tap_like "$out" "^learned 0 message\(s\) .*1 already learned as spam" \
	"...one of them as delivered (Received, Return-Path added) is the same message"
tap_done
