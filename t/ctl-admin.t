#!/bin/bash
# ctl-admin.t - moatctl's rule and history commands against a real SQLite
# database: --help of every command, symbols, symbol, weight (seen in a
# scan's score), actions, module, the docker-mailserver import (the seed's
# example, a broken file leaving the database as it was, a second import
# changing nothing), and history and stats over rows the milter wrote
# (miltertest) and over rows with known scan times.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
# doctor reads main.cf with postconf: a private, empty one, not this machine's.
mkdir -p "$H_TMP/pf" && : >"$H_TMP/pf/main.cf" && : >"$H_TMP/pf/master.cf"
export MOAT_POSTCONF="postconf -c $H_TMP/pf"
db=$H_TMP/state/moat.db
dms=$MOAT_SRCDIR/t/data/dms
msg=$MOAT_SRCDIR/t/data/mime/lf.eml	# no Message-ID: MISSING_MID
m_quiet_zones

# The whole database as SQL, to show an import changed nothing.
dump() { sqlite3 "$db" .dump; }
score() { m_ctl scan --no-dns "$msg" | sed -n 's/^Score: \([-0-9.]*\) .*/\1/p'; }

# --help: every command in the list has its own, and exits 0.
cmds=$(m_ctl --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
tap_like "$cmds" $'history\n' "moatctl --help lists history"
bad=
for c in $cmds; do
	out=$(m_ctl "$c" --help 2>&1)
	[ $? -eq 0 ] && [[ $out == "Usage: moatctl "*" $c"* ]] || bad+="$c "
done
tap_is "$bad" "" "moatctl COMMAND --help works for every command ($(echo $cmds | wc -w))"
bad=
for c in config actions symbols symbol weight composites modules module greylist history stats \
	scan doctor import-custom-commands import-dms-env preset migrate; do
	# Usage, summary and a longer explanation.
	[ "$(m_ctl "$c" --help | wc -l)" -ge 5 ] || bad+="$c "
done
tap_is "$bad" "" "each of these commands explains itself at length"
out=$(m_ctl weight --help)
tap_like "$out" "weight SYMBOL \[VALUE\]" "weight --help: usage line"
tap_like "$out" "close ones" "weight --help: explains unknown names"

# symbols: enabled ones by default, a group or pattern, -a with the state.
out=$(m_ctl symbols)
tap_like "$out" $'^symbol\tweight\tgroup\tstate\tdescription\n' "symbols: header line"
tap_like "$out" $'\nMISSING_MID\t2.50\theaders\tenabled\t' "symbols: weight, group and state"
out=$(m_ctl symbols mime)
tap_like "$out" $'\nMIME_GOOD\t' "symbols GROUP: the group's symbols"
tap_ok "symbols GROUP: no other group" test "$(printf '%s\n' "$out" | grep -c $'\theaders\t')" -eq 0
out=$(m_ctl symbols 'subj*')
tap_is "$(printf '%s\n' "$out" | tail -n +2 | cut -f1 | sort | tr '\n' ' ')" \
	"SUBJECT_ENDS_EXCLAIM SUBJECT_ENDS_QUESTION SUBJECT_ENDS_SPACES SUBJECT_HAS_CURRENCY SUBJECT_HAS_EXCLAIM SUBJECT_HAS_QUESTION SUBJECT_NEEDS_ENCODING SUBJ_ALL_CAPS " \
	"symbols PATTERN: a shell pattern, any case"

# weight: old -> new, seen by the scanner; unknown names suggest close ones.
before=$(score)
out=$(m_ctl weight MISSING_MID 4)
tap_is "$out" "MISSING_MID: 2.50 -> 4.00" "weight prints old -> new"
tap_is "$(m_ctl weight missing_mid)" "MISSING_MID: 4.00" "weight NAME shows it (any case)"
after=$(score)
tap_is "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')" "1.50" \
	"the new weight is in a scan's score ($before -> $after)"
tap_like "$(m_ctl symbols headers)" $'\nMISSING_MID\t4.00\t' "...and in symbols"
out=$(m_ctl weight MISSNG_MID 1 2>&1)
tap_is "$?" 1 "unknown symbol: exit 1"
tap_like "$out" "unknown symbol: MISSNG_MID \(did you mean: MISSING_MID\)" "...close names listed"
tap_is "$out" "moatctl: unknown symbol: MISSNG_MID (did you mean: MISSING_MID)" \
	"...as a command-line error: program name, no time stamp or pid"

# A typo in moat.conf: the commands that need the database warn and go on
# (as postconf does); config stays strict; no database is made from it.
conf=$H_TMP/typo.conf
printf 'state_directory = %s\ngreylist_delay = 10 minutes\ngreylist_dealy = 5m\n' "$(m_state)" >"$conf"
out=$("$(m_bin moatctl)" -c "$conf" weight MISSING_MID 2>"$H_TMP/typo.err")
tap_is "$?" 0 "moat.conf typo: weight still works"
tap_is "$out" "MISSING_MID: 4.00" "...and answers"
tap_is "$(cat "$H_TMP/typo.err")" "moatctl: warning: $conf, line 3: unknown setting \"greylist_dealy\"; line ignored
moatctl: warning: $conf, line 2: greylist_delay = 10 minutes: expected a time like 300s, 5m, 2h, 35d; using the default, greylist_delay = 300s" \
	"...after a warning per bad line, with file and line"
out=$("$(m_bin moatctl)" -c "$conf" config greylist_delay 2>&1)
tap_is "$?" 1 "moat.conf typo: config is an error"
tap_like "$out" "line [23]: " "...naming the line"
printf 'database_path = %s/moat.db.typo\nfoo = 1\n' "$(m_state)" >"$conf"
out=$("$(m_bin moatctl)" -c "$conf" weight MISSING_MID 2>&1)
tap_is "$?" 1 "moat.conf typo and no database there: an error"
tap_like "$out" "fatal: no database at $(m_state)/moat\.db\.typo, and $conf has errors \(above\): not creating one" \
	"...saying why"
tap_ok "...and none was created" test ! -e "$(m_state)/moat.db.typo"
out=$(m_ctl weight MISSING_MID lots 2>&1)
tap_is "$?" 1 "weight that is not a number: exit 1"
sqlite3 "$db" "INSERT INTO rules (symbol, target, pattern) VALUES ('LOCAL_LUNCH', 'body', 'noon')"
tap_is "$(m_ctl weight LOCAL_LUNCH 2.5)" "LOCAL_LUNCH: 0.00 -> 2.50" \
	"weight of a rule's symbol missing from symbols adds it"

# symbol enable|disable
tap_is "$(m_ctl symbol disable MISSING_MID)" "MISSING_MID: enabled -> disabled" "symbol disable"
tap_ok "a disabled symbol is not in symbols" test "$(m_ctl symbols | grep -c '^MISSING_MID')" -eq 0
tap_like "$(m_ctl symbols -a headers)" $'\nMISSING_MID\t4.00\theaders\tdisabled\t' \
	"symbols -a shows it disabled"
tap_ok "a disabled symbol is not scanned" test "$(m_ctl scan --no-dns "$msg" | grep -c MISSING_MID)" -eq 0
tap_is "$(m_ctl symbol disable MISSING_MID)" "MISSING_MID: disabled (unchanged)" "disable again: unchanged"
tap_is "$(m_ctl symbol enable MISSING_MID)" "MISSING_MID: disabled -> enabled" "symbol enable"
m_ctl weight MISSING_MID 2.5 >/dev/null

# actions
out=$(m_ctl actions set reject 15)
tap_is "$out" "reject: 11.00 -> 15.00" "actions set: old -> new"
tap_like "$(m_ctl actions)" $'\nreject\t15.00\t' "actions lists the new threshold"
tap_is "$(m_ctl actions set add_header off)" "add header: 6.00 -> off" "actions set NAME off (Rspamd spelling)"
tap_like "$(m_ctl actions)" $'\nadd header\toff\t' "...listed as off"
out=$(m_ctl actions set greylist 20 2>&1)
tap_like "$out" "warning: greylist \(20.00\) is at or above reject \(15.00\)" \
	"a threshold above reject's is warned about"
out=$(m_ctl actions set spam 5 2>&1)
tap_is "$?" 1 "unknown action: exit 1"
tap_like "$out" "unknown action: spam \(known: add header, greylist, reject, rewrite subject\)" \
	"...the actions listed"
m_ctl actions set reject 11 >/dev/null 2>&1 && m_ctl actions set add_header 6 >/dev/null 2>&1 &&
	m_ctl actions set greylist 4 >/dev/null
tap_like "$(m_ctl actions)" $'greylist\t4.00.*add header\t6.00.*reject\t11.00' "thresholds restored"

# module enable|disable
tap_is "$(m_ctl module disable greylist)" "module greylist: enabled -> disabled" "module disable"
tap_like "$(m_ctl modules)" $'\ngreylist\tdisabled\t' "modules shows it disabled"
tap_is "$(m_ctl module disable greylist)" "module greylist: disabled (unchanged)" "again: unchanged"
out=$(m_ctl module disable chartable 2>&1)
tap_is "$?" 1 "unknown module: exit 1"
tap_like "$out" "unknown module: chartable \(known: arc, clamav, classifier-bayes, dkim, dmarc, greylist, hfilter, rbl, \.\.\.\)" \
	"...the modules listed"
tap_is "$(m_ctl module enable greylist)" "module greylist: disabled -> enabled" "module enable"

# import-custom-commands: a broken file changes nothing and names the line.
d0=$(dump)
out=$(m_ctl import-custom-commands "$dms/broken.conf" 2>&1)
tap_is "$?" 1 "broken file: exit 1"
tap_like "$out" "broken\.conf, line 5: unknown option \"autolern\" for classifier-bayes" \
	"broken file: file, line and option named"
tap_like "$out" "nothing imported" "broken file: says nothing was imported"
tap_is "$(dump)" "$d0" "broken file: the database is unchanged (dump compared)"
out=$(m_ctl import-custom-commands --dry-run "$dms/custom-commands.conf")
tap_like "$out" "1 applied, 0 unchanged, 1 not applied, 1 moat.conf line to add by hand \(dry run: nothing written\)" \
	"dry run: what would change"
tap_is "$(dump)" "$d0" "dry run: the database is unchanged"

# The seed's example.
out=$(m_ctl import-custom-commands "$dms/custom-commands.conf")
tap_is "$?" 0 "seed example imports"
tap_like "$out" "line 3: moat.conf: controller_secure_ip = " \
	"controller secure_ip: the moat.conf line"
tap_like "$out" "line 6: module classifier-bayes option autolearn: false -> true" \
	"bayes autolearn: old -> new"
tap_like "$out" "line 9: not applied: module chartable: moat has no equivalent of Rspamd's chartable module"$'\n' \
	"chartable: an Rspamd module moat lacks is a notice that names it"
tap_like "$out" "custom-commands\.conf: 1 applied, 0 unchanged, 1 not applied, 1 moat\.conf line to add by hand$" \
	"summary: 1 applied, the line not applied and the moat.conf line counted apart"
tap_like "$(m_ctl modules)" $'\nclassifier-bayes\tenabled\tautolearn=true' "modules shows autolearn=true"
tap_is "$(sqlite3 "$db" "SELECT scope, target, option, value FROM dms_not_applied")" \
	$'moat.conf|controller|secure_ip|\nmodule|chartable||false' "dms_not_applied lists what did not come along (the moat.conf line too)"
d1=$(dump)
out=$(m_ctl import-custom-commands "$dms/custom-commands.conf")
tap_like "$out" "custom-commands\.conf: 0 applied, 1 unchanged, 1 not applied, 1 moat\.conf line to add by hand$" \
	"second import: 0 applied"
tap_is "$(dump)" "$d1" "second import: the database is the same (dump compared)"

# Every command, then again.
out=$(m_ctl import-custom-commands "$dms/all-commands.conf")
tap_like "$out" "line 2: module greylist: enabled -> disabled" "disable-module greylist"
tap_like "$out" "line 4: action reject: 11.00 -> 15.00" "actions reject"
tap_like "$out" "line 5: moat.conf: greylist_delay = 600s" "greylist timeout: the moat.conf line"
tap_like "$out" "line 6: moat.conf: controller_secure_ip = 127.0.0.1" "controller secure_ip: the moat.conf line"
tap_like "$out" "line 7: moat.conf: milter_timeout = 120s" "proxy timeout: the moat.conf line"
tap_like "$out" "line 8: moat.conf: soft_reject_on_timeout = no" "common option: the moat.conf line"
tap_like "$out" "line 9: action add header: 6.00 -> 5.50" "add-line actions.conf"
tap_like "$out" "line 10: symbol MISSING_MID weight: 2.50 -> 3.00" "add-line groups.conf weight"
tap_like "$out" "line 11: not applied: add-line multimap.conf" "add-line of a multimap rule: notice"
tap_like "$out" "all-commands\.conf: 4 applied, 1 unchanged, 1 not applied, 4 moat\.conf lines to add by hand$" \
	"every command: the 4 moat.conf lines are not counted as applied"
tap_like "$(m_ctl import-custom-commands "$dms/all-commands.conf")" "all-commands\.conf: 0 applied, 5 unchanged, 1 not applied, 4 moat\.conf lines to add by hand$" \
	"all commands again: 0 applied"
tap_like "$(m_ctl actions)" $'add header\t5.50.*reject\t15.00' "thresholds from the import"
m_ctl actions set reject 11 >/dev/null 2>&1 && m_ctl actions set add_header 6 >/dev/null 2>&1 &&
	m_ctl module enable greylist >/dev/null

# doctor: the database side (no DNS list is in use here).
sqlite3 "$db" "INSERT INTO rules (symbol, target, pattern) VALUES ('LOCAL_NOWHERE', 'body', 'x')"
sqlite3 "$db" "INSERT INTO composites (name, expression) VALUES ('LOCAL_BROKEN', 'A & (B'),
	('LOOP_A', 'LOOP_B | A'), ('LOOP_B', 'LOOP_A & B')"
m_ctl actions set add_header 12 >/dev/null 2>&1
out=$(m_ctl doctor 2>&1)
tap_is "$?" 0 "doctor: warnings only, exit 0"
tap_like "$out" "database: schema version [0-9]+ of [0-9]+, integrity ok" "doctor: schema and integrity"
tap_like "$out" "add header \(12\.00\) is at or above reject \(11\.00\): it never happens" \
	"doctor: an action that cannot happen"
tap_like "$out" "LOCAL_NOWHERE \(rule [0-9]+\): weighs 0" "doctor: a rule whose symbol is missing"
tap_like "$out" "LOCAL_BROKEN: column 7: '\)' expected for the '\(' at column 5" \
	"doctor: a composite the sqlite3 shell broke"
tap_like "$out" "composites: LOOP_A names itself: LOOP_A -> LOOP_B -> LOOP_A: false there" \
	"doctor: composites the sqlite3 shell made name each other"
tap_like "$out" "[0-9]+ docker-mailserver setting\(s\) not applied" "doctor: what the import left out"
tap_like "$out" "doctor: all good" "doctor: then the DNS lists"
m_ctl actions set add_header 6 >/dev/null
sqlite3 "$db" "DELETE FROM rules WHERE symbol = 'LOCAL_NOWHERE'"
sqlite3 "$db" "DELETE FROM composites WHERE name IN ('LOCAL_BROKEN', 'LOOP_A', 'LOOP_B')"

# history and stats over what the milter wrote.
if command -v miltertest >/dev/null; then
	sqlite3 "$db" "UPDATE symbols SET weight = 12 WHERE name = 'HAS_X_PRIO_ONE'"
	m_start_contentfilter
	export MOAT_MILTER_PORT=$M_MILTER_PORT
	miltertest -s "$MOAT_SRCDIR/t/data/milter/clean.lua" &&
		miltertest -s "$MOAT_SRCDIR/t/data/milter/reject.lua"
	tap_is "$?" 0 "two messages through the milter"
	for _ in $(seq 50); do
		[ "$(sqlite3 "$db" 'SELECT count(*) FROM history')" -ge 2 ] && break
		sleep 0.1
	done
	out=$(m_ctl history)
	tap_like "$out" $'^time\tqueue_id\tclient\tsender\trecipients\tscore\taction\treason\tscan_ms\tsymbols\n' \
		"history: header line"
	tap_like "$out" $'\n[-0-9: ]+\t[^\t]*\t198\\.51\\.100\\.21\t[^\t]*\t[^\t]*\t[0-9.]+\treject\t\t[0-9.]+\t[^\n]*HAS_X_PRIO_ONE\\(12\\.00\\)' \
		"history: the rejected message with client, score, action and symbols"
	tap_is "$(printf '%s\n' "$out" | tail -n +2 | cut -f3 | tr '\n' ' ')" "198.51.100.21 198.51.100.20 " \
		"history: newest first"
	tap_is "$(m_ctl history --action reject | tail -n +2 | cut -f3)" "198.51.100.21" "history --action"
	tap_is "$(m_ctl history -n 1 | wc -l)" 2 "history -n 1: one row"
	tap_is "$(m_ctl history --since 2000-01-01 --action 'no action' | tail -n +2 | cut -f3)" \
		"198.51.100.20" "history --since DATE"
	out=$(m_ctl stats)
	tap_like "$out" "^since .*: 2 messages" "stats: messages counted"
	tap_like "$out" $'\nreject\t1\t50.0%\t' "stats: one reject"
	tap_like "$out" $'\nHAS_X_PRIO_ONE\t1\t50.0%' "stats: top symbols"
	kill "$M_MILTER_PID"
	wait "$M_MILTER_PID" 2>/dev/null
else
	tap_skip "miltertest not installed" 10
fi

# stats figures over rows with known values (a second database).
sdb=$H_TMP/stats.db
sctl() { m_ctl -o database_path="$sdb" "$@"; }
sctl migrate >/dev/null
sqlite3 "$sdb" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
	INSERT INTO history (time, queue_id, client, score, action, symbols, scan_ms)
	SELECT unixepoch() - i, 'Q' || i, '192.0.2.' || i, i / 10.0,
	       CASE WHEN i <= 10 THEN 'reject' WHEN i <= 30 THEN 'add header' ELSE 'no action' END,
	       'default: False [1.00 / 11.00]; AAA_ALL(1.00)[x; NOT_A_SYMBOL(3)]'
	       || CASE WHEN i % 2 = 0 THEN '; BBB_EVEN(0.50)[]' ELSE '' END, i
	FROM n;
	INSERT INTO history (time, score, action, scan_ms) VALUES (unixepoch() - 3 * 86400, 1, 'reject', 1000);"
out=$(sctl stats)
tap_like "$out" "^since .* \(24\.0 hours\): 100 messages, 4\.17 per hour" "stats: last 24 hours by default"
tap_like "$out" "scan time: mean 50\.50 ms, p50 50\.00 ms, p99 99\.00 ms, max 100\.00 ms" \
	"stats: scan time mean, p50, p99, max"
tap_like "$out" $'\nno action\t70\t70\\.0%\t.*\nadd header\t20\t20\\.0%\t.*\nreject\t10\t10\\.0%\t' \
	"stats: counts by action, largest first"
tap_like "$out" $'\nAAA_ALL\t100\t100\\.0%\nBBB_EVEN\t50\t50\\.0%$' "stats: top symbols"
tap_ok "stats: option text is not a symbol" test "$(printf '%s\n' "$out" | grep -c NOT_A_SYMBOL)" -eq 0
tap_like "$(sctl stats --since 30m)" ": 100 messages" "stats --since 30m"
tap_like "$(sctl stats --since 7d)" ": 101 messages" "stats --since 7d includes the old row"
tap_like "$(sctl stats --since 7d -n 1)" $'\nAAA_ALL\t100\t99\\.0%$' "stats -n 1: one top symbol"
# Day boundaries: compare with the rows of today in the same statement.
tap_is "$(sqlite3 "$sdb" "SELECT (SELECT group_concat(symbol || '=' || messages, ' ')
	FROM symbol_hits_today) = (SELECT 'AAA_ALL=' || count(*) || ' BBB_EVEN=' || sum(symbols LIKE '%BBB_EVEN%')
	FROM history WHERE time >= unixepoch('now', 'start of day'))")" 1 \
	"view symbol_hits_today counts the same, without option text"
tap_is "$(sqlite3 "$sdb" "SELECT sum(messages), sum(rejected), sum(marked) FROM mail_per_hour")" \
	"100|10|20" "view mail_per_hour: the last day, by action"
tap_is "$(sqlite3 "$sdb" "SELECT queue_id FROM history_recent LIMIT 2" | tr '\n' ' ')" "Q1 Q2 " \
	"view history_recent: newest first"
for v in "history_recent LIMIT 20" "history WHERE history.time >= 0 ORDER BY history.time DESC, history.id DESC LIMIT 20"; do
	plan=$(sqlite3 "$sdb" "EXPLAIN QUERY PLAN SELECT * FROM $v")
	tap_ok "recent history is read from the time index, not sorted: ${v%% *}" \
		test "$(printf '%s\n' "$plan" | grep -c 'TEMP B-TREE')" -eq 0
done
# Local mail passed unscanned (action skipped) has no scan time to count.
sqlite3 "$sdb" "INSERT INTO history (time, score, action, scan_ms, reason)
	SELECT unixepoch() - 5, 0, 'skipped', 0, 'not scanned: submitted on this host (scan_local = no)'
	FROM history LIMIT 20"
out=$(sctl stats)
tap_like "$out" "scan time: mean 50\.50 ms, p50 50\.00 ms, p99 99\.00 ms, max 100\.00 ms" \
	"stats: skipped local mail leaves the scan times alone"
tap_like "$out" $'\nskipped\t20\t16\\.7%\t0\\.00\t0\\.00\n' "...and is counted as an action"
out=$(sctl stats --since yesterday-ish 2>&1)
tap_is "$?" 2 "stats --since nonsense: usage error"

tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
