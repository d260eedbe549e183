#!/bin/bash
# composites-milter.t - composite rules end to end: added, changed and
# switched off with moatctl while moat-contentfilter runs, they apply to
# the next messages without a restart, change the score by their weight and
# take away what their policy says, in the log, X-Spamd-Result (history)
# and the action; a composite sees the symbols the milter adds after the
# checks (MOAT_TOO_BIG here, X-Moat-Policy's the same way); a bad expression
# is refused and the running rules stay as they were.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need miltertest sqlite3

tap_ok "moat-contentfilter starts (scan_size_limit = 1k)" m_start_contentfilter -o scan_size_limit=1k
export MOAT_MILTER_PORT=$M_MILTER_PORT
clean() { miltertest -s "$MOAT_SRCDIR/t/data/milter/clean.lua" >/dev/null; }
big() { miltertest -s "$MOAT_SRCDIR/t/data/milter/big.lua" >/dev/null; }
# last CLIENT: the newest log line of a scan of that client's message.
last() { grep "client=$1, " "$M_MILTER_LOG" | tail -1; }
score() { last "$1" | sed -n 's/.*score=\(-\{0,1\}[0-9.]*\)\/.*/\1/p'; }
tap_ok "a clean message is scanned" clean
tap_ok "...and logged" h_wait_log "client=198\.51\.100\.20, " 5 "$M_MILTER_LOG"
C=198\.51\.100\.20
B=198\.51\.100\.30
tap_like "$(last $C)" "MIME_GOOD\(-0\.10\).*RCPT_COUNT_ONE\(0\.00\)" "...with MIME_GOOD and RCPT_COUNT_ONE"
before=$(score $C)

# remove_all (the default): the two symbols go, the composite's weight comes.
tap_ok "moatctl composites add" m_ctl composites add ct_lunch \
	'RCPT_COUNT_ONE & MIME_GOOD & !MOAT_TOO_BIG' 3 --description 'test composite'
fired() { clean && last $C | grep -q "CT_LUNCH(3\.00)"; }
tap_ok "the running milter applies it within seconds" h_wait_for 10 fired
tap_ok "...MIME_GOOD and RCPT_COUNT_ONE taken away (remove_all)" \
	bash -c '! grep -Eq "MIME_GOOD|RCPT_COUNT_ONE" <<<"$1"' bash "$(last $C)"
tap_is "$(awk -v a="$(score $C)" -v b="$before" 'BEGIN { printf "%.2f", a - b }')" "3.10" \
	"...the score rose by the composite's 3 and MIME_GOOD's -0.10 ($before -> $(score $C))"
tap_like "$(m_ctl history -n 1)" "CT_LUNCH\(3\.00\)" "...X-Spamd-Result (history) shows it as Rspamd does"

tap_ok "moatctl composites set --policy leave" m_ctl composites set CT_LUNCH --policy leave
left() { clean && last $C | grep -q "CT_LUNCH(3\.00).*MIME_GOOD(-0\.10)"; }
tap_ok "...the symbols are back beside it" h_wait_for 10 left
tap_is "$(score $C)" "3.00" "...and their weights count again"

# A symbol the milter adds after the checks, as it adds X-Moat-Policy's.
tap_ok "a composite over MOAT_TOO_BIG, remove_weight" \
	m_ctl composites add CT_BIG 'MOAT_TOO_BIG & RCPT_COUNT_ONE' 1.25 --policy remove_weight
bigfired() { big && last $B | grep -q "CT_BIG(1\.25)"; }
tap_ok "...fires on a message over scan_size_limit" h_wait_for 10 bigfired
tap_like "$(last $B)" "MOAT_TOO_BIG\(0\.00\)" "...MOAT_TOO_BIG shown with weight 0"
tap_ok "...and CT_LUNCH (!MOAT_TOO_BIG) does not fire there" \
	bash -c '! grep -q CT_LUNCH <<<"$1"' bash "$(last $B)"

# A bad expression is refused; the running rules keep the composite.
out=$(m_ctl composites set CT_LUNCH --expression 'RCPT_COUNT_ONE & (MIME_GOOD' 2>&1)
tap_is "$?" 1 "a bad expression is refused (exit 1)"
tap_like "$out" "CT_LUNCH: expression .*: column 28: '\)' expected for the '\(' at column 18" \
	"...with the column of the fault"
tap_is "$(sqlite3 "$(m_state)/moat.db" "SELECT expression FROM composites WHERE name = 'CT_LUNCH'")" \
	"RCPT_COUNT_ONE & MIME_GOOD & !MOAT_TOO_BIG" "...and nothing is written"
sleep 2.2
clean
tap_like "$(last $C)" "CT_LUNCH\(3\.00\)" "...the milter still applies the old one"

tap_ok "moatctl composites disable" m_ctl composites disable CT_LUNCH
off() { clean && ! last $C | grep -q "CT_LUNCH"; }
tap_ok "...it disappears from the next scans" h_wait_for 10 off
tap_is "$(score $C)" "$before" "...and the score is back where it was"

tap_like "$(m_ctl weight ct_big 2 2>&1)" "CT_BIG is a composite \(weight 1\.25\): moatctl composites set CT_BIG --weight VALUE" \
	"moatctl weight on a composite says where its weight is"

tap_is "$(grep -c 'ready: listening' "$M_MILTER_LOG")" 1 "moat-contentfilter was never restarted"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
