#!/bin/bash
# policy-bench.sh - moat-policyd against Debian's postgrey, same load, same run.
#
#   t/bench/policy-bench.sh [-t SECONDS] [-c CONNECTIONS] [-n POPULATION] [-m STORED]
#
# Needs "make bench" in the build directory ($MOAT_BUILDDIR, default
# _build). Each server gets a fresh database; the load is policy_bench's:
# CONNECTIONS persistent connections sending full Postfix 3.7 RCPT
# requests for triplets drawn at random from POPULATION (so the run mixes
# new triplets, early retries and known ones). Then moat again with STORED
# other triplets already in its database. Prints one line per run and the
# ratios. Everything runs on 127.0.0.1 and is stopped at the end.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
secs=10 conns=8 pop=100000 stored=1000000
while getopts t:c:n:m: o; do
	case $o in
	t) secs=$OPTARG ;;
	c) conns=$OPTARG ;;
	n) pop=$OPTARG ;;
	m) stored=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-c CONNS] [-n POPULATION] [-m STORED]" >&2; exit 2 ;;
	esac
done
bench=$MOAT_BUILDDIR/t/bench/policy_bench
[ -x "$bench" ] || { echo "build it first: make -C $MOAT_BUILDDIR bench" >&2; exit 1; }
h_init

rate() { sed -n 's/.* rate=\([0-9]*\)\/s.*/\1/p' <<<"$1"; }

# moat-policyd on a database in $1 (created if needed); prints the bench line.
run_moat() {
	local state=$1 label=$2 port pid line
	port=$(h_free_port)
	# Greylisting only: the shipped DNS lists are switched off (no internet).
	"$(m_bin moatctl)" -o state_directory="$state" migrate >/dev/null &&
		sqlite3 "$state/moat.db" "UPDATE modules SET enabled = 0 WHERE name = 'rbl'" || return 1
	"$(m_bin moat-policyd)" -f -o state_directory="$state" -o dns_servers=127.0.0.1:1 \
		-o policy_listen="inet:127.0.0.1:$port" 2>>"$H_TMP/logs/moat-$label.log" &
	pid=$!
	h_track $pid
	h_wait_port "$port" 30 $pid || { echo "moat-policyd did not start" >&2; return 1; }
	line=$("$bench" -p "$port" -c "$conns" -t "$secs" -n "$pop" --pid $pid --label "$label")
	h_stop $pid
	echo "$line"
}

echo "# policy benchmark: $conns connections, ${secs}s each, population $pop triplets"
echo "# machine: $(nproc) cores, $(uname -r); $(postconf -h mail_version 2>/dev/null | sed 's/^/postfix /')"

m_empty=$(run_moat "$H_TMP/moat-empty" moat-empty) || exit 1
echo "$m_empty"

if command -v postgrey >/dev/null || [ -x /usr/sbin/postgrey ]; then
	pg=$(command -v postgrey || echo /usr/sbin/postgrey)
	port=$(h_free_port)
	mkdir -p "$H_TMP/postgrey"
	chown postgrey "$H_TMP/postgrey" 2>/dev/null
	"$pg" --inet="127.0.0.1:$port" --dbdir="$H_TMP/postgrey" --pidfile="$H_TMP/postgrey.pid" \
		--user=postgrey --group=nogroup --delay=300 2>>"$H_TMP/logs/postgrey.log" &
	h_track $!
	h_wait_port "$port" 30 || { echo "postgrey did not start" >&2; exit 1; }
	pgpid=$(cat "$H_TMP/postgrey.pid" 2>/dev/null || echo $!)
	p_line=$("$bench" -p "$port" -c "$conns" -t "$secs" -n "$pop" --pid "$pgpid" --label postgrey)
	echo "$p_line"
	h_stop "$pgpid"
	echo "ratio moat/postgrey requests/s: $(awk -v a="$(rate "$m_empty")" -v b="$(rate "$p_line")" 'BEGIN { printf "%.1f", b ? a / b : 0 }')"
else
	echo "# postgrey not installed: no comparison"
fi

if [ "$stored" -gt 0 ]; then
	mkdir -p "$H_TMP/moat-full"
	t0=$(date +%s.%N)
	# Stored triplets are numbered after the load's, so the load still
	# brings new ones: this measures a big table, not a warm cache.
	"$bench" --populate "$stored" --offset "$pop" --db "$H_TMP/moat-full/moat.db" || exit 1
	echo "# stored $stored triplets in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s; database $(du -h "$H_TMP/moat-full/moat.db" | cut -f1)"
	m_full=$(run_moat "$H_TMP/moat-full" "moat-${stored}") || exit 1
	echo "$m_full"
	echo "ratio stored/empty requests/s: $(awk -v a="$(rate "$m_full")" -v b="$(rate "$m_empty")" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
fi
