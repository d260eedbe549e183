/*
 * rules - the scanner's rules: a read-only snapshot of the database
 * (symbols and weights in `symbols`, thresholds in `actions`, `settings`,
 * `modules` and `module_options`, and the regex rules of `rules` and the
 * composite rules of `composites` compiled once). Scanning threads share
 * one snapshot; a new one is loaded when the database changes. Regexes
 * match with a backtracking limit, so a hostile pattern or text cannot
 * hang a scan.
 */
#ifndef MOAT_RULES_H
#define MOAT_RULES_H

#include <sqlite3.h>
#include <stddef.h>

#include "scan/gtube.h"

struct composite_set;
struct scan_rules;

/* Load weights, thresholds and settings; NULL with err. */
struct scan_rules *scan_rules_load(sqlite3 *db, char *err, size_t errlen);
/* Free (NULL is fine). */
void scan_rules_free(struct scan_rules *r);
/* A setting from the settings table (subject_rewrite, spam_header, ...), or "". */
const char *scan_rules_setting(const struct scan_rules *r, const char *name);
/* An action's threshold, or HUGE_VAL when it is off. */
double scan_rules_threshold(const struct scan_rules *r, const char *action);
/* The reject threshold (HUGE_VAL when off), X-Spamd-Result's "required". */
double scan_rules_reject(const struct scan_rules *r);
/* A symbol's weight into *weight: 1 if enabled, 0 if disabled, -1 if the table does not know it. */
int scan_rules_symbol(const struct scan_rules *r, const char *name, double *weight);
/* Extra headers the milter_headers setting asks for (Rspamd's routine names). */
enum scan_header {
	SCAN_HDR_BAR = 1,	/* x-spamd-bar */
	SCAN_HDR_QUEUE_ID = 2,	/* x-rspamd-queue-id */
	SCAN_HDR_SERVER = 4,	/* x-rspamd-server */
};
/* The enum scan_header bits of the milter_headers setting. */
unsigned scan_rules_headers(const struct scan_rules *r);
/* The gtube_patterns setting (a bad value is Rspamd's default, reject). */
enum gtube_policy scan_rules_gtube(const struct scan_rules *r);
/* Whether a module is enabled (unknown modules are). */
int scan_rules_module(const struct scan_rules *r, const char *name);
/* A module's option (module_options table), or "". */
const char *scan_rules_module_option(const struct scan_rules *r, const char *module,
				     const char *option);

/* The enabled composites, compiled (composite.h; composites table). */
const struct composite_set *scan_rules_composites(const struct scan_rules *r);
/*
 * Whether the enabled composites of db, with name's expression replaced by
 * expr (or name added), form a set the scanner can evaluate: expr compiles
 * and no composite names itself through others. What moatctl composites
 * and the controller check before they write: 0, or -1 with the reason.
 */
int scan_rules_composite_check(sqlite3 *db, const char *name, const char *expr, char *err,
			       size_t errlen);

/* What a regex rule is matched against. */
enum scan_regex_target {
	SCAN_RE_SUBJECT,	/* each Subject header, decoded */
	SCAN_RE_HEADER,		/* each header named in header, decoded */
	SCAN_RE_BODY,		/* the text of the text parts (content.h) */
	SCAN_RE_RAW,		/* the message as received */
	SCAN_RE_URL,		/* each URL found */
};

/* A regex rule as the regex check sees it. */
struct scan_regex {
	char symbol[64];
	enum scan_regex_target target;
	char header[128];	/* for SCAN_RE_HEADER */
};

/* The number of regex rules that compiled, in id order. */
size_t scan_rules_regex_count(const struct scan_rules *r);
/* Regex rule i (< scan_rules_regex_count()). */
const struct scan_regex *scan_rules_regex(const struct scan_rules *r, size_t i);
/* Whether rule i matches p[0..len); 0 also when the match limit is hit. */
int scan_rules_regex_match(const struct scan_rules *r, size_t i, const char *p, size_t len);

#endif
