#!/bin/bash
# live-rules.t - rules changed in SQLite with the sqlite3 shell, while the
# daemons run, apply without a restart or a signal: a symbol weight changes
# the milter's next score; an action threshold and a DNS zone change the
# policy server's next answer.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
h_init
m_need rbldnsd unbound
# The milter half needs miltertest; without it only that half is skipped.
db=$(m_state)/moat.db

# --- the milter: a weight --------------------------------------------------
if command -v miltertest >/dev/null; then
	tap_ok "moat-contentfilter starts" m_start_contentfilter
	export MOAT_MILTER_PORT=$M_MILTER_PORT
	scan() { miltertest -s "$MOAT_SRCDIR/t/data/milter/clean.lua" >/dev/null; }
	# last_score: score of the newest scan of the clean message, from the log.
	last_score() {
		grep "client=198\.51\.100\.20, " "$M_MILTER_LOG" | tail -1 | sed -n 's/.*score=\(-\{0,1\}[0-9.]*\)\/.*/\1/p'
	}
	tap_ok "a clean message is scanned" scan
	tap_ok "...and logged" h_wait_log "client=198\.51\.100\.20, .*RCPT_COUNT_ONE\(0\.00\)" 5 "$M_MILTER_LOG"
	before=$(last_score)
	tap_ok "UPDATE symbols in the sqlite3 shell while the milter writes history" \
		sqlite3 "$db" "UPDATE symbols SET weight = 3.25 WHERE name = 'RCPT_COUNT_ONE'"
	# Rules are re-read every 2 s: scan until the new weight shows (bounded).
	new_weight() {
		scan && grep "client=198\.51\.100\.20, " "$M_MILTER_LOG" | tail -1 | grep -q "RCPT_COUNT_ONE(3\.25)"
	}
	tap_ok "after UPDATE symbols in the sqlite3 shell, the running milter uses the new weight" \
		h_wait_for 10 new_weight
	after=$(last_score)
	tap_is "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')" "3.25" \
		"...and the score rose by exactly the change ($before -> $after)"
	tap_ok "...and disable it" sqlite3 "$db" "UPDATE symbols SET enabled = 0 WHERE name = 'RCPT_COUNT_ONE'"
	gone() { scan && ! grep "client=198\.51\.100\.20, " "$M_MILTER_LOG" | tail -1 | grep -q "RCPT_COUNT_ONE"; }
	tap_ok "a symbol disabled in SQLite disappears from the next scans" h_wait_for 10 gone
	tap_is "$(last_score)" "$before" "...and the score is back where it was"
else
	tap_skip "miltertest not installed" 9
fi

# --- the policy server: a threshold and a zone -----------------------------
q() { # q CLIENT [SENDER]
	m_policy_query "$M_POLICY_PORT" request=smtpd_access_policy protocol_state=RCPT \
		client_address="$1" client_name=unknown sender="${2:-a@sender.example}" \
		helo_name=mx.sender.example recipient="rcpt$RANDOM@example.com"
}
tap_ok "rbldnsd and unbound serve the test lists" z_start_lists
tap_ok "test zones in the database" z_setup_db
tap_ok "moat-policyd starts (greylisting only the suspicious)" m_start_policyd \
	-o dns_servers="127.0.0.1:$H_UNBOUND_PORT" -o greylist_mode=suspicious
tap_like "$(q 192.0.2.98)" "^PREPEND X-Moat-Policy: TEST_BL_XBL\(3\.00\)" \
	"a client listed with weight 3: below every threshold, DUNNO with the symbol"
tap_ok "UPDATE actions while moat-policyd writes greylist rows" \
	sqlite3 "$db" "UPDATE actions SET threshold = 2.5 WHERE name = 'reject'"
rejected() { [[ $(q 192.0.2.98) == "REJECT 5.7.1 "*"listed at bl.test" ]]; }
tap_ok "after UPDATE actions (reject at 2.5) the next answers reject it" h_wait_for 10 rejected
tap_ok "UPDATE dnsbl_zones" sqlite3 "$db" "UPDATE dnsbl_zones SET enabled = 0 WHERE name = 'bl.test'"
unlisted() { [[ $(q 192.0.2.98) == "DUNNO" ]]; }
tap_ok "after disabling the zone bl.test, the client passes (DUNNO)" h_wait_for 10 unlisted
tap_ok "...and map a code to another symbol" sqlite3 "$db" "UPDATE dnsbl_zones SET enabled = 1 WHERE name = 'bl.test';
	UPDATE dnsbl_codes SET symbol = 'TEST_BL' WHERE zone = 'bl.test' AND code = '127.0.0.4'"
heavy() { [[ $(q 192.0.2.98) == *"listed at bl.test" ]] && grep -q "TEST_BL(12\.00)\[192\.0\.2\.98" "$M_POLICYD_LOG"; }
tap_ok "after re-enabling it with the code mapped to another symbol, that symbol counts" \
	h_wait_for 10 heavy
tap_is "$(grep -c 'ready: listening' "$M_POLICYD_LOG")" 1 "moat-policyd was never restarted"
if [ -n "${M_MILTER_LOG:-}" ]; then
	tap_is "$(grep -c 'ready: listening' "$M_MILTER_LOG")" 1 "...nor moat-contentfilter"
else
	tap_skip "miltertest not installed" 1
fi
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
