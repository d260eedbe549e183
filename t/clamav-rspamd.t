#!/bin/bash
# clamav-rspamd.t - moat's ClamAV check against Rspamd's antivirus module
# (Debian's rspamd, docker-mailserver's antivirus.conf rule and milter
# proxy) on the same private clamd, behind the same private Postfix: the
# same virus is refused with the same SMTP reply by both, clean mail passes
# both; and with clamd stopped they differ as README says: Rspamd passes
# the message unscanned with CLAM_VIRUS_FAIL, moat tempfails it.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/bench/peers.sh"
h_init
m_need rspamd clamd unbound postfix swaks smtp-sink
[ -d /etc/rspamd ] || tap_skip_all "no /etc/rspamd"

eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
mkdir -p "$H_TMP/clamdb" "$H_TMP/att"
echo "Eicar-Signature:0:*:$(printf '%s' "$eicar" | od -An -tx1 | tr -d ' \n')" >"$H_TMP/clamdb/moat-test.ndb"
cport=$(h_free_port)
cat >"$H_TMP/clamd.conf" <<EOF
TCPSocket $cport
TCPAddr 127.0.0.1
DatabaseDirectory $H_TMP/clamdb
Foreground yes
LogFile $H_TMP/logs/clamd.log
EOF
clamd -c "$H_TMP/clamd.conf" >>"$H_TMP/logs/clamd.out" 2>&1 &
clamd_pid=$!
h_track "$clamd_pid" clamd
tap_ok "a private clamd on 127.0.0.1" h_wait_port "$cport" 20 "$clamd_pid"

tap_ok "unbound answering NXDOMAIN (rspamd stays offline)" z_start_nx_unbound
R=$H_TMP/rspamd
rport=$(h_free_port)
pport=$(h_free_port)
bench_rspamd_config "$R" 1 "$rport"
bench_rspamd_proxy "$R" "$pport"
# The test client is on 127.0.0.1, which milter_headers would skip.
echo "skip_local = false;" >>"$R/etc/local.d/milter_headers.conf"
# docker-mailserver's target/rspamd/local.d/antivirus.conf, ENABLE_CLAMAV=1.
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
bench_rspamd_run "$R"
tap_ok "rspamd starts with its antivirus module" h_wait_port "$pport" 180 "$RSPAMD_PID"

m_ctl migrate >/dev/null
m_ctl module enable clamav >/dev/null
tap_ok "moat-contentfilter starts with the clamav module" m_start_contentfilter \
	-o clamav_servers="inet:127.0.0.1:$cport"
tap_ok "private Postfix" h_start_postfix "smtpd_milters = inet:127.0.0.1:$pport" \
	"milter_default_action = tempfail"

# Both through the same Postfix, one milter after the other.
use() {
	h_postfix_postconf "smtpd_milters = inet:127.0.0.1:$1" && h_postfix_reload && sleep 1
}
send() { h_swaks --from alice@sender.example --to bob@example.com "$@" 2>&1; }
# The reply to the message (the last before QUIT's 221), queue ID cut.
reply() { grep -E '^<(\*\*|-) +[245][0-9][0-9] ' <<<"$1" | grep -v ' 221 ' | tail -n 1 | sed 's/^<\(\*\*\|-\) *//; s/queued as .*/queued/'; }

printf '%s' "$eicar" >"$H_TMP/att/eicar.com"
for who in rspamd moat; do
	[ $who = rspamd ] && use "$pport" || use "$M_MILTER_PORT"
	r_virus[${#r_virus[@]}]=$(reply "$(send --header "Subject: virus" --attach "@$H_TMP/att/eicar.com" --body "See attached.")")
	r_clean[${#r_clean[@]}]=$(reply "$(send --header "Subject: clean" --body "An ordinary message.")")
done
tap_is "${r_virus[0]}" '554 5.7.1 ClamAV FOUND VIRUS "Eicar-Signature.UNOFFICIAL"' "rspamd refuses EICAR with DMS's text"
tap_is "${r_virus[1]}" "${r_virus[0]}" "...moat with the same reply"
tap_is "${r_clean[0]}" "250 2.0.0 Ok: queued" "rspamd passes clean mail"
tap_is "${r_clean[1]}" "${r_clean[0]}" "...so does moat"
tap_ok "...and both arrive" h_sink_wait 2 30

h_stop "$clamd_pid"
use "$pport"
out=$(send --header "Subject: no clamd" --body "x")
tap_is "$(reply "$out")" "250 2.0.0 Ok: queued" "clamd stopped: rspamd passes the message unscanned"
tap_ok "...and it arrives" h_sink_wait 3 30
tap_like "$(cat "$(h_sink_last)")" "CLAM_VIRUS_FAIL\(0\.00\)\[" "...with CLAM_VIRUS_FAIL(0.00)"
use "$M_MILTER_PORT"
out=$(send --header "Subject: no clamd" --body "x")
tap_is "$(reply "$out")" "451 4.7.1 Try again later: virus scanner unavailable" \
	"...moat tempfails it (clamav_fail_action = tempfail), as README says"

h_postfix_stop
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/contentfilter-*.log
tap_done
