/*
 * dmarc - DMARC policy evaluation; see dmarc.h.
 *
 * How it waits for DNS (as spf.c): an evaluation is a pure function of the
 * answers it has, so it runs again from the start whenever the answers it
 * was missing are in. A run asks for every name it can see it needs (all
 * the names of a tree walk, every identifier's walk, the three existence
 * queries) before it gives up for now, so those go out together. Answers
 * are kept per check; dns.c caches them across checks by TTL.
 *
 * Where the standards leave room, or disagree with Rspamd:
 * - A lookup that fails (SERVFAIL, timeout) on the way to the record that
 *   decides is a temperror (DMARC_DNSFAIL): a more specific record may sit
 *   behind it. Rspamd falls back to the organizational domain's record.
 * - PSL mode (RFC 7489 6.6.3): two DMARC records at one name are Rspamd's
 *   DMARC_BAD_POLICY. Tree walk (RFC 9989 4.10): they are discarded and the
 *   walk goes on.
 * - Invalid adkim= or aspf= is DMARC_BAD_POLICY, as Rspamd has it (RFC 9989
 *   4.8 would fall back to the default). An invalid or missing p= (or a bad
 *   sp=, np=) with a valid rua= reads as p=none (RFC 9989 4.10.1); without
 *   one a bad value is DMARC_BAD_POLICY and a missing p= is p=none (RFC 9989
 *   4.7, and Rspamd).
 * - Non-existent (np=): RFC 9989 3.2.13 (tree walk): an NXDOMAIN; RFC 9091
 *   2.7 (PSL mode): no A, AAAA or MX record. Failed queries count as
 *   existing: sp= (or p=) applies.
 *
 * The peers, as checked in December 2026: Rspamd (eaac8e91, 4.1.5) reads
 * the PSL, queries the From domain and its eSLD, and knows neither np= nor
 * t=; OpenDMARC has the tree walk on its develop branch only (PR #430 and
 * #433, June 2026; last release 1.4.2 of 2021); Debian's authheaders
 * 0.15.2 has an early draft's walk (4 labels, PSL alignment), which
 * t/dmarc-authheaders.t compares against with its departures named.
 * RFC 9989's text was read in draft-ietf-dmarc-dmarcbis-41, the last
 * draft, whose section 4.10 other projects quote as RFC 9989's.
 */
#include "config.h"

#include <ctype.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "core/domain.h"
#include "core/mem.h"

/* Queries of one check: the From domain's walk, one per identifier (1 SPF and
 * DKIM_MAX_SIGS DKIM), and three existence queries: 8 * 7 + 3. */
#define DMARC_MAX_QUERIES 64
#define PENDING (-1)

/* One question asked, and what its answer says for DMARC. */
struct known {
	struct dmarc_check *c;
	char name[DMARC_NAME_MAX + 8];
	int type;
	int answered;
	enum dns_qstatus st;
	int nrr;       /* records of the type */
	int ndmarc;    /* TXT: records starting with v=DMARC1 */
	int parse;     /* TXT with one DMARC record: dmarc_record_parse()'s 1 or -1 */
	char err[128]; /* ...and its reason on -1 */
	struct dmarc_record rec;
};

struct dmarc_check {
	struct dmarc_resolver res;
	dmarc_cb *cb;
	void *arg;
	int treewalk, coin;
	int spf_checked;
	enum spf_result spf;
	int ndkim;
	enum dkim_result dkim[DKIM_MAX_SIGS];
	char from[DMARC_NAME_MAX], spf_domain[DMARC_NAME_MAX];
	char dkim_domain[DKIM_MAX_SIGS][DMARC_NAME_MAX];
	struct known known[DMARC_MAX_QUERIES];
	int nknown, inflight;
	int in_run, cancelled, rounds;
	struct dmarc_outcome out;
};

const char *dmarc_policy_str(enum dmarc_policy p)
{
	static const char *const s[] = {"", "none", "quarantine", "reject"};

	return s[p];
}

const char *dmarc_result_str(enum dmarc_result r)
{
	static const char *const s[] = {"none", "pass", "fail", "temperror", "permerror"};

	return s[r];
}

/* ---- the record ------------------------------------------------------- */

static int wsp(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Value v (vlen bytes) equals word, case aside. */
static int is(const char *v, size_t vlen, const char *word)
{
	return vlen == strlen(word) && strncasecmp(v, word, vlen) == 0;
}

static enum dmarc_policy policy_of(const char *v, size_t vlen)
{
	if (is(v, vlen, "none"))
		return DMARC_P_NONE;
	if (is(v, vlen, "quarantine"))
		return DMARC_P_QUARANTINE;
	if (is(v, vlen, "reject"))
		return DMARC_P_REJECT;
	return DMARC_P_UNSET;
}

/* A comma-separated list holding at least one URI with a scheme and more (RFC 3986). */
static int has_valid_uri(const char *s)
{
	/* Bounded: each turn moves s past a comma or to the end. */
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *p = s;

		while (p < s + n && wsp(*p))
			p++;
		if (p < s + n && isalpha((unsigned char)*p)) {
			while (p < s + n && (isalnum((unsigned char)*p) || strchr("+.-", *p)))
				p++;
			if (p + 1 < s + n && *p == ':' && !wsp(p[1]))
				return 1;
		}
		s += n + (s[n] == ',');
	}
	return 0;
}

static void copy_value(char *out, size_t outlen, const char *v, size_t vlen)
{
	if (vlen >= outlen)
		vlen = outlen - 1;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/* "v" *WSP "=" *WSP "DMARC1" then the end or a ';': the length taken, or 0. */
static size_t version_tag(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && wsp(s[i]))
		i++;
	if (i >= len || (s[i] != 'v' && s[i] != 'V'))
		return 0;
	for (i++; i < len && wsp(s[i]); i++)
		;
	if (i >= len || s[i] != '=')
		return 0;
	for (i++; i < len && wsp(s[i]); i++)
		;
	if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0) /* case-sensitive (9989 4.7) */
		return 0;
	for (i += 6; i < len && wsp(s[i]); i++)
		;
	if (i < len && s[i] != ';')
		return 0;
	return i;
}

int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r, char *err,
                       size_t errlen)
{
	char bad[96] = "", badp[96] = "";
	int ntags = 0, seen = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	r->psd = 'u';
	r->ri = 86400;
	snprintf(r->fo, sizeof(r->fo), "0");
	snprintf(r->rf, sizeof(r->rf), "afrf");
	if (err && errlen)
		err[0] = '\0';
	if (len > DNS_RR_TXT_MAX)
		len = DNS_RR_TXT_MAX;
	if ((i = version_tag(txt, len)) == 0)
		return 0;
	/* Bounded: each turn moves i past a ';' or to the end; at most DMARC_TAGS_MAX tags. */
	while (i < len && ntags < DMARC_TAGS_MAX) {
		const char *tag = txt + i, *end = memchr(tag, ';', len - i), *eq;
		size_t tlen = end ? (size_t)(end - tag) : len - i, nlen, vlen;
		const char *name, *v;
		char vb[32];

		i += tlen + (end != NULL);
		name = tag;
		while (name < tag + tlen && wsp(*name))
			name++;
		if (name == tag + tlen)
			continue; /* empty: "v=DMARC1;;" or a trailing ';' */
		ntags++;
		eq = memchr(name, '=', (size_t)(tag + tlen - name));
		if (eq == NULL)
			continue; /* not a tag: ignored (9989 4.8) */
		for (nlen = (size_t)(eq - name); nlen && wsp(name[nlen - 1]); nlen--)
			;
		for (v = eq + 1; v < tag + tlen && wsp(*v); v++)
			;
		for (vlen = (size_t)(tag + tlen - v); vlen && wsp(v[vlen - 1]); vlen--)
			;
		if (nlen == 0 || nlen > 8 || vlen == 0)
			continue;
		/* The first of a repeated tag counts. */
		{
			static const char *const known[] = {"p",   "sp", "np",  "adkim", "aspf",
			                                    "pct", "t",  "psd", "rua",   "ruf",
			                                    "fo",  "rf", "ri"};
			int k;

			for (k = 0; k < 13 && !is(name, nlen, known[k]); k++)
				;
			if (k == 13 || (seen & (1 << k)))
				continue;
			seen |= 1 << k;
		}
		copy_value(vb, sizeof(vb), v, vlen);
		if (is(name, nlen, "p") || is(name, nlen, "sp") || is(name, nlen, "np")) {
			enum dmarc_policy p = policy_of(v, vlen);
			enum dmarc_policy *to = is(name, nlen, "p")    ? &r->p
			                        : is(name, nlen, "sp") ? &r->sp
			                                               : &r->np;

			*to = p;
			if (p == DMARC_P_UNSET && badp[0] == '\0')
				snprintf(badp, sizeof(badp), "%.*s tag has invalid value: %s",
				         (int)nlen, name, vb);
		} else if (is(name, nlen, "adkim") || is(name, nlen, "aspf")) {
			int *to = is(name, nlen, "adkim") ? &r->adkim_strict : &r->aspf_strict;

			if (is(v, vlen, "s"))
				*to = 1;
			else if (!is(v, vlen, "r") && bad[0] == '\0')
				snprintf(bad, sizeof(bad), "%.*s tag has invalid value: %s",
				         (int)nlen, name, vb);
		} else if (is(name, nlen, "pct")) {
			char *e;
			long n = strtol(vb, &e, 10);

			if (*e == '\0' && isdigit((unsigned char)vb[0]) && n >= 0 && n <= 100)
				r->pct = (int)n;
		} else if (is(name, nlen, "t")) {
			r->testing = is(v, vlen, "y");
		} else if (is(name, nlen, "psd")) {
			r->psd = is(v, vlen, "y") ? 'y' : is(v, vlen, "n") ? 'n' : 'u';
		} else if (is(name, nlen, "rua")) {
			copy_value(r->rua, sizeof(r->rua), v, vlen);
		} else if (is(name, nlen, "ruf")) {
			copy_value(r->ruf, sizeof(r->ruf), v, vlen);
		} else if (is(name, nlen, "fo")) {
			copy_value(r->fo, sizeof(r->fo), v, vlen);
		} else if (is(name, nlen, "rf")) {
			copy_value(r->rf, sizeof(r->rf), v, vlen);
		} else if (is(name, nlen, "ri")) {
			char *e;
			long n = strtol(vb, &e, 10);

			if (*e == '\0' && isdigit((unsigned char)vb[0]) && n > 0)
				r->ri = n;
		}
	}
	if (badp[0] && has_valid_uri(r->rua)) {
		/* RFC 9989 4.10.1 (and 7489 6.6.3): act as if the record said p=none. */
		r->p = DMARC_P_NONE;
		r->sp = r->np = DMARC_P_UNSET;
		r->rua_as_none = 1;
		badp[0] = '\0';
	}
	if (bad[0] || badp[0]) {
		if (err && errlen)
			snprintf(err, errlen, "%s", badp[0] ? badp : bad);
		return -1;
	}
	if (r->p == DMARC_P_UNSET)
		r->p = DMARC_P_NONE; /* RFC 9989 4.7 */
	return 1;
}

/* ---- names ------------------------------------------------------------ */

static int labels(const char *d)
{
	int n = *d ? 1 : 0;

	for (; *d; d++)
		n += *d == '.';
	return n;
}

/* The last n labels of d. */
static const char *suffix(const char *d, int n)
{
	int skip = labels(d) - n;

	for (; skip > 0 && *d; d++)
		if (*d == '.')
			skip--;
	return d;
}

int dmarc_walk_names(const char *domain, char names[][DMARC_NAME_MAX])
{
	int x = labels(domain), n = 0;

	if (x == 0)
		return 0;
	snprintf(names[n++], DMARC_NAME_MAX, "%s", domain);
	/* RFC 9989 4.10 steps 3-7: from 8 labels or more, jump to 7; then one at a time. */
	for (int k = x >= 8 ? 7 : x - 1; k >= 1 && n < DMARC_WALK_MAX; k--)
		snprintf(names[n++], DMARC_NAME_MAX, "%s", suffix(domain, k));
	return n;
}

void dmarc_org_psl(const char *domain, char *out, size_t outlen)
{
	const psl_ctx_t *psl = domain_psl();
	const char *reg = psl ? psl_registrable_domain(psl, domain) : NULL;

	snprintf(out, outlen, "%s", reg ? reg : psl ? domain : suffix(domain, 2));
}

/* Whether a ends with the labels of b (or is b). */
static int under(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la >= lb && strcasecmp(a + la - lb, b) == 0 && (la == lb || a[la - lb - 1] == '.');
}

/* ---- answers ---------------------------------------------------------- */

static void check_free(struct dmarc_check *c)
{
	free(c);
}

static int step(struct dmarc_check *c);

static void store(struct known *k, const struct dns_answer *a)
{
	k->answered = 1;
	k->st = a->status;
	k->nrr = a->nrr;
	if (k->type != DNS_T_TXT)
		return;
	for (int i = 0; i < a->nrr; i++) {
		struct dmarc_record r;
		char err[sizeof(k->err)];
		int p = dmarc_record_parse(a->rr[i].str, a->rr[i].len, &r, err, sizeof(err));

		if (p == 0)
			continue;
		if (++k->ndmarc == 1) {
			k->parse = p;
			k->rec = r;
			memcpy(k->err, err, sizeof(err));
		}
	}
}

static void on_answer(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct known *k = arg;
	struct dmarc_check *c = k->c;

	(void)name, (void)type;
	store(k, a);
	c->inflight--;
	if (c->cancelled) {
		if (c->inflight == 0)
			check_free(c);
		return;
	}
	if (!c->in_run && c->inflight == 0 && step(c))
		check_free(c);
}

static const struct known too_many = {.answered = 1, .st = DNS_Q_FAIL};

/* The answer for (name, type), or NULL while it is on its way (asked for now if new). */
static const struct known *lookup(struct dmarc_check *c, const char *name, int type)
{
	struct known *k;

	for (int i = 0; i < c->nknown; i++)
		if (c->known[i].type == type && strcasecmp(c->known[i].name, name) == 0)
			return c->known[i].answered ? &c->known[i] : NULL;
	if (c->nknown == DMARC_MAX_QUERIES)
		return &too_many;
	k = &c->known[c->nknown++];
	k->c = c;
	k->type = type;
	snprintf(k->name, sizeof(k->name), "%s", name);
	c->inflight++;
	c->res.query(c->res.ctx, k->name, type, on_answer, k);
	return k->answered ? k : NULL;
}

static const struct known *txt(struct dmarc_check *c, const char *domain)
{
	char name[DMARC_NAME_MAX + 8];

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	return lookup(c, name, DNS_T_TXT);
}

static int failed(const struct known *k)
{
	return k->st == DNS_Q_TIMEOUT || k->st == DNS_Q_FAIL;
}

/* Failed k for domain d: a temperror, the reason as Rspamd words a lookup's. */
static int dns_trouble(struct dmarc_check *c, const struct known *k, const char *d)
{
	struct dmarc_outcome *o = &c->out;

	o->result = DMARC_TEMPERROR;
	o->timed_out = k->st == DNS_Q_TIMEOUT;
	snprintf(o->domain, sizeof(o->domain), "%s", d);
	snprintf(o->reason, sizeof(o->reason), "%s : %s", d,
	         k == &too_many ? "too many DNS queries"
	         : o->timed_out ? "DNS query timed out"
	                        : "DNS query failed");
	return 0;
}

/* ---- the tree walk (RFC 9989 4.10) ------------------------------------ */

struct walk {
	int n;
	char names[DMARC_WALK_MAX][DMARC_NAME_MAX];
	const struct known *k[DMARC_WALK_MAX];
	int stop;                   /* entries that count: up to the psd= record */
	const struct known *failed; /* a failed lookup among them */
	int failed_at;
	char org[DMARC_NAME_MAX];
};

/* One DMARC record (valid or not) in k. */
static int has_record(const struct known *k)
{
	return k && k->st == DNS_Q_OK && k->ndmarc == 1;
}

/* Walk from domain: 0 with w filled, or PENDING. */
static int walk(struct dmarc_check *c, const char *domain, struct walk *w)
{
	int pending = 0, last = -1;

	memset(w, 0, sizeof(*w));
	w->n = dmarc_walk_names(domain, w->names);
	for (int i = 0; i < w->n; i++)
		if ((w->k[i] = txt(c, w->names[i])) == NULL)
			pending = 1;
	if (pending)
		return PENDING;
	for (w->stop = 0; w->stop < w->n; w->stop++) {
		const struct known *k = w->k[w->stop];

		if (failed(k)) {
			w->failed = k;
			w->failed_at = w->stop;
			w->stop = w->n;
			break;
		}
		if (has_record(k) && k->rec.psd != 'u') {
			w->stop++;
			break;
		}
	}
	/* The Organizational Domain, from the longest name to the shortest (4.10.2). */
	snprintf(w->org, sizeof(w->org), "%s", domain);
	for (int i = 0; i < w->stop; i++) {
		if (!has_record(w->k[i]))
			continue;
		last = i;
		if (w->k[i]->rec.psd == 'n') {
			snprintf(w->org, sizeof(w->org), "%s", w->names[i]);
			return 0;
		}
		if (w->k[i]->rec.psd == 'y' && i > 0) {
			snprintf(w->org, sizeof(w->org), "%s",
			         suffix(domain, labels(w->names[i]) + 1));
			return 0;
		}
	}
	if (last >= 0)
		snprintf(w->org, sizeof(w->org), "%s", w->names[last]);
	return 0;
}

/* ---- evaluation ------------------------------------------------------- */

/* The applicable record's answer and whose it is, found RFC 9989's way; PENDING, 1, or 0 done. */
static int discover_walk(struct dmarc_check *c, struct walk *w, const struct known **pol)
{
	struct dmarc_outcome *o = &c->out;

	if (walk(c, c->from, w) == PENDING)
		return PENDING;
	snprintf(o->org_domain, sizeof(o->org_domain), "%s", w->org);
	if (w->failed)
		return dns_trouble(c, w->failed, w->names[w->failed_at]);
	if (has_record(w->k[0])) {
		*pol = w->k[0];
		snprintf(o->domain, sizeof(o->domain), "%s", c->from);
		return 1;
	}
	for (int i = 1; i < w->stop; i++)
		if (has_record(w->k[i]) && strcmp(w->names[i], w->org) == 0) {
			*pol = w->k[i];
			snprintf(o->domain, sizeof(o->domain), "%s", w->names[i]);
			return 1;
		}
	/* No record at the Organizational Domain: the Public Suffix Domain's (4.10.1). */
	if (w->stop > 1 && has_record(w->k[w->stop - 1]) && w->k[w->stop - 1]->rec.psd == 'y') {
		*pol = w->k[w->stop - 1];
		snprintf(o->domain, sizeof(o->domain), "%s", w->names[w->stop - 1]);
		return 1;
	}
	o->result = DMARC_NONE;
	snprintf(o->domain, sizeof(o->domain), "%s", c->from);
	snprintf(o->reason, sizeof(o->reason), "%s%s", c->from,
	         w->k[0]->nrr > 0 ? ": no valid DMARC record" : "");
	return 0;
}

/* RFC 7489 6.6.3 with the PSL: the From domain, then its registrable domain, asked together. */
static int discover_psl(struct dmarc_check *c, const struct known **pol)
{
	struct dmarc_outcome *o = &c->out;
	const struct known *k[2];
	const char *d[2] = {c->from, o->org_domain};
	int n = strcasecmp(c->from, o->org_domain) != 0 ? 2 : 1, pending = 0;

	for (int i = 0; i < n; i++)
		if ((k[i] = txt(c, d[i])) == NULL)
			pending = 1;
	if (pending)
		return PENDING;
	for (int i = 0; i < n; i++) {
		snprintf(o->domain, sizeof(o->domain), "%s", d[i]);
		if (failed(k[i]))
			return dns_trouble(c, k[i], d[i]);
		if (k[i]->st == DNS_Q_OK && k[i]->ndmarc > 1) {
			o->result = DMARC_PERMERROR;
			snprintf(o->reason, sizeof(o->reason),
			         "%s : Multiple policies defined in DNS", d[i]);
			return 0;
		}
		if (has_record(k[i])) {
			*pol = k[i];
			return 1;
		}
	}
	o->result = DMARC_NONE;
	snprintf(o->reason, sizeof(o->reason), "%s%s", d[n - 1],
	         k[n - 1]->nrr > 0 ? ": no valid DMARC record" : "");
	return 0;
}

/* Whether the From domain exists (for np=): 1, 0, or PENDING. */
static int from_exists(struct dmarc_check *c)
{
	static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX};
	const struct known *k[3];
	int pending = 0, nx = 0, empty = 0;

	for (int i = 0; i < 3; i++)
		if ((k[i] = lookup(c, c->from, types[i])) == NULL)
			pending = 1;
	if (pending)
		return PENDING;
	for (int i = 0; i < 3; i++) {
		nx += k[i]->st == DNS_Q_NXDOMAIN;
		empty += k[i]->st == DNS_Q_NXDOMAIN || k[i]->st == DNS_Q_NODATA;
	}
	return c->treewalk ? nx == 0 : empty < 3;
}

/* Whether identifier id aligns with the From domain: 1, 0, -2 (DNS failed) or PENDING. */
static int aligned(struct dmarc_check *c, const char *id, int strict)
{
	char org[DMARC_NAME_MAX];
	struct walk w;

	if (strcasecmp(id, c->from) == 0)
		return 1;
	if (strict)
		return 0;
	if (!c->treewalk) {
		dmarc_org_psl(id, org, sizeof(org));
		return strcasecmp(org, c->out.org_domain) == 0;
	}
	/* Its Organizational Domain is id or a parent: none can be ours unless ours is one. */
	if (!under(id, c->out.org_domain))
		return 0;
	if (walk(c, id, &w) == PENDING)
		return PENDING;
	if (w.failed)
		return -2;
	return strcasecmp(w.org, c->out.org_domain) == 0;
}

static enum dmarc_policy step_down(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

/* SPF and DKIM against the record: the result and Rspamd's reasons; or PENDING. */
static int judge(struct dmarc_check *c, const struct dmarc_record *rec)
{
	struct dmarc_outcome *o = &c->out;
	const char *spf_why = NULL, *dkim_why = NULL;
	int pending = 0, tmp = 0, a;

	if (c->spf_checked && (c->spf == SPF_PASS || c->spf == SPF_TEMPERROR) && c->spf_domain[0]) {
		if ((a = aligned(c, c->spf_domain, rec->aspf_strict)) == PENDING)
			pending = 1;
		else if (c->spf == SPF_PASS && a == 1)
			o->spf_aligned = 1;
		else if (c->spf == SPF_TEMPERROR && a != 0)
			tmp = 1;
		else if (c->spf == SPF_PASS && a == -2)
			tmp = 1;
		if (c->spf == SPF_PASS && a == 0)
			spf_why = rec->aspf_strict ? "SPF not aligned (strict)"
			                           : "SPF not aligned (relaxed)";
	}
	if (!(c->spf_checked && c->spf == SPF_PASS))
		spf_why = "No valid SPF";
	for (int i = 0; i < c->ndkim; i++) {
		if (c->dkim[i] != DKIM_PASS && c->dkim[i] != DKIM_TEMPERROR)
			continue;
		if (c->dkim_domain[i][0] == '\0')
			continue;
		if ((a = aligned(c, c->dkim_domain[i], rec->adkim_strict)) == PENDING) {
			pending = 1;
		} else if (c->dkim[i] == DKIM_PASS && a == 1) {
			o->dkim_aligned = 1;
		} else if (a != 0) {
			tmp = 1;
		} else if (c->dkim[i] == DKIM_PASS) {
			dkim_why = rec->adkim_strict ? "DKIM not aligned (strict)"
			                             : "DKIM not aligned (relaxed)";
		}
	}
	if (c->ndkim == 0)
		dkim_why = "No valid DKIM";
	if (pending)
		return PENDING;
	if (o->spf_aligned || o->dkim_aligned) {
		o->result = DMARC_PASS;
	} else if (tmp) {
		o->result = DMARC_TEMPERROR;
		snprintf(o->reason, sizeof(o->reason), "SPF/DKIM temp error");
	} else {
		o->result = DMARC_FAIL;
		snprintf(o->reason, sizeof(o->reason), "%s%s%s", spf_why ? spf_why : "",
		         spf_why && dkim_why ? ", " : "", dkim_why ? dkim_why : "");
	}
	return 0;
}

/* One evaluation from the start: 0 when the outcome is complete, or PENDING. */
static int evaluate(struct dmarc_check *c)
{
	struct dmarc_outcome *o = &c->out;
	const struct known *pol = NULL;
	const struct dmarc_record *rec;
	struct walk w;
	int r, exists = 1;

	memset(o, 0, sizeof(*o));
	if (c->treewalk) {
		r = discover_walk(c, &w, &pol);
	} else {
		dmarc_org_psl(c->from, o->org_domain, sizeof(o->org_domain));
		r = discover_psl(c, &pol);
	}
	if (r != 1)
		return r;
	rec = &pol->rec;
	if (pol->parse < 0) {
		o->result = DMARC_PERMERROR;
		snprintf(o->reason, sizeof(o->reason), "%s : %s", o->domain, pol->err);
		return 0;
	}
	o->policy = rec->p;
	if (strcasecmp(o->domain, c->from) != 0) {
		/* A parent's record: sp= for an existing subdomain, np= for a non-existent one. */
		if (rec->np != DMARC_P_UNSET && (exists = from_exists(c)) == PENDING)
			return PENDING;
		if (!exists)
			o->policy = rec->np;
		else if (rec->sp != DMARC_P_UNSET)
			o->policy = rec->sp;
	}
	if (judge(c, rec) == PENDING)
		return PENDING;
	o->disposition = o->policy;
	if (o->result != DMARC_FAIL || o->policy == DMARC_P_NONE)
		return 0;
	if (c->treewalk && rec->testing) {
		o->testing = 1;
		o->disposition = step_down(o->policy);
	} else if (!c->treewalk && rec->pct < 100 && c->coin > rec->pct) {
		o->sampled_out = 1;
		o->disposition = step_down(o->policy);
	}
	return 0;
}

/* Run the evaluation; 1 when it is done (cb has run), 0 while answers are awaited. */
static int step(struct dmarc_check *c)
{
	int r;

	c->in_run = 1;
	r = evaluate(c);
	c->in_run = 0;
	/* Every answer may have come from the cache while asking: run again then. */
	while (r == PENDING && c->inflight == 0) {
		c->in_run = 1;
		r = evaluate(c);
		c->in_run = 0;
	}
	if (r == PENDING) {
		c->rounds++;
		return 0;
	}
	c->out.queries = c->nknown;
	c->out.rounds = c->rounds;
	c->cb(c->arg, &c->out);
	return 1;
}

/*
 * Lower case, without a trailing dot, at most DMARC_NAME_MAX - 1 bytes; 0 if
 * usable. A UTF-8 name (an internationalized From domain) becomes its
 * A-labels, as the DNS holds it.
 */
static int name_copy(char *out, const char *in)
{
	size_t n = in ? strlen(in) : 0;
	char *ace = NULL;
	int r;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)in[i] >= 0x80) {
			if (n >= DMARC_NAME_MAX ||
			    idn2_to_ascii_8z(in, &ace, IDN2_NONTRANSITIONAL) != IDN2_OK)
				return -1;
			r = name_copy(out, ace);
			idn2_free(ace);
			return r;
		}

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= DMARC_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (!(isalnum(ch) || ch == '-' || ch == '_' || ch == '.') ||
		    (ch == '.' && (i == 0 || in[i - 1] == '.')))
			return -1;
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	return 0;
}

struct dmarc_check *dmarc_check(const struct dmarc_resolver *r, const struct dmarc_request *req,
                                dmarc_cb *cb, void *arg)
{
	struct dmarc_check *c = xcalloc(1, sizeof(*c));

	c->res = *r;
	c->cb = cb;
	c->arg = arg;
	c->treewalk = req->treewalk;
	c->coin = req->coin;
	c->spf_checked = req->spf_checked;
	c->spf = req->spf;
	if (name_copy(c->spf_domain, req->spf_domain) < 0)
		c->spf_domain[0] = '\0';
	c->ndkim = req->ndkim < 0 ? 0 : req->ndkim > DKIM_MAX_SIGS ? DKIM_MAX_SIGS : req->ndkim;
	for (int i = 0; i < c->ndkim; i++) {
		c->dkim[i] = req->dkim[i];
		if (name_copy(c->dkim_domain[i], req->dkim_domain[i]) < 0)
			c->dkim_domain[i][0] = '\0';
	}
	if (name_copy(c->from, req->from_domain) < 0) {
		c->out.result = DMARC_NONE;
		snprintf(c->out.reason, sizeof(c->out.reason), "No domain in From header");
		cb(arg, &c->out);
		free(c);
		return NULL;
	}
	if (step(c)) {
		free(c);
		return NULL;
	}
	return c;
}

void dmarc_cancel(struct dmarc_check *c)
{
	if (c == NULL)
		return;
	c->cancelled = 1;
	if (c->inflight == 0)
		check_free(c);
}

/* ---- the adapter and the symbols -------------------------------------- */

static void dns_adapter(void *ctx, const char *name, int type, dns_query_cb *cb, void *arg)
{
	dns_query(ctx, name, type, cb, arg);
}

void dmarc_resolver_dns(struct dmarc_resolver *r, struct dns *d)
{
	r->query = dns_adapter;
	r->ctx = d;
}

int dmarc_symbol(const struct dmarc_outcome *o, const char **symbol,
                 char opts[DMARC_OPT_MAX][DMARC_OPT_LEN])
{
	const char *pol = dmarc_policy_str(o->policy);
	int n = 0;

	switch (o->result) {
	case DMARC_NONE:
		*symbol = "DMARC_NA";
		snprintf(opts[n++], sizeof(opts[0]), "%s", o->reason);
		return n;
	case DMARC_PERMERROR:
		*symbol = "DMARC_BAD_POLICY";
		snprintf(opts[n++], sizeof(opts[0]), "%s", o->reason);
		return n;
	case DMARC_TEMPERROR:
		*symbol = "DMARC_DNSFAIL";
		if (o->policy == DMARC_P_UNSET) { /* the lookup of the record failed */
			snprintf(opts[n++], sizeof(opts[0]), "%s", o->reason);
			return n;
		}
		snprintf(opts[n++], sizeof(opts[0]), "%s : %s", o->domain, o->reason);
		snprintf(opts[n++], sizeof(opts[0]), "%s", pol);
		return n;
	case DMARC_PASS:
		*symbol = "DMARC_POLICY_ALLOW";
		snprintf(opts[n++], sizeof(opts[0]), "%s", o->domain);
		snprintf(opts[n++], sizeof(opts[0]), "%s", pol);
		return n;
	case DMARC_FAIL:
		break;
	}
	*symbol = o->disposition == DMARC_P_REJECT       ? "DMARC_POLICY_REJECT"
	          : o->disposition == DMARC_P_QUARANTINE ? "DMARC_POLICY_QUARANTINE"
	                                                 : "DMARC_POLICY_SOFTFAIL";
	snprintf(opts[n++], sizeof(opts[0]), "%s : %s", o->domain, o->reason);
	snprintf(opts[n++], sizeof(opts[0]), "%s", pol);
	if (o->sampled_out || o->testing)
		snprintf(opts[n++], sizeof(opts[0]), "%s", o->sampled_out ? "sampled_out" : "t=y");
	return n;
}
