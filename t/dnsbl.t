#!/bin/bash
# dnsbl.t - moat-policyd's DNS list checks against real zones: rbldnsd
# serving test lists behind a private unbound; a resolver that never
# answers and one that answers SERVFAIL.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
h_init
# doctor reads main.cf with postconf: a private, empty one, not this machine's.
mkdir -p "$H_TMP/pf" && : >"$H_TMP/pf/main.cf" && : >"$H_TMP/pf/master.cf"
export MOAT_POSTCONF="postconf -c $H_TMP/pf"
m_need rbldnsd unbound
q() { # q PORT CLIENT [SENDER] [HELO] [RCPT]
	m_policy_query "$1" request=smtpd_access_policy protocol_state=RCPT client_address="$2" \
		client_name=unknown sender="${3:-a@sender.example}" helo_name="${4:-mx.sender.example}" \
		recipient="${5:-rcpt$RANDOM@example.com}"
}

tap_ok "rbldnsd and unbound serve the test lists" z_start_lists
tap_like "$(h_dig "$H_UNBOUND_PORT" +short 99.2.0.192.bl.test A)" "^127\.0\.0\.2$" "unbound answers from rbldnsd"
tap_ok "test zones in the database" z_setup_db
tap_ok "moat-policyd starts (greylisting only the suspicious)" m_start_policyd \
	-o dns_servers="127.0.0.1:$H_UNBOUND_PORT" -o greylist_mode=suspicious -o dns_timeout=1s
P=$M_POLICY_PORT

out=$(q $P 192.0.2.99)
tap_like "$out" "^REJECT 5\.7\.1 Service unavailable; client \[192\.0\.2\.99\] listed at bl\.test$" \
	"a client over the reject threshold is rejected, naming the list (its entry has no TXT text)"
tap_ok "...and the log line has the symbol" h_wait_log "client=192\.0\.2\.99, .*action=REJECT.*score=12\.00, symbols=TEST_BL\(12\.00\)\[192\.0\.2\.99:client\]" 5 "$M_POLICYD_LOG"
out=$(q $P 2001:db8:99::5)
tap_like "$out" "^REJECT 5\.7\.1 .*listed at bl\.test; Listed$" \
	"an IPv6 client is looked up by nibbles and rejected, with the list's TXT text"
out=$(q $P 192.0.2.98)
tap_like "$out" "^PREPEND X-Moat-Policy: TEST_BL_XBL\(3\.00\)\[192\.0\.2\.98:client\]; ts=[0-9]+; sig=[0-9a-f]{16}$" \
	"below the greylist threshold: DUNNO with the symbols for the milter"
out=$(q $P 192.0.2.98 x@spammer.example)
tap_like "$out" "^DEFER_IF_PERMIT 4\.7\.1 Greylisted" "a listed sender domain lifts it over the greylist threshold"
tap_ok "...both symbols in the log" h_wait_log "symbols=TEST_BL_XBL\(3\.00\)\[192\.0\.2\.98:client\]; TEST_DBL\(2\.50\)\[spammer\.example:sender\]" 5 "$M_POLICYD_LOG"
out=$(q $P 198.51.100.7 x@ok.example mail.spammer.example)
tap_like "$out" "^PREPEND X-Moat-Policy: TEST_DBL\(2\.50\)\[mail\.spammer\.example:helo\]; ts=[0-9]+; sig=[0-9a-f]{16}$" \
	"the HELO name is checked against domain lists"
out=$(q $P 198.51.100.7 x@bücher.example)
tap_like "$out" "TEST_DBL\(2\.50\)\[" "an IDN sender domain is looked up in punycode"
out=$(q $P 192.0.2.50)
tap_like "$out" "^PREPEND X-Moat-Policy: TEST_WL\(-1\.50\)\[192\.0\.2\.50:client\]; ts=[0-9]+; sig=[0-9a-f]{16}$" \
	"an allow-list hit carries its negative weight"
out=$(q $P 192.0.2.97)
tap_is "$out" "DUNNO" "an error code (127.255.255.254) is not a listing"
out=$(q $P 192.0.2.96)
tap_is "$out" "DUNNO" "a code the zone does not list is not a listing"
out=$(q $P 192.0.2.95)
tap_is "$out" "DUNNO" "an answer outside 127/8 is not a listing"
tap_ok "the error code is logged as a warning" h_wait_log "warning: DNS list bl\.test answered 127\.255\.255\.254 \(the list's error code" 5 "$M_POLICYD_LOG"
tap_ok "...the unknown code too" h_wait_log "warning: DNS list bl\.test answered 127\.0\.0\.66 \(a code it does not document" 5 "$M_POLICYD_LOG"
sleep 1.2
tap_like "$(sqlite3 "$H_TMP/state/moat.db" "SELECT zone || ' ' || code || ' ' || kind FROM dnsbl_problems ORDER BY code" | tr '\n' '|')" \
	"bl\.test 10\.0\.0\.1 unknown\|bl\.test 127\.0\.0\.66 unknown\|bl\.test 127\.255\.255\.254 error\|" \
	"problems are kept in dnsbl_problems for moatctl doctor"
out=$(q $P 192.0.2.60)
tap_is "$out" "DUNNO" "without abusix_key the keyed zone is not queried"
out=$(q $P 203.0.113.1)
tap_is "$out" "DUNNO" "a clean client: DUNNO"

# moatctl doctor: RFC 5782 test points of every zone in use, blocks, problems.
out=$(m_ctl -o dns_servers="127.0.0.1:$H_UNBOUND_PORT" doctor)
rc=$?
tap_like "$out" "zone bl\.test \(IP list\): ok \(127\.0\.0\.2 listed as 127\.0\.0\.2, 127\.0\.0\.1 not listed\)" \
	"doctor: an IP list answering its test points is ok"
tap_like "$out" "zone dbl\.test \(domain list\): ok \(test listed" "doctor: a domain list's test points"
tap_like "$out" "bl\.test answered 127\.255\.255\.254 \(error code\)" "doctor shows the error codes the daemon saw"
tap_is "$rc" 1 "doctor exits 1 when there are problems"
sqlite3 "$H_TMP/state/moat.db" "UPDATE dnsbl_zones SET enabled = 1 WHERE name = 'blocked.test'; DELETE FROM dnsbl_problems"
out=$(m_ctl -o dns_servers="127.0.0.1:$H_UNBOUND_PORT" doctor)
tap_like "$out" "zone blocked\.test \(IP list\): BLOCKED: answered 127\.255\.255\.254: the list refuses queries through public/open resolvers" \
	"doctor: a list refusing our resolver is reported as blocked"
sqlite3 "$H_TMP/state/moat.db" "UPDATE dnsbl_zones SET enabled = 0 WHERE name = 'blocked.test'"
out=$(m_ctl -o dns_servers="127.0.0.1:$H_UNBOUND_PORT" -o abusix_key=SECRETKEY doctor)
tap_like "$out" "zone abusix\.test \(IP list\): ok \(resolves; Abusix does not list the 127\.0\.0\.2 test point\)" \
	"doctor: a keyed Abusix-style zone without the test point is not called broken"
tap_like "$out" "doctor: all good" "doctor: all good when all is good"
out=$(m_ctl -o dns_servers=127.0.0.1:1 -o dns_timeout=1 -o dns_retries=0 doctor)
tap_like "$out" "zone bl\.test \(IP list\): FAILED: test point lookup (timeout|failure)" \
	"doctor: an unreachable resolver is reported"

# The cache: with rbldnsd gone, a listing seen before still counts.
h_stop "$H_RBLDNSD_PID"
out=$(q $P 192.0.2.99)
tap_like "$out" "^REJECT 5\.7\.1" "a cached answer is used without asking again"
h_stop "$M_POLICYD_PID"

# With the key, the keyed zone is queried as <ip>.KEY.abusix.test.
z_start_lists >/dev/null 2>&1 || true
tap_ok "moat-policyd with abusix_key" m_start_policyd -o dns_servers="127.0.0.1:$H_UNBOUND_PORT" \
	-o greylist_mode=suspicious -o abusix_key=SECRETKEY
out=$(q $M_POLICY_PORT 192.0.2.60)
tap_like "$out" "^DEFER_IF_PERMIT 4\.7\.1 Greylisted" "the keyed zone counts (6.5: greylisted)"
tap_ok "...and the key stays out of the logged symbols" h_wait_log "TEST_KEYED\(6\.50\)\[192\.0\.2\.60:client\]" 5 "$M_POLICYD_LOG"
tap_ok "...and out of every log line" bash -c "! grep -q 'SECRETKEY' '$M_POLICYD_LOG'"
h_stop "$M_POLICYD_PID"

# A resolver that never answers: soft reject (default) or not listed.
tap_ok "a DNS server that never answers" h_start_dns_blackhole
tap_ok "moat-policyd pointed at it" m_start_policyd -o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" \
	-o dns_timeout=1s -o dns_retries=0
t0=$(date +%s%N)
out=$(q $M_POLICY_PORT 192.0.2.99)
ms=$((($(date +%s%N) - t0) / 1000000))
tap_like "$out" "^DEFER_IF_PERMIT 4\.7\.1 Service temporarily unavailable; DNS lookup at [a-z.]+ timed out" \
	"timeout: soft reject with DEFER_IF_PERMIT 4.7.1"
tap_ok "...after about dns_timeout (${ms} ms), all zones in parallel" test "$ms" -lt 2500
tap_ok "...logged with the zone" h_wait_log "warning: NOQUEUE: DNS list [a-z.]+ timed out for client 192\.0\.2\.99" 5 "$M_POLICYD_LOG"
h_stop "$M_POLICYD_PID"
tap_ok "moat-policyd with soft_reject_on_timeout = no" m_start_policyd \
	-o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" -o dns_timeout=1s -o dns_retries=0 \
	-o soft_reject_on_timeout=no -o greylist_mode=suspicious
tap_is "$(q $M_POLICY_PORT 192.0.2.99)" "DUNNO" "timeout with soft reject off: treated as not listed"
tap_ok "...still logged" h_wait_log "DNS list [a-z.]+ timed out" 5 "$M_POLICYD_LOG"
h_stop "$M_POLICYD_PID"

tap_ok "a DNS server that answers SERVFAIL" h_start_dns_servfail
tap_ok "moat-policyd pointed at it" m_start_policyd -o dns_servers="127.0.0.1:$H_SERVFAIL_PORT" \
	-o dns_timeout=1s -o dns_retries=0
tap_like "$(q $M_POLICY_PORT 192.0.2.99)" "^DEFER_IF_PERMIT 4\.7\.1 Service temporarily unavailable; DNS lookup at [a-z.]+ failed" \
	"SERVFAIL: soft reject too"
h_stop "$M_POLICYD_PID"

tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
