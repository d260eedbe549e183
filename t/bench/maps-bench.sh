#!/bin/bash
# maps-bench.sh - moat-policyd with a big client block list fetched by URL.
#
#   t/bench/maps-bench.sh [-n ENTRIES] [-t SECONDS] [-c CONNECTIONS]
#
# Needs "make bench" in the build directory ($MOAT_BUILDDIR, default
# _build) and python3. Serves a list of ENTRIES (default 1,000,000)
# addresses with t/lib/httpd.py, then prints policy_bench lines for
# moat-policyd without the list, with it, and with it while the list
# changes and is fetched, parsed and stored again (moatctl maps refresh)
# in the middle of the run: the event loop must not notice. Also prints
# the start-up time with the list and how long the refetch took.
# Everything runs on 127.0.0.1 and is stopped at the end.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
entries=1000000 secs=8 conns=8
while getopts n:t:c: o; do
	case $o in
	n) entries=$OPTARG ;;
	t) secs=$OPTARG ;;
	c) conns=$OPTARG ;;
	*) echo "usage: $0 [-n ENTRIES] [-t SECONDS] [-c CONNS]" >&2; exit 2 ;;
	esac
done
bench=$MOAT_BUILDDIR/t/bench/policy_bench
[ -x "$bench" ] || { echo "build it first: make -C $MOAT_BUILDDIR bench" >&2; exit 1; }
h_init
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

www=$H_TMP/www
mkdir -p "$www"
# 10.0.0.0/8 only: the load's clients (11.0.0.0 up) are never on it, so
# every request still greylists, as without the list.
awk -v n="$entries" 'BEGIN { for (i = 0; i < n; i++)
	printf "10.%d.%d.%d\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256 }' >"$www/block.txt"
hp=$(h_free_port)
python3 "$MOAT_SRCDIR/t/lib/httpd.py" --port "$hp" --root "$www" --log "$H_TMP/logs/httpd-req.log" \
	</dev/null >>"$H_TMP/logs/httpd.log" 2>&1 &
h_track $! httpd
h_wait_port "$hp" 10 || exit 1
echo "list: $entries entries, $(stat -c %s "$www/block.txt") bytes"

# policyd LABEL [-o ...]: start on a fresh state directory
policyd() {
	local label=$1 t0
	shift
	rm -rf "$H_TMP/state"
	t0=$(date +%s%N)
	m_start_policyd -o greylist_delay=300 "$@" || { echo "$label: did not start" >&2; exit 1; }
	echo "$label: ready after $((($(date +%s%N) - t0) / 1000000)) ms"
}
load() { "$bench" -p "$M_POLICY_PORT" -c "$conns" -t "$secs" --pid "$M_POLICYD_PID" --label "$1"; }

policyd "no list"
load "no-list"
h_stop "$M_POLICYD_PID"

policyd "with list" -o client_blocklist="http://127.0.0.1:$hp/block.txt" -o map_fetch_timeout=120s
load "list"
# Same number of entries (the limit is 1,000,000 by default), one changed.
sed -i '$s/.*/10.255.255.254/' "$www/block.txt"
(
	sleep $((secs / 3))
	m_ctl maps refresh >/dev/null
) &
refresher=$!
load "list+refetch"
wait "$refresher"
grep -E "maps: refresh asked|block\.txt: [0-9]+ entries" "$M_POLICYD_LOG" | tail -2 |
	sed 's/^\([^ ]*\) [^ ]* /\1 /'
