/*
 * req - the parts of a controller request that moat parses itself: query
 * arguments, the rspamc protocol headers of /checkv2 (Rspamd's
 * docs/developers/protocol.md), the JSON bodies of /saveactions and
 * /savesymbols (parsed by jansson, checked here), and the symbol list of
 * a history row. No HTTP here (libmicrohttpd does that), so each parser
 * has a fuzz target (t/fuzz/fuzz_controller.c). Every list has a bound.
 */
#ifndef MOAT_CTL_REQ_H
#define MOAT_CTL_REQ_H

#include <stddef.h>

#include <jansson.h>

#define REQ_RCPT_MAX 1000     /* Rcpt headers kept for one scan */
#define REQ_VALUE_MAX 2048    /* longest protocol header value used */
#define REQ_SYMBOLS_MAX 10000 /* entries of one /savesymbols body */

/* A decimal integer within [min, max], the whole of s; 0 and *out, or -1. */
int req_long(const char *s, long min, long max, long *out);

/* The transaction an rspamc request describes (struct scan_input's strings). */
struct req_scan {
	char *ip, *helo, *hostname, *from, *user, *queue_id, *deliver_to;
	char **rcpts;
	int nrcpts;
	int no_log; /* Flags: no_log, or Log: no */
};

/*
 * One request header: kept if it is a protocol header, ignored if not.
 * 0, or -1 with err for a value moat cannot use (an IP that is no address,
 * a value longer than REQ_VALUE_MAX or holding a control character, too
 * many Rcpt): the request then gets 400.
 */
int req_scan_header(struct req_scan *rs, const char *name, const char *value, size_t len, char *err,
                    size_t errlen);
/* Free what req_scan_header() kept (the struct itself is the caller's). */
void req_scan_free(struct req_scan *rs);

/* /saveactions: Rspamd's order, reject, rewrite subject, add header, greylist. */
#define REQ_NACTIONS 4
extern const char *const req_action_names[REQ_NACTIONS];
struct req_actions {
	double value[REQ_NACTIONS];
	int off[REQ_NACTIONS]; /* null: the action is turned off */
};
/* A JSON array of 4 numbers or nulls; 0, or -1 with err. */
int req_actions_parse(const char *body, size_t len, struct req_actions *out, char *err,
                      size_t errlen);

/* /savesymbols: [{"name": "SYM", "value": 1.5}, ...]. */
struct req_symbol {
	char name[65];
	double value;
};
/* At most REQ_SYMBOLS_MAX entries into *v (freed by the caller), *n of them; 0, or -1 with err. */
int req_symbols_parse(const char *body, size_t len, struct req_symbol **v, size_t *n, char *err,
                      size_t errlen);

/*
 * A history row's symbols ("SYM(w)[o,o]; SYM(w)[]", as X-Spamd-Result)
 * as Rspamd's JSON: {"SYM": {"name", "score", "metric_score", "options"}};
 * parts that do not parse are skipped. A new reference.
 */
json_t *req_history_symbols(const char *text, size_t len);

#endif
