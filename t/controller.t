#!/bin/bash
# controller.t - moat-controller against Debian's rspamc (rspamd 3.4) and
# curl on loopback: the commands DMS users run (stat, uptime, symbols,
# learn_spam, learn_ham and the 208 of a repeat), zstd bodies as rspamc
# >= 3.9 sends them, passwords (moat's yescrypt and rspamadm's PBKDF2),
# and the attacks a controller on a network meets: wrong passwords,
# writes without the enable password, X-Forwarded-For from an untrusted
# client, path traversal, oversized bodies and headers, slow clients and
# 1,000 connections at once. 127.0.0.1 is the secure address;
# 127.0.0.2 and 127.0.0.3 stand for remote clients.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need rspamc rspamadm curl zstd python3
fx=$MOAT_SRCDIR/t/data
db=$H_TMP/state/moat.db
conf=$H_TMP/moat.conf
printf 'controller_secure_ip = 127.0.0.1\n' >"$conf"
m_start_controller -c "$conf" -o controller_body_limit=1m -o controller_timeout=2 \
	-o controller_header_limit=16k -o controller_auth_failures=3 -o controller_auth_block=30s \
	-o controller_max_connections=500 || tap_bail "moat-controller did not start"
U=http://127.0.0.1:$M_CTRL_PORT
RC=(rspamc -h "127.0.0.1:$M_CTRL_PORT")

# code [curl args...]: the status; the body in $H_TMP/body.
code() { curl -s -o "$H_TMP/body" -w '%{http_code}' "$@"; }
body() { cat "$H_TMP/body"; }
# The history's rows; a scan's row comes from the controller's batch writer,
# and any other request first waits for the rows of the scans before it (histq.h).
rows() { curl -s "$U/ping" >/dev/null; sqlite3 "$db" "SELECT count(*) FROM history"; }
bayes() { m_ctl bayes stats | awk '/^spam messages/ {s=$3} /^ham messages/ {h=$3} END {print s "/" h}'; }

tap_is "$(curl -s "$U/ping")" $'pong\r' "/ping answers pong"
out=$("${RC[@]}" stat 2>&1)
tap_like "$out" $'Messages scanned: 0\n' "rspamc stat: nothing scanned yet"
tap_like "$out" "Statfile: BAYES_SPAM type: sqlite3" "...and the Bayes statfiles"
tap_like "$("${RC[@]}" uptime 2>&1)" $'\nUptime: [0-9]' "rspamc uptime (/auth)"

# rspamc's symbols equal moatctl scan's: the same scan code, rules and database.
for f in scan/gtube-no-action.eml mime/spammy.eml mime/nested.eml; do
	[ -f "$fx/$f" ] || continue
	r=$("${RC[@]}" symbols "$fx/$f" 2>&1)
	m=$(m_ctl scan "$fx/$f" 2>&1)
	tap_is "$(grep -E '^(Action|Score):' <<<"$r")" "$(grep -E '^(Action|Score):' <<<"$m")" \
		"rspamc symbols $f: action and score as moatctl scan's"
	# rspamc 3.4 writes [] after a symbol without options; moatctl, as newer rspamc, nothing.
	tap_is "$(grep '^Symbol:' <<<"$r" | sed 's/\[\]$//' | sort)" "$(grep '^Symbol:' <<<"$m" | sort)" \
		"...and the same symbols with weights and options"
done
scanned=$(rows)
tap_ok "every scan became a history row ($scanned)" test "$scanned" -ge 2
tap_like "$("${RC[@]}" stat 2>&1)" $'Messages scanned: '"$scanned"$'\n' "rspamc stat counts them"
tap_like "$(cat "$M_CTRL_LOG")" "checkv2: client=127\.0\.0\.1, qid=, ip=, action=[a-z ]+, score=-?[0-9.]+, ms=" \
	"each scan is logged in one line"
synced() { curl -s "$U/ping" >/dev/null; }
curl -s -H 'Flags: zstd, no_log' -H 'Queue-Id: NOLOG1' --data-binary @"$fx/mime/spammy.eml" "$U/checkv2" >/dev/null
synced
tap_is "$(rows)" "$scanned" "Flags: no_log: no history row"
curl -s -H 'Queue-Id: 4XyZ1' -H 'IP: 192.0.2.5' -H 'From: <a@example.org>' -H 'Rcpt: b@example.net' \
	-H 'Rcpt: <c@example.net>' --data-binary @"$fx/mime/spammy.eml" "$U/checkv2" >/dev/null
synced
tap_is "$(sqlite3 "$db" "SELECT queue_id, client, sender, recipients, mime_from, mime_from_name FROM history ORDER BY id DESC LIMIT 1")" \
	"4XyZ1|192.0.2.5|a@example.org|b@example.net,c@example.net|winner@lottery.example|Dr. Winner" \
	"the rspamc headers go into the history row, and the message's From header"
# With no request after it, a scan's row still reaches the file soon (the
# writer gathers for 20 ms): what the sqlite3 shell and the milter's
# neighbours read.
curl -s -H 'Queue-Id: 4XyZ2' --data-binary @"$fx/mime/spammy.eml" "$U/checkv2" >/dev/null
alone() { [ "$(sqlite3 "$db" "SELECT count(*) FROM history WHERE queue_id = '4XyZ2'")" = 1 ]; }
tap_ok "a lone scan's row is written without another request" h_wait_for 3 alone
scanned=$(rows)

# Learning, as the IMAPSieve pipe does it.
msg=$fx/scan/gtube-no-action.eml
tap_like "$("${RC[@]}" learn_spam "$msg" 2>&1)" "success = true" "rspamc learn_spam"
tap_is "$(bayes)" "1/0" "...learned as spam"
tap_like "$("${RC[@]}" learn_spam "$msg" 2>&1)" 'error = "<gtube[^>]*> has been already learned as spam, ignore it"' \
	"a repeat: Rspamd's 'already learned' answer"
tap_is "$(code --data-binary @"$msg" "$U/learnspam")" 208 "...with status 208"
tap_like "$("${RC[@]}" learn_ham "$msg" 2>&1)" "success = true" "rspamc learn_ham of the same message"
tap_is "$(bayes)" "0/1" "...moves it to ham"
tap_is "$(code -X POST "$U/learnham")" 400 "an empty body is refused (400)"

# zstd bodies (rspamc >= 3.9: Compression and Content-Encoding: zstd).
plain=$(curl -s --data-binary @"$fx/mime/spammy.eml" "$U/checkv2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["score"])')
z=$(zstd -q -c "$fx/mime/spammy.eml" | curl -s -H 'Content-Encoding: zstd' --data-binary @- "$U/checkv2" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["score"])')
tap_is "$z" "$plain" "a zstd /checkv2 body (Content-Encoding) scores as the plain one"
z=$(zstd -q -c "$fx/mime/spammy.eml" | curl -s -H 'Compression: zstd' --data-binary @- "$U/checkv2" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["score"])')
tap_is "$z" "$plain" "...and with rspamc's Compression header"
zstd -q -c "$fx/mime/spammy.eml" >"$H_TMP/spammy.zst"
tap_is "$(code -H 'Content-Encoding: zstd' -H 'Compression: zstd' --data-binary @"$H_TMP/spammy.zst" "$U/learnspam")" 200 \
	"a zstd /learnspam body is learned"
tap_is "$(code -H 'Content-Encoding: zstd' --data-binary @"$H_TMP/spammy.zst" "$U/learnspam")" 208 "...and its repeat is 208"
head -c 60 "$H_TMP/spammy.zst" >"$H_TMP/cut.zst"
tap_is "$(code -H 'Content-Encoding: zstd' --data-binary @"$H_TMP/cut.zst" "$U/checkv2")" 400 "a cut zstd body is 400"
head -c 5000000 /dev/zero | zstd -q -c >"$H_TMP/bomb.zst"
tap_is "$(code -H 'Content-Encoding: zstd' --data-binary @"$H_TMP/bomb.zst" "$U/checkv2")" 413 \
	"a zstd bomb ($(stat -c %s "$H_TMP/bomb.zst") bytes, 5 MB inside) is 413 at the body limit"
tap_is "$(code -H 'Content-Encoding: gzip' --data-binary @"$msg" "$U/checkv2")" 415 "gzip is 415"

# --- access ---
r2() { code --interface 127.0.0.2 "$@"; }
tap_is "$(r2 "$U/stat")" 403 "no password set: a remote client gets 403"
tap_like "$(body)" "no controller password is set" "...saying why"
tap_is "$(r2 "$U/ping")" 200 "...but /ping needs none"
echo q1 | m_ctl controller password >/dev/null 2>&1
tap_is "$(sqlite3 "$db" "SELECT value FROM settings WHERE name = 'controller_password'")" "" \
	"moatctl refuses the placeholder q1"
echo 'read secret' | m_ctl controller password >/dev/null
hash=$(rspamadm pw -t pbkdf2 -e -p 'write secret')
tap_ok "moatctl takes rspamadm's PBKDF2 hash as the enable password" \
	m_ctl controller password --enable --hash "$hash"
tap_like "$(sqlite3 "$db" "SELECT value FROM settings WHERE name = 'controller_password'")" '^\$y\$' \
	"the read password is stored as a yescrypt hash"
before_rows=$(rows) before_bayes=$(bayes)
before_actions=$(sqlite3 "$db" "SELECT group_concat(name || '=' || ifnull(threshold, 'off')) FROM actions")
before_weight=$(sqlite3 "$db" "SELECT weight FROM symbols WHERE name = 'MISSING_MID'")
tap_is "$(r2 -H 'Password: read secret' "$U/stat")" 200 "the read password reads"
tap_like "$(body)" '"read_only":true' "...read-only"
tap_is "$(r2 -H 'Password: read secret' --data-binary @"$fx/mime/spammy.eml" "$U/learnham")" 403 \
	"...and cannot learn"
tap_like "$(body)" "needs the enable password" "...saying it needs the enable password"
tap_is "$(r2 -H 'Password: read secret' --data '[1,2,3,4]' "$U/saveactions")" 403 "...nor save actions"
tap_is "$(r2 -H 'Password: read secret' --data '[{"name":"MISSING_MID","value":9}]' "$U/savesymbols")" 403 \
	"...nor save symbols"
tap_is "$(r2 -H 'Password: read secret' "$U/statreset")" 403 "...nor reset the statistics"
tap_is "$(r2 -H 'Password: write secret' "$U/auth")" 200 "Rspamd's PBKDF2 hash checks the enable password"
tap_like "$(body)" '"read_only":false' "...which may write"
tap_is "$(r2 -H 'Password: q1' "$U/stat")" 403 "q1 is refused"
# X-Forwarded-For is believed only from a secure address.
tap_is "$(r2 -H 'X-Forwarded-For: 127.0.0.1' "$U/stat")" 403 "an untrusted client's X-Forwarded-For: 127.0.0.1 is ignored"
tap_is "$(r2 -H 'X-Real-IP: 127.0.0.1' "$U/learnspam" --data-binary @"$msg")" 403 "...as is its X-Real-IP"
tap_is "$(code -H 'X-Forwarded-For: 127.0.0.1, 192.0.2.7' "$U/stat")" 403 \
	"a secure proxy's X-Forwarded-For names the client judged (192.0.2.7 needs a password)"
tap_is "$(code -H 'X-Forwarded-For: 192.0.2.7' -H 'Password: read secret' "$U/stat")" 200 "...which it may give"
tap_is "$(rows)/$(bayes)" "$before_rows/$before_bayes" "nothing refused was written (history, Bayes)"
tap_is "$(sqlite3 "$db" "SELECT group_concat(name || '=' || ifnull(threshold, 'off')) FROM actions")/$(sqlite3 "$db" "SELECT weight FROM symbols WHERE name = 'MISSING_MID'")" \
	"$before_actions/$before_weight" "...nor thresholds or weights"

# Writes with the enable password.
W=(-H 'Password: write secret')
tap_is "$(r2 "${W[@]}" --data '[{"name":"MISSING_MID","value":2.5},{"name":"NO_SUCH_SYMBOL","value":1}]' "$U/savesymbols")" 400 \
	"/savesymbols with an unknown symbol is refused"
tap_is "$(sqlite3 "$db" "SELECT weight FROM symbols WHERE name = 'MISSING_MID'")" "$before_weight" "...and saves nothing"
tap_is "$(r2 "${W[@]}" --data '[{"name":"MISSING_MID",' "$U/savesymbols")" 400 "bad JSON is 400"
tap_is "$(r2 "${W[@]}" --data '[15, null, 6, "x"]' "$U/saveactions")" 400 "/saveactions with a string is 400"
nomid=$H_TMP/nomid.eml
printf 'From: a@example.org\nTo: b@example.net\nSubject: hello there\nDate: %s\n\nhi\n' "$(date -R)" >"$nomid"
s1=$(curl -s --data-binary @"$nomid" "$U/checkv2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["score"])')
tap_is "$(r2 "${W[@]}" --data '[{"name":"MISSING_MID","value":7.25}]' "$U/savesymbols")" 200 "/savesymbols with the enable password"
tap_is "$(sqlite3 "$db" "SELECT weight FROM symbols WHERE name = 'MISSING_MID'")" "7.25" "...is in the database"
# No wait: the controller reloads its rules after its own change.
s2=$(curl -s --data-binary @"$nomid" "$U/checkv2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["score"])')
tap_is "$(python3 -c "print(round($s2 - $s1, 2))")" "$(python3 -c "print(round(7.25 - $before_weight, 2))")" \
	"...and the next scan's score moves by the change ($s1 -> $s2)"
tap_is "$(r2 "${W[@]}" --data '[20, null, 8, 5]' "$U/saveactions")" 200 "/saveactions"
tap_is "$(sqlite3 "$db" "SELECT group_concat(name || '=' || ifnull(threshold, 'off'), ' ') FROM (SELECT * FROM actions ORDER BY name)")" \
	"add header=8.0 greylist=5.0 reject=20.0 rewrite subject=off" "...writes the four thresholds (null: off)"
tap_like "$(curl -s "$U/actions")" '^\[\{"action":"reject","value":20\.0\},\{"action":"add header","value":8\.0\},\{"action":"greylist","value":5\.0\}\]$' \
	"/actions lists the thresholds in Rspamd's order"

# Throttling: 3 wrong passwords, then even the right one waits.
r3() { code --interface 127.0.0.3 "$@"; }
for i in 1 2 3; do r3 -H 'Password: guess'$i "$U/stat" >/dev/null; done
tap_is "$(r3 -H 'Password: read secret' "$U/stat")" 429 "after 3 wrong passwords an address gets 429"
tap_like "$(body)" "Too many authentication failures" "...with Rspamd's words"
tap_is "$(r2 -H 'Password: read secret' "$U/stat")" 200 "...other addresses are not affected"
tap_like "$(cat "$M_CTRL_LOG")" "client=127.0.0.3: /stat: wrong password" "wrong passwords are logged with the address"

# Path traversal: nothing is served from files.
for p in '/../../../../etc/passwd' '/%2e%2e/%2e%2e/etc/passwd' '/checkv2/../../../etc/passwd' '/ping/..%2f..%2fetc/passwd'; do
	c=$(code --path-as-is "$U$p")
	tap_ok "GET $p is 404 without a file's content ($c)" bash -c "[ $c = 404 ] && ! grep -q root: '$H_TMP/body'"
done
tap_is "$(code -X DELETE "$U/stat")" 405 "an unknown method is 405"

# Oversized bodies and headers.
head -c 1100000 /dev/zero | tr '\0' a >"$H_TMP/big"
tap_is "$(code --data-binary @"$H_TMP/big" "$U/checkv2")" 413 "a body over controller_body_limit is 413"
tap_is "$(code -H 'Transfer-Encoding: chunked' --data-binary @"$H_TMP/big" "$U/checkv2")" 413 "...chunked too"
tap_is "$(code -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$U/ping")" 431 "headers over controller_header_limit are 431"
tap_is "$(code -H "Rcpt: $(head -c 3000 /dev/zero | tr '\0' a)@example.org" --data-binary @"$msg" "$U/checkv2")" 400 \
	"a protocol header over its limit is 400"
tap_is "$(code -H "IP: 999.1.2.3" --data-binary @"$msg" "$U/checkv2")" 400 "an IP header that is no address is 400"

# Slowloris: a request that never ends is closed after controller_timeout (2 s).
python3 - "$M_CTRL_PORT" >"$H_TMP/slow.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /stat HTTP/1.1\r\nHost: x\r\n")
t = time.time()
try:
    for i in range(20):
        time.sleep(0.5)
        s.sendall(b"X-Slow: 1\r\n")   # one header at a time, never the end
except OSError:
    pass
s.settimeout(10)
try:
    data = s.recv(100)
except OSError:
    data = b""
print("closed after %.1f s, %d bytes" % (time.time() - t, len(data)))
PY
slow=$!
sleep 1
tap_is "$(code "$U/ping")" 200 "a slow client does not hold up others"
wait "$slow"
tap_like "$(cat "$H_TMP/slow.out")" "closed after [2-4]\.[0-9] s" "...and is cut off after the timeout"

# 1,000 connections at once (the limit is 500): each gets an answer, 200 or 503.
before_rows=$(rows)
python3 - "$M_CTRL_PORT" >"$H_TMP/flood.out" 2>&1 <<'PY'
import resource, socket, sys, collections, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
# Let the server accept them all before any request: connections still in the
# kernel's backlog are not the server's yet, and on a busy machine it could
# serve the first 500 before it takes the rest, so none would be past the
# limit. The listening socket's backlog (rx_queue in /proc/net/tcp) says when
# it has: a fixed wait could outlast this test's controller_timeout of 2 s on
# a loaded machine, which closes idle connections unanswered.
def backlog():
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:
            return int(f[4].split(":")[1], 16)
    return 0
until = time.monotonic() + 1.5
while backlog() and time.monotonic() < until:
    time.sleep(0.01)
for s in socks:
    s.sendall(b"GET /stat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
seen = collections.Counter()
for s in socks:
    s.settimeout(20)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError as e:
        seen["error " + type(e).__name__] += 1
        continue
    seen[data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "no answer"] += 1
    s.close()
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
PY
flood=$(cat "$H_TMP/flood.out")
tap_like "$flood" '^(200=[0-9]+ ?)?(503=[0-9]+)?$' "1,000 connections: each answered 200 or 503 ($flood)"
tap_like "$flood" '503=[0-9]+' "...503 past controller_max_connections"
tap_ok "...and moat-controller is still up" kill -0 "$M_CTRL_PID"
tap_is "$(curl -s "$U/ping")" $'pong\r' "...and answers"
tap_is "$(rows)" "$before_rows" "...and nothing was written"

# History, metrics, statistics that survive a restart.
h=$(curl -s "$U/history?from=0&to=2")
tap_like "$h" '^\{"version":2,"rows":\[\{' "/history: Rspamd's version 2 rows"
tap_is "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["rows"]))' "$h")" 2 "...from=0&to=2 gives 2 rows"
tap_like "$h" '"subject":"hello there"' "...with the subject"
tap_like "$h" '"symbols":\{"[A-Z_]+":\{"name":' "...and the symbols"
tap_is "$(code "$U/history?from=5&to=x")" 400 "a bad row number is 400"
g=$(curl -s "$U/graph?type=day")
tap_is "$(python3 -c 'import json,sys; g = json.loads(sys.argv[1]); print(len(g), {len(a) for a in g}, round(sum(p["y"] * 300 for a in g for p in a)))' "$g")" \
	"6 {288} $(rows)" "/graph?type=day: six actions, 288 five-minute points, all of today's history"
tap_is "$(python3 -c 'import json,sys; print(sum(a["data"] for a in json.loads(sys.argv[1])))' "$(curl -s "$U/pie")")" \
	"$(rows)" "/pie: the messages per action add up to the history"
tap_is "$(code "$U/graph?type=hourly")" 400 "/graph with an unknown type is 400"
# /maps and /getmap: a file is served only while its list's setting names it.
printf '192.0.2.0/24\n' >"$H_TMP/allow.txt"
sqlite3 "$db" "INSERT INTO map_sources (list, source, entries) VALUES ('client_allowlist', '$H_TMP/allow.txt', 1);
	INSERT INTO map_sources (list, source, entries) VALUES ('client_blocklist', '/etc/passwd', 1);
	INSERT INTO map_sources (list, source, body, entries) VALUES ('sender_blocklist', 'https://lists.example/bl', 'spam@example.com', 1)"
mp=$(curl -s "$U/maps")
tap_like "$mp" '"uri":"https://lists\.example/bl","description":"sender_blocklist"' "/maps lists the sources of the lists"
mapid() { python3 -c 'import json,sys; print([m["map"] for m in json.loads(sys.argv[1]) if m["uri"] == sys.argv[2]][0])' "$mp" "$1"; }
tap_is "$(curl -s -H "Map: $(mapid https://lists.example/bl)" "$U/getmap")" "spam@example.com" "/getmap: a URL source's stored copy"
tap_is "$(code -H "Map: $(mapid "$H_TMP/allow.txt")" "$U/getmap")" 404 "...a file its setting does not name now is not read"
tap_is "$(code -H "Map: $(mapid /etc/passwd)" "$U/getmap")" 404 "...so a row naming /etc/passwd gets 404"
tap_ok "...without its content" bash -c "! grep -q root: '$H_TMP/body'"
tap_is "$(code -H 'Map: ../../etc/passwd' "$U/getmap")" 400 "...and a Map header that is no id is 400"
m=$(curl -s "$U/metrics")
tap_like "$m" $'rspamd_scanned_total '"$(rows)"$'\n' "/metrics counts the history"
tap_like "$m" $'# EOF\n?$' "...as OpenMetrics, ending in # EOF"
before=$("${RC[@]}" stat 2>&1 | grep 'Messages scanned')
h_stop "$M_CTRL_PID"
m_start_controller -c "$conf" || tap_bail "moat-controller did not start again"
U=http://127.0.0.1:$M_CTRL_PORT
RC=(rspamc -h "127.0.0.1:$M_CTRL_PORT")
tap_is "$("${RC[@]}" stat 2>&1 | grep 'Messages scanned')" "$before" "the statistics survive a restart ($before)"
tap_like "$("${RC[@]}" stat_reset 2>&1)" "Messages scanned" "rspamc stat_reset"
tap_like "$("${RC[@]}" stat 2>&1)" $'Messages scanned: 0\n' "...counts from now on"
tap_is "$(rows)" "$before_rows" "...keeping the history rows"

# SIGHUP: controller_secure_ip from the file again.
printf 'controller_secure_ip = 127.0.0.1, 127.0.0.2\nclient_allowlist = %s\n' "$H_TMP/allow.txt" >"$conf"
kill -HUP "$M_CTRL_PID"
h_wait_log "reloaded" 5 "$M_CTRL_LOG"
tap_is "$(r2 "$U/stat")" 200 "after SIGHUP a newly secure address needs no password"
tap_is "$(r3 "$U/stat")" 403 "...and the others still do"
tap_is "$(curl -s -H "Map: $(mapid "$H_TMP/allow.txt")" "$U/getmap")" "192.0.2.0/24" \
	"...and /getmap serves a file that client_allowlist now names"

h_stop "$M_CTRL_PID"

# Detached, as an init script starts it: pid file and log_file.
dport=$(h_free_port)
dopts=(-o state_directory="$H_TMP/state" -o controller_listen="inet:127.0.0.1:$dport" -o dns_servers=127.0.0.1:1
	-o run_as="$(id -un)" -o controller_pid_file="$H_TMP/c.pid" -o log_file="$H_TMP/logs/controller-detached.log")
"$(m_bin moat-controller)" "${dopts[@]}"
tap_is "$?" 0 "detached start: exit 0"
dpid=$(cat "$H_TMP/c.pid" 2>/dev/null)
[ -n "$dpid" ] && h_track "$dpid" moat-controller
tap_ok "...its pid file names a running moat-controller" kill -0 "${dpid:-0}"
h_wait_port "$dport" 10 "$dpid"
tap_is "$(curl -s "http://127.0.0.1:$dport/ping")" $'pong\r' "...which answers"
out=$("$(m_bin moat-controller)" "${dopts[@]}" -o controller_listen="inet:127.0.0.1:$(h_free_port)" 2>&1)
tap_like "$out" "pid file .* is held by process $dpid: it is running already" "a second start is refused"
h_stop "$dpid"
tap_ok "SIGTERM: the pid file is removed" test ! -e "$H_TMP/c.pid"
tap_like "$(cat "$H_TMP/logs/controller-detached.log")" "ready: listening.*"$'\n'".*stopped" "...and log_file has its start and stop"
tap_ok "no sanitizer report" m_check_sanitizer_logs "$H_TMP"/logs/controller-*.log
tap_done
