#!/bin/bash
# spf-policy-postfix.t - SPF at RCPT in moat-policyd, end to end through a
# private Postfix (check_policy_service), with a private unbound serving
# the records (local-data):
#   - spf_reject_fail = yes: a -all failure gets 550 5.7.23 (RFC 7372) at
#     RCPT, with the domain's exp= text when it has one, else policyd-spf's;
#   - a pass (and a HELO-identity pass for the null sender) is carried in the
#     signed X-Moat-Policy; two recipients of one message are one SPF check;
#   - local_networks clients and SASL logins are not checked;
#   - a greylisted retry with only an SPF verdict keeps its X-Greylist header;
#   - spf_reject_fail = no: the failure is accepted, and moat-contentfilter
#     reads the verdict before its scan and removes the header.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink unbound

cat >"$H_TMP/spf.conf" <<'EOF'
server:
  local-zone: "test." static
  local-data: 'pass.test. TXT "v=spf1 ip4:203.0.113.0/24 -all"'
  local-data: 'mx.pass.test. TXT "v=spf1 ip4:203.0.113.0/24 -all"'
  local-data: 'fail.test. TXT "v=spf1 ip4:203.0.113.0/24 exp=why.fail.test -all"'
  local-data: 'why.fail.test. TXT "%{i} may not send mail for %{d}"'
  local-data: 'noexp.test. TXT "v=spf1 -all"'
EOF
tap_ok "unbound serves the SPF records" h_start_local_unbound spf refuse "$H_TMP/spf.conf"
DNS=127.0.0.1:$H_LOCAL_UNBOUND_PORT
m_ctl migrate >/dev/null
# Greylisting later, on its own.
sqlite3 "$H_TMP/state/moat.db" "UPDATE modules SET enabled = 0 WHERE name = 'greylist'"
tap_ok "moat-policyd starts (SPF on, spf_reject_fail = yes)" m_start_policyd -o dns_servers="$DNS" \
	-o policy_spf=yes -o spf_reject_fail=yes -o local_networks=192.0.2.0/24 \
	-o greylist_delay=1s -o myhostname=mx.moat.test
tap_ok "private Postfix with check_policy_service" h_start_postfix \
	"relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT"

send() { # send CLIENT FROM SUBJECT [swaks options]
	local ip=$1 from=$2 subj=$3
	shift 3
	h_swaks --xclient-addr "$ip" --xclient-name unknown --from "$from" \
		--to bob@example.com --header "Subject: $subj" --body "spf test" "$@" 2>&1
}
spf_lines() { grep -c "spf=.*client=$1," "$M_POLICYD_LOG"; }

out=$(send 198.51.100.10 x@fail.test "fail with exp")
tap_like "$out" "<\*\* 550 5\.7\.23 <bob@example\.com>: Recipient address rejected: Message rejected due to: 198\.51\.100\.10 may not send mail for fail\.test" \
	"an SPF fail is rejected at RCPT: 550 5.7.23 with the domain's exp= text"
tap_ok "...logged with the deciding mechanism" h_wait_log "spf=fail, identity=mailfrom, domain=fail\.test, client=198\.51\.100\.10, mechanism=all," 5 "$M_POLICYD_LOG"
out=$(send 198.51.100.10 x@noexp.test "fail without exp")
tap_like "$out" "<\*\* 550 5\.7\.23 <bob@example\.com>: Recipient address rejected: Message rejected due to: SPF fail - not authorized" \
	"without exp=: policyd-spf's text"

out=$(send 203.0.113.30 x@pass.test "pass")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "an SPF pass is accepted"
tap_ok "...and arrives" h_sink_wait 1 20
tap_ok "...with the verdict in X-Moat-Policy" grep -qE \
	"^X-Moat-Policy: spf=pass,,pass\.test,ip4:203\.0\.113\.0/24,,; ts=[0-9]+; sig=[0-9a-f]{16}" "$(h_sink_last)"

out=$(send 203.0.113.31 "<>" "null sender" --helo mx.pass.test)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "the null sender is checked by its HELO name"
tap_ok "...and arrives" h_sink_wait 2 20
tap_ok "...with the HELO identity flagged" grep -qE \
	"^X-Moat-Policy: spf=pass,h,mx\.pass\.test,ip4:203\.0\.113\.0/24,,; " "$(h_sink_last)"

out=$(send 203.0.113.32 x@pass.test "two recipients" --to bob@example.com,carol@example.com)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a message to two recipients is accepted"
tap_ok "...and arrives" h_sink_wait 3 20
tap_is "$(grep -c "client=203\.0\.113\.32, state=RCPT" "$M_POLICYD_LOG")" 2 "...two policy requests"
tap_is "$(spf_lines 203\\.0\\.113\\.32)" 1 "...one SPF check"

out=$(send 192.0.2.5 x@fail.test "local network")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a client in local_networks is not checked (fail.test passes)"
tap_is "$(spf_lines 192\\.0\\.2\\.5)" 0 "...no SPF check logged"
out=$(send 198.51.100.11 x@fail.test "SASL" --xclient-login alice)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a SASL login is not checked (fail.test passes)"
tap_is "$(spf_lines 198\\.51\\.100\\.11)" 0 "...no SPF check logged"
tap_ok "both arrive" h_sink_wait 5 20
tap_ok "...without X-Moat-Policy" bash -c "! grep -q '^X-Moat-Policy' '$(h_sink_last)'"

# Greylisting: the one PREPEND goes to X-Greylist when only SPF would fill X-Moat-Policy.
sqlite3 "$H_TMP/state/moat.db" "UPDATE modules SET enabled = 1 WHERE name = 'greylist'"
sleep 1.2
out=$(send 203.0.113.40 x@pass.test "greylisted")
tap_like "$out" "<\*\* 450 4\.7\.1 .*Greylisted" "greylisting on: the first try waits"
sleep 1.2
out=$(send 203.0.113.40 x@pass.test "greylisted retry")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "...the retry passes"
tap_ok "...and arrives" h_sink_wait 6 20
tap_ok "...with its X-Greylist header (moat-policyd alone still writes it)" \
	grep -qE "^X-Greylist: delayed [0-9]+ seconds by moat-policyd" "$(h_sink_last)"
sqlite3 "$H_TMP/state/moat.db" "UPDATE modules SET enabled = 0 WHERE name = 'greylist'"

# spf_reject_fail = no, and the content filter behind.
h_stop "$M_POLICYD_PID"
tap_ok "moat-policyd restarts with spf_reject_fail = no" m_start_policyd -o dns_servers="$DNS" \
	-o policy_spf=yes -o myhostname=mx.moat.test
tap_ok "moat-contentfilter starts" m_start_contentfilter -o dns_servers="$DNS" -o log_level=debug
h_postfix_postconf -e "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT" \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"
h_postfix_reload
sleep 1
out=$(send 198.51.100.10 x@fail.test "fail accepted")
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "spf_reject_fail = no: the SPF fail is accepted"
tap_ok "...and arrives" h_sink_wait 7 20
tap_ok "...the content filter had the verdict before its scan" h_wait_log \
	"SPF from moat-policyd: spf=fail, domain=fail\.test, mechanism=all" 5 "$M_MILTER_LOG"
tap_ok "...and removed X-Moat-Policy" bash -c "! grep -q '^X-Moat-Policy' '$(h_sink_last)'"
tap_ok "...and scanned it" grep -q "^X-Spamd-Result: " "$(h_sink_last)"

# Both paths give the same symbols: the verdict carried from RCPT, and the
# content filter's own check when no policy server saw the transaction.
spf_sym() { sed -n '/^X-Spamd-Result:/,/^[^ \t]/p' "$1" | tr -d '\n\t' |
	grep -oE 'R_SPF_[A-Z]+\([-0-9.]+\)\[[^]]*\]'; }
sqlite3 "$H_TMP/state/moat.db" "UPDATE modules SET enabled = 1 WHERE name = 'spf'"
sleep 3	# the milter reads the rules again after 2 s
n=7
for c in "198.51.100.10 x@fail.test" "203.0.113.30 x@pass.test"; do
	set -- $c
	send "$1" "$2" "carried $2" >/dev/null
	n=$((n + 1))
	h_sink_wait $n 20
	carried=$(spf_sym "$(h_sink_last)")
	h_postfix_postconf -e "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination"
	h_postfix_reload
	sleep 1
	send "$1" "$2" "own check $2" >/dev/null
	n=$((n + 1))
	h_sink_wait $n 20
	own=$(spf_sym "$(h_sink_last)")
	tap_like "$carried" '^R_SPF_(FAIL|ALLOW)\(' "$2 from $1 through moat-policyd: $carried"
	tap_is "$own" "$carried" "...the content filter alone gives the same symbol, weight and option"
	h_postfix_postconf -e "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT"
	h_postfix_reload
	sleep 1
done
tap_is "$(grep -c 'SPF from moat-policyd' "$M_MILTER_LOG")" 3 \
	"...the verdict came from moat-policyd for the three messages it saw, not the two it did not"

h_postfix_stop
h_stop "$M_POLICYD_PID"
h_stop "$M_MILTER_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
