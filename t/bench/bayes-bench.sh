#!/bin/bash
# bayes-bench.sh - accuracy and speed of the Bayes classifier on held-out
# real mail, beside Debian's rspamd (Redis Bayes) and SpamAssassin (sa-learn).
#
#   t/bench/bayes-bench.sh [-d CORPUS] [-s N] [-m]
#
# Needs the build ($MOAT_BUILDDIR, default _build: "make -C _build").
# CORPUS (default $MOAT_SRCDIR/../shared/corpus) has ham/ and spam/, one
# message per file.
#
# The split, fixed and simple: in each class the file names are sorted
# (C locale); the 1st, 3rd, 5th... are learned, the 2nd, 4th, 6th... are
# scanned. Nothing is tuned to the scanned half.
#
# moat: a fresh database; "moatctl learn-spam" and "learn-ham" on the
# learning half (timed: messages per second, wall clock); then "moatctl
# scan --json --no-dns" (the full content filter, every check, no DNS
# lists) on the other half. Prints the share of spam at or above 6 (add
# header) and 11 (reject), and the share of ham there. The cost of
# classification is the mean scan time per message with the
# classifier-bayes module enabled minus the same scan with it disabled
# (the first message of each run, which loads the tokens into memory, is
# left out: the milter does that once).
#
# rspamd (if installed): a private instance under the temp dir (as in
# scan-bench.sh: Debian's config, DNS to a local NXDOMAIN unbound,
# fuzzy_check off) with a normal and a controller worker and its Bayes
# classifier on a private redis-server (if installed) on a free loopback
# port; learned with "rspamc learn_spam/learn_ham" through the controller,
# the held-out half scanned with rspamc. Its own thresholds are 6 (add
# header) and 15 (reject); the same 6 and 11 are counted.
#
# SpamAssassin (if installed): sa-learn into a private Bayes database,
# then spamd -L (local tests only: no DNS, no network) with two children,
# scanned with spamc; its own threshold is 5; the same 6 and 11 are
# counted. SpamAssassin is slow; -s N scans every Nth held-out message of
# it only (default 1: all), which the output states.
#
# -m: moat only, no peers. Everything listens on 127.0.0.1 and is stopped
# at the end. With the peers it takes several minutes (SpamAssassin is
# most of it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
. "$here/../lib/zones.sh"
. "$here/peers.sh"
corpus=$MOAT_SRCDIR/../shared/corpus sample=1 peers=1
while getopts d:s:m o; do
	case $o in
	d) corpus=$OPTARG ;;
	s) sample=$OPTARG ;;
	m) peers=0 ;;
	*) echo "usage: $0 [-d CORPUS] [-s N] [-m]" >&2; exit 2 ;;
	esac
done
moatctl=$(m_bin moatctl)
[ -x "$moatctl" ] || { echo "build it first: make -C $MOAT_BUILDDIR" >&2; exit 1; }
[ -d "$corpus/ham" ] && [ -d "$corpus/spam" ] || { echo "no ham/ and spam/ in $corpus" >&2; exit 1; }
corpus=$(cd "$corpus" && pwd)
h_init
S=$H_TMP/split
bench_split "$corpus" "$S"
nls=$(wc -l <"$S/learn-spam") nlh=$(wc -l <"$S/learn-ham")
nts=$(wc -l <"$S/test-spam") nth=$(wc -l <"$S/test-ham")
echo "# Bayes benchmark: learn $nls spam + $nlh ham, scan $nts spam + $nth ham (held out) from $corpus"
echo "# split: names sorted in each class; odd positions learned, even positions scanned"
echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# shares LABEL FILE-SPAM FILE-HAM: from "score" lines (one number a line)
# print the shares at 6 and at 11 and remember them for the table.
declare -A T
shares() {
	local label=$1
	read -r s6 s11 ns <<<"$(awk '{ n++; if ($1 >= 6) a++; if ($1 >= 11) b++ }
		END { printf "%.2f %.2f %d", (n ? 100 * a / n : 0), (n ? 100 * b / n : 0), n }' "$2")"
	read -r h6 h11 nh <<<"$(awk '{ n++; if ($1 >= 6) a++; if ($1 >= 11) b++ }
		END { printf "%.2f %.2f %d", (n ? 100 * a / n : 0), (n ? 100 * b / n : 0), n }' "$3")"
	echo "$label: spam >= 6: $s6% >= 11: $s11% ($ns); ham >= 6: $h6% >= 11: $h11% ($nh)"
	T[$label]="$s6 $s11 $h6 $h11 $ns $nh"
}

# --- moat -----------------------------------------------------------------

state=$H_TMP/state
M=("$moatctl" -o state_directory="$state" -o dns_servers=127.0.0.1:1)
"${M[@]}" migrate >/dev/null || exit 1
t0=$(now_ms)
TIMEFORMAT='%3U %3S'
{ time {
	xargs -a "$S/learn-spam" -d '\n' "${M[@]}" learn-spam >"$H_TMP/learn.out" &&
		xargs -a "$S/learn-ham" -d '\n' "${M[@]}" learn-ham >>"$H_TMP/learn.out"
} 2>"$H_TMP/learn.err"; } 2>"$H_TMP/learn.time" || { cat "$H_TMP/learn.err" >&2; exit 1; }
t1=$(now_ms)
read -r lu ls <"$H_TMP/learn.time"
m_learn_rate=$(awk -v n=$((nls + nlh)) -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
echo "moat learning: $((nls + nlh)) messages in $((t1 - t0)) ms = $m_learn_rate msg/s (wall, two moatctl runs); CPU ${lu}s user + ${ls}s sys = $(awk -v n=$((nls + nlh)) -v c="$lu" -v d="$ls" 'BEGIN { printf "%.0f", n / (c + d) }') msg per CPU-second"
sed 's/^/#   /' "$H_TMP/learn.out"
"${M[@]}" bayes stats | sed 's/^/#   /'
for c in spam ham; do
	xargs -a "$S/test-$c" -d '\n' "${M[@]}" scan --json --no-dns >"$H_TMP/moat-$c.json" || exit 1
	sed -E 's/^\{"file":".*","score":(-?[0-9.]+),"required_score".*/\1/' "$H_TMP/moat-$c.json" >"$H_TMP/moat-$c.score"
done
shares moat "$H_TMP/moat-spam.score" "$H_TMP/moat-ham.score"
echo "#   BAYES_SPAM on $(grep -c '"BAYES_SPAM"' "$H_TMP/moat-spam.json") of $nts spam, BAYES_HAM on $(grep -c '"BAYES_HAM"' "$H_TMP/moat-ham.json") of $nth ham; BAYES_SPAM on $(grep -c '"BAYES_SPAM"' "$H_TMP/moat-ham.json") ham"

# Classification cost: the same scans with the module off.
mean_time() { sed -E 's/.*"scan_time":([0-9.]+),.*/\1/' "$@" | awk 'FNR > 1 { s += $1; n++ } END { printf "%.4f", s * 1000 / n }'; }
on=$(mean_time "$H_TMP/moat-spam.json" "$H_TMP/moat-ham.json")
sqlite3 "$state/moat.db" "UPDATE modules SET enabled = 0 WHERE name = 'classifier-bayes'"
for c in spam ham; do
	xargs -a "$S/test-$c" -d '\n' "${M[@]}" scan --json --no-dns >"$H_TMP/off-$c.json" || exit 1
done
sqlite3 "$state/moat.db" "UPDATE modules SET enabled = 1 WHERE name = 'classifier-bayes'"
off=$(mean_time "$H_TMP/off-spam.json" "$H_TMP/off-ham.json")
echo "moat scan time per message: $on ms with Bayes, $off ms without: classification adds $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", a - b }') ms"

# --- peers ----------------------------------------------------------------

NX_PORT=
if [ "$peers" -eq 1 ] && { command -v unbound >/dev/null || [ -x /usr/sbin/unbound ]; }; then
	z_start_nx_unbound
fi

rspamd_bench() {
	local R=$H_TMP/rspamd rport cport redis_port rlog rpid t0 t1 c
	if ! command -v rspamd >/dev/null || ! command -v rspamc >/dev/null || [ ! -d /etc/rspamd ]; then
		echo "# rspamd not installed: skipped"; return
	fi
	command -v redis-server >/dev/null || { echo "# redis-server not installed: rspamd skipped"; return; }
	[ -n "$NX_PORT" ] || { echo "# unbound not installed: rspamd cannot run offline, skipped"; return; }
	mkdir -p "$R/redis"
	redis_port=$(h_free_port)
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$R/redis" </dev/null >>"$H_TMP/logs/redis.log" 2>&1 &
	h_track $! redis-server
	h_wait_port "$redis_port" 10 || { echo "# redis-server did not start: rspamd skipped"; return; }
	rport=$(h_free_port) cport=$(h_free_port)
	# Two normal workers for the scans, a controller for learning.
	bench_rspamd_config "$R" 2 "$rport" "$cport"
	# Redis for the classifier only: the other Redis modules stay off, as in scan-bench.sh.
	cat >"$R/etc/local.d/classifier-bayes.conf" <<EOF
backend = "redis";
servers = "127.0.0.1:$redis_port";
autolearn = false;
EOF
	bench_rspamd_run "$R" || return
	rpid=$RSPAMD_PID rlog=$RSPAMD_LOG
	if ! h_wait_port "$rport" 120 $rpid || ! h_wait_port "$cport" 60 $rpid; then
		echo "# rspamd did not start: skipped"; tail -n 5 "$rlog" >&2; return
	fi
	h_wait_for 120 grep -q 'hyperscan database of [0-9]* regexps has been loaded' "$rlog"
	t0=$(now_ms)
	xargs -a "$S/learn-spam" -d '\n' rspamc -h "127.0.0.1:$cport" -n 2 -t 60 learn_spam >"$H_TMP/rl.out" 2>&1
	xargs -a "$S/learn-ham" -d '\n' rspamc -h "127.0.0.1:$cport" -n 2 -t 60 learn_ham >>"$H_TMP/rl.out" 2>&1
	t1=$(now_ms)
	echo "rspamd learning: $((nls + nlh)) messages in $((t1 - t0)) ms = $(awk -v n=$((nls + nlh)) -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }') msg/s (rspamc -n 2); $(grep -c '^success = true' "$H_TMP/rl.out") learned, $(grep -c 'learn conditions denied' "$H_TMP/rl.out") refused by rspamd's learn conditions (class balance, already known)"
	for c in spam ham; do
		xargs -a "$S/test-$c" -d '\n' rspamc -h "127.0.0.1:$rport" -n 2 -t 60 >"$H_TMP/r-$c.out" 2>&1
		awk '/^Score:/ { print $2 }' "$H_TMP/r-$c.out" >"$H_TMP/r-$c.score"
	done
	shares rspamd "$H_TMP/r-spam.score" "$H_TMP/r-ham.score"
	echo "#   BAYES_SPAM on $(grep -c '^Symbol: BAYES_SPAM' "$H_TMP/r-spam.out") spam, BAYES_HAM on $(grep -c '^Symbol: BAYES_HAM' "$H_TMP/r-ham.out") ham"
	kill $rpid
}

sa_bench() {
	local A=$H_TMP/sa port pid t0 t1 c
	if ! command -v sa-learn >/dev/null || ! command -v spamd >/dev/null || ! command -v spamc >/dev/null; then
		echo "# SpamAssassin not installed: skipped"; return
	fi
	mkdir -p "$A/site" "$A/bayes" "$A/home"
	cp /etc/spamassassin/*.pre "$A/site/"
	cat >"$A/site/local.cf" <<EOF
use_bayes 1
bayes_auto_learn 0
bayes_path $A/bayes/bayes
bayes_file_mode 0777
skip_rbl_checks 1
dns_available no
use_razor2 0
use_pyzor 0
EOF
	chmod -R a+rwX "$A"
	t0=$(now_ms)
	xargs -a "$S/learn-spam" -d '\n' sa-learn -L --siteconfigpath "$A/site" --spam >"$H_TMP/sl.out" 2>&1
	xargs -a "$S/learn-ham" -d '\n' sa-learn -L --siteconfigpath "$A/site" --ham >>"$H_TMP/sl.out" 2>&1
	t1=$(now_ms)
	echo "SpamAssassin learning: $((nls + nlh)) messages in $((t1 - t0)) ms = $(awk -v n=$((nls + nlh)) -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }') msg/s (sa-learn)"
	chmod -R a+rwX "$A"
	port=$(h_free_port)
	spamd -L -x -i 127.0.0.1 -p "$port" -m 2 --siteconfigpath "$A/site" -H "$A/home" \
		-u nobody -s stderr </dev/null >>"$H_TMP/logs/spamd.log" 2>&1 &
	pid=$!
	h_track $pid spamd
	h_wait_port "$port" 120 $pid || { echo "# spamd did not start: skipped"; return; }
	for c in spam ham; do
		awk -v n="$sample" 'NR % n == 0 || n == 1' "$S/test-$c" |
			xargs -d '\n' -P 2 -I{} sh -c "spamc -d 127.0.0.1 -p $port -c <'{}'" \
			>"$H_TMP/sa-$c.out" 2>/dev/null
		cut -d/ -f1 "$H_TMP/sa-$c.out" >"$H_TMP/sa-$c.score"
	done
	[ "$sample" -gt 1 ] && echo "# SpamAssassin: every ${sample}th held-out message only"
	shares SpamAssassin "$H_TMP/sa-spam.score" "$H_TMP/sa-ham.score"
	kill $pid
}

if [ "$peers" -eq 1 ]; then
	rspamd_bench
	sa_bench
fi

echo
echo "# held-out mail: share of spam at score >= 6 and >= 11, share of ham there"
printf '%-14s %10s %10s %10s %10s %8s %8s\n' scanner spam\>=6 spam\>=11 ham\>=6 ham\>=11 spam ham
for k in moat rspamd SpamAssassin; do
	[ -n "${T[$k]:-}" ] || continue
	read -r a b c d e f <<<"${T[$k]}"
	printf '%-14s %9s%% %9s%% %9s%% %9s%% %8s %8s\n' "$k" "$a" "$b" "$c" "$d" "$e" "$f"
done
