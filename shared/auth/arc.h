/*
 * arc - Authenticated Received Chain verification (RFC 8617 section 5.2);
 * sealing is dkim_sign.h's dkim_sign_arc().
 *
 * One struct arc per message, fed as dkim.h's verifier is: header fields,
 * end of headers, body chunks, end of message. The ARC sets are collected
 * and their structure checked at the end of the headers; the newest
 * ARC-Message-Signature and every ARC-Seal are then verified by the DKIM
 * engine (dkim_add()), keys asked for through the same struct
 * dkim_resolver. rsa-sha256 and ed25519-sha256; rsa-sha1 and RSA keys
 * under 1024 bits are refused as for DKIM (RFC 8301).
 *
 * Limits: ARC_MAX_SETS sets (RFC 8617 section 5.2 step 1), and at most
 * ARC_MAX_FIELDS ARC header fields looked at; more is a failed chain.
 */
#ifndef MOAT_ARC_H
#define MOAT_ARC_H

#include "auth/dkim.h"

#define ARC_MAX_SETS DKIM_ARC_INSTANCES
#define ARC_MAX_FIELDS (3 * ARC_MAX_SETS)

/* The Chain Validation Status (RFC 8617 section 4.4). */
enum arc_status { ARC_NONE, ARC_PASS, ARC_FAIL };

/* Why a chain failed, which picks Rspamd's symbol. */
enum arc_why {
	ARC_WHY_NONE,
	ARC_WHY_STRUCTURE, /* sets incomplete, repeated, out of range, i=1 not cv=none: ARC_INVALID
	                    */
	ARC_WHY_SIGNATURE, /* a signature or seal does not verify, cv=fail: ARC_REJECT */
	ARC_WHY_DNS,       /* a key could not be fetched: ARC_DNSFAIL */
};

struct arc_result {
	enum arc_status status;
	enum arc_why why;
	int instances;    /* N, the highest instance seen (0 when there is none) */
	char reason[160]; /* for a failure, in Rspamd's words where Rspamd has them */
	char domain[DKIM_DOMAIN_MAX + 1]; /* the newest seal's d= and s= (pass) */
	char selector[DKIM_SELECTOR_MAX + 1];
};

struct arc;
/* Called once when the verdict is in. */
typedef void arc_done_cb(void *arg, struct arc *a);

/* A verification of one message (p as for DKIM; max_sigs is not used). */
struct arc *arc_new(const struct dkim_params *p);
/* Free it (NULL is fine), lookups in flight or not. */
void arc_free(struct arc *a);
/* One header field as on the wire, as dkim_header(). */
void arc_header(struct arc *a, const char *field, size_t len);
/* End of headers: collect and check the sets, ask r for the keys. done runs once. */
void arc_eoh(struct arc *a, const struct dkim_resolver *r, arc_done_cb *done, void *arg);
/* A chunk of the body. */
void arc_body(struct arc *a, const char *p, size_t len);
/* End of message. */
void arc_eom(struct arc *a);
/* Whether the verdict is in. */
int arc_done(const struct arc *a);
/* The verdict (meaningful once arc_done()). */
const struct arc_result *arc_result(const struct arc *a);
/* "none", "pass", "fail" (RFC 8617 section 4.4). */
const char *arc_status_str(enum arc_status s);
/*
 * Rspamd's symbol for the verdict: ARC_ALLOW ("d:s=selector:i=N"), ARC_REJECT,
 * ARC_INVALID or ARC_DNSFAIL (the reason), or ARC_NA.
 */
void arc_symbols(const struct arc *a, dkim_symbol_fn *fn, void *arg);

/* The i= of an ARC-Authentication-Results value (1 to ARC_MAX_SETS), or -1. */
int arc_aar_instance(const char *v, size_t len);
/* The i= of an AMS or seal value, its cv= into *cv and d= into d (DKIM_DOMAIN_MAX + 1), or -1. */
int arc_tag_instance(const char *v, size_t len, enum dkim_cv *cv, char *d);

#endif
