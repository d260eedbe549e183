#!/bin/bash
# webui.t - moat's web UI in a real browser (headless Debian Chromium driven
# by python3-selenium and chromium-driver): mail goes through a private
# Postfix and moat-contentfilter, and t/webui.py logs in to moat-controller
# with a wrong and then the right passwords, compares the dashboard with
# the history rows, searches the history by Subject, learns a message from
# the history (Bayes's counts in SQLite), changes a weight and sees the next
# message's score move, and shows a Subject and From full of <script> and
# onerror= as text with no script run (issue 19). Any JavaScript error or
# CSP violation in the console fails. Screenshots of every page, desktop
# and phone, and the console log are kept in _build/t/webui/.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix smtp-sink chromium chromedriver sqlite3
/usr/bin/python3 -c 'import selenium' 2>/dev/null || tap_skip_all "python3-selenium not installed"
art=$MOAT_BUILDDIR/t/webui
rm -rf "$art"
mkdir -p "$art"
db=$H_TMP/state/moat.db
m_ctl migrate >/dev/null
# Weights that put each test message on one action (as contentfilter-postfix.t).
sqlite3 "$db" "UPDATE symbols SET weight = 6.5 WHERE name = 'FROM_NAME_HAS_TITLE';
	UPDATE symbols SET weight = 7.5 WHERE name = 'SUBJ_ALL_CAPS';
	UPDATE symbols SET weight = 12 WHERE name = 'HAS_X_PRIO_ONE';"
echo 'read pass 1' | m_ctl controller password >/dev/null
echo 'write pass 2' | m_ctl controller password --enable >/dev/null

tap_ok "moat-contentfilter starts" m_start_contentfilter
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"
# No secure address: the browser on 127.0.0.1 must log in as a remote admin would.
export MOAT_WWW_DIR=$MOAT_SRCDIR/controller/www
printf '192.0.2.0/24\n' >"$H_TMP/allow.txt"
tap_ok "moat-controller starts with its UI" m_start_controller -o controller_secure_ip= \
	-o client_allowlist="$H_TMP/allow.txt"

while IFS=$'\t' read -r st desc detail; do
	case $st in
	ok) tap_ok "$desc" true ;;
	"not ok")
		tap_ok "$desc" false
		tap_diag "$detail"
		;;
	*) tap_diag "webui.py: $st $desc $detail" ;;
	esac
done < <(/usr/bin/python3 "$MOAT_SRCDIR/t/webui.py" --url "http://127.0.0.1:$M_CTRL_PORT" --db "$db" \
	--smtp-port "$H_PF_PORT" --artifacts "$art" --tmp "$H_TMP" --map-file "$H_TMP/allow.txt" \
	--read-pw 'read pass 1' --write-pw 'write pass 2' 2>"$art/webui.py.err")
tap_ok "webui.py ran to its end" bash -c '! grep -q Traceback "$1"' _ "$art/webui.py.err"
grep -q Traceback "$art/webui.py.err" && tap_diag "$(tail -n 20 "$art/webui.py.err")"
n=$(ls "$art"/*.png 2>/dev/null | wc -l)
tap_ok "screenshots kept in $art ($n)" test "$n" -ge 18
tap_ok "moat-controller is still up" kill -0 "$M_CTRL_PID"
tap_ok "no sanitizer report in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
