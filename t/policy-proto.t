#!/bin/bash
# policy-proto.t - moat-policyd's protocol handling against a real daemon:
# split and pipelined requests, oversized and garbage input, clients that
# vanish or stall, idle timeout, many connections, the database failing.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
# The server closes connections we are still writing to: EPIPE, not death.
trap '' PIPE

req() { # req CLIENT RCPT [STATE] -> a full request text
	printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=unknown\nhelo_name=x.example\nsender=s@example.org\nrecipient=%s\nqueue_id=\ninstance=1.2.3\nsome_future_attribute=ignored\n\n' \
		"${3:-RCPT}" "$1" "$2"
}
# read_replies FD N: print the action lines of N replies (or stop at EOF/timeout)
read_replies() {
	local fd=$1 n=$2 line
	while [ "$n" -gt 0 ] && IFS= read -r -t 5 line <&"$fd"; do
		if [ -z "$line" ]; then n=$((n - 1)); else echo "$line"; fi
	done
}
# eof FD: succeed if the server closed the connection
eof() { ! IFS= read -r -t 5 _ <&"$1"; }

tap_ok "moat-policyd starts" m_start_policyd -o policy_line_limit=512 \
	-o policy_request_limit=4096 -o policy_attribute_limit=40 -o policy_idle_timeout=2s \
	-o greylist_delay=300 -o db_busy_timeout=1s
P=$M_POLICY_PORT

exec {a}<>"/dev/tcp/127.0.0.1/$P"
r=$(req 192.0.2.1 one@example.com; echo .)
r=${r%.}	# keep the request's closing empty line
printf '%s' "${r:0:50}" >&"$a"
sleep 0.3
printf '%s' "${r:50}" >&"$a"
tap_like "$(read_replies $a 1)" "^action=DEFER_IF_PERMIT 4\.7\.1 Greylisted, please try again in 300 seconds$" \
	"a request split across reads is answered once whole"
{ req 192.0.2.1 one@example.com; req 192.0.2.1 two@example.com DATA; req 192.0.2.1 three@example.com; } >&"$a"
# (the first repeats the triplet above: a second may have passed since)
tap_like "$(read_replies $a 3 | tr '\n' '|')" \
	"^action=DEFER_IF_PERMIT 4\.7\.1 Greylisted, please try again in (300|299) seconds\|action=DUNNO\|action=DEFER_IF_PERMIT 4\.7\.1 Greylisted, please try again in 300 seconds\|$" \
	"three requests in one write: three replies in order (DATA state is DUNNO)"

# A stalled client (half a request, then silence) does not hold up others.
exec {s}<>"/dev/tcp/127.0.0.1/$P"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_addr' >&"$s"
exec {b}<>"/dev/tcp/127.0.0.1/$P"
t0=$(date +%s%N)
req 192.0.2.2 x@example.com >&"$b"
out=$(read_replies $b 1)
ms=$((($(date +%s%N) - t0) / 1000000))
tap_like "$out" "^action=DEFER_IF_PERMIT" "a stalled client does not block another"
tap_ok "...which is answered at once (${ms} ms)" test "$ms" -lt 1000

# Over the limits, or not the protocol: logged, connection closed.
exec {c}<>"/dev/tcp/127.0.0.1/$P"
printf 'request=%0600d\n' 0 >&"$c"
tap_ok "a line over policy_line_limit closes the connection" eof $c
tap_ok "...and is logged" h_wait_log "line longer than 512 bytes; closing it" 5 "$M_POLICYD_LOG"
exec {c}<>"/dev/tcp/127.0.0.1/$P"
for i in $(seq 1 45); do printf 'a%d=b\n' $i; done >&"$c" 2>/dev/null
tap_ok "more attributes than policy_attribute_limit closes the connection" eof $c
tap_ok "...and is logged" h_wait_log "more than 40 attributes; closing it" 5 "$M_POLICYD_LOG"
exec {c}<>"/dev/tcp/127.0.0.1/$P"
for i in $(seq 1 30); do printf 'attribute%d=%0150d\n' $i 0; done >&"$c" 2>/dev/null
tap_ok "a request over policy_request_limit closes the connection" eof $c
tap_ok "...and is logged" h_wait_log "request larger than 4096 bytes; closing it" 5 "$M_POLICYD_LOG"
exec {c}<>"/dev/tcp/127.0.0.1/$P"
printf 'GET / HTTP/1.0\r\n\r\n' >&"$c"
tap_ok "garbage (an HTTP request) closes the connection" eof $c
tap_ok "...and is logged" h_wait_log "malformed attribute line \"GET / HTTP/1.0\"; closing it" 5 "$M_POLICYD_LOG"
exec {c}<>"/dev/tcp/127.0.0.1/$P"
printf 'request=smtpd_access_policy\nsender=a\0b\n\n' >&"$c"
tap_ok "a NUL byte closes the connection" eof $c
exec {c}<>"/dev/tcp/127.0.0.1/$P"
printf '\n' >&"$c"
tap_ok "an empty request closes the connection" eof $c

# A client that leaves mid-request.
exec {c}<>"/dev/tcp/127.0.0.1/$P"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\n' >&"$c"
exec {c}>&-
tap_ok "a client gone mid-request is logged" h_wait_log "closed in the middle of a request" 5 "$M_POLICYD_LOG"

# Idle connections time out (policy_idle_timeout=2s).
exec {i}<>"/dev/tcp/127.0.0.1/$P"
t0=${EPOCHREALTIME/./}
tap_ok "an idle connection is closed by the server" eof $i
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
tap_ok "...after about policy_idle_timeout (${ms}ms)" test $ms -le 4000
# Whole seconds: idle for 2 means more than 1s; a timeout ignored closes at
# the next once-a-second sweep.
tap_ok "...and not before: more than 1s (${ms}ms)" test $ms -ge 1000

# Many connections at once, all answered.
fds=()
for n in $(seq 1 1000); do
	exec {f}<>"/dev/tcp/127.0.0.1/$P" || break
	fds+=("$f")
done
for n in "${!fds[@]}"; do req "198.51.100.$((n % 250 + 1))" "m$n@example.com" >&"${fds[$n]}"; done
good=0
for f in "${fds[@]}"; do
	[[ $(read_replies "$f" 1) == action=DEFER_IF_PERMIT* ]] && good=$((good + 1))
	exec {f}>&-
done
tap_is "$good" 1000 "1000 simultaneous connections all answered"

tap_ok "the daemon is still alive after all that" kill -0 "$M_POLICYD_PID"
tap_like "$(m_policy_query $P request=smtpd_access_policy protocol_state=RCPT client_address=not-an-ip sender=a@b recipient=c@d)" \
	"^DUNNO$" "an unparsable client address gets DUNNO"
tap_like "$(m_policy_query $P request=smtpd_access_policy protocol_state=RCPT client_address=192.0.2.9 sender=a@b)" \
	"^DUNNO$" "a request without a recipient gets DUNNO"

# The database fails (locked by someone else past db_busy_timeout).
db=$H_TMP/state/moat.db
# lock_db SECONDS: hold the write lock (the sqlite3 shell inside a transaction).
lock_db() {
	rm -f "$H_TMP/locked"
	(echo ".timeout 5000"; echo "BEGIN EXCLUSIVE;"; echo "SELECT 'locked';"; sleep "$1"; echo "COMMIT;") |
		sqlite3 "$db" >"$H_TMP/locked" 2>>"$H_TMP/logs/locker.err" &
	locker=$!
	h_wait_for 10 grep -q locked "$H_TMP/locked"
}
lock_db 4
tap_is "$(m_policy_query $P request=smtpd_access_policy protocol_state=RCPT client_address=203.0.113.1 sender=a@b.example recipient=new@example.com)" \
	"DUNNO" "database locked: the answer is DUNNO (policy_db_failure_action default)"
tap_is "$(grep -c 'answering DUNNO until it works again' "$M_POLICYD_LOG")" 1 \
	"...and the failure is logged once"
tap_ok "...naming the lock" h_wait_log "error: NOQUEUE: greylist store: .*database is locked" 5 "$M_POLICYD_LOG"
wait $locker
tap_like "$(m_policy_query $P request=smtpd_access_policy protocol_state=RCPT client_address=203.0.113.1 sender=a@b.example recipient=new@example.com)" \
	"^DEFER_IF_PERMIT 4\.7\.1" "database back: greylisting works again"
tap_ok "...and that is logged" h_wait_log "greylist database works again" 5 "$M_POLICYD_LOG"

# Same with policy_db_failure_action = defer_if_permit, on a second daemon.
h_stop "$M_POLICYD_PID"
tap_ok "moat-policyd restarts with defer_if_permit on failure" m_start_policyd \
	-o policy_db_failure_action=defer_if_permit -o db_busy_timeout=1s
lock_db 3
# (a triplet never seen: one seen before needs no write and is answered)
tap_like "$(m_policy_query $M_POLICY_PORT request=smtpd_access_policy protocol_state=RCPT client_address=198.18.7.1 sender=other@b.example recipient=other@example.com)" \
	"^DEFER_IF_PERMIT 4\.3\.0 " "database locked: DEFER_IF_PERMIT when so configured"
wait $locker

h_stop "$M_POLICYD_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
