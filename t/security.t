#!/bin/bash
# security.t - what outside text can do to moat: values written into
# headers or policy replies stay one header / one line (CR LF + "X-Injected:"
# from message, request and settings alike); SQL is never built from input;
# the database and state directory are not world-readable; the daemons do not
# process mail as root (once privilege drop exists).
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
db=$H_TMP/state/moat.db
m_quiet_zones

# 1. Header values from the content filter.
if command -v miltertest >/dev/null; then
	sqlite3 "$db" "UPDATE actions SET threshold = NULL WHERE name <> 'rewrite subject';
		UPDATE actions SET threshold = -100 WHERE name = 'rewrite subject';
		UPDATE settings SET value = 'X-Spam: Yes' || char(13, 10) || 'X-Injected: setting'
			WHERE name = 'spam_header';
		UPDATE settings SET value = '[SPAM]' || char(13, 10) || 'X-Injected: pattern %s'
			WHERE name = 'subject_rewrite';"
	tap_ok "moat-contentfilter starts" m_start_contentfilter
	tap_ok "CR LF in the subject pattern, the spam header and the message: every header stays one" \
		env MOAT_MILTER_PORT="$M_MILTER_PORT" miltertest -s "$MOAT_SRCDIR/t/data/milter/inject.lua"
	h_stop "$M_MILTER_PID"
else
	tap_skip "miltertest not installed" 2
fi

# 2. Policy replies: the recipient domain is quoted by greylist_text (%r).
tap_ok "moat-policyd starts" m_start_policyd -o 'greylist_text=Greylisted for %r'
exec {c}<>"/dev/tcp/127.0.0.1/$M_POLICY_PORT"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.7\nsender=a@sender.example\nrecipient=bob@exa\rX-Injected: rcpt\r\n\n' >&"$c"
IFS= read -r -t 5 l1 <&"$c"
IFS= read -r -t 5 l2 <&"$c"
exec {c}>&-
tap_like "$l1" '^action=DEFER_IF_PERMIT 4\.7\.1 Greylisted for exa X-Injected: rcpt$' \
	"a CR in the request does not reach the reply: one action line"
tap_is "$l2" "" "...ended by the empty line"
h_stop "$M_POLICYD_PID"

# 3. SQL: every statement is a constant with bound parameters.
src=$(cd "$MOAT_SRCDIR" && ls shared/*/*.c policyd/*.c contentfilter/*.c moatctl/*.c)
tap_is "$(cd "$MOAT_SRCDIR" && grep -nE 'sqlite3_(v?mprintf|snprintf)|%[qQw]' $src | grep -v '^\s*\*')" "" \
	"no SQL text is formatted (sqlite3_mprintf, %q)"
tap_is "$(cd "$MOAT_SRCDIR" && grep -nE '(s?n?printf|sbuf_printf)\([^;]*"[^"]*\b(SELECT|INSERT|UPDATE|DELETE|REPLACE|PRAGMA) ' $src |
	grep -v 'PRAGMA user_version = %d')" "" \
	"no SQL statement is built with printf (the schema-version bump takes an int)"

# 4. Files: the database holds senders, recipients and subjects.
mode() { stat -c %a "$1"; }
tap_like "$(mode "$db")" '^6[04]0$' "the database is 0640 or 0600 ($(mode "$db"))"
rm -rf "$H_TMP/fresh"
m_ctl -o state_directory="$H_TMP/fresh/state" migrate >/dev/null
tap_is "$(mode "$H_TMP/fresh/state")" 750 "a state directory moat creates is 0750"
tap_like "$(mode "$H_TMP/fresh/state/moat.db")" '^6[04]0$' "...and a database it creates 0640 even with umask 022"
sock=$H_TMP/state/policy.sock
"$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/state" -o policy_listen="unix:$sock" -o run_as="$(id -un)" \
	-o dns_servers=127.0.0.1:1 >>"$H_TMP/logs/policyd-unix.log" 2>&1 &
upid=$!
h_track "$upid" moat-policyd
tap_ok "moat-policyd on a unix socket" h_wait_log "ready: listening" 10 "$H_TMP/logs/policyd-unix.log"
tap_note "policy socket mode: $(mode "$sock")"
tap_ok "the socket is not writable by others" test $(($(stat -c '%#a' "$sock") & 2)) = 0
# The WAL and its index exist only while a daemon holds the database: look now.
for f in "$db-wal" "$db-shm"; do
	tap_ok "$(basename "$f") exists while moat-policyd holds the database" test -e "$f"
	tap_like "$(mode "$f" 2>/dev/null)" '^6[04]0$' "...and is not world-readable ($(mode "$f" 2>/dev/null))"
done

# 5. Not root: started as root, both daemons process mail as run_as.
h_stop "$upid"
for prog in policyd contentfilter; do
	tap_ok "moat-$prog starts as root with run_as = nobody" \
		m_start_$prog -o run_as=nobody -o state_directory="$H_TMP/state-$prog"
	[ $prog = policyd ] && pid=$M_POLICYD_PID || pid=$M_MILTER_PID
	euid=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
	tap_is "$euid" "$(id -u nobody)" "moat-$prog processes mail with nobody's effective uid"
	h_stop "$pid"
done
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
