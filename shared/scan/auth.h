/*
 * auth - what the authentication checks found for one message, handed from
 * check to check and out to the milter: SPF and DKIM (check_auth.c) feed
 * DMARC (check_dmarc.c); ARC (check_arc.c) stands beside them; all of it
 * feeds the Authentication-Results header the milter writes (RFC 8601).
 *
 * The scanner gives every check a zeroed one (scan_ctx.auth) and hands it
 * to the caller in scan_result.auth. A field is meaningful only once its
 * *_checked flag is set: a check that was skipped (local or authenticated
 * mail, module off, no DNS) leaves its part as it was.
 */
#ifndef MOAT_SCAN_AUTH_H
#define MOAT_SCAN_AUTH_H

#include "auth/dkim.h"
#include "auth/spf.h"

#define SCAN_AUTH_WORD 16

struct scan_auth {
	/* SPF (check_auth.c, or moat-policyd's verdict carried in X-Moat-Policy) */
	int spf_checked;
	struct spf_outcome spf; /* spf.domain: the MAIL FROM (or HELO) domain checked */

	/* DKIM (check_auth.c): the verdict on each signature, topmost first */
	int dkim_checked;
	int ndkim;
	struct dkim_sig_result dkim[DKIM_MAX_SIGS];
	char dkim_b[DKIM_MAX_SIGS][9]; /* the first 8 characters of each b= (RFC 6008 header.b) */

	/* The RFC 5322.From domain, lower case; "" when absent or not exactly one. */
	char from_domain[DKIM_DOMAIN_MAX + 1];

	/* DMARC (check_dmarc.c) */
	int dmarc_checked;
	char dmarc_result[SCAN_AUTH_WORD]; /* RFC 8601: pass, fail, none, temperror, permerror */
	char dmarc_policy[SCAN_AUTH_WORD]; /* the policy that applies: none, quarantine, reject */
	char dmarc_domain[DKIM_DOMAIN_MAX + 1]; /* the domain whose record applied */

	/* ARC (check_arc.c) */
	int arc_checked;
	char arc_result[SCAN_AUTH_WORD]; /* RFC 8617: pass, fail, none */
	int arc_instances;               /* the highest i= seen */
	int arc_dnsfail;                 /* "fail" only for want of a key (ARC_DNSFAIL) */
};

#endif
