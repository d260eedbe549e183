#!/bin/bash
# milter-proto.t - moat-contentfilter over the milter protocol with
# miltertest (no Postfix): headers added on a clean message, 554 5.7.1 on
# one over the reject threshold.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v miltertest >/dev/null || tap_skip_all "miltertest not installed"
m_ctl migrate >/dev/null
sqlite3 "$H_TMP/state/moat.db" "UPDATE symbols SET weight = 12 WHERE name = 'HAS_X_PRIO_ONE'"
tap_ok "moat-contentfilter starts" m_start_contentfilter
export MOAT_MILTER_PORT=$M_MILTER_PORT
tap_ok "clean message: X-Spamd-Result and X-Rspamd-Action added, accepted" \
	miltertest -s "$MOAT_SRCDIR/t/data/milter/clean.lua"
tap_ok "spam over the reject threshold: 554 5.7.1" \
	miltertest -s "$MOAT_SRCDIR/t/data/milter/reject.lua"
tap_ok "both logged" h_wait_log "client=198\.51\.100\.21, .*action=reject" 5 "$M_MILTER_LOG"
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon log" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
