#!/bin/bash
# daemon.t - running both daemons without systemd, as an init script or a
# container would: a second start never takes a live unix socket, and a
# daemon removes only the socket it made; a failed detached start is one
# line on stderr and exit 1; pid_file and log_file (reopened on SIGHUP);
# moat-contentfilter stops promptly on SIGTERM.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v perl >/dev/null || tap_skip_all "needs perl"

# As root the daemons become nobody, as they would become moat: libmilter
# then removes its socket at exit (it does not as root). The socket
# directory belongs to that user, as /var/spool/postfix/moat would.
if [ "$(id -u)" -eq 0 ]; then user=nobody; else user=$(id -un); fi
state=$H_TMP/state
sockdir=$H_TMP/sock
mkdir -p "$sockdir" && chown "$user" "$sockdir"
m_ctl migrate >/dev/null && sqlite3 "$state/moat.db" "UPDATE dnsbl_zones SET enabled = 0"
[ "$(id -u)" -eq 0 ] && chown -R "$user" "$state"
common=(-o state_directory="$state" -o dns_servers=127.0.0.1:1 -o run_as="$user")

# answers KIND PATH: the daemon behind a unix socket answers its protocol:
# a policy request gets an action, a milter negotiation (SMFIC_OPTNEG) an
# SMFIC_OPTNEG back.
answers() {
	perl -MIO::Socket::UNIX -e '
		my ($kind, $path) = @ARGV;
		my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect $path: $!\n";
		alarm 10;
		if ($kind eq "policy") {
			print $s "request=smtpd_access_policy\nprotocol_state=RCPT\n",
				"client_address=192.0.2.7\nsender=a\@example.org\n",
				"recipient=b\@example.com\n\n";
			my $l = <$s>;
			exit($l =~ /^action=/ ? 0 : 1);
		}
		print $s pack("N", 13) . "O" . pack("NNN", 6, 0x1ff, 0x1fffff);
		read($s, my $r, 5) == 5 or die "no reply\n";
		exit(substr($r, 4, 1) eq "O" ? 0 : 1);' "$@"
}

# start NAME ARGS...: a daemon in the foreground, with a log of its own;
# its pid in $started.
nstarts=0
start() {
	local name=$1 log
	shift
	log=$H_TMP/logs/$name-$((++nstarts)).log
	"$(m_bin "$name")" -f "${common[@]}" "$@" >>"$log" 2>&1 &
	started=$!
	h_track "$started" "$name"
	h_wait_log "ready: listening" 10 "$log"
}

# stop_within PID TENTHS: SIGTERM; true if it has exited within TENTHS/10 s
# (with status 0, when it is our child).
stop_within() {
	local i rc
	kill -TERM "$1" || return 1
	for ((i = 0; i < $2; i++)); do
		_h_alive "$1" || break
		sleep 0.1
	done
	_h_alive "$1" && return 1
	_h_untrack "$1"
	wait "$1" 2>/dev/null
	rc=$?
	# 127: not our child (it detached); it is gone, which is all we can see.
	[ $rc -eq 0 ] || [ $rc -eq 127 ]
}

# --- A second start never takes a live unix socket ---------------------
for name in moat-policyd moat-contentfilter; do
	case $name in
	moat-policyd) kind=policy setting=policy_listen ;;
	*) kind=milter setting=milter_listen ;;
	esac
	sock=$sockdir/$kind.sock
	tap_ok "$name A starts on unix:$sock" start $name -o $setting="unix:$sock"
	a=$started
	tap_ok "...and answers there" answers $kind "$sock"
	ino=$(stat -c %i "$sock")
	out=$(timeout 10 "$(m_bin $name)" -f "${common[@]}" -o $setting="unix:$sock" 2>&1)
	rc=$?
	tap_is "$rc" 1 "$name B on the same socket: exit 1"
	tap_like "$out" "fatal: $sock is in use by another process" "...saying the socket is in use"
	tap_is "$(stat -c %i "$sock")" "$ino" "...the socket is still A's"
	tap_ok "...and A still answers" answers $kind "$sock"
	tap_ok "stop A" stop_within "$a" 50
	tap_ok "...A removed its socket" test ! -e "$sock"
	tap_ok "$name B starts now" start $name -o $setting="unix:$sock"
	b=$started
	tap_ok "...and answers" answers $kind "$sock"

	# A socket left by a crash is replaced; one that is not ours is left alone.
	kill -KILL "$b"
	wait "$b" 2>/dev/null
	_h_untrack "$b"
	tap_ok "$name killed with SIGKILL leaves its socket" test -S "$sock"
	tap_ok "...a new start replaces the dead socket" start $name -o $setting="unix:$sock"
	a=$started
	tap_ok "...and answers" answers $kind "$sock"
	# The admin removes the path by hand and starts another daemon there:
	# stopping the first must not take the second one's socket with it.
	rm -f "$sock"
	tap_ok "with A's socket removed by hand, B starts" start $name -o $setting="unix:$sock"
	b=$started
	tap_ok "stop A" stop_within "$a" 60
	tap_ok "...B's socket is still there" test -S "$sock"
	tap_ok "...and B answers" answers $kind "$sock"
	tap_ok "stop B" stop_within "$b" 50
	tap_ok "...B removed its socket" test ! -e "$sock"
done

# --- A failed detached start is one line on stderr and exit 1 -------------
# A start that should fail but detaches (a regression) would outlive the
# test: at exit, stop any daemon whose command line names this test's
# directory, by its pid.
stray_daemons() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		case $(tr '\0' ' ' <"$f" 2>/dev/null) in
		*moat-*"$H_TMP"*) kill -TERM "$pid" 2>/dev/null && tap_diag "stopped stray daemon $pid" ;;
		esac
	done
}
h_on_exit stray_daemons

# fails DESC NAME ARGS...: started without -f, it must fail with exit 1 and
# exactly one "fatal:" line on stderr, and print nothing on stdout.
fails() {
	local desc=$1 name=$2 out err rc
	shift 2
	out=$(timeout 10 "$(m_bin "$name")" "$@" 2>"$H_TMP/err")
	rc=$?
	err=$(cat "$H_TMP/err")
	tap_is "$rc" 1 "$name, detached, $desc: exit 1"
	tap_like "$err" $'^[^\n]*fatal: [^\n]*$' "...one fatal line on stderr"
	[ -z "$out" ] || tap_diag "stdout: $out"
}
psock=$sockdir/p.sock msock=$sockdir/m.sock
start moat-policyd -o policy_listen="unix:$psock"
held_p=$started
start moat-contentfilter -o milter_listen="unix:$msock"
held_m=$started
port=$(h_free_port)
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
	LocalPort => $ARGV[0], Listen => 1, ReuseAddr => 1) or die; sleep 600' "$port" &
h_track $! port-holder
h_wait_port "$port" 10
mkdir -p "$H_TMP/baddb"
echo "not a database, only text ........................................................" \
	>"$H_TMP/baddb/moat.db"
for name in moat-policyd moat-contentfilter; do
	case $name in
	moat-policyd) listen=policy_listen sock=$psock ;;
	*) listen=milter_listen sock=$msock ;;
	esac
	fails "unix socket in use" $name "${common[@]}" -o $listen="unix:$sock"
	fails "port in use" $name "${common[@]}" -o $listen="inet:127.0.0.1:$port"
	fails "no such user" $name "${common[@]}" -o run_as=moat-no-such-user
	fails "unusable database" $name "${common[@]}" -o $listen="inet:127.0.0.1:$(h_free_port)" \
		-o database_path="$H_TMP/baddb/moat.db"
	fails "bad setting" $name "${common[@]}" -o milter_timeout=forever
	fails "dns_servers that do not parse" $name "${common[@]}" -o dns_servers=not-an-address \
		-o $listen="inet:127.0.0.1:$(h_free_port)"
	fails "log file that cannot be opened" $name "${common[@]}" \
		-o log_file="$H_TMP/no/such/dir/moat.log"
done
stop_within "$held_p" 50
stop_within "$held_m" 50

# --- pid_file and log_file, detached -------------------------------------
# A directory run_as may write, as /run/moat would be made for it.
rundir=$H_TMP/run
mkdir -p "$rundir" && chown "$user" "$rundir"
log=$rundir/moat.log
for name in moat-policyd moat-contentfilter; do
	case $name in
	moat-policyd) kind=policy listen=policy_listen pidset=policy_pid_file ;;
	*) kind=milter listen=milter_listen pidset=milter_pid_file ;;
	esac
	pidf=$rundir/$name.pid sock=$sockdir/$kind-d.sock
	# A stale pid file: a process that has ended.
	sh -c 'echo $$' >"$pidf"
	stale=$(cat "$pidf")
	args=("${common[@]}" -o $listen="unix:$sock" -o $pidset="$pidf" -o log_file="$log")
	err=$(timeout 10 "$(m_bin $name)" "${args[@]}" 2>&1)
	tap_is "$?/$err" "0/" "$name detached with a pid file and a log file: exit 0, nothing on stderr"
	# Read at once: the start returns only once the pid file is written.
	pid=$(cat "$pidf")
	[ -n "$pid" ] && h_track "$pid" $name
	h_wait_for 10 test -S "$sock"
	tap_ok "...the stale pid file holds the daemon's pid as soon as the start returns" \
		test -n "$pid" -a "$pid" != "$stale" -a -d "/proc/$pid"
	tap_like "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" "$name" "...which is $name"
	tap_ok "...it logs to log_file" h_wait_log "$name\\[$pid\\]: ready: listening on unix:$sock" 10 "$log"
	tap_ok "...and answers" answers $kind "$sock"
	err=$(timeout 10 "$(m_bin $name)" "${common[@]}" -o $listen="unix:$sock-2" \
		-o $pidset="$pidf" 2>&1)
	tap_is "$?" 1 "a second start with the same pid file: exit 1"
	tap_like "$err" $'^[^\n]*fatal: '"$pidset: pid file $pidf is held by process $pid: it is running already$" \
		"...one line naming the pid file and the process"
	tap_ok "...and left nothing behind" test ! -e "$sock-2"
	# A reload that is not a rotation keeps the file (which root created).
	kill -HUP "$pid"
	tap_ok "SIGHUP: reloaded" h_wait_log "$name\\[$pid\\]: reloaded" 10 "$log"
	tap_ok "...still into the same file, without an error" \
		bash -c "! grep -q 'error: reload' '$log'"
	# logrotate without copytruncate: move the file, then SIGHUP.
	mv "$log" "$log.1"
	kill -HUP "$pid"
	tap_ok "SIGHUP after a rotation: a new log file, written by the daemon" \
		h_wait_log "$name\\[$pid\\]: reloaded" 10 "$log"
	tap_ok "stop: prompt" stop_within "$pid" 20
	tap_ok "...the pid file is removed" test ! -e "$pidf"
	tap_ok "...the stop is in the new log file" grep -q "$name\\[$pid\\]: stopped" "$log"
	rm -f "$log.1"
done

# log_file = - in a container: the log on standard output, nothing on stderr.
port=$(h_free_port)
"$(m_bin moat-policyd)" -f "${common[@]}" -o policy_listen="inet:127.0.0.1:$port" -o log_file=- \
	>"$H_TMP/logs/stdout.log" 2>"$H_TMP/logs/stderr.log" &
pid=$!
h_track $pid moat-policyd
tap_ok "log_file = -: the log goes to standard output" h_wait_log "ready: listening" 10 \
	"$H_TMP/logs/stdout.log"
tap_ok "stop: prompt" stop_within "$pid" 20
tap_is "$(cat "$H_TMP/logs/stderr.log")" "" "...nothing on stderr"

# --- moat-contentfilter stops promptly --------------------------------------
# libmilter alone waits up to 5 s; the bound says "at once", with room
# for a loaded machine.
for listen in "inet:127.0.0.1:$(h_free_port)" "unix:$sockdir/prompt.sock"; do
	start moat-contentfilter -o milter_listen="$listen"
	pid=$started
	t0=$(date +%s%N)
	stop_within "$pid" 50
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	tap_is "$rc" 0 "moat-contentfilter on $listen: exit 0 on SIGTERM"
	tap_ok "...within 1 s (took $ms ms)" test "$ms" -lt 1000
done

# A scan under way when SIGTERM comes is finished first: a resolver that
# never answers holds it for dns_timeout, and the verdict still arrives.
if command -v miltertest >/dev/null; then
	. "$MOAT_SRCDIR/t/lib/zones.sh"
	z_setup_db
	[ "$(id -u)" -eq 0 ] && chown -R "$user" "$state"
	h_start_dns_blackhole
	port=$(h_free_port)
	start moat-contentfilter -o milter_listen="inet:127.0.0.1:$port" \
		-o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" -o dns_timeout=2s -o dns_retries=0
	pid=$started
	cat >"$H_TMP/slow.lua" <<'LUA'
local conn = mt.connect("inet:" .. os.getenv("MOAT_MILTER_PORT") .. "@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
if mt.conninfo(conn, "mx.sender.example", "198.51.100.20") ~= nil then error("conninfo") end
if mt.mailfrom(conn, "<alice@sender.example>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "Subject", "in flight") ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, "See http://www.example.org/\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("no verdict: the milter went away") end
mt.disconnect(conn)
LUA
	MOAT_MILTER_PORT=$port miltertest -s "$H_TMP/slow.lua" >"$H_TMP/logs/slow-mt.log" 2>&1 &
	mt=$!
	# Connected, then the few milliseconds the message takes to send.
	connected() { [ -n "$(ss -Htn state established "( sport = :$port )")" ]; }
	h_wait_for 10 connected
	sleep 0.3
	stop_within "$pid" 100
	tap_is "$?" 0 "SIGTERM during a scan that waits for DNS: moat-contentfilter exits 0"
	wait $mt
	tap_is "$?" 0 "...after the scan gave its verdict"
	tap_ok "...which it logged after the signal and before it stopped" \
		awk '/signal 15 received/ { s = NR } /, action=/ { a = NR } /: stopped$/ { t = NR }
			END { exit !(s && a > s && t > a) }' "$H_TMP/logs/moat-contentfilter-$nstarts.log"
else
	tap_skip "miltertest not installed" 3
fi

tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log "$log"
tap_done
