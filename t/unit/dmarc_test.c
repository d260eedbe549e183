/*
 * dmarc_test - the DMARC engine (shared/auth/dmarc.c) over an in-memory zone:
 * the record parser and its limits, the tree walk's names and the
 * Organizational Domain both ways (RFC 9989 4.10, and the PSL), alignment,
 * the choice of p, sp and np, pct= against t=, and Rspamd's symbols.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "tap.h"

/* ---- a zone answered synchronously, as a cache hit is --------------------- */

#define ZMAX 64
static struct zrec {
	const char *name;
	int type;
	enum dns_qstatus st;
	const char *txt[3];
} zone[ZMAX];
static int nzone, nqueries;
static char asked[64][300];

static void zclear(void)
{
	nzone = nqueries = 0;
}

/* A TXT record set at name (NULL-terminated texts, up to 3). */
static void ztxt(const char *name, const char *t1, const char *t2)
{
	zone[nzone++] = (struct zrec){name, DNS_T_TXT, DNS_Q_OK, {t1, t2, NULL}};
}

static void zst(const char *name, int type, enum dns_qstatus st)
{
	zone[nzone++] = (struct zrec){name, type, st, {NULL}};
}

static void fake_query(void *ctx, const char *name, int type, dns_query_cb *cb, void *arg)
{
	struct dns_answer *a = calloc(1, sizeof(*a) + 4096);
	enum dns_qstatus st = DNS_Q_NXDOMAIN;
	size_t off = 0;

	(void)ctx;
	if (nqueries < 64)
		snprintf(asked[nqueries], sizeof(asked[0]), "%s/%d", name, type);
	nqueries++;
	/* A name with records of another type, or a parent of one, exists: NODATA. */
	for (int i = 0; i < nzone; i++) {
		size_t ln = strlen(name), lz = strlen(zone[i].name);

		if (zone[i].st == DNS_Q_OK && (strcasecmp(zone[i].name, name) == 0 ||
		                               (lz > ln && zone[i].name[lz - ln - 1] == '.' &&
		                                strcasecmp(zone[i].name + lz - ln, name) == 0)))
			st = DNS_Q_NODATA;
	}
	a->type = type;
	for (int i = 0; i < nzone; i++) {
		if (zone[i].type != type || strcasecmp(zone[i].name, name) != 0)
			continue;
		st = zone[i].st;
		for (int k = 0; k < 3 && zone[i].txt[k]; k++) {
			size_t n = strlen(zone[i].txt[k]);

			memcpy(a->buf + off, zone[i].txt[k], n + 1);
			a->rr[a->nrr].str = a->buf + off;
			a->rr[a->nrr++].len = n;
			off += n + 1;
		}
		if (type != DNS_T_TXT && st == DNS_Q_OK)
			a->nrr = 1;
	}
	a->status = st;
	a->nrr_all = a->nrr;
	a->buflen = off;
	cb(arg, name, type, a);
	free(a);
}

static struct dmarc_outcome got;
static int ncalls;

static void on_done(void *arg, const struct dmarc_outcome *o)
{
	(void)arg;
	got = *o;
	ncalls++;
}

struct ids {
	const char *spf, *spf_domain; /* "pass", "fail", "temperror", or NULL: none */
	const char *dkim[3];          /* "pass:d.example", "fail:...", "temperror:..." */
};

static void run(const char *from, int treewalk, const struct ids *ids, int coin)
{
	struct dmarc_resolver r = {fake_query, NULL};
	struct dmarc_request rq = {.from_domain = from, .treewalk = treewalk, .coin = coin};
	static char doms[3][100];
	struct dmarc_check *c;

	rq.spf_checked = 1;
	rq.spf = SPF_NONE;
	if (ids && ids->spf) {
		rq.spf = strcmp(ids->spf, "pass") == 0        ? SPF_PASS
		         : strcmp(ids->spf, "temperror") == 0 ? SPF_TEMPERROR
		                                              : SPF_FAIL;
		rq.spf_domain = ids->spf_domain;
	}
	for (int i = 0; ids && i < 3 && ids->dkim[i]; i++) {
		const char *colon = strchr(ids->dkim[i], ':');

		snprintf(doms[i], sizeof(doms[i]), "%s", colon + 1);
		rq.dkim[i] = strncmp(ids->dkim[i], "pass", 4) == 0   ? DKIM_PASS
		             : strncmp(ids->dkim[i], "temp", 4) == 0 ? DKIM_TEMPERROR
		                                                     : DKIM_FAIL;
		rq.dkim_domain[i] = doms[i];
		rq.ndkim = i + 1;
	}
	memset(&got, 0, sizeof(got));
	ncalls = 0;
	nqueries = 0;
	c = dmarc_check(&r, &rq, on_done, NULL);
	if (c != NULL || ncalls != 1)
		printf("# check did not finish synchronously (%d calls)\n", ncalls);
}

/* "SYMBOL[opt|opt]" of the last outcome. */
static const char *sym(void)
{
	static char out[2000];
	char opts[DMARC_OPT_MAX][DMARC_OPT_LEN];
	const char *s;
	int n = dmarc_symbol(&got, &s, opts);

	snprintf(out, sizeof(out), "%s[", s);
	for (int i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? "|" : "",
		         opts[i]);
	snprintf(out + strlen(out), sizeof(out) - strlen(out), "]");
	return out;
}

static const char *org_of(const char *from)
{
	run(from, 1, NULL, 1);
	return got.org_domain;
}

/* ---- the tests ------------------------------------------------------------ */

static void test_parser(void)
{
	struct dmarc_record r;
	char err[200], big[5000];
	int n;

	is_int(dmarc_record_parse("v=DMARC1; p=reject", 18, &r, err, sizeof(err)), 1, "minimal");
	is_int(r.p, DMARC_P_REJECT, "...p=reject");
	is_int(r.sp, DMARC_P_UNSET, "...no sp");
	is_int(r.pct, 100, "...pct 100 by default");
	ok(r.psd == 'u' && !r.adkim_strict && !r.aspf_strict && !r.testing, "...defaults");
	snprintf(big, sizeof(big), "%s",
	         "v = DMARC1 ;P=Quarantine;sp=none; np=reject ;adkim=s;aspf=S;"
	         " pct=25; t=y; psd=n; rua=mailto:a@example.com,mailto:b@x; "
	         "ruf=mailto:f@example.com; fo=1:d; rf=afrf; ri=3600; zz=unknown");
	n = dmarc_record_parse(big, strlen(big), &r, err, sizeof(err));
	is_int(n, 1, "every tag, spaces and case");
	ok(r.p == DMARC_P_QUARANTINE && r.sp == DMARC_P_NONE && r.np == DMARC_P_REJECT,
	   "...p, sp, np");
	ok(r.adkim_strict && r.aspf_strict && r.pct == 25 && r.testing && r.psd == 'n',
	   "...adkim, aspf, pct, t, psd");
	is_str(r.rua, "mailto:a@example.com,mailto:b@x", "...rua kept");
	is_str(r.ruf, "mailto:f@example.com", "...ruf kept");
	ok(strcmp(r.fo, "1:d") == 0 && r.ri == 3600, "...fo, ri");
	is_int(dmarc_record_parse("v=spf1 -all", 11, &r, err, sizeof(err)), 0, "SPF: not DMARC");
	is_int(dmarc_record_parse("p=reject; v=DMARC1", 18, &r, err, sizeof(err)), 0,
	       "v= not first: ignored");
	is_int(dmarc_record_parse("v=dmarc1; p=reject", 18, &r, err, sizeof(err)), 0,
	       "DMARC1 is case-sensitive");
	is_int(dmarc_record_parse("v=DMARC1p=reject", 16, &r, err, sizeof(err)), 0,
	       "no separator after the version");
	is_int(dmarc_record_parse("v=DMARC1", 8, &r, err, sizeof(err)), 1, "version alone");
	is_int(r.p, DMARC_P_NONE, "...is p=none (RFC 9989 4.7)");
	is_int(dmarc_record_parse("v=DMARC1; p=bogus", 17, &r, err, sizeof(err)), -1,
	       "bad p: DMARC_BAD_POLICY");
	is_str(err, "p tag has invalid value: bogus", "...with Rspamd's text");
	is_int(dmarc_record_parse("v=DMARC1; p=bogus; rua=mailto:r@example.com", 43, &r, err,
	                          sizeof(err)),
	       1, "bad p with a valid rua");
	ok(r.p == DMARC_P_NONE && r.rua_as_none, "...reads as p=none (RFC 9989 4.10.1)");
	is_int(dmarc_record_parse("v=DMARC1; p=reject; sp=maybe", 28, &r, err, sizeof(err)), -1,
	       "bad sp");
	is_int(dmarc_record_parse("v=DMARC1; p=reject; adkim=x", 28, &r, err, sizeof(err)), -1,
	       "bad adkim (Rspamd: bad policy)");
	is_str(err, "adkim tag has invalid value: x", "...its text");
	is_int(dmarc_record_parse("v=DMARC1; p=reject; pct=150; t=maybe; psd=q", 43, &r, err,
	                          sizeof(err)),
	       1, "bad pct, t, psd: defaults");
	ok(r.pct == 100 && !r.testing && r.psd == 'u', "...100, n, u");
	is_int(dmarc_record_parse("v=DMARC1; p=reject; p=none", 26, &r, err, sizeof(err)), 1,
	       "a repeated tag");
	is_int(r.p, DMARC_P_REJECT, "...the first counts");
	is_int(dmarc_record_parse("v=DMARC1; p=reject\0; sp=none", 28, &r, err, sizeof(err)), -1,
	       "a NUL in a value is no policy");
	/* Limits: past DMARC_TAGS_MAX tags the rest is ignored; the record is cut at 4096. */
	snprintf(big, sizeof(big), "v=DMARC1");
	for (int i = 0; i < 70; i++)
		strcat(big, "; x=1");
	strcat(big, "; p=reject");
	is_int(dmarc_record_parse(big, strlen(big), &r, err, sizeof(err)), 1, "70 tags");
	is_int(r.p, DMARC_P_NONE, "...p= past the 64th tag is not read");
	memset(big, 'a', sizeof(big));
	memcpy(big, "v=DMARC1; p=reject; rua=mailto:", 31);
	is_int(dmarc_record_parse(big, sizeof(big), &r, err, sizeof(err)), 1, "a 5000-byte record");
	is_int((int)strlen(r.rua), DMARC_URIS_MAX - 1, "...rua cut to its buffer");
}

static void test_walk_names(void)
{
	char n[DMARC_WALK_MAX][DMARC_NAME_MAX];
	int k;

	k = dmarc_walk_names("a.mail.example.com", n);
	is_int(k, 4, "4 labels: 4 names");
	ok(strcmp(n[0], "a.mail.example.com") == 0 && strcmp(n[3], "com") == 0, "...to the TLD");
	k = dmarc_walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com", n);
	is_int(k, 8, "13 labels: 8 queries (RFC 9989 4.10's example)");
	is_str(n[1], "g.h.i.j.mail.example.com", "...the second has 7 labels");
	is_str(n[7], "com", "...the last is the TLD");
	is_int(dmarc_walk_names("a.b.c.d.e.f.g.com", n), 8, "8 labels: 8 names");
	is_str(n[1], "b.c.d.e.f.g.com", "...the second has 7");
	is_int(dmarc_walk_names("com", n), 1, "a TLD: one");
}

static void test_org(void)
{
	char o[DMARC_NAME_MAX];

	dmarc_org_psl("mail.example.co.uk", o, sizeof(o));
	is_str(o, "example.co.uk", "PSL: example.co.uk");
	dmarc_org_psl("co.uk", o, sizeof(o));
	is_str(o, "co.uk", "PSL: a suffix is its own");

	/* Tree walk: the shortest name with a record... */
	zclear();
	ztxt("_dmarc.example.com", "v=DMARC1; p=reject", NULL);
	ztxt("_dmarc.mail.example.com", "v=DMARC1; p=none", NULL);
	is_str(org_of("a.mail.example.com"), "example.com", "walk: the fewest labels");
	is_int(nqueries, 4, "...4 queries");
	/* ...psd=n stops there... */
	zclear();
	ztxt("_dmarc.example.com", "v=DMARC1; p=reject", NULL);
	ztxt("_dmarc.mail.example.com", "v=DMARC1; p=none; psd=n", NULL);
	is_str(org_of("a.mail.example.com"), "mail.example.com", "walk: psd=n is the org");
	/* ...psd=y: one label below. */
	zclear();
	ztxt("_dmarc.com", "v=DMARC1; p=reject; psd=y", NULL);
	is_str(org_of("a.mail.example.com"), "example.com", "walk: below a psd=y");
	zclear();
	ztxt("_dmarc.example.com", "v=DMARC1; p=reject; psd=y", NULL);
	is_str(org_of("example.com"), "example.com", "walk: psd=y at the start is its own");
	zclear();
	is_str(org_of("a.mail.example.com"), "a.mail.example.com", "walk: no record, itself");
	/* The 8-query shortcut: a psd=y at 7 labels makes the 8-label suffix the org. */
	zclear();
	ztxt("_dmarc.c.d.e.f.g.example.com", "v=DMARC1; p=reject; psd=y", NULL);
	is_str(org_of("x.y.a.b.c.d.e.f.g.example.com"), "b.c.d.e.f.g.example.com",
	       "walk: past 8 labels, below a psd=y at 7");
	is_int(nqueries, 8, "...at most 8 queries");
	/* Two records at one name: discarded, the walk goes on (RFC 9989 4.10 step 6). */
	zclear();
	ztxt("_dmarc.mail.example.com", "v=DMARC1; p=none", "v=DMARC1; p=reject");
	ztxt("_dmarc.example.com", "v=DMARC1; p=reject", NULL);
	is_str(org_of("a.mail.example.com"), "example.com", "walk: two records are none");
}

static void test_policy(void)
{
	struct ids spf_ok = {"pass", "example.com", {NULL}};
	struct ids none = {NULL, NULL, {NULL}};
	struct ids dkim_sub = {NULL, NULL, {"pass:mail.example.com"}};
	struct ids dkim_other = {
	    "pass", "other.example", {"pass:evil.example", "fail:example.com"}};

	for (int tw = 0; tw < 2; tw++) {
		const char *m = tw ? "walk" : "psl";

		zclear();
		ztxt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=none", NULL);
		zst("example.com", DNS_T_A, DNS_Q_OK);
		zst("sub.example.com", DNS_T_A, DNS_Q_OK);
		run("example.com", tw, &spf_ok, 1);
		is_str(sym(), "DMARC_POLICY_ALLOW[example.com|reject]", "%s: aligned SPF", m);
		run("sub.example.com", tw, &spf_ok, 1);
		is_str(sym(), "DMARC_POLICY_ALLOW[example.com|quarantine]",
		       "%s: relaxed SPF from the parent, sp= applies", m);
		run("sub.example.com", tw, &none, 1);
		is_str(
		    sym(),
		    "DMARC_POLICY_QUARANTINE[example.com : No valid SPF, No valid DKIM|quarantine]",
		    "%s: an existing subdomain fails with sp=", m);
		run("nx.example.com", tw, &none, 1);
		is_str(sym(),
		       "DMARC_POLICY_SOFTFAIL[example.com : No valid SPF, No valid DKIM|none]",
		       "%s: a non-existent one with np=", m);
		run("example.com", tw, &dkim_sub, 1);
		is_str(sym(), "DMARC_POLICY_ALLOW[example.com|reject]", "%s: relaxed DKIM", m);
		run("example.com", tw, &dkim_other, 1);
		is_str(
		    sym(),
		    "DMARC_POLICY_REJECT[example.com : SPF not aligned (relaxed), DKIM not aligned "
		    "(relaxed)|reject]",
		    "%s: nothing aligned, Rspamd's reasons", m);
		is_str(dmarc_result_str(got.result), "fail", "...fail");

		/* Strict alignment. */
		zclear();
		ztxt("_dmarc.example.com", "v=DMARC1; p=reject; aspf=s; adkim=s", NULL);
		run("example.com", tw, &dkim_sub, 1);
		is_str(sym(),
		       "DMARC_POLICY_REJECT[example.com : No valid SPF, DKIM not aligned "
		       "(strict)|reject]",
		       "%s: strict DKIM, a subdomain's signature", m);
		run("example.com", tw, &(struct ids){"pass", "mail.example.com", {NULL}}, 1);
		like_str(sym(), "SPF not aligned (strict)", "%s: strict SPF", m);
		run("example.com", tw, &(struct ids){"pass", "EXAMPLE.COM.", {NULL}}, 1);
		like_str(sym(), "DMARC_POLICY_ALLOW", "%s: strict is case-blind, a root dot aside",
		         m);

		/* Temperrors. */
		zclear();
		ztxt("_dmarc.example.com", "v=DMARC1; p=reject", NULL);
		run("example.com", tw, &(struct ids){"temperror", "example.com", {NULL}}, 1);
		is_str(sym(), "DMARC_DNSFAIL[example.com : SPF/DKIM temp error|reject]",
		       "%s: aligned SPF temperror", m);
		run("example.com", tw, &(struct ids){NULL, NULL, {"temperror:example.com"}}, 1);
		like_str(sym(), "DMARC_DNSFAIL", "%s: aligned DKIM temperror", m);
		run("example.com", tw, &(struct ids){NULL, NULL, {"temperror:other.example"}}, 1);
		like_str(sym(), "DMARC_POLICY_REJECT", "%s: an unaligned one is no excuse", m);
		zclear();
		zst("_dmarc.example.com", DNS_T_TXT, DNS_Q_TIMEOUT);
		run("example.com", tw, &spf_ok, 1);
		is_str(sym(), "DMARC_DNSFAIL[example.com : DNS query timed out]",
		       "%s: the record's lookup timed out", m);
		ok(got.timed_out, "...marked as a timeout");
		zclear();
		zst("_dmarc.example.com", DNS_T_TXT, DNS_Q_FAIL);
		run("example.com", tw, &spf_ok, 1);
		ok(got.result == DMARC_TEMPERROR && !got.timed_out, "%s: SERVFAIL", m);

		/* No record, a bad one, two. */
		zclear();
		ztxt("example.com", "v=spf1 -all", NULL);
		run("example.com", tw, &spf_ok, 1);
		is_str(sym(), "DMARC_NA[example.com]", "%s: no record", m);
		zclear();
		ztxt("_dmarc.example.com", "v=spf1 -all", NULL);
		run("example.com", tw, &spf_ok, 1);
		is_str(sym(), "DMARC_NA[example.com: no valid DMARC record]", "%s: not DMARC", m);
		zclear();
		ztxt("_dmarc.example.com", "v=DMARC1; p=deny", NULL);
		run("example.com", tw, &spf_ok, 1);
		is_str(sym(), "DMARC_BAD_POLICY[example.com : p tag has invalid value: deny]",
		       "%s: a bad p", m);
		zclear();
		ztxt("_dmarc.example.com", "v=DMARC1; p=none", "v=DMARC1; p=reject");
		run("example.com", tw, &spf_ok, 1);
		if (tw)
			is_str(sym(), "DMARC_NA[example.com: no valid DMARC record]",
			       "walk: two records are discarded");
		else
			is_str(sym(),
			       "DMARC_BAD_POLICY[example.com : Multiple policies defined in DNS]",
			       "psl: two records, as Rspamd");

		/* sp= and np= are for subdomains: the From domain's own record gives p=. */
		zclear();
		ztxt("_dmarc.example.com", "v=DMARC1; p=reject; sp=none; np=none", NULL);
		run("example.com", tw, &none, 1);
		like_str(sym(), "DMARC_POLICY_REJECT",
		         "%s: p= for the domain itself, not sp= or np=", m);

		/* The From domain's own record beats its parent's. */
		zclear();
		ztxt("_dmarc.example.com", "v=DMARC1; p=reject", NULL);
		ztxt("_dmarc.sub.example.com", "v=DMARC1; p=none", NULL);
		run("sub.example.com", tw, &none, 1);
		is_str(sym(),
		       "DMARC_POLICY_SOFTFAIL[sub.example.com : No valid SPF, No valid "
		       "DKIM|none]",
		       "%s: the From domain's own record", m);
	}

	/* pct= (RFC 7489) against t= (RFC 9989). */
	zclear();
	ztxt("_dmarc.example.com", "v=DMARC1; p=reject; pct=50; t=y", NULL);
	run("example.com", 0, &(struct ids){NULL, NULL, {NULL}}, 50);
	like_str(sym(), "DMARC_POLICY_REJECT", "psl: pct=50, coin 50: applied");
	run("example.com", 0, &(struct ids){NULL, NULL, {NULL}}, 51);
	is_str(sym(),
	       "DMARC_POLICY_QUARANTINE[example.com : No valid SPF, No valid "
	       "DKIM|reject|sampled_out]",
	       "psl: coin 51: sampled out to quarantine, as Rspamd");
	run("example.com", 1, &(struct ids){NULL, NULL, {NULL}}, 100);
	is_str(sym(),
	       "DMARC_POLICY_QUARANTINE[example.com : No valid SPF, No valid DKIM|reject|t=y]",
	       "walk: t=y, one step down; pct= ignored");
	zclear();
	ztxt("_dmarc.example.com", "v=DMARC1; p=quarantine; t=y", NULL);
	run("example.com", 1, &(struct ids){NULL, NULL, {NULL}}, 1);
	like_str(sym(), "DMARC_POLICY_SOFTFAIL", "walk: t=y quarantine is none");
	run("example.com", 0, &(struct ids){NULL, NULL, {NULL}}, 1);
	like_str(sym(), "DMARC_POLICY_QUARANTINE", "psl: t= ignored");

	/* Where the two ways differ: an intermediate record, a psd=y. */
	zclear();
	ztxt("_dmarc.com", "v=DMARC1; p=reject; psd=y", NULL);
	zst("a.example.com", DNS_T_A, DNS_Q_OK);
	run("a.example.com", 1, &none, 1);
	is_str(sym(), "DMARC_POLICY_REJECT[com : No valid SPF, No valid DKIM|reject]",
	       "walk: the PSD's policy when the org domain has none");
	run("a.example.com", 0, &none, 1);
	is_str(sym(), "DMARC_NA[example.com]", "psl: no PSD policy (RFC 7489)");
	zclear();
	ztxt("_dmarc.bu.example.com", "v=DMARC1; p=reject; psd=n", NULL);
	ztxt("_dmarc.example.com", "v=DMARC1; p=none", NULL);
	run("x.bu.example.com", 1, &(struct ids){"pass", "bu.example.com", {NULL}}, 1);
	is_str(sym(), "DMARC_POLICY_ALLOW[bu.example.com|reject]",
	       "walk: a psd=n record below the registrable domain is the org");
	run("bu.example.com", 1, &(struct ids){"pass", "other.bu.example.com", {NULL}}, 1);
	like_str(sym(), "DMARC_POLICY_ALLOW", "walk: relaxed within it");
	run("bu.example.com", 1, &(struct ids){"pass", "example.com", {NULL}}, 1);
	like_str(sym(), "SPF not aligned (relaxed)", "walk: the registrable domain is outside it");
	run("bu.example.com", 0, &(struct ids){"pass", "example.com", {NULL}}, 1);
	like_str(sym(), "DMARC_POLICY_ALLOW", "psl: the same aligns by the PSL");

	/* An internationalized From domain is looked up by its A-labels. */
	zclear();
	ztxt("_dmarc.xn--bcher-kva.example", "v=DMARC1; p=reject", NULL);
	run("b\xc3\xbc"
	    "cher.example",
	    1, &(struct ids){"pass", "xn--bcher-kva.example", {NULL}}, 1);
	is_str(sym(), "DMARC_POLICY_ALLOW[xn--bcher-kva.example|reject]", "a UTF-8 From domain");
	run("b\xc3\xbc\xff"
	    "cher.example",
	    1, &none, 1);
	is_str(sym(), "DMARC_NA[No domain in From header]", "...invalid UTF-8 is none");

	/* Bad input. */
	run("", 1, &none, 1);
	is_str(sym(), "DMARC_NA[No domain in From header]", "an empty From domain");
	run("exa mple.com", 1, &none, 1);
	is_str(sym(), "DMARC_NA[No domain in From header]", "a From domain that is no name");
	run("a..b", 0, &none, 1);
	is_str(sym(), "DMARC_NA[No domain in From header]", "empty labels");
}

int main(void)
{
	test_parser();
	test_walk_names();
	test_org();
	test_policy();
	return done_testing();
}
