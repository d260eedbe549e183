#!/bin/bash
# auth-postfix.t - SPF and DKIM in moat-contentfilter, end to end through a
# private Postfix, with a private unbound serving the records (local-data)
# and messages signed by dkimpy (t/lib/auth-gen.py):
#  - genuine signed mail from the permitted client gets R_SPF_ALLOW and
#    R_DKIM_ALLOW, with simple canonicalization too (header values reach
#    the milter with their leading blanks: SMFIP_HDR_LEADSPC);
#  - forged mail (another client, body changed) R_SPF_FAIL and R_DKIM_REJECT;
#  - Authentication-Results with authentication_results = yes, in Rspamd's
#    form; an incoming one claiming our authserv-id is removed, with the
#    setting on and off; another host's stays;
#  - local mail (scan_local = yes) is not SPF- or DKIM-checked;
#  - moatctl scan -i -F --helo gives the milter's symbols for the same file;
#  - a DNS server that never answers soft-rejects (soft_reject_on_timeout),
#    one that answers SERVFAIL only gives R_SPF_DNSFAIL;
#  - Debian's rspamd 3.4 on the same unbound gives the same R_SPF_*,
#    R_DKIM_*, DKIM_TRACE and, for the p=reject domain, DMARC_* symbols and
#    options.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/bench/peers.sh"
h_init
m_need postfix swaks smtp-sink unbound
PY=/usr/bin/python3
$PY -c 'import dkim' 2>/dev/null || tap_skip_all "dkimpy missing (Debian: python3-dkim)"

D=$H_TMP/auth
db=$H_TMP/state/moat.db
tap_ok "dkimpy signs the messages; their verdicts: good pass, forged fail" \
	bash -c "$PY '$MOAT_SRCDIR/t/lib/auth-gen.py' '$D' >'$D.verdicts' &&
		grep -qx 'good-relaxed.eml pass' '$D.verdicts' && grep -qx 'good-simple.eml pass' '$D.verdicts' &&
		grep -qx 'forged.eml fail' '$D.verdicts'"
# A sample of the corpus re-signed by dkimpy (t/dkim.t's data), d=dkim.test,
# with an SPF record for dkim.test: for the comparison with rspamd below.
S=$H_TMP/signed
N=${MOAT_AUTH_SAMPLE:-40}
if [ -d "$MOAT_SRCDIR/../shared/corpus/ham" ] && $PY -c 'import nacl' 2>/dev/null &&
	$PY "$MOAT_SRCDIR/t/lib/dkim-gen.py" gen "$MOAT_SRCDIR/../shared/corpus" "$N" "$S" >/dev/null; then
	echo "  local-data: 'dkim.test. 300 IN TXT \"v=spf1 ip4:198.51.100.20 -all\"'" >"$S/spf.conf"
else
	S=
fi
tap_ok "unbound serves the SPF records and the DKIM key" \
	h_start_local_unbound auth refuse "$D/unbound-data.conf" ${S:+"$S/unbound-data.conf" "$S/spf.conf"}
U=$H_LOCAL_UNBOUND_PORT

m_quiet_zones
# on: m_quiet_zones switches them off for the tests without a resolver
auth_on() { sqlite3 "$db" "UPDATE modules SET enabled = 1 WHERE name IN ('spf', 'dkim')"; }
tap_ok "private Postfix" h_start_postfix "myhostname = mx.moat.test" \
	"relay_domains = example.com" \
	"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
# start_cf AR: a milter on unbound with authentication_results = AR; Postfix uses it.
start_cf() {
	m_start_contentfilter -o myhostname=mx.moat.test -o dns_servers="127.0.0.1:$U" \
		-o authentication_results="$1" -o local_networks=127.0.0.0/8 -o scan_local=yes &&
		auth_on &&
		h_postfix_postconf -e "smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" \
			"milter_default_action = tempfail" && h_postfix_reload
}
tap_ok "moat-contentfilter starts (authentication_results = yes)" start_cf yes
# No greylisting or rejects here; no subject rewrite, as docker-mailserver ships Rspamd.
sqlite3 "$db" "UPDATE actions SET threshold = NULL WHERE name IN ('greylist', 'reject', 'rewrite subject')"
sleep 3	# the milter reads the rules again after 2 s

n=0
# send CLIENT FILE [SENDER]: through Postfix as CLIENT (XCLIENT; "local": as
# 127.0.0.1 itself), HELO mx.auth.test; prints the message as delivered.
send() {
	local x=(--xclient-addr "$1" --xclient-name unknown)
	[ "$1" = local ] && x=()
	h_swaks "${x[@]}" --helo mx.auth.test --from "${3:-alice@auth.test}" --to bob@example.com \
		--data "$D/$2" >"$H_TMP/swaks.out" 2>&1 || { cat "$H_TMP/swaks.out" >&2; return 1; }
	n=$((n + 1))
	h_sink_wait "$n" 20 && cat "$(h_sink_last)"
}
# The authentication symbols of a delivered message's X-Spamd-Result: NAME[opts], sorted.
hdr_syms() {
	sed -n '/^X-Spamd-Result:/,/^[^ \t]/p' | tr -d '\n\t' |
		grep -oE '(R_SPF_[A-Z]+|R_DKIM_[A-Z]+|DKIM_TRACE)\([-0-9.]+\)\[[^]]*\]' |
		sed -E 's/\([-0-9.]+\)//' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
# ... and of moatctl scan's output.
ctl_syms() {
	grep -oE '^Symbol: (R_SPF_[A-Z]+|R_DKIM_[A-Z]+|DKIM_TRACE) \([-0-9.]+\)(\[[^]]*\])?' |
		sed -E 's/^Symbol: //; s/ \([-0-9.]+\)//; s/, /,/g' | LC_ALL=C sort | tr '\n' ' ' |
		sed 's/ $//'
}
mctl() { m_ctl -o dns_servers="127.0.0.1:$U" scan "$@"; }

m=$(send 198.51.100.20 good-relaxed.eml)
s=$(hdr_syms <<<"$m")
tap_is "$s" "DKIM_TRACE[auth.test:+] R_DKIM_ALLOW[auth.test:s=sel] R_SPF_ALLOW[+ip4:198.51.100.20]" \
	"genuine mail, relaxed/relaxed: R_SPF_ALLOW and R_DKIM_ALLOW"
tap_like "$m" $'\nX-Spamd-Result: default: False \\[-3\\.00 / ' "... scored with DMS's weights (-1 each, DMARC too)"
tap_like "$m" 'DMARC_POLICY_ALLOW\(-1\.00\)\[auth\.test,reject\]' "... DMARC_POLICY_ALLOW: aligned, the domain's p=reject"
# hdr NAME: the first NAME header of a message on stdin, unfolded
hdr() { awk -v n="$1:" 'f && /^[^ \t]/ { exit } f { sub(/^[ \t]+/, " "); printf "%s", $0 }
	!f && index($0, n) == 1 { f = 1; printf "%s", $0 }'; }
ar=$(hdr Authentication-Results <<<"$m")
tap_like "$ar" '^Authentication-Results: mx\.moat\.test; dkim=pass header\.d=auth\.test header\.s=sel header\.b=[^ ;]{8,10}; spf=pass \(mx\.moat\.test: domain of alice@auth\.test designates 198\.51\.100\.20 as permitted sender\) smtp\.mailfrom=alice@auth\.test; dmarc=pass \(policy=reject\) header\.from=auth\.test; arc=none$' \
	"Authentication-Results in Rspamd's form, authserv-id = myhostname"
tap_like "$(grep -m2 -E '^(Authentication-Results|Received: from mx\.auth\.test)' <<<"$m" | tr '\n' ' ')" \
	'^Authentication-Results: mx\.moat\.test; .* Received: from mx\.auth\.test ' \
	"... at the top, above Postfix's Received header, as a trace header"
tap_is "$(mctl -i 198.51.100.20 -F alice@auth.test --helo mx.auth.test "$D/good-relaxed.eml" | ctl_syms)" \
	"$s" "moatctl scan -i -F --helo: the milter's symbols"

# Every symbol, not only these: the same transaction gives the same scan.
all_hdr() { sed -n '/^X-Spamd-Result:/,/^[^ \t]/p' | tr -d '\n\t' |
	grep -oE '[A-Z0-9_]+\([-0-9.]+\)\[[^]]*\]' | LC_ALL=C sort | tr '\n' ' '; }
all_ctl() { grep -oE '^Symbol: [A-Z0-9_]+ \([-0-9.]+\)(\[[^]]*\])?' |
	sed -E 's/^Symbol: //; s/ \(/(/; s/, /,/g; s/\)$/)[]/' | LC_ALL=C sort | tr '\n' ' '; }
tap_is "$(mctl -i 198.51.100.20 -F alice@auth.test --helo mx.auth.test -r bob@example.com \
	"$D/good-relaxed.eml" | all_ctl)" "$(all_hdr <<<"$m")" \
	"... and every other symbol, with its weight and options"

m=$(send 198.51.100.20 good-simple.eml)
s=$(hdr_syms <<<"$m")
tap_like "$s" "R_DKIM_ALLOW\[auth.test:s=sel\]" \
	"simple/simple, no blank after a colon: the milter sees the header bytes sent (SMFIP_HDR_LEADSPC)"
tap_is "$(mctl -i 198.51.100.20 -F alice@auth.test --helo mx.auth.test "$D/good-simple.eml" | ctl_syms)" \
	"$s" "... moatctl scan agrees"

m=$(send 203.0.113.9 forged.eml)
s=$(hdr_syms <<<"$m")
tap_is "$s" "DKIM_TRACE[auth.test:-] R_DKIM_REJECT[auth.test:s=sel] R_SPF_FAIL[-all]" \
	"forged mail (another client, changed body): R_SPF_FAIL and R_DKIM_REJECT"
tap_like "$m" $'\nAuthentication-Results: mx\\.moat\\.test; dkim=fail \\("body hash mismatch"\\) header\\.d=auth\\.test' \
	"... dkim=fail with the reason"
tap_like "$m" 'spf=fail \(mx\.moat\.test: domain of alice@auth\.test does not designate 203\.0\.113\.9 as permitted sender\)' \
	"... spf=fail"
tap_is "$(mctl -i 203.0.113.9 -F alice@auth.test --helo mx.auth.test "$D/forged.eml" | ctl_syms)" \
	"$s" "... moatctl scan agrees"
tap_like "$m" 'DMARC_POLICY_REJECT\(5\.50\)\[auth\.test : ' "... DMARC_POLICY_REJECT for the p=reject domain"
tap_like "$m" $'\nX-Rspamd-Action: add header\n' "... and with DMS's weights the add header action"
tap_like "$m" 'dmarc=fail header\.from=auth\.test \(policy=reject\)' "... dmarc=fail in Authentication-Results"

m=$(send 203.0.113.9 forged.eml '<>')
tap_like "$(hdr_syms <<<"$m")" "R_SPF_FAIL\[-all\]" "null sender: the HELO name's SPF record decides"
tap_like "$m" 'spf=fail \(mx\.moat\.test: domain of mx\.auth\.test does not designate 203\.0\.113\.9 as permitted sender\) smtp\.helo=mx\.auth\.test' \
	"... smtp.helo in Authentication-Results"
tap_is "$(mctl -i 203.0.113.9 -F '<>' --helo mx.auth.test "$D/forged.eml" | ctl_syms)" \
	"$(hdr_syms <<<"$m")" "... moatctl scan -F '<>' agrees"

m=$(send 198.51.100.20 forged-ar.eml)
tap_is "$(grep -c '^Authentication-Results: mx\.moat\.test;' <<<"$m")" 1 \
	"a forged Authentication-Results claiming our authserv-id is removed; ours stays"
tap_unlike() { if [[ $1 =~ $2 ]]; then tap_ok "$3" false; else tap_ok "$3" true; fi; }
tap_unlike "$m" "bank\.example" "... nothing of the forged one is left"
tap_like "$m" $'\nAuthentication-Results: relay\\.other\\.example; spf=pass' "another host's stays"
tap_like "$(tail -n 20 "$M_MILTER_LOG")" "removed 1 Authentication-Results header claiming authserv-id mx\.moat\.test" \
	"... and the removal is logged"

# At most MAX_AR_OURS (16) are removed; more is an attack on Postfix's header
# edits (each removal walks every header): tempfailed, as with X-Moat-Policy.
many() { for ((i = 0; i < $1; i++)); do echo "Authentication-Results: mx.moat.test; spf=pass"; done
	cat "$D/good-relaxed.eml"; }
many 16 >"$D/ar16.eml"
many 17 >"$D/ar17.eml"
m=$(send 198.51.100.20 ar16.eml)
tap_is "$(grep -c '^Authentication-Results: mx\.moat\.test; spf=pass$' <<<"$m")" 0 \
	"16 forged Authentication-Results claiming our authserv-id: all removed"
h_swaks --xclient-addr 198.51.100.20 --xclient-name unknown --helo mx.auth.test \
	--from alice@auth.test --to bob@example.com --data "$D/ar17.eml" >"$H_TMP/swaks.out" 2>&1
tap_like "$(cat "$H_TMP/swaks.out")" "<\*\* 451 4\.7\.0 Too many Authentication-Results headers" \
	"17: tempfailed (451 4.7.0), not passed on with one left"

m=$(send local good-relaxed.eml)
tap_is "$(hdr_syms <<<"$m")" "" "local mail (scan_local = yes): not SPF- or DKIM-checked"
tap_like "$m" $'\nAuthentication-Results: mx\\.moat\\.test; none\n' "... Authentication-Results says none"

h_stop "$M_MILTER_PID"
tap_ok "moat-contentfilter restarts with authentication_results = no" start_cf no
m=$(send 198.51.100.20 forged-ar.eml)
tap_is "$(grep -c '^Authentication-Results: mx\.moat\.test' <<<"$m")" 0 \
	"authentication_results = no: none added, and the forged one still removed"
tap_like "$(hdr_syms <<<"$m")" "R_DKIM_ALLOW\[auth.test:s=sel\]" "... the checks still run"

# DNS that never answers vs DNS that answers SERVFAIL (soft_reject_on_timeout = yes).
h_start_dns_blackhole
h_start_dns_servfail
out=$(m_ctl -o dns_servers="127.0.0.1:$H_BLACKHOLE_PORT" -o dns_timeout=1s -o dns_retries=0 \
	scan -i 198.51.100.20 -F alice@auth.test --helo mx.auth.test "$D/good-relaxed.eml")
tap_like "$out" $'\nAction: soft reject\n' "no answer within the timeout: soft reject"
tap_like "$out" "Symbol: R_SPF_DNSFAIL .*timeout" "... R_SPF_DNSFAIL"
tap_like "$out" "Symbol: R_DKIM_TEMPFAIL \(1\.50\)\[auth.test:s=sel\]" "... R_DKIM_TEMPFAIL"
out=$(m_ctl -o dns_servers="127.0.0.1:$H_SERVFAIL_PORT" -o dns_timeout=1s -o dns_retries=0 \
	scan -i 198.51.100.20 -F alice@auth.test --helo mx.auth.test "$D/good-relaxed.eml")
tap_unlike "$out" $'\nAction: soft reject\n' "SERVFAIL (the sender's broken DNS): no soft reject ..."
tap_like "$out" "Symbol: R_SPF_DNSFAIL \(2\.50\)" "... R_SPF_DNSFAIL"
tap_like "$out" "Symbol: R_DKIM_TEMPFAIL \(1\.50\)" "... R_DKIM_TEMPFAIL"

# Rspamd 3.4 on the same unbound, asked as rspamc asks, with the same transaction.
if command -v rspamd >/dev/null && command -v rspamc >/dev/null && [ -d /etc/rspamd ]; then
	NX_PORT=$U
	R=$H_TMP/rspamd
	rport=$(h_free_port)
	bench_rspamd_config "$R" 1 "$rport"
	bench_rspamd_run "$R"
	if tap_ok "rspamd starts on the same unbound" h_wait_port "$rport" 180 "$RSPAMD_PID"; then
		rsyms() { # rsyms IP SENDER FILE
			rspamc -h "127.0.0.1:$rport" --json -i "$1" -F "$2" --helo mx.auth.test \
				-r bob@example.com "$D/$3" 2>/dev/null | $PY -c '
import json, re, sys
syms = json.load(sys.stdin).get("symbols", {})
out = ["%s[%s]" % (n, ",".join(s.get("options", []))) for n, s in syms.items()
       if re.match(r"^(R_SPF_|R_DKIM_|DKIM_TRACE)", n)]
print(" ".join(sorted(out)))' | sed 's/:c\]/]/g'
		}
		# Rspamd marks an SPF verdict from its cache with ":c" after the mechanism
		# (spf.lua); moat writes the option the same either way: ":c" is dropped.
		# ... and DMARC's, for the p=reject domain. moat writes ',' '(' ')' inside an
		# option as U+FFFD (hdrsafe_option, issue 20), so rspamd's are read the same way.
		rdmarc() { # rdmarc IP SENDER FILE
			rspamc -h "127.0.0.1:$rport" --json -i "$1" -F "$2" --helo mx.auth.test \
				-r bob@example.com "$D/$3" 2>/dev/null | $PY -c '
import json, re, sys
syms = json.load(sys.stdin).get("symbols", {})
enc = lambda o: re.sub(r"[,()]", "\ufffd", o)
out = ["%s[%s]" % (n, ",".join(enc(o) for o in s.get("options", []))) for n, s in syms.items()
       if n.startswith("DMARC_")]
print(" ".join(sorted(out)))'
		}
		mdmarc() { grep -oE '^Symbol: DMARC_[A-Z_]+ \([-0-9.]+\)(\[[^]]*\])?' |
			sed -E 's/^Symbol: //; s/ \([-0-9.]+\)//; s/, /,/g' | LC_ALL=C sort | tr '\n' ' ' |
			sed 's/ $//'; }
		for c in "198.51.100.20 alice@auth.test good-relaxed.eml" \
			"203.0.113.9 alice@auth.test forged.eml" "203.0.113.9 <> forged.eml"; do
			set -- $c
			m_dm=$(mctl -i "$1" -F "$2" --helo mx.auth.test "$D/$3" | mdmarc)
			tap_like "$m_dm" '^DMARC_POLICY_(ALLOW|REJECT)\[' "moat's DMARC verdict: $3 from $1, sender $2: $m_dm"
			tap_is "$(rdmarc "$1" "$([ "$2" = "<>" ] && echo "" || echo "$2")" "$3")" "$m_dm" \
				"...rspamd 3.4's DMARC_* equal moat's, options too"
		done
		for c in "198.51.100.20 alice@auth.test good-relaxed.eml" \
			"198.51.100.20 alice@auth.test good-simple.eml" \
			"203.0.113.9 alice@auth.test forged.eml" "203.0.113.9 <> forged.eml"; do
			set -- $c
			tap_is "$(rsyms "$1" "$([ "$2" = "<>" ] && echo "" || echo "$2")" "$3")" \
				"$(mctl -i "$1" -F "$2" --helo mx.auth.test "$D/$3" | ctl_syms)" \
				"rspamd's R_SPF_*, R_DKIM_*, DKIM_TRACE equal moat's: $3 from $1, sender $2"
		done
		# The signed sample, scanner against scanner: equal but where moat decides
		# otherwise on purpose (t/dkim.t shows each): rsa-sha1 and 512-bit keys
		# refused (RFC 8301), an expired x= a PERMFAIL where rspamd adds no DKIM
		# symbol, an Ed25519 key for rsa-sha256 a PERMFAIL where rspamd says REJECT;
		# and rspamd 3.4 rejects a relaxed-body signature with l= once text follows
		# the signed length, where dkimpy (t/dkim.t) and moat pass it, as RFC 6376
		# 3.5 and 8.2 say (l= counts the canonical body hashed; the rest is unsigned).
		if [ -n "$S" ]; then
			same=0 known=0 diffs=""
			for f in $(cd "$S" && ls | grep -E '^[0-9]{4}-' | grep -v json); do
				r=$(rspamc -h "127.0.0.1:$rport" --json -i 198.51.100.20 -F sender@dkim.test \
					--helo mx.dkim.test -r bob@example.com "$S/$f" 2>/dev/null | $PY -c '
import json, re, sys
syms = json.load(sys.stdin).get("symbols", {})
out = ["%s[%s]" % (n, ",".join(s.get("options", []))) for n, s in syms.items()
       if re.match(r"^(R_SPF_|R_DKIM_|DKIM_TRACE)", n)]
print(" ".join(sorted(out)))' | sed 's/:c\]/]/g')
				mo=$(m_ctl -o dns_servers="127.0.0.1:$U" scan -i 198.51.100.20 \
					-F sender@dkim.test --helo mx.dkim.test "$S/$f" | ctl_syms)
				if [ "$r" = "$mo" ]; then
					same=$((same + 1))
				elif [[ $f =~ -sha1-|-small-|-expired|-wrongtype-|-relaxed-.*-l(-ok)?$ ]]; then
					known=$((known + 1))
				else
					diffs+="$f: rspamd [$r] moat [$mo]"$'\n'
				fi
			done
			tap_note "signed sample: $same equal, $known documented differences"
			tap_is "$diffs" "" "rspamd's SPF and DKIM symbols equal moat's on the signed sample ($same equal, $known documented differences)"
		fi
	fi
else
	tap_skip "rspamd or rspamc not installed" 1
fi
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
