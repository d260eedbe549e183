/*
 * composite_test - composite rules (shared/scan/composite.c): the parser's
 * grammar, limits and error positions; evaluation with each policy and
 * prefix as Rspamd 3.4's composites.cxx has them (negation, nesting,
 * missing symbols, two composites disagreeing); and the shipped rows of
 * sql/013-composites.sql applied by scan_finish().
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sbuf.h"
#include "scan/composite.h"
#include "scan/result.h"
#include "scan/rules.h"
#include "store/db.h"
#include "tap.h"

/* The error composite_parse gives s ("" when it compiles). */
static const char *parse_err(const char *s)
{
	static char err[256];
	struct composite_expr *e = composite_parse(s, err, sizeof(err));

	if (e) {
		composite_expr_free(e);
		return "";
	}
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct scan_symbol *)a)->name, ((const struct scan_symbol *)b)->name);
}

/*
 * Composites "NAME=EXPR;WEIGHT;POLICY" (in name order) over the symbols
 * "SYM:W SYM:W"; the symbols left, by name, with weights, and the score:
 * "A(2.00) C(5.00) = 7.00".
 */
static const char *run(const char *const *defs, const char *syms)
{
	static char out[1024];
	struct composite_set *set = composite_set_new();
	struct scan_result res;
	char buf[512], *save = NULL;
	double score;
	size_t n = 0;

	for (; *defs; defs++) {
		char name[64], expr[256], pol[32], err[200];
		double w;
		enum composite_policy p = COMPOSITE_REMOVE_ALL;
		struct composite_expr *e;

		if (sscanf(*defs, "%63[^=]=%255[^;];%lf;%31s", name, expr, &w, pol) != 4 ||
		    composite_policy_parse(pol, &p) < 0 ||
		    (e = composite_parse(expr, err, sizeof(err))) == NULL) {
			composite_set_free(set);
			return "bad definition";
		}
		composite_set_add(set, name, w, p, e);
	}
	composite_set_link(set);
	scan_result_init(&res);
	snprintf(buf, sizeof(buf), "%s", syms);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *c = strchr(t, ':');

		*c = '\0';
		scan_add_weighted(&res, NULL, t, atof(c + 1), NULL);
	}
	scan_composites(&res, set);
	qsort(res.v, res.n, sizeof(*res.v), by_name);
	score = res.hidden_weight;
	out[0] = '\0';
	for (size_t i = 0; i < res.n; i++) {
		score += res.v[i].weight;
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s(%.2f) ", res.v[i].name,
		                      res.v[i].weight);
	}
	snprintf(out + n, sizeof(out) - n, "= %.2f", score);
	scan_result_free(&res);
	composite_set_free(set);
	return out;
}

static void grammar(void)
{
	struct composite_expr *e;
	char err[256], big[COMPOSITE_EXPR_MAX + 2];
	size_t n = 0;

	is_str(parse_err("A"), "", "one symbol");
	is_str(parse_err("A & B | !C & (D | ~E) & -F & ^G"), "", "every operator and prefix");
	is_str(parse_err("A && B || C"), "", "&& and ||");
	is_str(parse_err("A and B or not C AND ORDER_X"), "", "and, or, not (any case)");
	is_str(parse_err(" \t( A )\n"), "", "white space anywhere");
	is_str(parse_err("~-^A & 2FA_OK"), "", "prefixes combine; a name may start with a digit");
	is_str(parse_err(""), "column 1: a symbol expected, the expression ends", "empty");
	is_str(parse_err("A &"), "column 4: a symbol expected, the expression ends",
	       "an operator without its right side");
	is_str(parse_err("A & (B | C"), "column 11: ')' expected for the '(' at column 5",
	       "an unclosed ( says where it opened");
	is_str(parse_err("A)"), "column 2: ')' without '('", "a ) too many");
	is_str(parse_err("A B"), "column 3: an operator (&, |) expected before 'B'",
	       "two symbols in a row");
	is_str(parse_err("()"), "column 2: a symbol expected before ')'", "empty parentheses");
	is_str(parse_err("A & b_x"), "column 5: b_x: symbol names are upper case", "lower case");
	is_str(parse_err("A + B"), "column 3: '+': only &, |, ! and parentheses are supported",
	       "arithmetic refused");
	is_str(parse_err("A != B"), "column 3: '!=': only &, |, ! and parentheses are supported",
	       "comparison refused");
	is_str(parse_err("A & B > 1"), "column 7: '>': only &, |, ! and parentheses are supported",
	       "comparison after an expression refused");
	is_str(parse_err("DMARC_POLICY_REJECT[sp]"),
	       "column 20: symbol options (DMARC_POLICY_REJECT[...]) are not supported",
	       "options refused");
	is_str(parse_err("A & g:forwarding"),
	       "column 5: groups (g:NAME) are not supported; name the symbols", "g: refused");
	is_str(parse_err("g+:fuzzy"),
	       "column 1: groups (g:NAME) are not supported; name the symbols", "g+: refused");
	is_str(parse_err("A & %"), "column 5: a symbol expected, not '%'", "a stray byte");

	/* Limits: length, depth, atoms. */
	for (int i = 0; i < COMPOSITE_DEPTH_MAX; i++)
		big[n++] = '(';
	big[n++] = 'A';
	for (int i = 0; i < COMPOSITE_DEPTH_MAX; i++)
		big[n++] = ')';
	big[n] = '\0';
	is_str(parse_err(big), "", "%d levels of parentheses", COMPOSITE_DEPTH_MAX);
	memmove(big + 1, big, n + 1);
	big[0] = '!';
	is_str(parse_err(big), "column 33: nested deeper than 32 levels of ( and !",
	       "one level more is refused");
	n = 0;
	for (int i = 0; i < COMPOSITE_ATOMS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sS%d", i ? "|" : "", i);
	is_str(parse_err(big), "", "%d symbols", COMPOSITE_ATOMS_MAX);
	snprintf(big + n, sizeof(big) - n, "|X");
	is_str(parse_err(big), "column 1171: more than 256 symbols", "one more is refused");
	memset(big, 'A', COMPOSITE_EXPR_MAX);
	big[COMPOSITE_EXPR_MAX] = '\0';
	is_str(parse_err(big), "column 1: a symbol name longer than 63 characters",
	       "a long name is refused");
	big[COMPOSITE_EXPR_MAX] = 'A';
	big[COMPOSITE_EXPR_MAX + 1] = '\0';
	is_str(parse_err(big), "longer than 4096 bytes", "%d bytes is the limit",
	       COMPOSITE_EXPR_MAX);

	e = composite_parse("~A & !(B | -C)", err, sizeof(err));
	ok(e && composite_expr_atoms(e) == 3, "three atoms");
	is_str(e ? composite_expr_atom(e, 2) : "", "C", "...named without their prefix");
	composite_expr_free(e);
}

static void evaluation(void)
{
	static const char *const
	    and_[] = {"C=A & B;5;remove_all", NULL},
	    *const keep_sym[] = {"C=~A & B;5;remove_all", NULL},
	    *const keep_both[] = {"C=-A & B;5;remove_all", NULL},
	    *const rm_weight[] = {"C=A & B;5;remove_weight", NULL},
	    *const rm_symbol[] = {"C=A & B;5;remove_symbol", NULL},
	    *const leave[] = {"C=A & B;5;leave", NULL},
	    *const not_[] = {"C=A & !B;1;remove_all", NULL},
	    *const not_group[] = {"C=A & !(B & D);1;remove_all", NULL},
	    *const or_[] = {"C=A | B;1;remove_all", NULL},
	    *const noopt[] = {"C=(A & X) | B;1;remove_all", NULL},
	    *const disagree[] = {"C1=A & B;1;remove_all", "C2=-A & D;1;remove_all", NULL},
	    *const forced[] = {"C1=-A & B;1;remove_all", "C2=^A & D;1;leave", NULL},
	    *const weights[] = {"C1=A & B;1;remove_weight", "C2=A & D;1;leave", NULL},
	    *const nested[] = {"INNER=A & B;2;remove_all", "OUTER=INNER & D;3;remove_all", NULL},
	    *const nested_leave[] = {"INNER=A & B;2;leave", "OUTER=-INNER & D;3;remove_all", NULL},
	    *const cycle[] = {"X=Y & A;1;leave", "Y=X & A;1;leave", NULL},
	    *const nested2[] = {"A_OUTER=Z_INNER & D;3;remove_all", "Z_INNER=A & B;2;remove_all",
	                        NULL},
	    *const negative[] = {"C=A & B;-2;leave", NULL},
	    *const precedence[] = {"C=A | B & D;1;leave", "E=!A & B;1;leave", "F=A & B | D;1;leave",
	                           NULL};

	is_str(run(and_, "A:2 B:3 E:1"), "C(5.00) E(1.00) = 6.00",
	       "remove_all: A and B replaced by C");
	is_str(run(and_, "A:2 E:1"), "A(2.00) E(1.00) = 3.00", "a missing symbol: no match");
	is_str(run(and_, "A:0 B:3"), "C(5.00) = 5.00", "a symbol weighing 0 matches");
	is_str(run(and_, "A:2 B:3 C:7"), "A(2.00) B(3.00) C(7.00) = 12.00",
	       "the composite's symbol already there: not evaluated, nothing removed (Rspamd)");
	is_str(run(keep_sym, "A:2 B:3"), "A(0.00) C(5.00) = 5.00",
	       "~A: A shown, its weight taken (Rspamd 3.4's code)");
	is_str(run(keep_both, "A:2 B:3"), "A(2.00) C(5.00) = 7.00", "-A: A and its weight kept");
	is_str(run(rm_weight, "A:2 B:3"), "A(0.00) B(0.00) C(5.00) = 5.00",
	       "remove_weight: shown with 0");
	is_str(run(rm_symbol, "A:2 B:3"), "C(5.00) = 10.00",
	       "remove_symbol: hidden, the weights still count");
	is_str(run(leave, "A:2 B:3"), "A(2.00) B(3.00) C(5.00) = 10.00", "leave: all stay");
	is_str(run(negative, "A:2 B:3"), "A(2.00) B(3.00) C(-2.00) = 3.00", "a negative weight");
	is_str(run(not_, "A:2"), "C(1.00) = 1.00", "A & !B without B: matches, A removed");
	is_str(run(not_, "A:2 B:3"), "A(2.00) B(3.00) = 5.00", "...with B: no match");
	is_str(run(not_group, "A:2 B:3"), "B(3.00) C(1.00) = 4.00",
	       "a symbol under ! is never removed, though it matched");
	is_str(run(or_, "A:2 B:3"), "C(1.00) = 1.00", "A | B with both: both removed");
	is_str(run(or_, "B:3 E:1"), "C(1.00) E(1.00) = 2.00", "...with one: that one");
	is_str(run(noopt, "A:2 B:3"), "C(1.00) = 1.00",
	       "(A & X) | B: A matched and is removed too (no short cut, as Rspamd)");
	is_str(run(disagree, "A:2 B:3 D:4"), "A(2.00) C1(1.00) C2(1.00) = 4.00",
	       "one composite keeps A (-A): A stays, whatever the other asks");
	is_str(run(forced, "A:2 B:3 D:4"), "C1(1.00) C2(1.00) D(4.00) = 6.00",
	       "^A takes A over another's -A, and over its own leave");
	is_str(run(weights, "A:2 B:3 D:4"), "A(2.00) B(0.00) C1(1.00) C2(1.00) D(4.00) = 8.00",
	       "remove_weight and leave on A: the weight stays");
	is_str(run(nested, "A:2 B:3 D:4"), "OUTER(3.00) = 3.00",
	       "a composite of a composite: the inner one is removed by the outer's policy");
	is_str(run(nested2, "A:2 B:3 D:4"), "A_OUTER(3.00) = 3.00",
	       "...also when the outer one comes first");
	is_str(run(nested2, "A:2 B:3"), "Z_INNER(2.00) = 2.00", "...the inner one alone");
	is_str(run(nested_leave, "A:2 B:3 D:4"), "A(2.00) B(3.00) INNER(2.00) OUTER(3.00) = 10.00",
	       "-INNER keeps the inner composite");
	is_str(run(precedence, "A:1"), "A(1.00) C(1.00) = 2.00",
	       "& binds before |: A | (B & D); ! before &: (!A) & B");
	is_str(run(precedence, "B:1"), "B(1.00) E(1.00) = 2.00", "...the other way round");
	is_str(run(precedence, "D:1"), "D(1.00) F(1.00) = 2.00", "...and (A & B) | D");
	is_str(run(cycle, "A:1"), "A(1.00) = 1.00", "composites naming each other: false");

	/* What moatctl refuses before writing. */
	{
		char err[256];
		struct composite_set *set = composite_set_new();

		composite_set_add(set, "X", 1, COMPOSITE_LEAVE, composite_parse("Y & A", err, 99));
		composite_set_add(set, "Y", 1, COMPOSITE_LEAVE, composite_parse("B | X", err, 99));
		composite_set_link(set);
		ok(composite_set_check(set, err, sizeof(err)) < 0, "a cycle is found");
		is_str(err, "X names itself: X -> Y -> X", "...and named");
		composite_set_free(set);
		set = composite_set_new();
		for (int i = 0; i <= COMPOSITE_CHAIN_MAX; i++) {
			char name[8], expr[32];

			snprintf(name, sizeof(name), "L%d", i);
			snprintf(expr, sizeof(expr), i < COMPOSITE_CHAIN_MAX ? "L%d & A" : "A",
			         i + 1);
			composite_set_add(set, name, 1, COMPOSITE_LEAVE,
			                  composite_parse(expr, err, 99));
		}
		composite_set_link(set);
		ok(composite_set_check(set, err, sizeof(err)) < 0, "9 composites deep is refused");
		is_str(err, "composites nest deeper than 8 (L0 -> ... -> L8)", "...with a message");
		composite_set_free(set);
		set = composite_set_new();
		composite_set_add(set, "L0", 1, COMPOSITE_LEAVE, composite_parse("A", err, 99));
		composite_set_link(set);
		is_int(composite_set_check(set, err, sizeof(err)), 0, "one composite is fine");
		composite_set_free(set);
	}
}

/* The shipped rows, through the rules snapshot and scan_finish(). */
static void shipped(void)
{
	char dir[] = "/tmp/composite_testXXXXXX", path[256], err[256];
	struct scan_rules *r;
	struct scan_result res;
	struct sbuf sb;
	sqlite3 *db;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "database with the migrations");
	if (db == NULL)
		return;
	/* A row the sqlite3 shell broke is skipped; the others load. */
	sqlite3_exec(
	    db,
	    "INSERT INTO composites (name, expression, weight) VALUES ('BROKEN', 'A &', 1);"
	    "INSERT INTO composites (name, expression, weight) VALUES"
	    " ('ONCE_A', 'T_ONE & T_TWO', 1), ('ONCE_B', '!T_ONE & T_THREE', 1);"
	    "INSERT INTO composites (name, expression, weight, enabled)"
	    " VALUES ('OFF', 'R_SPF_NA', 9, 0)",
	    NULL, NULL, NULL);
	r = scan_rules_load(db, err, sizeof(err));
	ok(r != NULL, "rules load (%s)", r ? "" : err);
	if (r == NULL)
		return;
	sbuf_init(&sb);

	/* DMS's weights for the four symbols: 1 + 1.5 + 0.5 + 0, and AUTH_NA 2.5 left beside. */
	scan_result_init(&res);
	scan_add_weighted(&res, r, "R_DKIM_NA", 1, NULL);
	scan_add_weighted(&res, r, "R_SPF_NA", 1.5, "no SPF record");
	scan_add_weighted(&res, r, "DMARC_NA", 0.5, NULL);
	scan_add_weighted(&res, r, "ARC_NA", 0, NULL);
	scan_finish(&res, r);
	scan_spamd_result(&res, &sb, 0);
	is_str(sbuf_cstr(&sb),
	       "default: False [5.50 / 11.00]; AUTH_NA(2.50)[]; R_SPF_NA(1.50)[no SPF record]; "
	       "R_DKIM_NA(1.00)[]; DMARC_NA(0.50)[]; ARC_NA(0.00)[]",
	       "no authentication at all: AUTH_NA, policy leave, 5.50 as with DMS");
	scan_finish(&res, r);
	ok(fabs(res.score - 5.5) < 1e-9, "scan_finish again applies nothing twice (%.2f)",
	   res.score);
	scan_result_free(&res);

	scan_result_init(&res);
	scan_add_weighted(&res, r, "R_DKIM_TEMPFAIL", 1.5, NULL);
	scan_add_weighted(&res, r, "R_SPF_NA", 1.5, NULL);
	scan_add_weighted(&res, r, "DMARC_NA", 0.5, NULL);
	scan_add_weighted(&res, r, "ARC_NA", 0, NULL);
	scan_finish(&res, r);
	sbuf_reset(&sb);
	scan_spamd_result(&res, &sb, 0);
	is_str(sbuf_cstr(&sb),
	       "default: False [4.50 / 11.00]; R_DKIM_TEMPFAIL(1.50)[]; R_SPF_NA(1.50)[]; "
	       "AUTH_NA_OR_FAIL(1.00)[]; DMARC_NA(0.50)[]; ARC_NA(0.00)[]",
	       "a DKIM lookup failed and nothing else: AUTH_NA_OR_FAIL, not AUTH_NA");
	scan_result_free(&res);

	scan_result_init(&res);
	scan_add_weighted(&res, r, "DMARC_POLICY_ALLOW", -1, "example.com");
	scan_add_weighted(&res, r, "R_SPF_FAIL", 4.5, "-all");
	scan_add_weighted(&res, r, "R_DKIM_ALLOW", -1, "example.com:s=sel");
	scan_finish(&res, r);
	sbuf_reset(&sb);
	scan_spamd_result(&res, &sb, 0);
	is_str(sbuf_cstr(&sb),
	       "default: False [-1.00 / 11.00]; R_DKIM_ALLOW(-1.00)[example.com:s=sel]; "
	       "DMARC_POLICY_ALLOW(0.00)[example.com]; "
	       "DMARC_POLICY_ALLOW_WITH_FAILURES(0.00)[]; R_SPF_FAIL(0.00)[-all]",
	       "DMARC passes by DKIM, SPF fails: DMARC_POLICY_ALLOW_WITH_FAILURES takes both "
	       "weights (remove_weight)");
	scan_result_free(&res);

	/* Once per message: a second pass would see T_ONE gone and fire ONCE_B. */
	scan_result_init(&res);
	scan_add_weighted(&res, r, "T_ONE", 1, NULL);
	scan_add_weighted(&res, r, "T_TWO", 1, NULL);
	scan_add_weighted(&res, r, "T_THREE", 1, NULL);
	scan_finish(&res, r);
	scan_finish(&res, r);
	sbuf_reset(&sb);
	scan_spamd_result(&res, &sb, 0);
	is_str(sbuf_cstr(&sb), "default: False [2.00 / 11.00]; ONCE_A(1.00)[]; T_THREE(1.00)[]",
	       "composites apply once: scan_finish again changes nothing");
	scan_result_free(&res);

	/* GTUBE forced an action: the checks were skipped, composites too. */
	scan_result_init(&res);
	scan_add_weighted(&res, r, "R_SPF_FAIL", 4.5, NULL);
	scan_add_weighted(&res, r, "RCVD_COUNT_ZERO", 0, NULL);
	res.forced = "no action";
	scan_finish(&res, r);
	is_int(res.n, 2, "no composite after GTUBE forced an action");
	scan_result_free(&res);
	scan_result_init(&res);
	scan_add_weighted(&res, r, "R_SPF_FAIL", 4.5, NULL);
	scan_add_weighted(&res, r, "RCVD_COUNT_ZERO", 0, NULL);
	scan_finish(&res, r);
	ok(res.n == 3 && fabs(res.score - 8) < 1e-9,
	   "...without it VIOLATED_DIRECT_SPF (3.50, leave): %.2f", res.score);
	scan_result_free(&res);

	/* Symbols moat-policyd carried in X-Moat-Policy are added before scan_finish(): seen. */
	scan_result_init(&res);
	scan_add_policy(&res, r, "R_SPF_SOFTFAIL(0.00)[~all]; RCVD_COUNT_ZERO(0.00)[0]");
	scan_finish(&res, r);
	sbuf_reset(&sb);
	scan_spamd_result(&res, &sb, 0);
	like_str(sbuf_cstr(&sb), "VIOLATED_DIRECT_SPF(3.50)[]",
	         "a composite over X-Moat-Policy's symbols fires");
	scan_result_free(&res);

	sbuf_free(&sb);
	scan_rules_free(r);
	db_close(db);
	unlink(path);
	snprintf(path, sizeof(path), "%s/moat.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/moat.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	grammar();
	evaluation();
	shipped();
	return done_testing();
}
