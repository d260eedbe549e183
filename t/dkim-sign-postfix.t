#!/bin/bash
# dkim-sign-postfix.t - DKIM signing through a real Postfix (issue 16).
# Keys made as docker-mailserver makes them (rspamadm dkim_keygen, its file
# names: an RSA-2048 and an Ed25519 key for moat.test, so dual signing) and
# a PKCS#1 key of OpenDKIM's kind for other.test, published by a private
# unbound. Postfix with Cyrus SASL (sasldb, as local-mail-postfix.t).
# - authenticated mail arrives at smtp-sink signed twice, and dkimpy,
#   OpenDKIM (opendkim -t, libunbound pointed at the same unbound) and
#   Debian's rspamd (R_DKIM_ALLOW) verify both signatures;
# - header and body edge cases survive: repeated Resent-To (and To, for
#   dkimpy and OpenDKIM), over-signed absent
#   headers (Cc, Reply-To), a long folded Subject, an 8-bit body;
# - unauthenticated inbound mail is not signed, nor (by default) sendmail's;
#   dkim_sign_networks = 127.0.0.1 signs the latter (SIGHUP);
# - a From domain without a key, a world-writable key, dkim_sign_mismatch =
#   no: unsigned, with a log line each;
# - scan_local = yes: the filter's own headers do not break the signature.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink sendmail unbound rspamadm openssl
PY=/usr/bin/python3
$PY -c 'import dkim, nacl, dns.resolver' 2>/dev/null ||
	tap_skip_all "dkimpy, PyNaCl or dnspython missing (Debian: python3-dkim python3-dnspython)"
postconf -a 2>/dev/null | grep -qx cyrus || tap_skip_all "Postfix without Cyrus SASL"
perl -MDB_File -e 1 2>/dev/null || tap_skip_all "no perl DB_File for the sasldb"

K=$H_TMP/dkim
mkdir -p "$K"
# The TXT record of a zone snippet as rspamadm prints it: its strings joined.
record() { grep -o '"[^"]*"' "$1" | tr -d '"\n'; }
rspamadm dkim_keygen -b 2048 -s mail -d moat.test -k "$K/rsa-2048-mail-moat.test.private.txt" \
	>"$K/rsa.public.txt" &&
	rspamadm dkim_keygen -t ed25519 -s ed -d moat.test -k "$K/ed25519-ed-moat.test.private.txt" \
		>"$K/ed.public.txt"
tap_ok "rspamadm makes an RSA-2048 and an Ed25519 key under DMS's names" \
	test -s "$K/rsa-2048-mail-moat.test.private.txt" -a -s "$K/ed25519-ed-moat.test.private.txt"
# other.test: PKCS#1 PEM, as opendkim-genkey and older openssl write it.
openssl genrsa -traditional -out "$K/rsa-1024-s2-other.test.private.txt" 1024 2>/dev/null
chmod 0640 "$K/rsa-1024-s2-other.test.private.txt"
other_p=$(openssl rsa -in "$K/rsa-1024-s2-other.test.private.txt" -pubout -outform DER 2>/dev/null | base64 -w0)
# bad.test: a good key, but world-writable.
cp "$K/ed25519-ed-moat.test.private.txt" "$K/ed25519-ed-bad.test.private.txt"
chmod 0666 "$K/ed25519-ed-bad.test.private.txt"

# The records, in strings of at most 255 bytes.
zone_line() { # NAME RECORD
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
	echo '  local-zone: "other.test." static'
	zone_line mail._domainkey.moat.test "$(record "$K/rsa.public.txt")"
	zone_line ed._domainkey.moat.test "$(record "$K/ed.public.txt")"
	zone_line s2._domainkey.other.test "v=DKIM1; k=rsa; p=$other_p"
} >"$K/zone.conf"
tap_ok "unbound serves the public keys" h_start_local_unbound dkim refuse "$K/zone.conf"
U_PORT=$H_LOCAL_UNBOUND_PORT

conf=$H_TMP/moat.conf
printf 'dkim_key_directory = %s\n' "$K" >"$conf"
tap_ok "moat-contentfilter starts with the key directory" m_start_contentfilter -c "$conf" \
	-o local_networks=127.0.0.1/32
tap_ok "...logs the RSA key" h_wait_log "dkim: RSA key for moat\.test selector mail \(2048 bits\)" 5 "$M_MILTER_LOG"
tap_ok "...the Ed25519 key made by rspamadm" h_wait_log "dkim: Ed25519 key for moat\.test selector ed \(256 bits\)" 5 "$M_MILTER_LOG"
tap_ok "...the PKCS#1 key" h_wait_log "dkim: RSA key for other\.test selector s2 \(1024 bits\)" 5 "$M_MILTER_LOG"
tap_ok "...and refuses the world-writable one in one line" h_wait_log \
	"warning: dkim: cannot use the key for bad\.test selector ed, .*: group- or world-writable \(mode 0666\)" 5 "$M_MILTER_LOG"

tap_ok "private Postfix with the milter for SMTP and local submission" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" \
	"non_smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail"
mkdir -p "$H_PF_DIR/sasl"
perl -MDB_File -MFcntl -e 'tie my %h, "DB_File", $ARGV[0], O_RDWR | O_CREAT, 0644, $DB_HASH or die "$!\n";
	$h{"alice\0moat.test\0userPassword"} = "secret"; untie %h' "$H_PF_DIR/sasl/sasldb2"
chmod 0644 "$H_PF_DIR/sasl/sasldb2"
printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: PLAIN LOGIN\n' \
	"$H_PF_DIR/sasl/sasldb2" >"$H_PF_DIR/sasl/smtpd.conf"
h_postfix_postconf -e "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" \
	"cyrus_sasl_config_path = $H_PF_DIR/sasl" "smtpd_sasl_local_domain = moat.test"
tap_ok "...with Cyrus SASL" h_postfix_reload

# The edge cases: two Resent-To fields, no Cc or Reply-To (over-signed
# anyway), a Subject folded over three lines, an 8-bit body with trailing
# blanks. (Two To fields would do for dkimpy and OpenDKIM, but Rspamd breaks
# DKIM on purpose for a repeated field that RFC 5322 says occurs once.)
msg() { # FROM SUBJECT
	printf 'From: Alice <%s>\nTo: bob@example.com\nResent-To: carol@example.com\n' "$1"
	printf 'Resent-To: dave@example.com\nSubject: %s\n' "$2"
	printf '\tcontinued on a second line, with  runs   of blanks\n\t and a third\n'
	printf 'Date: Thu, 03 Dec 2026 10:00:00 +0000\nMessage-ID: <%s@moat.test>\n' "$RANDOM$RANDOM"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
	printf 'Gr\303\274\303\237e aus M\303\274nchen  \t\nline two\n\n\n'
}
sent=0
send_auth() { # FROM SUBJECT [SWAKS-OPTS]
	local from=$1 subj=$2
	shift 2
	h_swaks --local-interface 127.0.0.2 --from "$from" --to bob@example.com \
		--auth PLAIN --auth-user alice --auth-password secret --data "$(msg "$from" "$subj")" "$@" 2>&1
}
oracle() { $PY "$MOAT_SRCDIR/t/lib/dkim-oracle.py" "$U_PORT" "$1" 2>>"$H_TMP/logs/oracle.log" | sort; }

out=$(send_auth alice@moat.test "signed twice")
tap_like "$out" "<-  235 2\.7\.0 Authentication successful" "SASL login"
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "authenticated mail accepted"
sent=$((sent + 1))
tap_ok "...arrives" h_sink_wait $sent 20
signed=$H_TMP/signed.eml
cp "$(h_sink_last)" "$signed"
tap_is "$(grep -c '^DKIM-Signature:' "$signed")" 2 "...with two DKIM-Signature fields (RSA and Ed25519)"
tap_like "$(grep -m1 -E '^(DKIM-Signature|Received: from moat-client)' "$signed")" "^DKIM-Signature:" \
	"...at the top of the header, above Postfix's Received"
tap_ok "...folded to at most 78 columns" \
	bash -c "! sed -n '/^DKIM-Signature:/,/^[^ \t]/p' '$signed' | expand | awk 'length > 78' | grep -q ."
hdr=$(sed -n '/^DKIM-Signature:/,/^[A-Z]/p' "$signed" | tr -d '\n\t ')
tap_like "$hdr" "c=relaxed/relaxed;d=moat\.test;s=mail;t=[0-9]+;h=from:from:reply-to:subject:subject:date:date:message-id:message-id:to:to:cc:mime-version:mime-version:content-type:content-type:content-transfer-encoding:content-transfer-encoding:resent-to:resent-to;" \
	"h=: Rspamd's list, From/Reply-To/Subject/To/Cc over-signed always, the others when present, Resent-To as often as present"
tap_is "$(oracle "$signed")" "d=moat.test s=ed a=ed25519-sha256 pass
d=moat.test s=mail a=rsa-sha256 pass" "dkimpy passes both signatures"
tap_ok "moat's log says it signed" h_wait_log ": dkim: signed d=moat\.test \(s=ed a=ed25519-sha256, s=mail a=rsa-sha256\)" 5 "$M_MILTER_LOG"

# A body of 300 KB: Postfix sends it in several chunks, none of which the
# filter may skip (it skips the body of unscanned local mail it does not sign).
big=$H_TMP/big.txt
{ msg alice@moat.test "a big one"; for i in $(seq 1 5000); do echo "line $i of a long body, 8-bit: \303\251t\303\251"; done; } >"$big"
h_swaks --local-interface 127.0.0.2 --from alice@moat.test --to bob@example.com \
	--auth PLAIN --auth-user alice --auth-password secret --data "@$big" >/dev/null 2>&1
sent=$((sent + 1))
h_sink_wait $sent 20
cp "$(h_sink_last)" "$H_TMP/big.eml"
tap_is "$(oracle "$H_TMP/big.eml")" "d=moat.test s=ed a=ed25519-sha256 pass
d=moat.test s=mail a=rsa-sha256 pass" "a 300 KB body, unscanned local mail: dkimpy passes both signatures"

# OpenDKIM, through libunbound asking the same unbound.
if command -v opendkim >/dev/null || [ -x /usr/sbin/opendkim ]; then
	# libunbound answers .test itself (RFC 6761) and never asks 127.0.0.1, unless told.
	printf 'server:\n  do-ip6: no\n  do-not-query-localhost: no\n  local-zone: "test." nodefault\nforward-zone:\n  name: "."\n  forward-addr: 127.0.0.1@%s\n' \
		"$U_PORT" >"$K/libunbound.conf"
	printf 'Mode v\nResolverConfiguration %s\nSyslog no\nAlwaysAddARHeader yes\n' \
		"$K/libunbound.conf" >"$K/opendkim.conf"
	odk() { /usr/sbin/opendkim -x "$K/opendkim.conf" -t "$1" 2>&1; }
	# OpenDKIM's test mode reports the first signature: each alone, the other removed.
	drop_first_sig() {
		awk '/^DKIM-Signature:/ && !done {skip = 1; done = 1; next}
			skip && /^[ \t]/ {next} {skip = 0; print}' "$1"
	}
	tap_like "$(odk "$signed")" "verification \(s=mail, d=moat\.test, 2048-bit key\) succeeded" \
		"OpenDKIM verifies the RSA-2048 signature"
	drop_first_sig "$signed" >"$H_TMP/ed-only.eml"
	tap_like "$(odk "$H_TMP/ed-only.eml")" "verification \(s=ed, d=moat\.test, [0-9]+-bit key\) succeeded" \
		"...and the Ed25519 one"
	# Two To fields: fine for dkimpy and OpenDKIM (Rspamd breaks DKIM on it on purpose).
	h_swaks --local-interface 127.0.0.2 --from alice@moat.test --to bob@example.com \
		--auth PLAIN --auth-user alice --auth-password secret \
		--data "$(msg alice@moat.test "two To fields" | sed '2a To: erin@example.com')" >/dev/null 2>&1
	sent=$((sent + 1))
	h_sink_wait $sent 20
	cp "$(h_sink_last)" "$H_TMP/two-to.eml"
	tap_like "$(grep -c '^To:' "$H_TMP/two-to.eml")/$(tr -d '\n\t ' <"$H_TMP/two-to.eml")" "^2/.*h=[^;]*:to:to:to:" \
		"two To fields: signed as such, To over-signed (h= names it three times)"
	tap_is "$(oracle "$H_TMP/two-to.eml" | grep -c pass)" 2 "...dkimpy passes both signatures"
	tap_like "$(odk "$H_TMP/two-to.eml")" "verification \(s=mail, d=moat\.test, 2048-bit key\) succeeded" \
		"...and OpenDKIM the RSA one"
else
	tap_skip "opendkim not installed" 5
fi

# Rspamd 3.4, on the same unbound, from a public client address.
if command -v rspamd >/dev/null && command -v rspamc >/dev/null; then
	. "$MOAT_SRCDIR/t/bench/peers.sh"
	NX_PORT=$U_PORT
	R=$H_TMP/rspamd
	rport=$(h_free_port)
	bench_rspamd_config "$R" 1 "$rport"
	bench_rspamd_run "$R"
	rspamd_syms() { # FILE: rspamc's DKIM lines, one line
		rspamc -h "127.0.0.1:$rport" -i 198.51.100.20 --helo mx.example.net -F alice@moat.test \
			-r bob@example.com "$1" 2>&1 | grep -E '^Symbol: (R_DKIM|DKIM_TRACE)' | tr '\n' ' '
	}
	if tap_ok "rspamd starts" h_wait_port "$rport" 120 "$RSPAMD_PID"; then
		out=$(rspamd_syms "$signed")
		tap_like "$out" "R_DKIM_ALLOW \([-0-9.]*\)\[moat\.test:s=(mail|ed), moat\.test:s=(ed|mail)\]" \
			"rspamd: R_DKIM_ALLOW for both signatures"
		tap_like "$out" "DKIM_TRACE \(0\.00\)\[moat\.test:\+\]" "...DKIM_TRACE moat.test:+"
		tap_ok "...and no R_DKIM_REJECT" bash -c "! echo '$out' | grep -q R_DKIM_REJECT"
	fi
else
	tap_skip "rspamd not installed" 4
fi

# Inbound: no login, a client not in dkim_sign_networks.
out=$(h_swaks --local-interface 127.0.0.2 --from alice@moat.test --to bob@example.com \
	--data "$(msg alice@moat.test inbound)" 2>&1)
sent=$((sent + 1))
tap_ok "unauthenticated inbound mail arrives" h_sink_wait $sent 20
tap_ok "...unsigned, though its From domain has keys" bash -c "! grep -q '^DKIM-Signature:' '$(h_sink_last)'"

msg root@moat.test "from cron" | sendmail -C "$H_PF_DIR" -f root@moat.test bob@example.com
sent=$((sent + 1))
tap_ok "sendmail mail arrives" h_sink_wait $sent 20
tap_ok "...unsigned by default (127.0.0.1 is not in dkim_sign_networks)" \
	bash -c "! grep -q '^DKIM-Signature:' '$(h_sink_last)'"

# No key for the From domain; the world-writable key's domain.
send_auth alice@nokey.example "no key" >/dev/null
sent=$((sent + 1))
tap_ok "a From domain without a key: arrives" h_sink_wait $sent 20
tap_ok "...unsigned" bash -c "! grep -q '^DKIM-Signature:' '$(h_sink_last)'"
tap_ok "...and the log says why" h_wait_log ": dkim: not signed: no usable key for nokey\.example" 5 "$M_MILTER_LOG"
send_auth alice@bad.test "bad key" >/dev/null
sent=$((sent + 1))
h_sink_wait $sent 20
tap_ok "the world-writable key's domain: unsigned" bash -c "! grep -q '^DKIM-Signature:' '$(h_sink_last)'"
tap_ok "...with a log line" h_wait_log ": dkim: not signed: no usable key for bad\.test" 5 "$M_MILTER_LOG"

# Another domain than the login's: signed (dkim_sign_mismatch = yes, DMS's default);
# the From's subdomain is signed with the registrable domain's key (use_esld).
send_auth alice@mail.other.test "other domain" >/dev/null
sent=$((sent + 1))
h_sink_wait $sent 20
cp "$(h_sink_last)" "$H_TMP/other.eml"
tap_is "$(oracle "$H_TMP/other.eml")" "d=other.test s=s2 a=rsa-sha256 pass" \
	"From: alice@mail.other.test: signed d=other.test with the PKCS#1 key; dkimpy passes it"

# SIGHUP: dkim_sign_mismatch = no, 127.0.0.1 in dkim_sign_networks, scan_local = yes;
# every scanned message has its Subject rewritten from now on.
sqlite3 "$H_TMP/state/moat.db" "UPDATE actions SET threshold = -50 WHERE name = 'rewrite subject'"
printf 'dkim_sign_mismatch = no\ndkim_sign_networks = 127.0.0.1\nscan_local = yes\n' >>"$conf"
kill -HUP "$M_MILTER_PID"
tap_ok "SIGHUP re-reads the signing settings and the keys" h_wait_log "dkim: .* signing mail of authenticated senders and of 127\.0\.0\.1/32" 5 "$M_MILTER_LOG"
tap_ok "...logging the bad key again" h_wait_for 5 _h_count_gt "group- or world-writable" "$M_MILTER_LOG" 1
# The rules (the rewrite threshold) are re-read every 2 s, not on SIGHUP: under load the
# next message could otherwise still be scored with the old threshold.
sleep 3
send_auth alice@other.test "mismatch" >/dev/null
sent=$((sent + 1))
h_sink_wait $sent 20
tap_ok "dkim_sign_mismatch = no: alice@moat.test's mail From other.test is unsigned" \
	bash -c "! grep -q '^DKIM-Signature:' '$(h_sink_last)'"
tap_ok "...with a log line" h_wait_log "dkim: not signed: login alice@moat\.test may not sign for other\.test" 5 "$M_MILTER_LOG"
send_auth alice@moat.test "scanned and signed" >/dev/null
sent=$((sent + 1))
h_sink_wait $sent 20
cp "$(h_sink_last)" "$H_TMP/scanned.eml"
tap_ok "scan_local = yes: the filter's headers are there" grep -q '^X-Spamd-Result:' "$H_TMP/scanned.eml"
tap_ok "...and its Subject rewritten" grep -q '^Subject: \[SPAM\] scanned and signed' "$H_TMP/scanned.eml"
tap_is "$(oracle "$H_TMP/scanned.eml")" "d=moat.test s=ed a=ed25519-sha256 pass
d=moat.test s=mail a=rsa-sha256 pass" "...and the signatures, made after both, pass"
msg root@moat.test "from cron, signed" | sendmail -C "$H_PF_DIR" -f root@moat.test bob@example.com
sent=$((sent + 1))
h_sink_wait $sent 20
cp "$(h_sink_last)" "$H_TMP/local.eml"
tap_is "$(oracle "$H_TMP/local.eml" | wc -l)" 2 "dkim_sign_networks = 127.0.0.1: sendmail mail is signed"
tap_is "$(oracle "$H_TMP/local.eml" | grep -c pass)" 2 "...and dkimpy passes it"

# A key replaced in place is used without a restart.
rspamadm dkim_keygen -t ed25519 -s ed -d moat.test -k "$K/ed25519-ed-moat.test.private.txt" >"$K/ed2.public.txt"
sleep 1.1
send_auth alice@moat.test "new key" >/dev/null
sent=$((sent + 1))
h_sink_wait $sent 20
# Read at start, on SIGHUP and now: three times.
tap_ok "a renewed key file is read again without a restart" \
	h_wait_for 5 _h_count_gt "dkim: Ed25519 key for moat\.test selector ed " "$M_MILTER_LOG" 2
tap_like "$(oracle "$(h_sink_last)")" "s=ed a=ed25519-sha256 fail" \
	"...the new key signs (its record is not published yet: dkimpy fails it)"

h_postfix_stop
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
