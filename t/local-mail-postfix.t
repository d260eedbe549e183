#!/bin/bash
# local-mail-postfix.t - the content filter's greylisting through a real
# Postfix, for the mail that it used to hold for ever (issue 13, trial
# problem 5) and the mail it must leave alone:
# - an SMTP client that sends no Message-ID (Postfix writes one with the
#   queue ID on every attempt) is greylisted once and let through on its
#   retry, with "no action" and GREYLIST(0.00)[pass] as Rspamd writes them;
# - mail submitted with sendmail, from a client in local_networks or from
#   a SASL-authenticated session is never greylisted: by default not even
#   scanned (history action "skipped", with the reason), with scan_local =
#   yes scanned but still never greylisted.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need postfix swaks smtp-sink sendmail
db=$H_TMP/state/moat.db
m_ctl migrate >/dev/null
# The default weights, as in the trial: an all-capitals subject (3) and no
# To header (2) put a message at 5, between greylist (4) and add header (6).
conf=$H_TMP/moat.conf
echo "greylist_delay = 3s" >"$conf"
# A message greylisted 40 days ago and never seen again: past greylist_max_age.
sqlite3 "$db" "INSERT INTO milter_greylist VALUES (4242, unixepoch() - 40 * 86400, unixepoch() - 40 * 86400)"
# Only 127.0.0.1 is local here; the test's remote clients use 127.0.0.2.
tap_ok "moat-contentfilter starts" m_start_contentfilter -c "$conf" -o local_networks=127.0.0.1/32
tap_ok "...and logs the local networks" h_wait_log "local networks: 127\.0\.0\.1/32; local mail is not scanned" 5 "$M_MILTER_LOG"

# Clients on 127.0.0.2 get Postfix's header fixes too (a Message-ID with
# the queue ID and a Date), as clients on 127.0.0.1 do by default.
tap_ok "private Postfix with the milter for SMTP and local submission" h_start_postfix \
	"smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" \
	"non_smtpd_milters = inet:127.0.0.1:$M_MILTER_PORT" "milter_default_action = tempfail" \
	"local_header_rewrite_clients = static:all"

# Cyrus SASL with a sasldb made here (perl's DB_File writes the Berkeley DB
# hash libsasldb reads): alice/secret in realm moat.test. Debian's Postfix
# reads smtpd.conf from $config_directory/sasl.
have_sasl=
if postconf -a 2>/dev/null | grep -qx cyrus && mkdir -p "$H_PF_DIR/sasl" &&
	perl -MDB_File -MFcntl -e 'tie my %h, "DB_File", $ARGV[0], O_RDWR | O_CREAT, 0644, $DB_HASH or die "$!\n";
		$h{"alice\0moat.test\0userPassword"} = "secret"; untie %h' "$H_PF_DIR/sasl/sasldb2"; then
	chmod 0644 "$H_PF_DIR/sasl/sasldb2"
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: PLAIN LOGIN\n' \
		"$H_PF_DIR/sasl/sasldb2" >"$H_PF_DIR/sasl/smtpd.conf"
	h_postfix_postconf -e "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" \
		"cyrus_sasl_config_path = $H_PF_DIR/sasl" "smtpd_sasl_local_domain = moat.test" &&
		h_postfix_reload && have_sasl=1
fi

# A web application's message: no Message-ID, no Date, no To.
webapp() { # webapp [SWAKS-OPTS...]
	h_swaks --local-interface 127.0.0.2 --from web@app.example --to user@example.com \
		--data $'Subject: WEB APP REPORT\nFrom: web@app.example\n\nnightly job done\n' "$@" 2>&1
}
hist() { # hist SQL-WHERE: "action|reason" of the newest matching row
	sqlite3 "$db" "SELECT action || '|' || reason FROM history WHERE $1 ORDER BY id DESC LIMIT 1"
}
wait_hist() { # wait_hist N: until the history has N rows
	h_wait_for 5 test "$(sqlite3 "$db" "SELECT count(*) FROM history")" -ge "$1"
}
sent=0

out=$(webapp)
tap_like "$out" "<\*\* 451 4\.7\.1 Greylisted" "a client without a Message-ID in the greylist band: 451 4.7.1"
sleep 1.5
out=$(webapp)
tap_like "$out" "<\*\* 451 4\.7\.1 Greylisted" "...a retry before the delay: 451 again"
sleep 2
out=$(webapp)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "...the retry after the delay is accepted, though Postfix wrote it a new Message-ID"
sent=$((sent + 1))
tap_ok "...and arrives" h_sink_wait $sent 20
m=$(cat "$(h_sink_last)")
tap_like "$m" $'\nX-Rspamd-Action: no action\n' "...with X-Rspamd-Action: no action (Rspamd's action for mail greylisting let through)"
tap_like "$m" "X-Spamd-Result: default: False \[5\.[0-9]{2} / 11\.00\];.*GREYLIST\(0\.00\)\[pass\]" \
	"...and GREYLIST(0.00)[pass] in X-Spamd-Result"
wait_hist 3
tap_is "$(sqlite3 "$db" "SELECT group_concat(action, ',') FROM (SELECT action FROM history WHERE sender = 'web@app.example' ORDER BY id)")" \
	"greylist,greylist,no action" "history: held twice, then let through"
tap_like "$(hist "sender = 'web@app.example'")" "^no action\|greylisting passed after [3-9]s$" "...with the reason"
tap_is "$(m_ctl history --action greylist | tail -n +2 | wc -l)" 2 "moatctl history --action greylist: only the two held"
tap_is "$(sqlite3 "$db" "SELECT count(*) FROM milter_greylist WHERE id = 4242")" 0 \
	"a greylisted message not seen for greylist_max_age is forgotten"
tap_is "$(sqlite3 "$db" "SELECT action || '=' || messages FROM actions_today WHERE action IN ('greylist', 'no action') ORDER BY action")" \
	"greylist=2"$'\n'"no action=1" "actions_today counts held and let-through mail apart"

# Local submission, the trial's cron mail.
printf 'Subject: CRON DAILY REPORT\n\nbackup ok\n' |
	sendmail -C "$H_PF_DIR" -f root@moat-test.localdomain user@example.com
sent=$((sent + 1))
tap_ok "sendmail mail in the greylist band arrives at once" h_sink_wait $sent 20
m=$(cat "$(h_sink_last)")
tap_like "$m" $'\nSubject: CRON DAILY REPORT\n' "...it is the cron mail"
tap_ok "...unscanned: no X-Spamd-Result, no X-Rspamd-Action" bash -c "! grep -qiE '^X-(Spamd-Result|Rspamd-Action):' '$(h_sink_last)'"
wait_hist 4
tap_is "$(hist "sender = 'root@moat-test.localdomain'")" \
	"skipped|not scanned: submitted on this host (scan_local = no)" "history: skipped, and why"
tap_ok "...and the log says so" h_wait_log ": client=127\.0\.0\.1, from=<root@moat-test\.localdomain>, .*action=skipped, reason=not scanned: submitted on this host" 5 "$M_MILTER_LOG"

out=$(webapp --local-interface 127.0.0.1 --from web2@app.example)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "a client in local_networks in the greylist band: accepted at once"
sent=$((sent + 1))
tap_ok "...arrives" h_sink_wait $sent 20
tap_ok "...unscanned" bash -c "! grep -qi '^X-Spamd-Result:' '$(h_sink_last)'"
wait_hist 5
tap_is "$(hist "sender = 'web2@app.example'")" \
	"skipped|not scanned: client in local_networks (scan_local = no)" "history: skipped, client in local_networks"

# scan_local = yes on SIGHUP: local mail is scanned, and still never greylisted.
echo "scan_local = yes" >>"$conf"
kill -HUP "$M_MILTER_PID"
tap_ok "SIGHUP applies scan_local = yes" h_wait_log "local mail is scanned, never greylisted" 5 "$M_MILTER_LOG"
printf 'Subject: CRON WEEKLY REPORT\n\nbackup ok\n' |
	sendmail -C "$H_PF_DIR" -f root@moat-test.localdomain user@example.com
sent=$((sent + 1))
tap_ok "scan_local = yes: sendmail mail in the greylist band arrives at once" h_sink_wait $sent 20
m=$(cat "$(h_sink_last)")
tap_like "$m" "X-Spamd-Result: default: False \[5\.[0-9]{2} / 11\.00\]" "...scanned (score 5: the greylist band)"
tap_like "$m" $'\nX-Rspamd-Action: no action\n' "...not greylisted: no action"
wait_hist 6
tap_is "$(hist "subject = 'CRON WEEKLY REPORT'")" "no action|not greylisted: submitted on this host" \
	"history: no action, not greylisted and why"

if [ -n "$have_sasl" ]; then
	out=$(webapp --from web3@app.example --auth PLAIN --auth-user alice --auth-password secret)
	tap_like "$out" "<-  235 2\.7\.0 Authentication successful" "SASL login through Cyrus SASL (sasldb)"
	tap_like "$out" "<-  250 2\.0\.0 Ok: queued as" "an authenticated client (not in local_networks) in the greylist band: accepted at once"
	sent=$((sent + 1))
	tap_ok "...arrives" h_sink_wait $sent 20
	tap_like "$(cat "$(h_sink_last)")" $'\nX-Rspamd-Action: no action\n' "...scanned, not greylisted"
	wait_hist 7
	tap_is "$(hist "sender = 'web3@app.example'")" "no action|not greylisted: authenticated as alice@moat.test" \
		"history: not greylisted, authenticated as alice@moat.test (Postfix's sasl_username)"
else
	tap_skip "Postfix without Cyrus SASL, or no perl DB_File" 5
fi

h_postfix_stop
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
