# shellcheck shell=bash
# shellcheck disable=SC2034,SC2016,SC2119,SC2120
# (SC2034: the H_* variables are for the caller; SC2016: $ in single
# quotes is literal Postfix/sh text; SC2119/2120: optional arguments.)
#
# t/lib/harness.sh -- test helper library for moat's bash TAP tests.
#
# Source it from a bash test script, call h_init, then start the servers a
# test needs.  Everything listens on 127.0.0.1 on randomly chosen free
# ports, lives under a private temp dir and is stopped by PID when the
# script exits, so tests can run in parallel (make -j) and never touch the
# network beyond loopback.
#
#   . "$(dirname "$0")/lib/harness.sh"
#   h_init
#   tap_plan 2
#   h_start_postfix "smtpd_milters = inet:127.0.0.1:$port" || tap_bail "no postfix"
#   tap_ok "mail accepted" h_swaks --to user@example.com
#   tap_ok "mail relayed"  h_sink_wait 1
#   tap_done
#
# TAP (usable before h_init; call them from the main shell, not from a
# subshell or pipeline, or the counters are lost):
#   tap_plan N                 print "1..N" up front
#   tap_ok DESC CMD [ARGS...]  run CMD in the current shell (so it may set
#                              variables); ok if it exits 0.  CMD's output is
#                              captured and shown as diagnostics on failure.
#   tap_is GOT EXPECTED DESC   string equality
#   tap_like GOT ERE DESC      bash [[ =~ ]] match (ERE over the whole string)
#   tap_skip REASON [N]        emit N (default 1) "ok N # SKIP REASON" lines
#   tap_skip_all REASON        print "1..0 # SKIP REASON" and exit 0
#                              With MOAT_REQUIRE_ALL=1 (bootstrap check, so
#                              CI) both are failures instead: a missing tool
#                              or file must not silently remove assertions.
#   tap_bail REASON            print "Bail out! REASON" and exit 255
#   tap_diag MSG...            "# MSG" on stderr (one line per line of MSG)
#   tap_note MSG...            "# MSG" on stdout
#   tap_done                   print the plan if none was given, check the
#                              count, exit non-zero if anything failed
#   tap_* return 0 on pass, 1 on fail.  (With "set -e" a failing tap_*
#   ends the script; the TAP consumer then reports the missing tests.)
#
# SQLite:
#   sqlite3 ARGS...     the sqlite3 shell with a 10 s busy timeout, so a
#                       write waits for the daemons' own instead of failing
#
# Processes and ports:
#   h_init              create $H_TMP (/tmp/moat-t.XXXXXX, exported), install
#                       the EXIT/INT/TERM/HUP cleanup: stop Postfix, stop every
#                       tracked PID (newest first), remove $H_TMP.
#                       MOAT_KEEP_TMP=1 keeps the dir, MOAT_KEEP_TMP=onfail
#                       keeps it if the exit status is non-zero.  Do not set
#                       your own EXIT trap afterwards; use h_on_exit.
#   h_on_exit CMD...    run CMD in the cleanup, before processes are stopped
#                       (e.g. to dump a log on failure)
#   h_free_port         print a port free on 127.0.0.1 for TCP and UDP
#   h_track PID [NAME]  stop PID at exit
#   h_stop PID          TERM, wait up to $H_STOP_TIMEOUT (5) s, then KILL
#   h_wait_port PORT [TIMEOUT=10] [PID]      wait for a TCP listener
#   h_wait_udp_port PORT [TIMEOUT=10] [PID]  wait for a bound UDP socket
#                       (with PID: give up as soon as PID has died)
#   h_wait_for TIMEOUT CMD...   poll CMD every 0.1 s until it succeeds
#   h_wait_log ERE [TIMEOUT=10] [FILE=$H_PF_LOG]  wait until FILE matches
#
# SMTP sink (smtp-sink, one message per file):
#   h_start_smtp_sink [SMTP-SINK-OPTS...]  -> H_SINK_PORT H_SINK_DIR H_SINK_PID
#   h_sink_count        number of completely received messages
#   h_sink_wait N [TIMEOUT=10]   wait until h_sink_count >= N
#   h_sink_files        complete message files, oldest first
#   h_sink_last         newest complete message file
#
# Private Postfix instance relaying everything to the sink:
#   h_postfix_system_setup     preflight check (see the comment there: as
#                              root nothing has to change in /etc/postfix)
#   h_start_postfix ["param = value"...]  -> H_PF_DIR (config dir) H_PF_PORT
#                              H_PF_LOG (maillog) H_PF_QUEUE H_PF_BASE
#                              H_PF_MASTER_PID; starts the sink first if
#                              needed.  Extra "name = value" args go into
#                              main.cf via postconf -e (replacing defaults).
#   h_postfix_postconf ARGS    postconf -c $H_PF_DIR ARGS
#   h_postfix_flush            postqueue -c $H_PF_DIR -f
#   h_postfix_reload           postfix -c $H_PF_DIR reload
#   h_postfix_stop             postfix stop, then kill the master's group
#   h_swaks ARGS...            swaks against 127.0.0.1:$H_PF_PORT; defaults
#                              (--to user@example.com, --from
#                              sender@example.org, --helo, --timeout 10)
#                              are overridden by ARGS (last one wins)
#
# DNS:
#   h_start_rbldnsd ZONE:TYPE:FILE[,FILE]...  -> H_RBLDNSD_PORT H_RBLDNSD_PID
#                       H_RBLDNSD_DIR (files are copied there, readable by
#                       the rbldns user)
#   h_rbldnsd_reload    after editing the copies in $H_RBLDNSD_DIR: make
#                       rbldnsd reload them now and wait until it did
#   h_start_unbound [ZONE@PORT...]  -> H_UNBOUND_PORT H_UNBOUND_PID
#                       H_UNBOUND_DIR; ZONE is forwarded to 127.0.0.1@PORT,
#                       every other name is REFUSED
#   h_start_dns_blackhole  -> H_BLACKHOLE_PORT H_BLACKHOLE_PID (never answers)
#   h_start_dns_servfail   -> H_SERVFAIL_PORT H_SERVFAIL_PID (always SERVFAIL)
#   h_dig PORT ARGS...     dig @127.0.0.1 -p PORT +time=2 +tries=1 ARGS
#
# Only one instance of each server kind is supported per script (the
# variables would clash); h_track any extra process you start yourself.
# Each server's stdout/stderr goes to $H_TMP/logs/NAME.log (smtp-sink,
# rbldnsd, unbound, dns-blackhole, dns-servfail, postfix-cmd); unbound also
# logs to $H_UNBOUND_DIR/unbound.log, Postfix to $H_PF_LOG.
#
# Things to know:
# - Run as root (the Postfix master must; smtp-sink and rbldnsd are then
#   dropped to nobody / rbldns by their -u options).
# - Bounces and other mail generated by the private Postfix are relayed
#   to the sink too and count in h_sink_count.
# - The private Postfix allows XCLIENT from 127.0.0.0/8, so a test can
#   pose as any client: h_swaks --xclient-addr 192.0.2.1 ...  (such a
#   client is outside mynetworks, so relaying is then refused unless your
#   restrictions permit it).
# - The postfix command prints errors only when stderr is a tty; look in
#   $H_PF_LOG and $H_TMP/logs/postfix-cmd.log when a start fails.

[ -n "${_H_HARNESS_LOADED:-}" ] && return 0
_H_HARNESS_LOADED=1
H_LIB_FILE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/harness.sh

# Debian's tools first: postfix, smtp-sink, rbldnsd and unbound live in
# /usr/sbin, and python3 must be Debian's (its dkimpy, pyspf, selenium are
# the judges), not a version manager's shim ahead of it in PATH (pyenv's
# costs some 0.6 s of shell scripts a call, and the suite makes hundreds).
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# ---------------------------------------------------------------------------
# TAP
# ---------------------------------------------------------------------------

_TAP_N=0
_TAP_FAIL=0
_TAP_PLAN=
_TAP_DONE=

# One "# ..." line per argument, and per line within an argument.
_tap_comment() {
    local arg line
    for arg in "$@"; do
        while IFS= read -r line; do
            printf '# %s\n' "$line"
        done <<<"$arg"
    done
}

tap_diag() { _tap_comment "$@" >&2; }
tap_note() { _tap_comment "$@"; }

tap_plan() {
    _TAP_PLAN=$1
    echo "1..$1"
}

# _tap_result STATUS DESC: emit one test line.  '#' in the description is
# escaped, otherwise TAP would read "# skip" etc. as a directive.
_tap_result() {
    local status=$1 desc=${2//$'\n'/ }
    desc=${desc//\#/\\#}
    _TAP_N=$((_TAP_N + 1))
    if [ "$status" -eq 0 ]; then
        echo "ok $_TAP_N - $desc"
        return 0
    fi
    echo "not ok $_TAP_N - $desc"
    _TAP_FAIL=$((_TAP_FAIL + 1))
    return 1
}

tap_ok() {
    local desc=$1 out rc
    shift
    if [ -n "${H_TMP:-}" ] && [ -d "$H_TMP" ]; then
        out="$H_TMP/.tap_out"
    else
        out=$(mktemp /tmp/moat-tap.XXXXXX)
    fi
    rc=0
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        _tap_result 0 "$desc"
    else
        _tap_result 1 "$desc"
        tap_diag "  Failed test '$desc'" "  command: $* (exit $rc)"
        if [ -s "$out" ]; then tap_diag "$(tail -n 30 "$out")"; fi
        rc=1
    fi
    case $out in /tmp/moat-tap.*) rm -f "$out" ;; esac
    return "$rc"
}

tap_is() {
    local got=$1 exp=$2 desc=$3
    if [ "$got" = "$exp" ]; then
        _tap_result 0 "$desc"
    else
        _tap_result 1 "$desc"
        tap_diag "  Failed test '$desc'" "         got: '$got'" "    expected: '$exp'"
        return 1
    fi
}

tap_like() {
    local got=$1 re=$2 desc=$3
    if [[ $got =~ $re ]]; then
        _tap_result 0 "$desc"
    else
        _tap_result 1 "$desc"
        tap_diag "  Failed test '$desc'" "                  '$got'" "    doesn't match '$re'"
        return 1
    fi
}

tap_skip() {
    local reason=${1//\#/\\#} n=${2:-1} i
    for ((i = 0; i < n; i++)); do
        if [ "${MOAT_REQUIRE_ALL:-0}" = 1 ]; then
            _tap_result 1 "not skipped (MOAT_REQUIRE_ALL=1): $1"
            continue
        fi
        _TAP_N=$((_TAP_N + 1))
        echo "ok $_TAP_N # SKIP $reason"
    done
}

tap_skip_all() {
    if [ "${MOAT_REQUIRE_ALL:-0}" = 1 ]; then
        _tap_result 1 "not skipped (MOAT_REQUIRE_ALL=1): $*"
        echo "1..$_TAP_N"
        _TAP_DONE=1
        exit 1
    fi
    echo "1..0 # SKIP $*"
    _TAP_DONE=1
    exit 0
}

tap_bail() {
    echo "Bail out! $*"
    _TAP_DONE=1
    exit 255
}

tap_done() {
    local rc=0
    _TAP_DONE=1
    if [ -z "$_TAP_PLAN" ]; then
        echo "1..$_TAP_N"
    elif [ "$_TAP_PLAN" -ne "$_TAP_N" ]; then
        tap_diag "Looks like you planned $_TAP_PLAN tests but ran $_TAP_N."
        rc=255
    fi
    if [ "$_TAP_FAIL" -gt 0 ]; then
        tap_diag "Looks like you failed $_TAP_FAIL test(s) of $_TAP_N."
        [ "$rc" -eq 0 ] && rc=$((_TAP_FAIL > 254 ? 254 : _TAP_FAIL))
    fi
    exit "$rc"
}

# ---------------------------------------------------------------------------
# Temp dir, process tracking, cleanup
# ---------------------------------------------------------------------------

# sqlite3: the shell, waiting up to 10 s for a lock as an admin's shell
# started with -cmd ".timeout 10000" does (README, "The database"). The
# daemons write history and greylist rows all the time; the shell's own
# default is to fail at once with "database is locked", which turned a
# test's UPDATE into a silent no-op under load.
sqlite3() { command sqlite3 -cmd ".timeout 10000" "$@"; }

_H_EXIT_HOOKS=()

h_init() {
    H_TMP=$(mktemp -d /tmp/moat-t.XXXXXX) || { echo "Bail out! mktemp failed"; exit 255; }
    # 0711: the unprivileged users of the daemons we start (postfix, nobody
    # for smtp-sink, rbldns) must be able to traverse into their subdirs.
    chmod 0711 "$H_TMP"
    mkdir "$H_TMP/ports" "$H_TMP/logs"
    : >"$H_TMP/.pids"
    export H_TMP
    trap '_h_cleanup' EXIT
    # Turn fatal signals into a normal exit so the EXIT trap runs.
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

_h_need_init() {
    if [ -z "${H_TMP:-}" ] || [ ! -d "$H_TMP" ]; then
        tap_diag "harness: call h_init first"
        return 1
    fi
}

h_on_exit() { _H_EXIT_HOOKS+=("$*"); }

# _h_alive PID: true if PID exists and is not a zombie.  Daemonized
# processes (the Postfix master) are reparented to PID 1, which in some
# containers never reaps them, so "kill -0" alone is not enough.
_h_alive() {
    local stat
    [ -n "${1:-}" ] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

h_track() {
    _h_need_init || return 1
    echo "$1 ${2:-pid}" >>"$H_TMP/.pids"
}

_h_untrack() {
    [ -n "${H_TMP:-}" ] && [ -f "$H_TMP/.pids" ] || return 0
    local pid name keep=
    while read -r pid name; do
        [ "$pid" = "$1" ] || keep+="$pid $name"$'\n'
    done <"$H_TMP/.pids"
    printf '%s' "$keep" >"$H_TMP/.pids"
}

# _h_wait_dead PID TENTHS: poll until PID is gone; false on timeout.
_h_wait_dead() {
    local i
    for ((i = 0; i < $2; i++)); do
        _h_alive "$1" || return 0
        sleep 0.1
    done
    ! _h_alive "$1"
}

h_stop() {
    local pid=$1 limit=$((${H_STOP_TIMEOUT:-5} * 10))
    [ -n "$pid" ] || return 0
    if _h_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        if ! _h_wait_dead "$pid" "$limit"; then
            tap_diag "harness: PID $pid ignored SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            _h_wait_dead "$pid" 30
        fi
    fi
    _h_alive "$pid" && return 1
    wait "$pid" 2>/dev/null # reap it if it is our child
    _h_untrack "$pid"
}

_h_cleanup() {
    local rc=$? hook pid name pids=()
    set +e
    trap - EXIT HUP INT TERM
    for hook in "${_H_EXIT_HOOKS[@]}"; do
        eval "$hook"
    done
    if [ "$_TAP_N" -gt 0 ] && [ -z "$_TAP_DONE" ]; then
        tap_diag "harness: script exited (status $rc) without tap_done after $_TAP_N test(s)"
    fi
    [ -n "${H_PF_DIR:-}" ] && h_postfix_stop
    if [ -n "${H_TMP:-}" ] && [ -f "$H_TMP/.pids" ]; then
        while read -r pid name; do pids=("$pid" "${pids[@]}"); done <"$H_TMP/.pids"
        for pid in "${pids[@]}"; do h_stop "$pid"; done
    fi
    if [ -n "${H_TMP:-}" ] && [ -d "$H_TMP" ]; then
        case ${MOAT_KEEP_TMP:-0} in
        1 | yes) tap_diag "harness: keeping $H_TMP" ;;
        onfail)
            if [ "$rc" -ne 0 ]; then
                tap_diag "harness: keeping $H_TMP"
            else
                rm -rf "$H_TMP"
            fi
            ;;
        *) rm -rf "$H_TMP" ;;
        esac
    fi
    exit "$rc"
}

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

# Ports are drawn from 20000..60999 minus the kernel's ephemeral range
# (default 32768-60999), so an outgoing connection or DNS query of another
# process cannot grab a port between h_free_port and the server's bind().
_h_port_range() {
    local lo=32768
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
    if [ "$lo" -gt 21000 ] && [ "$lo" -le 61000 ]; then
        _H_PORT_LO=20000 _H_PORT_HI=$((lo - 1))
    else
        _H_PORT_LO=20000 _H_PORT_HI=60999
    fi
}

# Is PORT bindable on 127.0.0.1 for both TCP and UDP right now?  No
# SO_REUSEADDR, so TIME_WAIT leftovers and wildcard listeners count as busy.
_h_port_bindable() {
    perl -MIO::Socket::INET -e '
        for my $p (qw(tcp udp)) {
            IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0],
                                  Proto => $p, ($p eq "tcp" ? (Listen => 1) : ()))
                or exit 1;
        }' "$1"
}

# Each handed-out port is recorded as $H_TMP/ports/PORT.  Parallel tests
# look at each other's /tmp/moat-t.*/ports/ so two scripts never pick the
# same port even if neither has bound it yet (and a script never gets the
# same port twice).
h_free_port() {
    _h_need_init || return 1
    local i port n
    _h_port_range
    for ((i = 0; i < 200; i++)); do
        port=$((_H_PORT_LO + (RANDOM * 32768 + RANDOM) % (_H_PORT_HI - _H_PORT_LO + 1)))
        compgen -G "/tmp/moat-t.*/ports/$port" >/dev/null && continue
        if command -v ss >/dev/null 2>&1 &&
            [ -n "$(ss -Htuna "( sport = :$port )" 2>/dev/null)" ]; then
            continue
        fi
        _h_port_bindable "$port" || continue
        : >"$H_TMP/ports/$port"
        # Lost a race with a parallel test reserving the same port?
        n=$(compgen -G "/tmp/moat-t.*/ports/$port" | wc -l)
        if [ "$n" -gt 1 ]; then
            rm -f "$H_TMP/ports/$port"
            continue
        fi
        echo "$port"
        return 0
    done
    tap_diag "h_free_port: no free port found"
    return 1
}

# _h_listening PROTO PORT: is something listening/bound on PORT?
_h_listening() {
    local proto=$1 port=$2
    if command -v ss >/dev/null 2>&1; then
        if [ "$proto" = tcp ]; then
            [ -n "$(ss -Hltn "( sport = :$port )" 2>/dev/null)" ]
        else
            [ -n "$(ss -Hlun "( sport = :$port )" 2>/dev/null)" ]
        fi
    elif [ "$proto" = tcp ]; then
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    else
        return 1
    fi
}

_h_wait_listen() {
    local proto=$1 port=$2 timeout=${3:-10} pid=${4:-} i
    for ((i = 0; i < timeout * 10; i++)); do
        _h_listening "$proto" "$port" && return 0
        if [ -n "$pid" ] && ! _h_alive "$pid"; then
            tap_diag "harness: PID $pid died before listening on $proto port $port"
            return 1
        fi
        sleep 0.1
    done
    tap_diag "harness: nothing listening on $proto port $port after ${timeout}s"
    return 1
}

h_wait_port() { _h_wait_listen tcp "$1" "${2:-10}" "${3:-}"; }
h_wait_udp_port() { _h_wait_listen udp "$1" "${2:-10}" "${3:-}"; }

h_wait_for() {
    local timeout=$1 i
    shift
    for ((i = 0; i < timeout * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

h_wait_log() {
    local re=$1 timeout=${2:-10} file=${3:-${H_PF_LOG:-}}
    if h_wait_for "$timeout" grep -Eq -- "$re" "$file" 2>/dev/null; then
        return 0
    fi
    tap_diag "h_wait_log: no line matching '$re' in $file after ${timeout}s"
    return 1
}

# _h_spawn NAME LOG CMD...: start CMD in the background (stdin /dev/null,
# stdout+stderr appended to LOG so it never holds the TAP pipe), track it,
# and leave its PID in _H_PID.
_h_spawn() {
    local name=$1 log=$2
    shift 2
    "$@" </dev/null >>"$log" 2>&1 &
    _H_PID=$!
    h_track "$_H_PID" "$name"
}

# _h_start_server NAME PROTOS CMD...: pick a free port, run CMD with
# every "@PORT@" argument replaced by it, wait for it to listen on each of
# PROTOS ("tcp", "udp" or "tcp udp").  Retries with a new port if the
# server dies (e.g. a parallel test took the port in the meantime).
# Sets _H_PORT and _H_PID.
_h_start_server() {
    local name=$1 protos=$2 attempt port arg proto log args ok
    shift 2
    log="$H_TMP/logs/$name.log"
    for attempt in 1 2 3; do
        port=$(h_free_port) || return 1
        args=()
        for arg in "$@"; do args+=("${arg//@PORT@/$port}"); done
        echo "== attempt $attempt: ${args[*]}" >>"$log"
        _h_spawn "$name" "$log" "${args[@]}"
        ok=1
        for proto in $protos; do
            _h_wait_listen "$proto" "$port" 10 "$_H_PID" 2>>"$log" || { ok=; break; }
        done
        if [ -n "$ok" ]; then
            _H_PORT=$port
            return 0
        fi
        h_stop "$_H_PID"
    done
    tap_diag "harness: could not start $name, log follows" "$(tail -n 20 "$log")"
    return 1
}

# ---------------------------------------------------------------------------
# smtp-sink
# ---------------------------------------------------------------------------

h_start_smtp_sink() {
    _h_need_init || return 1
    local user=()
    H_SINK_DIR="$H_TMP/sink"
    mkdir -p "$H_SINK_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        # smtp-sink refuses to run as root; it binds, then switches to -u.
        user=(-u nobody)
        chown nobody "$H_SINK_DIR"
    fi
    # -d: one file per transaction, named by strftime(template) + "." +
    # random hex.  The file is created at MAIL FROM, written and closed
    # after the final "." (or deleted if the transaction is aborted).
    _h_start_server smtp-sink tcp \
        smtp-sink "${user[@]}" -h moat-sink.localdomain \
        -d "$H_SINK_DIR/%Y%m%d-%H%M%S." "$@" "127.0.0.1:@PORT@" 64 || return 1
    H_SINK_PORT=$_H_PORT
    H_SINK_PID=$_H_PID
}

# Complete message files, oldest first.  A file still open in the sink
# process is a transaction in progress and is left out.
h_sink_files() {
    local f open=() files
    [ -n "${H_SINK_DIR:-}" ] && [ -d "$H_SINK_DIR" ] || return 0
    # List first, then look at open fds, so nothing is counted half-written.
    files=$(cd "$H_SINK_DIR" && ls -1tr 2>/dev/null)
    [ -n "$files" ] || return 0
    if [ -n "${H_SINK_PID:-}" ] && [ -d "/proc/$H_SINK_PID/fd" ]; then
        for f in "/proc/$H_SINK_PID/fd/"*; do
            open+=("$(readlink "$f" 2>/dev/null)")
        done
    fi
    local IFS=$'\n' o skip
    for f in $files; do
        f="$H_SINK_DIR/$f"
        [ -s "$f" ] || continue
        skip=
        for o in "${open[@]}"; do [ "$o" = "$f" ] && skip=1 && break; done
        [ -z "$skip" ] && echo "$f"
    done
    return 0
}

h_sink_count() {
    local n
    n=$(h_sink_files | wc -l)
    echo "$n"
}

h_sink_last() { h_sink_files | tail -n 1; }

h_sink_wait() {
    local want=$1 timeout=${2:-10} i
    for ((i = 0; i < timeout * 10; i++)); do
        [ "$(h_sink_count)" -ge "$want" ] && return 0
        sleep 0.1
    done
    [ "$(h_sink_count)" -ge "$want" ] && return 0
    tap_diag "h_sink_wait: $(h_sink_count) message(s) after ${timeout}s, wanted $want"
    return 1
}

# ---------------------------------------------------------------------------
# Postfix
# ---------------------------------------------------------------------------

# What a private instance needs from the system, found empirically with
# Postfix 3.7.11 on Debian 12 (run as root):
#  - "postfix -c DIR start/stop/reload", "postconf -c DIR", "postqueue -c
#    DIR -f/-p" and "sendmail -C DIR" all work as root WITHOUT
#    alternate_config_directories in /etc/postfix/main.cf.  Only the
#    set-gid tools (postqueue/postdrop) run by a NON-root user refuse a
#    non-default config dir ("unauthorized configuration directory name").
#  - maillog_file_prefixes is read from the private main.cf, so allowing
#    /tmp there is enough.  (Beware: the postfix command prints errors
#    only when stderr is a tty; otherwise they go to maillog_file/syslog.)
#  - The master must run as root, the data dir must be owned by
#    mail_owner (the master creates master.lock with its privileges), and
#    every dir on the way to the queue must be traversable by it.
# So nothing is written to /etc/postfix; this only checks the
# preconditions and returns non-zero (with a reason) if they are not met.
h_postfix_system_setup() {
    local p
    for p in postfix postconf postqueue; do
        command -v "$p" >/dev/null 2>&1 || { tap_diag "$p not found"; return 1; }
    done
    if [ "$(id -u)" -ne 0 ]; then
        tap_diag "a private Postfix master must be started as root"
        return 1
    fi
    getent passwd postfix >/dev/null || { tap_diag "no 'postfix' user"; return 1; }
    getent group postdrop >/dev/null || { tap_diag "no 'postdrop' group"; return 1; }
    [ -f "$(postconf -dh meta_directory)/postfix-files" ] ||
        { tap_diag "postfix-files not found in meta_directory"; return 1; }
    [ -f /etc/postfix/master.cf ] || { tap_diag "/etc/postfix/master.cf missing"; return 1; }
    return 0
}

# Postfix (dict_load_file) treats a config file modified within the last
# second as "being edited" and re-reads it in 300 ms steps for up to ~2 s;
# freshly written main.cf/master.cf are therefore backdated.
_h_pf_backdate() {
    touch -d "@$(($(date +%s) - 10))" "$H_PF_DIR/main.cf" "$H_PF_DIR/master.cf"
}

h_postfix_postconf() {
    local rc=0
    postconf -c "$H_PF_DIR" "$@" || rc=$?
    _h_pf_backdate
    return "$rc"
}
h_postfix_flush() { postqueue -c "$H_PF_DIR" -f; }
h_postfix_reload() { postfix -c "$H_PF_DIR" reload </dev/null >>"$H_TMP/logs/postfix-cmd.log" 2>&1; }

_h_pf_write_config() {
    local port=$1 line
    shift
    cat >"$H_PF_DIR/main.cf" <<EOF
# Private Postfix instance for moat tests (generated by t/lib/harness.sh).
compatibility_level = 3.6
config_directory = $H_PF_DIR
queue_directory = $H_PF_QUEUE
data_directory = $H_PF_BASE/data
# Relative to queue_directory, i.e. private (master.pid lives here).
process_id_directory = pid
# Own log name so these lines are never mistaken for the system Postfix.
syslog_name = postfix-moat-test
# Log to a file through postlogd (needs the postlog service in master.cf).
# The file must start with one of maillog_file_prefixes, and the default
# (/var, /dev/stdout) does not allow /tmp.
maillog_file = $H_PF_LOG
maillog_file_prefixes = /var, /dev/stdout, /tmp
myhostname = moat-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Nothing is delivered locally: every message goes to the smtp-sink.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
relayhost = [127.0.0.1]:$H_SINK_PORT
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
# Tests may pretend to be another client: swaks --xclient-addr 192.0.2.1
smtpd_authorized_xclient_hosts = 127.0.0.0/8
# Never use DNS (the network is loopback only); the relayhost is numeric.
smtp_dns_support_level = disabled
# Fast retries so deferred mail is redelivered within a test's lifetime.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
# No artificial delays: sleep after rejects, inflow throttling.
smtpd_error_sleep_time = 0
in_flow_delay = 0
biff = no
append_dot_mydomain = no
smtpd_banner = \$myhostname ESMTP moat-test
EOF
    # Extra settings: "name = value" go through postconf -e, which
    # replaces an existing entry (a duplicate line would only log a
    # warning); anything else is appended verbatim.
    for line in "$@"; do
        if [[ $line =~ ^[[:space:]]*[A-Za-z0-9_]+[[:space:]]*= ]]; then
            postconf -c "$H_PF_DIR" -e "$line" || return 1
        else
            printf '%s\n' "$line" >>"$H_PF_DIR/main.cf"
        fi
    done

    # master.cf: Debian's, minus comments and every "inet" service (so the
    # instance binds nothing but our smtpd port), chroot off everywhere
    # (a chroot would need copies of /etc files in the /tmp queue dir),
    # and the smtp listener replaced by 127.0.0.1:PORT.
    {
        echo "# Private Postfix instance for moat tests (generated by t/lib/harness.sh)."
        echo "127.0.0.1:$port inet n - n - - smtpd"
        awk '
            /^#/ || /^[[:space:]]*$/ { next }
            /^[[:space:]]/ { if (!skip) print; next }
            { skip = 0 }
            $2 == "inet" { skip = 1; next }
            NF >= 8 { $5 = "n" }
            { print }
        ' /etc/postfix/master.cf |
            sed 's#syslog_name=postfix/#syslog_name=postfix-moat-test/#'
    } >"$H_PF_DIR/master.cf"
    _h_pf_backdate
}

# Create the instance's directories the way "postfix check" would (from
# postfix-files, the list postfix-script itself uses).  Doing it here
# instead of letting the first "postfix start" do it saves ~2 s per start.
_h_pf_mkdirs() {
    local owner group path type user grp mode rest
    owner=$(postconf -dh mail_owner)
    group=$(postconf -dh setgid_group)
    while IFS=: read -r path type user grp mode rest; do
        [ "$type" = d ] || continue
        case $path in
        '$queue_directory'*) path=$H_PF_QUEUE${path#'$queue_directory'} ;;
        '$data_directory'*) path=$H_PF_BASE/data${path#'$data_directory'} ;;
        '$config_directory'*) path=$H_PF_DIR${path#'$config_directory'} ;;
        *) continue ;;
        esac
        user=${user/'$mail_owner'/$owner}
        grp=${grp/'$setgid_group'/$group}
        [ "$grp" = - ] && grp= || grp=":$grp"
        mkdir -p "$path" || return 1
        chown "$user$grp" "$path" || return 1
        chmod "$mode" "$path" || return 1
    done <"$(postconf -dh meta_directory)/postfix-files"
}

h_start_postfix() {
    _h_need_init || return 1
    h_postfix_system_setup || return 1
    if [ -n "${H_PF_MASTER_PID:-}" ] && _h_alive "$H_PF_MASTER_PID"; then
        tap_diag "h_start_postfix: already running (call h_postfix_stop first)"
        return 1
    fi
    if [ -z "${H_SINK_PORT:-}" ] || ! _h_alive "${H_SINK_PID:-}"; then
        h_start_smtp_sink || return 1
    fi
    local attempt port pid
    H_PF_BASE="$H_TMP/postfix"
    H_PF_DIR="$H_PF_BASE/conf"
    H_PF_QUEUE="$H_PF_BASE/queue"
    H_PF_LOG="$H_PF_BASE/maillog"
    for attempt in 1 2 3; do
        rm -rf "$H_PF_BASE"
        mkdir -p "$H_PF_BASE" && chmod 0755 "$H_PF_BASE" && _h_pf_mkdirs || return 1
        port=$(h_free_port) || return 1
        _h_pf_write_config "$port" "$@" || return 1
        # "master -w" (used by postfix-script) returns once the master has
        # bound its sockets, so the port is normally listening right away.
        if postfix -c "$H_PF_DIR" start </dev/null >>"$H_TMP/logs/postfix-cmd.log" 2>&1 &&
            read -r pid 2>/dev/null <"$H_PF_QUEUE/pid/master.pid"; then
            H_PF_MASTER_PID=$pid
            H_PF_PORT=$port
            if h_wait_port "$port" 10 "$pid"; then
                return 0
            fi
            h_postfix_stop
        fi
        {
            echo "== attempt $attempt failed"
            # The postfix command prints errors only when stderr is a tty
            # (else only to maillog_file/syslog); postconf always prints
            # config errors to stderr.
            postconf -c "$H_PF_DIR" -n >/dev/null
        } </dev/null >>"$H_TMP/logs/postfix-cmd.log" 2>&1
    done
    tap_diag "h_start_postfix: could not start Postfix" \
        "$(tail -n 10 "$H_TMP/logs/postfix-cmd.log")" \
        "$(tail -n 20 "$H_PF_LOG" 2>/dev/null)"
    H_PF_PORT=
    return 1
}

h_postfix_stop() {
    local pid=${H_PF_MASTER_PID:-} i
    H_PF_MASTER_PID=
    H_PF_PORT=
    [ -n "$pid" ] || return 0
    if _h_alive "$pid"; then
        postfix -c "$H_PF_DIR" stop </dev/null >>"$H_TMP/logs/postfix-cmd.log" 2>&1
        if ! _h_wait_dead "$pid" "$((${H_STOP_TIMEOUT:-5} * 10))"; then
            tap_diag "h_postfix_stop: master $pid still alive, killing its process group"
        fi
    fi
    # The master is a session leader (pgid = its PID) and on SIGTERM
    # signals its group itself; give the children a moment, then SIGKILL
    # whatever is left of the group.
    for ((i = 0; i < 20; i++)); do
        [ -z "$(_h_pgroup_pids "$pid")" ] && return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null
    _h_wait_dead "$pid" 20
    [ -z "$(_h_pgroup_pids "$pid")" ]
}

# Live (non-zombie) members of process group $1.
_h_pgroup_pids() {
    ps -e -o pid= -o pgid= -o stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'
}

h_swaks() {
    if [ -z "${H_PF_PORT:-}" ]; then
        tap_diag "h_swaks: no Postfix running (H_PF_PORT unset)"
        return 2
    fi
    # With --server swaks does no MX lookup; --helo avoids guessing our
    # hostname.  The defaults come first so the caller's options win.
    swaks --server 127.0.0.1 --port "$H_PF_PORT" --timeout 10 \
        --helo moat-client.localdomain --from sender@example.org \
        --to user@example.com "$@"
}

# ---------------------------------------------------------------------------
# DNS
# ---------------------------------------------------------------------------

h_dig() {
    local port=$1
    shift
    dig @127.0.0.1 -p "$port" +time=2 +tries=1 "$@"
}

h_start_rbldnsd() {
    _h_need_init || return 1
    local spec zone type files f i=0 new user=() specs=() flist
    H_RBLDNSD_DIR="$H_TMP/rbldnsd"
    mkdir -p "$H_RBLDNSD_DIR"
    chmod 0755 "$H_RBLDNSD_DIR"
    # Copy the data files into a dir the unprivileged rbldnsd user can
    # read (it drops privileges before loading zones, and the caller's
    # files may sit in a dir it cannot enter).
    for spec in "$@"; do
        zone=${spec%%:*}
        type=${spec#*:}
        files=${type#*:}
        type=${type%%:*}
        new=
        IFS=, read -ra flist <<<"$files"
        for f in "${flist[@]}"; do
            i=$((i + 1))
            cp "$f" "$H_RBLDNSD_DIR/$i-${f##*/}" || return 1
            chmod 0644 "$H_RBLDNSD_DIR/$i-${f##*/}"
            new+="${new:+,}$i-${f##*/}"
        done
        specs+=("$zone:$type:$new")
    done
    # rbldnsd refuses to run as root and defaults to user "rbldns".
    if [ "$(id -u)" -eq 0 ]; then
        if getent passwd rbldns >/dev/null; then user=(-u rbldns); else user=(-u nobody); fi
    fi
    # -n: stay in the foreground (we track the PID); -c 1: look for
    # changed files every second; -w: data files are relative to the dir.
    _h_start_server rbldnsd udp \
        rbldnsd -n "${user[@]}" -b "127.0.0.1/@PORT@" -w "$H_RBLDNSD_DIR" -c 1 \
        "${specs[@]}" || return 1
    H_RBLDNSD_PORT=$_H_PORT
    H_RBLDNSD_PID=$_H_PID
}

# Make rbldnsd reload its data files now (after you edited the copies in
# $H_RBLDNSD_DIR).  rbldnsd only reloads files whose mtime changed, which
# a quick edit within the same second would not do, so bump them first.
h_rbldnsd_reload() {
    local log="$H_TMP/logs/rbldnsd.log" before
    # Count before touching: with -c 1 rbldnsd may notice the change itself.
    before=$(grep -c 'zones reloaded' "$log")
    _H_RBL_GEN=$((${_H_RBL_GEN:-0} + 1))
    touch -d "@$(($(date +%s) + _H_RBL_GEN))" "$H_RBLDNSD_DIR"/*
    kill -HUP "$H_RBLDNSD_PID" || return 1
    h_wait_for 5 _h_count_gt 'zones reloaded' "$log" "$before"
}

_h_count_gt() { [ "$(grep -c "$1" "$2")" -gt "$3" ]; }

# h_start_local_unbound NAME ROOT [FILE...]: a private unbound on 127.0.0.1
# that answers only from the "server:" lines in FILEs (local-zone,
# local-data); every other name gets the root local-zone's type ROOT:
# "static" (NXDOMAIN, a fast "not listed") or "refuse". Answers keep the
# order written (no round robin), so a test's records read back as given.
# -> H_LOCAL_UNBOUND_PORT
h_start_local_unbound() {
    _h_need_init || return 1
    local name=$1 root=$2 dir port pid
    shift 2
    dir=$H_TMP/unbound-$name
    mkdir -p "$dir"
    port=$(h_free_port) || return 1
    {
        cat <<EOF
server:
  interface: 127.0.0.1
  port: $port
  do-ip6: no
  num-threads: 1
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$dir"
  pidfile: "$dir/unbound.pid"
  logfile: "$dir/unbound.log"
  use-syslog: no
  access-control: 127.0.0.0/8 allow
  outgoing-interface: 127.0.0.1
  module-config: "iterator"
  rrset-roundrobin: no
  local-zone: "." $root
EOF
        [ $# -gt 0 ] && cat "$@"
        printf 'remote-control:\n  control-enable: no\n'
    } >"$dir/unbound.conf"
    unbound -d -c "$dir/unbound.conf" </dev/null >>"$H_TMP/logs/unbound-$name.log" 2>&1 &
    pid=$!
    h_track $pid unbound
    h_wait_udp_port "$port" 30 $pid || return 1
    H_LOCAL_UNBOUND_PORT=$port
}

# h_start_unbound ZONE@PORT...: a private caching resolver on 127.0.0.1.
# Each ZONE is forwarded to 127.0.0.1@PORT; everything else is answered
# REFUSED locally, so unbound never tries to reach the root servers.
h_start_unbound() {
    _h_need_init || return 1
    local arg zone port conf fwd="" lz=""
    H_UNBOUND_DIR="$H_TMP/unbound"
    mkdir -p "$H_UNBOUND_DIR"
    conf="$H_UNBOUND_DIR/unbound.conf"
    _h_port_range
    for arg in "$@"; do
        zone=${arg%@*}
        port=${arg##*@}
        zone=${zone%.}.
        # A local-zone "." refuse would also swallow the forwarded names
        # (the most specific local-zone wins, and e.g. "test." is one of
        # unbound's built-in static zones), so each forwarded zone gets
        # its own transparent local-zone.
        lz+="  local-zone: \"$zone\" transparent"$'\n'
        fwd+="forward-zone:"$'\n'"  name: \"$zone\""$'\n'
        fwd+="  forward-addr: 127.0.0.1@$port"$'\n'
        # Do not cache forwarded data: tests change zone data on the fly.
        fwd+="  forward-no-cache: yes"$'\n'
    done
    cat >"$conf.in" <<EOF
# Private unbound for moat tests (generated by t/lib/harness.sh).
server:
  verbosity: 1
  interface: 127.0.0.1
  port: __PORT__
  do-ip4: yes
  do-ip6: no
  do-udp: yes
  do-tcp: yes
  num-threads: 1
  # Foreground, as the invoking user, no chroot: we track the PID and
  # everything lives in our temp dir.
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$H_UNBOUND_DIR"
  pidfile: "$H_UNBOUND_DIR/unbound.pid"
  logfile: "$H_UNBOUND_DIR/unbound.log"
  use-syslog: no
  access-control: 127.0.0.0/8 allow
  # The test servers are on 127.0.0.1, which unbound skips by default.
  do-not-query-localhost: no
  # Queries leave from 127.0.0.1, which can only reach loopback, and
  # never from a port in the harness's port pool.
  outgoing-interface: 127.0.0.1
  outgoing-port-avoid: $_H_PORT_LO-$_H_PORT_HI
  # No validator module and no trust anchor: nothing to fetch at startup.
  module-config: "iterator"
  # Answer every name outside the forwarded zones with REFUSED, so no
  # query is ever sent towards the (unreachable) root servers.
  local-zone: "." refuse
$lz  # Keep negative answers short-lived as well.
  cache-max-negative-ttl: 1
remote-control:
  control-enable: no
$fwd
EOF
    _h_start_server unbound "udp tcp" \
        sh -c 'sed "s/__PORT__/$1/" "$2.in" >"$2" && exec unbound -d -c "$2"' \
        unbound @PORT@ "$conf" || return 1
    H_UNBOUND_PORT=$_H_PORT
    H_UNBOUND_PID=$_H_PID
}

# A tiny DNS server in perl (perl-base only) for two failure modes:
#   blackhole - read queries (UDP and TCP) and never answer
#   servfail  - answer every query with the question copied, QR set and
#               RCODE 2 (SERVFAIL)
_h_fakedns_script() {
    local f="$H_TMP/fakedns.pl"
    [ -f "$f" ] || cat >"$f" <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my ($mode, $port) = @ARGV;
$SIG{TERM} = $SIG{INT} = sub { exit 0 };
my $udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                Proto => 'udp') or die "udp bind $port: $!\n";
my $tcp = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                Proto => 'tcp', Listen => 16, ReuseAddr => 1)
    or die "tcp bind $port: $!\n";
my $sel = IO::Select->new($udp, $tcp);
my %buf;

# Build the SERVFAIL answer for query $q (undef if it is garbage).
sub servfail {
    my ($q) = @_;
    return undef if length($q) < 12;
    my ($id, $flags, $qdcount) = unpack('n n n', $q);
    my $question = '';
    if ($qdcount >= 1) {
        my $off = 12;
        while (1) {
            return undef if $off >= length($q);
            my $len = ord(substr($q, $off, 1));
            $off += 1 + $len;
            last if $len == 0;
            return undef if $len > 63;
        }
        return undef if $off + 4 > length($q);
        $question = substr($q, 12, $off + 4 - 12);
    }
    # QR, copy opcode/RD/CD, RA, RCODE=2
    my $rflags = 0x8000 | ($flags & 0x7910) | 0x0080 | 2;
    return pack('n6', $id, $rflags, $question eq '' ? 0 : 1, 0, 0, 0) . $question;
}

while (1) {
    for my $fh ($sel->can_read) {
        if ($fh == $udp) {
            my $peer = $udp->recv(my $q, 65535);
            next if !defined $peer || $mode eq 'blackhole';
            my $r = servfail($q);
            $udp->send($r, 0, $peer) if defined $r;
        } elsif ($fh == $tcp) {
            my $c = $tcp->accept or next;
            $sel->add($c);
            $buf{$c} = '';
        } else {
            my $n = sysread($fh, my $d, 65535);
            if (!$n) {
                $sel->remove($fh);
                delete $buf{$fh};
                close $fh;
                next;
            }
            next if $mode eq 'blackhole';    # keep the connection, say nothing
            $buf{$fh} .= $d;
            while (length($buf{$fh}) >= 2) {
                my $len = unpack('n', $buf{$fh});
                last if length($buf{$fh}) < 2 + $len;
                my $q = substr($buf{$fh}, 2, $len);
                substr($buf{$fh}, 0, 2 + $len, '');
                my $r = servfail($q);
                syswrite($fh, pack('n', length $r) . $r) if defined $r;
            }
        }
    }
}
PERL
    echo "$f"
}

h_start_dns_blackhole() {
    _h_need_init || return 1
    _h_start_server dns-blackhole "udp tcp" \
        perl "$(_h_fakedns_script)" blackhole @PORT@ || return 1
    H_BLACKHOLE_PORT=$_H_PORT
    H_BLACKHOLE_PID=$_H_PID
}

h_start_dns_servfail() {
    _h_need_init || return 1
    _h_start_server dns-servfail "udp tcp" \
        perl "$(_h_fakedns_script)" servfail @PORT@ || return 1
    H_SERVFAIL_PORT=$_H_PORT
    H_SERVFAIL_PID=$_H_PID
}
