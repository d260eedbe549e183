#!/bin/bash
# checks-mua.t - Rspamd's header heuristics for ratware (shared/scan/check_mua.c):
# each fires on a hand-made message showing it, and none on a genuine
# Outlook Express reply to unsorted recipients.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
# tap_unlike GOT RE DESC: GOT is a scan result (empty output would match
# nothing) and does not match RE.
tap_unlike() {
	if [[ $1 != *"Action: "* ]]; then
		tap_is "${1:-(no output)}" "a scan result with an Action line" "$3"
	elif [[ $1 =~ $2 ]]; then
		tap_is "${BASH_REMATCH[0]}" "" "$3"
	else
		tap_is "" "" "$3"
	fi
}
fx=$MOAT_SRCDIR/t/data/mua
m_quiet_zones	# the shipped lists stay off: nothing may ask the internet

out=$(m_ctl scan --no-dns "$fx/forged-oe.eml")
tap_like "$out" "Symbol: FORGED_MUA_OUTLOOK \(3\.00\)" "Outlook Express X-Mailer with a Message-ID it never makes"
tap_like "$out" "Symbol: MISSING_MIMEOLE \(2\.00\)" "X-MSMail-Priority without X-MimeOLE"
tap_like "$out" "Symbol: R_UNDISC_RCPT \(3\.00\)" "To: undisclosed-recipients:;"
tap_like "$out" "Symbol: R_MISSING_CHARSET \(0\.50\)" "8bit text/plain without a charset"
tap_like "$out" "Symbol: CT_EXTRA_SEMI \(1\.00\)" "Content-Type ending in ';'"
tap_unlike "$out" "SORTED_RECIPS" "no recipient list, not sorted"

out=$(m_ctl scan --no-dns "$fx/sorted-rcpts.eml")
tap_like "$out" "Symbol: SORTED_RECIPS \(3\.50\)" "seven To/Cc addresses in alphabetical order"
tap_unlike "$out" "R_MISSING_CHARSET|CT_EXTRA_SEMI|FORGED_MUA_OUTLOOK" "a charset, a clean Content-Type, no X-Mailer"

out=$(m_ctl scan --no-dns "$fx/genuine-oe.eml")
none="FORGED_MUA_OUTLOOK|MISSING_MIMEOLE|R_UNDISC_RCPT|SORTED_RECIPS|R_MISSING_CHARSET"
none+="|CT_EXTRA_SEMI|RATWARE_MS_HASH|FORGED_OUTLOOK_HTML|FORGED_X_MAILER|SIGNED_PGP"
tap_unlike "$out" "$none" \
	"a genuine Outlook Express message to seven unsorted recipients: none of them"

out=$(m_ctl scan --no-dns "$fx/ratware-hash.eml")
tap_like "$out" "Symbol: RATWARE_MS_HASH \(2\.00\)" "an Outlook-style Message-ID without X-MimeOLE"
tap_like "$out" "Symbol: MIME_HEADER_CTYPE_ONLY \(2\.00\)" "text/html Content-Type and no other MIME header"

out=$(m_ctl scan --no-dns "$fx/thebat.eml")
tap_like "$out" "Symbol: FORGED_MUA_THEBAT_MSGID \(4\.00\)" "The Bat! X-Mailer with a Message-ID The Bat! does not make"
tap_unlike "$out" "MIME_HEADER_CTYPE_ONLY|RATWARE_MS_HASH" "MIME-Version present, no Outlook Message-ID"
sed 's/^Message-ID: .*/Message-ID: <x-y@sender.example>/' "$fx/thebat.eml" >"$H_TMP/bat2.eml"
tap_like "$(m_ctl scan --no-dns "$H_TMP/bat2.eml")" "Symbol: FORGED_MUA_THEBAT_MSGID_UNKNOWN \(3\.00\)" \
	"The Bat! with a Message-ID of no known form"
sed 's/^Message-ID: .*/Message-ID: <12.20260601100000@sender.example>/' "$fx/thebat.eml" >"$H_TMP/bat3.eml"
tap_unlike "$(m_ctl scan --no-dns "$H_TMP/bat3.eml")" "FORGED_MUA_THEBAT" "The Bat!'s own Message-ID form: not forged"

out=$(m_ctl scan --no-dns "$fx/outlook-html.eml")
tap_like "$out" "Symbol: FORGED_OUTLOOK_HTML \(5\.00\)" "Outlook X-Mailer on an HTML-only message"
tap_unlike "$out" "FORGED_MUA_OUTLOOK|MISSING_MIMEOLE|RATWARE_MS_HASH" "its Message-ID and X-MimeOLE are Outlook's own"

out=$(m_ctl scan --no-dns "$fx/mixed-bogus.eml")
tap_like "$out" "Symbol: CTYPE_MIXED_BOGUS \(1\.00\)" "multipart/mixed holding one text part"
tap_like "$out" "Symbol: MIME_BASE64_TEXT_BOGUS \(1\.00\)" "plain ASCII text sent in base64"
tap_like "$out" "Symbol: INTRODUCTION \(2\.00\)" "shipped body rule: the sender introduces himself (decoded text)"
tap_like "$out" "Symbol: FORGED_X_MAILER \(4\.50\)" "shipped header rule: 'X-Mailer: ' repeated in the value"

out=$(m_ctl scan --no-dns "$fx/signed.eml")
tap_like "$out" "Symbol: SIGNED_PGP \(-2\.00\)" "a PGP signature part"
tap_unlike "$out" "CTYPE_MIXED_BOGUS|MIME_BASE64_TEXT_BOGUS|INTRODUCTION|FORGED_X_MAILER" \
	"multipart/signed, 7bit, no introduction, no X-Mailer"

out=$(m_ctl scan --no-dns "$fx/needs-encoding.eml")
tap_like "$out" "Symbol: SUBJECT_NEEDS_ENCODING \(1\.00\)" "raw 8-bit Subject"
tap_like "$out" "Symbol: FROM_NEEDS_ENCODING \(1\.00\)" "raw 8-bit From"
tap_unlike "$out" "TO_NEEDS_ENCODING" "plain ASCII To"
tap_unlike "$(m_ctl scan --no-dns "$fx/encoded.eml")" "NEEDS_ENCODING" "the same, RFC 2047-encoded: none"

# Six sorted addresses are not enough (Rspamd compares seven or more).
sed '/^Cc:/s/, frank@six\.example//' "$fx/sorted-rcpts.eml" >"$H_TMP/six.eml"
tap_unlike "$(m_ctl scan --no-dns "$H_TMP/six.eml")" "SORTED_RECIPS" "six sorted recipients: no SORTED_RECIPS"
tap_done
