/*
 * check_auth - SPF (RFC 7208) and DKIM (RFC 6376) of one message, in the
 * scanning thread, on its own resolver (check_rbl.h's struct scan_dns):
 * both run at once on the thread's event loop and the check waits for
 * both, at most AUTH_WAIT_FACTOR x dns_timeout (Rspamd gives SPF 4 x its
 * DNS timeout). What they find goes into ctx->auth for DMARC and the
 * Authentication-Results header, and into Rspamd's symbols.
 *
 * SPF is skipped when moat-policyd already judged it at RCPT (its verdict
 * comes in in->spf_given), and both are skipped for local mail unless
 * auth_check_local = yes, as Rspamd skips them for local networks and
 * authenticated users. The modules rows "spf" and "dkim" turn each off.
 *
 * DKIM reads the header fields as they came (in->raw: simple
 * canonicalization needs their bytes), not the parser's unfolded ones. Key
 * records go through dns.c's TXT cache (answers kept for their TTL).
 *
 * soft_reject_on_timeout: only a lookup that got no answer in time counts
 * (DNS_Q_TIMEOUT, or the wait running out), as Rspamd's task timeout; a
 * SERVFAIL is the sender's broken DNS and only gives the *FAIL symbols.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>

#include "auth/dkim.h"
#include "auth/spf.h"
#include "core/evloop.h"
#include "core/mem.h"
#include "dns/dns.h"
#include "mail/mime.h"
#include "scan/auth.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/result.h"
#include "scan/rules.h"

#define AUTH_WAIT_FACTOR 4
#define DKIM_JITTER 300      /* clock skew allowed on t= and x=, seconds */
#define HDR_LINES_MAX 100000 /* lines of a header section walked (mime.c keeps 1000 fields) */

struct key_lookup;

/* One message's checks in flight. */
struct auth_run {
	struct evloop *ev;
	struct dns *dns;
	struct spf_check *spf;
	int spf_wait;
	struct spf_outcome spf_out;
	struct dkim *dk;
	struct key_lookup *keys[DKIM_MAX_SIGS]; /* key lookups without an answer yet */
	int timed_out;                          /* some lookup had no answer in time */
	long long wait_ms;                      /* how long the check waits */
	long long deadline;                     /* CLOCK_MONOTONIC ms */
	int expired;
};

/* A DKIM key lookup through the cached dns_query(); outlives the run if abandoned. */
struct key_lookup {
	struct auth_run *run; /* NULL once abandoned at the deadline */
	dkim_txt_cb *cb;
	void *arg;
};

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void key_forget(struct auth_run *run, struct key_lookup *l)
{
	for (int i = 0; i < DKIM_MAX_SIGS; i++)
		if (run->keys[i] == l)
			run->keys[i] = NULL;
}

static void on_key_answer(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct key_lookup *l = arg;
	struct auth_run *run = l->run;
	const char *txt = "";
	size_t len = 0;
	enum dkim_dns st = DKIM_DNS_TEMPFAIL;

	(void)name;
	(void)type;
	if (run == NULL) {
		free(l);
		return;
	}
	key_forget(run, l);
	if (a->status == DNS_Q_OK && a->nrr > 0) {
		st = DKIM_DNS_OK;
		/* Cut short: something the key parser refuses, never a different key. */
		txt = a->rr[0].truncated ? ";" : a->rr[0].str;
		len = a->rr[0].truncated ? 1 : a->rr[0].len;
	} else if (a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA) {
		st = DKIM_DNS_NOTFOUND;
	} else if (a->status == DNS_Q_TIMEOUT) {
		run->timed_out = 1;
	}
	l->cb(l->arg, st, txt, len);
	free(l);
	evloop_stop(run->ev);
}

/* struct dkim_resolver's lookup over dns.c's TXT cache. */
static void key_lookup(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	struct auth_run *run = ctx;
	struct key_lookup *l = xcalloc(1, sizeof(*l));
	int slot = -1;

	for (int i = 0; i < DKIM_MAX_SIGS && slot < 0; i++)
		if (run->keys[i] == NULL)
			slot = i;
	if (slot < 0) {
		/* dkim.c asks once per signature, at most DKIM_MAX_SIGS: not reached. */
		free(l);
		cb(arg, DKIM_DNS_TEMPFAIL, "", 0);
		return;
	}
	l->run = run;
	l->cb = cb;
	l->arg = arg;
	run->keys[slot] = l;
	dns_query(run->dns, name, DNS_T_TXT, on_key_answer, l);
}

static void on_spf(void *arg, const struct spf_outcome *o)
{
	struct auth_run *run = arg;

	run->spf_out = *o;
	run->spf_wait = 0;
	run->spf = NULL;
	/* spf.c's get() words a lookup without an answer "DNS timeout for NAME". */
	if (o->result == SPF_TEMPERROR && strncmp(o->problem, "DNS timeout", 11) == 0)
		run->timed_out = 1;
	evloop_stop(run->ev);
}

static void on_dkim(void *arg, struct dkim *dk)
{
	struct auth_run *run = arg;

	(void)dk;
	evloop_stop(run->ev);
}

/* The loop's tick: how long it may sleep before the deadline; at it, stop. */
static int deadline_tick(void *arg)
{
	struct auth_run *run = arg;
	long long left = run->deadline - now_ms();

	if (left > 0)
		return left > 1000000 ? 1000000 : (int)left;
	run->expired = 1;
	evloop_stop(run->ev);
	return 0;
}

/* The wait ran out: what is still out is a timeout. */
static void expire(struct auth_run *run)
{
	run->timed_out = 1;
	if (run->spf_wait) {
		spf_cancel(run->spf);
		run->spf = NULL;
		run->spf_wait = 0;
		run->spf_out.result = SPF_TEMPERROR;
		snprintf(run->spf_out.problem, sizeof(run->spf_out.problem),
		         "DNS timeout: no verdict within %lld ms", run->wait_ms);
	}
	for (int i = 0; i < DKIM_MAX_SIGS; i++) {
		struct key_lookup *l = run->keys[i];

		if (l == NULL)
			continue;
		/* Its answer, if it ever comes, frees it and goes nowhere. */
		run->keys[i] = NULL;
		l->run = NULL;
		l->cb(l->arg, DKIM_DNS_TEMPFAIL, "", 0);
	}
}

/* Start SPF for the transaction; run->spf_wait while it is out. */
static void auth_spf_start(struct auth_run *run, const struct scan_input *in)
{
	struct spf_request req = {.ip = in->client_ip,
	                          .helo = in->helo,
	                          .sender = in->mail_from ? in->mail_from : "",
	                          .receiver = NULL};

	run->spf_wait = 1;
	run->spf = spf_check(run->dns, &req, on_spf, run);
}

/* Whether s is an IPv4 or IPv6 address: SPF needs the client's. */
static int is_ip(const char *s)
{
	unsigned char buf[16];

	return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

/* Where the header section of raw starts: after an mbox "From " line. */
static size_t header_start(const char *p, size_t len)
{
	const char *nl;

	if (len >= 5 && memcmp(p, "From ", 5) == 0 && (nl = memchr(p, '\n', len)) != NULL)
		return (size_t)(nl - p) + 1;
	return 0;
}

/*
 * Feed dk the header fields of raw as they came (a line and its
 * continuation lines, without the last line end) and return where the
 * body starts. Bounded: each turn moves past one line, at most
 * HDR_LINES_MAX of them.
 */
static size_t feed_headers(struct dkim *dk, const char *p, size_t len)
{
	size_t i = header_start(p, len), start = i, end = i;
	int lines = 0, open = 0;

	while (i < len && lines++ < HDR_LINES_MAX) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t eol = nl ? (size_t)(nl - p) : len, next = nl ? eol + 1 : len;
		size_t content = eol > i && p[eol - 1] == '\r' ? eol - 1 : eol;

		if (content == i) {
			/* The empty line: end of headers. */
			if (open)
				dkim_header(dk, p + start, end - start);
			return next;
		}
		if (p[i] == ' ' || p[i] == '\t') {
			if (open)
				end = content;
		} else {
			if (open)
				dkim_header(dk, p + start, end - start);
			start = i;
			end = content;
			open = 1;
		}
		i = next;
	}
	if (open)
		dkim_header(dk, p + start, end - start);
	return len;
}

/* The first 8 characters of the b= of each DKIM-Signature, topmost first (RFC 6008). */
static void b_tags(const struct msg *m, struct scan_auth *a)
{
	int k = 0;

	for (int i = 0; i < m->root->nheaders && k < DKIM_MAX_SIGS; i++) {
		const struct msg_header *h = &m->root->headers[i];
		struct dkim_taglist *tl;
		char err[64];
		size_t n = 0;

		if (strcasecmp(h->name, "DKIM-Signature") != 0)
			continue;
		tl = xmalloc(sizeof(*tl));
		if (dkim_taglist_parse(h->raw, strlen(h->raw), tl, err, sizeof(err)) == 0)
			for (int t = 0; t < tl->n; t++) {
				if (tl->t[t].nlen != 1 || tl->t[t].name[0] != 'b')
					continue;
				for (size_t j = 0; j < tl->t[t].vlen && n < 8; j++)
					if (!isspace((unsigned char)tl->t[t].val[j]))
						a->dkim_b[k][n++] = tl->t[t].val[j];
			}
		a->dkim_b[k][n] = '\0';
		free(tl);
		k++;
	}
}

/*
 * The domain of the one RFC 5322.From address, lower case, into out; ""
 * when there is no From, more than one, or a list of more than one
 * address (DMARC then has no domain to judge, RFC 7489 6.6.1).
 */
static void from_domain(const struct msg *m, char *out, size_t size)
{
	const struct msg_header *h;
	const char *v, *addr, *end, *at = NULL;
	int quote = 0, angle = 0, paren = 0, n = 0;
	size_t dlen;

	out[0] = '\0';
	if (msg_header_count(m->root, "From") != 1 || (h = msg_header(m->root, "From")) == NULL)
		return;
	v = h->raw;
	addr = v;
	end = v + strlen(v);
	/* One pass over the value: a comma outside quotes, <> and comments is a second address. */
	for (const char *p = v; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '"' && !paren) {
			quote = !quote;
		} else if (quote) {
			continue;
		} else if (*p == '(') {
			paren++;
		} else if (*p == ')' && paren) {
			paren--;
		} else if (paren) {
			continue;
		} else if (*p == '<' && !angle) {
			angle = 1;
			addr = p + 1;
			at = NULL;
		} else if (*p == '>' && angle) {
			angle = 0;
			end = p;
			n++;
		} else if (*p == '@' && (angle || n == 0)) {
			at = p;
		} else if (*p == ',' && !angle) {
			return;
		}
	}
	if (at == NULL || at < addr || at >= end)
		return;
	at++;
	/* The domain: up to a blank, a comment or the end. */
	for (dlen = 0; at + dlen < end && (isalnum((unsigned char)at[dlen]) || at[dlen] == '.' ||
	                                   at[dlen] == '-' || at[dlen] == '_');
	     dlen++)
		;
	if (dlen == 0 || dlen >= size)
		return;
	for (size_t i = 0; i < dlen; i++)
		out[i] = (char)tolower((unsigned char)at[i]);
	while (dlen > 0 && out[dlen - 1] == '.')
		dlen--;
	out[dlen] = '\0';
}

static void add_dkim_symbol(void *arg, const char *symbol, const char *option)
{
	const struct scan_ctx *ctx = arg;

	scan_add(ctx->res, ctx->rules, symbol, option);
}

static void add_spf_symbol(const struct scan_ctx *ctx, const struct spf_outcome *o)
{
	char opt[SPF_TEXT_MAX + 8];
	const char *sym = spf_symbol(o, opt, sizeof(opt));

	scan_add(ctx->res, ctx->rules, sym, opt[0] ? opt : NULL);
}

/* Start DKIM over the raw message; run->dk until its verdicts are in. */
static void auth_dkim_start(struct auth_run *run, const struct scan_input *in)
{
	struct dkim_params p = {
	    .now = time(NULL), .jitter = DKIM_JITTER, .max_sigs = DKIM_MAX_SIGS};
	struct dkim_resolver r = {.lookup = key_lookup, .ctx = run};
	size_t body;

	run->dk = dkim_new(&p);
	body = feed_headers(run->dk, in->raw, in->len);
	dkim_eoh(run->dk, &r, on_dkim, run);
	if (body < in->len)
		dkim_body(run->dk, in->raw + body, in->len - body);
	dkim_eom(run->dk);
}

static void auth_run(const struct scan_ctx *ctx)
{
	const struct scan_input *in = ctx->in;
	struct scan_dns *sd = ctx->env->dns;
	struct scan_auth *a = ctx->auth;
	struct auth_run run;
	int do_spf, do_dkim;

	from_domain(ctx->msg, a->from_domain, sizeof(a->from_domain));
	do_spf = scan_rules_module(ctx->rules, "spf");
	do_dkim = scan_rules_module(ctx->rules, "dkim") && !in->truncated;
	if (do_spf && in->spf_given) {
		/* Judged at RCPT by moat-policyd: the same verdict, not asked twice. */
		a->spf = *in->spf_given;
		a->spf_checked = 1;
		add_spf_symbol(ctx, &a->spf);
		do_spf = 0;
	}
	if (sd == NULL || (in->local && !scan_dns_auth_local(sd)))
		return;
	do_spf = do_spf && is_ip(in->client_ip);
	if (!do_spf && !do_dkim)
		return;
	memset(&run, 0, sizeof(run));
	run.dns = scan_dns_resolver(sd, &run.ev);
	run.wait_ms = (long long)AUTH_WAIT_FACTOR * scan_dns_timeout_ms(sd);
	run.deadline = now_ms() + run.wait_ms;
	if (do_spf)
		auth_spf_start(&run, in);
	if (do_dkim)
		auth_dkim_start(&run, in);
	if (run.spf_wait || (run.dk && !dkim_done(run.dk))) {
		evloop_tick(run.ev, deadline_tick, &run);
		/* Bounded: the deadline tick stops the loop for good; a broken loop gives up. */
		while (!run.expired && (run.spf_wait || (run.dk && !dkim_done(run.dk))))
			if (evloop_run(run.ev) < 0)
				break;
		evloop_untick(run.ev, deadline_tick, &run);
		if (run.spf_wait || (run.dk && !dkim_done(run.dk)))
			expire(&run);
	}
	if (do_spf) {
		a->spf = run.spf_out;
		a->spf_checked = 1;
		add_spf_symbol(ctx, &a->spf);
	}
	if (run.dk) {
		a->dkim_checked = 1;
		a->ndkim = dkim_nresults(run.dk);
		for (int i = 0; i < a->ndkim && i < DKIM_MAX_SIGS; i++)
			a->dkim[i] = *dkim_result(run.dk, i);
		b_tags(ctx->msg, a);
		dkim_symbols(run.dk, add_dkim_symbol, (void *)ctx);
		dkim_free(run.dk);
	}
	if (run.timed_out && scan_dns_soft_reject(sd) && !ctx->res->soft_reject) {
		ctx->res->soft_reject = 1;
		snprintf(ctx->res->soft_reason, sizeof(ctx->res->soft_reason),
		         "DNS lookup for %s timed out",
		         do_spf && a->spf.result == SPF_TEMPERROR ? "SPF" : "a DKIM key");
	}
}

/* The modules rows "spf" and "dkim" turn each half off (auth_run asks). */
const struct check check_auth = {.name = "auth", .module = NULL, .run = auth_run};
