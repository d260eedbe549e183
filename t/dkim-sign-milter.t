#!/bin/bash
# dkim-sign-milter.t - the {auth_authen} paths of DKIM signing over the
# milter protocol with miltertest (no Postfix): a login signs (the body in
# chunks, never skipped), no macro or an empty one does not, a client in
# dkim_sign_networks signs without a login, a From domain without a key is
# logged and not signed, and dkim_sign_mismatch = no keeps a login to its
# own domain.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v miltertest >/dev/null || tap_skip_all "miltertest not installed"
K=$H_TMP/keys
m_ctl -o dkim_key_directory="$K" -o run_as="$(id -un)" dkim keygen moat.test >/dev/null 2>&1
m_ctl -o dkim_key_directory="$K" -o run_as="$(id -un)" dkim keygen other.test >/dev/null 2>&1
tap_ok "moat-contentfilter starts" m_start_contentfilter -o dkim_key_directory="$K" \
	-o dkim_sign_networks=192.0.2.0/24
export MOAT_MILTER_PORT=$M_MILTER_PORT
mt() { # AUTH FROM SIGNED CLIENT
	MOAT_AUTH=$1 MOAT_FROM=$2 MOAT_SIGNED=$3 MOAT_CLIENT=${4:-198.51.100.20} \
		miltertest -s "$MOAT_SRCDIR/t/data/milter/sign.lua"
}
tap_ok "{auth_authen} set: DKIM-Signature inserted" mt alice@moat.test alice@moat.test yes
tap_ok "...for a From subdomain too (its registrable domain's key)" mt alice@moat.test a@lists.moat.test yes
tap_ok "no {auth_authen}: not signed" mt - alice@moat.test no
tap_ok "an empty {auth_authen}: not signed" mt "" alice@moat.test no
tap_ok "a client in dkim_sign_networks, no login: signed" mt - alice@moat.test yes 192.0.2.7
tap_ok "a login, From a domain without a key: not signed" mt alice@moat.test alice@nokey.example no
tap_ok "...logged" h_wait_log "dkim: not signed: no usable key for nokey\.example" 5 "$M_MILTER_LOG"
tap_ok "dkim_sign_mismatch = yes (default): a login signs for another domain" \
	mt alice@moat.test alice@other.test yes
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "restarted with dkim_sign_mismatch = no" m_start_contentfilter -o dkim_key_directory="$K" \
	-o dkim_sign_mismatch=no
export MOAT_MILTER_PORT=$M_MILTER_PORT
tap_ok "...a login signs for its own domain" mt alice@moat.test alice@moat.test yes
tap_ok "...not for another" mt alice@moat.test alice@other.test no
tap_ok "...logged" h_wait_log "login alice@moat\.test may not sign for other\.test \(dkim_sign_mismatch = no\)" 5 "$M_MILTER_LOG"
tap_ok "...nor a login without a domain" mt alice alice@moat.test no
kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
