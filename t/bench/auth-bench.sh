#!/bin/bash
# auth-bench.sh - what SPF and DKIM cost: moat ("moatctl scan") against
# Debian's rspamd 3.4 on a signed corpus, on the same private unbound.
#
#   t/bench/auth-bench.sh [-r RUNS] [-N MESSAGES] [-d CORPUS]
#
# The signed corpus: MESSAGES (default 400) messages of CORPUS (default
# $MOAT_SRCDIR/../shared/corpus) re-signed by dkimpy (t/lib/dkim-gen.py:
# RSA-2048 and Ed25519, both canonicalizations, some tampered with), all
# from d=dkim.test. A private unbound answers from local-data: the DKIM keys
# and an SPF record for dkim.test that permits the client used
# (198.51.100.20; sender sender@dkim.test, HELO mx.dkim.test), NXDOMAIN for
# every other name (the DNS lists). Both scanners get the same transaction.
#
# moat, RUNS times each, best taken: SPF and DKIM off (modules table), DKIM
# only, SPF and DKIM; messages per CPU-second of the moatctl process, and
# the CPU per message each check adds (the difference of the runs). moat's
# resolver keeps answers for their TTL, so after the first message a key or
# an SPF record costs no lookup: as on a live server with repeat senders.
#
# rspamd: one normal worker (t/bench/peers.sh), asked by rspamc with -i -F
# --helo, RUNS times with everything on (SPF, DKIM and also DMARC, ARC)
# and RUNS times with the groups spf, dkim, dmarc, arc switched off for the
# request (Settings header); CPU of its processes from /proc. Prints the
# same figures and the ratio of messages per CPU-second, all checks on.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
. "$here/peers.sh"
runs=3 nmsg=400 corpus=$MOAT_SRCDIR/../shared/corpus
while getopts r:N:d: o; do
	case $o in
	r) runs=$OPTARG ;;
	N) nmsg=$OPTARG ;;
	d) corpus=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [-N MESSAGES] [-d CORPUS]" >&2; exit 2 ;;
	esac
done
PY=/usr/bin/python3
moatctl=$(m_bin moatctl)
[ -x "$moatctl" ] || { echo "build it first: make -C $MOAT_BUILDDIR" >&2; exit 1; }
$PY -c 'import dkim, nacl' 2>/dev/null || { echo "needs python3-dkim python3-nacl" >&2; exit 1; }
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || { echo "needs unbound" >&2; exit 1; }
h_init

calc() {
	local e=$1
	shift
	local a=() v
	for v in "$@"; do a+=(-v "$v"); done
	awk "${a[@]}" "BEGIN { $e }"
}

S=$H_TMP/signed
mkdir -p "$S"
$PY "$MOAT_SRCDIR/t/lib/dkim-gen.py" gen "$corpus" "$nmsg" "$S" >/dev/null || exit 1
{
	echo "  local-data: 'dkim.test. 300 IN TXT \"v=spf1 ip4:198.51.100.20 -all\"'"
	echo "  local-data: 'mx.dkim.test. 300 IN TXT \"v=spf1 ip4:198.51.100.20 -all\"'"
} >"$S/spf-data.conf"
h_start_local_unbound bench static "$S/unbound-data.conf" "$S/spf-data.conf" || exit 1
U=$H_LOCAL_UNBOUND_PORT
files=$(cd "$S" && ls | grep -E '^[0-9]{4}-' | grep -v json)
mkdir -p "$S/msgs"
for f in $files; do mv "$S/$f" "$S/msgs/"; done
nfiles=$(ls "$S/msgs" | wc -l)
tx=(-i 198.51.100.20 -F sender@dkim.test --helo mx.dkim.test -r rcpt@example.com)
echo "# auth benchmark: $nfiles signed messages (dkimpy, from $corpus), best of $runs runs"
echo "# machine: $(nproc) cores; $("$moatctl" -V 2>&1 | head -n 1)$(command -v rspamd >/dev/null && echo "; $(rspamd -v 2>&1 | head -n 1)")"

state=$H_TMP/state
"$moatctl" -o state_directory="$state" migrate >/dev/null || exit 1
sqlite3 "$state/moat.db" "UPDATE dnsbl_zones SET enabled = 0 WHERE name NOT LIKE '%.test'"
# modules SPF DKIM [DMARC ARC]: 1 or 0 each (DMARC and ARC off unless given)
modules() {
	sqlite3 "$state/moat.db" "UPDATE modules SET enabled = $1 WHERE name = 'spf';
		UPDATE modules SET enabled = $2 WHERE name = 'dkim';
		UPDATE modules SET enabled = ${3:-0} WHERE name = 'dmarc';
		UPDATE modules SET enabled = ${4:-0} WHERE name = 'arc'"
}
# run_moat LABEL: RUNS scans; the best CPU per message into M_CPU (ms).
run_moat() {
	local label=$1 i wall user sys n cpu
	M_CPU=
	for ((i = 1; i <= runs; i++)); do
		TIMEFORMAT='%3R %3U %3S'
		{ time "$moatctl" -o state_directory="$state" -o dns_servers="127.0.0.1:$U" \
			scan --json "${tx[@]}" "$S/msgs" >"$H_TMP/moat.json" 2>"$H_TMP/moat.err"; } \
			2>"$H_TMP/moat.time"
		read -r wall user sys <"$H_TMP/moat.time"
		n=$(grep -c '^{"file":' "$H_TMP/moat.json")
		[ "$n" -eq "$nfiles" ] || { echo "moatctl scan: $n results for $nfiles" >&2; exit 1; }
		cpu=$(calc 'printf "%.4f", (u + s) * 1000 / n' u="$user" s="$sys" n="$n")
		echo "moat $label run $i: $n messages in ${wall}s; CPU $cpu ms/msg"
		if [ -z "$M_CPU" ] || calc 'exit !(a < b)' a="$cpu" b="$M_CPU"; then M_CPU=$cpu; fi
	done
	echo "moat $label best: $M_CPU ms CPU/msg = $(calc 'printf "%.0f", 1000 / c' c="$M_CPU") msg per CPU-second"
}
modules 0 0
run_moat "SPF and DKIM off"
m_off=$M_CPU
modules 0 1
run_moat "DKIM on"
m_dkim=$M_CPU
modules 1 1
run_moat "SPF and DKIM on"
m_sd=$M_CPU
modules 1 1 1 0
run_moat "SPF, DKIM and DMARC on"
m_dmarc=$M_CPU
modules 1 1 1 1
run_moat "SPF, DKIM, DMARC and ARC on"
m_all=$M_CPU
echo "moat symbols on the last run: $(grep -oE '"(R_SPF|R_DKIM|DMARC|ARC)_[A-Z_]+"' "$H_TMP/moat.json" | sort | uniq -c | tr -s ' \n' ' ')"
echo "moat CPU per message added: DKIM $(calc 'printf "%.4f", b - a' a="$m_off" b="$m_dkim") ms, SPF $(calc 'printf "%.4f", b - a' a="$m_dkim" b="$m_sd") ms, DMARC $(calc 'printf "%.4f", b - a' a="$m_sd" b="$m_dmarc") ms, ARC $(calc 'printf "%.4f", b - a' a="$m_dmarc" b="$m_all") ms"
m_percore=$(calc 'printf "%.0f", 1000 / c' c="$m_all")

if ! command -v rspamd >/dev/null || ! command -v rspamc >/dev/null || [ ! -d /etc/rspamd ]; then
	echo "# rspamd not installed: no comparison"
	exit 0
fi
NX_PORT=$U
R=$H_TMP/rspamd
rport=$(h_free_port)
bench_rspamd_config "$R" 1 "$rport"
bench_rspamd_run "$R" || exit 1
rpid=$RSPAMD_PID rlog=$RSPAMD_LOG
h_wait_port "$rport" 180 "$rpid" || { echo "rspamd did not start" >&2; exit 1; }
h_wait_for 120 grep -q '(normal).*hyperscan database of [0-9]* regexps has been loaded' "$rlog" ||
	echo "# rspamd: hyperscan NOT loaded (PCRE)"
tck=$(getconf CLK_TCK)
rspamd_cpu() {
	local p s t=0 f
	for p in $rpid $(ps -o pid= --ppid "$rpid"); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		read -ra f <<<"${s##*) }"
		t=$((t + f[11] + f[12] + f[13] + f[14]))
	done
	calc 'printf "%.2f", t / hz' t="$t" hz="$tck"
}
# run_rspamd LABEL [RSPAMC-OPTION...]: the best CPU per message into R_CPU.
run_rspamd() {
	local label=$1 i c0 c1 got cpu
	shift
	R_CPU=
	for ((i = 1; i <= runs; i++)); do
		c0=$(rspamd_cpu)
		rspamc -h "127.0.0.1:$rport" -n 1 -t 60 "${tx[@]}" "$@" "$S/msgs" >"$H_TMP/rspamc.out" 2>&1
		c1=$(rspamd_cpu)
		got=$(grep -c '^Action:' "$H_TMP/rspamc.out")
		[ "$got" -eq "$nfiles" ] || { echo "rspamc: $got results for $nfiles" >&2; exit 1; }
		cpu=$(calc 'printf "%.4f", (b - a) * 1000 / n' a="$c0" b="$c1" n="$got")
		echo "rspamd $label run $i: $got messages; rspamd CPU $cpu ms/msg"
		if [ -z "$R_CPU" ] || calc 'exit !(a < b)' a="$cpu" b="$R_CPU"; then R_CPU=$cpu; fi
	done
	echo "rspamd $label best: $R_CPU ms CPU/msg = $(calc 'printf "%.0f", 1000 / c' c="$R_CPU") msg per CPU-second"
}
run_rspamd "SPF, DKIM, DMARC, ARC off" --header 'Settings={"groups_disabled":["spf","dkim","dmarc","arc"]}'
grep -q 'Symbol: R_DKIM_' "$H_TMP/rspamc.out" && echo "# (rspamd still ran DKIM with the groups off)"
r_off=$R_CPU
run_rspamd "all on"
r_all=$R_CPU
echo "rspamd symbols on the last run: $(grep -oE '^Symbol: (R_SPF|R_DKIM|DMARC|ARC)_[A-Z_]+' "$H_TMP/rspamc.out" | sed 's/Symbol: //' | sort | uniq -c | tr -s ' \n' ' ')"
echo "rspamd CPU per message added by SPF, DKIM, DMARC, ARC: $(calc 'printf "%.4f", b - a' a="$r_off" b="$r_all") ms"
r_percore=$(calc 'printf "%.0f", 1000 / c' c="$r_all")
echo "ratio moat/rspamd messages per CPU-second, authentication on: $(calc 'printf "%.1f", a / b' a="$m_percore" b="$r_percore")"
