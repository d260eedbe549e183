/*
 * arc_test - ARC chain verification (shared/auth/arc.c) and its check
 * (shared/scan/check_arc.c).
 *
 * t/data/arc/chain2.eml is a hand-written message sealed by two dkimpy
 * forwarders (RSA-2048, then Ed25519; t/lib/arc-gen.py fixture), its keys
 * in keys.txt, served here by an in-memory resolver. The chain passes; the
 * same chain broken in each way RFC 8617 section 5.2 names fails with
 * Rspamd's symbol; hand-made sets check the structure rules and limits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/arc.h"
#include "core/conf.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "mail/mime.h"
#include "scan/auth.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/content.h"
#include "scan/result.h"
#include "scan/rules.h"
#include "store/db.h"
#include "tap.h"

/* A file of t/data/arc (MOAT_SRCDIR, set by make check, or "."). */
static const char *data(const char *name)
{
	static char path[1024];
	const char *src = getenv("MOAT_SRCDIR");

	snprintf(path, sizeof(path), "%s/t/data/arc/%s", src ? src : ".", name);
	return path;
}

/* ---- an in-memory resolver ------------------------------------------ */

enum mode { SERVE, TEMPFAIL, DEFER };

struct deferred {
	dkim_txt_cb *cb;
	void *arg;
};

struct zone {
	enum mode mode;
	char names[4][1200];
	char recs[4][1200];
	int n, lookups;
	struct deferred later[64];
	int nlater;
};

static void zone_lookup(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	struct zone *z = ctx;

	z->lookups++;
	if (z->mode == TEMPFAIL)
		return cb(arg, DKIM_DNS_TEMPFAIL, NULL, 0);
	if (z->mode == DEFER && z->nlater < 64) {
		z->later[z->nlater++] = (struct deferred){cb, arg};
		return;
	}
	for (int k = 0; k < z->n; k++)
		if (strcmp(z->names[k], name) == 0)
			return cb(arg, DKIM_DNS_OK, z->recs[k], strlen(z->recs[k]));
	cb(arg, DKIM_DNS_NOTFOUND, NULL, 0);
}

static void zone_load(struct zone *z)
{
	FILE *f = fopen(data("keys.txt"), "r");
	char line[1200];

	while (f && z->n < 4 && fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');

		if (sp == NULL)
			continue;
		*sp = '\0';
		line[strcspn(sp + 1, "\n") + (size_t)(sp + 1 - line)] = '\0';
		snprintf(z->names[z->n], sizeof(z->names[0]), "%s", line);
		snprintf(z->recs[z->n], sizeof(z->recs[0]), "%s", sp + 1);
		z->n++;
	}
	if (f)
		fclose(f);
}

/* ---- one verification ------------------------------------------------ */

static void on_done(void *arg, struct arc *a)
{
	(*(int *)arg)++;
}

static void sym(void *arg, const char *s, const char *opt)
{
	struct sbuf *sb = arg;

	if (sb->len)
		sbuf_putc(sb, ' ');
	sbuf_puts(sb, s);
	if (opt) {
		sbuf_putc(sb, '(');
		sbuf_puts(sb, opt);
		sbuf_putc(sb, ')');
	}
}

static void field(void *arg, const char *p, size_t len)
{
	arc_header(arg, p, len);
}

/* Header fields of msg (CRLF or LF) to a; where the body starts. */
static size_t feed(struct arc *a, const char *m, size_t len)
{
	return dkim_split(m, len, field, a);
}

static struct arc_result last;
static int last_ndone;

/* Verify m (body in chunk-byte pieces): the symbols, e.g. "ARC_ALLOW(d:s=s:i=2)". */
static const char *verify(const char *m, struct zone *z, size_t chunk)
{
	static struct sbuf out;
	struct dkim_params p = {.now = time(NULL), .jitter = 300};
	struct dkim_resolver r = {.lookup = zone_lookup, .ctx = z};
	struct arc *a = arc_new(&p);
	size_t len = strlen(m), body = feed(a, m, len);

	last_ndone = 0;
	arc_eoh(a, &r, on_done, &last_ndone);
	for (size_t i = body; i < len; i += chunk)
		arc_body(a, m + i, len - i < chunk ? len - i : chunk);
	arc_eom(a);
	last = *arc_result(a);
	sbuf_reset(&out);
	if (arc_done(a))
		arc_symbols(a, sym, &out);
	arc_free(a);
	return sbuf_cstr(&out);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct sbuf sb;
	char buf[4096];
	size_t n;

	sbuf_init(&sb);
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_append(&sb, buf, n);
	if (f)
		fclose(f);
	sbuf_cstr(&sb);
	return sb.data; /* the caller frees it */
}

/* s with the first from replaced by to (a new string). */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	struct sbuf sb;

	sbuf_init(&sb);
	if (p == NULL) {
		sbuf_puts(&sb, s);
	} else {
		sbuf_append(&sb, s, (size_t)(p - s));
		sbuf_puts(&sb, to);
		sbuf_puts(&sb, p + strlen(from));
	}
	return (char *)sbuf_cstr(&sb);
}

/* ---- hand-made sets for the structure rules ---------------------------- */

/* A set of instance i with cv (bogus signatures: only the structure is judged first). */
static void set(struct sbuf *sb, int i, const char *cv)
{
	char b[600];

	snprintf(b, sizeof(b),
	         "ARC-Seal: i=%d; cv=%s; a=rsa-sha256; d=x.test; s=s; b=AAAA\r\n"
	         "ARC-Message-Signature: i=%d; a=rsa-sha256; c=relaxed/relaxed; d=x.test; s=s;"
	         " h=from; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n"
	         "ARC-Authentication-Results: i=%d; x.test; spf=pass\r\n",
	         i, cv, i, i);
	sbuf_puts(sb, b);
}

/* A resolver that knows no key. */
static struct zone nokeys;

static const char *chain(const char *spec)
{
	static struct sbuf sb;

	/* spec: a cv letter per instance from the newest down, e.g. "ppn". */
	sbuf_reset(&sb);
	for (int i = (int)strlen(spec); i >= 1; i--)
		set(&sb, i,
		    spec[strlen(spec) - (size_t)i] == 'p'   ? "pass"
		    : spec[strlen(spec) - (size_t)i] == 'f' ? "fail"
		                                            : "none");
	sbuf_puts(&sb, "From: a@example.org\r\n\r\nbody\r\n");
	return verify(sbuf_cstr(&sb), &nokeys, 4096);
}

static void structure(void)
{
	struct sbuf sb;

	is_str(verify("From: a@example.org\r\n\r\nhi\r\n", &nokeys, 10), "ARC_NA",
	       "no ARC: ARC_NA");
	is_int(last.status, ARC_NONE, "... status none");
	is_int(last.instances, 0, "... no instances");
	is_str(chain("n"), "ARC_REJECT(signature check failed: fail, {[1] = sig:x.test:no key})",
	       "a well-formed set goes on to the signatures (no key here)");
	is_int(nokeys.lookups, 2, "... one lookup for the AMS, one for the seal");
	is_str(chain("p"), "ARC_INVALID(cv is not \"none\" for i=1)",
	       "i=1 with cv=pass: ARC_INVALID, in Rspamd's words");
	is_str(chain("nn"), "ARC_REJECT(cv is none on i=2)", "i=2 with cv=none: ARC_REJECT");
	is_str(chain("fn"), "ARC_REJECT(cv is fail on i=2)", "the newest says cv=fail: ARC_REJECT");
	is_str(chain("fpn"), "ARC_REJECT(cv is fail on i=3)", "... with three sets");
	is_int(last.instances, 3, "... the chain length is 3");

	sbuf_init(&sb);
	set(&sb, 3, "pass");
	set(&sb, 1, "none");
	sbuf_puts(&sb, "From: a@example.org\r\n\r\nbody\r\n");
	is_str(verify(sbuf_cstr(&sb), &nokeys, 4096),
	       "ARC_INVALID(bad i for signature: 3, expected 2; d=x.test)",
	       "an i= gap (1, 3): ARC_INVALID, in Rspamd's words");
	{
		char *t;

		sbuf_reset(&sb);
		set(&sb, 2, "pass");
		set(&sb, 1, "none");
		sbuf_puts(&sb, "\r\nbody\r\n");
		t = subst(sbuf_cstr(&sb), "ARC-Authentication-Results: i=2; x.test; spf=pass\r\n",
		          "");
		is_str(verify(t, &nokeys, 4096),
		       "ARC_INVALID(no ARC-Authentication-Results for i=2)",
		       "a set without its AAR: ARC_INVALID (RFC 8617 5.2 step 3)");
		free(t);
	}
	sbuf_reset(&sb);
	set(&sb, 1, "none");
	set(&sb, 1, "none");
	sbuf_puts(&sb, "\r\nbody\r\n");
	is_str(verify(sbuf_cstr(&sb), &nokeys, 4096), "ARC_INVALID(more than one ARC-Seal for i=1)",
	       "a repeated instance: ARC_INVALID");
	sbuf_reset(&sb);
	set(&sb, 51, "pass");
	sbuf_puts(&sb, "\r\n");
	is_str(verify(sbuf_cstr(&sb), &nokeys, 4096), "ARC_INVALID(bad i= in ARC-Seal)",
	       "i=51, over RFC 8617's 50: ARC_INVALID");
	is_str(verify("ARC-Authentication-Results: i=0; x.test; none\r\n\r\n", &nokeys, 10),
	       "ARC_INVALID(bad i= in ARC-Authentication-Results)", "i=0: ARC_INVALID");
	is_str(verify("ARC-Authentication-Results: x.test; i=1; none\r\n\r\n", &nokeys, 10),
	       "ARC_INVALID(bad i= in ARC-Authentication-Results)", "an AAR must start with i=");
	is_str(verify("ARC-Authentication-Results: i=1; x.test; none\r\n\r\n", &nokeys, 10),
	       "ARC_INVALID(no ARC-Message-Signature for i=1)", "an AAR alone: ARC_INVALID");
	is_str(verify("ARC-Seal: i=1; cv=none; a=rsa-sha256; d=x.test; s=s; b=AAAA\r\n\r\n",
	              &nokeys, 10),
	       "ARC_INVALID(invalid count of seals and signatures)",
	       "a seal without a signature: Rspamd's words");
	is_int(last.instances, 1, "... the chain length still told");
	/* The bound on fields: 50 whole sets are 150 fields; one more is too many. */
	sbuf_reset(&sb);
	for (int i = ARC_MAX_SETS; i >= 1; i--)
		set(&sb, i, i == 1 ? "none" : "pass");
	sbuf_puts(&sb, "ARC-Authentication-Results: i=51; x.test; none\r\n\r\n");
	is_str(verify(sbuf_cstr(&sb), &nokeys, 4096),
	       "ARC_INVALID(more than 150 ARC header fields)", "151 ARC fields: fail, bounded");
	sbuf_reset(&sb);
	for (int i = ARC_MAX_SETS; i >= 1; i--)
		set(&sb, i, i == 1 ? "none" : "pass");
	sbuf_puts(&sb, "\r\n");
	is_str(verify(sbuf_cstr(&sb), &nokeys, 4096),
	       "ARC_REJECT(signature check failed: fail, {[1] = sig:x.test:no key})",
	       "50 sets, RFC 8617's most: a chain, judged on its signatures");
	/* An AMS may not sign ARC-Seal (RFC 8617 4.1.2). */
	sbuf_reset(&sb);
	set(&sb, 1, "none");
	sbuf_puts(&sb, "\r\nbody\r\n");
	{
		char *t = subst(sbuf_cstr(&sb), "h=from", "h=from:arc-seal");

		is_str(
		    verify(t, &nokeys, 4096),
		    "ARC_REJECT(signature check failed: fail, {[1] = sig:x.test:ARC-Seal signed})",
		    "an AMS that signs ARC-Seal: fails");
		free(t);
	}
	sbuf_free(&sb);
}

/* ---- the sealed fixture --------------------------------------------- */

static void fixture(void)
{
	char *m = slurp(data("chain2.eml")), *t;
	struct zone z = {.mode = SERVE};
	struct dkim_params p = {.now = time(NULL), .jitter = 300};
	struct dkim_resolver r = {.lookup = zone_lookup, .ctx = &z};
	struct arc *a;
	int ndone = 0;

	zone_load(&z);
	ok(z.n == 2, "two keys in keys.txt");
	is_str(verify(m, &z, 4096), "ARC_ALLOW(hop2.arc.test:s=ed:i=2)",
	       "2 hops, RSA then Ed25519: ARC_ALLOW with Rspamd's option");
	is_int(last.status, ARC_PASS, "... status pass");
	is_int(last.instances, 2, "... 2 instances");
	is_int(last_ndone, 1, "... done called once");
	is_int(z.lookups, 3, "... 3 key lookups: the newest AMS and both seals");
	is_str(verify(m, &z, 1), "ARC_ALLOW(hop2.arc.test:s=ed:i=2)", "the body a byte at a time");

	t = subst(m, "two forwarders", "three forwarders");
	is_str(verify(t, &z, 4096),
	       "ARC_REJECT(signature check failed: fail, {[1] = sig:hop2.arc.test:body hash "
	       "mismatch})",
	       "the body changed after sealing: ARC_REJECT");
	free(t);
	t = subst(m, "Subject: the ARC fixture", "Subject: the ARC fixture [changed]");
	is_str(verify(t, &z, 4096),
	       "ARC_REJECT(signature check failed: fail, {[1] = sig:hop2.arc.test:signature "
	       "mismatch})",
	       "a signed header changed: ARC_REJECT");
	free(t);
	t = subst(m, "spf=pass smtp.mailfrom=sender@example.org\r\nReceived: from hop1",
	          "spf=fail smtp.mailfrom=sender@example.org\r\nReceived: from hop1");
	is_str(verify(t, &z, 4096),
	       "ARC_REJECT(seal check failed: fail, {[1] = sig:hop1.arc.test:signature mismatch, "
	       "[2] = "
	       "sig:hop2.arc.test:signature mismatch})",
	       "the first AAR rewritten: both seals, which cover it, fail; listed as Rspamd lists "
	       "them");
	free(t);
	t = subst(m, "Received: from hop2 by hop3.arc.test\r\n",
	          "Received: from hop2 by hop3.arc.test\r\nX-Added: after sealing\r\n");
	is_str(verify(t, &z, 4096), "ARC_ALLOW(hop2.arc.test:s=ed:i=2)",
	       "a header no one signed added: still ARC_ALLOW");
	free(t);

	/* The newest set moved below the older one: seals go by instance (RFC 8617 5.1.1). */
	{
		char *newest = xstrndup(m, (size_t)(strstr(m, "Received: from hop2") - m));
		const char *rest = m + strlen(newest), *to = strstr(rest, "To: list");
		struct sbuf sb;

		sbuf_init(&sb);
		sbuf_append(&sb, rest, (size_t)(to - rest));
		sbuf_puts(&sb, newest);
		sbuf_puts(&sb, to);
		is_str(verify(sbuf_cstr(&sb), &z, 4096), "ARC_ALLOW(hop2.arc.test:s=ed:i=2)",
		       "the newest set moved below the From field: still ARC_ALLOW");
		sbuf_free(&sb);
		free(newest);
	}

	t = subst(m, "ARC-Seal: i=1; cv=none;", "ARC-Seal: i=1; cv=pass;");
	is_str(verify(t, &z, 4096), "ARC_INVALID(cv is not \"none\" for i=1)",
	       "the first seal's cv= rewritten: ARC_INVALID before any signature");
	free(t);

	z.mode = TEMPFAIL;
	is_str(verify(m, &z, 4096), "ARC_DNSFAIL(hop2.arc.test:s=ed:i=2:key lookup failed)",
	       "no DNS answer: ARC_DNSFAIL");
	is_int(last.status, ARC_FAIL, "... status fail");
	z.mode = SERVE;
	snprintf(z.recs[0], sizeof(z.recs[0]), "v=DKIM1; k=rsa; p=");
	is_str(verify(m, &z, 4096),
	       "ARC_REJECT(seal check failed: fail, {[1] = sig:hop1.arc.test:key revoked})",
	       "the first forwarder's key revoked: ARC_REJECT");

	/* Freed with the lookups in flight: the answers that come later touch nothing freed. */
	z.mode = DEFER;
	z.nlater = 0;
	a = arc_new(&p);
	arc_body(a, "", 0);
	{
		size_t len = strlen(m), body = feed(a, m, len);

		arc_eoh(a, &r, on_done, &ndone);
		arc_body(a, m + body, len - body);
	}
	arc_eom(a);
	ok(!arc_done(a) && z.nlater == 3, "three lookups wait");
	arc_free(a);
	for (int k = 0; k < z.nlater; k++)
		z.later[k].cb(z.later[k].arg, DKIM_DNS_TEMPFAIL, NULL, 0);
	is_int(ndone, 0, "freed first: done never called (ASan/valgrind see the rest)");
	free(m);
}

/* ---- check_arc in the scanner --------------------------------------- */

static const struct check *check_named(const char *name)
{
	for (const struct check *const *c = scan_checks; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

static const char *run_check(const struct scan_rules *r, const struct scan_env *env,
                             const char *raw, int local, struct scan_auth *auth)
{
	static struct sbuf out;
	struct scan_input in = {.raw = raw, .len = strlen(raw), .local = local};
	struct mime_limits lim;
	struct scan_result res;
	struct content c;
	struct scan_ctx ctx;
	struct msg *m;

	mime_limits_default(&lim);
	m = msg_parse(raw, strlen(raw), &lim);
	content_init(&c);
	content_extract(m, &c);
	scan_result_init(&res);
	memset(auth, 0, sizeof(*auth));
	ctx = (struct scan_ctx){
	    .rules = r, .in = &in, .msg = m, .content = &c, .env = env, .res = &res, .auth = auth};
	check_named("arc")->run(&ctx);
	sbuf_reset(&out);
	for (size_t i = 0; i < res.n; i++) {
		if (i)
			sbuf_putc(&out, ' ');
		sbuf_puts(&out, res.v[i].name);
	}
	scan_result_free(&res);
	content_free(&c);
	msg_free(m);
	return sbuf_cstr(&out);
}

static void check(void)
{
	char dir[] = "/tmp/moat-arc-test.XXXXXX", path[300], err[512], cmd[340];
	char *m = slurp(data("chain2.eml"));
	const struct scan_env none = {0};
	struct scan_env env = {0};
	struct scan_auth auth;
	struct scan_rules *r;
	struct conf *cf = conf_new();
	sqlite3 *db;

	ok(check_named("arc") != NULL, "check_arc is registered");
	is_str(check_named("arc")->module, "arc", "... gated by the arc module");
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	r = db ? scan_rules_load(db, err, sizeof(err)) : NULL;
	/* A resolver with nobody behind it: every lookup fails at once. */
	if (r && conf_override(cf, "dns_servers=127.0.0.1:1", err, sizeof(err)) == 0 &&
	    conf_override(cf, "dns_retries=0", err, sizeof(err)) == 0 &&
	    conf_finish(cf, err, sizeof(err)) == 0)
		env.dns = scan_dns_new(cf, db, err, sizeof(err));
	ok(env.dns != NULL, "a scanning thread's resolver (%s)", env.dns ? "ok" : err);
	if (env.dns == NULL)
		goto out;
	is_str(run_check(r, &none, m, 0, &auth), "", "no resolver: nothing");
	is_int(auth.arc_checked, 0, "... and not checked");
	is_str(run_check(r, &env, m, 1, &auth), "", "the site's own mail: skipped");
	is_int(auth.arc_checked, 0, "... and not checked");
	is_str(run_check(r, &env, "From: a@example.org\r\n\r\nhi\r\n", 0, &auth), "ARC_NA",
	       "a message without ARC: ARC_NA");
	ok(auth.arc_checked && strcmp(auth.arc_result, "none") == 0 && auth.arc_instances == 0,
	   "... auth: checked, none, 0 instances");
	is_str(run_check(r, &env, m, 0, &auth), "ARC_DNSFAIL",
	       "the sealed one, no DNS: ARC_DNSFAIL");
	ok(auth.arc_checked && strcmp(auth.arc_result, "fail") == 0 && auth.arc_instances == 2,
	   "... auth: checked, fail, 2 instances");
out:
	scan_dns_free(env.dns);
	scan_rules_free(r);
	db_close(db);
	conf_free(cf);
	free(m);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "its directory removed");
}

int main(void)
{
	structure();
	fixture();
	check();
	return done_testing();
}
