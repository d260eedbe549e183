#!/bin/bash
# dkim-ctl.t - moatctl dkim (issue 16): keygen writes DMS's file names and
# modes and a record that openssl agrees is the key's; list shows what the
# content filter would use and why a key is refused; check asks a private
# unbound and tells ok, missing, mismatched, revoked and too short apart;
# import maps a DMS rspamd/dkim directory and an OpenDKIM KeyTable (DMS's
# container paths) into dkim_keys in one transaction, with --dry-run.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need unbound openssl sqlite3
K=$H_TMP/keys
db=$H_TMP/state/moat.db
ctl() { m_ctl -o dkim_key_directory="$K" -o run_as="$(id -un)" "$@"; }

out=$(ctl dkim keygen moat.test 2>&1)
tap_like "$out" "private key: $K/rsa-2048-mail-moat\.test\.private\.txt \(0640" \
	"keygen: DMS's defaults and file name (rsa, 2048 bits, selector mail)"
tap_is "$(stat -c %a "$K/rsa-2048-mail-moat.test.private.txt")" 640 "...mode 0640"
tap_is "$(stat -c %U "$K/rsa-2048-mail-moat.test.private.txt")" "$(id -un)" "...owned by run_as"
rec=$(cat "$K/rsa-2048-mail-moat.test.public.dns.txt")
pub=$(openssl pkey -in "$K/rsa-2048-mail-moat.test.private.txt" -pubout -outform DER 2>/dev/null | base64 -w0)
tap_is "$rec" "v=DKIM1; k=rsa; p=$pub" "...the one-line record holds the key's public half (openssl)"
tap_is "$(echo "$out" | grep -A1 '^one line:' | tail -1)" "$rec" "...and is printed"
tap_is "$(grep -o '"[^"]*"' "$K/rsa-2048-mail-moat.test.public.txt" | awk '{ if (length($0) - 2 > 255) print "long" }')" "" \
	"...the zone snippet's strings are at most 255 bytes"
tap_is "$(grep -o '"[^"]*"' "$K/rsa-2048-mail-moat.test.public.txt" | tr -d '"\n')" "$rec" \
	"...and joined are the record"
tap_like "$(head -1 "$K/rsa-2048-mail-moat.test.public.txt")" '^mail\._domainkey IN TXT \( "v=DKIM1; k=rsa; "$' \
	"...in rspamadm's zone-file form"
out=$(ctl dkim keygen moat.test 2>&1)
tap_is "$?" 1 "keygen again: refused"
tap_like "$out" "File exists \(--force replaces it\)" "...saying how to replace it"
ctl dkim keygen moat.test --type ed25519 --selector ed >/dev/null 2>&1
tap_ok "keygen --type ed25519: ed25519-SELECTOR-DOMAIN.private.txt" test -s "$K/ed25519-ed-moat.test.private.txt"
tap_is "$(base64 -d "$K/ed25519-ed-moat.test.private.txt" | wc -c)" 64 \
	"...base64 of 64 raw bytes, as rspamadm writes it"
ctl dkim keygen other.test --selector gone >/dev/null 2>&1
ctl dkim keygen other.test --selector rev >/dev/null 2>&1
ctl dkim keygen other.test --selector swap >/dev/null 2>&1
openssl genrsa -traditional -out "$K/rsa-512-small-other.test.private.txt" 512 2>/dev/null
chmod 0640 "$K/rsa-512-small-other.test.private.txt"
cp "$K/ed25519-ed-moat.test.private.txt" "$K/ed25519-ww-other.test.private.txt"
chmod 0666 "$K/ed25519-ww-other.test.private.txt"

out=$(ctl dkim list)
tap_like "$out" $'moat\.test\tmail\trsa\t2048\tdirectory\t[^\t]*\tok' "list: the RSA key, ok"
tap_like "$out" $'moat\.test\ted\ted25519\t256\tdirectory\t[^\t]*\tok' "list: the Ed25519 key, ok"
tap_like "$out" $'other\.test\tww\t-\t0\tdirectory\t[^\t]*\tgroup- or world-writable \(mode 0666\)' \
	"list: a world-writable key, and why it is not used"

# DNS: mail ok, ed mismatched (another Ed25519 key), rev revoked, swap holds
# mail's record (mismatched), gone missing, small published but too short.
other=$(openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
zl() { printf "  local-data: '%s. 300 IN TXT \"%s\" \"%s\"'\n" "$1" "${2:0:200}" "${2:200}"; }
{
	echo '  local-zone: "moat.test." static'
	echo '  local-zone: "other.test." static'
	zl mail._domainkey.moat.test "$rec"
	zl ed._domainkey.moat.test "v=DKIM1; k=ed25519; p=$other"
	zl rev._domainkey.other.test "v=DKIM1; k=rsa; p="
	zl swap._domainkey.other.test "$rec"
	zl small._domainkey.other.test "v=DKIM1; k=rsa; p=$(openssl rsa -in "$K/rsa-512-small-other.test.private.txt" -pubout -outform DER 2>/dev/null | base64 -w0)"
} >"$H_TMP/zone.conf"
tap_ok "unbound serves the records" h_start_local_unbound dkim refuse "$H_TMP/zone.conf"
out=$(ctl -o dns_servers="127.0.0.1:$H_LOCAL_UNBOUND_PORT" dkim check 2>&1)
tap_is "$?" 1 "check: exit 1 when a key is not ok"
tap_like "$out" $'mail\._domainkey\.moat\.test\tok' "check: ok"
tap_like "$out" $'ed\._domainkey\.moat\.test\tmismatched' "check: another key published: mismatched"
tap_like "$out" $'swap\._domainkey\.other\.test\tmismatched' "check: another domain's record: mismatched"
tap_like "$out" $'rev\._domainkey\.other\.test\trevoked' "check: empty p=: revoked"
tap_like "$out" $'gone\._domainkey\.other\.test\tmissing' "check: no record: missing"
tap_like "$out" $'small\._domainkey\.other\.test\ttoo short' "check: a 512-bit key: too short"
out=$(ctl -o dns_servers="127.0.0.1:$H_LOCAL_UNBOUND_PORT" dkim check moat.test 2>&1)
tap_is "$(echo "$out" | wc -l)" 2 "check DOMAIN: only that domain's keys"
out=$(ctl -o dns_servers="127.0.0.1:$H_LOCAL_UNBOUND_PORT" dkim check nosuch.example 2>&1)
tap_is "$?" 1 "check of a domain without keys: exit 1"

# import: DMS's rspamd/dkim directory.
D=$H_TMP/dms/rspamd/dkim
mkdir -p "$D"
cp "$K/rsa-2048-mail-moat.test.private.txt" "$D/rsa-2048-mail-imported.test.private.txt"
cp "$K/rsa-2048-mail-moat.test.public.txt" "$D/rsa-2048-mail-imported.test.public.txt"
out=$(m_ctl dkim import --dry-run "$D" 2>&1)
tap_like "$out" "would map imported\.test selector mail \(rsa, 2048 bits\)" "import --dry-run: what it would map"
tap_is "$(sqlite3 "$db" "SELECT count(*) FROM dkim_keys")" 0 "...and nothing written"
out=$(m_ctl dkim import "$D" 2>&1)
tap_is "$(sqlite3 "$db" "SELECT domain || ' ' || selector || ' ' || path FROM dkim_keys")" \
	"imported.test mail $D/rsa-2048-mail-imported.test.private.txt" "import DIR: the DMS key mapped"
# An OpenDKIM layout as DMS had it: container paths in the KeyTable.
O=$H_TMP/dms/opendkim
mkdir -p "$O/keys/legacy.test"
openssl genrsa -out "$O/keys/legacy.test/mail.private" 2048 2>/dev/null
chmod 0640 "$O/keys/legacy.test/mail.private"
printf 'mail._domainkey.legacy.test legacy.test:mail:/etc/opendkim/keys/legacy.test/mail.private\n' >"$O/KeyTable"
printf '*@legacy.test mail._domainkey.legacy.test\n' >"$O/SigningTable"
printf 'mail._domainkey.broken.test broken.test:mail:%s\n' "$O/keys/nokey.private" >>"$O/KeyTable"
out=$(m_ctl dkim import "$O" 2>&1)
tap_is "$?" 1 "an OpenDKIM KeyTable naming a missing key: refused"
tap_like "$out" "nothing imported" "...nothing imported"
tap_is "$(sqlite3 "$db" "SELECT count(*) FROM dkim_keys WHERE domain = 'legacy.test'")" 0 "...not even the good line"
sed -i '$d' "$O/KeyTable"
out=$(m_ctl dkim import "$O" 2>&1)
tap_is "$(sqlite3 "$db" "SELECT path FROM dkim_keys WHERE domain = 'legacy.test'")" \
	"$O/keys/legacy.test/mail.private" "KeyTable: the container path found under DIR/keys/DOMAIN/"
tap_like "$(ctl dkim list)" $'legacy\.test\tmail\trsa\t2048\ttable\t' "list shows the table's keys"
tap_done
