/*
 * check_hfilter - the part of Rspamd's hfilter (src/plugins/lua/hfilter.lua,
 * 3.4) that needs the message: URL-only bodies, the Message-ID's host and
 * a bounce to more than one recipient. The HELO, host name and sender
 * domain checks are moat-policyd's, at RCPT (policyd/hfilter.c).
 *
 * HFILTER_URL_ONLY: in the last HTML text part, else the last plain one,
 * the URLs take more than 0.8 of the text's bytes; its weight is scaled
 * by (ratio - 0.8) x 5, at most 1, as Rspamd scales it. HFILTER_URL_ONELINE
 * besides when the text has one line by Rspamd's count (the line breaks
 * that have text after them, and empty lines: "a\nb\n" is 1, a single
 * line is 0). The URLs are counted as Rspamd counts them: the ones found
 * in the text and the addresses (a@b.example is a mailto: URL in Rspamd),
 * and in HTML also the links whose visible text is a URL, which are then
 * counted twice (Rspamd 3.4 does, so a one-link HTML body is 2.0, capped).
 *
 * HFILTER_MID_*: the Message-ID's part after its one '@' (none for no '@'
 * or two, nor for a host holding "local", as Rspamd) must be an FQDN with
 * an A or AAAA record or an MX record, and an MX must have an address.
 * Off unless the module option hfilter mid_enabled is true: Rspamd's
 * default. HFILTER_RCPT_BOUNCEMOREONE: a bounce (the null sender, or
 * postmaster@) to more than one recipient.
 *
 * Where moat differs: a lookup that fails or times out gives no symbol
 * (Rspamd counts it as "no records"), so a DNS fault never weighs on
 * mail; and the null sender is a bounce, as hfilter.lua means it to be,
 * where Rspamd 3.4 sees "<>" as an empty address and not as a bounce.
 * The URL checks run for local mail too; the others do not (Rspamd's
 * hfilter skips local networks and authenticated users).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/domain.h"
#include "core/evloop.h"
#include "core/mem.h"
#include "core/text.h"
#include "dns/dns.h"
#include "mail/html.h"
#include "mail/mime.h"
#include "mail/url.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/content.h"
#include "scan/result.h"
#include "scan/rules.h"

#define HF_MX_MAX 8                   /* MX hosts looked up: Rspamd's MX lists are at most a few */
#define HF_PART_URLS CONTENT_MAX_URLS /* URLs counted in the text part; more are not */

/* See check.h: Rspamd's nlines (libmime/message.c, rspamd_normalize_text_part). */
int check_hfilter_lines(const char *p, size_t len, int crlf)
{
	enum { NORMAL, SEEN_CR, SEEN_LF } state = NORMAL;
	int n = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || (crlf && p[i] == '\n' && state == SEEN_LF)) {
			if (state == SEEN_CR)
				n++; /* "\r\r": an empty line */
			state = SEEN_CR;
		} else if (p[i] == '\n') {
			if (state == SEEN_LF)
				n++; /* "\n\n"; "\r\n\r\n" is not one, as in Rspamd */
			state = SEEN_LF;
		} else {
			if (state != NORMAL)
				n++; /* a line with text after a break */
			state = NORMAL;
		}
	}
	return n;
}

/*
 * The line breaks the parser made "\n" of "\r\n" in a plain part, which
 * Rspamd keeps in the text (and counts in its length): those of the raw
 * body, less quoted-printable's soft breaks. Every message through
 * Postfix has them. Not known for base64, where none are counted.
 */
static size_t crlf_count(const struct mime_part *p)
{
	int qp = p->cte && strcmp(p->cte, "quoted-printable") == 0;
	size_t n = 0;

	if (p->cte && strcmp(p->cte, "base64") == 0)
		return 0;
	for (size_t i = 1; i < p->raw_len; i++)
		if (p->raw_body[i] == '\n' && p->raw_body[i - 1] == '\r' &&
		    !(qp && i >= 2 && p->raw_body[i - 2] == '='))
			n++;
	return n;
}

/* Bytes of the URLs and addresses in text, and of the HTML links that show a URL. */
static size_t urls_length(const char *text, size_t len, const struct url_list *links)
{
	struct url_list l;
	struct email_list e;
	size_t total = 0;

	url_list_init(&l);
	email_list_init(&e);
	url_extract_text(text, len, &l, HF_PART_URLS);
	email_extract_text(text, len, &e, HF_PART_URLS);
	for (size_t i = 0; i < l.n; i++)
		total += l.v[i].span;
	for (size_t i = 0; i < e.n; i++)
		total += strlen(e.v[i]);
	for (size_t i = 0; links && i < links->n; i++) {
		const char *d = links->v[i].display;
		struct url_list dl;

		if (d == NULL || *d == '\0')
			continue;
		url_list_init(&dl);
		url_extract_text(d, strlen(d), &dl, 1);
		if (dl.n > 0)
			total += strlen(d);
		url_list_free(&dl);
	}
	url_list_free(&l);
	email_list_free(&e);
	return total;
}

static void url_checks(const struct scan_ctx *ctx)
{
	const struct mime_part *plain = NULL, *html = NULL, *p;
	struct url_list links;
	size_t plen, ulen, crlf = 0;
	char *text = NULL;
	const char *t;
	double rel, sc, w;
	char opt[64];

	for (int i = 0; i < ctx->msg->nleaves; i++) {
		p = ctx->msg->leaves[i];
		if (p->text == NULL || p->is_attachment)
			continue;
		if (strcmp(p->ctype, "text/html") == 0)
			html = p;
		else
			plain = p;
	}
	if ((p = html ? html : plain) == NULL)
		return;
	url_list_init(&links);
	if (html) {
		text = html_to_text(p->text, p->text_len, &plen, &links, HF_PART_URLS);
		t = text;
	} else {
		t = p->text;
		plen = p->text_len;
		crlf = crlf_count(p);
	}
	ulen = plen > 0 ? urls_length(t, plen, html ? &links : NULL) : 0;
	if (plen > 0 && ulen > 0 && (rel = (double)ulen / (double)(plen + crlf)) > 0.8) {
		sc = (rel - 0.8) * 5.0;
		if (sc > 1.0)
			sc = 1.0;
		snprintf(opt, sizeof(opt), "%.14g", sc);
		if (scan_rules_symbol(ctx->rules, "HFILTER_URL_ONLY", &w) == 1)
			scan_add_weighted(ctx->res, ctx->rules, "HFILTER_URL_ONLY", w * sc, opt);
		if (check_hfilter_lines(t, plen, crlf > 0) == 1) {
			snprintf(opt, sizeof(opt), "%s:%d:1", html ? "html" : "plain", (int)rel);
			scan_add(ctx->res, ctx->rules, "HFILTER_URL_ONELINE", opt);
		}
	}
	free(text);
	url_list_free(&links);
}

/* hfilter.lua's check_host for the Message-ID's host: its lookups, freed by the last answer. */
struct mid_run {
	struct evloop *ev;
	struct dns *dns;
	int pending;   /* lookups not yet answered */
	int abandoned; /* the scan stopped waiting: the last answer frees */
	char host[256];
	int answers, notfound;
	struct mid_mx {
		struct mid_run *run;
		char name[256];
		int notfound;
	} mx[HF_MX_MAX];
	int nmx;
	const char *sym; /* the symbol found, or NULL */
	char opt[256];
};

static int no_records(const struct dns_answer *a)
{
	return a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA;
}

/* One answer in: 1 if the run is still wanted, 0 when it was freed. */
static int answered(struct mid_run *r)
{
	r->pending--;
	if (r->abandoned) {
		if (r->pending == 0)
			free(r);
		return 0;
	}
	evloop_stop(r->ev);
	return 1;
}

static void found(struct mid_run *r, const char *sym, const char *opt)
{
	if (r->sym == NULL) {
		r->sym = sym;
		snprintf(r->opt, sizeof(r->opt), "%s", opt);
	}
}

/* check_host_cb_mx_a: an MX host with neither an A nor an AAAA record. */
static void on_mx_addr(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct mid_mx *m = arg;
	struct mid_run *r = m->run;

	(void)name;
	(void)type;
	if (!answered(r))
		return;
	if (no_records(a))
		m->notfound++;
	if (m->notfound == 2)
		found(r, "HFILTER_MID_NORESOLVE_MX", m->name);
}

static void on_mx(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct mid_run *r = arg;

	(void)name;
	(void)type;
	if (!answered(r))
		return;
	if (no_records(a)) {
		found(r, "HFILTER_MID_NORES_A_OR_MX", r->host);
		return;
	}
	for (int i = 0; a->status == DNS_Q_OK && i < a->nrr && r->nmx < HF_MX_MAX; i++) {
		struct mid_mx *m = &r->mx[r->nmx++];

		m->run = r;
		snprintf(m->name, sizeof(m->name), "%s", a->rr[i].str ? a->rr[i].str : "");
		if (m->name[0] && m->name[strlen(m->name) - 1] == '.')
			m->name[strlen(m->name) - 1] = '\0';
		r->pending += 2;
		dns_query(r->dns, m->name, DNS_T_A, on_mx_addr, m);
		dns_query(r->dns, m->name, DNS_T_AAAA, on_mx_addr, m);
	}
}

/* check_host_cb_a: neither an A nor an AAAA record, then the MX is asked. */
static void on_addr(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct mid_run *r = arg;

	(void)name;
	(void)type;
	if (!answered(r))
		return;
	r->answers++;
	if (no_records(a))
		r->notfound++;
	if (r->answers == 2 && r->notfound == 2) {
		r->pending++;
		dns_query(r->dns, r->host, DNS_T_MX, on_mx, r);
	}
}

/* Rspamd's task:get_message_id(): the last Message-ID, without <> and blanks. */
static const char *message_id(const struct msg *m, char *out, size_t outlen)
{
	const char *v = NULL, *e;
	size_t n = 0;

	for (int i = 0; i < m->root->nheaders; i++)
		if (strcasecmp(m->root->headers[i].name, "Message-ID") == 0)
			v = m->root->headers[i].value;
	if (v == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (v < e && *v == '<')
		v++;
	if (e > v && e[-1] == '>')
		e--;
	for (; v < e && n + 1 < outlen; v++)
		out[n++] = (*v > ' ' && *v < 0x7f) ? *v : '?';
	out[n] = '\0';
	return out;
}

static void mid_check(const struct scan_ctx *ctx)
{
	struct scan_dns *sd = ctx->env->dns;
	struct mid_run *r;
	char mid[512], host[256];
	const char *at;

	if (message_id(ctx->msg, mid, sizeof(mid)) == NULL || (at = strchr(mid, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL || strstr(at + 1, "local") != NULL)
		return;
	snprintf(host, sizeof(host), "%s", at + 1);
	for (char *p = host; *p; p++)
		*p = (char)text_lower((unsigned char)*p);
	if (!domain_is_fqdn(host)) {
		scan_add(ctx->res, ctx->rules, "HFILTER_MID_NOT_FQDN", host);
		return;
	}
	if (sd == NULL)
		return;
	r = xcalloc(1, sizeof(*r));
	r->dns = scan_dns_resolver(sd, &r->ev);
	memcpy(r->host, host, sizeof(r->host));
	r->pending = 2;
	dns_query(r->dns, r->host, DNS_T_A, on_addr, r);
	dns_query(r->dns, r->host, DNS_T_AAAA, on_addr, r);
	/* Bounded: every lookup ends by dns_timeout x dns_retries; a failure adds nothing. */
	while (r->pending > 0 && dns_pending(r->dns) > 0)
		if (evloop_run(r->ev) < 0)
			break;
	if (r->sym)
		scan_add(ctx->res, ctx->rules, r->sym, r->opt);
	if (r->pending > 0)
		r->abandoned = 1;
	else
		free(r);
}

/* From hfilter.lua: a bounce (null sender or postmaster@) to more than one recipient. */
static void rcpt_check(const struct scan_ctx *ctx)
{
	const char *from = ctx->in->mail_from, *at;
	char n[16];

	if (from == NULL || ctx->in->nrcpts < 2)
		return;
	at = strchr(from, '@');
	if (from[0] != '\0' && (at == NULL || strchr(at + 1, '@') != NULL ||
	                        (size_t)(at - from) != 10 || strncmp(from, "postmaster", 10) != 0))
		return;
	snprintf(n, sizeof(n), "%d", ctx->in->nrcpts);
	scan_add(ctx->res, ctx->rules, "HFILTER_RCPT_BOUNCEMOREONE", n);
}

static int option_on(const struct scan_rules *r, const char *name, int dflt)
{
	const char *v = scan_rules_module_option(r, "hfilter", name);

	if (*v == '\0')
		return dflt;
	return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0;
}

static void hfilter_run(const struct scan_ctx *ctx)
{
	if (option_on(ctx->rules, "url_enabled", 1))
		url_checks(ctx);
	if (ctx->in->local)
		return;
	if (option_on(ctx->rules, "rcpt_enabled", 1))
		rcpt_check(ctx);
	if (option_on(ctx->rules, "mid_enabled", 0))
		mid_check(ctx);
}

const struct check check_hfilter = {.name = "hfilter", .module = "hfilter", .run = hfilter_run};
