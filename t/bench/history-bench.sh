#!/bin/bash
# history-bench.sh - the web UI's history queries over a large history:
# ROWS (default 1,000,000) rows in a real SQLite file (t/bench/history-gen.sql:
# 30 days of mail, varied clients, senders, subjects, actions and symbols,
# with sql/018's indexes and triggers filling the search tables as the
# daemons' writes do), then each query shape the history page sends, N
# times (default 200) through a running moat-controller over HTTP on
# loopback (one curl, keep-alive, so the figures are the request, not
# curl's start-up). Prints p50, p99 and the maximum per shape in
# milliseconds, and the rows and total of its reply. The goal (issue 17):
# p99 under 100 ms for the first page, any one filter, the unfiltered first
# page and a deep page.
#
#   t/bench/history-bench.sh [-n ROWS] [-N REQUESTS] [-k DBFILE]
#
# -k keeps the generated database in DBFILE and uses it again when it
# exists (generating a million rows takes a minute or two).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
rows=1000000 n=200 keep=
while getopts n:N:k: o; do
	case $o in
	n) rows=$OPTARG ;;
	N) n=$OPTARG ;;
	k) keep=$OPTARG ;;
	*) echo "usage: $0 [-n ROWS] [-N REQUESTS] [-k DBFILE]" >&2; exit 2 ;;
	esac
done
h_init
db=$H_TMP/state/moat.db
if [ -n "$keep" ] && [ -f "$keep" ]; then
	mkdir -p "$H_TMP/state"
	cp "$keep" "$db"
	m_ctl migrate >/dev/null
else
	m_ctl migrate >/dev/null || { echo "migrate failed" >&2; exit 1; }
	t0=$(date +%s)
	sqlite3 "$db" ".parameter set :n $rows" ".read $here/history-gen.sql" "ANALYZE" ||
		{ echo "generating failed" >&2; exit 1; }
	echo "generated $rows rows in $(($(date +%s) - t0)) s, $(($(stat -c %s "$db") / 1048576)) MB"
	[ -n "$keep" ] && cp "$db" "$keep"
fi
m_start_controller -o controller_secure_ip=127.0.0.1 || { echo "controller did not start" >&2; exit 1; }
U=http://127.0.0.1:$M_CTRL_PORT/moat/history
# Rows written with SQL are indexed by the first search, 10,000 to a
# transaction (the daemons index what they write as they write it); then
# the planner's statistics.
t0=$(date +%s)
curl -s -o /dev/null "$U?limit=1"
sqlite3 "$db" "ANALYZE"
echo "indexed in $(($(date +%s) - t0)) s"
total=$(sqlite3 "$db" "SELECT count(*) FROM history")
rare=$(sqlite3 "$db" "SELECT subject FROM history WHERE id = $((total / 3))")
day=$(date -d "@$(($(date +%s) - 10 * 86400))" +%F)

# shape name, query string
shapes=(
	"page 1, no filter|limit=50"
	"deep page (offset $((total / 2)))|limit=50&offset=$((total / 2))"
	"last page|limit=50&offset=$((total - 50))"
	"subject, common word|subject=invoice"
	"subject, rare (one row)|subject=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$rare")"
	"subject, common, page 20|subject=invoice&offset=1000"
	"from (sender substring)|from=user123@sender4"
	"from (a From header's only)|from=news7@brand12"
	"to (recipient substring)|to=rcpt77@example.org"
	"ip prefix|ip=10.3."
	"ip exact|ip=10.3.2.17"
	"action, rare|action=soft%20reject"
	"action, common, page 100|action=no%20action&offset=5000"
	"symbol|symbol=BAYES_SPAM"
	"one day (10 days ago)|since=$day&until=$day"
	"subject + action + ip|subject=offer&action=reject&ip=10.3.2.17"
	"subject + action|subject=meeting%20report&action=add%20header"
)
printf '%-34s %8s %8s %8s  %s\n' shape p50_ms p99_ms max_ms "rows/total"
for s in "${shapes[@]}"; do
	name=${s%%|*} qs=${s#*|} urls=()
	for ((i = 0; i < n; i++)); do urls+=(-o /dev/null "$U?$qs"); done
	curl -s -o /dev/null "$U?$qs"   # warm the cache once
	times=$(curl -s -w '%{time_total}\n' "${urls[@]}" | sort -g)
	reply=$(curl -s "$U?$qs" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%d/%s" % (len(d["rows"]), d["total"]))')
	awk -v name="$name" -v reply="$reply" '{ v[NR] = $1 * 1000 } END {
		i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999)
		printf "%-34s %8.1f %8.1f %8.1f  %s\n", name, v[i50], v[i99], v[NR], reply }' <<<"$times"
done
