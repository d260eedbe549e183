#!/bin/bash
# dmarc-authheaders.t - moat's DMARC engine (shared/auth/dmarc.c, through
# t/dmarc_query) against authheaders (python3-authheaders), the independent
# implementation Debian ships, on generated cases: record trees under each
# case's registrable domain with p, sp, np, adkim, aspf, pct, t and psd
# (some with a Public Suffix Domain of their own, some deeper than 8
# labels), existing and non-existent From domains, SPF and DKIM verdicts
# for aligned, relaxed, sibling and foreign domains. A private unbound
# serves the records (local-data); both implementations ask it.
#
# Every case is judged three ways: by moat; by authheaders (its RFC 7489
# mode with the PSL for psl cases, its mode for an early DMARCbis draft for
# treewalk cases); and by a model of the RFCs written from their text in
# t/lib/dmarc-gen.py. moat must agree with the model on every case; where
# authheaders differs, the departures from the RFC that reproduce its
# verdict (switches in the model) are named and counted, and a difference
# no departure explains fails the test.
#
# DMARC_SEED=N DMARC_CASES=N pick other cases (defaults: seed 1, 1000).
# The last part runs the check as the milter does (t/dmarc_query -m):
# the From header, dmarc_enforce, local mail.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || tap_skip_all "unbound not installed"
/usr/bin/python3 -c 'import authheaders, dns.resolver' 2>/dev/null ||
	tap_skip_all "python3-authheaders not installed"

seed=${DMARC_SEED:-1}
ncases=${DMARC_CASES:-1000}
gen=$MOAT_SRCDIR/t/lib/dmarc-gen.py
q=$MOAT_BUILDDIR/t/dmarc_query
dir=$H_TMP/dmarc
mkdir -p "$dir"

tap_ok "generate $ncases cases (seed $seed)" /usr/bin/python3 "$gen" gen "$seed" "$ncases" "$dir"
# The end-to-end part's records.
cat >>"$dir/zone.conf" <<'EOF'
  local-data: '_dmarc.strict.example.com. 300 IN TXT "v=DMARC1; p=reject"'
  local-data: 'strict.example.com. 300 IN A 192.0.2.1'
  local-data: '_dmarc.soft.example.com. 300 IN TXT "v=DMARC1; p=quarantine; pct=0"'
EOF

start_unbound() {
	h_start_local_unbound dmarc static "$dir/zone.conf" || return 1
	PORT=$H_LOCAL_UNBOUND_PORT
}
tap_ok "unbound serves the records" start_unbound || { tap_done; exit; }
tap_like "$(h_dig "$PORT" +short _dmarc.strict.example.com TXT)" "v=DMARC1" "unbound answers"

t0=$(date +%s)
rc=0
"$q" -s "127.0.0.1:$PORT" -b <"$dir/cases" >"$dir/moat.out" 2>"$dir/moat.err" || rc=$?
t1=$(date +%s)
tap_is "$rc:$(head -c 2000 "$dir/moat.err")" "0:" "dmarc_query ran cleanly (exit 0, nothing on stderr)"
/usr/bin/python3 "$gen" oracle "$PORT" "$dir" >"$dir/ah.out" 2>"$dir/ah.err"
t2=$(date +%s)
/usr/bin/python3 "$gen" model "$dir" "$dir/ah.out" >"$dir/model.out" 2>"$dir/model.err"
tap_note "moat: $((t1 - t0)) s, authheaders: $((t2 - t1)) s for $ncases cases"
tap_is "$(wc -l <"$dir/moat.out")" "$ncases" "moat answered every case"
tap_is "$(wc -l <"$dir/ah.out"):$(tail -c 500 "$dir/ah.err")" "$ncases:" "authheaders answered every case"
tap_is "$(wc -l <"$dir/model.out"):$(tail -c 500 "$dir/model.err")" "$ncases:" \
	"the RFCs' model judged every case"

# "ID RESULT POLICY" of moat: its result (fail/pass/none) and the policy that applies.
awk '{ print $1, $2, ($2 == "none" ? "-" : $3) }' "$dir/moat.out" >"$dir/moat.cmp"
declare -A mode model why
while read -r id m _; do mode[$id]=$m; done <"$dir/cases"
while read -r id res pol _ w; do model[$id]="$res $pol" why[$id]=$w; done <"$dir/model.out"

declare -A same differ ah dep
unexplained=0
while read -r id mres mpol && read -r aid ares apol <&3; do
	[ "$id" = "$aid" ] || { tap_diag "out of step: $id / $aid"; break; }
	m=${mode[$id]}
	if [ "$mres $mpol" = "${model[$id]}" ]; then
		same[$m]=$((${same[$m]:-0} + 1))
	else
		differ[$m]=$((${differ[$m]:-0} + 1))
		[ "${differ[$m]}" -le 10 ] && tap_diag "$m case $id: moat $mres $mpol, the RFC ${model[$id]}" \
			"$(grep "^$id " "$dir/cases")" "$(grep "^$id " "$dir/moat.out")"
	fi
	if [ "$mres $mpol" = "$ares $apol" ]; then
		ah[$m]=$((${ah[$m]:-0} + 1))
	elif [ "${why[$id]}" = unexplained ] || [ "${why[$id]}" = - ]; then
		unexplained=$((unexplained + 1))
		[ $unexplained -le 10 ] && tap_diag "$m case $id: authheaders $ares $apol, no departure explains it" \
			"$(grep "^$id " "$dir/cases")"
	else
		dep["$m ${why[$id]}"]=$((${dep["$m ${why[$id]}"]:-0} + 1))
	fi
done <"$dir/moat.cmp" 3<"$dir/ah.out"

tap_note "results: $(awk '{print $2}' "$dir/moat.out" | sort | uniq -c | tr '\n' ' ')"
for m in psl treewalk; do
	n=$(grep -c " $m " "$dir/cases")
	tap_note "$m: $n cases, moat equal to the RFC on ${same[$m]:-0}, to authheaders on ${ah[$m]:-0}"
	tap_is "${differ[$m]:-0}" 0 "$m: moat agrees with the RFC's model on every case"
	tap_ok "$m: and with authheaders on most" test "${ah[$m]:-0}" -ge $((n * 6 / 10))
done
for k in "${!dep[@]}"; do
	tap_note "  authheaders differs by $k: ${dep[$k]} cases"
done
/usr/bin/python3 "$gen" departures | sed 's/^/#     /'
tap_is "$unexplained" 0 "every difference from authheaders is one of its named departures from the RFC"
tap_ok "the policies differ somewhere, so the comparison has teeth" \
	test "$(awk '$2 == "fail" {print $3}' "$dir/moat.out" | sort -u | wc -l)" -eq 3
tap_ok "most cases are not simply 'none'" \
	test "$(awk '$2 != "none"' "$dir/moat.out" | wc -l)" -ge $((ncases / 2))

# ---- the check as the milter runs it -----------------------------------------
msg() { printf 'From: %s\r\nTo: b@example.net\r\nSubject: t\r\n\r\nhi\r\n' "$1" >"$dir/m.eml"; }
run() { "$q" -s "127.0.0.1:$PORT" -m "$dir/m.eml" "$@" 2>&1; }
msg '"Strict Bank" <ceo@Strict.Example.COM>'
out=$(run -S fail:evil.example -D pass:evil.example)
tap_like "$out" '^DMARC_POLICY_REJECT\[strict.example.com : No valid SPF.* DKIM not aligned .relaxed.*,reject\] ' \
	"a forged p=reject domain: DMARC_POLICY_REJECT with Rspamd's options (',' '(' ')' hdrsafe'd)"
tap_like "$out" "action=greylist auth=fail/reject/strict.example.com from=strict.example.com" \
	"...dmarc_enforce = no: the weights decide (DMS: 5.5, greylist); scan_auth filled"
out=$(run -o dmarc_enforce=yes -S fail:evil.example -D pass:evil.example)
tap_like "$out" "action=reject" "dmarc_enforce = yes: rejected"
tap_like "$out" "reply: Rejected by the DMARC policy of strict.example.com" "...with a reply that says why"
out=$(run -o dmarc_enforce=yes -o dmarc_org_domain=psl -S pass:mail.strict.example.com)
tap_like "$out" "^DMARC_POLICY_ALLOW\[strict.example.com,reject\] action=no action" \
	"genuine mail (relaxed SPF): DMARC_POLICY_ALLOW, never rejected"
out=$(run -o dmarc_enforce=yes -l -S fail:evil.example)
tap_like "$out" "^ action=no action auth=-" "local mail is not checked"
msg '<ceo@soft.example.com>'
out=$(run -o dmarc_enforce=yes -o dmarc_org_domain=psl -S fail:evil.example -D fail:soft.example.com)
tap_like "$out" "DMARC_POLICY_SOFTFAIL\[soft.example.com : No valid SPF,quarantine,sampled_out\] action=no action" \
	"pct=0: sampled out, as Rspamd"
tap_ok "a DNS server that never answers" h_start_dns_blackhole
msg '<ceo@strict.example.com>'
out=$("$q" -s "127.0.0.1:$H_BLACKHOLE_PORT" -m "$dir/m.eml" -o dns_timeout=1s -o dns_retries=0 \
	-S pass:strict.example.com 2>&1)
tap_like "$out" "^DMARC_DNSFAIL\[strict.example.com : DNS query timed out\] action=soft reject" \
	"the resolver silent: DMARC_DNSFAIL, and soft_reject_on_timeout's soft reject"
out=$("$q" -s "127.0.0.1:$H_BLACKHOLE_PORT" -m "$dir/m.eml" -o dns_timeout=1s -o dns_retries=0 \
	-o soft_reject_on_timeout=no -S pass:strict.example.com 2>&1)
tap_like "$out" "^DMARC_DNSFAIL.* action=no action" "...no soft reject with soft_reject_on_timeout = no"
msg 'a@strict.example.com, b@strict.example.com'
tap_like "$(run -S fail:x.example)" "^DMARC_NA\[Duplicate From header\]" "two From addresses: DMARC_NA"
msg 'undisclosed-recipients:;'
tap_like "$(run -S fail:x.example)" "^DMARC_NA\[No domain in From header\]" "no domain: DMARC_NA"
tap_done
