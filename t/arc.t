#!/bin/bash
# arc.t - moat's ARC verifier (shared/auth/arc.c, driven by t/dkimverify -a)
# against dkimpy: a fixed sample of the corpus passed through 1, 2 and 3
# forwarders that seal it with dkimpy (RSA-2048 and Ed25519 keys made
# here), some changing the message first as a mailing list does, some
# chains then broken: the body or a signed header changed after sealing,
# the newest ARC-Message-Signature or a seal altered, a seal or an AAR
# removed, a whole set removed (an i= gap), a forwarder saying cv=fail, a
# revoked key, rsa-sha1, a 512-bit key. The keys are in a private unbound
# (local-data); dkimpy and moat both ask it. moat's verdict must equal
# dkimpy's arc_verify on every message (dkimpy given Ed25519 for ARC, which
# its 1.1 leaves out: see t/lib/arc-gen.py). Rspamd 3.4, when installed,
# gives the same ARC_* symbols and options but where moat differs on
# purpose; moatctl scan runs the scanner's check_arc on the same chains.
#
# MOAT_ARC_SAMPLE (default 88, four rounds of the variants) sets the size.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
PY=/usr/bin/python3
DRV=$MOAT_BUILDDIR/t/dkimverify
CORPUS=$MOAT_SRCDIR/../shared/corpus
N=${MOAT_ARC_SAMPLE:-88}
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || tap_skip_all "unbound not installed"
$PY -c 'import dkim, nacl, dns.resolver, authres' 2>/dev/null ||
	tap_skip_all "dkimpy, PyNaCl, dnspython or authres missing (Debian: python3-dkim python3-dnspython python3-authres)"
[ -d "$CORPUS/ham" ] || tap_skip_all "no corpus at $CORPUS"
[ -x "$DRV" ] || tap_bail "t/dkimverify not built"

D=$H_TMP/arc
mkdir -p "$D"
tap_ok "dkimpy seals a sample of $N corpus messages through 1 to 3 forwarders" \
	$PY "$MOAT_SRCDIR/t/lib/arc-gen.py" gen "$CORPUS" "$N" "$D"
tap_ok "unbound serves the keys" h_start_local_unbound arc refuse "$D/unbound-data.conf"
U_PORT=$H_LOCAL_UNBOUND_PORT

tap_ok "dkimpy verifies every chain against the same unbound" \
	$PY "$MOAT_SRCDIR/t/lib/arc-gen.py" verify "$U_PORT" "$D"
# The body in 1000-byte chunks, as a milter hands it on in pieces.
(cd "$D" && "$DRV" -a -s "127.0.0.1:$U_PORT" -c 1000 [0-9][0-9][0-9][0-9]-*) >"$D/moat.txt"

total=0 same=0 pass=0 ed=0 stock=0 diffs=""
while read -r f verdict stockv why; do
	total=$((total + 1))
	moat=$(sed -n "s/^$f: arc \([a-z]*\).*/\1/p" "$D/moat.txt")
	[ "$verdict" = pass ] && pass=$((pass + 1))
	case $f in *-ed*) [ "$verdict" = pass ] && ed=$((ed + 1)) ;; esac
	[ "$stockv" != "$verdict" ] && stock=$((stock + 1))
	if [ "$moat" = "$verdict" ]; then
		same=$((same + 1))
	else
		diffs+="$f dkimpy=$verdict ($why) moat=$(grep "^$f: arc" "$D/moat.txt")"$'\n'
	fi
done <"$D/dkimpy.txt"
tap_note "dkimpy vs moat: $total chains, $same equal, $pass pass ($ed with Ed25519 seals);" \
	"stock dkimpy (no Ed25519 for ARC) fails $stock of them"
tap_ok "at least $((N * 9 / 10)) chains compared" [ "$total" -ge $((N * 9 / 10)) ]
tap_ok "some chains pass and some fail" [ "$pass" -gt 0 ] && [ "$pass" -lt "$total" ]
tap_is "$diffs" "" "moat's verdict equals dkimpy's on every chain"

# Each kind of chain got the verdict and the symbol it should.
v() { grep -h "^$1" "$D/moat.txt" | grep ": arc" | head -1; }
s() { grep -h "^$1" "$D/moat.txt" | grep ": symbols" | head -1; }
tap_like "$(v '[0-9]*-1hop-rsa-[^ ]*.eml:')" " pass i=1 d=hop1.arc.test s=rsa" "1 hop, RSA-2048: pass"
tap_like "$(v '[0-9]*-2hop-rsa-rsa-[^ ]*.eml:')" " pass i=2 d=hop2.arc.test s=rsa" "2 hops: pass"
tap_like "$(v '[0-9]*-3hop-rsa-rsa-rsa-[^ ]*.eml:')" " pass i=3 d=hop3.arc.test s=rsa" "3 hops: pass"
tap_like "$(s '[0-9]*-3hop-rsa-rsa-rsa-[^ ]*.eml:')" "symbols ARC_ALLOW\(hop3.arc.test:s=rsa:i=3\)$" \
	"... ARC_ALLOW with Rspamd's option d:s=selector:i=N"
tap_like "$(v '[0-9]*-1hop-ed-[^ ]*.eml:')" " pass i=1 d=hop1.arc.test s=ed" "1 hop, Ed25519: pass"
tap_like "$(v '[0-9]*-3hop-rsa-ed-rsa-[^ ]*.eml:')" " pass i=3" "3 hops, RSA and Ed25519 mixed: pass"
tap_like "$(v '[0-9]*-.*-list:')" " pass i=3" \
	"a list that tagged the Subject and added a footer before it sealed: pass"
tap_like "$(v '[0-9]*-.*-body:')" " fail .*signature check failed: .*body hash mismatch" \
	"body changed after sealing: the newest AMS fails on its body hash"
tap_like "$(s '[0-9]*-.*-body:')" "symbols ARC_REJECT\(" "... ARC_REJECT"
tap_like "$(v '[0-9]*-.*-header:')" " fail .*signature check failed: .*signature mismatch" \
	"a signed header changed after sealing: the newest AMS fails"
tap_like "$(v '[0-9]*-.*-ams:')" " fail .*signature check failed" "the newest AMS altered: fails"
tap_like "$(v '[0-9]*-.*-seal:')" \
	" fail .*seal check failed: fail, \{\[1\] = sig:hop1.arc.test:signature mismatch, \[2\] = sig:hop2" \
	"the first seal altered: it and the newer seal, which signs it, fail, listed as Rspamd does"
tap_like "$(v '[0-9]*-.*-noseal:')" " fail .*invalid count of seals and signatures" \
	"a seal removed: the sets do not match"
tap_like "$(s '[0-9]*-.*-noseal:')" "symbols ARC_INVALID\(invalid count of seals and signatures\)" \
	"... ARC_INVALID with Rspamd's option"
tap_like "$(v '[0-9]*-.*-gap:')" " fail i=3 \(bad i for signature: 3, expected 2; d=hop3.arc.test\)" \
	"a whole set removed (i= 1 and 3): fail"
tap_like "$(v '[0-9]*-.*-noaar:')" " fail i=1 \(no ARC-Authentication-Results for i=1\)" \
	"no ARC-Authentication-Results: fail"
tap_like "$(v '[0-9]*-.*-cvfail:')" " fail i=3 \(cv is fail on i=3\)" "a forwarder said cv=fail: fail"
tap_like "$(s '[0-9]*-.*-cvfail:')" "symbols ARC_REJECT\(cv is fail on i=3\)" "... ARC_REJECT"
tap_like "$(v '[0-9]*-2hop-rsa-revoked-')" " fail .*key revoked" "a revoked key: fail"
tap_like "$(v '[0-9]*-2hop-rsa-sha1-')" " fail .*rsa-sha1 refused \(RFC 8301\)" "rsa-sha1: refused"
tap_like "$(v '[0-9]*-2hop-rsa-small-')" " fail .*RSA key under 1024 bits" "a 512-bit key: refused"

# The chain of a message that carries none, a key nobody publishes, a dead DNS server.
f=$(cd "$D" && ls | grep -E '^[0-9]{4}-2hop-rsa-rsa-.*\.eml$' | head -1)
tap_like "$("$DRV" -a -s "127.0.0.1:$U_PORT" "$CORPUS/ham/$(ls "$CORPUS/ham" | head -1)")" \
	"symbols ARC_NA$" "an unsealed message: ARC_NA"
sed 's/d=hop2.arc.test; s=rsa;/d=hop2.arc.test; s=nokey;/' "$D/$f" >"$D/nokey.eml"
tap_like "$("$DRV" -a -s "127.0.0.1:$U_PORT" "$D/nokey.eml")" \
	"arc fail i=2 \(signature check failed: fail, \{\[1\] = sig:hop2.arc.test:no key\}\)" \
	"the newest set's key not published (NXDOMAIN): fail"
dead=$(h_free_port)
out=$("$DRV" -a -s "127.0.0.1:$dead" "$D/$f")
tap_like "$out" "arc fail i=2 \(hop2.arc.test:s=rsa:i=2:key lookup failed\)" "no DNS answer: fail ..."
tap_like "$out" "symbols ARC_DNSFAIL\(hop2.arc.test:s=rsa:i=2:key lookup failed\)" "... ARC_DNSFAIL"

# The scanner: moatctl scan runs check_arc (the milter's code) on the same unbound.
m_quiet_zones
scan() { m_ctl -o dns_servers="127.0.0.1:$U_PORT" scan "$D/$1"; }
f3=$(cd "$D" && ls | grep -E '^[0-9]{4}-3hop-rsa-ed-rsa-.*\.eml$' | head -1)
tap_like "$(scan "$f3")" "Symbol: ARC_ALLOW \([-0-9.]+\)\[hop3.arc.test:s=rsa:i=3\]" \
	"moatctl scan: ARC_ALLOW for a 3-hop chain, with its option"
fb=$(cd "$D" && ls | grep -E '^[0-9]{4}-.*-body$' | head -1)
tap_like "$(scan "$fb")" "Symbol: ARC_REJECT \([-0-9.]+\)\[signature check failed" \
	"... ARC_REJECT for one whose body changed after sealing"
tap_like "$(scan "$(cd "$D" && ls | grep -E '^[0-9]{4}-.*-noseal$' | head -1)")" \
	"Symbol: ARC_INVALID \([-0-9.]+\)\[invalid count of seals and signatures\]" "... ARC_INVALID"
sqlite3 "$(m_state)/moat.db" "INSERT OR REPLACE INTO modules (name, enabled) VALUES ('arc', 0)"
out=$(scan "$f3")
tap_like "$out" $'\nAction: ' "the module row arc switched off: the message is still scanned ..."
tap_ok "... with no ARC symbol" bash -c "! grep -q ARC_ <<<\"\$1\"" _ "$out"

# Rspamd 3.4 (Debian's), on the same unbound and the same chains, gives the
# same ARC_* symbol with the same option, the reason words after "sig:d:"
# aside (Rspamd's are "reject", "key is missing"; moat names the failure),
# but where moat decides on purpose otherwise (listed below).
if command -v rspamd >/dev/null && command -v rspamc >/dev/null; then
	. "$MOAT_SRCDIR/t/bench/peers.sh"
	NX_PORT=$U_PORT
	R=$H_TMP/rspamd
	rport=$(h_free_port)
	bench_rspamd_config "$R" 1 "$rport"
	bench_rspamd_run "$R"
	# rspamd compiles its rules first: slow on a busy machine.
	if tap_ok "rspamd starts on the same unbound" h_wait_port "$rport" 120 "$RSPAMD_PID"; then
		norm() { sed -E 's/(sig:[^:,}]*):[^,}]*/\1:*/g'; }
		rdiffs="" rsame=0 rknown=0
		for f in $(cd "$D" && ls | grep -E '^[0-9]{4}-' | grep -v json); do
			rspamc -h "127.0.0.1:$rport" --json -i 198.51.100.20 --helo mx.arc.test \
				-F sender@example.org -r rcpt@example.com "$D/$f" >"$D/$f.json" 2>/dev/null
			r=$($PY "$MOAT_SRCDIR/t/lib/arc-gen.py" rspamd "$D/$f.json" | norm)
			m=$(sed -n "s/^$f: symbols //p" "$D/moat.txt" | norm)
			case $f:$r:$m in
			# RFC 8617 5.2 step 3: each set has its AAR; Rspamd does not look (its seal fails).
			*-noaar:ARC_REJECT*:ARC_INVALID*) rknown=$((rknown + 1)) ;;
			# RFC 8301: no rsa-sha1, no RSA key under 1024 bits; Rspamd takes both.
			*-sha1-*:ARC_ALLOW*:ARC_REJECT* | *-small-*:ARC_ALLOW*:ARC_REJECT*) rknown=$((rknown + 1)) ;;
			*)
				if [ "$r" = "$m" ]; then
					rsame=$((rsame + 1))
				else
					rdiffs+="$f rspamd=$r moat=$m"$'\n'
				fi ;;
			esac
		done
		tap_note "rspamd vs moat: $rsame equal, $rknown differing on purpose (AAR required, RFC 8301)"
		tap_ok "rspamd compared on at least $((N * 8 / 10)) chains" [ "$rsame" -ge $((N * 8 / 10)) ]
		tap_is "$rdiffs" "" "rspamd's ARC symbols and options equal moat's on every other chain"
	fi
else
	tap_skip "rspamd or rspamc not installed" 3
fi

if [ -n "$diffs" ]; then
	tap_diag "differences:" "$diffs"
fi
tap_done
