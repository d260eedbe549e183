#!/bin/bash
# arc-seal-postfix.t - ARC sealing through a real Postfix (issue 16). The
# sealing key is moat.test's DKIM key (DMS's file name), the keys served by
# a private unbound that the filter resolves through too; dkimpy's
# arc_verify judges what arrives at smtp-sink:
# - arc_seal = no (the default): inbound mail goes out unsealed;
# - arc_seal = yes (SIGHUP): mail to bob@moat.test from outside is sealed
#   i=1, cv=none, with the recipient's domain's key: dkimpy passes it;
# - a message that dkimpy sealed at a first forwarder (i=1) gets i=2,
#   cv=pass, moat's ARC-Authentication-Results saying arc=pass: dkimpy
#   passes the chain of two;
# - that chain broken (body changed after i=1): sealed i=2 with cv=fail, and
#   dkimpy verifies that seal and ends the chain there; arc_seal_inbound =
#   no: inbound mail is not sealed.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink unbound openssl
PY=/usr/bin/python3
$PY -c 'import dkim, dns.resolver' 2>/dev/null ||
	tap_skip_all "dkimpy or dnspython missing (Debian: python3-dkim python3-dnspython)"

K=$H_TMP/dkim
mkdir -p "$K"
openssl genrsa -out "$K/rsa-2048-mail-moat.test.private.txt" 2048 2>/dev/null
chmod 0640 "$K/rsa-2048-mail-moat.test.private.txt"
openssl genrsa -out "$H_TMP/fwd.pem" 2048 2>/dev/null
pub() { openssl rsa -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0; }
zone_line() { # NAME RECORD, in strings of 200 bytes
	local rec=$2
	printf "  local-data: '%s. 300 IN TXT" "$1"
	while [ -n "$rec" ]; do
		printf ' "%s"' "${rec:0:200}"
		rec=${rec:200}
	done
	printf "'\n"
}
{
	echo '  local-zone: "moat.test." static'
	echo '  local-zone: "fwd.test." static'
	zone_line mail._domainkey.moat.test "v=DKIM1; k=rsa; p=$(pub "$K/rsa-2048-mail-moat.test.private.txt")"
	zone_line arc._domainkey.fwd.test "v=DKIM1; k=rsa; p=$(pub "$H_TMP/fwd.pem")"
} >"$K/zone.conf"
tap_ok "unbound serves moat.test's key and a forwarder's" h_start_local_unbound arcseal refuse "$K/zone.conf"
U_PORT=$H_LOCAL_UNBOUND_PORT

m_ctl migrate >/dev/null
sqlite3 "$(m_state)/moat.db" "UPDATE actions SET threshold = NULL WHERE name IN ('greylist', 'reject')"
conf=$H_TMP/moat.conf
printf 'dkim_key_directory = %s\n' "$K" >"$conf"
tap_ok "moat-contentfilter starts, resolving through that unbound" m_start_contentfilter -c "$conf" \
	-o dns_servers="127.0.0.1:$U_PORT"
tap_ok "private Postfix with the milter" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"

msg() { # SUBJECT
	printf 'From: Alice <alice@example.org>\nTo: bob@moat.test\nSubject: %s\n' "$1"
	printf 'Date: Thu, 03 Dec 2026 10:00:00 +0000\nMessage-ID: <%s@example.org>\n' "$RANDOM$RANDOM"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello  Bob,\n\tforwarded.\n\n'
}
n=0
deliver() { # FILE -> the file that arrived, as $H_TMP/got-N.eml
	h_swaks --from alice@example.org --to bob@moat.test --data "@$1" >/dev/null 2>&1
	n=$((n + 1))
	h_sink_wait $n 20 && cp "$(h_sink_last)" "$H_TMP/got-$n.eml"
}
verdict() { $PY "$MOAT_SRCDIR/t/lib/arc-oracle.py" verify "$U_PORT" "$1" 2>>"$H_TMP/logs/oracle.log" | head -1; }

msg "not sealed by default" >"$H_TMP/plain.eml"
tap_ok "arc_seal = no: inbound mail arrives" deliver "$H_TMP/plain.eml"
tap_ok "...unsealed" bash -c "! grep -q '^ARC-' '$H_TMP/got-$n.eml'"

printf 'arc_seal = yes\n' >>"$conf"
kill -HUP "$M_MILTER_PID"
tap_ok "SIGHUP: arc_seal = yes" h_wait_log "arc: sealing mail moat signs and all other mail" 5 "$M_MILTER_LOG"
msg "sealed once" >"$H_TMP/one.eml"
tap_ok "inbound mail arrives" deliver "$H_TMP/one.eml"
one=$H_TMP/got-$n.eml
tap_is "$(grep -c '^ARC-' "$one")" 3 "...with one ARC set"
tap_like "$(tr -d '\n\t ' <"$one")" "ARC-Seal:i=1;a=rsa-sha256;t=[0-9]+;cv=none;d=moat\.test;s=mail;b=" \
	"...ARC-Seal i=1, cv=none, the recipient's domain's key"
tap_like "$(grep '^ARC-Authentication-Results:' "$one")" "^ARC-Authentication-Results: i=1; [^;]+; " \
	"...ARC-Authentication-Results i=1 with our authserv-id"
tap_is "$(verdict "$one")" "pass i=1 seal=valid" "dkimpy's arc_verify passes i=1"
tap_ok "...and the log says so" h_wait_log ": arc: sealed i=1 d=moat\.test s=mail cv=none" 5 "$M_MILTER_LOG"

msg "forwarded twice" >"$H_TMP/two.in"
$PY "$MOAT_SRCDIR/t/lib/arc-oracle.py" seal "$H_TMP/fwd.pem" fwd.test arc "$H_TMP/two.in" >"$H_TMP/two.eml"
tap_is "$(verdict "$H_TMP/two.eml")" "pass i=1 seal=valid" "dkimpy seals a first hop (i=1, fwd.test)"
tap_ok "it arrives" deliver "$H_TMP/two.eml"
two=$H_TMP/got-$n.eml
tap_like "$(tr -d '\n\t ' <"$two")" "ARC-Seal:i=2;a=rsa-sha256;t=[0-9]+;cv=pass;d=moat\.test;s=mail;b=" \
	"...sealed i=2, cv=pass"
tap_like "$(sed -n '/^ARC-Authentication-Results: i=2/,/^[^ \t]/p' "$two" | tr -d '\n\t')" "arc=pass" \
	"...its ARC-Authentication-Results say arc=pass"
tap_is "$(verdict "$two")" "pass i=2 seal=valid" "dkimpy's arc_verify passes the chain of two"

sed 's/^Hello  Bob,/Hello Eve,/' "$H_TMP/two.eml" >"$H_TMP/broken.eml"
tap_ok "a chain broken after i=1 arrives" deliver "$H_TMP/broken.eml"
tap_like "$(tr -d '\n\t ' <"$H_TMP/got-$n.eml")" "ARC-Seal:i=2;a=rsa-sha256;t=[0-9]+;cv=fail;" \
	"...sealed i=2 with cv=fail"
tap_is "$(verdict "$H_TMP/got-$n.eml")" "ended i=2 seal=valid" \
	"...dkimpy: the new AMS and seal verify, and the chain has ended (cv=fail)"

printf 'arc_seal_inbound = no\n' >>"$conf"
kill -HUP "$M_MILTER_PID"
tap_ok "SIGHUP: arc_seal_inbound = no" h_wait_log "arc: sealing mail moat signs$" 5 "$M_MILTER_LOG"
tap_ok "inbound mail arrives" deliver "$H_TMP/plain.eml"
tap_ok "...unsealed" bash -c "! grep -q '^ARC-' '$H_TMP/got-$n.eml'"

h_postfix_stop
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
