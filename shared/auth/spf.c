/*
 * spf - RFC 7208 check_host(); see spf.h.
 *
 * How it waits for DNS: an evaluation is a pure function of the answers
 * it gets, so it is simply run again from the start whenever the answers
 * it was missing have come back. Each run either finishes or names the
 * lookups it needs next (every one it can see at that point: all MX or PTR
 * names' addresses at once), which are sent together. Answers are kept per
 * check (a run never sees the world change under it) and dns.c caches them
 * by TTL across checks. A run costs microseconds; the runs of one check
 * are bounded by its distinct queries (at most SPF_MAX_QUERIES).
 *
 * Limits (RFC 7208 4.6.4): 10 terms that query DNS (include, a, mx, ptr,
 * exists, redirect), 2 void lookups (an answer with no records, or
 * NXDOMAIN), at most 10 MX names (more is a permerror), the first 10 PTR
 * names; nesting at most SPF_MAX_DEPTH; a macro expands into at most
 * SPF_EXPAND_MAX bytes; records at most DNS_RR_TXT_MAX bytes.
 *
 * Where RFC 7208 leaves room, this follows pyspf (the reference the tests
 * compare against): every empty answer counts as a void lookup, including
 * those for the addresses of MX and PTR names; %{p} is worked out once per
 * check. Where pyspf departs from the RFC, this follows the RFC: see the
 * list in t/spf-pyspf.t.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/dns.h"
#include "core/mem.h"
#include "auth/spf.h"

#define SPF_MAX_LOOKUPS 10
#define SPF_MAX_VOIDS 2
#define SPF_MAX_MX 10
#define SPF_MAX_PTR 10
#define SPF_MAX_DEPTH 12
/* Distinct queries of one check: the limits above allow about 130. */
#define SPF_MAX_QUERIES 200
#define SPF_EXPAND_MAX 1024
#define SPF_NAME_MAX 256
#define SPF_IDENT_MAX 320

/* Internal verdicts beside enum spf_result. */
#define PENDING (-1)
#define NOMATCH (-2)
#define MATCH (-3)
#define NORECORD (-4)

enum kind {
	M_ALL,
	M_INCLUDE,
	M_A,
	M_MX,
	M_PTR,
	M_IP4,
	M_IP6,
	M_EXISTS,
	X_REDIRECT,
	X_EXP,
	X_OTHER,
};

struct term {
	enum kind kind;
	char qual;        /* '+', '-', '~', '?' */
	const char *spec; /* domain-spec, address or modifier value; NULL if none */
	size_t speclen;
	int cidr4, cidr6; /* -1 when not given */
	const char *text; /* the term as written, without its qualifier */
	size_t textlen;
};

/* The values macros expand to (section 7.2). p NULL = not yet known. */
struct macro_env {
	const char *s, *l, *o, *h, *r, *i, *c, *v, *p;
	long t;
};

struct known {
	struct spf_check *c;
	int type;
	char name[SPF_NAME_MAX];
	struct dns_answer *a; /* NULL while the query is out */
};

struct spf_check {
	struct dns *d;
	spf_cb *cb;
	void *arg;
	int v6;
	struct in_addr ip4;
	struct in6_addr ip6;
	char sender[SPF_IDENT_MAX + 1], local[SPF_IDENT_MAX + 1], domain[SPF_NAME_MAX];
	char helo[SPF_NAME_MAX], receiver[SPF_NAME_MAX];
	char mi[80], mc[INET6_ADDRSTRLEN];
	int helo_identity;
	struct known **known; /* SPF_MAX_QUERIES slots, each allocated when used */
	int nknown, inflight;
	int in_run, cancelled, rounds;
	struct spf_outcome out;
};

/* One evaluation from the start. */
struct run {
	int lookups, voids;
	int have_p;
	char p[SPF_NAME_MAX];
	char problem[SPF_TEXT_MAX];
	char mech[SPF_TEXT_MAX];
	int mech_all;
	char exp_spec[SPF_EXPAND_MAX]; /* exp= of the record deciding the result */
	char exp_domain[SPF_NAME_MAX];
};

const char *spf_result_str(enum spf_result r)
{
	static const char *const names[] = {"none",     "neutral",   "pass",     "fail",
	                                    "softfail", "temperror", "permerror"};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* err = "what: a" (a cut at 80 bytes); returns code. */
static int problem(char *err, size_t errlen, int code, const char *what, const char *a, size_t alen)
{
	snprintf(err, errlen, "%s: %.*s", what, (int)(alen > 80 ? 80 : alen), a ? a : "");
	return code;
}

/* strlcpy */
static void scpy(char *d, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l >= n)
		l = n - 1;
	memcpy(d, s, l);
	d[l] = '\0';
}

/* ---- macros (section 7) ---------------------------------------------- */

static const char *macro_value(const struct macro_env *e, int letter, char *tbuf)
{
	switch (letter) {
	case 's':
		return e->s;
	case 'l':
		return e->l;
	case 'o':
		return e->o;
	case 'h':
		return e->h;
	case 'i':
		return e->i;
	case 'v':
		return e->v;
	case 'p':
		return e->p;
	case 'c':
		return e->c;
	case 'r':
		return e->r;
	case 't':
		snprintf(tbuf, 24, "%ld", e->t);
		return tbuf;
	}
	return NULL;
}

static int put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (*o + n >= outlen)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

/*
 * One %{...} macro: value split at delims, maybe reversed, the rightmost
 * keep parts joined with '.', URL-escaped for an upper-case letter.
 */
static int put_macro(char *out, size_t outlen, size_t *o, const char *val, const char *delims,
                     int reverse, int keep, int escape)
{
	const char *start[SPF_EXPAND_MAX / 2 + 2];
	size_t len[SPF_EXPAND_MAX / 2 + 2];
	int n = 0, first;
	const char *p = val;
	char tmp[SPF_EXPAND_MAX];
	size_t t = 0;

	tmp[0] = '\0';
	/* Values are at most SPF_IDENT_MAX bytes: the part arrays always suffice. */
	for (;;) {
		const char *q = p;

		while (*q && !strchr(delims, *q))
			q++;
		if (n == (int)(sizeof(start) / sizeof(start[0])))
			return -1;
		start[n] = p;
		len[n++] = (size_t)(q - p);
		if (*q == '\0')
			break;
		p = q + 1;
	}
	if (reverse)
		for (int i = 0; i < n / 2; i++) {
			const char *s = start[i];
			size_t l = len[i];

			start[i] = start[n - 1 - i], len[i] = len[n - 1 - i];
			start[n - 1 - i] = s, len[n - 1 - i] = l;
		}
	first = keep > 0 && keep < n ? n - keep : 0;
	for (int i = first; i < n; i++)
		if ((i > first && put(tmp, sizeof(tmp), &t, ".", 1) < 0) ||
		    put(tmp, sizeof(tmp), &t, start[i], len[i]) < 0)
			return -1;
	if (!escape)
		return put(out, outlen, o, tmp, t);
	for (size_t i = 0; i < t; i++) {
		unsigned char ch = (unsigned char)tmp[i];
		char hex[4];

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			if (put(out, outlen, o, (const char *)&tmp[i], 1) < 0)
				return -1;
		} else {
			snprintf(hex, sizeof(hex), "%%%02X", ch);
			if (put(out, outlen, o, hex, 3) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * Expand spec into out. 0; -1 with err (syntax, or too long); PENDING when
 * %{p} is used and e->p is NULL.
 */
static int expand_env(const struct macro_env *e, const char *d, const char *spec, size_t len,
                      int exp, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t o = 0;
	char tbuf[24];

	out[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		char ch = spec[i];
		const char *val;
		int letter, keep = 0, reverse = 0, upper, digits = 0;
		char delims[8];
		size_t nd = 0;

		if (ch != '%') {
			if ((ch < 0x21 || ch > 0x7e) && !(exp && ch == ' '))
				return problem(err, errlen, -1, "bad character", spec, len);
			if (put(out, outlen, &o, &ch, 1) < 0)
				goto long_;
			continue;
		}
		if (++i == len)
			return problem(err, errlen, -1, "'%' at the end", spec, len);
		if (spec[i] == '%' || spec[i] == '_' || spec[i] == '-') {
			const char *lit = spec[i] == '%' ? "%" : spec[i] == '_' ? " " : "%20";

			if (put(out, outlen, &o, lit, strlen(lit)) < 0)
				goto long_;
			continue;
		}
		if (spec[i] != '{' || ++i == len)
			return problem(err, errlen, -1, "bad macro", spec, len);
		letter = tolower((unsigned char)spec[i]);
		upper = isupper((unsigned char)spec[i]);
		if (!strchr("slodiphcrtv", letter))
			return problem(err, errlen, -1, "unknown macro letter", spec, len);
		if (!exp && strchr("crt", letter))
			return problem(err, errlen, -1, "c, r, t macros outside exp=", spec, len);
		for (i++; i < len && isdigit((unsigned char)spec[i]); i++)
			if (++digits <= 3)
				keep = keep * 10 + (spec[i] - '0');
			else
				keep = 1000;
		if (digits > 0 && keep == 0)
			return problem(err, errlen, -1, "zero digit transformer", spec, len);
		if (i < len && (spec[i] == 'r' || spec[i] == 'R'))
			reverse = 1, i++;
		for (; i < len && strchr(".-+,/_=", spec[i]) && spec[i]; i++)
			if (nd < sizeof(delims) - 1)
				delims[nd++] = spec[i];
		delims[nd] = '\0';
		if (i == len || spec[i] != '}')
			return problem(err, errlen, -1, "bad macro", spec, len);
		val = letter == 'd' ? d : macro_value(e, letter, tbuf);
		if (val == NULL)
			return PENDING;
		if (put_macro(out, outlen, &o, val, nd ? delims : ".", reverse, keep, upper) < 0)
			goto long_;
	}
	return 0;
long_:
	return problem(err, errlen, -1, "expansion too long", spec, len);
}

/* A domain-spec expanded to a name to query: trailing dot off, at most 253 bytes (7.3). */
static int expand_domain(const struct macro_env *e, const char *d, const char *spec, size_t len,
                         char *out, char *err, size_t errlen)
{
	char buf[SPF_EXPAND_MAX];
	size_t n;
	int r = expand_env(e, d, spec, len, 0, buf, sizeof(buf), err, errlen);
	const char *p = buf;

	if (r != 0)
		return r;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	/* "the left side is truncated ... by removing successive domain labels" */
	while (n > 253 && strchr(p, '.')) {
		const char *dot = strchr(p, '.');

		n -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (n == 0 || n > 253)
		return problem(err, errlen, -1, "empty or too long domain", spec, len);
	memcpy(out, p, n + 1);
	return 0;
}

int spf_expand(const struct spf_request *req, const char *domain, const char *spec, int exp,
               char *out, size_t outlen, char *err, size_t errlen)
{
	char local[SPF_IDENT_MAX + 1], odom[SPF_NAME_MAX], mi[80], mc[INET6_ADDRSTRLEN];
	const char *sender = req->sender && *req->sender ? req->sender : "";
	const char *at = strrchr(sender, '@');
	struct in6_addr a6;
	struct in_addr a4;
	struct macro_env e = {.s = sender,
	                      .h = req->helo ? req->helo : "",
	                      .r = req->receiver && *req->receiver ? req->receiver : "unknown",
	                      .p = "unknown",
	                      .t = (long)time(NULL)};

	snprintf(local, sizeof(local), "%.*s", at ? (int)(at - sender) : 0, sender);
	snprintf(odom, sizeof(odom), "%s", at ? at + 1 : sender);
	e.l = *local ? local : "postmaster";
	e.o = odom;
	mi[0] = mc[0] = '\0';
	if (req->ip && inet_pton(AF_INET, req->ip, &a4) == 1) {
		inet_ntop(AF_INET, &a4, mi, sizeof(mi));
		e.v = "in-addr";
	} else if (req->ip && inet_pton(AF_INET6, req->ip, &a6) == 1) {
		for (int i = 0; i < 16; i++)
			snprintf(mi + i * 4, sizeof(mi) - (size_t)i * 4, "%x.%x.",
			         a6.s6_addr[i] >> 4, a6.s6_addr[i] & 15);
		mi[63] = '\0';
		inet_ntop(AF_INET6, &a6, mc, sizeof(mc));
		e.v = "ip6";
	} else {
		e.v = "in-addr";
	}
	e.i = mi;
	e.c = *mc ? mc : mi;
	if (exp)
		return expand_env(&e, domain, spec, strlen(spec), 1, out, outlen, err, errlen);
	if (outlen < 254)
		return problem(err, errlen, -1, "no room for", spec, strlen(spec));
	return expand_domain(&e, domain, spec, strlen(spec), out, err, errlen);
}

/* ---- record syntax (section 4.6, 5, 6) --------------------------------- */

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int is_toplabel(const char *p, size_t n)
{
	int alpha = 0, hyphen = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '-')
			hyphen = 1;
		else if (isalpha((unsigned char)p[i]))
			alpha = 1;
		else if (!isdigit((unsigned char)p[i]))
			return 0;
	}
	if (hyphen)
		return p[0] != '-' && p[n - 1] != '-';
	return alpha;
}

/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static int domain_end_ok(const char *s, size_t n)
{
	const char *dot;
	size_t i;

	if (n > 0 && s[n - 1] == '}') {
		for (i = n - 1; i > 0 && s[i] != '{'; i--)
			;
		if (i > 0 && s[i] == '{' && s[i - 1] == '%' && !memchr(s + i, '%', n - i))
			return 1;
	}
	if (n > 0 && s[n - 1] == '.')
		n--;
	for (i = n; i > 0 && s[i - 1] != '.'; i--)
		;
	if (i == 0)
		return 0;
	dot = s + i - 1;
	return is_toplabel(dot + 1, n - i);
}

/* "/" followed by 0 or [1-9][0-9]* at the end of s[0..*n): its value (or 999), *n shortened. */
static int take_cidr(const char *s, size_t *n, int dual)
{
	size_t i = *n, need = dual ? 2 : 1;
	int v = 0;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == *n || (s[i] == '0' && *n - i > 1) || i < need || s[i - 1] != '/' ||
	    (dual && s[i - 2] != '/'))
		return -1;
	for (size_t k = i; k < *n; k++)
		v = v > 999 ? 1000 : v * 10 + (s[k] - '0');
	*n = i - need;
	return v;
}

static int ip4_ok(const char *s, size_t n, struct in_addr *a)
{
	char buf[INET_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789.") < n)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, a) == 1;
}

static int ip6_ok(const char *s, size_t n, struct in6_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789abcdefABCDEF:.") < n)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, a) == 1;
}

/* One term of a record. 0, or -1 with err. */
static int parse_term(const char *tok, size_t len, struct term *t, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum kind kind;
	} mechs[] = {{"all", M_ALL}, {"include", M_INCLUDE}, {"a", M_A},     {"mx", M_MX},
	             {"ptr", M_PTR}, {"ip4", M_IP4},         {"ip6", M_IP6}, {"exists", M_EXISTS}};
	const char *colon;
	size_t n, i, namelen;
	struct in6_addr a6;
	struct in_addr a4;

	memset(t, 0, sizeof(*t));
	t->cidr4 = t->cidr6 = -1;
	if (len > 0 && tok[len - 1] == ',')
		return problem(err, errlen, -1, "terms separated by commas", tok, len);
	/* modifier = name "=" macro-string; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
	if (isalpha((unsigned char)tok[0])) {
		for (i = 1;
		     i < len && (isalnum((unsigned char)tok[i]) || strchr("-_.", tok[i])) && tok[i];
		     i++)
			;
		if (i < len && tok[i] == '=') {
			t->kind = i == 8 && strncasecmp(tok, "redirect", 8) == 0 ? X_REDIRECT
			          : i == 3 && strncasecmp(tok, "exp", 3) == 0    ? X_EXP
			                                                         : X_OTHER;
			t->spec = tok + i + 1;
			t->speclen = len - i - 1;
			t->text = tok;
			t->textlen = len;
			if (t->kind != X_OTHER &&
			    (t->speclen == 0 || !domain_end_ok(t->spec, t->speclen)))
				return problem(err, errlen, -1, "bad domain", tok, len);
			return 0;
		}
	}
	t->qual = '+';
	if (len > 0 && strchr("+-~?", tok[0]) && tok[0]) {
		t->qual = tok[0];
		tok++, len--;
	}
	t->text = tok;
	t->textlen = len;
	n = len;
	if (n >= 3 && tok[n - 1] != '/') {
		size_t m = n;
		int v = take_cidr(tok, &m, 1);

		if (v >= 0)
			t->cidr6 = v, n = m;
	}
	{
		size_t m = n;
		int v = take_cidr(tok, &m, 0);

		if (v >= 0)
			t->cidr4 = v, n = m;
	}
	colon = memchr(tok, ':', n);
	namelen = colon ? (size_t)(colon - tok) : n;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == namelen &&
		    strncasecmp(tok, mechs[i].name, namelen) == 0)
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		return problem(err, errlen, -1, "unknown mechanism", tok, len);
	t->kind = mechs[i].kind;
	if (colon) {
		t->spec = colon + 1;
		t->speclen = n - namelen - 1;
	}
	switch (t->kind) {
	case M_ALL:
		if (colon || t->cidr4 >= 0 || t->cidr6 >= 0)
			return problem(err, errlen, -1, "all takes no argument", tok, len);
		return 0;
	case M_A:
	case M_MX:
		if (t->cidr4 > 32 || t->cidr6 > 128)
			return problem(err, errlen, -1, "bad CIDR length", tok, len);
		break;
	case M_IP4:
		if (t->cidr6 >= 0 || t->cidr4 > 32 || !colon || !ip4_ok(t->spec, t->speclen, &a4))
			return problem(err, errlen, -1, "bad ip4", tok, len);
		return 0;
	case M_IP6:
		if (t->cidr6 >= 0 || t->cidr4 > 128 || !colon || !ip6_ok(t->spec, t->speclen, &a6))
			return problem(err, errlen, -1, "bad ip6", tok, len);
		return 0;
	default:
		if (t->cidr4 >= 0 || t->cidr6 >= 0)
			return problem(err, errlen, -1, "no CIDR length allowed", tok, len);
		if ((t->kind == M_INCLUDE || t->kind == M_EXISTS) && !colon)
			return problem(err, errlen, -1, "domain missing", tok, len);
		break;
	}
	if (colon && (t->speclen == 0 || !domain_end_ok(t->spec, t->speclen)))
		return problem(err, errlen, -1, "bad domain", tok, len);
	return 0;
}

/* The next space-separated token of rec after *pos; 0 at the end. */
static int next_token(const char *rec, size_t *pos, const char **tok, size_t *len)
{
	size_t i = *pos;

	while (rec[i] == ' ')
		i++;
	if (rec[i] == '\0')
		return 0;
	*tok = rec + i;
	while (rec[i] && rec[i] != ' ')
		i++;
	*len = (size_t)(rec + i - *tok);
	*pos = i;
	return 1;
}

/* "v=spf1" followed by a space or the end (4.5). */
static int is_spf_record(const char *s, size_t n)
{
	return n >= 6 && strncasecmp(s, "v=spf1", 6) == 0 && (n == 6 || s[6] == ' ');
}

int spf_record_check(const char *record, char *err, size_t errlen)
{
	struct spf_request req = {.ip = "192.0.2.1", .sender = "a@example.com"};
	char out[SPF_EXPAND_MAX];
	const char *tok;
	size_t pos = 6, len;
	struct term t;
	int redirects = 0, exps = 0;

	if (!is_spf_record(record, strlen(record))) {
		snprintf(err, errlen, "not an SPF record");
		return -1;
	}
	while (next_token(record, &pos, &tok, &len)) {
		char spec[SPF_EXPAND_MAX];

		if (parse_term(tok, len, &t, err, errlen) < 0)
			return -1;
		if ((t.kind == X_REDIRECT && ++redirects > 1) || (t.kind == X_EXP && ++exps > 1)) {
			problem(err, errlen, -1, "modifier twice", tok, len);
			return -1;
		}
		if (t.spec == NULL || t.kind == M_IP4 || t.kind == M_IP6)
			continue;
		snprintf(spec, sizeof(spec), "%.*s", (int)t.speclen, t.spec);
		if (spf_expand(&req, "example.com", spec, t.kind == X_OTHER, out, sizeof(out), err,
		               errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- DNS ---------------------------------------------------------------- */

static struct dns_answer *answer_copy(const struct dns_answer *a)
{
	struct dns_answer *c = xmalloc(sizeof(*c) + a->buflen);

	memcpy(c, a, sizeof(*c) + a->buflen);
	for (int i = 0; i < c->nrr; i++)
		if (a->rr[i].str)
			c->rr[i].str = c->buf + (a->rr[i].str - a->buf);
	return c;
}

static void step(struct spf_check *c);

static void check_free(struct spf_check *c)
{
	for (int i = 0; i < c->nknown; i++) {
		free(c->known[i]->a);
		free(c->known[i]);
	}
	free(c->known);
	free(c);
}

static void on_answer(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct known *k = arg;
	struct spf_check *c = k->c;

	(void)name, (void)type;
	k->a = answer_copy(a);
	c->inflight--;
	if (c->cancelled) {
		if (c->inflight == 0)
			check_free(c);
		return;
	}
	if (!c->in_run && c->inflight == 0)
		step(c);
}

static const struct dns_answer too_many = {.status = DNS_Q_FAIL};

/* The answer for (name, type), or NULL while it is on its way. */
static const struct dns_answer *lookup(struct spf_check *c, const char *name, int type)
{
	struct known *k;

	for (int i = 0; i < c->nknown; i++)
		if (c->known[i]->type == type && strcasecmp(c->known[i]->name, name) == 0)
			return c->known[i]->a;
	if (c->nknown == SPF_MAX_QUERIES)
		return &too_many;
	k = c->known[c->nknown++] = xcalloc(1, sizeof(*k));
	k->c = c;
	k->type = type;
	snprintf(k->name, sizeof(k->name), "%s", name);
	c->inflight++;
	dns_query(c->d, k->name, type, on_answer, k);
	return k->a;
}

/*
 * An answer with records (0), an empty one counted as a void lookup (1),
 * or PENDING, SPF_TEMPERROR, SPF_PERMERROR (too many void lookups).
 */
static int get(struct spf_check *c, struct run *r, const char *name, int type, int count_void,
               const struct dns_answer **ap)
{
	const struct dns_answer *a = lookup(c, name, type);

	*ap = a;
	if (a == NULL)
		return PENDING;
	if (a->status == DNS_Q_TIMEOUT || a->status == DNS_Q_FAIL) {
		snprintf(r->problem, sizeof(r->problem), "DNS %s for %s",
		         a == &too_many ? "query limit reached" : dns_qstatus_str(a->status), name);
		return SPF_TEMPERROR;
	}
	if (a->status == DNS_Q_OK)
		return 0;
	if (count_void && ++r->voids > SPF_MAX_VOIDS) {
		snprintf(r->problem, sizeof(r->problem), "more than %d void lookups (at %s)",
		         SPF_MAX_VOIDS, name);
		return SPF_PERMERROR;
	}
	return 1;
}

static int addr_type(const struct spf_check *c)
{
	return c->v6 ? DNS_T_AAAA : DNS_T_A;
}

static int cidr_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)bytes) != 0)
		return 0;
	return rest == 0 || ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Whether one of the addresses of answer a is the client's, within the prefix. */
static int answer_matches(const struct spf_check *c, const struct dns_answer *a, int cidr4,
                          int cidr6)
{
	for (int i = 0; a && i < a->nrr; i++) {
		if (a->type == DNS_T_A && !c->v6 &&
		    cidr_match((const unsigned char *)&a->rr[i].u.a, (const unsigned char *)&c->ip4,
		               cidr4 < 0 ? 32 : cidr4))
			return 1;
		if (a->type == DNS_T_AAAA && c->v6 &&
		    cidr_match(a->rr[i].u.aaaa.s6_addr, c->ip6.s6_addr, cidr6 < 0 ? 128 : cidr6))
			return 1;
	}
	return 0;
}

/*
 * The client's validated names (5.5): the first SPF_MAX_PTR names of its
 * PTR records whose own addresses include it. 0 with *n, PENDING, or
 * SPF_PERMERROR (void limit). A DNS error means no names.
 */
static int validated_names(struct spf_check *c, struct run *r, char names[][SPF_NAME_MAX], int *n)
{
	const struct dns_answer *a, *aa[SPF_MAX_PTR];
	char rev[80];
	int rc, m, waiting = 0;

	*n = 0;
	if (c->v6) {
		for (int i = 0; i < 16; i++)
			snprintf(rev + i * 4, sizeof(rev) - (size_t)i * 4, "%x.%x.",
			         c->ip6.s6_addr[15 - i] & 15, c->ip6.s6_addr[15 - i] >> 4);
		snprintf(rev + 64, sizeof(rev) - 64, "ip6.arpa");
	} else {
		const unsigned char *b = (const unsigned char *)&c->ip4;

		snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
	}
	rc = get(c, r, rev, DNS_T_PTR, 1, &a);
	if (rc == SPF_TEMPERROR)
		return 0;
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	m = a->nrr < SPF_MAX_PTR ? a->nrr : SPF_MAX_PTR;
	/* Ask for all the names' addresses at once. */
	for (int i = 0; i < m; i++)
		if ((aa[i] = lookup(c, a->rr[i].str, addr_type(c))) == NULL)
			waiting = 1;
	if (waiting)
		return PENDING;
	for (int i = 0; i < m; i++) {
		const struct dns_answer *x;

		rc = get(c, r, a->rr[i].str, addr_type(c), 1, &x);
		if (rc == SPF_PERMERROR)
			return rc;
		if (rc == 0 && answer_matches(c, x, -1, -1))
			snprintf(names[(*n)++], SPF_NAME_MAX, "%s", a->rr[i].str);
	}
	return 0;
}

/* %{p} (7.3): a validated name, preferring domain or one below it; "unknown". Once per run. */
static int compute_p(struct spf_check *c, struct run *r, const char *domain)
{
	char names[SPF_MAX_PTR][SPF_NAME_MAX];
	size_t dl = strlen(domain);
	int n, rc = validated_names(c, r, names, &n), best = -1;

	if (rc != 0)
		return rc;
	for (int i = 0; i < n && best < 0; i++)
		if (strcasecmp(names[i], domain) == 0)
			best = i;
	for (int i = 0; i < n && best < 0; i++) {
		size_t nl = strlen(names[i]);

		if (nl > dl && names[i][nl - dl - 1] == '.' &&
		    strcasecmp(names[i] + nl - dl, domain) == 0)
			best = i;
	}
	if (best < 0 && n > 0)
		best = 0;
	scpy(r->p, sizeof(r->p), best >= 0 ? names[best] : "unknown");
	r->have_p = 1;
	return 0;
}

static void env_of(const struct spf_check *c, const struct run *r, struct macro_env *e)
{
	e->s = c->sender;
	e->l = c->local;
	e->o = c->domain;
	e->h = c->helo;
	e->r = c->receiver;
	e->i = c->mi;
	e->c = c->mc;
	e->v = c->v6 ? "ip6" : "in-addr";
	e->p = r->have_p ? r->p : NULL;
	e->t = (long)time(NULL);
}

/* Expand a term's domain-spec (or take domain): 0, PENDING, SPF_PERMERROR/TEMPERROR. */
static int target(struct spf_check *c, struct run *r, const struct term *t, const char *domain,
                  char *out)
{
	struct macro_env e;
	int rc;

	if (t->spec == NULL) {
		snprintf(out, SPF_NAME_MAX, "%s", domain);
		return 0;
	}
	for (int tries = 0; tries < 2; tries++) {
		env_of(c, r, &e);
		rc = expand_domain(&e, domain, t->spec, t->speclen, out, r->problem,
		                   sizeof(r->problem));
		if (rc == 0)
			return 0;
		if (rc != PENDING)
			return SPF_PERMERROR;
		if ((rc = compute_p(c, r, domain)) != 0)
			return rc;
	}
	return SPF_PERMERROR;
}

/* ---- evaluation (section 4, 5, 6) ----------------------------------------- */

static int check_host(struct spf_check *c, struct run *r, const char *domain, int depth, int top);

static int count_lookup(struct run *r, const struct term *t)
{
	if (++r->lookups <= SPF_MAX_LOOKUPS)
		return 0;
	return problem(r->problem, sizeof(r->problem), SPF_PERMERROR,
	               "more than 10 DNS lookups, at", t->text, t->textlen);
}

static int eval_mx(struct spf_check *c, struct run *r, const struct term *t, const char *name)
{
	const struct dns_answer *a, *x;
	int rc, m, waiting = 0, match = 0;

	if ((rc = get(c, r, name, DNS_T_MX, 1, &a)) != 0)
		return rc == 1 ? NOMATCH : rc;
	if (a->nrr_all > SPF_MAX_MX)
		return problem(r->problem, sizeof(r->problem), SPF_PERMERROR,
		               "more than 10 MX records for", name, strlen(name));
	m = a->nrr;
	for (int i = 0; i < m; i++)
		if (lookup(c, a->rr[i].str, addr_type(c)) == NULL)
			waiting = 1;
	if (waiting)
		return PENDING;
	for (int i = 0; i < m; i++) {
		rc = get(c, r, a->rr[i].str, addr_type(c), 1, &x);
		if (rc == SPF_TEMPERROR || rc == SPF_PERMERROR)
			return rc;
		if (rc == 0 && answer_matches(c, x, t->cidr4, t->cidr6))
			match = 1;
	}
	return match ? MATCH : NOMATCH;
}

static int eval_term(struct spf_check *c, struct run *r, const struct term *t, const char *domain,
                     int depth)
{
	char name[SPF_NAME_MAX];
	const struct dns_answer *a;
	int rc;

	switch (t->kind) {
	case M_ALL:
		return MATCH;
	case M_IP4: {
		struct in_addr a4;

		ip4_ok(t->spec, t->speclen, &a4);
		return !c->v6 && cidr_match((const unsigned char *)&a4,
		                            (const unsigned char *)&c->ip4,
		                            t->cidr4 < 0 ? 32 : t->cidr4)
		           ? MATCH
		           : NOMATCH;
	}
	case M_IP6: {
		struct in6_addr a6;

		ip6_ok(t->spec, t->speclen, &a6);
		return c->v6 &&
		               cidr_match(a6.s6_addr, c->ip6.s6_addr, t->cidr4 < 0 ? 128 : t->cidr4)
		           ? MATCH
		           : NOMATCH;
	}
	default:
		break;
	}
	if ((rc = count_lookup(r, t)) != 0)
		return rc;
	if ((rc = target(c, r, t, domain, name)) != 0)
		return rc;
	switch (t->kind) {
	case M_INCLUDE:
		rc = check_host(c, r, name, depth + 1, 0);
		switch (rc) {
		case SPF_PASS:
			return MATCH;
		case SPF_FAIL:
		case SPF_SOFTFAIL:
		case SPF_NEUTRAL:
			return NOMATCH;
		case SPF_NONE:
			return problem(r->problem, sizeof(r->problem), SPF_PERMERROR,
			               "no SPF record at include", name, strlen(name));
		default:
			return rc;
		}
	case M_A:
		rc = get(c, r, name, addr_type(c), 1, &a);
		if (rc == 1)
			return NOMATCH;
		return rc != 0 ? rc : answer_matches(c, a, t->cidr4, t->cidr6) ? MATCH : NOMATCH;
	case M_MX:
		return eval_mx(c, r, t, name);
	case M_EXISTS:
		/* An A query whatever the client's family (5.7). */
		rc = get(c, r, name, DNS_T_A, 1, &a);
		return rc == 0 ? MATCH : rc == 1 ? NOMATCH : rc;
	case M_PTR: {
		char names[SPF_MAX_PTR][SPF_NAME_MAX];
		size_t dl = strlen(name);
		int n;

		if ((rc = validated_names(c, r, names, &n)) != 0)
			return rc;
		for (int i = 0; i < n; i++) {
			size_t nl = strlen(names[i]);

			if (strcasecmp(names[i], name) == 0 ||
			    (nl > dl && names[i][nl - dl - 1] == '.' &&
			     strcasecmp(names[i] + nl - dl, name) == 0))
				return MATCH;
		}
		return NOMATCH;
	}
	default:
		return NOMATCH;
	}
}

static enum spf_result qual_result(char q)
{
	switch (q) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

/* The one SPF record among domain's TXT records: 0 with *rec, NORECORD, or a result. */
static int find_record(struct spf_check *c, struct run *r, const char *domain, const char **rec)
{
	const struct dns_answer *a;
	int rc = get(c, r, domain, DNS_T_TXT, 1, &a), found = 0;

	if (rc == 1) {
		snprintf(r->problem, sizeof(r->problem), "no SPF record");
		return NORECORD;
	}
	if (rc != 0)
		return rc;
	for (int i = 0; i < a->nrr; i++) {
		if (!is_spf_record(a->rr[i].str, a->rr[i].len))
			continue;
		if (found++) {
			snprintf(r->problem, sizeof(r->problem), "more than one SPF record at %s",
			         domain);
			return SPF_PERMERROR;
		}
		*rec = a->rr[i].str;
		for (size_t k = 0; k < a->rr[i].len; k++)
			if ((unsigned char)a->rr[i].str[k] < 0x20 ||
			    (unsigned char)a->rr[i].str[k] > 0x7e || a->rr[i].truncated) {
				snprintf(r->problem, sizeof(r->problem),
				         "SPF record at %s not printable ASCII", domain);
				return SPF_PERMERROR;
			}
	}
	if (!found) {
		snprintf(r->problem, sizeof(r->problem), "no SPF record");
		return NORECORD;
	}
	return 0;
}

/*
 * Not malformed and multi-label (4.3); an address literal (a HELO of
 * "[192.0.2.1]" or "192.0.2.1") is no domain either: "none" without a query.
 */
static int domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0, digits = 0;

	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || !memchr(d, '.', n) || strpbrk(d, "[]:"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (d[i] != '.') {
			digits += isdigit((unsigned char)d[i]) != 0;
			if (++label > 63)
				return 0;
			continue;
		}
		if (label == 0)
			return 0;
		label = digits = 0;
	}
	return label > 0 && digits < label;
}

/*
 * Every term's syntax and every domain-spec's expansion first: "if there
 * are any syntax errors anywhere in the record, check_host() returns
 * immediately with the result permerror" (4.6). The redirect and exp
 * modifiers are returned.
 */
static int check_syntax(struct spf_check *c, struct run *r, const char *rec, const char *domain,
                        struct term *redirect, struct term *exp)
{
	const char *tok;
	size_t pos = 6, len;
	struct term t;
	char name[SPF_NAME_MAX], out[SPF_EXPAND_MAX];
	int rc;

	redirect->kind = exp->kind = X_OTHER;
	while (next_token(rec, &pos, &tok, &len)) {
		if (parse_term(tok, len, &t, r->problem, sizeof(r->problem)) < 0)
			return SPF_PERMERROR;
		if (t.kind == X_REDIRECT || t.kind == X_EXP) {
			struct term *slot = t.kind == X_REDIRECT ? redirect : exp;

			if (slot->kind != X_OTHER)
				return problem(r->problem, sizeof(r->problem), SPF_PERMERROR,
				               "modifier twice", tok, len);
			*slot = t;
		}
		if (t.kind == X_OTHER) {
			struct macro_env e;

			/* Unknown modifiers are ignored, but their macros must parse (6). */
			env_of(c, r, &e);
			e.p = "unknown";
			if (expand_env(&e, domain, t.spec, t.speclen, 0, out, sizeof(out),
			               r->problem, sizeof(r->problem)) < 0)
				return SPF_PERMERROR;
			continue;
		}
		if (t.spec == NULL || t.kind == M_IP4 || t.kind == M_IP6)
			continue;
		if ((rc = target(c, r, &t, domain, name)) != 0)
			return rc;
	}
	return 0;
}

static int check_host(struct spf_check *c, struct run *r, const char *domain, int depth, int top)
{
	struct term redirect, exp, t;
	const char *rec = NULL, *tok;
	size_t pos = 6, len;
	char name[SPF_NAME_MAX];
	int rc;

	if (depth > SPF_MAX_DEPTH)
		return problem(r->problem, sizeof(r->problem), SPF_PERMERROR, "nested too deep",
		               domain, strlen(domain));
	if (!domain_ok(domain)) {
		snprintf(r->problem, sizeof(r->problem), "malformed domain");
		return SPF_NONE;
	}
	if ((rc = find_record(c, r, domain, &rec)) != 0)
		return rc == NORECORD ? SPF_NONE : rc;
	if ((rc = check_syntax(c, r, rec, domain, &redirect, &exp)) != 0)
		return rc;
	if (top) {
		r->exp_spec[0] = '\0';
		if (exp.kind == X_EXP) {
			snprintf(r->exp_spec, sizeof(r->exp_spec), "%.*s", (int)exp.speclen,
			         exp.spec);
			snprintf(r->exp_domain, sizeof(r->exp_domain), "%s", domain);
		}
	}
	while (next_token(rec, &pos, &tok, &len)) {
		parse_term(tok, len, &t, r->problem, sizeof(r->problem));
		if (t.kind >= X_REDIRECT)
			continue;
		rc = eval_term(c, r, &t, domain, depth);
		if (rc == NOMATCH)
			continue;
		if (rc != MATCH)
			return rc;
		if (t.kind != M_INCLUDE) {
			snprintf(r->mech, sizeof(r->mech), "%.*s", (int)t.textlen, t.text);
			r->mech_all = t.kind == M_ALL;
		}
		return qual_result(t.qual);
	}
	r->mech[0] = '\0';
	r->mech_all = 0;
	if (redirect.kind != X_REDIRECT)
		return SPF_NEUTRAL;
	if ((rc = count_lookup(r, &redirect)) != 0 ||
	    (rc = target(c, r, &redirect, domain, name)) != 0)
		return rc;
	rc = check_host(c, r, name, depth + 1, top);
	if (rc == SPF_NONE) {
		problem(r->problem, sizeof(r->problem), 0, "no SPF record at redirect", name,
		        strlen(name));
		return SPF_PERMERROR;
	}
	return rc;
}

/* The exp= text for a fail (6.2): "" if there is none or it does not expand. */
static int explain(struct spf_check *c, struct run *r, const char *spec, char *out, size_t outlen)
{
	const struct dns_answer *a;
	struct term t = {.spec = spec, .speclen = strlen(spec)};
	struct macro_env e;
	char name[SPF_NAME_MAX], text[SPF_EXPAND_MAX], err[SPF_TEXT_MAX];
	int rc;

	out[0] = '\0';
	if ((rc = target(c, r, &t, r->exp_domain, name)) != 0)
		return rc == PENDING ? PENDING : 0;
	if ((rc = get(c, r, name, DNS_T_TXT, 0, &a)) != 0)
		return rc == PENDING ? PENDING : 0;
	if (a->nrr != 1 || a->rr[0].truncated || strlen(a->rr[0].str) != a->rr[0].len)
		return 0;
	for (int tries = 0; tries < 2; tries++) {
		env_of(c, r, &e);
		rc = expand_env(&e, r->exp_domain, a->rr[0].str, a->rr[0].len, 1, text,
		                sizeof(text), err, sizeof(err));
		if (rc == 0) {
			scpy(out, outlen, text);
			return 0;
		}
		if (rc != PENDING)
			return 0;
		if ((rc = compute_p(c, r, r->exp_domain)) != 0)
			return rc == PENDING ? PENDING : 0;
	}
	return 0;
}

/* Evaluate from the start; PENDING, or 0 with c->out filled. */
static int run_once(struct spf_check *c)
{
	struct run *r = xcalloc(1, sizeof(*r));
	struct spf_outcome *o = &c->out;
	int rc = check_host(c, r, c->domain, 0, 1);

	if (rc == SPF_FAIL && r->exp_spec[0] &&
	    explain(c, r, r->exp_spec, o->explanation, sizeof(o->explanation)) == PENDING)
		rc = PENDING;
	if (rc != PENDING) {
		o->result = (enum spf_result)rc;
		snprintf(o->mechanism, sizeof(o->mechanism), "%s", r->mech);
		o->plus_all = rc == SPF_PASS && r->mech_all;
		if (rc == SPF_NONE || rc == SPF_TEMPERROR || rc == SPF_PERMERROR)
			snprintf(o->problem, sizeof(o->problem), "%s", r->problem);
		o->lookups = r->lookups;
		o->voids = r->voids;
		o->queries = c->nknown;
	}
	free(r);
	return rc == PENDING ? PENDING : 0;
}

/* Run; on an outcome, report and free. Whether the check is over. */
static int finish_or_wait(struct spf_check *c)
{
	int rc;

	c->in_run = 1;
	rc = run_once(c);
	c->in_run = 0;
	if (rc == PENDING && c->inflight > 0) {
		c->rounds++;
		return 0;
	}
	c->out.rounds = c->rounds;
	if (rc == PENDING) {
		/* Cannot happen (a missing answer is always in flight); fail safe. */
		c->out.result = SPF_TEMPERROR;
		snprintf(c->out.problem, sizeof(c->out.problem), "internal: no progress");
	}
	c->cb(c->arg, &c->out);
	check_free(c);
	return 1;
}

static void step(struct spf_check *c)
{
	finish_or_wait(c);
}

struct spf_check *spf_check(struct dns *d, const struct spf_request *req, spf_cb *cb, void *arg)
{
	struct spf_check *c = xcalloc(1, sizeof(*c));
	const char *sender = req->sender ? req->sender : "", *helo = req->helo ? req->helo : "";
	const char *at;

	c->d = d;
	c->cb = cb;
	c->arg = arg;
	snprintf(c->receiver, sizeof(c->receiver), "%s",
	         req->receiver && *req->receiver ? req->receiver : "unknown");
	snprintf(c->helo, sizeof(c->helo), "%s", helo);
	if (*sender == '\0') {
		/* 2.3: a null sender checks postmaster@HELO */
		snprintf(c->sender, sizeof(c->sender), "postmaster@%s", helo);
		c->helo_identity = 1;
	} else {
		snprintf(c->sender, sizeof(c->sender), "%s", sender);
	}
	at = strrchr(c->sender, '@');
	snprintf(c->local, sizeof(c->local), "%.*s", at ? (int)(at - c->sender) : 0, c->sender);
	if (c->local[0] == '\0')
		snprintf(c->local, sizeof(c->local), "postmaster");
	scpy(c->domain, sizeof(c->domain), at ? at + 1 : c->sender);
	c->out.helo_identity = c->helo_identity;
	snprintf(c->out.domain, sizeof(c->out.domain), "%s", c->domain);
	if (req->ip && inet_pton(AF_INET6, req->ip, &c->ip6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&c->ip6)) {
		c->v6 = 1;
		for (int i = 0; i < 16; i++)
			snprintf(c->mi + i * 4, sizeof(c->mi) - (size_t)i * 4, "%x.%x.",
			         c->ip6.s6_addr[i] >> 4, c->ip6.s6_addr[i] & 15);
		c->mi[63] = '\0';
		inet_ntop(AF_INET6, &c->ip6, c->mc, sizeof(c->mc));
	} else if (req->ip && inet_pton(AF_INET6, req->ip, &c->ip6) == 1) {
		memcpy(&c->ip4, c->ip6.s6_addr + 12, 4);
	} else if (!req->ip || inet_pton(AF_INET, req->ip, &c->ip4) != 1) {
		c->out.result = SPF_NONE;
		snprintf(c->out.problem, sizeof(c->out.problem), "bad client address");
		cb(arg, &c->out);
		free(c);
		return NULL;
	}
	if (!c->v6) {
		inet_ntop(AF_INET, &c->ip4, c->mi, sizeof(c->mi));
		scpy(c->mc, sizeof(c->mc), c->mi);
	}
	if (strlen(sender) > SPF_IDENT_MAX || strlen(helo) >= SPF_NAME_MAX) {
		c->out.result = SPF_NONE;
		snprintf(c->out.problem, sizeof(c->out.problem), "identity too long");
		cb(arg, &c->out);
		free(c);
		return NULL;
	}
	c->known = xcalloc(SPF_MAX_QUERIES, sizeof(*c->known));
	return finish_or_wait(c) ? NULL : c;
}

void spf_cancel(struct spf_check *c)
{
	if (c == NULL)
		return;
	c->cancelled = 1;
	if (c->inflight == 0)
		check_free(c);
}

const char *spf_symbol(const struct spf_outcome *o, char *opt, size_t optlen)
{
	static const char quals[] = {
	    [SPF_PASS] = '+', [SPF_FAIL] = '-', [SPF_SOFTFAIL] = '~', [SPF_NEUTRAL] = '?'};

	switch (o->result) {
	case SPF_PASS:
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		/* No mechanism matched: Rspamd reports its implicit "?all" (4.7). */
		snprintf(opt, optlen, "%c%s", quals[o->result],
		         o->mechanism[0] ? o->mechanism : "all");
		break;
	case SPF_NONE:
		snprintf(opt, optlen, "%s", o->problem[0] ? o->problem : "no SPF record");
		return "R_SPF_NA";
	case SPF_TEMPERROR:
		snprintf(opt, optlen, "%s", o->problem);
		return "R_SPF_DNSFAIL";
	default:
		snprintf(opt, optlen, "%s", o->problem);
		return "R_SPF_PERMFAIL";
	}
	if (o->result == SPF_PASS)
		return o->plus_all ? "R_SPF_PLUSALL" : "R_SPF_ALLOW";
	return o->result == SPF_FAIL       ? "R_SPF_FAIL"
	       : o->result == SPF_SOFTFAIL ? "R_SPF_SOFTFAIL"
	                                   : "R_SPF_NEUTRAL";
}
