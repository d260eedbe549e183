/*
 * milter - the libmilter callbacks (Postfix MILTER_README) and the state of
 * one SMTP connection; see milter.h. The callbacks only gather the
 * transaction: end of message hands it to the scanner (scan/scan.h), then
 * to the actions (actions.h), the history (history.h) and, for the
 * greylist action, message greylisting (greylist_msg.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "actions.h"
#include "auth/dkim_sign.h"
#include "cf.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "core/text.h"
#include "history.h"
#include "maps/localmail.h"
#include "mail/mime.h"
#include "mail/polhdr.h"
#include "milter.h"
#include "scan/authres.h"
#include "scan/bayes.h"
#include "scan/scan.h"
#include "signing.h"
#include "workers.h"

static struct cf_conn *conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/*
 * Every verdict is taken at end of message, so the steps before it need no
 * answer: where Postfix agreed to send them without waiting (SMFIP_NR_*),
 * a step answers nothing, which spares a round trip per header and per
 * command. A step that fails there cannot tempfail at once; it marks the
 * connection and end of message tempfails instead.
 */
static sfsistat step_done(const struct cf_conn *c, unsigned long nr_flag)
{
	return c && (c->proto & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat step_failed(struct cf_conn *c, unsigned long nr_flag)
{
	if (c == NULL || !(c->proto & nr_flag))
		return SMFIS_TEMPFAIL;
	c->failed = 1;
	return SMFIS_NOREPLY;
}

static struct cf_conn *conn_new(SMFICTX *ctx)
{
	struct cf_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		msg_error("out of memory for a new connection; tempfailing");
		return NULL;
	}
	sbuf_init(&c->raw);
	smfi_setpriv(ctx, c);
	return c;
}

/*
 * Protocol options, once per SMTP connection: the steps we take without
 * answering, the one we do not need at all (unknown commands), and the
 * macros we read, so Postfix sends no others.
 *
 * DATA is kept, and answered, on purpose. Postfix sends its DATA macros
 * in any case; without the DATA command after them nothing of ours goes
 * back, so our side delays its ACK (up to 40 ms) while Postfix's first
 * header waits behind the unacknowledged macros (Nagle): one such stall
 * per message cut a single SMTP session to 21 messages a second. The
 * answer to DATA carries the ACK: 208 a second.
 */
static sfsistat cf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	const unsigned long steps = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
				    SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY |
				    SMFIP_NOUNKNOWN | SMFIP_SKIP | SMFIP_HDR_LEADSPC;
	struct cf_conn *c;

	(void)f2;
	(void)f3;
	if ((f0 & actions) != actions) {
		msg_error("the MTA does not allow adding and changing headers; refusing it");
		return SMFIS_REJECT;
	}
	if ((c = conn_new(ctx)) == NULL)
		return SMFIS_REJECT;
	*pf0 = actions | (f0 & SMFIF_SETSYMLIST);
	*pf1 = f1 & steps;
	*pf2 = *pf3 = 0;
	c->proto = *pf1;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, "{client_addr}");
		smfi_setsymlist(ctx, SMFIM_HELO, "{tls_version}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

/*
 * Messages in flight: from their first header to their verdict. A stop
 * waits for them (up to STOP_DRAIN_SECONDS) before the process ends, so a
 * SIGTERM does not cut off a scan that is almost done. The count starts
 * only when Postfix sends the content, which it does once the client has
 * sent all of it: the wait is for scans, not for slow clients.
 */
static pthread_mutex_t flight_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flight_cv = PTHREAD_COND_INITIALIZER;
static int flight_count;
static int flight_closed;	/* stopping: messages that start now are not waited for */

static void flight_begin(struct cf_conn *c)
{
	pthread_mutex_lock(&flight_mu);
	if (!flight_closed) {
		c->in_flight = 1;
		flight_count++;
	}
	pthread_mutex_unlock(&flight_mu);
}

static void flight_end(struct cf_conn *c)
{
	if (c == NULL || !c->in_flight)
		return;
	pthread_mutex_lock(&flight_mu);
	c->in_flight = 0;
	if (--flight_count == 0)
		pthread_cond_broadcast(&flight_cv);
	pthread_mutex_unlock(&flight_mu);
}

/* See milter.h. */
int milter_drain(void)
{
	struct timespec until;
	int left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_DRAIN_SECONDS;
	pthread_mutex_lock(&flight_mu);
	flight_closed = 1;
	while (flight_count > 0 &&
	       pthread_cond_timedwait(&flight_cv, &flight_mu, &until) != ETIMEDOUT)
		;
	left = flight_count;
	pthread_mutex_unlock(&flight_mu);
	return left;
}

static void conn_reset_message(struct cf_conn *c)
{
	flight_end(c);
	c->from[0] = '\0';
	for (int i = 0; i < c->nrcpt; i++)
		free(c->rcpts[i]);
	c->nrcpt = 0;
	for (int i = 0; i < c->npolicy && i < MAX_POLICY_HDRS; i++)
		free(c->policy[i]);
	c->npolicy = 0;
	sbuf_free(&c->raw);
	c->size = 0;
	c->failed = 0;
	c->auth[0] = '\0';
	c->local = NULL;
	c->skip = 0;
	dkim_sign_free(c->dkim);
	c->dkim = NULL;
	c->nar = c->nar_ours = 0;
}


static sfsistat cf_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct cf_conn *c = conn_of(ctx);
	const char *addr = smfi_getsymval(ctx, "{client_addr}");

	if (c == NULL && (c = conn_new(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	/* Postfix passes the client's address here; macros are not sent by default. */
	c->port = -1;
	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->client,
			  sizeof(c->client));
		c->port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->client,
			  sizeof(c->client));
		c->port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
	} else {
		snprintf(c->client, sizeof(c->client), "%s",
			 addr ? addr : (host ? host : "unknown"));
	}
	snprintf(c->client_name, sizeof(c->client_name), "%s", host ? host : "");
	return step_done(c, SMFIP_NR_CONN);
}

static sfsistat cf_helo(SMFICTX *ctx, char *helo)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_HELO);
	snprintf(c->helo, sizeof(c->helo), "%s", helo ? helo : "");
	c->tls = smfi_getsymval(ctx, "{tls_version}") != NULL;
	return step_done(c, SMFIP_NR_HELO);
}

/*
 * "<a@b>" as the envelope address a@b. Only the outer brackets go: a quoted
 * local part may hold '>' ("<\"x>y\"@b>"), and the address is kept whole.
 */
static void strip_brackets(char *dst, size_t size, const char *addr)
{
	size_t len;

	if (addr == NULL)
		addr = "";
	len = strlen(addr);
	if (*addr == '<') {
		addr++;
		len--;
		if (len > 0 && addr[len - 1] == '>')
			len--;
	}
	if (len >= size)
		len = size - 1;
	memcpy(dst, addr, len);
	dst[len] = '\0';
}

static sfsistat cf_envfrom(SMFICTX *ctx, char **argv)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_MAIL);
	conn_reset_message(c);
	strip_brackets(c->from, sizeof(c->from), argv[0]);
	{
		const char *auth = smfi_getsymval(ctx, "{auth_authen}");

		snprintf(c->auth, sizeof(c->auth), "%s", auth ? auth : "");
	}
	pthread_mutex_lock(&conf_mu);
	c->local = localmail_reason(local_nets, c->client, c->port, c->auth, c->local_buf,
				    sizeof(c->local_buf));
	snprintf(c->ar_id, sizeof(c->ar_id), "%s",
		 *conf_str(cf, "authserv_id") ? conf_str(cf, "authserv_id") : my_hostname);
	c->ar_add = conf_bool(cf, "authentication_results");
	pthread_mutex_unlock(&conf_mu);
	c->skip = c->local && !scan_local;
	if ((c->sign = signing_wanted(c)) != 0)
		c->dkim = dkim_sign_new();
	return step_done(c, SMFIP_NR_MAIL);
}

static sfsistat cf_envrcpt(SMFICTX *ctx, char **argv)
{
	struct cf_conn *c = conn_of(ctx);
	char rcpt[320];

	if (c == NULL)
		return step_failed(c, SMFIP_NR_RCPT);
	if (c->nrcpt < MAX_RCPTS) {
		strip_brackets(rcpt, sizeof(rcpt), argv[0]);
		c->rcpts[c->nrcpt++] = xstrdup(rcpt);
	}
	return step_done(c, SMFIP_NR_RCPT);
}

static void append_limited(struct cf_conn *c, const void *p, size_t len)
{
	size_t limit = scan_limit;	/* once: SIGHUP may change it meanwhile */

	if (!c->in_flight)
		flight_begin(c);
	c->size += len;
	if (c->raw.len >= limit)
		return;
	if (len > limit - c->raw.len)
		len = limit - c->raw.len;
	sbuf_append(&c->raw, p, len);
}

static sfsistat cf_header(SMFICTX *ctx, char *name, char *value)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_HDR);
	if (strcasecmp(name, POLHDR_NAME) == 0) {
		/* Kept aside, not scanned as part of the message, and removed at the end. */
		if (c->npolicy < MAX_POLICY_HDRS)
			c->policy[c->npolicy] = xstrdup(value + strspn(value, " \t"));
		c->npolicy++;
		return step_done(c, SMFIP_NR_HDR);
	}
	if (c->dkim)
		dkim_sign_header(c->dkim, name, strlen(name), value, strlen(value));
	/* One that claims to be ours is forged (or a loop): removed at the end (RFC 8601 5). */
	if (strcasecmp(name, "Authentication-Results") == 0) {
		if (authres_is_ours(value, strlen(value), c->ar_id) && c->nar_ours++ < MAX_AR_OURS)
			c->ar_ours[c->nar_ours - 1] = c->nar + 1;
		c->nar++;
	}
	/* Unscanned local mail: only the Subject, for the log and the history row. */
	if (c->skip && strcasecmp(name, "Subject") != 0) {
		c->size += strlen(name) + strlen(value) + 3;
		return step_done(c, SMFIP_NR_HDR);
	}
	/* With SMFIP_HDR_LEADSPC the value is as written after the colon: DKIM needs its bytes. */
	append_limited(c, name, strlen(name));
	append_limited(c, (c->proto & SMFIP_HDR_LEADSPC) ? ":" : ": ",
		       (c->proto & SMFIP_HDR_LEADSPC) ? 1 : 2);
	append_limited(c, value, strlen(value));
	append_limited(c, "\n", 1);
	return step_done(c, SMFIP_NR_HDR);
}

static sfsistat cf_eoh(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_EOH);
	append_limited(c, "\n", 1);
	return step_done(c, SMFIP_NR_EOH);
}

static sfsistat cf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return step_failed(c, SMFIP_NR_BODY);
	/* A message to sign needs all of its body: never skipped. */
	if (c->dkim)
		dkim_sign_body(c->dkim, (const char *)chunk, len);
	if (c->skip) {
		c->size += len;
		return c->proto & SMFIP_SKIP && !c->dkim ? SMFIS_SKIP : step_done(c, SMFIP_NR_BODY);
	}
	append_limited(c, chunk, len);
	/* Past the scan limit the rest is only counted: let Postfix stop sending it. */
	if (c->size > scan_limit && (c->proto & SMFIP_SKIP) && !c->dkim)
		return SMFIS_SKIP;
	return step_done(c, SMFIP_NR_BODY);
}


static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}


/* Copy s into out, cut at a character boundary: a UTF-8 sequence is never split. */
static void utf8_copy(char *out, size_t size, const char *s)
{
	size_t n = text_utf8_cut(s, strlen(s), size - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

/* The decoded Subject and the From of a message not scanned, from the parser. */
static void headers_of(const struct cf_conn *c, char *subject, size_t size, char *from,
		       char *from_name, size_t fsize)
{
	struct mime_limits lim;
	const struct msg_header *h;
	struct msg *m;
	char addr[256], name[256];

	mime_limits_default(&lim);
	m = msg_parse(c->raw.data ? c->raw.data : "", c->raw.len, &lim);
	h = m ? msg_header(m->root, "Subject") : NULL;
	utf8_copy(subject, size, h ? h->value : "");
	addr[0] = name[0] = '\0';
	if (m)
		scan_header_from(m, addr, sizeof(addr), name, sizeof(name));
	utf8_copy(from, fsize, addr);
	utf8_copy(from_name, fsize, name);
	msg_free(m);
}

/*
 * Remove the incoming Authentication-Results that claim our authserv-id,
 * last first: Postfix counts an index among the headers of that name left.
 */
static void remove_our_authres(SMFICTX *ctx, const struct cf_conn *c, const char *qid)
{
	for (int i = c->nar_ours < MAX_AR_OURS ? c->nar_ours : MAX_AR_OURS; i > 0; i--)
		smfi_chgheader(ctx, "Authentication-Results", c->ar_ours[i - 1], NULL);
	if (c->nar_ours > 0)
		msg_info("%s: removed %d Authentication-Results header%s claiming authserv-id %s",
			 qid, c->nar_ours, c->nar_ours > 1 ? "s" : "", c->ar_id);
}

/* Authentication-Results (authentication_results = yes), at the top as a trace header. */
static void add_authres(SMFICTX *ctx, const struct cf_conn *c, const struct scan_result *res)
{
	struct authres_tx tx = {.mail_from = c->from, .helo = c->helo, .client_ip = c->client,
				.auth_user = c->auth[0] ? c->auth : NULL};
	struct sbuf v;

	if (!c->ar_add || res->auth == NULL)
		return;
	sbuf_init(&v);
	authres_format(c->ar_id, res->auth, &tx, &v);
	set_header(ctx, "Authentication-Results", sbuf_cstr(&v), 2);
	sbuf_free(&v);
}

/* Local mail with scan_local = no: no headers, no score; a log line and a history row say so. */
static sfsistat skip_local(SMFICTX *ctx, struct cf_conn *c, const char *qid)
{
	char subject[256], why[300], from[256], from_name[256];

	remove_our_authres(ctx, c, qid);
	take_policy_header(ctx, c, NULL, NULL, qid);
	headers_of(c, subject, sizeof(subject), from, from_name, sizeof(from));
	snprintf(why, sizeof(why), "not scanned: %s (scan_local = no)", c->local);
	msg_info("%s: client=%s, from=<%s>, nrcpt=%d, size=%zu, action=skipped, reason=%s", qid,
		 c->client, c->from, c->nrcpt, c->size, why);
	history_add(qid, c, "skipped", 0.0, "", subject, from, from_name, why, 0.0, NULL, 0, 0);
	signing_eom(ctx, c, qid, NULL);
	conn_reset_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat eom_scan(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);
	const char *q = smfi_getsymval(ctx, "i");
	char qid[64], subject[256] = "", why[300] = "", from[256], from_name[256];
	struct timespec t0;
	struct scan_result res;
	struct policy_taken pt;
	struct scan_input in;
	struct scan_env env;
	struct rules_ref *ref;
	struct sbuf hdr;
	struct worker *w;
	sfsistat rc;
	unsigned gen;
	int held = 0;
	uint64_t *tok = NULL, msgid = 0;
	size_t ntok = 0;

	snprintf(qid, sizeof(qid), "%s", q ? q : "NOQUEUE");
	if (c == NULL)
		return internal_error(ctx, qid, "no connection state");
	if (c->failed) {
		conn_reset_message(c);
		return internal_error(ctx, qid, "a step before end of message failed");
	}
	/*
	 * moat-policyd adds one X-Moat-Policy. Thousands are forged, and removing
	 * each costs Postfix a walk over all headers (quadratic: 100,000 of them
	 * stalled cleanup past its timeout). Tempfail such a message unscanned.
	 */
	if (c->npolicy > MAX_POLICY_HDRS) {
		msg_warn("%s: more than %d %s headers; tempfailing the message", qid,
			 MAX_POLICY_HDRS, POLHDR_NAME);
		conn_reset_message(c);
		smfi_setreply(ctx, "451", "4.7.0", "Too many " POLHDR_NAME " headers");
		return SMFIS_TEMPFAIL;
	}
	/* The same for forged Authentication-Results: each removal walks all headers. */
	if (c->nar_ours > MAX_AR_OURS) {
		msg_warn("%s: more than %d Authentication-Results headers claim authserv-id %s; "
			 "tempfailing the message", qid, MAX_AR_OURS, c->ar_id);
		conn_reset_message(c);
		smfi_setreply(ctx, "451", "4.7.0", "Too many Authentication-Results headers");
		return SMFIS_TEMPFAIL;
	}
	/* Before the database checks: the site's own mail flows while it is broken. */
	if (c->skip)
		return skip_local(ctx, c, qid);
	if (history_db_unwritable()) {
		conn_reset_message(c);
		return internal_error(ctx, qid, "the database takes no writes");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((w = worker_get()) == NULL)
		return internal_error(ctx, qid, "database unavailable");
	if ((ref = rules_get(w->db)) == NULL) {
		worker_put(w);
		return internal_error(ctx, qid, "rules unavailable");
	}
	/* DNS lists follow the rules: re-read when they were. */
	gen = rules_generation_now();
	if (w->sd && w->generation != gen) {
		if (w->generation != (unsigned)-1)
			scan_dns_reload(w->sd, w->db);
		w->generation = gen;
	}
	memset(&in, 0, sizeof(in));
	in.raw = c->raw.data ? c->raw.data : "";
	in.len = c->raw.len;
	in.client_ip = c->client;
	in.client_name = c->client_name;
	in.helo = c->helo;
	in.mail_from = c->from;
	in.rcpts = (const char *const *)c->rcpts;
	in.nrcpts = c->nrcpt;
	in.tls = c->tls;
	in.local = c->local != NULL;
	in.auth_user = c->auth[0] ? c->auth : NULL;
	/* Before the scan: moat-policyd's SPF verdict spares the checks a second look. */
	take_policy_header(ctx, c, ref, &pt, qid);
	in.spf_given = pt.spf_given ? &pt.spf : NULL;
	in.truncated = c->raw.len < c->size;
	in.size = c->size;
	in.queue_id = qid;
	env.bayes = w->bayes;
	env.dns = w->sd;
	env.clamav = w->clam;
	scan_result_init(&res);
	scan_message(ref->r, &env, &in, &res);
	/* After it: GTUBE, found by the scan, drops the symbols of RCPT too. */
	scan_add_policy(&res, ref->r, pt.symbols);
	if (c->size > scan_limit)
		scan_add(&res, ref->r, "MOAT_TOO_BIG", NULL);
	scan_finish(&res, ref->r);
	/* Before autolearn, which ends the scan's claim on them: the tokens for the history. */
	if (w->bayes == NULL || history_tokens_max_age <= 0 ||
	    bayes_scanned_tokens(w->bayes, &tok, &ntok, &msgid) < 0)
		tok = NULL;
	if (w->bayes)
		bayes_autolearn(w->bayes, ref->r, res.score, qid);
	if (strcmp(res.action, "greylist") == 0)
		held = greylist_decide(c, w->gl, ref, &res, qid, why, sizeof(why));
	sbuf_init(&hdr);
	scan_spamd_result(&res, &hdr, 78);
	add_header(ctx, "X-Spamd-Result", sbuf_cstr(&hdr));
	add_header(ctx, "X-Rspamd-Action", res.action);
	add_rspamd_headers(ctx, ref->r, &res, q);
	remove_our_authres(ctx, c, qid);
	add_authres(ctx, c, &res);
	/* The Subject as the parser read it: unfolded, as written for the rewrite, decoded for the
	 * log and history. */
	snprintf(subject, sizeof(subject), "%s", res.subject_raw ? res.subject_raw : "");
	rc = act(ctx, ref, &res, held, subject);
	utf8_copy(subject, sizeof(subject), res.subject ? res.subject : "");
	utf8_copy(from, sizeof(from), res.from);
	utf8_copy(from_name, sizeof(from_name), res.from_name);
	if (rc == SMFIS_CONTINUE)
		add_greylist_header(ctx, pt.delayed);
	/* Last: the signatures cover every header added or changed above. */
	if (rc == SMFIS_CONTINUE)
		signing_eom(ctx, c, qid, res.auth);
	sbuf_reset(&hdr);
	scan_spamd_result(&res, &hdr, 0);
	msg_info("%s: client=%s, from=<%s>, nrcpt=%d, size=%zu, score=%.2f/%.2f, action=%s%s%s,"
		 "%s%s%s symbols=%s, scan=%.3fms",
		 qid, c->client, c->from, c->nrcpt, c->size, res.score, res.required, res.action,
		 rc == SMFIS_TEMPFAIL ? " (tempfail)" : "",
		 !res.forced ? "" : res.reply[0] ? " (forced by ClamAV)" : " (forced by GTUBE)",
		 why[0] ? " reason=" : "", why, why[0] ? "," : "", sbuf_cstr(&hdr), ms_since(&t0));
	history_add(qid, c, res.action, res.score, sbuf_cstr(&hdr), subject, from, from_name, why,
		    ms_since(&t0), tok, ntok, msgid);
	worker_put(w);
	sbuf_free(&hdr);
	scan_result_free(&res);
	rules_put(ref);
	conn_reset_message(c);
	return rc;
}

/* End of message: the verdict; every way out of eom_scan() ends the flight. */
static sfsistat cf_eom(SMFICTX *ctx)
{
	sfsistat rc = eom_scan(ctx);

	flight_end(conn_of(ctx));
	return rc;
}

static sfsistat cf_abort(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);

	if (c)
		conn_reset_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat cf_close(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);

	if (c) {
		conn_reset_message(c);
		free(c);
	}
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
	.xxfi_name = "moat-contentfilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
	.xxfi_connect = cf_connect,
	.xxfi_helo = cf_helo,
	.xxfi_envfrom = cf_envfrom,
	.xxfi_envrcpt = cf_envrcpt,
	.xxfi_header = cf_header,
	.xxfi_eoh = cf_eoh,
	.xxfi_body = cf_body,
	.xxfi_eom = cf_eom,
	.xxfi_abort = cf_abort,
	.xxfi_close = cf_close,
	.xxfi_negotiate = cf_negotiate,
};
