#!/bin/bash
# dms-move.t - README's "The move, step by step" from docker-mailserver,
# run as written on a realistic DMS configuration: the custom-commands.conf
# of DMS's Rspamd page (the seed), a mailserver.env with ClamAV and
# learning on, and an rspamd/dkim key directory. Postfix starts as DMS has
# it (rspamd_milter to a real Rspamd proxy, milter_default_action =
# accept); the README's commands run in order (moatctl as the test's,
# postconf and postfix on the private instance; systemctl disable on a
# copy of Debian's rspamd.service with --root, since no systemd runs here,
# and start-stop-daemon on the running Rspamd's pid file),
# its main.cf block is applied with this test's ports, the moat.conf lines
# the importers print are given to the daemons. Then mail through Postfix
# shows each import at work: scored by moat, X-Spam: Yes, no subject
# rewrite (preset dms), ClamAV asked (ENABLE_CLAMAV=1). Each command run a
# second time applies nothing.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/bench/peers.sh"
h_init
m_need postfix swaks smtp-sink openssl rspamd systemctl start-stop-daemon unbound
[ -f /lib/systemd/system/rspamd.service ] || tap_skip_all "no /lib/systemd/system/rspamd.service"
db=$H_TMP/state/moat.db

# The README's two sh blocks and the main.cf block of the section.
section=$(awk '/^### The move, step by step/ { on = 1; next } on && /^##/ { exit } on' \
	"$MOAT_SRCDIR/README.md")
steps=$(echo "$section" | awk '/^```sh/ { f = 1; next } /^```/ { f = 0 } f && !/^#/')
maincf=$(echo "$section" | awk '/^```main.cf/ { f = 1; next } /^```/ { f = 0 } f' |
	awk '/^[ \t]/ { line = line " " $1; for (i = 2; i <= NF; i++) line = line " " $i; next }
		{ if (line != "") print line; line = $0 } END { if (line != "") print line }')
tap_like "$steps" $'^systemctl disable --now rspamd\nstart-stop-daemon --stop [^\n]*--pidfile /run/rspamd/rspamd\.pid\n' \
	"step 1 stops Rspamd, with systemd or by its pid file"
tap_like "$steps" $'\nmoatctl preset dms\nmoatctl import-custom-commands [^\n]*\nmoatctl import-dms-env [^\n]*\nmoatctl dkim import ' \
	"step 2: preset, custom commands, environment, keys, in that order"
tap_like "$maincf" "smtpd_milters = inet:127\.0\.0\.1:11332" "the main.cf block names the milter"

# A DMS configuration directory.
dms=$H_TMP/dms
cfg=$dms/docker-data/dms/config/rspamd
mkdir -p "$cfg/dkim"
cp "$MOAT_SRCDIR/t/fuzz/seeds/dms_import/seed-example.conf" "$cfg/custom-commands.conf"
openssl genrsa -out "$cfg/dkim/rsa-2048-mail-moat.test.private.txt" 2048 2>/dev/null
cat >"$dms/mailserver.env" <<'ENV'
# docker-mailserver: Rspamd with ClamAV and learning
OVERRIDE_HOSTNAME=mail.moat.test
ENABLE_RSPAMD=1
RSPAMD_LEARN=1
RSPAMD_GREYLISTING=1
RSPAMD_CHECK_AUTHENTICATED="0"
ENABLE_CLAMAV=1
CLAMAV_MESSAGE_SIZE_LIMIT=20M
SPAM_SUBJECT="***SPAM*** "
MOVE_SPAM_TO_JUNK=1
ENABLE_OPENDKIM=0
ENABLE_OPENDMARC=0
ENABLE_POLICYD_SPF=0
ENABLE_POSTGREY=0
ENV

# Rspamd as DMS runs it: a proxy worker speaking milter (offline: its DNS is
# a private unbound answering NXDOMAIN), and Debian's unit, enabled, in a
# systemd tree of the test's own.
m_ctl migrate >/dev/null && m_quiet_zones
tap_ok "unbound for rspamd" z_start_nx_unbound
R=$H_TMP/rspamd
dead=$(h_free_port)
bench_rspamd_config "$R" 1 "$(h_free_port)"
bench_rspamd_proxy "$R" "$dead"
# Daemonised, as Debian's init script starts it: then it writes its pid file.
ruser=()
if [ "$(id -u)" -eq 0 ]; then
	ruser=(-u _rspamd -g _rspamd)
	chown _rspamd: "$R/db" "$R/log" "$R/run"
fi
rspamd "${ruser[@]}" -c "$R/etc/rspamd.conf" --var="CONFDIR=$R/etc" --var="LOCAL_CONFDIR=$R/etc" \
	--var="DBDIR=$R/db" --var="RUNDIR=$R/run" --var="LOGDIR=$R/log" </dev/null >>"$H_TMP/logs/rspamd.log" 2>&1
tap_ok "Rspamd writes its pid file" h_wait_for 60 test -s "$R/run/rspamd.pid"
RSPAMD_PID=$(cat "$R/run/rspamd.pid")
h_track "$RSPAMD_PID" rspamd
tap_ok "Rspamd's milter listens" h_wait_port "$dead" 120 "$RSPAMD_PID"
root=$H_TMP/sysroot
mkdir -p "$root/lib/systemd/system" "$root/etc/systemd/system"
cp /lib/systemd/system/rspamd.service "$root/lib/systemd/system/"
systemctl --root="$root" enable rspamd >/dev/null 2>&1
tap_is "$(systemctl --root="$root" is-enabled rspamd)" enabled "Debian's rspamd.service enabled, as on the DMS host"
rspamd_pids() { ps -eo pid=,ppid= | awk -v m="$RSPAMD_PID" '$1 == m || $2 == m { print $1 }'; }
tap_ok "Rspamd runs a main process and workers" test "$(rspamd_pids | wc -l)" -ge 2

# Postfix as DMS has it: mail goes through Rspamd.
tap_ok "private Postfix with DMS's rspamd_milter" h_start_postfix \
	"rspamd_milter = inet:127.0.0.1:$dead" 'smtpd_milters = $rspamd_milter' \
	"milter_default_action = accept" \
	"relay_domains = example.com" "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"
send() { h_swaks --xclient-addr 192.0.2.1 --from alice@sender.example --to bob@example.com "$@" 2>&1; }
tap_like "$(send --header "Subject: before" --body "x")" "250 2\.0\.0 Ok: queued" "before: accepted"
h_sink_wait 1 20
tap_unlike() { if [[ $1 =~ $2 ]]; then tap_ok "$3" false; else tap_ok "$3" true; fi; }
tap_like "$(cat "$(h_sink_last)")" $'\nX-Rspamd-Server: ' "before: Rspamd scans it"

# The steps, as written.
moatctl() { m_ctl "$@"; }
postconf() { command postconf -c "$H_PF_DIR" "$@"; }
postfix() { command postfix -c "$H_PF_DIR" "$@"; }
run_steps() {
	local line out
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		case $line in
		systemctl*)
			# The unit in the test's tree; --now needs a running systemd: its stop is the kill line.
			line=${line/systemctl /systemctl --root=\"\$root\" }
			line=${line/ --now/}
			;;
		start-stop-daemon*) line=${line//\/run\/rspamd/$R/run} ;;
		postconf* | postfix*) continue ;;	# step 3, after the main.cf lines below
		esac
		out=$(cd "$dms" && eval "$line" 2>&1)
		tap_is "$?" 0 "$1 run: $line"
		echo "$out" >>"$H_TMP/steps-$1.out"
	done <<<"$steps"
}
sqlite3 "$db" "UPDATE symbols SET weight = 7.5 WHERE name = 'SUBJ_ALL_CAPS'"
pids=$(rspamd_pids)
run_steps first
tap_is "$(systemctl --root="$root" is-enabled rspamd)" disabled "step 1: rspamd.service disabled"
tap_ok "step 1: every Rspamd process gone" h_wait_for 20 bash -c "for p in $(echo $pids); do kill -0 \$p 2>/dev/null && exit 1; done; exit 0"
tap_ok "step 1: its milter port is free" h_wait_for 5 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$dead) 2>/dev/null"
out=$(cat "$H_TMP/steps-first.out")
tap_like "$out" "action rewrite subject: 7\.00 -> off" "preset dms: rewrite subject off"
tap_like "$out" "preset dms: 1 applied, " "preset dms: one change on a fresh database"
tap_like "$out" "line 6: module classifier-bayes option autolearn: false -> true" "the seed's autolearn line"
tap_like "$out" "line 7: module clamav: disabled -> enabled" "ENABLE_CLAMAV=1: module clamav on"
tap_like "$out" "line 8: moat\.conf: clamav_max_size = 20m " "CLAMAV_MESSAGE_SIZE_LIMIT: the moat.conf line"
tap_like "$out" "line 4: not applied: env RSPAMD_LEARN: moat-controller answers rspamc" "RSPAMD_LEARN: what to do"
tap_like "$out" "line 2: not applied: env OVERRIDE_HOSTNAME: a variable moat does not read" \
	"an unknown variable is listed"
tap_like "$out" "mailserver\.env: 1 applied, " "import-dms-env: 1 applied"
tap_is "$(sqlite3 "$db" "SELECT domain || ' ' || selector FROM dkim_keys")" "moat.test mail" \
	"the rspamd/dkim key is mapped"

# The moat.conf lines they printed, given to the daemons.
opts=()
while IFS= read -r l; do opts+=(-o "$l"); done < <(sed -n 's/^.*moat\.conf: \([a-z_]*\) = \([^ ]*\) (.*/\1=\2/p' \
	"$H_TMP/steps-first.out" | sed 's/^controller_secure_ip=$/controller_secure_ip=127.0.0.1/')
tap_like "${opts[*]}" "greylist_mode=suspicious" "the moat.conf lines were read"
nocl=$H_TMP/no-clamd.sock
tap_ok "moat-policyd starts" m_start_policyd "${opts[@]}"
tap_ok "moat-contentfilter starts" m_start_contentfilter "${opts[@]}" \
	-o clamav_servers="unix:$nocl" -o clamav_fail_action=accept
postconf -e "$(echo "$maincf" | grep '^smtpd_recipient_restrictions' |
	sed "s/127\.0\.0\.1:10040/127.0.0.1:$M_POLICY_PORT/")" \
	"$(echo "$maincf" | grep '^smtpd_milters' | sed "s/11332/$M_MILTER_PORT/")" \
	"$(echo "$maincf" | grep '^non_smtpd_milters')" "$(echo "$maincf" | grep '^milter_default_action')"
tap_is "$(postconf -h milter_default_action)" tempfail "main.cf: milter_default_action = tempfail"
# Step 3 (postconf -X rspamd_milter, postfix reload) comes after the main.cf lines.
while IFS= read -r line; do
	case $line in postconf* | postfix*) tap_ok "run: $line" eval "$line" ;; esac
done <<<"$steps"
tap_is "$(postconf -n | grep -c '^rspamd_milter')" 0 "rspamd_milter is gone from main.cf"
sleep 1

out=$(send --header "Subject: THIS IS A SHOUTING SUBJECT" --body "x")
tap_like "$out" "250 2\.0\.0 Ok: queued" "after: accepted"
tap_ok "after: arrives" h_sink_wait 2 20
m=$(cat "$(h_sink_last)")
tap_like "$m" $'\nX-Spamd-Result: default: False \\[' "after: moat scored it"
tap_like "$m" $'\nX-Spam: Yes\n' "after: X-Spam: Yes, for DMS's Sieve (Junk, SPAM_SUBJECT)"
tap_like "$m" $'\nSubject: THIS IS A SHOUTING SUBJECT\n' "after: subject not rewritten (preset dms)"
tap_like "$m" "CLAM_VIRUS_FAIL" "after: ClamAV asked (ENABLE_CLAMAV=1; no clamd here, accept)"

# Everything again: nothing applied.
run_steps second
out=$(cat "$H_TMP/steps-second.out")
tap_like "$out" "preset dms: 0 applied, " "second preset dms: 0 applied"
tap_like "$out" "custom-commands\.conf: 0 applied, " "second import-custom-commands: 0 applied"
tap_like "$out" "mailserver\.env: 0 applied, " "second import-dms-env: 0 applied"
tap_done
