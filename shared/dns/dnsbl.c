/*
 * dnsbl - DNS block lists: zones from SQLite, query names, answer codes,
 * parallel lookups per request; see dnsbl.h.
 *
 * Limits: at most DNSBL_MAX_TARGETS targets per job (a request has four;
 * the content filter caps what it extracts), query names under 254 bytes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <idn2.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "dns/dnsbl.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/domain.h"

#define DNSBL_MAX_TARGETS 64
#define DNSBL_MAX_PROBLEMS 64
#define QNAME_MAX 254

struct dnsbl_code {
	unsigned char pat[4];	/* address pattern */
	unsigned wild;		/* bit i set: octet i matches anything */
	int bits;		/* > 0: bit mask on the last octet instead */
	int is_error;
	char symbol[64], rsymbol[64];	/* "" when the symbol is disabled */
	double weight, rweight;
};

struct dnsbl_zone {
	char name[160];
	int is_domain;
	unsigned checks;
	int registrable;
	int needs_key;
	int ipv6;
	struct dnsbl_code *codes;
	int ncodes;
};

struct problem {
	int zone;
	char code[INET_ADDRSTRLEN];
	int is_error;
	int pending;		/* seen since the last flush */
	time_t last_warn;	/* logged at most once per interval */
};

struct dnsbl {
	struct dnsbl_zone *zones;
	int nzones;
	char key[128];
	const psl_ctx_t *psl;
	int running;		/* jobs in flight: no reload under them */
	struct problem problems[DNSBL_MAX_PROBLEMS];
	int nproblems;
};

struct target {
	char text[256];		/* domain, or IP as text */
	struct ip_addr ip;
	int is_ip;
	enum dnsbl_check check;
};

struct qctx {
	struct dnsbl_job *job;
	int zone, target;
};

struct dnsbl_job {
	struct dnsbl *bl;
	struct dns *dns;
	dnsbl_done_fn *done;
	void *arg;
	struct target t[DNSBL_MAX_TARGETS];
	int nt;
	struct qctx *q;
	int outstanding;
	struct dnsbl_hit *hits;
	size_t nhits, cap;
	char failed[160];
	int timed_out;
};

static const struct {
	const char *name;
	enum dnsbl_check check;
} check_names[] = {
	{"client", DNSBL_CLIENT},   {"helo", DNSBL_HELO},	      {"sender", DNSBL_SENDER},
	{"client_name", DNSBL_CLIENT_NAME}, {"received", DNSBL_RECEIVED}, {"url", DNSBL_URL},
};

static const char *check_name(enum dnsbl_check c)
{
	for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]); i++)
		if (check_names[i].check == c)
			return check_names[i].name;
	return "?";
}

static unsigned parse_checks(const char *s)
{
	unsigned m = 0;

	for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]); i++) {
		const char *p = s;
		size_t n = strlen(check_names[i].name);

		while ((p = strstr(p, check_names[i].name)) != NULL) {
			if ((p == s || p[-1] == ',' || p[-1] == ' ') &&
			    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
				m |= check_names[i].check;
			p += n;
		}
	}
	return m;
}

/* "127.0.*.3" or "bit:N" into a code. */
static int parse_code(const char *s, struct dnsbl_code *c)
{
	char buf[32], *save = NULL, *tok;
	int i = 0;

	if (strncmp(s, "bit:", 4) == 0) {
		c->bits = atoi(s + 4);
		return c->bits > 0 && c->bits < 256 ? 0 : -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ".", &save); tok && i < 4; tok = strtok_r(NULL, ".", &save), i++) {
		if (strcmp(tok, "*") == 0) {
			c->wild |= 1u << i;
			continue;
		}
		for (const char *d = tok; *d; d++)
			if (!isdigit((unsigned char)*d))
				return -1;
		if (atoi(tok) > 255)
			return -1;
		c->pat[i] = (unsigned char)atoi(tok);
	}
	return i == 4 && tok == NULL ? 0 : -1;
}

int dnsbl_code_valid(const char *code)
{
	struct dnsbl_code c;

	memset(&c, 0, sizeof(c));
	return strlen(code) < 32 ? parse_code(code, &c) : -1;
}

int dnsbl_check_named(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]); i++)
		if (strlen(check_names[i].name) == len && memcmp(check_names[i].name, name, len) == 0)
			return check_names[i].check;
	return 0;
}

static void free_zones(struct dnsbl_zone *z, int n)
{
	for (int i = 0; i < n; i++)
		free(z[i].codes);
	free(z);
}

/* Symbols that are enabled, with their weights. */
static const char *const load_sql =
	"SELECT z.name, z.kind, z.checks, z.domain_mode, z.needs_key, z.ipv6, c.code, c.kind,"
	" coalesce(s1.name, ''), coalesce(s1.weight, 0),"
	" coalesce(s2.name, s1.name, ''), coalesce(s2.weight, s1.weight, 0)"
	" FROM dnsbl_zones z LEFT JOIN dnsbl_codes c ON c.zone = z.name"
	" LEFT JOIN symbols s1 ON s1.name = c.symbol AND s1.enabled = 1"
	" LEFT JOIN symbols s2 ON s2.name = c.received_symbol AND s2.enabled = 1"
	" WHERE z.enabled = 1 ORDER BY z.name";

int dnsbl_reload(struct dnsbl *bl, sqlite3 *db, char *err, size_t errlen)
{
	struct dnsbl_zone *zones = NULL;
	sqlite3_stmt *st;
	int n = 0, cap = 0, rc;

	if (bl->running)
		return 1;
	if (sqlite3_prepare_v2(db, load_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read DNS list zones: %s", sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *key = (const char *)sqlite3_column_text(st, 4);
		const char *code = (const char *)sqlite3_column_text(st, 6);
		struct dnsbl_zone *z;
		struct dnsbl_code c;

		if (key && *key && bl->key[0] == '\0')
			continue;	/* needs a key we do not have */
		if (n == 0 || strcmp(zones[n - 1].name, name) != 0) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				zones = xrealloc(zones, (size_t)cap * sizeof(*zones));
			}
			z = &zones[n++];
			memset(z, 0, sizeof(*z));
			snprintf(z->name, sizeof(z->name), "%s", name);
			z->is_domain = strcmp((const char *)sqlite3_column_text(st, 1), "domain") == 0;
			z->checks = parse_checks((const char *)sqlite3_column_text(st, 2));
			z->registrable =
				strcmp((const char *)sqlite3_column_text(st, 3), "registrable") == 0;
			z->needs_key = key && *key;
			z->ipv6 = sqlite3_column_int(st, 5);
		}
		z = &zones[n - 1];
		if (code == NULL)
			continue;
		memset(&c, 0, sizeof(c));
		if (parse_code(code, &c) < 0) {
			msg_warn("dnsbl_codes: zone %s: bad code \"%s\" ignored", name, code);
			continue;
		}
		c.is_error = strcmp((const char *)sqlite3_column_text(st, 7), "error") == 0;
		snprintf(c.symbol, sizeof(c.symbol), "%s", sqlite3_column_text(st, 8));
		c.weight = sqlite3_column_double(st, 9);
		snprintf(c.rsymbol, sizeof(c.rsymbol), "%s", sqlite3_column_text(st, 10));
		c.rweight = sqlite3_column_double(st, 11);
		z->codes = xrealloc(z->codes, (size_t)(z->ncodes + 1) * sizeof(c));
		z->codes[z->ncodes++] = c;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "cannot read DNS list zones: %s", sqlite3_errmsg(db));
		free_zones(zones, n);
		return -1;
	}
	free_zones(bl->zones, bl->nzones);
	bl->zones = zones;
	bl->nzones = n;
	bl->nproblems = 0;	/* zone indexes changed */
	return 0;
}

struct dnsbl *dnsbl_new(sqlite3 *db, const char *abusix_key, char *err, size_t errlen)
{
	struct dnsbl *bl = xcalloc(1, sizeof(*bl));

	snprintf(bl->key, sizeof(bl->key), "%s", abusix_key ? abusix_key : "");
	/* One list for the process: loading it costs more than a whole scan. */
	bl->psl = domain_psl();
	if (dnsbl_reload(bl, db, err, errlen) < 0) {
		dnsbl_free(bl);
		return NULL;
	}
	return bl;
}

void dnsbl_free(struct dnsbl *bl)
{
	if (bl == NULL)
		return;
	free_zones(bl->zones, bl->nzones);
	free(bl);
}

int dnsbl_zone_count(const struct dnsbl *bl)
{
	return bl->nzones;
}

const char *dnsbl_zone_info(const struct dnsbl *bl, int i, char *qzone, size_t len,
			    int *is_domain, int *needs_key)
{
	const struct dnsbl_zone *z = &bl->zones[i];

	if (z->needs_key)
		snprintf(qzone, len, "%s.%s", bl->key, z->name);
	else
		snprintf(qzone, len, "%s", z->name);
	*is_domain = z->is_domain;
	*needs_key = z->needs_key;
	return z->name;
}

const struct dnsbl_zone *dnsbl_zone_find(const struct dnsbl *bl, const char *name)
{
	for (int i = 0; i < bl->nzones; i++)
		if (strcasecmp(bl->zones[i].name, name) == 0)
			return &bl->zones[i];
	return NULL;
}

int dnsbl_ip_qname(const struct ip_addr *ip, const char *zone, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char rev[80], *p = rev;
	int n;

	if (ip->family == AF_INET) {
		snprintf(rev, sizeof(rev), "%u.%u.%u.%u", ip->a[3], ip->a[2], ip->a[1], ip->a[0]);
	} else {
		for (int i = 15; i >= 0; i--) {
			*p++ = hex[ip->a[i] & 15];
			*p++ = '.';
			*p++ = hex[ip->a[i] >> 4];
			*p++ = '.';
		}
		p[-1] = '\0';
	}
	n = snprintf(out, outlen, "%s.%s", rev, zone);
	return n > 0 && (size_t)n < outlen && n < QNAME_MAX ? 0 : -1;
}

/* Host-name characters after IDN conversion: letters, digits, '-', '.', '_'. */
static int valid_host(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253 || s[0] == '.' || strstr(s, ".."))
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return strchr(s, '.') != NULL;	/* a bare label is not a domain */
}

static int domain_qname(const psl_ctx_t *psl, const char *domain, const char *zone,
			int registrable, char *out, size_t outlen)
{
	char buf[300], *ascii = NULL;
	const char *name = buf, *reg;
	struct ip_addr ip;
	size_t len;
	int n, nonascii = 0;

	snprintf(buf, sizeof(buf), "%s", domain);
	len = strlen(buf);
	if (len && buf[len - 1] == '.')
		buf[--len] = '\0';
	/* HELO [192.0.2.1] or a bare address is not a domain. */
	if (len == 0 || buf[0] == '[' || ip_parse(buf, len, &ip) == 0)
		return -1;
	for (char *p = buf; *p; p++) {
		if ((unsigned char)*p >= 0x80)
			nonascii = 1;
		*p = (char)tolower((unsigned char)*p);
	}
	if (nonascii) {
		if (idn2_to_ascii_8z(buf, &ascii, IDN2_NONTRANSITIONAL) != IDN2_OK)
			return -1;
		name = ascii;
	}
	if (!valid_host(name)) {
		idn2_free(ascii);
		return -1;
	}
	if (registrable) {
		reg = psl ? psl_registrable_domain(psl, name) : NULL;
		if (reg == NULL) {
			idn2_free(ascii);
			return -1;	/* a public suffix itself, like "co.uk" */
		}
		name = reg;
	}
	n = snprintf(out, outlen, "%s.%s", name, zone);
	idn2_free(ascii);
	return n > 0 && (size_t)n < outlen && n < QNAME_MAX ? 0 : -1;
}

int dnsbl_domain_qname(const char *domain, const char *zone, int registrable, char *out,
		       size_t outlen)
{
	return domain_qname(domain_psl(), domain, zone, registrable, out, outlen);
}

enum dnsbl_code_result dnsbl_classify(const struct dnsbl_zone *z, struct in_addr a,
				      const char **symbol, double *weight)
{
	const unsigned char *b = (const unsigned char *)&a.s_addr;

	*symbol = NULL;
	*weight = 0;
	/* Outside 127.0.0.0/8 is never a list code (a hijacking resolver, a wildcard). */
	if (b[0] != 127)
		return DNSBL_UNKNOWN_CODE;
	for (int i = 0; i < z->ncodes; i++) {
		const struct dnsbl_code *c = &z->codes[i];
		int match;

		if (c->bits)
			match = (b[3] & c->bits) != 0 && !(b[1] == 255 && b[2] == 255);
		else {
			match = 1;
			for (int k = 0; k < 4 && match; k++)
				if (!(c->wild & (1u << k)) && c->pat[k] != b[k])
					match = 0;
		}
		if (!match)
			continue;
		if (c->is_error)
			return DNSBL_ERROR_CODE;
		*symbol = c->symbol;
		*weight = c->weight;
		return DNSBL_LISTED;
	}
	/* 127.255.255.x is how lists say "error" (Spamhaus), known or not. */
	if (b[1] == 255 && b[2] == 255)
		return DNSBL_ERROR_CODE;
	return DNSBL_UNKNOWN_CODE;
}

static void note_problem(struct dnsbl *bl, int zone, struct in_addr a, int is_error)
{
	char code[INET_ADDRSTRLEN];
	struct problem *p = NULL;

	inet_ntop(AF_INET, &a, code, sizeof(code));
	for (int i = 0; i < bl->nproblems; i++)
		if (bl->problems[i].zone == zone && strcmp(bl->problems[i].code, code) == 0)
			p = &bl->problems[i];
	if (p == NULL) {
		if (bl->nproblems == DNSBL_MAX_PROBLEMS)
			return;
		p = &bl->problems[bl->nproblems++];
		memset(p, 0, sizeof(*p));
		p->zone = zone;
		p->is_error = is_error;
		snprintf(p->code, sizeof(p->code), "%s", code);
	}
	p->pending++;
}

void dnsbl_problems_flush(struct dnsbl *bl, sqlite3 *db, int interval)
{
	static const char *sql =
		"INSERT INTO dnsbl_problems (zone, code, kind, count, first_seen, last_seen)"
		" VALUES (?1, ?2, ?3, ?4, unixepoch(), unixepoch()) ON CONFLICT (zone, code)"
		" DO UPDATE SET count = count + excluded.count, last_seen = excluded.last_seen,"
		" kind = excluded.kind";
	sqlite3_stmt *st = NULL;
	time_t t = time(NULL);

	for (int i = 0; i < bl->nproblems; i++) {
		struct problem *p = &bl->problems[i];
		struct dnsbl_zone *z = &bl->zones[p->zone];

		if (p->pending == 0)
			continue;
		if (t - p->last_warn >= interval) {
			p->last_warn = t;
			msg_warn("DNS list %s answered %s (%s, %d times): not counted as a listing;"
				 " see moatctl doctor",
				 z->name, p->code,
				 p->is_error ? "the list's error code: blocked resolver or over"
					       " its limit?"
					     : "a code it does not document",
				 p->pending);
		}
		if (st == NULL && sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			return;
		sqlite3_bind_text(st, 1, z->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, p->code, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, p->is_error ? "error" : "unknown", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, p->pending);
		if (sqlite3_step(st) == SQLITE_DONE)
			p->pending = 0;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

struct dnsbl_job *dnsbl_job_new(struct dnsbl *bl, struct dns *dns, dnsbl_done_fn *done,
				void *arg)
{
	struct dnsbl_job *job = xcalloc(1, sizeof(*job));

	job->bl = bl;
	job->dns = dns;
	job->done = done;
	job->arg = arg;
	return job;
}

void dnsbl_job_ip(struct dnsbl_job *job, const struct ip_addr *ip, enum dnsbl_check check)
{
	struct target *t;

	if (job->nt == DNSBL_MAX_TARGETS)
		return;
	t = &job->t[job->nt++];
	t->is_ip = 1;
	t->ip = *ip;
	t->check = check;
	ip_format(ip, t->text, sizeof(t->text));
}

void dnsbl_job_domain(struct dnsbl_job *job, const char *domain, enum dnsbl_check check)
{
	struct target *t;

	if (job->nt == DNSBL_MAX_TARGETS || domain == NULL || *domain == '\0')
		return;
	/* The same domain for the same check once (HELO = sender domain is common). */
	for (int i = 0; i < job->nt; i++)
		if (!job->t[i].is_ip && job->t[i].check == check &&
		    strcasecmp(job->t[i].text, domain) == 0)
			return;
	t = &job->t[job->nt++];
	t->is_ip = 0;
	t->check = check;
	snprintf(t->text, sizeof(t->text), "%s", domain);
}

static void add_hit(struct dnsbl_job *job, const char *symbol, double weight, const char *zone,
		    const struct target *t, const char *qname)
{
	struct dnsbl_hit *h = NULL;

	for (size_t i = 0; i < job->nhits && h == NULL; i++)
		if (strcmp(job->hits[i].symbol, symbol) == 0)
			h = &job->hits[i];
	if (h == NULL) {
		if (job->nhits == job->cap) {
			job->cap = job->cap ? job->cap * 2 : 8;
			job->hits = xrealloc(job->hits, job->cap * sizeof(*job->hits));
		}
		h = &job->hits[job->nhits++];
		memset(h, 0, sizeof(*h));
		snprintf(h->symbol, sizeof(h->symbol), "%s", symbol);
		snprintf(h->zone, sizeof(h->zone), "%s", zone);
		snprintf(h->qname, sizeof(h->qname), "%s", qname);
		h->weight = weight;
	}
	/* Once per symbol, with every target that hit it as an option of its own. */
	if (h->nopts == DNSBL_HIT_OPTS)
		return;
	snprintf(h->opts[h->nopts], sizeof(h->opts[0]), "%s:%s", t->text, check_name(t->check));
	for (int k = 0; k < h->nopts; k++)
		if (strcmp(h->opts[k], h->opts[h->nopts]) == 0)
			return;
	h->nopts++;
}

static int by_weight(const void *a, const void *b)
{
	const struct dnsbl_hit *x = a, *y = b;
	double wx = x->weight < 0 ? -x->weight : x->weight;
	double wy = y->weight < 0 ? -y->weight : y->weight;

	if (wx != wy)
		return wx > wy ? -1 : 1;
	return strcmp(x->symbol, y->symbol);
}

static void job_finish(struct dnsbl_job *job)
{
	job->bl->running--;
	if (job->nhits > 1)	/* qsort(NULL, 0, ...) is undefined */
		qsort(job->hits, job->nhits, sizeof(*job->hits), by_weight);
	job->done(job->arg, job);
}

static void on_answer(void *arg, const char *name, const struct dns_result *r)
{
	struct qctx *q = arg;
	struct dnsbl_job *job = q->job;
	struct dnsbl *bl = job->bl;
	struct dnsbl_zone *z = &bl->zones[q->zone];
	const struct target *t = &job->t[q->target];

	if (r->status == DNS_TIMEOUT || r->status == DNS_FAIL) {
		if (job->failed[0] == '\0' || r->status == DNS_TIMEOUT) {
			snprintf(job->failed, sizeof(job->failed), "%s", z->name);
			job->timed_out = r->status == DNS_TIMEOUT;
		}
	}
	for (int i = 0; r->status == DNS_OK && i < r->naddr; i++) {
		const char *sym;
		double w;

		switch (dnsbl_classify(z, r->addr[i], &sym, &w)) {
		case DNSBL_LISTED:
			/* Received hops have their own symbols (and weights). */
			if (t->check == DNSBL_RECEIVED) {
				for (int k = 0; k < z->ncodes; k++)
					if (strcmp(z->codes[k].symbol, sym) == 0) {
						sym = z->codes[k].rsymbol;
						w = z->codes[k].rweight;
						break;
					}
			}
			if (sym && *sym)
				add_hit(job, sym, w, z->name, t, name);
			break;
		case DNSBL_ERROR_CODE:
			note_problem(bl, q->zone, r->addr[i], 1);
			break;
		case DNSBL_UNKNOWN_CODE:
			note_problem(bl, q->zone, r->addr[i], 0);
			break;
		}
	}
	if (--job->outstanding == 0)
		job_finish(job);
}

void dnsbl_job_run(struct dnsbl_job *job)
{
	struct dnsbl *bl = job->bl;
	char qname[QNAME_MAX + 8], zone[300];
	int k = 0;

	bl->running++;
	job->q = xcalloc((size_t)(job->nt * bl->nzones) + 1, sizeof(*job->q));
	job->outstanding = 1;	/* held until every query is sent */
	for (int zi = 0; zi < bl->nzones; zi++) {
		struct dnsbl_zone *z = &bl->zones[zi];

		if (z->needs_key)
			snprintf(zone, sizeof(zone), "%s.%s", bl->key, z->name);
		else
			snprintf(zone, sizeof(zone), "%s", z->name);
		for (int ti = 0; ti < job->nt; ti++) {
			struct target *t = &job->t[ti];
			int rc;

			if (!(z->checks & t->check) || t->is_ip == z->is_domain)
				continue;
			if (t->is_ip && t->ip.family == AF_INET6 && !z->ipv6)
				continue;
			rc = t->is_ip ? dnsbl_ip_qname(&t->ip, zone, qname, sizeof(qname))
				      : domain_qname(bl->psl, t->text, zone, z->registrable, qname,
						     sizeof(qname));
			if (rc < 0)
				continue;
			job->q[k].job = job;
			job->q[k].zone = zi;
			job->q[k].target = ti;
			job->outstanding++;
			dns_lookup(job->dns, qname, on_answer, &job->q[k]);
			k++;
		}
	}
	if (--job->outstanding == 0)
		job_finish(job);
}

size_t dnsbl_job_hits(const struct dnsbl_job *job, const struct dnsbl_hit **hits)
{
	*hits = job->hits;
	return job->nhits;
}

double dnsbl_job_score(const struct dnsbl_job *job)
{
	double s = 0;

	for (size_t i = 0; i < job->nhits; i++)
		s += job->hits[i].weight;
	return s;
}

const char *dnsbl_job_failed(const struct dnsbl_job *job, int *timed_out)
{
	*timed_out = job->timed_out;
	return job->failed[0] ? job->failed : NULL;
}

void dnsbl_job_free(struct dnsbl_job *job)
{
	if (job == NULL)
		return;
	free(job->q);
	free(job->hits);
	free(job);
}
