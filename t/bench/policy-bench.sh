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

# run_moat DIR LABEL [CONNS POPULATION [SQL [DNS [OPTIONS]]]]: moat-policyd on
# a database in DIR (created if needed), greylisting only unless SQL sets up
# DNS lists (served at DNS) or OPTIONS (-o ...) turn on SPF; prints the bench line.
run_moat() {
	local state=$1 label=$2 c=${3:-$conns} n=${4:-$pop} sql=${5:-} dns=${6:-127.0.0.1:1}
	local -a opts
	read -ra opts <<<"-o policy_spf=no ${7:-}"
	local port pid line
	port=$(h_free_port)
	# The shipped DNS lists stay off: nothing here may ask the internet. hfilter too
	# (its FCrDNS lookups): postgrey does neither, and a run that wants them says so.
	"$(m_bin moatctl)" -o state_directory="$state" migrate >/dev/null &&
		sqlite3 "$state/moat.db" "UPDATE dnsbl_zones SET enabled = 0;
			UPDATE modules SET enabled = 0 WHERE name IN ('rbl', 'hfilter'); $sql" || return 1
	"$(m_bin moat-policyd)" -f -o state_directory="$state" -o dns_servers="$dns" -o run_as="$(id -un)" \
		-o policy_listen="inet:127.0.0.1:$port" "${opts[@]}" 2>>"$H_TMP/logs/moat-$label.log" &
	pid=$!
	h_track $pid
	h_wait_port "$port" 30 $pid || { echo "moat-policyd did not start" >&2; return 1; }
	line=$("$bench" -p "$port" -c "$c" -t "$secs" -n "$n" --pid $pid --label "$label")
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

# SPF at RCPT (policy_spf = yes): each of the load's 1,000 sender domains
# publishes "ip4:... include:... -all" on a private unbound, so a check is
# two TXT lookups, answered from moat's DNS cache once seen. The clients
# are not listed: every check walks the whole record and ends in -all.
if command -v unbound >/dev/null || [ -x /usr/sbin/unbound ]; then
	{
		echo 'server:'
		echo '  local-zone: "example." static'
		echo "  local-data: 'spf.provider.example. TXT \"v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all\"'"
		for d in $(seq 0 999); do
			echo "  local-data: 'sender$d.example. TXT \"v=spf1 ip4:192.0.2.0/24 include:spf.provider.example -all\"'"
		done
	} >"$H_TMP/spf.conf"
	h_start_local_unbound spf refuse "$H_TMP/spf.conf" || { echo "unbound did not start" >&2; exit 1; }
	m_spf=$(run_moat "$H_TMP/moat-spf" moat-spf "$conns" "$pop" "" "127.0.0.1:$H_LOCAL_UNBOUND_PORT" \
		"-o policy_spf=yes") || exit 1
	echo "$m_spf"
	echo "ratio SPF on/off requests/s: $(awk -v a="$(rate "$m_spf")" -v b="$(rate "$m_empty")" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
	if [ -n "${p_line:-}" ]; then
		echo "ratio SPF on/postgrey requests/s: $(awk -v a="$(rate "$m_spf")" -v b="$(rate "$p_line")" 'BEGIN { printf "%.1f", b ? a / b : 0 }')"
	fi
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

# DNS lists: six zones served by rbldnsd (queried directly, so a round trip
# is rbldnsd's), every zone for every request in parallel.
if command -v rbldnsd >/dev/null || [ -x /usr/sbin/rbldnsd ]; then
	zsql="UPDATE modules SET enabled = 1 WHERE name = 'rbl';
		INSERT INTO symbols (name, weight) VALUES ('BENCH_LISTED', 0.5);"
	specs=()
	for z in 1 2 3 4 5 6; do
		# Each zone lists a different slice of the load's client addresses.
		printf ':127.0.0.2:\n127.0.0.2\n%d.0.0.0/8\n' $((10 + z * 7)) >"$H_TMP/zone$z"
		specs+=("bench$z.test:ip4set:$H_TMP/zone$z")
		zsql+="INSERT INTO dnsbl_zones (name, kind, checks) VALUES ('bench$z.test', 'ip', 'client');
			INSERT INTO dnsbl_codes (zone, code, symbol) VALUES ('bench$z.test', '127.0.0.2', 'BENCH_LISTED');"
	done
	h_start_rbldnsd "${specs[@]}" >/dev/null || { echo "rbldnsd did not start" >&2; exit 1; }
	dns=127.0.0.1:$H_RBLDNSD_PORT
	one="UPDATE dnsbl_zones SET enabled = 0 WHERE name != 'bench1.test';"
	echo "# DNS lists: 6 zones on rbldnsd; cold cache = every request a new client address"
	c1=$(run_moat "$H_TMP/moat-dns1" "cold-1zone" 1 10000000 "$zsql $one" "$dns") || exit 1
	echo "$c1"
	c6=$(run_moat "$H_TMP/moat-dns6" "cold-6zones" 1 10000000 "$zsql" "$dns") || exit 1
	echo "$c6"
	p50() { sed -n 's/.* p50=\([0-9.]*\)ms.*/\1/p' <<<"$1"; }
	echo "cold p50 6 zones / 1 zone: $(awk -v a="$(p50 "$c6")" -v b="$(p50 "$c1")" 'BEGIN { printf "%.2f", b ? a / b : 0 }') (1.00 = all six in one round trip's time)"
	w=$(run_moat "$H_TMP/moat-dnsw" "warm-6zones" "$conns" 2000 "$zsql" "$dns") || exit 1
	echo "$w"
	if [ -n "${p_line:-}" ]; then
		echo "ratio warm 6 zones/postgrey requests/s: $(awk -v a="$(rate "$w")" -v b="$(rate "$p_line")" 'BEGIN { printf "%.1f", b ? a / b : 0 }')"
	fi
fi
