#!/bin/bash
# run.sh - build the fuzz targets ("make fuzz") and run each for a while.
#
#   t/fuzz/run.sh [-j N] [-b BUILDDIR] [-c] [SECONDS] [TARGET...]
#
#   SECONDS   per target (default 60), libFuzzer's -max_total_time
#   -j N      run N targets at a time (default 1)
#   -b DIR    the configured build directory (default _build)
#   -c        also seed from ../shared/corpus (copied, never written to)
#   TARGET    policy mime url html dns conf maps scan controller ... (default: all)
#
# Each target starts from its seeds (t/fuzz/seeds/TARGET, past crashes in
# t/data/fuzz/TARGET, other fixtures under t/data) in a corpus kept in BUILDDIR/t/fuzz/corpus/TARGET, so later runs go
# on from where earlier ones stopped. One input taking over 10 s is a hang,
# over 2 GB of memory a leak: both count as crashes. A crash's reproducer is
# saved as BUILDDIR/t/fuzz/crashes/TARGET/crash-* (replay it with
# BUILDDIR/t/fuzz/fuzz_TARGET FILE).
#
# Prints one TAP line per target with its execs, exec/s, coverage and CPU
# seconds, then the total CPU time fuzzed; writes a BUILDDIR/t/fuzz/TARGET.trs
# automake-style result for .ci/run to count. Exits non-zero if any target
# crashed, hung, leaked or did not run.
set -uo pipefail

# All in a function: bash reads it whole before running any of it, so the
# script may be edited while a long run is in progress.
main() {
	here=$(cd "$(dirname "$0")" && pwd)
	top=$(cd "$here/../.." && pwd)
	all="policy mime url html dns conf maps scan dms_import dms_env spf dkim_sig dkim_key dmarc arc dkim_signkey controller moat_req authres clamav composite www"
	jobs=1 build=$top/_build corpus=0
	while getopts j:b:c o; do
		case $o in
		j) jobs=$OPTARG ;;
		b) build=$(cd "$OPTARG" && pwd) ;;
		c) corpus=1 ;;
		*) sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	secs=60
	case ${1:-} in
	[0-9]*) secs=$1; shift ;;
	esac
	targets=${*:-$all}

	make -C "$build" fuzz >"$build/fuzz-build.out" 2>&1 || {
		tail -20 "$build/fuzz-build.out" >&2
		echo "Bail out! make fuzz failed"
		exit 1
	}
	out=$build/t/fuzz

	# Seeds: hand-made ones, the test fixtures, and with -c the mail corpus.
	seed() {
		local t=$1 dir=$out/corpus/$1 f
		mkdir -p "$dir" "$out/crashes/$t"
		cp "$here/seeds/$t"/* "$dir/" 2>/dev/null
		cp "$top/t/data/fuzz/$t"/* "$dir/" 2>/dev/null	# past crashes
		case $t in
		mime | scan)
			cp "$top"/t/data/mime/*.eml "$dir/"
			if [ $corpus = 1 ]; then
				for f in "$top"/../shared/corpus/{ham,spam}/*; do
					# Large messages only slow the fuzzer down; the small ones cover the same code.
					[ -f "$f" ] && [ "$(stat -c %s "$f")" -le 65536 ] &&
						cp "$f" "$dir/corpus-$(basename "$(dirname "$f")")-$(basename "$f")"
				done
			fi
			;;
		html)
			[ $corpus = 1 ] && for f in "$top"/../shared/corpus/{ham,spam}/*; do
				[ -f "$f" ] && grep -qi '<html' "$f" && [ "$(stat -c %s "$f")" -le 65536 ] &&
					cp "$f" "$dir/corpus-$(basename "$(dirname "$f")")-$(basename "$f")"
			done
			;;
		url) cp "$top"/t/data/mime/spammy.eml "$dir/" ;;
		maps) cp /etc/postgrey/whitelist_clients /etc/postgrey/whitelist_recipients "$dir/" \
			2>/dev/null ;;
		esac
		return 0
	}

	# One target: libFuzzer's log to $out/TARGET.log, a result line to $out/TARGET.res.
	run_one() {
		local t=$1 dict=() start end rc cpu me=$BASHPID
		seed "$t"
		[ -f "$here/dict/$t.dict" ] && dict=(-dict="$here/dict/$t.dict")
		start=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat)
		(
			cd "$out/crashes/$t" &&
				exec "$out/fuzz_$t" "${dict[@]}" -max_total_time="$secs" -timeout=10 \
					-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
					-artifact_prefix="$out/crashes/$t/" "$out/corpus/$t"
		) >"$out/$t.log" 2>&1
		rc=$?
		# CPU of the finished child (utime+stime of children, in clock ticks).
		end=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat)
		cpu=$(awk -v d=$((end - start)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d / hz}')
		echo "$rc $cpu" >"$out/$t.res"
	}

	rm -f "$out"/*.res "$out"/*.trs
	running=0
	for t in $targets; do
		if [ ! -x "$out/fuzz_$t" ]; then
			echo "1 0" >"$out/$t.res"
			echo "no such fuzz target: $t" >"$out/$t.log"
			continue
		fi
		while [ $running -ge "$jobs" ]; do
			wait -n
			running=$((running - 1))
		done
		run_one "$t" &
		running=$((running + 1))
	done
	wait

	n=0 failed=0 total=0
	echo "1..$(echo $targets | wc -w)"
	for t in $targets; do
		n=$((n + 1))
		read -r rc cpu <"$out/$t.res"
		log=$out/$t.log
		stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
		cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
		crashes=$(ls "$out/crashes/$t" 2>/dev/null | grep -cE '^(crash|timeout|leak|oom)-')
		what="$t: $(stat number_of_executed_units) execs, $(stat average_exec_per_sec) exec/s,"
		what="$what ${cov:-no coverage}, ${cpu}s CPU"
		total=$(awk -v a="$total" -v b="$cpu" 'BEGIN {printf "%.1f", a + b}')
		if [ "$rc" -eq 0 ] && ! grep -qE '^==[0-9]+==ERROR|^SUMMARY: ' "$log"; then
			echo "ok $n - $what"
			res=PASS
		else
			failed=$((failed + 1))
			echo "not ok $n - $what; exit $rc, $crashes reproducer(s) in $out/crashes/$t"
			grep -E '^==[0-9]+==ERROR|^SUMMARY: |^artifact_prefix|Test unit written' "$log" |
				sed 's/^/# /' | head -5
			res=FAIL
		fi
		printf ':test-result: %s fuzz %s\n' "$res" "$t" >"$out/$t.trs"
	done
	echo "# fuzzed ${total}s CPU in total over $n target(s), $failed failed"
	[ $failed -eq 0 ]
}

main "$@"
exit
