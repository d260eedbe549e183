#!/bin/bash
# clamav-bench.sh - what ClamAV costs a Postfix, moat's against Rspamd's:
# the same mail through a private Postfix with moat-contentfilter without
# and with its clamav module, and with Rspamd 3.4's self-scanning milter
# proxy (docker-mailserver's setup) without and with its antivirus module
# (docker-mailserver's antivirus.conf rule), all four on one private clamd.
#
#   t/bench/clamav-bench.sh [-m MESSAGES] [-s SESSIONS] [-l SIZE] [-r RUNS]
#
# Needs the build ($MOAT_BUILDDIR, default _build), Postfix with
# smtp-source/smtp-sink, rspamd, clamd (clamav-daemon), unbound, and root.
# clamd gets a database of two body signatures (as t/clamav.t), so its
# cost is the real one of reading, unpacking and matching a message, not of
# a million signatures; it listens on 127.0.0.1 (rspamd drops to _rspamd
# and could not open a socket in the temp dir), and both filters use that.
# moat runs with clamav_cache_size = 0: Rspamd caches verdicts only in
# Redis, which this rspamd has not, so both scan every message. smtp-source
# sends MESSAGES (default 1000) over SESSIONS (default 10) sessions, one
# message a connection, each with a SIZE-byte body (default 20000); timed
# until the last message reached the sink. The four configurations take
# turns, RUNS times (default 2); each reports its best rate, the loss that
# ClamAV causes in its own filter, and how many streams clamd scanned in
# that configuration (from its LogClean log), which proves the antivirus
# ran for every message. Loopback only; a few minutes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
. "$here/../lib/zones.sh"
. "$here/peers.sh"
count=1000 sessions=10 size=20000 runs=2
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
for p in postfix smtp-source smtp-sink rspamd clamd unbound; do
	command -v $p >/dev/null || [ -x /usr/sbin/$p ] || { echo "$p not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (the Postfix master must)" >&2; exit 1; }
h_init

echo "# ClamAV benchmark: $count messages per run, best of $runs, $size-byte body, $sessions sessions"
echo "# machine: $(nproc) cores, $(uname -r); postfix $(postconf -h mail_version 2>/dev/null); $(clamd --version); $(rspamd --version 2>/dev/null | head -n 1); $("$(m_bin moatctl)" -V 2>&1 | head -n 1)"

z_start_nx_unbound || { echo "unbound did not start" >&2; exit 1; }

# The clamd.
mkdir -p "$H_TMP/clamdb"
{
	echo "Eicar-Signature:0:*:$(printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' | od -An -tx1 | tr -d ' \n')"
	echo "Moat.Test.String:0:*:$(printf 'MOAT-CLAMAV-TEST-7f3a9c' | od -An -tx1 | tr -d ' \n')"
} >"$H_TMP/clamdb/moat-test.ndb"
cport=$(h_free_port)
cat >"$H_TMP/clamd.conf" <<EOF
TCPSocket $cport
TCPAddr 127.0.0.1
DatabaseDirectory $H_TMP/clamdb
Foreground yes
LogFile $H_TMP/logs/clamd.log
LogClean yes
MaxThreads 12
StreamMaxLength 25M
EOF
clamd -c "$H_TMP/clamd.conf" >>"$H_TMP/logs/clamd.out" 2>&1 &
h_track $! clamd
h_wait_port "$cport" 20 || { echo "clamd did not start" >&2; exit 1; }
scanned() { grep -c "instream(.*): OK$" "$H_TMP/logs/clamd.log"; }

# Two rspamds, DMS's milter proxy each; the second with DMS's antivirus rule.
start_rspamd() {
	local R=$1 av=$2 port pport
	port=$(h_free_port) pport=$(h_free_port)
	bench_rspamd_config "$R" 1 "$port"
	bench_rspamd_proxy "$R" "$pport"
	if [ "$av" = 1 ]; then
		cat >"$R/etc/local.d/antivirus.conf" <<EOF
enabled = true;
ClamAV {
    type = "clamav";
    servers = "127.0.0.1:$cport";
    action = "reject";
    message = '\${SCANNER} FOUND VIRUS "\${VIRUS}"';
    scan_mime_parts = false;
    symbol = "CLAM_VIRUS";
    log_clean = true;
    max_size = 25000000;
    timeout = 10;
    retransmits = 2;
}
EOF
	fi
	bench_rspamd_run "$R"
	h_wait_port "$pport" 180 "$RSPAMD_PID" || { echo "rspamd did not start" >&2; exit 1; }
	PPORT=$pport
}
start_rspamd "$H_TMP/rspamd-off" 0
rs_off=$PPORT
start_rspamd "$H_TMP/rspamd-av" 1
rs_av=$PPORT

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
send() {
	smtp-source -s "$sessions" -t user@example.com -M moat-client.localdomain -l "$size" \
		-m "$1" -f "$2@example.org" -S "clamav-bench $2" \
		"127.0.0.1:$H_PF_PORT" >>"$H_TMP/logs/smtp-source.log" 2>&1
}

# run LABEL MILTER: fresh Postfix with the milter, warm-up, timed run. Sets RATE, SCANS.
run() {
	local label=$1 milter=$2 t0 t1 n got deadline s0 tag=bench-${1// /-}
	h_start_postfix "default_process_limit = 100" "smtpd_milters = inet:127.0.0.1:$milter" \
		"milter_default_action = tempfail" || { echo "Postfix did not start" >&2; exit 1; }
	send "$sessions" warm-up && h_wait_for 60 sink_has "$sessions" ||
		{ echo "$label: warm-up mail did not arrive" >&2; exit 1; }
	sleep 1
	sink_clear
	s0=$(scanned)
	t0=$(now)
	send "$count" "$tag"
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
	got=$(h_sink_files | xargs -r -d '\n' grep -l -- "^X-Mail-Args: <$tag@example.org>" | wc -l)
	RATE=$(calc 'printf "%.0f", n / (b - a)' n="$got" a="$t0" b="$t1")
	SCANS=$(($(scanned) - s0))
	echo "$label: $got/$count arrived in $(calc 'printf "%.2f", b - a' a="$t0" b="$t1")s = $RATE msg/s; clamd scanned $SCANS"
	[ "$got" -eq "$count" ] || { echo "$label: LOST mail: $got of $count arrived" >&2; exit 1; }
	h_postfix_stop
	sink_clear
}

h_start_smtp_sink || { echo "smtp-sink did not start" >&2; exit 1; }
"$(m_bin moatctl)" -o state_directory="$H_TMP/state" migrate >/dev/null || exit 1
m_start_contentfilter -o dns_servers="127.0.0.1:$NX_PORT" -o clamav_servers="inet:127.0.0.1:$cport" \
	-o clamav_cache_size=0 || { echo "moat-contentfilter did not start" >&2; exit 1; }
db=$H_TMP/state/moat.db

declare -A best
for ((i = 1; i <= runs; i++)); do
	sqlite3 "$db" "UPDATE modules SET enabled = 0 WHERE name = 'clamav'"
	sleep 2.1 # the milter reads the rules every two seconds
	run "moat clamav-off run $i" "$M_MILTER_PORT"
	[ "$RATE" -gt "${best[moat-off]:-0}" ] && best[moat-off]=$RATE
	sqlite3 "$db" "UPDATE modules SET enabled = 1 WHERE name = 'clamav'"
	sleep 2.1
	run "moat clamav-on run $i" "$M_MILTER_PORT"
	[ "$RATE" -gt "${best[moat-on]:-0}" ] && best[moat-on]=$RATE
	best[moat-scans]=$SCANS
	run "rspamd antivirus-off run $i" "$rs_off"
	[ "$RATE" -gt "${best[rs-off]:-0}" ] && best[rs-off]=$RATE
	run "rspamd antivirus-on run $i" "$rs_av"
	[ "$RATE" -gt "${best[rs-on]:-0}" ] && best[rs-on]=$RATE
	best[rs-scans]=$SCANS
done
echo "best: moat ${best[moat-off]} -> ${best[moat-on]} msg/s with ClamAV (clamd scanned ${best[moat-scans]} of $count in the last run)," \
	"loss $(calc 'printf "%.1f", (1 - b / a) * 100' a="${best[moat-off]}" b="${best[moat-on]}")%"
echo "best: rspamd ${best[rs-off]} -> ${best[rs-on]} msg/s with its antivirus module (clamd scanned ${best[rs-scans]} of $count in the last run)," \
	"loss $(calc 'printf "%.1f", (1 - b / a) * 100' a="${best[rs-off]}" b="${best[rs-on]}")%"
echo "moat with ClamAV against rspamd with ClamAV: $(calc 'printf "%.2f", b / a' a="${best[rs-on]}" b="${best[moat-on]}")x the messages/s"
