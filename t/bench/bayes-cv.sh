#!/bin/bash
# bayes-cv.sh - k-fold cross-validation of the whole content filter (every
# check, the Bayes classifier, the weights) INSIDE the learning half of
# bayes-bench.sh's split, so that rules, weights and classifier settings
# can be chosen without ever looking at the held-out (scanned) half.
#
#   t/bench/bayes-cv.sh [-d CORPUS] [-k K] [-o DIR]
#
# The learning half is bayes-bench.sh's: in each class the file names
# sorted (C locale), the 1st, 3rd, 5th... The held-out 2nd, 4th, 6th...
# are never read here. The learning half of each class is dealt into K
# folds (default 5) round robin; for each fold a fresh database learns the
# other K-1 folds ("moatctl learn-spam/learn-ham") and the fold is scanned
# ("moatctl scan --json --no-dns"). Prints, over all folds, the share of
# spam at score >= 6 and >= 11 and the share of ham there, as bayes-bench.sh
# does, and the ham above 6. -o DIR keeps the JSON lines of every scan
# (DIR/spam.json, DIR/ham.json) to see which symbols fire on which class.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/harness.sh"
. "$here/../lib/moat.sh"
. "$here/peers.sh"
corpus=$MOAT_SRCDIR/../shared/corpus k=5 out=
while getopts d:k:o: o; do
	case $o in
	d) corpus=$OPTARG ;;
	k) k=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-d CORPUS] [-k K] [-o DIR]" >&2; exit 2 ;;
	esac
done
moatctl=$(m_bin moatctl)
[ -x "$moatctl" ] || { echo "build it first: make -C $MOAT_BUILDDIR" >&2; exit 1; }
[ -d "$corpus/ham" ] && [ -d "$corpus/spam" ] || { echo "no ham/ and spam/ in $corpus" >&2; exit 1; }
corpus=$(cd "$corpus" && pwd)
h_init
S=$H_TMP/split
bench_split "$corpus" "$S"
for c in ham spam; do
	# The learning half only, then fold f = (its position in it) mod k.
	awk -v d="$S" -v c=$c -v k="$k" '{ print > (d "/" c "." ((NR - 1) % k)) }' "$S/learn-$c"
done
echo "# Bayes CV: $k folds of the learning half (odd positions) of $corpus:" \
	"$(cat "$S"/spam.* | wc -l) spam, $(cat "$S"/ham.* | wc -l) ham"
: >"$H_TMP/spam.json"
: >"$H_TMP/ham.json"
for ((f = 0; f < k; f++)); do
	state=$H_TMP/state.$f
	M=("$moatctl" -o state_directory="$state" -o dns_servers=127.0.0.1:1)
	"${M[@]}" migrate >/dev/null || exit 1
	for c in spam ham; do
		for ((g = 0; g < k; g++)); do
			[ $g -eq $f ] || cat "$S/$c.$g"
		done >"$S/learn-$c.$f"
		xargs -a "$S/learn-$c.$f" -d '\n' "${M[@]}" learn-$c >/dev/null || exit 1
	done
	for c in spam ham; do
		xargs -a "$S/$c.$f" -d '\n' "${M[@]}" scan --json --no-dns >>"$H_TMP/$c.json" || exit 1
	done
	rm -rf "$state"
done
for c in spam ham; do
	sed -E 's/^\{"file":".*","score":(-?[0-9.]+),"required_score".*/\1/' "$H_TMP/$c.json" >"$H_TMP/$c.score"
done
share() {
	awk '{ n++; if ($1 >= 6) a++; if ($1 >= 11) b++ }
		END { printf "%d of %d (%.2f%%) >= 6, %d (%.2f%%) >= 11", a, n, 100 * a / n, b, 100 * b / n }' "$1"
}
echo "cv spam: $(share "$H_TMP/spam.score")"
echo "cv ham:  $(share "$H_TMP/ham.score")"
echo "#   BAYES_SPAM on $(grep -c '"BAYES_SPAM"' "$H_TMP/spam.json") spam" \
	"and $(grep -c '"BAYES_SPAM"' "$H_TMP/ham.json") ham"
echo "#   spam score quartiles: $(sort -g "$H_TMP/spam.score" | awk '{ v[NR] = $1 }
	END { printf "%s %s %s", v[int(NR / 4) + 1], v[int(NR / 2) + 1], v[int(3 * NR / 4) + 1] }')"
echo "#   highest ham scores: $(sort -gr "$H_TMP/ham.score" | head -n 5 | tr '\n' ' ')"
if [ -n "$out" ]; then
	mkdir -p "$out" && cp "$H_TMP/spam.json" "$H_TMP/ham.json" "$out/"
fi
