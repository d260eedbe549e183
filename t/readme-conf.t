#!/bin/bash
# readme-conf.t - every main.cf and moat.conf block in README.md works when
# pasted as shown. The trial install pasted the README's lines and got
# "milter_default_action = tempfail # ..." (Postfix: "unrecognized default
# action" on every fault) and moat.conf lines with trailing comments that
# stopped both daemons.
#
# A block is a fenced code block whose info string names the file:
# ```main.cf or ```moat.conf. Each main.cf block goes into a private
# Postfix configuration directory and is read back with postconf: no
# warning, no value with a trailing comment, milter_default_action exactly
# one of Postfix's actions. Each moat.conf block passes "moatctl config"
# and both daemons start with it (its /var/spool/postfix and /var/lib/moat
# paths moved under this test's directory; listen addresses it does not set
# on free ports). An unlabelled block with a line that sets a moat or
# Postfix setting is an error: label it, or the checks would miss it.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
readme=$MOAT_SRCDIR/README.md
blocks=$H_TMP/blocks
mkdir -p "$blocks"

# Write each labelled block to $blocks/LINE.main.cf or LINE.moat.conf
# (LINE: where it starts in README.md); list unlabelled blocks' first lines
# that look like "name = value" in unlabelled.txt as LINE<TAB>TEXT.
awk -v dir="$blocks" '
	/^```/ && !inblock {
		inblock = 1; label = substr($0, 4); start = NR; out = ""
		if (label == "main.cf" || label == "moat.conf" || label == "unbound.conf")
			out = dir "/" start "." label
		else if (label == "")
			out = "-"
		next
	}
	/^```[ \t]*$/ && inblock { inblock = 0; if (out != "" && out != "-") close(out); next }
	inblock && out == "-" && /^[a-z_][a-z0-9_]* *= / { print NR "\t" $0 > (dir "/unlabelled.txt") }
	inblock && out != "" && out != "-" { print > out }
' "$readme"

# Whether Postfix knows a parameter (postconf -d warns about unknown ones).
pf_known() { postconf -d "$1" 2>&1 | grep -q "^$1 ="; }
tap_unlike() { [[ ! "$1" =~ $2 ]]; }

# An unlabelled line is a problem only if its name is a real setting.
bad=
if [ -f "$blocks/unlabelled.txt" ]; then
	while IFS=$'\t' read -r ln text; do
		name=${text%%[ =]*}
		if "$(m_bin moatctl)" -c /dev/null config -d "$name" >/dev/null 2>&1 || pf_known "$name"; then
			bad+="README.md line $ln: $text; "
		fi
	done <"$blocks/unlabelled.txt"
fi
tap_is "$bad" "" "every block that sets main.cf or moat.conf settings is labelled"

nmain=$(find "$blocks" -name '*.main.cf' | wc -l)
nmoat=$(find "$blocks" -name '*.moat.conf' | wc -l)
tap_ok "README.md has main.cf blocks ($nmain)" test "$nmain" -ge 2
tap_ok "README.md has moat.conf blocks ($nmoat)" test "$nmoat" -ge 2

# --- main.cf blocks, read by Postfix's own postconf ---------------------------
for f in $(find "$blocks" -name '*.main.cf' | sort -V); do
	ln=$(basename "$f" .main.cf)
	pf=$H_TMP/postfix-$ln
	mkdir -p "$pf"
	cp "$f" "$pf/main.cf"
	cp /etc/postfix/master.cf "$pf/" 2>/dev/null || : >"$pf/master.cf"
	out=$(postconf -c "$pf" -n 2>&1)
	tap_ok "main.cf block at line $ln: postconf has no warning" \
		tap_unlike "$out" "warning|unrecognized|fatal|error"
	tap_ok "...no value with a trailing comment (main.cf has none)" \
		tap_unlike "$out" "= [^"$'\n'"]*[[:space:]]#"
	if grep -q '^milter_default_action' "$f"; then
		tap_like "$(postconf -c "$pf" -h milter_default_action 2>&1)" \
			"^(accept|reject|tempfail|quarantine)$" \
			"...milter_default_action is exactly one of Postfix's actions"
	fi
	# Every setting of the block is one Postfix knows.
	unknown=
	for name in $(postconf -c "$pf" -n 2>/dev/null | sed 's/ =.*//'); do
		[ "$name" = config_directory ] && continue
		pf_known "$name" || unknown+="$name "
	done
	tap_is "$unknown" "" "...every name is a Postfix parameter"
done
tap_like "$(for f in "$blocks"/*.main.cf; do
	pf=$H_TMP/postfix-$(basename "$f" .main.cf)
	grep -q '^milter_default_action' "$f" && postconf -c "$pf" -h milter_default_action 2>&1
done | sort -u)" "^tempfail$" "the README's milter_default_action is tempfail, as postconf reads it"

# --- moat.conf blocks: moatctl config, then both daemons start with them ------
for f in $(find "$blocks" -name '*.moat.conf' | sort -V); do
	ln=$(basename "$f" .moat.conf)
	d=$H_TMP/moat-$ln
	mkdir -p "$d/spool/moat" "$d/state" "$d/run" "$d/log"
	chmod 0750 "$d/spool/moat"
	sed -e "s|/var/spool/postfix/|$d/spool/|g" -e "s|/var/lib/moat|$d/state|g" \
		-e "s|/run/moat/|$d/run/|g" -e "s|/var/log/|$d/log/|g" "$f" >"$d/moat.conf"
	tap_ok "moat.conf block at line $ln: moatctl config accepts it" \
		"$(m_bin moatctl)" -c "$d/moat.conf" config
	tap_ok "...and config -n" "$(m_bin moatctl)" -c "$d/moat.conf" config -n
	common=(-f -c "$d/moat.conf" -o run_as="$(id -un)" -o dns_servers=127.0.0.1:1
		-o map_fetch_timeout=2s)
	grep -q '^state_directory' "$d/moat.conf" || common+=(-o state_directory="$d/state")
	# The shipped DNS lists off, so that nothing asks the internet.
	db=$("$(m_bin moatctl)" "${common[@]:1}" config database_path | sed 's/^[^=]*= //')
	"$(m_bin moatctl)" "${common[@]:1}" migrate >/dev/null &&
		sqlite3 "$db" "UPDATE dnsbl_zones SET enabled = 0"
	pl=(-o policy_listen="inet:127.0.0.1:$(h_free_port)")
	grep -q '^policy_listen' "$d/moat.conf" && pl=()
	ml=(-o milter_listen="inet:127.0.0.1:$(h_free_port)")
	grep -q '^milter_listen' "$d/moat.conf" && ml=()
	"$(m_bin moat-policyd)" "${common[@]}" "${pl[@]}" >"$d/policyd.log" 2>&1 &
	ppid=$!
	h_track $ppid moat-policyd
	"$(m_bin moat-contentfilter)" "${common[@]}" "${ml[@]}" >"$d/contentfilter.log" 2>&1 &
	mpid=$!
	h_track $mpid moat-contentfilter
	# A block that sets log_file sends both daemons' lines there.
	plog=$d/policyd.log mlog=$d/contentfilter.log
	lf=$(sed -n 's/^log_file = //p' "$d/moat.conf")
	[ -n "$lf" ] && plog=$lf mlog=$lf
	tap_ok "...moat-policyd starts with it" \
		h_wait_log "moat-policyd\[[0-9]+\]: ready: listening" 15 "$plog"
	tap_ok "...moat-contentfilter starts with it" \
		h_wait_log "moat-contentfilter\[[0-9]+\]: ready: listening" 15 "$mlog"
	for s in policy milter; do
		if grep -q "^${s}_listen = unix:" "$d/moat.conf"; then
			sock=$(sed -n "s/^${s}_listen = unix://p" "$d/moat.conf")
			tap_is "$(stat -c '%a %G' "$sock" 2>&1)" \
				"$(printf '%o' $((8#$(sed -n 's/^unix_socket_mode = //p' "$d/moat.conf" | grep . || echo 0660)))) $(sed -n 's/^unix_socket_group = //p' "$d/moat.conf" | grep . || echo postfix)" \
				"...$sock has the block's mode and group"
		fi
	done
	grep -hr 'fatal' "$d"/*.log "$d/log" | while IFS= read -r l; do tap_diag "$l"; done
	h_stop $ppid
	h_stop $mpid
	tap_ok "...both stop cleanly, no sanitizer report" m_check_sanitizer_logs "$d"/*.log
	grep -q "_pid_file = " "$d/moat.conf" && tap_ok "...each pid file is gone after the stop" \
		test ! -e "$d/run/moat-policyd.pid" -a ! -e "$d/run/moat-contentfilter.pid"
done

# --- unbound.conf blocks: a validating unbound (as Debian's) with the block
# sends bl.moat.test to rbldnsd, which lists 127.0.0.2 ---------------------
printf ':127.0.0.2:listed for testing\n127.0.0.2\n' >"$H_TMP/bl.ip4"
for f in $(find "$blocks" -name '*.unbound.conf' | sort -V); do
	ln=$(basename "$f" .unbound.conf)
	if ! command -v unbound >/dev/null || ! command -v rbldnsd >/dev/null; then
		tap_skip "no unbound or rbldnsd" 2
		continue
	fi
	[ -n "${H_RBLDNSD_PORT:-}" ] || h_start_rbldnsd "bl.moat.test:ip4set:$H_TMP/bl.ip4"
	d=$H_TMP/unbound-$ln
	mkdir -p "$d"
	port=$(h_free_port)
	# The root zone's trust anchor (KSK 20326), so unbound validates as Debian's does.
	echo '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D' \
		>"$d/root.key"
	{
		printf 'server:\n  interface: 127.0.0.1\n  port: %s\n  do-ip6: no\n' "$port"
		printf '  do-daemonize: no\n  chroot: ""\n  username: ""\n  directory: "%s"\n' "$d"
		printf '  use-syslog: no\n  logfile: "%s/unbound.log"\n' "$d"
		printf '  trust-anchor-file: "%s/root.key"\n' "$d"
		printf '  outgoing-interface: 127.0.0.1\n'
		sed "s/127\.0\.0\.1@5301/127.0.0.1@$H_RBLDNSD_PORT/" "$f"
		printf 'remote-control:\n  control-enable: no\n'
	} >"$d/unbound.conf"
	tap_ok "unbound.conf block at line $ln: unbound-checkconf accepts it" \
		unbound-checkconf "$d/unbound.conf"
	unbound -d -c "$d/unbound.conf" </dev/null >"$d/unbound.out" 2>&1 &
	h_track $! unbound
	h_wait_udp_port "$port" 10 $!
	q() { dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 2.0.0.127.bl.moat.test A; }
	h_wait_for 5 q >/dev/null
	tap_is "$(q)" "127.0.0.2" "...and 2.0.0.127.bl.moat.test is 127.0.0.2 through it"
done
tap_done
