/*
 * strdist - Levenshtein distance over short names (symbols, modules,
 * options); see strdist.h. One row of the matrix on the stack: no
 * allocation, and a bound on the work (STRDIST_MAX_LEN squared).
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/strdist.h"

int strdist(const char *a, const char *b, int limit)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[STRDIST_MAX_LEN + 1];

	if (la > STRDIST_MAX_LEN || lb > STRDIST_MAX_LEN)
		return limit + 1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0], best;

		row[0] = (int)i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], cost = tolower((unsigned char)a[i - 1]) !=
						tolower((unsigned char)b[j - 1]);
			int v = diag + cost;

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			diag = up;
			row[j] = v;
			if (v < best)
				best = v;
		}
		if (best > limit)
			return limit + 1;
	}
	return row[lb] > limit ? limit + 1 : row[lb];
}

int strdist_close(const char *want, const char *name)
{
	size_t lw = strlen(want);
	int limit = lw <= 4 ? 1 : lw <= 10 ? 2 : 3;

	if (lw >= 3 && (strcasestr(name, want) != NULL || strcasestr(want, name) != NULL))
		return 1;
	return strdist(want, name, limit) <= limit;
}
