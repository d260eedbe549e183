#!/bin/bash
# controller-bench.sh - /checkv2 throughput: rspamc -n PARALLEL against
# moat-controller and against the controller of Debian's rspamd 3.4, on
# the same real-mail corpus, both offline on the same resolver.
#
#   t/bench/controller-bench.sh [-r RUNS] [-n PARALLEL] [-d CORPUS]
#
# Needs the build ($MOAT_BUILDDIR, default _build). CORPUS (default
# /work/shared/corpus) is scanned whole (ham/ and spam/), one file a message.
#
# DNS: a private unbound answers NXDOMAIN for every name; both scanners use
# it, so nothing leaves the machine and every lookup is "not listed".
#
# moat: moat-controller on a free loopback port (its DNS lists on, the
# shipped zones asked at the NXDOMAIN resolver), every scan written to the
# history table as in production. rspamd: a private instance (peers.sh)
# with one normal worker and the controller, which rspamc talks to; no
# Redis, so no Bayes or history (moat does both). The same rspamc (-n
# PARALLEL, default 16) sends the files to each. CPU is read from
# /proc/PID/stat of the server's processes before and after a run; a run
# counts only if rspamc printed one "Action:" line per file. Printed:
# messages per CPU-second of the server, wall-clock messages/s, and
# moat-controller's resident memory (sampled during the runs, and its
# peak VmHWM). Goals of issue 17: at least 5x rspamd's messages per
# CPU-second; at most 30 MB resident.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
. "$here/../lib/zones.sh"
. "$here/peers.sh"
runs=1 par=16 corpus=$MOAT_SRCDIR/../shared/corpus
while getopts r:n:d: o; do
	case $o in
	r) runs=$OPTARG ;;
	n) par=$OPTARG ;;
	d) corpus=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [-n PARALLEL] [-d CORPUS]" >&2; exit 2 ;;
	esac
done
[ -x "$(m_bin moat-controller)" ] || { echo "build it first: make -C $MOAT_BUILDDIR" >&2; exit 1; }
command -v rspamc >/dev/null || { echo "needs rspamc (Debian package rspamd)" >&2; exit 1; }
corpus=$(cd "$corpus" && pwd) || exit 1
dirs=()
for d in ham spam; do [ -d "$corpus/$d" ] && dirs+=("$corpus/$d"); done
[ ${#dirs[@]} -gt 0 ] || dirs=("$corpus")
nfiles=$(find "${dirs[@]}" -type f | wc -l)
h_init
calc() {
	local e=$1 a=() v
	shift
	for v in "$@"; do a+=(-v "$v"); done
	awk "${a[@]}" "BEGIN { $e }"
}
tck=$(getconf CLK_TCK)
# cpu_of PID...: CPU seconds (user+sys, with reaped children) of the processes.
cpu_of() {
	local p s t=0 f
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		read -ra f <<<"${s##*) }"
		t=$((t + f[11] + f[12] + f[13] + f[14]))
	done
	calc 'printf "%.2f", t / hz' t="$t" hz="$tck"
}
# rss_sampler PID FILE: the largest VmRSS (kB) seen, every 0.2 s, into FILE.
rss_sampler() {
	local max=0 r
	while kill -0 "$1" 2>/dev/null; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -n "$r" ] && [ "$r" -gt "$max" ] && { max=$r; echo "$max" >"$2"; }
		sleep 0.2
	done
}
echo "# controller benchmark: $nfiles messages from $corpus, rspamc -n $par, $runs run(s)"
echo "# machine: $(nproc) cores, $(uname -r); $(rspamd -v 2>&1 | head -n 1)"
z_start_nx_unbound || { echo "unbound did not start" >&2; exit 1; }

# run LABEL PORT PIDS_CMD: RUNS passes of the corpus through rspamc; the best in
# B_PERCPU, B_RATE. PIDS_CMD prints the server's processes, asked at each
# reading (rspamd may fork its workers again).
run() {
	local label=$1 port=$2 pids=$3 i c0 c1 wall u s got cpu rate percpu
	B_PERCPU=0 B_RATE=0
	for ((i = 1; i <= runs; i++)); do
		c0=$(cpu_of $($pids))
		TIMEFORMAT='%3R %3U %3S'
		{ time rspamc -h "127.0.0.1:$port" -n "$par" -t 60 "${dirs[@]}" \
			>"$H_TMP/rspamc.out" 2>"$H_TMP/rspamc.err"; } 2>"$H_TMP/rspamc.time"
		# What the scans left to do counts too: moat-controller writes their
		# history rows in batches, and answers another request only after
		# them (rspamd answers /ping at once).
		curl -s -o /dev/null "http://127.0.0.1:$port/ping"
		c1=$(cpu_of $($pids))
		read -r wall u s <"$H_TMP/rspamc.time"
		got=$(grep -c '^Action:' "$H_TMP/rspamc.out")
		if [ "$got" -ne "$nfiles" ]; then
			echo "$label: $got results for $nfiles files:" >&2
			grep -m5 -i error "$H_TMP/rspamc.out" "$H_TMP/rspamc.err" >&2
			exit 1
		fi
		cpu=$(calc 'printf "%.2f", b - a' a="$c0" b="$c1")
		percpu=$(calc 'printf "%.0f", (c > 0 ? n / c : 0)' n="$got" c="$cpu")
		rate=$(calc 'printf "%.0f", (w > 0 ? n / w : 0)' n="$got" w="$wall")
		echo "$label run $i: $got messages in ${wall}s = $rate msg/s; server CPU ${cpu}s = $percpu msg per CPU-second; rspamc CPU $(calc 'printf "%.2f", u + s' u="$u" s="$s")s"
		[ "$percpu" -gt "$B_PERCPU" ] && B_PERCPU=$percpu
		[ "$rate" -gt "$B_RATE" ] && B_RATE=$rate
	done
}

# --- moat-controller --------------------------------------------------------
m_start_controller -o dns_servers="127.0.0.1:$NX_PORT" || { echo "moat-controller did not start" >&2; exit 1; }
sqlite3 "$H_TMP/state/moat.db" "UPDATE dnsbl_zones SET enabled = 1"	# as shipped: the lists are asked
kill -HUP "$M_CTRL_PID"
rss_sampler "$M_CTRL_PID" "$H_TMP/rss" &
sampler=$!
moat_pids() { echo "$M_CTRL_PID"; }
run moat-controller "$M_CTRL_PORT" moat_pids
m_percpu=$B_PERCPU m_rate=$B_RATE
m_rss=$(calc 'printf "%.1f", k / 1024' k="$(cat "$H_TMP/rss" 2>/dev/null || echo 0)")
m_hwm=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$M_CTRL_PID/status")
rows=$(sqlite3 "$H_TMP/state/moat.db" "SELECT count(*) FROM history")
echo "moat-controller best: $m_percpu msg per CPU-second, $m_rate msg/s; resident memory under load: ${m_rss} MB sampled, peak (VmHWM) ${m_hwm} MB; history rows written: $rows"
h_stop "$M_CTRL_PID"
kill "$sampler" 2>/dev/null

# --- rspamd 3.4's controller ------------------------------------------------
R=$H_TMP/rspamd
rport=$(h_free_port) cport=$(h_free_port)
bench_rspamd_config "$R" 1 "$rport" "$cport"
bench_rspamd_run "$R" || exit 1
h_wait_port "$cport" 120 "$RSPAMD_PID" || { echo "rspamd did not start" >&2; tail -n 20 "$RSPAMD_LOG" >&2; exit 1; }
h_wait_for 120 grep -q 'hyperscan database of [0-9]* regexps has been loaded' "$RSPAMD_LOG" ||
	echo "# rspamd: hyperscan not loaded (PCRE)"
rspamd_pids() { echo "$RSPAMD_PID"; ps -o pid= --ppid "$RSPAMD_PID"; }
run "rspamd controller" "$cport" rspamd_pids
r_percpu=$B_PERCPU r_rate=$B_RATE
echo "rspamd controller best: $r_percpu msg per CPU-second, $r_rate msg/s"
echo "ratio moat/rspamd messages per CPU-second: $(calc 'printf "%.1f", (b ? a / b : 0)' a="$m_percpu" b="$r_percpu") (goal >= 5)"
echo "ratio moat/rspamd messages/s: $(calc 'printf "%.1f", (b ? a / b : 0)' a="$m_rate" b="$r_rate")"
echo "moat-controller resident memory under load: ${m_rss} MB (peak ${m_hwm} MB; goal <= 30)"
