/*
 * arc - ARC chain verification (RFC 8617 section 5.2); see arc.h.
 *
 * The steps of section 5.2: collect the sets (none: "none"; more than 50:
 * "fail"); the structure: each instance 1..N has exactly one
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal, the
 * seal of instance 1 says cv=none and every later one cv=pass (a seal
 * that says cv=fail ends the chain as "fail"); the newest AMS verifies as
 * a DKIM signature would; each seal, newest first, verifies over the
 * sets 1..i in increasing instance order, AAR, AMS, AS within a set,
 * relaxed, the seal itself last with b= emptied (section 5.1.1). The
 * reasons are Rspamd's arc.lua's where it has them: a failed AMS, or the
 * list of failed seals in instance order.
 *
 * All cryptography, canonicalization and key handling is dkim.c's: a set
 * is handed to it with dkim_add(), and only the bookkeeping is here.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/arc.h"
#include "core/mem.h"
#include "core/sbuf.h"

enum { AAR, AMS, AS };

static const char *const lname[] = {"arc-authentication-results", "arc-message-signature",
                                    "arc-seal"};
static const char *const dname[] = {"ARC-Authentication-Results", "ARC-Message-Signature",
                                    "ARC-Seal"};

struct set {
	int have[3];
	size_t field[3]; /* header index of each of the three */
	enum dkim_cv cv;
	char d[3][DKIM_DOMAIN_MAX + 1]; /* the AMS's and the seal's d=, for the reasons */
};

struct arc {
	struct dkim *dk;
	struct arc_result res;
	int decided; /* the structure already gave the verdict */
	int ams_k;   /* dkim_result() index of the newest AMS */
	int seal_k[ARC_MAX_SETS + 1];
	int reported;
	arc_done_cb *done;
	void *arg;
};

struct arc *arc_new(const struct dkim_params *p)
{
	struct arc *a = xcalloc(1, sizeof(*a));

	a->dk = dkim_new(p);
	return a;
}

void arc_free(struct arc *a)
{
	if (a == NULL)
		return;
	/* dkim_free() forgets the callback into a when lookups are still in flight. */
	dkim_free(a->dk);
	free(a);
}

void arc_header(struct arc *a, const char *field, size_t len)
{
	dkim_header(a->dk, field, len);
}

void arc_body(struct arc *a, const char *p, size_t len)
{
	dkim_body(a->dk, p, len);
}

void arc_eom(struct arc *a)
{
	dkim_eom(a->dk);
}

int arc_done(const struct arc *a)
{
	return a->reported;
}

const struct arc_result *arc_result(const struct arc *a)
{
	return &a->res;
}

const char *arc_status_str(enum arc_status s)
{
	return s == ARC_PASS ? "pass" : s == ARC_FAIL ? "fail" : "none";
}

static int decide(struct arc *a, enum arc_why why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int decide(struct arc *a, enum arc_why why, const char *fmt, ...)
{
	va_list ap;

	a->res.status = ARC_FAIL;
	a->res.why = why;
	va_start(ap, fmt);
	vsnprintf(a->res.reason, sizeof(a->res.reason), fmt, ap);
	va_end(ap);
	a->decided = 1;
	return -1;
}

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An ARC-Authentication-Results value starts with the instance: [CFWS] "i" "=" 1*DIGIT ";". */
int arc_aar_instance(const char *v, size_t len)
{
	size_t i = 0;
	int n = 0, digits = 0;

	while (i < len && is_fws(v[i]))
		i++;
	if (i == len || (v[i] != 'i' && v[i] != 'I'))
		return -1;
	for (i++; i < len && is_fws(v[i]); i++)
		;
	if (i == len || v[i] != '=')
		return -1;
	for (i++; i < len && is_fws(v[i]); i++)
		;
	for (; i < len && v[i] >= '0' && v[i] <= '9' && digits < 3; i++, digits++)
		n = n * 10 + (v[i] - '0');
	while (i < len && is_fws(v[i]))
		i++;
	if (digits == 0 || i == len || v[i] != ';' || n < 1 || n > ARC_MAX_SETS)
		return -1;
	return n;
}

/* A d= as far as it is a domain's letters, for a reason given. */
static void copy_domain(const struct dkim_tag *t, char *out)
{
	size_t n = 0;

	for (; n < t->vlen && n < DKIM_DOMAIN_MAX; n++) {
		char c = t->val[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			break;
		out[n] = c;
	}
	out[n] = '\0';
}

/* The i= (and a seal's cv=, the d=) of an AMS or AS value from its tag-list; -1 if unusable. */
int arc_tag_instance(const char *v, size_t len, enum dkim_cv *cv, char *d)
{
	struct dkim_taglist tl;
	char err[64];
	int n = -1;

	*cv = DKIM_CV_FAIL;
	if (dkim_taglist_parse(v, len, &tl, err, sizeof(err)) < 0)
		return -1;
	for (int k = 0; k < tl.n; k++) {
		const struct dkim_tag *t = &tl.t[k];

		if (t->nlen == 1 && t->name[0] == 'i') {
			n = 0;
			for (size_t j = 0; j < t->vlen && n <= ARC_MAX_SETS; j++)
				n = t->val[j] >= '0' && t->val[j] <= '9'
				        ? n * 10 + (t->val[j] - '0')
				        : ARC_MAX_SETS + 1;
		} else if (t->nlen == 1 && t->name[0] == 'd') {
			copy_domain(t, d);
		} else if (t->nlen == 2 && memcmp(t->name, "cv", 2) == 0) {
			if (t->vlen == 4 && strncasecmp(t->val, "none", 4) == 0)
				*cv = DKIM_CV_NONE;
			else if (t->vlen == 4 && strncasecmp(t->val, "pass", 4) == 0)
				*cv = DKIM_CV_PASS;
		}
	}
	return n >= 1 && n <= ARC_MAX_SETS ? n : -1;
}

/* Step 1: the ARC fields into sets[1..]; the highest instance, 0 for none, -1 decided. */
static int collect(struct arc *a, struct set *sets)
{
	size_t nh = dkim_nheaders(a->dk);
	int nfields = 0, top = 0, count[3] = {0, 0, 0};

	for (size_t i = 0; i < nh; i++) {
		size_t len, vlen;
		const char *f = dkim_header_at(a->dk, i, &len), *v;
		int kind = -1, inst;
		enum dkim_cv cv = DKIM_CV_FAIL;
		char d[DKIM_DOMAIN_MAX + 1] = "";

		for (int k = 0; k < 3 && kind < 0; k++)
			if (dkim_header_is(a->dk, i, lname[k]))
				kind = k;
		if (kind < 0)
			continue;
		if (++nfields > ARC_MAX_FIELDS)
			return decide(a, ARC_WHY_STRUCTURE, "more than %d ARC header fields",
			              ARC_MAX_FIELDS);
		count[kind]++;
		/* dkim_header_is() saw the name and its ':'. */
		v = (const char *)memchr(f, ':', len) + 1;
		vlen = len - (size_t)(v - f);
		inst = kind == AAR ? arc_aar_instance(v, vlen) : arc_tag_instance(v, vlen, &cv, d);
		if (inst < 0)
			return decide(a, ARC_WHY_STRUCTURE, "bad i= in %s", dname[kind]);
		if (sets[inst].have[kind])
			return decide(a, ARC_WHY_STRUCTURE, "more than one %s for i=%d",
			              dname[kind], inst);
		sets[inst].have[kind] = 1;
		sets[inst].field[kind] = i;
		memcpy(sets[inst].d[kind], d, sizeof(d));
		if (kind == AS)
			sets[inst].cv = cv;
		if (inst > top)
			a->res.instances = top = inst;
	}
	if (nfields > 0 && count[AMS] != count[AS])
		return decide(a, ARC_WHY_STRUCTURE, "invalid count of seals and signatures");
	return top;
}

/* The instance Rspamd would find at place i of its sorted list of kind: the next one present. */
static int next_present(const struct set *sets, int n, int kind, int i)
{
	while (i <= n && !sets[i].have[kind])
		i++;
	return i;
}

/*
 * Steps 2 and 3: every instance 1..n complete, cv= as the chain requires. A missing AMS or
 * seal is told as Rspamd tells it, from its list sorted by i=.
 */
static int structure(struct arc *a, const struct set *sets, int n)
{
	if (sets[n].have[AS] && sets[n].cv == DKIM_CV_FAIL)
		return decide(a, ARC_WHY_SIGNATURE, "cv is fail on i=%d", n);
	for (int i = 1; i <= n; i++) {
		int j;

		for (int k = AMS; k <= AS; k++) {
			if (sets[i].have[k])
				continue;
			if ((j = next_present(sets, n, k, i)) > n)
				return decide(a, ARC_WHY_STRUCTURE, "no %s for i=%d", dname[k], i);
			return decide(a, ARC_WHY_STRUCTURE, "bad i for %s: %d, expected %d; d=%s",
			              k == AMS ? "signature" : "seal", j, i, sets[j].d[k]);
		}
		if (!sets[i].have[AAR])
			return decide(a, ARC_WHY_STRUCTURE, "no %s for i=%d", dname[AAR], i);
		if (i == 1 && sets[i].cv != DKIM_CV_NONE)
			return decide(a, ARC_WHY_STRUCTURE, "cv is not \"none\" for i=1");
		if (i > 1 && sets[i].cv != DKIM_CV_PASS)
			return decide(a, ARC_WHY_SIGNATURE, "cv is %s on i=%d",
			              sets[i].cv == DKIM_CV_NONE ? "none" : "fail", i);
	}
	return 0;
}

/* A failed verdict as Rspamd lists one: "[k] = sig:domain:reason". */
static void list_failure(struct sbuf *sb, int k, const struct dkim_sig_result *r)
{
	char item[DKIM_DOMAIN_MAX + 128];

	snprintf(item, sizeof(item), "%s[%d] = sig:%s:%s", k > 1 ? ", " : "", k, r ? r->domain : "",
	         r ? r->reason : "not verified");
	sbuf_puts(sb, item);
}

/*
 * Steps 4 and 6. The newest AMS first; then the seals, all of which are verified: their
 * failures are listed in instance order, as Rspamd lists them. A chain that fails only for
 * want of keys is a DNS failure.
 */
static void judge(struct arc *a)
{
	int n = a->res.instances, nfail = 0, ntemp = 0, ti = 0;
	const struct dkim_sig_result *r = dkim_result(a->dk, a->ams_k), *temp = NULL;
	struct sbuf sb;

	if (r && r->result == DKIM_TEMPERROR) {
		decide(a, ARC_WHY_DNS, "%s:s=%s:i=%d:%s", r->domain, r->selector, n, r->reason);
		return;
	}
	sbuf_init(&sb);
	if (r == NULL || r->result != DKIM_PASS) {
		list_failure(&sb, 1, r);
		decide(a, ARC_WHY_SIGNATURE, "signature check failed: fail, {%s}", sbuf_cstr(&sb));
		sbuf_free(&sb);
		return;
	}
	for (int i = 1; i <= n; i++) {
		r = dkim_result(a->dk, a->seal_k[i]);
		if (r && r->result == DKIM_PASS)
			continue;
		if (r && r->result == DKIM_TEMPERROR && ntemp++ == 0) {
			temp = r;
			ti = i;
		}
		list_failure(&sb, ++nfail, r);
	}
	if (nfail > 0 && ntemp == nfail)
		decide(a, ARC_WHY_DNS, "%s:s=%s:i=%d:%s", temp->domain, temp->selector, ti,
		       temp->reason);
	else if (nfail > 0)
		decide(a, ARC_WHY_SIGNATURE, "seal check failed: fail, {%s}", sbuf_cstr(&sb));
	sbuf_free(&sb);
	if (nfail > 0)
		return;
	r = dkim_result(a->dk, a->seal_k[n]);
	a->res.status = ARC_PASS;
	snprintf(a->res.domain, sizeof(a->res.domain), "%s", r->domain);
	snprintf(a->res.selector, sizeof(a->res.selector), "%s", r->selector);
}

static void on_dkim(void *arg, struct dkim *dk)
{
	struct arc *a = arg;

	if (!a->decided && a->res.instances > 0)
		judge(a);
	a->reported = 1;
	if (a->done)
		a->done(a->arg, a);
}

/* Hand the newest AMS and every seal to the DKIM engine. */
static void add_chain(struct arc *a, const struct set *sets, int n)
{
	size_t list[3 * ARC_MAX_SETS];
	int nl = 0;

	a->ams_k = dkim_add(a->dk, sets[n].field[AMS], DKIM_KIND_AMS, NULL, 0);
	for (int i = 1; i <= n; i++) {
		list[nl++] = sets[i].field[AAR];
		list[nl++] = sets[i].field[AMS];
		/* A seal signs the sets below it and its own AAR and AMS, then itself. */
		a->seal_k[i] = dkim_add(a->dk, sets[i].field[AS], DKIM_KIND_SEAL, list, nl);
		list[nl++] = sets[i].field[AS];
	}
}

void arc_eoh(struct arc *a, const struct dkim_resolver *r, arc_done_cb *done, void *arg)
{
	struct set *sets = xcalloc(ARC_MAX_SETS + 1, sizeof(*sets));
	int n = collect(a, sets);

	a->done = done;
	a->arg = arg;
	if (n > 0) {
		a->res.instances = n;
		if (structure(a, sets, n) == 0)
			add_chain(a, sets, n);
	}
	free(sets);
	dkim_start(a->dk, r, on_dkim, a);
}

void arc_symbols(const struct arc *a, dkim_symbol_fn *fn, void *arg)
{
	const struct arc_result *r = &a->res;
	char opt[DKIM_DOMAIN_MAX + DKIM_SELECTOR_MAX + 16];

	if (r->status == ARC_NONE) {
		fn(arg, "ARC_NA", NULL);
	} else if (r->status == ARC_PASS) {
		snprintf(opt, sizeof(opt), "%s:s=%s:i=%d", r->domain, r->selector, r->instances);
		fn(arg, "ARC_ALLOW", opt);
	} else {
		fn(arg,
		   r->why == ARC_WHY_DNS         ? "ARC_DNSFAIL"
		   : r->why == ARC_WHY_STRUCTURE ? "ARC_INVALID"
		                                 : "ARC_REJECT",
		   r->reason);
	}
}
