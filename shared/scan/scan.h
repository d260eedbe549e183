/*
 * scan - score one message: checks add symbols, symbols have weights
 * (SQLite `symbols`), the score picks an action (`actions` thresholds),
 * and the result is written as Rspamd writes it, so existing Sieve rules
 * and log parsers keep working:
 *
 *   X-Spamd-Result: default: False [-2.80 / 11.00];
 *   	SYM(w)[opt,opt];
 *   	SYM(w)[]
 *   X-Rspamd-Action: no action
 *
 * The milter and `moatctl scan` run the very same code. Rules are a
 * read-only snapshot (scan_rules) that threads share; a new snapshot is
 * loaded when the database changes.
 */
#ifndef MOAT_SCAN_H
#define MOAT_SCAN_H

#include <sqlite3.h>
#include <stddef.h>

#include "mail/mime.h"
#include "core/sbuf.h"

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
	const char *forced;	/* action a GTUBE pattern forces, or NULL */
	char soft_reason[200];
};

/* What the milter knows of the SMTP transaction (any field may be NULL). */
struct scan_input {
	const char *raw;	/* the message as received (headers + body) */
	size_t len;
	const char *client_ip;
	const char *client_name;
	const char *helo;
	const char *mail_from;	/* envelope sender, without <> */
	const char *const *rcpts;	/* envelope recipients */
	int nrcpts;
	int tls;		/* the client used TLS */
	struct bayes *bayes;	/* this thread's Bayes classifier, or NULL */
};

/* Load weights, thresholds and settings; NULL with err. */
struct scan_rules *scan_rules_load(sqlite3 *db, char *err, size_t errlen);
/* Free (NULL is fine). */
void scan_rules_free(struct scan_rules *r);
/* A setting from the settings table (subject_rewrite, spam_header, ...), or "". */
const char *scan_rules_setting(const struct scan_rules *r, const char *name);
/* An action's threshold, or HUGE_VAL when it is off. */
double scan_rules_threshold(const struct scan_rules *r, const char *action);
/* Extra headers the milter_headers setting asks for (Rspamd's routine names). */
enum scan_header {
	SCAN_HDR_BAR = 1,	/* x-spamd-bar */
	SCAN_HDR_QUEUE_ID = 2,	/* x-rspamd-queue-id */
	SCAN_HDR_SERVER = 4,	/* x-rspamd-server */
};
/* The enum scan_header bits of the milter_headers setting. */
unsigned scan_rules_headers(const struct scan_rules *r);
/* Whether a module is enabled (unknown modules are). */
int scan_rules_module(const struct scan_rules *r, const char *name);
/* A module's option (module_options table), or "". */
const char *scan_rules_module_option(const struct scan_rules *r, const char *module,
				     const char *option);

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
 * Sum, sort by absolute weight (largest first), pick the action. A forced
 * action (GTUBE) wins, and its threshold is the score, as in Rspamd.
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

struct bayes;
struct conf;
struct scan_dns;

/*
 * DNS lists for a scanning thread (Received-header IPs, URL hosts and
 * IPs): its own event loop and resolver, used synchronously. NULL with err.
 */
struct scan_dns *scan_dns_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen);
/* Re-read the zones (after the database changed). */
void scan_dns_reload(struct scan_dns *sd, sqlite3 *db);
/* Free (NULL is fine). */
void scan_dns_free(struct scan_dns *sd);

/*
 * Parse the message and run every check into res (not finished); sd may be
 * NULL (no DNS). A GTUBE pattern in a text part skips the checks and forces
 * its action (the gtube_patterns setting says which patterns count).
 */
void scan_message(const struct scan_rules *r, struct scan_dns *sd, const struct scan_input *in,
		  struct scan_result *res);

#endif
