#!/bin/bash
# rspamd-webui.t - Rspamd's own web UI from Debian's rspamd package
# (/usr/share/rspamd/www), served by moat-controller with
# controller_www_root, in headless Chromium (python3-selenium and
# chromium-driver): it logs in with the read password and shows moat's
# status, history and symbols without a JavaScript error or a CSP
# violation (t/rspamd-webui.py). Screenshots and the console log are kept
# in _build/t/rspamd-webui/.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need chromium chromedriver curl
/usr/bin/python3 -c 'import selenium' 2>/dev/null || tap_skip_all "python3-selenium not installed"
[ -f /usr/share/rspamd/www/index.html ] || tap_skip_all "Rspamd's web UI (/usr/share/rspamd/www) not installed"
art=$MOAT_BUILDDIR/t/rspamd-webui
rm -rf "$art"
mkdir -p "$art"
m_ctl migrate >/dev/null
echo 'rspamd ui read' | m_ctl controller password >/dev/null
echo 'rspamd ui write' | m_ctl controller password --enable >/dev/null
tap_ok "moat-controller starts with Rspamd's UI" \
	m_start_controller -o controller_secure_ip= -o controller_www_root=/usr/share/rspamd/www
U=http://127.0.0.1:$M_CTRL_PORT
for i in 1 2 3; do
	printf 'From: a@example.org\nTo: b@example.net\nSubject: rspamd ui message %s\nMessage-ID: <r%s@example.org>\n\nhello %s\n' \
		"$i" "$i" "$i" | curl -s -o /dev/null -H 'Password: rspamd ui read' -H "Queue-Id: RUI$i" \
		-H 'IP: 192.0.2.7' --data-binary @- "$U/checkv2"
done
# The rows come from the controller's batch writer; a request after the scans waits for them.
curl -s -o /dev/null "$U/ping"
rows=$(sqlite3 "$H_TMP/state/moat.db" "SELECT count(*) FROM history")
tap_is "$rows" 3 "three scans through /checkv2 are in the history"

run() {
	while IFS=$'\t' read -r st desc detail; do
		case $st in
		ok) tap_ok "$desc" true ;;
		"not ok")
			tap_ok "$desc" false
			tap_diag "$detail"
			;;
		*) tap_diag "rspamd-webui.py: $st $desc $detail" ;;
		esac
	done < <(/usr/bin/python3 "$MOAT_SRCDIR/t/rspamd-webui.py" --url "$U" --artifacts "$art" --tmp "$H_TMP" \
		--rows "$rows" --subject "rspamd ui message 2" "$@" \
		--symbols "$(sqlite3 "$H_TMP/state/moat.db" "SELECT group_concat(name) FROM symbols")" 2>"$art/rspamd-webui.py.err")
	tap_ok "rspamd-webui.py ran to its end" bash -c '! grep -q Traceback "$1"' _ "$art/rspamd-webui.py.err"
	grep -q Traceback "$art/rspamd-webui.py.err" && tap_diag "$(tail -n 20 "$art/rspamd-webui.py.err")"
}
run --password 'rspamd ui read'
run --password 'rspamd ui write'
tap_ok "moat-controller is still up" kill -0 "$M_CTRL_PID"
tap_ok "no sanitizer report in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
