#!/bin/bash
# composites-rspamd.t - composite rules, differential: the same composites
# in a private offline rspamd (local.d/composites.conf) and in moat (moatctl
# composites add), over symbols both are made to add from a test header
# (a Lua rule in rspamd, a regex rule in moat, with the same weights).
# Each scenario has its own symbols T<n>_A..T<n>_D (weights 1.5, 2.25, -1
# and 0) and composites C<n>_*: each policy, the ~ - ^ prefixes, negation,
# composites of composites, composites disagreeing over a symbol, and a
# negative weight. Every subset of a scenario's symbols is one message.
# For each message both must leave the same test symbols with the same
# weights, and the same score from them (the total less the weights of the
# other symbols shown, so that a hidden symbol's weight counts).
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/zones.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/bench/peers.sh"
h_init
for prog in rspamd rspamc unbound python3 sqlite3; do
	command -v $prog >/dev/null || tap_skip_all "$prog not installed"
done
[ -d /etc/rspamd ] || tap_skip_all "no /etc/rspamd"

# NAME;EXPRESSION;WEIGHT;POLICY, one composite a line; T<n>_X are the
# scenario's symbols.
cat >"$H_TMP/composites.txt" <<'EOF'
C1_ALL;T1_A & T1_B;5;remove_all
C2_SYMBOL;T2_A & T2_B;5;remove_symbol
C3_WEIGHT;T3_A & (T3_B | T3_C);5;remove_weight
C4_LEAVE;T4_A & T4_B;5;leave
C5_PREFIX;~T5_A & -T5_B & (^T5_C | T5_D);1.5;remove_all
C6_NOT;T6_A & !(T6_B & T6_C);1;remove_all
C6_NOT2;!T6_D & T6_B;0.5;remove_weight
C7_INNER;T7_A & T7_B;2;remove_all
C7_OUTER;C7_INNER & T7_C;3;remove_weight
C7_KEEP;-C7_INNER & T7_D;0.25;remove_all
C8_A;T8_A & T8_B;1;remove_all
C8_B;-T8_A & T8_C;1;remove_all
C8_C;^T8_B & T8_D;1;leave
C9_NOOPT;(T9_A & T9_B) | T9_C;1;remove_all
C10_NEG;T10_A | T10_B;-3;remove_symbol
C11_WEIGHTS;T11_A & T11_B;1;remove_weight
C11_SYMBOLS;T11_A & T11_C;1;remove_symbol
C11_TILDE;~T11_B & T11_D;1;leave
EOF
nscen=11
weights="A:1.5 B:2.25 C:-1 D:0"

M=$H_TMP/msgs
mkdir -p "$M"
# Every subset of A..D per scenario (the empty one too): X-Ct: T3_A T3_C
python3 - "$M" "$nscen" <<'EOF'
import itertools, sys
d, n = sys.argv[1], int(sys.argv[2])
for s in range(1, n + 1):
    for k in range(0, 5):
        for sub in itertools.combinations("ABCD", k):
            tag = "".join(sub) or "none"
            with open(f"{d}/s{s:02d}-{tag}.eml", "w") as f:
                f.write("From: Alice <alice@example.com>\nTo: bob@example.org\n"
                        f"Subject: scenario {s} {tag}\nMessage-ID: <s{s}{tag}@example.com>\n"
                        "Date: Thu, 03 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
                        "X-Ct: " + " ".join(f"T{s}_{x}" for x in sub) + "\n"
                        "Content-Type: text/plain\n\nhello\n")
EOF
nmsg=$(ls "$M" | wc -l)

tap_ok "unbound answering NXDOMAIN (rspamd stays offline)" z_start_nx_unbound
R=$H_TMP/rspamd
rport=$(h_free_port)
bench_rspamd_config "$R" 1 "$rport"
# The test symbols: a Lua rule each, true when X-Ct names it.
{
	echo 'local function has(task, sym) local h = task:get_header("X-Ct") or ""'
	echo '  return h:find("%f[%w_]" .. sym .. "%f[^%w_]") ~= nil end'
	for s in $(seq 1 $nscen); do
		for w in $weights; do
			sym=T${s}_${w%%:*}
			printf 'rspamd_config:register_symbol{name = "%s", score = %s, group = "ct",\n' "$sym" "${w#*:}"
			printf '  callback = function(task) return has(task, "%s") end}\n' "$sym"
		done
	done
} >"$R/etc/local.d/rspamd.lua"
while IFS=';' read -r name expr w pol; do
	printf '%s {\n  expression = "%s";\n  score = %s;\n  policy = "%s";\n}\n' "$name" "$expr" "$w" "$pol"
done <"$H_TMP/composites.txt" >"$R/etc/local.d/composites.conf"
bench_rspamd_run "$R"
tap_ok "rspamd starts" h_wait_port "$rport" 120 "$RSPAMD_PID"

# The same in moat: symbols with weights, a regex rule each on X-Ct, the composites.
m_ctl migrate >/dev/null
for s in $(seq 1 $nscen); do
	for w in $weights; do
		sym=T${s}_${w%%:*}
		echo "INSERT INTO symbols (name, weight, group_name) VALUES ('$sym', ${w#*:}, 'ct');"
		echo "INSERT INTO rules (symbol, target, pattern, caseless) VALUES ('$sym', 'header:X-Ct', '(?<![A-Z0-9_])${sym}(?![A-Z0-9_])', 0);"
	done
done | sqlite3 "$H_TMP/state/moat.db"
added=0
while IFS=';' read -r name expr w pol; do
	m_ctl composites add "$name" "$expr" "$w" --policy "$pol" >/dev/null 2>&1 && added=$((added + 1))
done <"$H_TMP/composites.txt"
tap_is "$added" "$(wc -l <"$H_TMP/composites.txt")" "moatctl composites add took every composite"

# One line per message: NAME, the test symbols left with their weights, and
# their share of the score (the total less the other symbols shown).
summary='import json, os, re, sys
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    syms = d.get("symbols") or {}
    name = os.path.basename(d.get("filename") or d.get("file"))
    ours = {k: v["score"] for k, v in syms.items() if re.match(r"^[TC][0-9]+_", k)}
    rest = sum(v["score"] for k, v in syms.items() if k not in ours)
    print(name, " ".join("%s(%.2f)" % (k, ours[k]) for k in sorted(ours)) or "-",
          "= %.2f" % (d["score"] - rest))'
for f in "$M"/*.eml; do
	rspamc -h "127.0.0.1:$rport" -j "$f" | tr -d '\n'
	echo
done >"$H_TMP/rspamc.json"
python3 -c "$summary" <"$H_TMP/rspamc.json" | sort >"$H_TMP/rspamd.txt"
tap_is "$(wc -l <"$H_TMP/rspamd.txt")" "$nmsg" "rspamd answered for all $nmsg messages"
m_ctl scan --json --no-dns "$M"/*.eml | python3 -c "$summary" | sort >"$H_TMP/moat.txt"
tap_is "$(wc -l <"$H_TMP/moat.txt")" "$nmsg" "moatctl scan answered for all $nmsg messages"

# Per scenario, so that a difference names what it is about.
for s in $(seq 1 $nscen); do
	sc=$(printf 's%02d-' "$s")
	tap_is "$(grep "^$sc" "$H_TMP/moat.txt")" "$(grep "^$sc" "$H_TMP/rspamd.txt")" \
		"scenario $s ($(grep "^C${s}_" "$H_TMP/composites.txt" | cut -d';' -f2,4 | tr '\n' ';')): moat = rspamd on 16 messages"
done
# The comparison is only worth something if the composites fired and took things away.
tap_ok "...rspamd fired every composite somewhere" bash -c '
	for c in $(cut -d";" -f1 "$1"); do grep -q "$c(" "$2" || { echo "# $c never fired"; exit 1; }; done' \
	bash "$H_TMP/composites.txt" "$H_TMP/rspamd.txt"
tap_ok "...hid a symbol whose weight still counts (remove_symbol)" \
	grep -qxF 's02-AB.eml C2_SYMBOL(5.00) = 8.75' "$H_TMP/rspamd.txt"
tap_ok "...kept a symbol shown with weight 0 (~)" grep -q 'T5_A(0.00)' "$H_TMP/rspamd.txt"

h_stop "$RSPAMD_PID"
tap_done
