# shellcheck shell=bash
#
# t/lib/moat.sh -- start moat's own programs for bash TAP tests.
# Source after t/lib/harness.sh and h_init. Each daemon runs in the
# foreground (-f) on a free loopback port with its log in $H_TMP/logs and
# the database in $H_TMP/state (one per test), and is stopped by PID at exit.
#
#   m_bin NAME                 path of moat-policyd, moat-contentfilter, moatctl
#   m_start_policyd [-o N=V]...        -> M_POLICY_PORT M_POLICYD_PID M_POLICYD_LOG
#                              (the shipped DNS lists are switched off first)
#   m_start_contentfilter [-o N=V]...  -> M_MILTER_PORT M_MILTER_PID M_MILTER_LOG
#                              (local_networks empty: no client is local)
#   (both run as the user running the test: run_as is that user, so a root
#   test keeps root; a later -o run_as=... wins)
#   m_start_controller [-o N=V]...    -> M_CTRL_PORT M_CTRL_PID M_CTRL_LOG
#                              (on M_CTRL_FIXED_PORT if set, else a free port)
#   m_ctl ARGS...              moatctl with the test's state directory
#   m_need PROG...             skip the whole test unless each program is
#                              installed (in PATH or /usr/sbin)
#   m_policy_query PORT "name=value"...  one request over a fresh connection;
#                              prints the reply's action
#
# Tests that run under the sanitizers get ASan/UBSan reports in the daemon
# logs; m_check_sanitizer_logs turns any such report into a failed test.

MOAT_BUILDDIR=${MOAT_BUILDDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/_build}
MOAT_SRCDIR=${MOAT_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

m_need() {
	local prog
	for prog in "$@"; do
		command -v "$prog" >/dev/null || [ -x "/usr/sbin/$prog" ] || tap_skip_all "$prog not installed"
	done
}

m_bin() {
	case "$1" in
	moat-policyd) echo "$MOAT_BUILDDIR/policyd/moat-policyd" ;;
	moat-contentfilter) echo "$MOAT_BUILDDIR/contentfilter/moat-contentfilter" ;;
	moat-controller) echo "$MOAT_BUILDDIR/controller/moat-controller" ;;
	moatctl) echo "$MOAT_BUILDDIR/moatctl/moatctl" ;;
	*) return 1 ;;
	esac
}

m_state() {
	mkdir -p "$H_TMP/state" "$H_TMP/logs"
	echo "$H_TMP/state"
}

# m_quiet_zones: switch off the DNS lists the schema ships (Spamhaus, ...),
# so no test ever asks the internet; tests that want lists add their own.
# SPF and DKIM go off too: with no resolver (dns_servers=127.0.0.1:1) they
# would only add R_SPF_DNSFAIL or R_DKIM_NA to every score; the tests of
# authentication (auth-postfix.t) switch them on with their own unbound.
# So does hfilter (its HELO patterns would mark every test client); its
# test, t/hfilter.t, switches it on.
m_quiet_zones() {
	m_ctl migrate >/dev/null &&
		sqlite3 "$(m_state)/moat.db" "UPDATE dnsbl_zones SET enabled = 0 WHERE name NOT LIKE '%.test';
			UPDATE modules SET enabled = 0 WHERE name IN ('spf', 'dkim', 'hfilter')"
}

m_start_policyd() {
	local state
	state=$(m_state)
	m_quiet_zones || return 1
	M_POLICY_PORT=$(h_free_port)
	M_POLICYD_LOG=$H_TMP/logs/policyd-$M_POLICY_PORT.log
	# DNS goes nowhere unless a test points it at its own resolver (a later -o wins).
	# As for the content filter, no network is local: the test clients stand
	# for remote MTAs, whatever the host's (or the private Postfix's) mynetworks.
	# SPF at RCPT is off, so each test sees only what it is about; the SPF
	# tests (t/spf-policy-postfix.t) turn it on.
	"$(m_bin moat-policyd)" -f -o state_directory="$state" \
		-o policy_listen="inet:127.0.0.1:$M_POLICY_PORT" -o dns_servers=127.0.0.1:1 \
		-o run_as="$(id -un)" -o local_networks= -o policy_spf=no "$@" \
		>>"$M_POLICYD_LOG" 2>&1 &
	M_POLICYD_PID=$!
	h_track "$M_POLICYD_PID" moat-policyd
	# The port opens before the database does: wait for "ready".
	h_wait_port "$M_POLICY_PORT" 10 "$M_POLICYD_PID" &&
		h_wait_log "ready: listening" 10 "$M_POLICYD_LOG"
}

m_start_contentfilter() {
	local state
	state=$(m_state)
	M_MILTER_PORT=$(h_free_port)
	M_MILTER_LOG=$H_TMP/logs/contentfilter-$M_MILTER_PORT.log
	m_quiet_zones || return 1
	# The test clients on 127.0.0.1 stand for remote MTAs: no network is
	# local (local_networks would follow this host's Postfix mynetworks).
	# Tests of local mail set their own (a later -o wins).
	"$(m_bin moat-contentfilter)" -f -o state_directory="$state" \
		-o milter_listen="inet:127.0.0.1:$M_MILTER_PORT" -o dns_servers=127.0.0.1:1 \
		-o run_as="$(id -un)" -o local_networks= "$@" >>"$M_MILTER_LOG" 2>&1 &
	M_MILTER_PID=$!
	h_track "$M_MILTER_PID" moat-contentfilter
	h_wait_port "$M_MILTER_PORT" 10 "$M_MILTER_PID" &&
		h_wait_log "ready: listening" 10 "$M_MILTER_LOG"
}

# m_start_controller [-o N=V]... -> M_CTRL_PORT M_CTRL_PID M_CTRL_LOG
m_start_controller() {
	local state
	state=$(m_state)
	M_CTRL_PORT=${M_CTRL_FIXED_PORT:-$(h_free_port)}
	M_CTRL_LOG=$H_TMP/logs/controller-$M_CTRL_PORT.log
	m_quiet_zones || return 1
	"$(m_bin moat-controller)" -f -o state_directory="$state" \
		-o controller_listen="inet:127.0.0.1:$M_CTRL_PORT" -o dns_servers=127.0.0.1:1 \
		-o run_as="$(id -un)" "$@" >>"$M_CTRL_LOG" 2>&1 &
	M_CTRL_PID=$!
	h_track "$M_CTRL_PID" moat-controller
	h_wait_port "$M_CTRL_PORT" 10 "$M_CTRL_PID" &&
		h_wait_log "ready: listening" 10 "$M_CTRL_LOG"
}

m_ctl() {
	"$(m_bin moatctl)" -o state_directory="$(m_state)" -o dns_servers=127.0.0.1:1 "$@"
}

# One policy request; prints the action line's value ("DUNNO", ...).
m_policy_query() {
	local port=$1 line reply=
	shift
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
	{
		printf '%s\n' "$@"
		printf '\n'
	} >&"$fd"
	while IFS= read -r -t 10 line <&"$fd"; do
		[ -z "$line" ] && break
		reply+=$line
	done
	exec {fd}>&-
	[ -n "$reply" ] || return 1
	printf '%s\n' "${reply#action=}"
}

# Fail (return 1) if a sanitizer reported anything in the given logs.
m_check_sanitizer_logs() {
	local pid name f seen=
	# LeakSanitizer reports at exit: stop every moat daemon the test started first.
	if [ -f "$H_TMP/.pids" ]; then
		while read -r pid name; do
			case $name in moat-*) h_stop "$pid" ;; esac
		done < <(cat "$H_TMP/.pids")
	fi
	# A glob that matched nothing, or a wrong path, must not pass.
	for f in "$@"; do
		[ -f "$f" ] && seen=1
	done
	if [ -z "$seen" ]; then
		tap_diag "no daemon log to read among: $*"
		return 1
	fi
	! grep -lE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:' "$@" 2>/dev/null
}
