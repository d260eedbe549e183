#!/bin/bash
# log-untrusted.t - issue 19: text from outside never reaches the log as it
# came. Every byte value 0-255 goes through the policy attributes, the
# milter macros, the envelope, the headers and a DNS list's TXT answer;
# the log then holds no byte below 0x20 but tab and newline, no DEL, no C1
# control, and the rest of each line (the text after the hostile part)
# stays intact.
# printf formats hold the hostile bytes on purpose (every_byte gives \ooo).
# shellcheck disable=SC2059
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v python3 >/dev/null || tap_skip_all "python3 not installed"

# clean_log FILE: no control byte but tab and LF, no DEL, no C1 control in
# UTF-8 (C2 80-9F), and the file is valid UTF-8.
clean_log() {
	python3 - "$1" <<'PY'
import re, sys
b = open(sys.argv[1], 'rb').read()
bad = re.search(rb'[\x00-\x08\x0b-\x1f\x7f]', b)
if bad:
    sys.exit('control byte 0x%02x at offset %d' % (bad.group()[0], bad.start()))
try:
    t = b.decode('utf-8')
except UnicodeDecodeError as e:
    sys.exit('invalid UTF-8: %s' % e)
if re.search('[\x80-\x9f]', t):
    sys.exit('C1 control in the log')
PY
}

# The hostile text: every byte value, with what the carrier cannot hold left
# out (a policy line ends at LF; milter strings end at NUL).
every_byte() { # every_byte SKIP... -> the bytes 1..255 as \ooo escapes for printf
	local i s=
	for ((i = 0; i < 256; i++)); do
		case " $* " in *" $i "*) continue ;; esac
		s+=$(printf '\\%03o' "$i")
	done
	printf '%s' "$s"
}

# --- DNS answers: a list's TXT record with every byte 1-255 (unbound's \DDD) --
dns=
if command -v unbound >/dev/null; then
	txt=$(python3 -c 'print(" ".join(chr(34) + "".join("\\%03d" % i for i in r) + chr(34)
		for r in (range(1, 128), range(128, 256))))')
	printf "server:\n  local-zone: \"bl.test.\" static\n  local-data: \"99.2.0.192.bl.test. A 127.0.0.2\"\n  local-data: '99.2.0.192.bl.test. TXT \"\\027[2J\" %s \"DNS-TXT-END\"'\n" \
		"$txt" >"$H_TMP/txt.conf"
	if h_start_local_unbound txt static "$H_TMP/txt.conf"; then
		dns="-o dns_servers=127.0.0.1:$H_LOCAL_UNBOUND_PORT"
		m_ctl migrate >/dev/null
		sqlite3 "$(m_state)/moat.db" "UPDATE dnsbl_zones SET enabled = 0;
			INSERT INTO dnsbl_zones (name, kind, checks) VALUES ('bl.test', 'ip', 'client');
			INSERT INTO symbols (name, weight, group_name) VALUES ('TEST_BL', 12.0, 'test');
			INSERT INTO dnsbl_codes (zone, code, kind, symbol)
			VALUES ('bl.test', '127.0.0.2', 'listing', 'TEST_BL');"
	fi
fi

# --- policy attributes ------------------------------------------------------
# shellcheck disable=SC2086 # $dns is two words or none
tap_ok "moat-policyd starts" m_start_policyd -o greylist_delay=300 $dns
P=$M_POLICY_PORT
exec {a}<>"/dev/tcp/127.0.0.1/$P"
# A malformed attribute line (no '=') with every other byte: logged, then closed.
printf "request=smtpd_access_policy\n\033[2J$(every_byte 0 10 61) POLICY-MALFORMED-END\n\n" >&"$a"
sleep 0.5
exec {a}>&-
tap_ok "a malformed attribute line with every byte is logged" \
	h_wait_log "malformed attribute line \"\?\[2J.*\"; closing it" 5 "$M_POLICYD_LOG"
hostile=$(every_byte 0 10)
exec {a}<>"/dev/tcp/127.0.0.1/$P"
printf "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.9\nclient_name=unknown\nhelo_name=x.example\nsender=a\033[31m$hostile@example.org\nrecipient=POLICY-RCPT-END@example.com\nqueue_id=\ninstance=1.2.3\n\n" >&"$a"
IFS= read -r -t 5 reply <&"$a"
exec {a}>&-
tap_like "$reply" "^action=" "a request whose sender holds every byte is answered"
tap_ok "...and logged with the rest of the line intact" \
	h_wait_log "from=<a\?\[31m.*@example\.org>, to=<POLICY-RCPT-END@example\.com>, action=" 5 \
	"$M_POLICYD_LOG"
if [ -n "$dns" ]; then
	out=$(m_policy_query "$P" request=smtpd_access_policy protocol_state=RCPT \
		client_address=192.0.2.99 client_name=unknown sender=a@x.example helo_name=x.example \
		recipient=r@example.com)
	tap_like "$out" "^REJECT 5\.7\.1 .*listed at bl\.test; \?\[2J\?+ !.*xyz\{\|\}~\?+" \
		"a listing whose TXT holds every byte: rejected with the text (bounded)"
	tap_ok "...logged with the rest of the line intact" \
		h_wait_log "client=192\.0\.2\.99, .*action=REJECT .*bl\.test; \?\[2J.*~\?+, reason=.*, symbols=TEST_BL" 5 \
		"$M_POLICYD_LOG"
else
	tap_skip "unbound not installed or not started" 2
fi
tap_ok "the policy log holds no control byte, DEL or ill-formed UTF-8" clean_log "$M_POLICYD_LOG"

# --- milter: macros, envelope, headers ----------------------------------------
if command -v miltertest >/dev/null; then
	tap_ok "moat-contentfilter starts" m_start_contentfilter
	# Lua's "\ddd" escapes carry each byte; NUL ends a milter string.
	lua=$H_TMP/hostile.lua
	H=$(python3 -c 'print("".join("\\%d" % i for i in range(1, 256)))')
	cat >"$lua" <<LUA
local H = "$H"
local conn = mt.connect("inet:$M_MILTER_PORT@127.0.0.1", 40, 0.25)
if conn == nil then error("cannot connect to the milter") end
mt.macro(conn, SMFIC_CONNECT, "j", "mx\27[2J" .. H .. ".example")
if mt.conninfo(conn, "rdns\27[31m" .. H .. ".example", "198.51.100.20") ~= nil then error("conninfo") end
if mt.helo(conn, "helo\27]0;title\7" .. H) ~= nil then error("helo") end
mt.macro(conn, SMFIC_MAIL, "i", "QID\27[5m" .. H, "{cert_subject}", "c" .. H)
if mt.mailfrom(conn, "<s\27[31m" .. H .. "@sender.example>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<r" .. H .. "@example.com>") ~= nil then error("rcptto") end
if mt.header(conn, "From", "F" .. H .. " <f@sender.example>") ~= nil then error("header") end
if mt.header(conn, "Subject", "S\27[2J" .. H) ~= nil then error("header") end
if mt.header(conn, "Message-ID", "<" .. H .. "@sender.example>") ~= nil then error("header") end
if mt.header(conn, "X-" .. H, H) ~= nil then error("header") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, H .. "\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
mt.disconnect(conn)
LUA
	tap_ok "miltertest sends every byte through macros, envelope and headers" \
		miltertest -s "$lua"
	tap_ok "...the message is logged with the rest of the line intact" \
		h_wait_log "QID\?\[5m.*: client=.*from=<s\?\[31m.*, nrcpt=1, size=.*, action=" 5 \
		"$M_MILTER_LOG"
	tap_ok "the milter log holds no control byte, DEL or ill-formed UTF-8" clean_log "$M_MILTER_LOG"
else
	tap_skip "miltertest not installed" 4
fi
tap_done
