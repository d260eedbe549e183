#!/bin/bash
# milter-bench.sh - what moat-contentfilter costs a Postfix: the same mail
# through a private Postfix without and with the milter.
#
#   t/bench/milter-bench.sh [-m MESSAGES] [-s SESSIONS] [-l SIZE] [-F FILE] [-d] [-r RUNS]
#
# Needs the build ($MOAT_BUILDDIR, default _build), Postfix with
# smtp-source/smtp-sink (package postfix), and root (the Postfix master).
# A private Postfix (t/lib/harness.sh) relays everything to smtp-sink.
# smtp-source sends MESSAGES (default 2000) messages over SESSIONS
# (default 20) parallel SMTP sessions, one message per connection (-d:
# many messages per connection, smtp-source -d), each with a SIZE-byte
# body (default 4096) or the message in FILE (an mbox "From " first line
# is dropped). Timed from the start of smtp-source until the last message
# has arrived at the sink. Two configurations, in
# turns, RUNS times each (default 2): no milter, and smtpd_milters =
# moat-contentfilter (own state dir, milter_default_action = tempfail, its
# DNS lists answered NXDOMAIN by a private unbound). Each run gets a fresh
# Postfix and an empty sink, and is preceded by an untimed warm-up of
# SESSIONS messages, so the smtpd processes and the milter are up. Prints
# one line per run (messages/s; with the milter also its CPU per message
# from /proc), the best rate of each and the loss in percent. A third
# configuration, a milter that does nothing but add the same two headers
# (t/bench/noop_milter), shows what Postfix itself pays for any milter. The script
# fails unless exactly MESSAGES messages of each run arrived (none lost,
# none doubled).
#
# Postfix here is the harness's (queue_run_delay 1s, no in_flow_delay, no
# error sleep, no policy service, no DNS); default_process_limit is raised
# so SESSIONS smtpd processes plus the smtp clients fit. The queue is on
# the temp dir's file system, and Postfix fsyncs every queue file, so the
# absolute rate depends on the disk; the loss is the figure to look at.
# Everything listens on 127.0.0.1 only and is stopped at the end; about a
# minute with the defaults.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
. "$here/../lib/zones.sh"
count=2000 sessions=20 size=4096 file='' reuse=() runs=2
while getopts m:s:l:F:dr: o; do
	case $o in
	m) count=$OPTARG ;;
	s) sessions=$OPTARG ;;
	l) size=$OPTARG ;;
	F) file=$OPTARG ;;
	d) reuse=(-d) ;;
	r) runs=$OPTARG ;;
	*) echo "usage: $0 [-m MESSAGES] [-s SESSIONS] [-l SIZE] [-F FILE] [-d] [-r RUNS]" >&2; exit 2 ;;
	esac
done
[ -x "$(m_bin moat-contentfilter)" ] || { echo "build it first: make -C $MOAT_BUILDDIR" >&2; exit 1; }
for p in postfix smtp-source smtp-sink; do
	command -v $p >/dev/null || [ -x /usr/sbin/$p ] || { echo "$p not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (the Postfix master must)" >&2; exit 1; }
h_init

src=(-s "$sessions" -t user@example.com -M moat-client.localdomain "${reuse[@]}")
if [ -n "$file" ]; then
	# smtp-source -F sends the file as is (header and body); drop an mbox
	# "From " line, it is no header.
	sed '1{/^From /d}' "$file" >"$H_TMP/message" || exit 1
	src+=(-F "$H_TMP/message")
	what="$(wc -c <"$H_TMP/message")-byte message from $file"
else
	what="$size-byte body"
	src+=(-l "$size")
fi

echo "# milter benchmark: $count messages per run, best of $runs, $what, $sessions sessions, $([ ${#reuse[@]} -gt 0 ] && echo "connections reused" || echo "one message per connection")"
echo "# machine: $(nproc) cores, $(uname -r); postfix $(postconf -h mail_version 2>/dev/null); $("$(m_bin moatctl)" -V 2>&1 | head -n 1)"

if command -v unbound >/dev/null || [ -x /usr/sbin/unbound ]; then
	z_start_nx_unbound || { echo "unbound did not start" >&2; exit 1; }
	dns=127.0.0.1:$NX_PORT
else
	dns=127.0.0.1:1 # nothing listens: every lookup fails at once
fi

now() { date +%s.%N; }
calc() {
	local e=$1 a=() v
	shift
	for v in "$@"; do a+=(-v "$v"); done
	awk "${a[@]}" "BEGIN { $e }"
}
# Files in the sink, complete or not: cheap enough to poll every 50 ms.
sink_files() { find "$H_SINK_DIR" -maxdepth 1 -type f | wc -l; }
sink_has() { [ "$(sink_files)" -ge "$1" ]; }
sink_clear() { find "$H_SINK_DIR" -maxdepth 1 -type f -delete; }
# CPU seconds (user+sys) of one process.
cpu_of() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	read -ra f <<<"${s##*) }"
	calc 'printf "%.2f", t / hz' t=$((f[11] + f[12])) hz="$(getconf CLK_TCK)"
}

# send N TAG: smtp-source to the Postfix, from TAG@example.org (the sink
# records the envelope sender, so a run's mail can be told from any other
# even with -F); its output in $H_TMP/logs.
send() {
	smtp-source "${src[@]}" -m "$1" -f "$2@example.org" -S "milter-bench $2" \
		"127.0.0.1:$H_PF_PORT" >>"$H_TMP/logs/smtp-source.log" 2>&1
}

# run LABEL [POSTFIX-SETTING...]: fresh Postfix with the settings, empty
# sink, warm-up, then the timed run. Sets RATE; prints the run's line.
run() {
	local label=$1 t0 t1 t_acc n got deadline rc line tag
	shift
	tag=bench-${label// /-}
	h_start_postfix "default_process_limit = $((sessions * 2 + 50 > 100 ? sessions * 2 + 50 : 100))" \
		"$@" || { echo "Postfix did not start" >&2; exit 1; }
	send "$sessions" warm-up ||
		{ echo "$label: warm-up failed:" >&2; tail -n 5 "$H_TMP/logs/smtp-source.log" >&2; exit 1; }
	h_wait_for 30 sink_has "$sessions" ||
		{ echo "$label: warm-up mail did not arrive" >&2; exit 1; }
	sleep 1
	sink_clear
	[ -n "${M_MILTER_PID:-}" ] && c0=$(cpu_of "$M_MILTER_PID")
	t0=$(now)
	send "$count" "$tag"
	rc=$?
	t_acc=$(now)
	# Wait for the sink; give up once nothing has arrived for 30 s.
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
	# Let the last files be closed and anything stray (bounces, a retry)
	# arrive, then count exactly: complete files with this run's sender.
	h_sink_wait "$count" 5 2>/dev/null
	sleep 1
	got=$(h_sink_files | xargs -r -d '\n' grep -l -- "^X-Mail-Args: <$tag@example.org>" | wc -l)
	n=$(h_sink_count)
	RATE=$(calc 'printf "%.0f", n / (b - a)' n="$got" a="$t0" b="$t1")
	line="$label: $got/$count messages arrived in $(calc 'printf "%.2f", b - a' a="$t0" b="$t1")s = $RATE msg/s (smtp-source done after $(calc 'printf "%.2f", b - a' a="$t0" b="$t_acc")s)"
	if [ -n "${M_MILTER_PID:-}" ]; then
		line+="; milter CPU $(calc 'printf "%.3f", (b - a) * 1000 / n' a="$c0" b="$(cpu_of "$M_MILTER_PID")" n="$count") ms/msg"
	fi
	echo "$line"
	if [ $rc -ne 0 ] || [ "$got" -ne "$count" ] || [ "$n" -ne "$count" ]; then
		echo "$label: LOST or extra mail: smtp-source exit $rc, $got of $count arrived, $n files in the sink" >&2
		tail -n 5 "$H_TMP/logs/smtp-source.log" >&2
		postqueue -c "$H_PF_DIR" -p 2>/dev/null | tail -n 5 >&2
		grep -E 'reject|warning|error|fatal' "$H_PF_LOG" | tail -n 5 >&2
		exit 1
	fi
	h_postfix_stop
	sink_clear
}

h_start_smtp_sink || { echo "smtp-sink did not start" >&2; exit 1; }
"$(m_bin moatctl)" -o state_directory="$H_TMP/state" migrate >/dev/null || exit 1
m_start_contentfilter -o dns_servers="$dns" || { echo "moat-contentfilter did not start" >&2; exit 1; }
milter_pid=$M_MILTER_PID

# The floor: what Postfix itself pays for a milter, measured with one that
# only adds the same two headers (t/bench/noop_milter, "make bench").
noop=$MOAT_BUILDDIR/t/bench/noop_milter
make -C "$MOAT_BUILDDIR" t/bench/noop_milter >/dev/null 2>&1 || noop=
if [ -n "$noop" ]; then
	noop_port=$(h_free_port)
	"$noop" "inet:$noop_port@127.0.0.1" >>"$H_TMP/logs/noop-milter.log" 2>&1 &
	h_track $! noop_milter
	h_wait_port "$noop_port" 10 || noop=
fi

# The configurations take turns, so a slow spell of the machine does not
# land on one of them only; each gets its best run.
plain=0 milter=0 floor=0
for ((i = 1; i <= runs; i++)); do
	M_MILTER_PID=
	run "no-milter run $i"
	[ "$RATE" -gt "$plain" ] && plain=$RATE
	if [ -n "$noop" ]; then
		run "noop-milter run $i" "smtpd_milters = inet:127.0.0.1:$noop_port" "milter_default_action = tempfail"
		[ "$RATE" -gt "$floor" ] && floor=$RATE
	fi
	M_MILTER_PID=$milter_pid
	run "moat-milter run $i" "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"
	[ "$RATE" -gt "$milter" ] && milter=$RATE
done
actions=$(sqlite3 "$H_TMP/state/moat.db" "SELECT action || ' ' || count(*) FROM history GROUP BY action" 2>/dev/null | paste -sd, -)
[ -n "$actions" ] && echo "# milter verdicts (history, warm-ups included): $actions"
echo "best: no milter $plain msg/s, moat-milter $milter msg/s${noop:+, no-op milter $floor msg/s}"
echo "loss with the milter: $(calc 'printf "%.1f", (1 - b / a) * 100' a="$plain" b="$milter")% of messages/s"
if [ -n "$noop" ]; then
	echo "loss with a no-op milter (Postfix's own cost of a milter): $(calc 'printf "%.1f", (1 - b / a) * 100' a="$plain" b="$floor")%"
	echo "loss with moat against the no-op milter: $(calc 'printf "%.1f", (1 - b / a) * 100' a="$floor" b="$milter")%"
fi
