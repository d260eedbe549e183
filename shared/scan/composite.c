/*
 * composite - composite rules: the expression parser, and evaluation with
 * Rspamd's removal rules; see composite.h.
 *
 * The parser is recursive descent over a string of at most
 * COMPOSITE_EXPR_MAX bytes; it recurses only at ( and !, at most
 * COMPOSITE_DEPTH_MAX deep, and & and | chains are loops. An expression is
 * a tree of at most 2 * COMPOSITE_ATOMS_MAX nodes, evaluated as Rspamd
 * does with RSPAMD_EXPRESSION_FLAG_NOOPT: every atom, no short cut, so
 * every symbol that matched is known to the policy.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "scan/composite.h"
#include "scan/result.h"

enum node_kind { N_ATOM, N_AND, N_OR, N_NOT };

struct node {
	enum node_kind kind;
	int a, b; /* children; for N_ATOM, a is the atom */
};

struct atom {
	char name[64];
	char prefix[8]; /* Rspamd's ~ - ^, as written */
	int negated;    /* under a !: never removed (Rspamd's remove_symbols) */
	int comp;       /* the composite of that name in the set, or -1 */
};

struct composite_expr {
	struct node *nodes;
	int nnodes, root;
	struct atom *atoms;
	int natoms;
};

struct parser {
	const char *s;
	size_t pos, len;
	struct composite_expr *e;
	char *err;
	size_t errlen;
	int failed;
};

/* What a matched atom asks for its symbol (Rspamd's rspamd_composite_action). */
enum { RM_SYMBOL = COMPOSITE_TAKE_SYMBOL, RM_WEIGHT = COMPOSITE_TAKE_WEIGHT, RM_FORCED = 8 };

static const struct {
	const char *name;
	enum composite_policy p;
} policies[] = {
    {"remove_all", COMPOSITE_REMOVE_ALL},       {"remove", COMPOSITE_REMOVE_ALL},
    {"default", COMPOSITE_REMOVE_ALL},          {"remove_symbol", COMPOSITE_REMOVE_SYMBOL},
    {"remove_weight", COMPOSITE_REMOVE_WEIGHT}, {"leave", COMPOSITE_LEAVE},
    {"remove_none", COMPOSITE_LEAVE},
};

int composite_policy_parse(const char *s, enum composite_policy *p)
{
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (strcmp(s, policies[i].name) == 0) {
			*p = policies[i].p;
			return 0;
		}
	return -1;
}

const char *composite_policy_name(enum composite_policy p)
{
	switch (p) {
	case COMPOSITE_REMOVE_SYMBOL:
		return "remove_symbol";
	case COMPOSITE_REMOVE_WEIGHT:
		return "remove_weight";
	case COMPOSITE_LEAVE:
		return "leave";
	default:
		return "remove_all";
	}
}

/* The first error wins: "column N: ..." (1-based, where the parser stands). */
static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return -1;
	p->failed = 1;
	n = snprintf(p->err, p->errlen, "column %zu: ", p->pos + 1);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_space(struct parser *p)
{
	while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
		p->pos++;
}

static int name_char(int c)
{
	return isalnum(c) || c == '_';
}

/* Whether the word w (and, or, not; any case) stands at the parser, alone. */
static int word(struct parser *p, const char *w)
{
	size_t n = strlen(w);

	return p->len - p->pos >= n && strncasecmp(p->s + p->pos, w, n) == 0 &&
	       (p->pos + n == p->len || !name_char((unsigned char)p->s[p->pos + n]));
}

/* The binary operator at the parser ('&' or '|'), consumed; 0 if none. */
static int binop(struct parser *p)
{
	char c;

	skip_space(p);
	if (p->pos >= p->len)
		return 0;
	c = p->s[p->pos];
	if (c == '&' || c == '|') {
		p->pos += p->pos + 1 < p->len && p->s[p->pos + 1] == c ? 2 : 1;
		return c;
	}
	if (word(p, "and")) {
		p->pos += 3;
		return '&';
	}
	if (word(p, "or")) {
		p->pos += 2;
		return '|';
	}
	return 0;
}

static int node(struct parser *p, enum node_kind kind, int a, int b)
{
	struct composite_expr *e = p->e;

	e->nodes = xrealloc(e->nodes, (size_t)(e->nnodes + 1) * sizeof(*e->nodes));
	e->nodes[e->nnodes] = (struct node){kind, a, b};
	return e->nnodes++;
}

static int atom(struct parser *p, int negated)
{
	struct composite_expr *e = p->e;
	struct atom a = {.negated = negated, .comp = -1};
	size_t start = p->pos, np = 0, n;
	const char *s = p->s;

	while (p->pos < p->len && strchr("~-^", s[p->pos]) && s[p->pos]) {
		if (np + 1 >= sizeof(a.prefix))
			return fail(p, "more than %zu prefixes (~ - ^) on one symbol",
			            sizeof(a.prefix) - 1);
		a.prefix[np++] = s[p->pos++];
	}
	for (n = 0; p->pos + n < p->len && name_char((unsigned char)s[p->pos + n]); n++)
		;
	if (n == 0) {
		if (p->pos >= p->len)
			return fail(p, "a symbol expected, the expression ends");
		if (strchr("+*/<>=", s[p->pos]))
			return fail(p, "'%c': only &, |, ! and parentheses are supported",
			            s[p->pos]);
		if (s[p->pos] == ')')
			return fail(p, "a symbol expected before ')'");
		return fail(p, "a symbol expected, not '%c'", s[p->pos]);
	}
	if (n == 1 && s[p->pos] == 'g' && p->pos + 1 < p->len && strchr(":+-", s[p->pos + 1]))
		return fail(p, "groups (g:NAME) are not supported; name the symbols");
	for (size_t i = 0; i < n; i++)
		if (islower((unsigned char)s[p->pos + i]))
			return fail(p, "%.*s: symbol names are upper case", (int)(n > 64 ? 64 : n),
			            s + p->pos);
	if (n >= sizeof(a.name))
		return fail(p, "a symbol name longer than %zu characters", sizeof(a.name) - 1);
	memcpy(a.name, s + p->pos, n);
	p->pos += n;
	if (p->pos < p->len && s[p->pos] == '[')
		return fail(p, "symbol options (%s[...]) are not supported", a.name);
	if (e->natoms >= COMPOSITE_ATOMS_MAX) {
		p->pos = start;
		return fail(p, "more than %d symbols", COMPOSITE_ATOMS_MAX);
	}
	e->atoms = xrealloc(e->atoms, (size_t)(e->natoms + 1) * sizeof(*e->atoms));
	e->atoms[e->natoms] = a;
	return node(p, N_ATOM, e->natoms++, -1);
}

static int p_or(struct parser *p, int depth, int negated);

/* ! unary | ( or ) | atom */
static int p_unary(struct parser *p, int depth, int negated)
{
	int n;

	skip_space(p);
	if (depth >= COMPOSITE_DEPTH_MAX && p->pos < p->len &&
	    (p->s[p->pos] == '(' || p->s[p->pos] == '!' || word(p, "not")))
		return fail(p, "nested deeper than %d levels of ( and !", COMPOSITE_DEPTH_MAX);
	if (p->pos < p->len && p->s[p->pos] == '!') {
		if (p->pos + 1 < p->len && p->s[p->pos + 1] == '=')
			return fail(p, "'!=': only &, |, ! and parentheses are supported");
		p->pos++;
		goto not ;
	}
	if (word(p, "not")) {
		p->pos += 3;
		goto not ;
	}
	if (p->pos < p->len && p->s[p->pos] == '(') {
		size_t open = p->pos++;

		if ((n = p_or(p, depth + 1, negated)) < 0)
			return -1;
		skip_space(p);
		if (p->pos >= p->len || p->s[p->pos] != ')')
			return fail(p, "')' expected for the '(' at column %zu", open + 1);
		p->pos++;
		return n;
	}
	return atom(p, negated);
	not : if ((n = p_unary(p, depth + 1, 1)) < 0) return -1;
	return node(p, N_NOT, n, -1);
}

/* unary (& unary)* */
static int p_and(struct parser *p, int depth, int negated)
{
	int l = p_unary(p, depth, negated);

	while (l >= 0) {
		size_t at = p->pos;
		int r;

		if (binop(p) != '&') {
			p->pos = at;
			break;
		}
		if ((r = p_unary(p, depth, negated)) < 0)
			return -1;
		l = node(p, N_AND, l, r);
	}
	return l;
}

/* and (| and)* */
static int p_or(struct parser *p, int depth, int negated)
{
	int l = p_and(p, depth, negated);

	while (l >= 0) {
		size_t at = p->pos;
		int r;

		if (binop(p) != '|') {
			p->pos = at;
			break;
		}
		if ((r = p_and(p, depth, negated)) < 0)
			return -1;
		l = node(p, N_OR, l, r);
	}
	return l;
}

struct composite_expr *composite_parse(const char *s, char *err, size_t errlen)
{
	struct parser p = {.s = s, .len = strlen(s), .err = err, .errlen = errlen};

	if (errlen)
		err[0] = '\0';
	if (p.len > COMPOSITE_EXPR_MAX) {
		snprintf(err, errlen, "longer than %d bytes", COMPOSITE_EXPR_MAX);
		return NULL;
	}
	p.e = xcalloc(1, sizeof(*p.e));
	p.e->root = p_or(&p, 0, 0);
	skip_space(&p);
	if (p.e->root >= 0 && p.pos < p.len) {
		if (p.s[p.pos] == ')')
			fail(&p, "')' without '('");
		else if (p.s[p.pos] == '!' && p.pos + 1 < p.len && p.s[p.pos + 1] == '=')
			fail(&p, "'!=': only &, |, ! and parentheses are supported");
		else if (strchr("~-^(!", p.s[p.pos]) || name_char((unsigned char)p.s[p.pos]))
			fail(&p, "an operator (&, |) expected before '%c'", p.s[p.pos]);
		else
			fail(&p, "'%c': only &, |, ! and parentheses are supported", p.s[p.pos]);
	}
	if (p.failed || p.e->root < 0) {
		composite_expr_free(p.e);
		return NULL;
	}
	return p.e;
}

void composite_expr_free(struct composite_expr *e)
{
	if (e == NULL)
		return;
	free(e->nodes);
	free(e->atoms);
	free(e);
}

size_t composite_expr_atoms(const struct composite_expr *e)
{
	return (size_t)e->natoms;
}

const char *composite_expr_atom(const struct composite_expr *e, size_t i)
{
	return e->atoms[i].name;
}

/* --- the set ----------------------------------------------------------- */

struct comp {
	char *name;
	double weight;
	enum composite_policy policy;
	struct composite_expr *e;
};

struct composite_set {
	struct comp *v;
	int n;
};

struct composite_set *composite_set_new(void)
{
	return xcalloc(1, sizeof(struct composite_set));
}

void composite_set_add(struct composite_set *set, const char *name, double weight,
                       enum composite_policy policy, struct composite_expr *e)
{
	set->v = xrealloc(set->v, (size_t)(set->n + 1) * sizeof(*set->v));
	set->v[set->n++] = (struct comp){xstrdup(name), weight, policy, e};
}

static int by_name(const void *key, const void *elt)
{
	return strcmp(key, ((const struct comp *)elt)->name);
}

void composite_set_link(struct composite_set *set)
{
	for (int i = 0; i < set->n; i++)
		for (int k = 0; k < set->v[i].e->natoms; k++) {
			struct atom *a = &set->v[i].e->atoms[k];
			const struct comp *c =
			    bsearch(a->name, set->v, (size_t)set->n, sizeof(*set->v), by_name);

			a->comp = c ? (int)(c - set->v) : -1;
		}
}

void composite_set_free(struct composite_set *set)
{
	if (set == NULL)
		return;
	for (int i = 0; i < set->n; i++) {
		free(set->v[i].name);
		composite_expr_free(set->v[i].e);
	}
	free(set->v);
	free(set);
}

/* Depth-first from composite i; path holds the chain so far (depth entries). */
static int check_from(const struct composite_set *set, int i, int *path, int depth, char *err,
                      size_t errlen)
{
	for (int d = 0; d < depth; d++)
		if (path[d] == i) {
			int n = snprintf(err, errlen, "%s names itself:", set->v[i].name);

			for (; d < depth && n >= 0 && (size_t)n < errlen; d++)
				n += snprintf(err + n, errlen - (size_t)n, " %s ->",
				              set->v[path[d]].name);
			if (n >= 0 && (size_t)n < errlen)
				snprintf(err + n, errlen - (size_t)n, " %s", set->v[i].name);
			return -1;
		}
	if (depth >= COMPOSITE_CHAIN_MAX) {
		snprintf(err, errlen, "composites nest deeper than %d (%s -> ... -> %s)",
		         COMPOSITE_CHAIN_MAX, set->v[path[0]].name, set->v[i].name);
		return -1;
	}
	path[depth] = i;
	for (int k = 0; k < set->v[i].e->natoms; k++) {
		int c = set->v[i].e->atoms[k].comp;

		if (c >= 0 && check_from(set, c, path, depth + 1, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int composite_set_check(const struct composite_set *set, char *err, size_t errlen)
{
	int path[COMPOSITE_CHAIN_MAX + 1];

	for (int i = 0; i < set->n; i++)
		if (check_from(set, i, path, 0, err, errlen) < 0)
			return -1;
	return 0;
}

/* --- evaluation on one result ----------------------------------------------- */

enum { ST_NEW, ST_BUSY, ST_FALSE, ST_TRUE, ST_THERE };

struct removal {
	const char *sym;
	int comp;
	unsigned action;
};

struct eval {
	const struct composite_set *set;
	const struct scan_result *res;
	unsigned char *state;
	struct removal *rm;
	size_t nrm;
	int chain;
};

static int in_result(const struct scan_result *res, const char *name)
{
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->v[i].name, name) == 0)
			return 1;
	return 0;
}

/* Rspamd's process_symbol_removal: the policy, then each prefix in turn. */
static unsigned atom_action(enum composite_policy policy, const char *prefix)
{
	unsigned a = policy == COMPOSITE_REMOVE_ALL      ? RM_SYMBOL | RM_WEIGHT
	             : policy == COMPOSITE_REMOVE_SYMBOL ? RM_SYMBOL
	             : policy == COMPOSITE_REMOVE_WEIGHT ? RM_WEIGHT
	                                                 : 0;

	for (; *prefix; prefix++)
		if (*prefix == '~')
			a &= ~(unsigned)RM_SYMBOL;
		else if (*prefix == '-')
			a &= ~(unsigned)(RM_SYMBOL | RM_WEIGHT);
		else if (*prefix == '^')
			a |= RM_FORCED;
	return a;
}

static void eval_comp(struct eval *ev, int ci);

/*
 * Whether the atom's symbol is there: in the result, or a composite of the
 * set that matched (evaluated first if need be; its symbol is added only
 * after all are evaluated, but counts as there from the moment it matched,
 * as in Rspamd, which inserts it at once).
 */
static int eval_atom(struct eval *ev, int ci, const struct atom *a)
{
	int there = in_result(ev->res, a->name);

	if (!there && a->comp >= 0) {
		eval_comp(ev, a->comp);
		there = ev->state[a->comp] == ST_TRUE;
	}
	if (!there)
		return 0;
	/* Bounded: each atom of each composite is evaluated once per message. */
	if (!a->negated) {
		ev->rm = xrealloc(ev->rm, (ev->nrm + 1) * sizeof(*ev->rm));
		ev->rm[ev->nrm++] =
		    (struct removal){a->name, ci, atom_action(ev->set->v[ci].policy, a->prefix)};
	}
	return 1;
}

static int eval_node(struct eval *ev, int ci, int n)
{
	const struct composite_expr *e = ev->set->v[ci].e;
	const struct node *nd = &e->nodes[n];
	int l, r;

	switch (nd->kind) {
	case N_ATOM:
		return eval_atom(ev, ci, &e->atoms[nd->a]);
	case N_NOT:
		return !eval_node(ev, ci, nd->a);
	default:
		/* Both sides always: what matched on either may be removed. */
		l = eval_node(ev, ci, nd->a);
		r = eval_node(ev, ci, nd->b);
		return nd->kind == N_AND ? l && r : l || r;
	}
}

static void eval_comp(struct eval *ev, int ci)
{
	const struct comp *c = &ev->set->v[ci];
	int hit;

	if (ev->state[ci] != ST_NEW)
		return;
	/* A check added the composite's symbol itself: Rspamd takes it as matched. */
	if (in_result(ev->res, c->name)) {
		ev->state[ci] = ST_THERE;
		return;
	}
	if (ev->chain >= COMPOSITE_CHAIN_MAX)
		return;
	ev->state[ci] = ST_BUSY;
	ev->chain++;
	hit = eval_node(ev, ci, c->e->root);
	ev->chain--;
	ev->state[ci] = hit ? ST_TRUE : ST_FALSE;
}

/*
 * Rspamd's remove_symbols for the symbol s: what the matching composites
 * that touched it (not under a !) agree on. Weight and symbol each go only
 * if every one of them asks; ^ takes both whatever the others ask.
 */
static unsigned removal_for(const struct eval *ev, const char *s)
{
	unsigned want = COMPOSITE_TAKE_SYMBOL | COMPOSITE_TAKE_WEIGHT;
	int any = 0;

	for (size_t k = 0; k < ev->nrm; k++) {
		const struct removal *r = &ev->rm[k];

		if (ev->state[r->comp] != ST_TRUE || strcmp(r->sym, s) != 0)
			continue;
		any = 1;
		if (r->action & RM_FORCED)
			return COMPOSITE_TAKE_SYMBOL | COMPOSITE_TAKE_WEIGHT;
		want &= r->action;
	}
	return any ? want : 0;
}

static void change(struct composite_change **v, size_t *n, const char *name, double w,
                   unsigned what)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct composite_change){name, w, what};
}

size_t composite_eval(const struct composite_set *set, const struct scan_result *res,
                      struct composite_change **out)
{
	struct eval ev = {.set = set, .res = res};
	size_t n = 0;

	*out = NULL;
	if (set == NULL || set->n == 0)
		return 0;
	ev.state = xcalloc((size_t)set->n, 1);
	for (int i = 0; i < set->n; i++)
		eval_comp(&ev, i);
	for (int i = 0; i < set->n; i++)
		if (ev.state[i] == ST_TRUE)
			change(out, &n, set->v[i].name, set->v[i].weight, COMPOSITE_ADD);
	/* Each symbol a matching composite touched, once (the first record names it). */
	for (size_t k = 0; k < ev.nrm; k++) {
		size_t j;
		unsigned what;

		for (j = 0; j < k && strcmp(ev.rm[j].sym, ev.rm[k].sym) != 0; j++)
			;
		if (j == k && (what = removal_for(&ev, ev.rm[k].sym)) != 0)
			change(out, &n, ev.rm[k].sym, 0, what);
	}
	free(ev.state);
	free(ev.rm);
	return n;
}
