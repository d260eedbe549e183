#!/bin/bash
# modules.t - the module graph, from the built objects, has no circle.
#
# A module is one object file (one .c); module A uses module B when A
# leaves a symbol undefined that B defines (nm). The layers keep the
# folders in order (t/layers.t); this keeps the modules inside a folder in
# order too: the scanner's checks register in a table and report through
# the result API without knowing the scanner, and moatctl's commands use
# ctl.c without ctl.c knowing them (README, "Layout"). tsort finds a
# circle; the graph is written to modules.dot beside the test's log for
# reading. The checker is first shown a graph with a circle.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
h_init
command -v nm >/dev/null || tap_skip_all "no nm (binutils)"
command -v tsort >/dev/null || tap_skip_all "no tsort (coreutils)"

# The edges "A B" (A uses B) among the object files given.
edges() {
	local o m
	for o in "$@"; do
		m=${o#"$MOAT_BUILDDIR"/}
		nm --defined-only "$o" | awk -v m="${m%.o}" '$2 ~ /^[TDBR]$/ { print "D", $3, m }'
		nm --undefined-only "$o" | awk -v m="${m%.o}" '{ print "U", $NF, m }'
	done | awk '
		$1 == "D" { def[$2] = $3; next }
		{ use[NR] = $2; who[NR] = $3 }
		END {
			for (i in use)
				if ((use[i] in def) && def[use[i]] != who[i])
					print who[i], def[use[i]]
		}' | sort -u
}

# The modules on a circle, or nothing.
circles() {
	local out
	out=$(tsort 2>&1 >/dev/null)
	[ -n "$out" ] && grep -v 'input contains a loop' <<<"$out" | sed 's/^tsort: //' |
		tr '\n' ' '
	return 0
}

tap_like "$(printf 'scan/scan scan/checks\nscan/checks scan/scan\nscan/checks core/log\n' |
	circles)" "scan/(scan|checks)" "the checker finds a circle"
tap_is "$(printf 'scan/scan scan/checks\nscan/checks core/log\n' | circles)" "" \
	"...and none where there is none"

objs=()
for d in shared/core shared/store shared/dns shared/maps shared/mail shared/auth shared/scan \
	policyd contentfilter moatctl; do
	for o in "$MOAT_BUILDDIR/$d"/*.o; do
		[ -f "$o" ] && objs+=("$o")
	done
done
tap_ok "the objects are built (${#objs[@]})" test "${#objs[@]}" -ge 40
edges "${objs[@]}" >"$H_TMP/edges.txt"
tap_ok "...and use each other ($(wc -l <"$H_TMP/edges.txt") edges)" \
	test "$(wc -l <"$H_TMP/edges.txt")" -ge 100
{
	echo "digraph moat {"
	awk '{ printf "\t\"%s\" -> \"%s\";\n", $1, $2 }' "$H_TMP/edges.txt"
	echo "}"
} >"$MOAT_BUILDDIR/t/modules.dot" 2>/dev/null || true
tap_is "$(circles <"$H_TMP/edges.txt")" "" "no circle in the module graph"
tap_is "$(grep -cE '^shared/scan/check_[a-z]+ shared/scan/scan$|^shared/scan/result shared/scan/check' "$H_TMP/edges.txt")" \
	0 "no check uses the scanner, and the result uses no check"
tap_done
