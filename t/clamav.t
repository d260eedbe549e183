#!/bin/bash
# clamav.t - moat-contentfilter's ClamAV check through a private Postfix:
# first with a real clamd (Debian's clamav-daemon) on a unix socket in the
# test's directory, with a database this test writes (an .ndb body
# signature for the EICAR string and one for a string of our own; no
# freshclam, no network): EICAR as a base64 attachment and inside a zip is
# refused with docker-mailserver's text, clean mail passes, mail over
# clamav_max_size passes with CLAM_TOO_BIG, a retried message is answered
# from the cache. Then with t/fake-clamd.py for the faults a real clamd will
# not show on demand: a hang, a close without a reply, garbage, an ERROR
# reply, the size-limit error, a slow reader; each gives the fail action
# (tempfail, then accept), logged once; and failover to the second server.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink clamd python3 zip base64
db=$H_TMP/state/moat.db
m_ctl migrate >/dev/null
tap_is "$(sqlite3 "$db" "SELECT enabled FROM modules WHERE name = 'clamav'")" 0 \
	"the clamav module is off until enabled"
m_ctl module enable clamav >/dev/null

# --- a real clamd --------------------------------------------------------------
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
own='MOAT-CLAMAV-TEST-7f3a9c'
mkdir -p "$H_TMP/clamdb" "$H_TMP/att"
{
	echo "Eicar-Signature:0:*:$(printf '%s' "$eicar" | od -An -tx1 | tr -d ' \n')"
	echo "Moat.Test.String:0:*:$(printf '%s' "$own" | od -An -tx1 | tr -d ' \n')"
} >"$H_TMP/clamdb/moat-test.ndb"
cat >"$H_TMP/clamd.conf" <<EOF
LocalSocket $H_TMP/clamd.sock
DatabaseDirectory $H_TMP/clamdb
Foreground yes
LogFile $H_TMP/logs/clamd.log
LogClean yes
PidFile $H_TMP/clamd.pid
StreamMaxLength 10M
EOF
clamd -c "$H_TMP/clamd.conf" >>"$H_TMP/logs/clamd.out" 2>&1 &
clamd_pid=$!
h_track "$clamd_pid" clamd
tap_ok "a private clamd starts with the test's two signatures" h_wait_for 20 test -S "$H_TMP/clamd.sock"

tap_ok "moat-contentfilter starts" m_start_contentfilter \
	-o clamav_servers="unix:$H_TMP/clamd.sock" -o clamav_max_size=200k
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"

send() { h_swaks --from alice@sender.example --to bob@example.com "$@" 2>&1; }
last() { cat "$(h_sink_last)"; }
n=0

out=$(send --header "Subject: clean" --body "An ordinary message.")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a clean message is accepted"
tap_ok "...and arrives" h_sink_wait $((n += 1)) 20
tap_ok "...without a CLAM_ symbol" bash -c "! grep -q CLAM_ '$(h_sink_last)'"

printf '%s' "$eicar" >"$H_TMP/att/eicar.com"
out=$(send --header "Subject: virus" --attach "@$H_TMP/att/eicar.com" --body "See attached.")
tap_like "$out" "<\*\* 554 5\.7\.1 ClamAV FOUND VIRUS \"Eicar-Signature\.UNOFFICIAL\"" \
	"EICAR as a base64 attachment: 554 5.7.1 ClamAV FOUND VIRUS \"NAME\", as docker-mailserver"
tap_ok "...logged with CLAM_VIRUS and forced by ClamAV" h_wait_log \
	"action=reject \(forced by ClamAV\), symbols=.*CLAM_VIRUS\(0\.00\)\[Eicar-Signature\.UNOFFICIAL\]" 5 "$M_MILTER_LOG"

(cd "$H_TMP/att" && zip -q eicar.zip eicar.com)
out=$(send --header "Subject: zipped" --attach "@$H_TMP/att/eicar.zip" --body "See attached.")
tap_like "$out" "<\*\* 554 5\.7\.1 ClamAV FOUND VIRUS \"Eicar-Signature\.UNOFFICIAL\"" \
	"EICAR inside a zip attachment: refused (clamd unpacks it)"

out=$(send --header "Subject: ours" --body "a line with $own in it")
tap_like "$out" "<\*\* 554 5\.7\.1 ClamAV FOUND VIRUS \"Moat\.Test\.String\.UNOFFICIAL\"" \
	"the test's own signature: refused with its name"

head -c 300000 /dev/zero | tr '\0' 'a' | fold -w 76 >"$H_TMP/att/big.txt"
out=$(send --header "Subject: big" --attach "@$H_TMP/att/big.txt" --body "x")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a message over clamav_max_size is accepted"
tap_ok "...and arrives" h_sink_wait $((n += 1)) 20
tap_like "$(last)" "CLAM_TOO_BIG\(0\.00\)\[[0-9]+\]" "...with CLAM_TOO_BIG and its size"

# The same message twice: Postfix's Received header differs (queue ID, time),
# the cache key leaves it out, so clamd sees it once.
clean_before=$(grep -c ": OK$" "$H_TMP/logs/clamd.log")
for i in 1 2; do
	out=$(send --header "Subject: retried" --header "Message-Id: <retry1@sender.example>" \
		--header "Date: Thu, 03 Dec 2026 10:00:00 +0000" --body "the same message")
done
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a message sent twice is accepted"
tap_ok "...and arrives twice" h_sink_wait $((n += 2)) 20
tap_is "$(($(grep -c ": OK$" "$H_TMP/logs/clamd.log") - clean_before))" 1 \
	"...scanned by clamd once: the second verdict came from the cache"

doctor() { m_ctl -o clamav_servers="unix:$H_TMP/clamd.sock" -o policy_listen=inet:127.0.0.1:1 \
	-o milter_listen="inet:127.0.0.1:$M_MILTER_PORT" doctor 2>&1; }
tap_like "$(doctor)" "(^|
)clamav: unix:$H_TMP/clamd\.sock answers
" "moatctl doctor: clamd answers"

h_stop "$clamd_pid"
tap_like "$(doctor)" "FAILED: clamav: unix:$H_TMP/clamd.sock: cannot connect: No such file or directory: mail is tempfailed" \
	"moatctl doctor with clamd stopped: FAILED, mail is tempfailed"
out=$(send --header "Subject: clamd stopped" --body "x")
tap_like "$out" "<\*\* 451 4\.7\.1 Try again later: virus scanner unavailable" \
	"clamd stopped: 451 4.7.1, the message is not passed unscanned"
h_postfix_stop
h_stop "$M_MILTER_PID"

# --- a fake clamd for the faults ---------------------------------------------------
mode1=$H_TMP/mode1 mode2=$H_TMP/mode2 flog=$H_TMP/logs/fake-clamd.log
echo ok >"$mode1"
echo ok >"$mode2"
for i in 1 2; do
	python3 "$MOAT_SRCDIR/t/fake-clamd.py" "$H_TMP/fake$i.sock" "$H_TMP/mode$i" "$flog" \
		>>"$H_TMP/logs/fake-clamd.out" 2>&1 &
	h_track $! fake-clamd
done
tap_ok "two fake clamds listen" h_wait_for 10 test -S "$H_TMP/fake1.sock" -a -S "$H_TMP/fake2.sock"

head -c 2000 /dev/zero | tr '\0' 'c' | fold -w 76 >"$H_TMP/att/2k.txt"
head -c 600000 /dev/zero | tr '\0' 'b' | fold -w 76 >"$H_TMP/att/600k.txt"
faults() {
	local action=$1 expect=$2 mode before out body
	for mode in hang close garbage error sizelimit slow limits; do
		echo "$mode" >"$mode1"
		echo "$mode" >"$mode2"
		# Over the fake's size limit; the slow reader's is more than the socket buffers hold.
		att=$H_TMP/att/2k.txt
		[ "$mode" = slow ] && att=$H_TMP/att/600k.txt
		before=$(grep -c "clamav: scan failed" "$M_MILTER_LOG")
		out=$(send --header "Subject: $mode" --body "fault $mode $action" --attach "@$att")
		tap_like "$out" "$expect" "$mode on both servers, clamav_fail_action = $action: ${expect//\\/}"
		tap_is "$(($(grep -c "clamav: scan failed" "$M_MILTER_LOG") - before))" 1 "...logged once"
	done
	tap_like "$(grep "clamav: scan failed" "$M_MILTER_LOG" | tail -n 7 | tr '\n' '|')" \
		"no reply within the timeout.*closed the connection without a reply.*unexpected reply.*clamd error \"Can't allocate memory\".*INSTREAM size limit exceeded.*sending the message timed out.*Limits Exceeded" \
		"...each with its reason, naming both servers"
}

tap_ok "moat-contentfilter with two fake clamds" m_start_contentfilter \
	-o clamav_servers="unix:$H_TMP/fake1.sock, unix:$H_TMP/fake2.sock" -o clamav_timeout=1s
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = accept"
n=0
faults tempfail "<\*\* 451 4\.7\.1 Try again later: virus scanner unavailable"

echo close >"$mode1"
echo ok >"$mode2"
out=$(send --header "Subject: failover" --body "x")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "the first server closes without a reply: the second answers, accepted"
tap_ok "...logged" h_wait_log "clamav: unix:$H_TMP/fake1.sock: closed the connection without a reply; answered by unix:$H_TMP/fake2.sock" 5 "$M_MILTER_LOG"
tap_ok "...and arrives" h_sink_wait $((n += 1)) 20
out=$(send --header "Subject: failover virus" --body "$eicar")
tap_like "$out" "<\*\* 554 5\.7\.1 ClamAV FOUND VIRUS \"Eicar-Signature\"" "...and a virus the second finds is refused"
for m in "encrypted|CLAM_VIRUS_ENCRYPTED|File is encrypted: Heuristics.Encrypted.PDF" \
	"macro|CLAM_VIRUS_MACRO|Heuristics.OLE2.ContainsMacros"; do
	IFS='|' read -r mode sym text <<<"$m"
	echo "$mode" >"$mode1"
	out=$(send --header "Subject: $mode" --body "x $mode")
	tap_like "$out" "<\*\* 554 5\.7\.1 ClamAV FOUND VIRUS \"$text\"" "$mode: refused, as Rspamd with DMS's action refuses it"
	tap_ok "...with $sym" h_wait_log "$sym\(0\.00\)\[Heuristics" 5 "$M_MILTER_LOG"
done
h_stop "$M_MILTER_PID"

# In parallel: clamd takes 1.5s to answer and a DNS list lookup 1.5s to time
# out; the scan takes about 1.5s, not 3s, because clamd was sent the message
# before the other checks began.
h_start_dns_blackhole
sqlite3 "$db" "INSERT INTO dnsbl_zones (name, kind, checks) VALUES ('dbl.test', 'domain', 'url');
	INSERT INTO dnsbl_codes (zone, code, symbol) VALUES ('dbl.test', '127.0.1.2', 'TEST_DBL')"
tap_ok "moat-contentfilter with a DNS list that never answers" m_start_contentfilter \
	-o clamav_servers="unix:$H_TMP/fake1.sock" -o clamav_timeout=5s \
	-o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" -o dns_timeout=1 -o dns_retries=0 \
	-o soft_reject_on_timeout=no
h_postfix_postconf "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT"
h_postfix_reload
# The last scan's time from the milter's log line, once the line is there.
scan_ms() {
	h_wait_for 10 test "$(grep -c ", scan=" "$M_MILTER_LOG")" -gt "$1" &&
		grep -o ", scan=[0-9]*" "$M_MILTER_LOG" | tail -n 1 | sed 's/.*=//'
}
m_ctl module disable clamav >/dev/null
sleep 2.1
out=$(send --header "Subject: dns only" --body "see http://www.slow-list.example/x")
ms=$(scan_ms 0)
tap_ok "without ClamAV the DNS list alone waits its timeout (${ms:-?}ms >= 1000)" test "${ms:-0}" -ge 1000
m_ctl module enable clamav >/dev/null
sleep 2.1
echo delay >"$mode1"
out=$(send --header "Subject: parallel" --body "see http://www.slower-list.example/x")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "clamd slow (1.5s) and the DNS list slow (1s): accepted"
ms=$(scan_ms 1)
tap_ok "...in ${ms:-?}ms, not 2500: clamd and the DNS list waited at the same time" \
	test "${ms:-0}" -ge 1500 -a "${ms:-9999}" -lt 2300
h_sink_wait $((n += 2)) 20
sqlite3 "$db" "DELETE FROM dnsbl_zones WHERE name = 'dbl.test'"
h_stop "$M_MILTER_PID"

# SIGHUP: a bad server list keeps the configuration (mail is still scanned,
# and tempfailed); clamav_fail_action = accept then applies without a restart.
conf=$H_TMP/moat.conf
printf 'clamav_servers = unix:%s, unix:%s\nclamav_timeout = 1s\n' "$H_TMP/fake1.sock" "$H_TMP/fake2.sock" >"$conf"
tap_ok "moat-contentfilter with a moat.conf" m_start_contentfilter -c "$conf"
h_postfix_postconf "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT"
h_postfix_reload
hup() {
	local n
	n=$(grep -cE "reloaded |not reloaded" "$M_MILTER_LOG")
	kill -HUP "$M_MILTER_PID"
	h_wait_for 10 test "$(grep -cE "reloaded |not reloaded" "$M_MILTER_LOG")" -gt "$n"
}
echo 'clamav_servers = unix:relative' >>"$conf"
hup
tap_ok "SIGHUP with clamav_servers = unix:relative: not reloaded" h_wait_log \
	"clamav_servers: not unix:/PATH or inet:HOST:PORT: \"unix:relative\"; configuration not reloaded" 5 "$M_MILTER_LOG"
echo close >"$mode1"
echo close >"$mode2"
out=$(send --header "Subject: after a bad reload" --body "x")
tap_like "$out" "<\*\* 451 4\.7\.1 Try again later: virus scanner unavailable" "...the servers before still used: tempfailed"
printf 'clamav_servers = unix:%s, unix:%s\nclamav_timeout = 1s\nclamav_fail_action = accept\n' \
	"$H_TMP/fake1.sock" "$H_TMP/fake2.sock" >"$conf"
hup
tap_ok "SIGHUP with clamav_fail_action = accept: reloaded" h_wait_log "reloaded $conf" 5 "$M_MILTER_LOG"
faults accept "<-  250 2\.0\.0 Ok: queued as"
tap_ok "the accepted messages arrive" h_sink_wait $((n += 7)) 30
tap_like "$(last)" "CLAM_VIRUS_FAIL\(0\.00\)\[" "...with CLAM_VIRUS_FAIL"

h_postfix_stop
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/contentfilter-*.log
tap_done
