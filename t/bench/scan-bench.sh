#!/bin/bash
# scan-bench.sh - content scanning speed: "moatctl scan" against Debian's
# rspamd on the same real-mail corpus.
#
#   t/bench/scan-bench.sh [-r RUNS] [-n PARALLEL] [-d CORPUS]
#
# Needs the build ($MOAT_BUILDDIR, default _build: "make -C _build").
# CORPUS (default $MOAT_SRCDIR/../shared/corpus, i.e. /work/shared/corpus)
# is scanned whole (its ham/ and spam/ subdirectories if present, else the
# directory itself), one message per file.
#
# DNS: a private unbound on loopback answers NXDOMAIN for every name; both
# scanners use it for their DNS lists (so nothing leaves the machine and
# every lookup is a fast "not listed").
#
# moat: "moatctl scan --json" over the corpus, RUNS times (default 3): the
# milter's scan code in one process, reading the files itself, its URL DNS
# lists asked one message after the other. Prints per run the wall time,
# messages/s, CPU (user+sys of the process) per message and peak RSS, then
# the best of the runs. If moatctl knows --no-dns, the same first without
# DNS lists, for reference; the comparison uses the run with DNS.
#
# rspamd (only if installed; Debian's rspamd 3.4): a private instance
# under the temp dir (a copy of /etc/rspamd with a top-level rspamd.conf of
# our own, own db/log/run dirs; the system service is not touched) with
# ONE normal worker on a free loopback port, DNS pointed at a private
# unbound that answers NXDOMAIN for every name, fuzzy_check off (it would
# resolve its servers with the system resolver), no Redis (the modules
# that need it disable themselves). The same files go through "rspamc",
# RUNS times single-stream (-n 1) and RUNS times with PARALLEL requests in
# flight (-n, default: number of cores). rspamd's CPU is read from
# /proc/PID/stat of its processes (main, worker, hs_helper) before and
# after each run; a run only counts if rspamc printed one "Action:" line
# per file. The comparison is messages per CPU-second ("per core"), and
# wall-clock messages/s of one moat process against one rspamd worker.
#
# Everything listens on 127.0.0.1 only and is stopped at the end. Takes
# about two minutes, most of it rspamd (startup compiles its TLD list and
# hyperscan database, ~20 s).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
. "$here/../lib/zones.sh"
. "$here/peers.sh"
runs=3 par=$(nproc) corpus=$MOAT_SRCDIR/../shared/corpus
while getopts r:n:d: o; do
	case $o in
	r) runs=$OPTARG ;;
	n) par=$OPTARG ;;
	d) corpus=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [-n PARALLEL] [-d CORPUS]" >&2; exit 2 ;;
	esac
done
moatctl=$(m_bin moatctl)
[ -x "$moatctl" ] || { echo "build it first: make -C $MOAT_BUILDDIR" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -d "$corpus" ] || { echo "no corpus at $corpus (use -d DIR)" >&2; exit 1; }
corpus=$(cd "$corpus" && pwd)
dirs=()
for d in ham spam; do [ -d "$corpus/$d" ] && dirs+=("$corpus/$d"); done
[ ${#dirs[@]} -gt 0 ] || dirs=("$corpus")
nfiles=$(find "${dirs[@]}" -type f | wc -l)
[ "$nfiles" -gt 0 ] || { echo "no files in $corpus" >&2; exit 1; }
mbytes=$(du -cm "${dirs[@]}" | tail -n 1 | cut -f1)
h_init

# calc EXPR [VAR=VALUE...]: awk arithmetic, printed as awk would.
calc() {
	local e=$1
	shift
	local a=() v
	for v in "$@"; do a+=(-v "$v"); done
	awk "${a[@]}" "BEGIN { $e }"
}

echo "# scan benchmark: $nfiles messages ($mbytes MB) from $corpus, best of $runs runs"
echo "# machine: $(nproc) cores, $(uname -r); $("$moatctl" -V 2>&1 | head -n 1)$(command -v rspamd >/dev/null && echo "; $(rspamd -v 2>&1 | head -n 1)")"

# --- DNS ------------------------------------------------------------------

NX_PORT=
if command -v unbound >/dev/null || [ -x /usr/sbin/unbound ]; then
	z_start_nx_unbound || { echo "unbound did not start" >&2; exit 1; }
fi

# --- moat -----------------------------------------------------------------

state=$H_TMP/state
"$moatctl" -o state_directory="$state" migrate >/dev/null || exit 1
# moatctl scan asks the DNS lists that check URLs (dbl.spamhaus.org, ...)
# unless given --no-dns: point it at the NXDOMAIN unbound, like rspamd.
if [ -n "$NX_PORT" ]; then dns=127.0.0.1:$NX_PORT; else dns=127.0.0.1:1; fi
nodns=
"$moatctl" -o state_directory="$state" scan 2>&1 | grep -q -- --no-dns && nodns=--no-dns

# run_moat LABEL [SCAN-OPTION...]: RUNS scans of the corpus, one line per
# run, then the best: highest msg/s, lowest CPU/msg, highest peak RSS.
# Leaves the best in M_RATE, M_CPU (ms/msg), M_PERCORE (msg/CPU-second).
run_moat() {
	local label=$1 i rc wall user sys rss n rate cpu best_rss=0
	shift
	M_RATE=0 M_CPU=
	for ((i = 1; i <= runs; i++)); do
		# bash's "time" gives ms resolution for wall and user+sys
		# (getrusage of the waited-for children, which includes moatctl
		# under /usr/bin/time); /usr/bin/time only adds the peak RSS.
		TIMEFORMAT='%3R %3U %3S'
		{ time /usr/bin/time -f %M -o "$H_TMP/rss" \
			"$moatctl" -o state_directory="$state" -o dns_servers="$dns" \
			scan --json "$@" "${dirs[@]}" \
			>"$H_TMP/moat.json" 2>"$H_TMP/moat.err"; } 2>"$H_TMP/moat.time"
		rc=$?
		read -r wall user sys <"$H_TMP/moat.time"
		rss=$(tail -n 1 "$H_TMP/rss")
		n=$(grep -c '^{"file":' "$H_TMP/moat.json")
		if [ $rc -ne 0 ] || [ "$n" -lt "$nfiles" ]; then
			echo "moatctl scan failed (exit $rc, $n results for $nfiles files):" >&2
			tail -n 5 "$H_TMP/moat.err" >&2
			exit 1
		fi
		rate=$(calc 'printf "%.0f", (w > 0 ? n / w : 0)' n="$n" w="$wall")
		cpu=$(calc 'printf "%.4f", (u + s) * 1000 / n' u="$user" s="$sys" n="$n")
		echo "$label run $i: $n messages in ${wall}s = $rate msg/s; CPU ${user}s user + ${sys}s sys = $cpu ms/msg; peak RSS $(calc 'printf "%.1f", k / 1024' k="$rss") MB"
		[ "$rate" -gt "$M_RATE" ] && M_RATE=$rate
		if [ -z "$M_CPU" ] || calc 'exit !(a < b)' a="$cpu" b="$M_CPU"; then M_CPU=$cpu; fi
		[ "$rss" -gt "$best_rss" ] && best_rss=$rss
	done
	M_PERCORE=$(calc 'printf "%.0f", (c > 0 ? 1000 / c : 0)' c="$M_CPU")
	echo "$label best: $M_RATE msg/s; $M_CPU ms CPU/msg = $M_PERCORE msg per CPU-second; peak RSS $(calc 'printf "%.1f", k / 1024' k="$best_rss") MB"
}

if [ -n "$nodns" ]; then
	run_moat "moat $nodns" --no-dns
	echo "# moat with its URL DNS lists, resolver $dns$([ -n "$NX_PORT" ] && echo " (NXDOMAIN for everything)"):"
fi
run_moat moat
m_best_rate=$M_RATE m_percore=$M_PERCORE

# --- rspamd ---------------------------------------------------------------

if ! command -v rspamd >/dev/null || ! command -v rspamc >/dev/null || [ ! -d /etc/rspamd ]; then
	echo "# rspamd not installed: no comparison"
	exit 0
fi
[ -n "$NX_PORT" ] ||
	{ echo "# unbound not installed: rspamd cannot be run offline, no comparison"; exit 0; }

R=$H_TMP/rspamd
rport=$(h_free_port)
# One normal worker, no controller: what rspamc's "check" talks to.
bench_rspamd_config "$R" 1 "$rport"
# Redis: not configured, so bayes, neural, ratelimit, greylist, replies,
# history_redis, url_redirector... disable themselves (bayes logs "cannot
# init redis backend" and is skipped); that is accepted here.
bench_rspamd_run "$R" || exit 1
rpid=$RSPAMD_PID rlog=$RSPAMD_LOG
if ! h_wait_port "$rport" 120 $rpid; then
	echo "rspamd did not start:" >&2
	tail -n 20 "$H_TMP/logs/rspamd.log" "$rlog" >&2
	exit 1
fi
# The worker starts with PCRE; a helper process compiles the regexps for
# hyperscan and the worker switches over a few seconds later. Measure
# after that, as a running rspamd would be.
if h_wait_for 120 grep -q '(normal).*hyperscan database of [0-9]* regexps has been loaded' "$rlog"; then
	echo "# rspamd: 1 normal worker on 127.0.0.1:$rport, hyperscan loaded, DNS NXDOMAIN for everything"
else
	echo "# rspamd: 1 normal worker on 127.0.0.1:$rport, hyperscan NOT loaded (PCRE), DNS NXDOMAIN for everything"
fi

# rspamd_cpu: CPU seconds (user+sys) of rspamd's main process (with its
# reaped children) and of its live children.
tck=$(getconf CLK_TCK)
rspamd_pids() {
	echo "$rpid"
	ps -o pid= --ppid "$rpid"
}
rspamd_cpu() {
	local p s t=0 f
	for p in $(rspamd_pids); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		# Fields after the ")" of the command name: state is field 3, so
		# utime, stime, cutime, cstime (14-17) are the 12th-15th here.
		read -ra f <<<"${s##*) }"
		t=$((t + f[11] + f[12] + f[13] + f[14]))
	done
	calc 'printf "%.2f", t / hz' t="$t" hz="$tck"
}
worker_pid=$(ps -o pid=,args= --ppid "$rpid" | awk '/normal process/ { print $1; exit }')

r_best_rate=0 r_best_cpu='' r_best_n=''
modes=(1)
[ "$par" -ne 1 ] && modes+=("$par")
for n in "${modes[@]}"; do
	for ((i = 1; i <= runs; i++)); do
		c0=$(rspamd_cpu)
		TIMEFORMAT='%3R %3U %3S'
		{ time rspamc -h "127.0.0.1:$rport" -n "$n" -t 60 "${dirs[@]}" \
			>"$H_TMP/rspamc.out" 2>"$H_TMP/rspamc.err"; } 2>"$H_TMP/rspamc.time"
		rc=$?
		c1=$(rspamd_cpu)
		read -r wall cuser csys <"$H_TMP/rspamc.time"
		got=$(grep -c '^Action:' "$H_TMP/rspamc.out")
		if [ $rc -ne 0 ] || [ "$got" -ne "$nfiles" ]; then
			echo "rspamc -n $n: exit $rc, $got results for $nfiles files:" >&2
			tail -n 5 "$H_TMP/rspamc.err" >&2
			exit 1
		fi
		rcpu=$(calc 'printf "%.2f", b - a' a="$c0" b="$c1")
		rate=$(calc 'printf "%.0f", (w > 0 ? n / w : 0)' n="$got" w="$wall")
		cpu=$(calc 'printf "%.4f", c * 1000 / n' c="$rcpu" n="$got")
		echo "rspamd -n $n run $i: $got messages in ${wall}s = $rate msg/s; rspamd CPU ${rcpu}s = $cpu ms/msg; rspamc CPU $(calc 'printf "%.2f", u + s' u="$cuser" s="$csys")s"
		[ "$rate" -gt "$r_best_rate" ] && r_best_rate=$rate r_best_n=$n
		if [ -z "$r_best_cpu" ] || calc 'exit !(a < b)' a="$cpu" b="$r_best_cpu"; then r_best_cpu=$cpu; fi
	done
done
r_rss=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$worker_pid/status" 2>/dev/null)
r_percore=$(calc 'printf "%.0f", (c > 0 ? 1000 / c : 0)' c="$r_best_cpu")
echo "rspamd best: $r_best_rate msg/s (-n $r_best_n); $r_best_cpu ms CPU/msg = $r_percore msg per CPU-second; worker peak RSS ${r_rss:-?} MB"
echo "ratio moat/rspamd messages per CPU-second: $(calc 'printf "%.1f", (b ? a / b : 0)' a="$m_percore" b="$r_percore")"
echo "ratio moat/rspamd messages/s (1 process vs 1 worker): $(calc 'printf "%.1f", (b ? a / b : 0)' a="$m_best_rate" b="$r_best_rate")"
