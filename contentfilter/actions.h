/*
 * actions - what the milter does with a scanned message (MILTER_README,
 * libmilter's smfi_* calls): the reply for reject, soft reject and
 * greylisting, the Rspamd headers, the spam header, the rewritten subject;
 * and the X-Moat-Policy header moat-policyd added, verified and removed.
 * Every header value written goes through hdrsafe (mail/hdrsafe.h).
 */
#ifndef MOAT_ACTIONS_H
#define MOAT_ACTIONS_H

#include <libmilter/mfapi.h>
#include <stddef.h>

#include "auth/spf.h"

struct cf_conn;
struct greylist_msg;
struct rules_ref;
struct scan_result;
struct scan_rules;

/* Write a header, header-safe. change: 0 adds at the end, 1 replaces the first of that name,
 * 2 inserts at the top; 0 or -1. */
int set_header(SMFICTX *ctx, const char *name, const char *value, int change);
/* Add a header at the end; 0 or -1. */
int add_header(SMFICTX *ctx, const char *name, const char *value);
/* What moat-policyd said at RCPT, from its X-Moat-Policy header. */
struct policy_taken {
	char symbols[8192];	/* its symbols, for scan_add_policy() after the scan; "" if none */
	long delayed;		/* how long greylisting held the triplet, or -1 */
	int spf_given;		/* spf holds its SPF verdict (scan_input.spf_given) */
	struct spf_outcome spf;
};

/*
 * Read the first X-Moat-Policy that verifies into pt (NULL ref or pt: none
 * wanted), before the scan, so that the checks see the SPF verdict; all of
 * them are removed.
 */
void take_policy_header(SMFICTX *ctx, struct cf_conn *c, const struct rules_ref *ref,
			struct policy_taken *pt, const char *qid);
/* X-Greylist for a message moat-policyd delayed (delayed >= 0), at the top. */
void add_greylist_header(SMFICTX *ctx, long delayed);
/* X-Spamd-Bar, X-Rspamd-Queue-Id, X-Rspamd-Server, as the milter_headers setting asks. */
void add_rspamd_headers(SMFICTX *ctx, const struct scan_rules *r, const struct scan_result *res,
			const char *queue_id);
/* Log why, then tempfail the message (or accept it: milter_error_action). */
sfsistat internal_error(SMFICTX *ctx, const char *qid, const char *why);
/*
 * The greylist action decided; 1 if the message is to be held (451), -1
 * if the greylist state is unavailable (gl NULL or a database error) and
 * milter_error_action is tempfail. Local mail is never held; mail let
 * through drops to "no action" with GREYLIST(0.00)[pass], as Rspamd's
 * greylist module does. why gets the reason for the log and history.
 */
int greylist_decide(struct cf_conn *c, struct greylist_msg *gl, const struct rules_ref *ref,
		    struct scan_result *res, const char *qid, char *why, size_t whylen);
/* The reply for the action (held from greylist_decide), and the spam header and subject
 * rewrite it asks for. */
sfsistat act(SMFICTX *ctx, const struct rules_ref *ref, const struct scan_result *res, int held,
	     const char *subject);

#endif
