#!/bin/bash
# build.sh - build the libFuzzer harnesses; run by "make fuzz", which passes
# the compiler and flags configure found:
#
#   FUZZ_CC SRCDIR BUILDDIR FUZZ_CPPFLAGS FUZZ_CFLAGS FUZZ_LIBS SOURCES JOBS
#
# The sources are compiled again with clang and -fsanitize=fuzzer-no-link,
# address,undefined into their own archive under $BUILDDIR/t/fuzz/: libmoat.a
# is gcc's, maybe with other sanitizer flags, and the fuzzer needs every
# parser instrumented for coverage. shared/core/log.c is left out: fuzz_util.c
# stands in for it, quietly. Objects are rebuilt only when out of date.
set -euo pipefail

targets="policy mime url html dns conf maps scan dms_import dms_env spf dkim_sig dkim_key dmarc arc dkim_signkey controller moat_req authres clamav composite www"

: "${FUZZ_CC:?}" "${SRCDIR:?}" "${BUILDDIR:?}" "${SOURCES:?}"
out=$BUILDDIR/t/fuzz
obj=$out/obj
mkdir -p "$obj"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-g -O1 $san ${FUZZ_CPPFLAGS:-} ${FUZZ_CFLAGS:-}"

if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
	"$FUZZ_CC" -x c -fsanitize=fuzzer -o "$obj/probe" - 2>"$obj/probe.err"; then
	echo "make fuzz: $FUZZ_CC cannot build a libFuzzer program (install the Debian" \
		"package libclang-rt-14-dev):" >&2
	cat "$obj/probe.err" >&2
	exit 1
fi

headers=$(ls "$SRCDIR"/shared/*/*.h "$SRCDIR"/policyd/*.h "$SRCDIR"/moatctl/*.h "$SRCDIR"/t/fuzz/*.h)
newest_header=$(ls -t $headers | head -1)

# compile SRC OBJ EXTRA-FLAGS: in the background, at most $JOBS at a time
compile() {
	local src=$1 o=$2
	shift 2
	if [ -f "$o" ] && [ "$o" -nt "$src" ] && [ "$o" -nt "$newest_header" ]; then
		return 0
	fi
	while [ "$(jobs -rp | wc -l)" -ge "${JOBS:-2}" ]; do
		wait -n || exit 1
	done
	echo "  FUZZCC   ${src#"$SRCDIR"/}"
	"$FUZZ_CC" $cflags "$@" \
		-c -o "$o" "$src" &
}

lib_objs=()
for s in $SOURCES policyd/policy_proto.c t/fuzz/fuzz_util.c; do
	case $s in
	*.h | shared/core/log.c) continue ;;
	esac
	src=$SRCDIR/$s
	[ -f "$src" ] || src=$BUILDDIR/$s	# generated: shared/store/sql_migrations.c
	o=$obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')
	compile "$src" "$o" -fsanitize=fuzzer-no-link
	lib_objs+=("$o")
done
for t in $targets; do
	compile "$SRCDIR/t/fuzz/fuzz_$t.c" "$obj/fuzz_$t.o" -fsanitize=fuzzer-no-link
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
	wait -n || exit 1
done

lib=$obj/libmoat-fuzz.a
stale=0
for o in "${lib_objs[@]}"; do
	[ -f "$lib" ] && [ "$lib" -nt "$o" ] || stale=1
done
if [ $stale = 1 ]; then
	rm -f "$lib"
	ar rcs "$lib" "${lib_objs[@]}"
fi
for t in $targets; do
	if [ -f "$out/fuzz_$t" ] && [ "$out/fuzz_$t" -nt "$lib" ] &&
		[ "$out/fuzz_$t" -nt "$obj/fuzz_$t.o" ]; then
		continue
	fi
	echo "  FUZZLD   t/fuzz/fuzz_$t"
	"$FUZZ_CC" -fsanitize=fuzzer $san -o "$out/fuzz_$t" "$obj/fuzz_$t.o" "$lib" ${FUZZ_LIBS:-}
done
echo "fuzz targets in $out: $targets"
