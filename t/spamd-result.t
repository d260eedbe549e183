#!/bin/bash
# spamd-result.t - X-Spamd-Result exactly as Rspamd writes it: a
# differential test against Debian's rspamd. The test generates messages
# (t/lib/spamd-result.py gen); each goes through miltertest to
# moat-contentfilter and to rspamd's proxy worker as a self-scanning
# milter with extended_spam_headers (docker-mailserver's setup, offline on
# a private unbound), and rspamd judges: the header syntax must be the same
# (first line, one symbol a line after a TAB, ';' placement, order by
# absolute weight, two decimals), and every symbol both report must have
# the same options with the same separators. The symbol sets may differ.
# moatctl scan's text and JSON are held to rspamc's the same way.
#
# Where rspamd writes an option raw that breaks its own syntax (a ',', ';',
# '[' or ']' inside one option, from an envelope sender
# <"a;b"@example.net>),
# rspamd's exact option list comes from its JSON answer (rspamc --json on
# the same instance) and moat must write each option through the one
# encoder: those characters become U+FFFD.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/bench/peers.sh"
h_init
for c in rspamd rspamc miltertest unbound python3; do
	command -v "$c" >/dev/null || tap_skip_all "$c not installed"
done
judge() { python3 "$MOAT_SRCDIR/t/lib/spamd-result.py" "$@"; }

tap_ok "a private resolver that knows no name" z_start_nx_unbound
R=$H_TMP/rspamd
proxy_port=$(h_free_port)
normal_port=$(h_free_port)
bench_rspamd_config "$R" 1 "$normal_port"
bench_rspamd_proxy "$R" "$proxy_port"
bench_rspamd_run "$R"
# rspamd compiles its rules first: slow on a busy machine.
tap_ok "rspamd starts with a proxy (milter) and a normal worker" \
	eval 'h_wait_port "$proxy_port" 120 "$RSPAMD_PID" && h_wait_port "$normal_port" 60 "$RSPAMD_PID"'
tap_ok "moat-contentfilter starts" m_start_contentfilter

msgs=$H_TMP/msgs
mkdir -p "$msgs"
names=$(judge gen "$msgs")
tap_ok "messages generated" test -n "$names"

# send PORT NAME OUT: the message NAME through the milter on PORT.
send() {
	MT_PORT=$1 MT_MSG=$msgs/$2.eml MT_FROM=$(cat "$msgs/$2.from") MT_RCPT="<bob@example.com>" \
		MT_OUT=$3 miltertest -s "$MOAT_SRCDIR/t/data/milter/send.lua"
}

for n in $names; do
	d=$H_TMP/out/$n
	mkdir -p "$d"
	tap_ok "$n: through rspamd's milter" send "$proxy_port" "$n" "$d/rspamd"
	tap_ok "$n: through moat's milter" send "$M_MILTER_PORT" "$n" "$d/moat"
	from=$(cat "$msgs/$n.from")
	from=${from#<}
	rspamc -h "127.0.0.1:$normal_port" --json -i 198.51.100.20 --helo mx.sender.example \
		-F "${from%>}" -r bob@example.com "$msgs/$n.eml" >"$d/rspamd.json" 2>"$d/rspamc.err"
	tap_ok "$n: rspamd's exact options (JSON)" python3 -c 'import json,sys; json.load(open(sys.argv[1]))["symbols"]' "$d/rspamd.json"
	tap_diag "$n: rspamd: $(tr '\n' '|' <"$d/rspamd")"
	tap_diag "$n: moat:   $(tr '\n' '|' <"$d/moat")"
	tap_ok "$n: moat's header has Rspamd's syntax" judge syntax "$d/moat"
	case $n in
	semicolon | brackets)
		# rspamd's folder breaks its line after a ';' inside an option, and
		# a '[' or ']' inside one hides where the options end.
		tap_ok "$n: rspamd's own header breaks its syntax (why moat encodes ';', '[', ']')" \
			eval '! judge syntax "$d/rspamd" 2>/dev/null'
		;;
	*)
		tap_ok "$n: rspamd's header has the same syntax" judge syntax "$d/rspamd"
		;;
	esac
	case $n in
	single) want="MIME_GOOD MIME_TRACE RCPT_COUNT_ONE FROM_EQ_ENVFROM" ;;
	alternative | nested | rfc822) want="MIME_GOOD MIME_TRACE" ;;
	*) want="FROM_NEQ_ENVFROM MIME_GOOD MIME_TRACE" ;;
	esac
	tap_ok "$n: the same options and separators for each symbol both report ($want among them)" \
		judge options "$d/moat" "$d/rspamd" "$d/rspamd.json" $want
	# moatctl scan has no envelope: the symbols of the message itself.
	m_ctl scan --no-dns "$msgs/$n.eml" >"$d/moat.scan" 2>/dev/null
	m_ctl scan --no-dns --json "$msgs/$n.eml" >"$d/moat.scan.json" 2>/dev/null
	rspamc -h "127.0.0.1:$normal_port" -i 198.51.100.20 "$msgs/$n.eml" >"$d/rspamc.txt" 2>&1
	tap_ok "$n: moatctl scan prints the options as rspamc does, --json one element per option" \
		judge scan "$d/moat.scan" "$d/moat.scan.json" "$d/rspamc.txt" "$d/rspamd.json" \
		MIME_GOOD MIME_TRACE
done

kill "$M_MILTER_PID"
wait "$M_MILTER_PID" 2>/dev/null
tap_ok "no sanitizer reports in the daemon log" m_check_sanitizer_logs "$M_MILTER_LOG"
tap_done
