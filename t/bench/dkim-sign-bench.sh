#!/bin/bash
# dkim-sign-bench.sh - what DKIM signing costs a Postfix: moat-contentfilter
# signing against Debian's OpenDKIM milter signing with the same RSA-2048
# key, and moat with an Ed25519 key (issue 16).
#
#   t/bench/dkim-sign-bench.sh [-m MESSAGES] [-s SESSIONS] [-l SIZE] [-r RUNS]
#
# Five configurations of a private Postfix relaying to smtp-sink, in turns,
# RUNS times each (default 2), MESSAGES (default 1000) messages from
# smtp-source over SESSIONS (default 20) sessions with a SIZE-byte body
# (default 4096), From @example.org: no milter; OpenDKIM signing (Mode s,
# relaxed/relaxed, InternalHosts 127.0.0.1); moat not signing; moat
# signing with RSA-2048 (dkim_sign_networks = 127.0.0.1); moat signing with
# Ed25519. Each moat is its own process, so its CPU per message comes from
# /proc. Prints messages/s per run, the best of each, OpenDKIM's loss
# against no milter, moat's loss from signing against moat not signing,
# and the CPU signing adds per message (the milter's CPU is read from /proc
# in clock ticks: on a busy machine the difference is noisy, so
# t/bench/dkim_sign_cpu also measures one signature alone, as
# moat-contentfilter makes it: header and body canonicalization, hashes,
# the key operation). Every run must deliver exactly
# MESSAGES messages, each signed where it should be (checked on a sample).
# Goals: moat's loss at most half of OpenDKIM's; Ed25519 at most 0.1 ms
# CPU per message.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
count=1000 sessions=20 size=4096 runs=2
while getopts m:s:l:r: o; do
	case $o in
	m) count=$OPTARG ;;
	s) sessions=$OPTARG ;;
	l) size=$OPTARG ;;
	r) runs=$OPTARG ;;
	*) echo "usage: $0 [-m MESSAGES] [-s SESSIONS] [-l SIZE] [-r RUNS]" >&2; exit 2 ;;
	esac
done
[ -x "$(m_bin moat-contentfilter)" ] || { echo "build it first: make -C $MOAT_BUILDDIR" >&2; exit 1; }
ODK=/usr/sbin/opendkim
for p in postfix smtp-source smtp-sink $ODK; do
	command -v $p >/dev/null || [ -x /usr/sbin/$p ] || { echo "$p not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (the Postfix master must)" >&2; exit 1; }
h_init

echo "# DKIM signing benchmark: $count messages per run, best of $runs, $size-byte body, $sessions sessions"
echo "# machine: $(nproc) cores, $(uname -r); postfix $(postconf -h mail_version 2>/dev/null); $($ODK -V 2>&1 | head -n 1)"

now() { date +%s.%N; }
calc() {
	local e=$1 a=() v
	shift
	for v in "$@"; do a+=(-v "$v"); done
	awk "${a[@]}" "BEGIN { $e }"
}
sink_files() { find "$H_SINK_DIR" -maxdepth 1 -type f | wc -l; }
sink_has() { [ "$(sink_files)" -ge "$1" ]; }
sink_clear() { find "$H_SINK_DIR" -maxdepth 1 -type f -delete; }
cpu_of() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	read -ra f <<<"${s##*) }"
	calc 'printf "%.3f", t / hz' t=$((f[11] + f[12])) hz="$(getconf CLK_TCK)"
}
send() {
	smtp-source -s "$sessions" -t user@example.com -M moat-client.localdomain -l "$size" \
		-m "$1" -f "$2@example.org" -S "dkim-bench $2" "127.0.0.1:$H_PF_PORT" \
		>>"$H_TMP/logs/smtp-source.log" 2>&1
}

# run LABEL PID SIGNED [POSTFIX-SETTING...]: a fresh Postfix, warm-up, the
# timed run. PID: the milter whose CPU to count ("" none); SIGNED: how many
# DKIM-Signature fields each message must have. Sets RATE and CPU (ms/msg).
run() {
	local label=$1 pid=$2 signed=$3 t0 t1 c0 n got deadline
	shift 3
	h_start_postfix "default_process_limit = $((sessions * 2 + 50))" "$@" ||
		{ echo "Postfix did not start" >&2; exit 1; }
	send "$sessions" warm-up && h_wait_for 30 sink_has "$sessions" ||
		{ echo "$label: warm-up failed" >&2; exit 1; }
	sleep 1
	sink_clear
	c0=$([ -n "$pid" ] && cpu_of "$pid" || echo 0)
	t0=$(now)
	send "$count" bench
	deadline=$(($(date +%s) + 30)) got=0
	while :; do
		n=$(sink_files)
		[ "$n" -ge "$count" ] && break
		if [ "$n" -gt "$got" ]; then
			got=$n deadline=$(($(date +%s) + 30))
		elif [ "$(date +%s)" -ge "$deadline" ]; then
			break
		fi
		sleep 0.05
	done
	t1=$(now)
	h_sink_wait "$count" 5 2>/dev/null
	sleep 1
	got=$(h_sink_count)
	RATE=$(calc 'printf "%.0f", n / (b - a)' n="$got" a="$t0" b="$t1")
	CPU=0
	[ -n "$pid" ] && CPU=$(calc 'printf "%.4f", (b - a) * 1000 / n' a="$c0" b="$(cpu_of "$pid")" n="$count")
	echo "$label: $got/$count in $(calc 'printf "%.2f", b - a' a="$t0" b="$t1")s = $RATE msg/s${pid:+; milter CPU $CPU ms/msg}"
	n=$(grep -c '^DKIM-Signature:' "$(h_sink_last)")
	if [ "$got" -ne "$count" ] || [ "$n" -ne "$signed" ]; then
		echo "$label: $got of $count arrived; the last has $n DKIM-Signature fields, not $signed" >&2
		exit 1
	fi
	h_postfix_stop
	sink_clear
}

h_start_smtp_sink || { echo "smtp-sink did not start" >&2; exit 1; }
"$(m_bin moatctl)" -o state_directory="$H_TMP/state" migrate >/dev/null || exit 1
K=$H_TMP/keys E=$H_TMP/keys-ed
ctl() { "$(m_bin moatctl)" -o state_directory="$H_TMP/state" -o run_as="$(id -un)" "$@" >/dev/null; }
ctl -o dkim_key_directory="$K" dkim keygen example.org || exit 1
ctl -o dkim_key_directory="$E" dkim keygen example.org --type ed25519 || exit 1

# OpenDKIM with the same RSA-2048 key.
oport=$(h_free_port)
cat >"$H_TMP/opendkim.conf" <<EOF
Mode s
Domain example.org
Selector mail
KeyFile $K/rsa-2048-mail-example.org.private.txt
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.1
Socket inet:$oport@127.0.0.1
Syslog no
UserID $(id -un)
PidFile $H_TMP/opendkim.pid
Background no
RequireSafeKeys false
EOF
$ODK -f -x "$H_TMP/opendkim.conf" >>"$H_TMP/logs/opendkim.log" 2>&1 &
odk_pid=$!
h_track $odk_pid opendkim
h_wait_port "$oport" 10 "$odk_pid" || { echo "opendkim did not start" >&2; cat "$H_TMP/logs/opendkim.log" >&2; exit 1; }

# Three moats: not signing, RSA, Ed25519. None of them asks DNS.
start() { # VAR-PREFIX KEYDIR SIGN-NETWORKS
	m_start_contentfilter -o dkim_key_directory="$2" -o dkim_sign_networks="$3" ||
		{ echo "moat-contentfilter did not start" >&2; exit 1; }
	eval "${1}_pid=$M_MILTER_PID ${1}_port=$M_MILTER_PORT"
}
start plain "$K" ""
start rsa "$K" 127.0.0.1
start ed "$E" 127.0.0.1

best() { [ "$2" -gt "${!1}" ] && printf -v "$1" %s "$2"; :; }
mcfg() { echo "smtpd_milters = inet:127.0.0.1:$1" "milter_default_action = tempfail"; }
r_none=0 r_odk=0 r_plain=0 r_rsa=0 r_ed=0
c_plain=99 c_rsa=99 c_ed=99
lo() { [ "$(calc 'print (b < a)' a="${!1}" b="$2")" = 1 ] && printf -v "$1" %s "$2"; :; }
for ((i = 1; i <= runs; i++)); do
	run "no milter, run $i" "" 0
	best r_none "$RATE"
	run "OpenDKIM signing RSA-2048, run $i" "$odk_pid" 1 "smtpd_milters = inet:127.0.0.1:$oport" \
		"milter_default_action = tempfail"
	best r_odk "$RATE"
	run "moat not signing, run $i" "$plain_pid" 0 "smtpd_milters = inet:127.0.0.1:$plain_port" \
		"milter_default_action = tempfail"
	best r_plain "$RATE"
	lo c_plain "$CPU"
	run "moat signing RSA-2048, run $i" "$rsa_pid" 1 "smtpd_milters = inet:127.0.0.1:$rsa_port" \
		"milter_default_action = tempfail"
	best r_rsa "$RATE"
	lo c_rsa "$CPU"
	run "moat signing Ed25519, run $i" "$ed_pid" 1 "smtpd_milters = inet:127.0.0.1:$ed_port" \
		"milter_default_action = tempfail"
	best r_ed "$RATE"
	lo c_ed "$CPU"
done
loss() { calc 'printf "%.1f", (1 - b / a) * 100' a="$1" b="$2"; }
echo "best msg/s: no milter $r_none, OpenDKIM $r_odk, moat not signing $r_plain, moat RSA $r_rsa, moat Ed25519 $r_ed"
echo "loss from signing: OpenDKIM $(loss "$r_none" "$r_odk")% (against no milter); moat RSA-2048 $(loss "$r_plain" "$r_rsa")%, moat Ed25519 $(loss "$r_plain" "$r_ed")% (against moat not signing)"
echo "moat CPU per message (lowest run): not signing $c_plain ms, RSA-2048 $c_rsa ms (+$(calc 'printf "%.4f", b - a' a="$c_plain" b="$c_rsa")), Ed25519 $c_ed ms (+$(calc 'printf "%.4f", b - a' a="$c_plain" b="$c_ed"))"
cpu=$MOAT_BUILDDIR/t/bench/dkim_sign_cpu
if make -C "$MOAT_BUILDDIR" t/bench/dkim_sign_cpu >/dev/null 2>&1; then
	echo "signing alone (t/bench/dkim_sign_cpu): $("$cpu" "$K/rsa-2048-mail-example.org.private.txt")"
	echo "signing alone (t/bench/dkim_sign_cpu): $("$cpu" "$E/ed25519-mail-example.org.private.txt")"
fi
h_stop "$odk_pid"
