#!/bin/bash
# spf.t - moat's SPF engine (shared/auth/spf.c, through t/spf_query) on fixed
# records served by a private unbound: each result and Rspamd symbol with
# its option, the limits of RFC 7208 4.6.4 (10 DNS terms, 2 void lookups,
# 10 MX names), include and redirect loops, the HELO identity, exp= text,
# ptr, exists with macros, IPv6, the lookups of one level sent together,
# and DNS failures (refused, SERVFAIL, no answer).
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || tap_skip_all "unbound not installed"
Q=$MOAT_BUILDDIR/t/spf_query
dir=$H_TMP/spf
mkdir -p "$dir"

txt() { echo "  local-data: '$1. 300 IN TXT \"$2\"'"; }
rr() { echo "  local-data: '$1. 300 IN $2 $3'"; }
{
	echo '  local-zone: "ex.test." static'
	echo '  local-zone: "refused.test." refuse'
	echo '  local-zone: "2.0.192.in-addr.arpa." static'
	echo '  local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." static'
	txt pass.ex.test "v=spf1 ip4:192.0.2.0/24 -all"
	txt plusall.ex.test "v=spf1 +all"
	txt soft.ex.test "v=spf1 a:nohost.ex.test ~all"
	txt neutral.ex.test "v=spf1 ip4:203.0.113.1"
	txt nospf.ex.test "google-site-verification=abc"
	txt two.ex.test "v=spf1 -all"
	txt two.ex.test "v=spf1 +all"
	txt bad.ex.test "v=spf1 ip4:192.0.2.0/24 moo -all"
	for i in 0 1 2 3 4 5 6 7 8 9 10; do rr h$i.ex.test A 203.0.113.$i; done
	txt l10.ex.test "v=spf1 a:h0.ex.test a:h1.ex.test a:h2.ex.test a:h3.ex.test a:h4.ex.test a:h5.ex.test a:h6.ex.test a:h7.ex.test a:h8.ex.test a:h9.ex.test ip4:192.0.2.0/24 -all"
	txt l11.ex.test "v=spf1 a:h0.ex.test a:h1.ex.test a:h2.ex.test a:h3.ex.test a:h4.ex.test a:h5.ex.test a:h6.ex.test a:h7.ex.test a:h8.ex.test a:h9.ex.test a:h10.ex.test ip4:192.0.2.0/24 -all"
	txt v2.ex.test "v=spf1 a:nx1.ex.test a:nx2.ex.test ip4:192.0.2.0/24 -all"
	txt v3.ex.test "v=spf1 a:nx1.ex.test a:nx2.ex.test a:nx3.ex.test ip4:192.0.2.0/24 -all"
	txt mx10.ex.test "v=spf1 mx -all"
	txt mx11.ex.test "v=spf1 mx -all"
	for i in 0 1 2 3 4 5 6 7 8 9; do rr mx10.ex.test MX "10 h$i.ex.test."; rr mx11.ex.test MX "10 h$i.ex.test."; done
	rr mx11.ex.test MX "20 h10.ex.test."
	txt loopa.ex.test "v=spf1 include:loopb.ex.test -all"
	txt loopb.ex.test "v=spf1 include:loopa.ex.test -all"
	txt reda.ex.test "v=spf1 redirect=redb.ex.test"
	txt redb.ex.test "v=spf1 redirect=reda.ex.test"
	txt redir.ex.test "v=spf1 redirect=pass.ex.test"
	txt nored.ex.test "v=spf1 redirect=nospf.ex.test"
	txt inc.ex.test "v=spf1 include:pass.ex.test ~all"
	txt incnone.ex.test "v=spf1 include:nospf.ex.test ~all"
	txt helo.ex.test "v=spf1 ip4:192.0.2.10 -all exp=why.ex.test"
	txt exp.ex.test "v=spf1 ip4:192.0.2.10 -all exp=why.ex.test"
	txt why.ex.test "%{i} may not send for %{d} as %{s} (%{L}); see %{h}"
	txt expinc.ex.test "v=spf1 include:exp.ex.test -all"
	txt ptr.ex.test "v=spf1 ptr:ex.test -all"
	rr 20.2.0.192.in-addr.arpa PTR host.ptr.ex.test.
	rr host.ptr.ex.test A 192.0.2.20
	rr 21.2.0.192.in-addr.arpa PTR liar.ptr.ex.test.
	rr liar.ptr.ex.test A 192.0.2.99
	txt exists.ex.test "v=spf1 exists:%{ir}.%{v}.wl.ex.test -all"
	rr 30.2.0.192.in-addr.wl.ex.test A 127.0.0.2
	txt six.ex.test "v=spf1 ip6:2001:db8:1::/48 a:six-host.ex.test -all"
	rr six-host.ex.test AAAA 2001:db8:2::25
	txt temp.ex.test "v=spf1 include:x.refused.test -all"
} >"$dir/zone.conf"

start_unbound() {
	h_start_local_unbound spf refuse "$dir/zone.conf" || return 1
	PORT=$H_LOCAL_UNBOUND_PORT
}
tap_ok "unbound serves the records" start_unbound || { tap_done; exit; }

# spf IP HELO SENDER -> "RESULT SYMBOL[OPTION] ... | EXPLANATION" (without the "-" id)
spf() { "$Q" -v -s "127.0.0.1:${SPF_PORT:-$PORT}" "$@" | sed 's/^- //'; }
is() { # is IP SENDER REGEX DESC
	tap_like "$(spf "$1" mx.example.org "$2")" "$3" "$4"
}

is 192.0.2.10 a@pass.ex.test '^pass R_SPF_ALLOW\[\+ip4:192\.0\.2\.0/24\] ' "pass: R_SPF_ALLOW with the matching mechanism"
is 198.51.100.1 a@pass.ex.test '^fail R_SPF_FAIL\[-all\] .*\| $' "fail: R_SPF_FAIL[-all], no exp= so no explanation"
is 198.51.100.1 a@plusall.ex.test '^pass R_SPF_PLUSALL\[\+all\] ' "+all: R_SPF_PLUSALL instead of R_SPF_ALLOW"
is 198.51.100.1 a@soft.ex.test '^softfail R_SPF_SOFTFAIL\[~all\] ' "softfail: R_SPF_SOFTFAIL[~all]"
is 198.51.100.1 a@neutral.ex.test '^neutral R_SPF_NEUTRAL\[\?all\] ' "no match and no all: neutral, Rspamd's implicit ?all"
is 198.51.100.1 a@nospf.ex.test '^none R_SPF_NA\[no SPF record\] ' "TXT records but no SPF record: R_SPF_NA"
is 198.51.100.1 a@nothing.ex.test '^none R_SPF_NA\[no SPF record\] ' "NXDOMAIN: R_SPF_NA"
is 198.51.100.1 a@two.ex.test '^permerror R_SPF_PERMFAIL\[more than one SPF record' "two SPF records: permerror (4.5)"
is 192.0.2.10 a@bad.ex.test '^permerror R_SPF_PERMFAIL\[unknown mechanism: moo\]' \
	"a syntax error after the matching term is still a permerror (4.6)"

is 192.0.2.10 a@l10.ex.test '^pass .* lookups=10 ' "10 DNS terms are allowed"
is 192.0.2.10 a@l11.ex.test '^permerror R_SPF_PERMFAIL\[more than 10 DNS lookups, at: a:h10\.ex\.test\] lookups=11 ' \
	"the 11th DNS term is a permerror (4.6.4)"
is 192.0.2.10 a@v2.ex.test '^pass .* voids=2 ' "2 void lookups are allowed"
is 192.0.2.10 a@v3.ex.test '^permerror R_SPF_PERMFAIL\[more than 2 void lookups' "the 3rd void lookup is a permerror"
is 203.0.113.9 a@mx10.ex.test '^pass R_SPF_ALLOW\[\+mx\] lookups=1 voids=0 queries=12 rounds=3 ' \
	"mx with 10 names: pass, the 10 address lookups sent together (3 rounds: TXT, MX, 10 A)"
is 203.0.113.9 a@mx11.ex.test '^permerror R_SPF_PERMFAIL\[more than 10 MX records' "11 MX names: permerror"
is 198.51.100.1 a@loopa.ex.test '^permerror R_SPF_PERMFAIL\[more than 10 DNS lookups' "an include loop ends in permerror"
is 198.51.100.1 a@reda.ex.test '^permerror R_SPF_PERMFAIL\[more than 10 DNS lookups' "a redirect loop ends in permerror"
is 192.0.2.10 a@redir.ex.test '^pass R_SPF_ALLOW\[\+ip4:192\.0\.2\.0/24\] ' "redirect= takes the target's result"
is 192.0.2.10 a@nored.ex.test '^permerror R_SPF_PERMFAIL\[no SPF record at redirect' "redirect= to a domain without SPF: permerror (6.1)"
is 192.0.2.10 a@inc.ex.test '^pass R_SPF_ALLOW\[\+ip4:192\.0\.2\.0/24\] ' "include: pass, the option names the mechanism inside"
is 198.51.100.1 a@inc.ex.test '^softfail R_SPF_SOFTFAIL\[~all\] ' "include's fail does not match: the outer ~all decides"
is 192.0.2.10 a@incnone.ex.test '^permerror R_SPF_PERMFAIL\[no SPF record at include' "include of a domain without SPF: permerror (5.2)"

tap_like "$(spf 192.0.2.10 helo.ex.test '')" '^pass R_SPF_ALLOW\[\+ip4:192\.0\.2\.10\] ' \
	"null sender: the HELO identity is checked (2.3)"
tap_like "$(spf 198.51.100.7 helo.ex.test '')" '^fail R_SPF_FAIL\[-all\] .*\| 198\.51\.100\.7 may not send for helo\.ex\.test as postmaster@helo\.ex\.test \(postmaster\); see helo\.ex\.test$' \
	"null sender: %{s} is postmaster@HELO"
is 198.51.100.7 info+x@exp.ex.test '\| 198\.51\.100\.7 may not send for exp\.ex\.test as info\+x@exp\.ex\.test \(info%2Bx\); see mx\.example\.org$' \
	"fail: exp= text expanded, upper-case macros URL-escaped (6.2, 7.3)"
is 198.51.100.7 a@expinc.ex.test '^fail R_SPF_FAIL\[-all\] .*\| $' "an included record's exp= is not used"
is 192.0.2.20 a@ptr.ex.test '^pass R_SPF_ALLOW\[\+ptr:ex\.test\] ' "ptr: a validated name below the domain"
is 192.0.2.21 a@ptr.ex.test '^fail ' "ptr: a PTR name whose address is not the client's does not count"
is 192.0.2.30 a@exists.ex.test '^pass R_SPF_ALLOW\[\+exists:%\{ir\}\.%\{v\}\.wl\.ex\.test\] ' "exists with macros"
is 192.0.2.31 a@exists.ex.test '^fail ' "exists: no A record, no match"
is 2001:db8:1::5 a@six.ex.test '^pass R_SPF_ALLOW\[\+ip6:2001:db8:1::/48\] ' "IPv6 client: ip6"
is 2001:db8:2::25 a@six.ex.test '^pass R_SPF_ALLOW\[\+a:six-host\.ex\.test\] ' "IPv6 client: a looks up AAAA"
is 192.0.2.10 a@six.ex.test '^fail ' "IPv4 client against ip6 only: fail"
is ::ffff:192.0.2.10 a@pass.ex.test '^pass ' "an IPv4-mapped IPv6 client is checked as IPv4"
is 198.51.100.1 a@temp.ex.test '^temperror R_SPF_DNSFAIL\[DNS failure for x\.refused\.test\]' "a REFUSED lookup: temperror, R_SPF_DNSFAIL"
tap_like "$(spf 192.0.2.10 '[192.0.2.10]' '')" '^none R_SPF_NA\[malformed domain\] .*queries=0 ' \
	"null sender and an address-literal HELO: none, nothing asked (4.3)"
is 192.0.2.10 a@localhost '^none R_SPF_NA\[malformed domain\] .*queries=0 ' "a single-label domain: none (4.3)"
is not-an-ip a@pass.ex.test '^none R_SPF_NA\[bad client address\]' "a bad client address: none, no crash"

out=$("$Q" -v -2 -s "127.0.0.1:$PORT" 203.0.113.9 mx.example.org a@mx10.ex.test)
tap_like "$out" $'^- pass [^\n]* rounds=3 [^\n]*\n- pass [^\n]* queries=12 rounds=0 ' \
	"the same check again: every answer from the resolver's TTL cache (no round waited)"

tap_like "$(printf '1 192.0.2.10 h a@pass.ex.test\n2 192.0.2.10 h a@mx10.ex.test\n3 bad h a@x.ex.test\n' |
	"$Q" -x -b -s "127.0.0.1:$PORT" 2>&1)" '^cancelled 2, finished 1$' \
	"checks cancelled while their lookups are out are freed when the resolver goes (no report)"

tap_ok "a resolver that never answers" h_start_dns_blackhole
t0=$(date +%s)
SPF_PORT=$H_BLACKHOLE_PORT is 192.0.2.10 a@pass.ex.test '^temperror R_SPF_DNSFAIL\[DNS timeout for pass\.ex\.test\]' \
	"no answer: temperror with the timeout named"
tap_ok "it gave up within the resolver's timeouts" test $(($(date +%s) - t0)) -le 8
tap_ok "a resolver that answers SERVFAIL" h_start_dns_servfail
SPF_PORT=$H_SERVFAIL_PORT is 192.0.2.10 a@pass.ex.test '^temperror R_SPF_DNSFAIL\[DNS failure for pass\.ex\.test\]' \
	"SERVFAIL: temperror"
tap_done
