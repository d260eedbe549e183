/*
 * composite - Rspamd's composite rules: a symbol added when an expression
 * over the symbols a message got holds, whose policy then takes away the
 * weights or the symbols it was made of (Rspamd 3.4,
 * src/libserver/composites/composites.cxx). The rules live in the SQLite
 * table `composites`; rules.c compiles them once per snapshot and
 * scan_finish() applies them after every symbol is in, X-Moat-Policy's too.
 *
 * Expressions: symbols, & (and, &&), | (or, ||), ! (not), parentheses; !
 * binds tightest, & before |. An atom may carry Rspamd's prefixes, which
 * change what the composite's policy does to that one symbol:
 *   ~SYM  keep the symbol, take its weight (as Rspamd's code does; its
 *         documentation says the opposite)
 *   -SYM  keep both, and keep other composites from taking them
 *   ^SYM  take both, whatever another composite asks
 * Policies: remove_all (default: the symbols and their weights go),
 * remove_symbol (hidden, the weight still counts), remove_weight (shown
 * with 0), leave. Only atoms that matched and are not under a ! are
 * touched, and only once every composite has been evaluated; a symbol
 * keeps its weight (its place) if any matching composite wants to keep it.
 *
 * A composite may name another; it is evaluated first, as in Rspamd. A
 * composite that names itself through others is false at that point (as
 * Rspamd), and moatctl refuses to write one. Not supported, refused with an
 * error: symbol options (SYM[opt]), groups (g:NAME), arithmetic and
 * comparisons.
 *
 * Limits: an expression of at most COMPOSITE_EXPR_MAX bytes,
 * COMPOSITE_ATOMS_MAX symbols and COMPOSITE_DEPTH_MAX levels of ( and !;
 * composites naming composites at most COMPOSITE_CHAIN_MAX deep.
 */
#ifndef MOAT_COMPOSITE_H
#define MOAT_COMPOSITE_H

#include <stddef.h>

struct scan_result;

#define COMPOSITE_EXPR_MAX 4096
#define COMPOSITE_ATOMS_MAX 256
#define COMPOSITE_DEPTH_MAX 32
#define COMPOSITE_CHAIN_MAX 8

enum composite_policy {
	COMPOSITE_REMOVE_ALL,
	COMPOSITE_REMOVE_SYMBOL,
	COMPOSITE_REMOVE_WEIGHT,
	COMPOSITE_LEAVE,
};

struct composite_expr;
struct composite_set;

/* Compile an expression; NULL and err ("column N: ...") if it is not one. */
struct composite_expr *composite_parse(const char *s, char *err, size_t errlen);
/* Free (NULL is fine). */
void composite_expr_free(struct composite_expr *e);
/* The number of symbols the expression names (each occurrence). */
size_t composite_expr_atoms(const struct composite_expr *e);
/* The name of atom i, without its prefixes. */
const char *composite_expr_atom(const struct composite_expr *e, size_t i);

/* A policy by Rspamd's name (remove_all, remove, default, remove_symbol, remove_weight,
 * leave, remove_none); 0, or -1 if unknown. */
int composite_policy_parse(const char *s, enum composite_policy *p);
/* The canonical name: remove_all, remove_symbol, remove_weight or leave. */
const char *composite_policy_name(enum composite_policy p);

/* An empty set. */
struct composite_set *composite_set_new(void);
/* Add a composite; the set takes e. Add them in strcmp order of name (bsearch). */
void composite_set_add(struct composite_set *set, const char *name, double weight,
                       enum composite_policy policy, struct composite_expr *e);
/* Link the atoms that name composites of the set; after the last add. */
void composite_set_link(struct composite_set *set);
/* Free (NULL is fine). */
void composite_set_free(struct composite_set *set);
/* 0, or -1 and err when a composite names itself through others or they nest too deep. */
int composite_set_check(const struct composite_set *set, char *err, size_t errlen);
/* What composite_eval() found to do: add a composite, or take a symbol's weight or place. */
enum { COMPOSITE_ADD = 1, COMPOSITE_TAKE_SYMBOL = 2, COMPOSITE_TAKE_WEIGHT = 4 };
struct composite_change {
	const char *name; /* the composite or symbol (lives as long as the set) */
	double weight;    /* COMPOSITE_ADD: the composite's weight */
	unsigned what;    /* COMPOSITE_ADD, or COMPOSITE_TAKE_* bits */
};
/*
 * Evaluate every composite on res, which it only reads (set may be NULL):
 * the composites to add, then the symbols to change, in that order, in
 * *out (free() it); their count. The result applies them (result.c), so
 * this module uses nothing of it but its symbols.
 */
size_t composite_eval(const struct composite_set *set, const struct scan_result *res,
                      struct composite_change **out);

#endif
