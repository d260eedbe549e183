#!/bin/bash
# settings-read.t - each daemon's --help names every moat.conf setting its
# code reads. The trial found moat-contentfilter's list without dns_* and
# soft_reject_on_timeout although it does DNS lookups, so a reload of
# moat-policyd alone looked enough.
#
# What a daemon reads is found in its code: the program's own sources and
# the shared objects the linker took from the layer libraries into its binary (an
# object is in when one of its global symbols is), and in them every
# string literal that is exactly a setting's name (conf_str(cf, "name"),
# or a table of names passed on). conf.c, which holds all the names, is
# left out.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/moat.sh"
h_init
libs=$(ls "$MOAT_BUILDDIR"/shared/*/lib*.a 2>/dev/null)
command -v nm >/dev/null || tap_skip_all "no nm (binutils)"
[ -n "$libs" ] || tap_skip_all "no $MOAT_BUILDDIR/shared/*/lib*.a"

names=$("$(m_bin moatctl)" -c /dev/null config -d | sed 's/ =.*//')
tap_ok "the settings are listed by moatctl config -d" test "$(echo "$names" | wc -l)" -ge 40

# Global symbols each library member defines: "folder/member symbol" lines.
for lib in $libs; do
	d=$(basename "$(dirname "$lib")")
	nm -g --defined-only "$lib" 2>/dev/null | awk -v d="$d" '
		/^$/ { next }
		/:$/ { m = $0; sub(/:$/, "", m); next }
		NF == 3 { print d "/" m, $3 }'
done >"$H_TMP/members.txt"

# The source files that make up program $1 (its binary), one per line.
sources_of() {
	local bin=$1 own=$2
	nm --defined-only "$bin" | awk '{ print $NF }' | sort -u >"$H_TMP/binsyms.txt"
	ls "$MOAT_SRCDIR/$own"/*.c
	awk 'NR == FNR { have[$1] = 1; next } ($2 in have) { print $1 }' \
		"$H_TMP/binsyms.txt" "$H_TMP/members.txt" | sort -u |
		while read -r m; do
			src=$MOAT_SRCDIR/shared/${m%.o}.c
			[ -f "$src" ] && [ "${m%.o}" != core/conf ] && echo "$src"
		done
}

# The settings named by a string literal in the given files.
names_in() {
	grep -ohE '"[a-z0-9_]+"' "$@" | tr -d '"' | sort -u | grep -xF -f <(echo "$names")
}

for d in policyd/moat-policyd:policyd contentfilter/moat-contentfilter:contentfilter \
	controller/moat-controller:controller; do
	bin=$MOAT_BUILDDIR/${d%%:*} own=${d##*:} prog=$(basename "${d%%:*}")
	mapfile -t srcs < <(sources_of "$bin" "$own")
	tap_ok "$prog: its sources found (${#srcs[@]} files)" test "${#srcs[@]}" -ge 5
	help=$("$bin" --help 2>&1)
	listed=$(sed -n '/^Settings it reads/,/\.$/p' <<<"$help" | sed 's/^Settings it reads[^:]*://' |
		tr ',. ' '\n\n\n' | grep . | sort -u)
	missing=
	for n in $(names_in "${srcs[@]}"); do
		grep -qxF "$n" <<<"$listed" || missing+="$n "
	done
	tap_is "$missing" "" "$prog --help lists every setting its code reads"
	unknown=
	for n in $listed; do
		grep -qxF "$n" <<<"$names" || unknown+="$n "
	done
	tap_is "$unknown" "" "...and names only real settings"
done
# The two the trial missed.
h=$("$(m_bin moat-contentfilter)" --help 2>&1)
tap_like "$h" "dns_servers" "moat-contentfilter --help names dns_servers"
tap_like "$h" "soft_reject_on_timeout" "...and soft_reject_on_timeout"
tap_done
