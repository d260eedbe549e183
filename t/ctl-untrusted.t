#!/bin/bash
# ctl-untrusted.t - issue 19: stored text from outside (queue ids, senders,
# symbol options, greylist triplets, file names) never reaches moatctl's
# output as it came; --json escapes it as JSON does; the database keeps
# the original. moatctl sanitises on a pipe as on a terminal (its
# tab-separated rows cannot hold a tab or newline either, and a pipe most
# often ends in less or on a terminal); `script` checks the terminal too.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v python3 >/dev/null || tap_skip_all "python3 not installed"

db=$H_TMP/ctl.db
ctl() { m_ctl -o database_path="$db" "$@"; }
ctl migrate >/dev/null

# clean FILE: no control byte but tab and LF, no DEL, valid UTF-8, no C1.
clean() {
	python3 - "$1" <<'PY'
import re, sys
b = open(sys.argv[1], 'rb').read()
bad = re.search(rb'[\x00-\x08\x0b-\x1f\x7f]', b)
if bad:
    sys.exit('control byte 0x%02x at offset %d' % (bad.group()[0], bad.start()))
t = b.decode('utf-8')
if re.search('[\x80-\x9f]', t):
    sys.exit('C1 control')
PY
}

# Every byte 1-255 (SQLite text may hold them all; NUL ends a C string).
sqlite3 "$db" "CREATE TEMP TABLE b AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1
	FROM n WHERE i < 255) SELECT group_concat(char(i), '') AS s FROM n;
	UPDATE b SET s = CAST(s AS BLOB);
	INSERT INTO history (time, queue_id, client, sender, recipients, subject, score, action,
		reason, symbols, scan_ms)
	SELECT unixepoch(), 'QID' || char(27) || '[2J', '192.0.2.1', 's' || char(27) || '[31m@x',
		'r@example.com', 'S', 1, 'no action' || char(27) || '[5m', 'why' || char(10) || 'y',
		'default: False [1.00 / 11.00]; HOSTILE(1.00)[' || s || ']; END_MARK(0.00)[]', 1
	FROM b;
	INSERT INTO greylist (client, sender, recipient, first_seen, last_seen)
	SELECT '192.0.2.2', 'g' || char(27) || ']0;title' || char(7) || '@x', s || '@example.com',
		unixepoch(), unixepoch() FROM b;"
# Ill-formed UTF-8 and C1 as raw bytes (char() above writes code points).
sqlite3 "$db" "INSERT INTO history (time, queue_id, score, action, symbols, scan_ms)
	VALUES (unixepoch(), CAST(X'51c0af9bc29b' AS TEXT) || 'END', 0, 'no action', '', 0)"

ctl history >"$H_TMP/history.out" 2>&1
tap_ok "history with every byte in a row: printed" grep -q "END_MARK" "$H_TMP/history.out"
tap_ok "...with no control byte, DEL, C1 or ill-formed UTF-8" clean "$H_TMP/history.out"
tap_ok "...the row stays one line with its columns" \
	grep -q "^[^	]*	QID?\[2J	192\.0\.2\.1	s?\[31m@x	r@example\.com	1\.00	no action?\[5m	why?y	" \
	"$H_TMP/history.out"
tap_ok "...ill-formed UTF-8 and C1 shown as '?'" grep -q "	Q?????END	" "$H_TMP/history.out"
ctl stats >"$H_TMP/stats.out" 2>&1
tap_ok "stats: no control byte" clean "$H_TMP/stats.out"
tap_ok "...the action still counted" grep -q "^no action?\[5m	1	" "$H_TMP/stats.out"
ctl greylist list >"$H_TMP/greylist.out" 2>&1
tap_ok "greylist list: no control byte" clean "$H_TMP/greylist.out"
tap_ok "...the triplet on one line" grep -q "^192\.0\.2\.2	g?\]0;title?@x	.*@example\.com	" \
	"$H_TMP/greylist.out"
tap_is "$(sqlite3 "$db" "SELECT hex(sender) FROM greylist")" \
	"$(printf 'g\033]0;title\a@x' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" \
	"the database keeps the original"
if command -v script >/dev/null; then
	script -qec "$(m_bin moatctl) -o state_directory=$(m_state) -o database_path=$db history" \
		"$H_TMP/tty.out" >/dev/null 2>&1
	# script's log has the terminal's CR LF line ends; nothing else may be a control.
	tr -d '\r' <"$H_TMP/tty.out" | sed '/^Script /d' >"$H_TMP/tty.clean"
	tap_ok "history on a terminal (script): no control byte" clean "$H_TMP/tty.clean"
	tap_ok "...and the row is there" grep -q "QID?\[2J" "$H_TMP/tty.clean"
else
	tap_skip "script not installed" 2
fi

# scan: a hostile file name, and a message whose options carry hostile text.
f=$H_TMP/$'msg\e[2J.eml'
printf 'From: a\001\033[31m\x7f\xc2\x9b\xff@x.example\nTo: b@example.com\nSubject: \033[2J\xc3\xa9\nMessage-ID: <1@x.example>\n\nbody\n' >"$f"
ctl scan --no-dns "$f" >"$H_TMP/scan.out" 2>&1
tap_ok "scan: the result is printed" grep -q "^Results for file: .*msg?\[2J\.eml" "$H_TMP/scan.out"
tap_ok "...with no control byte" clean "$H_TMP/scan.out"
ctl scan --json --no-dns "$f" >"$H_TMP/scan.json" 2>&1
tap_ok "scan --json: no raw control byte" clean "$H_TMP/scan.json"
tap_ok "...valid JSON whose file name is the original" python3 - "$H_TMP/scan.json" "$f" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))
sys.exit(0 if d['file'] == sys.argv[2] else 'file: %r' % d['file'])
PY
g=$H_TMP/$'bad\xff\x7f.eml'
cp "$f" "$g"
ctl scan --json --no-dns "$g" >"$H_TMP/scan2.json" 2>&1
tap_ok "scan --json: an ill-formed file name is escaped, the JSON stays UTF-8" \
	python3 - "$H_TMP/scan2.json" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'))
want = '\ufffd\x7f.eml'
sys.exit(0 if d['file'].endswith('bad' + want) else 'file: %r' % d['file'])
PY
tap_done
