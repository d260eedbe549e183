#!/bin/bash
# maps-url.t - allow and block lists fetched by URL (and file://) against a
# real HTTP server on loopback (t/lib/httpd.py): rejections and allowances
# at RCPT, conditional GETs on the refresh interval, a changed list picked
# up, failures (500, a hanging server, no server, too big, too many
# entries, an error page, a redirect to file://) keeping the last good
# copy, a restart while the server is down using the copy kept in SQLite,
# moatctl maps and moatctl maps refresh.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v python3 >/dev/null || tap_skip_all "python3 not installed"
# Loopback only, whatever the environment says about proxies.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY

WWW=$H_TMP/www
HLOG=$H_TMP/logs/httpd-requests.log
CTL=$H_TMP/httpd-control
mkdir -p "$WWW"
: >"$HLOG"

start_httpd() {
	python3 "$MOAT_SRCDIR/t/lib/httpd.py" --port "$HP" --root "$WWW" --log "$HLOG" \
		--control "$CTL" </dev/null >>"$H_TMP/logs/httpd.log" 2>&1 &
	HPID=$!
	h_track "$HPID" httpd
	h_wait_port "$HP" 10 "$HPID"
}
# q CLIENT SENDER RECIPIENT -> the action
q() {
	m_policy_query "$M_POLICY_PORT" request=smtpd_access_policy protocol_state=RCPT \
		protocol_name=ESMTP "client_address=$1" client_name=unknown helo_name=mx.example \
		"sender=$2" "recipient=$3" queue_id= instance=1.1.1
}
# rejected CLIENT: the client is rejected now
rejected() { [[ $(q "$1" a@example.org b@example.com) == "REJECT 5.7.1 "* ]]; }
# requests_for PATH STATUS: how many times the server answered PATH with STATUS
requests_for() { grep -c "^GET $1 .* status=$2\$" "$HLOG"; }

printf '# client block list\n192.0.2.66\n198.51.100.0/24\n' >"$WWW/block.txt"
printf '192.0.2.77\npartner.example\n' >"$WWW/allow.txt"
printf 'spammer.example\n' >"$H_TMP/senders.txt"
printf 'file:///etc/hosts\n' >"$WWW/evil.txt.redirect"

HP=$(h_free_port)
printf 'http://127.0.0.1:%s/allow.txt\n' "$HP" >"$WWW/moved.txt.redirect"
tap_ok "the test HTTP server starts" start_httpd

# The allow list is behind a redirect and a URL with a password and a token.
tap_ok "moat-policyd starts with lists by URL and file://" m_start_policyd \
	-o client_blocklist="http://127.0.0.1:$HP/block.txt" \
	-o client_allowlist="http://fetcher:s3cret@127.0.0.1:$HP/moved.txt?token=t0ken" \
	-o sender_blocklist="file://$H_TMP/senders.txt" \
	-o sender_allowlist="http://127.0.0.1:$HP/evil.txt" \
	-o map_refresh_interval=1s -o map_fetch_timeout=2s -o map_size_limit=4k \
	-o map_entry_limit=50 -o greylist_delay=300
LOG=$M_POLICYD_LOG

tap_like "$(q 192.0.2.66 a@example.org b@example.com)" \
	"^REJECT 5\.7\.1 Service unavailable; client \[192\.0\.2\.66\] is on the client block list$" \
	"a client on the block list fetched by http:// is rejected at RCPT (from the first request)"
tap_ok "...the log names the list and its URL" h_wait_log \
	"client=192\.0\.2\.66, .*action=REJECT .*reason=client block list http://127\.0\.0\.1:$HP/block\.txt," 5 "$LOG"
tap_like "$(q 198.51.100.9 a@example.org b@example.com)" "^REJECT 5\.7\.1 " \
	"...a client in a blocked network too"
tap_like "$(q 192.0.2.10 a@example.org b@example.com)" "^DEFER_IF_PERMIT 4\.7\.1 Greylisted" \
	"a client on no list is greylisted"
tap_like "$(q 192.0.2.77 a@example.org b@example.com)" "^DUNNO$" \
	"a client on the allow list (behind a redirect) skips greylisting"
tap_like "$(q 192.0.2.11 someone@spammer.example b@example.com)" \
	"^REJECT 5\.7\.1 Service unavailable; sender address is on the sender block list$" \
	"a sender on the file:// block list is rejected, without echoing the sender"
tap_like "$(q 192.0.2.77 someone@mail.spammer.example b@example.com)" "^DUNNO$" \
	"allow beats block: an allowed client with a blocked sender passes"
tap_ok "the fetcher's password and the URL's token are never logged" \
	bash -c "! grep -Eq 's3cret|t0ken' '$LOG' '$(m_state)/moat.db'"
tap_ok "...the URL is logged without them" grep -q "map client_allowlist http://127\.0\.0\.1:$HP/moved\.txt?\.\.\.: 2 entries" "$LOG"
tap_ok "a redirect to file:// is refused and logged" h_wait_log \
	"warning: map sender_allowlist http://127\.0\.0\.1:$HP/evil\.txt: .*[Pp]rotocol.*file.*; no copy yet" 5 "$LOG"

# Refresh: the next fetches are conditional and answered 304.
tap_ok "a refresh sends If-None-Match and If-Modified-Since and gets 304" h_wait_log \
	'^GET /block\.txt inm="[0-9a-f]+" ims=[A-Z][a-z][a-z], .* GMT status=304$' 5 "$HLOG"
before=$(requests_for /block.txt 200)
printf '# client block list\n192.0.2.66\n198.51.100.0/24\n192.0.2.67\n' >"$WWW/block.txt"
fetched_again() { [ "$(requests_for /block.txt 200)" -gt "$before" ]; }
tap_ok "a changed list is fetched again (200) on the interval" h_wait_for 5 fetched_again
tap_ok "...and a client added to it is rejected" h_wait_for 5 rejected 192.0.2.67

# A server without validators: the same bytes again are not parsed or stored again.
echo novalidators >"$CTL"
loads=$(grep -c "map client_blocklist http://.*/block\.txt: .* bytes fetched" "$LOG")
before=$(requests_for /block.txt 200)
fetched_twice() { [ "$(requests_for /block.txt 200)" -gt $((before + 1)) ]; }
tap_ok "a server without validators answers 200 each time" h_wait_for 5 fetched_twice
tap_is "$(grep -c "map client_blocklist http://.*/block\.txt: .* bytes fetched" "$LOG")" "$loads" \
	"...the same content is not loaded again"

# Failures keep the last good copy.
echo 500 >"$CTL"
tap_ok "HTTP 500: one warning with the URL and the reason, copy kept" h_wait_log \
	"warning: map client_blocklist http://127\.0\.0\.1:$HP/block\.txt: HTTP status 500; keeping the copy of .* \(3 entries\)" 5 "$LOG"
tap_like "$(q 192.0.2.67 a@example.org b@example.com)" "^REJECT 5\.7\.1 " "...and the copy is still in force"
tap_like "$(m_ctl maps | grep "^client_blocklist	http://127.0.0.1:$HP/block.txt	")" \
	"	3	.*	HTTP status 500	" "moatctl maps shows the entries in use and the last error"

echo hang >"$CTL"
sleep 0.5
t0=$(date +%s%N)
r=$(q 192.0.2.67 a@example.org b@example.com)
ms=$((($(date +%s%N) - t0) / 1000000))
tap_like "$r" "^REJECT 5\.7\.1 " "a hanging server: requests are still answered from the copy"
tap_ok "...at once, not after the fetch timeout (${ms} ms)" test "$ms" -lt 1000
tap_ok "...and the fetch times out after map_fetch_timeout with a warning" h_wait_log \
	"warning: map client_blocklist http://127\.0\.0\.1:$HP/block\.txt: .*timed out.*; keeping the copy" 6 "$LOG"
# A daemon starting while the server hangs still stops at once when told to.
mkdir -p "$H_TMP/state2"
"$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/state2" -o run_as="$(id -un)" \
	-o policy_listen="inet:127.0.0.1:$(h_free_port)" -o dns_servers=127.0.0.1:1 \
	-o client_blocklist="http://127.0.0.1:$HP/block.txt" -o map_fetch_timeout=20s \
	>>"$H_TMP/logs/policyd-hang.log" 2>&1 &
pid2=$!
h_track "$pid2" moat-policyd-2
sleep 1
t0=$(date +%s%N)
kill -TERM "$pid2"
wait "$pid2"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
tap_ok "SIGTERM while the first fetch hangs at start-up: a clean stop in ${ms} ms" \
	test "$rc" = 0 -a "$ms" -lt 2000
: >"$CTL"

# Too big, too many entries, not a list: each a failed fetch, copy kept.
head -c 5000 /dev/zero | tr '\0' '#' >"$WWW/block.txt"
tap_ok "a list over map_size_limit is refused" h_wait_log \
	"map client_blocklist http://.*/block\.txt: larger than 4096 bytes \(map_size_limit\); keeping the copy .* \(3 entries\)" 6 "$LOG"
seq 1 60 | sed 's/^/10.9.9./' >"$WWW/block.txt"
tap_ok "a list over map_entry_limit is refused" h_wait_log \
	"map client_blocklist http://.*/block\.txt: more than 50 entries; keeping the copy .* \(3 entries\)" 5 "$LOG"
printf '<html>\n\033[2Jcleared\n<body>Maintenance</body>\n</html>\n' >"$WWW/block.txt"
tap_ok "an error page served with 200 is not taken for a list" h_wait_log \
	"map client_blocklist http://.*/block\.txt: not a list: 4 of 4 lines .*; keeping the copy .* \(3 entries\)" 5 "$LOG"
tap_ok "...its lines are logged with control characters as '?'" grep -q \
	"http://127\.0\.0\.1:$HP/block\.txt, line 2: doesn't look like .*, skipped: ?\[2Jcleared$" "$LOG"
tap_ok "...and no escape character reaches the log" bash -c "! grep -q $'\033' '$LOG'"
tap_like "$(q 192.0.2.67 a@example.org b@example.com)" "^REJECT 5\.7\.1 " "...the last good copy is still in force"
tap_like "$(q 10.9.9.1 a@example.org b@example.com)" "^DEFER_IF_PERMIT" "...and nothing of the refused ones"

# The server goes away; the daemon restarts; the stored copy serves.
h_stop "$HPID"
tap_ok "no server: a warning naming the URL" h_wait_log \
	"warning: map client_blocklist http://127\.0\.0\.1:$HP/block\.txt: .*(connect|Connection refused).*; keeping the copy" 5 "$LOG"
h_stop "$M_POLICYD_PID"
tap_ok "moat-policyd restarts while the server is down" m_start_policyd \
	-o client_blocklist="http://127.0.0.1:$HP/block.txt" \
	-o map_refresh_interval=1h -o map_fetch_timeout=2s
LOG2=$M_POLICYD_LOG
tap_ok "...it starts from the copy stored in SQLite (logged)" grep -q \
	"map client_blocklist http://127\.0\.0\.1:$HP/block\.txt: 3 entries from the copy stored at .* UTC, until it is fetched" "$LOG2"
tap_ok "...and says the fetch failed" grep -q \
	"warning: map client_blocklist http://127\.0\.0\.1:$HP/block\.txt: .*; keeping the copy of .* (3 entries)" "$LOG2"
tap_like "$(q 192.0.2.67 a@example.org b@example.com)" "^REJECT 5\.7\.1 " \
	"...and a client on the stored copy is rejected from the first request"
tap_is "$(m_ctl maps | grep -c '^client_allowlist')" 0 "lists no longer configured leave moatctl maps"

# Back up with a new list; a one-hour interval, so only moatctl maps refresh fetches it now.
printf '192.0.2.68\n' >"$WWW/block.txt"
tap_ok "the server comes back" start_httpd
tap_like "$(m_ctl maps refresh)" "refresh asked for 1 source" "moatctl maps refresh asks for a refresh"
tap_ok "...the daemon fetches at once" h_wait_log \
	"map client_blocklist http://127\.0\.0\.1:$HP/block\.txt: 1 entries \(11 bytes fetched\)" 5 "$LOG2"
tap_like "$(q 192.0.2.68 a@example.org b@example.com)" "^REJECT 5\.7\.1 " "...the new list is in force"
tap_like "$(q 192.0.2.67 a@example.org b@example.com)" "^DEFER_IF_PERMIT" "...and the old one is gone"
tap_like "$(m_ctl maps | grep '^client_blocklist')" "	1	.*	11	-	-$" \
	"moatctl maps: 1 entry, 11 bytes stored, no error"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$LOG" "$LOG2" \
	"$H_TMP/logs/policyd-hang.log"
tap_done
