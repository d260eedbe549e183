#!/bin/bash
# dkim.t - moat's DKIM verifier (shared/auth/dkim.c, driven by t/dkimverify)
# against dkimpy: a fixed sample of the corpus re-signed by dkimpy with
# RSA-2048 and Ed25519 keys made here, both canonicalizations, some then
# tampered with (body, signed header, text past l=, expired x=, revoked key,
# wrong key type, rsa-sha1, a 512-bit key). The keys are in a private
# unbound (local-data, split TXT strings); dkimpy and moat both ask it.
# moat's verdict must equal dkimpy's on every message, except where RFC
# 8301 makes moat refuse what dkimpy 1.1 accepts (rsa-sha1).
# Also: RFC 8463 Appendix A's signed example verifies with its two keys.
#
# MOAT_DKIM_SAMPLE (default 200) sets the sample size.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
h_init
PY=/usr/bin/python3
DRV=$MOAT_BUILDDIR/t/dkimverify
CORPUS=$MOAT_SRCDIR/../shared/corpus
N=${MOAT_DKIM_SAMPLE:-200}
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || tap_skip_all "unbound not installed"
$PY -c 'import dkim, nacl, dns.resolver' 2>/dev/null ||
	tap_skip_all "dkimpy, PyNaCl or dnspython missing (Debian: python3-dkim python3-dnspython)"
[ -d "$CORPUS/ham" ] || tap_skip_all "no corpus at $CORPUS"
[ -x "$DRV" ] || tap_bail "t/dkimverify not built"

# start_unbound DATAFILE...: an unbound answering only from local-data. -> U_PORT
start_unbound() {
	h_start_local_unbound dkim refuse "$@" || return 1
	U_PORT=$H_LOCAL_UNBOUND_PORT
}

# The RFC 8463 example's keys as local-data, split into several strings.
rfc_data() {
	echo '  local-zone: "football.example.com." static'
	while read -r name rec; do
		printf "  local-data: '%s. 300 IN TXT" "$name"
		while [ -n "$rec" ]; do
			printf ' "%s"' "${rec:0:60}"
			rec=${rec:60}
		done
		printf "'\n"
	done <"$MOAT_SRCDIR/t/data/dkim/rfc8463.keys"
}

D=$H_TMP/dkim
mkdir -p "$D"
tap_ok "dkimpy signs a sample of $N corpus messages" \
	$PY "$MOAT_SRCDIR/t/lib/dkim-gen.py" gen "$CORPUS" "$N" "$D"
rfc_data >"$D/rfc-data.conf"
tap_ok "unbound serves the keys" start_unbound "$D/unbound-data.conf" "$D/rfc-data.conf"

# RFC 8463 Appendix A: t= is 2018; no x=, so today's clock is fine.
out=$("$DRV" -s "127.0.0.1:$U_PORT" "$MOAT_SRCDIR/t/data/dkim/rfc8463.eml")
tap_like "$out" "sig 0 pass d=football.example.com s=brisbane" \
	"RFC 8463 A.3: the Ed25519-SHA256 signature passes (key from unbound)"
tap_like "$out" "sig 1 pass d=football.example.com s=test" "RFC 8463 A.3: the RSA-SHA256 one too"
tap_like "$out" "symbols R_DKIM_ALLOW\(football.example.com:s=brisbane\) DKIM_TRACE\(football.example.com:\+\)" \
	"RFC 8463 A.3: R_DKIM_ALLOW and DKIM_TRACE with Rspamd's options"

tap_ok "dkimpy verifies every message against the same unbound" \
	$PY "$MOAT_SRCDIR/t/lib/dkim-gen.py" verify "$U_PORT" "$D"
# The body in 1000-byte chunks, as a milter hands it on in pieces.
(cd "$D" && "$DRV" -s "127.0.0.1:$U_PORT" -c 1000 [0-9][0-9][0-9][0-9]-*) >"$D/moat.txt"

total=0 same=0 known=0 diffs=""
while read -r f verdict; do
	total=$((total + 1))
	moat=$(sed -n "s/^$f: sig 0 \([a-z]*\).*/\1/p" "$D/moat.txt")
	mv=fail
	[ "$moat" = pass ] && mv=pass
	case $f in
	*-sha1-*)
		# RFC 8301 section 3.1: verifiers MUST NOT consider rsa-sha1 valid; dkimpy does.
		if [ "$moat" = policy ]; then known=$((known + 1)); else diffs+="$f dkimpy=$verdict moat=$moat"$'\n'; fi
		continue ;;
	esac
	if [ "$mv" = "$verdict" ]; then
		same=$((same + 1))
	else
		diffs+="$f dkimpy=$verdict moat=$moat $(grep "^$f: sig 0" "$D/moat.txt" | sed 's/.*(\(.*\))/\1/')"$'\n'
	fi
done <"$D/dkimpy.txt"
tap_note "dkimpy vs moat: $total messages, $same equal, $known rsa-sha1 refused by moat (RFC 8301)"
tap_ok "at least $((N * 9 / 10)) messages compared" [ "$total" -ge $((N * 9 / 10)) ]
tap_is "$diffs" "" "moat's verdict equals dkimpy's on every message"

# Each kind of damage got the verdict and the symbol it should.
v() { grep -h "^$1" "$D/moat.txt" | grep ": sig 0" | head -1; }
s() { grep -h "^$1" "$D/moat.txt" | grep ": symbols" | head -1; }
tap_like "$(v '[0-9]*-rsa-relaxed-[^ ]*.eml:')" " pass d=dkim.test s=rsa" "an RSA-2048 relaxed signature passes"
tap_like "$(v '[0-9]*-ed-simple-[^ ]*.eml:')" " pass d=dkim.test s=ed" "an Ed25519 simple signature passes"
tap_like "$(v '[0-9]*-.*-body:')" " fail .*(body hash mismatch)" "a changed body fails on the body hash"
tap_like "$(s '[0-9]*-.*-body:')" "R_DKIM_REJECT\(dkim.test:s=[a-z]*\) DKIM_TRACE\(dkim.test:-\)" \
	"... R_DKIM_REJECT and DKIM_TRACE :-"
tap_like "$(v '[0-9]*-.*-header:')" " fail .*(signature mismatch)" "a changed signed header fails on the signature"
tap_like "$(v '[0-9]*-.*-l:')" " pass d=dkim.test" "text appended past l= still passes (as in dkimpy)"
tap_like "$(v '[0-9]*-.*-expired:')" " permerror .*(signature expired)" "an expired x= is a permerror"
tap_like "$(v '[0-9]*-revoked-')" " permerror .*(key revoked)" "a revoked key (empty p=) is a permerror"
tap_like "$(s '[0-9]*-revoked-')" "R_DKIM_PERMFAIL\(dkim.test:s=revoked\) DKIM_TRACE\(dkim.test:~\)" \
	"... R_DKIM_PERMFAIL and DKIM_TRACE :~"
tap_like "$(v '[0-9]*-wrongtype-')" " permerror .*(key type does not match a=)" "an Ed25519 key for rsa-sha256"
tap_like "$(v '[0-9]*-sha1-')" " policy .*\(rsa-sha1 refused \(RFC 8301\)\)" "rsa-sha1 refused by policy"
tap_like "$(v '[0-9]*-small-')" " policy .*\(RSA key under 1024 bits \(RFC 8301\)\)" "a 512-bit key refused by policy"
tap_like "$(v '[0-9]*-.*-relaxed-ok:')" " pass d=dkim.test" "relaxed forgives blanks and refolding"
tap_like "$(v '[0-9]*-.*-bfold:')" " pass d=dkim.test" \
	"b= folded right after '=' passes (simple/simple): the FWS goes with the value"

# A key nobody publishes, and a DNS server that does not answer.
sed 's/s=rsa;/s=nokey;/' "$(ls "$D"/[0-9]*-rsa-relaxed-*.eml | head -1)" >"$D/nokey.eml"
tap_like "$("$DRV" -s "127.0.0.1:$U_PORT" "$D/nokey.eml")" "sig 0 permerror d=dkim.test s=nokey \(no key\)" \
	"no key record (NXDOMAIN): permerror"
dead=$(h_free_port)
out=$("$DRV" -s "127.0.0.1:$dead" "$D/nokey.eml")
tap_like "$out" "sig 0 temperror d=dkim.test s=nokey \(key lookup failed\)" \
	"no DNS answer: temperror"
tap_like "$out" "R_DKIM_TEMPFAIL\(dkim.test:s=nokey\) DKIM_TRACE\(dkim.test:\?\)" "... R_DKIM_TEMPFAIL, trace :?"
tap_like "$("$DRV" -s "127.0.0.1:$U_PORT" "$CORPUS/ham/$(ls "$CORPUS/ham" | head -1)")" "symbols R_DKIM_NA$" \
	"an unsigned message: R_DKIM_NA"

# Rspamd 3.4 (Debian's), on the same unbound, gives the same R_DKIM_* and
# DKIM_TRACE symbols with the same options, but where moat decides on
# purpose otherwise (listed in the expectations below).
if command -v rspamd >/dev/null && command -v rspamc >/dev/null; then
	. "$MOAT_SRCDIR/t/bench/peers.sh"
	NX_PORT=$U_PORT
	R=$H_TMP/rspamd
	rport=$(h_free_port)
	bench_rspamd_config "$R" 1 "$rport"
	bench_rspamd_run "$R"
	# rspamd compiles its rules first: slow on a busy machine.
	if tap_ok "rspamd starts on the same unbound" h_wait_port "$rport" 120 "$RSPAMD_PID"; then
		# moat's symbols for file f, sorted as dkim-gen.py sorts rspamd's.
		msyms() {
			sed -n "s/^$1: symbols //p" "$D/moat.txt" | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ' |
				sed 's/ $//'
		}
		# rsyms FILE: rspamd's, from a public client address (local ones skip DKIM).
		rsyms() {
			rspamc -h "127.0.0.1:$rport" --json -i 198.51.100.20 --helo mx.dkim.test \
				-F sender@dkim.test -r rcpt@example.com "$D/$1" >"$D/$1.json" 2>/dev/null &&
				$PY "$MOAT_SRCDIR/t/lib/dkim-gen.py" rspamd "$D/$1.json"
		}
		for pat in rsa-relaxed-.*\.eml ed-simple-.*\.eml '.*-body' '.*-header' '.*-l' '.*-bfold' \
			revoked-; do
			f=$(cd "$D" && ls | grep -E "^[0-9]{4}-$pat\$|^[0-9]{4}-$pat" | grep -v json | head -1)
			[ -n "$f" ] || continue
			tap_is "$(rsyms "$f")" "$(msyms "$f")" "rspamd's DKIM symbols and options equal moat's: $f"
		done
		# Where moat differs on purpose.
		f=$(cd "$D" && ls | grep -E '^[0-9]{4}-sha1-' | grep -v json | head -1)
		tap_like "$(rsyms "$f")" "R_DKIM_ALLOW\(dkim.test:s=sha1\)" \
			"rspamd accepts rsa-sha1 ($f) ..."
		tap_like "$(msyms "$f")" "R_DKIM_PERMFAIL\(dkim.test:s=sha1\)" \
			"... moat refuses it: RFC 8301 3.1, verifiers MUST NOT consider rsa-sha1 valid"
		f=$(cd "$D" && ls | grep -E '^[0-9]{4}-.*-expired$' | head -1)
		tap_is "$(rsyms "$f")" "" "rspamd gives an expired signature no DKIM symbol at all ($f) ..."
		tap_like "$(msyms "$f")" "R_DKIM_PERMFAIL\(dkim.test:s=rsa\)" \
			"... moat a PERMFAIL (RFC 6376 6.1.1: PERMFAIL, signature expired)"
		f=$(cd "$D" && ls | grep -E '^[0-9]{4}-small-' | grep -v json | head -1)
		tap_like "$(rsyms "$f")" "R_DKIM_ALLOW\(dkim.test:s=small\)" \
			"rspamd accepts a 512-bit RSA key ($f) ..."
		tap_like "$(msyms "$f")" "R_DKIM_PERMFAIL\(dkim.test:s=small\)" \
			"... moat refuses it: RFC 8301 3.2, keys under 1024 bits MUST NOT be valid"
		f=$(cd "$D" && ls | grep -E '^[0-9]{4}-wrongtype-' | grep -v json | head -1)
		tap_like "$(rsyms "$f")" "R_DKIM_REJECT\(dkim.test:s=wrongtype\)" \
			"rspamd calls an Ed25519 key for rsa-sha256 a bad signature ($f) ..."
		tap_like "$(msyms "$f")" "R_DKIM_PERMFAIL\(dkim.test:s=wrongtype\)" \
			"... moat a PERMFAIL: RFC 6376 6.1.2 step 7, inappropriate key algorithm"
	fi
else
	tap_skip "rspamd or rspamc not installed" 1
fi

if [ -n "$diffs" ]; then
	tap_diag "differences:" "$diffs"
fi
tap_done
