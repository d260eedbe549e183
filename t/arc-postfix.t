#!/bin/bash
# arc-postfix.t - ARC verification on the real path: corpus messages sealed
# by dkimpy forwarders (t/lib/arc-gen.py) are sent through a private Postfix
# to moat-contentfilter, whose resolver is a private unbound serving the
# sealers' keys. A valid chain (three forwarders, a mailing list that
# changed the message before it sealed) arrives with ARC_ALLOW in
# X-Spamd-Result; a body changed after sealing with ARC_REJECT; a seal
# removed with ARC_INVALID; unsealed mail with ARC_NA.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink
PY=/usr/bin/python3
CORPUS=$MOAT_SRCDIR/../shared/corpus
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || tap_skip_all "unbound not installed"
$PY -c 'import dkim, nacl, authres' 2>/dev/null ||
	tap_skip_all "dkimpy, PyNaCl or authres missing (Debian: python3-dkim python3-authres)"
[ -d "$CORPUS/ham" ] || tap_skip_all "no corpus at $CORPUS"

D=$H_TMP/arc
mkdir -p "$D"
# One round of arc-gen.py's variants.
tap_ok "dkimpy seals corpus messages through 1 to 3 forwarders" \
	$PY "$MOAT_SRCDIR/t/lib/arc-gen.py" gen "$CORPUS" 22 "$D"
tap_ok "unbound serves the sealers' keys" h_start_local_unbound arc refuse "$D/unbound-data.conf"
m_ctl migrate >/dev/null
# Corpus spam would be greylisted or refused before its symbols could be seen.
sqlite3 "$(m_state)/moat.db" "UPDATE actions SET threshold = NULL WHERE name IN ('greylist', 'reject')"
tap_ok "moat-contentfilter starts, resolving through that unbound" \
	m_start_contentfilter -o dns_servers="127.0.0.1:$H_LOCAL_UNBOUND_PORT"
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"

n=0
# deliver FILE: sent through Postfix; prints the X-Spamd-Result that arrived.
deliver() {
	local out
	out=$(h_swaks --from sender@example.org --to bob@example.com --data "@$1" 2>&1)
	case $out in *"250 2.0.0 Ok: queued"*) ;; *) echo "not queued: $out"; return 1 ;; esac
	n=$((n + 1))
	h_sink_wait "$n" 20 || return 1
	sed -n '/^X-Spamd-Result:/,/^[^ \t]/p' "$(h_sink_last)"
}
pick() { ls "$D" | grep -E "^[0-9]{4}-$1\$" | head -1; }

tap_like "$(deliver "$D/$(pick '3hop-rsa-ed-rsa-.*\.eml')")" \
	"ARC_ALLOW\(-?[0-9.]+\)\[hop3\.arc\.test:s=rsa:i=3\]" \
	"three forwarders (RSA, Ed25519, RSA): ARC_ALLOW with its option"
tap_like "$(deliver "$D/$(pick '3hop-rsa-rsa-ed-.*-list')")" \
	"ARC_ALLOW\(-?[0-9.]+\)\[hop3\.arc\.test:s=ed:i=3\]" \
	"a list tagged the Subject and added a footer, then sealed: ARC_ALLOW"
tap_like "$(deliver "$D/$(pick '2hop-rsa-rsa-.*-body')")" \
	"ARC_REJECT\(-?[0-9.]+\)\[signature check failed: fail" \
	"the body changed after the last seal: ARC_REJECT"
tap_like "$(deliver "$D/$(pick '3hop-rsa-rsa-rsa-.*-noseal')")" \
	"ARC_INVALID\(-?[0-9.]+\)\[invalid count of seals and signatures\]" \
	"a seal removed: ARC_INVALID"
tap_like "$(deliver "$CORPUS/ham/$(ls "$CORPUS/ham" | head -1)")" "ARC_NA\(" \
	"unsealed mail: ARC_NA"
tap_done
