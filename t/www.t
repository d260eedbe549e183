#!/bin/bash
# www.t - moat-controller serves its web UI's files with curl looking:
# / is index.html, MIME types, the security headers on every reply (a
# Content-Security-Policy without inline script, nosniff, no-referrer),
# and no file outside the web root however the path is spelt ("..",
# %2e%2e, encoded slashes, dotfiles, a symbolic link out of the root).
# controller_www_root serves another UI (Rspamd's) with its own policy.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
m_need curl

www=$MOAT_SRCDIR/controller/www
export MOAT_WWW_DIR=$www
m_start_controller || tap_bail "moat-controller did not start"
U=http://127.0.0.1:$M_CTRL_PORT

# get PATH [curl args]: status; headers in $H_TMP/hdr, body in $H_TMP/body.
get() {
	local p=$1
	shift
	curl -s --path-as-is -D "$H_TMP/hdr" -o "$H_TMP/body" -w '%{http_code}' "$@" "$U$p"
}
hdr() { tr -d '\r' <"$H_TMP/hdr" | sed -n "s/^$1: //Ip" | head -1; }

tap_is "$(get /)" 200 "/ is served"
tap_ok "...as index.html" cmp -s "$H_TMP/body" "$www/index.html"
tap_is "$(hdr Content-Type)" "text/html; charset=utf-8" "...as text/html"
csp=$(hdr Content-Security-Policy)
tap_like "$csp" "script-src 'self';" "...with a CSP whose scripts are the UI's own files ($csp)"
tap_ok "...and no inline script, eval or other origin" bash -c "! grep -Eq \"unsafe-inline|unsafe-eval|\\*|http\" <<<\"\$1\"" _ "$csp"
tap_like "$csp" "object-src 'none'" "...no plugins"
tap_like "$csp" "base-uri 'none'" "...no <base>"
tap_like "$csp" "frame-ancestors 'none'" "...no framing"
tap_is "$(hdr X-Content-Type-Options)" nosniff "...X-Content-Type-Options: nosniff"
tap_is "$(hdr Referrer-Policy)" no-referrer "...Referrer-Policy: no-referrer"
tap_is "$(get /index.html)" 200 "/index.html too"
for f in moat.css:text/css app.js:text/javascript favicon.svg:image/svg+xml; do
	tap_is "$(get "/${f%%:*}")/$(hdr Content-Type)" "200/${f#*:}$(case $f in *svg*) ;; *) echo '; charset=utf-8' ;; esac)" \
		"/${f%%:*} is ${f#*:}"
	tap_ok "...the file as it is" cmp -s "$H_TMP/body" "$www/${f%%:*}"
done
tap_is "$(get /ping)" 200 "an API reply..."
tap_like "$(hdr Content-Security-Policy)" "^default-src 'none'" "...has a CSP that allows nothing"
tap_is "$(hdr X-Content-Type-Options)/$(hdr Referrer-Policy)" "nosniff/no-referrer" "...nosniff and no-referrer"
tap_is "$(get /stat --interface 127.0.0.2)" 403 "an API error..."
tap_like "$(hdr Content-Security-Policy)" "^default-src 'none'" "...has it too"
tap_is "$(get /no-such-file.js)" 404 "a missing file is 404"
tap_is "$(body=$(cat "$H_TMP/body"); echo "$(hdr Content-Type)|$body")" "text/plain; charset=utf-8|Not found" \
	"...saying so in plain text"
tap_like "$(hdr Content-Security-Policy)" "script-src 'self'" "...with the headers"
tap_is "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "$U/index.html")" 404 "a POST to a file is 404"
tap_is "$(curl -s -I -o /dev/null -w '%{http_code}' "$U/app.js")" 200 "HEAD of a file"

# Traversal, each spelling: never a file outside the root.
mkdir -p "$H_TMP/outside"
echo "secret outside the web root" >"$H_TMP/outside/secret.txt"
for p in '/../../../../etc/passwd' '/%2e%2e/%2e%2e/%2e%2e/etc/passwd' '/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd' \
	'/..%2f..%2f..%2fetc%2fpasswd' '/js/../../../etc/passwd' '/.%2e/.%2e/etc/passwd' \
	'/index.html/../../etc/passwd' '//etc/passwd' '/%2fetc%2fpasswd' '/..\..\etc\passwd' \
	"/..$H_TMP/outside/secret.txt" '/.git/config' '/.htpasswd' '/%2ehtpasswd'; do
	c=$(get "$p")
	tap_ok "GET $p: $c, no file outside the root" \
		bash -c '[ "$1" = 404 ] || [ "$1" = 403 ]; r=$?; ! grep -Eq "root:|secret outside" "$2" && exit $r' _ "$c" "$H_TMP/body"
done

# libmicrohttpd ends the decoded path at a %00: what is before it is served.
tap_is "$(get '/%00/../etc/passwd')" 200 "GET /%00/../etc/passwd is / ..."
tap_ok "...index.html, nothing else" cmp -s "$H_TMP/body" "$www/index.html"

# A symbolic link out of the root: refused, a link within it: served.
lroot=$H_TMP/www
mkdir -p "$lroot/sub"
cp "$www/index.html" "$lroot/"
echo 'body { color: red }' >"$lroot/sub/real.css"
ln -s "$H_TMP/outside/secret.txt" "$lroot/escape.txt"
ln -s "$H_TMP/outside" "$lroot/outdir"
ln -s sub/real.css "$lroot/inside.css"
printf 'root:x:0:0\n' >"$lroot/.hidden"
head -c 17000000 /dev/zero >"$lroot/huge.js"
h_stop "$M_CTRL_PID"
m_start_controller -o controller_www_root="$lroot" || tap_bail "moat-controller did not start with controller_www_root"
U=http://127.0.0.1:$M_CTRL_PORT
tap_like "$(cat "$M_CTRL_LOG")" "web UI: $lroot \(controller_www_root\)" "controller_www_root is logged"
tap_is "$(get /escape.txt)" 403 "a symbolic link out of the root is 403"
tap_ok "...without the file" bash -c '! grep -q "secret outside" "$1"' _ "$H_TMP/body"
tap_like "$(cat "$H_TMP/body")" "outside the web root" "...saying why"
tap_is "$(get /outdir/secret.txt)" 403 "...a linked directory out of it too"
tap_like "$(cat "$M_CTRL_LOG")" "web UI: /escape.txt leads out of $lroot; refused" "...logged"
tap_is "$(get /inside.css)" 200 "a link within the root is served"
tap_is "$(hdr Content-Type)" "text/css; charset=utf-8" "...by the name it is asked by"
tap_is "$(get /.hidden)" 404 "a dotfile is 404"
tap_is "$(get /sub/)" 404 "a directory without index.html is 404"
tap_is "$(get /huge.js)" 403 "a file over 16 MB is refused"
tap_like "$(get /)$(hdr Content-Security-Policy)" "^200default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'" \
	"another UI gets inline style but still no inline script"

# A root that is not there: logged, files 404 with the reason, the API still served.
h_stop "$M_CTRL_PID"
m_start_controller -o controller_www_root="$H_TMP/no-such-dir" || tap_bail "no start without a web root"
U=http://127.0.0.1:$M_CTRL_PORT
tap_like "$(cat "$M_CTRL_LOG")" "web UI: $H_TMP/no-such-dir: No such file or directory; only the API is served" \
	"a missing web root is logged at start"
tap_is "$(get /)" 404 ".../ is 404"
tap_like "$(cat "$H_TMP/body")" "the web UI is not installed" "...saying why"
tap_is "$(get /ping)" 200 "...and the API answers"

# Rspamd's UI: its one inline script is allowed by its hash, nothing else inline.
if [ -f /usr/share/rspamd/www/index.html ]; then
	h_stop "$M_CTRL_PID"
	m_start_controller -o controller_www_root=/usr/share/rspamd/www || tap_bail "no start with Rspamd's UI"
	U=http://127.0.0.1:$M_CTRL_PORT
	get / >/dev/null
	csp=$(hdr Content-Security-Policy)
	want=$(python3 -c '
import base64, hashlib, re, sys
html = open("/usr/share/rspamd/www/index.html", encoding="utf-8").read()
print(" ".join("'"'"'sha256-%s'"'"'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
               for s in re.findall(r"<script>(.*?)</script>", html, re.S)))')
	tap_ok "Rspamd's UI: its inline script allowed by its SHA-256 ($want)" \
		bash -c 'case $1 in *"script-src '"'self'"' $2;"*) ;; *) exit 1 ;; esac' _ "$csp" "$want"
	tap_ok "...and no unsafe-inline script" bash -c "! grep -q \"script-src[^;]*unsafe-inline\" <<<\"\$1\"" _ "$csp"
	tap_is "$(get /js/main.js)/$(hdr Content-Type)" "200/text/javascript; charset=utf-8" "...its files are served"
	tap_is "$(get /neighbours)/$(cat "$H_TMP/body")" "200/{}" "...and /neighbours answers {} (no cluster)"
	tap_is "$(get /plugins/selectors/list_extractors)/$(cat "$H_TMP/body")" "200/[]" "...the selectors' lists are empty"
else
	tap_skip "rspamd's web UI is not installed" 5
fi
tap_ok "no sanitizer report in the daemon logs" m_check_sanitizer_logs "$H_TMP"/logs/*.log
tap_done
