/*
 * actions - a verdict turned into what Postfix does with the message:
 * the reply, the headers added or changed, the subject rewritten; and
 * X-Moat-Policy taken in; see actions.h.
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "auth/dkim_sign.h"
#include "auth/spf_item.h"
#include "cf.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/sbuf.h"
#include "greylist_msg.h"
#include "mail/hdrsafe.h"
#include "mail/polhdr.h"
#include "scan/scan.h"
#include "workers.h"

/*
 * Every header value the filter writes goes through here: values quote the
 * message (subjects, URL hosts) and settings, and a stray CR or LF would
 * let them end the header and start another. libmilter wants folds as LF + TAB.
 */
/* change: 0 adds at the end, 1 replaces the first of that name, 2 inserts at the top. */
int set_header(SMFICTX *ctx, const char *name, const char *value, int change)
{
	struct cf_conn *c = smfi_getpriv(ctx);
	struct sbuf sb;
	int rc;

	sbuf_init(&sb);
	/* With SMFIP_HDR_LEADSPC (milter.c) the MTA writes the value as given after the colon. */
	if (c && (c->proto & SMFIP_HDR_LEADSPC))
		sbuf_putc(&sb, ' ');
	hdrsafe_value(&sb, value);
	/* A rewritten Subject is what gets signed (signing.h). */
	if (change == 1 && c && c->dkim)
		dkim_sign_change(c->dkim, name, 1, sbuf_cstr(&sb));
	else if (change == 0 && c && c->dkim)
		dkim_sign_header(c->dkim, name, strlen(name), sb.data, sb.len);
	if (change == 2)
		rc = smfi_insheader(ctx, 0, (char *)name, (char *)sbuf_cstr(&sb));
	else if (change)
		rc = smfi_chgheader(ctx, (char *)name, 1, (char *)sbuf_cstr(&sb));
	else
		rc = smfi_addheader(ctx, (char *)name, (char *)sbuf_cstr(&sb));
	sbuf_free(&sb);
	return rc == MI_SUCCESS ? 0 : -1;
}

int add_header(SMFICTX *ctx, const char *name, const char *value)
{
	return set_header(ctx, name, value, 0);
}


/* What the first X-Moat-Policy that verifies brought (NULL ref: none wanted); see actions.h. */
void take_policy_header(SMFICTX *ctx, struct cf_conn *c, const struct rules_ref *ref,
			struct policy_taken *pt, const char *qid)
{
	char why[200];
	int used = 0;

	if (pt) {
		pt->symbols[0] = '\0';
		pt->delayed = -1;
		pt->spf_given = 0;
	}
	for (int i = 0; i < c->npolicy && i < MAX_POLICY_HDRS; i++) {
		if (used)
			continue;
		if (ref == NULL || pt == NULL)
			break;
		if (polhdr_verify(ref->key, c->client, (long)time(NULL), 3600, c->policy[i],
				  pt->symbols, sizeof(pt->symbols), why, sizeof(why)) == 0) {
			/* The wait is the last item; the SPF verdict stands before it. */
			pt->delayed = polhdr_take_greylist(pt->symbols);
			pt->spf_given = spf_item_take(pt->symbols, &pt->spf);
			if (pt->spf_given < 0)
				msg_warn("%s: ignoring the SPF verdict in %s: not understood", qid,
					 POLHDR_NAME);
			else if (pt->spf_given)
				msg_debug("%s: SPF from moat-policyd: spf=%s, domain=%s, mechanism=%s",
					  qid, spf_result_str(pt->spf.result), pt->spf.domain,
					  pt->spf.mechanism[0] ? pt->spf.mechanism : "-");
			pt->spf_given = pt->spf_given > 0;
			used = 1;
		} else {
			msg_info("%s: ignoring an %s header: %s", qid, POLHDR_NAME, why);
		}
	}
	for (int i = c->npolicy; i >= 1; i--)
		smfi_chgheader(ctx, POLHDR_NAME, i, NULL);
}

/* X-Greylist for a message moat-policyd delayed, which its own PREPEND could not carry. */
void add_greylist_header(SMFICTX *ctx, long delayed)
{
	const struct conf *cfn = conf_now(NULL);
	const char *tmpl = conf_str(cfn, "greylist_header");
	const char *colon = strchr(tmpl, ':');
	char host[sizeof(my_hostname)], name[128];
	struct sbuf sb;

	if (delayed < 0 || colon == NULL || colon == tmpl || (size_t)(colon - tmpl) >= sizeof(name))
		return;
	pthread_mutex_lock(&conf_mu);
	snprintf(host, sizeof(host), "%s", my_hostname);
	pthread_mutex_unlock(&conf_mu);
	sbuf_init(&sb);
	polhdr_greylist_header(colon + 1 + strspn(colon + 1, " "), delayed, host, &sb);
	snprintf(name, sizeof(name), "%.*s", (int)(colon - tmpl), tmpl);
	/* At the top, where moat-policyd's PREPEND would have put it. */
	set_header(ctx, name, sbuf_cstr(&sb), 2);
	sbuf_free(&sb);
}

/* Subject for "rewrite subject": the pattern with %s replaced by the old subject. */
static void rewrite_subject(SMFICTX *ctx, const struct rules_ref *ref, const char *old)
{
	const char *pat = scan_rules_setting(ref->r, "subject_rewrite");
	const char *pct = strstr(pat, "%s");
	struct sbuf sb;

	sbuf_init(&sb);
	if (pct) {
		sbuf_append(&sb, pat, (size_t)(pct - pat));
		sbuf_puts(&sb, old);
		sbuf_puts(&sb, pct + 2);
	} else {
		sbuf_printf(&sb, "%s %s", pat, old);
	}
	if (set_header(ctx, "Subject", sbuf_cstr(&sb), 1) < 0)
		add_header(ctx, "Subject", sbuf_cstr(&sb));
	sbuf_free(&sb);
}

/*
 * The headers of Rspamd's milter_headers routines that the milter_headers
 * setting turns on, in Rspamd's formats: X-Spamd-Bar, X-Rspamd-Queue-Id
 * (Postfix's queue ID, when it sent one), X-Rspamd-Server (myhostname).
 */
void add_rspamd_headers(SMFICTX *ctx, const struct scan_rules *r, const struct scan_result *res,
			const char *queue_id)
{
	unsigned want = scan_rules_headers(r);
	char host[sizeof(my_hostname)];
	struct sbuf bar;

	if (want & SCAN_HDR_SERVER) {
		pthread_mutex_lock(&conf_mu);
		memcpy(host, my_hostname, sizeof(host));
		pthread_mutex_unlock(&conf_mu);
		add_header(ctx, "X-Rspamd-Server", host);
	}
	if ((want & SCAN_HDR_QUEUE_ID) && queue_id && *queue_id)
		add_header(ctx, "X-Rspamd-Queue-Id", queue_id);
	if (want & SCAN_HDR_BAR) {
		sbuf_init(&bar);
		scan_spamd_bar(res->score, &bar);
		add_header(ctx, "X-Spamd-Bar", sbuf_cstr(&bar));
		sbuf_free(&bar);
	}
}

sfsistat internal_error(SMFICTX *ctx, const char *qid, const char *why)
{
	msg_error("%s: %s; %s the message", qid, why, error_accepts ? "accepting" : "tempfailing");
	if (error_accepts)
		return SMFIS_ACCEPT;
	smfi_setreply(ctx, "451", "4.3.0", "Temporary content filter problem, try again later");
	return SMFIS_TEMPFAIL;
}

/*
 * The greylist action, decided; 1 if the message is to be held (451).
 * Local mail is never held. Other mail is held until it comes back after
 * greylist_delay; let through, it gets Rspamd's answer: the action drops
 * to "no action" and GREYLIST(0.00)[pass] joins the symbols (Rspamd's
 * greylist module: disable_action), so history, statistics and
 * X-Rspamd-Action tell held mail from mail let through. With the greylist
 * state unavailable, milter_error_action decides: -1 to tempfail.
 */
int greylist_decide(struct cf_conn *c, struct greylist_msg *gl, const struct rules_ref *ref,
		    struct scan_result *res, const char *qid, char *why, size_t whylen)
{
	long long waited;
	int g;

	if (c->local) {
		snprintf(why, whylen, "not greylisted: %s", c->local);
		res->action = "no action";
		return 0;
	}
	g = gl ? greylist_msg_check(gl, c, strcmp(qid, "NOQUEUE") ? qid : NULL, greylist_delay,
				   &waited)
	       : -1;
	if (g == 0) {
		snprintf(why, whylen, "greylisted (a retry is accepted in %llds)",
			 greylist_delay - waited);
		scan_add_weighted(res, ref->r, "GREYLIST", 0.0, "greylisted");
		return 1;
	}
	if (g < 0) {
		/* An internal error like any other: milter_error_action decides. */
		msg_warn("%s: greylist state unavailable; %s", qid,
			 error_accepts ? "accepting" : "tempfailing");
		snprintf(why, whylen, "greylist state unavailable (%s)",
			 error_accepts ? "let through" : "tempfail");
		scan_add_weighted(res, ref->r, "GREYLIST", 0.0, "unavailable");
		if (!error_accepts)
			return -1;
		res->action = "no action";
		return 0;
	}
	res->action = "no action";
	snprintf(why, whylen, "greylisting passed after %llds", waited);
	scan_add_weighted(res, ref->r, "GREYLIST", 0.0, "pass");
	return 0;
}

sfsistat act(SMFICTX *ctx, const struct rules_ref *ref, const struct scan_result *res, int held,
	     const char *subject)
{
	const char *spam = scan_rules_setting(ref->r, "spam_header");
	const char *colon = strchr(spam, ':');

	if (strcmp(res->action, "reject") == 0) {
		char why[sizeof(res->least_reason)];

		/* Rspamd's proxy answers GTUBE with its smtp_message, "Gtube pattern". */
		snprintf(why, sizeof(why), "%s",
			 res->reply[0] ? res->reply
			 : res->forced ? "Gtube pattern"
			 : res->least  ? res->least_reason
				       : "Message rejected as spam");
		smfi_setreply(ctx, "554", "5.7.1", why);
		return SMFIS_REJECT;
	}
	if (strcmp(res->action, "soft reject") == 0) {
		char text[300];

		snprintf(text, sizeof(text), "Try again later: %s", res->soft_reason);
		smfi_setreply(ctx, "451", "4.7.1", text);
		return SMFIS_TEMPFAIL;
	}
	if (held < 0) {
		smfi_setreply(ctx, "451", "4.3.0", "Temporary content filter problem, try again later");
		return SMFIS_TEMPFAIL;
	}
	if (held) {
		smfi_setreply(ctx, "451", "4.7.1", "Greylisted, please try again later");
		return SMFIS_TEMPFAIL;
	}
	if (strcmp(res->action, "rewrite subject") == 0)
		rewrite_subject(ctx, ref, subject);
	if ((strcmp(res->action, "add header") == 0 || strcmp(res->action, "rewrite subject") == 0) &&
	    colon) {
		char name[128];

		snprintf(name, sizeof(name), "%.*s", (int)(colon - spam), spam);
		add_header(ctx, name, colon + 1 + strspn(colon + 1, " "));
	}
	return SMFIS_CONTINUE;
}
