/*
 * fuzz_composite - the composite expression parser and evaluation
 * (shared/scan/composite.c): expressions come from the composites table,
 * which the sqlite3 shell writes without moatctl's checks.
 *
 * Input: the first byte picks the policy and which of the expression's
 * symbols a message has; the rest is the expression. A refused expression
 * must say why, at a column inside it; a compiled one keeps its limits,
 * and evaluating it (as composite "F", beside "G" naming F, with every
 * other symbol of F present) leaves a result whose weights add up.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scan/composite.h"
#include "scan/result.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void evaluate(struct composite_expr *e, unsigned char sel)
{
	struct composite_set *set = composite_set_new();
	struct scan_result res;
	char err[256];
	size_t n = composite_expr_atoms(e);
	double after;

	scan_result_init(&res);
	for (size_t i = 0; i < n; i++)
		if ((i + sel) % 2 == 0)
			scan_add_weighted(&res, NULL, composite_expr_atom(e, i),
			                  (double)(i % 5) - 2, NULL);
	composite_set_add(set, "F", 1.5, (enum composite_policy)(sel % 4), e);
	composite_set_add(set, "G", -0.5, COMPOSITE_REMOVE_ALL, composite_parse("F | A", err, 99));
	composite_set_link(set);
	composite_set_check(set, err, sizeof(err));
	scan_composites(&res, set);
	after = res.hidden_weight;
	for (size_t i = 0; i < res.n; i++)
		after += res.v[i].weight;
	/* Composites only add their own weights (1.5, -0.5) or take weights away. */
	if (!isfinite(after) || res.n > n + 2)
		abort();
	scan_result_free(&res);
	composite_set_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[256];
	struct composite_expr *e;

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	e = composite_parse(s, err, sizeof(err));
	if (e == NULL) {
		unsigned long col;

		if (strncmp(err, "longer than", 11) == 0 && strlen(s) > COMPOSITE_EXPR_MAX)
			;
		else if (sscanf(err, "column %lu: ", &col) != 1 || col < 1 || col > strlen(s) + 1)
			abort();
	} else {
		if (composite_expr_atoms(e) < 1 || composite_expr_atoms(e) > COMPOSITE_ATOMS_MAX)
			abort();
		for (size_t i = 0; i < composite_expr_atoms(e); i++) {
			size_t len = strlen(composite_expr_atom(e, i));

			if (len < 1 || len > 63)
				abort();
		}
		evaluate(e, data[0]);
	}
	free(s);
	return 0;
}
