/*
 * dmarc - DMARC policy evaluation (RFC 7489, and RFC 9989 "DMARCbis"):
 * does the RFC5322.From domain's published policy accept what SPF and DKIM
 * found, and if not, what does it ask for?
 *
 * Two ways to the Organizational Domain, one setting (dmarc_org_domain):
 * the RFC 9989 DNS Tree Walk (section 4.10: at most 8 queries per walk,
 * psd= tags), or the Public Suffix List through libpsl with RFC 7489's
 * discovery (section 6.6.3: the From domain, then its registrable domain).
 * The first reads RFC 9989 throughout (t= honoured, pct= ignored), the
 * second RFC 7489 (pct= sampled, t= and psd= ignored); np= (RFC 9091) in
 * both. Lookups go through any asynchronous TXT resolver (dmarc_resolver;
 * dmarc_resolver_dns() adapts shared/dns's cached dns_query) and those of
 * one walk go out together. Reports (rua=, ruf=) are parsed and kept, not
 * sent.
 */
#ifndef MOAT_DMARC_H
#define MOAT_DMARC_H

#include <stddef.h>

#include "auth/dkim.h"
#include "auth/spf.h"
#include "dns/dns.h"

#define DMARC_NAME_MAX 254 /* a domain name, text, with its NUL */
#define DMARC_WALK_MAX 8   /* queries of one tree walk (RFC 9989 4.10) */
#define DMARC_URIS_MAX 256 /* rua= or ruf= text kept (longer is cut) */
#define DMARC_TAGS_MAX 64  /* tags read from one record; the rest are ignored */
#define DMARC_REASON_MAX 400
#define DMARC_OPT_LEN (DMARC_NAME_MAX + DMARC_REASON_MAX + 8) /* one symbol option */

enum dmarc_policy { DMARC_P_UNSET, DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

/* A parsed DMARC record (RFC 7489 6.3, RFC 9989 4.7). */
struct dmarc_record {
	enum dmarc_policy p, sp, np; /* sp, np: DMARC_P_UNSET when absent */
	int adkim_strict, aspf_strict;
	int pct;     /* 0-100; 100 when absent or not a number in range */
	int testing; /* t=y */
	char psd;    /* 'y', 'n' or 'u' (absent or unknown) */
	char fo[16], rf[16];
	long ri; /* seconds; 86400 when absent */
	char rua[DMARC_URIS_MAX], ruf[DMARC_URIS_MAX];
	int rua_as_none; /* p, sp or np was bad but rua= is valid: read as p=none (9989 4.10.1) */
};

/*
 * Parse one TXT record. 1: a DMARC record, in *r. 0: not one (it does not
 * start with v=DMARC1), to be ignored. -1: a DMARC record with a tag whose
 * value is invalid (adkim, aspf, or p/sp/np without a valid rua= to fall
 * back on), the reason in err as Rspamd words it ("p tag has invalid
 * value: x"): Rspamd's DMARC_BAD_POLICY. Unknown tags are ignored, as are
 * tags past DMARC_TAGS_MAX; the record is at most DNS_RR_TXT_MAX bytes.
 */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r, char *err,
                       size_t errlen);

/* The names one tree walk from domain queries (with "_dmarc." in front): 1 to DMARC_WALK_MAX. */
int dmarc_walk_names(const char *domain, char names[][DMARC_NAME_MAX]);

/* The registrable domain of domain by the Public Suffix List (itself when it is a suffix). */
void dmarc_org_psl(const char *domain, char *out, size_t outlen);

/* Where answers come from: any asynchronous DNS query; cb may run before query() returns. */
struct dmarc_resolver {
	void (*query)(void *ctx, const char *name, int type, dns_query_cb *cb, void *arg);
	void *ctx;
};
/* A resolver over shared/dns's cached dns_query. */
void dmarc_resolver_dns(struct dmarc_resolver *r, struct dns *d);

/* What one message gives the evaluation. Strings are copied. */
struct dmarc_request {
	const char *from_domain; /* the RFC5322.From domain */
	int treewalk;            /* 1: RFC 9989 tree walk; 0: PSL and RFC 7489 */
	int spf_checked;
	enum spf_result spf;
	const char *spf_domain; /* the SPF-authenticated identifier (MAIL FROM, or HELO if null) */
	int ndkim;              /* DKIM verdicts, at most DKIM_MAX_SIGS */
	enum dkim_result dkim[DKIM_MAX_SIGS];
	const char *dkim_domain[DKIM_MAX_SIGS];
	int coin; /* 1-100 drawn by the caller, for pct= sampling (RFC 7489 6.6.4) */
};

/* RFC 8601 dmarc= results. */
enum dmarc_result { DMARC_NONE, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy policy;      /* what the record asks for this domain (p, sp or np) */
	enum dmarc_policy disposition; /* what to apply: policy, less after pct= or t=y */
	int sampled_out;               /* pct= took the disposition one step down */
	int testing;                   /* t=y took it one step down */
	int spf_aligned, dkim_aligned; /* an aligned pass */
	int timed_out;                 /* temperror: a lookup had no answer in time */
	char domain[DMARC_NAME_MAX];   /* whose record applies (Rspamd's policy domain) */
	char org_domain[DMARC_NAME_MAX];
	char reason[DMARC_REASON_MAX]; /* fail: Rspamd's reasons ("No valid SPF, DKIM not aligned
	                     (relaxed)"); none, temperror, permerror: what went wrong */
	int queries;                   /* distinct DNS queries asked */
	int rounds;                    /* times the check waited for answers */
};

/* Called once per check with the outcome, possibly before dmarc_check() returns. */
typedef void dmarc_cb(void *arg, const struct dmarc_outcome *o);

struct dmarc_check;
/* Evaluate req; a handle while lookups are in flight, or NULL when cb has already run. */
struct dmarc_check *dmarc_check(const struct dmarc_resolver *r, const struct dmarc_request *req,
                                dmarc_cb *cb, void *arg);
/* Stop a check: its callback never runs; freed once its lookups come back. */
void dmarc_cancel(struct dmarc_check *c);

/* "none", "quarantine", "reject" ("" for unset). */
const char *dmarc_policy_str(enum dmarc_policy p);
/* "none", "pass", "fail", "temperror", "permerror". */
const char *dmarc_result_str(enum dmarc_result r);

#define DMARC_OPT_MAX 3
/*
 * Rspamd's symbol for an outcome (DMARC_POLICY_ALLOW, _REJECT, _QUARANTINE,
 * _SOFTFAIL, DMARC_NA, DMARC_BAD_POLICY, DMARC_DNSFAIL) and its options, as
 * dmarc.lua writes them: [domain, policy] on ALLOW; ["domain : reason",
 * policy] and "sampled_out" (or "t=y") on a failure; the reason alone on
 * NA, BAD_POLICY and a lookup's DNSFAIL. Returns the number of options.
 */
int dmarc_symbol(const struct dmarc_outcome *o, const char **symbol,
                 char opts[DMARC_OPT_MAX][DMARC_OPT_LEN]);

#endif
