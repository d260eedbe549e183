#!/bin/bash
# privdrop.t - started as root, both daemons bind, give the state
# directory and database to run_as, then become that user for good (uid,
# gid and supplementary groups in /proc/PID/status); a unix socket gets
# unix_socket_mode and unix_socket_group and works; a missing user is one
# clear fatal line; a link planted where the database was is not given
# away; started as another user, a daemon stays that user.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root"
# nobody stands in for the moat user: no test should add users to the machine.
user=nobody
uid=$(id -u $user) gid=$(id -g $user)
group=postfix
getent group $group >/dev/null || group=
state=$H_TMP/state
sockdir=$H_TMP/sock
# As an admin would make /var/spool/postfix/moat: the daemon may then remove its socket.
mkdir -p "$sockdir" && chown $user "$sockdir"

# A database made by root (moatctl migrate as root) is given to the user at start.
m_ctl migrate >/dev/null && sqlite3 "$state/moat.db" "UPDATE dnsbl_zones SET enabled = 0"
tap_is "$(stat -c %U "$state/moat.db")" root "moatctl as root made a root-owned database"

# ids PID: "uid uid uid uid/gid gid gid gid/groups" from /proc.
ids() {
	awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 } /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
	     /^Groups:/ { $1 = ""; gr = substr($0, 2) } END { print u "/" g "/" gr }' "/proc/$1/status"
}
want="$uid $uid $uid $uid/$gid $gid $gid $gid/$gid"

sock=$sockdir/policy.sock
M_POLICYD_LOG=$H_TMP/logs/policyd.log
"$(m_bin moat-policyd)" -f -o state_directory="$state" -o dns_servers=127.0.0.1:1 \
	-o run_as=$user -o policy_listen="unix:$sock" -o unix_socket_mode=0660 \
	${group:+-o unix_socket_group=$group} >>"$M_POLICYD_LOG" 2>&1 &
pid=$!
h_track $pid moat-policyd
tap_ok "moat-policyd started as root with run_as = $user" h_wait_log "ready: listening" 10 "$M_POLICYD_LOG"
tap_is "$(ids $pid)" "$want" "moat-policyd: real, effective, saved and fs uid/gid are $user's, no other groups"
tap_ok "...and it says so" grep -q "running as user $user (uid $uid, gid $gid)" "$M_POLICYD_LOG"
tap_is "$(stat -c '%a %U' "$sock")" "660 $user" "the socket has unix_socket_mode 0660, owner $user"
if [ -n "$group" ]; then
	tap_is "$(stat -c %G "$sock")" "$group" "...and unix_socket_group $group"
else
	tap_skip "no postfix group on this machine"
fi
tap_is "$(stat -c %U "$state" "$state/moat.db" | sort -u)" "$user" \
	"the state directory and the database now belong to $user"
# One policy request over the unix socket, as Postfix would send it.
reply=$(perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
	print $s "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.7\n",
		"sender=a\@example.org\nrecipient=b\@example.com\n\n";
	while (<$s>) { last if /^$/; print }' "$sock" 2>&1)
tap_like "$reply" "^action=DEFER_IF_PERMIT 4\.7\.1 Greylisted" \
	"it answers over the unix socket, and can write the greylist as $user"
tap_is "$(sqlite3 "$state/moat.db" "SELECT client FROM greylist")" "192.0.2.0" "...the triplet is stored"

m_start_contentfilter -o run_as=$user
tap_is "$(ids "$M_MILTER_PID")" "$want" "moat-contentfilter: uid/gid are $user's, no other groups"
if command -v miltertest >/dev/null; then
	tap_ok "...and it scans a message" env MOAT_MILTER_PORT="$M_MILTER_PORT" \
		miltertest -s "$MOAT_SRCDIR/t/data/milter/clean.lua"
	rows() { [ "$(sqlite3 "$state/moat.db" "SELECT count(*) FROM history")" -ge 1 ]; }
	tap_ok "...and writes its history as $user" h_wait_for 10 rows
else
	tap_skip "miltertest not installed" 2
fi
h_stop "$M_MILTER_PID"
h_stop $pid
tap_ok "moat-policyd as $user removed its socket on exit" test ! -e "$sock"

# run_as names nobody: one fatal line that says how to create the user.
out=$(timeout 10 "$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/s2" \
	-o run_as=moat-no-such-user 2>&1)
tap_is "$?" 1 "a missing run_as user: exit 1"
tap_like "$out" $'^[^\n]*fatal: run_as = moat-no-such-user: no such user; create it with "useradd --system [^"]* moat-no-such-user"[^\n]*$' \
	"...one line naming the user and how to create it"
out=$(timeout 10 "$(m_bin moat-contentfilter)" -f -o state_directory="$H_TMP/s2" \
	-o run_as=moat-no-such-user 2>&1)
tap_like "$out" "fatal: run_as = moat-no-such-user: no such user" "...moat-contentfilter too"

# A symbolic link where the database was must not give its target away.
mkdir -p "$H_TMP/s3" && chown $user "$H_TMP/s3"
echo secret >"$H_TMP/victim"
ln -s "$H_TMP/victim" "$H_TMP/s3/moat.db"
out=$(timeout 10 "$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/s3" -o run_as=$user 2>&1)
tap_is "$?" 1 "a link planted as the database stops the start"
tap_like "$out" "fatal: cannot open $H_TMP/s3/moat.db: Too many levels of symbolic links" "...saying why"
tap_is "$(stat -c %U "$H_TMP/victim")" root "...and its target still belongs to root"

# A state_directory that holds other things (a typo like /var/lib) is not given away.
mkdir -p "$H_TMP/s5" && touch "$H_TMP/s5/someone-elses-file"
out=$(timeout 10 "$(m_bin moat-policyd)" -f -o state_directory="$H_TMP/s5" -o run_as=$user 2>&1)
tap_like "$out" "fatal: $H_TMP/s5 holds other files than moat's: not giving it to $user" \
	"a state directory with other files in it is not given to $user"
tap_is "$(stat -c %U "$H_TMP/s5")" root "...it still belongs to root"

# Started as another user, a daemon just runs as that user.
mkdir -p "$H_TMP/s4" && chown $user "$H_TMP/s4"
port=$(h_free_port)
setpriv --reuid=$user --regid="$gid" --clear-groups "$(m_bin moat-policyd)" -f \
	-o state_directory="$H_TMP/s4" -o dns_servers=127.0.0.1:1 \
	-o policy_listen="inet:127.0.0.1:$port" >>"$H_TMP/logs/policyd-user.log" 2>&1 &
pid=$!
h_track $pid moat-policyd
tap_ok "started as $user (run_as = moat, the default)" h_wait_log "ready: listening" 10 \
	"$H_TMP/logs/policyd-user.log"
tap_is "$(ids $pid)" "${want%/*}/" "...it runs as $user (no groups, as setpriv left it)"
# A daemon that cannot write its database still answers (DUNNO, by policy_db_failure_action):
# only the greylist reply shows that it stored the triplet.
tap_like "$(m_policy_query "$port" request=smtpd_access_policy protocol_state=RCPT \
	client_address=192.0.2.8 sender=a@example.org recipient=b@example.com)" \
	'^DEFER_IF_PERMIT 4\.7\.1 ' "...and greylists: it writes its own database"
h_stop $pid
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
