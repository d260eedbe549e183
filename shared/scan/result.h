/*
 * result - what a scan found: symbols with weights and options, the score
 * and the action it picks, and the result written as Rspamd writes it, so
 * existing Sieve rules and log parsers keep working:
 *
 *   X-Spamd-Result: default: False [-2.80 / 11.00];
 *   	SYM(w)[opt,opt];
 *   	SYM(w)[]
 *   X-Rspamd-Action: no action
 *
 * Checks add symbols here; the result knows the rules (weights and
 * thresholds) and nothing of the checks.
 */
#ifndef MOAT_RESULT_H
#define MOAT_RESULT_H

#include <stddef.h>

#include "core/sbuf.h"

struct composite_set;
struct scan_auth;
struct scan_rules;

/* Rspamd's limits on one symbol's options (default_max_shots, max_opts_len). */
#define SCAN_MAX_OPTS 100
#define SCAN_MAX_OPTS_LEN 4096

struct scan_symbol {
	char name[64];
	double weight;
	char **opts;		/* in the order added, each through hdrsafe_option() */
	int nopts;
	size_t optlen;		/* bytes of the options as given */
	int opts_full;		/* SCAN_MAX_OPTS_LEN reached ("..." added) */
};

struct scan_result {
	struct scan_symbol *v;
	size_t n, cap;
	double score;
	double required;	/* the reject threshold, for the header */
	const char *action;	/* "no action", "greylist", "add header", "rewrite subject",
				 * "reject", "soft reject" */
	int soft_reject;	/* a DNS list failed and soft_reject_on_timeout is on */
	const char *forced;	/* action a GTUBE pattern or a virus forces, or NULL */
	char reply[200];	/* the forced action's SMTP text (ClamAV's), or "" */
	const char *least;	/* action the result reaches at least, or NULL: "reject" for
				 * a DMARC p=reject failure with dmarc_enforce (Rspamd's
				 * "least" pre-result); the score stays */
	char least_reason[300];	/* why, for the SMTP reply */
	char soft_reason[200];
	char *subject;		/* the message's Subject, decoded (scan_message), or NULL */
	char *subject_raw;	/* ...and unfolded as written, for a rewrite */
	char from[256];		/* the From header's (first) address, as check_headers reads it */
	char from_name[256];	/* ...and its display name, decoded; "" for none */
	struct scan_auth *auth;	/* what SPF, DKIM, DMARC and ARC found (scan_message), or NULL */
	double hidden_weight;	/* of symbols a composite hid but whose weight counts */
	int composed;		/* the composites were applied (scan_finish, once) */
};

/* Empty result. */
void scan_result_init(struct scan_result *res);
/* Free the result's memory. */
void scan_result_free(struct scan_result *res);
/*
 * Add a symbol with its weight from the rules (0 for a symbol the table
 * does not know; nothing for a disabled one). A symbol added again keeps
 * its weight once and gains the option. opt is one option (NULL or "" for
 * none), encoded by hdrsafe_option(); as in Rspamd an option the symbol
 * has already is not added twice, a symbol keeps at most SCAN_MAX_OPTS,
 * and the option that would take it past SCAN_MAX_OPTS_LEN bytes is
 * replaced by "..." and ends its list.
 */
void scan_add(struct scan_result *res, const struct scan_rules *r, const char *name,
	      const char *opt);
/* Add a symbol with a given weight (from X-Moat-Policy, or scaled ones like Bayes). */
void scan_add_weighted(struct scan_result *res, const struct scan_rules *r, const char *name,
		       double weight, const char *opt);
/*
 * Add the symbols of an X-Moat-Policy list "SYM(w)[o,o]; ..." (weights from
 * the rules); none after GTUBE forced an action.
 */
void scan_add_policy(struct scan_result *res, const struct scan_rules *r, const char *list);
/*
 * Evaluate the composites of set on res (composite.h) and apply what they
 * decide: their symbols added with their weights, then the symbols they
 * took given weight 0 or hidden (Rspamd's ignored symbols: not shown, a
 * weight kept still counts, in hidden_weight). scan_finish() calls it.
 */
void scan_composites(struct scan_result *res, const struct composite_set *set);
/*
 * Apply the composites (composite.h; the first time only, and not after
 * GTUBE forced an action), sum, sort by absolute weight (largest first),
 * pick the action. A forced action (GTUBE) wins, and its threshold is the
 * score, as in Rspamd.
 */
void scan_finish(struct scan_result *res, const struct scan_rules *r);
/*
 * X-Spamd-Result's value as Rspamd's milter_headers writes it:
 * "default: False [s / r]; SYM(w)[o,o]; SYM(w)[]" (two decimals, options
 * joined by ','). With fold set, folded as Rspamd folds it: a line break
 * and a TAB in place of the space after each ';', so the first line holds
 * "default: ...;" and every symbol is on a line of its own.
 */
void scan_spamd_result(const struct scan_result *res, struct sbuf *out, int fold);
/* Append a symbol's options joined by sep (",", or ", " as rspamc prints them). */
void scan_symbol_opts(const struct scan_symbol *s, struct sbuf *out, const char *sep);
/*
 * Rspamd's X-Spamd-Bar for a score: one '+' per whole point at 1 and above,
 * one '-' per whole point at -1 and below, else "/". At most
 * SCAN_BAR_MAX glyphs, so the header stays within RFC 5322's line length.
 */
void scan_spamd_bar(double score, struct sbuf *out);
#define SCAN_BAR_MAX 100

#endif
