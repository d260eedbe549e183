#!/bin/bash
# zone-postfix.t - a DNS list of one's own, with moatctl zone and no SQL:
# bad input refused with a clear error and nothing written; the list added
# while moat-policyd and moat-contentfilter run and used by both within
# seconds; a listed client rejected by a private Postfix with the list's
# TXT text in the 554 reply, as Postfix's reject_rbl_client does; the
# zone disabled, enabled and deleted live.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink rbldnsd unbound miltertest
db=$(m_state)/moat.db
m_quiet_zones
own() { sqlite3 "$db" "SELECT count(*) FROM dnsbl_zones WHERE name = 'own.test'"; }

# --- bad input: an error that says what is wrong, and nothing written ----
bad() { # bad WANT ARGS...: exit 1, WANT in the message, no zone written
	local want=$1 out rc
	shift
	out=$(m_ctl zone add "$@" 2>&1)
	rc=$?
	[ $rc -eq 1 ] && [[ $out == *"$want"* ]] && [ "$(own)" = 0 ] && return 0
	tap_diag "exit $rc: $out"
	return 1
}
tap_ok "no symbol: refused" bad "no symbol for a listing: give --symbol SYMBOL --weight WEIGHT" own.test
tap_ok "a new symbol without a weight: refused" \
	bad "symbol OWN_BL is new: give its weight" own.test --symbol OWN_BL
tap_ok "a bad kind: refused" bad "--kind ipv4: a list is ip" own.test --kind ipv4 --symbol OWN_BL --weight 1
tap_ok "a domain check for an IP list: refused" \
	bad "--checks: sender needs a domain list" own.test --checks client,sender --symbol OWN_BL --weight 1
tap_ok "an unknown check: refused" bad 'unknown check "clinet"' own.test --checks clinet --symbol OWN_BL --weight 1
tap_ok "a code that is no address pattern: refused" \
	bad 'code "127.0.0.300": not an answer pattern' own.test --code 127.0.0.300=OWN_BL:1
tap_ok "a code outside 127.0.0.0/8: refused" bad 'code "10.0.0.2"' own.test --code 10.0.0.2=OWN_BL:1
tap_ok "a weight that is no number: refused" \
	bad '--weight: "lots" is not a weight' own.test --symbol OWN_BL --weight lots
tap_ok "a symbol name with a '-': refused" bad 'symbol "OWN-BL"' own.test --symbol own-bl --weight 1
tap_ok "a name that is no DNS list: refused" bad "zone test: not a DNS list's name" test --symbol OWN_BL --weight 1
tap_ok "--full for an IP list: refused" bad "--full is for domain lists" own.test --full --symbol OWN_BL --weight 1
out=$(m_ctl zone add own.test --code 127.0.0.2=OWN_BL:20 --code 127.0.0.3=OWN_NEW 2>&1)
tap_ok "a second code's new symbol without a weight: refused" test $? -eq 1
tap_like "$out" "symbol OWN_NEW is new.*nothing changed" "...and the first code's rows rolled back"
tap_is "$(own)$(sqlite3 "$db" "SELECT count(*) FROM symbols WHERE name = 'OWN_BL'")" "00" \
	"...no zone, no symbol left behind"

# --- the list, served by rbldnsd behind unbound ----------------------------
# $ in rbldnsd's TXT text is the address asked about.
cat >"$H_TMP/own.ip4" <<'EOF'
:127.0.0.2:Listed by own.test, see https://own.test/q?ip=$
192.0.2.10
192.0.2.11 :127.0.0.3:Policy listing
203.0.113.77
EOF
tap_ok "rbldnsd serves own.test" h_start_rbldnsd "own.test:ip4set:$H_TMP/own.ip4"
tap_ok "unbound in front of it" h_start_unbound "own.test@$H_RBLDNSD_PORT"
tap_like "$(h_dig "$H_UNBOUND_PORT" +short 10.2.0.192.own.test TXT)" \
	"Listed by own.test, see https://own.test/q\?ip=192.0.2.10" "the TXT record is there"

sqlite3 "$db" "UPDATE modules SET enabled = 0 WHERE name = 'greylist'"
tap_ok "moat-policyd starts" m_start_policyd -o dns_servers="127.0.0.1:$H_UNBOUND_PORT"
tap_ok "moat-contentfilter starts" m_start_contentfilter -o dns_servers="127.0.0.1:$H_UNBOUND_PORT"
tap_ok "private Postfix with check_policy_service" h_start_postfix \
	"relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$M_POLICY_PORT"
send() { h_swaks --xclient-addr "$1" --xclient-name unknown --from a@sender.example \
	--to bob@example.com --header "Subject: zone test" --body "zone test" 2>&1; }
out=$(send 192.0.2.10)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "before the zone is added, the client passes"

# --- zone add, while the daemons run --------------------------------------
out=$(m_ctl zone add own.test --symbol OWN_BL --weight 20 --code 127.0.0.2 \
	--code 127.0.0.3=OWN_POLICY:1.5 --code 127.255.255.254=error --checks client,received \
	--description "our own list")
tap_is "$?" 0 "zone add: exit 0"
tap_is "$out" "zone own.test: added, ip list, checks client,received, IPv4 and IPv6
  symbol OWN_BL: new, weight 20.00
  127.0.0.2 -> OWN_BL
  symbol OWN_POLICY: new, weight 1.50
  127.0.0.3 -> OWN_POLICY
  127.255.255.254: the list's error answer (never a listing)
the running daemons use it within seconds" "...says what it wrote"
tap_like "$(m_ctl zone list)" $'\nown\\.test\tip\tclient,received\tenabled\tyes\t-\t2\tour own list' \
	"zone list shows it, with its 2 listing codes"
tap_is "$(m_ctl zone codes own.test)" $'code\tkind\tsymbol\tweight\tstate\treceived_symbol\tdescription
127.0.0.2\tlisting\tOWN_BL\t20.00\tenabled\t-\t
127.0.0.3\tlisting\tOWN_POLICY\t1.50\tenabled\t-\t
127.255.255.254\terror\t-\t-\t-\t-\t' "zone codes: code, symbol, weight"
out=$(m_ctl zone add own.test --symbol OWN_BL --weight 20 2>&1)
tap_like "$out" "zone own\.test exists" "adding it again: an error"
out=$(m_ctl zone codes own.tset 2>&1)
tap_like "$out" "unknown zone: own\.tset \(did you mean: own\.test\)" "a typo in a zone name: close names"

want="<\*\* 554 5\.7\.1 <bob@example\.com>: Recipient address rejected: Service unavailable; client \[192\.0\.2\.10\] listed at own\.test; Listed by own\.test, see https://own\.test/q\?ip=192\.0\.2\.10"
rejected() { [[ $(send 192.0.2.10) =~ $want ]]; }
tap_ok "within seconds, the listed client gets 554 with the list's TXT text, as reject_rbl_client" \
	h_wait_for 10 rejected
tap_ok "...and moat-policyd logged it with the symbol" \
	h_wait_log "client=192\.0\.2\.10, .*action=REJECT .*; Listed by own\.test.*symbols=OWN_BL\(20\.00\)\[192\.0\.2\.10:client\]" 5 "$M_POLICYD_LOG"
out=$(m_policy_query "$M_POLICY_PORT" request=smtpd_access_policy protocol_state=RCPT \
	client_address=192.0.2.11 client_name=unknown sender=a@sender.example \
	helo_name=mx.sender.example recipient=bob@example.com)
tap_like "$out" "^PREPEND X-Moat-Policy: OWN_POLICY\(1\.50\)\[192\.0\.2\.11:client\]" \
	"a second code: its own symbol and weight, below reject"

export MOAT_MILTER_PORT=$M_MILTER_PORT MOAT_RCVD_IP=203.0.113.77
tap_ok "a message relayed by a listed host, through the milter" \
	miltertest -s "$MOAT_SRCDIR/t/data/milter/received.lua"
tap_ok "...the running milter found it in own.test (received check)" \
	h_wait_log "symbols=.*OWN_BL\(20\.00\)\[203\.0\.113\.77:received\]" 5 "$M_MILTER_LOG"

# --- disable, enable, delete, live -----------------------------------------
tap_is "$(m_ctl zone disable own.test)" "zone own.test: enabled -> disabled" "zone disable"
passes() { [[ $(send 192.0.2.10) == *"<-  250 2.0.0 Ok: queued as"* ]]; }
tap_ok "...the client passes again within seconds" h_wait_for 10 passes
tap_is "$(m_ctl zone disable own.test)" "zone own.test: disabled (unchanged)" "disable again: unchanged"
tap_is "$(m_ctl zone enable own.test)" "zone own.test: disabled -> enabled" "zone enable"
tap_ok "...rejected again" h_wait_for 10 rejected
out=$(m_ctl zone codes own.test delete 127.0.0.2)
tap_like "$out" "127\.0\.0\.2: deleted" "zone codes delete"
tap_ok "...the code no longer lists" h_wait_for 10 passes
out=$(m_ctl zone codes own.test add 127.0.0.2=OWN_BL)
tap_like "$out" "127\.0\.0\.2 -> OWN_BL" "zone codes add (the symbol exists: no weight needed)"
tap_ok "...listed again" h_wait_for 10 rejected
out=$(m_ctl zone delete own.test)
tap_is "$out" "zone own.test: deleted, with its 3 code(s); its symbols stay (moatctl symbols -a)" "zone delete"
tap_is "$(own)$(sqlite3 "$db" "SELECT count(*) FROM dnsbl_codes WHERE zone = 'own.test'")" "00" \
	"...its zone and code rows are gone"
tap_ok "...the client passes" h_wait_for 10 passes
tap_is "$(grep -c 'ready: listening' "$M_POLICYD_LOG")" 1 "moat-policyd was never restarted"

h_postfix_stop
h_stop "$M_POLICYD_PID"
h_stop "$M_MILTER_PID"
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
