#!/bin/bash
# controller-moat-api.t - moat-controller's MOAT API (/moat/..., the web
# UI's server side) on loopback with a real SQLite database: history rows
# written by moat-contentfilter for mail sent through a private Postfix,
# searched and paged; a message's symbols; learning a history row from its
# kept Bayes tokens, judged against "moatctl learn-spam" of the original
# message into a second database (the two Bayes states must be equal);
# the dashboard's numbers against the history and SQL's own views;
# greylisting against a real moat-policyd (an allowed triplet passes at
# its next attempt); composites with the scanner's expression parser; and
# access, methods and bad input: a read password writes nothing, each bad
# request gets a clear 4xx and the daemon stays up. 127.0.0.1 is the
# secure address; 127.0.0.2 stands for a remote client.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink curl python3 sqlite3
db=$H_TMP/state/moat.db
m_ctl migrate >/dev/null

# code [curl args...]: the status; the body in $H_TMP/body.
code() { curl -s -o "$H_TMP/body" -w '%{http_code}' "$@"; }
body() { cat "$H_TMP/body"; }
# j EXPR: a Python expression over the last body (as d).
j() { python3 -c "import json,sys; d=json.load(open('$H_TMP/body')); print($1)"; }
q() { sqlite3 "$db" "$@"; }
bayes_state() { sqlite3 "$1" "SELECT spam, ham FROM bayes_state;
	SELECT group_concat(message || ':' || class) FROM (SELECT * FROM bayes_seen ORDER BY message)"; }
# rows_at_least N [WHERE]: the history has N rows (that match).
rows_at_least() { [ "$(q "SELECT count(*) FROM history ${2:-}")" -ge "$1" ]; }
tokens_dump() { sqlite3 "$1" "SELECT token, spam, ham FROM bayes_tokens WHERE spam > 0 OR ham > 0 ORDER BY token"; }

# Three messages with enough words for Bayes, each with its own Subject;
# the second's From header is not its envelope sender's address.
mk() { # file subject message-id body...
	local f=$1 s=$2 id=$3
	shift 3
	{
		printf 'From: %s\nTo: bob@example.com\n' "${FROM_HDR:-\"Sales Team\" <offers@shop.example>}"
		printf 'Subject: %s\nMessage-ID: <%s>\nDate: Thu, 03 Dec 2026 10:00:00 +0000\n' "$s" "$id"
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n' "$*"
	} >"$f"
}
mk "$H_TMP/m1.eml" "Cheap Watches Today" "m1@shop.example" \
	"Buy cheap replica watches today, the best prices online. Visit http://watches.example/buy now" \
	"and claim your discount before the offer ends. Limited stock of luxury watches for you."
FROM_HDR='"Dana Budget" <dana@Office.Example>' mk "$H_TMP/m2.eml" "Minutes of the budget meeting" "m2@office.example" \
	"Hello team, attached are the minutes of the budget meeting we held on Tuesday." \
	"Please review the figures for the third quarter and send your comments by Friday."
mk "$H_TMP/m3.eml" "100% free_offer" "m3@shop.example" \
	"Special characters in this subject: percent and underscore should match themselves only."

tap_ok "moat-contentfilter starts" m_start_contentfilter
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"
# swaks ends the DATA with CRLF of its own: without the file's last newline
# Postfix gets the file's message exactly (with CRLF for LF).
send() { # n from to
	head -c -1 "$H_TMP/m$1.eml" >"$H_TMP/m$1.smtp"
	h_swaks --from "$2" --to "$3" --data "$H_TMP/m$1.smtp" >/dev/null 2>&1
}
for i in 1 2 3; do
	send "$i" "sender$i@shop.example" "rcpt$i@example.com"
done
h_wait_for 20 rows_at_least 3
tap_is "$(q 'SELECT count(*) FROM history')" 3 "the milter wrote three history rows"
tap_is "$(q 'SELECT count(*) FROM history_tokens')" 3 "...and kept the Bayes tokens of each"
tap_is "$(q "SELECT count(*) FROM history_tokens WHERE length(tokens) % 8 = 0 AND length(tokens) >= 8 * 11")" 3 \
	"...as whole 64-bit hashes, at least the 11 Bayes needs"
id1=$(q "SELECT id FROM history WHERE subject = 'Cheap Watches Today'")
id2=$(q "SELECT id FROM history WHERE subject = 'Minutes of the budget meeting'")
id3=$(q "SELECT id FROM history WHERE subject LIKE '100%'")

printf '# allowed by hand\n192.0.2.99\n' >"$H_TMP/allow-clients"
printf 'controller_secure_ip = 127.0.0.1\nclient_allowlist = %s\n' "$H_TMP/allow-clients" >"$H_TMP/moat.conf"
tap_ok "moat-controller starts" m_start_controller -c "$H_TMP/moat.conf" -o controller_body_limit=64k \
	-o controller_auth_failures=100
U=http://127.0.0.1:$M_CTRL_PORT
echo 'read secret' | m_ctl controller password >/dev/null
echo 'write secret' | m_ctl controller password --enable >/dev/null
R=(--interface 127.0.0.2 -H 'Password: read secret')
W=(--interface 127.0.0.2 -H 'Password: write secret')

# --- who ---
tap_is "$(code "$U/moat/whoami")" 200 "/moat/whoami from the secure address"
tap_is "$(j 'd["access"], d["via"], d["client"]')" "write secure_ip 127.0.0.1" "...write, via secure_ip"
code "${R[@]}" "$U/moat/whoami" >/dev/null
tap_is "$(j 'd["access"], d["via"], d["client"]')" "read password 127.0.0.2" "the read password: read"
code "${W[@]}" "$U/moat/whoami" >/dev/null
tap_is "$(j 'd["access"], d["via"]')" "write enable_password" "the enable password: write"
tap_is "$(code --interface 127.0.0.2 "$U/moat/whoami")" 403 "no password from elsewhere: 403"

# --- history ---
tap_is "$(code "${R[@]}" "$U/moat/history")" 200 "/moat/history with the read password"
tap_is "$(j '[r["id"] for r in d["rows"]] == sorted([r["id"] for r in d["rows"]], reverse=True), d["total"], d["more"]')" \
	"True 3 False" "newest first, total 3"
tap_is "$(j '[(r["sender"], r["recipients"], r["learnable"], r["learned"]) for r in d["rows"] if r["id"] == '"$id1"']')" \
	"[('sender1@shop.example', ['rcpt1@example.com'], True, None)]" "a row: envelope, recipients, learnable, not learned"
code "${R[@]}" "$U/moat/history?subject=budget%20MEETING" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]], d["total"], d["more"]')" "[$id2] None False" \
	"subject: substring, any case (no total for a substring search)"
code "${R[@]}" "$U/moat/history?subject=100%25" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id3]" "subject: % is a character, not a wildcard"
code "${R[@]}" "$U/moat/history?subject=e_o" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id3]" "...and so is _ (free_offer, not 'e o')"
code "${R[@]}" "$U/moat/history?from=SENDER2@" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id2]" "from: the envelope sender"
code "${R[@]}" "$U/moat/history?from=DANA@office" >/dev/null
tap_is "$(j '[(r["id"], r["sender"], r["mime_from"], r["mime_from_name"]) for r in d["rows"]]')" \
	"[($id2, 'sender2@shop.example', 'dana@office.example', 'Dana Budget')]" \
	"from: the From header's address too; the row has both"
code "${R[@]}" "$U/moat/history?from=na%20budg" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id2]" "from: the From header's display name"
code "${R[@]}" "$U/moat/history?from=offers@shop" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id3, $id1]" "from: a header address no envelope has"
code "${R[@]}" "$U/moat/history?ip=127.0.0.1&from=dana@" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id2]" "from: the header with one client (no index)"
tap_is "$(code "$U/history")" 200 "Rspamd's /history"
tap_is "$(j '[(r["sender_smtp"], r["sender_mime"]) for r in d["rows"] if r["id"] == '"$id2"']')" \
	"[('sender2@shop.example', 'dana@office.example')]" "...sender_mime is the From header's address"
code "${R[@]}" "$U/moat/history?to=rcpt3" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id3]" "to: a recipient"
code "${R[@]}" "$U/moat/history?ip=127.0.0." >/dev/null
tap_is "$(j 'len(d["rows"])')" 3 "ip: a prefix"
code "${R[@]}" "$U/moat/history?ip=127.0.0.2" >/dev/null
tap_is "$(j 'len(d["rows"])')" 0 "ip: an address, exactly"
code "${R[@]}" "$U/moat/history?ip=127.0.0.1&subject=WATCHES" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id1]" "ip and subject together"
code "${R[@]}" "$U/moat/history?ip=127.0.&subject=WATCHES&from=sender1" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]]')" "[$id1]" "ip prefix, subject and from together"
code "${R[@]}" "$U/moat/history?subject=zzzqqq" >/dev/null
tap_is "$(j 'd["rows"], d["total"]')" "[] None" "a term no row has"
code "${R[@]}" "$U/moat/history?subject=%C3%BCber%20alles" >/dev/null
tap_is "$(j 'd["rows"]')" "[]" "a term with UTF-8"
act=$(q "SELECT action FROM history WHERE id = $id1")
code "${R[@]}" "$U/moat/history?action=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$act")" >/dev/null
tap_is "$(j 'all(r["action"] == "'"$act"'" for r in d["rows"]), d["total"]')" \
	"True $(q "SELECT count(*) FROM history WHERE action = '$act'")" "action: exact"
sym=$(q "SELECT symbol FROM history_symbols WHERE id = $id2 ORDER BY symbol LIMIT 1")
code "${R[@]}" "$U/moat/history?symbol=$sym" >/dev/null
tap_is "$(j 'sorted(r["id"] for r in d["rows"])')" \
	"$(q "SELECT '[' || group_concat(id, ', ') || ']' FROM (SELECT id FROM history WHERE symbols LIKE '%$sym(%' ORDER BY id)")" \
	"symbol: the rows whose symbols name it ($sym)"
today=$(date +%F)
code "${R[@]}" "$U/moat/history?since=$today&until=$today" >/dev/null
tap_is "$(j 'len(d["rows"])')" 3 "since/until as a day"
code "${R[@]}" "$U/moat/history?until=2001-01-01" >/dev/null
tap_is "$(j 'len(d["rows"]), d["total"]')" "0 0" "...nothing before 2001"
code "${R[@]}" "$U/moat/history?limit=1&offset=1" >/dev/null
tap_is "$(j '[r["id"] for r in d["rows"]], d["more"], d["total"]')" "[$id2] True 3" "paging: limit and offset"
tap_is "$(code "${R[@]}" "$U/moat/history?subject=%27%3B%20DROP%20TABLE%20history%3B--%20%22%5C")" 200 \
	"SQL metacharacters in a search term: 200"
tap_is "$(j 'd["rows"]')/$(q 'SELECT count(*) FROM history')" "[]/3" "...nothing found, nothing harmed"
for bad in "limit=501" "limit=0" "offset=-1" "offset=x" "since=2026-02-31" "since=yesterday" \
	"until=1&since=2" "ip=10.0.0.0%2F8" "ip=%27" "action=spam" "symbol=lower" \
	"subject=$(head -c 201 /dev/zero | tr '\0' a)" "subject=%01" "subject=ab" "from=%C3%A9%C3%A9"; do
	tap_is "$(code "${R[@]}" "$U/moat/history?$bad")" 400 "history?${bad:0:30}: 400"
done
tap_like "$(body)" '"error":"from: 3 characters' "...the error names the argument"
# Every row reachable by paging, far past Rspamd's 200.
q "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1200)
	INSERT INTO history (time, queue_id, client, sender, subject, score, action, symbols)
	SELECT unixepoch() - 86400 * 3 + n, 'Q' || n, '192.0.2.' || (n % 200), 'bulk' || n || '@example.org',
	       'bulk message ' || n, 1.0, 'no action', 'default: False [1.00 / 15.00]; BULK_SYM(1.00)[x]' FROM g"
seen=0
for off in 0 500 1000 1500; do
	code "${R[@]}" "$U/moat/history?limit=500&offset=$off" >/dev/null
	seen=$((seen + $(j 'len(d["rows"])')))
done
tap_is "$seen/$(j 'd["total"]')" "1203/1203" "1,203 rows, every one reachable in pages of 500"
code "${R[@]}" "$U/moat/history?symbol=BULK_SYM&limit=2" >/dev/null
tap_is "$(j 'd["total"], [r["subject"] for r in d["rows"]]')" "1200 ['bulk message 1200', 'bulk message 1199']" \
	"rows written by SQL are indexed for symbol search too (by the search, not a writer)"

# --- one message ---
tap_is "$(code "${R[@]}" "$U/moat/message?id=$id1")" 200 "/moat/message?id=N"
tap_is "$(j '" ".join(s["name"] for s in d["symbols"])')" \
	"$(q "SELECT symbols FROM history WHERE id = $id1" | python3 -c 'import sys,re; print(" ".join(re.findall(r"(?:^|; )([A-Z0-9_]+)\(", sys.stdin.read())))')" \
	"...its symbols in the stored order"
tap_is "$(j 'all(isinstance(s["weight"], float) and isinstance(s["options"], list) for s in d["symbols"]), d["learnable"], d["subject"]')" \
	"True True Cheap Watches Today" "...each with weight and options; learnable"
code "${R[@]}" "$U/moat/message?id=$id2" >/dev/null
tap_is "$(j 'd["sender"], d["mime_from"], d["mime_from_name"]')" \
	"sender2@shop.example dana@office.example Dana Budget" "...the envelope sender and the From header"
tap_is "$(code "${R[@]}" "$U/moat/message?id=999999")" 404 "an unknown id: 404"
tap_is "$(code "${R[@]}" "$U/moat/message?id=1%20OR%201=1")" 400 "a bad id: 400"
tap_is "$(code "${R[@]}" "$U/moat/message")" 400 "no id: 400"

# --- learning from the history ---
ref=$H_TMP/ref.db
mref() { "$(m_bin moatctl)" -o database_path="$ref" -o dns_servers=127.0.0.1:1 "$@"; }
mref migrate >/dev/null
before=$(bayes_state "$db")
tap_is "$(code "${R[@]}" --data "{\"id\":$id1,\"class\":\"spam\"}" "$U/moat/learn")" 403 \
	"/moat/learn with the read password: 403"
tap_is "$(bayes_state "$db")" "$before" "...and nothing learned"
tap_is "$(code "${W[@]}" -G "$U/moat/learn")" 405 "/moat/learn by GET: 405"
tap_is "$(code "${W[@]}" --data "{\"id\":$id1,\"class\":\"spam\"}" "$U/moat/learn")" 200 \
	"/moat/learn with the enable password"
tap_is "$(j 'd["success"], d["result"]')" "True learned" "...learned"
mref learn-spam "$H_TMP/m1.eml" >/dev/null
tap_is "$(tokens_dump "$db" | md5sum)" "$(tokens_dump "$ref" | md5sum)" \
	"the token counts equal moatctl learn-spam of the original message ($(tokens_dump "$ref" | wc -l) tokens)"
tap_is "$(bayes_state "$db")" "$(bayes_state "$ref")" "...and so do bayes_state and bayes_seen"
code "${R[@]}" "$U/moat/message?id=$id1" >/dev/null
tap_is "$(j 'd["learned"]')" spam "the row now says learned: spam"
tap_is "$(code "${W[@]}" --data "{\"id\":$id1,\"class\":\"spam\"}" "$U/moat/learn")" 208 "the same class again: 208"
tap_like "$(body)" "already learned as spam" "...as /learnspam says it"
tap_is "$(code "${W[@]}" --data "{\"id\":\"$id1\",\"class\":\"ham\"}" "$U/moat/learn")" 200 "relearned as ham"
tap_is "$(j 'd["result"]')" moved "...moved"
mref learn-ham "$H_TMP/m1.eml" >/dev/null
tap_is "$(tokens_dump "$db" | md5sum)/$(bayes_state "$db")" "$(tokens_dump "$ref" | md5sum)/$(bayes_state "$ref")" \
	"...the same state as moatctl learn-ham moving it"
code "$U/moat/learn" --data "{\"id\":$id2,\"class\":\"ham\"}" >/dev/null
mref learn-ham "$H_TMP/m2.eml" >/dev/null
tap_is "$(tokens_dump "$db" | md5sum)/$(bayes_state "$db")" "$(tokens_dump "$ref" | md5sum)/$(bayes_state "$ref")" \
	"a second message, learned from the secure address, as moatctl learns it"
# /checkv2's scans keep their tokens too, and learn as the file does.
curl -s -H 'Queue-Id: CHECKV2' --data-binary @"$H_TMP/m3.eml" "$U/checkv2" >/dev/null
# The row comes from the controller's batch writer: a request after the scan
# waits for it (histq.h).
curl -s "$U/ping" >/dev/null
id5=$(q "SELECT id FROM history WHERE queue_id = 'CHECKV2'")
tap_is "$(q "SELECT count(*) FROM history_tokens WHERE id = ${id5:-0}")" 1 "a /checkv2 scan keeps its tokens"
code "$U/moat/learn" --data "{\"id\":${id5:-0},\"class\":\"spam\"}" >/dev/null
mref learn-spam "$H_TMP/m3.eml" >/dev/null
tap_is "$(tokens_dump "$db" | md5sum)/$(bayes_state "$db")" "$(tokens_dump "$ref" | md5sum)/$(bayes_state "$ref")" \
	"...and learns from them as moatctl learns the file"
tap_is "$(code "${W[@]}" --data "{\"id\":$id3,\"class\":\"spam\"}" "$U/moat/learn")" 208 \
	"the milter's row of the same message: already learned (one message, whichever way it came)"
q "DELETE FROM history_tokens WHERE id = $id3"
tap_is "$(code "${W[@]}" --data "{\"id\":$id3,\"class\":\"spam\"}" "$U/moat/learn")" 410 "tokens gone: 410"
tap_like "$(body)" "no longer kept" "...saying so"
tap_is "$(code "${W[@]}" --data '{"id":999999,"class":"spam"}' "$U/moat/learn")" 404 "no such row: 404"
for bad in '{"id":1,"class":"spamm"}' '{"id":-1,"class":"spam"}' '{"id":1}' '{"id":1,"class":"spam","x":1}' \
	'[1]' '{"id":1,' 'not json' '{"id":"1; DELETE FROM history","class":"spam"}'; do
	tap_is "$(code "${W[@]}" --data "$bad" "$U/moat/learn")" 400 "learn ${bad:0:32}: 400"
done
tap_is "$(bayes_state "$db")" "$(bayes_state "$ref")" "...none of them changed Bayes"

# --- dashboard ---
tap_is "$(code "${R[@]}" "$U/moat/dashboard")" 200 "/moat/dashboard"
midnight=$(date -d "$(date +%F)" +%s)
tap_is "$(j 'd["actions_today"]["total"]')" "$(q "SELECT count(*) FROM history WHERE time >= $midnight")" \
	"actions today: the history rows since local midnight"
tap_is "$(j 'sorted(k for k in d["actions_today"] if k != "total")')" \
	"['add header', 'greylist', 'no action', 'reject', 'rewrite subject', 'soft reject']" "...all six actions"
tap_is "$(j 'd["series"]["period"], len(d["series"]["points"]), sum(sum(p[1:]) for p in d["series"]["points"])')" \
	"day 24 $(q "SELECT count(*) FROM history WHERE time >= unixepoch() - 86400")" "the day's 24 hours hold the day's rows"
code "${R[@]}" "$U/moat/dashboard?period=month" >/dev/null
tap_is "$(j 'len(d["series"]["points"]), d["series"]["step"], sum(sum(p[1:]) for p in d["series"]["points"])')" \
	"30 86400 $(q "SELECT count(*) FROM history")" "period=month: 30 days, every row"
code "${R[@]}" "$U/moat/dashboard?period=week" >/dev/null
tap_is "$(j 'len(d["series"]["points"]), d["series"]["step"]')" "28 21600" "period=week: 28 steps of 6 hours"
# SQL's own split of the symbols column (the symbol_hits_today view) is the oracle.
tap_is "$(j '" ".join("%s=%d" % (s["name"], s["count"]) for s in sorted(d["top_symbols"], key=lambda s: s["name"]))')" \
	"$(q "SELECT group_concat(symbol || '=' || messages, ' ') FROM (SELECT * FROM (SELECT symbol, messages FROM symbol_hits_today ORDER BY messages DESC, symbol LIMIT 20) ORDER BY symbol)")" \
	"top symbols: the counts of the symbol_hits_today view"
tap_is "$(j 'd["scan_ms"]["count"], d["scan_ms"]["max"] == max(d["scan_ms"]["max"], d["scan_ms"]["p99"], d["scan_ms"]["p50"])')" \
	"$(q "SELECT count(*) FROM history WHERE time >= unixepoch() - 86400 AND action <> 'skipped'") True" \
	"scan times: the day's rows, max >= p99 >= p50"
tap_is "$(j 'd["bayes"]["spam"], d["bayes"]["ham"], d["bayes"]["active"], d["bayes"]["min_learns"]')" \
	"$(q "SELECT spam, ham FROM bayes_state" | tr '|' ' ') False 200" "Bayes: learned counts, not active below min learns"
tap_is "$(code "${R[@]}" "$U/moat/dashboard?period=year")" 400 "period=year: 400"

# --- greylisting, against moat-policyd ---
tap_ok "moat-policyd starts" m_start_policyd -c "$H_TMP/moat.conf" -o greylist_delay=1h
req=(request=smtpd_access_policy protocol_state=RCPT client_address=198.51.100.7
	client_name=mx.sender.example sender=alice@sender.example recipient=bob@example.com instance=1)
tap_like "$(m_policy_query "$M_POLICY_PORT" "${req[@]}")" "DEFER" "a new triplet is greylisted"
code "${R[@]}" "$U/moat/greylist?q=SENDER.EXAMPLE" >/dev/null
tap_is "$(j 'd["triplets"]["total"], [(t["client"], t["sender"], t["recipient"], t["passed_at"]) for t in d["triplets"]["rows"]]')" \
	"1 [('198.51.100.0', 'alice@sender.example', 'bob@example.com', None)]" "/moat/greylist?q= finds it"
tid=$(j 'd["triplets"]["rows"][0]["id"]')
tap_is "$(q "SELECT id FROM greylist")" "$tid" "...its id as a decimal string, all 64 bits"
tap_is "$(code "${R[@]}" --data "{\"triplet\":\"$tid\"}" "$U/moat/greylist/allow")" 403 "allow with the read password: 403"
tap_is "$(q "SELECT ifnull(passed_at, 'waiting') FROM greylist")" waiting "...still waiting"
tap_is "$(code "${W[@]}" --data "{\"triplet\":\"$tid\"}" "$U/moat/greylist/allow")" 200 "allow the triplet"
tap_is "$(m_policy_query "$M_POLICY_PORT" "${req[@]/instance=1/instance=2}")" DUNNO "...its next attempt passes"
tap_is "$(code "${W[@]}" --data "{\"triplet\":\"$tid\"}" "$U/moat/greylist/delete")" 200 "delete the triplet"
tap_is "$(j 'd["deleted"]')/$(q 'SELECT count(*) FROM greylist')" "1/0" "...gone"
tap_like "$(m_policy_query "$M_POLICY_PORT" "${req[@]/instance=1/instance=3}")" "DEFER" "...and greylisted again"
tap_is "$(code "${W[@]}" --data '{"client":"203.0.113.9"}' "$U/moat/greylist/allow")" 200 "allow a client"
tap_is "$(q "SELECT manual FROM greylist_clients WHERE client = '203.0.113.9'")" 1 "...by hand"
req2=("${req[@]/198.51.100.7/203.0.113.9}")
tap_is "$(m_policy_query "$M_POLICY_PORT" "${req2[@]}")" DUNNO "...whose mail is not greylisted"
code "${R[@]}" "$U/moat/greylist?q=203.0" >/dev/null
tap_is "$(j '[(c["client"], c["manual"]) for c in d["clients"]["rows"]]')" "[('203.0.113.9', True)]" "...listed"
q "INSERT INTO milter_greylist VALUES (-1234567890123456789, unixepoch(), unixepoch())"
code "${R[@]}" "$U/moat/greylist" >/dev/null
tap_is "$(j '[m["id"] for m in d["messages"]["rows"]]')" "['-1234567890123456789']" "a greylisted message"
tap_is "$(code "${W[@]}" --data '{"message":"-1234567890123456789"}' "$U/moat/greylist/allow")" 200 "allow the message"
tap_is "$(q "SELECT unixepoch() - first_seen >= 86400 FROM milter_greylist")" 1 "...its wait is over"
tap_is "$(code "${W[@]}" --data '{"client":"203.0.113.9"}' "$U/moat/greylist/delete")" 200 "delete the client"
tap_is "$(q "SELECT count(*) FROM greylist_clients")" 0 "...gone"
tap_is "$(code "${W[@]}" --data '{"triplet":"12345"}' "$U/moat/greylist/allow")" 404 "allow an unknown triplet: 404"
for bad in '{"client":"x; DROP TABLE greylist"}' '{"triplet":"1","client":"1.2.3.4"}' '{}' '{"triplet":"abc"}' \
	'{"client":"999.1.1.1"}' '{"where":"1=1"}'; do
	tap_is "$(code "${W[@]}" --data "$bad" "$U/moat/greylist/allow")" 400 "greylist/allow ${bad:0:30}: 400"
done
tap_is "$(code "${R[@]}" "$U/moat/greylist?limit=9999")" 400 "greylist?limit=9999: 400"
tap_is "$(code "${R[@]}" "$U/moat/greylist?q=%25")" 200 "greylist?q=%: 200"
tap_is "$(j 'd["triplets"]["total"], d["clients"]["total"]')" "0 0" "...% matches only a %"

# --- maps: Rspamd's /savemap for the allow and block lists in files ---
tap_is "$(code "${R[@]}" "$U/maps")" 200 "/maps"
mid=$(j '[m["map"] for m in d if m["description"] == "client_allowlist"][0]')
tap_is "$(j '[m["editable"] for m in d if m["map"] == '"$mid"']')" "[True]" "client_allowlist's file is editable"
orig=$(cat "$H_TMP/allow-clients")
tap_is "$(code "${R[@]}" -H "Map: $mid" --data-binary $'198.51.100.0/24\n' "$U/savemap")" 403 \
	"/savemap with the read password: 403"
tap_is "$(code "${W[@]}" -H "Map: $mid" --data-binary $'198.51.100.0/24\nnot a client!!\n' "$U/savemap")" 400 \
	"a bad line: 400"
tap_like "$(body)" "line 2: doesn't look like a client address or hostname: not a client!!; nothing saved" \
	"...naming the line, with the lists' own parser"
tap_is "$(cat "$H_TMP/allow-clients")" "$orig" "...and the file is as it was"
tap_is "$(code "${W[@]}" -H "Map: $mid" --data-binary $'# the test\n198.51.100.0/24\n' "$U/savemap")" 200 \
	"/savemap with the enable password"
tap_is "$(cat "$H_TMP/allow-clients")" $'# the test\n198.51.100.0/24' "...the file holds the new text"
allowed() { [ "$(m_policy_query "$M_POLICY_PORT" "${req[@]/bob@/carol@}")" = DUNNO ]; }
tap_ok "...and moat-policyd lets 198.51.100.7 through without greylisting within 10 s" h_wait_for 10 allowed
tap_is "$(code "${W[@]}" -H "Map: 99999" --data-binary x "$U/savemap")" 404 "an unknown map: 404"
tap_is "$(code "${W[@]}" -H "Map: ../../etc/passwd" --data-binary x "$U/savemap")" 400 "a Map that is a path: 400"
tap_is "$(code "${W[@]}" --data-binary x "$U/savemap")" 400 "no Map header: 400"
q "INSERT INTO map_sources (list, source) VALUES ('client_allowlist', '$H_TMP/moat.conf')"
other=$(q "SELECT rowid FROM map_sources WHERE source = '$H_TMP/moat.conf'")
tap_is "$(code "${W[@]}" -H "Map: $other" --data-binary '10.0.0.1' "$U/savemap")" 403 \
	"a file the setting does not name (a row the database was given): 403"
tap_like "$(cat "$H_TMP/moat.conf")" "controller_secure_ip" "...and it is not written"

# DNS-list health, after moat-policyd: a failing list would defer its mail.
q "INSERT INTO dnsbl_zones (name, kind, checks, enabled, description) VALUES ('bl.moat.test', 'ip', 'client', 1, 't');
	INSERT INTO dnsbl_problems VALUES ('bl.moat.test', '127.255.255.254', 'error', 7, 100, 200)"
code "${R[@]}" "$U/moat/dashboard" >/dev/null
tap_is "$(j '[(z["zone"], z["problems"][0]["code"], z["problems"][0]["count"]) for z in d["dnsbl"]["zones"] if z["problems"]]')" \
	"[('bl.moat.test', '127.255.255.254', 7)]" "DNS lists: the problems moatctl doctor reads"

# --- composites ---
tap_is "$(code "${R[@]}" "$U/moat/composites")" 200 "/moat/composites"
tap_is "$(j 'len(d)')" "$(q 'SELECT count(*) FROM composites')" "...every rule"
tap_is "$(code "${R[@]}" --data '{"name":"T_ONE","expression":"A & B"}' "$U/moat/savecomposite")" 403 \
	"savecomposite with the read password: 403"
tap_is "$(code "${W[@]}" --data '{"name":"T_ONE","expression":"MIME_GOOD & !R_SPF_FAIL","weight":1.5,"policy":"leave","description":"test"}' "$U/moat/savecomposite")" 200 \
	"savecomposite"
tap_is "$(m_ctl composites list -a | grep -c 'T_ONE')" 1 "...moatctl composites lists it"
tap_is "$(q "SELECT expression, weight, policy, enabled FROM composites WHERE name = 'T_ONE'")" \
	"MIME_GOOD & !R_SPF_FAIL|1.5|leave|1" "...as saved"
tap_is "$(code "${W[@]}" --data '{"name":"T_TWO","expression":"T_THREE | MIME_GOOD"}' "$U/moat/savecomposite")" 200 \
	"a composite naming another"
tap_is "$(code "${W[@]}" --data '{"name":"T_THREE","expression":"T_TWO & X"}' "$U/moat/savecomposite")" 400 \
	"...one closing the loop: 400"
tap_like "$(body)" "T_T" "...naming the loop"
tap_is "$(code "${W[@]}" --data '{"name":"T_BAD","expression":"A & (B |"}' "$U/moat/savecomposite")" 400 \
	"an expression that does not parse: 400"
tap_like "$(body)" '"error":"expression: column [0-9]+' "...with the parser's column"
for bad in '{"name":"lower","expression":"A"}' '{"name":"T_X","expression":"A","policy":"nope"}' \
	'{"name":"T_X","expression":"A","weight":"1"}' '{"name":"T_X","expression":"A","colour":1}' \
	'{"name":"T_X","expression":""}' '{"name":"T_X\u0000","expression":"A"}'; do
	tap_is "$(code "${W[@]}" --data "$bad" "$U/moat/savecomposite")" 400 "savecomposite ${bad:0:34}: 400"
done
tap_is "$(q "SELECT count(*) FROM composites WHERE name IN ('T_THREE', 'T_BAD', 'T_X')")" 0 "...nothing refused was saved"
tap_is "$(code "${W[@]}" --data '{"name":"T_ONE"}' "$U/moat/deletecomposite")" 200 "deletecomposite"
tap_is "$(code "${W[@]}" --data '{"name":"T_ONE"}' "$U/moat/deletecomposite")" 404 "...again: 404"

# --- methods, paths, sizes; the daemon stays up ---
tap_is "$(code -X POST "$U/moat/history")" 405 "POST to a GET endpoint: 405"
tap_is "$(code "$U/moat/greylist/delete")" 405 "GET on a POST endpoint: 405"
tap_is "$(code -X PUT "$U/moat/history")" 405 "PUT: 405"
tap_is "$(code -I "$U/moat/whoami")" 200 "HEAD on a GET endpoint"
for p in /moat/ /moat /moat/history/ /moat//history /moat/../moat/whoami /moat/%2e%2e/ping; do
	tap_is "$(code --path-as-is "$U$p")" 404 "$p: 404"
done
head -c 70000 /dev/zero | tr '\0' ' ' >"$H_TMP/big"
tap_is "$(code --data-binary @"$H_TMP/big" "$U/moat/learn")" 413 "a body over controller_body_limit: 413"
tap_is "$(code -X POST "$U/moat/learn")" 400 "an empty body: 400"
tap_is "$(curl -s "$U/ping")" $'pong\r' "the controller is still up"
tap_ok "...and logged no crash" bash -c "! grep -Eiq 'sanitizer|segfault|abort' '$M_CTRL_LOG'"

# history_tokens_max_age = 0 keeps none.
h_stop "$M_MILTER_PID"
tap_ok "moat-contentfilter restarted with history_tokens_max_age = 0" \
	m_start_contentfilter -o history_tokens_max_age=0
h_postfix_postconf "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT"
h_postfix_reload
sleep 1
send 2 keepnone@shop.example rcpt9@example.com
h_wait_for 20 rows_at_least 1 "WHERE sender = 'keepnone@shop.example'"
id4=$(q "SELECT id FROM history WHERE sender = 'keepnone@shop.example'")
tap_is "$(q "SELECT count(*) FROM history_tokens WHERE id = ${id4:-0}")/$(q 'SELECT count(*) FROM history_tokens')" "0/0" \
	"...keeps no tokens, and prunes the ones kept"
code "${R[@]}" "$U/moat/message?id=${id4:-0}" >/dev/null
tap_is "$(j 'd["learnable"]')" False "...the row is not learnable"

# /historyreset deletes the rows there when asked, a batch at a time: a writer
# that waits for the lock meanwhile (the milter, db_busy_timeout) gets it.
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
	INSERT INTO history (time, sender, recipients, subject, score, action, symbols)
	SELECT strftime('%s', 'now'), 'bulk' || i || '@bulk.example', 'rcpt@example.com',
		'bulk row ' || i, 1, 'no action', 'MIME_GOOD(-0.10)[text/plain]' FROM n"
curl -s -o /dev/null -w '%{http_code}' "${W[@]}" -X POST "$U/historyreset" >"$H_TMP/reset.code" &
reset_pid=$!
sleep 0.3
tap_ok "a writer waiting 200 ms for the lock during /historyreset of 100000 rows gets it" \
	sqlite3 -cmd ".timeout 200" "$db" "INSERT INTO history (time, sender, subject, score, action)
		VALUES (strftime('%s', 'now'), 'during@reset.example', 'written during the reset', 0, 'no action')"
wait "$reset_pid"
tap_is "$(cat "$H_TMP/reset.code")" 200 "/historyreset: 200"
tap_is "$(q "SELECT group_concat(sender) FROM history")" "during@reset.example" \
	"...the rows there when asked are gone; the one written meanwhile stays"
code "${R[@]}" "$U/moat/history?subject=bulk%20row" >/dev/null
tap_is "$(j 'len(d["rows"])')" 0 "...and the search index has none of them"
code "${R[@]}" "$U/moat/history?subject=during%20the" >/dev/null
tap_is "$(j 'len(d["rows"])')" 1 "...but finds the one written meanwhile"
tap_ok "no sanitizer reports" m_check_sanitizer_logs "$M_CTRL_LOG" "$M_MILTER_LOG"
tap_done
