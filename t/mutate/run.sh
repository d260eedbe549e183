#!/bin/bash
# run.sh - the standing mutation suite: does the test suite catch what it claims?
#
#   t/mutate/run.sh [-q] [-k] [-o TRSDIR] [ID...]
#
# Each line of t/mutate/mutations (tab-separated: ID, FILE, TEXT, REPLACEMENT,
# TESTS) is one deliberate defect: the exact TEXT, which must occur in FILE
# once, becomes REPLACEMENT. Each is applied in turn to a scratch copy of the
# tree (never this one), which is rebuilt and runs TESTS (the names
# `make check TESTS=...` takes); a mutation is caught when a test fails. The
# last line is "N mutations, N caught", and the survivors are named.
#
#   -q         only the quick subset named in t/mutate/quick (what
#              ./bootstrap check, so CI, runs)
#   -k         keep the scratch copy (its path is printed)
#   -o TRSDIR  also write TRSDIR/mutate.trs, an automake-style result for
#              .ci/run to count (PASS when every mutation was caught)
#   ID...      only these mutations
#
# Exits non-zero if a mutation survived, did not apply (its TEXT is not in
# FILE exactly once: the code moved, update the list) or did not build.
set -uo pipefail

main() {
	local here src keep=0 quick=0 trsdir= ids=() opt
	here=$(cd "$(dirname "$0")" && pwd)
	src=$(cd "$here/../.." && pwd)
	while getopts qko: opt; do
		case $opt in
		q) quick=1 ;;
		k) keep=1 ;;
		o) trsdir=$OPTARG ;;
		*) echo "usage: $0 [-q] [-k] [-o TRSDIR] [ID...]" >&2; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	ids=("$@")
	if [ $quick = 1 ] && [ ${#ids[@]} -eq 0 ]; then
		mapfile -t ids < <(grep -v '^#' "$here/quick" | grep .)
	fi

	# The scratch copy: the tracked and new files of this tree (not its
	# builds), with ../shared beside it as in a worktree.
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/moat-mutate.XXXXXX")
	[ $keep = 1 ] && echo "# scratch copy in $scratch" || trap 'rm -rf "$scratch"' EXIT
	mkdir "$scratch/tree"
	(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
		(cd "$src" && tar --null -T - -cf -) | (cd "$scratch/tree" && tar -xf -)
	[ -e "$src/../shared" ] && ln -s "$(cd "$src/../shared" && pwd)" "$scratch/shared"
	local tree=$scratch/tree b=$scratch/tree/_build jobs
	jobs=$(nproc 2>/dev/null || echo 2)
	echo "# building the scratch copy"
	if ! (cd "$tree" && autoreconf -fi && mkdir -p _build && cd _build && ../configure &&
		make -j"$jobs" && make -j"$jobs" check TESTS=) >"$scratch/build.log" 2>&1; then
		echo "Bail out! the unmutated scratch copy does not build: $scratch/build.log"
		finish 0 0 1 "$trsdir"
		return 1
	fi

	local n=0 caught=0 bad=0 survivors=() id file text repl tests count list line
	# Read whole first: the list may be edited while a long run goes on.
	mapfile -t list <"$here/mutations"
	for line in "${list[@]}"; do
		IFS=$'\t' read -r id file text repl tests <<<"$line"
		case $id in '#'* | '') continue ;; esac
		if [ ${#ids[@]} -gt 0 ] && ! printf '%s\n' "${ids[@]}" | grep -qxF "$id"; then
			continue
		fi
		n=$((n + 1))
		count=$(MUT_TEXT=$text python3 -c 'import os,sys; print(open(sys.argv[1]).read().count(os.environ["MUT_TEXT"]))' "$tree/$file" 2>/dev/null)
		if [ "${count:-0}" != 1 ]; then
			echo "not ok $n - $id: the text is in $file ${count:-0} times, not once"
			bad=$((bad + 1)) survivors+=("$id(did not apply)")
			continue
		fi
		cp -p "$tree/$file" "$scratch/orig"
		MUT_TEXT=$text MUT_REPL=$repl python3 -c '
import os, sys
p = sys.argv[1]
s = open(p).read()
open(p, "w").write(s.replace(os.environ["MUT_TEXT"], os.environ["MUT_REPL"], 1))' "$tree/$file"
		if ! make -C "$b" -j"$jobs" >"$scratch/$id.build.log" 2>&1; then
			echo "not ok $n - $id: does not build ($file): fix the mutation"
			bad=$((bad + 1)) survivors+=("$id(did not build)")
		elif make -C "$b" -j"$jobs" check TESTS="$tests" >"$scratch/$id.check.log" 2>&1; then
			echo "not ok $n - $id SURVIVED: $file, $tests all pass"
			survivors+=("$id")
		else
			caught=$((caught + 1))
			echo "ok $n - $id caught by $(grep -oE '^(FAIL|ERROR): [^ ]+' "$scratch/$id.check.log" |
				awk '{print $2}' | sort -u | tr '\n' ' ')"
		fi
		# Back to the original, newer than anything built from the mutant.
		cp "$scratch/orig" "$tree/$file"
		touch "$tree/$file"
	done
	echo "1..$n"
	echo "# $n mutations, $caught caught${survivors:+; not caught: ${survivors[*]}}"
	finish "$n" "$caught" "$bad" "$trsdir"
	[ "$caught" -eq "$n" ] && [ "$n" -gt 0 ]
}

finish() {
	local n=$1 caught=$2 bad=$3 dir=$4
	[ -n "$dir" ] || return 0
	mkdir -p "$dir"
	if [ "$n" -gt 0 ] && [ "$caught" -eq "$n" ] && [ "$bad" -eq 0 ]; then
		echo ":test-result: PASS mutate $n mutations, $caught caught" >"$dir/mutate.trs"
	else
		echo ":test-result: FAIL mutate $n mutations, $caught caught" >"$dir/mutate.trs"
	fi
}

main "$@"
exit
