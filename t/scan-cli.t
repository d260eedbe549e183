#!/bin/bash
# scan-cli.t - moatctl scan: the milter's scan code on files, rspamc-like
# text and JSON output, regex rules from the rules table, and the whole
# real-mail corpus scanned without an error.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
fx=$MOAT_SRCDIR/t/data/mime
db=$H_TMP/state/moat.db
m_quiet_zones	# the shipped lists stay off: nothing may ask the internet

out=$(m_ctl scan "$fx/spammy.eml")
tap_like "$out" "^Results for file: .*spammy\.eml \([0-9.]+ seconds\)" "rspamc-like header line"
tap_like "$out" $'\nAction: [a-z ]+\n' "an Action line"
tap_like "$out" "Symbol: R_SUSPICIOUS_URL \(5\.00\)\[" "obfuscated URL (hex address, user@host) found"
tap_like "$out" "Symbol: PHISHING \(4\.00\)\[www\.yourbank\.example\]" "a link showing another site is phishing"
tap_like "$out" "Symbol: SUBJ_ALL_CAPS \(3\.00\)" "shouting subject"
tap_like "$out" "Symbol: SUBJECT_HAS_CURRENCY \(1\.00\)" "currency in the subject"
tap_like "$out" "Symbol: R_NO_SPACE_IN_FROM \(1\.00\)" "no space before the address in From"
tap_like "$out" "Symbol: FROM_NAME_HAS_TITLE \(1\.00\)" "title in the From name"

sqlite3 "$db" "INSERT INTO symbols (name, weight) VALUES ('TEST_VIAGRA', 5.5);
	INSERT INTO rules (symbol, target, pattern) VALUES ('TEST_VIAGRA', 'body', '\\bcheap\\s+viagra\\b');
	INSERT INTO rules (symbol, target, pattern) VALUES ('TEST_SUBJ', 'subject', '^you have won');
	INSERT INTO rules (symbol, target, pattern) VALUES ('TEST_URL', 'url', 'evil\\.example');
	INSERT INTO rules (symbol, target, pattern) VALUES ('TEST_HDR', 'header:Message-ID', 'lottery');
	INSERT INTO rules (symbol, target, pattern) VALUES ('TEST_BAD', 'raw', '(unclosed');"
out=$(m_ctl scan "$fx/spammy.eml" 2>&1)
tap_like "$out" "Symbol: TEST_VIAGRA \(5\.50\)" "a body regex rule (text of the HTML) adds its symbol and weight"
tap_like "$out" "Symbol: TEST_SUBJ \(0\.00\)" "a subject rule, case-insensitive"
tap_like "$out" "Symbol: TEST_URL \(0\.00\)" "a URL rule"
tap_like "$out" "Symbol: TEST_HDR \(0\.00\)" "a named-header rule"
tap_like "$out" "warning: rules: rule [0-9]+ \(TEST_BAD\): bad pattern at offset [0-9]+: missing closing parenthesis; skipped" \
	"a bad pattern is named and skipped"

out=$(m_ctl scan --json "$fx/spammy.eml" 2>/dev/null)
tap_like "$out" '^\{"file":"[^"]*spammy\.eml","score":[0-9.]+,"required_score":11\.00,"action":"[a-z ]+",' "JSON: file, score, required_score, action"
tap_like "$out" '"TEST_VIAGRA":\{"score":5\.50,"options":\[\]\}' "JSON: symbols with score and options"

sqlite3 "$db" "DELETE FROM rules WHERE symbol = 'TEST_BAD'"
corpus=$MOAT_SRCDIR/../shared/corpus
if [ -d "$corpus/ham" ]; then
	n=$(find "$corpus/ham" "$corpus/spam" -type f | wc -l)
	m_ctl scan --json "$corpus/ham" "$corpus/spam" >"$H_TMP/corpus.json" 2>"$H_TMP/corpus.err"
	tap_is "$?" 0 "the whole corpus scans without an error"
	lines=$(wc -l <"$H_TMP/corpus.json")
	tap_is "$lines" "$n" "one result per message ($lines for $n files)"
	tap_is "$(grep -vc '^{"file":.*"symbols":{.*}}$' "$H_TMP/corpus.json")" 0 "every result is a JSON object"
	tap_ok "nothing on stderr" test ! -s "$H_TMP/corpus.err"
else
	tap_skip "corpus not found at $corpus" 4
fi
tap_done
