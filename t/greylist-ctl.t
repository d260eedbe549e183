#!/bin/bash
# greylist-ctl.t - greylisting state seen and changed from outside while
# moat-policyd runs: moatctl greylist list|delete|allow|unallow, and a
# module switched off with plain SQL in the sqlite3 shell.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
db=$H_TMP/state/moat.db
q() { m_policy_query "$M_POLICY_PORT" request=smtpd_access_policy protocol_state=RCPT \
	client_address="$1" client_name=unknown sender="$2" recipient="$3"; }

tap_ok "moat-policyd starts" m_start_policyd
tap_like "$(q 203.0.113.5 Alice+tag@Sender.Example bob@example.com)" "^DEFER_IF_PERMIT 4\.7\.1" "new triplet deferred"
out=$(m_ctl greylist list)
tap_like "$out" $'\n203\\.0\\.113\\.0\talice@sender\\.example\tbob@example\\.com\tpending\t' \
	"moatctl greylist list shows it, normalised, pending"
out=$(m_ctl greylist list pending)
tap_like "$out" "203\.0\.113\.0" "greylist list pending shows it too"
tap_is "$(m_ctl greylist list passed | wc -l)" 1 "greylist list passed: only the header line"

tap_like "$(m_ctl greylist allow 203.0.113.5)" "allowed: 1 row" "moatctl greylist allow ADDRESS"
tap_like "$(q 203.0.113.5 other@sender.example carol@example.com)" "^DUNNO$" "an allowed client is not greylisted"
tap_ok "...and the log says why" h_wait_log "reason=client allowed by hand" 5 "$M_POLICYD_LOG"
tap_like "$(m_ctl greylist list clients)" $'203\\.0\\.113\\.5\tmanual' "greylist list clients shows it"
tap_like "$(m_ctl greylist unallow 203.0.113.5)" "removed: 1 row" "moatctl greylist unallow"
tap_like "$(q 203.0.113.5 third@sender.example dave@example.com)" "^DEFER_IF_PERMIT" "greylisted again"

tap_like "$(m_ctl greylist delete 203.0.113.0 alice@sender.example bob@example.com)" "deleted triplets: 1 row" \
	"moatctl greylist delete CLIENT SENDER RECIPIENT"
tap_like "$(q 203.0.113.5 alice@sender.example bob@example.com)" "in 300 seconds" "the deleted triplet starts over"
tap_like "$(m_ctl greylist delete-client 203.0.113.0)" "deleted triplets: [1-9]" "delete-client removes a network's triplets"
tap_is "$(sqlite3 "$db" "SELECT count(*) FROM greylist WHERE client = '203.0.113.0'")" 0 "...all of them"
out=$(m_ctl greylist allow not-an-address 2>&1)
tap_ok "allow refuses what is not an address" test $? -ne 0
tap_like "$out" "not an IP address: not-an-address" "...saying so"
out=$(m_ctl greylist frobnicate 2>&1)
tap_like "$out" "usage: moatctl greylist" "an unknown subcommand prints the usage"

sqlite3 "$db" "UPDATE modules SET enabled = 0 WHERE name = 'greylist'"
tap_ok "greylisting switched off in the sqlite3 shell is picked up" h_wait_log "module greylist disabled" 5 "$M_POLICYD_LOG"
tap_like "$(q 198.51.100.8 x@sender.example y@example.com)" "^DUNNO$" "...and nothing is greylisted"
sqlite3 "$db" "UPDATE modules SET enabled = 1 WHERE name = 'greylist'"
tap_ok "switched on again" h_wait_log "module greylist enabled" 5 "$M_POLICYD_LOG"
tap_like "$(q 198.51.100.8 x@sender.example y@example.com)" "^DEFER_IF_PERMIT" "...greylisting again"

h_stop "$M_POLICYD_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
