/*
 * spf - Sender Policy Framework (RFC 7208): is a client IP allowed to send
 * for the MAIL FROM domain (or, with a null sender, the HELO name)?
 *
 * Every mechanism (all, include, a, mx, ptr, ip4, ip6, exists) and modifier
 * (redirect, exp; others ignored), macro expansion (section 7) and the
 * limits of section 4.6.4: 10 DNS-querying terms, 2 void lookups, 10 MX
 * names per mx, 10 PTR names per ptr or %{p}. Asynchronous over dns.c's
 * cached queries; the lookups of one level (the addresses of every MX or
 * PTR name) go out together.
 */
#ifndef MOAT_SPF_H
#define MOAT_SPF_H

#include <stddef.h>

struct dns;

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* The transaction checked. Strings are copied; NULL counts as "". */
struct spf_request {
	const char *ip;       /* the SMTP client's address, IPv4 or IPv6 text */
	const char *helo;     /* HELO/EHLO name */
	const char *sender;   /* MAIL FROM address; "" = null sender: the HELO identity */
	const char *receiver; /* %{r}: our host name ("unknown" if empty) */
};

#define SPF_TEXT_MAX 256

struct spf_outcome {
	enum spf_result result;
	int helo_identity;              /* checked postmaster@HELO (null sender) */
	char domain[SPF_TEXT_MAX];      /* the domain checked */
	char mechanism[SPF_TEXT_MAX];   /* what decided, with its qualifier: "-all",
	                                   "+ip4:192.0.2.0/24" */
	char explanation[SPF_TEXT_MAX]; /* fail: the domain's exp= text, expanded ("" if none) */
	char problem[SPF_TEXT_MAX];     /* temperror/permerror/none: why */
	int plus_all;                   /* pass decided by an "all" with the + qualifier */
	int lookups, voids, queries;    /* DNS terms counted, void lookups, queries made */
	int rounds;                     /* times the check waited for DNS answers */
};

/* Called once per check with the outcome, possibly before spf_check() returns. */
typedef void spf_cb(void *arg, const struct spf_outcome *o);

struct spf_check;

/*
 * Check req over d. Returns a handle while lookups are in flight, or NULL
 * when cb has already run (every answer was cached, or bad input).
 */
struct spf_check *spf_check(struct dns *d, const struct spf_request *req, spf_cb *cb, void *arg);
/* Stop a check: its callback never runs; freed once its lookups come back. */
void spf_cancel(struct spf_check *c);

/* "pass", "fail", ... as RFC 7208 section 2.6 names them. */
const char *spf_result_str(enum spf_result r);

/*
 * Rspamd's symbol for an outcome (R_SPF_ALLOW, R_SPF_FAIL, R_SPF_SOFTFAIL,
 * R_SPF_NEUTRAL, R_SPF_NA, R_SPF_DNSFAIL, R_SPF_PERMFAIL, R_SPF_PLUSALL),
 * and its option text into opt: the deciding mechanism with its qualifier
 * for a policy result (spf.lua: code .. addr.str), the reason otherwise.
 */
const char *spf_symbol(const struct spf_outcome *o, char *opt, size_t optlen);

/*
 * Syntax of one record alone (no DNS): 0, or -1 with the reason in err.
 * For tests and the fuzzer; spf_check() applies the same rules.
 */
int spf_record_check(const char *record, char *err, size_t errlen);

/*
 * Expand the macro-string spec (RFC 7208 section 7) for req at domain,
 * without DNS: %{p} expands to "unknown". exp != 0 allows c, r, t (exp=
 * text) and keeps a trailing dot. 0 with out, or -1 with err.
 */
int spf_expand(const struct spf_request *req, const char *domain, const char *spec, int exp,
               char *out, size_t outlen, char *err, size_t errlen);

#endif
