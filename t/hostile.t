#!/bin/bash
# hostile.t - hostile mail through the scanner and the content filter:
# 50 MB, 10,000 parts, multipart and message/rfc822 nesting 10,000 deep, 100,000 header lines, a 1 MB
# header line, broken base64/QP, NUL bytes, invalid UTF-8. Each is scanned
# in bounded memory and time, and through Postfix + milter each is either
# accepted with an X-Spamd-Result or tempfailed by policy: never a crash,
# never an accidental reject, never lost.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink
[ -x /usr/bin/time ] || tap_skip_all "/usr/bin/time not installed"
cases="big parts deep deep822 headers longhdr badenc nul utf8 polhdr"
# Peak RSS bound: the 50 MB message is read whole by moatctl and 20 MB of it
# (scan_size_limit) is kept by the milter; the sanitizers' shadow memory and
# quarantine roughly triple that.
rss_mb=200
secs=20
if ldd "$(m_bin moatctl)" 2>/dev/null | grep -q libasan; then rss_mb=600 secs=60; fi
m_quiet_zones
mkdir -p "$H_TMP/mail"
for c in $cases; do perl "$MOAT_SRCDIR/t/lib/hostile-gen.pl" "$c" "$H_TMP/mail/$c.eml"; done
tap_ok "the big message is 50 MB" test "$(stat -c %s "$H_TMP/mail/big.eml")" -ge $((50 * 1024 * 1024))

# 1. moatctl scan: the milter's scan code, timed and measured.
for c in $cases; do
	rc=0
	/usr/bin/time -o "$H_TMP/time" -f "time=%e rss=%M" timeout 120 "$(m_bin moatctl)" \
		-o state_directory="$H_TMP/state" scan --no-dns "$H_TMP/mail/$c.eml" >"$H_TMP/out" 2>&1 ||
		rc=$?
	out=$(tr -d '\0' <"$H_TMP/out"; cat "$H_TMP/time")
	t=$(sed -n 's/^time=\([0-9.]*\) rss=\([0-9]*\)$/\1/p' <<<"$out")
	r=$(sed -n 's/^time=\([0-9.]*\) rss=\([0-9]*\)$/\2/p' <<<"$out")
	act=$(sed -n 's/^Action: //p' <<<"$out")
	tap_note "scan $c: ${t}s, peak RSS ${r} kB, action $act"
	tap_ok "scan $c: exit 0, an action other than reject, ${t}s < ${secs}s, ${r} kB < $rss_mb MB" \
		test "$rc" = 0 -a -n "$act" -a "$act" != reject -a -n "$t" -a -n "$r" \
		-a "${t%.*}" -lt "$secs" -a "${r:-999999999}" -lt $((rss_mb * 1024))
	# Bounded because the depth limit (20) stopped the parse, and the result says so.
	case $c in deep | deep822)
		tap_like "$out" "Symbol: MOAT_MIME_LIMITS" "scan $c: the depth limit fired (MOAT_MIME_LIMITS)"
		n=$(grep -oE '[0-9]+:[^], ]+' <<<"$(grep '^Symbol: MIME_TRACE' <<<"$out")" | wc -l)
		tap_ok "scan $c: the parts seen stop at the limit ($n <= 21)" test "$n" -ge 2 -a "$n" -le 21
		;;
	esac
done

# 2. The same through Postfix and the content filter.
tap_ok "moat-contentfilter starts" m_start_contentfilter
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail" \
	"message_size_limit = 62914560" "milter_content_timeout = 120s"
accepted=0
for c in $cases; do
	out=$(h_swaks --data "@$H_TMP/mail/$c.eml" --timeout 120 --suppress-data 2>&1 | tr -d "\\0")
	if [[ $out =~ \<-\ +250\ 2\.0\.0\ Ok:\ queued ]]; then
		accepted=$((accepted + 1))
		tap_ok "smtp $c: accepted" true
	elif [[ $out =~ \<\*\*\ +451\ 4\.7\.1\ Greylisted ]]; then
		tap_ok "smtp $c: tempfailed by policy (greylist)" true
	elif [ "$c" = polhdr ] && [[ $out =~ \<\*\*\ +451\ 4\.7\.0\ Too\ many\ X-Moat-Policy ]]; then
		tap_ok "smtp $c: tempfailed by policy (forged X-Moat-Policy flood)" true
	else
		tap_ok "smtp $c: accepted or greylisted" bash -c 'echo "$1"; exit 1' _ "$(tail -5 <<<"$out")"
	fi
done
tap_ok "the content filter is still the same process" _h_alive "$M_MILTER_PID"
tap_ok "every accepted message arrived ($accepted)" h_sink_wait "$accepted" 60
missing=0
for f in $(h_sink_files); do
	grep -qm1 '^X-Spamd-Result: ' "$f" || missing=$((missing + 1))
done
tap_is "$missing" 0 "each delivered message carries X-Spamd-Result"
tap_ok "the 50 MB message arrived whole, marked MOAT_TOO_BIG" \
	bash -c 'f=$(grep -l "^Message-ID: <hostile-big@moat.test>" '"$H_SINK_DIR"'/* | head -1);
		[ -n "$f" ] && [ "$(stat -c %s "$f")" -gt 52428800 ] &&
		grep -q "MOAT_TOO_BIG" "$f"'
maxms=$(grep -o 'scan=[0-9.]*ms' "$M_MILTER_LOG" | tr -dc '0-9.\n' | sort -n | tail -1)
tap_note "moat-contentfilter's longest scan: ${maxms} ms"
tap_ok "the milter scanned each within ${secs}s (longest ${maxms} ms)" \
	test -n "$maxms" -a "${maxms%.*}" -lt $((secs * 1000))
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$M_MILTER_PID/status")
tap_note "moat-contentfilter peak RSS after all cases: $hwm kB"
tap_ok "content filter peak RSS $hwm kB < $rss_mb MB" test "${hwm:-999999999}" -lt $((rss_mb * 1024))
h_postfix_stop
h_stop "$M_MILTER_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
