#!/bin/bash
# hfilter.t - issue 18: Rspamd's hfilter in moat-policyd at RCPT. A private
# unbound serves the PTR, A, AAAA and MX records of each case; every
# HFILTER_* symbol fires on the case built for it, and none on a good host
# (FCrDNS confirmed, an FQDN HELO resolving to the client, a sender domain
# with an address). The symbols travel in X-Moat-Policy with the weights of
# the rules (migration 017: HFILTER_HOSTNAME_UNKNOWN 6, as DMS), count in
# policyd's own score, and nothing is checked for SASL or local mail.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need unbound sqlite3

cat >"$H_TMP/hf.conf" <<'EOF2'
server:
  local-data: "mail.good.test. A 198.51.100.10"
  local-data-ptr: "198.51.100.10 mail.good.test."
  local-data: "good.test. A 198.51.100.10"
  local-data: "good.test. MX 10 mail.good.test."
  local-data: "nop.good.test. A 198.51.100.20"
  local-data-ptr: "198.51.100.21 fake.good.test."
  local-data: "fake.good.test. A 198.51.100.99"
  local-data: "helo21.good.test. A 198.51.100.21"
  local-data-ptr: "198.51.100.30 dynamic-198-51-100-30.isp.test."
  local-data: "dynamic-198-51-100-30.isp.test. A 198.51.100.30"
  local-data: "relay30.good.test. A 198.51.100.30"
  local-data: "other.good.test. A 198.51.100.99"
  local-data: "mxonly.test. MX 10 mail.good.test."
  local-data-ptr: "2001:db8::25 mail6.good.test."
  local-data: "mail6.good.test. AAAA 2001:db8::25"
  local-data-ptr: "2001:db8::26 dynamic-26.isp6.test."
  local-data: "dynamic-26.isp6.test. AAAA 2001:db8::26"
  local-data: "relay26.good.test. AAAA 2001:db8::26"
EOF2
tap_ok "a private unbound serves the test records" h_start_local_unbound hf static "$H_TMP/hf.conf"
tap_ok "moat-policyd starts" m_start_policyd -o dns_servers="127.0.0.1:$H_LOCAL_UNBOUND_PORT"
P=$M_POLICY_PORT
DB=$(m_state)/moat.db
pipeline=
if command -v postfix >/dev/null && command -v swaks >/dev/null && command -v smtp-sink >/dev/null; then
	# Before hfilter goes on: starting a daemon switches it off (m_quiet_zones).
	tap_ok "moat-contentfilter starts" m_start_contentfilter -o dns_servers="127.0.0.1:$H_LOCAL_UNBOUND_PORT"
	pipeline=1
fi
# hfilter on (the test library turns it off for every other test); no greylisting,
# so that the reply shows only the symbols.
sqlite3 "$DB" "UPDATE modules SET enabled = 1 WHERE name = 'hfilter';
	UPDATE modules SET enabled = 0 WHERE name = 'greylist'"
tap_ok "moat-policyd sees hfilter switched on" h_wait_log "module hfilter enabled" 10 "$M_POLICYD_LOG"

# q CLIENT HELO SENDER [ATTR=VALUE...] -> the reply's action
q() {
	local client=$1 helo=$2 sender=$3
	shift 3
	m_policy_query "$P" request=smtpd_access_policy protocol_state=RCPT instance=i.$RANDOM \
		client_address="$client" client_name=unknown helo_name="$helo" sender="$sender" \
		recipient=r@example.com "$@"
}
# syms REPLY -> its HFILTER_* symbols with weights, sorted, one line
# wait_count N RE: the log holds N lines matching RE (the start-up logs the first).
wait_count() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c -- "$2" "$M_POLICYD_LOG")" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
syms() { grep -o 'HFILTER_[A-Z0-9_]*([0-9.]*)' <<<"$1" | sort | tr '\n' ' ' | sed 's/ $//'; }

out=$(q 198.51.100.10 mail.good.test s@good.test)
tap_is "$out" "DUNNO" "a good host (FCrDNS, HELO resolving to it, sender domain with A and MX): no symbol"
out=$(q 2001:db8::25 mail6.good.test s@mxonly.test)
tap_is "$out" "DUNNO" "IPv6: FCrDNS through ip6.arpa and AAAA; an MX-only sender domain is no NORES"
out=$(q 2001:db8::26 relay26.good.test s@good.test)
tap_is "$(syms "$out")" "HFILTER_HOSTNAME_5(3.00)" "IPv6: a dynamic name confirmed through ip6.arpa and AAAA"
out=$(q 198.51.100.20 nop.good.test s@good.test)
tap_is "$(syms "$out")" "HFILTER_HOSTNAME_UNKNOWN(6.00)" "no PTR: HOSTNAME_UNKNOWN, weight 6 (DMS)"
tap_like "$out" "^PREPEND X-Moat-Policy: " "...carried in X-Moat-Policy"
tap_ok "...and counted in policyd's score" \
	h_wait_log "client=198\.51\.100\.20, .*score=6\.00, symbols=HFILTER_HOSTNAME_UNKNOWN" 5 "$M_POLICYD_LOG"
out=$(q 198.51.100.21 helo21.good.test s@good.test)
tap_is "$(syms "$out")" "HFILTER_HOSTNAME_UNKNOWN(6.00)" "a PTR whose name does not resolve back: HOSTNAME_UNKNOWN"
out=$(q 198.51.100.30 relay30.good.test s@good.test)
tap_is "$(syms "$out")" "HFILTER_HOSTNAME_5(3.00)" "a confirmed dynamic host name: HOSTNAME_5"
out=$(q 198.51.100.30 dynamic-198-51-100-30.isp.test s@good.test)
tap_is "$(syms "$out")" "HFILTER_HELO_5(3.00)" "the same name as HELO: HELO_5 wins the tie, as in Rspamd"
out=$(q 198.51.100.10 ANNA s@good.test)
tap_is "$(syms "$out")" "HFILTER_HELO_5(3.00)" "a HELO without a dot: HELO_5"
out=$(q 198.51.100.10 '[85.1.2.3]' s@good.test)
tap_is "$(syms "$out")" "HFILTER_HELO_BAREIP(3.00)" "an address literal HELO: HELO_BAREIP"
out=$(q 198.51.100.10 192.168.1.1 s@good.test)
tap_is "$(syms "$out")" "HFILTER_HELO_BADIP(4.50)" "a private address as HELO: HELO_BADIP"
out=$(q 198.51.100.10 mail.x s@good.test)
tap_is "$(syms "$out")" "HFILTER_HELO_NOT_FQDN(2.00)" "HELO mail.x: HELO_NOT_FQDN"
out=$(q 198.51.100.10 other.good.test s@good.test)
tap_is "$(syms "$out")" "HFILTER_HELO_IP_A(1.00)" "a HELO resolving elsewhere: HELO_IP_A"
out=$(q 198.51.100.10 nothing.good.test s@good.test)
tap_is "$(syms "$out")" "HFILTER_HELO_IP_A(1.00) HFILTER_HELO_NORES_A_OR_MX(0.30)" \
	"a HELO with no A, AAAA or MX: HELO_NORES_A_OR_MX (and IP_A, as Rspamd)"
out=$(q 198.51.100.10 mail.good.test s@localhost)
tap_is "$(syms "$out")" "HFILTER_FROMHOST_NOT_FQDN(3.00)" "sender s@localhost: FROMHOST_NOT_FQDN"
out=$(q 198.51.100.10 mail.good.test s@nowhere.test)
tap_is "$(syms "$out")" "HFILTER_FROMHOST_NORES_A_OR_MX(1.50)" \
	"a sender domain with no A, AAAA or MX: FROMHOST_NORES_A_OR_MX"
out=$(q 198.51.100.10 mail.good.test "")
tap_is "$out" "DUNNO" "the null sender of a good host: no symbol"

out=$(q 198.51.100.20 ANNA s@localhost sasl_username=alice)
tap_is "$out" "DUNNO" "SASL mail: no host checks"

# Through Postfix: the symbol joins the content filter's score with the rules' weight.
if [ -n "$pipeline" ]; then
	tap_ok "private Postfix with both" h_start_postfix \
		"relay_domains = example.com" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
		"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$P" \
		"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"
	out=$(h_swaks --xclient-addr 198.51.100.20 --xclient-name unknown --ehlo nop.good.test \
		--from s@good.test --to bob@example.com --header "Subject: no PTR" --body "x" 2>&1)
	tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "through Postfix: a client without PTR is accepted (6 < 11)"
	tap_ok "...and the message arrives" h_sink_wait 1 20
	m=$(cat "$(h_sink_last)")
	tap_like "$m" "HFILTER_HOSTNAME_UNKNOWN\(6\.00\)" \
		"...with HFILTER_HOSTNAME_UNKNOWN(6.00) in the content filter's X-Spamd-Result"
	tap_like "$m" "X-Spam: Yes" "...which reaches the add-header threshold (6), as in DMS"
	tap_ok "...and X-Moat-Policy verified" bash -c "! grep -q 'ignoring an X-Moat-Policy' '$M_MILTER_LOG'"
else
	tap_skip "postfix, swaks or smtp-sink not installed" 6
fi

# The weights are the rules': a change reaches the next decision.
sqlite3 "$DB" "UPDATE symbols SET enabled = 0 WHERE name = 'HFILTER_HELO_5';
	UPDATE symbols SET weight = 7 WHERE name = 'HFILTER_HOSTNAME_UNKNOWN'"
sleep 2
out=$(q 198.51.100.20 ANNA s@good.test)
tap_is "$(syms "$out")" "HFILTER_HOSTNAME_UNKNOWN(7.00)" "weights from the rules; a disabled symbol is left out"
sqlite3 "$DB" "UPDATE actions SET threshold = 7 WHERE name = 'reject'"
sleep 2
out=$(q 198.51.100.20 nop.good.test s@good.test)
tap_like "$out" "^REJECT 5\.7\.1 Service unavailable; client \[198\.51\.100\.20\] failed the host name checks" \
	"at the reject threshold: rejected by policyd's own score"
sqlite3 "$DB" "UPDATE modules SET enabled = 0 WHERE name = 'hfilter'"
tap_ok "hfilter switched off" wait_count 2 "module hfilter disabled"
out=$(q 198.51.100.20 ANNA s@localhost)
tap_is "$out" "DUNNO" "module off: no host checks"

tap_ok "local networks are skipped too: a second policyd with local_networks" \
	m_start_policyd -o dns_servers="127.0.0.1:$H_LOCAL_UNBOUND_PORT" -o local_networks=198.51.100.0/24
P=$M_POLICY_PORT
sqlite3 "$DB" "UPDATE modules SET enabled = 1 WHERE name = 'hfilter'"
h_wait_log "module hfilter enabled" 10 "$M_POLICYD_LOG"
out=$(q 198.51.100.20 nop.good.test s@good.test)
tap_is "$out" "DUNNO" "a client in local_networks: no host checks"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
