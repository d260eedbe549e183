#!/bin/bash
# gtube-rspamd.t - GTUBE, differential: the same messages through Rspamd
# (a private offline rspamd, rspamc) and moatctl scan, with every pattern
# counted (Rspamd's enable_test_patterns = true, moat's gtube_patterns =
# all). For each message both must agree on whether GTUBE was found, on
# whether the checks were skipped, and then on the action. The messages are
# the golden files of t/data/scan and variants made here: each pattern in
# plain, quoted-printable, base64 and HTML parts (also inside 8 KiB and
# more of webmail markup), in a text and a binary
# attachment, in parts of 8 KiB and one byte more, several in one part or
# in two parts.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/bench/peers.sh"
h_init
for prog in rspamd rspamc unbound python3; do
	command -v $prog >/dev/null || tap_skip_all "$prog not installed"
done
[ -d /etc/rspamd ] || tap_skip_all "no /etc/rspamd"

G='JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
M=$H_TMP/msgs
mkdir -p "$M"
cp "$MOAT_SRCDIR"/t/data/scan/*.eml "$M/"
hdr() { printf 'From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: %s\nMessage-ID: <%s@example.com>\nDate: Thu, 03 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\n' "$1" "$2"; }
filler() { # filler N: N bytes of text lines
	awk -v n="$1" 'BEGIN { s = ""; while (length(s) < n) s = s "spam filter testing text line\n"; printf "%s", substr(s, 1, n) }'
}
for v in X Y Z A; do
	{ hdr "plain $v" "p$v"; printf 'Content-Type: text/plain\n\nhello\n%s%s\n' "$v" "$G"; } >"$M/plain-$v.eml"
	{ hdr "qp $v" "q$v"; printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 test\n%s%s\n' "$v" "$G"; } >"$M/qp-$v.eml"
	{ hdr "html $v" "h$v"; printf 'Content-Type: text/html\n\n<html><body><p>test</p><div>%s%s</div></body></html>\n' "$v" "$G"; } >"$M/html-$v.eml"
	{ hdr "b64 $v" "b$v"; printf 'Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n'; printf 'body\n%s%s\n' "$v" "$G" | base64 -w 76; } >"$M/b64-$v.eml"
	# HTML as webmail writes it: more than 8 KiB of markup around the string.
	{ hdr "webmail html $v" "w$v"; printf 'Content-Type: text/html; charset=utf-8\n\n<html><head><style>\n'
		for i in $(seq 1 200); do printf '.c%s { font-family: Calibri, sans-serif; color: #1f497d; }\n' "$i"; done
		printf '</style></head><body><div class="c1"><p>Testing.</p><p><b>%s%s</b></p></div></body></html>\n' "$v" "$G"; } >"$M/webmail-$v.eml"
	# A single text part of exactly 8192 bytes (the pattern at its end) and of 8193.
	for size in 8192 8193; do
		{ hdr "size $size $v" "s$size$v"; printf 'Content-Type: text/plain\n\n'; filler $((size - 70)); printf '\n%s%s\n' "$v" "$G"; } >"$M/size$size-$v.eml"
	done
done
{ hdr "mixed" mixed; printf 'Content-Type: text/plain\n\nY%s\nX%s\n' "$G" "$G"; } >"$M/mixed-YX.eml"
{ hdr "mixed" mixed2; printf 'Content-Type: text/plain\n\nZ%s\nY%s\n' "$G" "$G"; } >"$M/mixed-ZY.eml"
# Two text parts: the first with a spam pattern decides; a no-action one does not stop the search.
for pair in AX XA XY YX ZY AZ AA; do
	{ hdr "two parts $pair" "parts$pair"; printf 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n%s%s\n--b\nContent-Type: text/plain\n\n%s%s\n--b--\n' "${pair:0:1}" "$G" "${pair:1:1}" "$G"; } >"$M/parts-$pair.eml"
done
{ hdr "broken" broken; printf 'Content-Type: text/plain\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34\n'; } >"$M/broken.eml"
nmsg=$(ls "$M" | wc -l)

tap_ok "unbound answering NXDOMAIN (rspamd stays offline)" z_start_nx_unbound
R=$H_TMP/rspamd
rport=$(h_free_port)
bench_rspamd_config "$R" 1 "$rport"
# Rspamd 3.4's name for gtube_patterns = all (newer ones read it too).
echo "enable_test_patterns = true;" >>"$R/etc/local.d/options.inc"
bench_rspamd_run "$R"
tap_ok "rspamd starts" h_wait_port "$rport" 120 "$RSPAMD_PID"

# One line per message: NAME GTUBE-FOUND SKIPPED ACTION.
summary='import json, sys, os
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    syms = d.get("symbols") or {}
    name = os.path.basename(d.get("filename") or d.get("file"))
    found = "GTUBE" in syms
    skipped = d["is_skipped"] if "is_skipped" in d else (found or not syms)
    print(name, "gtube" if found else "-", "skipped" if skipped else "scanned", d["action"].replace(" ", "_"))'
for f in "$M"/*.eml; do
	rspamc -h "127.0.0.1:$rport" -j "$f" | tr -d '\n'
	echo
done >"$H_TMP/rspamc.json"
python3 -c "$summary" <"$H_TMP/rspamc.json" | sort >"$H_TMP/rspamd.txt"
tap_is "$(wc -l <"$H_TMP/rspamd.txt")" "$nmsg" "rspamd answered for all $nmsg messages"

m_ctl migrate >/dev/null
sqlite3 "$H_TMP/state/moat.db" "UPDATE settings SET value = 'all' WHERE name = 'gtube_patterns'"
m_ctl scan --json --no-dns "$M"/*.eml | python3 -c "$summary" | sort >"$H_TMP/moat.txt"
tap_is "$(wc -l <"$H_TMP/moat.txt")" "$nmsg" "moatctl scan answered for all $nmsg messages"

# The action of a message GTUBE did not decide comes from each one's own
# checks: compare it only where GTUBE was found or the checks were skipped.
norm() { awk '$2 == "-" && $3 == "scanned" { $4 = "(scored)" } { print }' "$1"; }
tap_is "$(norm "$H_TMP/moat.txt")" "$(norm "$H_TMP/rspamd.txt")" \
	"moat finds GTUBE and forces the action where Rspamd does, on all $nmsg messages"
tap_ok "...which include GTUBE hits of each action" \
	bash -c 'grep -q "gtube skipped reject" "$1" && grep -q "gtube skipped add_header" "$1" &&
		grep -q "gtube skipped rewrite_subject" "$1" && grep -q -- "- skipped no_action" "$1" &&
		grep -q -- "- scanned" "$1"' bash "$H_TMP/rspamd.txt"

h_stop "$RSPAMD_PID"
tap_done
