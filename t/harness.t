#!/bin/bash
# shellcheck disable=SC2016,SC2012  # literal $ in single quotes; ls | wc is fine here
#
# t/harness.t -- self-test of t/lib/harness.sh: every helper really
# starts what it promises, the servers answer as expected, and everything
# is stopped and removed again.

# Under automake the script may be run as $(srcdir)/t/harness.t from a
# build dir; srcdir may point at the top dir or at t/.
for _d in "$(dirname "$0")/lib" "${srcdir:-.}/t/lib" "${srcdir:-.}/lib"; do
    if [ -f "$_d/harness.sh" ]; then
        # shellcheck source=t/lib/harness.sh
        . "$_d/harness.sh"
        break
    fi
done
if [ -z "${H_LIB_FILE:-}" ]; then
    echo "Bail out! cannot find lib/harness.sh"
    exit 1
fi

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (private Postfix master)"
for _p in smtp-sink swaks postfix postconf postqueue rbldnsd unbound dig perl ss; do
    command -v "$_p" >/dev/null 2>&1 || tap_skip_all "$_p not installed"
done

h_init

MAINCF_SUM=$(md5sum </etc/postfix/main.cf)
NOW_MS() { echo $(($(date +%s%N) / 1000000)); }
alive() { _h_alive "$1"; }
# "NAME PID" for every test server, to check they are all gone at the end.
STARTED=()

# ---------------------------------------------------------------------------
# TAP helpers, checked from a child script
# ---------------------------------------------------------------------------

run_child() { # run_child SCRIPT-BODY -> CHILD_OUT CHILD_ERR CHILD_RC
    printf '. %q\n%s\n' "$H_LIB_FILE" "$1" >"$H_TMP/child.sh"
    CHILD_RC=0
    # The TAP helpers' plain behaviour; MOAT_REQUIRE_ALL (CI's) is tried below on purpose.
    if [ -n "${REQUIRE_ALL:-}" ]; then
        MOAT_REQUIRE_ALL=1 bash "$H_TMP/child.sh" >"$H_TMP/child.out" 2>"$H_TMP/child.err" ||
            CHILD_RC=$?
    else
        env -u MOAT_REQUIRE_ALL bash "$H_TMP/child.sh" >"$H_TMP/child.out" \
            2>"$H_TMP/child.err" || CHILD_RC=$?
    fi
    CHILD_OUT=$(cat "$H_TMP/child.out")
    CHILD_ERR=$(cat "$H_TMP/child.err")
}

run_child '
tap_plan 6
tap_ok "passes" true
tap_ok "fails" false
tap_is a a "is"
tap_like "hello world" "^hel+o w" "like"
tap_ok "has # hash" true
tap_skip "not here"
tap_done'
tap_is "$CHILD_OUT" "1..6
ok 1 - passes
not ok 2 - fails
ok 3 - is
ok 4 - like
ok 5 - has \\# hash
ok 6 # SKIP not here" "TAP: plan, ok, not ok, is, like, escaped #, skip"
tap_is "$CHILD_RC" 1 "TAP: exit status = number of failures"
tap_like "$CHILD_ERR" "Looks like you failed 1 test\(s\) of 6" "TAP: failure summary on stderr"

run_child '
tap_is foo bar "differs"
tap_ok "output shown on failure" sh -c "echo some-output; exit 3"
tap_ok "passes" true
tap_done'
tap_is "$CHILD_OUT" "not ok 1 - differs
not ok 2 - output shown on failure
ok 3 - passes
1..3" "TAP: no plan -> plan printed by tap_done"
tap_like "$CHILD_ERR" "got: 'foo'.*expected: 'bar'.*some-output" "TAP: diagnostics for tap_is and tap_ok"

run_child 'tap_plan 3; tap_ok one true; tap_done'
tap_is "$CHILD_RC" 255 "TAP: plan mismatch fails"

run_child 'tap_skip_all "no frobnicator"; echo notreached'
tap_is "$CHILD_OUT/$CHILD_RC" "1..0 # SKIP no frobnicator/0" "TAP: tap_skip_all"

# Under MOAT_REQUIRE_ALL=1, as ./bootstrap check (so CI) runs, a skip is a failure.
REQUIRE_ALL=1 run_child 'tap_plan 1; tap_skip "not here"; tap_done'
tap_like "$CHILD_OUT/$CHILD_RC" "^1\.\.1"$'\n'"not ok 1 - not skipped \(MOAT_REQUIRE_ALL=1\): not here/1$" \
    "TAP: MOAT_REQUIRE_ALL=1 makes tap_skip fail"
REQUIRE_ALL=1 run_child 'tap_skip_all "no frobnicator"; echo notreached'
tap_ok "TAP: ...and tap_skip_all fails too (exit $CHILD_RC, no SKIP plan)" \
    test "$CHILD_RC" -ne 0 -a "${CHILD_OUT#1..0 # SKIP}" = "$CHILD_OUT"

# ---------------------------------------------------------------------------
# h_init, ports
# ---------------------------------------------------------------------------

tap_like "$H_TMP" '^/tmp/moat-t\.[A-Za-z0-9]{6}$' "h_init: H_TMP=$H_TMP"
tap_is "$(stat -c %a "$H_TMP")" 711 "h_init: H_TMP is a private dir (0711)"

P1=$(h_free_port)
P2=$(h_free_port)
tap_like "$P1" '^[0-9]+$' "h_free_port: $P1"
tap_ok "h_free_port: $P1 in 20000-60999" test "$P1" -ge 20000 -a "$P1" -le 60999
tap_is "$(ss -Htuna "( sport = :$P1 )")" "" "h_free_port: nothing uses $P1 (ss)"
tap_ok "h_free_port: $P1 bindable for TCP and UDP" _h_port_bindable "$P1"
tap_ok "h_free_port: second call gives another port ($P2)" test "$P1" != "$P2"
tap_ok "h_free_port: reservation visible to parallel tests" test -e "$H_TMP/ports/$P1"

T0=$(NOW_MS)
tap_ok "h_wait_port: fails for a closed port" sh -c "! (. '$H_LIB_FILE'; h_wait_port $P1 1)"
tap_ok "h_wait_port: gives up after ~1 s" test $(($(NOW_MS) - T0)) -lt 3000

# ---------------------------------------------------------------------------
# smtp-sink
# ---------------------------------------------------------------------------

tap_ok "h_start_smtp_sink" h_start_smtp_sink
STARTED+=("smtp-sink $H_SINK_PID")
tap_ok "smtp-sink: PID $H_SINK_PID alive" alive "$H_SINK_PID"
tap_ok "smtp-sink: listening on $H_SINK_PORT" h_wait_port "$H_SINK_PORT" 2
tap_is "$(h_sink_count)" 0 "smtp-sink: no messages yet"
tap_ok "smtp-sink: swaks delivers directly" \
    swaks --server 127.0.0.1 --port "$H_SINK_PORT" --timeout 10 --helo harness.test \
    --from a@example.org --to b@example.com --header "Subject: direct-to-sink-$$"
tap_ok "smtp-sink: h_sink_wait 1" h_sink_wait 1 5
tap_is "$(h_sink_count)" 1 "smtp-sink: h_sink_count = 1"
tap_ok "smtp-sink: saved message has the Subject" grep -q "^Subject: direct-to-sink-$$" "$(h_sink_last)"

# A transaction in progress has a (still empty, open) file but is not
# counted until the final "."
exec 3<>"/dev/tcp/127.0.0.1/$H_SINK_PORT"
printf 'EHLO harness.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: slow-%s\r\n\r\nbody\r\n' $$ >&3
h_wait_for 5 sh -c "test \$(ls '$H_SINK_DIR' | wc -l) -eq 2"
tap_is "$(ls "$H_SINK_DIR" | wc -l)/$(h_sink_count)" "2/1" "smtp-sink: open transaction not counted"
printf '.\r\nQUIT\r\n' >&3
tap_ok "smtp-sink: ... but counted once finished" h_sink_wait 2 5
exec 3>&-
tap_ok "smtp-sink: h_sink_last is the newest" grep -q "^Subject: slow-$$" "$(h_sink_last)"

# ---------------------------------------------------------------------------
# Postfix
# ---------------------------------------------------------------------------

tap_ok "h_postfix_system_setup" h_postfix_system_setup
T0=$(NOW_MS)
tap_ok "h_start_postfix" h_start_postfix 'smtpd_banner = $myhostname ESMTP moat-harness-banner' \
    'smtpd_helo_required = yes'
tap_note "postfix started in $(($(NOW_MS) - T0)) ms"
STARTED+=("postfix-master $H_PF_MASTER_PID")
PF_MASTER=$H_PF_MASTER_PID
tap_ok "postfix: master $H_PF_MASTER_PID alive" alive "$H_PF_MASTER_PID"
tap_is "$H_PF_DIR|$H_PF_LOG" "$H_TMP/postfix/conf|$H_TMP/postfix/maillog" "postfix: H_PF_DIR, H_PF_LOG"
tap_is "$(ss -Hltn "( sport = :$H_PF_PORT )" | awk '{print $4}')" "127.0.0.1:$H_PF_PORT" \
    "postfix: smtpd on 127.0.0.1:$H_PF_PORT only"
tap_is "$(ss -Hltnp | grep -c "pid=$H_PF_MASTER_PID,")" 1 "postfix: master listens on nothing else"
tap_is "$(h_postfix_postconf -h queue_directory)" "$H_TMP/postfix/queue" "postfix: private queue_directory"
tap_is "$(h_postfix_postconf -h relayhost)" "[127.0.0.1]:$H_SINK_PORT" "postfix: relayhost is the sink"
tap_is "$(h_postfix_postconf -h smtpd_banner)" '$myhostname ESMTP moat-harness-banner' \
    "postfix: extra main.cf line replaced the default"
tap_is "$(h_postfix_postconf -h smtpd_helo_required)" yes "postfix: extra main.cf line added"
tap_is "$(h_postfix_postconf -n 2>&1 | grep -c warning)" 0 "postfix: no config warnings"
tap_is "$(grep -c 'chroot\| y ' "$H_PF_DIR/master.cf")" 0 "postfix: no chroot in master.cf"

SWAKS_OUT=$(h_swaks --header "Subject: via-postfix-$$" 2>&1)
tap_is "$?" 0 "postfix: h_swaks accepted"
tap_like "$SWAKS_OUT" "220 moat-test.localdomain ESMTP moat-harness-banner" "postfix: banner via swaks"
tap_ok "postfix: relayed message arrives at the sink" h_sink_wait 3 15
tap_ok "postfix: relayed message has the Subject" grep -q "^Subject: via-postfix-$$" "$(h_sink_last)"
tap_ok "postfix: ... and Postfix's Received header" \
    grep -q "by moat-test.localdomain (Postfix)" "$(h_sink_last)"
tap_ok "postfix: maillog shows status=sent" h_wait_log "status=sent" 5
tap_ok "postfix: maillog uses syslog_name postfix-moat-test" \
    grep -q "postfix-moat-test/smtpd\[" "$H_PF_LOG"

SWAKS_OUT=$(h_swaks --xclient-addr 192.0.2.1 --header "Subject: relay-denied" 2>&1)
tap_ok "postfix: relay from a foreign client (XCLIENT) refused" test $? -ne 0
tap_like "$SWAKS_OUT" "554 5\.7\.1 .*Access denied" "postfix: ... with 554 5.7.1"
tap_ok "h_postfix_flush" h_postfix_flush
tap_ok "postfix: queue empty" sh -c "postqueue -c '$H_PF_DIR' -p | grep -q 'Mail queue is empty'"

# ---------------------------------------------------------------------------
# rbldnsd
# ---------------------------------------------------------------------------

printf ':127.0.0.2:Listed, see http://bl.test/?$\n127.0.0.2\n10.1.2.3 :127.0.0.4:Spam source\n' \
    >"$H_TMP/bl.zone"
printf '.bad.example :127.0.1.2:bad domain\n' >"$H_TMP/dbl.zone"
tap_ok "h_start_rbldnsd" h_start_rbldnsd "bl.test:ip4set:$H_TMP/bl.zone" \
    "dbl.test:dnset:$H_TMP/dbl.zone"
STARTED+=("rbldnsd $H_RBLDNSD_PID")
tap_is "$(h_dig "$H_RBLDNSD_PORT" 2.0.0.127.bl.test A +short)" 127.0.0.2 "rbldnsd: 127.0.0.2 listed (A)"
tap_is "$(h_dig "$H_RBLDNSD_PORT" 2.0.0.127.bl.test TXT +short)" '"Listed, see http://bl.test/?127.0.0.2"' \
    "rbldnsd: 127.0.0.2 listed (TXT)"
tap_is "$(h_dig "$H_RBLDNSD_PORT" 3.2.1.10.bl.test A +short)" 127.0.0.4 "rbldnsd: per-entry value"
tap_like "$(h_dig "$H_RBLDNSD_PORT" 3.0.0.127.bl.test A)" "status: NXDOMAIN" "rbldnsd: 127.0.0.3 not listed"
tap_is "$(h_dig "$H_RBLDNSD_PORT" www.bad.example.dbl.test A +short)" 127.0.1.2 "rbldnsd: dnset zone"
echo 127.0.0.3 >>"$H_RBLDNSD_DIR/1-bl.zone"
tap_ok "h_rbldnsd_reload" h_rbldnsd_reload
tap_is "$(h_dig "$H_RBLDNSD_PORT" 3.0.0.127.bl.test A +short)" 127.0.0.2 "rbldnsd: reloaded data served"

# ---------------------------------------------------------------------------
# Fake DNS servers
# ---------------------------------------------------------------------------

tap_ok "h_start_dns_blackhole" h_start_dns_blackhole
STARTED+=("blackhole $H_BLACKHOLE_PID")
tap_ok "h_start_dns_servfail" h_start_dns_servfail
STARTED+=("servfail $H_SERVFAIL_PID")

T0=$(NOW_MS)
dig @127.0.0.1 -p "$H_BLACKHOLE_PORT" +time=1 +tries=1 example.com A >"$H_TMP/dig.out" 2>&1
DIG_RC=$?
T1=$(NOW_MS)
tap_is "$DIG_RC" 9 "blackhole: dig gets no reply (UDP, exit 9)"
tap_ok "blackhole: ... after the 1 s timeout" test $((T1 - T0)) -ge 900
dig @127.0.0.1 -p "$H_BLACKHOLE_PORT" +time=1 +tries=1 +tcp example.com A >/dev/null 2>&1
tap_is "$?" 9 "blackhole: dig gets no reply (TCP)"

DIG_OUT=$(h_dig "$H_SERVFAIL_PORT" www.example.com MX)
tap_like "$DIG_OUT" "status: SERVFAIL" "servfail: status SERVFAIL (UDP)"
tap_like "$DIG_OUT" $'QUESTION SECTION:\n;www\\.example\\.com\\.[[:space:]]+IN[[:space:]]+MX' \
    "servfail: question echoed"
tap_like "$(h_dig "$H_SERVFAIL_PORT" +tcp www.example.com A)" "status: SERVFAIL" "servfail: status SERVFAIL (TCP)"

# ---------------------------------------------------------------------------
# unbound
# ---------------------------------------------------------------------------

tap_ok "h_start_unbound" h_start_unbound "bl.test@$H_RBLDNSD_PORT" "sf.test.@$H_SERVFAIL_PORT"
STARTED+=("unbound $H_UNBOUND_PID")
tap_is "$(h_dig "$H_UNBOUND_PORT" 2.0.0.127.bl.test A +short)" 127.0.0.2 "unbound: forwards listed entry (UDP)"
tap_is "$(h_dig "$H_UNBOUND_PORT" +tcp 2.0.0.127.bl.test TXT +short)" '"Listed, see http://bl.test/?127.0.0.2"' \
    "unbound: forwards listed entry (TCP)"
tap_like "$(h_dig "$H_UNBOUND_PORT" 9.0.0.127.bl.test A)" "status: NXDOMAIN" "unbound: NXDOMAIN for unlisted"
tap_like "$(h_dig "$H_UNBOUND_PORT" www.example.com A)" "status: REFUSED" "unbound: other names REFUSED"
tap_like "$(h_dig "$H_UNBOUND_PORT" . NS)" "status: REFUSED" "unbound: root REFUSED (no recursion)"
tap_like "$(h_dig "$H_UNBOUND_PORT" x.sf.test A)" "status: SERVFAIL" "unbound: upstream SERVFAIL passed on"
tap_ok "unbound: never tried the root servers" sh -c "! grep -qi 'root\|priming' '$H_UNBOUND_DIR/unbound.log'"

# ---------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------

perl -e '$SIG{TERM} = "IGNORE"; sleep 60' </dev/null >/dev/null 2>&1 &
STUBBORN=$!
h_track "$STUBBORN" stubborn
sleep 0.2
T0=$(NOW_MS)
H_STOP_TIMEOUT=1 h_stop "$STUBBORN" 2>/dev/null
tap_ok "h_stop: SIGKILL after H_STOP_TIMEOUT for a process ignoring SIGTERM" sh -c "! kill -0 $STUBBORN 2>/dev/null"
tap_ok "h_stop: ... within ~1 s" test $(($(NOW_MS) - T0)) -lt 2500
tap_ok "h_stop: untracked" sh -c "! grep -q '^$STUBBORN ' '$H_TMP/.pids'"

tap_ok "h_postfix_stop" h_postfix_stop
tap_ok "postfix: master gone" sh -c "! kill -0 $PF_MASTER 2>/dev/null || ps -o stat= -p $PF_MASTER | grep -q Z"
tap_is "$(_h_pgroup_pids "$PF_MASTER")" "" "postfix: no process left in the master's group"

for s in "${STARTED[@]}"; do
    name=${s% *} pid=${s#* }
    [ "$name" = postfix-master ] && continue
    h_stop "$pid"
done
left=
for s in "${STARTED[@]}"; do alive "${s#* }" && left+=" $s"; done
tap_is "$left" "" "every server stopped"
tap_is "$(cat "$H_TMP/.pids")" "" "nothing left to clean up"
busy=
for p in "$H_SINK_PORT" "$H_RBLDNSD_PORT" "$H_UNBOUND_PORT" "$H_BLACKHOLE_PORT" "$H_SERVFAIL_PORT"; do
    [ -n "$(ss -Htuln "( sport = :$p )")" ] && busy+=" $p"
done
tap_is "$busy" "" "all ports closed again"

# ---------------------------------------------------------------------------
# Cleanup on exit, in child scripts
# ---------------------------------------------------------------------------

CHILD_SETUP='
h_init
h_start_postfix
h_start_rbldnsd "bl.test:ip4set:'"$H_TMP"'/bl.zone"
h_start_unbound "bl.test@$H_RBLDNSD_PORT"
h_start_dns_blackhole
h_start_dns_servfail
sleep 300 </dev/null >/dev/null 2>&1 &
h_track $! sleep
echo "TMP $H_TMP"
echo "PIDS $H_SINK_PID $H_PF_MASTER_PID $H_RBLDNSD_PID $H_UNBOUND_PID $H_BLACKHOLE_PID $H_SERVFAIL_PID $!"'

# check_child_gone: all PIDs from the child's output dead, dir removed.
check_child_gone() {
    local desc=$1 tmp pids p left=
    tmp=$(sed -n 's/^TMP //p' "$H_TMP/child.out")
    pids=$(sed -n 's/^PIDS //p' "$H_TMP/child.out")
    tap_is "$(echo "$pids" | wc -w)" 7 "$desc: child started 7 processes"
    for p in $pids; do
        alive "$p" && left+=" $p" && h_track "$p" leftover
    done
    # shellcheck disable=SC2086 # split on purpose
    set -- $pids
    [ -n "$(_h_pgroup_pids "$2")" ] && left+=" postfix-group"
    tap_is "$left" "" "$desc: no process left"
    tap_ok "$desc: $tmp removed" test -n "$tmp" -a ! -e "$tmp"
}

run_child "$CHILD_SETUP"'
exit 3'
tap_is "$CHILD_RC" 3 "exit cleanup: exit status preserved"
check_child_gone "exit cleanup"

printf '. %q\n%s\n' "$H_LIB_FILE" "$CHILD_SETUP"'
sleep 60 </dev/null >/dev/null 2>&1 &
h_track $!
echo READY
wait $!' >"$H_TMP/child.sh"
bash "$H_TMP/child.sh" >"$H_TMP/child.out" 2>"$H_TMP/child.err" &
CHILD=$!
h_wait_for 20 grep -q READY "$H_TMP/child.out"
kill -TERM "$CHILD"
wait "$CHILD"
tap_is "$?" 143 "SIGTERM cleanup: child exits 143"
check_child_gone "SIGTERM cleanup"

run_child 'h_init; echo "TMP $H_TMP"'
KEPT=$(sed -n 's/^TMP //p' "$H_TMP/child.out")
tap_ok "default: temp dir removed" test -n "$KEPT" -a ! -e "$KEPT"
MOAT_KEEP_TMP=1 run_child 'h_init; echo "TMP $H_TMP"'
KEPT=$(sed -n 's/^TMP //p' "$H_TMP/child.out")
tap_ok "MOAT_KEEP_TMP=1: temp dir kept" test -n "$KEPT" -a -d "$KEPT"
[ -n "$KEPT" ] && rm -rf "$KEPT"

tap_is "$(md5sum </etc/postfix/main.cf)" "$MAINCF_SUM" "/etc/postfix/main.cf untouched"

tap_done
