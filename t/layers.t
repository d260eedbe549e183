#!/bin/bash
# layers.t - shared/ is layers, one folder each, and a folder uses only the
# folders below it (README, "Layout"; STYLE.md, "Shape"):
#
#   scan                 scoring a message
#   auth                 sender authentication (SPF, DKIM): DNS answers about mail
#   dns   maps   mail    side by side: none uses another
#   store                SQLite and the state stores
#   core                 runtime
#
# Checked three ways: the sources (an #include of a higher or sibling folder,
# or of a program's header, or one that does not name its folder), the built
# libraries (a symbol a layer takes from a higher or sibling layer), and
# main(): shared/ has none, in its sources or its objects. The checker is
# first run over small trees made here that break each rule, so the test is
# known to fail when the rule is broken.
. "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/lib/harness.sh"
h_init

# The layer of a folder, or nothing if it is not one.
rank() {
	case $1 in
	core) echo 0 ;;
	store) echo 1 ;;
	dns | maps | mail) echo 2 ;;
	auth) echo 3 ;;
	scan) echo 4 ;;
	esac
}

# may_use FROM TO: may layer FROM use layer TO?
may_use() {
	[ "$1" = "$2" ] && return 0
	local a b
	a=$(rank "$1") b=$(rank "$2")
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -lt "$a" ]
}

# The include rule over the tree at $1: prints each offending line.
bad_includes() {
	local root=$1 f dir inc to
	for f in "$root"/shared/*/*.[ch]; do
		[ -f "$f" ] || continue
		dir=$(basename "$(dirname "$f")")
		while IFS= read -r inc; do
			case $inc in
			config.h | moat_paths.h) continue ;;
			*/*) to=${inc%%/*} ;;
			*) echo "${f#"$root"/}: \"$inc\" does not name its folder"; continue ;;
			esac
			if [ -z "$(rank "$to")" ]; then
				echo "${f#"$root"/}: \"$inc\" is not in shared/"
			elif ! may_use "$dir" "$to"; then
				echo "${f#"$root"/}: \"$inc\" is not below $dir"
			fi
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
	# A program never includes another program's headers.
	for prog in policyd contentfilter moatctl; do
		for f in "$root/$prog"/*.[ch]; do
			[ -f "$f" ] || continue
			grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(policyd|contentfilter|moatctl|doc)/' "$f" |
				sed "s|^$root/||"
		done
	done
}

# A main() defined under shared/ at $1.
mains() {
	grep -lE '^(int|static int|void)?[[:space:]]*main[[:space:]]*\(' "$1"/shared/*/*.c 2>/dev/null |
		sed "s|^$1/||"
}

# Prove the checker: trees that break each rule.
fake=$H_TMP/fake
mkdir -p "$fake/shared/core" "$fake/shared/mail" "$fake/shared/dns" "$fake/shared/scan" "$fake/policyd"
printf '#include "config.h"\n#include "core/log.h"\n' >"$fake/shared/mail/ok.c"
printf '#include "scan/scan.h"\n' >"$fake/shared/mail/up.c"
printf '#include "mail/url.h"\n' >"$fake/shared/dns/side.c"
printf '#include "log.h"\n' >"$fake/shared/core/bare.c"
printf '#include "policyd/policy.h"\n' >"$fake/shared/scan/prog.c"
printf '#include "moatctl/moatctl.h"\n' >"$fake/policyd/other.c"
printf 'int main(void)\n{\n\treturn 0;\n}\n' >"$fake/shared/core/tool.c"
got=$(bad_includes "$fake")
tap_like "$got" 'shared/mail/up.c: "scan/scan.h" is not below mail' "the checker finds an upward include"
tap_like "$got" 'shared/dns/side.c: "mail/url.h" is not below dns' "...and one between side-by-side layers"
tap_like "$got" 'shared/core/bare.c: "log.h" does not name its folder' "...and one that does not name its folder"
tap_like "$got" 'shared/scan/prog.c: "policyd/policy.h" is not in shared/' "...and a program's header in shared/"
tap_like "$got" 'policyd/other.c:1:#include "moatctl/moatctl.h"' "...and one program's header in another"
tap_is "$(grep -c ok.c <<<"$got")" 0 "...and passes an include from below"
tap_is "$(mains "$fake")" "shared/core/tool.c" "the checker finds a main() in shared/"

# The real tree.
tap_is "$(bad_includes "$MOAT_SRCDIR")" "" "no include in shared/ goes up or sideways, and each names its folder"
tap_is "$(mains "$MOAT_SRCDIR")" "" "no main() in the sources under shared/"
tap_is "$(ls "$MOAT_SRCDIR"/shared/*.[ch] 2>/dev/null)" "" "shared/ itself holds only layer folders"

# The built libraries: what each layer takes from the others.
command -v nm >/dev/null || {
	tap_skip "no nm (binutils)" 2
	tap_done
	exit
}
libs=$(ls "$MOAT_BUILDDIR"/shared/*/lib*.a 2>/dev/null)
[ -n "$libs" ] || tap_bail "no libraries under $MOAT_BUILDDIR/shared"
for lib in $libs; do
	d=$(basename "$(dirname "$lib")")
	nm -g --defined-only "$lib" | awk -v d="$d" 'NF == 3 { print $3, d }'
done | sort -u >"$H_TMP/defined.txt"
bad=
for lib in $libs; do
	d=$(basename "$(dirname "$lib")")
	while read -r sym; do
		to=$(awk -v s="$sym" '$1 == s { print $2; exit }' "$H_TMP/defined.txt")
		[ -z "$to" ] && continue # from the C library or another package
		may_use "$d" "$to" || bad+="$d uses $to's $sym; "
	done < <(nm -g --undefined-only "$lib" | awk '$1 == "U" { print $2 }' | sort -u)
done
tap_is "$bad" "" "no layer library takes a symbol from a higher or sibling layer"
tap_is "$(awk '$1 == "main"' "$H_TMP/defined.txt")" "" "no main in the libraries of shared/"
tap_done
