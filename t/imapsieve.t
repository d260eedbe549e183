#!/bin/bash
# imapsieve.t - docker-mailserver's learning from Junk moves, end to end:
# a private Dovecot (imap, imap_sieve) configured as DMS configures it
# (RSPAMD_LEARN=1 on Dovecot 2.3: imapsieve_mailbox1 Junk COPY ->
# learn-spam.sieve, imapsieve_mailbox2 INBOX from Junk COPY ->
# learn-ham.sieve), with DMS's two Sieve scripts, which pipe the message to
# "rspamc -h 127.0.0.1:11334 learn_spam" (learn_ham). The pipe runs as the
# mail user, who cannot write moat's database: moat-controller on
# 127.0.0.1:11334, a secure address, does it for them. An IMAP client
# (python3 imaplib) moves a message into Junk: moat has learned it as spam;
# back to INBOX: as ham.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need dovecot sievec rspamc python3
[ "$(id -u)" -eq 0 ] || tap_skip_all "Dovecot's master process needs root"
[ -f /usr/lib/dovecot/modules/lib95_imap_sieve_plugin.so ] || tap_skip_all "dovecot-sieve not installed"

# DMS's scripts name 127.0.0.1:11334; they are used unchanged when the port
# is free, else the port alone is replaced (said in the test's output).
port=11334
if ! (exec 3<>/dev/tcp/127.0.0.1/11334) 2>/dev/null && python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 11334))' 2>/dev/null; then
	tap_note "DMS's Sieve scripts unchanged: moat-controller on 127.0.0.1:11334"
	: >"$H_TMP/ports/11334"	# parallel tests' h_free_port then skip it
else
	port=$(h_free_port)
	tap_note "127.0.0.1:11334 is taken: the scripts name $port instead"
fi
M_CTRL_FIXED_PORT=$port
m_start_controller || tap_bail "moat-controller did not start on 127.0.0.1:$port"

D=$H_TMP/dovecot
mkdir -p "$D/run" "$D/home" "$D/pipe" "$D/sieve"
chmod 0755 "$D" "$D/run" "$D/pipe" "$D/sieve"
chown nobody:nogroup "$D/home"
# DMS: target/rspamd/... learn-spam.sieve and learn-ham.sieve (setup.d/security/rspamd.sh).
for c in spam ham; do
	cat >"$D/sieve/learn-$c.sieve" <<SIEVE
require ["vnd.dovecot.pipe", "copy", "imapsieve"];
pipe :copy "rspamc" ["-h", "127.0.0.1:$port", "learn_$c"];
SIEVE
done
ln -s "$(command -v rspamc)" "$D/pipe/rspamc"
iport=$(h_free_port)
cat >"$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
log_path = $H_TMP/logs/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/home/%u
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  mailbox Junk {
    auto = subscribe
    special_use = \\Junk
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $iport
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
protocol imap {
  mail_plugins = \$mail_plugins imap_sieve
}
plugin {
  sieve_plugins = sieve_imapsieve sieve_extprograms
  sieve_global_extensions = +vnd.dovecot.pipe
  sieve_pipe_bin_dir = $D/pipe
  imapsieve_mailbox1_name = Junk
  imapsieve_mailbox1_causes = COPY
  imapsieve_mailbox1_before = file:$D/sieve/learn-spam.sieve
  imapsieve_mailbox2_name = INBOX
  imapsieve_mailbox2_from = Junk
  imapsieve_mailbox2_causes = COPY
  imapsieve_mailbox2_before = file:$D/sieve/learn-ham.sieve
}
CONF
# As DMS does: the scripts compiled with sievec.
for c in spam ham; do
	tap_ok "sievec compiles learn-$c.sieve" sievec -c "$D/dovecot.conf" "$D/sieve/learn-$c.sieve"
done
dovecot -F -c "$D/dovecot.conf" >>"$H_TMP/logs/dovecot-out.log" 2>&1 &
h_track $! dovecot
h_wait_port "$iport" 15 $! || tap_bail "Dovecot did not start: $(tail -n 5 "$H_TMP/logs/dovecot.log" "$H_TMP/logs/dovecot-out.log" 2>&1)"

bayes() { m_ctl bayes stats | awk '/^spam messages/ {s=$3} /^ham messages/ {h=$3} END {print s "/" h}'; }
imap() {
	python3 - "$iport" "$1" <<'PY'
import imaplib, sys, time
port, step = int(sys.argv[1]), sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("alice", "secret")
if step == "append":
    msg = (b"From: Bob <bob@example.org>\r\nTo: alice@example.net\r\n"
           b"Subject: cheap watches, best prices\r\nMessage-ID: <junk-1@example.org>\r\n"
           b"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n"
           b"Buy cheap replica watches now, click here, limited offer.\r\n")
    m.append("INBOX", None, None, msg)
src, dst = {"append": ("INBOX", "Junk"), "tojunk": ("INBOX", "Junk"), "back": ("Junk", "INBOX")}[step]
m.select(src)
typ, data = m.search(None, "ALL")
ids = data[0].split()
if not ids:
    sys.exit("no message in " + src)
typ, resp = m.uid("SEARCH", None, "ALL")
uid = resp[0].split()[-1]
typ, resp = m.uid("MOVE", uid, dst)
print(typ)
m.logout()
PY
}
tap_is "$(bayes)" "0/0" "nothing learned yet"
tap_is "$(imap append)" OK "an IMAP client moves a message from INBOX into Junk (MOVE)"
tap_ok "...and moat has learned it as spam" h_wait_for 10 test "$(bayes)" = "1/0"
tap_like "$(cat "$M_CTRL_LOG")" "client=127\.0\.0\.1: learned as spam" "...through moat-controller, without a password"
tap_is "$(imap back)" OK "the client moves it back to INBOX"
tap_ok "...and moat has learned it as ham (moved from spam)" h_wait_for 10 test "$(bayes)" = "0/1"
tap_is "$(imap tojunk)" OK "into Junk again"
tap_ok "...spam again" h_wait_for 10 test "$(bayes)" = "1/0"
tap_ok "no error from the Sieve pipe in Dovecot's log" bash -c "! grep -iE 'pipe action: failed|error' '$H_TMP/logs/dovecot.log'"
h_stop "$M_CTRL_PID"
tap_done
