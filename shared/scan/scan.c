/*
 * scan - symbols, weights, score, action and the Rspamd-style header; see
 * scan.h. The checks themselves are in checks.c.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan/bayes.h"
#include "scan/checks.h"
#include "core/cidr.h"
#include "core/conf.h"
#include "dns/dns.h"
#include "dns/dnsbl.h"
#include "core/evloop.h"
#include "scan/gtube.h"
#include "mail/url.h"
#include "core/hash.h"
#include "mail/hdrsafe.h"
#include "mail/html.h"
#include "core/log.h"
#include "core/mem.h"
#include "scan/scan.h"

struct rule_symbol {
	char *name;
	double weight;
	int enabled;
	struct rule_symbol *next;
};

#define RULE_BUCKETS 1024
#define RE_MATCH_LIMIT 1000000	/* backtracking steps: a hostile pattern or text cannot hang us */

enum re_target { RE_SUBJECT, RE_HEADER, RE_BODY, RE_RAW, RE_URL };

struct rule_re {
	char symbol[64];
	enum re_target target;
	char header[128];
	pcre2_code *re;
};

struct scan_rules {
	struct rule_symbol *buckets[RULE_BUCKETS];
	double greylist, add_header, rewrite, reject;
	struct rule_re *res;
	int nres;
	pcre2_match_context *mctx;
	char **settings;	/* name, value, name, value, ..., NULL */
	char **modules_off;	/* NULL-terminated */
	char **module_opts;	/* module, option, value, ..., NULL */
	enum gtube_policy gtube;	/* the gtube_patterns setting */
	unsigned headers;	/* the milter_headers setting, enum scan_header bits */
};

static struct rule_symbol *rule_find(const struct scan_rules *r, const char *name)
{
	for (struct rule_symbol *s = r->buckets[hash64(name, strlen(name)) % RULE_BUCKETS]; s;
	     s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static char **load_strings(sqlite3 *db, const char *sql, int cols)
{
	sqlite3_stmt *st;
	char **v = NULL;
	size_t n = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		v = xrealloc(v, (n + (size_t)cols + 1) * sizeof(*v));
		for (int i = 0; i < cols; i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			v[n++] = xstrdup(t ? (const char *)t : "");
		}
	}
	sqlite3_finalize(st);
	v = xrealloc(v, (n + 1) * sizeof(*v));
	v[n] = NULL;
	return v;
}

static double load_threshold(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	double t = HUGE_VAL;

	if (sqlite3_prepare_v2(db, "SELECT threshold FROM actions WHERE name = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return t;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		t = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return t;
}

static void load_regex(struct scan_rules *r, sqlite3 *db)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT id, symbol, target, pattern, caseless FROM rules"
				   " WHERE enabled = 1 ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	r->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(r->mctx, RE_MATCH_LIMIT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *target = (const char *)sqlite3_column_text(st, 2);
		const char *pat = (const char *)sqlite3_column_text(st, 3);
		struct rule_re x;
		int errcode;
		PCRE2_SIZE off;

		memset(&x, 0, sizeof(x));
		snprintf(x.symbol, sizeof(x.symbol), "%s", sqlite3_column_text(st, 1));
		if (strncmp(target, "header:", 7) == 0) {
			x.target = RE_HEADER;
			snprintf(x.header, sizeof(x.header), "%s", target + 7);
		} else {
			x.target = strcmp(target, "subject") == 0 ? RE_SUBJECT
				   : strcmp(target, "body") == 0  ? RE_BODY
				   : strcmp(target, "url") == 0   ? RE_URL
								  : RE_RAW;
		}
		x.re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
				     sqlite3_column_int(st, 4) ? PCRE2_CASELESS : 0, &errcode, &off,
				     NULL);
		if (x.re == NULL) {
			PCRE2_UCHAR msg[200];

			pcre2_get_error_message(errcode, msg, sizeof(msg));
			msg_warn("rules: rule %lld (%s): bad pattern at offset %zu: %s; skipped",
				 (long long)sqlite3_column_int64(st, 0), x.symbol, (size_t)off, msg);
			continue;
		}
		pcre2_jit_compile(x.re, PCRE2_JIT_COMPLETE);
		r->res = xrealloc(r->res, (size_t)(r->nres + 1) * sizeof(*r->res));
		r->res[r->nres++] = x;
	}
	sqlite3_finalize(st);
}

static int re_match(const struct scan_rules *r, const struct rule_re *x, const char *p, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(x->re, NULL);
	int rc = pcre2_match(x->re, (PCRE2_SPTR)p, len, 0, 0, md, r->mctx);

	pcre2_match_data_free(md);
	return rc >= 0;
}

void scan_rules_regex(const struct scan_rules *r, const struct scan_input *in,
		      const struct msg *m, const struct content *c, struct scan_result *res)
{
	for (int i = 0; i < r->nres; i++) {
		const struct rule_re *x = &r->res[i];
		int hit = 0;

		switch (x->target) {
		case RE_SUBJECT:
		case RE_HEADER:
			for (int k = 0; k < m->root->nheaders && !hit; k++) {
				const struct msg_header *h = &m->root->headers[k];

				if (strcasecmp(h->name, x->target == RE_SUBJECT ? "Subject" : x->header) == 0)
					hit = re_match(r, x, h->value, strlen(h->value));
			}
			break;
		case RE_BODY:
			hit = re_match(r, x, c->text.data ? c->text.data : "", c->text.len);
			break;
		case RE_RAW:
			hit = re_match(r, x, in->raw, in->len);
			break;
		case RE_URL:
			for (size_t k = 0; k < c->urls.n && !hit; k++)
				hit = re_match(r, x, c->urls.v[k].text, strlen(c->urls.v[k].text));
			break;
		}
		if (hit)
			scan_add(res, r, x->symbol, NULL);
	}
}

/*
 * The gtube_patterns setting; a bad value keeps Rspamd's default (reject).
 * The rules are reloaded every few seconds: warn once per bad value.
 */
static void load_gtube(struct scan_rules *r)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char warned[64];
	const char *v = scan_rules_setting(r, "gtube_patterns");

	if (gtube_policy_parse(v, &r->gtube) == 0)
		return;
	r->gtube = GTUBE_REJECT;
	pthread_mutex_lock(&mu);
	if (strncmp(warned, v, sizeof(warned) - 1) != 0) {
		msg_warn("settings: gtube_patterns = %.60s: not reject, all or disabled; using reject",
			 v);
		snprintf(warned, sizeof(warned), "%s", v);
	}
	pthread_mutex_unlock(&mu);
}

/* Rspamd's milter_headers routines; the two moat always writes are accepted too. */
static const struct {
	const char *name;
	unsigned bit;
} header_routines[] = {
	{"x-spamd-bar", SCAN_HDR_BAR},
	{"x-rspamd-queue-id", SCAN_HDR_QUEUE_ID},
	{"x-rspamd-server", SCAN_HDR_SERVER},
	{"x-spamd-result", 0},
	{"x-rspamd-action", 0},
};

/* The milter_headers setting: names separated by commas or spaces. */
static void load_headers(struct scan_rules *r)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char warned[64];
	const char *p = scan_rules_setting(r, "milter_headers");

	/* Each step consumes at least one byte of the setting. */
	while (*p) {
		size_t len = strcspn(p, ", \t"), i;

		for (i = 0; len && i < sizeof(header_routines) / sizeof(header_routines[0]); i++)
			if (strlen(header_routines[i].name) == len &&
			    strncasecmp(p, header_routines[i].name, len) == 0)
				break;
		if (i < sizeof(header_routines) / sizeof(header_routines[0]))
			r->headers |= header_routines[i].bit;
		else if (len) {
			pthread_mutex_lock(&mu);
			if (strlen(warned) != len || strncmp(warned, p, len) != 0) {
				msg_warn("settings: milter_headers: unknown header routine %.*s; known:"
					 " x-spamd-bar, x-rspamd-queue-id, x-rspamd-server",
					 (int)(len > 60 ? 60 : len), p);
				snprintf(warned, sizeof(warned), "%.*s", (int)(len > 60 ? 60 : len), p);
			}
			pthread_mutex_unlock(&mu);
		}
		p += len ? len : 1;
	}
}

unsigned scan_rules_headers(const struct scan_rules *r)
{
	return r->headers;
}

struct scan_rules *scan_rules_load(sqlite3 *db, char *err, size_t errlen)
{
	struct scan_rules *r = xcalloc(1, sizeof(*r));
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT name, weight, enabled FROM symbols", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot read symbols: %s", sqlite3_errmsg(db));
		free(r);
		return NULL;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct rule_symbol *s = xcalloc(1, sizeof(*s));
		size_t b;

		s->name = xstrdup((const char *)sqlite3_column_text(st, 0));
		s->weight = sqlite3_column_double(st, 1);
		s->enabled = sqlite3_column_int(st, 2);
		b = hash64(s->name, strlen(s->name)) % RULE_BUCKETS;
		s->next = r->buckets[b];
		r->buckets[b] = s;
	}
	sqlite3_finalize(st);
	r->greylist = load_threshold(db, "greylist");
	r->add_header = load_threshold(db, "add header");
	r->rewrite = load_threshold(db, "rewrite subject");
	r->reject = load_threshold(db, "reject");
	r->settings = load_strings(db, "SELECT name, value FROM settings", 2);
	r->modules_off = load_strings(db, "SELECT name FROM modules WHERE enabled = 0", 1);
	r->module_opts = load_strings(db, "SELECT module, option, value FROM module_options", 3);
	load_regex(r, db);
	if (r->settings == NULL || r->modules_off == NULL || r->module_opts == NULL) {
		snprintf(err, errlen, "cannot read settings: %s", sqlite3_errmsg(db));
		scan_rules_free(r);
		return NULL;
	}
	load_gtube(r);
	load_headers(r);
	return r;
}

static void free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void scan_rules_free(struct scan_rules *r)
{
	if (r == NULL)
		return;
	for (int b = 0; b < RULE_BUCKETS; b++)
		while (r->buckets[b]) {
			struct rule_symbol *s = r->buckets[b];

			r->buckets[b] = s->next;
			free(s->name);
			free(s);
		}
	for (int i = 0; i < r->nres; i++)
		pcre2_code_free(r->res[i].re);
	free(r->res);
	pcre2_match_context_free(r->mctx);
	free_strings(r->settings);
	free_strings(r->modules_off);
	free_strings(r->module_opts);
	free(r);
}

const char *scan_rules_setting(const struct scan_rules *r, const char *name)
{
	for (size_t i = 0; r->settings[i] && r->settings[i + 1]; i += 2)
		if (strcmp(r->settings[i], name) == 0)
			return r->settings[i + 1];
	return "";
}

double scan_rules_threshold(const struct scan_rules *r, const char *action)
{
	if (strcmp(action, "greylist") == 0)
		return r->greylist;
	if (strcmp(action, "add header") == 0)
		return r->add_header;
	if (strcmp(action, "rewrite subject") == 0)
		return r->rewrite;
	if (strcmp(action, "reject") == 0)
		return r->reject;
	return HUGE_VAL;
}

int scan_rules_module(const struct scan_rules *r, const char *name)
{
	for (size_t i = 0; r->modules_off[i]; i++)
		if (strcmp(r->modules_off[i], name) == 0)
			return 0;
	return 1;
}

const char *scan_rules_module_option(const struct scan_rules *r, const char *module,
				     const char *option)
{
	for (size_t i = 0; r->module_opts[i] && r->module_opts[i + 1] && r->module_opts[i + 2];
	     i += 3)
		if (strcmp(r->module_opts[i], module) == 0 && strcmp(r->module_opts[i + 1], option) == 0)
			return r->module_opts[i + 2];
	return "";
}

void scan_result_init(struct scan_result *res)
{
	memset(res, 0, sizeof(*res));
	res->action = "no action";
	res->required = HUGE_VAL;
}

void scan_result_free(struct scan_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		for (int k = 0; k < res->v[i].nopts; k++)
			free(res->v[i].opts[k]);
		free(res->v[i].opts);
	}
	free(res->v);
	scan_result_init(res);
}

/* One more option for s, with Rspamd's limits (rspamd_task_add_result_option). */
static void add_opt(struct scan_symbol *s, const char *opt)
{
	size_t len = strlen(opt);
	struct sbuf enc;

	if (s->opts_full || s->nopts >= SCAN_MAX_OPTS)
		return;
	if (s->optlen + len > SCAN_MAX_OPTS_LEN) {
		opt = "...";
		len = 3;
		s->opts_full = 1;
	}
	sbuf_init(&enc);
	hdrsafe_option(&enc, opt, len);
	for (int k = 0; k < s->nopts; k++)
		if (strcmp(s->opts[k], sbuf_cstr(&enc)) == 0) {
			sbuf_free(&enc);
			return;
		}
	s->opts = xrealloc(s->opts, (size_t)(s->nopts + 1) * sizeof(*s->opts));
	s->opts[s->nopts++] = xstrdup(sbuf_cstr(&enc));
	s->optlen += len;
	sbuf_free(&enc);
}

void scan_add_weighted(struct scan_result *res, const struct scan_rules *r, const char *name,
		       double weight, const char *opt)
{
	struct scan_symbol *s = NULL;

	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->v[i].name, name) == 0)
			s = &res->v[i];
	if (s == NULL) {
		if (res->n == res->cap) {
			res->cap = res->cap ? res->cap * 2 : 32;
			res->v = xrealloc(res->v, res->cap * sizeof(*res->v));
		}
		s = &res->v[res->n++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->weight = weight;
	}
	if (opt && *opt)
		add_opt(s, opt);
	(void)r;
}

void scan_add(struct scan_result *res, const struct scan_rules *r, const char *name,
	      const char *opt)
{
	const struct rule_symbol *s = rule_find(r, name);

	if (s && !s->enabled)
		return;
	scan_add_weighted(res, r, name, s ? s->weight : 0.0, opt);
}

void scan_add_policy(struct scan_result *res, const struct scan_rules *r, const char *list)
{
	const char *p = list;

	/* GTUBE skips every check, those at RCPT too, as Rspamd's skipped task. */
	if (res->forced)
		return;
	/*
	 * "NAME(w)[o,o]; NAME(w)[]": names and options; weights are ours. The
	 * policy server wrote each option through hdrsafe_option(), so a ','
	 * separates two and a ']' ends the list.
	 */
	for (int k = 0; *p && k < 64; k++) {
		char name[64], opt[1024];	/* a 272-byte option, encoded: U+FFFD is 3 bytes */
		size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		const char *lb, *rb;

		if (n == 0 || n >= sizeof(name))
			return;
		memcpy(name, p, n);
		name[n] = '\0';
		lb = strchr(p, '[');
		rb = lb ? strchr(lb, ']') : NULL;
		scan_add(res, r, name, NULL);
		for (const char *o = lb ? lb + 1 : rb; o && o < rb;) {
			size_t len = strcspn(o, ",]");

			if (len < sizeof(opt)) {
				memcpy(opt, o, len);
				opt[len] = '\0';
				scan_add(res, r, name, opt);
			}
			o += len + 1;
		}
		p = rb ? rb + 1 : p + n;
		p += strspn(p, "; ");
	}
}

static int by_weight(const void *a, const void *b)
{
	const struct scan_symbol *x = a, *y = b;
	double wx = fabs(x->weight), wy = fabs(y->weight);

	if (wx != wy)
		return wx > wy ? -1 : 1;
	return strcmp(x->name, y->name);
}

void scan_finish(struct scan_result *res, const struct scan_rules *r)
{
	res->score = 0;
	for (size_t i = 0; i < res->n; i++)
		res->score += res->v[i].weight;
	if (res->n > 1)
		qsort(res->v, res->n, sizeof(*res->v), by_weight);
	res->required = r->reject;
	if (res->forced) {
		/* Rspamd's passthrough result: the action's threshold is the score. */
		res->action = res->forced;
		if (strcmp(res->forced, "no action") != 0)
			res->score = scan_rules_threshold(r, res->forced);
		return;
	}
	res->action = "no action";
	if (res->soft_reject && res->score < r->reject)
		res->action = "soft reject";
	else if (res->score >= r->reject)
		res->action = "reject";
	else if (res->score >= r->rewrite)
		res->action = "rewrite subject";
	else if (res->score >= r->add_header)
		res->action = "add header";
	else if (res->score >= r->greylist)
		res->action = "greylist";
}

void scan_symbol_opts(const struct scan_symbol *s, struct sbuf *out, const char *sep)
{
	for (int k = 0; k < s->nopts; k++) {
		if (k)
			sbuf_puts(out, sep);
		sbuf_puts(out, s->opts[k]);
	}
}

void scan_spamd_result(const struct scan_result *res, struct sbuf *out, int fold)
{
	int is_reject = strcmp(res->action, "reject") == 0;

	sbuf_printf(out, "default: %s [%.2f / %.2f]", is_reject ? "True" : "False", res->score,
		    isinf(res->required) ? 0.0 : res->required);
	for (size_t i = 0; i < res->n; i++) {
		/* Rspamd joins with "; " and folds after every ';' (lua_util.fold_header). */
		sbuf_puts(out, fold ? ";\n\t" : "; ");
		sbuf_printf(out, "%s(%.2f)[", res->v[i].name, res->v[i].weight);
		scan_symbol_opts(&res->v[i], out, ",");
		sbuf_putc(out, ']');
	}
}

void scan_spamd_bar(double score, struct sbuf *out)
{
	/* Rspamd (milter_headers.lua): string.rep(glyph, math.floor(|score|)). */
	double n = floor(fabs(score));

	if (score > -1 && score < 1) {
		sbuf_putc(out, '/');
		return;
	}
	for (int i = 0; i < n && i < SCAN_BAR_MAX; i++)
		sbuf_putc(out, score > 0 ? '+' : '-');
}

struct scan_dns {
	struct evloop *ev;
	struct dns *dns;
	struct dnsbl *bl;
	int soft_reject;
	char key[128];
};

struct scan_dns *scan_dns_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen)
{
	struct scan_dns *sd = xcalloc(1, sizeof(*sd));
	struct dns_params p;

	dns_params_from_conf(cf, &p);
	p.cache_size /= 16;	/* one cache per milter thread */
	sd->soft_reject = conf_bool(cf, "soft_reject_on_timeout");
	if ((sd->ev = evloop_new()) == NULL || (sd->dns = dns_new(sd->ev, &p, err, errlen)) == NULL ||
	    (sd->bl = dnsbl_new(db, conf_str(cf, "abusix_key"), err, errlen)) == NULL) {
		scan_dns_free(sd);
		return NULL;
	}
	return sd;
}

void scan_dns_reload(struct scan_dns *sd, sqlite3 *db)
{
	char err[512];

	if (sd && dnsbl_reload(sd->bl, db, err, sizeof(err)) < 0)
		msg_warn("%s", err);
}

void scan_dns_free(struct scan_dns *sd)
{
	if (sd == NULL)
		return;
	dns_free(sd->dns);
	dnsbl_free(sd->bl);
	evloop_free(sd->ev);
	free(sd);
}

/* Addresses that say nothing about the sender's reputation. */
static int private_ip(const struct ip_addr *ip)
{
	static const char *nets[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
				     "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8", "::1/128",
				     "fc00::/7", "fe80::/10"};

	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		struct cidr c;

		if (cidr_parse(nets[i], strlen(nets[i]), &c) == 0 && cidr_match(&c, ip))
			return 1;
	}
	return 0;
}

/* The relays' IPs: the bracketed address of each Received "from" clause. */
static void received_targets(const struct msg *m, const struct scan_input *in,
			     struct dnsbl_job *job)
{
	int seen = 0;

	for (int k = 0; k < m->root->nheaders && seen < 16; k++) {
		const struct msg_header *h = &m->root->headers[k];
		const char *lb, *rb;
		struct ip_addr ip;

		if (strcasecmp(h->name, "Received") != 0)
			continue;
		seen++;
		for (lb = strchr(h->value, '['); lb; lb = strchr(lb + 1, '[')) {
			rb = strchr(lb, ']');
			if (rb == NULL || rb - lb > 60)
				break;
			if (ip_parse(lb + 1, (size_t)(rb - lb - 1), &ip) < 0 && rb - lb > 6 &&
			    strncasecmp(lb + 1, "IPv6:", 5) == 0 &&
			    ip_parse(lb + 6, (size_t)(rb - lb - 6), &ip) < 0)
				continue;
			if (ip.family == 0 || private_ip(&ip))
				break;
			{
				char txt[IP_TEXT_MAX];

				/* Our own Postfix's hop is the client: the policy server checked it. */
				ip_format(&ip, txt, sizeof(txt));
				if (!(seen == 1 && in->client_ip && strcmp(txt, in->client_ip) == 0))
					dnsbl_job_ip(job, &ip, DNSBL_RECEIVED);
			}
			break;
		}
	}
}

static void url_targets(const struct content *c, struct dnsbl_job *job)
{
	int n = 0;

	for (size_t i = 0; i < c->urls.n && n < 20; i++) {
		const struct url *u = &c->urls.v[i];
		struct ip_addr ip;

		if (u->host_is_ip) {
			if (url_host_ip(u->host, strlen(u->host), &ip) == 0 && !private_ip(&ip)) {
				dnsbl_job_ip(job, &ip, DNSBL_URL);
				n++;
			}
		} else if (u->host) {
			dnsbl_job_domain(job, u->host, DNSBL_URL);
			n++;
		}
	}
}

static void on_job_done(void *arg, struct dnsbl_job *job)
{
	evloop_stop(arg);
}

/* Run the DNS lists for the message's relays and URLs; wait for the answers. */
static void scan_dns_run(const struct scan_rules *r, struct scan_dns *sd,
			 const struct scan_input *in, const struct msg *m,
			 const struct content *c, struct scan_result *res)
{
	struct dnsbl_job *job;
	const struct dnsbl_hit *h;
	const char *failed;
	int timed_out;
	size_t n;

	if (!scan_rules_module(r, "rbl") || dnsbl_zone_count(sd->bl) == 0)
		return;
	job = dnsbl_job_new(sd->bl, sd->dns, on_job_done, sd->ev);
	received_targets(m, in, job);
	url_targets(c, job);
	dnsbl_job_run(job);
	if (dns_pending(sd->dns) > 0)
		evloop_run(sd->ev);
	n = dnsbl_job_hits(job, &h);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < (h[i].nopts ? h[i].nopts : 1); k++)
			scan_add(res, r, h[i].symbol, h[i].nopts ? h[i].opts[k] : NULL);
	failed = dnsbl_job_failed(job, &timed_out);
	if (failed && sd->soft_reject) {
		res->soft_reject = 1;
		snprintf(res->soft_reason, sizeof(res->soft_reason), "DNS lookup at %s %s", failed,
			 timed_out ? "timed out" : "failed");
	}
	dnsbl_job_free(job);
}

/*
 * GTUBE in the text parts, as Rspamd: the first part with a spam pattern
 * decides, and the symbol GTUBE (weight 0) is added; a part whose first
 * pattern is the "no action" one adds no symbol and forces nothing, but
 * later parts are still looked at. Any pattern skips the other checks. A
 * pattern whose action is off adds the symbol and forces nothing. 1 if any.
 */
static int scan_gtube(const struct scan_rules *r, const struct msg *m, struct scan_result *res)
{
	int found = 0;

	for (int i = 0; i < m->nleaves; i++) {
		const struct mime_part *p = m->leaves[i];
		const char *text = p->text, *action;
		size_t len = p->text_len;
		char *reduced = NULL;
		enum gtube_kind k;

		/*
		 * Rspamd looks at the text an HTML part shows, and its 8 KiB bound is
		 * on that: a webmail's markup around the string is often more. Only a
		 * part that has "GTUBE" at all is reduced, once more than the checks do.
		 */
		if (text && (strcmp(p->ctype, "text/html") == 0 ||
			     strcmp(p->ctype, "application/xhtml+xml") == 0)) {
			if (r->gtube == GTUBE_DISABLED || memmem(text, len, "GTUBE", 5) == NULL)
				continue;
			text = reduced = html_to_text(p->text, p->text_len, &len, NULL, 0);
		}
		k = gtube_find(text, len, r->gtube);
		free(reduced);
		if ((action = gtube_action(k)) == NULL)
			continue;
		found = 1;
		if (k == GTUBE_FOR_NO_ACTION)
			continue;
		scan_add_weighted(res, r, "GTUBE", 0, NULL);
		if (!isinf(scan_rules_threshold(r, action)))
			res->forced = action;
		return 1;
	}
	if (found)
		res->forced = "no action";
	return found;
}

void scan_message(const struct scan_rules *r, struct scan_dns *sd, const struct scan_input *in,
		  struct scan_result *res)
{
	struct mime_limits lim;
	struct content c;
	struct msg *m;

	mime_limits_default(&lim);
	m = msg_parse(in->raw, in->len, &lim);
	if (m == NULL)
		return;
	if (scan_gtube(r, m, res)) {
		msg_free(m);
		return;
	}
	url_list_init(&c.urls);
	sbuf_init(&c.text);
	checks_run(r, in, m, res, &c);
	if (in->bayes && scan_rules_module(r, "classifier-bayes"))
		bayes_scan(in->bayes, r, m, &c, res);
	if (sd)
		scan_dns_run(r, sd, in, m, &c, res);
	url_list_free(&c.urls);
	sbuf_free(&c.text);
	msg_free(m);
}
